//! `Overlapped` is single-flight: a request issued with an `OVERLAPPED` whose previous
//! request has not finished is refused, so two completions can never write one status
//! block (the torn `{0, 0}`-style status blocks safe code could once produce: a data race,
//! undefined behaviour). Safe code only; CI also runs this binary under valgrind.
#![cfg(not(any(loom, shuttle)))]
#![forbid(unsafe_code)]

use std::sync::{Arc, Barrier};

use irpkit::clock::VirtualClock;
use irpkit::io::{Overlapped, Process};
use irpkit::nt::{IoStatusBlock, IRP_MJ_READ, STATUS_INVALID_PARAMETER, STATUS_PENDING, STATUS_SUCCESS};
use irpkit::safe::{create_device, CancelSafeIrpQueue, Device, DeviceRef, Dispatched, Driver, Irp};
use irpkit::Kernel;

/// Reads pend in a cancel-safe queue until the test completes them; everything else
/// succeeds at once.
#[derive(Default)]
struct Pends {
    reads: CancelSafeIrpQueue,
}

impl Driver for Pends {
    fn dispatch(&self, _device: &DeviceRef, irp: Irp) -> Dispatched {
        if irp.major_function() != IRP_MJ_READ {
            return irp.complete(STATUS_SUCCESS, 0).into();
        }
        match self.reads.insert(irp) {
            Ok(pending) => pending.into(),
            Err(irp) => irp.complete(irpkit::nt::STATUS_INSUFFICIENT_RESOURCES, 0).into(),
        }
    }
}

impl Pends {
    /// Completes the oldest pending read with `information` bytes; false if none pends.
    fn finish_one(&self, information: usize) -> bool {
        match self.reads.remove_next() {
            Some(irp) => {
                irp.complete(STATUS_SUCCESS, information);
                true
            }
            None => false,
        }
    }
}

fn setup() -> (Kernel, Device<Pends>, Process) {
    let kernel = Kernel::builder().clock(VirtualClock::new()).build();
    let dev = create_device(&kernel, "pends", Pends::default()).unwrap();
    let process = Process::new(&kernel);
    (kernel, dev, process)
}

/// Ends the process and checks nothing was lost or reported.
fn ends_clean(kernel: &Kernel, process: &Process) {
    process.terminate();
    assert_eq!(kernel.irps_outstanding(), 0);
    assert_eq!(kernel.verifier().report_count(), 0, "{:#?}", kernel.verifier().reports());
}

/// A second request on an `Overlapped` whose first is still pending is refused with
/// `STATUS_INVALID_PARAMETER`, never reaches the driver, and the first request's result
/// is delivered intact.
#[test]
fn a_second_request_on_a_pending_overlapped_is_refused() {
    let (kernel, dev, process) = setup();
    let h = process.open(dev.device_ref(), true).unwrap();
    let t = process.attach_thread();
    let o = Overlapped::new();
    assert_eq!(t.read_overlapped(h, 16, 0, &o), Ok(STATUS_PENDING));
    let first = o.irp_id();
    assert_eq!(t.read_overlapped(h, 32, 0, &o), Err(STATUS_INVALID_PARAMETER), "reused while pending");
    assert_eq!(t.write_overlapped(h, 32, 0, &o), Err(STATUS_INVALID_PARAMETER));
    assert_eq!(t.device_io_control_overlapped(h, 0x22_0000, 0, 0, &o), Err(STATUS_INVALID_PARAMETER));
    assert_eq!(o.irp_id(), first, "the refused requests left the OVERLAPPED alone");
    assert_eq!(dev.reads.len(), 1, "only the first request reached the driver");
    assert_eq!(o.status_block(), IoStatusBlock { status: STATUS_PENDING, information: 0 });
    assert!(dev.finish_one(16));
    assert!(o.is_signalled());
    assert_eq!(o.status_block(), IoStatusBlock { status: STATUS_SUCCESS, information: 16 });
    assert_eq!(t.outstanding(), 0);
    t.exit();
    ends_clean(&kernel, &process);
}

/// Two threads issuing on one fresh `Overlapped` at once: exactly one of them gets it.
#[test]
fn two_threads_racing_to_issue_on_one_overlapped_one_wins() {
    let (kernel, dev, process) = setup();
    let h = process.open(dev.device_ref(), true).unwrap();
    for round in 0..200 {
        let o = Overlapped::new();
        let start = Arc::new(Barrier::new(2));
        let finished = Arc::new(Barrier::new(3));
        let (results_tx, results) = std::sync::mpsc::channel();
        let issuers: Vec<_> = (0..2)
            .map(|_| {
                let (process, o, kernel) = (process.clone(), o.clone(), kernel.clone());
                let (start, finished, results_tx) = (start.clone(), finished.clone(), results_tx.clone());
                std::thread::spawn(move || {
                    let _entered = kernel.enter();
                    let t = process.attach_thread();
                    start.wait();
                    results_tx.send(t.read_overlapped(h, 8, 0, &o)).unwrap();
                    finished.wait(); // the winner's read completed: nothing left to cancel
                    t.exit();
                })
            })
            .collect();
        let results: Vec<_> = (0..2).map(|_| results.recv().unwrap()).collect();
        let won = results.iter().filter(|r| **r == Ok(STATUS_PENDING)).count();
        let refused = results.iter().filter(|r| **r == Err(STATUS_INVALID_PARAMETER)).count();
        assert_eq!((won, refused), (1, 1), "round {round}: {results:?}");
        assert!(dev.finish_one(8));
        assert!(!dev.finish_one(8), "round {round}: a second request reached the driver");
        assert_eq!(o.status_block(), IoStatusBlock { status: STATUS_SUCCESS, information: 8 });
        finished.wait();
        for i in issuers {
            i.join().unwrap();
        }
    }
    ends_clean(&kernel, &process);
}

/// Once its request has completed (delivered, or finished at once), an `Overlapped` takes the
/// next one, and shows that one's result.
#[test]
fn an_overlapped_is_reusable_once_its_request_completed() {
    let (kernel, dev, process) = setup();
    let h = process.open(dev.device_ref(), true).unwrap();
    let t = process.attach_thread();
    let o = Overlapped::new();
    for n in 1..=5usize {
        assert_eq!(t.read_overlapped(h, 8, 0, &o), Ok(STATUS_PENDING), "request {n}");
        assert!(dev.finish_one(n));
        assert_eq!(o.wait(None), Some(IoStatusBlock { status: STATUS_SUCCESS, information: n }));
    }
    // A request finished at once (an ioctl the driver completes without pending) is
    // finished too: the OVERLAPPED is free again right away.
    assert_eq!(t.device_io_control_overlapped(h, 0x22_0000, 0, 0, &o), Ok(STATUS_SUCCESS));
    assert_eq!(t.read_overlapped(h, 8, 0, &o), Ok(STATUS_PENDING));
    assert!(dev.finish_one(3));
    assert_eq!(o.status_block(), IoStatusBlock { status: STATUS_SUCCESS, information: 3 });
    t.exit();
    ends_clean(&kernel, &process);
}
