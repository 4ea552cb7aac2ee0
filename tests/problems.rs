//! The problems of `src/problems`: every hand-derived gradient and Hessian stated
//! in a doc comment is checked here against num-dual; constructors refuse bad
//! input with typed errors; the online and minibatch generators do what their
//! docs say.
//!
//! Tolerances: each formula is evaluated twice, by hand and by dual numbers, in
//! different operation orders. For a formula evaluated in `k` floating-point
//! operations, each result differs from the exact value by at most about
//! `k * eps * M`, where `M` is the same formula evaluated with every term
//! replaced by its absolute value (the standard running error bound, Higham,
//! Accuracy and Stability of Numerical Algorithms, ch. 3). The two evaluations
//! therefore differ by at most `2 k eps M`; each test states its `k` and `M`.

use descent::problems::Objective;
use descent::problems::logcosh::{HESSIAN_LIPSCHITZ, LogCosh, log_cosh};
use descent::problems::minibatch_sign::{BATCHES, MinibatchSign};
use descent::problems::noisy::{Median, NoisyQuadratic};
use descent::problems::online::ReddiOnline;
use descent::problems::quadratic::{ProblemError, Quadratic, SplitMix64};
use descent::problems::rosenbrock::Rosenbrock;
use descent::problems::saddle::Saddle;
use nalgebra::{DMatrix, DVector};
use num_dual::DualNum;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

const EPS: f64 = f64::EPSILON;

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        rng_seed: RngSeed::Fixed(0x5eed_0001),
        ..ProptestConfig::default()
    }
}

/// A random symmetric matrix of side `n` with entries in [-2, 2], from a seed.
fn symmetric(n: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = SplitMix64::new(seed);
    let mut a = DMatrix::zeros(n, n);
    for j in 0..n {
        for i in j..n {
            let v = rng.uniform(-2.0, 2.0);
            a[(i, j)] = v;
            a[(j, i)] = v;
        }
    }
    a
}

fn vector(n: usize, seed: u64, scale: f64) -> DVector<f64> {
    let mut rng = SplitMix64::new(seed);
    DVector::from_fn(n, |_, _| rng.uniform(-scale, scale))
}

// ---- SplitMix64 -------------------------------------------------------------

#[test]
fn splitmix64_matches_reference_output() {
    // The reference C implementation (Vigna's splitmix64.c) started from state 0
    // returns 0xE220A8397B1DCDAF, then 0x6E789E6AA1B965F4.
    let mut rng = SplitMix64::new(0);
    assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
    assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
}

#[test]
fn splitmix64_uniform_in_unit_interval() {
    let mut rng = SplitMix64::new(7);
    for _ in 0..10_000 {
        let u = rng.next_f64();
        assert!((0.0..1.0).contains(&u));
        assert!(rng.normal().is_finite());
    }
}

