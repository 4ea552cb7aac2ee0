//! First-order optimizers with PyTorch 2.x semantics (single-tensor path).
//!
//! Every optimizer here acts coordinate by coordinate. Each file states one
//! optimizer as a [`Rule`] in two parts that read like the algorithm box in the
//! book: [`Rule::prepare`], the constants of step `t` (bias corrections, their
//! roots, `lr / bc1`, a decayed rate), computed once per step; and
//! [`Rule::apply`], a pure function of one coordinate,
//! `apply(constants, theta, g, state) -> (theta, state)`. Rules are generic over
//! the [`Scalar`] they run in: `f64` (the default, bit for bit PyTorch's float64),
//! `f32`, or an exact type for the root-free rules.
//!
//! The driver [`Optim`] runs the rule over all coordinates of plain slices
//! ([`Optim::step_slice`]; [`Optimizer::step`] takes `DVector`s), in two passes,
//! so that a step is either taken whole or refused whole:
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
pub mod adafactor;
pub mod adagrad;
pub mod adam;
pub mod decay;
pub mod hyper;
pub mod lion;
pub mod moments;
pub mod muon;
pub mod rmsprop;
pub mod rprop;
pub mod scalar;
pub mod sgd;

pub use adadelta::{Adadelta, AdadeltaConfig, AdadeltaState};
pub use adafactor::{Adafactor, AdafactorConfig, AdafactorState};
pub use adagrad::{Adagrad, AdagradConfig, AdagradState};
pub use adam::{Adam, AdamConfig, AdamState, Amsgrad};
pub use decay::WeightDecay;
pub use lion::{Lion, LionConfig, LionState};
pub use muon::{AdjustLr, Muon, MuonConfig, MuonState};
pub use rmsprop::{RmsProp, RmsPropConfig, RmsPropState};
pub use rprop::{Rprop, RpropConfig, RpropState};
pub use scalar::{Real, Scalar};
pub use sgd::{Sgd, SgdConfig, SgdState};

/// An optimizer that updates parameters in place from a gradient.
pub trait Optimizer {
    /// Takes one step: `params` is updated in place from `grad`.
    ///
    /// On error nothing changes: parameters and state stay bit-for-bit as they were.
    fn step(&mut self, params: &mut DVector<f64>, grad: &DVector<f64>) -> Result<(), StepError>;

    /// Takes one step on plain slices (a `Vec`, an ndarray's memory, a
    /// `DVector`'s storage), with the same guarantees as [`Optimizer::step`].
    ///
    /// [`Optim`] works on slices directly. This default, for optimizers that work
    /// on `DVector`s, copies the two slices into vectors and back.
    fn step_slice(&mut self, params: &mut [f64], grad: &[f64]) -> Result<(), StepError> {
        let mut theta = DVector::from_column_slice(params);
        self.step(&mut theta, &DVector::from_column_slice(grad))?;
        params.copy_from_slice(theta.as_slice());
        Ok(())
    }

    /// The number of steps taken so far.
    fn steps_taken(&self) -> u64;

    /// The optimizer's name, as `descent replay` spells it.
    fn name(&self) -> &'static str;
}

/// The buffers of an optimizer's state, read and written one coordinate at a time.
///
/// A state keeps one vector per buffer (PyTorch's names), some of them optional.
/// It is read and written two ways: [`Buffers::get`] and [`Buffers::set`] one
/// coordinate at a time (for tests and oracles), and [`Buffers::lanes`], the same
/// buffers as plain slices for the driver's loop, where every index is known to
/// be in bounds and the loop can run on the CPU's vector units.
pub trait Buffers: Clone + PartialEq + Debug {
    /// The number type of the buffers.
    type Scalar: Scalar;
    /// The state of one coordinate (one entry of every buffer).
    type Coord: Copy;
    /// The buffers as slices (see [`Lanes`]).
    type Lanes<'a>: Lanes<Coord = Self::Coord>
    where
        Self: 'a;
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
    /// Every buffer, as a mutable slice.
    fn lanes(&mut self) -> Self::Lanes<'_>;
    /// The name of the first buffer whose entry in `c` is not finite, if any.
    fn non_finite(c: &Self::Coord) -> Option<&'static str>;
    /// Whether every entry of `c` is finite (the driver's fast test; the same as
    /// `non_finite(c).is_none()`).
    #[inline(always)]
    fn is_finite(c: &Self::Coord) -> bool {
        Self::non_finite(c).is_none()
    }
}

