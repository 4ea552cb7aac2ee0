//! Learning-rate schedules with the semantics of PyTorch's
//! `torch.optim.lr_scheduler` (torch 2.15), reproduced bit for bit.
//!
//! A schedule is attached to an optimizer with [`LrScheduler::new`], which, like
//! PyTorch's constructor, records the optimizer's learning rate as the base rate
//! and sets the rate of step 0. After each optimizer step, [`LrScheduler::step`]
//! sets the rate of the next one:
//!
//! ```
//! use descent::optim::{Optimizer, Sgd, SgdConfig};
//! use descent::schedule::{LrScheduler, Schedule, StepLR};
//! use nalgebra::DVector;
//!
//! let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..SgdConfig::default() })?;
//! let mut sched = LrScheduler::new(Schedule::StepLR(StepLR::new(2)), &mut sgd)?;
//! let mut theta = DVector::from_vec(vec![1.0]);
//! let mut rates = Vec::new();
//! for _ in 0..5 {
//!     rates.push(sgd.lr());
//!     let grad = theta.clone();
//!     sgd.step(&mut theta, &grad)?;
//!     sched.step(&mut sgd)?;
//! }
//! assert_eq!(rates, [0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1, 0.1 * 0.1 * 0.1]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Which form
//!
//! PyTorch's `scheduler.step()` evaluates most schedules in their *chainable*
//! form (`get_lr`): the new rate is the optimizer's current rate times a factor,
//! so rounding errors accumulate along the run. Each class also has a *closed
//! form* (`_get_closed_form_lr`), used only when `step(epoch)` is given an epoch.
//! The two differ in the last bits. [`LrScheduler::step`] uses the chainable form,
//! with PyTorch's operation order, so its rates equal PyTorch's bit for bit;
//! [`LrScheduler::closed_form`] gives the closed form, and the claim
//! `chainable-close-to-closed-form` bounds the difference. `OneCycleLR` and
//! `CosineAnnealingWarmRestarts` are not chainable in PyTorch: they compute each
//! rate from fixed quantities, and so does this module.
//!
//! Because the chainable form reads the optimizer's current rate, a rate changed
//! by hand between steps is carried forward, as in PyTorch.
//!
//! # Departures from PyTorch
//!
//! Inputs on which PyTorch divides by zero, raises, or produces NaN are refused
//! with a [`HyperError`] naming the parameter: `step_size = 0`, `T_max = 0`,
//! `total_iters = 0` for `ConstantLR`, `LinearLR` and `PolynomialLR` (PyTorch
//! accepts it for `ConstantLR` and then never undoes the factor), `factor = 0`
//! (PyTorch multiplies by `1 / 0`), and a one-cycle phase of zero length. A step
//! that would set a negative or non-finite rate is refused and changes nothing.
//! `last_epoch` (resuming) is not offered: a schedule always starts at epoch 0.

use std::f64::consts::PI;

use crate::error::HyperError;
use crate::optim::{Optimizer, hyper};

/// PyTorch's `StepLR`: multiply the rate by `gamma` every `step_size` steps.
#[derive(Clone, Debug, PartialEq)]
pub struct StepLR {
    /// Period of the decay, `>= 1`.
    pub step_size: u64,
    /// Factor, `>= 0` (default 0.1).
    pub gamma: f64,
}

impl StepLR {
    /// `StepLR(step_size)` with PyTorch's default `gamma = 0.1`.
    pub fn new(step_size: u64) -> Self {
        StepLR {
            step_size,
            gamma: 0.1,
        }
    }
}

/// PyTorch's `MultiStepLR`: multiply the rate by `gamma` at each milestone (by
/// `gamma^k` at a milestone listed `k` times).
#[derive(Clone, Debug, PartialEq)]
pub struct MultiStepLR {
    /// The epochs at which to decay (any order; repeats count).
    pub milestones: Vec<u64>,
    /// Factor, `>= 0` (default 0.1).
    pub gamma: f64,
}

