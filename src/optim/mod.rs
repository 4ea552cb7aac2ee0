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
//! ([`Optim::step_slice`]; [`Optimizer::step`] takes `DVector`s), so that a step
//! is either taken whole or refused whole. It checks the lengths and computes
//! the step's constants ([`Rule::prepare`]), then takes the step one of two ways
//! ([`Refusal`]), chosen per rule by measurement:
//!
//! - **stage** (the default): one pass. For each coordinate, compute the new
//!   parameter and state from the old ones, copy the old parameter into a
//!   backup, write the new parameter in place and the new state into a *spare*
//!   copy of the state's buffers, and keep a running "all finite" flag (the
//!   gradient entry and every result). If everything was finite, swap the spare
//!   with the state (a pointer swap); otherwise copy the backup back into the
//!   parameters and leave the state, which was only read, as it was.
//! - **check first**: two passes. The first computes every coordinate's result
//!   and its finiteness and writes nothing; only if everything was finite does
//!   the second compute the same results again and write them in place.
//!
//! Either way, a refused step names the first offending coordinate (a second
//! look, on refused steps only) and leaves parameters and state bit-identical,
//! and both ways take the same steps bit for bit.
//!
//! Why two ways. Refusing a step whole means knowing every result is finite
//! before the step is final, and no cheap sufficient pre-check exists for rules
//! in general (a finite input can overflow). Per coordinate of Adam in `f64`, an
//! in-place step that could not refuse would read parameter, gradient, `m` and
//! `v` and write three of them back: 56 bytes. Staging moves those bytes plus an
//! 8-byte backup write and the write-allocate reads of the backup and the spare
//! buffers (up to 24 bytes), but computes once; its cost in memory is a second
//! copy of the state's buffers and of the parameters. Checking first reads the
//! 32 input bytes once more and computes twice, but writes only in place and
//! needs no extra memory. A rule whose arithmetic outweighs its bytes (Adam,
//! RMSprop, AdaGrad) is faster staged; a rule whose arithmetic is trivial (SGD
//! with or without momentum, Rprop, ASGD, Adamax, Lion), whose time is its
//! bytes, is faster checked first
//! ([`Rule::refusal`]; `cargo bench --bench step -- refusal`, book chapter
//! "Performance"). [`Optim::set_refusal`] overrides the choice, for example to
//! save the spare state's memory.
//!
//! The loop itself runs on the CPU's vector units with hardware fused
//! multiply-adds, chosen at run time (module `dispatch`); every path gives the
//! same bits.
//!
//! Nothing is allocated in a step once the state exists (the state, and when
//! staging its spare and the backup, are created on the first step, as PyTorch
//! creates its state).

use std::fmt::Debug;

use nalgebra::DVector;

use crate::error::{HyperError, StepError};
use dispatch::Path;

pub mod adadelta;
pub mod adafactor;
pub mod adagrad;
pub mod adam;
pub mod adamax;
pub mod asgd;
#[cfg(feature = "serde")]
pub mod checkpoint;
pub mod decay;
mod dispatch;
pub mod hyper;
pub mod lion;
pub mod moments;
pub mod muon;
pub mod nadam;
pub mod radam;
pub mod rmsprop;
pub mod rprop;
pub mod scalar;
pub mod sgd;
pub mod sparse_adam;
mod state;

pub use adadelta::{Adadelta, AdadeltaConfig, AdadeltaState};
pub use adafactor::{Adafactor, AdafactorConfig, AdafactorState};
pub use adagrad::{Adagrad, AdagradConfig, AdagradState};
pub use adam::{Adam, AdamConfig, AdamState, Amsgrad};
pub use adamax::{Adamax, AdamaxConfig, AdamaxState};
pub use asgd::{Asgd, AsgdConfig, AsgdState};
pub use decay::WeightDecay;
pub use lion::{Lion, LionConfig, LionState};
pub use muon::{AdjustLr, Muon, MuonConfig, MuonState};
pub use nadam::{NAdam, NAdamConfig, NAdamState};
pub use radam::{RAdam, RAdamConfig, RAdamState};
pub use rmsprop::{RmsProp, RmsPropConfig, RmsPropState};
pub use rprop::{Rprop, RpropConfig, RpropState};
pub use scalar::{Real, Scalar};
pub use sgd::{Sgd, SgdConfig, SgdState};
pub use sparse_adam::{SparseAdam, SparseAdamConfig, SparseAdamState};

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
    /// Whether the state holds the buffer that a nonzero [`Config::momentum_mut`]
    /// needs (SGD and RMSprop create it only when built with nonzero momentum).
    fn has_momentum_buffer(&self) -> bool {
        true
    }
}