/// A state's buffers as slices of equal length: what the driver's loop reads and
/// writes. Slices are used, not the state's vectors, so that after
/// [`Lanes::truncate`] the compiler sees every index below `n` is in bounds.
///
/// A single buffer is `&mut [S]`, an optional one `Option<&mut [S]>` (reading 0
/// when absent); a state with several buffers defines a small struct of those.
pub trait Lanes {
    /// The state of one coordinate.
    type Coord: Copy;
    /// The same slices cut to their first `n` entries (every buffer has at least
    /// `n`: the driver checked the state's length).
    fn truncate(self, n: usize) -> Self;
    /// Reads coordinate `i`.
    fn get(&self, i: usize) -> Self::Coord;
    /// Writes coordinate `i`.
    fn set(&mut self, i: usize, c: Self::Coord);
}

impl<S: Scalar> Lanes for &mut [S] {
    type Coord = S;
    #[inline(always)]
    fn truncate(self, n: usize) -> Self {
        &mut self[..n]
    }
    #[inline(always)]
    fn get(&self, i: usize) -> S {
        self[i]
    }
    #[inline(always)]
    fn set(&mut self, i: usize, c: S) {
        self[i] = c;
    }
}

impl<S: Scalar> Lanes for Option<&mut [S]> {
    type Coord = S;
    #[inline(always)]
    fn truncate(self, n: usize) -> Self {
        self.map(|b| &mut b[..n])
    }
    #[inline(always)]
    fn get(&self, i: usize) -> S {
        self.as_ref().map_or(S::zero(), |b| b[i])
    }
    #[inline(always)]
    fn set(&mut self, i: usize, c: S) {
        if let Some(b) = self {
            b[i] = c;
        }
    }
}

/// The hyperparameters of an optimizer, whatever scalar type it runs in.
pub trait Config: Clone + Debug {
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
}

/// The per-coordinate state of rule `R` in scalar type `S`.
pub type CoordOf<R, S = f64> = <<R as Rule<S>>::State as Buffers>::Coord;

/// An optimizer stated coordinate by coordinate: its validated hyperparameters,
/// the constants of each step, and its update rule, in scalar type `S`.
///
/// A step `t` runs in two stages. [`Rule::prepare`] computes, once, every quantity
/// that depends only on `t` and the hyperparameters (bias corrections and their
/// roots, `lr / bc1`, a decayed learning rate), in `f64` as PyTorch does in
/// Python, converted once to `S`. [`Rule::apply`] then updates one coordinate
/// from those constants; it reads like the optimizer's algorithm box.
pub trait Rule<S: Scalar = f64>: Config {
    /// The optimizer's state.
    type State: Buffers<Scalar = S>;
    /// The constants of one step, computed by [`Rule::prepare`].
    type Step: Copy + Debug;
    /// The state before the first step, for parameters `theta` (a slice, or
    /// anything that views as one, such as a `DVector`).
    fn init(&self, theta: &(impl AsRef<[S]> + ?Sized)) -> Self::State;
    /// The constants of step `t` (counted from 1), computed once for all
    /// coordinates.
    fn prepare(&self, t: u64) -> Self::Step;
    /// One coordinate's step with the step's constants `k`: returns the new
    /// parameter and the new state of that coordinate.
    fn apply(&self, k: &Self::Step, theta: S, g: S, s: CoordOf<Self, S>) -> (S, CoordOf<Self, S>);
    /// One coordinate's step `t`, preparing the constants for this coordinate
    /// alone: `apply(&prepare(t), ...)`. The driver prepares once per step.
    fn update(&self, t: u64, theta: S, g: S, s: CoordOf<Self, S>) -> (S, CoordOf<Self, S>) {
        self.apply(&self.prepare(t), theta, g, s)
    }
    /// The constants of the step that follows state `s`. The default is
    /// `prepare(s.step() + 1)`; a rule whose constants depend on more than `t`
    /// (a running product kept in its state) overrides it.
    fn prepare_for(&self, s: &Self::State) -> Self::Step {
        self.prepare(s.step().saturating_add(1))
    }
    /// Called once a step is taken, with its constants: a rule that keeps running
    /// per-step scalars in its state records them here. The default does nothing.
    fn finish(&self, k: &Self::Step, s: &mut Self::State) {
        let _ = (k, s);
    }
}

/// An optimizer: validated hyperparameters `R` and the state they act on, in
/// scalar type `S` (`f64` unless said otherwise).
#[derive(Clone, Debug, PartialEq)]
pub struct Optim<R: Rule<S>, S: Scalar = f64> {
    config: R,
    state: Option<R::State>,
}

impl<R: Rule> Optim<R> {
    /// Builds the optimizer in `f64`, refusing any hyperparameter outside its range.
    pub fn new(config: R) -> Result<Self, HyperError> {
        Self::in_scalar(config)
    }
}

