//! The answer of the L-BFGS chapter's exercise 2 (`book/src/lbfgs.md`), checked
//! with the crate's `Lbfgs`: a pair with `y.s <= 0` admits no positive definite
//! matrix satisfying the secant condition, and the method skips it.

use descent::problems::quadratic::{Quadratic, SplitMix64};
use std::collections::VecDeque;

use descent::second_order::lbfgs::{Lbfgs, LbfgsConfig, LineSearch, two_loop};
use nalgebra::{DMatrix, DVector};

/// Five iterations of L-BFGS with a fixed step (no line search) on
/// `theta' A theta / 2` from `theta0`; returns the optimizer.
fn run(a: DMatrix<f64>, theta0: DVector<f64>) -> Lbfgs {
    let n = theta0.len();
    let f = Quadratic::new(a, DVector::zeros(n)).expect("square");
    let mut opt = Lbfgs::new(LbfgsConfig {
        lr: 0.1,
        max_iter: 5,
        line_search_fn: LineSearch::None,
        ..LbfgsConfig::default()
    })
    .expect("valid");
    let mut theta = theta0;
    opt.step(&f, &mut theta).expect("finite steps");
    opt
}

// claim: exercise-lbfgs-2
#[test]
fn pairs_with_nonpositive_curvature_are_skipped() {
    let mut rng = SplitMix64::new(12);
    // If H is positive definite and H y = s with y != 0, then y.s = y'Hy > 0:
    // on random positive definite H and y, the computed y.s is positive.
    for _ in 0..200 {
        let n = 2 + (rng.next_u64() % 4) as usize;
        let g = DMatrix::from_fn(n, n, |_, _| rng.normal());
        let h = g.transpose() * &g + DMatrix::identity(n, n) * 0.01;
        let y = DVector::from_fn(n, |_, _| rng.normal());
        let s = &h * &y;
        assert!(y.dot(&s) > 0.0);
    }
    // On the concave L = -|theta|^2 / 2 every pair has y = -s, so y.s = -|s|^2
    // < 0: the crate keeps none of them, and the scale gamma stays at its
    // initial 1; the iterations still run, along -g scaled by gamma.
    let opt = run(
        -DMatrix::identity(3, 3),
        DVector::from_vec(vec![1.0, -2.0, 0.5]),
    );
    let st = opt.state();
    assert_eq!(st.n_iter, 5);
    assert!(st.old_dirs.is_empty() && st.old_stps.is_empty() && st.ro.is_empty());
    assert_eq!(st.h_diag, 1.0);
    // On the convex |theta|^2 / 2 from the same start every pair has y = s and
    // is kept: four pairs after five iterations (none at the first).
    let opt = run(
        DMatrix::identity(3, 3),
        DVector::from_vec(vec![1.0, -2.0, 0.5]),
    );
    assert_eq!(opt.state().old_dirs.len(), 4);
}

/// The second loop alone, started from `r = -gamma g`: the direction the
/// two-loop recursion returns when every `alpha_i` of its first loop is zero.
fn second_loop_only(
    g: &DVector<f64>,
    s: &VecDeque<DVector<f64>>,
    y: &VecDeque<DVector<f64>>,
    rho: &VecDeque<f64>,
    gamma: f64,
) -> DVector<f64> {
    let mut r = -g * gamma;
    for i in 0..s.len() {
        let beta = y[i].dot(&r) * rho[i];
        r.axpy(-beta, &s[i], 1.0);
    }
    r
}

