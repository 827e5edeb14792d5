//! Conformance cases S1–S8: StartIo drivers, "Cancel Routines in Drivers with StartIo Routines" case by case, with a
//! serial-style test driver written against the NT layer exactly as the page describes.
#![cfg(not(any(loom, shuttle)))]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

use common::*;
use irpkit::nt::*;
use irpkit::verifier::VerifierMode;

/// The test driver's device extension.
#[derive(Default)]
struct Ext {
    log: Mutex<Vec<String>>,
    /// StartIo finishes each IRP at once and starts the next packet itself.
    finish_in_start_io: AtomicBool,
    depth: AtomicU32,
    max_depth: AtomicU32,
    completed: AtomicU32,
}

fn ext<'a>(d: *mut DeviceObject) -> &'a Ext {
    // SAFETY: every device of this driver has an `Ext` written at creation.
    unsafe { &*((*d).device_extension as *const Ext) }
}

fn log(d: *mut DeviceObject, e: String) {
    ext(d).log.lock().unwrap().push(e);
}

fn id(irp: *mut Irp) -> u64 {
    // SAFETY: the IRP's user_buffer holds the test's label (a number), set at creation.
    unsafe { (*irp).user_buffer as u64 }
}

/// Dispatch: mark pending, IoStartPacket with the seed's cancel routine.
unsafe extern "system-unwind" fn dispatch(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract.
    unsafe {
        io_mark_irp_pending(irp);
        let key = (*io_get_current_irp_stack_location(irp)).parameters.read.key;
        let keyed = (*io_get_current_irp_stack_location(irp)).parameters.read.flags == 1;
        io_start_packet(d, irp, keyed.then_some(key), Some(seed_cancel));
    }
    STATUS_PENDING
}

/// The cancel routine of "Cancel Routines in Drivers with StartIo Routines", step by step.
unsafe extern "system-unwind" fn seed_cancel(d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: called by IoCancelIrp / IoStartPacket with the cancel lock held.
    unsafe {
        // 1. The current IRP: StartIo owns it.
        if irp == (*d).current_irp.load(std::sync::atomic::Ordering::SeqCst) {
            log(d, format!("cancel #{}: current, release", id(irp)));
            io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed));
            return;
        }
        // 2. In the device queue: remove, release, complete STATUS_CANCELLED / 0.
        if ke_remove_entry_device_queue(&raw mut (*d).device_queue, Irp::device_queue_entry(irp)) {
            log(d, format!("cancel #{}: removed from queue", id(irp)));
            io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed));
            (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
            io_complete_request(irp, 0);
            return;
        }
        // Neither: release and return.
        log(d, format!("cancel #{}: neither current nor queued", id(irp)));
        io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed));
    }
}

/// StartIo: checks `Cancel` under the cancel lock; keeps the routine set (a transfer can
/// be cancelled midway) unless the IRP was cancelled already.
unsafe extern "system-unwind" fn start_io(d: *mut DeviceObject, irp: *mut Irp) {
    let e = ext(d);
    let depth = e.depth.fetch_add(1, Ordering::SeqCst) + 1;
    e.max_depth.fetch_max(depth, Ordering::SeqCst);
    // SAFETY: the StartIo contract: `irp` is the current IRP, owned by this path.
    unsafe {
        log(
            d,
            format!(
                "StartIo #{} at IRQL {} current={} routine={}",
                id(irp),
                ke_get_current_irql(),
                (*d).current_irp.load(std::sync::atomic::Ordering::SeqCst) == irp,
                (*irp).cancel_routine.load().is_some()
            ),
        );
        let irql = io_acquire_cancel_spin_lock();
        if (*irp).is_cancelled() {
            io_set_cancel_routine(irp, None);
            io_release_cancel_spin_lock(irql);
            finish(d, irp, STATUS_CANCELLED);
            io_start_next_packet(d, true);
        } else {
            io_release_cancel_spin_lock(irql);
            if e.finish_in_start_io.load(Ordering::SeqCst) {
                hardware_done(d, STATUS_SUCCESS);
            }
        }
    }
    e.depth.fetch_sub(1, Ordering::SeqCst);
}

/// # Safety
/// `irp` is owned by the caller and has no cancel routine.
unsafe fn finish(d: *mut DeviceObject, irp: *mut Irp, status: NtStatus) {
    log(d, format!("complete #{} {}", id(irp), describe_status(status)));
    ext(d).completed.fetch_add(1, Ordering::SeqCst);
    // SAFETY: forwarded contract.
    unsafe {
        (*irp).io_status = IoStatusBlock { status, information: 0 };
        io_complete_request(irp, 0);
    }
}