// ---- Quadratic ----------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// Doc formula: grad = Ax - b, Hess = A.
    #[test]
    fn quadratic_gradient_and_hessian_match_num_dual(n in 1usize..8, seed in any::<u64>()) {
        let a = symmetric(n, seed);
        let b = vector(n, seed ^ 1, 3.0);
        let x = vector(n, seed ^ 2, 5.0);
        let q = Quadratic::new(a.clone(), b.clone()).unwrap();
        let (f, g, h) = q.value_gradient_hessian(&x);
        // The Hessian is exact: entry (k, l) is the sum of A_kl/2 and A_lk/2
        // (halving is exact) and zeros.
        prop_assert_eq!(&h, &a);
        let hand = &a * &x - &b;
        for k in 0..n {
            // k = n + 2 operations per entry (n products and sums, a halving,
            // the subtraction of b); M = sum_j |A_kj x_j| + |b_k|.
            let m: f64 = (0..n).map(|j| (a[(k, j)] * x[j]).abs()).sum::<f64>() + b[k].abs();
            let tol = 2.0 * (n as f64 + 2.0) * EPS * m;
            prop_assert!((g[k] - hand[k]).abs() <= tol, "k={} g={} hand={}", k, g[k], hand[k]);
        }
        let value = 0.5 * x.dot(&(&a * &x)) - b.dot(&x);
        // k = 2n + 3 operations; M = |x|'|A||x|/2 + |b|'|x|.
        let m = 0.5 * x.abs().dot(&(a.abs() * x.abs())) + b.abs().dot(&x.abs());
        prop_assert!((f - value).abs() <= 2.0 * (2.0 * n as f64 + 3.0) * EPS * m);
    }

    /// The generated matrix is exactly symmetric, positive definite, with the
    /// requested extreme eigenvalues.
    #[test]
    fn ill_conditioned_has_requested_spectrum(
        n in 2usize..8, log_cond in 0.0f64..8.0, seed in any::<u64>()
    ) {
        let cond = 10f64.powf(log_cond);
        let q = Quadratic::ill_conditioned(n, cond, seed).unwrap();
        let a = q.a();
        prop_assert_eq!(a, &a.transpose());
        let eig = a.clone().symmetric_eigenvalues();
        let (lo, hi) = (eig.min(), eig.max());
        // Rounding in Q diag(lambda) Q' (3n operations per entry, entries of Q at
        // most 1) and in the eigenvalue solver (backward stable) perturbs the
        // matrix by at most about c n eps |A| with |A| = cond; by Weyl's
        // inequality each eigenvalue moves by as much. c = 16 covers both.
        let tol = 16.0 * n as f64 * EPS * cond;
        prop_assert!((lo - 1.0).abs() <= tol, "lo = {}", lo);
        prop_assert!((hi - cond).abs() <= tol, "hi = {}", hi);
    }
}

#[test]
fn ill_conditioned_is_deterministic() {
    let a = Quadratic::ill_conditioned(4, 1e3, 9).unwrap();
    let b = Quadratic::ill_conditioned(4, 1e3, 9).unwrap();
    let c = Quadratic::ill_conditioned(4, 1e3, 10).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.b(), &DVector::zeros(4));
}

#[test]
fn quadratic_refuses_bad_input() {
    let two = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 5.0]);
    assert!(matches!(
        Quadratic::new(DMatrix::zeros(2, 3), DVector::zeros(2)),
        Err(ProblemError::NotSquare {
            rows: 2,
            cols: 3,
            ..
        })
    ));
    assert!(matches!(
        Quadratic::new(
            DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.5, 5.0]),
            DVector::zeros(2)
        ),
        Err(ProblemError::NotSymmetric { row: 1, col: 0, .. })
    ));
    assert!(matches!(
        Quadratic::new(two.clone(), DVector::zeros(3)),
        Err(ProblemError::LengthMismatch {
            param: "b",
            expected: 2,
            found: 3,
            ..
        })
    ));
    assert!(matches!(
        Quadratic::new(two.clone(), DVector::from_vec(vec![0.0, f64::NAN])),
        Err(ProblemError::NonFinite {
            param: "b",
            index: 1,
            ..
        })
    ));
    assert!(matches!(
        Quadratic::new(DMatrix::zeros(0, 0), DVector::zeros(0)),
        Err(ProblemError::Invalid { param: "a", .. })
    ));
    for (n, cond, param) in [
        (0, 1.0, "n"),
        (3, 0.5, "cond"),
        (3, f64::INFINITY, "cond"),
        (1, 2.0, "cond"),
    ] {
        match Quadratic::ill_conditioned(n, cond, 0) {
            Err(ProblemError::Invalid { param: p, .. }) => assert_eq!(p, param),
            other => panic!("expected an error naming {param}, got {other:?}"),
        }
    }
    // A wrong-length point gives NaN, not a panic.
    let q = Quadratic::new(two, DVector::zeros(2)).unwrap();
    assert!(q.value(&DVector::zeros(3)).is_nan());
}

// ---- Rosenbrock ---------------------------------------------------------------

