//! Outcomes and output families: the distributions `p(y | f)` a model's outputs define.

use nalgebra::{DMatrix, DVector};
use num_dual::DualNum;

use crate::problems::gaussian::{HALF_LN_TWO_PI, gaussian_log_std_nll, gaussian_nll};
use crate::problems::regression::{
    bernoulli_logit_nll, categorical_logits_nll, gaussian_mean_nll, log_sum_exp, sigmoid, softmax,
    softplus,
};

/// The outcome `y` of one example.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    /// A class label: 0 or 1 for a Bernoulli output, `0..K` for a categorical one.
    Class(usize),
    /// A real value, for Gaussian outputs.
    Real(f64),
}

/// The predictive distribution of one example, for code that takes expectations
/// over outcomes.
#[derive(Clone, Debug, PartialEq)]
pub enum Predictive {
    /// Probabilities of the classes `0..K` (a Bernoulli output has `K = 2`,
    /// class 1 being the event `y = 1`).
    Categorical(DVector<f64>),
    /// A Gaussian with this mean and standard deviation.
    Gaussian {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        std: f64,
    },
}

/// An output distribution `p(y | f)` and the meaning of the outputs `f`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Family {
    /// One output, the logit `z`; `y` in {0, 1} with `p(1) = sigmoid(z)`. Canonical.
    BernoulliLogit,
    /// `classes` outputs, the logits `z`; `p(k) = softmax(z)_k`. Canonical.
    CategoricalLogits {
        /// The number of classes `K`.
        classes: usize,
    },
    /// One output, the mean `mu`; `y ~ N(mu, var)` with `var` fixed. Canonical
    /// (up to the factor `1/var`).
    GaussianMean {
        /// The fixed variance.
        var: f64,
    },
    /// Two outputs `(mu, sigma)`; `y ~ N(mu, sigma^2)`. Not canonical.
    GaussianMeanStd,
    /// Two outputs `(mu, s)`, `s = ln sigma`; `y ~ N(mu, e^{2s})`. Not canonical.
    GaussianMeanLogStd,
}

impl Family {
    /// The number of outputs `k` the family reads.
    pub fn outputs(&self) -> usize {
        match self {
            Family::BernoulliLogit | Family::GaussianMean { .. } => 1,
            Family::CategoricalLogits { classes } => *classes,
            Family::GaussianMeanStd | Family::GaussianMeanLogStd => 2,
        }
    }

    /// `ln p(y | f)`, for any number type. NaN when `f` has the wrong length or
    /// `y` is not an outcome of the family (a real value for a class output, a
    /// class out of range).
    pub fn log_lik<D: DualNum<Primitive = f64>>(&self, f: &DVector<D>, y: Outcome) -> D {
        let nan = || D::from(f64::NAN);
        if f.len() != self.outputs() {
            return nan();
        }
        match (self, y) {
            (Family::BernoulliLogit, Outcome::Class(c)) if c <= 1 => {
                -bernoulli_logit_nll(&f[0], c as f64)
            }
            (Family::CategoricalLogits { .. }, Outcome::Class(c)) => {
                -categorical_logits_nll(f.as_slice(), c)
            }
            (Family::GaussianMean { var }, Outcome::Real(v)) => {
                -(gaussian_mean_nll(&f[0], v, *var) + var.ln() * 0.5 + HALF_LN_TWO_PI)
            }
            (Family::GaussianMeanStd, Outcome::Real(v)) => -gaussian_nll(v, &f[0], &f[1]),
            (Family::GaussianMeanLogStd, Outcome::Real(v)) => {
                -gaussian_log_std_nll(v, &f[0], &f[1])
            }
            _ => nan(),
        }
    }

    /// The predictive distribution at outputs `f` (NaN entries for a wrong length).
    pub fn predictive(&self, f: &DVector<f64>) -> Predictive {
        if f.len() != self.outputs() {
            return match self {
                Family::BernoulliLogit | Family::CategoricalLogits { .. } => {
                    Predictive::Categorical(DVector::from_element(self.outputs().max(2), f64::NAN))
                }
                _ => Predictive::Gaussian {
                    mean: f64::NAN,
                    std: f64::NAN,
                },
            };
        }
        match self {
            Family::BernoulliLogit => {
                Predictive::Categorical(DVector::from_vec(vec![sigmoid(-f[0]), sigmoid(f[0])]))
            }
            Family::CategoricalLogits { .. } => Predictive::Categorical(softmax(f)),
            Family::GaussianMean { var } => Predictive::Gaussian {
                mean: f[0],
                std: var.sqrt(),
            },
            Family::GaussianMeanStd => Predictive::Gaussian {
                mean: f[0],
                std: f[1],
            },
            Family::GaussianMeanLogStd => Predictive::Gaussian {
                mean: f[0],
                std: f[1].exp(),
            },
        }
    }

