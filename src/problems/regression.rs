//! Small regression data sets generated from a seed, and their mean negative
//! log-likelihoods: logistic regression, softmax regression and linear least
//! squares.
//!
//! Each problem is written once, generic over num-dual's [`DualNum`], as an
//! [`Objective`]; value, gradient and Hessian come from that one definition. The
//! per-example losses ([`bernoulli_logit_nll`], [`categorical_logits_nll`],
//! [`gaussian_mean_nll`]) are public so that the natural-gradient models in
//! `second_order::natural` use the very same expressions.
//!
//! Numerically safe forms: the logistic loss is `softplus(z) - y z` with
//! `softplus(z) = ln(1 + e^z)` evaluated as `z + ln(1 + e^-z)` for `z > 0`, so no
//! exponential overflows; the softmax loss is `logsumexp(z) - z_y` with the
//! largest logit shifted out before exponentiating.
//!
//! The data come from a private seeded generator (SplitMix64 for uniform bits, the
//! Box-Muller transform for standard normal draws), so a seed fixes a data set on
//! every platform.

use std::fmt;

use crate::error::HyperError;

use nalgebra::{DMatrix, DVector};
use num_dual::DualNum;

use super::Objective;
use super::quadratic::SplitMix64;

/// The largest number of matrix entries (`n * d`) a generator accepts, so that a
/// careless size gives an error instead of exhausting memory.
pub const MAX_ENTRIES: usize = 1 << 24;

/// A data-set parameter outside its valid range: the crate's one
/// invalid-parameter record, [`HyperError`], with the problem's name (e.g.
/// `"logistic_regression"`) in its `optimizer` field, the one that names who
/// refused the value. An entry of a vector or matrix is named by its parameter
/// (`"y"`, `"x"`), its position given with the value.
pub type DataError = HyperError;

fn data_error(
    problem: &'static str,
    param: &'static str,
    value: impl fmt::Debug,
    range: &'static str,
) -> DataError {
    HyperError {
        optimizer: problem,
        param,
        value: format!("{value:?}"),
        range,
    }
}

/// The error for entry `at` (e.g. `"[3]"`) of `param`.
fn entry_error(
    problem: &'static str,
    param: &'static str,
    at: String,
    value: impl fmt::Debug,
    range: &'static str,
) -> DataError {
    HyperError {
        optimizer: problem,
        param,
        value: format!("{value:?} at {param}{at}"),
        range,
    }
}

/// Checks sizes `n >= 1`, `d >= 1` and `n * d <= MAX_ENTRIES`.
pub(crate) fn check_sizes(problem: &'static str, n: usize, d: usize) -> Result<(), DataError> {
    if n == 0 {
        return Err(data_error(problem, "n", n, "n >= 1"));
    }
    if d == 0 {
        return Err(data_error(problem, "d", d, "d >= 1"));
    }
    match n.checked_mul(d) {
        Some(e) if e <= MAX_ENTRIES => Ok(()),
        _ => Err(data_error(problem, "n * d", (n, d), "n * d <= 2^24")),
    }
}

fn check_finite_matrix(problem: &'static str, x: &DMatrix<f64>) -> Result<(), DataError> {
    check_sizes(problem, x.nrows(), x.ncols())?;
    for j in 0..x.ncols() {
        for i in 0..x.nrows() {
            if !x[(i, j)].is_finite() {
                return Err(entry_error(
                    problem,
                    "x",
                    format!("[({i}, {j})]"),
                    x[(i, j)],
                    "finite",
                ));
            }
        }
    }
    Ok(())
}

fn check_rows(problem: &'static str, rows: usize, len: usize) -> Result<(), DataError> {
    if rows == len {
        Ok(())
    } else {
        Err(data_error(
            problem,
            "y.len()",
            len,
            "one label per row of x",
        ))
    }
}

// ---------------------------------------------------------------------------
// A private seeded generator.

