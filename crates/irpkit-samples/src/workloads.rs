//! Explorer scenarios for the safe-API sample drivers: each drives one sample with the
//! requester workload that races every cancel path it has, then checks what every request
//! ended as. A failed check is a panic, which the explorer reports with its schedule.
//!
//! The common workload, on the kernel's virtual clock:
//! - at 0 ms, a reader thread issues overlapped reads on two handles (two file objects),
//!   and a second thread issues one read and exits at once (thread exit cancels it);
//! - at 1 ms the first reader issues one more read, and the main thread cancels two reads
//!   with `CancelIoEx` (one likely on the hardware by then, one being dispatched);
//! - at 2 ms the second handle is closed (IRP_MJ_CLEANUP for its file object);
//! - the hardware finishes a read every millisecond meanwhile, racing all of the above;
//! - the readers wait for their reads (20 ms at most), exit, the process ends.
//!
//! Then every read must have been delivered exactly once, `STATUS_SUCCESS` with its length
//! or `STATUS_CANCELLED` with 0, the driver's counters must add up to the reads issued,
//! and nothing may stay queued. The explorer adds leak accounting at the end.

use std::sync::Arc;
use std::time::Duration;

use irpkit::explore::Scenario;
use irpkit::io::{Handle, IoConfig, Overlapped, Process, RequesterThread};
use irpkit::nt::{self, ke_delay_execution_thread, IoStatusBlock, NtStatus};
use irpkit::safe::{create_device, create_start_io_device};
use irpkit::Kernel;

use crate::csq_worker::CsqWorker;
use crate::pending_read::PendingRead;
use crate::serial::{Serial, SerialConfig};
use crate::stubborn::Stubborn;

/// The length of every read.
const LEN: u32 = 8;
/// One millisecond in `KeDelayExecutionThread` units (negative: relative, 100 ns).
const MS: i64 = -10_000;

/// Which sample a [`SampleScenario`] drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// [`PendingRead`] with a hardware thread finishing a read every millisecond.
    PendingRead,
    /// [`Serial`] (StartIo, FIFO), with DeferredStartIo or without.
    Serial {
        /// `IoSetStartIoAttributes(DeferredStartIo)`.
        deferred: bool,
    },
    /// [`Serial::disk`]: keyed by sector, served as an elevator.
    Disk,
    /// [`CsqWorker`], then its unload path (shutdown) and a read refused after it.
    CsqWorker,
    /// [`Stubborn`]: thread exit waits the five minutes, disassociates and logs.
    Stubborn,
}

/// A safe-API sample driver under the common workload.
#[derive(Debug, Clone)]
pub struct SampleScenario {
    name: &'static str,
    sample: Sample,
}

impl SampleScenario {
    /// The scenario `name` for `sample`.
    pub fn new(name: &'static str, sample: Sample) -> Self {
        SampleScenario { name, sample }
    }
}

/// Every sample scenario, with one line about it.
pub fn samples() -> Vec<(&'static str, &'static str, Arc<dyn Scenario>)> {
    let s = |name, about, sample| -> (&'static str, &'static str, Arc<dyn Scenario>) {
        (name, about, Arc::new(SampleScenario::new(name, sample)))
    };
    vec![
        s("pending-read", "driver queue + cancel routine, hardware thread", Sample::PendingRead),
        s("serial", "StartIo, device queue, timer + DPC, DeferredStartIo", Sample::Serial { deferred: true }),
        s("serial-nondeferred", "StartIo without DeferredStartIo", Sample::Serial { deferred: false }),
        s("disk", "StartIo keyed by sector, elevator order", Sample::Disk),
        s("csq-worker", "cancel-safe queue, worker thread, remove lock, unload", Sample::CsqWorker),
        s("stubborn", "no cancel routine: the five-minute thread-exit path", Sample::Stubborn),
    ]
}

/// The reads of one scenario run and their checks.
struct Reads {
    /// One per read, in issue order.
    ops: Vec<Overlapped>,
}

impl Reads {
    fn new(n: usize) -> Self {
        Reads { ops: (0..n).map(|_| Overlapped::new()).collect() }
    }

