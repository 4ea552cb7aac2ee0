//! Practical natural gradient: Fisher-vector products without forming the Fisher
//! matrix, and the conjugate-gradient solve of the damped system
//! `(F + damping I) d = -g` that uses them.
//!
//! ```text
//! input: gradient g, damping delta >= 0, products v -> F v, tolerance tol, max_iters
//! d <- 0, r <- -g, p <- r                       (r is the residual -g - (F + delta I) d)
//! repeat at most max_iters times:
//!     if |r| <= tol |g|: stop
//!     q <- F p + delta p                        (one Fisher-vector product)
//!     curvature <- p.q; if curvature <= 0: refuse (not positive definite)
//!     a <- (r.r) / curvature
//!     d <- d + a p,  r <- r - a q
//!     p <- r + ((r.r)_new / (r.r)_old) p
//! ```
//!
//! In exact arithmetic conjugate gradient solves a `dim x dim` positive definite
//! system in at most `dim` iterations, and after `k` iterations its error in the
//! energy norm is at most `2 ((sqrt(kappa) - 1)/(sqrt(kappa) + 1))^k` times the
//! initial one (Nocedal and Wright, Numerical Optimization, 5.1; Saad, Iterative
//! Methods for Sparse Linear Systems, 6.11). Each iteration needs one product
//! `F p`; [`fisher_vector_product`] computes it example by example as
//! `J_n' F_out (J_n p)`, so the `dim x dim` Fisher matrix is never formed.

use nalgebra::{DMatrix, DVector};
use num_dual::DualDVec64;

use crate::error::HyperError;
use crate::optim::hyper;
use crate::second_order::natural::{Model, NaturalError};

/// The solver's name in errors.
const NAME: &str = "conjugate_gradient";

/// Hyperparameters of the conjugate-gradient solve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CgConfig {
    /// Stop when the residual's norm is at most `tol` times the gradient's, `tol`
    /// in `[0, 1)` (default `1e-10`).
    pub tol: f64,
    /// The largest number of iterations (products `F p`), at least 1 (default
    /// 100).
    pub max_iters: usize,
}

impl Default for CgConfig {
    fn default() -> Self {
        CgConfig {
            tol: 1e-10,
            max_iters: 100,
        }
    }
}

/// A solution of `(F + damping I) d = -g` and how it was reached.
#[derive(Clone, Debug, PartialEq)]
pub struct CgSolution {
    /// The direction `d`.
    pub d: DVector<f64>,
    /// Iterations taken, one product `F p` each.
    pub iterations: usize,
    /// The recursively updated residual's norm, relative to `|g|`, at exit.
    pub relative_residual: f64,
}

/// Why a conjugate-gradient solve was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CgError {
    /// A hyperparameter outside its range: `tol`, `max_iters` or `damping`.
    #[error(transparent)]
    Hyper(#[from] HyperError),
    /// A model computation was refused (a wrong length, for one).
    #[error(transparent)]
    Natural(#[from] NaturalError),
    /// `g` has the wrong length for the operator, or an entry is not finite.
    #[error(
        "{}: gradient entry {index} is not finite (or the length is wrong)",
        NAME
    )]
    BadGradient {
        /// The first offending index (or the length found, for a wrong length).
        index: usize,
    },
    /// The operator returned a vector of the wrong length or with a non-finite
    /// entry.
    #[error(
        "{}: the operator returned a wrong or non-finite vector at iteration {iteration}",
        NAME
    )]
    BadProduct {
        /// The iteration at which it happened (from 1).
        iteration: usize,
    },
    /// A direction `p` with `p' (F + damping I) p <= 0`: the operator is not
    /// positive definite (for the Fisher, which is positive semi-definite, only
    /// possible with `damping = 0`).
    #[error(
        "{NAME}: curvature {curvature:e} <= 0 at iteration {iteration}; the damped \
         operator is not positive definite (increase the damping)"
    )]
    NotPositiveDefinite {
        /// The iteration at which it happened (from 1).
        iteration: usize,
        /// The curvature `p' (F + damping I) p` found.
        curvature: f64,
    },
}

