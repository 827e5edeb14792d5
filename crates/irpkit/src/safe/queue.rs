//! A typed cancel-safe queue for any code: entries that can be cancelled from anywhere,
//! exactly once.
//!
//! [`CancelQueue<T>`] runs the same protocol as IoCsq (`queue::csq_core`), with nodes in
//! place of IRPs: an entry becomes cancelable only once queued, a single atomic exchange
//! decides between the consumer taking it and a [`Ticket::cancel`], and a cancelled entry
//! is removed under the queue lock before its item goes to the cancel handler outside it.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

use crate::queue::csq_core::{self, QueueOps, Remover};
use crate::queue::list::{List, ListEntry};
use crate::queue::lock::{InFlight, Irql, Len, RawLock, SpinLock};
use crate::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

const QUEUED: u8 = 0;
const TAKEN: u8 = 1;
const CANCELLED: u8 = 2;

/// What became of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Still in the queue (or being handed out right now).
    Queued,
    /// A consumer took it.
    Taken,
    /// It was cancelled; its item went to the cancel handler.
    Cancelled,
}

/// Whether a queued entry can still leave its queue by being taken or cancelled: armed
/// while it waits; of the pop and the cancel that race for it, the one whose
/// [`disarm`](Self::disarm) finds it armed wins — a single-winner exchange.
#[derive(Debug)]
struct Armed(AtomicBool);

impl Armed {
    fn new() -> Self {
        Armed(AtomicBool::new(false))
    }

    /// The entry is in the queue now (under the queue lock).
    fn arm(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Takes the entry's leaving: true for exactly one caller per arming.
    fn disarm(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

/// An entry. `link` must stay the first field: the list links nodes through it.
#[repr(C)]
struct Node<T> {
    link: UnsafeCell<ListEntry>,
    armed: Armed,
    cancel: AtomicBool,
    outcome: AtomicU8,
    item: UnsafeCell<MaybeUninit<T>>,
    queue: UnsafeCell<*const QueueState<T>>,
    /// Holders of the node: the queue while the entry is in it, and the ticket.
    refs: AtomicUsize,
    /// The sort key (by-key queues).
    key: u64,
}

/// Drops one reference to a node; the last one frees it.
///
/// # Safety
/// The caller holds one of the node's references and gives it up.
unsafe fn release_node<T>(n: NonNull<Node<T>>) {
    // SAFETY: the caller holds a reference, so the node is live.
    let refs = unsafe { &n.as_ref().refs };
    // A count of 1 is the caller's own reference: nobody else can race us.
    let last = refs.load(Ordering::Acquire) == 1 || refs.fetch_sub(1, Ordering::AcqRel) == 1;
    if last {
        // SAFETY: the last reference: nobody else uses the node; its item was moved out
        // (nodes leave the queue only by having their item taken).
        drop(unsafe { Box::from_raw(n.as_ptr()) });
    }
}

// SAFETY: the item moves between threads exactly once (to the consumer or the cancel
// handler), decided by the `armed` exchange; the links are touched under the queue lock.
unsafe impl<T: Send> Send for Node<T> {}
// SAFETY: shared use of a node never reads the item through `&Node` except under the queue
// lock while linked (a predicate, which sees `&T` only) or once by the single winner of
// `armed`; the flags and counts are atomic; `key` is immutable; the links are touched
// under the queue lock only.
unsafe impl<T: Send> Sync for Node<T> {}

struct QueueState<T> {
    /// The queue lock: a plain spin lock — this queue is for any code, where IRQL and the
    /// verifier's spin-lock bookkeeping have no meaning.
    lock: SpinLock,
    head: UnsafeCell<ListEntry>,
    len: Len,
    /// Cancellations between their removal and the end of the cancel handler.
    in_flight: InFlight,
    on_cancel: Box<dyn Fn(T) + Send + Sync>,
    /// `Some`: kept in ascending key order (FIFO among equal keys).
    key: Option<fn(&T) -> u64>,
}

// SAFETY: dropping `QueueState` on another thread drops only what it owns: the handler (`Send`)
// and no item (the drop empties the queue first; items are `Send` anyway).
unsafe impl<T: Send> Send for QueueState<T> {}
// SAFETY: shared use touches the list only under `lock` (the `QueueOps` methods), the
// counters are atomic, and the handler is `Sync`.
unsafe impl<T: Send> Sync for QueueState<T> {}

impl<T> QueueState<T> {
    fn list(&self) -> List {
        // SAFETY: the head lives in the boxed, never moved `QueueState`, initialised by `build`.
        unsafe { List::from_head(self.head.get()) }
    }
}

type Pred<'a, T> = Option<&'a dyn Fn(&T) -> bool>;

struct TypedQueueOps<'a, T>(&'a QueueState<T>);

fn node<'a, T>(p: NonNull<Node<T>>) -> &'a Node<T> {
    // SAFETY: callers hold one of the node's references (the queue's, or a ticket's) for
    // as long as they use the borrow.
    unsafe { p.as_ref() }
}

/// The node a list entry is the `link` of (its first field).
fn node_of<T>(link: *mut ListEntry) -> NonNull<Node<T>> {
    NonNull::new(link.cast::<Node<T>>()).expect("linked node")
}

// SAFETY: the queue's `SpinLock`, whose `RawLock` impl excludes.
unsafe impl<T> RawLock for TypedQueueOps<'_, T> {
    fn acquire(&self) -> Irql {
        self.0.lock.acquire()
    }

    unsafe fn release(&self, irql: Irql) {
        // SAFETY: forwarded contract: the caller holds the lock.
        unsafe { self.0.lock.release(irql) }
    }
}

// SAFETY: the lock is the queue's own, and the list is only touched by the methods below
// under it; `disarm` is an atomic swap of `armed` (one winner per arming, against the
// ticket's own swap in `Ticket::cancel`, which calls `cancel_won` when it wins); `cancel`
// is only ever set; a node holds a reference for the queue while linked, so it stays
// valid; `peek` walks only linked nodes; `complete_canceled` ends with the
// `in_flight.leave()` that `remove(_, Remover::Cancel)` started.
unsafe impl<'a, T: Send> QueueOps for TypedQueueOps<'a, T> {
    type Entry = NonNull<Node<T>>;
    type InsertContext = ();
    type Peek = Pred<'a, T>;
    type Refusal = core::convert::Infallible;

