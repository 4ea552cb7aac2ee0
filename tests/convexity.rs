//! Rates of gradient descent on convex, strongly convex and non-convex smooth
//! functions, and its escape from a strict saddle: the claims of the chapter
//! "Convexity, smoothness and the descent lemma" (`book/src/convexity.md`).
//!
//! Every gradient step is taken by the crate's `Sgd` (no momentum, no decay) on
//! gradients from the problems' own num-dual evaluation.
//!
//! Rounding model. One step rounds the gradient (each entry a sum of at most `d`
//! products: relative error `d u` of the sum of absolute values) and the update
//! (one fused multiply-add: `u` relative). On a convex `ell`-smooth function,
//! the exact gradient step with `eta <= 2/ell` is non-expansive, so the rounding
//! errors of the steps add up without growing: after `t` steps the computed
//! iterate is within `delta_t = t (d + 2) u R` of the exact one, where `R`
//! bounds the size of the iterates and of `eta` times the gradients. A value
//! `L(theta)` moves by at most `|grad L| delta + ell delta^2 / 2` under such a
//! perturbation, and its own evaluation adds `k u` times the sum of the absolute
//! values of its `k` terms.

use descent::optim::{Optimizer, Sgd, SgdConfig};
use descent::problems::Objective;
use descent::problems::logcosh::LogCosh;
use descent::problems::quadratic::{Quadratic, SplitMix64};
use descent::problems::saddle::Saddle;
use nalgebra::{DMatrix, DVector};

const U: f64 = f64::EPSILON / 2.0;

fn sgd(lr: f64) -> Sgd {
    Sgd::new(SgdConfig {
        lr,
        ..SgdConfig::default()
    })
    .expect("a valid learning rate")
}

/// The iterates `theta_0 .. theta_steps` of gradient descent with rate `eta`.
fn gd(f: &impl Objective, theta0: &DVector<f64>, eta: f64, steps: usize) -> Vec<DVector<f64>> {
    let mut opt = sgd(eta);
    let mut theta = theta0.clone();
    let mut path = vec![theta.clone()];
    for _ in 0..steps {
        let g = f.gradient(&theta);
        opt.step(&mut theta, &g).expect("a finite step");
        path.push(theta.clone());
    }
    path
}

/// An orthogonal matrix of size `n` from a seed (QR of a Gaussian matrix).
fn orthogonal(n: usize, rng: &mut SplitMix64) -> DMatrix<f64> {
    DMatrix::from_fn(n, n, |_, _| rng.normal()).qr().q()
}

/// `Q diag(lambda) Q'`, symmetrized exactly.
fn with_spectrum(q: &DMatrix<f64>, lambda: &DVector<f64>) -> DMatrix<f64> {
    let a = q * DMatrix::from_diagonal(lambda) * q.transpose();
    DMatrix::from_fn(a.nrows(), a.ncols(), |i, j| 0.5 * (a[(i, j)] + a[(j, i)]))
}

/// The minimizer of the `LogCosh` function with `m > 0`: per coordinate the root
/// of `m (x - c) + tanh x = 0`, by bisection to the last bit (the left side is
/// increasing in `x`, negative at `c - 1/m` and positive at `c + 1/m`).
fn logcosh_minimizer(m: f64, c: &DVector<f64>) -> DVector<f64> {
    c.map(|ci| {
        let (mut lo, mut hi) = (ci - 1.0 / m, ci + 1.0 / m);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if m * (mid - ci) + mid.tanh() > 0.0 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        0.5 * (lo + hi)
    })
}

// ---- gd-convex-sublinear-rate ----------------------------------------------

