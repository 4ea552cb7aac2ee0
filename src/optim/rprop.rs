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

use super::scalar::Scalar;
use super::state::state;
use super::{Config, Optim, Refusal, Rule, hyper};
use crate::error::HyperError;

/// Hyperparameters of Rprop, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
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

state! {
    /// The state of Rprop.
    pub struct RpropState {
        /// Steps taken.
        step,
    }
    buffers RpropCoord, RpropLanes {
        /// The previous gradient, zeroed where its sign flipped (PyTorch's `prev`).
        prev ("The previous gradient."),
        /// The per-coordinate step sizes.
        step_size ("The step size."),
    }
}

/// The sign of `x` as PyTorch's `sign`: 0 for zero (unlike `f64::signum`).
#[inline(always)]
pub fn sign<S: Scalar>(x: S) -> S {
    if x > S::zero() {
        S::one()
    } else if x < S::zero() {
        -S::one()
    } else {
        S::zero()
    }
}

/// The constants of Rprop's steps, converted once by [`Rule::prepare`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RpropStep<S> {
    /// `eta-`.
    pub etaminus: S,
    /// `eta+`.
    pub etaplus: S,
    /// `step_min`.
    pub step_min: S,
    /// `step_max`.
    pub step_max: S,
}

impl Config for RpropConfig {
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
}

impl<S: Scalar> Rule<S> for RpropConfig {
    type State = RpropState<S>;
    type Step = RpropStep<S>;

    fn init(&self, theta: &(impl AsRef<[S]> + ?Sized)) -> RpropState<S> {
        let n = theta.as_ref().len();
        RpropState {
            step: 0,
            prev: DVector::from_element(n, S::zero()),
            step_size: DVector::from_element(n, S::from_f64(self.lr)),
        }
    }

    /// Rprop's arithmetic is a sign test, a clamp and a multiply-add: its time is its bytes, and checking first beats staging at
    /// 1e5 and 1e7 coordinates (book chapter "Performance").
    fn refusal(&self) -> Refusal {
        Refusal::CheckFirst
    }

    // claims: rprop-sign-only, rprop-step-bounds, seed-rprop-minibatch, seed-rprop-additive,
    //     pytorch-rprop-zeroes-gradient, optax-rprop-lags, matches-pytorch, matches-pytorch-f32,
    //     exercise-rprop-1, exercise-rprop-2, exercise-rprop-3, exercise-rprop-4
    // ANCHOR: update
    fn prepare(&self, _t: u64) -> RpropStep<S> {
        let (etaminus, etaplus) = self.etas;
        let (step_min, step_max) = self.step_sizes;
        RpropStep {
            etaminus: S::from_f64(etaminus),
            etaplus: S::from_f64(etaplus),
            step_min: S::from_f64(step_min),
            step_max: S::from_f64(step_max),
        }
    }

    #[inline(always)]
    fn apply(&self, k: &RpropStep<S>, theta: S, g: S, s: RpropCoord<S>) -> (S, RpropCoord<S>) {
        let g = if self.maximize { -g } else { g };
        let agreement = g * s.prev; // its sign decides; it may underflow to 0
        let factor = if agreement > S::zero() {
            k.etaplus
        } else if agreement < S::zero() {
            k.etaminus
        } else {
            S::one()
        };
        let step_size = (s.step_size * factor).max(k.step_min).min(k.step_max);
        let g = if agreement < S::zero() { S::zero() } else { g }; // skip the step after a flip
        let theta = (-sign(g)).mul_add(step_size, theta);
        (theta, RpropCoord { prev: g, step_size })
    }
    // ANCHOR_END: update
}
