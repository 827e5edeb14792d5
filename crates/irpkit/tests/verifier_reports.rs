//! One test per verifier report, each triggered by a deliberately wrong driver routine,
//! plus proof that correct drivers trigger none. Most are rows of one table ([`cases!`]):
//! a read sent through the driver, what the test then does to it, the report expected;
//! the tests after it go their own ways.
#![cfg(not(any(loom, shuttle)))]

mod common;

use std::ptr;
use std::sync::atomic::Ordering;

use common::*;
use irpkit::nt::*;
use irpkit::verifier::{Report, VerifierMode};

fn only_report(f: &Fixture) -> Report {
    let mut reports = f.kernel.verifier().take_reports();
    assert_eq!(reports.len(), 1, "expected exactly one report, got {reports:#?}");
    let r = reports.remove(0);
    // Every report says what, where, how to fix, and links the documentation.
    let text = r.to_string();
    for part in ["what:", "where:", "fix:", "docs:  https://learn.microsoft.com/"] {
        assert!(text.contains(part), "report lacks {part:?}:\n{text}");
    }
    r
}

fn code(r: &Report) -> (u32, Option<u32>) {
    let bc = r.bugcheck().expect("a Windows code");
    (bc.code, bc.subcode)
}

/// The driver every fixture's device belongs to.
const TEST_DRIVER: &str = "\\Driver\\Test";

/// One read sent through a driver with a bug (or through its correct twin), what the test
/// then does to the IRP, and the report that must follow.
struct Case {
    /// The driver's dispatch routine.
    dispatch: DriverDispatch,
    /// The driver's StartIo routine, if it has one.
    start_io: Option<DriverStartIo>,
    /// A lower device (`Bottom`, which pends what it gets) attached under the driver's,
    /// reached through `lower()`.
    lower: bool,
    /// What IoCallDriver must return, when the case says.
    sent: Option<NtStatus>,
    /// What the test does to the IRP once sent, in order, before freeing it.
    then: &'static [Step],
    /// The one report expected; `None`: a correct twin, which reports nothing.
    expect: Option<Expect>,
}

impl Case {
    /// A read through `dispatch`, freed once sent; no report expected.
    fn new(dispatch: DriverDispatch) -> Self {
        Case { dispatch, start_io: None, lower: false, sent: None, then: &[], expect: None }
    }
}

/// What a test does to its IRP after IoCallDriver.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// IoCancelIrp, which must return TRUE.
    Cancel,
    /// IoCancelIrp at DISPATCH_LEVEL (so `CancelIrql` is 2), which must return TRUE.
    CancelAtDispatch,
    /// No spin lock is held (the verifier released what the driver kept).
    NoSpinLockHeld,
    /// The thread is back at PASSIVE_LEVEL.
    AtPassive,
    /// Nothing is reported yet.
    NoReportYet,
    /// IoSetCancelRoutine(NULL).
    ClearCancelRoutine,
    /// IoCompleteRequest with the status block as it is.
    Complete,
    /// IoCompleteRequest with `Irp->IoStatus.Status` set to this.
    CompleteWith(NtStatus),
    /// The creator's completion routine saw this status.
    CreatorSaw(NtStatus),
    /// The cancel routine ran this many times.
    CancelCalls(u32),
}

impl Step {
    /// Does this step to `irp` (read for `obs` on `f`'s device).
    ///
    /// # Safety
    /// `irp` is live and owned by the test.
    unsafe fn run(self, f: &Fixture, obs: &Obs, irp: *mut Irp) {
        // SAFETY: the caller's contract: a live, test-owned IRP.
        unsafe {
            match self {
                Step::Cancel => assert!(io_cancel_irp(irp)),
                Step::CancelAtDispatch => {
                    let old = ke_raise_irql(DISPATCH_LEVEL); // CancelIrql will be DISPATCH_LEVEL
                    assert!(io_cancel_irp(irp));
                    ke_lower_irql(old);
                }
                Step::NoSpinLockHeld => {
                    assert_eq!(irpkit::spin_locks_held(), 0, "the verifier released it to continue")
                }
                Step::AtPassive => assert_eq!(ke_get_current_irql(), PASSIVE_LEVEL),
                Step::NoReportYet => {
                    assert!(f.rules().is_empty(), "a store is only seen when the routine is taken out")
                }
                Step::ClearCancelRoutine => {
                    io_set_cancel_routine(irp, None);
                }
                Step::Complete => io_complete_request(irp, 0),
                Step::CompleteWith(status) => {
                    (*irp).io_status.status = status;
                    io_complete_request(irp, 0);
                }
                Step::CreatorSaw(status) => assert_eq!(obs.creator_status.load(Ordering::SeqCst), status),
                Step::CancelCalls(n) => assert_eq!(obs.cancel_calls.load(Ordering::SeqCst), n),
            }
        }
    }
}

/// The one report a case expects: its rule, and what the case checks of it.
struct Expect {
    /// The rule's id.
    rule: &'static str,
    /// The Windows code and subcode; `None`: the rule has none.
    bugcheck: Option<(u32, Option<u32>)>,
    /// The bug check's name.
    bugcheck_name: Option<&'static str>,
    /// Text the routine it names contains.
    routine: Option<&'static str>,
    /// The driver it names.
    driver: Option<&'static str>,
    /// Text its message contains.
    message: Option<&'static str>,
    /// The routine that detected it.
    detected_in: Option<&'static str>,
}

