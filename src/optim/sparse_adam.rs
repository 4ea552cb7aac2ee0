//! SparseAdam: Adam restricted, at every step, to the coordinates that the
//! gradient holds. PyTorch's `SparseAdam` takes a gradient in sparse layout (as
//! `nn.Embedding(sparse=True)` produces); a coordinate that the sparse gradient
//! does not hold is *absent*: its parameter and both of its moments are left
//! exactly as they were, not decayed. The step counter and the bias corrections
//! are the parameter's, shared by all coordinates.
//!
//! ```text
//! input: lr, betas (beta1, beta2), eps, maximize
//! m <- 0, v <- 0
//! for t = 1, 2, ...
//!     g <- -g                                        if maximize
//!     s_t <- lr sqrt(1 - beta2^t) / (1 - beta1^t)    one step size for all coordinates
//!     for every coordinate i present in g (g_i != 0):
//!         m_i <- m_i + (g_i - m_i)(1 - beta1)
//!         v_i <- v_i + (g_i^2 - v_i)(1 - beta2)
//!         theta_i <- theta_i - s_t m_i / (sqrt(v_i) + eps)
//!     (absent coordinates: theta_i, m_i, v_i unchanged)
//! ```
//!
//! In exact arithmetic `m + (g - m)(1 - beta)` is Adam's `beta m + (1 - beta) g`;
//! in floating point it rounds differently, and this is the form PyTorch's
//! `_functional.sparse_adam` evaluates (a subtraction, a product, a sum), so it is
//! the form written here. The bias corrections are folded into one step size, as
//! in the Adam paper's efficient version, so `eps` is added to `sqrt(v)` and not
//! to `sqrt(v / (1 - beta2^t))`: SparseAdam's effective `eps` is
//! `eps / sqrt(1 - beta2^t)` in Adam's terms.
//!
//! **Which coordinates are present.** This crate takes a dense gradient. A
//! coordinate is present when its entry is not zero (`0.0` and `-0.0` are both
//! absent): the dense vector stands for the sparse tensor `g.to_sparse()`, which
//! keeps exactly the nonzero entries. A sparse gradient that explicitly stores a
//! zero at some index (PyTorch allows it) would update that coordinate's moments
//! towards zero; that case cannot be expressed with a dense vector.
//!
//! **Ranges.** PyTorch requires `lr > 0` and `eps > 0` (strictly, unlike Adam),
//! and `betas` in `[0, 1)`; the same ranges are checked here. SparseAdam has no
//! weight decay in PyTorch.

use nalgebra::DVector;

use super::moments::bias_correction;
use super::scalar::Real;
use super::state::state;
use super::{Config, Optim, Rule, hyper};
use crate::error::HyperError;

/// The range of `lr` and `eps`: strictly positive and finite (PyTorch's checks).
const POSITIVE: &str = "(0, inf) (finite)";

/// Hyperparameters of SparseAdam, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct SparseAdamConfig {
    /// Learning rate, `lr > 0` (default `1e-3`).
    pub lr: f64,
    /// Decay rates `(beta1, beta2)` of the two moment averages, each in `[0, 1)`
    /// (default `(0.9, 0.999)`).
    pub betas: (f64, f64),
    /// Added to `sqrt(v)` (not to the bias-corrected root), `eps > 0` (default `1e-8`).
    pub eps: f64,
    /// Ascend instead of descend (default false).
    pub maximize: bool,
}

impl Default for SparseAdamConfig {
    /// PyTorch's `SparseAdam` defaults.
    fn default() -> Self {
        SparseAdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            maximize: false,
        }
    }
}

/// SparseAdam: [`SparseAdamConfig`] with its state.
pub type SparseAdam = Optim<SparseAdamConfig>;

state! {
    /// The state of SparseAdam, with PyTorch's buffer names.
    pub struct SparseAdamState {
        /// Steps taken, `t`: every step counts, whichever coordinates it held.
        step,
    }
    buffers SparseAdamCoord, SparseAdamLanes {
        /// The first-moment average `m`, updated only where the gradient is present.
        exp_avg,
        /// The second-moment average `v`, updated only where the gradient is present.
        exp_avg_sq,
    }
}

/// The constants of one SparseAdam step `t`, computed once by [`Rule::prepare`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SparseAdamStep<S> {
    /// `1 - beta1`, computed in `f64`.
    pub one_minus_beta1: S,
    /// `1 - beta2`, computed in `f64`.
    pub one_minus_beta2: S,
    /// `eps`.
    pub eps: S,
    /// `-lr sqrt(1 - beta2^t) / (1 - beta1^t)`, PyTorch's `-step_size`.
    pub neg_step_size: S,
}

impl Config for SparseAdamConfig {
    const NAME: &'static str = "sparseadam";

    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }

    fn momentum_mut(&mut self) -> Option<&mut f64> {
        Some(&mut self.betas.0)
    }

    fn validate(&self) -> Result<(), HyperError> {
        hyper::check(Self::NAME, "lr", self.lr, POSITIVE, |x| x > 0.0)?;
        hyper::check(Self::NAME, "eps", self.eps, POSITIVE, |x| x > 0.0)?;
        hyper::unit_half_open(Self::NAME, "betas[0]", self.betas.0)?;
        hyper::unit_half_open(Self::NAME, "betas[1]", self.betas.1)
    }
}

impl<S: Real> Rule<S> for SparseAdamConfig {
    type State = SparseAdamState<S>;
    type Step = SparseAdamStep<S>;

    fn init(&self, theta: &(impl AsRef<[S]> + ?Sized)) -> SparseAdamState<S> {
        let n = theta.as_ref().len();
        SparseAdamState {
            step: 0,
            exp_avg: DVector::from_element(n, S::zero()),
            exp_avg_sq: DVector::from_element(n, S::zero()),
        }
    }

    // claims: sparseadam-dense-is-adam-with-scaled-eps, sparseadam-absent-coordinates-frozen,
    //     matches-pytorch, exercise-adam-variants-5, exercise-adam-variants-6
    // ANCHOR: update
    fn prepare(&self, t: u64) -> SparseAdamStep<S> {
        let (beta1, beta2) = self.betas;
        let step_size = self.lr * bias_correction(beta2, t).sqrt() / bias_correction(beta1, t);
        SparseAdamStep {
            one_minus_beta1: S::from_f64(1.0 - beta1),
            one_minus_beta2: S::from_f64(1.0 - beta2),
            eps: S::from_f64(self.eps),
            neg_step_size: S::from_f64(-step_size),
        }
    }

    #[inline(always)]
    fn apply(
        &self,
        k: &SparseAdamStep<S>,
        theta: S,
        g: S,
        s: SparseAdamCoord<S>,
    ) -> (S, SparseAdamCoord<S>) {
        if g == S::zero() {
            // Absent from the sparse gradient: nothing moves, nothing decays.
            return (theta, s);
        }
        let g = if self.maximize { -g } else { g };
        let m = s.exp_avg + (g - s.exp_avg) * k.one_minus_beta1;
        let v = s.exp_avg_sq + (g * g - s.exp_avg_sq) * k.one_minus_beta2;
        let denom = v.sqrt() + k.eps;
        let theta = theta + k.neg_step_size * (m / denom);
        let s = SparseAdamCoord {
            exp_avg: m,
            exp_avg_sq: v,
        };
        (theta, s)
    }
    // ANCHOR_END: update
}
