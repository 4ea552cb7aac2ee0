//! The semidefinite program, handed to Clarabel, and what comes back.
//!
//! ```text
//! maximize    measure(G, F)
//! subject to  interpolation(i, j)(G, F) <= 0   for every ordered pair i != j
//!             <x_0 - x*, x_0 - x*> = G_00 <= R^2 = 1
//!             G positive semidefinite
//! ```
//!
//! Clarabel minimizes `q^T v` subject to `A v + s = b`, `s` in a product of cones.
//! The variable is `v = (svec(G), F)`, where `svec` stacks the upper triangle of
//! `G` column by column with off-diagonal entries scaled by `sqrt(2)` (Clarabel's
//! convention, which makes `<Q, G> = svec(Q)^T svec(G)`).

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettings, DefaultSolver, IPSolver, NonnegativeConeT, PSDTriangleConeT, SolverStatus,
};
use nalgebra::{DMatrix, DVector};

use super::class::FunctionClass;
use super::gram::{Point, Recorder, Scalar};
use super::measure::Measure;
use super::method::Method;
use super::{PepError, require};

/// The largest number of steps accepted. The program has `(N+2)(N+3)/2 + N + 1`
/// variables and `(N+2)(N+1)` interpolation conditions, and its solve time grows
/// like `N^5` to `N^6`: measured in a release build on the project's machine, 0.2 s
/// of CPU at `N = 20` and 2.4 s at `N = 32` (so about two minutes at 64).
pub const MAX_STEPS: usize = 32;

/// A solved performance estimation problem, for `R = |x_0 - x*| = 1`.
#[derive(Clone, Debug)]
pub struct WorstCase {
    /// The worst case of the measure (Clarabel's primal objective).
    pub value: f64,
    /// The dual objective: the bound the dual certificate proves.
    pub dual_value: f64,
    /// An estimate of `|value - true worst case|` from the returned solution:
    /// `|value - dual_value| + |r_p|_inf |z|_1 + |r_d|_inf |v|_1`, where `r_p`,
    /// `r_d` are the primal and dual residuals recomputed from the returned point
    /// and `v`, `z` the primal and dual solutions (see [`worst_case`]).
    pub accuracy: f64,
    /// Clarabel's status (always `Solved` here: anything else is an error).
    pub status: String,
    /// Interior-point iterations.
    pub iterations: u32,
    /// The Gram matrix of `x_0 - x*, g_0, ..., g_N`.
    pub gram: DMatrix<f64>,
    /// The function values `f(p_k) - f*` at the points, in order.
    pub values: DVector<f64>,
    /// The points, symbolically: index 0 is `x*`, then the query points in order,
    /// and last the output `x_N`.
    pub points: Vec<Point>,
    /// The dual multiplier of each interpolation condition `(i, j)` (indices into
    /// `points`): a nonnegative combination of the conditions that proves the bound.
    pub multipliers: Vec<(usize, usize, f64)>,
    /// The multiplier of `|x_0 - x*|^2 <= 1`: the proved bound is this times `R^2`.
    pub initial_multiplier: f64,
}

/// The worst case of `measure` after `n` steps of `method` over `class`, for
/// `|x_0 - x*| <= 1`.
///
/// Refuses `n` outside `1..=MAX_STEPS` and a step or momentum outside the
/// method's range, and returns [`PepError::NotSolved`] unless Clarabel reports an
/// optimal solution.
///
/// The accuracy estimate: Clarabel keeps `s` and `z` inside their cones, so for
/// any feasible point the objective is at least the dual value minus
/// `|r_d|_inf` times the point's size, and the primal point is feasible up to
/// `r_p`, which moves the optimum by at most about `|z|_1 |r_p|_inf`. The returned
/// `v`, `z` stand in for the optimal ones.
pub fn worst_case(
    class: &FunctionClass,
    method: &Method,
    n: usize,
    measure: Measure,
) -> Result<WorstCase, PepError> {
    require(
        (1..=MAX_STEPS).contains(&n),
        "steps",
        n as f64,
        format!("1 <= N <= {MAX_STEPS}"),
    )?;
    method.validate()?;
    let l = class.l();
    let unit = FunctionClass::new(1.0, class.mu() / l)?;
    let wc = rescale(solve_unit(&unit, method, n, measure)?, l, measure);
    require(
        wc.value.is_finite() && wc.accuracy.is_finite(),
        "L",
        l,
        "small enough that the worst case is a finite f64",
    )?;
    Ok(wc)
}

