//! The NT layer's hook points for its observers: the timeline recorder and `tracing`.
//!
//! Each hook turns what happened — an IRP allocated, dispatched, marked pending,
//! cancelled, completed, freed; a DPC; a thread's exit — into plain data (the IRP's
//! number, a device's name, a status) and hands it to the kernel's
//! [`Recorder`](crate::timeline::Recorder) when it records, and to `tracing` (target
//! `irpkit`) when a subscriber was ever installed. When neither is the case a hook costs
//! two relaxed loads and touches nothing else.
//!
//! The observers below the NT layer never see an NT object: this module is where pointers
//! become numbers. No lock is held across a hook by this module; the recorder's own
//! locks are leaves.

use crate::nt::kernel::KernelShared;
use crate::nt::types::Irp;
use crate::nt::NtStatus;
use crate::timeline::EventKind;

/// Records the event `kind()` builds, if `k` records, as happening on this thread now.
#[inline]
pub(crate) fn record(k: &KernelShared, kind: impl FnOnce() -> EventKind) {
    k.timeline.record(|| k.clock.now(), this_thread(), kind);
}

/// The current thread's identity in events.
#[inline]
fn this_thread() -> u64 {
    crate::nt::kernel::thread_token() as u64
}

/// The number of an irpkit IRP (0 for one irpkit did not allocate).
///
/// # Safety
/// `irp` is null or points to IRP-sized readable memory.
#[inline]
pub(crate) unsafe fn irp_number(irp: *mut Irp) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { crate::nt::irp::irp_id(irp) }.unwrap_or(0)
}

/// A `tracing` span entered for the length of a driver routine (none when nobody
/// watches).
pub(crate) type RoutineSpan = Option<tracing::span::EnteredSpan>;

/// Whether a `tracing` subscriber was ever installed (globally or for a scope).
#[inline]
fn tracing_on() -> bool {
    tracing::dispatcher::has_been_set()
}

/// Whether anyone watches `k`'s events.
#[inline]
fn watched(k: &KernelShared) -> bool {
    k.timeline.is_on() || tracing_on()
}

/// The kernel of an irpkit IRP if anyone watches it, with the IRP's number.
///
/// # Safety
/// `irp` is null or points to IRP-sized readable memory whose kernel, if irpkit
/// allocated it, is alive.
#[inline]
unsafe fn watched_irp<'a>(irp: *mut Irp) -> Option<(&'a KernelShared, u64)> {
    // SAFETY: forwarded contract.
    let h = unsafe { crate::nt::irp::header(irp) }?;
    // SAFETY: a valid header names its live kernel.
    let k = unsafe { crate::nt::irp::header_kernel(h) };
    // SAFETY: forwarded contract.
    watched(k).then(|| (k, unsafe { irp_number(irp) }))
}

/// The start of a routine others watch: its event recorded and its span entered, if
/// anyone watches `k`.
#[inline]
fn routine_started(
    k: &KernelShared,
    kind: impl FnOnce() -> EventKind,
    span: impl FnOnce() -> tracing::span::EnteredSpan,
) -> RoutineSpan {
    if !watched(k) {
        return None;
    }
    record(k, kind);
    Some(span())
}

/// The end of a routine [`routine_started`] saw begin (nothing if nobody watched it).
#[inline]
fn routine_ended(k: &KernelShared, span: RoutineSpan, kind: impl FnOnce() -> EventKind) {
    let Some(span) = span else { return };
    drop(span);
    record(k, kind);
}

/// The number of `irp` if anyone watches `k`'s events.
///
/// # Safety
/// `irp` is null or points to IRP-sized readable memory.
#[inline]
unsafe fn watched_number(k: &KernelShared, irp: *mut Irp) -> Option<u64> {
    // SAFETY: forwarded contract.
    watched(k).then(|| unsafe { irp_number(irp) })
}

/// An NTSTATUS as `tracing` shows it (`0xc0000120`).
struct Hex(NtStatus);

impl core::fmt::Display for Hex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:#010x}", self.0 as u32)
    }
}

#[inline]
pub(crate) fn irp_allocated(k: &KernelShared, irp: *mut Irp, stack_size: i8) {
    // SAFETY: forwarded contract.
    let Some(id) = (unsafe { watched_number(k, irp) }) else { return };
    tracing::trace!(target: "irpkit", irp = id, stack_size, "irp_allocated");
    record(k, || EventKind::IrpAllocated { irp: id, stack_size });
}

