//! What a worst case measures, always against `|x_0 - x*|^2 <= R^2`.

use super::gram::{Point, Scalar};

/// The performance measure at the output `x_N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// `f(x_N) - f*`.
    FunctionValue,
    /// `|grad f(x_N)|^2`.
    GradientNorm,
    /// `|x_N - x*|^2`.
    Distance,
}

impl Measure {
    /// The name `descent pep --measure` uses: `f`, `grad` or `dist`.
    pub fn name(&self) -> &'static str {
        match self {
            Measure::FunctionValue => "f",
            Measure::GradientNorm => "grad",
            Measure::Distance => "dist",
        }
    }

    /// The measure at the output point, as an expression in the Gram matrix and
    /// the function values.
    pub fn at(&self, out: &Point) -> Scalar {
        match self {
            Measure::FunctionValue => Scalar::linear(&out.f),
            Measure::GradientNorm => Scalar::inner(&out.g, &out.g),
            Measure::Distance => Scalar::inner(&out.x, &out.x),
        }
    }
}