    fn insert(&self, e: Self::Entry, _: ()) -> Result<(), Self::Refusal> {
        let list = self.0.list();
        // SAFETY: under the queue lock; the node is not linked anywhere yet; linked nodes
        // are live. FIFO: at the tail. By key: after every node whose key is not larger,
        // walking back from the tail.
        unsafe {
            let before = match self.0.key {
                Some(_) => {
                    let k = node(e).key;
                    list.position_from_tail(|prev| node(node_of::<T>(prev)).key <= k)
                }
                None => list.head(),
            };
            list.insert_before(before, node(e).link.get());
            *node(e).queue.get() = self.0;
        }
        self.0.len.incr();
        Ok(())
    }

    fn remove(&self, e: Self::Entry, by: Remover) {
        // SAFETY: under the queue lock; the node is linked in this queue.
        unsafe { List::unlink(node(e).link.get()) };
        self.0.len.decr();
        if by == Remover::Cancel {
            // The queue must outlive this cancellation's handler call.
            self.0.in_flight.enter();
        }
    }

    fn peek(&self, after: Option<Self::Entry>, pred: Self::Peek) -> Option<Self::Entry> {
        // SAFETY: under the queue lock; linked nodes are live and their items initialised;
        // `after` is linked.
        unsafe {
            let after = after.map(|e| node(e).link.get());
            let found = self
                .0
                .list()
                .find(after, |at| pred.is_none_or(|p| p((*node(node_of::<T>(at)).item.get()).assume_init_ref())));
            found.map(node_of)
        }
    }

