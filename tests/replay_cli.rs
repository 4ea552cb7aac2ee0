//! `descent replay`, run as the real binary: a good request prints exactly what
//! `descent::replay::replay` returns and every number round-trips bit for bit; a
//! bad request exits non-zero, prints nothing on stdout and exactly one line on
//! stderr that names the field or the step at fault.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use descent::optim::{
    AdadeltaConfig, AdagradConfig, AdamConfig, Amsgrad, Optim, Optimizer, RmsPropConfig,
    RpropConfig, Rule, SgdConfig, WeightDecay,
};
use nalgebra::DVector;

/// Runs `descent ARGS` with `stdin` as its standard input.
fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_descent"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn descent");
    // The child may exit before reading everything (bad arguments): a broken
    // pipe here is not the test's concern.
    let _ = child.stdin.take().expect("stdin").write_all(stdin);
    child.wait_with_output().expect("wait for descent")
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("utf-8 output")
}

/// Runs a good request; checks it against the library and returns stdout.
fn replay_ok(request: &str) -> String {
    let out = run(&["replay"], request.as_bytes());
    let stdout = text(&out.stdout).to_owned();
    assert!(
        out.status.success(),
        "{request}\nexit {:?}, stderr {}",
        out.status,
        text(&out.stderr)
    );
    assert_eq!(text(&out.stderr), "", "{request}");
    let library = descent::replay::replay(request).expect("library accepts it");
    assert_eq!(stdout, format!("{library}\n"), "{request}");
    stdout
}

/// Runs a bad request; checks the failure's shape and that its one line contains
/// every one of `names`. Returns the line.
fn replay_err(request: &str, names: &[&str]) -> String {
    let out = run(&["replay"], request.as_bytes());
    assert!(!out.status.success(), "{request}: accepted");
    assert_eq!(text(&out.stdout), "", "{request}: wrote on stdout");
    let stderr = text(&out.stderr);
    assert!(
        stderr.ends_with('\n') && stderr.matches('\n').count() == 1,
        "{request}: stderr is not one line: {stderr:?}"
    );
    for name in names {
        assert!(
            stderr.contains(name),
            "{request}: stderr does not name {name}: {stderr}"
        );
    }
    // The library gives the same message (the binary adds its prefix).
    let library = descent::replay::replay(request)
        .expect_err("library refuses it")
        .to_string();
    assert!(stderr.contains(&library), "{stderr} vs {library}");
    stderr.to_owned()
}

/// The numbers of a response, in order, read with Rust's exactly rounded parser
/// (independent of serde_json's).
fn numbers(response: &str) -> Vec<f64> {
    let body = response
        .trim()
        .strip_prefix("{\"params\":")
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or_else(|| panic!("unexpected response {response}"));
    body.split(['[', ']', ','])
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<f64>()
                .unwrap_or_else(|_| panic!("{s:?} is not a number"))
        })
        .collect()
}

/// The iterates of a response, as rows of bits.
fn rows(response: &str) -> Vec<Vec<u64>> {
    let value: serde_json::Value = serde_json::from_str(response).expect("JSON");
    let rows = value["params"].as_array().expect("params array");
    rows.iter()
        .map(|row| {
            row.as_array()
                .expect("row")
                .iter()
                .map(|x| x.as_f64().expect("number").to_bits())
                .collect()
        })
        .collect()
}

/// The iterates of the library's own optimizer on the same data, as rows of bits.
fn library_rows<R: Rule>(config: R, params: &[f64], grads: &[Vec<f64>]) -> Vec<Vec<u64>> {
    let mut opt = Optim::new(config).expect("valid");
    let mut p = DVector::from_column_slice(params);
    grads
        .iter()
        .map(|g| {
            opt.step(&mut p, &DVector::from_column_slice(g))
                .expect("step");
            p.iter().map(|x| x.to_bits()).collect()
        })
        .collect()
}

// ------------------------------------------------------------------ good requests

const EDGE: [f64; 6] = [0.1, 1e-300, 5e-324, -0.0, 1.7976931348623157e308, -2.5];
const EDGE_JSON: &str = "[0.1, 1e-300, 5e-324, -0.0, 1.7976931348623157e308, -2.5]";