    /// Every read delivered, successfully with its length or cancelled with nothing;
    /// returns (succeeded, cancelled).
    fn check(&self, what: &str) -> (usize, usize) {
        let mut counts = (0, 0);
        for (i, o) in self.ops.iter().enumerate() {
            assert!(o.is_signalled(), "{what}: read {i} was never delivered");
            match o.status_block() {
                IoStatusBlock { status: nt::STATUS_SUCCESS, information } => {
                    assert_eq!(information, LEN as usize, "{what}: read {i} succeeded with a wrong length");
                    counts.0 += 1;
                }
                IoStatusBlock { status: nt::STATUS_CANCELLED, information } => {
                    assert_eq!(information, 0, "{what}: read {i} was cancelled with data");
                    counts.1 += 1;
                }
                other => panic!("{what}: read {i} ended {other:?}"),
            }
        }
        counts
    }
}

/// Issues an overlapped read; it pends (or is finished at once: cancelled before its
/// cancel routine was set) — the check at the end looks at what was delivered.
fn issue(t: &RequesterThread, h: Handle, offset: i64, o: &Overlapped) {
    let status: NtStatus = t.read_overlapped(h, LEN, offset, o).expect("the handle is open");
    assert!(status == nt::STATUS_PENDING || status == nt::STATUS_CANCELLED, "a read was dispatched to {status:#x}");
}

/// The common workload: reads on `h1` and `h2` (offsets chosen for the disk), cancels,
/// the close of `h2`, thread exits. `hardware` runs on its own thread meanwhile.
/// Returns the reads once every requester thread has exited.
fn workload(p: &Process, h1: Handle, h2: Handle) -> Reads {
    let reads = Arc::new(Reads::new(5));
    let first = {
        let r = reads.clone();
        p.spawn(move |t| {
            issue(t, h1, 0, &r.ops[0]);
            issue(t, h2, 8 * 512, &r.ops[1]);
            ke_delay_execution_thread(MS);
            issue(t, h1, 2 * 512, &r.ops[2]);
            for o in &r.ops[..3] {
                o.wait(Some(Duration::from_millis(20)));
            }
        })
    };
    let second = {
        let r = reads.clone();
        p.spawn(move |t| {
            // Exits at once: thread exit cancels this read, racing the hardware.
            issue(t, h2, 4 * 512, &r.ops[3]);
        })
    };
    let third = {
        let r = reads.clone();
        p.spawn(move |t| {
            issue(t, h1, 6 * 512, &r.ops[4]);
            r.ops[4].wait(Some(Duration::from_millis(20)));
        })
    };
    ke_delay_execution_thread(MS);
    let _ = p.cancel_io_ex(h1, Some(&reads.ops[0]));
    let _ = p.cancel_io_ex(h1, Some(&reads.ops[2]));
    ke_delay_execution_thread(MS);
    p.close(h2);
    for t in [first, second, third] {
        t.join().expect("a requester thread panicked");
    }
    Arc::try_unwrap(reads).unwrap_or_else(|_| panic!("the requester threads are gone"))
}

impl Scenario for SampleScenario {
    fn name(&self) -> &str {
        self.name
    }

    fn run(&self, kernel: &Kernel) {
        match self.sample {
            Sample::PendingRead => pending_read(kernel),
            Sample::Serial { deferred } => serial(
                kernel,
                SerialConfig {
                    transfer_time: Duration::from_millis(1),
                    deferred_start_io: deferred,
                    ..Default::default()
                },
            ),
            Sample::Disk => serial(
                kernel,
                SerialConfig { transfer_time: Duration::from_millis(1), elevator: true, ..Default::default() },
            ),
            Sample::CsqWorker => csq_worker(kernel),
            Sample::Stubborn => stubborn(kernel),
        }
    }
}

fn pending_read(kernel: &Kernel) {
    let dev = create_device(kernel, "PendingRead0", PendingRead::new()).expect("create the device");
    let p = Process::new(kernel);
    let h1 = p.open(dev.device_ref(), true).expect("open");
    let h2 = p.open(dev.device_ref(), true).expect("open");
    let hardware = {
        let dev = dev.clone();
        kernel.spawn_named("hardware", move || {
            let mut done = 0;
            for _ in 0..4 {
                ke_delay_execution_thread(MS);
                done += usize::from(dev.complete_next(LEN).is_some());
            }
            done
        })
    };
    let reads = workload(&p, h1, h2);
    let finished = hardware.join().expect("the hardware thread panicked");
    p.terminate();
    let (ok, _) = reads.check("pending-read");
    assert_eq!(ok, finished, "pending-read: the hardware finished {finished} reads, {ok} were delivered as done");
    assert_eq!(dev.queued(), 0, "pending-read: reads left queued");
}

