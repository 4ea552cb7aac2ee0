//! AdaGrad (catalogue section 6): its regret bound on online convex problems in
//! a box, its non-increasing per-coordinate step, larger steps for rare
//! features, and what its diagonal is.
//!
//! The online problems are generated here: linear losses `f_t(x) = c_t . x` and
//! weighted absolute-value losses `f_t(x) = sum_i w_{t,i} |x_i - a_{t,i}|` on the
//! box `[-1, 1]^d`, and Reddi, Kale and Kumar's linear problems
//! ([`ReddiOnline`]). AdaGrad is the crate's [`Adagrad`] (PyTorch semantics);
//! after each step the test projects onto the box by clamping each coordinate,
//! which for a box is the projection in AdaGrad's own diagonal norm as well as
//! the Euclidean one.

use std::sync::Mutex;

use descent::optim::{
    Adagrad, AdagradConfig, Optimizer, RmsProp, RmsPropConfig, Sgd, SgdConfig, WeightDecay,
};
use descent::problems::online::ReddiOnline;
use descent::problems::quadratic::SplitMix64;
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

const EPS: f64 = f64::EPSILON;

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        rng_seed: RngSeed::Fixed(0x5eed_0601),
        ..ProptestConfig::default()
    }
}

// ---- online problems ------------------------------------------------------------

/// An online convex problem on `[-1, 1]^d`, given by its whole sequence of losses.
enum Online {
    /// `f_t(x) = c_t . x`.
    Linear(Vec<DVector<f64>>),
    /// `f_t(x) = sum_i w_{t,i} |x_i - a_{t,i}|`, given as `(w_t, a_t)`, `w >= 0`.
    Absolute(Vec<(DVector<f64>, DVector<f64>)>),
}

impl Online {
    /// Random linear losses: `c_{t,i} = mu_i + u` with a fixed drift `mu_i` in
    /// `[-drift, drift]` and `u` uniform in `[-spread, spread]`.
    fn linear(seed: u64, d: usize, horizon: usize, drift: f64, spread: f64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let mu = DVector::from_fn(d, |_, _| rng.uniform(-drift, drift));
        Online::Linear(
            (0..horizon)
                .map(|_| DVector::from_fn(d, |i, _| mu[i] + rng.uniform(-spread, spread)))
                .collect(),
        )
    }

    /// Random absolute-value losses: weights uniform in `[0, weight]`, each zero
    /// with probability `sparsity`; targets uniform in `[-1, 1]` around a centre
    /// that differs per coordinate.
    fn absolute(seed: u64, d: usize, horizon: usize, weight: f64, sparsity: f64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let centre = DVector::from_fn(d, |_, _| rng.uniform(-1.0, 1.0));
        Online::Absolute(
            (0..horizon)
                .map(|_| {
                    let w = DVector::from_fn(d, |_, _| {
                        if rng.next_f64() < sparsity {
                            0.0
                        } else {
                            rng.uniform(0.0, weight)
                        }
                    });
                    let a = DVector::from_fn(d, |i, _| {
                        (centre[i] + rng.uniform(-0.5, 0.5)).clamp(-1.0, 1.0)
                    });
                    (w, a)
                })
                .collect(),
        )
    }

    /// Reddi, Kale and Kumar's linear problem in one coordinate.
    fn reddi(problem: ReddiOnline, horizon: u64) -> Self {
        Online::Linear(
            (1..=horizon)
                .map(|t| DVector::from_element(1, problem.gradient(t)))
                .collect(),
        )
    }

    fn horizon(&self) -> usize {
        match self {
            Online::Linear(c) => c.len(),
            Online::Absolute(l) => l.len(),
        }
    }

    fn dim(&self) -> usize {
        match self {
            Online::Linear(c) => c[0].len(),
            Online::Absolute(l) => l[0].0.len(),
        }
    }

    /// `f_t(x)` and a subgradient there (`t` from 0). For `|x_i - a|` at
    /// `x_i = a` the subgradient 0 is used.
    fn loss_and_subgradient(&self, t: usize, x: &DVector<f64>) -> (f64, DVector<f64>) {
        match self {
            Online::Linear(c) => (c[t].dot(x), c[t].clone()),
            Online::Absolute(l) => {
                let (w, a) = &l[t];
                let f = (0..x.len()).map(|i| w[i] * (x[i] - a[i]).abs()).sum();
                let g = DVector::from_fn(x.len(), |i, _| {
                    let s = x[i] - a[i];
                    if s > 0.0 {
                        w[i]
                    } else if s < 0.0 {
                        -w[i]
                    } else {
                        0.0
                    }
                });
                (f, g)
            }
        }
    }

