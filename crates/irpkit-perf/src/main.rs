//! `irpkit-perf`: runs every benchmark workload of the repository against its peer and
//! writes the performance report.
//!
//! ```text
//! cargo perf                  # writes docs/PERFORMANCE.md and docs/perf-growth.svg
//! cargo perf --quick          # small smoke run, written to the temp directory
//! cargo perf --out-dir DIR
//! ```
//!
//! `cargo perf` is the workspace's alias (`.cargo/config.toml`) for `cargo run --release
//! -p irpkit-perf --`, built with every function aligned to 64 bytes in `target/perf/` so
//! that where unrelated code places a hot function does not move the figures.

use std::path::PathBuf;
use std::process::ExitCode;

use irpkit_perf::report::{self, Environment, Plan};

#[global_allocator]
static ALLOC: irpkit_perf::alloc::Counting = irpkit_perf::alloc::Counting;

const SVG_NAME: &str = "perf-growth.svg";
const REPORT_NAME: &str = "PERFORMANCE.md";

fn usage() -> &'static str {
    "usage: irpkit-perf [--quick] [--out-dir DIR]\n\
     \n\
     Runs every benchmark workload against its peer, interleaved, and writes PERFORMANCE.md\n\
     and perf-growth.svg to DIR (default: the repository's docs/; with --quick: a directory\n\
     in the system's temporary directory, and the report is also printed)."
}

fn main() -> ExitCode {
    let mut quick = false;
    let mut out_dir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--out-dir" => match args.next() {
                Some(d) => out_dir = Some(PathBuf::from(d)),
                None => {
                    eprintln!("--out-dir needs a directory\n\n{}", usage());
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{}", usage());
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other:?}\n\n{}", usage());
                return ExitCode::from(2);
            }
        }
    }
    if !irpkit_perf::alloc::installed() {
        eprintln!("irpkit-perf: the counting allocator is not installed");
        return ExitCode::FAILURE;
    }
    let out_dir = out_dir.unwrap_or_else(|| {
        if quick {
            std::env::temp_dir().join("irpkit-perf-quick")
        } else {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs")
        }
    });
    let plan = if quick { Plan::quick() } else { Plan::full() };
    let env = Environment::detect();
    eprintln!("irpkit-perf: {} mode, {} cores, {}", if quick { "quick" } else { "full" }, env.cores, env.profile);
    let results = report::run(&plan);
    let markdown = report::render(&plan, &env, &results, SVG_NAME);
    let svg = report::growth_chart(&results.by_key).render();
    if let Err(e) = std::fs::create_dir_all(&out_dir)
        .and_then(|()| std::fs::write(out_dir.join(REPORT_NAME), &markdown))
        .and_then(|()| std::fs::write(out_dir.join(SVG_NAME), &svg))
    {
        eprintln!("irpkit-perf: cannot write to {}: {e}", out_dir.display());
        return ExitCode::FAILURE;
    }
    let out_dir = std::fs::canonicalize(&out_dir).unwrap_or(out_dir);
    if quick {
        println!("{markdown}");
    }
    eprintln!(
        "irpkit-perf: wrote {} and {} in {:.0} s",
        out_dir.join(REPORT_NAME).display(),
        out_dir.join(SVG_NAME).display(),
        results.elapsed.as_secs_f64()
    );
    ExitCode::SUCCESS
}