/// exercise-lbfgs-4. On `theta' A theta / 2 - b' theta` (n = 6, eigenvalues
/// spread in log scale over [1, 100], so kappa = 100) with exact line searches
/// built around the crate's `two_loop`, every iteration's gradient is
/// orthogonal to every stored step: each `alpha_i = rho_i s_i . q` of the first
/// loop, with `q = -g` left unchanged by the zero ones after it, is zero, and
/// `two_loop` returns the second loop alone.
///
/// Rounding. The exact step zeroes `s_k . g_(k+1)` up to the error of `t` and of
/// the gradient, a few `n u kappa` relative to `|s| |g|`; the older products
/// stay zero through conjugacy, which loses as much again per iteration. Over at
/// most `n` iterations: `|s_i . g| <= 16 n^2 kappa u |s_i| |g|`, about
/// `6e-12`. The direction then differs from the second loop alone by what the
/// `alpha_i` feed in: each moves `q` by `|alpha_i| |y_i|`, scaled by `gamma`
/// and then by at most `1 + rho_j |y_j| |s_j|` per later update, plus
/// `|alpha_i| |s_i|` itself; the two computations' own roundings add
/// `4 (k + 1) n u` of the same product times `gamma |g|`. The bound is computed
/// from the run's own numbers.
///
/// Contrast: on random pairs with positive curvature the first loop changes
/// the direction by order one, so a first loop that did nothing would be seen.
// claim: exercise-lbfgs-4
#[test]
fn exact_line_searches_on_a_quadratic_zero_every_first_loop_alpha() {
    const U: f64 = f64::EPSILON / 2.0;
    let n = 6;
    let kappa: f64 = 100.0;
    let mut rng = SplitMix64::new(44);
    let q = DMatrix::from_fn(n, n, |_, _| rng.uniform(-1.0, 1.0))
        .qr()
        .q();
    let lambda = DVector::from_fn(n, |i, _| kappa.powf(i as f64 / (n - 1) as f64));
    let a = &q * DMatrix::from_diagonal(&lambda) * q.transpose();
    let a = (&a + a.transpose()) * 0.5;
    let b = DVector::from_fn(n, |_, _| rng.uniform(-1.0, 1.0));
    let mut x = DVector::from_fn(n, |_, _| rng.uniform(-1.0, 1.0));
    let (mut s, mut y, mut rho) = (VecDeque::new(), VecDeque::new(), VecDeque::new());
    let mut gamma = 1.0;
    let mut g = &a * &x - &b;
    let mut checked = 0;
    for k in 0..n - 1 {
        let d = two_loop(&g, &s, &y, &rho, gamma);
        let tau = 16.0 * (n * n) as f64 * kappa * U;
        let mut amplify = 1.0;
        let mut fed = 0.0;
        for i in (0..k).rev() {
            let si: &DVector<f64> = &s[i];
            let alpha = -rho[i] * si.dot(&g);
            let scale = rho[i].abs() * si.norm() * g.norm();
            assert!(
                alpha.abs() <= tau * scale,
                "iteration {k}: alpha_{i} = {alpha:e} against {:e}",
                tau * scale
            );
            fed += alpha.abs() * (gamma * y[i].norm() + si.norm());
            checked += 1;
        }
        for i in 0..k {
            amplify *= 1.0 + rho[i] * y[i].norm() * s[i].norm();
        }
        let alone = second_loop_only(&g, &s, &y, &rho, gamma);
        let bound = amplify * (fed + 4.0 * (k + 1) as f64 * n as f64 * U * gamma * g.norm());
        assert!(
            (&d - &alone).norm() <= bound,
            "iteration {k}: {:e} against {bound:e}",
            (&d - &alone).norm()
        );
        // The exact step along d, and the new pair.
        let t = -g.dot(&d) / d.dot(&(&a * &d));
        let step = &d * t;
        x += &step;
        let g_new = &a * &x - &b;
        let yi = &g_new - &g;
        let ys = yi.dot(&step);
        gamma = ys / yi.dot(&yi);
        s.push_back(step);
        y.push_back(yi);
        rho.push_back(1.0 / ys);
        g = g_new;
    }
    assert_eq!(checked, (n - 1) * (n - 2) / 2);

    // Contrast: random pairs (y = A s, so y.s > 0) and a random gradient.
    let (mut s, mut y, mut rho) = (VecDeque::new(), VecDeque::new(), VecDeque::new());
    for _ in 0..3 {
        let si = DVector::from_fn(n, |_, _| rng.uniform(-1.0, 1.0));
        let yi = &a * &si;
        rho.push_back(1.0 / yi.dot(&si));
        s.push_back(si);
        y.push_back(yi);
    }
    let g = DVector::from_fn(n, |_, _| rng.uniform(-1.0, 1.0));
    let d = two_loop(&g, &s, &y, &rho, 0.5);
    let alone = second_loop_only(&g, &s, &y, &rho, 0.5);
    assert!(
        (&d - &alone).norm() > 1e-2 * d.norm(),
        "the first loop did nothing on arbitrary pairs"
    );
}
