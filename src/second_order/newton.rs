//! Newton's method on exact Hessians, with a guarantee that it never ascends.
//!
//! ```text
//! input: objective f, step s0 (default 1), damping, optional Armijo line search
//! g, H <- grad f(x), Hess f(x)                    (exact, by dual numbers)
//! if g = 0: stop (p = 0)
//! solve H p = -g by Cholesky (LDL' if exact)      (no inverse is formed)
//! if H is not positive definite:
//!     Refuse:              error NotPositiveDefinite
//!     Levenberg-Marquardt: lambda <- lambda0, lambda0 * factor, ...
//!                          until H + lambda I factors; solve (H + lambda I) p = -g
//! check g.p < 0, else refuse                      (never an ascent direction)
//! s <- s0; with a line search, s <- s * shrink
//!     until f(x + s p) <= f(x) + c1 s g.p (+ rounding allowance)
//! x <- x + s p
//! ```
//!
//! When `H` (or `H + lambda I`) is positive definite, `p = -(H + lambda I)^{-1} g`
//! gives `g.p = -g'(H + lambda I)^{-1} g < 0` for every `g != 0`; the code checks
//! the computed `g.p` anyway, because rounding in a nearly singular solve could
//! break it, and raises `lambda` further (or refuses) when it fails.
//!
//! The unit step `s0 = 1` is what makes Newton's method invariant under affine
//! changes of variables (Boyd and Vandenberghe, Convex Optimization, 9.5.1) and
//! quadratically convergent near a minimizer with a Lipschitz Hessian (9.5.3).
//! Levenberg-Marquardt damping breaks affine invariance: `lambda I` is not.
//!
//! A refused step leaves `x` exactly as it was.
//!
//! The method is written once for any [`NewtonScalar`]: the direction, the
//! damping loop, the step and the Armijo test are generic, and only the solve is
//! chosen by the type. In `f64` it is nalgebra's Cholesky factorization; the
//! default, for exact types such as big rationals, is a square-root-free `LDL'`
//! factorization whose pivots' signs decide positive definiteness. So the same
//! lines that take a floating-point step take it in exact arithmetic too, where
//! one step on a quadratic lands on `A^{-1} b` with no rounding at all.

use nalgebra::{Cholesky, DMatrix, DVector};

use crate::error::{HyperError, StepError};
use crate::optim::{Scalar, hyper};
use crate::problems::Objective;

/// The optimizer name used in [`HyperError`]s.
const NAME: &str = "newton";

/// Backtracking line search with the Armijo (sufficient decrease) condition.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Armijo {
    /// Sufficient-decrease constant, in `(0, 1)` (default `1e-4`). Values below
    /// `1/2` let the unit step be accepted near a minimizer, which keeps the
    /// quadratic convergence.
    pub c1: f64,
    /// Factor applied to the step length after each rejected trial, in `(0, 1)`
    /// (default `0.5`).
    pub shrink: f64,
    /// How many times the step may be shrunk before the search gives up, at least
    /// 1 (default 60).
    pub max_backtracks: u32,
}

impl Default for Armijo {
    fn default() -> Self {
        Armijo {
            c1: 1e-4,
            shrink: 0.5,
            max_backtracks: 60,
        }
    }
}

/// What to do when the Hessian is not positive definite.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Damping {
    /// Refuse the step with [`NewtonError::NotPositiveDefinite`].
    Refuse,
    /// Levenberg-Marquardt: try `H + lambda I` with `lambda = lambda0`, then
    /// `lambda0 * factor`, `lambda0 * factor^2`, ..., at most `max_tries` values,
    /// and take the first that factors and gives a descent direction.
    LevenbergMarquardt {
        /// The first damping, `lambda0 > 0` (finite).
        lambda0: f64,
        /// The growth factor, `factor > 1` (finite).
        factor: f64,
        /// The number of damped tries, at least 1.
        max_tries: u32,
    },
}

impl Damping {
    /// Levenberg-Marquardt with `lambda0 = 1e-3`, `factor = 10`, `max_tries = 40`
    /// (so `lambda` reaches `1e36` before the step is refused).
    pub fn levenberg_marquardt() -> Self {
        Damping::LevenbergMarquardt {
            lambda0: 1e-3,
            factor: 10.0,
            max_tries: 40,
        }
    }
}

