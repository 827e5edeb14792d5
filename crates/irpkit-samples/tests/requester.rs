//! Conformance cases R1–R6 (the requester side) against the sample drivers, and the
//! thread-exit rule on the virtual clock.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::Requester;
use irpkit::clock::VirtualClock;
use irpkit::io::{Overlapped, Process, IO_DRIVER_CANCEL_TIMEOUT};
use irpkit::nt::{self, STATUS_CANCELLED, STATUS_NOT_FOUND, STATUS_PENDING, STATUS_SUCCESS};
use irpkit::safe::{create_device, DeviceRef, Dispatched, Driver, Irp};
use irpkit::verifier::VerifierMode;
use irpkit::Kernel;
use irpkit_samples::csq_worker::CsqWorker;
use irpkit_samples::pending_read::PendingRead;

fn kernel() -> Kernel {
    Kernel::builder().verifier_mode(VerifierMode::Record).clock(VirtualClock::new()).build()
}

fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::yield_now();
    }
}

/// R1: CancelIo cancels both of two pending reads of the calling thread before returning.
#[test]
fn requester_r1_cancel_io_cancels_the_threads_reads_and_waits() {
    let k = kernel();
    let _dpc = k.start_dpc_thread();
    let Requester { dev: _dev, p, h, t } = Requester::new(&k);
    let (a, b) = (Overlapped::new(), Overlapped::new());
    assert_eq!(t.read_overlapped(h, 16, 0, &a), Ok(STATUS_PENDING));
    assert_eq!(t.read_overlapped(h, 16, 0, &b), Ok(STATUS_PENDING));
    assert_eq!(t.outstanding(), 2);
    assert_eq!(t.cancel_io(h), STATUS_SUCCESS);
    assert_eq!(t.outstanding(), 0, "both gone before CancelIo returned");
    for o in [&a, &b] {
        assert!(o.is_signalled());
        assert_eq!(o.status_block(), nt::IoStatusBlock { status: STATUS_CANCELLED, information: 0 });
    }
    assert_eq!(t.cancel_io(h), STATUS_SUCCESS, "nothing left: still success");
    t.exit();
    p.terminate();
    assert_eq!(k.irps_outstanding(), 0);
    assert_eq!(k.verifier().report_count(), 0, "{:#?}", k.verifier().reports());
}

/// R2: CancelIoEx naming one of two overlapped reads cancels only that one (and any
/// thread of the process may call it).
#[test]
fn requester_r2_cancel_io_ex_one_request() {
    let k = kernel();
    let Requester { dev, p, h, t } = Requester::new(&k);
    let (a, b) = (Overlapped::new(), Overlapped::new());
    t.read_overlapped(h, 16, 0, &a).unwrap();
    t.read_overlapped(h, 16, 0, &b).unwrap();
    let other = {
        let p = p.clone();
        let b = b.clone();
        std::thread::spawn(move || {
            let t2 = p.attach_thread();
            let s = p.cancel_io_ex(h, Some(&b));
            t2.exit();
            s
        })
    };
    assert_eq!(other.join().unwrap(), STATUS_SUCCESS);
    assert_eq!(b.status_block().status, STATUS_CANCELLED);
    assert!(!a.is_signalled(), "the other request is untouched");
    assert_eq!(t.outstanding(), 1);
    assert_eq!(dev.complete_next(16), Some(1 + 1)); // IRP #1 was the open's CREATE
    assert_eq!(a.status_block(), nt::IoStatusBlock { status: STATUS_SUCCESS, information: 16 });
    t.exit();
    p.terminate();
    assert_eq!(k.verifier().report_count(), 0);
}

/// R3: CancelIoEx with nothing pending returns `STATUS_NOT_FOUND` (and touches no status
/// block).
#[test]
fn requester_r3_cancel_io_ex_nothing_pending() {
    let k = kernel();
    let Requester { dev, p, h, t } = Requester::new(&k);
    assert_eq!(p.cancel_io_ex(h, None), STATUS_NOT_FOUND);
    let a = Overlapped::new();
    t.read_overlapped(h, 16, 0, &a).unwrap();
    dev.complete_next(16);
    assert_eq!(p.cancel_io_ex(h, Some(&a)), STATUS_NOT_FOUND, "already completed");
    assert_eq!(a.status_block().status, STATUS_SUCCESS, "the real result stands");
    t.exit();
    p.terminate();
}

