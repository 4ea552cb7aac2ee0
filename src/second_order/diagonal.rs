//! Diagonal quasi-Newton methods: each coordinate divides its gradient by its own
//! curvature estimate.
//!
//! - [`BeckerLeCun`] (Becker and LeCun, "Improving the convergence of
//!   back-propagation learning with second order methods", 1988): the exact
//!   diagonal of the Hessian, `x_i <- x_i - lr g_i / (|H_ii| + mu)`.
//! - [`SecantDiagonal`]: the curvature of coordinate `i` estimated from two
//!   consecutive gradients, `h_i = (g_{t,i} - g_{t-1,i}) / (x_{t,i} - x_{t-1,i})`.
//!   On a separable quadratic this is `H_ii` (exactly, in exact arithmetic); when
//!   coordinates interact it is not.
//! - [`Vsgd`]: per-coordinate rates from moving averages of `g` and `g^2`, after
//!   Schaul, Zhang and LeCun, "No More Pesky Learning Rates" (ICML 2013).
//!
//! None of these sees the off-diagonal entries of the Hessian. A unit diagonal
//! step can therefore diverge on a quadratic whose full Newton step converges in
//! one step: with `A = 0.9 * ones + 0.1 * I` the iteration matrix
//! `I - diag(A)^{-1} A = -0.9 (ones - I)` has spectral radius `0.9 (n - 1)`,
//! which is `0.9` in two dimensions and `1.8` in three.

use nalgebra::DVector;

use crate::error::{HyperError, StepError};
use crate::optim::{Optimizer, hyper};
use crate::problems::Objective;

/// Checks lengths and finiteness of a gradient and a curvature vector against
/// the parameters.
fn check_inputs(
    x: &DVector<f64>,
    g: &DVector<f64>,
    h: Option<&DVector<f64>>,
) -> Result<(), StepError> {
    let n = x.len();
    if g.len() != n {
        return Err(StepError::LengthMismatch {
            what: "grad",
            expected: n,
            found: g.len(),
        });
    }
    if let Some(h) = h
        && h.len() != n
    {
        return Err(StepError::LengthMismatch {
            what: "hessian_diagonal",
            expected: n,
            found: h.len(),
        });
    }
    if let Some((index, &value)) = g.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(StepError::NonFiniteGradient { index, value });
    }
    if let Some(h) = h
        && let Some(index) = h.iter().position(|v| !v.is_finite())
    {
        return Err(StepError::NonFiniteResult {
            index,
            quantity: "hessian_diagonal",
        });
    }
    Ok(())
}

/// The gradient and the exact Hessian diagonal of `f` at `x`, after checking
/// the length of `x`.
fn gradient_and_diagonal<F: Objective>(
    f: &F,
    x: &DVector<f64>,
) -> Result<(DVector<f64>, DVector<f64>), StepError> {
    if x.len() != f.dim() {
        return Err(StepError::LengthMismatch {
            what: "params",
            expected: f.dim(),
            found: x.len(),
        });
    }
    let (_, g, h) = f.value_gradient_hessian(x);
    Ok((g, h.diagonal()))
}

/// Writes `new` into `x` if every entry is finite, else refuses.
fn commit(x: &mut DVector<f64>, new: DVector<f64>) -> Result<(), StepError> {
    if let Some(index) = new.iter().position(|v| !v.is_finite()) {
        return Err(StepError::NonFiniteResult {
            index,
            quantity: "param",
        });
    }
    *x = new;
    Ok(())
}

/// Hyperparameters of the Becker-LeCun diagonal Newton step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BeckerLeCunConfig {
    /// Step length, `lr > 0` (default 1: the diagonal Newton step).
    pub lr: f64,
    /// Added to `|H_ii|`, `mu >= 0` (default `1e-4`). With `mu = 0` a zero
    /// curvature refuses the step instead of dividing by zero.
    pub mu: f64,
}

impl Default for BeckerLeCunConfig {
    fn default() -> Self {
        BeckerLeCunConfig { lr: 1.0, mu: 1e-4 }
    }
}

