//! Exercises of the chapter "AdaGrad": each answer is checked on the crate's own
//! optimizers (`Sgd` for online gradient descent, `Adagrad`).

use descent::optim::{Adagrad, AdagradConfig, Optimizer, Sgd, SgdConfig};
use descent::problems::quadratic::SplitMix64;
use nalgebra::DVector;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

const EPS: f64 = f64::EPSILON;

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        rng_seed: RngSeed::Fixed(0x5eed_0a01),
        ..ProptestConfig::default()
    }
}

fn adagrad(lr: f64, eps: f64) -> Adagrad {
    Adagrad::new(AdagradConfig {
        lr,
        eps,
        ..AdagradConfig::default()
    })
    .expect("a valid AdaGrad configuration")
}

/// Steps a zero vector, so that the parameter after the step is the step itself
/// (`0 + u = u` exactly). AdaGrad without weight decay does not read the parameter,
/// so this observes the update of the real run.
fn observe(opt: &mut Adagrad, g: &DVector<f64>) -> DVector<f64> {
    let mut u = DVector::zeros(g.len());
    opt.step(&mut u, g).expect("a valid step");
    u
}

proptest! {
    #![proptest_config(config())]

    // claim: exercise-adagrad-1
    #[test]
    fn online_gradient_descent_regret_within_d2_root_sum(
        seed in any::<u64>(),
        d in 1usize..=6,
        horizon in 1usize..=200,
        drift in 0.0f64..2.0,
    ) {
        // Linear losses c_t . theta on the box [-1, 1]^d, c_t = drift mu + noise.
        let mut rng = SplitMix64::new(seed);
        let mu = DVector::from_fn(d, |_, _| rng.uniform(-1.0, 1.0));
        let cs: Vec<DVector<f64>> = (0..horizon)
            .map(|_| &mu * drift + DVector::from_fn(d, |_, _| rng.normal()))
            .collect();
        let sum_sq: f64 = cs.iter().map(|c| c.norm_squared()).sum();
        prop_assume!(sum_sq > 0.0);
        let d2 = 2.0 * (d as f64).sqrt(); // Euclidean diameter of the box
        let lr = d2 / sum_sq.sqrt(); // the best fixed rate of the exercise
        let mut opt = Sgd::new(SgdConfig { lr, ..SgdConfig::default() }).unwrap();
        let mut theta = DVector::from_fn(d, |_, _| rng.uniform(-1.0, 1.0));
        let mut paid = 0.0;
        let mut total = DVector::zeros(d);
        for c in &cs {
            paid += c.dot(&theta);
            total += c;
            opt.step(&mut theta, c).unwrap();
            theta.apply(|x| *x = x.clamp(-1.0, 1.0));
        }
        // The best fixed point of a linear loss on the box is -sign(total).
        let best = -total.iter().map(|x| x.abs()).sum::<f64>();
        let regret = paid - best;
        let bound = d2 * sum_sq.sqrt();
        // Rounding: each computed iterate differs from the exact projected step of
        // the computed one by at most eps (|theta| + lr |c|) per coordinate, which
        // adds at most (2 D2 |delta_t| + |delta_t|^2) / (2 lr) per round to the telescoped bound; the
        // sums of paid losses add T eps sum |c_t . theta_t|.
        let g_inf = cs.iter().map(|c| c.amax()).fold(0.0, f64::max);
        let delta = EPS * (d as f64).sqrt() * (1.0 + lr * g_inf);
        let sum_abs: f64 = cs.iter().map(|c| c.iter().map(|x| x.abs()).sum::<f64>()).sum();
        let allowance =
            horizon as f64 * ((2.0 * d2 * delta + delta * delta) / (2.0 * lr) + 2.0 * EPS * sum_abs);
        prop_assert!(regret <= bound + allowance, "regret {} bound {}", regret, bound);
    }

    // claim: exercise-adagrad-4
    #[test]
    fn adagrad_step_cost_is_at_most_twice_the_root_sum(
        seed in any::<u64>(),
        horizon in 1usize..=300,
        zeros in 0.0f64..0.8,
        scale_decades in 0.0f64..6.0,
    ) {
        let mut rng = SplitMix64::new(seed);
        let d = 3;
        let mut opt = adagrad(1.0, 0.0);
        let mut cost = DVector::<f64>::zeros(d);
        for t in 0..horizon {
            // Magnitudes over `scale_decades` decades, some zeros after step 1
            // (with eps = 0 the first gradient must be non-zero: 0/0 is refused).
            let g = DVector::from_fn(d, |_, _| {
                if t > 0 && rng.next_f64() < zeros {
                    0.0
                } else {
                    rng.normal() * 10f64.powf(scale_decades * rng.next_f64())
                }
            });
            let u = observe(&mut opt, &g);
            cost -= g.component_mul(&u);
        }
        let s = opt.state().unwrap().sum.clone();
        for i in 0..d {
            // Each term g^2 / sqrt(s) carries at most 4 roundings (square, sum
            // into s, root, quotient) and the running sum one more per term.
            let tol = (horizon as f64 + 4.0) * EPS * cost[i];
            prop_assert!(cost[i] <= 2.0 * s[i].sqrt() + tol, "coordinate {}", i);
        }
    }
}

