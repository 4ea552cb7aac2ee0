//! Checkpoints (feature `serde`, enabled for the crate's own tests by its
//! dev-dependency on itself): `2k` steps in one go and `k` steps, save to JSON,
//! load, `k` more steps end bit-identical, also when the load happens in a fresh
//! process; and a saved state the configuration could not have produced is
//! refused with an error naming the field.

use std::path::PathBuf;
use std::process::Command;

use std::fmt::Debug;

use descent::CheckpointError;
use descent::optim::{
    Adadelta, AdadeltaConfig, Adafactor, AdafactorConfig, Adagrad, AdagradConfig, Adam, AdamConfig,
    AdamState, Adamax, AdamaxConfig, Amsgrad, Asgd, AsgdConfig, Lion, LionConfig, Muon, MuonConfig,
    NAdam, NAdamConfig, Optimizer, RAdam, RAdamConfig, RmsProp, RmsPropConfig, Rprop, RpropConfig,
    Sgd, SgdConfig, WeightDecay,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

const K: usize = 25;
const N: usize = 7;

fn start_n(n: usize) -> Vec<f64> {
    (0..n).map(|i| (i as f64 * 0.9 + 0.3).sin() * 2.0).collect()
}

fn start() -> Vec<f64> {
    start_n(N)
}

/// A gradient that depends on the parameters (so that a wrong resume shows up in
/// later steps), with mixed signs and scales.
fn grad(theta: &[f64]) -> Vec<f64> {
    theta
        .iter()
        .enumerate()
        .map(|(i, &x)| (x * (i as f64 + 1.0)).sin() + 0.1 * x - 0.05 * i as f64)
        .collect()
}

fn run<O: Optimizer>(opt: &mut O, theta: &mut [f64], steps: usize) {
    for _ in 0..steps {
        let g = grad(theta);
        opt.step_slice(theta, &g).unwrap();
    }
}

fn bits(x: &[f64]) -> Vec<u64> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// The optimizers checked, each as a fresh optimizer saved to JSON with the
/// number of parameters it steps: one or more per optimizer, with every
/// optional buffer and running scalar switched on somewhere.
fn optimizers() -> Vec<(&'static str, usize, String)> {
    let json = |o: &dyn erased::Json| o.json();
    let optim = |c: &dyn erased::Fresh| c.fresh();
    vec![
        (
            "sgd",
            N,
            optim(&SgdConfig {
                lr: 0.05,
                ..SgdConfig::default()
            }),
        ),
        (
            "sgd",
            N,
            optim(&SgdConfig {
                lr: 0.05,
                momentum: 0.9,
                nesterov: true,
                weight_decay: WeightDecay::L2(0.01),
                ..SgdConfig::default()
            }),
        ),
        (
            "adam",
            N,
            optim(&AdamConfig {
                lr: 0.05,
                amsgrad: Amsgrad::PyTorch,
                ..AdamConfig::default()
            }),
        ),
        ("adam", N, optim(&AdamConfig::adamw())),
        (
            "adagrad",
            N,
            optim(&AdagradConfig {
                lr_decay: 0.01,
                ..AdagradConfig::default()
            }),
        ),
        ("adadelta", N, optim(&AdadeltaConfig::default())),
        (
            "rmsprop",
            N,
            optim(&RmsPropConfig {
                momentum: 0.5,
                centered: true,
                ..RmsPropConfig::default()
            }),
        ),
        ("rprop", N, optim(&RpropConfig::default())),
        // Averaging starts at step 5, so `mu` changes across the save.
        (
            "asgd",
            N,
            optim(&AsgdConfig {
                lr: 0.05,
                t0: 5.0,
                weight_decay: WeightDecay::L2(0.01),
                ..AsgdConfig::default()
            }),
        ),
        (
            "adamax",
            N,
            optim(&AdamaxConfig {
                lr: 0.05,
                ..AdamaxConfig::default()
            }),
        ),
        // NAdam's running product of the momentum schedule is saved state.
        (
            "nadam",
            N,
            optim(&NAdamConfig {
                lr: 0.05,
                weight_decay: WeightDecay::Decoupled(0.01),
                ..NAdamConfig::default()
            }),
        ),
        // RAdam's rectification switches on at step 6, before the save.
        (
            "radam",
            N,
            optim(&RAdamConfig {
                lr: 0.05,
                ..RAdamConfig::default()
            }),
        ),
        (
            "lion",
            N,
            optim(&LionConfig {
                lr: 0.01,
                ..LionConfig::default()
            }),
        ),
        (
            "adafactor",
            12,
            json(
                &Adafactor::new(
                    AdafactorConfig {
                        weight_decay: 0.01,
                        ..AdafactorConfig::default()
                    },
                    Some([3, 4]),
                )
                .unwrap(),
            ),
        ),
        (
            "adafactor",
            N,
            json(&Adafactor::new(AdafactorConfig::default(), None).unwrap()),
        ),
        (
            "muon",
            12,
            json(
                &Muon::new(
                    MuonConfig {
                        lr: 0.02,
                        ..MuonConfig::default()
                    },
                    [4, 3],
                )
                .unwrap(),
            ),
        ),
    ]
}

mod erased {
    use descent::optim::{Optim, Rule};

    /// An optimizer as JSON, so that optimizers of different types share a list.
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }

    /// A fresh per-coordinate optimizer built from a configuration, as JSON.
    pub trait Fresh {
        fn fresh(&self) -> String;
    }
    impl<R: Rule + serde::Serialize> Fresh for R
    where
        R::State: serde::Serialize,
    {
        fn fresh(&self) -> String {
            serde_json::to_string(&Optim::new(self.clone()).unwrap()).unwrap()
        }
    }
}

