//! The first-order optimizers against PyTorch's own iterates.
//!
//! Claims `matches-pytorch` and `pytorch-momentum-first-step`.
//!
//! The fixtures in `tests/fixtures/pytorch/` are written by
//! `scripts/reference/generate.py` (PyTorch, float64, `foreach=False`). Each case is
//! a `descent replay` request plus `expected`, PyTorch's parameters after every
//! step. Every case runs twice here: through [`descent::replay::replay`] (PyTorch's
//! argument names and defaults) and through the typed API, with the configuration
//! built by this file from the same `hyper` object, so a mistake in either mapping
//! shows up as a mismatch.
//!
//! # Tolerance
//!
//! Entry i of the iterate at step t must satisfy
//! `|ours - torch| <= 1e-12 * scale_i(t)`, where `scale_i(t)` is the largest
//! `|theta_i|` seen in that trajectory up to step t (the start included), and never
//! less than the smallest positive normal `f64`.
//!
//! Derivation. The crate evaluates each update with PyTorch's operation order and
//! its fused multiply-adds, so every operation but one rounds exactly as PyTorch
//! does: PyTorch's CPU `sqrt` on float64 tensors is not correctly rounded (in the
//! build that wrote the fixtures it is one ulp off on about 0.7% of inputs), while
//! Rust's `f64::sqrt` is. A one-ulp change in a denominator changes that step's
//! update by a relative 2^-53 or so. For Adam, AdaGrad and plain RMSprop the
//! state never passes through a root, so each step adds at most a few (c <= 4)
//! roundings of relative size 2^-53 on quantities no larger than the update.
//! Adadelta's `acc_delta` and RMSprop's momentum buffer carry such a difference
//! forward; `proofs/matches-pytorch.md` bounds how many one-ulp roots per
//! coordinate the tolerance absorbs (16 for Adadelta; about 2 occur). An update is `theta_t - theta_{t-1}`, so its magnitude
//! is at most `2 * scale_i(t)`. The differences therefore add up at most linearly:
//! after T <= 150 steps, `|ours - torch| <= T * c * 2^-53 * 2 * scale
//! ~= 150 * 4 * 1.1e-16 * 2 * scale ~= 1.3e-13 * scale`, well inside
//! `1e-12 * scale`. The floor at the smallest normal only matters for a coordinate
//! that starts at 0 and has not moved, where both sides must then be exactly 0.
//!
//! The tolerance alone would let through an operation-order regression that costs
//! a few ulp per step. So the test also counts bit-identical entries. Only the
//! square root may differ, and PyTorch's (this build: MKL, AVX512) differs from the
//! correctly rounded one on about 0.7% of inputs; a step evaluates at most two
//! square roots per coordinate, and a one-ulp change in a denominator is mostly
//! absorbed when the update is added to a larger parameter. In these fixtures the
//! worst case has 98.3% of its entries bit-identical, and SGD, Rprop, ASGD and
//! Adamax, which take no square root, are bit-identical throughout. The test asserts:
//!
//! - SGD, Rprop, ASGD and Adamax: every entry bit-identical;
//! - every case of the other optimizers: at least 95% of its entries bit-identical
//!   (three times the worst observed share of differing entries). Evaluating
//!   `lerp` always from one end, a rounding-only change that stays far inside
//!   1e-12, drops the Adam, AdamW and RMSprop cases that exercise the other branch
//!   well below that (e.g. adamw/defaults to 514 of 726 entries);
//! - every optimizer: a majority of all its entries bit-identical.

mod common;

use common::{fixture_dir, numbers, pinned, rows, to_json};

use std::fs;

use descent::optim::{
    Adadelta, AdadeltaConfig, Adagrad, AdagradConfig, Adam, AdamConfig, Adamax, AdamaxConfig,
    Amsgrad, Asgd, AsgdConfig, NAdam, NAdamConfig, Optimizer, RAdam, RAdamConfig, RmsProp,
    RmsPropConfig, Rprop, RpropConfig, Sgd, SgdConfig, SparseAdam, SparseAdamConfig, WeightDecay,
};
use nalgebra::DVector;
use serde_json::{Map, Value};

