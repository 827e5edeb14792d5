//! Per-request timeouts: a kernel timer whose DPC cancels the request through the same
//! path as CancelIoEx.
//!
//! Locks: none of its own; the timer and DPC are the kernel's, changed under its DPC lock.

use super::*;

pub(super) struct TimeoutShared {
    pub(super) timer: UnsafeCell<nt::KTimer>,
    pub(super) dpc: UnsafeCell<nt::KDpc>,
    pub(super) process: Process,
    pub(super) handle: Handle,
    pub(super) overlapped: Overlapped,
    pub(super) fired: AtomicBool,
}

// SAFETY: the timer and DPC are changed by the kernel under its DPC lock; the rest is
// shared immutably or atomic.
unsafe impl Send for TimeoutShared {}
// SAFETY: as above.
unsafe impl Sync for TimeoutShared {}

pub(super) unsafe extern "system-unwind" fn timeout_dpc(
    _dpc: *mut nt::KDpc,
    context: *mut core::ffi::c_void,
    _a: *mut core::ffi::c_void,
    _b: *mut core::ffi::c_void,
) {
    // SAFETY: the context is the reference `Process::cancel_after` leaked for the DPC.
    let shared = unsafe { Arc::from_raw(context.cast::<TimeoutShared>().cast_const()) };
    shared.fired.store(true, Ordering::Release);
    shared.process.cancel_io_ex(shared.handle, Some(&shared.overlapped));
}

/// A per-request timeout: cancels the request (through the same path as CancelIoEx for
/// that one request) if it is still outstanding when the time is up. Dropping it disarms
/// it. It never completes the request itself.
pub struct RequestTimeout {
    pub(super) shared: Arc<TimeoutShared>,
}

impl core::fmt::Debug for RequestTimeout {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RequestTimeout").field("fired", &self.fired()).finish()
    }
}

impl RequestTimeout {
    /// Whether the time ran out (and cancellation was requested).
    pub fn fired(&self) -> bool {
        self.shared.fired.load(Ordering::Acquire)
    }
}

impl Drop for RequestTimeout {
    fn drop(&mut self) {
        let k = &self.shared.process.shared.kernel.shared;
        // SAFETY: the timer and DPC were initialised by `cancel_after` and live in
        // `shared`. If neither the timer nor the queued DPC is pending any more, the DPC
        // ran (or runs) and releases its own reference.
        unsafe {
            let armed = nt::dpc::cancel_timer_in(k, self.shared.timer.get());
            let queued = !armed && nt::dpc::remove_queue_dpc_in(k, self.shared.dpc.get());
            if armed || queued {
                drop(Arc::from_raw(Arc::as_ptr(&self.shared)));
            }
        }
    }
}

impl Process {
    /// Cancels the request using `overlapped` on `h` if it is still outstanding after
    /// `after` on the kernel's clock.
    pub fn cancel_after(&self, h: Handle, overlapped: &Overlapped, after: Duration) -> RequestTimeout {
        // Both are initialised again in place below, at their final (shared) address.
        let timer = nt::KTimer::new(nt::TimerType::Notification);
        // SAFETY: all-zero bytes are a valid image of the plain-data DPC (null pointers,
        // no routine; it holds no atomics).
        let dpc = unsafe { core::mem::zeroed::<nt::KDpc>() };
        let shared = Arc::new(TimeoutShared {
            timer: UnsafeCell::new(timer),
            dpc: UnsafeCell::new(dpc),
            process: self.clone(),
            handle: h,
            overlapped: overlapped.clone(),
            fired: AtomicBool::new(false),
        });
        let k = &self.shared.kernel.shared;
        let context = Arc::into_raw(shared.clone()).cast_mut().cast();
        // SAFETY: the timer and DPC live in `shared`, kept alive by the DPC's reference
        // until it runs or the timeout is dropped.
        unsafe {
            nt::ke_initialize_timer(shared.timer.get());
            nt::ke_initialize_dpc(shared.dpc.get(), timeout_dpc, context);
            nt::dpc::set_timer_in(k, shared.timer.get(), nt_interval(after), 0, shared.dpc.get());
        }
        RequestTimeout { shared }
    }
}
