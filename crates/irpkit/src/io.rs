//! The requester side of the I/O manager: processes, threads, files and handles; reads,
//! writes and device controls, synchronous and overlapped; CancelIo, CancelIoEx and
//! CancelSynchronousIo; thread exit with the five-minute rule and its event-log entry;
//! process exit.
//!
//! Facts followed (`requesters.md`):
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
//! single-winner exchange on the IRP (`requester_state`): exactly one of them does.

use core::cell::UnsafeCell;
use core::time::Duration;
use std::collections::{BTreeMap, VecDeque};

use crate::nt::device_ref::DeviceRef;
use crate::nt::kernel::{Kernel, KernelShared};
use crate::nt::{self, DeviceObject, FileObject, IoStatusBlock, Irp, KEvent, NtStatus};
use crate::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering};
use crate::sync::{lock, Arc, Mutex};

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

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct IrpPtr(*mut Irp);
// SAFETY: IRP pointers are handed between threads under the list lock; the IRPs are
// pinned or on the list (hence allocated) whenever they are dereferenced.
unsafe impl Send for IrpPtr {}

/// A requester thread's state: its list of outstanding IRPs.
pub(crate) struct ThreadShared {
    id: u32,
    irps: Mutex<ThreadIrps>,
    exited: AtomicBool,
    /// User APCs (I/O completion routines) waiting for an alertable wait.
    apcs: Mutex<VecDeque<UserApc>>,
    /// Signalled when an APC is queued.
    apc_ready: KEvent,
    /// The number of the last IRP this thread issued (0: none yet).
    last_irp: std::sync::atomic::AtomicU64,
}

/// The IRPs a thread issued that have not finished. Listed newest first, as NT links them
/// at the head of the thread's list; adding and taking one off take constant time, so a
/// thread with 10^5 IRPs outstanding exits in linear time, and a steady stream of
/// requests does not allocate (the table keeps its capacity).
#[derive(Default)]
struct ThreadIrps {
    issued: u64,
    table: crate::nt::addr_map::AddrMap<IrpPtr, u64>,
}

impl ThreadIrps {
    fn push(&mut self, p: IrpPtr) {
        self.issued += 1;
        self.table.insert(p, self.issued);
    }

