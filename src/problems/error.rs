//! [`ProblemError`], the typed error of every problem constructor in
//! [`crate::problems`], and the range checks that build it.

use crate::error::HyperError;

/// A problem parameter outside its valid range, or matrices that do not fit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProblemError {
    /// A scalar parameter outside its range: the crate's one invalid-parameter
    /// record, with the problem's name (e.g. `"rosenbrock"`) as its `optimizer`
    /// field, the one that names who refused the value.
    #[error(transparent)]
    Invalid(HyperError),
    /// A matrix that should be square is not.
    #[error("{problem}: a is {rows}x{cols}, it must be square")]
    NotSquare {
        /// The problem being built.
        problem: &'static str,
        /// Rows of the matrix.
        rows: usize,
        /// Columns of the matrix.
        cols: usize,
    },
    /// A matrix that should be symmetric is not: `A[row][col] != A[col][row]`
    /// (compared exactly).
    #[error("{problem}: a is not symmetric: a[{row}][{col}] != a[{col}][{row}]")]
    NotSymmetric {
        /// The problem being built.
        problem: &'static str,
        /// Row of the first asymmetric entry found.
        row: usize,
        /// Column of that entry.
        col: usize,
    },
    /// A vector whose length does not match the problem's dimension.
    #[error("{problem}: {param} has length {found}, expected {expected}")]
    LengthMismatch {
        /// The problem being built.
        problem: &'static str,
        /// The parameter, e.g. `"b"` or `"c"`.
        param: &'static str,
        /// The length it should have.
        expected: usize,
        /// The length it has.
        found: usize,
    },
    /// A NaN or infinite entry in a vector or matrix parameter.
    #[error("{problem}: {param}[{index}] is not finite")]
    NonFinite {
        /// The problem being built.
        problem: &'static str,
        /// The parameter, e.g. `"a"`.
        param: &'static str,
        /// The position of the entry (column-major for matrices).
        index: usize,
    },
}

/// Refuses `value` for `param` of `problem` unless it is finite and `ok(value)`.
pub(crate) fn check(
    problem: &'static str,
    param: &'static str,
    value: f64,
    range: &'static str,
    ok: impl Fn(f64) -> bool,
) -> Result<(), ProblemError> {
    if value.is_finite() && ok(value) {
        Ok(())
    } else {
        Err(ProblemError::Invalid(HyperError {
            optimizer: problem,
            param,
            value: format!("{value:?}"),
            range,
        }))
    }
}

/// Refuses a vector or matrix with a NaN or infinite entry.
pub(crate) fn check_finite<'a>(
    problem: &'static str,
    param: &'static str,
    entries: impl IntoIterator<Item = &'a f64>,
) -> Result<(), ProblemError> {
    match entries.into_iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(ProblemError::NonFinite {
            problem,
            param,
            index,
        }),
    }
}
