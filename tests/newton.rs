//! Newton's method on exact derivatives (`src/second_order/newton.rs`): the
//! claims of chapter 2 of the catalogue, section "Newton".
//!
//! Rounding model used in the tolerances: a Cholesky solve of `H p = -g` is
//! backward stable, so the computed `p` solves `(H + E) p = -g` with
//! `|E| <= c n eps |H|` (Higham, Accuracy and Stability of Numerical
//! Algorithms, Theorem 10.4, with a small constant `c`); its forward error is
//! then at most about `c n eps cond(H) |p|`.

use descent::StepError;
use descent::problems::Objective;
use descent::problems::logcosh::{HESSIAN_LIPSCHITZ, LogCosh};
use descent::problems::quadratic::{Quadratic, SplitMix64};
use descent::problems::rosenbrock::Rosenbrock;
use descent::second_order::newton::{Armijo, Damping, Newton, NewtonConfig, NewtonError};
use nalgebra::{DMatrix, DVector};
use num_dual::DualNum;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

const EPS: f64 = f64::EPSILON;

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        rng_seed: RngSeed::Fixed(0x5eed_0002),
        ..ProptestConfig::default()
    }
}

fn pure() -> Newton {
    Newton::new(NewtonConfig::default()).unwrap()
}

fn damped(line_search: bool) -> Newton {
    Newton::new(NewtonConfig {
        damping: Damping::levenberg_marquardt(),
        line_search: line_search.then(Armijo::default),
        ..NewtonConfig::default()
    })
    .unwrap()
}

fn vector(n: usize, rng: &mut SplitMix64, scale: f64) -> DVector<f64> {
    DVector::from_fn(n, |_, _| rng.uniform(-scale, scale))
}

/// A random orthogonal matrix: the Q factor of a Gaussian matrix.
fn orthogonal(n: usize, rng: &mut SplitMix64) -> DMatrix<f64> {
    DMatrix::from_fn(n, n, |_, _| rng.normal()).qr().q()
}

/// `Q diag(lambda) Q'`, symmetrized exactly.
fn with_spectrum(lambda: &DVector<f64>, rng: &mut SplitMix64) -> DMatrix<f64> {
    let n = lambda.len();
    let q = orthogonal(n, rng);
    let m = &q * DMatrix::from_diagonal(lambda) * q.transpose();
    DMatrix::from_fn(n, n, |i, j| 0.5 * (m[(i, j)] + m[(j, i)]))
}

fn cond(a: &DMatrix<f64>) -> f64 {
    let e = a.clone().symmetric_eigenvalues();
    e.abs().max() / e.abs().min()
}

// ---- newton-one-step-quadratic ------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// newton-one-step-quadratic: from any x0, one Newton step lands on
    /// x* = A^{-1} b (computed independently, by LU with partial pivoting).
    ///
    /// Bound. The step computes g = A x0 - b with error at most
    /// (n + 2) eps (|A||x0| + |b|) (tests/problems.rs), and solves with
    /// backward error c n eps |A|. Exactly, x0 - A^{-1} g = x*. So
    /// |x1 - x*| <= |A^{-1}| (n+2) eps (|A||x0| + |b|) + c n eps cond(A) |p| + eps |x1|,
    /// and with |b| <= |A||x*| and |p| <= |x0| + |x*| this is at most
    /// C n cond(A) eps (|x0| + |x*|). LU's own x* carries an error of the same
    /// form. Norms (not entrywise bounds) add a factor sqrt(n) <= 3; C = 8 covers
    /// the Cholesky and LU constants and that factor.
    // claim: newton-one-step-quadratic
    #[test]
    fn newton_one_step_quadratic(
        n in 1usize..9, log_cond in 0.0f64..6.0, seed in any::<u64>()
    ) {
        let mut rng = SplitMix64::new(seed);
        let c = if n == 1 { 1.0 } else { 10f64.powf(log_cond) };
        let a = Quadratic::ill_conditioned(n, c, seed).unwrap().a().clone();
        let b = vector(n, &mut rng, 10.0);
        let x0 = vector(n, &mut rng, 10.0);
        let q = Quadratic::new(a.clone(), b.clone()).unwrap();
        let x_star = a.clone().lu().solve(&b).unwrap();
        let mut x = x0.clone();
        pure().step(&q, &mut x).unwrap();
        let err = (&x - &x_star).norm();
        let tol = 8.0 * n as f64 * cond(&a) * EPS * (x0.norm() + x_star.norm());
        prop_assert!(err <= tol, "err {:e} > tol {:e}", err, tol);
    }
}

