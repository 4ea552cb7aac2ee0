//! Taylor expansions, gradient descent and minibatches: the claims of section 1
//! of the catalogue (chapter "Taylor expansions and SGD").
//!
//! Gradients and Hessians come from the problems' own num-dual evaluation
//! (`Objective::value_gradient_hessian`); every gradient step is taken by the
//! crate's `Sgd`. The only hand-written iterations are closed forms used as
//! references, and they are labelled as such.
//!
//! Rounding model for the tolerances: a sum of `k` floating-point terms, or a dot
//! product of length `k`, is off by at most `k eps` times the sum of the absolute
//! values of its terms (`eps = 2^-52`, Higham, *Accuracy and Stability of
//! Numerical Algorithms*, chapter 3); library functions (`exp`, `ln_1p`, `tanh`)
//! add a few units of `eps` relative each.

use descent::optim::{Optimizer, Sgd, SgdConfig};
use descent::problems::Objective;
use descent::problems::logcosh::LogCosh;
use descent::problems::quadratic::{Quadratic, SplitMix64};
use descent::problems::regression::{
    LeastSquares, LogisticRegression, SoftmaxRegression, softplus,
};
use descent::problems::rosenbrock::Rosenbrock;
use nalgebra::{DMatrix, DVector};
use num_dual::{Dual2, Dual2_64};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

const EPS: f64 = f64::EPSILON;

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        rng_seed: RngSeed::Fixed(0x5eed_0101),
        ..ProptestConfig::default()
    }
}

/// A vector of `n` multiples of `2^-10` in `[-scale, scale]`.
fn grid_vector(n: usize, scale: f64, rng: &mut SplitMix64) -> DVector<f64> {
    DVector::from_fn(n, |_, _| {
        (rng.uniform(-scale, scale) * 1024.0).round() / 1024.0
    })
}

/// A vector of `n` uniform numbers in `[-scale, scale)`.
fn uniform_vector(n: usize, scale: f64, rng: &mut SplitMix64) -> DVector<f64> {
    DVector::from_fn(n, |_, _| rng.uniform(-scale, scale))
}

/// One gradient-descent step `x - lr g` taken by the crate's `Sgd`.
fn sgd_step(x: &DVector<f64>, g: &DVector<f64>, lr: f64) -> DVector<f64> {
    let mut sgd = Sgd::new(SgdConfig {
        lr,
        ..SgdConfig::default()
    })
    .expect("a valid learning rate");
    let mut x1 = x.clone();
    sgd.step(&mut x1, g).expect("a finite step");
    x1
}

// ---- taylor-first-order-remainder ----------------------------------------------

/// The step lengths `h = 2^-4, ..., 2^-13`: ten log-spaced points, all inside
/// `[1e-4, 1e-1]` (`2^-13 = 1.22e-4`, `2^-4 = 0.0625`). With `x` and `p` on the
/// grid of multiples of `2^-10` and of size below 8, `x + h p` needs at most 26
/// significant bits, so it is exact: the only roundings are in the evaluations.
const STEP_EXPONENTS: std::ops::RangeInclusive<i32> = 4..=13;
const H_MAX: f64 = 0.0625;
const H_MIN: f64 = 1.0 / 8192.0;

/// The catalogue's tolerance on a fitted slope.
const SLOPE_TOLERANCE: f64 = 0.1;

/// The Taylor coefficients `a_k = phi^(k)(0) / k!`, `k = 0..=4`, of
/// `phi(h) = f(x + h p)`, exact up to rounding, from nested second-order dual
/// numbers: the argument is `x + (s + t) p` with `s` carried by the outer and `t`
/// by the inner dual number, so the outer second part's inner second part is
/// `phi''''`.
fn taylor_coefficients<F: Objective>(f: &F, x: &DVector<f64>, p: &DVector<f64>) -> [f64; 5] {
    let v: DVector<Dual2<Dual2_64>> = DVector::from_fn(x.len(), |i, _| {
        Dual2::new(
            Dual2::new(x[i], p[i], 0.0),
            Dual2::new(p[i], 0.0, 0.0),
            Dual2::new(0.0, 0.0, 0.0),
        )
    });
    let r = f.eval(&v);
    [
        r.re.re,
        r.re.v1,
        r.re.v2 / 2.0,
        r.v1.v2 / 6.0,
        r.v2.v2 / 24.0,
    ]
}

/// The least-squares slope of `ln r` against `ln h`.
fn fitted_slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let mx = points.iter().map(|(h, _)| h.ln()).sum::<f64>() / n;
    let my = points.iter().map(|(_, r)| r.ln()).sum::<f64>() / n;
    let (num, den) = points.iter().fold((0.0, 0.0), |(a, b), (h, r)| {
        let dx = h.ln() - mx;
        (a + dx * (r.ln() - my), b + dx * dx)
    });
    num / den
}

/// Points `(h, r(h))` of a remainder.
type Curve = Vec<(f64, f64)>;

/// The remainders of the first- and second-order models along `x + h p`, with the
/// gradient and Hessian of the crate's num-dual evaluation:
/// `r1(h) = |f(x + h p) - f(x) - h g.p|` and
/// `r2(h) = |f(x + h p) - f(x) - h g.p - (h^2/2) p'Hp|`.
fn remainders<F: Objective>(f: &F, x: &DVector<f64>, p: &DVector<f64>) -> (Curve, Curve) {
    let (f0, g, hess) = f.value_gradient_hessian(x);
    let gp = g.dot(p);
    let php = p.dot(&(&hess * p));
    STEP_EXPONENTS
        .map(|k| {
            let h = 2f64.powi(-k);
            let first = f.value(&(x + p * h)) - f0 - h * gp;
            let second = first - 0.5 * h * h * php;
            ((h, first.abs()), (h, second.abs()))
        })
        .unzip()
}