    fn complete_canceled(&self, e: Self::Entry) {
        let n = node(e);
        // SAFETY: the cancellation won the entry: the item is ours, exactly once.
        let item = unsafe { (*n.item.get()).assume_init_read() };
        n.outcome.store(CANCELLED, Ordering::Release);
        // SAFETY: the queue's reference to the node, given up now that it left the queue.
        unsafe { release_node(e) };
        (self.0.on_cancel)(item);
        // Last access to the queue: a dropping queue may be freed right after.
        self.0.in_flight.leave();
    }

    fn arm(&self, e: Self::Entry) {
        node(e).armed.arm();
    }

    fn disarm(&self, e: Self::Entry) -> bool {
        node(e).armed.disarm()
    }

    fn cancel_requested(&self, e: Self::Entry) -> bool {
        node(e).cancel.load(Ordering::Acquire)
    }

    fn detach(&self, _: Self::Entry) {}
}

/// A queue of `T`s whose entries can be cancelled from anywhere, exactly once: each entry
/// is either taken by a consumer ([`pop`](Self::pop)) or cancelled through its
/// [`Ticket`] (its item then goes to the cancel handler), never both, never neither.
/// Dropping the queue cancels what is left.
///
/// Order: FIFO, or by a key ([`by_key`](Self::by_key)); [`pop_where`](Self::pop_where)
/// takes the first entry matching a predicate (the peek context of IoCsqRemoveNextIrp).
///
/// ```
/// use irpkit::safe::{CancelQueue, Outcome};
/// let q = CancelQueue::new();
/// let a = q.push("first");
/// let b = q.push("second");
/// assert!(a.cancel());                 // from any thread, exactly once
/// assert_eq!(q.pop(), Some("second")); // a cancelled entry is never handed out
/// assert_eq!((a.outcome(), b.outcome()), (Outcome::Cancelled, Outcome::Taken));
/// assert!(!b.cancel());                // too late: it was taken
/// ```
pub struct CancelQueue<T: Send + 'static> {
    inner: Box<QueueState<T>>,
}

impl<T: Send + 'static> core::fmt::Debug for CancelQueue<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CancelQueue").field("len", &self.len()).finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Default for CancelQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The handle to one queued entry: cancel it, or see what became of it.
pub struct Ticket<T: Send + 'static> {
    node: NonNull<Node<T>>,
    _t: PhantomData<T>,
}

// SAFETY: a ticket only cancels and reads the outcome, through atomics and the queue
// protocol; the item itself moves once, to the consumer or the cancel handler.
unsafe impl<T: Send + 'static> Send for Ticket<T> {}
// SAFETY: `&Ticket` allows only `cancel` and `outcome`, which touch the node through its
// atomics and the queue protocol (serialised by the `armed` swap and the queue lock), so
// tickets shared between threads race on nothing.
unsafe impl<T: Send + 'static> Sync for Ticket<T> {}

impl<T: Send + 'static> Drop for Ticket<T> {
    fn drop(&mut self) {
        // SAFETY: the ticket's own reference.
        unsafe { release_node(self.node) };
    }
}

impl<T: Send + 'static> core::fmt::Debug for Ticket<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ticket").field("outcome", &self.outcome()).finish()
    }
}

impl<T: Send + 'static> Ticket<T> {
    /// Cancels the entry if it is still queued: true if this call cancelled it (its item
    /// has gone to the cancel handler), false if it was already taken or cancelled.
    pub fn cancel(&self) -> bool {
        let n = node(self.node);
        n.cancel.store(true, Ordering::Release);
        if !n.armed.disarm() {
            return false;
        }
        // SAFETY: an armed node is linked in its queue, which cannot finish dropping while
        // it is (the drop waits for queued and cancelling entries).
        let queue = unsafe { &**n.queue.get() };
        csq_core::cancel_won(&TypedQueueOps(queue), NonNull::from(n));
        true
    }

    /// What became of the entry so far.
    pub fn outcome(&self) -> Outcome {
        match node(self.node).outcome.load(Ordering::Acquire) {
            TAKEN => Outcome::Taken,
            CANCELLED => Outcome::Cancelled,
            _ => Outcome::Queued,
        }
    }
}