/// The worst ratio of error to bound over a fixed sample (for the report).
// claim: newton-one-step-quadratic
#[test]
fn newton_one_step_quadratic_worst_ratio() {
    let mut worst: f64 = 0.0;
    for seed in 0..2000u64 {
        let mut rng = SplitMix64::new(seed);
        let n = 1 + (seed % 8) as usize;
        let c = if n == 1 {
            1.0
        } else {
            10f64.powf(rng.uniform(0.0, 6.0))
        };
        let a = Quadratic::ill_conditioned(n, c, seed).unwrap().a().clone();
        let b = vector(n, &mut rng, 10.0);
        let x0 = vector(n, &mut rng, 10.0);
        let q = Quadratic::new(a.clone(), b.clone()).unwrap();
        let x_star = a.clone().lu().solve(&b).unwrap();
        let mut x = x0.clone();
        pure().step(&q, &mut x).unwrap();
        let tol = 8.0 * n as f64 * cond(&a) * EPS * (x0.norm() + x_star.norm());
        worst = worst.max((&x - &x_star).norm() / tol);
    }
    eprintln!("newton-one-step-quadratic: worst error/bound = {worst:.3e}");
    assert!(worst <= 1.0);
}

// ---- newton-minimizes-quadratic-model --------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// newton-minimizes-quadratic-model: p = -H^{-1} g zeroes the model gradient
    /// g + Hp (to rounding), and with H positive definite the model
    /// m(d) = g.d + d'Hd/2 is larger at p + d than at p for every d != 0.
    // claim: newton-minimizes-quadratic-model
    #[test]
    fn newton_minimizes_quadratic_model(
        n in 1usize..9, log_cond in 0.0f64..4.0, seed in any::<u64>()
    ) {
        let mut rng = SplitMix64::new(seed);
        let lambda = DVector::from_fn(n, |i, _| {
            if n == 1 { 1.0 } else { 10f64.powf(log_cond * i as f64 / (n - 1) as f64) }
        });
        let h = with_spectrum(&lambda, &mut rng);
        let g = vector(n, &mut rng, 5.0);
        let dir = pure().direction(&g, &h).unwrap();
        let p = &dir.p;
        // Residual: |g + H p| = |E p| <= c n eps |H| |p| (backward stability);
        // c = 4 with the sqrt(n) of the norm gives 4 n^{3/2}; add the rounding of
        // forming g + Hp itself, (n + 1) eps (|g| + |H||p|).
        let hn = lambda.max();
        let r = (&g + &h * p).norm();
        let tol = (4.0 * (n as f64).powf(1.5) + n as f64 + 1.0) * EPS * (g.norm() + hn * p.norm());
        prop_assert!(r <= tol, "residual {:e} > {:e}", r, tol);
        // Uniqueness: m(p + d) - m(p) = (g + Hp).d + d'Hd/2 >= lambda_min |d|^2/2
        // - r |d|. With |d| >= 1e-3 |p| and cond <= 1e4 the curvature term is at
        // least 5e-11 |H||p|^2, far above the rounding of two model evaluations,
        // about 4 (2n + 3) eps |H| |p + d|^2 <= 2e-13 |H||p|^2 for |d| <= |p|.
        let model = |d: &DVector<f64>| g.dot(d) + 0.5 * d.dot(&(&h * d));
        let mp = model(p);
        for _ in 0..20 {
            let dir_d = vector(n, &mut rng, 1.0);
            if dir_d.norm() == 0.0 { continue; }
            let scale = 10f64.powf(rng.uniform(-3.0, 0.0)) * p.norm() / dir_d.norm();
            let d = dir_d * scale;
            prop_assert!(model(&(p + &d)) > mp);
        }
    }
}

// ---- Rosenbrock from (-1.5, 2) ---------------------------------------------------

/// Runs Newton until |grad| < tol; returns the steps taken and the largest
/// damping used.
fn newton_until(
    newton: &Newton,
    f: &impl Objective,
    x: &mut DVector<f64>,
    tol: f64,
    max: usize,
) -> (usize, f64) {
    let mut max_lambda: f64 = 0.0;
    for k in 0..=max {
        if f.gradient(x).norm() < tol {
            return (k, max_lambda);
        }
        if k == max {
            break;
        }
        let info = newton.step(f, x).unwrap();
        max_lambda = max_lambda.max(info.lambda);
    }
    panic!("no convergence in {max} steps; x = {x}");
}