// claim: gd-convex-sublinear-rate
#[test]
fn gd_convex_sublinear_rate() {
    let mut rng = SplitMix64::new(0xc0de_0001);
    let steps = 300;
    for case in 0..60 {
        let d = 2 + (rng.next_u64() % 5) as usize;
        let s = rng.uniform(0.05, 1.0);
        let theta0 = DVector::from_fn(d, |_, _| rng.uniform(-3.0, 3.0));
        if case % 2 == 0 {
            // A convex quadratic with some zero and some tiny eigenvalues: not
            // strongly convex. Minimizers: the null space; the nearest one to
            // theta_0 is its projection on that null space, and L* = 0.
            let q = orthogonal(d, &mut rng);
            let lambda = DVector::from_fn(d, |i, _| match i % 3 {
                0 => 0.0,
                1 => 10f64.powf(rng.uniform(-4.0, 0.0)),
                _ => rng.uniform(0.5, 4.0),
            });
            let a = with_spectrum(&q, &lambda);
            let f = Quadratic::new(a.clone(), DVector::zeros(d)).unwrap();
            let ell = a.clone().symmetric_eigenvalues().abs().max();
            let eta = s / ell;
            // theta* = the part of theta_0 along the zero eigenvectors.
            let mut star = DVector::zeros(d);
            for i in (0..d).filter(|i| i % 3 == 0) {
                let qi = q.column(i);
                star += qi * qi.dot(&theta0);
            }
            let r2 = (&theta0 - &star).norm_squared();
            let big = theta0.norm() + 1.0;
            for (t, theta) in gd(&f, &theta0, eta, steps).iter().enumerate().skip(1) {
                let gap = f.value(theta);
                let bound = r2 / (2.0 * eta * t as f64);
                // Rounding (module docs): delta_t = t (d + 2) u R with R = |theta_0| + 1
                // (GD is non-expansive here), and L's evaluation adds d^2 u |A| |theta|^2.
                let delta = t as f64 * (d + 2) as f64 * U * big;
                let tol = ell * big * delta + 2.0 * (d * d) as f64 * U * ell * big * big;
                assert!(gap <= bound + tol, "case {case}, t = {t}: {gap} > {bound}");
            }
        } else {
            // sum_i log cosh theta_i (LogCosh with m = 0): convex, 1-smooth, not
            // strongly convex; minimizer 0, L* = 0.
            let f = LogCosh::new(0.0, DVector::zeros(d)).unwrap();
            let eta = s;
            let r2 = theta0.norm_squared();
            let big = theta0.norm() + 1.0;
            for (t, theta) in gd(&f, &theta0, eta, steps).iter().enumerate().skip(1) {
                let gap = f.value(theta);
                let bound = r2 / (2.0 * eta * t as f64);
                // log cosh is 1-Lipschitz: a perturbation delta moves L by at most
                // sqrt(d) delta; each term is evaluated with a few u relative (4 u
                // for |t| + ln_1p(exp) - ln 2, absolute on terms of size |theta_i| + 1).
                let delta = t as f64 * (d + 2) as f64 * U * big;
                let tol = (d as f64).sqrt() * delta + 8.0 * d as f64 * U * big;
                assert!(gap <= bound + tol, "case {case}, t = {t}: {gap} > {bound}");
            }
        }
    }
}

/// The worst quadratic for the bound at horizon T: eigenvalue ell/(2T + 1) with
/// eta = 1/ell. The gap is then T lambda (1 - lambda)^{2T} times the bound, which
/// tends to 1/(2e) = 0.184 and is 0.1795 at T = 10: the same fraction of the
/// bound at every horizon, so the order 1/T cannot be improved to a faster power
/// of T.
// claim: gd-convex-sublinear-rate
#[test]
fn gd_convex_sublinear_rate_order_is_attained() {
    for horizon in [10usize, 100, 1000, 10000] {
        let lambda = 1.0 / (2 * horizon + 1) as f64;
        let a = DMatrix::from_diagonal(&DVector::from_vec(vec![1.0, lambda]));
        let f = Quadratic::new(a, DVector::zeros(2)).unwrap();
        let theta0 = DVector::from_vec(vec![0.0, 1.0]);
        let path = gd(&f, &theta0, 1.0, horizon);
        let gap = f.value(&path[horizon]);
        let bound = 1.0 / (2.0 * horizon as f64);
        let ratio = gap / bound;
        // In closed form: the gap is lambda (1 - lambda)^{2T} / 2.
        let exact = horizon as f64 * lambda * (1.0 - lambda).powi(2 * horizon as i32);
        // T steps each round once (u relative per step, on a factor 1 - lambda).
        assert!((ratio - exact).abs() <= 4.0 * horizon as f64 * U * exact + 1e-15);
        assert!(
            (0.17..=0.19).contains(&ratio),
            "T = {horizon}: ratio {ratio}"
        );
    }
}

// ---- gd-strongly-convex-linear-rate ----------------------------------------

type ValueFn = Box<dyn Fn(&DVector<f64>) -> f64>;
type GradFn = Box<dyn Fn(&DVector<f64>) -> DVector<f64>>;