impl MultiStepLR {
    /// `MultiStepLR(milestones)` with PyTorch's default `gamma = 0.1`.
    pub fn new(milestones: Vec<u64>) -> Self {
        MultiStepLR {
            milestones,
            gamma: 0.1,
        }
    }
}

/// PyTorch's `ExponentialLR`: multiply the rate by `gamma` at every step.
#[derive(Clone, Debug, PartialEq)]
pub struct ExponentialLR {
    /// Factor, `>= 0` (no default in PyTorch).
    pub gamma: f64,
}

/// PyTorch's `CosineAnnealingLR`: half a cosine from the base rate down to
/// `eta_min` over `T_max` steps (and back up over the next `T_max`).
#[derive(Clone, Debug, PartialEq)]
pub struct CosineAnnealingLR {
    /// PyTorch's `T_max`: the half period, `>= 1`.
    pub t_max: u64,
    /// The lowest rate, `>= 0` (default 0).
    pub eta_min: f64,
}

impl CosineAnnealingLR {
    /// `CosineAnnealingLR(T_max)` with PyTorch's default `eta_min = 0`.
    pub fn new(t_max: u64) -> Self {
        CosineAnnealingLR {
            t_max,
            eta_min: 0.0,
        }
    }
}

/// PyTorch's `LinearLR`: the factor on the base rate moves linearly from
/// `start_factor` to `end_factor` over `total_iters` steps (a linear warmup when
/// `start_factor < end_factor`).
#[derive(Clone, Debug, PartialEq)]
pub struct LinearLR {
    /// Factor at step 0, in `(0, 1]` (default 1/3).
    pub start_factor: f64,
    /// Factor from step `total_iters` on, in `[0, 1]` (default 1).
    pub end_factor: f64,
    /// Length of the ramp, `>= 1` (default 5).
    pub total_iters: u64,
}

impl Default for LinearLR {
    fn default() -> Self {
        LinearLR {
            start_factor: 1.0 / 3.0,
            end_factor: 1.0,
            total_iters: 5,
        }
    }
}

/// PyTorch's `ConstantLR`: the base rate times `factor` until step
/// `total_iters`, then the base rate (a constant warmup).
#[derive(Clone, Debug, PartialEq)]
pub struct ConstantLR {
    /// Factor during warmup, in `(0, 1]` (default 1/3).
    pub factor: f64,
    /// Steps at the reduced rate, `>= 1` (default 5).
    pub total_iters: u64,
}

impl Default for ConstantLR {
    fn default() -> Self {
        ConstantLR {
            factor: 1.0 / 3.0,
            total_iters: 5,
        }
    }
}

/// PyTorch's `PolynomialLR`: the base rate times `(1 - t / total_iters)^power`,
/// then constant (zero) after `total_iters`.
#[derive(Clone, Debug, PartialEq)]
pub struct PolynomialLR {
    /// Steps to decay over, `>= 1` (default 5).
    pub total_iters: u64,
    /// Power, `>= 0` (default 1).
    pub power: f64,
}

impl Default for PolynomialLR {
    fn default() -> Self {
        PolynomialLR {
            total_iters: 5,
            power: 1.0,
        }
    }
}

/// How `OneCycleLR` moves between two values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Anneal {
    /// Half a cosine (PyTorch's `"cos"`, the default).
    #[default]
    Cos,
    /// A straight line (PyTorch's `"linear"`).
    Linear,
}

