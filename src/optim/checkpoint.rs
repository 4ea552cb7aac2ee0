//! Checkpoints: saving an optimizer and rebuilding it from what was saved
//! (cargo feature `serde`).
//!
//! Every first-order configuration and state derives `Serialize` and
//! `Deserialize`. A state's buffers keep PyTorch's names (`exp_avg`,
//! `exp_avg_sq`, `max_exp_avg_sq`, `momentum_buffer`, `sum`, `square_avg`,
//! `grad_avg`, `acc_delta`, `prev`, `step_size`) and its step counter is `step`;
//! a buffer is a plain list of numbers, an absent optional buffer is `null`.
//! An [`Optim`] serializes as `{"config": .., "state": ..}` (`state` is `null`
//! before the first step).
//!
//! A saved state is not trusted: [`Optim::from_parts`] (which deserializing an
//! [`Optim`] also goes through) checks the configuration's ranges, then that the
//! state has exactly the buffers the configuration creates (AMSGrad's
//! `max_exp_avg_sq` iff `amsgrad`, SGD's `momentum_buffer` iff `momentum != 0`,
//! ...), that every buffer has as many entries as the others, and that every
//! entry is finite. The check compares the saved state with the state the
//! configuration would create for the same number of coordinates, so it holds for
//! any rule without rule-specific code. A refused load names the field.
//!
//! Resuming is exact: the driver's arithmetic depends only on the configuration,
//! the state and the inputs, and JSON numbers read back to the same `f64`
//! (serde_json's `float_roundtrip`), so `k` steps, save, load, `k` more steps end
//! bit-identical to `2k` steps in one go (`tests/checkpoint.rs`).
//!
//! ```
//! use descent::optim::{Adam, AdamConfig};
//!
//! let mut adam = Adam::new(AdamConfig::adamw())?;
//! let mut theta = vec![1.0, -2.0];
//! for _ in 0..3 {
//!     let grad = theta.clone();
//!     adam.step_slice(&mut theta, &grad)?;
//! }
//! let saved = serde_json::to_string(&adam)?;
//! let resumed: Adam = serde_json::from_str(&saved)?;
//! assert_eq!(resumed, adam);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::scalar::Scalar;
use super::{Buffers, Optim, Rule};
use crate::error::{CheckpointError, HyperError};

impl<S: Scalar, R: Rule<S>> Optim<R, S>
where
    R::State: Serialize,
{
    /// Rebuilds an optimizer from its configuration and a saved state (`None`:
    /// no step taken yet), refusing a configuration outside its ranges and a state
    /// that the configuration could not have produced (see the module
    /// documentation). On success the optimizer continues exactly where the saved
    /// one stopped.
    pub fn from_parts(config: R, state: Option<R::State>) -> Result<Self, CheckpointError> {
        config.validate()?;
        if let Some(s) = &state {
            check_state(&config, s)?;
        }
        // The driver's spare copy and parameter backup come with the state (the
        // driver rebuilds the state when it finds no spare).
        let backup = vec![S::zero(); state.as_ref().and_then(Buffers::coords).unwrap_or(0)];
        Ok(Optim {
            config,
            spare: state.clone(),
            state,
            backup,
        })
    }

    /// The configuration and the state, the inverse of [`Optim::from_parts`].
    pub fn into_parts(self) -> (R, Option<R::State>) {
        (self.config, self.state)
    }
}

