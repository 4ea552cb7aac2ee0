//! The cost of one performance estimation: building the SDP for N steps of a
//! method and solving it with Clarabel.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use descent::pep::{FunctionClass, Measure, Method, worst_case};

fn solve(c: &mut Criterion) {
    let class = FunctionClass::new(1.0, 0.0).expect("valid class");
    let mut group = c.benchmark_group("pep");
    group.sample_size(10);
    for n in [2usize, 5, 10, 20] {
        for (name, method) in [("gd", Method::Gd { h: 1.0 }), ("ogm", Method::Ogm)] {
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter(|| worst_case(&class, &method, n, Measure::FunctionValue).expect("solved"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, solve);
criterion_main!(benches);
