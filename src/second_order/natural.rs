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

use nalgebra::{Cholesky, DMatrix, DVector};
use num_dual::{Dual2DVec64, DualDVec64, DualNum};

use crate::error::{HyperError, StepError};
use crate::optim::hyper;
use crate::problems::Objective;
use crate::problems::gaussian::{
    GaussianMeanLogStd, GaussianMeanStd, HALF_LN_TWO_PI, gaussian_log_std_nll, gaussian_nll,
};
use crate::problems::regression::{
    LeastSquares, LogisticRegression, SoftmaxRegression, bernoulli_logit_nll,
    categorical_logits_nll, gaussian_mean_nll, log_sum_exp, row_dot, sigmoid, softmax, softplus,
};

// ---------------------------------------------------------------------------
// Errors.

/// Why a natural-gradient computation or step was refused. A refused step leaves
/// the parameters and the stepper exactly as they were.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NaturalError {
    /// A hyperparameter (learning rate or damping) outside its range.
    #[error(transparent)]
    Hyper(#[from] HyperError),
    /// A length mismatch, a non-finite gradient, or a step that would make a
    /// parameter non-finite.
    #[error(transparent)]
    Step(#[from] StepError),
    /// `F + lambda I` is not numerically positive definite: its Cholesky
    /// factorization failed.
    #[error(
        "F + lambda I with lambda = {damping:?} is not positive definite \
         (Cholesky failed); increase the damping"
    )]
    NotPositiveDefinite {
        /// The damping `lambda` that was added.
        damping: f64,
    },
    /// A matrix entry is NaN or infinite.
    #[error("{what}[({row}, {col})] is not finite")]
    NonFiniteMatrix {
        /// Which matrix: `"fisher"`.
        what: &'static str,
        /// The row.
        row: usize,
        /// The column.
        col: usize,
    },
    /// A parameter outside the model's domain, such as `sigma <= 0`.
    #[error("{param} = {value:?} is outside {range}")]
    OutsideDomain {
        /// The parameter, e.g. `"theta[1] (sigma)"`.
        param: &'static str,
        /// The rejected value.
        value: f64,
        /// The valid range.
        range: &'static str,
    },
}

fn check_len(what: &'static str, expected: usize, found: usize) -> Result<(), NaturalError> {
    if expected == found {
        Ok(())
    } else {
        Err(StepError::LengthMismatch {
            what,
            expected,
            found,
        }
        .into())
    }
}

// ---------------------------------------------------------------------------
// Outcomes and output families.

/// The outcome `y` of one example.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    /// A class label: 0 or 1 for a Bernoulli output, `0..K` for a categorical one.
    Class(usize),
    /// A real value, for Gaussian outputs.
    Real(f64),
}

/// The predictive distribution of one example, for code that takes expectations
/// over outcomes.
#[derive(Clone, Debug, PartialEq)]
pub enum Predictive {
    /// Probabilities of the classes `0..K` (a Bernoulli output has `K = 2`,
    /// class 1 being the event `y = 1`).
    Categorical(DVector<f64>),
    /// A Gaussian with this mean and standard deviation.
    Gaussian {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        std: f64,
    },
}

/// An output distribution `p(y | f)` and the meaning of the outputs `f`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Family {
    /// One output, the logit `z`; `y` in {0, 1} with `p(1) = sigmoid(z)`. Canonical.
    BernoulliLogit,
    /// `classes` outputs, the logits `z`; `p(k) = softmax(z)_k`. Canonical.
    CategoricalLogits {
        /// The number of classes `K`.
        classes: usize,
    },
    /// One output, the mean `mu`; `y ~ N(mu, var)` with `var` fixed. Canonical
    /// (up to the factor `1/var`).
    GaussianMean {
        /// The fixed variance.
        var: f64,
    },
    /// Two outputs `(mu, sigma)`; `y ~ N(mu, sigma^2)`. Not canonical.
    GaussianMeanStd,
    /// Two outputs `(mu, s)`, `s = ln sigma`; `y ~ N(mu, e^{2s})`. Not canonical.
    GaussianMeanLogStd,
}