/// Undoes the normalization `L = 1`. With steps in units of `1/L`, `f(x) ->
/// f(x)/L` maps the class with `(L, mu)` onto the class with `(1, mu/L)` and leaves
/// every iterate in place, so gradients and values scale by `L` and the measures
/// by `L` (`f`), `L^2` (`grad`) or 1 (`dist`). Solving at `L = 1` keeps the
/// program's numbers near 1 whatever `L` is.
fn rescale(mut wc: WorstCase, l: f64, measure: Measure) -> WorstCase {
    let k = match measure {
        Measure::FunctionValue => l,
        Measure::GradientNorm => l * l,
        Measure::Distance => 1.0,
    };
    wc.value *= k;
    wc.dual_value *= k;
    wc.accuracy *= k;
    wc.initial_multiplier *= k;
    // Each condition is in units of f (L); the multipliers turn them into the
    // measure's units.
    for m in &mut wc.multipliers {
        m.2 *= k / l;
    }
    let dim = wc.gram.nrows();
    for i in 0..dim {
        for j in 0..dim {
            let si = if i == 0 { 1.0 } else { l };
            let sj = if j == 0 { 1.0 } else { l };
            wc.gram[(i, j)] *= si * sj;
        }
    }
    wc.values *= l;
    // A point's position is x_0 minus steps (in units of 1/L) times gradients: at
    // L = 1 its coefficient on a gradient is the step, at L it is the step over L.
    for p in &mut wc.points {
        for c in p.x.iter_mut().skip(1) {
            *c /= l;
        }
    }
    wc
}

