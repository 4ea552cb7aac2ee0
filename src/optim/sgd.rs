//! Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.
//!
//! ```text
//! input: lr, momentum mu, dampening tau, weight decay lambda, nesterov, maximize
//! for t = 1, 2, ...
//!     g <- -g                          if maximize
//!     g <- g + lambda theta            if L2 decay
//!     theta <- theta (1 - lr lambda)   if decoupled decay (SGDW)
//!     if mu != 0
//!         b <- g                               if t = 1
//!         b <- mu b + (1 - tau) g              otherwise
//!         d <- g + mu b   if nesterov,  else d <- b
//!     else
//!         d <- g
//!     theta <- theta - lr d
//! ```

use nalgebra::DVector;

use super::decay::Decay;
use super::scalar::Scalar;
use super::state::state;
use super::{Buffers, Config, Optim, Refusal, Rule, WeightDecay, decay, first_non_finite, hyper};
use crate::error::HyperError;

/// Hyperparameters of SGD, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct SgdConfig {
    /// Learning rate, `lr >= 0` (default `1e-3`).
    pub lr: f64,
    /// Momentum factor, `momentum >= 0` (default 0: no momentum buffer).
    pub momentum: f64,
    /// Dampening of the gradient in the momentum buffer, in `[0, 1]` (default 0).
    pub dampening: f64,
    /// Weight decay (default none). PyTorch's `weight_decay` is [`WeightDecay::L2`];
    /// [`WeightDecay::Decoupled`] gives SGDW.
    pub weight_decay: WeightDecay,
    /// Nesterov momentum; needs `momentum > 0` and `dampening = 0` (default false).
    pub nesterov: bool,
    /// Ascend instead of descend (default false).
    pub maximize: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: WeightDecay::None,
            nesterov: false,
            maximize: false,
        }
    }
}

/// SGD: [`SgdConfig`] with its state.
pub type Sgd = Optim<SgdConfig>;

state! {
    /// The state of SGD: PyTorch's `momentum_buffer`, present when `momentum != 0`.
    pub struct SgdState {
        /// Steps taken.
        step,
    }
    optional buffers {
        /// The momentum buffer `b`.
        momentum_buffer,
    }
}

impl<S: Scalar> Buffers for SgdState<S> {
    type Scalar = S;
    type Coord = S;
    type Lanes<'a> = Option<&'a mut [S]>;
    fn coords(&self) -> Option<usize> {
        self.momentum_buffer.as_ref().map(DVector::len)
    }
    fn step(&self) -> u64 {
        self.step
    }
    fn set_step(&mut self, t: u64) {
        self.step = t;
    }
    fn get(&self, i: usize) -> S {
        self.momentum_buffer.as_ref().map_or(S::zero(), |b| b[i])
    }
    fn set(&mut self, i: usize, c: S) {
        if let Some(b) = self.momentum_buffer.as_mut() {
            b[i] = c;
        }
    }
    fn lanes(&mut self) -> Option<&mut [S]> {
        self.momentum_buffer.as_mut().map(|b| b.as_mut_slice())
    }
    fn has_momentum_buffer(&self) -> bool {
        self.momentum_buffer.is_some()
    }
    fn non_finite(c: &S) -> Option<&'static str> {
        first_non_finite(&[("momentum_buffer", *c)])
    }
}

/// The constants of one SGD step `t`, computed once by [`Rule::prepare`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdStep<S> {
    /// Whether this is the first step (`t = 1`), which starts the buffer.
    pub first: bool,
    /// `lr`.
    pub lr: S,
    /// `mu`.
    pub momentum: S,
    /// `1 - tau`.
    pub undamped: S,
    /// The weight decay of this step.
    pub decay: Decay<S>,
}

impl Config for SgdConfig {
    const NAME: &'static str = "sgd";

    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }

    fn momentum_mut(&mut self) -> Option<&mut f64> {
        Some(&mut self.momentum)
    }

    fn validate(&self) -> Result<(), HyperError> {
        hyper::non_negative(Self::NAME, "lr", self.lr)?;
        hyper::non_negative(Self::NAME, "momentum", self.momentum)?;
        hyper::unit_closed(Self::NAME, "dampening", self.dampening)?;
        decay::validate(Self::NAME, self.weight_decay)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(HyperError {
                optimizer: Self::NAME,
                param: "nesterov",
                value: "true".into(),
                range: "nesterov requires momentum > 0 and dampening = 0",
            });
        }
        Ok(())
    }
}

impl<S: Scalar> Rule<S> for SgdConfig {
    type State = SgdState<S>;
    type Step = SgdStep<S>;

    fn init(&self, theta: &(impl AsRef<[S]> + ?Sized)) -> SgdState<S> {
        let n = theta.as_ref().len();
        SgdState {
            step: 0,
            momentum_buffer: (self.momentum != 0.0).then(|| DVector::from_element(n, S::zero())),
        }
    }

    /// SGD's arithmetic is a few multiply-adds: its time is its bytes, and
    /// checking first beats staging (book chapter "Performance").
    fn refusal(&self) -> Refusal {
        Refusal::CheckFirst
    }

    // claims: seed-sgd-update, gd-quadratic-stability, momentum-unrolled, heavy-ball-optimal-rate,
    //     nesterov-forms-equivalent, nesterov-rate, pytorch-momentum-first-step,
    //     l2-equals-decay-for-sgd, l2-differs-from-decay-with-momentum, update-units-table,
    //     optax-conventions, matches-pytorch, matches-pytorch-f32, exercise-sgd-2, exercise-sgd-3,
    //     exercise-sgd-4, exercise-momentum-1, exercise-momentum-2, exercise-momentum-3,
    //     exercise-momentum-4, exercise-momentum-5, exercise-sgd-5, exercise-convexity-4,
    //     exercise-worst-case-rates-1, exercise-worst-case-rates-2
    // ANCHOR: update
    fn prepare(&self, t: u64) -> SgdStep<S> {
        SgdStep {
            first: t == 1,
            lr: S::from_f64(self.lr),
            momentum: S::from_f64(self.momentum),
            undamped: S::from_f64(1.0 - self.dampening),
            decay: self.weight_decay.at(self.lr),
        }
    }

    #[inline(always)]
    fn apply(&self, k: &SgdStep<S>, theta: S, g: S, b: S) -> (S, S) {
        let g = if self.maximize { -g } else { g };
        let g = k.decay.grad(g, theta);
        let theta = k.decay.param(theta);
        let (d, b) = if self.momentum != 0.0 {
            let b = if k.first {
                g // PyTorch's first buffer is the gradient itself, undamped
            } else {
                k.undamped.mul_add(g, b * k.momentum)
            };
            let d = if self.nesterov {
                k.momentum.mul_add(b, g)
            } else {
                b
            };
            (d, b)
        } else {
            (g, b)
        };
        ((-k.lr).mul_add(d, theta), b)
    }
    // ANCHOR_END: update
}
