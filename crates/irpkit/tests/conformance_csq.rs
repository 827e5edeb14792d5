//! Conformance cases K1–K6: cancel-safe IRP queues (IoCsq).
#![cfg(not(any(loom, shuttle)))]

mod common;

use std::ptr;
use std::sync::atomic::Ordering;

use common::csq::*;
use common::*;
use irpkit::nt::*;

struct Setup {
    f: Fixture,
    dev: *mut DeviceObject,
}

fn setup(ex: bool) -> Setup {
    let f = Fixture::new(pend_plain);
    let dev = add_csq_device(&f.kernel, "Csq0", ex);
    Setup { f, dev }
}

impl Drop for Setup {
    /// The extension is plain device memory, which the kernel frees without running
    /// destructors (as Windows frees a device extension): drop the `TestCsq` that
    /// `add_csq_device` wrote there, or its list and log leak.
    fn drop(&mut self) {
        // SAFETY: `add_csq_device` wrote a `TestCsq` into the extension; the test is over,
        // so no routine of the device or callback of the queue runs any more, and nothing
        // reads the extension after this.
        unsafe { ptr::drop_in_place((*self.dev).device_extension.cast::<TestCsq>()) };
    }
}

impl Setup {
    fn q(&self) -> &TestCsq {
        csq_of(self.dev)
    }
    /// Sends read `n` (optionally with a file object and a context) to the queue device.
    fn send(&self, n: u64, obs: &Obs, file: *mut FileObject, ctx: *mut IoCsqIrpContext) -> (*mut Irp, NtStatus) {
        // SAFETY: a fresh IRP for a live device; the context outlives it.
        unsafe {
            let irp = new_read(self.dev, obs);
            (*irp).user_buffer = n as *mut _;
            (*io_get_next_irp_stack_location(irp)).file_object = file;
            (*Irp::driver_context(irp))[1] = ctx.cast();
            let status = io_call_driver(self.dev, irp);
            (irp, status)
        }
    }
}

fn file(n: usize) -> *mut FileObject {
    // Only compared, never dereferenced.
    std::ptr::without_provenance_mut(0x1000 * n)
}

/// K1: insert then RemoveNext returns the IRP; a cancel after removal finds no routine.
#[test]
fn csq_k1_insert_then_remove_next() {
    let s = setup(false);
    let obs = Obs::default();
    let (irp, status) = s.send(1, &obs, ptr::null_mut(), ptr::null_mut());
    assert_eq!(status, STATUS_PENDING);
    // SAFETY: the queue and the IRP are live; the removed IRP is ours.
    unsafe {
        assert!((*irp).cancel_routine.load().is_some(), "queued: cancelable");
        let got = io_csq_remove_next_irp(s.q().csq_ptr(), ptr::null_mut());
        assert_eq!(got, irp);
        assert!((*irp).cancel_routine.load().is_none());
        assert!((*Irp::driver_context(irp))[3].is_null(), "DriverContext[3] released");
        assert!(!io_cancel_irp(irp), "a cancel after removal finds no routine");
        assert!(io_csq_remove_next_irp(s.q().csq_ptr(), ptr::null_mut()).is_null(), "empty");
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 16 };
        io_complete_request(irp, 0);
        io_free_irp(irp);
    }
    assert_eq!(s.q().cancelled.load(Ordering::SeqCst), 0);
}

/// K2: cancel while queued: the remove callback runs, then CompleteCanceledIrp, in that
/// order (completion outside the queue lock); RemoveNext never returns it.
#[test]
fn csq_k2_cancel_while_queued() {
    let s = setup(false);
    let (o1, o2) = (Obs::default(), Obs::default());
    let (a, _) = s.send(1, &o1, ptr::null_mut(), ptr::null_mut());
    let (b, _) = s.send(2, &o2, ptr::null_mut(), ptr::null_mut());
    s.q().log.lock().unwrap().clear();
    // SAFETY: the creator cancels its own IRP; removed IRPs are ours.
    unsafe {
        assert!(io_cancel_irp(a));
        assert_eq!(s.q().events(), vec!["acquire", "remove #1", "release", "complete cancelled #1"]);
        assert_eq!(o1.creator_status.load(Ordering::SeqCst), STATUS_CANCELLED);
        assert_eq!((*a).io_status.information, 0);
        let next = io_csq_remove_next_irp(s.q().csq_ptr(), ptr::null_mut());
        assert_eq!(next, b, "RemoveNext never returns the cancelled IRP");
        (*b).io_status.status = STATUS_SUCCESS;
        io_complete_request(b, 0);
        io_free_irp(a);
        io_free_irp(b);
    }
}

