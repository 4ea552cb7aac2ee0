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
//! Response: `{"params": [[...], [...]]}`, the parameters after each step. Numbers
//! are read and written so that every `f64` round-trips exactly.
//!
//! An optional `"dtype"` picks the number type, with PyTorch's names: `"float64"`
//! (the default) or `"float32"`. In `float32` every number of `params` and
//! `grads` is rounded to the nearest `f32` on entry (as
//! `torch.tensor(x, dtype=torch.float32)` does), the optimizer runs in `f32`
//! (its per-step constants computed in `f64`, as PyTorch computes them in Python
//! floats, then rounded to `f32` once), and each result is printed as the
//! shortest decimal of the `f32` widened exactly to `f64`: it reads back to the
//! same `f32`. Any other `dtype` is refused, naming `dtype`.

use serde_json::{Map, Value};

use crate::error::HyperError;
use crate::optim::{
    AdadeltaConfig, AdagradConfig, AdamConfig, Amsgrad, Optim, Optimizer, Real, RmsPropConfig,
    RpropConfig, Rule, Scalar, SgdConfig, WeightDecay,
};

/// The optimizers `replay` knows, by PyTorch's class name in lower case.
pub const OPTIMIZERS: [&str; 7] = [
    "sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "rprop",
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
        _ => return None,
    })
}

/// The number type a request runs in, its `"dtype"`: PyTorch's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dtype {
    /// `"float64"`, the default.
    Float64,
    /// `"float32"`.
    Float32,
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
        if !["optimizer", "hyper", "params", "grads", "dtype"].contains(&key.as_str()) {
            return Err(format!(
                "unknown key {key:?} (expected optimizer, hyper, params, grads, dtype)"
            ));
        }
    }
    let name = match request.get("optimizer") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err("optimizer: expected a string".into()),
        None => return Err("optimizer: missing".into()),
    };
    let dtype = match request.get("dtype") {
        None => Dtype::Float64,
        Some(Value::String(s)) if s == "float64" => Dtype::Float64,
        Some(Value::String(s)) if s == "float32" => Dtype::Float32,
        Some(other) => {
            return Err(format!(
                "dtype: {other} is not a known dtype (expected \"float64\" or \"float32\")"
            ));
        }
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

    let config = configure(name, hyper)?;
    let out = match dtype {
        Dtype::Float64 => run::<f64>(config, &params, &grads)?,
        Dtype::Float32 => run::<f32>(config, &params, &grads)?,
    };
    let mut response = Map::new();
    response.insert("params".into(), Value::Array(out));
    Ok(Value::Object(response).to_string())
}

