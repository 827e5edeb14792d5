//! The serial (StartIo) sample and its elevator-ordered disk variant, through the safe
//! API: deterministic scenarios on virtual time, and a stress run with a canceller.

use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use irpkit::clock::VirtualClock;
use irpkit::nt::{STATUS_CANCELLED, STATUS_PENDING, STATUS_SUCCESS};
use irpkit::safe::{create_start_io_device, Device, Request, SentRequest};
use irpkit::verifier::VerifierMode;
use irpkit::Kernel;
use irpkit_samples::serial::{Serial, SerialConfig};

fn virtual_kernel() -> Kernel {
    Kernel::builder().verifier_mode(VerifierMode::Record).clock(VirtualClock::new()).build()
}

fn serial(k: &Kernel, config: SerialConfig) -> Device<Serial> {
    let d = create_start_io_device(k, "Serial0", Serial::new(config)).unwrap();
    d.configure(d.device_ref());
    d
}

fn read(k: &Kernel, d: &Device<Serial>, len: u32, offset: i64) -> SentRequest {
    let s = Request::read(k, d.device_ref(), len, offset).unwrap().send();
    assert_eq!(s.dispatch_status(), STATUS_PENDING);
    s
}

#[test]
fn transfers_complete_after_the_hardware_time() {
    let k = virtual_kernel();
    let _e = k.enter();
    let d = serial(&k, SerialConfig { transfer_time: Duration::from_millis(10), ..SerialConfig::default() });
    let a = read(&k, &d, 100, 0);
    let b = read(&k, &d, 200, 0);
    k.advance(Duration::from_millis(9));
    assert!(a.try_result().is_none(), "the transfer takes 10 ms");
    k.advance(Duration::from_millis(1));
    assert_eq!(a.try_result().map(|r| (r.status, r.information)), Some((STATUS_SUCCESS, 100)));
    assert!(b.try_result().is_none());
    k.advance(Duration::from_millis(10));
    assert_eq!(b.try_result().map(|r| (r.status, r.information)), Some((STATUS_SUCCESS, 200)));
    assert!(!d.device_ref().is_busy());
    assert_eq!(k.verifier().report_count(), 0);
}

#[test]
fn cancel_queued_and_current_the_seed_way() {
    let k = virtual_kernel();
    let _e = k.enter();
    let d = serial(&k, SerialConfig { transfer_time: Duration::from_millis(10), ..SerialConfig::default() });
    let current = read(&k, &d, 10, 0);
    let queued = read(&k, &d, 10, 0);
    let last = read(&k, &d, 10, 0);
    // Queued: the cancel routine removes it and completes it at once.
    assert!(queued.cancel());
    assert_eq!(queued.try_result().map(|r| (r.status, r.information)), Some((STATUS_CANCELLED, 0)));
    // Current: the cancel routine only releases (and stops the hardware); the DPC finishes
    // it cancelled.
    assert!(current.cancel());
    assert!(current.try_result().is_none(), "the cancel routine does not complete the current IRP");
    k.run_dpcs();
    assert_eq!(current.try_result().map(|r| (r.status, r.information)), Some((STATUS_CANCELLED, 0)));
    // The last one runs normally.
    k.advance(Duration::from_millis(10));
    assert_eq!(last.try_result().map(|r| r.status), Some(STATUS_SUCCESS));
    assert_eq!(d.stats.cancelled_queued.load(Ordering::Relaxed), 1);
    assert_eq!(d.stats.cancelled_current.load(Ordering::Relaxed), 1);
    assert_eq!(d.stats.transferred.load(Ordering::Relaxed), 1);
    assert!(!d.device_ref().is_busy());
    drop((current, queued, last));
    assert_eq!(k.irps_outstanding(), 0);
    assert_eq!(k.verifier().report_count(), 0, "{:#?}", k.verifier().reports());
}

