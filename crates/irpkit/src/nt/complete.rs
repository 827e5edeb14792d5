//! IoCompleteRequest: the completion walk and the final stage (delivery).
//!
//! 1. Preconditions (each a verifier report): IRQL <= DISPATCH_LEVEL, no spin lock held,
//!    status is not `STATUS_PENDING`, no cancel routine set, not already completed (0x44).
//! 2. The walk goes up one stack location at a time. Each location's pending bit becomes
//!    `Irp->PendingReturned`. Its completion routine (the routine of the driver above)
//!    runs if `NT_SUCCESS(status)` and invoke-on-success, or `!NT_SUCCESS(status)` and
//!    invoke-on-error, or `Irp->Cancel` and invoke-on-cancel (warnings count as errors);
//!    the location's control is cleared first. The routine gets its own level's device
//!    object; the top-level routine (the creator's) gets none. A routine returning
//!    `STATUS_MORE_PROCESSING_REQUIRED` stops the walk where it is. Where no routine
//!    runs, a pending bit propagates to the next location up.
//! 3. The final stage delivers to the requester — status block and event —
//!    only if the status is not an error, or it is an error but the IRP returned pending
//!    (and its file is not synchronous); then frees the IRP. An IRP whose thread was
//!    disassociated is freed silently.

use core::ptr;

use super::event::set_event_in;
use super::irp::{self, io_free_irp, with_irp_kernel};
use super::spinlock::check_irql_at_most;
use super::status::*;
use super::types::*;
use crate::nt::kernel::{self, KernelShared, RoutineKind};
use crate::sync::atomic::Ordering;
use crate::verifier::Rule;

/// `IoCompleteRequest`: completes `irp` with the status already in `Irp->IoStatus`.
///
/// # Safety
/// `irp` is an IRP the caller owns (a use after free of an irpkit IRP is reported while
/// its kernel lives). The caller must not touch the IRP afterwards.
pub unsafe fn io_complete_request(irp: *mut Irp, _priority_boost: i8) {
    // SAFETY: forwarded contract.
    unsafe { with_irp_kernel(irp, "IoCompleteRequest", |k| complete_in(k, irp)) }
}

/// # Safety
/// As [`io_complete_request`].
unsafe fn complete_in(k: &KernelShared, irp: *mut Irp) {
    const R: &str = "IoCompleteRequest";
    if irp.is_null() {
        k.report(Rule::InvalidIrp, R, irp, "IoCompleteRequest(NULL)".to_string());
        return;
    }
    crate::nt::irp::sched_point(R, irp);
    // SAFETY: readable IRP memory by the contract.
    if unsafe { irp::is_freed(irp) } {
        k.report(
            Rule::DoubleCompletion,
            R,
            irp,
            "IoCompleteRequest on an IRP that was already completed (and freed)".to_string(),
        );
        return;
    }
    check_irql_at_most(k, DISPATCH_LEVEL, R, irp);
    let held = kernel::spin_locks_held();
    if held > 0 {
        k.report(
            Rule::CompleteUnderSpinLock,
            R,
            irp,
            format!("IoCompleteRequest was called while holding {held} spin lock(s)"),
        );
    }
    // SAFETY: live IRP owned by the caller. Fields are read one by one, never through a
    // reference to the whole IRP: IoCancelIrp and thread exit may store into its atomics
    // (and `Thread`) meanwhile.
    if unsafe { Irp::completed_at(irp) } {
        k.report(Rule::DoubleCompletion, R, irp, "IoCompleteRequest on an IRP that was already completed".to_string());
        return;
    }
    // SAFETY: live IRP owned by the caller.
    let covered = unsafe { super::coverage::completion_started(k, irp) };
    // SAFETY: as above; the owner's own field.
    let io_status = unsafe { (*irp).io_status };
    if io_status.status == STATUS_PENDING {
        k.report(
            Rule::CompleteWithPending,
            R,
            irp,
            "IoCompleteRequest with Irp->IoStatus.Status == STATUS_PENDING".to_string(),
        );
    }
    // SAFETY: as above; the slot is atomic.
    if unsafe { (*irp).cancel_routine.load() }.is_some() {
        k.report(
            Rule::CompleteWithCancelRoutine,
            R,
            irp,
            "IoCompleteRequest while Irp->CancelRoutine is still set".to_string(),
        );
    }
    // SAFETY: live IRP owned by the caller.
    if unsafe { still_in_device_queue(irp) } {
        k.report(
            Rule::CompletedWhileQueued,
            R,
            irp,
            "IoCompleteRequest on an IRP that is still linked in its device's queue".to_string(),
        );
    }
    // Checked again: the device-queue check above takes the queue's lock (a scheduling
    // point), so a racing second completion may have started its walk since the first
    // check. No scheduling point lies between this check and the walk's first step.
    // SAFETY: as above.
    if unsafe { Irp::completed_at(irp) } {
        k.report(Rule::DoubleCompletion, R, irp, "IoCompleteRequest on an IRP that was already completed".to_string());
        return;
    }
    // SAFETY: live IRP owned by the caller.
    unsafe { crate::nt::observe::completed(k, irp, io_status.status, io_status.information) };
    // SAFETY: live IRP owned by the caller.
    match unsafe { walk(irp) } {
        // SAFETY: the walk finished: the IRP is at its final stage, still owned.
        Walk::Finished => unsafe { final_stage(k, irp) },
        // The IRP may be gone (its creator's routine freed it): only its header is used.
        Walk::Stopped { by_creator } => super::coverage::completion_stopped(k, covered, by_creator),
    }
}