/// Runs `f` with the optimizer type named `name`.
macro_rules! with_optimizer {
    ($name:expr, $body:ident ( $($arg:expr),* )) => {
        match $name {
            "sgd" => $body::<Sgd>($($arg),*),
            "adam" => $body::<Adam>($($arg),*),
            "adagrad" => $body::<Adagrad>($($arg),*),
            "adadelta" => $body::<Adadelta>($($arg),*),
            "rmsprop" => $body::<RmsProp>($($arg),*),
            "rprop" => $body::<Rprop>($($arg),*),
            "asgd" => $body::<Asgd>($($arg),*),
            "adamax" => $body::<Adamax>($($arg),*),
            "nadam" => $body::<NAdam>($($arg),*),
            "radam" => $body::<RAdam>($($arg),*),
            "lion" => $body::<Lion>($($arg),*),
            "adafactor" => $body::<Adafactor>($($arg),*),
            "muon" => $body::<Muon>($($arg),*),
            other => panic!("unknown optimizer {other}"),
        }
    };
}

/// `2k` steps straight, and `k` steps then a JSON round trip then `k` steps, in
/// this process, from the fresh optimizer saved in `fresh` stepping `n`
/// parameters: returns the saved JSON and the two final parameter vectors.
fn in_process<O>(fresh: &str, n: usize) -> (String, Vec<f64>, Vec<f64>)
where
    O: Optimizer + PartialEq + Debug + Serialize + DeserializeOwned,
{
    let mut straight: O = serde_json::from_str(fresh).unwrap();
    let mut theta = start_n(n);
    run(&mut straight, &mut theta, 2 * K);

    let mut first: O = serde_json::from_str(fresh).unwrap();
    let mut resumed_theta = start_n(n);
    run(&mut first, &mut resumed_theta, K);
    let saved = serde_json::to_string(&(&first, &resumed_theta)).unwrap();
    drop(first);
    let (mut second, mut resumed_theta): (O, Vec<f64>) = serde_json::from_str(&saved).unwrap();
    run(&mut second, &mut resumed_theta, K);
    assert_eq!(second, straight, "{} state after resuming", straight.name());
    (saved, theta, resumed_theta)
}

/// The second half of a resumed run, from a saved file: writes the final
/// parameters' bits next to it.
fn resume_file<O>(path: &str)
where
    O: Optimizer + DeserializeOwned,
{
    let saved = std::fs::read_to_string(path).unwrap();
    let (mut opt, mut theta): (O, Vec<f64>) = serde_json::from_str(&saved).unwrap();
    run(&mut opt, &mut theta, K);
    std::fs::write(
        format!("{path}.out"),
        serde_json::to_string(&bits(&theta)).unwrap(),
    )
    .unwrap();
}

