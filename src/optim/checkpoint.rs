//! Checkpoints: saving an optimizer and rebuilding it from what was saved
//! (cargo feature `serde`).
//!
//! Every first-order configuration and state derives `Serialize` and
//! `Deserialize`. A state's buffers keep PyTorch's names (`exp_avg`,
//! `exp_avg_sq`, `max_exp_avg_sq`, `momentum_buffer`, `sum`, `square_avg`,
//! `grad_avg`, `acc_delta`, `prev`, `step_size`; ASGD's `ax`, `eta`, `mu`;
//! Adamax's `exp_inf`; NAdam's `mu_product`; Adafactor's `row_var`, `col_var`,
//! `variance`), except Lion's momentum, which keeps Optax's name `mu`; the step
//! counter is `step`. A buffer is a plain list of numbers, an absent optional
//! buffer is `null`. An [`Optim`] serializes as `{"config": .., "state": ..}`
//! (`state` is `null` before the first step); [`Adafactor`] and [`Muon`], which
//! step one shaped parameter, as `{"config": .., "shape": .., "state": ..}`.
//!
//! A saved state is not trusted: [`Optim::from_parts`] (which deserializing an
//! [`Optim`] also goes through) checks the configuration's ranges, then that the
//! state has exactly the buffers the configuration creates (AMSGrad's
//! `max_exp_avg_sq` iff `amsgrad`, SGD's `momentum_buffer` iff `momentum != 0`,
//! ...), that every buffer has as many entries as the others, and that every
//! entry is finite. The check compares the saved state with the state the
//! configuration would create for the same number of coordinates, so it holds for
//! any rule without rule-specific code (`check_layout`, shared with Adafactor
//! and Muon, whose fresh state comes from their shape). A refused load names
//! the field.
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