/// The "hardware" finished the current transfer (what the DPC does): take the IRP back
/// from the cancel routine under the cancel lock, complete it (cancelled if `Cancel` was
/// set meanwhile), start the next packet.
///
/// # Safety
/// The device has a current IRP owned by the StartIo path.
unsafe fn hardware_done(d: *mut DeviceObject, status: NtStatus) {
    // SAFETY: forwarded contract.
    unsafe {
        let old = ke_raise_irql(DISPATCH_LEVEL);
        let irql = io_acquire_cancel_spin_lock();
        let irp = (*d).current_irp.load(std::sync::atomic::Ordering::SeqCst);
        assert!(!irp.is_null(), "a current IRP");
        io_set_cancel_routine(irp, None);
        let cancelled = (*irp).is_cancelled();
        io_release_cancel_spin_lock(irql);
        finish(d, irp, if cancelled { STATUS_CANCELLED } else { status });
        io_start_next_packet(d, true);
        ke_lower_irql(old);
    }
}

struct Serial {
    f: Fixture,
}

impl Serial {
    fn new(mode: VerifierMode) -> Self {
        let mut f = Fixture::with_mode(mode, dispatch);
        // SAFETY: fresh driver and device of the fixture.
        unsafe {
            (*f.driver).driver_start_io = Some(start_io);
            let dev = io_create_device(f.driver, std::mem::size_of::<Ext>(), Some("Serial0"), 0x1b, 0, false).unwrap();
            ((*dev).device_extension as *mut Ext).write(Ext::default());
            f.device = dev;
            Serial { f }
        }
    }
    fn dev(&self) -> *mut DeviceObject {
        self.f.device
    }
    /// Sends a read labelled `n` (optionally keyed); the creator keeps it after completion.
    fn send(&self, n: u64, obs: &Obs, key: Option<u32>) -> *mut Irp {
        // SAFETY: a fresh IRP for a live device.
        unsafe {
            let irp = new_read(self.dev(), obs);
            (*irp).user_buffer = n as *mut _;
            let sl = io_get_next_irp_stack_location(irp);
            (*sl).parameters.read.key = key.unwrap_or(0);
            (*sl).parameters.read.flags = u32::from(key.is_some());
            assert_eq!(io_call_driver(self.dev(), irp), STATUS_PENDING);
            irp
        }
    }
    fn log(&self) -> Vec<String> {
        ext(self.dev()).log.lock().unwrap().clone()
    }
    fn queue_busy(&self) -> bool {
        // SAFETY: live device.
        unsafe { (*self.dev()).device_queue.busy.load(std::sync::atomic::Ordering::SeqCst) != 0 }
    }
}

impl Drop for Serial {
    /// The extension is plain device memory, which the kernel frees without running
    /// destructors (as Windows frees a device extension): drop the `Ext` written in `new`
    /// here, or its log leaks.
    fn drop(&mut self) {
        // SAFETY: `new` wrote an `Ext` into the extension; the test is over, so no routine
        // of the device runs any more, and nothing reads the extension after this.
        unsafe { std::ptr::drop_in_place((*self.dev()).device_extension.cast::<Ext>()) };
    }
}

/// S1: device idle: IoStartPacket calls StartIo at once, at DISPATCH_LEVEL, with
/// `CurrentIrp` = the IRP.
#[test]
fn start_io_s1_idle_device_starts_at_once() {
    let s = Serial::new(VerifierMode::Strict);
    let obs = Obs::default();
    let irp = s.send(1, &obs, None);
    assert_eq!(s.log(), vec!["StartIo #1 at IRQL 2 current=true routine=true"]);
    // SAFETY: live device.
    unsafe { assert_eq!((*s.dev()).current_irp.load(std::sync::atomic::Ordering::SeqCst), irp) };
    assert_eq!(ke_get_current_irql(), PASSIVE_LEVEL, "the caller's IRQL is restored");
    // SAFETY: the StartIo path owns the current IRP.
    unsafe {
        hardware_done(s.dev(), STATUS_SUCCESS);
        assert_eq!(obs.creator_status.load(Ordering::SeqCst), STATUS_SUCCESS);
        io_free_irp(irp);
    }
}

