//! Exercises of the chapter "Momentum and Nesterov": each numeric answer is
//! checked on the crate's own `Sgd` (PyTorch semantics).
//!
//! The parameters are dyadic (`beta = 1/2` or `1/4`, `eta = 1/8` or `1/2`) and the
//! runs short, so every intermediate value is a dyadic rational with fewer than 53
//! significant bits: the crate's fused multiply-adds are exact and the answers are
//! compared bit for bit. The one exception (`beta = 0.9`) carries a derived bound.

use descent::optim::{Optimizer, Sgd, SgdConfig};
use nalgebra::DVector;

fn sgd(lr: f64, momentum: f64, dampening: f64, nesterov: bool) -> Sgd {
    Sgd::new(SgdConfig {
        lr,
        momentum,
        dampening,
        nesterov,
        ..SgdConfig::default()
    })
    .expect("a valid SGD configuration")
}

fn buffer(opt: &Sgd) -> DVector<f64> {
    opt.state()
        .and_then(|s| s.momentum_buffer.clone())
        .expect("a momentum buffer after the first step")
}

// claim: exercise-momentum-1
#[test]
fn heavy_ball_distance_under_constant_gradient() {
    let (lr, beta) = (0.125, 0.5);
    let g = DVector::from_vec(vec![1.0, -3.0, 0.25]);
    let theta0 = DVector::from_vec(vec![2.0, 0.5, -1.0]);
    let mut opt = sgd(lr, beta, 0.0, false);
    let mut theta = theta0.clone();
    // 40 steps: |theta - theta0| <= 40 * 3 / 4 * 2 < 2^7 with resolution 2^-42,
    // 49 significant bits, so every value below is exact.
    for t in 1..=40i32 {
        opt.step(&mut theta, &g).unwrap();
        let tf = f64::from(t);
        // -(eta g / (1 - beta)) (t - beta (1 - beta^t) / (1 - beta))
        let travelled = tf - beta * (1.0 - beta.powi(t)) / (1.0 - beta);
        for i in 0..3 {
            let expected = theta0[i] - lr * g[i] / (1.0 - beta) * travelled;
            assert_eq!(theta[i], expected, "step {t}, coordinate {i}");
        }
    }
    // The late start: theta_t - theta_0 + eta g t / (1 - beta) tends to
    // eta g beta / (1 - beta)^2, i.e. beta / (1 - beta) = 1 step of the full speed.
    let lag = (theta[0] - theta0[0] + lr * g[0] * 40.0 / (1.0 - beta)) / (lr * g[0] / (1.0 - beta));
    assert!((lag - beta / (1.0 - beta)).abs() < 1e-11, "lag {lag}");
}

/// Runs the crate's heavy ball on `L(z) = lambda z^2 / 2` from `z_0 = 1` with
/// `eta = 1/2`, `beta = 1/4`, and returns `N_t = z_t 4^t` for `t = 0..=steps`.
fn scaled_iterates(lambda: f64, steps: i32) -> Vec<i128> {
    let mut opt = sgd(0.5, 0.25, 0.0, false);
    let mut z = DVector::from_element(1, 1.0);
    let mut n = vec![1i128];
    for t in 1..=steps {
        let g = DVector::from_element(1, lambda * z[0]);
        opt.step(&mut z, &g).unwrap();
        let scaled = z[0] * 4f64.powi(t);
        assert_eq!(scaled, scaled.trunc(), "z_{t} 4^{t} is an integer");
        assert!(scaled.abs() < 2f64.powi(53), "and exactly representable");
        n.push(scaled as i128);
    }
    n
}

