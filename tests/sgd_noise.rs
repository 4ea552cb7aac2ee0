//! SGD under gradient noise: the claims of the chapter "SGD under noise"
//! (`book/src/sgd-noise.md`).
//!
//! Every run is the crate's `Sgd` (its public API, with `set_lr` for a schedule)
//! on a seeded stochastic problem of `src/problems/noisy.rs`. Expectations are
//! estimated by the mean over `R` independent runs, and every comparison allows
//! `Z = 4.5` standard errors of that mean, computed from the exact variance of
//! the estimated quantity where it is known and from the sample variance
//! otherwise. For a Gaussian estimate a correct implementation then fails one
//! comparison with probability below `7e-6`; the seeds are fixed, so the outcome
//! is reproducible. Rates are log-log slopes fitted by least squares, with the
//! standard error of the slope propagated from the standard errors of the
//! points (the delta method: `sd(ln m) = sd(m)/m`).

use descent::optim::{Optimizer, Sgd, SgdConfig};
use descent::problems::Objective;
use descent::problems::noisy::{Median, NoisyQuadratic};
use descent::problems::quadratic::SplitMix64;
use descent::problems::regression::LeastSquares;
use nalgebra::{DMatrix, DVector};

/// Standard errors allowed in every statistical comparison.
const Z: f64 = 4.5;

fn sgd(lr: f64) -> Sgd {
    Sgd::new(SgdConfig {
        lr,
        ..SgdConfig::default()
    })
    .expect("a valid learning rate")
}

/// Least-squares slope of `ys` against `xs` and its weights `w_i`, so that the
/// slope is `sum w_i y_i` and its variance `w' C w` for a covariance `C` of `ys`.
fn slope(xs: &[f64], ys: &[f64]) -> (f64, Vec<f64>) {
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let w: Vec<f64> = xs.iter().map(|x| (x - mx) / sxx).collect();
    (w.iter().zip(ys).map(|(w, y)| w * y).sum(), w)
}

/// Mean and standard error of the mean of `xs`.
fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

// ---- sgd-noisy-quadratic-second-moment -------------------------------------

/// A step-size schedule: the rate of step `t` (from 1).
type Schedule = fn(f64) -> f64;

/// The exact mean and variance of theta_t on the 1-D noisy quadratic.
fn exact_moments(mu: f64, sigma: f64, theta0: f64, rates: &[f64]) -> Vec<(f64, f64)> {
    let (mut m, mut v) = (theta0, 0.0);
    let mut out = vec![(m, v)];
    for &eta in rates {
        let a = 1.0 - eta * mu;
        m *= a;
        v = a * a * v + eta * eta * sigma * sigma;
        out.push((m, v));
    }
    out
}

// claim: sgd-noisy-quadratic-second-moment
#[test]
fn sgd_noisy_quadratic_second_moment() {
    let (mu, sigma, theta0) = (1.0, 1.0, 2.0);
    let f = NoisyQuadratic::new(mu, sigma, 1).unwrap();
    let steps = 1000;
    let runs = 1000;
    let schedules: [(&str, Schedule); 4] = [
        ("constant 0.1", |_| 0.1),
        ("0.5 / t^0.6", |t| 0.5 / t.powf(0.6)),
        ("0.5 / sqrt t", |t| 0.5 / t.sqrt()),
        ("0.5 / t^2", |t| 0.5 / (t * t)),
    ];
    let checkpoints = [10usize, 100, 1000];
    for (k, (name, schedule)) in schedules.iter().enumerate() {
        let rates: Vec<f64> = (1..=steps).map(|t| schedule(t as f64)).collect();
        let exact = exact_moments(mu, sigma, theta0, &rates);
        let mut squares = vec![Vec::with_capacity(runs); checkpoints.len()];
        for run in 0..runs {
            let mut rng = SplitMix64::new(1_000_003 * k as u64 + run as u64);
            let mut opt = sgd(rates[0]);
            let mut theta = DVector::from_element(1, theta0);
            for t in 1..=steps {
                opt.set_lr(rates[t - 1]).unwrap();
                let g = f.sample_gradient(&theta, &mut rng);
                opt.step(&mut theta, &g).unwrap();
                if let Some(i) = checkpoints.iter().position(|&c| c == t) {
                    squares[i].push(theta[0] * theta[0]);
                }
            }
        }
        for (i, &t) in checkpoints.iter().enumerate() {
            let (m, v) = exact[t];
            let want = m * m + v;
            // theta_t is exactly Gaussian: Var(theta^2) = 2 v^2 + 4 m^2 v.
            let se = ((2.0 * v * v + 4.0 * m * m * v) / runs as f64).sqrt();
            let got = squares[i].iter().sum::<f64>() / runs as f64;
            assert!(
                (got - want).abs() <= Z * se,
                "{name}, t = {t}: E theta^2 = {got}, exact {want} (se {se})"
            );
        }
    }
}

