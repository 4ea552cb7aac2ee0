//! The numeric answers of the weight-decay chapter's exercises, checked with the
//! crate's Adam and AdamW.
//!
//! Rounding model: `u = 2^-53`; every basic operation and `sqrt` is exact up to a
//! factor `(1 + d)`, `|d| <= u`.

use descent::optim::{Adam, AdamConfig, Optimizer, WeightDecay};
use nalgebra::DVector;

const U: f64 = f64::EPSILON / 2.0;

fn adam(lr: f64, weight_decay: WeightDecay) -> Adam {
    Adam::new(AdamConfig {
        lr,
        weight_decay,
        ..AdamConfig::default()
    })
    .expect("valid hyperparameters")
}

/// Runs `steps` steps on `L(theta) = s (theta - c)^2 / 2` from `theta0`.
fn run(opt: &mut Adam, s: f64, c: f64, theta0: f64, steps: usize) -> f64 {
    let mut theta = DVector::from_element(1, theta0);
    for _ in 0..steps {
        let g = DVector::from_element(1, s * (theta[0] - c));
        opt.step(&mut theta, &g).expect("finite step");
    }
    theta[0]
}

// claim: exercise-weight-decay-1
#[test]
fn exercise_weight_decay_1_half_life() {
    // With a zero loss gradient Adam's step is 0 / (0 + eps) = 0, and AdamW only
    // multiplies by 1 - lr lambda each step. The half-life is the first t with
    // (1 - lr lambda)^t <= 1/2: ln 2 / -ln(1 - 1e-5) = 69314.4..., so 69315.
    // Each step rounds the product once (relative u), so after t steps the
    // computed value is within t u = 8e-12 of (1 - lr lambda)^t, relative; near
    // the half-life the exact value moves by 5e-6 per step, so rounding cannot
    // move the crossing.
    let config = AdamConfig::adamw();
    let (lr, lambda) = (config.lr, config.weight_decay.coefficient());
    assert_eq!((lr, lambda), (1e-3, 1e-2));
    let exact = 2f64.ln() / -(1.0 - lr * lambda).ln();
    assert!((exact - 69314.4).abs() < 0.1, "{exact}");
    let mut opt = Adam::new(config).unwrap();
    let mut theta = DVector::from_element(1, 1.0);
    let zero = DVector::zeros(1);
    let mut t = 0;
    while theta[0] > 0.5 {
        opt.step(&mut theta, &zero).unwrap();
        t += 1;
    }
    assert_eq!(t, 69315);
}

// claim: exercise-weight-decay-2
#[test]
fn exercise_weight_decay_2_l2_fixed_points() {
    // Adam with L2 coefficient lambda' on s (theta - 1)^2 / 2 stops where the
    // regularized gradient s (theta - 1) + lambda' theta vanishes:
    // theta = s / (s + lambda'), 2/3 for s = 1 and 100/100.5 for s = 100.
    // Near that point the computed gradient is a rounding error of size about
    // 4 u s, which moves theta by at most lr 4 u s / (sqrt(v) + eps), below
    // lr 4 u s / eps = 1.8e-10 for s = 100; the test allows 1e-9.
    let lambda = 0.5;
    for s in [1.0, 100.0] {
        let mut opt = adam(0.01, WeightDecay::L2(lambda));
        let theta = run(&mut opt, s, 1.0, 0.0, 3000);
        let fixed = s / (s + lambda);
        assert!(
            (theta - fixed).abs() <= 1e-9,
            "s = {s}: {theta} against {fixed}"
        );
    }
    assert!((1.0 / 1.5 - 2.0 / 3.0f64).abs() < 1e-15);
}

