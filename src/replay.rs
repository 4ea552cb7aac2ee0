//! `descent replay`: run a first-order optimizer on a recorded gradient sequence,
//! with PyTorch's constructor names and defaults, and report every iterate.
//!
//! Request (one JSON object):
//!
//! ```json
//! {"optimizer": "adam", "hyper": {"lr": 0.1, "betas": [0.9, 0.99]},
//!  "params": [1.0, -2.0], "grads": [[0.5, 0.25], [0.1, -0.3]]}
//! ```
//!
//! A request may add `"shape": [rows, cols]`: then `params` and every gradient row
//! are that matrix flattened row-major, and `rows * cols` must equal their length
//! (`"shape": [n]` says the parameter is a vector). Adafactor factors a matrix's
//! second moment by rows and columns; Muon requires a matrix; the other
//! optimizers act entry by entry and only check the shape.
//! For `sparseadam` a dense gradient row stands for the sparse tensor
//! `g.to_sparse()`: an entry equal to zero (`0.0` or `-0.0`) is absent, and its
//! parameter and moments stay as they were.
//!
//! Response: `{"params": [[...], [...]]}`, the parameters after each step. Numbers
//! are read and written so that every `f64` round-trips exactly.
//!
//! A request may also carry, applied per step in PyTorch's loop order
//! `clip -> optimizer.step() -> scheduler.step()`:
//!
//! - `"lr_scheduler": {"name": "<PyTorch class name>", <its constructor arguments
//!   by PyTorch's names>}` (see [`crate::schedule`]); the response then also has
//!   `"lr"`, the learning rate each step used;
//! - `"clip_grad_norm": {"max_norm": .., "norm_type": 2.0 | 1.0 | "inf",
//!   "error_if_nonfinite": false}` or `"clip_grad_value": {"clip_value": ..}` (not
//!   both), applied to each gradient row before its step (see [`crate::clip`]).
//!
//! An optional `"dtype"` picks the number type, with PyTorch's names: `"float64"`
//! (the default) or `"float32"`. In `float32` every number of `params` and
//! `grads` is rounded to the nearest `f32` on entry (as
//! `torch.tensor(x, dtype=torch.float32)` does), the optimizer runs in `f32`
//! (its per-step constants computed in `f64`, as PyTorch computes them in Python
//! floats, then rounded to `f32` once), and each result is printed as the
//! shortest decimal of the `f32` widened exactly to `f64`: it reads back to the
//! same `f32`. `float32` covers the per-coordinate optimizers (all but Adafactor
//! and Muon) without `lr_scheduler` or clipping; a request outside that is
//! refused, naming `dtype`. Any other `dtype` is refused, naming `dtype`.

use nalgebra::DVector;
use serde_json::{Map, Value};

use crate::schedule::{
    Anneal, ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, ExponentialLR, LinearLR,
    LrScheduler, MultiStepLR, OneCycleLR, PolynomialLR, Schedule, StepLR,
};

use crate::clip::{self, ClipError, NormType};
use crate::error::{HyperError, StepError};
use crate::optim::{
    AdadeltaConfig, Adafactor, AdafactorConfig, AdagradConfig, AdamConfig, AdamaxConfig, AdjustLr,
    Amsgrad, AsgdConfig, LionConfig, Muon, MuonConfig, NAdamConfig, Optim, Optimizer, RAdamConfig,
    Real, RmsPropConfig, RpropConfig, Rule, Scalar, SgdConfig, SparseAdamConfig, WeightDecay,
};

/// Why a request was refused. Every variant names the request's field (or the
/// step) at fault; the message is one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplayError {
    /// The request is malformed: not JSON, a key missing, unknown or of the
    /// wrong kind, an unknown optimizer or scheduler name, or a value `replay`
    /// refuses before building anything (a shape that does not fit, a number
    /// outside the dtype's range).
    #[error("{field}: {message}")]
    Request {
        /// The field, as a path into the request (`hyper.betas[1]`, `grads[3]`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A hyperparameter of the right kind outside its valid range, refused by
    /// the optimizer's (or schedule's) own check.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, `hyper.<key>` or `lr_scheduler[.<key>]`.
        field: String,
        /// The message, which shows `error`.
        message: String,
        /// The library's record of the refused value.
        error: HyperError,
    },
    /// A step was refused (a non-finite gradient or result): the parameters
    /// after the steps before it are not printed.
    #[error("step {step} (grads[{}]): {error}", step - 1)]
    Step {
        /// The step, counted from 1 (`grads[step - 1]` is its gradient).
        step: usize,
        /// Why the optimizer refused it.
        error: StepError,
    },
    /// Clipping refused a step's gradient (`error_if_nonfinite`, or a bad
    /// clipping parameter).
    #[error("step {step} (grads[{}]): {error}", step - 1)]
    Clip {
        /// The step, counted from 1.
        step: usize,
        /// Why the clip was refused.
        error: ClipError,
    },
    /// The schedule refused the rate it computed after a step.
    #[error("step {step}: {source}")]
    Schedule {
        /// The step after which the schedule was stepped, counted from 1.
        step: usize,
        /// The schedule's refusal, as [`ReplayError::Invalid`].
        source: Box<ReplayError>,
    },
}

impl ReplayError {
    /// The field (or the step, as `step N`) the error names.
    pub fn field(&self) -> String {
        match self {
            ReplayError::Request { field, .. } | ReplayError::Invalid { field, .. } => {
                field.clone()
            }
            ReplayError::Step { step, .. }
            | ReplayError::Clip { step, .. }
            | ReplayError::Schedule { step, .. } => format!("step {step}"),
        }
    }
}

