//! Conformance cases C1–C5 (cancel) and P1–P6 (completion) of the specification, one
//! test (or more) each, named after the case.
#![cfg(not(any(loom, shuttle)))]

mod common;

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::Ordering;

use common::*;
use irpkit::nt::*;
use irpkit::verifier::VerifierMode;

/// C1: IRP without a cancel routine: IoCancelIrp returns FALSE and sets `Cancel`; a second
/// call returns FALSE again.
#[test]
fn cancel_irp_c1_no_routine_returns_false_and_sets_cancel() {
    let f = Fixture::new(pend_plain);
    let obs = Obs::default();
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = new_read(f.device, &obs);
        assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
        assert!(!(*irp).is_cancelled());
        assert!(!io_cancel_irp(irp), "no routine: FALSE");
        assert!((*irp).is_cancelled(), "Cancel is set even without a routine");
        assert!(!io_cancel_irp(irp), "second call: FALSE again");
        assert!((*irp).is_cancelled());
        assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 0, "cancel did not complete it");
        // The driver finishes it normally.
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 16 };
        io_complete_request(irp, 0);
        assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1);
        assert_eq!(obs.creator_status.load(Ordering::SeqCst), STATUS_SUCCESS);
        io_free_irp(irp);
    }
    assert_eq!(f.kernel.irps_outstanding(), 0);
}

/// C2: pended IRP with a routine: IoCancelIrp returns TRUE; the routine runs once, seeing
/// `Cancel` TRUE and `CancelRoutine` already none; a second IoCancelIrp returns FALSE and
/// does not run it again.
#[test]
fn cancel_irp_c2_routine_runs_once() {
    let f = Fixture::new(pend_cancelable);
    let obs = Obs::default();
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = new_read(f.device, &obs);
        assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
        assert!((*irp).cancel_routine.load().is_some());
        assert!(io_cancel_irp(irp), "a routine was called: TRUE");
        assert_eq!(obs.cancel_calls.load(Ordering::SeqCst), 1);
        assert_eq!(obs.cancel_saw_flag.load(Ordering::SeqCst), TRUE, "Cancel is TRUE inside the routine");
        assert_eq!(obs.cancel_saw_routine_none.load(Ordering::SeqCst), 1, "CancelRoutine is none inside it");
        assert!(!io_cancel_irp(irp), "second call: FALSE");
        assert_eq!(obs.cancel_calls.load(Ordering::SeqCst), 1, "not run again");
        assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1);
        assert_eq!(obs.creator_status.load(Ordering::SeqCst), STATUS_CANCELLED);
        assert_eq!((*irp).io_status.information, 0);
        io_free_irp(irp);
    }
}

/// C3: the cancel routine sets `STATUS_CANCELLED` / 0 and completes: a completion routine
/// for success + cancel runs (after the cancel routine); one for success + error runs; one
/// for success only does not.
#[test]
fn cancel_irp_c3_completion_routine_invoke_flags() {
    let f = Fixture::new(pend_cancelable);
    let cases = [
        ("success+cancel", true, false, true, true),
        ("success+error", true, true, false, true),
        ("success only", true, false, false, false),
    ];
    for (name, s, e, c, expect_run) in cases {
        let obs = Obs::default();
        let mut iosb = IoStatusBlock { status: 0x1234, information: 99 };
        // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
        unsafe {
            let irp = new_read_with(f.device, &obs, Some(creator_continue), s, e, c);
            (*irp).user_iosb = &mut iosb;
            assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
            assert!(io_cancel_irp(irp));
            // The walk finished in every case (creator_continue lets it), so the IRP was
            // delivered and freed.
        }
        assert_eq!(obs.cancel_calls.load(Ordering::SeqCst), 1, "{name}");
        let ran = obs.creator_calls.load(Ordering::SeqCst) == 1;
        assert_eq!(ran, expect_run, "{name}: completion routine ran = {ran}");
        if expect_run {
            assert_eq!(obs.events(), vec!["cancel routine", "creator completion"], "{name}: order");
            assert_eq!(obs.creator_status.load(Ordering::SeqCst), STATUS_CANCELLED, "{name}");
        }
        // STATUS_CANCELLED is an error, but the IRP returned pending: it is delivered.
        assert_eq!(iosb, IoStatusBlock { status: STATUS_CANCELLED, information: 0 }, "{name}");
    }
    assert_eq!(f.kernel.irps_outstanding(), 0);
}