/// A driver that pends reads and ignores cancellation (no cancel routine); the test
/// completes them by hand later. Counts the create, cleanup and close requests it gets.
#[derive(Default)]
struct Ignores {
    held: Mutex<Vec<Irp>>,
    majors: Mutex<Vec<u8>>,
}

impl Driver for Ignores {
    fn dispatch(&self, _d: &DeviceRef, mut irp: Irp) -> Dispatched {
        match irp.major_function() {
            nt::IRP_MJ_READ => {
                let pending = irp.mark_pending();
                self.held.lock().unwrap().push(irp);
                pending.into()
            }
            major => {
                self.majors.lock().unwrap().push(major);
                irp.complete(STATUS_SUCCESS, 0).into()
            }
        }
    }
}

/// R4 (well-behaved driver): thread exit cancels all the thread's IRPs; they complete at
/// once, so the exit does not wait and logs nothing.
#[test]
fn requester_r4_thread_exit_with_a_driver_that_cancels() {
    let k = kernel();
    let _dpc = k.start_dpc_thread();
    let Requester { dev: _dev, p, h, t } = Requester::new(&k);
    let reads: Vec<_> = (0..3).map(|_| Overlapped::new()).collect();
    for o in &reads {
        t.read_overlapped(h, 16, 0, o).unwrap();
    }
    let before = k.clock().now();
    t.exit();
    assert_eq!(k.clock().now(), before, "no waiting: everything was cancelled at once");
    assert!(reads.iter().all(|o| o.status_block().status == STATUS_CANCELLED));
    assert!(k.event_log().is_empty());
    p.terminate();
    assert_eq!(k.verifier().report_count(), 0);
}

/// R4 (a driver that never completes): after five virtual minutes every stuck IRP is
/// disassociated with one IO_DRIVER_CANCEL_TIMEOUT entry naming its device; the thread's
/// exit finishes; a later completion is swallowed.
#[test]
fn requester_r4_thread_exit_disassociates_stuck_irps_after_five_minutes() {
    let k = kernel();
    let _dpc = k.start_dpc_thread();
    let dev = create_device(&k, "Stubborn", Ignores::default()).unwrap();
    let p = Process::new(&k);
    let h = p.open(dev.device_ref(), true).unwrap();
    let reads: Vec<_> = (0..3).map(|_| Overlapped::new()).collect();
    let started = Instant::now();
    let worker = {
        let (p, reads) = (p.clone(), reads.clone());
        p.clone().spawn(move |t| {
            for o in &reads {
                assert_eq!(t.read_overlapped(h, 16, 0, o), Ok(STATUS_PENDING));
            }
            let _ = p;
        })
    };
    worker.join().unwrap(); // the thread's exit ran when its routine returned
    assert!(k.clock().now() >= Duration::from_secs(300), "waited five virtual minutes: {:?}", k.clock().now());
    assert!(started.elapsed() < Duration::from_secs(30), "in little real time");
    let log = k.event_log();
    assert_eq!(log.len(), 3, "one entry per stuck IRP: {log:#?}");
    for e in &log {
        assert_eq!((e.code, e.name), (IO_DRIVER_CANCEL_TIMEOUT, "IO_DRIVER_CANCEL_TIMEOUT"));
        assert_eq!(e.device, "\\Device\\Stubborn");
    }
    assert_eq!(p.outstanding(), 0);
    assert_eq!(dev.majors.lock().unwrap().len(), 1, "the handle is still open: only the create so far");
    // The driver finally completes them: the completions are swallowed.
    for irp in dev.held.lock().unwrap().drain(..) {
        irp.complete(STATUS_SUCCESS, 16);
    }
    assert!(reads.iter().all(|o| !o.is_signalled()), "nothing delivered to a disassociated request");
    p.terminate();
    assert_eq!(k.irps_outstanding(), 0);
    assert_eq!(k.verifier().report_count(), 0, "{:#?}", k.verifier().reports());
}

