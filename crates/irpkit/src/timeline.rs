//! Timelines: what happened to every IRP, in the order it happened.
//!
//! A kernel can record its I/O events — an IRP allocated, IoCallDriver handing it to a
//! dispatch routine, IoMarkIrpPending, IoSetCancelRoutine, a requester asking for a
//! cancel (CancelIo, CancelIoEx, CancelSynchronousIo, thread exit), IoCancelIrp, the
//! cancel routine running, IoCompleteRequest, the requester being told (or the IRP being
//! disassociated after the five minutes), DPCs, threads. Recording is off by default (a
//! relaxed load per hook); [`Kernel::record_timeline`](crate::Kernel::record_timeline)
//! turns it on and [`Kernel::timeline`](crate::Kernel::timeline) reads what was recorded.
//! Thread names are kept while it is off: turning it on first records the name of every
//! named thread still running, so a recording started late still names them.
//!
//! The same hook points emit [`tracing`] spans and events (target `irpkit`), so a library
//! user sees the IRP lifecycle in their own subscriber without turning the recorder on:
//! spans `dispatch`, `cancel_routine`, `dpc`, `thread_exit`; events `irp_allocated`,
//! `mark_pending`, `cancel_routine_set`, `cancel_routine_cleared`, `cancel_requested`,
//! `io_cancel_irp`, `io_complete_request`, `finished`, `disassociated`, `irp_freed`,
//! `event_logged`, `verifier_report`. Every one carries the IRP's number (`irp`) where
//! there is one.
//!
//! Events carry the kernel clock's time: on the virtual clock many happen at the same
//! instant, so the order is the event's [`seq`](Event::seq), not its time.
//!
//! Lock order: the recorder's thread names, then its events. Naming a thread and turning
//! the recorder on both hold the names lock across their check of "on", so a thread named
//! while recording starts is recorded exactly once.

use core::time::Duration;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::kernel::KernelShared;
use crate::nt::types::Irp;
use crate::nt::NtStatus;

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Position in the kernel's timeline (0, 1, 2, …): the order events happened in.
    pub seq: u64,
    /// The kernel clock's time.
    pub at: Duration,
    /// The thread it happened on (an identity unique in the process, never 0).
    pub thread: u64,
    /// What happened.
    pub kind: EventKind,
}

/// What happened. IRPs are named by their number (the number the verifier's reports and
/// the event log use).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// A driver's debug output (DbgPrint, DbgPrintEx, KdPrint; a DbgBreakPoint).
    DebugOutput {
        /// The text, as the driver formatted it.
        text: String,
    },
    /// The thread got a name ([`Kernel::spawn_named`](crate::Kernel::spawn_named) or
    /// [`Kernel::name_current_thread`](crate::Kernel::name_current_thread)).
    ThreadNamed {
        /// Its name.
        name: String,
    },
    /// A thread started by the kernel ended.
    ThreadEnded,
    /// IoAllocateIrp (the requester's issue allocates one too).
    IrpAllocated {
        /// The IRP.
        irp: u64,
        /// Its number of stack locations.
        stack_size: i8,
    },
    /// IoCallDriver is calling a dispatch routine.
    Dispatch {
        /// The IRP.
        irp: u64,
        /// The device whose driver's dispatch routine runs.
        device: String,
        /// The major function.
        major: u8,
        /// The stack location it runs at (1 is the lowest).
        location: i8,
    },
    /// The dispatch routine returned.
    DispatchReturned {
        /// The IRP (it may already be freed).
        irp: u64,
        /// What the dispatch routine returned.
        status: NtStatus,
    },
    /// IoMarkIrpPending.
    MarkedPending {
        /// The IRP.
        irp: u64,
        /// The stack location marked.
        location: i8,
    },
    /// IoSetCancelRoutine with a routine.
    CancelRoutineSet {
        /// The IRP.
        irp: u64,
    },
    /// IoSetCancelRoutine(NULL).
    CancelRoutineCleared {
        /// The IRP.
        irp: u64,
        /// Whether a routine was still there (false: IoCancelIrp took it first).
        had_routine: bool,
    },
    /// A requester asked for the IRP to be cancelled.
    CancelRequested {
        /// The IRP.
        irp: u64,
        /// Who: `CancelIo`, `CancelIoEx`, `CancelSynchronousIo` or `thread exit`.
        by: &'static str,
    },
    /// IoCancelIrp on a live IRP.
    IoCancelIrp {
        /// The IRP.
        irp: u64,
        /// Whether it was the I/O manager's (for a requester) rather than a driver's.
        by_io_manager: bool,
    },
    /// IoCancelIrp took the cancel routine and is calling it.
    CancelRoutineStarted {
        /// The IRP.
        irp: u64,
    },
    /// The cancel routine returned.
    CancelRoutineReturned {
        /// The IRP (it may already be freed).
        irp: u64,
    },
    /// IoCompleteRequest (the first call: a second one is a verifier report).
    Completed {
        /// The IRP.
        irp: u64,
        /// Its final status.
        status: NtStatus,
        /// Its Information.
        information: usize,
    },
    /// The completion reached the requester: status block, event, APC or port — or, for
    /// a failure that never pended, the status returned by the call.
    Finished {
        /// The IRP.
        irp: u64,
        /// The final status.
        status: NtStatus,
        /// Whether it was delivered to the status block (false: only returned).
        delivered: bool,
    },
    /// The five minutes after a thread's exit ran out: the IRP was disassociated from the
    /// thread (its completion will be swallowed).
    Disassociated {
        /// The IRP.
        irp: u64,
    },
    /// IoFreeIrp.
    IrpFreed {
        /// The IRP.
        irp: u64,
    },
    /// A DPC routine starts (on the thread draining the DPC queue).
    DpcStarted {
        /// The routine's address, to tell DPCs apart.
        routine: usize,
    },
    /// The DPC routine returned.
    DpcReturned {
        /// The routine's address.
        routine: usize,
    },
    /// A requester thread's exit begins (its IRPs are cancelled and waited for).
    ThreadExitStarted {
        /// The requester thread's id.
        thread_id: u32,
        /// How many IRPs it had outstanding.
        outstanding: usize,
    },
    /// The thread's exit is over.
    ThreadExitEnded {
        /// The requester thread's id.
        thread_id: u32,
    },
    /// An entry was written to the system event log.
    EventLogged {
        /// The entry's name (e.g. `IO_DRIVER_CANCEL_TIMEOUT`).
        name: &'static str,
        /// The IRP it names.
        irp: u64,
    },
    /// The verifier filed a report (the rule broken; the full report is in
    /// [`Verifier::reports`](crate::verifier::Verifier::reports)).
    VerifierReport {
        /// The rule's id (`double-completion`, ...).
        rule: &'static str,
        /// The IRP it is about, if any.
        irp: Option<u64>,
    },
}

