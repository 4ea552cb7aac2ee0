//! The `descent` command line as a user meets it, run as the built binary:
//! `--version`, `--help` on every command, exit status 2 for usage errors and
//! 1 for refused requests, `replay FILE` and `replay -`, `run` printing each
//! step as it is taken, a reader that closes the pipe early, and the one table
//! of optimizers and problems agreeing with `replay` and `run`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Output, Stdio};

use descent::cli::table::{self, Reach};

fn descent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_descent"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("utf-8")
}

#[test]
fn version_names_the_crate_version() {
    let out = descent(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out).trim(),
        format!("descent {}", env!("CARGO_PKG_VERSION"))
    );
    // Every command carries it too.
    assert_eq!(descent(&["run", "--version"]).status.code(), Some(0));
}

#[test]
fn every_command_has_help() {
    for (command, needle) in [
        ("replay", "clip_grad_norm"),
        ("run", "--optimizer"),
        ("pep", "--method"),
        ("figures", "DIR"),
        ("ledger", "ledger"),
    ] {
        let out = descent(&[command, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{command}: {}", stderr(&out));
        assert!(stdout(&out).contains(needle), "{command}: {}", stdout(&out));
        assert!(out.stderr.is_empty(), "{command}");
    }
    // The help of run and replay is made from the table: every entry is in it,
    // with its description.
    let run = stdout(&descent(&["run", "--help"]));
    for o in table::OPTIMIZERS
        .iter()
        .filter(|o| o.reach != Reach::Replay)
    {
        assert!(run.contains(o.name) && run.contains(o.about), "{}", o.name);
    }
    for p in table::PROBLEMS {
        assert!(run.contains(p.name) && run.contains(p.about), "{}", p.name);
    }
    let replay = stdout(&descent(&["replay", "--help"]));
    for o in table::OPTIMIZERS.iter().filter(|o| o.reach != Reach::Run) {
        assert!(
            replay.contains(o.name) && replay.contains(o.about),
            "{}",
            o.name
        );
        assert!(replay.contains(&o.flags.join(", ")), "{}", o.name);
    }
}

#[test]
fn usage_errors_exit_2_and_refusals_exit_1() {
    let base = ["run", "--problem", "quadratic", "--steps", "2"];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        descent(&args)
    };
    // Usage errors: clap's own, and what clap cannot check.
    for extra in [
        &["--optimizer", "sgd", "--no_such_flag", "1"][..],
        &["--optimizer", "shampoo"],
        &["--optimizer", "sgd", "--lr", "fast"],
        &["--optimizer", "sgd", "--cond", "10", "--cond", "20"],
        &["--optimizer", "sgd", "--classes", "3"],
        &["--optimizer", "sgd", "--format", "xml"],
        &[],
    ] {
        let out = with(extra);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{extra:?}");
    }
    assert_eq!(descent(&["frobnicate"]).status.code(), Some(2));
    // Refused requests: a value outside its range, a refused step, a budget.
    for extra in [
        &["--optimizer", "sgd", "--lr", "-1"][..],
        &["--optimizer", "adam", "--betas", "0.9,1.5"],
        &["--optimizer", "sgd", "--cond", "0.5"],
        &["--optimizer", "sgd", "--lr", "1e308"],
    ] {
        let out = with(extra);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{extra:?}");
    }
    let out = descent(&[
        "run",
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
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("2^24"), "{}", stderr(&out));
    // The output cap applies to the single JSON document only.
    let huge = ["run", "--optimizer", "sgd", "--problem", "quadratic"];
    let out = descent(
        &[
            &huge[..],
            &["--steps", "18446744073709551615", "--format", "json"],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--steps"), "{}", stderr(&out));
}

#[test]
fn run_streams_each_step_as_a_line() {
    let args = [
        "run",
        "--optimizer",
        "adam",
        "--problem",
        "rosenbrock",
        "--steps",
        "5",
    ];
    let jsonl = descent(&args);
    assert_eq!(jsonl.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = stdout(&jsonl)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON object"))
        .collect();
    assert_eq!(lines.len(), 6);
    for (k, line) in lines.iter().enumerate() {
        assert_eq!(line["step"], k);
        assert_eq!(line["params"].as_array().map(Vec::len), Some(2));
    }
    // The same steps as the single document and as CSV rows.
    let json = descent(&[&args[..], &["--format", "json"]].concat());
    let doc: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("one document");
    assert_eq!(doc["steps"].as_array().expect("steps"), &lines);
    let csv = stdout(&descent(&[&args[..], &["--format", "csv"]].concat()));
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "step,loss,grad_norm,x0,x1");
    assert_eq!(rows.len(), 7);
    assert!(rows[6].starts_with("5,"));
}

/// A run with no practical end prints its first step at once: read one line,
/// close the pipe, and the process stops quietly (status 0, no panic, nothing
/// on stderr) instead of running on or keeping its records.
#[test]
fn closing_the_pipe_stops_a_streaming_run_quietly() {
    for format in ["jsonl", "csv"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_descent"))
            .args([
                "run",
                "--optimizer",
                "sgd",
                "--problem",
                "quadratic",
                "--steps",
                "18446744073709551615",
                "--format",
                format,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn descent");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        reader.read_line(&mut first).expect("a first line");
        assert!(first.starts_with(if format == "csv" { "step," } else { "{" }));
        drop(reader);
        let status = child.wait().expect("the process ends");
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("read stderr");
        assert_eq!(status.code(), Some(0), "{format}: {err}");
        assert_eq!(err, "", "{format}");
    }
}

/// `descent run … 2>&1 | head -1` and `descent … | head -1`: the shell's own
/// pipe, with stderr closed too, ends quietly.
#[test]
fn head_dash_1_through_the_shell_is_quiet() {
    let bin = env!("CARGO_BIN_EXE_descent");
    for command in [
        format!("{bin} run --optimizer sgd --problem quadratic --steps 100000 2>&1 | head -1"),
        format!("{bin} run --help | head -1"),
        format!(
            "{bin} run --optimizer sgd --problem quadratic --steps 100000 --format csv | head -1"
        ),
    ] {
        let out = Command::new("bash")
            .args([
                "-c",
                &format!("{command}; echo \"status=${{PIPESTATUS[0]}}\""),
            ])
            .output()
            .expect("bash runs");
        let text = stdout(&out);
        assert!(!text.contains("panicked"), "{command}: {text}");
        assert_eq!(text.lines().count(), 2, "{command}: {text}");
        assert!(text.ends_with("status=0\n"), "{command}: {text}");
    }
}

/// The table, `replay`'s lists and `run`'s lists agree.
#[test]
fn the_table_is_the_one_list() {
    let replay: Vec<&str> = table::OPTIMIZERS
        .iter()
        .filter(|o| o.reach != Reach::Run)
        .map(|o| o.name)
        .collect();
    assert_eq!(replay, descent::replay::OPTIMIZERS);
    for o in table::OPTIMIZERS {
        let keys = descent::replay::keys(o.name);
        match o.reach {
            Reach::Run => assert_eq!(keys, None, "{}", o.name),
            _ => assert_eq!(keys, Some(o.flags), "{}", o.name),
        }
    }
    let run: Vec<&str> = table::OPTIMIZERS
        .iter()
        .filter(|o| o.reach != Reach::Replay)
        .map(|o| o.name)
        .collect();
    assert_eq!(run, descent::run::OPTIMIZERS);
    let problems: Vec<&str> = table::PROBLEMS.iter().map(|p| p.name).collect();
    assert_eq!(problems, descent::run::PROBLEMS);
    // Each optimizer's entry is unique.
    for (i, o) in table::OPTIMIZERS.iter().enumerate() {
        assert!(
            table::OPTIMIZERS[..i].iter().all(|p| p.name != o.name),
            "{}",
            o.name
        );
    }
}
