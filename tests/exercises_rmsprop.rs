//! Exercises of the chapter "RMSprop": each answer is checked on the crate's own
//! `RmsProp`. Without weight decay RMSprop does not read the parameter, so each
//! step is observed exactly by stepping a zero vector (`0 + u = u`).

use descent::optim::{Optimizer, RmsProp, RmsPropConfig};
use nalgebra::DVector;

const EPS: f64 = f64::EPSILON;

fn rmsprop(lr: f64, alpha: f64, eps: f64, centered: bool) -> RmsProp {
    RmsProp::new(RmsPropConfig {
        lr,
        alpha,
        eps,
        centered,
        ..RmsPropConfig::default()
    })
    .expect("a valid RMSprop configuration")
}

fn observe(opt: &mut RmsProp, g: f64) -> f64 {
    let mut u = DVector::zeros(1);
    opt.step(&mut u, &DVector::from_element(1, g))
        .expect("a valid step");
    u[0]
}

/// Relative rounding allowance for a moving average with decay `rho` after any
/// number of steps: each update rounds the product `avg * rho`, the product
/// `(1 - rho) g` and the fused sum, at most 3 u relative of the new average
/// (u = eps / 2), and an error is multiplied by `rho` per step, so the relative
/// error stays below 3 u / (1 - rho) = 1.5 eps / (1 - rho).
fn ema_allowance(rho: f64) -> f64 {
    1.5 * EPS / (1.0 - rho)
}

// claim: exercise-rmsprop-1
#[test]
fn constant_gradient_steps_follow_the_missing_bias_correction() {
    let (lr, rho, g) = (0.01, 0.99, 0.37);
    let mut opt = rmsprop(lr, rho, 0.0, false);
    let mut within = None;
    for t in 1..=1000i32 {
        let u = observe(&mut opt, g);
        let want = -lr / (1.0 - rho.powi(t)).sqrt();
        // v carries the ema allowance, halved by the root; the root and the
        // quotient add 2 u each side; the reference 1 - rho^t carries at most
        // u rho^t / (1 - rho^t) <= u / (1 - rho) relative, halved by its root.
        let tol = (0.75 / (1.0 - rho) + 0.25 / (1.0 - rho) + 2.0) * EPS;
        assert!(
            (u - want).abs() <= tol * want.abs(),
            "step {t}: {u} vs {want}"
        );
        if within.is_none() && u.abs() <= 1.01 * lr {
            within = Some(t);
        }
    }
    // The first step is eta / sqrt(1 - rho) = 10 eta.
    let mut fresh = rmsprop(lr, rho, 0.0, false);
    let first = observe(&mut fresh, g);
    assert!((first / lr + 10.0).abs() < 1e-12, "{first}");
    // 1 / sqrt(1 - rho^t) <= 1.01 from t = 391 on: the margin at t = 390 and 391 is
    // about 1e-4 relative, far above the allowance above.
    assert_eq!(within, Some(391));
}

// claim: exercise-rmsprop-2
#[test]
fn alternating_gradients_settle_on_the_two_cycle() {
    for (rho, p, q) in [(0.9, 0.3, -0.1), (0.99, 2.0, 0.5), (0.5, -1.0, 3.0)] {
        let mut opt = rmsprop(0.01, rho, 0.0, false);
        let after = |opt: &RmsProp| opt.state().unwrap().square_avg[0];
        // 4000 steps: the start is forgotten by rho^4000 < 1e-17 relative.
        for _ in 0..2000 {
            observe(&mut opt, p);
            observe(&mut opt, q);
        }
        observe(&mut opt, p);
        let x = after(&opt);
        observe(&mut opt, q);
        let y = after(&opt);
        let want_x = (p * p + rho * q * q) / (1.0 + rho);
        let want_y = (q * q + rho * p * p) / (1.0 + rho);
        // The allowance of the average plus 4 roundings of the reference.
        let tol = ema_allowance(rho) + 2.0 * EPS;
        assert!(
            (x - want_x).abs() <= tol * want_x,
            "rho {rho}: {x} vs {want_x}"
        );
        assert!(
            (y - want_y).abs() <= tol * want_y,
            "rho {rho}: {y} vs {want_y}"
        );
    }
    // Pure noise, +-sigma: v tends to sigma^2 and the steps to -+eta, whatever sigma.
    for sigma in [1e-6, 1.0, 1e6] {
        let (lr, rho) = (0.01, 0.9);
        let mut opt = rmsprop(lr, rho, 0.0, false);
        let mut last = (0.0, 0.0);
        for _ in 0..2000 {
            last = (observe(&mut opt, sigma), observe(&mut opt, -sigma));
        }
        let tol = (0.5 * ema_allowance(rho) + 2.0 * EPS) * lr;
        assert!((last.0 + lr).abs() <= tol, "sigma {sigma}: {}", last.0);
        assert!((last.1 - lr).abs() <= tol, "sigma {sigma}: {}", last.1);
    }
}