/// R5: closing the last handle sends IRP_MJ_CLEANUP; the cancel-safe-queue sample
/// completes that file's queued IRPs `STATUS_CANCELLED`; IRP_MJ_CLOSE follows when the
/// last reference goes.
#[test]
fn requester_r5_cleanup_and_close() {
    let k = kernel();
    let _e = k.enter();
    let d = std::sync::Arc::new(
        create_device(&k, "Worker", CsqWorker::new(Duration::from_millis(10), Duration::ZERO)).unwrap(),
    );
    CsqWorker::start(&d);
    let p = Process::new(&k);
    let h = p.open(d.device_ref(), true).unwrap();
    let h2 = p.duplicate(h).unwrap();
    let t = p.attach_thread();
    let first = Overlapped::new();
    t.read_overlapped(h, 16, 0, &first).unwrap();
    until("the worker took the first read", || d.queued() == 0);
    let queued: Vec<_> = (0..2).map(|_| Overlapped::new()).collect();
    for o in &queued {
        t.read_overlapped(h, 16, 0, o).unwrap();
    }
    let stats = &d.stats;
    assert_eq!(stats.creates.load(Ordering::Relaxed), 1, "one file object: one IRP_MJ_CREATE");
    assert_eq!(p.close(h), STATUS_SUCCESS);
    assert_eq!(stats.cleanups.load(Ordering::Relaxed), 0, "a duplicate handle is still open: no cleanup yet");
    assert_eq!(d.queued(), 2);
    assert_eq!(p.close(h2), STATUS_SUCCESS);
    assert_eq!(stats.cleanups.load(Ordering::Relaxed), 1, "the last handle sent IRP_MJ_CLEANUP");
    assert!(queued.iter().all(|o| o.status_block().status == STATUS_CANCELLED), "cleanup cancelled the queued reads");
    assert_eq!(stats.cleaned_up.load(Ordering::Relaxed), 2);
    assert!(!first.is_signalled(), "the read the worker holds is still going");
    assert_eq!(stats.closes.load(Ordering::Relaxed), 0, "its reference keeps the file object: no close yet");
    // The worker's read completes; with it the last reference goes and IRP_MJ_CLOSE follows.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !first.is_signalled() && Instant::now() < deadline {
        k.advance(Duration::from_millis(1));
        std::thread::sleep(Duration::from_micros(200));
    }
    assert_eq!(first.status_block().status, STATUS_SUCCESS);
    until("IRP_MJ_CLOSE", || stats.closes.load(Ordering::Relaxed) == 1);
    assert_eq!(stats.cleanups.load(Ordering::Relaxed), 1, "cleanup delivered once");
    t.exit();
    d.shutdown();
    p.terminate();
    assert_eq!(k.verifier().report_count(), 0, "{:#?}", k.verifier().reports());
}

/// Synchronous I/O waits; CancelSynchronousIo cancels it (and only it), with the
/// documented statuses.
#[test]
fn requester_cancel_synchronous_io() {
    let k = kernel();
    let dev = std::sync::Arc::new(create_device(&k, "PR", PendingRead::new()).unwrap());
    let p = Process::new(&k);
    let sync_h = p.open(dev.device_ref(), false).unwrap();
    let over_h = p.open(dev.device_ref(), true).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = p.spawn(move |t| {
        let overlapped = Overlapped::new();
        t.read_overlapped(over_h, 8, 0, &overlapped).unwrap();
        tx.send((t.handle(), overlapped)).unwrap();
        t.read(sync_h, 8, 0) // blocks until cancelled
    });
    let (thread, overlapped) = rx.recv().unwrap();
    until("the synchronous read is queued", || dev.queued() == 2);
    assert_eq!(p.cancel_synchronous_io(&thread.without_terminate_access()), nt::STATUS_ACCESS_DENIED);
    assert_eq!(p.cancel_synchronous_io(&thread), STATUS_SUCCESS);
    let r = reader.join().unwrap().unwrap();
    assert_eq!((r.status, r.information), (STATUS_CANCELLED, 0), "the synchronous read returned cancelled");
    // The thread's exit cancelled its overlapped read; CancelSynchronousIo had not.
    assert_eq!(overlapped.status_block().status, STATUS_CANCELLED);
    assert_eq!(p.cancel_synchronous_io(&thread), nt::STATUS_INVALID_HANDLE, "the thread has exited");
    let t = p.attach_thread();
    assert_eq!(p.cancel_synchronous_io(&t.handle()), STATUS_NOT_FOUND);
    t.exit();
    p.terminate();
    assert_eq!(k.verifier().report_count(), 0, "{:#?}", k.verifier().reports());
}

