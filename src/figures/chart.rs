//! The set-up every chart of the book shares, written once.
//!
//! A chart is described by a [`Chart`]: its caption, what its axes say, how their
//! numbers are written and where the legend goes. Everything else (the white SVG
//! canvas, the font, the light grid, the margins, the coloured lines and the
//! legend box) is the same in every figure and is done here. Whether an axis is
//! linear or logarithmic is said by the range itself: `0.0..100.0` is linear,
//! `(1.0..1e4).log_scale()` is logarithmic.
//!
//! A figure with one chart calls [`Chart::figure`] (or [`Chart::figure_over`] to
//! draw something under the curves); a figure of several panels calls [`svg`]
//! and sets up each panel with [`Chart::on`].

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::prelude::*;

use super::{FAMILY, Figure, FigureError, Series, colour, fail};

/// A chart drawn on an SVG canvas, with `x` and `y` axes of coordinate types `X`
/// and `Y` (linear or logarithmic).
pub(crate) type Plot<'b, 's, X, Y> = ChartContext<'b, SVGBackend<'s>, Cartesian2d<X, Y>>;

/// How the numbers along an axis are written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Numbers {
    /// As plotters writes them by default.
    Plain,
    /// Rounded to whole numbers: `1000`.
    Whole,
    /// As a power of ten: `1e-4`.
    Exponent,
    /// With one decimal: `0.5`.
    OneDecimal,
}

impl Numbers {
    /// The function that writes a number, or `None` when plotters is left to
    /// write it.
    fn writer(self) -> Option<fn(&f64) -> String> {
        match self {
            Numbers::Plain => None,
            Numbers::Whole => Some(|v| format!("{v:.0}")),
            Numbers::Exponent => Some(|v| format!("{v:.0e}")),
            Numbers::OneDecimal => Some(|v| format!("{v:.1}")),
        }
    }
}

/// Font sizes, in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Text {
    /// The chart's caption.
    pub caption: u32,
    /// The numbers along the axes (the legend's text is 13 in every chart).
    pub numbers: u32,
    /// The axis descriptions.
    pub descriptions: u32,
}

impl Text {
    /// The sizes of a chart that is a whole figure.
    pub const BOOK: Text = Text {
        caption: 20,
        numbers: 13,
        descriptions: 14,
    };
    /// The same with a smaller caption, for a caption too long to fit 720 pixels
    /// at 20.
    pub const LONG_CAPTION: Text = Text {
        caption: 18,
        ..Text::BOOK
    };
}

/// What changes from one chart of the book to the next. [`Chart::BOOK`] holds
/// the common choices, so a figure names only what is its own.
#[derive(Clone, Debug)]
pub(crate) struct Chart<'a> {
    /// The caption above the chart; empty for none.
    pub caption: &'a str,
    /// What the x axis measures; empty for no description.
    pub x_desc: &'a str,
    /// What the y axis measures; empty for no description.
    pub y_desc: &'a str,
    /// How the numbers along the x axis are written.
    pub x_numbers: Numbers,
    /// How the numbers along the y axis are written.
    pub y_numbers: Numbers,
    /// How many numbers the x axis shows at most (`None`: plotters' choice).
    pub x_labels: Option<usize>,
    /// Where the legend box goes.
    pub legend: SeriesLabelPosition,
    /// Light grid lines behind the curves (`false`: no grid at all).
    pub grid: bool,
    /// Width and height of the figure in pixels, when the chart is the whole
    /// figure.
    pub size: (u32, u32),
    /// Font sizes.
    pub text: Text,
    /// Space around the chart, in pixels.
    pub margin: u32,
    /// Space on the right when it differs from `margin` (room for a last number).
    pub margin_right: Option<u32>,
    /// Height of the x axis' numbers area and width of the y axis' one.
    pub label_areas: (u32, u32),
}

impl Chart<'static> {
    /// The common choices: a 720 x 420 figure over the step `t`, a light grid,
    /// numbers as plotters writes them, the legend top right.
    pub const BOOK: Chart<'static> = Chart {
        caption: "",
        x_desc: "step t",
        y_desc: "",
        x_numbers: Numbers::Plain,
        y_numbers: Numbers::Plain,
        x_labels: None,
        legend: SeriesLabelPosition::UpperRight,
        grid: true,
        size: (720, 420),
        text: Text::BOOK,
        margin: 12,
        margin_right: None,
        label_areas: (32, 60),
    };
    /// For a quantity that falls by powers of ten over thousands of steps, drawn
    /// on two logarithmic axes: steps written whole, values as powers of ten, and
    /// the legend bottom left, where the curves have fallen away from.
    pub const LOG_LOG: Chart<'static> = Chart {
        x_numbers: Numbers::Whole,
        y_numbers: Numbers::Exponent,
        legend: SeriesLabelPosition::LowerLeft,
        ..Chart::BOOK
    };
}

