//! Cancel-safe IRP queues: IoCsqInitialize(Ex), IoCsqInsertIrp(Ex), IoCsqRemoveIrp,
//! IoCsqRemoveNextIrp and the library's cancel routine.
//!
//! The driver supplies the queue (storage and its lock) through callbacks; the library
//! supplies the cancel routine and the single-winner protocol around
//! `Irp->CancelRoutine`, so that an IRP leaves the queue exactly once — by removal or by
//! cancellation — and is always removed before it is completed.
//!
//! `Irp->Tail.Overlay.DriverContext[3]` holds the queue, or the IRP's
//! [`IoCsqIrpContext`] when the driver gave one; the two are told apart by their `Type`.
//!
//! Insertion follows Microsoft's flowchart **[docs, not ReactOS]**: the insert callback
//! runs under the queue lock; only if it succeeds is the IRP marked pending and given the
//! cancel routine; an IRP that was already cancelled is then removed again and — after
//! the queue lock is released — handed to CompleteCanceledIrp.
//!
//! Lock order: the library cancel routine releases the system cancel spin lock before it
//! takes the queue lock; no routine here takes the cancel spin lock under the queue lock.

use core::ffi::c_void;
use core::ptr;

use super::cancel::io_set_cancel_routine;
use super::irp::io_mark_irp_pending;
use super::spinlock::io_release_cancel_spin_lock;
use super::status::{nt_success, NtStatus, STATUS_INVALID_PARAMETER, STATUS_SUCCESS};
use super::types::*;
use crate::queue::csq_core::{self, QueueOps, Remover};
use crate::queue::lock::RawLock;

/// `IO_TYPE_CSQ_IRP_CONTEXT`.
pub const IO_TYPE_CSQ_IRP_CONTEXT: u32 = 1;
/// `IO_TYPE_CSQ`: a queue initialised with IoCsqInitialize.
pub const IO_TYPE_CSQ: u32 = 2;
/// `IO_TYPE_CSQ_EX`: a queue initialised with IoCsqInitializeEx.
pub const IO_TYPE_CSQ_EX: u32 = 3;

/// `PIO_CSQ_INSERT_IRP`: links the IRP into the driver's queue (under the queue lock).
pub type CsqInsertIrp = unsafe extern "system-unwind" fn(csq: *mut IoCsq, irp: *mut Irp);
/// `PIO_CSQ_INSERT_IRP_EX`: like [`CsqInsertIrp`], and may refuse with a failure status.
pub type CsqInsertIrpEx =
    unsafe extern "system-unwind" fn(csq: *mut IoCsq, irp: *mut Irp, insert_context: *mut c_void) -> NtStatus;
/// `PIO_CSQ_REMOVE_IRP`: unlinks the IRP from the driver's queue (under the queue lock).
pub type CsqRemoveIrp = unsafe extern "system-unwind" fn(csq: *mut IoCsq, irp: *mut Irp);
/// `PIO_CSQ_PEEK_NEXT_IRP`: the first IRP after `irp` (from the head if null) matching
/// `peek_context` (any if null), or null (under the queue lock).
pub type CsqPeekNextIrp =
    unsafe extern "system-unwind" fn(csq: *mut IoCsq, irp: *mut Irp, peek_context: *mut c_void) -> *mut Irp;
/// `PIO_CSQ_ACQUIRE_LOCK`: takes the queue lock, storing the IRQL to restore.
pub type CsqAcquireLock = unsafe extern "system-unwind" fn(csq: *mut IoCsq, irql: *mut KIrql);
/// `PIO_CSQ_RELEASE_LOCK`: releases the queue lock.
pub type CsqReleaseLock = unsafe extern "system-unwind" fn(csq: *mut IoCsq, irql: KIrql);
/// `PIO_CSQ_COMPLETE_CANCELED_IRP`: completes a cancelled IRP (after it was removed, with
/// the queue lock released), normally `STATUS_CANCELLED` / 0.
pub type CsqCompleteCanceledIrp = unsafe extern "system-unwind" fn(csq: *mut IoCsq, irp: *mut Irp);