/// PyTorch's `OneCycleLR`: warm up from `max_lr / div_factor` to `max_lr`, then
/// anneal to `max_lr / div_factor / final_div_factor`; with `cycle_momentum`, the
/// momentum (SGD, RMSprop) or `betas[0]` (Adam) moves the opposite way between
/// `max_momentum` and `base_momentum`. The optimizer's own rate is ignored.
#[derive(Clone, Debug, PartialEq)]
pub struct OneCycleLR {
    /// The peak rate, `>= 0`.
    pub max_lr: f64,
    /// Steps in the cycle, `>= 1` (PyTorch also accepts `epochs * steps_per_epoch`).
    pub total_steps: u64,
    /// Fraction of the cycle spent warming up, in `[0, 1]` (default 0.3).
    pub pct_start: f64,
    /// The shape of each phase (default [`Anneal::Cos`]).
    pub anneal_strategy: Anneal,
    /// Move the momentum inversely to the rate (default true).
    pub cycle_momentum: bool,
    /// Momentum at the peak rate, `>= 0` (default 0.85).
    pub base_momentum: f64,
    /// Momentum at the start and end, `>= 0` (default 0.95).
    pub max_momentum: f64,
    /// `initial_lr = max_lr / div_factor`, `> 0` (default 25).
    pub div_factor: f64,
    /// `min_lr = initial_lr / final_div_factor`, `> 0` (default 1e4).
    pub final_div_factor: f64,
    /// Three phases (up, down to `initial_lr`, down to `min_lr`) instead of two
    /// (default false).
    pub three_phase: bool,
}

impl OneCycleLR {
    /// `OneCycleLR(max_lr, total_steps)` with PyTorch's defaults for the rest.
    pub fn new(max_lr: f64, total_steps: u64) -> Self {
        OneCycleLR {
            max_lr,
            total_steps,
            pct_start: 0.3,
            anneal_strategy: Anneal::Cos,
            cycle_momentum: true,
            base_momentum: 0.85,
            max_momentum: 0.95,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
        }
    }

    fn initial_lr(&self) -> f64 {
        self.max_lr / self.div_factor
    }

    fn min_lr(&self) -> f64 {
        self.initial_lr() / self.final_div_factor
    }

    /// The phases as PyTorch lists them.
    fn phases(&self) -> Vec<Phase> {
        let (init, max, min) = (self.initial_lr(), self.max_lr, self.min_lr());
        let (mmax, mbase) = (self.max_momentum, self.base_momentum);
        let total = self.total_steps as f64;
        let last = self.total_steps.saturating_sub(1) as f64;
        if self.three_phase {
            vec![
                Phase::new(self.pct_start * total - 1.0, (init, max), (mmax, mbase)),
                Phase::new(
                    2.0 * self.pct_start * total - 2.0,
                    (max, init),
                    (mbase, mmax),
                ),
                Phase::new(last, (init, min), (mmax, mmax)),
            ]
        } else {
            vec![
                Phase::new(self.pct_start * total - 1.0, (init, max), (mmax, mbase)),
                Phase::new(last, (max, min), (mbase, mmax)),
            ]
        }
    }

    fn anneal(&self, start: f64, end: f64, pct: f64) -> f64 {
        match self.anneal_strategy {
            Anneal::Cos => {
                let cos_out = (PI * pct).cos() + 1.0;
                end + (start - end) / 2.0 * cos_out
            }
            Anneal::Linear => (end - start) * pct + start,
        }
    }

    // claims: exercise-schedules-3
    // ANCHOR: one_cycle
    /// The rate and momentum of step `step_num` (PyTorch's `get_lr`).
    fn at(&self, step_num: u64) -> Result<(f64, f64), HyperError> {
        if step_num > self.total_steps {
            return Err(HyperError {
                optimizer: "OneCycleLR",
                param: "total_steps",
                value: format!("{} (step {step_num})", self.total_steps),
                range: "[number of scheduler steps, inf)",
            });
        }
        let phases = self.phases();
        // The first phase that ends at or after this step, else the last one; it
        // starts where the phase before it ends.
        let i = phases
            .iter()
            .position(|p| step_num as f64 <= p.end_step)
            .unwrap_or(phases.len() - 1);
        let start_step = if i == 0 { 0.0 } else { phases[i - 1].end_step };
        let Phase {
            end_step,
            lr: (lr0, lr1),
            momentum: (m0, m1),
        } = phases[i];
        if end_step == start_step {
            // PyTorch divides by zero here and raises.
            return Err(HyperError {
                optimizer: "OneCycleLR",
                param: "pct_start",
                value: format!("{:?}", self.pct_start),
                range: "a value that leaves no phase of zero length at a step taken",
            });
        }
        let pct = (step_num as f64 - start_step) / (end_step - start_step);
        Ok((self.anneal(lr0, lr1, pct), self.anneal(m0, m1, pct)))
    }
    // ANCHOR_END: one_cycle
}