/// The relative tolerance derived in the module documentation.
const RELATIVE_TOLERANCE: f64 = 1e-12;

/// The share of a case's entries that must be bit-identical to PyTorch's (module
/// documentation: the square root alone leaves at most 1.7% differing here).
const MIN_IDENTICAL_PERCENT_PER_CASE: usize = 95;

/// One recorded trajectory.
struct Case {
    name: String,
    optimizer: String,
    hyper: Map<String, Value>,
    params: Vec<f64>,
    grads: Vec<Vec<f64>>,
    expected: Vec<Vec<f64>>,
}

impl Case {
    /// The replay request: the case without its name and expected iterates.
    fn request(&self) -> String {
        let mut req = Map::new();
        req.insert("optimizer".into(), Value::String(self.optimizer.clone()));
        req.insert("hyper".into(), Value::Object(self.hyper.clone()));
        req.insert("params".into(), to_json(&self.params));
        req.insert(
            "grads".into(),
            Value::Array(self.grads.iter().map(|g| to_json(g)).collect()),
        );
        Value::Object(req).to_string()
    }

    fn label(&self) -> String {
        format!("{} / {}", self.optimizer, self.name)
    }
}

/// A fixture file: the torch version that wrote it and its cases.
struct Fixture {
    torch: String,
    cases: Vec<Case>,
}

fn load(optimizer: &str) -> Fixture {
    let path = fixture_dir("pytorch").join(format!("{optimizer}.json"));
    let text = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {} is missing: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("fixture is valid JSON");
    let torch = doc["torch"]
        .as_str()
        .expect("fixture records the torch version")
        .to_string();
    let cases = doc["cases"]
        .as_array()
        .expect("fixture has a list of cases")
        .iter()
        .map(|c| {
            let name = c["name"].as_str().expect("case has a name").to_string();
            Case {
                optimizer: c["optimizer"]
                    .as_str()
                    .expect("case names its optimizer")
                    .to_string(),
                hyper: c["hyper"].as_object().expect("hyper is an object").clone(),
                params: numbers(&c["params"], "params"),
                grads: rows(&c["grads"], "grads"),
                expected: rows(&c["expected"], "expected"),
                name,
            }
        })
        .collect();
    Fixture { torch, cases }
}

/// Reads PyTorch keyword arguments, with PyTorch's defaults for those omitted.
struct Kw<'a>(&'a Map<String, Value>);

impl Kw<'_> {
    fn f(&self, key: &str, default: f64) -> f64 {
        self.0.get(key).map_or(default, |v| v.as_f64().expect(key))
    }
    fn flag(&self, key: &str) -> bool {
        self.0.get(key).is_some_and(|v| v.as_bool().expect(key))
    }
    fn pair(&self, key: &str, default: (f64, f64)) -> (f64, f64) {
        self.0.get(key).map_or(default, |v| {
            let v = numbers(v, key);
            (v[0], v[1])
        })
    }
    /// PyTorch's `weight_decay` as an L2 term (absent or zero: no decay).
    fn l2(&self) -> WeightDecay {
        match self.f("weight_decay", 0.0) {
            0.0 => WeightDecay::None,
            x => WeightDecay::L2(x),
        }
    }
    /// `weight_decay`, decoupled when `decoupled_weight_decay` is set (NAdam, RAdam).
    fn l2_or_decoupled(&self) -> WeightDecay {
        if self.flag("decoupled_weight_decay") {
            WeightDecay::Decoupled(self.f("weight_decay", 0.0))
        } else {
            self.l2()
        }
    }
}

