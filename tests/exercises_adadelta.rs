//! Exercises of the chapter "AdaDelta": each answer is checked on the crate's own
//! `Adadelta`. Without weight decay AdaDelta does not read the parameter, so each
//! step is observed exactly by stepping a zero vector (`0 + u = u`).

use descent::optim::{Adadelta, AdadeltaConfig, Optimizer};
use nalgebra::DVector;

const EPS: f64 = f64::EPSILON;

fn adadelta(lr: f64, rho: f64, eps: f64) -> Adadelta {
    Adadelta::new(AdadeltaConfig {
        lr,
        rho,
        eps,
        ..AdadeltaConfig::default()
    })
    .expect("a valid AdaDelta configuration")
}

fn observe(opt: &mut Adadelta, g: f64) -> f64 {
    let mut u = DVector::zeros(1);
    opt.step(&mut u, &DVector::from_element(1, g))
        .expect("a valid step");
    u[0]
}

/// The first step in closed form, `-lr sqrt(eps) g / sqrt((1 - rho) g^2 + eps)`.
fn first_step(lr: f64, rho: f64, eps: f64, g: f64) -> f64 {
    -lr * eps.sqrt() * g / ((1.0 - rho) * g * g + eps).sqrt()
}

// claim: exercise-adadelta-1
#[test]
fn first_steps_with_the_defaults() {
    let mut steps = Vec::new();
    for g in [2.0, 2e-3] {
        let mut opt = Adadelta::new(AdadeltaConfig::default()).unwrap();
        let u = observe(&mut opt, g);
        // The crate and the closed form each round about five times: 4 eps apart at most.
        let want = first_step(1.0, 0.9, 1e-6, g);
        assert!((u - want).abs() <= 4.0 * EPS * want.abs(), "{u} vs {want}");
        steps.push(u);
    }
    // The printed values, to the five digits of the solution.
    assert!((steps[0] + 3.1623e-3).abs() < 1e-7, "{}", steps[0]);
    assert!((steps[1] + 1.6903e-3).abs() < 1e-7, "{}", steps[1]);
    assert!((steps[0] / steps[1] - 1.8708).abs() < 1e-4);
}

// claim: exercise-adadelta-2
#[test]
fn epsilon_sets_where_the_first_step_halves() {
    for (rho, eps) in [(0.9f64, 1e-6f64), (0.95, 1e-8), (0.5, 1e-2)] {
        let lr = 1.0;
        let largest = lr * (eps / (1.0 - rho)).sqrt();
        let g_half = (eps / (3.0 * (1.0 - rho))).sqrt();
        let mut opt = adadelta(lr, rho, eps);
        let u = observe(&mut opt, g_half);
        // g_half carries 3 roundings, to which the step responds with elasticity
        // 3/4; the step and `largest` carry about 5 and 3 more.
        assert!(
            (u.abs() - 0.5 * largest).abs() <= 12.0 * EPS * largest,
            "rho {rho}"
        );
        // Small gradients: SGD with rate lr, relative error <= (1 - rho) g^2 / (2 eps).
        let g = 1e-3 * g_half;
        let mut opt = adadelta(lr, rho, eps);
        let u = observe(&mut opt, g);
        let rel = (1.0 - rho) * g * g / (2.0 * eps) + 4.0 * EPS;
        assert!((u + lr * g).abs() <= rel * lr * g, "rho {rho}: {u}");
    }
    // The defaults: the half point is 1.826e-3.
    assert!(((1e-6f64 / 0.3).sqrt() - 1.826e-3).abs() < 1e-6);
}

