//! The measurements beyond per-iteration time: heap bytes per queued request, heap
//! allocations per request in steady state, cancel latency percentiles, and the time a
//! requester thread's exit takes to cancel and deliver its outstanding reads.

use std::collections::VecDeque;
use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crossbeam_channel as cb;
use irpkit::io::{Handle, Overlapped, Process, RequesterThread};
use irpkit::nt::*;
use irpkit::safe::{
    create_device, CancelQueue, CancelSafeIrpQueue, Device, DeviceRef, Dispatched, Driver, Irp as SafeIrp, Request,
};
use irpkit::Kernel;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::alloc;
use crate::peers::{floor_queue, Reply, Requester};
use crate::runner::{alternate, time, Contender};
use crate::workloads::csq::{Item, Queued};
use crate::workloads::startio::{boxed_entries, free_queue, Keys};

/// Heap allocations per iteration of `c` over `n` iterations, after `warm` iterations
/// outside the count. Needs the counting allocator installed.
pub fn allocations_per_iteration(c: &mut Contender<'_>, warm: u64, n: u64) -> f64 {
    c.run(warm);
    let on = alloc::counting();
    let before = alloc::snapshot().allocations;
    c.run(n);
    let after = alloc::snapshot().allocations;
    drop(on);
    (after - before) as f64 / n as f64
}

/// Heap bytes per entry while `n` entries are queued: the live-byte difference across
/// `fill(state, n)`, divided by `n`. `setup` and `teardown` are not counted.
pub fn bytes_per_entry<S>(
    n: usize,
    setup: impl FnOnce() -> S,
    fill: impl FnOnce(&mut S, usize),
    teardown: impl FnOnce(S),
) -> f64 {
    let mut state = setup();
    let on = alloc::counting();
    let before = alloc::snapshot().live_bytes;
    fill(&mut state, n);
    let after = alloc::snapshot().live_bytes;
    drop(on);
    teardown(state);
    (after - before) as f64 / n as f64
}

// ----- memory per queued request ------------------------------------------------------

/// A device of `k` whose driver holds every IRP in a cancel-safe queue.
fn queued_csq_device(k: &Kernel) -> Device<Queued> {
    let _e = k.enter();
    create_device(k, "Q", Queued(CancelSafeIrpQueue::new())).unwrap()
}

/// Completes, with the kernel entered, every request a [`queued_csq_device`] still holds.
fn complete_queued(k: &Kernel, dev: &Device<Queued>) {
    let _e = k.enter();
    while let Some(irp) = dev.0.remove_next() {
        irp.complete(STATUS_SUCCESS, 0);
    }
}

