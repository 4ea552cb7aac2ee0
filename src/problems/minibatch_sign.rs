//! Hinton's minibatch example against Rprop (Coursera, Neural Networks for
//! Machine Learning, lecture 6, 2012): within each epoch of ten minibatches, nine
//! give the gradient `+0.1` and one gives `-0.9`. The mean over the epoch is zero,
//! so SGD's first-order drift is zero, while Rprop, which sees only signs, steps
//! nine times one way and once the other.
//!
//! [`MinibatchSign`] generates that gradient sequence, optionally per coordinate:
//! coordinate `i` gets `scale_i` times the base value, and its large minibatch is
//! the one with `k mod 10 == phase_i` (minibatches count from `k = 0`).
//!
//! The small value is a parameter (`0.1` in Hinton's example); the large one is
//! `-9 * small`, so the epoch mean is zero in exact arithmetic. In `f64`, `0.1` is
//! not exact and the nine-fold sum of `0.1` is `0.8999999999999999`, so one
//! epoch sums to about `-1.1e-16`; a dyadic `small` such as `0.125` makes every
//! epoch sum exactly zero.

use crate::error::HyperError;
use nalgebra::DVector;

use super::quadratic::{ProblemError, check, check_finite};

/// Minibatches per epoch.
pub const BATCHES: u64 = 10;

/// The gradient sequence of Hinton's example (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct MinibatchSign {
    small: f64,
    scales: DVector<f64>,
    phases: Vec<u64>,
}

impl MinibatchSign {
    const NAME: &'static str = "minibatch_sign";

    /// Hinton's numbers in `dim >= 1` coordinates: `+0.1` nine times, then `-0.9`
    /// (phase 9, the last minibatch of each epoch), scale 1.
    pub fn hinton(dim: usize) -> Result<Self, ProblemError> {
        MinibatchSign::new(0.1, DVector::from_element(dim, 1.0), vec![9; dim])
    }

    /// The sequence with base values `small > 0` and `-9 small`, coordinate `i`
    /// scaled by `scales[i]` (finite) with its large minibatch at
    /// `phases[i] < 10`. `scales` and `phases` must have the same length, at
    /// least 1.
    pub fn new(small: f64, scales: DVector<f64>, phases: Vec<u64>) -> Result<Self, ProblemError> {
        check(Self::NAME, "small", small, "(0, inf) (finite)", |v| v > 0.0)?;
        if scales.is_empty() {
            return Err(ProblemError::Invalid(HyperError {
                optimizer: Self::NAME,
                param: "scales",
                value: "an empty vector".into(),
                range: "length >= 1",
            }));
        }
        check_finite(Self::NAME, "scales", scales.iter())?;
        if phases.len() != scales.len() {
            return Err(ProblemError::LengthMismatch {
                problem: Self::NAME,
                param: "phases",
                expected: scales.len(),
                found: phases.len(),
            });
        }
        if let Some(&p) = phases.iter().find(|&&p| p >= BATCHES) {
            return Err(ProblemError::Invalid(HyperError {
                optimizer: Self::NAME,
                param: "phases",
                value: p.to_string(),
                range: "0 <= phase < 10",
            }));
        }
        Ok(MinibatchSign {
            small,
            scales,
            phases,
        })
    }

    /// The number of coordinates.
    pub fn dim(&self) -> usize {
        self.scales.len()
    }

    /// The small base value (`+0.1` in Hinton's example).
    pub fn small(&self) -> f64 {
        self.small
    }

    /// The large base value, `-9 * small`.
    pub fn large(&self) -> f64 {
        -((BATCHES - 1) as f64) * self.small
    }

    /// The gradient of coordinate `i` on minibatch `k` (from 0), or `None` if `i`
    /// is out of range.
    pub fn coordinate(&self, k: u64, i: usize) -> Option<f64> {
        let scale = *self.scales.get(i)?;
        let phase = *self.phases.get(i)?;
        let base = if k % BATCHES == phase {
            self.large()
        } else {
            self.small
        };
        Some(scale * base)
    }

    /// Writes the gradient of minibatch `k` (from 0) into `out`, without
    /// allocating. Refuses an `out` of the wrong length.
    pub fn gradient_into(&self, k: u64, out: &mut DVector<f64>) -> Result<(), ProblemError> {
        if out.len() != self.dim() {
            return Err(ProblemError::LengthMismatch {
                problem: Self::NAME,
                param: "out",
                expected: self.dim(),
                found: out.len(),
            });
        }
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.coordinate(k, i).unwrap_or(f64::NAN);
        }
        Ok(())
    }

    /// The gradient of minibatch `k` (from 0).
    pub fn gradient(&self, k: u64) -> DVector<f64> {
        DVector::from_fn(self.dim(), |i, _| self.coordinate(k, i).unwrap_or(f64::NAN))
    }

    /// The endless sequence of minibatch gradients, from `k = 0`.
    pub fn iter(&self) -> impl Iterator<Item = DVector<f64>> + '_ {
        (0u64..).map(|k| self.gradient(k))
    }
}