/// The Becker-LeCun step `x_i <- x_i - lr g_i / (|H_ii| + mu)` on the exact
/// Hessian diagonal. It keeps no state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BeckerLeCun {
    config: BeckerLeCunConfig,
}

impl BeckerLeCun {
    const NAME: &'static str = "diagonal";

    /// Builds the method, refusing `lr <= 0` and `mu < 0` (and non-finite values).
    pub fn new(config: BeckerLeCunConfig) -> Result<Self, HyperError> {
        hyper::check(Self::NAME, "lr", config.lr, "(0, inf) (finite)", |v| {
            v > 0.0
        })?;
        hyper::non_negative(Self::NAME, "mu", config.mu)?;
        Ok(BeckerLeCun { config })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &BeckerLeCunConfig {
        &self.config
    }

    // claims: diagonal-newton-can-diverge, seed-hamiltonian, exercise-newton-1
    // ANCHOR: becker_lecun
    /// One step from gradient `g` and Hessian diagonal `h_diag`. On error `x` is
    /// unchanged.
    pub fn step_with(
        &self,
        x: &mut DVector<f64>,
        g: &DVector<f64>,
        h_diag: &DVector<f64>,
    ) -> Result<(), StepError> {
        check_inputs(x, g, Some(h_diag))?;
        let BeckerLeCunConfig { lr, mu } = self.config;
        let new = DVector::from_fn(x.len(), |i, _| x[i] - lr * g[i] / (h_diag[i].abs() + mu));
        commit(x, new)
    }
    // ANCHOR_END: becker_lecun

    /// One step on `f`, with the exact gradient and Hessian diagonal at `x`.
    pub fn step<F: Objective>(&self, f: &F, x: &mut DVector<f64>) -> Result<(), StepError> {
        let (g, d) = gradient_and_diagonal(f, x)?;
        self.step_with(x, &g, &d)
    }
}

/// Hyperparameters of the secant diagonal method.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SecantConfig {
    /// The learning rate of the first step, a plain gradient step, `lr0 > 0`
    /// (default `1e-3`). Also the fallback: a coordinate with no curvature
    /// estimate yet uses curvature `1/lr0`.
    pub lr0: f64,
    /// Step length of the later steps, `lr > 0` (default 1).
    pub lr: f64,
    /// Curvature floor, `mu > 0` (default `1e-8`): the step divides by
    /// `max(h_i, mu)`.
    pub mu: f64,
}

impl Default for SecantConfig {
    fn default() -> Self {
        SecantConfig {
            lr0: 1e-3,
            lr: 1.0,
            mu: 1e-8,
        }
    }
}

/// The secant diagonal method's state: the previous point and gradient, and
/// the current curvature estimates.
#[derive(Clone, Debug, PartialEq)]
pub struct SecantState {
    /// Steps taken.
    pub step: u64,
    /// The parameters at which the previous gradient was taken.
    pub x_prev: DVector<f64>,
    /// The previous gradient.
    pub g_prev: DVector<f64>,
    /// The curvature estimates; NaN where no secant pair has been accepted yet.
    pub h: DVector<f64>,
}

/// The rounding guard of [`secant_ratio`]: a secant pair is used only when the
/// gradient change exceeds `2^-26` (about `sqrt(eps)`) times the larger of the
/// two gradients.
pub const SECANT_GUARD: f64 = 1.0 / 67_108_864.0;

// claims: secant-diagonal-exact-on-separable, exercise-lbfgs-1
// ANCHOR: secant_ratio
/// The secant curvature `(g - g_prev) / (x - x_prev)` of one coordinate, or
/// `None` when it should not be trusted:
///
/// - `x == x_prev` (no step was taken in this coordinate);
/// - `|g - g_prev| <= SECANT_GUARD * max(|g|, |g_prev|)`: the change is close to
///   the rounding level of the gradients, so its ratio would be noise. (The step
///   `x - x_prev` is exact, being the difference of the stored points; the
///   error of the ratio comes from the gradients' rounding, relative to `dg`.)
/// - the ratio is not finite, or not positive (zero or negative curvature: a
///   step `g/h` would stall or ascend).
///
/// Rule of [`SecantDiagonal`]: when `None`, the coordinate keeps its previous
/// estimate.
pub fn secant_ratio(x_prev: f64, g_prev: f64, x: f64, g: f64) -> Option<f64> {
    let dx = x - x_prev;
    let dg = g - g_prev;
    if dx == 0.0 || dg.abs() <= SECANT_GUARD * g.abs().max(g_prev.abs()) {
        return None;
    }
    let h = dg / dx;
    (h.is_finite() && h > 0.0).then_some(h)
}
// ANCHOR_END: secant_ratio

