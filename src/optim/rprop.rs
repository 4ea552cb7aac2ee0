//! Rprop: per-coordinate step sizes that grow while the gradient keeps its sign and
//! shrink when it flips (PyTorch's variant, iRprop-, which skips the step after a flip).
//!
//! ```text
//! input: lr, etas (eta-, eta+), step_sizes (step_min, step_max), maximize
//! step <- lr, prev <- 0
//! for t = 1, 2, ...
//!     g <- -g                                   if maximize
//!     s <- sign(g * prev)
//!     step <- clamp(step * (eta+ if s > 0, eta- if s < 0, 1 if s = 0), step_min, step_max)
//!     g <- 0                                    if s < 0
//!     theta <- theta - sign(g) step
//!     prev <- g
//! ```

use nalgebra::DVector;

use super::{Buffers, Optim, Rule, first_non_finite, hyper};
use crate::error::HyperError;

/// Hyperparameters of Rprop, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RpropConfig {
    /// The initial step size, `lr >= 0` (default `1e-2`).
    pub lr: f64,
    /// `(etaminus, etaplus)` with `0 < etaminus < 1 < etaplus` (default `(0.5, 1.2)`).
    pub etas: (f64, f64),
    /// `(step_min, step_max)` with `0 < step_min <= step_max` (default `(1e-6, 50)`).
    pub step_sizes: (f64, f64),
    /// Ascend instead of descend (default false).
    pub maximize: bool,
}

impl Default for RpropConfig {
    fn default() -> Self {
        RpropConfig {
            lr: 1e-2,
            etas: (0.5, 1.2),
            step_sizes: (1e-6, 50.0),
            maximize: false,
        }
    }
}

/// Rprop: [`RpropConfig`] with its state.
pub type Rprop = Optim<RpropConfig>;

/// The state of Rprop.
#[derive(Clone, Debug, PartialEq)]
pub struct RpropState {
    /// Steps taken.
    pub step: u64,
    /// The previous gradient, zeroed where its sign flipped (PyTorch's `prev`).
    pub prev: DVector<f64>,
    /// The per-coordinate step sizes.
    pub step_size: DVector<f64>,
}

/// One coordinate of [`RpropState`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RpropCoord {
    /// The previous gradient.
    pub prev: f64,
    /// The step size.
    pub step_size: f64,
}

impl Buffers for RpropState {
    type Coord = RpropCoord;
    fn coords(&self) -> Option<usize> {
        Some(self.prev.len())
    }
    fn step(&self) -> u64 {
        self.step
    }
    fn set_step(&mut self, t: u64) {
        self.step = t;
    }
    fn get(&self, i: usize) -> RpropCoord {
        RpropCoord {
            prev: self.prev[i],
            step_size: self.step_size[i],
        }
    }
    fn set(&mut self, i: usize, c: RpropCoord) {
        self.prev[i] = c.prev;
        self.step_size[i] = c.step_size;
    }
    fn non_finite(c: &RpropCoord) -> Option<&'static str> {
        first_non_finite(&[("prev", c.prev), ("step_size", c.step_size)])
    }
}

/// The sign of `x` as PyTorch's `sign`: 0 for zero (unlike `f64::signum`).
pub fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

impl Rule for RpropConfig {
    type State = RpropState;
    const NAME: &'static str = "rprop";

    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }

    fn validate(&self) -> Result<(), HyperError> {
        let (etaminus, etaplus) = self.etas;
        let (step_min, step_max) = self.step_sizes;
        hyper::non_negative(Self::NAME, "lr", self.lr)?;
        hyper::check(Self::NAME, "etas[0]", etaminus, "(0, 1)", |x| {
            x > 0.0 && x < 1.0
        })?;
        hyper::check(Self::NAME, "etas[1]", etaplus, "(1, inf) (finite)", |x| {
            x > 1.0
        })?;
        hyper::check(
            Self::NAME,
            "step_sizes[0]",
            step_min,
            "(0, inf) (finite)",
            |x| x > 0.0,
        )?;
        hyper::check(
            Self::NAME,
            "step_sizes[1]",
            step_max,
            "[step_sizes[0], inf) (finite)",
            |x| x >= step_min,
        )
    }

    fn init(&self, theta: &DVector<f64>) -> RpropState {
        RpropState {
            step: 0,
            prev: DVector::zeros(theta.len()),
            step_size: DVector::from_element(theta.len(), self.lr),
        }
    }

    // ANCHOR: update
    fn update(&self, _t: u64, theta: f64, g: f64, s: RpropCoord) -> (f64, RpropCoord) {
        let (etaminus, etaplus) = self.etas;
        let (step_min, step_max) = self.step_sizes;
        let g = if self.maximize { -g } else { g };
        let agreement = g * s.prev; // its sign decides; it may underflow to 0
        let factor = if agreement > 0.0 {
            etaplus
        } else if agreement < 0.0 {
            etaminus
        } else {
            1.0
        };
        let step_size = (s.step_size * factor).max(step_min).min(step_max);
        let g = if agreement < 0.0 { 0.0 } else { g }; // skip the step after a flip
        let theta = (-sign(g)).mul_add(step_size, theta);
        (theta, RpropCoord { prev: g, step_size })
    }
    // ANCHOR_END: update
}
