//! The WDM sample drivers in C (`drivers/`) on irpkit: each correct sample driven by
//! requester threads on the virtual clock with every request's final status asserted,
//! then explored over thousands of schedules with no violation; each buggy twin
//! (`drivers/bugs/`, the sample with one `IRPKIT_BUG_*` define) explored until the
//! verifier reports its catalog rule, and that schedule replayed to the same report.
//!
//! Every run loads fresh copies of the drivers (DriverEntry), and ends by unloading them
//! (DriverUnload): leftovers (IRPs, pool, timers, threads) would be verifier reports.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use irpkit::explore::Scenario;
use irpkit::io::Overlapped;
use irpkit::nt::{self, IoStatusBlock};
use irpkit::Kernel;
use irpkit_wdm::{DriverImage, LoadedDriver};

use common::*;

/// Schedules each correct sample is explored over (more with IRPKIT_WDM_SCHEDULES).
fn schedules() -> u64 {
    std::env::var("IRPKIT_WDM_SCHEDULES").ok().and_then(|s| s.parse().ok()).unwrap_or(2_000)
}

/// Schedules a twin's exploration may take to find its bug.
const TWIN_BUDGET: u64 = 1_000;

fn wait_all(ops: &[Overlapped]) {
    for o in ops {
        o.wait(Some(Duration::from_millis(20)));
    }
}

fn ops(n: usize) -> Arc<Vec<Overlapped>> {
    Arc::new((0..n).map(|_| Overlapped::new()).collect())
}

/// Sums of the unload counters over every run of an exploration: which paths it reached.
type Coverage = Arc<Mutex<BTreeMap<String, i64>>>;

fn add_coverage(coverage: &Coverage, counters: &BTreeMap<String, i64>) {
    let mut c = coverage.lock().unwrap();
    for (k, v) in counters {
        *c.entry(k.clone()).or_default() += v;
    }
}

fn assert_covered(coverage: &Coverage, what: &str, keys: &[&str]) {
    let c = coverage.lock().unwrap();
    for key in keys {
        assert!(c.get(*key).copied().unwrap_or(0) > 0, "{what}: no schedule reached `{key}`: {c:?}");
    }
}

// ------------------------------------------------------------------ the images

fn startio_image() -> DriverImage {
    build("IrpkitStartIo", "startio/startio.c", &[])
}

fn queue_image(period_ms: &str) -> DriverImage {
    build("IrpkitQueue", "queue/queue.c", &[("QUEUE_PERIOD_MS", period_ms)])
}

fn csq_image() -> DriverImage {
    build("IrpkitCsq", "csq/csq.c", &[])
}

fn filter_image(defines: &[(&str, &str)]) -> DriverImage {
    build("IrpkitFilter", "filter/filter.c", defines)
}

fn twin_image(name: &str, driver: &str, defines: &[(&str, &str)]) -> DriverImage {
    build(driver, &format!("bugs/{name}.c"), defines)
}

// ------------------------------------------------------------------ race workloads
//
// The same shape for every sample, on the virtual clock (the hardware takes 1 ms):
// - at 0 ms a reader thread issues requests on two handles (two file objects), and a
//   second thread issues one on the second handle and exits at once (its exit cancels it);
// - at 1 ms the reader issues one more, and the main thread cancels three with CancelIoEx
//   (one on the hardware or being finished by it, one being dispatched right now);
// - at 2 ms the second handle is closed (IRP_MJ_CLEANUP), racing the hardware again;
// - the reader waits for its requests (20 ms at most) and exits; the process ends; the
//   drivers are unloaded. Then: every request delivered exactly once, STATUS_SUCCESS
//   with its length or STATUS_CANCELLED with nothing, and the driver's own counters
//   (printed at unload) agree.

/// Requests 0..2 and 4.. go to the reader thread (0, 1 and 2 on the first handle, 2 at
/// 1 ms; the rest on the second), request 3 to the thread that exits at once.
fn race(
    kernel: &Kernel,
    path: &str,
    total: usize,
    issue: fn(&irpkit::io::RequesterThread, irpkit::io::Handle, &Overlapped) -> nt::NtStatus,
) -> Vec<Overlapped> {
    let dev = device(kernel, path);
    let p = process(kernel);
    let h1 = p.open(dev, true).expect("open");
    let h2 = p.open(dev, true).expect("open");
    let ops = ops(total);
    let reader = {
        let o = ops.clone();
        p.spawn(move |t| {
            issue(t, h1, &o[0]);
            issue(t, h1, &o[1]);
            for r in &o[4..] {
                issue(t, h2, r);
            }
            sleep_ms(1.0);
            issue(t, h1, &o[2]);
            wait_all(&o[..3]);
            wait_all(&o[4..]);
        })
    };
    let quitter = {
        let o = ops.clone();
        p.spawn(move |t| {
            issue(t, h2, &o[3]);
        })
    };
    sleep_ms(1.0);
    for o in &ops[..3] {
        let _ = p.cancel_io_ex(h1, Some(o));
    }
    sleep_ms(1.0);
    p.close(h2);
    reader.join().expect("the reader thread");
    quitter.join().expect("the quitting thread");
    p.close(h1);
    p.terminate();
    // The hardware goes quiet and the last IRP_MJ_CLOSE is delivered.
    sleep_ms(5.0);
    Arc::try_unwrap(ops).unwrap_or_else(|_| panic!("the requester threads are gone"))
}

