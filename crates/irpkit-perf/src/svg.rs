//! A log-log line chart written as SVG by hand: decade grid lines with labels, one
//! polyline with point markers per series, a legend, axis titles.

use std::fmt::Write as _;

/// One line of the chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Its name in the legend.
    pub label: String,
    /// Its stroke and marker colour (any SVG colour).
    pub color: String,
    /// Its points `(x, y)`, both positive.
    pub points: Vec<(f64, f64)>,
}

/// A chart with logarithmic axes.
#[derive(Debug, Clone)]
pub struct LogLogChart {
    /// The title above the plot.
    pub title: String,
    /// The x axis title.
    pub x_label: String,
    /// The y axis title.
    pub y_label: String,
    /// Labels of the x decades (given the decade's value).
    pub x_tick: fn(f64) -> String,
    /// Labels of the y decades.
    pub y_tick: fn(f64) -> String,
    /// The lines.
    pub series: Vec<Series>,
}

/// Escapes text for SVG content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `10` with a superscript exponent: `10³`, `10⁻²`.
pub fn power_of_ten(exp: i32) -> String {
    const SUP: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut s = String::from("10");
    if exp < 0 {
        s.push('⁻');
    }
    for d in exp.unsigned_abs().to_string().chars() {
        s.push(SUP[d.to_digit(10).unwrap_or(0) as usize]);
    }
    s
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 460.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 70.0;

fn decades(values: impl Iterator<Item = f64>) -> (i32, i32) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| *v > 0.0 && v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0, 1);
    }
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    (a, if b > a { b } else { a + 1 })
}

impl LogLogChart {
    /// The chart as a standalone SVG document.
    pub fn render(&self) -> String {
        let points = || self.series.iter().flat_map(|s| s.points.iter().copied());
        let (x0, x1) = decades(points().map(|p| p.0));
        let (y0, y1) = decades(points().map(|p| p.1));
        let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
        let px = |x: f64| LEFT + (x.log10() - f64::from(x0)) / f64::from(x1 - x0) * pw;
        let py = |y: f64| TOP + ph - (y.log10() - f64::from(y0)) / f64::from(y1 - y0) * ph;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="24" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
            WIDTH / 2.0,
            escape(&self.title)
        );
        // Grid and decade labels.
        for e in x0..=x1 {
            let x = px(10f64.powi(e));
            let _ = writeln!(s, r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/>"##, TOP + ph);
            let _ = writeln!(
                s,
                r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                TOP + ph + 18.0,
                escape(&(self.x_tick)(10f64.powi(e)))
            );
        }
        for e in y0..=y1 {
            let y = py(10f64.powi(e));
            let _ = writeln!(s, r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/>"##, LEFT + pw);
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                LEFT - 8.0,
                y + 4.0,
                escape(&(self.y_tick)(10f64.powi(e)))
            );
        }
        let _ = writeln!(s, r#"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + pw / 2.0,
            HEIGHT - 20.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text x="20" y="{:.1}" text-anchor="middle" transform="rotate(-90 20 {:.1})">{}</text>"#,
            TOP + ph / 2.0,
            TOP + ph / 2.0,
            escape(&self.y_label)
        );
        // The series.
        for series in &self.series {
            let color = escape(&series.color);
            let pts: Vec<String> = series.points.iter().map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y))).collect();
            let _ =
                writeln!(s, r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#, pts.join(" "));
            for &(x, y) in &series.points {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{color}"><title>{}: {} → {}</title></circle>"#,
                    px(x),
                    py(y),
                    escape(&series.label),
                    escape(&(self.x_tick)(x)),
                    escape(&(self.y_tick)(y))
                );
            }
        }
        // Legend, top left inside the plot.
        let _ = writeln!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="330" height="{:.1}" fill="white" stroke="#999"/>"##,
            LEFT + 10.0,
            TOP + 10.0,
            10.0 + 20.0 * self.series.len() as f64
        );
        for (i, series) in self.series.iter().enumerate() {
            let y = TOP + 25.0 + 20.0 * i as f64;
            let _ = writeln!(
                s,
                r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="2"/>"#,
                LEFT + 20.0,
                LEFT + 45.0,
                escape(&series.color)
            );
            let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}">{}</text>"#, LEFT + 52.0, y + 4.0, escape(&series.label));
        }
        s.push_str("</svg>\n");
        s
    }
}