    /// `min_{x in [-1,1]^d} sum_t f_t(x)`, exactly up to rounding: for linear
    /// losses `-sum_i |sum_t c_{t,i}|`; for absolute-value losses, per coordinate,
    /// the value at a weighted median of the targets (a convex piecewise-linear
    /// function is minimized at a breakpoint where the weight on each side is at
    /// most half the total; all targets lie in the box).
    fn best_fixed_loss(&self) -> f64 {
        match self {
            Online::Linear(c) => {
                let total = c.iter().fold(DVector::zeros(self.dim()), |s, ct| s + ct);
                -total.iter().map(|v| v.abs()).sum::<f64>()
            }
            Online::Absolute(l) => (0..self.dim())
                .map(|i| {
                    let mut pts: Vec<(f64, f64)> = l.iter().map(|(w, a)| (a[i], w[i])).collect();
                    pts.sort_by(|p, q| p.0.total_cmp(&q.0));
                    let total: f64 = pts.iter().map(|p| p.1).sum();
                    let mut acc = 0.0;
                    let median = pts
                        .iter()
                        .find(|p| {
                            acc += p.1;
                            acc >= 0.5 * total
                        })
                        .map_or(0.0, |p| p.0);
                    pts.iter().map(|(a, w)| w * (median - a).abs()).sum::<f64>()
                })
                .sum(),
        }
    }
}

/// What one run of projected AdaGrad on an online problem gives.
struct Run {
    /// `sum_t f_t(x_t) - min_x sum_t f_t(x)`.
    regret: f64,
    /// The bound `sum_i (D^2 / (2 eta) (h_i + eps) + eta h_i)` derived in
    /// `proofs/adagrad-regret-bound.md`, with `D = 2` (the box's side) and
    /// `h_i = |g_{1:T,i}|_2`.
    bound: f64,
    /// The allowance for rounding in the run and in the sums (see [`regret_run`]).
    slack: f64,
}

/// Runs projected AdaGrad with step `eta` and `eps` from `x1` on `problem`.
///
/// Rounding allowance. The proof bounds `sum_t g_t . (x_t - x*)` using, per step,
/// `(x_{t+1} - x*)^2 <= (x_t - eta g_t / h_t - x*)^2` and the telescoping of
/// `h_t^2 - h_{t-1}^2 = g_t^2`. In floating point, each computed `x_{t+1}` is off
/// by at most `delta = 2 eps (1 + eta)` (two roundings of numbers at most
/// `1 + eta` in size, since `|g_t| <= h_t`), which adds at most
/// `h_t/(2 eta) (2 delta (D + eta) + delta^2)` per step; the accumulator carries
/// a relative error of at most `t eps` after `t` steps, which changes each term
/// of the second sum by a relative `2 t eps`. Summed over `T` steps and `d`
/// coordinates this is at most `T (delta (D + eta + 1) / eta + 2 T eps) *
/// bound_scale` with `bound_scale = sum_i (h_i + eps) (1 + eta + D^2/eta)`; the
/// sums of losses add `T eps` times the sum of absolute losses. The allowance is
/// a few times `1e-10` of the bound for the sizes used here.
fn regret_run(problem: &Online, eta: f64, eps: f64, x1: &DVector<f64>) -> Run {
    let d = problem.dim();
    let horizon = problem.horizon();
    let mut opt = Adagrad::new(AdagradConfig {
        lr: eta,
        eps,
        ..AdagradConfig::default()
    })
    .unwrap();
    let mut x = x1.map(|v| v.clamp(-1.0, 1.0));
    let mut incurred = 0.0;
    let mut abs_losses = 0.0;
    let mut sq = DVector::<f64>::zeros(d);
    for t in 0..horizon {
        let (f, g) = problem.loss_and_subgradient(t, &x);
        incurred += f;
        abs_losses += f.abs();
        sq += g.component_mul(&g);
        opt.step(&mut x, &g).unwrap();
        x.apply(|v| *v = v.clamp(-1.0, 1.0));
    }
    let best = problem.best_fixed_loss();
    let diameter = 2.0;
    let h = sq.map(f64::sqrt);
    let bound = h
        .iter()
        .map(|&hi| diameter * diameter / (2.0 * eta) * (hi + eps) + eta * hi)
        .sum();
    let t = horizon as f64;
    let delta = 2.0 * EPS * (1.0 + eta);
    let scale: f64 = h
        .iter()
        .map(|&hi| (hi + eps) * (1.0 + eta + diameter * diameter / eta))
        .sum();
    let slack = t * (delta * (diameter + eta + 1.0) / eta + 2.0 * t * EPS) * scale
        + t * EPS * (abs_losses + best.abs());
    Run {
        regret: incurred - best,
        bound,
        slack,
    }
}