/// `IO_CSQ`: a cancel-safe queue's callback table. Embed it in the driver's queue object.
#[repr(C)]
#[derive(Debug)]
pub struct IoCsq {
    /// `Type`: [`IO_TYPE_CSQ`] or [`IO_TYPE_CSQ_EX`].
    pub type_: u32,
    /// `CsqInsertIrp`: a [`CsqInsertIrp`], or a [`CsqInsertIrpEx`] for `IO_TYPE_CSQ_EX`.
    pub csq_insert_irp: *mut c_void,
    /// `CsqRemoveIrp`.
    pub csq_remove_irp: Option<CsqRemoveIrp>,
    /// `CsqPeekNextIrp`.
    pub csq_peek_next_irp: Option<CsqPeekNextIrp>,
    /// `CsqAcquireLock`.
    pub csq_acquire_lock: Option<CsqAcquireLock>,
    /// `CsqReleaseLock`.
    pub csq_release_lock: Option<CsqReleaseLock>,
    /// `CsqCompleteCanceledIrp`.
    pub csq_complete_canceled_irp: Option<CsqCompleteCanceledIrp>,
    /// `ReservePointer`.
    pub reserve_pointer: *mut c_void,
}

impl IoCsq {
    /// An uninitialised queue (initialise it with [`io_csq_initialize`] in place).
    pub const fn zeroed() -> Self {
        IoCsq {
            type_: 0,
            csq_insert_irp: ptr::null_mut(),
            csq_remove_irp: None,
            csq_peek_next_irp: None,
            csq_acquire_lock: None,
            csq_release_lock: None,
            csq_complete_canceled_irp: None,
            reserve_pointer: ptr::null_mut(),
        }
    }
}

/// `IO_CSQ_IRP_CONTEXT`: lets the driver remove one specific IRP later
/// ([`io_csq_remove_irp`]).
#[repr(C)]
#[derive(Debug)]
pub struct IoCsqIrpContext {
    /// `Type`: [`IO_TYPE_CSQ_IRP_CONTEXT`].
    pub type_: u32,
    /// `Irp`: the queued IRP, or null once it left the queue.
    pub irp: *mut Irp,
    /// `Csq`.
    pub csq: *mut IoCsq,
}

impl IoCsqIrpContext {
    /// An empty context.
    pub const fn new() -> Self {
        IoCsqIrpContext { type_: IO_TYPE_CSQ_IRP_CONTEXT, irp: ptr::null_mut(), csq: ptr::null_mut() }
    }
}

impl Default for IoCsqIrpContext {
    fn default() -> Self {
        Self::new()
    }
}

/// `IoCsqInitialize`: fills in the callback table.
///
/// # Safety
/// `csq` points to writable memory that stays valid (and in place) while it queues IRPs.
pub unsafe fn io_csq_initialize(
    csq: *mut IoCsq,
    insert: CsqInsertIrp,
    remove: CsqRemoveIrp,
    peek: CsqPeekNextIrp,
    acquire: CsqAcquireLock,
    release: CsqReleaseLock,
    complete_canceled: CsqCompleteCanceledIrp,
) -> NtStatus {
    // SAFETY: writable queue memory by the contract.
    unsafe { init(csq, IO_TYPE_CSQ, insert as *mut c_void, remove, peek, acquire, release, complete_canceled) }
}

/// `IoCsqInitializeEx`: like [`io_csq_initialize`] with an insert callback that may fail.
///
/// # Safety
/// As [`io_csq_initialize`].
pub unsafe fn io_csq_initialize_ex(
    csq: *mut IoCsq,
    insert: CsqInsertIrpEx,
    remove: CsqRemoveIrp,
    peek: CsqPeekNextIrp,
    acquire: CsqAcquireLock,
    release: CsqReleaseLock,
    complete_canceled: CsqCompleteCanceledIrp,
) -> NtStatus {
    // SAFETY: writable queue memory by the contract (that of `io_csq_initialize`).
    unsafe { init(csq, IO_TYPE_CSQ_EX, insert as *mut c_void, remove, peek, acquire, release, complete_canceled) }
}

#[allow(clippy::too_many_arguments)]
unsafe fn init(
    csq: *mut IoCsq,
    type_: u32,
    insert: *mut c_void,
    remove: CsqRemoveIrp,
    peek: CsqPeekNextIrp,
    acquire: CsqAcquireLock,
    release: CsqReleaseLock,
    complete_canceled: CsqCompleteCanceledIrp,
) -> NtStatus {
    // SAFETY: writable queue memory by the caller's contract.
    unsafe {
        csq.write(IoCsq {
            type_,
            csq_insert_irp: insert,
            csq_remove_irp: Some(remove),
            csq_peek_next_irp: Some(peek),
            csq_acquire_lock: Some(acquire),
            csq_release_lock: Some(release),
            csq_complete_canceled_irp: Some(complete_canceled),
            reserve_pointer: ptr::null_mut(),
        })
    };
    STATUS_SUCCESS
}

