//! The cost of one optimizer step once the state exists, against two floors.
//!
//! Groups (each id is `<what>/<n>`; criterion reports the time of one iteration,
//! which is two steps, one with `g` and one with `-g`, so that the iterates stay
//! bounded; divide by `2 n` for nanoseconds per parameter per step):
//!
//! - `step`: every first-order optimizer, through `Optimizer::step_slice`;
//! - `floor`: two kernels per optimizer that no correct step can beat:
//!   `bytes-K` moves the same bytes (parameters, gradient and K state buffers
//!   read, parameters and buffers written back) with one addition each, and
//!   `fused-<name>` runs the optimizer's own arithmetic (`Rule::apply`) once per
//!   coordinate, in place, with no finiteness check (so no refusal is possible);
//!   `staged-K` moves the bytes of the crate's one-pass design (the same reads,
//!   plus the parameter backup and the spare buffers written), with one addition
//!   each: what a step costs at best once it must be able to refuse whole;
//! - `refusal`: the two ways the driver can refuse a step whole (see the module
//!   documentation of `descent::optim` and `Refusal`), `<name>-staged` and
//!   `<name>-check-first`, for every per-coordinate optimizer at n = 1e5 and
//!   1e7: the measurements behind each rule's choice.
//!
//! Every loop here runs through the same run-time dispatch (pulp) as the crate,
//! so floors and steps use the same instructions.
//!
//! Run: `cargo bench --bench step` (all), `cargo bench --bench step -- refusal`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use descent::optim::{
    AdadeltaConfig, Adafactor, AdafactorConfig, AdagradConfig, AdamConfig, AdamaxConfig, Amsgrad,
    AsgdConfig, Buffers, Lanes, LionConfig, Muon, MuonConfig, NAdamConfig, Optim, Optimizer,
    RAdamConfig, Refusal, RmsPropConfig, RpropConfig, Rule, SgdConfig, SparseAdamConfig,
    Unswitched, WithLanes,
};
use pulp::{Arch, Simd, WithSimd};

const SIZES: [usize; 4] = [1_000, 100_000, 1_000_000, 10_000_000];

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn inputs(n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let theta: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
    let grad: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).cos()).collect();
    let flipped = grad.iter().map(|g| -g).collect();
    (theta, grad, flipped)
}

/// Short runs: the machine is shared. Large sizes take few samples.
fn configure(group: &mut Group<'_>, n: usize) {
    group.warm_up_time(Duration::from_millis(300));
    if n >= 1_000_000 {
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(2));
    } else {
        group.sample_size(20);
        group.measurement_time(Duration::from_secs(1));
    }
}

/// Benches one optimizer: `(group, "step" or "fused", n)`.
type Bench = Box<dyn Fn(&mut Group<'_>, &'static str, usize)>;

/// The optimizers, by label, with the number of state buffers each keeps.
fn rules() -> Vec<(&'static str, usize, Bench)> {
    fn entry<R: Rule + 'static>(
        label: &'static str,
        k: usize,
        config: R,
    ) -> (&'static str, usize, Bench) {
        (
            label,
            k,
            Box::new(
                move |g: &mut Group<'_>, what: &'static str, n: usize| match what {
                    "step" => bench_step(g, label, config.clone(), n, None),
                    "staged" => bench_step(
                        g,
                        &format!("{label}-staged"),
                        config.clone(),
                        n,
                        Some(Refusal::Stage),
                    ),
                    "check-first" => bench_step(
                        g,
                        &format!("{label}-check-first"),
                        config.clone(),
                        n,
                        Some(Refusal::CheckFirst),
                    ),
                    _ => bench_fused(g, label, config.clone(), n),
                },
            ),
        )
    }
    let momentum = SgdConfig {
        momentum: 0.9,
        ..SgdConfig::default()
    };
    vec![
        entry("sgd", 0, SgdConfig::default()),
        entry("sgd-momentum", 1, momentum),
        entry(
            "sgd-nesterov",
            1,
            SgdConfig {
                nesterov: true,
                ..momentum
            },
        ),
        entry("adagrad", 1, AdagradConfig::default()),
        entry("rmsprop", 1, RmsPropConfig::default()),
        entry(
            "rmsprop-centered",
            2,
            RmsPropConfig {
                centered: true,
                ..RmsPropConfig::default()
            },
        ),
        entry("adadelta", 2, AdadeltaConfig::default()),
        entry("adam", 2, AdamConfig::default()),
        entry("adamw", 2, AdamConfig::adamw()),
        entry(
            "adamw-amsgrad",
            3,
            AdamConfig {
                amsgrad: Amsgrad::PyTorch,
                ..AdamConfig::adamw()
            },
        ),
        entry("rprop", 2, RpropConfig::default()),
        entry("asgd", 1, AsgdConfig::default()),
        entry("adamax", 2, AdamaxConfig::default()),
        entry("nadam", 2, NAdamConfig::default()),
        entry("radam", 2, RAdamConfig::default()),
        entry("lion", 1, LionConfig::default()),
        entry("sparseadam", 2, SparseAdamConfig::default()),
    ]
}