/// Diagonal quasi-Newton from consecutive gradients:
///
/// ```text
/// t = 1:   x <- x - lr0 g                          (plain gradient step)
/// t >= 2:  h_i <- secant_ratio(x_prev_i, g_prev_i, x_i, g_i), or the previous
///                 h_i when that is None (1/lr0 if there is none yet)
///          x_i <- x_i - lr g_i / max(h_i, mu)
/// ```
///
/// It needs only gradients, so it is an [`Optimizer`].
#[derive(Clone, Debug, PartialEq)]
pub struct SecantDiagonal {
    config: SecantConfig,
    state: Option<SecantState>,
}

impl SecantDiagonal {
    const NAME: &'static str = "secant";

    /// Builds the method, refusing `lr0 <= 0`, `lr <= 0`, `mu <= 0` (and
    /// non-finite values).
    pub fn new(config: SecantConfig) -> Result<Self, HyperError> {
        let positive = "(0, inf) (finite)";
        hyper::check(Self::NAME, "lr0", config.lr0, positive, |v| v > 0.0)?;
        hyper::check(Self::NAME, "lr", config.lr, positive, |v| v > 0.0)?;
        hyper::check(Self::NAME, "mu", config.mu, positive, |v| v > 0.0)?;
        Ok(SecantDiagonal {
            config,
            state: None,
        })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &SecantConfig {
        &self.config
    }

    /// The state, or `None` before the first step.
    pub fn state(&self) -> Option<&SecantState> {
        self.state.as_ref()
    }
}

impl Optimizer for SecantDiagonal {
    // ANCHOR: secant_step
    fn step(&mut self, params: &mut DVector<f64>, grad: &DVector<f64>) -> Result<(), StepError> {
        check_inputs(params, grad, None)?;
        let n = params.len();
        let SecantConfig { lr0, lr, mu } = self.config;
        let Some(s) = self.state.as_ref() else {
            let new = &*params - grad * lr0;
            let x_prev = params.clone();
            commit(params, new)?;
            self.state = Some(SecantState {
                step: 1,
                x_prev,
                g_prev: grad.clone(),
                h: DVector::from_element(n, f64::NAN),
            });
            return Ok(());
        };
        if s.x_prev.len() != n {
            return Err(StepError::LengthMismatch {
                what: "params",
                expected: s.x_prev.len(),
                found: n,
            });
        }
        let h = DVector::from_fn(n, |i, _| {
            secant_ratio(s.x_prev[i], s.g_prev[i], params[i], grad[i]).unwrap_or(s.h[i])
        });
        let new = DVector::from_fn(n, |i, _| {
            let hi = if h[i].is_nan() { 1.0 / lr0 } else { h[i] };
            params[i] - lr * grad[i] / hi.max(mu)
        });
        let x_prev = params.clone();
        let step = s.step.saturating_add(1);
        commit(params, new)?;
        self.state = Some(SecantState {
            step,
            x_prev,
            g_prev: grad.clone(),
            h,
        });
        Ok(())
    }
    // ANCHOR_END: secant_step

    fn steps_taken(&self) -> u64 {
        self.state.as_ref().map_or(0, |s| s.step)
    }

    fn name(&self) -> &'static str {
        Self::NAME
    }

    /// The rate of the curvature-scaled steps (`lr`; the first step uses `lr0`).
    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) -> Result<(), HyperError> {
        hyper::check(Self::NAME, "lr", lr, "(0, inf) (finite)", |v| v > 0.0)?;
        self.config.lr = lr;
        Ok(())
    }
}