    fn remove(&mut self, p: IrpPtr) -> bool {
        self.table.remove(&p).is_some()
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    fn any(&self, f: impl Fn(IrpPtr) -> bool) -> bool {
        self.table.keys().any(|&p| f(p))
    }

    /// The IRPs, newest first.
    fn newest_first(&self) -> Vec<IrpPtr> {
        let mut all: Vec<(u64, IrpPtr)> = self.table.iter().map(|(&p, &n)| (n, p)).collect();
        all.sort_unstable_by_key(|&(n, _)| core::cmp::Reverse(n));
        all.into_iter().map(|(_, p)| p).collect()
    }
}

/// An I/O completion routine with the result it is called with.
type UserApc = (Box<dyn FnOnce(IoStatusBlock) + Send>, IoStatusBlock);

/// One request's status block and events. Each request gets its own (an `Overlapped`
/// points at the one of the request last issued with it), so a completion only ever
/// writes the state of its own request.
pub(crate) struct Op {
    /// Issued: its request may still write `iosb` and set `event` (until `event` or
    /// `done` is set). False for the blank state of a fresh `Overlapped`.
    issued: AtomicBool,
    /// The caller's status block (written only when the result is delivered).
    iosb: UnsafeCell<IoStatusBlock>,
    /// The caller's event (set only when the result is delivered).
    event: KEvent,
    /// Set when the IRP's completion finished, delivered or not (internal).
    done: KEvent,
    final_status: AtomicI32,
    final_information: AtomicUsize,
    /// How the result is delivered besides the status block and event.
    notify: Mutex<Notify>,
    /// A serial number (async results are filed under it).
    id: u64,
    /// irpkit's serial number of the request's IRP (0: none issued yet).
    irp: std::sync::atomic::AtomicU64,
    /// When the completion finished, on the kernel's clock, in ns plus one (0: not yet).
    completed_ns: std::sync::atomic::AtomicU64,
}

/// The other two ways of learning about completion, and async wakers.
#[derive(Default)]
struct Notify {
    /// A completion routine (`ReadFileEx`): queued to the issuing thread as a user APC.
    routine: Option<Box<dyn FnOnce(IoStatusBlock) + Send>>,
    /// The completion port the file is associated with, and the key.
    port: Option<(Arc<PortShared>, usize)>,
    /// An async request waiting for completion.
    waker: Option<core::task::Waker>,
}

// SAFETY: `iosb` is written only by its own request: once before the IRP is sent, and once
// by the completing thread before `event` is set; `Overlapped::status_block` reads it only
// after seeing `event` set. A new request never reuses an `Op` (see `Overlapped::claim`).
// Everything else is atomic or behind a lock.
unsafe impl Send for Op {}
// SAFETY: as above.
unsafe impl Sync for Op {}

/// Serial numbers of operations (identities only, not a synchronisation point).
static NEXT_OP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Op {
    fn new(issued: bool) -> Self {
        Op {
            issued: AtomicBool::new(issued),
            iosb: UnsafeCell::new(IoStatusBlock { status: nt::STATUS_PENDING, information: 0 }),
            event: KEvent::new(nt::EventType::Notification, false),
            done: KEvent::new(nt::EventType::Notification, false),
            final_status: AtomicI32::new(nt::STATUS_PENDING),
            final_information: AtomicUsize::new(0),
            notify: Mutex::new(Notify::default()),
            id: NEXT_OP.fetch_add(1, StdOrdering::Relaxed),
            irp: std::sync::atomic::AtomicU64::new(0),
            completed_ns: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

/// A file object with its handle and reference counts.
pub(crate) struct FileShared {
    object: Box<UnsafeCell<FileObject>>,
    kernel: Kernel,
    handles: AtomicUsize,
    /// One for the handles together, plus one per outstanding IRP.
    refs: AtomicUsize,
    /// The completion port the file is associated with, and its key.
    port: Mutex<Option<(Arc<PortShared>, usize)>>,
}

// SAFETY: the file object is shared with drivers as NT shares it; counters are atomic; its
// device lives as long as its kernel, which `kernel` keeps alive.
unsafe impl Send for FileShared {}
// SAFETY: shared access is what Send above argues: the file object is shared with drivers
// as NT shares it, the counters are atomics, the port is behind a Mutex.
unsafe impl Sync for FileShared {}

impl FileShared {
    fn object(&self) -> *mut FileObject {
        self.object.get()
    }

    /// The device a request on this file is sent to (IoGetRelatedDeviceObject): the top
    /// of the stack the file's device belongs to, so a filter attached over it sees the
    /// request first, also when it attached after the file was opened.
    fn related_device(&self) -> *mut DeviceObject {
        // SAFETY: the file object is live (ours) and its device a live irpkit device of
        // `kernel`, as is every device attached over it.
        unsafe { nt::io_get_related_device_object(self.object()) }
    }

    /// Sends IRP_MJ_CREATE, CLEANUP or CLOSE for the file and waits for its status.
    fn send(&self, major: u8) -> NtStatus {
        // SAFETY: the related device is a live irpkit device of `kernel`.
        unsafe { nt::creator::call(&self.kernel, self.related_device(), major, self.object()) }
    }

    /// Drops one reference; the last sends IRP_MJ_CLOSE (from a system worker thread, at
    /// PASSIVE_LEVEL, since the last reference may go in a completion at DISPATCH_LEVEL).
    fn release(this: &Arc<Self>) {
        if this.refs.fetch_sub(1, Ordering::AcqRel) == 1 {
            let file = this.clone();
            if nt::ke_get_current_irql() == nt::PASSIVE_LEVEL {
                file.close();
            } else {
                drop(this.kernel.spawn(move || file.close()));
            }
        }
    }

    fn close(&self) {
        self.send(nt::IRP_MJ_CLOSE);
    }
}

/// What the final stage of completion hands back to the requester side.
pub(crate) struct Link {
    thread: Arc<ThreadShared>,
    op: Arc<Op>,
    /// The caller's `OVERLAPPED`, if it gave one (a completion packet carries it).
    overlapped: Option<Overlapped>,
    file: Arc<FileShared>,
    /// The request's buffer (async requests): owned here, by the IRP's side, until the
    /// result is delivered — whatever happens to the future meanwhile.
    buffer: Option<Vec<u8>>,
    /// Where an async request's result waits for its future.
    results: Option<Arc<Results>>,
    /// The caller's buffer of a call that names only a length, and METHOD_NEITHER's
    /// buffers: they belong to the IRP until its completion has finished (the system
    /// buffer and MDL are the IRP's own, freed with it).
    _io_buffers: Vec<Vec<u8>>,
}

impl Drop for Link {
    /// The IRP is done with its file object — delivered, or (disassociated) swallowed.
    fn drop(&mut self) {
        FileShared::release(&self.file);
    }
}

/// Async results not yet taken by their futures, by request id.
#[derive(Default)]
pub(crate) struct Results {
    map: Mutex<BTreeMap<u64, (IoStatusBlock, Vec<u8>)>>,
    /// Requests whose future is gone: their result is dropped on arrival.
    detached: Mutex<std::collections::BTreeSet<u64>>,
}

impl nt::requester::RequesterLink for Link {
    /// The completion of `irp` finished: record its final status, take it off its
    /// thread's list, wake waiters, drop its file reference.
    ///
    /// # Safety
    /// `irp` is the live IRP this link was attached to, at its final stage.
    unsafe fn completed(mut self, k: &KernelShared, irp: *mut Irp, delivered: bool) {
        // SAFETY: the live IRP at its final stage.
        let status = unsafe { (*irp).io_status };
        self.op.final_information.store(status.information, Ordering::Relaxed);
        let now = u64::try_from(k.clock.now().as_nanos()).unwrap_or(u64::MAX - 1);
        self.op.completed_ns.store(now + 1, StdOrdering::Relaxed);
        self.op.final_status.store(status.status, Ordering::Release);
        lock(&self.thread.irps).remove(IrpPtr(irp));
        if let (Some(results), Some(buffer)) = (&self.results, self.buffer.take()) {
            // Under the results lock: either the future is gone (the buffer is freed here,
            // once) or the result waits for it.
            let mut map = lock(&results.map);
            if !lock(&results.detached).remove(&self.op.id) {
                map.insert(self.op.id, (status, buffer));
            }
        }
        let notify = core::mem::take(&mut *lock(&self.op.notify));
        if delivered {
            if let Some(routine) = notify.routine {
                lock(&self.thread.apcs).push_back((routine, status));
                nt::event::set_event_in(k, &self.thread.apc_ready);
            }
            if let Some((port, key)) = notify.port {
                let overlapped = self.overlapped.clone().unwrap_or_else(|| Overlapped::of(self.op.clone()));
                port.post(Packet { key, status, overlapped });
            }
        }
        nt::event::set_event_in(k, &self.op.done);
        if let Some(waker) = notify.waker {
            waker.wake();
        }
        // Dropping the link releases the IRP's file reference.
    }
}

/// A handle in a process's handle table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Handle(u32);

/// An event a process created (`CreateEvent`), whose handle it can pass to a driver (in a
/// device control's input, say), which references it with ObReferenceObjectByHandle and
/// signals it. The event's memory lives as long as its kernel, which this keeps alive.
#[derive(Clone)]
pub struct UserEvent {
    handle: usize,
    event: *mut KEvent,
    kernel: Kernel,
}

// SAFETY: the event is a dispatcher object whose state is atomic; its memory lives as long
// as the kernel, which `kernel` keeps alive.
unsafe impl Send for UserEvent {}
// SAFETY: shared use only reads the handle and waits on or signals the event, which the
// dispatcher objects' atomics synchronise.
unsafe impl Sync for UserEvent {}

impl core::fmt::Debug for UserEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UserEvent").field("handle", &format_args!("{:#x}", self.handle)).finish_non_exhaustive()
    }
}

impl UserEvent {
    /// The handle value, as the process passes it to a driver.
    pub fn handle(&self) -> usize {
        self.handle
    }

    /// `WaitForSingleObject`: `STATUS_SUCCESS` when the event is signalled (a
    /// synchronization event is reset by the wait), `STATUS_TIMEOUT` after `timeout` on
    /// the kernel's clock.
    pub fn wait(&self, timeout: Option<Duration>) -> NtStatus {
        let _entered = self.kernel.enter();
        // SAFETY: the event lives as long as the kernel, which `self` keeps alive.
        nt::ke_wait_for_single_object(unsafe { &*self.event }, timeout)
    }

    /// Whether the event is signalled now (`KeReadStateEvent`).
    pub fn is_signalled(&self) -> bool {
        // SAFETY: as in `wait`; the state is an atomic.
        unsafe { (*self.event).header.signal_state.load(Ordering::Acquire) != 0 }
    }
}

/// A thread handle, with or without the terminate access CancelSynchronousIo requires.
#[derive(Clone)]
pub struct ThreadHandle {
    thread: Arc<ThreadShared>,
    terminate: bool,
}

impl core::fmt::Debug for ThreadHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ThreadHandle").field("terminate", &self.terminate).finish_non_exhaustive()
    }
}

impl ThreadHandle {
    /// The same thread without terminate access (what CancelSynchronousIo refuses).
    pub fn without_terminate_access(&self) -> Self {
        ThreadHandle { thread: self.thread.clone(), terminate: false }
    }
}

/// An overlapped operation's status block and event (`OVERLAPPED`): written and set when
/// the request's result is delivered — never for a request that failed without pending.
///
/// Single-flight, as Win32 allows reusing an `OVERLAPPED` only once its operation has
/// completed: a request issued with an `Overlapped` whose previous request has not
/// finished (its result not delivered, or it failed at once and is not yet settled) is
/// refused with `Err(STATUS_INVALID_PARAMETER)`, and the first request is untouched. A
/// request whose thread exited before it completed (disassociated) never finishes: its
/// `Overlapped` stays in use. Each request has its own status block and event behind the
/// `Overlapped`, so nothing a finished request's completion still does can reach the next
/// one. Clones share the same `OVERLAPPED`.
#[derive(Clone)]
pub struct Overlapped {
    /// The state of the request last issued with it (a blank one before the first).
    current: Arc<Mutex<Arc<Op>>>,
}

impl core::fmt::Debug for Overlapped {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Overlapped").field("status_block", &self.status_block()).finish()
    }
}

impl Default for Overlapped {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `op`'s request may still write its status block or set its event.
fn in_flight(op: &Op) -> bool {
    op.issued.load(Ordering::Acquire)
        && nt::ke_read_state_event(&op.event) == 0
        && nt::ke_read_state_event(&op.done) == 0
}

impl Overlapped {
    /// A fresh status block and event.
    pub fn new() -> Self {
        Self::of(Arc::new(Op::new(false)))
    }

