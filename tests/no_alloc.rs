//! No allocation in a step: once the state exists (after the first step), a step
//! allocates nothing, for every optimizer and every option that changes the state
//! (momentum, nesterov, centered, the AMSGrad variants, weight decay, maximize). A
//! refused step allocates nothing either.
//!
//! `allocation_counter` replaces the global allocator in this test binary and
//! counts, per thread, every allocation made inside `measure`.

use std::hint::black_box;

use descent::optim::{
    AdadeltaConfig, AdagradConfig, AdamConfig, AdamaxConfig, Amsgrad, AsgdConfig, Buffers,
    LionConfig, NAdamConfig, Optim, Optimizer, RAdamConfig, RmsPropConfig, RpropConfig, Rule,
    SgdConfig, SparseAdamConfig, WeightDecay,
};
use nalgebra::DVector;

/// The number of steps measured after the first.
const STEPS: usize = 20;

/// Weight decay: none, as an L2 term, decoupled.
const DECAYS: [WeightDecay; 3] = [
    WeightDecay::None,
    WeightDecay::L2(1e-2),
    WeightDecay::Decoupled(1e-2),
];

/// Parameters and a changing gradient of length 5, made before measuring.
fn inputs() -> (DVector<f64>, Vec<DVector<f64>>) {
    let params = DVector::from_vec(vec![1.0, -2.0, 0.5, 0.0, 3.0]);
    let grads = (0..STEPS)
        .map(|t| {
            let t = t as f64;
            DVector::from_vec(vec![
                1.0 - 0.1 * t,
                -0.5,
                0.25 * t,
                0.0,
                if t > 5.0 { -1.0 } else { 2.0 },
            ])
        })
        .collect();
    (params, grads)
}

/// Takes a first step (which builds the state), then measures `STEPS` good steps
/// and one refused step of each kind.
fn assert_steps_do_not_allocate<R: Rule>(config: R) {
    let what = format!("{config:?}");
    let mut opt = Optim::new(config).expect("valid config");
    let (mut params, grads) = inputs();
    opt.step(&mut params, &grads[0]).expect("first step");

    let info = allocation_counter::measure(|| {
        for g in &grads {
            black_box(opt.step(black_box(&mut params), black_box(g))).expect("good step");
        }
    });
    assert_eq!(
        info.count_total, 0,
        "{what}: good steps allocated: {info:?}"
    );
    assert_eq!(opt.steps_taken(), 1 + STEPS as u64, "{what}");

    // Refused steps, all inputs made beforehand.
    let short = DVector::from_vec(vec![1.0, 2.0]);
    let mut short_params = DVector::from_vec(vec![1.0, 2.0]);
    let mut nan = grads[0].clone();
    nan[3] = f64::NAN;
    let mut inf = grads[0].clone();
    inf[4] = f64::NEG_INFINITY;
    let mut bad_params = params.clone();
    bad_params[2] = f64::INFINITY;
    let mut outcomes = [Ok(()), Ok(()), Ok(()), Ok(()), Ok(())];
    let info = allocation_counter::measure(|| {
        outcomes = [
            opt.step(black_box(&mut params), black_box(&short)),
            opt.step(black_box(&mut short_params), black_box(&short)),
            opt.step(black_box(&mut params), black_box(&nan)),
            opt.step(black_box(&mut params), black_box(&inf)),
            opt.step(black_box(&mut bad_params), black_box(&grads[1])),
        ];
    });
    assert_eq!(
        info.count_total, 0,
        "{what}: refused steps allocated: {info:?}"
    );
    // They were refused. SGD without momentum keeps no length for the short
    // parameters to contradict, so that step is taken (and allocates nothing).
    let [e1, e2, e3, e4, e5] = outcomes;
    assert!(
        e1.is_err() && e3.is_err() && e4.is_err() && e5.is_err(),
        "{what}"
    );
    assert_eq!(
        e2.is_ok(),
        opt.state().is_some_and(|s| s.coords().is_none()),
        "{what}"
    );
}

#[test]
fn the_counter_counts() {
    // The measurement itself must be able to see an allocation.
    let info = allocation_counter::measure(|| {
        black_box(DVector::<f64>::zeros(black_box(5)));
    });
    assert!(info.count_total >= 1, "{info:?}");
}

#[test]
fn sgd_steps_do_not_allocate() {
    for weight_decay in DECAYS {
        for maximize in [false, true] {
            for (momentum, dampening, nesterov) in [
                (0.0, 0.0, false),
                (0.9, 0.0, false),
                (0.9, 0.5, false),
                (0.9, 0.0, true),
            ] {
                assert_steps_do_not_allocate(SgdConfig {
                    lr: 0.01,
                    momentum,
                    dampening,
                    weight_decay,
                    nesterov,
                    maximize,
                });
            }
        }
    }
}

#[test]
fn adagrad_steps_do_not_allocate() {
    for weight_decay in DECAYS {
        for maximize in [false, true] {
            for (lr_decay, initial_accumulator_value) in [(0.0, 0.0), (0.1, 0.5)] {
                assert_steps_do_not_allocate(AdagradConfig {
                    lr_decay,
                    weight_decay,
                    initial_accumulator_value,
                    maximize,
                    ..AdagradConfig::default()
                });
            }
        }
    }
}

