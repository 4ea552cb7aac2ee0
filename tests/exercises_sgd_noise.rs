//! The answers of the exercises of the chapter "SGD under noise"
//! (`book/src/sgd-noise.md`), checked with the crate's SGD on its noisy
//! problems and with the exact moment recursions those runs obey (claim
//! `sgd-noisy-quadratic-second-moment`). Statistical comparisons allow 4.5
//! standard errors of a mean over seeded runs, as in `tests/sgd_noise.rs`.

use descent::optim::{Optimizer, Sgd, SgdConfig};
use descent::problems::Objective;
use descent::problems::noisy::{Median, NoisyQuadratic};
use descent::problems::quadratic::SplitMix64;
use descent::problems::regression::LeastSquares;
use nalgebra::DVector;

const Z: f64 = 4.5;

/// The exact second moment E theta_t^2 on the 1-D noisy quadratic after each
/// step of `rates`.
fn second_moments(mu: f64, sigma: f64, theta0: f64, rates: impl Iterator<Item = f64>) -> Vec<f64> {
    let (mut m, mut v) = (theta0, 0.0);
    rates
        .map(|eta| {
            let a = 1.0 - eta * mu;
            m *= a;
            v = a * a * v + eta * eta * sigma * sigma;
            m * m + v
        })
        .collect()
}

