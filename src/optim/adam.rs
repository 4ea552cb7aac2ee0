//! Adam, AdamW and the AMSGrad variants.
//!
//! ```text
//! input: lr, betas (beta1, beta2), eps, weight decay lambda, amsgrad, maximize
//! m <- 0, v <- 0, vmax <- 0
//! for t = 1, 2, ...
//!     g <- -g                                  if maximize
//!     g <- g + lambda theta                    if L2 decay (Adam's weight_decay)
//!     theta <- theta (1 - lr lambda)           if decoupled decay (AdamW)
//!     m <- beta1 m + (1 - beta1) g
//!     v <- beta2 v + (1 - beta2) g^2
//!     bc1 <- 1 - beta1^t,  bc2 <- 1 - beta2^t
//!     amsgrad off:      theta <- theta - (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)
//!     amsgrad PyTorch:  vmax <- max(vmax, v)
//!                       theta <- theta - (lr / bc1) m / (sqrt(vmax) / sqrt(bc2) + eps)
//!     amsgrad paper:    vmax <- max(vmax, v)
//!                       theta <- theta - lr m / (sqrt(vmax) + eps)
//!     amsgrad Optax:    vmax <- max(vmax, v / bc2)
//!                       theta <- theta - lr (m / bc1) / (sqrt(vmax) + eps)
//! ```

use nalgebra::DVector;

use super::decay::Decay;
use super::moments::{Beta, bias_correction, ema, ema_sq};
use super::scalar::{Real, Scalar};
use super::state::state;
use super::{
    Buffers, Config, Lanes, Optim, Rule, Unswitched, WeightDecay, WithLanes, decay,
    first_non_finite, hyper,
};
use crate::error::HyperError;

/// Which running maximum of the second moment, if any, AMSGrad keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Amsgrad {
    /// Plain Adam: no maximum.
    #[default]
    Off,
    /// PyTorch's `amsgrad=True`: the maximum of the raw `v`, then bias-corrected by
    /// the current `bc2` (and `m` by `bc1`).
    PyTorch,
    /// Reddi, Kale and Kumar (2018), Algorithm 2: the maximum of the raw `v`, and no
    /// bias correction of either moment.
    Paper,
    /// Optax's `amsgrad`: the maximum of the bias-corrected `v / bc2`, with `m / bc1`.
    Optax,
}

/// Hyperparameters of Adam, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct AdamConfig {
    /// Learning rate, `lr >= 0` (default `1e-3`).
    pub lr: f64,
    /// Decay rates `(beta1, beta2)` of the two moment averages, each in `[0, 1)`
    /// (default `(0.9, 0.999)`).
    pub betas: (f64, f64),
    /// Added to the bias-corrected root in the denominator, `eps >= 0` (default `1e-8`).
    pub eps: f64,
    /// Weight decay: [`WeightDecay::L2`] is Adam's `weight_decay` (default none);
    /// [`WeightDecay::Decoupled`] is AdamW's (default `1e-2` in [`AdamConfig::adamw`]).
    pub weight_decay: WeightDecay,
    /// Which AMSGrad maximum to keep (default [`Amsgrad::Off`]).
    pub amsgrad: Amsgrad,
    /// Ascend instead of descend (default false).
    pub maximize: bool,
}

impl Default for AdamConfig {
    /// PyTorch's `Adam` defaults.
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: WeightDecay::None,
            amsgrad: Amsgrad::Off,
            maximize: false,
        }
    }
}

impl AdamConfig {
    /// PyTorch's `AdamW` defaults: Adam's, with decoupled decay `1e-2`.
    pub fn adamw() -> Self {
        AdamConfig {
            weight_decay: WeightDecay::Decoupled(1e-2),
            ..AdamConfig::default()
        }
    }
}

/// Adam (and AdamW, AMSGrad): [`AdamConfig`] with its state.
pub type Adam = Optim<AdamConfig>;