    /// An `Overlapped` standing for one request's state (a packet's, a future's).
    fn of(op: Arc<Op>) -> Self {
        Overlapped { current: Arc::new(Mutex::new(op)) }
    }

    /// The state of the request last issued with it.
    fn op(&self) -> Arc<Op> {
        lock(&self.current).clone()
    }

    /// Takes the `OVERLAPPED` for a new request: fresh state, unless the previous request
    /// has not finished. One winner among threads issuing at once.
    fn claim(&self) -> Result<Arc<Op>, NtStatus> {
        let mut current = lock(&self.current);
        if in_flight(&current) {
            return Err(nt::STATUS_INVALID_PARAMETER);
        }
        let op = Arc::new(Op::new(true));
        *current = op.clone();
        Ok(op)
    }

    /// Whether the event is set (the result was delivered).
    pub fn is_signalled(&self) -> bool {
        nt::ke_read_state_event(&self.op().event) != 0
    }

    /// The status block as the request left it (`STATUS_PENDING` until delivery).
    pub fn status_block(&self) -> IoStatusBlock {
        let op = self.op();
        if nt::ke_read_state_event(&op.event) != 0 {
            // SAFETY: written before the event was set, never again: a request writes
            // only its own `Op`.
            unsafe { *op.iosb.get() }
        } else {
            IoStatusBlock { status: nt::STATUS_PENDING, information: 0 }
        }
    }

    /// irpkit's serial number of the IRP of the request last issued with this
    /// `OVERLAPPED` (what verifier reports, the event log and timelines call it).
    pub fn irp_id(&self) -> Option<u64> {
        Some(self.op().irp.load(StdOrdering::Relaxed)).filter(|&id| id != 0)
    }

    /// When that request's completion finished, on the kernel's clock (`None` before,
    /// and for a request disassociated at thread exit and never completed).
    pub fn completed_at(&self) -> Option<Duration> {
        match self.op().completed_ns.load(StdOrdering::Relaxed) {
            0 => None,
            ns => Some(Duration::from_nanos(ns - 1)),
        }
    }

    /// Waits (on the kernel's clock) for the event, then returns the status block.
    pub fn wait(&self, kernel: &Kernel, timeout: Option<Duration>) -> Option<IoStatusBlock> {
        let _entered = kernel.enter();
        let op = self.op();
        (nt::ke_wait_for_single_object(&op.event, timeout) == nt::STATUS_SUCCESS).then(|| {
            // SAFETY: as in `status_block`: the event of this very request is set.
            unsafe { *op.iosb.get() }
        })
    }
}

/// A completion packet (`GetQueuedCompletionStatus`).
#[derive(Debug, Clone)]
pub struct Packet {
    /// The key the handle was associated with.
    pub key: usize,
    /// The request's final status block.
    pub status: IoStatusBlock,
    /// The request's `OVERLAPPED`.
    pub overlapped: Overlapped,
}

pub(crate) struct PortShared {
    kernel: Kernel,
    packets: Mutex<VecDeque<Packet>>,
    ready: nt::KSemaphore,
}

impl PortShared {
    fn post(&self, packet: Packet) {
        lock(&self.packets).push_back(packet);
        let _entered = self.kernel.enter();
        nt::ke_release_semaphore(&self.ready, 0, 1, false);
    }
}

/// An I/O completion port: overlapped requests on associated handles post a packet here
/// when their result is delivered.
#[derive(Clone)]
pub struct CompletionPort {
    shared: Arc<PortShared>,
}

impl core::fmt::Debug for CompletionPort {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CompletionPort").finish_non_exhaustive()
    }
}

impl CompletionPort {
    /// `CreateIoCompletionPort` (a new port).
    pub fn new(kernel: &Kernel) -> Self {
        CompletionPort {
            shared: Arc::new(PortShared {
                kernel: kernel.clone(),
                packets: Mutex::new(VecDeque::new()),
                ready: nt::KSemaphore::new(0, i32::MAX),
            }),
        }
    }

    /// `GetQueuedCompletionStatus`: the next packet, waiting up to `timeout` on the
    /// kernel's clock.
    pub fn get_queued_completion_status(&self, timeout: Option<Duration>) -> Option<Packet> {
        let _entered = self.shared.kernel.enter();
        if nt::ke_wait_for_single_object(&self.shared.ready, timeout) != nt::STATUS_SUCCESS {
            return None;
        }
        lock(&self.shared.packets).pop_front()
    }
}

struct ProcessShared {
    kernel: Kernel,
    config: IoConfig,
    handles: Mutex<BTreeMap<u32, Arc<FileShared>>>,
    next_handle: AtomicU32,
    threads: Mutex<Vec<Arc<ThreadShared>>>,
    next_thread: AtomicU32,
    terminated: AtomicBool,
    results: Arc<Results>,
}

/// A requester process: a handle table and threads.
#[derive(Clone)]
pub struct Process {
    shared: Arc<ProcessShared>,
}

impl core::fmt::Debug for Process {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Process").finish_non_exhaustive()
    }
}

impl Process {
    /// A process in `kernel` with the Windows timings.
    pub fn new(kernel: &Kernel) -> Self {
        Self::with_config(kernel, IoConfig::default())
    }

    /// A process with chosen timings.
    pub fn with_config(kernel: &Kernel, config: IoConfig) -> Self {
        Process {
            shared: Arc::new(ProcessShared {
                kernel: kernel.clone(),
                config,
                handles: Mutex::new(BTreeMap::new()),
                next_handle: AtomicU32::new(4),
                threads: Mutex::new(Vec::new()),
                next_thread: AtomicU32::new(1),
                terminated: AtomicBool::new(false),
                results: Arc::new(Results::default()),
            }),
        }
    }

    /// The kernel the process runs in.
    pub fn kernel(&self) -> &Kernel {
        &self.shared.kernel
    }

    /// Opens `device` (`CreateFile`): a new file object, IRP_MJ_CREATE, a handle.
    /// `overlapped` files return `STATUS_PENDING` from I/O calls; the others are
    /// synchronous (FO_SYNCHRONOUS_IO: calls wait).
    pub fn open(&self, device: &DeviceRef, overlapped: bool) -> Result<Handle, NtStatus> {
        if self.shared.terminated.load(Ordering::Acquire) {
            return Err(nt::STATUS_DELETE_PENDING);
        }
        let file = Arc::new(FileShared {
            object: Box::new(UnsafeCell::new(nt::file::new_file_object(device.as_ptr(), !overlapped))),
            kernel: self.shared.kernel.clone(),
            handles: AtomicUsize::new(1),
            refs: AtomicUsize::new(1),
            port: Mutex::new(None),
        });
        let status = file.send(nt::IRP_MJ_CREATE);
        if !nt::nt_success(status) {
            return Err(status);
        }
        let h = self.shared.next_handle.fetch_add(4, Ordering::Relaxed);
        lock(&self.shared.handles).insert(h, file);
        Ok(Handle(h))
    }

    fn file(&self, h: Handle) -> Result<Arc<FileShared>, NtStatus> {
        lock(&self.shared.handles).get(&h.0).cloned().ok_or(nt::STATUS_INVALID_HANDLE)
    }

