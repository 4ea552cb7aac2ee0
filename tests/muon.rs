//! Muon: bfloat16 rounding, scale invariance of its update (claim
//! `muon-update-ignores-gradient-scale`), the quintic's fixed band (claim
//! `muon-quintic-does-not-converge-to-one`), and refusals.

use descent::optim::muon::{bf16, orthogonalize, quintic, quintic_band};
use descent::optim::{Muon, MuonConfig, Optimizer};
use nalgebra::{DMatrix, DVector};

fn matrix(rows: usize, cols: usize, seed: f64) -> Vec<f64> {
    (0..rows * cols)
        .map(|k| ((k as f64 + seed) * 1.37).sin() * (1.0 + k as f64 * 0.1))
        .collect()
}

// claim: muon-matches-pytorch-bfloat16
/// bfloat16 rounding: nearest, ties to even, 8 significand bits.
#[test]
fn bf16_rounds_to_nearest_even() {
    assert_eq!(bf16(1.0), 1.0);
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even gives 1.
    assert_eq!(bf16(1.0 + 2f32.powi(-8)), 1.0);
    // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: even is 1 + 2^-6.
    assert_eq!(bf16(1.0 + 3.0 * 2f32.powi(-8)), 1.0 + 2f32.powi(-6));
    assert_eq!(
        bf16(1.0 + 2f32.powi(-8) + 2f32.powi(-20)),
        1.0 + 2f32.powi(-7)
    );
    assert_eq!(bf16(-3.0), -3.0);
    assert!(bf16(f32::NAN).is_nan());
    assert_eq!(bf16(f32::MAX), f32::INFINITY);
}

// claim: muon-update-ignores-gradient-scale
/// Scaling every gradient by `k > 0` leaves Muon's trajectory unchanged; for
/// `k` a power of two, bit for bit (every rounding scales exactly, and the
/// normalization divides the power out).
#[test]
fn scaling_the_gradients_changes_nothing() {
    let (rows, cols) = (3, 5);
    let config = MuonConfig {
        lr: 0.02,
        ..MuonConfig::default()
    };
    for k in [0.25, 8.0, 1024.0] {
        let mut a = Muon::new(config, [rows, cols]).unwrap();
        let mut b = a.clone();
        let mut pa = DVector::from_vec(matrix(rows, cols, 0.5));
        let mut pb = pa.clone();
        for t in 0..20 {
            let g = DVector::from_vec(matrix(rows, cols, t as f64));
            a.step(&mut pa, &g).unwrap();
            b.step(&mut pb, &(g * k)).unwrap();
            assert_eq!(pa, pb, "k = {k}, step {t}");
        }
    }
}

// claim: muon-quintic-does-not-converge-to-one
/// Five steps of PyTorch's quintic `p(s) = 3.4445 s - 4.7750 s^3 + 2.0315 s^5`
/// send every `s` in `[2^-7, 1]` into a band around 1 that excludes 1's
/// neighbourhood of width 0.3: the singular values of `O` are not 1. The
/// orthogonalized matrix shows the same: `O^T O` is far from the identity.
#[test]
fn the_quintic_leaves_a_band_not_one() {
    let (lo, hi) = quintic_band((3.4445, -4.7750, 2.0315), 5, 2f64.powi(-7), 1.0, 20_000);
    // The band is about [0.68, 1.12] (see the chapter's figure).
    assert!(lo < 0.7 && hi > 1.1, "band [{lo}, {hi}]");
    assert!(lo > 0.6 && hi < 1.2, "band [{lo}, {hi}]");
    // A classical cubic Newton–Schulz p(s) = 1.5 s - 0.5 s^3 converges to 1
    // from s = 0.5 in a few steps; its band after 10 steps is within 1e-6 of 1.
    let (clo, chi) = quintic_band((1.5, -0.5, 0.0), 10, 0.5, 1.0, 2_000);
    assert!((1.0 - clo) < 1e-6 && (chi - 1.0) < 1e-12, "[{clo}, {chi}]");
    // On a matrix: the singular values of O (emulated bfloat16) lie in the band,
    // not at 1.
    let (rows, cols) = (4, 6);
    let m = matrix(rows, cols, 2.0);
    let o = orthogonalize(&MuonConfig::default(), &m, rows, cols);
    let s = DMatrix::from_row_slice(rows, cols, &o).singular_values();
    // bfloat16 rounding moves a singular value by a relative 2^-8 per rounding
    // of O's entries at most a few times over: 0.05 is ample.
    for &sv in s.iter() {
        assert!(sv > lo - 0.05 && sv < hi + 0.05, "{s}");
    }
    assert!(s.iter().any(|&sv| (sv - 1.0).abs() > 0.02), "{s}");
}