/// The crate's [`SplitMix64`] for uniform bits, and Box-Muller for normal draws.
/// Its uniform draws lie in `(0, 1]`, not `[0, 1)` as [`SplitMix64::next_f64`]'s
/// do, which fixes the data sets every test and proof was written against.
#[derive(Clone, Debug)]
pub(crate) struct Rng(SplitMix64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(SplitMix64::new(seed))
    }

    /// A uniform draw in `(0, 1]`: the top 53 bits, shifted up by one unit so
    /// that the logarithm in [`Rng::normal`] is always finite.
    pub(crate) fn uniform(&mut self) -> f64 {
        ((self.0.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal draw: `sqrt(-2 ln u1) cos(2 pi u2)`.
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn normal_matrix(&mut self, n: usize, d: usize) -> DMatrix<f64> {
        // Row by row, so that the first rows of a larger set equal a smaller set
        // of the same seed only through the row order, not the column count.
        let mut x = DMatrix::zeros(n, d);
        for i in 0..n {
            for j in 0..d {
                x[(i, j)] = self.normal();
            }
        }
        x
    }

    fn normal_vector(&mut self, d: usize) -> DVector<f64> {
        DVector::from_fn(d, |_, _| self.normal())
    }
}

// ---------------------------------------------------------------------------
// Numerically safe building blocks, generic over dual numbers.

/// `softplus(z) = ln(1 + e^z)`, evaluated without overflow: `z + ln(1 + e^-z)` for
/// `z > 0`, `ln(1 + e^z)` otherwise. Both branches are the same function, so the
/// derivatives carried by a dual number are exact on either side.
pub fn softplus<D: DualNum<Primitive = f64>>(z: &D) -> D {
    if z.re() > 0.0 {
        z.clone() + (-z.clone()).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// `ln sum_k e^{z_k}`, with the largest real part `m` shifted out:
/// `m + ln sum_k e^{z_k - m}`. The identity holds for any constant `m`, so the
/// derivatives are exact. An empty slice gives `-inf`.
pub fn log_sum_exp<D: DualNum<Primitive = f64>>(z: &[D]) -> D {
    let m = z.iter().map(|v| v.re()).fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        // Empty, or an infinite or NaN logit: no shift helps; the plain form
        // gives the right limit or NaN.
        return z
            .iter()
            .map(DualNum::exp)
            .fold(D::from(0.0), |a, b| a + b)
            .ln();
    }
    let s = z
        .iter()
        .map(|v| (v.clone() - m).exp())
        .fold(D::from(0.0), |a, b| a + b);
    s.ln() + m
}

/// The logistic function `1 / (1 + e^-z)`, without overflow for either sign of `z`.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// The softmax of logits `z`, with the largest logit shifted out.
pub fn softmax(z: &DVector<f64>) -> DVector<f64> {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e = z.map(|v| (v - m).exp());
    let s = e.sum();
    e / s
}

/// The logistic loss of one example: `-ln p(y | z) = softplus(z) - y z`, where `z`
/// is the logit and `p(1 | z) = sigmoid(z)`.
pub fn bernoulli_logit_nll<D: DualNum<Primitive = f64>>(z: &D, y: f64) -> D {
    softplus(z) - z.clone() * y
}

/// The softmax loss of one example: `-ln p(class | z) = logsumexp(z) - z_class`.
/// A class outside `0..z.len()` gives NaN.
pub fn categorical_logits_nll<D: DualNum<Primitive = f64>>(z: &[D], class: usize) -> D {
    match z.get(class) {
        Some(zc) => log_sum_exp(z) - zc.clone(),
        None => D::from(f64::NAN),
    }
}

/// The squared-error loss of one example, `(mu - y)^2 / (2 var)`: the negative
/// log-likelihood of `y ~ N(mu, var)` without its constant `ln(2 pi var) / 2`.
pub fn gaussian_mean_nll<D: DualNum<Primitive = f64>>(mu: &D, y: f64, var: f64) -> D {
    let r = mu.clone() - y;
    r.clone() * r / (2.0 * var)
}

/// `sum_j theta_j x[(row, j)]`, for any number type.
pub(crate) fn row_dot<D: DualNum<Primitive = f64>>(x: &DMatrix<f64>, row: usize, theta: &[D]) -> D {
    let mut z = D::from(0.0);
    for (j, t) in theta.iter().enumerate() {
        z += t.clone() * x[(row, j)];
    }
    z
}

// ---------------------------------------------------------------------------
// Logistic regression.

/// Binary logistic regression: features `x` (N x d, one example per row), labels
/// `y` in {0, 1}, and the mean negative log-likelihood
/// `L(theta) = (1/N) sum_n [softplus(x_n . theta) - y_n x_n . theta]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogisticRegression {
    x: DMatrix<f64>,
    y: DVector<f64>,
}

impl LogisticRegression {
    const NAME: &'static str = "logistic_regression";

    /// A data set from `seed`: features i.i.d. N(0, 1), a true parameter with
    /// i.i.d. N(0, 1) entries, and labels drawn from `Bernoulli(sigmoid(x_n .
    /// theta_true))`. Needs `n >= 1`, `d >= 1`, `n d <= 2^24`.
    pub fn generate(seed: u64, n: usize, d: usize) -> Result<Self, DataError> {
        check_sizes(Self::NAME, n, d)?;
        Ok(Self::generate_unchecked(seed, n, d))
    }

    fn generate_unchecked(seed: u64, n: usize, d: usize) -> Self {
        let mut rng = Rng::new(seed);
        let theta = rng.normal_vector(d);
        let x = rng.normal_matrix(n, d);
        let y = DVector::from_fn(n, |i, _| {
            let p = sigmoid((x.row(i) * &theta)[0]);
            if rng.uniform() <= p { 1.0 } else { 0.0 }
        });
        LogisticRegression { x, y }
    }

    /// A problem from given data: `x` finite and non-empty, one label per row,
    /// every label 0 or 1.
    pub fn new(x: DMatrix<f64>, y: DVector<f64>) -> Result<Self, DataError> {
        check_finite_matrix(Self::NAME, &x)?;
        check_rows(Self::NAME, x.nrows(), y.len())?;
        if let Some((i, v)) = y.iter().enumerate().find(|(_, v)| **v != 0.0 && **v != 1.0) {
            return Err(entry_error(Self::NAME, "y", format!("[{i}]"), v, "0 or 1"));
        }
        Ok(LogisticRegression { x, y })
    }

    /// The features, N x d.
    pub fn x(&self) -> &DMatrix<f64> {
        &self.x
    }

    /// The labels, each 0 or 1.
    pub fn y(&self) -> &DVector<f64> {
        &self.y
    }
}

impl Default for LogisticRegression {
    /// `generate(1, 64, 3)`.
    fn default() -> Self {
        Self::generate_unchecked(1, 64, 3)
    }
}

impl Objective for LogisticRegression {
    fn dim(&self) -> usize {
        self.x.ncols()
    }

    /// The mean negative log-likelihood; NaN if `theta` has the wrong length.
    fn eval<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>) -> D {
        if theta.len() != self.x.ncols() {
            return D::from(f64::NAN);
        }
        let mut total = D::from(0.0);
        for i in 0..self.x.nrows() {
            let z = row_dot(&self.x, i, theta.as_slice());
            total += bernoulli_logit_nll(&z, self.y[i]);
        }
        total / self.x.nrows() as f64
    }
}

// ---------------------------------------------------------------------------
// Softmax regression.

/// Multinomial (softmax) regression with `classes` classes: features `x` (N x d),
/// labels `y[n]` in `0..classes`, and the mean negative log-likelihood
/// `L(theta) = (1/N) sum_n [logsumexp(z_n) - z_{n, y_n}]`.
///
/// Parameter layout (class-major): `theta` has `classes * d` entries, and the
/// weight vector of class `k` is `theta[k d .. (k + 1) d]`, so the logit of class
/// `k` for example `n` is `z_{n,k} = sum_j theta[k d + j] x[(n, j)]`. Every class
/// has its own weights, as in a network's last layer; the parametrization is
/// therefore redundant (adding one vector to every class's weights changes no
/// probability), and the Fisher matrix is singular along those directions.
#[derive(Clone, Debug, PartialEq)]
pub struct SoftmaxRegression {
    x: DMatrix<f64>,
    y: Vec<usize>,
    classes: usize,
}

impl SoftmaxRegression {
    const NAME: &'static str = "softmax_regression";

    /// A data set from `seed`: features i.i.d. N(0, 1), true weights i.i.d.
    /// N(0, 1) (class-major, as in the type's documentation) and labels drawn from
    /// the softmax of the true logits. Needs `n >= 1`, `d >= 1`, `classes >= 2`,
    /// and `n d`, `classes d` at most `2^24`.
    pub fn generate(seed: u64, n: usize, d: usize, classes: usize) -> Result<Self, DataError> {
        check_sizes(Self::NAME, n, d)?;
        check_classes(classes)?;
        check_sizes(Self::NAME, classes, d)?;
        Ok(Self::generate_unchecked(seed, n, d, classes))
    }

    fn generate_unchecked(seed: u64, n: usize, d: usize, classes: usize) -> Self {
        let mut rng = Rng::new(seed);
        let w = rng.normal_vector(classes * d);
        let x = rng.normal_matrix(n, d);
        let y = (0..n)
            .map(|i| {
                let z = DVector::from_fn(classes, |k, _| {
                    row_dot(&x, i, &w.as_slice()[k * d..(k + 1) * d])
                });
                let p = softmax(&z);
                let u = rng.uniform();
                let mut cum = 0.0;
                let mut label = classes - 1;
                for (k, pk) in p.iter().enumerate() {
                    cum += pk;
                    if u <= cum {
                        label = k;
                        break;
                    }
                }
                label
            })
            .collect();
        SoftmaxRegression { x, y, classes }
    }

    /// A problem from given data: `x` finite and non-empty, `classes >= 2`, one
    /// label per row, every label in `0..classes`.
    pub fn new(x: DMatrix<f64>, y: Vec<usize>, classes: usize) -> Result<Self, DataError> {
        check_finite_matrix(Self::NAME, &x)?;
        check_classes(classes)?;
        check_sizes(Self::NAME, classes, x.ncols())?;
        check_rows(Self::NAME, x.nrows(), y.len())?;
        if let Some((i, v)) = y.iter().enumerate().find(|(_, v)| **v >= classes) {
            return Err(entry_error(
                Self::NAME,
                "y",
                format!("[{i}]"),
                v,
                "0..classes",
            ));
        }
        Ok(SoftmaxRegression { x, y, classes })
    }

    /// The features, N x d.
    pub fn x(&self) -> &DMatrix<f64> {
        &self.x
    }

    /// The labels, each in `0..classes`.
    pub fn y(&self) -> &[usize] {
        &self.y
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The logits of example `n` at `theta` (class-major layout); NaN entries if
    /// `theta` has the wrong length or `n` is out of range.
    pub fn logits<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize) -> DVector<D> {
        let d = self.x.ncols();
        if theta.len() != self.classes * d || n >= self.x.nrows() {
            return DVector::from_element(self.classes, D::from(f64::NAN));
        }
        let t = theta.as_slice();
        DVector::from_fn(self.classes, |k, _| {
            row_dot(&self.x, n, &t[k * d..(k + 1) * d])
        })
    }
}

fn check_classes(classes: usize) -> Result<(), DataError> {
    if classes >= 2 {
        Ok(())
    } else {
        Err(data_error(
            SoftmaxRegression::NAME,
            "classes",
            classes,
            "classes >= 2",
        ))
    }
}

impl Default for SoftmaxRegression {
    /// `generate(1, 64, 3, 3)`.
    fn default() -> Self {
        Self::generate_unchecked(1, 64, 3, 3)
    }
}

impl Objective for SoftmaxRegression {
    fn dim(&self) -> usize {
        self.classes * self.x.ncols()
    }

    /// The mean negative log-likelihood; NaN if `theta` has the wrong length.
    fn eval<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>) -> D {
        if theta.len() != self.dim() {
            return D::from(f64::NAN);
        }
        let mut total = D::from(0.0);
        for (i, &label) in self.y.iter().enumerate() {
            let z = self.logits(theta, i);
            total += categorical_logits_nll(z.as_slice(), label);
        }
        total / self.x.nrows() as f64
    }
}