state! {
    /// The state of Adam, with PyTorch's buffer names.
    pub struct AdamState {
        /// Steps taken, `t`.
        step,
    }
    buffers {
        /// The first-moment average `m`.
        exp_avg,
        /// The second-moment average `v`.
        exp_avg_sq,
    }
    optional buffers {
        /// The running maximum `vmax`, present when AMSGrad is on.
        max_exp_avg_sq,
    }
}

/// One coordinate of [`AdamState`] (an absent maximum reads as 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamCoord<S = f64> {
    /// Entry of `exp_avg`.
    pub exp_avg: S,
    /// Entry of `exp_avg_sq`.
    pub exp_avg_sq: S,
    /// Entry of `max_exp_avg_sq`.
    pub max_exp_avg_sq: S,
}

/// The buffers of [`AdamState`] as slices, for the driver's loop. `M` is the
/// optional `max_exp_avg_sq`: `Option<&mut [S]>` as the state gives it, a plain
/// slice or [`Absent`](super::Absent) once the driver has unswitched it ([`Lanes::unswitch`]).
#[derive(Debug)]
pub struct AdamLanes<'a, S, M = Option<&'a mut [S]>> {
    /// `exp_avg`.
    pub exp_avg: &'a mut [S],
    /// `exp_avg_sq`.
    pub exp_avg_sq: &'a mut [S],
    /// `max_exp_avg_sq`.
    pub max_exp_avg_sq: M,
}

impl<'a, S: Scalar, M: Lanes<Coord = S>> Lanes for AdamLanes<'a, S, M> {
    type Coord = AdamCoord<S>;
    #[inline(always)]
    fn truncate(self, n: usize) -> Self {
        AdamLanes {
            exp_avg: self.exp_avg.truncate(n),
            exp_avg_sq: self.exp_avg_sq.truncate(n),
            max_exp_avg_sq: self.max_exp_avg_sq.truncate(n),
        }
    }
    #[inline(always)]
    fn get(&self, i: usize) -> AdamCoord<S> {
        AdamCoord {
            exp_avg: self.exp_avg.get(i),
            exp_avg_sq: self.exp_avg_sq.get(i),
            max_exp_avg_sq: self.max_exp_avg_sq.get(i),
        }
    }
    #[inline(always)]
    fn set(&mut self, i: usize, c: AdamCoord<S>) {
        self.exp_avg.set(i, c.exp_avg);
        self.exp_avg_sq.set(i, c.exp_avg_sq);
        self.max_exp_avg_sq.set(i, c.max_exp_avg_sq);
    }
    #[inline(always)]
    fn unswitch<F: WithLanes<AdamCoord<S>>>(old: Self, new: Option<Self>, f: F) -> F::Output {
        /// Rebuilds the lanes around the unswitched `max_exp_avg_sq`.
        struct Max<'a, S, F> {
            old: [&'a mut [S]; 2],
            new: Option<[&'a mut [S]; 2]>,
            f: F,
        }
        impl<'a, S: Scalar, F: WithLanes<AdamCoord<S>>> WithLanes<S> for Max<'a, S, F> {
            type Output = F::Output;
            #[inline(always)]
            fn call<L: Lanes<Coord = S>>(self, old: L, new: Option<L>) -> F::Output {
                let [exp_avg, exp_avg_sq] = self.old;
                let new = self
                    .new
                    .zip(new)
                    .map(|([exp_avg, exp_avg_sq], max)| AdamLanes {
                        exp_avg,
                        exp_avg_sq,
                        max_exp_avg_sq: max,
                    });
                let old = AdamLanes {
                    exp_avg,
                    exp_avg_sq,
                    max_exp_avg_sq: old,
                };
                self.f.call(old, new)
            }
        }
        let (new, new_max) = match new {
            Some(n) => (Some([n.exp_avg, n.exp_avg_sq]), Some(n.max_exp_avg_sq)),
            None => (None, None),
        };
        let old_max = old.max_exp_avg_sq;
        let old = [old.exp_avg, old.exp_avg_sq];
        M::unswitch(old_max, new_max, Max { old, new, f })
    }
}

impl<S: Scalar> Buffers for AdamState<S> {
    type Scalar = S;
    type Coord = AdamCoord<S>;
    type Lanes<'a> = AdamLanes<'a, S>;
    fn coords(&self) -> Option<usize> {
        Some(self.exp_avg.len())
    }
    fn step(&self) -> u64 {
        self.step
    }
    fn set_step(&mut self, t: u64) {
        self.step = t;
    }
    fn get(&self, i: usize) -> AdamCoord<S> {
        AdamCoord {
            exp_avg: self.exp_avg[i],
            exp_avg_sq: self.exp_avg_sq[i],
            max_exp_avg_sq: self.max_exp_avg_sq.as_ref().map_or(S::zero(), |b| b[i]),
        }
    }
    fn set(&mut self, i: usize, c: AdamCoord<S>) {
        self.exp_avg[i] = c.exp_avg;
        self.exp_avg_sq[i] = c.exp_avg_sq;
        if let Some(b) = self.max_exp_avg_sq.as_mut() {
            b[i] = c.max_exp_avg_sq;
        }
    }
    fn lanes(&mut self) -> AdamLanes<'_, S> {
        AdamLanes {
            exp_avg: self.exp_avg.as_mut_slice(),
            exp_avg_sq: self.exp_avg_sq.as_mut_slice(),
            max_exp_avg_sq: self.max_exp_avg_sq.as_mut().map(|b| b.as_mut_slice()),
        }
    }
    fn non_finite(c: &AdamCoord<S>) -> Option<&'static str> {
        first_non_finite(&[
            ("exp_avg", c.exp_avg),
            ("exp_avg_sq", c.exp_avg_sq),
            ("max_exp_avg_sq", c.max_exp_avg_sq),
        ])
    }
}