fn startio_race(kernel: &Kernel, drivers: Vec<LoadedDriver>, coverage: &Coverage) {
    let ops = race(kernel, r"\\.\IrpkitStartIo", 5, read);
    unload_all(drivers);
    let (ok, cancelled) = check_all("startio", &ops);
    let c = unload_counters(kernel, "IrpkitStartIo");
    assert_eq!(c["transferred"], ok as i64, "startio: transfers vs successful reads: {c:?}");
    assert_eq!(
        c["cancelled-queued"] + c["cancelled-current"] + c["cancelled-before-start"],
        cancelled as i64,
        "startio: the driver's cancellations vs cancelled reads: {c:?}"
    );
    check_clean(kernel, "startio");
    add_coverage(coverage, &c);
}

fn queue_race(kernel: &Kernel, drivers: Vec<LoadedDriver>, coverage: &Coverage) {
    let ops = race(kernel, r"\\.\IrpkitQueue", 7, wait_notification);
    unload_all(drivers);
    let (ok, cancelled) = check_all("queue", &ops);
    let c = unload_counters(kernel, "IrpkitQueue");
    assert_eq!(c["notified"], ok as i64, "queue: notifications vs successful requests: {c:?}");
    assert_eq!(
        c["cancelled"] + c["cancelled-at-dispatch"] + c["cleaned-up"],
        cancelled as i64,
        "queue: the driver's cancellations vs cancelled requests: {c:?}"
    );
    assert_eq!(c["queued"] + c["cancelled-at-dispatch"], ops.len() as i64, "queue: every request reached the queue");
    check_clean(kernel, "queue");
    add_coverage(coverage, &c);
}

fn csq_counters_agree(kernel: &Kernel, ops: &[Overlapped]) -> BTreeMap<String, i64> {
    let (ok, cancelled) = check_all("csq", ops);
    let c = unload_counters(kernel, "IrpkitCsq");
    assert_eq!(c["transferred"], ok as i64, "csq: transfers vs successful reads: {c:?}");
    assert_eq!(
        c["stopped-by-cancel"] + c["cancelled"] + c["cleaned-up"],
        cancelled as i64,
        "csq: the driver's cancellations vs cancelled reads: {c:?}"
    );
    assert_eq!(c["refused"], 0, "csq: refused reads: {c:?}");
    c
}

/// The worker thread ended before DriverUnload went on: its last words come before
/// Unload's, and the kernel found no system thread of the driver running.
fn check_unload_waited_for_worker(kernel: &Kernel) {
    let lines: Vec<String> = kernel.debug_output().into_iter().map(|l| l.text).collect();
    let exiting = lines.iter().position(|l| l == "IrpkitCsq: worker thread exiting");
    let unloaded = lines.iter().position(|l| l.starts_with("IrpkitCsq: unload: worker thread ended"));
    match (exiting, unloaded) {
        (Some(a), Some(b)) => assert!(a < b, "csq: Unload went on before the worker ended: {lines:#?}"),
        _ => panic!("csq: the worker's exit or the unload is missing from the debug output: {lines:#?}"),
    }
    let running: Vec<_> =
        kernel.verifier().reports().into_iter().filter(|r| r.rule.id() == "unload-with-pending-operations").collect();
    assert!(running.is_empty(), "csq: {running:?}");
}

fn csq_race(kernel: &Kernel, drivers: Vec<LoadedDriver>, coverage: &Coverage) {
    let ops = race(kernel, r"\\.\IrpkitCsq", 6, read);
    unload_all(drivers);
    let c = csq_counters_agree(kernel, &ops);
    check_unload_waited_for_worker(kernel);
    check_clean(kernel, "csq");
    add_coverage(coverage, &c);
}

