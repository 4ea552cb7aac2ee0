//! The figure of the worst-case chapter: worst-case `f(x_N) - f*` against `N` for
//! gradient descent, Nesterov's method and the optimized gradient method, computed
//! by the crate's performance estimation, beside the closed forms.

use plotters::prelude::*;

use super::chart::{Chart, Numbers, Text};
use super::{Figure, FigureError, colour, fail};
use crate::pep::method::ogm_theta;
use crate::pep::{FunctionClass, Measure, Method, NesterovMomentum, worst_case};

/// Steps shown: `N = 1, ..., STEPS`.
const STEPS: usize = 10;

/// Worst case against `N` for `L = R = 1`, `mu = 0`: PEP values as circles, closed
/// forms as lines (for Nesterov the classical bound `2/(N+1)^2`, which is not tight).
pub fn worst_case_rates() -> Result<Figure, FigureError> {
    const NAME: &str = "worst-case-rates";
    let class = FunctionClass::new(1.0, 0.0).map_err(fail(NAME))?;
    let methods = [
        Method::Gd { h: 1.0 },
        Method::Nesterov {
            h: 1.0,
            momentum: NesterovMomentum::Tk,
        },
        Method::Ogm,
    ];
    let mut pep = Vec::new();
    for method in &methods {
        let mut points = Vec::new();
        for n in 1..=STEPS {
            let wc = worst_case(&class, method, n, Measure::FunctionValue).map_err(fail(NAME))?;
            points.push((n as f64, wc.value));
        }
        pep.push(points);
    }
    let closed = |k: usize, n: usize| -> f64 {
        let nf = n as f64;
        match k {
            0 => 1.0 / (4.0 * nf + 2.0),
            1 => 2.0 / ((nf + 1.0) * (nf + 1.0)),
            _ => {
                let theta = ogm_theta(n)[n];
                1.0 / (2.0 * theta * theta)
            }
        }
    };
    let labels = [
        "gradient descent: 1/(4N+2)",
        "Nesterov: bound 2/(N+1)^2",
        "OGM: 1/(2 theta_N^2)",
    ];
    let series = (0..3)
        .map(|k| {
            let line = (1..=STEPS).map(|n| (n as f64, closed(k, n))).collect();
            (labels[k], line)
        })
        .collect();

    let chart = Chart {
        caption: "Worst case of f(x_N) - f* (L = R = 1): PEP (circles), closed forms (lines)",
        x_desc: "steps N",
        y_desc: "worst-case f(x_N) - f*",
        x_numbers: Numbers::Whole,
        y_numbers: Numbers::Exponent,
        x_labels: Some(STEPS),
        text: Text::LONG_CAPTION,
        ..Chart::BOOK
    };
    // The PEP values go in first, as circles, so the closed forms lie on top.
    chart.figure_over(
        NAME,
        0.5..STEPS as f64 + 0.5,
        (3e-3..0.7).log_scale(),
        |plot| {
            for (k, points) in pep.into_iter().enumerate() {
                let c = colour(k);
                plot.draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 5, c.stroke_width(2))),
                )
                .map_err(fail(NAME))?;
            }
            Ok(())
        },
        series,
    )
}