impl Expect {
    /// A report of `rule`, which has no Windows code; nothing else checked.
    fn rule(rule: &'static str) -> Self {
        Expect {
            rule,
            bugcheck: None,
            bugcheck_name: None,
            routine: None,
            driver: None,
            message: None,
            detected_in: None,
        }
    }

    /// A report of `rule` with the Windows code `code` (and subcode).
    fn code(rule: &'static str, code: u32, subcode: Option<u32>) -> Self {
        Expect { bugcheck: Some((code, subcode)), ..Expect::rule(rule) }
    }

    fn check(&self, r: &Report) {
        assert_eq!(r.rule.id(), self.rule);
        match self.bugcheck {
            Some(expected) => assert_eq!(code(r), expected),
            None => assert!(r.bugcheck().is_none()),
        }
        if let Some(name) = self.bugcheck_name {
            assert_eq!(r.rule.bugcheck().unwrap().name, name);
        }
        if let Some(routine) = self.routine {
            assert!(r.location.routine.contains(routine), "{}", r.location);
        }
        if let Some(driver) = self.driver {
            assert_eq!(r.location.driver.as_deref(), Some(driver));
        }
        if let Some(message) = self.message {
            assert!(r.message.contains(message), "{}", r.message);
        }
        if let Some(detected_in) = self.detected_in {
            assert_eq!(r.detected_in, detected_in);
        }
    }
}

/// Runs `case` on a fixture of its own (record mode) and checks its report; returns the
/// fixture, for a test that goes on.
fn run_case(case: &Case) -> Fixture {
    let f = Fixture::with_mode(VerifierMode::Record, case.dispatch);
    if let Some(start_io) = case.start_io {
        // SAFETY: the fixture's fresh driver.
        unsafe { (*f.driver).driver_start_io = Some(start_io) };
    }
    if case.lower {
        f.attach_below("Bottom", pend_plain);
    }
    let obs = Obs::default();
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = new_read(f.device, &obs);
        let status = io_call_driver(f.device, irp);
        if let Some(sent) = case.sent {
            assert_eq!(status, sent);
        }
        for step in case.then {
            step.run(&f, &obs, irp);
        }
        io_free_irp(irp);
    }
    match &case.expect {
        Some(expect) => expect.check(&only_report(&f)),
        None => assert!(f.rules().is_empty(), "{:?}", f.rules()),
    }
    f
}