    /// `CreateEvent(NULL, manual_reset, signalled, NULL)`: an event whose handle the
    /// process can give a driver (see [`UserEvent`]).
    pub fn create_event(&self, manual_reset: bool, signalled: bool) -> UserEvent {
        let kind = if manual_reset { nt::EventType::Notification } else { nt::EventType::Synchronization };
        let _entered = self.shared.kernel.enter();
        let (handle, event) = nt::ob::create_requester_event(kind, signalled);
        UserEvent { handle, event, kernel: self.shared.kernel.clone() }
    }

    /// `DuplicateHandle`: another handle to the same file object.
    pub fn duplicate(&self, h: Handle) -> Result<Handle, NtStatus> {
        let file = self.file(h)?;
        file.handles.fetch_add(1, Ordering::AcqRel);
        let new = self.shared.next_handle.fetch_add(4, Ordering::Relaxed);
        lock(&self.shared.handles).insert(new, file);
        Ok(Handle(new))
    }

    /// `CreateIoCompletionPort(handle, port, key)`: the file's overlapped requests post a
    /// packet with `key` to `port` when their result is delivered.
    pub fn associate(&self, h: Handle, port: &CompletionPort, key: usize) -> NtStatus {
        match self.file(h) {
            Ok(file) => {
                *lock(&file.port) = Some((port.shared.clone(), key));
                nt::STATUS_SUCCESS
            }
            Err(s) => s,
        }
    }

    /// `CloseHandle`: the last handle to a file object sends IRP_MJ_CLEANUP; the last
    /// reference (once outstanding IRPs are done) IRP_MJ_CLOSE.
    pub fn close(&self, h: Handle) -> NtStatus {
        let Some(file) = lock(&self.shared.handles).remove(&h.0) else {
            return nt::STATUS_INVALID_HANDLE;
        };
        if file.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            file.send(nt::IRP_MJ_CLEANUP);
            FileShared::release(&file);
        }
        nt::STATUS_SUCCESS
    }

    /// Registers the calling thread as a thread of this process (its requests are listed
    /// on it; [`RequesterThread::exit`] ends it).
    pub fn attach_thread(&self) -> RequesterThread {
        let thread = Arc::new(ThreadShared {
            id: self.shared.next_thread.fetch_add(1, Ordering::Relaxed),
            irps: Mutex::new(ThreadIrps::default()),
            exited: AtomicBool::new(false),
            apcs: Mutex::new(VecDeque::new()),
            apc_ready: KEvent::new(nt::EventType::Synchronization, false),
            last_irp: std::sync::atomic::AtomicU64::new(0),
        });
        lock(&self.shared.threads).push(thread.clone());
        RequesterThread { process: self.clone(), thread, _entered: self.shared.kernel.enter() }
    }

    /// Starts a thread of this process running `f`; when `f` returns, the thread exits
    /// (its outstanding IRPs are cancelled, waited for, and disassociated if stuck).
    pub fn spawn<R: Send + 'static>(
        &self,
        f: impl FnOnce(&RequesterThread) -> R + Send + 'static,
    ) -> crate::JoinHandle<R> {
        let process = self.clone();
        self.shared.kernel.spawn_named("requester thread", move || {
            let t = process.attach_thread();
            let r = f(&t);
            t.exit();
            r
        })
    }

    /// `CancelIoEx`: cancels the I/O any thread of the process issued on `h` — or only the
    /// request using `overlapped` — and does not wait. `STATUS_NOT_FOUND` if nothing
    /// matched.
    pub fn cancel_io_ex(&self, h: Handle, overlapped: Option<&Overlapped>) -> NtStatus {
        let Ok(file) = self.file(h) else { return nt::STATUS_INVALID_HANDLE };
        let iosb = overlapped.map(|o| o.op().iosb.get());
        let threads: Vec<_> = lock(&self.shared.threads).clone();
        let mut matched = 0;
        for t in threads {
            matched += cancel_matching(&self.shared.kernel, &t, "CancelIoEx", |irp| {
                // SAFETY: a listed IRP is allocated (or pinned) while we look.
                unsafe {
                    (*irp).tail.overlay.original_file_object == file.object()
                        && iosb.is_none_or(|b| (*irp).user_iosb == b)
                }
            });
        }
        if matched == 0 {
            // The request the overlapped structure names is over: for cancel coverage,
            // this cancel came too late.
            if let Some(serial) = overlapped.filter(|o| o.completed_at().is_some()).and_then(Overlapped::irp_id) {
                crate::nt::coverage::cancel_found_completed(&self.shared.kernel.shared, serial);
            }
            nt::STATUS_NOT_FOUND
        } else {
            nt::STATUS_SUCCESS
        }
    }

    /// `CancelSynchronousIo`: cancels the target thread's synchronous I/O only.
    /// `STATUS_ACCESS_DENIED` without terminate access, `STATUS_INVALID_HANDLE` for a
    /// thread that has exited, `STATUS_NOT_FOUND` if it had no synchronous I/O.
    pub fn cancel_synchronous_io(&self, thread: &ThreadHandle) -> NtStatus {
        if !thread.terminate {
            return nt::STATUS_ACCESS_DENIED;
        }
        if thread.thread.exited.load(Ordering::Acquire) {
            return nt::STATUS_INVALID_HANDLE;
        }
        let matched = cancel_matching(&self.shared.kernel, &thread.thread, "CancelSynchronousIo", |irp| {
            // SAFETY: a listed IRP is allocated (or pinned) while we look.
            unsafe { (*irp).flags & IRP_SYNCHRONOUS_API != 0 }
        });
        if matched == 0 {
            nt::STATUS_NOT_FOUND
        } else {
            nt::STATUS_SUCCESS
        }
    }

    /// Process exit: every thread still attached exits (its IRPs cancelled, waited for,
    /// disassociated if stuck), then every handle closes (cleanup, then close when the
    /// last reference goes). Threads that are still running get `STATUS_DELETE_PENDING`
    /// for any further request.
    pub fn terminate(&self) {
        self.shared.terminated.store(true, Ordering::Release);
        let threads: Vec<_> = lock(&self.shared.threads).clone();
        for t in threads {
            exit_thread(&self.shared, &t);
        }
        let handles: Vec<u32> = lock(&self.shared.handles).keys().copied().collect();
        for h in handles {
            self.close(Handle(h));
        }
        // Results no future came for (a forgotten future's): freed now, once.
        lock(&self.shared.results.map).clear();
        lock(&self.shared.results.detached).clear();
    }

    /// Async results delivered but not (yet) taken by their futures.
    pub fn unclaimed_results(&self) -> usize {
        lock(&self.shared.results.map).len()
    }

    /// IRPs currently on the lists of this process's threads.
    pub fn outstanding(&self) -> usize {
        lock(&self.shared.threads).iter().map(|t| lock(&t.irps).len()).sum()
    }
}

/// Pins and cancels (as the I/O manager) every IRP on `t`'s list matching `pred`; returns
/// how many matched.
fn cancel_matching(kernel: &Kernel, t: &ThreadShared, by: &'static str, pred: impl Fn(*mut Irp) -> bool) -> usize {
    let _entered = kernel.enter();
    let picked: Vec<IrpPtr> = {
        let list = lock(&t.irps);
        list.newest_first()
            .into_iter()
            .filter(|p| pred(p.0))
            .inspect(|p| {
                // SAFETY: a listed IRP is allocated: pinning keeps its memory while we
                // cancel outside the lock (its completion takes it off the list).
                unsafe { nt::irp::pin(p.0) }
            })
            .collect()
    };
    for p in &picked {
        // SAFETY: pinned IRP memory; the I/O manager cancels on the requester's behalf.
        unsafe {
            crate::nt::observe::cancel_requested(p.0, by);
            nt::cancel::cancel_as_io_manager(p.0);
            nt::irp::unpin(p.0);
        }
    }
    picked.len()
}

