//! Loom checks of the races "Cancel Routines in Drivers with StartIo Routines" is about: cancel vs. IoStartNextPacket,
//! cancel vs. IoStartPacket, and cancel of `CurrentIrp` vs. the StartIo path's own
//! completion. In every interleaving: every IRP is completed exactly once, none is lost
//! in the queue, none is completed while still inserted (the verifier, strict, checks
//! that at each completion), and the device ends idle.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p irpkit --release --test loom_startio`.
#![cfg(loom)]

mod common;

use std::sync::atomic::Ordering;

use common::*;
use irpkit::nt::*;

fn model(f: impl Fn() + Sync + Send + 'static) {
    loom_model(2, f);
}

unsafe extern "system-unwind" fn dispatch(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract.
    unsafe {
        io_mark_irp_pending(irp);
        io_start_packet(d, irp, None, Some(seed_cancel));
    }
    STATUS_PENDING
}

unsafe extern "system-unwind" fn seed_cancel(d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: called with the cancel lock held for a live IRP of this device.
    unsafe {
        if irp == (*d).current_irp.load(std::sync::atomic::Ordering::SeqCst) {
            io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed));
        } else if ke_remove_entry_device_queue(&raw mut (*d).device_queue, Irp::device_queue_entry(irp)) {
            io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed));
            (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
            io_complete_request(irp, 0);
        } else {
            io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed));
        }
    }
}

unsafe extern "system-unwind" fn start_io(d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the StartIo contract.
    unsafe {
        let irql = io_acquire_cancel_spin_lock();
        if (*irp).is_cancelled() {
            io_set_cancel_routine(irp, None);
            io_release_cancel_spin_lock(irql);
            (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
            io_complete_request(irp, 0);
            io_start_next_packet(d, true); // deferred: after StartIo returns
        } else {
            io_release_cancel_spin_lock(irql); // cancelable midway; the hardware finishes it
        }
    }
}

/// The hardware's DPC: finishes the current IRP (cancelled if `Cancel` is set) and starts
/// the next. Returns false if there was no current IRP.
fn hardware_done(d: *mut DeviceObject) -> bool {
    // SAFETY: the device is live; its current IRP belongs to the StartIo path.
    unsafe {
        let old = ke_raise_irql(DISPATCH_LEVEL);
        let irql = io_acquire_cancel_spin_lock();
        let irp = (*d).current_irp.load(std::sync::atomic::Ordering::SeqCst);
        if irp.is_null() {
            io_release_cancel_spin_lock(irql);
            ke_lower_irql(old);
            return false;
        }
        io_set_cancel_routine(irp, None);
        let status = if (*irp).is_cancelled() { STATUS_CANCELLED } else { STATUS_SUCCESS };
        io_release_cancel_spin_lock(irql);
        (*irp).io_status = IoStatusBlock { status, information: 0 };
        io_complete_request(irp, 0);
        io_start_next_packet(d, true);
        ke_lower_irql(old);
        true
    }
}

fn device(f: &Fixture) -> *mut DeviceObject {
    // SAFETY: the fixture's fresh driver and device.
    unsafe {
        (*f.driver).driver_start_io = Some(start_io);
        io_set_start_io_attributes(f.device, true, false);
    }
    f.device
}

fn send(d: *mut DeviceObject, obs: &Obs) -> *mut Irp {
    // SAFETY: a fresh IRP for a live device.
    unsafe {
        let irp = new_read(d, obs);
        assert_eq!(io_call_driver(d, irp), STATUS_PENDING);
        irp
    }
}

/// Finishes whatever is left and checks the end state.
fn drain_and_check(d: *mut DeviceObject, irps: &[(*mut Irp, &Obs)]) {
    while hardware_done(d) {}
    for (irp, obs) in irps {
        assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1, "completed exactly once");
        let status = obs.creator_status.load(Ordering::SeqCst);
        assert!(status == STATUS_SUCCESS || status == STATUS_CANCELLED);
        // SAFETY: completed and kept by its creator.
        unsafe { io_free_irp(*irp) };
    }
    // SAFETY: live device, idle now.
    unsafe {
        assert_eq!((*d).device_queue.busy.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing lost in the queue");
        assert!((*d).current_irp.load(std::sync::atomic::Ordering::SeqCst).is_null());
    }
}

#[test]
fn loom_cancel_vs_start_next_packet() {
    model(|| {
        let f = Fixture::new(dispatch);
        let d = device(&f);
        let (o1, o2) = (Box::leak(Box::new(Obs::default())), Box::leak(Box::new(Obs::default())));
        let (a, b) = (send(d, o1), send(d, o2));
        let (da, bb) = (d as usize, b as usize);
        let dpc = f.kernel.spawn(move || hardware_done(da as *mut DeviceObject));
        // SAFETY: the creator cancels its own IRP.
        let canceller = f.kernel.spawn(move || unsafe { io_cancel_irp(bb as *mut Irp) });
        assert!(dpc.join().unwrap());
        canceller.join().unwrap();
        drain_and_check(d, &[(a, o1), (b, o2)]);
        assert_eq!(o1.creator_status.load(Ordering::SeqCst), STATUS_SUCCESS);
        assert_eq!(o2.creator_status.load(Ordering::SeqCst), STATUS_CANCELLED, "cancelled before its transfer ended");
    });
}

#[test]
fn loom_cancel_vs_start_packet() {
    model(|| {
        let f = Fixture::new(dispatch);
        let d = device(&f);
        let (o1, o2) = (Box::leak(Box::new(Obs::default())), Box::leak(Box::new(Obs::default())));
        let a = send(d, o1);
        // SAFETY: a fresh IRP for a live device, sent by another thread.
        let b = unsafe { new_read(d, o2) };
        let (da, bb) = (d as usize, b as usize);
        // SAFETY: as `send`.
        let sender = f.kernel.spawn(move || unsafe { io_call_driver(da as *mut DeviceObject, bb as *mut Irp) });
        // SAFETY: the creator cancels its own IRP, before, during or after IoStartPacket.
        unsafe { io_cancel_irp(b) };
        assert_eq!(sender.join().unwrap(), STATUS_PENDING);
        drain_and_check(d, &[(a, o1), (b, o2)]);
        assert_eq!(o2.creator_status.load(Ordering::SeqCst), STATUS_CANCELLED);
    });
}

#[test]
fn loom_cancel_current_vs_its_completion() {
    model(|| {
        let f = Fixture::new(dispatch);
        let d = device(&f);
        let o1 = Box::leak(Box::new(Obs::default()));
        let a = send(d, o1);
        let da = d as usize;
        let dpc = f.kernel.spawn(move || hardware_done(da as *mut DeviceObject));
        // SAFETY: the creator cancels its own IRP.
        let called = unsafe { io_cancel_irp(a) };
        assert!(dpc.join().unwrap());
        let status = o1.creator_status.load(Ordering::SeqCst);
        if !called {
            assert_eq!(status, STATUS_SUCCESS, "cancel came after completion: the real result stands");
        }
        drain_and_check(d, &[(a, o1)]);
    });
}