// claim: gd-strongly-convex-linear-rate
#[test]
fn gd_strongly_convex_linear_rate() {
    let mut rng = SplitMix64::new(0xc0de_0002);
    let steps = 200;
    for case in 0..60 {
        let d = 1 + (rng.next_u64() % 6) as usize;
        let theta0 = DVector::from_fn(d, |_, _| rng.uniform(-4.0, 4.0));
        // Either a quadratic with spectrum in [mu, ell] or LogCosh (mu = m,
        // ell = m + 1), with its minimizer and minimum.
        let (mu, ell, star, value, grad): (f64, f64, DVector<f64>, ValueFn, GradFn) =
            if case % 2 == 0 {
                let mu = rng.uniform(0.01, 1.0);
                let ell = mu * rng.uniform(1.0, 100.0);
                let q = orthogonal(d, &mut rng);
                let mut lambda = DVector::from_fn(d, |_, _| rng.uniform(mu, ell));
                lambda[0] = mu;
                if d > 1 {
                    lambda[d - 1] = ell;
                }
                let f = Quadratic::new(with_spectrum(&q, &lambda), DVector::zeros(d)).unwrap();
                let f2 = f.clone();
                (
                    mu,
                    ell,
                    DVector::zeros(d),
                    Box::new(move |x| f.value(x)),
                    Box::new(move |x| f2.gradient(x)),
                )
            } else {
                let m = rng.uniform(0.05, 2.0);
                let c = DVector::from_fn(d, |_, _| rng.uniform(-3.0, 3.0));
                let f = LogCosh::new(m, c.clone()).unwrap();
                let f2 = f.clone();
                (
                    m,
                    m + 1.0,
                    logcosh_minimizer(m, &c),
                    Box::new(move |x| f.value(x)),
                    Box::new(move |x| f2.gradient(x)),
                )
            };
        let eta = rng.uniform(0.05, 1.0) / ell;
        let rho = (1.0 - eta * mu).abs().max((1.0 - eta * ell).abs());
        let l_star = value(&star);
        let gap0 = value(&theta0) - l_star;
        let r0 = (&theta0 - &star).norm();
        let mut opt = sgd(eta);
        let mut theta = theta0.clone();
        let big = theta0.norm() + star.norm() + 1.0;
        for t in 1..=steps {
            let g = grad(&theta);
            opt.step(&mut theta, &g).unwrap();
            // The exact map contracts by rho, so rounding errors of size
            // (d + 2) u big per step add up to at most t (d + 2) u big.
            let delta = t as f64 * (d + 2) as f64 * U * big;
            let dist = (&theta - &star).norm();
            assert!(dist <= rho.powi(t) * r0 + delta, "case {case}, t = {t}");
            // Function values (eta <= 1/ell here): (1 - eta mu)^t times the first
            // gap (the descent lemma with the PL inequality). The evaluation of L
            // and L* cancels: 8 d u times the size of the terms.
            let gap = value(&theta) - l_star;
            let terms = ell * big * big + d as f64 * (big + 1.0);
            let tol = ell * big * delta + 8.0 * d as f64 * U * terms;
            assert!(
                gap <= (1.0 - eta * mu).powi(t) * gap0 + tol,
                "case {case}, t = {t}"
            );
        }
    }
}

/// Started on the eigenvector of the smallest eigenvalue with eta = 1/ell, the
/// distance shrinks by exactly 1 - mu/ell per step: the rate is tight.
// claim: gd-strongly-convex-linear-rate
#[test]
fn gd_strongly_convex_rate_is_tight() {
    let mut rng = SplitMix64::new(7);
    for kappa in [2.0f64, 10.0, 100.0, 1000.0] {
        let q = orthogonal(3, &mut rng);
        let lambda = DVector::from_vec(vec![1.0, kappa.sqrt(), kappa]);
        let f = Quadratic::new(with_spectrum(&q, &lambda), DVector::zeros(3)).unwrap();
        let theta0 = q.column(0).into_owned();
        let path = gd(&f, &theta0, 1.0 / kappa, 100);
        for (t, theta) in path.iter().enumerate() {
            let predicted = (1.0 - 1.0 / kappa).powi(t as i32);
            // Each step rounds the gradient (3 u |A| |theta|) and the update (u),
            // and the other eigen-directions (started at rounding level 3u)
            // contract: 8 u kappa relative per step covers both.
            let tol = 8.0 * (t as f64 + 1.0) * U * kappa * predicted;
            assert!(
                (theta.norm() - predicted).abs() <= tol,
                "kappa {kappa}, t = {t}"
            );
        }
    }
}

