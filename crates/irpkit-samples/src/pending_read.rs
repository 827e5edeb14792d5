//! A device whose reads wait in the driver's own queue until the "hardware" finishes
//! them — the situation the "Canceling IRPs" page is about: a request that may stay
//! queued for an indefinite time needs a cancel routine.
//!
//! - Dispatch (`IRP_MJ_READ`): mark pending, set the cancel routine, check `Cancel`
//!   (a request cancelled before the routine was set is completed here), queue.
//! - Cancel routine: release the cancel spin lock, unlink the request from the queue,
//!   complete it `STATUS_CANCELLED` / 0.
//! - Hardware path ([`PendingRead::complete_next`]): take the oldest request, clear its
//!   cancel routine; only if that wins does the device complete it — otherwise the cancel
//!   routine owns it.
//!
//! - IRP_MJ_CLEANUP: the file object's queued reads are completed `STATUS_CANCELLED`.
//!
//! Lock order: the cancel spin lock is released before the queue lock is taken; nothing
//! takes the cancel spin lock while holding the queue lock.

use std::collections::VecDeque;

use irpkit::nt::{self, KEvent, NtStatus};
use irpkit::safe::{
    CancelIrp, CancelLockReleased, CancelRoutine, CancelRoutineLock, CancelableIrp, DeviceRef, Dispatched, Driver, Irp,
    SpinLock, SpinLockGuard,
};

/// The pending-read device's state.
#[derive(Debug)]
pub struct PendingRead {
    queue: SpinLock<VecDeque<CancelableIrp>>,
    /// Set when a read is queued (and by [`wake`](Self::wake)): the hardware's doorbell.
    arrived: KEvent,
}

impl Default for PendingRead {
    fn default() -> Self {
        PendingRead { queue: SpinLock::default(), arrived: KEvent::new(nt::EventType::Synchronization, false) }
    }
}

impl PendingRead {
    /// A device with an empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// The hardware's idle wait: returns at once if a read is waiting, else when one is
    /// queued or [`wake`](Self::wake) is called. Call on a thread in the device's kernel.
    pub fn wait_for_work(&self) {
        if self.queued() == 0 {
            nt::ke_wait_for_single_object(&self.arrived, None);
        }
    }

    /// Ends a [`wait_for_work`](Self::wait_for_work) (e.g. to stop the hardware).
    pub fn wake(&self) {
        nt::ke_set_event(&self.arrived, 0, false);
    }

    /// Requests waiting for the hardware.
    pub fn queued(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> SpinLockGuard<'_, VecDeque<CancelableIrp>> {
        self.queue.lock()
    }

    /// The hardware finishes the oldest waiting read with up to `bytes` bytes. Returns
    /// the IRP's serial number, or `None` if no read was waiting.
    pub fn complete_next(&self, bytes: u32) -> Option<u64> {
        self.finish_next(|irp| {
            let n = irp.read_length().unwrap_or(0).min(bytes);
            (nt::STATUS_SUCCESS, n as usize)
        })
    }

    /// The hardware fails the oldest waiting read with `status`.
    pub fn fail_next(&self, status: NtStatus) -> Option<u64> {
        self.finish_next(|_| (status, 0))
    }

    fn finish_next(&self, result: impl Fn(&Irp) -> (NtStatus, usize)) -> Option<u64> {
        loop {
            let token = self.lock().pop_front()?;
            // Only the winner of the exchange with IoCancelIrp gets the IRP back.
            if let Some(irp) = token.clear_cancel_routine() {
                let id = irp.id();
                let (status, information) = result(&irp);
                irp.complete(status, information);
                return Some(id);
            }
            // The cancel routine owns that one; it completes it. Try the next.
        }
    }
}

impl Driver for PendingRead {
    fn dispatch(&self, _device: &DeviceRef, mut irp: Irp) -> Dispatched {
        match irp.major_function() {
            nt::IRP_MJ_READ => {
                let pending = irp.mark_pending();
                let mut queue = self.lock();
                match irp.set_cancel_routine::<CancelQueuedRead>() {
                    Ok(token) => {
                        queue.push_back(token);
                        drop(queue);
                        self.wake();
                    }
                    Err(cancelled) => {
                        drop(queue);
                        cancelled.complete_cancelled();
                    }
                }
                pending.into()
            }
            nt::IRP_MJ_CLEANUP => {
                // The file's queued reads leave the queue under its lock and are completed
                // cancelled after it — each one whose routine we take back; a read whose
                // cancel routine is already running is that routine's to complete.
                let file = irp.file_object();
                let mine: VecDeque<CancelableIrp> = {
                    let mut queue = self.lock();
                    let (mine, others) = queue.drain(..).partition(|t: &CancelableIrp| t.file_object() == file);
                    *queue = others;
                    mine
                };
                for token in mine {
                    if let Some(read) = token.clear_cancel_routine() {
                        read.complete_cancelled();
                    }
                }
                irp.complete(nt::STATUS_SUCCESS, 0).into()
            }
            nt::IRP_MJ_CREATE | nt::IRP_MJ_CLOSE => irp.complete(nt::STATUS_SUCCESS, 0).into(),
            _ => irp.complete(nt::STATUS_INVALID_DEVICE_REQUEST, 0).into(),
        }
    }
}

/// The cancel routine of a queued read.
#[derive(Debug)]
pub struct CancelQueuedRead;

impl CancelRoutine for CancelQueuedRead {
    fn cancel<'a>(device: &DeviceRef, irp: CancelIrp<'a>, lock: CancelRoutineLock<'a>) -> CancelLockReleased<'a> {
        let released = lock.release();
        if let Some(state) = device.state::<PendingRead>() {
            // Unlink our token; if the hardware path already popped it, it will find the
            // routine gone and leave the IRP to us.
            state.lock().retain(|token| token.as_ptr() != irp.as_ptr());
        }
        irp.complete_cancelled(&released);
        released
    }
}