/// A malformed-request message of this module, `"<field>: <message>"` (every
/// one names its field first), as a [`ReplayError::Request`].
fn malformed(m: String) -> ReplayError {
    match m.split_once(": ") {
        Some((field, message)) => ReplayError::Request {
            field: field.to_string(),
            message: message.to_string(),
        },
        None => ReplayError::Request {
            field: "request".to_string(),
            message: m,
        },
    }
}

/// A hyperparameter refused by the optimizer's check, named `hyper.<param>`,
/// with the message `text` renders.
fn invalid(error: HyperError, text: impl Fn(&HyperError) -> String) -> ReplayError {
    ReplayError::Invalid {
        field: format!("hyper.{}", error.param),
        message: text(&error),
        error,
    }
}

/// The number type a request runs in, its `"dtype"`: PyTorch's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dtype {
    /// `"float64"`, the default.
    Float64,
    /// `"float32"`.
    Float32,
}

/// The optimizers `replay` knows, by PyTorch's class name in lower case.
pub const OPTIMIZERS: [&str; 15] = [
    "sgd",
    "adagrad",
    "rmsprop",
    "adadelta",
    "adam",
    "adamw",
    "rprop",
    "asgd",
    "adamax",
    "nadam",
    "radam",
    "lion",
    "adafactor",
    "muon",
    "sparseadam",
];