/// The two optimizers whose state is not per coordinate, on a matrix of `n`
/// entries (`rows x cols`, as square as `n` allows). They have no per-coordinate
/// floor kernel. Muon's Newton-Schulz iteration multiplies matrices (in emulated
/// bfloat16), so it runs at the two smaller sizes only.
fn matrices(group: &mut Group<'_>, n: usize) {
    let rows = (1..=n.isqrt())
        .rev()
        .find(|&r| n.is_multiple_of(r))
        .unwrap_or(1);
    let shape = [rows, n / rows];
    let adafactor =
        Adafactor::new(AdafactorConfig::default(), Some(shape)).expect("valid Adafactor");
    bench_boxed(group, "adafactor", Box::new(adafactor), n);
    if n <= 100_000 {
        let muon = Muon::new(MuonConfig::default(), shape).expect("valid Muon");
        bench_boxed(group, "muon", Box::new(muon), n);
    }
}

fn bench_boxed(group: &mut Group<'_>, label: &str, opt: Box<dyn Optimizer>, n: usize) {
    let mut setup = Some(opt);
    let mut ready = None;
    group.bench_with_input(BenchmarkId::new(label, n), &n, |b, _| {
        let (opt, theta, grad, flipped) = ready.get_or_insert_with(|| {
            let (mut theta, grad, flipped) = inputs(n);
            let mut opt = setup.take().expect("set up once");
            opt.step_slice(&mut theta, &grad).expect("first step");
            (opt, theta, grad, flipped)
        });
        b.iter(|| {
            opt.step_slice(black_box(theta), grad).expect("step");
            opt.step_slice(black_box(theta), flipped).expect("step");
        })
    });
}

/// Benches the crate's step. The inputs are built the first time criterion calls
/// the routine (so a filtered run builds only what it times), outside the timing.
/// `refusal` overrides the rule's own choice of how to refuse a step whole.
fn bench_step<R: Rule>(
    group: &mut Group<'_>,
    label: &str,
    config: R,
    n: usize,
    refusal: Option<Refusal>,
) {
    let mut ready = None;
    group.bench_with_input(BenchmarkId::new(label, n), &n, |b, _| {
        let (opt, theta, grad, flipped) = ready.get_or_insert_with(|| {
            let (mut theta, grad, flipped) = inputs(n);
            let mut opt = Optim::new(config.clone()).expect("valid");
            if let Some(refusal) = refusal {
                opt.set_refusal(refusal);
            }
            opt.step_slice(&mut theta, &grad).expect("first step");
            (opt, theta, grad, flipped)
        });
        b.iter(|| {
            opt.step_slice(black_box(theta), grad).expect("step");
            opt.step_slice(black_box(theta), flipped).expect("step");
        })
    });
}

/// The rule's own arithmetic, once per coordinate, in place, unchecked.
struct Fused<'a, R: Rule, L> {
    rule: &'a R,
    k: &'a R::Step,
    params: &'a mut [f64],
    grad: &'a [f64],
    lanes: L,
}

impl<R: Rule, L: Lanes<Coord = <R::State as Buffers>::Coord>> WithSimd for Fused<'_, R, L> {
    type Output = ();
    #[inline(always)]
    fn with_simd<V: Simd>(self, _simd: V) {
        // Locals, so that the compiler keeps them in registers (see dispatch.rs).
        let Fused {
            rule,
            k,
            params,
            grad,
            lanes,
        } = self;
        let n = params.len();
        let lanes = lanes.truncate(n);
        // The configuration's branches and the absent optional buffers are
        // unswitched, as in the driver's loop.
        rule.unswitch(Unswitch {
            k: *k,
            params,
            grad: &grad[..n],
            lanes,
        });
    }
}

