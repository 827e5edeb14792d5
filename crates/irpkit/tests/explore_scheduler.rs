//! The explorer's scheduler: controlled threads are coroutines taking turns on a worker
//! thread, each with its own processor state; a thread that blocks outside irpkit's
//! primitives is reported as a stall; a thread that waits while unwinding ends its run
//! with the panic; a controlled thread that overflows its stack ends the process with a
//! report that says so.
#![cfg(not(any(loom, shuttle)))]

use std::sync::Arc;
use std::time::Duration;

use irpkit::explore::{self, Limits, Options, Scenario, Strategy, ViolationKind};
use irpkit::nt::*;
use irpkit::Kernel;

/// Two threads raise and lower IRQL around scheduling points: each must see its own
/// IRQL and spin-lock count, whatever ran in between.
struct IrqlPerThread;

impl Scenario for IrqlPerThread {
    fn name(&self) -> &str {
        "irql-per-thread"
    }

    fn run(&self, kernel: &Kernel) {
        let locks = Arc::new([KSpinLock::new(), KSpinLock::new()]);
        let threads: Vec<_> = (0..2)
            .map(|i| {
                let locks = locks.clone();
                kernel.spawn(move || {
                    for round in 0..4 {
                        assert_eq!(ke_get_current_irql(), PASSIVE_LEVEL, "thread {i} round {round}, before");
                        let old = ke_acquire_spin_lock(&locks[i]);
                        assert_eq!(ke_get_current_irql(), DISPATCH_LEVEL, "thread {i} round {round}, holding");
                        assert_eq!(irpkit::spin_locks_held(), 1, "thread {i} round {round}: its own count");
                        ke_release_spin_lock(&locks[i], old);
                        assert_eq!(ke_get_current_irql(), PASSIVE_LEVEL, "thread {i} round {round}, after");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("a thread of the scenario panicked");
        }
    }
}

#[test]
fn every_controlled_thread_has_its_own_irql_and_spin_lock_count() {
    let scenario: Arc<dyn Scenario> = Arc::new(IrqlPerThread);
    let options = Options { seeds: 0..300, shrink: false, ..Options::default() };
    let e = explore::explore(&scenario, &options, |_| {});
    if let Some(v) = &e.found {
        panic!("{}", v.kind);
    }
    assert_eq!(e.schedules, 300);
    // The runs did interleave the two threads while one held its lock at DISPATCH_LEVEL.
    let interleaved = (0..300).any(|seed| {
        let o = explore::run_one(&scenario, Strategy::Random, seed, &Limits::default());
        o.trace.windows(2).any(|w| w[0].what == "KeAcquireSpinLock" && w[1].thread != w[0].thread)
    });
    assert!(interleaved, "some schedule switched threads right after an acquire");
}

/// A thread blocks on a std channel that never gets a message: outside the scheduler.
struct Stuck;

impl Scenario for Stuck {
    fn name(&self) -> &str {
        "stuck"
    }

    fn run(&self, kernel: &Kernel) {
        let t = kernel.spawn_named("stuck thread", || {
            let _ = ke_delay_execution_thread(-10);
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            // The sender stays alive, so the receive waits for ever.
            std::mem::forget(tx);
            let _ = rx.recv();
        });
        let _ = t.join();
    }
}

#[test]
fn a_thread_blocked_outside_the_primitives_is_reported_as_a_stall() {
    let scenario: Arc<dyn Scenario> = Arc::new(Stuck);
    let limits = Limits { stall: Duration::from_millis(300), ..Limits::default() };
    let options = Options { seeds: 5..20, shrink: false, limits, jobs: 2, ..Options::default() };
    let e = explore::explore(&scenario, &options, |_| {});
    let v = e.found.expect("the stall is a violation");
    match &v.kind {
        ViolationKind::Stall(m) => {
            assert!(m.contains("stuck thread"), "names the thread: {m}");
            assert!(m.contains("KeDelayExecutionThread") || m.contains("KeWaitForSingleObject"), "{m}");
        }
        other => panic!("expected a stall, got {other}"),
    }
    assert_eq!(v.schedule.seed, 5, "the lowest seed's");
    assert_eq!(e.found_after, Some(1));
    // One run on its own stalls the same way.
    let o = explore::run_one(&scenario, Strategy::Random, 3, &limits);
    assert!(matches!(o.violation.map(|v| v.kind), Some(ViolationKind::Stall(_))));
}

/// A thread panics; its guard waits (a timer) while the panic unwinds.
struct WaitsWhileUnwinding;

struct DelayOnDrop;

impl Drop for DelayOnDrop {
    fn drop(&mut self) {
        let _ = ke_delay_execution_thread(-10_000);
    }
}

impl Scenario for WaitsWhileUnwinding {
    fn name(&self) -> &str {
        "waits-while-unwinding"
    }

    fn run(&self, kernel: &Kernel) {
        let t = kernel.spawn_named("panicking thread", || {
            let _guard = DelayOnDrop;
            let _ = ke_delay_execution_thread(-10);
            panic!("the scenario's own assertion");
        });
        let other = kernel.spawn_named("bystander", || {
            for _ in 0..3 {
                let _ = ke_delay_execution_thread(-1_000);
            }
        });
        let _ = t.join();
        let _ = other.join();
    }
}

#[test]
fn a_wait_while_unwinding_ends_the_run_with_its_panic_and_the_next_runs_are_sound() {
    let scenario: Arc<dyn Scenario> = Arc::new(WaitsWhileUnwinding);
    for seed in 0..20 {
        let o = explore::run_one(&scenario, Strategy::mixed(seed), seed, &Limits::default());
        let v = o.violation.unwrap_or_else(|| panic!("seed {seed}: the panic is a violation"));
        let ViolationKind::Panic(m) = &v.kind else { panic!("seed {seed}: expected a panic, got {}", v.kind) };
        assert!(m.contains("panicking thread") && m.contains("the scenario's own assertion"), "{m}");
    }
    // An exploration whose every run parks a thread still runs every seed, and a clean
    // scenario explored after it is clean.
    let options = Options { seeds: 0..50, shrink: false, jobs: 1, ..Options::default() };
    let e = explore::explore(&scenario, &options, |_| {});
    assert_eq!(e.found_after, Some(1));
    let clean: Arc<dyn Scenario> = Arc::new(IrqlPerThread);
    let e = explore::explore(&clean, &Options { seeds: 0..50, shrink: false, ..Options::default() }, |_| {});
    assert!(e.found.is_none(), "{:?}", e.found.map(|v| v.kind.to_string()));
}

/// Recurses without end on a controlled thread (run in a child process: it ends it).
struct Overflow;

#[inline(never)]
fn recurse(depth: u64, buf: &mut [u8; 256]) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    let mut local = [0u8; 256];
    local[(depth % 256) as usize] = buf[(depth % 256) as usize].wrapping_add(1);
    let r = recurse(depth + 1, &mut local);
    std::hint::black_box(r + u64::from(local[0]))
}

impl Scenario for Overflow {
    fn name(&self) -> &str {
        "overflow"
    }

    fn run(&self, kernel: &Kernel) {
        let t = kernel.spawn(|| {
            let mut buf = [0u8; 256];
            recurse(0, &mut buf)
        });
        let _ = t.join();
    }
}

#[test]
fn a_stack_overflow_on_a_controlled_thread_is_reported() {
    if std::env::var_os("IRPKIT_TEST_OVERFLOW_CHILD").is_some() {
        let scenario: Arc<dyn Scenario> = Arc::new(Overflow);
        let limits = Limits { stack_size: 64 * 1024, ..Limits::default() };
        let _ = explore::run_one(&scenario, Strategy::Random, 0, &limits);
        unreachable!("the overflow ends the process");
    }
    let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "a_stack_overflow_on_a_controlled_thread_is_reported", "--nocapture", "--test-threads=1"])
        .env("IRPKIT_TEST_OVERFLOW_CHILD", "1")
        .output()
        .expect("run the test binary again");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "{stderr}");
    assert!(stderr.contains("overflowed its stack of 64 KiB"), "{stderr}");
    assert!(stderr.contains("--stack-kib"), "says how to fix it: {stderr}");
}