/// A matrix shape is required and checked; a refused step changes nothing.
#[test]
fn refusals_change_nothing() {
    let (rows, cols) = (2, 3);
    let mut opt = Muon::new(MuonConfig::default(), [rows, cols]).unwrap();
    let mut theta = DVector::from_vec(matrix(rows, cols, 0.0));
    // A NaN or infinite gradient, or one of the wrong length, is refused.
    for g in [
        DVector::from_element(rows * cols, f64::NAN),
        DVector::from_element(rows * cols, f64::INFINITY),
        DVector::from_element(5, 1.0),
    ] {
        let (snapshot, before) = (opt.clone(), theta.clone());
        assert!(opt.step(&mut theta, &g).is_err());
        assert_eq!(opt, snapshot);
        assert_eq!(theta, before);
    }
    assert!(opt.state().is_none());
    opt.step(&mut theta, &DVector::from_vec(matrix(rows, cols, 1.0)))
        .unwrap();
}

/// Hyperparameters out of range are refused, naming them.
#[test]
fn hyperparameters_out_of_range_are_named() {
    let d = MuonConfig::default();
    let bad = [
        ("lr", MuonConfig { lr: -1.0, ..d }),
        (
            "weight_decay",
            MuonConfig {
                weight_decay: -1.0,
                ..d
            },
        ),
        (
            "momentum",
            MuonConfig {
                momentum: f64::NAN,
                ..d
            },
        ),
        ("eps", MuonConfig { eps: -1e-7, ..d }),
        ("ns_steps", MuonConfig { ns_steps: 100, ..d }),
        (
            "ns_coefficients[1]",
            MuonConfig {
                ns_coefficients: (1.0, f64::INFINITY, 1.0),
                ..d
            },
        ),
    ];
    for (param, config) in bad {
        assert_eq!(Muon::new(config, [2, 2]).unwrap_err().param, param);
    }
}

// claim: muon-docs-buffer-is-lerp
/// PyTorch's documented box says `B_t = mu B_{t-1} + g_t`; its code keeps
/// `B_t = mu B_{t-1} + (1 - mu) g_t` (a `lerp`). After one step from zero the
/// buffer is `(1 - mu) g`, not `g`. The update direction is the same either way
/// (the box's buffer is the code's divided by `1 - mu`, and the iteration
/// normalizes), so the difference is one of scale, invisible in the step.
#[test]
fn the_documented_buffer_is_not_the_code_buffer() {
    let mu = 0.95;
    let config = MuonConfig {
        momentum: mu,
        nesterov: false,
        ..MuonConfig::default()
    };
    let mut opt = Muon::new(config, [2, 3]).unwrap();
    let mut theta = DVector::from_vec(matrix(2, 3, 0.0));
    let g = DVector::from_vec(matrix(2, 3, 4.0));
    opt.step(&mut theta, &g).unwrap();
    let buffer = &opt.state().unwrap().momentum_buffer;
    let w = 1.0 - mu;
    for i in 0..6 {
        assert_eq!(buffer[i], w * g[i], "entry {i}: the code's lerp");
        assert_ne!(buffer[i], g[i], "entry {i}: the box's B_1 = g_1");
    }
    // The box's second buffer mu g_1 + g_2 against the code's, scaled: the same
    // direction up to rounding.
    let g2 = DVector::from_vec(matrix(2, 3, 9.0));
    opt.step(&mut theta, &g2).unwrap();
    let code = &opt.state().unwrap().momentum_buffer;
    for i in 0..6 {
        let boxed = mu * g[i] + g2[i];
        // Three roundings on each side, each a relative 2^-53: 1e-15 is ample.
        assert!((code[i] / w - boxed).abs() <= 1e-15 * boxed.abs().max(1.0));
    }
}

