//! The natural-gradient step: steepest descent in KL, the empirical Fisher's
//! failure, invariance under reparametrization, and the stepper's refusal rules
//! (chapter "Natural gradient", section 3 of the catalogue).

use descent::error::StepError;
use descent::problems::gaussian::{
    GaussianData, GaussianMeanLogStd, GaussianMeanStd, jacobian_log_std_to_std, log_std_to_std,
    std_to_log_std,
};
use descent::problems::quadratic::SplitMix64;
use descent::problems::regression::{LeastSquares, LogisticRegression, SoftmaxRegression};
use descent::second_order::natural::{
    Model, NaturalError, NaturalGradient, NaturalGradientConfig, empirical_fisher, gradient,
    natural_direction, per_example_gradients,
};
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

const EPS: f64 = f64::EPSILON;

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        rng_seed: RngSeed::Fixed(0x5eed_0003),
        ..ProptestConfig::default()
    }
}

/// The 2-norm condition number of a symmetric positive definite matrix.
fn cond(a: &DMatrix<f64>) -> f64 {
    let ev = a.clone().symmetric_eigenvalues();
    ev.max() / ev.min()
}

// ---------------------------------------------------------------------------
// natural-gradient-is-steepest-in-kl

/// The logistic problem's Fisher and gradient at a fixed point: F positive
/// definite (3 x 3), g != 0.
fn logistic_f_g() -> (DMatrix<f64>, DVector<f64>) {
    let m = LogisticRegression::default();
    let theta = DVector::from_vec(vec![0.5, -1.0, 0.25]);
    (m.fisher(&theta).unwrap(), gradient(&m, &theta).unwrap())
}

/// Minimizing g.d subject to (1/2) d'Fd = kappa (Lagrange: g = -mu F d) gives
/// d* = -sqrt(2 kappa / (g'F^{-1}g)) F^{-1} g with value
/// g.d* = -sqrt(2 kappa g'F^{-1}g); by Cauchy-Schwarz in the F inner product,
/// |g.d| <= |F^{-1/2} g| |F^{1/2} d| = sqrt(g'F^{-1}g) sqrt(2 kappa) for every d on
/// the ellipsoid, so no d does better.
fn steepest(f: &DMatrix<f64>, g: &DVector<f64>, kappa: f64) -> DVector<f64> {
    let nat = natural_direction(f, g, 0.0).unwrap(); // -F^{-1} g
    let q = -g.dot(&nat); // g'F^{-1}g > 0
    nat * (2.0 * kappa / q).sqrt()
}

/// A random symmetric positive definite `n x n` matrix `Q diag(lambda) Q'`, `Q`
/// orthogonal (QR of a matrix of uniform entries), `lambda` log-uniform between 1
/// and `10^log_cond` with both ends attained, and a random gradient with entries
/// in `[-1, 1]` (not all tiny).
fn random_spd_and_gradient(n: usize, seed: u64, log_cond: f64) -> (DMatrix<f64>, DVector<f64>) {
    let mut rng = SplitMix64::new(seed);
    let a = DMatrix::from_fn(n, n, |_, _| rng.uniform(-1.0, 1.0));
    let q = a.qr().q();
    let lambda = DVector::from_fn(n, |i, _| {
        let s = match i {
            0 => 0.0,
            1 => 1.0,
            _ => rng.uniform(0.0, 1.0),
        };
        10f64.powf(log_cond * s)
    });
    let f = &q * DMatrix::from_diagonal(&lambda) * q.transpose();
    let f = (&f + f.transpose()) * 0.5;
    let mut g = DVector::from_fn(n, |_, _| rng.uniform(-1.0, 1.0));
    g[0] += 1.5; // |g| >= 0.5
    (f, g)
}

/// Scales `u` onto the ellipsoid (1/2) d'Fd = kappa.
fn onto_ellipsoid(f: &DMatrix<f64>, u: &DVector<f64>, kappa: f64) -> DVector<f64> {
    u * (2.0 * kappa / u.dot(&(f * u))).sqrt()
}

