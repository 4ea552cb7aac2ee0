//! The models of `problems` as [`Model`]s: outputs, families and exact Fisher matrices.

use nalgebra::{DMatrix, DVector};
use num_dual::DualNum;

use crate::problems::Objective;
use crate::problems::gaussian::{GaussianMeanLogStd, GaussianMeanStd};
use crate::problems::regression::{
    LeastSquares, LogisticRegression, SoftmaxRegression, row_dot, sigmoid, softmax,
};

use super::*;

fn nan_outputs<D: DualNum<Primitive = f64>>(k: usize) -> DVector<D> {
    DVector::from_element(k, D::from(f64::NAN))
}

/// `X' diag(w) X / N`, symmetric: rows of `X` scaled by `w`, then one product.
fn weighted_gram(x: &DMatrix<f64>, w: &DVector<f64>) -> DMatrix<f64> {
    let mut wx = x.clone();
    for (i, mut row) in wx.row_iter_mut().enumerate() {
        row *= w[i];
    }
    let mut f = x.tr_mul(&wx) / x.nrows() as f64;
    f.fill_upper_triangle_with_lower_triangle();
    f
}

impl Model for LogisticRegression {
    fn examples(&self) -> usize {
        self.x().nrows()
    }
    fn family(&self) -> Family {
        Family::BernoulliLogit
    }
    fn observed(&self, n: usize) -> Outcome {
        Outcome::Class(self.y().get(n).map_or(usize::MAX, |&v| v as usize))
    }
    /// The logit `z_n = x_n . theta`.
    fn outputs<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize) -> DVector<D> {
        if theta.len() != self.dim() || n >= self.examples() {
            return nan_outputs(1);
        }
        DVector::from_element(1, row_dot(self.x(), n, theta.as_slice()))
    }
    // claims: fisher-score-equals-expected-neg-hessian, seed-fisher-is-negative-hessian,
    //     fisher-is-kl-hessian, fisher-equals-ggn-canonical, natural-gradient-is-steepest-in-kl,
    //     natural-gradient-cg
    // ANCHOR: logistic_fisher
    /// `X' diag(p (1 - p)) X / N`, with `p_n = sigmoid(x_n . theta)`.
    fn fisher(&self, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError> {
        check_len("params", self.dim(), theta.len())?;
        let z = self.x() * theta;
        let w = z.map(|z| sigmoid(z) * sigmoid(-z));
        Ok(weighted_gram(self.x(), &w))
    }
    // ANCHOR_END: logistic_fisher
}

impl Model for SoftmaxRegression {
    fn examples(&self) -> usize {
        self.x().nrows()
    }
    fn family(&self) -> Family {
        Family::CategoricalLogits {
            classes: self.classes(),
        }
    }
    fn observed(&self, n: usize) -> Outcome {
        Outcome::Class(self.y().get(n).copied().unwrap_or(usize::MAX))
    }
    /// The logits, class-major as documented on [`SoftmaxRegression`].
    fn outputs<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize) -> DVector<D> {
        self.logits(theta, n)
    }
    /// Block `(k, l)` (rows `k d .. (k+1) d`, columns `l d .. (l+1) d`) is
    /// `X' diag(w_kl) X / N` with `w_kl[n] = p_nk (delta_kl - p_nl)`: the Kronecker
    /// structure `(diag(p_n) - p_n p_n') (x) x_n x_n'` summed with matrix products.
    fn fisher(&self, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError> {
        check_len("params", self.dim(), theta.len())?;
        let (n, d, k) = (self.x().nrows(), self.x().ncols(), self.classes());
        // Probabilities, N x K.
        let mut p = DMatrix::zeros(n, k);
        for i in 0..n {
            let pi = softmax(&self.logits(theta, i));
            p.row_mut(i).copy_from(&pi.transpose());
        }
        let mut f = DMatrix::zeros(k * d, k * d);
        for a in 0..k {
            for b in 0..=a {
                let w = DVector::from_fn(n, |i, _| {
                    let delta = if a == b { 1.0 } else { 0.0 };
                    p[(i, a)] * (delta - p[(i, b)])
                });
                let block = weighted_gram(self.x(), &w);
                f.view_mut((a * d, b * d), (d, d)).copy_from(&block);
            }
        }
        f.fill_upper_triangle_with_lower_triangle();
        Ok(f)
    }
}