/// The `hyper` keys each optimizer accepts: PyTorch's constructor arguments.
pub fn keys(optimizer: &str) -> Option<&'static [&'static str]> {
    Some(match optimizer {
        "sgd" => &[
            "lr",
            "momentum",
            "dampening",
            "weight_decay",
            "nesterov",
            "maximize",
        ],
        "adagrad" => &[
            "lr",
            "lr_decay",
            "weight_decay",
            "initial_accumulator_value",
            "eps",
            "maximize",
        ],
        "rmsprop" => &[
            "lr",
            "alpha",
            "eps",
            "weight_decay",
            "momentum",
            "centered",
            "maximize",
        ],
        "adadelta" => &["lr", "rho", "eps", "weight_decay", "maximize"],
        "adam" => &[
            "lr",
            "betas",
            "eps",
            "weight_decay",
            "amsgrad",
            "maximize",
            "decoupled_weight_decay",
        ],
        "adamw" => &["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
        "rprop" => &["lr", "etas", "step_sizes", "maximize"],
        "asgd" => &["lr", "lambd", "alpha", "t0", "weight_decay", "maximize"],
        "adamax" => &["lr", "betas", "eps", "weight_decay", "maximize"],
        "nadam" => &[
            "lr",
            "betas",
            "eps",
            "weight_decay",
            "momentum_decay",
            "decoupled_weight_decay",
            "maximize",
        ],
        "radam" => &[
            "lr",
            "betas",
            "eps",
            "weight_decay",
            "decoupled_weight_decay",
            "maximize",
        ],
        "lion" => &["lr", "betas", "weight_decay", "maximize"],
        "muon" => &[
            "lr",
            "weight_decay",
            "momentum",
            "nesterov",
            "ns_coefficients",
            "eps",
            "ns_steps",
            "adjust_lr_fn",
        ],
        "adafactor" => &["lr", "beta2_decay", "eps", "d", "weight_decay", "maximize"],
        "sparseadam" => &["lr", "betas", "eps", "maximize"],
        _ => return None,
    })
}

/// Runs a request given as JSON text and returns the response as JSON text, or
/// the error naming the field or the step at fault.
pub fn replay(request: &str) -> Result<String, ReplayError> {
    let request = crate::json::parse_unique(request).map_err(|message| ReplayError::Request {
        field: "request".into(),
        message,
    })?;
    let Value::Object(request) = request else {
        return Err(ReplayError::Request {
            field: "request".into(),
            message: "the request must be a JSON object".into(),
        });
    };
    const KEYS: [&str; 9] = [
        "optimizer",
        "dtype",
        "hyper",
        "params",
        "grads",
        "shape",
        "lr_scheduler",
        "clip_grad_norm",
        "clip_grad_value",
    ];
    for key in request.keys() {
        if !KEYS.contains(&key.as_str()) {
            return Err(ReplayError::Request {
                field: key.clone(),
                message: format!("unknown key (expected one of {})", KEYS.join(", ")),
            });
        }
    }
    let name = match request.get("optimizer") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(malformed("optimizer: expected a string".into())),
        None => return Err(malformed("optimizer: missing".into())),
    };
    let dtype = match request.get("dtype") {
        None => Dtype::Float64,
        Some(Value::String(s)) if s == "float64" => Dtype::Float64,
        Some(Value::String(s)) if s == "float32" => Dtype::Float32,
        Some(other) => {
            return Err(malformed(format!(
                "dtype: {other} is not a known dtype (expected \"float64\" or \"float32\")"
            )));
        }
    };
    let empty = Map::new();
    let hyper = match request.get("hyper") {
        Some(Value::Object(h)) => h,
        Some(_) => return Err(malformed("hyper: expected an object".into())),
        None => &empty,
    };
    let params = vector(request.get("params"), "params").map_err(malformed)?;
    let grads = match request.get("grads") {
        Some(Value::Array(rows)) => rows
            .iter()
            .enumerate()
            .map(|(k, row)| {
                let field = format!("grads[{k}]");
                let row = vector(Some(row), &field)?;
                if row.len() != params.len() {
                    return Err(format!(
                        "{field}: has {} entries, params has {}",
                        row.len(),
                        params.len()
                    ));
                }
                Ok(row)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(malformed)?,
        Some(_) => {
            return Err(malformed(
                "grads: expected an array of arrays of numbers".into(),
            ));
        }
        None => return Err(malformed("grads: missing".into())),
    };

    let shape = shape(request.get("shape"), params.len()).map_err(malformed)?;
    if dtype == Dtype::Float32 {
        for key in ["lr_scheduler", "clip_grad_norm", "clip_grad_value"] {
            if request.contains_key(key) {
                return Err(malformed(format!(
                    "dtype: \"float32\" replays the optimizer alone; {key} needs \"float64\""
                )));
            }
        }
        let out = match configure(name, hyper).map_err(malformed)? {
            Some(config) => run::<f32>(config, params.as_slice(), &grads)?,
            None => {
                return Err(malformed(format!(
                    "dtype: \"float32\" covers the per-coordinate optimizers; {name} needs \"float64\""
                )));
            }
        };
        let mut response = Map::new();
        response.insert("params".into(), Value::Array(out));
        return Ok(Value::Object(response).to_string());
    }
    let mut optimizer = build_shaped(name, hyper, shape)?;
    let clip = clipping(&request).map_err(malformed)?;
    let mut scheduler = match request.get("lr_scheduler") {
        None => None,
        Some(value) => {
            let schedule = schedule(value)?;
            let who = schedule.name();
            Some(
                LrScheduler::new(schedule, optimizer.as_mut())
                    .map_err(|e| scheduler_error(who, e))?,
            )
        }
    };
    let mut theta = params;
    let mut out = Vec::with_capacity(grads.len());
    let mut lrs = Vec::with_capacity(grads.len());
    for (k, g) in grads.iter().enumerate() {
        let mut g = g.clone();
        match clip {
            Clip::None => {}
            Clip::Norm {
                max_norm,
                norm_type,
                error_if_nonfinite,
            } => {
                clip::clip_grad_norm(g.as_mut_slice(), max_norm, norm_type, error_if_nonfinite)
                    .map_err(|error| ReplayError::Clip { step: k + 1, error })?;
            }
            Clip::Value(clip_value) => {
                clip::clip_grad_value(g.as_mut_slice(), clip_value).map_err(|e| {
                    ReplayError::Clip {
                        step: k + 1,
                        error: ClipError::Hyper(e),
                    }
                })?;
            }
        }
        lrs.push(number(optimizer.lr()));
        optimizer
            .step(&mut theta, &g)
            .map_err(|error| ReplayError::Step { step: k + 1, error })?;
        out.push(Value::Array(
            theta.iter().map(|&x| number(x)).collect::<Vec<_>>(),
        ));
        if let Some(s) = scheduler.as_mut() {
            let who = s.schedule().name();
            let stepped = if k + 1 == grads.len() {
                // PyTorch's last scheduler.step() sets a rate no step uses; it is
                // computed (so that its errors show) but not applied.
                s.peek(optimizer.lr()).map(|_| ())
            } else {
                s.step(optimizer.as_mut())
            };
            stepped.map_err(|e| ReplayError::Schedule {
                step: k + 1,
                source: Box::new(scheduler_error(who, e)),
            })?;
        }
    }
    let mut response = Map::new();
    response.insert("params".into(), Value::Array(out));
    if scheduler.is_some() {
        response.insert("lr".into(), Value::Array(lrs));
    }
    Ok(Value::Object(response).to_string())
}

/// A scheduler's error, naming `lr_scheduler.<param>` when the parameter is the
/// schedule's own, or the optimizer's parameter that refused the value.
fn scheduler_error(who: &str, error: HyperError) -> ReplayError {
    let (field, message) = if error.optimizer == who {
        (
            format!("lr_scheduler.{}", error.param),
            format!("{} is outside its valid range {}", error.value, error.range),
        )
    } else {
        ("lr_scheduler".to_string(), error.to_string())
    };
    ReplayError::Invalid {
        field,
        message,
        error,
    }
}

/// The clipping a request asks for.
#[derive(Clone, Copy)]
enum Clip {
    None,
    Norm {
        max_norm: f64,
        norm_type: NormType,
        error_if_nonfinite: bool,
    },
    Value(f64),
}

fn clipping(request: &Map<String, Value>) -> Result<Clip, String> {
    let norm = request.get("clip_grad_norm");
    let value = request.get("clip_grad_value");
    if norm.is_some() && value.is_some() {
        return Err("clip_grad_value: use either clip_grad_norm or clip_grad_value".into());
    }
    if let Some(v) = norm {
        let args = Args::new(
            v,
            "clip_grad_norm",
            &["max_norm", "norm_type", "error_if_nonfinite"],
        )?;
        let max_norm = args.float("max_norm", None)?;
        let norm_type = match args.0.get("norm_type") {
            None => NormType::Two,
            Some(Value::String(s)) if s == "inf" => NormType::Inf,
            Some(x) if x.as_f64() == Some(2.0) => NormType::Two,
            Some(x) if x.as_f64() == Some(1.0) => NormType::One,
            Some(_) => {
                return Err("clip_grad_norm.norm_type: expected 2.0, 1.0 or \"inf\"".to_string());
            }
        };
        let error_if_nonfinite = args.flag("error_if_nonfinite", false)?;
        crate::optim::hyper::non_negative("clip_grad_norm", "max_norm", max_norm).map_err(|e| {
            format!(
                "clip_grad_norm.max_norm: {} is outside its valid range {}",
                e.value, e.range
            )
        })?;
        return Ok(Clip::Norm {
            max_norm,
            norm_type,
            error_if_nonfinite,
        });
    }
    if let Some(v) = value {
        let args = Args::new(v, "clip_grad_value", &["clip_value"])?;
        let clip_value = args.float("clip_value", None)?;
        if clip_value < 0.0 {
            return Err(format!(
                "clip_grad_value.clip_value: {clip_value:?} is outside its valid range [0, inf)"
            ));
        }
        return Ok(Clip::Value(clip_value));
    }
    Ok(Clip::None)
}

/// The constructor arguments of a scheduler or a clip: a JSON object whose keys are
/// checked against a list, read with messages that name `<what>.<key>`.
struct Args<'a>(&'a Map<String, Value>, &'static str);

impl<'a> Args<'a> {
    fn new(value: &'a Value, what: &'static str, keys: &[&str]) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err(format!("{what}: expected an object"));
        };
        for key in map.keys() {
            let named = what == "lr_scheduler" && key == "name";
            if !named && !keys.contains(&key.as_str()) {
                return Err(format!(
                    "{what}.{key}: unknown key (expected one of {})",
                    keys.join(", ")
                ));
            }
        }
        Ok(Args(map, what))
    }

    fn float(&self, key: &str, default: Option<f64>) -> Result<f64, String> {
        match (self.0.get(key), default) {
            (None, Some(d)) => Ok(d),
            (None, None) => Err(format!("{}.{key}: missing", self.1)),
            (Some(v), _) => v
                .as_f64()
                .ok_or_else(|| format!("{}.{key}: expected a number", self.1)),
        }
    }

    fn int(&self, key: &str, default: Option<u64>) -> Result<u64, String> {
        match (self.0.get(key), default) {
            (None, Some(d)) => Ok(d),
            (None, None) => Err(format!("{}.{key}: missing", self.1)),
            (Some(v), _) => v
                .as_u64()
                .ok_or_else(|| format!("{}.{key}: expected a non-negative integer", self.1)),
        }
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, String> {
        match self.0.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(format!("{}.{key}: expected true or false", self.1)),
        }
    }
}