/// One test per row: its cases run in order.
macro_rules! cases {
    ($($(#[$doc:meta])* $name:ident: [$($case:expr),+ $(,)?];)+) => {
        $(
            $(#[$doc])*
            #[test]
            fn $name() {
                $(run_case(&$case);)+
            }
        )+
    };
}

use Step::*;

cases! {
    /// 0x11B: a cancel routine returns holding the cancel spin lock.
    verifier_0x11b_cancel_routine_returns_holding_lock: [Case {
        then: &[Cancel, NoSpinLockHeld, AtPassive, Complete],
        expect: Some(Expect {
            routine: Some("cancel routine"),
            driver: Some(TEST_DRIVER),
            ..Expect::code("returned-holding-cancel-lock", 0x11B, None)
        }),
        ..Case::new(pend_with_bad_cancel)
    }];

    /// 0x11B from a dispatch routine (the SDV sample's bug).
    verifier_0x11b_dispatch_returns_holding_lock: [Case {
        then: &[NoSpinLockHeld, Complete],
        expect: Some(Expect {
            routine: Some("dispatch routine for IRP_MJ_READ"),
            ..Expect::code("returned-holding-cancel-lock", 0x11B, None)
        }),
        ..Case::new(dispatch_keeps_cancel_lock)
    }];

    /// 0xC9/0x06: completing with STATUS_PENDING.
    verifier_0xc9_06_complete_with_pending: [Case {
        expect: Some(Expect::code("complete-with-pending", 0xC9, Some(0x06))),
        ..Case::new(complete_pending_status)
    }];

    /// 0x2: KeRemoveDeviceQueue on a queue that is not busy.
    verifier_0x2_device_queue_not_busy: [Case {
        expect: Some(Expect {
            bugcheck_name: Some("DEVICE_QUEUE_NOT_BUSY"),
            ..Expect::code("device-queue-not-busy", 0x2, None)
        }),
        ..Case::new(remove_from_idle_queue)
    }];

    /// 0xA: IoCompleteRequest above DISPATCH_LEVEL.
    verifier_0xa_irql_too_high: [Case {
        expect: Some(Expect { message: Some("IRQL 3"), ..Expect::code("irql-too-high", 0xA, None) }),
        ..Case::new(complete_at_high_irql)
    }];

    /// Completing while holding a spin lock.
    verifier_complete_under_spin_lock: [Case {
        expect: Some(Expect::rule("complete-under-spin-lock")),
        ..Case::new(complete_under_lock)
    }];

    /// Cancelling an IRP the driver did not create (R6 at the driver level).
    verifier_foreign_irp_cancel: [Case {
        expect: Some(Expect { driver: Some(TEST_DRIVER), ..Expect::rule("foreign-irp-cancel") }),
        ..Case::new(cancels_what_it_received)
    }];

    /// The counterpart: cancelling its own IRP is allowed.
    verifier_own_irp_cancel_is_fine: [Case::new(allocates_and_cancels_own)];

    /// The cancel routine releases the lock with an IRQL other than `CancelIrql`.
    verifier_cancel_release_wrong_irql: [Case {
        then: &[CancelAtDispatch],
        expect: Some(Expect { message: Some("CancelIrql is 2"), ..Expect::rule("cancel-release-wrong-irql") }),
        ..Case::new(pend_wrong_irql)
    }];

    /// IoCallDriver with the cancel routine still set (0xC9 family, verifier 0x203).
    verifier_call_driver_with_cancel_routine: [Case {
        lower: true,
        then: &[ClearCancelRoutine, CompleteWith(STATUS_SUCCESS)],
        expect: Some(Expect::code("call-driver-with-cancel-routine", 0xC9, Some(0x203))),
        ..Case::new(passes_down_with_routine)
    }];

    /// Verifier 0x229: setting a cancel routine on an IRP a lower driver owns.
    verifier_0x229_cancel_routine_on_an_irp_a_lower_driver_owns: [Case {
        lower: true,
        sent: Some(STATUS_PENDING),
        then: &[CompleteWith(STATUS_SUCCESS)],
        expect: Some(Expect { driver: Some(TEST_DRIVER), ..Expect::code("cancel-routine-on-lower-irp", 0xC4, Some(0x229)) }),
        ..Case::new(sets_routine_after_passing_down)
    }];

    /// A cancel routine stored into `Irp->CancelRoutine` directly is reported when IoCancelIrp
    /// takes it; the twin sets it with IoSetCancelRoutine.
    verifier_cancel_routine_plain_store: [
        Case {
            sent: Some(STATUS_PENDING),
            then: &[NoReportYet, Cancel, CancelCalls(1)],
            expect: Some(Expect { detected_in: Some("IoCancelIrp"), ..Expect::rule("cancel-routine-plain-store") }),
            ..Case::new(pend_plain_store)
        },
        Case { sent: Some(STATUS_PENDING), then: &[Cancel], ..Case::new(pend_cancelable) },
    ];

    /// SDV StartIoCancel: StartIo made cancelable (NonCancelable = FALSE) before the IRP's
    /// cancel routine is registered; the twin registers it first.
    verifier_start_io_cancel_order: [
        Case {
            start_io: Some(start_io_cancelable_too_early),
            sent: Some(STATUS_PENDING),
            then: &[CreatorSaw(STATUS_SUCCESS)],
            expect: Some(Expect { routine: Some("StartIo"), ..Expect::rule("start-io-cancel") }),
            ..Case::new(start_packet_plain)
        },
        Case {
            start_io: Some(start_io_cancelable_after),
            sent: Some(STATUS_PENDING),
            then: &[CreatorSaw(STATUS_SUCCESS)],
            ..Case::new(start_packet_plain)
        },
    ];
}

/// Cancel lock discipline: acquiring it twice, and releasing it without holding it.
#[test]
fn verifier_cancel_lock_discipline() {
    let f = run_case(&Case {
        then: &[Cancel],
        expect: Some(Expect::rule("cancel-lock-discipline")),
        ..Case::new(pend_acquires_again)
    });
    // SAFETY: the thread does not hold the lock (no guard stands for it): reported.
    unsafe { io_release_cancel_spin_lock(PASSIVE_LEVEL) }; // release without acquire
    assert_eq!(only_report(&f).rule.id(), "cancel-lock-discipline");
}

/// 0x48: a completed IRP still had its cancel routine when IoCancelIrp ran.
#[test]
fn verifier_0x48_cancel_state_in_completed_irp() {
    let f = Fixture::with_mode(VerifierMode::Record, pend_cancelable);
    let obs = Obs::default();
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = new_read(f.device, &obs); // the creator keeps the IRP after completion
        io_call_driver(f.device, irp);
        (*irp).io_status.status = STATUS_SUCCESS;
        io_complete_request(irp, 0); // bug: cancel routine still set (0xC9/0x07)
        io_complete_request(irp, 0); // the creator finishes; the IRP is completed now
        let earlier: Vec<_> = f.kernel.verifier().take_reports().iter().map(|r| r.rule.id()).collect();
        assert_eq!(earlier, ["complete-with-cancel-routine", "complete-with-cancel-routine"]);
        assert!(!io_cancel_irp(irp), "the routine is not called on a completed IRP");
    }
    let r = only_report(&f);
    assert_eq!(code(&r), (0x48, None));
    assert_eq!(r.rule.bugcheck().unwrap().name, "CANCEL_STATE_IN_COMPLETED_IRP");
    assert_eq!(obs.cancel_calls.load(Ordering::SeqCst), 0);
}

unsafe extern "system-unwind" fn cancel_keeps_lock(_d: *mut DeviceObject, irp: *mut Irp) {
    // Bug: completes without releasing the cancel spin lock.
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
    }
}

unsafe extern "system-unwind" fn pend_with_bad_cancel(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        io_mark_irp_pending(irp);
        io_set_cancel_routine(irp, Some(cancel_keeps_lock));
    }
    STATUS_PENDING
}

unsafe extern "system-unwind" fn dispatch_keeps_cancel_lock(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        let _irql = io_acquire_cancel_spin_lock();
        // Bug: returns without IoReleaseCancelSpinLock.
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
    }
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn complete_pending_status(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        (*irp).io_status = IoStatusBlock { status: STATUS_PENDING, information: 0 };
        io_complete_request(irp, 0);
    }
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn remove_from_idle_queue(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        // Bug: the device queue is not busy (nothing was ever started).
        let e = ke_remove_device_queue(&raw mut (*d).device_queue);
        assert!(e.is_null());
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
        io_complete_request(irp, 0);
    }
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn complete_at_high_irql(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        let old = ke_raise_irql(DISPATCH_LEVEL + 1); // a device IRQL
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
        io_complete_request(irp, 0); // bug: above DISPATCH_LEVEL
        ke_lower_irql(old);
    }
    STATUS_SUCCESS
}

