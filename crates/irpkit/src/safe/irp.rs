//! Owned IRPs and cancelable IRPs.

use core::ptr::NonNull;

use crate::nt::device_ref::DeviceRef;
use crate::nt::{self, NtStatus, STATUS_CANCELLED, STATUS_PENDING};
use crate::verifier::Rule;

/// An IRP owned by the driver holding it: it may read it, complete it, park it with a
/// cancel routine, or pass it down — each of which consumes it.
///
/// Dropping an `Irp` loses the request: that is reported as [`Rule::IrpLeaked`], and the
/// IRP is completed with `STATUS_CANCELLED` so that its requester is not left waiting.
#[derive(Debug)]
pub struct Irp {
    raw: NonNull<nt::Irp>,
}

// SAFETY: an `Irp` is the unique owner of its IRP; ownership may move between threads
// (NT processes IRPs on arbitrary threads).
unsafe impl Send for Irp {}

/// Proof that an IRP was completed: the value a dispatch routine returns after completing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    status: NtStatus,
}

impl Completed {
    /// The status the IRP was completed with.
    pub fn status(self) -> NtStatus {
        self.status
    }
}

/// Proof that `IoMarkIrpPending` was called: the only way to return `STATUS_PENDING`.
#[derive(Debug)]
#[must_use = "return it from the dispatch routine (Dispatched::from)"]
pub struct Pending(());

impl Pending {
    /// # Contract
    /// Only for routines that have just marked an IRP pending on the caller's behalf.
    pub(crate) fn new() -> Self {
        Pending(())
    }
}

/// What a dispatch routine returns: the status of a request it completed (or passed
/// down), or `STATUS_PENDING` backed by a [`Pending`] proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dispatched {
    status: NtStatus,
}

impl Dispatched {
    /// The status IoCallDriver returns to the caller.
    pub fn status(self) -> NtStatus {
        self.status
    }
}

impl From<Completed> for Dispatched {
    fn from(c: Completed) -> Self {
        Dispatched { status: c.status }
    }
}

impl From<Pending> for Dispatched {
    fn from(_: Pending) -> Self {
        Dispatched { status: STATUS_PENDING }
    }
}

impl Irp {
    /// Takes ownership of a raw IRP.
    ///
    /// # Safety
    /// The caller owns `raw` (it was given to a dispatch routine, or won the cancel
    /// routine exchange) and hands that ownership to the returned value.
    pub unsafe fn from_raw(raw: *mut nt::Irp) -> Self {
        Irp { raw: NonNull::new(raw).expect("Irp::from_raw: null IRP") }
    }

    /// Gives up ownership, returning the raw IRP.
    pub fn into_raw(self) -> *mut nt::Irp {
        let raw = self.raw.as_ptr();
        core::mem::forget(self);
        raw
    }

    /// The raw IRP (still owned by `self`).
    pub fn as_ptr(&self) -> *mut nt::Irp {
        self.raw.as_ptr()
    }

    /// irpkit's serial number of the IRP (`IRP #n`), or 0 for an IRP irpkit did not
    /// allocate.
    pub fn id(&self) -> u64 {
        // SAFETY: we own a live IRP.
        unsafe { crate::nt::irp::irp_id(self.as_ptr()) }.unwrap_or(0)
    }

    fn stack(&self) -> &nt::IoStackLocation {
        // SAFETY: we own a live IRP that was passed to a driver, so it has a current
        // stack location.
        unsafe { &*nt::io_get_current_irp_stack_location(self.as_ptr()) }
    }

    /// The current stack location's major function (`IRP_MJ_*`).
    pub fn major_function(&self) -> u8 {
        self.stack().major_function
    }

    /// `Parameters.Read.Length` of a read (or `Parameters.Write.Length` of a write).
    pub fn read_length(&self) -> Option<u32> {
        let sl = self.stack();
        matches!(sl.major_function, nt::IRP_MJ_READ | nt::IRP_MJ_WRITE).then(|| {
            // SAFETY: read and write share `ReadWriteParameters`.
            unsafe { sl.parameters.read.length }
        })
    }

    /// `Parameters.Read.ByteOffset` of a read (or `Parameters.Write.ByteOffset`).
    pub fn byte_offset(&self) -> Option<i64> {
        let sl = self.stack();
        matches!(sl.major_function, nt::IRP_MJ_READ | nt::IRP_MJ_WRITE).then(|| {
            // SAFETY: read and write share `ReadWriteParameters`.
            unsafe { sl.parameters.read.byte_offset }
        })
    }

    /// The device of the current stack location (the device this driver was called for).
    pub fn device(&self) -> Option<&DeviceRef> {
        let d = self.stack().device_object;
        // SAFETY: a device in a live IRP's stack location is a live irpkit device, for at
        // least as long as this borrow of the IRP.
        (!d.is_null()).then(|| unsafe { DeviceRef::from_ptr(d) })
    }

    /// The current stack location's file object (null if none).
    pub fn file_object(&self) -> *mut nt::FileObject {
        self.stack().file_object
    }