// ---------------------------------------------------------------------------
// Linear least squares.

/// Linear least squares: features `x` (N x d), targets `y`, and the loss
/// `L(theta) = |X theta - y|^2 / (2 N model_var)`.
///
/// The sigma^2 convention: `L` is the mean negative log-likelihood of the model
/// `y_n ~ N(x_n . theta, model_var)` without its constant `ln(2 pi model_var) / 2`.
/// The model variance defaults to 1, which gives the usual loss
/// `(1/2N) |X theta - y|^2`; its Fisher matrix is then `X'X / N` (in general
/// `X'X / (N model_var)`). The noise used to generate the data (`noise_std`) is a
/// property of the data, not of the model, and is not used by the loss.
#[derive(Clone, Debug, PartialEq)]
pub struct LeastSquares {
    x: DMatrix<f64>,
    y: DVector<f64>,
    model_var: f64,
}

impl LeastSquares {
    const NAME: &'static str = "least_squares";

    /// A data set from `seed`: features i.i.d. N(0, 1), a true parameter with
    /// i.i.d. N(0, 1) entries, and targets `y = X theta_true + noise_std * e` with
    /// `e` i.i.d. N(0, 1). The model variance is 1. Needs `n >= 1`, `d >= 1`,
    /// `n d <= 2^24`, `noise_std` finite and `>= 0`.
    pub fn generate(seed: u64, n: usize, d: usize, noise_std: f64) -> Result<Self, DataError> {
        check_sizes(Self::NAME, n, d)?;
        if !(noise_std.is_finite() && noise_std >= 0.0) {
            return Err(data_error(
                Self::NAME,
                "noise_std",
                noise_std,
                "[0, inf) (finite)",
            ));
        }
        Ok(Self::generate_unchecked(seed, n, d, noise_std))
    }