/// [`Fused`] with the rule's configuration made literal ([`Rule::unswitch`]).
struct Unswitch<'a, R: Rule, L> {
    k: R::Step,
    params: &'a mut [f64],
    grad: &'a [f64],
    lanes: L,
}

impl<R: Rule, L: Lanes<Coord = <R::State as Buffers>::Coord>> Unswitched<f64, R>
    for Unswitch<'_, R, L>
{
    type Output = ();
    #[inline(always)]
    fn call(self, rule: &R) {
        let pass = InPlace {
            rule: rule.clone(),
            k: self.k,
            params: self.params,
            grad: self.grad,
        };
        L::unswitch(self.lanes, None, pass);
    }
}

/// The loop of [`Fused`], once the lanes are unswitched.
struct InPlace<'a, R: Rule> {
    rule: R,
    k: R::Step,
    params: &'a mut [f64],
    grad: &'a [f64],
}

impl<R: Rule> WithLanes<<R::State as Buffers>::Coord> for InPlace<'_, R> {
    type Output = ();
    #[inline(always)]
    fn call<L: Lanes<Coord = <R::State as Buffers>::Coord>>(self, mut lanes: L, _: Option<L>) {
        let InPlace {
            rule,
            k,
            params,
            grad,
        } = self;
        for i in 0..params.len() {
            let (theta, c) = rule.apply(&k, params[i], grad[i], lanes.get(i));
            params[i] = theta;
            lanes.set(i, c);
        }
    }
}

fn fused_step<R: Rule>(rule: &R, state: &mut R::State, params: &mut [f64], grad: &[f64]) {
    let t = state.step() + 1;
    // As the driver does: `prepare_for` reads running per-step scalars from the
    // state (NAdam's momentum product), which `prepare(t)` would recompute from
    // step 1, and `finish` records them.
    let k = rule.prepare_for(state);
    Arch::new().dispatch(Fused {
        rule,
        k: &k,
        params,
        grad,
        lanes: state.lanes(),
    });
    state.set_step(t);
    rule.finish(&k, state);
}

fn bench_fused<R: Rule>(group: &mut Group<'_>, label: &str, config: R, n: usize) {
    let mut ready = None;
    group.bench_with_input(BenchmarkId::new(format!("fused-{label}"), n), &n, |b, _| {
        let (state, theta, grad, flipped) = ready.get_or_insert_with(|| {
            let (mut theta, grad, flipped) = inputs(n);
            let mut opt = Optim::new(config.clone()).expect("valid");
            opt.step_slice(&mut theta, &grad).expect("first step");
            let state = opt.state().expect("state").clone();
            (state, theta, grad, flipped)
        });
        b.iter(|| {
            fused_step(&config, state, black_box(theta), grad);
            fused_step(&config, state, black_box(theta), flipped);
        })
    });
}

/// Reads parameters, gradient and `K` buffers and writes parameters and buffers
/// back, with one addition each: the memory traffic of an in-place step.
struct Bytes<'a, const K: usize> {
    params: &'a mut [f64],
    grad: &'a [f64],
    buffers: [&'a mut [f64]; K],
}

impl<const K: usize> WithSimd for Bytes<'_, K> {
    type Output = ();
    #[inline(always)]
    fn with_simd<V: Simd>(self, _simd: V) {
        let n = self.params.len();
        let grad = &self.grad[..n];
        let mut buffers = self.buffers.map(|b| &mut b[..n]);
        for i in 0..n {
            let g = grad[i];
            self.params[i] += g;
            for b in buffers.iter_mut() {
                b[i] += g;
            }
        }
    }
}

fn bytes_step<const K: usize>(params: &mut [f64], grad: &[f64], buffers: &mut [Vec<f64>; K]) {
    Arch::new().dispatch(Bytes {
        params,
        grad,
        buffers: buffers.each_mut().map(|b| b.as_mut_slice()),
    });
}

fn bench_bytes<const K: usize>(group: &mut Group<'_>, n: usize) {
    let mut ready = None;
    group.bench_with_input(BenchmarkId::new(format!("bytes-{K}"), n), &n, |b, _| {
        let (theta, grad, flipped, buffers) = ready.get_or_insert_with(|| {
            let (theta, grad, flipped) = inputs(n);
            let buffers: [Vec<f64>; K] = std::array::from_fn(|_| vec![0.0; n]);
            (theta, grad, flipped, buffers)
        });
        b.iter(|| {
            bytes_step(black_box(theta), grad, buffers);
            bytes_step(black_box(theta), flipped, buffers);
        })
    });
}

