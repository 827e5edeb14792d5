//! An IRP's creator sending it and taking it back: the pattern a driver uses for an IRP
//! it allocated itself (IoAllocateIrp, a completion routine in the next stack location
//! that returns `STATUS_MORE_PROCESSING_REQUIRED`, an event the routine signals), kept
//! in the IRP header for irpkit's own creators — the safe layer's `Request` and the I/O
//! manager's IRP_MJ_CREATE, CLEANUP and CLOSE.
//!
//! Invariants:
//! - the creator's completion routine and the creator's handle going away meet in one
//!   single-winner exchange (the header's `creator_state`, parties [`COMPLETION_ROUTINE`]
//!   and [`HANDLE`]): if the routine wins, the walk stops and
//!   the IRP is the creator's again (freed by [`release`]); if the handle's drop wins, the
//!   walk goes on past the routine and frees the IRP;
//! - `creator_done` is signalled exactly when the routine won (or the send was refused
//!   before any driver saw the IRP).
//!
//! No lock: one atomic and one notification event per IRP.

use core::ffi::c_void;
use core::time::Duration;

use crate::nt::exchange::Party;
use crate::nt::kernel::Kernel;
use crate::nt::types::{DeviceObject, FileObject, IoStatusBlock, Irp};
use crate::nt::{self, NtStatus, STATUS_MORE_PROCESSING_REQUIRED, STATUS_SUCCESS};
use crate::sync::atomic::Ordering;

/// The parties of an IRP's `creator_state` exchange (`nt::exchange`): who takes a sent
/// IRP back. The creator's completion routine, which keeps the IRP for its creator…
pub(crate) const COMPLETION_ROUTINE: Party = 1;
/// …or the creator's handle going away first, which lets the walk go on and free it.
pub(crate) const HANDLE: Party = 2;

/// The header of an irpkit IRP.
///
/// # Safety
/// `irp` is an irpkit IRP whose memory is allocated.
unsafe fn header(irp: *mut Irp) -> *mut nt::irp::IrpHeader {
    // SAFETY: forwarded contract.
    unsafe { nt::irp::header(irp) }.expect("an irpkit IRP")
}

/// Sends `irp` to `target` (`IoCallDriver`) with the creator's completion routine in the
/// next stack location, which makes it the top-level routine. Returns what IoCallDriver
/// returned; the IRP stays the creator's until [`release`].
///
/// # Safety
/// `irp` is a fresh irpkit IRP owned by the caller, with a free next stack location;
/// `target` is a live device of the IRP's kernel.
pub(crate) unsafe fn send(irp: *mut Irp, target: *mut DeviceObject) -> NtStatus {
    // SAFETY: by the contract.
    unsafe {
        nt::io_set_completion_routine(irp, Some(creator_completion), core::ptr::null_mut(), true, true, true);
        let status = nt::io_call_driver(target, irp);
        // IoCallDriver refused the IRP before any driver saw it (reported by the
        // verifier): it is still ours. Record that status as its result rather than
        // leave the creator waiting for a completion that cannot come.
        // (IoCallDriver records the device in the location it hands to the driver;
        // nothing clears it, so a null device there means no driver got the IRP.)
        let first = Irp::stack_location(irp, i32::from((*irp).stack_count));
        if (*first).device_object.is_null() {
            (*irp).io_status = IoStatusBlock { status, information: 0 };
            let h = header(irp);
            (*h).creator_state.settle(COMPLETION_ROUTINE);
            nt::event::set_event_in(&*(*h).kernel, &(*h).creator_done);
        }
        status
    }
}

/// The creator's completion routine: records completion, and keeps the IRP for its
/// creator (`STATUS_MORE_PROCESSING_REQUIRED`) unless the creator's handle went first,
/// in which case the walk continues and the IRP is freed.
unsafe extern "system-unwind" fn creator_completion(
    _device: *mut DeviceObject,
    irp: *mut Irp,
    _context: *mut c_void,
) -> NtStatus {
    // SAFETY: a live irpkit IRP sent by `send`.
    let h = unsafe { header(irp) };
    // SAFETY: valid header.
    if unsafe { (*h).creator_state.take(COMPLETION_ROUTINE) } {
        // SAFETY: valid header and kernel.
        unsafe { nt::event::set_event_in(&*(*h).kernel, &(*h).creator_done) };
        STATUS_MORE_PROCESSING_REQUIRED
    } else {
        STATUS_SUCCESS
    }
}

