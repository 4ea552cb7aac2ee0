//! Typed errors: a hyperparameter outside its range, and a step that was refused.

use std::fmt;

/// A hyperparameter outside its valid range, reported when an optimizer is built.
///
/// The fields name the optimizer, the parameter (with PyTorch's argument name, and
/// an index for pairs such as `betas[1]`), the offending value and the valid range.
#[derive(Debug, Clone, PartialEq)]
pub struct HyperError {
    /// The optimizer being built, e.g. `"adam"`.
    pub optimizer: &'static str,
    /// PyTorch's name for the parameter, e.g. `"betas[1]"` or `"nesterov"`.
    pub param: &'static str,
    /// The rejected value, as text (a number, or `true` for a flag).
    pub value: String,
    /// The valid range, e.g. `"[0, 1)"`, or the condition that failed.
    pub range: &'static str,
}

impl fmt::Display for HyperError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: invalid {} = {}; valid range: {}",
            self.optimizer, self.param, self.value, self.range
        )
    }
}

impl std::error::Error for HyperError {}

/// Why a step was refused. A refused step leaves parameters and state exactly as
/// they were.
#[derive(Debug, Clone, PartialEq)]
pub enum StepError {
    /// A vector does not have the length the step needs.
    LengthMismatch {
        /// Which input is the wrong length: `"grad"` or `"params"`.
        what: &'static str,
        /// The length the step expected.
        expected: usize,
        /// The length it got.
        found: usize,
    },
    /// A gradient entry is NaN or infinite.
    NonFiniteGradient {
        /// The coordinate.
        index: usize,
        /// The entry.
        value: f64,
    },
    /// The step would make a parameter or a state entry NaN or infinite.
    NonFiniteResult {
        /// The coordinate.
        index: usize,
        /// The quantity that would stop being finite: `"param"` or a state buffer's
        /// name such as `"exp_avg_sq"`.
        quantity: &'static str,
    },
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::LengthMismatch {
                what,
                expected,
                found,
            } => write!(f, "{what} has length {found}, expected {expected}"),
            StepError::NonFiniteGradient { index, value } => {
                write!(f, "grad[{index}] = {value} is not finite")
            }
            StepError::NonFiniteResult { index, quantity } => write!(
                f,
                "the step would make {quantity}[{index}] non-finite; step refused"
            ),
        }
    }
}

impl std::error::Error for StepError {}

/// Why a saved optimizer could not be rebuilt (see [`crate::optim::checkpoint`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckpointError {
    /// The saved configuration has a hyperparameter outside its range.
    #[error(transparent)]
    Config(#[from] HyperError),
    /// The saved state is not one the configuration could have produced: a buffer
    /// missing or extra for this configuration, of the wrong length, or with a
    /// non-finite entry.
    #[error("{optimizer} checkpoint: invalid state.{field} = {found}; expected {expected}")]
    State {
        /// The optimizer being rebuilt, e.g. `"adam"`.
        optimizer: &'static str,
        /// The offending field, e.g. `"max_exp_avg_sq"` or `"exp_avg[3]"`.
        field: String,
        /// What the saved state holds there.
        found: String,
        /// What the configuration needs there.
        expected: String,
    },
}