/// The program at `L = 1`.
fn solve_unit(
    class: &FunctionClass,
    method: &Method,
    n: usize,
    measure: Measure,
) -> Result<WorstCase, PepError> {
    // claims: pep-gd-tight-rate, pep-gd-step-size-rate, pep-ogm-rate,
    //     pep-heavy-ball-not-globally-convergent, pep-worst-case-is-attained,
    //     exercise-worst-case-rates-3, exercise-worst-case-rates-1, exercise-worst-case-rates-2
    // ANCHOR: program
    // Run the method symbolically: N gradients, then one at the output.
    let mut rec = Recorder::new(n + 1);
    let x0 = rec.x0();
    let xn = method.run(class, n, x0.clone(), &mut |x| rec.oracle(x));
    rec.oracle(&xn);

    let mut points = vec![rec.optimum()];
    points.extend_from_slice(rec.points());
    let dim = rec.dim();
    let nf = rec.values();

    let mut pairs = Vec::new();
    let mut rows = Vec::new();
    for i in 0..points.len() {
        for j in 0..points.len() {
            if i != j {
                pairs.push((i, j));
                rows.push(class.interpolation(&points[i], &points[j]));
            }
        }
    }
    rows.push(Scalar::inner(&x0, &x0));
    let objective = match points.last() {
        Some(out) => measure.at(out),
        None => return Err(not_solved("no output point")),
    };
    // ANCHOR_END: program

    let ns = dim * (dim + 1) / 2;
    let nv = ns + nf;
    let svec = |e: &Scalar| -> Vec<(usize, f64)> {
        let mut out = Vec::new();
        if e.quad.nrows() == dim {
            for j in 0..dim {
                for i in 0..=j {
                    let q = if i == j {
                        e.quad[(i, i)]
                    } else {
                        std::f64::consts::SQRT_2 * e.quad[(i, j)]
                    };
                    if q != 0.0 {
                        out.push((j * (j + 1) / 2 + i, q));
                    }
                }
            }
        }
        for (k, &c) in e.lin.iter().enumerate() {
            if c != 0.0 {
                out.push((ns + k, c));
            }
        }
        out
    };

    // Rows: the conditions (nonnegative cone: s = b - A v >= 0), then s = svec(G)
    // in the PSD cone.
    let (mut ri, mut ci, mut val) = (Vec::new(), Vec::new(), Vec::new());
    let mut b = Vec::new();
    for (r, e) in rows.iter().enumerate() {
        for (c, v) in svec(e) {
            ri.push(r);
            ci.push(c);
            val.push(v);
        }
        b.push(0.0);
    }
    let m_ineq = rows.len();
    if let Some(last) = b.last_mut() {
        *last = 1.0; // |x_0 - x*|^2 <= R^2 = 1
    }
    for k in 0..ns {
        ri.push(m_ineq + k);
        ci.push(k);
        val.push(-1.0);
        b.push(0.0);
    }
    let m = m_ineq + ns;
    let a = CscMatrix::new_from_triplets(m, nv, ri.clone(), ci.clone(), val.clone());
    let p = CscMatrix::<f64>::zeros((nv, nv));
    let mut q = vec![0.0; nv];
    for (c, v) in svec(&objective) {
        q[c] -= v; // maximize the measure
    }
    let cones = [NonnegativeConeT(m_ineq), PSDTriangleConeT(dim)];
    let settings = DefaultSettings {
        verbose: false,
        ..DefaultSettings::default()
    };
    let mut solver = DefaultSolver::new(&p, &q, &a, &b, &cones, settings)
        .map_err(|e| not_solved(&format!("setup error ({e})")))?;
    solver.solve();
    let sol = &solver.solution;
    if sol.status != SolverStatus::Solved {
        return Err(not_solved(&format!("{:?}", sol.status)));
    }

    // Residuals of the returned point, recomputed from the data.
    let mut rp: Vec<f64> = (0..m).map(|r| sol.s[r] - b[r]).collect();
    let mut rd = q.clone();
    for k in 0..ri.len() {
        rp[ri[k]] += val[k] * sol.x[ci[k]];
        rd[ci[k]] += val[k] * sol.z[ri[k]];
    }
    let inf = |v: &[f64]| v.iter().fold(0.0_f64, |a, x| a.max(x.abs()));
    let one = |v: &[f64]| v.iter().map(|x| x.abs()).sum::<f64>();
    let value = -sol.obj_val;
    if !value.is_finite() {
        return Err(not_solved("non-finite objective"));
    }
    let dual_value = -sol.obj_val_dual;
    let accuracy = (value - dual_value).abs() + inf(&rp) * one(&sol.z) + inf(&rd) * one(&sol.x);

    let mut gram = DMatrix::zeros(dim, dim);
    for j in 0..dim {
        for i in 0..=j {
            let s = sol.x[j * (j + 1) / 2 + i];
            let g = if i == j {
                s
            } else {
                s / std::f64::consts::SQRT_2
            };
            gram[(i, j)] = g;
            gram[(j, i)] = g;
        }
    }
    let values = DVector::from_iterator(nf, sol.x[ns..].iter().copied());
    let multipliers = pairs
        .iter()
        .zip(&sol.z)
        .map(|(&(i, j), &z)| (i, j, z))
        .collect();
    Ok(WorstCase {
        value,
        dual_value,
        accuracy,
        status: format!("{:?}", sol.status),
        iterations: sol.iterations,
        gram,
        values,
        points,
        multipliers,
        initial_multiplier: sol.z[m_ineq - 1],
    })
}

fn not_solved(status: &str) -> PepError {
    PepError::NotSolved {
        status: status.to_string(),
    }
}
