//! `OVERLAPPED`: an overlapped request's status block and event, reusable only once its
//! previous request has finished (`Overlapped::claim`, one winner among threads issuing
//! at once).
//!
//! Locks: `Overlapped::current` is a leaf.

use super::*;

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
    /// The request last issued with it, and its kernel.
    pub(super) current: Arc<Mutex<Current>>,
}

/// What an `Overlapped` stands for now.
pub(super) struct Current {
    /// The state of the request last issued with it (a blank one before the first).
    op: Arc<RequestState>,
    /// The kernel its requests were issued in (none before the first): set once, not per
    /// request, so that issuing costs no reference count.
    kernel: Option<Kernel>,
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
#[inline]
pub(super) fn in_flight(op: &RequestState) -> bool {
    op.issued.load(Ordering::Acquire)
        && nt::ke_read_state_event(&op.event) == 0
        && nt::ke_read_state_event(&op.done) == 0
}

impl Overlapped {
    /// A fresh status block and event.
    pub fn new() -> Self {
        Self::of(Arc::new(RequestState::new(false)), None)
    }

    /// An `Overlapped` standing for one request's state (a packet's, a future's), issued
    /// in `kernel`.
    pub(super) fn of(op: Arc<RequestState>, kernel: Option<Kernel>) -> Self {
        Overlapped { current: Arc::new(Mutex::new(Current { op, kernel })) }
    }

    /// The state of the request last issued with it.
    pub(super) fn op(&self) -> Arc<RequestState> {
        lock(&self.current).op.clone()
    }

    /// Takes the `OVERLAPPED` for a new request: fresh state, unless the previous request
    /// has not finished. One winner among threads issuing at once.
    #[inline]
    pub(super) fn claim(&self, kernel: &Kernel) -> Result<Arc<RequestState>, NtStatus> {
        let mut current = lock(&self.current);
        if in_flight(&current.op) {
            return Err(nt::STATUS_INVALID_PARAMETER);
        }
        if !current.kernel.as_ref().is_some_and(|k| k.same_as(kernel)) {
            current.kernel = Some(kernel.clone());
        }
        let op = Arc::new(RequestState::new(true));
        current.op = op.clone();
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
            // only its own `RequestState`.
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

    /// Waits up to `timeout` (on the clock of the kernel the request was issued in) for
    /// the event, then returns the status block; `None` if the wait timed out, or at once
    /// if no request was ever issued with this `Overlapped` (nothing would set its event).
    pub fn wait(&self, timeout: Option<Duration>) -> Option<IoStatusBlock> {
        let (op, kernel) = {
            let current = lock(&self.current);
            (current.op.clone(), current.kernel.clone())
        };
        let _entered = kernel?.enter();
        (nt::ke_wait_for_single_object(&op.event, timeout) == nt::STATUS_SUCCESS).then(|| {
            // SAFETY: as in `status_block`: the event of this very request is set.
            unsafe { *op.iosb.get() }
        })
    }
}