/// The doc comment's gradient, and `M` for it (the same with absolute values).
fn rosenbrock_gradient(a: f64, b: f64, x: &DVector<f64>) -> (DVector<f64>, DVector<f64>) {
    let n = x.len();
    let mut g = DVector::zeros(n);
    let mut m = DVector::zeros(n);
    for i in 0..n {
        if i + 1 < n {
            let r = x[i + 1] - x[i] * x[i];
            g[i] += -2.0 * (a - x[i]) - 4.0 * b * x[i] * r;
            m[i] += 2.0 * (a.abs() + x[i].abs())
                + 4.0 * b * x[i].abs() * (x[i + 1].abs() + x[i] * x[i]);
        }
        if i >= 1 {
            g[i] += 2.0 * b * (x[i] - x[i - 1] * x[i - 1]);
            m[i] += 2.0 * b * (x[i].abs() + x[i - 1] * x[i - 1]);
        }
    }
    (g, m)
}

/// The doc comment's Hessian, and `M` for it.
fn rosenbrock_hessian(b: f64, x: &DVector<f64>) -> (DMatrix<f64>, DMatrix<f64>) {
    let n = x.len();
    let mut h = DMatrix::zeros(n, n);
    let mut m = DMatrix::zeros(n, n);
    for i in 0..n {
        if i + 1 < n {
            h[(i, i)] += 2.0 - 4.0 * b * x[i + 1] + 12.0 * b * x[i] * x[i];
            m[(i, i)] += 2.0 + 4.0 * b * x[i + 1].abs() + 12.0 * b * x[i] * x[i];
            h[(i, i + 1)] = -4.0 * b * x[i];
            h[(i + 1, i)] = -4.0 * b * x[i];
            m[(i, i + 1)] = 4.0 * b * x[i].abs();
            m[(i + 1, i)] = 4.0 * b * x[i].abs();
        }
        if i >= 1 {
            h[(i, i)] += 2.0 * b;
            m[(i, i)] += 2.0 * b;
        }
    }
    (h, m)
}

proptest! {
    #![proptest_config(config())]

    /// Doc formulas: Rosenbrock's gradient and tridiagonal Hessian.
    #[test]
    fn rosenbrock_derivatives_match_num_dual(
        n in 2usize..7, a in -2.0f64..2.0, b in 0.0f64..200.0, seed in any::<u64>()
    ) {
        let r = Rosenbrock::new(a, b, n).unwrap();
        let x = vector(n, seed, 3.0);
        let (_, g, h) = r.value_gradient_hessian(&x);
        let (hand_g, m_g) = rosenbrock_gradient(a, b, &x);
        let (hand_h, m_h) = rosenbrock_hessian(b, &x);
        // k = 16 operations bound each entry's evaluation (two chained terms of
        // at most 8 operations each), in both evaluations.
        for i in 0..n {
            prop_assert!((g[i] - hand_g[i]).abs() <= 2.0 * 16.0 * EPS * m_g[i],
                "grad[{}]: {} vs {}", i, g[i], hand_g[i]);
            for j in 0..n {
                prop_assert!((h[(i, j)] - hand_h[(i, j)]).abs() <= 2.0 * 16.0 * EPS * m_h[(i, j)],
                    "hess[{},{}]: {} vs {}", i, j, h[(i, j)], hand_h[(i, j)]);
            }
        }
    }
}

#[test]
fn rosenbrock_minimum_and_indefinite_point() {
    let r = Rosenbrock::default();
    let (f, g, _) = r.value_gradient_hessian(&DVector::from_vec(vec![1.0, 1.0]));
    // (1 - 1)^2 + 100 (1 - 1)^2 with every operation exact.
    assert_eq!(f, 0.0);
    assert_eq!(g, DVector::zeros(2));
    // At (0, 1): H = [[2 - 400, 0], [0, 200]], indefinite (doc comment).
    let h = r.hessian(&DVector::from_vec(vec![0.0, 1.0]));
    assert_eq!(h, DMatrix::from_row_slice(2, 2, &[-398.0, 0.0, 0.0, 200.0]));
    // Chained form: minimum at the ones vector for a = 1.
    let r5 = Rosenbrock::new(1.0, 100.0, 5).unwrap();
    assert_eq!(
        r5.gradient(&DVector::from_element(5, 1.0)),
        DVector::zeros(5)
    );
    // n = 2, a = 2: minimum at (a, a^2).
    let r2 = Rosenbrock::new(2.0, 100.0, 2).unwrap();
    assert_eq!(
        r2.gradient(&DVector::from_vec(vec![2.0, 4.0])),
        DVector::zeros(2)
    );
}

