//! The race of the explorer comparison, written once over irpkit's public NT API and run
//! by both explorers: irpkit's own (`irpkit::explore`, in the normal build: the
//! performance report's `irpkit_perf::explorer` depends on this library) and shuttle's
//! (this package's binary, which builds irpkit with `--cfg shuttle`).
//!
//! It is the race of `crates/irpkit/tests/shuttle_cancel.rs`: a driver's dispatch pends
//! a read cancelably (IoMarkIrpPending, IoSetCancelRoutine, then the documented re-check
//! of `Irp->Cancel`); two threads started with [`Kernel::spawn`] call IoCancelIrp on it
//! while the calling thread, as the driver, finishes it (IoSetCancelRoutine(NULL), and
//! IoCompleteRequest only if that found the routine still set). Both cancellers are
//! joined; the read must have been completed exactly once, by the driver exactly when no
//! cancel routine ran, and the IRP is freed.
//!
//! What the routines see is counted in std atomics, which neither explorer schedules at;
//! nothing is logged per event.

use std::ffi::c_void;
use std::sync::atomic::{AtomicU32, Ordering};

use irpkit::nt::*;
use irpkit::Kernel;

/// What the routines of one run saw.
#[derive(Debug, Default)]
struct Seen {
    /// Calls of the cancel routine.
    cancel_routine: AtomicU32,
    /// Calls of the creator's completion routine.
    completions: AtomicU32,
}

unsafe extern "system-unwind" fn driver_entry(_driver: *mut DriverObject, _path: *mut UnicodeString) -> NtStatus {
    STATUS_SUCCESS
}

/// Dispatch: marks the IRP pending, sets the cancel routine, re-checks `Cancel` (and
/// completes it cancelled if the routine can still be taken back), returns pending.
unsafe extern "system-unwind" fn pend_cancelable(_device: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the I/O manager passes a live IRP that this driver now owns.
    unsafe {
        io_mark_irp_pending(irp);
        io_set_cancel_routine(irp, Some(cancel_routine));
        if (*irp).is_cancelled() && io_set_cancel_routine(irp, None).is_some() {
            (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
            io_complete_request(irp, 0);
        }
    }
    STATUS_PENDING
}

/// The cancel routine of a driver without a queue of its own: releases the cancel spin
/// lock at `CancelIrql`, completes the IRP cancelled.
unsafe extern "system-unwind" fn cancel_routine(_device: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: called with the cancel spin lock held, for a live IRP whose DriverContext[0]
    // is the run's `Seen`, which outlives the IRP.
    unsafe {
        let seen = &*((*Irp::driver_context(irp))[0] as *const Seen);
        seen.cancel_routine.fetch_add(1, Ordering::SeqCst);
        io_release_cancel_spin_lock((*irp).cancel_irql.load(Ordering::Relaxed));
        (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
        io_complete_request(irp, 0);
    }
}

/// The creator's completion routine: counts, and keeps the IRP for the creator to free.
unsafe extern "system-unwind" fn creator_keeps(
    _device: *mut DeviceObject,
    _irp: *mut Irp,
    ctx: *mut c_void,
) -> NtStatus {
    // SAFETY: the context is the run's `Seen`, which outlives the IRP.
    let seen = unsafe { &*(ctx as *const Seen) };
    seen.completions.fetch_add(1, Ordering::SeqCst);
    STATUS_MORE_PROCESSING_REQUIRED
}

/// Runs the race once on `kernel`, which the calling thread has entered (a fresh kernel:
/// the driver is loaded under a fixed name). Returns whether the driver's own completion
/// won (no cancel routine ran). Panics if the read was not completed exactly once.
pub fn cancel_race(kernel: &Kernel) -> bool {
    let seen = Seen::default();
    let driver = kernel.load_driver("Race", driver_entry).expect("DriverEntry of the race driver");
    // SAFETY: the driver and device are fresh and this thread's; the IRP is allocated here
    // and freed at the end, after both cancellers are joined and its completion ran; `seen`
    // outlives it.
    unsafe {
        for slot in (*driver).major_function.iter_mut() {
            *slot = Some(pend_cancelable);
        }
        let device = io_create_device(driver, 0, Some("Race"), 0x22, 0, false).expect("IoCreateDevice");
        let irp = io_allocate_irp((*device).stack_size.load(Ordering::SeqCst), false);
        assert!(!irp.is_null(), "IoAllocateIrp failed");
        let location = io_get_next_irp_stack_location(irp);
        (*location).major_function = IRP_MJ_READ;
        (*location).parameters.read = ReadWriteParameters { length: 16, pad: 0, key: 0, flags: 0, byte_offset: 0 };
        let context = &seen as *const Seen as *mut c_void;
        (*Irp::driver_context(irp))[0] = context;
        io_set_completion_routine(irp, Some(creator_keeps), context, true, true, true);
        assert_eq!(io_call_driver(device, irp), STATUS_PENDING, "the read pends");

        let addr = irp as usize;
        let first = kernel.spawn(move || io_cancel_irp(addr as *mut Irp));
        let second = kernel.spawn(move || io_cancel_irp(addr as *mut Irp));
        let driver_won = if io_set_cancel_routine(irp, None).is_some() {
            (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 16 };
            io_complete_request(irp, 0);
            true
        } else {
            false
        };
        let found_routine =
            u32::from(first.join().expect("first canceller")) + u32::from(second.join().expect("second canceller"));

        let cancel_routine_runs = seen.cancel_routine.load(Ordering::SeqCst);
        assert_eq!(seen.completions.load(Ordering::SeqCst), 1, "the read is completed exactly once");
        assert!(cancel_routine_runs <= 1, "the cancel routine ran {cancel_routine_runs} times");
        assert_eq!(found_routine, cancel_routine_runs, "an IoCancelIrp that found the routine called it");
        assert_eq!(driver_won, cancel_routine_runs == 0, "the driver completed exactly when no cancel routine ran");
        io_free_irp(irp);
        driver_won
    }
}
