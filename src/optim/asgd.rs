//! Averaged SGD: plain SGD with a decaying step size, and beside it the running
//! (Polyak–Ruppert) average of the iterates, kept in the state.
//!
//! ```text
//! input: lr, lambd, alpha, t0, weight decay lambda, maximize
//! eta <- lr, mu <- 1, ax <- 0
//! for t = 1, 2, ...
//!     g <- -g                                     if maximize
//!     g <- g + lambda theta                       if weight_decay
//!     theta <- theta (1 - lambd eta)
//!     theta <- theta - eta g
//!     ax <- theta                                 if mu = 1
//!     ax <- ax + mu (theta - ax)                  otherwise
//!     eta <- lr / (1 + lambd lr t)^alpha          (for step t + 1)
//!     mu <- 1 / max(1, t - t0)                    (for step t + 1)
//! ```
//!
//! The parameters follow SGD; the average `ax` is only recorded. PyTorch returns
//! `theta`, not `ax`, as the parameter: a caller who wants the averaged iterate
//! reads it from [`AsgdState::ax`].
//!
//! `eta` and `mu` are state, as in PyTorch: the values a step uses were computed at
//! the end of the step before, with the learning rate of that step. A learning
//! rate set between steps therefore first shows in `eta` one step later.

use nalgebra::DVector;

use super::decay::Decay;
use super::scalar::Scalar;
use super::state::state;
use super::{Config, Optim, Refusal, Rule, WeightDecay, decay, hyper};
use crate::error::HyperError;

/// Hyperparameters of ASGD, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct AsgdConfig {
    /// Initial step size and scale of the `eta` schedule, `lr >= 0` (default `1e-2`).
    pub lr: f64,
    /// Decay term: shrinks `theta` by `1 - lambd eta` each step and slows the
    /// `eta` schedule, `lambd >= 0` (default `1e-4`).
    pub lambd: f64,
    /// Power of the `eta` schedule, `alpha >= 0` (default 0.75).
    pub alpha: f64,
    /// The step after which averaging starts, any finite number (default `1e6`).
    /// PyTorch accepts any float, NaN included; it is refused here unless finite.
    pub t0: f64,
    /// Weight decay (default none); PyTorch's `weight_decay` is [`WeightDecay::L2`].
    pub weight_decay: WeightDecay,
    /// Ascend instead of descend (default false).
    pub maximize: bool,
}

impl Default for AsgdConfig {
    fn default() -> Self {
        AsgdConfig {
            lr: 1e-2,
            lambd: 1e-4,
            alpha: 0.75,
            t0: 1e6,
            weight_decay: WeightDecay::None,
            maximize: false,
        }
    }
}

/// ASGD: [`AsgdConfig`] with its state.
pub type Asgd = Optim<AsgdConfig>;

state! {
    /// The state of ASGD, with PyTorch's names.
    pub struct AsgdState {
        /// Steps taken.
        step,
        /// The step size of the next step (PyTorch's `eta`).
        eta: f64,
        /// The averaging weight of the next step (PyTorch's `mu`).
        mu: f64,
    }
    buffers {
        /// The running average of the iterates (PyTorch's `ax`).
        ax,
    }
}

/// The constants of one ASGD step, computed once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AsgdStep<S> {
    /// `eta`, the step size.
    pub eta: S,
    /// `1 - lambd eta`, the shrink factor.
    pub shrink: S,
    /// `mu`, the averaging weight; `None` when it is 1 (the average is the iterate).
    pub mu: Option<S>,
    /// The L2 weight decay.
    pub decay: Decay<S>,
}

impl AsgdConfig {
    /// `eta` after `t` steps: `lr / (1 + lambd lr t)^alpha`, in PyTorch's order.
    pub fn eta_after(&self, t: u64) -> f64 {
        self.lr / (1.0 + self.lambd * self.lr * t as f64).powf(self.alpha)
    }

    /// `mu` after `t` steps: `1 / max(1, t - t0)`.
    pub fn mu_after(&self, t: u64) -> f64 {
        1.0 / (t as f64 - self.t0).max(1.0)
    }

    fn step_from<S: Scalar>(&self, eta: f64, mu: f64) -> AsgdStep<S> {
        AsgdStep {
            eta: S::from_f64(eta),
            shrink: S::from_f64(1.0 - self.lambd * eta),
            mu: (mu != 1.0).then(|| S::from_f64(mu)),
            decay: self.weight_decay.at(self.lr),
        }
    }
}

impl Config for AsgdConfig {
    const NAME: &'static str = "asgd";

    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }

    fn validate(&self) -> Result<(), HyperError> {
        hyper::non_negative(Self::NAME, "lr", self.lr)?;
        hyper::non_negative(Self::NAME, "lambd", self.lambd)?;
        hyper::non_negative(Self::NAME, "alpha", self.alpha)?;
        hyper::check(Self::NAME, "t0", self.t0, "(-inf, inf) (finite)", |_| true)?;
        if let WeightDecay::Decoupled(_) = self.weight_decay {
            return Err(HyperError {
                optimizer: Self::NAME,
                param: "weight_decay",
                value: "decoupled".into(),
                range: "an L2 coefficient (ASGD has no decoupled decay)",
            });
        }
        decay::validate(Self::NAME, self.weight_decay)
    }
}

impl<S: Scalar> Rule<S> for AsgdConfig {
    type State = AsgdState<S>;
    type Step = AsgdStep<S>;

    fn init(&self, theta: &(impl AsRef<[S]> + ?Sized)) -> AsgdState<S> {
        AsgdState {
            step: 0,
            eta: self.lr,
            mu: 1.0,
            ax: DVector::from_element(theta.as_ref().len(), S::zero()),
        }
    }

    /// ASGD's arithmetic is a few multiply-adds: its time is its bytes, and checking first beats staging at
    /// 1e5 and 1e7 coordinates (book chapter "Performance").
    fn refusal(&self) -> Refusal {
        Refusal::CheckFirst
    }

    /// The constants of step `t` from `t` alone (the learning rate held fixed).
    /// The first step uses the initial `eta = lr` and `mu = 1`, whatever `t0` is:
    /// `1 / max(1, 0 - t0)` would differ from 1 for `t0 < -1`.
    fn prepare(&self, t: u64) -> AsgdStep<S> {
        if t <= 1 {
            return self.step_from(self.lr, 1.0);
        }
        self.step_from(self.eta_after(t - 1), self.mu_after(t - 1))
    }

    /// The constants of the next step from the `eta` and `mu` kept in the state.
    fn prepare_for(&self, s: &AsgdState<S>) -> AsgdStep<S> {
        self.step_from(s.eta, s.mu)
    }

    // claims: asgd-average-window, asgd-parameters-are-not-averaged, matches-pytorch,
    //     exercise-averaging-1, exercise-averaging-2, exercise-averaging-3
    // ANCHOR: update
    #[inline(always)]
    fn apply(&self, k: &AsgdStep<S>, theta: S, g: S, ax: S) -> (S, S) {
        let g = if self.maximize { -g } else { g };
        let g = k.decay.grad(g, theta);
        let theta = theta * k.shrink;
        let theta = (-k.eta).mul_add(g, theta);
        let ax = match k.mu {
            None => theta,
            Some(mu) => ((theta - ax) * mu) + ax,
        };
        (theta, ax)
    }

    fn finish(&self, _k: &AsgdStep<S>, s: &mut AsgdState<S>) {
        s.eta = self.eta_after(s.step);
        s.mu = self.mu_after(s.step);
    }
    // ANCHOR_END: update
}
