//! `irpkit demo`: the bundled scenario, showing the mechanisms of both seed pages.
//!
//! 1. A pending-read device (the driver's own queue + a cancel routine): five reads; the
//!    hardware finishes some, two are cancelled while queued (IoCancelIrp returns TRUE,
//!    the cancel routine completes them), and one cancel comes too late (FALSE: the real
//!    result stands — cancellation is a request, not a guarantee).
//! 2. A serial device with a StartIo routine and a device queue, its "hardware" a timer
//!    and DPC, on a virtual clock: one cancel hits a queued IRP (the cancel routine removes
//!    it with KeRemoveEntryDeviceQueue), one hits `CurrentIrp` (the cancel routine only
//!    releases the lock; the StartIo path finishes it cancelled), the rest complete in
//!    order.
//!
//! 3. A device whose reads wait in a cancel-safe queue (IoCsq) and are served by a system
//!    worker thread: one read is cancelled in the queue (the library's cancel routine
//!    removes it, then it is completed), IRP_MJ_CLEANUP of one file object cancels that
//!    file's queued reads while the read the worker already holds finishes normally, and
//!    unloading waits on the remove lock.
//!
//! 4. The five-minute rule: a requester thread exits with a read outstanding on a
//!    well-behaved device (cancelled at once) and one on a device that never completes
//!    nor cancels: after five (virtual) minutes the I/O manager disassociates it and logs
//!    IO_DRIVER_CANCEL_TIMEOUT for the device; when the driver finally completes it, the
//!    completion is swallowed.
//!
//! Every request must be accounted for, no IRP may be left, and the verifier (record mode)
//! must report nothing; otherwise the command fails.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use irpkit::clock::VirtualClock;
use irpkit::nt::{describe_status, FileObject, IoStatusBlock, NtStatus};
use irpkit::safe::{create_device, create_start_io_device, Request, SentRequest};
use irpkit::verifier::{Report, VerifierMode};
use irpkit::Kernel;
use irpkit_samples::csq_worker::CsqWorker;
use irpkit_samples::pending_read::PendingRead;
use irpkit_samples::serial::{Serial, SerialConfig};

/// Every request of the demo, with what happened to it.
#[derive(Default)]
struct Tracker {
    sent: Vec<(String, String, SentRequest)>,
    stories: BTreeMap<(String, u64), String>,
    /// Requests issued by a requester thread: device, label, final status (`None`:
    /// disassociated, nothing delivered), what happened.
    requested: Vec<(String, String, Option<IoStatusBlock>, String)>,
}

impl Tracker {
    fn send(
        &mut self,
        out: &mut impl Write,
        device: &str,
        req: Request,
        op: String,
        at: Option<Duration>,
    ) -> std::io::Result<u64> {
        let s = req.send();
        let id = s.id();
        writeln!(
            out,
            "  {}sent IRP #{id:<2} {op:<16} dispatch returned {}",
            stamp(at),
            describe_status(s.dispatch_status())
        )?;
        self.sent.push((device.to_string(), op, s));
        Ok(id)
    }
    fn story(&mut self, device: &str, id: u64, text: impl Into<String>) {
        let text = text.into();
        self.stories.entry((device.to_string(), id)).and_modify(|s| *s = format!("{s}; {text}")).or_insert(text);
    }
    fn cancel(
        &mut self,
        out: &mut impl Write,
        device: &str,
        idx: usize,
        at: Option<Duration>,
        what: &str,
    ) -> std::io::Result<bool> {
        let (_, _, s) = &self.sent[idx];
        let id = s.id();
        let called = s.cancel();
        writeln!(out, "  {}IoCancelIrp(IRP #{id}) returned {}  ({what})", stamp(at), upper(called))?;
        self.story(device, id, format!("{what}: IoCancelIrp returned {}", upper(called)));
        Ok(called)
    }
}

fn stamp(at: Option<Duration>) -> String {
    at.map(|t| format!("t={:>3} ms  ", t.as_millis())).unwrap_or_default()
}

fn upper(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}

/// Runs the demo, writing to `out`. Fails if a request is unaccounted for, an IRP is left
/// or the verifier reported anything.
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

