//! A single-winner exchange: one byte, open until one of its parties takes it. Two live in
//! every IRP header — who settles the requester side (`nt::requester`) and who takes the
//! IRP back from its creator's send (`nt::creator`); each of those modules names its
//! parties.
//!
//! No lock: the exchange is one atomic. Taking it is a compare-exchange from open, so
//! exactly one taker wins; the winner's writes before it took the exchange are visible to
//! whoever later sees who won (acquire-release).

use crate::sync::atomic::{AtomicU8, Ordering};

/// A party of an exchange (never [`OPEN`]).
pub(crate) type Party = u8;

/// Nobody has taken the exchange yet.
pub(crate) const OPEN: Party = 0;

/// A single-winner exchange between named parties.
#[derive(Debug)]
pub(crate) struct Exchange(AtomicU8);

impl Exchange {
    /// Open.
    pub(crate) fn new() -> Self {
        Exchange(AtomicU8::new(OPEN))
    }

    /// Open again, for a new request in the same IRP (only the IRP's owner calls this).
    pub(crate) fn reopen(&self) {
        self.0.store(OPEN, Ordering::Relaxed);
    }

    /// `party` takes the exchange: true if it was open (`party` won), false if another
    /// party had taken it.
    pub(crate) fn take(&self, party: Party) -> bool {
        debug_assert_ne!(party, OPEN);
        self.0.compare_exchange(OPEN, party, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Whether `party` won.
    pub(crate) fn won_by(&self, party: Party) -> bool {
        self.0.load(Ordering::Acquire) == party
    }

    /// Records `party` as the winner without a race (nobody else can take it: the other
    /// party never got the IRP).
    pub(crate) fn settle(&self, party: Party) {
        self.0.store(party, Ordering::Release);
    }
}
