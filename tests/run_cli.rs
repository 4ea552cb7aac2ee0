//! `descent run`: output shapes, help, the Rosenbrock example, every optimizer on
//! every problem (or a refusal naming the problems it needs), agreement with the
//! library, natural gradient on the probabilistic models (one step to the
//! least-squares optimum), and the error contract (non-zero exit, nothing on
//! stdout, one line on stderr naming the flag).

use std::process::{Command, Output};

use descent::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use descent::problems::Objective;
use descent::problems::gaussian::{GaussianData, GaussianMeanLogStd, GaussianMeanStd};
use descent::problems::regression::{LeastSquares, LogisticRegression, SoftmaxRegression};
use descent::problems::rosenbrock::Rosenbrock;
use descent::run::{MODEL_PROBLEMS, OPTIMIZERS, PROBLEMS};
use descent::second_order::natural::{NaturalGradient, NaturalGradientConfig};
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
    // The single document of --format json is printed only at the end, so a
    // run refused at any step prints nothing on stdout (jsonl and csv keep the
    // steps printed before the refusal: tests/cli.rs).
    if !args.iter().any(|a| a.starts_with("--format")) {
        all.extend_from_slice(&["--format", "json"]);
    }
    all.extend_from_slice(args);
    let out = descent(&all);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    let err = String::from_utf8(out.stderr).unwrap();
    if err.starts_with("error:") {
        // clap's own usage error (a flag no problem or optimizer takes, a
        // missing value): several lines with the usage, status 2.
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        return err;
    }
    assert!(
        matches!(out.status.code(), Some(1 | 2)),
        "{args:?}: status {:?}",
        out.status
    );
    assert_eq!(err.lines().count(), 1, "{args:?}: stderr {err:?}");
    assert!(err.starts_with("descent run: "), "{err}");
    err
}