#[test]
fn newton_rosenbrock_from_minus_1_5_2() {
    let f = Rosenbrock::default();
    for line_search in [false, true] {
        let mut x = DVector::from_vec(vec![-1.5, 2.0]);
        let (steps, max_lambda) = newton_until(&damped(line_search), &f, &mut x, 1e-8, 50);
        eprintln!(
            "Rosenbrock from (-1.5, 2), LM damping, line search {line_search}: |grad| < 1e-8 \
             after {steps} steps (largest lambda used {max_lambda:e}); x = ({}, {})",
            x[0], x[1]
        );
        assert!(steps <= 50);
        // Converged to the minimizer (1, 1): near it H is about
        // [[802, -400], [-400, 200]], whose smallest eigenvalue is about 0.4, so
        // |x - x*| <= |grad| / 0.39 < 3e-8.
        assert!((&x - DVector::from_vec(vec![1.0, 1.0])).norm() < 3e-8);
    }
    // From (0, 1) the Hessian diag(-398, 200) is indefinite: the damping acts.
    for line_search in [false, true] {
        let mut x = DVector::from_vec(vec![0.0, 1.0]);
        let (steps, max_lambda) = newton_until(&damped(line_search), &f, &mut x, 1e-8, 50);
        eprintln!(
            "Rosenbrock from (0, 1), LM damping, line search {line_search}: |grad| < 1e-8 \
             after {steps} steps (largest lambda used {max_lambda:e})"
        );
        assert!(max_lambda > 0.0);
    }
}

// ---- newton-never-ascends ------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// newton-never-ascends: on random symmetric matrices with a negative
    /// eigenvalue, damped Newton returns a direction with g.p < 0 for every
    /// g != 0, and Refuse returns NotPositiveDefinite.
    ///
    /// Why Refuse must fail here: lambda_min <= -1e-3 max|lambda|. If Cholesky
    /// succeeded, H + E would be positive definite with |E| <= c n eps |H|, which
    /// is far below 1e-3 |H| for n <= 8: impossible.
    // claim: newton-never-ascends
    #[test]
    fn newton_never_ascends_indefinite(
        n in 1usize..9, seed in any::<u64>(), scale_exp in -6i32..7
    ) {
        let mut rng = SplitMix64::new(seed);
        let scale = 2f64.powi(scale_exp * 3);
        let mut lambda = vector(n, &mut rng, 1.0);
        lambda[0] = -(1e-3 + rng.next_f64());
        let h = with_spectrum(&(lambda * scale), &mut rng);
        let g = vector(n, &mut rng, 1.0);
        prop_assume!(g.iter().any(|&v| v != 0.0));
        let dir = damped(false).direction(&g, &h).unwrap();
        prop_assert!(dir.slope < 0.0);
        prop_assert_eq!(dir.slope, g.dot(&dir.p));
        prop_assert!(dir.lambda > 0.0);
        prop_assert_eq!(pure().direction(&g, &h), Err(NewtonError::NotPositiveDefinite));
    }

    /// newton-never-ascends, singular and general symmetric matrices (entries
    /// uniform in [-1, 1], rank possibly reduced): damped Newton always descends;
    /// Refuse either descends or refuses with a typed error.
    // claim: newton-never-ascends
    #[test]
    fn newton_never_ascends_any_symmetric(
        n in 1usize..9, rank_cut in 0usize..4, seed in any::<u64>()
    ) {
        let mut rng = SplitMix64::new(seed);
        let mut lambda = vector(n, &mut rng, 1.0);
        for i in 0..rank_cut.min(n) {
            lambda[i] = 0.0;
        }
        let h = with_spectrum(&lambda, &mut rng);
        let g = vector(n, &mut rng, 1.0);
        prop_assume!(g.iter().any(|&v| v != 0.0));
        let dir = damped(false).direction(&g, &h).unwrap();
        prop_assert!(dir.slope < 0.0 && g.dot(&dir.p) < 0.0);
        match pure().direction(&g, &h) {
            Ok(d) => prop_assert!(g.dot(&d.p) < 0.0),
            Err(NewtonError::NotPositiveDefinite | NewtonError::NotDescent { .. }) => {}
            Err(e) => prop_assert!(false, "unexpected error {:?}", e),
        }
    }
}