#[test]
fn rmsprop_steps_do_not_allocate() {
    for weight_decay in DECAYS {
        for maximize in [false, true] {
            for momentum in [0.0, 0.9] {
                for centered in [false, true] {
                    assert_steps_do_not_allocate(RmsPropConfig {
                        weight_decay,
                        momentum,
                        centered,
                        maximize,
                        ..RmsPropConfig::default()
                    });
                }
            }
        }
    }
}

#[test]
fn adadelta_steps_do_not_allocate() {
    for weight_decay in DECAYS {
        for maximize in [false, true] {
            assert_steps_do_not_allocate(AdadeltaConfig {
                weight_decay,
                maximize,
                ..AdadeltaConfig::default()
            });
        }
    }
}

#[test]
fn adam_steps_do_not_allocate() {
    for weight_decay in DECAYS {
        for maximize in [false, true] {
            for amsgrad in [
                Amsgrad::Off,
                Amsgrad::PyTorch,
                Amsgrad::Paper,
                Amsgrad::Optax,
            ] {
                assert_steps_do_not_allocate(AdamConfig {
                    weight_decay,
                    amsgrad,
                    maximize,
                    ..AdamConfig::default()
                });
            }
        }
    }
    assert_steps_do_not_allocate(AdamConfig::adamw());
}

#[test]
fn rprop_steps_do_not_allocate() {
    for maximize in [false, true] {
        assert_steps_do_not_allocate(RpropConfig {
            maximize,
            ..RpropConfig::default()
        });
    }
}

#[test]
fn asgd_steps_do_not_allocate() {
    for maximize in [false, true] {
        for (t0, weight_decay) in [(1e6, WeightDecay::None), (3.0, WeightDecay::L2(1e-2))] {
            assert_steps_do_not_allocate(AsgdConfig {
                t0,
                weight_decay,
                maximize,
                ..AsgdConfig::default()
            });
        }
    }
}

#[test]
fn adamax_steps_do_not_allocate() {
    for maximize in [false, true] {
        for weight_decay in [WeightDecay::None, WeightDecay::L2(1e-2)] {
            assert_steps_do_not_allocate(AdamaxConfig {
                weight_decay,
                maximize,
                ..AdamaxConfig::default()
            });
        }
    }
}

#[test]
fn nadam_and_radam_steps_do_not_allocate() {
    for maximize in [false, true] {
        for weight_decay in DECAYS {
            assert_steps_do_not_allocate(NAdamConfig {
                weight_decay,
                maximize,
                ..NAdamConfig::default()
            });
            // beta2 = 0.9: the first steps unrectified, the later ones rectified.
            assert_steps_do_not_allocate(RAdamConfig {
                betas: (0.9, 0.9),
                weight_decay,
                maximize,
                ..RAdamConfig::default()
            });
        }
    }
}

/// SparseAdam (the gradient's zeros are absent coordinates) and Lion.
#[test]
fn sparse_adam_and_lion_steps_do_not_allocate() {
    for maximize in [false, true] {
        assert_steps_do_not_allocate(SparseAdamConfig {
            maximize,
            ..SparseAdamConfig::default()
        });
        assert_steps_do_not_allocate(LionConfig {
            maximize,
            ..LionConfig::default()
        });
    }
}

/// Through a trait object, as `descent replay` drives them.
#[test]
fn boxed_steps_do_not_allocate() {
    let mut all: Vec<Box<dyn Optimizer>> = vec![
        Box::new(Optim::new(SgdConfig::default()).expect("valid")),
        Box::new(Optim::new(AdagradConfig::default()).expect("valid")),
        Box::new(Optim::new(RmsPropConfig::default()).expect("valid")),
        Box::new(Optim::new(AdadeltaConfig::default()).expect("valid")),
        Box::new(Optim::new(AdamConfig::adamw()).expect("valid")),
        Box::new(Optim::new(RpropConfig::default()).expect("valid")),
        Box::new(Optim::new(AsgdConfig::default()).expect("valid")),
        Box::new(Optim::new(AdamaxConfig::default()).expect("valid")),
        Box::new(Optim::new(NAdamConfig::default()).expect("valid")),
        Box::new(Optim::new(RAdamConfig::default()).expect("valid")),
        Box::new(Optim::new(LionConfig::default()).expect("valid")),
        Box::new(Optim::new(SparseAdamConfig::default()).expect("valid")),
    ];
    let (params, grads) = inputs();
    let mut ps: Vec<DVector<f64>> = all.iter().map(|_| params.clone()).collect();
    for (opt, p) in all.iter_mut().zip(&mut ps) {
        opt.step(p, &grads[0]).expect("first step");
    }
    let info = allocation_counter::measure(|| {
        for g in &grads {
            for (opt, p) in all.iter_mut().zip(&mut ps) {
                black_box(opt.step(p, g)).expect("good step");
            }
        }
    });
    assert_eq!(info.count_total, 0, "{info:?}");
}