/// irpkit, NT layer: IRPs with one stack location allocated and sent to a device that
/// holds them in a cancel-safe queue.
pub fn memory_nt_csq(n: usize) -> f64 {
    bytes_per_entry(
        n,
        || {
            let k = Kernel::new();
            let dev = queued_csq_device(&k);
            (k, dev)
        },
        |(k, dev), n| {
            let _e = k.enter();
            for _ in 0..n {
                // SAFETY: a fresh IRP for a live device, which queues it.
                unsafe {
                    let irp = io_allocate_irp(1, false);
                    (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
                    assert_eq!(io_call_driver(dev.as_ptr(), irp), STATUS_PENDING);
                }
            }
        },
        |(k, dev)| complete_queued(&k, &dev),
    )
}

/// irpkit, safe API: `Request::read(..).send()` pending in a cancel-safe queue (the
/// requester keeps each `SentRequest` in a preallocated array, not counted).
pub fn memory_safe_csq(n: usize) -> f64 {
    bytes_per_entry(
        n,
        || {
            let k = Kernel::new();
            let dev = queued_csq_device(&k);
            (k, dev, Vec::with_capacity(n))
        },
        |(k, dev, sent), n| {
            let _e = k.enter();
            for _ in 0..n {
                sent.push(Request::read(k, dev.device_ref(), 16, 0).unwrap().send());
            }
        },
        |(k, dev, sent)| {
            complete_queued(&k, &dev);
            drop(sent);
        },
    )
}

/// A driver that queues reads in a cancel-safe queue and completes everything else.
pub struct ReadQueue(pub CancelSafeIrpQueue);

/// A device of `driver` named `name` in `k` (kept while it is held), a new process, an
/// overlapped handle on the device and the calling thread as the process's requester
/// thread: the requester side the workloads below drive. Bind the parts to named locals
/// (`_`-prefixed where unused, never `_`) so that they drop in reverse order.
fn requester_of<D: Driver>(k: &Kernel, name: &str, driver: D) -> (Device<D>, Process, Handle, RequesterThread) {
    let dev = {
        let _e = k.enter();
        create_device(k, name, driver).unwrap()
    };
    let p = Process::new(k);
    let h = p.open(dev.device_ref(), true).unwrap();
    let t = p.attach_thread();
    (dev, p, h, t)
}

/// [`requester_of`] a device named "Reads" that queues every read.
fn read_queue_requester(k: &Kernel) -> (Device<ReadQueue>, Process, Handle, RequesterThread) {
    requester_of(k, "Reads", ReadQueue(CancelSafeIrpQueue::new()))
}

impl Driver for ReadQueue {
    fn dispatch(&self, _d: &DeviceRef, irp: SafeIrp) -> Dispatched {
        if irp.major_function() != IRP_MJ_READ {
            return irp.complete(STATUS_SUCCESS, 0).into();
        }
        match self.0.insert(irp) {
            Ok(pending) => pending.into(),
            Err(refused) => refused.complete(STATUS_DEVICE_NOT_READY, 0).into(),
        }
    }
}

/// irpkit, requester side: overlapped `ReadFile`s (each with its own `OVERLAPPED`) pending
/// in a cancel-safe queue — the IRP, the `OVERLAPPED`'s status block and events, the
/// thread's list entry.
pub fn memory_requester_reads(n: usize) -> f64 {
    let k = Kernel::new();
    let (_dev, p, h, t) = read_queue_requester(&k);
    let per = bytes_per_entry(
        n,
        || Vec::with_capacity(n),
        |ovs: &mut Vec<Overlapped>, n| {
            for _ in 0..n {
                let o = Overlapped::new();
                assert_eq!(t.read_overlapped(h, 16, 0, &o), Ok(STATUS_PENDING));
                ovs.push(o);
            }
        },
        drop,
    );
    t.exit();
    p.terminate();
    per
}

/// irpkit's typed `CancelQueue<Item>`: `n` pushed entries (tickets kept, not counted).
pub fn memory_typed(n: usize) -> f64 {
    bytes_per_entry(
        n,
        || (CancelQueue::<Item>::new(), Vec::with_capacity(n)),
        |(q, tickets), n| {
            for i in 0..n {
                tickets.push(q.push(Item([i as u64; 4])));
            }
        },
        drop,
    )
}

/// The key index of irpkit's KDEVICE_QUEUE: bytes per keyed entry (the entries live in
/// their IRPs; preallocated here and not counted), distinct keys.
pub fn memory_key_index(n: usize) -> f64 {
    struct Q {
        k: Kernel,
        queue: *mut KDeviceQueue,
        entries: Vec<*mut KDeviceQueueEntry>,
    }
    bytes_per_entry(
        n,
        || {
            let k = Kernel::new();
            let queue = Box::into_raw(Box::new(KDeviceQueue::new()));
            let entries = boxed_entries(n + 1);
            Q { k, queue, entries }
        },
        |q, n| {
            let _e = q.k.enter();
            let mut keys = Keys::new();
            // SAFETY: our own queue and entries, alive until the teardown.
            unsafe {
                ke_initialize_device_queue(q.queue);
                ke_insert_by_key_device_queue(q.queue, q.entries[n], 0); // now busy
                for &e in &q.entries[..n] {
                    ke_insert_by_key_device_queue(q.queue, e, keys.next());
                }
            }
        },
        |q| {
            let _e = q.k.enter();
            // SAFETY: our queue and entries, boxed at setup; nothing else references them.
            unsafe { free_queue(q.queue, &q.entries) };
        },
    )
}

/// tokio: an unbounded mpsc entry of (token, oneshot sender) per request; the requester
/// keeps its token and receiver (in a preallocated array, not counted).
pub fn memory_tokio(n: usize) -> f64 {
    type Entry = (CancellationToken, oneshot::Sender<Reply>);
    bytes_per_entry(
        n,
        || {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Entry>();
            (tx, rx, Vec::with_capacity(n))
        },
        |(tx, _rx, held), n| {
            for _ in 0..n {
                let token = CancellationToken::new();
                let (reply, result) = oneshot::channel();
                tx.send((token.clone(), reply)).unwrap();
                held.push((token, result));
            }
        },
        drop,
    )
}

/// crossbeam-channel: an unbounded channel entry of (cancel flag, `bounded(1)` reply
/// sender) per request; the requester keeps its flag and receiver.
pub fn memory_crossbeam(n: usize) -> f64 {
    type Entry = (Arc<std::sync::atomic::AtomicBool>, cb::Sender<Reply>);
    bytes_per_entry(
        n,
        || {
            let (tx, rx) = cb::unbounded::<Entry>();
            (tx, rx, Vec::with_capacity(n))
        },
        |(tx, _rx, held), n| {
            for _ in 0..n {
                let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let (reply, result) = cb::bounded(1);
                tx.send((flag.clone(), reply)).unwrap();
                held.push((flag, result));
            }
        },
        drop,
    )
}

/// The floor: `Mutex<VecDeque<Box<Item>>>` (a 32-byte item, no cancellation, no reply).
pub fn memory_floor(n: usize) -> f64 {
    bytes_per_entry(
        n,
        || Mutex::new(VecDeque::<Box<Item>>::new()),
        |q, n| {
            let q = q.get_mut().unwrap();
            for i in 0..n {
                q.push_back(Box::new(Item([i as u64; 4])));
            }
        },
        drop,
    )
}

// ----- a requester's read completed at once ------------------------------------------

struct Quick;
impl Driver for Quick {
    fn dispatch(&self, _d: &DeviceRef, irp: SafeIrp) -> Dispatched {
        irp.complete(STATUS_SUCCESS, 16).into()
    }
}

/// Runs `f` with a requester thread of a fresh process whose device completes every
/// request at once (the `OVERLAPPED` is reused).
pub fn with_requester_reads<R>(f: impl FnOnce(&mut dyn FnMut(u64)) -> R) -> R {
    let k = Kernel::new();
    let (_dev, p, h, t) = requester_of(&k, "Quick", Quick);
    let o = Overlapped::new();
    let mut run = |n: u64| {
        for _ in 0..n {
            black_box(t.read_overlapped(h, 16, 0, &o).unwrap());
        }
    };
    let r = f(&mut run);
    t.exit();
    p.terminate();
    r
}

// ----- cancel latency ----------------------------------------------------------------

/// Cancel latencies in nanoseconds, irpkit first, then the tokio peer.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    /// IoCancelIrp → the requester sees `STATUS_CANCELLED`.
    pub irpkit: Vec<f64>,
    /// `CancellationToken::cancel()` → the requester's future resolves cancelled.
    pub tokio: Vec<f64>,
}