// claim: exercise-adagrad-2
#[test]
fn sparse_features_bound_is_a_third_of_online_gradient_descents() {
    let (d, horizon) = (100usize, 10_000usize);
    let mut opt = adagrad(1.0, 1e-10);
    for t in 0..horizon {
        let mut g = DVector::zeros(d);
        g[0] = 1.0; // the busy coordinate
        if (1..d).contains(&(t + 1)) {
            g[t + 1] = -1.0; // rare coordinate t + 1, once
        }
        observe(&mut opt, &g);
    }
    let s = opt.state().unwrap().sum.clone();
    // All sums are small integers, exact; sqrt(10000) = 100 and sqrt(1) = 1 exactly.
    let root_sum: f64 = s.iter().map(|x| x.sqrt()).sum();
    assert_eq!(root_sum, 199.0);
    let total: f64 = s.iter().sum();
    assert_eq!(total, 10_099.0);
    let d_inf = 2.0;
    let adagrad_bound = std::f64::consts::SQRT_2 * d_inf * root_sum;
    let ogd_bound = (d as f64).sqrt() * d_inf * total.sqrt();
    assert!((adagrad_bound - 562.86).abs() < 0.01, "{adagrad_bound}");
    assert!((ogd_bound - 2009.88).abs() < 0.01, "{ogd_bound}");
    assert!((ogd_bound / adagrad_bound - 3.571).abs() < 1e-3);
}

// claim: exercise-adagrad-3
#[test]
fn constant_gradient_gives_the_inverse_root_schedule() {
    // g = 3 and g = -3/4: t g^2 is an exact integer or dyadic, so s_t is exact; the
    // step -g / sqrt(s_t) then carries two roundings (root and quotient) and the
    // reference -sign(g) / sqrt(t) two more: within 2 eps relative.
    let horizon = 10_000u32;
    let g = DVector::from_vec(vec![3.0, -0.75]);
    let mut opt = adagrad(1.0, 0.0);
    let mut travelled = DVector::<f64>::zeros(2);
    for t in 1..=horizon {
        let u = observe(&mut opt, &g);
        for i in 0..2 {
            let want = -g[i].signum() / f64::from(t).sqrt();
            assert!((u[i] - want).abs() <= 2.0 * EPS * want.abs(), "step {t}");
        }
        travelled += u;
    }
    let big_t = f64::from(horizon);
    let (lo, hi) = (2.0 * ((big_t + 1.0).sqrt() - 1.0), 2.0 * big_t.sqrt() - 1.0);
    for i in 0..2 {
        let dist = travelled[i].abs();
        // The 10^4 additions round by at most 10^4 eps * 199 < 1e-9 in total.
        assert!(
            lo - 1e-9 <= dist && dist <= hi + 1e-9,
            "{dist} not in [{lo}, {hi}]"
        );
    }
}

// claim: exercise-adagrad-5
#[test]
fn initial_accumulator_damps_small_first_steps() {
    let first = |s0: f64, g: f64| {
        let mut opt = Adagrad::new(AdagradConfig {
            lr: 0.01,
            initial_accumulator_value: s0,
            ..AdagradConfig::default()
        })
        .unwrap();
        observe(&mut opt, &DVector::from_element(1, g))[0]
    };
    // PyTorch's start: -eta sign(g), up to eps = 1e-10 against |g| >= 1e-4
    // (relative 1e-6 at most).
    for g in [0.1, 10.0, 1e-4] {
        assert!((first(0.0, g) + 0.01).abs() <= 1e-6 * 0.01, "g {g}");
    }
    // Optax's accumulator, the printed values to five digits: -eta g / sqrt(0.1 + g^2).
    assert!((first(0.1, 0.1) + 3.0151e-3).abs() < 1e-7);
    assert!((first(0.1, 10.0) + 9.9950e-3).abs() < 1e-7);
    assert!((first(0.1, 1e-4) + 3.1623e-6).abs() < 1e-10);
    // Small gradients: a gradient step with rate eta / sqrt(s0), relative error at
    // most g^2 / (2 s0) (from 1 - (1 + x)^(-1/2) <= x / 2) plus eps / sqrt(s0).
    let g = 1e-4;
    let sgd_like = -0.01 * g / 0.1f64.sqrt();
    let rel = g * g / (2.0 * 0.1) + 1e-10 / 0.1f64.sqrt() + 4.0 * EPS;
    assert!((first(0.1, g) - sgd_like).abs() <= rel * sgd_like.abs());
}