/// The rounding level of `r1` and `r2` at `x`: each evaluation of `f` sums
/// `terms` terms, so its error is at most `(terms + n) eps` times the sum of the
/// absolute values of its terms, `abs_scale` (see [`Rounding`]); the point
/// `x + h p` is exact (see [`STEP_EXPONENTS`]). Two evaluations, plus 6 units
/// for the library functions inside each term (`exp`, `ln_1p`: at most one or two
/// ulp each) and the products `h g.p`, `h^2 p'Hp / 2` (of the size of `r1`,
/// relatively small next to `f`).
fn rounding_level<F: Rounding>(f: &F, x: &DVector<f64>) -> f64 {
    2.0 * (f.terms() + x.len() + 6) as f64 * EPS * f.abs_scale(x)
}

/// Whether the window `[H_MIN, H_MAX]` lies in the asymptotic regime of the line:
/// the local slope of `r1 = |a2 h^2 + a3 h^3 + ...|` is
/// `2 + (a3/a2) h + O(h^2)`, and that of `r2 = |a3 h^3 + a4 h^4 + ...|` is
/// `3 + (a4/a3) h + O(h^2)`; a least-squares slope is a weighted mean of local
/// slopes (each pairwise slope is one, by the mean value theorem). With both
/// ratios times `H_MAX` at most 1/20 the local slopes stay within
/// `0.05 / (1 - 0.05 - 0.05^2) < 0.055` of 2 and 3 (up to terms of order `h^2`).
/// Rounding: the fit gives the point `i` (of ten, `ln 2` apart) the weight
/// `w_i = (x_i - mean)/sum_j (x_j - mean)^2`, `|w_i| <= 0.079`; a relative error
/// `e_i` of `r` moves `ln r_i` by at most `1.5 e_i` for `e_i <= 1/4`. With the
/// rounding level at most `r2(H_MIN)/4`, and `e_i` falling by a factor 8 per point
/// (`r2` grows like `h^3`), the slope moves by at most
/// `0.079 * 1.5 * (1/4) * 8/7 < 0.034`; `r1` is larger still (by the first
/// condition, `|a2| H_MIN^2 >= 20 * 512 |a3| H_MIN^3`). Together, within the
/// catalogue's 0.1. A line outside the regime (e.g. `p'Hp` near zero, where `r1`
/// is itself cubic) says nothing about the asymptotic order and is not used.
fn in_regime(a: &[f64; 5], rounding: f64) -> bool {
    a[2] != 0.0
        && a[3] != 0.0
        && (a[3] / a[2]).abs() * H_MAX <= 0.05
        && (a[4] / a[3]).abs() * H_MAX <= 0.05
        && a[3].abs() * H_MIN.powi(3) >= 4.0 * rounding
}

/// Fitted slopes of `r1` and `r2` on up to `draws` random lines of `f` that lie in
/// the asymptotic regime; returns the slopes of the accepted lines.
fn taylor_slopes<F: Rounding>(
    f: &F,
    draws: usize,
    mut line: impl FnMut() -> (DVector<f64>, DVector<f64>),
) -> Vec<(f64, f64)> {
    (0..draws)
        .filter_map(|_| {
            let (x, p) = line();
            let a = taylor_coefficients(f, &x, &p);
            if !in_regime(&a, rounding_level(f, &x)) {
                return None;
            }
            let (r1, r2) = remainders(f, &x, &p);
            Some((fitted_slope(&r1), fitted_slope(&r2)))
        })
        .collect()
}

/// The first-order remainder is `O(h^2)` and the second-order remainder `O(h^3)`:
/// fitted log-log slopes 2 and 3 within 0.1, on Rosenbrock (2-D and 4-D),
/// `LogCosh`, logistic regression and softmax regression, at least ten lines each
/// in the asymptotic regime. The regression losses have small third derivatives
/// (the mean of `sigma''` over examples of both signs partly cancels), so fewer of
/// their random lines qualify, and they get more draws and longer directions.
// claim: taylor-first-order-remainder
#[test]
fn taylor_first_order_remainder() {
    let mut rng = SplitMix64::new(0x7a71);
    let rosen2 = Rosenbrock::default();
    let rosen4 = Rosenbrock::new(1.0, 100.0, 4).expect("valid");
    let logcosh = LogCosh::new(0.5, grid_vector(3, 1.0, &mut rng)).expect("valid");
    let logistic = LogisticRegression::generate(11, 16, 3).expect("valid");
    let softmax = SoftmaxRegression::generate(12, 16, 2, 3).expect("valid");
    let mut rng_line = |n: usize, xs: f64, ps: f64| {
        let x = grid_vector(n, xs, &mut rng);
        let p = grid_vector(n, ps, &mut rng);
        (x, p)
    };
    let results = [
        (
            "rosenbrock-2",
            taylor_slopes(&rosen2, 40, || rng_line(2, 1.5, 1.0)),
        ),
        (
            "rosenbrock-4",
            taylor_slopes(&rosen4, 40, || rng_line(4, 1.5, 1.0)),
        ),
        (
            "logcosh",
            taylor_slopes(&logcosh, 40, || rng_line(3, 1.5, 1.0)),
        ),
        (
            "logistic",
            taylor_slopes(&logistic, 400, || rng_line(3, 2.0, 2.0)),
        ),
        (
            "softmax",
            taylor_slopes(&softmax, 400, || rng_line(6, 2.0, 3.0)),
        ),
    ];
    for (name, slopes) in &results {
        assert!(
            slopes.len() >= 10,
            "{name}: only {} lines in the asymptotic regime",
            slopes.len()
        );
        let worst1 = slopes.iter().map(|s| (s.0 - 2.0).abs()).fold(0.0, f64::max);
        let worst2 = slopes.iter().map(|s| (s.1 - 3.0).abs()).fold(0.0, f64::max);
        eprintln!(
            "{name}: {} lines, worst |slope1 - 2| = {worst1:.4}, worst |slope2 - 3| = {worst2:.4}",
            slopes.len()
        );
        for &(s1, s2) in slopes {
            assert!(
                (s1 - 2.0).abs() <= SLOPE_TOLERANCE,
                "{name}: slope of r1 is {s1}"
            );
            assert!(
                (s2 - 3.0).abs() <= SLOPE_TOLERANCE,
                "{name}: slope of r2 is {s2}"
            );
        }
    }
}

