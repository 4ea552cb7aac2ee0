//! The model trait, and what follows from it: scores, per-example gradients, the
//! empirical Fisher, the generalized Gauss-Newton matrix and the KL divergence.

use nalgebra::{DMatrix, DVector};
use num_dual::{Dual2DVec64, DualDVec64, DualNum};

use crate::problems::Objective;

use super::*;

/// A conditional model `p_theta(y | x_n) = p(y | f_n(theta))` over `N` examples.
///
/// A model is an [`Objective`] (its `dim()` is the number of parameters and its
/// value the mean negative log-likelihood of the observed outcomes, possibly
/// without a constant); [`mean_nll`] gives that value from the model's own
/// per-example log-likelihoods.
///
/// Implementors give the outputs `f_n(theta)`, once for every number type, the
/// output family, the observed outcomes and the exact Fisher matrix assembled
/// with matrix products; everything else (scores, per-example gradients, the
/// empirical Fisher, the generalized Gauss-Newton matrix, the KL divergence) is
/// derived from these by the functions of this module.
pub trait Model: Objective {
    /// The number of examples `N` (at least 1).
    fn examples(&self) -> usize;

    /// The output distribution family.
    fn family(&self) -> Family;

    /// The observed outcome of example `n` (NaN or a class out of range when `n`
    /// is out of range).
    fn observed(&self, n: usize) -> Outcome;

    /// The outputs `f_n(theta)` of example `n`, a vector of length
    /// `family().outputs()`; NaN entries when `theta` has the wrong length or `n`
    /// is out of range.
    fn outputs<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize) -> DVector<D>;

    /// The exact Fisher matrix `F(theta)`, `dim() x dim()`, symmetric.
    fn fisher(&self, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError>;

    /// `ln p_theta(y | x_n)`, for any number type.
    fn log_lik<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize, y: Outcome) -> D {
        self.family().log_lik(&self.outputs(theta, n), y)
    }

    /// The predictive distribution `p_theta(. | x_n)`.
    fn predictive(&self, theta: &DVector<f64>, n: usize) -> Predictive {
        self.family().predictive(&self.outputs(theta, n))
    }
}

/// The mean negative log-likelihood of the observed outcomes,
/// `-(1/N) sum_n ln p_theta(y_n | x_n)`, for any number type.
pub fn mean_nll<M: Model, D: DualNum<Primitive = f64>>(model: &M, theta: &DVector<D>) -> D {
    let mut total = D::from(0.0);
    for n in 0..model.examples() {
        total += model.log_lik(theta, n, model.observed(n));
    }
    -total / model.examples() as f64
}

/// The exact gradient of [`mean_nll`].
pub fn gradient<M: Model>(model: &M, theta: &DVector<f64>) -> Result<DVector<f64>, NaturalError> {
    check_len("params", model.dim(), theta.len())?;
    Ok(num_dual::gradient(|t: DVector<DualDVec64>| mean_nll(model, &t), theta).1)
}

/// The per-example gradients of the negative log-likelihood, as the rows of an
/// `N x dim` matrix `G`: row `n` is `-grad_theta ln p_theta(y_n | x_n)`. Their
/// mean is [`gradient`].
pub fn per_example_gradients<M: Model>(
    model: &M,
    theta: &DVector<f64>,
) -> Result<DMatrix<f64>, NaturalError> {
    check_len("params", model.dim(), theta.len())?;
    let mut g = DMatrix::zeros(model.examples(), model.dim());
    for n in 0..model.examples() {
        let y = model.observed(n);
        let (_, gn) = num_dual::gradient(|t: DVector<DualDVec64>| -model.log_lik(&t, n, y), theta);
        g.row_mut(n).copy_from(&gn.transpose());
    }
    Ok(g)
}

// claims: empirical-fisher-differs, exercise-natural-gradient-4, exercise-adam-4
// ANCHOR: empirical_fisher
/// The empirical Fisher `(1/N) sum_n g_n g_n' = G'G / N`, with `G` from
/// [`per_example_gradients`]. It uses the observed outcomes, not the model's
/// distribution, and is not the Fisher matrix.
pub fn empirical_fisher<M: Model>(
    model: &M,
    theta: &DVector<f64>,
) -> Result<DMatrix<f64>, NaturalError> {
    let g = per_example_gradients(model, theta)?;
    let mut f = g.tr_mul(&g) / model.examples() as f64;
    f.fill_upper_triangle_with_lower_triangle();
    Ok(f)
}
// ANCHOR_END: empirical_fisher

/// The Jacobians of the outputs, stacked: an `(N k) x dim` matrix whose rows
/// `n k .. (n + 1) k` are `J_n = d f_n / d theta` (`k = family().outputs()`).
pub fn output_jacobian<M: Model>(
    model: &M,
    theta: &DVector<f64>,
) -> Result<DMatrix<f64>, NaturalError> {
    check_len("params", model.dim(), theta.len())?;
    let k = model.family().outputs();
    let mut j = DMatrix::zeros(model.examples() * k, model.dim());
    for n in 0..model.examples() {
        let (_, jn) = num_dual::jacobian(|t: DVector<DualDVec64>| model.outputs(&t, n), theta);
        j.rows_mut(n * k, k).copy_from(&jn);
    }
    Ok(j)
}

/// The generalized Gauss-Newton matrix `(1/N) sum_n J_n' H_n J_n = J' B J`, where
/// `J` is [`output_jacobian`], `H_n` is the Hessian of the loss
/// `-ln p(y_n | f)` in the outputs `f` at `f_n(theta)` and the observed `y_n`, and
/// `B = blockdiag(H_n) / N`. Built as one product `J' (B J)`.
pub fn ggn<M: Model>(model: &M, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError> {
    let j = output_jacobian(model, theta)?;
    let family = model.family();
    let k = family.outputs();
    let n_ex = model.examples() as f64;
    let mut bj = DMatrix::zeros(j.nrows(), j.ncols());
    for n in 0..model.examples() {
        let f = model.outputs(theta, n);
        let y = model.observed(n);
        let (_, _, h) = num_dual::hessian(|v: DVector<Dual2DVec64>| -family.log_lik(&v, y), &f);
        let block = (h / n_ex) * j.rows(n * k, k);
        bj.rows_mut(n * k, k).copy_from(&block);
    }
    let mut g = j.tr_mul(&bj);
    g.fill_upper_triangle_with_lower_triangle();
    Ok(g)
}

/// `KL(p_theta || p_theta2) = (1/N) sum_n KL(p(. | f_n(theta)) || p(. | f_n(theta2)))`,
/// the KL divergence between the model's predictive distributions averaged over
/// examples, generic over the number type of `theta2`. NaN for wrong lengths.
pub fn kl<M: Model, D: DualNum<Primitive = f64>>(
    model: &M,
    theta: &DVector<f64>,
    theta2: &DVector<D>,
) -> D {
    let family = model.family();
    let mut total = D::from(0.0);
    for n in 0..model.examples() {
        total += family.kl(&model.outputs(theta, n), &model.outputs(theta2, n));
    }
    total / model.examples() as f64
}

/// The Hessian in `theta2` of [`kl`] at `theta2 = theta`, by second-order dual
/// numbers. It equals the Fisher matrix.
pub fn kl_hessian<M: Model>(model: &M, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError> {
    check_len("params", model.dim(), theta.len())?;
    Ok(num_dual::hessian(|t: DVector<Dual2DVec64>| kl(model, theta, &t), theta).2)
}
