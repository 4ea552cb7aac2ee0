//! The numeric answers of the Adam chapter's exercises, checked with the crate.
//!
//! Rounding model as in `tests/adam.rs`: `u = 2^-53`, every basic operation and
//! `sqrt` exact up to a factor `(1 + d)`, `|d| <= u`; tolerances are written in
//! units of `2^-52 = 2u` and double a first-order count of roundings.

use descent::optim::moments::bias_correction;
use descent::optim::{Adam, AdamConfig, Amsgrad, Optimizer};
use descent::problems::regression::LeastSquares;
use descent::second_order::natural::{empirical_fisher, per_example_gradients};
use nalgebra::{DMatrix, DVector};

/// `2^-52`, the unit in which tolerances are written.
const ULP: f64 = f64::EPSILON;

/// One step of a fresh `Adam` with `config` on the one-coordinate gradient `g`,
/// read exactly: from `theta = 0` the new parameter is the step itself.
fn first_step(config: AdamConfig, g: f64) -> f64 {
    let mut opt = Adam::new(config).expect("valid hyperparameters");
    let mut theta = DVector::zeros(1);
    opt.step(&mut theta, &DVector::from_element(1, g))
        .expect("finite step");
    theta[0]
}

/// The first step `t` at which the correction factor `1/(1 - beta^t)` is at most
/// `1 + tol`, with the crate's `bias_correction`.
fn correction_horizon(beta: f64, tol: f64) -> u64 {
    (1..)
        .find(|&t| 1.0 / bias_correction(beta, t) <= 1.0 + tol)
        .unwrap()
}

// claim: exercise-adam-1
#[test]
fn exercise_adam_1_correction_horizon() {
    // ln(101) / -ln(beta): 43.8 for beta = 0.9 and 4612.8 for beta = 0.999. Neither
    // is within 0.1 of an integer, so the rounding of 1/(1 - beta^t) (a few units
    // of 2^-52 on a quantity that moves by about 1e-5 per step near the horizon)
    // cannot move the answer.
    assert_eq!(correction_horizon(0.9, 0.01), 44);
    assert_eq!(correction_horizon(0.999, 0.01), 4613);
    let exact = |beta: f64| (101f64).ln() / -(beta.ln());
    assert!((exact(0.9) - 43.8).abs() < 0.05);
    assert!((exact(0.999) - 4612.8).abs() < 0.05);
}

// claim: exercise-adam-2
#[test]
fn exercise_adam_2_first_step_against_eps() {
    // Step 1 is -lr g / (|g| + eps) for every g. About ten roundings sit between the
    // gradient and the step (1 - beta, lerp, sqrt, the two corrections, the
    // divisions, + eps): relative error at most 10u; the test allows 16 units of
    // 2^-52 = 32u.
    let config = AdamConfig::default();
    let (lr, eps) = (config.lr, config.eps);
    for g in [3.0, -0.25, 1e-3, 1e-8, -1e-8, 1e-10] {
        let expect = -lr * g / (g.abs() + eps);
        let got = first_step(config, g);
        assert!(
            (got - expect).abs() <= 16.0 * ULP * expect.abs(),
            "g = {g}: {got} against {expect}"
        );
    }
    // At |g| = eps the step is half the learning rate.
    let half = first_step(config, 1e-8);
    assert!((half + lr / 2.0).abs() <= 16.0 * ULP * lr / 2.0);
    // Far above eps it is the learning rate: 1e-3 (1 - 1e-8) at g = 1.
    let full = first_step(config, 1.0);
    assert!((full + lr).abs() <= 2e-8 * lr);
}

// claim: exercise-adam-3
#[test]
fn exercise_adam_3_uncorrected_first_step() {
    // Without bias correction (the paper's AMSGrad at step 1, where the maximum is
    // v_1 and neither moment is corrected) and eps = 0, the first step is
    // -lr (1 - beta1) / sqrt(1 - beta2) sign(g), 3.162... lr with PyTorch's betas.
    let uncorrected = AdamConfig {
        eps: 0.0,
        amsgrad: Amsgrad::Paper,
        ..AdamConfig::default()
    };
    let lr = uncorrected.lr;
    let (b1, b2) = uncorrected.betas;
    let factor = (1.0 - b1) / (1.0 - b2).sqrt();
    assert!((factor - 10f64.sqrt()).abs() < 1e-12);
    for g in [0.37, -5.0, 1e-6] {
        let got = first_step(uncorrected, g);
        let expect = -lr * factor * g.signum();
        // About eight roundings: 16 units of 2^-52.
        assert!(
            (got - expect).abs() <= 16.0 * ULP * expect.abs(),
            "g = {g}: {got} against {expect}"
        );
        // With the correction the same step is lr, to rounding.
        let corrected = first_step(
            AdamConfig {
                eps: 0.0,
                ..AdamConfig::default()
            },
            g,
        );
        assert!((corrected + lr * g.signum()).abs() <= 16.0 * ULP * lr);
    }
}

/// All `B`-tuples of `0..n` (ordered, with repetition) or all `B`-subsets.
fn batches(n: usize, b: usize, replace: bool) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = vec![vec![]];
    for _ in 0..b {
        let mut next = Vec::new();
        for batch in &out {
            for i in 0..n {
                if replace || batch.last().is_none_or(|&last| i > last) {
                    let mut longer = batch.clone();
                    longer.push(i);
                    next.push(longer);
                }
            }
        }
        out = next;
    }
    out
}

