//! Errors of the natural-gradient computations.

use crate::error::{HyperError, StepError};

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

pub(super) fn check_len(
    what: &'static str,
    expected: usize,
    found: usize,
) -> Result<(), NaturalError> {
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
