//! The quadratic `f(x) = x'Ax/2 - b'x`, with `A` symmetric, and a generator of
//! symmetric positive definite matrices with a chosen condition number.
//!
//! [`ProblemError`] (the typed error of every problem constructor, in
//! [`crate::problems::error`]) and [`SplitMix64`] (the seeded random number
//! generator the crate's tests and problems share, in [`crate::problems::rng`])
//! are re-exported here, where they used to live, so that their old paths work.
//!
//! Hand-derived derivatives (checked against num-dual in `tests/problems.rs`):
//!
//! ```text
//! f(x)      = x'Ax/2 - b'x
//! grad f(x) = Ax - b          (A symmetric)
//! Hess f(x) = A
//! ```
//!
//! When `A` is positive definite the unique minimizer is `x* = A^{-1} b`.

use nalgebra::{DMatrix, DVector};
use num_dual::DualNum;

use super::Objective;
pub use super::error::ProblemError;
pub(crate) use super::error::{check, check_finite};
pub use super::rng::SplitMix64;
use crate::error::HyperError;

/// The quadratic `f(x) = x'Ax/2 - b'x` with `A` symmetric (exactly) and `b` of
/// matching length. Gradient `Ax - b`, Hessian `A`.
#[derive(Clone, Debug, PartialEq)]
pub struct Quadratic {
    a: DMatrix<f64>,
    b: DVector<f64>,
}

impl Quadratic {
    const NAME: &'static str = "quadratic";

    /// Builds `x'Ax/2 - b'x`, refusing a non-square, non-symmetric (entrywise
    /// exact comparison) or empty `a`, a `b` of the wrong length, and non-finite
    /// entries.
    pub fn new(a: DMatrix<f64>, b: DVector<f64>) -> Result<Self, ProblemError> {
        let (rows, cols) = a.shape();
        if rows != cols {
            return Err(ProblemError::NotSquare {
                problem: Self::NAME,
                rows,
                cols,
            });
        }
        if rows == 0 {
            return Err(ProblemError::Invalid(HyperError {
                optimizer: Self::NAME,
                param: "a",
                value: "a 0x0 matrix".into(),
                range: "dimension >= 1",
            }));
        }
        if b.len() != rows {
            return Err(ProblemError::LengthMismatch {
                problem: Self::NAME,
                param: "b",
                expected: rows,
                found: b.len(),
            });
        }
        check_finite(Self::NAME, "a", a.iter())?;
        check_finite(Self::NAME, "b", b.iter())?;
        for col in 0..cols {
            for row in col + 1..rows {
                if a[(row, col)] != a[(col, row)] {
                    return Err(ProblemError::NotSymmetric {
                        problem: Self::NAME,
                        row,
                        col,
                    });
                }
            }
        }
        Ok(Quadratic { a, b })
    }

    /// A symmetric positive definite `A = Q diag(lambda) Q'` of dimension `n` and
    /// condition number `cond`, with `b = 0` (so the minimizer is the origin).
    ///
    /// The eigenvalues are log-spaced, `lambda_i = cond^(i/(n-1))` for
    /// `i = 0..n-1` (so `1` and `cond` are both exact); `Q` is the orthogonal
    /// factor of the QR decomposition of an `n x n` matrix of standard normal
    /// numbers drawn by [`SplitMix64`] from `seed`. The product is symmetrized
    /// exactly, `(A + A')/2`; rounding moves each eigenvalue by at most about
    /// `n * eps * cond` (Weyl's inequality), so the condition number is `cond`
    /// to within a relative `n * eps * cond`.
    ///
    /// Refuses `n = 0`, `cond` below 1 or not finite, and `cond != 1` when `n = 1`.
    pub fn ill_conditioned(n: usize, cond: f64, seed: u64) -> Result<Self, ProblemError> {
        if n == 0 {
            return Err(ProblemError::Invalid(HyperError {
                optimizer: Self::NAME,
                param: "n",
                value: "0".into(),
                range: "n >= 1",
            }));
        }
        check(Self::NAME, "cond", cond, "[1, inf) (finite)", |c| c >= 1.0)?;
        if n == 1 && cond != 1.0 {
            return Err(ProblemError::Invalid(HyperError {
                optimizer: Self::NAME,
                param: "cond",
                value: format!("{cond:?}"),
                range: "cond = 1 when n = 1",
            }));
        }
        let lambda = DVector::from_fn(n, |i, _| {
            if n == 1 {
                1.0
            } else {
                cond.powf(i as f64 / (n - 1) as f64)
            }
        });
        let mut rng = SplitMix64::new(seed);
        let g = DMatrix::from_fn(n, n, |_, _| rng.normal());
        let q = g.qr().q();
        let product = &q * DMatrix::from_diagonal(&lambda) * q.transpose();
        let a = DMatrix::from_fn(n, n, |i, j| 0.5 * (product[(i, j)] + product[(j, i)]));
        Quadratic::new(a, DVector::zeros(n))
    }

    /// The matrix `A`.
    pub fn a(&self) -> &DMatrix<f64> {
        &self.a
    }

    /// The vector `b`.
    pub fn b(&self) -> &DVector<f64> {
        &self.b
    }
}

impl Objective for Quadratic {
    fn dim(&self) -> usize {
        self.b.len()
    }

    /// `sum_i x_i ((Ax)_i / 2 - b_i)`; NaN if `x` has the wrong length.
    fn eval<D: DualNum<Primitive = f64>>(&self, x: &DVector<D>) -> D {
        let n = self.dim();
        if x.len() != n {
            return D::from(f64::NAN);
        }
        let mut total = D::from(0.0);
        for i in 0..n {
            let mut ax = D::from(0.0);
            for j in 0..n {
                ax += x[j].clone() * self.a[(i, j)];
            }
            total += x[i].clone() * (ax * 0.5 - self.b[i]);
        }
        total
    }
}
