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
    /// Runs the bundled scenario on the sample drivers and shows what happened to every
    /// request: completed, cancelled while queued, cancelled too late.
    Demo,
    /// Lists the rules the verifier checks, with their Windows codes.
    Rules,
    /// Runs catalog scenarios many times under a controlled scheduler (random and PCT
    /// schedules), stops at the first violation, shrinks its schedule and saves it.
    /// Exit code 1 when a violation was found.
    Explore(explore::ExploreArgs),
    /// Replays a saved schedule and prints the interleaving step by step. Exit code 1
    /// when the saved violation does not happen again.
    Replay {
        /// The schedule file `irpkit explore` wrote.
        file: std::path::PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo => demo::run(&mut std::io::stdout()),
        Command::Rules => {
            print_rules(&mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Explore(args) => explore::explore_cmd(&args, &mut std::io::stdout()),
        Command::Replay { file } => explore::replay_cmd(&file, &mut std::io::stdout()),
    }
}

fn print_rules(out: &mut impl std::io::Write) {
    use irpkit::verifier::Rule;
    let _ = writeln!(out, "{:<32} {:<48} rule", "id", "Windows code");
    for rule in Rule::ALL {
        let code = rule.bugcheck().map(|b| b.to_string()).unwrap_or_else(|| "-".to_string());
        let _ = writeln!(out, "{:<32} {:<48} {}", rule.id(), code, rule.title());
    }
}