/// Compares a saved state with the one `config` creates for as many
/// coordinates (the same buffers, of the same lengths), then checks that every
/// entry is finite.
fn check_state<S: Scalar, R: Rule<S>>(config: &R, saved: &R::State) -> Result<(), CheckpointError>
where
    R::State: Serialize,
{
    let n = saved.coords().unwrap_or(0);
    let fresh = config.init(&vec![S::zero(); n]);
    let refuse = |field: &str, found: String, expected: String| CheckpointError::State {
        optimizer: config.name(),
        field: field.to_string(),
        found,
        expected,
    };
    let as_map = |s: &R::State| match serde_json::to_value(s) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(refuse(
            "state",
            "a value that is not a map".into(),
            "a map of buffers".into(),
        )),
    };
    let (saved_map, fresh_map) = (as_map(saved)?, as_map(&fresh)?);
    for (field, want) in &fresh_map {
        let got = saved_map.get(field).unwrap_or(&Value::Null);
        match (want, got) {
            (Value::Null, Value::Null) => {}
            (Value::Null, _) => {
                return Err(refuse(
                    field,
                    "a buffer".into(),
                    format!("no {field} for this configuration (null)"),
                ));
            }
            (Value::Array(_), Value::Null) => {
                return Err(refuse(
                    field,
                    "null".into(),
                    format!("a buffer of {n} entries for this configuration"),
                ));
            }
            (Value::Array(w), Value::Array(g)) if w.len() != g.len() => {
                return Err(refuse(
                    field,
                    format!("{} entries", g.len()),
                    format!("{} entries, as many as the state's other buffers", w.len()),
                ));
            }
            _ => {}
        }
    }
    // Every entry finite, named by its buffer (the driver's own check). The
    // buffers now have `n` entries each, so every read is in bounds.
    for i in 0..n {
        if let Some(buffer) = R::State::non_finite(&saved.get(i)) {
            return Err(CheckpointError::Entry(HyperError {
                optimizer: config.name(),
                param: buffer,
                value: format!("a non-finite number at {buffer}[{i}]"),
                range: "finite",
            }));
        }
    }
    // Anything else the state keeps (a running scalar, say): serde_json writes
    // a NaN or an infinity as null.
    for (field, want) in &fresh_map {
        let got = saved_map.get(field).unwrap_or(&Value::Null);
        match (want, got) {
            (Value::Array(_), Value::Array(g)) => {
                if let Some(i) = g.iter().position(|x| !x.is_number()) {
                    return Err(refuse(
                        &format!("{field}[{i}]"),
                        "a non-finite number".into(),
                        "a finite number".into(),
                    ));
                }
            }
            (Value::Number(_), g) if !g.is_number() => {
                return Err(refuse(field, g.to_string(), "a finite number".into()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The parts of an [`Optim`] as they are written.
#[derive(Serialize)]
struct PartsRef<'a, R, St> {
    config: &'a R,
    state: Option<&'a St>,
}

/// The parts of an [`Optim`] as they are read, before they are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Parts<R, St> {
    config: R,
    state: Option<St>,
}

impl<S: Scalar, R: Rule<S> + Serialize> Serialize for Optim<R, S>
where
    R::State: Serialize,
{
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        PartsRef {
            config: &self.config,
            state: self.state.as_ref(),
        }
        .serialize(serializer)
    }
}

impl<'de, S: Scalar, R: Rule<S> + Deserialize<'de>> Deserialize<'de> for Optim<R, S>
where
    R::State: Serialize + Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let parts = Parts::<R, R::State>::deserialize(deserializer)?;
        Optim::from_parts(parts.config, parts.state).map_err(D::Error::custom)
    }
}

/// A buffer written as a plain list of numbers (`#[serde(with = ...)]`).
pub(crate) mod vector {
    use nalgebra::DVector;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serialize, Z: Serializer>(
        v: &DVector<S>,
        serializer: Z,
    ) -> Result<Z::Ok, Z::Error> {
        v.as_slice().serialize(serializer)
    }

    pub(crate) fn deserialize<'de, S, D>(deserializer: D) -> Result<DVector<S>, D::Error>
    where
        S: Deserialize<'de> + nalgebra::Scalar,
        D: Deserializer<'de>,
    {
        Vec::<S>::deserialize(deserializer).map(DVector::from_vec)
    }
}

/// An optional buffer: a list of numbers, or `null` when absent.
pub(crate) mod opt_vector {
    use nalgebra::DVector;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serialize, Z: Serializer>(
        v: &Option<DVector<S>>,
        serializer: Z,
    ) -> Result<Z::Ok, Z::Error> {
        v.as_ref().map(|b| b.as_slice()).serialize(serializer)
    }

    pub(crate) fn deserialize<'de, S, D>(deserializer: D) -> Result<Option<DVector<S>>, D::Error>
    where
        S: Deserialize<'de> + nalgebra::Scalar,
        D: Deserializer<'de>,
    {
        Option::<Vec<S>>::deserialize(deserializer).map(|v| v.map(DVector::from_vec))
    }
}