/// Tolerance for comparing g.d values on the ellipsoid: d* comes from a
/// Cholesky solve, accurate to about 3 n cond(F) eps relative (backward
/// stability of Cholesky, n = 3), then a dot product, a square root and a
/// scaling (a few eps); the random d costs a product F u and two dot products
/// (3 n eps). So both values are within (3 n cond(F) + 16) eps |g| |d| of the
/// exact ones.
fn value_tol(f: &DMatrix<f64>, g: &DVector<f64>, d: &DVector<f64>) -> f64 {
    let n = g.len() as f64;
    (3.0 * n * cond(f) + 16.0) * EPS * g.norm() * d.norm()
}

/// natural-gradient-is-steepest-in-kl: d* lies on the ellipsoid, has the
/// closed-form value -sqrt(2 kappa g'F^{-1}g), and beats the plain steepest
/// direction -g scaled onto the same ellipsoid.
// claim: natural-gradient-is-steepest-in-kl
#[test]
fn natural_gradient_is_steepest_in_kl_closed_form() {
    let (f, g) = logistic_f_g();
    let kappa = 0.5;
    let d = steepest(&f, &g, kappa);
    let ginv_g = -g.dot(&natural_direction(&f, &g, 0.0).unwrap());
    // On the ellipsoid, and with the closed-form value.
    let tol = value_tol(&f, &g, &d);
    assert!((0.5 * d.dot(&(&f * &d)) - kappa).abs() <= (3.0 * 3.0 * cond(&f) + 16.0) * EPS * kappa);
    assert!((g.dot(&d) + (2.0 * kappa * ginv_g).sqrt()).abs() <= tol);
    // The plain steepest direction -g, scaled onto the same ellipsoid, is
    // strictly worse (F is not a multiple of I here).
    let e = onto_ellipsoid(&f, &(-&g), kappa);
    println!(
        "g.d*: {:.6}, g.(-g scaled): {:.6}, cond(F) = {:.2}",
        g.dot(&d),
        g.dot(&e),
        cond(&f)
    );
    assert!(g.dot(&e) > g.dot(&d) + 1e3 * tol);
}

proptest! {
    #![proptest_config(config())]

    /// natural-gradient-is-steepest-in-kl: no direction on the ellipsoid
    /// (1/2) d'Fd = kappa does better than d*: random directions, and small
    /// perturbations of d* itself (where the gap is second order and a wrong d*
    /// would show first).
    // claim: natural-gradient-is-steepest-in-kl
    #[test]
    fn natural_gradient_is_steepest_in_kl_random_directions(
        n in 2usize..7,
        seed in any::<u64>(),
        log_cond in 0.0_f64..6.0,
        u in prop::collection::vec(-1.0_f64..1.0, 6),
        v in prop::collection::vec(-1.0_f64..1.0, 6),
        log_eps in -6.0_f64..0.0,
        log_kappa in -3.0_f64..3.0,
    ) {
        // A random SPD Fisher of condition number 10^log_cond (1 to 10^6) and a
        // random gradient, in dimension n.
        let (f, g) = random_spd_and_gradient(n, seed, log_cond);
        let (u, v) = (u[..n].to_vec(), v[..n].to_vec());
        let kappa = 10f64.powf(log_kappa);
        let best = steepest(&f, &g, kappa);
        let best_val = g.dot(&best);
        let u = DVector::from_vec(u);
        prop_assume!(u.norm() > 1e-3);
        let d = onto_ellipsoid(&f, &u, kappa);
        prop_assert!(g.dot(&d) >= best_val - value_tol(&f, &g, &d));
        // Near d*: d* / |d*| + eps v, back on the ellipsoid.
        let w = &best / best.norm() + DVector::from_vec(v) * 10f64.powf(log_eps);
        let d = onto_ellipsoid(&f, &w, kappa);
        prop_assert!(g.dot(&d) >= best_val - value_tol(&f, &g, &d));
    }
}

