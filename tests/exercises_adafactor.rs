//! The numeric answers of the Adafactor chapter's exercises
//! (`book/src/adafactor.md`), checked with the crate's `Adafactor`.
//!
//! Rounding model: `u = 2^-53`; every basic operation and `sqrt` is exact up to
//! a factor `(1 + d)`, `|d| <= u`; a sum of `n` nonnegative terms is exact up to
//! `(n - 1) u` relative.

use descent::optim::{Adafactor, AdafactorConfig, Optimizer};
use descent::problems::quadratic::SplitMix64;
use nalgebra::DVector;

const U: f64 = f64::EPSILON / 2.0;

// claim: exercise-adafactor-1
#[test]
fn adafactor_keeps_rows_plus_columns_where_adam_keeps_twice_the_entries() {
    // The state of a small matrix, counted from the crate's own buffers, then
    // the same formulas at 4096 x 4096.
    let (rows, cols) = (12usize, 20usize);
    let mut opt = Adafactor::new(AdafactorConfig::default(), Some([rows, cols])).unwrap();
    let mut theta = DVector::from_element(rows * cols, 1.0);
    opt.step(&mut theta, &DVector::from_element(rows * cols, 0.5))
        .unwrap();
    let s = opt.state().unwrap();
    let kept =
        s.row_var.as_ref().map_or(0, |r| r.len()) + s.col_var.as_ref().map_or(0, |c| c.len());
    assert_eq!(kept, rows + cols);
    assert!(s.variance.is_none());
    let mut adam = descent::optim::Adam::new(descent::optim::AdamConfig::default()).unwrap();
    let mut theta = DVector::from_element(rows * cols, 1.0);
    adam.step(&mut theta, &DVector::from_element(rows * cols, 0.5))
        .unwrap();
    let a = adam.state().unwrap();
    assert_eq!(a.exp_avg.len() + a.exp_avg_sq.len(), 2 * rows * cols);
    let n: u64 = 4096;
    assert_eq!(2 * n * n, 33_554_432);
    assert_eq!(n + n, 8192);
    assert_eq!((2 * n * n) / (n + n), 4096);
}

// claim: exercise-adafactor-2
#[test]
fn the_factored_estimate_is_exact_for_a_rank_one_square() {
    let (rows, cols) = (6usize, 8usize);
    let mut rng = SplitMix64::new(21);
    for _ in 0..50 {
        let a: Vec<f64> = (0..rows).map(|_| rng.uniform(0.2, 3.0)).collect();
        let b: Vec<f64> = (0..cols).map(|_| rng.uniform(0.2, 3.0)).collect();
        // g_ij = a_i b_j, so M = g o g = (a o a)(b o b)' has rank one. At the
        // first step the weight is 1^-0.8 = 1 and the average is g o g itself.
        let g = DVector::from_fn(rows * cols, |k, _| a[k / cols] * b[k % cols]);
        let mut opt = Adafactor::new(
            AdafactorConfig {
                lr: 0.0,
                ..AdafactorConfig::default()
            },
            Some([rows, cols]),
        )
        .unwrap();
        let mut theta = DVector::from_element(rows * cols, 1.0);
        opt.step(&mut theta, &g).unwrap();
        let v = opt.second_moment().unwrap();
        // First-order count, relative: g_ij itself (u, doubled by squaring:
        // 2u), the row mean ||g_i||^2 / cols (a norm of cols terms, squared:
        // (cols + 2)u, and the division: u), the column mean likewise
        // ((rows + 3)u), the mean of the row means ((cols + 3)u + rows u),
        // the product and the quotient (2u) and M = g * g in the test (u):
        // 2 cols + 2 rows + 13 = 41u for 6 x 8. Doubled for the second-order
        // terms: 82u.
        let tol = (2.0 * (2 * cols + 2 * rows + 13) as f64) * U;
        for k in 0..rows * cols {
            let m = g[k] * g[k];
            assert!((v[k] - m).abs() <= tol * m, "entry {k}: {} vs {m}", v[k]);
        }
    }
}
