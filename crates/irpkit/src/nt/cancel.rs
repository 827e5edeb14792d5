//! IoSetCancelRoutine and IoCancelIrp.
//!
//! # The single-winner protocol
//! `Irp->CancelRoutine` is changed only by atomic exchange. A driver that parks an IRP
//! sets a routine; to take the IRP back it exchanges the routine with null. IoCancelIrp
//! also exchanges it with null. Exactly one of the two gets the non-null routine back:
//! - the driver gets it → the driver owns the IRP again (it completes it);
//! - IoCancelIrp gets it → the cancel routine owns the IRP; the driver, getting null,
//!   must not touch the IRP again.
//!
//! # Lock order
//! IoCancelIrp takes the system cancel spin lock before the exchange and calls the
//! cancel routine holding it; the routine releases it (with `Irp->CancelIrql`) before it
//! takes any queue lock of its own or completes the IRP. Nothing in irpkit acquires the
//! cancel spin lock while holding a device-queue lock.

use core::ptr;

use super::irp::{self, io_get_current_irp_stack_location, with_irp_kernel};
use super::spinlock::{acquire_cancel_lock, call_checked, check_irql_at_most, release_cancel_lock};
use super::types::*;
use crate::nt::kernel::{self, KernelShared, RoutineKind};
use crate::sync::atomic::Ordering;
use crate::verifier::Rule;

/// `IoSetCancelRoutine`: atomically exchanges `Irp->CancelRoutine` with `routine` and
/// returns the previous value — none when no routine was set or IoCancelIrp already took
/// it.
///
/// # Safety
/// `irp` points to a live IRP.
///
/// # Example
/// The pattern of a driver that holds a request until it is cancelled: the dispatch
/// routine marks the IRP pending and sets a cancel routine; IoCancelIrp calls the routine
/// with the cancel spin lock held; the routine releases the lock, then completes the IRP
/// with `STATUS_CANCELLED`.
///
/// ```
/// use core::sync::atomic::{AtomicPtr, Ordering};
/// use irpkit::nt::*;
///
/// static HELD: AtomicPtr<Irp> = AtomicPtr::new(core::ptr::null_mut());
///
/// unsafe extern "system-unwind" fn cancel(_device: *mut DeviceObject, irp: *mut Irp) {
///     // SAFETY: IoCancelIrp calls a cancel routine with a live IRP and the cancel spin
///     // lock held; the routine owns the IRP from here.
///     unsafe {
///         io_release_cancel_spin_lock((*irp).cancel_irql.load(Ordering::Relaxed));
///         HELD.store(core::ptr::null_mut(), Ordering::Relaxed);
///         (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
///         io_complete_request(irp, 0);
///     }
/// }
///
/// unsafe extern "system-unwind" fn dispatch(_device: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
///     // SAFETY: the dispatch routine owns the live IRP it is given.
///     unsafe {
///         io_mark_irp_pending(irp);
///         HELD.store(irp, Ordering::Relaxed);
///         io_set_cancel_routine(irp, Some(cancel));
///         // (A driver also checks `Cancel` here: a cancel may have come first.)
///     }
///     STATUS_PENDING
/// }
///
/// let kernel = irpkit::Kernel::new();
/// let _entered = kernel.enter();
/// let (_driver, device) = kernel.create_driver_and_device("Held", dispatch, 0).unwrap();
/// let mut iosb = IoStatusBlock::default();
/// let irp = io_allocate_irp(1, false);
/// // SAFETY: our fresh IRP, sent to a live device; the status block outlives the request.
/// unsafe {
///     (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
///     (*irp).user_iosb = &mut iosb;
///     assert_eq!(io_call_driver(device, irp), STATUS_PENDING);
///     assert!(io_cancel_irp(HELD.load(Ordering::Relaxed))); // the routine ran
/// }
/// assert_eq!(iosb.status, STATUS_CANCELLED);
/// ```
pub unsafe fn io_set_cancel_routine(irp: *mut Irp, routine: Option<DriverCancel>) -> Option<DriverCancel> {
    if irp.is_null() {
        crate::nt::kernel::with_current("IoSetCancelRoutine", |k| {
            k.report(Rule::InvalidIrp, "IoSetCancelRoutine", irp, "IoSetCancelRoutine(NULL, ...)".to_string())
        });
        return None;
    }
    if routine.is_some() {
        // SAFETY: live IRP.
        unsafe { check_owner_sets_routine(irp) };
    }
    crate::nt::irp::sched_point("IoSetCancelRoutine", irp);
    // SAFETY: live IRP.
    let exchanged = unsafe { irp::exchange_cancel_routine(irp, routine) };
    // SAFETY: live IRP.
    unsafe {
        match routine {
            Some(_) => super::coverage::routine_set(irp),
            None => super::coverage::routine_cleared(irp, exchanged.old.is_some()),
        }
    }
    // SAFETY: live IRP.
    unsafe { crate::nt::observe::cancel_routine_exchanged(irp, routine.is_some(), exchanged.old.is_some()) };
    // SAFETY: live IRP.
    unsafe { check_plain_store(irp, exchanged, "IoSetCancelRoutine") };
    exchanged.old
}

