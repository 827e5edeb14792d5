//! A cancel-safe IRP queue for safe drivers, built on the IoCsq core.
//!
//! [`CancelSafeQueue`] implements the IoCsq callbacks itself: its storage is an intrusive
//! list through each IRP's `Tail.Overlay.ListEntry` (no allocation per request), in FIFO
//! order or sorted by a key, under its own spin lock. Insertion, removal and cancellation
//! are the NT layer's `io_csq_*` routines and its library cancel routine, so the safe queue
//! and a C driver's queue share one implementation of the protocol.
//!
//! Lifetime: dropping the queue completes whatever is still queued with `STATUS_CANCELLED`
//! (a request is never lost), then waits until no cancellation is still running in the
//! queue — IRPs whose cancel routine was already taken, and CompleteCanceledIrp calls in
//! progress — so the library cancel routine never touches a freed queue. Removals by the
//! owner are told apart from the cancel path by a thread-local flag, so the request path
//! pays no reference counting for this.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::mem::ManuallyDrop;
use core::ptr;

use super::irp::{Irp, Pending};
use crate::nt::device_ref::DeviceRef;
use crate::nt::{self, IoCsq, KIrql, ListEntry, NtStatus, STATUS_CANCELLED, STATUS_SUCCESS};
use crate::sync::atomic::{AtomicUsize, Ordering};

/// How a [`CancelSafeQueue`] orders its IRPs.
#[derive(Debug, Clone, Copy)]
enum Order {
    Fifo,
    /// Ascending key, FIFO among equal keys.
    Key(fn(&Irp) -> u64),
}

#[repr(C)]
struct Inner {
    /// First field: the callbacks get `*mut IoCsq` and recover `Inner` from it.
    csq: UnsafeCell<IoCsq>,
    lock: nt::KSpinLock,
    head: UnsafeCell<ListEntry>,
    len: AtomicUsize,
    /// Cancellations between their removal and the end of CompleteCanceledIrp.
    cancelling: AtomicUsize,
    cancelled: AtomicUsize,
    capacity: usize,
    order: Order,
    on_cancel: fn(Irp, Option<&DeviceRef>),
}

// SAFETY: the list and the IRPs in it are touched only under `lock` (the queue lock
// callbacks); the counters are atomic.
unsafe impl Send for Inner {}
// SAFETY: as above.
unsafe impl Sync for Inner {}

fn inner<'a>(csq: *mut IoCsq) -> &'a Inner {
    // SAFETY: `csq` is the first field of an `Inner`, which its queue's drop keeps alive
    // until no queued IRP and no cancellation refers to it.
    unsafe { &*csq.cast::<Inner>() }
}

/// A read-only view of a queued IRP (for keys and matching).
fn view<R>(irp: *mut nt::Irp, f: impl FnOnce(&Irp) -> R) -> R {
    // SAFETY: a queued IRP is live; the view is never completed or dropped as an owner.
    let v = ManuallyDrop::new(unsafe { Irp::from_raw(irp) });
    f(&v)
}

fn key_slot(irp: *mut nt::Irp) -> *mut *mut c_void {
    // SAFETY: a place inside a live IRP; `DriverContext[2]` holds the key while queued.
    unsafe { (*nt::Irp::driver_context(irp)).as_mut_ptr().add(2) }
}