/// The bytes of the crate's one-pass step (see `descent::optim`): reads
/// parameters, gradient and `K` old buffers, writes the old parameters to a
/// backup, the parameters in place and `K` new buffers into spares, with one
/// addition each: what a step costs at best once it must be able to refuse whole.
struct Staged<'a, const K: usize> {
    params: &'a mut [f64],
    backup: &'a mut [f64],
    grad: &'a [f64],
    old: [&'a [f64]; K],
    new: [&'a mut [f64]; K],
}

impl<const K: usize> WithSimd for Staged<'_, K> {
    type Output = ();
    #[inline(always)]
    fn with_simd<V: Simd>(self, _simd: V) {
        let n = self.params.len();
        let (grad, backup) = (&self.grad[..n], &mut self.backup[..n]);
        let old = self.old.map(|b| &b[..n]);
        let mut new = self.new.map(|b| &mut b[..n]);
        for i in 0..n {
            let g = grad[i];
            backup[i] = self.params[i];
            self.params[i] += g;
            for (o, b) in old.iter().zip(new.iter_mut()) {
                b[i] = o[i] + g;
            }
        }
    }
}

fn staged_step<const K: usize>(
    params: &mut [f64],
    backup: &mut [f64],
    grad: &[f64],
    old: &[Vec<f64>; K],
    new: &mut [Vec<f64>; K],
) {
    Arch::new().dispatch(Staged {
        params,
        backup,
        grad,
        old: old.each_ref().map(|b| b.as_slice()),
        new: new.each_mut().map(|b| b.as_mut_slice()),
    });
}

fn bench_staged<const K: usize>(group: &mut Group<'_>, n: usize) {
    let mut ready = None;
    group.bench_with_input(BenchmarkId::new(format!("staged-{K}"), n), &n, |b, _| {
        let (theta, backup, grad, flipped, a, z) = ready.get_or_insert_with(|| {
            let (theta, grad, flipped) = inputs(n);
            let a: [Vec<f64>; K] = std::array::from_fn(|_| vec![0.0; n]);
            let z: [Vec<f64>; K] = std::array::from_fn(|_| vec![0.0; n]);
            (theta, vec![0.0; n], grad, flipped, a, z)
        });
        b.iter(|| {
            // State and spare swap after each step, as in the driver.
            staged_step(black_box(theta), backup, grad, a, z);
            staged_step(black_box(theta), backup, flipped, z, a);
        })
    });
}

fn step(c: &mut Criterion) {
    for n in SIZES {
        let mut group = c.benchmark_group("step");
        configure(&mut group, n);
        for (_, _, bench) in rules() {
            bench(&mut group, "step", n);
        }
        matrices(&mut group, n);
        group.finish();
    }
}

fn floor(c: &mut Criterion) {
    for n in SIZES {
        let mut group = c.benchmark_group("floor");
        configure(&mut group, n);
        bench_bytes::<0>(&mut group, n);
        bench_bytes::<1>(&mut group, n);
        bench_bytes::<2>(&mut group, n);
        bench_bytes::<3>(&mut group, n);
        bench_staged::<0>(&mut group, n);
        bench_staged::<1>(&mut group, n);
        bench_staged::<2>(&mut group, n);
        bench_staged::<3>(&mut group, n);
        for (_, _, bench) in rules() {
            bench(&mut group, "fused", n);
        }
        group.finish();
    }
}

// ---------------------------------------------------------------- refusal candidates

/// The crate's two ways to refuse a step whole ([`Refusal`]), for every
/// per-coordinate optimizer, at a size that fits in the caches and one that
/// does not: the data behind each rule's choice.
fn refusal(c: &mut Criterion) {
    for n in [100_000, 10_000_000] {
        let mut group = c.benchmark_group("refusal");
        configure(&mut group, n);
        for (_, _, bench) in rules() {
            bench(&mut group, "staged", n);
            bench(&mut group, "check-first", n);
        }
        group.finish();
    }
}

criterion_group!(benches, step, floor, refusal);
criterion_main!(benches);