// claim: exercise-momentum-2
#[test]
fn heavy_ball_energy_decays_by_beta() {
    // eta lambda in {1/2, 3/4, 1} lies in ((1 - sqrt beta)^2, (1 + sqrt beta)^2)
    // = (1/4, 9/4): the complex regime. With a = 1 + beta - eta lambda = p / 4,
    // z_t = N_t / 4^t turns the recursion into N_{t+1} = p N_t - 4 N_{t-1} and the
    // energy into E_t = Q_t / 16^t, Q_t = N_t^2 - p N_t N_{t-1} + 4 N_{t-1}^2;
    // E_{t+1} = beta E_t = E_t / 4 is Q_{t+1} = 4 Q_t, checked in integers.
    for (lambda, p) in [(1.0, 3i128), (1.5, 2), (2.0, 1)] {
        let n = scaled_iterates(lambda, 40);
        // The crate's iterates follow the heavy-ball recursion exactly (from the
        // first step on, since PyTorch's b_1 = g_1 is the velocity started at rest).
        for t in 1..40 {
            assert_eq!(
                n[t + 1],
                p * n[t] - 4 * n[t - 1],
                "lambda {lambda}, step {t}"
            );
        }
        let q = |t: usize| n[t] * n[t] - p * n[t] * n[t - 1] + 4 * n[t - 1] * n[t - 1];
        assert!(q(1) > 0, "the energy is positive in the complex regime");
        for t in 1..40 {
            assert_eq!(q(t + 1), 4 * q(t), "lambda {lambda}, step {t}");
        }
        // The rate is sqrt(beta) = 1/2 for all three curvatures: 16^t E_t = Q_t
        // = 4^(t-1) Q_1, so z_t^2 = N_t^2 / 16^t <= Q_t / (sigma_min 16^t).
        let sigma_min = {
            let (a, beta) = (p as f64 / 4.0, 0.25f64);
            (1.0 + beta - ((1.0 - beta).powi(2) + a * a).sqrt()) / 2.0
        };
        for (t, &nt) in n.iter().enumerate().skip(1) {
            let z2 = (nt as f64 / 4f64.powi(t as i32)).powi(2);
            let bound = 0.25f64.powi(t as i32 - 1) * (q(1) as f64 / 16.0) / sigma_min;
            // 1e-12 relative covers the rounding of the float bound itself.
            assert!(z2 <= bound * (1.0 + 1e-12), "lambda {lambda}, step {t}");
        }
    }
}

// claim: exercise-momentum-3
#[test]
fn nesterov_step_is_the_next_heavy_ball_step() {
    let (lr, beta) = (0.125, 0.5);
    let g = DVector::from_vec(vec![1.0, -2.0]);
    let mut nesterov = sgd(lr, beta, 0.0, true);
    let mut heavy = sgd(lr, beta, 0.0, false);
    let (mut x, mut y) = (DVector::zeros(2), DVector::zeros(2));
    let mut heavy_steps = Vec::new();
    let mut nesterov_steps = Vec::new();
    for _ in 0..41 {
        let (x0, y0) = (x.clone(), y.clone());
        nesterov.step(&mut x, &g).unwrap();
        heavy.step(&mut y, &g).unwrap();
        nesterov_steps.push(&x - x0);
        heavy_steps.push(&y - y0);
    }
    for t in 1..=40i32 {
        let k = (t - 1) as usize;
        for i in 0..2 {
            let closed = -lr * g[i] * (1.0 - beta.powi(t + 1)) / (1.0 - beta);
            assert_eq!(nesterov_steps[k][i], closed, "step {t}");
            assert_eq!(nesterov_steps[k][i], heavy_steps[k + 1][i], "step {t}");
        }
    }
}