/// The exact mean over all batches of the squared minibatch gradient, per
/// coordinate: `E[g_B^2]` under uniform sampling.
fn mean_square_of_minibatch_gradient(g: &DMatrix<f64>, b: usize, replace: bool) -> DVector<f64> {
    let all = batches(g.nrows(), b, replace);
    let mut acc = DVector::zeros(g.ncols());
    for batch in &all {
        let mut mean = DVector::zeros(g.ncols());
        for &n in batch {
            mean += g.row(n).transpose();
        }
        mean /= b as f64;
        acc += mean.component_mul(&mean);
    }
    acc / all.len() as f64
}

// claim: exercise-adam-4
#[test]
fn exercise_adam_4_minibatch_second_moment() {
    // Five examples of a least-squares problem, away from its optimum, so that both
    // the mean gradient and the spread of the per-example gradients are non-zero.
    let model = LeastSquares::generate(11, 5, 2, 0.5).unwrap();
    let theta = DVector::from_vec(vec![0.7, -1.3]);
    let g = per_example_gradients(&model, &theta).unwrap();
    let f_emp = empirical_fisher(&model, &theta).unwrap();
    let n = g.nrows();
    let gbar = g.row_mean().transpose();
    // diag(Sigma) = diag(F_emp) - gbar^2: the population variance of each coordinate.
    let var = DVector::from_fn(2, |i, _| f_emp[(i, i)] - gbar[i] * gbar[i]);
    let scale = f_emp.diagonal().amax();
    // Each batch mean takes B additions and a division, its square one more
    // rounding, and the average of at most 5^3 = 125 batches 126 more: a relative
    // error below 130u of the largest diagonal entry. 2^-45 = 256u covers it twice.
    let tol = scale * 128.0 * ULP;
    for b in 1..=3 {
        let with = mean_square_of_minibatch_gradient(&g, b, true);
        let without = mean_square_of_minibatch_gradient(&g, b, false);
        let fpc = (n - b) as f64 / (n - 1) as f64;
        for i in 0..2 {
            let expect_with = var[i] / b as f64 + gbar[i] * gbar[i];
            let expect_without = var[i] * fpc / b as f64 + gbar[i] * gbar[i];
            assert!(
                (with[i] - expect_with).abs() <= tol,
                "B = {b}, i = {i}: {} against {expect_with}",
                with[i]
            );
            assert!(
                (without[i] - expect_without).abs() <= tol,
                "B = {b}, i = {i}: {} against {expect_without} (without replacement)",
                without[i]
            );
            if b == 1 {
                assert!((with[i] - f_emp[(i, i)]).abs() <= tol);
            } else {
                // Short of the empirical Fisher by (1 - 1/B) diag(Sigma), far above
                // the tolerance here.
                let gap = f_emp[(i, i)] - with[i];
                assert!(gap > 0.1 * var[i], "B = {b}: gap {gap}, var {}", var[i]);
            }
        }
    }
}

// claim: exercise-adam-5
#[test]
fn adam_on_the_absolute_value_overshoots_and_keeps_jittering() {
    let mut opt = Adam::new(AdamConfig {
        lr: 0.1,
        ..AdamConfig::default()
    })
    .unwrap();
    let mut theta = DVector::from_element(1, 1.0f64);
    let mut path = vec![1.0];
    for _ in 0..300 {
        let g = DVector::from_element(1, theta[0].signum());
        opt.step(&mut theta, &g).unwrap();
        path.push(theta[0]);
    }
    // Ten steps of length 0.1 / (1 + 1e-8) each, with m_hat = v_hat = 1 up to
    // the bounds of adam-bias-correction: relative (n + 5 + 2r) 2^-52 for m_hat
    // and (2n + 6 + 2r) 2^-52 for v_hat (halved by the square root), with
    // n = min(t, 1/(1 - beta)) and r = beta^t / (1 - beta^t), plus 4u for the
    // division, the epsilon and the update. The step sizes' errors add up:
    let bound: f64 = (1..=10)
        .map(|t| {
            let r = |b: f64| b.powi(t) / (1.0 - b.powi(t));
            let tf = t as f64;
            let m_hat = (tf.min(10.0) + 5.0 + 2.0 * r(0.9)) * ULP;
            let v_hat = (2.0 * tf.min(1000.0) + 6.0 + 2.0 * r(0.999)) * ULP;
            0.1 * (m_hat + v_hat / 2.0 + 4.0 * ULP / 2.0)
        })
        .sum();
    // theta_10 = 1 - 1/(1 + 1e-8) = 1e-8 - 1e-16 up to that bound (about 1e-13).
    assert!(bound < 2e-13, "{bound}");
    assert!((path[10] - 1e-8).abs() <= bound, "{}", path[10]);
    assert!(path[1..10].iter().all(|&x| x > 0.0));
    // The overshoot: "about -0.26 near step 15", read as the two digits and
    // the step window the answer states.
    let (at, low) = path
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(t, &x)| (t, x))
        .unwrap();
    assert!((13..=17).contains(&at), "lowest at step {at}");
    assert!((-0.265..=-0.255).contains(&low), "lowest {low}");
    // It turns back, and the next overshoot above zero is smaller.
    let high = path[at..].iter().copied().fold(f64::MIN, f64::max);
    assert!(high > 0.0 && high < -low, "{high}");
    // After 300 steps: a band of a few hundredths that does not shrink to 0.
    let tail = &path[250..];
    let width = tail.iter().map(|x| x.abs()).fold(0.0, f64::max);
    assert!(width > 0.005 && width < 0.04, "band {width}");
}
