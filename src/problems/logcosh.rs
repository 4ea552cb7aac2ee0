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
use nalgebra::DVector;
use num_dual::DualNum;

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
            let d = xi.clone() - ci;
            total += d.powi(2) * (0.5 * self.m) + log_cosh(xi.clone());
        }
        total
    }
}
