//! The safe `CancelSafeIrpQueue`: order (FIFO, by key), capacity refusal, cancellation from
//! another thread, cleanup by file object, and dropping a queue with IRPs in it.
#![cfg(not(any(loom, shuttle)))]

use std::sync::atomic::{AtomicUsize, Ordering};

use irpkit::nt::{self, STATUS_CANCELLED, STATUS_DEVICE_NOT_READY, STATUS_PENDING, STATUS_SUCCESS};
use irpkit::safe::{create_device, CancelSafeIrpQueue, DeviceRef, Dispatched, Driver, Irp, Request};
use irpkit::verifier::VerifierMode;
use irpkit::Kernel;

struct Queued(CancelSafeIrpQueue);

impl Driver for Queued {
    fn dispatch(&self, _d: &DeviceRef, irp: Irp) -> Dispatched {
        match self.0.insert(irp) {
            Ok(pending) => pending.into(),
            Err(refused) => refused.complete(STATUS_DEVICE_NOT_READY, 0).into(),
        }
    }
}

fn kernel() -> Kernel {
    Kernel::builder().verifier_mode(VerifierMode::Record).build()
}

fn offsets_out(q: &CancelSafeIrpQueue) -> Vec<i64> {
    std::iter::from_fn(|| q.remove_next())
        .map(|irp| {
            let o = irp.byte_offset().unwrap();
            irp.complete(STATUS_SUCCESS, 0);
            o
        })
        .collect()
}

#[test]
fn fifo_and_by_key_order() {
    let k = kernel();
    let _e = k.enter();
    let fifo = create_device(&k, "Fifo", Queued(CancelSafeIrpQueue::new())).unwrap();
    let keyed =
        create_device(&k, "Keyed", Queued(CancelSafeIrpQueue::by_key(|irp| irp.byte_offset().unwrap_or(0) as u64)))
            .unwrap();
    let offsets = [30i64, 10, 20, 10, 40];
    let mut sent = Vec::new();
    for &o in &offsets {
        sent.push(Request::read(&k, fifo.device_ref(), 1, o).unwrap().send());
        sent.push(Request::read(&k, keyed.device_ref(), 1, o).unwrap().send());
    }
    assert!(sent.iter().all(|s| s.dispatch_status() == STATUS_PENDING));
    assert_eq!(offsets_out(&fifo.0), vec![30, 10, 20, 10, 40]);
    assert_eq!(offsets_out(&keyed.0), vec![10, 10, 20, 30, 40]);
    assert!(sent.iter().all(|s| s.try_result().map(|r| r.status) == Some(STATUS_SUCCESS)));
    drop(sent);
    assert_eq!(k.irps_outstanding(), 0);
    assert_eq!(k.verifier().report_count(), 0);
}

#[test]
fn capacity_limit_refuses_untouched() {
    let k = kernel();
    let _e = k.enter();
    let d = create_device(&k, "Small", Queued(CancelSafeIrpQueue::with_capacity_limit(2))).unwrap();
    let s: Vec<_> = (0..3).map(|i| Request::read(&k, d.device_ref(), 1, i).unwrap().send()).collect();
    assert_eq!(s[2].dispatch_status(), STATUS_DEVICE_NOT_READY);
    assert_eq!(s[2].try_result().map(|r| r.status), Some(STATUS_DEVICE_NOT_READY));
    assert_eq!(d.0.len(), 2);
    assert_eq!(offsets_out(&d.0), vec![0, 1]);
    assert_eq!(k.verifier().report_count(), 0);
}

#[test]
fn cancel_from_another_thread_and_cleanup_by_file() {
    let k = kernel();
    let _e = k.enter();
    let d = create_device(&k, "Q", Queued(CancelSafeIrpQueue::new())).unwrap();
    let (fa, fb): (*mut nt::FileObject, *mut nt::FileObject) =
        (std::ptr::without_provenance_mut(0x1000), std::ptr::without_provenance_mut(0x2000));
    let a: Vec<_> = (0..4).map(|i| Request::read(&k, d.device_ref(), 1, i).unwrap().file_object(fa).send()).collect();
    let b: Vec<_> = (0..4).map(|i| Request::read(&k, d.device_ref(), 1, i).unwrap().file_object(fb).send()).collect();
    let a = std::sync::Arc::new(a);
    let canceller = {
        let a = a.clone();
        k.spawn(move || a.iter().step_by(2).filter(|s| s.cancel()).count())
    };
    assert_eq!(canceller.join().unwrap(), 2);
    assert_eq!(d.0.cancelled(), 2);
    // Cleanup of file A: the rest of A's requests.
    let mut cleaned = 0;
    while let Some(irp) = d.0.remove_next_for_file(fa) {
        irp.complete_cancelled();
        cleaned += 1;
    }
    assert_eq!(cleaned, 2);
    assert!(a.iter().all(|s| s.try_result().map(|r| (r.status, r.information)) == Some((STATUS_CANCELLED, 0))));
    assert_eq!(d.0.len(), 4, "file B untouched");
    assert!(b.iter().all(|s| s.try_result().is_none()));
    assert_eq!(offsets_out(&d.0), vec![0, 1, 2, 3]);
    assert_eq!(k.verifier().report_count(), 0);
}

static HANDLED: AtomicUsize = AtomicUsize::new(0);

fn handler(irp: Irp, device: Option<&DeviceRef>) {
    assert!(device.is_some_and(|d| d.name() == "\\Device\\Handled"));
    HANDLED.fetch_add(1, Ordering::SeqCst);
    irp.complete_cancelled();
}

#[test]
fn dropping_the_queue_completes_what_is_left_and_cancel_handler_runs() {
    let k = kernel();
    let _e = k.enter();
    let q = CancelSafeIrpQueue::with_cancel_handler(handler);
    let d = create_device(&k, "Handled", Queued(q)).unwrap();
    let s: Vec<_> = (0..3).map(|i| Request::read(&k, d.device_ref(), 1, i).unwrap().send()).collect();
    assert!(s[0].cancel());
    assert_eq!(HANDLED.load(Ordering::SeqCst), 1);
    // Unloading: the device state (and its queue) goes; the queued requests are not lost.
    // SAFETY: no one uses the device any more except the requests, which the queue's drop
    // completes.
    unsafe { nt::io_delete_device(d.as_ptr()) };
    assert_eq!(HANDLED.load(Ordering::SeqCst), 3);
    assert!(s.iter().all(|r| r.try_result().map(|r| r.status) == Some(STATUS_CANCELLED)));
    drop(s);
    assert_eq!(k.irps_outstanding(), 0);
    assert_eq!(k.verifier().report_count(), 0);
}
