//! A cancel-safe IRP queue for safe drivers, built on the IoCsq core.
//!
//! [`CancelSafeIrpQueue`] is an IO_CSQ whose storage is an intrusive list through each IRP's
//! `Tail.Overlay.ListEntry` (no allocation per request), in FIFO order or sorted by a key,
//! under its own spin lock. It runs the protocol of `queue::csq_core` with its own
//! [`QueueOps`] (the IRP side — cancel routine, `DriverContext[3]` — is IoCsq's, from
//! `nt::csq`), and its IO_CSQ callback table serves the library cancel routine, so the safe
//! queue and a C driver's queue share one implementation of the protocol.
//!
//! # Invariants
//! - The list, the IRPs linked in it (their `Tail.Overlay.ListEntry` and
//!   `DriverContext[2]`, the key) and `len` are touched only under `lock`.
//! - The owner's insertions and removals call the queue's [`QueueOps`] directly, saying
//!   who removes ([`Remover`]). The IO_CSQ callback table is only used by the library
//!   cancel routine (through `DriverContext[3]`), so a removal through the table's
//!   CsqRemoveIrp is always the cancel path.
//! - Lifetime: dropping the queue completes whatever is still queued with
//!   `STATUS_CANCELLED` (a request is never lost), then waits until no cancellation is
//!   still running in the queue — IRPs whose cancel routine was already taken, and
//!   CompleteCanceledIrp calls in progress ([`InFlight`]) — so the library cancel routine
//!   never touches a freed queue.
//!
//! Lock order: the queue lock is taken with the cancel spin lock released (the library
//! cancel routine releases it first); the cancel handler runs with no lock held.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::mem::ManuallyDrop;
use core::ptr;

use super::irp::{Irp, Pending};
use crate::nt::device_ref::DeviceRef;
use crate::nt::{self, IoCsq, KIrql, ListEntry, NtStatus, STATUS_CANCELLED, STATUS_SUCCESS};
use crate::queue::csq_core::{self, QueueOps, Remover};
use crate::queue::list::List;
use crate::queue::lock::{InFlight, Len, RawLock};
use crate::sync::atomic::{AtomicUsize, Ordering};

/// How a [`CancelSafeIrpQueue`] orders its IRPs.
#[derive(Debug, Clone, Copy)]
enum Order {
    Fifo,
    /// Ascending key, FIFO among equal keys.
    Key(fn(&Irp) -> u64),
}

#[repr(C)]
struct CsqState {
    /// First field: the callbacks get `*mut IoCsq` and recover `CsqState` from it.
    csq: UnsafeCell<IoCsq>,
    lock: nt::KSpinLock,
    head: UnsafeCell<ListEntry>,
    len: Len,
    /// Cancellations between their removal and the end of CompleteCanceledIrp.
    in_flight: InFlight,
    cancelled: AtomicUsize,
    capacity: usize,
    order: Order,
    on_cancel: fn(Irp, Option<&DeviceRef>),
}

// SAFETY: `CsqState` may be dropped on another thread: the IRPs linked in it are owned by the
// queue (not by a thread), the head and links are plain memory, and the counters are
// atomic.
unsafe impl Send for CsqState {}
// SAFETY: shared use goes through the spin lock for the list and the IRP links (the
// `QueueOps` methods run under it), atomics for the counters, and the callback table is
// written once before the queue is shared.
unsafe impl Sync for CsqState {}

