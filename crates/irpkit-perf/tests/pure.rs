//! The report's pure logic: percentiles, medians and ratios, the markdown table, the SVG
//! chart, dates and labels, the alternation order of the runner, and the parsing of the
//! shuttle binary's output.

use std::time::Duration;

use irpkit_perf::explorer::ShuttleRun;
use irpkit_perf::markdown::{duration_ns, duration_ns_short, ratio_number, time_ratio, Table};
use irpkit_perf::report::{count_label, growth_chart};
use irpkit_perf::runner::alternate;
use irpkit_perf::stats::{median, paired_ratio, percentile, Percentiles};
use irpkit_perf::svg::{escape, power_of_ten, LogLogChart, Series};
use irpkit_perf::sysinfo::civil_from_days;

#[test]
fn percentiles_use_the_nearest_rank() {
    let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
    assert_eq!(percentile(&samples, 50.0), Some(50.0));
    assert_eq!(percentile(&samples, 90.0), Some(90.0));
    assert_eq!(percentile(&samples, 99.0), Some(99.0));
    assert_eq!(percentile(&samples, 100.0), Some(100.0));
    assert_eq!(percentile(&samples, 0.0), Some(1.0));
    assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
    assert_eq!(percentile(&[], 50.0), None);
    let p = Percentiles::of(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
    assert_eq!((p.p50, p.p90, p.p99, p.max), (3.0, 5.0, 5.0, 5.0));
    assert!(Percentiles::of(&[]).is_none());
}

#[test]
fn medians_and_paired_ratios() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    assert_eq!(median(&[]), None);
    // Round by round: 2/1, 4/2, 9/3 → median 2.
    assert_eq!(paired_ratio(&[2.0, 4.0, 9.0], &[1.0, 2.0, 3.0]), Some(2.0));
    // A zero peer sample is skipped rather than dividing by it.
    assert_eq!(paired_ratio(&[1.0, 3.0], &[0.0, 3.0]), Some(1.0));
}

#[test]
fn markdown_table_renders_header_separator_and_rows() {
    let mut t = Table::new(["workload", "ratio"]);
    t.row(["a | b", "1.00×"]).row(["c", "2.00×"]);
    assert_eq!(t.len(), 2);
    assert_eq!(t.render(), "| workload | ratio |\n|---|---|\n| a \\| b | 1.00× |\n| c | 2.00× |\n");
    assert!(Table::new(["x"]).is_empty());
}

#[test]
#[should_panic(expected = "one cell per column")]
fn markdown_rows_need_one_cell_per_column() {
    Table::new(["a", "b"]).row(["only one"]);
}

#[test]
fn number_formats() {
    assert_eq!(duration_ns(48.64), "48.6 ns");
    assert_eq!(duration_ns(1_250.0), "1.25 µs");
    assert_eq!(duration_ns(430_000.0), "430 µs");
    assert_eq!(duration_ns(2_310_000_000.0), "2.31 s");
    assert_eq!(duration_ns_short(1_000.0), "1 µs");
    assert_eq!(duration_ns_short(2_500.0), "2.5 µs");
    assert_eq!(duration_ns_short(100_000.0), "100 µs");
    assert_eq!(time_ratio(0.5), "0.50× (2.0× faster)");
    assert_eq!(time_ratio(1.3), "1.30× (slower)");
    assert_eq!(time_ratio(1.01), "1.01× (parity)");
    assert_eq!(time_ratio(0.001034), "0.0010× (967× faster)");
    assert_eq!(time_ratio(0.0161), "0.016× (62× faster)");
    assert_eq!(ratio_number(0.0), "0.00");
    assert_eq!(ratio_number(2.224), "2.22");
    assert_eq!(count_label(100_000), "10⁵");
    assert_eq!(count_label(1_024), "1\u{202f}024");
    assert_eq!(power_of_ten(-2), "10⁻²");
}

#[test]
fn civil_dates() {
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    assert_eq!(civil_from_days(20_454), (2026, 1, 1));
    assert_eq!(civil_from_days(-1), (1969, 12, 31));
}

#[test]
fn alternation_rotates_the_first_contender() {
    let mut order = Vec::new();
    let samples = alternate(3, 3, |i| {
        order.push(i);
        i as f64
    });
    assert_eq!(order, [0, 1, 2, 1, 2, 0, 2, 0, 1]);
    assert_eq!(samples, vec![vec![0.0; 3], vec![1.0; 3], vec![2.0; 3]]);
}