/// One phase of a one-cycle schedule: where it ends, and the rates and momenta
/// it moves between.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Phase {
    end_step: f64,
    lr: (f64, f64),
    momentum: (f64, f64),
}

impl Phase {
    fn new(end_step: f64, lr: (f64, f64), momentum: (f64, f64)) -> Self {
        Phase {
            end_step,
            lr,
            momentum,
        }
    }
}

/// PyTorch's `CosineAnnealingWarmRestarts` (SGDR): cosine annealing from the base
/// rate to `eta_min` over `T_0` steps, then a restart, with each period `T_mult`
/// times the previous one.
#[derive(Clone, Debug, PartialEq)]
pub struct CosineAnnealingWarmRestarts {
    /// PyTorch's `T_0`: the first period, `>= 1`.
    pub t_0: u64,
    /// PyTorch's `T_mult`: the growth of the period, `>= 1` (default 1).
    pub t_mult: u64,
    /// The lowest rate, `>= 0` (default 0).
    pub eta_min: f64,
}

impl CosineAnnealingWarmRestarts {
    /// `CosineAnnealingWarmRestarts(T_0)` with PyTorch's defaults.
    pub fn new(t_0: u64) -> Self {
        CosineAnnealingWarmRestarts {
            t_0,
            t_mult: 1,
            eta_min: 0.0,
        }
    }
}

/// One of PyTorch's schedules, by its class name.
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// [`StepLR`].
    StepLR(StepLR),
    /// [`MultiStepLR`].
    MultiStepLR(MultiStepLR),
    /// [`ExponentialLR`].
    ExponentialLR(ExponentialLR),
    /// [`CosineAnnealingLR`].
    CosineAnnealingLR(CosineAnnealingLR),
    /// [`LinearLR`].
    LinearLR(LinearLR),
    /// [`ConstantLR`].
    ConstantLR(ConstantLR),
    /// [`PolynomialLR`].
    PolynomialLR(PolynomialLR),
    /// [`OneCycleLR`].
    OneCycleLR(OneCycleLR),
    /// [`CosineAnnealingWarmRestarts`].
    CosineAnnealingWarmRestarts(CosineAnnealingWarmRestarts),
}

fn at_least_one(who: &'static str, param: &'static str, value: u64) -> Result<(), HyperError> {
    if value >= 1 {
        Ok(())
    } else {
        Err(HyperError {
            optimizer: who,
            param,
            value: value.to_string(),
            range: "[1, inf) (an integer)",
        })
    }
}

fn positive(who: &'static str, param: &'static str, value: f64) -> Result<(), HyperError> {
    hyper::check(who, param, value, "(0, inf) (finite)", |x| x > 0.0)
}

fn factor_open(who: &'static str, param: &'static str, value: f64) -> Result<(), HyperError> {
    hyper::check(who, param, value, "(0, 1]", |x| x > 0.0 && x <= 1.0)
}