// ANCHOR: optimal_rate
/// vSGD's rate for one coordinate: `(1/h) gbar^2 / vbar`, the rate that
/// minimizes the expected loss after one step on a quadratic with curvature `h`
/// when `gbar = E[g]` and `vbar = E[g^2]`.
///
/// Derivation: with `f(x) = (h/2)(x - x*)^2` and a noisy gradient `g` with
/// `E[g] = h (x - x*)`,
///
/// ```text
/// E f(x - eta g) = (h/2) ((x - x*)^2 - 2 eta (x - x*) E[g] + eta^2 E[g^2]),
/// ```
///
/// a parabola in `eta` with its minimum at
/// `eta = (x - x*) E[g] / E[g^2] = E[g]^2 / (h E[g^2])`.
///
/// Returns 0 when `vbar = 0` (all gradients zero: nothing to do); the ratio
/// `gbar^2 / vbar` is clamped to `[0, 1]`, which it satisfies in exact
/// arithmetic (`E[g]^2 <= E[g^2]`). Assumes `h > 0`.
pub fn optimal_rate(gbar: f64, vbar: f64, h: f64) -> f64 {
    if vbar <= 0.0 {
        return 0.0;
    }
    (gbar * gbar / vbar).clamp(0.0, 1.0) / h
}
// ANCHOR_END: optimal_rate

/// How vSGD gets its curvature `h_i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum VsgdCurvature {
    /// The absolute value of the exact Hessian diagonal at the current point.
    Exact,
    /// A moving average of that value, with the same memory as `gbar`, `vbar`.
    #[default]
    Averaged,
}

/// Hyperparameters of vSGD.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VsgdConfig {
    /// The initial memory `tau`, `tau0 >= 1` (default 10): the moving averages
    /// start by weighting each new sample with `1/tau0`.
    pub tau0: f64,
    /// Curvature floor, `mu > 0` (default `1e-8`): the rate divides by
    /// `max(h_i, mu)`.
    pub mu: f64,
    /// Where the curvature comes from (default [`VsgdCurvature::Averaged`]).
    pub curvature: VsgdCurvature,
}

impl Default for VsgdConfig {
    fn default() -> Self {
        VsgdConfig {
            tau0: 10.0,
            mu: 1e-8,
            curvature: VsgdCurvature::Averaged,
        }
    }
}

/// vSGD's per-coordinate state.
#[derive(Clone, Debug, PartialEq)]
pub struct VsgdState {
    /// Steps taken.
    pub step: u64,
    /// Moving average of `g`.
    pub gbar: DVector<f64>,
    /// Moving average of `g^2`.
    pub vbar: DVector<f64>,
    /// Moving average of `|H_ii|` (with [`VsgdCurvature::Exact`], the last value).
    pub hbar: DVector<f64>,
    /// The memory: each new sample enters the averages with weight `1/tau`.
    pub tau: DVector<f64>,
}

/// vSGD-style per-coordinate rates, in the spirit of Schaul, Zhang and LeCun
/// (2013). The idea: on a quadratic with curvature `h`, the rate minimizing the
/// expected loss after one step is `E[g]^2 / (h E[g^2])` ([`optimal_rate`]); far
/// from the optimum the gradient's mean dominates its noise and the rate
/// approaches the Newton rate `1/h`, near the optimum noise dominates and the
/// rate shrinks. The expectations are replaced by moving averages whose memory
/// `tau` grows when the gradient looks noisy (`gbar^2/vbar` small) and shrinks
/// toward 1 when it does not.
///
/// ```text
/// t = 1:   gbar <- g, vbar <- g^2, hbar <- |d|, tau <- tau0     (our choice:
///          the first sample starts the averages; the memory is kept)
/// t >= 2:  w <- 1/tau
///          gbar <- (1 - w) gbar + w g;  vbar <- (1 - w) vbar + w g^2
///          hbar <- (1 - w) hbar + w |d|   (Averaged)   or  hbar <- |d|  (Exact)
/// every t: eta <- optimal_rate(gbar, vbar, max(hbar, mu))
///          x <- x - eta g
///          tau <- (1 - gbar^2/vbar) tau + 1                    (not at t = 1)
/// ```
///
/// Here `d` is the exact Hessian diagonal at the current point. With exact
/// (noise-free) gradients `gbar^2/vbar` stays near 1, the memory shrinks to 1 and
/// the method becomes the diagonal Newton step `g / max(|d|, mu)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Vsgd {
    config: VsgdConfig,
    state: Option<VsgdState>,
}