impl<T: Send + 'static> CancelQueue<T> {
    /// A FIFO queue; cancelled items are dropped.
    pub fn new() -> Self {
        Self::with_cancel_handler(drop)
    }

    /// A FIFO queue whose cancelled items go to `on_cancel` (outside the queue lock, on the
    /// cancelling thread).
    pub fn with_cancel_handler(on_cancel: impl Fn(T) + Send + Sync + 'static) -> Self {
        Self::build(on_cancel, None)
    }

    /// A queue kept in ascending `key` order (FIFO among equal keys); cancelled items go
    /// to `on_cancel`.
    pub fn by_key(key: fn(&T) -> u64, on_cancel: impl Fn(T) + Send + Sync + 'static) -> Self {
        Self::build(on_cancel, Some(key))
    }

    fn build(on_cancel: impl Fn(T) + Send + Sync + 'static, key: Option<fn(&T) -> u64>) -> Self {
        let inner = Box::new(QueueState {
            lock: SpinLock::new(),
            head: UnsafeCell::new(ListEntry::null()),
            len: Len::new(),
            in_flight: InFlight::new(),
            on_cancel: Box::new(on_cancel),
            key,
        });
        // SAFETY: the boxed head is at its final address and not yet shared.
        unsafe { inner.list().init() };
        CancelQueue { inner }
    }

    /// Queues `item`; the ticket can cancel it from any thread.
    pub fn push(&self, item: T) -> Ticket<T> {
        let key = self.inner.key.map_or(0, |k| k(&item));
        let raw = NonNull::from(Box::leak(Box::new(Node {
            link: UnsafeCell::new(ListEntry::null()),
            armed: Armed::new(),
            cancel: AtomicBool::new(false),
            outcome: AtomicU8::new(QUEUED),
            item: UnsafeCell::new(MaybeUninit::new(item)),
            queue: UnsafeCell::new(ptr::null()),
            // One for the queue while the entry is in it, one for the ticket.
            refs: AtomicUsize::new(2),
            key,
        })));
        // This queue refuses nothing (its refusal type is uninhabited).
        let Ok(()) = csq_core::insert(&TypedQueueOps(&*self.inner), raw, ());
        Ticket { node: raw, _t: PhantomData }
    }

    fn take(&self, pred: Pred<'_, T>, outcome: u8) -> Option<T> {
        let e = csq_core::remove_next(&TypedQueueOps(&*self.inner), pred)?;
        let n = node(e);
        // SAFETY: the removal won the entry: the item is ours, exactly once.
        let item = unsafe { (*n.item.get()).assume_init_read() };
        n.outcome.store(outcome, Ordering::Release);
        // SAFETY: the queue's reference to the node, given up now that it left the queue.
        unsafe { release_node(e) };
        Some(item)
    }

    /// Takes the oldest entry that is not being cancelled.
    pub fn pop(&self) -> Option<T> {
        self.take(None, TAKEN)
    }

    /// Takes the oldest entry matching `pred` that is not being cancelled.
    pub fn pop_where(&self, pred: &dyn Fn(&T) -> bool) -> Option<T> {
        self.take(Some(pred), TAKEN)
    }

    /// Entries queued now.
    pub fn len(&self) -> usize {
        self.inner.len.get()
    }

    /// Whether no entry is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Send + 'static> Drop for CancelQueue<T> {
    fn drop(&mut self) {
        while let Some(item) = self.take(None, CANCELLED) {
            (self.inner.on_cancel)(item);
        }
        // Wait for cancellations still running in the queue: a ticket's cancel may have
        // won an entry and be between its removal and the handler's return.
        let inner = &*self.inner;
        inner.in_flight.wait_idle(&inner.lock, || inner.len.get());
    }
}