/// The scheduler names `lr_scheduler` accepts: PyTorch's class names.
pub const SCHEDULERS: [&str; 9] = [
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LinearLR",
    "ConstantLR",
    "PolynomialLR",
    "OneCycleLR",
    "CosineAnnealingWarmRestarts",
];

/// Reads a request's `lr_scheduler` object: `name` is PyTorch's class name, the
/// other keys its constructor arguments (omitted ones take PyTorch's defaults).
/// The message of an error names the key, as `lr_scheduler.<key>`. Ranges are
/// checked when the scheduler is attached ([`LrScheduler::new`]).
pub fn schedule(value: &Value) -> Result<Schedule, ReplayError> {
    schedule_of(value).map_err(malformed)
}

fn schedule_of(value: &Value) -> Result<Schedule, String> {
    let name = match value.get("name") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err("lr_scheduler.name: expected a string".into()),
        None if value.is_object() => return Err("lr_scheduler.name: missing".into()),
        None => return Err("lr_scheduler: expected an object".into()),
    };
    let keys: &[&str] = match name {
        "StepLR" => &["step_size", "gamma"],
        "MultiStepLR" => &["milestones", "gamma"],
        "ExponentialLR" => &["gamma"],
        "CosineAnnealingLR" => &["T_max", "eta_min"],
        "LinearLR" => &["start_factor", "end_factor", "total_iters"],
        "ConstantLR" => &["factor", "total_iters"],
        "PolynomialLR" => &["total_iters", "power"],
        "OneCycleLR" => &[
            "max_lr",
            "total_steps",
            "epochs",
            "steps_per_epoch",
            "pct_start",
            "anneal_strategy",
            "cycle_momentum",
            "base_momentum",
            "max_momentum",
            "div_factor",
            "final_div_factor",
            "three_phase",
        ],
        "CosineAnnealingWarmRestarts" => &["T_0", "T_mult", "eta_min"],
        _ => {
            return Err(format!(
                "lr_scheduler.name: unknown scheduler {name:?} (expected one of {})",
                SCHEDULERS.join(", ")
            ));
        }
    };
    let a = Args::new(value, "lr_scheduler", keys)?;
    Ok(match name {
        "StepLR" => Schedule::StepLR(StepLR {
            step_size: a.int("step_size", None)?,
            gamma: a.float("gamma", Some(0.1))?,
        }),
        "MultiStepLR" => {
            let milestones = match a.0.get("milestones") {
                Some(Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        m.as_u64().ok_or_else(|| {
                            format!("lr_scheduler.milestones[{i}]: expected a non-negative integer")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                Some(_) => {
                    return Err(
                        "lr_scheduler.milestones: expected an array of integers".to_string()
                    );
                }
                None => return Err("lr_scheduler.milestones: missing".to_string()),
            };
            Schedule::MultiStepLR(MultiStepLR {
                milestones,
                gamma: a.float("gamma", Some(0.1))?,
            })
        }
        "ExponentialLR" => Schedule::ExponentialLR(ExponentialLR {
            gamma: a.float("gamma", None)?,
        }),
        "CosineAnnealingLR" => Schedule::CosineAnnealingLR(CosineAnnealingLR {
            t_max: a.int("T_max", None)?,
            eta_min: a.float("eta_min", Some(0.0))?,
        }),
        "LinearLR" => {
            let d = LinearLR::default();
            Schedule::LinearLR(LinearLR {
                start_factor: a.float("start_factor", Some(d.start_factor))?,
                end_factor: a.float("end_factor", Some(d.end_factor))?,
                total_iters: a.int("total_iters", Some(d.total_iters))?,
            })
        }
        "ConstantLR" => {
            let d = ConstantLR::default();
            Schedule::ConstantLR(ConstantLR {
                factor: a.float("factor", Some(d.factor))?,
                total_iters: a.int("total_iters", Some(d.total_iters))?,
            })
        }
        "PolynomialLR" => {
            let d = PolynomialLR::default();
            Schedule::PolynomialLR(PolynomialLR {
                total_iters: a.int("total_iters", Some(d.total_iters))?,
                power: a.float("power", Some(d.power))?,
            })
        }
        "OneCycleLR" => {
            let max_lr = a.float("max_lr", None)?;
            let total_steps = match a.0.get("total_steps") {
                Some(_) => a.int("total_steps", None)?,
                None => {
                    let (epochs, per) = match (a.0.get("epochs"), a.0.get("steps_per_epoch")) {
                        (Some(_), Some(_)) => {
                            (a.int("epochs", None)?, a.int("steps_per_epoch", None)?)
                        }
                        _ => {
                            return Err("lr_scheduler.total_steps: missing (give total_steps, \
                                        or epochs and steps_per_epoch)"
                                .to_string());
                        }
                    };
                    if epochs == 0 {
                        return Err("lr_scheduler.epochs: 0 is outside its valid range [1, inf)"
                            .to_string());
                    }
                    if per == 0 {
                        return Err(
                            "lr_scheduler.steps_per_epoch: 0 is outside its valid range [1, inf)"
                                .to_string(),
                        );
                    }
                    epochs.checked_mul(per).ok_or_else(|| {
                        "lr_scheduler.steps_per_epoch: epochs * steps_per_epoch overflows"
                            .to_string()
                    })?
                }
            };
            let mut s = OneCycleLR::new(max_lr, total_steps);
            s.pct_start = a.float("pct_start", Some(s.pct_start))?;
            s.anneal_strategy = match a.0.get("anneal_strategy") {
                None => Anneal::Cos,
                Some(Value::String(x)) if x == "cos" => Anneal::Cos,
                Some(Value::String(x)) if x == "linear" => Anneal::Linear,
                Some(_) => {
                    return Err(
                        "lr_scheduler.anneal_strategy: expected \"cos\" or \"linear\"".to_string(),
                    );
                }
            };
            s.cycle_momentum = a.flag("cycle_momentum", s.cycle_momentum)?;
            s.base_momentum = a.float("base_momentum", Some(s.base_momentum))?;
            s.max_momentum = a.float("max_momentum", Some(s.max_momentum))?;
            s.div_factor = a.float("div_factor", Some(s.div_factor))?;
            s.final_div_factor = a.float("final_div_factor", Some(s.final_div_factor))?;
            s.three_phase = a.flag("three_phase", s.three_phase)?;
            Schedule::OneCycleLR(s)
        }
        _ => Schedule::CosineAnnealingWarmRestarts(CosineAnnealingWarmRestarts {
            t_0: a.int("T_0", None)?,
            t_mult: a.int("T_mult", Some(1))?,
            eta_min: a.float("eta_min", Some(0.0))?,
        }),
    })
}

fn number(x: f64) -> Value {
    // Finite by construction: a step that would make a parameter non-finite is refused.
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn vector(value: Option<&Value>, field: &str) -> Result<DVector<f64>, String> {
    let Some(value) = value else {
        return Err(format!("{field}: missing"));
    };
    let Value::Array(items) = value else {
        return Err(format!("{field}: expected an array of numbers"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, x)| {
            x.as_f64()
                .ok_or_else(|| format!("{field}[{i}]: expected a number"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(DVector::from_vec)
}

/// Reads `hyper` keys, with PyTorch's defaults for those omitted.
struct Hyper<'a>(&'a Map<String, Value>);

impl Hyper<'_> {
    fn float(&self, key: &str, default: f64) -> Result<f64, String> {
        match self.0.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .ok_or_else(|| format!("hyper.{key}: expected a number")),
        }
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, String> {
        match self.0.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(format!("hyper.{key}: expected true or false")),
        }
    }

    fn pair(&self, key: &str, default: (f64, f64)) -> Result<(f64, f64), String> {
        match self.0.get(key) {
            None => Ok(default),
            Some(Value::Array(a)) if a.len() == 2 => {
                let x = a[0].as_f64();
                let y = a[1].as_f64();
                match (x, y) {
                    (Some(x), Some(y)) => Ok((x, y)),
                    (None, _) => Err(format!("hyper.{key}[0]: expected a number")),
                    (_, None) => Err(format!("hyper.{key}[1]: expected a number")),
                }
            }
            Some(_) => Err(format!("hyper.{key}: expected an array of two numbers")),
        }
    }
}

fn boxed<R: Rule + 'static>(config: R) -> Result<Box<dyn Optimizer>, ReplayError> {
    Optim::new(config)
        .map(|o| Box::new(o) as Box<dyn Optimizer>)
        .map_err(|e| invalid(e, HyperError::to_string))
}

/// Builds the optimizer a request names, from its `hyper` object (PyTorch's
/// constructor arguments; omitted keys take PyTorch's defaults), in `f64`. The
/// message of an error names the key, as `hyper.<key>`.
pub fn build(name: &str, hyper: &Map<String, Value>) -> Result<Box<dyn Optimizer>, ReplayError> {
    match configure(name, hyper).map_err(malformed)? {
        Some(config) => config.boxed(),
        None => build_matrix(name, hyper, None).unwrap_or_else(|| unreachable_matrix(name)),
    }
}

/// `configure` answers `None` only for the names `build_matrix` builds.
fn unreachable_matrix(name: &str) -> Result<Box<dyn Optimizer>, ReplayError> {
    Err(ReplayError::Request {
        field: "optimizer".into(),
        message: format!("{name} is not a per-coordinate optimizer"),
    })
}

/// The configuration of one of the per-coordinate optimizers `replay` knows.
enum Any {
    Sgd(SgdConfig),
    Adagrad(AdagradConfig),
    RmsProp(RmsPropConfig),
    Adadelta(AdadeltaConfig),
    Adam(AdamConfig),
    Asgd(AsgdConfig),
    Adamax(AdamaxConfig),
    NAdam(NAdamConfig),
    RAdam(RAdamConfig),
    Lion(LionConfig),
    SparseAdam(SparseAdamConfig),
    Rprop(RpropConfig),
}

/// Calls `$body` with `$c` bound to the configuration inside an [`Any`].
macro_rules! each {
    ($any:expr, $c:ident => $body:expr) => {
        match $any {
            Any::Sgd($c) => $body,
            Any::Adagrad($c) => $body,
            Any::RmsProp($c) => $body,
            Any::Adadelta($c) => $body,
            Any::Adam($c) => $body,
            Any::Asgd($c) => $body,
            Any::Adamax($c) => $body,
            Any::NAdam($c) => $body,
            Any::RAdam($c) => $body,
            Any::Lion($c) => $body,
            Any::SparseAdam($c) => $body,
            Any::Rprop($c) => $body,
        }
    };
}

impl Any {
    /// The optimizer in `f64`, validated.
    fn boxed(self) -> Result<Box<dyn Optimizer>, ReplayError> {
        each!(self, c => boxed(c))
    }
}

/// Runs the configured optimizer in scalar type `S` and returns the parameters
/// after each step, as JSON rows.
fn run<S: Real>(
    config: Any,
    params: &[f64],
    grads: &[DVector<f64>],
) -> Result<Vec<Value>, ReplayError> {
    each!(config, c => steps::<S, _>(c, params, grads))
}

/// The steps of rule `R` in scalar type `S`. Every number of the request is first
/// rounded to the nearest `S` ([`Scalar::from_f64`]: exact for `f64`, round to
/// nearest even for `f32`, as `torch.tensor(x, dtype=torch.float32)` does); a
/// finite number that `S` cannot hold is refused, naming its field. Each result is
/// written as the shortest decimal of its exact widening to `f64`, so it reads
/// back to the same `S` value (for `f32`, this is also what PyTorch's
/// `tensor.tolist()` followed by Python's `repr` prints).
fn steps<S: Scalar, R: Rule<S>>(
    config: R,
    params: &[f64],
    grads: &[DVector<f64>],
) -> Result<Vec<Value>, ReplayError> {
    let mut optimizer =
        Optim::<R, S>::in_scalar(config).map_err(|e| invalid(e, HyperError::to_string))?;
    let mut theta = narrow::<S>(params, "params").map_err(malformed)?;
    let mut out = Vec::with_capacity(grads.len());
    for (k, g) in grads.iter().enumerate() {
        let g = narrow::<S>(g.as_slice(), &format!("grads[{k}]")).map_err(malformed)?;
        optimizer
            .step_slice(&mut theta, &g)
            .map_err(|error| ReplayError::Step { step: k + 1, error })?;
        out.push(Value::Array(
            theta
                .iter()
                .map(|&x| number(x.to_f64()))
                .collect::<Vec<_>>(),
        ));
    }
    Ok(out)
}

/// The numbers of `field`, each rounded to the nearest `S`.
fn narrow<S: Scalar>(xs: &[f64], field: &str) -> Result<Vec<S>, String> {
    xs.iter()
        .enumerate()
        .map(|(i, &x)| {
            let y = S::from_f64(x);
            if x.is_finite() && !y.is_finite() {
                Err(format!(
                    "{field}[{i}]: {x:?} is outside the range of the request's dtype"
                ))
            } else {
                Ok(y)
            }
        })
        .collect()
}

/// Reads the configuration a request names from its `hyper` object (not yet
/// validated: [`Optim::in_scalar`] does that): `Ok(None)` for the optimizers whose
/// state is not per-coordinate (Adafactor, Muon), which [`build_matrix`] builds.
fn configure(name: &str, hyper: &Map<String, Value>) -> Result<Option<Any>, String> {
    let Some(allowed) = keys(name) else {
        return Err(format!(
            "optimizer: unknown optimizer {name:?} (expected one of {})",
            OPTIMIZERS.join(", ")
        ));
    };
    for key in hyper.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(format!(
                "hyper.{key}: unknown key for {name} (expected one of {})",
                allowed.join(", ")
            ));
        }
    }
    if matches!(name, "adafactor" | "muon") {
        return Ok(None);
    }
    let h = Hyper(hyper);
    // PyTorch's `weight_decay` is an L2 term, default 0, for all but AdamW.
    let l2 =
        || -> Result<WeightDecay, String> { Ok(WeightDecay::L2(h.float("weight_decay", 0.0)?)) };
    // NAdam's and RAdam's `decoupled_weight_decay=True` turns it into AdamW's decay.
    let decoupled = || -> Result<WeightDecay, String> {
        let lambda = h.float("weight_decay", 0.0)?;
        Ok(if h.flag("decoupled_weight_decay", false)? {
            WeightDecay::Decoupled(lambda)
        } else {
            WeightDecay::L2(lambda)
        })
    };
    Ok(Some(match name {
        "sgd" => {
            let d = SgdConfig::default();
            Any::Sgd(SgdConfig {
                lr: h.float("lr", d.lr)?,
                momentum: h.float("momentum", d.momentum)?,
                dampening: h.float("dampening", d.dampening)?,
                weight_decay: l2()?,
                nesterov: h.flag("nesterov", d.nesterov)?,
                maximize: h.flag("maximize", d.maximize)?,
            })
        }
        "adagrad" => {
            let d = AdagradConfig::default();
            Any::Adagrad(AdagradConfig {
                lr: h.float("lr", d.lr)?,
                lr_decay: h.float("lr_decay", d.lr_decay)?,
                weight_decay: l2()?,
                initial_accumulator_value: h
                    .float("initial_accumulator_value", d.initial_accumulator_value)?,
                eps: h.float("eps", d.eps)?,
                maximize: h.flag("maximize", d.maximize)?,
            })
        }
        "rmsprop" => {
            let d = RmsPropConfig::default();
            Any::RmsProp(RmsPropConfig {
                lr: h.float("lr", d.lr)?,
                alpha: h.float("alpha", d.alpha)?,
                eps: h.float("eps", d.eps)?,
                weight_decay: l2()?,
                momentum: h.float("momentum", d.momentum)?,
                centered: h.flag("centered", d.centered)?,
                maximize: h.flag("maximize", d.maximize)?,
            })
        }
        "adadelta" => {
            let d = AdadeltaConfig::default();
            Any::Adadelta(AdadeltaConfig {
                lr: h.float("lr", d.lr)?,
                rho: h.float("rho", d.rho)?,
                eps: h.float("eps", d.eps)?,
                weight_decay: l2()?,
                maximize: h.flag("maximize", d.maximize)?,
            })
        }
        "adam" | "adamw" => {
            let d = AdamConfig::default();
            let decoupled = name == "adamw" || h.flag("decoupled_weight_decay", false)?;
            let lambda = h.float("weight_decay", if name == "adamw" { 1e-2 } else { 0.0 })?;
            Any::Adam(AdamConfig {
                lr: h.float("lr", d.lr)?,
                betas: h.pair("betas", d.betas)?,
                eps: h.float("eps", d.eps)?,
                weight_decay: if decoupled {
                    WeightDecay::Decoupled(lambda)
                } else {
                    WeightDecay::L2(lambda)
                },
                amsgrad: if h.flag("amsgrad", false)? {
                    Amsgrad::PyTorch
                } else {
                    Amsgrad::Off
                },
                maximize: h.flag("maximize", d.maximize)?,
            })
        }
        "asgd" => {
            let d = AsgdConfig::default();
            Any::Asgd(AsgdConfig {
                lr: h.float("lr", d.lr)?,
                lambd: h.float("lambd", d.lambd)?,
                alpha: h.float("alpha", d.alpha)?,
                t0: h.float("t0", d.t0)?,
                weight_decay: l2()?,
                maximize: h.flag("maximize", d.maximize)?,
            })
        }
        "adamax" => {
            let d = AdamaxConfig::default();
            Any::Adamax(AdamaxConfig {
                lr: h.float("lr", d.lr)?,
                betas: h.pair("betas", d.betas)?,
                eps: h.float("eps", d.eps)?,
                weight_decay: l2()?,
                maximize: h.flag("maximize", d.maximize)?,
            })
        }
        "nadam" => {
            let d = NAdamConfig::default();
            Any::NAdam(NAdamConfig {
                lr: h.float("lr", d.lr)?,
                betas: h.pair("betas", d.betas)?,
                eps: h.float("eps", d.eps)?,
                weight_decay: decoupled()?,
                momentum_decay: h.float("momentum_decay", d.momentum_decay)?,
                maximize: h.flag("maximize", d.maximize)?,
            })
        }
        "radam" => {
            let d = RAdamConfig::default();
            Any::RAdam(RAdamConfig {
                lr: h.float("lr", d.lr)?,
                betas: h.pair("betas", d.betas)?,
                eps: h.float("eps", d.eps)?,
                weight_decay: decoupled()?,
                maximize: h.flag("maximize", d.maximize)?,
            })
        }
        "lion" => {
            let d = LionConfig::default();
            Any::Lion(LionConfig {
                lr: h.float("lr", d.lr)?,
                betas: h.pair("betas", d.betas)?,
                weight_decay: h.float("weight_decay", d.weight_decay)?,
                maximize: h.flag("maximize", d.maximize)?,
            })
        }
        // A dense gradient row stands for `g.to_sparse()`: zero entries are absent.
        "sparseadam" => {
            let d = SparseAdamConfig::default();
            Any::SparseAdam(SparseAdamConfig {
                lr: h.float("lr", d.lr)?,
                betas: h.pair("betas", d.betas)?,
                eps: h.float("eps", d.eps)?,
                maximize: h.flag("maximize", d.maximize)?,
            })
        }
        _ => {
            let d = RpropConfig::default();
            Any::Rprop(RpropConfig {
                lr: h.float("lr", d.lr)?,
                etas: h.pair("etas", d.etas)?,
                step_sizes: h.pair("step_sizes", d.step_sizes)?,
                maximize: h.flag("maximize", d.maximize)?,
            })
        }
    }))
}

/// The shape of a parameter: `Some([rows, cols])` for a matrix, `None` for a
/// vector (no `shape`, or `"shape": [n]`).
pub type Shape = Option<[usize; 2]>;

/// Reads a request's `shape` and checks it against the number of parameters.
fn shape(value: Option<&Value>, len: usize) -> Result<Shape, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    let dims = match value {
        Value::Array(items) if (1..=2).contains(&items.len()) => items
            .iter()
            .map(|x| x.as_u64().and_then(|d| usize::try_from(d).ok()))
            .collect::<Option<Vec<usize>>>(),
        _ => None,
    };
    let Some(dims) = dims else {
        return Err("shape: expected [rows, cols] (or [n]) of non-negative integers".into());
    };
    let entries = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if entries != Some(len) {
        return Err(format!(
            "shape: {dims:?} does not hold the {len} entries of params"
        ));
    }
    Ok((dims.len() == 2).then(|| [dims[0], dims[1]]))
}

/// [`build`] for a parameter of the given shape: Adafactor factors a matrix,
/// Muon requires one (refused without, naming `shape`); the other optimizers act
/// entry by entry and ignore the shape.
pub fn build_shaped(
    name: &str,
    hyper: &Map<String, Value>,
    shape: Shape,
) -> Result<Box<dyn Optimizer>, ReplayError> {
    build_matrix(name, hyper, shape).unwrap_or_else(|| build(name, hyper))
}

/// The optimizers whose state is not per-coordinate, built for `shape`; `None` for
/// every other name.
fn build_matrix(
    name: &str,
    hyper: &Map<String, Value>,
    shape: Shape,
) -> Option<Result<Box<dyn Optimizer>, ReplayError>> {
    let h = Hyper(hyper);
    let hyper_error = |e: HyperError| {
        invalid(e, |e| {
            format!("{} is outside its valid range {}", e.value, e.range)
        })
    };
    match name {
        "adafactor" => Some((|| {
            check_keys(name, hyper).map_err(malformed)?;
            let d = AdafactorConfig::default();
            let config = (|| -> Result<_, String> {
                Ok(AdafactorConfig {
                    lr: h.float("lr", d.lr)?,
                    beta2_decay: h.float("beta2_decay", d.beta2_decay)?,
                    eps: h.nullable_pair("eps", d.eps)?,
                    d: h.float("d", d.d)?,
                    weight_decay: h.float("weight_decay", d.weight_decay)?,
                    maximize: h.flag("maximize", d.maximize)?,
                })
            })()
            .map_err(malformed)?;
            Adafactor::new(config, shape)
                .map(|o| Box::new(o) as Box<dyn Optimizer>)
                .map_err(hyper_error)
        })()),
        "muon" => Some((|| {
            check_keys(name, hyper).map_err(malformed)?;
            let Some(shape) = shape else {
                return Err(malformed(
                    "shape: muon needs a matrix parameter: give \"shape\": [rows, cols]".into(),
                ));
            };
            let d = MuonConfig::default();
            let config = (|| -> Result<_, String> {
                Ok(MuonConfig {
                    lr: h.float("lr", d.lr)?,
                    weight_decay: h.float("weight_decay", d.weight_decay)?,
                    momentum: h.float("momentum", d.momentum)?,
                    nesterov: h.flag("nesterov", d.nesterov)?,
                    ns_coefficients: h.triple("ns_coefficients", d.ns_coefficients)?,
                    eps: h.float("eps", d.eps)?,
                    ns_steps: match hyper.get("ns_steps") {
                        None => d.ns_steps,
                        Some(v) => v
                            .as_u64()
                            .and_then(|k| u32::try_from(k).ok())
                            .ok_or("hyper.ns_steps: expected a non-negative integer")?,
                    },
                    adjust_lr_fn: match hyper.get("adjust_lr_fn") {
                        None | Some(Value::Null) => d.adjust_lr_fn,
                        Some(Value::String(f)) => AdjustLr::parse(f).ok_or_else(|| {
                            format!(
                                "hyper.adjust_lr_fn: unknown {f:?} (expected original, \
                             match_rms_adamw, spectral_unclamped or null)"
                            )
                        })?,
                        Some(_) => {
                            return Err("hyper.adjust_lr_fn: expected a string or null".into());
                        }
                    },
                })
            })()
            .map_err(malformed)?;
            Muon::new(config, shape)
                .map(|o| Box::new(o) as Box<dyn Optimizer>)
                .map_err(hyper_error)
        })()),
        _ => None,
    }
}

/// Refuses a `hyper` key that `name` does not take.
fn check_keys(name: &str, hyper: &Map<String, Value>) -> Result<(), String> {
    let allowed = keys(name).unwrap_or(&[]);
    for key in hyper.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(format!(
                "hyper.{key}: unknown key for {name} (expected one of {})",
                allowed.join(", ")
            ));
        }
    }
    Ok(())
}