/// Newton's hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NewtonConfig {
    /// The initial step length `s0`, `s0 > 0` (finite; default 1, the pure
    /// Newton step).
    pub step: f64,
    /// What to do when the Hessian is not positive definite (default
    /// [`Damping::Refuse`]).
    pub damping: Damping,
    /// An optional backtracking line search (default none).
    pub line_search: Option<Armijo>,
}

impl Default for NewtonConfig {
    fn default() -> Self {
        NewtonConfig {
            step: 1.0,
            damping: Damping::Refuse,
            line_search: None,
        }
    }
}

/// A Newton direction and how it was obtained, in the scalar `T` (`f64` unless
/// said otherwise).
#[derive(Clone, Debug, PartialEq)]
pub struct Direction<T: NewtonScalar = f64> {
    /// The direction `p`, solving `(H + lambda I) p = -g`.
    pub p: DVector<T>,
    /// The damping used: 0 for the undamped Newton direction.
    pub lambda: f64,
    /// The directional derivative `g.p` as computed (`g.dot(p)`): negative, or
    /// zero when `g = 0`. The descent check itself runs on scaled copies of `g`
    /// and `p`, so for gradients near the underflow threshold (entries below
    /// about `1e-154`) this product may round to zero while the direction is
    /// still checked to descend.
    pub slope: T,
}

/// What a Newton step did, in the scalar `T` (`f64` unless said otherwise).
#[derive(Clone, Debug, PartialEq)]
pub struct NewtonStep<T: NewtonScalar = f64> {
    /// `f(x)` before the step.
    pub loss: T,
    /// `|grad f(x)|` before the step (Euclidean norm, as an `f64`).
    pub grad_norm: f64,
    /// The damping used: 0 for the undamped Newton direction.
    pub lambda: f64,
    /// The step length `s` taken along `p` (0 when `g = 0`).
    pub step_length: f64,
    /// The directional derivative `g.p`.
    pub slope: T,
    /// `f(x + s p)`, when the line search evaluated it.
    pub new_loss: Option<T>,
}

/// Why Newton's method refused a step. A refused step leaves `x` unchanged.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum NewtonError {
    /// A vector or matrix of the wrong size (`what` is `"x"` or `"hessian"`; for
    /// the Hessian, the side expected and its number of rows, or of columns if
    /// the rows match), or a step that would make `x[index]` non-finite
    /// (`quantity` is `"x"`): the first-order optimizers' [`StepError`].
    #[error(transparent)]
    Step(#[from] StepError),
    /// An input or a derivative has a NaN or infinite entry.
    #[error("{what}[{index}] is not finite; step refused")]
    NonFinite {
        /// Which quantity: `"x"`, `"loss"`, `"grad"` or `"hessian"`.
        what: &'static str,
        /// The entry (column-major for the Hessian).
        index: usize,
    },
    /// The Hessian is not positive definite (its Cholesky factorization failed)
    /// and the damping is [`Damping::Refuse`].
    #[error(
        "the Hessian is not positive definite (Cholesky failed); step refused \
         (enable Levenberg-Marquardt damping to take a damped step)"
    )]
    NotPositiveDefinite,
    /// The solve did not give a finite descent direction (`g.p >= 0` or a
    /// non-finite `p`) and the damping is [`Damping::Refuse`].
    #[error("the Newton direction is not a descent direction (g.p = {slope:e}); step refused")]
    NotDescent {
        /// The computed `g.p` (NaN when `p` is not finite).
        slope: f64,
    },
    /// Levenberg-Marquardt damping found no `lambda` giving a descent direction.
    #[error(
        "no damping up to lambda = {lambda:e} ({tries} tries) gave a descent \
         direction; step refused"
    )]
    DampingFailed {
        /// Damped tries made.
        tries: u32,
        /// The last `lambda` tried.
        lambda: f64,
    },
    /// The Armijo line search found no acceptable step.
    #[error(
        "the Armijo line search found no sufficient decrease in {tries} trials \
         (last step length {step_length:e}); step refused"
    )]
    LineSearchFailed {
        /// Trials made.
        tries: u32,
        /// The last step length tried.
        step_length: f64,
    },
}

/// Newton's method with validated hyperparameters. It keeps no state between
/// steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Newton {
    config: NewtonConfig,
}

