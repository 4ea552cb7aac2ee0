//! Moving averages and bias correction, written once and shared.
//!
//! PyTorch computes the two exponential moving averages of Adam and RMSprop with
//! different tensor operations, which round differently. Both are written here
//! exactly as PyTorch evaluates them, so that the fixtures match to the last bit
//! where the platform's PyTorch uses fused multiply-adds (as the x86-64 builds do).
//!
//! The functions are generic over the [`Scalar`] they run in. A decay rate comes as
//! a [`Beta`], which holds `beta` and `1 - beta` computed once per step in `f64`
//! (PyTorch computes `1 - beta` in a Python float); a plain `f64` converts to one.

use super::scalar::Scalar;

/// A decay rate `beta` of a moving average and its complement `1 - beta`, computed
/// in `f64` and converted once to the scalar type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Beta<S> {
    /// `beta`.
    pub beta: S,
    /// `1 - beta`, computed in `f64` before the conversion.
    pub complement: S,
}

impl<S: Scalar> From<f64> for Beta<S> {
    #[inline(always)]
    fn from(beta: f64) -> Self {
        Beta {
            beta: S::from_f64(beta),
            complement: S::from_f64(1.0 - beta),
        }
    }
}

// claims: matches-pytorch, muon-docs-buffer-is-lerp, adam-bias-correction
// ANCHOR: lerp
/// PyTorch's `lerp(a, b, w) = a + w (b - a)`, evaluated as its CPU kernel does:
/// from `a` when `w < 0.5` and from `b` otherwise, with one fused multiply-add.
#[inline(always)]
pub fn lerp<S: Scalar>(a: S, b: S, w: S) -> S {
    if w < S::from_f64(0.5) {
        w.mul_add(b - a, a)
    } else {
        (-(b - a)).mul_add(S::one() - w, b)
    }
}
// ANCHOR_END: lerp

// claims: adam-bias-correction, matches-pytorch, seed-hamiltonian
// ANCHOR: ema
/// The moving average of a gradient: `beta * avg + (1 - beta) * g`, as PyTorch's
/// `avg.lerp_(g, 1 - beta)`.
#[inline(always)]
pub fn ema<S: Scalar>(avg: S, g: S, beta: impl Into<Beta<S>>) -> S {
    lerp(avg, g, beta.into().complement)
}

/// The moving average of a squared gradient: `beta * avg + (1 - beta) * g^2`, as
/// PyTorch's `avg.mul_(beta).addcmul_(g, g, value=1 - beta)`.
#[inline(always)]
pub fn ema_sq<S: Scalar>(avg: S, g: S, beta: impl Into<Beta<S>>) -> S {
    let Beta { beta, complement } = beta.into();
    (complement * g).mul_add(g, avg * beta)
}
// ANCHOR_END: ema

// claims: adam-bias-correction, adam-eps-forms, amsgrad-pytorch-bias-correction,
//     amsgrad-three-conventions, adam-beta1-zero-is-bias-corrected-rmsprop, exercise-adam-1,
//     exercise-amsgrad-2
// ANCHOR: bias_correction
/// The bias correction `1 - beta^t` of a moving average started from zero: after
/// `t` steps of a constant `g`, the average is `(1 - beta^t) g`. It is a per-step
/// constant, computed in `f64` as PyTorch computes it in Python.
pub fn bias_correction(beta: f64, t: u64) -> f64 {
    1.0 - beta.powf(t as f64)
}
// ANCHOR_END: bias_correction
