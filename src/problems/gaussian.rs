//! A univariate Gaussian data set from a seed, and its mean negative
//! log-likelihood in two parametrizations: `(mu, sigma)` and `(mu, log sigma)`.
//!
//! The two objectives describe the same model; the map between them is
//! `(mu, s) -> (mu, e^s)`, with Jacobian `diag(1, e^s)`
//! ([`jacobian_log_std_to_std`]). The natural-gradient chapter uses the pair to
//! show that natural-gradient directions correspond through that Jacobian while
//! plain gradient directions do not.

use nalgebra::{DMatrix, DVector};
use num_dual::DualNum;

use super::Objective;
use super::regression::{DataError, MAX_ENTRIES, Rng};

/// `ln(2 pi) / 2`, the constant of the Gaussian log-density.
pub(crate) const HALF_LN_TWO_PI: f64 = 0.918_938_533_204_672_8;

/// Samples `x_1, ..., x_N` of a univariate Gaussian.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianData {
    samples: DVector<f64>,
}

impl GaussianData {
    /// `(1/N) sum_n nll(x_n, theta[0], theta[1])`, summed in sample order; NaN
    /// unless `theta` has length 2.
    fn mean_nll<D: DualNum<Primitive = f64>>(
        &self,
        theta: &DVector<D>,
        nll: fn(f64, &D, &D) -> D,
    ) -> D {
        if theta.len() != 2 {
            return D::from(f64::NAN);
        }
        let mut total = D::from(0.0);
        for &y in self.samples.iter() {
            total += nll(y, &theta[0], &theta[1]);
        }
        total / self.samples.len() as f64
    }

    const NAME: &'static str = "gaussian";

    /// `n` i.i.d. draws of `N(mean, std^2)` from `seed`. Needs `1 <= n <= 2^24`,
    /// `mean` finite, `std` finite and `> 0`.
    pub fn generate(seed: u64, n: usize, mean: f64, std: f64) -> Result<Self, DataError> {
        let err = |param, value, range| DataError {
            optimizer: Self::NAME,
            param,
            value,
            range,
        };
        if n == 0 || n > MAX_ENTRIES {
            return Err(err("n", n.to_string(), "1 <= n <= 2^24"));
        }
        if !mean.is_finite() {
            return Err(err("mean", format!("{mean:?}"), "finite"));
        }
        if !(std.is_finite() && std > 0.0) {
            return Err(err("std", format!("{std:?}"), "(0, inf) (finite)"));
        }
        Ok(Self::generate_unchecked(seed, n, mean, std))
    }

    fn generate_unchecked(seed: u64, n: usize, mean: f64, std: f64) -> Self {
        let mut rng = Rng::new(seed);
        GaussianData {
            samples: DVector::from_fn(n, |_, _| std.mul_add(rng.normal(), mean)),
        }
    }

    /// Data from given samples: at least one, all finite.
    pub fn new(samples: DVector<f64>) -> Result<Self, DataError> {
        if samples.is_empty() {
            return Err(DataError {
                optimizer: Self::NAME,
                param: "samples.len()",
                value: "0".into(),
                range: ">= 1",
            });
        }
        if let Some((i, v)) = samples.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(DataError {
                optimizer: Self::NAME,
                param: "samples",
                value: format!("{v:?} at samples[{i}]"),
                range: "finite",
            });
        }
        Ok(GaussianData { samples })
    }

    /// The samples.
    pub fn samples(&self) -> &DVector<f64> {
        &self.samples
    }

    /// The sample mean and the (biased, 1/N) sample standard deviation: the
    /// maximum-likelihood estimate of `(mu, sigma)`.
    pub fn mle(&self) -> (f64, f64) {
        let n = self.samples.len() as f64;
        let mean = self.samples.sum() / n;
        let var = self.samples.map(|x| (x - mean) * (x - mean)).sum() / n;
        (mean, var.sqrt())
    }
}

impl Default for GaussianData {
    /// `generate(1, 64, 1.0, 2.0)`.
    fn default() -> Self {
        Self::generate_unchecked(1, 64, 1.0, 2.0)
    }
}

/// The negative log-density of `y` under `N(mu, sigma^2)`:
/// `ln sigma + (y - mu)^2 / (2 sigma^2) + ln(2 pi) / 2`. NaN for `sigma <= 0`.
pub fn gaussian_nll<D: DualNum<Primitive = f64>>(y: f64, mu: &D, sigma: &D) -> D {
    let r = mu.clone() - y;
    sigma.ln() + r.clone() * r / (sigma.clone() * sigma.clone() * 2.0) + HALF_LN_TWO_PI
}

/// The negative log-density of `y` under `N(mu, e^{2s})`, with `s = ln sigma`:
/// `s + (y - mu)^2 e^{-2s} / 2 + ln(2 pi) / 2`.
pub fn gaussian_log_std_nll<D: DualNum<Primitive = f64>>(y: f64, mu: &D, s: &D) -> D {
    let r = mu.clone() - y;
    s.clone() + r.clone() * r * (s.clone() * -2.0).exp() * 0.5 + HALF_LN_TWO_PI
}

/// The mean negative log-likelihood of [`GaussianData`] in `theta = (mu, sigma)`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct GaussianMeanStd {
    data: GaussianData,
}