/// Reports a routine that got into `Irp->CancelRoutine` without an exchange, found by the
/// exchange `exchanged` (see [`irp::exchange_cancel_routine`]).
///
/// # Safety
/// `irp` is a live IRP.
unsafe fn check_plain_store(irp: *mut Irp, exchanged: irp::Exchanged, routine: &'static str) {
    if exchanged.plain_store {
        // SAFETY: live IRP.
        unsafe {
            with_irp_kernel(irp, routine, |k| {
                k.report(
                    Rule::CancelRoutinePlainStore,
                    routine,
                    irp,
                    format!("{routine} found a cancel routine that was stored into Irp->CancelRoutine directly, not through IoSetCancelRoutine"),
                )
            })
        };
    }
}

/// Verifier 0x229: the driver setting a cancel routine must be the one whose stack
/// location is current (a driver routine running for another driver's location is setting
/// it on an IRP a lower driver owns).
///
/// # Safety
/// `irp` is a live IRP.
unsafe fn check_owner_sets_routine(irp: *mut Irp) {
    let caller = kernel::current_routine().driver;
    if caller.is_null() {
        return; // the I/O manager or library code on its behalf
    }
    // SAFETY: live IRP; devices in its stack locations are live.
    let owner = unsafe {
        if i32::from((*irp).current_location.load(Ordering::Acquire)) > i32::from((*irp).stack_count) {
            return; // not sent yet: its creator prepares it
        }
        let device = (*io_get_current_irp_stack_location(irp)).device_object;
        if device.is_null() {
            return;
        }
        (*device).driver_object
    };
    if owner != caller {
        // SAFETY: live IRP.
        unsafe {
            with_irp_kernel(irp, "IoSetCancelRoutine", |k| {
                k.report(
                    Rule::CancelRoutineOnLowerIrp,
                    "IoSetCancelRoutine",
                    irp,
                    "a cancel routine was set on an IRP whose current stack location belongs to another driver"
                        .to_string(),
                )
            })
        };
    }
}

/// `IoCancelIrp`: acquires the cancel spin lock, sets `Irp->Cancel`, exchanges the cancel
/// routine with none; if there was one, stores the saved IRQL in `Irp->CancelIrql` and
/// calls it (lock held) with the device of the current stack location and returns true;
/// otherwise releases the lock and returns false.
///
/// True means only "a cancel routine was called": the IRP may still complete with
/// success. Only the IRP's creator (or the I/O manager, i.e. no driver routine running)
/// may call it; anything else is reported.
///
/// # Safety
/// `irp` points to an IRP that is allocated or was allocated by a kernel that is alive
/// (a freed irpkit IRP is reported, not undefined).
pub unsafe fn io_cancel_irp(irp: *mut Irp) -> bool {
    // SAFETY: forwarded contract.
    unsafe { with_irp_kernel(irp, "IoCancelIrp", |k| cancel_in(k, irp, false)) }
}

/// IoCancelIrp as the I/O manager does it for a requester (CancelIo, thread exit): an IRP
/// that meanwhile completed and was freed — at any moment up to the exchange, since the
/// completing thread does not wait for us — is simply not cancelled.
///
/// # Safety
/// `irp` points to pinned or allocated irpkit IRP memory.
pub(crate) unsafe fn cancel_as_io_manager(irp: *mut Irp) -> bool {
    // SAFETY: forwarded contract.
    unsafe { with_irp_kernel(irp, "IoCancelIrp", |k| cancel_in(k, irp, true)) }
}

