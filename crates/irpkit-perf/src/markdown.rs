//! Markdown tables and the number formats of the report.

use std::fmt::Write as _;

/// A GitHub-flavoured markdown table.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Table { headers: headers.into_iter().map(Into::into).collect(), rows: Vec::new() }
    }

    /// Appends a row; it must have one cell per column.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        let cells: Vec<String> = cells.into_iter().map(Into::into).collect();
        assert_eq!(cells.len(), self.headers.len(), "a row needs one cell per column");
        self.rows.push(cells);
        self
    }

    /// Number of rows (the header row not counted).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as markdown, one line per row, ending with a newline. Pipes inside cells
    /// are escaped.
    pub fn render(&self) -> String {
        let line = |cells: &[String]| {
            let mut s = String::from("|");
            for c in cells {
                let _ = write!(s, " {} |", c.replace('|', "\\|"));
            }
            s.push('\n');
            s
        };
        let mut out = line(&self.headers);
        out.push('|');
        for _ in &self.headers {
            out.push_str("---|");
        }
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r));
        }
        out
    }
}

/// A duration in nanoseconds with a unit that keeps three or four significant digits:
/// `48.6 ns`, `1.25 µs`, `430 µs`, `2.31 ms`, `1.20 s`.
pub fn duration_ns(ns: f64) -> String {
    let (v, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else if v >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

/// [`duration_ns`] without trailing zeros after the decimal point: `1 µs`, `2.5 µs`
/// (for chart labels).
pub fn duration_ns_short(ns: f64) -> String {
    let s = duration_ns(ns);
    match s.split_once(' ') {
        Some((num, unit)) if num.contains('.') => {
            format!("{} {unit}", num.trim_end_matches('0').trim_end_matches('.'))
        }
        _ => s,
    }
}

/// A ratio with two decimals, or two significant digits below 0.1: `1.30`, `0.0010`.
pub fn ratio_number(r: f64) -> String {
    if !r.is_finite() {
        "n/a".to_string()
    } else if r == 0.0 || r >= 0.1 {
        format!("{r:.2}")
    } else {
        let decimals = (1 - r.log10().floor() as i32).max(2) as usize;
        format!("{r:.decimals$}")
    }
}

/// A factor: `2.3`, `62`, `967` (two significant digits at least, no decimals past 10).
fn factor(f: f64) -> String {
    if f >= 10.0 {
        format!("{f:.0}")
    } else {
        format!("{f:.1}")
    }
}

/// A time ratio irpkit / peer, with how to read it: `0.55× (1.8× faster)`,
/// `1.30× (slower)`, `1.00× (parity)` within 3 %.
pub fn time_ratio(r: f64) -> String {
    if !r.is_finite() {
        return "n/a".to_string();
    }
    if (r - 1.0).abs() <= 0.03 {
        format!("{}× (parity)", ratio_number(r))
    } else if r < 1.0 {
        format!("{}× ({}× faster)", ratio_number(r), factor(1.0 / r))
    } else {
        format!("{}× (slower)", ratio_number(r))
    }
}

/// A count per request with two decimals (`0.00`, `3.03`).
pub fn per_request(v: f64) -> String {
    format!("{v:.2}")
}