/// The final status if the creator's routine has taken the IRP back.
///
/// # Safety
/// `irp` was sent by [`send`] and not [`release`]d.
#[inline]
pub(crate) unsafe fn result(irp: *mut Irp) -> Option<IoStatusBlock> {
    // SAFETY: a sent IRP is not freed before its release.
    let done = unsafe { (*header(irp)).creator_state.won_by(COMPLETION_ROUTINE) };
    // SAFETY: after completion the IRP is the creator's again and nobody writes it.
    done.then(|| unsafe { (*irp).io_status })
}

/// Waits up to `timeout` (on the kernel's clock; `None`: for ever) for the creator's
/// routine to take the IRP back, then returns its final status if it did.
///
/// # Safety
/// `irp` was sent by [`send`] and not [`release`]d; the caller has entered its kernel.
#[inline]
pub(crate) unsafe fn wait(irp: *mut Irp, timeout: Option<Duration>) -> Option<IoStatusBlock> {
    // SAFETY: a sent IRP is not freed before its release.
    let done = unsafe { &(*header(irp)).creator_done };
    let _ = nt::ke_wait_for_single_object(done, timeout);
    // SAFETY: forwarded contract.
    unsafe { result(irp) }
}

/// The creator lets go of a sent IRP: frees it if it completed, or detaches so that the
/// completion walk frees it.
///
/// # Safety
/// `irp` was sent by [`send`] and not released before, and `kernel` is its kernel. The
/// IRP must not be used afterwards.
#[inline]
pub(crate) unsafe fn release(kernel: &Kernel, irp: *mut Irp) {
    // SAFETY: a sent IRP is not freed before its release.
    if !unsafe { (*header(irp)).creator_state.take(HANDLE) } {
        // Completed: the IRP is ours again; free it (in its kernel).
        let _entered = kernel.enter();
        // SAFETY: the walk stopped at our routine; nobody else owns the IRP.
        unsafe { nt::io_free_irp(irp) };
    }
    // Detached: the completion walk will continue past our routine and free it.
}

/// A synchronous request with major function `major` and file object `file` (null: none)
/// to `device`, sent and waited for as its creator: the final status.
/// `STATUS_INVALID_PARAMETER` if no IRP could be allocated for the device.
///
/// # Safety
/// `device` is a live irpkit device of `kernel`.
pub(crate) unsafe fn call(kernel: &Kernel, device: *mut DeviceObject, major: u8, file: *mut FileObject) -> NtStatus {
    // SAFETY: forwarded contract.
    let Some(irp) = (unsafe { allocate(kernel, device, major) }) else { return nt::STATUS_INVALID_PARAMETER };
    // Each step enters the kernel on its own, as the safe layer's `Request`, `SentRequest`
    // and their drop do (an enter is an operation the model checkers interleave).
    // SAFETY: our fresh IRP; its first location describes the operation; it is sent once,
    // waited for, and released once.
    unsafe {
        (*nt::io_get_next_irp_stack_location(irp)).file_object = file;
        {
            let _entered = kernel.enter();
            send(irp, device);
        }
        let status = loop {
            let _entered = kernel.enter();
            if let Some(status) = wait(irp, None) {
                break status;
            }
        };
        release(kernel, irp);
        status.status
    }
}

/// A fresh IRP for `device` (its stack size) whose next stack location has major
/// function `major`; `None` if none could be allocated.
///
/// # Safety
/// `device` is a live irpkit device of `kernel`.
#[inline]
pub(crate) unsafe fn allocate(kernel: &Kernel, device: *mut DeviceObject, major: u8) -> Option<*mut Irp> {
    // SAFETY: a live device (by the contract); the field is atomic.
    let stack_size = unsafe { (*device).stack_size.load(Ordering::Relaxed) };
    let irp = nt::irp::allocate_in(&kernel.shared, stack_size);
    if irp.is_null() {
        return None;
    }
    // SAFETY: a fresh IRP with at least one stack location, owned by us.
    unsafe { (*nt::io_get_next_irp_stack_location(irp)).major_function = major };
    Some(irp)
}
