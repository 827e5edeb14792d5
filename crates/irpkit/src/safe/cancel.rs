//! Cancel routines in safe Rust: the cancel spin lock as a guard that must be released.

use core::marker::PhantomData;
use core::ptr::NonNull;

use super::irp::{CancelableIrp, Completed, Irp};
use crate::nt::device_ref::DeviceRef;
use crate::nt::{self, NtStatus, STATUS_CANCELLED};

/// Invariant lifetime marker: `'a` is the one cancel-routine call.
type Brand<'a> = PhantomData<fn(&'a ()) -> &'a ()>;

/// A cancel routine. `cancel` is called by IoCancelIrp with the cancel spin lock held
/// (at DISPATCH_LEVEL), after it won the IRP from the driver.
///
/// Contract (enforced by the types): the routine must return the
/// [`CancelLockReleased`] proof, which only [`CancelRoutineLock::release`] of the guard it
/// was given produces; completing the cancelled IRP needs that proof, so it happens after
/// the lock is released.
///
/// The routine must not block. If the IRP is not completed here, another path must own
/// it (as for the `CurrentIrp` of a StartIo driver): dropping the [`CancelIrp`] says so.
pub trait CancelRoutine: 'static {
    /// Cancels `irp`.
    fn cancel<'a>(device: &DeviceRef, irp: CancelIrp<'a>, lock: CancelRoutineLock<'a>) -> CancelLockReleased<'a>;
}

/// The cancel spin lock, held on entry to a cancel routine. Releasing it (with
/// `Irp->CancelIrql`, always the right IRQL) yields the proof the routine returns.
/// Dropping it also releases it.
#[derive(Debug)]
pub struct CancelRoutineLock<'a> {
    irql: nt::KIrql,
    released: bool,
    _brand: Brand<'a>,
    _not_send: PhantomData<*const ()>,
}

/// Proof that the cancel spin lock a cancel routine was given has been released.
#[derive(Debug)]
pub struct CancelLockReleased<'a> {
    _brand: Brand<'a>,
}

impl<'a> CancelRoutineLock<'a> {
    /// The guard a cancel routine is given.
    ///
    /// # Safety
    /// The calling thread holds the cancel spin lock, acquired at `irql` (`CancelIrql`).
    pub(crate) unsafe fn new(irql: nt::KIrql) -> Self {
        CancelRoutineLock { irql, released: false, _brand: PhantomData, _not_send: PhantomData }
    }

    /// `IoReleaseCancelSpinLock(Irp->CancelIrql)`.
    pub fn release(mut self) -> CancelLockReleased<'a> {
        self.released = true;
        // SAFETY: the guard stands for the cancel spin lock this thread was given (the
        // cancel routine was entered holding it); consuming the guard ends the proof.
        unsafe { nt::io_release_cancel_spin_lock(self.irql) };
        CancelLockReleased { _brand: PhantomData }
    }
}

impl Drop for CancelRoutineLock<'_> {
    fn drop(&mut self) {
        if !self.released {
            // SAFETY: as in `release`: the guard's own lock, and the guard ends here.
            unsafe { nt::io_release_cancel_spin_lock(self.irql) };
        }
    }
}

/// The IRP a cancel routine was called for. The cancel routine owns it: it may complete
/// it (after releasing the lock) or hand it on as an [`Irp`]; dropping it means another
/// path owns the IRP and will complete it.
#[derive(Debug)]
pub struct CancelIrp<'a> {
    raw: NonNull<nt::Irp>,
    _brand: Brand<'a>,
}

impl<'a> CancelIrp<'a> {
    /// # Safety
    /// The cancel routine owns `raw` (IoCancelIrp won its routine, and no other path will
    /// complete it).
    pub(crate) unsafe fn new(raw: *mut nt::Irp) -> Self {
        CancelIrp { raw: NonNull::new(raw).expect("an IRP"), _brand: PhantomData }
    }

    /// The raw IRP (for identity comparisons).
    pub fn as_ptr(&self) -> *mut nt::Irp {
        self.raw.as_ptr()
    }