impl Schedule {
    /// PyTorch's class name, e.g. `"OneCycleLR"`.
    pub fn name(&self) -> &'static str {
        match self {
            Schedule::StepLR(_) => "StepLR",
            Schedule::MultiStepLR(_) => "MultiStepLR",
            Schedule::ExponentialLR(_) => "ExponentialLR",
            Schedule::CosineAnnealingLR(_) => "CosineAnnealingLR",
            Schedule::LinearLR(_) => "LinearLR",
            Schedule::ConstantLR(_) => "ConstantLR",
            Schedule::PolynomialLR(_) => "PolynomialLR",
            Schedule::OneCycleLR(_) => "OneCycleLR",
            Schedule::CosineAnnealingWarmRestarts(_) => "CosineAnnealingWarmRestarts",
        }
    }

    /// Checks every parameter against its valid range.
    pub fn validate(&self) -> Result<(), HyperError> {
        let who = self.name();
        match self {
            Schedule::StepLR(s) => {
                at_least_one(who, "step_size", s.step_size)?;
                hyper::non_negative(who, "gamma", s.gamma)
            }
            Schedule::MultiStepLR(s) => hyper::non_negative(who, "gamma", s.gamma),
            Schedule::ExponentialLR(s) => hyper::non_negative(who, "gamma", s.gamma),
            Schedule::CosineAnnealingLR(s) => {
                at_least_one(who, "T_max", s.t_max)?;
                hyper::non_negative(who, "eta_min", s.eta_min)
            }
            Schedule::LinearLR(s) => {
                factor_open(who, "start_factor", s.start_factor)?;
                hyper::unit_closed(who, "end_factor", s.end_factor)?;
                at_least_one(who, "total_iters", s.total_iters)
            }
            Schedule::ConstantLR(s) => {
                factor_open(who, "factor", s.factor)?;
                at_least_one(who, "total_iters", s.total_iters)
            }
            Schedule::PolynomialLR(s) => {
                at_least_one(who, "total_iters", s.total_iters)?;
                hyper::non_negative(who, "power", s.power)
            }
            Schedule::OneCycleLR(s) => {
                hyper::non_negative(who, "max_lr", s.max_lr)?;
                at_least_one(who, "total_steps", s.total_steps)?;
                hyper::unit_closed(who, "pct_start", s.pct_start)?;
                hyper::non_negative(who, "base_momentum", s.base_momentum)?;
                hyper::non_negative(who, "max_momentum", s.max_momentum)?;
                positive(who, "div_factor", s.div_factor)?;
                positive(who, "final_div_factor", s.final_div_factor)
            }
            Schedule::CosineAnnealingWarmRestarts(s) => {
                at_least_one(who, "T_0", s.t_0)?;
                at_least_one(who, "T_mult", s.t_mult)?;
                hyper::non_negative(who, "eta_min", s.eta_min)
            }
        }
    }
}

/// The counters of `CosineAnnealingWarmRestarts`: steps since the last restart
/// and the current period.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Restarts {
    t_cur: u64,
    t_i: u64,
}

/// A schedule attached to an optimizer: PyTorch's `LRScheduler` for one
/// parameter group.
#[derive(Clone, Debug, PartialEq)]
pub struct LrScheduler {
    schedule: Schedule,
    base_lr: f64,
    last_epoch: u64,
    last_lr: f64,
    restarts: Restarts,
}

/// What one scheduler step sets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Next {
    /// The learning rate of the next optimizer step.
    pub lr: f64,
    /// The momentum (or `betas[0]`) of the next optimizer step, when the schedule
    /// cycles it.
    pub momentum: Option<f64>,
}

impl LrScheduler {
    /// Attaches `schedule` to `optimizer`: the optimizer's rate becomes the base
    /// rate (for `OneCycleLR`, `max_lr / div_factor` does), and the rate (and
    /// momentum) of step 0 is set, as PyTorch's constructor does. Refused, with
    /// nothing changed, if a parameter is out of range or the optimizer cannot take
    /// the values (e.g. `cycle_momentum` on an optimizer without momentum).
    pub fn new(schedule: Schedule, optimizer: &mut dyn Optimizer) -> Result<Self, HyperError> {
        schedule.validate()?;
        let base_lr = match &schedule {
            Schedule::OneCycleLR(s) => {
                if s.cycle_momentum && optimizer.momentum().is_none() {
                    return Err(HyperError {
                        optimizer: "OneCycleLR",
                        param: "cycle_momentum",
                        value: "true".into(),
                        range: "false for an optimizer without momentum or betas",
                    });
                }
                s.initial_lr()
            }
            _ => optimizer.lr(),
        };
        let restarts = match &schedule {
            Schedule::CosineAnnealingWarmRestarts(s) => Restarts {
                t_cur: 0,
                t_i: s.t_0,
            },
            _ => Restarts { t_cur: 0, t_i: 0 },
        };
        let mut sched = LrScheduler {
            schedule,
            base_lr,
            last_epoch: 0,
            last_lr: f64::NAN,
            restarts,
        };
        let next = sched.rate(0, true, optimizer.lr(), restarts)?;
        apply(optimizer, next)?;
        sched.last_lr = next.lr;
        Ok(sched)
    }

