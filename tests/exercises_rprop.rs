//! Exercises of the chapter "Rprop": each answer is checked on the crate's own
//! `Rprop` (PyTorch's iRprop-). The numbers are chosen dyadic, so the runs are
//! exact in binary and the answers are compared bit for bit unless a comment
//! derives a tolerance.

use descent::optim::{Optimizer, Rprop, RpropConfig};
use nalgebra::DVector;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

fn rprop(lr: f64, etas: (f64, f64), step_sizes: (f64, f64)) -> Rprop {
    Rprop::new(RpropConfig {
        lr,
        etas,
        step_sizes,
        ..RpropConfig::default()
    })
    .expect("a valid Rprop configuration")
}

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        rng_seed: RngSeed::Fixed(0x5eed_0e01),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    // claim: exercise-rprop-1
    #[test]
    fn first_rprop_step_is_steepest_in_the_max_norm(
        g in prop::collection::vec(prop_oneof![-50i32..=-1, 1i32..=50], 1..=8),
    ) {
        // Integer gradients and the step 1/4: every product and sum below is exact.
        let lr = 0.25;
        let n = g.len();
        let g = DVector::from_iterator(n, g.iter().map(|&x| f64::from(x)));
        let mut theta = DVector::from_element(n, 3.0);
        let mut opt = rprop(lr, (0.5, 1.2), (1e-6, 50.0));
        opt.step(&mut theta, &g).unwrap();
        let d = theta.add_scalar(-3.0);
        let l1: f64 = g.iter().map(|x| x.abs()).sum();
        prop_assert_eq!(g.dot(&d), -lr * l1);
        // No vertex of the cube ||d||_inf <= lr does better (a linear function is
        // smallest at a vertex, so this covers the whole cube).
        for mask in 0u32..(1 << n) {
            let v = DVector::from_fn(n, |i, _| if mask >> i & 1 == 1 { lr } else { -lr });
            prop_assert!(g.dot(&v) >= g.dot(&d), "vertex {:?}", v);
        }
    }
}

// claim: exercise-rprop-2
#[test]
fn step_size_reaches_the_cap_at_step_48() {
    let mut opt = Rprop::new(RpropConfig::default()).unwrap();
    let mut theta = DVector::from_element(1, 0.0);
    let g = DVector::from_element(1, 1.0);
    let mut first = None;
    for t in 1..=60u64 {
        opt.step(&mut theta, &g).unwrap();
        let size = opt.state().unwrap().step_size[0];
        if first.is_none() && size == 50.0 {
            first = Some(t);
        }
    }
    assert_eq!(first, Some(48));
    // ln(5000) / ln(1.2) = 46.7: 47 growths after the factor-1 first step.
    assert_eq!((5000f64.ln() / 1.2f64.ln()).ceil(), 47.0);
    // The additive rule with the same first increment: (50 - 0.01) / 0.002 growths.
    assert_eq!(((50.0 - 0.01) / 0.002f64).round(), 24995.0);
}

// claim: exercise-rprop-3
#[test]
fn alternating_signs_move_one_way_by_a_geometric_sum() {
    let (lr, shrink, step_min) = (0.25, 0.5, 2f64.powi(-10));
    let mut opt = rprop(lr, (shrink, 1.2), (step_min, 1.0));
    let mut theta = DVector::from_element(1, 0.0);
    let mut expected = 0.0;
    for n in 1..=40i32 {
        // steps 2n - 1 (gradient +1) and 2n (gradient -1)
        let before = theta[0];
        opt.step(&mut theta, &DVector::from_element(1, 1.0))
            .unwrap();
        assert!(theta[0] < before, "the odd step {} moves down", 2 * n - 1);
        let mid = theta[0];
        opt.step(&mut theta, &DVector::from_element(1, -1.0))
            .unwrap();
        assert_eq!(theta[0], mid, "the even step {} rests", 2 * n);
        expected -= (lr * shrink.powi(n - 1)).max(step_min);
        assert_eq!(theta[0], expected, "theta_{}", 2 * n);
    }
    // While lr (1/2)^j > step_min (j < 8), the sum approaches -lr / (1 - 1/2) = -1/2;
    // after 8 halvings it is -1/2 + 2^-9, and the creep by step_min follows.
    let geometric: f64 = (0..8).map(|j| lr * shrink.powi(j)).sum();
    assert_eq!(geometric, 0.5 - 2f64.powi(-9));
}

// claim: exercise-rprop-4
#[test]
fn rprop_first_step_depends_on_the_rotation() {
    let lr = 1.0 / 64.0;
    let s = std::f64::consts::FRAC_1_SQRT_2;
    let mut lengths = Vec::new();
    for start in [vec![1.0, 0.0], vec![s, s]] {
        let mut opt = rprop(lr, (0.5, 1.2), (1e-6, 50.0));
        let x0 = DVector::from_vec(start);
        let mut x = x0.clone();
        let g = x.clone(); // the gradient of |x|^2 / 2
        opt.step(&mut x, &g).unwrap();
        // x0_i - 2^-6 is exact for x0_i in [1/2, 1], and so is the difference.
        lengths.push((&x - &x0).norm());
    }
    assert_eq!(lengths[0], lr);
    // sqrt(2 lr^2) is one correctly rounded square root of an exact 2^-11: within
    // half an ulp of sqrt(2)/64, and FRAC..SQRT_2 * 2 / 64 is within one ulp.
    let want = std::f64::consts::SQRT_2 * lr;
    assert!(
        (lengths[1] - want).abs() <= want * f64::EPSILON,
        "{}",
        lengths[1]
    );
}