#[test]
fn resuming_from_json_is_bit_identical() {
    for (name, n, fresh) in optimizers() {
        let (_, straight, resumed) = with_optimizer!(name, in_process(&fresh, n));
        assert_eq!(bits(&straight), bits(&resumed), "{name} {fresh}");
    }
}

/// The child half of the next test: does nothing unless the parent set
/// `DESCENT_CHECKPOINT_CHILD` to `name:path`.
#[test]
fn resume_in_child_process() {
    if let Ok(job) = std::env::var("DESCENT_CHECKPOINT_CHILD") {
        let (name, path) = job.split_once(':').unwrap();
        with_optimizer!(name, resume_file(path));
    }
}

#[test]
fn resuming_in_a_fresh_process_is_bit_identical() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    for (i, (name, n, fresh)) in optimizers().into_iter().enumerate() {
        let (saved, straight, _) = with_optimizer!(name, in_process(&fresh, n));
        let path = dir.join(format!("checkpoint-{i}-{name}.json"));
        std::fs::write(&path, saved).unwrap();
        let _ = std::fs::remove_file(path.with_extension("json.out"));
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "resume_in_child_process", "--test-threads=1"])
            .env(
                "DESCENT_CHECKPOINT_CHILD",
                format!("{name}:{}", path.display()),
            )
            .status()
            .unwrap();
        assert!(status.success(), "{name}: the child failed");
        let out = std::fs::read_to_string(format!("{}.out", path.display())).unwrap();
        let child: Vec<u64> = serde_json::from_str(&out).unwrap();
        assert_eq!(child, bits(&straight), "{name} {fresh}");
    }
}

fn adam_after_steps(config: AdamConfig) -> Adam {
    let mut adam = Adam::new(config).unwrap();
    let mut theta = start();
    run(&mut adam, &mut theta, 3);
    adam
}

fn state_error(e: CheckpointError) -> (String, String) {
    let text = e.to_string();
    match e {
        CheckpointError::State { field, .. } => (field, text),
        other => panic!("expected a state error, got {other:?}"),
    }
}

#[test]
fn a_state_of_the_wrong_kind_is_refused_naming_the_buffer() {
    let amsgrad = AdamConfig {
        amsgrad: Amsgrad::PyTorch,
        ..AdamConfig::default()
    };
    // An AMSGrad configuration with a plain Adam state: the maximum is missing.
    let plain = adam_after_steps(AdamConfig::default());
    let (_, state) = plain.clone().into_parts();
    let (field, text) = state_error(Adam::from_parts(amsgrad, state).unwrap_err());
    assert_eq!(field, "max_exp_avg_sq");
    assert!(
        text.contains("max_exp_avg_sq") && text.contains("adam"),
        "{text}"
    );
    // And the reverse: a maximum that plain Adam never keeps.
    let (_, state) = adam_after_steps(amsgrad).into_parts();
    let (field, _) = state_error(Adam::from_parts(AdamConfig::default(), state).unwrap_err());
    assert_eq!(field, "max_exp_avg_sq");
    // SGD's momentum buffer exists iff momentum != 0.
    let mut sgd = Sgd::new(SgdConfig::default()).unwrap();
    let mut theta = start();
    run(&mut sgd, &mut theta, 2);
    let (_, state) = sgd.into_parts();
    let momentum = SgdConfig {
        momentum: 0.9,
        ..SgdConfig::default()
    };
    let (field, _) = state_error(Sgd::from_parts(momentum, state).unwrap_err());
    assert_eq!(field, "momentum_buffer");
}

#[test]
fn buffers_of_unequal_length_are_refused_naming_the_buffer() {
    let (config, state) = adam_after_steps(AdamConfig::default()).into_parts();
    let mut state: AdamState = state.unwrap();
    state.exp_avg_sq = state.exp_avg_sq.remove_row(2);
    let (field, text) = state_error(Adam::from_parts(config, Some(state)).unwrap_err());
    assert_eq!(field, "exp_avg_sq");
    assert!(
        text.contains("6 entries") && text.contains("7 entries"),
        "{text}"
    );
}

