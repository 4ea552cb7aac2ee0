//! The quasi-Newton claims of the L-BFGS chapter, on the crate's two-loop
//! recursion (`descent::second_order::lbfgs::two_loop`): the secant condition
//! for the newest pair, and finite termination on quadratics under exact line
//! searches.

use std::collections::VecDeque;

use descent::problems::quadratic::SplitMix64;
use descent::second_order::lbfgs::two_loop;
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

const EPS: f64 = f64::EPSILON;

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        rng_seed: RngSeed::Fixed(0x5eed_bf65),
        ..ProptestConfig::default()
    }
}

/// A random symmetric positive definite matrix with eigenvalues log-uniform in
/// `[1, 10^log_cond]`, both ends attained (for `n >= 2`).
fn spd(rng: &mut SplitMix64, n: usize, log_cond: f64) -> DMatrix<f64> {
    let q = DMatrix::from_fn(n, n, |_, _| rng.uniform(-1.0, 1.0))
        .qr()
        .q();
    let lambda = DVector::from_fn(n, |i, _| {
        let s = match i {
            0 => 0.0,
            1 => 1.0,
            _ => rng.uniform(0.0, 1.0),
        };
        10f64.powf(log_cond * s)
    });
    let a = &q * DMatrix::from_diagonal(&lambda) * q.transpose();
    (&a + a.transpose()) * 0.5
}

fn vector(rng: &mut SplitMix64, n: usize) -> DVector<f64> {
    DVector::from_fn(n, |_, _| rng.uniform(-1.0, 1.0))
}

/// `H v` for the inverse-Hessian approximation of the pairs: minus the two-loop
/// direction of `v`.
fn apply_h(
    v: &DVector<f64>,
    s: &VecDeque<DVector<f64>>,
    y: &VecDeque<DVector<f64>>,
    rho: &VecDeque<f64>,
    gamma: f64,
) -> DVector<f64> {
    -two_loop(v, s, y, rho, gamma)
}

proptest! {
    #![proptest_config(config())]

    /// lbfgs-secant-condition: after the pairs `(s_1, y_1) .. (s_k, y_k)` (each
    /// with `y_i . s_i > 0`) and any `gamma > 0`, the two-loop recursion's
    /// inverse-Hessian approximation satisfies `H y_k = s_k` for the newest pair.
    ///
    /// Tolerance. The first loop computes `alpha_k = rho_k s_k . (-y_k)`, which is
    /// -1 up to `(n + 2) u c_k` with `c_k = |s_k| |y_k| / (s_k . y_k)` (a dot
    /// product of `n` terms, a product and the rounded `rho_k`), and then
    /// `q = -y_k - alpha_k y_k`, which is zero up to `(n + 4) u c_k |y_k|`. The
    /// older pairs and `gamma` map that residue through `H_{k-1}` (norm at most
    /// its Frobenius norm `|H_{k-1}|_F`, measured by applying it to the unit
    /// vectors), and the last update adds `(alpha_k - beta_k) s_k` with
    /// `beta_k = rho_k y_k . r`, again within `(n + 4) u c_k` of its value times
    /// `|s_k|`. So `|H y_k - s_k| <= (n + 4) u c_k (|s_k| + |H_{k-1}|_F |y_k|)`
    /// to first order; the test allows twice that, `(n + 4) EPS c_k (...)`.
    // claim: lbfgs-secant-condition
    #[test]
    fn lbfgs_secant_condition_for_the_newest_pair(
        seed in any::<u64>(),
        n in 1usize..8,
        k in 1usize..8,
        log_gamma in -3.0f64..3.0,
    ) {
        let mut rng = SplitMix64::new(seed);
        let (mut s, mut y, mut rho) = (VecDeque::new(), VecDeque::new(), VecDeque::new());
        for _ in 0..k {
            let b = spd(&mut rng, n, 1.0);
            let si = vector(&mut rng, n);
            prop_assume!(si.norm() > 1e-3);
            let yi = &b * &si;
            rho.push_back(1.0 / yi.dot(&si));
            s.push_back(si);
            y.push_back(yi);
        }
        let gamma = 10f64.powf(log_gamma);
        let (sk, yk) = (s[k - 1].clone(), y[k - 1].clone());
        let hy = apply_h(&yk, &s, &y, &rho, gamma);
        // |H_{k-1}|_F from the first k - 1 pairs.
        let (s0, y0, r0): (VecDeque<_>, VecDeque<_>, VecDeque<_>) = (
            s.iter().take(k - 1).cloned().collect(),
            y.iter().take(k - 1).cloned().collect(),
            rho.iter().take(k - 1).copied().collect(),
        );
        let h_frob = (0..n)
            .map(|j| apply_h(&DVector::from_fn(n, |i, _| f64::from(i == j)), &s0, &y0, &r0, gamma).norm_squared())
            .sum::<f64>()
            .sqrt();
        let c = sk.norm() * yk.norm() * rho[k - 1];
        let tol = (n as f64 + 4.0) * EPS * c * (sk.norm() + h_frob * yk.norm());
        prop_assert!((&hy - &sk).norm() <= tol, "|Hy - s| = {:e} > {:e}", (&hy - &sk).norm(), tol);
    }
}

