//! A device whose reads wait in a cancel-safe queue and are served by a system worker
//! thread — the way drivers use IoCsq.
//!
//! - Dispatch (read): take the remove lock (a device being removed fails the request
//!   `STATUS_DELETE_PENDING`), insert into the [`CancelSafeIrpQueue`] (which marks it pending
//!   and makes it cancelable), wake the worker (a semaphore).
//! - Worker thread: waits for work, removes the next IRP, "transfers" (a delay on the
//!   kernel's clock), completes it, releases the remove lock. A polling delay between
//!   rounds stands in for a device that is slow to become ready.
//! - Cancellation: the queue's library cancel routine removes the IRP; the cancel handler
//!   completes it `STATUS_CANCELLED` / 0 and releases the remove lock.
//! - IRP_MJ_CLEANUP: completes every queued IRP of that file object `STATUS_CANCELLED`
//!   through RemoveNext with the file object as peek context. An IRP the worker already
//!   dequeued is not in the queue any more: the worker completes it — exactly one of the
//!   two does, the documented race the queue resolves.
//! - Shutdown (unload): stop accepting, wake and join the worker, complete what is left
//!   cancelled, then IoReleaseRemoveLockAndWait until no request holds the device.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use irpkit::nt::{self, IoRemoveLock, KSemaphore};
use irpkit::safe::{CancelSafeIrpQueue, Device, DeviceRef, Dispatched, Driver, Irp, SpinLock};

/// Counters of what the device did.
#[derive(Debug, Default)]
pub struct WorkerStats {
    /// Reads the worker transferred.
    pub transferred: AtomicU64,
    /// Reads completed cancelled by cancellation (IoCancelIrp).
    pub cancelled: AtomicU64,
    /// Reads completed cancelled by IRP_MJ_CLEANUP.
    pub cleaned_up: AtomicU64,
    /// Reads refused because the device was being removed.
    pub refused: AtomicU64,
    /// IRP_MJ_CREATE, IRP_MJ_CLEANUP and IRP_MJ_CLOSE requests received.
    pub creates: AtomicU64,
    /// See `creates`.
    pub cleanups: AtomicU64,
    /// See `creates`.
    pub closes: AtomicU64,
}

/// The worker device's state.
#[derive(Debug)]
pub struct CsqWorker {
    queue: CancelSafeIrpQueue,
    work: KSemaphore,
    stop: AtomicBool,
    remove_lock: IoRemoveLock,
    transfer_time: Duration,
    poll_delay: Duration,
    worker: SpinLock<Option<nt::SystemThread>>,
    /// What happened.
    pub stats: WorkerStats,
}

fn on_cancelled(irp: Irp, device: Option<&DeviceRef>) {
    irp.complete_cancelled();
    if let Some(me) = device.and_then(|d| d.state::<CsqWorker>()) {
        me.stats.cancelled.fetch_add(1, Ordering::Relaxed);
        nt::io_release_remove_lock(&me.remove_lock);
    }
}

impl CsqWorker {
    /// A device whose worker takes `transfer_time` per read and sleeps `poll_delay`
    /// between rounds.
    pub fn new(transfer_time: Duration, poll_delay: Duration) -> Self {
        CsqWorker {
            queue: CancelSafeIrpQueue::with_cancel_handler(on_cancelled),
            work: KSemaphore::new(0, i32::MAX),
            stop: AtomicBool::new(false),
            remove_lock: IoRemoveLock::new(),
            transfer_time,
            poll_delay,
            worker: SpinLock::new(None),
            stats: WorkerStats::default(),
        }
    }

    /// Reads waiting in the queue.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Whether [`shutdown`](Self::shutdown) has begun (the worker takes no new read).
    pub fn is_stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Starts the worker thread (`PsCreateSystemThread`).
    pub fn start(device: &Arc<Device<CsqWorker>>) {
        let d = device.clone();
        let thread = device.kernel().create_system_thread(move || d.run_worker(d.device_ref()));
        *device.worker.lock() = Some(thread);
    }

    fn run_worker(&self, _device: &DeviceRef) {
        loop {
            nt::ke_wait_for_single_object(&self.work, None);
            if self.stop.load(Ordering::Acquire) {
                return;
            }
            if let Some(irp) = self.queue.remove_next() {
                nt::ke_delay(self.transfer_time);
                let length = irp.read_length().unwrap_or(0);
                irp.complete(nt::STATUS_SUCCESS, length as usize);
                self.stats.transferred.fetch_add(1, Ordering::Relaxed);
                nt::io_release_remove_lock(&self.remove_lock);
            }
            if !self.poll_delay.is_zero() {
                nt::ke_delay(self.poll_delay);
            }
        }
    }

    /// Unload: stops the worker, completes what is still queued `STATUS_CANCELLED`, and
    /// waits until no request holds the device (IoReleaseRemoveLockAndWait). Call it on a
    /// thread that has entered the device's kernel.
    pub fn shutdown(&self) {
        if nt::io_acquire_remove_lock(&self.remove_lock) != nt::STATUS_SUCCESS {
            return; // already shut down
        }
        self.stop.store(true, Ordering::Release);
        nt::ke_release_semaphore(&self.work, 0, 1, false);
        // Taken out under the lock, joined after releasing it (a wait at PASSIVE_LEVEL).
        let worker = self.worker.lock().take();
        if let Some(worker) = worker {
            worker.join();
        }
        while let Some(irp) = self.queue.remove_next() {
            irp.complete_cancelled();
            self.stats.cancelled.fetch_add(1, Ordering::Relaxed);
            nt::io_release_remove_lock(&self.remove_lock);
        }
        nt::io_release_remove_lock_and_wait(&self.remove_lock);
    }
}

impl Driver for CsqWorker {
    fn dispatch(&self, _device: &DeviceRef, irp: Irp) -> Dispatched {
        match irp.major_function() {
            nt::IRP_MJ_READ => {
                if nt::io_acquire_remove_lock(&self.remove_lock) != nt::STATUS_SUCCESS {
                    self.stats.refused.fetch_add(1, Ordering::Relaxed);
                    return irp.complete(nt::STATUS_DELETE_PENDING, 0).into();
                }
                match self.queue.insert(irp) {
                    Ok(pending) => {
                        nt::ke_release_semaphore(&self.work, 0, 1, false);
                        pending.into()
                    }
                    Err(irp) => {
                        nt::io_release_remove_lock(&self.remove_lock);
                        irp.complete(nt::STATUS_INSUFFICIENT_RESOURCES, 0).into()
                    }
                }
            }
            nt::IRP_MJ_CLEANUP => {
                self.stats.cleanups.fetch_add(1, Ordering::Relaxed);
                let file = irp.file_object();
                while let Some(queued) = self.queue.remove_next_for_file(file) {
                    queued.complete_cancelled();
                    self.stats.cleaned_up.fetch_add(1, Ordering::Relaxed);
                    nt::io_release_remove_lock(&self.remove_lock);
                }
                irp.complete(nt::STATUS_SUCCESS, 0).into()
            }
            nt::IRP_MJ_CREATE => {
                self.stats.creates.fetch_add(1, Ordering::Relaxed);
                irp.complete(nt::STATUS_SUCCESS, 0).into()
            }
            nt::IRP_MJ_CLOSE => {
                self.stats.closes.fetch_add(1, Ordering::Relaxed);
                irp.complete(nt::STATUS_SUCCESS, 0).into()
            }
            _ => irp.complete(nt::STATUS_INVALID_DEVICE_REQUEST, 0).into(),
        }
    }
}