/// The typed optimizer for a case, built without going through `replay`.
fn typed(case: &Case) -> Box<dyn Optimizer> {
    let k = Kw(&case.hyper);
    let maximize = k.flag("maximize");
    match case.optimizer.as_str() {
        "sgd" => Box::new(
            Sgd::new(SgdConfig {
                lr: k.f("lr", 1e-3),
                momentum: k.f("momentum", 0.0),
                dampening: k.f("dampening", 0.0),
                weight_decay: k.l2(),
                nesterov: k.flag("nesterov"),
                maximize,
            })
            .expect("valid sgd config"),
        ),
        "adagrad" => Box::new(
            Adagrad::new(AdagradConfig {
                lr: k.f("lr", 1e-2),
                lr_decay: k.f("lr_decay", 0.0),
                weight_decay: k.l2(),
                initial_accumulator_value: k.f("initial_accumulator_value", 0.0),
                eps: k.f("eps", 1e-10),
                maximize,
            })
            .expect("valid adagrad config"),
        ),
        "rmsprop" => Box::new(
            RmsProp::new(RmsPropConfig {
                lr: k.f("lr", 1e-2),
                alpha: k.f("alpha", 0.99),
                eps: k.f("eps", 1e-8),
                weight_decay: k.l2(),
                momentum: k.f("momentum", 0.0),
                centered: k.flag("centered"),
                maximize,
            })
            .expect("valid rmsprop config"),
        ),
        "adadelta" => Box::new(
            Adadelta::new(AdadeltaConfig {
                lr: k.f("lr", 1.0),
                rho: k.f("rho", 0.9),
                eps: k.f("eps", 1e-6),
                weight_decay: k.l2(),
                maximize,
            })
            .expect("valid adadelta config"),
        ),
        name @ ("adam" | "adamw") => {
            let base = if name == "adamw" {
                AdamConfig::adamw()
            } else {
                AdamConfig::default()
            };
            let weight_decay = if name == "adamw" || k.flag("decoupled_weight_decay") {
                WeightDecay::Decoupled(k.f("weight_decay", base.weight_decay.coefficient()))
            } else {
                k.l2()
            };
            Box::new(
                Adam::new(AdamConfig {
                    lr: k.f("lr", base.lr),
                    betas: k.pair("betas", base.betas),
                    eps: k.f("eps", base.eps),
                    weight_decay,
                    amsgrad: if k.flag("amsgrad") {
                        Amsgrad::PyTorch
                    } else {
                        Amsgrad::Off
                    },
                    maximize,
                })
                .expect("valid adam config"),
            )
        }
        "rprop" => Box::new(
            Rprop::new(RpropConfig {
                lr: k.f("lr", 1e-2),
                etas: k.pair("etas", (0.5, 1.2)),
                step_sizes: k.pair("step_sizes", (1e-6, 50.0)),
                maximize,
            })
            .expect("valid rprop config"),
        ),
        "asgd" => Box::new(
            Asgd::new(AsgdConfig {
                lr: k.f("lr", 1e-2),
                lambd: k.f("lambd", 1e-4),
                alpha: k.f("alpha", 0.75),
                t0: k.f("t0", 1e6),
                weight_decay: k.l2(),
                maximize,
            })
            .expect("valid asgd config"),
        ),
        "adamax" => Box::new(
            Adamax::new(AdamaxConfig {
                lr: k.f("lr", 2e-3),
                betas: k.pair("betas", (0.9, 0.999)),
                eps: k.f("eps", 1e-8),
                weight_decay: k.l2(),
                maximize,
            })
            .expect("valid adamax config"),
        ),
        "nadam" => Box::new(
            NAdam::new(NAdamConfig {
                lr: k.f("lr", 2e-3),
                betas: k.pair("betas", (0.9, 0.999)),
                eps: k.f("eps", 1e-8),
                weight_decay: k.l2_or_decoupled(),
                momentum_decay: k.f("momentum_decay", 4e-3),
                maximize,
            })
            .expect("valid nadam config"),
        ),
        "radam" => Box::new(
            RAdam::new(RAdamConfig {
                lr: k.f("lr", 1e-3),
                betas: k.pair("betas", (0.9, 0.999)),
                eps: k.f("eps", 1e-8),
                weight_decay: k.l2_or_decoupled(),
                maximize,
            })
            .expect("valid radam config"),
        ),
        "sparseadam" => Box::new(
            SparseAdam::new(SparseAdamConfig {
                lr: k.f("lr", 1e-3),
                betas: k.pair("betas", (0.9, 0.999)),
                eps: k.f("eps", 1e-8),
                maximize,
            })
            .expect("valid sparseadam config"),
        ),
        other => panic!("unknown optimizer {other}"),
    }
}