/// An IO_CSQ as the protocol sees it: the driver's callbacks, entries are IRPs, and an
/// IRP is cancelable while it carries the library cancel routine.
struct CsqCallbacks {
    csq: *mut IoCsq,
    remove: CsqRemoveIrp,
    peek: CsqPeekNextIrp,
    acquire: CsqAcquireLock,
    release: CsqReleaseLock,
    complete_canceled: CsqCompleteCanceledIrp,
}

impl CsqCallbacks {
    /// # Safety
    /// `csq` points to an initialised queue, and the callers of the methods below are the
    /// `io_csq_*` routines (or the library cancel routine), whose safety contracts vouch
    /// for the queue and the IRPs they pass.
    unsafe fn of(csq: *mut IoCsq) -> Self {
        // SAFETY: initialised queue by the contract.
        let q = unsafe { &*csq };
        let missing = "an IO_CSQ used before IoCsqInitialize (a callback is missing)";
        CsqCallbacks {
            csq,
            remove: q.csq_remove_irp.expect(missing),
            peek: q.csq_peek_next_irp.expect(missing),
            acquire: q.csq_acquire_lock.expect(missing),
            release: q.csq_release_lock.expect(missing),
            complete_canceled: q.csq_complete_canceled_irp.expect(missing),
        }
    }
}

// SAFETY: the driver's CsqAcquireLock/CsqReleaseLock are its queue lock; IoCsq's contract
// with the driver (as the WDK documents it) is that they exclude each other like a spin
// lock — irpkit cannot check it, and a driver whose lock does not exclude breaks its own
// queue, as on Windows.
unsafe impl RawLock for CsqCallbacks {
    fn acquire(&self) -> KIrql {
        let mut irql = 0;
        // SAFETY: the driver's callback with its own queue (`CsqCallbacks::of`'s contract) and a
        // local for the IRQL.
        unsafe { (self.acquire)(self.csq, &mut irql) };
        irql
    }

    unsafe fn release(&self, irql: KIrql) {
        // SAFETY: the driver's callback with its own queue, the lock held (the caller's
        // contract).
        unsafe { (self.release)(self.csq, irql) };
    }
}

// SAFETY: the lock is the driver's (see the `RawLock` impl), and its callbacks keep the
// storage under it (IoCsq's documented contract); `disarm` is the atomic exchange of
// `Irp->CancelRoutine`, which IoCancelIrp races with the same exchange — one winner —
// and the library cancel routine (the winner's side) calls `cancel_won` once;
// `Irp->Cancel` is only ever set, never cleared, while the IRP is queued; a queued IRP
// belongs to the queue (`io_csq_insert_irp_ex`'s contract); peeks return what the
// driver's PeekNextIrp returns, which IoCsq requires to be a queued IRP; the driver's
// CompleteCanceledIrp is the last call the library makes into the queue for an IRP.
unsafe impl QueueOps for CsqCallbacks {
    type Entry = *mut Irp;
    type InsertContext = *mut c_void;
    type Peek = *mut c_void;
    type Refusal = NtStatus;

    fn insert(&self, irp: *mut Irp, insert_context: *mut c_void) -> Result<(), NtStatus> {
        // SAFETY: the driver's callback with its own queue and an IRP the caller vouched
        // for (`CsqCallbacks::of`); `csq_insert_irp` holds the routine its `Type` says.
        let status = unsafe {
            if (*self.csq).type_ == IO_TYPE_CSQ_EX {
                let insert_ex = core::mem::transmute::<*mut c_void, CsqInsertIrpEx>((*self.csq).csq_insert_irp);
                insert_ex(self.csq, irp, insert_context)
            } else {
                let insert = core::mem::transmute::<*mut c_void, CsqInsertIrp>((*self.csq).csq_insert_irp);
                insert(self.csq, irp);
                STATUS_SUCCESS
            }
        };
        if nt_success(status) {
            Ok(())
        } else {
            Err(status)
        }
    }

    /// The driver's CsqRemoveIrp has no argument for who removes: both removers call it.
    fn remove(&self, irp: *mut Irp, _by: Remover) {
        // SAFETY: the driver's callback with its own queue and a linked IRP (the
        // protocol removes only what it peeked or won).
        unsafe { (self.remove)(self.csq, irp) };
    }

    fn peek(&self, after: Option<*mut Irp>, peek_context: *mut c_void) -> Option<*mut Irp> {
        // SAFETY: the driver's callback with its own queue; `after` is linked.
        let irp = unsafe { (self.peek)(self.csq, after.unwrap_or(ptr::null_mut()), peek_context) };
        (!irp.is_null()).then_some(irp)
    }

    fn complete_canceled(&self, irp: *mut Irp) {
        // SAFETY: the driver's callback with its own queue and the removed IRP.
        unsafe { (self.complete_canceled)(self.csq, irp) };
    }