#[test]
fn rosenbrock_refuses_bad_input() {
    for (a, b, n, param) in [
        (1.0, 100.0, 1, "n"),
        (1.0, -1.0, 2, "b"),
        (f64::NAN, 1.0, 2, "a"),
    ] {
        match Rosenbrock::new(a, b, n) {
            Err(ProblemError::Invalid { param: p, .. }) => assert_eq!(p, param),
            other => panic!("expected an error naming {param}, got {other:?}"),
        }
    }
    assert!(Rosenbrock::default().value(&DVector::zeros(3)).is_nan());
}

// ---- LogCosh ------------------------------------------------------------------

fn naive_log_cosh<D: DualNum<Primitive = f64>>(t: D) -> D {
    t.cosh().ln()
}

proptest! {
    #![proptest_config(config())]

    /// The safe form agrees with the naive ln(cosh t), value and first two
    /// derivatives (both through num-dual), where the naive form is safe:
    /// |t| <= 300 keeps cosh^2 t below the overflow threshold (e^600 < 1.8e308).
    #[test]
    fn log_cosh_safe_matches_naive(t in -300.0f64..300.0) {
        let (v, d1, d2) = num_dual::second_derivative(log_cosh, t);
        let (nv, nd1, nd2) = num_dual::second_derivative(naive_log_cosh, t);
        // Value: the safe form adds |t|, a term at most 1 and ln 2 (k = 5
        // operations, M = |t| + 2); the naive one rounds cosh t (relative eps,
        // which ln turns into an absolute eps) and ln (relative eps): M = |t| + 2.
        prop_assert!((v - nv).abs() <= 2.0 * 5.0 * EPS * (t.abs() + 2.0));
        // Derivatives: tanh t and sech^2 t lie in [-1, 1]; each is formed from
        // ratios of exponentials in at most 8 operations with M = 2 (the naive
        // second derivative is (cosh^2 - sinh^2)/cosh^2, whose cancellation is
        // bounded by 2 eps times cosh^2/cosh^2 = 1, covered by M = 2).
        prop_assert!((d1 - nd1).abs() <= 2.0 * 8.0 * EPS * 2.0, "{} vs {}", d1, nd1);
        prop_assert!((d2 - nd2).abs() <= 2.0 * 8.0 * EPS * 2.0, "{} vs {}", d2, nd2);
    }

    /// Doc formulas: grad = m(x - c) + tanh x, Hess = m I + diag(sech^2 x).
    #[test]
    fn logcosh_derivatives_match_num_dual(n in 1usize..7, m in 0.0f64..10.0, seed in any::<u64>()) {
        let c = vector(n, seed, 3.0);
        let x = vector(n, seed ^ 3, 6.0);
        let f = LogCosh::new(m, c.clone()).unwrap();
        let (_, g, h) = f.value_gradient_hessian(&x);
        for i in 0..n {
            let t = x[i].tanh();
            let hand_g = m * (x[i] - c[i]) + t;
            // k = 8, M = m (|x_i| + |c_i|) + 1 (tanh has relative error a few eps).
            let mg = m * (x[i].abs() + c[i].abs()) + 1.0;
            prop_assert!((g[i] - hand_g).abs() <= 2.0 * 8.0 * EPS * mg);
            for j in 0..n {
                let hand_h = if i == j { m + (1.0 - t * t) } else { 0.0 };
                // k = 8, M = m + 2 (1 - tanh^2 cancels: absolute error 2 eps).
                prop_assert!((h[(i, j)] - hand_h).abs() <= 2.0 * 8.0 * EPS * (m + 2.0),
                    "hess[{},{}]: {} vs {}", i, j, h[(i, j)], hand_h);
            }
        }
    }
}

