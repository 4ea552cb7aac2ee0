//! Claims of the chapter on Adamax, NAdam and RAdam.

mod common;

use common::{fixture_dir, numbers, rows};

use descent::optim::moments::{ema, ema_sq};
use descent::optim::{
    Adamax, AdamaxConfig, NAdam, NAdamConfig, Optimizer, RAdam, RAdamConfig, WeightDecay,
};
use nalgebra::DVector;
use serde_json::Value;

/// Unit roundoff of `f64`.
const U: f64 = f64::EPSILON / 2.0;

/// A deterministic, irregular sequence in [-1, 1] (a linear congruential generator).
fn sequence(len: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

// ------------------------------------------------------------------ Adamax

/// Adamax's `u_t` (with `eps = 0`) is the limit of Adam's p-th moment taken to the
/// power `1/p`: for every `p`,
/// `(1 - beta2^p)^(1/p) u_t <= v_t(p)^(1/p) <= (t (1 - beta2^p))^(1/p) u_t`, where
/// `v_t(p) = (1 - beta2^p) sum_i beta2^(p (t-i)) |g_i|^p`. Both bounds tend to
/// `u_t` as `p` grows.
///
/// The p-norm is evaluated in logarithms (log-sum-exp), so it neither overflows
/// nor underflows. Tolerance: `ln u_t` and the logarithm of the sum carry errors
/// of a few `u` times `|ln|` of the terms, and the crate's `u_t` is a product of
/// up to `t` roundings (`t u` relative); the bounds are checked in logarithms
/// with a slack of `(t + 8) u (1 + max |ln term|)`, twice that first-order count.
// claim: adamax-infinity-norm-limit
#[test]
fn adamax_state_is_the_limit_of_adams_p_norm() {
    for (beta2, t) in [(0.999, 50usize), (0.9, 30), (0.5, 20), (0.0, 5)] {
        let config = AdamaxConfig {
            betas: (0.9, beta2),
            eps: 0.0,
            ..AdamaxConfig::default()
        };
        let mut opt = Adamax::new(config).expect("valid");
        let grads: Vec<f64> = sequence(t, 11 + t as u64)
            .into_iter()
            .map(|x| if x == 0.0 { 0.5 } else { x * 3.0 })
            .collect();
        let mut theta = DVector::from_element(1, 0.3);
        for &g in &grads {
            opt.step(&mut theta, &DVector::from_element(1, g))
                .expect("step taken");
        }
        let u_t = opt.state().expect("state").exp_inf[0];
        // The closed form of the limit: max_i beta2^(t-i) |g_i|.
        let closed = grads
            .iter()
            .enumerate()
            .map(|(i, g)| beta2.powi((t - 1 - i) as i32) * g.abs())
            .fold(0.0, f64::max);
        assert!(
            (u_t - closed).abs() <= 2.0 * (t as f64 + 2.0) * U * closed,
            "beta2 = {beta2}: u_t = {u_t}, max_i beta2^(t-i)|g_i| = {closed}"
        );
        let mut last_gap = f64::INFINITY;
        for p in [1.0, 2.0, 4.0, 16.0, 64.0, 256.0, 1024.0] {
            // ln of each term beta2^(p (t-i)) |g_i|^p (beta2 = 0: only the last term).
            let logs: Vec<f64> = grads
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    let age = (t - 1 - i) as f64;
                    let decay = if age == 0.0 {
                        0.0
                    } else {
                        p * age * beta2.ln()
                    };
                    decay + p * g.abs().ln()
                })
                .collect();
            let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = logs.iter().map(|l| (l - top).exp()).sum();
            let weight = 1.0 - beta2.powf(p);
            let ln_norm = (weight.ln() + top + sum.ln()) / p;
            let ln_u = u_t.ln();
            let worst = logs.iter().map(|l| l.abs()).fold(0.0, f64::max) / p + ln_u.abs();
            let slack = 2.0 * (t as f64 + 8.0) * U * (1.0 + worst);
            let lower = weight.ln() / p + ln_u;
            let upper = ((t as f64).ln() + weight.ln()) / p + ln_u;
            assert!(
                ln_norm >= lower - slack && ln_norm <= upper + slack,
                "beta2 = {beta2}, p = {p}: ln v^(1/p) = {ln_norm} outside [{lower}, {upper}]"
            );
            // The gap to u_t closes as p grows (it is at most ln(t) / p).
            let gap = (ln_norm - ln_u).abs();
            assert!(gap <= (t as f64).ln() / p + (1.0 - weight).max(0.0) / p + slack);
            assert!(gap <= last_gap + slack);
            last_gap = gap;
        }
        assert!(
            last_gap < 5e-3,
            "beta2 = {beta2}: gap {last_gap} at p = 1024"
        );
    }
}

