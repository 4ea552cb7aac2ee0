//! The numeric answers of the Lion chapter's exercises (`book/src/lion.md`),
//! checked with the crate's `Lion`.
//!
//! Rounding model: `u = 2^-53`; every basic operation and fused multiply-add is
//! exact up to a factor `(1 + d)`, `|d| <= u`.

use descent::optim::{Lion, LionConfig, Optimizer};
use descent::problems::quadratic::SplitMix64;
use nalgebra::DVector;

const U: f64 = f64::EPSILON / 2.0;

fn lion(lr: f64, betas: (f64, f64)) -> Lion {
    Lion::new(LionConfig {
        lr,
        betas,
        weight_decay: 0.0,
        ..LionConfig::default()
    })
    .expect("valid hyperparameters")
}

// claim: exercise-lion-2
#[test]
fn equal_betas_step_along_the_sign_of_the_updated_momentum() {
    let (lr, beta) = (0.01, 0.9);
    let mut opt = lion(lr, (beta, beta));
    let mut rng = SplitMix64::new(5);
    let mut theta = DVector::from_fn(6, |_, _| rng.uniform(-1.0, 1.0));
    let mut agree = 0;
    for _ in 0..500 {
        let g = DVector::from_fn(6, |_, _| rng.uniform(-1.0, 1.0));
        let before = theta.clone();
        opt.step(&mut theta, &g).unwrap();
        let m = &opt.state().unwrap().exp_avg;
        for i in 0..6 {
            // The mix c = (1 - beta) g + beta m_prev and the new momentum are the
            // same number computed the same way up to rounding (a few u of
            // |g| + |m|); only a momentum that close to zero could have another
            // sign, and none of these random draws come that close.
            assert!(m[i].abs() > 1e-12, "momentum too close to zero to decide");
            let step = theta[i] - before[i];
            // theta - lr sign(c) rounds once: |step| = lr within u (|theta| + lr).
            assert!(
                (step + lr * m[i].signum()).abs() <= U * (before[i].abs() + lr) * 2.0,
                "step {step} but momentum {}",
                m[i]
            );
            agree += 1;
        }
    }
    assert_eq!(agree, 3000);
}

// claim: exercise-lion-3
#[test]
fn lion_moves_minus_eight_eta_per_epoch_on_hintons_sequence() {
    let lr = 0.01;
    let mut opt = lion(lr, (0.9, 0.99));
    let mut theta = DVector::from_element(1, 0.0);
    let (mut m_min, mut m_max) = (f64::INFINITY, f64::NEG_INFINITY);
    for epoch in 1..=50 {
        let start = theta[0];
        for k in 0..10 {
            let g = if k < 9 { 0.1 } else { -0.9 };
            opt.step(&mut theta, &DVector::from_element(1, g)).unwrap();
            let m = opt.state().unwrap().exp_avg[0];
            m_min = m_min.min(m);
            m_max = m_max.max(m);
        }
        // Nine steps of -lr and one of +lr, each rounding once relative to
        // |theta| <= 0.08 * 50 = 4: the epoch moves -8 lr within 10u (4 + lr)
        // for each side, 2 * 10 * 4.01 u in all.
        let moved = theta[0] - start;
        assert!(
            (moved + 8.0 * lr).abs() <= 20.0 * 4.01 * U,
            "epoch {epoch}: {moved}"
        );
    }
    // The momentum stays in [-0.0046, 0.1): c = 0.1 g + 0.9 m is positive on
    // every +0.1 step (0.01 + 0.9 m > 0 needs m > -0.0111) and negative on the
    // -0.9 step (-0.09 + 0.9 m < 0 needs m < 0.1).
    assert!(m_max < 0.1, "{m_max}");
    assert!((-0.0047..=-0.0045).contains(&m_min), "{m_min}");
}