/// S2: cancel of `CurrentIrp`: the cancel routine only releases the lock; StartIo's path
/// finishes the IRP, with `STATUS_CANCELLED` because it sees `Cancel`.
#[test]
fn start_io_s2_cancel_current_irp() {
    let s = Serial::new(VerifierMode::Strict);
    let obs = Obs::default();
    let irp = s.send(1, &obs, None);
    // SAFETY: test-owned IRP (as its creator).
    unsafe {
        assert!(io_cancel_irp(irp));
        assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 0, "the cancel routine did not complete it");
        hardware_done(s.dev(), STATUS_SUCCESS);
        assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1);
        assert_eq!(obs.creator_status.load(Ordering::SeqCst), STATUS_CANCELLED);
        io_free_irp(irp);
    }
    assert_eq!(s.log()[1], "cancel #1: current, release");
}

/// S3: cancel of a queued IRP: removed with RemoveEntry, completed `STATUS_CANCELLED` / 0,
/// and the next IoStartNextPacket never sees it.
#[test]
fn start_io_s3_cancel_queued_irp() {
    let s = Serial::new(VerifierMode::Strict);
    let (o1, o2, o3) = (Obs::default(), Obs::default(), Obs::default());
    let a = s.send(1, &o1, None);
    let b = s.send(2, &o2, None);
    let c = s.send(3, &o3, None);
    // SAFETY: test-owned IRPs.
    unsafe {
        assert!(io_cancel_irp(b));
        assert_eq!(o2.creator_status.load(Ordering::SeqCst), STATUS_CANCELLED);
        assert_eq!((*b).io_status.information, 0);
        hardware_done(s.dev(), STATUS_SUCCESS); // finishes #1, starts #3
        hardware_done(s.dev(), STATUS_SUCCESS); // finishes #3, queue empty
        for irp in [a, b, c] {
            io_free_irp(irp);
        }
    }
    let starts: Vec<_> = s.log().into_iter().filter(|l| l.starts_with("StartIo")).collect();
    assert_eq!(starts.len(), 2);
    assert!(starts[1].starts_with("StartIo #3"), "#2 never reached StartIo: {starts:?}");
    assert!(!s.queue_busy());
}

/// S4: cancel of an IRP that was dequeued but whose StartIo has not yet taken it: the
/// cancel routine finds it neither current nor queued, releases the lock and returns; the
/// IRP is still completed exactly once (by the StartIo path, seeing `Cancel`).
#[test]
fn start_io_s4_cancel_between_dequeue_and_start_io() {
    let s = Serial::new(VerifierMode::Strict);
    let (o1, o2) = (Obs::default(), Obs::default());
    let a = s.send(1, &o1, None);
    let b = s.send(2, &o2, None);
    // SAFETY: test-owned IRPs; the device's queue and StartIo are driven as the I/O
    // manager would, with the cancel landing in the window between dequeue and StartIo.
    unsafe {
        // Finish #1 without starting the next packet.
        let irql = io_acquire_cancel_spin_lock();
        io_set_cancel_routine(a, None);
        io_release_cancel_spin_lock(irql);
        finish(s.dev(), a, STATUS_SUCCESS);
        // Dequeue #2 (as IoStartNextPacket does) ...
        let old = ke_raise_irql(DISPATCH_LEVEL);
        let entry = ke_remove_device_queue(&raw mut (*s.dev()).device_queue);
        assert_eq!(entry, Irp::device_queue_entry(b));
        ke_lower_irql(old);
        // ... the cancel lands before it becomes current:
        assert!(io_cancel_irp(b));
        assert_eq!(o2.creator_calls.load(Ordering::SeqCst), 0, "not completed by the cancel routine");
        // ... then StartIo takes it.
        let old = ke_raise_irql(DISPATCH_LEVEL);
        (*s.dev()).current_irp.store(b, std::sync::atomic::Ordering::SeqCst);
        start_io(s.dev(), b);
        ke_lower_irql(old);
        assert_eq!(o2.creator_calls.load(Ordering::SeqCst), 1, "completed exactly once");
        assert_eq!(o2.creator_status.load(Ordering::SeqCst), STATUS_CANCELLED);
        io_free_irp(a);
        io_free_irp(b);
    }
    assert!(s.log().contains(&"cancel #2: neither current nor queued".to_string()), "{:?}", s.log());
    assert!(!s.queue_busy(), "StartIo's IoStartNextPacket found the queue empty");
}