// claims: natural-gradient-cg, exercise-natural-gradient-3
// ANCHOR: fisher_vector_product
/// The Fisher-vector product `F v = (1/N) sum_n J_n' F_out(f_n) (J_n v)`, one
/// example at a time: `J_n` is the `k x dim` Jacobian of example `n`'s outputs
/// (exact, by dual numbers) and `F_out` the family's Fisher in its outputs. The
/// `dim x dim` matrix `F` is never formed; the work is `O(N k dim)`.
pub fn fisher_vector_product<M: Model>(
    model: &M,
    theta: &DVector<f64>,
    v: &DVector<f64>,
) -> Result<DVector<f64>, NaturalError> {
    let dim = model.dim();
    for (what, len) in [("params", theta.len()), ("vector", v.len())] {
        if len != dim {
            return Err(crate::error::StepError::LengthMismatch {
                what,
                expected: dim,
                found: len,
            }
            .into());
        }
    }
    let family = model.family();
    let mut out = DVector::zeros(dim);
    for n in 0..model.examples() {
        let (f, jn): (DVector<f64>, DMatrix<f64>) =
            num_dual::jacobian(|t: DVector<DualDVec64>| model.outputs(&t, n), theta);
        let u = family.output_fisher(&f) * (&jn * v);
        out += jn.tr_mul(&u);
    }
    Ok(out / model.examples() as f64)
}
// ANCHOR_END: fisher_vector_product

// claims: natural-gradient-cg, exercise-natural-gradient-3
// ANCHOR: conjugate_gradient
/// Solves `(A + damping I) d = -g` by conjugate gradient, where `apply(p)` returns
/// `A p` for a symmetric positive semi-definite `A`. Refuses a bad `tol`,
/// `max_iters` or `damping`, a non-finite gradient, an operator returning a
/// wrong or non-finite vector, and a non-positive curvature. Stops when the
/// residual is at most `tol |g|` or after `max_iters` products.
pub fn conjugate_gradient(
    mut apply: impl FnMut(&DVector<f64>) -> DVector<f64>,
    g: &DVector<f64>,
    damping: f64,
    config: CgConfig,
) -> Result<CgSolution, CgError> {
    hyper::check(NAME, "tol", config.tol, "[0, 1)", |t| {
        (0.0..1.0).contains(&t)
    })?;
    if config.max_iters == 0 {
        return Err(HyperError {
            optimizer: NAME,
            param: "max_iters",
            value: "0".into(),
            range: ">= 1",
        }
        .into());
    }
    hyper::non_negative(NAME, "damping", damping)?;
    if let Some(index) = g.iter().position(|x| !x.is_finite()) {
        return Err(CgError::BadGradient { index });
    }
    let g_norm = g.norm();
    let mut d = DVector::zeros(g.len());
    let mut r = -g;
    let mut p = r.clone();
    let mut rr = r.dot(&r);
    let mut iterations = 0;
    while rr.sqrt() > config.tol * g_norm && iterations < config.max_iters {
        iterations += 1;
        let mut q = apply(&p);
        if q.len() != p.len() || q.iter().any(|x| !x.is_finite()) {
            return Err(CgError::BadProduct {
                iteration: iterations,
            });
        }
        q.axpy(damping, &p, 1.0);
        let curvature = p.dot(&q);
        if curvature.is_nan() || curvature <= 0.0 {
            return Err(CgError::NotPositiveDefinite {
                iteration: iterations,
                curvature,
            });
        }
        let a = rr / curvature;
        d.axpy(a, &p, 1.0);
        r.axpy(-a, &q, 1.0);
        let rr_new = r.dot(&r);
        p = &r + &p * (rr_new / rr);
        rr = rr_new;
    }
    let relative_residual = if g_norm > 0.0 {
        rr.sqrt() / g_norm
    } else {
        0.0
    };
    Ok(CgSolution {
        d,
        iterations,
        relative_residual,
    })
}
// ANCHOR_END: conjugate_gradient

/// The damped natural-gradient direction of `model` at `theta` for the gradient
/// `g`, by conjugate gradient on Fisher-vector products: `(F + damping I) d = -g`
/// without forming `F`.
pub fn natural_direction_cg<M: Model>(
    model: &M,
    theta: &DVector<f64>,
    g: &DVector<f64>,
    damping: f64,
    config: CgConfig,
) -> Result<CgSolution, CgError> {
    if g.len() != model.dim() {
        return Err(CgError::BadGradient { index: g.len() });
    }
    // A wrong-length theta is reported before the iteration starts.
    fisher_vector_product(model, theta, &DVector::zeros(model.dim()))?;
    let mut failure = None;
    let solution = conjugate_gradient(
        |p| match fisher_vector_product(model, theta, p) {
            Ok(q) => q,
            Err(e) => {
                failure = Some(e);
                DVector::from_element(p.len(), f64::NAN)
            }
        },
        g,
        damping,
        config,
    );
    match failure {
        Some(e) => Err(e.into()),
        None => solution,
    }
}
