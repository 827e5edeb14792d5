//! StartIo: IoStartPacket, IoStartNextPacket(ByKey), IoSetStartIoAttributes.
//!
//! The I/O manager keeps `DeviceObject->CurrentIrp` for drivers with a StartIo routine.
//! When cancellation is in play (IoStartPacket with a cancel function, IoStartNextPacket
//! with `Cancelable` TRUE) it changes `CurrentIrp` only under the cancel spin lock, so a
//! cancel routine that compares its IRP with `CurrentIrp` under that lock sees a
//! consistent answer (the pattern of "Cancel Routines in Drivers with StartIo Routines").
//! StartIo always runs at DISPATCH_LEVEL.
//!
//! # Deferred StartIo
//! With the DeferredStartIo attribute StartIo is never re-entered, whatever the path: a
//! start that arrives while StartIo runs (IoStartNextPacket from inside StartIo or from a
//! DPC on another thread, or IoStartPacket finding the device idle) is recorded, and the
//! thread running StartIo performs it when StartIo returns — with the key and flags of the
//! latest IoStartNextPacket request.

use core::ptr;

use super::cancel::invoke_cancel_routine;
use super::coverage::RoutineChange as Change;
use super::device::{device_kernel, start_io_state};
use super::devqueue::{
    ke_insert_by_key_device_queue, ke_insert_device_queue, ke_remove_by_key_device_queue_if_busy,
    remove_device_queue_if_busy,
};
use super::irp;
use super::spinlock::{acquire_cancel_lock, call_checked, check_irql_at_most, release_cancel_lock};
use super::types::*;
use crate::nt::kernel::{self, KernelShared, RoutineKind};
use crate::sync::atomic::{AtomicU8, Ordering};
use crate::sync::{lock, Mutex};
use crate::verifier::Rule;

const DEFERRED: u8 = 1;
const NON_CANCELABLE: u8 = 2;

/// A recorded IoStartNextPacket(ByKey).
#[derive(Debug, Clone, Copy)]
struct NextRequest {
    cancelable: bool,
    key: Option<u32>,
}

#[derive(Debug)]
struct Control {
    /// A thread is inside StartIo (deferred mode only).
    active: bool,
    /// The latest IoStartNextPacket that arrived while StartIo ran.
    next: Option<NextRequest>,
    /// An IRP IoStartPacket made current while StartIo ran (the device was idle).
    packet: *mut Irp,
}

/// Per-device StartIo attributes and deferred-start bookkeeping.
#[derive(Debug)]
pub(crate) struct StartIoState {
    attributes: AtomicU8,
    control: Mutex<Control>,
}

// SAFETY: the raw IRP pointer is only handed between threads under the mutex.
unsafe impl Send for StartIoState {}
// SAFETY: as above.
unsafe impl Sync for StartIoState {}

impl StartIoState {
    pub(crate) fn new() -> Self {
        StartIoState {
            attributes: AtomicU8::new(0),
            control: Mutex::new(Control { active: false, next: None, packet: ptr::null_mut() }),
        }
    }

    fn has(&self, flag: u8) -> bool {
        self.attributes.load(Ordering::Acquire) & flag != 0
    }
}

/// `IoSetStartIoAttributes`: `deferred_start_io` — StartIo is never re-entered (starts
/// requested while it runs happen after it returns); `non_cancelable` — an IRP handed to
/// StartIo has its cancel routine cleared, so it cannot be cancelled once dequeued.
///
/// # Safety
/// `device` is a live irpkit device object.
pub unsafe fn io_set_start_io_attributes(device: *mut DeviceObject, deferred_start_io: bool, non_cancelable: bool) {
    let flags = if deferred_start_io { DEFERRED } else { 0 } | if non_cancelable { NON_CANCELABLE } else { 0 };
    if !non_cancelable {
        // SDV StartIoCancel at run time: making StartIo cancelable while the IRP the
        // running routine works on has no cancel routine yet.
        let ctx = kernel::current_routine();
        let starting = matches!(ctx.kind, kernel::RoutineKind::StartIo | kernel::RoutineKind::Dispatch(_));
        // SAFETY: the running routine's IRP is live while it runs.
        if starting && !ctx.irp.is_null() && unsafe { (*ctx.irp).cancel_routine.load() }.is_none() {
            // SAFETY: live device.
            let k = unsafe { device_kernel(device) };
            k.report(
                Rule::StartIoCancel,
                "IoSetStartIoAttributes",
                ctx.irp,
                "IoSetStartIoAttributes(NonCancelable = FALSE) was called while the IRP being started had no cancel routine registered".to_string(),
            );
        }
    }
    // SAFETY: live device.
    unsafe { start_io_state(device) }.attributes.store(flags, Ordering::Release);
}