// ---- gd-nonconvex-stationarity ---------------------------------------------

// claim: gd-nonconvex-stationarity
#[test]
fn gd_nonconvex_stationarity() {
    let mut rng = SplitMix64::new(0xc0de_0003);
    for case in 0..100 {
        let f = Saddle::new(rng.uniform(0.1, 5.0), rng.uniform(1.1, 6.0)).unwrap();
        let ell = f.smoothness();
        let eta = rng.uniform(0.05, 1.0) / ell;
        let theta0 = DVector::from_vec(vec![rng.uniform(-5.0, 5.0), rng.uniform(-1e-3, 1e-3)]);
        let l_inf = f.min_value();
        let gap0 = f.value(&theta0) - l_inf;
        let mut best = f64::INFINITY;
        for (t, theta) in gd(&f, &theta0, eta, 400).iter().enumerate() {
            if t > 0 {
                let bound = 2.0 * gap0 / (eta * t as f64);
                // The gradient norm is computed with a few u relative; L and L_inf
                // with 8 u times their terms' size (|theta|^2 (a + 1) + s |y|).
                let size = (theta0.norm_squared() + 1.0) * (f.a() + 1.0) + f.s() * 10.0;
                let tol = 2.0 * 8.0 * U * size / (eta * t as f64) + 8.0 * U * best;
                assert!(
                    best <= bound + tol,
                    "case {case}, T = {t}: {best} > {bound}"
                );
            }
            best = best.min(f.gradient(theta).norm_squared());
        }
    }
}

// ---- strict-saddle-escape-time ---------------------------------------------

/// The number of steps until `|y_t| >= r`, from `(x0, y0)`; `None` if not within
/// `max` steps. Also checks that `y` keeps its sign on the way.
fn escape_steps(f: &Saddle, eta: f64, x0: f64, y0: f64, r: f64, max: usize) -> Option<usize> {
    let mut opt = sgd(eta);
    let mut theta = DVector::from_vec(vec![x0, y0]);
    for n in 1..=max {
        let g = f.gradient(&theta);
        opt.step(&mut theta, &g).unwrap();
        assert_eq!(theta[1].signum(), y0.signum(), "y changed sign");
        if theta[1].abs() >= r {
            return Some(n);
        }
    }
    None
}

// claim: strict-saddle-escape-time
#[test]
fn strict_saddle_escape_time() {
    let mut rng = SplitMix64::new(0xc0de_0004);
    for case in 0..40 {
        let s = rng.uniform(1.2, 5.0);
        let f = Saddle::new(rng.uniform(0.1, 3.0), s).unwrap();
        let eta = rng.uniform(0.1, 1.0) / f.smoothness();
        // A radius r < y* with s tanh(r)/r > 1: half of y*.
        let r = 0.5 * f.minimizer_y();
        let q_max = 1.0 + eta * (s - 1.0);
        let q_min = 1.0 + eta * (s * r.tanh() / r - 1.0);
        assert!(q_min > 1.0);
        for k in 1..=15 {
            let y0 = 10f64.powi(-k) * r * if k % 2 == 0 { 1.0 } else { -1.0 };
            let n = escape_steps(&f, eta, rng.uniform(-2.0, 2.0), y0, r, 100_000).expect("escapes");
            let ratio = (r / y0.abs()).ln();
            // The bounds are strict inequalities between real numbers; the
            // computed logarithms and factors are accurate to a few u, which
            // matters only when a bound is within 1e-9 of an integer.
            let lower = ratio / q_max.ln();
            let upper = ratio / q_min.ln() + 1.0;
            assert!(
                n as f64 >= lower - 1e-9,
                "case {case}, k = {k}: {n} < {lower}"
            );
            assert!(
                n as f64 <= upper + 1e-9,
                "case {case}, k = {k}: {n} > {upper}"
            );
        }
    }
}