/// `by_io_manager`: the caller pinned an IRP it saw on a thread's list, and it may have
/// completed since; that is not a driver's error.
///
/// # Safety
/// As [`io_cancel_irp`] (pinned memory when `by_io_manager`).
unsafe fn cancel_in(k: &KernelShared, irp: *mut Irp, by_io_manager: bool) -> bool {
    const R: &str = "IoCancelIrp";
    if irp.is_null() {
        k.report(Rule::InvalidIrp, R, irp, "IoCancelIrp(NULL)".to_string());
        return false;
    }
    check_irql_at_most(k, DISPATCH_LEVEL, R, irp);
    crate::nt::irp::sched_point(R, irp);
    // SAFETY: readable IRP memory.
    if unsafe { irp::is_freed(irp) } {
        // SAFETY: pool memory of a live kernel: the request it last held is over.
        unsafe { super::coverage::cancel_landed(k, irp) };
        // The memory keeps the IRP's last state: a routine still set means it was
        // completed with its cancel state intact.
        // SAFETY: pool memory stays IRP-shaped after the free.
        if unsafe { (*irp).cancel_routine.load() }.is_some() {
            k.report(
                Rule::CancelAfterCompletion,
                R,
                irp,
                "IoCancelIrp found a cancel routine on an IRP that was already completed".to_string(),
            );
        } else if !by_io_manager {
            k.report(
                Rule::InvalidIrp,
                R,
                irp,
                "IoCancelIrp on an IRP that was already completed and freed".to_string(),
            );
        }
        return false;
    }
    let caller = kernel::current_routine().driver;
    // SAFETY: readable IRP memory.
    let creator = unsafe { irp::creator(irp) };
    // An IRP in the caller's own memory (IoInitializeIrp) has no header, so no known
    // creator: it is not judged.
    // SAFETY: readable IRP memory.
    let known = unsafe { irp::header(irp) }.is_some();
    if !caller.is_null() && known && caller != creator {
        k.report(Rule::ForeignIrpCancel, R, irp, "a driver called IoCancelIrp on an IRP it did not create".to_string());
    }
    // SAFETY: readable IRP memory.
    unsafe { crate::nt::observe::io_cancel_irp(k, irp, by_io_manager) };
    let irql = acquire_cancel_lock(k, R);
    // SAFETY: live IRP; `Cancel` and `CancelRoutine` are atomics. (Only those fields are
    // borrowed: the IRP's owner may be writing the others — no reference to the whole IRP
    // is made on this, a non-owner's, path.)
    unsafe { (*irp).cancel.store(TRUE, Ordering::Release) };
    // The moment a cancel lands: coverage counts where the IRP's request is now.
    // SAFETY: live IRP.
    unsafe { super::coverage::cancel_landed(k, irp) };
    // SAFETY: live IRP.
    let exchanged = unsafe { irp::exchange_cancel_routine(irp, None) };
    let Some(routine) = exchanged.old else {
        release_cancel_lock(k, irql, R);
        return false;
    };
    // SAFETY: live IRP.
    unsafe { check_plain_store(irp, exchanged, R) };
    // SAFETY: live IRP.
    if unsafe { Irp::completed_at(irp) } {
        k.report(
            Rule::CancelAfterCompletion,
            R,
            irp,
            "IoCancelIrp found a cancel routine on an IRP that was already completed".to_string(),
        );
        release_cancel_lock(k, irql, R);
        return false;
    }
    // SAFETY: we won the exchange: the cancel routine (called next) owns the IRP.
    unsafe { invoke_cancel_routine(k, routine, irp, irql, R) };
    true
}

/// Calls cancel routine `routine` for `irp` — which the caller took out of the IRP with
/// the cancel spin lock held — the documented way: `CancelIrql = irql`, the device of the
/// current stack location, the lock still held; then checks the routine released it
/// (0x11B, released on its behalf to continue).
///
/// # Safety
/// `irp` is live, its routine was just taken by the caller under the cancel spin lock,
/// which the calling thread holds.
pub(crate) unsafe fn invoke_cancel_routine(
    k: &KernelShared,
    routine: DriverCancel,
    irp: *mut Irp,
    irql: KIrql,
    detected_in: &'static str,
) {
    // SAFETY: the caller won the exchange: nobody else writes `CancelIrql` meanwhile.
    let device = unsafe {
        (*irp).cancel_irql.store(irql, Ordering::Relaxed);
        if i32::from((*irp).current_location.load(Ordering::Acquire)) <= i32::from((*irp).stack_count) {
            (*io_get_current_irp_stack_location(irp)).device_object
        } else {
            ptr::null_mut()
        }
    };
    let driver = if device.is_null() {
        // SAFETY: readable IRP memory.
        unsafe { irp::creator(irp) }
    } else {
        // SAFETY: a device in an IRP's stack location is live.
        unsafe { (*device).driver_object }
    };
    // SAFETY: live IRP.
    let span = unsafe { crate::nt::observe::cancel_routine(k, irp) };
    // SAFETY: live IRP, its routine taken by our caller.
    unsafe { super::coverage::cancel_routine_called(k, irp) };
    // The IRP may be gone once the routine returns: nothing below touches it.
    call_checked(
        k,
        driver,
        RoutineKind::Cancel,
        irp,
        detected_in,
        irql,
        routine as usize,
        || "the cancel routine returned without releasing the cancel spin lock".to_string(),
        // SAFETY: the driver's cancel routine, called as documented with the lock held.
        || unsafe { routine(device, irp) },
    );
    crate::nt::observe::cancel_routine_returned(k, span);
}
