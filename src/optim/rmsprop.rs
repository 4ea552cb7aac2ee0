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

use super::decay::Decay;
use super::moments::{Beta, ema, ema_sq};
use super::scalar::{Real, Scalar};
use super::state::state;
use super::{
    Buffers, Config, Lanes, Optim, Rule, Unswitched, WeightDecay, WithLanes, decay,
    first_non_finite, hyper,
};
use crate::error::HyperError;

/// Hyperparameters of RMSprop, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
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

state! {
    /// The state of RMSprop, with PyTorch's buffer names.
    pub struct RmsPropState {
        /// Steps taken.
        step,
    }
    buffers {
        /// The moving average `v` of squared gradients.
        square_avg,
    }
    optional buffers {
        /// The momentum buffer `b`, present when `momentum > 0`.
        momentum_buffer,
        /// The moving average `gbar` of gradients, present when centered.
        grad_avg,
    }
}

/// One coordinate of [`RmsPropState`] (absent buffers read as 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsPropCoord<S = f64> {
    /// Entry of `square_avg`.
    pub square_avg: S,
    /// Entry of `momentum_buffer`.
    pub momentum_buffer: S,
    /// Entry of `grad_avg`.
    pub grad_avg: S,
}

/// The buffers of [`RmsPropState`] as slices, for the driver's loop. `B` and
/// `G` are the optional `momentum_buffer` and `grad_avg`: `Option<&mut [S]>` as
/// the state gives them, a plain slice or [`Absent`](super::Absent) once the driver has
/// unswitched them ([`Lanes::unswitch`]).
#[derive(Debug)]
pub struct RmsPropLanes<'a, S, B = Option<&'a mut [S]>, G = Option<&'a mut [S]>> {
    /// `square_avg`.
    pub square_avg: &'a mut [S],
    /// `momentum_buffer`.
    pub momentum_buffer: B,
    /// `grad_avg`.
    pub grad_avg: G,
}

impl<'a, S: Scalar, B: Lanes<Coord = S>, G: Lanes<Coord = S>> Lanes for RmsPropLanes<'a, S, B, G> {
    type Coord = RmsPropCoord<S>;
    #[inline(always)]
    fn truncate(self, n: usize) -> Self {
        RmsPropLanes {
            square_avg: self.square_avg.truncate(n),
            momentum_buffer: self.momentum_buffer.truncate(n),
            grad_avg: self.grad_avg.truncate(n),
        }
    }
    #[inline(always)]
    fn get(&self, i: usize) -> RmsPropCoord<S> {
        RmsPropCoord {
            square_avg: self.square_avg.get(i),
            momentum_buffer: self.momentum_buffer.get(i),
            grad_avg: self.grad_avg.get(i),
        }
    }
    #[inline(always)]
    fn set(&mut self, i: usize, c: RmsPropCoord<S>) {
        self.square_avg.set(i, c.square_avg);
        self.momentum_buffer.set(i, c.momentum_buffer);
        self.grad_avg.set(i, c.grad_avg);
    }
    #[inline(always)]
    fn unswitch<F: WithLanes<RmsPropCoord<S>>>(old: Self, new: Option<Self>, f: F) -> F::Output {
        /// Second: rebuilds the lanes around the unswitched `grad_avg`.
        struct Avg<'a, S, B, F> {
            square_avg: (&'a mut [S], Option<&'a mut [S]>),
            momentum_buffer: (B, Option<B>),
            f: F,
        }
        impl<'a, S: Scalar, B: Lanes<Coord = S>, F: WithLanes<RmsPropCoord<S>>> WithLanes<S>
            for Avg<'a, S, B, F>
        {
            type Output = F::Output;
            #[inline(always)]
            fn call<L: Lanes<Coord = S>>(self, old: L, new: Option<L>) -> F::Output {
                let (old_sq, new_sq) = self.square_avg;
                let (old_b, new_b) = self.momentum_buffer;
                let new =
                    new_sq
                        .zip(new_b)
                        .zip(new)
                        .map(|((square_avg, momentum_buffer), grad_avg)| RmsPropLanes {
                            square_avg,
                            momentum_buffer,
                            grad_avg,
                        });
                let old = RmsPropLanes {
                    square_avg: old_sq,
                    momentum_buffer: old_b,
                    grad_avg: old,
                };
                self.f.call(old, new)
            }
        }
        /// First: unswitches `momentum_buffer`, then `grad_avg`.
        struct Momentum<'a, S, G, F> {
            square_avg: (&'a mut [S], Option<&'a mut [S]>),
            grad_avg: (G, Option<G>),
            f: F,
        }
        impl<'a, S: Scalar, G: Lanes<Coord = S>, F: WithLanes<RmsPropCoord<S>>> WithLanes<S>
            for Momentum<'a, S, G, F>
        {
            type Output = F::Output;
            #[inline(always)]
            fn call<L: Lanes<Coord = S>>(self, old: L, new: Option<L>) -> F::Output {
                let (old_g, new_g) = self.grad_avg;
                G::unswitch(
                    old_g,
                    new_g,
                    Avg {
                        square_avg: self.square_avg,
                        momentum_buffer: (old, new),
                        f: self.f,
                    },
                )
            }
        }
        let (new_sq, new_b, new_g) = match new {
            Some(n) => (
                Some(n.square_avg),
                Some(n.momentum_buffer),
                Some(n.grad_avg),
            ),
            None => (None, None, None),
        };
        let momentum = Momentum {
            square_avg: (old.square_avg, new_sq),
            grad_avg: (old.grad_avg, new_g),
            f,
        };
        B::unswitch(old.momentum_buffer, new_b, momentum)
    }
}

