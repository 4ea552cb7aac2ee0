//! Gradient clipping with the semantics of `torch.nn.utils` (torch 2.15):
//! [`clip_grad_norm`] (`clip_grad_norm_`) and [`clip_grad_value`]
//! (`clip_grad_value_`), on a gradient held as one slice.
//!
//! Either runs before any optimizer's step, in PyTorch's loop order
//! `clip -> optimizer.step() -> scheduler.step()`:
//!
//! ```
//! use descent::clip::{NormType, clip_grad_norm};
//! use descent::optim::{Adam, AdamConfig, Optimizer};
//! use nalgebra::DVector;
//!
//! let mut adam = Adam::new(AdamConfig::default())?;
//! let mut theta = DVector::from_vec(vec![3.0, -4.0]);
//! let mut grad = theta.clone();
//! let norm = clip_grad_norm(grad.as_mut_slice(), 1.0, NormType::Two, false)?;
//! assert_eq!(norm, 5.0);
//! assert!((grad.norm() - 1.0).abs() < 1e-6);
//! adam.step(&mut theta, &grad)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Arithmetic
//!
//! The clip coefficient is PyTorch's: `max_norm * (1 / (total_norm + 1e-6))`
//! (PyTorch evaluates `max_norm / tensor` as a reciprocal times a scalar), clamped
//! above at 1 with NaN passed through, and every entry is multiplied by it, also
//! when the coefficient is 1. The 1-norm is a left-to-right sum of absolute values,
//! and the infinity norm the largest absolute value, as in PyTorch. The 2-norm
//! follows the reduction PyTorch's vectorized CPU kernel performs on short
//! tensors: four lanes of fused multiply-adds, summed in order, with the
//! remaining entries fused into the sum; on slices of up to 7 entries this is
//! PyTorch's value bit for bit (`tests/clip.rs`). On longer slices PyTorch
//! regroups its accumulators, and the two values differ by a few units in the last
//! place.

use crate::error::HyperError;

/// The norm `clip_grad_norm` measures: PyTorch's `norm_type` 1, 2 or `inf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NormType {
    /// `norm_type=1.0`: the sum of absolute values.
    One,
    /// `norm_type=2.0` (the default): the Euclidean norm.
    #[default]
    Two,
    /// `norm_type=inf`: the largest absolute value.
    Inf,
}

/// Why a clip was refused. A refused clip leaves the gradient unchanged.
#[derive(Clone, Debug, PartialEq)]
pub enum ClipError {
    /// A parameter outside its valid range.
    Hyper(HyperError),
    /// `error_if_nonfinite` was set and the total norm is NaN or infinite.
    NonFiniteNorm {
        /// The norm that was measured.
        norm: f64,
    },
}

impl std::fmt::Display for ClipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClipError::Hyper(e) => e.fmt(f),
            ClipError::NonFiniteNorm { norm } => write!(
                f,
                "clip_grad_norm: the total norm is {norm}, not finite, and error_if_nonfinite is set"
            ),
        }
    }
}

impl std::error::Error for ClipError {}

impl From<HyperError> for ClipError {
    fn from(e: HyperError) -> Self {
        ClipError::Hyper(e)
    }
}

/// The norm of `grad` that `clip_grad_norm` measures (PyTorch's
/// `torch.nn.utils.get_total_norm` for one tensor).
pub fn total_norm(grad: &[f64], norm_type: NormType) -> f64 {
    match norm_type {
        NormType::One => grad.iter().fold(0.0, |s, g| s + g.abs()),
        NormType::Inf => grad.iter().fold(0.0, |m: f64, g| {
            let a = g.abs();
            // NaN wins, as in PyTorch's max reduction.
            if a.is_nan() || a > m { a } else { m }
        }),
        NormType::Two => {
            let chunks = grad.chunks_exact(4);
            let tail = chunks.remainder();
            let mut lanes = [0.0_f64; 4];
            for c in chunks {
                for (lane, &g) in lanes.iter_mut().zip(c) {
                    *lane = g.mul_add(g, *lane);
                }
            }
            let mut s = lanes.iter().fold(0.0, |s, l| s + l);
            for &g in tail {
                s = g.mul_add(g, s);
            }
            s.sqrt()
        }
    }
}

// claims: none
// ANCHOR: clip_grad_norm
/// PyTorch's `clip_grad_norm_`: scales `grad` in place so that its norm is at
/// most `max_norm` (to within the `1e-6` PyTorch adds), and returns the norm it
/// had. With `error_if_nonfinite`, a NaN or infinite norm is refused and `grad`
/// is left as it was; without it, the coefficient is NaN or 0 and the gradient
/// follows, as in PyTorch. `max_norm` must be finite and `>= 0`.
pub fn clip_grad_norm(
    grad: &mut [f64],
    max_norm: f64,
    norm_type: NormType,
    error_if_nonfinite: bool,
) -> Result<f64, ClipError> {
    crate::optim::hyper::non_negative("clip_grad_norm", "max_norm", max_norm)?;
    let norm = total_norm(grad, norm_type);
    if error_if_nonfinite && !norm.is_finite() {
        return Err(ClipError::NonFiniteNorm { norm });
    }
    let coef = (1.0 / (norm + 1e-6)) * max_norm;
    // torch.clamp(coef, max=1.0): NaN stays NaN (f64::min would drop it).
    let coef = if coef > 1.0 { 1.0 } else { coef };
    for g in grad.iter_mut() {
        *g *= coef;
    }
    Ok(norm)
}
// ANCHOR_END: clip_grad_norm

// ANCHOR: clip_grad_value
/// PyTorch's `clip_grad_value_`: clamps every entry of `grad` into
/// `[-clip_value, clip_value]` (NaN entries stay NaN). `clip_value` must be
/// `>= 0` and not NaN; `inf` leaves the gradient unchanged.
pub fn clip_grad_value(grad: &mut [f64], clip_value: f64) -> Result<(), HyperError> {
    if clip_value.is_nan() || clip_value < 0.0 {
        return Err(HyperError {
            optimizer: "clip_grad_value",
            param: "clip_value",
            value: format!("{clip_value:?}"),
            range: "[0, inf]",
        });
    }
    for g in grad.iter_mut() {
        // clamp_min(-c), then clamp_max(c), each passing NaN through.
        if *g < -clip_value {
            *g = -clip_value;
        }
        if *g > clip_value {
            *g = clip_value;
        }
    }
    Ok(())
}
// ANCHOR_END: clip_grad_value
