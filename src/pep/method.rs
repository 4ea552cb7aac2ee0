//! The methods, each written once as its algorithm box over an abstract gradient
//! oracle.
//!
//! A method is run on vectors of `R^d` with a gradient oracle. The performance
//! estimation program runs the very same code on symbolic vectors (coefficients
//! over the Gram basis) with an oracle that hands out new basis vectors, which is
//! how the program learns where the method goes. The worst-case check runs it on
//! real vectors and a real gradient.

use nalgebra::DVector;

use super::class::FunctionClass;
use super::{PepError, require};

/// Nesterov's momentum schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NesterovMomentum {
    /// A constant momentum `beta` in `[0, 1)`, for strongly convex functions
    /// usually `(sqrt(kappa) - 1)/(sqrt(kappa) + 1)` with `kappa = L/mu`.
    Constant(f64),
    /// The `t_k` schedule for `mu = 0`: `t_0 = 1`,
    /// `t_{k+1} = (1 + sqrt(1 + 4 t_k^2))/2`, momentum `(t_k - 1)/t_{k+1}`.
    Tk,
}

/// A fixed-step first-order method. Steps are in units of `1/L`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// Gradient descent: `x_{k+1} = x_k - (h/L) grad f(x_k)`, `h` in `(0, 2)`.
    Gd {
        /// The step in units of `1/L`.
        h: f64,
    },
    /// Heavy ball (Polyak):
    /// `x_{k+1} = x_k - (h/L) grad f(x_k) + beta (x_k - x_{k-1})`, `x_{-1} = x_0`.
    /// `beta` in `[0, 1)`, `h` in `(0, 2(1 + beta))` (the range where it converges on
    /// quadratics).
    HeavyBall {
        /// The step in units of `1/L`.
        h: f64,
        /// The momentum.
        beta: f64,
    },
    /// Nesterov's accelerated gradient: `y_0 = x_0`,
    /// `x_{k+1} = y_k - (h/L) grad f(y_k)`, `y_{k+1} = x_{k+1} + beta_k (x_{k+1} - x_k)`.
    /// `h` in `(0, 1]`.
    Nesterov {
        /// The step in units of `1/L`.
        h: f64,
        /// The momentum schedule `beta_k`.
        momentum: NesterovMomentum,
    },
    /// The optimized gradient method (Kim and Fessler, 2016), with its step `1/L`.
    Ogm,
}