unsafe extern "system-unwind" fn insert_ex(csq: *mut IoCsq, irp: *mut nt::Irp, _ctx: *mut c_void) -> NtStatus {
    let q = inner(csq);
    if q.len.load(Ordering::Relaxed) >= q.capacity {
        return nt::STATUS_DEVICE_NOT_READY;
    }
    // SAFETY: under the queue lock; `irp` is live and its list entry is ours while queued.
    unsafe {
        let head = q.head.get();
        let link = nt::Irp::list_entry(irp);
        let before = match q.order {
            Order::Fifo => head,
            Order::Key(key) => {
                let k = view(irp, key);
                *key_slot(irp) = k as usize as *mut c_void;
                // Walk back from the tail past every larger key.
                let mut at = head;
                loop {
                    let prev = (*at).blink;
                    if prev == head || (*key_slot(nt::Irp::from_list_entry(prev))) as usize as u64 <= k {
                        break at;
                    }
                    at = prev;
                }
            }
        };
        let prev = (*before).blink;
        (*link).flink = before;
        (*link).blink = prev;
        (*prev).flink = link;
        (*before).blink = link;
    }
    // Under the queue lock: a plain read-modify-write suffices; readers only snapshot it.
    q.len.store(q.len.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    STATUS_SUCCESS
}

// The queue (its state's address) whose owner is removing on this thread, or null.
crate::sync::const_thread_local! {
    static OWNER_REMOVING: core::cell::Cell<*const ()> = core::cell::Cell::new(ptr::null());
}

/// Exchanges the calling OS thread's queue-owner marker with `saved` (for a scheduler
/// that runs several threads on one OS thread: each has its own marker).
#[cfg(not(any(loom, shuttle)))]
pub(crate) fn swap_owner_marker(saved: &mut *const ()) {
    OWNER_REMOVING.with(|o| *saved = o.replace(*saved));
}

/// Runs `f` as the owner of `queue` (its state's address): removals from that queue
/// inside it are not the cancel path. Nested calls (a predicate of one queue removing
/// from another) each restore the previous owner, so a removal from any other queue —
/// a cancellation started inside the predicate among them — is still seen as what it is.
pub(crate) fn as_owner<R>(queue: *const (), f: impl FnOnce() -> R) -> R {
    struct Restore(*const ());
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0;
            OWNER_REMOVING.with(|o| o.set(previous));
        }
    }
    let _restore = Restore(OWNER_REMOVING.with(|o| o.replace(queue)));
    f()
}

/// Whether this thread is removing from `queue` as its owner (see [`as_owner`]).
pub(crate) fn owner_removing(queue: *const ()) -> bool {
    OWNER_REMOVING.with(|o| o.get()) == queue
}

unsafe extern "system-unwind" fn remove(csq: *mut IoCsq, irp: *mut nt::Irp) {
    if !owner_removing(csq.cast_const().cast()) {
        // The cancel path (the library cancel routine, or an insertion that found the IRP
        // already cancelled): the queue must outlive its CompleteCanceledIrp.
        inner(csq).cancelling.fetch_add(1, Ordering::AcqRel);
    }
    // SAFETY: under the queue lock; the IRP is linked in this queue.
    unsafe {
        let link = nt::Irp::list_entry(irp);
        let (f, b) = ((*link).flink, (*link).blink);
        (*b).flink = f;
        (*f).blink = b;
        (*link).flink = ptr::null_mut();
        (*link).blink = ptr::null_mut();
    }
    // Under the queue lock (see `insert_ex`).
    let len = &inner(csq).len;
    len.store(len.load(Ordering::Relaxed) - 1, Ordering::Relaxed);
}

unsafe extern "system-unwind" fn peek(csq: *mut IoCsq, irp: *mut nt::Irp, context: *mut c_void) -> *mut nt::Irp {
    let q = inner(csq);
    let head = q.head.get();
    // SAFETY: under the queue lock; linked IRPs are live. A non-null context is a
    // `&dyn Fn(&Irp) -> bool` on the caller's stack.
    unsafe {
        let mut at = if irp.is_null() { (*head).flink } else { (*nt::Irp::list_entry(irp)).flink };
        let pred = (!context.is_null()).then(|| &*context.cast::<&dyn Fn(&Irp) -> bool>());
        while at != head {
            let candidate = nt::Irp::from_list_entry(at);
            if pred.is_none_or(|p| view(candidate, |v| p(v))) {
                return candidate;
            }
            at = (*at).flink;
        }
    }
    ptr::null_mut()
}

unsafe extern "system-unwind" fn acquire(csq: *mut IoCsq, irql: *mut KIrql) {
    // SAFETY: the library passes its own local for the IRQL.
    unsafe { *irql = nt::ke_acquire_spin_lock(&inner(csq).lock) };
}