// claim: exercise-muon-1
/// Exercise 1 of the Muon chapter: `p(1) = 0.701`, `p'(0) = 3.4445`,
/// `p'(1) = -0.723` for PyTorch's quintic; the cubic has `p(1) = 1`, `p'(1) = 0`;
/// the quintic's fixed point near 1 is 0.868, where `p' ~ -1.58` (repelling).
#[test]
fn exercise_muon_1_quintic_fixed_points() {
    use descent::optim::muon::quintic;
    let torch = (3.4445, -4.7750, 2.0315);
    let slope = |(a, b, c): (f64, f64, f64), s: f64| a + 3.0 * b * s * s + 5.0 * c * s.powi(4);
    // A handful of roundings on numbers below 15: 1e-12 is far above them.
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-12;
    assert!(close(quintic(torch, 1, 1.0), 0.701));
    assert!(close(slope(torch, 0.0), 3.4445));
    assert!(close(slope(torch, 1.0), -0.723));
    let cubic = (1.5, -0.5, 0.0);
    assert!(close(quintic(cubic, 1, 1.0), 1.0) && close(slope(cubic, 1.0), 0.0));
    // The fixed point: bisect p(s) - s on [0.8, 0.95] (p(0.8) > 0.8, p(0.95) < 0.95).
    let (mut lo, mut hi) = (0.8, 0.95);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if quintic(torch, 1, mid) > mid {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    assert!((lo - 0.868).abs() < 5e-4, "{lo}");
    assert!(slope(torch, lo) < -1.0, "repelling: {}", slope(torch, lo));
}

/// One Newton–Schulz step in `f64` on `x` as it is (no transposing):
/// `a X + (b G + c G^2) X` with `G = X X^T`.
fn newton_schulz_step_f64((a, b, c): (f64, f64, f64), x: &DMatrix<f64>) -> DMatrix<f64> {
    let g = x * x.transpose();
    x * a + (&g * b + &g * &g * c) * x
}

// claim: exercise-muon-3
/// Exercise 3 of the Muon chapter. One step on a `p x q` matrix costs `p^2 q`
/// (the Gram matrix) `+ p^3` (its square) `+ p^2 q` (the product with `X`)
/// multiplications: about `1.03e11` for the tall `4096 x 1024` matrix and
/// `9.7e9` after transposing, over ten times fewer. The result is the same
/// either way: in exact arithmetic both orientations send `X = U S V^T` to
/// `U p(S) V^T`.
///
/// Checked three ways. (1) The counts. (2) The crate iterates on the wide
/// orientation: [`orthogonalize`] of a tall matrix is, bit for bit, the
/// transpose of [`orthogonalize`] of its transpose (the bfloat16 roundings would
/// differ on the `A x A` Gram matrix). (3) In `f64`, five steps on the tall
/// matrix and five on its transpose both give `U p^5(S) V^T`, with `p^5` the
/// crate's [`quintic`], for a matrix built with known singular values.
///
/// Tolerance of (3): the matrix map's first-order response to a perturbation is
/// bounded by the largest `|p'|` on the singular values' range, under 4 on
/// `[0, 1.2]`; each step adds the roundings of three products of length at most
/// 6 and of the sums, at most `30 u` times `|a| + |b| + |c| < 11`, about
/// `330 u`. Five steps give at most `330 u (1 + 4 + ... + 4^4) < 3.4e5 u`, and
/// building `X`, `U` and `V` (QR and two products) adds well under `100 u`:
/// the test allows `4e5 u ~ 4.5e-11` per entry.
#[test]
fn exercise_muon_3_transposing_cuts_the_work_not_the_result() {
    // (1) The counts of the chapter's solution.
    let per_step = |p: f64, q: f64| 2.0 * p * p * q + p * p * p;
    let tall = per_step(4096.0, 1024.0);
    let wide = per_step(1024.0, 4096.0);
    assert_eq!(tall, 103_079_215_104.0);
    assert_eq!(wide, 9_663_676_416.0);
    assert!((tall / 1e11 - 1.03).abs() < 5e-3 && (wide / 1e9 - 9.7).abs() < 0.05);
    assert!(tall / wide > 10.0, "ratio {}", tall / wide);

    // (2) The crate transposes a tall matrix.
    let config = MuonConfig::default();
    let (rows, cols) = (7, 3);
    let m = matrix(rows, cols, 4.0);
    let mt = DMatrix::from_row_slice(rows, cols, &m).transpose();
    let mt_rows: Vec<f64> = (0..cols)
        .flat_map(|i| (0..rows).map(move |j| (i, j)))
        .map(|(i, j)| mt[(i, j)])
        .collect();
    let o_tall = orthogonalize(&config, &m, rows, cols);
    let o_wide = DMatrix::from_row_slice(cols, rows, &orthogonalize(&config, &mt_rows, cols, rows));
    assert_eq!(
        DMatrix::from_row_slice(rows, cols, &o_tall),
        o_wide.transpose()
    );

    // (3) Both orientations compute U p^5(S) V^T.
    let coefficients = config.ns_coefficients;
    let basis =
        |r: usize, c: usize, seed: f64| DMatrix::from_row_slice(r, c, &matrix(r, c, seed)).qr().q();
    let (u, v) = (basis(6, 3, 1.0), basis(3, 3, 2.0));
    let s = [1.0, 0.6, 0.05];
    let norm = s.iter().map(|x| x * x).sum::<f64>().sqrt();
    let x = &u * DMatrix::from_diagonal(&DVector::from_row_slice(&s)) * v.transpose() / norm;
    let mapped: Vec<f64> = s
        .iter()
        .map(|&x| quintic(coefficients, 5, x / norm))
        .collect();
    let want = &u * DMatrix::from_diagonal(&DVector::from_vec(mapped)) * v.transpose();
    let (mut untransposed, mut transposed) = (x.clone(), x.transpose());
    for _ in 0..5 {
        untransposed = newton_schulz_step_f64(coefficients, &untransposed);
        transposed = newton_schulz_step_f64(coefficients, &transposed);
    }
    let tolerance = 4e5 * f64::EPSILON / 2.0;
    for (name, o) in [
        ("6 x 6 Gram", untransposed),
        ("3 x 3 Gram", transposed.transpose()),
    ] {
        let error = (&o - &want).amax();
        assert!(error <= tolerance, "{name}: {error:e}");
    }
}

/// exercise-muon-2: for `X = U S V^T`, `(X X^T) X = U S^3 V^T`. The crate's
/// Newton–Schulz computes exactly this product in one step with coefficients
/// `(a, b, c) = (0, 1, 0)`: `H = 1 G + 0 G G = G`, then `0 X + H X`.
///
/// (1) Exact case. `U` is the 4 x 4 Hadamard matrix over 2 (orthogonal, entries
/// `+-1/2`), `V^T` the 4 x 8 matrix whose rows are those of `U` spread over the
/// even columns (orthonormal rows, entries `0, +-1/2`), `S = diag(1/2, 3/8,
/// 1/4, 1/8)`, so `||X||_F^2 = 30/64 < 1` and with `eps = 1` the normalization
/// divides by 1. Every number on the way is a multiple of a power of two by an
/// integer of at most 8 bits: the entries of `X` are `(+-4 +- 3 +- 2 +- 1) 2^-5`,
/// those of `G = U S^2 U^T` are `(+-16 +- 9 +- 4 +- 1) 2^-8`, those of
/// `G X = U S^3 V^T` are `(+-64 +- 27 +- 8 +- 1) 2^-11` or zero, and the `f32`
/// partial sums have fewer than 24 bits. So neither bfloat16 nor `f32` rounds
/// anything, nor does the f64 reference built from the same dyadics: the
/// tolerance is zero.
///
/// (2) Rounded case. A random 3 x 5 `X` with `||X||_F < 1` (and `eps = 1`): the
/// crate's result against `U S^3 V^T` from an f64 SVD. Each of the three
/// bfloat16 roundings on the way (of `X`, of `G`, of `G X`; `f32` accumulation
/// of at most 5 terms adds `5 * 2^-24`, far below) is relative `u_b = 2^-9` per
/// entry of the absolute-value products, and `X` enters three times: the
/// error of an entry is at most `(3 + 1 + 1) u_b (1 + u_b)^5 (|X| |X|^T |X|)_ij`,
/// below `5.1 u_b` of that. The SVD side is backward stable, error of order
/// `1e-15`, below the `0.1 u_b` of slack.
// claim: exercise-muon-2
#[test]
fn exercise_muon_2_one_step_cubes_the_singular_values() {
    let config = MuonConfig {
        ns_coefficients: (0.0, 1.0, 0.0),
        ns_steps: 1,
        eps: 1.0,
        ..MuonConfig::default()
    };
    // (1) Exact.
    let h = DMatrix::from_row_slice(
        4,
        4,
        &[
            1.0, 1.0, 1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0, -1.0, -1.0, 1.0,
        ],
    ) * 0.5;
    let u = h.clone();
    let vt = DMatrix::from_fn(4, 8, |i, j| if j % 2 == 0 { h[(i, j / 2)] } else { 0.0 });
    assert_eq!(&u.transpose() * &u, DMatrix::identity(4, 4));
    assert_eq!(&vt * vt.transpose(), DMatrix::identity(4, 4));
    let sigma: [f64; 4] = [0.5, 0.375, 0.25, 0.125];
    let diag = |p: i32| {
        DMatrix::from_diagonal(&DVector::from_iterator(4, sigma.iter().map(|s| s.powi(p))))
    };
    let x = &u * diag(1) * &vt;
    let want = &u * diag(3) * &vt;
    let rows: Vec<f64> = (0..4)
        .flat_map(|i| (0..8).map(move |j| (i, j)))
        .map(|(i, j)| x[(i, j)])
        .collect();
    let got = DMatrix::from_row_slice(4, 8, &orthogonalize(&config, &rows, 4, 8));
    assert_eq!(got, want, "(X X^T) X is not U S^3 V^T exactly");
    // Also (X X^T) X computed directly equals it: the identity itself, exact here.
    assert_eq!(&x * x.transpose() * &x, want);

    // (2) Rounded: a random 3 x 5 matrix, scaled to ||X||_F = 0.9.
    let (p, q) = (3, 5);
    let raw = DMatrix::from_row_slice(p, q, &matrix(p, q, 3.0));
    let x = &raw * (0.9 / raw.norm());
    let svd = x.clone().svd(true, true);
    let (u, vt) = (svd.u.unwrap(), svd.v_t.unwrap());
    let cubed = svd.singular_values.map(|s| s * s * s);
    let want = &u * DMatrix::from_diagonal(&cubed) * &vt;
    let rows: Vec<f64> = (0..p)
        .flat_map(|i| (0..q).map(move |j| (i, j)))
        .map(|(i, j)| x[(i, j)])
        .collect();
    let got = DMatrix::from_row_slice(p, q, &orthogonalize(&config, &rows, p, q));
    let ax = x.abs();
    let scale = &ax * ax.transpose() * &ax;
    let ub = 2f64.powi(-9);
    for i in 0..p {
        for j in 0..q {
            let error = (got[(i, j)] - want[(i, j)]).abs();
            assert!(
                error <= 5.2 * ub * scale[(i, j)],
                "entry ({i}, {j}): {error:e} against {:e}",
                5.2 * ub * scale[(i, j)]
            );
        }
    }
    // The identity is not the trivial one: U S V^T differs from U S^3 V^T.
    assert!((&x - &want).amax() > 0.1);
}
