//! Optax's conventions against PyTorch's and the crate's.
//!
//! Claims `optax-conventions`, `optax-adam-variants`, `optax-rprop-lags` and
//! `optax-adadelta-default-ascends`; the last test here checks the crate's
//! `Amsgrad::Optax` and `Amsgrad::Paper` against Optax's `amsgrad`.
//!
//! The fixtures in `tests/fixtures/optax/` are written by
//! `scripts/reference/generate.py`, the script that writes the PyTorch fixtures
//! (jax in float64, Optax's update jit-compiled), and, for Adamax, NAdam and
//! RAdam, by `scripts/reference/generate_optax_more.py` in the same format. There is one file per Optax
//! function. Each case calls `optax.<function>(**args)` on recorded inputs and
//! holds Optax's parameters after every step (`expected`). Where a case has a
//! PyTorch counterpart (`torch`: a replay request's `optimizer` and `hyper`), it
//! also holds PyTorch's parameters on the same inputs (`torch_expected`). All
//! cases of one file share their inputs, so two cases that differ in one option
//! differ only there. Each file records the versions of Optax, jax, jaxlib and
//! PyTorch that wrote it; every load checks them against the pins in
//! `scripts/reference/requirements.txt`.
//!
//! # Tolerance
//!
//! "Optax equals PyTorch" here means: entry i of the iterate at step t satisfies
//! `|optax - torch| <= 1e-11 * scale_i(t)`, where `scale_i(t)` is the largest
//! `|theta_i|` of the reference trajectory up to step t (the start included).
//!
//! Derivation. The two libraries evaluate the same real-number recurrence in
//! different orders: Optax writes `(1 - b) g^2 + b v`, divides by `1 - b^t` and
//! takes `sqrt(v / bc2)`; PyTorch uses `lerp`, fused multiply-adds and
//! `sqrt(v) / sqrt(bc2)`. So, unlike the crate against PyTorch, nearly every
//! operation may round differently. Let `u = 2^-53` and `S = scale_i(t)`. In one
//! step:
//!
//! - the new parameter is rounded once (twice with PyTorch's decoupled decay,
//!   which rounds `theta (1 - lr lambda)` first): at most `2 u S`;
//! - the update is computed from the state by at most `k = 10` operations, each
//!   with relative error `u`; the update is `theta_t - theta_{t-1}`, at most `2 S`:
//!   at most `2 k u S`;
//! - the state (a moving average or a sum) carries the roundings of earlier steps.
//!   Each step adds at most 3 (two products and a sum) and the recurrences never
//!   enlarge older ones (an average multiplies them by `beta <= 1`; a sum of
//!   squares adds terms of one sign), so after t steps a state entry is off by a
//!   relative `3 t u` at most, which moves the update by at most `3 t u * 2 S`.
//!   (The first moment's errors are relative to its two terms `beta m` and
//!   `(1 - beta) g`, not to their sum; when these cancel, each is of the size of
//!   the previous step's update, again at most `2 S`.)
//!
//! Summed over T steps: `(2 T + 2 k T + 3 T (T + 1)) u S`, which for T = 80 (the
//! longest fixture; checked below) and k = 10 is `21200 u S ~= 2.4e-12 S`. The
//! tolerance `1e-11` leaves a factor of 4. The crate is within `1.3e-13 S` of
//! PyTorch (derived in `tests/matches_pytorch.rs`), which fits in the same margin,
//! so the same tolerance serves for the crate against Optax. The largest
//! difference observed between Optax and PyTorch in the matching cases is
//! `4.7e-15 S` (AdamW with Optax's default decay, where PyTorch's extra rounding of
//! `theta (1 - lr lambda)` adds up over the steps).
//!
//! "Differs" means a difference that this bound cannot explain: each such test
//! asserts a concrete difference of at least `1e5` times the tolerance (for RMSprop
//! and Adagrad on the first step, where both libraries' steps are checked against
//! their closed forms).

mod common;

use common::{fixture_dir, numbers, pinned, rows, to_json};

use std::collections::BTreeSet;
use std::fs;

use descent::optim::rprop::sign;
use descent::optim::{
    Adadelta, AdadeltaConfig, Adam, AdamConfig, Amsgrad, Optimizer, Rprop, RpropConfig,
};
use descent::problems::Objective;
use descent::problems::quadratic::Quadratic;
use nalgebra::{DMatrix, DVector};
use serde_json::{Map, Value};

/// The relative tolerance derived in the module documentation.
const OPTAX_TOLERANCE: f64 = 1e-11;

/// The number of steps the tolerance's derivation allows.
const MAX_STEPS: usize = 80;

/// The Optax functions that have a fixture file.
const FUNCTIONS: [&str; 13] = [
    "adadelta",
    "adafactor",
    "adagrad",
    "adam",
    "adamax",
    "adamw",
    "amsgrad",
    "muon",
    "nadam",
    "radam",
    "rmsprop",
    "rprop",
    "sgd",
];

/// One recorded Optax trajectory.
struct OptaxCase {
    name: String,
    function: String,
    args: Map<String, Value>,
    /// The PyTorch counterpart: `(optimizer, hyper)` of a replay request.
    torch: Option<(String, Map<String, Value>)>,
    params: Vec<f64>,
    grads: Vec<Vec<f64>>,
    expected: Vec<Vec<f64>>,
    torch_expected: Option<Vec<Vec<f64>>>,
    /// A matrix parameter's `[rows, cols]` (params and rows flattened row-major).
    shape: Option<Value>,
}

impl OptaxCase {
    fn label(&self) -> String {
        format!("optax.{} / {}", self.function, self.name)
    }

    /// A keyword argument of the Optax call, or Optax's default.
    fn arg(&self, key: &str, default: f64) -> f64 {
        self.args
            .get(key)
            .map_or(default, |v| v.as_f64().expect("numeric argument"))
    }

    /// A boolean keyword argument, or Optax's default.
    fn flag(&self, key: &str, default: bool) -> bool {
        self.args
            .get(key)
            .map_or(default, |v| v.as_bool().expect("boolean argument"))
    }

    /// PyTorch's iterates on the same inputs.
    fn torch_rows(&self) -> &[Vec<f64>] {
        self.torch_expected
            .as_deref()
            .unwrap_or_else(|| panic!("{}: no PyTorch counterpart", self.label()))
    }