#[test]
fn log_cosh_large_arguments_do_not_overflow() {
    for t in [1e3f64, -1e3, 1e300] {
        let (v, d1, d2) = num_dual::second_derivative(log_cosh, t);
        // For |t| >= 1000, e^{-2|t|} underflows to 0: the value is |t| - ln 2 with
        // one rounding, the slope is sign(t) and the curvature 0, exactly.
        assert_eq!(v, t.abs() - std::f64::consts::LN_2);
        assert_eq!(d1, t.signum());
        assert_eq!(d2, 0.0);
    }
    assert!(naive_log_cosh(1e3f64).is_infinite());
}

#[test]
fn hessian_lipschitz_constant() {
    // The constant is 4/(3 sqrt 3) to the last bit.
    assert_eq!(HESSIAN_LIPSCHITZ, 4.0 / (3.0 * 3f64.sqrt()));
    // The third derivative of log cosh, -2 sech^2 tanh, never exceeds it, and
    // comes within 1e-9 of it on a grid of spacing 1e-4 (the maximum is at
    // atanh(1/sqrt 3), where the derivative of the third derivative vanishes, so
    // a grid of spacing d misses it by O(d^2) = 1e-8 times a bounded factor).
    let mut largest: f64 = 0.0;
    for k in -50_000..=50_000 {
        let t = k as f64 * 1e-4;
        let (_, _, _, d3) = num_dual::third_derivative(log_cosh, t);
        // d3 is computed to a few eps; allow 8 eps.
        assert!(d3.abs() <= HESSIAN_LIPSCHITZ + 8.0 * EPS, "t = {t}: {d3}");
        largest = largest.max(d3.abs());
    }
    assert!(HESSIAN_LIPSCHITZ - largest < 1e-7, "largest = {largest}");
}

#[test]
fn logcosh_refuses_bad_input() {
    assert!(matches!(
        LogCosh::new(-1.0, DVector::zeros(2)),
        Err(ProblemError::Invalid { param: "m", .. })
    ));
    assert!(matches!(
        LogCosh::new(1.0, DVector::zeros(0)),
        Err(ProblemError::Invalid { param: "c", .. })
    ));
    assert!(matches!(
        LogCosh::new(1.0, DVector::from_vec(vec![f64::INFINITY])),
        Err(ProblemError::NonFinite {
            param: "c",
            index: 0,
            ..
        })
    ));
}

// ---- Reddi, Kale and Kumar's online problem -------------------------------------

#[test]
fn reddi_gradients_follow_the_period() {
    let p = ReddiOnline::section3();
    let grads: Vec<f64> = (1..=7).map(|t| p.gradient(t)).collect();
    assert_eq!(grads, vec![3.0, -1.0, -1.0, 3.0, -1.0, -1.0, 3.0]);
    let s = ReddiOnline::synthetic();
    assert_eq!(s.gradient(1), 1010.0);
    assert_eq!(s.gradient(102), 1010.0);
    assert!((2..=101).all(|t| s.gradient(t) == -10.0));
    assert_eq!(p.loss(1, 0.5), 1.5);
    assert_eq!(ReddiOnline::project(2.0), 1.0);
    assert_eq!(ReddiOnline::project(-7.0), -1.0);
    assert_eq!(ReddiOnline::project(0.25), 0.25);
}