/// S5: cancel racing IoStartPacket (the cancel lands before the routine is set):
/// IoStartPacket sees `Cancel` and calls the cancel function itself.
#[test]
fn start_io_s5_cancelled_before_start_packet() {
    let s = Serial::new(VerifierMode::Strict);
    let (o1, o2) = (Obs::default(), Obs::default());
    let a = s.send(1, &o1, None); // the device is busy with #1
                                  // SAFETY: test-owned IRPs.
    unsafe {
        let b = new_read(s.dev(), &o2);
        (*b).user_buffer = 2 as *mut _;
        assert!(!io_cancel_irp(b), "no routine yet: FALSE, only Cancel is set");
        assert_eq!(io_call_driver(s.dev(), b), STATUS_PENDING);
        assert_eq!(o2.creator_status.load(Ordering::SeqCst), STATUS_CANCELLED, "IoStartPacket cancelled it");
        assert!(s.log().contains(&"cancel #2: removed from queue".to_string()), "{:?}", s.log());
        hardware_done(s.dev(), STATUS_SUCCESS);
        assert!(!s.queue_busy());
        io_free_irp(a);
        io_free_irp(b);
    }
}

/// S6: IoStartNextPacket on an empty queue clears busy and `CurrentIrp`.
#[test]
fn start_io_s6_start_next_on_empty_queue() {
    let s = Serial::new(VerifierMode::Strict);
    let obs = Obs::default();
    let a = s.send(1, &obs, None);
    assert!(s.queue_busy());
    // SAFETY: the StartIo path owns the current IRP.
    unsafe {
        hardware_done(s.dev(), STATUS_SUCCESS);
        assert!((*s.dev()).current_irp.load(std::sync::atomic::Ordering::SeqCst).is_null());
        io_free_irp(a);
    }
    assert!(!s.queue_busy());
}

/// S6b: IoStartNextPacket (and ByKey) on a device whose queue is not busy: "if there are
/// no IRPs in the device queue, this routine simply returns" — no report (the driver never
/// called KeRemoveDeviceQueue), nothing started, the queue stays idle. Strict mode: a
/// report would panic.
#[test]
fn start_io_s6b_start_next_on_idle_device_simply_returns() {
    let s = Serial::new(VerifierMode::Strict);
    for cancelable in [true, false] {
        // SAFETY: a live StartIo device with nothing started.
        unsafe {
            io_start_next_packet(s.dev(), cancelable);
            io_start_next_packet_by_key(s.dev(), cancelable, 7);
            assert!((*s.dev()).current_irp.load(std::sync::atomic::Ordering::SeqCst).is_null());
        }
    }
    assert!(!s.queue_busy());
    assert!(s.log().is_empty(), "StartIo was not called: {:?}", s.log());
    assert_eq!(s.f.kernel.verifier().report_count(), 0, "{:#?}", s.f.kernel.verifier().reports());
    // The device still works afterwards.
    let obs = Obs::default();
    let a = s.send(1, &obs, None);
    // SAFETY: the StartIo path owns the current IRP.
    unsafe {
        hardware_done(s.dev(), STATUS_SUCCESS);
        io_free_irp(a);
    }
    assert!(!s.queue_busy());
}

/// S7: DeferredStartIo: a StartIo that calls IoStartNextPacket is not re-entered; the next
/// IRP starts after it returns.
#[test]
fn start_io_s7_deferred_start_io_is_not_reentered() {
    let s = Serial::new(VerifierMode::Strict);
    // SAFETY: live device.
    unsafe { io_set_start_io_attributes(s.dev(), true, false) };
    let obs: Vec<Obs> = (0..4).map(|_| Obs::default()).collect();
    // Queue three behind a first one that stays current.
    let irps: Vec<_> = (0..4).map(|i| s.send(i as u64 + 1, &obs[i], None)).collect();
    ext(s.dev()).finish_in_start_io.store(true, Ordering::SeqCst);
    // SAFETY: the StartIo path owns the current IRP.
    unsafe { hardware_done(s.dev(), STATUS_SUCCESS) };
    assert_eq!(ext(s.dev()).max_depth.load(Ordering::SeqCst), 1, "never re-entered");
    assert_eq!(ext(s.dev()).completed.load(Ordering::SeqCst), 4, "all four completed");
    assert!(!s.queue_busy());
    let order: Vec<_> = s.log().into_iter().filter(|l| l.starts_with("complete")).collect();
    assert_eq!(order.len(), 4);
    assert!(order[3].starts_with("complete #4"), "FIFO: {order:?}");
    for irp in irps {
        // SAFETY: completed and kept by the creator.
        unsafe { io_free_irp(irp) };
    }
}