impl Newton {
    /// Builds the method, refusing any hyperparameter outside its range; the
    /// error names it (`step`, `damping.lambda0`, `line_search.c1`, ...).
    pub fn new(config: NewtonConfig) -> Result<Self, HyperError> {
        hyper::check(NAME, "step", config.step, "(0, inf) (finite)", |s| s > 0.0)?;
        if let Damping::LevenbergMarquardt {
            lambda0,
            factor,
            max_tries,
        } = config.damping
        {
            hyper::check(NAME, "damping.lambda0", lambda0, "(0, inf) (finite)", |l| {
                l > 0.0
            })?;
            hyper::check(NAME, "damping.factor", factor, "(1, inf) (finite)", |f| {
                f > 1.0
            })?;
            if max_tries == 0 {
                return Err(HyperError {
                    optimizer: NAME,
                    param: "damping.max_tries",
                    value: "0".into(),
                    range: ">= 1",
                });
            }
        }
        if let Some(ls) = config.line_search {
            hyper::check(NAME, "line_search.c1", ls.c1, "(0, 1)", |c| {
                c > 0.0 && c < 1.0
            })?;
            hyper::check(NAME, "line_search.shrink", ls.shrink, "(0, 1)", |c| {
                c > 0.0 && c < 1.0
            })?;
            if ls.max_backtracks == 0 {
                return Err(HyperError {
                    optimizer: NAME,
                    param: "line_search.max_backtracks",
                    value: "0".into(),
                    range: ">= 1",
                });
            }
        }
        Ok(Newton { config })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &NewtonConfig {
        &self.config
    }

    /// The (possibly damped) Newton direction for gradient `g` and Hessian `h`,
    /// in `f64`: [`Newton::direction_in`] with the Cholesky solve.
    pub fn direction(&self, g: &DVector<f64>, h: &DMatrix<f64>) -> Result<Direction, NewtonError> {
        self.direction_in(g, h)
    }

    /// One Newton step on `f` from `x`, in `f64`: [`Newton::step_in`] with the
    /// Cholesky solve. On error `x` is unchanged.
    pub fn step<F: Objective>(
        &self,
        f: &F,
        x: &mut DVector<f64>,
    ) -> Result<NewtonStep, NewtonError> {
        self.step_in(f, x)
    }

    // claims: newton-minimizes-quadratic-model, newton-one-step-quadratic,
    //     newton-affine-invariance, newton-local-quadratic-convergence,
    //     newton-step-has-units-of-theta, newton-never-ascends, update-units-table,
    //     exercise-newton-2, exercise-newton-3, exercise-newton-4
    // ANCHOR: direction
    /// The (possibly damped) Newton direction for gradient `g` and Hessian `h`,
    /// in any [`NewtonScalar`].
    ///
    /// Only the lower triangle of `h` is read (it is assumed symmetric). For
    /// `g = 0` the direction is zero. Otherwise the returned direction always
    /// satisfies `g.p < 0`, with one exception that never ascends either: when
    /// the gradient is so small (near `1e-320`) that every entry of the solved
    /// `p` underflows to zero, the zero direction is returned. Under
    /// [`Damping::Refuse`] a Hessian that is not positive definite gives
    /// [`NewtonError::NotPositiveDefinite`].
    ///
    /// The damping `lambda` is computed in `f64` (from the configuration) and
    /// converted once per try with [`Scalar::from_f64`].
    pub fn direction_in<T: NewtonScalar>(
        &self,
        g: &DVector<T>,
        h: &DMatrix<T>,
    ) -> Result<Direction<T>, NewtonError> {
        let n = g.len();
        if h.nrows() != n || h.ncols() != n {
            return Err(StepError::LengthMismatch {
                what: "hessian",
                expected: n,
                found: if h.nrows() != n { h.nrows() } else { h.ncols() },
            }
            .into());
        }
        finite("grad", g.as_slice())?;
        finite("hessian", h.as_slice())?;
        if g.iter().all(|&v| v == T::zero()) {
            return Ok(Direction {
                p: DVector::from_element(n, T::zero()),
                lambda: 0.0,
                slope: T::zero(),
            });
        }
        // One workspace for every attempt: the factor, the direction and two
        // scaled copies; no attempt allocates.
        let mut ws = Workspace::new(n);
        // The undamped Newton direction first.
        let undamped = T::solve(&mut ws, h, 0.0, g);
        let zero = |lambda| Direction {
            p: DVector::from_element(n, T::zero()),
            lambda,
            slope: T::zero(),
        };
        match (self.config.damping, undamped) {
            (_, Solve::Descent(slope)) => Ok(Direction {
                p: ws.p,
                lambda: 0.0,
                slope,
            }),
            (_, Solve::Underflow) => Ok(zero(0.0)),
            (Damping::Refuse, Solve::NotPositiveDefinite) => Err(NewtonError::NotPositiveDefinite),
            (Damping::Refuse, Solve::NotDescent(slope)) => Err(NewtonError::NotDescent { slope }),
            (
                Damping::LevenbergMarquardt {
                    lambda0,
                    factor,
                    max_tries,
                },
                _,
            ) => {
                let mut lambda = lambda0;
                for tries in 1..=max_tries {
                    match T::solve(&mut ws, h, lambda, g) {
                        Solve::Descent(slope) => {
                            return Ok(Direction {
                                p: ws.p,
                                lambda,
                                slope,
                            });
                        }
                        Solve::Underflow => return Ok(zero(lambda)),
                        Solve::NotPositiveDefinite | Solve::NotDescent(_) => {}
                    }
                    if tries == max_tries || !(lambda * factor).is_finite() {
                        return Err(NewtonError::DampingFailed { tries, lambda });
                    }
                    lambda *= factor;
                }
                // max_tries >= 1 is checked at construction, so the loop returns.
                Err(NewtonError::DampingFailed { tries: 0, lambda })
            }
        }
    }
    // ANCHOR_END: direction

    // claims: newton-one-step-quadratic, newton-affine-invariance,
    //     newton-local-quadratic-convergence, newton-never-ascends, exercise-newton-3
    // ANCHOR: step
    /// One Newton step on `f` from `x`, updating `x` in place. On error `x` is
    /// unchanged.
    ///
    /// The Armijo test allows for rounding in `f`: a trial `x + s p` is accepted
    /// when `f(x + s p) <= f(x) + c1 s g.p + 4 eps |f(x)|`, where `eps` is
    /// [`NewtonScalar::EPSILON`] (`2^-52` in `f64`, 0 in an exact type). Without
    /// the allowance, a step from a point that is already a minimizer to within
    /// rounding could never be accepted (`f` cannot decrease there, and
    /// `c1 s g.p` is below the rounding of `f`); the allowance admits steps that
    /// raise `f` by at most a few units in its last place.
    ///
    /// The step length `s` is computed in `f64` (from the configuration) and
    /// converted with [`Scalar::from_f64`] where it multiplies `p`.
    pub fn step_in<T: NewtonScalar, F: NewtonObjective<T>>(
        &self,
        f: &F,
        x: &mut DVector<T>,
    ) -> Result<NewtonStep<T>, NewtonError> {
        if x.len() != f.dim() {
            return Err(StepError::LengthMismatch {
                what: "x",
                expected: f.dim(),
                found: x.len(),
            }
            .into());
        }
        finite("x", x.as_slice())?;
        let (loss, g, h) = f.value_gradient_hessian(x);
        finite("loss", std::slice::from_ref(&loss))?;
        let dir = self.direction_in(&g, &h)?;
        let grad_norm = T::norm(&g);
        let mut info = NewtonStep {
            loss,
            grad_norm,
            lambda: dir.lambda,
            step_length: 0.0,
            slope: dir.slope,
            new_loss: None,
        };
        if dir.p.iter().all(|&v| v == T::zero()) {
            // A stationary point (or a step below the floating-point range).
            return Ok(info);
        }
        let mut s = self.config.step;
        // x + s p, computed into one vector reused by every trial.
        let mut trial = x.clone();
        let move_to = |trial: &mut DVector<T>, s: f64| {
            let s = T::from_f64(s);
            for ((t, &xi), &pi) in trial.iter_mut().zip(x.iter()).zip(dir.p.iter()) {
                *t = xi + pi * s;
            }
        };
        let Some(ls) = self.config.line_search else {
            move_to(&mut trial, s);
            if let Some(index) = trial.iter().position(|v| !v.is_finite()) {
                return Err(StepError::NonFiniteResult {
                    index,
                    quantity: "x",
                }
                .into());
            }
            *x = trial;
            info.step_length = s;
            return Ok(info);
        };
        let allowance = T::from_f64(4.0 * T::EPSILON) * abs(loss);
        for tries in 1..=ls.max_backtracks.saturating_add(1) {
            move_to(&mut trial, s);
            if trial.iter().all(|v| v.is_finite()) {
                let new_loss = f.value(&trial);
                let sufficient = loss + T::from_f64(ls.c1 * s) * dir.slope + allowance;
                if new_loss.is_finite() && new_loss <= sufficient {
                    *x = trial;
                    info.step_length = s;
                    info.new_loss = Some(new_loss);
                    return Ok(info);
                }
            }
            if tries > ls.max_backtracks {
                return Err(NewtonError::LineSearchFailed {
                    tries,
                    step_length: s,
                });
            }
            s *= ls.shrink;
        }
        Err(NewtonError::LineSearchFailed {
            tries: 0,
            step_length: s,
        })
    }
    // ANCHOR_END: step
}

/// A number type Newton's method runs in: a [`Scalar`] with a way to solve
/// `(H + lambda I) p = -g`.
///
/// `f64` solves by nalgebra's Cholesky factorization. Any other type gets the
/// default, a square-root-free `LDL'` factorization, which is exact in an exact
/// type; implementing the trait for one is a single line,
/// `impl NewtonScalar for MyRational {}`.
pub trait NewtonScalar: Scalar {
    /// The unit roundoff of the type, as an `f64`: the Armijo test allows
    /// `4 EPSILON |f(x)|` for rounding in `f`. `f64::EPSILON` for `f64`; the
    /// default 0 is for exact types, where `f` has no rounding to allow for.
    const EPSILON: f64 = 0.0;

