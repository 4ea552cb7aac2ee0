//! Adafactor (Shazeer and Stern, 2018) with PyTorch 2.15's `torch.optim.Adafactor`
//! semantics (single-tensor path).
//!
//! ```text
//! input: lr, beta2_decay c <= 0, eps = (eps1 or machine epsilon, eps2), d >= 1,
//!        weight decay lambda, maximize; a matrix (rows x cols) or a vector
//! state: matrix: row_var R = 0 (rows), col_var C = 0 (cols); vector: variance v = 0
//! for t = 1, 2, ...
//!     g <- -g                                   if maximize
//!     w     <- t^c                              (1 - beta2_t; 1 at t = 1)
//!     rho   <- min(lr, 1 / sqrt(t))
//!     alpha <- max(eps2, ||theta||_2 / sqrt(n)) * rho       (before the decay)
//!     theta <- theta (1 - lr lambda)
//!     matrix:  R_i <- lerp(R_i, ||g_i,:||^2 / cols, w)
//!              C_j <- lerp(C_j, ||g_:,j||^2 / rows, w)
//!              V_ij <- R_i C_j / max(mean(R), eps1)
//!     vector:  v <- lerp(v, g^2, w);  V <- v
//!     U <- g / sqrt(max(V, eps1^2))
//!     theta <- theta - (alpha / max(1, ||U||_2 / (sqrt(n) d))) U
//! ```
//!
//! The second moment of a matrix is kept as a row vector and a column vector,
//! `rows + cols` numbers instead of `rows * cols`: `V` is their outer product
//! divided by the mean row entry, the rank-one matrix that matches the row and
//! column sums of the full average.
//!
//! Adafactor's state is not per coordinate (a row mean reads a whole row), so it
//! implements [`Optimizer`] itself rather than through a per-coordinate
//! [`Rule`](super::Rule). A step still is taken whole or refused whole: every new
//! value is computed into scratch buffers and checked before anything is written,
//! and after the first step nothing is allocated.

use nalgebra::DVector;

use super::moments::lerp;
use super::{Optimizer, hyper};
use crate::error::{HyperError, StepError};

/// Hyperparameters of Adafactor, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct AdafactorConfig {
    /// Learning rate, `lr >= 0` (default `1e-2`). It caps the relative step size
    /// `rho = min(lr, 1/sqrt(t))`.
    pub lr: f64,
    /// The exponent `c <= 0` of `1 - beta2_t = t^c` (default `-0.8`).
    pub beta2_decay: f64,
    /// `(eps1, eps2)` (default `(None, 1e-3)`): `eps1 >= 0` floors the second
    /// moment (its square) and the mean row entry; `None` means the machine
    /// epsilon `2^-52`. `eps2 >= 0` floors the parameter's root mean square in the
    /// step size.
    pub eps: (Option<f64>, f64),
    /// Clipping threshold `d >= 1` on the root mean square of the update
    /// (default 1).
    pub d: f64,
    /// Decoupled weight decay `lambda >= 0` (default 0), scaled by `lr`.
    pub weight_decay: f64,
    /// Ascend instead of descend (default false).
    pub maximize: bool,
}

impl Default for AdafactorConfig {
    fn default() -> Self {
        AdafactorConfig {
            lr: 1e-2,
            beta2_decay: -0.8,
            eps: (None, 1e-3),
            d: 1.0,
            weight_decay: 0.0,
            maximize: false,
        }
    }
}

impl AdafactorConfig {
    /// The optimizer's name, as `descent replay` spells it.
    pub const NAME: &'static str = "adafactor";

    /// Checks every hyperparameter against PyTorch's range (and finiteness).
    pub fn validate(&self) -> Result<(), HyperError> {
        hyper::non_negative(Self::NAME, "lr", self.lr)?;
        hyper::check(
            Self::NAME,
            "beta2_decay",
            self.beta2_decay,
            "(-inf, 0] (finite)",
            |c| c <= 0.0,
        )?;
        if let Some(eps1) = self.eps.0 {
            hyper::non_negative(Self::NAME, "eps[0]", eps1)?;
        }
        hyper::non_negative(Self::NAME, "eps[1]", self.eps.1)?;
        hyper::check(Self::NAME, "d", self.d, "[1, inf) (finite)", |d| d >= 1.0)?;
        hyper::non_negative(Self::NAME, "weight_decay", self.weight_decay)
    }
}