/// 0x9: lowering the IRQL to a higher level.
#[test]
fn verifier_0x9_irql_not_greater_or_equal() {
    let f = Fixture::with_mode(VerifierMode::Record, complete_now);
    ke_lower_irql(DISPATCH_LEVEL); // bug: at PASSIVE_LEVEL
    ke_lower_irql(PASSIVE_LEVEL);
    assert_eq!(code(&only_report(&f)), (0x9, None));
}

unsafe extern "system-unwind" fn complete_under_lock(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        let lock = &(*d).device_queue.lock;
        let irql = ke_acquire_spin_lock(lock);
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
        io_complete_request(irp, 0); // bug: under a spin lock
        ke_release_spin_lock(lock, irql);
    }
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn cancels_what_it_received(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        io_mark_irp_pending(irp);
        io_cancel_irp(irp); // bug: the IRP came from above
        (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
        io_complete_request(irp, 0);
    }
    STATUS_PENDING
}

unsafe extern "system-unwind" fn allocates_and_cancels_own(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        // Correct: a driver may cancel an IRP it allocated itself.
        let own = io_allocate_irp(1, false);
        let _ = d;
        assert!(!io_cancel_irp(own));
        io_free_irp(own);
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
        io_complete_request(irp, 0);
    }
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn cancel_wrong_irql(_d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        io_release_cancel_spin_lock(PASSIVE_LEVEL); // bug: not Irp->CancelIrql
        (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
        io_complete_request(irp, 0);
    }
}

unsafe extern "system-unwind" fn pend_wrong_irql(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        io_mark_irp_pending(irp);
        io_set_cancel_routine(irp, Some(cancel_wrong_irql));
    }
    STATUS_PENDING
}

unsafe extern "system-unwind" fn cancel_acquires_again(_d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        let _ = io_acquire_cancel_spin_lock(); // bug: entered holding it
        io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed));
        (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
        io_complete_request(irp, 0);
    }
}

unsafe extern "system-unwind" fn pend_acquires_again(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        io_mark_irp_pending(irp);
        io_set_cancel_routine(irp, Some(cancel_acquires_again));
    }
    STATUS_PENDING
}

unsafe extern "system-unwind" fn passes_down_with_routine(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the routine contract: the caller passes live objects, owned as the NT rules say.
    unsafe {
        io_set_cancel_routine(irp, Some(cancel_complete));
        io_copy_current_irp_stack_location_to_next(irp);
        // Bug: the cancel routine is still set.
        io_call_driver(lower(), irp)
    }
}

/// IoCallDriver with no stack location left: 0x35.
#[test]
fn verifier_0x35_no_more_stack_locations() {
    let f = Fixture::with_mode(VerifierMode::Record, complete_now);
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = io_allocate_irp(1, false);
        (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
        assert_eq!(io_call_driver(f.device, irp), STATUS_SUCCESS);
        let irp2 = io_allocate_irp(1, false);
        io_set_next_irp_stack_location(irp2); // the creator used the only location itself
        assert_eq!(io_call_driver(f.device, irp2), STATUS_INVALID_PARAMETER);
        io_free_irp(irp2);
    }
    assert_eq!(code(&only_report(&f)), (0x35, None));
}

/// Spin lock discipline: acquiring a KSPIN_LOCK twice on one thread, releasing one that
/// is not held.
#[test]
fn verifier_spin_lock_discipline() {
    let f = Fixture::with_mode(VerifierMode::Record, complete_now);
    let lock = KSpinLock::new();
    let irql = ke_acquire_spin_lock(&lock);
    let _ = ke_acquire_spin_lock(&lock); // deadlock on a real processor
    assert_eq!(only_report(&f).rule.id(), "spin-lock-discipline");
    ke_release_spin_lock(&lock, irql);
    assert!(f.rules().is_empty());
    ke_release_spin_lock(&lock, irql);
    assert_eq!(only_report(&f).rule.id(), "spin-lock-discipline");
    assert_eq!(ke_get_current_irql(), PASSIVE_LEVEL);
}

/// A strict-mode report is a panic whose message is the full report.
#[test]
fn verifier_strict_mode_message_is_actionable() {
    let f = Fixture::new(complete_under_lock);
    let obs = Obs::default();
    let device = f.device;
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    let msg = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
        let irp = new_read(device, &obs);
        io_call_driver(device, irp);
    }))
    .expect_err("strict mode panics");
    let msg = msg.downcast_ref::<String>().expect("a formatted report");
    assert!(msg.contains("[complete-under-spin-lock]"), "{msg}");
    assert!(msg.contains("where: dispatch routine for IRP_MJ_READ (called for IRP #1) of \\Driver\\Test"), "{msg}");
    assert!(msg.contains("fix:   Release every spin lock"), "{msg}");
}

