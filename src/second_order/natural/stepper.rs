//! The damped natural-gradient direction and the stepper.

use nalgebra::{Cholesky, DMatrix, DVector};

use crate::error::{HyperError, StepError};
use crate::optim::hyper;

use super::*;

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
