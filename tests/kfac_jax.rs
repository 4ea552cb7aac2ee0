//! The crate's K-FAC factors against kfac-jax's, on the book's demonstration
//! network (`kfac::demo`: widths 3, 4, 3, tanh, softmax, N = 24), from the
//! committed fixture `tests/fixtures/kfac-jax/demo.json`, written by
//! `scripts/reference/kfac_fixtures.py` with kfac-jax 0.0.8 under JAX 0.6.2 in
//! float64 (`scripts/reference/requirements-kfac.txt`).
//!
//! Rounding model: `u = 2^-53`; every basic operation is exact up to a factor
//! `(1 + d)`, `|d| <= u`; a dot product of `k` terms is within `k u` times the
//! sum of the absolute values of its terms; `exp` is within 1 ulp (`2u`
//! relative) and `tanh` within 4 ulps (`8u`), on both sides (Rust's libm, XLA's
//! CPU kernels).

mod common;

use common::{fixture_dir, numbers, rows};
use descent::second_order::kfac::{demo, kfac_factors};
use nalgebra::{DMatrix, DVector};
use serde_json::Value;

const U: f64 = f64::EPSILON / 2.0;

fn fixture() -> Value {
    let path = fixture_dir("kfac-jax").join("demo.json");
    let text = std::fs::read_to_string(&path).expect("the kfac-jax fixture is committed");
    serde_json::from_str(&text).expect("the fixture is JSON")
}

fn matrix(v: &Value, what: &str) -> DMatrix<f64> {
    let r = rows(v, what);
    DMatrix::from_fn(r.len(), r[0].len(), |i, j| r[i][j])
}

/// The version of `package` pinned in `scripts/reference/requirements-kfac.txt`.
fn pinned_kfac(package: &str) -> String {
    let path = common::root().join("scripts/reference/requirements-kfac.txt");
    let text = std::fs::read_to_string(path).expect("requirements-kfac.txt is readable");
    let prefix = format!("{package}==");
    text.lines()
        .find_map(|l| l.trim().strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("requirements-kfac.txt pins {package}"))
        .trim()
        .to_string()
}

/// First-order bounds on the rounding of one implementation's factors, per
/// entry: `[A_0, A_1]` and `[G_0, G_1]`, for the demonstration network with
/// weights `theta` and features `x` (N x 3). Each quantity `q` of the forward
/// and backward pass carries an absolute error bound `e_q`, propagated as the
/// rounding model above says; the factors' bounds add the rounding of their own
/// products and means. kfac-jax forms the output factor from a square-root
/// factor `S` of the softmax Fisher (`F = S S'`, `S = diag(sqrt p) - p sqrt(p)'`)
/// and the crate from `F` itself, so the magnitude used for `F` is the larger
/// of `diag(p) + p p'` and `|S||S|'`, which bounds the terms of either.
fn rounding_bounds(
    theta: &DVector<f64>,
    x: &DMatrix<f64>,
) -> (Vec<DMatrix<f64>>, Vec<DMatrix<f64>>) {
    let n = x.nrows();
    let w0 = DMatrix::from_column_slice(4, 4, &theta.as_slice()[0..16]);
    let w1 = DMatrix::from_column_slice(3, 5, &theta.as_slice()[16..31]);
    let (w0a, w1a) = (w0.abs(), w1.abs());
    let mut ea = [DMatrix::zeros(4, 4), DMatrix::zeros(5, 5)];
    let mut eg = [DMatrix::zeros(4, 4), DMatrix::zeros(3, 3)];
    for r in 0..n {
        // Layer 0: the features are the same numbers on both sides (checked).
        let a0 = DVector::from_vec(vec![x[(r, 0)], x[(r, 1)], x[(r, 2)], 1.0]);
        let s0 = &w0 * &a0;
        let e_s0 = (&w0a * a0.abs()) * (4.0 * U);
        let h = s0.map(f64::tanh);
        // |tanh'| <= 1 carries e_s0; tanh itself adds 8u |h|.
        let e_h = &e_s0 + h.abs() * (8.0 * U);
        let a1 = DVector::from_vec(vec![h[0], h[1], h[2], h[3], 1.0]);
        let e_a1 = DVector::from_vec(vec![e_h[0], e_h[1], e_h[2], e_h[3], 0.0]);
        let s1 = &w1 * &a1;
        let e_s1 = (&w1a * a1.abs()) * (5.0 * U) + &w1a * &e_a1;
        // Softmax: |d log p_j| <= |df_j| + sum_i p_i |df_i| <= 2 max |df|, plus
        // the shift by the maximum, three exps, the sum and the quotient: 8u.
        let m = s1.max();
        let ex = s1.map(|v| (v - m).exp());
        let p = &ex / ex.sum();
        let eps_p = 2.0 * e_s1.max() + 8.0 * U;
        let sq = p.map(f64::sqrt);
        let s_abs = DMatrix::from_fn(3, 3, |i, j| {
            (if i == j { sq[i] } else { 0.0 }) + p[i] * sq[j]
        });
        let f_mag = DMatrix::from_fn(3, 3, |i, j| {
            let direct = (if i == j { p[i] } else { 0.0 }) + p[i] * p[j];
            direct.max((&s_abs * s_abs.transpose())[(i, j)])
        });
        // F's entries: p_i p_j (2 eps_p + u), the difference (u), or the
        // square-root route: sqrt (u/2 per factor), products (u) and a sum of
        // three (3u): 2 eps_p + 8u relative to f_mag covers both.
        let e_f = &f_mag * (2.0 * eps_p + 8.0 * U);
        // Layer 1 (the output layer): B = I, so G_1 sums F over the examples.
        eg[1] += &e_f;
        // Layer 0: B = W1[:, ..4] diag(1 - h^2).
        let d = h.map(|v| 1.0 - v * v);
        let e_d = h.abs().component_mul(&e_h) * 2.0 + d.abs().map(|v| 3.0 * U * (1.0 + v));
        let w1h = w1a.columns(0, 4).into_owned();
        let b = DMatrix::from_fn(3, 4, |i, j| w1[(i, j)] * d[j]);
        let b_abs = b.abs();
        let e_b = DMatrix::from_fn(3, 4, |i, j| w1h[(i, j)] * (e_d[j] + U * d[j].abs()));
        let mag = b_abs.transpose() * &f_mag * &b_abs;
        // B' F B: two products of three-term sums (3u + 3u) and their two
        // roundings (2u), relative to the magnitude; plus the errors of B and F.
        eg[0] += e_b.transpose() * &f_mag * &b_abs
            + b_abs.transpose() * &e_f * &b_abs
            + b_abs.transpose() * &f_mag * &e_b
            + &mag * (8.0 * U);
        // The means then add (N + 1) u relative to the mean magnitude.
        eg[0] += &mag * ((n + 1) as f64 * U);
        eg[1] += &f_mag * ((n + 1) as f64 * U);
        // A_l = mean a a': the product (u) and the mean ((N + 1) u) relative to
        // |a||a|', plus the activations' own errors.
        for (l, (a, e)) in [(a0.clone(), DVector::zeros(4)), (a1, e_a1)]
            .into_iter()
            .enumerate()
        {
            let aa = a.abs();
            ea[l] += &aa * aa.transpose() * ((n + 2) as f64 * U)
                + &e * aa.transpose()
                + &aa * e.transpose();
        }
    }
    let mean = |m: &DMatrix<f64>| m / n as f64;
    (ea.iter().map(mean).collect(), eg.iter().map(mean).collect())
}

