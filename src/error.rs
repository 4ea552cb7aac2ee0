//! Typed errors, one model for the whole crate, their messages derived with
//! `thiserror`.
//!
//! - [`HyperError`] records an invalid parameter wherever one occurs: who refused
//!   it, the parameter, the value and the valid range. Optimizers' and
//!   schedules' hyperparameters, problems' parameters
//!   ([`ProblemError::Invalid`](crate::problems::quadratic::ProblemError::Invalid)),
//!   data sets ([`DataError`](crate::problems::regression::DataError) is the same
//!   type) and checkpoints' entries ([`CheckpointError::Entry`]) all use it.
//! - [`StepError`] says why a step was refused; the second-order methods' errors
//!   wrap it (`NewtonError::Step`, `NaturalError::Step`) rather than repeat it.
//!
//! A module that reports another module's error shows its message unchanged,
//! at most prefixed with context (the command line's flag, a request's key).

/// A parameter outside its valid range: the crate's one record of an invalid
/// value, for hyperparameters, problems, data sets and checkpoints alike.
///
/// The fields name who refused the value (the optimizer, schedule, problem or
/// data set, in the field `optimizer`), the parameter (with PyTorch's argument
/// name where there is one, and an index for pairs such as `betas[1]`), the
/// offending value and the valid range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{optimizer}: invalid {param} = {value}; valid range: {range}")]
pub struct HyperError {
    /// Who refused the value: the optimizer being built (e.g. `"adam"`), or the
    /// schedule, problem or data set (e.g. `"rosenbrock"`).
    pub optimizer: &'static str,
    /// PyTorch's name for the parameter, e.g. `"betas[1]"` or `"nesterov"`.
    pub param: &'static str,
    /// The rejected value, as text (a number, or `true` for a flag).
    pub value: String,
    /// The valid range, e.g. `"[0, 1)"`, or the condition that failed.
    pub range: &'static str,
}

/// Why a step was refused. A refused step leaves parameters and state exactly as
/// they were.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StepError {
    /// A vector does not have the length the step needs.
    #[error("{what} has length {found}, expected {expected}")]
    LengthMismatch {
        /// Which input is the wrong length: `"grad"` or `"params"`.
        what: &'static str,
        /// The length the step expected.
        expected: usize,
        /// The length it got.
        found: usize,
    },
    /// A gradient entry is NaN or infinite.
    #[error("grad[{index}] = {value} is not finite")]
    NonFiniteGradient {
        /// The coordinate.
        index: usize,
        /// The entry.
        value: f64,
    },
    /// The step would make a parameter or a state entry NaN or infinite.
    #[error("the step would make {quantity}[{index}] non-finite; step refused")]
    NonFiniteResult {
        /// The coordinate.
        index: usize,
        /// The quantity that would stop being finite: `"param"` or a state buffer's
        /// name such as `"exp_avg_sq"`.
        quantity: &'static str,
    },
}

/// Why a saved optimizer could not be rebuilt (`optim::checkpoint`, cargo feature
/// `serde`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckpointError {
    /// The saved configuration has a hyperparameter outside its range.
    #[error(transparent)]
    Config(#[from] HyperError),
    /// A saved state's entry is not finite: `param` names the buffer, `value`
    /// the position.
    #[error("checkpoint state: {0}")]
    Entry(HyperError),
    /// The saved state is not one the configuration could have produced: a buffer
    /// missing or extra for this configuration, or of the wrong length.
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
