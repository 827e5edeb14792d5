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
use irpkit::safe::{create_device, DeviceRef, DeviceTimer, Dispatched, Driver, Irp, SpinLock};
use irpkit::Kernel;

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
    let scenario: Arc<dyn Scenario> = Arc::new(DropWhileDpcInFlight);
    for seed in 0..300 {
        let strategy = Strategy::mixed(seed);
        let outcome = explore::run_one(&scenario, strategy, seed, &Limits::default());
        if let Some(v) = outcome.violation {
            panic!("seed {seed} ({strategy}): {}", v.kind);
        }
    }
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