/// The consequences for the limit, from the exact recursion: a constant step
/// stalls at the floor eta sigma^2 / (mu (2 - eta mu)); summable steps freeze the
/// mean at theta_0 prod (1 - eta_t mu); steps with sum eta = inf and eta -> 0
/// drive the second moment to 0.
// claim: sgd-noisy-quadratic-second-moment
#[test]
fn robbins_monro_limits() {
    let (mu, sigma, theta0) = (1.0, 1.0, 2.0);
    let n = 1_000_000;
    // Constant step: the floor. The recursion contracts by (1 - 0.1)^2 per step,
    // so after 10^6 steps only rounding remains (a few u relative per step, which
    // does not accumulate under a contraction: 1e-13 is generous).
    let constant = exact_moments(mu, sigma, theta0, &vec![0.1; n]);
    let (m, v) = constant[n];
    let floor = 0.1 * sigma * sigma / (mu * (2.0 - 0.1 * mu));
    assert!(
        ((m * m + v) - floor).abs() <= 1e-13,
        "{} vs {floor}",
        m * m + v
    );
    // Summable 0.5/t^2: the mean freezes at theta_0 prod (1 - 0.5/t^2) =
    // theta_0 sin(pi x)/(pi x) with x = 1/sqrt 2 (Euler's product). The mean is
    // gradient descent without noise, so the crate's SGD on the noiseless
    // problem (sigma = 0) computes it. The tail of the product beyond 10^5 steps
    // changes it by a factor exp(-0.5/10^5) at most (5e-6 relative); the
    // rounding of 10^5 steps is about 10^5 u, far below.
    let noiseless = NoisyQuadratic::new(mu, 0.0, 1).unwrap();
    let mut opt = sgd(0.5);
    let mut theta = DVector::from_element(1, theta0);
    let mut rng = SplitMix64::new(0);
    for t in 1..=100_000u64 {
        opt.set_lr(0.5 / (t as f64 * t as f64)).unwrap();
        let g = noiseless.sample_gradient(&theta, &mut rng);
        opt.step(&mut theta, &g).unwrap();
    }
    let x = std::f64::consts::FRAC_1_SQRT_2;
    let pix = std::f64::consts::PI * x;
    let frozen = theta0 * pix.sin() / pix;
    assert!((theta[0] - frozen).abs() <= 6e-6 * theta0, "{}", theta[0]);
    assert!(frozen > 0.7, "the mean stays far from the minimizer 0");
    // Non-summable, square-summable 0.5/t^0.6: the second moment tends to 0, like
    // eta_t sigma^2/(2 mu) (the floor of the current step).
    let rates: Vec<f64> = (1..=n).map(|t| 0.5 / (t as f64).powf(0.6)).collect();
    let decaying = exact_moments(mu, sigma, theta0, &rates);
    let (m, v) = decaying[n];
    let ratio = (m * m + v) / (rates[n - 1] * sigma * sigma / (2.0 * mu));
    assert!((ratio - 1.0).abs() < 0.01, "ratio {ratio}");
}

// ---- sgd-convex-lipschitz-rate ----------------------------------------------