/// On one thread: the request is pending in a cancel-safe queue (irpkit: a safe-API
/// `Request` queued by the driver; tokio: (token, oneshot sender) queued in an mpsc, the
/// requester's future polled once); the time from the cancel call until the requester
/// holds the cancelled result. Samples alternate irpkit, tokio, irpkit, …
pub fn cancel_latency_same_thread(samples: usize) -> Latencies {
    let k = Kernel::new();
    let _e = k.enter();
    let dev = create_device(&k, "Q", Queued(CancelSafeIrpQueue::new())).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(CancellationToken, oneshot::Sender<Reply>)>();
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Latencies::default();
    let s = alternate(2, samples, |i| {
        if i == 0 {
            let sent = Request::read(&k, dev.device_ref(), 16, 0).unwrap().send();
            assert_eq!(sent.dispatch_status(), STATUS_PENDING);
            let t0 = Instant::now();
            sent.cancel();
            let r = sent.try_result();
            let dt = t0.elapsed();
            let r = r.unwrap_or_else(|| sent.wait());
            assert_eq!(r.status, STATUS_CANCELLED);
            dt.as_nanos() as f64
        } else {
            let token = CancellationToken::new();
            let (reply, result) = oneshot::channel();
            tx.send((token.clone(), reply)).unwrap();
            let mut fut = Box::pin(Requester::new(token.clone(), result, None));
            assert!(fut.as_mut().poll(&mut cx).is_pending());
            let t0 = Instant::now();
            token.cancel();
            let r = fut.as_mut().poll(&mut cx);
            let dt = t0.elapsed();
            assert_eq!(r, Poll::Ready((STATUS_CANCELLED, 0)));
            while let Ok((token, _)) = rx.try_recv() {
                assert!(token.is_cancelled()); // the server skips it
            }
            dt.as_nanos() as f64
        }
    });
    let mut s = s.into_iter();
    out.irpkit = s.next().unwrap_or_default();
    out.tokio = s.next().unwrap_or_default();
    out
}

