//! The class of `L`-smooth, `mu`-strongly convex functions and its interpolation
//! conditions.
//!
//! Data `(x_i, g_i, f_i)` for `i` in a finite set come from some `f` of the class
//! (`f(x_i) = f_i`, `grad f(x_i) = g_i`) if and only if, for every ordered pair
//! `i != j`,
//!
//! ```text
//! f_i >= f_j + <g_j, x_i - x_j>
//!        + 1/(2(1 - mu/L)) * ( |g_i - g_j|^2 / L + mu |x_i - x_j|^2
//!                              - 2 (mu/L) <g_j - g_i, x_j - x_i> )
//! ```
//!
//! (Taylor, Hendrickx and Glineur, 2017, Theorem 4). With `mu = 0` this is the
//! familiar `f_i >= f_j + <g_j, x_i - x_j> + |g_i - g_j|^2 / (2L)`.

use super::gram::{Point, Scalar};
use super::{PepError, require};

/// `L`-smooth, `mu`-strongly convex functions on a Euclidean space, `0 <= mu < L`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FunctionClass {
    l: f64,
    mu: f64,
}

impl FunctionClass {
    /// The class with smoothness `l` and strong convexity `mu`.
    ///
    /// Refuses `l` that is not a finite, positive, normal `f64`, and `mu` outside
    /// `[0, l)`.
    /// (`mu = l` leaves only the quadratics `l/2 |x - x*|^2 + f*`, on which every
    /// question here has a one-line answer; the conditions above divide by
    /// `1 - mu/l`.)
    pub fn new(l: f64, mu: f64) -> Result<Self, PepError> {
        // A subnormal L would lose the worst case's digits when the program, solved
        // at L = 1, is scaled back.
        require(
            l.is_normal() && l > 0.0,
            "L",
            l,
            "0 < L < infinity, at least 2.2e-308 (a normal f64)",
        )?;
        require(
            mu.is_finite() && mu >= 0.0 && mu < l,
            "mu",
            mu,
            format!("0 <= mu < L = {l}"),
        )?;
        Ok(FunctionClass { l, mu })
    }

    /// The smoothness constant `L`.
    pub fn l(&self) -> f64 {
        self.l
    }

    /// The strong-convexity constant `mu`.
    pub fn mu(&self) -> f64 {
        self.mu
    }

    /// The interpolation condition for the ordered pair `(i, j)`, written as an
    /// expression that must be `<= 0`:
    /// `f_j - f_i + <g_j, x_i - x_j> + c (|g_i - g_j|^2/L + mu |x_i - x_j|^2
    /// - 2 (mu/L) <g_j - g_i, x_j - x_i>)` with `c = 1/(2(1 - mu/L))`.
    pub fn interpolation(&self, i: &Point, j: &Point) -> Scalar {
        // claims: pep-gd-tight-rate, pep-gd-step-size-rate, pep-ogm-rate,
        //     pep-heavy-ball-not-globally-convergent, pep-worst-case-is-attained,
        //     exercise-worst-case-rates-3, exercise-worst-case-rates-1,
        //     exercise-worst-case-rates-2
        // ANCHOR: interpolation
        let (l, mu) = (self.l, self.mu);
        let c = 1.0 / (2.0 * (1.0 - mu / l));
        let dx = &i.x - &j.x;
        let dg = &i.g - &j.g;
        let mut e = Scalar::linear(&(&j.f - &i.f));
        e += Scalar::inner(&j.g, &dx);
        e += Scalar::inner(&dg, &dg) * (c / l);
        e += Scalar::inner(&dx, &dx) * (c * mu);
        // <g_j - g_i, x_j - x_i> = <dg, dx>.
        e += Scalar::inner(&dg, &dx) * (-2.0 * c * mu / l);
        // ANCHOR_END: interpolation
        e
    }

    /// Checks the interpolation conditions on concrete data: the largest value of
    /// the left-hand side minus the right-hand side over all ordered pairs (`<= 0`
    /// when the data are interpolable). Points are `(x, g, f)`.
    pub fn max_violation(&self, points: &[(Vec<f64>, Vec<f64>, f64)]) -> f64 {
        let (l, mu) = (self.l, self.mu);
        let c = 1.0 / (2.0 * (1.0 - mu / l));
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
        let sub = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p - q).collect::<Vec<_>>();
        let mut worst = f64::NEG_INFINITY;
        for (a, (xi, gi, fi)) in points.iter().enumerate() {
            for (b, (xj, gj, fj)) in points.iter().enumerate() {
                if a == b {
                    continue;
                }
                let dx = sub(xi, xj);
                let dg = sub(gi, gj);
                let v = fj - fi
                    + dot(gj, &dx)
                    + c * (dot(&dg, &dg) / l + mu * dot(&dx, &dx) - 2.0 * mu / l * dot(&dg, &dx));
                worst = worst.max(v);
            }
        }
        worst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Data from `f(x) = c x^2 / 2` on a few points of the line.
    fn quadratic_data(c: f64) -> Vec<(Vec<f64>, Vec<f64>, f64)> {
        [-2.0, -0.5, 0.0, 0.75, 3.0]
            .iter()
            .map(|&x| (vec![x], vec![c * x], 0.5 * c * x * x))
            .collect()
    }

    #[test]
    fn quadratics_inside_the_class_are_interpolable_and_outside_are_not() {
        let class = FunctionClass::new(4.0, 1.0).expect("valid");
        // For a quadratic the condition's slack is (c - mu)(1 - c/L) d^2 / (2(1 - mu/L))
        // times a positive factor: zero at c = mu and c = L, negative outside.
        // The points are exact binary fractions, so only the final sums round.
        for c in [1.0, 2.5, 4.0] {
            assert!(class.max_violation(&quadratic_data(c)) <= 1e-14, "c = {c}");
        }
        for c in [0.5, 4.5] {
            assert!(class.max_violation(&quadratic_data(c)) > 0.01, "c = {c}");
        }
    }

    #[test]
    fn the_class_refuses_bad_constants() {
        assert!(FunctionClass::new(0.0, 0.0).is_err());
        assert!(FunctionClass::new(f64::NAN, 0.0).is_err());
        assert!(FunctionClass::new(f64::INFINITY, 0.0).is_err());
        assert!(FunctionClass::new(1e-320, 0.0).is_err());
        assert!(FunctionClass::new(1.0, -0.1).is_err());
        assert!(FunctionClass::new(1.0, 1.0).is_err());
        assert!(FunctionClass::new(1.0, f64::NAN).is_err());
        assert!(FunctionClass::new(1.0, 0.0).is_ok());
    }
}
