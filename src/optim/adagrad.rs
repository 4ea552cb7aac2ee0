//! AdaGrad: per-coordinate steps scaled by the root of the summed squared gradients.
//!
//! ```text
//! input: lr, lr_decay, weight decay lambda, initial accumulator s0, eps, maximize
//! s <- s0
//! for t = 1, 2, ...
//!     g <- -g                          if maximize
//!     g <- g + lambda theta            if L2 decay
//!     clr <- lr / (1 + (t - 1) lr_decay)
//!     theta <- theta (1 - clr lambda)  if decoupled decay
//!     s <- s + g^2
//!     theta <- theta - clr g / (sqrt(s) + eps)
//! ```

use nalgebra::DVector;

use super::decay::Decay;
use super::scalar::Real;
use super::state::state;
use super::{Config, Optim, Rule, WeightDecay, decay, hyper};
use crate::error::HyperError;

/// Hyperparameters of AdaGrad, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct AdagradConfig {
    /// Learning rate, `lr >= 0` (default `1e-2`).
    pub lr: f64,
    /// Learning-rate decay, `lr_decay >= 0` (default 0).
    pub lr_decay: f64,
    /// Weight decay (default none); PyTorch's `weight_decay` is [`WeightDecay::L2`].
    pub weight_decay: WeightDecay,
    /// Starting value of the accumulator, `>= 0` (default 0).
    pub initial_accumulator_value: f64,
    /// Added to the root in the denominator, `eps >= 0` (default `1e-10`).
    pub eps: f64,
    /// Ascend instead of descend (default false).
    pub maximize: bool,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: WeightDecay::None,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            maximize: false,
        }
    }
}

/// AdaGrad: [`AdagradConfig`] with its state.
pub type Adagrad = Optim<AdagradConfig>;

state! {
    /// The state of AdaGrad.
    pub struct AdagradState {
        /// Steps taken.
        step,
    }
    buffers {
        /// The accumulator `s`: the sum of squared gradients (PyTorch's `sum`).
        sum,
    }
}

/// The constants of one AdaGrad step `t`, computed once by [`Rule::prepare`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdagradStep<S> {
    /// The decayed learning rate `clr = lr / (1 + (t - 1) lr_decay)`.
    pub clr: S,
    /// `eps`.
    pub eps: S,
    /// The weight decay of this step (decoupled decay uses `clr`).
    pub decay: Decay<S>,
}

impl Config for AdagradConfig {
    const NAME: &'static str = "adagrad";

    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }

    fn validate(&self) -> Result<(), HyperError> {
        hyper::non_negative(Self::NAME, "lr", self.lr)?;
        hyper::non_negative(Self::NAME, "lr_decay", self.lr_decay)?;
        decay::validate(Self::NAME, self.weight_decay)?;
        hyper::non_negative(
            Self::NAME,
            "initial_accumulator_value",
            self.initial_accumulator_value,
        )?;
        hyper::non_negative(Self::NAME, "eps", self.eps)
    }
}

impl<S: Real> Rule<S> for AdagradConfig {
    type State = AdagradState<S>;
    type Step = AdagradStep<S>;

    fn init(&self, theta: &(impl AsRef<[S]> + ?Sized)) -> AdagradState<S> {
        AdagradState {
            step: 0,
            sum: DVector::from_element(
                theta.as_ref().len(),
                S::from_f64(self.initial_accumulator_value),
            ),
        }
    }

    // claims: adagrad-regret-bound, adagrad-step-non-increasing,
    //     adagrad-rare-features-larger-steps, seed-adagrad-diagonal, update-units-table,
    //     optax-conventions, matches-pytorch, matches-pytorch-f32, exercise-adagrad-2,
    //     exercise-adagrad-3, exercise-adagrad-4, exercise-adagrad-5
    // ANCHOR: update
    fn prepare(&self, t: u64) -> AdagradStep<S> {
        let clr = self.lr / (1.0 + (t as f64 - 1.0) * self.lr_decay);
        AdagradStep {
            clr: S::from_f64(clr),
            eps: S::from_f64(self.eps),
            decay: self.weight_decay.at(clr),
        }
    }

    #[inline(always)]
    fn apply(&self, k: &AdagradStep<S>, theta: S, g: S, sum: S) -> (S, S) {
        let g = if self.maximize { -g } else { g };
        let g = k.decay.grad(g, theta);
        let theta = k.decay.param(theta);
        let sum = g.mul_add(g, sum);
        let std = sum.sqrt() + k.eps;
        (theta + (-k.clr * g) / std, sum)
    }
    // ANCHOR_END: update
}
