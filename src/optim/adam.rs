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

use super::moments::{bias_correction, ema, ema_sq};
use super::{Buffers, Optim, Rule, WeightDecay, decay, first_non_finite, hyper};
use crate::error::HyperError;

/// Which running maximum of the second moment, if any, AMSGrad keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
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

/// The state of Adam, with PyTorch's buffer names.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamState {
    /// Steps taken, `t`.
    pub step: u64,
    /// The first-moment average `m`.
    pub exp_avg: DVector<f64>,
    /// The second-moment average `v`.
    pub exp_avg_sq: DVector<f64>,
    /// The running maximum `vmax`, present when AMSGrad is on.
    pub max_exp_avg_sq: Option<DVector<f64>>,
}

/// One coordinate of [`AdamState`] (an absent maximum reads as 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamCoord {
    /// Entry of `exp_avg`.
    pub exp_avg: f64,
    /// Entry of `exp_avg_sq`.
    pub exp_avg_sq: f64,
    /// Entry of `max_exp_avg_sq`.
    pub max_exp_avg_sq: f64,
}

impl Buffers for AdamState {
    type Coord = AdamCoord;
    fn coords(&self) -> Option<usize> {
        Some(self.exp_avg.len())
    }
    fn step(&self) -> u64 {
        self.step
    }
    fn set_step(&mut self, t: u64) {
        self.step = t;
    }
    fn get(&self, i: usize) -> AdamCoord {
        AdamCoord {
            exp_avg: self.exp_avg[i],
            exp_avg_sq: self.exp_avg_sq[i],
            max_exp_avg_sq: self.max_exp_avg_sq.as_ref().map_or(0.0, |b| b[i]),
        }
    }
    fn set(&mut self, i: usize, c: AdamCoord) {
        self.exp_avg[i] = c.exp_avg;
        self.exp_avg_sq[i] = c.exp_avg_sq;
        if let Some(b) = self.max_exp_avg_sq.as_mut() {
            b[i] = c.max_exp_avg_sq;
        }
    }
    fn non_finite(c: &AdamCoord) -> Option<&'static str> {
        first_non_finite(&[
            ("exp_avg", c.exp_avg),
            ("exp_avg_sq", c.exp_avg_sq),
            ("max_exp_avg_sq", c.max_exp_avg_sq),
        ])
    }
}

impl Rule for AdamConfig {
    type State = AdamState;
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

    fn init(&self, theta: &DVector<f64>) -> AdamState {
        let n = theta.len();
        AdamState {
            step: 0,
            exp_avg: DVector::zeros(n),
            exp_avg_sq: DVector::zeros(n),
            max_exp_avg_sq: (self.amsgrad != Amsgrad::Off).then(|| DVector::zeros(n)),
        }
    }

    // ANCHOR: update
    fn update(&self, t: u64, theta: f64, g: f64, s: AdamCoord) -> (f64, AdamCoord) {
        let (beta1, beta2) = self.betas;
        let g = if self.maximize { -g } else { g };
        let g = self.weight_decay.grad(g, theta);
        let theta = self.weight_decay.param(theta, self.lr);
        let m = ema(s.exp_avg, g, beta1);
        let v = ema_sq(s.exp_avg_sq, g, beta2);
        let bc1 = bias_correction(beta1, t);
        let bc2 = bias_correction(beta2, t);
        let (theta, vmax) = match self.amsgrad {
            Amsgrad::Off => {
                let denom = v.sqrt() / bc2.powf(0.5) + self.eps;
                (theta + (-(self.lr / bc1) * m) / denom, s.max_exp_avg_sq)
            }
            Amsgrad::PyTorch => {
                let vmax = s.max_exp_avg_sq.max(v);
                let denom = vmax.sqrt() / bc2.powf(0.5) + self.eps;
                (theta + (-(self.lr / bc1) * m) / denom, vmax)
            }
            Amsgrad::Paper => {
                let vmax = s.max_exp_avg_sq.max(v);
                (theta + (-self.lr * m) / (vmax.sqrt() + self.eps), vmax)
            }
            Amsgrad::Optax => {
                let vmax = s.max_exp_avg_sq.max(v / bc2);
                let m_hat = m / bc1;
                (theta + (-self.lr * m_hat) / (vmax.sqrt() + self.eps), vmax)
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
