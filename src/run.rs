//! `descent run`: run an optimizer on a deterministic problem with exact
//! derivatives and report every iterate.
//!
//! ```text
//! descent run --optimizer newton --problem rosenbrock --x0=-1.5,2 --steps 50 --format json
//! ```
//!
//! [`run`] takes the arguments after `run` and returns the text to print, or a
//! one-line message naming the flag at fault. See [`USAGE`] for the flags.
//!
//! First-order optimizers take the hyperparameter flags that `descent replay`
//! takes as `hyper` keys ([`crate::replay::keys`]), and are driven through
//! [`crate::replay::replay`] itself, so that `run` and `replay` cannot disagree.
//!
//! The problems are plain objectives (quadratic, Rosenbrock, log-cosh) and
//! probabilistic models on seeded data ([`MODEL_PROBLEMS`]: logistic and softmax
//! regression, least squares, a Gaussian in two parametrizations). Every
//! optimizer runs on every problem, except `natural`, which needs the model's
//! Fisher matrix and so runs on the models only; on a plain objective it is
//! refused with a message that lists the models.

use nalgebra::DVector;
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

/// The help text of `descent run`.
pub const USAGE: &str = "\
descent run: run an optimizer on a problem with exact derivatives

usage:
  descent run --optimizer NAME --problem NAME [--x0=a,b,..] [--steps N]
              [--format json|csv] [problem flags] [hyperparameter flags]
  descent run --help

  --steps N      steps to take (default 100); step 0 is the start. At most
                 2^22 numbers are printed: (N + 1) (dim + 2) <= 2^22
  --format F     json (default): {\"steps\": [{\"step\": k, \"loss\": .., \"grad_norm\": ..,
                 \"params\": [..]}, ..]};  csv: header step,loss,grad_norm,x0,x1,..
  --x0 LIST      the start, comma-separated (write --x0=-1.5,2 for negative numbers)

problems (default x0):
  quadratic      x'Ax/2, A a fixed 2-D rotation of diag(1, cond)  (1,1)
                   --cond C      condition number, >= 1 (default 100)
  rosenbrock     sum (a - x_i)^2 + b (x_{i+1} - x_i^2)^2; dim from x0  (-1.5,2)
                   --a A (default 1)   --b B (default 100)
  logcosh        (m/2)|x - c|^2 + sum log cosh x_i; dim from x0  (3,-2)
                   --m M (default 1)   --c LIST (default 1 in every coordinate)

  probabilistic models (mean negative log-likelihood of data drawn from --seed;
  features i.i.d. N(0,1), true parameters i.i.d. N(0,1)):
  logistic       binary logistic regression, theta in R^d  (d zeros)
                   --seed S (default 1)  --n N examples (default 64)  --d D features (default 3)
  softmax        softmax regression, class-major weights: theta[k d .. (k+1) d] is
                 class k, so x0 has classes*d entries  (classes*d zeros)
                   --seed --n --d as for logistic   --classes K, >= 2 (default 3)
  least_squares  |X theta - y|^2 / (2N): y = X theta* + noise e, model variance 1  (d zeros)
                   --seed --n --d as for logistic   --noise STD of e, >= 0 (default 0.5)
  gaussian       n draws of N(mean, std^2), fitted in (mu, log sigma)  (0,0)
                   --seed S (default 1)  --n N (default 64)
                   --mean M (default 1)  --std S, > 0 (default 2)   (of the data)
  gaussian_std   the same data fitted in (mu, sigma); x0 needs sigma > 0  (0,1)
                   flags as for gaussian

optimizers and their flags:
  sgd            --lr --momentum --dampening --weight_decay --nesterov --maximize
  adagrad        --lr --lr_decay --weight_decay --initial_accumulator_value --eps --maximize
  rmsprop        --lr --alpha --eps --weight_decay --momentum --centered --maximize
  adadelta       --lr --rho --eps --weight_decay --maximize
  adam           --lr --betas --eps --weight_decay --amsgrad --maximize --decoupled_weight_decay
  adamw          --lr --betas --eps --weight_decay --amsgrad --maximize
  rprop          --lr --etas --step_sizes --maximize
                 (PyTorch's names and defaults, as in `descent replay`; pairs as
                 --betas 0.9,0.99; flags as --amsgrad true)
  newton         full-Hessian Newton, Cholesky solve
                   --damping L|none  Levenberg-Marquardt from lambda0 = L (default 1e-3),
                                     or none: refuse a non-positive-definite Hessian
                   --line_search true|false  Armijo backtracking (default false)
                   --lr S            step length (default 1)
  diagonal       Becker-LeCun: x_i -= lr g_i / (|H_ii| + mu)
                   --lr (default 1)  --mu (default 1e-4)
  secant         diagonal curvature from consecutive gradients
                   --lr0 first-step rate (default 1e-3)  --lr (default 1)  --mu floor (default 1e-8)
  vsgd           per-coordinate rates gbar^2/(h vbar)
                   --tau0 (default 10)  --mu (default 1e-8)  --curvature averaged|exact
  natural        damped natural gradient with the exact Fisher F of the model:
                 theta += lr d, (F + damping I) d = -grad (Cholesky solve);
                 probabilistic models only (logistic, softmax, least_squares,
                 gaussian, gaussian_std)
                   --lr (default 1)  --damping lambda, >= 0 (default 1e-3)
  lbfgs          L-BFGS with PyTorch's LBFGS semantics; one step is one call of
                 PyTorch's step(closure), which may run several iterations
                   --lr (default 1)  --max_iter (default 20)
                   --max_eval (default max_iter * 5 / 4)  --tolerance_grad (default 1e-7)
                   --tolerance_change (default 1e-9)  --history_size (default 100)
                   --line_search_fn strong_wolfe|none (default none)

Limits: a problem's dimension is at most 4096 (its exact derivatives, in
forward mode, need dim^2 entries: a budget of 2^24, 128 MiB); a larger --d,
--classes * --d or --x0 is refused before anything is allocated.

