//! The pending-read sample through the safe API: completion, cancellation while queued,
//! cancellation before the routine is set, late cancellation, leaks, and a multi-threaded
//! stress run where every request must complete exactly once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use irpkit::nt::{self, STATUS_CANCELLED, STATUS_PENDING, STATUS_SUCCESS};
use irpkit::safe::{create_device, DeviceRef, Dispatched, Driver, Irp, Request};
use irpkit::verifier::VerifierMode;
use irpkit::Kernel;
use irpkit_samples::pending_read::PendingRead;

fn kernel() -> Kernel {
    Kernel::builder().verifier_mode(VerifierMode::Record).build()
}

#[test]
fn completed_by_the_device() {
    let k = kernel();
    let _e = k.enter();
    let dev = create_device(&k, "PR", PendingRead::new()).unwrap();
    let s = Request::read(&k, dev.device_ref(), 100, 0).unwrap().send();
    assert_eq!(s.dispatch_status(), STATUS_PENDING);
    assert!(s.try_result().is_none());
    assert_eq!(dev.complete_next(64), Some(s.id()));
    let r = s.wait();
    assert_eq!((r.status, r.information), (STATUS_SUCCESS, 64));
    assert_eq!(dev.queued(), 0);
    assert_eq!(k.irps_outstanding(), 0);
    assert_eq!(k.verifier().report_count(), 0);
}

#[test]
fn cancelled_while_queued_then_device_skips_it() {
    let k = kernel();
    let _e = k.enter();
    let dev = create_device(&k, "PR", PendingRead::new()).unwrap();
    let a = Request::read(&k, dev.device_ref(), 10, 0).unwrap().send();
    let b = Request::read(&k, dev.device_ref(), 10, 0).unwrap().send();
    assert!(a.cancel(), "a cancel routine ran");
    assert!(!a.cancel(), "a second cancel finds no routine");
    let ra = a.wait();
    assert_eq!((ra.status, ra.information), (STATUS_CANCELLED, 0));
    assert_eq!(dev.queued(), 1, "the cancel routine unlinked it");
    assert_eq!(dev.complete_next(10), Some(b.id()));
    assert_eq!(b.wait().status, STATUS_SUCCESS);
    assert_eq!(k.verifier().report_count(), 0);
    assert_eq!(k.irps_outstanding(), 0);
}

#[test]
fn cancelled_before_the_routine_is_set() {
    let k = kernel();
    let _e = k.enter();
    let dev = create_device(&k, "PR", PendingRead::new()).unwrap();
    let req = Request::read(&k, dev.device_ref(), 10, 0).unwrap();
    // The creator cancels before sending: no routine yet, IoCancelIrp returns FALSE and
    // only sets Cancel. The dispatch routine must see it after setting its routine.
    // SAFETY: the request's IRP is live and owned by its creator, this test.
    assert!(!unsafe { nt::io_cancel_irp(req.as_ptr()) });
    let s = req.send();
    assert_eq!(s.dispatch_status(), STATUS_PENDING);
    assert_eq!(s.try_result().map(|r| r.status), Some(STATUS_CANCELLED));
    assert_eq!(dev.queued(), 0);
    drop(s);
    assert_eq!(k.verifier().report_count(), 0);
    assert_eq!(k.irps_outstanding(), 0);
}

#[test]
fn late_cancel_keeps_the_real_result() {
    let k = kernel();
    let _e = k.enter();
    let dev = create_device(&k, "PR", PendingRead::new()).unwrap();
    let s = Request::read(&k, dev.device_ref(), 10, 0).unwrap().send();
    dev.complete_next(10);
    assert!(!s.cancel());
    assert_eq!(s.wait().status, STATUS_SUCCESS);
    assert_eq!(k.verifier().report_count(), 0);
}

#[test]
fn dropping_a_sent_request_detaches_it() {
    let k = kernel();
    let _e = k.enter();
    let dev = create_device(&k, "PR", PendingRead::new()).unwrap();
    let s = Request::read(&k, dev.device_ref(), 10, 0).unwrap().send();
    drop(s); // the creator loses interest; the IRP stays the driver's
    assert_eq!(k.irps_outstanding(), 1);
    dev.complete_next(10);
    assert_eq!(k.irps_outstanding(), 0, "completion freed the detached IRP");
    assert_eq!(k.verifier().report_count(), 0);
}

/// A buggy safe driver: marks the IRP pending, then forgets it.
struct Forgets;
impl Driver for Forgets {
    fn dispatch(&self, _device: &DeviceRef, mut irp: Irp) -> Dispatched {
        let pending = irp.mark_pending();
        drop(irp); // bug: neither completed, queued nor passed on
        pending.into()
    }
}

#[test]
fn a_dropped_irp_is_reported_and_still_completed() {
    let k = kernel();
    let _e = k.enter();
    let dev = create_device(&k, "Forgets", Forgets).unwrap();
    let s = Request::read(&k, dev.device_ref(), 10, 0).unwrap().send();
    assert_eq!(s.dispatch_status(), STATUS_PENDING);
    let r = s.wait_timeout(Some(Duration::from_secs(5))).expect("the request is not lost");
    assert_eq!(r.status, STATUS_CANCELLED);
    let reports = k.verifier().take_reports();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert_eq!(reports[0].rule.id(), "irp-leaked");
    assert!(reports[0].location.routine.contains("dispatch routine for IRP_MJ_READ"), "{}", reports[0]);
    assert_eq!(k.irps_outstanding(), 0);
}