type CancelAction = Box<dyn FnOnce() + Send>;

enum Event {
    /// The request is pending and the requester about to block; cancel it with this.
    Pending(CancelAction),
    /// The requester saw the final status at this instant.
    Done(Instant, i32),
}

/// Across threads: a requester thread issues a request and blocks waiting for it; the
/// measuring thread waits 100 µs (so the requester is asleep), then cancels. The time from
/// the cancel call until the requester, woken, holds the cancelled result. irpkit: the
/// requester waits in `SentRequest::wait` (a KEVENT), the canceller calls `IoCancelIrp`;
/// tokio: the requester blocks in a current-thread runtime on its future, the canceller
/// calls `CancellationToken::cancel()`. Samples alternate.
pub fn cancel_latency_cross_thread(samples: usize) -> Latencies {
    let k = Kernel::new();
    let dev = {
        let _e = k.enter();
        create_device(&k, "Q", Queued(CancelSafeIrpQueue::new())).unwrap()
    };
    // The canceller calls IoCancelIrp: it enters the kernel (the cancel routine releases
    // the cancel spin lock through the thread's kernel).
    let _e = k.enter();
    let out = std::thread::scope(|s| {
        // Created inside the scope: if the measuring thread panics, unwinding drops the
        // senders and the requester threads end, so the scope can join them.
        let (go_irpkit, go_irpkit_rx) = mpsc::channel::<bool>();
        let (go_tokio, go_tokio_rx) = mpsc::channel::<bool>();
        let (ev_tx, ev) = mpsc::channel::<Event>();
        let ev_irpkit = ev_tx.clone();
        let (k2, dev2) = (&k, &dev);
        s.spawn(move || {
            let _e = k2.enter();
            while go_irpkit_rx.recv() == Ok(true) {
                let r = Request::read(k2, dev2.device_ref(), 16, 0).unwrap();
                let raw = r.as_ptr() as usize;
                let sent = r.send();
                assert_eq!(sent.dispatch_status(), STATUS_PENDING);
                ev_irpkit
                    .send(Event::Pending(Box::new(move || {
                        // SAFETY: IoCancelIrp, as the requester's I/O manager, on an IRP
                        // that is pending (its requester waits for it; its block stays
                        // irpkit pool memory while the kernel lives).
                        unsafe { io_cancel_irp(raw as *mut Irp) };
                    })))
                    .unwrap();
                let r = sent.wait();
                ev_irpkit.send(Event::Done(Instant::now(), r.status)).unwrap();
            }
        });
        let ev_tokio = ev_tx;
        s.spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            while go_tokio_rx.recv() == Ok(true) {
                let token = CancellationToken::new();
                let (reply, result) = oneshot::channel::<Reply>();
                let fut = Requester::new(token.clone(), result, None);
                ev_tokio
                    .send(Event::Pending(Box::new(move || {
                        token.cancel();
                        drop(reply);
                    })))
                    .unwrap();
                let r = rt.block_on(fut);
                ev_tokio.send(Event::Done(Instant::now(), r.0)).unwrap();
            }
        });
        let one = |go: &mpsc::Sender<bool>| {
            go.send(true).unwrap();
            let Ok(Event::Pending(cancel)) = ev.recv_timeout(Duration::from_secs(60)) else {
                panic!("expected a pending request")
            };
            std::thread::sleep(Duration::from_micros(100));
            let t0 = Instant::now();
            cancel();
            let Ok(Event::Done(t1, status)) = ev.recv_timeout(Duration::from_secs(60)) else {
                panic!("expected the final status")
            };
            assert_eq!(status, STATUS_CANCELLED);
            t1.saturating_duration_since(t0).as_nanos() as f64
        };
        let s = alternate(2, samples, |i| if i == 0 { one(&go_irpkit) } else { one(&go_tokio) });
        go_irpkit.send(false).unwrap();
        go_tokio.send(false).unwrap();
        s
    });
    let mut s = out.into_iter();
    Latencies { irpkit: s.next().unwrap_or_default(), tokio: s.next().unwrap_or_default() }
}