/// On a quadratic the expansion is finite: `r1(h) = (h^2/2) p'Ap` exactly (slope
/// 2 at every scale) and `r2` is zero up to rounding.
// claim: taylor-first-order-remainder
#[test]
fn taylor_remainder_of_a_quadratic() {
    let q = Quadratic::ill_conditioned(4, 100.0, 3).expect("valid");
    let mut rng = SplitMix64::new(0x9a0d);
    for _ in 0..20 {
        let x = uniform_vector(4, 2.0, &mut rng);
        let p = uniform_vector(4, 1.0, &mut rng);
        let rounding = rounding_level(&q, &x);
        let (r1, r2) = remainders(&q, &x, &p);
        let s1 = fitted_slope(&r1);
        assert!((s1 - 2.0).abs() <= SLOPE_TOLERANCE, "slope of r1 is {s1}");
        for (h, r) in r2 {
            assert!(
                r <= rounding,
                "r2({h}) = {r} above the rounding level {rounding}"
            );
        }
    }
}

// ---- gd-descent-lemma ----------------------------------------------------------

/// A random symmetric matrix with entries in `[-2, 2]`, indefinite in general.
fn symmetric(n: usize, rng: &mut SplitMix64) -> DMatrix<f64> {
    let mut a = DMatrix::zeros(n, n);
    for j in 0..n {
        for i in j..n {
            let v = rng.uniform(-2.0, 2.0);
            a[(i, j)] = v;
            a[(j, i)] = v;
        }
    }
    a
}

/// The largest eigenvalue in absolute value, the smoothness constant of a
/// quadratic with Hessian `a`.
fn spectral_norm(a: &DMatrix<f64>) -> f64 {
    a.clone().symmetric_eigenvalues().amax()
}

/// What the rounding bounds need to know of a problem: the number of terms its
/// evaluation sums, and the sum of the absolute values of those terms at `x`
/// (including the effect of rounding inside each term's dot products).
trait Rounding: Objective {
    fn terms(&self) -> usize;
    fn abs_scale(&self, x: &DVector<f64>) -> f64;
}

/// A problem with an `ell`-Lipschitz gradient, and its constant `ell`.
trait Smooth: Rounding {
    fn ell(&self) -> f64;
}

impl Rounding for Quadratic {
    fn terms(&self) -> usize {
        self.dim()
    }
    /// `|x|'|A||x| / 2 + |b|'|x|`.
    fn abs_scale(&self, x: &DVector<f64>) -> f64 {
        let ax = self.a().abs() * x.abs();
        0.5 * x.abs().dot(&ax) + self.b().abs().dot(&x.abs())
    }
}

impl Smooth for Quadratic {
    /// `|A|_2`: `grad f(x) - grad f(y) = A (x - y)`.
    fn ell(&self) -> f64 {
        spectral_norm(self.a())
    }
}

impl Rounding for Rosenbrock {
    fn terms(&self) -> usize {
        self.dim() - 1
    }
    /// Every term is non-negative, so the sum of absolute values is `f(x)`.
    fn abs_scale(&self, x: &DVector<f64>) -> f64 {
        self.value(x)
    }
}

impl Rounding for LogCosh {
    fn terms(&self) -> usize {
        self.dim()
    }
    /// Every term is non-negative, so the sum of absolute values is `f(x)`.
    fn abs_scale(&self, x: &DVector<f64>) -> f64 {
        self.value(x)
    }
}

impl Smooth for LogCosh {
    /// `m + 1`: the Hessian `m I + diag(sech^2 x_i)` lies between `m I` and
    /// `(m + 1) I`.
    fn ell(&self) -> f64 {
        self.m() + 1.0
    }
}

