//! The K-FAC chapter's figure: how far the K-FAC direction turns away from the
//! exact natural-gradient direction, as a function of the damping.

use nalgebra::{DMatrix, DVector};
use plotters::prelude::*;

use super::chart::{Chart, Numbers, Text, lines_with_legend, svg};
use super::{FAMILY, Figure, FigureError, fail};
use crate::second_order::kfac::{FactorDamping, demo, kfac_direction, kfac_factors, metric_angle};
use crate::second_order::natural::{Model, gradient, natural_direction};

/// The angle in degrees between two vectors.
fn angle(x: &DVector<f64>, y: &DVector<f64>) -> f64 {
    (x.dot(y) / (x.norm() * y.norm()))
        .clamp(-1.0, 1.0)
        .acos()
        .to_degrees()
}

/// `F` with every cross-layer block set to zero: the best any block-diagonal
/// method can do.
fn block_diagonal(f: &DMatrix<f64>, sizes: &[usize]) -> DMatrix<f64> {
    let mut b = DMatrix::zeros(f.nrows(), f.ncols());
    let mut off = 0;
    for &s in sizes {
        b.view_mut((off, off), (s, s))
            .copy_from(&f.view((off, off), (s, s)));
        off += s;
    }
    b
}

/// Angle between the damped exact natural-gradient direction and three
/// approximations on the demonstration network, against the damping.
pub fn kfac_angle() -> Result<Figure, FigureError> {
    const NAME: &str = "kfac-angle";
    let (mlp, theta) = demo();
    let f = mlp.fisher(&theta).map_err(fail(NAME))?;
    let factors = kfac_factors(&mlp, &theta).map_err(fail(NAME))?;
    let g = gradient(&mlp, &theta).map_err(fail(NAME))?;
    let sizes: Vec<usize> = (0..mlp.layers())
        .map(|l| {
            let (r, c) = mlp.layer_shape(l);
            r * c
        })
        .collect();
    let blocks = block_diagonal(&f, &sizes);
    let dampings: Vec<f64> = (-24..=12).map(|k| 10f64.powf(k as f64 / 4.0)).collect();
    // Per direction: (label, Euclidean angles, angles in the metric F + delta I).
    type Curves = Vec<(f64, f64)>;
    let mut curves: Vec<(&str, Curves, Curves)> = vec![
        ("K-FAC, π-corrected damping", vec![], vec![]),
        ("K-FAC, plain factored damping", vec![], vec![]),
        ("exact diagonal blocks of F", vec![], vec![]),
        ("negative gradient −g", vec![], vec![]),
    ];
    for &delta in &dampings {
        let exact = natural_direction(&f, &g, delta).map_err(fail(NAME))?;
        let dirs = [
            kfac_direction(&factors, &g, delta, FactorDamping::Pi).map_err(fail(NAME))?,
            kfac_direction(&factors, &g, delta, FactorDamping::Plain).map_err(fail(NAME))?,
            natural_direction(&blocks, &g, delta).map_err(fail(NAME))?,
            -&g,
        ];
        for (curve, d) in curves.iter_mut().zip(&dirs) {
            curve.1.push((delta, angle(&exact, d)));
            let m = metric_angle(&f, &g, delta, d).map_err(fail(NAME))?;
            curve.2.push((delta, m));
        }
    }
    svg(NAME, (960, 440), |root| {
        let root = root
            .titled(
                "Angle to the exact damped natural gradient −(F + δI)⁻¹g, 3-4-3 tanh network",
                (FAMILY, 18),
            )
            .map_err(fail(NAME))?;
        let panels = root.split_evenly((1, 2));
        let titles = ["Euclidean angle", "angle in the metric F + δI"];
        for (k, area) in panels.iter().enumerate() {
            let series = curves
                .iter()
                .map(|(label, e, m)| (*label, if k == 0 { e.clone() } else { m.clone() }))
                .collect();
            // Two panels side by side: a little less room and smaller text.
            let panel = Chart {
                caption: titles[k],
                x_desc: "damping δ",
                y_desc: "degrees",
                x_numbers: Numbers::Exponent,
                text: Text {
                    caption: 15,
                    numbers: 12,
                    descriptions: 13,
                },
                margin: 10,
                label_areas: (32, 44),
                ..Chart::BOOK
            };
            let mut plot = panel.on(NAME, area, (1e-6..1e3).log_scale(), 0.0..90.0)?;
            lines_with_legend(&mut plot, series, panel.legend, NAME)?;
        }
        Ok(())
    })
}