    /// Solves `(H + lambda I) p = -g` into the workspace and checks that `p` is a
    /// finite descent direction. Only the lower triangle of `h` is read.
    fn solve(
        ws: &mut Workspace<Self>,
        h: &DMatrix<Self>,
        lambda: f64,
        g: &DVector<Self>,
    ) -> Solve<Self> {
        solve_ldlt(ws, h, lambda, g)
    }

    /// The Euclidean norm of `v`, reported as an `f64` (the default converts
    /// each entry with [`Scalar::to_f64`] and uses [`euclidean_norm`]).
    fn norm(v: &DVector<Self>) -> f64 {
        euclidean_norm(&v.map(|x| x.to_f64()))
    }
}

impl NewtonScalar for f64 {
    const EPSILON: f64 = f64::EPSILON;

    fn solve(
        ws: &mut Workspace<f64>,
        h: &DMatrix<f64>,
        lambda: f64,
        g: &DVector<f64>,
    ) -> Solve<f64> {
        solve_cholesky(ws, h, lambda, g)
    }

    fn norm(v: &DVector<f64>) -> f64 {
        euclidean_norm(v)
    }
}

/// An objective Newton's method can step on, in the scalar `T`: its value, and
/// its value, gradient and Hessian together. Every [`Objective`] is one in
/// `f64` (with derivatives by dual numbers); an exact type needs an objective
/// written for it.
pub trait NewtonObjective<T: NewtonScalar> {
    /// The dimension of `x`.
    fn dim(&self) -> usize;
    /// `f(x)`.
    fn value(&self, x: &DVector<T>) -> T;
    /// `f(x)`, its gradient and its Hessian.
    fn value_gradient_hessian(&self, x: &DVector<T>) -> (T, DVector<T>, DMatrix<T>);
}

impl<F: Objective> NewtonObjective<f64> for F {
    fn dim(&self) -> usize {
        Objective::dim(self)
    }
    fn value(&self, x: &DVector<f64>) -> f64 {
        Objective::value(self, x)
    }
    fn value_gradient_hessian(&self, x: &DVector<f64>) -> (f64, DVector<f64>, DMatrix<f64>) {
        Objective::value_gradient_hessian(self, x)
    }
}

// claims: newton-one-step-quadratic, newton-minimizes-quadratic-model, newton-affine-invariance,
//     newton-local-quadratic-convergence, newton-step-has-units-of-theta, newton-never-ascends,
//     exercise-newton-2, exercise-newton-3, exercise-newton-4
// ANCHOR: solve
/// The outcome of one solve of `(H + lambda I) p = -g`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Solve<T> {
    /// A finite `p` (in the workspace) with `g.p < 0`, and that slope.
    Descent(T),
    /// The factorization failed.
    NotPositiveDefinite,
    /// The factorization succeeded but `p` is not a finite descent direction;
    /// the computed `g.p` (NaN when `p` is not finite).
    NotDescent(f64),
    /// The factorization succeeded and every entry of `p` underflowed to zero
    /// (a gradient near the smallest subnormal number).
    Underflow,
}

