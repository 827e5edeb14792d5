//! Loom checks of cancel-safe queues: insert vs. cancel and remove vs. cancel. In every
//! interleaving the IRP is completed exactly once, removed before it is completed (the
//! test queue asserts it), never returned by a removal while it is being cancelled, and
//! the queue ends empty.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p irpkit --release --test loom_csq`.
#![cfg(loom)]

mod common;

use std::ptr;
use std::sync::atomic::Ordering;

use common::csq::*;
use common::*;
use irpkit::nt::*;

fn model(f: impl Fn() + Sync + Send + 'static) {
    loom_model(3, f);
}

fn finish_removed(irp: *mut Irp) {
    // SAFETY: an IRP a removal returned is owned by the caller.
    unsafe {
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 1 };
        io_complete_request(irp, 0);
    }
}

#[test]
fn loom_csq_insert_vs_cancel() {
    model(|| {
        let f = Fixture::new(pend_plain);
        let dev = add_csq_device(&f.kernel, "Csq0", false);
        let obs = Box::leak(Box::new(Obs::default()));
        // SAFETY: a fresh IRP for a live device.
        let irp = unsafe { new_read(dev, obs) };
        let (d, i) = (dev as usize, irp as usize);
        // SAFETY: sending and cancelling (as its creator) a live IRP.
        let sender = f.kernel.spawn(move || unsafe { io_call_driver(d as *mut DeviceObject, i as *mut Irp) });
        // SAFETY: as above.
        unsafe { io_cancel_irp(irp) };
        assert_eq!(sender.join().unwrap(), STATUS_PENDING);
        // SAFETY: the queue is live.
        let left = unsafe { io_csq_remove_next_irp(csq_of(dev).csq_ptr(), ptr::null_mut()) };
        assert!(left.is_null(), "a cancelled IRP is never handed out");
        assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1, "completed exactly once");
        assert_eq!(obs.creator_status.load(Ordering::SeqCst), STATUS_CANCELLED);
        assert_eq!(csq_of(dev).len(), 0);
        // SAFETY: completed and kept by its creator.
        unsafe { io_free_irp(irp) };
    });
}

#[test]
fn loom_csq_remove_next_vs_cancel() {
    model(|| {
        let f = Fixture::new(pend_plain);
        let dev = add_csq_device(&f.kernel, "Csq0", false);
        let obs = Box::leak(Box::new(Obs::default()));
        // SAFETY: a fresh IRP for a live device.
        let irp = unsafe {
            let irp = new_read(dev, obs);
            assert_eq!(io_call_driver(dev, irp), STATUS_PENDING);
            irp
        };
        let (d, i) = (dev as usize, irp as usize);
        let worker = f.kernel.spawn(move || {
            // SAFETY: the queue is live; a returned IRP is ours.
            let got = unsafe { io_csq_remove_next_irp(csq_of(d as *mut DeviceObject).csq_ptr(), ptr::null_mut()) };
            if !got.is_null() {
                assert_eq!(got as usize, i);
                finish_removed(got);
            }
            !got.is_null()
        });
        // SAFETY: the creator cancels its own IRP.
        let called = unsafe { io_cancel_irp(irp) };
        let worker_won = worker.join().unwrap();
        assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1, "completed exactly once");
        assert_eq!(worker_won, !called, "exactly one of removal and cancellation took it");
        let status = obs.creator_status.load(Ordering::SeqCst);
        assert_eq!(status, if worker_won { STATUS_SUCCESS } else { STATUS_CANCELLED });
        assert_eq!(csq_of(dev).len(), 0);
        // SAFETY: completed and kept by its creator.
        unsafe { io_free_irp(irp) };
    });
}

#[test]
fn loom_csq_remove_by_context_vs_cancel() {
    model(|| {
        let f = Fixture::new(pend_plain);
        let dev = add_csq_device(&f.kernel, "Csq0", false);
        let obs = Box::leak(Box::new(Obs::default()));
        let ctx = Box::leak(Box::new(IoCsqIrpContext::new()));
        // SAFETY: a fresh IRP for a live device; the context outlives it.
        let irp = unsafe {
            let irp = new_read(dev, obs);
            (*Irp::driver_context(irp))[1] = (ctx as *mut IoCsqIrpContext).cast();
            assert_eq!(io_call_driver(dev, irp), STATUS_PENDING);
            irp
        };
        let (d, c) = (dev as usize, ctx as *mut IoCsqIrpContext as usize);
        let worker = f.kernel.spawn(move || {
            // SAFETY: the queue and context are live; a returned IRP is ours.
            let got = unsafe { io_csq_remove_irp(csq_of(d as *mut DeviceObject).csq_ptr(), c as *mut IoCsqIrpContext) };
            if !got.is_null() {
                finish_removed(got);
            }
            !got.is_null()
        });
        // SAFETY: the creator cancels its own IRP.
        let called = unsafe { io_cancel_irp(irp) };
        let worker_won = worker.join().unwrap();
        assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1, "completed exactly once");
        assert_eq!(worker_won, !called);
        assert!(ctx.irp.is_null(), "the context is unlinked either way");
        // SAFETY: completed and kept by its creator.
        unsafe { io_free_irp(irp) };
    });
}

/// The typed queue on the same protocol: a consumer's pop racing a ticket's cancel, and
/// the queue being dropped while a cancellation runs. Exactly one side gets the item.
#[test]
fn loom_typed_queue_pop_vs_cancel_vs_drop() {
    use irpkit::safe::{CancelQueue, Outcome};
    model(|| {
        let cancelled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = cancelled.clone();
        let q = loom::sync::Arc::new(CancelQueue::with_cancel_handler(move |_: u32| {
            c.fetch_add(1, Ordering::SeqCst);
        }));
        let t = q.push(7);
        let q2 = q.clone();
        let popper = loom::thread::spawn(move || {
            let got = q2.pop();
            drop(q2); // may be the last handle: the drop then waits for the cancellation
            got
        });
        let won = t.cancel();
        drop(q);
        let popped = popper.join().unwrap();
        assert_eq!(popped.is_some(), !won, "exactly one side got the item");
        assert_eq!(cancelled.load(Ordering::SeqCst), usize::from(won));
        assert_eq!(t.outcome(), if won { Outcome::Cancelled } else { Outcome::Taken });
    });
}