impl Rounding for LogisticRegression {
    fn terms(&self) -> usize {
        self.x().nrows() + self.dim()
    }
    /// `(1/N) sum (softplus(|z_n|) + |z_n| + |x_n| |theta|)`: the two parts of each
    /// term, and the rounding of the dot product `z_n = x_n . theta`, whose effect
    /// on the term is at most `d eps |x_n| |theta|` (the term's slope in `z` is at
    /// most 1).
    fn abs_scale(&self, theta: &DVector<f64>) -> f64 {
        let x = self.x();
        (0..x.nrows())
            .map(|i| {
                let z = (x.row(i) * theta)[0];
                softplus(&z.abs()) + z.abs() + x.row(i).norm() * theta.norm()
            })
            .sum::<f64>()
            / x.nrows() as f64
    }
}

impl Smooth for LogisticRegression {
    /// `lambda_max(X'X) / (4N)`: the Hessian is `X' diag(s_n (1 - s_n)) X / N` with
    /// `s_n (1 - s_n) <= 1/4`.
    fn ell(&self) -> f64 {
        let x = self.x();
        spectral_norm(&(x.transpose() * x)) / (4.0 * x.nrows() as f64)
    }
}

impl Rounding for SoftmaxRegression {
    fn terms(&self) -> usize {
        self.x().nrows() * self.classes() + self.dim()
    }
    /// `(1/N) sum (2 max_k |z_nk| + ln K + 2 |x_n| max_k |theta_k|)`: the
    /// log-sum-exp is at most `max_k |z_nk| + ln K` in absolute value, the chosen
    /// logit at most `max_k |z_nk|`, and the term's slope in each logit is at most
    /// 1 (so rounded dot products move it by at most twice their error).
    fn abs_scale(&self, theta: &DVector<f64>) -> f64 {
        let (x, k) = (self.x(), self.classes());
        let d = x.ncols();
        let theta_max = (0..k)
            .map(|c| theta.rows(c * d, d).norm())
            .fold(0.0, f64::max);
        (0..x.nrows())
            .map(|i| {
                let z_max = (0..k)
                    .map(|c| (x.row(i) * theta.rows(c * d, d))[0].abs())
                    .fold(0.0, f64::max);
                2.0 * z_max + (k as f64).ln() + 2.0 * x.row(i).norm() * theta_max
            })
            .sum::<f64>()
            / x.nrows() as f64
    }
}

/// Checks `f(x - eta g) <= f(x) - (eta/2)|g|^2` for the crate's SGD step, and
/// returns the ratio of the actual decrease to the lemma's `(eta/2)|g|^2` (at
/// least 1 when the lemma holds; 1 when it is tight).
fn check_descent_lemma<F: Smooth>(f: &F, x: &DVector<f64>, u: f64) -> Result<f64, TestCaseError> {
    let ell = f.ell();
    let lr = u / ell;
    let (f0, g0) = f.value_gradient(x);
    let x1 = sgd_step(x, &g0, lr);
    let (f1, g1) = f.value_gradient(&x1);
    let g2 = g0.norm_squared();
    let promised = 0.5 * lr * g2;
    // Tolerance. Each quantity in the inequality is computed with a relative
    // rounding of at most (n + terms + 8) eps of one of these magnitudes: the two
    // evaluations (abs_scale at x0 and x1), |g|^2 and eta|g|^2, and the effect on
    // f(x1) of the rounded step and of the rounded gradient in it,
    // |g1| (|x1| + eta |g0|); the computed `ell` (a symmetric eigenvalue, backward
    // stable) is off by a relative n eps, which changes eta|g|^2 by as much. The
    // factor 16 covers adding these at most six contributions, each counted
    // twice.
    let magnitude = f.abs_scale(x)
        + f.abs_scale(&x1)
        + lr * g2
        + g1.norm() * (x1.norm() + lr * g0.norm())
        + g2 / ell;
    let tol = 16.0 * (x.len() + f.terms() + 8) as f64 * EPS * magnitude;
    prop_assert!(
        f1 <= f0 - promised + tol,
        "f(x1) = {f1:e} > f(x0) - (eta/2)|g|^2 = {:e} (eta = {lr:e}, tol = {tol:e})",
        f0 - promised
    );
    Ok(if promised > 0.0 {
        (f0 - f1) / promised
    } else {
        f64::INFINITY
    })
}

proptest! {
    #![proptest_config(config())]

    /// The descent lemma for steps `eta = u / ell`, `0 < u <= 1`, on quadratics
    /// with indefinite Hessians (from random points and from the top eigenvector,
    /// where it is tight), `LogCosh`, and logistic regression.
    // claim: gd-descent-lemma
    #[test]
    fn gd_descent_lemma(
        seed in any::<u64>(),
        n in 1usize..=6,
        u in prop_oneof![Just(1.0), 1e-3..1.0f64],
        kind in 0usize..4,
    ) {
        let mut rng = SplitMix64::new(seed);
        match kind {
            0 => {
                let q = Quadratic::new(symmetric(n, &mut rng), uniform_vector(n, 2.0, &mut rng))
                    .expect("valid");
                check_descent_lemma(&q, &uniform_vector(n, 3.0, &mut rng), u)?;
            }
            1 => {
                // Start on the eigenvector of the eigenvalue of largest modulus,
                // with b = 0: for a positive eigenvalue and u = 1 the lemma is an
                // equality.
                let a = symmetric(n, &mut rng);
                let eig = a.clone().symmetric_eigen();
                let k = eig.eigenvalues.iamax();
                let x = eig.eigenvectors.column(k) * rng.uniform(0.5, 3.0);
                let q = Quadratic::new(a, DVector::zeros(n)).expect("valid");
                check_descent_lemma(&q, &x, u)?;
            }
            2 => {
                let f = LogCosh::new(rng.uniform(0.0, 2.0), uniform_vector(n, 3.0, &mut rng))
                    .expect("valid");
                check_descent_lemma(&f, &uniform_vector(n, 4.0, &mut rng), u)?;
            }
            _ => {
                let f = LogisticRegression::generate(seed, 32, n).expect("valid");
                check_descent_lemma(&f, &uniform_vector(n, 3.0, &mut rng), u)?;
            }
        }
    }
}