    fn generate_unchecked(seed: u64, n: usize, d: usize, noise_std: f64) -> Self {
        let mut rng = Rng::new(seed);
        let theta = rng.normal_vector(d);
        let x = rng.normal_matrix(n, d);
        let y = DVector::from_fn(n, |i, _| (x.row(i) * &theta)[0] + noise_std * rng.normal());
        LeastSquares {
            x,
            y,
            model_var: 1.0,
        }
    }

    /// A problem from given data (model variance 1): `x` finite and non-empty, one
    /// finite target per row.
    pub fn new(x: DMatrix<f64>, y: DVector<f64>) -> Result<Self, DataError> {
        check_finite_matrix(Self::NAME, &x)?;
        check_rows(Self::NAME, x.nrows(), y.len())?;
        if let Some((i, v)) = y.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(entry_error(Self::NAME, "y", format!("[{i}]"), v, "finite"));
        }
        Ok(LeastSquares {
            x,
            y,
            model_var: 1.0,
        })
    }

    /// The same data with model variance `model_var` (finite, `> 0`).
    pub fn with_model_var(mut self, model_var: f64) -> Result<Self, DataError> {
        if !(model_var.is_finite() && model_var > 0.0) {
            return Err(data_error(
                Self::NAME,
                "model_var",
                model_var,
                "(0, inf) (finite)",
            ));
        }
        self.model_var = model_var;
        Ok(self)
    }

    /// The features, N x d.
    pub fn x(&self) -> &DMatrix<f64> {
        &self.x
    }

    /// The targets.
    pub fn y(&self) -> &DVector<f64> {
        &self.y
    }

    /// The model variance sigma^2 (1 unless set with [`LeastSquares::with_model_var`]).
    pub fn model_var(&self) -> f64 {
        self.model_var
    }
}