#[test]
fn zero_gradient_gives_zero_direction() {
    let h = DMatrix::from_row_slice(2, 2, &[-1.0, 0.0, 0.0, 1.0]);
    let dir = pure().direction(&DVector::zeros(2), &h).unwrap();
    assert_eq!(dir.p, DVector::zeros(2));
    assert_eq!(dir.slope, 0.0);
}

#[test]
fn refused_step_leaves_x_unchanged() {
    // At (0, 1) Rosenbrock's Hessian is diag(-398, 200): not positive definite.
    let f = Rosenbrock::default();
    let mut x = DVector::from_vec(vec![0.0, 1.0]);
    let before = x.clone();
    assert_eq!(
        pure().step(&f, &mut x),
        Err(NewtonError::NotPositiveDefinite)
    );
    assert_eq!(x, before);
    // The damped step from there descends.
    let info = damped(false).step(&f, &mut x).unwrap();
    assert!(info.lambda > 0.0 && info.slope < 0.0);
    // Wrong length and non-finite inputs are refused, x unchanged.
    let mut short = DVector::from_vec(vec![1.0]);
    assert!(matches!(
        pure().step(&f, &mut short),
        Err(NewtonError::Step(StepError::LengthMismatch {
            what: "x",
            expected: 2,
            found: 1
        }))
    ));
    assert_eq!(short, DVector::from_vec(vec![1.0]));
    let mut bad = DVector::from_vec(vec![f64::NAN, 1.0]);
    assert!(matches!(
        pure().step(&f, &mut bad),
        Err(NewtonError::NonFinite {
            what: "x",
            index: 0
        })
    ));
    assert!(matches!(
        pure().direction(&DVector::zeros(2), &DMatrix::zeros(3, 2)),
        Err(NewtonError::Step(StepError::LengthMismatch {
            what: "hessian",
            ..
        }))
    ));
}

#[test]
fn non_finite_inputs_are_named_at_their_first_index() {
    // The finiteness check decides "all finite" by a fold run on the CPU's
    // vectors (several entries per instruction, then a scalar tail) and looks
    // for the index only after the fold fails. With n = 7 the Hessian's 49
    // entries fill whole vectors of 2, 4 and 8 lanes and leave a tail, so
    // putting one bad value at each index in turn covers every lane position.
    // Every bad value must be found, named by its first (column-major) index,
    // whatever the damping; a second bad value later changes nothing.
    let n = 7;
    let g = DVector::from_fn(n, |i, _| 1.0 + i as f64);
    let h = DMatrix::<f64>::identity(n, n) * 2.0;
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        for method in [pure(), damped(false)] {
            for index in 0..n * n {
                let mut hb = h.clone();
                hb.as_mut_slice()[index] = bad;
                if index + 5 < n * n {
                    hb.as_mut_slice()[index + 5] = bad;
                }
                assert_eq!(
                    method.direction(&g, &hb),
                    Err(NewtonError::NonFinite {
                        what: "hessian",
                        index
                    }),
                    "{bad} at hessian[{index}]"
                );
            }
            for index in 0..n {
                let mut gb = g.clone();
                gb[index] = bad;
                assert_eq!(
                    method.direction(&gb, &h),
                    Err(NewtonError::NonFinite {
                        what: "grad",
                        index
                    }),
                    "{bad} at grad[{index}]"
                );
            }
        }
    }
    // Finite extremes are not refused: the largest and the smallest subnormal.
    let mut h_extreme = h.clone();
    h_extreme[(0, 1)] = f64::MAX;
    h_extreme[(1, 0)] = 5e-324;
    assert!(pure().direction(&g, &h_extreme).is_ok());
}

#[test]
fn line_search_failure_is_typed_and_leaves_x() {
    // One backtrack with shrink 1/2 from a huge initial step cannot reach an
    // acceptable step on a quadratic: the search gives up and x stays.
    let q = Quadratic::new(
        DMatrix::from_row_slice(1, 1, &[1.0]),
        DVector::from_vec(vec![0.0]),
    )
    .unwrap();
    let newton = Newton::new(NewtonConfig {
        step: 1e6,
        damping: Damping::Refuse,
        line_search: Some(Armijo {
            c1: 1e-4,
            shrink: 0.5,
            max_backtracks: 1,
        }),
    })
    .unwrap();
    let mut x = DVector::from_vec(vec![1.0]);
    assert!(matches!(
        newton.step(&q, &mut x),
        Err(NewtonError::LineSearchFailed { tries: 2, .. })
    ));
    assert_eq!(x, DVector::from_vec(vec![1.0]));
}