// claim: exercise-adadelta-3
#[test]
fn constant_gradient_grows_then_settles_on_sgd() {
    // g^2 = eps: r = 1/2, the contraction a = 0.95, about 20 steps of approach;
    // after 3000 steps the start is forgotten (0.95^3000 < 1e-60) and the step is
    // -lr g. Rounding errors are contracted by a per step: each step rounds a few
    // times u, so the relative error stays below 10 u / (1 - a) = 100 eps.
    let (lr, rho, eps, g) = (0.5, 0.9, 1e-6, 1e-3);
    let mut opt = adadelta(lr, rho, eps);
    let mut u = 0.0;
    for _ in 0..3000 {
        u = observe(&mut opt, g);
    }
    assert!((u + lr * g).abs() <= 100.0 * EPS * lr * g, "{u}");
    let acc = opt.state().unwrap().acc_delta[0];
    assert!((acc - g * g).abs() <= 100.0 * EPS * g * g, "{acc}");

    // g = 1: the growth phase lasts about 1e7 steps. Once v = g^2 (after a few
    // hundred steps its drift rho^t is below 1e-14), each step adds
    // (1 - rho)(r eps - (1 - r) u) to u, with (1 - r) / r = eps / g^2: so the growth
    // per step lies between (1 - rho) r eps (1 - u / g^2) and (1 - rho) r eps.
    // Between t = 1e4 and 2e4 the slope, in units of (1 - rho) eps, is therefore
    // within [1 - u_max / g^2 - eps/g^2, 1]; rounding adds below 1e-9 (T steps of
    // 3 u relative on u <= 2e-3, against an increase of 1e-3).
    let (rho, eps, g) = (0.9, 1e-6, 1.0);
    let mut opt = adadelta(1.0, rho, eps);
    let horizon = 10_000u32;
    let mut acc = [0.0; 2];
    for slot in &mut acc {
        for _ in 0..horizon {
            observe(&mut opt, g);
        }
        *slot = opt.state().unwrap().acc_delta[0];
    }
    let slope = (acc[1] - acc[0]) / ((1.0 - rho) * eps * f64::from(horizon));
    let low = 1.0 - acc[1] / (g * g) - eps / (g * g) - 1e-9;
    assert!(
        low <= slope && slope <= 1.0 + 1e-9,
        "slope {slope}, low {low}"
    );
}

// claim: exercise-adadelta-4
#[test]
fn removing_the_lag_lags_the_denominator() {
    // States (u_{t-1}, v_{t-1}) from a run of the crate on random gradients; at
    // each step the implicit (unlagged) equation is solved as a linear equation in
    // Delta^2 and compared with the closed form (rho u + eps) g^2 / (rho v + eps).
    let mut rng = descent::problems::quadratic::SplitMix64::new(0x1a9);
    for (rho, eps) in [(0.9, 1e-6), (0.95, 1e-2), (0.5, 1e-8)] {
        let mut opt = adadelta(1.0, rho, eps);
        let (mut u, mut v) = (0.0, 0.0);
        for t in 1..=300 {
            let g = rng.normal() * 10f64.powf(rng.uniform(-3.0, 3.0));
            let v_t = rho * v + (1.0 - rho) * g * g;
            let k = g * g / (v_t + eps);
            let solved = (rho * u + eps) * k / (1.0 - (1.0 - rho) * k);
            let closed = (rho * u + eps) * g * g / (rho * v + eps);
            // The subtraction 1 - (1 - rho) k loses at most u (1 - rho) k / (1 -
            // (1 - rho) k) relative; every other operation one rounding: 8 u
            // relative for the rest (u = eps / 2).
            let c = (1.0 - rho) * k / (1.0 - (1.0 - rho) * k);
            let tol = (4.0 + 2.0 * c) * EPS * closed;
            assert!((solved - closed).abs() <= tol, "rho {rho}, step {t}");
            // The solution satisfies the unlagged equation itself.
            let rhs = (rho * u + (1.0 - rho) * solved + eps) * k;
            assert!(
                (rhs - solved).abs() <= tol + 4.0 * EPS * rhs,
                "rho {rho}, step {t}"
            );
            if t == 1 {
                // The unlagged first step is the plain gradient: Delta_1^2 = g^2.
                assert!((closed - g * g).abs() <= 2.0 * EPS * g * g);
            }
            let step = observe(&mut opt, g);
            if t == 1 {
                // The crate's (lagged) first step is set by eps instead.
                let lagged = first_step(1.0, rho, eps, g);
                assert!((step - lagged).abs() <= 4.0 * EPS * lagged.abs());
            }
            let state = opt.state().unwrap();
            (u, v) = (state.acc_delta[0], state.square_avg[0]);
        }
    }
}
