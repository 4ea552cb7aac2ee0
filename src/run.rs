//! `descent run`: run an optimizer on a deterministic problem with exact
//! derivatives and report every iterate.
//!
//! ```text
//! descent run --optimizer newton --problem rosenbrock --x0=-1.5,2 --steps 50 --format json
//! ```
//!
//! [`execute`] takes the flags after `run` (the command line parses them with
//! clap, from the table in `crate::cli::table`, which also makes
//! `descent run --help`) and writes each step as it is taken, or returns a
//! [`RunError`] naming the flag at fault.
//!
//! First-order optimizers take the hyperparameter flags that `descent replay`
//! takes as `hyper` keys ([`crate::replay::keys`]), and are driven through
//! [`crate::replay::build`] itself, so that `run` and `replay` cannot disagree.
//!
//! The problems are plain objectives (quadratic, Rosenbrock, log-cosh) and
//! probabilistic models on seeded data ([`MODEL_PROBLEMS`]: logistic and softmax
//! regression, least squares, a Gaussian in two parametrizations). Every
//! optimizer runs on every problem, except `natural`, which needs the model's
//! Fisher matrix and so runs on the models only; on a plain objective it is
//! refused with a message that lists the models.

use std::io::Write;

use nalgebra::{DMatrix, DVector};
use num_dual::DualNum;
use serde_json::{Map, Value};

use crate::HyperError;
use crate::optim::Optimizer;
use crate::problems::Objective;
use crate::problems::gaussian::{GaussianData, GaussianMeanLogStd, GaussianMeanStd};
use crate::problems::logcosh::LogCosh;
use crate::problems::quadratic::{ProblemError, Quadratic};
use crate::problems::regression::{
    DataError, LeastSquares, LogisticRegression, MAX_ENTRIES, SoftmaxRegression,
};
use crate::problems::rosenbrock::Rosenbrock;
use crate::replay::ReplayError;
use crate::second_order::diagonal::{
    BeckerLeCun, BeckerLeCunConfig, SecantConfig, SecantDiagonal, Vsgd, VsgdConfig, VsgdCurvature,
};
use crate::second_order::lbfgs::{Lbfgs, LbfgsConfig, LineSearch};
use crate::second_order::natural::{NaturalGradient, NaturalGradientConfig};
use crate::second_order::newton::{Armijo, Damping, Newton, NewtonConfig, euclidean_norm};

/// Why `run` stopped. [`RunError::exit_code`] is the command's exit status.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A usage error: an unknown optimizer, problem or flag, a flag the chosen
    /// optimizer or problem does not take, a value of the wrong kind (a word
    /// where a number goes), a list of the wrong length.
    #[error("{0}")]
    Usage(String),
    /// A refused request: a value outside its valid range, a problem over the
    /// memory budget, too many steps for `--format json`, a refused step, a
    /// loss that left its domain.
    #[error("{0}")]
    Refused(String),
    /// The output could not be written (a closed pipe, a full disk).
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

impl RunError {
    /// The exit status: 2 for a usage error, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Usage(_) => 2,
            RunError::Refused(_) | RunError::Output(_) => 1,
        }
    }
}

/// A message of a flag parser: a usage error.
impl From<String> for RunError {
    fn from(m: String) -> Self {
        RunError::Usage(m)
    }
}

/// The optimizers `run` knows: the first-order ones of `replay`, then the
/// second-order ones.
pub const OPTIMIZERS: [&str; 13] = [
    "sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "rprop", "newton", "diagonal",
    "secant", "vsgd", "natural", "lbfgs",
];

/// The problems `run` knows: plain objectives, then the probabilistic models of
/// [`MODEL_PROBLEMS`].
pub const PROBLEMS: [&str; 8] = [
    "quadratic",
    "rosenbrock",
    "logcosh",
    "logistic",
    "softmax",
    "least_squares",
    "gaussian",
    "gaussian_std",
];

/// The problems that are probabilistic models with an exact Fisher matrix
/// ([`crate::second_order::natural::Model`]): the only ones `natural` accepts.
pub const MODEL_PROBLEMS: [&str; 5] = [
    "logistic",
    "softmax",
    "least_squares",
    "gaussian",
    "gaussian_std",
];

/// The most entries the exact derivatives of one evaluation may need. `run`
/// differentiates in forward mode: the gradient carries one derivative vector of
/// `dim` entries per parameter, `dim^2` entries in all, and the Hessian and the
/// Fisher matrix are `dim x dim` too. A problem with `dim^2` above this budget
/// (2^24 entries of 8 bytes, 128 MiB: `dim <= 4096`) is refused before anything
/// is allocated, with a message naming the flags that set `dim`.
pub const MAX_DERIVATIVE_ENTRIES: u128 = 1 << 24;