impl<S: Scalar> Buffers for RmsPropState<S> {
    type Scalar = S;
    type Coord = RmsPropCoord<S>;
    type Lanes<'a> = RmsPropLanes<'a, S>;
    fn coords(&self) -> Option<usize> {
        Some(self.square_avg.len())
    }
    fn step(&self) -> u64 {
        self.step
    }
    fn set_step(&mut self, t: u64) {
        self.step = t;
    }
    fn get(&self, i: usize) -> RmsPropCoord<S> {
        RmsPropCoord {
            square_avg: self.square_avg[i],
            momentum_buffer: self.momentum_buffer.as_ref().map_or(S::zero(), |b| b[i]),
            grad_avg: self.grad_avg.as_ref().map_or(S::zero(), |b| b[i]),
        }
    }
    fn set(&mut self, i: usize, c: RmsPropCoord<S>) {
        self.square_avg[i] = c.square_avg;
        if let Some(b) = self.momentum_buffer.as_mut() {
            b[i] = c.momentum_buffer;
        }
        if let Some(b) = self.grad_avg.as_mut() {
            b[i] = c.grad_avg;
        }
    }
    fn lanes(&mut self) -> RmsPropLanes<'_, S> {
        RmsPropLanes {
            square_avg: self.square_avg.as_mut_slice(),
            momentum_buffer: self.momentum_buffer.as_mut().map(|b| b.as_mut_slice()),
            grad_avg: self.grad_avg.as_mut().map(|b| b.as_mut_slice()),
        }
    }
    fn has_momentum_buffer(&self) -> bool {
        self.momentum_buffer.is_some()
    }
    fn non_finite(c: &RmsPropCoord<S>) -> Option<&'static str> {
        first_non_finite(&[
            ("square_avg", c.square_avg),
            ("momentum_buffer", c.momentum_buffer),
            ("grad_avg", c.grad_avg),
        ])
    }
}

/// The constants of one RMSprop step, computed once by [`Rule::prepare`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsPropStep<S> {
    /// `lr`.
    pub lr: S,
    /// `alpha` and `1 - alpha`.
    pub alpha: Beta<S>,
    /// `eps`.
    pub eps: S,
    /// `mu`.
    pub momentum: S,
    /// The weight decay of this step.
    pub decay: Decay<S>,
}

impl Config for RmsPropConfig {
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
}

impl<S: Real> Rule<S> for RmsPropConfig {
    type State = RmsPropState<S>;
    type Step = RmsPropStep<S>;

    fn init(&self, theta: &(impl AsRef<[S]> + ?Sized)) -> RmsPropState<S> {
        let n = theta.as_ref().len();
        let zeros = || DVector::from_element(n, S::zero());
        RmsPropState {
            step: 0,
            square_avg: zeros(),
            momentum_buffer: (self.momentum > 0.0).then(zeros),
            grad_avg: self.centered.then(zeros),
        }
    }

    #[inline(always)]
    fn unswitch<F: Unswitched<S, Self>>(&self, f: F) -> F::Output {
        match (self.centered, self.momentum > 0.0) {
            (false, false) => f.call(&RmsPropConfig {
                centered: false,
                momentum: 0.0,
                ..*self
            }),
            (false, true) => f.call(&RmsPropConfig {
                centered: false,
                ..*self
            }),
            (true, false) => f.call(&RmsPropConfig {
                centered: true,
                momentum: 0.0,
                ..*self
            }),
            (true, true) => f.call(&RmsPropConfig {
                centered: true,
                ..*self
            }),
        }
    }

    // claims: rmsprop-gradient-scale-invariance, adam-beta1-zero-is-bias-corrected-rmsprop,
    //     centered-rmsprop-variance-clamp, seed-hamiltonian, adagrad-step-non-increasing,
    //     update-units-table, optax-conventions, matches-pytorch, matches-pytorch-f32,
    //     exercise-rmsprop-1, exercise-rmsprop-2, exercise-rmsprop-3, exercise-rmsprop-4
    // ANCHOR: update
    fn prepare(&self, _t: u64) -> RmsPropStep<S> {
        RmsPropStep {
            lr: S::from_f64(self.lr),
            alpha: self.alpha.into(),
            eps: S::from_f64(self.eps),
            momentum: S::from_f64(self.momentum),
            decay: self.weight_decay.at(self.lr),
        }
    }

    #[inline(always)]
    fn apply(
        &self,
        k: &RmsPropStep<S>,
        theta: S,
        g: S,
        s: RmsPropCoord<S>,
    ) -> (S, RmsPropCoord<S>) {
        let g = if self.maximize { -g } else { g };
        let g = k.decay.grad(g, theta);
        let theta = k.decay.param(theta);
        let square_avg = ema_sq(s.square_avg, g, k.alpha);
        let (grad_avg, root) = if self.centered {
            let grad_avg = ema(s.grad_avg, g, k.alpha);
            // v - gbar^2 is a variance, >= 0 in exact arithmetic; rounded, it can fall
            // below 0, where PyTorch's square root gives NaN. Clamp it at 0.
            let variance = (-grad_avg).mul_add(grad_avg, square_avg).max(S::zero());
            (grad_avg, variance.sqrt())
        } else {
            (s.grad_avg, square_avg.sqrt())
        };
        let avg = root + k.eps;
        let (theta, momentum_buffer) = if self.momentum > 0.0 {
            let b = s.momentum_buffer * k.momentum + g / avg;
            ((-k.lr).mul_add(b, theta), b)
        } else {
            (theta + (-k.lr * g) / avg, s.momentum_buffer)
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
