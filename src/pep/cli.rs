//! `descent pep`: argument parsing and the JSON answer.
//!
//! ```text
//! descent pep --method gd|heavy-ball|nesterov|ogm --L L [--mu MU] --steps N
//!             [--step-size H] [--momentum B] [--measure f|grad|dist] [--format json]
//! ```
//!
//! [`run`] takes the arguments after `pep` and returns the JSON to print, or a
//! [`CliError`]: a usage error (an unknown flag or method, a missing or unreadable
//! value; exit code 2) or a refused request (a value outside its range, or a
//! solver that did not reach an optimal solution; exit code 1).

use std::fmt;

use serde_json::{Value, json};

use super::class::FunctionClass;
use super::measure::Measure;
use super::method::{Method, NesterovMomentum};
use super::solve::worst_case;

/// The help text of `descent pep`.
pub const USAGE: &str = "\
descent pep: the exact worst case of a first-order method, by performance estimation

usage:
  descent pep --method gd|heavy-ball|nesterov|ogm --L L [--mu MU] --steps N
              [--step-size H] [--momentum B] [--measure f|grad|dist] [--format json]
  descent pep --help

Maximizes the measure at x_N over every L-smooth, MU-strongly convex function and
every start with |x_0 - x*| <= 1, as a semidefinite program (Clarabel).

  --method M      gd          x+ = x - (H/L) grad f(x)              H in (0, 2), default 1
                  heavy-ball  x+ = x - (H/L) grad f(x) + B (x - x-)  B in [0, 1),
                              H in (0, 2(1+B)); default (MU > 0): the step and momentum
                              optimal on quadratics; with MU = 0 give both
                  nesterov    y = x + B_k (x - x-), x+ = y - (H/L) grad f(y)   H in (0, 1],
                              default 1; B_k: --momentum B if given, else
                              (sqrt(L/MU)-1)/(sqrt(L/MU)+1) (MU > 0) or the t_k schedule (MU = 0)
                  ogm         the optimized gradient method (Kim and Fessler), step 1/L
  --L L           smoothness, L > 0
  --mu MU         strong convexity, 0 <= MU < L (default 0)
  --steps N       number of steps, 1 <= N <= 32
  --measure M     f: f(x_N) - f* (default);  grad: |grad f(x_N)|^2;  dist: |x_N - x*|^2
  --format json   the only format: {\"worst_case\": .., \"status\": \"Solved\", \"measure\": ..,
                  \"method\": .., \"L\": .., \"mu\": .., \"steps\": .., \"step_size\": ..,
                  \"momentum\": .., \"R\": 1, \"accuracy\": .., \"dual_bound\": ..}

Exit codes: 0 solved; 1 a value out of range, or the solver did not reach an
optimal solution (its status is printed, no number); 2 a usage error.";

const FLAGS: &[&str] = &[
    "method",
    "L",
    "mu",
    "steps",
    "step-size",
    "momentum",
    "measure",
    "format",
];

/// Why `descent pep` printed no worst case.
#[derive(Clone, Debug, PartialEq)]
pub enum CliError {
    /// The command line is malformed: exit code 2.
    Usage(String),
    /// A value is out of range, or the solver failed: exit code 1.
    Refused(String),
}

impl CliError {
    /// The process exit code: 2 for a usage error, 1 for a refused request.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Refused(_) => 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Refused(m) => f.write_str(m),
        }
    }
}

fn usage(m: String) -> CliError {
    CliError::Usage(m)
}