    /// The crate's iterates for the PyTorch counterpart, through `descent replay`.
    fn crate_rows(&self) -> Vec<Vec<f64>> {
        let (optimizer, hyper) = self
            .torch
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no PyTorch counterpart", self.label()));
        replay_shaped(
            optimizer,
            hyper,
            self.shape.as_ref(),
            &self.params,
            &self.grads,
        )
    }
}

/// Loads `tests/fixtures/optax/<function>.json`, checking the recorded versions
/// against the pins.
fn load(function: &str) -> Vec<OptaxCase> {
    let path = fixture_dir("optax").join(format!("{function}.json"));
    let text = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {} is missing: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("fixture is valid JSON");
    for package in ["optax", "jax", "jaxlib", "torch"] {
        let recorded = doc[package]
            .as_str()
            .unwrap_or_else(|| panic!("{function}.json records the {package} version"));
        // A local build label such as "+cu132" does not change the CPU kernels.
        let version = recorded.split('+').next().unwrap_or_default();
        assert_eq!(
            version,
            pinned(package),
            "{function}.json was written by {package} {recorded}, requirements.txt pins another"
        );
    }
    assert_eq!(doc["dtype"], "float64", "{function}.json: dtype");
    doc["cases"]
        .as_array()
        .expect("fixture has a list of cases")
        .iter()
        .map(|c| {
            let torch = match &c["torch"] {
                Value::Null => None,
                t => Some((
                    t["optimizer"]
                        .as_str()
                        .expect("torch names an optimizer")
                        .to_string(),
                    t["hyper"].as_object().expect("torch hyper").clone(),
                )),
            };
            OptaxCase {
                name: c["name"].as_str().expect("case has a name").to_string(),
                function: c["function"]
                    .as_str()
                    .expect("case names its function")
                    .to_string(),
                args: c["args"].as_object().expect("args is an object").clone(),
                torch,
                params: numbers(&c["params"], "params"),
                grads: rows(&c["grads"], "grads"),
                expected: rows(&c["expected"], "expected"),
                torch_expected: c.get("torch_expected").map(|r| rows(r, "torch_expected")),
                shape: c.get("shape").cloned(),
            }
        })
        .collect()
}

fn find<'a>(cases: &'a [OptaxCase], name: &str) -> &'a OptaxCase {
    cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name:?}"))
}

/// The crate's iterates through `descent replay` (PyTorch's names and defaults).
fn replay(
    optimizer: &str,
    hyper: &Map<String, Value>,
    params: &[f64],
    grads: &[Vec<f64>],
) -> Vec<Vec<f64>> {
    replay_shaped(optimizer, hyper, None, params, grads)
}

/// [`replay`] for a parameter of the given `shape` (`None`: a vector).
fn replay_shaped(
    optimizer: &str,
    hyper: &Map<String, Value>,
    shape: Option<&Value>,
    params: &[f64],
    grads: &[Vec<f64>],
) -> Vec<Vec<f64>> {
    let mut req = Map::new();
    req.insert("optimizer".into(), Value::String(optimizer.into()));
    if let Some(shape) = shape {
        req.insert("shape".into(), shape.clone());
    }
    req.insert("hyper".into(), Value::Object(hyper.clone()));
    req.insert("params".into(), to_json(params));
    req.insert(
        "grads".into(),
        Value::Array(grads.iter().map(|g| to_json(g)).collect()),
    );
    let response = descent::replay::replay(&Value::Object(req).to_string())
        .unwrap_or_else(|e| panic!("replay {optimizer} refused: {e}"));
    let response: Value = serde_json::from_str(&response).expect("replay answers JSON");
    rows(&response["params"], "response params")
}

/// The crate's iterates through the typed API.
fn run(opt: &mut dyn Optimizer, params: &[f64], grads: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut theta = DVector::from_vec(params.to_vec());
    grads
        .iter()
        .map(|g| {
            opt.step(&mut theta, &DVector::from_vec(g.clone()))
                .expect("step taken");
            theta.iter().copied().collect()
        })
        .collect()
}

/// The largest `|ours - reference| / scale` over a trajectory, with the running
/// scale of the module documentation (taken over `reference` and the start).
fn worst(start: &[f64], ours: &[Vec<f64>], reference: &[Vec<f64>]) -> f64 {
    assert_eq!(ours.len(), reference.len(), "number of steps");
    let mut scale: Vec<f64> = start.iter().map(|x| x.abs()).collect();
    let mut worst = 0.0_f64;
    for (o_row, r_row) in ours.iter().zip(reference) {
        assert_eq!(o_row.len(), r_row.len(), "dimension");
        for (i, (&o, &r)) in o_row.iter().zip(r_row).enumerate() {
            scale[i] = scale[i].max(r.abs());
            let s = scale[i].max(f64::MIN_POSITIVE);
            worst = worst.max((o - r).abs() / s);
        }
    }
    worst
}

/// Asserts that two trajectories agree within the derived tolerance; returns the
/// worst relative difference.
fn assert_close(label: &str, start: &[f64], ours: &[Vec<f64>], reference: &[Vec<f64>]) -> f64 {
    let w = worst(start, ours, reference);
    assert!(
        w <= OPTAX_TOLERANCE,
        "{label}: worst difference {w:e} * scale > {OPTAX_TOLERANCE:e} * scale"
    );
    w
}

/// Optax against PyTorch, and the crate against Optax, for every case of a file
/// that has a PyTorch counterpart.
fn check_matches_pytorch(function: &str) {
    let cases = load(function);
    assert!(!cases.is_empty(), "{function}.json has no cases");
    for case in &cases {
        let label = case.label();
        let against_torch = assert_close(
            &format!("{label} against PyTorch"),
            &case.params,
            &case.expected,
            case.torch_rows(),
        );
        let crate_against_optax = assert_close(
            &format!("crate against {label}"),
            &case.params,
            &case.crate_rows(),
            &case.expected,
        );
        eprintln!(
            "{label}: Optax against PyTorch {against_torch:.2e} * scale, \
             crate against Optax {crate_against_optax:.2e} * scale"
        );
    }
}