#[test]
fn stress_requesters_hardware_and_canceller() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 1500;
    let k = kernel();
    let _e = k.enter();
    let dev = Arc::new(create_device(&k, "PR", PendingRead::new()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));

    let hardware = {
        let (dev, stop) = (dev.clone(), stop.clone());
        k.spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Acquire) || dev.queued() > 0 {
                if dev.complete_next(7).is_some() {
                    n += 1;
                } else {
                    std::thread::yield_now();
                }
            }
            n
        })
    };

    let requesters: Vec<_> = (0..THREADS)
        .map(|t| {
            let (k2, dev) = (k.clone(), dev.clone());
            k.spawn(move || {
                let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (t as u64 + 1);
                let mut next = || {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    rng
                };
                let (mut cancelled, mut completed, mut cancel_true) = (0usize, 0usize, 0usize);
                for _ in 0..PER_THREAD {
                    let s = Request::read(&k2, dev.device_ref(), 7, 0).unwrap().send();
                    let wants_cancel = next() % 2 == 0;
                    if wants_cancel {
                        for _ in 0..(next() % 50) {
                            std::hint::spin_loop();
                        }
                        cancel_true += usize::from(s.cancel());
                    }
                    let r = s.wait_timeout(Some(Duration::from_secs(20))).expect("every request completes");
                    match r.status {
                        STATUS_CANCELLED => {
                            assert!(wants_cancel, "only requests we cancelled end cancelled");
                            assert_eq!(r.information, 0);
                            cancelled += 1;
                        }
                        STATUS_SUCCESS => {
                            assert_eq!(r.information, 7);
                            completed += 1;
                        }
                        other => panic!("unexpected status {other:#x}"),
                    }
                }
                assert_eq!(
                    cancel_true, cancelled,
                    "TRUE from IoCancelIrp exactly when the cancel routine completed it"
                );
                (cancelled, completed)
            })
        })
        .collect();

    let (mut cancelled, mut completed) = (0, 0);
    for r in requesters {
        let (c, d) = r.join().unwrap();
        cancelled += c;
        completed += d;
    }
    stop.store(true, Ordering::Release);
    let by_hardware = hardware.join().unwrap();
    assert_eq!(cancelled + completed, THREADS * PER_THREAD, "every request accounted for");
    assert_eq!(by_hardware as usize, completed, "the hardware completed exactly the successful ones");
    assert!(cancelled > 0 && completed > 0, "both paths exercised: {cancelled} cancelled, {completed} completed");
    assert_eq!(dev.queued(), 0);
    assert_eq!(k.irps_outstanding(), 0);
    assert_eq!(k.verifier().report_count(), 0, "{:#?}", k.verifier().reports());
}

/// A request IoCallDriver refuses before any driver sees it (here it has no stack
/// location left) still gets a result: the refusal's status.
#[test]
fn a_refused_request_still_completes() {
    let k = kernel();
    let _e = k.enter();
    let dev = create_device(&k, "PR", PendingRead::new()).unwrap();
    let req = Request::read(&k, dev.device_ref(), 10, 0).unwrap();
    // SAFETY: the unsent IRP is ours; using its only location ourselves leaves none.
    unsafe { nt::io_set_next_irp_stack_location(req.as_ptr()) };
    let s = req.send();
    assert_eq!(s.dispatch_status(), nt::STATUS_INVALID_PARAMETER);
    assert_eq!(s.try_result().map(|r| r.status), Some(nt::STATUS_INVALID_PARAMETER));
    let reports = k.verifier().take_reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].rule.id(), "no-more-irp-stack-locations");
    assert_eq!(dev.queued(), 0);
    drop(s);
    assert_eq!(k.irps_outstanding(), 0);
}

fn file(n: usize) -> *mut nt::FileObject {
    // Only compared, never dereferenced.
    std::ptr::without_provenance_mut(0x1000 * n)
}

#[test]
fn cleanup_cancels_that_files_queued_reads_only() {
    let k = kernel();
    let _e = k.enter();
    let dev = create_device(&k, "PR", PendingRead::new()).unwrap();
    let read = |f| Request::read(&k, dev.device_ref(), 10, 0).unwrap().file_object(f).send();
    let (a1, b, a2) = (read(file(1)), read(file(2)), read(file(1)));
    let cleanup = Request::new(&k, dev.device_ref(), nt::IRP_MJ_CLEANUP).unwrap().file_object(file(1)).send().wait();
    assert_eq!(cleanup.status, STATUS_SUCCESS);
    for s in [&a1, &a2] {
        assert_eq!(s.try_result().map(|r| (r.status, r.information)), Some((STATUS_CANCELLED, 0)));
    }
    assert!(b.try_result().is_none(), "another file's read stays queued");
    assert_eq!(dev.queued(), 1);
    // The hardware path still finds the other file's read; the cancelled ones are gone.
    assert_eq!(dev.complete_next(4), Some(b.id()));
    assert_eq!(dev.complete_next(4), None);
    drop((a1, a2, b));
    assert_eq!(k.irps_outstanding(), 0);
    assert_eq!(k.verifier().report_count(), 0, "{:#?}", k.verifier().reports());
}