/// A failed request that never pended writes nothing to its status block: the caller
/// learns the failure from the call's return value.
#[test]
fn requester_failure_without_pending_is_not_delivered() {
    let k = kernel();
    let Requester { dev: _dev, p, h, t } = Requester::new(&k);
    let o = Overlapped::new();
    assert_eq!(t.device_io_control_overlapped(h, 0x22_2000, 0, 0, &o), Ok(nt::STATUS_INVALID_DEVICE_REQUEST));
    assert!(!o.is_signalled());
    assert_eq!(o.status_block().status, STATUS_PENDING, "untouched");
    assert_eq!(t.outstanding(), 0);
    t.exit();
    p.terminate();
}

unsafe extern "system-unwind" fn entry(_d: *mut nt::DriverObject, _p: *mut nt::UnicodeString) -> nt::NtStatus {
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn cancels_what_it_received(
    _d: *mut nt::DeviceObject,
    irp: *mut nt::Irp,
) -> nt::NtStatus {
    // SAFETY: the dispatch contract.
    unsafe {
        if (*nt::io_get_current_irp_stack_location(irp)).major_function != nt::IRP_MJ_READ {
            (*irp).io_status = nt::IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
            nt::io_complete_request(irp, 0);
            return STATUS_SUCCESS;
        }
        nt::io_mark_irp_pending(irp);
        nt::io_cancel_irp(irp); // bug: the requester's IRP is not this driver's to cancel
        (*irp).io_status = nt::IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
        nt::io_complete_request(irp, 0);
    }
    STATUS_PENDING
}

/// R6: a driver cancelling an IRP it did not create (a requester's) is reported. (Safe
/// drivers cannot even express it: only a request's creator holds a cancel handle.)
#[test]
fn requester_r6_driver_cancelling_a_requesters_irp_is_reported() {
    let k = kernel();
    let p = Process::new(&k);
    let device = {
        let _e = k.enter();
        let driver = k.load_driver("Meddler", entry).unwrap();
        // SAFETY: a fresh driver object.
        unsafe {
            (*driver).major_function = [Some(cancels_what_it_received); nt::IRP_MJ_COUNT];
            nt::io_create_device(driver, 0, Some("Meddler"), 0x22, 0, false).unwrap()
        }
    };
    // SAFETY: the device lives as long as the kernel.
    let h = p.open(unsafe { DeviceRef::from_ptr(device) }, true).unwrap();
    let t = p.attach_thread();
    let o = Overlapped::new();
    assert_eq!(t.read_overlapped(h, 8, 0, &o), Ok(STATUS_PENDING));
    let reports = k.verifier().take_reports();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert_eq!(reports[0].rule.id(), "foreign-irp-cancel");
    assert_eq!(reports[0].location.driver.as_deref(), Some("\\Driver\\Meddler"));
    t.exit();
    p.terminate();
}

/// Process exit under load: threads with overlapped reads outstanding on several handles
/// — three on a cancel-safe-queue device, one on a device that ignores cancellation — and
/// the process terminated at a random moment. Afterwards every IRP is completed, or
/// disassociated and logged once; no IRP is left once the stubborn driver finally
/// completes; every file object got one create, one cleanup and one close.
#[test]
fn requester_process_exit_stress() {
    for round in 0..5u64 {
        let k = Kernel::builder().verifier_mode(VerifierMode::Record).build();
        let _e = k.enter();
        let d =
            std::sync::Arc::new(create_device(&k, "Worker", CsqWorker::new(Duration::ZERO, Duration::ZERO)).unwrap());
        CsqWorker::start(&d);
        let stubborn = create_device(&k, "Stubborn", Ignores::default()).unwrap();
        let config = irpkit::io::IoConfig {
            exit_check_interval: Duration::from_millis(1),
            exit_max_checks: 200,
            ..Default::default()
        };
        let p = Process::with_config(&k, config);
        let mut handles: Vec<_> = (0..3).map(|_| p.open(d.device_ref(), true).unwrap()).collect();
        handles.push(p.open(stubborn.device_ref(), true).unwrap());
        let total = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let (handles, total) = (handles.clone(), total.clone());
                p.spawn(move |t| {
                    let mut issued = 0usize;
                    let mut keep = Vec::new();
                    loop {
                        let o = Overlapped::new();
                        match t.read_overlapped(handles[(issued + i) % 4], 8, 0, &o) {
                            Ok(_) => {
                                issued += 1;
                                total.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) => break, // the process is gone
                        }
                        keep.push(o);
                        if keep.len() > 64 {
                            keep.remove(0);
                        }
                    }
                    issued
                })
            })
            .collect();
        until("the threads are issuing reads", || total.load(Ordering::Relaxed) >= 100);
        std::thread::sleep(Duration::from_millis(round * 3));
        p.terminate();
        let issued: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert!(issued > 0, "round {round}: the threads did issue reads");
        let held: Vec<Irp> = stubborn.held.lock().unwrap().drain(..).collect();
        let log = k.event_log();
        let stuck = log.iter().filter(|e| e.device == "\\Device\\Stubborn").count();
        assert_eq!(stuck, held.len(), "round {round}: one log entry per stuck IRP");
        // (A worker slow to finish a transfer within the short timeout is disassociated
        // too — legitimately — and logged under its own device.)
        assert!(log.iter().all(|e| e.code == IO_DRIVER_CANCEL_TIMEOUT));
        let mut ids: Vec<u64> = log.iter().map(|e| e.irp).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), log.len(), "each stuck IRP logged once");
        assert_eq!(p.outstanding(), 0, "no IRP left on any thread");
        // The stubborn driver finally completes them: swallowed, and the file can close.
        for irp in held {
            irp.complete(STATUS_SUCCESS, 8);
        }
        until("every IRP completed", || k.irps_outstanding() == 0);
        let s = &d.stats;
        until("every close delivered", || s.closes.load(Ordering::Relaxed) == 3);
        assert_eq!(s.creates.load(Ordering::Relaxed), 3);
        assert_eq!(s.cleanups.load(Ordering::Relaxed), 3, "round {round}: one cleanup per file object");
        until("the stubborn device's close", || stubborn.majors.lock().unwrap().len() == 3);
        assert_eq!(*stubborn.majors.lock().unwrap(), vec![nt::IRP_MJ_CREATE, nt::IRP_MJ_CLEANUP, nt::IRP_MJ_CLOSE]);
        d.shutdown();
        assert_eq!(k.verifier().report_count(), 0, "round {round}: {:#?}", k.verifier().reports());
    }
}

