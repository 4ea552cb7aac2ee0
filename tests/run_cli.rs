//! `descent run`: output shapes, help, the Rosenbrock example, every optimizer on
//! every problem, agreement with the library, and the error contract (non-zero
//! exit, nothing on stdout, one line on stderr naming the flag).

use std::process::{Command, Output};

use descent::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use descent::problems::Objective;
use descent::problems::rosenbrock::Rosenbrock;
use descent::run::{OPTIMIZERS, PROBLEMS};
use nalgebra::DVector;
use serde_json::Value;

fn descent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_descent"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn run_ok(args: &[&str]) -> String {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    let out = descent(&all);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    String::from_utf8(out.stdout).unwrap()
}

/// Runs, expects failure, and returns the single stderr line.
fn run_err(args: &[&str]) -> String {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    let out = descent(&all);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{args:?}: stderr {err:?}");
    assert!(err.starts_with("descent run: "), "{err}");
    err
}

fn json_steps(text: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(text).unwrap();
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 1);
    obj["steps"].as_array().unwrap().clone()
}

fn params(step: &Value) -> Vec<f64> {
    step["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap())
        .collect()
}

#[test]
fn help_lists_problems_and_optimizers() {
    for args in [
        &["run", "--help"][..],
        &["run", "-h"],
        &["run", "--optimizer", "sgd", "--help"],
    ] {
        let out = descent(args);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        for name in OPTIMIZERS.iter().chain(PROBLEMS.iter()) {
            assert!(text.contains(name), "help lacks {name}");
        }
    }
    let top = String::from_utf8(descent(&["--help"]).stdout).unwrap();
    assert!(top.contains("descent run"));
}

#[test]
fn json_shape() {
    let text = run_ok(&[
        "--optimizer",
        "sgd",
        "--problem",
        "rosenbrock",
        "--x0=-1.5,2",
        "--steps",
        "5",
        "--lr",
        "1e-4",
    ]);
    let steps = json_steps(&text);
    assert_eq!(steps.len(), 6);
    for (k, s) in steps.iter().enumerate() {
        let o = s.as_object().unwrap();
        let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["grad_norm", "loss", "params", "step"]);
        assert_eq!(o["step"].as_u64(), Some(k as u64));
        assert!(o["loss"].as_f64().is_some() && o["grad_norm"].as_f64().is_some());
        assert_eq!(params(s).len(), 2);
    }
    // Step 0 is the start, with its loss and gradient norm.
    assert_eq!(params(&steps[0]), vec![-1.5, 2.0]);
    let f = Rosenbrock::default();
    let x0 = DVector::from_vec(vec![-1.5, 2.0]);
    assert_eq!(steps[0]["loss"].as_f64(), Some(f.value(&x0)));
    // |grad| of (-1.5, 2) is (1505, -50), norm sqrt(1505^2 + 50^2): the output
    // matches the library's scaled norm to the last bit only if both scale the
    // same way, so allow one rounding of a norm (2 eps relative).
    let g = f.gradient(&x0).norm();
    let out = steps[0]["grad_norm"].as_f64().unwrap();
    assert!((out - g).abs() <= 2.0 * f64::EPSILON * g);
}

#[test]
fn csv_shape() {
    let text = run_ok(&[
        "--optimizer",
        "newton",
        "--problem",
        "rosenbrock",
        "--x0=-1.5,2,0.5",
        "--steps",
        "3",
        "--format",
        "csv",
    ]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "step,loss,grad_norm,x0,x1,x2");
    assert_eq!(lines.len(), 1 + 4);
    for (k, line) in lines[1..].iter().enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), 6);
        assert_eq!(cells[0], k.to_string());
        assert!(cells[1..].iter().all(|c| c.parse::<f64>().is_ok()));
    }
    // f(-1.5, 2, 0.5) = 2.5^2 + 100 (2 - 2.25)^2 + (1 - 2)^2 + 100 (0.5 - 4)^2
    // = 6.25 + 6.25 + 1 + 1225, every operation exact.
    assert!(lines[1].starts_with("0,1238.5,"));
    assert!(lines[1].ends_with(",-1.5,2.0,0.5"));
}

