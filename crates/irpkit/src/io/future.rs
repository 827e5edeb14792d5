//! Overlapped requests as futures (`IoFuture`): runtime-agnostic; dropping a pending
//! future cancels its request and detaches from it, so its buffer is freed exactly once.
//!
//! Locks: `Results::map`, then `Results::detached` (as the completion takes them); then
//! `RequestState::notify` for the waker, alone.

use super::*;

/// An overlapped request as a future: resolves to its final status block and its buffer.
///
/// Runtime-agnostic (std `Future` and `Waker` only). Dropping a pending future requests
/// cancellation of this one request and detaches from it; [`cancel`](Self::cancel)
/// requests cancellation and waits for the final status — `STATUS_CANCELLED`, or the real
/// result if the completion won. Compose timeouts with the executor's own combinators.
///
/// ```
/// use irpkit::nt::{IoStatusBlock, STATUS_SUCCESS};
/// use irpkit::safe::{create_device, DeviceRef, Dispatched, Driver, Irp};
///
/// struct Echo; // completes every request at once, with its length
/// impl Driver for Echo {
///     fn dispatch(&self, _device: &DeviceRef, irp: Irp) -> Dispatched {
///         let len = irp.read_length().unwrap_or(0);
///         irp.complete(STATUS_SUCCESS, len as usize).into()
///     }
/// }
///
/// let kernel = irpkit::Kernel::new();
/// let echo = { let _entered = kernel.enter(); create_device(&kernel, "Echo", Echo).unwrap() };
/// let process = irpkit::io::Process::new(&kernel);
/// let thread = process.attach_thread();
/// let h = process.open(echo.device_ref(), true).unwrap(); // an overlapped handle
/// use std::future::Future as _;
/// let mut future = std::pin::pin!(thread.read_async(h, vec![0; 8], 0).unwrap());
/// // Any executor will do; this one polls until the result is there.
/// let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// let (status, buffer) = loop {
///     if let std::task::Poll::Ready(r) = future.as_mut().poll(&mut cx) {
///         break r;
///     }
/// };
/// assert_eq!(status, IoStatusBlock { status: STATUS_SUCCESS, information: 8 });
/// assert_eq!(buffer.len(), 8);
/// ```
#[must_use = "a request future does nothing unless polled; dropping it cancels the request"]
pub struct IoFuture {
    pub(super) process: Process,
    pub(super) handle: Handle,
    pub(super) op: Arc<RequestState>,
    pub(super) dispatch_status: NtStatus,
    pub(super) done: bool,
}

impl core::fmt::Debug for IoFuture {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IoFuture").field("dispatch_status", &self.dispatch_status).finish_non_exhaustive()
    }
}

impl IoFuture {
    /// What the dispatch routine returned (`STATUS_PENDING` if the request pended).
    pub fn dispatch_status(&self) -> NtStatus {
        self.dispatch_status
    }

    pub(super) fn take(&self) -> Option<(IoStatusBlock, Vec<u8>)> {
        lock(&self.process.shared.results.map).remove(&self.op.id)
    }

    pub(super) fn request_cancel(&self) -> NtStatus {
        self.process.cancel_io_ex(self.handle, Some(&Overlapped::of(self.op.clone(), None)))
    }

    /// Requests cancellation of this request and waits for its final status.
    pub fn cancel(self) -> IoFuture {
        self.request_cancel();
        self
    }
}

impl core::future::Future for IoFuture {
    type Output = (IoStatusBlock, Vec<u8>);

    fn poll(mut self: core::pin::Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> core::task::Poll<Self::Output> {
        if let Some(r) = self.take() {
            self.done = true;
            return core::task::Poll::Ready(r);
        }
        lock(&self.op.notify).waker = Some(cx.waker().clone());
        // The completion files the result before it takes the waker: look again.
        match self.take() {
            Some(r) => {
                self.done = true;
                core::task::Poll::Ready(r)
            }
            None => core::task::Poll::Pending,
        }
    }
}

impl Drop for IoFuture {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Detach first (a result arriving later is dropped on arrival, freeing the
        // buffer then), then free one that already arrived, then ask for cancellation.
        let results = &self.process.shared.results;
        {
            let mut map = lock(&results.map);
            if map.remove(&self.op.id).is_none() {
                lock(&results.detached).insert(self.op.id);
            }
        }
        lock(&self.op.notify).waker = None;
        self.request_cancel();
    }
}
