//! AMSGrad (`src/optim/adam.rs`, `Amsgrad::{Paper, PyTorch, Optax}`) and the
//! online problems of Reddi, Kale and Kumar (`src/problems/online.rs`): the claims
//! of section 9 of the catalogue.
//!
//! Rounding model as in `tests/adam.rs`: `u = 2^-53`, one rounding per operation;
//! tolerances in units of `2^-52`. Most claims here are exact: a running maximum,
//! a square root and a division by a positive number are monotone in IEEE
//! arithmetic, so orderings between exact quantities survive rounding.
//!
//! The online experiments use a step size `alpha_t = alpha/sqrt(t)`, set before
//! each step with `Optim::set_lr` (the state is kept), and project onto `[-1, 1]`
//! after each step. Their thresholds are not fitted: each is derived in its test
//! from the update rule (the steps a period can take at most or at least).

use descent::optim::adam::AdamCoord;
use descent::optim::moments::bias_correction;
use descent::optim::{Adam, AdamConfig, Amsgrad, Optimizer, Rule};
use descent::problems::online::ReddiOnline;
use descent::problems::quadratic::SplitMix64;
use nalgebra::DVector;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

/// `2^-52`, the unit in which tolerances are written.
const ULP: f64 = f64::EPSILON;

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        rng_seed: RngSeed::Fixed(0x5eed_0a0b),
        ..ProptestConfig::default()
    }
}

fn adam(config: AdamConfig) -> Adam {
    Adam::new(config).expect("valid hyperparameters")
}

/// One step on gradient `g`, read exactly (parameters zeroed first; no decay).
fn step_from_zero(opt: &mut Adam, g: f64) -> f64 {
    let mut theta = DVector::from_element(1, 0.0);
    opt.step(&mut theta, &DVector::from_element(1, g))
        .expect("finite step");
    theta[0]
}

fn vmax(opt: &Adam) -> f64 {
    opt.state().unwrap().max_exp_avg_sq.as_ref().unwrap()[0]
}

/// A gradient history: signs and magnitudes `10^U(-4, 4)`, with some exact zeros.
fn history(seed: u64, steps: usize) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    (0..steps)
        .map(|_| {
            if rng.next_f64() < 0.1 {
                0.0
            } else {
                let g = 10f64.powf(rng.uniform(-4.0, 4.0));
                if rng.next_u64().is_multiple_of(2) {
                    g
                } else {
                    -g
                }
            }
        })
        .collect()
}

/// Runs `config` on `problem` for `steps` steps from `x_1 = 0`, with step size
/// `alpha/sqrt(t)` and projection onto `[-1, 1]`. Returns `x_2, ..., x_{steps+1}`
/// (the iterate after each step).
fn run_online(problem: ReddiOnline, config: AdamConfig, alpha: f64, steps: u64) -> Vec<f64> {
    let mut opt = adam(config);
    let mut x = DVector::from_element(1, 0.0);
    let mut out = Vec::with_capacity(steps as usize);
    for t in 1..=steps {
        opt.set_lr(alpha / (t as f64).sqrt()).unwrap();
        let g = DVector::from_element(1, problem.gradient(t));
        opt.step(&mut x, &g).unwrap();
        x[0] = ReddiOnline::project(x[0]);
        out.push(x[0]);
    }
    out
}

