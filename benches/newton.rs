//! A Newton direction with the Hessian given, against a bare nalgebra Cholesky
//! factor-and-solve of the same matrix (which includes the copy of the matrix
//! that `Cholesky::new` consumes, as the Newton step must keep `H`).
//!
//! Run: `cargo bench --bench newton`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use descent::second_order::newton::{Damping, Newton, NewtonConfig};
use nalgebra::{Cholesky, DMatrix, DVector};

/// A symmetric positive definite `H = A A^T / n + I` and a gradient, from a fixed
/// deterministic sequence.
fn problem(n: usize) -> (DMatrix<f64>, DVector<f64>) {
    let a = DMatrix::from_fn(n, n, |i, j| ((i * 31 + j * 17) as f64 * 0.37).sin());
    let h = &a * a.transpose() / n as f64 + DMatrix::identity(n, n);
    let g = DVector::from_fn(n, |i, _| (i as f64 * 0.7).cos());
    (h, g)
}

fn newton(c: &mut Criterion) {
    let mut group = c.benchmark_group("newton");
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(2));
    group.sample_size(30);
    for n in [50usize, 200] {
        let (h, g) = problem(n);
        let plain = Newton::new(NewtonConfig::default()).expect("valid");
        group.bench_with_input(BenchmarkId::new("direction", n), &n, |b, _| {
            b.iter(|| {
                plain
                    .direction(black_box(&g), black_box(&h))
                    .expect("descent")
            })
        });
        group.bench_with_input(BenchmarkId::new("bare-cholesky", n), &n, |b, _| {
            b.iter(|| {
                let chol = Cholesky::new(black_box(&h).clone()).expect("positive definite");
                -chol.solve(black_box(&g))
            })
        });
        // An indefinite Hessian: Levenberg-Marquardt tries several dampings, all in
        // one workspace.
        let shifted = &h - DMatrix::identity(n, n) * 3.0;
        let damped = Newton::new(NewtonConfig {
            damping: Damping::levenberg_marquardt(),
            ..NewtonConfig::default()
        })
        .expect("valid");
        group.bench_with_input(BenchmarkId::new("direction-damped", n), &n, |b, _| {
            b.iter(|| {
                damped
                    .direction(black_box(&g), black_box(&shifted))
                    .expect("damped")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, newton);
criterion_main!(benches);