/// The mean and standard error of theta_T^2 over `runs` runs of the crate's SGD.
fn simulated_second_moment(
    f: &NoisyQuadratic,
    theta0: f64,
    rate: impl Fn(usize) -> f64,
    steps: usize,
    runs: u64,
    seed: u64,
) -> (f64, f64) {
    let squares: Vec<f64> = (0..runs)
        .map(|r| {
            let mut rng = SplitMix64::new(seed + r);
            let mut opt = Sgd::new(SgdConfig {
                lr: rate(1),
                ..SgdConfig::default()
            })
            .unwrap();
            let mut theta = DVector::from_element(1, theta0);
            for t in 1..=steps {
                opt.set_lr(rate(t)).unwrap();
                let g = f.sample_gradient(&theta, &mut rng);
                opt.step(&mut theta, &g).unwrap();
            }
            theta[0] * theta[0]
        })
        .collect();
    let n = runs as f64;
    let mean = squares.iter().sum::<f64>() / n;
    let var = squares.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

// claim: exercise-sgd-noise-1
#[test]
fn constant_step_floor() {
    let floor = |eta: f64, sigma2: f64| eta * sigma2 / (2.0 - eta);
    assert!((floor(0.1, 1.0) - 0.052_631_578_947_368_42).abs() < 1e-15);
    assert!((floor(0.05, 1.0) - 0.025_641_025_641_025_64).abs() < 1e-15);
    assert_eq!(floor(0.1, 0.5), floor(0.1, 1.0) / 2.0);
    // The recursion reaches the floor (contraction 0.81 per step: 400 steps
    // leave 0.81^400 < 1e-36 of the start).
    let v = second_moments(1.0, 1.0, 2.0, std::iter::repeat_n(0.1, 400));
    assert!((v[399] - floor(0.1, 1.0)).abs() < 1e-15);
    // The crate's SGD sits on it: 2000 runs of 200 steps (0.81^200 * 4 < 1e-17).
    let f = NoisyQuadratic::new(1.0, 1.0, 1).unwrap();
    let (m, se) = simulated_second_moment(&f, 2.0, |_| 0.1, 200, 2000, 0xf100);
    assert!((m - floor(0.1, 1.0)).abs() <= Z * se, "{m} (se {se})");
    // Doubling the batch = noise variance 1/2: half the floor.
    let f = NoisyQuadratic::new(1.0, 0.5f64.sqrt(), 1).unwrap();
    let (m, se) = simulated_second_moment(&f, 2.0, |_| 0.1, 200, 2000, 0xf200);
    assert!((m - floor(0.1, 0.5)).abs() <= Z * se, "{m} (se {se})");
}

/// Least-squares slope of ln v against ln t over the given steps (1-based).
fn log_slope(v: &[f64], steps: &[usize]) -> f64 {
    let xs: Vec<f64> = steps.iter().map(|&t| (t as f64).ln()).collect();
    let ys: Vec<f64> = steps.iter().map(|&t| v[t - 1].ln()).collect();
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    sxy / sxx
}

// claim: exercise-sgd-noise-2
#[test]
fn overestimated_mu_slows_the_rate() {
    let (mu, sigma) = (1.0, 1.0);
    let n = 1_000_000;
    let window = [10_000, 31_623, 100_000, 316_228, 1_000_000];
    for (c, want) in [(0.25, -0.5), (0.4, -0.8), (1.0, -1.0)] {
        let v = second_moments(mu, sigma, 2.0, (1..=n).map(|t| c / (mu * t as f64)));
        let s = log_slope(&v, &window);
        // The corrections to t^{-2c} (resp. t^{-1}) are of relative order
        // t^{-(1 - 2c)} at worst, here below 1e-2 in slope over the window.
        assert!((s - want).abs() < 0.02, "c = {c}: slope {s}");
    }
    // The crate's runs follow the recursion for c = 1/4 (1000 runs, 1000 steps).
    let f = NoisyQuadratic::new(mu, sigma, 1).unwrap();
    let rate = |t: usize| 0.25 / (mu * t as f64);
    let v = second_moments(mu, sigma, 2.0, (1..=1000).map(rate));
    let (m, se) = simulated_second_moment(&f, 2.0, rate, 1000, 1000, 0xf300);
    assert!((m - v[999]).abs() <= Z * se, "{m} vs {} (se {se})", v[999]);
}

// claim: exercise-sgd-noise-3
#[test]
fn finite_population_factor_four_sevenths() {
    let n = 8;
    let data = LeastSquares::generate(77, n, 2, 1.0).unwrap();
    let theta = DVector::from_vec(vec![0.5, -0.25]);
    let grads: Vec<DVector<f64>> = (0..n)
        .map(|i| {
            LeastSquares::new(
                data.x().rows(i, 1).into_owned(),
                DVector::from_element(1, data.y()[i]),
            )
            .unwrap()
            .gradient(&theta)
        })
        .collect();
    let mean = grads.iter().fold(DVector::zeros(2), |a, g| a + g) / n as f64;
    let variance = |b: usize, with_replacement: bool| -> f64 {
        let mut total = 0.0;
        let mut count = 0usize;
        if with_replacement {
            for code in 0..n.pow(b as u32) {
                let (mut c, mut g) = (code, DVector::zeros(2));
                for _ in 0..b {
                    g += &grads[c % n];
                    c /= n;
                }
                total += (g / b as f64 - &mean).norm_squared();
                count += 1;
            }
        } else {
            for mask in 0u32..1 << n {
                if mask.count_ones() as usize != b {
                    continue;
                }
                let g = (0..n)
                    .filter(|i| mask & (1 << i) != 0)
                    .fold(DVector::zeros(2), |a, i| a + &grads[i]);
                total += (g / b as f64 - &mean).norm_squared();
                count += 1;
            }
        }
        total / count as f64
    };
    // Sums of at most 4096 terms: rounding below 1e-12 relative.
    let ratio = variance(4, false) / variance(4, true);
    assert!((ratio - 4.0 / 7.0).abs() < 1e-12, "{ratio}");
    assert!(variance(8, false) < 1e-25 * variance(1, false));
}

// claim: exercise-sgd-noise-4
#[test]
fn one_over_sqrt_t_converges_anyway() {
    let (mu, sigma) = (1.0, 1.0);
    let rate = |t: usize| 0.5 / (t as f64).sqrt();
    let v = second_moments(mu, sigma, 2.0, (1..=1_000_000).map(rate));
    for t in [10_000usize, 100_000, 1_000_000] {
        let k = v[t - 1] / rate(t);
        // K = sigma^2/(2 mu) = 1/2, up to corrections of relative order
        // eta_t mu + 1/(t a_t) ~ 1/sqrt t: below 1% from t = 10^4 on.
        assert!((k - 0.5).abs() < 0.005, "t = {t}: K = {k}");
    }
    let f = NoisyQuadratic::new(mu, sigma, 1).unwrap();
    let (m, se) = simulated_second_moment(&f, 2.0, rate, 2000, 1000, 0xf400);
    let v = second_moments(mu, sigma, 2.0, (1..=2000).map(rate));
    assert!((m - v[1999]).abs() <= Z * se, "{m} vs {}", v[1999]);
}

/// Exercise 5: on `Median` with the constant step `eta = D/(G sqrt T)` from
/// `theta_0 = 1/2` (on the grid `eta Z`), the last iterate's expected gap settles
/// at the stationary value `4 eta / 9`: the walk `theta / eta` has the stationary
/// law `2^-|j| / 3` and the gap there is `|theta| / 3`.
// claim: exercise-sgd-noise-5
#[test]
fn last_iterate_gap_is_four_ninths_eta() {
    // The stationary law: pi(j) = 2^-|j| / 3 balances the flow j -> j + 1
    // (probability 1/3 from any j >= 0) against j + 1 -> j (2/3 from j + 1 >= 1),
    // and symmetrically below 0. Its mean |j| is 4/3.
    let pi = |j: i64| 0.5f64.powi(j.abs() as i32) / 3.0;
    let total: f64 = (-60..=60).map(pi).sum();
    let mean_abs: f64 = (-60..=60).map(|j| pi(j) * j.abs() as f64).sum();
    // Truncation at |j| = 60 leaves below 2^-55 of the mass; rounding is ~100 u.
    assert!((total - 1.0).abs() < 1e-14 && (mean_abs - 4.0 / 3.0).abs() < 1e-14);
    let f = Median;
    let runs = 4000u64;
    for k in [4u32, 5] {
        // D = 1/2, G = 1: eta = 2^-(k+1), T = 4^k.
        let horizon = 4usize.pow(k);
        let eta = 0.5 / (horizon as f64).sqrt();
        let gaps: Vec<f64> = (0..runs)
            .map(|r| {
                let mut rng = SplitMix64::new(0xe5_0000 + 1000 * k as u64 + r);
                let mut opt = Sgd::new(SgdConfig {
                    lr: eta,
                    ..SgdConfig::default()
                })
                .unwrap();
                let mut theta = DVector::from_element(1, 0.5);
                for _ in 0..horizon {
                    let g = f.sample_gradient(&theta, &mut rng);
                    opt.step(&mut theta, &g).unwrap();
                }
                f.value(&theta) - Median::MIN_VALUE
            })
            .collect();
        let n = runs as f64;
        let m = gaps.iter().sum::<f64>() / n;
        let se = (gaps.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt();
        // The walk starts 2^k above 0 and drifts down by 1/3 per step, so it
        // reaches 0 after about 3 * 2^k steps, a small part of T = 4^k; from
        // there it forgets its start geometrically. The comparison is against
        // the stationary value, within Z standard errors of the mean over runs.
        let want = 4.0 * eta / 9.0;
        assert!(
            (m - want).abs() <= Z * se,
            "T = {horizon}: last-iterate gap {m} vs 4 eta / 9 = {want} (se {se})"
        );
        // "As good as the average up to a constant": below the bound eta = DG/sqrt T.
        assert!(m < eta);
    }
}
