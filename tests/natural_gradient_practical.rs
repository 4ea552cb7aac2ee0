//! Practical natural gradient (`src/second_order/cg.rs`): Fisher-vector products
//! and the conjugate-gradient solve of the damped Fisher system.
//!
//! Rounding model: `u = 2^-53`. A Fisher-vector product and the product of the
//! assembled Fisher with a vector are two evaluations of the same sum of
//! `N (k + dim)` products; each entry of either differs from the exact value by
//! at most about `(N + k + dim) u` times the sum of the absolute values of its
//! terms. The tests bound that sum by `|F|_abs |v|_abs` computed entrywise.

use descent::problems::Objective;
use descent::problems::regression::{LeastSquares, LogisticRegression, SoftmaxRegression};
use descent::second_order::cg::{
    CgConfig, CgError, conjugate_gradient, fisher_vector_product, natural_direction_cg,
};
use descent::second_order::natural::{Model, gradient, natural_direction};
use nalgebra::{DMatrix, DVector, SymmetricEigen};

const U: f64 = f64::EPSILON / 2.0;

/// Checks `F v` against the assembled Fisher for a few vectors.
fn fvp_matches<M: Model>(model: &M, theta: &DVector<f64>) {
    let f = model.fisher(theta).unwrap();
    let dim = model.dim();
    let terms = (model.examples() + 2 * dim + 4) as f64;
    for k in 0..dim {
        let v = DVector::from_fn(dim, |i, _| {
            ((i * 7 + k * 3) % 5) as f64 - 2.0 + 0.25 * k as f64
        });
        let fast = fisher_vector_product(model, theta, &v).unwrap();
        let slow = &f * &v;
        let scale = f.abs() * v.abs();
        for i in 0..dim {
            // Twice the first-order bound, plus the same for the two orders of
            // summation inside the assembled F: 4 terms u |F| |v|.
            assert!(
                (fast[i] - slow[i]).abs() <= 4.0 * terms * U * scale[i] + f64::MIN_POSITIVE,
                "entry {i}: {} against {}",
                fast[i],
                slow[i]
            );
        }
    }
}

/// The condition number of `F + damping I`.
fn condition(f: &DMatrix<f64>, damping: f64) -> f64 {
    let e = SymmetricEigen::new(f.clone()).eigenvalues;
    (e.max() + damping) / (e.min().max(0.0) + damping)
}

/// CG on Fisher-vector products against the Cholesky solve of the assembled
/// system. With the true residual `r = (F + damping I) d_cg + g`, the error of CG's
/// answer is at most `cond |r| / |g|` relative, and Cholesky's at most
/// `c dim u cond` (Higham, Theorem 10.4, with c = 8 here); the test allows their
/// sum, doubled.
fn cg_matches_cholesky<M: Model>(model: &M, theta: &DVector<f64>, damping: f64) -> usize {
    let g = gradient(model, theta).unwrap();
    let f = model.fisher(theta).unwrap();
    let config = CgConfig::default();
    let sol = natural_direction_cg(model, theta, &g, damping, config).unwrap();
    let chol = natural_direction(&f, &g, damping).unwrap();
    let mut a = f.clone();
    for i in 0..a.nrows() {
        a[(i, i)] += damping;
    }
    let true_residual = (&a * &sol.d + &g).norm() / g.norm();
    // The recursive residual drifts from the true one by rounding only: both
    // below 10 tol.
    assert!(
        true_residual <= 10.0 * config.tol,
        "true residual {true_residual:e}"
    );
    let cond = condition(&f, damping);
    let dim = model.dim() as f64;
    let bound = 2.0 * cond * (true_residual + 8.0 * dim * U);
    let err = (&sol.d - &chol).norm() / chol.norm();
    assert!(
        err <= bound,
        "error {err:e} above {bound:e} (cond {cond:e})"
    );
    sol.iterations
}

// claim: natural-gradient-cg
#[test]
fn fisher_vector_products_match_the_assembled_fisher() {
    let logistic = LogisticRegression::generate(5, 40, 4).unwrap();
    fvp_matches(&logistic, &DVector::from_vec(vec![0.3, -0.2, 0.5, 0.1]));
    let softmax = SoftmaxRegression::generate(6, 30, 3, 3).unwrap();
    let theta = DVector::from_fn(softmax.dim(), |i, _| 0.1 * i as f64 - 0.4);
    fvp_matches(&softmax, &theta);
    let ls = LeastSquares::generate(7, 25, 5, 0.3).unwrap();
    fvp_matches(&ls, &DVector::zeros(5));
}

