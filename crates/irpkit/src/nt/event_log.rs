//! The system event log: the entries the I/O manager writes (today one kind,
//! `IO_DRIVER_CANCEL_TIMEOUT`, for an IRP a thread's exit gave up waiting for). The
//! requester side ([`crate::io`]) writes them; [`Kernel::event_log`](crate::Kernel::event_log)
//! reads them.
//!
//! Lock: the log's mutex is a leaf (nothing is called while it is held).

use core::time::Duration;

use crate::nt::kernel::KernelShared;
use crate::sync::lock;

/// `IO_DRIVER_CANCEL_TIMEOUT`: the event-log code written for an IRP that was still not
/// completed when its thread's exit gave up waiting.
pub const IO_DRIVER_CANCEL_TIMEOUT: u32 = 0x8004_0036;

/// One entry of the system event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLogEntry {
    /// The event code, e.g. [`IO_DRIVER_CANCEL_TIMEOUT`].
    pub code: u32,
    /// The code's name.
    pub name: &'static str,
    /// The device the entry is about (the device that owned the IRP).
    pub device: String,
    /// The IRP's serial number.
    pub irp: u64,
    /// The exiting thread's id.
    pub thread: u32,
    /// When, on the kernel's clock.
    pub at: Duration,
}

impl KernelShared {
    /// Appends `entry` to the log (and tells the observers).
    pub(crate) fn log_event(&self, entry: EventLogEntry) {
        crate::nt::observe::event_logged(self, entry.name, entry.irp);
        lock(&self.event_log).push(entry);
    }
}
