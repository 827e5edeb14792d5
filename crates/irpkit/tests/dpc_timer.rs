//! DPCs and timers on the kernel's clock: queueing rules, DISPATCH_LEVEL, due order,
//! periodic timers, cancellation, and the background DPC thread on virtual and real time.
#![cfg(not(any(loom, shuttle)))]

use std::ffi::c_void;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use irpkit::clock::VirtualClock;
use irpkit::nt::*;
use irpkit::Kernel;

#[derive(Default)]
struct Seen {
    runs: Mutex<Vec<(String, Duration, KIrql)>>,
    kernel: Mutex<Option<Kernel>>,
}

unsafe extern "system-unwind" fn record(_dpc: *mut KDpc, ctx: *mut c_void, a1: *mut c_void, _a2: *mut c_void) {
    // SAFETY: the context is a `(&Seen, &str)` pair that outlives the DPC.
    let (seen, label) = unsafe { &*(ctx as *const (&Seen, &str)) };
    let now = seen.kernel.lock().unwrap().as_ref().map(|k| k.clock().now()).unwrap_or_default();
    seen.runs.lock().unwrap().push((format!("{label}:{}", a1 as usize), now, ke_get_current_irql()));
}

fn virtual_kernel() -> Kernel {
    Kernel::builder().clock(VirtualClock::new()).build()
}

fn dpc_for(ctx: &(&Seen, &str)) -> Box<KDpc> {
    let mut dpc: Box<KDpc> = Box::new(unsafe_zeroed_dpc());
    // SAFETY: the DPC is boxed (stable) and lives for the whole test.
    unsafe { ke_initialize_dpc(&mut *dpc, record, ctx as *const _ as *mut c_void) };
    dpc
}

fn unsafe_zeroed_dpc() -> KDpc {
    KDpc {
        type_: 0,
        importance: 0,
        number: 0,
        dpc_list_entry: std::ptr::null_mut(),
        processor_history: 0,
        deferred_routine: None,
        deferred_context: std::ptr::null_mut(),
        system_argument1: std::ptr::null_mut(),
        system_argument2: std::ptr::null_mut(),
        dpc_data: std::ptr::null_mut(),
    }
}

fn timer() -> Box<KTimer> {
    // SAFETY: all-zero is a valid (unarmed) timer image; `ke_initialize_timer` rewrites it.
    let mut t: Box<KTimer> = Box::new(unsafe { std::mem::zeroed() });
    // SAFETY: boxed, stable, lives for the test.
    unsafe { ke_initialize_timer(&mut *t) };
    t
}

fn labels(seen: &Seen) -> Vec<String> {
    seen.runs.lock().unwrap().iter().map(|r| r.0.clone()).collect()
}

const MS: i64 = 10_000; // 100 ns units per millisecond

#[test]
fn dpc_queue_rules_and_dispatch_level() {
    let k = virtual_kernel();
    let _e = k.enter();
    let seen = Seen::default();
    let (ca, cb) = ((&seen, "a"), (&seen, "b"));
    let (mut a, mut b) = (dpc_for(&ca), dpc_for(&cb));
    // SAFETY: initialised, boxed DPCs.
    unsafe {
        assert!(ke_insert_queue_dpc(&mut *a, std::ptr::without_provenance_mut::<c_void>(1), std::ptr::null_mut()));
        assert!(
            !ke_insert_queue_dpc(&mut *a, std::ptr::without_provenance_mut::<c_void>(2), std::ptr::null_mut()),
            "already queued"
        );
        assert!(ke_insert_queue_dpc(&mut *b, std::ptr::without_provenance_mut::<c_void>(3), std::ptr::null_mut()));
        assert!(ke_remove_queue_dpc(&mut *b));
        assert!(!ke_remove_queue_dpc(&mut *b), "no longer queued");
        assert!(ke_insert_queue_dpc(&mut *b, std::ptr::without_provenance_mut::<c_void>(4), std::ptr::null_mut()));
    }
    assert_eq!(k.run_dpcs(), 2);
    let runs = seen.runs.lock().unwrap().clone();
    assert_eq!(
        runs.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        vec!["a:1", "b:4"],
        "queue order, first arguments"
    );
    assert!(runs.iter().all(|r| r.2 == DISPATCH_LEVEL), "DPCs run at DISPATCH_LEVEL");
    assert_eq!(ke_get_current_irql(), PASSIVE_LEVEL);
    assert_eq!(k.run_dpcs(), 0);
}