#[test]
fn numbers_round_trip_exactly_when_lr_is_zero() {
    // With lr = 0 every optimizer but Rprop leaves each parameter as it was: the
    // update is `theta + (-0 * d)` with d >= 0, and -0 added to any theta gives
    // theta back (to -0.0 as well). Rprop's step sizes are clamped to at least
    // step_sizes[0], so it is given zero gradients, and sign(0) = 0 stops it.
    let positive = "[1.0, 2.0, 0.5, 3.0, 0.25, 4.0]";
    let zero = "[0, 0, 0, 0, 0, 0]";
    for (optimizer, grads) in [
        ("sgd", positive),
        ("adagrad", positive),
        ("rmsprop", positive),
        ("adadelta", positive),
        ("adam", positive),
        ("adamw", positive),
        ("sgd", zero),
        ("adam", zero),
        ("rprop", zero),
    ] {
        let request = format!(
            r#"{{"optimizer": "{optimizer}", "hyper": {{"lr": 0}}, "params": {EDGE_JSON}, "grads": [{grads}, {grads}]}}"#
        );
        let out = replay_ok(&request);
        let got = numbers(&out);
        let want: Vec<f64> = EDGE.iter().chain(&EDGE).copied().collect();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want), "{optimizer}: {out}");
    }
}

