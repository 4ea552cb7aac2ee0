//! Checkpoints (feature `serde`, enabled for the crate's own tests by its
//! dev-dependency on itself): `2k` steps in one go and `k` steps, save to JSON,
//! load, `k` more steps end bit-identical, also when the load happens in a fresh
//! process; and a saved state the configuration could not have produced is
//! refused with an error naming the field.

use std::path::PathBuf;
use std::process::Command;

use descent::CheckpointError;
use descent::optim::{
    Adadelta, AdadeltaConfig, Adagrad, AdagradConfig, Adam, AdamConfig, AdamState, Amsgrad, Optim,
    RmsProp, RmsPropConfig, Rprop, RpropConfig, Rule, Sgd, SgdConfig, WeightDecay,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

const K: usize = 25;
const N: usize = 7;

fn start() -> Vec<f64> {
    (0..N).map(|i| (i as f64 * 0.9 + 0.3).sin() * 2.0).collect()
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

fn run<R: Rule>(opt: &mut Optim<R>, theta: &mut [f64], steps: usize) {
    for _ in 0..steps {
        let g = grad(theta);
        opt.step_slice(theta, &g).unwrap();
    }
}

fn bits(x: &[f64]) -> Vec<u64> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// The configurations checked, one or more per optimizer, with every optional
/// buffer switched on somewhere.
fn configs() -> Vec<(&'static str, String)> {
    let json = |c: &dyn erased::Json| c.json();
    vec![
        (
            "sgd",
            json(&SgdConfig {
                lr: 0.05,
                ..SgdConfig::default()
            }),
        ),
        (
            "sgd",
            json(&SgdConfig {
                lr: 0.05,
                momentum: 0.9,
                nesterov: true,
                weight_decay: WeightDecay::L2(0.01),
                ..SgdConfig::default()
            }),
        ),
        (
            "adam",
            json(&AdamConfig {
                lr: 0.05,
                amsgrad: Amsgrad::PyTorch,
                ..AdamConfig::default()
            }),
        ),
        ("adam", json(&AdamConfig::adamw())),
        (
            "adagrad",
            json(&AdagradConfig {
                lr_decay: 0.01,
                ..AdagradConfig::default()
            }),
        ),
        ("adadelta", json(&AdadeltaConfig::default())),
        (
            "rmsprop",
            json(&RmsPropConfig {
                momentum: 0.5,
                centered: true,
                ..RmsPropConfig::default()
            }),
        ),
        ("rprop", json(&RpropConfig::default())),
    ]
}

mod erased {
    /// A configuration as JSON, so that configurations of different types share a list.
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }
}

/// Runs `f` with the optimizer type named `name`, built from `config` (JSON).
macro_rules! with_optimizer {
    ($name:expr, $body:ident ( $($arg:expr),* )) => {
        match $name {
            "sgd" => $body::<SgdConfig>($($arg),*),
            "adam" => $body::<AdamConfig>($($arg),*),
            "adagrad" => $body::<AdagradConfig>($($arg),*),
            "adadelta" => $body::<AdadeltaConfig>($($arg),*),
            "rmsprop" => $body::<RmsPropConfig>($($arg),*),
            "rprop" => $body::<RpropConfig>($($arg),*),
            other => panic!("unknown optimizer {other}"),
        }
    };
}

/// `2k` steps straight, and `k` steps then a JSON round trip then `k` steps, in
/// this process: returns the saved JSON and the two final parameter vectors.
fn in_process<R>(config: &str) -> (String, Vec<f64>, Vec<f64>)
where
    R: Rule + PartialEq + Serialize + DeserializeOwned,
    R::State: Serialize + DeserializeOwned,
{
    let config: R = serde_json::from_str(config).unwrap();
    let mut straight = Optim::new(config.clone()).unwrap();
    let mut theta = start();
    run(&mut straight, &mut theta, 2 * K);

    let mut first = Optim::new(config).unwrap();
    let mut resumed_theta = start();
    run(&mut first, &mut resumed_theta, K);
    let saved = serde_json::to_string(&(&first, &resumed_theta)).unwrap();
    drop(first);
    let (mut second, mut resumed_theta): (Optim<R>, Vec<f64>) =
        serde_json::from_str(&saved).unwrap();
    run(&mut second, &mut resumed_theta, K);
    assert_eq!(second, straight, "{} state after resuming", R::NAME);
    (saved, theta, resumed_theta)
}

/// The second half of a resumed run, from a saved file: writes the final
/// parameters' bits next to it.
fn resume_file<R>(path: &str)
where
    R: Rule + PartialEq + Serialize + DeserializeOwned,
    R::State: Serialize + DeserializeOwned,
{
    let saved = std::fs::read_to_string(path).unwrap();
    let (mut opt, mut theta): (Optim<R>, Vec<f64>) = serde_json::from_str(&saved).unwrap();
    run(&mut opt, &mut theta, K);
    std::fs::write(
        format!("{path}.out"),
        serde_json::to_string(&bits(&theta)).unwrap(),
    )
    .unwrap();
}

#[test]
fn resuming_from_json_is_bit_identical() {
    for (name, config) in configs() {
        let (_, straight, resumed) = with_optimizer!(name, in_process(&config));
        assert_eq!(bits(&straight), bits(&resumed), "{name} {config}");
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
    for (i, (name, config)) in configs().into_iter().enumerate() {
        let (saved, straight, _) = with_optimizer!(name, in_process(&config));
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
        assert_eq!(child, bits(&straight), "{name} {config}");
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
