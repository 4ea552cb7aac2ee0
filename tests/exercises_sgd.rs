//! The numeric answers of the exercises of the chapter "Gradient descent"
//! (`book/src/sgd.md`), checked with the crate's own optimizers.
//!
//! Rounding model: one step of `Sgd` is one fused multiply-add per coordinate,
//! so it rounds once, with relative error at most `u = 2^-53` of its result.

use descent::optim::{Optimizer, Rprop, RpropConfig, Sgd, SgdConfig};
use descent::problems::Objective;
use descent::problems::quadratic::{Quadratic, SplitMix64};
use nalgebra::{DMatrix, DVector};

const U: f64 = f64::EPSILON / 2.0;

fn sgd(lr: f64) -> Sgd {
    Sgd::new(SgdConfig {
        lr,
        ..SgdConfig::default()
    })
    .expect("a valid learning rate")
}

/// A random symmetric positive definite matrix `G'G + 0.1 I` of size `n`.
fn spd(n: usize, rng: &mut SplitMix64) -> DMatrix<f64> {
    let g = DMatrix::from_fn(n, n, |_, _| rng.normal());
    let a = g.transpose() * g + DMatrix::identity(n, n) * 0.1;
    DMatrix::from_fn(n, n, |i, j| 0.5 * (a[(i, j)] + a[(j, i)]))
}

// claim: exercise-sgd-1
#[test]
fn max_norm_steepest_direction_is_minus_sign() {
    let mut rng = SplitMix64::new(11);
    for _ in 0..200 {
        let n = 1 + (rng.next_u64() % 6) as usize;
        let g = DVector::from_fn(n, |_, _| rng.uniform(-3.0, 3.0));
        let l1: f64 = g.iter().map(|x| x.abs()).sum();
        // Rprop's first step with rate eta is theta - eta sign(g).
        let eta = 0.25;
        let mut rprop = Rprop::new(RpropConfig {
            lr: eta,
            ..RpropConfig::default()
        })
        .unwrap();
        let mut theta = DVector::zeros(n);
        rprop.step(&mut theta, &g).unwrap();
        // theta = -eta sign(g) exactly (0.25 is a power of two), so p = theta/eta.
        let p = &theta / eta;
        assert!(p.iter().all(|x| x.abs() == 1.0), "{p}");
        // g'p = -|g|_1: both sides sum the same n magnitudes, in the same order.
        assert_eq!(g.dot(&p), -l1);
        // No direction in the unit box does better, up to the rounding of two
        // dot products of length n: 2 n u |g|_1.
        for _ in 0..50 {
            let q = DVector::from_fn(n, |_, _| rng.uniform(-1.0, 1.0));
            assert!(g.dot(&q) >= -l1 - 2.0 * n as f64 * U * l1);
        }
    }
}

// claim: exercise-sgd-2
#[test]
fn flipping_but_converging_iterates() {
    // L = 2 theta^2 as a 1x1 quadratic with A = 4.
    let q = Quadratic::new(DMatrix::from_element(1, 1, 4.0), DVector::zeros(1)).unwrap();
    let mut opt = sgd(0.3);
    let mut theta = DVector::from_element(1, 1.0);
    let expected: [f64; 3] = [-0.2, 0.04, -0.008];
    let mut exact = 1.0f64;
    for (t, &want) in expected.iter().enumerate() {
        let g = q.gradient(&theta);
        opt.step(&mut theta, &g).unwrap();
        exact *= -0.2;
        // Each step rounds 0.3 (0.3 is not a binary fraction), the gradient and
        // the update: at most 4 u relative per step, accumulated over t + 1 steps.
        let tol = 4.0 * (t + 1) as f64 * U * want.abs();
        assert!(
            (theta[0] - want).abs() <= tol,
            "step {}: {}",
            t + 1,
            theta[0]
        );
        assert!((exact - want).abs() <= tol);
    }
    // Convergence for 0 < eta < 1/2, no sign flips for eta <= 1/4.
    for (eta, converges, keeps_sign) in [
        (0.1, true, true),
        (0.25, true, true),
        (0.3, true, false),
        (0.49, true, false),
        (0.5, false, false),
        (0.6, false, false),
    ] {
        let mut opt = sgd(eta);
        let mut theta = DVector::from_element(1, 1.0);
        let mut flipped = false;
        for _ in 0..200 {
            let before = theta[0];
            let g = q.gradient(&theta);
            opt.step(&mut theta, &g).unwrap();
            flipped |= before * theta[0] < 0.0;
        }
        // 200 steps at the slowest converging rate shown, |1 - 4 * 0.49| = 0.96,
        // give 0.96^200 < 3e-4; at the threshold |theta| stays 1.
        assert_eq!(theta[0].abs() < 1e-3, converges, "eta = {eta}");
        assert_eq!(!flipped, keeps_sign, "eta = {eta}");
    }
}