/// The most numbers `run` may print: a run of `steps` steps on a problem of
/// dimension `dim` prints `(steps + 1) (dim + 2)` numbers (each step's loss,
/// gradient norm and parameters, step 0 included), all of them kept until the
/// end. A larger `--steps` is refused before the first step.
pub const MAX_OUTPUT_NUMBERS: u128 = 1 << 22;

/// Refuses a problem of dimension `dim`, set by `flags`, whose exact derivatives
/// would need more than [`MAX_DERIVATIVE_ENTRIES`].
fn check_dim(dim: u128, flags: &str) -> Result<(), RunError> {
    let entries = dim.saturating_mul(dim);
    if entries <= MAX_DERIVATIVE_ENTRIES {
        Ok(())
    } else {
        Err(RunError::Refused(format!(
            "{flags}: the problem would have dim = {dim} parameters, and its exact \
             derivatives need dim^2 = {entries} entries, more than run's budget of \
             2^24 entries (128 MiB); dim must be <= 4096"
        )))
    }
}

/// Refuses a `--steps` that would print more than [`MAX_OUTPUT_NUMBERS`].
fn check_steps(steps: u64, dim: usize) -> Result<(), RunError> {
    let per_step = dim as u128 + 2;
    let numbers = (u128::from(steps) + 1).saturating_mul(per_step);
    if numbers <= MAX_OUTPUT_NUMBERS {
        Ok(())
    } else {
        Err(RunError::Refused(format!(
            "--steps: {steps} steps of a problem with dim = {dim} would print \
             (steps + 1) (dim + 2) = {numbers} numbers with --format json, more than \
             run's budget of 2^22; take --steps <= {}, or stream with --format jsonl or csv",
            (MAX_OUTPUT_NUMBERS / per_step).saturating_sub(1)
        )))
    }
}

/// Problems of the crate that `run` recognizes but refuses, with the reason.
const REFUSED_PROBLEMS: [(&str, &str); 2] = [
    (
        "reddi",
        "the online problem of Reddi, Kale and Kumar changes with the step t; run drives only \
         fixed objectives (use descent::problems::online::ReddiOnline from the library)",
    ),
    (
        "minibatch_sign",
        "Hinton's minibatch example is a gradient sequence, not an objective; feed it to \
         `descent replay` instead",
    ),
];

/// The common flags.
const COMMON_FLAGS: [&str; 5] = ["optimizer", "problem", "x0", "steps", "format"];

/// The seed of the fixed 2-D quadratic.
const QUADRATIC_SEED: u64 = 2024;

/// The defaults of the data generators: those of the problems' `Default`
/// implementations (seed 1, 64 examples, 3 features, 3 classes, noise 0.5, data
/// N(1, 2^2)).
const DATA_SEED: u64 = 1;
const DATA_N: usize = 64;
const DATA_D: usize = 3;
const DATA_CLASSES: usize = 3;
const DATA_NOISE: f64 = 0.5;
const DATA_MEAN: f64 = 1.0;
const DATA_STD: f64 = 2.0;

/// The problems `run` can drive: fixed objectives with exact derivatives.
enum Problem {
    Quadratic(Quadratic),
    Rosenbrock(Rosenbrock),
    LogCosh(LogCosh),
    Logistic(LogisticRegression),
    Softmax(SoftmaxRegression),
    LeastSquares(LeastSquares),
    /// `(mu, log sigma)`.
    Gaussian(GaussianMeanLogStd),
    /// `(mu, sigma)`.
    GaussianStd(GaussianMeanStd),
}

impl Objective for Problem {
    fn dim(&self) -> usize {
        match self {
            Problem::Quadratic(p) => p.dim(),
            Problem::Rosenbrock(p) => p.dim(),
            Problem::LogCosh(p) => p.dim(),
            Problem::Logistic(p) => p.dim(),
            Problem::Softmax(p) => p.dim(),
            Problem::LeastSquares(p) => p.dim(),
            Problem::Gaussian(p) => p.dim(),
            Problem::GaussianStd(p) => p.dim(),
        }
    }

    fn eval<D: DualNum<Primitive = f64>>(&self, x: &DVector<D>) -> D {
        #[cfg(test)]
        tests::count_evaluation();
        match self {
            Problem::Quadratic(p) => p.eval(x),
            Problem::Rosenbrock(p) => p.eval(x),
            Problem::LogCosh(p) => p.eval(x),
            Problem::Logistic(p) => p.eval(x),
            Problem::Softmax(p) => p.eval(x),
            Problem::LeastSquares(p) => p.eval(x),
            Problem::Gaussian(p) => p.eval(x),
            Problem::GaussianStd(p) => p.eval(x),
        }
    }