#[test]
fn invalid_config_names_the_parameter() {
    let lm = |lambda0, factor, max_tries| NewtonConfig {
        damping: Damping::LevenbergMarquardt {
            lambda0,
            factor,
            max_tries,
        },
        ..NewtonConfig::default()
    };
    let ls = |c1, shrink, max_backtracks| NewtonConfig {
        line_search: Some(Armijo {
            c1,
            shrink,
            max_backtracks,
        }),
        ..NewtonConfig::default()
    };
    let cases = [
        (
            NewtonConfig {
                step: 0.0,
                ..NewtonConfig::default()
            },
            "step",
        ),
        (
            NewtonConfig {
                step: f64::NAN,
                ..NewtonConfig::default()
            },
            "step",
        ),
        (lm(0.0, 10.0, 5), "damping.lambda0"),
        (lm(1e-3, 1.0, 5), "damping.factor"),
        (lm(1e-3, 10.0, 0), "damping.max_tries"),
        (ls(0.0, 0.5, 5), "line_search.c1"),
        (ls(1.0, 0.5, 5), "line_search.c1"),
        (ls(1e-4, 1.0, 5), "line_search.shrink"),
        (ls(1e-4, 0.5, 0), "line_search.max_backtracks"),
    ];
    for (config, param) in cases {
        let e = Newton::new(config).unwrap_err();
        assert_eq!((e.optimizer, e.param), ("newton", param));
    }
}

// ---- newton-affine-invariance ------------------------------------------------

/// `f(T y + c)`, written once for every number type.
struct Affine<'a, F> {
    f: &'a F,
    t: DMatrix<f64>,
    c: DVector<f64>,
}

impl<F: Objective> Objective for Affine<'_, F> {
    fn dim(&self) -> usize {
        self.t.ncols()
    }
    fn eval<D: DualNum<Primitive = f64>>(&self, y: &DVector<D>) -> D {
        let x = DVector::from_fn(self.t.nrows(), |i, _| {
            let mut s = D::from(self.c[i]);
            for j in 0..y.len() {
                s += y[j].clone() * self.t[(i, j)];
            }
            s
        });
        self.f.eval(&x)
    }
}

proptest! {
    #![proptest_config(config())]

    /// newton-affine-invariance (Boyd and Vandenberghe 9.5.1): for
    /// f2(y) = f(T y + c), pure Newton iterates satisfy x_k = T y_k + c.
    ///
    /// Tolerance: one step in y computes the same step as in x, up to the solve
    /// errors of both runs, at most about c n eps cond(T)^2 cond(H) (|x_j| + |p_j|)
    /// (the y-space Hessian is T'HT); mapping back through T adds
    /// n eps cond(T) (|x| + |c|). A difference e entering before step i grows by
    /// at most 1 + L |p_i| / m, where L |p| / m bounds the derivative of the
    /// Newton map x - H(x)^{-1} grad f(x) (its derivative is
    /// H^{-1} (dH[.]) H^{-1} grad f, and |dH| <= L, |H^{-1}| <= 1/m). The bound
    /// sums these over the run, with c = 32.
    // claim: newton-affine-invariance
    #[test]
    fn newton_affine_invariance(n in 1usize..6, m in 0.5f64..3.0, seed in any::<u64>()) {
        let worst = affine_worst_ratio(n, m, seed);
        prop_assert!(worst <= 1.0, "error/bound = {}", worst);
    }
}