impl Default for LeastSquares {
    /// `generate(1, 64, 3, 0.5)`.
    fn default() -> Self {
        Self::generate_unchecked(1, 64, 3, 0.5)
    }
}

impl Objective for LeastSquares {
    fn dim(&self) -> usize {
        self.x.ncols()
    }

    /// `|X theta - y|^2 / (2 N model_var)`; NaN if `theta` has the wrong length.
    fn eval<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>) -> D {
        if theta.len() != self.x.ncols() {
            return D::from(f64::NAN);
        }
        let mut total = D::from(0.0);
        for i in 0..self.x.nrows() {
            let mu = row_dot(&self.x, i, theta.as_slice());
            total += gaussian_mean_nll(&mu, self.y[i], self.model_var);
        }
        total / self.x.nrows() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_seed_dependent() {
        let a = LogisticRegression::generate(7, 10, 2).unwrap();
        let b = LogisticRegression::generate(7, 10, 2).unwrap();
        let c = LogisticRegression::generate(8, 10, 2).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn uniform_stays_in_half_open_unit_interval() {
        let mut r = Rng::new(0);
        for _ in 0..10_000 {
            let u = r.uniform();
            assert!(u > 0.0 && u <= 1.0);
        }
    }

    #[test]
    fn normal_draws_have_unit_moments() {
        // 10^5 draws: the sample mean has standard error 1/sqrt(10^5) ~ 0.0032 and
        // the sample variance ~ sqrt(2/10^5) ~ 0.0045; five standard errors each.
        let mut r = Rng::new(3);
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 5.0 * 0.0032, "{mean}");
        assert!((var - 1.0).abs() < 5.0 * 0.0045, "{var}");
    }

    #[test]
    fn bad_inputs_are_refused_with_the_parameter_named() {
        assert_eq!(
            LogisticRegression::generate(1, 0, 3).unwrap_err().param,
            "n"
        );
        assert_eq!(
            SoftmaxRegression::generate(1, 4, 3, 1).unwrap_err().param,
            "classes"
        );
        assert_eq!(
            LeastSquares::generate(1, 4, 3, -1.0).unwrap_err().param,
            "noise_std"
        );
        assert_eq!(
            LeastSquares::default()
                .with_model_var(0.0)
                .unwrap_err()
                .param,
            "model_var"
        );
        let x = DMatrix::from_element(2, 1, 1.0);
        let e = LogisticRegression::new(x.clone(), DVector::from_vec(vec![0.0, 0.5])).unwrap_err();
        assert_eq!((e.param, e.value.as_str()), ("y", "0.5 at y[1]"));
        let e = SoftmaxRegression::new(x, vec![0, 2], 2).unwrap_err();
        assert_eq!((e.param, e.value.as_str()), ("y", "2 at y[1]"));
        assert!(LogisticRegression::generate(1, usize::MAX, 2).is_err());
    }

    #[test]
    fn wrong_length_gives_nan_not_a_panic() {
        let p = LogisticRegression::default();
        assert!(p.value(&DVector::zeros(5)).is_nan());
        assert!(
            SoftmaxRegression::default()
                .value(&DVector::zeros(2))
                .is_nan()
        );
        assert!(LeastSquares::default().value(&DVector::zeros(1)).is_nan());
    }

    #[test]
    fn safe_forms_do_not_overflow() {
        // softplus(1000) = 1000 + ln(1 + e^-1000) = 1000 exactly in f64.
        assert_eq!(softplus(&1000.0_f64), 1000.0);
        assert_eq!(softplus(&-1000.0_f64), 0.0);
        // logsumexp(1000, 1000) = 1000 + ln 2.
        let l = log_sum_exp(&[1000.0_f64, 1000.0]);
        assert_eq!(l, 1000.0 + std::f64::consts::LN_2);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
    }

    #[test]
    fn at_zero_the_losses_are_known() {
        // At theta = 0 every logistic loss is softplus(0) = ln 2 and every softmax
        // loss ln K. Each term is within 1 ulp (libm's ln_1p / ln), and a sum of
        // N = 64 terms adds at most (N - 1) u times the sum (u = eps / 2), so the
        // mean is within (N + 1) eps / 2 * value < 64 eps (values below 2).
        let p = LogisticRegression::default();
        let v = p.value(&DVector::zeros(3));
        assert!((v - std::f64::consts::LN_2).abs() <= 64.0 * f64::EPSILON);
        let s = SoftmaxRegression::default();
        let v = s.value(&DVector::zeros(9));
        assert!((v - 3.0_f64.ln()).abs() <= 64.0 * f64::EPSILON);
    }
}