/// Correct drivers trigger nothing: the documented patterns, run in record mode.
#[test]
fn verifier_correct_drivers_report_nothing() {
    let f = Fixture::with_mode(VerifierMode::Record, pend_cancelable);
    let (_, quick) = f.add("Quick", complete_now);
    let (_, plain) = f.add("Plain", pend_plain);
    for i in 0..200 {
        let obs = Obs::default();
        // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
        unsafe {
            // cancelled while parked
            let a = new_read(f.device, &obs);
            io_call_driver(f.device, a);
            if i % 2 == 0 {
                assert!(io_cancel_irp(a));
                assert!(!driver_finish(a, STATUS_SUCCESS, 1));
            } else {
                assert!(driver_finish(a, STATUS_SUCCESS, 1));
                assert!(!io_cancel_irp(a));
            }
            io_free_irp(a);
            // completed synchronously, delivered, freed
            let mut iosb = IoStatusBlock::default();
            let b = new_read_with(quick, &obs, None, false, false, false);
            (*b).user_iosb = &mut iosb;
            assert_eq!(io_call_driver(quick, b), STATUS_SUCCESS);
            assert_eq!(iosb, IoStatusBlock { status: STATUS_SUCCESS, information: 16 });
            // pended without a routine, cancel returns FALSE, completed later
            let c = new_read(plain, &obs);
            io_call_driver(plain, c);
            assert!(!io_cancel_irp(c));
            (*c).io_status.status = STATUS_SUCCESS;
            io_complete_request(c, 0);
            io_free_irp(c);
        }
    }
    assert!(f.rules().is_empty(), "{:#?}", f.kernel.verifier().reports());
    assert_eq!(f.kernel.irps_outstanding(), 0);
}

unsafe extern "system-unwind" fn start_io_noop(_d: *mut DeviceObject, _irp: *mut Irp) {}

unsafe extern "system-unwind" fn start_packet_dispatch(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract.
    unsafe {
        io_mark_irp_pending(irp);
        io_start_packet(d, irp, None, Some(cancel_forgets_the_queue));
    }
    STATUS_PENDING
}

unsafe extern "system-unwind" fn cancel_forgets_the_queue(_d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: called with the cancel lock held.
    unsafe {
        io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed));
        // Bug: completes without KeRemoveEntryDeviceQueue; the IRP stays linked.
        (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
        io_complete_request(irp, 0);
    }
}

/// Completing an IRP that is still linked in its device queue.
#[test]
fn verifier_completed_while_queued() {
    let f = Fixture::with_mode(VerifierMode::Record, start_packet_dispatch);
    // SAFETY: the fixture's fresh driver.
    unsafe { (*f.driver).driver_start_io = Some(start_io_noop) };
    let (o1, o2) = (Obs::default(), Obs::default());
    // SAFETY: test-owned IRPs; the device is left as the bug leaves it.
    unsafe {
        let first = new_read(f.device, &o1);
        io_call_driver(f.device, first); // current
        let queued = new_read(f.device, &o2);
        io_call_driver(f.device, queued); // in the device queue
        assert!(io_cancel_irp(queued));
    }
    let r = only_report(&f);
    assert_eq!(r.rule.id(), "completed-while-queued");
    assert!(r.location.routine.contains("cancel routine"), "{}", r.location);
}

thread_local! {
    static BUILT: std::cell::RefCell<Option<(Box<IoStatusBlock>, Box<KEvent>)>> = const { std::cell::RefCell::new(None) };
}

unsafe extern "system-unwind" fn builds_and_cancels_its_own(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract; the built IRP's status block and event outlive it.
    unsafe {
        let mut iosb = Box::new(IoStatusBlock { status: STATUS_PENDING, information: 0 });
        let mut event = Box::new(KEvent::new(EventType::Notification, false));
        let lower = lower();
        let built = io_build_device_io_control_request(
            0x22_2004,
            lower,
            ptr::null_mut(),
            0,
            ptr::null_mut(),
            0,
            false,
            &mut *event,
            &mut *iosb,
        );
        // Its dispatch routine parks it (pend_cancelable reads DriverContext[0]).
        set_obs(built, Box::leak(Box::new(Obs::default())));
        assert_eq!(io_call_driver(lower, built), STATUS_PENDING);
        assert!(io_cancel_irp(built), "the creator may cancel the IRP it built");
        assert_eq!(ke_read_state_event(&event), 1, "the I/O manager delivered its result");
        assert_eq!(iosb.status, STATUS_CANCELLED);
        BUILT.with(|b| *b.borrow_mut() = Some((iosb, event)));
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
        io_complete_request(irp, 0);
    }
    STATUS_SUCCESS
}

/// The ownership rule's other side: a driver cancelling an IRP it built
/// (IoBuildDeviceIoControlRequest) is fine, and the I/O manager delivers and frees it.
#[test]
fn verifier_creator_may_cancel_the_irps_it_built() {
    let f = Fixture::with_mode(VerifierMode::Record, builds_and_cancels_its_own);
    let (_, lower) = f.add("Lower", pend_cancelable);
    set_lower(lower);
    let obs = Obs::default();
    // SAFETY: a test-owned IRP for the fixture's live device.
    unsafe {
        let irp = new_read(f.device, &obs);
        assert_eq!(io_call_driver(f.device, irp), STATUS_SUCCESS);
        io_free_irp(irp);
    }
    assert!(BUILT.with(|b| b.borrow().is_some()));
    assert!(f.rules().is_empty(), "{:#?}", f.kernel.verifier().reports());
    assert_eq!(f.kernel.irps_outstanding(), 0, "the built IRP was freed by the I/O manager");
}

unsafe extern "system-unwind" fn sets_routine_after_passing_down(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract (broken on purpose below).
    unsafe {
        io_copy_current_irp_stack_location_to_next(irp);
        let status = io_call_driver(lower(), irp);
        // Bug: the lower driver owns the IRP now.
        io_set_cancel_routine(irp, Some(cancel_complete));
        io_set_cancel_routine(irp, None);
        status
    }
}