/// The seed's rule on `problem`, driven through the crate's per-coordinate
/// `Rule::update` for the paper's AMSGrad: before each step the stored maximum
/// is replaced by the previous `v`, so the denominator is
/// `sqrt(max(v_{t-1}, v_t))`, the maximum of the current and the previous second
/// moment only. Returns the iterates as `run_online` does, and the denominators.
fn run_seed_two_step(
    problem: ReddiOnline,
    betas: (f64, f64),
    alpha: f64,
    steps: u64,
) -> (Vec<f64>, Vec<f64>) {
    let mut x = 0.0;
    let mut c = AdamCoord {
        exp_avg: 0.0,
        exp_avg_sq: 0.0,
        max_exp_avg_sq: 0.0,
    };
    let mut xs = Vec::with_capacity(steps as usize);
    let mut maxima = Vec::with_capacity(steps as usize);
    for t in 1..=steps {
        let rule = AdamConfig {
            lr: alpha / (t as f64).sqrt(),
            betas,
            eps: 0.0,
            amsgrad: Amsgrad::Paper,
            ..AdamConfig::default()
        };
        c.max_exp_avg_sq = c.exp_avg_sq; // forget all but v_{t-1}
        let (next, coord) = rule.update(t, x, problem.gradient(t), c);
        x = ReddiOnline::project(next);
        c = coord;
        xs.push(x);
        maxima.push(c.max_exp_avg_sq);
    }
    (xs, maxima)
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

fn min(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

// ---- amsgrad-effective-step-non-increasing ------------------------------------

proptest! {
    #![proptest_config(config())]

    /// The paper's AMSGrad: after every step the stored maximum is exactly
    /// `max(vmax_{t-1}, v_t)`, the step is exactly `-(lr m)/(sqrt(vmax) + eps)`
    /// (computed here in the crate's order, so bit-equal), and the effective step
    /// `lr_t/(sqrt(vmax_t) + eps)` never increases, for a constant `lr` and for a
    /// non-increasing schedule `lr_t = lr/sqrt(t)`. The comparison is exact: `max`,
    /// `sqrt`, `+ eps` and division by a positive number are monotone in IEEE
    /// arithmetic, and `lr/sqrt(t)` is computed non-increasing in t.
    // claim: amsgrad-effective-step-non-increasing
    #[test]
    fn amsgrad_effective_step_non_increasing(
        steps in 1usize..300,
        seed in any::<u64>(),
        lr in 1e-4f64..1.0,
        beta1 in 0.0f64..0.999,
        beta2 in 0.0f64..0.9999,
        eps_exp in -12.0f64..-4.0,
        schedule in any::<bool>(),
    ) {
        let eps = 10f64.powf(eps_exp);
        let cfg = AdamConfig { lr, betas: (beta1, beta2), eps, amsgrad: Amsgrad::Paper, ..AdamConfig::default() };
        let mut opt = adam(cfg);
        let mut prev_vmax = 0.0f64;
        let mut prev_eff = f64::INFINITY;
        for (k, g) in history(seed, steps).into_iter().enumerate() {
            let t = (k + 1) as f64;
            let lr_t = if schedule { lr / t.sqrt() } else { lr };
            opt.set_lr(lr_t).unwrap();
            let delta = step_from_zero(&mut opt, g);
            let state = opt.state().unwrap();
            let (m, v, vm) = (state.exp_avg[0], state.exp_avg_sq[0], vmax(&opt));
            prop_assert_eq!(vm.to_bits(), prev_vmax.max(v).to_bits());
            // The crate adds the step to theta = 0 (turning a -0 step into +0).
            prop_assert_eq!(delta.to_bits(), (0.0 + (-lr_t * m) / (vm.sqrt() + eps)).to_bits());
            let eff = lr_t / (vm.sqrt() + eps);
            prop_assert!(eff <= prev_eff, "t={}: {} > {}", t, eff, prev_eff);
            prev_vmax = vm;
            prev_eff = eff;
        }
    }
}

/// The same for plain Adam fails: a large gradient followed by small ones lets
/// `v` decay, and Adam's effective step `lr/(sqrt(v-hat) + eps)` grows again
/// (the quantity Reddi et al. call `Gamma_t` becomes negative).
// claim: amsgrad-effective-step-non-increasing
#[test]
fn amsgrad_effective_step_adam_increases() {
    let betas = (0.9, 0.999);
    let mut plain = adam(AdamConfig {
        betas,
        ..AdamConfig::default()
    });
    let mut ams = adam(AdamConfig {
        betas,
        amsgrad: Amsgrad::Paper,
        ..AdamConfig::default()
    });
    let lr = AdamConfig::default().lr;
    let eps = AdamConfig::default().eps;
    let mut eff_adam = Vec::new();
    let mut eff_ams = Vec::new();
    for t in 1..=2000u64 {
        let g = if t == 1 { 1.0 } else { 1e-3 };
        step_from_zero(&mut plain, g);
        step_from_zero(&mut ams, g);
        let v_hat = plain.state().unwrap().exp_avg_sq[0] / bias_correction(betas.1, t);
        eff_adam.push(lr / (v_hat.sqrt() + eps));
        eff_ams.push(lr / (vmax(&ams).sqrt() + eps));
    }
    assert!(
        eff_adam[1999] > 10.0 * eff_adam[0],
        "{} vs {}",
        eff_adam[1999],
        eff_adam[0]
    );
    assert!(eff_ams.windows(2).all(|w| w[1] <= w[0]));
}

// ---- amsgrad-pytorch-bias-correction ------------------------------------------

/// PyTorch's AMSGrad keeps `max(v)` raw and divides it by the current `bc2`:
/// its step is `e_t m` with `e_t = (lr/bc1) / (sqrt(vmax)/sqrt(bc2) + eps)`. After
/// one large gradient the maximum stays put while `sqrt(bc2)` keeps growing long
/// after `bc1` has reached 1, so `e_t` increases: with `eps = 0`, `g_1 = 1` and
/// `g_t = 1e-3` after, `e_t = sqrt(bc2_t)/(bc1_t sqrt(0.001))` rises from 9.76 at
/// `t = 100` to 25.1 at `t = 1000`, and increases at every step in between.
///
/// `e_t` is read from the step: `-Delta_t/m_t`, with `m_t` from the state. Both
/// are exact inputs to the comparison; the step carries at most 7 roundings
/// (16 ulps, see `tests/adam.rs`), far below the 0.1% growth per step tested.
// claim: amsgrad-pytorch-bias-correction
#[test]
fn amsgrad_pytorch_effective_step_increases() {
    let betas = (0.9, 0.999);
    let mut opt = adam(AdamConfig {
        lr: 1.0,
        betas,
        eps: 0.0,
        amsgrad: Amsgrad::PyTorch,
        ..AdamConfig::default()
    });
    let mut e = vec![f64::NAN];
    let mut inv_root = vec![f64::NAN];
    for t in 1..=1000u64 {
        let g = if t == 1 { 1.0 } else { 1e-3 };
        let delta = step_from_zero(&mut opt, g);
        let m = opt.state().unwrap().exp_avg[0];
        e.push(-delta / m);
        inv_root.push(1.0 / vmax(&opt).sqrt());
    }
    assert!((e[100] - 9.76).abs() < 0.01, "{}", e[100]);
    assert!((e[1000] - 25.145).abs() < 0.01, "{}", e[1000]);
    for t in 100..1000 {
        assert!(
            e[t + 1] > e[t] * (1.0 + 1e-4),
            "t={t}: {} -> {}",
            e[t],
            e[t + 1]
        );
    }
    // The raw maximum is v_1 = 0.001 throughout, so 1/sqrt(max v) is constant.
    assert!(inv_root[1..].iter().all(|&r| r == inv_root[1]));
    // e_t is exactly the bias-correction ratio times that constant.
    for t in [1usize, 10, 100, 1000] {
        let (bc1, bc2) = (
            bias_correction(0.9, t as u64),
            bias_correction(0.999, t as u64),
        );
        let ratio = bc2.sqrt() / bc1 * inv_root[t];
        assert!((e[t] - ratio).abs() <= 16.0 * ULP * ratio, "t={t}");
    }
}

proptest! {
    #![proptest_config(config())]

    /// The factor that AMSGrad protects in PyTorch's variant: `1/sqrt(max v)` never
    /// increases, and the stored maximum is exactly `max(vmax_{t-1}, v_t)` of the
    /// raw `v` (not of `v/bc2`). What can increase is only `sqrt(bc2)/bc1`.
    // claim: amsgrad-pytorch-bias-correction
    #[test]
    fn amsgrad_pytorch_raw_max_factor_non_increasing(
        steps in 1usize..300,
        seed in any::<u64>(),
        beta1 in 0.0f64..0.999,
        beta2 in 0.0f64..0.9999,
    ) {
        let mut opt = adam(AdamConfig { lr: 1e-2, betas: (beta1, beta2), amsgrad: Amsgrad::PyTorch, ..AdamConfig::default() });
        let mut prev_vmax = 0.0f64;
        let mut prev_factor = f64::INFINITY;
        for g in history(seed, steps) {
            step_from_zero(&mut opt, g);
            let v = opt.state().unwrap().exp_avg_sq[0];
            let vm = vmax(&opt);
            prop_assert_eq!(vm.to_bits(), prev_vmax.max(v).to_bits());
            let factor = 1.0 / vm.sqrt();
            prop_assert!(factor <= prev_factor);
            prev_vmax = vm;
            prev_factor = factor;
        }
    }
}

// ---- seed-amsgrad-two-step-max (refuted) --------------------------------------

/// Counterexample, part 1: with the seed's maximum of the current and the
/// previous second moment only, one large gradient (10) followed by zeros gives
/// denominators `v_1, v_1, v_2 = b2 v_1, ...`: from the third step on the
/// denominator shrinks and the effective step grows by `1/sqrt(b2)` each step,
/// exactly as in Adam. The running maximum of the paper keeps `v_1`.
///
/// Part 2: on Reddi et al.'s section 3 problem (`3x` every third step, else `-x`;
/// `b1 = 0`, `b2 = 1/10`, `alpha_t = 0.5/sqrt(t)`), the seed's rule ends at `+1`,
/// the worst point, as Adam does. Bound: every `v` is at most 9 and the `v`
/// of a large-gradient step at least `0.9 * 9 = 8.1`, so the downward step is at
/// most `3 alpha_t/sqrt(8.1)`; the two upward steps that follow, with
/// denominators `max(v_big, v_1) <= 9` and `max(v_1, v_2) <= 1.8`, take at least
/// `alpha (1/3 + 1/sqrt(1.8)) > 1.07 alpha > 3 alpha/sqrt(8.1) = 1.054 alpha` and
/// bring `x` back to `+1`. So once at `+1`, every later iterate is at least
/// `1 - 3 alpha_t/sqrt(8.1)`; over the last third (`t >= 20001`) that is
/// `1 - 0.00373`.
// claim: seed-amsgrad-two-step-max
#[test]
fn seed_amsgrad_two_step_max_counterexample() {
    let betas = (0.0, 0.999);
    let rule = AdamConfig {
        lr: 1.0,
        betas,
        eps: 0.0,
        amsgrad: Amsgrad::Paper,
        ..AdamConfig::default()
    };
    let mut c = AdamCoord {
        exp_avg: 0.0,
        exp_avg_sq: 0.0,
        max_exp_avg_sq: 0.0,
    };
    let mut denominators = Vec::new();
    for t in 1..=5u64 {
        let g = if t == 1 { 10.0 } else { 0.0 };
        c.max_exp_avg_sq = c.exp_avg_sq;
        let (_, next) = rule.update(t, 0.0, g, c);
        c = next;
        denominators.push(c.max_exp_avg_sq);
    }
    let v1 = (1.0 - betas.1) * 100.0;
    assert_eq!(denominators[0], denominators[1]);
    assert!((denominators[0] - v1).abs() <= ULP * v1);
    for t in 2..5 {
        // 1/sqrt(denominator) grows: the effective step lr/sqrt(.) increases.
        assert!(denominators[t] < denominators[t - 1], "t={}", t + 1);
    }

    // Part 2.
    let alpha = 0.5;
    let steps = 30_000u64;
    let (xs, _) = run_seed_two_step(ReddiOnline::section3(), (0.0, 0.1), alpha, steps);
    let last = &xs[(2 * steps / 3) as usize..];
    let floor = 1.0 - 3.0 * alpha / (20_001f64.sqrt() * 8.1f64.sqrt());
    assert!(min(last) >= floor, "min {} < {floor}", min(last));
    assert!(mean(last) >= floor);
}

/// Corrected statement: with the running maximum over all past `v` (the crate's
/// `Amsgrad::Paper`), the same two histories give a non-increasing effective
/// step (the maximum stays `v_1`), and on the section 3 problem the iterates go to
/// the optimum `-1`
/// (`adam_fails_reddi_section3` derives the bound `-1 + 2 alpha_t/sqrt(8.1)`).
// claim: seed-amsgrad-two-step-max
#[test]
fn seed_amsgrad_corrected_running_max() {
    let mut opt = adam(AdamConfig {
        lr: 1.0,
        betas: (0.0, 0.999),
        eps: 0.0,
        amsgrad: Amsgrad::Paper,
        ..AdamConfig::default()
    });
    let mut prev = 0.0;
    for t in 1..=5u64 {
        let g = if t == 1 { 10.0 } else { 0.0 };
        let mut theta = DVector::from_element(1, 0.0);
        opt.step(&mut theta, &DVector::from_element(1, g)).unwrap();
        let vm = vmax(&opt);
        assert!(vm >= prev);
        prev = vm;
    }
    assert_eq!(prev, (1.0 - 0.999) * 100.0); // v_1, kept

    let alpha = 0.5;
    let steps = 30_000u64;
    let cfg = AdamConfig {
        betas: (0.0, 0.1),
        eps: 0.0,
        amsgrad: Amsgrad::Paper,
        ..AdamConfig::default()
    };
    let xs = run_online(ReddiOnline::section3(), cfg, alpha, steps);
    let last = &xs[(2 * steps / 3) as usize..];
    let ceiling = -1.0 + 2.0 * alpha / (20_001f64.sqrt() * 8.1f64.sqrt());
    assert!(max(last) <= ceiling, "max {} > {ceiling}", max(last));
}

// ---- adam-fails-reddi ---------------------------------------------------------

/// Reddi, Kale and Kumar, section 3, with `C = 3`: `f_t = 3x` when `t mod 3 = 1`,
/// else `-x`, on `[-1, 1]`; `b1 = 0`, `b2 = 1/(1 + C^2) = 1/10`,
/// `alpha_t = 0.5/sqrt(t)`, `eps = 0`, projection after each step. Adam (the
/// crate's, bias-corrected; with `b1 = 0` only `bc2 = 1 - 10^-t` differs from the
/// paper's Adam, and it is 1 in double precision from `t = 17` on) settles at
/// `+1`; AMSGrad (the paper's) goes to `-1`.
///
/// Bounds over the last third (`t >= 20001`, `alpha_t <= 0.5/sqrt(20001)`):
/// - Adam. Every `v` is at most 9, and `v >= 0.9 * 9 = 8.1` at a large-gradient
///   step, and `v-hat = v/bc2 >= v`; so that step moves down by at most
///   `3 alpha_t/sqrt(8.1) = 1.054 alpha_t`.
///   The next two steps have `v <= 0.1 * 9 + 0.9 = 1.8` and `v <= 0.1 * 1.8 + 0.9
///   = 1.08`, so they move up by at least `(1/sqrt(1.8) + 1/sqrt(1.08)) alpha
///   = 1.707 alpha`: back to `+1`. Hence every iterate is at least
///   `1 - 1.054 alpha_t >= 0.99627`, and so is the average.
/// - AMSGrad. The maximum is at least 8.1 after step 1 and at most 9. At `-1`,
///   the two upward steps rise by at most `2 alpha_t/sqrt(8.1)`, and the next
///   large step (`3 alpha_t/sqrt(vmax) >= alpha_t`) brings `x` back to `-1`.
///   Hence every iterate is at most `-1 + 2 alpha_t/sqrt(8.1) <= -0.99751`.
///
/// The test also checks that both reached their end well before the last third.
// claim: adam-fails-reddi
#[test]
fn adam_fails_reddi_section3() {
    let problem = ReddiOnline::section3();
    let alpha = 0.5;
    let steps = 30_000u64;
    let base = AdamConfig {
        betas: (0.0, 1.0 / (1.0 + 9.0)),
        eps: 0.0,
        ..AdamConfig::default()
    };
    let adam_xs = run_online(problem, base, alpha, steps);
    let ams_xs = run_online(
        problem,
        AdamConfig {
            amsgrad: Amsgrad::Paper,
            ..base
        },
        alpha,
        steps,
    );
    let third = (2 * steps / 3) as usize;
    let a_t = alpha / 20_001f64.sqrt();
    let floor = 1.0 - 3.0 * a_t / 8.1f64.sqrt();
    let ceiling = -1.0 + 2.0 * a_t / 8.1f64.sqrt();
    let (adam_last, ams_last) = (&adam_xs[third..], &ams_xs[third..]);
    assert!(
        min(adam_last) >= floor,
        "Adam min {} < {floor}",
        min(adam_last)
    );
    assert!(mean(adam_last) >= floor);
    assert!(
        max(ams_last) <= ceiling,
        "AMSGrad max {} > {ceiling}",
        max(ams_last)
    );
    assert!(mean(ams_last) <= ceiling);
    // Both reached their end early (in the first 1000 steps).
    assert!(adam_xs[..1000].contains(&1.0));
    assert!(ams_xs[..1000].contains(&-1.0));
}

// ---- adam-fails-reddi-synthetic -----------------------------------------------

/// Reddi et al., section 5: `f_t = 1010x` when `t mod 101 = 1`, else `-10x`, on
/// `[-1, 1]`, `betas = (0.9, 0.99)`. The paper does not give the step size of
/// Figure 1; we take `alpha_t = 0.5/sqrt(t)` as in its section 2 and `eps = 0`.
///
/// Adam. In the last third `bc1 = bc2 = 1` in double precision (`0.9^20000`
/// underflows, `0.99^20000 < 1e-87`). Before a large gradient `m >= -10` and, after
/// 100 steps of `-10`, `m <= -10 + 0.003`; so `m_t <= 101 - 0.9 * 9.997 = 92.003`
/// after it, and `m_{t+k} <= 0.9^k (m_t + 10) - 10 < 102.003 * 0.9^k`, while
/// `v_{t+k} >= 0.99^k * 10201`. The downward steps of a period therefore sum to at
/// most `alpha_t (102.003/101) sum_k (0.9/sqrt(0.99))^k = 10.58 alpha_t`. If `x`
/// is back at `+1` when the large gradient comes (the test checks the outcome),
/// every iterate of the last third is at least `1 - 10.58 * 0.5/sqrt(19900) =
/// 0.9625` (the period containing step 20001 may start 100 steps earlier).
///
/// AMSGrad (the paper's). The maximum of `v` is reached at large-gradient steps;
/// with `v_big' = 0.99 (0.99^100 v_big + 100 (1 - 0.99^100)) + 10201` it increases
/// to the fixed point 16096.8, so `sqrt(vmax) <= 126.88 < 127`. Over one period
/// the first moments sum to `10 - O(1000 * 0.9^100) >= 9.9` (the sum of the
/// period's gradients; exactly 10 up to terms of size `0.9^100`), and the positive
/// ones come first, at the larger step sizes; so the period moves `x` down by at
/// least `9.9 alpha_{t+100}/127` unless the projection at `-1` intervenes. The
/// test checks this drift for every period of the last third. It sums to
/// infinity (as `sqrt(T)`), so `x_t -> -1`; after 30000 steps the iterate is
/// still on its way (the average of the last third is -0.86).
// claim: adam-fails-reddi-synthetic
#[test]
fn adam_fails_reddi_synthetic() {
    let problem = ReddiOnline::synthetic();
    let alpha = 0.5;
    let steps = 30_000u64;
    let base = AdamConfig {
        betas: (0.9, 0.99),
        eps: 0.0,
        ..AdamConfig::default()
    };
    let adam_xs = run_online(problem, base, alpha, steps);
    let ams_xs = run_online(
        problem,
        AdamConfig {
            amsgrad: Amsgrad::Paper,
            ..base
        },
        alpha,
        steps,
    );
    let third = (2 * steps / 3) as usize;
    let floor = 1.0 - 10.58 * alpha / 19_900f64.sqrt();
    let adam_last = &adam_xs[third..];
    assert!(
        min(adam_last) >= floor,
        "Adam min {} < {floor}",
        min(adam_last)
    );
    assert!(mean(adam_last) >= floor);

    let ams_last = &ams_xs[third..];
    assert!(mean(ams_last) < 0.0);
    // Periods start at t = 101 k + 1; xs[t - 2] is the iterate the large gradient
    // of step t meets, xs[t - 2 + 101] the one the next large gradient meets.
    let mut periods = 0;
    for t in (20_001u64..steps - 101).filter(|t| t % 101 == 1) {
        let start = ams_xs[(t - 2) as usize];
        let window = &ams_xs[(t - 2) as usize..(t - 2 + 102) as usize];
        let end = ams_xs[(t - 2 + 101) as usize];
        let drift = 9.9 * alpha / ((t + 100) as f64).sqrt() / 127.0;
        assert!(
            min(window) == -1.0 || end <= start - drift,
            "t={t}: {start} -> {end}, drift {drift}"
        );
        periods += 1;
    }
    assert!(periods >= 98);
}

// ---- amsgrad-three-conventions ------------------------------------------------

/// The three AMSGrad conventions on the same gradients `1, 0, 0`, with
/// `betas = (1/2, 15/16)`, `lr = 1`, `eps = 0`. The moments are exact:
/// `m = 1/2, 1/4, 1/8`, `v = 1/16, 15/256, 225/4096`, `bc1 = 1/2, 3/4, 7/8`,
/// `bc2 = 1/16, 31/256, 721/4096`. The maximum of the raw `v` is `1/16`; the
/// maximum of `v/bc2` is `1` (from step 1). Steps:
/// - paper, `m/sqrt(max v)`: `2, 1, 1/2`;
/// - PyTorch, `(m/bc1)/(sqrt(max v)/sqrt(bc2))`: `1, (1/3) sqrt(31/16)
///   = 0.46398, (1/7) sqrt(721/256) = 0.23975`;
/// - Optax, `(m/bc1)/sqrt(max v/bc2)`: `1, 1/3, 1/7`.
///
/// Three trajectories, pairwise different from step 1 (paper against the others)
/// or step 2 (PyTorch against Optax). Tolerance: 16 ulps (see `tests/adam.rs`).
// claim: amsgrad-three-conventions
#[test]
fn amsgrad_three_conventions_closed_form() {
    let expected: [(Amsgrad, [f64; 3]); 3] = [
        (Amsgrad::Paper, [2.0, 1.0, 0.5]),
        (
            Amsgrad::PyTorch,
            [
                1.0,
                (31.0f64 / 16.0).sqrt() / 3.0,
                (721.0f64 / 256.0).sqrt() / 7.0,
            ],
        ),
        (Amsgrad::Optax, [1.0, 1.0 / 3.0, 1.0 / 7.0]),
    ];
    let mut trajectories = Vec::new();
    for (amsgrad, steps) in expected {
        let mut opt = adam(AdamConfig {
            lr: 1.0,
            betas: (0.5, 15.0 / 16.0),
            eps: 0.0,
            amsgrad,
            ..AdamConfig::default()
        });
        let mut theta = DVector::from_element(1, 0.0);
        let mut path = Vec::new();
        for (k, g) in [1.0, 0.0, 0.0].into_iter().enumerate() {
            let before = theta[0];
            opt.step(&mut theta, &DVector::from_element(1, g)).unwrap();
            let delta = before - theta[0];
            assert!(
                (delta - steps[k]).abs() <= 16.0 * ULP * steps[k] + ULP * before.abs(),
                "{amsgrad:?} step {}: {delta} vs {}",
                k + 1,
                steps[k]
            );
            path.push(theta[0]);
        }
        trajectories.push(path);
    }
    let (paper, pytorch, optax) = (&trajectories[0], &trajectories[1], &trajectories[2]);
    assert!((paper[0] - pytorch[0]).abs() > 0.5);
    assert!((pytorch[1] - optax[1]).abs() > 0.1);
    assert!(paper.iter().zip(optax).all(|(a, b)| (a - b).abs() > 0.5));
}

proptest! {
    #![proptest_config(config())]

    /// The three conventions share `m` and `v`; they differ only in the
    /// denominator. Two exact relations on every history (with `eps = 0`):
    /// Optax's maximum `max_s v_s/bc2_s` is at least PyTorch's `max_s v_s / bc2_t`
    /// (as `bc2_s <= bc2_t`), so Optax's step is never longer than PyTorch's; and
    /// the paper's step is PyTorch's times `bc1/sqrt(bc2)`. Both are compared up to
    /// the rounding of two steps (16 ulps each).
    // claim: amsgrad-three-conventions
    #[test]
    fn amsgrad_three_conventions_relations(
        steps in 1usize..200,
        seed in any::<u64>(),
        beta1 in 0.0f64..0.999,
        beta2 in 0.0f64..0.9999,
    ) {
        let make = |amsgrad| adam(AdamConfig { lr: 1.0, betas: (beta1, beta2), eps: 0.0, amsgrad, ..AdamConfig::default() });
        let (mut paper, mut pytorch, mut optax) = (make(Amsgrad::Paper), make(Amsgrad::PyTorch), make(Amsgrad::Optax));
        // Start from a non-zero gradient so that v > 0 and eps = 0 is safe.
        let mut grads = history(seed, steps);
        grads[0] = 1.0;
        for (k, g) in grads.into_iter().enumerate() {
            let t = (k + 1) as u64;
            let (a, b, c) = (step_from_zero(&mut paper, g), step_from_zero(&mut pytorch, g), step_from_zero(&mut optax, g));
            let tol = 32.0 * ULP;
            prop_assert!(c.abs() <= b.abs() * (1.0 + tol), "t={}: optax {} pytorch {}", t, c, b);
            let (bc1, bc2) = (bias_correction(beta1, t), bias_correction(beta2, t));
            let predicted = b * bc1 / bc2.sqrt();
            prop_assert!((a - predicted).abs() <= tol * predicted.abs(), "t={}: paper {} vs {}", t, a, predicted);
        }
    }
}