/// The range of an axis, with numbers on it: `lo..hi` for a linear axis,
/// `(lo..hi).log_scale()` for a logarithmic one. (A name for plotters' bounds,
/// which every range of `f64` meets.)
pub(crate) trait Axis:
    AsRangedCoord<Value = f64, CoordDescType: ValueFormatter<f64>>
{
}

impl<R> Axis for R
where
    R: AsRangedCoord<Value = f64>,
    R::CoordDescType: ValueFormatter<f64>,
{
}

impl Chart<'_> {
    /// Sets the chart up on `area` with the axis ranges `x` and `y` and draws its
    /// caption, grid, numbers and axis descriptions; the curves come next.
    pub(crate) fn on<'b, 's, X, Y>(
        &self,
        figure: &'static str,
        area: &'b DrawingArea<SVGBackend<'s>, Shift>,
        x: X,
        y: Y,
    ) -> Result<Plot<'b, 's, X::CoordDescType, Y::CoordDescType>, FigureError>
    where
        X: Axis,
        Y: Axis,
    {
        let mut builder = ChartBuilder::on(area);
        if !self.caption.is_empty() {
            builder.caption(self.caption, (FAMILY, self.text.caption));
        }
        builder.margin(self.margin);
        if let Some(right) = self.margin_right {
            builder.margin_right(right);
        }
        let mut plot = builder
            .x_label_area_size(self.label_areas.0)
            .y_label_area_size(self.label_areas.1)
            .build_cartesian_2d(x, y)
            .map_err(fail(figure))?;

        let (write_x, write_y) = (self.x_numbers.writer(), self.y_numbers.writer());
        let mut mesh = plot.configure_mesh();
        if self.grid {
            mesh.light_line_style(RGBColor(235, 235, 235));
        } else {
            mesh.disable_mesh();
        }
        mesh.label_style((FAMILY, self.text.numbers));
        if let Some(n) = self.x_labels {
            mesh.x_labels(n);
        }
        if let Some(write) = &write_x {
            mesh.x_label_formatter(write);
        }
        if let Some(write) = &write_y {
            mesh.y_label_formatter(write);
        }
        if !self.x_desc.is_empty() {
            mesh.x_desc(self.x_desc);
        }
        if !self.y_desc.is_empty() {
            mesh.y_desc(self.y_desc);
        }
        mesh.axis_desc_style((FAMILY, self.text.descriptions))
            .draw()
            .map_err(fail(figure))?;
        Ok(plot)
    }

    /// The whole figure: this chart with each series drawn as a coloured line,
    /// and the legend.
    pub(crate) fn figure<X, Y>(
        &self,
        figure: &'static str,
        x: X,
        y: Y,
        series: Vec<Series<'_, f64, f64>>,
    ) -> Result<Figure, FigureError>
    where
        X: Axis,
        Y: Axis,
    {
        self.figure_over(figure, x, y, |_| Ok(()), series)
    }

    /// Like [`Chart::figure`], with `under` drawn before the lines (level curves,
    /// markers), so the lines and the legend stay on top.
    pub(crate) fn figure_over<X, Y>(
        &self,
        figure: &'static str,
        x: X,
        y: Y,
        under: impl FnOnce(
            &mut Plot<'_, '_, X::CoordDescType, Y::CoordDescType>,
        ) -> Result<(), FigureError>,
        series: Vec<Series<'_, f64, f64>>,
    ) -> Result<Figure, FigureError>
    where
        X: Axis,
        Y: Axis,
    {
        svg(figure, self.size, |root| {
            let mut plot = self.on(figure, root, x, y)?;
            under(&mut plot)?;
            lines_with_legend(&mut plot, series, self.legend.clone(), figure)
        })
    }
}

/// An SVG figure of `size` pixels: a white canvas handed to `draw`, then written
/// out as text.
pub(crate) fn svg(
    figure: &'static str,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), FigureError>,
) -> Result<Figure, FigureError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(fail(figure))?;
        draw(&root)?;
        root.present().map_err(fail(figure))?;
    }
    Ok(Figure { name: figure, svg })
}

/// Draws each `(label, points)` series as a coloured line and the legend box, at
/// `position`.
pub(crate) fn lines_with_legend<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    series: Vec<Series<'_, X::ValueType, Y::ValueType>>,
    position: SeriesLabelPosition,
    figure: &'static str,
) -> Result<(), FigureError>
where
    DB: DrawingBackend + 'a,
    X: Ranged,
    Y: Ranged,
    X::ValueType: Clone + 'static,
    Y::ValueType: Clone + 'static,
{
    for (k, (label, points)) in series.into_iter().enumerate() {
        let c = colour(k);
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(2)))
            .map_err(fail(figure))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .label_font((FAMILY, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(position)
        .draw()
        .map_err(fail(figure))
}
