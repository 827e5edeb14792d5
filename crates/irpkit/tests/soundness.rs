//! The safe API's soundness, tried as an outside user would: safe code only, the public
//! API. Each test is the regression test of one hole that safe code could once reach
//! (a use-after-free, a data race, a lock proof undercut, a queue left locked by a
//! panic). Several of them only show the old bug under a checker — valgrind memcheck
//! reads of freed memory, drd races — so CI runs this binary under both (`.ci/valgrind`).
#![cfg(not(any(loom, shuttle)))]
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use irpkit::clock::VirtualClock;
use irpkit::explore::{self, Limits, Scenario, Strategy};
use irpkit::nt::STATUS_SUCCESS;
use irpkit::safe::{
    create_device, create_start_io_device, CancelLockReleased, CancelRoutineLock, CancelSpinLockGuard, DeviceRef,
    DeviceTimer, Dispatched, Driver, Irp, QueuedIrp, Request, SpinLock, StartIoCancelRoutine, StartIoDriver,
    StartedIrp,
};
use irpkit::Kernel;

/// Runs `scenario` under 300 schedules (mixed strategy, seeds 0..300); fails on the first
/// violation, naming its seed.
fn explore_300_schedules(scenario: Arc<dyn Scenario>) {
    for seed in 0..300 {
        let strategy = Strategy::mixed(seed);
        let outcome = explore::run_one(&scenario, strategy, seed, &Limits::default());
        if let Some(v) = outcome.violation {
            panic!("seed {seed} ({strategy}): {}", v.kind);
        }
    }
}

/// A device whose timer callback counts its calls and checks it never runs once its
/// `DeviceTimer` has been dropped.
#[derive(Default)]
struct Hardware {
    dropped: AtomicBool,
    fired: AtomicUsize,
    lock: SpinLock<()>,
}

impl Driver for Hardware {
    fn dispatch(&self, _device: &DeviceRef, irp: Irp) -> Dispatched {
        irp.complete(STATUS_SUCCESS, 0).into()
    }
}

fn hardware_done(device: &DeviceRef) {
    let hw = device.state::<Hardware>().expect("the hardware device");
    // A scheduling point inside the callback: the dropping thread may run meanwhile.
    drop(hw.lock.lock());
    assert!(!hw.dropped.load(Ordering::SeqCst), "the DPC of a dropped DeviceTimer ran (its memory was freed)");
    hw.fired.fetch_add(1, Ordering::SeqCst);
}

/// Hole: `DeviceTimer`'s drop did not wait for a DPC already taken off the queue (the DPC
/// then read the freed timer). The timer is due at once; the scenario thread takes a few
/// scheduling points (the DPC thread may fire the timer and stop anywhere in the DPC's
/// delivery), drops the timer, and marks it dropped. Drop must wait for the DPC in flight,
/// so the callback can never see the mark.
struct DropWhileDpcInFlight;

impl Scenario for DropWhileDpcInFlight {
    fn name(&self) -> &str {
        "drop-while-dpc-in-flight"
    }

    fn run(&self, kernel: &Kernel) {
        let dev = create_device(kernel, "timer-drop", Hardware::default()).unwrap();
        let timer = DeviceTimer::new(hardware_done);
        timer.set(dev.device_ref(), Duration::ZERO);
        for _ in 0..3 {
            drop(dev.lock.lock());
        }
        drop(timer);
        dev.dropped.store(true, Ordering::SeqCst);
        for _ in 0..3 {
            drop(dev.lock.lock());
        }
    }
}

#[test]
fn device_timer_drop_waits_for_its_dpc_in_flight() {
    explore_300_schedules(Arc::new(DropWhileDpcInFlight));
}

/// Hole: dropping an armed `DeviceTimer` left its entry in the kernel's timer table, and
/// the next expiry check read the freed KTIMER (memcheck: invalid read). Many timers are
/// armed and dropped, then the clock passes their due times; then a live one still fires.
#[test]
fn dropping_an_armed_device_timer_leaves_nothing_behind() {
    let kernel = Kernel::builder().clock(VirtualClock::new()).build();
    let dev = create_device(&kernel, "timer-armed-drop", Hardware::default()).unwrap();
    for i in 0..64u64 {
        let timer = DeviceTimer::new(hardware_done);
        assert!(!timer.set(dev.device_ref(), Duration::from_micros(10 + i)), "a fresh timer was not armed");
        drop(timer);
    }
    assert_eq!(kernel.advance(Duration::from_millis(1)), 0, "no dropped timer's DPC runs");
    let live = DeviceTimer::new(hardware_done);
    live.set(dev.device_ref(), Duration::from_micros(5));
    assert_eq!(kernel.advance(Duration::from_millis(1)), 1, "a live timer still fires");
    assert_eq!(dev.fired.load(Ordering::SeqCst), 1);
}