    fn arm(&self, irp: *mut Irp) {
        // SAFETY: a live IRP just linked in this queue, under its lock.
        unsafe { arm_irp(irp) }
    }

    fn disarm(&self, irp: *mut Irp) -> bool {
        // SAFETY: a live IRP of this queue.
        unsafe { disarm_irp(irp) }
    }

    fn cancel_requested(&self, irp: *mut Irp) -> bool {
        // SAFETY: a live IRP of this queue.
        unsafe { irp_cancel_requested(irp) }
    }

    fn detach(&self, irp: *mut Irp) {
        // SAFETY: a live IRP this library inserted, under the queue lock.
        unsafe { detach_irp(irp) }
    }
}

/// The IRP half of an IRP queue's [`QueueOps::arm`]: marks the IRP pending and gives it
/// the library cancel routine (which finds the queue through `DriverContext[3]`).
///
/// # Safety
/// `irp` is live and linked in the queue that `DriverContext[3]` names, under its lock.
pub(crate) unsafe fn arm_irp(irp: *mut Irp) {
    // SAFETY: forwarded contract.
    unsafe {
        super::coverage::csq_changed(irp, true);
        io_mark_irp_pending(irp);
        io_set_cancel_routine(irp, Some(csq_cancel_routine));
    }
}

/// [`QueueOps::disarm`] for IRPs: takes the cancel routine back; true if it was still
/// there (IoCancelIrp did not take it first). The slot is atomic: one winner.
///
/// # Safety
/// `irp` is live.
pub(crate) unsafe fn disarm_irp(irp: *mut Irp) -> bool {
    // SAFETY: forwarded contract.
    unsafe { io_set_cancel_routine(irp, None) }.is_some()
}

/// [`QueueOps::cancel_requested`] for IRPs: `Irp->Cancel`.
///
/// # Safety
/// `irp` is live.
pub(crate) unsafe fn irp_cancel_requested(irp: *mut Irp) -> bool {
    // SAFETY: forwarded contract; the flag is atomic.
    unsafe { (*irp).cancel.load(crate::sync::atomic::Ordering::Acquire) != 0 }
}

/// Where `DriverContext[3]` lives.
///
/// # Safety
/// `irp` points to a live IRP.
unsafe fn slot(irp: *mut Irp) -> *mut *mut c_void {
    // SAFETY: a place inside the live IRP.
    unsafe { (*Irp::driver_context(irp)).as_mut_ptr().add(3) }
}

/// [`QueueOps::detach`] for IRPs: unlinks the IRP from the queue bookkeeping
/// (`DriverContext[3]`, its context's `Irp`).
///
/// # Safety
/// `irp` is live and its `DriverContext[3]` was set by this library; under the queue lock.
pub(crate) unsafe fn detach_irp(irp: *mut Irp) {
    // SAFETY: forwarded contract; a context is told apart from a queue by its `Type`.
    unsafe {
        let s = slot(irp);
        let p = *s;
        if !p.is_null() && *p.cast::<u32>() == IO_TYPE_CSQ_IRP_CONTEXT {
            (*p.cast::<IoCsqIrpContext>()).irp = ptr::null_mut();
        }
        *s = ptr::null_mut();
        super::coverage::csq_changed(irp, false);
    }
}

/// The queue an IRP's `DriverContext[3]` names.
///
/// # Safety
/// `irp` is live and was inserted by this library.
unsafe fn queue_of(irp: *mut Irp) -> *mut IoCsq {
    // SAFETY: forwarded contract.
    unsafe {
        let p = *slot(irp);
        if *p.cast::<u32>() == IO_TYPE_CSQ_IRP_CONTEXT {
            (*p.cast::<IoCsqIrpContext>()).csq
        } else {
            p.cast()
        }
    }
}

/// The library's cancel routine: releases the system cancel spin lock first, then under
/// the queue lock removes the IRP, then — lock released — CompleteCanceledIrp.
unsafe extern "system-unwind" fn csq_cancel_routine(_device: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: IoCancelIrp calls us with a live IRP that this library queued, holding the
    // cancel spin lock; winning the routine makes the IRP ours to remove and complete.
    unsafe {
        io_release_cancel_spin_lock((*irp).cancel_irql.load(crate::sync::atomic::Ordering::Relaxed));
        csq_core::cancel_won(&CsqCallbacks::of(queue_of(irp)), irp);
    }
}