fn pending_read_part(
    out: &mut impl Write,
    t: &mut Tracker,
) -> Result<(Kernel, Vec<Report>), Box<dyn std::error::Error>> {
    let kernel = Kernel::builder().verifier_mode(VerifierMode::Record).build();
    let _entered = kernel.enter();
    let device = create_device(&kernel, "PendingRead", PendingRead::new()).map_err(describe_status)?;
    let name = device.device_ref().name();
    writeln!(out, "1. {name}: reads wait in the driver's own queue with a cancel routine")?;
    let first = t.sent.len();
    for i in 0..5i64 {
        let r = Request::read(&kernel, device.device_ref(), 512, i * 512).map_err(describe_status)?;
        t.send(out, &name, r, format!("read 512 @ {}", i * 512), None)?;
    }
    writeln!(out, "  {} reads wait in the queue", device.queued())?;
    let finish = |out: &mut dyn Write, t: &mut Tracker, bytes: u32, what: &str| -> std::io::Result<()> {
        if let Some(id) = device.complete_next(bytes) {
            writeln!(out, "  the device finished IRP #{id}")?;
            t.story(&name, id, what);
        }
        Ok(())
    };
    finish(out, t, 512, "finished by the device")?;
    t.cancel(out, &name, first + 1, None, "cancelled while queued")?;
    t.cancel(out, &name, first + 3, None, "cancelled while queued")?;
    finish(out, t, 256, "finished by the device (short read)")?;
    t.cancel(out, &name, first, None, "cancelled after it completed, too late")?;
    finish(out, t, 512, "finished by the device")?;
    let reports = kernel.verifier().take_reports();
    Ok((kernel, reports))
}

fn serial_part(out: &mut impl Write, t: &mut Tracker) -> Result<(Kernel, Vec<Report>), Box<dyn std::error::Error>> {
    let kernel = Kernel::builder().verifier_mode(VerifierMode::Record).clock(VirtualClock::new()).build();
    let _entered = kernel.enter();
    let transfer = Duration::from_millis(10);
    let device = create_start_io_device(
        &kernel,
        "Serial0",
        Serial::new(SerialConfig { transfer_time: transfer, ..SerialConfig::default() }),
    )
    .map_err(describe_status)?;
    device.configure(device.device_ref());
    let name = device.device_ref().name();
    writeln!(out)?;
    writeln!(
        out,
        "2. {name}: StartIo + device queue, a {} ms transfer per read (timer + DPC), virtual clock",
        transfer.as_millis()
    )?;
    let now = || Some(kernel.clock().now());
    let first = t.sent.len();
    for _ in 0..5 {
        let r = Request::read(&kernel, device.device_ref(), 64, 0).map_err(describe_status)?;
        let id = t.send(out, &name, r, "read 64".to_string(), now())?;
        let _ = id;
    }
    let current = t.sent[first].2.id();
    writeln!(
        out,
        "  {}IRP #{current} is CurrentIrp (in StartIo's hands); the others wait in the device queue",
        stamp(now())
    )?;
    t.cancel(out, &name, first + 2, now(), "cancelled while queued: removed with KeRemoveEntryDeviceQueue")?;
    kernel.advance(Duration::from_millis(4));
    t.cancel(
        out,
        &name,
        first,
        now(),
        "cancelled as CurrentIrp: the cancel routine only released the lock, the StartIo path finished it",
    )?;
    kernel.run_dpcs();
    writeln!(out, "  {}the DPC finished IRP #{current} (it saw Cancel) and started the next packet", stamp(now()))?;
    for _ in 0..3 {
        kernel.advance(transfer);
        writeln!(out, "  {}a transfer ended: the DPC completed CurrentIrp and started the next packet", stamp(now()))?;
    }
    for (dev, _, s) in &t.sent[first..] {
        if dev == &name && !t.stories.contains_key(&(name.clone(), s.id())) {
            t.stories.insert((name.clone(), s.id()), "transferred by StartIo + DPC".into());
        }
    }
    let busy = device.device_ref().is_busy();
    writeln!(out, "  {}device queue busy: {busy}", stamp(now()))?;
    let reports = kernel.verifier().take_reports();
    Ok((kernel, reports))
}