/// The memory of one Newton direction, allocated once and reused by every
/// damping attempt: the matrix that is factored in place, the direction, and
/// the two scaled copies of the descent test.
///
/// The matrix is allocated by the first attempt that needs it: the `f64` solve
/// clones `H` into it (one allocation and one copy, as a bare factor-and-solve
/// that keeps `H` makes), and a damped retry copies `H` into the same memory.
pub struct Workspace<T: NewtonScalar> {
    factor: Option<DMatrix<T>>,
    p: DVector<T>,
    g_scaled: DVector<T>,
    p_scaled: DVector<T>,
}

impl<T: NewtonScalar> Workspace<T> {
    fn new(n: usize) -> Self {
        Workspace {
            factor: None,
            p: DVector::from_element(n, T::zero()),
            g_scaled: DVector::from_element(n, T::zero()),
            p_scaled: DVector::from_element(n, T::zero()),
        }
    }
}

/// The `f64` solve: nalgebra's Cholesky factorization, with the sign test on
/// scaled copies.
fn solve_cholesky(
    ws: &mut Workspace<f64>,
    h: &DMatrix<f64>,
    lambda: f64,
    g: &DVector<f64>,
) -> Solve<f64> {
    let n = g.len();
    let mut m = match ws.factor.take() {
        // The first attempt: H cloned straight into the workspace.
        None => h.clone(),
        // A damped retry: H copied over the previous attempt's factor.
        Some(mut m) => {
            m.as_mut_slice().copy_from_slice(h.as_slice());
            m
        }
    };
    if lambda != 0.0 {
        for i in 0..n {
            m[(i, i)] += lambda;
        }
    }
    // `new_unchecked` runs the same arithmetic as `Cholesky::new` but does not
    // stop (and drop the matrix) at a pivot that is not positive; it leaves a
    // zero or NaN on the diagonal there instead. So `Cholesky::new` succeeds
    // exactly when every diagonal entry of this factor is positive, and the
    // factor is then the same, bit for bit. The matrix comes back for the next
    // attempt.
    let chol = Cholesky::new_unchecked(m);
    // Read in place (`diagonal()` would allocate a vector per attempt).
    let l = chol.l_dirty();
    let positive_definite = (0..n).all(|i| l[(i, i)] > 0.0);
    if positive_definite {
        ws.p.copy_from(g);
        chol.solve_mut(&mut ws.p);
        ws.p.neg_mut();
    }
    ws.factor = Some(chol.unpack_dirty());
    if !positive_definite {
        return Solve::NotPositiveDefinite;
    }
    let p = &ws.p;
    if p.iter().any(|v| !v.is_finite()) {
        return Solve::NotDescent(f64::NAN);
    }
    let slope = g.dot(p);
    // The sign test runs on copies scaled to unit max-norm, so that underflow in
    // g.p (for g and p near 1e-170, say) cannot hide the sign: scaling by
    // positive numbers keeps the sign, and the scaled entries lie in [-1, 1]
    // with the largest of each equal to 1 in magnitude, so the products are
    // no longer all tiny.
    let (gs, ps) = (g.amax(), p.amax());
    if ps == 0.0 {
        return Solve::Underflow;
    }
    ws.g_scaled.copy_from(g);
    ws.g_scaled /= gs;
    ws.p_scaled.copy_from(p);
    ws.p_scaled /= ps;
    let scaled = ws.g_scaled.dot(&ws.p_scaled);
    if scaled < 0.0 {
        Solve::Descent(slope)
    } else {
        Solve::NotDescent(slope)
    }
}
// ANCHOR_END: solve

