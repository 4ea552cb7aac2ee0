//! Momentum and Nesterov: the claims of section 4 of the catalogue (chapter
//! "Momentum and Nesterov").
//!
//! Every momentum and Nesterov step below is taken by the crate's `Sgd` (PyTorch
//! semantics: `b_1 = g_1`, then `b_t = mu b_{t-1} + (1 - dampening) g_t`; with
//! Nesterov the direction is `g + mu b`; the step is `theta -= lr d`). The other
//! iterations in this file are references, each labelled as one: Sutskever's
//! velocity form, Beck and Teboulle's two-sequence form, and FISTA with its
//! momentum schedule (which the crate's `Sgd`, with one fixed momentum, cannot
//! follow). Gradients come from the problems' num-dual evaluation.

use descent::optim::{Optimizer, Sgd, SgdConfig};
use descent::problems::Objective;
use descent::problems::quadratic::{Quadratic, SplitMix64};
use nalgebra::{DMatrix, DVector, Matrix2};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

const EPS: f64 = f64::EPSILON;

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        rng_seed: RngSeed::Fixed(0x5eed_0401),
        ..ProptestConfig::default()
    }
}

fn sgd(lr: f64, momentum: f64, dampening: f64, nesterov: bool) -> Sgd {
    Sgd::new(SgdConfig {
        lr,
        momentum,
        dampening,
        nesterov,
        ..SgdConfig::default()
    })
    .expect("a valid SGD configuration")
}

fn buffer(opt: &Sgd) -> DVector<f64> {
    opt.state()
        .and_then(|s| s.momentum_buffer.clone())
        .expect("a momentum buffer after the first step")
}

/// `diag(d)` as a quadratic `x' diag(d) x / 2` with `b = 0`.
fn diagonal(d: &[f64]) -> Quadratic {
    Quadratic::new(
        DMatrix::from_diagonal(&DVector::from_row_slice(d)),
        DVector::zeros(d.len()),
    )
    .expect("a valid quadratic")
}

// ---- momentum-unrolled ---------------------------------------------------------

/// `-lr sum_{k<=t} mu^(t-k) g_k`, summed by a loop over `k` with explicit powers
/// (an order of operations unrelated to the crate's recursion).
fn unrolled_velocity(grads: &[DVector<f64>], t: usize, lr: f64, mu: f64) -> DVector<f64> {
    let mut v = DVector::zeros(grads[0].len());
    for (k, g) in grads[..t].iter().enumerate() {
        v += g * mu.powi((t - 1 - k) as i32);
    }
    v * -lr
}

/// With `mu = 1/2`, `lr = 1/8`, integer gradients in `[-8, 8]` and `T = 30`, every
/// number is a dyadic rational with fewer than 53 significant bits: the buffer is
/// below 16 in size with resolution `2^-29` (34 bits) and the parameters below
/// `30 * 2 = 60` with resolution `2^-32` (38 bits). So the crate's buffer and
/// parameters equal the unrolled sums exactly: the velocity `v_t = -lr b_t` is
/// `-lr sum_k mu^(t-k) g_k` and `theta_t = theta_0 + sum_{s<=t} v_s`, bit for bit.
// claim: momentum-unrolled
#[test]
fn momentum_unrolled_exact() {
    let (lr, mu) = (0.125, 0.5);
    let mut rng = SplitMix64::new(0x0e11);
    let grads: Vec<DVector<f64>> = (0..30)
        .map(|_| DVector::from_fn(4, |_, _| (rng.next_u64() % 17) as f64 - 8.0))
        .collect();
    let theta0 = DVector::from_vec(vec![1.0, -2.0, 0.5, 3.0]);
    let mut opt = sgd(lr, mu, 0.0, false);
    let mut theta = theta0.clone();
    let mut sum_of_velocities = DVector::zeros(4);
    for t in 1..=grads.len() {
        opt.step(&mut theta, &grads[t - 1]).expect("finite");
        let v = buffer(&opt) * -lr;
        assert_eq!(v, unrolled_velocity(&grads, t, lr, mu), "step {t}");
        sum_of_velocities += &v;
        assert_eq!(theta, &theta0 + &sum_of_velocities, "step {t}");
    }
}

proptest! {
    #![proptest_config(config())]

    /// For any momentum `0 < mu < 1`, rate and gradient sequence, the crate's
    /// velocity `-lr b_t` equals `-lr sum_k mu^(t-k) g_k` up to rounding. (With
    /// `mu = 0` the crate keeps no buffer, as PyTorch, and the step is plain SGD.)
    // claim: momentum-unrolled
    #[test]
    fn momentum_unrolled(
        seed in any::<u64>(),
        n in 1usize..=4,
        steps in 1usize..=60,
        mu in 0.001..0.999f64,
        lr in 1e-4..=1.0f64,
    ) {
        let mut rng = SplitMix64::new(seed);
        let grads: Vec<DVector<f64>> = (0..steps)
            .map(|_| DVector::from_fn(n, |_, _| rng.normal() * 10f64.powf(rng.uniform(-3.0, 3.0))))
            .collect();
        let mut opt = sgd(lr, mu, 0.0, false);
        let mut theta = DVector::zeros(n);
        for t in 1..=steps {
            opt.step(&mut theta, &grads[t - 1]).expect("finite");
            let v = buffer(&opt) * -lr;
            let expected = unrolled_velocity(&grads, t, lr, mu);
            // Tolerance. Let A_t = sum_k mu^(t-k) |g_k|, which bounds |b_t| and
            // every partial sum. The recursion b = mu b + g (one fused multiply-add
            // per step) adds at most eps |b_s| <= eps A_s at step s, later multiplied
            // by mu^(t-s); in total at most t eps A_t. The reference computes
            // mu^(t-k) by repeated squaring (at most 2 log2(t) + 1 < t + 1
            // roundings), multiplies by g_k and sums t terms: at most
            // (2 t + 2) eps A_t. Multiplying by lr adds eps |v|. So
            // |v - expected| <= (3 t + 4) eps lr A_t.
            for i in 0..n {
                let a_t: f64 = (0..t).map(|k| mu.powi((t - 1 - k) as i32) * grads[k][i].abs()).sum();
                let tol = (3 * t + 4) as f64 * EPS * lr * a_t;
                prop_assert!((v[i] - expected[i]).abs() <= tol,
                    "step {t}, entry {i}: {} vs {} (tol {tol:e})", v[i], expected[i]);
            }
        }
    }
}

