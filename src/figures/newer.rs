//! The figures of the Lion, Adafactor and Muon chapters.

use nalgebra::DVector;
use plotters::prelude::*;

use super::chart::{Chart, Numbers};
use super::first_order::over_steps;
use super::{Figure, FigureError, fail};
use crate::optim::muon::quintic;
use crate::optim::{
    Adafactor, AdafactorConfig, Lion, LionConfig, Optimizer, Rprop, RpropConfig, Sgd, SgdConfig,
};
use crate::problems::minibatch_sign::MinibatchSign;

/// Lion beside Rprop and SGD on Hinton's minibatch example (nine gradients of
/// +0.1, one of -0.9 per epoch; mean zero). Lion's interpolation `c` stays
/// positive on the +0.1 steps, so it takes nine steps down and one up.
pub fn lion_drift() -> Result<Figure, FigureError> {
    const NAME: &str = "lion-drift";
    let problem = MinibatchSign::hinton(1).map_err(fail(NAME))?;
    let steps = 300u64;
    let runs: Vec<(&'static str, Box<dyn Optimizer>)> = vec![
        (
            "Lion, lr 0.01, weight decay 0",
            Box::new(
                Lion::new(LionConfig {
                    lr: 0.01,
                    weight_decay: 0.0,
                    ..LionConfig::default()
                })
                .map_err(fail(NAME))?,
            ),
        ),
        (
            "Rprop, lr 0.001, max step 0.01",
            Box::new(
                Rprop::new(RpropConfig {
                    lr: 0.001,
                    step_sizes: (1e-6, 0.01),
                    ..RpropConfig::default()
                })
                .map_err(fail(NAME))?,
            ),
        ),
        (
            "SGD, lr 0.1",
            Box::new(
                Sgd::new(SgdConfig {
                    lr: 0.1,
                    ..SgdConfig::default()
                })
                .map_err(fail(NAME))?,
            ),
        ),
    ];
    let mut series = Vec::new();
    for (label, mut opt) in runs {
        let mut x = DVector::from_element(1, 0.0);
        let mut points = vec![(0.0, 0.0)];
        for k in 0..steps {
            opt.step(&mut x, &problem.gradient(k)).map_err(fail(NAME))?;
            points.push(((k + 1) as f64, x[0]));
        }
        series.push((label, points));
    }
    let (lo, hi) = series
        .iter()
        .flat_map(|(_, s)| s.iter().map(|p| p.1))
        .fold((0.0_f64, 0.0_f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
    over_steps(
        NAME,
        "Gradients +0.1 (x9) and -0.9 (x1): mean zero, yet Lion drifts like Rprop",
        "θ_t",
        (lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)),
        series,
    )
}

/// Adafactor's factored estimate `V` against the full moving average `M` of
/// `g^2` on a 6 x 8 matrix, for three kinds of gradient: entry scales `r_i c_j`
/// with one noise factor per step (then `g^2` has rank one at every step and `V
/// = M`), the same scales with independent noise per entry, and scales with no
/// row-column structure. Plotted: the largest relative error over the entries.
pub fn adafactor_factored() -> Result<Figure, FigureError> {
    const NAME: &str = "adafactor-factored";
    const FLOOR: f64 = 1e-17;
    let (rows, cols) = (6usize, 8usize);
    let steps = 200u64;
    let noise = |k: usize, t: u64| {
        let x = ((k as f64 * 12.9898 + t as f64 * 78.233).sin() * 43_758.545).fract();
        0.5 + x.abs()
    };
    let mut series = Vec::new();
    for (label, kind) in [
        ("scales r_i c_j, one noise factor per step", 0),
        ("scales r_i c_j, noise per entry", 1),
        ("unstructured scales, noise per entry", 2),
    ] {
        let mut opt = Adafactor::new(
            AdafactorConfig {
                lr: 0.0,
                ..AdafactorConfig::default()
            },
            Some([rows, cols]),
        )
        .map_err(fail(NAME))?;
        let mut theta = DVector::from_element(rows * cols, 1.0);
        let mut full = vec![0.0; rows * cols];
        let mut points = Vec::new();
        for t in 1..=steps {
            let g = DVector::from_fn(rows * cols, |k, _| {
                let (i, j) = (k / cols, k % cols);
                let structured = (1.0 + i as f64) * (0.5 + j as f64 * 0.25);
                match kind {
                    0 => structured * noise(0, t),
                    1 => structured * noise(k, t),
                    _ => (1.0 + ((k * 7919) % 13) as f64) * noise(k, t),
                }
            });
            opt.step(&mut theta, &g).map_err(fail(NAME))?;
            let w = (t as f64).powf(-0.8);
            for k in 0..rows * cols {
                full[k] += w * (g[k] * g[k] - full[k]);
            }
            let v = opt.second_moment().unwrap_or_default();
            let err = v
                .iter()
                .zip(&full)
                .map(|(a, b)| ((a - b) / b).abs())
                .fold(0.0, f64::max);
            points.push((t as f64, err.max(FLOOR)));
        }
        series.push((label, points));
    }
    let chart = Chart {
        caption: "Adafactor's rank-one V against the full average M of g²",
        y_desc: "largest |V - M| / M (floored at 1e-17)",
        y_numbers: Numbers::Exponent,
        legend: SeriesLabelPosition::MiddleRight,
        ..Chart::BOOK
    };
    chart.figure(NAME, 0.0..steps as f64, (FLOOR..1e2).log_scale(), series)
}

/// What Newton–Schulz does to one singular value: `s -> p^k(s)` for PyTorch's
/// quintic after k = 1, 2, 3, 5 steps, and the classical cubic after 5.
pub fn muon_quintic() -> Result<Figure, FigureError> {
    const NAME: &str = "muon-quintic";
    let torch = (3.4445, -4.7750, 2.0315);
    let cubic = (1.5, -0.5, 0.0);
    let grid: Vec<f64> = (0..=600).map(|i| f64::from(i) / 500.0).collect();
    let curve = |coef, k| -> Vec<(f64, f64)> {
        grid.iter()
            .map(|&s| (s, quintic(coef, k, s).clamp(-0.2, 1.6)))
            .collect()
    };
    let series = vec![
        ("quintic, 1 step", curve(torch, 1)),
        ("quintic, 2 steps", curve(torch, 2)),
        ("quintic, 3 steps", curve(torch, 3)),
        ("quintic, 5 steps (PyTorch)", curve(torch, 5)),
        ("cubic 1.5s - 0.5s³, 5 steps", curve(cubic, 5)),
        ("the target: 1", vec![(0.0, 1.0), (1.2, 1.0)]),
    ];
    let chart = Chart {
        caption: "Newton–Schulz on one singular value s (after normalization, s ≤ 1)",
        x_desc: "singular value s of X₀ = M / ‖M‖_F",
        y_desc: "after k steps",
        legend: SeriesLabelPosition::LowerRight,
        label_areas: (32, 52),
        ..Chart::BOOK
    };
    chart.figure(NAME, 0.0..1.2, -0.2..1.6, series)
}