    // The derivatives are forwarded too, not left to the trait's defaults over
    // `eval`: a problem that computes them faster (`LogCosh`'s diagonal Hessian)
    // keeps its own way.
    fn value_gradient(&self, x: &DVector<f64>) -> (f64, DVector<f64>) {
        #[cfg(test)]
        tests::count_evaluation();
        match self {
            Problem::Quadratic(p) => p.value_gradient(x),
            Problem::Rosenbrock(p) => p.value_gradient(x),
            Problem::LogCosh(p) => p.value_gradient(x),
            Problem::Logistic(p) => p.value_gradient(x),
            Problem::Softmax(p) => p.value_gradient(x),
            Problem::LeastSquares(p) => p.value_gradient(x),
            Problem::Gaussian(p) => p.value_gradient(x),
            Problem::GaussianStd(p) => p.value_gradient(x),
        }
    }

    fn value_gradient_hessian(&self, x: &DVector<f64>) -> (f64, DVector<f64>, DMatrix<f64>) {
        #[cfg(test)]
        tests::count_evaluation();
        match self {
            Problem::Quadratic(p) => p.value_gradient_hessian(x),
            Problem::Rosenbrock(p) => p.value_gradient_hessian(x),
            Problem::LogCosh(p) => p.value_gradient_hessian(x),
            Problem::Logistic(p) => p.value_gradient_hessian(x),
            Problem::Softmax(p) => p.value_gradient_hessian(x),
            Problem::LeastSquares(p) => p.value_gradient_hessian(x),
            Problem::Gaussian(p) => p.value_gradient_hessian(x),
            Problem::GaussianStd(p) => p.value_gradient_hessian(x),
        }
    }
}

/// Why `natural` refuses a problem that is not a probabilistic model.
fn natural_refusal(problem: &str) -> String {
    format!(
        "--optimizer: natural needs a probabilistic model with a Fisher matrix \
         (--problem {}); {problem} is a plain objective",
        MODEL_PROBLEMS.join(", ")
    )
}

/// The flags of each problem (from the command line's table).
fn problem_flags(problem: &str) -> &'static [&'static str] {
    crate::cli::table::problem(problem).map_or(&[], |p| p.flags)
}

/// The flags of each second-order optimizer, from the command line's table
/// (first-order ones use [`crate::replay::keys`], checked equal to the table by
/// `tests/cli.rs`).
fn second_order_flags(optimizer: &str) -> Option<&'static [&'static str]> {
    crate::cli::table::optimizer(optimizer)
        .filter(|o| o.reach == crate::cli::table::Reach::Run)
        .map(|o| o.flags)
}

/// Parsed flags, in the order given.
struct Flags(Vec<(String, String)>);

impl Flags {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn float(&self, name: &str, default: f64) -> Result<f64, String> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => parse_float(name, v),
        }
    }

    fn flag(&self, name: &str, default: bool) -> Result<bool, String> {
        match self.get(name) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(v) => Err(format!("--{name}: expected true or false, got {v:?}")),
        }
    }

    /// A whole number (a seed, a count); range checks are the generator's.
    fn whole(&self, name: &str, default: u64) -> Result<u64, String> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| format!("--{name}: expected a non-negative whole number, got {v:?}")),
        }
    }

    /// A count that must fit in `usize`.
    fn count(&self, name: &str, default: usize) -> Result<usize, String> {
        let v = self.whole(name, default as u64)?;
        usize::try_from(v)
            .map_err(|_| format!("--{name}: {v} does not fit in this platform's usize"))
    }

    fn list(&self, name: &str) -> Result<Option<Vec<f64>>, String> {
        self.get(name).map(|v| parse_list(name, v)).transpose()
    }
}

fn parse_float(name: &str, v: &str) -> Result<f64, String> {
    match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!("--{name}: expected a finite number, got {v:?}")),
    }
}

fn parse_list(name: &str, v: &str) -> Result<Vec<f64>, String> {
    v.split(',')
        .enumerate()
        .map(|(k, item)| {
            item.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("--{name}: entry {k} ({item:?}) is not a finite number"))
        })
        .collect()
}

/// A flag value as a JSON `hyper` value: `true`/`false`, a comma-separated
/// list of numbers, a number, or else the text itself. `replay` checks the type
/// each key needs and names the key when it is wrong.
fn hyper_value(name: &str, v: &str) -> Result<Value, String> {
    match v {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if v.contains(',') {
        let items = parse_list(name, v)?;
        return Ok(Value::Array(items.into_iter().map(number).collect()));
    }
    Ok(match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => number(x),
        Ok(_) => return Err(format!("--{name}: expected a finite number, got {v:?}")),
        Err(_) => Value::String(v.to_string()),
    })
}

fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// A finite `f64` as the shortest text that reads back to the same value.
fn text(x: f64) -> String {
    serde_json::to_string(&x).unwrap_or_else(|_| "null".into())
}