unsafe extern "system-unwind" fn pends_without_checking_cancel(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract (broken on purpose: Cancel is not checked).
    unsafe {
        io_mark_irp_pending(irp);
        io_set_cancel_routine(irp, Some(cancel_complete));
    }
    STATUS_PENDING
}

/// SDV IrpCancelField: a dispatch routine that pends an already-cancelled IRP with a
/// cancel routine nobody will call.
#[test]
fn verifier_cancel_flag_not_checked() {
    let f = Fixture::with_mode(VerifierMode::Record, pends_without_checking_cancel);
    let obs = Obs::default();
    // SAFETY: a test-owned IRP, cancelled by its creator before it is sent.
    unsafe {
        let irp = new_read(f.device, &obs);
        assert!(!io_cancel_irp(irp));
        assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
        let r = only_report(&f);
        assert_eq!(r.rule.id(), "cancel-flag-not-checked");
        // The correct twin (`pend_cancelable`) checks and completes it at once; this one is
        // stuck until someone takes the routine back.
        assert!(io_set_cancel_routine(irp, None).is_some());
        (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
        io_complete_request(irp, 0);
        io_free_irp(irp);
    }
    // The correct twin reports nothing.
    let g = Fixture::with_mode(VerifierMode::Record, pend_cancelable);
    let obs = Obs::default();
    // SAFETY: as above.
    unsafe {
        let irp = new_read(g.device, &obs);
        assert!(!io_cancel_irp(irp));
        assert_eq!(io_call_driver(g.device, irp), STATUS_PENDING);
        assert_eq!(obs.creator_status.load(Ordering::SeqCst), STATUS_CANCELLED);
        io_free_irp(irp);
    }
    assert!(g.rules().is_empty(), "{:?}", g.rules());
}

unsafe extern "system-unwind" fn start_packet_cancelable(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract.
    unsafe {
        io_mark_irp_pending(irp);
        io_start_packet(d, irp, None, Some(cancel_removes_from_queue));
    }
    STATUS_PENDING
}

/// The seed's cancel routine for a queued (not current) IRP.
unsafe extern "system-unwind" fn cancel_removes_from_queue(d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: called with the cancel lock held; `d` is the IRP's live device.
    unsafe {
        let removed = ke_remove_entry_device_queue(&raw mut (*d).device_queue, Irp::device_queue_entry(irp));
        io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed));
        if removed {
            (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
            io_complete_request(irp, 0);
        }
    }
}

/// Leak accounting at IoDeleteDevice: a device deleted with an IRP still in its device
/// queue loses that IRP (reported with the IRP); the correct twin cancels the queued IRP
/// and finishes the current one first, and is silent.
#[test]
fn verifier_irp_leaked_in_device_queue_at_delete() {
    for drain in [false, true] {
        let f = Fixture::with_mode(VerifierMode::Record, start_packet_cancelable);
        // SAFETY: the fixture's fresh driver.
        unsafe { (*f.driver).driver_start_io = Some(start_io_noop) };
        let (o1, o2) = (Obs::default(), Obs::default());
        // SAFETY: test-owned IRPs on the fixture's device.
        let queued = unsafe {
            let first = new_read(f.device, &o1);
            assert_eq!(io_call_driver(f.device, first), STATUS_PENDING); // current
            let queued = new_read(f.device, &o2);
            assert_eq!(io_call_driver(f.device, queued), STATUS_PENDING); // in the device queue
            if drain {
                assert!(io_cancel_irp(queued));
                assert!(driver_finish(first, STATUS_SUCCESS, 0));
                io_start_next_packet(f.device, true);
            }
            io_delete_device(f.device);
            queued
        };
        if drain {
            assert!(f.rules().is_empty(), "{:#?}", f.kernel.verifier().reports());
            assert_eq!(o2.events().len(), 1, "the cancelled IRP completed once: {:?}", o2.events());
        } else {
            let r = only_report(&f);
            assert_eq!(r.rule.id(), "irp-leaked");
            assert_eq!(
                r.irp.as_ref().map(|s| s.address),
                Some(queued as usize),
                "the report names the queued IRP: {r}"
            );
            assert!(r.to_string().contains("device queue"), "{r}");
        }
    }
}

unsafe extern "system-unwind" fn unload_deletes_devices(driver: *mut DriverObject) {
    // SAFETY: the Unload contract: the driver's own object and devices.
    unsafe {
        while !(*driver).device_object.is_null() {
            io_delete_device((*driver).device_object);
        }
    }
}