    /// irpkit's serial number of the IRP.
    pub fn id(&self) -> u64 {
        // SAFETY: the cancel routine's IRP is live during the call.
        unsafe { crate::nt::irp::irp_id(self.as_ptr()) }.unwrap_or(0)
    }

    /// Takes the IRP as an owned [`Irp`] (after the lock is released).
    pub fn into_irp(self, _released: &CancelLockReleased<'a>) -> Irp {
        // SAFETY: IoCancelIrp won the exchange for this routine: it owns the IRP.
        unsafe { Irp::from_raw(self.raw.as_ptr()) }
    }

    /// Completes the IRP with `status` (after the lock is released).
    pub fn complete(self, status: NtStatus, information: usize, released: &CancelLockReleased<'a>) -> Completed {
        self.into_irp(released).complete(status, information)
    }

    /// Completes the IRP with `STATUS_CANCELLED` / 0 (after the lock is released).
    pub fn complete_cancelled(self, released: &CancelLockReleased<'a>) -> Completed {
        self.complete(STATUS_CANCELLED, 0, released)
    }
}

/// The NT cancel routine installed for `C`.
pub(crate) unsafe extern "system-unwind" fn cancel_trampoline<C: CancelRoutine>(
    device: *mut nt::DeviceObject,
    irp: *mut nt::Irp,
) {
    // SAFETY: IoCancelIrp calls us with a live IRP it won, holding the cancel lock with
    // `CancelIrql` saved.
    let irql = unsafe { (*irp).cancel_irql.load(crate::sync::atomic::Ordering::Relaxed) };
    let guard = CancelRoutineLock { irql, released: false, _brand: PhantomData, _not_send: PhantomData };
    let irp = CancelIrp { raw: NonNull::new(irp).expect("IoCancelIrp passes an IRP"), _brand: PhantomData };
    assert!(!device.is_null(), "a safe cancel routine was called for an IRP that was never sent to a device");
    // SAFETY: `device` is the live device of the IRP's current stack location.
    let device = unsafe { DeviceRef::from_ptr(device) };
    let _released: CancelLockReleased<'_> = C::cancel(device, irp, guard);
}

/// Parking an IRP with a cancel routine.
impl Irp {
    /// Parks the IRP with cancel routine `C` (`IoSetCancelRoutine`), then checks
    /// `Irp->Cancel` as the documentation requires.
    ///
    /// - `Ok(CancelableIrp)`: the IRP is cancelable; keep the token and later
    ///   [`clear_cancel_routine`](CancelableIrp::clear_cancel_routine) to take it back.
    ///   (If IoCancelIrp slipped in right after, the token's clear returns `None` and the
    ///   cancel routine completes the IRP.)
    /// - `Err(Irp)`: the IRP was already cancelled and the routine was taken back here:
    ///   complete it (normally with [`Irp::complete_cancelled`]).
    pub fn set_cancel_routine<C: CancelRoutine>(self) -> Result<CancelableIrp, Irp> {
        let raw = self.as_ptr();
        // SAFETY: we own a live irpkit-or-not IRP; pinning needs an irpkit IRP, checked.
        let irpkit = unsafe { crate::nt::irp::header(raw) }.is_some();
        assert!(irpkit, "the safe API parks only IRPs allocated by irpkit");
        let file = self.file_object();
        // SAFETY: we own the IRP. Pinned before the routine is published: from then on a
        // cancel may complete it at any moment, and the pin keeps the block from being
        // freed or reused while the token lives.
        unsafe { crate::nt::irp::pin(raw) };
        // SAFETY: we own the IRP; the slot is atomic.
        unsafe { nt::io_set_cancel_routine(raw, Some(cancel_trampoline::<C>)) };
        if self.is_cancel_requested() {
            // SAFETY: as above.
            if unsafe { nt::io_set_cancel_routine(raw, None) }.is_some() {
                // SAFETY: ours again; the pin taken above.
                unsafe { crate::nt::irp::unpin(raw) };
                return Err(self);
            }
        }
        core::mem::forget(self);
        Ok(CancelableIrp { raw: NonNull::new(raw).expect("non-null"), file })
    }
}