// claim: natural-gradient-cg
#[test]
fn conjugate_gradient_matches_the_cholesky_solve() {
    let logistic = LogisticRegression::generate(5, 40, 4).unwrap();
    let theta = DVector::from_vec(vec![0.3, -0.2, 0.5, 0.1]);
    for damping in [0.0, 1e-3, 1.0] {
        let iters = cg_matches_cholesky(&logistic, &theta, damping);
        // Finite termination: at most dim iterations in exact arithmetic; allow
        // a few more for rounding (dim = 4 here, and the tolerance is 1e-10).
        assert!(iters <= 4 + 4, "{iters} iterations");
    }
    let softmax = SoftmaxRegression::generate(6, 30, 3, 3).unwrap();
    let theta = DVector::from_fn(softmax.dim(), |i, _| 0.1 * i as f64 - 0.4);
    // Softmax with one weight vector per class has a singular Fisher: damping
    // is needed, and CG converges on the damped system.
    for damping in [1e-3, 0.1] {
        cg_matches_cholesky(&softmax, &theta, damping);
    }
    let ls = LeastSquares::generate(7, 25, 5, 0.3).unwrap();
    let iters = cg_matches_cholesky(&ls, &DVector::zeros(5), 0.0);
    assert!(iters <= 5 + 4, "{iters} iterations");
}

// claim: natural-gradient-cg
#[test]
fn conjugate_gradient_refuses_bad_input() {
    let g = DVector::from_vec(vec![1.0, -2.0]);
    let identity = |p: &DVector<f64>| p.clone();
    let config = CgConfig::default();
    let hyper = |e: CgError| match e {
        CgError::Hyper(h) => h.param,
        other => panic!("expected a hyperparameter error, got {other:?}"),
    };
    let bad = |tol, max_iters| CgConfig { tol, max_iters };
    assert_eq!(
        hyper(conjugate_gradient(identity, &g, -1.0, config).unwrap_err()),
        "damping"
    );
    assert_eq!(
        hyper(conjugate_gradient(identity, &g, f64::NAN, config).unwrap_err()),
        "damping"
    );
    assert_eq!(
        hyper(conjugate_gradient(identity, &g, 0.0, bad(1.0, 10)).unwrap_err()),
        "tol"
    );
    assert_eq!(
        hyper(conjugate_gradient(identity, &g, 0.0, bad(0.1, 0)).unwrap_err()),
        "max_iters"
    );
    let nan_g = DVector::from_vec(vec![1.0, f64::INFINITY]);
    assert_eq!(
        conjugate_gradient(identity, &nan_g, 0.0, config).unwrap_err(),
        CgError::BadGradient { index: 1 }
    );
    // A negative definite operator is refused at the first curvature.
    let negative = |p: &DVector<f64>| -p;
    assert!(matches!(
        conjugate_gradient(negative, &g, 0.0, config).unwrap_err(),
        CgError::NotPositiveDefinite { iteration: 1, .. }
    ));
    // Damping fixes a merely singular operator: A = 0 with damping 2 solves
    // 2 d = -g in one iteration.
    let zero = |p: &DVector<f64>| p * 0.0;
    let sol = conjugate_gradient(zero, &g, 2.0, config).unwrap();
    assert_eq!(sol.d, -&g / 2.0);
    assert_eq!(sol.iterations, 1);
    // A zero gradient gives the zero direction without any product.
    let sol = conjugate_gradient(
        |_: &DVector<f64>| panic!("no product needed"),
        &DVector::zeros(2),
        0.0,
        config,
    )
    .unwrap();
    assert_eq!((sol.d, sol.iterations), (DVector::zeros(2), 0));
    // A wrong-length operator output and a wrong-length theta are refused.
    let short = |_: &DVector<f64>| DVector::zeros(1);
    assert_eq!(
        conjugate_gradient(short, &g, 0.0, config).unwrap_err(),
        CgError::BadProduct { iteration: 1 }
    );
    let logistic = LogisticRegression::generate(5, 10, 2).unwrap();
    assert!(matches!(
        natural_direction_cg(&logistic, &DVector::zeros(3), &g, 0.0, config).unwrap_err(),
        CgError::Natural(_)
    ));
    assert!(matches!(
        natural_direction_cg(
            &logistic,
            &DVector::zeros(2),
            &DVector::zeros(3),
            0.0,
            config
        )
        .unwrap_err(),
        CgError::BadGradient { index: 3 }
    ));
}
