//! The momentum chapter's figure: how fast gradient descent, the heavy ball and
//! Nesterov's method approach the minimum of an ill-conditioned quadratic, each
//! with the parameters its theory prescribes, against the predicted rates.

use nalgebra::DVector;
use plotters::prelude::*;

use super::chart::{Chart, Numbers, Text};
use super::{Figure, FigureError, fail};
use crate::optim::{Optimizer, Sgd, SgdConfig};

/// Distance to the minimizer over 120 steps on `L(theta) = sum_i lambda_i
/// theta_i^2 / 2` with eigenvalues `100^(i/7)`, `i = 0..=7` (`kappa = 100`), from
/// `theta_0 = (1, ..., 1)`:
/// - gradient descent with its best step `2 / (ell + mu) = 2/101`, rate `99/101`;
/// - the heavy ball with Polyak's `eta = 4 / (sqrt(ell) + sqrt(mu))^2 = 4/121` and
///   `beta = (9/11)^2`, rate `9/11` (times a factor `t` from the double roots);
/// - Nesterov's method with `eta = 1/ell` and `beta = (sqrt(kappa) - 1) /
///   (sqrt(kappa) + 1) = 9/11`, whose guaranteed rate `1 - 1/sqrt(kappa) = 0.9` is
///   not a tight prediction on a quadratic;
///
/// with the predicted geometric rates of the first two as reference lines.
pub fn momentum_rates() -> Result<Figure, FigureError> {
    const NAME: &str = "momentum-rates";
    let steps = 120usize;
    let (mu, ell) = (1.0f64, 100.0f64);
    let lambda = DVector::from_fn(8, |i, _| ell.powf(i as f64 / 7.0));
    let r = (ell.sqrt() - mu.sqrt()) / (ell.sqrt() + mu.sqrt()); // 9/11
    let runs: [(&str, SgdConfig); 3] = [
        (
            "gradient descent, η = 2/101",
            SgdConfig {
                lr: 2.0 / (ell + mu),
                ..SgdConfig::default()
            },
        ),
        (
            "heavy ball, η = 4/121, β = (9/11)²",
            SgdConfig {
                lr: 4.0 / (ell.sqrt() + mu.sqrt()).powi(2),
                momentum: r * r,
                ..SgdConfig::default()
            },
        ),
        (
            "Nesterov, η = 1/100, β = 9/11",
            SgdConfig {
                lr: 1.0 / ell,
                momentum: r,
                nesterov: true,
                ..SgdConfig::default()
            },
        ),
    ];
    let mut series = Vec::new();
    for (label, config) in runs {
        let mut opt = Sgd::new(config).map_err(fail(NAME))?;
        let mut theta = DVector::from_element(8, 1.0);
        let mut points = vec![(0.0, theta.norm())];
        for t in 1..=steps {
            let g = lambda.component_mul(&theta);
            opt.step(&mut theta, &g).map_err(fail(NAME))?;
            points.push((t as f64, theta.norm()));
        }
        series.push((label, points));
    }
    let start = 8f64.sqrt();
    let predicted = |rate: f64| -> Vec<(f64, f64)> {
        (0..=steps)
            .map(|t| (t as f64, start * rate.powi(t as i32)))
            .collect()
    };
    series.push(("predicted (99/101)ᵗ", predicted((ell - mu) / (ell + mu))));
    series.push(("predicted (9/11)ᵗ", predicted(r)));

    let chart = Chart {
        caption: "Distance to the minimum on a quadratic with condition number 100",
        y_desc: "|θ_t - θ*|",
        y_numbers: Numbers::Exponent,
        legend: SeriesLabelPosition::LowerLeft,
        size: (720, 440),
        text: Text::LONG_CAPTION,
        ..Chart::BOOK
    };
    chart.figure(NAME, 0.0..steps as f64, (1e-10..1e1).log_scale(), series)
}
