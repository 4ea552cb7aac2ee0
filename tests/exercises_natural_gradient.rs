//! The numeric answers of the natural-gradient chapter's exercises, checked with
//! the crate.
//!
//! Rounding model: `u = 2^-53`; tolerances are written in units of `2^-52 = 2u`
//! and double a first-order count of roundings.

use descent::problems::gaussian::{GaussianData, GaussianMeanLogStd, GaussianMeanStd};
use descent::problems::regression::LeastSquares;
use descent::second_order::cg::{CgConfig, conjugate_gradient};
use descent::second_order::natural::{
    Model, NaturalGradient, NaturalGradientConfig, empirical_fisher, gradient, kl_hessian,
    natural_direction, per_example_gradients,
};
use nalgebra::{DMatrix, DVector};

const ULP: f64 = f64::EPSILON;

// claim: exercise-natural-gradient-1
#[test]
fn exercise_natural_gradient_1_gaussian_fisher() {
    // F = diag(1/sigma^2, 2/sigma^2) in (nu, sigma) and diag(1/sigma^2, 2) in
    // (nu, log sigma). Checked against the crate's Hessian of the KL divergence
    // (second-order dual numbers, an independent route), which is a mean of 64
    // identical per-example Hessians: 64 additions and a division, a few
    // roundings each on numbers of size 2/sigma^2, so 256 units of 2^-52 of the
    // largest entry is a wide margin.
    let data = GaussianData::default();
    for (nu, sigma) in [(0.0, 1.0), (1.5, 0.5), (-2.0, 3.0)] {
        let std_model = GaussianMeanStd::new(data.clone());
        let theta = DVector::from_vec(vec![nu, sigma]);
        let kl = kl_hessian(&std_model, &theta).unwrap();
        let expect = DMatrix::from_diagonal(&DVector::from_vec(vec![
            1.0 / (sigma * sigma),
            2.0 / (sigma * sigma),
        ]));
        let tol = 256.0 * ULP * expect.amax();
        assert!((&kl - &expect).amax() <= tol, "{kl} against {expect}");
        assert!((std_model.fisher(&theta).unwrap() - &expect).amax() <= tol);

        let log_model = GaussianMeanLogStd::new(data.clone());
        let theta = DVector::from_vec(vec![nu, sigma.ln()]);
        let kl = kl_hessian(&log_model, &theta).unwrap();
        let expect = DMatrix::from_diagonal(&DVector::from_vec(vec![1.0 / (sigma * sigma), 2.0]));
        let tol = 256.0 * ULP * expect.amax();
        assert!((&kl - &expect).amax() <= tol, "{kl} against {expect}");
    }
}

// claim: exercise-natural-gradient-2
#[test]
fn exercise_natural_gradient_2_fisher_scoring_is_heron() {
    // From nu = the sample mean, the natural-gradient step with rate 1 and no
    // damping maps sigma to (sigma^2 + S) / (2 sigma), S the mean squared
    // deviation: Heron's iteration for sqrt(S), which converges quadratically.
    let data = GaussianData::default();
    let (mean, sd) = data.mle();
    let s = sd * sd;
    let model = GaussianMeanStd::new(data.clone());
    let mut stepper = NaturalGradient::new(NaturalGradientConfig {
        lr: 1.0,
        damping: 0.0,
    })
    .unwrap();
    let mut theta = DVector::from_vec(vec![mean, 0.5]);
    let mut sigma = 0.5;
    let mut errors = Vec::new();
    for _ in 0..8 {
        stepper.step(&model, &mut theta).unwrap();
        sigma = (sigma * sigma + s) / (2.0 * sigma);
        // The crate's gradient sums 64 per-example terms, and the Heron update
        // rounds a few times: within 2^-40 of sigma (about 4000 units) while
        // the error shrinks, and the mean moves by rounding only.
        assert!(
            (theta[1] - sigma).abs() <= 4096.0 * ULP * sigma,
            "{} against {sigma}",
            theta[1]
        );
        assert!((theta[0] - mean).abs() <= 4096.0 * ULP * (1.0 + mean.abs()));
        errors.push((theta[1] - sd).abs());
    }
    // Quadratic convergence: e_{k+1} = e_k^2 / (2 sigma_k) while above rounding.
    for k in 0..3 {
        let ratio = errors[k + 1] / (errors[k] * errors[k]);
        assert!(ratio > 0.0 && ratio < 1.0 / sd, "step {k}: ratio {ratio}");
    }
    assert!(errors[7] <= 64.0 * ULP * sd);

    // In (nu, log sigma) the same natural gradient, as a finite step, is not
    // Heron's: sigma is multiplied by exp((S / sigma^2 - 1) / 2).
    let log_model = GaussianMeanLogStd::new(data);
    let mut stepper = NaturalGradient::new(NaturalGradientConfig {
        lr: 1.0,
        damping: 0.0,
    })
    .unwrap();
    let mut theta = DVector::from_vec(vec![mean, 0.5f64.ln()]);
    stepper.step(&log_model, &mut theta).unwrap();
    let expect = 0.5 * ((s / 0.25 - 1.0) / 2.0).exp();
    assert!((theta[1].exp() - expect).abs() <= 4096.0 * ULP * expect);
    let heron = (0.25 + s) / 1.0;
    assert!((expect - heron).abs() > 1.0);
}

