//! The timeline recorder: what a cancelled read looks like, event by event, through the
//! pending-read sample. (The `tracing` spans are in `tracing_spans.rs`.)

use irpkit::clock::VirtualClock;
use irpkit::io::{Overlapped, Process, IO_DRIVER_CANCEL_TIMEOUT};
use irpkit::nt::{IRP_MJ_READ, STATUS_CANCELLED, STATUS_PENDING};
use irpkit::safe::create_device;
use irpkit::timeline::{Event, EventKind};
use irpkit::verifier::VerifierMode;
use irpkit::Kernel;
use irpkit_samples::pending_read::PendingRead;
use irpkit_samples::stubborn::Stubborn;

fn kernel() -> Kernel {
    Kernel::builder().verifier_mode(VerifierMode::Record).clock(VirtualClock::new()).build()
}

/// The events about IRP `irp`, as short names in order.
fn names_for(events: &[Event], irp: u64) -> Vec<&'static str> {
    events
        .iter()
        .filter(|e| e.kind.irp() == Some(irp))
        .map(|e| match e.kind {
            EventKind::IrpAllocated { .. } => "allocated",
            EventKind::Dispatch { .. } => "dispatch",
            EventKind::DispatchReturned { .. } => "dispatch returned",
            EventKind::MarkedPending { .. } => "marked pending",
            EventKind::CancelRoutineSet { .. } => "cancel routine set",
            EventKind::CancelRoutineCleared { .. } => "cancel routine cleared",
            EventKind::CancelRequested { .. } => "cancel requested",
            EventKind::IoCancelIrp { .. } => "IoCancelIrp",
            EventKind::CancelRoutineStarted { .. } => "cancel routine",
            EventKind::CancelRoutineReturned { .. } => "cancel routine returned",
            EventKind::Completed { .. } => "completed",
            EventKind::Finished { .. } => "finished",
            EventKind::Disassociated { .. } => "disassociated",
            EventKind::IrpFreed { .. } => "freed",
            EventKind::EventLogged { .. } => "logged",
            _ => "other",
        })
        .collect()
}

#[test]
fn timeline_of_a_read_cancelled_by_cancel_io_ex() {
    let k = kernel();
    let dev = create_device(&k, "PR", PendingRead::new()).unwrap();
    let p = Process::new(&k);
    let h = p.open(dev.device_ref(), true).unwrap();
    let t = p.attach_thread();
    assert!(k.timeline().is_empty(), "off by default");
    k.record_timeline(true);
    let a = Overlapped::new();
    assert_eq!(t.read_overlapped(h, 16, 0, &a), Ok(STATUS_PENDING));
    p.cancel_io_ex(h, Some(&a));
    assert_eq!(a.status_block().status, STATUS_CANCELLED);
    let irp = a.irp_id().unwrap();
    let events = k.take_timeline();
    assert_eq!(
        names_for(&events, irp),
        [
            "allocated",
            "dispatch",
            "marked pending",
            "cancel routine set",
            "dispatch returned",
            "cancel requested",
            "IoCancelIrp",
            "cancel routine",
            "completed",
            "finished",
            "freed",
            "cancel routine returned",
        ]
    );
    let by_kind = |f: fn(&EventKind) -> bool| events.iter().find(|e| f(&e.kind)).unwrap().kind.clone();
    assert_eq!(
        by_kind(|k| matches!(k, EventKind::Dispatch { .. })),
        EventKind::Dispatch { irp, device: "\\Device\\PR".into(), major: IRP_MJ_READ, location: 1 }
    );
    assert_eq!(
        by_kind(|k| matches!(k, EventKind::CancelRequested { .. })),
        EventKind::CancelRequested { irp, by: "CancelIoEx" }
    );
    assert_eq!(
        by_kind(|k| matches!(k, EventKind::Finished { .. })),
        EventKind::Finished { irp, status: STATUS_CANCELLED, delivered: true }
    );
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (0..events.len() as u64).collect::<Vec<_>>(), "numbered in order");
    k.record_timeline(false);
    t.exit();
    p.terminate();
    assert!(k.timeline().is_empty(), "nothing recorded while off");
}

