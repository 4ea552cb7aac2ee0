//! A strongly convex test function with a Lipschitz Hessian:
//!
//! ```text
//! f(x) = (m/2) |x - c|^2 + sum_i log cosh x_i
//! ```
//!
//! Hand-derived derivatives (checked against num-dual in `tests/problems.rs`):
//!
//! ```text
//! grad f(x) = m (x - c) + tanh(x)                     (tanh entrywise)
//! Hess f(x) = m I + diag(sech^2 x_i) = m I + diag(1 - tanh^2 x_i)
//! ```
//!
//! So `m I <= Hess f <= (m + 1) I`: with `m > 0` the function is `m`-strongly
//! convex and has a unique minimizer.
//!
//! **The Hessian is Lipschitz with constant `4/(3 sqrt 3)`** in the spectral
//! norm. The Hessian differs from `m I` by a diagonal matrix, so
//! `|H(x) - H(y)|_2 = max_i |sech^2 x_i - sech^2 y_i|`. The derivative of
//! `sech^2 t` is `-2 sech^2 t tanh t = -2 (1 - s^2) s` with `s = tanh t` in
//! `(-1, 1)`; `|2 (1 - s^2) s|` is largest where `1 - 3 s^2 = 0`, at
//! `s = 1/sqrt 3`, with value `2 (2/3) / sqrt 3 = 4/(3 sqrt 3)` (about 0.7698).
//! By the mean value theorem each `|sech^2 x_i - sech^2 y_i|` is at most that
//! constant times `|x_i - y_i| <= |x - y|`. The constant is [`HESSIAN_LIPSCHITZ`].
//!
//! `log cosh` is evaluated as `|t| + ln(1 + e^{-2|t|}) - ln 2` ([`log_cosh`]),
//! which never overflows (the naive `ln(cosh t)` overflows for `|t| > 710`).

use crate::error::HyperError;
use nalgebra::{DMatrix, DVector};
use num_dual::{Dual2_64, Dual2DVec64, DualNum};

use super::Objective;
use super::quadratic::{ProblemError, check, check_finite};

/// The Lipschitz constant `4/(3 sqrt 3)` of the Hessian of [`LogCosh`] (and of
/// the second derivative of `log cosh`), rounded to the nearest `f64`.
pub const HESSIAN_LIPSCHITZ: f64 = 0.769_800_358_919_501;

/// `log cosh t`, written as `|t| + ln(1 + e^{-2|t|}) - ln 2` so that it never
/// overflows: `cosh t = e^{|t|} (1 + e^{-2|t|}) / 2`. Exact derivatives come
/// through the dual number `D`: `tanh t` and `sech^2 t`.
pub fn log_cosh<D: DualNum<Primitive = f64>>(t: D) -> D {
    let r = t.abs();
    let tail = (r.clone() * -2.0).exp().ln_1p();
    r + tail - std::f64::consts::LN_2
}

/// `f(x) = (m/2)|x - c|^2 + sum_i log cosh x_i` (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct LogCosh {
    m: f64,
    c: DVector<f64>,
}

impl LogCosh {
    const NAME: &'static str = "logcosh";

    /// The function with `m >= 0` (finite) and centre `c` (finite entries, at
    /// least one). Its dimension is the length of `c`.
    pub fn new(m: f64, c: DVector<f64>) -> Result<Self, ProblemError> {
        check(Self::NAME, "m", m, "[0, inf) (finite)", |m| m >= 0.0)?;
        if c.is_empty() {
            return Err(ProblemError::Invalid(HyperError {
                optimizer: Self::NAME,
                param: "c",
                value: "an empty vector".into(),
                range: "length >= 1",
            }));
        }
        check_finite(Self::NAME, "c", c.iter())?;
        Ok(LogCosh { m, c })
    }

    /// The strong-convexity modulus `m`.
    pub fn m(&self) -> f64 {
        self.m
    }

    /// The centre `c`.
    pub fn c(&self) -> &DVector<f64> {
        &self.c
    }
}

impl Objective for LogCosh {
    fn dim(&self) -> usize {
        self.c.len()
    }

    /// `sum_i (m/2)(x_i - c_i)^2 + log cosh x_i`; NaN if `x` has the wrong length.
    fn eval<D: DualNum<Primitive = f64>>(&self, x: &DVector<D>) -> D {
        if x.len() != self.dim() {
            return D::from(f64::NAN);
        }
        let mut total = D::from(0.0);
        for (xi, &ci) in x.iter().zip(self.c.iter()) {
            total += self.term(xi.clone(), ci);
        }
        total
    }

    /// The value, gradient and Hessian one coordinate at a time. `f` is a sum of
    /// one-variable terms, so its Hessian is diagonal. The default (second-order
    /// dual numbers in all `dim` variables) carries a dense `dim x dim` second
    /// derivative through each of the `O(dim)` operations of [`Objective::eval`]:
    /// `O(dim^3)` work, a minute in a debug build at `dim = 256`. Here each term
    /// runs on a scalar second-order dual number, `O(dim)` work plus the zeros of
    /// the matrix, with the same arithmetic per term and the same order of the
    /// sum, so the results are the default's (compared in the tests below).
    fn value_gradient_hessian(&self, x: &DVector<f64>) -> (f64, DVector<f64>, DMatrix<f64>) {
        let n = self.dim();
        if x.len() != n {
            return num_dual::hessian(|v: DVector<Dual2DVec64>| self.eval(&v), x);
        }
        let mut value = 0.0;
        let mut grad = DVector::zeros(n);
        let mut hess = DMatrix::zeros(n, n);
        for (i, (&xi, &ci)) in x.iter().zip(self.c.iter()).enumerate() {
            let (f, g, h) = num_dual::second_derivative(|t: Dual2_64| self.term(t, ci), xi);
            value += f;
            grad[i] = g;
            hess[(i, i)] = h;
        }
        (value, grad, hess)
    }
}

impl LogCosh {
    /// One coordinate's term, `(m/2)(t - c_i)^2 + log cosh t`.
    fn term<D: DualNum<Primitive = f64>>(&self, t: D, ci: f64) -> D {
        let d = t.clone() - ci;
        d.powi(2) * (0.5 * self.m) + log_cosh(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-coordinate Hessian is the dense default's: the same value, the
    /// same gradient and the same (diagonal) Hessian, compared with `==`, at
    /// points where `log cosh` is near its quadratic and its linear regime.
    #[test]
    fn per_coordinate_derivatives_are_the_dense_ones() {
        let f = LogCosh::new(0.7, DVector::from_fn(9, |i, _| i as f64 * 0.3 - 1.0)).unwrap();
        for scale in [1e-3, 0.8, 5.0, 400.0] {
            let x = DVector::from_fn(9, |i, _| scale * ((i as f64) * 1.7 - 6.0).sin());
            let dense = num_dual::hessian(|v: DVector<Dual2DVec64>| f.eval(&v), &x);
            let (value, grad, hess) = f.value_gradient_hessian(&x);
            assert_eq!(value.to_bits(), dense.0.to_bits(), "value at scale {scale}");
            assert_eq!(grad, dense.1, "gradient at scale {scale}");
            assert_eq!(hess, dense.2, "Hessian at scale {scale}");
        }
        // A wrong length still gives what the default gives (NaN value).
        let (value, _, _) = f.value_gradient_hessian(&DVector::zeros(3));
        assert!(value.is_nan());
    }
}
