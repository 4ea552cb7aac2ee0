//! First-order optimizers with PyTorch 2.x semantics (single-tensor path, float64).
//!
//! Every optimizer here acts coordinate by coordinate. Each file states one
//! optimizer as a pure function of one coordinate, `update(t, theta, g, state)`,
//! which reads like the algorithm box in the book. The driver [`Optim`] runs that
//! function over all coordinates in two passes, so that a step is either taken
//! whole or refused whole:
//!
//! 1. check the inputs (lengths, finite gradient);
//! 2. compute every new value and check that it is finite, writing nothing;
//! 3. compute again and write. The arithmetic is deterministic, so pass 3 writes
//!    exactly the values that pass 2 checked.
//!
//! Nothing is allocated in a step once the state exists (the state is created on
//! the first step, as PyTorch does).

use std::fmt::Debug;

use nalgebra::DVector;

use crate::error::{HyperError, StepError};

pub mod adadelta;
pub mod adagrad;
pub mod adam;
pub mod decay;
pub mod hyper;
pub mod moments;
pub mod rmsprop;
pub mod rprop;
pub mod sgd;

pub use adadelta::{Adadelta, AdadeltaConfig, AdadeltaState};
pub use adagrad::{Adagrad, AdagradConfig, AdagradState};
pub use adam::{Adam, AdamConfig, AdamState, Amsgrad};
pub use decay::WeightDecay;
pub use rmsprop::{RmsProp, RmsPropConfig, RmsPropState};
pub use rprop::{Rprop, RpropConfig, RpropState};
pub use sgd::{Sgd, SgdConfig, SgdState};

/// An optimizer that updates parameters in place from a gradient.
pub trait Optimizer {
    /// Takes one step: `params` is updated in place from `grad`.
    ///
    /// On error nothing changes: parameters and state stay bit-for-bit as they were.
    fn step(&mut self, params: &mut DVector<f64>, grad: &DVector<f64>) -> Result<(), StepError>;

    /// The number of steps taken so far.
    fn steps_taken(&self) -> u64;

    /// The optimizer's name, as `descent replay` spells it.
    fn name(&self) -> &'static str;

    /// The learning rate the next step will use.
    fn lr(&self) -> f64;

    /// Sets the learning rate for the next steps, keeping the state (what a
    /// learning-rate schedule does). A negative or non-finite rate is refused and
    /// nothing changes.
    fn set_lr(&mut self, lr: f64) -> Result<(), HyperError>;

    /// The momentum coefficient a schedule may cycle (PyTorch's OneCycleLR with
    /// `cycle_momentum`): SGD's and RMSprop's `momentum`, Adam's `betas[0]`; `None`
    /// for an optimizer that has neither.
    fn momentum(&self) -> Option<f64> {
        None
    }

    /// Sets the coefficient that [`Optimizer::momentum`] reads. A value outside its
    /// range, or an optimizer without one, is refused and nothing changes.
    fn set_momentum(&mut self, momentum: f64) -> Result<(), HyperError> {
        Err(HyperError {
            optimizer: self.name(),
            param: "momentum",
            value: format!("{momentum:?}"),
            range: "none: this optimizer has no momentum or betas[0]",
        })
    }
}

/// The buffers of an optimizer's state, read and written one coordinate at a time.
pub trait Buffers: Clone + PartialEq + Debug {
    /// The state of one coordinate (one entry of every buffer).
    type Coord: Copy;
    /// The number of coordinates, or `None` when the state keeps no per-coordinate
    /// buffer (SGD without momentum).
    fn coords(&self) -> Option<usize>;
    /// The number of steps taken (PyTorch's `state["step"]`).
    fn step(&self) -> u64;
    /// Sets the number of steps taken.
    fn set_step(&mut self, t: u64);
    /// Reads coordinate `i`.
    fn get(&self, i: usize) -> Self::Coord;
    /// Writes coordinate `i`.
    fn set(&mut self, i: usize, c: Self::Coord);
    /// The name of the first buffer whose entry in `c` is not finite, if any.
    fn non_finite(c: &Self::Coord) -> Option<&'static str>;
    /// Whether the state holds the buffer that a nonzero [`Rule::momentum_mut`]
    /// needs (SGD and RMSprop create it only when built with nonzero momentum).
    fn has_momentum_buffer(&self) -> bool {
        true
    }
}

/// An optimizer stated coordinate by coordinate: its validated hyperparameters
/// and its update rule.
pub trait Rule: Clone + Debug {
    /// The optimizer's state.
    type State: Buffers;
    /// The optimizer's name, as `descent replay` spells it.
    const NAME: &'static str;
    /// The name of this configuration (e.g. `adamw` for Adam with decoupled decay).
    fn name(&self) -> &'static str {
        Self::NAME
    }
    /// Checks every hyperparameter against its valid range.
    fn validate(&self) -> Result<(), HyperError>;
    /// The learning rate, which a schedule may change between steps.
    fn lr_mut(&mut self) -> &mut f64;
    /// The momentum coefficient a schedule may cycle (`momentum`, or Adam's
    /// `betas[0]`), if the rule has one.
    fn momentum_mut(&mut self) -> Option<&mut f64> {
        None
    }
    /// The state before the first step, for parameters `theta`.
    fn init(&self, theta: &DVector<f64>) -> Self::State;
    /// One coordinate's step `t` (counted from 1): returns the new parameter and
    /// the new state of that coordinate.
    fn update(
        &self,
        t: u64,
        theta: f64,
        g: f64,
        s: <Self::State as Buffers>::Coord,
    ) -> (f64, <Self::State as Buffers>::Coord);
}