/// `IoCsqInsertIrp`: queues the IRP as cancelable (see [`io_csq_insert_irp_ex`]).
///
/// # Safety
/// As [`io_csq_insert_irp_ex`].
pub unsafe fn io_csq_insert_irp(csq: *mut IoCsq, irp: *mut Irp, context: *mut IoCsqIrpContext) {
    // SAFETY: forwarded contract.
    unsafe { io_csq_insert_irp_ex(csq, irp, context, ptr::null_mut()) };
}

/// `IoCsqInsertIrpEx`: links IRP and `context`, calls the insert callback under the queue
/// lock; if it fails, returns its status with the IRP untouched (not pending, no cancel
/// routine, not linked). Otherwise marks the IRP pending and sets the library cancel
/// routine; if the IRP was already cancelled and this call takes the routine back, the
/// IRP is removed again and — after the lock is released — handed to
/// CompleteCanceledIrp. Returns `STATUS_SUCCESS`.
///
/// # Safety
/// `csq` is an initialised queue; `irp` is a live IRP owned by the caller (who gives it
/// up on success); `context` is null or a context that stays valid while the IRP is
/// queued; `DriverContext[3]` is not in use.
pub unsafe fn io_csq_insert_irp_ex(
    csq: *mut IoCsq,
    irp: *mut Irp,
    context: *mut IoCsqIrpContext,
    insert_context: *mut c_void,
) -> NtStatus {
    if csq.is_null() || irp.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: the caller's contract covers every pointer used below.
    unsafe {
        begin_insert(csq, irp, context);
        match csq_core::insert(&CsqCallbacks::of(csq), irp, insert_context) {
            Ok(()) => STATUS_SUCCESS,
            Err(status) => status,
        }
    }
}

/// What IoCsqInsertIrp(Ex) does before the protocol's insertion (a scheduling point, then
/// `DriverContext[3]` and the context linked to the queue); shared with the safe
/// [`CancelSafeIrpQueue`](crate::safe::CancelSafeIrpQueue), which then inserts through its own
/// [`QueueOps`].
///
/// # Safety
/// As [`io_csq_insert_irp_ex`], with non-null `csq` and `irp`.
pub(crate) unsafe fn begin_insert(csq: *mut IoCsq, irp: *mut Irp, context: *mut IoCsqIrpContext) {
    crate::nt::irp::sched_point("IoCsqInsertIrp", irp);
    // SAFETY: forwarded contract.
    unsafe {
        if context.is_null() {
            *slot(irp) = csq.cast();
        } else {
            (*context).type_ = IO_TYPE_CSQ_IRP_CONTEXT;
            (*context).irp = irp;
            (*context).csq = csq;
            *slot(irp) = context.cast();
        }
    }
}

/// `IoCsqRemoveIrp`: removes the IRP `context` names, unless it is gone or being
/// cancelled (then null, touching nothing).
///
/// # Safety
/// `csq` is an initialised queue; `context` was passed to [`io_csq_insert_irp_ex`] for it.
pub unsafe fn io_csq_remove_irp(csq: *mut IoCsq, context: *mut IoCsqIrpContext) -> *mut Irp {
    crate::sched::point("IoCsqRemoveIrp", None);
    // SAFETY: the caller's contract; the context's IRP is live while linked, which is read
    // under the queue lock.
    unsafe {
        let calls = CsqCallbacks::of(csq);
        csq_core::remove_entry(&calls, || Some((*context).irp).filter(|irp| !irp.is_null())).unwrap_or(ptr::null_mut())
    }
}

/// `IoCsqRemoveNextIrp`: removes and returns the first IRP matching `peek_context` (any
/// if null) that is not being cancelled — skipping those whose cancel routine is already
/// gone — or null.
///
/// # Safety
/// `csq` is an initialised queue.
pub unsafe fn io_csq_remove_next_irp(csq: *mut IoCsq, peek_context: *mut c_void) -> *mut Irp {
    crate::sched::point("IoCsqRemoveNextIrp", None);
    // SAFETY: the caller's contract; peeked IRPs are live while linked (under the lock).
    let calls = unsafe { CsqCallbacks::of(csq) };
    csq_core::remove_next(&calls, peek_context).unwrap_or(ptr::null_mut())
}

/// IoCsqRemoveNextIrp on a queue with its own [`QueueOps`] (the safe
/// [`CancelSafeIrpQueue`](crate::safe::CancelSafeIrpQueue)): the same scheduling point, then
/// the protocol's removal, as the owner.
pub(crate) fn remove_next_irp<Q: QueueOps<Entry = *mut Irp>>(q: &Q, peek: Q::Peek) -> Option<*mut Irp> {
    crate::sched::point("IoCsqRemoveNextIrp", None);
    csq_core::remove_next(q, peek)
}
