//! Peers that only the report measures (crossbeam-channel is not a dependency of the
//! `irpkit` benchmarks), and the tokio requester future used for cancellation.

use std::collections::VecDeque;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use crossbeam_channel as cb;
use irpkit::nt::{STATUS_CANCELLED, STATUS_SUCCESS};
use tokio::sync::oneshot;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::workloads::csq::{Item, STORM};

/// A request's result: status and information.
pub type Reply = (i32, usize);

/// One cancellable request completed at once, written with crossbeam-channel: a
/// `bounded(1)` reply channel and an `Arc<AtomicBool>` cancel flag per request; the
/// server checks the flag and replies, the requester receives the reply.
pub fn crossbeam_request_step() {
    let cancelled = Arc::new(AtomicBool::new(false));
    let (reply, result) = cb::bounded::<Reply>(1);
    let flag = black_box(cancelled.clone());
    let status = if flag.load(Ordering::Acquire) { STATUS_CANCELLED } else { STATUS_SUCCESS };
    reply.send((status, 512)).unwrap();
    black_box(result.recv().unwrap());
}

/// Per request through a crossbeam unbounded channel of boxed items (send, receive).
pub struct CrossbeamPerRequest {
    tx: cb::Sender<Box<Item>>,
    rx: cb::Receiver<Box<Item>>,
}

impl CrossbeamPerRequest {
    /// An empty channel.
    pub fn new() -> Self {
        let (tx, rx) = cb::unbounded();
        CrossbeamPerRequest { tx, rx }
    }

    /// Send a boxed item, receive it.
    pub fn step(&mut self) {
        self.tx.send(Box::new(Item([1; 4]))).unwrap();
        black_box(self.rx.recv().unwrap());
    }
}

impl Default for CrossbeamPerRequest {
    fn default() -> Self {
        Self::new()
    }
}

/// The cancel storm written with crossbeam-channel: an unbounded channel of (cancel flag,
/// `bounded(1)` reply sender); one thread serves, another cancels every second request,
/// the requester receives every reply.
pub fn crossbeam_storm() {
    type Entry = (Arc<AtomicBool>, cb::Sender<bool>);
    let (tx, rx) = cb::unbounded::<Entry>();
    let mut flags = Vec::with_capacity(STORM);
    let mut results = Vec::with_capacity(STORM);
    for _ in 0..STORM {
        let flag = Arc::new(AtomicBool::new(false));
        let (done, result) = cb::bounded(1);
        tx.send((flag.clone(), done)).unwrap();
        flags.push(flag);
        results.push(result);
    }
    drop(tx);
    std::thread::scope(|s| {
        s.spawn(move || {
            while let Ok((flag, done)) = rx.recv() {
                let _ = done.send(!flag.load(Ordering::Acquire));
            }
        });
        let flags = &flags;
        s.spawn(move || {
            for f in flags.iter().step_by(2) {
                f.store(true, Ordering::Release);
            }
        });
    });
    for r in results {
        black_box(r.recv().unwrap());
    }
}

/// A requester awaiting its reply or its cancellation, whichever comes first (what
/// `tokio::select!` on `token.cancelled()` and the `oneshot` receiver does).
pub struct Requester {
    cancelled: Pin<Box<WaitForCancellationFutureOwned>>,
    reply: oneshot::Receiver<Reply>,
    first_poll: Option<Arc<AtomicUsize>>,
}

impl Requester {
    /// Awaits `reply`, or `token`'s cancellation (then resolves to `STATUS_CANCELLED`).
    /// `polled`, if given, is incremented at the first poll.
    pub fn new(token: CancellationToken, reply: oneshot::Receiver<Reply>, polled: Option<Arc<AtomicUsize>>) -> Self {
        Requester { cancelled: Box::pin(token.cancelled_owned()), reply, first_poll: polled }
    }
}

impl Future for Requester {
    type Output = Reply;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        if let Some(p) = self.first_poll.take() {
            p.fetch_add(1, Ordering::Relaxed);
        }
        if let Poll::Ready(r) = Pin::new(&mut self.reply).poll(cx) {
            return Poll::Ready(r.unwrap_or((STATUS_CANCELLED, 0)));
        }
        if self.cancelled.as_mut().poll(cx).is_ready() {
            return Poll::Ready((STATUS_CANCELLED, 0));
        }
        Poll::Pending
    }
}

/// The floor for draining: a `Mutex<VecDeque<Box<Item>>>` holding `n` entries.
pub fn floor_queue(n: usize) -> Mutex<VecDeque<Box<Item>>> {
    Mutex::new((0..n).map(|i| Box::new(Item([i as u64; 4]))).collect())
}
