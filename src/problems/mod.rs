//! Objectives written once, generic over num-dual's [`DualNum`], so that value,
//! gradient and Hessian all come exactly from one definition.
//!
//! A problem implements [`Objective::eval`] for any dual-number type `D`; the
//! provided methods evaluate it at `f64` (the value), at first-order dual vectors
//! (the gradient) and at second-order dual vectors (the Hessian).

use nalgebra::{DMatrix, DVector};

pub mod gaussian;
pub mod logcosh;
pub mod minibatch_sign;
pub mod noisy;
pub mod online;
pub mod quadratic;
pub mod regression;
pub mod rosenbrock;
pub mod saddle;
use num_dual::{Dual2DVec64, DualDVec64, DualNum};

/// A scalar objective `f: R^n -> R`, written once for every number type.
pub trait Objective {
    /// The dimension `n` of the parameter vector.
    fn dim(&self) -> usize;

    /// The objective at `x`, for any (dual) number type.
    fn eval<D: DualNum<Primitive = f64>>(&self, x: &DVector<D>) -> D;

    /// The value `f(x)`.
    fn value(&self, x: &DVector<f64>) -> f64 {
        self.eval(x)
    }

    /// The value and the exact gradient, by forward-mode dual numbers.
    fn value_gradient(&self, x: &DVector<f64>) -> (f64, DVector<f64>) {
        num_dual::gradient(|v: DVector<DualDVec64>| self.eval(&v), x)
    }

    /// The exact gradient.
    fn gradient(&self, x: &DVector<f64>) -> DVector<f64> {
        self.value_gradient(x).1
    }

    /// The value, gradient and exact Hessian, by second-order dual numbers.
    fn value_gradient_hessian(&self, x: &DVector<f64>) -> (f64, DVector<f64>, DMatrix<f64>) {
        num_dual::hessian(|v: DVector<Dual2DVec64>| self.eval(&v), x)
    }

    /// The exact Hessian.
    fn hessian(&self, x: &DVector<f64>) -> DMatrix<f64> {
        self.value_gradient_hessian(x).2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f(x) = x0^2 x1 + 3 x1: a check that one definition gives all three.
    struct Cubic;
    impl Objective for Cubic {
        fn dim(&self) -> usize {
            2
        }
        fn eval<D: DualNum<Primitive = f64>>(&self, x: &DVector<D>) -> D {
            x[0].clone() * x[0].clone() * x[1].clone() + x[1].clone() * 3.0
        }
    }

    #[test]
    fn one_definition_gives_value_gradient_and_hessian() {
        let x = DVector::from_vec(vec![2.0, 5.0]);
        let (f, g, h) = Cubic.value_gradient_hessian(&x);
        // Small integers: every operation is exact, so equality is exact.
        assert_eq!(f, 35.0);
        assert_eq!(g, DVector::from_vec(vec![20.0, 7.0]));
        assert_eq!(h, DMatrix::from_row_slice(2, 2, &[10.0, 4.0, 4.0, 0.0]));
        assert_eq!(Cubic.value(&x), 35.0);
    }
}