/// `IoStartPacket`: raises to DISPATCH_LEVEL; with `cancel_function`, takes the cancel
/// spin lock and sets it as the IRP's cancel routine; inserts the IRP in the device queue
/// (by `key` when given, even if 0). If the device was idle the IRP becomes `CurrentIrp`
/// (its routine cleared under NonCancelable) and StartIo is called — `Irp->Cancel` is not
/// checked here, StartIo must check it. If the IRP was queued and is already cancelled
/// (IoCancelIrp ran before the routine was set and returned FALSE), the cancel function
/// is called now, lock held. The caller's IRQL is restored.
///
/// # Safety
/// `device` is a live irpkit device whose driver has a StartIo routine; `irp` is a live
/// IRP owned by the caller (who gives it up).
pub unsafe fn io_start_packet(
    device: *mut DeviceObject,
    irp: *mut Irp,
    key: Option<u32>,
    cancel_function: Option<DriverCancel>,
) {
    const R: &str = "IoStartPacket";
    // SAFETY: live device.
    let k = unsafe { device_kernel(device) };
    check_irql_at_most(k, DISPATCH_LEVEL, R, irp);
    crate::nt::irp::sched_point(R, irp);
    let old_irql = kernel::current_irql();
    kernel::set_irql(DISPATCH_LEVEL.max(old_irql));
    // SAFETY: live device.
    let state = unsafe { start_io_state(device) };
    let cancel_irql = cancel_function.map(|f| {
        let irql = acquire_cancel_lock(k, R);
        // SAFETY: live IRP owned by the caller; the slot is atomic.
        unsafe { irp::exchange_cancel_routine(irp, Some(f)) };
        irql
    });
    // SAFETY: live device and IRP; the IRP is in no queue (the caller owns it).
    let queued = unsafe {
        let queue = &raw mut (*device).device_queue;
        let entry = Irp::device_queue_entry(irp);
        match key {
            Some(key) => ke_insert_by_key_device_queue(queue, entry, key),
            None => ke_insert_device_queue(queue, entry),
        }
    };
    if !queued {
        // SAFETY: live device; under the cancel lock when cancellation is in play.
        unsafe { (*device).current_irp.store(irp, Ordering::Release) };
        let change = match cancel_irql {
            Some(_) if state.has(NON_CANCELABLE) => Change::Cleared,
            Some(_) => Change::Set,
            None => Change::Kept,
        };
        if change == Change::Cleared {
            // SAFETY: live IRP; the slot is atomic.
            unsafe { (*irp).cancel_routine.exchange(None) };
        }
        // SAFETY: live IRP, now the device's current one.
        unsafe { super::coverage::became_current(k, device, irp, change) };
        if let Some(irql) = cancel_irql {
            release_cancel_lock(k, irql, R);
        }
        // SAFETY: live device; `irp` is now its current IRP.
        unsafe { start_or_defer_packet(k, device, irp) };
    } else if let Some(irql) = cancel_irql {
        // SAFETY: live IRP (queued, so nobody completed it; we hold the cancel lock).
        unsafe { super::coverage::start_packet_queued(k, irp, Change::Set) };
        // SAFETY: as above.
        let cancelled = unsafe { (*irp).cancel.load(Ordering::Acquire) != 0 };
        // SAFETY: as above; the slot is atomic.
        let taken = if cancelled { unsafe { (*irp).cancel_routine.exchange(None) } } else { None };
        match taken {
            // SAFETY: we took the routine under the cancel lock, which we hold.
            Some(routine) => unsafe { invoke_cancel_routine(k, routine, irp, irql, R) },
            None => release_cancel_lock(k, irql, R),
        }
    }
    kernel::set_irql(old_irql);
}

