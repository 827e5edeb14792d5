//! Requests as futures (run on tokio's current-thread runtime), and per-request timeouts
//! on the kernel's clock.

mod common;

use std::time::{Duration, Instant};

use common::Requester;
use irpkit::clock::VirtualClock;
use irpkit::io::Overlapped;
use irpkit::nt::{STATUS_CANCELLED, STATUS_PENDING, STATUS_SUCCESS};
use irpkit::verifier::VerifierMode;
use irpkit::Kernel;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
}

fn kernel() -> Kernel {
    Kernel::builder().verifier_mode(VerifierMode::Record).build()
}

#[test]
fn a_future_resolves_with_its_status_and_buffer() {
    let k = kernel();
    let Requester { dev, p, h, t } = Requester::new(&k);
    let fut = t.read_async(h, vec![0u8; 64], 0).unwrap();
    assert_eq!(fut.dispatch_status(), STATUS_PENDING);
    let d = dev.clone();
    let completer = std::thread::spawn(move || {
        let _e = d.kernel().enter();
        while d.complete_next(48).is_none() {
            std::thread::yield_now();
        }
    });
    let (status, buffer) = runtime().block_on(fut);
    completer.join().unwrap();
    assert_eq!((status.status, status.information), (STATUS_SUCCESS, 48));
    assert_eq!(buffer.len(), 64, "the buffer comes back");
    assert_eq!(p.unclaimed_results(), 0);
    t.exit();
    p.terminate();
    assert_eq!(k.irps_outstanding(), 0);
    assert_eq!(k.verifier().report_count(), 0);
}

#[test]
fn dropping_a_pending_future_cancels_the_request() {
    let k = kernel();
    let Requester { dev, p, h, t } = Requester::new(&k);
    let keep = t.read_async(h, vec![0; 8], 0).unwrap();
    let fut = t.read_async(h, vec![0; 8], 0).unwrap();
    assert_eq!(dev.queued(), 2);
    drop(fut); // as CancelIoEx for that one request
    assert_eq!(dev.queued(), 1, "only the dropped future's request was cancelled");
    assert_eq!(t.outstanding(), 1);
    assert_eq!(p.unclaimed_results(), 0, "the detached result was freed on arrival");
    dev.complete_next(8);
    let (status, _) = runtime().block_on(keep);
    assert_eq!(status.status, STATUS_SUCCESS);
    t.exit();
    p.terminate();
    assert_eq!(k.irps_outstanding(), 0);
}

#[test]
fn cancel_await_returns_cancelled_or_the_real_result() {
    let k = kernel();
    let Requester { dev, p, h, t } = Requester::new(&k);
    let rt = runtime();
    let fut = t.read_async(h, vec![0; 8], 0).unwrap();
    let (status, buffer) = rt.block_on(fut.cancel());
    assert_eq!((status.status, status.information, buffer.len()), (STATUS_CANCELLED, 0, 8));
    // The completion wins: the cancel is too late, the real result stands.
    let fut = t.read_async(h, vec![0; 8], 0).unwrap();
    dev.complete_next(5);
    let (status, _) = rt.block_on(fut.cancel());
    assert_eq!((status.status, status.information), (STATUS_SUCCESS, 5));
    t.exit();
    p.terminate();
    assert_eq!(k.irps_outstanding(), 0);
    assert_eq!(k.verifier().report_count(), 0);
}

#[test]
fn a_forgotten_future_leaves_the_irp_completed_and_its_buffer_freed_once() {
    let k = kernel();
    let Requester { dev, p, h, t } = Requester::new(&k);
    let fut = t.read_async(h, vec![0; 8], 0).unwrap();
    std::mem::forget(fut);
    dev.complete_next(8);
    assert_eq!(t.outstanding(), 0, "the IRP completed");
    assert_eq!(k.irps_outstanding(), 0, "and was freed");
    assert_eq!(p.unclaimed_results(), 1, "its result (and buffer) wait for a future that never comes");
    t.exit();
    p.terminate();
    assert_eq!(p.unclaimed_results(), 0, "freed with the process, once");
}

#[test]
fn executor_timeouts_compose() {
    let k = kernel();
    let Requester { dev, p, h, t } = Requester::new(&k);
    let fut = t.read_async(h, vec![0; 8], 0).unwrap();
    let r = runtime().block_on(async { tokio::time::timeout(Duration::from_millis(20), fut).await });
    assert!(r.is_err(), "the device never completes: the timeout elapses");
    assert_eq!(dev.queued(), 0, "dropping the timed-out future cancelled the request");
    assert_eq!(t.outstanding(), 0);
    t.exit();
    p.terminate();
    assert_eq!(k.irps_outstanding(), 0);
}

#[test]
fn per_request_timeout_on_the_kernel_clock() {
    let k = Kernel::builder().verifier_mode(VerifierMode::Record).clock(VirtualClock::new()).build();
    let Requester { dev, p, h, t } = Requester::new(&k);
    // A request the device never finishes: cancelled when its 2 s are up.
    let slow = Overlapped::new();
    t.read_overlapped(h, 8, 0, &slow).unwrap();
    let timeout = p.cancel_after(h, &slow, Duration::from_secs(2));
    k.advance(Duration::from_millis(1999));
    assert!(!timeout.fired() && !slow.is_signalled(), "not yet");
    k.advance(Duration::from_millis(1));
    assert!(timeout.fired());
    assert_eq!(slow.status_block().status, STATUS_CANCELLED);
    // A request that finishes in time: its timeout, dropped, never fires.
    let quick = Overlapped::new();
    t.read_overlapped(h, 8, 0, &quick).unwrap();
    let timeout = p.cancel_after(h, &quick, Duration::from_secs(2));
    dev.complete_next(8);
    assert_eq!(quick.status_block().status, STATUS_SUCCESS);
    drop(timeout);
    k.advance(Duration::from_secs(10));
    assert_eq!(quick.status_block().status, STATUS_SUCCESS);
    // A timeout that fires after its request completed finds nothing to cancel.
    let done = Overlapped::new();
    t.read_overlapped(h, 8, 0, &done).unwrap();
    let late = p.cancel_after(h, &done, Duration::from_secs(1));
    dev.complete_next(8);
    k.advance(Duration::from_secs(1));
    assert!(late.fired());
    assert_eq!(done.status_block().status, STATUS_SUCCESS, "a timeout never completes a request itself");
    let started = Instant::now();
    t.exit();
    p.terminate();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(k.irps_outstanding(), 0);
    assert_eq!(k.verifier().report_count(), 0, "{:#?}", k.verifier().reports());
}
