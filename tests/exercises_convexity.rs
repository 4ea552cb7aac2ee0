//! The answers of the exercises of the chapter "Convexity, smoothness and the
//! descent lemma" (`book/src/convexity.md`), checked with the crate's problems
//! and its SGD.
//!
//! Rounding: a value or gradient that sums `k` terms is accurate to about
//! `k u` times the sum of the absolute values of its terms (`u = 2^-53`).

use descent::optim::{Optimizer, Sgd, SgdConfig};
use descent::problems::Objective;
use descent::problems::logcosh::LogCosh;
use descent::problems::quadratic::{Quadratic, SplitMix64};
use descent::problems::regression::LogisticRegression;
use descent::problems::saddle::Saddle;
use nalgebra::{DMatrix, DVector};

const U: f64 = f64::EPSILON / 2.0;

fn sgd(lr: f64) -> Sgd {
    Sgd::new(SgdConfig {
        lr,
        ..SgdConfig::default()
    })
    .expect("a valid learning rate")
}

/// `L(b) - L(a) - grad L(a)'(b - a)`, the gap of the first-order inequality, and
/// an allowance for its rounding: `k u` times the size of the terms.
fn linearization_gap(f: &impl Objective, a: &DVector<f64>, b: &DVector<f64>, k: f64) -> (f64, f64) {
    let (la, ga) = f.value_gradient(a);
    let lb = f.value(b);
    let lin = ga.dot(&(b - a));
    let size = la.abs() + lb.abs() + ga.abs().dot(&(b - a).abs());
    (lb - la - lin, k * U * size)
}

// claim: exercise-convexity-1
#[test]
fn convex_functions_lie_above_their_tangents() {
    let mut rng = SplitMix64::new(21);
    let logistic = LogisticRegression::generate(5, 40, 3).unwrap();
    for _ in 0..500 {
        let d = 1 + (rng.next_u64() % 5) as usize;
        let m = rng.uniform(0.0, 2.0);
        let c = DVector::from_fn(d, |_, _| rng.uniform(-3.0, 3.0));
        let f = LogCosh::new(m, c).unwrap();
        let a = DVector::from_fn(d, |_, _| rng.uniform(-5.0, 5.0));
        let b = DVector::from_fn(d, |_, _| rng.uniform(-5.0, 5.0));
        let (gap, tol) = linearization_gap(&f, &a, &b, 8.0 * d as f64);
        assert!(gap >= -tol, "logcosh: {gap}");
        let a = DVector::from_fn(3, |_, _| rng.uniform(-3.0, 3.0));
        let b = DVector::from_fn(3, |_, _| rng.uniform(-3.0, 3.0));
        // 40 examples of 3 features: k = 8 (40 + 3).
        let (gap, tol) = linearization_gap(&logistic, &a, &b, 8.0 * 43.0);
        assert!(gap >= -tol, "logistic: {gap}");
    }
    // The non-convex saddle violates it: from the saddle to (0, 1/2) the tangent
    // plane (the constant 0) lies above L = 1/8 - 2 log cosh(1/2) < 0.
    let f = Saddle::new(1.0, 2.0).unwrap();
    let (gap, _) = linearization_gap(
        &f,
        &DVector::zeros(2),
        &DVector::from_vec(vec![0.0, 0.5]),
        8.0,
    );
    assert!(gap < -0.1, "{gap}");
}

/// The minimizer of `LogCosh` with `m > 0`, coordinate by coordinate, by
/// bisection of `m (x - c) + tanh x` (increasing) on `[c - 1/m, c + 1/m]`.
fn logcosh_minimizer(m: f64, c: &DVector<f64>) -> DVector<f64> {
    c.map(|ci| {
        let (mut lo, mut hi) = (ci - 1.0 / m, ci + 1.0 / m);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if m * (mid - ci) + mid.tanh() > 0.0 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        0.5 * (lo + hi)
    })
}