/// The constants of one Adam step `t`, computed once by [`Rule::prepare`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep<S> {
    /// `lr`.
    pub lr: S,
    /// `beta1` and `1 - beta1`.
    pub beta1: Beta<S>,
    /// `beta2` and `1 - beta2`.
    pub beta2: Beta<S>,
    /// `eps`.
    pub eps: S,
    /// `bc1 = 1 - beta1^t`.
    pub bc1: S,
    /// `bc2 = 1 - beta2^t`.
    pub bc2: S,
    /// `sqrt(bc2)`.
    pub bc2_sqrt: S,
    /// `lr / bc1`, PyTorch's `step_size`.
    pub step_size: S,
    /// The weight decay of this step.
    pub decay: Decay<S>,
}

impl Config for AdamConfig {
    const NAME: &'static str = "adam";

    fn name(&self) -> &'static str {
        match self.weight_decay {
            WeightDecay::Decoupled(_) => "adamw",
            _ => Self::NAME,
        }
    }

    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }

    fn momentum_mut(&mut self) -> Option<&mut f64> {
        Some(&mut self.betas.0)
    }

    fn validate(&self) -> Result<(), HyperError> {
        hyper::non_negative(Self::NAME, "lr", self.lr)?;
        hyper::unit_half_open(Self::NAME, "betas[0]", self.betas.0)?;
        hyper::unit_half_open(Self::NAME, "betas[1]", self.betas.1)?;
        hyper::non_negative(Self::NAME, "eps", self.eps)?;
        decay::validate(Self::NAME, self.weight_decay)
    }
}

impl<S: Real> Rule<S> for AdamConfig {
    type State = AdamState<S>;
    type Step = AdamStep<S>;

    fn init(&self, theta: &(impl AsRef<[S]> + ?Sized)) -> AdamState<S> {
        let n = theta.as_ref().len();
        AdamState {
            step: 0,
            exp_avg: DVector::from_element(n, S::zero()),
            exp_avg_sq: DVector::from_element(n, S::zero()),
            max_exp_avg_sq: (self.amsgrad != Amsgrad::Off)
                .then(|| DVector::from_element(n, S::zero())),
        }
    }