// ---------------------------------------------------------------------------
// empirical-fisher-differs

/// The least-squares minimizer by QR of X (independent of the normal equations):
/// X = QR, theta* = R^{-1} Q'y.
fn least_squares_solution(p: &LeastSquares) -> DVector<f64> {
    let qr = p.x().clone().qr();
    let qty = qr.q().transpose() * p.y();
    qr.r().solve_upper_triangular(&qty).unwrap()
}

/// empirical-fisher-differs: for least squares (model variance sigma^2) the
/// gradient of the mean NLL is X'(X theta - y)/(N sigma^2) and F = X'X/(N sigma^2),
/// so F^{-1} grad L = theta - theta* and one unit natural step lands on theta*.
/// Preconditioning by the empirical Fisher (1/N) sum g_n g_n' instead does not.
// claim: empirical-fisher-differs
#[test]
fn empirical_fisher_differs_one_natural_step_reaches_the_optimum() {
    for var in [1.0, 0.25] {
        let p = LeastSquares::default().with_model_var(var).unwrap();
        let star = least_squares_solution(&p);
        let theta0 = DVector::from_vec(vec![2.0, -3.0, 1.0]);
        let g = gradient(&p, &theta0).unwrap();
        let f = p.fisher(&theta0).unwrap();

        let mut ng = NaturalGradient::new(NaturalGradientConfig {
            lr: 1.0,
            damping: 0.0,
        })
        .unwrap();
        let mut t = theta0.clone();
        ng.step_preconditioned(&mut t, &g, &f).unwrap();
        // Error budget: the gradient is a mean of N = 64 terms, accurate to
        // N eps A_g (A_g the mean of |per-example gradients| / sigma^2 bound);
        // the Cholesky solve amplifies relative errors by at most 3 n cond(F);
        // theta* from QR is within n cond(X) eps |theta*| + cond(X)^2 eps
        // (residual term). We bound the total by
        // (N + 3 n) cond(F) eps (|theta0 - theta*| + |theta*|) * 4.
        let n = 3.0;
        let nn = p.examples() as f64;
        let scale = (&theta0 - &star).norm() + star.norm();
        let tol = 4.0 * (nn + 3.0 * n) * cond(&f) * EPS * scale;
        let err = (&t - &star).norm();
        println!(
            "var {var}: natural step error {err:.3e}, bound {tol:.3e}, cond(F) {:.2}",
            cond(&f)
        );
        assert!(err <= tol);
        // Exact algebra: F^{-1} grad L = theta0 - theta*.
        let d = natural_direction(&f, &g, 0.0).unwrap();
        assert!((&d + (&theta0 - &star)).norm() <= tol);

        // The empirical-Fisher step misses by O(1).
        let ef = empirical_fisher(&p, &theta0).unwrap();
        let mut te = theta0.clone();
        ng.step_preconditioned(&mut te, &g, &ef).unwrap();
        let miss = (&te - &star).norm();
        println!(
            "var {var}: empirical-Fisher step misses theta* by {miss:.4} (start {:.4})",
            (&theta0 - &star).norm()
        );
        assert!(miss > 0.1 * (&theta0 - &star).norm());
    }
}

