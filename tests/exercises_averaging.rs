//! The numeric answers of the exercises of the chapter "Averaged SGD"
//! (`book/src/averaging.md`), checked with the crate's `Asgd`.
//!
//! Rounding model: `u = 2^-53`; every basic operation and fused multiply-add is
//! exact up to a factor `(1 + d)`, `|d| <= u`.

use descent::optim::{Asgd, AsgdConfig, Optimizer, Sgd, SgdConfig};
use descent::problems::quadratic::SplitMix64;
use nalgebra::DVector;

const U: f64 = f64::EPSILON / 2.0;

/// A fixed gradient sequence: `theta + xi` on `theta^2 / 2` with uniform noise.
fn noisy_gradient(theta: &DVector<f64>, rng: &mut SplitMix64) -> DVector<f64> {
    theta.map(|x| x + rng.uniform(-1.0, 1.0))
}

// claim: exercise-averaging-2
#[test]
fn with_t0_3_the_average_after_step_10_is_the_mean_of_iterates_5_to_10() {
    let mut opt = Asgd::new(AsgdConfig {
        lr: 0.1,
        t0: 3.0,
        ..AsgdConfig::default()
    })
    .unwrap();
    let mut rng = SplitMix64::new(7);
    let mut theta = DVector::from_vec(vec![5.0, -3.0]);
    let mut iterates = vec![theta.clone()];
    for _ in 1..=10 {
        let g = noisy_gradient(&theta, &mut rng);
        opt.step(&mut theta, &g).unwrap();
        iterates.push(theta.clone());
    }
    let ax = &opt.state().unwrap().ax;
    let mean = |from: usize| {
        iterates[from..=10]
            .iter()
            .fold(DVector::zeros(2), |s, x| s + x)
            / (11 - from) as f64
    };
    let want = mean(5);
    let scale = iterates.iter().map(|x| x.amax()).fold(0.0, f64::max);
    // The average is reset to theta_5 at step 5 (one subtraction, one product
    // by mu = 1 and one addition: 2u |theta|) and then updated five times by
    // ax + (theta - ax) mu, each update rounding three times (3u |theta|), and
    // mu = 1/k itself rounded (u |theta|): at most 22u max|theta|. The mean in
    // the test rounds six additions and a division: 7u max|theta|. 32u covers
    // both.
    let tol = 32.0 * U * scale;
    for i in 0..2 {
        assert!((ax[i] - want[i]).abs() <= tol, "{} vs {}", ax[i], want[i]);
    }
    // Not the mean from theta_4 (or theta_1): those differ by far more.
    for from in [1, 4] {
        let other = mean(from);
        assert!(
            (0..2).any(|i| (ax[i] - other[i]).abs() > 1e3 * tol),
            "from {from}"
        );
    }
    // The parameters the optimizer returns are the iterates, not the average.
    assert_eq!(&theta, &iterates[10]);
    assert!((0..2).any(|i| theta[i] != ax[i]));
}

// claim: exercise-averaging-3
#[test]
fn asgd_without_lambd_is_sgd_with_a_constant_step_plus_an_average() {
    let lr = 0.05;
    let mut asgd = Asgd::new(AsgdConfig {
        lr,
        lambd: 0.0,
        t0: 20.0,
        ..AsgdConfig::default()
    })
    .unwrap();
    let mut sgd = Sgd::new(SgdConfig {
        lr,
        ..SgdConfig::default()
    })
    .unwrap();
    let mut rng = SplitMix64::new(3);
    let (mut a, mut s) = (DVector::from_vec(vec![2.0, -1.0, 0.5]), DVector::zeros(3));
    s.copy_from(&a);
    for _ in 0..300 {
        let g = noisy_gradient(&a, &mut rng);
        asgd.step(&mut a, &g).unwrap();
        sgd.step(&mut s, &g).unwrap();
        // With lambd = 0 the shrink factor is 1 - 0 = 1 and the step size
        // lr / (1 + 0)^alpha = lr, both exact: the same fused multiply-add as
        // SGD's, so the iterates are bit for bit the same.
        assert_eq!(a, s);
        assert_eq!(asgd.state().unwrap().eta, lr);
    }
    // lambd > 0 switches on both at once: the parameters shrink and the step
    // size decays, lr / (1 + lambd lr t)^alpha after t steps.
    let lambd = 0.1;
    let mut decayed = Asgd::new(AsgdConfig {
        lr,
        lambd,
        ..AsgdConfig::default()
    })
    .unwrap();
    let mut theta = DVector::from_element(1, 1.0);
    decayed.step(&mut theta, &DVector::zeros(1)).unwrap();
    // Zero gradient: only the shrink 1 - lambd lr acts (two roundings).
    assert!((theta[0] - (1.0 - lambd * lr)).abs() <= 2.0 * U);
    for _ in 1..100 {
        decayed.step(&mut theta, &DVector::zeros(1)).unwrap();
    }
    let eta = decayed.state().unwrap().eta;
    let want = lr / (1.0 + lambd * lr * 100.0f64).powf(0.75);
    // Both sides round a product, a sum, a power and a quotient: 8u relative.
    assert!((eta - want).abs() <= 8.0 * U * want, "{eta} vs {want}");
    assert!(eta < lr);
}