/// `IoStartNextPacket`: with `cancelable`, under the cancel spin lock: `CurrentIrp =
/// NULL`, dequeue the head; found → it becomes `CurrentIrp` (its routine cleared under
/// NonCancelable) and StartIo is called; empty → the queue becomes not busy. A queue that
/// is not busy (nothing was started) is left as it is, without a report.
///
/// # Safety
/// `device` is a live irpkit device whose driver has a StartIo routine. If its IRPs are
/// cancelable (queued with a cancel routine), `cancelable` must be true: a cancel routine
/// relies on `CurrentIrp` changing only under the cancel spin lock (the safe layer's
/// `QueuedIrp::is_current` does).
pub unsafe fn io_start_next_packet(device: *mut DeviceObject, cancelable: bool) {
    crate::sched::point("IoStartNextPacket", None);
    // SAFETY: forwarded contract.
    unsafe { start_next(device, NextRequest { cancelable, key: None }, "IoStartNextPacket") }
}

/// `IoStartNextPacketByKey`: like [`io_start_next_packet`], dequeuing the first IRP whose
/// key is `>= key` (or the head, wrapping around as an elevator).
///
/// # Safety
/// As [`io_start_next_packet`].
pub unsafe fn io_start_next_packet_by_key(device: *mut DeviceObject, cancelable: bool, key: u32) {
    crate::sched::point("IoStartNextPacketByKey", None);
    // SAFETY: forwarded contract.
    unsafe { start_next(device, NextRequest { cancelable, key: Some(key) }, "IoStartNextPacketByKey") }
}

/// # Safety
/// As [`io_start_next_packet`].
unsafe fn start_next(device: *mut DeviceObject, request: NextRequest, routine: &'static str) {
    // SAFETY: live device.
    let k = unsafe { device_kernel(device) };
    check_irql_at_most(k, DISPATCH_LEVEL, routine, ptr::null_mut());
    // SAFETY: live device.
    let state = unsafe { start_io_state(device) };
    let old_irql = kernel::current_irql();
    kernel::set_irql(DISPATCH_LEVEL.max(old_irql));
    if state.has(DEFERRED) {
        let mut control = lock(&state.control);
        if control.active {
            control.next = Some(request);
        } else {
            control.active = true;
            drop(control);
            // SAFETY: live device; we are the StartIo owner now.
            unsafe {
                if let Some(irp) = dequeue_next(k, device, request, routine) {
                    call_start_io(k, device, irp);
                }
                run_deferred(k, device);
            }
        }
    } else {
        let ctx = kernel::current_routine();
        // SAFETY: live device.
        if ctx.kind == RoutineKind::StartIo && ctx.driver == unsafe { (*device).driver_object } {
            k.report(
                Rule::StartIoRecursion,
                routine,
                ctx.irp,
                format!("StartIo called {routine} without the DeferredStartIo attribute: StartIo is re-entered"),
            );
        }
        // SAFETY: live device.
        unsafe {
            if let Some(irp) = dequeue_next(k, device, request, routine) {
                call_start_io(k, device, irp);
            }
        }
    }
    kernel::set_irql(old_irql);
}