fn filter_race(kernel: &Kernel, drivers: Vec<LoadedDriver>, coverage: &Coverage) {
    let ops = race(kernel, r"\\.\IrpkitFilter", 6, read);
    unload_all(drivers);
    let lower = csq_counters_agree(kernel, &ops);
    let f = unload_counters(kernel, "IrpkitFilter");
    assert_eq!(f["succeeded"], lower["transferred"], "filter: reads seen succeeding: {f:?} {lower:?}");
    assert_eq!(f["cancelled"], ops.len() as i64 - lower["transferred"], "filter: reads seen cancelled: {f:?}");
    assert_eq!(f["failed"], 0, "filter: {f:?}");
    assert_eq!(f["synchronous"], 2, "filter: the two creates were forwarded synchronously: {f:?}");
    assert_eq!(f["skipped"], 4, "filter: two cleanups and two closes were skipped down: {f:?}");
    check_unload_waited_for_worker(kernel);
    check_clean(kernel, "filter");
    add_coverage(coverage, &f);
}

fn scenario_with(
    name: &str,
    images: Vec<DriverImage>,
    coverage: &Coverage,
    workload: fn(&Kernel, Vec<LoadedDriver>, &Coverage),
) -> Arc<dyn Scenario> {
    let coverage = coverage.clone();
    c_scenario(name, images, move |k, d| workload(k, d, &coverage))
}

// ------------------------------------------------------------------ directed runs