/// Times a thread of [`ParksThenAbandons`] got past its loop.
static LOOPER_FINISHED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The run hits its step limit while a thread loops on plain scheduling points; the root
/// thread, unwinding, waits (and so parks for good) before that thread is abandoned.
struct ParksThenAbandons;

impl Scenario for ParksThenAbandons {
    fn name(&self) -> &str {
        "parks-then-abandons"
    }

    fn run(&self, kernel: &Kernel) {
        let _guard = DelayOnDrop;
        let looper = kernel.spawn_named("looper", || {
            let lock = KSpinLock::new();
            for _ in 0..1000 {
                let old = ke_acquire_spin_lock(&lock);
                ke_release_spin_lock(&lock, old);
            }
            LOOPER_FINISHED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        for _ in 0..1000 {
            let _ = ke_delay_execution_thread(0);
        }
        let _ = looper.join();
    }
}

#[test]
fn an_abandoned_thread_unwinds_even_after_another_parked_while_unwinding() {
    let scenario: Arc<dyn Scenario> = Arc::new(ParksThenAbandons);
    let limits = Limits { max_steps: 60, ..Limits::default() };
    let mut root_stopped_the_run = 0;
    for seed in 0..40 {
        let o = explore::run_one(&scenario, Strategy::Random, seed, &limits);
        assert!(matches!(o.violation.as_ref().map(|v| &v.kind), Some(ViolationKind::StepLimit(60))));
        root_stopped_the_run += usize::from(o.trace.last().is_some_and(|s| s.thread == 0));
    }
    assert!(root_stopped_the_run > 0, "some run ended on the root thread's step");
    assert_eq!(LOOPER_FINISHED.load(std::sync::atomic::Ordering::SeqCst), 0, "no abandoned thread ran on");
}
