//! L-BFGS with PyTorch's `LBFGS` semantics: the two-loop recursion over a
//! limited history of curvature pairs, and an optional strong-Wolfe line search
//! with cubic interpolation.
//!
//! ```text
//! input: lr, max_iter, max_eval, tolerance_grad, tolerance_change, history_size,
//!        line_search_fn (none | strong_wolfe)
//! one call of step (PyTorch's step(closure)):
//!   f, g <- evaluate(theta);  stop if max |g| <= tolerance_grad
//!   repeat up to max_iter times:
//!     first iteration ever:   d <- -g,  history empty,  gamma <- 1
//!     otherwise:              y <- g - g_prev,  s <- t d
//!                             if y.s > 1e-10: push (s, y, 1/(y.s)), dropping the
//!                                oldest pair beyond history_size; gamma <- y.s / y.y
//!                             d <- -H g by the two-loop recursion with H0 = gamma I
//!     t <- lr (the very first iteration: min(1, 1/|g|_1) lr)
//!     stop if g.d > -tolerance_change
//!     strong_wolfe: (f, g, t) <- line search along d from t;  theta <- theta + t d
//!     none:         theta <- theta + t d;  f, g <- evaluate(theta) unless last iteration
//!     stop on max_iter, max_eval evaluations, max |g| <= tolerance_grad,
//!          max |t d| <= tolerance_change, or |f - f_prev| < tolerance_change
//! ```
//!
//! The secant condition `H y = s` holds for the newest pair after every update
//! (the two-loop recursion applies the BFGS inverse update once per pair), and
//! on a strictly convex quadratic with exact line searches BFGS terminates in at
//! most `n` iterations; both are claims of the book's quasi-Newton chapter.
//!
//! The state (directions, steps, the last gradient, the counters) persists
//! between calls, as PyTorch's does. A call that meets a non-finite loss or
//! gradient is refused: parameters and state are restored as they were.

use std::collections::VecDeque;

use nalgebra::DVector;

use crate::error::{HyperError, StepError};
use crate::optim::hyper;
use crate::problems::Objective;

/// The line search, PyTorch's `line_search_fn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LineSearch {
    /// `None`: a fixed step `lr` along the direction.
    #[default]
    None,
    /// `"strong_wolfe"`: bracketing and zoom with cubic interpolation,
    /// `c1 = 1e-4`, `c2 = 0.9`.
    StrongWolfe,
}

/// Hyperparameters of L-BFGS, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LbfgsConfig {
    /// Learning rate, `lr >= 0` (default 1).
    pub lr: f64,
    /// Iterations per call of `step`, at least 1 (default 20).
    pub max_iter: usize,
    /// Function evaluations per call, at least 1 (default `max_iter * 5 / 4`).
    pub max_eval: Option<usize>,
    /// Stop when the largest gradient entry is at most this, `>= 0` (default `1e-7`).
    pub tolerance_grad: f64,
    /// Stop when a step or the change of the loss is below this, `>= 0`
    /// (default `1e-9`).
    pub tolerance_change: f64,
    /// Curvature pairs kept, at least 1 (default 100).
    pub history_size: usize,
    /// The line search (default none).
    pub line_search_fn: LineSearch,
    /// Ascend instead of descend (default false).
    pub maximize: bool,
}

impl Default for LbfgsConfig {
    /// PyTorch's `LBFGS` defaults.
    fn default() -> Self {
        LbfgsConfig {
            lr: 1.0,
            max_iter: 20,
            max_eval: None,
            tolerance_grad: 1e-7,
            tolerance_change: 1e-9,
            history_size: 100,
            line_search_fn: LineSearch::None,
            maximize: false,
        }
    }
}

impl LbfgsConfig {
    /// The optimizer's name in errors.
    pub const NAME: &'static str = "lbfgs";

