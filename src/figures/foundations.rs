//! Figures of the Foundations part: gradient descent near a strict saddle, and
//! SGD under gradient noise with three step-size schedules.

use nalgebra::{DMatrix, DVector};
use plotters::prelude::*;

use super::chart::Chart;
use super::{Figure, FigureError, fail};
use crate::optim::{Optimizer, Sgd, SgdConfig};
use crate::problems::Objective;
use crate::problems::noisy::NoisyQuadratic;
use crate::problems::quadratic::Quadratic;
use crate::problems::quadratic::SplitMix64;
use crate::problems::saddle::Saddle;

/// Gradient descent on the saddle `x^2/2 + y^2/2 - 2 log cosh y` with `eta = 1/2`
/// from `(1, y0)`: the loss against the step for several `y0`, and one run
/// started exactly on the saddle's stable manifold with gradient noise of
/// standard deviation `1e-6` added to every gradient.
pub fn saddle_escape() -> Result<Figure, FigureError> {
    const NAME: &str = "saddle-escape";
    let f = Saddle::new(1.0, 2.0).map_err(fail(NAME))?;
    let eta = 0.5;
    let steps = 100;
    let run = |y0: f64, noise: f64, seed: u64| -> Result<Vec<(f64, f64)>, FigureError> {
        let mut opt = Sgd::new(SgdConfig {
            lr: eta,
            ..SgdConfig::default()
        })
        .map_err(fail(NAME))?;
        let mut rng = SplitMix64::new(seed);
        let mut theta = DVector::from_vec(vec![1.0, y0]);
        let mut points = vec![(0.0, f.value(&theta))];
        for t in 1..=steps {
            let g = f.gradient(&theta).map(|gi| gi + noise * rng.normal());
            opt.step(&mut theta, &g).map_err(fail(NAME))?;
            points.push((t as f64, f.value(&theta)));
        }
        Ok(points)
    };
    let series = vec![
        ("y₀ = 1e-2", run(1e-2, 0.0, 0)?),
        ("y₀ = 1e-6", run(1e-6, 0.0, 0)?),
        ("y₀ = 1e-10", run(1e-10, 0.0, 0)?),
        ("y₀ = 0", run(0.0, 0.0, 0)?),
        ("y₀ = 0, noise σ = 1e-6", run(0.0, 1e-6, 1)?),
    ];
    let chart = Chart {
        caption: "Gradient descent near a strict saddle (η = 1/2)",
        y_desc: "loss L(θ_t)",
        ..Chart::BOOK
    };
    chart.figure(NAME, 0.0..steps as f64, -0.8..0.6, series)
}

/// A step-size schedule: the rate of step `t` (from 1).
type Schedule = fn(f64) -> f64;