use super::adafactor::{Adafactor, AdafactorConfig, AdafactorState};
use super::muon::{Muon, MuonConfig, MuonState};
use super::scalar::Scalar;
use super::{Buffers, Optim, Refusal, Rule};
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
        // A staging driver's spare copy and parameter backup come with the state,
        // so that the next step allocates nothing; a checking driver needs neither.
        let (spare, backup) = match (config.refusal(), &state) {
            (Refusal::Stage, Some(s)) => {
                (Some(s.clone()), vec![S::zero(); s.coords().unwrap_or(0)])
            }
            _ => (None, Vec::new()),
        };
        Ok(Optim {
            config,
            spare,
            state,
            backup,
            refusal: None,
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
    check_layout(
        config.name(),
        saved,
        &fresh,
        "as many as the state's other buffers",
    )?;
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
    check_finite(config.name(), saved, &fresh)
}

/// Compares a saved state with `fresh`, the state its configuration creates:
/// every buffer `fresh` has must be there, every buffer it lacks (`null`) must
/// be absent, and each must have as many entries (`why` says why that many). Any
/// state that serializes to a map of buffers can be checked this way, whatever
/// its rule: the shared check of every checkpoint.
fn check_layout<St: Serialize>(
    optimizer: &'static str,
    saved: &St,
    fresh: &St,
    why: &str,
) -> Result<(), CheckpointError> {
    let (saved_map, fresh_map) = (as_map(optimizer, saved)?, as_map(optimizer, fresh)?);
    for (field, want) in &fresh_map {
        let got = saved_map.get(field).unwrap_or(&Value::Null);
        match (want, got) {
            (Value::Null, Value::Null) => {}
            (Value::Null, _) => {
                return Err(refuse(
                    optimizer,
                    field,
                    "a buffer".into(),
                    format!("no {field} for this configuration (null)"),
                ));
            }
            (Value::Array(w), Value::Null) => {
                return Err(refuse(
                    optimizer,
                    field,
                    "null".into(),
                    format!("a buffer of {} entries for this configuration", w.len()),
                ));
            }
            (Value::Array(w), Value::Array(g)) if w.len() != g.len() => {
                return Err(refuse(
                    optimizer,
                    field,
                    format!("{} entries", g.len()),
                    format!("{} entries, {why}", w.len()),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks that every number of a saved state is finite: every buffer entry and
/// every running scalar that `fresh` has (serde_json writes a NaN or an infinity
/// as `null`).
fn check_finite<St: Serialize>(
    optimizer: &'static str,
    saved: &St,
    fresh: &St,
) -> Result<(), CheckpointError> {
    let fresh_map = as_map(optimizer, fresh)?;
    for (field, got) in &as_map(optimizer, saved)? {
        let want = fresh_map.get(field).unwrap_or(&Value::Null);
        match got {
            Value::Null if !want.is_null() => {
                return Err(refuse(
                    optimizer,
                    field,
                    "null (a non-finite number)".into(),
                    "a finite number".into(),
                ));
            }
            Value::Array(g) => {
                if let Some(i) = g.iter().position(|x| !x.is_number()) {
                    return Err(refuse(
                        optimizer,
                        &format!("{field}[{i}]"),
                        "a non-finite number".into(),
                        "a finite number".into(),
                    ));
                }
            }
            Value::Null | Value::Number(_) => {}
            other => {
                return Err(refuse(
                    optimizer,
                    field,
                    other.to_string(),
                    "a number".into(),
                ));
            }
        }
    }
    Ok(())
}

/// A refused state field.
fn refuse(
    optimizer: &'static str,
    field: &str,
    found: String,
    expected: String,
) -> CheckpointError {
    CheckpointError::State {
        optimizer,
        field: field.to_string(),
        found,
        expected,
    }
}

/// A state as a map of its fields.
fn as_map<St: Serialize>(
    optimizer: &'static str,
    state: &St,
) -> Result<serde_json::Map<String, Value>, CheckpointError> {
    match serde_json::to_value(state) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(refuse(
            optimizer,
            "state",
            "a value that is not a map".into(),
            "a map of buffers".into(),
        )),
    }
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

impl Adafactor {
    /// Rebuilds Adafactor for a parameter of `shape` from its configuration and
    /// a saved state (`None`: no step taken yet), refusing a configuration
    /// outside its ranges and a state the configuration and shape could not have
    /// produced: `row_var` (`rows` entries) and `col_var` (`cols`) for a matrix,
    /// `variance` for a vector, every number finite.
    pub fn from_parts(
        config: AdafactorConfig,
        shape: Option<[usize; 2]>,
        state: Option<AdafactorState>,
    ) -> Result<Self, CheckpointError> {
        let mut opt = Adafactor::new(config, shape)?;
        if let Some(saved) = &state {
            let n = saved.variance.as_ref().map_or(0, |v| v.len());
            let fresh = opt.init(n);
            let why = match shape {
                Some([rows, cols]) => format!("for a {rows} x {cols} matrix"),
                None => "as many as the parameter".to_string(),
            };
            check_layout(AdafactorConfig::NAME, saved, &fresh, &why)?;
            check_finite(AdafactorConfig::NAME, saved, &fresh)?;
        }
        opt.state = state;
        Ok(opt)
    }

    /// The configuration, the shape and the state, the inverse of
    /// [`Adafactor::from_parts`].
    pub fn into_parts(self) -> (AdafactorConfig, Option<[usize; 2]>, Option<AdafactorState>) {
        (self.config, self.shape, self.state)
    }
}

impl Muon {
    /// Rebuilds Muon for a `rows x cols` matrix from its configuration and a
    /// saved state (`None`: no step taken yet), refusing a configuration outside
    /// its ranges and a state whose `momentum_buffer` does not have `rows * cols`
    /// finite entries.
    pub fn from_parts(
        config: MuonConfig,
        shape: [usize; 2],
        state: Option<MuonState>,
    ) -> Result<Self, CheckpointError> {
        let mut opt = Muon::new(config, shape)?;
        if let Some(saved) = &state {
            let [rows, cols] = shape;
            let fresh = MuonState {
                step: 0,
                momentum_buffer: nalgebra::DVector::zeros(rows * cols),
            };
            let why = format!("for a {rows} x {cols} matrix");
            check_layout(MuonConfig::NAME, saved, &fresh, &why)?;
            check_finite(MuonConfig::NAME, saved, &fresh)?;
        }
        opt.state = state;
        Ok(opt)
    }

    /// The configuration, the shape and the state, the inverse of
    /// [`Muon::from_parts`].
    pub fn into_parts(self) -> (MuonConfig, [usize; 2], Option<MuonState>) {
        (self.config, self.shape, self.state)
    }
}

/// A shaped optimizer (Adafactor, Muon) as it is written and read:
/// `{"config": .., "shape": .., "state": ..}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Shaped<C, Sh, St> {
    config: C,
    shape: Sh,
    state: Option<St>,
}

impl Serialize for Adafactor {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        Shaped {
            config: &self.config,
            shape: self.shape,
            state: self.state.as_ref(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Adafactor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let p = Shaped::<AdafactorConfig, Option<[usize; 2]>, AdafactorState>::deserialize(
            deserializer,
        )?;
        Adafactor::from_parts(p.config, p.shape, p.state).map_err(D::Error::custom)
    }
}

impl Serialize for Muon {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        Shaped {
            config: &self.config,
            shape: self.shape,
            state: self.state.as_ref(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Muon {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let p = Shaped::<MuonConfig, [usize; 2], MuonState>::deserialize(deserializer)?;
        Muon::from_parts(p.config, p.shape, p.state).map_err(D::Error::custom)
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