// ----- thread exit -------------------------------------------------------------------

/// irpkit: a requester thread with `n` overlapped reads pending in a cancel-safe queue
/// exits; the time `RequesterThread::exit` takes to cancel every IRP and deliver every
/// result (each `OVERLAPPED` signalled `STATUS_CANCELLED`, checked after).
pub fn thread_exit_irpkit(n: usize) -> Duration {
    let k = Kernel::new();
    let (_dev, p, h, t) = read_queue_requester(&k);
    let ovs: Vec<Overlapped> = (0..n).map(|_| Overlapped::new()).collect();
    for o in &ovs {
        assert_eq!(t.read_overlapped(h, 16, 0, o), Ok(STATUS_PENDING));
    }
    let d = time(|| t.exit());
    assert!(ovs.iter().all(|o| o.status_block().status == STATUS_CANCELLED), "every read delivered cancelled");
    p.terminate();
    assert_eq!(k.irps_outstanding(), 0);
    d
}

/// tokio: `n` tasks on a current-thread runtime, each awaiting its reply or its token (a
/// child of one parent token), all polled once; the time from `parent.cancel()` until
/// every task's cancelled result has been received through its `JoinHandle`.
pub fn thread_exit_tokio(n: usize) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let parent = CancellationToken::new();
    let polled = Arc::new(AtomicUsize::new(0));
    let mut server = VecDeque::with_capacity(n);
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let child = parent.child_token();
            let (reply, result) = oneshot::channel::<Reply>();
            server.push_back(reply);
            rt.spawn(Requester::new(child, result, Some(polled.clone())))
        })
        .collect();
    rt.block_on(async {
        while polled.load(Ordering::Relaxed) < n {
            tokio::task::yield_now().await;
        }
    });
    let mut results = Vec::with_capacity(n);
    let d = time(|| {
        parent.cancel();
        rt.block_on(async {
            for h in handles {
                results.push(h.await.unwrap());
            }
        });
    });
    assert!(results.iter().all(|r| r.0 == STATUS_CANCELLED));
    drop(server);
    d
}

/// crossbeam-channel: `n` requests queued in a `Mutex<VecDeque>` with a `bounded(1)` reply
/// channel each; the time to drain the queue replying `STATUS_CANCELLED` to each, and for
/// the requester to receive every reply.
pub fn thread_exit_crossbeam(n: usize) -> Duration {
    let queue = Mutex::new(VecDeque::with_capacity(n));
    let mut receivers = Vec::with_capacity(n);
    for _ in 0..n {
        let (reply, result) = cb::bounded::<Reply>(1);
        queue.lock().unwrap().push_back(reply);
        receivers.push(result);
    }
    time(|| {
        let mut q = queue.lock().unwrap();
        while let Some(reply) = q.pop_front() {
            let _ = reply.send((STATUS_CANCELLED, 0));
        }
        drop(q);
        for r in &receivers {
            black_box(r.recv().unwrap());
        }
    })
}

/// The floor: draining `n` boxed entries from a `Mutex<VecDeque<Box<Item>>>` (no reply,
/// no requester).
pub fn thread_exit_floor(n: usize) -> Duration {
    let q = floor_queue(n);
    time(|| {
        let mut q = q.lock().unwrap();
        while let Some(item) = q.pop_front() {
            black_box(item);
        }
    })
}
