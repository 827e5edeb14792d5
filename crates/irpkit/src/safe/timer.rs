//! A device's timer with its DPC, in safe Rust: how a sample driver's "hardware" signals
//! the end of a transfer.
//!
//! # Invariants
//! - The `KTIMER` and `KDPC` live in one heap block that never moves and is reached only
//!   through raw pointers and `UnsafeCell`s (the kernel writes the DPC's queue fields
//!   while it is queued).
//! - The device and kernel the timer serves are written once, by the first
//!   [`set`](DeviceTimer::set), between a compare-exchange of `state` from `UNBOUND` to
//!   `BINDING` and a release store of `BOUND`; they are read only after an acquire load of
//!   `BOUND`. A second thread setting the timer meanwhile waits for `BOUND`.
//! - Drop cancels the timer (the kernel then no longer refers to it), takes the DPC off
//!   the queue and waits until no other thread is inside its routine; only then is the
//!   block freed. The kernel is held only weakly: a timer that outlives its kernel has
//!   nothing left to cancel.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::ptr::{self, NonNull};
use core::time::Duration;

use crate::nt::device_ref::DeviceRef;
use crate::nt::kernel::WeakKernel;
use crate::nt::{self, KDpc, KTimer};
use crate::sync::atomic::{AtomicU8, Ordering};

const UNBOUND: u8 = 0;
const BINDING: u8 = 1;
const BOUND: u8 = 2;

struct TimerState {
    timer: UnsafeCell<KTimer>,
    dpc: UnsafeCell<KDpc>,
    /// `UNBOUND`, `BINDING` or `BOUND` (see the module's invariants).
    state: AtomicU8,
    /// The device served, written once while binding.
    device: UnsafeCell<*mut nt::DeviceObject>,
    /// The device's kernel, written once while binding.
    kernel: UnsafeCell<Option<WeakKernel>>,
    callback: fn(&DeviceRef),
}

/// A `KTIMER` + `KDPC` pair: [`set`](Self::set) arms it for a device; when it expires its
/// callback runs as a DPC routine (DISPATCH_LEVEL) with the device.
///
/// Dropping it disarms it and waits until its callback is not running on another thread
/// (dropping it from inside its own callback does not wait). Dropping it from another
/// timer's callback while that one is waited for by this one's callback deadlocks, as
/// waiting at DISPATCH_LEVEL would.
pub struct DeviceTimer {
    inner: NonNull<TimerState>,
}

// SAFETY: every field of `TimerState` shared between threads is an atomic, is written once
// under the binding protocol (module invariants), is changed by the kernel under its DPC
// lock (timer, DPC), or is immutable (`callback`).
unsafe impl Send for DeviceTimer {}
// SAFETY: as above; `&DeviceTimer` only reaches `TimerState` through those fields.
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
    // SAFETY: the context is the `TimerState` of a bound `DeviceTimer`; its drop waits for this
    // routine to return (or, on this very thread, happens inside the callback, after
    // which nothing here touches `TimerState`). The device is live: a bound device's kernel
    // runs this DPC, so it still exists, and device memory lasts as long as its kernel.
    let (callback, device) = unsafe {
        let inner = context.cast::<TimerState>();
        ((*inner).callback, *(*inner).device.get())
    };
    // SAFETY: see above.
    callback(unsafe { DeviceRef::from_ptr(device) });
}

impl DeviceTimer {
    /// A disarmed timer whose DPC will call `callback`.
    pub fn new(callback: fn(&DeviceRef)) -> Self {
        // Both are initialised again, in place, on first `set`.
        let timer = KTimer::new(nt::TimerType::Notification);
        // SAFETY: all-zero bytes are a valid image of the plain-data DPC (null pointers,
        // no routine; it holds no atomics).
        let dpc = unsafe { core::mem::zeroed::<KDpc>() };
        let inner = Box::new(TimerState {
            timer: UnsafeCell::new(timer),
            dpc: UnsafeCell::new(dpc),
            state: AtomicU8::new(UNBOUND),
            device: UnsafeCell::new(ptr::null_mut()),
            kernel: UnsafeCell::new(None),
            callback,
        });
        DeviceTimer { inner: NonNull::from(Box::leak(inner)) }
    }

