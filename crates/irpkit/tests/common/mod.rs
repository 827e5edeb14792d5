//! Helpers shared by the integration tests: a kernel with one raw (NT-layer) driver and
//! device, and an observation record that routines reach through the IRP.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicU8, Ordering};
use std::sync::Mutex;

use irpkit::nt::*;
use irpkit::verifier::VerifierMode;
use irpkit::{EnterGuard, Kernel};

pub mod csq;

/// Runs a loom model, bounded to `preemptions` unless `LOOM_MAX_PREEMPTIONS` says
/// otherwise (99 explores every interleaving).
#[cfg(loom)]
pub fn loom_model(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        builder.preemption_bound = Some(preemptions);
    }
    builder.check(f);
}

/// A kernel, entered on the calling thread, with one driver whose every major function
/// is `dispatch`, and one device of it.
pub struct Fixture {
    pub kernel: Kernel,
    pub driver: *mut DriverObject,
    pub device: *mut DeviceObject,
    _entered: EnterGuard,
}

impl Fixture {
    pub fn new(dispatch: DriverDispatch) -> Self {
        Self::with_mode(VerifierMode::Strict, dispatch)
    }

    pub fn with_mode(mode: VerifierMode, dispatch: DriverDispatch) -> Self {
        let kernel = Kernel::builder().verifier_mode(mode).build();
        let entered = kernel.enter();
        let (driver, device) = add_driver(&kernel, "Test", dispatch);
        Fixture { kernel, driver, device, _entered: entered }
    }

    /// Adds another driver and device to the same kernel.
    pub fn add(&self, name: &str, dispatch: DriverDispatch) -> (*mut DriverObject, *mut DeviceObject) {
        add_driver(&self.kernel, name, dispatch)
    }

    /// Adds another driver and device, attaches it below the fixture's device (the
    /// fixture's device becomes the top of a two-device stack) and makes it this thread's
    /// [`lower`] device; returns the new device.
    pub fn attach_below(&self, name: &str, dispatch: DriverDispatch) -> *mut DeviceObject {
        let (_, below) = self.add(name, dispatch);
        // SAFETY: both devices are live devices of this fixture's kernel, which outlives them.
        unsafe { io_attach_device_to_device_stack(self.device, below) };
        set_lower(below);
        below
    }

    /// Rule ids recorded so far (record mode).
    pub fn rules(&self) -> Vec<&'static str> {
        self.kernel.verifier().reports().iter().map(|r| r.rule.id()).collect()
    }
}

thread_local! {
    static LOWER: std::cell::Cell<*mut DeviceObject> = const { std::cell::Cell::new(ptr::null_mut()) };
}

/// The device a filter's dispatch routine passes IRPs down to (per thread, so that tests
/// running side by side each have their own); null until [`set_lower`].
pub fn lower() -> *mut DeviceObject {
    LOWER.with(|l| l.get())
}

/// Sets this thread's [`lower`] device.
pub fn set_lower(device: *mut DeviceObject) {
    LOWER.with(|l| l.set(device));
}

pub fn add_driver(kernel: &Kernel, name: &str, dispatch: DriverDispatch) -> (*mut DriverObject, *mut DeviceObject) {
    kernel.create_driver_and_device(name, dispatch, 0).expect("DriverEntry and IoCreateDevice")
}

/// What routines saw, reached through `DriverContext[0]` of the IRP.
#[derive(Default)]
pub struct Obs {
    pub cancel_calls: AtomicU32,
    pub cancel_saw_flag: AtomicU8,
    pub cancel_saw_routine_none: AtomicU8,
    pub cancel_irql_field: AtomicU8,
    pub irql_after_release: AtomicU8,
    pub creator_calls: AtomicU32,
    pub creator_status: AtomicI32,
    pub creator_pending: AtomicU8,
    pub creator_device: AtomicPtr<DeviceObject>,
    pub events: Mutex<Vec<String>>,
}

impl Obs {
    pub fn log(&self, e: impl Into<String>) {
        self.events.lock().unwrap().push(e.into());
    }
    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
}

/// Allocates an IRP for `device` with `extra` more locations than it needs, its next
/// location set to a read, and the creator's completion routine (records and keeps the
/// IRP: `STATUS_MORE_PROCESSING_REQUIRED`) with all three invoke flags.
///
/// # Safety
/// `device` is live; `obs` outlives the IRP.
pub unsafe fn new_read(device: *mut DeviceObject, obs: &Obs) -> *mut Irp {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe { new_read_with(device, obs, Some(creator_keep), true, true, true) }
}

/// Like [`new_read`] with a chosen top-level routine and flags.
///
/// # Safety
/// As [`new_read`].
pub unsafe fn new_read_with(
    device: *mut DeviceObject,
    obs: &Obs,
    routine: Option<IoCompletionRoutine>,
    on_success: bool,
    on_error: bool,
    on_cancel: bool,
) -> *mut Irp {
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = io_allocate_irp((*device).stack_size.load(std::sync::atomic::Ordering::SeqCst), false);
        assert!(!irp.is_null());
        let sl = io_get_next_irp_stack_location(irp);
        (*sl).major_function = IRP_MJ_READ;
        (*sl).parameters.read = ReadWriteParameters { length: 16, pad: 0, key: 0, flags: 0, byte_offset: 0 };
        set_obs(irp, obs);
        io_set_completion_routine(irp, routine, obs as *const Obs as *mut c_void, on_success, on_error, on_cancel);
        irp
    }
}

