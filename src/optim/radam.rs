//! RAdam: Adam whose adaptive step is switched on only once the variance of the
//! adaptive learning rate can be estimated, and then scaled by a rectification
//! factor (Liu et al., 2020). Before that the step is SGD with bias-corrected
//! momentum.
//!
//! ```text
//! input: lr, betas (beta1, beta2), eps, weight decay lambda,
//!        decoupled_weight_decay, maximize
//! m <- 0, v <- 0
//! rho_inf <- 2 / (1 - beta2) - 1
//! for t = 1, 2, ...
//!     g <- -g                                    if maximize
//!     theta <- theta (1 - lr lambda)             if decoupled decay
//!     g <- g + lambda theta                      if L2 decay
//!     m <- beta1 m + (1 - beta1) g
//!     v <- beta2 v + (1 - beta2) g^2
//!     bc1 <- 1 - beta1^t,  bc2 <- 1 - beta2^t
//!     rho_t <- rho_inf - 2 t beta2^t / bc2
//!     if rho_t > 5
//!         r <- sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
//!         theta <- theta - (m / bc1) lr (sqrt(bc2) / (sqrt(v) + eps)) r
//!     else
//!         theta <- theta - (m / bc1) lr
//! ```
//!
//! The threshold is PyTorch's, `rho_t > 5`. The paper's Algorithm 2 switches at
//! `rho_t > 4`, where the factor `r` is already real; the book's RAdam chapter
//! compares the two.

use nalgebra::DVector;

use super::decay::Decay;
use super::moments::{Beta, bias_correction, ema, ema_sq};
use super::scalar::Real;
use super::state::state;
use super::{Config, Optim, Rule, WeightDecay, decay, hyper};
use crate::error::HyperError;

/// Hyperparameters of RAdam, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct RAdamConfig {
    /// Learning rate, `lr >= 0` (default `1e-3`).
    pub lr: f64,
    /// Decay rates `(beta1, beta2)` of the two moment averages, each in `[0, 1)`
    /// (default `(0.9, 0.999)`).
    pub betas: (f64, f64),
    /// Added to the root in the denominator, `eps >= 0` (default `1e-8`).
    pub eps: f64,
    /// Weight decay (default none): [`WeightDecay::L2`] is PyTorch's `weight_decay`,
    /// [`WeightDecay::Decoupled`] is `weight_decay` with `decoupled_weight_decay=True`.
    pub weight_decay: WeightDecay,
    /// Ascend instead of descend (default false).
    pub maximize: bool,
}

impl Default for RAdamConfig {
    fn default() -> Self {
        RAdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: WeightDecay::None,
            maximize: false,
        }
    }
}

/// RAdam: [`RAdamConfig`] with its state.
pub type RAdam = Optim<RAdamConfig>;

state! {
    /// The state of RAdam, with PyTorch's buffer names.
    pub struct RAdamState {
        /// Steps taken.
        step,
    }
    buffers RAdamCoord, RAdamLanes {
        /// The first-moment average `m`.
        exp_avg,
        /// The second-moment average `v`.
        exp_avg_sq,
    }
}

/// The constants of one RAdam step `t`, computed once by [`Rule::prepare`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RAdamStep<S> {
    /// `lr`.
    pub lr: S,
    /// `beta1` and `1 - beta1`.
    pub beta1: Beta<S>,
    /// `beta2` and `1 - beta2`.
    pub beta2: Beta<S>,
    /// `eps`.
    pub eps: S,
    /// `1 - beta1^t`.
    pub bc1: S,
    /// `sqrt(1 - beta2^t)`.
    pub bc2_sqrt: S,
    /// The rectification factor `r_t` when `rho_t > 5`, else `None` (the
    /// unrectified step).
    pub rect: Option<S>,
    /// The weight decay of this step.
    pub decay: Decay<S>,
}

