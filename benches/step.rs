//! The cost of one optimizer step, per coordinate, once the state exists.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use descent::optim::{
    Adadelta, AdadeltaConfig, Adagrad, AdagradConfig, Adam, AdamConfig, Amsgrad, Optimizer,
    RmsProp, RmsPropConfig, Rprop, RpropConfig, Sgd, SgdConfig,
};
use nalgebra::DVector;

fn optimizers() -> Vec<(&'static str, Box<dyn Optimizer>)> {
    vec![
        (
            "sgd-momentum",
            Box::new(
                Sgd::new(SgdConfig {
                    momentum: 0.9,
                    ..SgdConfig::default()
                })
                .unwrap(),
            ),
        ),
        (
            "adagrad",
            Box::new(Adagrad::new(AdagradConfig::default()).unwrap()),
        ),
        (
            "rmsprop-centered",
            Box::new(
                RmsProp::new(RmsPropConfig {
                    centered: true,
                    ..RmsPropConfig::default()
                })
                .unwrap(),
            ),
        ),
        (
            "adadelta",
            Box::new(Adadelta::new(AdadeltaConfig::default()).unwrap()),
        ),
        ("adam", Box::new(Adam::new(AdamConfig::default()).unwrap())),
        (
            "adamw-amsgrad",
            Box::new(
                Adam::new(AdamConfig {
                    amsgrad: Amsgrad::PyTorch,
                    ..AdamConfig::adamw()
                })
                .unwrap(),
            ),
        ),
        (
            "rprop",
            Box::new(Rprop::new(RpropConfig::default()).unwrap()),
        ),
    ]
}

fn step(c: &mut Criterion) {
    let mut group = c.benchmark_group("step");
    for n in [1_000usize, 100_000] {
        for (label, mut opt) in optimizers() {
            let mut theta = DVector::from_fn(n, |i, _| (i as f64).sin());
            let grad = DVector::from_fn(n, |i, _| (i as f64 * 0.7).cos());
            let flipped = -&grad;
            opt.step(&mut theta, &grad).unwrap();
            group.bench_with_input(BenchmarkId::new(label, n), &n, |b, _| {
                b.iter(|| {
                    // Two steps with opposite gradients keep the iterates bounded.
                    opt.step(&mut theta, &grad).unwrap();
                    opt.step(&mut theta, &flipped).unwrap();
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, step);
criterion_main!(benches);
