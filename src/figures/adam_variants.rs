//! The figures of the chapters on averaging (ASGD) and on Adamax, NAdam and
//! RAdam.

use nalgebra::DVector;
use plotters::prelude::*;

use super::chart::{Chart, Numbers};
use super::{Figure, FigureError, fail};
use crate::optim::{Asgd, AsgdConfig, Optimizer, RAdamConfig};

/// A deterministic stream of numbers with mean 0 and variance 1 (uniform on
/// `[-sqrt 3, sqrt 3]`, from a linear congruential generator).
fn unit_noise(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let x = (state >> 11) as f64 / (1u64 << 53) as f64;
        (2.0 * x - 1.0) * 3f64.sqrt()
    }
}

/// ASGD on the noisy quadratic `L(theta) = theta^2 / 2` with gradient noise of
/// standard deviation 1: the distance of the iterate and of the average from the
/// minimum, against the step.
pub fn asgd_averaging() -> Result<Figure, FigureError> {
    const NAME: &str = "asgd-averaging";
    const STEPS: usize = 5000;
    const T0: f64 = 100.0;
    let mut opt = Asgd::new(AsgdConfig {
        lr: 0.1,
        t0: T0,
        ..AsgdConfig::default()
    })
    .map_err(fail(NAME))?;
    let mut noise = unit_noise(2024);
    let mut theta = DVector::from_element(1, 5.0);
    let (mut iterate, mut average, mut reference) = (Vec::new(), Vec::new(), Vec::new());
    for t in 1..=STEPS {
        let g = DVector::from_element(1, theta[0] + noise());
        opt.step(&mut theta, &g).map_err(fail(NAME))?;
        let ax = opt.state().map_or(theta[0], |s| s.ax[0]);
        let x = t as f64;
        iterate.push((x, theta[0].abs().max(1e-4)));
        average.push((x, ax.abs().max(1e-4)));
        if x > T0 + 1.0 {
            // sigma / sqrt(k): the spread of a mean of k independent unit noises.
            reference.push((x, 1.0 / (x - T0 - 1.0).sqrt()));
        }
    }
    let series = vec![
        ("|iterate θ_t|, lr 0.1", iterate),
        ("|average of θ_102 .. θ_t| (t0 = 100)", average),
        ("1/sqrt(t - t0 - 1)", reference),
    ];
    let chart = Chart {
        caption: "ASGD on θ²/2 with unit gradient noise, from θ = 5",
        y_desc: "distance from the minimum",
        ..Chart::LOG_LOG
    };
    chart.figure(
        NAME,
        (1.0..STEPS as f64).log_scale(),
        (1e-4..10.0).log_scale(),
        series,
    )
}

/// RAdam's rectification factor `r_t` against the step, for three values of
/// `beta2`, drawn only where PyTorch rectifies (`rho_t > 5`).
pub fn radam_rectification() -> Result<Figure, FigureError> {
    const NAME: &str = "radam-rectification";
    const STEPS: u64 = 100_000;
    let mut series = Vec::new();
    for (label, beta2) in [
        ("β2 = 0.9", 0.9),
        ("β2 = 0.99", 0.99),
        ("β2 = 0.999 (default)", 0.999),
    ] {
        let c = RAdamConfig {
            betas: (0.9, beta2),
            ..RAdamConfig::default()
        };
        let mut points = Vec::new();
        let mut t = 1;
        while t <= STEPS {
            if let Some(r) = c.rectification(t) {
                points.push((t as f64, r));
            }
            t = if t < 200 { t + 1 } else { t + t / 50 };
        }
        series.push((label, points));
    }
    let chart = Chart {
        caption: "RAdam's rectification r_t where PyTorch applies it (ρ_t > 5)",
        y_desc: "rectification factor r_t",
        x_numbers: Numbers::Whole,
        y_numbers: Numbers::OneDecimal,
        legend: SeriesLabelPosition::UpperLeft,
        margin_right: Some(36),
        ..Chart::BOOK
    };
    chart.figure(NAME, (1.0..STEPS as f64).log_scale(), 0.0..1.05, series)
}