fn csq_part(out: &mut impl Write, t: &mut Tracker) -> Result<(Kernel, Vec<Report>), Box<dyn std::error::Error>> {
    let kernel = Kernel::builder().verifier_mode(VerifierMode::Record).clock(VirtualClock::new()).build();
    let _entered = kernel.enter();
    let transfer = Duration::from_millis(10);
    let device = std::sync::Arc::new(
        create_device(&kernel, "CsqWorker0", CsqWorker::new(transfer, Duration::ZERO)).map_err(describe_status)?,
    );
    CsqWorker::start(&device);
    let name = device.device_ref().name();
    writeln!(out)?;
    writeln!(
        out,
        "3. {name}: a cancel-safe queue (IoCsq) served by a system worker thread, {} ms per read",
        transfer.as_millis()
    )?;
    let (file_a, file_b): (*mut FileObject, *mut FileObject) =
        (std::ptr::without_provenance_mut(0xA000), std::ptr::without_provenance_mut(0xB000));
    let now = || Some(kernel.clock().now());
    let settle = |what: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !what() && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
    };
    let first = t.sent.len();
    let r = Request::read(&kernel, device.device_ref(), 32, 0).map_err(describe_status)?.file_object(file_a);
    t.send(out, &name, r, "read 32 (file A)".into(), now())?;
    settle(&|| device.queued() == 0);
    writeln!(
        out,
        "  {}the worker took IRP #{} off the queue and is transferring it",
        stamp(now()),
        t.sent[first].2.id()
    )?;
    for (f, label) in [(file_a, "read 32 (file A)"), (file_b, "read 32 (file B)"), (file_b, "read 32 (file B)")] {
        let r = Request::read(&kernel, device.device_ref(), 32, 0).map_err(describe_status)?.file_object(f);
        t.send(out, &name, r, label.into(), now())?;
    }
    writeln!(out, "  {}{} reads wait in the cancel-safe queue", stamp(now()), device.queued())?;
    t.cancel(
        out,
        &name,
        first + 3,
        now(),
        "cancelled in the queue: the library cancel routine removed it, then it was completed",
    )?;
    let cleanup = Request::new(&kernel, device.device_ref(), irpkit::nt::IRP_MJ_CLEANUP)
        .map_err(describe_status)?
        .file_object(file_a);
    let status = cleanup.send().wait().status;
    writeln!(out, "  {}IRP_MJ_CLEANUP for file A returned {}: file A's queued read was cancelled; the one the worker holds was not touched", stamp(now()), describe_status(status))?;
    t.story(&name, t.sent[first + 1].2.id(), "cancelled by IRP_MJ_CLEANUP of file A");
    t.story(
        &name,
        t.sent[first].2.id(),
        "already dequeued by the worker when file A was cleaned up: the worker completed it",
    );
    // Let virtual time run, a millisecond at a time, until the worker finished every read
    // (it arms its transfer timer on its own thread, whenever it gets there).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !t.sent[first..].iter().all(|(_, _, s)| s.try_result().is_some()) && std::time::Instant::now() < deadline {
        kernel.advance(Duration::from_millis(1));
        std::thread::sleep(Duration::from_micros(200));
    }
    writeln!(out, "  {}the worker finished its reads", stamp(now()))?;
    t.story(&name, t.sent[first + 2].2.id(), "transferred by the worker");
    // The worker is idle (waiting for work): unloading stops it and waits for the remove lock.
    device.shutdown();
    writeln!(out, "  {}unload: worker stopped, IoReleaseRemoveLockAndWait returned", stamp(now()))?;
    let reports = kernel.verifier().take_reports();
    Ok((kernel, reports))
}

fn thread_exit_part(
    out: &mut impl Write,
    t: &mut Tracker,
) -> Result<(Kernel, Vec<Report>), Box<dyn std::error::Error>> {
    use irpkit::io::{Overlapped, Process};
    use irpkit_samples::stubborn::Stubborn;
    let kernel = Kernel::builder().verifier_mode(VerifierMode::Record).clock(VirtualClock::new()).build();
    let _entered = kernel.enter();
    let _dpc = kernel.start_dpc_thread();
    let polite = create_device(&kernel, "PendingRead1", PendingRead::new()).map_err(describe_status)?;
    let stubborn = create_device(&kernel, "Stubborn0", Stubborn::new()).map_err(describe_status)?;
    writeln!(out)?;
    writeln!(out, "4. thread exit and the five-minute rule (virtual clock)")?;
    let process = Process::new(&kernel);
    let h_polite = process.open(polite.device_ref(), true).map_err(describe_status)?;
    let h_stubborn = process.open(stubborn.device_ref(), true).map_err(describe_status)?;
    let (a, b) = (Overlapped::new(), Overlapped::new());
    let thread = {
        let (p, a, b) = (process.clone(), a.clone(), b.clone());
        process.spawn(move |t| {
            let sa = t.read_overlapped(h_polite, 16, 0, &a);
            let sb = t.read_overlapped(h_stubborn, 16, 0, &b);
            let _ = p;
            (sa, sb)
        })
    };
    let (sa, sb) = thread.join().map_err(|_| "the requester thread panicked")?;
    writeln!(
        out,
        "  a thread read from {} ({}) and from {} ({}), then exited",
        polite.device_ref().name(),
        describe_status(sa.unwrap_or_else(|e| e)),
        stubborn.device_ref().name(),
        describe_status(sb.unwrap_or_else(|e| e))
    )?;
    writeln!(out, "  {}its exit cancelled both reads; the first was completed at once", stamp(Some(Duration::ZERO)))?;
    for e in kernel.event_log() {
        writeln!(
            out,
            "  {}nothing completed the other: disassociated, event log: 0x{:08X} {} for {} (IRP #{})",
            stamp(Some(e.at)),
            e.code,
            e.name,
            e.device,
            e.irp
        )?;
    }
    let finished = stubborn.finish_all(irpkit::nt::STATUS_SUCCESS);
    writeln!(
        out,
        "  {}the stubborn driver finally completed {finished} read(s): swallowed, nothing delivered",
        stamp(Some(kernel.clock().now()))
    )?;
    t.requested.push((
        polite.device_ref().name(),
        "read 16".into(),
        Some(a.status_block()),
        "cancelled by the thread's exit".into(),
    ));
    let delivered = b.is_signalled().then(|| b.status_block());
    t.requested.push((
        stubborn.device_ref().name(),
        "read 16".into(),
        delivered,
        "disassociated after 5 minutes, IO_DRIVER_CANCEL_TIMEOUT logged; its late completion was swallowed".into(),
    ));
    process.terminate();
    let reports = kernel.verifier().take_reports();
    Ok((kernel, reports))
}