#[test]
fn timers_fire_in_due_order_at_their_due_time_on_virtual_time() {
    let k = virtual_kernel();
    let _e = k.enter();
    let seen = Seen::default();
    *seen.kernel.lock().unwrap() = Some(k.clone());
    let (c1, c2, c3) = ((&seen, "t30"), (&seen, "t10"), (&seen, "t20"));
    let (mut d1, mut d2, mut d3) = (dpc_for(&c1), dpc_for(&c2), dpc_for(&c3));
    let (mut t1, mut t2, mut t3) = (timer(), timer(), timer());
    // SAFETY: initialised, boxed timers and DPCs that outlive their arming.
    unsafe {
        assert!(!ke_set_timer(&mut *t1, -30 * MS, &mut *d1));
        assert!(!ke_set_timer(&mut *t2, -10 * MS, &mut *d2));
        assert!(!ke_set_timer(&mut *t3, -20 * MS, &mut *d3));
        assert!(ke_cancel_timer(&mut *t3), "armed: cancelled");
        assert!(!ke_set_timer(&mut *t3, -20 * MS, &mut *d3), "was not armed any more");
    }
    assert_eq!(k.advance(Duration::from_millis(5)), 0);
    assert!(!ke_read_state_timer(&t2));
    assert_eq!(k.advance(Duration::from_millis(30)), 3);
    let runs = seen.runs.lock().unwrap().clone();
    let order: Vec<_> = runs.iter().map(|r| (r.0.split(':').next().unwrap().to_string(), r.1)).collect();
    assert_eq!(
        order,
        vec![
            ("t10".to_string(), Duration::from_millis(10)),
            ("t20".to_string(), Duration::from_millis(20)),
            ("t30".to_string(), Duration::from_millis(30))
        ],
        "each at its due time"
    );
    assert!(ke_read_state_timer(&t1) && ke_read_state_timer(&t2));
    // SAFETY: as above.
    unsafe { assert!(!ke_cancel_timer(&mut *t1), "expired: not armed") };
    assert_eq!(k.clock().now(), Duration::from_millis(35));
    *seen.kernel.lock().unwrap() = None;
}

#[test]
fn cancelled_timer_never_fires_and_periodic_timer_repeats() {
    let k = virtual_kernel();
    let _e = k.enter();
    let seen = Seen::default();
    let (cp, cc) = ((&seen, "periodic"), (&seen, "cancelled"));
    let (mut dp, mut dc) = (dpc_for(&cp), dpc_for(&cc));
    let (mut tp, mut tc) = (timer(), timer());
    // SAFETY: initialised, boxed timers and DPCs.
    unsafe {
        ke_set_timer_ex(&mut *tp, -10 * MS, 10, &mut *dp);
        ke_set_timer(&mut *tc, -15 * MS, &mut *dc);
        assert!(ke_cancel_timer(&mut *tc));
    }
    k.advance(Duration::from_millis(45));
    assert_eq!(labels(&seen).iter().filter(|l| l.starts_with("periodic")).count(), 4, "at 10, 20, 30, 40 ms");
    assert!(!labels(&seen).iter().any(|l| l.starts_with("cancelled")));
    // SAFETY: as above.
    unsafe { assert!(ke_cancel_timer(&mut *tp), "a periodic timer stays armed") };
    k.advance(Duration::from_millis(100));
    assert_eq!(labels(&seen).len(), 4);
}

#[test]
fn dpc_thread_jumps_virtual_time_and_wakes_timer_waiters() {
    let k = virtual_kernel();
    let _e = k.enter();
    let _dpc = k.start_dpc_thread();
    let mut t = timer();
    let started = Instant::now();
    // SAFETY: boxed timer, armed without a DPC.
    unsafe { ke_set_timer(&mut *t, -300 * 1000 * MS, std::ptr::null_mut()) };
    assert_eq!(ke_wait_for_single_object(&*t, None), STATUS_SUCCESS);
    assert!(k.clock().now() >= Duration::from_secs(300), "five virtual minutes passed");
    assert!(started.elapsed() < Duration::from_secs(5), "in a moment of real time");
}

#[test]
fn dpc_thread_on_the_real_clock_fires_at_the_due_time() {
    let k = Kernel::new();
    let _e = k.enter();
    let _dpc = k.start_dpc_thread();
    let seen = Seen::default();
    let c = (&seen, "real");
    let mut d = dpc_for(&c);
    let mut t = timer();
    let started = Instant::now();
    // SAFETY: boxed timer and DPC, alive until the DPC thread stops (end of test).
    unsafe { ke_set_timer(&mut *t, -20 * MS, &mut *d) };
    assert_eq!(ke_wait_for_single_object(&*t, Some(Duration::from_secs(5))), STATUS_SUCCESS);
    assert!(started.elapsed() >= Duration::from_millis(20));
    let deadline = Instant::now() + Duration::from_secs(5);
    while labels(&seen).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(labels(&seen).len(), 1, "the timer's DPC ran on the DPC thread");
}