Errors: exit status 1, nothing on stdout, one line on stderr naming the flag.";

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
fn check_dim(dim: u128, flags: &str) -> Result<(), String> {
    let entries = dim.saturating_mul(dim);
    if entries <= MAX_DERIVATIVE_ENTRIES {
        Ok(())
    } else {
        Err(format!(
            "{flags}: the problem would have dim = {dim} parameters, and its exact \
             derivatives need dim^2 = {entries} entries, more than run's budget of \
             2^24 entries (128 MiB); dim must be <= 4096"
        ))
    }
}

/// Refuses a `--steps` that would print more than [`MAX_OUTPUT_NUMBERS`].
fn check_steps(steps: u64, dim: usize) -> Result<(), String> {
    let per_step = dim as u128 + 2;
    let numbers = (u128::from(steps) + 1).saturating_mul(per_step);
    if numbers <= MAX_OUTPUT_NUMBERS {
        Ok(())
    } else {
        Err(format!(
            "--steps: {steps} steps of a problem with dim = {dim} would print \
             (steps + 1) (dim + 2) = {numbers} numbers, more than run's budget of 2^22; \
             take --steps <= {}",
            (MAX_OUTPUT_NUMBERS / per_step).saturating_sub(1)
        ))
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
}

/// Why `natural` refuses a problem that is not a probabilistic model.
fn natural_refusal(problem: &str) -> String {
    format!(
        "--optimizer: natural needs a probabilistic model with a Fisher matrix \
         (--problem {}); {problem} is a plain objective",
        MODEL_PROBLEMS.join(", ")
    )
}

/// The flags of each problem.
fn problem_flags(problem: &str) -> &'static [&'static str] {
    match problem {
        "quadratic" => &["cond"],
        "rosenbrock" => &["a", "b"],
        "logcosh" => &["m", "c"],
        "logistic" => &["seed", "n", "d"],
        "softmax" => &["seed", "n", "d", "classes"],
        "least_squares" => &["seed", "n", "d", "noise"],
        "gaussian" | "gaussian_std" => &["seed", "n", "mean", "std"],
        _ => &[],
    }
}

/// The flags of each second-order optimizer (first-order ones use
/// [`crate::replay::keys`]).
fn second_order_flags(optimizer: &str) -> Option<&'static [&'static str]> {
    Some(match optimizer {
        "newton" => &["damping", "line_search", "lr"],
        "diagonal" => &["lr", "mu"],
        "secant" => &["lr0", "lr", "mu"],
        "vsgd" => &["tau0", "mu", "curvature"],
        "natural" => &["lr", "damping"],
        "lbfgs" => &[
            "lr",
            "max_iter",
            "max_eval",
            "tolerance_grad",
            "tolerance_change",
            "history_size",
            "line_search_fn",
        ],
        _ => return None,
    })
}