proptest! {
    #![proptest_config(config())]

    /// The closed-form sum of coefficients equals the step-by-step sum, and the
    /// regret equals the incurred loss minus the best fixed point's loss, found
    /// by checking both ends of [-1, 1] (the losses are linear).
    #[test]
    fn reddi_regret_matches_brute_force(
        big in 0.5f64..2000.0, small in 0.5f64..20.0, period in 2u64..120,
        xs in proptest::collection::vec(-1.0f64..1.0, 0..400)
    ) {
        let p = ReddiOnline::new(big, small, period).unwrap();
        let horizon = xs.len() as u64;
        let stepwise: f64 = (1..=horizon).map(|t| p.gradient(t)).sum();
        let closed = p.cumulative_gradient(horizon);
        // Both sum at most `horizon` numbers of size at most big: rounding at
        // most horizon * eps * horizon * big each.
        let scale = (horizon as f64).powi(2) * big.max(small) * EPS;
        prop_assert!((stepwise - closed).abs() <= 2.0 * scale + 1e-300);
        let incurred: f64 = xs.iter().zip(1u64..).map(|(&x, t)| p.loss(t, x)).sum();
        let best = (-closed).min(closed);
        prop_assert!((p.regret(&xs) - (incurred - best)).abs() <= 4.0 * scale + 1e-300);
        let xb = p.best_fixed(horizon);
        prop_assert!(closed * xb <= -closed && closed * xb <= closed);
    }
}

#[test]
fn reddi_presets_prefer_minus_one() {
    // Over one period: 3 - 2 = 1 > 0 and 1010 - 100*10 = 10 > 0.
    assert_eq!(ReddiOnline::section3().cumulative_gradient(3), 1.0);
    assert_eq!(ReddiOnline::synthetic().cumulative_gradient(101), 10.0);
    assert_eq!(ReddiOnline::section3().best_fixed(300), -1.0);
    assert_eq!(ReddiOnline::synthetic().best_fixed(10_100), -1.0);
    // Staying at the optimum -1 has zero regret (small integers: exact).
    assert_eq!(ReddiOnline::section3().regret(&[-1.0; 30]), 0.0);
    // Staying at +1 for 30 steps (10 periods) loses 2 per period.
    assert_eq!(ReddiOnline::section3().regret(&[1.0; 30]), 20.0);
}

#[test]
fn reddi_refuses_bad_input() {
    for (big, small, period, param) in [
        (0.0, 1.0, 3, "big"),
        (3.0, -1.0, 3, "small"),
        (3.0, 1.0, 1, "period"),
    ] {
        match ReddiOnline::new(big, small, period) {
            Err(ProblemError::Invalid { param: p, .. }) => assert_eq!(p, param),
            other => panic!("expected an error naming {param}, got {other:?}"),
        }
    }
}

// ---- Hinton's minibatch example ---------------------------------------------------

#[test]
fn minibatch_sign_epoch_has_nine_small_and_one_large() {
    let h = MinibatchSign::hinton(1).unwrap();
    let epoch: Vec<f64> = (0..BATCHES).map(|k| h.gradient(k)[0]).collect();
    assert_eq!(epoch[..9], [0.1; 9]);
    assert_eq!(epoch[9], -9.0 * 0.1);
    // Mean zero up to rounding: nine additions, each partial sum at most 0.9 in
    // magnitude, so each rounds by at most (eps/2) 0.9 and the total error is
    // at most 9 (eps/2) 0.9 < 5 eps.
    let sum: f64 = epoch.iter().sum();
    assert!(sum.abs() <= 5.0 * EPS, "sum = {sum}");
    // Periodic.
    assert_eq!(h.gradient(19), h.gradient(9));
    assert_eq!(h.gradient(23), h.gradient(3));
}

#[test]
fn minibatch_sign_dyadic_mean_is_exactly_zero() {
    let m =
        MinibatchSign::new(0.125, DVector::from_vec(vec![1.0, 4.0, 0.5]), vec![0, 5, 9]).unwrap();
    let mut sum = DVector::zeros(3);
    for g in m.iter().take(5 * BATCHES as usize) {
        sum += g;
    }
    assert_eq!(sum, DVector::zeros(3));
    // Coordinate i has its large minibatch at its phase, scaled.
    assert_eq!(m.gradient(0), DVector::from_vec(vec![-1.125, 0.5, 0.0625]));
    assert_eq!(m.gradient(5)[1], -4.5);
    assert_eq!(m.gradient(9)[2], -0.5625);
    let mut out = DVector::zeros(3);
    m.gradient_into(15, &mut out).unwrap();
    assert_eq!(out, m.gradient(15));
    assert!(m.gradient_into(0, &mut DVector::zeros(2)).is_err());
    assert_eq!(m.coordinate(0, 3), None);
}

