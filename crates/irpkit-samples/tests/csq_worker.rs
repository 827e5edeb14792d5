//! The cancel-safe-queue worker sample: transfers, cancellation, IRP_MJ_CLEANUP per file
//! object, the cleanup-vs-worker race, shutdown with the remove lock, and a stress run.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use irpkit::clock::VirtualClock;
use irpkit::nt::{
    self, FileObject, IoStatusBlock, STATUS_CANCELLED, STATUS_DELETE_PENDING, STATUS_PENDING, STATUS_SUCCESS,
};
use irpkit::safe::{create_device, Device, Request, SentRequest};
use irpkit::verifier::VerifierMode;
use irpkit::Kernel;
use irpkit_samples::csq_worker::CsqWorker;

fn file(n: usize) -> *mut FileObject {
    // Only compared, never dereferenced.
    std::ptr::without_provenance_mut(0x1000 * n)
}

fn device(k: &Kernel, transfer: Duration, poll: Duration) -> Arc<Device<CsqWorker>> {
    let d = Arc::new(create_device(k, "Worker0", CsqWorker::new(transfer, poll)).unwrap());
    CsqWorker::start(&d);
    d
}

fn read(k: &Kernel, d: &Device<CsqWorker>, f: *mut FileObject) -> SentRequest {
    Request::read(k, d.device_ref(), 32, 0).unwrap().file_object(f).send()
}

fn cleanup(k: &Kernel, d: &Device<CsqWorker>, f: *mut FileObject) -> IoStatusBlock {
    Request::new(k, d.device_ref(), nt::IRP_MJ_CLEANUP).unwrap().file_object(f).send().wait()
}

fn wait(s: &SentRequest) -> IoStatusBlock {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(r) = s.try_result() {
            return r;
        }
        assert!(Instant::now() < deadline, "request IRP #{} never completed", s.id());
        std::thread::yield_now();
    }
}

fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::yield_now();
    }
}