    /// PyTorch's `scheduler.step()`: sets the rate (and momentum) of the next
    /// optimizer step from the optimizer's current rate. Refused, with optimizer
    /// and scheduler unchanged, when the new rate is negative or not finite, or
    /// `OneCycleLR` is stepped past `total_steps`.
    pub fn step(&mut self, optimizer: &mut dyn Optimizer) -> Result<(), HyperError> {
        let (next, restarts) = self.advance(optimizer.lr())?;
        apply(optimizer, next)?;
        self.last_epoch = self.last_epoch.saturating_add(1);
        self.restarts = restarts;
        self.last_lr = next.lr;
        Ok(())
    }

    /// What [`LrScheduler::step`] would set if the optimizer's current rate were
    /// `current_lr`, without changing anything. The rate may be negative where
    /// PyTorch's would be (a linear one-cycle extrapolates below `min_lr` at step
    /// `total_steps`); [`LrScheduler::step`] refuses to set such a rate.
    pub fn peek(&self, current_lr: f64) -> Result<Next, HyperError> {
        self.advance(current_lr).map(|(next, _)| next)
    }

    fn advance(&self, current_lr: f64) -> Result<(Next, Restarts), HyperError> {
        let epoch = self.last_epoch.saturating_add(1);
        let mut r = self.restarts;
        if let Schedule::CosineAnnealingWarmRestarts(s) = &self.schedule {
            r.t_cur += 1;
            if r.t_cur >= r.t_i {
                r.t_cur %= r.t_i;
                r.t_i = r.t_i.saturating_mul(s.t_mult);
            }
        }
        let next = self.rate(epoch, false, current_lr, r)?;
        Ok((next, r))
    }

    // claims: chainable-close-to-closed-form, exercise-schedules-1, exercise-schedules-2
    // ANCHOR: chainable
    /// The rate of epoch `e` from the current rate `lr`, in PyTorch's chainable
    /// form and operation order (`initial` is PyTorch's `_is_initial`: the call
    /// made by the constructor).
    fn rate(&self, e: u64, initial: bool, lr: f64, r: Restarts) -> Result<Next, HyperError> {
        let base = self.base_lr;
        let lr = match &self.schedule {
            Schedule::StepLR(s) => {
                if e == 0 || !e.is_multiple_of(s.step_size) {
                    lr
                } else {
                    lr * s.gamma
                }
            }
            Schedule::MultiStepLR(s) => {
                let k = s.milestones.iter().filter(|&&m| m == e).count();
                if k == 0 {
                    lr
                } else {
                    lr * s.gamma.powf(k as f64)
                }
            }
            Schedule::ExponentialLR(s) => {
                if initial {
                    lr
                } else {
                    lr * s.gamma
                }
            }
            Schedule::CosineAnnealingLR(s) => {
                let (t, eta) = (s.t_max as f64, s.eta_min);
                let period = 2 * i128::from(s.t_max);
                if initial {
                    lr
                } else if (i128::from(e) - 1 - i128::from(s.t_max)).rem_euclid(period) == 0 {
                    // The step after a trough, where the ratio below would be 0/0.
                    lr + (base - eta) * (1.0 - (PI / t).cos()) / 2.0
                } else {
                    let now = 1.0 + (PI * e as f64 / t).cos();
                    let before = 1.0 + (PI * (e - 1) as f64 / t).cos();
                    now / before * (lr - eta) + eta
                }
            }
            Schedule::LinearLR(s) => {
                let (a, b) = (s.start_factor, s.end_factor);
                if e == 0 {
                    lr * a
                } else if initial || e > s.total_iters {
                    lr
                } else {
                    let denom = s.total_iters as f64 * a + (e - 1) as f64 * (b - a);
                    lr * (1.0 + (b - a) / denom)
                }
            }
            Schedule::ConstantLR(s) => {
                if e == 0 {
                    lr * s.factor
                } else if e != s.total_iters {
                    lr
                } else {
                    lr * (1.0 / s.factor)
                }
            }
            Schedule::PolynomialLR(s) => {
                if initial || e > s.total_iters {
                    lr
                } else {
                    let n = s.total_iters as f64;
                    let ratio = (1.0 - e as f64 / n) / (1.0 - (e - 1) as f64 / n);
                    lr * ratio.powf(s.power)
                }
            }
            Schedule::OneCycleLR(s) => {
                let (lr, m) = s.at(e)?;
                return Ok(Next {
                    lr,
                    momentum: s.cycle_momentum.then_some(m),
                });
            }
            Schedule::CosineAnnealingWarmRestarts(s) => {
                let cos = (PI * r.t_cur as f64 / r.t_i as f64).cos();
                s.eta_min + (base - s.eta_min) * (1.0 + cos) / 2.0
            }
        };
        Ok(Next { lr, momentum: None })
    }
    // ANCHOR_END: chainable