#[test]
fn disk_serves_sectors_as_an_elevator() {
    let k = virtual_kernel();
    let _e = k.enter();
    let d = create_start_io_device(&k, "Disk0", Serial::disk(Duration::from_millis(1))).unwrap();
    d.configure(d.device_ref());
    let sectors = [50i64, 80, 10, 60, 30, 90];
    let sent: Vec<_> = sectors.iter().map(|&s| (s, read(&k, &d, 512, s * 512))).collect();
    let mut order = Vec::new();
    for _ in 0..sectors.len() {
        k.advance(Duration::from_millis(1));
        for (s, r) in &sent {
            if r.try_result().is_some() && !order.contains(s) {
                order.push(*s);
            }
        }
    }
    assert_eq!(order, vec![50, 60, 80, 90, 10, 30], "up from the first sector, then wrap around");
    assert_eq!(k.verifier().report_count(), 0);
}

/// Several requester threads issue thousands of reads while a canceller cancels a random
/// half at random moments (most from a canceller thread, after a random spin; some by
/// the requesting thread right after it sent them, so that the cancel of a queued request
/// is exercised whatever the machine's thread scheduling — valgrind's, say, which runs one
/// thread at a time and may let the canceller in only after the hardware has caught up). Every IRP completes exactly once; cancelled ones with
/// `STATUS_CANCELLED` / 0; the queue ends empty and not busy; the verifier reports nothing.
fn stress(kernel: Kernel, config: SerialConfig, threads: usize, per_thread: usize) {
    let _e = kernel.enter();
    let _dpc = kernel.start_dpc_thread();
    let d = Arc::new(serial(&kernel, config));
    let (to_canceller, cancel_queue) = mpsc::channel::<(Arc<SentRequest>, u64)>();
    // Cancels by the requesting threads themselves that found the request still running.
    let immediate = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let canceller = kernel.spawn(move || {
        let mut n = 0u64;
        for (req, delay) in cancel_queue {
            for _ in 0..delay {
                std::hint::spin_loop();
            }
            n += u64::from(req.cancel());
        }
        n
    });
    let requesters: Vec<_> = (0..threads)
        .map(|t| {
            let (k, d, tx, immediate) = (kernel.clone(), d.clone(), to_canceller.clone(), immediate.clone());
            kernel.spawn(move || {
                let mut rng = 0x2545_F491_4F6C_DD1Du64.wrapping_mul(t as u64 + 1);
                let mut next = move || {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    rng
                };
                let mut pending = Vec::new();
                for i in 0..per_thread {
                    let s = Arc::new(Request::read(&k, d.device_ref(), 64, (i as i64 % 97) * 512).unwrap().send());
                    let cancel = next() % 2 == 0;
                    if cancel && next() % 8 == 0 {
                        immediate.fetch_add(u64::from(s.cancel()), Ordering::Relaxed);
                    } else if cancel {
                        tx.send((s.clone(), next() % 200)).unwrap();
                    }
                    pending.push((s, cancel));
                    if pending.len() >= 32 {
                        for (s, cancel) in pending.drain(..) {
                            check(s, cancel);
                        }
                    }
                }
                for (s, cancel) in pending {
                    check(s, cancel);
                }
            })
        })
        .collect();
    drop(to_canceller);
    for r in requesters {
        r.join().unwrap();
    }
    let cancels_true = canceller.join().unwrap() + immediate.load(Ordering::Relaxed);
    let total = (threads * per_thread) as u64;
    let st = &d.stats;
    let (done, cq, cc) = (
        st.transferred.load(Ordering::Relaxed),
        st.cancelled_queued.load(Ordering::Relaxed),
        st.cancelled_current.load(Ordering::Relaxed),
    );
    assert_eq!(done + cq + cc, total, "every IRP completed exactly once: {done} transferred, {cq} + {cc} cancelled");
    eprintln!("transferred {done}, cancelled queued {cq}, cancelled current {cc}, cancel TRUE {cancels_true}");
    assert!(cq + cc > 0 && done > 0, "both paths exercised: {done} transferred, {cq} + {cc} cancelled");
    assert!(cancels_true >= cq, "every queued cancellation came from a cancel routine call");
    assert!(!d.device_ref().is_busy(), "the queue ends not busy");
    // SAFETY: reading the device's `CurrentIrp` (atomic) once everything is idle.
    let current = unsafe { (*d.as_ptr()).current_irp.load(std::sync::atomic::Ordering::Acquire) };
    assert!(current.is_null(), "no current IRP");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while kernel.irps_outstanding() > 0 && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(kernel.irps_outstanding(), 0, "nothing lost");
    assert_eq!(kernel.verifier().report_count(), 0, "{:#?}", kernel.verifier().reports());
}