impl Family {
    /// The number of outputs `k` the family reads.
    pub fn outputs(&self) -> usize {
        match self {
            Family::BernoulliLogit | Family::GaussianMean { .. } => 1,
            Family::CategoricalLogits { classes } => *classes,
            Family::GaussianMeanStd | Family::GaussianMeanLogStd => 2,
        }
    }

    /// `ln p(y | f)`, for any number type. NaN when `f` has the wrong length or
    /// `y` is not an outcome of the family (a real value for a class output, a
    /// class out of range).
    pub fn log_lik<D: DualNum<Primitive = f64>>(&self, f: &DVector<D>, y: Outcome) -> D {
        let nan = || D::from(f64::NAN);
        if f.len() != self.outputs() {
            return nan();
        }
        match (self, y) {
            (Family::BernoulliLogit, Outcome::Class(c)) if c <= 1 => {
                -bernoulli_logit_nll(&f[0], c as f64)
            }
            (Family::CategoricalLogits { .. }, Outcome::Class(c)) => {
                -categorical_logits_nll(f.as_slice(), c)
            }
            (Family::GaussianMean { var }, Outcome::Real(v)) => {
                -(gaussian_mean_nll(&f[0], v, *var) + var.ln() * 0.5 + HALF_LN_TWO_PI)
            }
            (Family::GaussianMeanStd, Outcome::Real(v)) => -gaussian_nll(v, &f[0], &f[1]),
            (Family::GaussianMeanLogStd, Outcome::Real(v)) => {
                -gaussian_log_std_nll(v, &f[0], &f[1])
            }
            _ => nan(),
        }
    }

    /// The predictive distribution at outputs `f` (NaN entries for a wrong length).
    pub fn predictive(&self, f: &DVector<f64>) -> Predictive {
        if f.len() != self.outputs() {
            return match self {
                Family::BernoulliLogit | Family::CategoricalLogits { .. } => {
                    Predictive::Categorical(DVector::from_element(self.outputs().max(2), f64::NAN))
                }
                _ => Predictive::Gaussian {
                    mean: f64::NAN,
                    std: f64::NAN,
                },
            };
        }
        match self {
            Family::BernoulliLogit => {
                Predictive::Categorical(DVector::from_vec(vec![sigmoid(-f[0]), sigmoid(f[0])]))
            }
            Family::CategoricalLogits { .. } => Predictive::Categorical(softmax(f)),
            Family::GaussianMean { var } => Predictive::Gaussian {
                mean: f[0],
                std: var.sqrt(),
            },
            Family::GaussianMeanStd => Predictive::Gaussian {
                mean: f[0],
                std: f[1],
            },
            Family::GaussianMeanLogStd => Predictive::Gaussian {
                mean: f[0],
                std: f[1].exp(),
            },
        }
    }

