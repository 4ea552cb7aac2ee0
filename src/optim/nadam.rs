//! NAdam: Adam with Nesterov's look-ahead (Dozat, 2016). The step combines this
//! step's gradient, weighted by the current momentum coefficient, with the
//! momentum average, weighted by the next step's coefficient; both are divided
//! by the running product of the coefficients, which plays the part of Adam's
//! first bias correction.
//!
//! ```text
//! input: lr, betas (beta1, beta2), eps, weight decay lambda, momentum_decay psi,
//!        decoupled_weight_decay, maximize
//! m <- 0, v <- 0, P <- 1                         (P is PyTorch's mu_product)
//! for t = 1, 2, ...
//!     g <- -g                                    if maximize
//!     theta <- theta (1 - lr lambda)             if decoupled decay
//!     g <- g + lambda theta                      if L2 decay
//!     mu_t <- beta1 (1 - 0.5 * 0.96^(t psi))
//!     mu_{t+1} <- beta1 (1 - 0.5 * 0.96^((t+1) psi))
//!     P <- P mu_t
//!     m <- beta1 m + (1 - beta1) g
//!     v <- beta2 v + (1 - beta2) g^2
//!     d <- sqrt(v / (1 - beta2^t)) + eps
//!     theta <- theta - lr (1 - mu_t) / (1 - P) * g / d
//!     theta <- theta - lr mu_{t+1} / (1 - P mu_{t+1}) * m / d
//! ```
//!
//! The momentum coefficient `mu_t` is not `beta1`: it rises from about
//! `beta1 / 2` towards `beta1` as `0.96^(t psi)` decays (Dozat's warming
//! schedule). The product `P` is kept in the state, so it is computed by the
//! per-step hook [`Rule::prepare_for`] and recorded by [`Rule::finish`].

use nalgebra::DVector;

use super::decay::Decay;
use super::moments::{Beta, bias_correction, ema, ema_sq};
use super::scalar::Real;
use super::state::state;
use super::{Config, Optim, Rule, WeightDecay, decay, hyper};
use crate::error::HyperError;

/// Hyperparameters of NAdam, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct NAdamConfig {
    /// Learning rate, `lr >= 0` (default `2e-3`).
    pub lr: f64,
    /// Decay rates `(beta1, beta2)` of the two moment averages, each in `[0, 1)`
    /// (default `(0.9, 0.999)`). `beta1` also scales the momentum schedule.
    pub betas: (f64, f64),
    /// Added to the bias-corrected root in the denominator, `eps >= 0` (default `1e-8`).
    pub eps: f64,
    /// Weight decay (default none): [`WeightDecay::L2`] is PyTorch's `weight_decay`,
    /// [`WeightDecay::Decoupled`] is `weight_decay` with `decoupled_weight_decay=True`.
    pub weight_decay: WeightDecay,
    /// The rate `psi` of the momentum schedule, `momentum_decay >= 0` (default `4e-3`).
    pub momentum_decay: f64,
    /// Ascend instead of descend (default false).
    pub maximize: bool,
}

impl Default for NAdamConfig {
    fn default() -> Self {
        NAdamConfig {
            lr: 2e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: WeightDecay::None,
            momentum_decay: 4e-3,
            maximize: false,
        }
    }
}

/// NAdam: [`NAdamConfig`] with its state.
pub type NAdam = Optim<NAdamConfig>;

state! {
    /// The state of NAdam, with PyTorch's buffer names.
    pub struct NAdamState {
        /// Steps taken.
        step,
        /// The product `P = mu_1 ... mu_t` of the momentum coefficients so far
        /// (PyTorch's `mu_product`), kept in `f64` whatever the buffers' type.
        mu_product: f64,
    }
    buffers NAdamCoord, NAdamLanes {
        /// The first-moment average `m`.
        exp_avg,
        /// The second-moment average `v`.
        exp_avg_sq,
    }
}

/// The constants of one NAdam step, computed once by [`Rule::prepare_for`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NAdamStep<S> {
    /// `beta1` and `1 - beta1`.
    pub beta1: Beta<S>,
    /// `beta2` and `1 - beta2`.
    pub beta2: Beta<S>,
    /// `eps`.
    pub eps: S,
    /// `1 - beta2^t`.
    pub bc2: S,
    /// `-lr (1 - mu_t) / (1 - P_t)`, the weight of the gradient.
    pub grad_weight: S,
    /// `-lr mu_{t+1} / (1 - P_t mu_{t+1})`, the weight of the momentum average.
    pub avg_weight: S,
    /// The product `P_t = mu_1 ... mu_t`, recorded in the state by [`Rule::finish`].
    pub mu_product: f64,
    /// The weight decay of this step.
    pub decay: Decay<S>,
}

