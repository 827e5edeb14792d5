//! Cancel coverage under the explorer: correct drivers cancelled all through their
//! requests' lives hit every window that applies to each request; a workload that never
//! cancels a queued request says that window was never hit.
//!
//! The drivers: a purpose-built NT-layer queue driver (own list under a spin lock, a
//! cancel routine, a hardware thread; between IoSetCancelRoutine and its `Cancel`
//! re-check it updates a counter under a second spin lock — a scheduling point inside
//! that window), and the safe-API samples `serial` (StartIo, device queue) and
//! `csq-worker` (cancel-safe queue). The workload: two reads at 0 ms and one at 1 ms, and
//! two canceller threads that each cancel every read (CancelIoEx with its OVERLAPPED) at
//! 0, 1, 2 and 5 ms — before some reads are issued, while they are dispatched, queued, on
//! the hardware, being completed, and after they are over.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use irpkit::explore::coverage::{CancelCoverage, Window};
use irpkit::explore::{self, Limits, Options, Scenario};
use irpkit::io::{Handle, Overlapped, Process};
use irpkit::nt::*;
use irpkit::safe::{create_device, create_start_io_device};
use irpkit::Kernel;
use irpkit_samples::csq_worker::CsqWorker;
use irpkit_samples::serial::{Serial, SerialConfig};

const MS: i64 = -10_000;
const LEN: u32 = 8;

// ------------------------------------------------------------- the queue driver

/// The queue driver's state, reached through the device extension.
struct Queue {
    lock: KSpinLock,
    /// Guards `dispatched`: taken inside the setting window.
    stats_lock: KSpinLock,
    dispatched: UnsafeCell<u64>,
    irps: UnsafeCell<VecDeque<IrpRef>>,
    stop: AtomicBool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct IrpRef(*mut Irp);

// SAFETY: the list and the counter are touched only under their spin locks.
unsafe impl Send for Queue {}
// SAFETY: as above.
unsafe impl Sync for Queue {}

/// # Safety
/// `d` is a queue device (its extension holds a `*const Queue` that outlives it).
unsafe fn queue<'a>(d: *mut DeviceObject) -> &'a Queue {
    // SAFETY: the contract.
    unsafe { &**(*d).device_extension.cast::<*const Queue>() }
}

/// # Safety
/// The caller holds `q.lock`.
#[allow(clippy::mut_from_ref)]
unsafe fn irps(q: &Queue) -> &mut VecDeque<IrpRef> {
    // SAFETY: the contract: exclusive under the lock.
    unsafe { &mut *q.irps.get() }
}

/// # Safety
/// The caller owns `irp`.
unsafe fn complete(irp: *mut Irp, status: NtStatus, information: usize) {
    // SAFETY: the contract.
    unsafe {
        (*irp).io_status = IoStatusBlock { status, information };
        io_complete_request(irp, 0);
    }
}

unsafe extern "system-unwind" fn queue_entry(_d: *mut DriverObject, _p: *mut UnicodeString) -> NtStatus {
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn queue_dispatch(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract: a queue device and an IRP this routine owns.
    unsafe {
        if (*io_get_current_irp_stack_location(irp)).major_function != IRP_MJ_READ {
            complete(irp, STATUS_SUCCESS, 0);
            return STATUS_SUCCESS;
        }
        let q = queue(d);
        io_mark_irp_pending(irp);
        let irql = ke_acquire_spin_lock(&q.lock);
        io_set_cancel_routine(irp, Some(queue_cancel));
        // Bookkeeping under a second lock, still before the re-check.
        ke_acquire_spin_lock_at_dpc_level(&q.stats_lock);
        *q.dispatched.get() += 1;
        ke_release_spin_lock_from_dpc_level(&q.stats_lock);
        if (*irp).is_cancelled() && io_set_cancel_routine(irp, None).is_some() {
            ke_release_spin_lock(&q.lock, irql);
            complete(irp, STATUS_CANCELLED, 0);
            return STATUS_PENDING;
        }
        // Queued even if a cancel took the routine: its routine removes it.
        irps(q).push_back(IrpRef(irp));
        ke_release_spin_lock(&q.lock, irql);
        STATUS_PENDING
    }
}

unsafe extern "system-unwind" fn queue_cancel(d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: called by IoCancelIrp with the cancel spin lock held, for a queue device's
    // IRP that the routine now owns.
    unsafe {
        io_release_cancel_spin_lock((*irp).cancel_irql.load(Ordering::Relaxed));
        let q = queue(d);
        let irql = ke_acquire_spin_lock(&q.lock);
        irps(q).retain(|&r| r != IrpRef(irp));
        ke_release_spin_lock(&q.lock, irql);
        complete(irp, STATUS_CANCELLED, 0);
    }
}

/// The hardware: every millisecond, the oldest read whose routine it wins is done.
fn queue_hardware(d: *mut DeviceObject) {
    // SAFETY: a live queue device.
    let q = unsafe { queue(d) };
    while !q.stop.load(Ordering::Acquire) {
        ke_delay_execution_thread(MS);
        let irql = ke_acquire_spin_lock(&q.lock);
        // SAFETY: under the lock; a read is taken only if its routine is won back.
        let done = unsafe {
            let list = irps(q);
            let at = list.iter().position(|r| io_set_cancel_routine(r.0, None).is_some());
            at.and_then(|i| list.remove(i))
        };
        ke_release_spin_lock(&q.lock, irql);
        if let Some(r) = done {
            // SAFETY: won back from the list: ours to complete.
            unsafe { complete(r.0, STATUS_SUCCESS, LEN as usize) };
        }
    }
}

// ---------------------------------------------------------------- the workload

/// Which driver a [`Cancelled`] scenario drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    /// The queue driver above.
    Queue,
    /// The `serial` sample: StartIo, the device queue, a timer + DPC.
    Serial,
    /// The `csq-worker` sample: a cancel-safe queue and a worker thread.
    Csq,
}

/// Reads cancelled all through their lives; with `cancel_queued: false` only once every
/// read is over (too late) instead.
struct Cancelled {
    name: &'static str,
    driver: Driver,
    cancel_queued: bool,
}

impl Scenario for Cancelled {
    fn name(&self) -> &str {
        self.name
    }

