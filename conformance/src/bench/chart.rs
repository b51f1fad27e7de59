//! Two small SVG charts of a run, written by hand: a plotting crate would
//! cost more build time than these few lines.
//!
//! Rooms go on a logarithmic axis (the ladder grows by factors), and so
//! does latency, which spans a millisecond unloaded to hundreds at
//! saturation.

use std::fmt::Write;

/// One line of points.
pub struct Series<'a> {
    pub name: &'a str,
    pub colour: &'a str,
    pub points: Vec<(f64, f64)>,
    /// Points joined by a line; `false` for markers alone (a single
    /// measurement beside the ladder).
    pub line: bool,
}

/// A horizontal reference line (a baseline or a goal).
pub struct Level<'a> {
    pub name: String,
    pub colour: &'a str,
    pub y: f64,
}

/// A chart's axes and contents.
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub x_log: bool,
    pub y_label: &'a str,
    pub y_log: bool,
    pub series: Vec<Series<'a>>,
    pub levels: Vec<Level<'a>>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 110.0;

impl Chart<'_> {
    /// The chart as an SVG document.
    pub fn svg(&self) -> String {
        let xs: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .filter(|x| *x > 0.0 && x.is_finite())
            .collect();
        let ys: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .chain(self.levels.iter().map(|l| l.y))
            .filter(|y| y.is_finite() && (*y > 0.0 || !self.y_log))
            .collect();
        let (x_min, x_max) = bounds(&xs, 1.0);
        let x_axis = if self.x_log {
            Axis::log(x_min, x_max)
        } else {
            Axis::linear(0.0, x_max * 1.1)
        };
        let (y_min, y_max) = bounds(&ys, 1.0);
        let y_axis = if self.y_log {
            Axis::log(y_min, y_max)
        } else {
            Axis::linear(0.0, y_max * 1.1)
        };
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let px = |x: f64| LEFT + x_axis.fraction(x) * plot_w;
        let py = |y: f64| TOP + (1.0 - y_axis.fraction(y)) * plot_h;

        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
            WIDTH / 2.0,
            escape(self.title)
        );
        for tick in x_axis.ticks() {
            let x = px(tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                TOP + plot_h,
                TOP + plot_h + 16.0,
                label(tick)
            );
        }
        for tick in y_axis.ticks() {
            let y = py(tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + plot_w,
                LEFT - 6.0,
                y + 4.0,
                label(tick)
            );
        }
        let _ = writeln!(
            svg,
            r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>"##
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + plot_w / 2.0,
            TOP + plot_h + 34.0,
            escape(self.x_label)
        );
        let _ = writeln!(
            svg,
            r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            TOP + plot_h / 2.0,
            escape(self.y_label)
        );
        for level in &self.levels {
            let y = py(level.y);
            let _ = writeln!(
                svg,
                r#"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-dasharray="6 4"/>"#,
                LEFT + plot_w,
                level.colour
            );
        }
        for series in &self.series {
            let points: Vec<String> = series
                .points
                .iter()
                .filter(|(x, y)| *x > 0.0 && y.is_finite() && (*y > 0.0 || !self.y_log))
                .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
                .collect();
            if series.line && points.len() > 1 {
                let _ = writeln!(
                    svg,
                    r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
                    points.join(" "),
                    series.colour
                );
            }
            for p in &points {
                let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(
                    svg,
                    r#"<circle cx="{x}" cy="{y}" r="{}" fill="{}"/>"#,
                    if series.line { 3 } else { 5 },
                    series.colour
                );
            }
        }
        // The legend, under the plot: series, then reference lines.
        let entries = self
            .series
            .iter()
            .map(|s| (s.name.to_owned(), s.colour, false))
            .chain(self.levels.iter().map(|l| (l.name.clone(), l.colour, true)));
        for (i, (name, colour, dashed)) in entries.enumerate() {
            let x = LEFT + (i % 2) as f64 * plot_w / 2.0;
            let y = TOP + plot_h + 56.0 + (i / 2) as f64 * 18.0;
            let dash = if dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = writeln!(
                svg,
                r#"<line x1="{x:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"{dash}/><text x="{:.1}" y="{y:.1}">{}</text>"#,
                y - 4.0,
                x + 24.0,
                y - 4.0,
                x + 30.0,
                escape(&name)
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}

/// Smallest and largest of `values`, or `(fallback, fallback)`.
fn bounds(values: &[f64], fallback: f64) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if min.is_finite() && max.is_finite() {
        (min, max)
    } else {
        (fallback, fallback)
    }
}

/// A linear or base-10 logarithmic axis.
struct Axis {
    log: bool,
    low: f64,
    high: f64,
}

impl Axis {
    /// From the power of ten at or below `min` to the one at or above `max`.
    fn log(min: f64, max: f64) -> Self {
        let low = min.max(1e-9).log10().floor();
        let high = max.max(1e-9).log10().ceil().max(low + 1.0);
        Self {
            log: true,
            low,
            high,
        }
    }

    fn linear(low: f64, high: f64) -> Self {
        Self {
            log: false,
            low,
            high: if high > low { high } else { low + 1.0 },
        }
    }

    /// Where `v` falls, from 0 (low end) to 1.
    fn fraction(&self, v: f64) -> f64 {
        let v = if self.log { v.max(1e-9).log10() } else { v };
        ((v - self.low) / (self.high - self.low)).clamp(0.0, 1.0)
    }

    /// Ticks: the powers of ten and their doubles and fives on a log
    /// axis, about five round steps on a linear one.
    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let mut ticks = Vec::new();
            let mut exp = self.low;
            while exp <= self.high {
                let base = 10_f64.powf(exp);
                ticks.push(base);
                if exp < self.high {
                    ticks.extend([2.0 * base, 5.0 * base]);
                }
                exp += 1.0;
            }
            return ticks;
        }
        let raw = (self.high - self.low) / 5.0;
        let magnitude = 10_f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= raw)
            .unwrap_or(raw);
        let mut ticks = Vec::new();
        let mut t = (self.low / step).ceil() * step;
        while t <= self.high {
            ticks.push(t);
            t += step;
        }
        ticks
    }
}

/// A tick's label: no trailing zeros, thousands as `k`.
fn label(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}k", trim(v / 1000.0))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