// ------------------------------------------------------------------ NAdam

/// PyTorch's momentum schedule `mu_t = beta1 (1 - 0.5 * 0.96^(t psi))` lies in
/// `[beta1 / 2, beta1)`, never decreases, and tends to `beta1`; with
/// `momentum_decay = 0` it is the constant `beta1 / 2`, not `beta1`. (Computed in
/// `f64`, `mu_t` reaches `beta1` itself once `0.5 * 0.96^(t psi)` is below half an
/// ulp of 1, so the test allows `mu_t <= beta1`.)
// claim: nadam-momentum-schedule
#[test]
fn nadam_momentum_schedule_rises_from_half_beta1() {
    for beta1 in [0.0, 0.3, 0.9, 0.99] {
        for psi in [0.0, 4e-3, 0.04, 1.0] {
            let c = NAdamConfig {
                betas: (beta1, 0.999),
                momentum_decay: psi,
                ..NAdamConfig::default()
            };
            let mut last = 0.0;
            for t in (1..=100_000u64).step_by(97) {
                let mu = c.mu(t);
                assert!(mu >= beta1 / 2.0, "beta1 {beta1}, psi {psi}, t {t}: {mu}");
                // Below beta1 in exact arithmetic; in floating point equal to it once
                // 0.5 * 0.96^(t psi) is below half an ulp of 1.
                assert!(mu <= beta1, "beta1 {beta1}, psi {psi}: {mu}");
                assert!(mu >= last, "decreases at t = {t}");
                last = mu;
                if psi == 0.0 {
                    assert_eq!(mu, beta1 / 2.0);
                }
            }
            if psi >= 4e-3 {
                // 0.96^(1e5 * 4e-3) = 0.96^400 < 1e-7: within 1e-7 of beta1.
                assert!(beta1 - last <= 1e-7 * beta1, "beta1 {beta1}, psi {psi}");
            }
        }
    }
    // The default schedule over the first thousand steps: from 0.45 to about 0.52.
    let d = NAdamConfig::default();
    assert!((d.mu(1) - 0.45).abs() < 1e-4 && (d.mu(1000) - 0.5178).abs() < 1e-4);
}

/// With a constant coefficient `mu_t = beta1` (a `momentum_decay` so large that
/// `0.96^(t psi)` is 0), NAdam's step is Adam's with `m_t` replaced by the
/// look-ahead `beta1 m_t + (1 - beta1) g_t`, each part bias-corrected by its own
/// power: `theta - lr (beta1 m_t / (1 - beta1^(t+1)) + (1 - beta1) g_t / (1 - beta1^t))
/// / (sqrt(v_t / (1 - beta2^t)) + eps)`.
///
/// Tolerance: the crate and this formula evaluate the same quantities in a
/// different order; each side has about ten roundings on terms no larger than the
/// step, so they agree within `20 u` of the step plus `2 u |theta|`.
// claim: nadam-constant-momentum-is-nesterov-adam
#[test]
fn nadam_with_constant_momentum_is_adam_with_a_look_ahead() {
    let (lr, beta1, beta2, eps) = (0.01, 0.9, 0.99, 1e-8);
    let c = NAdamConfig {
        lr,
        betas: (beta1, beta2),
        eps,
        momentum_decay: 1e6,
        ..NAdamConfig::default()
    };
    assert_eq!(c.mu(1), beta1);
    let mut opt = NAdam::new(c).expect("valid");
    let n = 4;
    let mut theta = DVector::from_vec(vec![0.5, -1.0, 2.0, 0.0]);
    let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
    let xs = sequence(n * 60, 5);
    for t in 1..=60usize {
        let g = DVector::from_column_slice(&xs[(t - 1) * n..t * n]);
        let before = theta.clone();
        opt.step(&mut theta, &g).expect("step taken");
        let bc = |b: f64, k: usize| 1.0 - b.powi(k as i32);
        for i in 0..n {
            m[i] = ema(m[i], g[i], beta1);
            v[i] = ema_sq(v[i], g[i], beta2);
            let look_ahead = beta1 * m[i] / bc(beta1, t + 1) + (1.0 - beta1) * g[i] / bc(beta1, t);
            let step = lr * look_ahead / ((v[i] / bc(beta2, t)).sqrt() + eps);
            let want = before[i] - step;
            let tolerance = 20.0 * U * step.abs() + 2.0 * U * before[i].abs();
            assert!(
                (theta[i] - want).abs() <= tolerance,
                "t = {t}, i = {i}: {} vs {want}",
                theta[i]
            );
        }
    }
}