/// Runs pure Newton six steps on f and on f2(y) = f(T y + c) and returns the
/// largest ratio of |T y_k + c - x_k| to the bound derived above.
fn affine_worst_ratio(n: usize, m: f64, seed: u64) -> f64 {
    let mut rng = SplitMix64::new(seed);
    let centre = vector(n, &mut rng, 2.0);
    let f = LogCosh::new(m, centre).unwrap();
    let s = DVector::from_fn(n, |_, _| rng.uniform(1.0, 4.0));
    let t = orthogonal(n, &mut rng) * DMatrix::from_diagonal(&s) * orthogonal(n, &mut rng);
    let kt = s.max() / s.min();
    let shift = vector(n, &mut rng, 2.0);
    let g2 = Affine {
        f: &f,
        t: t.clone(),
        c: shift.clone(),
    };
    let x0 = vector(n, &mut rng, 2.0);
    let y0 = t.clone().lu().solve(&(&x0 - &shift)).unwrap();
    let (mut x, mut y) = (x0, y0);
    let kh = (m + 1.0) / m;
    let nn = n as f64;
    let mut bound = 32.0 * nn * EPS * kt * (x.norm() + shift.norm());
    let mut worst: f64 = 0.0;
    for _ in 0..6 {
        let before = x.clone();
        pure().step(&f, &mut x).unwrap();
        pure().step(&g2, &mut y).unwrap();
        let p = (&x - &before).norm();
        bound = bound * (1.0 + HESSIAN_LIPSCHITZ * p / m)
            + 32.0 * nn * EPS * kt * kt * kh * (before.norm() + p);
        let mapped = &t * &y + &shift;
        let err = (&mapped - &x).norm();
        let tol = bound + 32.0 * nn * EPS * kt * (x.norm() + shift.norm());
        worst = worst.max(err / tol);
    }
    worst
}

/// The worst ratio over a fixed sample (for the report).
// claim: newton-affine-invariance
#[test]
fn newton_affine_invariance_worst_ratio() {
    let mut worst: f64 = 0.0;
    for seed in 0..1000u64 {
        let n = 1 + (seed % 5) as usize;
        let m = 0.5 + 2.5 * SplitMix64::new(!seed).next_f64();
        worst = worst.max(affine_worst_ratio(n, m, seed));
    }
    eprintln!("newton-affine-invariance: worst error/bound = {worst:.3e}");
    assert!(worst <= 1.0);
}

// ---- newton-local-quadratic-convergence ------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// newton-local-quadratic-convergence (Boyd and Vandenberghe 9.5.3): on
    /// f = (m/2)|x - c|^2 + sum log cosh x_i, with L = 4/(3 sqrt 3), a pure Newton
    /// step gives (L/2m^2)|grad f(x+)| <= ((L/2m^2)|grad f(x)|)^2.
    ///
    /// Rounding allowance delta on |grad f(x+)|: the gradient at x+ is computed
    /// with error at most 16 eps sqrt(n) (m (|x+|_inf + |c|_inf) + 1)
    /// (tests/problems.rs), and x+ differs from the exact Newton point by the
    /// solve error, at most 8 n eps cond(H) (|x| + |p|) with cond(H) <= (m+1)/m,
    /// which moves the gradient by at most (m + 1) times as much.
    // claim: newton-local-quadratic-convergence
    #[test]
    fn newton_local_quadratic_convergence(
        n in 1usize..7, m in 0.1f64..4.0, seed in any::<u64>()
    ) {
        let mut rng = SplitMix64::new(seed);
        let c = vector(n, &mut rng, 3.0);
        let f = LogCosh::new(m, c.clone()).unwrap();
        let mut x = vector(n, &mut rng, 3.0);
        let k = HESSIAN_LIPSCHITZ / (2.0 * m * m);
        let nn = n as f64;
        for _ in 0..6 {
            let g = f.gradient(&x).norm();
            let before = x.clone();
            pure().step(&f, &mut x).unwrap();
            let g_next = f.gradient(&x).norm();
            let p = (&x - &before).norm();
            let delta = 16.0 * EPS * nn.sqrt() * (m * (x.amax() + c.amax()) + 1.0)
                + (m + 1.0) * 8.0 * nn * EPS * ((m + 1.0) / m) * (before.norm() + p);
            prop_assert!(k * g_next <= (k * g).powi(2) + k * delta,
                "|g+| = {:e}, |g| = {:e}, L/2m^2 = {}", g_next, g, k);
        }
    }
}

