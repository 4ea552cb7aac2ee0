//! The figure of the quasi-Newton chapter: L-BFGS against gradient descent and
//! Newton on Rosenbrock's function, loss against evaluations of the objective.

use nalgebra::DVector;
use plotters::prelude::*;

use super::{FAMILY, Figure, FigureError, fail, lines_with_legend};
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

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(fail(NAME))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Rosenbrock from (-1.2, 1): loss against evaluations",
                (FAMILY, 20),
            )
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..BUDGET, (FLOOR..1e3).log_scale())
            .map_err(fail(NAME))?;
        chart
            .configure_mesh()
            .light_line_style(RGBColor(235, 235, 235))
            .label_style((FAMILY, 13))
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .x_desc("evaluations of loss and gradient (Newton: steps)")
            .y_desc("loss (floored at 1e-20)")
            .axis_desc_style((FAMILY, 14))
            .draw()
            .map_err(fail(NAME))?;
        lines_with_legend(&mut chart, series, SeriesLabelPosition::UpperRight, NAME)?;
        root.present().map_err(fail(NAME))?;
    }
    Ok(Figure { name: NAME, svg })
}
