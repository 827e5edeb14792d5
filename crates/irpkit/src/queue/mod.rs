//! The queue toolkit: the intrusive list, the queue lock guard, the wait for callbacks in
//! flight, and the cancel-safe queue protocol — once, for every queue in irpkit.
//!
//! - [`list`]: `LIST_ENTRY` and the NT list routines on it (InsertTailList,
//!   RemoveEntryList, RemoveHeadList, walks). Device queues (`nt::devqueue`), the safe
//!   `safe::CancelSafeIrpQueue` and the typed
//!   `safe::CancelQueue` link their entries with it.
//! - [`lock`]: [`RawLock`](lock::RawLock) (a lock taken at a raised IRQL and released by
//!   restoring it), the one guard [`Held`](lock::Held) over it, a plain spin lock,
//!   [`InFlight`](lock::InFlight) (callers still inside a queue after leaving its lock,
//!   and the drop-time wait for them) and [`Len`](lock::Len).
//! - [`csq_core`]: the single-winner protocol of cancel-safe queues, generic over
//!   [`QueueOps`](csq_core::QueueOps); IoCsq (`nt::csq`) and the safe queues run it.
//!
//! # Invariants
//! - A linked entry belongs to its queue's owner and is touched (links, queue state) only
//!   under that queue's lock; it stays valid and in place while linked.
//! - An entry leaves a cancel-safe queue exactly once, through one winning disarm; it is
//!   removed (under the lock) before it is completed (outside the lock).
//! - A queue is not freed while a callback into it may still run: its drop empties it
//!   and then waits with [`InFlight::wait_idle`](lock::InFlight::wait_idle).
//!
//! # Lock order
//! The queue lock is a leaf with respect to the locks of this module: nothing here takes
//! a second lock while holding one. Callers keep the NT order: the system cancel spin lock
//! is released before a queue lock is taken (the IoCsq cancel routine), and no queue lock
//! holder takes the cancel spin lock. Completion callbacks (`complete_canceled`) run with
//! no queue lock held.
//!
//! # Layering
//! This module depends only on [`crate::sync`] (so its atomics become loom's or shuttle's
//! under `--cfg loom` / `--cfg shuttle`); it knows nothing of the NT layer, whose IRQL it
//! sees as a plain `u8` ([`lock::Irql`]). `nt` and `safe` use it, never the other way.

pub(crate) mod csq_core;
pub(crate) mod list;
pub(crate) mod lock;