impl<S: Scalar, R: Rule<S>> Optim<R, S> {
    /// Builds the optimizer in scalar type `S` (e.g. `Optim::<_, f32>::in_scalar`),
    /// refusing any hyperparameter outside its range.
    pub fn in_scalar(config: R) -> Result<Self, HyperError> {
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

    /// Forgets the state, as if no step had been taken.
    pub fn reset(&mut self) {
        self.state = None;
    }

    /// Takes one step on slices in scalar type `S`. On error nothing changes.
    pub fn step_slice(&mut self, params: &mut [S], grad: &[S]) -> Result<(), StepError> {
        step_all(&self.config, &mut self.state, params, grad)
    }

    /// The number of steps taken so far.
    pub fn steps_taken(&self) -> u64 {
        self.state.as_ref().map_or(0, Buffers::step)
    }
}

impl<R: Rule> Optimizer for Optim<R> {
    fn step(&mut self, params: &mut DVector<f64>, grad: &DVector<f64>) -> Result<(), StepError> {
        self.step_slice(params.as_mut_slice(), grad.as_slice())
    }

    fn step_slice(&mut self, params: &mut [f64], grad: &[f64]) -> Result<(), StepError> {
        Optim::step_slice(self, params, grad)
    }

    fn steps_taken(&self) -> u64 {
        Optim::steps_taken(self)
    }

    fn name(&self) -> &'static str {
        self.config.name()
    }
}

// ANCHOR: driver
/// The two-pass driver described in the module documentation.
fn step_all<S: Scalar, R: Rule<S>>(
    rule: &R,
    state: &mut Option<R::State>,
    params: &mut [S],
    grad: &[S],
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
        return Err(StepError::NonFiniteGradient {
            index,
            value: value.to_f64(),
        });
    }

    // The first step builds the state; it is kept only if the step is taken.
    let mut fresh = None;
    let s: &mut R::State = match state {
        Some(s) => s,
        None => fresh.insert(rule.init(params)),
    };
    let t = s.step().saturating_add(1);
    let k = rule.prepare_for(s);

    {
        let mut lanes = s.lanes().truncate(n);
        for i in 0..n {
            let (theta, c) = rule.apply(&k, params[i], grad[i], lanes.get(i));
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
            let (theta, c) = rule.apply(&k, params[i], grad[i], lanes.get(i));
            params[i] = theta;
            lanes.set(i, c);
        }
    }
    s.set_step(t);
    rule.finish(&k, s);

    if fresh.is_some() {
        *state = fresh;
    }
    Ok(())
}
// ANCHOR_END: driver

/// The name of the first non-finite entry among `(name, value)` pairs.
pub(crate) fn first_non_finite<S: Scalar>(entries: &[(&'static str, S)]) -> Option<&'static str> {
    entries
        .iter()
        .find(|(_, v)| !v.is_finite())
        .map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(n: usize) -> (Vec<f64>, Vec<f64>) {
        let theta = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
        let grad = (0..n).map(|i| (i as f64 * 0.71).cos()).collect();
        (theta, grad)
    }

    #[test]
    fn slices_and_vectors_take_the_same_steps() {
        let (theta, grad) = inputs(37);
        let mut on_slice = Adam::new(AdamConfig::adamw()).unwrap();
        let mut on_vector = on_slice.clone();
        let mut p = theta.clone();
        let mut q = DVector::from_vec(theta);
        let g = DVector::from_vec(grad.clone());
        for _ in 0..3 {
            Optimizer::step_slice(&mut on_slice, &mut p, &grad).unwrap();
            on_vector.step(&mut q, &g).unwrap();
        }
        let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&p), bits(q.as_slice()));
        assert_eq!(on_slice, on_vector);
    }

    #[test]
    fn the_same_rule_runs_in_f32() {
        // f32 steps from f32-rounded inputs stay within a few f32 ulps of the f64
        // steps: each quantity takes a handful of roundings of relative size 2^-24,
        // far below the 1e-5 relative bound used here.
        let (theta, grad) = inputs(16);
        let mut wide = Adam::new(AdamConfig::default()).unwrap();
        let mut narrow = Optim::<AdamConfig, f32>::in_scalar(AdamConfig::default()).unwrap();
        let mut p64: Vec<f64> = theta.iter().map(|&x| f64::from(x as f32)).collect();
        let g64: Vec<f64> = grad.iter().map(|&x| f64::from(x as f32)).collect();
        let mut p32: Vec<f32> = theta.iter().map(|&x| x as f32).collect();
        let g32: Vec<f32> = grad.iter().map(|&x| x as f32).collect();
        for _ in 0..3 {
            wide.step_slice(&mut p64, &g64).unwrap();
            narrow.step_slice(&mut p32, &g32).unwrap();
        }
        for (a, b) in p64.iter().zip(&p32) {
            assert!(
                (a - f64::from(*b)).abs() <= 1e-5 * a.abs().max(1.0),
                "{a} {b}"
            );
        }
        assert_eq!(narrow.steps_taken(), 3);
    }
}