    #[inline(always)]
    fn unswitch<F: Unswitched<S, Self>>(&self, f: F) -> F::Output {
        let with = |amsgrad| AdamConfig { amsgrad, ..*self };
        match self.amsgrad {
            Amsgrad::Off => f.call(&with(Amsgrad::Off)),
            Amsgrad::PyTorch => f.call(&with(Amsgrad::PyTorch)),
            Amsgrad::Paper => f.call(&with(Amsgrad::Paper)),
            Amsgrad::Optax => f.call(&with(Amsgrad::Optax)),
        }
    }

    // claims: adam-bias-correction, adam-eps-forms, adam-diagonal-scale-invariance,
    //     adam-paper-step-bound, adam-tight-step-bound, seed-adam-update,
    //     adam-beta1-zero-is-bias-corrected-rmsprop, amsgrad-effective-step-non-increasing,
    //     amsgrad-pytorch-bias-correction, amsgrad-three-conventions, seed-amsgrad-two-step-max,
    //     adam-fails-reddi, adam-fails-reddi-synthetic, adamw-decay-scaling, adamw-prop3-appendix,
    //     l2-differs-from-decay-for-adam, update-units-table, optax-conventions, matches-pytorch,
    //     matches-pytorch-f32, exercise-adam-2, exercise-adam-3, exercise-amsgrad-1,
    //     exercise-amsgrad-3, exercise-adam-5, exercise-amsgrad-4
    // ANCHOR: update
    fn prepare(&self, t: u64) -> AdamStep<S> {
        let (beta1, beta2) = self.betas;
        let bc1 = bias_correction(beta1, t);
        let bc2 = bias_correction(beta2, t);
        AdamStep {
            lr: S::from_f64(self.lr),
            beta1: beta1.into(),
            beta2: beta2.into(),
            eps: S::from_f64(self.eps),
            bc1: S::from_f64(bc1),
            bc2: S::from_f64(bc2),
            bc2_sqrt: S::from_f64(bc2.powf(0.5)),
            step_size: S::from_f64(self.lr / bc1),
            decay: self.weight_decay.at(self.lr),
        }
    }

    #[inline(always)]
    fn apply(&self, k: &AdamStep<S>, theta: S, g: S, s: AdamCoord<S>) -> (S, AdamCoord<S>) {
        let g = if self.maximize { -g } else { g };
        let g = k.decay.grad(g, theta);
        let theta = k.decay.param(theta);
        let m = ema(s.exp_avg, g, k.beta1);
        let v = ema_sq(s.exp_avg_sq, g, k.beta2);
        let (theta, vmax) = match self.amsgrad {
            Amsgrad::Off => {
                let denom = v.sqrt() / k.bc2_sqrt + k.eps;
                (theta + (-k.step_size * m) / denom, s.max_exp_avg_sq)
            }
            Amsgrad::PyTorch => {
                let vmax = s.max_exp_avg_sq.max(v);
                let denom = vmax.sqrt() / k.bc2_sqrt + k.eps;
                (theta + (-k.step_size * m) / denom, vmax)
            }
            Amsgrad::Paper => {
                let vmax = s.max_exp_avg_sq.max(v);
                (theta + (-k.lr * m) / (vmax.sqrt() + k.eps), vmax)
            }
            Amsgrad::Optax => {
                let vmax = s.max_exp_avg_sq.max(v / k.bc2);
                let m_hat = m / k.bc1;
                (theta + (-k.lr * m_hat) / (vmax.sqrt() + k.eps), vmax)
            }
        };
        let s = AdamCoord {
            exp_avg: m,
            exp_avg_sq: v,
            max_exp_avg_sq: vmax,
        };
        (theta, s)
    }
    // ANCHOR_END: update
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;

    #[test]
    fn adamw_is_named_by_its_decay() {
        assert_eq!(Adam::new(AdamConfig::default()).unwrap().name(), "adam");
        assert_eq!(Adam::new(AdamConfig::adamw()).unwrap().name(), "adamw");
        let l2 = AdamConfig {
            weight_decay: WeightDecay::L2(0.1),
            ..AdamConfig::default()
        };
        assert_eq!(Adam::new(l2).unwrap().name(), "adam");
    }
}