/// The flag that set a parameter, when the library's name for it differs.
fn flag_of(param: &str) -> &str {
    match param {
        "step" => "lr",
        "damping.lambda0" => "damping",
        "noise_std" => "noise",
        other => other,
    }
}

/// A library's refusal of a parameter, prefixed with the flag that set it; the
/// library's own message (who, parameter, value, valid range) follows unchanged.
fn flag_message(e: &HyperError) -> RunError {
    RunError::Refused(format!("--{}: {e}", flag_of(e.param)))
}

/// A problem constructor's refusal, prefixed with the flag at fault (the
/// dimension `n` of a problem is the length of `--x0`).
fn problem_message(e: &ProblemError) -> RunError {
    match e {
        ProblemError::Invalid(h) if h.param == "n" => RunError::Refused(format!("--x0: {e}")),
        ProblemError::Invalid(h) => flag_message(h),
        ProblemError::LengthMismatch { param, .. } => RunError::Usage(format!("--{param}: {e}")),
        other => RunError::Refused(format!("--problem: {other}")),
    }
}

/// Refuses an `x0` of the wrong length for a problem of fixed dimension.
fn check_x0(x0: &[f64], expected: usize, what: &str) -> Result<(), RunError> {
    if x0.len() == expected {
        Ok(())
    } else {
        Err(RunError::Usage(format!(
            "--x0: has {} entries; {what} needs {expected}",
            x0.len()
        )))
    }
}

/// Builds the problem and its start.
fn build_problem(name: &str, flags: &Flags) -> Result<(Problem, DVector<f64>), RunError> {
    let x0 = flags.list("x0")?;
    let default = |v: &[f64]| x0.clone().unwrap_or_else(|| v.to_vec());
    let (problem, x0) = match name {
        "quadratic" => {
            let x0 = default(&[1.0, 1.0]);
            if x0.len() != 2 {
                return Err(RunError::Usage(format!(
                    "--x0: has {} entries; the quadratic is 2-D",
                    x0.len()
                )));
            }
            let cond = flags.float("cond", 100.0)?;
            let q = Quadratic::ill_conditioned(2, cond, QUADRATIC_SEED)
                .map_err(|e| problem_message(&e))?;
            (Problem::Quadratic(q), x0)
        }
        "rosenbrock" => {
            let x0 = default(&[-1.5, 2.0]);
            check_dim(x0.len() as u128, "--x0")?;
            let r = Rosenbrock::new(flags.float("a", 1.0)?, flags.float("b", 100.0)?, x0.len())
                .map_err(|e| problem_message(&e))?;
            (Problem::Rosenbrock(r), x0)
        }
        "logcosh" => {
            let x0 = default(&[3.0, -2.0]);
            check_dim(x0.len() as u128, "--x0")?;
            let c = flags.list("c")?.unwrap_or_else(|| vec![1.0; x0.len()]);
            if c.len() != x0.len() {
                return Err(RunError::Usage(format!(
                    "--c: has {} entries, x0 has {}",
                    c.len(),
                    x0.len()
                )));
            }
            let l = LogCosh::new(flags.float("m", 1.0)?, DVector::from_vec(c))
                .map_err(|e| problem_message(&e))?;
            (Problem::LogCosh(l), x0)
        }
        "logistic" | "softmax" | "least_squares" => {
            let seed = flags.whole("seed", DATA_SEED)?;
            let n = flags.count("n", DATA_N)?;
            let d = flags.count("d", DATA_D)?;
            let classes = if name == "softmax" {
                flags.count("classes", DATA_CLASSES)?
            } else {
                DATA_CLASSES
            };
            if name == "softmax" {
                check_dim(classes as u128 * d as u128, "--classes and --d")?;
            } else {
                check_dim(d as u128, "--d")?;
            }
            // The generators check n * d and (softmax) classes * d under one
            // name, "n * d"; tell the two apart to name the right flags.
            let data_error = |e: DataError| {
                if e.param != "n * d" {
                    flag_message(&e)
                } else if n.checked_mul(d).is_some_and(|e| e <= MAX_ENTRIES) {
                    RunError::Refused(format!(
                        "--classes and --d: classes * d = {classes} * {d} is outside its valid \
                         range classes * d <= 2^24"
                    ))
                } else {
                    RunError::Refused(format!(
                        "--n and --d: n * d = {n} * {d} is outside its valid range n * d <= 2^24"
                    ))
                }
            };
            let (problem, what) = match name {
                "logistic" => (
                    Problem::Logistic(
                        LogisticRegression::generate(seed, n, d).map_err(data_error)?,
                    ),
                    format!("logistic with --d {d}"),
                ),
                "softmax" => (
                    Problem::Softmax(
                        SoftmaxRegression::generate(seed, n, d, classes).map_err(data_error)?,
                    ),
                    format!("softmax with --classes {classes} and --d {d} (classes * d)"),
                ),
                _ => {
                    let noise = flags.float("noise", DATA_NOISE)?;
                    (
                        Problem::LeastSquares(
                            LeastSquares::generate(seed, n, d, noise).map_err(data_error)?,
                        ),
                        format!("least_squares with --d {d}"),
                    )
                }
            };
            let dim = problem.dim();
            let x0 = default(&vec![0.0; dim]);
            check_x0(&x0, dim, &what)?;
            (problem, x0)
        }
        "gaussian" | "gaussian_std" => {
            let data = GaussianData::generate(
                flags.whole("seed", DATA_SEED)?,
                flags.count("n", DATA_N)?,
                flags.float("mean", DATA_MEAN)?,
                flags.float("std", DATA_STD)?,
            )
            .map_err(|e| flag_message(&e))?;
            if name == "gaussian" {
                let x0 = default(&[0.0, 0.0]);
                check_x0(&x0, 2, "gaussian (mu, log sigma)")?;
                (Problem::Gaussian(GaussianMeanLogStd::new(data)), x0)
            } else {
                let x0 = default(&[0.0, 1.0]);
                check_x0(&x0, 2, "gaussian_std (mu, sigma)")?;
                if x0[1] <= 0.0 {
                    return Err(RunError::Refused(format!(
                        "--x0: sigma = {} is outside its valid range (0, inf) for gaussian_std",
                        text(x0[1])
                    )));
                }
                (Problem::GaussianStd(GaussianMeanStd::new(data)), x0)
            }
        }
        _ => {
            if let Some((_, why)) = REFUSED_PROBLEMS.iter().find(|(n, _)| *n == name) {
                return Err(RunError::Usage(format!(
                    "--problem: {name} is not runnable: {why}"
                )));
            }
            return Err(RunError::Usage(format!(
                "--problem: unknown problem {name:?} (expected one of {})",
                PROBLEMS.join(", ")
            )));
        }
    };
    Ok((problem, DVector::from_vec(x0)))
}