/// The state of Adafactor, with PyTorch's buffer names.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct AdafactorState {
    /// Steps taken.
    pub step: u64,
    /// A matrix's row averages `R` (one per row); `None` for a vector.
    #[cfg_attr(
        feature = "serde",
        serde(default, with = "super::checkpoint::opt_vector")
    )]
    pub row_var: Option<DVector<f64>>,
    /// A matrix's column averages `C` (one per column); `None` for a vector.
    #[cfg_attr(
        feature = "serde",
        serde(default, with = "super::checkpoint::opt_vector")
    )]
    pub col_var: Option<DVector<f64>>,
    /// A vector's per-entry average `v`; `None` for a matrix.
    #[cfg_attr(
        feature = "serde",
        serde(default, with = "super::checkpoint::opt_vector")
    )]
    pub variance: Option<DVector<f64>>,
}

/// Adafactor for one parameter of a given shape: hyperparameters, state, and the
/// scratch space a step computes into. Two are equal when their
/// hyperparameters, shape and state are (the scratch space is not compared).
#[derive(Clone, Debug)]
pub struct Adafactor {
    pub(super) config: AdafactorConfig,
    pub(super) shape: Option<[usize; 2]>,
    pub(super) state: Option<AdafactorState>,
    /// New `R` (or `v`), new `C`, and the update `U`, before they are committed.
    scratch: (Vec<f64>, Vec<f64>, Vec<f64>),
}

impl PartialEq for Adafactor {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config && self.shape == other.shape && self.state == other.state
    }
}

impl Adafactor {
    /// Adafactor for a parameter of `shape`: `Some([rows, cols])` for a matrix
    /// (row-major), `None` for a vector. Refuses hyperparameters out of range.
    pub fn new(config: AdafactorConfig, shape: Option<[usize; 2]>) -> Result<Self, HyperError> {
        config.validate()?;
        Ok(Adafactor {
            config,
            shape,
            state: None,
            scratch: (Vec::new(), Vec::new(), Vec::new()),
        })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &AdafactorConfig {
        &self.config
    }

    /// The state, or `None` before the first step.
    pub fn state(&self) -> Option<&AdafactorState> {
        self.state.as_ref()
    }

    /// The second-moment estimate `V` of the last step, row-major (before the
    /// floor `eps1^2`): `R_i C_j / max(mean(R), eps1)` for a matrix, `v` for a
    /// vector; `None` before the first step.
    pub fn second_moment(&self) -> Option<Vec<f64>> {
        let s = self.state.as_ref()?;
        let eps1 = self.config.eps.0.unwrap_or(f64::EPSILON);
        match (&s.row_var, &s.col_var, &s.variance) {
            (Some(r), Some(c), _) => {
                let floor = (r.iter().sum::<f64>() / r.len() as f64).max(eps1);
                Some(
                    r.iter()
                        .flat_map(|ri| c.iter().map(move |cj| ri * cj / floor))
                        .collect(),
                )
            }
            (_, _, Some(v)) => Some(v.iter().copied().collect()),
            _ => None,
        }
    }

    /// The parameter's length this optimizer expects, if fixed by its shape or state.
    fn expected_len(&self) -> Option<usize> {
        if let Some([r, c]) = self.shape {
            return Some(r * c);
        }
        self.state
            .as_ref()
            .and_then(|s| s.variance.as_ref())
            .map(DVector::len)
    }

    pub(super) fn init(&self, n: usize) -> AdafactorState {
        let zeros = |k: usize| Some(DVector::from_element(k, 0.0));
        match self.shape {
            Some([rows, cols]) => AdafactorState {
                step: 0,
                row_var: zeros(rows),
                col_var: zeros(cols),
                variance: None,
            },
            None => AdafactorState {
                step: 0,
                row_var: None,
                col_var: None,
                variance: zeros(n),
            },
        }
    }
}

/// `sqrt(sum x^2)` of a strided run, in order.
fn norm(xs: impl Iterator<Item = f64>) -> f64 {
    xs.fold(0.0, |acc, x| acc + x * x).sqrt()
}

impl Optimizer for Adafactor {
    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) -> Result<(), HyperError> {
        hyper::non_negative(AdafactorConfig::NAME, "lr", lr)?;
        self.config.lr = lr;
        Ok(())
    }

    fn step(&mut self, params: &mut DVector<f64>, grad: &DVector<f64>) -> Result<(), StepError> {
        self.step_slice(params.as_mut_slice(), grad.as_slice())
    }