/// Hole: a `DeviceTimer` that outlived its kernel dereferenced the freed device when it
/// was dropped (and when cancelled).
#[test]
fn device_timer_outliving_its_kernel_is_harmless() {
    let timer = DeviceTimer::new(hardware_done);
    {
        let kernel = Kernel::builder().clock(VirtualClock::new()).build();
        let dev = create_device(&kernel, "timer-outlives", Hardware::default()).unwrap();
        timer.set(dev.device_ref(), Duration::from_secs(1));
    }
    assert!(!timer.cancel(), "the kernel is gone: nothing is armed");
    drop(timer);
}

/// Hole: `DeviceTimer` was `Sync` on the claim that its device was "written once", but the
/// first `set` wrote it without synchronisation: two threads setting a fresh timer at once
/// raced on it (drd: conflicting stores). Exactly one of them arms it first.
#[test]
fn device_timer_first_set_from_two_threads() {
    for _ in 0..50 {
        let kernel = Kernel::builder().clock(VirtualClock::new()).build();
        let dev = create_device(&kernel, "timer-two-setters", Hardware::default()).unwrap();
        let timer = Arc::new(DeviceTimer::new(hardware_done));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (timer, dev) = (timer.clone(), dev.clone());
                std::thread::spawn(move || timer.set(dev.device_ref(), Duration::from_millis(1)))
            })
            .collect();
        let was_armed: Vec<bool> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(was_armed.iter().filter(|&&w| w).count(), 1, "one set found the other's arming: {was_armed:?}");
        assert_eq!(kernel.advance(Duration::from_millis(2)), 1, "armed once, fires once");
    }
}

/// A StartIo driver that parks every IRP StartIo gets until the test finishes it, and
/// whose cancel routine checks that `CurrentIrp` holds still under the cancel spin lock.
#[derive(Default)]
struct Parking {
    parked: SpinLock<Vec<StartedIrp>>,
    /// Taken inside the cancel routine (a scheduling point there).
    routine_lock: SpinLock<()>,
    torn: AtomicBool,
}

impl Driver for Parking {
    fn dispatch(&self, device: &DeviceRef, mut irp: Irp) -> Dispatched {
        let pending = irp.mark_pending();
        irp.start_packet::<ParkingCancel>(device, None);
        pending.into()
    }
}

impl StartIoDriver for Parking {
    fn start_io(&self, _device: &DeviceRef, irp: StartedIrp) {
        self.parked.lock().push(irp);
    }
}

impl Parking {
    /// Completes every parked IRP (after taking it out of the cancelable state).
    fn finish_parked(&self) -> usize {
        let parked: Vec<StartedIrp> = core::mem::take(&mut *self.parked.lock());
        let n = parked.len();
        for started in parked {
            let lock = CancelSpinLockGuard::acquire();
            let irp = started.into_irp(&lock);
            drop(lock);
            irp.complete(STATUS_SUCCESS, 0);
        }
        n
    }
}

struct ParkingCancel;

impl StartIoCancelRoutine for ParkingCancel {
    fn cancel<'a>(device: &DeviceRef, irp: QueuedIrp<'a>, lock: CancelRoutineLock<'a>) -> CancelLockReleased<'a> {
        let me = device.state::<Parking>().expect("the parking device");
        let before = irp.is_current(device, &lock);
        drop(me.routine_lock.lock()); // a scheduling point with the cancel spin lock held
        if irp.is_current(device, &lock) != before {
            me.torn.store(true, Ordering::SeqCst);
        }
        if before {
            return lock.release();
        }
        match irp.remove_from_device_queue(device, &lock) {
            Ok(removed) => {
                let released = lock.release();
                removed.complete_cancelled(&released);
                released
            }
            Err(_) => lock.release(),
        }
    }
}

/// Hole: `QueuedIrp::is_current` relies on `CurrentIrp` changing only under the cancel
/// spin lock, but the safe `start_next_packet(cancelable: false)` made IoStartNextPacket
/// write it without that lock: under one live `CancelRoutineLock`, `is_current()` went
/// true → false (a data race on a plain pointer besides). The safe API's IRPs are always
/// cancelable, so it always starts the next packet with `Cancelable` TRUE.
struct StartNextDuringCancel;

impl Scenario for StartNextDuringCancel {
    fn name(&self) -> &str {
        "start-next-during-cancel"
    }