impl Method {
    /// The name `descent pep --method` uses.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Gd { .. } => "gd",
            Method::HeavyBall { .. } => "heavy-ball",
            Method::Nesterov { .. } => "nesterov",
            Method::Ogm => "ogm",
        }
    }

    /// Heavy ball with the step and momentum that are optimal on quadratics with
    /// curvatures in `[mu, L]`: `alpha = 4/(sqrt L + sqrt mu)^2`,
    /// `beta = ((sqrt L - sqrt mu)/(sqrt L + sqrt mu))^2`. Needs `mu > 0`.
    pub fn heavy_ball_quadratic_optimal(class: &FunctionClass) -> Result<Method, PepError> {
        let (l, mu) = (class.l(), class.mu());
        require(
            mu > 0.0,
            "mu",
            mu,
            "mu > 0 for the quadratic-optimal heavy ball",
        )?;
        let (sl, sm) = (l.sqrt(), mu.sqrt());
        Ok(Method::HeavyBall {
            h: 4.0 * l / ((sl + sm) * (sl + sm)),
            beta: ((sl - sm) / (sl + sm)).powi(2),
        })
    }

    /// Nesterov's method with step `1/L` and the momentum for the class: the
    /// constant `(sqrt(kappa) - 1)/(sqrt(kappa) + 1)` when `mu > 0`, the `t_k`
    /// schedule when `mu = 0`.
    pub fn nesterov_for(class: &FunctionClass) -> Method {
        let momentum = if class.mu() > 0.0 {
            let sk = (class.l() / class.mu()).sqrt();
            NesterovMomentum::Constant((sk - 1.0) / (sk + 1.0))
        } else {
            NesterovMomentum::Tk
        };
        Method::Nesterov { h: 1.0, momentum }
    }

    /// Checks the step and momentum against the method's range.
    pub fn validate(&self) -> Result<(), PepError> {
        match *self {
            Method::Gd { h } => require(h > 0.0 && h < 2.0, "step-size", h, "0 < h < 2"),
            Method::HeavyBall { h, beta } => {
                require((0.0..1.0).contains(&beta), "momentum", beta, "0 <= B < 1")?;
                require(
                    h > 0.0 && h < 2.0 * (1.0 + beta),
                    "step-size",
                    h,
                    format!("0 < h < 2(1 + B) = {}", 2.0 * (1.0 + beta)),
                )
            }
            Method::Nesterov { h, momentum } => {
                if let NesterovMomentum::Constant(b) = momentum {
                    require((0.0..1.0).contains(&b), "momentum", b, "0 <= B < 1")?;
                }
                require(h > 0.0 && h <= 1.0, "step-size", h, "0 < h <= 1")
            }
            Method::Ogm => Ok(()),
        }
    }

    /// Runs `n` steps from `x0`, asking `oracle` for exactly `n` gradients, and
    /// returns the output `x_n`.
    pub fn run(
        &self,
        class: &FunctionClass,
        n: usize,
        x0: DVector<f64>,
        oracle: &mut dyn FnMut(&DVector<f64>) -> DVector<f64>,
    ) -> DVector<f64> {
        let l = class.l();
        // claims: pep-gd-tight-rate, pep-gd-step-size-rate, pep-ogm-rate,
        //     pep-heavy-ball-not-globally-convergent, pep-worst-case-is-attained,
        //     exercise-worst-case-rates-3, exercise-worst-case-rates-1,
        //     exercise-worst-case-rates-2
        // ANCHOR: methods
        match *self {
            Method::Gd { h } => {
                let mut x = x0;
                for _ in 0..n {
                    let g = oracle(&x);
                    x -= g * (h / l);
                }
                x
            }
            Method::HeavyBall { h, beta } => {
                let mut prev = x0.clone();
                let mut x = x0;
                for _ in 0..n {
                    let g = oracle(&x);
                    let next = &x - g * (h / l) + (&x - &prev) * beta;
                    prev = std::mem::replace(&mut x, next);
                }
                x
            }
            Method::Nesterov { h, momentum } => {
                let mut t = 1.0_f64;
                let mut x = x0.clone();
                let mut y = x0;
                for _ in 0..n {
                    let g = oracle(&y);
                    let next = &y - g * (h / l);
                    let beta = match momentum {
                        NesterovMomentum::Constant(b) => b,
                        NesterovMomentum::Tk => {
                            let t_next = (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0;
                            let b = (t - 1.0) / t_next;
                            t = t_next;
                            b
                        }
                    };
                    y = &next + (&next - &x) * beta;
                    x = next;
                }
                x
            }
            Method::Ogm => {
                let theta = ogm_theta(n);
                let mut x = x0.clone();
                let mut y = x0;
                for i in 0..n {
                    let g = oracle(&x);
                    let y_next = &x - g * (1.0 / l);
                    let (a, b) = (theta[i], theta[i + 1]);
                    x = &y_next + (&y_next - &y) * ((a - 1.0) / b) + (&y_next - &x) * (a / b);
                    y = y_next;
                }
                x
            }
        }
        // ANCHOR_END: methods
    }
}

/// The optimized gradient method's `theta_0 .. theta_n`: `theta_0 = 1`,
/// `theta_i = (1 + sqrt(1 + 4 theta_{i-1}^2))/2` for `i < n`, and the last one
/// `theta_n = (1 + sqrt(1 + 8 theta_{n-1}^2))/2`.
pub fn ogm_theta(n: usize) -> Vec<f64> {
    let mut theta = vec![1.0_f64];
    for i in 1..=n {
        let p = theta[i - 1];
        let c = if i < n { 4.0 } else { 8.0 };
        theta.push((1.0 + (1.0 + c * p * p).sqrt()) / 2.0);
    }
    theta
}