/// C4: the cancel routine releases the cancel spin lock with `CancelIrql`, and the IRQL
/// after release equals the IRQL IoCancelIrp was called at.
#[test]
fn cancel_irp_c4_release_with_cancel_irql() {
    let f = Fixture::new(pend_cancelable);
    for caller_irql in [PASSIVE_LEVEL, APC_LEVEL, DISPATCH_LEVEL] {
        let obs = Obs::default();
        // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
        unsafe {
            let irp = new_read(f.device, &obs);
            assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
            let old = ke_raise_irql(caller_irql);
            assert!(io_cancel_irp(irp));
            assert_eq!(ke_get_current_irql(), caller_irql, "IoCancelIrp returns at the caller's IRQL");
            ke_lower_irql(old);
            io_free_irp(irp);
        }
        assert_eq!(obs.cancel_irql_field.load(Ordering::SeqCst), caller_irql, "CancelIrql saved");
        assert_eq!(obs.irql_after_release.load(Ordering::SeqCst), caller_irql, "IRQL after release");
    }
}

/// C5: the driver clears its routine and gets none back: it leaves the IRP alone, and the
/// IRP is completed exactly once, by the cancel routine.
#[test]
fn cancel_irp_c5_loser_leaves_irp_alone() {
    let f = Fixture::new(pend_cancelable);
    let obs = Obs::default();
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = new_read(f.device, &obs);
        assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
        assert!(io_cancel_irp(irp));
        // The driver's normal path comes late: it loses the exchange.
        assert!(!driver_finish(irp, STATUS_SUCCESS, 16), "clearing returned none: hands off");
        assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1, "completed exactly once");
        assert_eq!(obs.creator_status.load(Ordering::SeqCst), STATUS_CANCELLED, "by the cancel routine");
        io_free_irp(irp);
    }
}

/// C5, racing for real: a canceller thread against the driver's completion path, many
/// times; every IRP is completed exactly once, by whichever side won the exchange.
#[test]
fn cancel_irp_c5_race_exactly_once() {
    let f = Fixture::new(pend_cancelable);
    let mut cancelled = 0;
    for _ in 0..2000 {
        let obs = Box::new(Obs::default());
        // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
        unsafe {
            let irp = new_read(f.device, &obs);
            assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
            let irp_addr = irp as usize;
            let canceller = f.kernel.spawn(move || io_cancel_irp(irp_addr as *mut Irp));
            let driver_won = driver_finish(irp, STATUS_SUCCESS, 16);
            let routine_called = canceller.join().unwrap();
            assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1, "exactly once");
            let cancel_ran = obs.cancel_calls.load(Ordering::SeqCst);
            assert!(cancel_ran <= 1);
            assert_eq!(driver_won, cancel_ran == 0, "exactly one side owned the IRP");
            assert_eq!(routine_called, cancel_ran == 1);
            let status = obs.creator_status.load(Ordering::SeqCst);
            assert_eq!(status, if driver_won { STATUS_SUCCESS } else { STATUS_CANCELLED });
            cancelled += usize::from(!driver_won);
            io_free_irp(irp);
        }
    }
    eprintln!("cancel won {cancelled} of 2000 races");
    assert_eq!(f.kernel.irps_outstanding(), 0);
}

/// P1: a new IRP with one stack location has `CurrentLocation` = 2 (StackCount + 1), and
/// its current stack location pointer is one past the last location.
#[test]
fn completion_p1_fresh_irp_current_location() {
    let f = Fixture::new(complete_now);
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = io_allocate_irp(1, false);
        assert_eq!((*irp).stack_count, 1);
        assert_eq!((*irp).current_location(), 2);
        assert!(!(*irp).is_completed());
        let next = io_get_next_irp_stack_location(irp);
        assert_eq!(next, (irp as *mut u8).add(std::mem::size_of::<Irp>()) as *mut IoStackLocation);
        let four = io_allocate_irp(4, false);
        assert_eq!((*four).current_location(), 5);
        io_free_irp(irp);
        io_free_irp(four);
    }
    drop(f);
}

// --- P2: three drivers, A on B on C ------------------------------------------------------

unsafe extern "system-unwind" fn p2_routine_remarks(_d: *mut DeviceObject, irp: *mut Irp, _c: *mut c_void) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        if (*irp).pending_returned != 0 {
            io_mark_irp_pending(irp);
        }
    }
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn p2_routine_forgets(
    _d: *mut DeviceObject,
    _irp: *mut Irp,
    _c: *mut c_void,
) -> NtStatus {
    STATUS_SUCCESS
}