/// The exact expected average gap (1/T) sum_{t<T} E L(theta_t) - L* on `Median`
/// with theta_0 = 1/2 and eta = 2^-(k+1), T = 4^k, by evolving the distribution
/// of theta_t / eta on the integers (a walk: down with probability 2/3 above 0,
/// up with 2/3 below 0, and -1, 0, +1 with probability 1/3 each at 0).
fn median_exact_average_gap(k: u32) -> f64 {
    let horizon = 4usize.pow(k);
    let start = 2i64.pow(k); // theta_0 / eta
    // Positions -reach..=reach. Climbing 64 above the start against the drift
    // has probability at most 2^-64 (gambler's ruin with odds 1/2), so mass
    // pushed beyond is dropped and counted, and must stay negligible.
    let reach = start + 64;
    let index = |j: i64| (j + reach) as usize;
    let mut p = vec![0.0; (2 * reach + 1) as usize];
    p[index(start)] = 1.0;
    let eta = 0.5f64.powi(k as i32 + 1);
    let (mut total, mut lost) = (0.0, 0.0);
    for _ in 0..horizon {
        let gap: f64 = p
            .iter()
            .enumerate()
            .map(|(i, &q)| q * (i as i64 - reach).abs() as f64 * eta / 3.0)
            .sum();
        total += gap;
        let mut next = vec![0.0; p.len()];
        for (i, &q) in p.iter().enumerate() {
            if q == 0.0 {
                continue;
            }
            let j = i as i64 - reach;
            let (down, stay, up) = match j.signum() {
                1 => (2.0 / 3.0, 0.0, 1.0 / 3.0),
                -1 => (1.0 / 3.0, 0.0, 2.0 / 3.0),
                _ => (1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0),
            };
            for (to, w) in [(j - 1, down), (j, stay), (j + 1, up)] {
                if to.abs() > reach {
                    lost += q * w;
                } else {
                    next[index(to)] += q * w;
                }
            }
        }
        p = next;
    }
    assert!(lost < 1e-15, "mass lost {lost}");
    total / horizon as f64
}

/// One run on `Median` with a constant rate: the average gap of the iterates
/// theta_0 .. theta_{T-1} and the gap at their average.
fn median_run(eta: f64, horizon: usize, rng: &mut SplitMix64) -> (f64, f64) {
    let f = Median;
    let mut opt = sgd(eta);
    let mut theta = DVector::from_element(1, 0.5);
    let (mut sum_gap, mut sum_theta) = (0.0, 0.0);
    for _ in 0..horizon {
        sum_gap += f.value(&theta) - Median::MIN_VALUE;
        sum_theta += theta[0];
        let g = f.sample_gradient(&theta, rng);
        opt.step(&mut theta, &g).unwrap();
    }
    let average = DVector::from_element(1, sum_theta / horizon as f64);
    (
        sum_gap / horizon as f64,
        f.value(&average) - Median::MIN_VALUE,
    )
}

// claim: sgd-convex-lipschitz-rate
#[test]
fn sgd_convex_lipschitz_rate() {
    // D = |theta_0 - theta*| = 1/2, G = 1, eta = D/(G sqrt T) = 2^-(k+1).
    let (d, g) = (0.5, 1.0);
    let runs = 200;
    let ks = [4u32, 5, 6, 7];
    let (mut xs, mut ys, mut var_y, mut exact_y) = (vec![], vec![], vec![], vec![]);
    for &k in &ks {
        let horizon = 4usize.pow(k);
        let eta = d / (g * (horizon as f64).sqrt());
        assert_eq!(eta, 0.5f64.powi(k as i32 + 1));
        let mut rng = SplitMix64::new(0x5eed_0000 + k as u64);
        let (avg_gaps, gaps_at_avg): (Vec<f64>, Vec<f64>) = (0..runs)
            .map(|_| median_run(eta, horizon, &mut rng))
            .unzip();
        let (m, se) = mean_se(&avg_gaps);
        let (m_avg, se_avg) = mean_se(&gaps_at_avg);
        let bound = d * g / (horizon as f64).sqrt();
        let exact = median_exact_average_gap(k);
        // The bound, for the average of the gaps and (Jensen) the gap at the average.
        assert!(
            exact <= bound,
            "T = {horizon}: exact {exact} > bound {bound}"
        );
        assert!(
            m_avg <= bound + Z * se_avg,
            "T = {horizon}: {m_avg} > {bound}"
        );
        assert!(m_avg <= m + Z * (se + se_avg));
        // The crate's runs agree with the exact expectation.
        assert!(
            (m - exact).abs() <= Z * se,
            "T = {horizon}: {m} vs exact {exact}"
        );
        xs.push((horizon as f64).ln());
        ys.push(m.ln());
        var_y.push((se / m).powi(2));
        exact_y.push(exact.ln());
    }
    // The fitted slope: runs for different T are independent, so the variance of
    // the slope is sum w_i^2 var(y_i). The exact expectation's own slope differs
    // from -1/2 by the pre-asymptotic terms; that difference is computed, not
    // tuned, and added to the allowance.
    let (fitted, w) = slope(&xs, &ys);
    let se_slope = w
        .iter()
        .zip(&var_y)
        .map(|(w, v)| w * w * v)
        .sum::<f64>()
        .sqrt();
    let (exact_slope, _) = slope(&xs, &exact_y);
    let bias = (exact_slope + 0.5).abs();
    assert!(bias < 0.05, "exact slope {exact_slope}");
    assert!(
        (fitted - exact_slope).abs() <= Z * se_slope,
        "fitted {fitted}, exact {exact_slope}, se {se_slope}"
    );
    assert!(
        (fitted + 0.5).abs() <= Z * se_slope + bias,
        "fitted {fitted}"
    );
}