// ---- heavy-ball-optimal-rate ---------------------------------------------------

/// The heavy ball `x_{t+1} = x_t - eta lambda x_t + mu (x_t - x_{t-1})` on one
/// eigen-direction: `(x_{t+1}, x_t) = M (x_t, x_{t-1})`.
fn iteration_matrix(lambda: f64, eta: f64, mu: f64) -> Matrix2<f64> {
    Matrix2::new(1.0 + mu - eta * lambda, -mu, 1.0, 0.0)
}

/// The spectral radius of `M`, from nalgebra's eigenvalue solver (a Schur
/// decomposition: independent of the closed forms used in the proof).
fn spectral_radius(m: &Matrix2<f64>) -> f64 {
    m.complex_eigenvalues()
        .iter()
        .map(|z| z.norm())
        .fold(0.0, f64::max)
}

/// An upper bound on the error of a computed eigenvalue of a 2x2 matrix `M`. The
/// solver is backward stable: it returns the eigenvalues of `M + E` with
/// `|E| <= c eps |M|` (`c = 8` is generous for a 2x2 Schur step). The
/// characteristic polynomial `z^2 - a z + d` then changes by `|da| <= 2|E|` and
/// `|dd| <= 2|E|(|M| + |E|)`; near a double root `z0` a root moves by at most
/// `sqrt(|z0| |da| + |dd|) + |da|` (the square root is the price of a double
/// root, which Polyak's parameters create at both ends of the spectrum).
fn eigenvalue_error(m: &Matrix2<f64>) -> f64 {
    let norm = m.norm(); // Frobenius, >= spectral norm
    let e = 8.0 * EPS * norm;
    let z0 = norm;
    (z0 * 2.0 * e + 2.0 * e * (norm + e)).sqrt() + 2.0 * e
}

/// Polyak's parameters for eigenvalues in `[m, ell]`:
/// `eta = 4 / (sqrt(ell) + sqrt(m))^2`, `mu = ((sqrt(kappa) - 1)/(sqrt(kappa) + 1))^2`.
fn polyak(m: f64, ell: f64) -> (f64, f64) {
    let kappa = ell / m;
    let eta = 4.0 / (ell.sqrt() + m.sqrt()).powi(2);
    let r = (kappa.sqrt() - 1.0) / (kappa.sqrt() + 1.0);
    (eta, r * r)
}

