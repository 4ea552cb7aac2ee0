//! The Rosenbrock function, in its chained form for `n >= 2` dimensions:
//!
//! ```text
//! f(x) = sum_{i=0}^{n-2} (a - x_i)^2 + b (x_{i+1} - x_i^2)^2
//! ```
//!
//! With the usual `a = 1`, `b = 100` and `n = 2` this is the banana valley with
//! its minimum `f = 0` at `(1, 1)`; for `n > 2` and `a = 1` the minimum is the
//! vector of ones. For `n = 2` and any `a`, the minimum is at `(a, a^2)`.
//!
//! Hand-derived derivatives (checked against num-dual in `tests/problems.rs`),
//! with `[P]` equal to 1 when `P` holds and 0 otherwise:
//!
//! ```text
//! df/dx_i       = [i <= n-2] (-2 (a - x_i) - 4 b x_i (x_{i+1} - x_i^2))
//!               + [i >= 1]   2 b (x_i - x_{i-1}^2)
//! d2f/dx_i^2    = [i <= n-2] (2 - 4 b x_{i+1} + 12 b x_i^2) + [i >= 1] 2 b
//! d2f/dx_i dx_{i+1} = -4 b x_i
//! ```
//!
//! and every other second derivative is zero: the Hessian is tridiagonal. It is
//! indefinite in parts of the plane (at `(0, 1)` with `b = 100` its diagonal
//! entry `2 - 400` is negative), which is why Newton's method on it needs damping
//! or a check.

use crate::error::HyperError;
use nalgebra::DVector;
use num_dual::DualNum;

use super::Objective;
use super::quadratic::{ProblemError, check};

/// The chained Rosenbrock function in `n >= 2` dimensions (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rosenbrock {
    a: f64,
    b: f64,
    n: usize,
}

impl Default for Rosenbrock {
    /// `a = 1`, `b = 100`, `n = 2`.
    fn default() -> Self {
        Rosenbrock {
            a: 1.0,
            b: 100.0,
            n: 2,
        }
    }
}

impl Rosenbrock {
    const NAME: &'static str = "rosenbrock";

    /// The Rosenbrock function with parameters `a` (finite) and `b` (finite,
    /// `b >= 0`) in `n >= 2` dimensions.
    pub fn new(a: f64, b: f64, n: usize) -> Result<Self, ProblemError> {
        check(Self::NAME, "a", a, "finite", |_| true)?;
        check(Self::NAME, "b", b, "[0, inf) (finite)", |b| b >= 0.0)?;
        if n < 2 {
            return Err(ProblemError::Invalid(HyperError {
                optimizer: Self::NAME,
                param: "n",
                value: n.to_string(),
                range: "n >= 2",
            }));
        }
        Ok(Rosenbrock { a, b, n })
    }

    /// The parameter `a`.
    pub fn a(&self) -> f64 {
        self.a
    }

    /// The parameter `b`.
    pub fn b(&self) -> f64 {
        self.b
    }
}

impl Objective for Rosenbrock {
    fn dim(&self) -> usize {
        self.n
    }

    /// The chained sum; NaN if `x` has the wrong length.
    fn eval<D: DualNum<Primitive = f64>>(&self, x: &DVector<D>) -> D {
        if x.len() != self.n {
            return D::from(f64::NAN);
        }
        let mut total = D::from(0.0);
        for i in 0..self.n - 1 {
            let u = x[i].clone() - self.a;
            let v = x[i + 1].clone() - x[i].powi(2);
            total += u.powi(2) + v.powi(2) * self.b;
        }
        total
    }
}