/// Decaying steps eta_t = D/(G sqrt t) with the eta-weighted average of the
/// iterates: E L(average) - L* <= (D^2 + G^2 sum eta_t^2)/(2 sum eta_t).
// claim: sgd-convex-lipschitz-rate
#[test]
fn sgd_decaying_steps_weighted_average() {
    let (d, g) = (0.5, 1.0);
    let f = Median;
    let runs = 200;
    for horizon in [100usize, 1000, 10000] {
        let rates: Vec<f64> = (1..=horizon).map(|t| d / (g * (t as f64).sqrt())).collect();
        let sum: f64 = rates.iter().sum();
        let sum_sq: f64 = rates.iter().map(|r| r * r).sum();
        let bound = (d * d + g * g * sum_sq) / (2.0 * sum);
        let mut rng = SplitMix64::new(0x5eed_1000 + horizon as u64);
        let gaps: Vec<f64> = (0..runs)
            .map(|_| {
                let mut opt = sgd(rates[0]);
                let mut theta = DVector::from_element(1, 0.5);
                let mut weighted = 0.0;
                for &eta in &rates {
                    weighted += eta * theta[0];
                    opt.set_lr(eta).unwrap();
                    let g = f.sample_gradient(&theta, &mut rng);
                    opt.step(&mut theta, &g).unwrap();
                }
                f.value(&DVector::from_element(1, weighted / sum)) - Median::MIN_VALUE
            })
            .collect();
        let (m, se) = mean_se(&gaps);
        assert!(m <= bound + Z * se, "T = {horizon}: {m} > {bound}");
    }
}

// ---- sgd-strongly-convex-one-over-t ----------------------------------------

// claim: sgd-strongly-convex-one-over-t
#[test]
fn sgd_strongly_convex_one_over_t() {
    let (mu, sigma, theta0) = (2.0, 1.0, 3.0);
    let f = NoisyQuadratic::new(mu, sigma, 1).unwrap();
    let runs = 1000;
    let horizon = 4096;
    let checkpoints: Vec<usize> = (0..=12).map(|j| 1 << j).collect();
    let mut squares = vec![Vec::with_capacity(runs); checkpoints.len()];
    let mut mean_grad2 = vec![0.0; horizon + 1];
    let mut rng = SplitMix64::new(0x5eed_2000);
    for _ in 0..runs {
        let mut opt = sgd(1.0 / mu);
        let mut theta = DVector::from_element(1, theta0);
        for (t, grad2) in mean_grad2.iter_mut().enumerate().skip(1) {
            opt.set_lr(1.0 / (mu * t as f64)).unwrap();
            let g = f.sample_gradient(&theta, &mut rng);
            *grad2 += g[0] * g[0] / runs as f64;
            opt.step(&mut theta, &g).unwrap();
            if let Some(i) = checkpoints.iter().position(|&c| c == t) {
                squares[i].push(theta[0] * theta[0]);
            }
        }
    }
    // theta_t = -(sigma/mu) (xi_1 + ... + xi_t)/t exactly, whatever theta_0:
    // E theta_t^2 = sigma^2/(mu^2 t), and Var(theta_t^2) = 2 (E theta_t^2)^2.
    let (mut xs, mut ys) = (vec![], vec![]);
    for (i, &t) in checkpoints.iter().enumerate() {
        let want = sigma * sigma / (mu * mu * t as f64);
        let got = squares[i].iter().sum::<f64>() / runs as f64;
        let se = want * (2.0 / runs as f64).sqrt();
        assert!((got - want).abs() <= Z * se, "t = {t}: {got} vs {want}");
        xs.push((t as f64).ln());
        ys.push(got.ln());
    }
    // The general bound G^2/(mu^2 t) with G^2 the largest E g_t^2 seen after the
    // first step (E g_1^2 = mu^2 theta_0^2 + sigma^2 includes the start; from t = 2
    // on, E g_t^2 = mu^2 E theta_{t-1}^2 + sigma^2 <= 2 sigma^2). The exact
    // second moment is half the bound with G^2 = 2 sigma^2.
    let g2 = mean_grad2[2..].iter().cloned().fold(0.0, f64::max);
    assert!(g2 <= 2.0 * sigma * sigma * (1.0 + Z * (2.0 / runs as f64).sqrt()));
    // The slope -1. The checkpoints come from the same runs, so their errors are
    // correlated: theta_s and theta_t (s <= t) are jointly Gaussian with
    // covariance sigma^2/(mu^2 t), so Cov(theta_s^2, theta_t^2) = 2 (sigma^2/(mu^2 t))^2
    // and the covariance of the logs of the means is 2 (s/t) / runs.
    let (fitted, w) = slope(&xs, &ys);
    let mut var = 0.0;
    for (i, &s) in checkpoints.iter().enumerate() {
        for (j, &t) in checkpoints.iter().enumerate() {
            let (lo, hi) = (s.min(t) as f64, s.max(t) as f64);
            var += w[i] * w[j] * 2.0 * (lo / hi) / runs as f64;
        }
    }
    assert!(
        (fitted + 1.0).abs() <= Z * var.sqrt(),
        "slope {fitted} (se {})",
        var.sqrt()
    );
}

