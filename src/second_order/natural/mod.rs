//! Natural gradient: the Fisher information matrix, its two common stand-ins (the
//! empirical Fisher and the generalized Gauss-Newton matrix), the KL divergence
//! between a model's predictive distributions, and the damped natural-gradient
//! step.
//!
//! A [`Model`] maps parameters `theta` to the outputs `f_n(theta)` of each example
//! `n` (a logit, a vector of logits, a mean, a mean and a scale), and a [`Family`]
//! turns outputs into a distribution `p(y | f)` over the example's outcome `y`.
//! The per-example log-likelihood is `ln p(y | f_n(theta))`, written once for any
//! dual-number type, so scores, Hessians and Jacobians are exact.
//!
//! The Fisher matrix of a model is the expected outer product of the score under
//! the model's own predictive distribution, averaged over examples:
//!
//! ```text
//! F(theta) = (1/N) sum_n E_{y ~ p(. | f_n(theta))} [ s_n(y) s_n(y)' ],
//! s_n(y) = grad_theta ln p(y | f_n(theta)).
//! ```
//!
//! With `J_n` the Jacobian of `f_n` and `F_out(f)` the Fisher of the family in its
//! own outputs, `F = (1/N) sum_n J_n' F_out(f_n) J_n`. For the models here `J_n`
//! is built from the rows of the feature matrix `X`, so each model assembles `F`
//! with matrix products, `X' W X` with `W` diagonal (logistic, least squares) or
//! block-diagonal (softmax), never as a loop of per-example outer products.
//!
//! The damped natural-gradient direction solves `(F + lambda I) d = -g` by a
//! Cholesky factorization; no inverse is formed.

//!
//! The module is split along its seams: `error` ([`NaturalError`]), `family`
//! (outcomes and output families), `model` (the [`Model`] trait and what follows
//! from it), `stepper` (the damped direction and [`NaturalGradient`]) and
//! `models` (the problems of `crate::problems` as models). Every item is
//! re-exported here.

mod error;
mod family;
mod model;
mod models;
mod stepper;

pub use error::*;
pub use family::*;
pub use model::*;
pub use stepper::*;