/// Running comparison of our iterates with PyTorch's.
#[derive(Default)]
struct Tally {
    entries: usize,
    identical: usize,
    worst: f64,
}

impl Tally {
    /// Compares one trajectory entry by entry, with the tolerance derived above.
    fn trajectory(&mut self, label: &str, start: &[f64], ours: &[Vec<f64>], torch: &[Vec<f64>]) {
        assert_eq!(ours.len(), torch.len(), "{label}: number of steps");
        let mut scale: Vec<f64> = start.iter().map(|x| x.abs()).collect();
        for (t, (o_row, w_row)) in ours.iter().zip(torch).enumerate() {
            assert_eq!(
                o_row.len(),
                w_row.len(),
                "{label}: dimension at step {}",
                t + 1
            );
            for (i, (&o, &w)) in o_row.iter().zip(w_row).enumerate() {
                scale[i] = scale[i].max(w.abs());
                let s = scale[i].max(f64::MIN_POSITIVE);
                let diff = (o - w).abs();
                assert!(
                    diff <= RELATIVE_TOLERANCE * s,
                    "{label}: step {} coordinate {i}: ours {o:e}, torch {w:e}, \
                     difference {diff:e} > 1e-12 * scale {s:e}",
                    t + 1
                );
                self.entries += 1;
                if o.to_bits() == w.to_bits() {
                    self.identical += 1;
                }
                self.worst = self.worst.max(diff / s);
            }
        }
    }
}

fn run_replay(case: &Case) -> Vec<Vec<f64>> {
    let response = descent::replay::replay(&case.request())
        .unwrap_or_else(|e| panic!("{}: replay refused: {e}", case.label()));
    let response: Value = serde_json::from_str(&response).expect("replay answers JSON");
    rows(&response["params"], "response params")
}

fn run_typed(case: &Case) -> Vec<Vec<f64>> {
    let mut opt = typed(case);
    let mut theta = DVector::from_vec(case.params.clone());
    case.grads
        .iter()
        .enumerate()
        .map(|(k, g)| {
            opt.step(&mut theta, &DVector::from_vec(g.clone()))
                .unwrap_or_else(|e| panic!("{}: step {} refused: {e}", case.label(), k + 1));
            theta.iter().copied().collect()
        })
        .collect()
}

