//! The quadratic `f(x) = x'Ax/2 - b'x`, with `A` symmetric; a generator of
//! symmetric positive definite matrices with a chosen condition number; a tiny
//! seeded random number generator ([`SplitMix64`]) that the crate's tests and
//! problems share; and [`ProblemError`], the typed error of every problem
//! constructor in [`crate::problems`].
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

use crate::error::HyperError;

use nalgebra::{DMatrix, DVector};
use num_dual::DualNum;

use super::Objective;

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

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014): a 64-bit counter passed through a mixing function.
/// Small, fast, deterministic for a given seed on every platform (the integer
/// part; [`SplitMix64::normal`] also calls `ln` and `cos`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)`: the top 53 bits, scaled by `2^-53`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A uniform number in `[lo, hi)` (for `lo < hi`, both finite).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }

    /// A standard normal number, by the Box-Muller transform.
    pub fn normal(&mut self) -> f64 {
        // 1 - u lies in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

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