fn serial(kernel: &Kernel, config: SerialConfig) {
    let dev = create_start_io_device(kernel, "Serial0", Serial::new(config)).expect("create the device");
    dev.configure(dev.device_ref());
    let p = Process::new(kernel);
    let h1 = p.open(dev.device_ref(), true).expect("open");
    let h2 = p.open(dev.device_ref(), true).expect("open");
    let reads = workload(&p, h1, h2);
    p.terminate();
    // The hardware goes quiet: a transfer stopped by a cancel fires its DPC at once.
    ke_delay_execution_thread(10 * MS);
    let (ok, cancelled) = reads.check("serial");
    let s = &dev.stats;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed) as usize;
    assert_eq!(load(&s.transferred), ok, "serial: transfers vs successful reads");
    assert_eq!(
        load(&s.cancelled_queued) + load(&s.cancelled_current),
        cancelled,
        "serial: the driver's cancellations vs cancelled reads"
    );
    assert!(!dev.device_ref().is_busy(), "serial: the device queue is still busy with nothing left to do");
}

fn csq_worker(kernel: &Kernel) {
    let dev = Arc::new(
        create_device(kernel, "CsqWorker0", CsqWorker::new(Duration::from_millis(1), Duration::ZERO))
            .expect("create the device"),
    );
    CsqWorker::start(&dev);
    let p = Process::new(kernel);
    let h1 = p.open(dev.device_ref(), true).expect("open");
    let h2 = p.open(dev.device_ref(), true).expect("open");
    let reads = workload(&p, h1, h2);
    // Unload: the worker stops, what is queued is cancelled, the remove lock drains.
    dev.shutdown();
    let late = Overlapped::new();
    let refused = {
        let late = late.clone();
        p.spawn(move |t| t.read_overlapped(h1, LEN, 0, &late)).join().expect("the late reader panicked")
    };
    assert_eq!(refused, Ok(nt::STATUS_DELETE_PENDING), "csq-worker: a read after unload");
    p.terminate();
    let (ok, cancelled) = reads.check("csq-worker");
    let s = &dev.stats;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed) as usize;
    assert_eq!(load(&s.transferred), ok, "csq-worker: transfers vs successful reads");
    assert_eq!(load(&s.cancelled) + load(&s.cleaned_up), cancelled, "csq-worker: cancellations vs cancelled reads");
    assert_eq!(load(&s.refused), 1, "csq-worker: refused reads");
    assert_eq!(dev.queued(), 0, "csq-worker: reads left queued");
}

fn stubborn(kernel: &Kernel) {
    let dev = create_device(kernel, "Stubborn0", Stubborn::new()).expect("create the device");
    // Five minutes, re-checked every ten seconds (Windows: every 100 ms): the same
    // deadline with fewer scheduling points.
    let config = IoConfig { exit_check_interval: Duration::from_secs(10), exit_max_checks: 30, ..IoConfig::default() };
    let p = Process::with_config(kernel, config);
    let h = p.open(dev.device_ref(), true).expect("open");
    let reads = Arc::new(Reads::new(2));
    let reader = {
        let r = reads.clone();
        p.spawn(move |t| {
            for o in &r.ops {
                issue(t, h, 0, o);
            }
            // Exits with both outstanding: nobody can cancel them.
        })
    };
    ke_delay_execution_thread(MS);
    assert_eq!(p.cancel_io_ex(h, None), nt::STATUS_SUCCESS, "stubborn: CancelIoEx finds the reads");
    reader.join().expect("the reader panicked");
    let log = kernel.event_log();
    assert_eq!(log.len(), 2, "stubborn: one IO_DRIVER_CANCEL_TIMEOUT entry per stuck read: {log:?}");
    assert!(log.iter().all(|e| e.code == irpkit::io::IO_DRIVER_CANCEL_TIMEOUT && e.at >= Duration::from_secs(300)));
    assert!(reads.ops.iter().all(|o| !o.is_signalled()), "stubborn: a disassociated read is never delivered");
    // The driver finally lets go: the disassociated IRPs are freed silently.
    assert_eq!(dev.finish_all(nt::STATUS_SUCCESS), 2);
    p.terminate();
}