impl Hyper<'_> {
    /// Three numbers (Muon's `ns_coefficients`).
    fn triple(&self, key: &str, default: (f64, f64, f64)) -> Result<(f64, f64, f64), String> {
        match self.0.get(key) {
            None => Ok(default),
            Some(Value::Array(a)) if a.len() == 3 => {
                let x = |i: usize| {
                    a[i].as_f64()
                        .ok_or_else(|| format!("hyper.{key}[{i}]: expected a number"))
                };
                Ok((x(0)?, x(1)?, x(2)?))
            }
            Some(_) => Err(format!("hyper.{key}: expected an array of three numbers")),
        }
    }

    /// A pair whose first entry may be `null` (Adafactor's `eps`).
    fn nullable_pair(
        &self,
        key: &str,
        default: (Option<f64>, f64),
    ) -> Result<(Option<f64>, f64), String> {
        match self.0.get(key) {
            None => Ok(default),
            Some(Value::Array(a)) if a.len() == 2 => {
                let first = match &a[0] {
                    Value::Null => None,
                    x => Some(
                        x.as_f64()
                            .ok_or_else(|| format!("hyper.{key}[0]: expected a number or null"))?,
                    ),
                };
                let second = a[1]
                    .as_f64()
                    .ok_or_else(|| format!("hyper.{key}[1]: expected a number"))?;
                Ok((first, second))
            }
            Some(_) => Err(format!(
                "hyper.{key}: expected an array [number or null, number]"
            )),
        }
    }
}