/// Makes the next IRP current: returns it, or `None` when the queue is empty (now idle).
///
/// # Safety
/// `device` is a live irpkit device.
unsafe fn dequeue_next(
    k: &KernelShared,
    device: *mut DeviceObject,
    request: NextRequest,
    routine: &'static str,
) -> Option<*mut Irp> {
    let irql = request.cancelable.then(|| acquire_cancel_lock(k, routine));
    // SAFETY: live device; `CurrentIrp` under the cancel lock when cancelable. A queue
    // that is not busy is no error here: "if there are no IRPs in the device queue, this
    // routine simply returns".
    let entry = unsafe {
        (*device).current_irp.store(ptr::null_mut(), Ordering::Release);
        super::coverage::current_cleared(k, device);
        let queue = &raw mut (*device).device_queue;
        match request.key {
            Some(key) => ke_remove_by_key_device_queue_if_busy(queue, key),
            None => remove_device_queue_if_busy(queue),
        }
    };
    let irp = (!entry.is_null()).then(|| {
        // SAFETY: device-queue entries of this queue belong to IRPs.
        let irp = unsafe { Irp::from_device_queue_entry(entry) };
        // SAFETY: live device and IRP (dequeued: owned by the StartIo path now).
        unsafe {
            (*device).current_irp.store(irp, Ordering::Release);
            let clear = request.cancelable && start_io_state(device).has(NON_CANCELABLE);
            if clear {
                (*irp).cancel_routine.exchange(None);
            }
            super::coverage::became_current(k, device, irp, if clear { Change::Cleared } else { Change::Kept });
        }
        irp
    });
    if let Some(irql) = irql {
        release_cancel_lock(k, irql, routine);
    }
    irp
}

/// Starts `irp` now, or — in deferred mode while StartIo runs — records it for the thread
/// inside StartIo.
///
/// # Safety
/// `device` is a live irpkit device; `irp` is its current IRP.
unsafe fn start_or_defer_packet(k: &KernelShared, device: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: live device.
    let state = unsafe { start_io_state(device) };
    if !state.has(DEFERRED) {
        // SAFETY: forwarded contract.
        unsafe { call_start_io(k, device, irp) };
        return;
    }
    let mut control = lock(&state.control);
    if control.active {
        debug_assert!(control.packet.is_null(), "only an idle device takes a packet directly");
        control.packet = irp;
        return;
    }
    control.active = true;
    drop(control);
    // SAFETY: forwarded contract; we are the StartIo owner now.
    unsafe {
        call_start_io(k, device, irp);
        run_deferred(k, device);
    }
}

/// Performs the starts recorded while StartIo ran, then leaves StartIo.
///
/// # Safety
/// `device` is a live irpkit device and the caller is its StartIo owner.
unsafe fn run_deferred(k: &KernelShared, device: *mut DeviceObject) {
    // SAFETY: live device.
    let state = unsafe { start_io_state(device) };
    loop {
        let mut control = lock(&state.control);
        if !control.packet.is_null() {
            let irp = core::mem::replace(&mut control.packet, ptr::null_mut());
            drop(control);
            // SAFETY: the recorded current IRP of a live device.
            unsafe { call_start_io(k, device, irp) };
        } else if let Some(request) = control.next.take() {
            drop(control);
            // SAFETY: live device; we are its StartIo owner.
            unsafe {
                if let Some(irp) = dequeue_next(k, device, request, "IoStartNextPacket (deferred)") {
                    call_start_io(k, device, irp);
                }
            }
        } else {
            control.active = false;
            return;
        }
    }
}

/// Calls the driver's StartIo at DISPATCH_LEVEL and checks it released the cancel lock.
///
/// # Safety
/// `device` is a live irpkit device; `irp` is its current IRP, owned by the StartIo path.
unsafe fn call_start_io(k: &KernelShared, device: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: live device and driver.
    let (driver, start_io) = unsafe { ((*device).driver_object, (*(*device).driver_object).driver_start_io) };
    let Some(start_io) = start_io else {
        k.report(
            Rule::StartIoMissing,
            "IoStartPacket",
            irp,
            "the device's driver has no StartIo routine; the IRP stays current and is never started".to_string(),
        );
        return;
    };
    let old = kernel::current_irql();
    kernel::set_irql(DISPATCH_LEVEL);
    call_checked(
        k,
        driver,
        RoutineKind::StartIo,
        irp,
        "IoStartPacket",
        DISPATCH_LEVEL,
        start_io as usize,
        || "StartIo returned while holding the cancel spin lock".to_string(),
        // SAFETY: the driver's StartIo with its device and current IRP.
        || unsafe { start_io(device, irp) },
    );
    kernel::set_irql(old);
}
