//! Requester threads: each thread's list of outstanding IRPs (newest first, as NT links
//! them), its queue of I/O completion routines (user APCs), thread handles, and the I/O
//! manager's side of a thread's exit (cancel, re-check, disassociate and log).
//!
//! Locks: `ThreadShared::irps` is taken under `ProcessShared::threads` (counting a
//! process's outstanding IRPs) and alone elsewhere; the exit holds it while it
//! disassociates IRPs (an atomic exchange on each, and the timeline's leaf lock), never
//! while it cancels or waits. `ThreadShared::apcs` is a leaf.

use super::*;

// IRP pointers (`nt::IrpPtr`) are handed between threads under the list lock; the IRPs
// are pinned or on the list (hence allocated) whenever they are dereferenced.

/// A requester thread's state: its list of outstanding IRPs.
pub(crate) struct ThreadShared {
    pub(super) id: u32,
    pub(super) irps: Mutex<ThreadIrps>,
    pub(super) exited: AtomicBool,
    /// User APCs (I/O completion routines) waiting for an alertable wait.
    pub(super) apcs: Mutex<VecDeque<UserApc>>,
    /// Signalled when an APC is queued.
    pub(super) apc_ready: KEvent,
    /// The number of the last IRP this thread issued (0: none yet).
    pub(super) last_irp: std::sync::atomic::AtomicU64,
}

/// The IRPs a thread issued that have not finished. Listed newest first, as NT links them
/// at the head of the thread's list; adding and taking one off take constant time, so a
/// thread with 10^5 IRPs outstanding exits in linear time, and a steady stream of
/// requests does not allocate (the table keeps its capacity).
#[derive(Default)]
pub(super) struct ThreadIrps {
    pub(super) issued: u64,
    pub(super) table: crate::nt::addr_map::AddrMap<IrpPtr, u64>,
}

impl ThreadIrps {
    pub(super) fn push(&mut self, p: IrpPtr) {
        self.issued += 1;
        self.table.insert(p, self.issued);
    }

    pub(super) fn remove(&mut self, p: IrpPtr) -> bool {
        self.table.remove(&p).is_some()
    }

    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub(super) fn any(&self, f: impl Fn(IrpPtr) -> bool) -> bool {
        self.table.keys().any(|&p| f(p))
    }

    /// The IRPs, newest first.
    pub(super) fn newest_first(&self) -> Vec<IrpPtr> {
        let mut all: Vec<(u64, IrpPtr)> = self.table.iter().map(|(&p, &n)| (n, p)).collect();
        all.sort_unstable_by_key(|&(n, _)| core::cmp::Reverse(n));
        all.into_iter().map(|(_, p)| p).collect()
    }
}

/// An I/O completion routine with the result it is called with.
pub(super) type UserApc = (Box<dyn FnOnce(IoStatusBlock) + Send>, IoStatusBlock);

/// A thread handle, with or without the terminate access CancelSynchronousIo requires.
#[derive(Clone)]
pub struct ThreadHandle {
    pub(super) thread: Arc<ThreadShared>,
    pub(super) terminate: bool,
}

impl core::fmt::Debug for ThreadHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ThreadHandle").field("terminate", &self.terminate).finish_non_exhaustive()
    }
}

impl ThreadHandle {
    /// The same thread without terminate access (what CancelSynchronousIo refuses).
    pub fn without_terminate_access(&self) -> Self {
        ThreadHandle { thread: self.thread.clone(), terminate: false }
    }
}

/// Pins and cancels (as the I/O manager) every IRP on `t`'s list matching `pred`; returns
/// how many matched.
pub(super) fn cancel_matching(
    kernel: &Kernel,
    t: &ThreadShared,
    by: &'static str,
    pred: impl Fn(*mut Irp) -> bool,
) -> usize {
    let _entered = kernel.enter();
    let picked: Vec<IrpPtr> = {
        let list = lock(&t.irps);
        list.newest_first()
            .into_iter()
            .filter(|p| pred(p.0))
            .inspect(|p| {
                // SAFETY: a listed IRP is allocated: pinning keeps its memory while we
                // cancel outside the lock (its completion takes it off the list).
                unsafe { nt::irp::pin(p.0) }
            })
            .collect()
    };
    for p in &picked {
        // SAFETY: pinned IRP memory; the I/O manager cancels on the requester's behalf.
        unsafe {
            crate::nt::observe::cancel_requested(p.0, by);
            nt::cancel::cancel_as_io_manager(p.0);
            nt::irp::unpin(p.0);
        }
    }
    picked.len()
}

/// The I/O manager's side of a thread's exit.
pub(super) fn exit_thread(process: &ProcessShared, t: &Arc<ThreadShared>) {
    if t.exited.swap(true, Ordering::AcqRel) {
        return;
    }
    let kernel = &process.kernel;
    let _entered = kernel.enter();
    let span = crate::nt::observe::thread_exit(&kernel.shared, t.id, lock(&t.irps).len());
    cancel_matching(kernel, t, "thread exit", |_| true);
    let interval = nt_interval(process.config.exit_check_interval);
    for _ in 0..process.config.exit_max_checks {
        if lock(&t.irps).is_empty() {
            break;
        }
        nt::ke_delay_execution_thread(interval);
    }
    // Five minutes passed: disassociate every IRP still there and log each.
    let stuck: Vec<IrpPtr> = {
        let mut list = lock(&t.irps);
        let mut stuck = Vec::new();
        for p in list.newest_first() {
            // SAFETY: a listed IRP is allocated; the exchange decides against a
            // completion running now (which would take it off the list itself).
            let won = unsafe { nt::irp::disassociate(p.0) };
            if won {
                // SAFETY: as above.
                unsafe { crate::nt::observe::disassociated(p.0) };
                // SAFETY: as above; pinned until logged below.
                // The driver still owns the IRP and may read `Thread`: the store is atomic.
                // (A std atomic, outside the `sync` seam: nothing in irpkit reads the field,
                // so a model checker has nothing to order by it.)
                unsafe {
                    nt::irp::pin(p.0);
                    core::sync::atomic::AtomicPtr::from_ptr(&raw mut (*p.0).tail.overlay.thread)
                        .store(core::ptr::null_mut(), StdOrdering::Release);
                }
                list.remove(p);
                stuck.push(p);
            }
        }
        stuck
    };
    for p in stuck {
        // SAFETY: pinned IRP memory; the device of its current stack location is the one
        // that owns it (device memory lives as long as the kernel).
        let (device, id) = unsafe {
            let r = &*p.0;
            let device = if i32::from(r.current_location()) <= i32::from(r.stack_count) {
                (*nt::io_get_current_irp_stack_location(p.0)).device_object
            } else {
                core::ptr::null_mut()
            };
            let name = if device.is_null() { "(no device)".to_string() } else { nt::device::device_name(device) };
            (name, nt::irp::irp_id(p.0).unwrap_or(0))
        };
        kernel.shared.log_event(EventLogEntry {
            code: IO_DRIVER_CANCEL_TIMEOUT,
            name: "IO_DRIVER_CANCEL_TIMEOUT",
            device,
            irp: id,
            thread: t.id,
            at: kernel.clock().now(),
        });
        // SAFETY: the pin taken above.
        unsafe { nt::irp::unpin(p.0) };
    }
    lock(&process.threads).retain(|x| !Arc::ptr_eq(x, t));
    crate::nt::observe::thread_exit_ended(&kernel.shared, t.id, span);
}