/// The steps of `run`'s output: JSON lines (the default), or the single
/// document of `--format json`.
fn json_steps(text: &str) -> Vec<Value> {
    if text.starts_with("{\"steps\"") {
        let v: Value = serde_json::from_str(text).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 1);
        return obj["steps"].as_array().unwrap().clone();
    }
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
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
        // The data-generator flags of the models and natural's flags.
        for flag in [
            "--seed",
            "--n N",
            "--d D",
            "--classes",
            "--noise",
            "--mean",
            "--std",
            "--damping",
        ] {
            assert!(text.contains(flag), "help lacks {flag}");
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
fn every_pairing_runs_or_is_refused_with_a_message() {
    // Every optimizer runs on every problem with its defaults, except natural
    // on a plain objective, which is refused with one line naming --optimizer and
    // every problem natural accepts.
    assert!(MODEL_PROBLEMS.iter().all(|m| PROBLEMS.contains(m)));
    let mut refused = 0;
    for opt in OPTIMIZERS {
        for problem in PROBLEMS {
            let args = ["--optimizer", opt, "--problem", problem, "--steps", "30"];
            if opt == "natural" && !MODEL_PROBLEMS.contains(&problem) {
                let err = run_err(&args);
                assert!(
                    err.starts_with("descent run: --optimizer: natural needs"),
                    "{err}"
                );
                assert!(err.contains(problem), "{err}");
                for m in MODEL_PROBLEMS {
                    assert!(err.contains(m), "{err} lacks {m}");
                }
                refused += 1;
                continue;
            }
            let text = run_ok(&args);
            let steps = json_steps(&text);
            assert_eq!(steps.len(), 31, "{opt} on {problem}");
            for s in &steps {
                assert!(s["loss"].as_f64().unwrap().is_finite());
                assert!(params(s).iter().all(|p| p.is_finite()));
            }
        }
    }
    assert_eq!(refused, PROBLEMS.len() - MODEL_PROBLEMS.len());
}

#[test]
fn models_start_at_their_default_x0_on_the_default_data() {
    // Default x0: zeros of the right dimension, (0, 0) in (mu, log sigma),
    // (0, 1) in (mu, sigma). The default flags give the problems' Default data,
    // so the step-0 loss equals the library's value to the bit (same code).
    let zeros = |n| DVector::<f64>::zeros(n);
    let cases: Vec<(&str, Vec<f64>, f64)> = vec![
        (
            "logistic",
            vec![0.0; 3],
            LogisticRegression::default().value(&zeros(3)),
        ),
        (
            "softmax",
            vec![0.0; 9],
            SoftmaxRegression::default().value(&zeros(9)),
        ),
        (
            "least_squares",
            vec![0.0; 3],
            LeastSquares::default().value(&zeros(3)),
        ),
        (
            "gaussian",
            vec![0.0, 0.0],
            GaussianMeanLogStd::default().value(&zeros(2)),
        ),
        (
            "gaussian_std",
            vec![0.0, 1.0],
            GaussianMeanStd::default().value(&DVector::from_vec(vec![0.0, 1.0])),
        ),
    ];
    for (problem, x0, loss) in cases {
        let steps = json_steps(&run_ok(&[
            "--optimizer",
            "sgd",
            "--problem",
            problem,
            "--steps",
            "0",
        ]));
        assert_eq!(params(&steps[0]), x0, "{problem}");
        assert_eq!(steps[0]["loss"].as_f64(), Some(loss), "{problem}");
    }
    // The generator flags reach the generator: --d and --classes set the
    // dimension, and the data of --seed 2 are those of generate(2, ..).
    let steps = json_steps(&run_ok(&[
        "--optimizer",
        "sgd",
        "--problem",
        "softmax",
        "--d",
        "2",
        "--classes",
        "4",
        "--steps",
        "0",
    ]));
    assert_eq!(params(&steps[0]), vec![0.0; 8]);
    let steps = json_steps(&run_ok(&[
        "--optimizer",
        "sgd",
        "--problem",
        "least_squares",
        "--seed",
        "2",
        "--n",
        "10",
        "--d",
        "4",
        "--noise",
        "0",
        "--steps",
        "0",
    ]));
    let ls = LeastSquares::generate(2, 10, 4, 0.0).unwrap();
    assert_eq!(steps[0]["loss"].as_f64(), Some(ls.value(&zeros(4))));
    let steps = json_steps(&run_ok(&[
        "--optimizer",
        "sgd",
        "--problem",
        "gaussian",
        "--seed",
        "5",
        "--n",
        "7",
        "--mean",
        "-3",
        "--std",
        "0.5",
        "--x0=0.25,-1",
        "--steps",
        "0",
    ]));
    let g = GaussianMeanLogStd::new(GaussianData::generate(5, 7, -3.0, 0.5).unwrap());
    let x0 = DVector::from_vec(vec![0.25, -1.0]);
    assert_eq!(steps[0]["loss"].as_f64(), Some(g.value(&x0)));
}

#[test]
fn natural_run_matches_the_library() {
    // run drives natural through NaturalGradient::step on the same data; the
    // iterates must equal a direct loop, bit for bit.
    let config = NaturalGradientConfig {
        lr: 0.5,
        damping: 0.25,
    };
    let text = run_ok(&[
        "--optimizer",
        "natural",
        "--problem",
        "logistic",
        "--steps",
        "10",
        "--lr",
        "0.5",
        "--damping",
        "0.25",
    ]);
    let mut ng = NaturalGradient::new(config).unwrap();
    let model = LogisticRegression::default();
    let mut x = DVector::zeros(3);
    for s in &json_steps(&text)[1..] {
        ng.step(&model, &mut x).unwrap();
        assert_eq!(params(s), x.iter().copied().collect::<Vec<_>>());
    }
    let text = run_ok(&[
        "--optimizer",
        "natural",
        "--problem",
        "gaussian_std",
        "--steps",
        "10",
        "--lr",
        "0.5",
        "--damping",
        "0.25",
    ]);
    let mut ng = NaturalGradient::new(config).unwrap();
    let model = GaussianMeanStd::default();
    let mut x = DVector::from_vec(vec![0.0, 1.0]);
    for s in &json_steps(&text)[1..] {
        ng.step(&model, &mut x).unwrap();
        assert_eq!(params(s), x.iter().copied().collect::<Vec<_>>());
    }
}

/// The 2-norm of the difference of two parameter lists.
fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn natural_reaches_the_least_squares_optimum_in_one_step() {
    // The claim, checked in the library first. LeastSquares (regression.rs) has
    // the loss L = |X theta - y|^2 / (2 N var), so its Hessian is
    // A = X'X / (N var) at every theta; its Model::fisher (natural/models.rs) is
    // weighted_gram(X, 1/var) = X'X / (N var) too. (They agree for every model
    // variance because the loss carries the 1/var; run uses var = 1.) So with
    // lr = 1 and damping = 0 the natural step is the Newton step,
    // theta1 = theta0 - A^{-1}(A theta0 - b) = A^{-1} b = theta*, from any theta0.
    let (seed, n, d, noise) = (1, 64, 3, 0.5);
    let ls = LeastSquares::generate(seed, n, d, noise).unwrap();
    assert_eq!(ls.model_var(), 1.0);
    let flags = [
        "--problem",
        "least_squares",
        "--seed",
        "1",
        "--n",
        "64",
        "--d",
        "3",
        "--noise",
        "0.5",
        "--steps",
        "2",
        "--lr",
        "1",
    ];
    let run = |opt: &str, damping: &str| {
        let mut args = vec!["--optimizer", opt, "--damping", damping];
        args.extend_from_slice(&flags);
        json_steps(&run_ok(&args))
    };
    let natural = run("natural", "0");
    // newton tries the undamped Hessian first; `none` makes sure no damping is
    // ever added.
    let newton = run("newton", "none");
    assert_eq!(params(&natural[0]), vec![0.0; 3]);

    // The reference optimum, by SVD of X (backward stable, no normal equations).
    let (x, y) = (ls.x(), ls.y());
    let star = x.clone().svd(true, true).solve(y, 0.0).unwrap();
    let star: Vec<f64> = star.iter().copied().collect();
    let star_norm = dist(&star, &[0.0; 3]);

    // The tolerance. From theta0 = 0 each run solves (A + E) theta1 = b + db with
    // b = X'y / N. With u = eps / 2 and gamma_k = k u / (1 - k u) < k eps:
    // - A is summed over N examples (in a different order by the two methods):
    //   |E_sum| <= gamma_N |X|'|X| / N entrywise, and the Cholesky solve adds a
    //   backward error |E_chol| <= gamma_{3d+1} |R'||R| with
    //   || |R'||R| ||_2 <= d ||A||_2 (Higham, Accuracy and Stability, 2nd ed.,
    //   Thm 10.4 and the bound after it). So
    //   e_a = ||E|| / ||A|| <= N eps || |X|'|X| ||_F / (N ||A||_2) + (3d+1) d eps.
    // - the gradient sums N terms r_n x_n: |db| <= gamma_N |X|'(|X||theta| + |y|) / N,
    //   taken at theta* to cover the second step too:
    //   e_b = N eps || |X|'(|X||theta*| + |y|) || / ||X'y||.
    // Perturbation theory: ||theta1 - theta*|| / ||theta*|| <=
    // cond(A) (e_a + e_b) / (1 - cond(A) e_a) <= 2 cond(A) (e_a + e_b) when
    // cond(A) e_a <= 1/2, plus one rounding of theta0 + d (eps ||theta*||).
    let eps = f64::EPSILON;
    let nf = n as f64;
    let df = d as f64;
    let a = x.transpose() * x / nf;
    let eig = a.clone().symmetric_eigen().eigenvalues;
    let cond = eig.max() / eig.min();
    let abs_x = x.abs();
    let e_a = nf * eps * (abs_x.transpose() * &abs_x).norm() / (nf * eig.max())
        + (3.0 * df + 1.0) * df * eps;
    let star_abs = DVector::from_vec(star.iter().map(|v| v.abs()).collect());
    let e_b = nf * eps * (abs_x.transpose() * (&abs_x * star_abs + y.abs())).norm()
        / (x.transpose() * y).norm();
    assert!(cond * e_a <= 0.5, "cond {cond}, e_a {e_a}");
    let tol = (2.0 * cond * (e_a + e_b) + eps) * star_norm;

    let nat1 = params(&natural[1]);
    let nat2 = params(&natural[2]);
    let newt1 = params(&newton[1]);
    let (to_star, to_newton, second) =
        (dist(&nat1, &star), dist(&nat1, &newt1), dist(&nat2, &nat1));
    eprintln!(
        "cond(X'X) = {cond:.4}, e_a = {e_a:.3e}, e_b = {e_b:.3e}, tol = {tol:.3e}; \
         |nat1 - svd| = {to_star:.3e}, |nat1 - newton1| = {to_newton:.3e}, \
         |nat2 - nat1| = {second:.3e}, |grad(nat1)| = {:e}",
        natural[1]["grad_norm"].as_f64().unwrap()
    );
    // The SVD solution is within the same kind of bound of theta* (its error is
    // below cond(X)^2 eps-terms of the same size), hence 2 tol between them.
    assert!(to_star <= 2.0 * tol, "{to_star} > 2 * {tol}");
    // Both runs are within tol of theta*.
    assert!(to_newton <= 2.0 * tol, "{to_newton} > 2 * {tol}");
    // theta1 is (to rounding) a fixed point: the second step stays within tol of
    // theta* as well.
    assert!(second <= 2.0 * tol, "{second} > 2 * {tol}");
    // The claim needs damping 0: with lambda > 0 the first step lands on
    // (A + lambda I)^{-1} b, which misses theta* by
    // lambda (A + lambda I)^{-1} theta*, of norm >= lambda / (lambda_max + lambda)
    // |theta*|; half of that is far above the rounding bound tol.
    let lambda = 0.1;
    let damped = run("natural", "0.1");
    let miss = dist(&params(&damped[1]), &star);
    assert!(
        miss >= 0.5 * lambda / (eig.max() + lambda) * star_norm,
        "{miss}"
    );
}

#[test]
fn bad_model_flags_name_the_flag() {
    // (problem, extra flags, what the one-line message must contain, the first
    // item leading it)
    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        ("logistic", vec!["--seed", "x"], vec!["--seed:"]),
        ("logistic", vec!["--seed", "-1"], vec!["--seed:"]),
        ("logistic", vec!["--n", "0"], vec!["--n:", "n >= 1"]),
        ("logistic", vec!["--n", "2.5"], vec!["--n:", "whole number"]),
        ("logistic", vec!["--d", "0"], vec!["--d:", "d >= 1"]),
        (
            "logistic",
            vec!["--n", "16777216", "--d", "2"],
            vec!["--n and --d", "2^24"],
        ),
        (
            "logistic",
            vec!["--x0=1,2"],
            vec!["--x0:", "has 2 entries", "needs 3"],
        ),
        (
            "logistic",
            vec!["--d", "5", "--x0=1,2,3"],
            vec!["--x0:", "needs 5"],
        ),
        (
            "logistic",
            vec!["--classes", "3"],
            vec!["--classes:", "unknown flag"],
        ),
        (
            "logistic",
            vec!["--noise", "1"],
            vec!["--noise:", "unknown flag"],
        ),
        (
            "softmax",
            vec!["--classes", "1"],
            vec!["--classes:", "classes >= 2"],
        ),
        ("softmax", vec!["--classes", "many"], vec!["--classes:"]),
        (
            "softmax",
            vec!["--classes", "16777216"],
            vec!["--classes and --d", "2^24"],
        ),
        (
            "softmax",
            vec!["--x0=0,0,0"],
            vec!["--x0:", "has 3 entries", "needs 9"],
        ),
        (
            "softmax",
            vec!["--classes", "2", "--d", "2", "--x0=0,0,0"],
            vec!["--x0:", "needs 4"],
        ),
        ("least_squares", vec!["--noise", "-1"], vec!["--noise:"]),
        ("least_squares", vec!["--noise", "inf"], vec!["--noise:"]),
        ("least_squares", vec!["--x0=1"], vec!["--x0:", "needs 3"]),
        ("gaussian", vec!["--std", "0"], vec!["--std:"]),
        ("gaussian", vec!["--std", "-2"], vec!["--std:"]),
        ("gaussian", vec!["--mean", "nan"], vec!["--mean:"]),
        ("gaussian", vec!["--n", "0"], vec!["--n:"]),
        ("gaussian", vec!["--d", "3"], vec!["--d:", "unknown flag"]),
        ("gaussian", vec!["--x0=1,2,3"], vec!["--x0:", "needs 2"]),
        ("gaussian_std", vec!["--x0=1"], vec!["--x0:", "needs 2"]),
        (
            "gaussian_std",
            vec!["--x0=1,0"],
            vec!["--x0:", "sigma", "(0, inf)"],
        ),
        ("gaussian_std", vec!["--x0=1,-1"], vec!["--x0:", "sigma"]),
    ];
    for (problem, extra, needles) in cases {
        for opt in ["sgd", "natural"] {
            let mut args = vec!["--optimizer", opt, "--problem", problem];
            args.extend_from_slice(&extra);
            let err = run_err(&args);
            // The message leads with the flag at fault.
            let lead = format!("descent run: {}", needles[0]);
            assert!(err.starts_with(&lead), "{args:?}: {err}");
            for needle in &needles {
                assert!(err.contains(needle), "{args:?}: {err}");
            }
        }
    }
    // natural's own flags.
    for (extra, flag) in [
        (vec!["--damping", "-1"], "--damping:"),
        (vec!["--damping", "none"], "--damping:"),
        (vec!["--lr", "-0.5"], "--lr:"),
        (vec!["--lr", "fast"], "--lr:"),
        (vec!["--mu", "1"], "--mu:"),
        (vec!["--line_search", "true"], "--line_search:"),
    ] {
        let mut args = vec!["--optimizer", "natural", "--problem", "logistic"];
        args.extend_from_slice(&extra);
        let err = run_err(&args);
        assert!(
            err.starts_with(&format!("descent run: {flag}")),
            "{args:?}: {err}"
        );
    }
    // natural on a plain objective, with natural's flags: the refusal wins.
    let err = run_err(&[
        "--optimizer",
        "natural",
        "--problem",
        "quadratic",
        "--damping",
        "0",
    ]);
    assert!(
        err.contains("--optimizer") && err.contains("least_squares"),
        "{err}"
    );
    // A singular Fisher without damping (softmax's redundant class weights) is a
    // refused step with the reason, not garbage.
    let err = run_err(&[
        "--optimizer",
        "natural",
        "--problem",
        "softmax",
        "--damping",
        "0",
    ]);
    assert!(
        err.contains("step 1") && err.contains("not positive definite"),
        "{err}"
    );
    // A step that leaves sigma > 0 is named as such: natural with lr 3 from
    // (0, 1) goes to sigma = 1 + 3 * 2.38 = 8.15, and its second step to -1.54.
    let err = run_err(&[
        "--optimizer",
        "natural",
        "--problem",
        "gaussian_std",
        "--lr",
        "3",
    ]);
    assert!(err.contains("sigma") && err.contains("after step"), "{err}");
}

