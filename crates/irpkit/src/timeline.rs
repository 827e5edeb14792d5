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
//! This module is an observer below the NT layer: it holds the event types and the
//! recorder, and knows nothing of IRPs, devices or kernels. The NT layer's hook points
//! (`nt::observe`) turn what happened into plain data — numbers, names, statuses — and
//! hand it to the kernel's recorder (and to `tracing`).
//!
//! Lock order: the recorder's thread names, then its events. Naming a thread and turning
//! the recorder on both hold the names lock across their check of "on", so a thread named
//! while recording starts is recorded exactly once.

use core::time::Duration;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// An NTSTATUS (the NT layer's `NtStatus`; the timeline, below the NT layer, names it by
/// its representation).
type NtStatus = i32;

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
///
/// Every method takes plain data: the thread's identity and the clock's reading (a
/// closure, called under the events lock so that sequence and time agree).
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
    /// Whether events are being recorded (a relaxed load).
    #[inline]
    pub(crate) fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Turns recording on or off. Turning it on records the name of every living named
    /// thread first.
    pub(crate) fn set_on(&self, now: impl Fn() -> Duration, on: bool) {
        // Under the names lock, as `thread_named`: a thread naming itself meanwhile is either
        // in the snapshot or recorded as the recorder is on — never lost between the two.
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if on && !self.is_on() {
            let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
            for (thread, name) in names.iter() {
                let seq = events.len() as u64;
                events.push(Event {
                    seq,
                    at: now(),
                    thread: *thread,
                    kind: EventKind::ThreadNamed { name: name.clone() },
                });
            }
        }
        self.on.store(on, Ordering::Relaxed);
        drop(names);
    }

    /// Appends an event that happened on `thread`, if recording is on.
    #[inline]
    pub(crate) fn record(&self, now: impl FnOnce() -> Duration, thread: u64, kind: impl FnOnce() -> EventKind) {
        if self.is_on() {
            self.record_slow(now, thread, kind());
        }
    }

    #[cold]
    fn record_slow(&self, now: impl FnOnce() -> Duration, thread: u64, kind: EventKind) {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let seq = events.len() as u64;
        events.push(Event { seq, at: now(), thread, kind });
    }

    /// `thread` got the name `name` (kept while the thread lives; recorded if on).
    pub(crate) fn thread_named(&self, now: impl FnOnce() -> Duration, thread: u64, name: &str) {
        // Lock order: names, then events (in `record`); see `set_on`.
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names.retain(|(t, _)| *t != thread);
        names.push((thread, name.to_string()));
        self.record(now, thread, || EventKind::ThreadNamed { name: name.to_string() });
        drop(names);
    }

    /// `thread` ended (its name is forgotten; recorded if on).
    pub(crate) fn thread_ended(&self, now: impl FnOnce() -> Duration, thread: u64) {
        self.names.lock().unwrap_or_else(|e| e.into_inner()).retain(|(t, _)| *t != thread);
        self.record(now, thread, || EventKind::ThreadEnded);
    }

    /// A copy of the events recorded so far.
    pub(crate) fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The events recorded so far, leaving none.
    pub(crate) fn take(&self) -> Vec<Event> {
        core::mem::take(&mut *self.events.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
