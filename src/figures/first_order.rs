//! Figures of the first-order optimizers: paths on the shared toy problems, Adam
//! against AMSGrad on Reddi's problem, and Rprop's drift under minibatch noise.

use nalgebra::{DVector, SymmetricEigen};
use plotters::prelude::*;

use super::chart::Chart;
use super::{Figure, FigureError, fail, trajectory};
use crate::optim::{
    Adadelta, AdadeltaConfig, Adagrad, AdagradConfig, Adam, AdamConfig, Amsgrad, Optimizer,
    RmsProp, RmsPropConfig, Rprop, RpropConfig, Sgd, SgdConfig,
};
use crate::problems::Objective;
use crate::problems::minibatch_sign::MinibatchSign;
use crate::problems::online::ReddiOnline;
use crate::problems::quadratic::Quadratic;
use crate::problems::rosenbrock::Rosenbrock;

/// Learning rates of the path figures, chosen once per problem so that each
/// method makes visible progress in the figure's number of steps:
/// `[sgd, momentum and Nesterov, adagrad, rmsprop, adadelta eps, adam, rprop]`.
type Rates = [f64; 7];

/// Rates for the shared quadratic (largest curvature 25).
const QUADRATIC_RATES: Rates = [0.03, 0.01, 0.5, 0.02, 1e-2, 0.05, 0.05];
/// Rates for Rosenbrock's function from (-1.5, 2) (largest curvature about 1900).
const ROSENBROCK_RATES: Rates = [5e-4, 1e-4, 0.1, 0.01, 1e-4, 0.02, 0.01];

/// The first-order optimizers (SGD, momentum, Nesterov, AdaGrad, RMSprop,
/// AdaDelta, Adam, Rprop) with the given rates.
fn lineup(r: Rates) -> Vec<(&'static str, Box<dyn Optimizer>)> {
    // Every configuration below is valid, so `new` cannot fail.
    let sgd = |c| Box::new(Sgd::new(c).expect("valid")) as Box<dyn Optimizer>;
    vec![
        (
            "SGD",
            sgd(SgdConfig {
                lr: r[0],
                ..SgdConfig::default()
            }),
        ),
        (
            "momentum",
            sgd(SgdConfig {
                lr: r[1],
                momentum: 0.9,
                ..SgdConfig::default()
            }),
        ),
        (
            "Nesterov",
            sgd(SgdConfig {
                lr: r[1],
                momentum: 0.9,
                nesterov: true,
                ..SgdConfig::default()
            }),
        ),
        (
            "AdaGrad",
            Box::new(
                Adagrad::new(AdagradConfig {
                    lr: r[2],
                    ..AdagradConfig::default()
                })
                .expect("valid"),
            ),
        ),
        (
            "RMSprop",
            Box::new(
                RmsProp::new(RmsPropConfig {
                    lr: r[3],
                    ..RmsPropConfig::default()
                })
                .expect("valid"),
            ),
        ),
        (
            "AdaDelta",
            Box::new(
                Adadelta::new(AdadeltaConfig {
                    eps: r[4],
                    ..AdadeltaConfig::default()
                })
                .expect("valid"),
            ),
        ),
        (
            "Adam",
            Box::new(
                Adam::new(AdamConfig {
                    lr: r[5],
                    ..AdamConfig::default()
                })
                .expect("valid"),
            ),
        ),
        (
            "Rprop",
            Box::new(
                Rprop::new(RpropConfig {
                    lr: r[6],
                    ..RpropConfig::default()
                })
                .expect("valid"),
            ),
        ),
    ]
}

/// The visible region of a path figure and the level curves drawn in it.
struct Frame {
    range: ((f64, f64), (f64, f64)),
    levels: Vec<Vec<(f64, f64)>>,
}

/// Draws level curves and the paths of every optimizer on a 2-D problem.
fn paths(
    figure: &'static str,
    title: &str,
    f: &impl Objective,
    x0: &DVector<f64>,
    steps: usize,
    rates: Rates,
    frame: Frame,
) -> Result<Figure, FigureError> {
    let Frame { range, levels } = frame;
    let ((x_lo, x_hi), (y_lo, y_hi)) = range;
    let series = lineup(rates)
        .into_iter()
        .map(|(label, mut opt)| {
            let path = trajectory(opt.as_mut(), f, x0, steps);
            let points = path
                .iter()
                .map(|x| (x[0], x[1]))
                .filter(|(a, b)| a.is_finite() && b.is_finite())
                .collect();
            (label, points)
        })
        .collect();
    let chart = Chart {
        caption: title,
        x_desc: "θ₁",
        y_desc: "θ₂",
        grid: false,
        size: (720, 560),
        label_areas: (32, 44),
        ..Chart::BOOK
    };
    // The level curves go in first, in light grey, under the paths.
    chart.figure_over(
        figure,
        x_lo..x_hi,
        y_lo..y_hi,
        |plot| {
            for level in levels {
                plot.draw_series(LineSeries::new(
                    level,
                    RGBColor(200, 200, 200).stroke_width(1),
                ))
                .map_err(fail(figure))?;
            }
            Ok(())
        },
        series,
    )
}

