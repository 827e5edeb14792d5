//! Requests from their creator's side: build, send, cancel, wait.

//!
//! The protocol between the creator's completion routine and its handle is the NT
//! layer's (`nt::creator`); these types give it an owner.

use core::ptr::NonNull;
use core::time::Duration;

use crate::nt::device_ref::DeviceRef;
use crate::nt::kernel::Kernel;
use crate::nt::{self, creator, IoStatusBlock, NtStatus};
use crate::sync::atomic::Ordering;

/// A request being built by its creator: an IRP with the target's stack size whose next
/// stack location describes the operation.
#[derive(Debug)]
pub struct Request {
    raw: NonNull<nt::Irp>,
    target: NonNull<nt::DeviceObject>,
    kernel: Kernel,
}

// SAFETY: the creator owns the unsent IRP exclusively.
unsafe impl Send for Request {}

impl Request {
    /// A request with major function `major` for `device`.
    pub fn new(kernel: &Kernel, device: &DeviceRef, major: u8) -> Result<Self, NtStatus> {
        // SAFETY: a `DeviceRef` is a live irpkit device.
        let raw = unsafe { creator::allocate(kernel, device.as_ptr(), major) }.ok_or(nt::STATUS_INVALID_PARAMETER)?;
        let raw = NonNull::new(raw).expect("non-null");
        Ok(Request { raw, target: NonNull::new(device.as_ptr()).expect("device"), kernel: kernel.clone() })
    }

    /// An `IRP_MJ_READ` of `length` bytes at `offset`.
    pub fn read(kernel: &Kernel, device: &DeviceRef, length: u32, offset: i64) -> Result<Self, NtStatus> {
        let r = Self::new(kernel, device, nt::IRP_MJ_READ)?;
        // SAFETY: our IRP's next location, now a read.
        unsafe {
            let sl = nt::io_get_next_irp_stack_location(r.raw.as_ptr());
            (*sl).parameters.read = nt::ReadWriteParameters { length, pad: 0, key: 0, flags: 0, byte_offset: offset };
        }
        Ok(r)
    }

    /// Sets the file object of the request's first stack location (the file the request
    /// is for: IRP_MJ_CLEANUP and per-file queues match on it). Only compared, never read.
    pub fn file_object(self, file: *mut nt::FileObject) -> Self {
        // SAFETY: our unsent IRP's next location.
        unsafe { (*nt::io_get_next_irp_stack_location(self.raw.as_ptr())).file_object = file };
        self
    }

    /// The IRP's serial number.
    pub fn id(&self) -> u64 {
        // SAFETY: our live IRP.
        unsafe { crate::nt::irp::irp_id(self.raw.as_ptr()) }.unwrap_or(0)
    }

    /// The raw IRP (still owned by the request), for setting further parameters.
    pub fn as_ptr(&self) -> *mut nt::Irp {
        self.raw.as_ptr()
    }

    /// Sends the request (`IoCallDriver`) with the creator's completion routine, which
    /// takes the IRP back when it completes.
    pub fn send(self) -> SentRequest {
        // Not dropped (that would free the IRP): its parts move out, the kernel handle
        // once (a clone and a `forget` leaked one kernel reference per request).
        let this = core::mem::ManuallyDrop::new(self);
        let raw = this.raw.as_ptr();
        let target = this.target.as_ptr();
        // SAFETY: `this` is never dropped nor used again, so the handle is moved out of it
        // exactly once.
        let kernel = unsafe { core::ptr::read(&this.kernel) };
        let _entered = kernel.enter();
        // SAFETY: our fresh IRP, sent once; the target is a live device of its kernel.
        let status = unsafe { creator::send(raw, target) };
        SentRequest { raw: NonNull::new(raw).expect("non-null"), kernel, dispatch_status: status }
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        // SAFETY: an unsent IRP we own.
        unsafe { nt::io_free_irp(self.raw.as_ptr()) };
    }
}

/// A sent request, held by its creator: the only handle that can cancel it.
#[derive(Debug)]
pub struct SentRequest {
    raw: NonNull<nt::Irp>,
    kernel: Kernel,
    dispatch_status: NtStatus,
}

// SAFETY: the handle uses only atomics and IoCancelIrp, which are thread-safe.
unsafe impl Send for SentRequest {}
// SAFETY: as above.
unsafe impl Sync for SentRequest {}

impl SentRequest {
    fn header(&self) -> *mut crate::nt::irp::IrpHeader {
        // SAFETY: our irpkit IRP, not freed while this handle lives.
        unsafe { crate::nt::irp::header(self.raw.as_ptr()) }.expect("irpkit IRP")
    }

    /// The IRP's serial number.
    pub fn id(&self) -> u64 {
        // SAFETY: valid header.
        unsafe { (*self.header()).id.load(Ordering::Relaxed) }
    }

    /// What the dispatch routine returned (`STATUS_PENDING` if the request pended).
    pub fn dispatch_status(&self) -> NtStatus {
        self.dispatch_status
    }

    /// `IoCancelIrp` on the request, as its creator. True means a cancel routine was
    /// called — not that the request will end cancelled.
    pub fn cancel(&self) -> bool {
        let _entered = self.kernel.enter();
        // SAFETY: the IRP is not freed while this handle lives (completion hands it back
        // to us); cancelling a completed IRP that has no cancel routine is harmless.
        unsafe { nt::io_cancel_irp(self.raw.as_ptr()) }
    }

    /// The final status if the request has completed.
    pub fn try_result(&self) -> Option<IoStatusBlock> {
        // SAFETY: our sent IRP, not released while this handle lives.
        unsafe { creator::result(self.raw.as_ptr()) }
    }

    /// Waits for completion and returns the final status.
    pub fn wait(self) -> IoStatusBlock {
        self.wait_timeout(None).unwrap_or_else(|s| s.wait())
    }

    /// Waits up to `timeout` (on the kernel's clock) for completion.
    pub fn wait_timeout(self, timeout: Option<Duration>) -> Result<IoStatusBlock, SentRequest> {
        let _entered = self.kernel.enter();
        // SAFETY: our sent IRP, not released while this handle lives; the kernel is entered.
        unsafe { creator::wait(self.raw.as_ptr(), timeout) }.ok_or(self)
    }
}

impl Drop for SentRequest {
    fn drop(&mut self) {
        // SAFETY: our sent IRP of this kernel, released once (here), never used again.
        unsafe { creator::release(&self.kernel, self.raw.as_ptr()) };
    }
}