/// The I/O manager's side of a thread's exit.
fn exit_thread(process: &ProcessShared, t: &Arc<ThreadShared>) {
    if t.exited.swap(true, Ordering::AcqRel) {
        return;
    }
    let kernel = &process.kernel;
    let _entered = kernel.enter();
    let span = crate::nt::observe::thread_exit(&kernel.shared, t.id, lock(&t.irps).len());
    cancel_matching(kernel, t, "thread exit", |_| true);
    let interval = nt_interval(process.config.exit_check_interval);
    for _ in 0..process.config.exit_max_checks {
        if lock(&t.irps).is_empty() {
            break;
        }
        nt::ke_delay_execution_thread(interval);
    }
    // Five minutes passed: disassociate every IRP still there and log each.
    let stuck: Vec<IrpPtr> = {
        let mut list = lock(&t.irps);
        let mut stuck = Vec::new();
        for p in list.newest_first() {
            // SAFETY: a listed IRP is allocated; the exchange decides against a
            // completion running now (which would take it off the list itself).
            let won = unsafe { nt::irp::disassociate(p.0) };
            if won {
                // SAFETY: as above.
                unsafe { crate::nt::observe::disassociated(p.0) };
                // SAFETY: as above; pinned until logged below.
                // The driver still owns the IRP and may read `Thread`: the store is atomic.
                // (A std atomic, outside the `sync` seam: nothing in irpkit reads the field,
                // so a model checker has nothing to order by it.)
                unsafe {
                    nt::irp::pin(p.0);
                    core::sync::atomic::AtomicPtr::from_ptr(&raw mut (*p.0).tail.overlay.thread)
                        .store(core::ptr::null_mut(), StdOrdering::Release);
                }
                list.remove(p);
                stuck.push(p);
            }
        }
        stuck
    };
    for p in stuck {
        // SAFETY: pinned IRP memory; the device of its current stack location is the one
        // that owns it (device memory lives as long as the kernel).
        let (device, id) = unsafe {
            let r = &*p.0;
            let device = if i32::from(r.current_location()) <= i32::from(r.stack_count) {
                (*nt::io_get_current_irp_stack_location(p.0)).device_object
            } else {
                core::ptr::null_mut()
            };
            let name = if device.is_null() { "(no device)".to_string() } else { nt::device::device_name(device) };
            (name, nt::irp::irp_id(p.0).unwrap_or(0))
        };
        kernel.shared.log_event(EventLogEntry {
            code: IO_DRIVER_CANCEL_TIMEOUT,
            name: "IO_DRIVER_CANCEL_TIMEOUT",
            device,
            irp: id,
            thread: t.id,
            at: kernel.clock().now(),
        });
        // SAFETY: the pin taken above.
        unsafe { nt::irp::unpin(p.0) };
    }
    lock(&process.threads).retain(|x| !Arc::ptr_eq(x, t));
    crate::nt::observe::thread_exit_ended(&kernel.shared, t.id, span);
}

/// Sets up a request's buffers as the I/O manager does. Returns the blocks the link keeps
/// until the completion has finished (the caller's buffer of a call that names only a
/// length, METHOD_NEITHER's buffers); the system buffer and MDL go to the IRP
/// ([`nt::irp::set_buffers`]), freed with it. A `Vec`'s heap block does not move when the
/// `Vec` is moved, so the pointers the IRP holds stay valid.
///
/// Reads and writes: the caller's buffer is `caller` (an async read's) or, when the call
/// names only a length, a zeroed buffer of that length made here. Then, by the flags of
/// the device the request goes to: `DO_BUFFERED_IO` — a system buffer
/// (`AssociatedIrp.SystemBuffer`, `IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER`, and
/// `IRP_INPUT_OPERATION` for a read; a write's holds the caller's data; a read's is copied
/// to the caller's buffer at completion, `IoStatus.Information` bytes); `DO_DIRECT_IO` —
/// an MDL for the caller's buffer (`MdlAddress`); neither — `UserBuffer` only.
///
/// Device controls with input data, by the control code's transfer type: `METHOD_BUFFERED`
/// — a system buffer of `max(input, output)` bytes holding the input; `METHOD_IN_DIRECT`
/// / `METHOD_OUT_DIRECT` — the input in a system buffer and an MDL for an `output`-byte
/// buffer; `METHOD_NEITHER` — `Type3InputBuffer` at the input, `UserBuffer` at the output.
///
/// # Safety
/// `irp` is a fresh irpkit IRP owned by the caller, not yet sent; `sl` is its next stack
/// location, already holding the request's parameters; `caller` (if any) is a heap block
/// the link keeps until the completion has finished.
unsafe fn request_buffers(
    irp: *mut Irp,
    sl: *mut nt::IoStackLocation,
    op: Operation,
    device_flags: u32,
    caller: Option<&mut Vec<u8>>,
    input: Option<&[u8]>,
) -> Vec<Vec<u8>> {
    const METHOD_BUFFERED: u32 = 0;
    const METHOD_NEITHER: u32 = 3;
    let mut kept = Vec::new();
    let mut keep = |mut b: Vec<u8>| -> *mut core::ffi::c_void {
        let p = if b.is_empty() { core::ptr::null_mut() } else { b.as_mut_ptr().cast() };
        kept.push(b);
        p
    };
    let mut io = nt::irp::IoManagerBuffers::default();
    // SAFETY: the caller owns the fresh IRP and its stack location.
    unsafe {
        match op {
            Operation::Read { length, .. } | Operation::Write { length, .. } => {
                let read = matches!(op, Operation::Read { .. });
                let length = length as usize;
                let user = match caller {
                    Some(b) => b.as_mut_ptr().cast(),
                    None if length == 0 => core::ptr::null_mut(),
                    None => keep(vec![0u8; length]),
                };
                (*irp).user_buffer = user;
                if length == 0 {
                    // Nothing to transfer: no system buffer, no MDL.
                } else if device_flags & nt::DO_BUFFERED_IO != 0 {
                    let data = if read { &[][..] } else { core::slice::from_raw_parts(user.cast::<u8>(), length) };
                    io = nt::irp::IoManagerBuffers::with_system_buffer(data, length);
                    (*irp).associated_irp = io.system_ptr();
                    (*irp).flags |= nt::IRP_BUFFERED_IO | nt::IRP_DEALLOCATE_BUFFER;
                    if read {
                        (*irp).flags |= nt::IRP_INPUT_OPERATION;
                        io.copy_to = (user, length);
                    }
                } else if device_flags & nt::DO_DIRECT_IO != 0 {
                    (*irp).mdl_address = io.describe(user, length);
                }
            }
            Operation::DeviceControl { code, output, .. } => {
                let Some(input) = input else { return kept };
                let output = output as usize;
                match code & 3 {
                    METHOD_BUFFERED => {
                        io = nt::irp::IoManagerBuffers::with_system_buffer(input, output);
                        (*irp).associated_irp = io.system_ptr();
                    }
                    METHOD_NEITHER => {
                        (*sl).parameters.device_io_control.type3_input_buffer = keep(input.to_vec());
                        (*irp).user_buffer = keep(vec![0u8; output]);
                    }
                    _ => {
                        io = nt::irp::IoManagerBuffers::with_system_buffer(input, 0);
                        (*irp).associated_irp = io.system_ptr();
                        if output > 0 {
                            let out = keep(vec![0u8; output]);
                            (*irp).mdl_address = io.describe(out, output);
                        }
                    }
                }
            }
        }
        if !io.system.is_empty() || io.mdl.is_some() {
            nt::irp::set_buffers(irp, Box::new(io));
        }
    }
    kept
}