    /// The evaluation budget per call: `max_eval`, or PyTorch's default
    /// `max_iter * 5 / 4` (integer division).
    pub fn eval_budget(&self) -> usize {
        self.max_eval.unwrap_or(self.max_iter * 5 / 4)
    }

    fn validate(&self) -> Result<(), HyperError> {
        hyper::non_negative(Self::NAME, "lr", self.lr)?;
        hyper::non_negative(Self::NAME, "tolerance_grad", self.tolerance_grad)?;
        hyper::non_negative(Self::NAME, "tolerance_change", self.tolerance_change)?;
        let whole = |param: &'static str, value: usize| {
            if value == 0 {
                Err(HyperError {
                    optimizer: Self::NAME,
                    param,
                    value: value.to_string(),
                    range: "[1, inf) (whole)",
                })
            } else {
                Ok(())
            }
        };
        whole("max_iter", self.max_iter)?;
        whole("history_size", self.history_size)?;
        // PyTorch accepts max_eval = 0 (and the default rounds 1 * 5 / 4 down to
        // 1); a budget of 0 would end every call after its first evaluation.
        whole("max_eval", self.eval_budget())
    }
}

/// The state L-BFGS keeps between calls, with PyTorch's names.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LbfgsState {
    /// Function evaluations over all calls.
    pub func_evals: u64,
    /// Iterations over all calls.
    pub n_iter: u64,
    /// The last direction `d`.
    pub d: Option<DVector<f64>>,
    /// The last step length `t`.
    pub t: f64,
    /// The gradient differences `y` of the history, oldest first.
    pub old_dirs: VecDeque<DVector<f64>>,
    /// The steps `s` of the history, oldest first.
    pub old_stps: VecDeque<DVector<f64>>,
    /// `1 / (y . s)` for each pair.
    pub ro: VecDeque<f64>,
    /// The scale `gamma = y.s / y.y` of the initial inverse Hessian.
    pub h_diag: f64,
    /// The gradient at the start of the last iteration.
    pub prev_flat_grad: Option<DVector<f64>>,
    /// The loss at the start of the last iteration.
    pub prev_loss: f64,
}

/// What one call of [`Lbfgs::step`] did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LbfgsReport {
    /// The loss at the parameters the call started from (PyTorch's return value).
    pub loss: f64,
    /// Inner iterations run.
    pub iterations: usize,
    /// Function evaluations made.
    pub evaluations: usize,
}

/// L-BFGS: [`LbfgsConfig`] and its [`LbfgsState`].
#[derive(Clone, Debug, PartialEq)]
pub struct Lbfgs {
    config: LbfgsConfig,
    state: LbfgsState,
}

/// A loss and its gradient, with `maximize` applied.
struct Eval {
    loss: f64,
    grad: DVector<f64>,
}