#[test]
fn refused_problems_say_why() {
    for (problem, needle) in [
        ("reddi", "changes with the step"),
        ("minibatch_sign", "not an objective"),
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
        (vec!["--optimizer", "shampoo"], "--optimizer"),
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

/// `descent run --optimizer lbfgs` is the library's `Lbfgs` with PyTorch's flag
/// names, one `--steps` per call of `step(closure)`: its iterates are the
/// library's, bit for bit (the library's are checked against PyTorch in
/// `tests/lbfgs.rs`).
#[test]
fn lbfgs_run_is_the_library_lbfgs() {
    use descent::problems::rosenbrock::Rosenbrock;
    use descent::second_order::lbfgs::{Lbfgs, LbfgsConfig, LineSearch};
    let out = run_ok(&[
        "--optimizer",
        "lbfgs",
        "--problem",
        "rosenbrock",
        "--x0=-1.2,1",
        "--line_search_fn",
        "strong_wolfe",
        "--history_size",
        "5",
        "--steps",
        "4",
    ]);
    let steps = json_steps(&out);
    let f = Rosenbrock::default();
    let mut opt = Lbfgs::new(LbfgsConfig {
        line_search_fn: LineSearch::StrongWolfe,
        history_size: 5,
        ..LbfgsConfig::default()
    })
    .unwrap();
    let mut x = nalgebra::DVector::from_vec(vec![-1.2, 1.0]);
    for step in &steps[1..] {
        opt.step(&f, &mut x).unwrap();
        assert_eq!(params(step), x.as_slice());
    }
    let err = run_err(&[
        "--optimizer",
        "lbfgs",
        "--problem",
        "rosenbrock",
        "--line_search_fn",
        "backtracking",
    ]);
    assert!(err.contains("--line_search_fn"), "{err}");
    let err = run_err(&[
        "--optimizer",
        "lbfgs",
        "--problem",
        "rosenbrock",
        "--history_size",
        "0",
    ]);
    assert!(err.contains("history_size"), "{err}");
}

/// The inputs that used to abort the process (a failed allocation, or every
/// record of 2^64 steps kept in memory) are refused with a message naming the
/// flags and the budget, before anything large is allocated.
#[test]
fn oversized_runs_are_refused_naming_the_flags_and_budget() {
    let err = run_err(&[
        "--optimizer",
        "sgd",
        "--problem",
        "logistic",
        "--n",
        "1",
        "--d",
        "100000",
        "--steps",
        "1",
    ]);
    assert!(err.contains("--d:") && err.contains("2^24"), "{err}");
    let err = run_err(&[
        "--optimizer",
        "natural",
        "--problem",
        "softmax",
        "--d",
        "4096",
        "--classes",
        "4096",
    ]);
    assert!(
        err.contains("--classes and --d:") && err.contains("2^24"),
        "{err}"
    );
    let long_x0 = format!("--x0={}", vec!["1"; 5000].join(","));
    for problem in ["rosenbrock", "logcosh"] {
        let err = run_err(&["--optimizer", "newton", "--problem", problem, &long_x0]);
        assert!(err.contains("--x0:") && err.contains("2^24"), "{err}");
    }
    let err = run_err(&[
        "--optimizer",
        "adam",
        "--problem",
        "quadratic",
        "--steps",
        "18446744073709551615",
        "--format",
        "json",
    ]);
    assert!(err.contains("--steps:") && err.contains("2^22"), "{err}");
}