fn inner<'a>(csq: *mut IoCsq) -> &'a CsqState {
    // SAFETY: `csq` is the first field of an `CsqState`, which its queue's drop keeps alive
    // until no queued IRP and no cancellation refers to it.
    unsafe { &*csq.cast::<CsqState>() }
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

impl CsqState {
    fn list(&self) -> List {
        // SAFETY: the head lives in the boxed, never moved `CsqState`, initialised by `build`.
        unsafe { List::from_head(self.head.get()) }
    }
}

// SAFETY: `lock` is a KSPIN_LOCK, whose `RawLock` impl excludes (see `nt::spinlock`).
unsafe impl RawLock for CsqState {
    fn acquire(&self) -> KIrql {
        self.lock.acquire()
    }

    unsafe fn release(&self, irql: KIrql) {
        // SAFETY: forwarded contract: the caller holds `lock` with `irql`.
        unsafe { self.lock.release(irql) }
    }
}

// SAFETY: the lock is `lock`, and the list is touched only by the methods below, which
// the protocol calls under it; arming, disarming and the cancel flag are IoCsq's own (the
// atomic exchange of `Irp->CancelRoutine`, one winner, and the library cancel routine
// calls `cancel_won` for the IRPs it wins); `peek` returns IRPs linked in the list;
// queued IRPs are live (the queue owns them until removed); `complete_canceled` ends with
// the `in_flight.leave()` that `remove(_, Remover::Cancel)` started, its last access.
unsafe impl QueueOps for CsqState {
    type Entry = *mut nt::Irp;
    type InsertContext = *mut c_void;
    /// Null, or a `&&dyn Fn(&Irp) -> bool` on the caller's stack.
    type Peek = *mut c_void;
    type Refusal = NtStatus;

    fn insert(&self, irp: *mut nt::Irp, _: *mut c_void) -> Result<(), NtStatus> {
        if self.len.get() >= self.capacity {
            return Err(nt::STATUS_DEVICE_NOT_READY);
        }
        let list = self.list();
        // SAFETY: under the queue lock; `irp` is live, not queued, and its list entry and
        // `DriverContext[2]` are ours while queued; linked IRPs are live.
        unsafe {
            let before = match self.order {
                Order::Fifo => list.head(),
                Order::Key(key) => {
                    let k = view(irp, key);
                    *key_slot(irp) = k as usize as *mut c_void;
                    list.position_from_tail(|prev| (*key_slot(nt::Irp::from_list_entry(prev))) as usize as u64 <= k)
                }
            };
            list.insert_before(before, nt::Irp::list_entry(irp));
        }
        self.len.incr();
        Ok(())
    }

    fn remove(&self, irp: *mut nt::Irp, by: Remover) {
        if by == Remover::Cancel {
            // The queue must outlive this cancellation's CompleteCanceledIrp.
            self.in_flight.enter();
        }
        // SAFETY: under the queue lock; the IRP is linked in this queue.
        unsafe { List::unlink(nt::Irp::list_entry(irp)) };
        self.len.decr();
    }

    fn peek(&self, after: Option<*mut nt::Irp>, context: *mut c_void) -> Option<*mut nt::Irp> {
        // SAFETY: under the queue lock; linked IRPs are live, `after` among them. A
        // non-null context is a `&dyn Fn(&Irp) -> bool` on the caller's stack.
        unsafe {
            let pred = (!context.is_null()).then(|| &*context.cast::<&dyn Fn(&Irp) -> bool>());
            let after = after.map(|irp| nt::Irp::list_entry(irp));
            let found = self.list().find(after, |at| pred.is_none_or(|p| view(nt::Irp::from_list_entry(at), |v| p(v))));
            found.map(|at| nt::Irp::from_list_entry(at))
        }
    }

    fn complete_canceled(&self, irp: *mut nt::Irp) {
        self.cancelled.fetch_add(1, Ordering::Relaxed);
        // SAFETY: a device in a live IRP's stack location is an irpkit device, whose memory
        // stays until its kernel ends (which this IRP keeps alive).
        let device = unsafe {
            let d = (*nt::io_get_current_irp_stack_location(irp)).device_object;
            (!d.is_null()).then(|| DeviceRef::from_ptr(d))
        };
        // SAFETY: the protocol hands us a removed, cancelled IRP to complete.
        (self.on_cancel)(unsafe { Irp::from_raw(irp) }, device);
        // Last access to the queue: a dropping queue may be freed right after.
        self.in_flight.leave();
    }

    fn arm(&self, irp: *mut nt::Irp) {
        // SAFETY: a live IRP just linked here, under the lock; `begin_insert` pointed its
        // `DriverContext[3]` at this queue's IO_CSQ.
        unsafe { nt::csq::arm_irp(irp) }
    }

    fn disarm(&self, irp: *mut nt::Irp) -> bool {
        // SAFETY: a live IRP of this queue.
        unsafe { nt::csq::disarm_irp(irp) }
    }

    fn cancel_requested(&self, irp: *mut nt::Irp) -> bool {
        // SAFETY: a live IRP of this queue.
        unsafe { nt::csq::irp_cancel_requested(irp) }
    }

    fn detach(&self, irp: *mut nt::Irp) {
        // SAFETY: a live IRP whose `DriverContext[3]` `begin_insert` set, under the lock.
        unsafe { nt::csq::detach_irp(irp) }
    }
}
// The IO_CSQ callback table: each forwards to `CsqState`'s `QueueOps`. Only the library
// cancel routine calls it (see the module invariants), so `remove` is the cancel path.

unsafe extern "system-unwind" fn insert_ex(csq: *mut IoCsq, irp: *mut nt::Irp, ctx: *mut c_void) -> NtStatus {
    inner(csq).insert(irp, ctx).map_or_else(|status| status, |()| STATUS_SUCCESS)
}

unsafe extern "system-unwind" fn remove(csq: *mut IoCsq, irp: *mut nt::Irp) {
    inner(csq).remove(irp, Remover::Cancel);
}

unsafe extern "system-unwind" fn peek(csq: *mut IoCsq, irp: *mut nt::Irp, context: *mut c_void) -> *mut nt::Irp {
    inner(csq).peek((!irp.is_null()).then_some(irp), context).unwrap_or(ptr::null_mut())
}

unsafe extern "system-unwind" fn acquire(csq: *mut IoCsq, irql: *mut KIrql) {
    // SAFETY: the library passes its own local for the IRQL.
    unsafe { *irql = inner(csq).acquire() };
}

unsafe extern "system-unwind" fn release(csq: *mut IoCsq, irql: KIrql) {
    // SAFETY: the library releases the lock its CsqAcquireLock call took, with its IRQL.
    unsafe { inner(csq).release(irql) };
}

unsafe extern "system-unwind" fn complete_canceled(csq: *mut IoCsq, irp: *mut nt::Irp) {
    inner(csq).complete_canceled(irp);
}

/// A cancel-safe queue of IRPs (IoCsq with the library cancel routine). Queued IRPs can be
/// cancelled from anywhere; each leaves the queue exactly once — removed by the driver or
/// completed `STATUS_CANCELLED` / 0 by the cancellation — and is removed before it is
/// completed.
pub struct CancelSafeIrpQueue {
    inner: Box<CsqState>,
}

impl core::fmt::Debug for CancelSafeIrpQueue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CancelSafeIrpQueue").field("len", &self.len()).finish_non_exhaustive()
    }
}