/// An optimizer: validated hyperparameters `R` and the state they act on.
#[derive(Clone, Debug, PartialEq)]
pub struct Optim<R: Rule> {
    config: R,
    state: Option<R::State>,
}

impl<R: Rule> Optim<R> {
    /// Builds the optimizer, refusing any hyperparameter outside its range.
    pub fn new(config: R) -> Result<Self, HyperError> {
        config.validate()?;
        Ok(Optim {
            config,
            state: None,
        })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &R {
        &self.config
    }

    /// The state, or `None` before the first step.
    pub fn state(&self) -> Option<&R::State> {
        self.state.as_ref()
    }

    /// Sets the learning rate for the next steps, keeping the state (a learning-rate
    /// schedule). A negative or non-finite rate is refused and nothing changes.
    /// Rprop's `lr` is only its initial step size: changing it after the first
    /// step has no effect.
    pub fn set_lr(&mut self, lr: f64) -> Result<(), HyperError> {
        hyper::non_negative(R::NAME, "lr", lr)?;
        *self.config.lr_mut() = lr;
        Ok(())
    }

    /// Sets the momentum coefficient ([`Rule::momentum_mut`]) for the next steps,
    /// keeping the state. The whole configuration is validated again (e.g. Nesterov
    /// needs momentum > 0); a refused value changes nothing. Once the state exists
    /// without a momentum buffer, a nonzero value is refused: PyTorch's SGD would
    /// start a buffer there, which this crate's state does not model.
    pub fn set_momentum(&mut self, momentum: f64) -> Result<(), HyperError> {
        let refuse = |range| HyperError {
            optimizer: R::NAME,
            param: "momentum",
            value: format!("{momentum:?}"),
            range,
        };
        let mut candidate = self.config.clone();
        let Some(m) = candidate.momentum_mut() else {
            return Err(refuse("none: this optimizer has no momentum or betas[0]"));
        };
        *m = momentum;
        candidate.validate()?;
        if momentum != 0.0
            && self
                .state
                .as_ref()
                .is_some_and(|s| !s.has_momentum_buffer())
        {
            return Err(refuse("0 (the state was built without a momentum buffer)"));
        }
        self.config = candidate;
        Ok(())
    }

    /// Forgets the state, as if no step had been taken.
    pub fn reset(&mut self) {
        self.state = None;
    }
}

impl<R: Rule> Optimizer for Optim<R> {
    fn step(&mut self, params: &mut DVector<f64>, grad: &DVector<f64>) -> Result<(), StepError> {
        step_all(&self.config, &mut self.state, params, grad)
    }

    fn steps_taken(&self) -> u64 {
        self.state.as_ref().map_or(0, Buffers::step)
    }

    fn name(&self) -> &'static str {
        self.config.name()
    }

    fn lr(&self) -> f64 {
        *self.config.clone().lr_mut()
    }

    fn set_lr(&mut self, lr: f64) -> Result<(), HyperError> {
        Optim::set_lr(self, lr)
    }

    fn momentum(&self) -> Option<f64> {
        self.config.clone().momentum_mut().map(|m| *m)
    }

    fn set_momentum(&mut self, momentum: f64) -> Result<(), HyperError> {
        Optim::set_momentum(self, momentum)
    }
}

// ANCHOR: driver
/// The two-pass driver described in the module documentation.
fn step_all<R: Rule>(
    rule: &R,
    state: &mut Option<R::State>,
    params: &mut DVector<f64>,
    grad: &DVector<f64>,
) -> Result<(), StepError> {
    let n = params.len();
    if grad.len() != n {
        return Err(StepError::LengthMismatch {
            what: "grad",
            expected: n,
            found: grad.len(),
        });
    }
    if let Some(expected) = state.as_ref().and_then(Buffers::coords)
        && expected != n
    {
        return Err(StepError::LengthMismatch {
            what: "params",
            expected,
            found: n,
        });
    }
    if let Some((index, &value)) = grad.iter().enumerate().find(|(_, g)| !g.is_finite()) {
        return Err(StepError::NonFiniteGradient { index, value });
    }

    // The first step builds the state; it is kept only if the step is taken.
    let mut fresh = None;
    let s: &mut R::State = match state {
        Some(s) => s,
        None => fresh.insert(rule.init(params)),
    };
    let t = s.step().saturating_add(1);

    for i in 0..n {
        let (theta, c) = rule.update(t, params[i], grad[i], s.get(i));
        if !theta.is_finite() {
            return Err(StepError::NonFiniteResult {
                index: i,
                quantity: "param",
            });
        }
        if let Some(quantity) = R::State::non_finite(&c) {
            return Err(StepError::NonFiniteResult { index: i, quantity });
        }
    }
    for i in 0..n {
        let (theta, c) = rule.update(t, params[i], grad[i], s.get(i));
        params[i] = theta;
        s.set(i, c);
    }
    s.set_step(t);

    if fresh.is_some() {
        *state = fresh;
    }
    Ok(())
}
// ANCHOR_END: driver

/// The name of the first non-finite entry among `(name, value)` pairs.
pub(crate) fn first_non_finite(entries: &[(&'static str, f64)]) -> Option<&'static str> {
    entries
        .iter()
        .find(|(_, v)| !v.is_finite())
        .map(|(name, _)| *name)
}
