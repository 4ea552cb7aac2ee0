//! Figures of the chapter on learning-rate schedules.

use nalgebra::DVector;
use plotters::prelude::*;

use super::chart::Chart;
use super::{Figure, FigureError, Series, fail};
use crate::optim::{Optimizer, Sgd, SgdConfig};
use crate::problems::quadratic::SplitMix64;
use crate::schedule::{
    CosineAnnealingLR, ExponentialLR, LinearLR, LrScheduler, OneCycleLR, Schedule, StepLR,
};

/// The rate of each step of a schedule attached to SGD with rate `lr`.
fn rates(
    schedule: Schedule,
    lr: f64,
    steps: u64,
    name: &'static str,
) -> Result<Vec<(f64, f64)>, FigureError> {
    let mut opt = Sgd::new(SgdConfig {
        lr,
        ..SgdConfig::default()
    })
    .map_err(fail(name))?;
    let mut s = LrScheduler::new(schedule, &mut opt).map_err(fail(name))?;
    let mut points = Vec::new();
    for t in 0..steps {
        points.push((t as f64, opt.lr()));
        s.step(&mut opt).map_err(fail(name))?;
    }
    Ok(points)
}

/// Five of PyTorch's schedules over 100 steps, each attached to SGD with rate 0.1
/// (OneCycleLR's peak is also 0.1).
pub fn schedules() -> Result<Figure, FigureError> {
    const NAME: &str = "schedules";
    let steps = 100;
    let series: Vec<Series<'_, f64, f64>> = vec![
        (
            "StepLR (step_size 30, gamma 0.3)",
            rates(
                Schedule::StepLR(StepLR {
                    step_size: 30,
                    gamma: 0.3,
                }),
                0.1,
                steps,
                NAME,
            )?,
        ),
        (
            "ExponentialLR (gamma 0.97)",
            rates(
                Schedule::ExponentialLR(ExponentialLR { gamma: 0.97 }),
                0.1,
                steps,
                NAME,
            )?,
        ),
        (
            "CosineAnnealingLR (T_max 100)",
            rates(
                Schedule::CosineAnnealingLR(CosineAnnealingLR::new(100)),
                0.1,
                steps,
                NAME,
            )?,
        ),
        (
            "LinearLR warmup (0.1 to 1 in 20)",
            rates(
                Schedule::LinearLR(LinearLR {
                    start_factor: 0.1,
                    end_factor: 1.0,
                    total_iters: 20,
                }),
                0.1,
                steps,
                NAME,
            )?,
        ),
        (
            "OneCycleLR (max_lr 0.1, 100 steps)",
            rates(
                Schedule::OneCycleLR(OneCycleLR {
                    cycle_momentum: false,
                    ..OneCycleLR::new(0.1, steps)
                }),
                0.1,
                steps,
                NAME,
            )?,
        ),
    ];
    let chart = Chart {
        caption: "The rate η_t of five PyTorch schedules",
        y_desc: "learning rate η_t",
        label_areas: (32, 56),
        ..Chart::BOOK
    };
    chart.figure(NAME, 0.0..steps as f64, 0.0..0.105, series)
}

// ANCHOR: noisy_quadratic
/// SGD on `L(θ) = a θ² / 2` with noisy gradients `g = a θ + σ ξ`, `ξ` standard
/// normal: the mean loss over `runs` runs after each step, for rates `rate(t)`
/// (t counted from 1), from `θ_0 = theta0`.
pub fn noisy_quadratic(
    rate: &dyn Fn(u64) -> f64,
    a: f64,
    sigma: f64,
    theta0: f64,
    steps: u64,
    runs: u64,
) -> Result<Vec<f64>, crate::error::HyperError> {
    let mut mean = vec![0.0; steps as usize];
    for run in 0..runs {
        let mut rng = SplitMix64::new(0x5c4e_0000 + run);
        let mut opt = Sgd::new(SgdConfig::default())?;
        let mut theta = DVector::from_element(1, theta0);
        for t in 1..=steps {
            opt.set_lr(rate(t))?;
            let g = DVector::from_element(1, a * theta[0] + sigma * rng.normal());
            // The gradient is finite and the rate bounded: the step is taken.
            let _ = opt.step(&mut theta, &g);
            mean[(t - 1) as usize] += 0.5 * a * theta[0] * theta[0] / runs as f64;
        }
    }
    Ok(mean)
}
// ANCHOR_END: noisy_quadratic

/// A rate as a function of the step.
type Rate = Box<dyn Fn(u64) -> f64>;

/// Constant rates stall at a noise floor proportional to the rate; decaying
/// rates keep going down. SGD on `θ²/2` with gradient noise of standard
/// deviation 1, from `θ_0 = 5`, mean loss over 200 runs.
pub fn robbins_monro() -> Result<Figure, FigureError> {
    const NAME: &str = "robbins-monro";
    let (a, sigma, theta0, steps, runs) = (1.0, 1.0, 5.0, 2000u64, 200u64);
    let cosine = |t: u64| 0.05 * (1.0 + (std::f64::consts::PI * (t - 1) as f64 / 2000.0).cos());
    let runs_of: Vec<(&str, Rate)> = vec![
        ("constant η = 0.1", Box::new(|_| 0.1)),
        ("constant η = 0.01", Box::new(|_| 0.01)),
        ("η_t = 1 / (t + 10)", Box::new(|t| 1.0 / (t as f64 + 10.0))),
        ("cosine from 0.1 to 0", Box::new(cosine)),
    ];
    let mut series = Vec::new();
    for (label, rate) in &runs_of {
        let mean =
            noisy_quadratic(rate.as_ref(), a, sigma, theta0, steps, runs).map_err(fail(NAME))?;
        let points = mean
            .iter()
            .enumerate()
            .filter(|(t, _)| t % 4 == 0)
            .map(|(t, &l)| ((t + 1) as f64, l.max(1e-5)))
            .collect();
        series.push((*label, points));
    }
    let chart = Chart {
        caption: "SGD with gradient noise: constant against decaying rates",
        y_desc: "mean loss over 200 runs",
        ..Chart::LOG_LOG
    };
    chart.figure(
        NAME,
        (1.0..steps as f64).log_scale(),
        (1e-4..20.0).log_scale(),
        series,
    )
}