/// `replay`'s error in terms of `run`'s flags: a `hyper.<key>` field is the
/// flag `--<key>`; a refused step is reported as the step error alone (the
/// caller adds the step).
fn replay_message(e: ReplayError) -> RunError {
    let flag = |field: &str, message: &str| match field.strip_prefix("hyper.") {
        Some(key) => format!("--{key}: {message}"),
        None => format!("{field}: {message}"),
    };
    match e {
        ReplayError::Request { field, message } => RunError::Usage(flag(&field, &message)),
        ReplayError::Invalid { field, message, .. } => RunError::Refused(flag(&field, &message)),
        ReplayError::Step { error, .. } => RunError::Refused(error.to_string()),
        other => RunError::Refused(other.to_string()),
    }
}

/// An optimizer `run` can drive.
enum Method {
    FirstOrder(Box<dyn Optimizer>),
    Newton(Newton),
    Diagonal(BeckerLeCun),
    Secant(SecantDiagonal),
    Vsgd(Vsgd),
    Natural(NaturalGradient),
    Lbfgs(Lbfgs),
}

impl Method {
    /// One step from `x`, whose gradient `g` the caller has already computed (for
    /// the record of `x`): methods that need only the gradient use it, so each
    /// gradient is evaluated once per step.
    fn step(&mut self, f: &Problem, x: &mut DVector<f64>, g: &DVector<f64>) -> Result<(), String> {
        match self {
            Method::FirstOrder(d) => d.step(x, g).map_err(|e| e.to_string()),
            Method::Newton(n) => n.step(f, x).map(|_| ()).map_err(|e| e.to_string()),
            Method::Diagonal(d) => d.step(f, x).map_err(|e| e.to_string()),
            Method::Secant(s) => s.step(x, g).map_err(|e| e.to_string()),
            Method::Vsgd(v) => v.step(f, x).map_err(|e| e.to_string()),
            Method::Lbfgs(l) => l.step(f, x).map(|_| ()).map_err(|e| e.to_string()),
            Method::Natural(n) => match f {
                Problem::Logistic(p) => n.step(p, x),
                Problem::Softmax(p) => n.step(p, x),
                Problem::LeastSquares(p) => n.step(p, x),
                Problem::Gaussian(p) => n.step(p, x),
                Problem::GaussianStd(p) => n.step(p, x),
                Problem::Quadratic(_) => return Err(natural_refusal("quadratic")),
                Problem::Rosenbrock(_) => return Err(natural_refusal("rosenbrock")),
                Problem::LogCosh(_) => return Err(natural_refusal("logcosh")),
            }
            .map_err(|e| e.to_string()),
        }
    }
}

