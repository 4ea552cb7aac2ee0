//! Worst-case vectors from the Gram matrix, and a function that attains them.
//!
//! **Vectors.** A positive semidefinite `G = V diag(lambda) V^T` is the Gram matrix
//! of the columns of `diag(sqrt(lambda)) V^T`, so the basis `x_0 - x*, g_0, ...,
//! g_N` gets concrete coordinates in `R^(N+2)` (negative eigenvalues, which the
//! solver leaves at the size of its tolerance, are set to zero), and every point
//! of the method follows from its coefficients.
//!
//! **A function.** For `mu = 0`, data that satisfy the interpolation conditions of
//! `L`-smooth convex functions are met by
//!
//! ```text
//! f(x) = min over lambda in the simplex of
//!        sum_i lambda_i f_i + <gbar, x - xbar> + (L/2)|x - xbar|^2
//!        - (1/(2L)) sum_i lambda_i |g_i - gbar|^2,
//! xbar = sum_i lambda_i x_i,  gbar = sum_i lambda_i g_i,
//! grad f(x) = gbar + L (x - xbar) at the minimizing lambda.
//! ```
//!
//! It is the conjugate of `f*(y) = max_i f*_i + <x_i, y - g_i> + |y - g_i|^2/(2L)`,
//! a maximum of `1/L`-strongly convex quadratics, so `f` is convex and `L`-smooth;
//! the interpolation conditions say exactly that piece `i` is the largest at `g_i`,
//! which puts `f(x_i) = f_i` and `grad f(x_i) = g_i`. For `mu > 0` the same is done
//! for `f - mu/2 |x - x*|^2`, which is `(L - mu)`-smooth and convex. Evaluating `f`
//! is a small quadratic program over the simplex, solved by Clarabel.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettings, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus, ZeroConeT,
};
use nalgebra::{DMatrix, DVector};

use super::PepError;
use super::class::FunctionClass;
use super::solve::WorstCase;

/// Concrete points of a worst case: positions, gradients and values, with `x*`
/// at the origin and `f* = 0` first.
#[derive(Clone, Debug)]
pub struct Realization {
    /// `x_k - x*` for every point (`x*` first).
    pub x: Vec<DVector<f64>>,
    /// `grad f(x_k)`.
    pub g: Vec<DVector<f64>>,
    /// `f(x_k) - f*`.
    pub f: Vec<f64>,
    /// The most negative eigenvalue of the solver's Gram matrix that was set to
    /// zero (0 if none): how far the realized inner products are from the solver's.
    pub clipped: f64,
}

impl Realization {
    /// Realizes the points of a solved worst case as vectors.
    pub fn from_worst_case(wc: &WorstCase) -> Realization {
        let eig = wc.gram.clone().symmetric_eigen();
        let dim = wc.gram.nrows();
        let mut clipped = 0.0_f64;
        let mut basis = DMatrix::zeros(dim, dim); // column j = basis vector j
        for (k, &lam) in eig.eigenvalues.iter().enumerate() {
            if lam < 0.0 {
                clipped = clipped.min(lam);
            }
            let s = lam.max(0.0).sqrt();
            for j in 0..dim {
                basis[(k, j)] = s * eig.eigenvectors[(j, k)];
            }
        }
        let mut out = Realization {
            x: Vec::new(),
            g: Vec::new(),
            f: Vec::new(),
            clipped,
        };
        for p in &wc.points {
            out.x.push(&basis * &p.x);
            out.g.push(&basis * &p.g);
            out.f.push(p.f.dot(&wc.values));
        }
        out
    }

    /// The points as `(x, g, f)` triples, for [`FunctionClass::max_violation`].
    pub fn triples(&self) -> Vec<(Vec<f64>, Vec<f64>, f64)> {
        (0..self.x.len())
            .map(|k| {
                (
                    self.x[k].as_slice().to_vec(),
                    self.g[k].as_slice().to_vec(),
                    self.f[k],
                )
            })
            .collect()
    }
}

/// The interpolant at a point.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// `f(x) - f*`.
    pub value: f64,
    /// `grad f(x)`.
    pub gradient: DVector<f64>,
    /// The quadratic program's duality gap at the returned solution.
    pub gap: f64,
}