/// empirical-fisher-differs (the decomposition of Kunstner, Balles and Hennig,
/// eqs. 15 and 18): with per-sample gradients g_n (mean grad L), the empirical
/// Fisher (1/N) sum g_n g_n' = G'G/N equals Sigma + grad L grad L', Sigma the
/// covariance of the g_n. Far from the optimum the second term dominates, so the
/// empirical Fisher mostly measures the gradient, not the curvature.
// claim: empirical-fisher-differs
#[test]
fn empirical_fisher_differs_is_covariance_plus_gradient_outer_product() {
    let p = LeastSquares::default();
    let theta0 = DVector::from_vec(vec![2.0, -3.0, 1.0]);
    let gmat = per_example_gradients(&p, &theta0).unwrap();
    let nn = p.examples() as f64;
    let gbar = gradient(&p, &theta0).unwrap();
    // The library's G'G/N against a loop of outer products.
    let ef = empirical_fisher(&p, &theta0).unwrap();
    let mut outer = DMatrix::zeros(3, 3);
    let mut centred = DMatrix::zeros(3, 3);
    let mut abs = DMatrix::zeros(3, 3);
    let mut abs_c = DMatrix::zeros(3, 3);
    for n in 0..p.examples() {
        let gn = gmat.row(n).transpose();
        outer += &gn * gn.transpose();
        let c = &gn - &gbar;
        centred += &c * c.transpose();
        abs += gn.abs() * gn.abs().transpose();
        abs_c += c.abs() * c.abs().transpose();
    }
    outer /= nn;
    centred /= nn;
    abs /= nn;
    abs_c /= nn;
    let m = gmat.abs().row_mean().transpose(); // (1/N) sum |g_n|
    // Rounding (u = eps/2). Each average of N = 64 terms, c = 8 roundings per
    // term, is within (N + 8) u of the average of its terms' absolute values:
    // A = (1/N) sum |g_n||g_n|' for G'G/N and for the loop, A_c the same for the
    // centred terms. The computed mean gradient a = gbar + delta has
    // |delta| <= (N + 8) u m, and exactly
    // (1/N) sum (g_n - a)(g_n - a)' + a a' = EF + delta a' + a delta',
    // which is within 2 (N + 8) u m m' of EF (|a| <= m). In all:
    // |EF - loop| <= (N + 8) eps A, |EF - decomposition| <= (N + 8) eps (A + A_c + m m').
    let mean_of_g = gmat.row_sum().transpose() / nn;
    assert!((&mean_of_g - &gbar).amax() <= (nn + 8.0) * EPS * m.amax());
    let tol = &abs * ((nn + 8.0) * EPS);
    let lhs_rhs = (&ef - &outer).abs() - &tol;
    assert!(lhs_rhs.max() <= 0.0);
    let tol = (&abs + &abs_c + &m * m.transpose()) * ((nn + 8.0) * EPS);
    let decomposition = &centred + &gbar * gbar.transpose();
    let gap = (&ef - &decomposition).abs() - &tol;
    println!(
        "EF = Sigma + gg': worst |diff| {:.3e}, worst |diff|/tol {:.3e}, |gg'| / |EF| = {:.3}",
        (&ef - &decomposition).amax(),
        (&ef - &decomposition).abs().component_div(&tol).max(),
        (&gbar * gbar.transpose()).norm() / ef.norm()
    );
    assert!(gap.max() <= 0.0);
}

// ---------------------------------------------------------------------------
// natural-gradient-reparametrization

/// A point away from the maximum-likelihood estimate, in both coordinates.
fn gaussian_pair() -> (
    GaussianMeanStd,
    GaussianMeanLogStd,
    DVector<f64>,
    DVector<f64>,
) {
    let data = GaussianData::default();
    let t_std = DVector::from_vec(vec![0.0, 1.5]);
    let t_log = std_to_log_std(&t_std).unwrap();
    (
        GaussianMeanStd::new(data.clone()),
        GaussianMeanLogStd::new(data),
        t_std,
        t_log,
    )
}

