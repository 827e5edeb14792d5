//! Cancel-safe queue benchmarks, each against its peer in the same run.
//!
//! - `per_request`: insert → remove-next → complete, one request at a time, against the
//!   floor — a bare `Mutex<VecDeque<Box<_>>>` push and pop of boxed items, a queue with no
//!   cancellation at all: irpkit's typed `CancelQueue<Box<_>>` (push → ticket, pop, the
//!   ticket sees the outcome) and, for drivers, the IRP cancel-safe queue with a full IRP
//!   (allocate, IoCallDriver, IoCsqInsertIrp, IoCsqRemoveNextIrp, IoCompleteRequest, free).
//! - `cancel_storm`: 1000 requests queued, one thread serving them, another cancelling
//!   every second one, until each has its one result: irpkit's typed queue and IRP queue
//!   against the same workload written with tokio's mpsc + `CancellationToken` + a oneshot
//!   per request (what a Rust user would otherwise write).
//!
//! Run: `cargo bench -p irpkit --bench csq`

use std::collections::VecDeque;
use std::ffi::c_void;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use divan::counter::ItemsCount;
use divan::Bencher;
use irpkit::nt::*;
use irpkit::safe::{create_device, CancelQueue, CancelSafeQueue, DeviceRef, Dispatched, Driver, Irp as SafeIrp};
use irpkit::Kernel;

fn main() {
    divan::main();
}

struct Queued(CancelSafeQueue);

impl Driver for Queued {
    fn dispatch(&self, _d: &DeviceRef, irp: SafeIrp) -> Dispatched {
        match self.0.insert(irp) {
            Ok(pending) => pending.into(),
            Err(refused) => refused.complete(STATUS_DEVICE_NOT_READY, 0).into(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
#[allow(dead_code)]
struct Item([u64; 4]);

mod per_request {
    use super::*;

    #[divan::bench]
    fn irpkit_cancel_safe_queue(bencher: Bencher) {
        let kernel = Kernel::new();
        let _e = kernel.enter();
        let dev = create_device(&kernel, "Q", Queued(CancelSafeQueue::new())).unwrap();
        let raw = dev.as_ptr();
        bencher.bench_local(|| {
            // SAFETY: a fresh IRP for a live device; the queue hands it back to complete.
            unsafe {
                let irp = io_allocate_irp(1, false);
                (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
                black_box(io_call_driver(raw, irp));
            }
            let irp = dev.0.remove_next().expect("queued");
            black_box(irp.complete(STATUS_SUCCESS, 0));
        });
    }

    /// The item lives in the queue's node: one heap allocation per entry, as the floor's
    /// box.
    #[divan::bench]
    fn irpkit_cancel_queue_typed(bencher: Bencher) {
        let q: CancelQueue<Item> = CancelQueue::new();
        bencher.bench_local(|| {
            let ticket = q.push(Item([1; 4]));
            let item = q.pop().expect("queued");
            black_box((item, ticket.outcome()));
        });
    }

    #[divan::bench]
    fn mutex_vecdeque_floor(bencher: Bencher) {
        let q: Mutex<VecDeque<Box<Item>>> = Mutex::new(VecDeque::with_capacity(16));
        bencher.bench_local(|| {
            q.lock().unwrap().push_back(Box::new(Item([1; 4])));
            let item = q.lock().unwrap().pop_front().expect("queued");
            black_box(item);
        });
    }
}

const STORM: usize = 1000;

unsafe extern "system-unwind" fn count_completion(_d: *mut DeviceObject, _irp: *mut Irp, ctx: *mut c_void) -> NtStatus {
    // SAFETY: the context is the storm's `remaining` counter, alive until all complete.
    unsafe { (*ctx.cast::<AtomicUsize>()).fetch_sub(1, Ordering::AcqRel) };
    STATUS_MORE_PROCESSING_REQUIRED // keep the IRP: the canceller may still look at it
}

mod cancel_storm {
    use super::*;

    #[divan::bench(counter = ItemsCount::new(STORM))]
    fn irpkit(bencher: Bencher) {
        let kernel = Kernel::new();
        let _e = kernel.enter();
        let dev = create_device(&kernel, "Q", Queued(CancelSafeQueue::new())).unwrap();
        let raw = dev.as_ptr() as usize;
        bencher.bench_local(|| {
            let remaining = AtomicUsize::new(STORM);
            let rem = &remaining as *const AtomicUsize as *mut c_void;
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
                let (k1, k2, dev, remaining, irps) = (&kernel, &kernel, &dev, &remaining, &irps);
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
        });
    }

    #[divan::bench(counter = ItemsCount::new(STORM))]
    fn irpkit_typed(bencher: Bencher) {
        let q: CancelQueue<Item> = CancelQueue::new();
        bencher.bench_local(|| {
            let tickets: Vec<_> = (0..STORM).map(|_| q.push(Item([1; 4]))).collect();
            let served = AtomicUsize::new(0);
            let cancelled = AtomicUsize::new(0);
            std::thread::scope(|s| {
                let (q, served, cancelled, tickets) = (&q, &served, &cancelled, &tickets);
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
        });
    }

    #[divan::bench(counter = ItemsCount::new(STORM))]
    fn tokio_mpsc_cancellation_token(bencher: Bencher) {
        use tokio::sync::{mpsc, oneshot};
        use tokio_util::sync::CancellationToken;
        bencher.bench_local(|| {
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
        });
    }
}