    /// `KL(p(. | f) || p(. | f2))` in closed form, generic over the number type of
    /// `f2`, so that its derivatives in `f2` are exact. NaN for wrong lengths.
    pub fn kl<D: DualNum<Primitive = f64>>(&self, f: &DVector<f64>, f2: &DVector<D>) -> D {
        let k = self.outputs();
        if f.len() != k || f2.len() != k {
            return D::from(f64::NAN);
        }
        match self {
            Family::BernoulliLogit => {
                // ln p(1) = -softplus(-z), ln p(0) = -softplus(z).
                let (z, z2) = (f[0], &f2[0]);
                let p1 = sigmoid(z);
                let p0 = sigmoid(-z);
                let l1 = -softplus(&-z);
                let l0 = -softplus(&z);
                (softplus(&-z2.clone()) + l1) * p1 + (softplus(z2) + l0) * p0
            }
            Family::CategoricalLogits { .. } => {
                let p = softmax(f);
                let lse = log_sum_exp(f.as_slice());
                let lse2 = log_sum_exp(f2.as_slice());
                let mut total = D::from(0.0);
                for i in 0..k {
                    // p_i (ln p_i - ln p2_i) with ln p_i = z_i - lse.
                    let term = lse2.clone() - f2[i].clone() + (f[i] - lse);
                    total += term * p[i];
                }
                total
            }
            Family::GaussianMean { var } => {
                let r = f2[0].clone() - f[0];
                r.clone() * r / (2.0 * var)
            }
            Family::GaussianMeanStd => {
                // ln(sigma2 / sigma) + (sigma^2 + (mu - mu2)^2) / (2 sigma2^2) - 1/2.
                let (mu, sigma) = (f[0], f[1]);
                let r = f2[0].clone() - mu;
                let s2 = f2[1].clone();
                s2.ln() - sigma.ln() + (r.clone() * r + sigma * sigma) / (s2.clone() * s2 * 2.0)
                    - 0.5
            }
            Family::GaussianMeanLogStd => {
                // s2 - s + (e^{2s} + (mu - mu2)^2) e^{-2 s2} / 2 - 1/2.
                let (mu, s) = (f[0], f[1]);
                let r = f2[0].clone() - mu;
                let s2 = f2[1].clone();
                s2.clone() - s + (r.clone() * r + (2.0 * s).exp()) * (s2 * -2.0).exp() * 0.5 - 0.5
            }
        }
    }