/// K3: an IRP cancelled before insert: the insert completes it as cancelled through
/// CompleteCanceledIrp, after releasing the queue lock.
#[test]
fn csq_k3_cancelled_before_insert() {
    let s = setup(false);
    let obs = Obs::default();
    // SAFETY: a fresh IRP, cancelled by its creator before it is sent.
    unsafe {
        let irp = new_read(s.dev, &obs);
        (*irp).user_buffer = 7 as *mut _;
        assert!(!io_cancel_irp(irp));
        assert_eq!(io_call_driver(s.dev, irp), STATUS_PENDING, "the dispatch still returns STATUS_PENDING");
        assert_eq!(s.q().events(), vec!["acquire", "insert #7", "remove #7", "release", "complete cancelled #7"]);
        assert_eq!(obs.creator_status.load(Ordering::SeqCst), STATUS_CANCELLED);
        assert_eq!(obs.creator_pending.load(Ordering::SeqCst), 1, "it was marked pending");
        assert_eq!(s.q().len(), 0);
        io_free_irp(irp);
    }
}

/// K4: InsertEx whose insert callback fails: the failure status is returned; the IRP is
/// not marked pending and has no cancel routine.
#[test]
fn csq_k4_insert_ex_failure_leaves_the_irp_untouched() {
    let s = setup(true);
    s.q().fail_insert.store(true, Ordering::SeqCst);
    let obs = Obs::default();
    // SAFETY: a fresh IRP for a live device; inserting directly to see its state.
    unsafe {
        let irp = new_read(s.dev, &obs);
        (*irp).user_buffer = 3 as *mut _;
        io_set_next_irp_stack_location(irp); // as if dispatched to the queue's driver
        let status = io_csq_insert_irp_ex(s.q().csq_ptr(), irp, ptr::null_mut(), ptr::null_mut());
        assert_eq!(status, STATUS_DEVICE_NOT_READY);
        assert_eq!((*io_get_current_irp_stack_location(irp)).control & SL_PENDING_RETURNED, 0, "not pending");
        assert!((*irp).cancel_routine.load().is_none(), "no cancel routine");
        assert!((*Irp::driver_context(irp))[3].is_null(), "not linked");
        assert_eq!(s.q().events(), vec!["acquire", "insert #3 refused", "release"]);
        io_free_irp(irp);
        // Through a dispatch routine: the failure is the request's result.
        let (irp, status) = s.send(4, &obs, ptr::null_mut(), ptr::null_mut());
        assert_eq!(status, STATUS_DEVICE_NOT_READY);
        assert_eq!(obs.creator_status.load(Ordering::SeqCst), STATUS_DEVICE_NOT_READY);
        io_free_irp(irp);
    }
}

/// K5: RemoveIrp by context after the IRP was cancelled returns none.
#[test]
fn csq_k5_remove_by_context_after_cancel() {
    let s = setup(false);
    let (o1, o2) = (Obs::default(), Obs::default());
    let (mut c1, mut c2) = (IoCsqIrpContext::new(), IoCsqIrpContext::new());
    let (a, _) = s.send(1, &o1, ptr::null_mut(), &mut c1);
    let (b, _) = s.send(2, &o2, ptr::null_mut(), &mut c2);
    // SAFETY: the creator cancels its own IRP; removed IRPs are ours.
    unsafe {
        assert_eq!(c1.irp, a);
        assert_eq!(
            (*Irp::driver_context(a))[3],
            (&mut c1 as *mut IoCsqIrpContext).cast(),
            "DriverContext[3] names the context"
        );
        assert!(io_cancel_irp(a));
        assert!(c1.irp.is_null(), "the cancel routine unlinked the context");
        assert!(io_csq_remove_irp(s.q().csq_ptr(), &mut c1).is_null(), "cancelled: none");
        assert_eq!(io_csq_remove_irp(s.q().csq_ptr(), &mut c2), b, "the other one by its context");
        assert!(io_csq_remove_irp(s.q().csq_ptr(), &mut c2).is_null(), "only once");
        (*b).io_status.status = STATUS_SUCCESS;
        io_complete_request(b, 0);
        io_free_irp(a);
        io_free_irp(b);
    }
}

/// K6: RemoveNext with a peek context (a file object) returns only that file's IRPs.
#[test]
fn csq_k6_remove_next_by_file_object() {
    let s = setup(false);
    let obs: Vec<Obs> = (0..5).map(|_| Obs::default()).collect();
    let files = [file(1), file(2), file(1), file(2), file(1)];
    let irps: Vec<_> = (0..5).map(|i| s.send(i as u64, &obs[i], files[i], ptr::null_mut()).0).collect();
    // SAFETY: removed IRPs are ours to complete.
    unsafe {
        let mut got = Vec::new();
        loop {
            let irp = io_csq_remove_next_irp(s.q().csq_ptr(), file(1).cast());
            if irp.is_null() {
                break;
            }
            got.push((*irp).user_buffer as u64);
            (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
            io_complete_request(irp, 0);
        }
        assert_eq!(got, vec![0, 2, 4], "only file 1's IRPs, in order");
        assert_eq!(s.q().len(), 2, "file 2's stay queued");
        while !io_csq_remove_next_irp(s.q().csq_ptr(), ptr::null_mut()).is_null() {}
        for irp in irps {
            io_free_irp(irp);
        }
    }
    let _ = &s.f;
}
