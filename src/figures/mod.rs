//! The book's figures, drawn by the crate as SVG with plotters.
//!
//! Text is laid out with KaTeX's `KaTeX_Main` font, read from the book's own copy,
//! so no system font is needed and the output is the same on every machine. Each
//! figure is a function that returns the SVG text; [`write_all`] writes them into a
//! folder, and a test fails when a committed figure differs from what the code
//! draws now.
//!
//! The set-up every chart shares (the canvas, the axes and their numbers, the
//! grid, the coloured lines and the legend) is written once, in `chart.rs`; a
//! figure says only its caption, axes and data.

use std::fmt;
use std::path::Path;
use std::sync::Once;

use nalgebra::DVector;
use plotters::prelude::*;

use crate::optim::Optimizer;
use crate::problems::Objective;

mod adam_variants;
mod adaptive;
mod chart;
mod first_order;
mod foundations;
mod kfac;
mod momentum;
mod newer;
mod quasi_newton;
pub mod schedules;
mod second_order;
mod worst_case;

/// A figure: its file name (`<name>.svg`) and its SVG text.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// The file stem, e.g. `paths-quadratic`.
    pub name: &'static str,
    /// The SVG document.
    pub svg: String,
}

/// Why a figure could not be drawn.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("figure {figure}: {message}")]
pub struct FigureError {
    /// The figure.
    pub figure: &'static str,
    /// What went wrong.
    pub message: String,
}

/// The font every figure uses: KaTeX's, shipped with the book.
const FONT: &[u8] = include_bytes!("../../book/src/katex/fonts/KaTeX_Main-Regular.ttf");
/// The family name the figures ask for.
pub(crate) const FAMILY: &str = "KaTeX_Main";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font, checked by the figures' test.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// Every figure of the book.
pub fn all() -> Result<Vec<Figure>, FigureError> {
    register_font();
    Ok(vec![
        first_order::paths_quadratic()?,
        first_order::paths_rosenbrock()?,
        first_order::reddi()?,
        first_order::rprop_drift()?,
        momentum::momentum_rates()?,
        adaptive::adaptive_rates()?,
        first_order::weight_decay()?,
        foundations::gd_rates()?,
        foundations::saddle_escape()?,
        foundations::sgd_noise()?,
        second_order::newton_vs_gd()?,
        second_order::fisher_fields()?,
        second_order::units()?,
        quasi_newton::lbfgs_rosenbrock()?,
        schedules::schedules()?,
        schedules::robbins_monro()?,
        adam_variants::asgd_averaging()?,
        adam_variants::radam_rectification()?,
        worst_case::worst_case_rates()?,
        kfac::kfac_angle()?,
        newer::lion_drift()?,
        newer::adafactor_factored()?,
        newer::muon_quintic()?,
    ])
}

/// Writes every figure into `dir` as `<name>.svg`; returns the file names.
pub fn write_all(dir: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let mut names = Vec::new();
    for figure in all()? {
        let name = format!("{}.svg", figure.name);
        std::fs::write(dir.join(&name), figure.svg)?;
        names.push(name);
    }
    Ok(names)
}

/// The iterates of `opt` on `f` from `x0`, start included; stops early at a
/// refused step.
pub(crate) fn trajectory(
    opt: &mut dyn Optimizer,
    f: &impl Objective,
    x0: &DVector<f64>,
    steps: usize,
) -> Vec<DVector<f64>> {
    let mut x = x0.clone();
    let mut path = vec![x.clone()];
    for _ in 0..steps {
        let g = f.gradient(&x);
        if opt.step(&mut x, &g).is_err() {
            break;
        }
        path.push(x.clone());
    }
    path
}

/// Turns a plotters error into a [`FigureError`].
pub(crate) fn fail<E: fmt::Debug>(figure: &'static str) -> impl Fn(E) -> FigureError {
    move |e| FigureError {
        figure,
        message: format!("{e:?}"),
    }
}

/// The colours of the curves, in order.
pub(crate) fn colour(k: usize) -> RGBColor {
    const COLOURS: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(23, 190, 207),
    ];
    COLOURS[k % COLOURS.len()]
}

/// A labelled curve: its legend text and its points.
pub(crate) type Series<'s, X, Y> = (&'s str, Vec<(X, Y)>);