fn nt_interval(d: Duration) -> i64 {
    -i64::try_from(d.as_nanos() / 100).unwrap_or(i64::MAX).max(1)
}

/// The calling thread as a requester thread of a process.
pub struct RequesterThread {
    process: Process,
    thread: Arc<ThreadShared>,
    _entered: crate::EnterGuard,
}

impl core::fmt::Debug for RequesterThread {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RequesterThread").field("id", &self.thread.id).finish_non_exhaustive()
    }
}

/// What an I/O call does.
#[derive(Debug, Clone, Copy)]
enum Operation {
    Read { length: u32, offset: i64 },
    Write { length: u32, offset: i64 },
    DeviceControl { code: u32, input: u32, output: u32 },
}

impl RequesterThread {
    /// The thread's id within its process.
    pub fn id(&self) -> u32 {
        self.thread.id
    }

    /// A handle to this thread (with terminate access).
    pub fn handle(&self) -> ThreadHandle {
        ThreadHandle { thread: self.thread.clone(), terminate: true }
    }

    /// IRPs this thread has outstanding.
    pub fn outstanding(&self) -> usize {
        lock(&self.thread.irps).len()
    }

    /// The number of the last IRP this thread issued (the number the timeline, the
    /// verifier's reports and the event log use), if it issued one.
    pub fn last_irp_id(&self) -> Option<u64> {
        Some(self.thread.last_irp.load(StdOrdering::Relaxed)).filter(|&n| n != 0)
    }

    /// Issues `op`. `input`: a device control's input bytes, placed in the buffers the
    /// control code's transfer type calls for (see
    /// [`device_io_control_with_input`](Self::device_io_control_with_input)); `None`
    /// leaves every buffer pointer null.
    fn issue(
        &self,
        h: Handle,
        op: Operation,
        overlapped: Option<&Overlapped>,
        routine: Option<Box<dyn FnOnce(IoStatusBlock) + Send>>,
        buffer: Option<Vec<u8>>,
        input: Option<&[u8]>,
    ) -> Result<(NtStatus, Arc<Op>, bool), NtStatus> {
        let shared = &self.process.shared;
        if shared.terminated.load(Ordering::Acquire) || self.thread.exited.load(Ordering::Acquire) {
            return Err(nt::STATUS_DELETE_PENDING);
        }
        let file = self.process.file(h)?;
        // SAFETY: reading the file object's flags, fixed at open.
        let synchronous = unsafe { (*file.object()).flags } & nt::FO_SYNCHRONOUS_IO != 0;
        let target = file.related_device();
        // SAFETY: a live device of this kernel.
        let stack = unsafe { (*target).stack_size.load(Ordering::Relaxed) };
        let irp = nt::irp::allocate_in(&shared.kernel.shared, stack);
        if irp.is_null() {
            return Err(nt::STATUS_INSUFFICIENT_RESOURCES);
        }
        // Claimed last, once nothing else can fail: a refused or failed issue leaves the
        // `OVERLAPPED` as it was.
        let op_state = match overlapped {
            None => Arc::new(Op::new(true)),
            Some(o) => match o.claim() {
                Ok(op) => op,
                Err(status) => {
                    // SAFETY: our fresh IRP, never sent.
                    unsafe { nt::io_free_irp(irp) };
                    return Err(status);
                }
            },
        };
        // SAFETY: our fresh irpkit IRP.
        let irp_number = unsafe { nt::irp::irp_id(irp) }.unwrap_or(0);
        op_state.irp.store(irp_number, StdOrdering::Relaxed);
        self.thread.last_irp.store(irp_number, StdOrdering::Relaxed);
        {
            let mut notify = lock(&op_state.notify);
            notify.routine = routine;
            notify.port = if synchronous { None } else { lock(&file.port).clone() };
        }
        // SAFETY: our fresh IRP; the status block and event live in `op_state`, which the
        // link keeps alive until the IRP's final stage.
        unsafe {
            *op_state.iosb.get() = IoStatusBlock { status: nt::STATUS_PENDING, information: 0 };
            let sl = nt::io_get_next_irp_stack_location(irp);
            match op {
                Operation::Read { length, offset } | Operation::Write { length, offset } => {
                    (*sl).major_function =
                        if matches!(op, Operation::Read { .. }) { nt::IRP_MJ_READ } else { nt::IRP_MJ_WRITE };
                    (*sl).parameters.read =
                        nt::ReadWriteParameters { length, pad: 0, key: 0, flags: 0, byte_offset: offset };
                }
                Operation::DeviceControl { code, input, output } => {
                    (*sl).major_function = nt::IRP_MJ_DEVICE_CONTROL;
                    (*sl).parameters.device_io_control = nt::DeviceIoControlParameters {
                        output_buffer_length: output,
                        pad1: 0,
                        input_buffer_length: input,
                        pad2: 0,
                        io_control_code: code,
                        pad3: 0,
                        type3_input_buffer: core::ptr::null_mut(),
                    };
                }
            }
            (*sl).file_object = file.object();
            (*irp).tail.overlay.original_file_object = file.object();
            (*irp).tail.overlay.thread = Arc::as_ptr(&self.thread).cast_mut().cast();
            (*irp).requestor_mode = 1;
            if synchronous {
                (*irp).flags |= IRP_SYNCHRONOUS_API;
            }
            (*irp).user_iosb = op_state.iosb.get();
            (*irp).user_event = (&op_state.event as *const KEvent).cast_mut();
            file.refs.fetch_add(1, Ordering::AcqRel);
            let mut buffer = buffer;
            let results = buffer.is_some().then(|| shared.results.clone());
            // The device's flags as the driver set them (DO_BUFFERED_IO, DO_DIRECT_IO): a
            // 4-byte atomic load, as the driver may still be writing other bits.
            let device_flags =
                core::sync::atomic::AtomicU32::from_ptr(&raw mut (*target).flags).load(Ordering::Relaxed);
            let io_buffers = request_buffers(irp, sl, op, device_flags, buffer.as_mut(), input);
            nt::irp::set_requester(
                irp,
                Link {
                    thread: self.thread.clone(),
                    op: op_state.clone(),
                    overlapped: overlapped.cloned(),
                    file: file.clone(),
                    buffer,
                    results,
                    _io_buffers: io_buffers,
                },
            );
        }
        // Cancel coverage names the request now: it can be cancelled from here on.
        // SAFETY: our irpkit IRP, its next stack location set up.
        unsafe { crate::nt::coverage::issued(&shared.kernel.shared, irp) };
        // On the thread's list (listed newest first, as NT links a thread's IRPs).
        lock(&self.thread.irps).push(IrpPtr(irp));
        // SAFETY: the IRP is ready; its device is live.
        let status = unsafe { nt::io_call_driver(target, irp) };
        Ok((status, op_state, synchronous))
    }

