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
//!
//! Response: `{"params": [[...], [...]]}`, the parameters after each step. Numbers
//! are read and written so that every `f64` round-trips exactly.

use nalgebra::DVector;
use serde_json::{Map, Value};

use crate::optim::{
    AdadeltaConfig, Adafactor, AdafactorConfig, AdagradConfig, AdamConfig, AdjustLr, Amsgrad,
    LionConfig, Muon, MuonConfig, Optim, Optimizer, RmsPropConfig, RpropConfig, Rule, SgdConfig,
    WeightDecay,
};

/// The optimizers `replay` knows, by PyTorch's class name in lower case.
pub const OPTIMIZERS: [&str; 10] = [
    "sgd",
    "adagrad",
    "rmsprop",
    "adadelta",
    "adam",
    "adamw",
    "rprop",
    "lion",
    "adafactor",
    "muon",
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
        _ => return None,
    })
}

/// Runs a request given as JSON text and returns the response as JSON text, or a
/// one-line message naming the field or the step at fault.
pub fn replay(request: &str) -> Result<String, String> {
    let request: Value =
        serde_json::from_str(request).map_err(|e| format!("malformed JSON: {e}"))?;
    let Value::Object(request) = request else {
        return Err("the request must be a JSON object".into());
    };
    for key in request.keys() {
        if !["optimizer", "hyper", "params", "grads", "shape"].contains(&key.as_str()) {
            return Err(format!(
                "unknown key {key:?} (expected optimizer, hyper, params, grads, shape)"
            ));
        }
    }
    let name = match request.get("optimizer") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err("optimizer: expected a string".into()),
        None => return Err("optimizer: missing".into()),
    };
    let empty = Map::new();
    let hyper = match request.get("hyper") {
        Some(Value::Object(h)) => h,
        Some(_) => return Err("hyper: expected an object".into()),
        None => &empty,
    };
    let params = vector(request.get("params"), "params")?;
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
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err("grads: expected an array of arrays of numbers".into()),
        None => return Err("grads: missing".into()),
    };

    let shape = shape(request.get("shape"), params.len())?;
    let mut optimizer = build_shaped(name, hyper, shape)?;
    let mut theta = params;
    let mut out = Vec::with_capacity(grads.len());
    for (k, g) in grads.iter().enumerate() {
        optimizer
            .step(&mut theta, g)
            .map_err(|e| format!("step {} (grads[{k}]): {e}", k + 1))?;
        out.push(Value::Array(
            theta.iter().map(|&x| number(x)).collect::<Vec<_>>(),
        ));
    }
    let mut response = Map::new();
    response.insert("params".into(), Value::Array(out));
    Ok(Value::Object(response).to_string())
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

fn boxed<R: Rule + 'static>(config: R) -> Result<Box<dyn Optimizer>, String> {
    Optim::new(config)
        .map(|o| Box::new(o) as Box<dyn Optimizer>)
        .map_err(|e| {
            format!(
                "hyper.{}: {} is outside its valid range {}",
                e.param, e.value, e.range
            )
        })
}

/// Builds the optimizer a request names, from its `hyper` object (PyTorch's
/// constructor arguments; omitted keys take PyTorch's defaults). The message of an
/// error names the key, as `hyper.<key>`.
pub fn build(name: &str, hyper: &Map<String, Value>) -> Result<Box<dyn Optimizer>, String> {
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
    if let Some(built) = build_matrix(name, hyper, None) {
        return built;
    }
    let h = Hyper(hyper);
    // PyTorch's `weight_decay` is an L2 term, default 0, for all but AdamW.
    let l2 =
        || -> Result<WeightDecay, String> { Ok(WeightDecay::L2(h.float("weight_decay", 0.0)?)) };
    match name {
        "sgd" => {
            let d = SgdConfig::default();
            boxed(SgdConfig {
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
            boxed(AdagradConfig {
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
            boxed(RmsPropConfig {
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
            boxed(AdadeltaConfig {
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
            boxed(AdamConfig {
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
        "lion" => {
            let d = LionConfig::default();
            boxed(LionConfig {
                lr: h.float("lr", d.lr)?,
                betas: h.pair("betas", d.betas)?,
                weight_decay: h.float("weight_decay", d.weight_decay)?,
                maximize: h.flag("maximize", d.maximize)?,
            })
        }
        _ => {
            let d = RpropConfig::default();
            boxed(RpropConfig {
                lr: h.float("lr", d.lr)?,
                etas: h.pair("etas", d.etas)?,
                step_sizes: h.pair("step_sizes", d.step_sizes)?,
                maximize: h.flag("maximize", d.maximize)?,
            })
        }
    }
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
) -> Result<Box<dyn Optimizer>, String> {
    build_matrix(name, hyper, shape).unwrap_or_else(|| build(name, hyper))
}

/// The optimizers whose state is not per-coordinate, built for `shape`; `None` for
/// every other name.
fn build_matrix(
    name: &str,
    hyper: &Map<String, Value>,
    shape: Shape,
) -> Option<Result<Box<dyn Optimizer>, String>> {
    let h = Hyper(hyper);
    let hyper_error = |e: crate::error::HyperError| {
        format!(
            "hyper.{}: {} is outside its valid range {}",
            e.param, e.value, e.range
        )
    };
    match name {
        "adafactor" => Some((|| {
            check_keys(name, hyper)?;
            let d = AdafactorConfig::default();
            let config = AdafactorConfig {
                lr: h.float("lr", d.lr)?,
                beta2_decay: h.float("beta2_decay", d.beta2_decay)?,
                eps: h.nullable_pair("eps", d.eps)?,
                d: h.float("d", d.d)?,
                weight_decay: h.float("weight_decay", d.weight_decay)?,
                maximize: h.flag("maximize", d.maximize)?,
            };
            Adafactor::new(config, shape)
                .map(|o| Box::new(o) as Box<dyn Optimizer>)
                .map_err(hyper_error)
        })()),
        "muon" => Some((|| {
            check_keys(name, hyper)?;
            let Some(shape) = shape else {
                return Err(
                    "shape: muon needs a matrix parameter: give \"shape\": [rows, cols]".into(),
                );
            };
            let d = MuonConfig::default();
            let config = MuonConfig {
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
                    Some(_) => return Err("hyper.adjust_lr_fn: expected a string or null".into()),
                },
            };
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
