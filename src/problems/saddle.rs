//! A smooth non-convex function with one strict saddle and two minima:
//!
//! ```text
//! f(x, y) = (a/2) x^2 + y^2/2 - s log cosh y        (a > 0, s >= 0)
//! ```
//!
//! Hand-derived derivatives (checked against num-dual in `tests/problems.rs`):
//!
//! ```text
//! grad f = (a x,  y - s tanh y)
//! Hess f = diag(a,  1 - s sech^2 y) = diag(a,  1 - s (1 - tanh^2 y))
//! ```
//!
//! **Critical points.** `x = 0` and `y = s tanh y`. For `s <= 1` the only
//! solution is `y = 0` and the function is convex (`1 - s sech^2 y >= 0`). For
//! `s > 1` there are three: the origin, where the Hessian is `diag(a, 1 - s)`
//! with a negative entry (a strict saddle), and `(0, ±y*)` with `y* > 0` the
//! positive root of `y = s tanh y`, two global minima.
//!
//! **Smoothness.** The second entry of the Hessian lies in `[1 - s, 1]`, so every
//! eigenvalue has modulus at most `ell = max(a, 1, s - 1)`: the gradient is
//! `ell`-Lipschitz on the whole plane ([`Saddle::smoothness`]).
//!
//! **Bounded below.** `log cosh y <= |y|`, so `f >= y^2/2 - s |y| >= -s^2/2`.
//! The infimum is `f(0, y*) = y*^2/2 - s log cosh y*` ([`Saddle::min_value`]).

use nalgebra::DVector;
use num_dual::DualNum;

use super::Objective;
use super::logcosh::log_cosh;
use super::quadratic::{ProblemError, check};

/// `f(x, y) = (a/2) x^2 + y^2/2 - s log cosh y` (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Saddle {
    a: f64,
    s: f64,
}

impl Saddle {
    const NAME: &'static str = "saddle";

    /// The function with curvature `a > 0` along `x` and strength `s >= 0` of
    /// the `log cosh` term; both finite. The origin is a strict saddle iff `s > 1`.
    pub fn new(a: f64, s: f64) -> Result<Self, ProblemError> {
        check(Self::NAME, "a", a, "(0, inf) (finite)", |a| a > 0.0)?;
        check(Self::NAME, "s", s, "[0, inf) (finite)", |s| s >= 0.0)?;
        Ok(Saddle { a, s })
    }

    /// The curvature `a` along `x`.
    pub fn a(&self) -> f64 {
        self.a
    }

    /// The strength `s` of the `log cosh` term.
    pub fn s(&self) -> f64 {
        self.s
    }

    /// The smoothness constant `ell = max(a, 1, s - 1)`: the gradient is
    /// `ell`-Lipschitz.
    pub fn smoothness(&self) -> f64 {
        self.a.max(1.0).max(self.s - 1.0)
    }

    /// The curvature `1 - s` along `y` at the origin (negative for a strict saddle).
    pub fn saddle_curvature(&self) -> f64 {
        1.0 - self.s
    }

    /// `y* >= 0`, the largest root of `y = s tanh y` (0 when `s <= 1`), found by
    /// the fixed-point iteration `y <- s tanh y` from `y = s`, which decreases
    /// monotonically to `y*` (the map is increasing and `s tanh s < s`).
    pub fn minimizer_y(&self) -> f64 {
        if self.s <= 1.0 {
            return 0.0;
        }
        let mut y = self.s;
        // The map's slope at y* is s sech^2 y* < 1; stop when the iterate no
        // longer moves (it is monotone, so it cannot cycle).
        for _ in 0..100_000 {
            let next = self.s * y.tanh();
            if next >= y {
                break;
            }
            y = next;
        }
        y
    }

    /// The infimum `f(0, y*) = y*^2/2 - s log cosh y*` (0 when `s <= 1`).
    pub fn min_value(&self) -> f64 {
        let y = self.minimizer_y();
        0.5 * y * y - self.s * log_cosh(y)
    }
}

impl Objective for Saddle {
    fn dim(&self) -> usize {
        2
    }

    // claims: strict-saddle-escape-time, gd-nonconvex-stationarity, exercise-convexity-1,
    //     exercise-convexity-3, exercise-convexity-4
    // ANCHOR: eval
    /// `(a/2) x^2 + y^2/2 - s log cosh y`; NaN if `theta` does not have length 2.
    fn eval<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>) -> D {
        if theta.len() != 2 {
            return D::from(f64::NAN);
        }
        let (x, y) = (theta[0].clone(), theta[1].clone());
        x.powi(2) * (0.5 * self.a) + y.powi(2) * 0.5 - log_cosh(y) * self.s
    }
    // ANCHOR_END: eval
}