fn run_inner(out: &mut impl Write) -> Result<bool, Box<dyn std::error::Error>> {
    let mut t = Tracker::default();
    writeln!(out, "irpkit demo: the NT cancellation machinery on sample devices\n")?;
    let (k1, mut reports) = pending_read_part(out, &mut t)?;
    let (k2, r2) = serial_part(out, &mut t)?;
    reports.extend(r2);
    let (k3, r3) = csq_part(out, &mut t)?;
    reports.extend(r3);
    let (k4, r4) = thread_exit_part(out, &mut t)?;
    reports.extend(r4);

    writeln!(out)?;
    writeln!(
        out,
        "  {:<20} {:<9} {:<16} {:<30} {:>5}  what happened",
        "device", "request", "operation", "final status", "bytes"
    )?;
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut unaccounted = 0;
    let total = t.sent.len();
    for (device, op, s) in std::mem::take(&mut t.sent) {
        let id = s.id();
        let story = t.stories.remove(&(device.clone(), id)).unwrap_or_default();
        match s.try_result() {
            Some(IoStatusBlock { status, information }) => {
                writeln!(
                    out,
                    "  {device:<20} IRP #{id:<4} {op:<16} {:<30} {information:>5}  {story}",
                    describe_status(status)
                )?;
                *by_status.entry(describe_status(status as NtStatus)).or_default() += 1;
            }
            None => {
                writeln!(out, "  {device:<20} IRP #{id:<4} {op:<16} {:<30} {:>5}  NOT COMPLETED", "-", "-")?;
                unaccounted += 1;
            }
        }
    }
    let mut total = total;
    for (device, op, result, story) in std::mem::take(&mut t.requested) {
        total += 1;
        match result {
            Some(IoStatusBlock { status, information }) => {
                writeln!(
                    out,
                    "  {device:<20} {:<9} {op:<16} {:<30} {information:>5}  {story}",
                    "thread",
                    describe_status(status)
                )?;
                *by_status.entry(describe_status(status)).or_default() += 1;
            }
            None => {
                writeln!(out, "  {device:<20} {:<9} {op:<16} {:<30} {:>5}  {story}", "thread", "(disassociated)", "-")?;
                *by_status.entry("disassociated".to_string()).or_default() += 1;
            }
        }
    }
    for r in &reports {
        writeln!(out, "\n{r}")?;
    }
    let outstanding = k1.irps_outstanding() + k2.irps_outstanding() + k3.irps_outstanding() + k4.irps_outstanding();
    writeln!(out)?;
    let statuses: Vec<String> = by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
    writeln!(
        out,
        "summary: {total} requests: {}; unaccounted: {unaccounted}; IRPs outstanding: {outstanding}; verifier reports: {}",
        statuses.join(", "),
        reports.len()
    )?;
    Ok(unaccounted == 0 && outstanding == 0 && reports.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_accounts_for_every_request() {
        let mut out = Vec::new();
        let code = super::run(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(code, std::process::ExitCode::SUCCESS, "{text}");
        assert!(
            text.contains("summary: 16 requests: 7 STATUS_CANCELLED (0xC0000120), 8 STATUS_SUCCESS (0x00000000), 1 disassociated; unaccounted: 0; IRPs outstanding: 0; verifier reports: 0"),
            "{text}"
        );
        assert!(text.contains("IoCancelIrp(IRP #2) returned TRUE  (cancelled while queued)"), "{text}");
        assert!(text.contains("returned FALSE  (cancelled after it completed, too late)"), "{text}");
        assert!(text.contains("cancelled as CurrentIrp"), "{text}");
        assert!(text.contains("device queue busy: false"), "{text}");
        assert!(text.contains("cancelled by IRP_MJ_CLEANUP of file A"), "{text}");
        assert!(text.contains("IoReleaseRemoveLockAndWait returned"), "{text}");
        assert!(text.contains("0x80040036 IO_DRIVER_CANCEL_TIMEOUT for \\Device\\Stubborn0"), "{text}");
        assert!(text.contains("(disassociated)"), "{text}");
    }
}