// claim: exercise-sgd-3
#[test]
fn best_constant_step_counts_173_steps() {
    let q = Quadratic::new(
        DMatrix::from_diagonal(&DVector::from_vec(vec![1.0, 25.0])),
        DVector::zeros(2),
    )
    .unwrap();
    let eta = 2.0 / (1.0 + 25.0);
    let mut rng = SplitMix64::new(3);
    for _ in 0..20 {
        let theta0 = DVector::from_fn(2, |_, _| rng.uniform(-2.0, 2.0));
        let mut theta = theta0.clone();
        let mut opt = sgd(eta);
        for t in 1..=200 {
            let g = q.gradient(&theta);
            opt.step(&mut theta, &g).unwrap();
            let predicted = (12.0f64 / 13.0).powi(t) * theta0.norm();
            // Per step the factor 1 - 25 eta is perturbed by the rounding of eta
            // and of the gradient (25 eta u each) and the update rounds once (u):
            // (50/13 + 1) u relative to 1, so (63/13)(13/12) u = 5.25 u relative
            // to the factor 12/13. Over t steps, plus 2u for the norm: 6u per step.
            let tol = (6.0 * t as f64 + 2.0) * U * predicted;
            assert!((theta.norm() - predicted).abs() <= tol, "t = {t}");
        }
    }
    let first = (1..).find(|&t| (12.0f64 / 13.0).powi(t) <= 1e-6).unwrap();
    assert_eq!(first, 173);
    assert!((6.0 * 10f64.ln() / (13.0f64 / 12.0).ln() - 172.6).abs() < 0.05);
}

// claim: exercise-sgd-4
#[test]
fn exact_line_search_step_lies_between_inverse_eigenvalues() {
    let mut rng = SplitMix64::new(4);
    for _ in 0..200 {
        let n = 2 + (rng.next_u64() % 5) as usize;
        let a = spd(n, &mut rng);
        let q = Quadratic::new(a.clone(), DVector::zeros(n)).unwrap();
        let theta = DVector::from_fn(n, |_, _| rng.uniform(-1.0, 1.0));
        let g = q.gradient(&theta);
        let eta_star = g.dot(&g) / g.dot(&(&a * &g));
        let eig = a.clone().symmetric_eigenvalues();
        let (lo, hi) = (eig.min(), eig.max());
        // The Rayleigh quotient and the eigenvalues are each accurate to a few
        // n u relative (Weyl's inequality for the eigenvalues); 8 n u covers both.
        let slack = 8.0 * n as f64 * U;
        assert!(
            eta_star >= (1.0 / hi) * (1.0 - slack),
            "{eta_star} < 1/{hi}"
        );
        assert!(
            eta_star <= (1.0 / lo) * (1.0 + slack),
            "{eta_star} > 1/{lo}"
        );
        // The crate's step with eta_star is no worse than with nearby steps.
        let loss_after = |eta: f64| {
            let mut x = theta.clone();
            sgd(eta).step(&mut x, &g).unwrap();
            q.value(&x)
        };
        let best = loss_after(eta_star);
        let scale = q.value(&theta).abs() + eta_star * g.dot(&g);
        for factor in [0.5, 0.9, 0.99, 1.01, 1.1, 2.0] {
            // Both losses are within a few n u of scale of their exact values.
            assert!(best <= loss_after(factor * eta_star) + 16.0 * n as f64 * U * scale);
        }
    }
}

// claim: exercise-sgd-5
#[test]
fn a_start_on_the_soft_axis_hides_divergence() {
    let q = Quadratic::new(
        DMatrix::from_diagonal(&DVector::from_vec(vec![1.0, 4.0])),
        DVector::zeros(2),
    )
    .unwrap();
    let eta = 0.6;
    // From (1, 0): the stiff coordinate has gradient 4 * 0 = 0 and stays at 0
    // exactly; the soft one shrinks by 1 - 0.6 = 0.4 per step. Each step rounds
    // the factor (0.6 is not exact: 0.6u/0.4 = 1.5u relative) and the update
    // (u): 2.5u per step, 3u allowed.
    let mut opt = sgd(eta);
    let mut theta = DVector::from_vec(vec![1.0, 0.0]);
    for t in 1..=100 {
        let g = q.gradient(&theta);
        opt.step(&mut theta, &g).unwrap();
        assert_eq!(theta[1], 0.0, "t = {t}");
        let want = 0.4f64.powi(t);
        assert!(
            (theta[0] - want).abs() <= 3.0 * t as f64 * U * want,
            "t = {t}"
        );
    }
    // Any stiff component, however small, grows like 1.4^t: from 1e-12 it
    // passes 1 within 83 steps (1.4^82 < 1e12 < 1.4^83).
    let mut opt = sgd(eta);
    let mut theta = DVector::from_vec(vec![1.0, 1e-12]);
    let mut crossed = None;
    for t in 1..=100 {
        let g = q.gradient(&theta);
        opt.step(&mut theta, &g).unwrap();
        let want = 1e-12 * 1.4f64.powi(t);
        // Factor -1.4 = 1 - 2.4: 0.6 and 4 * 0.6 round (2.4u/1.4 relative each)
        // and the update rounds once: under 5u per step.
        assert!(
            (theta[1].abs() - want).abs() <= 5.0 * t as f64 * U * want,
            "t = {t}"
        );
        if crossed.is_none() && theta[1].abs() > 1.0 {
            crossed = Some(t);
        }
    }
    assert_eq!(crossed, Some(83));
}