fn check(s: Arc<SentRequest>, cancel_requested: bool) {
    let r = loop {
        if let Some(r) = s.try_result() {
            break r;
        }
        std::thread::yield_now();
    };
    match r.status {
        STATUS_SUCCESS => assert_eq!(r.information, 64),
        STATUS_CANCELLED => {
            assert!(cancel_requested, "only requests that were cancelled end cancelled");
            assert_eq!(r.information, 0);
        }
        other => panic!("unexpected status {other:#x}"),
    }
}

#[test]
fn stress_real_clock() {
    let k = Kernel::builder().verifier_mode(VerifierMode::Record).build();
    stress(k, SerialConfig { transfer_time: Duration::from_micros(20), ..SerialConfig::default() }, 4, 1000);
}

#[test]
fn stress_virtual_clock_non_deferred_disk() {
    let k = virtual_kernel();
    let config = SerialConfig {
        transfer_time: Duration::from_millis(3),
        elevator: true,
        deferred_start_io: false,
        non_cancelable: false,
    };
    stress(k, config, 3, 1000);
}

fn file(n: usize) -> *mut irpkit::nt::FileObject {
    // Only compared, never dereferenced.
    std::ptr::without_provenance_mut(0x1000 * n)
}

#[test]
fn cleanup_cancels_that_files_queued_requests_and_leaves_the_current_one() {
    for elevator in [false, true] {
        let k = virtual_kernel();
        let _e = k.enter();
        let d =
            serial(&k, SerialConfig { transfer_time: Duration::from_millis(10), elevator, ..SerialConfig::default() });
        let read = |f, offset| {
            let s = Request::read(&k, d.device_ref(), 10, offset).unwrap().file_object(file(f)).send();
            assert_eq!(s.dispatch_status(), STATUS_PENDING);
            s
        };
        let current = read(1, 0);
        let (a, b, c) = (read(1, 4096), read(2, 2048), read(1, 1024));
        let cleanup =
            Request::new(&k, d.device_ref(), irpkit::nt::IRP_MJ_CLEANUP).unwrap().file_object(file(1)).send().wait();
        assert_eq!(cleanup.status, STATUS_SUCCESS);
        for s in [&a, &c] {
            assert_eq!(s.try_result().map(|r| (r.status, r.information)), Some((STATUS_CANCELLED, 0)));
        }
        assert!(current.try_result().is_none(), "the current request finishes on its own path");
        assert!(b.try_result().is_none());
        k.advance(Duration::from_millis(10));
        assert_eq!(current.try_result().map(|r| r.status), Some(STATUS_SUCCESS));
        k.advance(Duration::from_millis(10));
        assert_eq!(b.try_result().map(|r| r.status), Some(STATUS_SUCCESS), "elevator {elevator}");
        assert_eq!(d.stats.cancelled_queued.load(Ordering::Relaxed), 2);
        assert!(!d.device_ref().is_busy());
        drop((current, a, b, c));
        assert_eq!(k.irps_outstanding(), 0);
        assert_eq!(k.verifier().report_count(), 0, "{:#?}", k.verifier().reports());
    }
}
