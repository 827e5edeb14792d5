//! A device's timer with its DPC, in safe Rust: how a sample driver's "hardware" signals
//! the end of a transfer.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::ptr;
use core::time::Duration;

use super::device::DeviceRef;
use crate::nt::{self, KDpc, KTimer};

struct Inner {
    timer: KTimer,
    dpc: KDpc,
    device: *mut nt::DeviceObject,
    callback: fn(&DeviceRef),
    initialized: bool,
}

/// A `KTIMER` + `KDPC` pair: [`set`](Self::set) arms it for a device; when it expires its
/// callback runs as a DPC routine (DISPATCH_LEVEL) with the device.
pub struct DeviceTimer {
    inner: Box<UnsafeCell<Inner>>,
}

// SAFETY: the timer and DPC are changed by the kernel under its DPC lock; `device` and
// `callback` are written only while the timer is disarmed and not queued (first `set`).
unsafe impl Send for DeviceTimer {}
// SAFETY: as above.
unsafe impl Sync for DeviceTimer {}

impl core::fmt::Debug for DeviceTimer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeviceTimer").finish_non_exhaustive()
    }
}

unsafe extern "system-unwind" fn dpc_trampoline(
    _dpc: *mut KDpc,
    context: *mut c_void,
    _a: *mut c_void,
    _b: *mut c_void,
) {
    // SAFETY: the context is the `Inner` of a live `DeviceTimer` (dropping it cancels
    // the timer and dequeues the DPC), whose device is live.
    unsafe {
        let inner = &*context.cast::<Inner>();
        (inner.callback)(DeviceRef::from_ptr(inner.device));
    }
}

impl DeviceTimer {
    /// A disarmed timer whose DPC will call `callback`.
    pub fn new(callback: fn(&DeviceRef)) -> Self {
        // SAFETY: all-zero bytes are a valid image of the plain-data timer and DPC (null
        // pointers, no routine); both are initialised properly on first `set`.
        let (timer, dpc) = unsafe { (core::mem::zeroed::<KTimer>(), core::mem::zeroed::<KDpc>()) };
        DeviceTimer {
            inner: Box::new(UnsafeCell::new(Inner {
                timer,
                dpc,
                device: ptr::null_mut(),
                callback,
                initialized: false,
            })),
        }
    }

    /// `KeSetTimer`: (re)arms the timer to run the callback for `device` after `delay`
    /// on the kernel's clock. Returns whether it was armed before.
    ///
    /// # Panics
    /// If the timer was armed for another device before.
    pub fn set(&self, device: &DeviceRef, delay: Duration) -> bool {
        let inner = self.inner.get();
        // SAFETY: first use initialises the timer and DPC in place (stable: boxed); later
        // uses only re-arm through the kernel, which serialises under its DPC lock.
        unsafe {
            if !(*inner).initialized {
                nt::ke_initialize_timer(&raw mut (*inner).timer);
                nt::dpc::ke_initialize_dpc(&raw mut (*inner).dpc, dpc_trampoline, inner.cast());
                (*inner).dpc.dpc_list_entry = (*device.as_ptr()).driver_object.cast();
                (*inner).device = device.as_ptr();
                (*inner).initialized = true;
            }
            assert_eq!((*inner).device, device.as_ptr(), "a DeviceTimer serves one device");
            // Relative times are negative; 0 is an absolute time already past: "now".
            let due = -i64::try_from(delay.as_nanos() / 100).unwrap_or(i64::MAX);
            let k = nt::device::device_kernel(device.as_ptr());
            nt::dpc::set_timer_in(k, &raw mut (*inner).timer, due, 0, &raw mut (*inner).dpc)
        }
    }

    /// `KeCancelTimer`: disarms it; returns whether it was armed.
    pub fn cancel(&self) -> bool {
        let inner = self.inner.get();
        // SAFETY: see `set`; an uninitialised timer is simply not armed.
        unsafe {
            if !(*inner).initialized {
                return false;
            }
            let k = nt::device::device_kernel((*inner).device);
            nt::dpc::cancel_timer_in(k, &raw mut (*inner).timer)
        }
    }
}

impl Drop for DeviceTimer {
    fn drop(&mut self) {
        let inner = self.inner.get();
        // SAFETY: see `set`: disarm and dequeue so the kernel forgets the memory.
        unsafe {
            if (*inner).initialized {
                let k = nt::device::device_kernel((*inner).device);
                nt::dpc::cancel_timer_in(k, &raw mut (*inner).timer);
                nt::dpc::remove_queue_dpc_in(k, &raw mut (*inner).dpc);
            }
        }
    }
}
