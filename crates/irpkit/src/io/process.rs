//! Requester processes: the handle table, the threads, opening, duplicating and closing
//! handles, associating them with completion ports, and process exit.
//!
//! Locks: `ProcessShared::handles` is a leaf (files are closed after it is released);
//! `ProcessShared::threads` is taken before a thread's IRP list (see `thread`), and
//! released before a thread's exit runs.

use super::*;

pub(super) struct ProcessShared {
    pub(super) kernel: Kernel,
    pub(super) config: IoConfig,
    pub(super) handles: Mutex<BTreeMap<u32, Arc<FileShared>>>,
    pub(super) next_handle: AtomicU32,
    pub(super) threads: Mutex<Vec<Arc<ThreadShared>>>,
    pub(super) next_thread: AtomicU32,
    pub(super) terminated: AtomicBool,
    pub(super) results: Arc<Results>,
}

/// A requester process: a handle table and threads.
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
/// let h = process.open(echo.device_ref(), false).unwrap(); // IRP_MJ_CREATE
/// assert_eq!(thread.read(h, 16, 0), Ok(IoStatusBlock { status: STATUS_SUCCESS, information: 16 }));
/// assert_eq!(process.close(h), STATUS_SUCCESS); // IRP_MJ_CLEANUP, then IRP_MJ_CLOSE
/// ```
#[derive(Clone)]
pub struct Process {
    pub(super) shared: Arc<ProcessShared>,
}

impl core::fmt::Debug for Process {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Process").finish_non_exhaustive()
    }
}

impl Process {
    /// A process in `kernel` with the Windows timings.
    pub fn new(kernel: &Kernel) -> Self {
        Self::with_config(kernel, IoConfig::default())
    }

    /// A process with chosen timings.
    pub fn with_config(kernel: &Kernel, config: IoConfig) -> Self {
        Process {
            shared: Arc::new(ProcessShared {
                kernel: kernel.clone(),
                config,
                handles: Mutex::new(BTreeMap::new()),
                next_handle: AtomicU32::new(4),
                threads: Mutex::new(Vec::new()),
                next_thread: AtomicU32::new(1),
                terminated: AtomicBool::new(false),
                results: Arc::new(Results::default()),
            }),
        }
    }

    /// The kernel the process runs in.
    pub fn kernel(&self) -> &Kernel {
        &self.shared.kernel
    }

    /// Opens `device` (`CreateFile`): a new file object, IRP_MJ_CREATE, a handle.
    /// `overlapped` files return `STATUS_PENDING` from I/O calls; the others are
    /// synchronous (FO_SYNCHRONOUS_IO: calls wait).
    pub fn open(&self, device: &DeviceRef, overlapped: bool) -> Result<Handle, NtStatus> {
        if self.shared.terminated.load(Ordering::Acquire) {
            return Err(nt::STATUS_DELETE_PENDING);
        }
        let file = Arc::new(FileShared {
            object: Box::new(UnsafeCell::new(nt::file::new_file_object(device.as_ptr(), !overlapped))),
            kernel: self.shared.kernel.clone(),
            handles: AtomicUsize::new(1),
            refs: AtomicUsize::new(1),
            port: Mutex::new(None),
        });
        let status = file.send(nt::IRP_MJ_CREATE);
        if !nt::nt_success(status) {
            return Err(status);
        }
        let h = self.shared.next_handle.fetch_add(4, Ordering::Relaxed);
        lock(&self.shared.handles).insert(h, file);
        Ok(Handle(h))
    }

    #[inline]
    pub(super) fn file(&self, h: Handle) -> Result<Arc<FileShared>, NtStatus> {
        lock(&self.shared.handles).get(&h.0).cloned().ok_or(nt::STATUS_INVALID_HANDLE)
    }