/// The StartIo sample, request by request: the current read cancelled (the DPC finishes
/// it), a queued one cancelled (the cancel routine finishes it), transfers in order, a
/// synchronous read, CancelIo of a queued read, a thread exit with its read on the
/// hardware, a zero-length read.
#[test]
fn startio_directed() {
    let scenario = c_scenario("startio-directed", vec![startio_image()], |kernel, drivers| {
        let dev = device(kernel, r"\\.\IrpkitStartIo");
        let p = process(kernel);
        let h = p.open(dev, true).expect("open");
        let sync = p.open(dev, false).expect("open");
        let o = ops(6);
        let t = p.attach_thread();
        // r0 on the hardware (0..1 ms), r1..r3 queued.
        for r in &o[..4] {
            assert_eq!(read(&t, h, r), nt::STATUS_PENDING);
        }
        sleep_ms(0.5);
        assert_eq!(p.cancel_io_ex(h, Some(&o[2])), nt::STATUS_SUCCESS);
        assert_eq!(result(&o[2]), Some((nt::STATUS_CANCELLED, 0)), "a queued read is cancelled at once");
        assert_eq!(p.cancel_io_ex(h, Some(&o[0])), nt::STATUS_SUCCESS);
        assert_eq!(result(&o[0]), None, "the cancel routine leaves CurrentIrp to the DPC");
        sleep_ms(1.0); // 1.5 ms
        assert_eq!(result(&o[0]), Some((nt::STATUS_CANCELLED, 0)), "the DPC finished the current read cancelled");
        assert_eq!(result(&o[1]), None, "r1 is on the hardware (1..2 ms)");
        sleep_ms(1.0); // 2.5 ms
        assert_eq!(result(&o[1]), Some((nt::STATUS_SUCCESS, LEN as usize)));
        // r4 queued behind r3 (2..3 ms): CancelIo from its own thread.
        let canceller = {
            let o = o.clone();
            p.spawn(move |t| {
                assert_eq!(read(t, h, &o[4]), nt::STATUS_PENDING);
                assert_eq!(t.cancel_io(h), nt::STATUS_SUCCESS);
                assert_eq!(result(&o[4]), Some((nt::STATUS_CANCELLED, 0)), "CancelIo returned with r4 gone");
            })
        };
        canceller.join().expect("the CancelIo thread");
        sleep_ms(1.0); // 3.5 ms
        assert_eq!(result(&o[3]), Some((nt::STATUS_SUCCESS, LEN as usize)));
        // The device is idle: r5 goes straight to the hardware; its thread exits at once.
        let quitter = {
            let o = o.clone();
            p.spawn(move |t| {
                assert_eq!(read(t, h, &o[5]), nt::STATUS_PENDING);
            })
        };
        quitter.join().expect("the exiting thread");
        assert_eq!(result(&o[5]), Some((nt::STATUS_CANCELLED, 0)), "thread exit cancelled the read on the hardware");
        // A synchronous read waits for its transfer; a zero-length read completes at once.
        assert_eq!(t.read(sync, LEN, 0), Ok(IoStatusBlock { status: nt::STATUS_SUCCESS, information: LEN as usize }));
        let empty = Overlapped::new();
        assert_eq!(t.read_overlapped(h, 0, 0, &empty), Ok(nt::STATUS_SUCCESS));
        assert_eq!(result(&empty), Some((nt::STATUS_SUCCESS, 0)));
        t.exit();
        p.close(h);
        p.close(sync);
        p.terminate();
        sleep_ms(1.0);
        unload_all(drivers);
        let c = unload_counters(kernel, "IrpkitStartIo");
        let expected: BTreeMap<String, i64> = [
            ("started", 5),
            ("transferred", 3),
            ("cancelled-queued", 2),
            ("cancelled-current", 2),
            ("cancelled-before-start", 0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(c, expected, "startio: the driver's counters");
        check_clean(kernel, "startio");
    });
    run_directed(&scenario);
}

/// The queue sample, request by request: the periodic tick notifies the oldest request,
/// CancelIoEx of a waiting one, IOCTL_IRPKIT_QUEUE_SIGNAL with and without a waiter,
/// cleanup of a file object's requests, CancelIo, thread exit, a too-small buffer.
#[test]
fn queue_directed() {
    let scenario = c_scenario("queue-directed", vec![queue_image("10")], |kernel, drivers| {
        let dev = device(kernel, r"\\.\IrpkitQueue");
        let p = process(kernel);
        let h1 = p.open(dev, true).expect("open");
        let h2 = p.open(dev, true).expect("open");
        let control = p.open(dev, false).expect("open");
        let o = ops(6);
        let t = p.attach_thread();
        for (r, h) in o[..4].iter().zip([h1, h1, h2, h2]) {
            assert_eq!(wait_notification(&t, h, r), nt::STATUS_PENDING);
        }
        sleep_ms(5.0);
        assert_eq!(p.cancel_io_ex(h1, Some(&o[1])), nt::STATUS_SUCCESS);
        assert_eq!(result(&o[1]), Some((nt::STATUS_CANCELLED, 0)), "the cancel routine completed it");
        assert_eq!(result(&o[0]), None);
        sleep_ms(5.5); // 10.5 ms: the first tick notified the oldest
        assert_eq!(result(&o[0]), Some((nt::STATUS_SUCCESS, LEN as usize)));
        assert_eq!(result(&o[2]), None);
        // SIGNAL notifies the oldest waiting request at once (w2, of the other file object).
        let signal = t.device_io_control(control, IOCTL_IRPKIT_QUEUE_SIGNAL, 0, 0);
        assert_eq!(signal, Ok(IoStatusBlock { status: nt::STATUS_SUCCESS, information: 0 }));
        assert_eq!(result(&o[2]), Some((nt::STATUS_SUCCESS, LEN as usize)));
        // Cleanup of h2 cancels w3.
        assert_eq!(p.close(h2), nt::STATUS_SUCCESS);
        assert_eq!(result(&o[3]), Some((nt::STATUS_CANCELLED, 0)), "cleanup completed the file's request");
        // Nothing waits any more: SIGNAL fails without pending.
        let signal = t.device_io_control(control, IOCTL_IRPKIT_QUEUE_SIGNAL, 0, 0);
        assert_eq!(signal.map(|s| s.status), Ok(nt::STATUS_NOT_FOUND));
        // CancelIo from the requesting thread.
        let canceller = {
            let o = o.clone();
            p.spawn(move |t| {
                assert_eq!(wait_notification(t, h1, &o[4]), nt::STATUS_PENDING);
                assert_eq!(t.cancel_io(h1), nt::STATUS_SUCCESS);
                assert_eq!(result(&o[4]), Some((nt::STATUS_CANCELLED, 0)));
            })
        };
        canceller.join().expect("the CancelIo thread");
        // Thread exit cancels a waiting request.
        let quitter = {
            let o = o.clone();
            p.spawn(move |t| {
                assert_eq!(wait_notification(t, h1, &o[5]), nt::STATUS_PENDING);
            })
        };
        quitter.join().expect("the exiting thread");
        assert_eq!(result(&o[5]), Some((nt::STATUS_CANCELLED, 0)));
        // A buffer too small for the record: failed at once, never pending, not delivered.
        let small = Overlapped::new();
        assert_eq!(
            t.device_io_control_overlapped(h1, IOCTL_IRPKIT_QUEUE_WAIT, 0, 4, &small),
            Ok(nt::STATUS_BUFFER_TOO_SMALL)
        );
        assert!(!small.is_signalled(), "a failure that never pended is not delivered");
        t.exit();
        p.close(h1);
        p.close(control);
        p.terminate();
        unload_all(drivers);
        let c = unload_counters(kernel, "IrpkitQueue");
        let expected: BTreeMap<String, i64> =
            [("queued", 6), ("notified", 2), ("cancelled", 3), ("cancelled-at-dispatch", 0), ("cleaned-up", 1)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
        assert_eq!(c, expected, "queue: the driver's counters");
        check_clean(kernel, "queue");
    });
    run_directed(&scenario);
}

/// The cancel-safe queue sample, request by request: a read the worker holds cancelled
/// (the worker stops it), a queued one cancelled (the library's cancel routine), cleanup
/// of a file object's queued reads, CancelIo, thread exit, a synchronous read, and an
/// unload that waits for the worker thread.
#[test]
fn csq_directed() {
    let scenario = c_scenario("csq-directed", vec![csq_image()], |kernel, drivers| {
        let dev = device(kernel, r"\\.\IrpkitCsq");
        let p = process(kernel);
        let h1 = p.open(dev, true).expect("open");
        let h2 = p.open(dev, true).expect("open");
        let sync = p.open(dev, false).expect("open");
        let o = ops(7);
        let t = p.attach_thread();
        for (r, h) in o[..5].iter().zip([h1, h1, h1, h2, h2]) {
            assert_eq!(read(&t, h, r), nt::STATUS_PENDING);
        }
        sleep_ms(0.5); // the worker holds r0 (0..1 ms)
        assert_eq!(p.cancel_io_ex(h1, Some(&o[0])), nt::STATUS_SUCCESS);
        assert_eq!(result(&o[0]), None, "the worker's read has no cancel routine: it stops at its next slice");
        assert_eq!(p.cancel_io_ex(h1, Some(&o[2])), nt::STATUS_SUCCESS);
        assert_eq!(result(&o[2]), Some((nt::STATUS_CANCELLED, 0)), "a queued read is cancelled at once");
        sleep_ms(1.0); // 1.5 ms: the worker holds r1 (1..2 ms)
        assert_eq!(result(&o[0]), Some((nt::STATUS_CANCELLED, 0)), "the worker stopped the cancelled transfer");
        // Cleanup of h2: r3 and r4 were queued.
        assert_eq!(p.close(h2), nt::STATUS_SUCCESS);
        assert_eq!(result(&o[3]), Some((nt::STATUS_CANCELLED, 0)));
        assert_eq!(result(&o[4]), Some((nt::STATUS_CANCELLED, 0)));
        sleep_ms(1.0); // 2.5 ms
        assert_eq!(result(&o[1]), Some((nt::STATUS_SUCCESS, LEN as usize)));
        // CancelIo of a read the worker has or is about to take.
        let canceller = {
            let o = o.clone();
            p.spawn(move |t| {
                assert_eq!(read(t, h1, &o[5]), nt::STATUS_PENDING);
                assert_eq!(t.cancel_io(h1), nt::STATUS_SUCCESS);
                assert_eq!(result(&o[5]), Some((nt::STATUS_CANCELLED, 0)));
            })
        };
        canceller.join().expect("the CancelIo thread");
        let quitter = {
            let o = o.clone();
            p.spawn(move |t| {
                assert_eq!(read(t, h1, &o[6]), nt::STATUS_PENDING);
            })
        };
        quitter.join().expect("the exiting thread");
        assert_eq!(result(&o[6]), Some((nt::STATUS_CANCELLED, 0)));
        assert_eq!(t.read(sync, LEN, 0), Ok(IoStatusBlock { status: nt::STATUS_SUCCESS, information: LEN as usize }));
        t.exit();
        p.close(h1);
        p.close(sync);
        p.terminate();
        unload_all(drivers);
        let c = unload_counters(kernel, "IrpkitCsq");
        assert_eq!(c["transferred"], 2, "csq: {c:?}");
        assert_eq!(c["cleaned-up"], 2, "csq: {c:?}");
        assert_eq!(c["stopped-by-cancel"] + c["cancelled"], 4, "csq: {c:?}");
        assert!(c["stopped-by-cancel"] >= 1, "csq: {c:?}");
        assert_eq!(c["refused"], 0, "csq: {c:?}");
        check_unload_waited_for_worker(kernel);
        check_clean(kernel, "csq");
    });
    run_directed(&scenario);
}

/// IoCsqInsertIrpEx's insert callback refuses a read when the queue is full: the read is
/// completed at once with STATUS_DEVICE_BUSY, never pending (a warning status, so it is
/// delivered all the same); the others are served. Built with CSQ_MAX_QUEUED=2.
#[test]
fn csq_refuses_when_full() {
    let image = build("IrpkitCsq", "csq/csq.c", &[("CSQ_MAX_QUEUED", "2")]);
    let scenario = c_scenario("csq-full", vec![image], |kernel, drivers| {
        let dev = device(kernel, r"\\.\IrpkitCsq");
        let p = process(kernel);
        let h = p.open(dev, true).expect("open");
        let o = ops(3);
        let t = p.attach_thread();
        // The non-preemptive schedule: the worker does not run before this thread waits,
        // so both first reads are still queued when the third arrives.
        assert_eq!(read(&t, h, &o[0]), nt::STATUS_PENDING);
        assert_eq!(read(&t, h, &o[1]), nt::STATUS_PENDING);
        assert_eq!(read(&t, h, &o[2]), nt::STATUS_DEVICE_BUSY);
        wait_all(&o[..2]);
        assert_eq!(result(&o[0]), Some((nt::STATUS_SUCCESS, LEN as usize)));
        assert_eq!(result(&o[1]), Some((nt::STATUS_SUCCESS, LEN as usize)));
        // STATUS_DEVICE_BUSY (0x80000011) is a warning, not an error: although the read
        // never pended, the I/O manager delivers it.
        assert_eq!(result(&o[2]), Some((nt::STATUS_DEVICE_BUSY, 0)), "a refused read ends as a warning");
        t.exit();
        p.close(h);
        p.terminate();
        unload_all(drivers);
        let c = unload_counters(kernel, "IrpkitCsq");
        assert_eq!((c["transferred"], c["refused"]), (2, 1), "csq: {c:?}");
        check_unload_waited_for_worker(kernel);
        check_clean(kernel, "csq");
    });
    run_directed(&scenario);
}

/// The filter over the csq sample: opened through its own name, reads pass down with a
/// completion routine (a cancelled one too), the create is forwarded synchronously,
/// cleanup and close are skipped down; the filter unloads first (IoDetachDevice).
#[test]
fn filter_directed() {
    let scenario = c_scenario("filter-directed", vec![csq_image(), filter_image(&[])], |kernel, drivers| {
        let top = device(kernel, r"\\.\IrpkitFilter");
        let lower = device(kernel, r"\\.\IrpkitCsq");
        // SAFETY: `device` hands out devices that stay allocated while the kernel is
        // borrowed; `StackSize` is an atomic field, so loading it races no writer (the
        // filter wrote it in DriverEntry, before this thread could see the device).
        let (top_stack, lower_stack) = unsafe {
            (
                (*top.as_ptr()).stack_size.load(std::sync::atomic::Ordering::Relaxed),
                (*lower.as_ptr()).stack_size.load(std::sync::atomic::Ordering::Relaxed),
            )
        };
        assert_eq!(top_stack, lower_stack + 1, "filter: one stack location more than the device below");
        let p = process(kernel);
        let h = p.open(top, true).expect("open through the filter");
        let o = ops(3);
        let t = p.attach_thread();
        for r in o.iter() {
            assert_eq!(read(&t, h, r), nt::STATUS_PENDING, "the pending state propagates through the filter");
        }
        sleep_ms(0.5);
        assert_eq!(p.cancel_io_ex(h, Some(&o[2])), nt::STATUS_SUCCESS);
        assert_eq!(result(&o[2]), Some((nt::STATUS_CANCELLED, 0)), "the lower driver's queue cancelled it");
        wait_all(&o[..2]);
        assert_eq!(result(&o[0]), Some((nt::STATUS_SUCCESS, LEN as usize)));
        assert_eq!(result(&o[1]), Some((nt::STATUS_SUCCESS, LEN as usize)));
        t.exit();
        p.close(h);
        p.terminate();
        unload_all(drivers);
        let f = unload_counters(kernel, "IrpkitFilter");
        let expected: BTreeMap<String, i64> =
            [("succeeded", 2), ("cancelled", 1), ("failed", 0), ("pended", 3), ("synchronous", 1), ("skipped", 2)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
        assert_eq!(f, expected, "filter: its counters");
        let c = unload_counters(kernel, "IrpkitCsq");
        assert_eq!((c["transferred"], c["cancelled"]), (2, 1), "csq below the filter: {c:?}");
        check_clean(kernel, "filter");
    });
    run_directed(&scenario);
}

/// A file opened on the device below the filter (by its own name, `\\.\IrpkitCsq`): the
/// I/O manager sends its requests to the top of the stack (IoGetRelatedDeviceObject), so
/// the filter sees the create, the read, the cleanup and the close.
#[test]
fn filter_sees_requests_on_the_device_below() {
    let scenario = c_scenario("filter-below", vec![csq_image(), filter_image(&[])], |kernel, drivers| {
        let lower = device(kernel, r"\\.\IrpkitCsq");
        let p = process(kernel);
        let h = p.open(lower, true).expect("open the device below the filter");
        let o = ops(1);
        let t = p.attach_thread();
        assert_eq!(read(&t, h, &o[0]), nt::STATUS_PENDING);
        wait_all(&o);
        assert_eq!(result(&o[0]), Some((nt::STATUS_SUCCESS, LEN as usize)));
        t.exit();
        p.close(h);
        p.terminate();
        unload_all(drivers);
        let f = unload_counters(kernel, "IrpkitFilter");
        let expected: BTreeMap<String, i64> =
            [("succeeded", 1), ("cancelled", 0), ("failed", 0), ("pended", 1), ("synchronous", 1), ("skipped", 2)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
        assert_eq!(f, expected, "filter: it saw the create, the read, the cleanup and the close");
        check_clean(kernel, "filter");
    });
    run_directed(&scenario);
}

/// A driver as the csq driver's client (`tests/c/client.c`): IoGetDeviceObjectPointer
/// opens the device (the csq driver's create makes the file's context), a read built with
/// IoBuildSynchronousFsdRequest on that file object gets its 8 bytes through the system
/// buffer (the csq device does buffered I/O), and ObDereferenceObject of the file object
/// sends the cleanup and the close (whose context free leaves no pool behind).
#[test]
fn a_client_driver_opens_reads_and_releases_the_csq_device() {
    let client = build("IrpkitClient", "../crates/irpkit-wdm/tests/c/client.c", &[]);
    let scenario = c_scenario("client", vec![csq_image(), client], |kernel, drivers| {
        let log: Vec<String> =
            kernel.debug_output().into_iter().filter(|l| l.text.starts_with("client:")).map(|l| l.text).collect();
        assert_eq!(
            log,
            [
                "client: missing device 0xc0000034",
                "client: read 0x00000000, 8 bytes, 8 filled",
                "client: file object released",
            ],
            "the client's DriverEntry"
        );
        unload_all(drivers);
        let c = unload_counters(kernel, "IrpkitCsq");
        assert_eq!(c["transferred"], 1, "csq: {c:?}");
        check_clean(kernel, "client");
    });
    run_directed(&scenario);
}

/// The filter built with FILTER_SYNCHRONOUS_MAJOR=IRP_MJ_READ: reads are forwarded
/// synchronously (the dispatch routine waits for its event), so an overlapped read returns
/// its final status; a read cancelled while the filter waits finishes the wait, and — a
/// failure that never pended at the top — is not delivered to its OVERLAPPED.
#[test]
fn filter_synchronous_forward_of_reads() {
    let filter = filter_image(&[("FILTER_SYNCHRONOUS_MAJOR", "IRP_MJ_READ")]);
    let scenario = c_scenario("filter-sync-reads", vec![csq_image(), filter], |kernel, drivers| {
        let top = device(kernel, r"\\.\IrpkitFilter");
        let p = process(kernel);
        let h = p.open(top, true).expect("open through the filter");
        let done = Overlapped::new();
        let t = p.attach_thread();
        assert_eq!(read(&t, h, &done), nt::STATUS_SUCCESS, "the filter waited for the read");
        assert_eq!(result(&done), Some((nt::STATUS_SUCCESS, LEN as usize)));
        let cancelled = Overlapped::new();
        let reader = {
            let o = cancelled.clone();
            p.spawn(move |t| read(t, h, &o))
        };
        sleep_ms(0.5);
        assert_eq!(p.cancel_io_ex(h, Some(&cancelled)), nt::STATUS_SUCCESS);
        assert_eq!(reader.join().expect("the reader"), nt::STATUS_CANCELLED);
        assert!(!cancelled.is_signalled(), "STATUS_CANCELLED without pending is not delivered");
        t.exit();
        p.close(h);
        p.terminate();
        unload_all(drivers);
        let f = unload_counters(kernel, "IrpkitFilter");
        assert_eq!(f["synchronous"], 2, "filter: {f:?}");
        assert_eq!(f["pended"], 0, "filter: {f:?}");
        check_clean(kernel, "filter-sync-reads");
    });
    run_directed(&scenario);
}

/// The filter attached over the StartIo sample instead (FILTER_LOWER_DEVICE).
#[test]
fn filter_over_startio_directed() {
    let filter = filter_image(&[("FILTER_LOWER_DEVICE", r#"L"\\Device\\IrpkitStartIo""#)]);
    let scenario = c_scenario("filter-startio", vec![startio_image(), filter], |kernel, drivers| {
        let top = device(kernel, r"\\.\IrpkitFilter");
        let p = process(kernel);
        let h = p.open(top, true).expect("open through the filter");
        let o = ops(3);
        let t = p.attach_thread();
        for r in o.iter() {
            assert_eq!(read(&t, h, r), nt::STATUS_PENDING);
        }
        sleep_ms(0.5);
        assert_eq!(p.cancel_io_ex(h, Some(&o[0])), nt::STATUS_SUCCESS);
        assert_eq!(p.cancel_io_ex(h, Some(&o[1])), nt::STATUS_SUCCESS);
        assert_eq!(result(&o[1]), Some((nt::STATUS_CANCELLED, 0)), "queued: cancelled at once");
        wait_all(&o);
        assert_eq!(result(&o[0]), Some((nt::STATUS_CANCELLED, 0)), "current: the DPC finished it cancelled");
        assert_eq!(result(&o[2]), Some((nt::STATUS_SUCCESS, LEN as usize)));
        t.exit();
        p.close(h);
        p.terminate();
        sleep_ms(1.0);
        unload_all(drivers);
        let f = unload_counters(kernel, "IrpkitFilter");
        assert_eq!((f["succeeded"], f["cancelled"], f["synchronous"]), (1, 2, 1), "filter: {f:?}");
        check_clean(kernel, "filter-startio");
    });
    run_directed(&scenario);
}

// ------------------------------------------------------------------ explorations

#[test]
fn startio_explored_stays_clean() {
    let coverage = Coverage::default();
    let scenario = scenario_with("startio", vec![startio_image()], &coverage, startio_race);
    explore_clean(&scenario, schedules());
    assert_covered(
        &coverage,
        "startio",
        &["transferred", "cancelled-queued", "cancelled-current", "cancelled-before-start"],
    );
}

#[test]
fn queue_explored_stays_clean() {
    let coverage = Coverage::default();
    let scenario = scenario_with("queue", vec![queue_image("1")], &coverage, queue_race);
    explore_clean(&scenario, schedules());
    assert_covered(&coverage, "queue", &["notified", "cancelled", "cancelled-at-dispatch", "cleaned-up"]);
}

#[test]
fn csq_explored_stays_clean() {
    let coverage = Coverage::default();
    let scenario = scenario_with("csq", vec![csq_image()], &coverage, csq_race);
    explore_clean(&scenario, schedules());
    assert_covered(&coverage, "csq", &["transferred", "stopped-by-cancel", "cancelled", "cleaned-up"]);
}

#[test]
fn filter_explored_stays_clean() {
    let coverage = Coverage::default();
    let scenario = scenario_with("filter", vec![csq_image(), filter_image(&[])], &coverage, filter_race);
    explore_clean(&scenario, schedules());
    assert_covered(&coverage, "filter", &["succeeded", "cancelled"]);
}

// ------------------------------------------------------------------ the buggy twins

fn queue_twin(name: &str) -> Arc<dyn Scenario> {
    let image = twin_image(name, "IrpkitQueue", &[("QUEUE_PERIOD_MS", "1")]);
    scenario_with(name, vec![image], &Coverage::default(), queue_race)
}

fn startio_twin(name: &str) -> Arc<dyn Scenario> {
    let image = twin_image(name, "IrpkitStartIo", &[]);
    scenario_with(name, vec![image], &Coverage::default(), startio_race)
}

#[test]
fn twin_no_cancel_recheck() {
    explore_finds(&queue_twin("no-cancel-recheck"), &["cancel-flag-not-checked"], TWIN_BUDGET);
}

#[test]
fn twin_plain_store() {
    explore_finds(&queue_twin("plain-store"), &["cancel-routine-plain-store"], TWIN_BUDGET);
}

#[test]
fn twin_pending_without_mark() {
    explore_finds(&queue_twin("pending-without-mark"), &["pending-mismatch"], TWIN_BUDGET);
}

#[test]
fn twin_complete_before_clear() {
    explore_finds(
        &queue_twin("complete-before-clear"),
        &["complete-with-cancel-routine", "double-completion"],
        TWIN_BUDGET,
    );
}

#[test]
fn twin_cancel_keeps_lock() {
    explore_finds(&queue_twin("cancel-keeps-lock"), &["returned-holding-cancel-lock"], TWIN_BUDGET);
}

#[test]
fn twin_complete_under_lock() {
    explore_finds(&queue_twin("complete-under-lock"), &["complete-under-spin-lock"], TWIN_BUDGET);
}

#[test]
fn twin_leak_on_cleanup() {
    explore_finds(&queue_twin("leak-on-cleanup"), &["irp-leaked"], TWIN_BUDGET);
}

/// The StartIo twins complete one IRP on two paths. A schedule where both completions
/// race is reported `invalid-irp` instead of `double-completion`: IoCompleteRequest checks
/// for a completed IRP before it looks whether the IRP is still in its device queue (under
/// the queue's spin lock, a scheduling point), so the second completion can pass the
/// check while the first has not walked yet; both walk, and the second IoFreeIrp finds
/// the IRP freed (an irpkit verifier imprecision, not the driver's).
const STARTIO_DOUBLE_COMPLETION: &[&str] = &["double-completion", "invalid-irp"];

#[test]
fn twin_cancel_completes_current() {
    explore_finds(&startio_twin("cancel-completes-current"), STARTIO_DOUBLE_COMPLETION, TWIN_BUDGET);
}

#[test]
fn twin_ignores_remove_entry() {
    explore_finds(&startio_twin("ignores-remove-entry"), STARTIO_DOUBLE_COMPLETION, TWIN_BUDGET);
}

#[test]
fn twin_startio_recursion() {
    explore_finds(&startio_twin("startio-recursion"), &["start-io-recursion"], TWIN_BUDGET);
}
