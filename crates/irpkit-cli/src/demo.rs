//! `irpkit demo`: the bundled scenario.
//!
//! A pending-read device (cancel routine + the driver's own queue) receives five reads
//! from one creator:
//! - two are finished by the device's "hardware";
//! - two are cancelled while they wait in the queue (IoCancelIrp returns TRUE, the cancel
//!   routine completes them `STATUS_CANCELLED` / 0);
//! - one is cancelled after the device already finished it: IoCancelIrp returns FALSE and
//!   the real result stands (cancellation is a request, not a guarantee).
//!
//! Every request is accounted for and the verifier (record mode) must report nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use irpkit::nt::{describe_status, IoStatusBlock};
use irpkit::safe::{create_device, Request, SentRequest};
use irpkit::verifier::VerifierMode;
use irpkit::Kernel;
use irpkit_samples::pending_read::PendingRead;

struct Row {
    id: u64,
    operation: String,
    story: String,
    result: IoStatusBlock,
}

/// Runs the demo, writing to `out`. Fails if a request is unaccounted for or the verifier
/// reported anything.
pub(crate) fn run(out: &mut impl Write) -> ExitCode {
    match run_inner(out) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("irpkit demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_inner(out: &mut impl Write) -> Result<bool, Box<dyn std::error::Error>> {
    let kernel = Kernel::builder().verifier_mode(VerifierMode::Record).build();
    let _entered = kernel.enter();
    let device = create_device(&kernel, "PendingRead", PendingRead::new()).map_err(describe_status)?;

    writeln!(
        out,
        "irpkit demo: a pending-read device (cancel routine + its own queue) on {}",
        device.device_ref().name()
    )?;
    writeln!(out)?;

    let mut sent: Vec<(String, SentRequest)> = Vec::new();
    for i in 0..5i64 {
        let r = Request::read(&kernel, device.device_ref(), 512, i * 512).map_err(describe_status)?;
        let op = format!("read 512 @ {}", i * 512);
        let s = r.send();
        writeln!(
            out,
            "  sent   IRP #{:<3} {op:<16} dispatch returned {}",
            s.id(),
            describe_status(s.dispatch_status())
        )?;
        sent.push((op, s));
    }
    writeln!(out, "  {} reads wait in the device queue", device.queued())?;

    let mut stories: BTreeMap<u64, String> = BTreeMap::new();
    // The hardware finishes the oldest read.
    if let Some(id) = device.complete_next(512) {
        stories.insert(id, "finished by the device".into());
        writeln!(out, "  device finished IRP #{id}")?;
    }
    // The requester cancels two waiting reads.
    for idx in [1usize, 3] {
        let (_, s) = &sent[idx];
        let called = s.cancel();
        writeln!(out, "  IoCancelIrp(IRP #{}) returned {}", s.id(), upper(called))?;
        stories.insert(s.id(), format!("cancelled while queued (IoCancelIrp returned {})", upper(called)));
    }
    // The hardware finishes the next waiting read (the cancelled ones are gone).
    if let Some(id) = device.complete_next(256) {
        stories.insert(id, "finished by the device (short read)".into());
        writeln!(out, "  device finished IRP #{id}")?;
    }
    // A cancel that comes too late: the request has already completed.
    let (_, first) = &sent[0];
    let called = first.cancel();
    writeln!(out, "  IoCancelIrp(IRP #{}) after completion returned {}", first.id(), upper(called))?;
    stories
        .entry(first.id())
        .and_modify(|s| s.push_str(&format!("; a later cancel returned {} and changed nothing", upper(called))));
    // The last read is finished too.
    if let Some(id) = device.complete_next(512) {
        stories.insert(id, "finished by the device".into());
        writeln!(out, "  device finished IRP #{id}")?;
    }

    let mut rows = Vec::new();
    let mut unaccounted = 0;
    for (operation, s) in sent {
        let id = s.id();
        match s.wait_timeout(Some(std::time::Duration::from_secs(5))) {
            Ok(result) => rows.push(Row { id, operation, story: stories.remove(&id).unwrap_or_default(), result }),
            Err(_) => unaccounted += 1,
        }
    }

    writeln!(out)?;
    writeln!(
        out,
        "  {:<8} {:<16} {:<30} {:>11}  what happened",
        "request", "operation", "final status", "information"
    )?;
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        let status = describe_status(r.result.status);
        writeln!(
            out,
            "  IRP #{:<3} {:<16} {:<30} {:>11}  {}",
            r.id, r.operation, status, r.result.information, r.story
        )?;
        *by_status.entry(status).or_default() += 1;
    }
    let reports = kernel.verifier().take_reports();
    for r in &reports {
        writeln!(out, "\n{r}")?;
    }
    let outstanding = kernel.irps_outstanding();
    writeln!(out)?;
    let statuses: Vec<String> = by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
    writeln!(
        out,
        "summary: {} requests: {}; unaccounted: {unaccounted}; IRPs outstanding: {outstanding}; verifier reports: {}",
        rows.len() + unaccounted,
        statuses.join(", "),
        reports.len()
    )?;
    Ok(unaccounted == 0 && outstanding == 0 && reports.is_empty())
}

fn upper(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_accounts_for_every_request() {
        let mut out = Vec::new();
        let code = super::run(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(code, std::process::ExitCode::SUCCESS, "{text}");
        assert!(text.contains("summary: 5 requests: 2 STATUS_CANCELLED (0xC0000120), 3 STATUS_SUCCESS (0x00000000); unaccounted: 0; IRPs outstanding: 0; verifier reports: 0"), "{text}");
        assert!(text.contains("IoCancelIrp(IRP #2) returned TRUE"), "{text}");
        assert!(text.contains("after completion returned FALSE"), "{text}");
        assert!(text.contains("256  finished by the device (short read)"), "{text}");
    }
}