fn build_method(name: &str, flags: &Flags) -> Result<Method, RunError> {
    if let Some(keys) = crate::replay::keys(name) {
        let mut hyper = Map::new();
        for key in keys {
            if let Some(v) = flags.get(key) {
                hyper.insert((*key).to_string(), hyper_value(key, v)?);
            }
        }
        return crate::replay::build(name, &hyper)
            .map(Method::FirstOrder)
            .map_err(replay_message);
    }
    let hm = |e: HyperError| flag_message(&e);
    match name {
        "newton" => {
            let damping = match flags.get("damping") {
                Some("none") => Damping::Refuse,
                None => Damping::levenberg_marquardt(),
                Some(v) => {
                    let lambda0 = parse_float("damping", v).map_err(|_| {
                        format!("--damping: expected a number (lambda0) or none, got {v:?}")
                    })?;
                    match Damping::levenberg_marquardt() {
                        Damping::LevenbergMarquardt {
                            factor, max_tries, ..
                        } => Damping::LevenbergMarquardt {
                            lambda0,
                            factor,
                            max_tries,
                        },
                        Damping::Refuse => Damping::Refuse,
                    }
                }
            };
            let line_search = flags.flag("line_search", false)?.then(Armijo::default);
            Newton::new(NewtonConfig {
                step: flags.float("lr", 1.0)?,
                damping,
                line_search,
            })
            .map(Method::Newton)
            .map_err(hm)
        }
        "diagonal" => {
            let d = BeckerLeCunConfig::default();
            BeckerLeCun::new(BeckerLeCunConfig {
                lr: flags.float("lr", d.lr)?,
                mu: flags.float("mu", d.mu)?,
            })
            .map(Method::Diagonal)
            .map_err(hm)
        }
        "secant" => {
            let d = SecantConfig::default();
            SecantDiagonal::new(SecantConfig {
                lr0: flags.float("lr0", d.lr0)?,
                lr: flags.float("lr", d.lr)?,
                mu: flags.float("mu", d.mu)?,
            })
            .map(Method::Secant)
            .map_err(hm)
        }
        "vsgd" => {
            let d = VsgdConfig::default();
            let curvature = match flags.get("curvature") {
                None => d.curvature,
                Some("averaged") => VsgdCurvature::Averaged,
                Some("exact") => VsgdCurvature::Exact,
                Some(v) => {
                    return Err(RunError::Usage(format!(
                        "--curvature: expected averaged or exact, got {v:?}"
                    )));
                }
            };
            Vsgd::new(VsgdConfig {
                tau0: flags.float("tau0", d.tau0)?,
                mu: flags.float("mu", d.mu)?,
                curvature,
            })
            .map(Method::Vsgd)
            .map_err(hm)
        }
        "natural" => {
            let d = NaturalGradientConfig::default();
            NaturalGradient::new(NaturalGradientConfig {
                lr: flags.float("lr", d.lr)?,
                damping: flags.float("damping", d.damping)?,
            })
            .map(Method::Natural)
            .map_err(hm)
        }
        "lbfgs" => {
            let d = LbfgsConfig::default();
            let line_search_fn = match flags.get("line_search_fn") {
                None | Some("none") => LineSearch::None,
                Some("strong_wolfe") => LineSearch::StrongWolfe,
                Some(v) => {
                    return Err(RunError::Usage(format!(
                        "--line_search_fn: expected strong_wolfe or none, got {v:?}"
                    )));
                }
            };
            let max_eval = match flags.get("max_eval") {
                None => None,
                Some(_) => Some(flags.count("max_eval", 0)?),
            };
            Lbfgs::new(LbfgsConfig {
                lr: flags.float("lr", d.lr)?,
                max_iter: flags.count("max_iter", d.max_iter)?,
                max_eval,
                tolerance_grad: flags.float("tolerance_grad", d.tolerance_grad)?,
                tolerance_change: flags.float("tolerance_change", d.tolerance_change)?,
                history_size: flags.count("history_size", d.history_size)?,
                line_search_fn,
                maximize: false,
            })
            .map(Method::Lbfgs)
            .map_err(hm)
        }
        _ => Err(RunError::Usage(format!(
            "--optimizer: unknown optimizer {name:?} (expected one of {})",
            OPTIMIZERS.join(", ")
        ))),
    }
}

/// One recorded iterate.
struct Record {
    loss: f64,
    grad_norm: f64,
    params: Vec<f64>,
}