/// The lemma is tight: on `f(x) = (1/2) x'Ax` started on the top eigenvector,
/// with `eta = 1/ell` the decrease equals `(eta/2)|g|^2` (ratio 1, here exactly,
/// since every number is a power of two), and any larger step loses the
/// guarantee.
// claim: gd-descent-lemma
#[test]
fn gd_descent_lemma_is_tight() {
    let a = DMatrix::from_diagonal(&DVector::from_vec(vec![4.0, 1.0, 0.5]));
    let q = Quadratic::new(a, DVector::zeros(3)).expect("valid");
    let x = DVector::from_vec(vec![1.0, 0.0, 0.0]);
    assert_eq!(q.ell(), 4.0);
    let ratio = check_descent_lemma(&q, &x, 1.0).expect("the lemma holds");
    assert_eq!(ratio, 1.0);
    // eta = 1.25/ell: f(x1) = 2 (1 - 1.25)^2 = 0.125, above the promised
    // f(x0) - (eta/2)|g|^2 = 2 - 2.5 = -0.5.
    let (f0, g0) = q.value_gradient(&x);
    let x1 = sgd_step(&x, &g0, 1.25 / 4.0);
    assert_eq!(q.value(&x1), 0.125);
    assert_eq!(f0 - 0.5 * (1.25 / 4.0) * g0.norm_squared(), -0.5);
}

// ---- gd-quadratic-stability ----------------------------------------------------

/// Runs `steps` steps of the crate's SGD (constant rate `lr`) on `f`, from `x0`.
fn gradient_descent<F: Objective>(f: &F, x0: &DVector<f64>, lr: f64, steps: usize) -> DVector<f64> {
    let mut sgd = Sgd::new(SgdConfig {
        lr,
        ..SgdConfig::default()
    })
    .expect("a valid learning rate");
    let mut x = x0.clone();
    for _ in 0..steps {
        let g = f.gradient(&x);
        sgd.step(&mut x, &g).expect("a finite step");
    }
    x
}

const STABILITY_STEPS: usize = 150;

/// Rounding allowance for `STABILITY_STEPS` steps of gradient descent on a
/// quadratic, relative to the largest iterate. Each step computes `Ax` (a dot
/// product of length `n`: error `n eps |A||x|`, at most `n eps sqrt(n) |A| |x|` in
/// norm) and `x - eta g` (one rounding, `eps |x|`), so it adds at most
/// `(n^1.5 eta |A| + 1) eps max|x_t|`; in exact arithmetic an error is then
/// multiplied by `I - eta A`, of norm `rho`, at each later step. Below the
/// threshold (`rho < 1`) the errors add at most `T` times that; above it every
/// error made at step `t` grows by at most `rho^(T-t)` while the iterate grows by
/// exactly that factor along the top eigenvector, so relative to the iterate the
/// allowance is the same. The factor 4 covers the computed eigenvalues (error
/// `n eps |A|`, which moves `rho^T` by a relative `T n eps eta |A|`).
fn stability_allowance(n: usize, lr: f64, a_norm: f64) -> f64 {
    4.0 * STABILITY_STEPS as f64 * ((n as f64).powf(1.5) * lr * a_norm + 1.0) * EPS
}

proptest! {
    #![proptest_config(config())]

    /// Below the threshold, `eta = u 2/lambda_max` with `0 < u < 1`: the iterates
    /// contract at least like `rho^t`, `rho = max_i |1 - eta lambda_i| < 1`, from a
    /// random start. Above it, `1 < u <= 1.5`: from the top eigenvector they grow
    /// exactly like `rho^t` with `rho = eta lambda_max - 1 > 1`.
    // claim: gd-quadratic-stability
    #[test]
    fn gd_quadratic_stability_threshold(
        seed in any::<u64>(),
        n in 2usize..=6,
        log_cond in 0.0..3.0f64,
        below in 0.01..0.99f64,
        above in 1.01..1.5f64,
    ) {
        let q = Quadratic::ill_conditioned(n, 10f64.powf(log_cond), seed).expect("valid");
        let eig = q.a().clone().symmetric_eigen();
        let lambda_max = eig.eigenvalues.max();
        let a_norm = eig.eigenvalues.amax();

        // Below the threshold, from a random start.
        let lr = below * 2.0 / lambda_max;
        let rho = eig.eigenvalues.iter().map(|l| (1.0 - lr * l).abs()).fold(0.0, f64::max);
        prop_assert!(rho < 1.0);
        let mut rng = SplitMix64::new(seed ^ 0x51ab);
        let x0 = uniform_vector(n, 1.0, &mut rng);
        let xt = gradient_descent(&q, &x0, lr, STABILITY_STEPS);
        let bound = (rho.powi(STABILITY_STEPS as i32) + stability_allowance(n, lr, a_norm))
            * x0.norm();
        prop_assert!(xt.norm() <= bound, "|x_T| = {:e} > {bound:e}", xt.norm());

        // Above the threshold, from the top eigenvector.
        let lr = above * 2.0 / lambda_max;
        let rho = lr * lambda_max - 1.0;
        let x0 = eig.eigenvectors.column(eig.eigenvalues.imax()).into_owned();
        let xt = gradient_descent(&q, &x0, lr, STABILITY_STEPS);
        let growth = rho.powi(STABILITY_STEPS as i32) * x0.norm();
        let allowance = stability_allowance(n, lr, a_norm);
        prop_assert!(
            (xt.norm() - growth).abs() <= allowance * growth,
            "|x_T| = {:e}, rho^T |x0| = {growth:e}", xt.norm()
        );
        prop_assert!(growth > 19.0 * x0.norm()); // rho^150 >= 1.02^150 > 19.4
    }
}