    /// `Irp->Cancel`: whether cancellation was requested.
    pub fn is_cancel_requested(&self) -> bool {
        // SAFETY: we own a live IRP.
        unsafe { (*self.as_ptr()).cancel.load(crate::sync::atomic::Ordering::Acquire) != 0 }
    }

    /// `IoMarkIrpPending`, returning the proof that lets a dispatch routine return
    /// `STATUS_PENDING`.
    pub fn mark_pending(&mut self) -> Pending {
        // SAFETY: we own a live IRP.
        unsafe { nt::io_mark_irp_pending(self.as_ptr()) };
        Pending(())
    }

    /// Sets `IoStatus` and calls `IoCompleteRequest`, consuming the IRP.
    pub fn complete(self, status: NtStatus, information: usize) -> Completed {
        let raw = self.into_raw();
        // SAFETY: we owned the IRP; its cancel routine is clear (an `Irp` exists only
        // while no cancel routine is set), and ownership ends here.
        unsafe {
            (*raw).io_status = nt::IoStatusBlock { status, information };
            nt::io_complete_request(raw, 0);
        }
        Completed { status }
    }

    /// Completes the IRP with `STATUS_CANCELLED` and `Information = 0`.
    pub fn complete_cancelled(self) -> Completed {
        self.complete(STATUS_CANCELLED, 0)
    }

    /// Passes the IRP to `lower` with this driver's own stack location
    /// (`IoSkipCurrentIrpStackLocation` + `IoCallDriver`), returning what it returns.
    pub fn forward(self, lower: &DeviceRef) -> Dispatched {
        let raw = self.into_raw();
        // SAFETY: we owned the IRP and hand it to the lower driver.
        let status = unsafe {
            nt::io_skip_current_irp_stack_location(raw);
            nt::io_call_driver(lower.as_ptr(), raw)
        };
        Dispatched { status }
    }
}

impl Drop for Irp {
    fn drop(&mut self) {
        let raw = self.raw.as_ptr();
        if !std::thread::panicking() {
            // SAFETY: we own a live IRP.
            unsafe {
                crate::nt::irp::with_irp_kernel(raw, "Irp::drop", |k| {
                    k.report(
                        Rule::IrpLeaked,
                        "Irp::drop",
                        raw,
                        "a safe Irp was dropped without being completed, parked or passed on; it is completed with STATUS_CANCELLED".to_string(),
                    )
                })
            };
        }
        // SAFETY: we own the IRP; completing it keeps the request from being lost.
        unsafe {
            (*raw).io_status = nt::IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
            nt::io_complete_request(raw, 0);
        }
    }
}

/// An IRP parked with a cancel routine. It cannot be completed: to take the IRP back,
/// [`clear_cancel_routine`](Self::clear_cancel_routine); if that returns `None`, the
/// cancel routine owns the IRP and completes it.
///
/// The token pins the IRP's memory, so it stays safe to hold after the cancel routine
/// completed the IRP: dropping a stale token is harmless.
#[derive(Debug)]
pub struct CancelableIrp {
    pub(super) raw: NonNull<nt::Irp>,
    pub(super) file: *mut nt::FileObject,
}

// SAFETY: the token only performs atomic operations on pinned memory; the file object
// pointer is only compared.
unsafe impl Send for CancelableIrp {}
// SAFETY: as above.
unsafe impl Sync for CancelableIrp {}

impl CancelableIrp {
    /// irpkit's serial number of the IRP.
    pub fn id(&self) -> u64 {
        // SAFETY: pinned IRP memory.
        unsafe { crate::nt::irp::irp_id(self.raw.as_ptr()) }.unwrap_or(0)
    }

    /// The raw IRP (for identity comparisons; not owned).
    pub fn as_ptr(&self) -> *mut nt::Irp {
        self.raw.as_ptr()
    }

    /// The file object of the IRP's stack location when it was parked (for comparisons:
    /// IRP_MJ_CLEANUP cancels the requests of one file object).
    pub fn file_object(&self) -> *mut nt::FileObject {
        self.file
    }

    /// `IoSetCancelRoutine(Irp, NULL)`: `Some(irp)` if this call took the routine back (the
    /// caller owns the IRP again), `None` if IoCancelIrp took it first (the cancel routine
    /// owns the IRP; leave it alone).
    pub fn clear_cancel_routine(self) -> Option<Irp> {
        let raw = self.raw.as_ptr();
        // SAFETY: pinned IRP memory; the slot is atomic.
        let won = unsafe { nt::io_set_cancel_routine(raw, None) }.is_some()
            // SAFETY: pinned IRP memory.
            && !unsafe { crate::nt::irp::is_freed(raw) };
        drop(self);
        // SAFETY: winning the exchange transfers ownership to us.
        won.then(|| unsafe { Irp::from_raw(raw) })
    }
}

impl Drop for CancelableIrp {
    fn drop(&mut self) {
        // SAFETY: the token holds one pin.
        unsafe { crate::nt::irp::unpin(self.raw.as_ptr()) };
    }
}