/// The record of `x` after `step` steps, and the gradient at `x` (which the next
/// step uses).
fn record(f: &Problem, x: &DVector<f64>, step: u64) -> Result<(Record, DVector<f64>), RunError> {
    let (loss, g) = f.value_gradient(x);
    let grad_norm = euclidean_norm(&g);
    if !loss.is_finite() || !grad_norm.is_finite() {
        let at = if step == 0 {
            "at --x0".to_string()
        } else {
            format!("after step {step}")
        };
        if let Problem::GaussianStd(_) = f
            && let Some(&sigma) = x.get(1)
            && (sigma.is_nan() || sigma <= 0.0)
        {
            return Err(RunError::Refused(format!(
                "sigma = x1 = {sigma} left its domain (0, inf) {at}; gaussian_std needs \
                 sigma > 0 (take a smaller --lr, or fit log sigma with --problem gaussian)"
            )));
        }
        return Err(RunError::Refused(format!(
            "the loss or the gradient is not finite {at} (loss = {loss}, |grad| = {grad_norm})"
        )));
    }
    let record = Record {
        loss,
        grad_norm,
        params: x.iter().copied().collect(),
    };
    Ok((record, g))
}

/// The output formats of `run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// One JSON object per step and line, written as the step is taken.
    Jsonl,
    /// A header, then one row per step, written as the step is taken.
    Csv,
    /// One JSON document `{"steps": [..]}`, written at the end.
    Json,
}