/// natural-gradient-reparametrization: with J = d(mu, sigma)/d(mu, s) =
/// diag(1, sigma), g_log = J' g_std and F_log = J' F_std J, so
/// d_log = -F_log^{-1} g_log = J^{-1} d_std: the natural directions correspond
/// through J. The plain gradients do not (J g_log = J J' g_std != g_std).
// claim: natural-gradient-reparametrization
#[test]
fn natural_gradient_reparametrization_directions_correspond() {
    let (ms, ml, ts, tl) = gaussian_pair();
    let ng = NaturalGradient::new(NaturalGradientConfig {
        lr: 1.0,
        damping: 0.0,
    })
    .unwrap();
    let d_std = ng.direction(&ms, &ts).unwrap();
    let d_log = ng.direction(&ml, &tl).unwrap();
    let j = jacobian_log_std_to_std(&tl);
    let mapped = &j * &d_log;
    // F is diagonal, so d_i = -g_i / F_ii coordinate by coordinate. g_i is a mean
    // of N = 64 per-example terms, within (N + 8) u A_i (A_i the mean of
    // |terms|); dividing by F_ii and multiplying by J_ii adds a few u. Bound per
    // coordinate: (N + 8) eps (A_std_i / F_std_ii + J_ii A_log_i / F_log_ii).
    let nn = ms.examples() as f64;
    let a_std = per_example_gradients(&ms, &ts).unwrap().abs().row_mean();
    let a_log = per_example_gradients(&ml, &tl).unwrap().abs().row_mean();
    let f_std = ms.fisher(&ts).unwrap();
    let f_log = ml.fisher(&tl).unwrap();
    for i in 0..2 {
        let tol =
            (nn + 8.0) * EPS * (a_std[i] / f_std[(i, i)] + j[(i, i)] * a_log[i] / f_log[(i, i)]);
        let diff = (mapped[i] - d_std[i]).abs();
        println!("coordinate {i}: |J d_log - d_std| = {diff:.3e}, bound {tol:.3e}");
        assert!(diff <= tol);
    }
    // The plain gradient directions do not correspond: sigma = 1.5 != 1.
    let g_std = gradient(&ms, &ts).unwrap();
    let g_log = gradient(&ml, &tl).unwrap();
    assert!((&j * &g_log - &g_std).amax() > 0.1);
    // Each direction is the model's own -F^{-1} g, not the inverse of some other
    // preconditioner that transforms the same way under J (the empirical Fisher
    // does): the residual F d + g vanishes up to the backward error of a 2 x 2
    // Cholesky solve, (3n + 1) u |F| |d| with n = 2, plus the rounding of the
    // residual itself, (n + 1) u |F| |d| + u |g|; doubled, in units of EPS = 2u:
    // 10 EPS (|F| |d|)_i + EPS |g_i|.
    for (f, d, g) in [(&f_std, &d_std, &g_std), (&f_log, &d_log, &g_log)] {
        let residual = f * d + g;
        let scale = f.abs() * d.abs();
        for i in 0..2 {
            let tol = 10.0 * EPS * scale[i] + EPS * g[i].abs();
            assert!(
                residual[i].abs() <= tol,
                "coordinate {i}: |F d + g| = {:.3e} > {tol:.3e}",
                residual[i].abs()
            );
        }
    }
}

/// natural-gradient-reparametrization: discrete steps differ at second order.
/// In (mu, sigma) the step gives sigma + eta sigma d_s; in (mu, s) it gives
/// sigma e^{eta d_s}; the gap is sigma (eta d_s)^2 / 2 + O(eta^3). The log-log
/// slope of the gap over eta in [1e-4, 1e-1] is 2 within 0.1. (The smallest gap,
/// ~1e-9 at eta = 1e-4, is seven orders above the rounding of sigma ~ 3e-16.)
// claim: natural-gradient-reparametrization
#[test]
fn natural_gradient_reparametrization_steps_differ_at_second_order() {
    let (ms, ml, ts, tl) = gaussian_pair();
    let ng = NaturalGradient::new(NaturalGradientConfig {
        lr: 1.0,
        damping: 0.0,
    })
    .unwrap();
    let d_std = ng.direction(&ms, &ts).unwrap();
    let d_log = ng.direction(&ml, &tl).unwrap();
    let k = 13;
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for i in 0..k {
        let eta = 10f64.powf(-4.0 + 3.0 * i as f64 / (k - 1) as f64);
        let a = &ts + &d_std * eta;
        let b = log_std_to_std(&(&tl + &d_log * eta));
        let gap = (a - b).norm();
        xs.push(eta.ln());
        ys.push(gap.ln());
    }
    let mx = xs.iter().sum::<f64>() / k as f64;
    let my = ys.iter().sum::<f64>() / k as f64;
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let slope = sxy / sxx;
    println!(
        "fitted log-log slope of the step gap: {slope:.4} (d_s = {:.4})",
        d_log[1]
    );
    assert!((slope - 2.0).abs() < 0.1);
}