/// The fixed point of AdamW on `s (theta - c)^2 / 2` with `0 <= theta < c`: the
/// root of `lambda theta = s (c - theta) / (s (c - theta) + eps)`, by bisection
/// on `[0, min(c, 1/lambda)]` (the left side minus the right increases).
fn adamw_fixed_point(s: f64, c: f64, lambda: f64, eps: f64) -> f64 {
    let h = |t: f64| lambda * t - s * (c - t) / (s * (c - t) + eps);
    let (mut lo, mut hi) = (0.0, c.min(1.0 / lambda));
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if h(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

// claim: exercise-weight-decay-3
#[test]
fn exercise_weight_decay_3_adamw_box() {
    let (lambda, eps, lr) = (0.5, 1e-8, 0.01);
    for (s, c) in [(1.0, 1.0), (100.0, 1.0), (1.0, 4.0), (100.0, 4.0)] {
        let star = adamw_fixed_point(s, c, lambda, eps);
        // Close to min(c, 1/lambda): within eps-sized terms.
        let expect = c.min(1.0 / lambda);
        assert!(
            (star - expect).abs() <= 4.0 * eps / s.min(1.0),
            "{star} against {expect}"
        );
        // A fixed point of the crate's AdamW: from a fresh state at theta*, the
        // gradient is the same at every step, so m-hat = g and v-hat = g^2
        // exactly, and one step returns theta* to rounding. The decay, the
        // normalized step and the sum cost a few u times theta*. The gradient
        // s (theta - c) is computed from a difference of nearly equal numbers
        // when c - theta* is of order eps: its relative error is up to
        // 2 u theta* / (c - theta*), and the step g / (|g| + eps) passes a
        // relative error r of g on with weight at most lr / 4 (its derivative,
        // lr eps |g| / (|g| + eps)^2, is largest at |g| = eps). Twice both terms:
        let cancellation = 2.0 * U * star / (c - star);
        let tol = 16.0 * U * star + 2.0 * (lr / 4.0) * cancellation;
        let mut opt = adam(lr, WeightDecay::Decoupled(lambda));
        let after = run(&mut opt, s, c, star, 1);
        assert!(
            (after - star).abs() <= tol,
            "s = {s}, c = {c}: {after} against {star}"
        );
    }
    // From zero, AdamW with c = 4 approaches 1/lambda = 2 from below and stays
    // below it (measured after 5000 steps: 1.9689 for s = 1 and for s = 100);
    // Adam with the same L2 coefficient goes to s c / (s + lambda) instead.
    for s in [1.0, 100.0] {
        let mut opt = adam(lr, WeightDecay::Decoupled(lambda));
        let theta = run(&mut opt, s, 4.0, 0.0, 5000);
        assert!(theta > 1.9 && theta < 2.0, "s = {s}: {theta}");
        let mut opt = adam(lr, WeightDecay::L2(lambda));
        let theta = run(&mut opt, s, 4.0, 0.0, 5000);
        assert!(
            (theta - s * 4.0 / (s + lambda)).abs() <= 1e-6,
            "s = {s}: {theta}"
        );
    }
}

// claim: exercise-weight-decay-4
#[test]
fn a_papers_lambda_becomes_weight_decay_lambda_over_eta() {
    let (eta, lambda): (f64, f64) = (4e-4, 1e-5);
    let w = lambda / eta;
    assert!((w - 0.025).abs() <= 2.0 * U * 0.025);
    // With a zero gradient Adam's own step is zero (m = 0), so one AdamW step
    // is the decay alone: theta (1 - lr w). The paper's step decays by lambda.
    for (weight_decay, want) in [(w, lambda), (lambda, lambda / 2500.0)] {
        let mut opt = adam(eta, WeightDecay::Decoupled(weight_decay));
        let mut theta = DVector::from_element(1, 3.0);
        opt.step(&mut theta, &DVector::zeros(1)).unwrap();
        let shrink = 1.0 - theta[0] / 3.0;
        // lr * w rounds relative to itself (negligible), 1 - lr w, the product
        // with theta and the test's quotient round once each near 1 (u
        // absolute each), and 1 - theta/3 is exact (Sterbenz): the shrink is off
        // by at most 3u absolute; 4u allowed.
        assert!(
            (shrink - want).abs() <= 4.0 * U,
            "weight_decay {weight_decay}: shrink {shrink}, want {want}"
        );
    }
}