#[test]
fn a_non_finite_entry_is_refused_naming_it() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let (config, state) = adam_after_steps(AdamConfig::default()).into_parts();
        let mut state = state.unwrap();
        state.exp_avg[4] = bad;
        let e = Adam::from_parts(config, Some(state)).unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(e, CheckpointError::Entry(ref h) if h.param == "exp_avg"),
            "{e:?}"
        );
        assert!(
            text.contains("exp_avg[4]") && text.contains("finite"),
            "{text}"
        );
    }
    // Rprop's step sizes too.
    let mut rprop = Rprop::new(RpropConfig::default()).unwrap();
    let mut theta = start();
    run(&mut rprop, &mut theta, 2);
    let (config, state) = rprop.into_parts();
    let mut state = state.unwrap();
    state.step_size[0] = f64::NAN;
    let e = Rprop::from_parts(config, Some(state)).unwrap_err();
    assert!(e.to_string().contains("step_size[0]"), "{e}");
}

#[test]
fn a_bad_configuration_is_refused_on_load() {
    let adam = adam_after_steps(AdamConfig::default());
    let mut value = serde_json::to_value(&adam).unwrap();
    value["config"]["lr"] = serde_json::json!(-1.0);
    let e = serde_json::from_value::<Adam>(value)
        .unwrap_err()
        .to_string();
    assert!(e.contains("lr") && e.contains("[0, inf)"), "{e}");
    let (config, state) = adam.into_parts();
    let bad = AdamConfig {
        betas: (0.9, 1.0),
        ..config
    };
    let e = Adam::from_parts(bad, state).unwrap_err();
    assert!(
        matches!(e, CheckpointError::Config(ref h) if h.param == "betas[1]"),
        "{e}"
    );
}

#[test]
fn unknown_and_missing_json_fields_are_refused() {
    let adam = adam_after_steps(AdamConfig::default());
    let mut value = serde_json::to_value(&adam).unwrap();
    value["state"]["exp_avg_sqq"] = serde_json::json!([0.0]);
    let e = serde_json::from_value::<Adam>(value)
        .unwrap_err()
        .to_string();
    assert!(e.contains("exp_avg_sqq"), "{e}");
    let mut value = serde_json::to_value(&adam).unwrap();
    value["state"].as_object_mut().unwrap().remove("exp_avg");
    let e = serde_json::from_value::<Adam>(value)
        .unwrap_err()
        .to_string();
    assert!(e.contains("exp_avg"), "{e}");
}

#[test]
fn the_json_uses_pytorchs_buffer_names() {
    let adam = adam_after_steps(AdamConfig {
        amsgrad: Amsgrad::PyTorch,
        ..AdamConfig::default()
    });
    let value = serde_json::to_value(&adam).unwrap();
    let state = value["state"].as_object().unwrap();
    let mut keys: Vec<_> = state.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]);
    assert_eq!(state["step"], 3);
    assert_eq!(state["exp_avg"].as_array().unwrap().len(), N);
    // A fresh optimizer saves no state, and loads back as fresh.
    let fresh = Adagrad::new(AdagradConfig::default()).unwrap();
    let value = serde_json::to_value(&fresh).unwrap();
    assert!(value["state"].is_null());
    assert_eq!(serde_json::from_value::<Adagrad>(value).unwrap(), fresh);
    let _ = (
        Adadelta::new(AdadeltaConfig::default()),
        RmsProp::new(RmsPropConfig::default()),
    );
}

