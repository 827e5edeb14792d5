//! The cancel-safe queue protocol, once, for every kind of entry.
//!
//! IoCsq (entries are IRPs, cancellability is `Irp->CancelRoutine`) and the typed
//! [`CancelQueue`](crate::safe::CancelQueue) (entries are nodes with an atomic state) both
//! run these functions; only the [`QueueOps`] differ. The protocol:
//!
//! - an entry becomes cancelable only after the queue accepted it, under the queue lock;
//! - leaving the queue always goes through one single-winner step, [`QueueOps::disarm`]:
//!   a removal that wins takes the entry, one that loses skips it (its cancellation is
//!   under way); the cancellation that wins removes it under the lock and completes it
//!   after releasing the lock;
//! - an entry is always removed before it is completed;
//! - a cancellation that came before the entry was armed is honoured by the insertion;
//! - the queue lock is held by a [`Held`] guard, so a panic under it (a driver callback,
//!   a predicate, a strict-mode report) releases it while unwinding.

use super::status::{nt_success, NtStatus, STATUS_SUCCESS};
use super::types::KIrql;

/// One queue's storage, lock and entry state, as the protocol needs them.
pub(crate) trait QueueOps {
    /// A queued thing (an IRP pointer, a node pointer).
    type Entry: Copy + PartialEq;
    /// The insertion's extra argument (IoCsqInsertIrpEx's InsertContext).
    type InsertContext: Copy;
    /// The removal's filter (IoCsqRemoveNextIrp's PeekContext).
    type Peek: Copy;

    /// Takes the queue lock.
    fn acquire(&self) -> KIrql;
    /// Releases the queue lock.
    fn release(&self, irql: KIrql);
    /// Links the entry (under the lock); a failure refuses it.
    fn insert(&self, entry: Self::Entry, context: Self::InsertContext) -> NtStatus;
    /// Unlinks the entry (under the lock).
    fn remove(&self, entry: Self::Entry);
    /// The first entry after `after` (from the head if none) matching `peek` (under the
    /// lock).
    fn peek(&self, after: Option<Self::Entry>, peek: Self::Peek) -> Option<Self::Entry>;
    /// Completes a cancelled entry (outside the lock).
    fn complete_canceled(&self, entry: Self::Entry);
    /// Makes the entry cancelable (under the lock).
    fn arm(&self, entry: Self::Entry);
    /// Takes the entry out of the cancelable state: true if this call won it (no
    /// cancellation took it first).
    fn disarm(&self, entry: Self::Entry) -> bool;
    /// Whether a cancellation was requested for the entry.
    fn cancel_requested(&self, entry: Self::Entry) -> bool;
    /// Forgets the entry's link to the queue once it left (refused, removed or cancelled).
    fn detach(&self, entry: Self::Entry);
}

/// The queue lock, held; dropping the guard releases it — also when a callback run under
/// the lock (a driver's insert or peek routine, a predicate, a strict-mode report) panics,
/// so a panic never leaves the queue locked.
pub(crate) struct Held<'q, Q: QueueOps> {
    q: &'q Q,
    irql: KIrql,
}

impl<'q, Q: QueueOps> Held<'q, Q> {
    /// Takes the queue lock.
    pub(crate) fn acquire(q: &'q Q) -> Self {
        let irql = q.acquire();
        Held { q, irql }
    }
}

impl<Q: QueueOps> Drop for Held<'_, Q> {
    fn drop(&mut self) {
        self.q.release(self.irql);
    }
}

/// Inserts `entry`: returns the insert callback's failure (entry untouched but detached)
/// or success. An entry whose cancellation came first is removed again and completed
/// (after the lock is released).
pub(crate) fn insert<Q: QueueOps>(q: &Q, entry: Q::Entry, context: Q::InsertContext) -> NtStatus {
    let held = Held::acquire(q);
    let status = q.insert(entry, context);
    if !nt_success(status) {
        q.detach(entry);
        return status;
    }
    q.arm(entry);
    if q.cancel_requested(entry) && q.disarm(entry) {
        q.remove(entry);
        q.detach(entry);
        drop(held);
        q.complete_canceled(entry);
    }
    STATUS_SUCCESS
}

/// Removes and returns the first entry matching `peek` that is not being cancelled.
pub(crate) fn remove_next<Q: QueueOps>(q: &Q, peek: Q::Peek) -> Option<Q::Entry> {
    let _held = Held::acquire(q);
    let mut at = q.peek(None, peek);
    while let Some(entry) = at {
        if q.disarm(entry) {
            q.remove(entry);
            q.detach(entry);
            break;
        }
        at = q.peek(Some(entry), peek);
    }
    at
}

/// Removes the entry `find` names (evaluated under the lock; `None`: it left the queue)
/// unless it is being cancelled; returns it if this call took it.
pub(crate) fn remove_entry<Q: QueueOps>(q: &Q, find: impl FnOnce() -> Option<Q::Entry>) -> Option<Q::Entry> {
    let _held = Held::acquire(q);
    let taken = find().filter(|&entry| q.disarm(entry));
    if let Some(entry) = taken {
        q.remove(entry);
        q.detach(entry);
    }
    taken
}

/// The cancellation's part once it won the entry (its disarm returned the entry to it):
/// remove under the lock, then complete outside it.
pub(crate) fn cancel_won<Q: QueueOps>(q: &Q, entry: Q::Entry) {
    let held = Held::acquire(q);
    q.remove(entry);
    q.detach(entry);
    drop(held);
    q.complete_canceled(entry);
}