/// Parsed flags, in the order given.
struct Flags(Vec<(String, String)>);

impl Flags {
    fn parse(args: &[String]) -> Result<Flags, String> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            let Some(body) = arg.strip_prefix("--") else {
                return Err(format!(
                    "unexpected argument {arg:?} (flags are --name value or --name=value)"
                ));
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => {
                    let Some(v) = args.get(i + 1) else {
                        return Err(format!("--{body}: missing value"));
                    };
                    i += 1;
                    (body.to_string(), v.clone())
                }
            };
            if name.is_empty() {
                return Err(format!("unexpected argument {arg:?}"));
            }
            if out.iter().any(|(n, _)| *n == name) {
                return Err(format!("--{name}: given more than once"));
            }
            out.push((name, value));
            i += 1;
        }
        Ok(Flags(out))
    }

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
fn flag_message(e: &HyperError) -> String {
    format!("--{}: {e}", flag_of(e.param))
}

/// A problem constructor's refusal, prefixed with the flag at fault (the
/// dimension `n` of a problem is the length of `--x0`).
fn problem_message(e: &ProblemError) -> String {
    match e {
        ProblemError::Invalid(h) if h.param == "n" => format!("--x0: {e}"),
        ProblemError::Invalid(h) => flag_message(h),
        ProblemError::LengthMismatch { param, .. } => format!("--{param}: {e}"),
        other => format!("--problem: {other}"),
    }
}

/// Refuses an `x0` of the wrong length for a problem of fixed dimension.
fn check_x0(x0: &[f64], expected: usize, what: &str) -> Result<(), String> {
    if x0.len() == expected {
        Ok(())
    } else {
        Err(format!(
            "--x0: has {} entries; {what} needs {expected}",
            x0.len()
        ))
    }
}

/// Builds the problem and its start.
fn build_problem(name: &str, flags: &Flags) -> Result<(Problem, DVector<f64>), String> {
    let x0 = flags.list("x0")?;
    let default = |v: &[f64]| x0.clone().unwrap_or_else(|| v.to_vec());
    let (problem, x0) = match name {
        "quadratic" => {
            let x0 = default(&[1.0, 1.0]);
            if x0.len() != 2 {
                return Err(format!(
                    "--x0: has {} entries; the quadratic is 2-D",
                    x0.len()
                ));
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
                return Err(format!("--c: has {} entries, x0 has {}", c.len(), x0.len()));
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
                    format!(
                        "--classes and --d: classes * d = {classes} * {d} is outside its valid \
                         range classes * d <= 2^24"
                    )
                } else {
                    format!(
                        "--n and --d: n * d = {n} * {d} is outside its valid range n * d <= 2^24"
                    )
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
                    return Err(format!(
                        "--x0: sigma = {} is outside its valid range (0, inf) for gaussian_std",
                        text(x0[1])
                    ));
                }
                (Problem::GaussianStd(GaussianMeanStd::new(data)), x0)
            }
        }
        _ => {
            if let Some((_, why)) = REFUSED_PROBLEMS.iter().find(|(n, _)| *n == name) {
                return Err(format!("--problem: {name} is not runnable: {why}"));
            }
            return Err(format!(
                "--problem: unknown problem {name:?} (expected one of {})",
                PROBLEMS.join(", ")
            ));
        }
    };
    Ok((problem, DVector::from_vec(x0)))
}