/// Moves virtual time a millisecond at a time until `cond` holds: the worker arms its
/// transfer timer on its own thread, whenever it gets there, so one big step could come
/// before the timer exists.
fn advance_until(k: &Kernel, what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        k.advance(Duration::from_millis(1));
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn kernel() -> Kernel {
    Kernel::builder().verifier_mode(VerifierMode::Record).clock(VirtualClock::new()).build()
}

#[test]
fn worker_transfers_reads() {
    let k = kernel();
    let _e = k.enter();
    let _dpc = k.start_dpc_thread();
    let d = device(&k, Duration::from_millis(5), Duration::from_millis(1));
    let reqs: Vec<_> = (0..20).map(|_| read(&k, &d, file(1))).collect();
    for r in &reqs {
        assert_eq!(r.dispatch_status(), STATUS_PENDING);
        assert_eq!(wait(r), IoStatusBlock { status: STATUS_SUCCESS, information: 32 });
    }
    d.shutdown();
    assert_eq!(d.stats.transferred.load(Ordering::Relaxed), 20);
    drop(reqs);
    assert_eq!(k.irps_outstanding(), 0);
    assert_eq!(k.verifier().report_count(), 0, "{:#?}", k.verifier().reports());
}

#[test]
fn cancel_and_cleanup_per_file_and_the_worker_race() {
    let k = kernel();
    let _e = k.enter();
    // No DPC thread: virtual time moves only when the test says.
    let d = device(&k, Duration::from_millis(10), Duration::ZERO);
    let (a, b) = (file(1), file(2));
    let first = read(&k, &d, a);
    until("the worker took the first read", || d.queued() == 0);
    // The worker holds `first` (transferring). More reads queue up behind it.
    let a2 = read(&k, &d, a);
    let b1 = read(&k, &d, b);
    let a3 = read(&k, &d, a);
    assert_eq!(d.queued(), 3);
    // Cancel one of them: the library cancel routine removes it, the handler completes it.
    assert!(a3.cancel());
    assert_eq!(wait(&a3), IoStatusBlock { status: STATUS_CANCELLED, information: 0 });
    // Cleanup of file A: its queued read is cancelled; `first`, already dequeued by the
    // worker, is not in the queue — the worker completes it. Exactly one of them does.
    assert_eq!(cleanup(&k, &d, a).status, STATUS_SUCCESS);
    assert_eq!(wait(&a2), IoStatusBlock { status: STATUS_CANCELLED, information: 0 });
    assert!(first.try_result().is_none(), "cleanup did not touch the IRP the worker holds");
    assert_eq!(d.queued(), 1, "file B's read is still queued");
    advance_until(&k, "the worker finished the first read", || first.try_result().is_some());
    assert_eq!(wait(&first), IoStatusBlock { status: STATUS_SUCCESS, information: 32 });
    advance_until(&k, "the worker finished file B's read", || b1.try_result().is_some());
    assert_eq!(wait(&b1).status, STATUS_SUCCESS);
    assert_eq!(d.stats.cleaned_up.load(Ordering::Relaxed), 1);
    assert_eq!(d.stats.cancelled.load(Ordering::Relaxed), 1);
    assert_eq!(d.stats.transferred.load(Ordering::Relaxed), 2);
    d.shutdown();
    drop((first, a2, b1, a3));
    assert_eq!(k.irps_outstanding(), 0);
    assert_eq!(k.verifier().report_count(), 0, "{:#?}", k.verifier().reports());
}

#[test]
fn shutdown_cancels_the_queue_and_refuses_new_reads() {
    let k = kernel();
    let _e = k.enter();
    let d = device(&k, Duration::from_millis(10), Duration::ZERO);
    let held = read(&k, &d, file(1));
    until("the worker took the first read", || d.queued() == 0);
    let queued: Vec<_> = (0..3).map(|_| read(&k, &d, file(1))).collect();
    // Shutdown waits for the worker, which is mid-transfer: let virtual time run — once
    // shutdown has begun, so that the worker, finishing the transfer, sees it and takes
    // none of the queued reads (time moving earlier would let it start one).
    let clock = k.clone();
    let stopping = d.clone();
    let ticker = std::thread::spawn(move || {
        until("shutdown began", || stopping.is_stopping());
        for _ in 0..50 {
            clock.advance(Duration::from_millis(10));
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    d.shutdown();
    ticker.join().unwrap();
    assert_eq!(wait(&held).status, STATUS_SUCCESS, "the transfer in progress finished");
    for r in &queued {
        assert_eq!(wait(r).status, STATUS_CANCELLED);
    }
    let late = read(&k, &d, file(1));
    assert_eq!(late.dispatch_status(), STATUS_DELETE_PENDING);
    assert_eq!(wait(&late).status, STATUS_DELETE_PENDING);
    assert_eq!(d.stats.refused.load(Ordering::Relaxed), 1);
    drop((held, queued, late));
    assert_eq!(k.irps_outstanding(), 0);
    assert_eq!(k.verifier().report_count(), 0, "{:#?}", k.verifier().reports());
}

#[test]
fn stress_readers_cancellers_and_cleanups() {
    let k = Kernel::builder().verifier_mode(VerifierMode::Record).build();
    let _e = k.enter();
    let d = device(&k, Duration::ZERO, Duration::ZERO);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (k2, d) = (k.clone(), d.clone());
            k.spawn(move || {
                let f = file(t % 2 + 1);
                let mut outcomes = [0usize; 2];
                for i in 0..800 {
                    let r = read(&k2, &d, f);
                    if i % 3 == 0 {
                        r.cancel();
                    }
                    if i % 97 == 0 {
                        cleanup(&k2, &d, f);
                    }
                    let s = wait(&r);
                    match s.status {
                        STATUS_SUCCESS => outcomes[0] += 1,
                        STATUS_CANCELLED => {
                            assert_eq!(s.information, 0);
                            outcomes[1] += 1
                        }
                        other => panic!("unexpected {other:#x}"),
                    }
                }
                outcomes
            })
        })
        .collect();
    let (mut ok, mut cancelled) = (0, 0);
    for t in threads {
        let [o, c] = t.join().unwrap();
        ok += o;
        cancelled += c;
    }
    d.shutdown();
    let st = &d.stats;
    assert_eq!(ok + cancelled, 3200, "every read accounted for");
    assert_eq!(st.transferred.load(Ordering::Relaxed) as usize, ok);
    assert_eq!((st.cancelled.load(Ordering::Relaxed) + st.cleaned_up.load(Ordering::Relaxed)) as usize, cancelled);
    assert_eq!(d.queued(), 0);
    assert_eq!(k.irps_outstanding(), 0);
    assert_eq!(k.verifier().report_count(), 0, "{:#?}", k.verifier().reports());
}