/// The paper's step `eta = D_inf / sqrt(2)` for the box `[-1, 1]^d` (`D_inf = 2`),
/// at which the bound is `sqrt(2) D_inf sum_i |g_{1:T,i}|_2` plus the `eps` term.
const ETA_STAR: f64 = std::f64::consts::SQRT_2;

// ---- adagrad-regret-bound -----------------------------------------------------

/// A fixed sweep over the three families, with `eta = sqrt(2)`: every regret is at
/// most the bound, and the worst ratio regret/bound is printed (run with
/// `--nocapture`) for the proof file.
// claim: adagrad-regret-bound
#[test]
fn adagrad_regret_within_bound_sweep() {
    // The worst ratio per family (linear, absolute, Reddi) and its case.
    let mut worst = [(); 3].map(|_| (f64::NEG_INFINITY, String::new()));
    let mut check = |family: usize, label: String, problem: &Online, x1: &DVector<f64>| {
        let run = regret_run(problem, ETA_STAR, 1e-10, x1);
        assert!(
            run.regret <= run.bound + run.slack,
            "{label}: regret {} > bound {}",
            run.regret,
            run.bound
        );
        let ratio = run.regret / run.bound;
        if ratio > worst[family].0 {
            worst[family] = (ratio, label);
        }
    };
    for seed in 0..20u64 {
        for (d, horizon) in [(1, 100), (3, 1000), (10, 300)] {
            let x1 = DVector::zeros(d);
            for (drift, spread) in [(0.0, 1.0), (0.1, 1.0), (1.0, 0.1)] {
                let p = Online::linear(seed, d, horizon, drift, spread);
                check(
                    0,
                    format!("linear seed {seed} d {d} T {horizon} drift {drift}"),
                    &p,
                    &x1,
                );
            }
            for sparsity in [0.0, 0.9] {
                let p = Online::absolute(seed, d, horizon, 1.0, sparsity);
                check(
                    1,
                    format!("absolute seed {seed} d {d} T {horizon} sparsity {sparsity}"),
                    &p,
                    &x1,
                );
            }
        }
    }
    for (name, problem) in [
        ("section 3", ReddiOnline::section3()),
        ("synthetic", ReddiOnline::synthetic()),
    ] {
        for horizon in [30, 300, 3000, 30_000] {
            let p = Online::reddi(problem, horizon);
            check(
                2,
                format!("Reddi {name} T {horizon}"),
                &p,
                &DVector::from_element(1, 1.0),
            );
        }
    }
    for (ratio, label) in &worst {
        eprintln!("worst regret/bound: {ratio:.4} ({label})");
    }
}

/// The largest regret/bound seen by the property test below (printed with
/// `--nocapture` for the proof file).
static WORST_ANY_STEP: Mutex<f64> = Mutex::new(f64::NEG_INFINITY);

