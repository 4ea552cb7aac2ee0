//! Performance estimation: the exact worst case of a first-order method, computed
//! as a semidefinite program (Drori and Teboulle, 2014; Taylor, Hendrickx and
//! Glineur, 2017).
//!
//! The question "how large can `f(x_N) - f*` be after `N` steps of a method, over
//! every `L`-smooth, `mu`-strongly convex `f` with `|x_0 - x*| <= R`?" is an
//! optimization over functions. Two facts make it finite and convex:
//!
//! 1. Only the values and gradients of `f` at the points the method visits (and at
//!    `x*`) matter, and such data come from a function of the class exactly when
//!    they satisfy the class's interpolation conditions ([`class`]).
//! 2. For a method whose steps are fixed linear combinations of past gradients,
//!    every condition is linear in the Gram matrix of `x_0 - x*` and the gradients,
//!    and in the function values ([`gram`]). Any positive semidefinite Gram matrix
//!    is realized by vectors in some dimension, so the maximum over functions is
//!    a maximum over a semidefinite matrix.
//!
//! The module is split by concern: [`class`] holds the function class and its
//! interpolation conditions, [`gram`] the symbolic vectors and the program,
//! [`method`] the algorithms, [`measure`] what is measured, [`solve`] the glue to
//! Clarabel, [`reconstruct`] the worst-case vectors and a function that attains
//! them, and [`cli`] the `descent pep` command. Nothing here depends on the rest
//! of the crate.
//!
//! ```
//! use descent::pep::{FunctionClass, Measure, Method, worst_case};
//!
//! // Gradient descent with step 1/L, 5 steps, L = 1, mu = 0: 1/(4N + 2) = 1/22.
//! let class = FunctionClass::new(1.0, 0.0)?;
//! let wc = worst_case(&class, &Method::Gd { h: 1.0 }, 5, Measure::FunctionValue)?;
//! assert!((wc.value - 1.0 / 22.0).abs() <= wc.accuracy);
//! # Ok::<(), descent::pep::PepError>(())
//! ```

use std::fmt;

pub mod class;
pub mod cli;
pub mod gram;
pub mod measure;
pub mod method;
pub mod reconstruct;
pub mod solve;

pub use class::FunctionClass;
pub use measure::Measure;
pub use method::{Method, NesterovMomentum};
pub use solve::{WorstCase, worst_case};

/// Why a performance estimation problem was refused or not solved.
#[derive(Debug, Clone, PartialEq)]
pub enum PepError {
    /// A parameter outside its valid range.
    InvalidParameter {
        /// The parameter, spelled as the `descent pep` flag (`"L"`, `"mu"`,
        /// `"steps"`, `"step-size"`, `"momentum"`).
        param: &'static str,
        /// The rejected value, as text.
        value: String,
        /// The valid range, or the condition that failed.
        range: String,
    },
    /// The solver stopped without an optimal solution; its status is reported and
    /// no number is.
    NotSolved {
        /// Clarabel's status, e.g. `"MaxIterations"` or `"AlmostSolved"`.
        status: String,
    },
}

impl fmt::Display for PepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PepError::InvalidParameter {
                param,
                value,
                range,
            } => write!(f, "invalid --{param} = {value}; valid range: {range}"),
            PepError::NotSolved { status } => write!(
                f,
                "the SDP solver stopped with status {status}, not an optimal solution; \
                 no worst case is reported"
            ),
        }
    }
}

impl std::error::Error for PepError {}

/// Checks `ok` and otherwise names the parameter, its value and its range.
pub(crate) fn require(
    ok: bool,
    param: &'static str,
    value: f64,
    range: impl Into<String>,
) -> Result<(), PepError> {
    if ok {
        Ok(())
    } else {
        Err(PepError::InvalidParameter {
            param,
            value: if value != 0.0 && !(1e-4..1e6).contains(&value.abs()) {
                format!("{value:e}")
            } else {
                format!("{value}")
            },
            range: range.into(),
        })
    }
}