// claim: exercise-momentum-4
#[test]
fn dampening_equal_to_momentum_gives_an_unbiased_average() {
    let g = DVector::from_vec(vec![3.0, -0.7, 1e-3]);
    // beta = tau = 3/4: 3/4 b + 1/4 g is exact for b = g, so b_t = g bit for bit.
    let mut opt = sgd(0.1, 0.75, 0.75, false);
    let mut theta = DVector::zeros(3);
    for t in 1..=50 {
        opt.step(&mut theta, &g).unwrap();
        assert_eq!(buffer(&opt), g, "step {t}");
    }
    // beta = tau = 0.9: 1 - 0.9 is exact (Sterbenz), so the exact fixed point is g;
    // each step rounds once (one fused multiply-add, eps/2 relative) and the error
    // contracts by beta, so |b_t - g| <= (eps/2) |g| (1 + o(1)) / (1 - beta),
    // bounded here by eps |g| / (1 - beta).
    let beta = 0.9;
    let mut opt = sgd(0.1, beta, beta, false);
    let mut theta = DVector::zeros(3);
    for t in 1..=200 {
        opt.step(&mut theta, &g).unwrap();
        let b = buffer(&opt);
        for i in 0..3 {
            let tol = f64::EPSILON * g[i].abs() / (1.0 - beta);
            assert!((b[i] - g[i]).abs() <= tol, "step {t}: {} vs {}", b[i], g[i]);
        }
    }
    // The average started at zero is biased: (1 - beta^t) g, 0.1 g after one step.
    let zero_started = |t: i32| (1.0 - beta.powi(t)) * g[0];
    assert!((zero_started(1) - 0.1 * g[0]).abs() < 1e-15);
    assert!((zero_started(1) - g[0]).abs() > 0.8 * g[0].abs());
}

/// The first step at which `|theta_t| <= 1e-6` on `descent run`'s quadratic
/// (`Quadratic::ill_conditioned(2, 100, 2024)`, from `(1, 1)`), with the crate's SGD.
fn steps_to_one_in_a_million(lr: f64, momentum: f64) -> (usize, Vec<f64>) {
    use descent::problems::Objective;
    use descent::problems::quadratic::Quadratic;
    let q = Quadratic::ill_conditioned(2, 100.0, 2024).unwrap();
    let mut opt = sgd(lr, momentum, 0.0, false);
    let mut theta = DVector::from_vec(vec![1.0, 1.0]);
    let mut norms = vec![theta.norm()];
    for t in 1..=2000 {
        let g = q.gradient(&theta);
        opt.step(&mut theta, &g).unwrap();
        norms.push(theta.norm());
        if theta.norm() <= 1e-6 {
            return (t, norms);
        }
    }
    (usize::MAX, norms)
}

// claim: exercise-momentum-5
#[test]
fn predicted_and_measured_steps_on_the_run_quadratic() {
    // Gradient descent: |theta_t| = sqrt(2) (99/101)^t in exact arithmetic; the
    // prediction 708.1 leaves 0.17% at step 708 and 1.8% at 709, far above the
    // rounding (about 709 steps of a few eps relative each, 1e-12).
    let (t, norms) = steps_to_one_in_a_million(2.0 / 101.0, 0.0);
    let predicted = (2f64.sqrt() * 1e6).ln() / (101.0f64 / 99.0).ln();
    assert_eq!(predicted.ceil(), 709.0);
    assert_eq!(t, 709);
    for (k, &n) in norms.iter().enumerate() {
        let exact = 2f64.sqrt() * (99.0f64 / 101.0).powi(k as i32);
        assert!((n - exact).abs() <= 1e-12 * exact, "step {k}");
    }
    // Heavy ball with Polyak's parameters: the rate alone predicts 71, the run
    // needs 90. |theta_89| = 1.20e-6 and |theta_90| = 0.993e-6: margins of 20% and
    // 0.7%, far above the rounding of 90 steps.
    let (t, norms) = steps_to_one_in_a_million(4.0 / 121.0, 81.0 / 121.0);
    let rate_only = (2f64.sqrt() * 1e6).ln() / (11.0f64 / 9.0).ln();
    assert_eq!(rate_only.ceil(), 71.0);
    assert_eq!(t, 90);
    assert!(norms[89] > 1.1e-6 && norms[90] < 0.999e-6);
}