    fn run(&self, kernel: &Kernel) {
        let dev = create_start_io_device(kernel, "parking", Parking::default()).unwrap();
        let current = Request::read(kernel, dev.device_ref(), 16, 0).unwrap().send();
        let current = Arc::new(current);
        let canceller = {
            let current = current.clone();
            kernel.spawn(move || current.cancel())
        };
        let starter = {
            let dev = dev.clone();
            kernel.spawn(move || dev.device_ref().start_next_packet())
        };
        canceller.join().unwrap();
        starter.join().unwrap();
        assert!(!dev.torn.load(Ordering::SeqCst), "CurrentIrp changed under a live CancelRoutineLock");
        dev.finish_parked();
        Arc::try_unwrap(current).expect("the threads are done").wait();
    }
}

#[test]
fn current_irp_holds_still_under_the_cancel_lock() {
    explore_300_schedules(Arc::new(StartNextDuringCancel));
}

/// Spins until the device's queue is idle. A plain loop with no call in it: with `Busy` a
/// plain byte, an optimising build may read it once and spin forever.
#[inline(never)]
fn wait_idle(device: &DeviceRef) {
    while device.is_busy() {
        std::hint::spin_loop();
    }
}

/// Hole: `DeviceRef::is_busy` read `DeviceQueue.Busy` without the queue lock while the
/// device-queue routines wrote it under the lock: a data race (drd: conflicting load and
/// store), and in a release build a watcher loop on `is_busy()` was hoisted and never saw
/// the change. `Busy` is now an atomic of the C field's size. (The watcher runs on its
/// own thread; if it never returns, the test fails after 20 s and the process ends it.)
#[test]
fn is_busy_watcher_sees_the_queue_go_idle() {
    let kernel = Kernel::new();
    let _entered = kernel.enter();
    let dev = create_start_io_device(&kernel, "busy-watch", Parking::default()).unwrap();
    let request = Request::read(&kernel, dev.device_ref(), 16, 0).unwrap().send();
    assert!(dev.device_ref().is_busy(), "StartIo holds the IRP: the device is busy");
    let (watching_tx, watching) = std::sync::mpsc::channel();
    let (idle_tx, idle) = std::sync::mpsc::channel();
    {
        let dev = dev.clone();
        std::thread::spawn(move || {
            watching_tx.send(()).unwrap();
            wait_idle(dev.device_ref());
            idle_tx.send(()).unwrap();
        });
    }
    watching.recv().unwrap();
    assert_eq!(dev.finish_parked(), 1);
    dev.device_ref().start_next_packet();
    assert!(idle.recv_timeout(Duration::from_secs(20)).is_ok(), "the watcher never saw the device go idle");
    assert_eq!(request.wait().status, STATUS_SUCCESS);
}

/// Runs `f` on its own thread; fails the test if it has not returned after 20 s (the
/// thread is left spinning and ends with the process).
fn returns_within_20s(what: &str, f: impl FnOnce() + Send + 'static) {
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        done_tx.send(()).unwrap();
    });
    assert!(done.recv_timeout(Duration::from_secs(20)).is_ok(), "{what} never returned");
}

/// Hole: the queue protocol's lock was not released on unwind, so a panicking predicate
/// (a user closure run under the queue lock) left `CancelQueue` locked and every later
/// push spun forever. The lock is now a guard.
#[test]
fn cancel_queue_survives_a_panicking_predicate() {
    let queue = Arc::new(irpkit::safe::CancelQueue::<u32>::new());
    let _kept = queue.push(1);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        queue.pop_where(&|_| panic!("a predicate that panics"));
    }));
    assert!(caught.is_err());
    let q = queue.clone();
    returns_within_20s("push after the panic (the queue lock stayed held)", move || {
        let _t = q.push(2);
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.pop(), Some(2));
    });
}

/// The same for the IRP cancel-safe queue: a panicking `remove_next_where` predicate
/// (run under the queue's spin lock) must leave the queue usable, the IRQL and spin-lock
/// count restored.
#[derive(Default)]
struct Queueing {
    queue: irpkit::safe::CancelSafeIrpQueue,
}

impl Driver for Queueing {
    fn dispatch(&self, _device: &DeviceRef, irp: Irp) -> Dispatched {
        match self.queue.insert(irp) {
            Ok(pending) => pending.into(),
            Err(irp) => irp.complete(irpkit::nt::STATUS_INSUFFICIENT_RESOURCES, 0).into(),
        }
    }
}