/// At the threshold itself, `eta = 2/lambda_max`, gradient descent does not
/// converge: on `A = diag(1, 4, 16)` with `eta = 1/8` the last coordinate is
/// multiplied by `1 - 2 = -1` at every step (exactly: powers of two), so it
/// oscillates between `1` and `-1` forever while the others converge. A step
/// `eta = 0` (allowed by `Sgd`) does not move at all, and `Sgd` refuses negative
/// rates.
// claim: gd-quadratic-stability
#[test]
fn gd_quadratic_stability_boundary() {
    let a = DMatrix::from_diagonal(&DVector::from_vec(vec![1.0, 4.0, 16.0]));
    let q = Quadratic::new(a, DVector::zeros(3)).expect("valid");
    let mut sgd = Sgd::new(SgdConfig {
        lr: 2.0 / 16.0,
        ..SgdConfig::default()
    })
    .expect("valid");
    let mut x = DVector::from_vec(vec![1.0, 1.0, 1.0]);
    for t in 1..=10_000 {
        let g = q.gradient(&x);
        sgd.step(&mut x, &g).expect("finite");
        let sign = if t % 2 == 0 { 1.0 } else { -1.0 };
        assert_eq!(x[2], sign, "step {t}");
        // f >= 16/2 * 1 = 8 forever: no convergence to the minimum 0.
        assert!(q.value(&x) >= 8.0);
    }
    // The other two coordinates contract (factors 7/8 and 1/2).
    assert!(x[0].abs() < 1e-300 && x[1] == 0.0);

    let x0 = DVector::from_vec(vec![1.0, 1.0, 1.0]);
    assert_eq!(gradient_descent(&q, &x0, 0.0, 100), x0);
    assert!(
        Sgd::new(SgdConfig {
            lr: -0.01,
            ..SgdConfig::default()
        })
        .is_err()
    );
}

// ---- minibatch-gradient-unbiased -----------------------------------------------

/// The rows `rows` of `x` as a new matrix.
fn select_rows(x: &DMatrix<f64>, rows: &[usize]) -> DMatrix<f64> {
    DMatrix::from_fn(rows.len(), x.ncols(), |i, j| x[(rows[i], j)])
}

/// A random permutation of `0..n` (Fisher-Yates).
fn permutation(n: usize, rng: &mut SplitMix64) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        p.swap(i, j);
    }
    p
}

/// The three mean-loss models of `src/problems/regression.rs`, on a subset of
/// the examples of one data set.
enum Model {
    Logistic(LogisticRegression),
    Softmax(SoftmaxRegression),
    LeastSquares(LeastSquares),
}

impl Model {
    fn len(&self) -> usize {
        match self {
            Model::Logistic(m) => m.x().nrows(),
            Model::Softmax(m) => m.x().nrows(),
            Model::LeastSquares(m) => m.x().nrows(),
        }
    }

    /// The same model on the examples `rows` only.
    fn subset(&self, rows: &[usize]) -> Model {
        match self {
            Model::Logistic(m) => Model::Logistic(
                LogisticRegression::new(
                    select_rows(m.x(), rows),
                    DVector::from_fn(rows.len(), |i, _| m.y()[rows[i]]),
                )
                .expect("valid subset"),
            ),
            Model::Softmax(m) => Model::Softmax(
                SoftmaxRegression::new(
                    select_rows(m.x(), rows),
                    rows.iter().map(|&r| m.y()[r]).collect(),
                    m.classes(),
                )
                .expect("valid subset"),
            ),
            Model::LeastSquares(m) => Model::LeastSquares(
                LeastSquares::new(
                    select_rows(m.x(), rows),
                    DVector::from_fn(rows.len(), |i, _| m.y()[rows[i]]),
                )
                .expect("valid subset"),
            ),
        }
    }

    fn gradient(&self, theta: &DVector<f64>) -> DVector<f64> {
        match self {
            Model::Logistic(m) => m.gradient(theta),
            Model::Softmax(m) => m.gradient(theta),
            Model::LeastSquares(m) => m.gradient(theta),
        }
    }

    fn dim(&self) -> usize {
        match self {
            Model::Logistic(m) => m.dim(),
            Model::Softmax(m) => m.dim(),
            Model::LeastSquares(m) => m.dim(),
        }
    }
}

/// The mean of the per-example gradients' absolute values, entrywise: the scale
/// of the rounding in any way of summing them.
fn per_example_abs_mean(model: &Model, theta: &DVector<f64>) -> DVector<f64> {
    let n = model.len();
    (0..n)
        .map(|i| model.subset(&[i]).gradient(theta).abs())
        .fold(DVector::zeros(model.dim()), |a, b| a + b)
        / n as f64
}