    fn call(
        &self,
        h: Handle,
        op: Operation,
        overlapped: Option<&Overlapped>,
        input: Option<&[u8]>,
    ) -> Result<IoStatusBlock, NtStatus> {
        let (status, op_state, synchronous) = self.issue(h, op, overlapped, None, None, input)?;
        if !synchronous {
            return Ok(IoStatusBlock { status, information: 0 });
        }
        // A synchronous call waits for the completion and returns its final status (a
        // failure that never pended is returned as the dispatch routine returned it).
        nt::ke_wait_for_single_object(&op_state.done, None);
        Ok(IoStatusBlock {
            status: op_state.final_status.load(Ordering::Acquire),
            information: op_state.final_information.load(Ordering::Relaxed),
        })
    }

    /// `ReadFile` on a synchronous handle: waits and returns the final status.
    pub fn read(&self, h: Handle, length: u32, offset: i64) -> Result<IoStatusBlock, NtStatus> {
        self.call(h, Operation::Read { length, offset }, None, None)
    }

    /// `WriteFile` on a synchronous handle.
    pub fn write(&self, h: Handle, length: u32, offset: i64) -> Result<IoStatusBlock, NtStatus> {
        self.call(h, Operation::Write { length, offset }, None, None)
    }

    /// `DeviceIoControl` on a synchronous handle.
    pub fn device_io_control(&self, h: Handle, code: u32, input: u32, output: u32) -> Result<IoStatusBlock, NtStatus> {
        self.call(h, Operation::DeviceControl { code, input, output }, None, None)
    }

    /// `ReadFile` with an `OVERLAPPED` on an overlapped handle: returns what the dispatch
    /// routine returned (`STATUS_PENDING`, or the result of a request finished at once);
    /// the result is delivered to `overlapped`. `Err(STATUS_INVALID_PARAMETER)` if
    /// `overlapped`'s previous request has not finished (see [`Overlapped`]).
    pub fn read_overlapped(
        &self,
        h: Handle,
        length: u32,
        offset: i64,
        overlapped: &Overlapped,
    ) -> Result<NtStatus, NtStatus> {
        self.call(h, Operation::Read { length, offset }, Some(overlapped), None).map(|r| r.status)
    }

    /// `WriteFile` with an `OVERLAPPED` (refused while it is in use, as
    /// [`read_overlapped`](Self::read_overlapped)).
    pub fn write_overlapped(
        &self,
        h: Handle,
        length: u32,
        offset: i64,
        overlapped: &Overlapped,
    ) -> Result<NtStatus, NtStatus> {
        self.call(h, Operation::Write { length, offset }, Some(overlapped), None).map(|r| r.status)
    }

    /// `DeviceIoControl` with an `OVERLAPPED` (refused while it is in use, as
    /// [`read_overlapped`](Self::read_overlapped)).
    pub fn device_io_control_overlapped(
        &self,
        h: Handle,
        code: u32,
        input: u32,
        output: u32,
        overlapped: &Overlapped,
    ) -> Result<NtStatus, NtStatus> {
        self.call(h, Operation::DeviceControl { code, input, output }, Some(overlapped), None).map(|r| r.status)
    }

    /// `DeviceIoControl` with input data, on a synchronous handle: waits and returns the
    /// final status.
    ///
    /// The IRP carries `input` as the I/O manager passes it for the control code's
    /// transfer type (its low two bits):
    /// - `METHOD_BUFFERED`: `AssociatedIrp.SystemBuffer` points at a buffer of
    ///   `max(input.len(), output)` bytes holding `input` (zeros after it); null when
    ///   both lengths are 0;
    /// - `METHOD_IN_DIRECT`, `METHOD_OUT_DIRECT`: `SystemBuffer` holds `input`, and
    ///   `MdlAddress` describes an `output`-byte buffer (null when `output` is 0);
    /// - `METHOD_NEITHER`: `Parameters.DeviceIoControl.Type3InputBuffer` points at
    ///   `input` and `UserBuffer` at an `output`-byte buffer.
    ///
    /// The buffers belong to the IRP until its completion has finished (even when its
    /// thread exits first and the IRP is disassociated). The output is not copied back.
    /// [`device_io_control`](Self::device_io_control) passes no buffers at all.
    pub fn device_io_control_with_input(
        &self,
        h: Handle,
        code: u32,
        input: &[u8],
        output: u32,
    ) -> Result<IoStatusBlock, NtStatus> {
        let length = u32::try_from(input.len()).map_err(|_| nt::STATUS_INVALID_PARAMETER)?;
        self.call(h, Operation::DeviceControl { code, input: length, output }, None, Some(input))
    }

    /// [`device_io_control_with_input`](Self::device_io_control_with_input) with an
    /// `OVERLAPPED` on an overlapped handle (refused while it is in use, as
    /// [`read_overlapped`](Self::read_overlapped)).
    pub fn device_io_control_overlapped_with_input(
        &self,
        h: Handle,
        code: u32,
        input: &[u8],
        output: u32,
        overlapped: &Overlapped,
    ) -> Result<NtStatus, NtStatus> {
        let length = u32::try_from(input.len()).map_err(|_| nt::STATUS_INVALID_PARAMETER)?;
        self.call(h, Operation::DeviceControl { code, input: length, output }, Some(overlapped), Some(input))
            .map(|r| r.status)
    }

    /// `ReadFileEx`: an overlapped read whose completion routine runs in this thread, as a
    /// user APC, at its next alertable wait ([`alertable_wait`](Self::alertable_wait)) —
    /// if the result is delivered (not for a failure that never pended). Refused while
    /// `overlapped` is in use, as [`read_overlapped`](Self::read_overlapped).
    pub fn read_ex(
        &self,
        h: Handle,
        length: u32,
        offset: i64,
        overlapped: &Overlapped,
        routine: impl FnOnce(IoStatusBlock) + Send + 'static,
    ) -> Result<NtStatus, NtStatus> {
        self.issue(h, Operation::Read { length, offset }, Some(overlapped), Some(Box::new(routine)), None, None)
            .map(|r| r.0)
    }

    /// `SleepEx(timeout, TRUE)`: runs this thread's queued completion routines, or waits
    /// up to `timeout` (on the kernel's clock) for one. `STATUS_USER_APC` if any ran,
    /// `STATUS_TIMEOUT` otherwise.
    pub fn alertable_wait(&self, timeout: Option<Duration>) -> NtStatus {
        if lock(&self.thread.apcs).is_empty()
            && nt::ke_wait_for_single_object(&self.thread.apc_ready, timeout) != nt::STATUS_SUCCESS
        {
            return nt::STATUS_TIMEOUT;
        }
        let mut ran = 0;
        loop {
            let next = lock(&self.thread.apcs).pop_front();
            let Some((routine, status)) = next else { break };
            routine(status);
            ran += 1;
        }
        if ran > 0 {
            nt::STATUS_USER_APC
        } else {
            nt::STATUS_TIMEOUT
        }
    }

    /// An overlapped read into `buffer` as a future (the handle must be overlapped). The
    /// buffer belongs to the request until its result is delivered: dropping the future
    /// asks for cancellation (as CancelIoEx for this one request) and detaches — the
    /// buffer is freed when the IRP completes, never while the driver may still write it.
    pub fn read_async(&self, h: Handle, buffer: Vec<u8>, offset: i64) -> Result<IoFuture, NtStatus> {
        let length = u32::try_from(buffer.len()).map_err(|_| nt::STATUS_INVALID_PARAMETER)?;
        let overlapped = Overlapped::new();
        let (status, op, synchronous) =
            self.issue(h, Operation::Read { length, offset }, Some(&overlapped), None, Some(buffer), None)?;
        if synchronous {
            return Err(nt::STATUS_INVALID_PARAMETER);
        }
        Ok(IoFuture { process: self.process.clone(), handle: h, op, dispatch_status: status, done: false })
    }

