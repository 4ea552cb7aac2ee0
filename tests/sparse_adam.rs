//! Claims of the section on SparseAdam (chapter "Adamax, NAdam and RAdam").

use descent::optim::{
    Adam, AdamConfig, Buffers, Optimizer, SparseAdam, SparseAdamConfig, SparseAdamState,
};
use nalgebra::DVector;

/// Unit roundoff of `f64`.
const U: f64 = f64::EPSILON / 2.0;

/// A deterministic, irregular sequence in [-1, 1] (a linear congruential generator).
fn sequence(len: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

/// A gradient row of `n` entries, none zero, of magnitudes from 1e-4 to 1e2.
fn dense_row(n: usize, seed: u64) -> Vec<f64> {
    sequence(2 * n, seed)
        .chunks(2)
        .map(|p| {
            let sign = if p[0] < 0.0 { -1.0 } else { 1.0 };
            sign * 10f64.powf(-4.0 + 3.0 * (p[1] + 1.0))
        })
        .collect()
}

fn state(opt: &SparseAdam) -> &SparseAdamState {
    opt.state().expect("a step was taken")
}

/// With every entry present, one SparseAdam step from any state is Adam's step
/// with `eps` replaced by `eps / sqrt(1 - beta2^t)`. Each step of a run is checked
/// from the state the crate holds before it, against Adam's formula evaluated
/// here in Adam's own form (`beta m + (1 - beta) g`, `sqrt(v / bc2) + eps_t`).
///
/// Tolerance, with `M = max(|m_{t-1}|, |g|)`, `s` the step size and `d` the
/// update. The two forms of the moment update each make at most three roundings
/// on quantities of size at most `2M`, so the two `m` differ by at most `8uM`,
/// which moves the update by `8uM s / (sqrt(v) + eps)`. Every other factor (the
/// two moments' relative error in `v`, halved by the root, the root itself, the
/// sum with `eps`, the step size with its root and quotient, the product and the
/// quotient) is a relative error of at most `u` each, about 16 of them over both
/// sides: `16u |d|`. Adding the update to `theta` rounds once on each side:
/// `2u |theta|`. The test allows twice the sum.
// claim: sparseadam-dense-is-adam-with-scaled-eps
#[test]
fn a_dense_sparseadam_step_is_adams_with_a_scaled_eps() {
    let n = 6;
    let configs = [
        SparseAdamConfig::default(),
        SparseAdamConfig {
            lr: 0.05,
            betas: (0.3, 0.95),
            eps: 1e-3,
            maximize: false,
        },
        SparseAdamConfig {
            lr: 0.01,
            betas: (0.5, 0.9),
            eps: 0.1,
            maximize: true,
        },
    ];
    let mut checked = 0;
    for (c_index, config) in configs.iter().enumerate() {
        let mut opt = SparseAdam::new(*config).unwrap();
        let mut theta = DVector::from_vec(sequence(n, 7 + c_index as u64));
        let (beta1, beta2) = config.betas;
        for t in 1..=200u64 {
            let g = dense_row(n, 1000 * c_index as u64 + t);
            let (m0, v0) = match opt.state() {
                Some(s) => (s.exp_avg.clone(), s.exp_avg_sq.clone()),
                None => (DVector::zeros(n), DVector::zeros(n)),
            };
            let before = theta.clone();
            opt.step(&mut theta, &DVector::from_vec(g.clone())).unwrap();
            let bc1 = 1.0 - beta1.powi(t as i32);
            let bc2 = 1.0 - beta2.powi(t as i32);
            let eps_t = config.eps / bc2.sqrt();
            let s = config.lr * bc2.sqrt() / bc1;
            for i in 0..n {
                let gi = if config.maximize { -g[i] } else { g[i] };
                let m = beta1 * m0[i] + (1.0 - beta1) * gi;
                let v = beta2 * v0[i] + (1.0 - beta2) * gi * gi;
                let d = config.lr / bc1 * m / ((v / bc2).sqrt() + eps_t);
                let want = before[i] - d;
                let big_m = m0[i].abs().max(gi.abs());
                let tol = 2.0
                    * (8.0 * U * big_m * s / (v.sqrt() + config.eps)
                        + 16.0 * U * d.abs()
                        + 2.0 * U * want.abs());
                assert!(
                    (theta[i] - want).abs() <= tol,
                    "config {c_index}, t {t}, i {i}: {} vs Adam with eps_t {want} (tol {tol:e})",
                    theta[i]
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 3 * 200 * 6);
}

/// The same `eps` does not give Adam's step: at the first step with PyTorch's
/// defaults and `g = 1e-8`, Adam moves by `lr g / (|g| + eps) = lr / 2`, and
/// SparseAdam by `lr sqrt(1 - beta2) g / (sqrt(1 - beta2) |g| + eps)`, about
/// `0.0307 lr`. The two values are fifteen times apart; a few roundings cannot
/// bridge that, and the test asks for each within `1e-12` relative.
// claim: sparseadam-dense-is-adam-with-scaled-eps
#[test]
fn with_the_same_eps_sparseadam_is_not_adam() {
    let g = 1e-8;
    let mut sparse = SparseAdam::new(SparseAdamConfig::default()).unwrap();
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let (mut a, mut b) = (DVector::from_element(1, 0.0), DVector::from_element(1, 0.0));
    let grad = DVector::from_element(1, g);
    sparse.step(&mut a, &grad).unwrap();
    adam.step(&mut b, &grad).unwrap();
    let lr = 1e-3;
    let root = (1.0 - 0.999f64).sqrt();
    let want_sparse = lr * root * g / (root * g + 1e-8);
    let want_adam = lr * g / (g + 1e-8);
    assert!(
        (-a[0] - want_sparse).abs() <= 1e-12 * want_sparse,
        "{}",
        a[0]
    );
    assert!((-b[0] - want_adam).abs() <= 1e-12 * want_adam, "{}", b[0]);
    assert!((want_sparse / lr - 0.0307).abs() < 1e-4);
    assert!(-b[0] > 15.0 * -a[0]);
}

/// Absent coordinates (a zero entry of either sign) keep their parameter and both
/// moments bit for bit, while the step counter advances for every step. Checked
/// over a run whose rows have zeros at positions that change from step to step,
/// including a row with no entry present.
// claim: sparseadam-absent-coordinates-frozen
#[test]
fn absent_coordinates_keep_parameter_and_moments() {
    let n = 7;
    let mut opt = SparseAdam::new(SparseAdamConfig {
        lr: 0.01,
        ..SparseAdamConfig::default()
    })
    .unwrap();
    let mut theta = DVector::from_vec(sequence(n, 3));
    let mut absent_seen = 0;
    let mut present_seen = 0;
    for t in 1..=120u64 {
        let pick = sequence(n, 500 + t);
        let mut g = dense_row(n, t);
        for i in 0..n {
            if t == 40 || pick[i] < -0.2 {
                g[i] = if pick[i] < -0.6 { -0.0 } else { 0.0 };
            }
        }
        let before = theta.clone();
        let s0 = opt.state().cloned();
        opt.step(&mut theta, &DVector::from_vec(g.clone())).unwrap();
        let s1 = state(&opt);
        assert_eq!(s1.step(), t, "every step counts");
        for i in 0..n {
            let (m0, v0) = s0.as_ref().map_or((0.0, 0.0), |s| {
                let c = s.get(i);
                (c.exp_avg, c.exp_avg_sq)
            });
            let c = s1.get(i);
            if g[i] == 0.0 {
                assert_eq!(theta[i].to_bits(), before[i].to_bits(), "t {t} i {i}");
                assert_eq!(c.exp_avg.to_bits(), m0.to_bits(), "t {t} i {i}");
                assert_eq!(c.exp_avg_sq.to_bits(), v0.to_bits(), "t {t} i {i}");
                absent_seen += 1;
            } else {
                assert_ne!(c.exp_avg_sq.to_bits(), v0.to_bits(), "t {t} i {i}");
                present_seen += 1;
            }
        }
    }
    assert!(absent_seen > 200 && present_seen > 200);
}

/// So SparseAdam is not Adam on the zero-filled gradient. One coordinate, PyTorch's
/// defaults, gradients `(1, 0)`: at step 2 SparseAdam does not move, while Adam
/// moves by `lr m2_hat / (sqrt(v2_hat) + eps)` with `m2_hat = beta1 / (1 + beta1)`
/// and `v2_hat = beta2 / (1 + beta2)`, about `0.670 lr`. The formula is checked to
/// `1e-12` relative (a dozen roundings of size `u`).
// claim: sparseadam-absent-coordinates-frozen
#[test]
fn sparseadam_is_not_adam_on_the_zero_filled_gradient() {
    let mut sparse = SparseAdam::new(SparseAdamConfig::default()).unwrap();
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let (mut a, mut b) = (DVector::from_element(1, 0.0), DVector::from_element(1, 0.0));
    for g in [1.0, 0.0] {
        let (a0, b0) = (a[0], b[0]);
        let grad = DVector::from_element(1, g);
        sparse.step(&mut a, &grad).unwrap();
        adam.step(&mut b, &grad).unwrap();
        if g == 0.0 {
            assert_eq!(a[0].to_bits(), a0.to_bits(), "SparseAdam moved");
            let (beta1, beta2, lr, eps) = (0.9f64, 0.999f64, 1e-3, 1e-8);
            let want = lr * (beta1 / (1.0 + beta1)) / ((beta2 / (1.0 + beta2)).sqrt() + eps);
            let moved = b0 - b[0];
            assert!((moved - want).abs() <= 1e-12 * want, "{moved} vs {want}");
            assert!(moved > 0.67 * lr && moved < 0.671 * lr, "{moved}");
        }
    }
}

/// Exercise 5: a coordinate absent for the first 9999 steps and present at step
/// 10000 with `g = 1` moves, with PyTorch's defaults, by
/// `lr sqrt(1 - beta2^t) (1 - beta1) / ((1 - beta1^t)(sqrt(1 - beta2) + eps))`,
/// about `3.1622 lr`, while at step 1 it would move by about `lr`. Adam on the
/// zero-filled gradient moves it by the same amount up to `eps` (its moments were
/// zero too). Tolerance: the formula and the step each carry about ten roundings
/// of relative size `u`; `1e-12` relative covers them. Adam's step differs only
/// through `eps`, by a relative `eps / sqrt(1 - beta2) < 1e-6`.
// claim: exercise-adam-variants-5
#[test]
fn exercise_adam_variants_5_a_late_first_step_is_longer() {
    let config = SparseAdamConfig::default();
    let (beta1, beta2) = config.betas;
    let t = 10_000;
    let mut sparse = SparseAdam::new(config).unwrap();
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let (mut a, mut b) = (DVector::from_element(2, 0.0), DVector::from_element(2, 0.0));
    // The second coordinate is present throughout, so each row holds an entry.
    for _ in 1..t {
        let g = DVector::from_vec(vec![0.0, 0.5]);
        sparse.step(&mut a, &g).unwrap();
        adam.step(&mut b, &g).unwrap();
    }
    assert_eq!(a[0].to_bits(), 0.0f64.to_bits());
    let g = DVector::from_vec(vec![1.0, 0.5]);
    sparse.step(&mut a, &g).unwrap();
    adam.step(&mut b, &g).unwrap();
    let tf = t as f64;
    let bc1 = 1.0 - beta1.powf(tf);
    let bc2 = 1.0 - beta2.powf(tf);
    let want = config.lr * bc2.sqrt() * (1.0 - beta1) / (bc1 * ((1.0 - beta2).sqrt() + config.eps));
    let moved = -a[0];
    assert!((moved - want).abs() <= 1e-12 * want, "{moved} vs {want}");
    assert!(
        (moved / config.lr - 3.1622).abs() < 1e-4,
        "{}",
        moved / config.lr
    );
    let adam_moved = -b[0];
    assert!(
        (adam_moved - moved).abs() <= 1e-6 * moved,
        "{adam_moved} vs {moved}"
    );
    // At step 1 the same gradient moves it by lr (up to eps).
    let mut first = SparseAdam::new(config).unwrap();
    let mut c = DVector::from_element(1, 0.0);
    first.step(&mut c, &DVector::from_element(1, 1.0)).unwrap();
    assert!((-c[0] / config.lr - 1.0).abs() < 1e-6, "{}", c[0]);
}

/// A checkpoint of SparseAdam resumes bit for bit (feature `serde`).
#[test]
fn sparseadam_checkpoint_round_trips() {
    let mut opt = SparseAdam::new(SparseAdamConfig::default()).unwrap();
    let mut theta = DVector::from_vec(vec![1.0, -2.0, 0.5]);
    opt.step(&mut theta, &DVector::from_vec(vec![0.5, 0.0, -1.0]))
        .unwrap();
    let text = serde_json::to_string(&opt).unwrap();
    let mut back: SparseAdam = serde_json::from_str(&text).unwrap();
    assert_eq!(back, opt);
    let g = DVector::from_vec(vec![0.0, 0.25, 2.0]);
    let mut p = theta.clone();
    opt.step(&mut theta, &g).unwrap();
    back.step(&mut p, &g).unwrap();
    assert_eq!(theta, p);
    assert_eq!(back.steps_taken(), 2);
}

/// Exercise 6: gradients `(1, 0, 1)` on one coordinate, PyTorch's defaults.
/// SparseAdam's steps are `1`, `0` and `(1 - b1^2)/(1 - b1^3) / sqrt((1 - b2^2)/(1 -
/// b2^3))` times `lr`; Adam's are `1`, `(b1/(1+b1)) / sqrt(b2/(1+b2))` and
/// `((1-b1)(1+b1^2)/(1-b1^3)) / sqrt((1-b2)(1+b2^2)/(1-b2^3))`. Tolerance `1e-5`
/// relative: `eps` shifts a step by at most `eps / sqrt(v_hat) <= 1e-8 / 0.0316`
/// relative, rounding by far less.
// claim: exercise-adam-variants-6
#[test]
fn exercise_adam_variants_6_sparseadam_and_adam_on_one_zero_two() {
    let (b1, b2, lr) = (0.9f64, 0.999f64, 1e-3);
    let sparse_steps = [
        1.0,
        0.0,
        (1.0 - b1 * b1) / (1.0 - b1.powi(3)) / ((1.0 - b2 * b2) / (1.0 - b2.powi(3))).sqrt(),
    ];
    let adam_steps = [
        1.0,
        (b1 / (1.0 + b1)) / (b2 / (1.0 + b2)).sqrt(),
        ((1.0 - b1) * (1.0 + b1 * b1) / (1.0 - b1.powi(3)))
            / ((1.0 - b2) * (1.0 + b2 * b2) / (1.0 - b2.powi(3))).sqrt(),
    ];
    assert!((sparse_steps[2] - 0.8585).abs() < 1e-4 && (adam_steps[2] - 0.8180).abs() < 1e-4);
    let mut sparse = SparseAdam::new(SparseAdamConfig::default()).unwrap();
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let (mut a, mut b) = (DVector::from_element(1, 0.0), DVector::from_element(1, 0.0));
    for (t, g) in [1.0, 0.0, 1.0].into_iter().enumerate() {
        let (a0, b0) = (a[0], b[0]);
        let grad = DVector::from_element(1, g);
        sparse.step(&mut a, &grad).unwrap();
        adam.step(&mut b, &grad).unwrap();
        let (sa, sb) = ((a0 - a[0]) / lr, (b0 - b[0]) / lr);
        assert!(
            (sa - sparse_steps[t]).abs() <= 1e-5 * sparse_steps[t],
            "SparseAdam step {}: {sa}",
            t + 1
        );
        assert!(
            (sb - adam_steps[t]).abs() <= 1e-5 * adam_steps[t],
            "Adam step {}: {sb}",
            t + 1
        );
    }
}