    /// `KL(p(. | f) || p(. | f2))` in closed form, generic over the number type of
    /// `f2`, so that its derivatives in `f2` are exact. NaN for wrong lengths.
    pub fn kl<D: DualNum<Primitive = f64>>(&self, f: &DVector<f64>, f2: &DVector<D>) -> D {
        let k = self.outputs();
        if f.len() != k || f2.len() != k {
            return D::from(f64::NAN);
        }
        match self {
            Family::BernoulliLogit => {
                // ln p(1) = -softplus(-z), ln p(0) = -softplus(z).
                let (z, z2) = (f[0], &f2[0]);
                let p1 = sigmoid(z);
                let p0 = sigmoid(-z);
                let l1 = -softplus(&-z);
                let l0 = -softplus(&z);
                (softplus(&-z2.clone()) + l1) * p1 + (softplus(z2) + l0) * p0
            }
            Family::CategoricalLogits { .. } => {
                let p = softmax(f);
                let lse = log_sum_exp(f.as_slice());
                let lse2 = log_sum_exp(f2.as_slice());
                let mut total = D::from(0.0);
                for i in 0..k {
                    // p_i (ln p_i - ln p2_i) with ln p_i = z_i - lse.
                    let term = lse2.clone() - f2[i].clone() + (f[i] - lse);
                    total += term * p[i];
                }
                total
            }
            Family::GaussianMean { var } => {
                let r = f2[0].clone() - f[0];
                r.clone() * r / (2.0 * var)
            }
            Family::GaussianMeanStd => {
                // ln(sigma2 / sigma) + (sigma^2 + (mu - mu2)^2) / (2 sigma2^2) - 1/2.
                let (mu, sigma) = (f[0], f[1]);
                let r = f2[0].clone() - mu;
                let s2 = f2[1].clone();
                s2.ln() - sigma.ln() + (r.clone() * r + sigma * sigma) / (s2.clone() * s2 * 2.0)
                    - 0.5
            }
            Family::GaussianMeanLogStd => {
                // s2 - s + (e^{2s} + (mu - mu2)^2) e^{-2 s2} / 2 - 1/2.
                let (mu, s) = (f[0], f[1]);
                let r = f2[0].clone() - mu;
                let s2 = f2[1].clone();
                s2.clone() - s + (r.clone() * r + (2.0 * s).exp()) * (s2 * -2.0).exp() * 0.5 - 0.5
            }
        }
    }

    /// The Fisher matrix of the family in its own outputs, in closed form:
    /// `p(1 - p)` (Bernoulli), `diag(p) - p p'` (categorical), `1/var` (Gaussian
    /// mean), `diag(1/sigma^2, 2/sigma^2)` in `(mu, sigma)` and
    /// `diag(1/sigma^2, 2)` in `(mu, ln sigma)`. NaN entries for a wrong length.
    pub fn output_fisher(&self, f: &DVector<f64>) -> DMatrix<f64> {
        let k = self.outputs();
        if f.len() != k {
            return DMatrix::from_element(k, k, f64::NAN);
        }
        match self {
            Family::BernoulliLogit => DMatrix::from_element(1, 1, sigmoid(f[0]) * sigmoid(-f[0])),
            Family::CategoricalLogits { .. } => {
                let p = softmax(f);
                DMatrix::from_diagonal(&p) - &p * p.transpose()
            }
            Family::GaussianMean { var } => DMatrix::from_element(1, 1, 1.0 / var),
            Family::GaussianMeanStd => {
                let v = f[1] * f[1];
                DMatrix::from_diagonal(&DVector::from_vec(vec![1.0 / v, 2.0 / v]))
            }
            Family::GaussianMeanLogStd => {
                let v = (2.0 * f[1]).exp();
                DMatrix::from_diagonal(&DVector::from_vec(vec![1.0 / v, 2.0]))
            }
        }
    }
}