    // ANCHOR: closed_form
    /// PyTorch's closed form (`_get_closed_form_lr`) at epoch `e`, for the seven
    /// chainable schedules; `None` for `OneCycleLR` and
    /// `CosineAnnealingWarmRestarts`, which have no separate closed form.
    pub fn closed_form(&self, e: u64) -> Option<f64> {
        let base = self.base_lr;
        Some(match &self.schedule {
            Schedule::StepLR(s) => base * s.gamma.powf((e / s.step_size) as f64),
            Schedule::MultiStepLR(s) => {
                let passed = s.milestones.iter().filter(|&&m| m <= e).count();
                base * s.gamma.powf(passed as f64)
            }
            Schedule::ExponentialLR(s) => base * s.gamma.powf(e as f64),
            Schedule::CosineAnnealingLR(s) => {
                let cos = (PI * e as f64 / s.t_max as f64).cos();
                s.eta_min + (base - s.eta_min) * (1.0 + cos) / 2.0
            }
            Schedule::LinearLR(s) => {
                let (a, b, n) = (s.start_factor, s.end_factor, s.total_iters);
                base * (a + (b - a) * n.min(e) as f64 / n as f64)
            }
            Schedule::ConstantLR(s) => {
                let done = if e >= s.total_iters { 1.0 } else { 0.0 };
                base * (s.factor + done * (1.0 - s.factor))
            }
            Schedule::PolynomialLR(s) => {
                let n = s.total_iters;
                base * (1.0 - n.min(e) as f64 / n as f64).powf(s.power)
            }
            Schedule::OneCycleLR(_) | Schedule::CosineAnnealingWarmRestarts(_) => return None,
        })
    }
    // ANCHOR_END: closed_form

    /// The schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The base rate (PyTorch's `base_lrs[0]`, the group's `initial_lr`).
    pub fn base_lr(&self) -> f64 {
        self.base_lr
    }

    /// The number of `step` calls so far (PyTorch's `last_epoch`).
    pub fn last_epoch(&self) -> u64 {
        self.last_epoch
    }

    /// The rate the last call set (PyTorch's `get_last_lr()[0]`).
    pub fn last_lr(&self) -> f64 {
        self.last_lr
    }
}

/// Sets the rate, then the momentum; if the momentum is refused, the rate is put
/// back, so a refused update changes nothing.
fn apply(optimizer: &mut dyn Optimizer, next: Next) -> Result<(), HyperError> {
    let old = optimizer.lr();
    optimizer.set_lr(next.lr)?;
    if let Some(m) = next.momentum
        && let Err(e) = optimizer.set_momentum(m)
    {
        // `old` was the optimizer's own valid rate, so setting it back succeeds.
        let _ = optimizer.set_lr(old);
        return Err(e);
    }
    Ok(())
}
