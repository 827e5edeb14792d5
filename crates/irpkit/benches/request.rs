//! allocate → IoCallDriver → synchronous complete → deliver, per request, in steady
//! state: time and heap allocations (divan's allocation profiler counts them).
//!
//! Run: `cargo bench -p irpkit --bench request`

use std::hint::black_box;

use divan::{AllocProfiler, Bencher};
use irpkit::nt::*;
use irpkit::Kernel;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

unsafe extern "system-unwind" fn entry(_d: *mut DriverObject, _p: *mut UnicodeString) -> NtStatus {
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn complete_now(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 512 };
        io_complete_request(irp, 0);
    }
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn pass_down(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
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
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        if (*irp).pending_returned != 0 {
            io_mark_irp_pending(irp);
        }
    }
    STATUS_SUCCESS
}

fn device(kernel: &Kernel, name: &str, dispatch: DriverDispatch, ext: usize) -> *mut DeviceObject {
    let driver = kernel.load_driver(name, entry).unwrap();
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        (*driver).major_function = [Some(dispatch); IRP_MJ_COUNT];
        io_create_device(driver, ext, Some(name), 0x22, 0, false).unwrap()
    }
}

/// One device that completes every read at once; the status block is delivered.
#[divan::bench]
fn one_device(bencher: Bencher) {
    let kernel = Kernel::new();
    let _e = kernel.enter();
    let dev = device(&kernel, "Quick", complete_now, 0);
    let mut iosb = IoStatusBlock::default();
    let iosb_ptr: *mut IoStatusBlock = &mut iosb;
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    bencher.bench_local(|| unsafe {
        let irp = io_allocate_irp(1, false);
        (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
        (*irp).user_iosb = iosb_ptr;
        let status = io_call_driver(dev, irp);
        black_box((status, (*iosb_ptr).information))
    });
}

/// A filter with a completion routine above the same device (two stack locations).
#[divan::bench]
fn filter_over_device(bencher: Bencher) {
    let kernel = Kernel::new();
    let _e = kernel.enter();
    let bottom = device(&kernel, "Quick", complete_now, 0);
    let top = device(&kernel, "Filter", pass_down, 8);
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let lower = io_attach_device_to_device_stack(top, bottom);
        (*top).device_extension.cast::<*mut DeviceObject>().write(lower);
    }
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    let stack = unsafe { (*top).stack_size };
    let mut iosb = IoStatusBlock::default();
    let iosb_ptr: *mut IoStatusBlock = &mut iosb;
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    bencher.bench_local(|| unsafe {
        let irp = io_allocate_irp(stack, false);
        (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
        (*irp).user_iosb = iosb_ptr;
        let status = io_call_driver(top, irp);
        black_box((status, (*iosb_ptr).information))
    });
}

/// The same round trip through the safe API (`Request::send` + `wait`).
#[divan::bench]
fn safe_api(bencher: Bencher) {
    use irpkit::safe::{create_device, DeviceRef, Dispatched, Driver, Irp, Request};
    struct Quick;
    impl Driver for Quick {
        fn dispatch(&self, _d: &DeviceRef, irp: Irp) -> Dispatched {
            irp.complete(STATUS_SUCCESS, 512).into()
        }
    }
    let kernel = Kernel::new();
    let _e = kernel.enter();
    let dev = create_device(&kernel, "Quick", Quick).unwrap();
    bencher.bench_local(|| black_box(Request::read(&kernel, dev.device_ref(), 512, 0).unwrap().send().wait()));
}