/// How tight the bound is: the largest ratio |grad f(x+)| / ((L/2m^2)|grad f(x)|^2)
/// over a sample, counting only steps where the gradient is well above the
/// rounding floor (for the report).
// claim: newton-local-quadratic-convergence
#[test]
fn newton_local_quadratic_convergence_tightness() {
    let mut worst: f64 = 0.0;
    for seed in 0..500u64 {
        let mut rng = SplitMix64::new(seed);
        let n = 1 + (seed % 4) as usize;
        let m = rng.uniform(0.1, 4.0);
        let c = vector(n, &mut rng, 3.0);
        let f = LogCosh::new(m, c).unwrap();
        let mut x = vector(n, &mut rng, 3.0);
        let k = HESSIAN_LIPSCHITZ / (2.0 * m * m);
        for _ in 0..6 {
            let g = f.gradient(&x).norm();
            pure().step(&f, &mut x).unwrap();
            let g_next = f.gradient(&x).norm();
            if g_next > 1e-12 {
                worst = worst.max(g_next / (k * g * g));
            }
        }
    }
    eprintln!("newton-local-quadratic-convergence: largest |g+| / ((L/2m^2)|g|^2) = {worst:.4}");
    assert!(worst <= 1.0);
}

// ---- newton-step-has-units-of-theta ----------------------------------------------

/// `f(y / c)` for a power of two `c` (so `y * (1/c)` is exact).
struct Scaled<'a, F> {
    f: &'a F,
    inv_c: f64,
}

impl<F: Objective> Objective for Scaled<'_, F> {
    fn dim(&self) -> usize {
        self.f.dim()
    }
    fn eval<D: DualNum<Primitive = f64>>(&self, y: &DVector<D>) -> D {
        self.f.eval(&y.map(|v| v * self.inv_c))
    }
}

proptest! {
    #![proptest_config(config())]

    /// newton-step-has-units-of-theta: under y = c x with c = 2^k, the Newton
    /// update in y is exactly c times the update in x (bit-exact: the dual
    /// numbers' derivative parts scale by 1/c and 1/c^2 exactly, Cholesky of
    /// H/c^2 is L/c exactly, and the solve scales by c exactly), with and
    /// without the line search (f values are identical, so are its decisions).
    // claim: newton-step-has-units-of-theta
    #[test]
    fn newton_step_has_units_of_theta(
        k in -20i32..21, n in 1usize..6, m in 0.1f64..3.0, seed in any::<u64>(),
        line_search in any::<bool>()
    ) {
        let mut rng = SplitMix64::new(seed);
        let c_scale = 2f64.powi(k);
        let newton = Newton::new(NewtonConfig {
            line_search: line_search.then(Armijo::default),
            ..NewtonConfig::default()
        }).unwrap();
        let f = LogCosh::new(m, vector(n, &mut rng, 3.0)).unwrap();
        let f2 = Scaled { f: &f, inv_c: 1.0 / c_scale };
        let mut x = vector(n, &mut rng, 3.0);
        let mut y = &x * c_scale;
        for _ in 0..4 {
            let (x0, y0) = (x.clone(), y.clone());
            newton.step(&f, &mut x).unwrap();
            newton.step(&f2, &mut y).unwrap();
            prop_assert_eq!(&y - &y0, (&x - &x0) * c_scale);
            prop_assert_eq!(&y, &(&x * c_scale));
        }
        // Rosenbrock too, at a point where its Hessian is positive definite.
        let r = Rosenbrock::default();
        let r2 = Scaled { f: &r, inv_c: 1.0 / c_scale };
        let mut x = DVector::from_vec(vec![-1.5, 2.0]);
        let mut y = &x * c_scale;
        newton.step(&r, &mut x).unwrap();
        newton.step(&r2, &mut y).unwrap();
        prop_assert_eq!(&y, &(&x * c_scale));
    }
}

/// newton-never-ascends near the underflow threshold: with g near 1e-170 the
/// computed g.p underflows to zero, but the direction is still checked (on
/// scaled copies) and returned; with g at the smallest subnormal the solved p
/// underflows to zero and the zero direction comes back (no step, no ascent).
// claim: newton-never-ascends
#[test]
fn tiny_gradients_do_not_break_the_descent_check() {
    let h = DMatrix::from_diagonal(&DVector::from_vec(vec![4.0, 4.0]));
    let g = DVector::from_vec(vec![1e-170, -2e-170]);
    let dir = pure().direction(&g, &h).unwrap();
    // Dividing by 4 is exact (no subnormal result here).
    assert_eq!(dir.p, -&g / 4.0);
    assert_eq!(g.dot(&dir.p), 0.0);
    let g = DVector::from_vec(vec![5e-324, 0.0]);
    let dir = pure().direction(&g, &h).unwrap();
    assert_eq!(dir.p, DVector::zeros(2));
}
