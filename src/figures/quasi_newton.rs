//! The figure of the quasi-Newton chapter: L-BFGS against gradient descent and
//! Newton on Rosenbrock's function, loss against evaluations of the objective.

use nalgebra::DVector;
use plotters::prelude::*;

use super::chart::{Chart, Numbers};
use super::{Figure, FigureError, fail};
use crate::problems::Objective;
use crate::problems::rosenbrock::Rosenbrock;
use crate::second_order::lbfgs::{Lbfgs, LbfgsConfig, LineSearch};
use crate::second_order::newton::{Damping, Newton, NewtonConfig};

/// Losses below this are drawn at it.
const FLOOR: f64 = 1e-20;

/// L-BFGS (strong Wolfe, memory 5 and 100), Newton and gradient descent on
/// Rosenbrock from (-1.2, 1): the loss after each evaluation budget. An L-BFGS
/// call is run with `max_iter = 1` (and `max_eval = 26`), so each point is one iteration and its
/// evaluations (line-search trials) are counted on the x-axis.
pub fn lbfgs_rosenbrock() -> Result<Figure, FigureError> {
    const NAME: &str = "lbfgs-rosenbrock";
    const BUDGET: f64 = 120.0;
    let f = Rosenbrock::default();
    let x0 = DVector::from_vec(vec![-1.2, 1.0]);
    let mut series: Vec<(&str, Vec<(f64, f64)>)> = Vec::new();
    for (label, history_size) in [
        ("L-BFGS, strong Wolfe, memory 100", 100),
        ("L-BFGS, strong Wolfe, memory 1", 1),
    ] {
        let mut opt = Lbfgs::new(LbfgsConfig {
            max_iter: 1,
            // With max_iter = 1 the default budget max_iter * 5 / 4 is one
            // evaluation, which leaves the line search none: it would never move.
            max_eval: Some(26),
            history_size,
            line_search_fn: LineSearch::StrongWolfe,
            ..LbfgsConfig::default()
        })
        .map_err(fail(NAME))?;
        let mut x = x0.clone();
        let (mut evals, mut points) = (0.0, vec![(0.0, f.value(&x).max(FLOOR))]);
        while evals < BUDGET {
            match opt.step(&f, &mut x) {
                Ok(r) => evals += r.evaluations as f64,
                Err(_) => break,
            }
            points.push((evals.min(BUDGET), f.value(&x).max(FLOOR)));
        }
        series.push((label, points));
    }
    let newton = Newton::new(NewtonConfig {
        damping: Damping::levenberg_marquardt(),
        ..NewtonConfig::default()
    })
    .map_err(fail(NAME))?;
    let mut x = x0.clone();
    let mut points = vec![(0.0, f.value(&x).max(FLOOR))];
    for t in 1..=30 {
        if newton.step(&f, &mut x).is_err() {
            break;
        }
        points.push((f64::from(t), f.value(&x).max(FLOOR)));
    }
    series.push(("Newton (one Hessian per step)", points));
    let mut x = x0.clone();
    let mut points = vec![(0.0, f.value(&x).max(FLOOR))];
    for t in 1..=BUDGET as u32 {
        let g = f.gradient(&x);
        x.axpy(-1e-3, &g, 1.0);
        points.push((f64::from(t), f.value(&x).max(FLOOR)));
    }
    series.push(("gradient descent, step 1e-3", points));

    let chart = Chart {
        caption: "Rosenbrock from (-1.2, 1): loss against evaluations",
        x_desc: "evaluations of loss and gradient (Newton: steps)",
        y_desc: "loss (floored at 1e-20)",
        y_numbers: Numbers::Exponent,
        ..Chart::BOOK
    };
    chart.figure(NAME, 0.0..BUDGET, (FLOOR..1e3).log_scale(), series)
}