#[test]
fn minibatch_sign_refuses_bad_input() {
    let ones = || DVector::from_element(2, 1.0);
    assert!(matches!(
        MinibatchSign::new(-0.1, ones(), vec![9, 9]),
        Err(ProblemError::Invalid { param: "small", .. })
    ));
    assert!(matches!(
        MinibatchSign::new(0.1, ones(), vec![9]),
        Err(ProblemError::LengthMismatch {
            param: "phases",
            ..
        })
    ));
    assert!(matches!(
        MinibatchSign::new(0.1, ones(), vec![9, 10]),
        Err(ProblemError::Invalid {
            param: "phases",
            ..
        })
    ));
    assert!(matches!(
        MinibatchSign::hinton(0),
        Err(ProblemError::Invalid {
            param: "scales",
            ..
        })
    ));
}

// ---- Saddle --------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// Doc formulas: grad = (a x, y - s tanh y), Hess = diag(a, 1 - s sech^2 y),
    /// and every Hessian entry lies within the smoothness constant.
    #[test]
    fn saddle_derivatives_match_num_dual(
        a in 0.01f64..10.0, s in 0.0f64..5.0, x in -20.0f64..20.0, y in -20.0f64..20.0,
    ) {
        let f = Saddle::new(a, s).unwrap();
        let theta = DVector::from_vec(vec![x, y]);
        let (_, g, h) = f.value_gradient_hessian(&theta);
        let t = y.tanh();
        // k = 8 operations; M = a|x| for the first entry, |y| + s for the second.
        prop_assert!((g[0] - a * x).abs() <= 2.0 * 8.0 * EPS * a * x.abs());
        prop_assert!((g[1] - (y - s * t)).abs() <= 2.0 * 8.0 * EPS * (y.abs() + s));
        prop_assert_eq!(h[(0, 1)], 0.0);
        prop_assert_eq!(h[(1, 0)], 0.0);
        prop_assert!((h[(0, 0)] - a).abs() <= 2.0 * 8.0 * EPS * a);
        // M = 1 + 2 s (sech^2 = 1 - tanh^2 cancels: absolute error 2 eps s).
        let hand = 1.0 - s * (1.0 - t * t);
        prop_assert!((h[(1, 1)] - hand).abs() <= 2.0 * 8.0 * EPS * (1.0 + 2.0 * s));
        let ell = f.smoothness();
        prop_assert!(h[(0, 0)].abs() <= ell * (1.0 + 16.0 * EPS));
        prop_assert!(h[(1, 1)].abs() <= ell * (1.0 + 16.0 * EPS) + 16.0 * EPS * s);
    }
}

#[test]
fn saddle_critical_points() {
    for s in [1.5, 2.0, 3.0, 5.0] {
        let f = Saddle::new(1.0, s).unwrap();
        // The origin: gradient exactly 0 (tanh 0 = 0), curvature 1 - s < 0.
        let (v, g, h) = f.value_gradient_hessian(&DVector::zeros(2));
        assert_eq!(v, 0.0);
        assert_eq!(g, DVector::zeros(2));
        assert!((h[(1, 1)] - f.saddle_curvature()).abs() <= 4.0 * EPS * s);
        // The minimizer: y* = s tanh y* to rounding (a fixed point of the
        // computed map, so within a few eps of y*), gradient ~ 0, curvature > 0.
        let y = f.minimizer_y();
        assert!(y > 0.0 && (y - s * y.tanh()).abs() <= 4.0 * EPS * y);
        let (v, g, h) = f.value_gradient_hessian(&DVector::from_vec(vec![0.0, y]));
        assert!(g[1].abs() <= 8.0 * EPS * (y + s));
        assert!(h[(1, 1)] > 0.0);
        assert!((v - f.min_value()).abs() <= 8.0 * EPS * (y * y + s * y));
        // It is the minimum: no grid point is lower.
        for i in -40..=40 {
            for j in -40..=40 {
                let p = DVector::from_vec(vec![i as f64 / 8.0, j as f64 / 8.0]);
                assert!(f.value(&p) >= f.min_value() - 8.0 * EPS * (25.0 + s * 5.0));
            }
        }
    }
    // s <= 1: convex, the origin is the minimum.
    let f = Saddle::new(2.0, 0.5).unwrap();
    assert_eq!(f.minimizer_y(), 0.0);
    assert_eq!(f.min_value(), 0.0);
}