#[test]
fn rosenbrock_newton_example() {
    // The example of the issue: final |grad| below 1e-8.
    let text = run_ok(&[
        "--optimizer",
        "newton",
        "--problem",
        "rosenbrock",
        "--x0=-1.5,2",
        "--steps",
        "50",
        "--format",
        "json",
    ]);
    let steps = json_steps(&text);
    assert_eq!(steps.len(), 51);
    let last = steps.last().unwrap();
    assert!(last["grad_norm"].as_f64().unwrap() < 1e-8);
    // With the line search too.
    let text = run_ok(&[
        "--optimizer",
        "newton",
        "--problem",
        "rosenbrock",
        "--x0=-1.5,2",
        "--steps",
        "50",
        "--line_search",
        "true",
    ]);
    assert!(
        json_steps(&text).last().unwrap()["grad_norm"]
            .as_f64()
            .unwrap()
            < 1e-8
    );
}

#[test]
fn every_optimizer_runs_on_every_problem() {
    for opt in OPTIMIZERS {
        for problem in PROBLEMS {
            let text = run_ok(&["--optimizer", opt, "--problem", problem, "--steps", "30"]);
            let steps = json_steps(&text);
            assert_eq!(steps.len(), 31, "{opt} on {problem}");
            for s in &steps {
                assert!(s["loss"].as_f64().unwrap().is_finite());
                assert!(params(s).iter().all(|p| p.is_finite()));
            }
        }
    }
}

#[test]
fn refused_problems_say_why() {
    for (problem, needle) in [
        ("reddi", "changes with the step"),
        ("minibatch_sign", "not an objective"),
        ("logistic", "not available in run yet"),
        ("gaussian", "not available in run yet"),
        ("nonesuch", "unknown problem"),
    ] {
        let err = run_err(&["--optimizer", "newton", "--problem", problem]);
        assert!(err.contains("--problem") && err.contains(needle), "{err}");
    }
    // Refuse mode on an indefinite Hessian: the step is refused, with the step
    // number and the reason.
    let err = run_err(&[
        "--optimizer",
        "newton",
        "--problem",
        "rosenbrock",
        "--x0=0,1",
        "--damping",
        "none",
    ]);
    assert!(
        err.contains("step 1") && err.contains("not positive definite"),
        "{err}"
    );
}