/// A stubborn driver: the thread's exit waits the five minutes (virtual), disassociates
/// the IRP and logs it — all on the timeline, with the clock's time.
#[test]
fn timeline_of_the_five_minute_exit() {
    let k = kernel();
    let _dpc = k.start_dpc_thread();
    let dev = create_device(&k, "Stuck", Stubborn::new()).unwrap();
    let p = Process::new(&k);
    let h = p.open(dev.device_ref(), true).unwrap();
    k.record_timeline(true);
    let t = p.attach_thread();
    let a = Overlapped::new();
    assert_eq!(t.read_overlapped(h, 16, 0, &a), Ok(STATUS_PENDING));
    let irp = a.irp_id().unwrap();
    let driver = k.clone();
    let advancer = std::thread::spawn(move || {
        let clock = driver.virtual_clock().unwrap();
        while driver.event_log().is_empty() {
            clock.advance(std::time::Duration::from_millis(100));
            std::thread::yield_now();
        }
    });
    t.exit();
    advancer.join().unwrap();
    let events = k.timeline();
    let names = names_for(&events, irp);
    assert_eq!(&names[..4], ["allocated", "dispatch", "marked pending", "dispatch returned"], "{names:?}");
    assert!(names.contains(&"cancel requested"), "{names:?}");
    let dis = events.iter().position(|e| e.kind == EventKind::Disassociated { irp }).unwrap();
    let logged =
        events.iter().position(|e| e.kind == EventKind::EventLogged { name: "IO_DRIVER_CANCEL_TIMEOUT", irp }).unwrap();
    assert!(dis < logged);
    let start = events.iter().find(|e| matches!(e.kind, EventKind::ThreadExitStarted { .. })).unwrap();
    assert!(matches!(start.kind, EventKind::ThreadExitStarted { outstanding: 1, .. }));
    assert!(events[dis].at - start.at >= std::time::Duration::from_secs(300), "five minutes of virtual time");
    assert_eq!(k.event_log()[0].code, IO_DRIVER_CANCEL_TIMEOUT);
    p.terminate();
}

/// Threads started by the kernel name themselves on the timeline and say when they end.
#[test]
fn timeline_names_kernel_threads() {
    let k = kernel();
    k.record_timeline(true);
    k.name_current_thread("main");
    k.spawn_named("worker", || {}).join().unwrap();
    let events = k.timeline();
    let named: Vec<(&str, u64)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ThreadNamed { name } => Some((name.as_str(), e.thread)),
            _ => None,
        })
        .collect();
    assert_eq!(named.len(), 2);
    assert_eq!(named[0].0, "main");
    assert_eq!(named[1].0, "worker");
    assert_ne!(named[0].1, named[1].1);
    assert!(events.iter().any(|e| e.kind == EventKind::ThreadEnded && e.thread == named[1].1));
}

/// A recording started after a thread named itself still names that thread (a DPC
/// thread started with the kernel, say), and forgets threads that have ended.
#[test]
fn a_recording_names_threads_that_started_before_it() {
    let k = kernel();
    let dpc = k.start_dpc_thread();
    k.spawn_named("gone", || {}).join().unwrap();
    k.record_timeline(true);
    let (tx, rx) = std::sync::mpsc::channel();
    let named_late = k.spawn_named("late", move || tx.send(()).unwrap());
    rx.recv().unwrap();
    named_late.join().unwrap();
    let names: Vec<String> = k
        .timeline()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ThreadNamed { name } => Some(name.clone()),
            _ => None,
        })
        .collect();
    // The DPC thread names itself on its own thread, before or after the recording began:
    // either way it is named exactly once; the thread that ended before is not.
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, ["DPC", "late"], "the living threads, not the ended one: {names:?}");
    drop(dpc);
    // Turning the recorder on again while it is on adds nothing.
    let before = k.timeline().len();
    k.record_timeline(true);
    assert_eq!(k.timeline().len(), before);
}