#[test]
fn saddle_refuses_bad_input() {
    for (a, s, param) in [
        (0.0, 2.0, "a"),
        (-1.0, 2.0, "a"),
        (f64::NAN, 2.0, "a"),
        (1.0, -0.5, "s"),
        (1.0, f64::INFINITY, "s"),
    ] {
        match Saddle::new(a, s) {
            Err(ProblemError::Invalid { param: p, .. }) => assert_eq!(p, param),
            other => panic!("{a}, {s}: {other:?}"),
        }
    }
    let f = Saddle::new(1.0, 2.0).unwrap();
    assert!(f.value(&DVector::zeros(3)).is_nan());
}

// ---- Noisy problems ------------------------------------------------------------

#[test]
fn noisy_problems_sample_unbiased_gradients() {
    // NoisyQuadratic: g - mu theta = sigma xi exactly up to one rounding; over
    // 20000 draws the mean of xi is within 4.5/sqrt(20000) of 0 and its mean
    // square within 4.5 sqrt(2/20000) of 1 (standard errors of a normal sample).
    let f = NoisyQuadratic::new(2.0, 0.5, 3).unwrap();
    let theta = DVector::from_vec(vec![1.0, -2.0, 0.25]);
    let mut rng = SplitMix64::new(9);
    let (mut sum, mut sum_sq) = (0.0, 0.0);
    let draws = 20_000;
    for _ in 0..draws {
        let g = f.sample_gradient(&theta, &mut rng);
        let xi = (g[0] - 2.0) / 0.5;
        sum += xi;
        sum_sq += xi * xi;
    }
    let n = draws as f64;
    assert!((sum / n).abs() <= 4.5 / n.sqrt());
    assert!((sum_sq / n - 1.0).abs() <= 4.5 * (2.0 / n).sqrt());
    assert_eq!(f.gradient(&theta), &theta * 2.0);
    // Median: the three points come up equally often, and the sampled sign is
    // sign(theta - z) with sign(0) = 0.
    let mut counts = [0usize; 3];
    for _ in 0..30_000 {
        let g = Median.sample_gradient(&DVector::from_element(1, 0.0), &mut rng)[0];
        counts[(g + 1.0) as usize] += 1;
    }
    // Each count is binomial(30000, 1/3): standard deviation 81.6.
    for c in counts {
        assert!((c as f64 - 10_000.0).abs() <= 4.5 * 81.65, "{counts:?}");
    }
    assert_eq!(
        Median.value(&DVector::from_element(1, 0.0)),
        Median::MIN_VALUE
    );
    assert_eq!(Median.value(&DVector::from_element(1, 0.5)), 2.5 / 3.0);
}

#[test]
fn noisy_problems_refuse_bad_input() {
    for (mu, sigma, dim, param) in [
        (0.0, 1.0, 1, "mu"),
        (f64::NAN, 1.0, 1, "mu"),
        (1.0, -1.0, 1, "sigma"),
        (1.0, f64::INFINITY, 1, "sigma"),
        (1.0, 1.0, 0, "dim"),
    ] {
        match NoisyQuadratic::new(mu, sigma, dim) {
            Err(ProblemError::Invalid { param: p, .. }) => assert_eq!(p, param),
            other => panic!("{mu}, {sigma}, {dim}: {other:?}"),
        }
    }
    assert!(Median.value(&DVector::zeros(2)).is_nan());
}