/// BFGS from the two-loop recursion with unlimited memory (or `memory` pairs),
/// `H_0 = gamma I` with PyTorch's `gamma = y.s / y.y`, and an exact line search
/// on the quadratic `f(x) = x'Ax/2 - b'x`. Returns the gradient norms
/// `|g_0|, |g_1|, ..`.
fn bfgs_exact(
    a: &DMatrix<f64>,
    b: &DVector<f64>,
    x0: &DVector<f64>,
    iters: usize,
    memory: usize,
) -> Vec<f64> {
    let mut x = x0.clone();
    let (mut s, mut y, mut rho) = (VecDeque::new(), VecDeque::new(), VecDeque::new());
    let mut gamma = 1.0;
    let mut g = a * &x - b;
    let mut norms = vec![g.norm()];
    for _ in 0..iters {
        if g.iter().all(|&v| v == 0.0) {
            norms.push(0.0); // at the minimizer already: nothing left to do
            continue;
        }
        let d = two_loop(&g, &s, &y, &rho, gamma);
        let t = -g.dot(&d) / d.dot(&(a * &d));
        let step = &d * t;
        x += &step;
        let g_new = a * &x - b;
        let yi = &g_new - &g;
        let ys = yi.dot(&step);
        gamma = ys / yi.dot(&yi);
        if s.len() == memory {
            s.pop_front();
            y.pop_front();
            rho.pop_front();
        }
        s.push_back(step);
        y.push_back(yi);
        rho.push_back(1.0 / ys);
        g = g_new;
        norms.push(g.norm());
    }
    norms
}

proptest! {
    #![proptest_config(config())]

    /// lbfgs-finite-termination-quadratic: on a strictly convex quadratic in
    /// dimension `n`, with exact line searches, the two-loop recursion reaches
    /// the minimizer in at most `n` iterations, with any memory `m >= 1` (the
    /// directions are the conjugate-gradient ones: see the proof).
    ///
    /// Tolerance. The iterates solve `A x = b` by a sequence of backward-stable
    /// steps, so after `n` steps `x_n` is within about `c n kappa u` of `x*`,
    /// relative to `|x*| + |x_0|` (the usual forward-error bound of a stable
    /// solve); the gradient `A x_n - b` is then within `|A| = kappa` (the
    /// smallest eigenvalue is 1) times that. With `c = 8`, doubled:
    /// `16 n kappa^2 EPS (|x*| + |x_0|)`, kappa between 10 and 10^3. One step short, at `n - 1`
    /// iterations, the gradient is generically far from zero: the test also
    /// requires it above a thousand times that tolerance (for `n >= 2`), so that termination at
    /// exactly `n` is observed and not an accident of a lucky start.
    // claim: lbfgs-finite-termination-quadratic
    #[test]
    fn lbfgs_exact_line_search_terminates_on_quadratics(
        seed in any::<u64>(),
        n in 1usize..9,
        log_cond in 1.0f64..3.0,
        memory in Just(100usize),
    ) {
        let mut rng = SplitMix64::new(seed);
        // Eigenvalues spread evenly in log scale over [1, 10^log_cond]: n distinct
        // values (conjugate directions terminate in as many steps as there are
        // distinct eigenvalues, so clustered ones would end early).
        let q = DMatrix::from_fn(n, n, |_, _| rng.uniform(-1.0, 1.0)).qr().q();
        let lambda = DVector::from_fn(n, |i, _| {
            10f64.powf(log_cond * i as f64 / (n.max(2) - 1) as f64)
        });
        let a = &q * DMatrix::from_diagonal(&lambda) * q.transpose();
        let a = (&a + a.transpose()) * 0.5;
        let b = vector(&mut rng, n);
        let x0 = vector(&mut rng, n);
        let norms = bfgs_exact(&a, &b, &x0, n, memory);
        prop_assume!(norms[0] > 1e-3);
        let kappa = 10f64.powf(log_cond);
        let x_star = a.clone().cholesky().unwrap().solve(&b);
        let tol = 16.0 * n as f64 * kappa * EPS * kappa * (x_star.norm() + x0.norm());
        prop_assert!(norms[n] <= tol, "n {} memory {}: |g_n| = {:e} > {:e}", n, memory, norms[n], tol);
        if n >= 2 {
            prop_assert!(norms[n - 1] > 1e3 * tol, "n {}: |g_(n-1)| = {:e}", n, norms[n - 1]);
        }
    }
}