/// # Safety
/// `irp` is live and owned by the caller.
pub unsafe fn set_obs(irp: *mut Irp, obs: &Obs) {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe { (*Irp::driver_context(irp))[0] = obs as *const Obs as *mut c_void };
}

/// # Safety
/// `irp` was set up with [`set_obs`] and its `Obs` is alive.
pub unsafe fn obs_of<'a>(irp: *mut Irp) -> &'a Obs {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe { &*((*Irp::driver_context(irp))[0] as *const Obs) }
}

/// The creator's top-level completion routine: records, keeps the IRP.
pub unsafe extern "system-unwind" fn creator_keep(
    device: *mut DeviceObject,
    irp: *mut Irp,
    ctx: *mut c_void,
) -> NtStatus {
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches
    // here; `ctx` is the `Obs` the test handed with the routine.
    unsafe { record_creator_ctx(ctx, device, irp) };
    STATUS_MORE_PROCESSING_REQUIRED
}

/// A top-level completion routine that records and lets the walk finish (the IRP is
/// then delivered and freed).
pub unsafe extern "system-unwind" fn creator_continue(
    device: *mut DeviceObject,
    irp: *mut Irp,
    ctx: *mut c_void,
) -> NtStatus {
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches
    // here; `ctx` is the `Obs` the test handed with the routine.
    unsafe { record_creator_ctx(ctx, device, irp) };
    STATUS_SUCCESS
}

/// Records a creator completion into the `Obs` that `ctx` points at (the context the
/// creator's completion routines are handed).
///
/// # Safety
/// `ctx` points at a live `Obs`; `irp` is live and owned by the caller.
unsafe fn record_creator_ctx(ctx: *mut c_void, device: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the caller guarantees `ctx` points at a live `Obs`.
    let obs = unsafe { &*(ctx as *const Obs) };
    // SAFETY: the caller guarantees `irp` is live and owned by it.
    unsafe { record_creator(obs, device, irp) };
}

unsafe fn record_creator(obs: &Obs, device: *mut DeviceObject, irp: *mut Irp) {
    obs.creator_calls.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        obs.creator_status.store((*irp).io_status.status, Ordering::SeqCst);
        obs.creator_pending.store((*irp).pending_returned, Ordering::SeqCst);
    }
    obs.creator_device.store(device, Ordering::SeqCst);
    obs.log("creator completion");
}

/// Dispatch: mark pending, return `STATUS_PENDING`, set no cancel routine.
pub unsafe extern "system-unwind" fn pend_plain(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe { io_mark_irp_pending(irp) };
    STATUS_PENDING
}

/// Dispatch: mark pending, set [`cancel_complete`], check `Cancel` after (documented
/// pattern), return `STATUS_PENDING`.
pub unsafe extern "system-unwind" fn pend_cancelable(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        io_mark_irp_pending(irp);
        io_set_cancel_routine(irp, Some(cancel_complete));
        if (*irp).is_cancelled() && io_set_cancel_routine(irp, None).is_some() {
            (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
            io_complete_request(irp, 0);
        }
    }
    STATUS_PENDING
}

/// Dispatch: complete at once with success (16 bytes).
pub unsafe extern "system-unwind" fn complete_now(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 16 };
        io_complete_request(irp, 0);
    }
    STATUS_SUCCESS
}

/// A correct cancel routine for a driver without its own queue: records what it saw,
/// releases the lock with `CancelIrql`, completes `STATUS_CANCELLED` / 0.
pub unsafe extern "system-unwind" fn cancel_complete(_d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        let obs = obs_of(irp);
        obs.cancel_calls.fetch_add(1, Ordering::SeqCst);
        obs.cancel_saw_flag.store((*irp).cancel.load(Ordering::SeqCst), Ordering::SeqCst);
        obs.cancel_saw_routine_none.store((*irp).cancel_routine.load().is_none() as u8, Ordering::SeqCst);
        obs.cancel_irql_field.store((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed), Ordering::SeqCst);
        obs.log("cancel routine");
        io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed));
        obs.irql_after_release.store(ke_get_current_irql(), Ordering::SeqCst);
        (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
        io_complete_request(irp, 0);
    }
}

/// The driver's own completion path for a parked IRP: clear the routine; complete only
/// if that won. Returns whether it completed.
///
/// # Safety
/// `irp` is parked by [`pend_cancelable`] (or already cancelled).
pub unsafe fn driver_finish(irp: *mut Irp, status: NtStatus, information: usize) -> bool {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        if io_set_cancel_routine(irp, None).is_some() {
            (*irp).io_status = IoStatusBlock { status, information };
            io_complete_request(irp, 0);
            true
        } else {
            false
        }
    }
}

pub fn null_device() -> *mut DeviceObject {
    ptr::null_mut()
}
