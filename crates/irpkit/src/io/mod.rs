//! The requester side of the I/O manager: processes, threads, files and handles; reads,
//! writes and device controls, synchronous and overlapped; CancelIo, CancelIoEx and
//! CancelSynchronousIo; thread exit with the five-minute rule and its event-log entry;
//! process exit.
//!
//! Facts followed (Microsoft's documentation of these calls and of thread exit):
//! - every IRP a thread issues is on that thread's list (newest first) until its result is
//!   delivered;
//! - the last handle to a file object sends IRP_MJ_CLEANUP, the last reference (handles
//!   and outstanding IRPs) IRP_MJ_CLOSE;
//! - CancelIo cancels the calling thread's IRPs on the file and waits (polling every
//!   10 ms) until they are gone; CancelIoEx cancels any thread's IRPs on the handle (or
//!   the one named by its overlapped structure) without waiting, `STATUS_NOT_FOUND` if
//!   none matched; CancelSynchronousIo cancels the target thread's synchronous I/O only;
//! - thread exit: IoCancelIrp on every IRP of the thread, then every 100 ms a re-check, up
//!   to 3000 times (5 minutes; both configurable); IRPs still there are disassociated
//!   (`Thread` = NULL, off the list) and each gets an `IO_DRIVER_CANCEL_TIMEOUT` entry in
//!   the system event log naming the device that owns it; a disassociated IRP that
//!   completes later is freed silently.
//!
//! Whether the thread exit or the completion settles an IRP's requester side is a
//! single-winner exchange on the IRP (`requester_state`, parties `nt::requester::FINAL_STAGE`
//! and `THREAD_EXIT`): exactly one of
//! them does.
//!
//! # Files
//! - `process`: processes, the handle table, process exit;
//! - `thread`: a thread's IRP list and APC queue, thread handles, thread exit;
//! - `file`: file objects and their reference counts, handles, user events;
//! - `link`: one request's state (`RequestState`) and the link its IRP carries to the final stage;
//! - `request`: issuing reads, writes and device controls, waiting, the cancel calls;
//! - `overlapped`, `port`, `future`, `timeout`: `OVERLAPPED`, completion ports, futures,
//!   per-request timeouts.
//!
//! # Ownership
//! A `Process` owns its handle table (each handle an `Arc` of its file) and its threads'
//! shared state. An outstanding IRP owns, through its `IrpLink`, a reference to its file, its
//! thread's state and its request's `RequestState`, and the request's buffers: they are released by
//! the final stage of its completion, or with the IRP if the thread's exit disassociated
//! it. Futures, `Overlapped`s and waiters share the `RequestState`.
//!
//! # Lock order
//! Outermost first: `ProcessShared::threads` → `ThreadShared::irps`; `Results::map` →
//! `Results::detached`; `RequestState::notify` → `FileShared::port`. Every other lock of this
//! module (`ProcessShared::handles`, `ThreadShared::apcs`, `Overlapped::current`,
//! `PortShared::packets`) is a leaf. None is held across a call into the NT layer that can
//! reach a driver (IoCallDriver, IoCancelIrp, a wait); the final stage of a completion
//! takes them on the completing thread (see `link`), inside whatever NT locks that thread
//! holds, so they come after every NT spin lock in the crate's order (docs/ARCHITECTURE.md).

use core::cell::UnsafeCell;
use core::time::Duration;
use std::collections::{BTreeMap, VecDeque};

use crate::nt::device_ref::DeviceRef;
use crate::nt::kernel::{Kernel, KernelShared};
use crate::nt::{self, DeviceObject, FileObject, IoStatusBlock, Irp, IrpPtr, KEvent, NtStatus};
use crate::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering};
use crate::sync::{lock, Arc, Mutex};

mod file;
mod future;
mod link;
mod overlapped;
mod port;
mod process;
mod request;
mod thread;
mod timeout;

use self::{file::*, link::*, port::*, process::*, request::*, thread::*};

pub use self::file::{Handle, UserEvent};
pub use self::future::IoFuture;
pub use self::overlapped::Overlapped;
pub use self::port::{CompletionPort, Packet};
pub use self::process::{Process, RequesterJoinHandle};
pub use self::request::RequesterThread;
pub use self::thread::ThreadHandle;
pub use self::timeout::RequestTimeout;

pub use crate::nt::event_log::{EventLogEntry, IO_DRIVER_CANCEL_TIMEOUT};
use std::sync::atomic::Ordering as StdOrdering;

/// `IRP_SYNCHRONOUS_API`: the IRP belongs to a synchronous call (CancelSynchronousIo).
pub const IRP_SYNCHRONOUS_API: u32 = 0x0000_0004;

/// Timing of the requester side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoConfig {
    /// Thread exit re-checks its IRP list this often (Windows: 100 ms).
    pub exit_check_interval: Duration,
    /// … this many times before giving up (Windows: 3000, i.e. 5 minutes).
    pub exit_max_checks: u32,
    /// CancelIo polls for its IRPs to be gone this often (Windows: 10 ms).
    pub cancel_io_poll: Duration,
}

impl Default for IoConfig {
    fn default() -> Self {
        IoConfig {
            exit_check_interval: Duration::from_millis(100),
            exit_max_checks: 3000,
            cancel_io_poll: Duration::from_millis(10),
        }
    }
}