/// The other two ways of learning about completion: a completion routine (ReadFileEx) run
/// in the issuing thread at an alertable wait, and a completion port.
#[test]
fn requester_completion_routine_and_completion_port() {
    use irpkit::io::CompletionPort;
    let k = kernel();
    let Requester { dev, p, h, t } = Requester::new(&k);
    // A completion routine runs only in the issuing thread, only at an alertable wait.
    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let o = Overlapped::new();
    let (s2, me) = (seen.clone(), std::thread::current().id());
    assert_eq!(
        t.read_ex(h, 16, 0, &o, move |r| s2.lock().unwrap().push((r.status, std::thread::current().id() == me))),
        Ok(STATUS_PENDING)
    );
    dev.complete_next(16);
    assert!(o.is_signalled(), "the status block and event are delivered at completion");
    assert!(seen.lock().unwrap().is_empty(), "the routine waits for an alertable wait");
    assert_eq!(t.alertable_wait(Some(Duration::ZERO)), nt::STATUS_USER_APC);
    assert_eq!(*seen.lock().unwrap(), vec![(STATUS_SUCCESS, true)]);
    assert_eq!(t.alertable_wait(Some(Duration::ZERO)), nt::STATUS_TIMEOUT, "nothing queued");
    p.close(h);
    let h = p.open(dev.device_ref(), true).unwrap();
    let port = CompletionPort::new(&k);
    assert_eq!(p.associate(h, &port, 77), STATUS_SUCCESS);
    // Completion port: one packet per delivered overlapped request, with the key.
    let reads: Vec<_> = (0..2).map(|_| Overlapped::new()).collect();
    for r in &reads {
        t.read_overlapped(h, 16, 0, r).unwrap();
    }
    assert!(port.get_queued_completion_status(Some(Duration::ZERO)).is_none(), "nothing completed yet");
    assert!(reads[1].status_block().status == STATUS_PENDING);
    p.cancel_io_ex(h, Some(&reads[1]));
    dev.complete_next(8);
    let first = port.get_queued_completion_status(Some(Duration::ZERO)).expect("a packet");
    let second = port.get_queued_completion_status(Some(Duration::ZERO)).expect("a packet");
    assert_eq!((first.key, first.status.status), (77, STATUS_CANCELLED));
    assert_eq!((second.key, second.status.status, second.status.information), (77, STATUS_SUCCESS, 8));
    assert!(port.get_queued_completion_status(Some(Duration::ZERO)).is_none());
    t.exit();
    p.terminate();
    assert_eq!(k.verifier().report_count(), 0);
}