// ------------------------------------------------------------------ RAdam

/// For every `beta2` with `rho_inf > 5`: `rho_1 = 1`; `rho_t` increases with `t`
/// towards `rho_inf`; and wherever `rho_t > 4` the rectification factor satisfies
/// `0 < r_t < 1`, increases with `t` and tends to 1.
///
/// In floating point `rho_t` is checked to increase up to `8 u rho_inf` (a few
/// roundings on numbers of size `rho_inf`), and `r_t` up to `8 u`; once `beta2^t`
/// underflows, `rho_t` equals `rho_inf` and `r_t` is 1 up to those roundings, so
/// `r_t < 1` is asserted only while `rho_t < (1 - 1e-12) rho_inf`.
// claim: radam-rectification-below-one
#[test]
fn radam_rectification_rises_to_one_from_below() {
    for beta2 in [0.7, 0.9, 0.99, 0.999, 0.9999] {
        let c = RAdamConfig {
            betas: (0.9, beta2),
            ..RAdamConfig::default()
        };
        let rho_inf = c.rho_inf();
        assert!(rho_inf > 5.0);
        assert!(
            (c.rho(1) - 1.0).abs() <= 8.0 * U * rho_inf,
            "rho_1 = {}",
            c.rho(1)
        );
        let (mut last_rho, mut last_r) = (f64::NEG_INFINITY, 0.0);
        let horizon = (200.0 / (1.0 - beta2)) as u64;
        let mut t = 1;
        while t <= horizon {
            let rho = c.rho(t);
            // Strictly below in exact arithmetic; equal once beta2^t underflows.
            assert!(rho <= rho_inf, "beta2 {beta2}, t {t}");
            assert!(
                rho >= last_rho - 8.0 * U * rho_inf,
                "rho decreases at t = {t}"
            );
            last_rho = rho;
            if let Some(r) = c.rectification(t) {
                assert!(
                    r > 0.0 && r <= 1.0 + 8.0 * U,
                    "beta2 {beta2}, t {t}: r = {r}"
                );
                if rho < rho_inf * (1.0 - 1e-12) {
                    assert!(r < 1.0, "beta2 {beta2}, t {t}: r = {r}");
                }
                assert!(r >= last_r - 8.0 * U, "r decreases at t = {t}");
                last_r = r;
            }
            t = if t < 100 { t + 1 } else { t + t / 10 };
        }
        assert!(
            last_r > 0.999,
            "beta2 {beta2}: r = {last_r} at t = {horizon}"
        );
    }
}