/// Started on the saddle's stable manifold (y = 0), gradient descent converges
/// to the saddle, not to a minimum: y stays exactly 0 (tanh 0 = 0) and x
/// shrinks by 1 - eta a per step.
// claim: strict-saddle-escape-time
#[test]
fn gd_on_the_stable_manifold_converges_to_the_saddle() {
    let f = Saddle::new(1.0, 2.0).unwrap();
    let path = gd(&f, &DVector::from_vec(vec![3.0, 0.0]), 0.5, 2000);
    for theta in &path {
        assert_eq!(theta[1], 0.0);
    }
    let last = path.last().unwrap();
    // 0.5^2000 underflows to 0 exactly: x reaches the saddle.
    assert_eq!(last[0], 0.0);
    assert_eq!(f.value(last), 0.0);
    assert!(f.min_value() < -0.6);
}

// ---- saddle-noise-escape ----------------------------------------------------

/// At the strict saddle of L = (x^2 - y^2)/2 gradient descent never moves (the
/// gradient is exactly 0). With Gaussian gradient noise of standard deviation
/// sigma, SGD's y-coordinate is exactly Gaussian, y_t ~ N(0, s_t^2) with
/// s_t^2 = eta^2 sigma^2 (q^{2t} - 1)/(q^2 - 1), q = 1 + eta: it leaves the
/// saddle geometrically, and P(|y_t| < r) <= sqrt(2/pi) r / s_t.
// claim: saddle-noise-escape
#[test]
fn saddle_noise_escape() {
    let a = DMatrix::from_diagonal(&DVector::from_vec(vec![1.0, -1.0]));
    let f = Quadratic::new(a, DVector::zeros(2)).unwrap();
    let (eta, sigma, r) = (0.5, 1e-6, 0.01);
    let q: f64 = 1.0 + eta;
    // Without noise: the saddle is a fixed point, bit for bit.
    let path = gd(&f, &DVector::zeros(2), eta, 1000);
    assert!(path.iter().all(|theta| theta.iter().all(|&c| c == 0.0)));
    let runs = 4000;
    let mut rng = SplitMix64::new(0xc0de_0005);
    for steps in [10usize, 20, 30, 40] {
        let s2 = eta * eta * sigma * sigma * (q.powi(2 * steps as i32) - 1.0) / (q * q - 1.0);
        let s = s2.sqrt();
        let (mut sum_sq, mut inside) = (0.0, 0usize);
        for _ in 0..runs {
            let mut opt = sgd(eta);
            let mut theta = DVector::zeros(2);
            for _ in 0..steps {
                let g = f.gradient(&theta).map(|gi| gi + sigma * rng.normal());
                opt.step(&mut theta, &g).unwrap();
            }
            sum_sq += theta[1] * theta[1];
            inside += usize::from(theta[1].abs() < r);
        }
        let n = runs as f64;
        // E y^2 = s^2 with Var(y^2) = 2 s^4 for a centred Gaussian: 4.5 standard
        // errors of the mean (the rounding of the runs is far below: u per step).
        let mean_sq = sum_sq / n;
        assert!(
            (mean_sq - s2).abs() <= 4.5 * s2 * (2.0 / n).sqrt(),
            "T = {steps}: {mean_sq} vs {s2}"
        );
        // The fraction still inside |y| < r, against the exact Gaussian
        // probability (a binomial proportion: standard error sqrt(p(1-p)/n)).
        let p = erf(r / (s * std::f64::consts::SQRT_2));
        let frac = inside as f64 / n;
        let se = (p * (1.0 - p) / n).sqrt().max(1.0 / n);
        assert!((frac - p).abs() <= 4.5 * se, "T = {steps}: {frac} vs {p}");
        assert!(p <= (2.0 / std::f64::consts::PI).sqrt() * r / s);
    }
}

/// The error function, by its Taylor series for |x| <= 3 and by the bound
/// erf = 1 beyond (the remainder is below 2e-5 there, and the test uses it only
/// where the probability is compared at the scale of a standard error).
fn erf(x: f64) -> f64 {
    if x.abs() > 3.0 {
        return x.signum();
    }
    // erf x = (2/sqrt pi) sum_k (-1)^k x^{2k+1} / (k! (2k+1)); at |x| <= 3 the
    // terms fall below 1e-17 of the sum by k = 60.
    let mut term = x;
    let mut sum = x;
    for k in 1..80 {
        term *= -x * x / k as f64;
        sum += term / (2 * k + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}
