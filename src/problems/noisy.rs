//! Two stochastic problems for the chapter "SGD under noise": a quadratic with
//! additive Gaussian gradient noise, and a one-dimensional absolute-deviation
//! loss whose stochastic gradients are signs.
//!
//! Each implements [`Objective`] for its *expected* loss (written once over
//! num-dual, like every problem) and draws a stochastic gradient from a
//! [`SplitMix64`], so runs are reproducible from a seed.
//!
//! ```text
//! NoisyQuadratic:  L(theta) = (mu/2) |theta|^2,   g = mu theta + sigma xi,  xi ~ N(0, I)
//! Median:          L(theta) = (|theta + 1| + |theta| + |theta - 1|) / 3
//!                  g = sign(theta - z),  z uniform on {-1, 0, 1},  sign(0) = 0
//! ```
//!
//! For `Median`, `E[g] = (sign(theta + 1) + sign(theta) + sign(theta - 1))/3`,
//! a subgradient of `L`; on `|theta| <= 1`, `L(theta) = (2 + |theta|)/3`, so the
//! minimizer is `0`, `L* = 2/3`, and every stochastic gradient has `|g| <= 1`.

use crate::error::HyperError;
use nalgebra::DVector;
use num_dual::DualNum;

use super::Objective;
use super::quadratic::{ProblemError, SplitMix64, check};

/// `L(theta) = (mu/2)|theta|^2` with stochastic gradients `mu theta + sigma xi`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoisyQuadratic {
    mu: f64,
    sigma: f64,
    dim: usize,
}

impl NoisyQuadratic {
    const NAME: &'static str = "noisy-quadratic";

    /// Curvature `mu > 0`, noise standard deviation `sigma >= 0` (both finite),
    /// dimension `dim >= 1`.
    pub fn new(mu: f64, sigma: f64, dim: usize) -> Result<Self, ProblemError> {
        check(Self::NAME, "mu", mu, "(0, inf) (finite)", |m| m > 0.0)?;
        check(Self::NAME, "sigma", sigma, "[0, inf) (finite)", |s| {
            s >= 0.0
        })?;
        if dim == 0 {
            return Err(ProblemError::Invalid(HyperError {
                optimizer: Self::NAME,
                param: "dim",
                value: "0".into(),
                range: "dim >= 1",
            }));
        }
        Ok(NoisyQuadratic { mu, sigma, dim })
    }

    /// The curvature `mu`.
    pub fn mu(&self) -> f64 {
        self.mu
    }

    /// The noise standard deviation `sigma` (per coordinate).
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    // claims: sgd-noisy-quadratic-second-moment, sgd-convex-lipschitz-rate,
    //     sgd-strongly-convex-one-over-t, exercise-sgd-noise-1, exercise-sgd-noise-2,
    //     exercise-sgd-noise-4
    // ANCHOR: sample
    /// A stochastic gradient `mu theta + sigma xi` with `xi` standard normal,
    /// drawn from `rng`.
    pub fn sample_gradient(&self, theta: &DVector<f64>, rng: &mut SplitMix64) -> DVector<f64> {
        theta.map(|x| self.sigma.mul_add(rng.normal(), self.mu * x))
    }
    // ANCHOR_END: sample
}

impl Objective for NoisyQuadratic {
    fn dim(&self) -> usize {
        self.dim
    }

    /// `(mu/2) |theta|^2`; NaN if `theta` has the wrong length.
    fn eval<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>) -> D {
        if theta.len() != self.dim {
            return D::from(f64::NAN);
        }
        let mut total = D::from(0.0);
        for x in theta.iter() {
            total += x.clone().powi(2);
        }
        total * (0.5 * self.mu)
    }
}

/// `L(theta) = (|theta + 1| + |theta| + |theta - 1|)/3` on the real line, with
/// stochastic (sub)gradients `sign(theta - z)`, `z` uniform on `{-1, 0, 1}`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Median;

impl Median {
    /// The points `z` the loss averages over.
    pub const POINTS: [f64; 3] = [-1.0, 0.0, 1.0];

    /// The minimum value `L(0) = 2/3`.
    pub const MIN_VALUE: f64 = 2.0 / 3.0;

    /// A stochastic gradient `sign(theta - z)` (with `sign(0) = 0`) for a point
    /// `z` drawn uniformly from [`Median::POINTS`] by `rng`. `theta` has length 1.
    pub fn sample_gradient(&self, theta: &DVector<f64>, rng: &mut SplitMix64) -> DVector<f64> {
        // 2^64 = 1 (mod 3): the remainder favours 0 by a relative 2^-64.
        let z = Self::POINTS[(rng.next_u64() % 3) as usize];
        theta.map(|x| {
            let d = x - z;
            if d > 0.0 {
                1.0
            } else if d < 0.0 {
                -1.0
            } else {
                0.0
            }
        })
    }
}

impl Objective for Median {
    fn dim(&self) -> usize {
        1
    }

    /// The mean of `|theta - z|` over the three points; NaN unless `theta` has
    /// length 1.
    fn eval<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>) -> D {
        if theta.len() != 1 {
            return D::from(f64::NAN);
        }
        let mut total = D::from(0.0);
        for z in Self::POINTS {
            total += (theta[0].clone() - z).abs();
        }
        total / 3.0
    }
}
