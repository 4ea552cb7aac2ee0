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

use super::decay::Decay;
use super::moments::{Beta, ema_sq};
use super::scalar::Real;
use super::state::state;
use super::{Config, Optim, Rule, WeightDecay, decay, hyper};
use crate::error::HyperError;

/// Hyperparameters of AdaDelta, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
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

state! {
    /// The state of AdaDelta, with PyTorch's buffer names.
    pub struct AdadeltaState {
        /// Steps taken.
        step,
    }
    buffers AdadeltaCoord, AdadeltaLanes {
        /// The moving average `v` of squared gradients.
        square_avg,
        /// The moving average `u` of squared updates.
        acc_delta,
    }
}

/// The constants of one AdaDelta step, computed once by [`Rule::prepare`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdadeltaStep<S> {
    /// `lr`.
    pub lr: S,
    /// `rho` and `1 - rho`.
    pub rho: Beta<S>,
    /// `eps`.
    pub eps: S,
    /// The weight decay of this step.
    pub decay: Decay<S>,
}

impl Config for AdadeltaConfig {
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
}

impl<S: Real> Rule<S> for AdadeltaConfig {
    type State = AdadeltaState<S>;
    type Step = AdadeltaStep<S>;

    fn init(&self, theta: &(impl AsRef<[S]> + ?Sized)) -> AdadeltaState<S> {
        let n = theta.as_ref().len();
        AdadeltaState {
            step: 0,
            square_avg: DVector::from_element(n, S::zero()),
            acc_delta: DVector::from_element(n, S::zero()),
        }
    }

    // claims: adadelta-first-step, adadelta-units, update-units-table,
    //     optax-adadelta-default-ascends, matches-pytorch, matches-pytorch-f32,
    //     exercise-adadelta-1, exercise-adadelta-2, exercise-adadelta-3, exercise-adadelta-4
    // ANCHOR: update
    fn prepare(&self, _t: u64) -> AdadeltaStep<S> {
        AdadeltaStep {
            lr: S::from_f64(self.lr),
            rho: self.rho.into(),
            eps: S::from_f64(self.eps),
            decay: self.weight_decay.at(self.lr),
        }
    }

    #[inline(always)]
    fn apply(
        &self,
        k: &AdadeltaStep<S>,
        theta: S,
        g: S,
        s: AdadeltaCoord<S>,
    ) -> (S, AdadeltaCoord<S>) {
        let g = if self.maximize { -g } else { g };
        let g = k.decay.grad(g, theta);
        let theta = k.decay.param(theta);
        let square_avg = ema_sq(s.square_avg, g, k.rho);
        let std = (square_avg + k.eps).sqrt();
        let delta = (s.acc_delta + k.eps).sqrt() / std * g;
        let acc_delta = ema_sq(s.acc_delta, delta, k.rho);
        let s = AdadeltaCoord {
            square_avg,
            acc_delta,
        };
        ((-k.lr).mul_add(delta, theta), s)
    }
    // ANCHOR_END: update
}