impl EventKind {
    /// The IRP the event is about, if any.
    pub fn irp(&self) -> Option<u64> {
        use EventKind::*;
        match *self {
            IrpAllocated { irp, .. }
            | Dispatch { irp, .. }
            | DispatchReturned { irp, .. }
            | MarkedPending { irp, .. }
            | CancelRoutineSet { irp }
            | CancelRoutineCleared { irp, .. }
            | CancelRequested { irp, .. }
            | IoCancelIrp { irp, .. }
            | CancelRoutineStarted { irp }
            | CancelRoutineReturned { irp }
            | Completed { irp, .. }
            | Finished { irp, .. }
            | Disassociated { irp }
            | IrpFreed { irp }
            | EventLogged { irp, .. } => Some(irp),
            VerifierReport { irp, .. } => irp,
            DebugOutput { .. }
            | ThreadNamed { .. }
            | ThreadEnded
            | DpcStarted { .. }
            | DpcReturned { .. }
            | ThreadExitStarted { .. }
            | ThreadExitEnded { .. } => None,
        }
    }
}

/// A kernel's recorder. Deliberately outside the `sync` seam (like the thread tokens):
/// it observes, it does not synchronise the model, and a model checker must not see its
/// lock as a scheduling point.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    on: AtomicBool,
    events: Mutex<Vec<Event>>,
    /// The names of the kernel's named threads that have not ended, kept while the
    /// recorder is off too: a recording started later still names the threads that began
    /// before it (a DPC thread started with the kernel, say).
    names: Mutex<Vec<(u64, String)>>,
}

impl Recorder {
    pub(crate) fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Turns recording on or off. Turning it on records the name of every living named
    /// thread first.
    pub(crate) fn set_on(&self, k: &KernelShared, on: bool) {
        // Under the names lock, as `thread_named`: a thread naming itself meanwhile is either
        // in the snapshot or recorded as the recorder is on — never lost between the two.
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if on && !self.is_on() {
            let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
            for (thread, name) in names.iter() {
                let seq = events.len() as u64;
                events.push(Event {
                    seq,
                    at: k.clock.now(),
                    thread: *thread,
                    kind: EventKind::ThreadNamed { name: name.clone() },
                });
            }
        }
        self.on.store(on, Ordering::Relaxed);
        drop(names);
    }