// ---------------------------------------------------------------------------
// The stepper: defaults, refusals, and steps on every model.

#[test]
fn stepper_refuses_invalid_hyperparameters() {
    for (lr, damping, param) in [
        (-1.0, 0.0, "lr"),
        (f64::NAN, 0.0, "lr"),
        (1.0, -1e-3, "damping"),
        (1.0, f64::INFINITY, "damping"),
    ] {
        let e = NaturalGradient::new(NaturalGradientConfig { lr, damping }).unwrap_err();
        assert_eq!(e.param, param);
        assert_eq!(e.optimizer, "natural_gradient");
    }
    let f = DMatrix::identity(2, 2);
    let g = DVector::from_vec(vec![1.0, 1.0]);
    assert!(matches!(
        natural_direction(&f, &g, -1.0),
        Err(NaturalError::Hyper(_))
    ));
}

/// A refused step leaves the parameters and the step count bit-for-bit as they
/// were: indefinite or singular Fisher (Cholesky fails), wrong lengths,
/// non-finite gradient or Fisher, a result that would overflow.
#[test]
fn refused_steps_leave_params_unchanged() {
    let mut ng = NaturalGradient::new(NaturalGradientConfig {
        lr: 1.0,
        damping: 0.0,
    })
    .unwrap();
    let theta0 = DVector::from_vec(vec![1.0, 2.0]);
    let g = DVector::from_vec(vec![1.0, -1.0]);
    // Each case with the start of the error it must give.
    let cases: Vec<(DVector<f64>, DMatrix<f64>, &str)> = vec![
        (
            g.clone(),
            DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, -1.0]),
            "NotPositiveDefinite",
        ),
        (g.clone(), DMatrix::zeros(2, 2), "NotPositiveDefinite"),
        (g.clone(), DMatrix::identity(3, 3), "Step(LengthMismatch"),
        (
            DVector::from_vec(vec![1.0]),
            DMatrix::identity(2, 2),
            "Step(LengthMismatch",
        ),
        (
            DVector::from_vec(vec![f64::NAN, 0.0]),
            DMatrix::identity(2, 2),
            "Step(NonFiniteGradient",
        ),
        (
            g.clone(),
            DMatrix::from_row_slice(2, 2, &[1.0, f64::INFINITY, 0.0, 1.0]),
            "NonFiniteMatrix",
        ),
        // A subnormal pivot: the factorization succeeds, the solution overflows.
        (
            g.clone(),
            DMatrix::from_row_slice(2, 2, &[1e-310, 0.0, 0.0, 1.0]),
            "Step(NonFiniteResult",
        ),
    ];
    for (g, f, kind) in cases {
        let mut t = theta0.clone();
        let e = ng.step_preconditioned(&mut t, &g, &f).unwrap_err();
        assert!(format!("{e:?}").starts_with(kind), "{e:?}, expected {kind}");
        assert_eq!(t, theta0);
        assert_eq!(ng.steps_taken(), 0);
    }
    // A finite direction whose step overflows the parameters.
    let mut big = DVector::from_vec(vec![f64::MAX, 0.0]);
    let e = ng
        .step_preconditioned(
            &mut big,
            &DVector::from_vec(vec![-f64::MAX, 0.0]),
            &DMatrix::identity(2, 2),
        )
        .unwrap_err();
    assert!(matches!(
        e,
        NaturalError::Step(StepError::NonFiniteResult {
            index: 0,
            quantity: "param"
        })
    ));
    assert_eq!(big, DVector::from_vec(vec![f64::MAX, 0.0]));
    // Cholesky failure is its own typed error, naming the damping.
    let mut t = theta0.clone();
    let f = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, -1.0]);
    assert_eq!(
        ng.step_preconditioned(&mut t, &g, &f),
        Err(NaturalError::NotPositiveDefinite { damping: 0.0 })
    );
    // Damping larger than the negative eigenvalue makes the same matrix usable:
    // F + 3I = diag(4, 2), d = (-1/4, 1/2), exact in binary.
    let mut damped = NaturalGradient::new(NaturalGradientConfig {
        lr: 1.0,
        damping: 3.0,
    })
    .unwrap();
    damped.step_preconditioned(&mut t, &g, &f).unwrap();
    assert_eq!(t, DVector::from_vec(vec![0.75, 2.5]));
    assert_eq!(damped.steps_taken(), 1);
    // A model with theta of the wrong length, or sigma <= 0, is refused.
    let gs = GaussianMeanStd::default();
    let mut bad = DVector::from_vec(vec![0.0, -1.0]);
    assert!(matches!(
        ng.step(&gs, &mut bad),
        Err(NaturalError::OutsideDomain { .. })
    ));
    assert_eq!(bad, DVector::from_vec(vec![0.0, -1.0]));
    let mut short = DVector::from_vec(vec![0.0]);
    assert!(matches!(
        ng.step(&LogisticRegression::default(), &mut short),
        Err(NaturalError::Step(StepError::LengthMismatch { .. }))
    ));
}