    fn inner(&self) -> &TimerState {
        // SAFETY: the block lives until drop; every field is an UnsafeCell, an atomic or
        // immutable, so a shared reference aliases no racing write.
        unsafe { self.inner.as_ref() }
    }

    /// The bound device and kernel, or `None` if the timer was never set.
    fn bound(&self) -> Option<(*mut nt::DeviceObject, &WeakKernel)> {
        let inner = self.inner();
        if inner.state.load(Ordering::Acquire) != BOUND {
            return None;
        }
        // SAFETY: written once before the release store of BOUND, which we acquired.
        unsafe { Some((*inner.device.get(), (*inner.kernel.get()).as_ref().expect("bound"))) }
    }

    /// Binds the timer to `device` on first use; waits for a concurrent first use.
    fn bind(&self, device: &DeviceRef) {
        let inner = self.inner();
        let mut i = 0u32;
        loop {
            match inner.state.compare_exchange(UNBOUND, BINDING, Ordering::Acquire, Ordering::Acquire) {
                Ok(_) => break,
                Err(BOUND) => return,
                Err(_) => {
                    crate::sync::spin_step(i);
                    i = i.wrapping_add(1);
                }
            }
        }
        // SAFETY: we won the binding: nobody else reads or writes these fields until the
        // release store below; the timer and DPC are not known to any kernel yet.
        unsafe {
            nt::ke_initialize_timer(inner.timer.get());
            nt::dpc::ke_initialize_dpc(inner.dpc.get(), dpc_trampoline, self.inner.as_ptr().cast());
            (*inner.dpc.get()).dpc_list_entry = (*device.as_ptr()).driver_object.cast();
            *inner.device.get() = device.as_ptr();
            *inner.kernel.get() = Some(nt::device::device_kernel(device.as_ptr()).downgrade());
        }
        inner.state.store(BOUND, Ordering::Release);
    }

    /// `KeSetTimer`: (re)arms the timer to run the callback for `device` after `delay`
    /// on the kernel's clock. Returns whether it was armed before.
    ///
    /// # Panics
    /// If the timer was armed for another device before.
    pub fn set(&self, device: &DeviceRef, delay: Duration) -> bool {
        self.bind(device);
        let (bound, _) = self.bound().expect("bound by `bind`");
        assert_eq!(bound, device.as_ptr(), "a DeviceTimer serves one device");
        // Relative times are negative; 0 is an absolute time already past: "now".
        let due = -i64::try_from(delay.as_nanos() / 100).unwrap_or(i64::MAX);
        let inner = self.inner();
        // SAFETY: `device` is borrowed, so its kernel lives; the timer and DPC were
        // initialised by `bind` and live until drop, which cancels the timer first.
        unsafe {
            let k = nt::device::device_kernel(device.as_ptr());
            nt::dpc::set_timer_in(k, inner.timer.get(), due, 0, inner.dpc.get())
        }
    }

    /// `KeCancelTimer`: disarms it; returns whether it was armed (never, once its kernel
    /// is gone).
    pub fn cancel(&self) -> bool {
        let Some((_, kernel)) = self.bound() else { return false };
        // SAFETY: an initialised timer of kernel `k`, which is held alive meanwhile.
        kernel.with(|k| unsafe { nt::dpc::cancel_timer_in(k, self.inner().timer.get()) }).unwrap_or(false)
    }
}

impl Drop for DeviceTimer {
    fn drop(&mut self) {
        if let Some((_, kernel)) = self.bound() {
            // A kernel that no longer exists runs no DPC and fires no timer: every thread
            // that does holds it.
            let inner = self.inner();
            kernel.with(|k| {
                // SAFETY: the timer and DPC are initialised; after the cancel and the
                // flush the kernel refers to neither and no routine uses `TimerState`.
                unsafe {
                    nt::dpc::cancel_timer_in(k, inner.timer.get());
                    nt::dpc::flush_dpc_in(k, inner.dpc.get());
                }
            });
        }
        // SAFETY: allocated by `new` with `Box`, and nothing refers to it any more.
        drop(unsafe { Box::from_raw(self.inner.as_ptr()) });
    }
}