/// A state's buffers as slices of equal length: what the driver's loop reads and
/// writes. Slices are used, not the state's vectors, so that after
/// [`Lanes::truncate`] the compiler sees every index below `n` is in bounds.
///
/// A single buffer is `&mut [S]`, an optional one `Option<&mut [S]>` (reading 0
/// when absent); a state with several buffers defines a small struct of those.
pub trait Lanes: Sized {
    /// The state of one coordinate.
    type Coord: Copy;
    /// The same slices cut to their first `n` entries (every buffer has at least
    /// `n`: the driver checked the state's length).
    fn truncate(self, n: usize) -> Self;
    /// Reads coordinate `i`.
    fn get(&self, i: usize) -> Self::Coord;
    /// Writes coordinate `i`.
    fn set(&mut self, i: usize, c: Self::Coord);
    /// Calls `f` with `old` and `new` (a state's lanes and its spare's, which
    /// hold the same buffers; `None` for a loop that writes `old` in place), or
    /// with lanes of another type in which each absent optional buffer is
    /// [`Absent`] and each present one a plain slice.
    /// The loop that `f` runs then tests no buffer's presence per coordinate:
    /// a conditional load and store per coordinate leads the compiler to judge
    /// vectors not worth it, and the loop runs one coordinate at a time. The
    /// default (no optional buffer) passes both on unchanged.
    #[inline(always)]
    fn unswitch<F: WithLanes<Self::Coord>>(old: Self, new: Option<Self>, f: F) -> F::Output {
        f.call(old, new)
    }
}

/// A computation over a pair of lanes of any type with coordinates `C`: the
/// generic closure that [`Lanes::unswitch`] calls.
pub trait WithLanes<C> {
    /// What the computation returns.
    type Output;
    /// Runs the computation on the lanes `old` (read) and `new` (written), or on
    /// `old` alone (read and written in place) when `new` is `None`.
    fn call<L: Lanes<Coord = C>>(self, old: L, new: Option<L>) -> Self::Output;
}

/// An optional buffer that the state does not hold, inside the driver's loop:
/// it reads zero and ignores writes, with no test per coordinate.
#[derive(Debug)]
pub struct Absent<S>(std::marker::PhantomData<S>);

impl<S> Default for Absent<S> {
    fn default() -> Self {
        Absent(std::marker::PhantomData)
    }
}

impl<S: Scalar> Lanes for Absent<S> {
    type Coord = S;
    #[inline(always)]
    fn truncate(self, _n: usize) -> Self {
        self
    }
    #[inline(always)]
    fn get(&self, _i: usize) -> S {
        S::zero()
    }
    #[inline(always)]
    fn set(&mut self, _i: usize, _c: S) {}
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
    #[inline(always)]
    fn unswitch<F: WithLanes<S>>(old: Self, new: Option<Self>, f: F) -> F::Output {
        match (old, new) {
            (Some(old), Some(Some(new))) => f.call(old, Some(new)),
            (Some(old), None) => f.call(old, None),
            // A state and its spare hold the same buffers; if one lacked it, the
            // buffer is treated as absent in both (it reads 0, as `get` does).
            (_, new) => f.call(Absent::default(), new.map(|_| Absent::default())),
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
    /// The momentum coefficient a schedule may cycle (`momentum`, or Adam's
    /// `betas[0]`), if the optimizer has one.
    fn momentum_mut(&mut self) -> Option<&mut f64> {
        None
    }
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
    /// Calls `f` with this rule, or with a copy of it in which the fields that
    /// choose between the branches of [`Rule::apply`] are literal constants, one
    /// call per configuration. The compiler then builds one loop per
    /// configuration with those branches removed, which it can run on vectors (it
    /// does not vectorize a loop around a `match` with several arms). The default
    /// calls `f` with `self`; a rule overrides it only if its `apply` branches on
    /// a `match` of its configuration.
    #[inline(always)]
    fn unswitch<F: Unswitched<S, Self>>(&self, f: F) -> F::Output {
        f.call(self)
    }
    /// The constants of the step that follows state `s`. The default is
    /// `prepare(s.step() + 1)`; a rule whose constants depend on more than `t`
    /// (a running product kept in its state) overrides it.
    fn prepare_for(&self, s: &Self::State) -> Self::Step {
        self.prepare(s.step().saturating_add(1))
    }
    /// How the driver refuses a step whole for this configuration, unless the
    /// optimizer was told otherwise ([`Optim::set_refusal`]). The default is
    /// [`Refusal::Stage`]; a rule whose arithmetic is trivial overrides it with
    /// [`Refusal::CheckFirst`], chosen by measurement (book chapter
    /// "Performance").
    fn refusal(&self) -> Refusal {
        Refusal::Stage
    }
    /// Called once a step is taken, with its constants: a rule that keeps running
    /// per-step scalars in its state records them here. The default does nothing.
    fn finish(&self, k: &Self::Step, s: &mut Self::State) {
        let _ = (k, s);
    }
}

/// How the driver makes sure a step is taken whole or refused whole (see the
/// module documentation). Both ways give the same bits and the same outcome for
/// every input; they differ in speed and memory only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Refusal {
    /// One pass: each old parameter is copied to a backup, the new state is
    /// written into a spare copy of the state's buffers, and the spare replaces
    /// the state only if every result was finite. Computes each coordinate once;
    /// costs a second copy of the state and of the parameters. The faster way for
    /// rules whose arithmetic outweighs their memory traffic (Adam, RMSprop).
    #[default]
    Stage,
    /// Two passes: the first computes every result and writes nothing, the
    /// second computes them again and writes them in place, and runs only if the
    /// first found everything finite. Reads the inputs twice and computes twice,
    /// but writes only in place and needs no extra memory. The faster way for
    /// rules whose arithmetic is trivial (SGD with or without momentum), whose
    /// time is their bytes.
    CheckFirst,
}

/// A computation over a rule, run by [`Rule::unswitch`] (a generic closure).
pub trait Unswitched<S: Scalar, R: Rule<S>> {
    /// What the computation returns.
    type Output;
    /// Runs the computation with `rule`.
    fn call(self, rule: &R) -> Self::Output;
}

/// An optimizer: validated hyperparameters `R` and the state they act on, in
/// scalar type `S` (`f64` unless said otherwise).
///
/// Besides the state it keeps a spare copy of the state's buffers, which a step
/// writes into, and a copy of the parameters before the step (see the module
/// documentation). Equality and `Debug` look at the configuration and the state
/// only.
#[derive(Clone)]
pub struct Optim<R: Rule<S>, S: Scalar = f64> {
    config: R,
    state: Option<R::State>,
    spare: Option<R::State>,
    backup: Vec<S>,
    refusal: Option<Refusal>,
}

impl<S: Scalar, R: Rule<S> + PartialEq> PartialEq for Optim<R, S> {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config && self.state == other.state
    }
}

