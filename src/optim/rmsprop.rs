//! RMSprop: steps scaled by the root of a moving average of squared gradients,
//! optionally centered and with momentum.
//!
//! ```text
//! input: lr, alpha, eps, weight decay lambda, momentum mu, centered, maximize
//! v <- 0, gbar <- 0, b <- 0
//! for t = 1, 2, ...
//!     g <- -g                              if maximize
//!     g <- g + lambda theta                if L2 decay
//!     theta <- theta (1 - lr lambda)       if decoupled decay
//!     v <- alpha v + (1 - alpha) g^2
//!     if centered
//!         gbar <- alpha gbar + (1 - alpha) g
//!         a <- sqrt(max(v - gbar^2, 0)) + eps
//!     else
//!         a <- sqrt(v) + eps
//!     if mu > 0
//!         b <- mu b + g / a
//!         theta <- theta - lr b
//!     else
//!         theta <- theta - lr g / a
//! ```

use nalgebra::DVector;

use super::moments::{ema, ema_sq};
use super::{Buffers, Optim, Rule, WeightDecay, decay, first_non_finite, hyper};
use crate::error::HyperError;

/// Hyperparameters of RMSprop, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsPropConfig {
    /// Learning rate, `lr >= 0` (default `1e-2`).
    pub lr: f64,
    /// Smoothing constant of the moving averages, in `[0, 1]` (default 0.99).
    pub alpha: f64,
    /// Added to the root in the denominator (outside the square root), `eps >= 0`
    /// (default `1e-8`).
    pub eps: f64,
    /// Weight decay (default none); PyTorch's `weight_decay` is [`WeightDecay::L2`].
    pub weight_decay: WeightDecay,
    /// Momentum factor, `momentum >= 0` (default 0).
    pub momentum: f64,
    /// Divide by the root of the centered second moment, an estimate of the
    /// gradient's variance (default false). Unlike PyTorch, the crate clamps the
    /// rounded variance `v - gbar^2` at zero before the square root: PyTorch's
    /// NaN there (for `alpha = 0`, on about half of all gradients) becomes `eps`.
    pub centered: bool,
    /// Ascend instead of descend (default false).
    pub maximize: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        RmsPropConfig {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: WeightDecay::None,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }
}

/// RMSprop: [`RmsPropConfig`] with its state.
pub type RmsProp = Optim<RmsPropConfig>;

/// The state of RMSprop, with PyTorch's buffer names.
#[derive(Clone, Debug, PartialEq)]
pub struct RmsPropState {
    /// Steps taken.
    pub step: u64,
    /// The moving average `v` of squared gradients.
    pub square_avg: DVector<f64>,
    /// The momentum buffer `b`, present when `momentum > 0`.
    pub momentum_buffer: Option<DVector<f64>>,
    /// The moving average `gbar` of gradients, present when centered.
    pub grad_avg: Option<DVector<f64>>,
}

/// One coordinate of [`RmsPropState`] (absent buffers read as 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsPropCoord {
    /// Entry of `square_avg`.
    pub square_avg: f64,
    /// Entry of `momentum_buffer`.
    pub momentum_buffer: f64,
    /// Entry of `grad_avg`.
    pub grad_avg: f64,
}

impl Buffers for RmsPropState {
    type Coord = RmsPropCoord;
    fn coords(&self) -> Option<usize> {
        Some(self.square_avg.len())
    }
    fn step(&self) -> u64 {
        self.step
    }
    fn set_step(&mut self, t: u64) {
        self.step = t;
    }
    fn get(&self, i: usize) -> RmsPropCoord {
        RmsPropCoord {
            square_avg: self.square_avg[i],
            momentum_buffer: self.momentum_buffer.as_ref().map_or(0.0, |b| b[i]),
            grad_avg: self.grad_avg.as_ref().map_or(0.0, |b| b[i]),
        }
    }
    fn set(&mut self, i: usize, c: RmsPropCoord) {
        self.square_avg[i] = c.square_avg;
        if let Some(b) = self.momentum_buffer.as_mut() {
            b[i] = c.momentum_buffer;
        }
        if let Some(b) = self.grad_avg.as_mut() {
            b[i] = c.grad_avg;
        }
    }
    fn has_momentum_buffer(&self) -> bool {
        self.momentum_buffer.is_some()
    }
    fn non_finite(c: &RmsPropCoord) -> Option<&'static str> {
        first_non_finite(&[
            ("square_avg", c.square_avg),
            ("momentum_buffer", c.momentum_buffer),
            ("grad_avg", c.grad_avg),
        ])
    }
}

impl Rule for RmsPropConfig {
    type State = RmsPropState;
    const NAME: &'static str = "rmsprop";

    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }

    fn momentum_mut(&mut self) -> Option<&mut f64> {
        Some(&mut self.momentum)
    }

    fn validate(&self) -> Result<(), HyperError> {
        hyper::non_negative(Self::NAME, "lr", self.lr)?;
        hyper::unit_closed(Self::NAME, "alpha", self.alpha)?;
        hyper::non_negative(Self::NAME, "eps", self.eps)?;
        decay::validate(Self::NAME, self.weight_decay)?;
        hyper::non_negative(Self::NAME, "momentum", self.momentum)
    }

    fn init(&self, theta: &DVector<f64>) -> RmsPropState {
        let n = theta.len();
        RmsPropState {
            step: 0,
            square_avg: DVector::zeros(n),
            momentum_buffer: (self.momentum > 0.0).then(|| DVector::zeros(n)),
            grad_avg: self.centered.then(|| DVector::zeros(n)),
        }
    }

    // ANCHOR: update
    fn update(&self, _t: u64, theta: f64, g: f64, s: RmsPropCoord) -> (f64, RmsPropCoord) {
        let g = if self.maximize { -g } else { g };
        let g = self.weight_decay.grad(g, theta);
        let theta = self.weight_decay.param(theta, self.lr);
        let square_avg = ema_sq(s.square_avg, g, self.alpha);
        let (grad_avg, root) = if self.centered {
            let grad_avg = ema(s.grad_avg, g, self.alpha);
            // v - gbar^2 is a variance, >= 0 in exact arithmetic; rounded, it can fall
            // below 0, where PyTorch's square root gives NaN. Clamp it at 0.
            let variance = (-grad_avg).mul_add(grad_avg, square_avg).max(0.0);
            (grad_avg, variance.sqrt())
        } else {
            (s.grad_avg, square_avg.sqrt())
        };
        let avg = root + self.eps;
        let (theta, momentum_buffer) = if self.momentum > 0.0 {
            let b = s.momentum_buffer * self.momentum + g / avg;
            ((-self.lr).mul_add(b, theta), b)
        } else {
            (theta + (-self.lr * g) / avg, s.momentum_buffer)
        };
        let s = RmsPropCoord {
            square_avg,
            momentum_buffer,
            grad_avg,
        };
        (theta, s)
    }
    // ANCHOR_END: update
}