    /// `CreateEvent(NULL, manual_reset, signalled, NULL)`: an event whose handle the
    /// process can give a driver (see [`UserEvent`]).
    pub fn create_event(&self, manual_reset: bool, signalled: bool) -> UserEvent {
        let kind = if manual_reset { nt::EventType::Notification } else { nt::EventType::Synchronization };
        let _entered = self.shared.kernel.enter();
        let (handle, event) = nt::ob::create_requester_event(kind, signalled);
        UserEvent { handle, event, kernel: self.shared.kernel.clone() }
    }

    /// `DuplicateHandle`: another handle to the same file object.
    pub fn duplicate(&self, h: Handle) -> Result<Handle, NtStatus> {
        let file = self.file(h)?;
        file.handles.fetch_add(1, Ordering::AcqRel);
        let new = self.shared.next_handle.fetch_add(4, Ordering::Relaxed);
        lock(&self.shared.handles).insert(new, file);
        Ok(Handle(new))
    }

    /// `CreateIoCompletionPort(handle, port, key)`: the file's overlapped requests post a
    /// packet with `key` to `port` when their result is delivered.
    pub fn associate(&self, h: Handle, port: &CompletionPort, key: usize) -> NtStatus {
        match self.file(h) {
            Ok(file) => {
                *lock(&file.port) = Some((port.shared.clone(), key));
                nt::STATUS_SUCCESS
            }
            Err(s) => s,
        }
    }