/// A first step refused by its input checks (length, non-finite gradient) returns
/// before the state is built, so it allocates nothing. A first step refused for an
/// overflow has built a state to compute with; it frees it again: nothing leaks.
#[test]
fn refused_first_steps() {
    let mut adam = Optim::new(AdamConfig::default()).expect("valid");
    let mut params = DVector::from_vec(vec![1.0, 2.0, 3.0]);
    let short = DVector::from_vec(vec![1.0, 2.0]);
    let nan = DVector::from_vec(vec![1.0, f64::NAN, 2.0]);
    let huge = DVector::from_vec(vec![1.0, 1e200, 2.0]);
    let info = allocation_counter::measure(|| {
        black_box(adam.step(&mut params, &short)).expect_err("length");
        black_box(adam.step(&mut params, &nan)).expect_err("NaN");
    });
    assert_eq!(info.count_total, 0, "{info:?}");
    let info = allocation_counter::measure(|| {
        black_box(adam.step(&mut params, &huge)).expect_err("overflow");
    });
    assert_eq!(info.count_current, 0, "{info:?}");
    assert_eq!(info.bytes_current, 0, "{info:?}");
    assert!(adam.state().is_none());
}

/// Adafactor computes into scratch buffers made on the first step.
#[test]
fn adafactor_steps_do_not_allocate() {
    use descent::optim::{Adafactor, AdafactorConfig};
    let (mut params, grads) = inputs();
    let n = params.len();
    for shape in [None, Some([1, n])] {
        let mut opt = Adafactor::new(AdafactorConfig::default(), shape).unwrap();
        opt.step(&mut params, &grads[0]).expect("first step");
        let mut bad = grads[1].clone();
        bad[0] = 1e300;
        let info = allocation_counter::measure(|| {
            for g in &grads {
                black_box(opt.step(black_box(&mut params), black_box(g))).expect("good step");
            }
            assert!(opt.step(black_box(&mut params), black_box(&bad)).is_err());
        });
        assert_eq!(info.count_total, 0, "{shape:?}: {info:?}");
    }
}

/// Muon computes into scratch space made when it is built.
#[test]
fn muon_steps_do_not_allocate() {
    use descent::optim::{Muon, MuonConfig};
    let (mut params, grads) = inputs();
    let n = params.len();
    let mut opt = Muon::new(MuonConfig::default(), [1, n]).unwrap();
    opt.step(&mut params, &grads[0]).expect("first step");
    let mut bad = grads[1].clone();
    bad[0] = f64::NAN;
    let info = allocation_counter::measure(|| {
        for g in &grads {
            black_box(opt.step(black_box(&mut params), black_box(g))).expect("good step");
        }
        assert!(opt.step(black_box(&mut params), black_box(&bad)).is_err());
    });
    assert_eq!(info.count_total, 0, "{info:?}");
}

/// A Newton direction allocates one workspace (one n x n matrix for the factor
/// and three vectors) however many Levenberg-Marquardt dampings it tries: the
/// damped retries factor in the same matrix. The returned direction is the
/// workspace's vector, so the count includes it.
#[test]
fn newton_direction_allocates_one_workspace_for_every_damping() {
    use descent::second_order::newton::{Damping, Newton, NewtonConfig};
    use nalgebra::DMatrix;
    let n = 20;
    let g = DVector::from_fn(n, |i, _| 1.0 - 0.1 * i as f64);
    // Positive definite: the undamped attempt succeeds.
    let h = DMatrix::from_fn(n, n, |i, j| if i == j { 4.0 } else { 0.01 });
    // -5 I + (a small positive part): lambda must pass 5, so with lambda0 = 1e-3
    // and factor 10 the dampings 1e-3, ..., 10 make six attempts in all.
    let indefinite = DMatrix::from_fn(n, n, |i, j| if i == j { -5.0 } else { 0.0 });
    let damped = Newton::new(NewtonConfig {
        damping: Damping::levenberg_marquardt(),
        ..NewtonConfig::default()
    })
    .unwrap();
    let mut lambdas = Vec::with_capacity(2);
    let one = allocation_counter::measure(|| {
        lambdas.push(
            black_box(damped.direction(black_box(&g), black_box(&h)))
                .unwrap()
                .lambda,
        );
    });
    let six = allocation_counter::measure(|| {
        lambdas.push(
            black_box(damped.direction(black_box(&g), black_box(&indefinite)))
                .unwrap()
                .lambda,
        );
    });
    assert_eq!(lambdas, [0.0, 10.0], "the attempts are as described");
    assert_eq!(one.count_total, 4, "{one:?}");
    assert_eq!(six.count_total, one.count_total, "{six:?} against {one:?}");
    assert_eq!(six.bytes_total, one.bytes_total, "{six:?} against {one:?}");
    // One matrix and three vectors of f64.
    assert_eq!(one.bytes_total, (8 * (n * n + 3 * n)) as u64, "{one:?}");
}
