//! The answer of the L-BFGS chapter's exercise 2 (`book/src/lbfgs.md`), checked
//! with the crate's `Lbfgs`: a pair with `y.s <= 0` admits no positive definite
//! matrix satisfying the secant condition, and the method skips it.

use descent::problems::quadratic::{Quadratic, SplitMix64};
use descent::second_order::lbfgs::{Lbfgs, LbfgsConfig, LineSearch};
use nalgebra::{DMatrix, DVector};

/// Five iterations of L-BFGS with a fixed step (no line search) on
/// `theta' A theta / 2` from `theta0`; returns the optimizer.
fn run(a: DMatrix<f64>, theta0: DVector<f64>) -> Lbfgs {
    let n = theta0.len();
    let f = Quadratic::new(a, DVector::zeros(n)).expect("square");
    let mut opt = Lbfgs::new(LbfgsConfig {
        lr: 0.1,
        max_iter: 5,
        line_search_fn: LineSearch::None,
        ..LbfgsConfig::default()
    })
    .expect("valid");
    let mut theta = theta0;
    opt.step(&f, &mut theta).expect("finite steps");
    opt
}

// claim: exercise-lbfgs-2
#[test]
fn pairs_with_nonpositive_curvature_are_skipped() {
    let mut rng = SplitMix64::new(12);
    // If H is positive definite and H y = s with y != 0, then y.s = y'Hy > 0:
    // on random positive definite H and y, the computed y.s is positive.
    for _ in 0..200 {
        let n = 2 + (rng.next_u64() % 4) as usize;
        let g = DMatrix::from_fn(n, n, |_, _| rng.normal());
        let h = g.transpose() * &g + DMatrix::identity(n, n) * 0.01;
        let y = DVector::from_fn(n, |_, _| rng.normal());
        let s = &h * &y;
        assert!(y.dot(&s) > 0.0);
    }
    // On the concave L = -|theta|^2 / 2 every pair has y = -s, so y.s = -|s|^2
    // < 0: the crate keeps none of them, and the scale gamma stays at its
    // initial 1; the iterations still run, along -g scaled by gamma.
    let opt = run(
        -DMatrix::identity(3, 3),
        DVector::from_vec(vec![1.0, -2.0, 0.5]),
    );
    let st = opt.state();
    assert_eq!(st.n_iter, 5);
    assert!(st.old_dirs.is_empty() && st.old_stps.is_empty() && st.ro.is_empty());
    assert_eq!(st.h_diag, 1.0);
    // On the convex |theta|^2 / 2 from the same start every pair has y = s and
    // is kept: four pairs after five iterations (none at the first).
    let opt = run(
        DMatrix::identity(3, 3),
        DVector::from_vec(vec![1.0, -2.0, 0.5]),
    );
    assert_eq!(opt.state().old_dirs.len(), 4);
}
