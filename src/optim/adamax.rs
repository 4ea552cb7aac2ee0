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
use super::{Buffers, Config, Lanes, Optim, Rule, WeightDecay, decay, first_non_finite, hyper};
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

/// The state of Adamax, with PyTorch's buffer names.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        deny_unknown_fields,
        bound(
            serialize = "S: serde::Serialize",
            deserialize = "S: serde::Deserialize<'de>"
        )
    )
)]
pub struct AdamaxState<S: Scalar = f64> {
    /// Steps taken.
    pub step: u64,
    /// The first-moment average `m`.
    #[cfg_attr(feature = "serde", serde(with = "super::checkpoint::vector"))]
    pub exp_avg: DVector<S>,
    /// The weighted maximum `u` of past `|g| + eps`.
    #[cfg_attr(feature = "serde", serde(with = "super::checkpoint::vector"))]
    pub exp_inf: DVector<S>,
}

/// One coordinate of [`AdamaxState`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamaxCoord<S = f64> {
    /// Entry of `exp_avg`.
    pub exp_avg: S,
    /// Entry of `exp_inf`.
    pub exp_inf: S,
}

/// The buffers of [`AdamaxState`] as slices, for the driver's loop.
#[derive(Debug)]
pub struct AdamaxLanes<'a, S> {
    /// `exp_avg`.
    pub exp_avg: &'a mut [S],
    /// `exp_inf`.
    pub exp_inf: &'a mut [S],
}

impl<S: Scalar> Lanes for AdamaxLanes<'_, S> {
    type Coord = AdamaxCoord<S>;
    #[inline(always)]
    fn truncate(self, n: usize) -> Self {
        AdamaxLanes {
            exp_avg: self.exp_avg.truncate(n),
            exp_inf: self.exp_inf.truncate(n),
        }
    }
    #[inline(always)]
    fn get(&self, i: usize) -> AdamaxCoord<S> {
        AdamaxCoord {
            exp_avg: self.exp_avg.get(i),
            exp_inf: self.exp_inf.get(i),
        }
    }
    #[inline(always)]
    fn set(&mut self, i: usize, c: AdamaxCoord<S>) {
        self.exp_avg.set(i, c.exp_avg);
        self.exp_inf.set(i, c.exp_inf);
    }
}

impl<S: Scalar> Buffers for AdamaxState<S> {
    type Scalar = S;
    type Coord = AdamaxCoord<S>;
    type Lanes<'a> = AdamaxLanes<'a, S>;
    fn coords(&self) -> Option<usize> {
        Some(self.exp_avg.len())
    }
    fn step(&self) -> u64 {
        self.step
    }
    fn set_step(&mut self, t: u64) {
        self.step = t;
    }
    fn get(&self, i: usize) -> AdamaxCoord<S> {
        AdamaxCoord {
            exp_avg: self.exp_avg[i],
            exp_inf: self.exp_inf[i],
        }
    }
    fn set(&mut self, i: usize, c: AdamaxCoord<S>) {
        self.exp_avg[i] = c.exp_avg;
        self.exp_inf[i] = c.exp_inf;
    }
    fn lanes(&mut self) -> AdamaxLanes<'_, S> {
        AdamaxLanes {
            exp_avg: self.exp_avg.as_mut_slice(),
            exp_inf: self.exp_inf.as_mut_slice(),
        }
    }
    fn non_finite(c: &AdamaxCoord<S>) -> Option<&'static str> {
        first_non_finite(&[("exp_avg", c.exp_avg), ("exp_inf", c.exp_inf)])
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