// claim: exercise-natural-gradient-3
#[test]
fn exercise_natural_gradient_3_damping_and_cg_iterations() {
    // Diagonal operator with eigenvalues spread over [0, 100], a quarter of them
    // zero (a singular Fisher). With damping delta the damped operator has
    // condition kappa = (100 + delta) / delta, and CG's energy-norm error after k
    // iterations is at most 2 ((sqrt(kappa) - 1)/(sqrt(kappa) + 1))^k times the
    // initial one (in exact arithmetic; CG's rounding on a well-scaled diagonal
    // problem stays near 1e-13 relative, far below the values checked).
    let dim = 2000;
    let lambda = DVector::from_fn(dim, |i, _| {
        if i % 4 == 0 {
            0.0
        } else {
            100.0 * (i as f64 / dim as f64)
        }
    });
    let g = DVector::from_fn(dim, |i, _| 1.0 + (i % 3) as f64);
    let rate = |kappa: f64| (kappa.sqrt() - 1.0) / (kappa.sqrt() + 1.0);
    // The iteration count the bound promises for a 1e-6 reduction.
    let needed = |kappa: f64| ((2e6f64).ln() / (1.0 / rate(kappa)).ln()).ceil() as usize;
    assert_eq!(needed(101.0), 73);
    assert_eq!(needed(10001.0), 726);
    for delta in [1.0, 0.01] {
        let kappa = (100.0 + delta) / delta;
        let exact = DVector::from_fn(dim, |i, _| -g[i] / (lambda[i] + delta));
        let energy = |e: &DVector<f64>| {
            (0..dim)
                .map(|i| (lambda[i] + delta) * e[i] * e[i])
                .sum::<f64>()
                .sqrt()
        };
        let e0 = energy(&exact);
        for k in [10, 40, 73] {
            let sol = conjugate_gradient(
                |p| p.component_mul(&lambda),
                &g,
                delta,
                CgConfig {
                    tol: 0.0,
                    max_iters: k,
                },
            )
            .unwrap();
            assert_eq!(sol.iterations, k);
            let ratio = energy(&(&sol.d - &exact)) / e0;
            let bound = 2.0 * rate(kappa).powi(k as i32);
            assert!(
                ratio <= bound + 1e-12,
                "delta {delta}, k {k}: {ratio:e} above {bound:e}"
            );
            if delta == 1.0 && k == 73 {
                assert!(ratio <= 1e-6);
            }
        }
    }
}

// claim: exercise-natural-gradient-4
#[test]
fn exercise_natural_gradient_4_empirical_fisher_caps_the_decrease() {
    // With F_emp = Sigma + gbar gbar', Sherman-Morrison gives
    // gbar' F_emp^-1 gbar = q / (1 + q), q = gbar' Sigma^-1 gbar: always below 1,
    // however large the gradient. Far from the optimum q is large and the value
    // is close to 1; the true Fisher's g' F^-1 g grows with the gradient.
    let model = LeastSquares::generate(4, 30, 3, 0.5).unwrap();
    for scale in [0.0, 1.0, 10.0, 100.0] {
        let theta = DVector::from_vec(vec![scale, -scale, 0.5 * scale]);
        let g = gradient(&model, &theta).unwrap();
        let f_emp = empirical_fisher(&model, &theta).unwrap();
        // Sigma from the per-example gradients themselves, independently of
        // the empirical Fisher: their covariance, with 1/N.
        let per = per_example_gradients(&model, &theta).unwrap();
        let n = per.nrows() as f64;
        let centred = DMatrix::from_fn(per.nrows(), 3, |r, c| per[(r, c)] - g[c]);
        let sigma = centred.tr_mul(&centred) / n;
        let d = natural_direction(&f_emp, &g, 0.0).unwrap();
        let decrease = -g.dot(&d);
        let q = -g.dot(&natural_direction(&sigma, &g, 0.0).unwrap());
        // Two Cholesky solves of matrices whose condition numbers stay below 1e4
        // here: a relative error of order 1e4 * 3 * 2^-52, covered by 1e-10.
        assert!(
            (decrease - q / (1.0 + q)).abs() <= 1e-10,
            "scale {scale}: {decrease} against {}",
            q / (1.0 + q)
        );
        assert!(decrease < 1.0);
        let f = model.fisher(&theta).unwrap();
        let true_decrease = -g.dot(&natural_direction(&f, &g, 0.0).unwrap());
        if scale >= 10.0 {
            assert!(true_decrease > 100.0, "scale {scale}: {true_decrease}");
        }
    }
}
