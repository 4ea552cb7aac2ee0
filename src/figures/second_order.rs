//! Figures of the second-order chapters: Newton against gradient descent, the
//! vector fields of the gradient, the natural gradient and the empirical-Fisher
//! step on least squares, and the units experiment.

use nalgebra::DVector;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::chart::{Chart, Numbers, Text, svg};
use super::{Figure, FigureError, colour, fail, trajectory};
use crate::optim::{Adadelta, AdadeltaConfig, Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use crate::problems::Objective;
use crate::problems::regression::LeastSquares;
use crate::problems::rosenbrock::Rosenbrock;
use crate::second_order::natural::{Model, empirical_fisher, natural_direction};
use crate::second_order::newton::{Damping, Newton, NewtonConfig};

/// Losses below this are drawn at it (Newton reaches exactly zero).
const FLOOR: f64 = 1e-20;

/// Newton (Levenberg-Marquardt damping) against gradient descent and Adam on
/// Rosenbrock's function from (-1.5, 2), loss on a log scale.
pub fn newton_vs_gd() -> Result<Figure, FigureError> {
    const NAME: &str = "newton-vs-gd";
    let f = Rosenbrock::default();
    let x0 = DVector::from_vec(vec![-1.5, 2.0]);
    let steps = 60;
    let mut series: Vec<(&str, Vec<(f64, f64)>)> = Vec::new();

    let newton = Newton::new(NewtonConfig {
        damping: Damping::levenberg_marquardt(),
        ..NewtonConfig::default()
    })
    .map_err(fail(NAME))?;
    let mut x = x0.clone();
    let mut points = vec![(0.0, f.value(&x).max(FLOOR))];
    for t in 1..=steps {
        if newton.step(&f, &mut x).is_err() {
            break;
        }
        points.push((t as f64, f.value(&x).max(FLOOR)));
    }
    series.push(("Newton", points));

    let runs: Vec<(&str, Box<dyn Optimizer>)> = vec![
        (
            "gradient descent, η = 5e-4",
            Box::new(
                Sgd::new(SgdConfig {
                    lr: 5e-4,
                    ..SgdConfig::default()
                })
                .map_err(fail(NAME))?,
            ),
        ),
        (
            "Adam, η = 0.02",
            Box::new(
                Adam::new(AdamConfig {
                    lr: 0.02,
                    ..AdamConfig::default()
                })
                .map_err(fail(NAME))?,
            ),
        ),
    ];
    for (label, mut opt) in runs {
        let path = trajectory(opt.as_mut(), &f, &x0, steps);
        let points = path
            .iter()
            .enumerate()
            .map(|(t, x)| (t as f64, f.value(x).max(FLOOR)))
            .collect();
        series.push((label, points));
    }

    let chart = Chart {
        caption: "Rosenbrock from (-1.5, 2): loss against step",
        y_desc: "loss (floored at 1e-20)",
        y_numbers: Numbers::Exponent,
        legend: SeriesLabelPosition::LowerLeft,
        ..Chart::BOOK
    };
    chart.figure(NAME, 0.0..steps as f64, (FLOOR..1e3).log_scale(), series)
}

/// One panel of the vector-field figure: arrows of `direction(theta)` on a grid,
/// all drawn with the same length, and the optimum.
fn field(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    centre: &DVector<f64>,
    k: usize,
    direction: &dyn Fn(&DVector<f64>) -> Option<DVector<f64>>,
) -> Result<(), FigureError> {
    const NAME: &str = "fisher-fields";
    let half = 2.0;
    let (cx, cy) = (centre[0], centre[1]);
    // A small panel: smaller text, no grid, no axis descriptions.
    let panel = Chart {
        caption: title,
        x_desc: "",
        grid: false,
        text: Text {
            caption: 16,
            numbers: 11,
            ..Text::BOOK
        },
        margin: 8,
        label_areas: (24, 32),
        ..Chart::BOOK
    };
    let mut chart = panel.on(
        NAME,
        area,
        (cx - half)..(cx + half),
        (cy - half)..(cy + half),
    )?;
    let c = colour(k);
    let cells = 9;
    let spacing = 2.0 * half / cells as f64;
    for i in 0..cells {
        for j in 0..cells {
            let theta = DVector::from_vec(vec![
                cx - half + (i as f64 + 0.5) * spacing,
                cy - half + (j as f64 + 0.5) * spacing,
            ]);
            let Some(d) = direction(&theta) else { continue };
            let norm = d.norm();
            if !(norm.is_finite() && norm > 0.0) {
                continue;
            }
            let d = d * (0.42 * spacing / norm);
            let (x0, y0) = (theta[0], theta[1]);
            let (x1, y1) = (x0 + d[0], y0 + d[1]);
            // A head: two short strokes back from the tip.
            let back = (-d[0] * 0.3, -d[1] * 0.3);
            let side = (-d[1] * 0.18, d[0] * 0.18);
            chart
                .draw_series([
                    PathElement::new(vec![(x0, y0), (x1, y1)], c.stroke_width(1)),
                    PathElement::new(
                        vec![(x1 + back.0 + side.0, y1 + back.1 + side.1), (x1, y1)],
                        c.stroke_width(1),
                    ),
                    PathElement::new(
                        vec![(x1 + back.0 - side.0, y1 + back.1 - side.1), (x1, y1)],
                        c.stroke_width(1),
                    ),
                ])
                .map_err(fail(NAME))?;
        }
    }
    chart
        .draw_series([Circle::new((cx, cy), 4, BLACK.filled())])
        .map_err(fail(NAME))?;
    Ok(())
}

/// After Kunstner, Balles and Hennig (2019), Figure 1: on a two-parameter linear
/// least-squares problem, the directions of the negative gradient, the natural
/// gradient (which points straight at the optimum) and the step preconditioned by
/// the empirical Fisher. The dot is the optimum; every arrow has the same length.
pub fn fisher_fields() -> Result<Figure, FigureError> {
    const NAME: &str = "fisher-fields";
    let model = LeastSquares::generate(3, 40, 2, 0.5).map_err(fail(NAME))?;
    // The optimum: one Newton step from anywhere (the loss is quadratic).
    let zero = DVector::zeros(2);
    let (_, g0, h) = model.value_gradient_hessian(&zero);
    let optimum = h
        .cholesky()
        .map(|c| -c.solve(&g0))
        .ok_or_else(|| fail(NAME)("X'X is not positive definite"))?;

    let gradient = |t: &DVector<f64>| Some(-model.gradient(t));
    let natural = |t: &DVector<f64>| {
        let f = model.fisher(t).ok()?;
        natural_direction(&f, &model.gradient(t), 0.0).ok()
    };
    let empirical = |t: &DVector<f64>| {
        let f = empirical_fisher(&model, t).ok()?;
        natural_direction(&f, &model.gradient(t), 1e-12).ok()
    };

    svg(NAME, (960, 360), |root| {
        let panels = root.split_evenly((1, 3));
        field(&panels[0], "-gradient", &optimum, 0, &gradient)?;
        field(
            &panels[1],
            "natural gradient  -F⁻¹ g",
            &optimum,
            2,
            &natural,
        )?;
        field(
            &panels[2],
            "empirical Fisher  -F̃⁻¹ g",
            &optimum,
            3,
            &empirical,
        )
    })
}

/// The units experiment: measure the parameter of `f(x) = (x - 3)^2 / 2` in units
/// `c` times smaller, `y = c x`, take one step from `x = 0`, and convert the step
/// back to the original units. A step with the units of the parameter gives the
/// same displacement for every `c` (a flat line); SGD's scales as `1/c^2` and
/// Adam's as `1/c`. AdaDelta's first step, with one shared `eps`, scales like
/// Adam's while the gradient `3/c` is well above `sqrt(eps / (1 - rho))`, about
/// `3e-3`, and like SGD's below it: `eps` alone sets its units.
pub fn units() -> Result<Figure, FigureError> {
    const NAME: &str = "units";
    let scales: Vec<f64> = (-12..=20).map(|k| 10f64.powf(k as f64 / 4.0)).collect();
    let mut series: Vec<(&str, Vec<(f64, f64)>)> = Vec::new();
    type Build = fn() -> Box<dyn Optimizer>;
    let first_order: [(&str, Build); 3] = [
        ("SGD, η = 0.1", || {
            Box::new(
                Sgd::new(SgdConfig {
                    lr: 0.1,
                    ..SgdConfig::default()
                })
                .expect("valid"),
            )
        }),
        ("Adam, η = 0.1", || {
            Box::new(
                Adam::new(AdamConfig {
                    lr: 0.1,
                    ..AdamConfig::default()
                })
                .expect("valid"),
            )
        }),
        ("AdaDelta (PyTorch defaults)", || {
            Box::new(Adadelta::new(AdadeltaConfig::default()).expect("valid"))
        }),
    ];
    for (label, build) in first_order {
        let points = scales
            .iter()
            .map(|&c| {
                // f2(y) = f(y / c): f2'(y) = (y / c - 3) / c.
                let mut y = DVector::from_element(1, 0.0);
                let g = DVector::from_element(1, (y[0] / c - 3.0) / c);
                let mut opt = build();
                opt.step(&mut y, &g).map_err(fail(NAME))?;
                Ok((c, (y[0] / c).abs()))
            })
            .collect::<Result<Vec<_>, FigureError>>()?;
        series.push((label, points));
    }
    // Newton: -f2'/f2'' with f2'' = 1/c^2.
    let newton = scales
        .iter()
        .map(|&c| {
            let (g, h) = (-3.0 / c, 1.0 / (c * c));
            (c, ((-g / h) / c).abs())
        })
        .collect();
    series.push(("Newton", newton));

    let chart = Chart {
        caption: "First step in the original units when the parameter is measured as y = cθ",
        x_desc: "unit factor c",
        y_desc: "|θ₁ − θ₀|",
        x_numbers: Numbers::Exponent,
        y_numbers: Numbers::Exponent,
        size: (720, 440),
        text: Text::LONG_CAPTION,
        ..Chart::BOOK
    };
    chart.figure(
        NAME,
        (1e-3..1e5).log_scale(),
        (1e-12..1e7).log_scale(),
        series,
    )
}