/// `L(theta) = e^theta - 2 theta`: `L' = e^theta - 2` has the simple root ln 2,
/// where `L'' = 2 > 0`.
struct ExpMinusLinear;

impl descent::problems::Objective for ExpMinusLinear {
    fn dim(&self) -> usize {
        1
    }
    fn eval<D: num_dual::DualNum<Primitive = f64>>(&self, x: &DVector<D>) -> D {
        x[0].clone().exp() - x[0].clone() * 2.0
    }
}

/// exercise-lbfgs-1: in one dimension the secant condition makes the method the
/// secant method for `L' = 0`, of order `(1 + sqrt 5)/2`. The crate's secant
/// diagonal (`SecantDiagonal`, step length 1) in one dimension is exactly that
/// method; the order is estimated as `log(e_{k+1}/e_k) / log(e_k/e_{k-1})` at the
/// first `k` with `e_k < 1e-4` (errors then between about 1e-9 and 1e-4, far
/// above rounding, about 1e-16, and past the transient). The estimate differs
/// from the limit by a term of order `|log e_k|^-1` relative to the constant in
/// `e_{k+1} ~ C e_k e_{k-1}`, below 0.1 here.
// claim: exercise-lbfgs-1
#[test]
fn exercise_lbfgs_1_secant_order_is_golden() {
    use descent::optim::Optimizer;
    use descent::problems::Objective;
    use descent::second_order::diagonal::{SecantConfig, SecantDiagonal};
    let f = ExpMinusLinear;
    let root = 2f64.ln();
    let mut opt = SecantDiagonal::new(SecantConfig {
        lr0: 0.2,
        ..SecantConfig::default()
    })
    .unwrap();
    let mut x = DVector::from_vec(vec![1.5]);
    let mut errors = vec![(x[0] - root).abs()];
    for _ in 0..12 {
        let g = f.gradient(&x);
        opt.step(&mut x, &g).unwrap();
        errors.push((x[0] - root).abs());
    }
    let k = errors.iter().position(|&e| e < 1e-4).unwrap();
    let order = (errors[k + 1] / errors[k]).ln() / (errors[k] / errors[k - 1]).ln();
    let golden = (1.0 + 5f64.sqrt()) / 2.0;
    println!("errors {errors:?}; order at k = {k}: {order:.4}");
    assert!((order - golden).abs() < 0.1, "order {order}");
}

proptest! {
    #![proptest_config(config())]

    /// exercise-lbfgs-5: on a quadratic with Hessian `A`, PyTorch's starting scale
    /// `gamma = y.s / y.y` lies in `[1/lambda_max, 1/lambda_min]`, for any step
    /// `s`. Computed as the crate's L-BFGS computes it (from `y = A s`), with a
    /// relative slack of `(2n + 2) EPS` for the two dot products, the product
    /// `A s` and the division.
    // claim: exercise-lbfgs-5
    #[test]
    fn exercise_lbfgs_5_gamma_is_an_inverse_curvature(
        seed in any::<u64>(),
        n in 1usize..8,
        log_cond in 0.0f64..4.0,
    ) {
        let mut rng = SplitMix64::new(seed);
        let a = spd(&mut rng, n, log_cond);
        let s = vector(&mut rng, n);
        prop_assume!(s.norm() > 1e-3);
        let y = &a * &s;
        let gamma = y.dot(&s) / y.dot(&y);
        let ev = a.clone().symmetric_eigenvalues();
        let slack = (2.0 * n as f64 + 2.0) * EPS * 4.0;
        prop_assert!(gamma >= (1.0 / ev.max()) * (1.0 - slack) && gamma <= (1.0 / ev.min()) * (1.0 + slack),
            "gamma {} not in [{}, {}]", gamma, 1.0 / ev.max(), 1.0 / ev.min());
    }
}