impl Vsgd {
    const NAME: &'static str = "vsgd";

    /// Builds the method, refusing `tau0 < 1` and `mu <= 0` (and non-finite values).
    pub fn new(config: VsgdConfig) -> Result<Self, HyperError> {
        hyper::check(Self::NAME, "tau0", config.tau0, "[1, inf) (finite)", |v| {
            v >= 1.0
        })?;
        hyper::check(Self::NAME, "mu", config.mu, "(0, inf) (finite)", |v| {
            v > 0.0
        })?;
        Ok(Vsgd {
            config,
            state: None,
        })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &VsgdConfig {
        &self.config
    }

    /// The state, or `None` before the first step.
    pub fn state(&self) -> Option<&VsgdState> {
        self.state.as_ref()
    }

    // ANCHOR: vsgd_step
    /// One step from a gradient sample `g` and a Hessian-diagonal sample
    /// `h_diag`. On error `x` and the state are unchanged.
    pub fn step_with(
        &mut self,
        x: &mut DVector<f64>,
        g: &DVector<f64>,
        h_diag: &DVector<f64>,
    ) -> Result<(), StepError> {
        check_inputs(x, g, Some(h_diag))?;
        let n = x.len();
        let VsgdConfig {
            tau0,
            mu,
            curvature,
        } = self.config;
        let d = h_diag.abs();
        let mut s = match &self.state {
            None => VsgdState {
                step: 0,
                gbar: g.clone(),
                vbar: g.component_mul(g),
                hbar: d.clone(),
                tau: DVector::from_element(n, tau0),
            },
            Some(s) if s.gbar.len() != n => {
                return Err(StepError::LengthMismatch {
                    what: "params",
                    expected: s.gbar.len(),
                    found: n,
                });
            }
            Some(s) => {
                let mut s = s.clone();
                for i in 0..n {
                    let w = 1.0 / s.tau[i];
                    s.gbar[i] = (1.0 - w) * s.gbar[i] + w * g[i];
                    s.vbar[i] = (1.0 - w) * s.vbar[i] + w * g[i] * g[i];
                    s.hbar[i] = match curvature {
                        VsgdCurvature::Averaged => (1.0 - w) * s.hbar[i] + w * d[i],
                        VsgdCurvature::Exact => d[i],
                    };
                }
                s
            }
        };
        let first = s.step == 0;
        let new = DVector::from_fn(n, |i, _| {
            x[i] - optimal_rate(s.gbar[i], s.vbar[i], s.hbar[i].max(mu)) * g[i]
        });
        if !first {
            for i in 0..n {
                let ratio = if s.vbar[i] > 0.0 {
                    (s.gbar[i] * s.gbar[i] / s.vbar[i]).clamp(0.0, 1.0)
                } else {
                    1.0
                };
                s.tau[i] = (1.0 - ratio) * s.tau[i] + 1.0;
            }
        }
        for (quantity, v) in [
            ("gbar", &s.gbar),
            ("vbar", &s.vbar),
            ("hbar", &s.hbar),
            ("tau", &s.tau),
        ] {
            if let Some(index) = v.iter().position(|e| !e.is_finite()) {
                return Err(StepError::NonFiniteResult { index, quantity });
            }
        }
        commit(x, new)?;
        s.step = s.step.saturating_add(1);
        self.state = Some(s);
        Ok(())
    }
    // ANCHOR_END: vsgd_step

    /// One step on `f`, with the exact gradient and Hessian diagonal at `x`.
    pub fn step<F: Objective>(&mut self, f: &F, x: &mut DVector<f64>) -> Result<(), StepError> {
        let (g, d) = gradient_and_diagonal(f, x)?;
        self.step_with(x, &g, &d)
    }
}