impl NAdamConfig {
    /// The momentum coefficient of step `t`: `beta1 (1 - 0.5 * 0.96^(t psi))`.
    pub fn mu(&self, t: u64) -> f64 {
        self.betas.0 * (1.0 - 0.5 * 0.96_f64.powf(t as f64 * self.momentum_decay))
    }

    /// The constants of step `t`, given the product `P_{t-1}` of the coefficients
    /// of the steps before it.
    fn step_after<S: Real>(&self, t: u64, mu_product_before: f64) -> NAdamStep<S> {
        let (beta1, beta2) = self.betas;
        let mu = self.mu(t);
        let mu_next = self.mu(t.saturating_add(1));
        let mu_product = mu_product_before * mu;
        let mu_product_next = mu_product * mu_next;
        NAdamStep {
            beta1: beta1.into(),
            beta2: beta2.into(),
            eps: S::from_f64(self.eps),
            bc2: S::from_f64(bias_correction(beta2, t)),
            grad_weight: S::from_f64(-self.lr * (1.0 - mu) / (1.0 - mu_product)),
            avg_weight: S::from_f64((-self.lr * mu_next) / (1.0 - mu_product_next)),
            mu_product,
            decay: self.weight_decay.at(self.lr),
        }
    }
}

impl Config for NAdamConfig {
    const NAME: &'static str = "nadam";

    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }

    fn validate(&self) -> Result<(), HyperError> {
        hyper::non_negative(Self::NAME, "lr", self.lr)?;
        hyper::unit_half_open(Self::NAME, "betas[0]", self.betas.0)?;
        hyper::unit_half_open(Self::NAME, "betas[1]", self.betas.1)?;
        hyper::non_negative(Self::NAME, "eps", self.eps)?;
        hyper::non_negative(Self::NAME, "momentum_decay", self.momentum_decay)?;
        decay::validate(Self::NAME, self.weight_decay)
    }
}

impl<S: Real> Rule<S> for NAdamConfig {
    type State = NAdamState<S>;
    type Step = NAdamStep<S>;

    fn init(&self, theta: &(impl AsRef<[S]> + ?Sized)) -> NAdamState<S> {
        let n = theta.as_ref().len();
        NAdamState {
            step: 0,
            mu_product: 1.0,
            exp_avg: DVector::from_element(n, S::zero()),
            exp_avg_sq: DVector::from_element(n, S::zero()),
        }
    }

    /// The constants of step `t` from `t` alone: the product `P_{t-1}` is
    /// recomputed, multiplying in the same order as the running product.
    fn prepare(&self, t: u64) -> NAdamStep<S> {
        let before = (1..t).fold(1.0, |p, i| p * self.mu(i));
        self.step_after(t, before)
    }

    fn prepare_for(&self, s: &NAdamState<S>) -> NAdamStep<S> {
        self.step_after(s.step.saturating_add(1), s.mu_product)
    }

    fn finish(&self, k: &NAdamStep<S>, s: &mut NAdamState<S>) {
        s.mu_product = k.mu_product;
    }

    // claims: nadam-momentum-schedule, nadam-constant-momentum-is-nesterov-adam, matches-pytorch,
    //     exercise-adam-variants-2
    // ANCHOR: update
    #[inline(always)]
    fn apply(&self, k: &NAdamStep<S>, theta: S, g: S, s: NAdamCoord<S>) -> (S, NAdamCoord<S>) {
        let g = if self.maximize { -g } else { g };
        let theta = k.decay.param(theta);
        let g = k.decay.grad(g, theta);
        let m = ema(s.exp_avg, g, k.beta1);
        let v = ema_sq(s.exp_avg_sq, g, k.beta2);
        let denom = (v / k.bc2).sqrt() + k.eps;
        let theta = theta + (k.grad_weight * g) / denom;
        let theta = theta + (k.avg_weight * m) / denom;
        let s = NAdamCoord {
            exp_avg: m,
            exp_avg_sq: v,
        };
        (theta, s)
    }
    // ANCHOR_END: update
}