/// Leak accounting at driver unload: an IRP still pending at one of the driver's devices
/// (here held with a cancel routine, never completed) is lost with the driver and
/// reported with the IRP; the twin cancels it first and unloads silently. A completed IRP
/// the requester has not freed yet is not the driver's and is not reported.
#[test]
fn verifier_irp_leaked_at_driver_unload() {
    for cancel_first in [false, true] {
        let f = Fixture::with_mode(VerifierMode::Record, pend_cancelable);
        // SAFETY: the fixture's fresh driver.
        unsafe { (*f.driver).driver_unload = Some(unload_deletes_devices) };
        let (o1, o2) = (Obs::default(), Obs::default());
        // SAFETY: test-owned IRPs on the fixture's device; the driver is unloaded only
        // after the test is done calling it.
        let held = unsafe {
            let done = new_read(f.device, &o1);
            assert_eq!(io_call_driver(f.device, done), STATUS_PENDING);
            assert!(driver_finish(done, STATUS_SUCCESS, 0), "completed, kept by its creator");
            let held = new_read(f.device, &o2);
            assert_eq!(io_call_driver(f.device, held), STATUS_PENDING);
            if cancel_first {
                assert!(io_cancel_irp(held));
            }
            f.kernel.unload_driver(f.driver);
            held
        };
        if cancel_first {
            assert!(f.rules().is_empty(), "{:#?}", f.kernel.verifier().reports());
            let completions = o2.events().iter().filter(|e| e.as_str() == "creator completion").count();
            assert_eq!(completions, 1, "the cancelled IRP completed once: {:?}", o2.events());
        } else {
            let r = only_report(&f);
            assert_eq!(r.rule.id(), "irp-leaked");
            assert_eq!(r.irp.as_ref().map(|s| s.address), Some(held as usize), "the report names the held IRP: {r}");
            assert!(r.to_string().contains("unloaded"), "{r}");
        }
    }
}

unsafe extern "system-unwind" fn pends_without_marking(_d: *mut DeviceObject, _irp: *mut Irp) -> NtStatus {
    STATUS_PENDING // bug: no IoMarkIrpPending
}

unsafe extern "system-unwind" fn marks_then_completes(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract.
    unsafe {
        io_mark_irp_pending(irp);
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
        io_complete_request(irp, 0);
    }
    STATUS_SUCCESS // bug: marked pending, so it must return STATUS_PENDING
}

unsafe extern "system-unwind" fn passes_down(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract; the lower device is live.
    unsafe {
        io_copy_current_irp_stack_location_to_next(irp);
        io_call_driver(lower(), irp)
    }
}

/// SDV MarkIrpPending2 / MarkIrpPending: STATUS_PENDING without IoMarkIrpPending, and
/// IoMarkIrpPending with another status; a filter returning its lower driver's
/// STATUS_PENDING (it passed the IRP down) and the documented pattern report nothing.
#[test]
fn verifier_pending_mismatch() {
    let f = Fixture::with_mode(VerifierMode::Record, pends_without_marking);
    let obs = Obs::default();
    // SAFETY: test-owned IRPs; the fixture's devices are live.
    unsafe {
        let irp = new_read(f.device, &obs);
        assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
        let r = only_report(&f);
        assert_eq!(r.rule.id(), "pending-mismatch");
        assert!(r.message.contains("without calling IoMarkIrpPending"), "{}", r.message);
        assert!(r.location.routine.contains("dispatch routine for IRP_MJ_READ"), "{}", r.location);
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
        io_complete_request(irp, 0);
        io_free_irp(irp);
    }
    let g = Fixture::with_mode(VerifierMode::Record, marks_then_completes);
    // SAFETY: as above.
    unsafe {
        let irp = new_read(g.device, &obs);
        assert_eq!(io_call_driver(g.device, irp), STATUS_SUCCESS);
        let r = only_report(&g);
        assert_eq!(r.rule.id(), "pending-mismatch");
        assert!(r.message.contains("called IoMarkIrpPending but returned STATUS_SUCCESS"), "{}", r.message);
        io_free_irp(irp);
    }
    // Twins: a filter over a pending driver, and the pending driver alone.
    let h = Fixture::with_mode(VerifierMode::Record, passes_down);
    let (_, lower) = h.add("Lower", pend_plain);
    // SAFETY: as above; the filter sits on the lower device's stack.
    unsafe {
        io_attach_device_to_device_stack(h.device, lower);
        set_lower(lower);
        let irp = new_read(h.device, &obs);
        assert_eq!(io_call_driver(h.device, irp), STATUS_PENDING);
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
        io_complete_request(irp, 0);
        io_free_irp(irp);
        let irp = new_read(lower, &obs);
        assert_eq!(io_call_driver(lower, irp), STATUS_PENDING);
        io_complete_request(irp, 0);
        io_free_irp(irp);
    }
    assert!(h.rules().is_empty(), "{:?}", h.rules());
}

unsafe extern "system-unwind" fn pend_plain_store(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract.
    unsafe {
        io_mark_irp_pending(irp);
        (*irp).cancel_routine.store_plain(Some(cancel_complete)); // bug: `Irp->CancelRoutine = ...`
    }
    STATUS_PENDING
}