impl Model for LeastSquares {
    fn examples(&self) -> usize {
        self.x().nrows()
    }
    fn family(&self) -> Family {
        Family::GaussianMean {
            var: self.model_var(),
        }
    }
    fn observed(&self, n: usize) -> Outcome {
        Outcome::Real(self.y().get(n).copied().unwrap_or(f64::NAN))
    }
    /// The mean `x_n . theta`.
    fn outputs<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize) -> DVector<D> {
        if theta.len() != self.dim() || n >= self.examples() {
            return nan_outputs(1);
        }
        DVector::from_element(1, row_dot(self.x(), n, theta.as_slice()))
    }
    /// `X'X / (N sigma^2)`; it does not depend on `theta`.
    fn fisher(&self, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError> {
        check_len("params", self.dim(), theta.len())?;
        let w = DVector::from_element(self.examples(), 1.0 / self.model_var());
        Ok(weighted_gram(self.x(), &w))
    }
}

fn check_pair(theta: &DVector<f64>) -> Result<(), NaturalError> {
    check_len("params", 2, theta.len())?;
    if !theta[0].is_finite() {
        return Err(NaturalError::OutsideDomain {
            param: "theta[0] (mu)",
            value: theta[0],
            range: "finite",
        });
    }
    Ok(())
}

impl Model for GaussianMeanStd {
    fn examples(&self) -> usize {
        self.data().samples().len()
    }
    fn family(&self) -> Family {
        Family::GaussianMeanStd
    }
    fn observed(&self, n: usize) -> Outcome {
        Outcome::Real(self.data().samples().get(n).copied().unwrap_or(f64::NAN))
    }
    /// `(mu, sigma)` itself: every example has the same distribution.
    fn outputs<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize) -> DVector<D> {
        if theta.len() != 2 || n >= self.examples() {
            return nan_outputs(2);
        }
        theta.clone()
    }
    /// `diag(1/sigma^2, 2/sigma^2)`; needs `sigma > 0`.
    fn fisher(&self, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError> {
        check_pair(theta)?;
        if !(theta[1].is_finite() && theta[1] > 0.0) {
            return Err(NaturalError::OutsideDomain {
                param: "theta[1] (sigma)",
                value: theta[1],
                range: "(0, inf) (finite)",
            });
        }
        Ok(Family::GaussianMeanStd.output_fisher(theta))
    }
}

impl Model for GaussianMeanLogStd {
    fn examples(&self) -> usize {
        self.data().samples().len()
    }
    fn family(&self) -> Family {
        Family::GaussianMeanLogStd
    }
    fn observed(&self, n: usize) -> Outcome {
        Outcome::Real(self.data().samples().get(n).copied().unwrap_or(f64::NAN))
    }
    /// `(mu, ln sigma)` itself: every example has the same distribution.
    fn outputs<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize) -> DVector<D> {
        if theta.len() != 2 || n >= self.examples() {
            return nan_outputs(2);
        }
        theta.clone()
    }
    /// `diag(e^{-2 s}, 2)`; needs `s` finite with `e^{-2s}` finite.
    fn fisher(&self, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError> {
        check_pair(theta)?;
        let f = Family::GaussianMeanLogStd.output_fisher(theta);
        if !(f[(0, 0)].is_finite() && f[(0, 0)] > 0.0) {
            return Err(NaturalError::OutsideDomain {
                param: "theta[1] (log sigma)",
                value: theta[1],
                range: "|log sigma| < 354 (so that 1/sigma^2 is finite and positive)",
            });
        }
        Ok(f)
    }
}