/// With Polyak's parameters every eigenvalue `lambda` in `[m, ell]` gives an
/// iteration matrix with spectral radius exactly `(sqrt k - 1)/(sqrt k + 1)`,
/// while gradient descent's best constant step `2/(ell + m)` leaves the factor
/// `(k - 1)/(k + 1)` at both ends of the spectrum. Checked on 201 eigenvalues
/// (both ends included) for condition numbers from 1 to 10^8.
// claim: heavy-ball-optimal-rate
// claim-external: the spectral radius of the iteration matrix; heavy_ball_rate_with_the_crate runs the crate
#[test]
fn heavy_ball_optimal_rate() {
    for &kappa in &[1.0, 2.0, 10.0, 100.0, 1e4, 1e6, 1e8] {
        let (m, ell) = (1.0, kappa);
        let (eta, mu) = polyak(m, ell);
        let r = (kappa.sqrt() - 1.0) / (kappa.sqrt() + 1.0);
        let gd_eta = 2.0 / (ell + m);
        let gd_rate = (kappa - 1.0) / (kappa + 1.0);
        let mut worst_gd: f64 = 0.0;
        for i in 0..=200 {
            let lambda = if i == 200 {
                ell
            } else {
                m + (ell - m) * i as f64 / 200.0
            };
            let mat = iteration_matrix(lambda, eta, mu);
            let rho = spectral_radius(&mat);
            // The exact radius is r (up to the rounding of eta, mu and 1 + mu -
            // eta lambda, a few eps, far below the eigenvalue error).
            let tol = eigenvalue_error(&mat) + 8.0 * EPS;
            assert!(
                (rho - r).abs() <= tol,
                "kappa {kappa}, lambda {lambda}: radius {rho}, expected {r} (tol {tol:e})"
            );
            worst_gd = worst_gd.max((1.0 - gd_eta * lambda).abs());
        }
        // Gradient descent: |1 - eta lambda| is largest at the ends, where it is
        // (kappa - 1)/(kappa + 1) up to two roundings (relative 2 eps, plus the
        // rounding of gd_eta).
        assert!(
            (worst_gd - gd_rate).abs() <= 4.0 * EPS,
            "kappa {kappa}: GD factor {worst_gd}, expected {gd_rate}"
        );
        if kappa > 1.0 {
            assert!(r < gd_rate);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// No other choice does better: for every `eta > 0` and `0 <= mu < 1`, the
    /// larger of the spectral radii at the two ends `m` and `ell` is at least
    /// `(sqrt k - 1)/(sqrt k + 1)`; for gradient descent (`mu = 0`), at least
    /// `(k - 1)/(k + 1)`.
    // claim: heavy-ball-optimal-rate
    // claim-external: the spectral radius of the iteration matrix; heavy_ball_rate_with_the_crate runs the crate
    #[test]
    fn heavy_ball_parameters_are_optimal(
        log_kappa in 0.0..8.0f64,
        eta_scale in 1e-3..4.0f64,
        mu in 0.0..1.0f64,
    ) {
        let (m, ell) = (1.0, 10f64.powf(log_kappa));
        let kappa = ell / m;
        let r = (kappa.sqrt() - 1.0) / (kappa.sqrt() + 1.0);
        // Steps from 10^-3 to 4 times Polyak's step 4/(sqrt(ell) + sqrt(m))^2.
        // Any step with eta ell >= 2 (1 + mu) already has a root of modulus at
        // least 1 at ell (the proof), and that covers every step beyond this range.
        let eta = eta_scale * 4.0 / (ell.sqrt() + m.sqrt()).powi(2);
        let ends = [iteration_matrix(m, eta, mu), iteration_matrix(ell, eta, mu)];
        let worst = ends.iter().map(spectral_radius).fold(0.0, f64::max);
        let tol = ends.iter().map(eigenvalue_error).fold(0.0, f64::max) + 8.0 * EPS;
        prop_assert!(worst >= r - tol, "eta {eta}, mu {mu}: radius {worst} < {r}");

        let gd_rate = (kappa - 1.0) / (kappa + 1.0);
        let gd_worst = (1.0 - eta * m).abs().max((1.0 - eta * ell).abs());
        prop_assert!(gd_worst >= gd_rate - 4.0 * EPS, "GD eta {eta}: {gd_worst} < {gd_rate}");
    }
}

/// `r^(t-1) (t |M|_F + (t - 1) r)`: a bound on `|M^t|_2` for a 2x2 matrix with
/// spectral radius `r` (Cayley-Hamilton, see the proof), and 1 for `t = 0`.
fn power_bound(m: &Matrix2<f64>, r: f64, t: usize) -> f64 {
    if t == 0 {
        return 1.0;
    }
    let t_f = t as f64;
    r.powi(t as i32 - 1) * (t_f * m.norm() + (t_f - 1.0) * r)
}

/// The crate's momentum SGD with Polyak's parameters on a quadratic with
/// eigenvalues from 1 to `kappa = 10^4`: after `T = 1000` steps every coordinate
/// is within the bound `sqrt 2 |x_0| |M^T|` that the spectral radius
/// `99/101 = 0.980` gives, about `10^-5`, while gradient descent with its best
/// step still keeps `(9999/10001)^1000 = 0.82` of the coordinate along the
/// smallest eigenvalue.
// claim: heavy-ball-optimal-rate
#[test]
fn heavy_ball_rate_with_the_crate() {
    const T: usize = 1000;
    let kappa: f64 = 1e4;
    let lambdas: Vec<f64> = (0..8).map(|i| kappa.powf(i as f64 / 7.0)).collect();
    let q = diagonal(&lambdas);
    let (eta, mu) = polyak(1.0, kappa);
    let r = (kappa.sqrt() - 1.0) / (kappa.sqrt() + 1.0);
    let x0 = DVector::from_element(lambdas.len(), 1.0);

    let mut opt = sgd(eta, mu, 0.0, false);
    let mut x = x0.clone();
    for _ in 0..T {
        let g = q.gradient(&x);
        opt.step(&mut x, &g).expect("finite");
    }
    for (i, &lambda) in lambdas.iter().enumerate() {
        let m = iteration_matrix(lambda, eta, mu);
        // Exact arithmetic: (x_T, x_{T-1}) = M^T (x_0, x_0), so
        // |x_T| <= sqrt 2 |x_0| |M^T|. Rounding: each step rounds the gradient,
        // the buffer and the parameter (at most 4 eps times the state, whose size
        // at step t is at most 2 sqrt 2 |x_0| max(P(t), P(t-1)) with
        // P = power_bound, since |eta b_t| = |x_t - x_{t-1}|), and an error made at
        // step t is multiplied by M^(T-t).
        let bound = 2f64.sqrt() * x0[i] * power_bound(&m, r, T);
        let allowance: f64 = (1..=T)
            .map(|t| {
                let state = 2.0
                    * 2f64.sqrt()
                    * x0[i]
                    * power_bound(&m, r, t).max(power_bound(&m, r, t - 1));
                4.0 * EPS * state * power_bound(&m, r, T - t)
            })
            .sum();
        assert!(
            x[i].abs() <= bound + allowance,
            "lambda {lambda}: |x_T| = {:e} > {bound:e} + {allowance:e}",
            x[i].abs()
        );
        assert!(bound < 1e-4);
    }

    // Gradient descent with its best constant step: the coordinate with lambda = 1
    // is multiplied by exactly 1 - 2/(kappa + 1) per step (one rounding each).
    let gd_eta = 2.0 / (kappa + 1.0);
    let mut opt = sgd(gd_eta, 0.0, 0.0, false);
    let mut x = x0.clone();
    for _ in 0..T {
        let g = q.gradient(&x);
        opt.step(&mut x, &g).expect("finite");
    }
    let gd_rate: f64 = (kappa - 1.0) / (kappa + 1.0);
    let expected = gd_rate.powi(T as i32);
    assert!(expected > 0.8);
    assert!(
        (x[0] - expected).abs() <= 4.0 * T as f64 * EPS * expected,
        "GD: x_T = {}, expected {expected}",
        x[0]
    );
}

// ---- nesterov-forms-equivalent -------------------------------------------------

/// Iterates, or the points where gradients were taken, one per step.
type Trajectory = Vec<DVector<f64>>;

/// `(theta_t, v_t)`, one per step.
type VelocityStates = Vec<(DVector<f64>, DVector<f64>)>;

/// REFERENCE: Sutskever et al.'s form of Nesterov's method, a velocity `v` and the
/// gradient taken at the look-ahead point:
/// `v_t = mu v_{t-1} - lr_t grad f(theta_{t-1} + mu v_{t-1})`,
/// `theta_t = theta_{t-1} + v_t`, `v_0 = 0`. Returns `(theta_t, v_t)` for every
/// `t`, and the look-ahead points where the gradient was taken.
fn sutskever<F: Objective>(
    f: &F,
    theta0: &DVector<f64>,
    lrs: &[f64],
    mu: f64,
) -> (VelocityStates, Trajectory) {
    let mut theta = theta0.clone();
    let mut v = DVector::zeros(theta0.len());
    let mut states = Vec::new();
    let mut queries = Vec::new();
    for &lr in lrs {
        let ahead = &theta + &v * mu;
        let g = f.gradient(&ahead);
        v = &v * mu - g * lr;
        theta += &v;
        states.push((theta.clone(), v.clone()));
        queries.push(ahead);
    }
    (states, queries)
}

/// The crate's Nesterov SGD with learning rate `lrs[t]` at step `t` (set with
/// `set_lr`, which keeps the momentum buffer), zero dampening. Returns the
/// iterates and the points where the gradient was taken.
fn crate_nesterov<F: Objective>(
    f: &F,
    theta0: &DVector<f64>,
    lrs: &[f64],
    mu: f64,
) -> (Trajectory, Trajectory) {
    let mut opt = sgd(lrs[0], mu, 0.0, true);
    let mut theta = theta0.clone();
    let mut iterates = Vec::new();
    let mut queries = Vec::new();
    for &lr in lrs {
        opt.set_lr(lr).expect("a valid rate");
        let g = f.gradient(&theta);
        queries.push(theta.clone());
        opt.step(&mut theta, &g).expect("finite");
        iterates.push(theta.clone());
    }
    (iterates, queries)
}

/// REFERENCE: Beck and Teboulle's two-sequence form with a constant momentum
/// `mu`: `x_k = y_k - lr grad f(y_k)`, `y_{k+1} = x_k + mu (x_k - x_{k-1})`,
/// `y_1 = x_0`. Returns `x_1, x_2, ...` and `y_2, y_3, ...`.
fn two_sequence<F: Objective>(
    f: &F,
    x0: &DVector<f64>,
    lr: f64,
    mu: f64,
    steps: usize,
) -> (Trajectory, Trajectory) {
    let mut x_prev = x0.clone();
    let mut y = x0.clone();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for _ in 0..steps {
        let x = &y - f.gradient(&y) * lr;
        y = &x + (&x - &x_prev) * mu;
        x_prev = x.clone();
        xs.push(x);
        ys.push(y.clone());
    }
    (xs, ys)
}

/// With a constant rate and no dampening the two forms are one method under
/// `Theta = theta + mu v`: the crate's iterates equal the reference's
/// `theta_t + mu v_t` bit for bit, and so do the points where the gradients are
/// taken. The example is chosen so that all arithmetic is exact: eigenvalues 1 and
/// 1/2, `mu = lr = 1/2`, start `(1, -3/2)`; every number stays a dyadic rational
/// with at most 53 significant bits for the first 22 steps (counted with exact
/// rationals), so both forms compute the exact values. The same holds for Beck and
/// Teboulle's two-sequence form with the momentum held constant: its `y_{t+1}` is
/// the crate's `Theta_t` (and its `x_t` is Sutskever's `theta_t`).
// claim: nesterov-forms-equivalent
#[test]
fn nesterov_forms_equivalent_exact() {
    let q = diagonal(&[1.0, 0.5]);
    let theta0 = DVector::from_vec(vec![1.0, -1.5]);
    let (lr, mu) = (0.5, 0.5);
    let lrs = [lr; 20];
    let (iterates, queries) = crate_nesterov(&q, &theta0, &lrs, mu);
    let (states, ref_queries) = sutskever(&q, &theta0, &lrs, mu);
    let (xs, ys) = two_sequence(&q, &theta0, lr, mu, lrs.len());
    for t in 0..lrs.len() {
        let (theta, v) = &states[t];
        assert_eq!(iterates[t], theta + v * mu, "step {}", t + 1);
        assert_eq!(
            queries[t],
            ref_queries[t],
            "gradient point of step {}",
            t + 1
        );
        assert_eq!(iterates[t], ys[t], "two-sequence y, step {}", t + 1);
        assert_eq!(xs[t], *theta, "two-sequence x, step {}", t + 1);
    }
}

proptest! {
    #![proptest_config(config())]

    /// The same equivalence on random positive definite quadratics, random
    /// momentum and rate, over 60 steps, up to rounding.
    // claim: nesterov-forms-equivalent
    #[test]
    fn nesterov_forms_equivalent(
        seed in any::<u64>(),
        n in 1usize..=5,
        log_cond in 0.0..3.0f64,
        mu in 0.0..0.95f64,
        u in 0.05..=1.0f64,
    ) {
        const T: usize = 60;
        let cond = if n == 1 { 1.0 } else { 10f64.powf(log_cond) };
        let q = Quadratic::ill_conditioned(n, cond, seed).expect("valid");
        let a = q.a().clone();
        let ell = a.clone().symmetric_eigenvalues().max();
        let lr = u / ell;
        let mut rng = SplitMix64::new(seed ^ 0x4e57);
        let theta0 = DVector::from_fn(n, |_, _| rng.uniform(-1.0, 1.0));
        let mu = if mu == 0.0 { 0.5 } else { mu }; // nesterov needs mu > 0
        let lrs = vec![lr; T];
        let (iterates, _) = crate_nesterov(&q, &theta0, &lrs, mu);
        let (states, _) = sutskever(&q, &theta0, &lrs, mu);

        // Tolerance, by first-order error propagation. In exact arithmetic both
        // runs follow linear recursions: the crate's state (Theta, w = lr b) by
        // Psi = [[I - lr (1 + mu) A, -mu^2 I], [lr A, mu I]], the reference's
        // (theta, v) by Phi = [[I - lr A, mu (I - lr A)], [-lr A, mu (I - lr A)]].
        // Each step makes local errors of at most (n + 4) eps times the size of the
        // state (a dot product of length n for the gradient, then a few fused or
        // plain operations); an error made at step s is multiplied by the
        // (T - s)-th power of the map. With K the largest norm of a power up to T
        // (Frobenius norms, which bound the spectral ones) and S the largest state,
        // the drift is at most T K (n + 4) eps S for each run, and Theta = theta +
        // mu v multiplies the reference's by at most 1 + mu.
        let id = DMatrix::<f64>::identity(n, n);
        let block = |tl: DMatrix<f64>, tr: DMatrix<f64>, bl: DMatrix<f64>, br: DMatrix<f64>| {
            let mut m = DMatrix::zeros(2 * n, 2 * n);
            m.view_mut((0, 0), (n, n)).copy_from(&tl);
            m.view_mut((0, n), (n, n)).copy_from(&tr);
            m.view_mut((n, 0), (n, n)).copy_from(&bl);
            m.view_mut((n, n), (n, n)).copy_from(&br);
            m
        };
        let psi = block(&id - &a * (lr * (1.0 + mu)), &id * (-mu * mu), &a * lr, &id * mu);
        let phi = block(&id - &a * lr, (&id - &a * lr) * mu, &a * -lr, (&id - &a * lr) * mu);
        let max_power = |m: &DMatrix<f64>| {
            let mut p = DMatrix::<f64>::identity(2 * n, 2 * n);
            let mut k: f64 = 1.0;
            for _ in 0..T {
                p = m * p;
                k = k.max(p.norm());
            }
            k
        };
        let (k_psi, k_phi) = (max_power(&psi), max_power(&phi));
        let s_ref = states.iter().map(|(th, v)| th.norm() + v.norm()).fold(theta0.norm(), f64::max);
        // The crate's state is the same trajectory in other coordinates:
        // |Theta| <= |theta| + mu |v| and |lr b| = |v|.
        let s_crate = (1.0 + mu) * s_ref;
        let tol = T as f64 * (n + 4) as f64 * EPS * (k_psi * s_crate + (1.0 + mu) * k_phi * s_ref);
        for t in 0..T {
            let (theta, v) = &states[t];
            let diff = (&iterates[t] - (theta + v * mu)).amax();
            prop_assert!(diff <= tol, "step {}: difference {diff:e} > {tol:e}", t + 1);
        }
    }
}

/// Under a learning-rate schedule the two forms are different methods. On
/// `f(x) = x^2/2` from `x = 1` with `mu = 1/2` and rates `1/2`, then `1/4`
/// (all arithmetic exact):
/// - the crate (PyTorch's form, `set_lr` between the steps) takes its gradients
///   at `1`, `1/4` and reaches `Theta_2 = 3/32`: its buffer `b_2 = mu g_1 + g_2`
///   is multiplied by the new rate `1/4` as a whole;
/// - Sutskever's form takes them at `1`, `1/4` and reaches
///   `theta_2 + mu v_2 = 1/32`: its velocity keeps the old gradient scaled by the
///   old rate, `v_2 = mu (-lr_1 g_1) - lr_2 g_2`.
///
/// The third gradient is taken at `3/32` by one and at `1/32` by the other, so no
/// change of variables maps one run onto the other.
// claim: nesterov-forms-equivalent
#[test]
fn nesterov_forms_differ_under_schedule() {
    let q = diagonal(&[1.0]);
    let theta0 = DVector::from_vec(vec![1.0]);
    let lrs = [0.5, 0.25, 0.25];
    let mu = 0.5;
    let (iterates, queries) = crate_nesterov(&q, &theta0, &lrs, mu);
    let (states, ref_queries) = sutskever(&q, &theta0, &lrs, mu);
    let looked_at = |qs: &[DVector<f64>]| qs.iter().map(|x| x[0]).collect::<Vec<_>>();
    assert_eq!(looked_at(&queries)[..2], [1.0, 0.25]);
    assert_eq!(looked_at(&ref_queries)[..2], [1.0, 0.25]);
    assert_eq!(iterates[0][0], 0.25);
    assert_eq!(states[0].0[0] + mu * states[0].1[0], 0.25);
    assert_eq!(iterates[1][0], 3.0 / 32.0);
    assert_eq!(states[1].0[0] + mu * states[1].1[0], 1.0 / 32.0);
    assert_eq!(queries[2][0], 3.0 / 32.0);
    assert_eq!(ref_queries[2][0], 1.0 / 32.0);

    // With the rate held at 1/2 the two agree at every step (the control).
    let lrs = [0.5, 0.5, 0.5];
    let (iterates, queries) = crate_nesterov(&q, &theta0, &lrs, mu);
    let (states, ref_queries) = sutskever(&q, &theta0, &lrs, mu);
    for t in 0..3 {
        assert_eq!(iterates[t][0], states[t].0[0] + mu * states[t].1[0]);
        assert_eq!(queries[t], ref_queries[t]);
    }
}

// ---- nesterov-rate -------------------------------------------------------------

/// REFERENCE: FISTA (Beck and Teboulle 2009, section 4) with constant step
/// `1/ell` and no proximal term: `x_k = y_k - grad f(y_k)/ell`,
/// `t_{k+1} = (1 + sqrt(1 + 4 t_k^2))/2`,
/// `y_{k+1} = x_k + ((t_k - 1)/t_{k+1}) (x_k - x_{k-1})`, with `y_1 = x_0` and
/// `t_1 = 1`. The crate's `Sgd` keeps one momentum for the whole run, so it cannot
/// follow this schedule. Returns `x_1, ..., x_k` and the gradient norms at the
/// `y_k` (for the rounding allowance).
fn fista<F: Objective>(
    f: &F,
    x0: &DVector<f64>,
    ell: f64,
    steps: usize,
) -> (Vec<DVector<f64>>, Vec<f64>) {
    let mut y = x0.clone();
    let mut x_prev = x0.clone();
    let mut t: f64 = 1.0;
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for _ in 0..steps {
        let g = f.gradient(&y);
        let x = &y - g / ell;
        let t_next = (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0;
        ys.push(y.norm());
        y = &x + (&x - &x_prev) * ((t - 1.0) / t_next);
        x_prev = x.clone();
        xs.push(x);
        t = t_next;
    }
    (xs, ys)
}

/// A convex quadratic `f(x) = x'Ax/2 - b'x` with `A` positive semidefinite and
/// `b = A z`, so that `z` is a minimizer and `f(x) - f* = (x - z)'A(x - z)/2`
/// exactly; `ell >= lambda_max(A)`.
struct ConvexQuadratic {
    q: Quadratic,
    z: DVector<f64>,
    ell: f64,
}

impl ConvexQuadratic {
    /// `f(x) - f*`, computed from the difference `x - z` (no cancellation).
    fn gap(&self, x: &DVector<f64>) -> f64 {
        let e = x - &self.z;
        0.5 * e.dot(&(self.q.a() * &e))
    }

    /// A bound on the rounding of [`ConvexQuadratic::gap`]: the quadratic form
    /// sums `n` products per row and `n` rows, a relative `(n + 3) eps` of
    /// `|e|'|A||e|/2`; and if `z` is itself rounded (each entry by at most
    /// `eps |z_i|`), the form moves by at most `eps |z| |A|_2 |e|` to first order.
    fn gap_rounding(&self, x: &DVector<f64>) -> f64 {
        let e = x - &self.z;
        let n = e.len() as f64;
        (n + 3.0) * EPS * 0.5 * e.abs().dot(&(self.q.a().abs() * e.abs()))
            + EPS * self.z.norm() * self.ell * e.norm()
    }
}

/// Checks `f(x_k) - f* <= 2 ell d^2 / (k + 1)^2` for FISTA's iterates, for every
/// `k <= steps`, where `d` is the distance from `x0` to the nearest minimizer, and
/// returns the worst ratio of the gap to the bound.
fn check_fista(
    p: &ConvexQuadratic,
    x0: &DVector<f64>,
    d: f64,
    steps: usize,
) -> Result<f64, TestCaseError> {
    let (n, ell) = (x0.len(), p.ell);
    let norm_b = p.q.b().norm();
    let (xs, ys) = fista(&p.q, x0, ell, steps);
    let mut worst: f64 = 0.0;
    // Rounding allowance on the trajectory: each step's rounding acts like an
    // error e_i in the gradient, with |e_i|/ell <= (n + 6) eps (|y_i| + |x_i| +
    // |x_{i-1}| + |b|/ell) (the gradient's dot products, and the roundings of the
    // two updates, of size eps times the vectors involved, divided by the step
    // 1/ell). For the accelerated method with such errors the bound holds with d
    // replaced by d + 2 sum_{i<=k} i |e_i| / ell (the inexact analysis of
    // Schmidt, Le Roux and Bach, 2011).
    let mut drift = 0.0;
    let mut x_prev_norm = x0.norm();
    for k in 1..=steps {
        let xk = &xs[k - 1];
        let e = (n + 6) as f64 * EPS * (ys[k - 1] + xk.norm() + x_prev_norm + norm_b / ell);
        drift += 2.0 * k as f64 * e;
        x_prev_norm = xk.norm();
        let bound = 2.0 * ell * (d + drift).powi(2) / ((k + 1) as f64).powi(2);
        let g = p.gap(xk);
        prop_assert!(
            g <= bound + p.gap_rounding(xk),
            "k = {k}: f(x_k) - f* = {g:e} > {bound:e}"
        );
        worst = worst.max(g / (2.0 * ell * d * d / ((k + 1) as f64).powi(2)));
    }
    Ok(worst)
}

proptest! {
    #![proptest_config(config())]

    /// FISTA's rate on random positive semidefinite quadratics
    /// `f(x) = x'Ax/2 - b'x`, with `A = B B'` for an integer `n x r` matrix `B`
    /// (so `A` is exactly positive semidefinite, of rank `r <= n`: rank-deficient
    /// whenever `r < n`) and `b = A z` for an integer `z` (so a minimizer exists).
    /// The minimizers are `z + null(A)`; the nearest to `x0` is at distance
    /// `d = |P (x0 - z)|` with `P = B (B'B)^-1 B'` the projection on the range.
    // claim: nesterov-rate
    #[test]
    fn nesterov_rate(
        seed in any::<u64>(),
        n in 1usize..=6,
        rank_gap in 0usize..=3,
        steps in 1usize..=300,
    ) {
        let r = n.saturating_sub(rank_gap).max(1);
        let mut rng = SplitMix64::new(seed);
        // B'B is an integer matrix, invertible exactly when its determinant (an
        // integer) is at least 1; redraw B until it is (no proptest rejection).
        let bm = loop {
            let bm = DMatrix::from_fn(n, r, |_, _| (rng.next_u64() % 7) as f64 - 3.0);
            if (bm.transpose() * &bm).determinant() >= 0.5 {
                break bm;
            }
        };
        let chol = (bm.transpose() * &bm).cholesky().expect("B'B is positive definite");
        let a = &bm * bm.transpose(); // integers: exact
        let z = DVector::from_fn(n, |_, _| (rng.next_u64() % 5) as f64 - 2.0);
        let b = &a * &z; // integers: exact
        let q = Quadratic::new(a.clone(), b.clone()).expect("valid");
        let x0 = DVector::from_fn(n, |_, _| rng.uniform(-3.0, 3.0));
        let w = bm.transpose() * (&x0 - &z);
        let d = w.dot(&chol.solve(&w)).max(0.0).sqrt();
        // ell: the largest eigenvalue, raised by its possible rounding (a
        // backward-stable solver is off by at most n eps |A|_F).
        let ell = a.clone().symmetric_eigenvalues().max() + 2.0 * n as f64 * EPS * a.norm();
        let p = ConvexQuadratic { q, z, ell };
        check_fista(&p, &x0, d, steps)?;
    }
}

/// The hardest family for first-order methods (Nesterov, *Introductory Lectures
/// on Convex Optimization*, section 2.1.2): `f(x) = x'Ax/2 - x_1` with `A` the
/// tridiagonal matrix `(-1, 2, -1)` of size 31, `ell = 4 >= lambda_max`, from
/// `x0 = 0`. FISTA stays within its bound for 100 steps, reaching about a fifth of
/// it; gradient descent with the same step does not (its gap decays like `1/k`:
/// at `k = 100` it is three times FISTA's bound).
// claim: nesterov-rate
#[test]
fn nesterov_rate_worst_case_family() {
    const N: usize = 31;
    const STEPS: usize = 100;
    let a = DMatrix::from_fn(N, N, |i, j| match i.abs_diff(j) {
        0 => 2.0,
        1 => -1.0,
        _ => 0.0,
    });
    let b = DVector::from_fn(N, |i, _| if i == 0 { 1.0 } else { 0.0 });
    let q = Quadratic::new(a.clone(), b.clone()).expect("valid");
    // The minimizer solves A x = e_1: x*_i = (N - i)/(N + 1) for i = 0..N-1.
    let x_star = DVector::from_fn(N, |i, _| (N - i) as f64 / (N + 1) as f64);
    let x0 = DVector::zeros(N);
    let d = x_star.norm();
    let ell = 4.0;
    let p = ConvexQuadratic {
        q: q.clone(),
        z: x_star,
        ell,
    };
    let worst = check_fista(&p, &x0, d, STEPS).expect("FISTA within its bound");
    eprintln!("worst-case family: largest gap / bound = {worst:.3}");
    assert!(worst > 0.1, "the family should come close to the bound");

    // Gradient descent with step 1/ell (the crate's SGD): at k = 100 its gap is
    // above FISTA's bound.
    let mut opt = sgd(1.0 / ell, 0.0, 0.0, false);
    let mut x = x0.clone();
    for _ in 0..STEPS {
        let g = q.gradient(&x);
        opt.step(&mut x, &g).expect("finite");
    }
    let bound = 2.0 * ell * d * d / ((STEPS + 1) as f64).powi(2);
    assert!(p.gap(&x) > bound, "GD gap {} vs bound {bound}", p.gap(&x));
}

// ---- pytorch-momentum-first-step -----------------------------------------------

/// PyTorch's first buffer is the gradient itself, undamped: with dampening
/// `tau = 1/2`, `mu = 1/2`, `lr = 1/4` and small integer gradients (all exact in
/// binary), the crate's buffer after step 1 is `g_1`, not `(1 - tau) g_1`, and
/// after that `b_t = mu b_{t-1} + (1 - tau) g_t`; unrolled,
/// `b_t = mu^(t-1) g_1 + (1 - tau) sum_{k=2..t} mu^(t-k) g_k`. A buffer started at
/// zero and damped from the first step (as Optax's `trace` would be with
/// dampening) would have `b_1 = (1 - tau) g_1`, half of it here, and every later
/// buffer smaller by `tau mu^(t-1) g_1`. With `tau = 0` the two conventions
/// coincide.
// claim: pytorch-momentum-first-step
#[test]
fn pytorch_momentum_first_step_dyadic() {
    let (lr, mu, tau) = (0.25, 0.5, 0.5);
    let mut rng = SplitMix64::new(0xf1a5);
    let grads: Vec<DVector<f64>> = (0..20)
        .map(|_| DVector::from_fn(3, |_, _| (rng.next_u64() % 9) as f64 - 4.0))
        .collect();
    let theta0 = DVector::from_vec(vec![1.0, -2.0, 3.0]);
    let mut opt = sgd(lr, mu, tau, false);
    let mut theta = theta0.clone();
    let mut b_ref: DVector<f64> = DVector::zeros(3);
    for (t, g) in grads.iter().enumerate() {
        let before = theta.clone();
        opt.step(&mut theta, g).expect("finite");
        let b = buffer(&opt);
        // The recursion, exact here (dyadic numbers of at most 30 bits).
        b_ref = if t == 0 {
            g.clone()
        } else {
            &b_ref * mu + g * (1.0 - tau)
        };
        assert_eq!(b, b_ref, "buffer at step {}", t + 1);
        // The unrolled form.
        let unrolled = (0..=t).fold(DVector::zeros(3), |acc, k| {
            let weight = if k == 0 { 1.0 } else { 1.0 - tau };
            acc + &grads[k] * (weight * mu.powi((t - k) as i32))
        });
        assert_eq!(b, unrolled, "unrolled buffer at step {}", t + 1);
        assert_eq!(theta, &before - &b * lr, "parameters at step {}", t + 1);
        // The zero-started, damped convention differs by tau mu^t g_1.
        let damped_from_zero = &unrolled - &grads[0] * (tau * mu.powi(t as i32));
        if grads[0].iter().any(|&x| x != 0.0) {
            assert_ne!(b, damped_from_zero);
        }
    }

    // tau = 0: b_1 = g_1 is also what a zero-started buffer gives (mu 0 + g_1).
    let mut opt = sgd(lr, mu, 0.0, false);
    let mut theta = theta0.clone();
    opt.step(&mut theta, &grads[0]).expect("finite");
    assert_eq!(buffer(&opt), &grads[0] + DVector::zeros(3) * mu);
}

proptest! {
    #![proptest_config(config())]

    /// For any momentum, dampening and gradients, the crate's buffer is
    /// `mu^(t-1) g_1 + (1 - tau) sum_{k>=2} mu^(t-k) g_k` up to rounding, with and
    /// without Nesterov (the buffer is the same; only the direction differs).
    // claim: pytorch-momentum-first-step
    #[test]
    fn pytorch_momentum_first_step_unrolled(
        seed in any::<u64>(),
        n in 1usize..=4,
        steps in 1usize..=40,
        mu in 0.001..0.999f64,
        tau in 0.0..=1.0f64,
        nesterov in any::<bool>(),
    ) {
        let tau = if nesterov { 0.0 } else { tau };
        let mut rng = SplitMix64::new(seed);
        let grads: Vec<DVector<f64>> = (0..steps)
            .map(|_| DVector::from_fn(n, |_, _| rng.normal()))
            .collect();
        let mut opt = sgd(0.01, mu, tau, nesterov);
        let mut theta = DVector::zeros(n);
        for t in 1..=steps {
            opt.step(&mut theta, &grads[t - 1]).expect("finite");
            let b = buffer(&opt);
            for i in 0..n {
                let weight = |k: usize| if k == 0 { 1.0 } else { 1.0 - tau };
                let expected: f64 = (0..t)
                    .map(|k| weight(k) * mu.powi((t - 1 - k) as i32) * grads[k][i])
                    .sum();
                // As in `momentum_unrolled`: with A_t = sum_k mu^(t-k) |g_k|, the
                // recursion drifts by at most 2 t eps A_t (the product (1 - tau) g
                // adds a rounding per step) and the reference by (2 t + 3) eps A_t.
                let a_t: f64 = (0..t).map(|k| mu.powi((t - 1 - k) as i32) * grads[k][i].abs()).sum();
                let tol = (4 * t + 4) as f64 * EPS * a_t;
                prop_assert!((b[i] - expected).abs() <= tol,
                    "step {t}, entry {i}: {} vs {expected} (tol {tol:e})", b[i]);
            }
        }
    }
}