unsafe extern "system-unwind" fn start_io_cancelable_too_early(d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the StartIo contract.
    unsafe {
        io_set_start_io_attributes(d, true, false); // bug: before the routine is set
        io_set_cancel_routine(irp, Some(cancel_complete));
        if io_set_cancel_routine(irp, None).is_some() {
            (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
            io_complete_request(irp, 0);
        }
        io_start_next_packet(d, false);
    }
}

unsafe extern "system-unwind" fn start_io_cancelable_after(d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the StartIo contract.
    unsafe {
        io_set_cancel_routine(irp, Some(cancel_complete));
        io_set_start_io_attributes(d, true, false);
        if io_set_cancel_routine(irp, None).is_some() {
            (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
            io_complete_request(irp, 0);
        }
        io_start_next_packet(d, false);
    }
}

unsafe extern "system-unwind" fn start_packet_plain(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract.
    unsafe {
        io_mark_irp_pending(irp);
        io_start_packet(d, irp, None, None);
    }
    STATUS_PENDING
}

unsafe extern "system-unwind" fn cancel_first(d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the cancel routine contract; the IRP carries an `Obs`.
    unsafe {
        obs_of(irp).log("first cancel routine");
        cancel_complete(d, irp);
    }
}

unsafe extern "system-unwind" fn cancel_second(d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the cancel routine contract; the IRP carries an `Obs`.
    unsafe {
        obs_of(irp).log("second cancel routine");
        cancel_complete(d, irp);
    }
}

fn addr(r: Option<DriverCancel>) -> Option<usize> {
    r.map(|f| f as usize)
}

/// IoSetCancelRoutine(A), IoSetCancelRoutine(B), IoSetCancelRoutine(NULL) on a pending
/// IRP: each call returns the routine set before it (none, A, B), and replacing one
/// routine by another through IoSetCancelRoutine is no plain store. Then B is set again
/// and IoCancelIrp takes it. Returns the fixture to inspect its reports.
fn set_a_then_b_then_null(mode: VerifierMode) -> Fixture {
    let f = Fixture::with_mode(mode, pend_plain);
    let obs = Obs::default();
    // SAFETY: a test-owned IRP, pending in the fixture's driver, which does not touch it.
    unsafe {
        let irp = new_read(f.device, &obs);
        assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
        assert_eq!(addr(io_set_cancel_routine(irp, Some(cancel_first))), None);
        assert_eq!(addr(io_set_cancel_routine(irp, Some(cancel_second))), addr(Some(cancel_first)));
        assert_eq!(addr(io_set_cancel_routine(irp, None)), addr(Some(cancel_second)));
        assert_eq!(addr(io_set_cancel_routine(irp, Some(cancel_first))), None);
        assert_eq!(addr(io_set_cancel_routine(irp, Some(cancel_second))), addr(Some(cancel_first)));
        assert!(io_cancel_irp(irp), "IoCancelIrp takes the second routine");
        assert_eq!(obs.events(), ["second cancel routine", "cancel routine", "creator completion"]);
        io_free_irp(irp);
    }
    f
}

/// Replacing one cancel routine by another through IoSetCancelRoutine is legal (it returns
/// the previous one): strict mode (any report panics) stays quiet.
#[test]
fn verifier_cancel_routine_replaced_through_the_api_strict() {
    let f = set_a_then_b_then_null(VerifierMode::Strict);
    assert_eq!(f.kernel.verifier().report_count(), 0);
}

/// The same in record mode: no report at all.
#[test]
fn verifier_cancel_routine_replaced_through_the_api_records_nothing() {
    let f = set_a_then_b_then_null(VerifierMode::Record);
    assert!(f.rules().is_empty(), "{:?}", f.rules());
}

unsafe extern "system-unwind" fn filter_leaves_routine(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract; the lower device is set by the test.
    unsafe {
        io_set_cancel_routine(irp, Some(cancel_first)); // left set: a bug of its own
        io_copy_current_irp_stack_location_to_next(irp);
        io_call_driver(lower(), irp)
    }
}

unsafe extern "system-unwind" fn lower_sets_own_routine(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract.
    unsafe {
        io_mark_irp_pending(irp);
        let previous = io_set_cancel_routine(irp, Some(cancel_second));
        assert_eq!(addr(previous), addr(Some(cancel_first)), "the filter's routine comes back");
    }
    STATUS_PENDING
}

/// A lower driver setting its routine over one a filter left behind (set through
/// IoSetCancelRoutine) is reported once, at IoCallDriver, for the filter's bug — not a
/// second time as a plain store.
#[test]
fn verifier_routine_set_over_a_filters_is_no_plain_store() {
    let f = Fixture::with_mode(VerifierMode::Record, filter_leaves_routine);
    let (_, lower) = f.add("Lower", lower_sets_own_routine);
    let obs = Obs::default();
    // SAFETY: a test-owned IRP; the filter sits on the lower device's stack.
    unsafe {
        io_attach_device_to_device_stack(f.device, lower);
        set_lower(lower);
        let irp = new_read(f.device, &obs);
        assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
        assert!(io_cancel_irp(irp), "IoCancelIrp takes the lower driver's routine");
        assert_eq!(obs.events(), ["second cancel routine", "cancel routine", "creator completion"]);
        io_free_irp(irp);
    }
    assert_eq!(f.rules(), ["call-driver-with-cancel-routine"]);
}

/// A plain store over a routine set through IoSetCancelRoutine is still reported, by the
/// IoSetCancelRoutine that takes it out.
#[test]
fn verifier_plain_store_over_an_api_routine_is_reported() {
    let f = Fixture::with_mode(VerifierMode::Record, pend_plain);
    let obs = Obs::default();
    // SAFETY: a test-owned IRP, pending in the fixture's driver, which does not touch it.
    unsafe {
        let irp = new_read(f.device, &obs);
        assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
        assert_eq!(addr(io_set_cancel_routine(irp, Some(cancel_first))), None);
        (*irp).cancel_routine.store_plain(Some(cancel_second)); // bug: `Irp->CancelRoutine = ...`
        assert!(f.rules().is_empty(), "a store is only seen when the routine is taken out");
        assert_eq!(addr(io_set_cancel_routine(irp, None)), addr(Some(cancel_second)));
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
        io_complete_request(irp, 0);
        io_free_irp(irp);
    }
    let r = only_report(&f);
    assert_eq!(r.rule.id(), "cancel-routine-plain-store");
    assert_eq!(r.detected_in, "IoSetCancelRoutine");
}