thread_local! {
    static P2_MODE: std::cell::Cell<u8> = const { std::cell::Cell::new(0) };
}

/// A: copies its location down, registers a routine per `P2_MODE` (0 re-marks, 1 forgets,
/// 2 none), calls the device below.
unsafe extern "system-unwind" fn p2_top(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        io_copy_current_irp_stack_location_to_next(irp);
        match P2_MODE.with(|m| m.get()) {
            0 => io_set_completion_routine(irp, Some(p2_routine_remarks), ptr::null_mut(), true, true, true),
            1 => io_set_completion_routine(irp, Some(p2_routine_forgets), ptr::null_mut(), true, true, true),
            _ => {}
        }
        let status = io_call_driver(lower(), irp);
        // A dispatch routine returns what the lower driver returned.
        if status == STATUS_PENDING && P2_MODE.with(|m| m.get()) == 2 {
            // Without a routine, A must mark pending itself when returning pending.
            io_mark_irp_pending(irp);
        }
        status
    }
}

/// P2: pending propagates up only where each completion routine re-marks it (and
/// automatically where no routine is registered).
#[test]
fn completion_p2_pending_propagation() {
    let f = Fixture::new(p2_top);
    f.attach_below("Bottom", pend_plain);
    // SAFETY: the fixture's device is live while the fixture is.
    unsafe { assert_eq!((*f.device).stack_size.load(std::sync::atomic::Ordering::SeqCst), 2) };
    for (mode, expect) in [(0u8, 1u8), (1, 0), (2, 1)] {
        P2_MODE.with(|m| m.set(mode));
        let obs = Obs::default();
        // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
        unsafe {
            let irp = new_read(f.device, &obs);
            assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
            (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 1 };
            io_complete_request(irp, 0); // the bottom driver completes
            assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1);
            assert_eq!(
                obs.creator_pending.load(Ordering::SeqCst),
                expect,
                "mode {mode}: PendingReturned seen by the creator"
            );
            io_free_irp(irp);
        }
    }
}

// --- P3 ----------------------------------------------------------------------------------

unsafe extern "system-unwind" fn p3_stop(_d: *mut DeviceObject, irp: *mut Irp, c: *mut c_void) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    let obs = unsafe { &*(c as *const Obs) };
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    obs.log(format!("A stops the walk at CurrentLocation {}", unsafe { (*irp).current_location() }));
    STATUS_MORE_PROCESSING_REQUIRED
}

unsafe extern "system-unwind" fn p3_top(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        let obs = obs_of(irp);
        io_copy_current_irp_stack_location_to_next(irp);
        io_set_completion_routine(irp, Some(p3_stop), obs as *const Obs as *mut c_void, true, true, true);
        io_call_driver(lower(), irp)
    }
}

/// P3: a completion routine returning `STATUS_MORE_PROCESSING_REQUIRED` stops the walk;
/// `CurrentLocation` stays where it was; completing again resumes above.
#[test]
fn completion_p3_more_processing_required() {
    let f = Fixture::new(p3_top);
    f.attach_below("Bottom", complete_now);
    let obs = Obs::default();
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = new_read(f.device, &obs);
        io_call_driver(f.device, irp);
        assert_eq!(obs.events(), vec!["A stops the walk at CurrentLocation 2"]);
        assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 0, "walk stopped below the creator");
        assert_eq!((*irp).current_location(), 2, "CurrentLocation stays at A's location");
        assert!(!(*irp).is_completed());
        // A finishes its work and completes again: the walk resumes above A.
        io_complete_request(irp, 0);
        assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1);
        assert_eq!(obs.creator_status.load(Ordering::SeqCst), STATUS_SUCCESS);
        assert_eq!((*irp).current_location(), 3, "at the creator's level");
        io_free_irp(irp);
    }
}

// --- P4 ----------------------------------------------------------------------------------

thread_local! {
    static DEVICES: std::cell::RefCell<Vec<*mut DeviceObject>> = const { std::cell::RefCell::new(Vec::new()) };
}

unsafe extern "system-unwind" fn p4_record(d: *mut DeviceObject, _irp: *mut Irp, c: *mut c_void) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    let obs = unsafe { &*(c as *const Obs) };
    obs.log(format!("routine got {:p}", d));
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn p4_pass_down(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        let obs = obs_of(irp);
        let lower = DEVICES.with(|v| {
            let v = v.borrow();
            let i = v.iter().position(|&x| x == d).unwrap();
            v[i + 1]
        });
        io_copy_current_irp_stack_location_to_next(irp);
        io_set_completion_routine(irp, Some(p4_record), obs as *const Obs as *mut c_void, true, true, true);
        io_call_driver(lower, irp)
    }
}

