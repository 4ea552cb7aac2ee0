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

// claim: exercise-lion-1
#[test]
fn a_zero_direction_entry_leaves_its_coordinate_where_it_is() {
    // Rust's signum is not jnp.sign: it gives 1 at +0 and -1 at -0.
    assert_eq!(0.0_f64.signum(), 1.0);
    assert_eq!((-0.0_f64).signum(), -1.0);

    // (1) Zero gradient and zero momentum: c = 0 in coordinate 1 on the first step.
    let lr = 0.01;
    let mut opt = lion(lr, (0.9, 0.99));
    let mut theta = DVector::from_vec(vec![0.3, -0.7, 1.1]);
    let before = theta.clone();
    opt.step(&mut theta, &DVector::from_vec(vec![0.5, 0.0, -2.0]))
        .unwrap();
    assert_eq!(theta[1].to_bits(), before[1].to_bits(), "c = 0 moved");
    // The other coordinates move by lr against the sign of c (one rounding each).
    assert!((theta[0] - (before[0] - lr)).abs() <= U * (before[0].abs() + lr));
    assert!((theta[2] - (before[2] + lr)).abs() <= U * (before[2].abs() + lr));

    // (2) c = 0 from a nonzero gradient and a nonzero momentum. With b2 = 0 the
    // momentum after a step is that step's gradient, so g = -1 then g = 1 with
    // b1 = 1/2 gives c = 0.5 * 1 + 0.5 * (-1) = 0 exactly (every number is a
    // power of two or a sum of two with the same exponent).
    let mut opt = lion(lr, (0.5, 0.0));
    let mut theta = DVector::from_vec(vec![0.25]);
    opt.step(&mut theta, &DVector::from_vec(vec![-1.0]))
        .unwrap();
    assert_eq!(opt.state().unwrap().exp_avg[0], -1.0);
    let before = theta.clone();
    opt.step(&mut theta, &DVector::from_vec(vec![1.0])).unwrap();
    assert_eq!(theta[0].to_bits(), before[0].to_bits(), "c = 0 moved");

    // (3) The step minimizes c.d over the box |d_i| <= lr: with no decay the
    // crate's step d has c.d = -lr |c|_1, and no corner of the box does better
    // (the minimum of a linear function over a box is at a corner).
    let mut opt = lion(lr, (0.9, 0.99));
    let mut rng = SplitMix64::new(41);
    let n = 5;
    let mut theta = DVector::from_fn(n, |_, _| rng.uniform(-1.0, 1.0));
    for _ in 0..20 {
        let g = DVector::from_fn(n, |_, _| rng.uniform(-1.0, 1.0));
        let m = opt.state().map_or(DVector::zeros(n), |s| s.exp_avg.clone());
        let c = &g * 0.1 + &m * 0.9;
        let before = theta.clone();
        opt.step(&mut theta, &g).unwrap();
        let d = &theta - &before;
        // Each d_i is -lr sign(c_i) within u (|theta_i| + lr): c.d is -lr |c|_1
        // within u |c|_1 (max |theta| + lr) plus n u for the dot product.
        let slack = U * c.lp_norm(1) * (before.amax() + lr + n as f64 * lr);
        assert!((c.dot(&d) + lr * c.lp_norm(1)).abs() <= slack);
        for corner in 0..1u32 << n {
            let e = DVector::from_fn(n, |i, _| if corner >> i & 1 == 1 { lr } else { -lr });
            assert!(
                c.dot(&d) <= c.dot(&e) + slack,
                "corner {corner} beats the step"
            );
        }
    }
}