unsafe extern "system-unwind" fn release(csq: *mut IoCsq, irql: KIrql) {
    nt::ke_release_spin_lock(&inner(csq).lock, irql);
}

unsafe extern "system-unwind" fn complete_canceled(csq: *mut IoCsq, irp: *mut nt::Irp) {
    let q = inner(csq);
    q.cancelled.fetch_add(1, Ordering::Relaxed);
    // SAFETY: a device in a live IRP's stack location is an irpkit device, whose memory
    // stays until its kernel ends (which this IRP keeps alive).
    let device = unsafe {
        let d = (*nt::io_get_current_irp_stack_location(irp)).device_object;
        (!d.is_null()).then(|| DeviceRef::from_ptr(d))
    };
    // SAFETY: the library hands us a removed, cancelled IRP to complete.
    (q.on_cancel)(unsafe { Irp::from_raw(irp) }, device);
    // Last access to the queue: a dropping queue may be freed right after.
    q.cancelling.fetch_sub(1, Ordering::AcqRel);
}

/// A cancel-safe queue of IRPs (IoCsq with the library cancel routine). Queued IRPs can be
/// cancelled from anywhere; each leaves the queue exactly once — removed by the driver or
/// completed `STATUS_CANCELLED` / 0 by the cancellation — and is removed before it is
/// completed.
pub struct CancelSafeQueue {
    inner: Box<Inner>,
}

impl core::fmt::Debug for CancelSafeQueue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CancelSafeQueue").field("len", &self.len()).finish_non_exhaustive()
    }
}

impl Default for CancelSafeQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl CancelSafeQueue {
    fn build(order: Order, capacity: usize) -> Self {
        Self::build_with(order, capacity, complete_cancelled)
    }

    fn build_with(order: Order, capacity: usize, on_cancel: fn(Irp, Option<&DeviceRef>)) -> Self {
        let inner = Box::new(Inner {
            csq: UnsafeCell::new(IoCsq::zeroed()),
            lock: nt::KSpinLock::new(),
            head: UnsafeCell::new(ListEntry::null()),
            len: AtomicUsize::new(0),
            cancelling: AtomicUsize::new(0),
            cancelled: AtomicUsize::new(0),
            capacity,
            order,
            on_cancel,
        });
        // SAFETY: the state is at its final (boxed, never moved) address and not yet
        // shared: initialise the list head and the callback table in place.
        unsafe {
            let head = inner.head.get();
            (*head).flink = head;
            (*head).blink = head;
            nt::io_csq_initialize_ex(inner.csq.get(), insert_ex, remove, peek, acquire, release, complete_canceled);
        }
        CancelSafeQueue { inner }
    }

    /// A FIFO queue.
    pub fn new() -> Self {
        Self::build(Order::Fifo, usize::MAX)
    }

    /// A FIFO queue that refuses IRPs beyond `capacity` (IoCsqInsertIrpEx failing).
    pub fn with_capacity_limit(capacity: usize) -> Self {
        Self::build(Order::Fifo, capacity)
    }

    /// A queue kept in ascending `key` order (FIFO among equal keys). The key is computed
    /// once at insertion and kept in `DriverContext[2]` while the IRP is queued.
    pub fn by_key(key: fn(&Irp) -> u64) -> Self {
        Self::build(Order::Key(key), usize::MAX)
    }

    /// A FIFO queue whose cancelled IRPs go to `on_cancel` (CompleteCanceledIrp) with the
    /// device they were queued for; it must complete them — and, for instance, then
    /// release a remove lock taken for the request. It runs outside the queue lock, at up
    /// to DISPATCH_LEVEL.
    pub fn with_cancel_handler(on_cancel: fn(Irp, Option<&DeviceRef>)) -> Self {
        Self::build_with(Order::Fifo, usize::MAX, on_cancel)
    }

    fn csq(&self) -> *mut IoCsq {
        self.inner.csq.get()
    }