/// Runs `descent run` with `flags` (`(flag, value)` pairs without the leading
/// `--`, as the command line gives them) and writes the steps to `out`: with
/// `--format jsonl` (the default) or `csv` each step as soon as it is taken,
/// with `--format json` one document at the end. On a refused step, what was
/// written stays written and the error names the step.
pub fn execute(flags: &[(String, String)], out: &mut dyn Write) -> Result<(), RunError> {
    let flags = Flags(flags.to_vec());
    for (i, (name, _)) in flags.0.iter().enumerate() {
        if flags.0[..i].iter().any(|(n, _)| n == name) {
            return Err(RunError::Usage(format!("--{name}: given more than once")));
        }
    }
    let optimizer = flags.get("optimizer").ok_or_else(|| {
        RunError::Usage(format!(
            "--optimizer: missing (expected one of {})",
            OPTIMIZERS.join(", ")
        ))
    })?;
    let problem_name = flags.get("problem").ok_or_else(|| {
        RunError::Usage(format!(
            "--problem: missing (expected one of {})",
            PROBLEMS.join(", ")
        ))
    })?;
    if !OPTIMIZERS.contains(&optimizer) {
        return Err(RunError::Usage(format!(
            "--optimizer: unknown optimizer {optimizer:?} (expected one of {})",
            OPTIMIZERS.join(", ")
        )));
    }
    let optimizer_flags: &[&str] = crate::replay::keys(optimizer)
        .or_else(|| second_order_flags(optimizer))
        .unwrap_or(&[]);
    let allowed: Vec<&str> = COMMON_FLAGS
        .iter()
        .chain(problem_flags(problem_name))
        .chain(optimizer_flags)
        .copied()
        .collect();
    let steps: u64 = match flags.get("steps") {
        None => 100,
        Some(v) => v.trim().parse().map_err(|_| {
            RunError::Usage(format!(
                "--steps: expected a non-negative whole number, got {v:?}"
            ))
        })?,
    };
    let format = match flags.get("format") {
        None | Some("jsonl") => Format::Jsonl,
        Some("csv") => Format::Csv,
        Some("json") => Format::Json,
        Some(v) => {
            return Err(RunError::Usage(format!(
                "--format: expected jsonl, csv or json, got {v:?}"
            )));
        }
    };
    let (problem, mut x) = build_problem(problem_name, &flags)?;
    if optimizer == "natural" && !MODEL_PROBLEMS.contains(&problem_name) {
        return Err(RunError::Usage(natural_refusal(problem_name)));
    }
    for (name, _) in &flags.0 {
        if !allowed.contains(&name.as_str()) {
            return Err(RunError::Usage(format!(
                "--{name}: unknown flag for optimizer {optimizer} and problem {problem_name} \
                 (expected one of {})",
                allowed
                    .iter()
                    .map(|f| format!("--{f}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    if format == Format::Json {
        // The document is written at the end: its size is bounded up front.
        check_steps(steps, problem.dim())?;
    }
    let mut method = build_method(optimizer, &flags)?;

    let mut records = Vec::new();
    let mut emit = |k: u64, r: Record, out: &mut dyn Write| -> Result<(), RunError> {
        match format {
            Format::Jsonl => writeln!(out, "{}", json_row(k, &r))?,
            Format::Csv => writeln!(out, "{}", csv_row(k, &r))?,
            Format::Json => records.push(r),
        }
        Ok(())
    };
    if format == Format::Csv {
        writeln!(out, "{}", csv_header(problem.dim()))?;
    }
    let (first, mut g) = record(&problem, &x, 0)?;
    emit(0, first, out)?;
    for k in 1..=steps {
        method
            .step(&problem, &mut x, &g)
            .map_err(|m| RunError::Refused(format!("step {k}: {optimizer}: {m}")))?;
        let (next, grad) = record(&problem, &x, k)?;
        emit(k, next, out)?;
        g = grad;
    }
    if format == Format::Json {
        writeln!(out, "{}", render_json(&records))?;
    }
    Ok(())
}

/// One step as a JSON object.
fn json_row(k: u64, r: &Record) -> String {
    let params: Vec<String> = r.params.iter().map(|&p| text(p)).collect();
    format!(
        "{{\"step\": {k}, \"loss\": {}, \"grad_norm\": {}, \"params\": [{}]}}",
        text(r.loss),
        text(r.grad_norm),
        params.join(", ")
    )
}

/// The CSV header for a problem of dimension `dim`.
fn csv_header(dim: usize) -> String {
    let mut out = String::from("step,loss,grad_norm");
    for i in 0..dim {
        out.push_str(&format!(",x{i}"));
    }
    out
}

/// One step as a CSV row.
fn csv_row(k: u64, r: &Record) -> String {
    let mut out = format!("{k},{},{}", text(r.loss), text(r.grad_norm));
    for &p in &r.params {
        out.push(',');
        out.push_str(&text(p));
    }
    out
}

fn render_json(records: &[Record]) -> String {
    let rows: Vec<String> = records
        .iter()
        .enumerate()
        .map(|(k, r)| json_row(k as u64, r))
        .collect();
    format!("{{\"steps\": [{}]}}", rows.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;
    use std::cell::Cell;

    thread_local! {
        /// Evaluations of a `Problem` (value, gradient or Hessian) on this thread.
        static EVALUATIONS: Cell<u64> = const { Cell::new(0) };
    }

    /// Counts one evaluation (called by `Problem`'s methods in test builds).
    pub(super) fn count_evaluation() {
        EVALUATIONS.with(|c| c.set(c.get() + 1));
    }

    /// A first-order `run` of `k` steps evaluates the objective `k + 1` times:
    /// once per recorded iterate, the step reusing the recorded gradient.
    /// Breaks: evaluating the gradient again inside `Method::step` (as `run` did
    /// before issue 8) gives `2k + 1` and fails this test.
    #[test]
    fn run_evaluates_each_gradient_once() {
        for (optimizer, problem) in [
            ("adam", "quadratic"),
            ("sgd", "rosenbrock"),
            ("secant", "quadratic"),
        ] {
            for k in [1u64, 5, 17] {
                let flags: Vec<(String, String)> = [
                    ("optimizer", optimizer),
                    ("problem", problem),
                    ("steps", &k.to_string()),
                    ("lr", "0.001"),
                ]
                .iter()
                .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
                .collect();
                EVALUATIONS.with(|c| c.set(0));
                let mut out = Vec::new();
                execute(&flags, &mut out).expect("runs");
                let evaluations = EVALUATIONS.with(Cell::get);
                assert_eq!(evaluations, k + 1, "{optimizer} on {problem}, {k} steps");
                // Every step was written: k + 1 records.
                let lines = String::from_utf8(out).expect("utf-8").lines().count() as u64;
                assert_eq!(lines, k + 1, "{optimizer} on {problem}");
            }
        }
    }

    #[test]
    fn the_budgets_hold_at_their_boundaries() {
        // dim = 4096 is the largest with dim^2 <= 2^24.
        assert!(check_dim(4096, "--d").is_ok());
        let e = check_dim(4097, "--d").unwrap_err().to_string();
        assert!(e.starts_with("--d: ") && e.contains("2^24"), "{e}");
        assert!(check_dim(u128::from(u64::MAX), "--x0").is_err());
        // dim = 2: (steps + 1) * 4 <= 2^22 allows steps = 2^20 - 1.
        assert!(check_steps((1 << 20) - 1, 2).is_ok());
        let e = check_steps(1 << 20, 2).unwrap_err().to_string();
        assert!(e.contains(&format!("--steps <= {}", (1 << 20) - 1)), "{e}");
        assert!(check_steps(u64::MAX, usize::MAX).is_err());
    }

    #[test]
    fn problem_enum_forwards_derivatives() {
        let q = Quadratic::new(
            DMatrix::from_row_slice(1, 1, &[2.0]),
            DVector::from_vec(vec![1.0]),
        )
        .unwrap();
        let p = Problem::Quadratic(q);
        // f(3) = 9 - 3 = 6, f' = 2*3 - 1 = 5, f'' = 2: small integers, exact.
        let (f, g, h) = p.value_gradient_hessian(&DVector::from_vec(vec![3.0]));
        assert_eq!((f, g[0], h[(0, 0)]), (6.0, 5.0, 2.0));
    }
}