impl<S: Scalar, R: Rule<S>> Debug for Optim<R, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Optim")
            .field("config", &self.config)
            .field("state", &self.state)
            .finish()
    }
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
            spare: None,
            backup: Vec::new(),
            refusal: None,
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

    /// Sets the momentum coefficient ([`Config::momentum_mut`]) for the next steps,
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

    /// How the next steps are refused whole: the rule's choice
    /// ([`Rule::refusal`]) unless [`Optim::set_refusal`] chose otherwise.
    pub fn refusal(&self) -> Refusal {
        self.refusal.unwrap_or_else(|| self.config.refusal())
    }

    /// Chooses how the next steps are refused whole. Every choice takes the same
    /// steps, bit for bit, and refuses the same ones; only speed and memory
    /// differ ([`Refusal`]). Choosing [`Refusal::CheckFirst`] frees the spare
    /// state and the parameter backup; choosing [`Refusal::Stage`] again builds
    /// them on the next step.
    ///
    /// ```
    /// use descent::optim::{Adam, AdamConfig, Refusal};
    ///
    /// let mut adam = Adam::new(AdamConfig::default())?;
    /// assert_eq!(adam.refusal(), Refusal::Stage);
    /// adam.set_refusal(Refusal::CheckFirst); // no spare state: less memory
    /// let mut theta = vec![1.0, -2.0];
    /// adam.step_slice(&mut theta, &[0.5, -0.5])?;
    /// // A step that would make the state non-finite is refused whole.
    /// let before = theta.clone();
    /// assert!(adam.step_slice(&mut theta, &[1e200, 0.0]).is_err());
    /// assert_eq!(theta, before);
    /// assert_eq!(adam.steps_taken(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_refusal(&mut self, refusal: Refusal) {
        self.refusal = Some(refusal);
        if refusal == Refusal::CheckFirst {
            self.spare = None;
            self.backup = Vec::new();
        }
    }

    /// Forgets the state, as if no step had been taken.
    pub fn reset(&mut self) {
        self.state = None;
        self.spare = None;
    }

    /// Takes one step on slices in scalar type `S`. On error nothing changes.
    pub fn step_slice(&mut self, params: &mut [S], grad: &[S]) -> Result<(), StepError> {
        step_all(Path::Best, self, params, grad)
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

// claims: matches-pytorch, matches-pytorch-f32
// ANCHOR: driver
/// The driver described in the module documentation: lengths, constants, the
/// step taken one of the two ways of [`Refusal`], then commit or refuse.
fn step_all<S: Scalar, R: Rule<S>>(
    path: Path,
    opt: &mut Optim<R, S>,
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
    if let Some(expected) = opt.state.as_ref().and_then(Buffers::coords)
        && expected != n
    {
        return Err(StepError::LengthMismatch {
            what: "params",
            expected,
            found: n,
        });
    }
    let refusal = opt.refusal();
    let Optim {
        config: rule,
        state,
        spare,
        backup,
        ..
    } = opt;

    // The first step builds the state (and, when staging, its spare and the
    // backup: the only allocations); they are dropped again if that step is
    // refused.
    let fresh = state.is_none();
    if fresh && let Some((index, &value)) = grad.iter().enumerate().find(|(_, g)| !g.is_finite()) {
        // Refused before anything is built (later steps find it in the pass).
        return Err(StepError::NonFiniteGradient {
            index,
            value: value.to_f64(),
        });
    }
    let s = state.get_or_insert_with(|| rule.init(params));
    let t = s.step().saturating_add(1);
    let k = rule.prepare_for(s);

    let taken = match refusal {
        Refusal::CheckFirst => dispatch::step(path, rule, &k, params, grad, s.lanes(), None),
        Refusal::Stage => {
            let new = spare.get_or_insert_with(|| s.clone());
            if backup.len() < n {
                // The first step, or a state without buffers (plain SGD), which
                // accepts a new length.
                backup.resize(n, S::zero());
            }
            let staging = Some((backup.as_mut_slice(), new.lanes()));
            let taken = dispatch::step(path, rule, &k, params, grad, s.lanes(), staging);
            if taken {
                std::mem::swap(s, new);
            } else {
                // Put the parameters back; the state was only read.
                params.copy_from_slice(&backup[..n]);
            }
            taken
        }
    };
    if !taken {
        let error = first_error(rule, &k, params, grad, &s.lanes());
        if fresh {
            *state = None;
            *spare = None;
            *backup = Vec::new();
        }
        return Err(error);
    }
    s.set_step(t);
    rule.finish(&k, s);
    Ok(())
}
// ANCHOR_END: driver

/// Why the step was refused: the first non-finite gradient entry if there is
/// one, else the first coordinate whose result is not finite (the parameter
/// before the buffers). Runs only on a refused step, from the old values.
fn first_error<S: Scalar, R: Rule<S>>(
    rule: &R,
    k: &R::Step,
    params: &[S],
    grad: &[S],
    lanes: &<R::State as Buffers>::Lanes<'_>,
) -> StepError {
    if let Some((index, &value)) = grad.iter().enumerate().find(|(_, g)| !g.is_finite()) {
        return StepError::NonFiniteGradient {
            index,
            value: value.to_f64(),
        };
    }
    for (i, (&theta, &g)) in params.iter().zip(grad).enumerate() {
        let (theta, c) = rule.apply(k, theta, g, lanes.get(i));
        if !theta.is_finite() {
            return StepError::NonFiniteResult {
                index: i,
                quantity: "param",
            };
        }
        if let Some(quantity) = R::State::non_finite(&c) {
            return StepError::NonFiniteResult { index: i, quantity };
        }
    }
    // The pass found a non-finite value; the same arithmetic finds it again.
    StepError::NonFiniteResult {
        index: 0,
        quantity: "param",
    }
}

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
    fn the_way_of_refusing_is_the_rules_unless_chosen() {
        // The rules whose time is their bytes check first; the others stage.
        let mut sgd = Sgd::new(SgdConfig::default()).unwrap();
        let mut adam = Adam::new(AdamConfig::default()).unwrap();
        assert_eq!(sgd.refusal(), Refusal::CheckFirst);
        assert_eq!(adam.refusal(), Refusal::Stage);
        let (mut theta, grad) = inputs(5);
        adam.step_slice(&mut theta, &grad).unwrap();
        assert!(adam.spare.is_some() && adam.backup.len() == 5);
        // Checking first frees the spare state and the backup...
        adam.set_refusal(Refusal::CheckFirst);
        assert_eq!(adam.refusal(), Refusal::CheckFirst);
        assert!(adam.spare.is_none() && adam.backup.is_empty());
        adam.step_slice(&mut theta, &grad).unwrap();
        assert!(adam.spare.is_none() && adam.backup.is_empty());
        // ...and staging again builds them on the next step.
        adam.set_refusal(Refusal::Stage);
        assert_eq!(adam.refusal(), Refusal::Stage);
        adam.step_slice(&mut theta, &grad).unwrap();
        assert!(adam.spare.is_some() && adam.backup.len() == 5);
        sgd.set_refusal(Refusal::Stage);
        assert_eq!(sgd.refusal(), Refusal::Stage);
        assert_eq!(adam.steps_taken(), 3);
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