/// S7's counterpart: without DeferredStartIo, StartIo is re-entered (and the verifier
/// reports the recursion, SDV's StartIoRecursion).
#[test]
fn start_io_s7_without_deferral_recurses_and_is_reported() {
    let s = Serial::new(VerifierMode::Record);
    let obs: Vec<Obs> = (0..3).map(|_| Obs::default()).collect();
    let irps: Vec<_> = (0..3).map(|i| s.send(i as u64 + 1, &obs[i], None)).collect();
    ext(s.dev()).finish_in_start_io.store(true, Ordering::SeqCst);
    // SAFETY: the StartIo path owns the current IRP.
    unsafe { hardware_done(s.dev(), STATUS_SUCCESS) };
    assert_eq!(ext(s.dev()).max_depth.load(Ordering::SeqCst), 2, "re-entered");
    assert_eq!(ext(s.dev()).completed.load(Ordering::SeqCst), 3);
    let rules = s.f.rules();
    assert!(!rules.is_empty() && rules.iter().all(|r| *r == "start-io-recursion"), "{rules:?}");
    for irp in irps {
        // SAFETY: completed and kept by the creator.
        unsafe { io_free_irp(irp) };
    }
}

/// S8: NonCancelable: an IRP handed to StartIo has no cancel routine (from IoStartPacket
/// on an idle device and from IoStartNextPacket).
#[test]
fn start_io_s8_non_cancelable() {
    let s = Serial::new(VerifierMode::Strict);
    // SAFETY: live device.
    unsafe { io_set_start_io_attributes(s.dev(), false, true) };
    let (o1, o2) = (Obs::default(), Obs::default());
    let a = s.send(1, &o1, None);
    let b = s.send(2, &o2, None);
    // SAFETY: test-owned IRPs.
    unsafe {
        assert!((*b).cancel_routine.load().is_some(), "queued: still cancelable");
        hardware_done(s.dev(), STATUS_SUCCESS);
        assert!(!io_cancel_irp(b), "current under NonCancelable: no routine to call");
        hardware_done(s.dev(), STATUS_SUCCESS);
        assert_eq!(o2.creator_status.load(Ordering::SeqCst), STATUS_CANCELLED, "StartIo's path saw Cancel");
        io_free_irp(a);
        io_free_irp(b);
    }
    let starts: Vec<_> = s.log().into_iter().filter(|l| l.starts_with("StartIo")).collect();
    assert_eq!(
        starts,
        vec!["StartIo #1 at IRQL 2 current=true routine=false", "StartIo #2 at IRQL 2 current=true routine=false"]
    );
}

/// By key: IoStartPacket with keys and IoStartNextPacketByKey serve the queue as an
/// elevator.
#[test]
fn start_io_by_key_elevator() {
    let s = Serial::new(VerifierMode::Strict);
    let obs: Vec<Obs> = (0..5).map(|_| Obs::default()).collect();
    let keys = [50u32, 70, 10, 60, 30];
    let irps: Vec<_> = keys.iter().enumerate().map(|(i, &k)| s.send(k as u64, &obs[i], Some(k))).collect();
    // SAFETY: the StartIo path owns the current IRP; done by key from the head position.
    unsafe {
        let mut position = 50;
        for _ in 0..5 {
            let old = ke_raise_irql(DISPATCH_LEVEL);
            let irql = io_acquire_cancel_spin_lock();
            let irp = (*s.dev()).current_irp.load(std::sync::atomic::Ordering::SeqCst);
            io_set_cancel_routine(irp, None);
            io_release_cancel_spin_lock(irql);
            position = id(irp) as u32;
            finish(s.dev(), irp, STATUS_SUCCESS);
            io_start_next_packet_by_key(s.dev(), true, position);
            ke_lower_irql(old);
        }
        let _ = position;
        for irp in irps {
            io_free_irp(irp);
        }
    }
    let order: Vec<_> = s
        .log()
        .into_iter()
        .filter(|l| l.starts_with("StartIo"))
        .map(|l| l.split(' ').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(order, vec!["#50", "#60", "#70", "#10", "#30"], "upward sweep, then wrap around");
}