// ANCHOR: ldlt
/// The default solve, for exact types: `H + lambda I = L D L'` with `L` unit
/// lower triangular and `D` diagonal, and no square root. The matrix is positive
/// definite exactly when every pivot `d_j` is positive, so the factorization
/// stops at the first pivot that is not. Then `L y = -g`, `D z = y`, `L' p = z`.
/// The workspace's factor holds `L` below the diagonal and `D` on it.
fn solve_ldlt<T: NewtonScalar>(
    ws: &mut Workspace<T>,
    h: &DMatrix<T>,
    lambda: f64,
    g: &DVector<T>,
) -> Solve<T> {
    let n = g.len();
    let lambda = T::from_f64(lambda);
    let f = ws
        .factor
        .get_or_insert_with(|| DMatrix::from_element(n, n, T::zero()));
    for j in 0..n {
        // d_j = (h_jj + lambda) - sum_{k<j} l_jk^2 d_k
        let mut d = h[(j, j)] + lambda;
        for k in 0..j {
            d = d - f[(j, k)] * f[(j, k)] * f[(k, k)];
        }
        // A pivot that is not positive (or NaN, in a floating type) stops it.
        if d.partial_cmp(&T::zero()) != Some(std::cmp::Ordering::Greater) {
            return Solve::NotPositiveDefinite;
        }
        f[(j, j)] = d;
        // l_ij = (h_ij - sum_{k<j} l_ik l_jk d_k) / d_j, for i below j
        for i in j + 1..n {
            let mut e = h[(i, j)];
            for k in 0..j {
                e = e - f[(i, k)] * f[(j, k)] * f[(k, k)];
            }
            f[(i, j)] = e / d;
        }
    }
    let p = &mut ws.p;
    for i in 0..n {
        // L y = -g, forward
        let mut y = -g[i];
        for k in 0..i {
            y = y - f[(i, k)] * p[k];
        }
        p[i] = y;
    }
    for i in 0..n {
        // D z = y
        p[i] = p[i] / f[(i, i)];
    }
    for i in (0..n).rev() {
        // L' p = z, backward
        let mut z = p[i];
        for k in i + 1..n {
            z = z - f[(k, i)] * p[k];
        }
        p[i] = z;
    }
    if p.iter().any(|v| !v.is_finite()) {
        return Solve::NotDescent(f64::NAN);
    }
    if p.iter().all(|&v| v == T::zero()) {
        return Solve::Underflow;
    }
    let slope = g
        .iter()
        .zip(p.iter())
        .fold(T::zero(), |acc, (&gi, &pi)| acc + gi * pi);
    if slope < T::zero() {
        Solve::Descent(slope)
    } else {
        Solve::NotDescent(slope.to_f64())
    }
}
// ANCHOR_END: ldlt