/// A minimal XML well-formedness check: every tag closes in order, attributes are
/// quoted, and text has no bare `<` or `&` (entities only).
fn well_formed(xml: &str) -> Result<(), String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    let mut roots = 0;
    while let Some(start) = rest.find('<') {
        check_text(&rest[..start])?;
        let end = rest[start..].find('>').ok_or("unterminated tag")? + start;
        let tag = &rest[start + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().ok_or(format!("</{name}> closes nothing"))?;
            if open != name.trim() {
                return Err(format!("</{name}> closes <{open}>"));
            }
        } else {
            let self_closing = tag.ends_with('/');
            let body = tag.trim_end_matches('/');
            let name = body.split_whitespace().next().ok_or("empty tag")?.to_string();
            let attrs = &body[name.len()..];
            if attrs.matches('"').count() % 2 != 0 {
                return Err(format!("unbalanced quotes in <{name}>"));
            }
            check_text(&attrs.replace('<', "&lt;"))?;
            if stack.is_empty() {
                roots += 1;
            }
            if !self_closing {
                stack.push(name);
            }
        }
        rest = &rest[end + 1..];
    }
    check_text(rest)?;
    match (stack.is_empty(), roots) {
        (true, 1) => Ok(()),
        (false, _) => Err(format!("unclosed: {stack:?}")),
        _ => Err(format!("{roots} root elements")),
    }
}

fn check_text(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        let after = &rest[i + 1..];
        let semi = after.find(';').ok_or("bare &")?;
        if !["amp", "lt", "gt", "quot", "apos"].contains(&&after[..semi]) {
            return Err(format!("unknown entity &{};", &after[..semi]));
        }
        rest = &after[semi + 1..];
    }
    Ok(())
}

#[test]
fn growth_chart_is_well_formed_svg_with_every_point() {
    let by_key = [(1_000, 2_000.0, 9_000.0, 0.22), (10_000, 3_000.0, 80_000.0, 0.04), (100_000, 4_000.0, 1.2e6, 0.003)];
    let svg = growth_chart(&by_key).render();
    well_formed(&svg).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(svg.matches("<circle").count(), 6, "one marker per point");
    assert_eq!(svg.matches("<polyline").count(), 2, "one line per series");
    for label in ["irpkit KDEVICE_QUEUE with its key index", "plain sorted linked list", "10³", "10⁵", "1 µs", "1 ms"]
    {
        assert!(svg.contains(label), "{label} is in the chart");
    }
    assert!(svg.contains("entries queued (log)") && svg.contains("time per insert + remove (log)"));
}

#[test]
fn svg_escapes_text() {
    assert_eq!(escape(r#"a<b & "c">'"#), "a&lt;b &amp; &quot;c&quot;&gt;&apos;");
    let chart = LogLogChart {
        title: "<tricky> & \"quoted\"".to_string(),
        x_label: "x".to_string(),
        y_label: "y".to_string(),
        x_tick: |x| format!("{x}"),
        y_tick: |y| format!("{y}"),
        series: vec![Series {
            label: "a<b".to_string(),
            color: "red".to_string(),
            points: vec![(1.0, 1.0), (10.0, 5.0)],
        }],
    };
    let svg = chart.render();
    well_formed(&svg).unwrap();
    assert_eq!(svg.matches("<circle").count(), 2);
    assert!(well_formed("<svg><g></svg>").is_err(), "the checker rejects mismatched tags");
    assert!(well_formed("<svg>a & b</svg>").is_err(), "the checker rejects a bare ampersand");
}

#[test]
fn shuttle_output_is_parsed_line_by_line() {
    let out = "schedules 2000\nelapsed_ns 120000000\ndriver_won 1900\n";
    let run = ShuttleRun::parse(out).unwrap();
    assert_eq!(run, ShuttleRun { schedules: 2000, elapsed: Duration::from_millis(120), driver_won: 1900 });
    assert_eq!(run.ns_per_schedule(), 60_000.0);
    // Other lines (shuttle's own messages) are ignored; a missing or bad field is an error.
    assert!(ShuttleRun::parse(&format!("WARNING: something\n{out}")).is_ok());
    assert!(ShuttleRun::parse("schedules 10\nelapsed_ns 5\n").unwrap_err().contains("driver_won"));
    assert!(ShuttleRun::parse("schedules ten\nelapsed_ns 5\ndriver_won 1\n").unwrap_err().contains("schedules"));
    assert!(ShuttleRun::parse("schedules_total 3\n").is_err());
}