proptest! {
    #![proptest_config(config())]

    /// For a random partition of the `N = k B` examples into `k` minibatches of
    /// size `B`, the mean of the minibatch gradients equals the full gradient, for
    /// logistic, softmax and least-squares regression.
    // claim: minibatch-gradient-unbiased
    #[test]
    fn minibatch_gradient_unbiased(
        seed in any::<u64>(),
        k in 1usize..=6,
        b in 1usize..=6,
        d in 1usize..=4,
        kind in 0usize..3,
    ) {
        let n = k * b;
        let model = match kind {
            0 => Model::Logistic(LogisticRegression::generate(seed, n, d).expect("valid")),
            1 => Model::Softmax(SoftmaxRegression::generate(seed, n, d, 3).expect("valid")),
            _ => Model::LeastSquares(LeastSquares::generate(seed, n, d, 0.5).expect("valid")),
        };
        let mut rng = SplitMix64::new(seed ^ 0xba7c);
        let theta = uniform_vector(model.dim(), 2.0, &mut rng);
        let order = permutation(n, &mut rng);
        let mean_of_batches = order
            .chunks(b)
            .map(|rows| model.subset(rows).gradient(&theta))
            .fold(DVector::zeros(model.dim()), |acc, g| acc + g)
            / k as f64;
        let full = model.gradient(&theta);
        // Tolerance: both sides sum the same N per-example gradients (each
        // computed with a relative error of a few eps per operation, at most
        // (d + 8) eps with the softmax's three classes and its log-sum-exp) in
        // different orders and scalings; a sum of N terms is off by at most
        // N eps times the sum of their absolute values, and the division by B,
        // k or N adds one rounding each. So each entry differs by at most
        // 2 (N + d + 10) eps times the mean of |per-example gradient|.
        let scale = per_example_abs_mean(&model, &theta);
        for i in 0..model.dim() {
            let tol = 2.0 * (n + d + 10) as f64 * EPS * scale[i];
            prop_assert!(
                (mean_of_batches[i] - full[i]).abs() <= tol,
                "entry {i}: {} vs {} (tol {tol:e})", mean_of_batches[i], full[i]
            );
        }
    }
}

/// A batch drawn uniformly among all `C(N, B)` subsets of size `B` is an unbiased
/// estimate: the average over every subset is the full gradient. With integer
/// data, a parameter on a coarse binary grid and `N = 8`, `B = 2` (28 subsets)
/// the per-example gradients are small dyadic numbers, so every sum is exact and
/// the only rounding is the final division by 28 and the one by 8: the two sides
/// agree to within one rounding of each, `2 eps |g|` entrywise.
// claim: minibatch-gradient-unbiased
#[test]
fn minibatch_gradient_unbiased_over_all_subsets() {
    let mut rng = SplitMix64::new(0xd1ce);
    let x = DMatrix::from_fn(8, 3, |_, _| (rng.next_u64() % 7) as f64 - 3.0);
    let y = DVector::from_fn(8, |_, _| (rng.next_u64() % 9) as f64 - 4.0);
    let ls = LeastSquares::new(x, y).expect("valid");
    let theta = DVector::from_vec(vec![0.5, -1.25, 2.0]);
    let full = ls.gradient(&theta);
    let model = Model::LeastSquares(ls);
    let mut sum = DVector::zeros(3);
    let mut count = 0;
    for i in 0..8 {
        for j in i + 1..8 {
            sum += model.subset(&[i, j]).gradient(&theta);
            count += 1;
        }
    }
    assert_eq!(count, 28);
    let mean = sum / count as f64;
    for i in 0..3 {
        assert!(
            (mean[i] - full[i]).abs() <= 2.0 * EPS * full[i].abs(),
            "entry {i}: {} vs {}",
            mean[i],
            full[i]
        );
    }
    // Over the partition {0,1}, {2,3}, {4,5}, {6,7} every step is exact: the mean
    // of the four minibatch gradients is the full gradient bit for bit.
    let parts: DVector<f64> = [[0, 1], [2, 3], [4, 5], [6, 7]]
        .iter()
        .map(|rows| model.subset(rows).gradient(&theta))
        .fold(DVector::zeros(3), |a, g| a + g)
        / 4.0;
    assert_eq!(parts, full);
}

/// With batches of unequal sizes the plain mean of the minibatch gradients is not
/// the full gradient; the mean weighted by `|B_j| / N` is. Four examples of
/// least squares in one dimension, split as {0} and {1, 2, 3}: per-example
/// gradients 1, 3, 3, 3 (exact), full gradient 10/4 = 2.5, batch gradients 1 and
/// 3, plain mean 2, weighted mean (1/4) 1 + (3/4) 3 = 2.5.
// claim: minibatch-gradient-unbiased
#[test]
fn minibatch_unequal_batches_need_weights() {
    // Loss (1/2N) sum (theta x_n - y_n)^2, gradient (1/N) sum x_n (theta x_n - y_n).
    let x = DMatrix::from_column_slice(4, 1, &[1.0, 1.0, 1.0, 1.0]);
    let y = DVector::from_vec(vec![-1.0, -3.0, -3.0, -3.0]);
    let model = Model::LeastSquares(LeastSquares::new(x, y).expect("valid"));
    let theta = DVector::from_vec(vec![0.0]);
    let full = model.gradient(&theta);
    let g_small = model.subset(&[0]).gradient(&theta);
    let g_large = model.subset(&[1, 2, 3]).gradient(&theta);
    assert_eq!(full[0], 2.5);
    assert_eq!((g_small[0], g_large[0]), (1.0, 3.0));
    assert_eq!(0.5 * (g_small[0] + g_large[0]), 2.0);
    assert_eq!(0.25 * g_small[0] + 0.75 * g_large[0], 2.5);
}