/// `|v|`, from a comparison (the [`Scalar`] trait has no `abs`).
fn abs<T: Scalar>(v: T) -> T {
    if v < T::zero() { -v } else { v }
}

/// The Euclidean norm, computed on a copy scaled by the largest entry so that
/// squaring neither underflows nor overflows (nalgebra's `norm` returns 0 for a
/// vector of entries near `1e-170`).
pub fn euclidean_norm(v: &DVector<f64>) -> f64 {
    let s = v.amax();
    if s == 0.0 || !s.is_finite() {
        return s;
    }
    s * (v / s).norm()
}

/// Refuses `entries` if one is NaN or infinite, naming the first such entry.
///
/// The common case, every entry finite, is decided by a fold with no early exit
/// over the contiguous slice, which the compiler turns into vector compares (a
/// search that stops at the first failure runs one entry at a time, and over a
/// Hessian's `n^2` entries, through nalgebra's matrix iterator, that scalar loop
/// took about a quarter of a Newton direction at `n = 50`). [`pulp`] runs the
/// fold on the widest vectors the CPU has, as the first-order driver does
/// (`crate::optim::dispatch`). Only when the fold finds a non-finite entry does
/// a second pass look for its index.
fn finite<T: Scalar>(what: &'static str, entries: &[T]) -> Result<(), NewtonError> {
    let all_finite = || entries.iter().fold(true, |all, v| all & v.is_finite());
    if pulp::Arch::new().dispatch(all_finite) {
        return Ok(());
    }
    match entries.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(NewtonError::NonFinite { what, index }),
    }
}
