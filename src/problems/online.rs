//! The online problems of Reddi, Kale and Kumar ("On the convergence of Adam and
//! beyond", ICLR 2018, sections 3 and 5), on which Adam fails and AMSGrad does
//! not.
//!
//! The feasible set is `[-1, 1]`. At step `t = 1, 2, ...` the loss is linear,
//!
//! ```text
//! f_t(x) =  big * x     if t mod period == 1
//! f_t(x) = -small * x   otherwise
//! ```
//!
//! Section 3 uses `big = C > 2`, `small = 1`, `period = 3` (here `C = 3`,
//! [`ReddiOnline::section3`]); section 5's synthetic experiment uses `big = 1010`,
//! `small = 10`, `period = 101` ([`ReddiOnline::synthetic`]). Over one period the
//! losses sum to `(big - (period - 1) small) x`, positive for both presets, so the
//! best fixed point is `x = -1`; the rare large gradient is the one that matters.
//!
//! The loss changes with `t`, so this is not an [`Objective`](super::Objective):
//! a driver asks for [`ReddiOnline::gradient`] at each step, takes its step and
//! applies [`ReddiOnline::project`], and scores the iterates with
//! [`ReddiOnline::regret`].

use super::quadratic::{ProblemError, check};
use crate::error::HyperError;

/// The online linear problem of Reddi, Kale and Kumar (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReddiOnline {
    big: f64,
    small: f64,
    period: u64,
}

impl ReddiOnline {
    const NAME: &'static str = "reddi_online";

    /// The problem with `big > 0`, `small > 0` (finite) and `period >= 2`.
    pub fn new(big: f64, small: f64, period: u64) -> Result<Self, ProblemError> {
        check(Self::NAME, "big", big, "(0, inf) (finite)", |v| v > 0.0)?;
        check(Self::NAME, "small", small, "(0, inf) (finite)", |v| v > 0.0)?;
        if period < 2 {
            return Err(ProblemError::Invalid(HyperError {
                optimizer: Self::NAME,
                param: "period",
                value: period.to_string(),
                range: "period >= 2",
            }));
        }
        Ok(ReddiOnline { big, small, period })
    }

    /// Section 3's example: `f_t = 3x` when `t mod 3 == 1`, else `-x`.
    pub fn section3() -> Self {
        ReddiOnline {
            big: 3.0,
            small: 1.0,
            period: 3,
        }
    }

    /// Section 5's synthetic example: `f_t = 1010x` when `t mod 101 == 1`, else
    /// `-10x`.
    pub fn synthetic() -> Self {
        ReddiOnline {
            big: 1010.0,
            small: 10.0,
            period: 101,
        }
    }

    /// The large coefficient `big`.
    pub fn big(&self) -> f64 {
        self.big
    }

    /// The small coefficient `small` (the loss is `-small * x` on most steps).
    pub fn small(&self) -> f64 {
        self.small
    }

    /// The period.
    pub fn period(&self) -> u64 {
        self.period
    }

    /// The gradient of `f_t` (the same at every `x`): `big` when
    /// `t mod period == 1`, else `-small`. Steps count from 1; `t = 0` gets
    /// `-small` like any `t` with `t mod period != 1`.
    pub fn gradient(&self, t: u64) -> f64 {
        if t % self.period == 1 {
            self.big
        } else {
            -self.small
        }
    }

    /// The loss `f_t(x) = gradient(t) * x`.
    pub fn loss(&self, t: u64, x: f64) -> f64 {
        self.gradient(t) * x
    }

    /// The projection onto `[-1, 1]` (a NaN stays NaN).
    pub fn project(x: f64) -> f64 {
        x.clamp(-1.0, 1.0)
    }

    /// The sum of the coefficients over steps `1..=horizon`:
    /// `k big - (horizon - k) small`, where `k` counts the steps with
    /// `t mod period == 1`.
    pub fn cumulative_gradient(&self, horizon: u64) -> f64 {
        let k = if horizon == 0 {
            0
        } else {
            (horizon - 1) / self.period + 1
        };
        k as f64 * self.big - (horizon - k) as f64 * self.small
    }

    /// The best fixed point in hindsight over steps `1..=horizon`: the minimizer
    /// over `[-1, 1]` of `sum_t f_t(x) = cumulative_gradient(horizon) * x`, that is
    /// `-1` when the sum of coefficients is positive, `+1` when it is negative and
    /// `0` (one of many minimizers) when it is zero.
    pub fn best_fixed(&self, horizon: u64) -> f64 {
        let s = self.cumulative_gradient(horizon);
        if s > 0.0 {
            -1.0
        } else if s < 0.0 {
            1.0
        } else {
            0.0
        }
    }

    /// The regret of the iterates `xs[0] = x_1, xs[1] = x_2, ...`:
    /// `sum_t f_t(x_t) - min_{x in [-1, 1]} sum_t f_t(x)`, where the minimum is
    /// `-|cumulative_gradient(T)|` with `T = xs.len()`.
    pub fn regret(&self, xs: &[f64]) -> f64 {
        let incurred: f64 = xs.iter().zip(1u64..).map(|(&x, t)| self.loss(t, x)).sum();
        incurred + self.cumulative_gradient(xs.len() as u64).abs()
    }
}
