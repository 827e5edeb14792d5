//! `irpkit demo`: the bundled scenario (`scenarios/demo.toml`, compiled in) on the sample
//! drivers — every mechanism of Microsoft's "Canceling IRPs" and "Cancel Routines in
//! Drivers with StartIo Routines" pages at once — with its summary, and its timeline
//! written as a Chrome trace and an HTML page.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use irpkit_cli::scenario::{self, run::RunSummary};

/// The bundled scenario.
pub(crate) const DEMO_TOML: &str = include_str!("../../../scenarios/demo.toml");

/// `irpkit demo`'s options.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Print the machine-readable summary (format `irpkit-run/1`) instead of the table.
    #[arg(long)]
    json: bool,
    /// Where to write the timeline as Chrome trace-event JSON (open it in
    /// https://ui.perfetto.dev or chrome://tracing).
    #[arg(long, value_name = "FILE", default_value = "irpkit-demo.trace.json")]
    trace: PathBuf,
    /// Where to write the self-contained HTML page (summary and timeline).
    #[arg(long, value_name = "FILE", default_value = "irpkit-demo.html")]
    html: PathBuf,
    /// Write no files; only print the summary.
    #[arg(long)]
    no_files: bool,
}

const GUIDE: &str = "\
The bundled scenario (scenarios/demo.toml) runs four sample drivers on the virtual clock,
all at once, one requester process with six threads:
  on-hardware, queued   serial (StartIo, device queue, timer + DPC hardware): CancelIoEx of the
                        request on the hardware (its cancel routine leaves CurrentIrp to the
                        DPC) and of a queued one (removed from the device queue); `served` goes on
  in-time, too-slow     pending-read (own queue + cancel routine), two handles to one file:
                        a per-request timeout cancels the slow read
  a1..a3, b1, b2        csq-worker (cancel-safe queue + worker thread): closing handle a sends
                        IRP_MJ_CLEANUP, which completes a's queued reads; CancelIo cancels b's
  sync-read             a synchronous read, its thread blocked until CancelSynchronousIo
  exit-cancelled        thread exit cancels the exiting thread's reads...
  abandoned             ...but the stubborn driver neither completes nor cancels: after five
                        (virtual) minutes the I/O manager disassociates it and logs
                        IO_DRIVER_CANCEL_TIMEOUT
";

/// Runs the demo; exit code as `irpkit run`.
pub(crate) fn run(args: &DemoArgs, out: &mut impl Write) -> ExitCode {
    let spec = match scenario::parse(Path::new("scenarios/demo.toml (bundled)"), DEMO_TOML) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("irpkit demo: {e}");
            return ExitCode::from(2);
        }
    };
    let summary = scenario::run::run(&spec);
    match report(args, &summary, out) {
        Ok(()) if summary.ok() && summary.reports.is_empty() => ExitCode::SUCCESS,
        Ok(()) => ExitCode::from(1),
        Err(e) => {
            eprintln!("irpkit demo: {e}");
            ExitCode::from(2)
        }
    }
}

fn report(args: &DemoArgs, summary: &RunSummary, out: &mut impl Write) -> Result<(), String> {
    let io = |e: std::io::Error| format!("cannot write the summary: {e}");
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&summary.to_json()).unwrap_or_default()).map_err(io)?;
    } else {
        writeln!(out, "{GUIDE}").map_err(io)?;
        summary.write_table(out).map_err(io)?;
    }
    if args.no_files {
        return Ok(());
    }
    irpkit_cli::timeline::write_run_outputs(summary, Some(&args.trace), Some(&args.html))?;
    if !args.json {
        writeln!(
            out,
            "\ntimeline: {} (Chrome trace-event JSON: open it in https://ui.perfetto.dev) and {} (open it in a browser)",
            args.trace.display(),
            args.html.display()
        )
        .map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_accounts_for_every_request_and_writes_its_timeline() {
        let dir = std::env::temp_dir().join(format!("irpkit-demo-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let args = DemoArgs { json: false, trace: dir.join("t.json"), html: dir.join("t.html"), no_files: false };
        let mut out = Vec::new();
        let code = run(&args, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(code, ExitCode::SUCCESS, "{text}");
        assert!(text.contains("unaccounted: 0"), "{text}");
        assert!(text.contains("verifier reports: 0"), "{text}");
        assert!(text.contains("0x80040036 IO_DRIVER_CANCEL_TIMEOUT"), "{text}");
        assert!(!text.contains("FAILS"), "{text}");
        let trace: serde_json::Value = serde_json::from_slice(&std::fs::read(&args.trace).unwrap()).unwrap();
        assert!(trace["traceEvents"].as_array().is_some_and(|a| a.len() > 100));
        assert!(std::fs::read_to_string(&args.html).unwrap().contains("<svg"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
