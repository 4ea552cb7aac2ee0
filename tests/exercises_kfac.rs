//! Tested answers of the K-FAC chapter's exercises.

use descent::problems::Objective;
use descent::second_order::kfac::{
    FactorDamping, Mlp, damped_kfac_matrix, demo, kfac_direction, kfac_factors, kfac_matrix,
};
use descent::second_order::natural::{Family, Model, Outcome, gradient};
use nalgebra::{DMatrix, DVector};

const U: f64 = f64::EPSILON / 2.0;

// claim: exercise-kfac-1
#[test]
fn exercise_kfac_1_storage() {
    let (mlp, theta) = demo();
    let factors = kfac_factors(&mlp, &theta).unwrap();
    let stored: usize = factors
        .a
        .iter()
        .chain(&factors.g)
        .map(|m| m.nrows() * m.ncols())
        .sum();
    assert_eq!(mlp.dim(), 31);
    assert_eq!(mlp.dim() * mlp.dim(), 961);
    // 4x4 and 4x4 for the first layer, 5x5 and 3x3 for the second.
    assert_eq!(stored, 16 + 16 + 25 + 9);
    // The block-diagonal K-FAC matrix it stands for has 16^2 + 15^2 entries.
    let k = kfac_matrix(&factors).unwrap();
    let nonzero_blocks: usize = (0..mlp.layers())
        .map(|l| {
            let (r, c) = mlp.layer_shape(l);
            (r * c) * (r * c)
        })
        .sum();
    assert_eq!(nonzero_blocks, 481);
    assert_eq!(k.nrows() * k.ncols(), 961);
}

// claim: exercise-kfac-2
#[test]
fn exercise_kfac_2_pi_minimizes_the_extra_damping() {
    let (mlp, theta) = demo();
    let factors = kfac_factors(&mlp, &theta).unwrap();
    for delta in [1e-4, 1e-2, 1.0] {
        let base = kfac_matrix(&factors).unwrap();
        let extra = |split| {
            let mut e = damped_kfac_matrix(&factors, delta, split).unwrap() - &base;
            for i in 0..e.nrows() {
                e[(i, i)] -= delta;
            }
            e
        };
        let (with_pi, plain) = (extra(FactorDamping::Pi), extra(FactorDamping::Plain));
        let mut off = 0;
        for (a, g) in factors.a.iter().zip(&factors.g) {
            let (p, q) = (a.nrows() as f64, g.nrows() as f64);
            let size = a.nrows() * g.nrows();
            let tr = |m: &DMatrix<f64>| m.view((off, off), (size, size)).trace();
            // The minimum 2 sqrt(delta) sqrt(p q tr(Omega) tr(Gamma)) of
            // pi sqrt(delta) p tr(Gamma) + sqrt(delta)/pi q tr(Omega).
            let least = 2.0 * delta.sqrt() * (p * q * a.trace() * g.trace()).sqrt();
            // A trace of `size` rounded sums, each within a few u of its terms.
            let tol = 8.0 * size as f64 * U * least.max(tr(&plain));
            assert!((tr(&with_pi) - least).abs() <= tol, "pi: {}", tr(&with_pi));
            assert!(tr(&plain) >= least - tol, "plain below the minimum");
            off += size;
        }
    }
}

// claim: exercise-kfac-3
#[test]
fn exercise_kfac_3_one_step_solves_linear_least_squares() {
    let n = 30;
    let x = DMatrix::from_fn(n, 3, |r, c| {
        ((r + 1) as f64 * (0.37 + 0.29 * c as f64) + c as f64).sin() * 2.0
    });
    let y = (0..n)
        .map(|r| Outcome::Real(0.5 - x[(r, 0)] + 0.25 * x[(r, 2)] + (r as f64).cos() * 0.1))
        .collect();
    let mlp = Mlp::new(vec![3, 1], x, y, Family::GaussianMean { var: 0.5 }).unwrap();
    let theta = DVector::from_vec(vec![3.0, -2.0, 1.0, 4.0]);
    let factors = kfac_factors(&mlp, &theta).unwrap();
    let g = gradient(&mlp, &theta).unwrap();
    let d = kfac_direction(&factors, &g, 0.0, FactorDamping::Plain).unwrap();
    let next = &theta + &d;
    let g_next = gradient(&mlp, &next).unwrap();
    // The step solves F d = -g with F = Omega / var, the exact Hessian of the
    // mean negative log-likelihood; the remaining gradient is rounding: about
    // kappa(Omega) u times the size of the gradient terms, |Omega| |theta| / var.
    let omega = &factors.a[0];
    let e = omega.clone().symmetric_eigen().eigenvalues;
    let kappa = e.max() / e.min();
    let scale = (omega.abs() * next.abs()).max() / 0.5 + g.norm();
    assert!(
        g_next.norm() <= 64.0 * kappa * U * scale,
        "gradient after one step {:e}",
        g_next.norm()
    );
    // And it is a real change: the start was far from the solution.
    assert!(g.norm() > 1.0);
}

/// Exercise 4: the demonstration Fisher's spectrum runs from 0 (to rounding: the
/// softmax ignores a common shift of the logits) to about 1.02.
// claim: exercise-kfac-4
#[test]
fn exercise_kfac_4_fisher_spectrum() {
    let (mlp, theta) = demo();
    let f = mlp.fisher(&theta).unwrap();
    let e = f.clone().symmetric_eigen().eigenvalues;
    let (lo, hi) = (e.min(), e.max());
    // A symmetric eigensolver is backward stable: each eigenvalue is exact for a
    // matrix within about n u |F| of F (n = 31); 64 n u |F| bounds it.
    let slack = 64.0 * f.nrows() as f64 * U * f.norm();
    assert!(lo.abs() <= slack, "smallest eigenvalue {lo:e}");
    // "About 1.02": within half a unit of the second decimal.
    assert!((hi - 1.02).abs() <= 0.005, "largest eigenvalue {hi}");
}
