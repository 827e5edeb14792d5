//! One request's state on the requester side (`RequestState`: its status block, event, final
//! status and ways of being told) and the link the NT layer keeps in the IRP header for
//! it (`IrpLink`, a `RequesterLink`), which the final stage of completion consumes.
//!
//! Locks: the completion takes them one at a time — the thread's IRP list, then the
//! results (`Results::map`, and under it `Results::detached`), then `RequestState::notify`, then the
//! thread's APC queue or the port's packets. `RequestState::notify` is held while the issuing thread
//! reads the file's port (`FileShared::port`, a leaf). None is held across a call into the
//! NT layer that can reach a driver.

use super::*;

/// One request's status block and events. Each request gets its own (an `Overlapped`
/// points at the one of the request last issued with it), so a completion only ever
/// writes the state of its own request.
pub(crate) struct RequestState {
    /// Issued: its request may still write `iosb` and set `event` (until `event` or
    /// `done` is set). False for the blank state of a fresh `Overlapped`.
    pub(super) issued: AtomicBool,
    /// The caller's status block (written only when the result is delivered).
    pub(super) iosb: UnsafeCell<IoStatusBlock>,
    /// The caller's event (set only when the result is delivered).
    pub(super) event: KEvent,
    /// Set when the IRP's completion finished, delivered or not (internal).
    pub(super) done: KEvent,
    pub(super) final_status: AtomicI32,
    pub(super) final_information: AtomicUsize,
    /// How the result is delivered besides the status block and event.
    pub(super) notify: Mutex<Notify>,
    /// A serial number (async results are filed under it).
    pub(super) id: u64,
    /// irpkit's serial number of the request's IRP (0: none issued yet).
    pub(super) irp: std::sync::atomic::AtomicU64,
    /// When the completion finished, on the kernel's clock, in ns plus one (0: not yet).
    pub(super) completed_ns: std::sync::atomic::AtomicU64,
}

/// The other two ways of learning about completion, and async wakers.
#[derive(Default)]
pub(super) struct Notify {
    /// A completion routine (`ReadFileEx`): queued to the issuing thread as a user APC.
    pub(super) routine: Option<Box<dyn FnOnce(IoStatusBlock) + Send>>,
    /// The completion port the file is associated with, and the key.
    pub(super) port: Option<(Arc<PortShared>, usize)>,
    /// An async request waiting for completion.
    pub(super) waker: Option<core::task::Waker>,
}

// SAFETY: `iosb` is written only by its own request: once before the IRP is sent, and once
// by the completing thread before `event` is set; `Overlapped::status_block` reads it only
// after seeing `event` set. A new request never reuses an `RequestState` (see `Overlapped::claim`).
// Everything else is atomic or behind a lock.
unsafe impl Send for RequestState {}
// SAFETY: as above.
unsafe impl Sync for RequestState {}

/// Serial numbers of operations (identities only, not a synchronisation point).
pub(super) static NEXT_OP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl RequestState {
    /// A request's state (`issued`), or the blank state of an `Overlapped` no request has
    /// used yet.
    pub(super) fn new(issued: bool) -> Self {
        RequestState {
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

/// What the final stage of completion hands back to the requester side.
pub(crate) struct IrpLink {
    pub(super) thread: Arc<ThreadShared>,
    pub(super) op: Arc<RequestState>,
    /// The caller's `OVERLAPPED`, if it gave one (a completion packet carries it).
    pub(super) overlapped: Option<Overlapped>,
    pub(super) file: Arc<FileShared>,
    /// The request's buffer (async requests): owned here, by the IRP's side, until the
    /// result is delivered — whatever happens to the future meanwhile.
    pub(super) buffer: Option<Vec<u8>>,
    /// Where an async request's result waits for its future.
    pub(super) results: Option<Arc<Results>>,
    /// The caller's buffer of a call that names only a length, and METHOD_NEITHER's
    /// buffers: they belong to the IRP until its completion has finished (the system
    /// buffer and MDL are the IRP's own, freed with it).
    pub(super) _io_buffers: Box<[Vec<u8>]>,
}

impl Drop for IrpLink {
    /// The IRP is done with its file object — delivered, or (disassociated) swallowed.
    fn drop(&mut self) {
        FileShared::release(&self.file);
    }
}

/// Async results not yet taken by their futures, by request id.
#[derive(Default)]
pub(crate) struct Results {
    pub(super) map: Mutex<BTreeMap<u64, (IoStatusBlock, Vec<u8>)>>,
    /// Requests whose future is gone: their result is dropped on arrival.
    pub(super) detached: Mutex<std::collections::BTreeSet<u64>>,
}

impl nt::requester::RequesterLink for IrpLink {
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
                let overlapped = self
                    .overlapped
                    .clone()
                    .unwrap_or_else(|| Overlapped::of(self.op.clone(), Some(self.file.kernel.clone())));
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