/// Runs `descent pep` on the arguments after `pep`: the JSON answer, or the
/// error. `--help` returns [`USAGE`].
pub fn run(args: &[String]) -> Result<String, CliError> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(USAGE.to_string());
    }
    let flags = parse_flags(args)?;
    let get = |name: &str| {
        flags
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let number = |name: &str| -> Result<Option<f64>, CliError> {
        get(name)
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .map_err(|_| usage(format!("--{name}: expected a number, got {v:?}")))
            })
            .transpose()
    };

    let method_name = get("method")
        .ok_or_else(|| usage("--method: missing (gd, heavy-ball, nesterov, ogm)".into()))?;
    let l = number("L")?.ok_or_else(|| usage("--L: missing (the smoothness, L > 0)".into()))?;
    let mu = number("mu")?.unwrap_or(0.0);
    let steps_text = get("steps")
        .ok_or_else(|| usage("--steps: missing (the number of steps, N >= 1)".into()))?;
    let steps: usize = steps_text.trim().parse().map_err(|_| {
        usage(format!(
            "--steps: expected a non-negative whole number, got {steps_text:?}"
        ))
    })?;
    let measure = match get("measure") {
        None | Some("f") => Measure::FunctionValue,
        Some("grad") => Measure::GradientNorm,
        Some("dist") => Measure::Distance,
        Some(other) => {
            return Err(usage(format!(
                "--measure: unknown measure {other:?} (expected f, grad or dist)"
            )));
        }
    };
    match get("format") {
        None | Some("json") => {}
        Some(other) => {
            return Err(usage(format!(
                "--format: unknown format {other:?} (expected json)"
            )));
        }
    }
    let h = number("step-size")?;
    let beta = number("momentum")?;

    let class = FunctionClass::new(l, mu).map_err(|e| CliError::Refused(e.to_string()))?;
    let refuse_flag = |flag: &str, method: &str| {
        Err(usage(format!(
            "--{flag}: not a parameter of --method {method}"
        )))
    };
    let method = match method_name {
        "gd" => {
            if beta.is_some() {
                return refuse_flag("momentum", "gd");
            }
            Method::Gd {
                h: h.unwrap_or(1.0),
            }
        }
        "heavy-ball" => match (h, beta) {
            (Some(h), Some(beta)) => Method::HeavyBall { h, beta },
            _ if class.mu() == 0.0 => {
                return Err(usage(
                    "--step-size and --momentum: heavy-ball with --mu 0 needs both (the \
                     quadratic-optimal defaults degenerate to H = 4, B = 1)"
                        .into(),
                ));
            }
            (h_given, beta_given) => {
                let Method::HeavyBall { h, beta } = Method::heavy_ball_quadratic_optimal(&class)
                    .map_err(|e| CliError::Refused(e.to_string()))?
                else {
                    return Err(CliError::Refused("heavy-ball defaults unavailable".into()));
                };
                Method::HeavyBall {
                    h: h_given.unwrap_or(h),
                    beta: beta_given.unwrap_or(beta),
                }
            }
        },
        "nesterov" => {
            let default = Method::nesterov_for(&class);
            let momentum = match (beta, default) {
                (Some(b), _) => NesterovMomentum::Constant(b),
                (None, Method::Nesterov { momentum, .. }) => momentum,
                (None, _) => NesterovMomentum::Tk,
            };
            Method::Nesterov {
                h: h.unwrap_or(1.0),
                momentum,
            }
        }
        "ogm" => {
            if h.is_some() {
                return refuse_flag("step-size", "ogm");
            }
            if beta.is_some() {
                return refuse_flag("momentum", "ogm");
            }
            Method::Ogm
        }
        other => {
            return Err(usage(format!(
                "--method: unknown method {other:?} (expected gd, heavy-ball, nesterov or ogm)"
            )));
        }
    };

    let wc = worst_case(&class, &method, steps, measure)
        .map_err(|e| CliError::Refused(e.to_string()))?;
    let (step_size, momentum): (Value, Value) = match method {
        Method::Gd { h } => (json!(h), Value::Null),
        Method::HeavyBall { h, beta } => (json!(h), json!(beta)),
        Method::Nesterov { h, momentum } => (
            json!(h),
            match momentum {
                NesterovMomentum::Constant(b) => json!(b),
                NesterovMomentum::Tk => json!("t_k"),
            },
        ),
        Method::Ogm => (json!(1.0), Value::Null),
    };
    let out = json!({
        "worst_case": wc.value,
        "status": wc.status,
        "measure": measure.name(),
        "method": method.name(),
        "L": l,
        "mu": mu,
        "steps": steps,
        "step_size": step_size,
        "momentum": momentum,
        "R": 1.0,
        "accuracy": wc.accuracy,
        "dual_bound": wc.dual_value,
    });
    Ok(out.to_string())
}

/// `--name value` or `--name=value` pairs; every flag takes a value, appears at
/// most once, and is one of [`FLAGS`].
fn parse_flags(args: &[String]) -> Result<Vec<(String, String)>, CliError> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let Some(body) = arg.strip_prefix("--") else {
            return Err(usage(format!(
                "unexpected argument {arg:?} (flags are --name value)"
            )));
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => {
                let v = it
                    .next()
                    .ok_or_else(|| usage(format!("--{body}: missing value")))?;
                (body.to_string(), v.clone())
            }
        };
        if !FLAGS.contains(&name.as_str()) {
            return Err(usage(format!(
                "--{name}: unknown flag (expected one of --{})",
                FLAGS.join(", --")
            )));
        }
        if out.iter().any(|(k, _)| *k == name) {
            return Err(usage(format!("--{name}: given twice")));
        }
        out.push((name, value));
    }
    Ok(out)
}