/// SGD on the noisy quadratic `theta^2/2` (gradient `theta + xi`, `xi` standard
/// normal) from `theta_0 = 2`, with four step-size schedules: the mean of
/// `L(theta_t) - L*` over 100 seeded runs, on log-log axes.
pub fn sgd_noise() -> Result<Figure, FigureError> {
    const NAME: &str = "sgd-noise";
    let f = NoisyQuadratic::new(1.0, 1.0, 1).map_err(fail(NAME))?;
    let steps = 2000usize;
    let runs = 100;
    let schedules: [(&'static str, Schedule); 4] = [
        ("η = 0.1 (constant)", |_| 0.1),
        ("η_t = 1/t", |t| 1.0 / t),
        ("η_t = 0.5/√t", |t| 0.5 / t.sqrt()),
        ("η_t = 0.5/t² (summable)", |t| 0.5 / (t * t)),
    ];
    let mut series = Vec::new();
    for (k, (label, schedule)) in schedules.into_iter().enumerate() {
        let mut mean = vec![0.0; steps + 1];
        for run in 0..runs {
            let mut rng = SplitMix64::new(1000 * k as u64 + run);
            let mut opt = Sgd::new(SgdConfig {
                lr: schedule(1.0),
                ..SgdConfig::default()
            })
            .map_err(fail(NAME))?;
            let mut theta = DVector::from_element(1, 2.0);
            mean[0] += f.value(&theta) / runs as f64;
            for (t, slot) in mean.iter_mut().enumerate().skip(1) {
                opt.set_lr(schedule(t as f64)).map_err(fail(NAME))?;
                let g = f.sample_gradient(&theta, &mut rng);
                opt.step(&mut theta, &g).map_err(fail(NAME))?;
                *slot += f.value(&theta) / runs as f64;
            }
        }
        let points = mean
            .iter()
            .enumerate()
            .skip(1)
            .map(|(t, &m)| (t as f64, m))
            .collect();
        series.push((label, points));
    }
    let chart = Chart {
        caption: "SGD on a noisy quadratic: four step-size schedules",
        y_desc: "mean of L(θ_t) − L* over 100 runs",
        ..Chart::LOG_LOG
    };
    chart.figure(
        NAME,
        (1.0..steps as f64).log_scale(),
        (1e-4..10.0).log_scale(),
        series,
    )
}

/// Gradient descent with `eta = 1/ell` on two quadratics: a convex one whose
/// spectrum spreads over `1, 10^-1, ..., 10^-6` (so no useful strong convexity)
/// and a strongly convex one with `kappa = 100`, each with its guaranteed bound;
/// the gap `L(theta_t) - L*` on log-log axes.
pub fn gd_rates() -> Result<Figure, FigureError> {
    const NAME: &str = "gd-rates";
    const FLOOR: f64 = 1e-8;
    let steps = 10_000usize;
    let gaps = |lambda: Vec<f64>| -> Result<Vec<f64>, FigureError> {
        let n = lambda.len();
        let a = DMatrix::from_diagonal(&DVector::from_vec(lambda));
        let f = Quadratic::new(a, DVector::zeros(n)).map_err(fail(NAME))?;
        let mut opt = Sgd::new(SgdConfig {
            lr: 1.0,
            ..SgdConfig::default()
        })
        .map_err(fail(NAME))?;
        let mut theta = DVector::from_element(n, 1.0);
        let mut out = vec![f.value(&theta)];
        for _ in 0..steps {
            let g = f.gradient(&theta);
            opt.step(&mut theta, &g).map_err(fail(NAME))?;
            out.push(f.value(&theta));
        }
        Ok(out)
    };
    // Both have ell = 1, so eta = 1 and theta* = 0, L* = 0.
    let convex = gaps((0..=6).map(|k| 10f64.powi(-k)).collect())?;
    let strong = gaps(vec![1.0, 0.1, 0.01])?;
    let r2_convex = 7.0; // |theta_0|^2 with theta_0 = (1, ..., 1) in 7 dimensions
    let keep = |points: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
        points.into_iter().filter(|&(_, y)| y >= FLOOR).collect()
    };
    let over = |values: &[f64]| -> Vec<(f64, f64)> {
        keep(
            values
                .iter()
                .enumerate()
                .skip(1)
                .map(|(t, &v)| (t as f64, v))
                .collect(),
        )
    };
    let bound = |h: &dyn Fn(f64) -> f64| -> Vec<(f64, f64)> {
        keep((1..=steps).map(|t| (t as f64, h(t as f64))).collect())
    };
    let strong0 = strong[0];
    let series = vec![
        ("convex, spectrum 1 … 10⁻⁶", over(&convex)),
        (
            "its bound |θ₀ − θ*|²/(2ηt)",
            bound(&|t| r2_convex / (2.0 * t)),
        ),
        ("strongly convex, κ = 100", over(&strong)),
        (
            "its bound (1 − 1/κ)ᵗ (L(θ₀) − L*)",
            bound(&|t| 0.99f64.powf(t) * strong0),
        ),
    ];
    let chart = Chart {
        caption: "Gradient descent with η = 1/ℓ: sublinear and linear rates",
        y_desc: "L(θ_t) − L*",
        ..Chart::LOG_LOG
    };
    chart.figure(
        NAME,
        (1.0..steps as f64).log_scale(),
        (FLOOR..10.0).log_scale(),
        series,
    )
}