// claim: optax-conventions
// claim: optax-adam-variants
// claim-external: checks that the Optax fixtures are pinned and complete
/// Every Optax file is present, pinned and fit for the tolerance's derivation.
#[test]
fn optax_fixtures_are_pinned_and_complete() {
    let files: BTreeSet<String> = fs::read_dir(fixture_dir("optax"))
        .expect("tests/fixtures/optax exists")
        .map(|e| {
            e.expect("readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|f| f.ends_with(".json"))
        // Files of the other generator (`generate_more.py`: Lion, which PyTorch
        // lacks) are checked by their own tests.
        .filter(|f| {
            let text = fs::read_to_string(fixture_dir("optax").join(f)).unwrap_or_default();
            !text.contains("\"generator\": \"scripts/reference/generate_more.py\"")
        })
        .collect();
    let want: BTreeSet<String> = FUNCTIONS.iter().map(|f| format!("{f}.json")).collect();
    assert_eq!(files, want);
    for function in FUNCTIONS {
        for case in load(function) {
            let label = case.label();
            assert_eq!(case.function, function, "{label}: filed under {function}");
            assert!(case.grads.len() <= MAX_STEPS, "{label}: too many steps");
            assert_eq!(case.grads.len(), case.expected.len(), "{label}");
            assert_eq!(
                case.torch.is_some(),
                case.torch_expected.is_some(),
                "{label}: a PyTorch counterpart comes with PyTorch's iterates"
            );
            if let Some(t) = &case.torch_expected {
                assert_eq!(t.len(), case.grads.len(), "{label}");
            }
        }
    }
}

/// The Optax cases of `function` named in `matching` against PyTorch and against
/// the crate within the tolerance, and those named in `differing` against PyTorch
/// by more than `1e5` times it (module documentation). Every case of the file
/// must be named. Returns `(name, Optax against PyTorch, crate against Optax)`
/// for each case, relative to the running scale.
fn check_split(function: &str, matching: &[&str], differing: &[&str]) -> Vec<(String, f64, f64)> {
    let cases = load(function);
    let mut out = Vec::new();
    for case in &cases {
        let label = case.label();
        let name = case.name.as_str();
        assert!(
            matching.contains(&name) != differing.contains(&name),
            "{label}: name it as matching or as differing, once"
        );
        let against_torch = worst(&case.params, &case.expected, case.torch_rows());
        let crate_against_optax = worst(&case.params, &case.crate_rows(), &case.expected);
        if matching.contains(&name) {
            assert_close(&label, &case.params, &case.expected, case.torch_rows());
            assert_close(
                &format!("crate against {label}"),
                &case.params,
                &case.crate_rows(),
                &case.expected,
            );
        } else {
            assert!(
                against_torch > 1e5 * OPTAX_TOLERANCE,
                "{label}: expected to differ from PyTorch, found only {against_torch:e} * scale"
            );
        }
        eprintln!(
            "{label}: Optax against PyTorch {against_torch:.2e} * scale, \
             crate against Optax {crate_against_optax:.2e} * scale"
        );
        out.push((case.name.clone(), against_torch, crate_against_optax));
    }
    out
}

// claim: optax-adam-variants
/// `optax.adamax` equals PyTorch's `Adamax` (eps inside the maximum, only `m`
/// bias-corrected) with the same hyperparameters.
#[test]
fn optax_adamax_matches_pytorch() {
    check_split("adamax", &["defaults", "betas", "eps"], &[]);
}

// claim: optax-adam-variants
/// `optax.nadam` is PyTorch's `NAdam` with a constant momentum coefficient
/// (`momentum_decay = 1e6`, so that `0.96^(t psi)` is 0 and `mu_t = beta1`), and
/// differs from PyTorch's default schedule (`momentum_decay = 4e-3`), whose
/// coefficient starts near `beta1 / 2`: the first step already differs, by the
/// closed form below.
#[test]
fn optax_nadam_is_pytorch_nadam_without_the_schedule() {
    check_split(
        "nadam",
        &["defaults,constant", "betas,constant"],
        &["defaults,schedule"],
    );
    // First step, one coordinate, in closed form. Optax (constant beta1 = b):
    // lr g (b (1 - b) / (1 - b^2) + (1 - b) / (1 - b)) / (|g| + eps) for bias-corrected
    // v = g^2, i.e. lr sign(g) (b / (1 + b) + 1) up to eps. PyTorch's schedule
    // (mu_1 = b (1 - 0.5 0.96^0.004), mu_2 likewise): lr sign(g) ((1 - mu_1) / (1 - mu_1)
    // + mu_2 (1 - b) / (1 - mu_1 mu_2)).
    let cases = load("nadam");
    let case = find(&cases, "defaults,schedule");
    let (lr, b) = (case.arg("learning_rate", f64::NAN), 0.9_f64);
    let mu = |t: f64| b * (1.0 - 0.5 * 0.96_f64.powf(t * 4e-3));
    let optax_step = lr * (b / (1.0 + b) + 1.0);
    let torch_step = lr * (1.0 + mu(2.0) * (1.0 - b) / (1.0 - mu(1.0) * mu(2.0)));
    let mut checked = 0;
    for (i, &g) in case.grads[0].iter().enumerate() {
        if g.abs() < 0.1 {
            // eps = 1e-8 shifts the step by a relative eps / |g|; from |g| = 0.1 on
            // that is at most 1e-7, inside the 1e-6 used here.
            continue;
        }
        checked += 1;
        let o = (case.params[i] - case.expected[0][i]) * g.signum();
        let t = (case.params[i] - case.torch_rows()[0][i]) * g.signum();
        assert!(
            (o - optax_step).abs() <= 1e-6 * optax_step,
            "optax step {i}: {o}"
        );
        assert!(
            (t - torch_step).abs() <= 1e-6 * torch_step,
            "torch step {i}: {t}"
        );
    }
    assert!(checked >= 1, "no coordinate with |g| >= 0.1 at step 1");
    assert!((optax_step / lr - 1.4737).abs() < 1e-4 && (torch_step / lr - 1.0565).abs() < 1e-4);
}

// claim: optax-adam-variants
/// `optax.radam` equals PyTorch's `RAdam` when `eps = 0`. With `eps > 0` they
/// differ from the first rectified step on (step 6 for every `beta2` here),
/// because Optax adds `eps` to `sqrt(v_hat)` and PyTorch to `sqrt(v)` before the
/// bias correction; the unrectified steps 1 to 5 (`m_hat` alone, no `eps`) agree.
#[test]
fn optax_radam_matches_pytorch_only_with_eps_zero() {
    check_split(
        "radam",
        &["eps=0", "betas+eps=0"],
        &["defaults", "eps=1e-3"],
    );
    for case in load("radam") {
        if case.name.starts_with("eps=0") || case.name == "betas+eps=0" {
            continue;
        }
        let label = case.label();
        assert_close(
            &format!("{label}, steps 1-5"),
            &case.params,
            &case.expected[..5],
            &case.torch_rows()[..5],
        );
        let six = worst(&case.params, &case.expected[..6], &case.torch_rows()[..6]);
        assert!(
            six > 1e3 * OPTAX_TOLERANCE,
            "{label}: step 6 differs by only {six:e}"
        );
    }
}

/// Optax 0.2.8's `adafactor` on a vector parameter (not factored), written from its
/// source: `decay_rate_t = 1 - t^-decay_rate` computed in float32 (the step as a
/// float32 array, `1.0 - decay_rate_t` in float32 too), `v = b v + (1 - b)(g^2 +
/// eps)` in float64, `u = g v^-1/2`, clipped by its root mean square
/// (`clipping_threshold`), times the learning rate, times `max(rms(theta), 1e-3)`,
/// subtracted. libm's `powf` gives XLA's float32 powers for every step here
/// (checked for t <= 200 when this test was written).
fn optax_adafactor_vector(case: &OptaxCase) -> Vec<Vec<f64>> {
    let lr = case.arg("learning_rate", f64::NAN);
    let decay_rate = case.arg("decay_rate", 0.8);
    let eps = case.arg("eps", 1e-30);
    let threshold = case.arg("clipping_threshold", 1.0);
    let rms = |x: &[f64]| (x.iter().map(|a| a * a).sum::<f64>() / x.len() as f64).sqrt();
    let mut theta = case.params.clone();
    let mut v = vec![0.0; theta.len()];
    let mut out = Vec::new();
    for (k, g) in case.grads.iter().enumerate() {
        let t = (k + 1) as f32;
        let b32 = 1.0_f32 - t.powf(-(decay_rate as f32));
        let (b, c) = (f64::from(b32), f64::from(1.0_f32 - b32));
        let mut u: Vec<f64> = g
            .iter()
            .zip(&mut v)
            .map(|(&gi, vi)| {
                *vi = b * *vi + c * (gi * gi + eps);
                gi * vi.powf(-0.5)
            })
            .collect();
        let clip = (rms(&u) / threshold).max(1.0);
        let scale = rms(&theta).max(1e-3);
        for (ui, th) in u.iter_mut().zip(&mut theta) {
            *ui = *ui / clip * lr * scale;
            *th -= *ui;
        }
        out.push(theta.clone());
    }
    out
}

// claim: optax-adafactor-float32-decay
/// `optax.adafactor` with `min_dim_size_to_factor=1` and the mapped
/// hyperparameters is PyTorch's `Adafactor` up to one thing: Optax rounds its decay
/// schedule `1 - t^-0.8` to float32. Without a schedule (`decay_rate = 0`, PyTorch's
/// `beta2_decay = 0`) the two agree within the tolerance, vectors and matrices;
/// with it they part by float32's unit roundoff, and Optax's vector trajectory is
/// reproduced within the tolerance by its float32 schedule in an otherwise
/// float64 Adafactor. With Optax's default `min_dim_size_to_factor` (128) a small
/// matrix is not factored, and the trajectories part completely.
#[test]
fn optax_adafactor_is_pytorchs_up_to_a_float32_decay() {
    let cases = load("adafactor");
    assert_eq!(cases.len(), 7, "adafactor.json: seven cases");
    for name in ["vector,decay_rate=0", "matrix,decay_rate=0"] {
        let case = find(&cases, name);
        let a = assert_close(
            &case.label(),
            &case.params,
            &case.expected,
            case.torch_rows(),
        );
        let b = assert_close(
            &format!("crate against {}", case.label()),
            &case.params,
            &case.crate_rows(),
            &case.expected,
        );
        eprintln!("{}: against PyTorch {a:.2e}, crate {b:.2e}", case.label());
    }
    // With the schedule: above float64 rounding (1e3 times the tolerance), at the
    // size of float32's unit roundoff 6e-8 and its effect on the averages.
    for name in ["vector", "matrix", "matrix,tall", "matrix+weight_decay+d"] {
        let case = find(&cases, name);
        let a = worst(&case.params, &case.expected, case.torch_rows());
        let b = worst(&case.params, &case.crate_rows(), &case.expected);
        assert!(a > 1e3 * OPTAX_TOLERANCE, "{}: {a:e}", case.label());
        eprintln!(
            "{}: Optax against PyTorch {a:.2e} * scale, crate against Optax {b:.2e} * scale",
            case.label()
        );
    }
    let vector = find(&cases, "vector");
    let w = assert_close(
        "optax.adafactor against its float32 schedule",
        &vector.params,
        &optax_adafactor_vector(vector),
        &vector.expected,
    );
    eprintln!("optax.adafactor / vector against the float32-schedule model: {w:.2e}");
    let unfactored = find(&cases, "matrix,unfactored");
    let u = worst(
        &unfactored.params,
        &unfactored.expected,
        unfactored.torch_rows(),
    );
    assert!(u > 1e5 * OPTAX_TOLERANCE, "unfactored: {u:e}");
    eprintln!("optax.adafactor / matrix,unfactored against PyTorch {u:.2e} * scale");
}

/// Optax 0.2.8's `contrib.muon` without Nesterov on a square matrix, in float64,
/// written from its source: `m = (1 - beta) g + beta m`, `m_hat = m / (1 -
/// beta^t)`, `X = m_hat / (||m_hat||_F + eps)`, then `ns_steps` times
/// `A = X X^T`, `X = a X + (b A + c A A) X`; the update `-lr X` (the width scale
/// `sqrt(max(1, cols / rows))` is 1 for a square matrix, and there is no decay).
fn optax_muon_square(case: &OptaxCase) -> Vec<Vec<f64>> {
    let lr = case.arg("learning_rate", f64::NAN);
    let (beta, eps) = (case.arg("beta", 0.95), case.arg("eps", 1e-8));
    let (a, b, c) = (3.4445, -4.7750, 2.0315);
    let n = (case.params.len() as f64).sqrt() as usize;
    assert_eq!(n * n, case.params.len(), "a square matrix");
    let mut theta = DMatrix::from_row_slice(n, n, &case.params);
    let mut m = DMatrix::zeros(n, n);
    let mut out = Vec::new();
    for (k, g) in case.grads.iter().enumerate() {
        let g = DMatrix::from_row_slice(n, n, g);
        m = g * (1.0 - beta) + &m * beta;
        let m_hat = &m / (1.0 - beta.powi(k as i32 + 1));
        let mut x = &m_hat / (m_hat.norm() + eps);
        for _ in 0..5 {
            let aa = &x * x.transpose();
            let bb = &aa * b + &aa * &aa * c;
            x = &x * a + bb * &x;
        }
        theta -= x * lr;
        out.push(theta.transpose().iter().copied().collect());
    }
    out
}

// claim: optax-muon-float64-newton-schulz
/// `optax.contrib.muon(nesterov=False)` on a square matrix is PyTorch's `Muon`
/// (`nesterov=False`, `weight_decay=0`) except for the arithmetic of the
/// Newton-Schulz iteration: PyTorch runs it in bfloat16, Optax in float64. A
/// float64 model of Optax's step reproduces Optax's trajectory; PyTorch's (and the
/// crate's, which emulates bfloat16) lies at bfloat16's distance from it. With
/// Nesterov, and on a tall matrix, the two are different methods.
///
/// Tolerance of the model, absolute, per step: the iteration's quintic map
/// `p(s) = a s + b s^3 + c s^5` has `|p'(s)| <= 3.9` on `[0, 1.2]`, where the
/// normalized singular values stay, so five steps amplify an input error by at
/// most `3.9^5 < 1000`. Each step's products of 3 x 3 matrices with entries at
/// most 1.5 round at most 15 times by `u` relative, so the iteration's output is
/// off by at most `5 * 1000 * 15 u * 1.5 < 1.2e5 u`; the momentum, its correction
/// and the normalization add a few `u`. The step multiplies by `lr`, and `t`
/// steps add up: `|model - optax| <= t lr 1.2e5 u` after step `t` (about `2e-14 t`
/// for `lr = 0.01`).
#[test]
fn optax_muon_is_pytorchs_in_float64() {
    let cases = load("muon");
    assert_eq!(cases.len(), 3, "muon.json: three cases");
    let case = find(&cases, "square,nesterov=False");
    let lr = case.arg("learning_rate", f64::NAN);
    let model = optax_muon_square(case);
    let u = f64::EPSILON / 2.0;
    let mut worst_model = 0.0_f64;
    for (t, (row, want)) in model.iter().zip(&case.expected).enumerate() {
        let bound = (t + 1) as f64 * lr * 1.2e5 * u;
        for (x, y) in row.iter().zip(want) {
            let d = (x - y).abs();
            assert!(
                d <= bound,
                "step {}: model {x}, Optax {y}, {d:e} > {bound:e}",
                t + 1
            );
            worst_model = worst_model.max(d / bound);
        }
    }
    // PyTorch (bfloat16 Newton-Schulz) and the crate against Optax: further apart
    // than float64 rounding (1e3 times the tolerance), at bfloat16's scale.
    let a = worst(&case.params, &case.expected, case.torch_rows());
    let b = worst(&case.params, &case.crate_rows(), &case.expected);
    assert!(
        a > 1e3 * OPTAX_TOLERANCE && b > 1e3 * OPTAX_TOLERANCE,
        "{a:e} {b:e}"
    );
    eprintln!(
        "{}: model within {worst_model:.2e} of its bound; Optax against PyTorch {a:.2e} * scale, \
         crate against Optax {b:.2e} * scale",
        case.label()
    );
    // A different method, not a different precision: more than five times the
    // bfloat16 distance just measured.
    let precision = a;
    for name in ["square", "tall,nesterov=False"] {
        let case = find(&cases, name);
        let a = worst(&case.params, &case.expected, case.torch_rows());
        assert!(a > 5.0 * precision, "{}: {a:e}", case.label());
        eprintln!("{}: Optax against PyTorch {a:.2e} * scale", case.label());
    }
}

// claim: optax-conventions
/// `optax.adam` equals PyTorch's `Adam` with the same hyperparameters.
#[test]
fn optax_adam_matches_pytorch() {
    check_matches_pytorch("adam");
}

// claim: optax-conventions
/// `optax.adamw` equals PyTorch's `AdamW` with the same hyperparameters, decay
/// included; only the default decay differs (Optax 1e-4, PyTorch 1e-2).
#[test]
fn optax_adamw_matches_pytorch() {
    check_matches_pytorch("adamw");
    let cases = load("adamw");
    let defaults = find(&cases, "defaults");
    assert!(!defaults.args.contains_key("weight_decay"));
    let (_, hyper) = defaults.torch.as_ref().expect("counterpart");
    assert_eq!(hyper["weight_decay"], 1e-4, "Optax's default decay");
    // PyTorch's own default decay, 1e-2, gives another trajectory. Closed form of
    // the difference: the decay alone shrinks theta by (1 - lr wd) per step, so
    // after T steps the two differ by about T lr (1e-2 - 1e-4) |theta|, about
    // 7e-4 |theta| here; assert a tenth of that.
    let pytorch_default = replay("adamw", &Map::new(), &defaults.params, &defaults.grads);
    let w = worst(&defaults.params, &pytorch_default, &defaults.expected);
    let lr = defaults.arg("learning_rate", f64::NAN);
    let expected_gap = defaults.grads.len() as f64 * lr * (1e-2 - 1e-4);
    assert!(
        w > 0.1 * expected_gap,
        "PyTorch's default decay should differ by about {expected_gap:e}, found {w:e}"
    );
}

// claim: optax-conventions
/// `optax.sgd` with momentum or Nesterov momentum equals PyTorch's `SGD` (Optax's
/// trace starts from zero and has no dampening, so its first buffer is `g`).
#[test]
fn optax_sgd_matches_pytorch() {
    check_matches_pytorch("sgd");
    let cases = load("sgd");
    for name in ["momentum", "nesterov"] {
        assert!(find(&cases, name).args.contains_key("momentum"));
    }
}

/// Optax's RMSprop first step from zero state, in closed form: eps inside the
/// square root (`eps_in_sqrt=True`) or outside. Returns the displacement.
fn rmsprop_first_step(lr: f64, decay: f64, eps: f64, g: f64, eps_in_sqrt: bool) -> f64 {
    let v = (1.0 - decay) * g * g;
    if eps_in_sqrt {
        -lr * g / (v + eps).sqrt()
    } else {
        -lr * g / (v.sqrt() + eps)
    }
}

// claim: optax-conventions
/// `optax.rmsprop` equals PyTorch's `RMSprop` with `eps_in_sqrt=False` (plain,
/// centered, with momentum, other decay and eps); with its default
/// `eps_in_sqrt=True` it differs, even with PyTorch's decay 0.99.
#[test]
fn optax_rmsprop_matches_pytorch_only_without_eps_in_sqrt() {
    let cases = load("rmsprop");
    for case in &cases {
        let label = case.label();
        if case.flag("eps_in_sqrt", true) {
            continue;
        }
        let w = assert_close(&label, &case.params, &case.expected, case.torch_rows());
        let c = assert_close(&label, &case.params, &case.crate_rows(), &case.expected);
        eprintln!("{label}: Optax against PyTorch {w:.2e}, crate against Optax {c:.2e}");
    }
    for name in ["defaults", "decay=0.99"] {
        let case = find(&cases, name);
        assert!(
            case.flag("eps_in_sqrt", true),
            "{name} keeps eps in the sqrt"
        );
        let (lr, decay, eps) = (
            case.arg("learning_rate", f64::NAN),
            case.arg("decay", 0.9),
            case.arg("eps", 1e-8),
        );
        // PyTorch's counterpart is RMSprop(lr) with its defaults alpha 0.99, eps 1e-8.
        let (_, hyper) = case.torch.as_ref().expect("counterpart");
        assert!(hyper.is_empty() && lr == 1e-2);
        // Step 1 in closed form, from zero state, for both libraries. Five roundings
        // against Optax's few others: far inside the tolerance.
        let (g, p0) = (&case.grads[0], &case.params);
        let mut gap = 0.0_f64;
        for i in 0..g.len() {
            let optax = rmsprop_first_step(lr, decay, eps, g[i], true);
            let torch = rmsprop_first_step(lr, 0.99, 1e-8, g[i], false);
            let scale = p0[i].abs().max(case.expected[0][i].abs());
            let ours = p0[i] + optax;
            assert!(
                (ours - case.expected[0][i]).abs() <= OPTAX_TOLERANCE * scale,
                "{name}: Optax's first step, coordinate {i}"
            );
            let torch_theta = p0[i] + torch;
            let torch_scale = p0[i].abs().max(torch_theta.abs());
            assert!(
                (torch_theta - case.torch_rows()[0][i]).abs() <= OPTAX_TOLERANCE * torch_scale,
                "{name}: PyTorch's first step, coordinate {i}"
            );
            gap = gap.max((optax - torch).abs() / scale.max(torch_scale));
        }
        eprintln!(
            "rmsprop {name}: first-step gap {gap:.3e} * scale, whole trajectory {:.3e}",
            worst(&case.params, &case.expected, case.torch_rows())
        );
        // At |g| = 1e-6, say, PyTorch moves by lr |g| / (0.1 |g| + 1e-8) ~= 9 lr, Optax
        // by lr |g| / sqrt(1e-14 + 1e-8) ~= 0.01 lr; the fixture's gradients reach
        // 1e-8, so the gap is a sizeable part of the parameter.
        assert!(
            gap > 1e5 * OPTAX_TOLERANCE,
            "{name}: Optax should differ from PyTorch, gap {gap:e}"
        );
    }
}

// claim: optax-conventions
// claim-external: compares Optax's and PyTorch's fixtures with each other
/// `optax.adagrad` differs from PyTorch's `Adagrad` by default: its accumulator
/// starts at 0.1 and eps 1e-7 sits inside the square root.
#[test]
fn optax_adagrad_differs_by_default() {
    let cases = load("adagrad");
    let case = find(&cases, "defaults");
    let (_, hyper) = case.torch.as_ref().expect("counterpart");
    assert!(hyper.is_empty() && case.args.len() == 1);
    let lr = case.arg("learning_rate", f64::NAN);
    assert_eq!(lr, 1e-2, "PyTorch's default learning rate");
    let (g, p0) = (&case.grads[0], &case.params);
    let mut gap = 0.0_f64;
    for i in 0..g.len() {
        // Optax: s = 0.1 + g^2, step -lr g / sqrt(s + 1e-7).
        let optax = -lr * g[i] / (0.1 + g[i] * g[i] + 1e-7).sqrt();
        // PyTorch: s = g^2, step -lr g / (sqrt(s) + 1e-10).
        let torch = -lr * g[i] / ((g[i] * g[i]).sqrt() + 1e-10);
        let scale = p0[i].abs().max(case.expected[0][i].abs());
        assert!(
            (p0[i] + optax - case.expected[0][i]).abs() <= OPTAX_TOLERANCE * scale,
            "Optax's first step, coordinate {i}"
        );
        let torch_theta = case.torch_rows()[0][i];
        let torch_scale = p0[i].abs().max(torch_theta.abs());
        assert!(
            (p0[i] + torch - torch_theta).abs() <= OPTAX_TOLERANCE * torch_scale,
            "PyTorch's first step, coordinate {i}"
        );
        gap = gap.max((optax - torch).abs() / scale.max(torch_scale));
    }
    eprintln!(
        "adagrad defaults: first-step gap {gap:.3e} * scale, whole trajectory {:.3e}",
        worst(&case.params, &case.expected, case.torch_rows())
    );
    // PyTorch's first step is lr sign(g) for |g| >> 1e-10; Optax's is
    // lr g / sqrt(0.1 + g^2), about 3 lr |g| for small g.
    assert!(gap > 1e5 * OPTAX_TOLERANCE, "gap {gap:e}");
}

// claim: optax-conventions
/// With `initial_accumulator_value=0` and `eps=0`, `optax.adagrad` equals PyTorch's
/// `Adagrad(eps=0)` (every coordinate's first gradient is non-zero, so neither
/// library divides 0 by 0); also with a non-zero initial accumulator.
#[test]
fn optax_adagrad_matches_pytorch_with_zero_accumulator_and_eps() {
    let cases = load("adagrad");
    let mut seen = 0;
    for case in &cases {
        if case.arg("eps", 1e-7) != 0.0 {
            continue;
        }
        let label = case.label();
        let (_, hyper) = case.torch.as_ref().expect("counterpart");
        assert_eq!(hyper["eps"], 0.0, "{label}");
        assert!(
            case.grads[0].iter().all(|&g| g != 0.0),
            "{label}: first row"
        );
        let w = assert_close(&label, &case.params, &case.expected, case.torch_rows());
        let c = assert_close(&label, &case.params, &case.crate_rows(), &case.expected);
        eprintln!("{label}: Optax against PyTorch {w:.2e}, crate against Optax {c:.2e}");
        seen += 1;
    }
    assert!(seen >= 1);
    let zero = find(&cases, "initial_accumulator_value=0+eps=0");
    assert_eq!(zero.arg("initial_accumulator_value", 0.1), 0.0);
}

/// The crate's Rprop for an `optax.rprop` case (PyTorch's semantics).
fn crate_rprop(case: &OptaxCase) -> Rprop {
    Rprop::new(RpropConfig {
        lr: case.arg("learning_rate", f64::NAN),
        etas: (case.arg("eta_minus", 0.5), case.arg("eta_plus", 1.2)),
        step_sizes: (
            case.arg("min_step_size", 1e-6),
            case.arg("max_step_size", 50.0),
        ),
        maximize: false,
    })
    .expect("valid rprop config")
}

// claim: optax-rprop-lags
/// Counterexample to "Optax's step t equals the correct step t-1": in a coordinate
/// whose gradient alternates in sign at every step, Optax's Rprop never moves,
/// while the correct Rprop (PyTorch's, the crate's) moves by `-lr sign(g_1)` at
/// step 1. So Optax's step 2 is 0, not the correct step 1.
#[test]
fn optax_rprop_never_moves_an_alternating_coordinate() {
    for case in &load("rprop") {
        let label = case.label();
        let lr = case.arg("learning_rate", f64::NAN);
        // Coordinate 1 of the fixture's gradients alternates strictly in sign.
        let g1: Vec<f64> = case.grads.iter().map(|g| g[1]).collect();
        assert!(g1.windows(2).all(|w| w[0] * w[1] < 0.0), "{label}");
        // Optax: bit-for-bit the starting value, at every step.
        for (t, row) in case.expected.iter().enumerate() {
            assert_eq!(
                row[1].to_bits(),
                case.params[1].to_bits(),
                "{label}: Optax moved coordinate 1 at step {}",
                t + 1
            );
        }
        // The correct first step moves it by exactly -lr sign(g_1) (one rounding).
        let ours = run(&mut crate_rprop(case), &case.params, &case.grads);
        let torch = case.torch_rows();
        let first = (-sign(g1[0])).mul_add(lr, case.params[1]);
        assert_eq!(ours[0][1], first, "{label}: crate's step 1");
        assert_eq!(torch[0][1], first, "{label}: PyTorch's step 1");
        assert_ne!(first, case.params[1], "{label}: the correct step 1 moves");
        // And it keeps moving: every odd step (after a skipped even one) moves again.
        let moves = (1..ours.len())
            .filter(|&t| ours[t][1] != ours[t - 1][1])
            .count();
        assert!(2 * moves + 2 >= ours.len(), "{label}: {moves} moves");
    }
}

// claim: optax-rprop-lags
/// The corrected statement: Optax's update at step t is the correct update of step
/// t-1, except where `g_t` reverses the sign of that update, where it is 0 (the
/// stale step is dropped); its first update is 0. Checked bit for bit: the
/// crate's Rprop (bit-identical to PyTorch's on these inputs) gives the correct
/// updates, and Optax's iterates are rebuilt from them with Optax's one rounding
/// per step, `theta + u`.
#[test]
fn optax_rprop_is_one_step_stale_and_drops_it_at_a_sign_flip() {
    for case in &load("rprop") {
        let label = case.label();
        let mut rprop = crate_rprop(case);
        let mut theta = DVector::from_vec(case.params.clone());
        let mut rebuilt = case.params.clone();
        // The correct update of the previous step, and the correct state before it.
        let mut previous_update = vec![0.0; case.params.len()];
        let mut prev_grad = vec![0.0; case.params.len()];
        let (mut dropped, mut stale) = (0, 0);
        for (t, g) in case.grads.iter().enumerate() {
            rprop
                .step(&mut theta, &DVector::from_vec(g.clone()))
                .expect("step taken");
            assert_eq!(
                theta.as_slice(),
                case.torch_rows()[t].as_slice(),
                "{label}: the crate is PyTorch's Rprop, step {}",
                t + 1
            );
            let state = rprop.state().expect("state after a step");
            for i in 0..g.len() {
                // Optax's sign test: g_t against its stored previous update (the
                // gradients here are far from underflow, so the sign is that of
                // g_t * prev).
                let reversed = g[i] * prev_grad[i] < 0.0;
                let u = if reversed { 0.0 } else { previous_update[i] };
                if reversed && previous_update[i] != 0.0 {
                    dropped += 1;
                } else if u != 0.0 {
                    stale += 1;
                }
                rebuilt[i] += u;
                // The correct update of this step: -sign(zeroed g) * step size, exact.
                previous_update[i] = -sign(state.prev[i]) * state.step_size[i];
                prev_grad[i] = state.prev[i];
            }
            assert_eq!(
                rebuilt.as_slice(),
                case.expected[t].as_slice(),
                "{label}: step {}",
                t + 1
            );
        }
        eprintln!("{label}: {stale} stale updates applied, {dropped} dropped at a sign flip");
        assert!(dropped > 0 && stale > 0, "{label}: both kinds occur");
    }
}

/// Adadelta's first update from zero state, `sqrt(eps) / sqrt((1 - rho) g^2 + eps) g`,
/// before any learning rate or sign.
fn adadelta_first_delta(rho: f64, eps: f64, g: f64) -> f64 {
    eps.sqrt() / ((1.0 - rho) * g * g + eps).sqrt() * g
}

// claim: optax-adadelta-default-ascends
/// `optax.adadelta()` (learning_rate=None) on `f(x) = |x|^2`: its first update for
/// `g = +2` is `+0.0031622...`, and `f` grows at every step, while the crate's (and
/// PyTorch's) default Adadelta makes `f` shrink at every step from the same start.
#[test]
fn optax_adadelta_default_ascends() {
    let cases = load("adadelta");
    let case = find(&cases, "defaults,quadratic");
    assert!(
        case.args.is_empty(),
        "no learning_rate: Optax's default None"
    );
    let n = case.params.len();
    let f = Quadratic::new(DMatrix::identity(n, n) * 2.0, DVector::zeros(n))
        .expect("x'x is a quadratic");
    // The recorded gradients are f's at Optax's own iterates (2 x: exact).
    let mut x = DVector::from_vec(case.params.clone());
    let mut value = f.value(&x);
    for (t, (g, row)) in case.grads.iter().zip(&case.expected).enumerate() {
        assert_eq!(
            f.gradient(&x).as_slice(),
            g.as_slice(),
            "gradient, step {}",
            t + 1
        );
        let next = DVector::from_vec(row.clone());
        let next_value = f.value(&next);
        assert!(
            next_value > value,
            "Optax's default Adadelta should go uphill: step {}, f {value:e} -> {next_value:e}",
            t + 1
        );
        (x, value) = (next, next_value);
    }
    // The first update where g = +2 (x = 1), in closed form with rho 0.9 and eps 1e-6.
    assert_eq!((case.params[0], case.grads[0][0]), (1.0, 2.0));
    let delta = adadelta_first_delta(0.9, 1e-6, 2.0);
    assert!((0.003_162_2..0.003_162_3).contains(&delta), "{delta}");
    let moved = case.expected[0][0] - case.params[0];
    assert!(
        (moved - delta).abs() <= OPTAX_TOLERANCE * case.expected[0][0].abs(),
        "Optax's first update {moved:e}, expected +{delta:e}"
    );
    // The crate's Adadelta with maximize = true reproduces Optax on these gradients.
    let mut ascent = Adadelta::new(AdadeltaConfig {
        maximize: true,
        ..AdadeltaConfig::default()
    })
    .expect("valid config");
    let w = assert_close(
        "crate's ascending Adadelta against optax.adadelta()",
        &case.params,
        &run(&mut ascent, &case.params, &case.grads),
        &case.expected,
    );
    eprintln!("adadelta quadratic: first update {moved:.6e}; crate (maximize) {w:.2e}");
    // PyTorch's default (the crate's) descends from the same start.
    let mut descent = Adadelta::new(AdadeltaConfig::default()).expect("valid config");
    let mut x = DVector::from_vec(case.params.clone());
    let mut value = f.value(&x);
    for t in 0..case.grads.len() {
        let g = f.gradient(&x);
        descent.step(&mut x, &g).expect("step taken");
        let next_value = f.value(&x);
        assert!(next_value < value, "the default descends: step {}", t + 1);
        value = next_value;
    }
}

// claim: optax-adadelta-default-ascends
/// On the general fixture, `optax.adadelta()` is PyTorch's Adadelta with
/// `maximize=True`: every step moves each coordinate along `+g` (never against it),
/// its first step mirrors PyTorch's default one, and with `learning_rate=1.0`
/// (which flips the sign) Optax equals PyTorch's default.
#[test]
fn optax_adadelta_default_is_pytorch_with_maximize() {
    let cases = load("adadelta");
    let case = find(&cases, "defaults");
    let label = case.label();
    assert!(case.args.is_empty());
    let mut along = 0;
    let mut previous = case.params.clone();
    for (t, (g, row)) in case.grads.iter().zip(&case.expected).enumerate() {
        for i in 0..g.len() {
            // fl(theta + u) - theta has the sign of u or is 0 (rounding is monotone),
            // and Optax's u is a positive multiple of g.
            let moved = row[i] - previous[i];
            assert!(
                moved * g[i] >= 0.0,
                "{label}: step {} coordinate {i} moved against g",
                t + 1
            );
            if moved * g[i] > 0.0 {
                along += 1;
            }
        }
        previous.clone_from(row);
    }
    assert!(
        2 * along > case.grads.len() * case.params.len(),
        "{along} moves along +g"
    );
    // Its first step mirrors PyTorch's default one: the same size, the other sign.
    let torch = &case.torch_rows()[0];
    for (i, (&p0, &t1)) in case.params.iter().zip(torch).enumerate() {
        let optax_step = case.expected[0][i] - p0;
        let torch_step = t1 - p0;
        let scale = p0.abs().max(t1.abs());
        assert!(
            (optax_step + torch_step).abs() <= OPTAX_TOLERANCE * scale,
            "{label}: step 1 coordinate {i}: Optax {optax_step:e}, PyTorch {torch_step:e}"
        );
    }
    // The whole trajectory is PyTorch's Adadelta with maximize=True (the crate's).
    let mut hyper = Map::new();
    hyper.insert("maximize".into(), Value::Bool(true));
    let ascent = replay("adadelta", &hyper, &case.params, &case.grads);
    let w = assert_close(&label, &case.params, &ascent, &case.expected);
    // With learning_rate=1.0, Optax flips the sign and equals PyTorch's default.
    let fixed = find(&cases, "learning_rate=1");
    let l = fixed.label();
    let against_torch = assert_close(&l, &fixed.params, &fixed.expected, fixed.torch_rows());
    let crate_against = assert_close(&l, &fixed.params, &fixed.crate_rows(), &fixed.expected);
    eprintln!(
        "{label}: crate (maximize) against Optax {w:.2e}; {l}: Optax against PyTorch \
         {against_torch:.2e}, crate against Optax {crate_against:.2e}"
    );
}

/// The crate's Adam for an `optax.amsgrad` case, with the given AMSGrad variant.
fn crate_amsgrad(case: &OptaxCase, amsgrad: Amsgrad) -> Adam {
    Adam::new(AdamConfig {
        lr: case.arg("learning_rate", f64::NAN),
        betas: (case.arg("b1", 0.9), case.arg("b2", 0.999)),
        eps: case.arg("eps", 1e-8),
        amsgrad,
        ..AdamConfig::default()
    })
    .expect("valid adam config")
}

/// `optax.amsgrad` is the crate's `Amsgrad::Optax` (the maximum of the
/// bias-corrected `v / bc2`); with both bias corrections off it is
/// `Amsgrad::Paper`. Neither is PyTorch's `amsgrad=True` on these inputs.
// claim: amsgrad-three-conventions
#[test]
fn optax_amsgrad_is_the_crates_optax_convention() {
    for case in &load("amsgrad") {
        let label = case.label();
        let corrected = case.flag("bias_correction_mu", true);
        assert_eq!(corrected, case.flag("bias_correction_nu", true), "{label}");
        let variant = if corrected {
            Amsgrad::Optax
        } else {
            Amsgrad::Paper
        };
        let ours = run(&mut crate_amsgrad(case, variant), &case.params, &case.grads);
        let w = assert_close(
            &format!("crate's {variant:?} against {label}"),
            &case.params,
            &ours,
            &case.expected,
        );
        let gap = worst(&case.params, &case.expected, case.torch_rows());
        eprintln!("{label}: crate {variant:?} {w:.2e}; PyTorch amsgrad=True differs by {gap:.3e}");
        assert!(
            gap > 1e5 * OPTAX_TOLERANCE,
            "{label}: PyTorch's convention differs"
        );
    }
}