// claims: radam-rectification-below-one, radam-threshold-five-not-four, exercise-adam-variants-3,
//     exercise-adam-variants-4
// ANCHOR: rectification
impl RAdamConfig {
    /// `rho_inf = 2 / (1 - beta2) - 1`, the length of the simple moving average
    /// that the exponential one approximates as `t` grows.
    pub fn rho_inf(&self) -> f64 {
        2.0 / (1.0 - self.betas.1) - 1.0
    }

    /// `rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)`, in PyTorch's order.
    pub fn rho(&self, t: u64) -> f64 {
        let beta2 = self.betas.1;
        let t = t as f64;
        self.rho_inf() - 2.0 * t * beta2.powf(t) / (1.0 - beta2.powf(t))
    }

    /// The rectification factor `r_t`, or `None` when PyTorch takes the
    /// unrectified step (`rho_t <= 5`).
    pub fn rectification(&self, t: u64) -> Option<f64> {
        let rho_inf = self.rho_inf();
        let rho_t = self.rho(t);
        (rho_t > 5.0).then(|| {
            ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                .powf(0.5)
        })
    }
}
// ANCHOR_END: rectification

impl Config for RAdamConfig {
    const NAME: &'static str = "radam";

    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }

    fn validate(&self) -> Result<(), HyperError> {
        hyper::non_negative(Self::NAME, "lr", self.lr)?;
        hyper::unit_half_open(Self::NAME, "betas[0]", self.betas.0)?;
        hyper::unit_half_open(Self::NAME, "betas[1]", self.betas.1)?;
        hyper::non_negative(Self::NAME, "eps", self.eps)?;
        decay::validate(Self::NAME, self.weight_decay)
    }
}

impl<S: Real> Rule<S> for RAdamConfig {
    type State = RAdamState<S>;
    type Step = RAdamStep<S>;

    fn init(&self, theta: &(impl AsRef<[S]> + ?Sized)) -> RAdamState<S> {
        let n = theta.as_ref().len();
        RAdamState {
            step: 0,
            exp_avg: DVector::from_element(n, S::zero()),
            exp_avg_sq: DVector::from_element(n, S::zero()),
        }
    }

    // claims: radam-rectification-below-one, radam-threshold-five-not-four, matches-pytorch,
    //     exercise-adam-variants-4
    // ANCHOR: update
    fn prepare(&self, t: u64) -> RAdamStep<S> {
        let (beta1, beta2) = self.betas;
        RAdamStep {
            lr: S::from_f64(self.lr),
            beta1: beta1.into(),
            beta2: beta2.into(),
            eps: S::from_f64(self.eps),
            bc1: S::from_f64(bias_correction(beta1, t)),
            bc2_sqrt: S::from_f64(bias_correction(beta2, t).powf(0.5)),
            rect: self.rectification(t).map(S::from_f64),
            decay: self.weight_decay.at(self.lr),
        }
    }

    #[inline(always)]
    fn apply(&self, k: &RAdamStep<S>, theta: S, g: S, s: RAdamCoord<S>) -> (S, RAdamCoord<S>) {
        let g = if self.maximize { -g } else { g };
        let theta = k.decay.param(theta);
        let g = k.decay.grad(g, theta);
        let m = ema(s.exp_avg, g, k.beta1);
        let v = ema_sq(s.exp_avg_sq, g, k.beta2);
        let m_hat = m / k.bc1;
        let theta = match k.rect {
            Some(r) => {
                // PyTorch writes sqrt(bc2) / (sqrt(v) + eps) as a reciprocal times sqrt(bc2).
                let adaptive = (S::one() / (v.sqrt() + k.eps)) * k.bc2_sqrt;
                theta - m_hat * k.lr * adaptive * r
            }
            None => theta - m_hat * k.lr,
        };
        let s = RAdamCoord {
            exp_avg: m,
            exp_avg_sq: v,
        };
        (theta, s)
    }
    // ANCHOR_END: update
}