/// IoReuseIrp gave the IRP `previous` the number `irp` (a new request in the same memory).
#[inline]
pub(crate) fn irp_reused(k: &KernelShared, previous: u64, irp: u64) {
    if !watched(k) {
        return;
    }
    tracing::trace!(target: "irpkit", irp, previous, "irp_reused");
}

/// # Safety
/// `device` is a live device object.
#[inline]
pub(crate) unsafe fn dispatch(
    k: &KernelShared,
    id: u64,
    device: *mut crate::nt::types::DeviceObject,
    major: u8,
    location: i8,
) -> RoutineSpan {
    if !watched(k) {
        return None;
    }
    // SAFETY: forwarded contract.
    let device = unsafe { crate::nt::device::device_name(device) };
    let span = tracing::trace_span!(
        target: "irpkit",
        "dispatch",
        irp = id,
        device = %device,
        major = crate::nt::types::major_function_name(major),
        location
    )
    .entered();
    record(k, || EventKind::Dispatch { irp: id, device, major, location });
    Some(span)
}

#[inline]
pub(crate) fn dispatch_returned(k: &KernelShared, id: u64, status: NtStatus, span: RoutineSpan) {
    let Some(span) = span else { return };
    tracing::trace!(target: "irpkit", irp = id, status = %Hex(status), "dispatch_returned");
    drop(span);
    record(k, || EventKind::DispatchReturned { irp: id, status });
}

/// # Safety
/// `irp` is a live IRP.
#[inline]
pub(crate) unsafe fn marked_pending(irp: *mut Irp, location: i8) {
    // SAFETY: forwarded contract.
    let Some((k, id)) = (unsafe { watched_irp(irp) }) else { return };
    tracing::trace!(target: "irpkit", irp = id, location, "mark_pending");
    record(k, || EventKind::MarkedPending { irp: id, location });
}

/// # Safety
/// `irp` is a live IRP.
#[inline]
pub(crate) unsafe fn cancel_routine_exchanged(irp: *mut Irp, set: bool, had_routine: bool) {
    // SAFETY: forwarded contract.
    let Some((k, id)) = (unsafe { watched_irp(irp) }) else { return };
    if set {
        tracing::trace!(target: "irpkit", irp = id, "cancel_routine_set");
        record(k, || EventKind::CancelRoutineSet { irp: id });
    } else {
        tracing::trace!(target: "irpkit", irp = id, had_routine, "cancel_routine_cleared");
        record(k, || EventKind::CancelRoutineCleared { irp: id, had_routine });
    }
}

/// # Safety
/// `irp` points to pinned or allocated irpkit IRP memory.
#[inline]
pub(crate) unsafe fn cancel_requested(irp: *mut Irp, by: &'static str) {
    // SAFETY: forwarded contract.
    let Some((k, id)) = (unsafe { watched_irp(irp) }) else { return };
    tracing::debug!(target: "irpkit", irp = id, by, "cancel_requested");
    record(k, || EventKind::CancelRequested { irp: id, by });
}

/// # Safety
/// `irp` points to readable IRP memory.
#[inline]
pub(crate) unsafe fn io_cancel_irp(k: &KernelShared, irp: *mut Irp, by_io_manager: bool) {
    // SAFETY: forwarded contract.
    let Some(id) = (unsafe { watched_number(k, irp) }) else { return };
    tracing::debug!(target: "irpkit", irp = id, by_io_manager, "io_cancel_irp");
    record(k, || EventKind::IoCancelIrp { irp: id, by_io_manager });
}

/// Before a cancel routine runs: its span, and the IRP's number for
/// [`cancel_routine_returned`] (the IRP may be gone by then).
///
/// # Safety
/// `irp` is a live IRP.
#[inline]
pub(crate) unsafe fn cancel_routine(k: &KernelShared, irp: *mut Irp) -> (RoutineSpan, u64) {
    if !watched(k) {
        return (None, 0);
    }
    // SAFETY: forwarded contract.
    let id = unsafe { irp_number(irp) };
    record(k, || EventKind::CancelRoutineStarted { irp: id });
    (Some(tracing::debug_span!(target: "irpkit", "cancel_routine", irp = id).entered()), id)
}

