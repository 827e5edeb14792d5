//! Cancel-safe queue workloads, each with its peer.
//!
//! - per request: insert → remove-next → complete, one request at a time: irpkit's IRP
//!   cancel-safe queue with a full IRP ([`CsqIrpPerRequest`]: allocate, IoCallDriver,
//!   IoCsqInsertIrp, IoCsqRemoveNextIrp, IoCompleteRequest, free), its typed
//!   `CancelQueue<Item>` ([`TypedPerRequest`]: push → ticket, pop, the ticket sees the
//!   outcome), and the floor — a bare `Mutex<VecDeque<Box<Item>>>` push and pop, a queue
//!   with no cancellation at all ([`FloorPerRequest`]).
//! - cancel storm: [`STORM`] requests queued, one thread serving them, another cancelling
//!   every second one, until each has its one result: irpkit's IRP queue
//!   ([`CsqIrpStorm`]) and typed queue ([`TypedStorm`]) against tokio's mpsc +
//!   `CancellationToken` + a `oneshot` per request ([`tokio_storm`]).
//!
//! Shared by `crates/irpkit-perf/benches/csq.rs` (divan) and the `irpkit-perf` report.

use std::collections::VecDeque;
use std::ffi::c_void;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use irpkit::nt::*;
use irpkit::safe::{
    create_device, CancelQueue, CancelSafeIrpQueue, Device, DeviceRef, Dispatched, Driver, Irp as SafeIrp,
};
use irpkit::Kernel;

/// A driver that queues every IRP in a cancel-safe queue (reads and anything else).
pub struct Queued(pub CancelSafeIrpQueue);

impl Driver for Queued {
    fn dispatch(&self, _d: &DeviceRef, irp: SafeIrp) -> Dispatched {
        match self.0.insert(irp) {
            Ok(pending) => pending.into(),
            Err(refused) => refused.complete(STATUS_DEVICE_NOT_READY, 0).into(),
        }
    }
}

/// The payload of the typed queue and of the floor (32 bytes).
#[derive(Debug, Clone, Copy)]
pub struct Item(pub [u64; 4]);

/// Per request through the IRP cancel-safe queue, with a full IRP.
pub struct CsqIrpPerRequest {
    kernel: Kernel,
    dev: Device<Queued>,
}

impl CsqIrpPerRequest {
    /// A kernel with a queueing device.
    pub fn new() -> Self {
        let kernel = Kernel::new();
        let _e = kernel.enter();
        let dev = create_device(&kernel, "Q", Queued(CancelSafeIrpQueue::new())).unwrap();
        CsqIrpPerRequest { kernel, dev }
    }

    /// The kernel to enter around [`step`](Self::step).
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// Allocate, IoCallDriver (queued), IoCsqRemoveNextIrp, IoCompleteRequest (freed).
    pub fn step(&mut self) {
        // SAFETY: a fresh IRP for a live device; the queue hands it back to complete.
        unsafe {
            let irp = io_allocate_irp(1, false);
            (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
            black_box(io_call_driver(self.dev.as_ptr(), irp));
        }
        let irp = self.dev.0.remove_next().expect("queued");
        black_box(irp.complete(STATUS_SUCCESS, 0));
    }
}

impl Default for CsqIrpPerRequest {
    fn default() -> Self {
        Self::new()
    }
}

/// Per request through the typed `CancelQueue<Item>`: the item lives in the queue's node,
/// one heap allocation per entry, as the floor's box.
pub struct TypedPerRequest {
    queue: CancelQueue<Item>,
}

impl TypedPerRequest {
    /// An empty queue.
    pub fn new() -> Self {
        TypedPerRequest { queue: CancelQueue::new() }
    }

    /// Push (a ticket), pop, read the ticket's outcome.
    pub fn step(&mut self) {
        let ticket = self.queue.push(Item([1; 4]));
        let item = self.queue.pop().expect("queued");
        black_box((item, ticket.outcome()));
    }
}

impl Default for TypedPerRequest {
    fn default() -> Self {
        Self::new()
    }
}

/// The floor: a bare `Mutex<VecDeque<Box<Item>>>`, no cancellation at all.
pub struct FloorPerRequest {
    queue: Mutex<VecDeque<Box<Item>>>,
}

impl FloorPerRequest {
    /// An empty queue.
    pub fn new() -> Self {
        FloorPerRequest { queue: Mutex::new(VecDeque::with_capacity(16)) }
    }