/// R1 against the StartIo sample: CancelIo cancels the thread's current IRP (the StartIo
/// path finishes it cancelled) and its queued one (the cancel routine removes it), and
/// returns only when both are gone.
#[test]
fn requester_r1_cancel_io_on_the_startio_sample() {
    use irpkit::safe::create_start_io_device;
    use irpkit_samples::serial::{Serial, SerialConfig};
    let k = kernel();
    let dev = create_start_io_device(
        &k,
        "Serial0",
        Serial::new(SerialConfig { transfer_time: Duration::from_secs(60), ..SerialConfig::default() }),
    )
    .unwrap();
    dev.configure(dev.device_ref());
    let p = Process::new(&k);
    let h = p.open(dev.device_ref(), true).unwrap();
    let t = p.attach_thread();
    let (current, queued) = (Overlapped::new(), Overlapped::new());
    assert_eq!(t.read_overlapped(h, 16, 0, &current), Ok(STATUS_PENDING));
    assert_eq!(t.read_overlapped(h, 16, 0, &queued), Ok(STATUS_PENDING));
    // Virtual time moves a millisecond at a time while CancelIo waits (its polls and the
    // stopped transfer's DPC need it); a 60 s transfer would take 60 000 steps.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticker = {
        let (k, stop) = (k.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Acquire) {
                k.advance(Duration::from_millis(1));
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    assert_eq!(t.cancel_io(h), STATUS_SUCCESS);
    stop.store(true, Ordering::Release);
    ticker.join().unwrap();
    assert_eq!(t.outstanding(), 0);
    assert_eq!(current.status_block().status, STATUS_CANCELLED);
    assert_eq!(queued.status_block().status, STATUS_CANCELLED);
    assert!(k.clock().now() < Duration::from_secs(60), "the current transfer was stopped, not waited out");
    assert_eq!(dev.stats.transferred.load(Ordering::Relaxed), 0);
    assert_eq!(dev.stats.cancelled_queued.load(Ordering::Relaxed), 1);
    assert_eq!(dev.stats.cancelled_current.load(Ordering::Relaxed), 1);
    t.exit();
    p.terminate();
    assert_eq!(k.verifier().report_count(), 0, "{:#?}", k.verifier().reports());
}