#[test]
fn bad_flags_name_the_flag() {
    let base = ["--problem", "rosenbrock"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--problem", "rosenbrock"], "--optimizer"),
        (vec!["--optimizer", "sgd"], "--problem"),
        (vec!["--optimizer", "lbfgs"], "--optimizer"),
        (vec!["--optimizer", "sgd", "--lr", "-1"], "--lr"),
        (vec!["--optimizer", "sgd", "--lr", "abc"], "--lr"),
        (vec!["--optimizer", "sgd", "--betas", "0.9,0.99"], "--betas"),
        (vec!["--optimizer", "adam", "--betas", "0.9"], "--betas"),
        (vec!["--optimizer", "adam", "--betas", "0.9,1.5"], "--betas"),
        (vec!["--optimizer", "adam", "--amsgrad", "yes"], "--amsgrad"),
        (
            vec!["--optimizer", "newton", "--damping", "lots"],
            "--damping",
        ),
        (vec!["--optimizer", "newton", "--damping", "0"], "--damping"),
        (
            vec!["--optimizer", "newton", "--line_search", "maybe"],
            "--line_search",
        ),
        (vec!["--optimizer", "newton", "--lr", "0"], "--lr"),
        (vec!["--optimizer", "newton", "--mu", "1"], "--mu"),
        (vec!["--optimizer", "diagonal", "--mu", "-1"], "--mu"),
        (vec!["--optimizer", "secant", "--lr0", "0"], "--lr0"),
        (vec!["--optimizer", "vsgd", "--tau0", "0.5"], "--tau0"),
        (
            vec!["--optimizer", "vsgd", "--curvature", "both"],
            "--curvature",
        ),
        (vec!["--optimizer", "sgd", "--steps", "-1"], "--steps"),
        (vec!["--optimizer", "sgd", "--format", "xml"], "--format"),
        (vec!["--optimizer", "sgd", "--x0=1"], "--x0"),
        (vec!["--optimizer", "sgd", "--x0=1,zz"], "--x0"),
        (vec!["--optimizer", "sgd", "--b", "-3"], "--b"),
        (vec!["--optimizer", "sgd", "--cond", "10"], "--cond"),
        (
            vec!["--optimizer", "sgd", "--lr", "0.1", "--lr", "0.2"],
            "--lr",
        ),
        (
            vec!["--optimizer", "sgd", "--problem", "rosenbrock", "--steps"],
            "--steps",
        ),
        (vec!["--optimizer", "sgd", "stray"], "stray"),
    ];
    for (mut args, flag) in cases {
        if !args.contains(&"--problem") && flag != "--problem" {
            args.extend_from_slice(&base);
        }
        let err = run_err(&args);
        assert!(err.contains(flag), "{args:?}: {err}");
    }
    // Problem flags are checked against the problem.
    let err = run_err(&["--optimizer", "sgd", "--problem", "quadratic", "--x0=1,2,3"]);
    assert!(err.contains("--x0"), "{err}");
    let err = run_err(&[
        "--optimizer",
        "sgd",
        "--problem",
        "quadratic",
        "--cond",
        "0.5",
    ]);
    assert!(err.contains("--cond"), "{err}");
    let err = run_err(&["--optimizer", "sgd", "--problem", "logcosh", "--c", "1,2,3"]);
    assert!(err.contains("--c"), "{err}");
    let err = run_err(&["--optimizer", "sgd", "--problem", "logcosh", "--m", "-1"]);
    assert!(err.contains("--m"), "{err}");
}

#[test]
fn first_order_run_matches_the_library() {
    // run drives first-order optimizers through replay; the iterates must equal
    // a direct loop over the library, bit for bit.
    let f = Rosenbrock::default();
    let text = run_ok(&[
        "--optimizer",
        "adam",
        "--problem",
        "rosenbrock",
        "--steps",
        "40",
        "--lr",
        "0.05",
        "--betas",
        "0.8,0.99",
        "--amsgrad",
        "true",
    ]);
    let steps = json_steps(&text);
    let mut adam = Adam::new(AdamConfig {
        lr: 0.05,
        betas: (0.8, 0.99),
        amsgrad: descent::optim::Amsgrad::PyTorch,
        ..AdamConfig::default()
    })
    .unwrap();
    let mut x = DVector::from_vec(vec![-1.5, 2.0]);
    for s in &steps[1..] {
        let g = f.gradient(&x);
        adam.step(&mut x, &g).unwrap();
        assert_eq!(params(s), x.iter().copied().collect::<Vec<_>>());
    }
    let text = run_ok(&[
        "--optimizer",
        "sgd",
        "--problem",
        "rosenbrock",
        "--steps",
        "20",
        "--lr",
        "1e-4",
        "--momentum",
        "0.9",
        "--nesterov",
        "true",
    ]);
    let mut sgd = Sgd::new(SgdConfig {
        lr: 1e-4,
        momentum: 0.9,
        nesterov: true,
        ..SgdConfig::default()
    })
    .unwrap();
    let mut x = DVector::from_vec(vec![-1.5, 2.0]);
    for s in &json_steps(&text)[1..] {
        let g = f.gradient(&x);
        sgd.step(&mut x, &g).unwrap();
        assert_eq!(params(s), x.iter().copied().collect::<Vec<_>>());
    }
}

#[test]
fn a_diverging_run_is_an_error_not_garbage() {
    // SGD with a huge rate on Rosenbrock overflows within a few steps.
    let err = run_err(&[
        "--optimizer",
        "sgd",
        "--problem",
        "rosenbrock",
        "--lr",
        "10",
        "--steps",
        "100",
    ]);
    assert!(err.contains("step "), "{err}");
}