// claim: kfac-matches-kfac-jax
#[test]
fn kfac_factors_match_kfac_jax_exact_fisher_mode() {
    let fx = fixture();
    // The fixture comes from the pinned kfac-jax, in float64.
    assert_eq!(
        fx["kfac_jax"].as_str(),
        Some(pinned_kfac("kfac-jax").as_str())
    );
    assert_eq!(fx["jax"].as_str(), Some(pinned_kfac("jax").as_str()));
    assert_eq!(fx["x64"].as_bool(), Some(true));

    // The same network: features and weights bit for bit.
    let (mlp, theta) = demo();
    let x = rows(&fx["features"], "features");
    let t = numbers(&fx["theta"], "theta");
    assert_eq!(t.len(), theta.len());
    for (i, &v) in t.iter().enumerate() {
        assert_eq!(v, theta[i], "theta[{i}]");
    }
    let features = mlp.features();
    assert_eq!((features.nrows(), features.ncols()), (24, 3));
    for (r, row) in x.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            assert_eq!(v, features[(r, c)], "x[{r}][{c}]");
        }
    }

    let ours = kfac_factors(&mlp, &theta).expect("the demo's factors");
    let (ta, tg) = rounding_bounds(&theta, features);
    let layers = fx["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 2);
    for (l, layer) in layers.iter().enumerate() {
        let a = matrix(&layer["a"], "a");
        let g = matrix(&layer["g"], "g");
        for (name, theirs, mine, bound) in
            [("A", &a, &ours.a[l], &ta[l]), ("G", &g, &ours.g[l], &tg[l])]
        {
            assert_eq!(theirs.shape(), mine.shape(), "{name}_{l}");
            // Two implementations, each within the first-order bound of the
            // exact factor: 2 bound apart; a second 2 covers the second-order
            // terms, which are below u times the first-order ones.
            let tol = bound * 4.0;
            // The bound is tight enough to mean something: below 1e-11 of the
            // factor's largest entry (the softmax's error propagation makes G's
            // bound the widest, about 2e-12), while a change of convention, such
            // as dividing by N - 1 instead of N, moves entries by 4e-2 of it.
            assert!(
                tol.max() < 1e-11 * theirs.abs().max(),
                "{name}_{l}: loose bound"
            );
            for i in 0..theirs.nrows() {
                for j in 0..theirs.ncols() {
                    let gap = (theirs[(i, j)] - mine[(i, j)]).abs();
                    assert!(
                        gap <= tol[(i, j)],
                        "{name}_{l}[{i},{j}]: kfac-jax {} crate {} gap {gap:e} > {:e}",
                        theirs[(i, j)],
                        mine[(i, j)],
                        tol[(i, j)]
                    );
                }
            }
        }
    }
}