    /// `CancelIo`: cancels this thread's I/O on `h` and waits (polling on the kernel's
    /// clock) until it is all gone. Always succeeds, even when nothing matched.
    pub fn cancel_io(&self, h: Handle) -> NtStatus {
        let Ok(file) = self.process.file(h) else { return nt::STATUS_INVALID_HANDLE };
        let object = file.object();
        let mine = |irp: *mut Irp| {
            // SAFETY: listed IRPs are allocated while we look.
            unsafe { (*irp).tail.overlay.original_file_object == object }
        };
        cancel_matching(&self.process.shared.kernel, &self.thread, "CancelIo", mine);
        let poll = nt_interval(self.process.shared.config.cancel_io_poll);
        while lock(&self.thread.irps).any(|p| mine(p.0)) {
            nt::ke_delay_execution_thread(poll);
        }
        nt::STATUS_SUCCESS
    }

    /// Ends the thread: the I/O manager cancels its IRPs, waits for them (re-checking
    /// every 100 ms, up to 5 minutes by default), and disassociates and logs any left.
    pub fn exit(self) {
        exit_thread(&self.process.shared, &self.thread);
    }
}

/// An overlapped request as a future: resolves to its final status block and its buffer.
///
/// Runtime-agnostic (std `Future` and `Waker` only). Dropping a pending future requests
/// cancellation of this one request and detaches from it; [`cancel`](Self::cancel)
/// requests cancellation and waits for the final status — `STATUS_CANCELLED`, or the real
/// result if the completion won. Compose timeouts with the executor's own combinators.
#[must_use = "a request future does nothing unless polled; dropping it cancels the request"]
pub struct IoFuture {
    process: Process,
    handle: Handle,
    op: Arc<Op>,
    dispatch_status: NtStatus,
    done: bool,
}

impl core::fmt::Debug for IoFuture {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IoFuture").field("dispatch_status", &self.dispatch_status).finish_non_exhaustive()
    }
}

impl IoFuture {
    /// What the dispatch routine returned (`STATUS_PENDING` if the request pended).
    pub fn dispatch_status(&self) -> NtStatus {
        self.dispatch_status
    }

    fn take(&self) -> Option<(IoStatusBlock, Vec<u8>)> {
        lock(&self.process.shared.results.map).remove(&self.op.id)
    }

    fn request_cancel(&self) -> NtStatus {
        self.process.cancel_io_ex(self.handle, Some(&Overlapped::of(self.op.clone())))
    }

    /// Requests cancellation of this request and waits for its final status.
    pub fn cancel(self) -> IoFuture {
        self.request_cancel();
        self
    }
}

impl core::future::Future for IoFuture {
    type Output = (IoStatusBlock, Vec<u8>);

    fn poll(mut self: core::pin::Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> core::task::Poll<Self::Output> {
        if let Some(r) = self.take() {
            self.done = true;
            return core::task::Poll::Ready(r);
        }
        lock(&self.op.notify).waker = Some(cx.waker().clone());
        // The completion files the result before it takes the waker: look again.
        match self.take() {
            Some(r) => {
                self.done = true;
                core::task::Poll::Ready(r)
            }
            None => core::task::Poll::Pending,
        }
    }
}

impl Drop for IoFuture {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Detach first (a result arriving later is dropped on arrival, freeing the
        // buffer then), then free one that already arrived, then ask for cancellation.
        let results = &self.process.shared.results;
        {
            let mut map = lock(&results.map);
            if map.remove(&self.op.id).is_none() {
                lock(&results.detached).insert(self.op.id);
            }
        }
        lock(&self.op.notify).waker = None;
        self.request_cancel();
    }
}

struct TimeoutShared {
    timer: UnsafeCell<nt::KTimer>,
    dpc: UnsafeCell<nt::KDpc>,
    process: Process,
    handle: Handle,
    overlapped: Overlapped,
    fired: AtomicBool,
}

// SAFETY: the timer and DPC are changed by the kernel under its DPC lock; the rest is
// shared immutably or atomic.
unsafe impl Send for TimeoutShared {}
// SAFETY: as above.
unsafe impl Sync for TimeoutShared {}

unsafe extern "system-unwind" fn timeout_dpc(
    _dpc: *mut nt::KDpc,
    context: *mut core::ffi::c_void,
    _a: *mut core::ffi::c_void,
    _b: *mut core::ffi::c_void,
) {
    // SAFETY: the context is the reference `Process::cancel_after` leaked for the DPC.
    let shared = unsafe { Arc::from_raw(context.cast::<TimeoutShared>().cast_const()) };
    shared.fired.store(true, Ordering::Release);
    shared.process.cancel_io_ex(shared.handle, Some(&shared.overlapped));
}

/// A per-request timeout: cancels the request (through the same path as CancelIoEx for
/// that one request) if it is still outstanding when the time is up. Dropping it disarms
/// it. It never completes the request itself.
pub struct RequestTimeout {
    shared: Arc<TimeoutShared>,
}

impl core::fmt::Debug for RequestTimeout {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RequestTimeout").field("fired", &self.fired()).finish()
    }
}

impl RequestTimeout {
    /// Whether the time ran out (and cancellation was requested).
    pub fn fired(&self) -> bool {
        self.shared.fired.load(Ordering::Acquire)
    }
}

impl Drop for RequestTimeout {
    fn drop(&mut self) {
        let k = &self.shared.process.shared.kernel.shared;
        // SAFETY: the timer and DPC were initialised by `cancel_after` and live in
        // `shared`. If neither the timer nor the queued DPC is pending any more, the DPC
        // ran (or runs) and releases its own reference.
        unsafe {
            let armed = nt::dpc::cancel_timer_in(k, self.shared.timer.get());
            let queued = !armed && nt::dpc::remove_queue_dpc_in(k, self.shared.dpc.get());
            if armed || queued {
                drop(Arc::from_raw(Arc::as_ptr(&self.shared)));
            }
        }
    }
}

impl Process {
    /// Cancels the request using `overlapped` on `h` if it is still outstanding after
    /// `after` on the kernel's clock.
    pub fn cancel_after(&self, h: Handle, overlapped: &Overlapped, after: Duration) -> RequestTimeout {
        // SAFETY: all-zero bytes are a valid image of the plain-data timer and DPC; both
        // are initialised in place below, at their final (shared) address.
        let (timer, dpc) = unsafe { (core::mem::zeroed::<nt::KTimer>(), core::mem::zeroed::<nt::KDpc>()) };
        let shared = Arc::new(TimeoutShared {
            timer: UnsafeCell::new(timer),
            dpc: UnsafeCell::new(dpc),
            process: self.clone(),
            handle: h,
            overlapped: overlapped.clone(),
            fired: AtomicBool::new(false),
        });
        let k = &self.shared.kernel.shared;
        let context = Arc::into_raw(shared.clone()).cast_mut().cast();
        // SAFETY: the timer and DPC live in `shared`, kept alive by the DPC's reference
        // until it runs or the timeout is dropped.
        unsafe {
            nt::ke_initialize_timer(shared.timer.get());
            nt::ke_initialize_dpc(shared.dpc.get(), timeout_dpc, context);
            nt::dpc::set_timer_in(k, shared.timer.get(), nt_interval(after), 0, shared.dpc.get());
        }
        RequestTimeout { shared }
    }
}