proptest! {
    #![proptest_config(config())]

    /// The bound for any step eta > 0 (not only the optimal one):
    /// regret <= sum_i (D^2/(2 eta) (h_i + eps) + eta h_i), from any start in the box.
    // claim: adagrad-regret-bound
    #[test]
    fn adagrad_regret_within_bound_any_step(
        seed in any::<u64>(),
        d in 1usize..5,
        horizon in 1usize..300,
        log_eta in -2.0f64..2.0,
        eps_exp in -12.0f64..-2.0,
        family in 0usize..2,
        drift in 0.0f64..1.0,
        spread in 0.01f64..10.0,
        sparsity in 0.0f64..1.0,
        x1 in prop::collection::vec(-1.0f64..=1.0, 5),
    ) {
        let problem = if family == 0 {
            Online::linear(seed, d, horizon, drift * spread, spread)
        } else {
            Online::absolute(seed, d, horizon, spread, sparsity)
        };
        let x1 = DVector::from_fn(d, |i, _| x1[i]);
        let run = regret_run(&problem, 10f64.powf(log_eta), 10f64.powf(eps_exp), &x1);
        prop_assert!(run.regret <= run.bound + run.slack, "regret {} bound {}", run.regret, run.bound);
        let mut worst = WORST_ANY_STEP.lock().unwrap();
        if run.regret / run.bound > *worst {
            *worst = run.regret / run.bound;
            eprintln!("new worst regret/bound {:.4} (eta {:.3}, d {d}, T {horizon}, family {family})", *worst, 10f64.powf(log_eta));
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// The proof's key inequality, observed on the crate's own step: with
    /// `initial_accumulator_value = 0` and no projection, the step taken from a
    /// zero parameter is `p_t = -eta g_t / (sqrt(s_t) + eps)`, and the proof needs
    /// `sum_t g_t^2 / h_t <= 2 sqrt(s_T)`, i.e. `sum_t (-p_t g_t) <= 2 eta |g_{1:T}|`.
    /// It holds only because `s_t` includes the current `g_t^2`; dividing by the
    /// sum before adding it makes the first term `eta g_1^2 / eps`.
    ///
    /// Tolerance: `s_t` is a chain of `t` fused multiply-adds of non-negative
    /// terms, relative error at most `t u`; its root, `+ eps`, `eta g`, the
    /// quotient and the product with `g` add `4u`, so each term is within
    /// `(t/2 + 5) u` relative; summing `T` positive terms adds `T u`; the right
    /// side, `sqrt` of a `T`-term sum, is within `(T/2 + 1) u`. Altogether
    /// `(2T + 6) u`, doubled for second-order terms: `(2T + 6) EPS`, relative.
    // claim: adagrad-regret-bound
    #[test]
    fn adagrad_regret_key_inequality_on_the_crate_step(
        seed in any::<u64>(),
        n in 1usize..5,
        steps in 1usize..300,
        zero in 0.0f64..0.5,
        log_eta in -2.0f64..2.0,
        eps_exp in -12.0f64..-2.0,
    ) {
        let eta = 10f64.powf(log_eta);
        let mut opt = Adagrad::new(AdagradConfig {
            lr: eta,
            eps: 10f64.powf(eps_exp),
            ..AdagradConfig::default()
        })
        .unwrap();
        let (mut lhs, mut sq) = (vec![0.0; n], vec![0.0; n]);
        for g in sequence(seed, n, steps, zero) {
            let mut p = DVector::zeros(n);
            opt.step(&mut p, &g).unwrap();
            for i in 0..n {
                lhs[i] += -p[i] * g[i];
                sq[i] += g[i] * g[i];
            }
        }
        let tol = (2.0 * steps as f64 + 6.0) * EPS;
        for i in 0..n {
            let rhs = 2.0 * eta * sq[i].sqrt();
            prop_assert!(lhs[i] <= rhs * (1.0 + tol), "coord {}: {} > {}", i, lhs[i], rhs);
        }
    }
}

// ---- adagrad-step-non-increasing ----------------------------------------------

/// The effective rate `clr_t / (sqrt(s_t) + eps)` of every coordinate, with the
/// crate's `clr_t = lr / (1 + (t - 1) lr_decay)` and `s_t` read from the state.
fn adagrad_rates(opt: &Adagrad, t: u64) -> DVector<f64> {
    let cfg = opt.config();
    let clr = cfg.lr / (1.0 + (t as f64 - 1.0) * cfg.lr_decay);
    opt.state().unwrap().sum.map(|s| clr / (s.sqrt() + cfg.eps))
}

/// A gradient sequence from `seed`: entries zero with probability `zero`, else of
/// magnitude `2^e (1 + u)`, `e` in `[-30, 30]`, and random sign.
fn sequence(seed: u64, n: usize, steps: usize, zero: f64) -> Vec<DVector<f64>> {
    let mut rng = SplitMix64::new(seed);
    (0..steps)
        .map(|_| {
            DVector::from_fn(n, |_, _| {
                if rng.next_f64() < zero {
                    return 0.0;
                }
                let e = (rng.next_u64() % 61) as i32 - 30;
                let s = if rng.next_u64().is_multiple_of(2) {
                    1.0
                } else {
                    -1.0
                };
                s * 2f64.powi(e) * (1.0 + rng.next_f64())
            })
        })
        .collect()
}

/// The gradients of [`sequence`] rounded down to signed powers of two (zeros
/// stay zero), so that products with them are exact.
fn dyadic_sequence(seed: u64, n: usize, steps: usize, zero: f64) -> Vec<DVector<f64>> {
    sequence(seed, n, steps, zero)
        .into_iter()
        .map(|g| {
            g.map(|x| {
                if x == 0.0 {
                    0.0
                } else {
                    x.signum() * 2f64.powi(x.abs().log2().floor() as i32)
                }
            })
        })
        .collect()
}

proptest! {
    #![proptest_config(config())]

    /// The rate never increases, exactly, observed on the crate's own step.
    ///
    /// Each step is taken from parameters set to zero, so the parameter after the
    /// step is the step itself, `-(clr_t g) / (sqrt(s_t) + eps)`, with no rounding
    /// from adding it to a parameter (weight decay of either kind acts on the
    /// parameter, which is zero, so it changes neither the step nor the sum).
    /// The gradients are signed powers of two, so `clr_t g` is exact and the
    /// division by `g` that reads the rate back is exact too: `|p / g|` is the
    /// crate's computed `clr_t / (sqrt(s_t) + eps)`, bit for bit, and must not
    /// increase, with no tolerance (see the proof for why the computed rate is
    /// monotone). A coordinate whose gradient is zero shows no rate that step and
    /// is compared at its next nonzero gradient, which is a stronger test.
    // claim: adagrad-step-non-increasing
    #[test]
    fn adagrad_effective_step_never_increases(
        seed in any::<u64>(),
        n in 1usize..5,
        steps in 1usize..200,
        zero in 0.0f64..0.5,
        lr in 1e-4f64..10.0,
        lr_decay in prop_oneof![Just(0.0), 0.0f64..1.0],
        eps_exp in -12.0f64..-1.0,
        init in prop_oneof![Just(0.0), 0.0f64..1.0],
        decay in 0usize..3,
        maximize in any::<bool>(),
    ) {
        let weight_decay = match decay {
            0 => WeightDecay::None,
            1 => WeightDecay::L2(0.01),
            _ => WeightDecay::Decoupled(0.01),
        };
        let mut opt = Adagrad::new(AdagradConfig {
            lr,
            lr_decay,
            weight_decay,
            initial_accumulator_value: init,
            eps: 10f64.powf(eps_exp),
            maximize,
        })
        .unwrap();
        let mut last = vec![f64::INFINITY; n];
        for (t, g) in dyadic_sequence(seed, n, steps, zero).iter().enumerate() {
            let mut p = DVector::zeros(n);
            opt.step(&mut p, g).unwrap();
            for i in (0..n).filter(|&i| g[i] != 0.0) {
                let rate = (p[i] / g[i]).abs();
                prop_assert!(rate <= last[i], "step {} coord {}: {} > {}", t + 1, i, rate, last[i]);
                last[i] = rate;
            }
        }
    }
}

/// The property belongs to the running sum: RMSprop, whose moving average
/// forgets old squares, raises its rate `lr / (sqrt(v) + eps)` when a gradient is
/// followed by a smaller one (`g = 10`, then `g = 0`: `v` falls from `1` to
/// `0.99`), while AdaGrad's rate falls on the same two gradients.
// claim: adagrad-step-non-increasing
#[test]
fn rmsprop_effective_step_can_increase() {
    let cfg = RmsPropConfig {
        lr: 0.01,
        ..RmsPropConfig::default()
    };
    let mut opt = RmsProp::new(cfg).unwrap();
    let mut x = DVector::zeros(1);
    let rate = |o: &RmsProp| cfg.lr / (o.state().unwrap().square_avg[0].sqrt() + cfg.eps);
    opt.step(&mut x, &DVector::from_element(1, 10.0)).unwrap();
    let before = rate(&opt);
    opt.step(&mut x, &DVector::from_element(1, 0.0)).unwrap();
    assert!(rate(&opt) > before, "{} <= {before}", rate(&opt));

    let mut ada = Adagrad::new(AdagradConfig::default()).unwrap();
    let mut y = DVector::zeros(1);
    ada.step(&mut y, &DVector::from_element(1, 10.0)).unwrap();
    let before = adagrad_rates(&ada, 1)[0];
    ada.step(&mut y, &DVector::from_element(1, 0.0)).unwrap();
    assert!(adagrad_rates(&ada, 2)[0] <= before);
}

// ---- adagrad-rare-features-larger-steps ---------------------------------------

/// A dense coordinate (active at every step) and a sparse one (active at steps
/// 1, 11, 21, ...), both with gradients `+-1/8` (random signs), AdaGrad's
/// defaults but `eps = 0`. The sparse coordinate's rate is never below the
/// dense one's, and after `t` steps their ratio is `sqrt(n_dense / n_sparse)`:
/// `sqrt(10)` at `t = 100` and `t = 1000`. With dyadic gradients the sums
/// `n / 64` are exact, so the ratio carries only the rounding of two square
/// roots and three divisions: within `4 eps` relative (each operation rounds
/// by at most `eps / 2`, `sqrt(10)` itself by `eps / 2`).
// claim: adagrad-rare-features-larger-steps
#[test]
fn adagrad_sparse_coordinate_keeps_larger_steps() {
    let mut opt = Adagrad::new(AdagradConfig {
        eps: 0.0,
        ..AdagradConfig::default()
    })
    .unwrap();
    let mut rng = SplitMix64::new(6);
    let mut x = DVector::zeros(2);
    for t in 1..=1000u64 {
        let mut sign = || {
            if rng.next_u64().is_multiple_of(2) {
                0.125
            } else {
                -0.125
            }
        };
        let dense = sign();
        let sparse = if t % 10 == 1 { sign() } else { 0.0 };
        opt.step(&mut x, &DVector::from_vec(vec![dense, sparse]))
            .unwrap();
        let rate = adagrad_rates(&opt, t);
        assert!(
            rate[1] >= rate[0],
            "step {t}: sparse {} < dense {}",
            rate[1],
            rate[0]
        );
        if t > 1 {
            assert!(rate[1] > rate[0], "step {t}: equal rates");
        }
        if t % 100 == 0 {
            let ratio = rate[1] / rate[0];
            assert!(
                (ratio / 10f64.sqrt() - 1.0).abs() <= 4.0 * EPS,
                "step {t}: ratio {ratio}"
            );
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// The general form: if coordinate a's gradients are never larger in
    /// magnitude than coordinate b's (`|g_{t,a}| <= |g_{t,b}|` for every t, with
    /// `g_{t,a} = 0` the rare-feature case), a's rate is never below b's. Exact:
    /// `fma(g, g, s)` is monotone in `|g|` and in `s`.
    // claim: adagrad-rare-features-larger-steps
    #[test]
    fn adagrad_smaller_gradients_keep_larger_rates(
        seed in any::<u64>(),
        steps in 1usize..200,
        zero in 0.0f64..1.0,
        lr in 1e-4f64..10.0,
        eps_exp in -12.0f64..-1.0,
    ) {
        let mut rng = SplitMix64::new(seed ^ 0xabcdef);
        let mut opt = Adagrad::new(AdagradConfig { lr, eps: 10f64.powf(eps_exp), ..AdagradConfig::default() }).unwrap();
        let mut x = DVector::zeros(2);
        for (t, g) in sequence(seed, 1, steps, 0.0).iter().enumerate() {
            let b = g[0];
            let a = if rng.next_f64() < zero { 0.0 } else { b * rng.next_f64() };
            opt.step(&mut x, &DVector::from_vec(vec![a, b])).unwrap();
            let rate = adagrad_rates(&opt, t as u64 + 1);
            prop_assert!(rate[0] >= rate[1], "step {}: {} < {}", t + 1, rate[0], rate[1]);
        }
    }
}

// ---- seed-adagrad-diagonal ----------------------------------------------------

/// Two errors of the seed. (1) Its diagonal entry `g_tau(i,i)^2` squares the
/// `(i,i)` entry of the outer product `g_tau g_tau'`, which is `g_{tau,i}^2`
/// already: that reading gives `sum g^4`, `(16, 81)` for one gradient `(2, 3)`,
/// while AdaGrad accumulates `(4, 9)`. (2) It says the update "maintains some
/// momentum in each coordinate": after gradients `(1, 2)`, a zero gradient leaves
/// AdaGrad's parameters exactly where they are, while SGD with momentum 0.9 keeps
/// moving.
// claim: seed-adagrad-diagonal
#[test]
fn seed_adagrad_diagonal_counterexample() {
    let g = DVector::from_vec(vec![2.0, 3.0]);
    let mut opt = Adagrad::new(AdagradConfig::default()).unwrap();
    let mut x = DVector::zeros(2);
    opt.step(&mut x, &g).unwrap();
    let outer = &g * g.transpose();
    let seed_reading = DVector::from_fn(2, |i, _| outer[(i, i)] * outer[(i, i)]);
    assert_eq!(seed_reading, DVector::from_vec(vec![16.0, 81.0]));
    assert_eq!(opt.state().unwrap().sum, DVector::from_vec(vec![4.0, 9.0]));
    assert_ne!(opt.state().unwrap().sum, seed_reading);

    let first = DVector::from_vec(vec![1.0, 2.0]);
    let zero = DVector::zeros(2);
    let mut ada = Adagrad::new(AdagradConfig::default()).unwrap();
    let mut sgd = Sgd::new(SgdConfig {
        lr: 0.01,
        momentum: 0.9,
        ..SgdConfig::default()
    })
    .unwrap();
    let (mut x, mut y) = (DVector::zeros(2), DVector::zeros(2));
    ada.step(&mut x, &first).unwrap();
    sgd.step(&mut y, &first).unwrap();
    let (x1, y1) = (x.clone(), y.clone());
    for _ in 0..5 {
        ada.step(&mut x, &zero).unwrap();
        sgd.step(&mut y, &zero).unwrap();
    }
    assert_eq!(x, x1, "AdaGrad moved on a zero gradient");
    assert!(y[0] < y1[0] && y[1] < y1[1], "momentum keeps moving");
}

proptest! {
    #![proptest_config(config())]

    /// The corrected statement. For small integer gradients (every sum below is
    /// exact), AdaGrad's accumulator equals the diagonal of
    /// `G_t = sum_tau g_tau g_tau'`, bit for bit, and its next update is
    /// `-lr g / (sqrt(diag G_t) + eps)`, evaluated in the crate's order. The state
    /// keeps no direction: flipping the signs of any past gradients gives the same
    /// state and the same next update, bit for bit (momentum would remember the
    /// signs).
    // claim: seed-adagrad-diagonal
    #[test]
    fn adagrad_accumulates_diag_of_outer_products_and_no_direction(
        seed in any::<u64>(),
        n in 1usize..5,
        steps in 1usize..50,
        lr in 1e-4f64..10.0,
    ) {
        let mut rng = SplitMix64::new(seed);
        let mut int = || (rng.next_u64() % 41) as f64 - 20.0;
        let history: Vec<DVector<f64>> = (0..steps).map(|_| DVector::from_fn(n, |_, _| int())).collect();
        let next = DVector::from_fn(n, |_, _| int());
        let mut rng = SplitMix64::new(!seed);
        let flipped: Vec<DVector<f64>> = history
            .iter()
            .map(|g| g.map(|v| if rng.next_u64().is_multiple_of(2) { v } else { -v }))
            .collect();
        let cfg = AdagradConfig { lr, ..AdagradConfig::default() };
        let run = |gs: &[DVector<f64>]| {
            let mut opt = Adagrad::new(cfg).unwrap();
            let mut x = DVector::zeros(n);
            for g in gs {
                opt.step(&mut x, g).unwrap();
            }
            let sum = opt.state().unwrap().sum.clone();
            // The next update alone: from a zero parameter, 0 + u = u exactly.
            let mut u = DVector::zeros(n);
            opt.step(&mut u, &next).unwrap();
            (sum, u)
        };
        let (sum, u) = run(&history);
        let (sum_flipped, u_flipped) = run(&flipped);
        let g_t = history.iter().fold(DMatrix::zeros(n, n), |acc, g| acc + g * g.transpose());
        prop_assert_eq!(&sum, &g_t.diagonal());
        let g_next = &g_t + &next * next.transpose();
        let expected = DVector::from_fn(n, |i, _| (-lr * next[i]) / (g_next[(i, i)].sqrt() + cfg.eps));
        prop_assert_eq!(&u, &expected);
        prop_assert_eq!(sum, sum_flipped);
        prop_assert_eq!(u, u_flipped);
    }
}
