//! The AdaGrad chapter's figure: the effective per-coordinate rates of AdaGrad and
//! RMSprop for a coordinate that sees a gradient at every step and for one that
//! sees it once in ten steps.

use nalgebra::DVector;
use plotters::prelude::*;

use super::chart::{Chart, Text};
use super::{Figure, FigureError, fail};
use crate::optim::{Adagrad, AdagradConfig, Optimizer, RmsProp, RmsPropConfig};

/// Effective rate divided by the learning rate, `1 / (sqrt(s_t) + eps)` for
/// AdaGrad and `1 / (sqrt(v_t) + eps)` for RMSprop (`rho = 0.99`), read from each
/// optimizer's state after every step, over 2000 steps. Coordinate 1 (frequent)
/// receives the gradient 1 at every step, coordinate 2 (rare) at the steps
/// `t = 1, 11, 21, ...` and 0 otherwise.
pub fn adaptive_rates() -> Result<Figure, FigureError> {
    const NAME: &str = "adaptive-rates";
    let steps = 2000u64;
    let gradient = |t: u64| DVector::from_vec(vec![1.0, if t % 10 == 1 { 1.0 } else { 0.0 }]);
    let mut adagrad = Adagrad::new(AdagradConfig::default()).map_err(fail(NAME))?;
    let mut rmsprop = RmsProp::new(RmsPropConfig::default()).map_err(fail(NAME))?;
    let (ada_eps, rms_eps) = (adagrad.config().eps, rmsprop.config().eps);
    let mut curves: [Vec<(f64, f64)>; 4] = Default::default();
    for t in 1..=steps {
        let g = gradient(t);
        // Neither method reads the parameter without weight decay.
        let mut x = DVector::zeros(2);
        adagrad.step(&mut x, &g).map_err(fail(NAME))?;
        rmsprop.step(&mut x, &g).map_err(fail(NAME))?;
        let s = &adagrad
            .state()
            .ok_or_else(|| fail(NAME)("no AdaGrad state"))?
            .sum;
        let v = &rmsprop
            .state()
            .ok_or_else(|| fail(NAME)("no RMSprop state"))?
            .square_avg;
        for i in 0..2 {
            curves[i].push((t as f64, 1.0 / (s[i].sqrt() + ada_eps)));
            curves[2 + i].push((t as f64, 1.0 / (v[i].sqrt() + rms_eps)));
        }
    }
    let [a0, a1, r0, r1] = curves;
    let series = vec![
        ("AdaGrad, frequent coordinate", a0),
        ("AdaGrad, rare coordinate (1 step in 10)", a1),
        ("RMSprop ρ = 0.99, frequent coordinate", r0),
        ("RMSprop ρ = 0.99, rare coordinate", r1),
    ];

    let chart = Chart {
        caption: "Effective rate per unit of η for a frequent and a rare coordinate",
        y_desc: "rate / η",
        size: (720, 440),
        text: Text::LONG_CAPTION,
        ..Chart::LOG_LOG
    };
    chart.figure(
        NAME,
        (1.0..steps as f64).log_scale(),
        (1e-2..2e1).log_scale(),
        series,
    )
}