/// The paper's Algorithm 2 rectifies once `rho_t > 4`; PyTorch (its documentation
/// and its code) only once `rho_t > 5`. With the default `beta2 = 0.999` the paper
/// rectifies from step 5 (`rho_5 ~ 4.996`, `r_5 ~ 0.0173`) and PyTorch from step 6
/// (`rho_6 ~ 5.994`, `r_6 ~ 0.0258`): PyTorch's step 5 is the unrectified
/// `theta - lr m_hat`. Checked on PyTorch's own iterates: in the fixture
/// `radam/defaults`, step 5 equals the unrectified step to the bit (it has no
/// square root) and differs from the paper's rectified one.
// claim: radam-threshold-five-not-four
#[test]
fn radam_pytorch_switches_at_rho_five_not_four() {
    let c = RAdamConfig::default();
    let rho5 = c.rho(5);
    assert!(rho5 > 4.0 && rho5 <= 5.0, "rho_5 = {rho5}");
    assert!(c.rho(6) > 5.0 && c.rho(4) <= 4.0);
    assert_eq!(c.rectification(5), None);
    let r6 = c.rectification(6).expect("rectified at t = 6");
    assert!((r6 - 0.02582).abs() < 1e-5, "r_6 = {r6}");
    let r5_paper = ((rho5 - 4.0) * (rho5 - 2.0) * c.rho_inf()
        / ((c.rho_inf() - 4.0) * (c.rho_inf() - 2.0) * rho5))
        .sqrt();
    assert!(
        (r5_paper - 0.01731).abs() < 1e-5,
        "paper's r_5 = {r5_paper}"
    );

    // PyTorch's iterates: rebuild m and v from the fixture's gradients, then step 5.
    let text = std::fs::read_to_string(fixture_dir("pytorch").join("radam.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let case = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "defaults")
        .expect("radam.json has its defaults case");
    assert!(case["hyper"].as_object().unwrap().is_empty());
    let grads = rows(&case["grads"], "grads");
    let expected = rows(&case["expected"], "expected");
    let n = numbers(&case["params"], "params").len();
    let (lr, (beta1, beta2), eps) = (c.lr, c.betas, c.eps);
    let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
    for g in &grads[..5] {
        for i in 0..n {
            m[i] = ema(m[i], g[i], beta1);
            v[i] = ema_sq(v[i], g[i], beta2);
        }
    }
    let bc1 = 1.0 - beta1.powf(5.0);
    let bc2 = 1.0 - beta2.powf(5.0);
    let mut differs = 0;
    for i in 0..n {
        let before = expected[3][i];
        let m_hat = m[i] / bc1;
        let unrectified = before - m_hat * lr;
        assert_eq!(
            expected[4][i], unrectified,
            "coordinate {i}: PyTorch's step 5"
        );
        let paper = before - m_hat * lr * r5_paper * bc2.sqrt() / (v[i].sqrt() + eps);
        if paper != expected[4][i] {
            differs += 1;
        }
    }
    assert_eq!(
        differs, n,
        "the paper's step 5 would differ in every coordinate"
    );

    // The crate follows PyTorch: same parameters as the fixture after step 5.
    let mut opt = RAdam::new(RAdamConfig {
        weight_decay: WeightDecay::None,
        ..c
    })
    .unwrap();
    let mut theta = DVector::from_vec(numbers(&case["params"], "params"));
    for g in &grads[..5] {
        opt.step(&mut theta, &DVector::from_vec(g.clone())).unwrap();
    }
    assert_eq!(theta.as_slice(), expected[4].as_slice());
}

// ------------------------------------------------------------------ exercises

/// Exercise 1: Adamax's first step (with `eps = 0`) moves every coordinate with a
/// non-zero gradient by exactly `lr`, against the sign of its gradient, whatever
/// the gradient's size. Tolerance: `m_1 = (1 - beta1) g` and `clr = lr / (1 -
/// beta1)` are each rounded once, the product and the quotient once more: four
/// roundings of relative size `u` on a step of size `lr`.
// claim: exercise-adam-variants-1
#[test]
fn exercise_adam_variants_1_adamax_first_step_is_lr_sign() {
    let lr = 0.01;
    let grads = [1e-8, -3.0, 250.0, -0.5, 7e5];
    for beta1 in [0.0, 0.5, 0.9, 0.999] {
        let mut opt = Adamax::new(AdamaxConfig {
            lr,
            betas: (beta1, 0.999),
            eps: 0.0,
            ..AdamaxConfig::default()
        })
        .unwrap();
        let mut theta = DVector::from_element(grads.len(), 1.0);
        opt.step(&mut theta, &DVector::from_row_slice(&grads))
            .unwrap();
        for (i, g) in grads.iter().enumerate() {
            let step = theta[i] - 1.0;
            let want = -lr * g.signum();
            // Subtracting from 1 adds one more rounding, of size u * 1.
            assert!(
                (step - want).abs() <= 4.0 * U * lr + U,
                "beta1 {beta1}, g {g}: step {step}"
            );
        }
    }
}

/// Exercise 4: with a constant gradient `g` and PyTorch's defaults, RAdam's step 5
/// has length `lr |g|` (the unrectified step) and step 6 has length `lr r_6`,
/// whatever `|g|` is.
/// Tolerance: `eps` shifts the rectified step by the relative amount
/// `eps / (|g| sqrt(1 - beta2^6))` at most (about `1.3e-4` for `|g| = 1e-3`);
/// on top of that each step carries a few roundings relative to the step and
/// the subtraction from `theta` (`|theta| <= 2`) one of size `2u`: the test allows
/// `(rel + 8u) step + 16u`.
// claim: exercise-adam-variants-4
#[test]
fn exercise_adam_variants_4_radam_step_jumps_at_the_switch() {
    let c = RAdamConfig::default();
    let r6 = c.rectification(6).unwrap();
    for g in [1e-3, 0.026, 1.0, 100.0] {
        let mut opt = RAdam::new(c).unwrap();
        let mut theta = DVector::from_element(1, 1.0);
        let grad = DVector::from_element(1, g);
        let mut lengths = Vec::new();
        for _ in 0..6 {
            let before = theta[0];
            opt.step(&mut theta, &grad).unwrap();
            lengths.push(before - theta[0]);
        }
        let (s5, s6) = (lengths[4], lengths[5]);
        let rel = c.eps / (g * (1.0 - c.betas.1.powi(6)).sqrt());
        assert!(
            (s5 - c.lr * g).abs() <= 8.0 * U * c.lr * g + 16.0 * U,
            "g = {g}: step 5 is {s5}"
        );
        assert!(
            (s6 - c.lr * r6).abs() <= (rel + 8.0 * U) * c.lr * r6 + 16.0 * U,
            "g = {g}: step 6 is {s6}"
        );
    }
}

/// Exercise 2: `momentum_decay = 0` makes every coefficient `mu_t = beta1 / 2`
/// exactly (`0.96^0 = 1`, and halving is exact), so NAdam runs with half the
/// momentum: its steps are the constant-coefficient steps with `mu = beta1 / 2`,
/// and they differ from those with `mu = beta1`. A `momentum_decay` with
/// `0.5 * 0.96^psi <= 2^-54` (half the spacing of doubles below 1; about
/// `psi >= 900`) gives `mu_t = beta1` from the first step; `psi = 800` does not.
///
/// Tolerance: the formula below does the crate's operations on the same numbers,
/// but not in the same order; as in the claim `nadam-constant-momentum-is-nesterov-adam`
/// each side has about ten roundings on terms no larger than the step, so they
/// agree within `20 u` of the step plus `2 u |theta|`.
// claim: exercise-adam-variants-2
#[test]
fn exercise_adam_variants_2_nadam_momentum_decay_zero_halves_beta1() {
    let (lr, beta1, beta2, eps) = (0.01, 0.9, 0.999, 1e-8);
    let config = |psi: f64| NAdamConfig {
        lr,
        betas: (beta1, beta2),
        eps,
        momentum_decay: psi,
        ..NAdamConfig::default()
    };
    let flat = config(0.0);
    for t in (1..=1_000_000u64).step_by(9973) {
        assert_eq!(flat.mu(t), beta1 / 2.0, "t = {t}");
    }
    // The trajectory uses mu = beta1 / 2 at every step.
    let mu = beta1 / 2.0;
    let mut opt = NAdam::new(flat).expect("valid");
    let mut full = NAdam::new(config(1e6)).expect("valid");
    let n = 3;
    let mut theta = DVector::from_vec(vec![0.5, -1.0, 2.0]);
    let mut theta_full = theta.clone();
    let (mut m, mut v, mut product) = (vec![0.0; n], vec![0.0; n], 1.0);
    let xs = sequence(n * 40, 11);
    let mut largest_gap: f64 = 0.0;
    for t in 1..=40usize {
        let g = DVector::from_column_slice(&xs[(t - 1) * n..t * n]);
        let before = theta.clone();
        opt.step(&mut theta, &g).expect("step taken");
        full.step(&mut theta_full, &g).expect("step taken");
        product *= mu;
        let bc2 = 1.0 - beta2.powi(t as i32);
        for i in 0..n {
            m[i] = ema(m[i], g[i], beta1);
            v[i] = ema_sq(v[i], g[i], beta2);
            let d = (v[i] / bc2).sqrt() + eps;
            let step = lr * (1.0 - mu) / (1.0 - product) * g[i] / d
                + lr * mu / (1.0 - product * mu) * m[i] / d;
            let want = before[i] - step;
            let tolerance = 20.0 * U * step.abs() + 2.0 * U * before[i].abs();
            assert!(
                (theta[i] - want).abs() <= tolerance,
                "t = {t}, i = {i}: {} vs {want}",
                theta[i]
            );
            largest_gap = largest_gap.max((theta[i] - theta_full[i]).abs());
        }
    }
    // Half the momentum is a different method: the runs part by far more than
    // rounding (the steps are of size lr = 0.01).
    assert!(largest_gap > 1e-3, "largest gap {largest_gap}");
    // The full coefficient from the first step needs 0.5 * 0.96^psi <= 2^-54.
    for psi in [1e3, 1e6] {
        assert!(0.5 * 0.96_f64.powf(psi) <= 2f64.powi(-54));
        assert_eq!(config(psi).mu(1), beta1, "psi = {psi}");
    }
    assert!(0.5 * 0.96_f64.powf(800.0) > 2f64.powi(-53));
    assert!(config(800.0).mu(1) < beta1);
}

/// Exercise 3: the centre of mass of the exponential weights
/// `w_k = (1 - beta2) beta2^k / (1 - beta2^t)`, `k = 0..t-1`, is
/// `beta2 / (1 - beta2) - t beta2^t / (1 - beta2^t)`, and `rho_t` (the crate's
/// [`RAdamConfig::rho`]) is twice it plus one, so `rho_1 = 1` for every `beta2`.
///
/// The reference is the centre of mass summed directly, `sum k beta2^k / sum
/// beta2^k`: positive terms only, with powers built by repeated multiplication,
/// so its relative error is at most `(4t + 4) u`. The closed form (and the
/// crate's `rho_t`) lose accuracy in `1 - beta2^t`: `beta2^t` carries a relative
/// error of at most `t u`, which `1 - beta2^t` amplifies by
/// `beta2^t / (1 - beta2^t)`; that lands on the term `T = t beta2^t / (1 -
/// beta2^t)`, with four more roundings, and the subtraction from
/// `rho_inf` adds `4 u rho_inf`. The bound is the sum of these. At `t = 1`,
/// `beta2^1` and `1 - beta2` are exact (Sterbenz), and `rho_1` is 1 within
/// `8 u rho_inf`.
// claim: exercise-adam-variants-3
#[test]
fn exercise_adam_variants_3_centre_of_mass_of_exponential_weights() {
    for beta2 in [0.5, 0.9, 0.99, 0.999, 0.9999] {
        let c = RAdamConfig {
            betas: (0.9, beta2),
            ..RAdamConfig::default()
        };
        let rho_inf = c.rho_inf();
        assert!(
            (c.rho(1) - 1.0).abs() <= 8.0 * U * rho_inf,
            "beta2 {beta2}: rho_1 = {}",
            c.rho(1)
        );
        let ts = (1..=20).chain([50, 100, 1000, 10_000]);
        for t in ts {
            let (mut power, mut weights, mut moments) = (1.0, 0.0, 0.0);
            for k in 0..t {
                weights += power;
                moments += k as f64 * power;
                power *= beta2;
            }
            let direct = moments / weights;
            let tf = t as f64;
            let bt = beta2.powf(tf);
            let term = tf * bt / (1.0 - bt);
            let closed = beta2 / (1.0 - beta2) - term;
            let from_rho = (c.rho(t) - 1.0) / 2.0;
            let tolerance = U
                * ((tf + 4.0) * bt / (1.0 - bt) * term
                    + 4.0 * term
                    + 4.0 * rho_inf
                    + (4.0 * tf + 4.0) * direct);
            assert!(
                (closed - direct).abs() <= tolerance,
                "beta2 {beta2}, t {t}: closed form {closed}, direct {direct}"
            );
            assert!(
                (from_rho - direct).abs() <= tolerance,
                "beta2 {beta2}, t {t}: (rho_t - 1) / 2 = {from_rho}, direct {direct}"
            );
        }
    }
}