#[inline]
pub(crate) fn cancel_routine_returned(k: &KernelShared, (span, id): (RoutineSpan, u64)) {
    routine_ended(k, span, || EventKind::CancelRoutineReturned { irp: id });
}

/// # Safety
/// `irp` is a live IRP.
#[inline]
pub(crate) unsafe fn completed(k: &KernelShared, irp: *mut Irp, status: NtStatus, information: usize) {
    // SAFETY: forwarded contract.
    let Some(id) = (unsafe { watched_number(k, irp) }) else { return };
    tracing::trace!(target: "irpkit", irp = id, status = %Hex(status), information, "io_complete_request");
    record(k, || EventKind::Completed { irp: id, status, information });
}

/// # Safety
/// `irp` is a live IRP.
#[inline]
pub(crate) unsafe fn finished(k: &KernelShared, irp: *mut Irp, status: NtStatus, delivered: bool) {
    // SAFETY: forwarded contract.
    let Some(id) = (unsafe { watched_number(k, irp) }) else { return };
    tracing::trace!(target: "irpkit", irp = id, status = %Hex(status), delivered, "finished");
    record(k, || EventKind::Finished { irp: id, status, delivered });
}

/// # Safety
/// `irp` points to pinned or allocated irpkit IRP memory.
#[inline]
pub(crate) unsafe fn disassociated(irp: *mut Irp) {
    // SAFETY: forwarded contract.
    let Some((k, id)) = (unsafe { watched_irp(irp) }) else { return };
    tracing::debug!(target: "irpkit", irp = id, "disassociated");
    record(k, || EventKind::Disassociated { irp: id });
}

/// # Safety
/// `irp` is an irpkit IRP being freed (its memory stays readable).
#[inline]
pub(crate) unsafe fn freed(k: &KernelShared, irp: *mut Irp) {
    // SAFETY: forwarded contract.
    let Some(id) = (unsafe { watched_number(k, irp) }) else { return };
    tracing::trace!(target: "irpkit", irp = id, "irp_freed");
    record(k, || EventKind::IrpFreed { irp: id });
}

#[inline]
pub(crate) fn dpc(k: &KernelShared, routine: usize) -> RoutineSpan {
    routine_started(
        k,
        || EventKind::DpcStarted { routine },
        || tracing::trace_span!(target: "irpkit", "dpc", routine = format_args!("{routine:#x}")).entered(),
    )
}

#[inline]
pub(crate) fn dpc_returned(k: &KernelShared, routine: usize, span: RoutineSpan) {
    routine_ended(k, span, || EventKind::DpcReturned { routine });
}

#[inline]
pub(crate) fn thread_exit(k: &KernelShared, thread_id: u32, outstanding: usize) -> RoutineSpan {
    routine_started(
        k,
        || EventKind::ThreadExitStarted { thread_id, outstanding },
        || tracing::debug_span!(target: "irpkit", "thread_exit", thread_id, outstanding).entered(),
    )
}

#[inline]
pub(crate) fn thread_exit_ended(k: &KernelShared, thread_id: u32, span: RoutineSpan) {
    routine_ended(k, span, || EventKind::ThreadExitEnded { thread_id });
}

#[inline]
pub(crate) fn event_logged(k: &KernelShared, name: &'static str, irp: u64) {
    tracing::info!(target: "irpkit", irp, name, "event_logged");
    record(k, || EventKind::EventLogged { name, irp });
}

#[inline]
pub(crate) fn verifier_report(k: &KernelShared, rule: &'static str, irp: Option<u64>) {
    tracing::warn!(target: "irpkit", irp, rule, "verifier_report");
    record(k, || EventKind::VerifierReport { rule, irp });
}

#[inline]
pub(crate) fn debug_output(k: &KernelShared, text: &str) {
    tracing::info!(target: "irpkit", text, "debug_output");
    record(k, || EventKind::DebugOutput { text: text.to_string() });
}

#[inline]
pub(crate) fn thread_named(k: &KernelShared, name: &str) {
    k.timeline.thread_named(|| k.clock.now(), this_thread(), name);
}

#[inline]
pub(crate) fn thread_ended(k: &KernelShared) {
    k.timeline.thread_ended(|| k.clock.now(), this_thread());
}
