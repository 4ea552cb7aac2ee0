//! The number types an update rule can run in.
//!
//! Every rule is written once, generic over a [`Scalar`]: the same lines run in
//! `f64` (bit for bit PyTorch's float64 steps), in `f32` (PyTorch's float32 steps),
//! and in any exact type that implements the trait. A rule that takes a square
//! root asks for [`Real`], a [`Scalar`] that also has one; a root-free rule (SGD,
//! Rprop) asks only for [`Scalar`], so it also runs in exact rationals.
//!
//! Hyperparameters stay `f64` in the configurations. A rule's per-step hook
//! ([`Rule::prepare`](super::Rule::prepare)) computes the step's constants in
//! `f64`, as PyTorch computes them in Python floats, and converts each one once
//! with [`Scalar::from_f64`].
//!
//! The trait asks for `Copy`, so that a rule reads like its formula (no `clone`
//! calls). An exact type whose values own heap memory (a big rational) satisfies
//! it as a small handle into an arena that owns the values.

use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// A number type the update rules run in: the four operations, a fused
/// multiply-add, comparisons and a finiteness test.
pub trait Scalar:
    Copy
    + PartialEq
    + PartialOrd
    + Debug
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// The value nearest to `x` (exact for `f64`; round to nearest for `f32`,
    /// as `torch.tensor(x, dtype=torch.float32)` does).
    fn from_f64(x: f64) -> Self;
    /// The value as an `f64` (for error reports).
    fn to_f64(self) -> f64;
    /// `self * a + b` with one rounding (exact in an exact type).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// False for NaN and the infinities.
    fn is_finite(self) -> bool;
    /// The larger of the two; if one is NaN, the other (as `f64::max`).
    fn max(self, other: Self) -> Self;
    /// The smaller of the two; if one is NaN, the other (as `f64::min`).
    fn min(self, other: Self) -> Self;
    /// Zero.
    fn zero() -> Self {
        Self::from_f64(0.0)
    }
    /// One.
    fn one() -> Self {
        Self::from_f64(1.0)
    }
}

/// A [`Scalar`] with a correctly rounded square root.
pub trait Real: Scalar {
    /// The square root (NaN below zero).
    fn sqrt(self) -> Self;
}

macro_rules! float_scalar {
    ($t:ty) => {
        impl Scalar for $t {
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                <$t>::mul_add(self, a, b)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                <$t>::min(self, other)
            }
        }

        impl Real for $t {
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
        }
    };
}

float_scalar!(f64);
float_scalar!(f32);