/// Level curves `f = c` of the quadratic `x'Ax/2 - b'x`, as ellipses.
fn ellipses(q: &Quadratic, values: &[f64]) -> Vec<Vec<(f64, f64)>> {
    let eig = SymmetricEigen::new(q.a().clone());
    let centre = eig.eigenvectors.clone()
        * DVector::from_fn(2, |i, _| {
            eig.eigenvectors.column(i).dot(q.b()) / eig.eigenvalues[i]
        });
    let f_min = q.value(&centre);
    values
        .iter()
        .map(|&c| {
            (0..=120)
                .map(|k| {
                    let phi = k as f64 * std::f64::consts::TAU / 120.0;
                    let r = |i: usize| (2.0 * (c - f_min) / eig.eigenvalues[i]).sqrt();
                    let p = &centre
                        + eig.eigenvectors.column(0) * (r(0) * phi.cos())
                        + eig.eigenvectors.column(1) * (r(1) * phi.sin());
                    (p[0], p[1])
                })
                .collect()
        })
        .collect()
}

/// The shared ill-conditioned quadratic: condition number 25, rotated.
pub fn shared_quadratic() -> Quadratic {
    Quadratic::ill_conditioned(2, 25.0, 7).expect("valid sizes")
}

/// Every first-order optimizer's path on the shared ill-conditioned quadratic.
pub fn paths_quadratic() -> Result<Figure, FigureError> {
    let q = shared_quadratic();
    let levels = ellipses(&q, &[0.05, 0.3, 1.0, 2.5, 5.0, 10.0]);
    let x0 = DVector::from_vec(vec![-2.0, 1.5]);
    paths(
        "paths-quadratic",
        "Paths on a quadratic with condition number 25 (60 steps)",
        &q,
        &x0,
        60,
        QUADRATIC_RATES,
        Frame {
            range: ((-3.0, 3.0), (-2.6, 2.6)),
            levels,
        },
    )
}

/// Level curves of the 2-D Rosenbrock function with `a = 1, b = 100`.
fn rosenbrock_levels(values: &[f64]) -> Vec<Vec<(f64, f64)>> {
    let (a, b) = (1.0, 100.0);
    let mut curves = Vec::new();
    for &c in values {
        let root_c: f64 = c.sqrt();
        for sign in [1.0, -1.0] {
            let curve: Vec<(f64, f64)> = (0..=200)
                .map(|k| a - root_c + 2.0 * root_c * k as f64 / 200.0)
                .map(|x| {
                    let rest = ((c - (a - x) * (a - x)) / b).max(0.0);
                    (x, x * x + sign * rest.sqrt())
                })
                .collect();
            curves.push(curve);
        }
    }
    curves
}

/// Every first-order optimizer's path on Rosenbrock's function from (-1.5, 2).
pub fn paths_rosenbrock() -> Result<Figure, FigureError> {
    let f = Rosenbrock::default();
    let x0 = DVector::from_vec(vec![-1.5, 2.0]);
    paths(
        "paths-rosenbrock",
        "Paths on Rosenbrock's function from (-1.5, 2) (1000 steps)",
        &f,
        &x0,
        1000,
        ROSENBROCK_RATES,
        Frame {
            range: ((-2.0, 2.0), (-1.0, 3.0)),
            levels: rosenbrock_levels(&[0.5, 2.0, 8.0, 25.0, 80.0, 200.0]),
        },
    )
}