#[test]
fn the_new_optimizers_use_pytorchs_and_optaxs_names() {
    let keys = |o: &dyn erased::Json| {
        let value: serde_json::Value = serde_json::from_str(&o.json()).unwrap();
        let mut keys: Vec<String> = value["state"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort_unstable();
        keys
    };
    let mut theta = start();
    let mut asgd = Asgd::new(AsgdConfig::default()).unwrap();
    run(&mut asgd, &mut theta, 2);
    assert_eq!(keys(&asgd), ["ax", "eta", "mu", "step"]);
    let mut adamax = Adamax::new(AdamaxConfig::default()).unwrap();
    run(&mut adamax, &mut theta, 2);
    assert_eq!(keys(&adamax), ["exp_avg", "exp_inf", "step"]);
    let mut nadam = NAdam::new(NAdamConfig::default()).unwrap();
    run(&mut nadam, &mut theta, 2);
    assert_eq!(
        keys(&nadam),
        ["exp_avg", "exp_avg_sq", "mu_product", "step"]
    );
    let mut radam = RAdam::new(RAdamConfig::default()).unwrap();
    run(&mut radam, &mut theta, 2);
    assert_eq!(keys(&radam), ["exp_avg", "exp_avg_sq", "step"]);
    // Lion is Optax's: its momentum is `mu`.
    let mut lion = Lion::new(LionConfig::default()).unwrap();
    run(&mut lion, &mut theta, 2);
    assert_eq!(keys(&lion), ["mu", "step"]);
    let mut matrix = start_n(12);
    let mut factored = Adafactor::new(AdafactorConfig::default(), Some([3, 4])).unwrap();
    run(&mut factored, &mut matrix, 2);
    assert_eq!(keys(&factored), ["col_var", "row_var", "step", "variance"]);
    let mut muon = Muon::new(MuonConfig::default(), [3, 4]).unwrap();
    run(&mut muon, &mut matrix, 2);
    assert_eq!(keys(&muon), ["momentum_buffer", "step"]);
}

#[test]
fn shaped_optimizers_refuse_a_state_of_another_shape() {
    let mut matrix = start_n(12);
    let mut factored = Adafactor::new(AdafactorConfig::default(), Some([3, 4])).unwrap();
    run(&mut factored, &mut matrix, 2);
    let (config, _, state) = factored.clone().into_parts();
    // A matrix's row and column averages do not fit a vector, nor a 4 x 3 matrix.
    let (field, _) = state_error(Adafactor::from_parts(config, None, state.clone()).unwrap_err());
    // (Fields are checked in alphabetical order: `col_var` comes first.)
    assert_eq!(field, "col_var");
    let (field, text) =
        state_error(Adafactor::from_parts(config, Some([4, 3]), state.clone()).unwrap_err());
    assert_eq!(field, "col_var");
    assert!(
        text.contains("3 entries") && text.contains("4 x 3"),
        "{text}"
    );
    // A non-finite average is refused, naming its position.
    let mut bad = state.unwrap();
    bad.col_var.as_mut().unwrap()[2] = f64::INFINITY;
    let (field, _) =
        state_error(Adafactor::from_parts(config, Some([3, 4]), Some(bad)).unwrap_err());
    assert_eq!(field, "col_var[2]");
    // Muon's buffer has rows * cols entries.
    let mut muon = Muon::new(MuonConfig::default(), [3, 4]).unwrap();
    run(&mut muon, &mut matrix, 2);
    let (config, _, state) = muon.into_parts();
    let (field, text) = state_error(Muon::from_parts(config, [2, 3], state).unwrap_err());
    assert_eq!(field, "momentum_buffer");
    assert!(
        text.contains("12 entries") && text.contains("6 entries"),
        "{text}"
    );
    // A bad configuration in the JSON is refused on load.
    let mut value = serde_json::to_value(&factored).unwrap();
    value["config"]["d"] = serde_json::json!(0.5);
    let e = serde_json::from_value::<Adafactor>(value)
        .unwrap_err()
        .to_string();
    assert!(e.contains("adafactor") && e.contains('d'), "{e}");
}

#[test]
fn a_non_finite_running_scalar_is_refused() {
    let mut theta = start();
    let mut asgd = Asgd::new(AsgdConfig::default()).unwrap();
    run(&mut asgd, &mut theta, 2);
    let (config, state) = asgd.into_parts();
    let mut state = state.unwrap();
    state.eta = f64::NAN;
    let (field, _) = state_error(Asgd::from_parts(config, Some(state)).unwrap_err());
    assert_eq!(field, "eta");
    let mut nadam = NAdam::new(NAdamConfig::default()).unwrap();
    run(&mut nadam, &mut theta, 2);
    let (config, state) = nadam.into_parts();
    let mut state = state.unwrap();
    state.mu_product = f64::INFINITY;
    let (field, _) = state_error(NAdam::from_parts(config, Some(state)).unwrap_err());
    assert_eq!(field, "mu_product");
}