    pub(crate) fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn take(&self) -> Vec<Event> {
        core::mem::take(&mut *self.events.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Records the event `kind()` builds, if `k` records. The clock is read under the
/// recorder's lock, so that sequence and time agree.
#[inline]
pub(crate) fn record(k: &KernelShared, kind: impl FnOnce() -> EventKind) {
    if !k.timeline.is_on() {
        return;
    }
    record_slow(k, kind());
}

#[cold]
fn record_slow(k: &KernelShared, kind: EventKind) {
    let thread = crate::kernel::thread_token() as u64;
    let mut events = k.timeline.events.lock().unwrap_or_else(|e| e.into_inner());
    let seq = events.len() as u64;
    events.push(Event { seq, at: k.clock.now(), thread, kind });
}

/// The number of an irpkit IRP (0 for one irpkit did not allocate).
///
/// # Safety
/// `irp` is null or points to IRP-sized readable memory.
pub(crate) unsafe fn irp_number(irp: *mut Irp) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { crate::nt::irp::irp_id(irp) }.unwrap_or(0)
}

// The hook points. Each records its event (when the recorder is on) and emits the
// matching `tracing` span or event (when a subscriber has ever been installed). When
// neither is the case a hook costs two relaxed loads and touches nothing else.

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

pub(crate) fn irp_allocated(k: &KernelShared, irp: *mut Irp, stack_size: i8) {
    if !watched(k) {
        return;
    }
    // SAFETY: a fresh irpkit IRP.
    let id = unsafe { irp_number(irp) };
    tracing::trace!(target: "irpkit", irp = id, stack_size, "irp_allocated");
    record(k, || EventKind::IrpAllocated { irp: id, stack_size });
}

/// IoReuseIrp gave the IRP `previous` the number `irp` (a new request in the same memory).
pub(crate) fn irp_reused(k: &KernelShared, previous: u64, irp: u64) {
    if !watched(k) {
        return;
    }
    tracing::trace!(target: "irpkit", irp, previous, "irp_reused");
}

/// # Safety
/// `device` is a live device object.
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

pub(crate) fn dispatch_returned(k: &KernelShared, id: u64, status: NtStatus, span: RoutineSpan) {
    let Some(span) = span else { return };
    tracing::trace!(target: "irpkit", irp = id, status = format_args!("{:#010x}", status as u32), "dispatch_returned");
    drop(span);
    record(k, || EventKind::DispatchReturned { irp: id, status });
}

/// # Safety
/// `irp` is a live IRP.
pub(crate) unsafe fn marked_pending(irp: *mut Irp, location: i8) {
    // SAFETY: forwarded contract.
    let Some((k, id)) = (unsafe { watched_irp(irp) }) else { return };
    tracing::trace!(target: "irpkit", irp = id, location, "mark_pending");
    record(k, || EventKind::MarkedPending { irp: id, location });
}

/// # Safety
/// `irp` is a live IRP.
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
pub(crate) unsafe fn cancel_requested(irp: *mut Irp, by: &'static str) {
    // SAFETY: forwarded contract.
    let Some((k, id)) = (unsafe { watched_irp(irp) }) else { return };
    tracing::debug!(target: "irpkit", irp = id, by, "cancel_requested");
    record(k, || EventKind::CancelRequested { irp: id, by });
}

/// # Safety
/// `irp` points to readable IRP memory.
pub(crate) unsafe fn io_cancel_irp(k: &KernelShared, irp: *mut Irp, by_io_manager: bool) {
    if !watched(k) {
        return;
    }
    // SAFETY: forwarded contract.
    let id = unsafe { irp_number(irp) };
    tracing::debug!(target: "irpkit", irp = id, by_io_manager, "io_cancel_irp");
    record(k, || EventKind::IoCancelIrp { irp: id, by_io_manager });
}

/// Before a cancel routine runs: its span, and the IRP's number for
/// [`cancel_routine_returned`] (the IRP may be gone by then).
///
/// # Safety
/// `irp` is a live IRP.
pub(crate) unsafe fn cancel_routine(k: &KernelShared, irp: *mut Irp) -> (RoutineSpan, u64) {
    if !watched(k) {
        return (None, 0);
    }
    // SAFETY: forwarded contract.
    let id = unsafe { irp_number(irp) };
    record(k, || EventKind::CancelRoutineStarted { irp: id });
    (Some(tracing::debug_span!(target: "irpkit", "cancel_routine", irp = id).entered()), id)
}

pub(crate) fn cancel_routine_returned(k: &KernelShared, (span, id): (RoutineSpan, u64)) {
    let Some(span) = span else { return };
    drop(span);
    record(k, || EventKind::CancelRoutineReturned { irp: id });
}

/// # Safety
/// `irp` is a live IRP.
pub(crate) unsafe fn completed(k: &KernelShared, irp: *mut Irp, status: NtStatus, information: usize) {
    if !watched(k) {
        return;
    }
    // SAFETY: forwarded contract.
    let id = unsafe { irp_number(irp) };
    tracing::trace!(
        target: "irpkit",
        irp = id,
        status = format_args!("{:#010x}", status as u32),
        information,
        "io_complete_request"
    );
    record(k, || EventKind::Completed { irp: id, status, information });
}

/// # Safety
/// `irp` is a live IRP.
pub(crate) unsafe fn finished(k: &KernelShared, irp: *mut Irp, status: NtStatus, delivered: bool) {
    if !watched(k) {
        return;
    }
    // SAFETY: forwarded contract.
    let id = unsafe { irp_number(irp) };
    tracing::trace!(
        target: "irpkit",
        irp = id,
        status = format_args!("{:#010x}", status as u32),
        delivered,
        "finished"
    );
    record(k, || EventKind::Finished { irp: id, status, delivered });
}

/// # Safety
/// `irp` points to pinned or allocated irpkit IRP memory.
pub(crate) unsafe fn disassociated(irp: *mut Irp) {
    // SAFETY: forwarded contract.
    let Some((k, id)) = (unsafe { watched_irp(irp) }) else { return };
    tracing::debug!(target: "irpkit", irp = id, "disassociated");
    record(k, || EventKind::Disassociated { irp: id });
}

/// # Safety
/// `irp` is an irpkit IRP being freed (its memory stays readable).
pub(crate) unsafe fn freed(k: &KernelShared, irp: *mut Irp) {
    if !watched(k) {
        return;
    }
    // SAFETY: forwarded contract.
    let id = unsafe { irp_number(irp) };
    tracing::trace!(target: "irpkit", irp = id, "irp_freed");
    record(k, || EventKind::IrpFreed { irp: id });
}

pub(crate) fn dpc(k: &KernelShared, routine: usize) -> RoutineSpan {
    if !watched(k) {
        return None;
    }
    record(k, || EventKind::DpcStarted { routine });
    Some(tracing::trace_span!(target: "irpkit", "dpc", routine = format_args!("{routine:#x}")).entered())
}

pub(crate) fn dpc_returned(k: &KernelShared, routine: usize, span: RoutineSpan) {
    let Some(span) = span else { return };
    drop(span);
    record(k, || EventKind::DpcReturned { routine });
}

pub(crate) fn thread_exit(k: &KernelShared, thread_id: u32, outstanding: usize) -> RoutineSpan {
    if !watched(k) {
        return None;
    }
    record(k, || EventKind::ThreadExitStarted { thread_id, outstanding });
    Some(tracing::debug_span!(target: "irpkit", "thread_exit", thread_id, outstanding).entered())
}

pub(crate) fn thread_exit_ended(k: &KernelShared, thread_id: u32, span: RoutineSpan) {
    let Some(span) = span else { return };
    drop(span);
    record(k, || EventKind::ThreadExitEnded { thread_id });
}

pub(crate) fn event_logged(k: &KernelShared, name: &'static str, irp: u64) {
    tracing::info!(target: "irpkit", irp, name, "event_logged");
    record(k, || EventKind::EventLogged { name, irp });
}

pub(crate) fn verifier_report(k: &KernelShared, rule: &'static str, irp: Option<u64>) {
    tracing::warn!(target: "irpkit", irp, rule, "verifier_report");
    record(k, || EventKind::VerifierReport { rule, irp });
}

pub(crate) fn debug_output(k: &KernelShared, text: &str) {
    tracing::info!(target: "irpkit", text, "debug_output");
    record(k, || EventKind::DebugOutput { text: text.to_string() });
}

pub(crate) fn thread_named(k: &KernelShared, name: &str) {
    let thread = crate::kernel::thread_token() as u64;
    // Lock order: names, then events (in `record`); see `Recorder::set_on`.
    let mut names = k.timeline.names.lock().unwrap_or_else(|e| e.into_inner());
    names.retain(|(t, _)| *t != thread);
    names.push((thread, name.to_string()));
    record(k, || EventKind::ThreadNamed { name: name.to_string() });
    drop(names);
}

pub(crate) fn thread_ended(k: &KernelShared) {
    let thread = crate::kernel::thread_token() as u64;
    k.timeline.names.lock().unwrap_or_else(|e| e.into_inner()).retain(|(t, _)| *t != thread);
    record(k, || EventKind::ThreadEnded);
}