/// Runs every case of one optimizer's fixture through `replay` and the typed API.
fn check(optimizer: &str) {
    let fixture = load(optimizer);
    let pin = pinned("torch");
    // A local build label such as "+cpu" or "+cu132" does not change the CPU kernels.
    let version = fixture.torch.split('+').next().unwrap_or_default();
    assert_eq!(
        version, pin,
        "{optimizer}.json was written by torch {}, requirements.txt pins {pin}",
        fixture.torch
    );
    assert!(!fixture.cases.is_empty(), "{optimizer}.json has no cases");
    for required in ["defaults", "maximize"] {
        assert!(
            fixture.cases.iter().any(|c| c.name == required),
            "{optimizer}.json lacks its {required} case"
        );
    }
    let mut tally = Tally::default();
    for case in &fixture.cases {
        assert_eq!(
            case.optimizer,
            optimizer,
            "{}: filed under {optimizer}",
            case.label()
        );
        assert_eq!(case.grads.len(), case.expected.len(), "{}", case.label());
        let via_replay = run_replay(case);
        let before = (tally.identical, tally.entries);
        tally.trajectory(&case.label(), &case.params, &via_replay, &case.expected);
        let (same, total) = (tally.identical - before.0, tally.entries - before.1);
        assert!(
            same * 100 >= total * MIN_IDENTICAL_PERCENT_PER_CASE,
            "{}: only {same}/{total} entries are bit-identical to torch \
             (at least {MIN_IDENTICAL_PERCENT_PER_CASE}% expected); an operation-order change?",
            case.label()
        );
        let via_typed = run_typed(case);
        // Both paths run the same arithmetic: they must agree to the bit.
        assert_eq!(
            via_typed
                .iter()
                .flatten()
                .map(|x| x.to_bits())
                .collect::<Vec<_>>(),
            via_replay
                .iter()
                .flatten()
                .map(|x| x.to_bits())
                .collect::<Vec<_>>(),
            "{}: typed API and replay differ",
            case.label()
        );
    }
    eprintln!(
        "{optimizer}: {} cases, {}/{} entries bit-identical to torch {} ({:.2}%), \
         worst difference {:.3e} * scale",
        fixture.cases.len(),
        tally.identical,
        tally.entries,
        fixture.torch,
        100.0 * tally.identical as f64 / tally.entries as f64,
        tally.worst
    );
    assert!(
        2 * tally.identical > tally.entries,
        "{optimizer}: only {}/{} entries are bit-identical; an operation-order change?",
        tally.identical,
        tally.entries
    );
    if matches!(optimizer, "sgd" | "rprop" | "asgd" | "adamax") {
        // No square root: nothing may differ from PyTorch at all.
        assert_eq!(
            tally.identical, tally.entries,
            "{optimizer}: not bit-identical"
        );
    }
}

// claim: matches-pytorch
#[test]
fn matches_pytorch_sgd() {
    check("sgd");
}

// claim: matches-pytorch
#[test]
fn matches_pytorch_adagrad() {
    check("adagrad");
}

// claim: matches-pytorch
#[test]
fn matches_pytorch_rmsprop() {
    check("rmsprop");
}

// claim: matches-pytorch
#[test]
fn matches_pytorch_adadelta() {
    check("adadelta");
}

// claim: matches-pytorch
#[test]
fn matches_pytorch_adam() {
    check("adam");
}

// claim: matches-pytorch
#[test]
fn matches_pytorch_adamw() {
    check("adamw");
}

// claim: matches-pytorch
#[test]
fn matches_pytorch_rprop() {
    check("rprop");
}

// claim: matches-pytorch
#[test]
fn matches_pytorch_asgd() {
    check("asgd");
}

// claim: matches-pytorch
#[test]
fn matches_pytorch_adamax() {
    check("adamax");
}

// claim: matches-pytorch
#[test]
fn matches_pytorch_nadam() {
    check("nadam");
}

// claim: matches-pytorch
#[test]
fn matches_pytorch_radam() {
    check("radam");
}

// claim: matches-pytorch
#[test]
fn matches_pytorch_sparseadam() {
    check("sparseadam");
}