impl Default for CancelSafeIrpQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl CancelSafeIrpQueue {
    fn build(order: Order, capacity: usize) -> Self {
        Self::build_with(order, capacity, complete_cancelled)
    }

    fn build_with(order: Order, capacity: usize, on_cancel: fn(Irp, Option<&DeviceRef>)) -> Self {
        let inner = Box::new(CsqState {
            csq: UnsafeCell::new(IoCsq::zeroed()),
            lock: nt::KSpinLock::new(),
            head: UnsafeCell::new(ListEntry::null()),
            len: Len::new(),
            in_flight: InFlight::new(),
            cancelled: AtomicUsize::new(0),
            capacity,
            order,
            on_cancel,
        });
        // SAFETY: the state is at its final (boxed, never moved) address and not yet
        // shared: initialise the list head and the callback table in place.
        unsafe {
            inner.list().init();
            nt::io_csq_initialize_ex(inner.csq.get(), insert_ex, remove, peek, acquire, release, complete_canceled);
        }
        CancelSafeIrpQueue { inner }
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
        // SAFETY: we owned the IRP (live, non-null); the queue state outlives it (its drop
        // waits for queued IRPs); `DriverContext[3]` belongs to the queue from here.
        unsafe { nt::csq::begin_insert(self.csq(), raw, ptr::null_mut()) };
        match csq_core::insert(&*self.inner, raw, ptr::null_mut()) {
            Ok(()) => Ok(Pending::new()),
            // SAFETY: a refused IRP is untouched and still ours.
            Err(_) => Err(unsafe { Irp::from_raw(raw) }),
        }
    }

    /// `IoCsqRemoveNextIrp` as the owner.
    fn remove_next_raw(&self, context: *mut c_void) -> Option<Irp> {
        let raw = nt::csq::remove_next_irp(&*self.inner, context)?;
        // SAFETY: the removal gave us the IRP.
        Some(unsafe { Irp::from_raw(raw) })
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
        self.inner.len.get()
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

impl Drop for CancelSafeIrpQueue {
    fn drop(&mut self) {
        self.drain();
        // Wait for cancellations still running in the queue (see the module docs).
        let inner = &*self.inner;
        inner.in_flight.wait_idle(&inner.lock, || inner.len.get());
    }
}

impl CancelSafeIrpQueue {
    fn drain(&self) {
        while let Some(irp) = self.remove_next() {
            let device = irp.device().map(|d| d.as_ptr());
            // SAFETY: the device of a live IRP's stack location is an irpkit device, whose
            // memory stays until its kernel ends (which the IRP keeps alive).
            let device = device.map(|d| unsafe { DeviceRef::from_ptr(d) });
            (self.inner.on_cancel)(irp, device);
        }
    }
}
