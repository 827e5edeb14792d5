//! In steady state a request does not touch the heap: allocate → IoCallDriver →
//! synchronous complete → deliver → free, through the NT layer and the safe API.
//!
//! This binary has its own counting allocator and a single test, so nothing else
//! allocates while it counts.
#![cfg(not(any(loom, shuttle)))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use irpkit::nt::*;
use irpkit::safe::{create_device, DeviceRef, Dispatched, Driver, Irp as SafeIrp, Request};
use irpkit::Kernel;

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

unsafe extern "system-unwind" fn entry(_d: *mut DriverObject, _p: *mut UnicodeString) -> NtStatus {
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn complete_now(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract.
    unsafe {
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 512 };
        io_complete_request(irp, 0);
    }
    STATUS_SUCCESS
}

struct Quick;
impl Driver for Quick {
    fn dispatch(&self, _d: &DeviceRef, irp: SafeIrp) -> Dispatched {
        irp.complete(STATUS_SUCCESS, 512).into()
    }
}

fn allocations_during(n: usize, mut f: impl FnMut()) -> usize {
    for _ in 0..100 {
        f(); // warm up: the pool's free lists reach their steady size
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..n {
        f();
    }
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

#[test]
fn zero_heap_allocations_per_request_in_steady_state() {
    let kernel = Kernel::new();
    let _e = kernel.enter();
    let driver = kernel.load_driver("Quick", entry).unwrap();
    // SAFETY: a fresh driver object owned by the test.
    let dev = unsafe {
        (*driver).major_function = [Some(complete_now); IRP_MJ_COUNT];
        io_create_device(driver, 0, Some("Quick"), 0x22, 0, false).unwrap()
    };
    let mut iosb = IoStatusBlock::default();
    let iosb_ptr: *mut IoStatusBlock = &mut iosb;
    let nt = allocations_during(10_000, || {
        // SAFETY: a fresh IRP sent to a live device; the status block outlives it.
        unsafe {
            let irp = io_allocate_irp(1, false);
            (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
            (*irp).user_iosb = iosb_ptr;
            assert_eq!(io_call_driver(dev, irp), STATUS_SUCCESS);
        }
    });
    assert_eq!(iosb, IoStatusBlock { status: STATUS_SUCCESS, information: 512 });
    assert_eq!(nt, 0, "NT layer: heap allocations in 10 000 requests");

    let safe_dev = create_device(&kernel, "SafeQuick", Quick).unwrap();
    let safe = allocations_during(10_000, || {
        let r = Request::read(&kernel, safe_dev.device_ref(), 512, 0).unwrap().send().wait();
        assert_eq!(r.information, 512);
    });
    assert_eq!(safe, 0, "safe API: heap allocations in 10 000 requests");
    assert_eq!(kernel.irps_outstanding(), 0);
    assert!(ALLOCATIONS.load(Ordering::Relaxed) > 0, "the counter does count (setup allocated)");
}