/// Runs the configured optimizer in scalar type `S` and returns the parameters
/// after each step, as JSON rows.
fn run<S: Real>(config: Any, params: &[f64], grads: &[Vec<f64>]) -> Result<Vec<Value>, String> {
    match config {
        Any::Sgd(c) => steps::<S, _>(c, params, grads),
        Any::Adagrad(c) => steps::<S, _>(c, params, grads),
        Any::RmsProp(c) => steps::<S, _>(c, params, grads),
        Any::Adadelta(c) => steps::<S, _>(c, params, grads),
        Any::Adam(c) => steps::<S, _>(c, params, grads),
        Any::Rprop(c) => steps::<S, _>(c, params, grads),
    }
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
    grads: &[Vec<f64>],
) -> Result<Vec<Value>, String> {
    let mut optimizer = Optim::<R, S>::in_scalar(config).map_err(|e| hyper_error(&e))?;
    let mut theta = narrow::<S>(params, "params")?;
    let mut out = Vec::with_capacity(grads.len());
    for (k, g) in grads.iter().enumerate() {
        let g = narrow::<S>(g, &format!("grads[{k}]"))?;
        optimizer
            .step_slice(&mut theta, &g)
            .map_err(|e| format!("step {} (grads[{k}]): {e}", k + 1))?;
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

fn number(x: f64) -> Value {
    // Finite by construction: a step that would make a parameter non-finite is refused.
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn vector(value: Option<&Value>, field: &str) -> Result<Vec<f64>, String> {
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
        .collect()
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

fn hyper_error(e: &HyperError) -> String {
    format!(
        "hyper.{}: {} is outside its valid range {}",
        e.param, e.value, e.range
    )
}

fn boxed<R: Rule + 'static>(config: R) -> Result<Box<dyn Optimizer>, String> {
    Optim::new(config)
        .map(|o| Box::new(o) as Box<dyn Optimizer>)
        .map_err(|e| hyper_error(&e))
}

/// Builds the optimizer a request names, from its `hyper` object (PyTorch's
/// constructor arguments; omitted keys take PyTorch's defaults), in `f64`. The
/// message of an error names the key, as `hyper.<key>`.
pub fn build(name: &str, hyper: &Map<String, Value>) -> Result<Box<dyn Optimizer>, String> {
    Ok(match configure(name, hyper)? {
        Any::Sgd(c) => boxed(c)?,
        Any::Adagrad(c) => boxed(c)?,
        Any::RmsProp(c) => boxed(c)?,
        Any::Adadelta(c) => boxed(c)?,
        Any::Adam(c) => boxed(c)?,
        Any::Rprop(c) => boxed(c)?,
    })
}

/// The configuration of one of the optimizers `replay` knows.
enum Any {
    Sgd(SgdConfig),
    Adagrad(AdagradConfig),
    RmsProp(RmsPropConfig),
    Adadelta(AdadeltaConfig),
    Adam(AdamConfig),
    Rprop(RpropConfig),
}

/// Reads the configuration a request names from its `hyper` object (not yet
/// validated: [`Optim::in_scalar`] does that).
fn configure(name: &str, hyper: &Map<String, Value>) -> Result<Any, String> {
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
    let h = Hyper(hyper);
    // PyTorch's `weight_decay` is an L2 term, default 0, for all but AdamW.
    let l2 =
        || -> Result<WeightDecay, String> { Ok(WeightDecay::L2(h.float("weight_decay", 0.0)?)) };
    match name {
        "sgd" => {
            let d = SgdConfig::default();
            Ok(Any::Sgd(SgdConfig {
                lr: h.float("lr", d.lr)?,
                momentum: h.float("momentum", d.momentum)?,
                dampening: h.float("dampening", d.dampening)?,
                weight_decay: l2()?,
                nesterov: h.flag("nesterov", d.nesterov)?,
                maximize: h.flag("maximize", d.maximize)?,
            }))
        }
        "adagrad" => {
            let d = AdagradConfig::default();
            Ok(Any::Adagrad(AdagradConfig {
                lr: h.float("lr", d.lr)?,
                lr_decay: h.float("lr_decay", d.lr_decay)?,
                weight_decay: l2()?,
                initial_accumulator_value: h
                    .float("initial_accumulator_value", d.initial_accumulator_value)?,
                eps: h.float("eps", d.eps)?,
                maximize: h.flag("maximize", d.maximize)?,
            }))
        }
        "rmsprop" => {
            let d = RmsPropConfig::default();
            Ok(Any::RmsProp(RmsPropConfig {
                lr: h.float("lr", d.lr)?,
                alpha: h.float("alpha", d.alpha)?,
                eps: h.float("eps", d.eps)?,
                weight_decay: l2()?,
                momentum: h.float("momentum", d.momentum)?,
                centered: h.flag("centered", d.centered)?,
                maximize: h.flag("maximize", d.maximize)?,
            }))
        }
        "adadelta" => {
            let d = AdadeltaConfig::default();
            Ok(Any::Adadelta(AdadeltaConfig {
                lr: h.float("lr", d.lr)?,
                rho: h.float("rho", d.rho)?,
                eps: h.float("eps", d.eps)?,
                weight_decay: l2()?,
                maximize: h.flag("maximize", d.maximize)?,
            }))
        }
        "adam" | "adamw" => {
            let d = AdamConfig::default();
            let decoupled = name == "adamw" || h.flag("decoupled_weight_decay", false)?;
            let lambda = h.float("weight_decay", if name == "adamw" { 1e-2 } else { 0.0 })?;
            Ok(Any::Adam(AdamConfig {
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
            }))
        }
        _ => {
            let d = RpropConfig::default();
            Ok(Any::Rprop(RpropConfig {
                lr: h.float("lr", d.lr)?,
                etas: h.pair("etas", d.etas)?,
                step_sizes: h.pair("step_sizes", d.step_sizes)?,
                maximize: h.flag("maximize", d.maximize)?,
            }))
        }
    }
}
