//! The `tracing` spans and events of the IRP lifecycle, seen by a library user's own
//! subscriber.
//!
//! This test has a file (a process) of its own: `tracing` caches each call site's
//! interest when the site is first hit, and a site first hit by another test's thread
//! while this test's scoped subscriber was being installed could keep a stale "nobody
//! listens" — the same subscriber would then miss events at random.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use irpkit::clock::VirtualClock;
use irpkit::io::{Overlapped, Process};
use irpkit::nt::STATUS_PENDING;
use irpkit::safe::create_device;
use irpkit::verifier::VerifierMode;
use irpkit::Kernel;
use irpkit_samples::pending_read::PendingRead;

fn kernel() -> Kernel {
    Kernel::builder().verifier_mode(VerifierMode::Record).clock(VirtualClock::new()).build()
}

/// A minimal `tracing` subscriber that writes down span and event names with their IRP.
struct Collect {
    lines: Arc<Mutex<Vec<String>>>,
    next: AtomicU64,
    names: Mutex<Vec<(u64, String)>>,
}

#[derive(Default)]
struct Fields {
    message: String,
    irp: Option<u64>,
    by: Option<String>,
}

impl tracing::field::Visit for Fields {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        if field.name() == "irp" {
            self.irp = Some(value);
        }
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "by" {
            self.by = Some(value.to_string());
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

impl tracing::Subscriber for Collect {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "irpkit"
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut f = Fields::default();
        span.record(&mut f);
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let label = format!("{} irp={:?}", span.metadata().name(), f.irp);
        self.names.lock().unwrap().push((id, label));
        tracing::span::Id::from_u64(id)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let by = f.by.map(|b| format!(" by={b}")).unwrap_or_default();
        self.lines.lock().unwrap().push(format!("event {} irp={:?}{by}", f.message, f.irp));
    }
    fn enter(&self, span: &tracing::span::Id) {
        let names = self.names.lock().unwrap();
        let label = &names.iter().find(|(id, _)| *id == span.into_u64()).unwrap().1;
        self.lines.lock().unwrap().push(format!("enter {label}"));
    }
    fn exit(&self, span: &tracing::span::Id) {
        let names = self.names.lock().unwrap();
        let label = &names.iter().find(|(id, _)| *id == span.into_u64()).unwrap().1;
        self.lines.lock().unwrap().push(format!("exit {label}"));
    }
}

/// The IRP lifecycle reaches a library user's own `tracing` subscriber, recorder off.
#[test]
fn tracing_spans_and_events_for_the_irp_lifecycle() {
    let k = kernel();
    let dev = create_device(&k, "PR", PendingRead::new()).unwrap();
    let p = Process::new(&k);
    let h = p.open(dev.device_ref(), true).unwrap();
    let t = p.attach_thread();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let subscriber = Collect { lines: lines.clone(), next: AtomicU64::new(0), names: Mutex::new(Vec::new()) };
    let a = Overlapped::new();
    tracing::subscriber::with_default(subscriber, || {
        assert_eq!(t.read_overlapped(h, 16, 0, &a), Ok(STATUS_PENDING));
        p.cancel_io_ex(h, Some(&a));
    });
    let irp = a.irp_id().unwrap();
    let some = format!("Some({irp})");
    let expected = [
        format!("event irp_allocated irp={some}"),
        format!("enter dispatch irp={some}"),
        format!("event mark_pending irp={some}"),
        format!("event cancel_routine_set irp={some}"),
        format!("event dispatch_returned irp={some}"),
        format!("exit dispatch irp={some}"),
        format!("event cancel_requested irp={some} by=CancelIoEx"),
        format!("event io_cancel_irp irp={some}"),
        format!("enter cancel_routine irp={some}"),
        format!("event io_complete_request irp={some}"),
        format!("event finished irp={some}"),
        format!("event irp_freed irp={some}"),
        format!("exit cancel_routine irp={some}"),
    ];
    assert_eq!(*lines.lock().unwrap(), expected);
    assert!(k.timeline().is_empty(), "the recorder stayed off");
    t.exit();
    p.terminate();
}