/// The defaults step every model of the chapter downhill, and repeated steps
/// converge: logistic and least squares, softmax (singular Fisher, so the damping
/// is needed), and both Gaussian parametrizations.
#[test]
fn default_stepper_descends_on_every_model() {
    fn run<M: Model>(m: &M, theta0: DVector<f64>, steps: usize) -> (f64, f64, f64) {
        let mut ng = NaturalGradient::new(NaturalGradientConfig::default()).unwrap();
        let mut t = theta0;
        let start = m.value(&t);
        let first = {
            let mut t1 = t.clone();
            ng.step(m, &mut t1).unwrap();
            m.value(&t1)
        };
        for _ in 0..steps {
            ng.step(m, &mut t).unwrap();
        }
        (start, first, gradient(m, &t).unwrap().norm())
    }
    let checks = [
        (
            "logistic",
            run(&LogisticRegression::default(), DVector::zeros(3), 20),
        ),
        (
            "softmax",
            run(&SoftmaxRegression::default(), DVector::zeros(9), 20),
        ),
        (
            "least_squares",
            run(&LeastSquares::default(), DVector::zeros(3), 5),
        ),
        (
            "gaussian (mu, log sigma)",
            run(
                &GaussianMeanLogStd::default(),
                DVector::from_vec(vec![0.0, 0.0]),
                20,
            ),
        ),
        (
            "gaussian (mu, sigma)",
            run(
                &GaussianMeanStd::default(),
                DVector::from_vec(vec![0.0, 1.5]),
                20,
            ),
        ),
    ];
    for (name, (start, first, gnorm)) in checks {
        println!("{name}: L0 = {start:.5}, L1 = {first:.5}, |grad| after = {gnorm:.3e}");
        assert!(first < start, "{name}");
        // Damping 1e-3 leaves a linear rate of about lambda / (lambda + mu_min)
        // per step; 20 steps bring the gradient far below 1e-6.
        assert!(gnorm < 1e-6, "{name}: {gnorm}");
    }
}

/// The default constructors are the documented generators.
#[test]
fn defaults_are_the_documented_generators() {
    assert_eq!(
        LogisticRegression::default(),
        LogisticRegression::generate(1, 64, 3).unwrap()
    );
    assert_eq!(
        SoftmaxRegression::default(),
        SoftmaxRegression::generate(1, 64, 3, 3).unwrap()
    );
    assert_eq!(
        LeastSquares::default(),
        LeastSquares::generate(1, 64, 3, 0.5).unwrap()
    );
    assert_eq!(
        GaussianData::default(),
        GaussianData::generate(1, 64, 1.0, 2.0).unwrap()
    );
    let c = NaturalGradientConfig::default();
    assert_eq!((c.lr, c.damping), (1.0, 1e-3));
}