impl Lbfgs {
    /// Builds the optimizer, refusing any hyperparameter outside its range.
    pub fn new(config: LbfgsConfig) -> Result<Self, HyperError> {
        config.validate()?;
        Ok(Lbfgs {
            config,
            state: LbfgsState {
                h_diag: 1.0,
                ..LbfgsState::default()
            },
        })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &LbfgsConfig {
        &self.config
    }

    /// The state.
    pub fn state(&self) -> &LbfgsState {
        &self.state
    }

    /// One call of PyTorch's `step(closure)` on objective `f`: up to `max_iter`
    /// iterations. On error, `x` and the state are left exactly as they were.
    pub fn step<O: Objective>(
        &mut self,
        f: &O,
        x: &mut DVector<f64>,
    ) -> Result<LbfgsReport, StepError> {
        if x.len() != f.dim() {
            return Err(StepError::LengthMismatch {
                what: "params",
                expected: f.dim(),
                found: x.len(),
            });
        }
        let (x0, s0) = (x.clone(), self.state.clone());
        let result = self.iterate(f, x);
        if result.is_err() {
            *x = x0;
            self.state = s0;
        }
        result
    }

    // claims: lbfgs-follows-pytorch, exercise-lbfgs-3, exercise-lbfgs-2
    // ANCHOR: step
    fn iterate<O: Objective>(
        &mut self,
        f: &O,
        x: &mut DVector<f64>,
    ) -> Result<LbfgsReport, StepError> {
        let c = self.config;
        let max_eval = c.eval_budget();
        let first = evaluate(f, x, c.maximize)?;
        let orig_loss = if c.maximize { -first.loss } else { first.loss };
        let (mut loss, mut g) = (first.loss, first.grad);
        let mut evals = 1;
        self.state.func_evals += 1;
        let mut report = LbfgsReport {
            loss: orig_loss,
            iterations: 0,
            evaluations: 1,
        };
        if g.amax() <= c.tolerance_grad {
            return Ok(report);
        }
        let st = &mut self.state;
        let mut n_iter = 0;
        while n_iter < c.max_iter {
            n_iter += 1;
            st.n_iter += 1;
            // The direction: steepest descent first, then the two-loop recursion.
            let d = if st.n_iter == 1 {
                st.old_dirs.clear();
                st.old_stps.clear();
                st.ro.clear();
                st.h_diag = 1.0;
                -&g
            } else {
                let prev = st
                    .prev_flat_grad
                    .as_ref()
                    .expect("set after the first iteration");
                let y = &g - prev;
                let s = st.d.as_ref().expect("set after the first iteration") * st.t;
                let ys = y.dot(&s);
                if ys > 1e-10 {
                    if st.old_dirs.len() == c.history_size {
                        st.old_dirs.pop_front();
                        st.old_stps.pop_front();
                        st.ro.pop_front();
                    }
                    st.h_diag = ys / y.dot(&y);
                    st.old_dirs.push_back(y);
                    st.old_stps.push_back(s);
                    st.ro.push_back(1.0 / ys);
                }
                two_loop(&g, &st.old_stps, &st.old_dirs, &st.ro, st.h_diag)
            };
            st.prev_flat_grad = Some(g.clone());
            st.prev_loss = loss;

            // The step length.
            let mut t = if st.n_iter == 1 {
                (1.0f64).min(1.0 / g.abs().sum()) * c.lr
            } else {
                c.lr
            };
            let gtd = g.dot(&d);
            if gtd > -c.tolerance_change {
                st.d = Some(d);
                st.t = t;
                break;
            }
            let mut ls_evals = 0;
            let mut opt_cond = false;
            match c.line_search_fn {
                LineSearch::StrongWolfe => {
                    let found = strong_wolfe(
                        |step| {
                            let trial = &*x + &d * step;
                            let e = evaluate(f, &trial, c.maximize)?;
                            Ok((e.loss, e.grad))
                        },
                        t,
                        &d,
                        loss,
                        &g,
                        gtd,
                        c.tolerance_change,
                        max_eval.saturating_sub(evals),
                    )?;
                    loss = found.loss;
                    g = found.grad;
                    t = found.t;
                    ls_evals = found.evals;
                    x.axpy(t, &d, 1.0);
                    opt_cond = g.amax() <= c.tolerance_grad;
                }
                LineSearch::None => {
                    x.axpy(t, &d, 1.0);
                    if n_iter != c.max_iter {
                        let e = evaluate(f, x, c.maximize)?;
                        loss = e.loss;
                        g = e.grad;
                        opt_cond = g.amax() <= c.tolerance_grad;
                        ls_evals = 1;
                    }
                }
            }
            evals += ls_evals;
            st.func_evals += ls_evals as u64;
            let small_step = (&d * t).amax() <= c.tolerance_change;
            st.d = Some(d);
            st.t = t;
            if n_iter == c.max_iter
                || evals >= max_eval
                || opt_cond
                || small_step
                || (loss - st.prev_loss).abs() < c.tolerance_change
            {
                break;
            }
        }
        report.iterations = n_iter;
        report.evaluations = evals;
        Ok(report)
    }
    // ANCHOR_END: step
}

/// The objective's loss and gradient at `x`, negated for `maximize`; refuses a
/// non-finite loss or gradient.
fn evaluate<O: Objective>(f: &O, x: &DVector<f64>, maximize: bool) -> Result<Eval, StepError> {
    let (loss, grad) = f.value_gradient(x);
    if !loss.is_finite() {
        return Err(StepError::NonFiniteResult {
            index: 0,
            quantity: "loss",
        });
    }
    if let Some((index, &value)) = grad.iter().enumerate().find(|(_, g)| !g.is_finite()) {
        return Err(StepError::NonFiniteGradient { index, value });
    }
    Ok(if maximize {
        Eval {
            loss: -loss,
            grad: -grad,
        }
    } else {
        Eval { loss, grad }
    })
}

// claims: lbfgs-secant-condition, lbfgs-finite-termination-quadratic, lbfgs-follows-pytorch,
//     exercise-lbfgs-3, exercise-lbfgs-2, exercise-lbfgs-4
// ANCHOR: two_loop
/// The two-loop recursion: `-H g`, where `H` is the inverse-Hessian
/// approximation built from `gamma I` by one BFGS update per pair `(s_i, y_i)`,
/// oldest first, `rho_i = 1 / (y_i . s_i)`.
pub fn two_loop(
    g: &DVector<f64>,
    s: &VecDeque<DVector<f64>>,
    y: &VecDeque<DVector<f64>>,
    rho: &VecDeque<f64>,
    gamma: f64,
) -> DVector<f64> {
    let k = s.len();
    let mut alpha = vec![0.0; k];
    let mut q = -g;
    for i in (0..k).rev() {
        alpha[i] = s[i].dot(&q) * rho[i];
        q.axpy(-alpha[i], &y[i], 1.0);
    }
    let mut r = q * gamma;
    for i in 0..k {
        let beta = y[i].dot(&r) * rho[i];
        r.axpy(alpha[i] - beta, &s[i], 1.0);
    }
    r
}
// ANCHOR_END: two_loop

/// The minimizer of the cubic that interpolates `(x1, f1, g1)` and
/// `(x2, f2, g2)`, clamped to `[lo, hi]` (by default the interval between the
/// two points); the midpoint when the cubic has no real minimizer.
pub fn cubic_interpolate(
    (x1, f1, g1): (f64, f64, f64),
    (x2, f2, g2): (f64, f64, f64),
    bounds: Option<(f64, f64)>,
) -> f64 {
    let (lo, hi) = bounds.unwrap_or(if x1 <= x2 { (x1, x2) } else { (x2, x1) });
    let d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    let d2_square = d1 * d1 - g1 * g2;
    if d2_square >= 0.0 {
        let d2 = d2_square.sqrt();
        let min_pos = if x1 <= x2 {
            x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
        } else {
            x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
        };
        min_pos.max(lo).min(hi)
    } else {
        (lo + hi) / 2.0
    }
}

/// A point found by [`strong_wolfe`].
struct Found {
    loss: f64,
    grad: DVector<f64>,
    t: f64,
    evals: usize,
}

/// One bracket end: step, loss, gradient, directional derivative.
#[derive(Clone)]
struct End {
    t: f64,
    f: f64,
    g: DVector<f64>,
    gtd: f64,
}

/// The strong-Wolfe line search along `d` from step `t` (PyTorch's
/// `_strong_wolfe`, `c1 = 1e-4`, `c2 = 0.9`): bracket a step that satisfies
/// both Wolfe conditions, then zoom with cubic interpolation, within `max_ls`
/// evaluations.
#[allow(clippy::too_many_arguments)]
fn strong_wolfe(
    mut eval: impl FnMut(f64) -> Result<(f64, DVector<f64>), StepError>,
    mut t: f64,
    d: &DVector<f64>,
    f: f64,
    g: &DVector<f64>,
    gtd: f64,
    tolerance_change: f64,
    max_ls: usize,
) -> Result<Found, StepError> {
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    let d_norm = d.amax();
    let (mut f_new, mut g_new) = eval(t)?;
    let mut evals = 1;
    let mut gtd_new = g_new.dot(d);
    let mut prev = End {
        t: 0.0,
        f,
        g: g.clone(),
        gtd,
    };
    let mut done = false;
    let mut ls_iter = 0;
    let mut bracket: Vec<End> = Vec::new();
    while ls_iter < max_ls {
        let new = End {
            t,
            f: f_new,
            g: g_new.clone(),
            gtd: gtd_new,
        };
        if f_new > f + C1 * t * gtd || (ls_iter > 1 && f_new >= prev.f) {
            bracket = vec![prev.clone(), new];
            break;
        }
        if gtd_new.abs() <= -C2 * gtd {
            bracket = vec![new];
            done = true;
            break;
        }
        if gtd_new >= 0.0 {
            bracket = vec![prev.clone(), new];
            break;
        }
        let min_step = t + 0.01 * (t - prev.t);
        let max_step = t * 10.0;
        let next = cubic_interpolate(
            (prev.t, prev.f, prev.gtd),
            (t, f_new, gtd_new),
            Some((min_step, max_step)),
        );
        prev = new;
        t = next;
        (f_new, g_new) = eval(t)?;
        evals += 1;
        gtd_new = g_new.dot(d);
        ls_iter += 1;
    }
    if ls_iter == max_ls {
        bracket = vec![
            End {
                t: 0.0,
                f,
                g: g.clone(),
                gtd,
            },
            End {
                t,
                f: f_new,
                g: g_new.clone(),
                gtd: gtd_new,
            },
        ];
    }
    // The zoom phase.
    let order = |b: &[End]| {
        if b[0].f <= b[b.len() - 1].f {
            (0, 1)
        } else {
            (1, 0)
        }
    };
    let (mut low, mut high) = order(&bracket);
    let mut insufficient = false;
    while !done && ls_iter < max_ls {
        let (lo_t, hi_t) = (
            bracket[0].t.min(bracket[1].t),
            bracket[0].t.max(bracket[1].t),
        );
        if (bracket[1].t - bracket[0].t).abs() * d_norm < tolerance_change {
            break;
        }
        let mut t = cubic_interpolate(
            (bracket[0].t, bracket[0].f, bracket[0].gtd),
            (bracket[1].t, bracket[1].f, bracket[1].gtd),
            None,
        );
        let eps = 0.1 * (hi_t - lo_t);
        if (hi_t - t).min(t - lo_t) < eps {
            if insufficient || t >= hi_t || t <= lo_t {
                t = if (t - hi_t).abs() < (t - lo_t).abs() {
                    hi_t - eps
                } else {
                    lo_t + eps
                };
                insufficient = false;
            } else {
                insufficient = true;
            }
        } else {
            insufficient = false;
        }
        let (f_t, g_t) = eval(t)?;
        evals += 1;
        let gtd_t = g_t.dot(d);
        ls_iter += 1;
        let point = End {
            t,
            f: f_t,
            g: g_t,
            gtd: gtd_t,
        };
        if f_t > f + C1 * t * gtd || f_t >= bracket[low].f {
            bracket[high] = point;
            (low, high) = order(&bracket);
        } else {
            if gtd_t.abs() <= -C2 * gtd {
                done = true;
            } else if gtd_t * (bracket[high].t - bracket[low].t) >= 0.0 {
                bracket[high] = bracket[low].clone();
            }
            bracket[low] = point;
        }
    }
    let best = &bracket[low];
    Ok(Found {
        loss: best.f,
        grad: best.g.clone(),
        t: best.t,
        evals,
    })
}
