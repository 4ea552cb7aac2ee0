//! AdaDelta: the step is the gradient scaled by the ratio of two root-mean-squares,
//! of past updates over past gradients, so that it carries the units of the
//! parameter.
//!
//! ```text
//! input: lr, rho, eps, weight decay lambda, maximize
//! v <- 0, u <- 0
//! for t = 1, 2, ...
//!     g <- -g                              if maximize
//!     g <- g + lambda theta                if L2 decay
//!     theta <- theta (1 - lr lambda)       if decoupled decay
//!     v <- rho v + (1 - rho) g^2
//!     delta <- sqrt(u + eps) / sqrt(v + eps) * g
//!     u <- rho u + (1 - rho) delta^2
//!     theta <- theta - lr delta
//! ```

use nalgebra::DVector;

use super::moments::ema_sq;
use super::{Buffers, Optim, Rule, WeightDecay, decay, first_non_finite, hyper};
use crate::error::HyperError;

/// Hyperparameters of AdaDelta, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdadeltaConfig {
    /// Scales the update, `lr >= 0` (default 1.0).
    pub lr: f64,
    /// Smoothing constant of both moving averages, in `[0, 1]` (default 0.9).
    pub rho: f64,
    /// Added inside both square roots, `eps >= 0` (default `1e-6`).
    pub eps: f64,
    /// Weight decay (default none); PyTorch's `weight_decay` is [`WeightDecay::L2`].
    pub weight_decay: WeightDecay,
    /// Ascend instead of descend (default false).
    pub maximize: bool,
}

impl Default for AdadeltaConfig {
    fn default() -> Self {
        AdadeltaConfig {
            lr: 1.0,
            rho: 0.9,
            eps: 1e-6,
            weight_decay: WeightDecay::None,
            maximize: false,
        }
    }
}

/// AdaDelta: [`AdadeltaConfig`] with its state.
pub type Adadelta = Optim<AdadeltaConfig>;

/// The state of AdaDelta, with PyTorch's buffer names.
#[derive(Clone, Debug, PartialEq)]
pub struct AdadeltaState {
    /// Steps taken.
    pub step: u64,
    /// The moving average `v` of squared gradients.
    pub square_avg: DVector<f64>,
    /// The moving average `u` of squared updates.
    pub acc_delta: DVector<f64>,
}

/// One coordinate of [`AdadeltaState`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdadeltaCoord {
    /// Entry of `square_avg`.
    pub square_avg: f64,
    /// Entry of `acc_delta`.
    pub acc_delta: f64,
}

impl Buffers for AdadeltaState {
    type Coord = AdadeltaCoord;
    fn coords(&self) -> Option<usize> {
        Some(self.square_avg.len())
    }
    fn step(&self) -> u64 {
        self.step
    }
    fn set_step(&mut self, t: u64) {
        self.step = t;
    }
    fn get(&self, i: usize) -> AdadeltaCoord {
        AdadeltaCoord {
            square_avg: self.square_avg[i],
            acc_delta: self.acc_delta[i],
        }
    }
    fn set(&mut self, i: usize, c: AdadeltaCoord) {
        self.square_avg[i] = c.square_avg;
        self.acc_delta[i] = c.acc_delta;
    }
    fn non_finite(c: &AdadeltaCoord) -> Option<&'static str> {
        first_non_finite(&[("square_avg", c.square_avg), ("acc_delta", c.acc_delta)])
    }
}

impl Rule for AdadeltaConfig {
    type State = AdadeltaState;
    const NAME: &'static str = "adadelta";

    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }

    fn validate(&self) -> Result<(), HyperError> {
        hyper::non_negative(Self::NAME, "lr", self.lr)?;
        hyper::unit_closed(Self::NAME, "rho", self.rho)?;
        hyper::non_negative(Self::NAME, "eps", self.eps)?;
        decay::validate(Self::NAME, self.weight_decay)
    }

    fn init(&self, theta: &DVector<f64>) -> AdadeltaState {
        AdadeltaState {
            step: 0,
            square_avg: DVector::zeros(theta.len()),
            acc_delta: DVector::zeros(theta.len()),
        }
    }

    // ANCHOR: update
    fn update(&self, _t: u64, theta: f64, g: f64, s: AdadeltaCoord) -> (f64, AdadeltaCoord) {
        let g = if self.maximize { -g } else { g };
        let g = self.weight_decay.grad(g, theta);
        let theta = self.weight_decay.param(theta, self.lr);
        let square_avg = ema_sq(s.square_avg, g, self.rho);
        let std = (square_avg + self.eps).sqrt();
        let delta = (s.acc_delta + self.eps).sqrt() / std * g;
        let acc_delta = ema_sq(s.acc_delta, delta, self.rho);
        let s = AdadeltaCoord {
            square_avg,
            acc_delta,
        };
        ((-self.lr).mul_add(delta, theta), s)
    }
    // ANCHOR_END: update
}