/// A convex, `L`-smooth, `mu`-strongly convex function through given data (see
/// the module documentation).
#[derive(Clone, Debug)]
pub struct Interpolant {
    mu: f64,
    /// `L - mu`: the smoothness of `f - mu/2 |x|^2`.
    l: f64,
    /// Positions as columns.
    xs: DMatrix<f64>,
    /// Gradients of `f - mu/2 |x|^2` as columns.
    gs: DMatrix<f64>,
    /// Values of `f - mu/2 |x|^2`.
    fs: DVector<f64>,
}

impl Interpolant {
    /// The interpolant of a realization over `class`.
    pub fn new(class: &FunctionClass, r: &Realization) -> Interpolant {
        let mu = class.mu();
        let m = r.x.len();
        let d = r.x.first().map_or(0, |x| x.len());
        let mut xs = DMatrix::zeros(d, m);
        let mut gs = DMatrix::zeros(d, m);
        let mut fs = DVector::zeros(m);
        for k in 0..m {
            xs.set_column(k, &r.x[k]);
            gs.set_column(k, &(&r.g[k] - &r.x[k] * mu));
            fs[k] = r.f[k] - 0.5 * mu * r.x[k].norm_squared();
        }
        Interpolant {
            mu,
            l: class.l() - mu,
            xs,
            gs,
            fs,
        }
    }

    /// The value and gradient at `x`, with the quadratic program's duality gap, or
    /// the solver's status if it was not solved to optimality.
    ///
    /// The gap `eps` bounds how far the returned value is above the true one, and
    /// since the conjugate is `1/(L - mu)`-strongly convex, the returned gradient
    /// is within `sqrt(2 (L - mu) eps)` of the true gradient.
    pub fn value_gradient(&self, x: &DVector<f64>) -> Result<Evaluation, PepError> {
        let l = self.l;
        let m = self.fs.len();
        // Objective in lambda: (1/2) lambda^T P lambda + q^T lambda + (L/2)|x|^2 with
        // M = L X - G, P = M^T M / L, q_i = f_i - |g_i|^2/(2L) + <g_i, x> - L <x_i, x>.
        let mm = &self.xs * l - &self.gs;
        let p_dense = mm.transpose() * &mm / l;
        let q: Vec<f64> = (0..m)
            .map(|i| {
                let gi = self.gs.column(i);
                let xi = self.xs.column(i);
                self.fs[i] - gi.norm_squared() / (2.0 * l) + gi.dot(x) - l * xi.dot(x)
            })
            .collect();
        let (mut pi, mut pj, mut pv) = (Vec::new(), Vec::new(), Vec::new());
        for j in 0..m {
            for i in 0..=j {
                pi.push(i);
                pj.push(j);
                pv.push(p_dense[(i, j)]);
            }
        }
        let p = CscMatrix::new_from_triplets(m, m, pi, pj, pv);
        // sum lambda = 1 (zero cone), lambda >= 0 (nonnegative cone: s = lambda).
        let (mut ai, mut aj, mut av) = (Vec::new(), Vec::new(), Vec::new());
        for j in 0..m {
            ai.push(0);
            aj.push(j);
            av.push(1.0);
            ai.push(1 + j);
            aj.push(j);
            av.push(-1.0);
        }
        let a = CscMatrix::new_from_triplets(m + 1, m, ai, aj, av);
        let mut b = vec![0.0; m + 1];
        b[0] = 1.0;
        let cones = [ZeroConeT(1), NonnegativeConeT(m)];
        let settings = DefaultSettings {
            verbose: false,
            ..DefaultSettings::default()
        };
        let mut solver = DefaultSolver::new(&p, &q, &a, &b, &cones, settings).map_err(|e| {
            PepError::NotSolved {
                status: format!("setup error ({e})"),
            }
        })?;
        solver.solve();
        let sol = &solver.solution;
        if sol.status != SolverStatus::Solved {
            return Err(PepError::NotSolved {
                status: format!("{:?}", sol.status),
            });
        }
        let lambda = DVector::from_column_slice(&sol.x);
        let value = sol.obj_val + 0.5 * l * x.norm_squared() + 0.5 * self.mu * x.norm_squared();
        let gradient = x * l - &mm * &lambda + x * self.mu;
        Ok(Evaluation {
            value,
            gradient,
            gap: (sol.obj_val - sol.obj_val_dual).abs(),
        })
    }
}