// ---- minibatch-gradient-variance --------------------------------------------

/// The per-example gradients of a least-squares problem at `theta`, each from the
/// crate's own one-row problem.
fn per_example_gradients(
    x: &DMatrix<f64>,
    y: &DVector<f64>,
    theta: &DVector<f64>,
) -> Vec<DVector<f64>> {
    (0..x.nrows())
        .map(|n| {
            let row = LeastSquares::new(x.rows(n, 1).into_owned(), DVector::from_element(1, y[n]))
                .unwrap();
            row.gradient(theta)
        })
        .collect()
}

/// All subsets of size `b` of `0..n`, as index lists.
fn subsets(n: usize, b: usize) -> Vec<Vec<usize>> {
    (0u32..1 << n)
        .filter(|m| m.count_ones() as usize == b)
        .map(|m| (0..n).filter(|i| m & (1 << i) != 0).collect())
        .collect()
}

// claim: minibatch-gradient-variance
#[test]
fn minibatch_gradient_variance() {
    let n = 8;
    let data = LeastSquares::generate(31, n, 3, 0.5).unwrap();
    let theta = DVector::from_vec(vec![0.3, -1.1, 0.7]);
    let grads = per_example_gradients(data.x(), data.y(), &theta);
    let full = data.gradient(&theta);
    let mean = grads.iter().fold(DVector::zeros(3), |a, g| a + g) / n as f64;
    // The full problem's gradient is the mean of the per-example ones (the
    // loss is their mean): a check that the rows are the crate's examples.
    assert!((&full - &mean).norm() <= 1e-12 * (1.0 + full.norm()));
    // Per-example variance: tr Sigma = (1/N) sum |g_n - mean|^2.
    let tr: f64 = grads
        .iter()
        .map(|g| (g - &mean).norm_squared())
        .sum::<f64>()
        / n as f64;
    // Every sum below has at most 8^4 = 4096 terms of size up to max |g_n|^2;
    // 4096 * 4 u relative is far below 1e-9.
    let tol = 1e-9 * tr;
    for b in 1..=n {
        // Without replacement: all C(N, B) subsets, equally likely.
        let sets = subsets(n, b);
        let var_without = sets
            .iter()
            .map(|s| {
                let g = s.iter().fold(DVector::zeros(3), |a, &i| a + &grads[i]) / b as f64;
                (g - &mean).norm_squared()
            })
            .sum::<f64>()
            / sets.len() as f64;
        let predicted = tr / b as f64 * (n - b) as f64 / (n - 1) as f64;
        assert!(
            (var_without - predicted).abs() <= tol,
            "B = {b}: {var_without} vs {predicted}"
        );
        if b <= 4 {
            // With replacement: all N^B ordered draws, equally likely.
            let mut total = 0.0;
            let count = n.pow(b as u32);
            for code in 0..count {
                let mut c = code;
                let mut g = DVector::zeros(3);
                for _ in 0..b {
                    g += &grads[c % n];
                    c /= n;
                }
                total += (g / b as f64 - &mean).norm_squared();
            }
            let var_with = total / count as f64;
            assert!(
                (var_with - tr / b as f64).abs() <= tol,
                "B = {b}: {var_with}"
            );
        }
    }
}