// claim: exercise-convexity-2
#[test]
fn strong_convexity_gives_the_pl_inequality() {
    let mut rng = SplitMix64::new(22);
    let mut tightest: f64 = f64::INFINITY;
    for case in 0..500 {
        let d = 1 + (rng.next_u64() % 5) as usize;
        let theta = DVector::from_fn(d, |_, _| rng.uniform(-5.0, 5.0));
        let (mu, gap, grad2, tol) = if case % 2 == 0 {
            let m = rng.uniform(0.05, 2.0);
            let c = DVector::from_fn(d, |_, _| rng.uniform(-3.0, 3.0));
            let f = LogCosh::new(m, c.clone()).unwrap();
            let star = logcosh_minimizer(m, &c);
            let (l, g) = f.value_gradient(&theta);
            let l_star = f.value(&star);
            let size = l.abs() + l_star.abs() + d as f64;
            (m, l - l_star, g.norm_squared(), 8.0 * d as f64 * U * size)
        } else {
            // A quadratic with smallest eigenvalue mu, minimum 0 at 0.
            let lambda = DVector::from_fn(d, |_, _| rng.uniform(0.1, 10.0));
            let mu = lambda.min();
            let f = Quadratic::new(DMatrix::from_diagonal(&lambda), DVector::zeros(d)).unwrap();
            let (l, g) = f.value_gradient(&theta);
            (mu, l, g.norm_squared(), 8.0 * d as f64 * U * (l + 1.0))
        };
        // |g|^2 >= 2 mu (L - L*), up to the rounding of both sides.
        assert!(
            grad2 >= 2.0 * mu * (gap - tol) * (1.0 - 8.0 * U),
            "case {case}"
        );
        if gap > 1e-6 {
            tightest = tightest.min(grad2 / (2.0 * mu * gap));
        }
    }
    // On a quadratic, along the eigenvector of mu, the ratio is exactly 1: the
    // constant 2 mu cannot be raised.
    let f = Quadratic::new(
        DMatrix::from_diagonal(&DVector::from_vec(vec![0.5, 3.0])),
        DVector::zeros(2),
    )
    .unwrap();
    let (l, g) = f.value_gradient(&DVector::from_vec(vec![2.0, 0.0]));
    assert_eq!(g.norm_squared(), 2.0 * 0.5 * l);
    assert!(tightest >= 1.0 - 1e-9);
}

// claim: exercise-convexity-3
#[test]
fn escape_from_the_saddle_takes_26_steps() {
    let f = Saddle::new(1.0, 2.0).unwrap();
    assert_eq!(f.smoothness(), 1.0);
    let mut opt = sgd(1.0);
    let mut theta: DVector<f64> = DVector::from_vec(vec![0.0, 1e-8]);
    let mut n = 0;
    while theta[1].abs() < 0.5 {
        let g = f.gradient(&theta);
        opt.step(&mut theta, &g).unwrap();
        n += 1;
        assert!(n < 1000);
    }
    assert_eq!(n, 26);
    // The bounds of strict-saddle-escape-time: 25.6 and 29.9.
    let ratio = (0.5f64 / 1e-8).ln();
    let q_min = 1.0 + (2.0 * 0.5f64.tanh() / 0.5 - 1.0);
    assert!((ratio / 2f64.ln() - 25.575).abs() < 1e-3);
    assert!((ratio / q_min.ln() + 1.0 - 29.855).abs() < 1e-3);
}

// claim: exercise-convexity-5
#[test]
fn kappa_100_needs_1375_steps() {
    let f = Quadratic::new(
        DMatrix::from_diagonal(&DVector::from_vec(vec![1.0, 100.0])),
        DVector::zeros(2),
    )
    .unwrap();
    let mut opt = sgd(0.01);
    let mut theta = DVector::from_vec(vec![1.0, 0.0]);
    let mut n = 0;
    while theta.norm() > 1e-6 {
        let g = f.gradient(&theta);
        opt.step(&mut theta, &g).unwrap();
        n += 1;
    }
    // 0.99^1374 = 1.0064e-6 and 0.99^1375 = 0.9963e-6: a margin of 0.4% against
    // a rounding drift of at most 3u per step (2e-13 after 1375 steps).
    assert_eq!(n, 1375);
    let predicted = (1e-6f64.ln() / 0.99f64.ln()).ceil();
    assert_eq!(predicted, 1375.0);
}

// claim: exercise-convexity-4
#[test]
fn stationary_is_not_minimal_on_the_saddles_stable_line() {
    // The saddle with a = 1, s = 2, gradient descent with eta = 1/2 from (3, 0).
    let f = Saddle::new(1.0, 2.0).unwrap();
    let mut opt = Sgd::new(SgdConfig {
        lr: 0.5,
        ..SgdConfig::default()
    })
    .unwrap();
    let mut theta = DVector::from_vec(vec![3.0, 0.0]);
    for t in 1..=60 {
        let g = f.gradient(&theta);
        opt.step(&mut theta, &g).unwrap();
        // x halves exactly (a power-of-two factor) and y stays 0 exactly.
        assert_eq!(theta[0], 3.0 * 0.5f64.powi(t), "t = {t}");
        assert_eq!(theta[1], 0.0);
        // The guarantee of gd-nonconvex-stationarity holds: the gradient
        // (x, 0) tends to 0 ...
        assert_eq!(f.gradient(&theta).norm(), theta[0]);
        // ... while the loss stays at or above the saddle's 0.
        assert!(f.value(&theta) >= 0.0);
    }
    // The minimum, at (0, +-y*), is about -0.65: bounded away from the limit 0.
    let min = f.min_value();
    assert!((-0.66..=-0.64).contains(&min), "{min}");
}