/// P4: each completion routine gets its own level's device object; the top-level one
/// (the creator's) gets none.
#[test]
fn completion_p4_device_object_per_level() {
    let f = Fixture::new(p4_pass_down);
    let (_, mid) = f.add("Mid", p4_pass_down);
    let (_, bottom) = f.add("Bottom", complete_now);
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        io_attach_device_to_device_stack(mid, bottom);
        io_attach_device_to_device_stack(f.device, mid);
        assert_eq!((*f.device).stack_size.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!(io_get_attached_device(bottom), f.device);
    }
    DEVICES.with(|v| *v.borrow_mut() = vec![f.device, mid, bottom]);
    let obs = Obs::default();
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = new_read(f.device, &obs);
        assert_eq!(io_call_driver(f.device, irp), STATUS_SUCCESS);
        io_free_irp(irp);
    }
    assert_eq!(
        obs.events(),
        vec![format!("routine got {:p}", mid), format!("routine got {:p}", f.device), "creator completion".to_string()]
    );
    assert!(obs.creator_device.load(Ordering::SeqCst).is_null(), "the top-level routine gets no device");
}

/// P5: completing twice is reported as 0x44 MULTIPLE_IRP_COMPLETE_REQUESTS — here the
/// classic way: the cancel routine completes the IRP, and the driver's own path completes
/// it again without checking what clearing the cancel routine returned.
#[test]
fn completion_p5_double_completion_is_0x44() {
    let f = Fixture::with_mode(VerifierMode::Record, pend_cancelable);
    let obs = Obs::default();
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = new_read_with(f.device, &obs, Some(creator_continue), true, true, true);
        io_call_driver(f.device, irp);
        assert!(io_cancel_irp(irp)); // cancel routine completes: delivered and freed
                                     // Bug: ignore IoSetCancelRoutine's result and complete anyway.
        io_set_cancel_routine(irp, None);
        io_complete_request(irp, 0);
    }
    assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1, "the requester saw one completion");
    let reports = f.kernel.verifier().take_reports();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    let bc = reports[0].bugcheck().unwrap();
    assert_eq!((bc.code, bc.name), (0x44, "MULTIPLE_IRP_COMPLETE_REQUESTS"));
    assert!(reports[0].irp.is_some());
    assert_eq!(f.kernel.irps_outstanding(), 0);
}

/// P5 after the IRP was freed: still 0x44, never undefined behaviour.
#[test]
fn completion_p5_double_completion_after_free_is_0x44() {
    let f = Fixture::with_mode(VerifierMode::Record, complete_now);
    let obs = Obs::default();
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = new_read_with(f.device, &obs, None, false, false, false);
        assert_eq!(io_call_driver(f.device, irp), STATUS_SUCCESS); // completed, delivered, freed
        io_complete_request(irp, 0);
    }
    assert_eq!(f.rules(), vec!["double-completion"]);
}

/// P5 in strict mode: the violation stops the run, like a bug check.
#[test]
#[should_panic(expected = "0x44 MULTIPLE_IRP_COMPLETE_REQUESTS")]
fn completion_p5_strict_mode_panics() {
    let f = Fixture::new(complete_now);
    let obs = Obs::default();
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = new_read(f.device, &obs);
        io_call_driver(f.device, irp);
        io_complete_request(irp, 0);
        io_complete_request(irp, 0);
    }
}

/// P6: completing with a cancel routine set is reported as 0xC9/0x07.
#[test]
fn completion_p6_complete_with_cancel_routine_is_0xc9_07() {
    let f = Fixture::with_mode(VerifierMode::Record, pend_cancelable);
    let obs = Obs::default();
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = new_read(f.device, &obs);
        io_call_driver(f.device, irp);
        // Bug: complete without clearing the cancel routine.
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
        io_complete_request(irp, 0);
        io_free_irp(irp);
    }
    let reports = f.kernel.verifier().take_reports();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    let bc = reports[0].bugcheck().unwrap();
    assert_eq!((bc.code, bc.subcode, bc.name), (0xC9, Some(0x07), "DRIVER_VERIFIER_IOMANAGER_VIOLATION"));
}