    fn run(&self, kernel: &Kernel) {
        let p = Process::new(kernel);
        match self.driver {
            Driver::Queue => {
                let driver = kernel.load_driver("CoverQueue", queue_entry).expect("DriverEntry");
                let q = Arc::new(Queue {
                    lock: KSpinLock::new(),
                    stats_lock: KSpinLock::new(),
                    dispatched: UnsafeCell::new(0),
                    irps: UnsafeCell::new(VecDeque::new()),
                    stop: AtomicBool::new(false),
                });
                // SAFETY: the fresh driver and device; the extension keeps the queue's
                // address, and `q` outlives the device's use in this run.
                let device = unsafe {
                    for slot in (*driver).major_function.iter_mut() {
                        *slot = Some(queue_dispatch);
                    }
                    let d = io_create_device(driver, 8, Some("CoverQueue"), 0x22, 0, false).expect("IoCreateDevice");
                    *(*d).device_extension.cast::<*const Queue>() = Arc::as_ptr(&q);
                    d
                };
                let hw = DevicePtr(device);
                let hardware = kernel.spawn_named("hardware", move || {
                    let hw = hw;
                    queue_hardware(hw.0)
                });
                // SAFETY: a live device of this kernel.
                let h = p.open(unsafe { irpkit::safe::DeviceRef::from_ptr(device) }, true).expect("open");
                self.workload(&p, h);
                q.stop.store(true, Ordering::Release);
                hardware.join().expect("the hardware thread panicked");
                p.terminate();
                // SAFETY: every read is over: nothing is queued.
                assert!(unsafe { (*q.irps.get()).is_empty() }, "reads left queued");
            }
            Driver::Serial => {
                let config = SerialConfig { transfer_time: Duration::from_millis(1), ..Default::default() };
                let dev = create_start_io_device(kernel, "CoverSerial", Serial::new(config)).expect("device");
                dev.configure(dev.device_ref());
                let h = p.open(dev.device_ref(), true).expect("open");
                self.workload(&p, h);
                p.terminate();
                ke_delay_execution_thread(10 * MS);
                assert!(!dev.device_ref().is_busy(), "the device queue is still busy");
            }
            Driver::Csq => {
                let worker = CsqWorker::new(Duration::from_millis(1), Duration::ZERO);
                let dev = Arc::new(create_device(kernel, "CoverCsq", worker).expect("device"));
                CsqWorker::start(&dev);
                let h = p.open(dev.device_ref(), true).expect("open");
                self.workload(&p, h);
                dev.shutdown();
                p.terminate();
                assert_eq!(dev.queued(), 0, "reads left queued");
            }
        }
    }
}

impl Cancelled {
    /// Two reads at 0 ms and one at 1 ms on `h`; two cancellers; every read delivered.
    fn workload(&self, p: &Process, h: Handle) {
        let ops: Arc<Vec<Overlapped>> = Arc::new((0..3).map(|_| Overlapped::new()).collect());
        let reader = {
            let ops = ops.clone();
            p.spawn(move |t| {
                for (i, o) in ops.iter().enumerate() {
                    if i == 2 {
                        ke_delay_execution_thread(MS);
                    }
                    t.read_overlapped(h, LEN, 0, o).expect("the handle is open");
                }
                for o in ops.iter() {
                    o.wait(Some(Duration::from_millis(50)));
                }
            })
        };
        let at: &'static [i64] = if self.cancel_queued { &[0, 0, 1, 1, 3] } else { &[20] };
        let cancellers: Vec<_> = (0..2)
            .map(|_| {
                let (ops, p2) = (ops.clone(), p.clone());
                p.spawn(move |_| {
                    for &delay in at {
                        if delay > 0 {
                            ke_delay_execution_thread(delay * MS);
                        }
                        for o in ops.iter() {
                            let _ = p2.cancel_io_ex(h, Some(o));
                        }
                    }
                })
            })
            .collect();
        reader.join().expect("the reader panicked");
        for c in cancellers {
            c.join().expect("a canceller panicked");
        }
        for (i, o) in ops.iter().enumerate() {
            let b = o.status_block();
            assert!(
                (b.status == STATUS_SUCCESS && b.information == LEN as usize)
                    || (b.status == STATUS_CANCELLED && b.information == 0),
                "read {i} ended {b:?}"
            );
        }
    }
}

/// Explores `scenario` over `seeds` (no violation allowed) and returns its coverage.
fn explored(scenario: Cancelled, seeds: core::ops::Range<u64>) -> CancelCoverage {
    let name = scenario.name;
    let scenario: Arc<dyn Scenario> = Arc::new(scenario);
    let options = Options { seeds: seeds.clone(), shrink: false, ..Options::default() };
    let e = explore::explore(&scenario, &options, |_| {});
    if let Some(v) = &e.found {
        let replay = explore::replay(&scenario, &v.schedule, &Limits::default());
        panic!("{name}: {}\n{}", v.kind, explore::format_trace(&replay, v.at_step));
    }
    assert_eq!(e.coverage.schedules, seeds.end - seeds.start, "{name}: every schedule counted");
    e.coverage
}

/// Schedules per scenario: enough for every window of every read (the rarest, a cancel
/// between the second read's issue and its IoCallDriver on the serial device, lands a few
/// times in 600).
const SCHEDULES: u64 = 600;

/// Every read of `c` was cancelled, and every window that applies to it was hit; returns
/// the windows hit.
fn every_window_that_applies_was_hit(name: &str, c: &CancelCoverage) -> Vec<Window> {
    let reads: Vec<_> = c.cancelled().filter(|(k, _)| k.major == IRP_MJ_READ).collect();
    assert_eq!(reads.len(), 3, "{name}: the three reads were cancelled\n{}", c.table());
    let mut hit = Vec::new();
    for (key, r) in reads {
        for w in Window::ALL.into_iter().filter(|&w| r.applies(w)) {
            assert!(r.hits(w) > 0, "{name}: {key}: no cancel landed in {w}\n{}", c.table());
            hit.push(w);
        }
        assert!(r.never_hit().is_empty(), "{name}: {key}: {:?}", r.never_hit());
    }
    hit
}

/// (1) Correct drivers, cancelled all through their reads' lives: every window that
/// applies to a read is hit, and the three drivers together reach all eleven.
#[test]
fn correct_drivers_cancelled_throughout_hit_every_window_that_applies() {
    let mut all = Vec::new();
    for (name, driver, own) in [
        ("cover-queue", Driver::Queue, &[Window::SettingRoutine, Window::DriverQueue, Window::RoutineCleared][..]),
        ("cover-serial", Driver::Serial, &[Window::DeviceQueue, Window::StartIo][..]),
        ("cover-csq", Driver::Csq, &[Window::Csq, Window::RoutineCleared][..]),
    ] {
        let c = explored(Cancelled { name, driver, cancel_queued: true }, 0..SCHEDULES);
        let hit = every_window_that_applies_was_hit(name, &c);
        for w in own {
            assert!(hit.contains(w), "{name}: its own window {w} applies and was hit\n{}", c.table());
        }
        // The other drivers' queues are no window of these reads.
        let foreign = match driver {
            Driver::Queue => [Window::DeviceQueue, Window::Csq, Window::StartIo],
            Driver::Serial => [Window::Csq, Window::SettingRoutine, Window::DriverQueue],
            Driver::Csq => [Window::DeviceQueue, Window::StartIo, Window::DriverQueue],
        };
        for (key, r) in c.cancelled() {
            for w in foreign {
                assert!(!r.applies(w), "{name}: {key}: {w} does not apply\n{}", c.table());
            }
        }
        all.extend(hit);
    }
    for w in Window::ALL {
        assert!(all.contains(&w), "no driver's read was cancelled in {w}");
    }
}

/// (2) The same drivers, cancelled only once every read is over: the windows where the
/// reads waited apply (each was in them in some schedule) but were never hit; the cancels
/// came too late.
#[test]
fn cancels_that_never_come_while_queued_leave_the_queued_window_never_hit() {
    for (name, driver, waited) in [
        ("late-queue", Driver::Queue, &[Window::DriverQueue][..]),
        ("late-serial", Driver::Serial, &[Window::DeviceQueue, Window::StartIo][..]),
        ("late-csq", Driver::Csq, &[Window::Csq][..]),
    ] {
        let c = explored(Cancelled { name, driver, cancel_queued: false }, 0..50);
        let reads: Vec<_> = c.cancelled().filter(|(k, _)| k.major == IRP_MJ_READ).collect();
        assert_eq!(reads.len(), 3, "{name}\n{}", c.table());
        for &w in waited {
            assert!(reads.iter().any(|(_, r)| r.applies(w)), "{name}: a read waited in {w}\n{}", c.table());
        }
        for (key, r) in reads {
            for &w in waited.iter().filter(|&&w| r.applies(w)) {
                assert_eq!(r.hits(w), 0, "{name}: {key}: {w}");
                assert!(r.never_hit().contains(&w), "{name}: {key}: {w} missing from {:?}", r.never_hit());
            }
            // The cancellers' cancels all come too late; the reader's own exit may still
            // find a read it was just told about being completed.
            let late = r.hits(Window::Completed) + r.hits(Window::Completing);
            assert_eq!(r.cancels(), late, "{name}: {key}: every cancel came during or after completion");
            assert!(r.hits(Window::Completed) >= 2 * 50, "{name}: {key}: two cancellers per schedule");
        }
        let table = c.table();
        let never = &table[table.find("never hit:").expect("a never-hit list")..];
        for w in waited {
            assert!(never.contains(w.id()), "{name}: the table names {w} under never hit\n{table}");
        }
    }
}