/// Every optimizer `replay` knows has its fixture file, and there is no stray one,
/// so a fixture cannot go missing without a failure.
// claim: matches-pytorch
#[test]
fn matches_pytorch_fixtures_cover_every_optimizer() {
    let mut files: Vec<String> = fs::read_dir(fixture_dir("pytorch"))
        .expect("tests/fixtures/pytorch exists")
        .map(|e| {
            e.expect("readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|f| f.ends_with(".json"))
        // The fixtures of the other generators (L-BFGS's `descent run` cases,
        // optimizers `replay` does not know yet, schedules and clipping) are checked
        // by their own tests.
        .filter(|f| {
            let text = fs::read_to_string(fixture_dir("pytorch").join(f)).unwrap_or_default();
            let other = text.contains("\"generator\": \"scripts/reference/generate_lbfgs.py\"")
                || text.contains("\"generator\": \"scripts/reference/generate_more.py\"")
                || text.contains("\"generator\": \"scripts/reference/generate_schedules.py\"");
            !other
                || descent::replay::OPTIMIZERS
                    .iter()
                    .any(|o| format!("{o}.json") == *f)
        })
        .collect();
    files.sort();
    let torch_optimizers: Vec<&str> = descent::replay::OPTIMIZERS
        .iter()
        .copied()
        // Lion is Optax's (tests/lion.rs).
        .filter(|o| *o != "lion")
        .collect();
    let mut want: Vec<String> = torch_optimizers
        .iter()
        .map(|o| format!("{o}.json"))
        .collect();
    want.sort();
    assert_eq!(files, want);
    assert!(descent::replay::OPTIMIZERS.len() >= 14);
    for optimizer in torch_optimizers {
        let fixture = load(optimizer);
        assert!(
            fixture.cases.iter().all(|c| c.optimizer == *optimizer),
            "{optimizer}.json holds a case of another optimizer"
        );
    }
}

/// PyTorch's first momentum buffer is the gradient itself (no dampening); after
/// that, `b_t = mu b_{t-1} + (1 - dampening) g_t`. Checked to the bit on the first
/// two recorded steps of the momentum+dampening fixture, with PyTorch's evaluation
/// order (`buf.mul_(mu).add_(g, alpha=1-dampening)`, then `param.add_(buf, alpha=-lr)`,
/// each one fused multiply-add); then the crate's `Sgd` must hold exactly these
/// buffers and parameters.
// claim: pytorch-momentum-first-step
#[test]
fn pytorch_momentum_first_step() {
    let fixture = load("sgd");
    let case = fixture
        .cases
        .iter()
        .find(|c| c.name == "momentum+dampening")
        .expect("sgd.json has the momentum+dampening case");
    let k = Kw(&case.hyper);
    let (lr, mu, tau) = (k.f("lr", 1e-3), k.f("momentum", 0.0), k.f("dampening", 0.0));
    assert!(mu > 0.0 && tau > 0.0 && case.hyper.get("weight_decay").is_none());
    let (p0, g1, g2) = (&case.params, &case.grads[0], &case.grads[1]);
    let (p1, p2) = (&case.expected[0], &case.expected[1]);
    let n = p0.len();

    // PyTorch's iterates follow the claimed recurrence exactly.
    let b1: Vec<f64> = g1.clone(); // undamped
    let b2: Vec<f64> = (0..n)
        .map(|i| (1.0 - tau).mul_add(g2[i], b1[i] * mu))
        .collect();
    let mut discriminating = 0;
    for i in 0..n {
        assert_eq!(
            p1[i],
            (-lr).mul_add(b1[i], p0[i]),
            "torch step 1, coordinate {i}"
        );
        assert_eq!(
            p2[i],
            (-lr).mul_add(b2[i], p1[i]),
            "torch step 2, coordinate {i}"
        );
        // A damped first buffer would have moved by (1 - tau) lr g1 instead.
        let damped = (-lr).mul_add((1.0 - tau) * g1[i], p0[i]);
        if (damped - p1[i]).abs() > RELATIVE_TOLERANCE * p0[i].abs().max(p1[i].abs()) {
            discriminating += 1;
        }
    }
    // The fixture must tell the two conventions apart in most coordinates.
    assert!(
        2 * discriminating > n,
        "the fixture's first gradient is too small to show the undamped buffer"
    );

    // The crate keeps the same buffer and reaches the same parameters.
    let mut sgd = Sgd::new(SgdConfig {
        lr,
        momentum: mu,
        dampening: tau,
        ..SgdConfig::default()
    })
    .expect("valid sgd config");
    let mut theta = DVector::from_vec(p0.clone());
    for (g, b, p) in [(g1, &b1, p1), (g2, &b2, p2)] {
        sgd.step(&mut theta, &DVector::from_vec(g.clone()))
            .expect("step taken");
        let buffer = sgd
            .state()
            .and_then(|s| s.momentum_buffer.as_ref())
            .expect("momentum buffer exists");
        assert_eq!(buffer.as_slice(), b.as_slice(), "crate's momentum buffer");
        assert_eq!(theta.as_slice(), p.as_slice(), "crate's parameters");
    }
}