/// How a completion walk ended.
enum Walk {
    /// Past the top location: the final stage follows.
    Finished,
    /// A completion routine returned `STATUS_MORE_PROCESSING_REQUIRED`; `by_creator`: the
    /// creator's own routine (no device at the level above: the top, or a location the
    /// creator kept for itself).
    Stopped { by_creator: bool },
}

/// Whether the IRP's device-queue entry is linked in the queue of the device at its
/// current stack location (only a busy queue is walked, under its lock).
///
/// # Safety
/// `irp` is a live IRP.
unsafe fn still_in_device_queue(irp: *mut Irp) -> bool {
    // SAFETY: live IRP; devices in stack locations are live irpkit devices.
    unsafe {
        if i32::from((*irp).current_location.load(Ordering::Acquire)) > i32::from((*irp).stack_count) {
            return false;
        }
        let device = (*super::irp::io_get_current_irp_stack_location(irp)).device_object;
        if device.is_null() {
            return false;
        }
        let queue = &raw mut (*device).device_queue;
        // `Busy` is atomic; the list itself is only read under the queue's lock.
        if !super::devqueue::is_busy(queue) {
            return false;
        }
        super::devqueue::contains(queue, Irp::device_queue_entry(irp))
    }
}

/// The completion walk.
///
/// # Safety
/// `irp` is a live IRP owned by the caller.
unsafe fn walk(irp: *mut Irp) -> Walk {
    // SAFETY: live IRP owned by the caller throughout; stack locations 1..=StackCount
    // exist.
    unsafe {
        let top = i32::from((*irp).stack_count) + 1;
        loop {
            let cl = i32::from((*irp).current_location.load(Ordering::Relaxed));
            let up = cl + 1;
            (*irp).current_location.store(up as i8, Ordering::Release);
            let slot = Irp::current_stack_slot(irp);
            *slot = (*slot).add(1);
            if up > top {
                return Walk::Finished;
            }
            let sp = Irp::stack_location(irp, cl);
            (*irp).pending_returned = (*sp).control & SL_PENDING_RETURNED;
            let status = (*irp).io_status.status;
            let control = (*sp).control;
            let invoke = (nt_success(status) && control & SL_INVOKE_ON_SUCCESS != 0)
                || (!nt_success(status) && control & SL_INVOKE_ON_ERROR != 0)
                || ((*irp).cancel.load(Ordering::Acquire) != 0 && control & SL_INVOKE_ON_CANCEL != 0);
            let routine = (*sp).completion_routine;
            let context = (*sp).context;
            (*sp).control = 0;
            (*sp).completion_routine = None;
            (*sp).context = ptr::null_mut();
            match routine {
                Some(routine) if invoke => {
                    let device =
                        if up == top { ptr::null_mut() } else { (*Irp::stack_location(irp, up)).device_object };
                    let driver = if device.is_null() { irp::creator(irp) } else { (*device).driver_object };
                    let r = crate::nt::kernel::in_routine_at(
                        driver,
                        RoutineKind::Completion,
                        irp,
                        routine as usize,
                        || routine(device, irp, context),
                    );
                    if r == STATUS_MORE_PROCESSING_REQUIRED {
                        return Walk::Stopped { by_creator: device.is_null() };
                    }
                }
                _ => {
                    if (*irp).pending_returned != 0 && up < top {
                        (*Irp::stack_location(irp, up)).control |= SL_PENDING_RETURNED;
                        irp::note_pending_mark(irp, up as i8);
                    }
                }
            }
        }
    }
}

/// Delivery to the requester, then the IRP is freed.
///
/// # Safety
/// `irp` is a live IRP whose walk has finished, owned by the caller.
unsafe fn final_stage(k: &KernelShared, irp: *mut Irp) {
    // SAFETY: live IRP whose walk has finished.
    let Ok(link) = (unsafe { irp::finish(irp) }) else {
        // Disassociated from its exited thread: freed silently — no status block, no
        // event, nothing delivered.
        // SAFETY: an irpkit IRP (only those can be disassociated), freed exactly once.
        unsafe { io_free_irp(irp) };
        return;
    };
    // SAFETY: live IRP owned by the caller.
    let r = unsafe { &*irp };
    let status = r.io_status.status;
    // SAFETY: reading the tail overlay's file object, a plain pointer.
    let file = unsafe { r.tail.overlay.original_file_object };
    // SAFETY: a non-null original file object is live while its IRPs are.
    let synchronous_file = !file.is_null() && unsafe { (*file).flags } & FO_SYNCHRONOUS_IO != 0;
    let deliver = !nt_error(status) || (r.pending_returned != 0 && !synchronous_file);
    if deliver {
        // A buffered read's data goes to the caller's buffer first (IRP_INPUT_OPERATION).
        // SAFETY: the IRP is at its final stage and ours; the caller's buffer lives until
        // the request's result is delivered.
        unsafe { irp::copy_buffered_output(irp) };
        if !r.user_iosb.is_null() {
            // SAFETY: the requester's status block outlives its request.
            unsafe { *r.user_iosb = r.io_status };
        }
        if !r.user_event.is_null() {
            // SAFETY: the requester's event outlives its request.
            set_event_in(k, unsafe { &*r.user_event });
        }
    }
    if link.is_some() {
        // SAFETY: live IRP.
        unsafe { crate::nt::observe::finished(k, irp, status, deliver) };
    }
    if let Some(link) = link {
        // SAFETY: the requester's bookkeeping for this very IRP, once.
        unsafe { link.completed(k, irp, deliver) };
    }
    // SAFETY: only irpkit IRPs are freed here; an IRP from elsewhere belongs to whoever
    // initialised it.
    if unsafe { irp::header(irp) }.is_some() {
        // SAFETY: the walk is over and nothing else owns the IRP.
        unsafe { io_free_irp(irp) };
    }
}