    fn step_slice(&mut self, theta: &mut [f64], grad: &[f64]) -> Result<(), StepError> {
        let n = theta.len();
        if grad.len() != n {
            return Err(StepError::LengthMismatch {
                what: "grad",
                expected: n,
                found: grad.len(),
            });
        }
        if let Some(expected) = self.expected_len()
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
        // claims: adafactor-factored-keeps-row-and-column-sums, adafactor-row-scale-cancels,
        //     adafactor-docs-decay-overwritten, adafactor-matches-pytorch, exercise-adafactor-3,
        //     exercise-adafactor-1, exercise-adafactor-2
        // ANCHOR: update
        let cfg = self.config;
        let sign = if cfg.maximize { -1.0 } else { 1.0 };
        let g = |i: usize| sign * grad[i];
        // The first step builds the state; a refused first step removes it again.
        let fresh = self.state.is_none();
        if fresh {
            self.state = Some(self.init(n));
        }
        let Some(state) = self.state.as_mut() else {
            unreachable!("the state was just built")
        };
        let t = state.step.saturating_add(1) as f64;

        // The constants of step t, in f64 as PyTorch computes them in Python.
        let eps1 = cfg.eps.0.unwrap_or(f64::EPSILON);
        let w = t.powf(cfg.beta2_decay);
        let rho = cfg.lr.min(1.0 / t.powf(0.5));
        let rms = norm(theta.iter().copied()) / (n as f64).powf(0.5);
        let alpha = cfg.eps.1.max(rms) * rho;
        let shrink = 1.0 - cfg.lr * cfg.weight_decay;

        let (new_a, new_b, u) = &mut self.scratch;
        u.clear();
        new_a.clear();
        new_b.clear();
        match self.shape {
            Some([rows, cols]) => {
                let (r, c) = (
                    state.row_var.as_ref().expect("a matrix keeps row_var"),
                    state.col_var.as_ref().expect("a matrix keeps col_var"),
                );
                for i in 0..rows {
                    let nrm = norm((0..cols).map(|j| g(i * cols + j)));
                    new_a.push(lerp(r[i], nrm * nrm / cols as f64, w));
                }
                for j in 0..cols {
                    let nrm = norm((0..rows).map(|i| g(i * cols + j)));
                    new_b.push(lerp(c[j], nrm * nrm / rows as f64, w));
                }
                let mean = new_a.iter().sum::<f64>() / rows as f64;
                let floor = mean.max(eps1);
                for (i, ri) in new_a.iter().enumerate() {
                    for (j, cj) in new_b.iter().enumerate() {
                        let v = (ri * cj / floor).max(eps1 * eps1);
                        u.push(1.0 / v.sqrt() * g(i * cols + j));
                    }
                }
            }
            None => {
                let v = state.variance.as_ref().expect("a vector keeps variance");
                for i in 0..n {
                    let gi = g(i);
                    new_a.push(lerp(v[i], gi * gi, w));
                    u.push(1.0 / new_a[i].max(eps1 * eps1).sqrt() * gi);
                }
            }
        }
        let denom = 1.0_f64.max(norm(u.iter().copied()) / ((n as f64).powf(0.5) * cfg.d));
        let scale = -alpha / denom;
        let step = |th: f64, ui: f64| scale.mul_add(ui, th * shrink);
        // ANCHOR_END: update

        // Check every new value before writing any.
        let refuse = |index, quantity| Err(StepError::NonFiniteResult { index, quantity });
        let checked = (|| {
            let (a_name, b_name) = if self.shape.is_some() {
                ("row_var", "col_var")
            } else {
                ("variance", "col_var")
            };
            if let Some(i) = new_a.iter().position(|x| !x.is_finite()) {
                return refuse(i, a_name);
            }
            if let Some(i) = new_b.iter().position(|x| !x.is_finite()) {
                return refuse(i, b_name);
            }
            if let Some(i) = (0..n).find(|&i| !step(theta[i], u[i]).is_finite()) {
                return refuse(i, "param");
            }
            Ok(())
        })();
        if let Err(e) = checked {
            if fresh {
                self.state = None;
            }
            return Err(e);
        }
        for i in 0..n {
            theta[i] = step(theta[i], u[i]);
        }
        if let Some(r) = state.row_var.as_mut() {
            r.as_mut_slice().copy_from_slice(new_a);
        }
        if let Some(c) = state.col_var.as_mut() {
            c.as_mut_slice().copy_from_slice(new_b);
        }
        if let Some(v) = state.variance.as_mut() {
            v.as_mut_slice().copy_from_slice(new_a);
        }
        state.step += 1;
        Ok(())
    }

    fn steps_taken(&self) -> u64 {
        self.state.as_ref().map_or(0, |s| s.step)
    }

    fn name(&self) -> &'static str {
        AdafactorConfig::NAME
    }
}
