//! The classification, window by window, driven deterministically on one thread: each
//! test puts a request in one state with the NT routines a driver calls, cancels it
//! (IoCancelIrp, as the I/O manager or the creator), and checks the one window counted.

use core::ptr;

use crate::explore::coverage::{self, CancelCoverage, RequestCoverage, Window};
use crate::nt::kernel::Kernel;
use crate::nt::*;

unsafe extern "system-unwind" fn entry(_d: *mut DriverObject, _p: *mut UnicodeString) -> NtStatus {
    STATUS_SUCCESS
}

/// A kernel recording coverage (strict verifier: any broken rule fails the test), entered
/// on the calling thread, with one driver and device whose every major function is
/// `dispatch`.
struct Fixture {
    kernel: Kernel,
    driver: *mut DriverObject,
    device: *mut DeviceObject,
    _entered: crate::EnterGuard,
}

impl Fixture {
    fn new(dispatch: DriverDispatch) -> Fixture {
        Fixture::with_extension(dispatch, 0)
    }

    fn with_extension(dispatch: DriverDispatch, extension_size: usize) -> Fixture {
        let kernel = Kernel::new();
        let entered = kernel.enter();
        coverage::record(&kernel, true);
        let driver = kernel.load_driver("Cover", entry).expect("DriverEntry");
        // SAFETY: test code owns the fresh driver object.
        let device = unsafe {
            for slot in (*driver).major_function.iter_mut() {
                *slot = Some(dispatch);
            }
            io_create_device(driver, extension_size, Some("Cover"), 0x22, 0, false).expect("IoCreateDevice")
        };
        Fixture { kernel, driver, device, _entered: entered }
    }

