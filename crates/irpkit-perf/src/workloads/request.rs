//! The request path: allocate → IoCallDriver → synchronous complete → deliver, one request
//! per step, through the NT layer and the safe API; and its peers, a cancellable request
//! completed at once written with tokio (`CancellationToken` + `oneshot`) and with
//! crossbeam-channel (a `bounded(1)` reply channel).
//!
//! Shared by `crates/irpkit-perf/benches/request.rs` (divan) and the `irpkit-perf` report, so
//! both measure the same code. Each irpkit workload's `step` runs with its kernel entered
//! (`kernel().enter()`).

use std::hint::black_box;
use std::sync::atomic::Ordering;

use irpkit::nt::*;
use irpkit::safe::{create_device, Device, DeviceRef, Dispatched, Driver, Irp as SafeIrp, Request};
use irpkit::Kernel;

/// A DriverEntry that does nothing (the workloads set their routines after loading).
pub(crate) unsafe extern "system-unwind" fn entry(_d: *mut DriverObject, _p: *mut UnicodeString) -> NtStatus {
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn complete_now(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract: a live IRP the routine owns until it completes it.
    unsafe {
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 512 };
        io_complete_request(irp, 0);
    }
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn pass_down(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract; the extension holds the lower device, written at setup.
    unsafe {
        io_copy_current_irp_stack_location_to_next(irp);
        io_set_completion_routine(irp, Some(on_complete), std::ptr::null_mut(), true, true, true);
        let lower = (*d).device_extension.cast::<*mut DeviceObject>().read();
        io_call_driver(lower, irp)
    }
}

unsafe extern "system-unwind" fn on_complete(
    _d: *mut DeviceObject,
    irp: *mut Irp,
    _c: *mut std::ffi::c_void,
) -> NtStatus {
    // SAFETY: the completion contract: the IRP is live during its completion walk.
    unsafe {
        if (*irp).pending_returned != 0 {
            io_mark_irp_pending(irp);
        }
    }
    STATUS_SUCCESS
}

/// Sends a fresh one-location `IRP_MJ_READ` whose status goes to `iosb` to `dev`
/// (IoAllocateIrp, IoCallDriver); returns what IoCallDriver returned. The I/O manager
/// frees the IRP once it has completed.
///
/// # Safety
/// `dev` is a live device of the entered kernel; `iosb` is valid for writes until the
/// request has completed.
pub(crate) unsafe fn send_read(dev: *mut DeviceObject, iosb: *mut IoStatusBlock) -> NtStatus {
    // SAFETY: a fresh IRP, ours until IoCallDriver hands it to the live `dev`; the caller
    // keeps `iosb` valid for the completion's write.
    unsafe {
        let irp = io_allocate_irp(1, false);
        (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
        (*irp).user_iosb = iosb;
        io_call_driver(dev, irp)
    }
}

fn device(kernel: &Kernel, name: &str, dispatch: DriverDispatch, ext: usize) -> *mut DeviceObject {
    let driver = kernel.load_driver(name, entry).unwrap();
    // SAFETY: a fresh driver object of this kernel.
    unsafe {
        (*driver).major_function = [Some(dispatch); IRP_MJ_COUNT];
        io_create_device(driver, ext, Some(name), 0x22, 0, false).unwrap()
    }
}

/// One device that completes every read at once; the status block is delivered.
pub struct OneDevice {
    kernel: Kernel,
    dev: *mut DeviceObject,
    iosb: Box<IoStatusBlock>,
}

impl OneDevice {
    /// A kernel with the device.
    pub fn new() -> Self {
        let kernel = Kernel::new();
        let _e = kernel.enter();
        let dev = device(&kernel, "Quick", complete_now, 0);
        OneDevice { kernel, dev, iosb: Box::default() }
    }

    /// The kernel to enter around [`step`](Self::step).
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// One request: IoAllocateIrp, IoCallDriver, completion, delivery, free.
    pub fn step(&mut self) {
        let iosb: *mut IoStatusBlock = &mut *self.iosb;
        // SAFETY: a live device of this workload's kernel; the status block is boxed in
        // `self` and outlives the request.
        unsafe {
            let status = send_read(self.dev, iosb);
            black_box((status, (*iosb).information));
        }
    }
}

impl Default for OneDevice {
    fn default() -> Self {
        Self::new()
    }
}

/// A filter with a completion routine above the same device (two stack locations).
pub struct FilterOverDevice {
    kernel: Kernel,
    top: *mut DeviceObject,
    stack: i8,
    iosb: Box<IoStatusBlock>,
}

impl FilterOverDevice {
    /// A kernel with the device and its filter.
    pub fn new() -> Self {
        let kernel = Kernel::new();
        let _e = kernel.enter();
        let bottom = device(&kernel, "Quick", complete_now, 0);
        let top = device(&kernel, "Filter", pass_down, 8);
        // SAFETY: live devices of this kernel; the filter's extension has room for a pointer.
        let stack = unsafe {
            let lower = io_attach_device_to_device_stack(top, bottom);
            (*top).device_extension.cast::<*mut DeviceObject>().write(lower);
            (*top).stack_size.load(Ordering::Relaxed)
        };
        FilterOverDevice { kernel, top, stack, iosb: Box::default() }
    }

    /// The kernel to enter around [`step`](Self::step).
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// One request through the filter to the device and back up its completion routine.
    pub fn step(&mut self) {
        let iosb: *mut IoStatusBlock = &mut *self.iosb;
        // SAFETY: a fresh IRP for a live device stack; the status block outlives it.
        unsafe {
            let irp = io_allocate_irp(self.stack, false);
            (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
            (*irp).user_iosb = iosb;
            let status = io_call_driver(self.top, irp);
            black_box((status, (*iosb).information));
        }
    }
}

impl Default for FilterOverDevice {
    fn default() -> Self {
        Self::new()
    }
}

struct Quick;
impl Driver for Quick {
    fn dispatch(&self, _d: &DeviceRef, irp: SafeIrp) -> Dispatched {
        irp.complete(STATUS_SUCCESS, 512).into()
    }
}

/// The same round trip through the safe API (`Request::read` → `send` → `wait`).
pub struct SafeApi {
    kernel: Kernel,
    dev: Device<Quick>,
}

impl SafeApi {
    /// A kernel with a safe-API device that completes every read at once.
    pub fn new() -> Self {
        let kernel = Kernel::new();
        let _e = kernel.enter();
        let dev = create_device(&kernel, "Quick", Quick).unwrap();
        SafeApi { kernel, dev }
    }

    /// The kernel to enter around [`step`](Self::step).
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// One request, waited for.
    pub fn step(&mut self) {
        black_box(Request::read(&self.kernel, self.dev.device_ref(), 512, 0).unwrap().send().wait());
    }
}

impl Default for SafeApi {
    fn default() -> Self {
        Self::new()
    }
}

/// The peer a Rust service would write for one cancellable request completed at once:
/// a fresh `CancellationToken` and `oneshot` per request; the server checks the token
/// and replies, the requester receives the reply.
pub fn tokio_token_oneshot_step() {
    use tokio::sync::oneshot;
    use tokio_util::sync::CancellationToken;
    let token = CancellationToken::new();
    let (reply, result) = oneshot::channel::<(i32, usize)>();
    let served = black_box(token.clone());
    let status = if served.is_cancelled() { STATUS_CANCELLED } else { STATUS_SUCCESS };
    reply.send((status, 512)).unwrap();
    let mut result = result;
    black_box(result.try_recv().unwrap());
    drop(token);
}