#[test]
fn output_is_the_librarys_to_the_bit() {
    let params = [1.0, -2.0, 0.5];
    let grads = vec![
        vec![0.5, 0.25, -1.0],
        vec![0.1, -0.3, 0.7],
        vec![-0.2, 0.4, 1e-3],
    ];
    let request = |optimizer: &str, hyper: &str| {
        format!(
            r#"{{"optimizer": "{optimizer}", "hyper": {hyper}, "params": [1.0, -2.0, 0.5],
                "grads": [[0.5, 0.25, -1.0], [0.1, -0.3, 0.7], [-0.2, 0.4, 1e-3]]}}"#
        )
    };
    let cases: Vec<(String, Vec<Vec<u64>>)> = vec![
        (
            request("sgd", r#"{"lr": 0.1, "momentum": 0.9, "nesterov": true}"#),
            library_rows(
                SgdConfig {
                    lr: 0.1,
                    momentum: 0.9,
                    nesterov: true,
                    ..SgdConfig::default()
                },
                &params,
                &grads,
            ),
        ),
        (
            request(
                "adam",
                r#"{"lr": 0.1, "betas": [0.8, 0.99], "amsgrad": true}"#,
            ),
            library_rows(
                AdamConfig {
                    lr: 0.1,
                    betas: (0.8, 0.99),
                    amsgrad: Amsgrad::PyTorch,
                    weight_decay: WeightDecay::L2(0.0),
                    ..AdamConfig::default()
                },
                &params,
                &grads,
            ),
        ),
        (
            request("rmsprop", r#"{"centered": true, "momentum": 0.5}"#),
            library_rows(
                RmsPropConfig {
                    centered: true,
                    momentum: 0.5,
                    ..RmsPropConfig::default()
                },
                &params,
                &grads,
            ),
        ),
        (
            request("rprop", r#"{"etas": [0.4, 1.5], "step_sizes": [1e-3, 1]}"#),
            library_rows(
                RpropConfig {
                    etas: (0.4, 1.5),
                    step_sizes: (1e-3, 1.0),
                    ..RpropConfig::default()
                },
                &params,
                &grads,
            ),
        ),
    ];
    for (request, want) in cases {
        let out = replay_ok(&request);
        assert_eq!(rows(&out), want, "{request}");
    }
}

#[test]
fn missing_hyper_means_pytorchs_defaults() {
    let data = r#""params": [1.0, -2.0, 0.5], "grads": [[0.5, 0.25, -1.0], [0.1, -0.3, 0.7]]"#;
    let params = [1.0, -2.0, 0.5];
    let grads = vec![vec![0.5, 0.25, -1.0], vec![0.1, -0.3, 0.7]];
    // PyTorch's defaults, written out here rather than taken from the library.
    let cases: Vec<(&str, &str, Vec<Vec<u64>>)> = vec![
        (
            "sgd",
            r#"{"lr": 0.001, "momentum": 0, "dampening": 0, "weight_decay": 0, "nesterov": false, "maximize": false}"#,
            library_rows(
                SgdConfig {
                    lr: 1e-3,
                    momentum: 0.0,
                    dampening: 0.0,
                    weight_decay: WeightDecay::None,
                    nesterov: false,
                    maximize: false,
                },
                &params,
                &grads,
            ),
        ),
        (
            "adagrad",
            r#"{"lr": 0.01, "lr_decay": 0, "weight_decay": 0, "initial_accumulator_value": 0, "eps": 1e-10, "maximize": false}"#,
            library_rows(
                AdagradConfig {
                    lr: 1e-2,
                    lr_decay: 0.0,
                    weight_decay: WeightDecay::None,
                    initial_accumulator_value: 0.0,
                    eps: 1e-10,
                    maximize: false,
                },
                &params,
                &grads,
            ),
        ),
        (
            "rmsprop",
            r#"{"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0, "momentum": 0, "centered": false, "maximize": false}"#,
            library_rows(
                RmsPropConfig {
                    lr: 1e-2,
                    alpha: 0.99,
                    eps: 1e-8,
                    weight_decay: WeightDecay::None,
                    momentum: 0.0,
                    centered: false,
                    maximize: false,
                },
                &params,
                &grads,
            ),
        ),
        (
            "adadelta",
            r#"{"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0, "maximize": false}"#,
            library_rows(
                AdadeltaConfig {
                    lr: 1.0,
                    rho: 0.9,
                    eps: 1e-6,
                    weight_decay: WeightDecay::None,
                    maximize: false,
                },
                &params,
                &grads,
            ),
        ),
        (
            "adam",
            r#"{"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0, "amsgrad": false, "maximize": false, "decoupled_weight_decay": false}"#,
            library_rows(
                AdamConfig {
                    lr: 1e-3,
                    betas: (0.9, 0.999),
                    eps: 1e-8,
                    weight_decay: WeightDecay::None,
                    amsgrad: Amsgrad::Off,
                    maximize: false,
                },
                &params,
                &grads,
            ),
        ),
        (
            "adamw",
            r#"{"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01, "amsgrad": false, "maximize": false}"#,
            library_rows(
                AdamConfig {
                    lr: 1e-3,
                    betas: (0.9, 0.999),
                    eps: 1e-8,
                    weight_decay: WeightDecay::Decoupled(1e-2),
                    amsgrad: Amsgrad::Off,
                    maximize: false,
                },
                &params,
                &grads,
            ),
        ),
        (
            "rprop",
            r#"{"lr": 0.01, "etas": [0.5, 1.2], "step_sizes": [1e-6, 50], "maximize": false}"#,
            library_rows(
                RpropConfig {
                    lr: 1e-2,
                    etas: (0.5, 1.2),
                    step_sizes: (1e-6, 50.0),
                    maximize: false,
                },
                &params,
                &grads,
            ),
        ),
    ];
    for (optimizer, defaults, want) in cases {
        let bare = replay_ok(&format!(r#"{{"optimizer": "{optimizer}", {data}}}"#));
        let empty = replay_ok(&format!(
            r#"{{"optimizer": "{optimizer}", "hyper": {{}}, {data}}}"#
        ));
        let explicit = replay_ok(&format!(
            r#"{{"optimizer": "{optimizer}", "hyper": {defaults}, {data}}}"#
        ));
        assert_eq!(bare, explicit, "{optimizer}");
        assert_eq!(empty, explicit, "{optimizer}");
        assert_eq!(rows(&bare), want, "{optimizer}");
    }
}

#[test]
fn adamw_decays_by_default() {
    let data = r#""params": [1.0, -2.0], "grads": [[0.5, 0.25], [0.1, -0.3]]"#;
    let adamw = replay_ok(&format!(r#"{{"optimizer": "adamw", {data}}}"#));
    let decoupled = replay_ok(&format!(
        r#"{{"optimizer": "adam", "hyper": {{"weight_decay": 0.01, "decoupled_weight_decay": true}}, {data}}}"#
    ));
    let adam = replay_ok(&format!(r#"{{"optimizer": "adam", {data}}}"#));
    let adamw_no_decay = replay_ok(&format!(
        r#"{{"optimizer": "adamw", "hyper": {{"weight_decay": 0}}, {data}}}"#
    ));
    assert_eq!(adamw, decoupled);
    assert_ne!(
        adamw, adam,
        "adamw's default decay 0.01 must change the iterates"
    );
    assert_eq!(adamw_no_decay, adam);
}

#[test]
fn empty_runs_are_fine() {
    assert_eq!(
        replay_ok(r#"{"optimizer": "sgd", "params": [1.0], "grads": []}"#),
        "{\"params\":[]}\n"
    );
    assert_eq!(
        replay_ok(r#"{"optimizer": "adam", "params": [], "grads": [[], []]}"#),
        "{\"params\":[[],[]]}\n"
    );
}

// ------------------------------------------------------------------ bad requests

#[test]
fn malformed_or_not_an_object() {
    replay_err(r#"{"optimizer": "sgd", "params": [1.0],"#, &["JSON"]);
    replay_err("", &["JSON"]);
    replay_err("[1, 2]", &["object"]);
    replay_err("\"adam\"", &["object"]);
    // A number beyond f64 cannot be read, so the request is refused as it is parsed.
    replay_err(
        r#"{"optimizer": "sgd", "params": [1.0], "grads": [[1e400]]}"#,
        &["JSON"],
    );
}

#[test]
fn not_utf8() {
    let out = run(&["replay"], b"{\"optimizer\": \"sgd\xff\"}");
    assert!(!out.status.success());
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr).matches('\n').count(),
        1,
        "{:?}",
        out.stderr
    );
}

#[test]
fn unknown_names() {
    let data = r#""params": [1.0], "grads": [[1.0]]"#;
    replay_err(
        &format!(r#"{{"optimizer": "lbfgs", {data}}}"#),
        &["optimizer", "lbfgs"],
    );
    replay_err(
        &format!(r#"{{"optimizer": "Adam", {data}}}"#),
        &["optimizer", "Adam"],
    );
    replay_err(
        &format!(r#"{{"optimizer": "sgd", "steps": 3, {data}}}"#),
        &["steps"],
    );
    replay_err(
        &format!(r#"{{"optimizer": "adam", "hyper": {{"momentum": 0.9}}, {data}}}"#),
        &["hyper.momentum", "adam"],
    );
    // AdamW's decay is decoupled by definition; it has no such flag.
    replay_err(
        &format!(
            r#"{{"optimizer": "adamw", "hyper": {{"decoupled_weight_decay": true}}, {data}}}"#
        ),
        &["hyper.decoupled_weight_decay"],
    );
    replay_err(
        &format!(r#"{{"optimizer": "rprop", "hyper": {{"weight_decay": 0.1}}, {data}}}"#),
        &["hyper.weight_decay", "rprop"],
    );
}

#[test]
fn missing_fields() {
    replay_err(r#"{"params": [1.0], "grads": [[1.0]]}"#, &["optimizer"]);
    replay_err(r#"{"optimizer": "sgd", "grads": [[1.0]]}"#, &["params"]);
    replay_err(r#"{"optimizer": "sgd", "params": [1.0]}"#, &["grads"]);
}

#[test]
fn wrong_types() {
    let data = r#""params": [1.0, 2.0], "grads": [[1.0, 2.0]]"#;
    let with_hyper = |optimizer: &str, hyper: &str| {
        format!(r#"{{"optimizer": "{optimizer}", "hyper": {hyper}, {data}}}"#)
    };
    replay_err(&format!(r#"{{"optimizer": 3, {data}}}"#), &["optimizer"]);
    replay_err(
        &format!(r#"{{"optimizer": ["sgd"], {data}}}"#),
        &["optimizer"],
    );
    replay_err(&with_hyper("sgd", "[0.1]"), &["hyper"]);
    replay_err(&with_hyper("sgd", "null"), &["hyper"]);
    replay_err(
        r#"{"optimizer": "sgd", "params": "1.0", "grads": [[1.0]]}"#,
        &["params"],
    );
    replay_err(
        r#"{"optimizer": "sgd", "params": {"a": 1}, "grads": [[1.0]]}"#,
        &["params"],
    );
    replay_err(
        r#"{"optimizer": "sgd", "params": [1.0, "2"], "grads": [[1.0, 2.0]]}"#,
        &["params[1]"],
    );
    replay_err(
        r#"{"optimizer": "sgd", "params": [1.0, null], "grads": [[1.0, 2.0]]}"#,
        &["params[1]"],
    );
    replay_err(
        r#"{"optimizer": "sgd", "params": [1.0], "grads": [1.0]}"#,
        &["grads[0]"],
    );
    replay_err(
        r#"{"optimizer": "sgd", "params": [1.0], "grads": [[1.0], "x"]}"#,
        &["grads[1]"],
    );
    replay_err(
        r#"{"optimizer": "sgd", "params": [1.0, 2.0], "grads": [[1.0, 2.0], [3.0, true]]}"#,
        &["grads[1][1]"],
    );
    replay_err(
        r#"{"optimizer": "sgd", "params": [1.0], "grads": {"0": [1.0]}}"#,
        &["grads"],
    );
    replay_err(&with_hyper("sgd", r#"{"lr": "0.1"}"#), &["hyper.lr"]);
    replay_err(&with_hyper("sgd", r#"{"lr": null}"#), &["hyper.lr"]);
    replay_err(&with_hyper("sgd", r#"{"lr": [0.1]}"#), &["hyper.lr"]);
    replay_err(
        &with_hyper("sgd", r#"{"momentum": 0.9, "nesterov": 1}"#),
        &["hyper.nesterov"],
    );
    replay_err(
        &with_hyper("rmsprop", r#"{"centered": "true"}"#),
        &["hyper.centered"],
    );
    replay_err(&with_hyper("adam", r#"{"amsgrad": 0}"#), &["hyper.amsgrad"]);
    replay_err(
        &with_hyper("adam", r#"{"decoupled_weight_decay": null}"#),
        &["hyper.decoupled_weight_decay"],
    );
    replay_err(
        &with_hyper("adam", r#"{"maximize": 1}"#),
        &["hyper.maximize"],
    );
    replay_err(&with_hyper("adam", r#"{"betas": [0.9]}"#), &["hyper.betas"]);
    replay_err(
        &with_hyper("adam", r#"{"betas": [0.9, 0.99, 0.999]}"#),
        &["hyper.betas"],
    );
    replay_err(&with_hyper("adam", r#"{"betas": 0.9}"#), &["hyper.betas"]);
    replay_err(
        &with_hyper("adam", r#"{"betas": {"0": 0.9, "1": 0.99}}"#),
        &["hyper.betas"],
    );
    replay_err(
        &with_hyper("adam", r#"{"betas": [0.9, "0.99"]}"#),
        &["hyper.betas[1]"],
    );
    replay_err(
        &with_hyper("adam", r#"{"betas": [null, 0.99]}"#),
        &["hyper.betas[0]"],
    );
    replay_err(&with_hyper("rprop", r#"{"etas": [0.5]}"#), &["hyper.etas"]);
    replay_err(
        &with_hyper("rprop", r#"{"step_sizes": [1e-6, false]}"#),
        &["hyper.step_sizes[1]"],
    );
}

#[test]
fn values_outside_their_range() {
    let data = r#""params": [1.0, 2.0], "grads": [[1.0, 2.0]]"#;
    let with_hyper = |optimizer: &str, hyper: &str| {
        format!(r#"{{"optimizer": "{optimizer}", "hyper": {hyper}, {data}}}"#)
    };
    for (optimizer, hyper, name) in [
        ("adam", r#"{"betas": [0.9, 1.0]}"#, "hyper.betas[1]"),
        ("adam", r#"{"betas": [-0.1, 0.99]}"#, "hyper.betas[0]"),
        ("adamw", r#"{"betas": [1, 0.99]}"#, "hyper.betas[0]"),
        ("adam", r#"{"lr": -1e-3}"#, "hyper.lr"),
        ("adam", r#"{"eps": -1}"#, "hyper.eps"),
        ("adamw", r#"{"weight_decay": -0.01}"#, "hyper.weight_decay"),
        ("adam", r#"{"weight_decay": -0.01}"#, "hyper.weight_decay"),
        ("sgd", r#"{"momentum": -0.9}"#, "hyper.momentum"),
        ("sgd", r#"{"dampening": 1.5}"#, "hyper.dampening"),
        ("sgd", r#"{"nesterov": true}"#, "hyper.nesterov"),
        (
            "sgd",
            r#"{"nesterov": true, "momentum": 0.9, "dampening": 0.1}"#,
            "hyper.nesterov",
        ),
        ("adagrad", r#"{"lr_decay": -1}"#, "hyper.lr_decay"),
        (
            "adagrad",
            r#"{"initial_accumulator_value": -1}"#,
            "hyper.initial_accumulator_value",
        ),
        ("rmsprop", r#"{"alpha": 1.01}"#, "hyper.alpha"),
        ("adadelta", r#"{"rho": -0.5}"#, "hyper.rho"),
        ("rprop", r#"{"etas": [0.5, 1.0]}"#, "hyper.etas[1]"),
        ("rprop", r#"{"etas": [0, 1.2]}"#, "hyper.etas[0]"),
        ("rprop", r#"{"step_sizes": [0, 50]}"#, "hyper.step_sizes[0]"),
        (
            "rprop",
            r#"{"step_sizes": [1, 0.5]}"#,
            "hyper.step_sizes[1]",
        ),
        ("asgd", r#"{"lambd": -1e-4}"#, "hyper.lambd"),
        ("asgd", r#"{"alpha": -0.5}"#, "hyper.alpha"),
        ("adamax", r#"{"betas": [0.9, 1.0]}"#, "hyper.betas[1]"),
        ("nadam", r#"{"momentum_decay": -1}"#, "hyper.momentum_decay"),
        (
            "nadam",
            r#"{"weight_decay": -0.1, "decoupled_weight_decay": true}"#,
            "hyper.weight_decay",
        ),
        ("radam", r#"{"eps": -1e-8}"#, "hyper.eps"),
        // Keys of another optimizer are unknown here.
        (
            "radam",
            r#"{"momentum_decay": 0.004}"#,
            "hyper.momentum_decay",
        ),
        (
            "adamax",
            r#"{"decoupled_weight_decay": true}"#,
            "hyper.decoupled_weight_decay",
        ),
    ] {
        replay_err(&with_hyper(optimizer, hyper), &[name]);
    }
    // The boundary itself, where the range is closed, is accepted.
    replay_ok(&with_hyper("rmsprop", r#"{"alpha": 1}"#));
    replay_ok(&with_hyper("sgd", r#"{"dampening": 1, "momentum": 0.5}"#));
    replay_ok(&with_hyper("rprop", r#"{"step_sizes": [0.5, 0.5]}"#));
    replay_ok(&with_hyper("asgd", r#"{"t0": -3.5, "lambd": 0}"#));
    replay_ok(&with_hyper(
        "radam",
        r#"{"weight_decay": 0.1, "decoupled_weight_decay": true}"#,
    ));
    replay_ok(&with_hyper("nadam", r#"{"momentum_decay": 0}"#));
}

#[test]
fn ragged_grads_name_the_row() {
    replay_err(
        r#"{"optimizer": "adam", "params": [1.0, 2.0], "grads": [[1.0, 2.0], [1.0]]}"#,
        &["grads[1]"],
    );
    replay_err(
        r#"{"optimizer": "sgd", "params": [1.0, 2.0], "grads": [[1.0, 2.0], [1.0, 2.0], [1.0, 2.0, 3.0]]}"#,
        &["grads[2]"],
    );
    replay_err(
        r#"{"optimizer": "sgd", "params": [1.0], "grads": [[]]}"#,
        &["grads[0]"],
    );
}

#[test]
fn a_refused_step_names_the_step() {
    // Step 2's gradient squared overflows Adam's second moment.
    let line = replay_err(
        r#"{"optimizer": "adam", "params": [1.0, 2.0], "grads": [[1.0, 2.0], [1.0, 1e200], [1.0, 1.0]]}"#,
        &["step 2", "grads[1]", "exp_avg_sq[1]"],
    );
    assert!(!line.contains("step 1 "), "{line}");
    replay_err(
        r#"{"optimizer": "adagrad", "params": [1.0], "grads": [[1e200]]}"#,
        &["step 1", "grads[0]", "sum[0]"],
    );
    replay_err(
        r#"{"optimizer": "sgd", "hyper": {"lr": 4}, "params": [1.0], "grads": [[1.0], [1.0], [1.7976931348623157e308]]}"#,
        &["step 3", "grads[2]", "param[0]"],
    );
}

// ------------------------------------------------------------------ the command

#[test]
fn help_and_unknown_commands() {
    for args in [&["--help"][..], &["-h"], &["help"], &["replay", "--help"]] {
        let out = run(args, b"");
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out.stdout).contains("replay"), "{args:?}");
        assert_eq!(text(&out.stderr), "", "{args:?}");
    }
    // Usage errors (clap's): status 2, nothing on stdout, clap's message on stderr.
    for args in [
        &["frobnicate"][..],
        &[],
        &["replay", "a.json", "b.json"],
        &["--replay"],
        &["REPLAY"],
    ] {
        let out = run(args, b"{}");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&out.stdout), "", "{args:?}");
        assert!(text(&out.stderr).contains("Usage:"), "{args:?}");
    }
    // A file that cannot be read is a refused request: status 1, one line.
    let out = run(&["replay", "/nonexistent/request.json"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr).matches('\n').count(), 1);
    assert!(text(&out.stderr).contains("/nonexistent/request.json"));
}

/// `descent replay FILE` reads the request from FILE, `descent replay -` and
/// `descent replay` from standard input; the three answers are the same.
#[test]
fn replay_reads_a_file_or_stdin() {
    let request = r#"{"optimizer": "adam", "hyper": {"lr": 0.1}, "params": [1.0, -2.0], "grads": [[0.5, 0.25], [0.1, -0.3]]}"#;
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("replay-request.json");
    std::fs::write(&path, request).expect("write the request");
    let from_file = run(&["replay", path.to_str().expect("utf-8 path")], b"");
    let from_dash = run(&["replay", "-"], request.as_bytes());
    let from_stdin = run(&["replay"], request.as_bytes());
    for out in [&from_file, &from_dash, &from_stdin] {
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert_eq!(from_file.stdout, from_dash.stdout);
    assert_eq!(from_file.stdout, from_stdin.stdout);
    assert_eq!(
        text(&from_file.stdout),
        format!("{}\n", descent::replay::replay(request).expect("accepted"))
    );
    // A refused request exits 1.
    let out = run(
        &["replay", "-"],
        br#"{"optimizer": "adam", "hyper": {"lr": -1}, "params": [1], "grads": []}"#,
    );
    assert_eq!(out.status.code(), Some(1));
}

/// A reader that has gone away (as in `descent replay < r.json | head -c0`) must not
/// make the binary panic: it stops quietly, with status 0 and nothing on stderr.
#[test]
fn closed_stdout_is_not_a_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_descent"))
        .arg("replay")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn descent");
    // Close our end of stdout before the child can write: it reads stdin first.
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(br#"{"optimizer": "sgd", "params": [1.0], "grads": [[1.0]]}"#)
        .expect("write request");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr, "");
    assert_eq!(out.status.code(), Some(0));
}

/// The optimizer's `name` is spelled as in a request, and every name `replay`
/// lists has its table of `hyper` keys.
#[test]
fn names_match_replay_spelling() {
    let sgd = Optim::new(SgdConfig::default()).expect("valid");
    assert_eq!(sgd.name(), "sgd");
    for name in descent::replay::OPTIMIZERS {
        assert!(descent::replay::keys(name).is_some(), "{name}");
    }
}

/// serde_json alone keeps the last of two equal keys; a request is refused
/// instead, naming the repeated key by its path.
#[test]
fn duplicate_keys_are_refused_naming_the_key() {
    replay_err(
        r#"{"optimizer": "sgd", "hyper": {"lr": 0.1, "lr": 10}, "params": [1.0], "grads": [[1.0]]}"#,
        &["hyper.lr", "twice"],
    );
    replay_err(
        r#"{"optimizer": "sgd", "optimizer": "adam", "params": [1.0], "grads": [[1.0]]}"#,
        &["optimizer", "twice"],
    );
    replay_err(
        r#"{"optimizer": "sgd", "params": [1.0], "grads": [[1.0]], "params": [2.0]}"#,
        &["params", "twice"],
    );
}

/// `shape` must hold exactly the parameters; an entry-wise optimizer then takes
/// the same steps with or without it.
#[test]
fn shape_is_checked_against_the_length() {
    let plain = r#"{"optimizer":"lion","hyper":{"lr":0.1},"params":[1,2,3,4,5,6],"grads":[[1,-1,0,2,-2,0.5]]}"#;
    let shaped = r#"{"optimizer":"lion","hyper":{"lr":0.1},"shape":[2,3],"params":[1,2,3,4,5,6],"grads":[[1,-1,0,2,-2,0.5]]}"#;
    assert_eq!(replay_ok(plain), replay_ok(shaped));
    replay_ok(r#"{"optimizer":"adam","shape":[6],"params":[1,2,3,4,5,6],"grads":[]}"#);
    for bad in [
        r#"{"optimizer":"adam","shape":[4,2],"params":[1,2,3,4,5,6],"grads":[]}"#,
        r#"{"optimizer":"adam","shape":[7],"params":[1,2,3,4,5,6],"grads":[]}"#,
        r#"{"optimizer":"adam","shape":[2,3,1],"params":[1,2,3,4,5,6],"grads":[]}"#,
        r#"{"optimizer":"adam","shape":[-2,-3],"params":[1,2,3,4,5,6],"grads":[]}"#,
        r#"{"optimizer":"adam","shape":[2.5,2],"params":[1,2,3,4,5],"grads":[]}"#,
        r#"{"optimizer":"adam","shape":"2x3","params":[1,2,3,4,5,6],"grads":[]}"#,
        r#"{"optimizer":"adam","shape":[18446744073709551615,2],"params":[1,2],"grads":[]}"#,
    ] {
        replay_err(bad, &["shape"]);
    }
}

/// Adafactor's `eps` takes `null` first; a matrix and a vector of the same
/// entries step differently (the matrix is factored).
#[test]
fn adafactor_eps_and_shape() {
    let vector = r#"{"optimizer":"adafactor","hyper":{"eps":[null,0.001]},"params":[1,2,3,4,5,6],"grads":[[1,-1,0.5,2,-2,0.5]]}"#;
    let matrix = r#"{"optimizer":"adafactor","hyper":{"eps":[null,0.001]},"shape":[2,3],"params":[1,2,3,4,5,6],"grads":[[1,-1,0.5,2,-2,0.5]]}"#;
    assert_ne!(replay_ok(vector), replay_ok(matrix));
    replay_ok(
        r#"{"optimizer":"adafactor","hyper":{"eps":[1e-30,0.001],"d":2,"beta2_decay":-0.5,"weight_decay":0.1,"maximize":true},"shape":[6],"params":[1,2,3,4,5,6],"grads":[[1,-1,0.5,2,-2,0.5]]}"#,
    );
    for (bad, name) in [
        (
            r#"{"optimizer":"adafactor","hyper":{"eps":[-1,0.001]},"params":[1],"grads":[]}"#,
            "hyper.eps[0]",
        ),
        (
            r#"{"optimizer":"adafactor","hyper":{"eps":[null,null]},"params":[1],"grads":[]}"#,
            "hyper.eps[1]",
        ),
        (
            r#"{"optimizer":"adafactor","hyper":{"eps":0.1},"params":[1],"grads":[]}"#,
            "hyper.eps",
        ),
        (
            r#"{"optimizer":"adafactor","hyper":{"d":0.5},"params":[1],"grads":[]}"#,
            "hyper.d",
        ),
        (
            r#"{"optimizer":"adafactor","hyper":{"beta2_decay":0.1},"params":[1],"grads":[]}"#,
            "hyper.beta2_decay",
        ),
        (
            r#"{"optimizer":"adafactor","hyper":{"betas":[0.9,0.9]},"params":[1],"grads":[]}"#,
            "hyper.betas",
        ),
    ] {
        replay_err(bad, &[name]);
    }
}

/// Muon needs a two-dimensional `shape`, and takes PyTorch's argument names.
#[test]
fn muon_requires_a_matrix() {
    replay_ok(
        r#"{"optimizer":"muon","hyper":{"lr":0.02,"ns_coefficients":[3.4445,-4.775,2.0315],"ns_steps":3,"adjust_lr_fn":"match_rms_adamw","nesterov":false},"shape":[2,3],"params":[1,2,3,4,5,6],"grads":[[1,-1,0.5,2,-2,0.5]]}"#,
    );
    replay_ok(
        r#"{"optimizer":"muon","hyper":{"adjust_lr_fn":null},"shape":[3,2],"params":[1,2,3,4,5,6],"grads":[[1,-1,0.5,2,-2,0.5]]}"#,
    );
    for (bad, name) in [
        (
            r#"{"optimizer":"muon","params":[1,2,3,4],"grads":[]}"#,
            "shape",
        ),
        (
            r#"{"optimizer":"muon","shape":[4],"params":[1,2,3,4],"grads":[]}"#,
            "shape",
        ),
        (
            r#"{"optimizer":"muon","shape":[3,2],"params":[1,2,3,4],"grads":[]}"#,
            "shape",
        ),
        (
            r#"{"optimizer":"muon","hyper":{"adjust_lr_fn":"none"},"shape":[2,2],"params":[1,2,3,4],"grads":[]}"#,
            "hyper.adjust_lr_fn",
        ),
        (
            r#"{"optimizer":"muon","hyper":{"ns_steps":2.5},"shape":[2,2],"params":[1,2,3,4],"grads":[]}"#,
            "hyper.ns_steps",
        ),
        (
            r#"{"optimizer":"muon","hyper":{"ns_steps":100},"shape":[2,2],"params":[1,2,3,4],"grads":[]}"#,
            "hyper.ns_steps",
        ),
        (
            r#"{"optimizer":"muon","hyper":{"ns_coefficients":[1,2]},"shape":[2,2],"params":[1,2,3,4],"grads":[]}"#,
            "hyper.ns_coefficients",
        ),
        (
            r#"{"optimizer":"muon","hyper":{"maximize":true},"shape":[2,2],"params":[1,2,3,4],"grads":[]}"#,
            "hyper.maximize",
        ),
    ] {
        replay_err(bad, &[name]);
    }
}

/// The library's errors are typed: a malformed request, a value out of range
/// (with the optimizer's own record of it), and a refused step (with the step
/// and the optimizer's step error) are told apart without reading the text.
#[test]
fn replay_errors_are_typed() {
    use descent::StepError;
    use descent::replay::{ReplayError, replay};
    let e = replay(r#"{"optimizer":"adam","hyper":{"lr":"fast"},"params":[1],"grads":[]}"#)
        .unwrap_err();
    assert!(
        matches!(&e, ReplayError::Request { field, .. } if field == "hyper.lr"),
        "{e:?}"
    );
    let e =
        replay(r#"{"optimizer":"adam","hyper":{"lr":-1},"params":[1],"grads":[]}"#).unwrap_err();
    assert!(
        matches!(&e, ReplayError::Invalid { field, error, .. }
            if field == "hyper.lr" && error.param == "lr" && error.optimizer == "adam"),
        "{e:?}"
    );
    let e = replay(
        r#"{"optimizer":"sgd","params":[1],"grads":[[1],[1e308],[1e308]],"hyper":{"lr":1e308}}"#,
    )
    .unwrap_err();
    assert!(
        matches!(&e, ReplayError::Step { step, error: StepError::NonFiniteResult { .. } } if *step >= 1),
        "{e:?}"
    );
    assert!(e.to_string().starts_with(&format!(
        "step {} (grads[",
        e.field().trim_start_matches("step ")
    )));
    let e = replay(r#"{"optimizer":"sgd","params":[1],"grads":[[NaN]]}"#).unwrap_err();
    assert!(
        matches!(&e, ReplayError::Request { field, .. } if field == "request"),
        "{e:?}"
    );
}