    /// Push a boxed item, pop it.
    pub fn step(&mut self) {
        self.queue.lock().unwrap().push_back(Box::new(Item([1; 4])));
        let item = self.queue.lock().unwrap().pop_front().expect("queued");
        black_box(item);
    }
}

impl Default for FloorPerRequest {
    fn default() -> Self {
        Self::new()
    }
}

/// Requests per cancel storm.
pub const STORM: usize = 1000;

unsafe extern "system-unwind" fn count_completion(_d: *mut DeviceObject, _irp: *mut Irp, ctx: *mut c_void) -> NtStatus {
    // SAFETY: the context is the storm's `remaining` counter, alive until all complete.
    unsafe { (*ctx.cast::<AtomicUsize>()).fetch_sub(1, Ordering::AcqRel) };
    STATUS_MORE_PROCESSING_REQUIRED // keep the IRP: the canceller may still look at it
}

/// The cancel storm through the IRP cancel-safe queue.
pub struct CsqIrpStorm {
    kernel: Kernel,
    dev: Device<Queued>,
}

impl CsqIrpStorm {
    /// A kernel with a queueing device.
    pub fn new() -> Self {
        let kernel = Kernel::new();
        let _e = kernel.enter();
        let dev = create_device(&kernel, "Q", Queued(CancelSafeIrpQueue::new())).unwrap();
        CsqIrpStorm { kernel, dev }
    }

    /// The kernel to enter around [`step`](Self::step).
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// One storm of [`STORM`] IRPs.
    pub fn step(&mut self) {
        let remaining = AtomicUsize::new(STORM);
        let rem = &remaining as *const AtomicUsize as *mut c_void;
        let raw = self.dev.as_ptr() as usize;
        let irps: Vec<usize> = (0..STORM)
            .map(|_| {
                // SAFETY: a fresh IRP for a live device, with the creator's routine.
                unsafe {
                    let irp = io_allocate_irp(1, false);
                    (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
                    io_set_completion_routine(irp, Some(count_completion), rem, true, true, true);
                    io_call_driver(raw as *mut DeviceObject, irp);
                    irp as usize
                }
            })
            .collect();
        std::thread::scope(|s| {
            let (k1, k2, dev, remaining, irps) = (&self.kernel, &self.kernel, &self.dev, &remaining, &irps);
            s.spawn(move || {
                let _e = k1.enter();
                while remaining.load(Ordering::Acquire) > 0 {
                    match dev.0.remove_next() {
                        Some(irp) => {
                            irp.complete(STATUS_SUCCESS, 0);
                        }
                        None => std::hint::spin_loop(),
                    }
                }
            });
            s.spawn(move || {
                let _e = k2.enter();
                for &irp in irps.iter().step_by(2) {
                    // SAFETY: the creator cancels its own IRP (kept until freed below).
                    unsafe { io_cancel_irp(irp as *mut Irp) };
                }
            });
        });
        for irp in irps {
            // SAFETY: completed and kept by the creator's routine; freed once.
            unsafe { io_free_irp(irp as *mut Irp) };
        }
    }
}

impl Default for CsqIrpStorm {
    fn default() -> Self {
        Self::new()
    }
}

/// The cancel storm through the typed queue.
pub struct TypedStorm {
    queue: CancelQueue<Item>,
}

impl TypedStorm {
    /// An empty queue.
    pub fn new() -> Self {
        TypedStorm { queue: CancelQueue::new() }
    }

    /// One storm of [`STORM`] entries.
    pub fn step(&mut self) {
        let q = &self.queue;
        let tickets: Vec<_> = (0..STORM).map(|_| q.push(Item([1; 4]))).collect();
        let served = AtomicUsize::new(0);
        let cancelled = AtomicUsize::new(0);
        std::thread::scope(|s| {
            let (served, cancelled, tickets) = (&served, &cancelled, &tickets);
            s.spawn(move || {
                while served.load(Ordering::Relaxed) + cancelled.load(Ordering::Acquire) < STORM {
                    match q.pop() {
                        Some(item) => {
                            black_box(item);
                            served.fetch_add(1, Ordering::Relaxed);
                        }
                        None => std::hint::spin_loop(),
                    }
                }
            });
            s.spawn(move || {
                let n = tickets.iter().step_by(2).filter(|t| t.cancel()).count();
                cancelled.fetch_add(n, Ordering::Release);
            });
        });
        for t in &tickets {
            black_box(t.outcome());
        }
    }
}

impl Default for TypedStorm {
    fn default() -> Self {
        Self::new()
    }
}

/// The cancel storm written with tokio: an unbounded mpsc of (token, oneshot sender); the
/// server replies `!cancelled` to each, the requester receives every reply.
pub fn tokio_storm() {
    use tokio::sync::{mpsc, oneshot};
    use tokio_util::sync::CancellationToken;
    let (tx, mut rx) = mpsc::unbounded_channel::<(CancellationToken, oneshot::Sender<bool>)>();
    let mut tokens = Vec::with_capacity(STORM);
    let mut results = Vec::with_capacity(STORM);
    for _ in 0..STORM {
        let token = CancellationToken::new();
        let (done, result) = oneshot::channel();
        tx.send((token.clone(), done)).unwrap();
        tokens.push(token);
        results.push(result);
    }
    drop(tx);
    std::thread::scope(|s| {
        s.spawn(move || {
            while let Some((token, done)) = rx.blocking_recv() {
                let _ = done.send(!token.is_cancelled());
            }
        });
        let tokens = &tokens;
        s.spawn(move || {
            for t in tokens.iter().step_by(2) {
                t.cancel();
            }
        });
    });
    for r in results {
        black_box(r.blocking_recv().unwrap());
    }
}
