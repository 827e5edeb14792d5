//! The queue lock, held: one RAII guard for every queue, and the wait a queue's drop makes
//! for cancellations still running inside it.
//!
//! # Invariants
//! - A [`Held`] exists exactly while its thread holds the lock: it is made only by
//!   [`Held::acquire`] and releases in its `Drop` — also while unwinding, so a panic under
//!   the lock (a driver's queue callback, a predicate, a strict-mode report) never leaves
//!   the queue locked. It is not `Send`: a spin lock is released by the thread that holds
//!   it, at the IRQL it raised from.
//! - [`InFlight`] counts the callers that may still touch a queue after its lock was
//!   released (a cancellation between its removal and the end of its completion
//!   callback). [`InFlight::wait_idle`] returns only once none is left, so a drop that
//!   calls it before freeing never frees memory a callback still uses.

use core::marker::PhantomData;

use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::sync::spin_step;

/// An interrupt request level as the NT layer counts them (`KIRQL`). Plain, so that this
/// module needs nothing of the NT layer's; locks that do not raise the IRQL return 0.
pub(crate) type Irql = u8;

/// A lock that is taken at a (possibly) raised IRQL and released by restoring the IRQL
/// its acquisition returned: a `KSPIN_LOCK`, an IO_CSQ's lock callbacks, a plain spin
/// lock.
///
/// # Safety
/// An implementation guarantees mutual exclusion with the usual memory ordering: between
/// an `acquire` returning on one thread and the matching `release`, no other `acquire` of
/// the same lock returns, and everything written before a `release` is visible to the
/// thread whose `acquire` returns next (release/acquire). Data that the lock is said to
/// protect may then be read and written with plain accesses under it.
pub(crate) unsafe trait RawLock {
    /// Takes the lock (spinning or waiting as the lock does); returns the IRQL to restore
    /// at release.
    fn acquire(&self) -> Irql;

    /// Releases the lock and returns to `irql`.
    ///
    /// # Safety
    /// The calling thread holds the lock through the `acquire` that returned `irql`, and
    /// releases it once.
    unsafe fn release(&self, irql: Irql);
}

/// The lock, held; dropping the guard releases it (see the module invariants).
#[must_use = "dropping the guard releases the lock at once"]
pub(crate) struct Held<'a, L: RawLock + ?Sized> {
    lock: &'a L,
    irql: Irql,
    /// Released on the acquiring thread only.
    _not_send: PhantomData<*mut ()>,
}

impl<'a, L: RawLock + ?Sized> Held<'a, L> {
    /// Takes `lock` until the guard is dropped.
    #[inline]
    pub(crate) fn acquire(lock: &'a L) -> Self {
        let irql = lock.acquire();
        Held { lock, irql, _not_send: PhantomData }
    }
}

impl<L: RawLock + ?Sized> Drop for Held<'_, L> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: a guard exists only between its own `acquire` and this drop, on the
        // thread that acquired (it is not `Send`), and is dropped once.
        unsafe { self.lock.release(self.irql) };
    }
}

/// A plain spin lock (one compare-exchange to take, a release store to free), for queues
/// of any code, where IRQL and the verifier's spin-lock bookkeeping have no meaning.
#[derive(Debug, Default)]
pub(crate) struct SpinLock {
    locked: AtomicBool,
}

impl SpinLock {
    /// An unlocked lock.
    #[inline]
    pub(crate) fn new() -> Self {
        SpinLock { locked: AtomicBool::new(false) }
    }
}

// SAFETY: the compare-exchange from false to true succeeds for one thread at a time and
// is an Acquire; only the holder stores false, with Release.
unsafe impl RawLock for SpinLock {
    #[inline]
    fn acquire(&self) -> Irql {
        let mut i = 0u32;
        while self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            while self.locked.load(Ordering::Relaxed) {
                spin_step(i);
                i = i.wrapping_add(1);
            }
        }
        0
    }

    #[inline]
    unsafe fn release(&self, _: Irql) {
        self.locked.store(false, Ordering::Release);
    }
}

/// The callers still inside a queue after leaving its lock — cancellations between their
/// removal (under the lock) and the end of their completion callback — and the wait for
/// them that a queue's drop makes before freeing.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    count: AtomicUsize,
}

impl InFlight {
    /// None in flight.
    #[inline]
    pub(crate) fn new() -> Self {
        InFlight { count: AtomicUsize::new(0) }
    }

    /// One more caller will touch the queue after the lock is released. Called under the
    /// queue lock, in the same critical section that takes the entry off the queue, so
    /// that [`wait_idle`](Self::wait_idle) never sees the entry gone and the caller not
    /// yet counted.
    #[inline]
    pub(crate) fn enter(&self) {
        self.count.fetch_add(1, Ordering::AcqRel);
    }

    /// That caller is done: this must be its last access to the queue (whose memory a
    /// waiting drop may free right after).
    #[inline]
    pub(crate) fn leave(&self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
    }

    /// Waits (spinning, taking `lock` for each look) until `queued()` — read under the
    /// lock — is zero and no caller is in flight. Returns only then: after it, no callback
    /// into the queue is running or can start through an entry of the queue.
    pub(crate) fn wait_idle<L: RawLock + ?Sized>(&self, lock: &L, queued: impl Fn() -> usize) {
        let mut i = 0u32;
        loop {
            let held = Held::acquire(lock);
            let busy = queued() + self.count.load(Ordering::Acquire);
            drop(held);
            if busy == 0 {
                return;
            }
            spin_step(i);
            i = i.wrapping_add(1);
        }
    }
}

/// A counter of queued entries, changed only under the queue lock and read anywhere as a
/// snapshot (`len()`).
#[derive(Debug, Default)]
pub(crate) struct Len {
    n: AtomicUsize,
}

impl Len {
    /// Zero.
    #[inline]
    pub(crate) fn new() -> Self {
        Len { n: AtomicUsize::new(0) }
    }

    /// The count now (a snapshot without the lock, exact under it).
    #[inline]
    pub(crate) fn get(&self) -> usize {
        self.n.load(Ordering::Relaxed)
    }

    /// One more (under the queue lock: a plain read-modify-write suffices, as the lock
    /// orders the writers).
    #[inline]
    pub(crate) fn incr(&self) {
        self.n.store(self.get() + 1, Ordering::Relaxed);
    }

    /// One fewer (under the queue lock).
    #[inline]
    pub(crate) fn decr(&self) {
        self.n.store(self.get() - 1, Ordering::Relaxed);
    }
}
