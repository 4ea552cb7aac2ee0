//! Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"),
//! with Optax 0.2.8's `optax.lion` semantics.
//!
//! ```text
//! input: lr, betas (b1, b2), weight decay lambda, maximize
//! state: m = 0 (Optax's `mu`)
//! for t = 1, 2, ...
//!     g <- -g                                if maximize
//!     c <- (1 - b1) g + b1 m                 interpolate, then take the sign
//!     u <- sign(c) + lambda theta            sign(0) = 0; decoupled decay
//!     m <- (1 - b2) g + b2 m                 the momentum uses the other beta
//!     theta <- theta + (-lr) u
//! ```
//!
//! Every coordinate moves by exactly `lr` (plus the decay term) unless `c` is
//! exactly zero: Lion is a sign method, like Rprop without the adaptive step.
//!
//! Optax names the learning rate `learning_rate` and has no default for it, and
//! has no `maximize`. Here the learning rate is `lr` (default `1e-4`, the Lion
//! paper's advice of a rate three to ten times below AdamW's), `betas` is
//! `(b1, b2)` as in PyTorch's convention, and `maximize` negates the gradient, the
//! same as handing Optax `-g`. Optax checks no range; here `b1` and `b2` must lie
//! in `[0, 1]` and `lr` and `weight_decay` must be finite and non-negative.

use nalgebra::DVector;

use super::moments::Beta;
use super::scalar::Scalar;
use super::state::state;
use super::{Config, Optim, Refusal, Rule, hyper};
use crate::error::HyperError;

/// Hyperparameters of Lion, Optax's defaults under PyTorch-style names.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct LionConfig {
    /// Learning rate, `lr >= 0` (default `1e-4`; Optax's `learning_rate`).
    pub lr: f64,
    /// `(b1, b2)`, each in `[0, 1]` (default `(0.9, 0.99)`): `b1` mixes the
    /// momentum into the sign, `b2` updates the momentum.
    pub betas: (f64, f64),
    /// Decoupled weight decay `lambda >= 0` (default `1e-3`, Optax's), added to
    /// the sign before the learning rate scales it.
    pub weight_decay: f64,
    /// Ascend instead of descend (default false).
    pub maximize: bool,
}

impl Default for LionConfig {
    fn default() -> Self {
        LionConfig {
            lr: 1e-4,
            betas: (0.9, 0.99),
            weight_decay: 1e-3,
            maximize: false,
        }
    }
}

/// Lion: [`LionConfig`] with its state.
pub type Lion = Optim<LionConfig>;

state! {
    /// The state of Lion: the momentum `m` (Optax's `mu`).
    pub struct LionState {
        /// Steps taken.
        step,
    }
    buffers {
        /// The momentum `m`.
        #[cfg_attr(feature = "serde", serde(rename = "mu"))]
        exp_avg,
    }
}

/// The constants of one Lion step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LionStep<S> {
    /// `-lr` (Optax scales by the negated rate).
    pub neg_lr: S,
    /// `b1` and `1 - b1`.
    pub b1: Beta<S>,
    /// `b2` and `1 - b2`.
    pub b2: Beta<S>,
    /// `lambda`.
    pub weight_decay: S,
}

impl Config for LionConfig {
    const NAME: &'static str = "lion";

    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }

    fn validate(&self) -> Result<(), HyperError> {
        hyper::non_negative(Self::NAME, "lr", self.lr)?;
        hyper::unit_closed(Self::NAME, "betas[0]", self.betas.0)?;
        hyper::unit_closed(Self::NAME, "betas[1]", self.betas.1)?;
        hyper::non_negative(Self::NAME, "weight_decay", self.weight_decay)
    }
}

/// `jnp.sign`: -1, 0 or 1 (Rust's `signum` gives 1 at +0).
#[inline(always)]
fn sign<S: Scalar>(x: S) -> S {
    if x > S::zero() {
        S::one()
    } else if x < S::zero() {
        -S::one()
    } else {
        S::zero()
    }
}

impl<S: Scalar> Rule<S> for LionConfig {
    type State = LionState<S>;
    type Step = LionStep<S>;

    fn init(&self, theta: &(impl AsRef<[S]> + ?Sized)) -> LionState<S> {
        LionState {
            step: 0,
            exp_avg: DVector::from_element(theta.as_ref().len(), S::zero()),
        }
    }

    /// Lion's arithmetic is two interpolations and a sign: its time is its bytes, and checking first beats staging at
    /// 1e5 and 1e7 coordinates (book chapter "Performance").
    fn refusal(&self) -> Refusal {
        Refusal::CheckFirst
    }

    fn prepare(&self, _t: u64) -> LionStep<S> {
        LionStep {
            neg_lr: S::from_f64(-self.lr),
            b1: self.betas.0.into(),
            b2: self.betas.1.into(),
            weight_decay: S::from_f64(self.weight_decay),
        }
    }

    // claims: lion-matches-optax, lion-moves-every-coordinate-by-lr,
    //     lion-drifts-on-zero-mean-minibatches, exercise-lion-1, exercise-lion-2, exercise-lion-3
    // ANCHOR: update
    #[inline(always)]
    fn apply(&self, k: &LionStep<S>, theta: S, g: S, m: S) -> (S, S) {
        let g = if self.maximize { -g } else { g };
        let c = k.b1.complement * g + k.b1.beta * m;
        let u = sign(c) + k.weight_decay * theta;
        let m = k.b2.complement * g + k.b2.beta * m;
        (theta + k.neg_lr * u, m)
    }
    // ANCHOR_END: update
}