// ---- seed-sgd-update -----------------------------------------------------------

/// The seed's update, taken literally, on `L(theta) = theta^2/2` at `theta = 1`
/// with `eta = 1/4` (every number below is exact in binary):
/// - its direction `p = grad L = 1` and step `theta + eta p = 5/4` raise the loss
///   from `1/2` to `25/32`;
/// - its loss update `L + eta g = 1/2 + 1/4 = 3/4` is neither the loss after its
///   own step (`25/32`) nor after SGD's step `theta - eta g = 3/4` (`9/32`);
/// - in two dimensions `L + eta g` adds a vector to a number.
// claim: seed-sgd-update
#[test]
fn seed_sgd_update_counterexample() {
    let l = Quadratic::new(DMatrix::from_element(1, 1, 1.0), DVector::zeros(1)).expect("valid");
    let theta = DVector::from_vec(vec![1.0]);
    let eta = 0.25;
    let (l0, g) = l.value_gradient(&theta);
    assert_eq!((l0, g[0]), (0.5, 1.0));

    let seed_step = &theta + &g * eta;
    let l_seed = l.value(&seed_step);
    assert_eq!(l_seed, 25.0 / 32.0);
    assert!(l_seed > l0, "the seed's direction p = grad L ascends");

    let claimed = l0 + eta * g[0];
    assert_eq!(claimed, 0.75);
    let sgd = sgd_step(&theta, &g, eta);
    assert_eq!(sgd[0], 0.75);
    assert_eq!(l.value(&sgd), 9.0 / 32.0);
    assert_ne!(claimed, l_seed);
    assert_ne!(claimed, l.value(&sgd));
}

/// Checks the corrected statement at `x` for `eta = u / ell`; see
/// `seed_sgd_update_corrected`.
fn check_first_order_change<F: Smooth>(
    f: &F,
    x: &DVector<f64>,
    u: f64,
) -> Result<(), TestCaseError> {
    let ell = f.ell();
    let eta = u / ell;
    let (l0, g) = f.value_gradient(x);
    let x1 = sgd_step(x, &g, eta);
    // The crate's step is theta - eta g with one rounding per entry (a fused
    // multiply-add).
    for i in 0..x.len() {
        prop_assert_eq!(x1[i], (-eta).mul_add(g[i], x[i]));
    }
    let (l1, g1) = f.value_gradient(&x1);
    let x_seed = x + &g * eta;
    let (l_seed, g_seed) = f.value_gradient(&x_seed);
    let g2 = g.norm_squared();
    // Rounding, as in the descent-lemma test: the evaluations and the effect of the
    // rounded steps, (terms + n + 8) eps times these magnitudes, with a factor 16.
    let tol = 16.0
        * (f.terms() + x.len() + 8) as f64
        * EPS
        * (f.abs_scale(x)
            + f.abs_scale(&x1)
            + f.abs_scale(&x_seed)
            + eta * g2
            + (g1.norm() + g_seed.norm()) * (x1.norm() + x_seed.norm()));
    let bound = 0.5 * ell * eta * eta * g2;
    let change = l1 - l0;
    prop_assert!(
        (change + eta * g2).abs() <= bound + tol,
        "L1 - L0 = {change:e}, -eta|g|^2 = {:e}, bound {bound:e}",
        -eta * g2
    );
    // The seed's direction p = +g ascends: by the same theorem
    // L(x + eta g) - L(x) >= eta |g|^2 (1 - eta ell / 2) >= eta |g|^2 / 2.
    prop_assert!(
        l_seed - l0 >= 0.5 * eta * g2 - tol,
        "the seed's step changed L by {:e}",
        l_seed - l0
    );
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// The corrected statement: the crate's SGD step is `theta - eta g`, and the
    /// first-order change of the loss is `-eta |g|^2`: by Taylor's theorem with an
    /// `ell`-Lipschitz gradient, `|L(theta - eta g) - L(theta) + eta|g|^2| <=
    /// (ell/2) eta^2 |g|^2`, while the seed's step `theta + eta g` raises the
    /// loss by at least `eta |g|^2 / 2`. Checked for `LogCosh` (`ell = m + 1`) and
    /// logistic regression, for `0 < eta <= 1/ell`.
    // claim: seed-sgd-update
    #[test]
    fn seed_sgd_update_corrected(
        seed in any::<u64>(),
        n in 1usize..=5,
        u in 1e-4..=1.0f64,
        logistic in any::<bool>(),
    ) {
        let mut rng = SplitMix64::new(seed);
        if logistic {
            let f = LogisticRegression::generate(seed, 32, n).expect("valid");
            check_first_order_change(&f, &uniform_vector(n, 3.0, &mut rng), u)?;
        } else {
            let f = LogCosh::new(rng.uniform(0.0, 2.0), uniform_vector(n, 3.0, &mut rng))
                .expect("valid");
            check_first_order_change(&f, &uniform_vector(n, 4.0, &mut rng), u)?;
        }
    }
}