    /// `IoCsqInsertIrp(Ex)`: queues the IRP as cancelable and marks it pending, returning
    /// the proof the dispatch routine returns. A full queue gives the IRP back untouched.
    /// (An IRP cancelled before this call is completed `STATUS_CANCELLED` at once; the
    /// dispatch routine still returns `STATUS_PENDING`.)
    pub fn insert(&self, irp: Irp) -> Result<Pending, Irp> {
        let raw = irp.into_raw();
        // SAFETY: we owned the IRP; the queue state outlives it (queued IRPs hold a
        // reference); `DriverContext[3]` belongs to the queue from here.
        let status = unsafe { nt::io_csq_insert_irp_ex(self.csq(), raw, ptr::null_mut(), ptr::null_mut()) };
        if nt::nt_success(status) {
            Ok(Pending::new())
        } else {
            // SAFETY: a refused IRP is untouched and still ours.
            Err(unsafe { Irp::from_raw(raw) })
        }
    }

    /// `IoCsqRemoveNextIrp` as the owner.
    fn remove_next_raw(&self, context: *mut c_void) -> Option<Irp> {
        // SAFETY: an initialised queue; a non-null context is the caller's predicate.
        let raw =
            as_owner(self.csq().cast_const().cast(), || unsafe { nt::io_csq_remove_next_irp(self.csq(), context) });
        // SAFETY: the removal gave us the IRP.
        (!raw.is_null()).then(|| unsafe { Irp::from_raw(raw) })
    }

    /// `IoCsqRemoveNextIrp`: the oldest (or lowest-key) IRP not being cancelled.
    pub fn remove_next(&self) -> Option<Irp> {
        self.remove_next_raw(ptr::null_mut())
    }

    /// `IoCsqRemoveNextIrp` with a peek context: the first IRP for which `matches` is true.
    pub fn remove_next_where(&self, matches: &dyn Fn(&Irp) -> bool) -> Option<Irp> {
        let pred: &dyn Fn(&Irp) -> bool = matches;
        let context = (&pred as *const &dyn Fn(&Irp) -> bool).cast_mut().cast::<c_void>();
        // The context outlives the call, which is the only place it is used.
        self.remove_next_raw(context)
    }

    /// The next IRP whose current stack location names `file` (what IRP_MJ_CLEANUP uses).
    pub fn remove_next_for_file(&self, file: *mut nt::FileObject) -> Option<Irp> {
        self.remove_next_where(&|irp| irp.file_object() == file)
    }

    /// IRPs queued now.
    pub fn len(&self) -> usize {
        self.inner.len.load(Ordering::Relaxed)
    }

    /// Whether no IRP is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// IRPs completed `STATUS_CANCELLED` by cancellation so far.
    pub fn cancelled(&self) -> usize {
        self.inner.cancelled.load(Ordering::Relaxed)
    }
}

fn complete_cancelled(irp: Irp, _device: Option<&DeviceRef>) {
    irp.complete(STATUS_CANCELLED, 0);
}

impl Drop for CancelSafeQueue {
    fn drop(&mut self) {
        self.drain();
        // Wait for cancellations still running in the queue (see the module docs).
        let mut i = 0u32;
        loop {
            let irql = nt::ke_acquire_spin_lock(&self.inner.lock);
            let busy = self.inner.len.load(Ordering::Relaxed) + self.inner.cancelling.load(Ordering::Acquire);
            nt::ke_release_spin_lock(&self.inner.lock, irql);
            if busy == 0 {
                return;
            }
            crate::sync::spin_step(i);
            i = i.wrapping_add(1);
        }
    }
}

impl CancelSafeQueue {
    fn drain(&self) {
        while let Some(irp) = self.remove_next() {
            let device = irp.device().map(|d| d.as_ptr());
            // SAFETY: as in `complete_canceled`: device memory stays until the kernel ends.
            let device = device.map(|d| unsafe { DeviceRef::from_ptr(d) });
            (self.inner.on_cancel)(irp, device);
        }
    }
}