    /// A read for the device, prepared but not sent.
    fn read(&self) -> *mut Irp {
        let irp = io_allocate_irp(1, false);
        // SAFETY: a fresh IRP with one location.
        unsafe { (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ };
        irp
    }

    /// A read, sent (its dispatch routine has returned).
    fn send(&self) -> *mut Irp {
        let irp = self.read();
        // SAFETY: a live device and our fresh IRP.
        unsafe { io_call_driver(self.device, irp) };
        irp
    }

    fn coverage(&self) -> CancelCoverage {
        CancelCoverage::of_kernel(&self.kernel)
    }

    /// The one request's coverage, checking there is exactly one.
    fn only(&self) -> RequestCoverage {
        let c = self.coverage();
        assert_eq!(c.requests.len(), 1, "one request: {c:?}");
        c.requests.into_values().next().unwrap()
    }
}

/// Completes `irp` (owned by the caller) with `status`.
///
/// # Safety
/// The caller owns the live IRP.
unsafe fn finish(irp: *mut Irp, status: NtStatus) {
    // SAFETY: forwarded contract.
    unsafe {
        (*irp).io_status = IoStatusBlock { status, information: 0 };
        io_complete_request(irp, 0);
    }
}

/// Asserts the request's cancels all landed in `window`, `n` of them.
fn landed_only(r: &RequestCoverage, window: Window, n: u64) {
    for w in Window::ALL {
        let expected = if w == window { n } else { 0 };
        assert_eq!(r.hits(w), expected, "cancels in {w} (expected all {n} in {window}): {r:?}");
    }
}

/// Pends the IRP without a cancel routine.
unsafe extern "system-unwind" fn pend(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract.
    unsafe { io_mark_irp_pending(irp) };
    STATUS_PENDING
}

/// Completes the IRP at once.
unsafe extern "system-unwind" fn succeed(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract.
    unsafe { finish(irp, STATUS_SUCCESS) };
    STATUS_SUCCESS
}

/// Pends the IRP with `leave_to_test` as its cancel routine (no re-check needed: the test
/// cancels only after the dispatch returned).
unsafe extern "system-unwind" fn pend_cancelable(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract.
    unsafe {
        io_mark_irp_pending(irp);
        io_set_cancel_routine(irp, Some(leave_to_test));
    }
    STATUS_PENDING
}

/// A cancel routine that releases the cancel spin lock and leaves the IRP to the test.
unsafe extern "system-unwind" fn leave_to_test(_d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: called by IoCancelIrp with the lock held.
    unsafe { io_release_cancel_spin_lock((*irp).cancel_irql.load(core::sync::atomic::Ordering::Relaxed)) };
}

#[test]
fn a_cancel_before_io_call_driver_lands_in_unsent() {
    let f = Fixture::new(succeed);
    let irp = f.read();
    // SAFETY: our IRP, its next location set up: issued as the requester side does.
    unsafe { crate::nt::coverage::issued(&f.kernel.shared, irp) };
    // SAFETY: a live IRP; no driver routine runs (the I/O manager's cancel).
    assert!(!unsafe { io_cancel_irp(irp) });
    // SAFETY: live device, our IRP.
    unsafe { io_call_driver(f.device, irp) };
    let r = f.only();
    landed_only(&r, Window::Unsent, 1);
    assert!(r.applies(Window::Unsent) && r.applies(Window::Completing) && r.applies(Window::Completed));
}

#[test]
fn a_cancel_of_a_pending_irp_without_a_routine_lands_in_no_routine() {
    let f = Fixture::new(pend);
    let irp = f.send();
    // SAFETY: a live IRP.
    assert!(!unsafe { io_cancel_irp(irp) });
    // SAFETY: the driver's pended IRP, finished on its behalf.
    unsafe { finish(irp, STATUS_CANCELLED) };
    let r = f.only();
    landed_only(&r, Window::NoRoutine, 1);
    assert!(!r.applies(Window::DriverQueue), "no routine was ever set: {r:?}");
}

#[test]
fn a_cancel_while_the_setter_holds_its_lock_lands_in_setting_routine() {
    let f = Fixture::new(pend);
    let irp = f.send();
    let lock = KSpinLock::new();
    let irql = ke_acquire_spin_lock(&lock);
    // SAFETY: a live IRP; set under a spin lock: the window is open until its release.
    unsafe { io_set_cancel_routine(irp, Some(leave_to_test)) };
    // SAFETY: a live IRP. IoCancelIrp takes the routine (and calls it) in the window.
    assert!(unsafe { io_cancel_irp(irp) });
    ke_release_spin_lock(&lock, irql);
    // SAFETY: the cancel routine left the IRP to us.
    unsafe { finish(irp, STATUS_CANCELLED) };
    let r = f.only();
    landed_only(&r, Window::SettingRoutine, 1);
    assert!(!r.setting_closed_to_explorer(), "IoCancelIrp's scheduling point was inside the window");
}

#[test]
fn a_cancel_of_a_cancelable_irp_after_its_dispatch_returned_lands_in_driver_queue() {
    let f = Fixture::new(pend_cancelable);
    let irp = f.send();
    // SAFETY: a live IRP.
    assert!(unsafe { io_cancel_irp(irp) });
    // SAFETY: the cancel routine left it to us.
    unsafe { finish(irp, STATUS_CANCELLED) };
    let r = f.only();
    landed_only(&r, Window::DriverQueue, 1);
    // Set and returned with no scheduling point between: closed to the explorer.
    assert!(r.setting_closed_to_explorer() && !r.applies(Window::SettingRoutine), "{r:?}");
}

#[test]
fn a_cancel_after_the_routine_was_cleared_lands_in_routine_cleared() {
    let f = Fixture::new(pend_cancelable);
    let irp = f.send();
    // SAFETY: a live IRP; the driver takes it back.
    assert!(unsafe { io_set_cancel_routine(irp, None) }.is_some());
    // SAFETY: a live IRP.
    assert!(!unsafe { io_cancel_irp(irp) });
    // SAFETY: the driver's again.
    unsafe { finish(irp, STATUS_CANCELLED) };
    landed_only(&f.only(), Window::RoutineCleared, 1);
}

#[test]
fn a_second_cancel_while_the_first_ones_routine_owns_the_irp_lands_in_cancelling() {
    let f = Fixture::new(pend_cancelable);
    let irp = f.send();
    // SAFETY: a live IRP (twice: the first cancel's routine leaves it to us).
    unsafe {
        assert!(io_cancel_irp(irp));
        assert!(!io_cancel_irp(irp));
        finish(irp, STATUS_CANCELLED);
    }
    let r = f.only();
    assert_eq!((r.hits(Window::DriverQueue), r.hits(Window::Cancelling)), (1, 1), "{r:?}");
    assert_eq!(r.cancels(), 2);
}

/// The creator's completion routine: cancels its own IRP while IoCompleteRequest runs.
unsafe extern "system-unwind" fn cancel_while_completing(
    _d: *mut DeviceObject,
    irp: *mut Irp,
    _c: *mut core::ffi::c_void,
) -> NtStatus {
    // SAFETY: the IRP is live during its completion walk.
    assert!(!unsafe { io_cancel_irp(irp) });
    STATUS_SUCCESS
}

#[test]
fn a_cancel_during_io_complete_request_lands_in_completing() {
    let f = Fixture::new(pend);
    let irp = io_allocate_irp(2, false);
    // SAFETY: a fresh IRP with two locations: the creator's routine in the first.
    unsafe {
        io_set_next_irp_stack_location(irp);
        io_set_completion_routine(irp, Some(cancel_while_completing), ptr::null_mut(), true, true, true);
        (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
        io_call_driver(f.device, irp);
        finish(irp, STATUS_SUCCESS);
    }
    landed_only(&f.only(), Window::Completing, 1);
}

#[test]
fn a_cancel_of_a_request_already_completed_lands_in_completed() {
    let f = Fixture::new(pend);
    let irp = f.send();
    // SAFETY: a live irpkit IRP: pinned, as the I/O manager does before cancelling; then
    // completed (and freed), then cancelled as the I/O manager would, then unpinned.
    unsafe {
        irp::pin(irp);
        finish(irp, STATUS_SUCCESS);
        assert!(!cancel::cancel_as_io_manager(irp));
        irp::unpin(irp);
    }
    landed_only(&f.only(), Window::Completed, 1);
}

/// StartIo leaves the IRP current (the "hardware" has it): the test finishes it.
unsafe extern "system-unwind" fn start_io_keep(_d: *mut DeviceObject, _irp: *mut Irp) {}

/// The cancel routine of "Cancel Routines in Drivers with StartIo Routines": the current
/// IRP is left to the hardware; a queued one is removed and completed.
unsafe extern "system-unwind" fn start_io_cancel(d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: called with the cancel spin lock held, for an IRP of device `d`.
    unsafe {
        let irql = (*irp).cancel_irql.load(core::sync::atomic::Ordering::Relaxed);
        if (*d).current_irp.load(core::sync::atomic::Ordering::Relaxed) == irp {
            io_release_cancel_spin_lock(irql);
            return;
        }
        let removed = ke_remove_entry_device_queue(&raw mut (*d).device_queue, Irp::device_queue_entry(irp));
        io_release_cancel_spin_lock(irql);
        if removed {
            finish(irp, STATUS_CANCELLED);
        }
    }
}

unsafe extern "system-unwind" fn start_packet(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract; the device's driver has a StartIo routine.
    unsafe {
        io_mark_irp_pending(irp);
        io_start_packet(d, irp, None, Some(start_io_cancel));
    }
    STATUS_PENDING
}

/// A StartIo fixture with two reads sent: the first current, the second queued.
fn start_io_pair() -> (Fixture, *mut Irp, *mut Irp) {
    let f = Fixture::new(start_packet);
    // SAFETY: test code owns the driver object.
    unsafe { (*f.driver).driver_start_io = Some(start_io_keep) };
    let (current, queued) = (f.send(), f.send());
    (f, current, queued)
}

#[test]
fn a_cancel_of_a_queued_start_packet_lands_in_device_queue() {
    let (f, current, queued) = start_io_pair();
    // SAFETY: a live IRP; its cancel routine removes and completes it.
    assert!(unsafe { io_cancel_irp(queued) });
    // SAFETY: the current IRP is the "hardware"'s: finished, then the next started.
    unsafe {
        io_set_cancel_routine(current, None);
        finish(current, STATUS_SUCCESS);
        io_start_next_packet(f.device, true);
    }
    let c = f.coverage();
    let r = c.named(&format!("{}/READ#2", std::thread::current().name().unwrap())).expect("the second read");
    landed_only(r, Window::DeviceQueue, 1);
    // IoStartPacket set the routine and queued the IRP under the cancel spin lock: the
    // state between (a routine, not yet queued) was no window.
    assert!(!r.applies(Window::DriverQueue) && !r.applies(Window::SettingRoutine), "{r:?}");
}

#[test]
fn a_cancel_of_the_current_irp_lands_in_start_io() {
    let (f, current, queued) = start_io_pair();
    // SAFETY: a live IRP; its cancel routine leaves the current IRP to the "hardware".
    assert!(unsafe { io_cancel_irp(current) });
    // SAFETY: the hardware finishes it; the next packet (the queued read) starts and
    // is finished the same way.
    unsafe {
        finish(current, STATUS_CANCELLED);
        io_start_next_packet(f.device, true);
        io_set_cancel_routine(queued, None);
        finish(queued, STATUS_SUCCESS);
        io_start_next_packet(f.device, true);
    }
    let c = f.coverage();
    let r = c.named(&format!("{}/READ#1", std::thread::current().name().unwrap())).expect("the first read");
    landed_only(r, Window::StartIo, 1);
    let second = c.named(&format!("{}/READ#2", std::thread::current().name().unwrap())).unwrap();
    assert!(second.applies(Window::DeviceQueue) && second.applies(Window::StartIo), "{second:?}");
}

/// A cancel-safe queue: the library's callback table first, then a list under a spin
/// lock.
#[repr(C)]
struct Queue {
    csq: IoCsq,
    lock: KSpinLock,
    irps: core::cell::UnsafeCell<Vec<*mut Irp>>,
}

/// # Safety
/// `csq` is the table of a live [`Queue`] whose lock the caller holds.
#[allow(clippy::mut_from_ref)]
unsafe fn irps<'a>(csq: *mut IoCsq) -> &'a mut Vec<*mut Irp> {
    // SAFETY: forwarded contract: exclusive under the queue lock.
    unsafe { &mut *(*csq.cast::<Queue>()).irps.get() }
}

unsafe extern "system-unwind" fn csq_insert(csq: *mut IoCsq, irp: *mut Irp) {
    // SAFETY: called under the queue lock.
    unsafe { irps(csq).push(irp) };
}

unsafe extern "system-unwind" fn csq_remove(csq: *mut IoCsq, irp: *mut Irp) {
    // SAFETY: called under the queue lock.
    unsafe { irps(csq).retain(|&i| i != irp) };
}

unsafe extern "system-unwind" fn csq_peek(csq: *mut IoCsq, irp: *mut Irp, _c: *mut core::ffi::c_void) -> *mut Irp {
    // SAFETY: called under the queue lock.
    let list = unsafe { irps(csq) };
    let next = if irp.is_null() { 0 } else { list.iter().position(|&i| i == irp).map_or(list.len(), |p| p + 1) };
    list.get(next).copied().unwrap_or(ptr::null_mut())
}

unsafe extern "system-unwind" fn csq_acquire(csq: *mut IoCsq, irql: *mut KIrql) {
    // SAFETY: a live queue; the library passes a writable IRQL.
    unsafe { *irql = ke_acquire_spin_lock(&(*csq.cast::<Queue>()).lock) };
}

unsafe extern "system-unwind" fn csq_release(csq: *mut IoCsq, irql: KIrql) {
    // SAFETY: a live queue whose lock we hold.
    unsafe { ke_release_spin_lock(&(*csq.cast::<Queue>()).lock, irql) };
}

unsafe extern "system-unwind" fn csq_complete_canceled(_csq: *mut IoCsq, irp: *mut Irp) {
    // SAFETY: the library hands over a removed, cancelled IRP.
    unsafe { finish(irp, STATUS_CANCELLED) };
}

unsafe extern "system-unwind" fn csq_dispatch(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the device extension holds the queue's address; the dispatch contract.
    unsafe {
        let q = *(*d).device_extension.cast::<*mut Queue>();
        io_csq_insert_irp(&raw mut (*q).csq, irp, ptr::null_mut());
    }
    STATUS_PENDING
}

#[test]
fn a_cancel_of_an_irp_in_a_cancel_safe_queue_lands_in_csq() {
    let f = Fixture::with_extension(csq_dispatch, core::mem::size_of::<*mut Queue>());
    let q = Box::into_raw(Box::new(Queue {
        csq: IoCsq::zeroed(),
        lock: KSpinLock::new(),
        irps: core::cell::UnsafeCell::new(Vec::new()),
    }));
    // SAFETY: the fresh queue, initialised in place; the device extension has room for
    // its address.
    unsafe {
        io_csq_initialize(
            &raw mut (*q).csq,
            csq_insert,
            csq_remove,
            csq_peek,
            csq_acquire,
            csq_release,
            csq_complete_canceled,
        );
        *(*f.device).device_extension.cast::<*mut Queue>() = q;
    }
    let irp = f.send();
    // SAFETY: a live IRP; the library's cancel routine removes and completes it.
    assert!(unsafe { io_cancel_irp(irp) });
    let r = f.only();
    landed_only(&r, Window::Csq, 1);
    // The library sets the routine under the queue lock and re-checks `Cancel` with no
    // scheduling point between: the window opened, closed to the explorer.
    assert!(r.setting_closed_to_explorer(), "{r:?}");
    // SAFETY: the queue is empty and unused now.
    drop(unsafe { Box::from_raw(q) });
}

#[test]
fn nothing_is_recorded_unless_asked_for() {
    let f = Fixture::new(pend_cancelable);
    coverage::record(&f.kernel, false);
    let irp = f.send();
    // SAFETY: a live IRP.
    unsafe {
        assert!(io_cancel_irp(irp));
        finish(irp, STATUS_CANCELLED);
    }
    let c = f.coverage();
    assert!(c.requests.is_empty() && c.untracked == 0, "{c:?}");
}

#[test]
fn threads_of_one_name_are_told_apart_in_creation_order_and_requests_can_be_labelled() {
    let f = Fixture::new(pend_cancelable);
    let device = crate::nt::device::DevicePtr(f.device);
    let spawn = |label: Option<&'static str>| {
        let kernel = f.kernel.clone();
        f.kernel.spawn_named("worker", move || {
            let device = device;
            let read = || {
                let irp = io_allocate_irp(1, false);
                // SAFETY: a fresh IRP sent to a live device; cancelled and finished by us.
                unsafe {
                    (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
                    io_call_driver(device.0, irp);
                    assert!(io_cancel_irp(irp));
                    finish(irp, STATUS_CANCELLED);
                }
            };
            match label {
                Some(label) => coverage::with_request_label(&kernel, label, read),
                None => read(),
            }
            // A label is used once: the next read is named by its number.
            read();
        })
    };
    // One after the other: the labels follow creation order, not the order they run in.
    let (a, b) = (spawn(None), spawn(Some("late read")));
    a.join().unwrap();
    b.join().unwrap();
    let c = f.coverage();
    let names: Vec<String> = c.requests.keys().map(|k| k.to_string()).collect();
    assert_eq!(names, ["worker/READ#1", "worker/READ#2", "worker 2: late read", "worker 2/READ#2"], "{c:?}");
    let labelled = c.requests.keys().find(|k| k.label.is_some()).unwrap();
    assert_eq!((labelled.thread.as_str(), labelled.major, labelled.nth), ("worker 2", IRP_MJ_READ, 1));
}

#[test]
fn coverages_merge_by_adding_counts_and_uniting_windows() {
    let runs: Vec<CancelCoverage> = (0..3)
        .map(|i| {
            let f = Fixture::new(pend_cancelable);
            let irp = f.send();
            // SAFETY: a live IRP; run 1 takes its routine back before the cancel.
            unsafe {
                if i == 1 {
                    io_set_cancel_routine(irp, None);
                }
                io_cancel_irp(irp);
                finish(irp, STATUS_CANCELLED);
            }
            f.coverage()
        })
        .collect();
    let mut forward = CancelCoverage::default();
    let mut backward = CancelCoverage::default();
    for c in &runs {
        forward.merge(c);
    }
    for c in runs.iter().rev() {
        backward.merge(c);
    }
    assert_eq!(forward, backward, "merging is order-independent");
    assert_eq!(forward.schedules, 3);
    let r = forward.requests.values().next().unwrap();
    assert_eq!((r.hits(Window::DriverQueue), r.hits(Window::RoutineCleared), r.schedules), (2, 1, 3), "{r:?}");
    assert!(r.never_hit().contains(&Window::Completed) && !r.never_hit().contains(&Window::SettingRoutine));
}

/// The creator's completion routine keeps its IRP (to free it itself).
unsafe extern "system-unwind" fn keep_it(
    _d: *mut DeviceObject,
    _irp: *mut Irp,
    _c: *mut core::ffi::c_void,
) -> NtStatus {
    STATUS_MORE_PROCESSING_REQUIRED
}

#[test]
fn a_walk_stopped_by_the_creators_routine_ends_the_request_and_its_windows_are_kept_at_the_free() {
    let f = Fixture::new(succeed);
    let irp = io_allocate_irp(2, false);
    // SAFETY: a fresh IRP with two locations, the creator's routine in the first; the
    // walk stops there, the IRP is ours again, cancelled too late, then freed.
    unsafe {
        io_set_next_irp_stack_location(irp);
        io_set_completion_routine(irp, Some(keep_it), ptr::null_mut(), true, true, true);
        (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
        io_call_driver(f.device, irp);
        assert!(!io_cancel_irp(irp));
        io_free_irp(irp);
    }
    let r = f.only();
    landed_only(&r, Window::Completed, 1);
    assert!(r.applies(Window::NoRoutine) && r.applies(Window::Completing), "the windows were kept at the free: {r:?}");
}

/// The upper driver: its completion routine takes the IRP back from the lower one.
unsafe extern "system-unwind" fn upper_passes_down(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract; the device extension holds the lower device.
    unsafe {
        io_copy_current_irp_stack_location_to_next(irp);
        io_set_completion_routine(irp, Some(keep_it), ptr::null_mut(), true, true, true);
        io_call_driver(*(*d).device_extension.cast::<*mut DeviceObject>(), irp)
    }
}

#[test]
fn a_walk_stopped_below_the_top_leaves_the_irp_in_a_driver_again() {
    let f = Fixture::new(succeed);
    let upper = f.kernel.load_driver("CoverUpper", entry).expect("DriverEntry");
    // SAFETY: test code owns the fresh driver; the extension keeps the lower device.
    let upper_device = unsafe {
        for slot in (*upper).major_function.iter_mut() {
            *slot = Some(upper_passes_down);
        }
        let d = io_create_device(upper, 8, Some("CoverUpper"), 0x22, 0, false).expect("IoCreateDevice");
        *(*d).device_extension.cast::<*mut DeviceObject>() = f.device;
        d
    };
    let irp = io_allocate_irp(2, false);
    // SAFETY: a fresh IRP for the two-device stack; the lower driver completes it, the
    // upper's routine stops the walk: the upper owns it (no routine), cancelled there,
    // and completes it again, on its behalf.
    unsafe {
        (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
        io_call_driver(upper_device, irp);
        assert!(!io_cancel_irp(irp));
        finish(irp, STATUS_SUCCESS);
    }
    let r = f.only();
    landed_only(&r, Window::NoRoutine, 1);
}