/// `replay`'s error in terms of `run`'s flags: a `hyper.<key>` field is the
/// flag `--<key>`; a refused step is reported as the step error alone (the
/// caller adds the step).
fn replay_message(e: ReplayError) -> String {
    match e {
        ReplayError::Request { field, message } | ReplayError::Invalid { field, message, .. } => {
            match field.strip_prefix("hyper.") {
                Some(key) => format!("--{key}: {message}"),
                None => format!("{field}: {message}"),
            }
        }
        ReplayError::Step { error, .. } => error.to_string(),
        other => other.to_string(),
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

fn build_method(name: &str, flags: &Flags) -> Result<Method, String> {
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
                    return Err(format!(
                        "--curvature: expected averaged or exact, got {v:?}"
                    ));
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
                    return Err(format!(
                        "--line_search_fn: expected strong_wolfe or none, got {v:?}"
                    ));
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
        _ => Err(format!(
            "--optimizer: unknown optimizer {name:?} (expected one of {})",
            OPTIMIZERS.join(", ")
        )),
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
fn record(f: &Problem, x: &DVector<f64>, step: u64) -> Result<(Record, DVector<f64>), String> {
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
            return Err(format!(
                "sigma = x1 = {sigma} left its domain (0, inf) {at}; gaussian_std needs \
                 sigma > 0 (take a smaller --lr, or fit log sigma with --problem gaussian)"
            ));
        }
        return Err(format!(
            "the loss or the gradient is not finite {at} (loss = {loss}, |grad| = {grad_norm})"
        ));
    }
    let record = Record {
        loss,
        grad_norm,
        params: x.iter().copied().collect(),
    };
    Ok((record, g))
}

/// Runs `descent run` with the arguments after `run`, returning the text to
/// print (the help text for `--help` or `-h`), or a one-line message naming the
/// flag at fault.
pub fn run(args: &[String]) -> Result<String, String> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(USAGE.to_string());
    }
    let flags = Flags::parse(args)?;
    let optimizer = flags.get("optimizer").ok_or_else(|| {
        format!(
            "--optimizer: missing (expected one of {})",
            OPTIMIZERS.join(", ")
        )
    })?;
    let problem_name = flags.get("problem").ok_or_else(|| {
        format!(
            "--problem: missing (expected one of {})",
            PROBLEMS.join(", ")
        )
    })?;
    if !OPTIMIZERS.contains(&optimizer) {
        return Err(format!(
            "--optimizer: unknown optimizer {optimizer:?} (expected one of {})",
            OPTIMIZERS.join(", ")
        ));
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
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("--steps: expected a non-negative whole number, got {v:?}"))?,
    };
    let csv = match flags.get("format") {
        None | Some("json") => false,
        Some("csv") => true,
        Some(v) => return Err(format!("--format: expected json or csv, got {v:?}")),
    };
    let (problem, mut x) = build_problem(problem_name, &flags)?;
    if optimizer == "natural" && !MODEL_PROBLEMS.contains(&problem_name) {
        return Err(natural_refusal(problem_name));
    }
    for (name, _) in &flags.0 {
        if !allowed.contains(&name.as_str()) {
            return Err(format!(
                "--{name}: unknown flag for optimizer {optimizer} and problem {problem_name} \
                 (expected one of {})",
                allowed
                    .iter()
                    .map(|f| format!("--{f}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    check_steps(steps, problem.dim())?;
    let mut method = build_method(optimizer, &flags)?;

    let mut records = Vec::new();
    let (first, mut g) = record(&problem, &x, 0)?;
    records.push(first);
    for k in 1..=steps {
        method
            .step(&problem, &mut x, &g)
            .map_err(|m| format!("step {k}: {optimizer}: {m}"))?;
        let (next, grad) = record(&problem, &x, k)?;
        records.push(next);
        g = grad;
    }
    Ok(if csv {
        render_csv(&records, problem.dim())
    } else {
        render_json(&records)
    })
}

fn render_json(records: &[Record]) -> String {
    let rows: Vec<String> = records
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let params: Vec<String> = r.params.iter().map(|&p| text(p)).collect();
            format!(
                "{{\"step\": {k}, \"loss\": {}, \"grad_norm\": {}, \"params\": [{}]}}",
                text(r.loss),
                text(r.grad_norm),
                params.join(", ")
            )
        })
        .collect();
    format!("{{\"steps\": [{}]}}", rows.join(", "))
}

fn render_csv(records: &[Record], dim: usize) -> String {
    let mut out = String::from("step,loss,grad_norm");
    for i in 0..dim {
        out.push_str(&format!(",x{i}"));
    }
    for (k, r) in records.iter().enumerate() {
        out.push_str(&format!("\n{k},{},{}", text(r.loss), text(r.grad_norm)));
        for &p in &r.params {
            out.push(',');
            out.push_str(&text(p));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;

    #[test]
    fn the_budgets_hold_at_their_boundaries() {
        // dim = 4096 is the largest with dim^2 <= 2^24.
        assert!(check_dim(4096, "--d").is_ok());
        let e = check_dim(4097, "--d").unwrap_err();
        assert!(e.starts_with("--d: ") && e.contains("2^24"), "{e}");
        assert!(check_dim(u128::from(u64::MAX), "--x0").is_err());
        // dim = 2: (steps + 1) * 4 <= 2^22 allows steps = 2^20 - 1.
        assert!(check_steps((1 << 20) - 1, 2).is_ok());
        let e = check_steps(1 << 20, 2).unwrap_err();
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