    /// The Fisher matrix of the family in its own outputs, in closed form:
    /// `p(1 - p)` (Bernoulli), `diag(p) - p p'` (categorical), `1/var` (Gaussian
    /// mean), `diag(1/sigma^2, 2/sigma^2)` in `(mu, sigma)` and
    /// `diag(1/sigma^2, 2)` in `(mu, ln sigma)`. NaN entries for a wrong length.
    pub fn output_fisher(&self, f: &DVector<f64>) -> DMatrix<f64> {
        let k = self.outputs();
        if f.len() != k {
            return DMatrix::from_element(k, k, f64::NAN);
        }
        match self {
            Family::BernoulliLogit => DMatrix::from_element(1, 1, sigmoid(f[0]) * sigmoid(-f[0])),
            Family::CategoricalLogits { .. } => {
                let p = softmax(f);
                DMatrix::from_diagonal(&p) - &p * p.transpose()
            }
            Family::GaussianMean { var } => DMatrix::from_element(1, 1, 1.0 / var),
            Family::GaussianMeanStd => {
                let v = f[1] * f[1];
                DMatrix::from_diagonal(&DVector::from_vec(vec![1.0 / v, 2.0 / v]))
            }
            Family::GaussianMeanLogStd => {
                let v = (2.0 * f[1]).exp();
                DMatrix::from_diagonal(&DVector::from_vec(vec![1.0 / v, 2.0]))
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The model trait.

/// A conditional model `p_theta(y | x_n) = p(y | f_n(theta))` over `N` examples.
///
/// A model is an [`Objective`] (its `dim()` is the number of parameters and its
/// value the mean negative log-likelihood of the observed outcomes, possibly
/// without a constant); [`mean_nll`] gives that value from the model's own
/// per-example log-likelihoods.
///
/// Implementors give the outputs `f_n(theta)`, once for every number type, the
/// output family, the observed outcomes and the exact Fisher matrix assembled
/// with matrix products; everything else (scores, per-example gradients, the
/// empirical Fisher, the generalized Gauss-Newton matrix, the KL divergence) is
/// derived from these by the functions of this module.
pub trait Model: Objective {
    /// The number of examples `N` (at least 1).
    fn examples(&self) -> usize;

    /// The output distribution family.
    fn family(&self) -> Family;

    /// The observed outcome of example `n` (NaN or a class out of range when `n`
    /// is out of range).
    fn observed(&self, n: usize) -> Outcome;

    /// The outputs `f_n(theta)` of example `n`, a vector of length
    /// `family().outputs()`; NaN entries when `theta` has the wrong length or `n`
    /// is out of range.
    fn outputs<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize) -> DVector<D>;

    /// The exact Fisher matrix `F(theta)`, `dim() x dim()`, symmetric.
    fn fisher(&self, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError>;

    /// `ln p_theta(y | x_n)`, for any number type.
    fn log_lik<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize, y: Outcome) -> D {
        self.family().log_lik(&self.outputs(theta, n), y)
    }

    /// The predictive distribution `p_theta(. | x_n)`.
    fn predictive(&self, theta: &DVector<f64>, n: usize) -> Predictive {
        self.family().predictive(&self.outputs(theta, n))
    }
}

/// The mean negative log-likelihood of the observed outcomes,
/// `-(1/N) sum_n ln p_theta(y_n | x_n)`, for any number type.
pub fn mean_nll<M: Model, D: DualNum<Primitive = f64>>(model: &M, theta: &DVector<D>) -> D {
    let mut total = D::from(0.0);
    for n in 0..model.examples() {
        total += model.log_lik(theta, n, model.observed(n));
    }
    -total / model.examples() as f64
}

/// The exact gradient of [`mean_nll`].
pub fn gradient<M: Model>(model: &M, theta: &DVector<f64>) -> Result<DVector<f64>, NaturalError> {
    check_len("params", model.dim(), theta.len())?;
    Ok(num_dual::gradient(|t: DVector<DualDVec64>| mean_nll(model, &t), theta).1)
}

/// The per-example gradients of the negative log-likelihood, as the rows of an
/// `N x dim` matrix `G`: row `n` is `-grad_theta ln p_theta(y_n | x_n)`. Their
/// mean is [`gradient`].
pub fn per_example_gradients<M: Model>(
    model: &M,
    theta: &DVector<f64>,
) -> Result<DMatrix<f64>, NaturalError> {
    check_len("params", model.dim(), theta.len())?;
    let mut g = DMatrix::zeros(model.examples(), model.dim());
    for n in 0..model.examples() {
        let y = model.observed(n);
        let (_, gn) = num_dual::gradient(|t: DVector<DualDVec64>| -model.log_lik(&t, n, y), theta);
        g.row_mut(n).copy_from(&gn.transpose());
    }
    Ok(g)
}

// claims: empirical-fisher-differs, exercise-natural-gradient-4, exercise-adam-4
// ANCHOR: empirical_fisher
/// The empirical Fisher `(1/N) sum_n g_n g_n' = G'G / N`, with `G` from
/// [`per_example_gradients`]. It uses the observed outcomes, not the model's
/// distribution, and is not the Fisher matrix.
pub fn empirical_fisher<M: Model>(
    model: &M,
    theta: &DVector<f64>,
) -> Result<DMatrix<f64>, NaturalError> {
    let g = per_example_gradients(model, theta)?;
    let mut f = g.tr_mul(&g) / model.examples() as f64;
    f.fill_upper_triangle_with_lower_triangle();
    Ok(f)
}
// ANCHOR_END: empirical_fisher

/// The Jacobians of the outputs, stacked: an `(N k) x dim` matrix whose rows
/// `n k .. (n + 1) k` are `J_n = d f_n / d theta` (`k = family().outputs()`).
pub fn output_jacobian<M: Model>(
    model: &M,
    theta: &DVector<f64>,
) -> Result<DMatrix<f64>, NaturalError> {
    check_len("params", model.dim(), theta.len())?;
    let k = model.family().outputs();
    let mut j = DMatrix::zeros(model.examples() * k, model.dim());
    for n in 0..model.examples() {
        let (_, jn) = num_dual::jacobian(|t: DVector<DualDVec64>| model.outputs(&t, n), theta);
        j.rows_mut(n * k, k).copy_from(&jn);
    }
    Ok(j)
}

/// The generalized Gauss-Newton matrix `(1/N) sum_n J_n' H_n J_n = J' B J`, where
/// `J` is [`output_jacobian`], `H_n` is the Hessian of the loss
/// `-ln p(y_n | f)` in the outputs `f` at `f_n(theta)` and the observed `y_n`, and
/// `B = blockdiag(H_n) / N`. Built as one product `J' (B J)`.
pub fn ggn<M: Model>(model: &M, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError> {
    let j = output_jacobian(model, theta)?;
    let family = model.family();
    let k = family.outputs();
    let n_ex = model.examples() as f64;
    let mut bj = DMatrix::zeros(j.nrows(), j.ncols());
    for n in 0..model.examples() {
        let f = model.outputs(theta, n);
        let y = model.observed(n);
        let (_, _, h) = num_dual::hessian(|v: DVector<Dual2DVec64>| -family.log_lik(&v, y), &f);
        let block = (h / n_ex) * j.rows(n * k, k);
        bj.rows_mut(n * k, k).copy_from(&block);
    }
    let mut g = j.tr_mul(&bj);
    g.fill_upper_triangle_with_lower_triangle();
    Ok(g)
}

/// `KL(p_theta || p_theta2) = (1/N) sum_n KL(p(. | f_n(theta)) || p(. | f_n(theta2)))`,
/// the KL divergence between the model's predictive distributions averaged over
/// examples, generic over the number type of `theta2`. NaN for wrong lengths.
pub fn kl<M: Model, D: DualNum<Primitive = f64>>(
    model: &M,
    theta: &DVector<f64>,
    theta2: &DVector<D>,
) -> D {
    let family = model.family();
    let mut total = D::from(0.0);
    for n in 0..model.examples() {
        total += family.kl(&model.outputs(theta, n), &model.outputs(theta2, n));
    }
    total / model.examples() as f64
}

/// The Hessian in `theta2` of [`kl`] at `theta2 = theta`, by second-order dual
/// numbers. It equals the Fisher matrix.
pub fn kl_hessian<M: Model>(model: &M, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError> {
    check_len("params", model.dim(), theta.len())?;
    Ok(num_dual::hessian(|t: DVector<Dual2DVec64>| kl(model, theta, &t), theta).2)
}

// ---------------------------------------------------------------------------
// The damped natural-gradient direction and the stepper.

// claims: natural-gradient-is-steepest-in-kl, natural-gradient-reparametrization,
//     empirical-fisher-differs, natural-gradient-cg, kfac-demo-gap, exercise-natural-gradient-2,
//     exercise-natural-gradient-4, exercise-newton-5
// ANCHOR: natural_direction
/// The damped natural-gradient direction: the solution `d` of
/// `(F + damping I) d = -grad`, by Cholesky factorization (no inverse formed).
///
/// `fisher` must be square with `grad.len()` rows and finite; it is symmetrized as
/// `(F + F') / 2` before the factorization. Errors: a `damping` that is negative
/// or not finite ([`NaturalError::Hyper`]), wrong lengths or a non-finite
/// gradient ([`NaturalError::Step`]), a non-finite Fisher entry, a failed
/// factorization ([`NaturalError::NotPositiveDefinite`]), or a non-finite result.
pub fn natural_direction(
    fisher: &DMatrix<f64>,
    grad: &DVector<f64>,
    damping: f64,
) -> Result<DVector<f64>, NaturalError> {
    hyper::non_negative(NaturalGradientConfig::NAME, "damping", damping)?;
    let n = grad.len();
    check_len("fisher rows", n, fisher.nrows())?;
    check_len("fisher columns", n, fisher.ncols())?;
    if let Some((index, &value)) = grad.iter().enumerate().find(|(_, g)| !g.is_finite()) {
        return Err(StepError::NonFiniteGradient { index, value }.into());
    }
    for col in 0..n {
        for row in 0..n {
            if !fisher[(row, col)].is_finite() {
                return Err(NaturalError::NonFiniteMatrix {
                    what: "fisher",
                    row,
                    col,
                });
            }
        }
    }
    let mut a = (fisher + fisher.transpose()) * 0.5;
    for i in 0..n {
        a[(i, i)] += damping;
    }
    let chol = Cholesky::new(a).ok_or(NaturalError::NotPositiveDefinite { damping })?;
    let d = -chol.solve(grad);
    if let Some(index) = d.iter().position(|v| !v.is_finite()) {
        return Err(StepError::NonFiniteResult {
            index,
            quantity: "direction",
        }
        .into());
    }
    Ok(d)
}
// ANCHOR_END: natural_direction

/// Hyperparameters of the damped natural-gradient step
/// `theta <- theta + lr d`, `(F + damping I) d = -g`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NaturalGradientConfig {
    /// Learning rate, `lr >= 0` (default 1: Fisher scoring, a Newton step for
    /// canonical models).
    pub lr: f64,
    /// Damping `lambda >= 0` added to the Fisher diagonal (default `1e-3`).
    pub damping: f64,
}

impl NaturalGradientConfig {
    /// The stepper's name in errors.
    pub const NAME: &'static str = "natural_gradient";
}

impl Default for NaturalGradientConfig {
    fn default() -> Self {
        NaturalGradientConfig {
            lr: 1.0,
            damping: 1e-3,
        }
    }
}

/// The damped natural-gradient stepper. Its state is the number of steps taken.
#[derive(Clone, Debug, PartialEq)]
pub struct NaturalGradient {
    config: NaturalGradientConfig,
    steps: u64,
}

impl NaturalGradient {
    /// Builds the stepper, refusing `lr` or `damping` negative or not finite.
    pub fn new(config: NaturalGradientConfig) -> Result<Self, HyperError> {
        hyper::non_negative(NaturalGradientConfig::NAME, "lr", config.lr)?;
        hyper::non_negative(NaturalGradientConfig::NAME, "damping", config.damping)?;
        Ok(NaturalGradient { config, steps: 0 })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &NaturalGradientConfig {
        &self.config
    }

    /// The number of steps taken (refused steps do not count).
    pub fn steps_taken(&self) -> u64 {
        self.steps
    }

    /// The damped natural-gradient direction of `model` at `theta`, from its exact
    /// gradient and Fisher matrix.
    pub fn direction<M: Model>(
        &self,
        model: &M,
        theta: &DVector<f64>,
    ) -> Result<DVector<f64>, NaturalError> {
        let g = gradient(model, theta)?;
        let f = model.fisher(theta)?;
        natural_direction(&f, &g, self.config.damping)
    }

    /// One step on `model`: `theta <- theta + lr d` with `d` from
    /// [`NaturalGradient::direction`]. On error `theta` and the stepper are
    /// unchanged.
    pub fn step<M: Model>(
        &mut self,
        model: &M,
        theta: &mut DVector<f64>,
    ) -> Result<(), NaturalError> {
        let g = gradient(model, theta)?;
        let f = model.fisher(theta)?;
        self.step_preconditioned(theta, &g, &f)
    }

    /// One step from a given gradient and preconditioner `fisher` (the Fisher, or a
    /// stand-in such as the empirical Fisher): `theta <- theta + lr d`,
    /// `(fisher + damping I) d = -grad`. On error `theta` and the stepper are
    /// unchanged.
    pub fn step_preconditioned(
        &mut self,
        theta: &mut DVector<f64>,
        grad: &DVector<f64>,
        fisher: &DMatrix<f64>,
    ) -> Result<(), NaturalError> {
        check_len("grad", theta.len(), grad.len())?;
        let d = natural_direction(fisher, grad, self.config.damping)?;
        let lr = self.config.lr;
        if let Some(index) = (0..theta.len()).find(|&i| !lr.mul_add(d[i], theta[i]).is_finite()) {
            return Err(StepError::NonFiniteResult {
                index,
                quantity: "param",
            }
            .into());
        }
        for i in 0..theta.len() {
            theta[i] = lr.mul_add(d[i], theta[i]);
        }
        self.steps = self.steps.saturating_add(1);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The models of `problems`.

fn nan_outputs<D: DualNum<Primitive = f64>>(k: usize) -> DVector<D> {
    DVector::from_element(k, D::from(f64::NAN))
}

/// `X' diag(w) X / N`, symmetric: rows of `X` scaled by `w`, then one product.
fn weighted_gram(x: &DMatrix<f64>, w: &DVector<f64>) -> DMatrix<f64> {
    let mut wx = x.clone();
    for (i, mut row) in wx.row_iter_mut().enumerate() {
        row *= w[i];
    }
    let mut f = x.tr_mul(&wx) / x.nrows() as f64;
    f.fill_upper_triangle_with_lower_triangle();
    f
}

impl Model for LogisticRegression {
    fn examples(&self) -> usize {
        self.x().nrows()
    }
    fn family(&self) -> Family {
        Family::BernoulliLogit
    }
    fn observed(&self, n: usize) -> Outcome {
        Outcome::Class(self.y().get(n).map_or(usize::MAX, |&v| v as usize))
    }
    /// The logit `z_n = x_n . theta`.
    fn outputs<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize) -> DVector<D> {
        if theta.len() != self.dim() || n >= self.examples() {
            return nan_outputs(1);
        }
        DVector::from_element(1, row_dot(self.x(), n, theta.as_slice()))
    }
    // claims: fisher-score-equals-expected-neg-hessian, seed-fisher-is-negative-hessian,
    //     fisher-is-kl-hessian, fisher-equals-ggn-canonical, natural-gradient-is-steepest-in-kl,
    //     natural-gradient-cg
    // ANCHOR: logistic_fisher
    /// `X' diag(p (1 - p)) X / N`, with `p_n = sigmoid(x_n . theta)`.
    fn fisher(&self, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError> {
        check_len("params", self.dim(), theta.len())?;
        let z = self.x() * theta;
        let w = z.map(|z| sigmoid(z) * sigmoid(-z));
        Ok(weighted_gram(self.x(), &w))
    }
    // ANCHOR_END: logistic_fisher
}

impl Model for SoftmaxRegression {
    fn examples(&self) -> usize {
        self.x().nrows()
    }
    fn family(&self) -> Family {
        Family::CategoricalLogits {
            classes: self.classes(),
        }
    }
    fn observed(&self, n: usize) -> Outcome {
        Outcome::Class(self.y().get(n).copied().unwrap_or(usize::MAX))
    }
    /// The logits, class-major as documented on [`SoftmaxRegression`].
    fn outputs<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize) -> DVector<D> {
        self.logits(theta, n)
    }
    /// Block `(k, l)` (rows `k d .. (k+1) d`, columns `l d .. (l+1) d`) is
    /// `X' diag(w_kl) X / N` with `w_kl[n] = p_nk (delta_kl - p_nl)`: the Kronecker
    /// structure `(diag(p_n) - p_n p_n') (x) x_n x_n'` summed with matrix products.
    fn fisher(&self, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError> {
        check_len("params", self.dim(), theta.len())?;
        let (n, d, k) = (self.x().nrows(), self.x().ncols(), self.classes());
        // Probabilities, N x K.
        let mut p = DMatrix::zeros(n, k);
        for i in 0..n {
            let pi = softmax(&self.logits(theta, i));
            p.row_mut(i).copy_from(&pi.transpose());
        }
        let mut f = DMatrix::zeros(k * d, k * d);
        for a in 0..k {
            for b in 0..=a {
                let w = DVector::from_fn(n, |i, _| {
                    let delta = if a == b { 1.0 } else { 0.0 };
                    p[(i, a)] * (delta - p[(i, b)])
                });
                let block = weighted_gram(self.x(), &w);
                f.view_mut((a * d, b * d), (d, d)).copy_from(&block);
            }
        }
        f.fill_upper_triangle_with_lower_triangle();
        Ok(f)
    }
}

impl Model for LeastSquares {
    fn examples(&self) -> usize {
        self.x().nrows()
    }
    fn family(&self) -> Family {
        Family::GaussianMean {
            var: self.model_var(),
        }
    }
    fn observed(&self, n: usize) -> Outcome {
        Outcome::Real(self.y().get(n).copied().unwrap_or(f64::NAN))
    }
    /// The mean `x_n . theta`.
    fn outputs<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize) -> DVector<D> {
        if theta.len() != self.dim() || n >= self.examples() {
            return nan_outputs(1);
        }
        DVector::from_element(1, row_dot(self.x(), n, theta.as_slice()))
    }
    /// `X'X / (N sigma^2)`; it does not depend on `theta`.
    fn fisher(&self, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError> {
        check_len("params", self.dim(), theta.len())?;
        let w = DVector::from_element(self.examples(), 1.0 / self.model_var());
        Ok(weighted_gram(self.x(), &w))
    }
}

fn check_pair(theta: &DVector<f64>) -> Result<(), NaturalError> {
    check_len("params", 2, theta.len())?;
    if !theta[0].is_finite() {
        return Err(NaturalError::OutsideDomain {
            param: "theta[0] (mu)",
            value: theta[0],
            range: "finite",
        });
    }
    Ok(())
}

impl Model for GaussianMeanStd {
    fn examples(&self) -> usize {
        self.data().samples().len()
    }
    fn family(&self) -> Family {
        Family::GaussianMeanStd
    }
    fn observed(&self, n: usize) -> Outcome {
        Outcome::Real(self.data().samples().get(n).copied().unwrap_or(f64::NAN))
    }
    /// `(mu, sigma)` itself: every example has the same distribution.
    fn outputs<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize) -> DVector<D> {
        if theta.len() != 2 || n >= self.examples() {
            return nan_outputs(2);
        }
        theta.clone()
    }
    /// `diag(1/sigma^2, 2/sigma^2)`; needs `sigma > 0`.
    fn fisher(&self, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError> {
        check_pair(theta)?;
        if !(theta[1].is_finite() && theta[1] > 0.0) {
            return Err(NaturalError::OutsideDomain {
                param: "theta[1] (sigma)",
                value: theta[1],
                range: "(0, inf) (finite)",
            });
        }
        Ok(Family::GaussianMeanStd.output_fisher(theta))
    }
}

impl Model for GaussianMeanLogStd {
    fn examples(&self) -> usize {
        self.data().samples().len()
    }
    fn family(&self) -> Family {
        Family::GaussianMeanLogStd
    }
    fn observed(&self, n: usize) -> Outcome {
        Outcome::Real(self.data().samples().get(n).copied().unwrap_or(f64::NAN))
    }
    /// `(mu, ln sigma)` itself: every example has the same distribution.
    fn outputs<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize) -> DVector<D> {
        if theta.len() != 2 || n >= self.examples() {
            return nan_outputs(2);
        }
        theta.clone()
    }
    /// `diag(e^{-2 s}, 2)`; needs `s` finite with `e^{-2s}` finite.
    fn fisher(&self, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError> {
        check_pair(theta)?;
        let f = Family::GaussianMeanLogStd.output_fisher(theta);
        if !(f[(0, 0)].is_finite() && f[(0, 0)] > 0.0) {
            return Err(NaturalError::OutsideDomain {
                param: "theta[1] (log sigma)",
                value: theta[1],
                range: "|log sigma| < 354 (so that 1/sigma^2 is finite and positive)",
            });
        }
        Ok(f)
    }
}