    /// `CloseHandle`: the last handle to a file object sends IRP_MJ_CLEANUP; the last
    /// reference (once outstanding IRPs are done) IRP_MJ_CLOSE.
    pub fn close(&self, h: Handle) -> NtStatus {
        let Some(file) = lock(&self.shared.handles).remove(&h.0) else {
            return nt::STATUS_INVALID_HANDLE;
        };
        if file.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            file.send(nt::IRP_MJ_CLEANUP);
            FileShared::release(&file);
        }
        nt::STATUS_SUCCESS
    }

    /// Registers the calling thread as a thread of this process (its requests are listed
    /// on it; [`RequesterThread::exit`] ends it).
    pub fn attach_thread(&self) -> RequesterThread {
        self.attach(self.new_thread())
    }

    /// A new thread's state, with the next thread id.
    fn new_thread(&self) -> Arc<ThreadShared> {
        Arc::new(ThreadShared {
            id: self.shared.next_thread.fetch_add(1, Ordering::Relaxed),
            irps: Mutex::new(ThreadIrps::default()),
            exited: AtomicBool::new(false),
            apcs: Mutex::new(VecDeque::new()),
            apc_ready: KEvent::new(nt::EventType::Synchronization, false),
            last_irp: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Makes the calling thread the requester thread `thread` of this process.
    fn attach(&self, thread: Arc<ThreadShared>) -> RequesterThread {
        lock(&self.shared.threads).push(thread.clone());
        RequesterThread { process: self.clone(), thread, _entered: self.shared.kernel.enter() }
    }

    /// Starts a thread of this process running `f`; when `f` returns, the thread exits
    /// (its outstanding IRPs are cancelled, waited for, and disassociated if stuck). The
    /// returned handle names the thread from the start (for
    /// [`cancel_synchronous_io`](Self::cancel_synchronous_io), say).
    pub fn spawn<R: Send + 'static>(
        &self,
        f: impl FnOnce(&RequesterThread) -> R + Send + 'static,
    ) -> RequesterJoinHandle<R> {
        let process = self.clone();
        let thread = self.new_thread();
        let handle = ThreadHandle { thread: thread.clone(), terminate: true };
        let join = self.shared.kernel.spawn_named("requester thread", move || {
            let t = process.attach(thread);
            let r = f(&t);
            t.exit();
            r
        });
        RequesterJoinHandle { join, thread: handle }
    }

    /// `CancelIoEx`: cancels the I/O any thread of the process issued on `h` — or only the
    /// request using `overlapped` — and does not wait. `STATUS_NOT_FOUND` if nothing
    /// matched.
    pub fn cancel_io_ex(&self, h: Handle, overlapped: Option<&Overlapped>) -> NtStatus {
        let Ok(file) = self.file(h) else { return nt::STATUS_INVALID_HANDLE };
        let iosb = overlapped.map(|o| o.op().iosb.get());
        let threads: Vec<_> = lock(&self.shared.threads).clone();
        let mut matched = 0;
        for t in threads {
            matched += cancel_matching(&self.shared.kernel, &t, "CancelIoEx", |irp| {
                // SAFETY: a listed IRP is allocated (or pinned) while we look.
                unsafe {
                    (*irp).tail.overlay.original_file_object == file.object()
                        && iosb.is_none_or(|b| (*irp).user_iosb == b)
                }
            });
        }
        if matched == 0 {
            // The request the overlapped structure names is over: for cancel coverage,
            // this cancel came too late.
            if let Some(serial) = overlapped.filter(|o| o.completed_at().is_some()).and_then(Overlapped::irp_id) {
                crate::nt::coverage::cancel_found_completed(&self.shared.kernel.shared, serial);
            }
            nt::STATUS_NOT_FOUND
        } else {
            nt::STATUS_SUCCESS
        }
    }

    /// `CancelSynchronousIo`: cancels the target thread's synchronous I/O only.
    /// `STATUS_ACCESS_DENIED` without terminate access, `STATUS_INVALID_HANDLE` for a
    /// thread that has exited, `STATUS_NOT_FOUND` if it had no synchronous I/O.
    pub fn cancel_synchronous_io(&self, thread: &ThreadHandle) -> NtStatus {
        if !thread.terminate {
            return nt::STATUS_ACCESS_DENIED;
        }
        if thread.thread.exited.load(Ordering::Acquire) {
            return nt::STATUS_INVALID_HANDLE;
        }
        let matched = cancel_matching(&self.shared.kernel, &thread.thread, "CancelSynchronousIo", |irp| {
            // SAFETY: a listed IRP is allocated (or pinned) while we look.
            unsafe { (*irp).flags & IRP_SYNCHRONOUS_API != 0 }
        });
        if matched == 0 {
            nt::STATUS_NOT_FOUND
        } else {
            nt::STATUS_SUCCESS
        }
    }

    /// Process exit: every thread still attached exits (its IRPs cancelled, waited for,
    /// disassociated if stuck), then every handle closes (cleanup, then close when the
    /// last reference goes). Threads that are still running get `STATUS_DELETE_PENDING`
    /// for any further request.
    pub fn terminate(&self) {
        self.shared.terminated.store(true, Ordering::Release);
        let threads: Vec<_> = lock(&self.shared.threads).clone();
        for t in threads {
            exit_thread(&self.shared, &t);
        }
        let handles: Vec<u32> = lock(&self.shared.handles).keys().copied().collect();
        for h in handles {
            self.close(Handle(h));
        }
        // Results no future came for (a forgotten future's): freed now, once.
        lock(&self.shared.results.map).clear();
        lock(&self.shared.results.detached).clear();
    }

    /// Async results delivered but not (yet) taken by their futures.
    pub fn unclaimed_results(&self) -> usize {
        lock(&self.shared.results.map).len()
    }

    /// IRPs currently on the lists of this process's threads.
    pub fn outstanding(&self) -> usize {
        lock(&self.shared.threads).iter().map(|t| lock(&t.irps).len()).sum()
    }
}

/// A requester thread started by [`Process::spawn`]: its handle, and its end.
#[derive(Debug)]
pub struct RequesterJoinHandle<R> {
    join: crate::JoinHandle<R>,
    thread: ThreadHandle,
}

impl<R> RequesterJoinHandle<R> {
    /// A handle to the thread (with terminate access), usable while it runs and after.
    pub fn thread(&self) -> ThreadHandle {
        self.thread.clone()
    }

    /// Waits for the thread to end (its exit included); `Err` carries its panic.
    pub fn join(self) -> std::thread::Result<R> {
        self.join.join()
    }

    /// Whether the thread has ended.
    #[cfg(not(any(loom, shuttle)))]
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }
}
