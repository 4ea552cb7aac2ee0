//! Adamax: Adam with the root-mean-square of past gradients replaced by an
//! exponentially weighted maximum of their magnitudes (the infinity-norm limit of
//! Adam's p-norm family).
//!
//! ```text
//! input: lr, betas (beta1, beta2), eps, weight decay lambda, maximize
//! m <- 0, u <- 0
//! for t = 1, 2, ...
//!     g <- -g                                  if maximize
//!     g <- g + lambda theta                    if weight_decay
//!     m <- beta1 m + (1 - beta1) g
//!     u <- max(beta2 u, |g| + eps)
//!     theta <- theta - (lr / (1 - beta1^t)) m / u
//! ```
//!
//! `u` needs no bias correction: a maximum started from zero is not pulled
//! towards zero the way an average is. PyTorch adds `eps` to `|g|` inside the
//! maximum, not to `u` outside it.

use nalgebra::DVector;

use super::decay::Decay;
use super::moments::{Beta, bias_correction, ema};
use super::scalar::Scalar;
use super::state::state;
use super::{Config, Optim, Refusal, Rule, WeightDecay, decay, hyper};
use crate::error::HyperError;

/// Hyperparameters of Adamax, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct AdamaxConfig {
    /// Learning rate, `lr >= 0` (default `2e-3`).
    pub lr: f64,
    /// Decay rates `(beta1, beta2)` of the average and of the maximum, each in
    /// `[0, 1)` (default `(0.9, 0.999)`).
    pub betas: (f64, f64),
    /// Added to `|g|` inside the maximum, `eps >= 0` (default `1e-8`). With
    /// `eps = 0` a coordinate whose gradients have all been zero gives `0 / 0`;
    /// such a step is refused.
    pub eps: f64,
    /// Weight decay (default none); PyTorch's `weight_decay` is [`WeightDecay::L2`].
    pub weight_decay: WeightDecay,
    /// Ascend instead of descend (default false).
    pub maximize: bool,
}

impl Default for AdamaxConfig {
    fn default() -> Self {
        AdamaxConfig {
            lr: 2e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: WeightDecay::None,
            maximize: false,
        }
    }
}

/// Adamax: [`AdamaxConfig`] with its state.
pub type Adamax = Optim<AdamaxConfig>;

state! {
    /// The state of Adamax, with PyTorch's buffer names.
    pub struct AdamaxState {
        /// Steps taken.
        step,
    }
    buffers AdamaxCoord, AdamaxLanes {
        /// The first-moment average `m`.
        exp_avg,
        /// The weighted maximum `u` of past `|g| + eps`.
        exp_inf,
    }
}

/// The constants of one Adamax step `t`, computed once by [`Rule::prepare`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamaxStep<S> {
    /// `beta1` and `1 - beta1`.
    pub beta1: Beta<S>,
    /// `beta2`.
    pub beta2: S,
    /// `eps`.
    pub eps: S,
    /// `lr / (1 - beta1^t)`, PyTorch's `clr`.
    pub clr: S,
    /// The weight decay of this step.
    pub decay: Decay<S>,
}

impl Config for AdamaxConfig {
    const NAME: &'static str = "adamax";

    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }

    fn validate(&self) -> Result<(), HyperError> {
        hyper::non_negative(Self::NAME, "lr", self.lr)?;
        hyper::unit_half_open(Self::NAME, "betas[0]", self.betas.0)?;
        hyper::unit_half_open(Self::NAME, "betas[1]", self.betas.1)?;
        hyper::non_negative(Self::NAME, "eps", self.eps)?;
        if let WeightDecay::Decoupled(_) = self.weight_decay {
            return Err(HyperError {
                optimizer: Self::NAME,
                param: "weight_decay",
                value: "decoupled".into(),
                range: "an L2 coefficient (Adamax has no decoupled decay)",
            });
        }
        decay::validate(Self::NAME, self.weight_decay)
    }
}

impl<S: Scalar> Rule<S> for AdamaxConfig {
    type State = AdamaxState<S>;
    type Step = AdamaxStep<S>;

    fn init(&self, theta: &(impl AsRef<[S]> + ?Sized)) -> AdamaxState<S> {
        let n = theta.as_ref().len();
        AdamaxState {
            step: 0,
            exp_avg: DVector::from_element(n, S::zero()),
            exp_inf: DVector::from_element(n, S::zero()),
        }
    }

    /// Adamax's arithmetic is a maximum, a multiply-add and one division: its time is its bytes, and checking first beats staging at
    /// 1e5 and 1e7 coordinates (book chapter "Performance").
    fn refusal(&self) -> Refusal {
        Refusal::CheckFirst
    }

    // claims: adamax-infinity-norm-limit, matches-pytorch, exercise-adam-variants-1
    // ANCHOR: update
    fn prepare(&self, t: u64) -> AdamaxStep<S> {
        let (beta1, beta2) = self.betas;
        AdamaxStep {
            beta1: beta1.into(),
            beta2: S::from_f64(beta2),
            eps: S::from_f64(self.eps),
            clr: S::from_f64(self.lr / bias_correction(beta1, t)),
            decay: self.weight_decay.at(self.lr),
        }
    }

    #[inline(always)]
    fn apply(&self, k: &AdamaxStep<S>, theta: S, g: S, s: AdamaxCoord<S>) -> (S, AdamaxCoord<S>) {
        let g = if self.maximize { -g } else { g };
        let g = k.decay.grad(g, theta);
        let m = ema(s.exp_avg, g, k.beta1);
        let abs_g = if g < S::zero() { -g } else { g };
        let u = (s.exp_inf * k.beta2).max(abs_g + k.eps);
        let theta = theta + (-k.clr * m) / u;
        let s = AdamaxCoord {
            exp_avg: m,
            exp_inf: u,
        };
        (theta, s)
    }
    // ANCHOR_END: update
}