#[test]
fn cancel_safe_queue_survives_a_panicking_predicate() {
    let kernel = Kernel::new();
    let _entered = kernel.enter();
    let dev = create_device(&kernel, "csq-panic", Queueing::default()).unwrap();
    let first = Request::read(&kernel, dev.device_ref(), 16, 0).unwrap().send();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        dev.queue.remove_next_where(&|_| panic!("a predicate that panics"));
    }));
    assert!(caught.is_err());
    assert_eq!(irpkit::nt::ke_get_current_irql(), irpkit::nt::PASSIVE_LEVEL, "the IRQL is restored");
    let (kernel2, dev2) = (kernel.clone(), dev.clone());
    returns_within_20s("a second request after the panic (the queue lock stayed held)", move || {
        let _entered = kernel2.enter();
        let second = Request::read(&kernel2, dev2.device_ref(), 16, 0).unwrap().send();
        for _ in 0..2 {
            dev2.queue.remove_next().expect("a queued read").complete(STATUS_SUCCESS, 16);
        }
        assert_eq!(second.wait().status, STATUS_SUCCESS);
    });
    assert_eq!(first.wait().status, STATUS_SUCCESS);
    assert_eq!(kernel.verifier().report_count(), 0, "{:#?}", kernel.verifier().reports());
}

/// Hole: `SpinLock::lock` on a lock the calling thread already holds was reported (a
/// deadlock on a real processor) and then, in record mode, returned a second guard: two
/// `&mut` to the same value from safe code. It now stops the thread with a panic after the
/// report, as the processor would have stopped there.
#[test]
fn spin_lock_taken_twice_on_one_thread_never_hands_out_a_second_guard() {
    let kernel = Kernel::builder().verifier_mode(irpkit::verifier::VerifierMode::Record).build();
    let _entered = kernel.enter();
    let lock = SpinLock::new(0u32);
    let first = lock.lock();
    let second = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut second = lock.lock();
        *second += 1;
    }));
    assert!(second.is_err(), "a second guard was handed out");
    assert_eq!(kernel.verifier().report_count(), 1, "{:#?}", kernel.verifier().reports());
    assert_eq!(kernel.verifier().reports()[0].rule.id(), "spin-lock-discipline");
    assert_eq!(*first, 0);
    drop(first);
    assert_eq!(irpkit::nt::ke_get_current_irql(), irpkit::nt::PASSIVE_LEVEL);
    *lock.lock() += 1;
    assert_eq!(*lock.lock(), 1);
}

/// Hole: the queues told their owner's removals from the cancel path by a per-thread
/// "owner removing" flag that was not per queue: a cancellation of an entry of queue C
/// made from inside a predicate of queue A was taken for C's owner removing, so C's drop
/// did not wait for that cancellation's handler, and freed the queue under it. C's cancel
/// handler here checks that C's drop has not returned while it still runs.
#[test]
fn queue_drop_waits_for_a_cancellation_started_inside_another_queues_predicate() {
    use std::sync::mpsc;
    let (in_handler_tx, in_handler) = mpsc::channel::<()>();
    let (dropped_tx, dropped) = mpsc::channel::<()>();
    let dropped = std::sync::Mutex::new(dropped);
    let freed_under_handler = Arc::new(AtomicBool::new(false));
    let c = {
        let freed = freed_under_handler.clone();
        irpkit::safe::CancelQueue::<u32>::with_cancel_handler(move |_| {
            in_handler_tx.send(()).unwrap();
            if dropped.lock().unwrap().recv_timeout(Duration::from_secs(1)).is_ok() {
                freed.store(true, Ordering::SeqCst);
            }
        })
    };
    let ticket = c.push(7);
    let a = irpkit::safe::CancelQueue::<u32>::new();
    let _queued = a.push(1);
    let dropper = std::thread::spawn(move || {
        in_handler.recv().unwrap();
        drop(c);
        let _ = dropped_tx.send(());
    });
    let taken = a.pop_where(&|_| ticket.cancel());
    assert_eq!(taken, Some(1));
    dropper.join().unwrap();
    assert!(!freed_under_handler.load(Ordering::SeqCst), "the queue was dropped while its cancel handler still ran");
}

/// The other half of the same hole: a removal by queue A's owner made while another
/// queue's removal was in progress on the same thread (a predicate of B popping A) was
/// taken for a cancellation, and A's drop then waited forever for it.
#[test]
fn queue_owner_removal_inside_another_queues_predicate_is_not_a_cancellation() {
    let a = Arc::new(irpkit::safe::CancelQueue::<u32>::new());
    let b = irpkit::safe::CancelQueue::<u32>::new();
    let _in_a = a.push(1);
    let _in_b = b.push(2);
    let popped_a = std::sync::Mutex::new(None);
    assert_eq!(
        b.pop_where(&|_| {
            *popped_a.lock().unwrap() = a.pop();
            true
        }),
        Some(2)
    );
    assert_eq!(*popped_a.lock().unwrap(), Some(1));
    let a = Arc::try_unwrap(a).expect("one owner");
    returns_within_20s("dropping the queues (a removal was counted as a cancellation)", move || {
        drop(a);
        drop(b);
    });
}