impl GaussianMeanStd {
    /// The objective on `data`.
    pub fn new(data: GaussianData) -> Self {
        GaussianMeanStd { data }
    }

    /// The data.
    pub fn data(&self) -> &GaussianData {
        &self.data
    }
}

impl Objective for GaussianMeanStd {
    fn dim(&self) -> usize {
        2
    }

    /// `(1/N) sum_n gaussian_nll(x_n, mu, sigma)`; NaN if `theta` does not have
    /// length 2 or `sigma <= 0`.
    fn eval<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>) -> D {
        self.data.mean_nll(theta, gaussian_nll)
    }
}

/// The mean negative log-likelihood of [`GaussianData`] in
/// `theta = (mu, s)`, `s = ln sigma`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct GaussianMeanLogStd {
    data: GaussianData,
}

impl GaussianMeanLogStd {
    /// The objective on `data`.
    pub fn new(data: GaussianData) -> Self {
        GaussianMeanLogStd { data }
    }

    /// The data.
    pub fn data(&self) -> &GaussianData {
        &self.data
    }
}

impl Objective for GaussianMeanLogStd {
    fn dim(&self) -> usize {
        2
    }

    /// `(1/N) sum_n gaussian_log_std_nll(x_n, mu, s)`; NaN if `theta` does not have
    /// length 2.
    fn eval<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>) -> D {
        self.data.mean_nll(theta, gaussian_log_std_nll)
    }
}

/// The map from `(mu, log sigma)` to `(mu, sigma)`, for any number type. Entries
/// beyond the first two are ignored; a shorter vector gives NaN entries.
pub fn log_std_to_std<D: DualNum<Primitive = f64>>(theta: &DVector<D>) -> DVector<D> {
    if theta.len() != 2 {
        return DVector::from_element(2, D::from(f64::NAN));
    }
    DVector::from_vec(vec![theta[0].clone(), theta[1].exp()])
}

/// The inverse map, from `(mu, sigma)` to `(mu, log sigma)`; `None` unless
/// `theta` has length 2 and `sigma > 0`.
pub fn std_to_log_std(theta: &DVector<f64>) -> Option<DVector<f64>> {
    (theta.len() == 2 && theta[1] > 0.0).then(|| DVector::from_vec(vec![theta[0], theta[1].ln()]))
}

/// The Jacobian of [`log_std_to_std`] at `theta = (mu, s)`: `diag(1, e^s)`. A
/// tangent vector `v` in `(mu, s)` coordinates maps to `J v` in `(mu, sigma)`
/// coordinates; NaN entries if `theta` does not have length 2.
pub fn jacobian_log_std_to_std(theta: &DVector<f64>) -> DMatrix<f64> {
    if theta.len() != 2 {
        return DMatrix::from_element(2, 2, f64::NAN);
    }
    DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, theta[1].exp()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_ln_two_pi_is_the_constant() {
        // The literal is the correctly rounded value; ln is within 1 ulp.
        let c = (2.0 * std::f64::consts::PI).ln() / 2.0;
        assert!((c - HALF_LN_TWO_PI).abs() <= f64::EPSILON);
    }

    #[test]
    fn the_two_objectives_agree_through_the_map() {
        // Same model, two coordinates: L_log(mu, s) = L_std(mu, e^s). Each term
        // differs by a few ulps (exp and division rounding); with N = 64 terms
        // below 10, 16 * N * eps * 10 bounds the difference of the means.
        let data = GaussianData::default();
        let a = GaussianMeanStd::new(data.clone());
        let b = GaussianMeanLogStd::new(data);
        for &(mu, s) in &[(0.0, 0.0), (1.0, 0.5), (-2.0, -0.3)] {
            let t_log = DVector::from_vec(vec![mu, s]);
            let t_std = log_std_to_std(&t_log);
            let diff = (a.value(&t_std) - b.value(&t_log)).abs();
            assert!(diff <= 16.0 * 64.0 * f64::EPSILON * 10.0, "{diff}");
        }
    }

    #[test]
    fn gradient_is_zero_at_the_mle() {
        // At (mean, std) of the sample, both partial derivatives vanish; the
        // residual comes from rounding in sums of N = 64 terms of size
        // ~ |x - mu| / sigma^2 <= 10, so 64 * eps * 10 * 4 (a few flops each).
        let data = GaussianData::default();
        let (m, s) = data.mle();
        let g = GaussianMeanStd::new(data).gradient(&DVector::from_vec(vec![m, s]));
        assert!(g.amax() <= 64.0 * f64::EPSILON * 40.0, "{g}");
    }

    #[test]
    fn bad_data_is_refused() {
        assert!(GaussianData::generate(1, 0, 0.0, 1.0).is_err());
        assert!(GaussianData::generate(1, 3, 0.0, 0.0).is_err());
        assert!(GaussianData::generate(1, 3, f64::NAN, 1.0).is_err());
        assert!(GaussianData::new(DVector::from_vec(vec![1.0, f64::INFINITY])).is_err());
        assert!(std_to_log_std(&DVector::from_vec(vec![0.0, -1.0])).is_none());
        assert!(
            GaussianMeanStd::default()
                .value(&DVector::zeros(3))
                .is_nan()
        );
    }
}
