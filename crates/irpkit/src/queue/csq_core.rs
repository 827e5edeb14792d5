//! The cancel-safe queue protocol, once, for every kind of entry.
//!
//! IoCsq (entries are IRPs, cancellability is `Irp->CancelRoutine`; `nt::csq`), the safe
//! `safe::CancelSafeIrpQueue` (IRPs in a list of its own) and the
//! typed `safe::CancelQueue` (entries are nodes with an atomic
//! state) all run these functions; only the [`QueueOps`] differ. The protocol:
//!
//! - an entry becomes cancelable ([`QueueOps::arm`]) only after the queue accepted it,
//!   under the queue lock;
//! - leaving the queue always goes through one single-winner step, [`QueueOps::disarm`]:
//!   a removal that wins takes the entry, one that loses skips it (its cancellation is
//!   under way); the cancellation that wins removes it under the lock and completes it
//!   after releasing the lock;
//! - an entry is always removed before it is completed;
//! - a cancellation that came before the entry was armed is honoured by the insertion;
//! - every removal says who removes ([`Remover`]): the owner (the entry goes to the
//!   caller) or the cancel path (the entry goes to [`QueueOps::complete_canceled`] after
//!   the lock is released, so the queue is still used after its lock was left);
//! - the queue lock is held by a [`Held`] guard, so a panic under it (a driver callback,
//!   a predicate, a strict-mode report) releases it while unwinding.

use super::lock::{Held, RawLock};

/// Who takes an entry off the queue, as [`QueueOps::remove`] is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Remover {
    /// The queue's owner (IoCsqRemoveNextIrp, IoCsqRemoveIrp, a pop): the entry is the
    /// caller's once removed; the queue is not touched again for it.
    Owner,
    /// The cancel path (the cancellation that won the entry, or an insertion that found
    /// it already cancelled): [`QueueOps::complete_canceled`] follows for it, outside the
    /// lock.
    Cancel,
}

/// One queue's storage, lock and entry state, as the protocol needs them. The lock is
/// the supertrait: the functions of this module take it with [`Held`] around every
/// method marked "under the lock".
///
/// # Safety
/// The protocol's exactly-once guarantee rests on these; an implementation must make them
/// true:
/// - **The lock excludes.** The [`RawLock`] contract holds, and it is the lock that
///   protects the storage: `insert`, `remove`, `peek`, `arm` and `detach` are only correct
///   when called with it held, and no other code changes the storage without it.
/// - **`disarm` has a single winner.** For one arming, at most one `disarm` — the
///   protocol's or the cancellation's own (IoCancelIrp's exchange of the cancel routine,
///   a ticket's swap) — returns true, atomically with respect to the others; and it
///   returns false for an entry that was never armed or was already disarmed.
/// - **A winning cancellation comes back.** Whoever wins an entry by its own disarm (not
///   through this module) calls [`cancel_won`] for it, exactly once.
/// - **`cancel_requested` is sticky**: once a cancellation set it before trying to
///   disarm, it stays true for that entry while it is queued.
/// - **Entries stay valid while linked**: an entry handed to `insert` that was accepted
///   stays valid (and in place, if the storage is intrusive) until it was removed and —
///   on the cancel path — until `complete_canceled` returned.
/// - **`peek` returns only linked entries**, so that `remove` is only ever called (by
///   this module) on an entry linked in this queue, after winning its disarm.
/// - **`complete_canceled` is the last access** the cancel path makes to the queue
///   before a dropping owner may free it (see
///   [`InFlight`](super::lock::InFlight)): an implementation that counts cancellations in
///   flight counts them in `remove` with [`Remover::Cancel`] and stops counting at the end
///   of `complete_canceled`.
pub(crate) unsafe trait QueueOps: RawLock {
    /// A queued thing (an IRP pointer, a node pointer).
    type Entry: Copy + PartialEq;
    /// The insertion's extra argument (IoCsqInsertIrpEx's InsertContext).
    type InsertContext: Copy;
    /// The removal's filter (IoCsqRemoveNextIrp's PeekContext).
    type Peek: Copy;
    /// Why an insertion was refused (IoCsqInsertIrpEx's failure status).
    type Refusal;

    /// Links the entry (under the lock); an error refuses it, leaving it unlinked.
    fn insert(&self, entry: Self::Entry, context: Self::InsertContext) -> Result<(), Self::Refusal>;
    /// Unlinks the entry, linked in this queue, for `by` (under the lock).
    fn remove(&self, entry: Self::Entry, by: Remover);
    /// The first entry after `after` (from the head if none) matching `peek` (under the
    /// lock).
    fn peek(&self, after: Option<Self::Entry>, peek: Self::Peek) -> Option<Self::Entry>;
    /// Completes a cancelled entry (outside the lock); the cancel path's last access to
    /// the queue.
    fn complete_canceled(&self, entry: Self::Entry);
    /// Makes the entry cancelable (under the lock).
    fn arm(&self, entry: Self::Entry);
    /// Takes the entry out of the cancelable state: true if this call won it (no
    /// cancellation took it first).
    fn disarm(&self, entry: Self::Entry) -> bool;
    /// Whether a cancellation was requested for the entry.
    fn cancel_requested(&self, entry: Self::Entry) -> bool;
    /// Forgets the entry's link to the queue once it left (refused, removed or cancelled;
    /// under the lock).
    fn detach(&self, entry: Self::Entry);
}

/// Inserts `entry`: returns the insert callback's refusal (entry untouched but detached)
/// or `Ok`. An entry whose cancellation came first is removed again and completed (after
/// the lock is released).
pub(crate) fn insert<Q: QueueOps>(q: &Q, entry: Q::Entry, context: Q::InsertContext) -> Result<(), Q::Refusal> {
    let held = Held::acquire(q);
    if let Err(refused) = q.insert(entry, context) {
        q.detach(entry);
        return Err(refused);
    }
    q.arm(entry);
    if q.cancel_requested(entry) && q.disarm(entry) {
        q.remove(entry, Remover::Cancel);
        q.detach(entry);
        drop(held);
        q.complete_canceled(entry);
    }
    Ok(())
}

/// Removes and returns the first entry matching `peek` that is not being cancelled.
pub(crate) fn remove_next<Q: QueueOps>(q: &Q, peek: Q::Peek) -> Option<Q::Entry> {
    let _held = Held::acquire(q);
    let mut at = q.peek(None, peek);
    while let Some(entry) = at {
        if q.disarm(entry) {
            q.remove(entry, Remover::Owner);
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
        q.remove(entry, Remover::Owner);
        q.detach(entry);
    }
    taken
}

/// The cancellation's part once it won the entry (its disarm returned the entry to it):
/// remove under the lock, then complete outside it.
pub(crate) fn cancel_won<Q: QueueOps>(q: &Q, entry: Q::Entry) {
    let held = Held::acquire(q);
    q.remove(entry, Remover::Cancel);
    q.detach(entry);
    drop(held);
    q.complete_canceled(entry);
}
