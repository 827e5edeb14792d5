//! The `irpkit` command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;
mod explore;

/// irpkit: the Windows NT I/O cancellation machinery, runnable anywhere.
#[derive(Debug, Parser)]
#[command(name = "irpkit", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the bundled scenario (scenarios/demo.toml: every cancellation mechanism at
    /// once) on the sample drivers, shows what happened to every request, and writes
    /// its timeline (a Chrome trace and an HTML page). Exit code 1 when a request is
    /// unaccounted for, an expectation fails or the verifier reports anything.
    Demo(demo::DemoArgs),
    /// Runs a scenario file (TOML; see scenarios/README.md) and shows what happened to
    /// every request. Exit code 1 when an expectation fails, a request is unaccounted for
    /// or the run does not finish; 2 when the file is malformed.
    Run {
        /// The scenario file.
        file: std::path::PathBuf,
        /// Print the machine-readable summary (format `irpkit-run/1`) instead of the table.
        #[arg(long)]
        json: bool,
        /// Override the file's seed (the schedule on the virtual clock, the random
        /// workload).
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        outputs: Outputs,
    },
    /// Lists the rules the verifier checks, with their Windows codes.
    Rules {
        /// Print the rules as JSON (format `irpkit-rules/1`) instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Runs catalog scenarios or scenario files many times under a controlled scheduler
    /// (random and PCT schedules, or every schedule with at most K preemptions), stops at
    /// the first violation, shrinks its schedule and saves it. Exit code 1 when a violation
    /// was found, 2 on bad input.
    Explore(explore::ExploreArgs),
    /// Replays a saved schedule and prints the interleaving step by step. Exit code 1
    /// when the saved violation does not happen again.
    Replay {
        /// The schedule file `irpkit explore` wrote.
        file: std::path::PathBuf,
        /// Print the replay as JSON (format `irpkit-replay/1`: the outcome and every step)
        /// instead of the step listing.
        #[arg(long)]
        json: bool,
        /// The replayed interleaving as a timeline, the verifier's reports marked where
        /// they were filed.
        #[command(flatten)]
        outputs: Outputs,
    },
}

/// Where to write the run's timeline.
#[derive(Debug, clap::Args, Default)]
struct Outputs {
    /// Write the timeline as Chrome trace-event JSON (open it in https://ui.perfetto.dev
    /// or chrome://tracing): a track per IRP, per thread and for DPCs, with flow arrows
    /// from each cancel request to the delivery.
    #[arg(long, value_name = "FILE")]
    trace: Option<std::path::PathBuf>,
    /// Write one self-contained HTML page (no network) with the summary and the timeline.
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => demo::run(&args, &mut std::io::stdout()),
        Command::Run { file, json, seed, outputs } => run_cmd(&file, json, seed, &outputs, &mut std::io::stdout()),
        Command::Rules { json } => {
            print_rules(json, &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Explore(args) => explore::explore_cmd(&args, &mut std::io::stdout()),
        Command::Replay { file, json, outputs } => explore::replay_cmd(
            &file,
            json,
            (outputs.trace.as_deref(), outputs.html.as_deref()),
            &mut std::io::stdout(),
        ),
    }
}

fn run_cmd(
    file: &std::path::Path,
    json: bool,
    seed: Option<u64>,
    outputs: &Outputs,
    out: &mut impl std::io::Write,
) -> ExitCode {
    use irpkit_cli::scenario::run;
    let mut scenario = match irpkit_cli::scenario::load(file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("irpkit run: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    // C drivers are built once, before the run; a driver that does not build, load or
    // make its device is bad input.
    let drivers = match run::build_drivers(&scenario) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("irpkit run: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    for (driver, warnings) in drivers.warnings() {
        eprintln!("irpkit run: {}: C driver `{driver}` built with warnings:\n{}", file.display(), warnings.trim_end());
    }
    let summary = match run::run_built(&scenario, &drivers) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("irpkit run: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let written = if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&summary.to_json()).unwrap_or_default())
    } else {
        summary.write_table(out)
    };
    if let Err(e) = written {
        eprintln!("irpkit run: cannot write the summary: {e}");
        return ExitCode::from(2);
    }
    if let Err(e) = irpkit_cli::timeline::write_run_outputs(&summary, outputs.trace.as_deref(), outputs.html.as_deref())
    {
        eprintln!("irpkit run: {e}");
        return ExitCode::from(2);
    }
    if summary.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_rules(json: bool, out: &mut impl std::io::Write) {
    use irpkit::verifier::Rule;
    if json {
        let rules: Vec<serde_json::Value> = Rule::ALL
            .iter()
            .map(|rule| {
                let b = rule.bugcheck();
                serde_json::json!({
                    "id": rule.id(),
                    "title": rule.title(),
                    "bugcheck": b.map(|b| serde_json::json!({
                        "code": b.code, "name": b.name, "subcode": b.subcode, "text": b.to_string(),
                    })),
                    "documentation": rule.doc_url(),
                    "fix": rule.fix(),
                })
            })
            .collect();
        let doc = serde_json::json!({"format": "irpkit-rules/1", "rules": rules});
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return;
    }
    let _ = writeln!(out, "{:<32} {:<48} rule", "id", "Windows code");
    for rule in Rule::ALL {
        let code = rule.bugcheck().map(|b| b.to_string()).unwrap_or_else(|| "-".to_string());
        let _ = writeln!(out, "{:<32} {:<48} {}", rule.id(), code, rule.title());
    }
}