// claim: exercise-rmsprop-3
#[test]
fn centered_rmsprop_accelerates_on_a_steady_gradient() {
    // rho = 1/2 and g = 1: v_t = gbar_t = 1 - 2^-t exactly, and the fused
    // v - gbar^2 is the exact 2^-t (1 - 2^-t) (fewer than 53 bits for t <= 50).
    let lr = 1e-3;
    let mut opt = rmsprop(lr, 0.5, 0.0, true);
    for t in 1..=40i32 {
        let u = observe(&mut opt, 1.0);
        let h = 2f64.powi(-t);
        let variance = h * (1.0 - h);
        assert_eq!(u, -lr / variance.sqrt(), "step {t}");
        if t == 30 {
            // 2^-30 (1 - 2^-30) under the root: 2^15 (1 + 2^-31 + ...) times eta.
            assert!((u / lr + 32768.0).abs() < 1e-4, "{u}");
        }
    }
    // With PyTorch's eps = 1e-8 the growth stops near eta |g| / eps.
    let mut capped = rmsprop(lr, 0.5, 1e-8, true);
    let mut u = 0.0;
    for _ in 0..200 {
        u = observe(&mut capped, 1.0);
    }
    assert!((u / (lr / 1e-8) + 1.0).abs() < 1e-6, "{u}");
}

// claim: exercise-rmsprop-4
#[test]
fn replay_example_of_the_chapter() {
    let mut opt = rmsprop(0.01, 0.99, 1e-8, false);
    let mut theta = DVector::from_vec(vec![0.0, 1.0]);
    let grads = [[1.0, -0.5], [1.0, 2.0], [-3.0, 0.0]];
    // The numbers printed in the chapter, as `descent replay` prints them (the
    // shortest decimal that reads back to the same double).
    let printed = [
        [-0.09999999000000095, 1.099999980000004],
        [-0.17088810547570926, 1.002957188496649],
        [-0.08031151925128825, 1.002957188496649],
    ];
    for (g, want) in grads.iter().zip(printed) {
        opt.step(&mut theta, &DVector::from_row_slice(g)).unwrap();
        assert_eq!(theta.as_slice(), &want[..]);
    }
    // The first step by hand, -eta g / (sqrt(1 - rho) |g| + eps) with the exact
    // 1 - rho = 0.01. The crate's 1 - 0.99 is the double 0.01 + 8.9e-18, 4 eps
    // relative above 0.01, which the root halves to 2 eps; the products, root,
    // quotient and theta_0 + step round once each (half an eps relative of their
    // results, |theta_1| <= 1.1) and the subtraction below is exact (Sterbenz) or
    // rounds once more: 6 eps |theta_1| covers them.
    for (theta0, g, theta1) in [(0.0, 1.0, printed[0][0]), (1.0, -0.5, printed[0][1])] {
        let by_hand: f64 = -0.01 * g / (0.1 * f64::abs(g) + 1e-8);
        assert!(((theta1 - theta0) - by_hand).abs() <= 6.0 * EPS * f64::abs(theta1));
        // and to first order in eps, -0.1 sign(g) (1 - 1e-7 / |g|), whose error
        // is the second-order term (1e-7 / |g|)^2 relative.
        let first_order = -0.1 * f64::signum(g) * (1.0 - 1e-7 / f64::abs(g));
        let second = (1e-7 / f64::abs(g)).powi(2);
        assert!((by_hand - first_order).abs() <= 2.0 * second * first_order.abs());
    }
}