/// A line chart of several series over the step counter.
pub(crate) fn over_steps(
    figure: &'static str,
    title: &str,
    y_desc: &str,
    y_range: (f64, f64),
    series: Vec<(&'static str, Vec<(f64, f64)>)>,
) -> Result<Figure, FigureError> {
    let x_hi = series
        .iter()
        .flat_map(|(_, s)| s.last().map(|p| p.0))
        .fold(1.0, f64::max);
    let chart = Chart {
        caption: title,
        y_desc,
        legend: SeriesLabelPosition::LowerRight,
        label_areas: (32, 52),
        ..Chart::BOOK
    };
    chart.figure(figure, 0.0..x_hi, y_range.0..y_range.1, series)
}

/// Adam against AMSGrad (the paper's) on Reddi, Kale and Kumar's online problem
/// of section 3: `beta1 = 0`, `beta2 = 1/10`, rate `0.5/sqrt(t)`, projection onto
/// `[-1, 1]`. The optimum is `-1`.
pub fn reddi() -> Result<Figure, FigureError> {
    let problem = ReddiOnline::section3();
    let steps = 6000u64;
    let mut series = Vec::new();
    for (label, amsgrad) in [("Adam", Amsgrad::Off), ("AMSGrad (paper)", Amsgrad::Paper)] {
        let config = AdamConfig {
            lr: 0.5,
            betas: (0.0, 0.1),
            amsgrad,
            ..AdamConfig::default()
        };
        let mut opt = Adam::new(config).map_err(fail("reddi"))?;
        let mut x = DVector::from_element(1, 0.0);
        let mut points = vec![(0.0, 0.0)];
        for t in 1..=steps {
            opt.set_lr(0.5 / (t as f64).sqrt()).map_err(fail("reddi"))?;
            let g = DVector::from_element(1, problem.gradient(t));
            opt.step(&mut x, &g).map_err(fail("reddi"))?;
            x[0] = ReddiOnline::project(x[0]);
            if t % 6 == 0 {
                points.push((t as f64, x[0]));
            }
        }
        series.push((label, points));
    }
    over_steps(
        "reddi",
        "Reddi et al.'s problem: Adam settles at +1, AMSGrad goes to the optimum -1",
        "θ_t",
        (-1.05, 1.05),
        series,
    )
}

/// Rprop, RMSprop and SGD on Hinton's minibatch example: per epoch nine
/// gradients `+0.1` and one `-0.9`, mean zero.
pub fn rprop_drift() -> Result<Figure, FigureError> {
    let problem = MinibatchSign::hinton(1).map_err(fail("rprop-drift"))?;
    let steps = 300u64;
    let runs: Vec<(&'static str, Box<dyn Optimizer>)> = vec![
        (
            "Rprop",
            Box::new(
                Rprop::new(RpropConfig {
                    lr: 0.001,
                    step_sizes: (1e-6, 0.01),
                    ..RpropConfig::default()
                })
                .map_err(fail("rprop-drift"))?,
            ),
        ),
        (
            "RMSprop",
            Box::new(
                RmsProp::new(RmsPropConfig {
                    lr: 0.01,
                    ..RmsPropConfig::default()
                })
                .map_err(fail("rprop-drift"))?,
            ),
        ),
        (
            "SGD",
            Box::new(
                Sgd::new(SgdConfig {
                    lr: 0.1,
                    ..SgdConfig::default()
                })
                .map_err(fail("rprop-drift"))?,
            ),
        ),
    ];
    let mut series = Vec::new();
    for (label, mut opt) in runs {
        let mut x = DVector::from_element(1, 0.0);
        let mut points = vec![(0.0, 0.0)];
        for k in 0..steps {
            opt.step(&mut x, &problem.gradient(k))
                .map_err(fail("rprop-drift"))?;
            points.push(((k + 1) as f64, x[0]));
        }
        series.push((label, points));
    }
    let lo = series
        .iter()
        .flat_map(|(_, s)| s.iter().map(|p| p.1))
        .fold(0.0, f64::min);
    let hi = series
        .iter()
        .flat_map(|(_, s)| s.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    over_steps(
        "rprop-drift",
        "Minibatch gradients +0.1 (x9) and -0.9 (x1): mean zero, yet Rprop drifts",
        "θ_t",
        (lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)),
        series,
    )
}

/// Adam with L2 against AdamW on `f(theta) = sum_i s_i (theta_i - 1)^2 / 2` with
/// curvatures `s = (1, 100)` and the same coefficient `lambda = 0.5`. Under L2 the
/// decay is divided by each coordinate's gradient scale, so the flat coordinate
/// is pulled to `1/(1 + lambda)` and the steep one barely moves (`100/100.5`).
/// Adam's step barely sees the gradient's scale (only through `eps`), so under
/// decoupled decay the two coordinates follow almost the same trajectory.
pub fn weight_decay() -> Result<Figure, FigureError> {
    const NAME: &str = "weight-decay";
    let s = [1.0, 100.0];
    let steps = 3000u64;
    let lambda = 0.5;
    let mut series = Vec::new();
    let runs = [WeightDecayKind::L2, WeightDecayKind::Decoupled];
    let labels = [
        [
            "Adam + L2, θ₁ (curvature 1)",
            "Adam + L2, θ₂ (curvature 100)",
        ],
        ["AdamW, θ₁ (curvature 1)", "AdamW, θ₂ (curvature 100)"],
    ];
    for (k, kind) in runs.iter().enumerate() {
        let weight_decay = match kind {
            WeightDecayKind::L2 => crate::optim::WeightDecay::L2(lambda),
            WeightDecayKind::Decoupled => crate::optim::WeightDecay::Decoupled(lambda),
        };
        let mut opt = Adam::new(AdamConfig {
            lr: 0.01,
            weight_decay,
            ..AdamConfig::default()
        })
        .map_err(fail(NAME))?;
        let mut x = DVector::from_element(2, 0.0);
        let mut points = [vec![(0.0, 0.0)], vec![(0.0, 0.0)]];
        for t in 1..=steps {
            let g = DVector::from_fn(2, |i, _| s[i] * (x[i] - 1.0));
            opt.step(&mut x, &g).map_err(fail(NAME))?;
            if t % 10 == 0 {
                for i in 0..2 {
                    points[i].push((t as f64, x[i]));
                }
            }
        }
        let [p0, p1] = points;
        series.push((labels[k][0], p0));
        series.push((labels[k][1], p1));
    }
    over_steps(
        NAME,
        "Same λ = 0.5: L2 spares the steep coordinate; AdamW's two curves coincide",
        "θᵢ",
        (0.0, 1.05),
        series,
    )
}

/// Which weight decay a run of [`weight_decay`] uses.
enum WeightDecayKind {
    L2,
    Decoupled,
}
