//! The buggy-driver catalog: NT-layer drivers, each with one realistic cancellation bug
//! that can be switched on, and the scenarios the explorer runs them in.
//!
//! Two drivers, written against [`irpkit::nt`] the way a WDM driver is (raw IRPs, the
//! cancel spin lock, `IoSetCancelRoutine`), because the safe API makes these bugs
//! impossible to write:
//!
//! - **queue**: reads wait in the driver's own list (guarded by its spin lock) with a
//!   cancel routine; a system worker thread (the "hardware") finishes the oldest one
//!   every millisecond; IRP_MJ_CLEANUP completes the file's queued reads.
//! - **startio**: reads go through IoStartPacket and the device queue; StartIo starts a
//!   one-millisecond timer whose DPC starts the next packet and then finishes the
//!   transfer. The IRP stays cancelable while on the hardware: the cancel routine leaves
//!   `CurrentIrp` (and an IRP no longer in the device queue) to the DPC.
//!
//! With [`Bug::None`] each is correct: it is the twin of every bug of its family. Each
//! [`Entry`] of [`catalog`] names a bug, the rule the verifier must report, and a
//! scenario for [`irpkit::explore`].

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use irpkit::explore::Scenario;
use irpkit::io::{Overlapped, Process};
use irpkit::nt::*;
use irpkit::Kernel;

/// The bug a catalog driver carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// None: the correct twin.
    None,
    /// queue: dispatch sets the cancel routine with a plain store
    /// (`Irp->CancelRoutine = ...`) instead of IoSetCancelRoutine.
    PlainStore,
    /// queue: dispatch sets the cancel routine and does not re-check `Irp->Cancel`.
    NoCancelRecheck,
    /// queue: the worker peeks the oldest read, works on it with the lock dropped, then
    /// completes it without winning the cancel-routine exchange — racing cleanup and
    /// the cancel routine, which complete it too.
    WorkerRacesCleanup,
    /// queue: the worker completes a read before clearing its cancel routine.
    CompleteBeforeClear,
    /// queue: the cancel routine returns without releasing the cancel spin lock when
    /// the worker is busy.
    CancelKeepsLock,
    /// queue: dispatch returns STATUS_PENDING without IoMarkIrpPending.
    PendingWithoutMark,
    /// queue: cleanup takes the file's reads out of the queue but completes only the
    /// first.
    LeakOnCleanup,
    /// queue: cleanup cancels the queued reads with IoCancelIrp (IRPs it did not create)
    /// instead of completing them.
    CancelsForeignIrp,
    /// queue: the cancel routine completes the read while holding the queue's spin lock.
    CompleteUnderLock,
    /// startio: the cancel routine completes `CurrentIrp`, which the DPC completes too.
    CancelCompletesCurrent,
    /// startio: the cancel routine ignores KeRemoveEntryDeviceQueue's result and completes
    /// an IRP that is no longer in the device queue (the DPC owns it).
    IgnoresRemoveEntryResult,
    /// startio (synchronous variant): StartIo completes at once and calls
    /// IoStartNextPacket without the DeferredStartIo attribute.
    StartIoRecursion,
}

/// Which driver a bug belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// The driver-managed queue with a worker thread.
    Queue,
    /// The StartIo driver with a timer and DPC.
    StartIo,
    /// The StartIo driver completing in StartIo itself.
    StartIoSync,
}

impl Bug {
    /// The driver the bug lives in.
    pub fn family(self) -> Family {
        match self {
            Bug::CancelCompletesCurrent | Bug::IgnoresRemoveEntryResult => Family::StartIo,
            Bug::StartIoRecursion => Family::StartIoSync,
            _ => Family::Queue,
        }
    }
}

/// Per-device state, reached through the device extension.
struct State {
    bug: Bug,
    family: Family,
    lock: KSpinLock,
    queue: UnsafeCell<Vec<IrpRef>>,
    worker_busy: AtomicBool,
    stop: AtomicBool,
    /// Signalled when a read is queued or the worker must stop.
    work: KEvent,
    timer: UnsafeCell<KTimer>,
    dpc: UnsafeCell<KDpc>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct IrpRef(*mut Irp);

// SAFETY: the list is touched only under `lock`; the timer and DPC are kernel objects
// changed by the kernel under its own locks.
unsafe impl Send for State {}
// SAFETY: as above.
unsafe impl Sync for State {}

/// # Safety
/// `d` is a catalog device (its extension holds a `*const State` that outlives it).
unsafe fn state<'a>(d: *mut DeviceObject) -> &'a State {
    // SAFETY: the contract.
    unsafe { &**(*d).device_extension.cast::<*const State>() }
}

/// # Safety
/// The caller holds `s.lock`.
#[allow(clippy::mut_from_ref)]
unsafe fn queue(s: &State) -> &mut Vec<IrpRef> {
    // SAFETY: the contract: exclusive under the lock.
    unsafe { &mut *s.queue.get() }
}

/// # Safety
/// `irp` is owned by the caller.
unsafe fn complete(irp: *mut Irp, status: NtStatus, information: usize) {
    // SAFETY: the contract.
    unsafe {
        (*irp).io_status = IoStatusBlock { status, information };
        io_complete_request(irp, 0);
    }
}

unsafe extern "system-unwind" fn entry(_d: *mut DriverObject, _p: *mut UnicodeString) -> NtStatus {
    STATUS_SUCCESS
}

// ---------------------------------------------------------------- queue driver

unsafe extern "system-unwind" fn queue_dispatch(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract: a catalog device and an IRP this routine owns.
    unsafe {
        let s = state(d);
        let sp = io_get_current_irp_stack_location(irp);
        match (*sp).major_function {
            IRP_MJ_READ => {
                if s.bug != Bug::PendingWithoutMark {
                    io_mark_irp_pending(irp);
                }
                let irql = ke_acquire_spin_lock(&s.lock);
                if s.bug == Bug::PlainStore {
                    (*irp).cancel_routine.store_plain(Some(queue_cancel));
                } else {
                    io_set_cancel_routine(irp, Some(queue_cancel));
                }
                if s.bug != Bug::NoCancelRecheck && (*irp).is_cancelled() && io_set_cancel_routine(irp, None).is_some()
                {
                    ke_release_spin_lock(&s.lock, irql);
                    complete(irp, STATUS_CANCELLED, 0);
                    return STATUS_PENDING;
                }
                queue(s).push(IrpRef(irp));
                ke_release_spin_lock(&s.lock, irql);
                ke_set_event(&s.work, 0, false);
                STATUS_PENDING
            }
            IRP_MJ_CLEANUP => {
                let file = (*sp).file_object;
                let irql = ke_acquire_spin_lock(&s.lock);
                let mut mine: Vec<IrpRef> = Vec::new();
                if s.bug == Bug::CancelsForeignIrp {
                    mine.extend(queue(s).iter().filter(|r| (*r.0).tail.overlay.original_file_object == file));
                    ke_release_spin_lock(&s.lock, irql);
                    for r in mine {
                        io_cancel_irp(r.0); // bug: this driver did not create these IRPs
                    }
                } else {
                    queue(s).retain(|r| {
                        let take = (*r.0).tail.overlay.original_file_object == file
                            && io_set_cancel_routine(r.0, None).is_some();
                        if take {
                            mine.push(*r);
                        }
                        !take
                    });
                    ke_release_spin_lock(&s.lock, irql);
                    let keep = if s.bug == Bug::LeakOnCleanup { 1 } else { usize::MAX };
                    for r in mine.into_iter().take(keep) {
                        complete(r.0, STATUS_CANCELLED, 0);
                    }
                }
                complete(irp, STATUS_SUCCESS, 0);
                STATUS_SUCCESS
            }
            _ => {
                complete(irp, STATUS_SUCCESS, 0);
                STATUS_SUCCESS
            }
        }
    }
}

unsafe extern "system-unwind" fn queue_cancel(d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the cancel-routine contract: called with the cancel spin lock held for an
    // IRP whose routine this call won.
    unsafe {
        let s = state(d);
        if s.bug == Bug::CancelKeepsLock && s.worker_busy.load(Ordering::Acquire) {
            return; // bug: "the worker will see it" — and the cancel spin lock stays held
        }
        io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed));
        let irql = ke_acquire_spin_lock(&s.lock);
        queue(s).retain(|r| r.0 != irp);
        if s.bug == Bug::CompleteUnderLock {
            complete(irp, STATUS_CANCELLED, 0); // bug: the queue lock is still held
            ke_release_spin_lock(&s.lock, irql);
        } else {
            ke_release_spin_lock(&s.lock, irql);
            complete(irp, STATUS_CANCELLED, 0);
        }
    }
}

/// The queue driver's "hardware": finishes the oldest read every millisecond.
fn queue_worker(d: *mut DeviceObject) {
    // SAFETY: the device outlives the worker (the scenario stops and joins it first).
    let s = unsafe { state(d) };
    while !s.stop.load(Ordering::Acquire) {
        // Idle until a read is queued; busy, one transfer per millisecond.
        // SAFETY: the list under its lock.
        let idle = unsafe {
            let irql = ke_acquire_spin_lock(&s.lock);
            let idle = queue(s).is_empty();
            ke_release_spin_lock(&s.lock, irql);
            idle
        };
        if idle {
            ke_wait_for_single_object(&s.work, None);
            continue;
        }
        ke_delay_execution_thread(-10_000);
        // SAFETY: list under its lock; IRPs are owned as the protocol decides.
        unsafe {
            let irql = ke_acquire_spin_lock(&s.lock);
            match s.bug {
                Bug::WorkerRacesCleanup => {
                    let Some(&head) = queue(s).first() else {
                        ke_release_spin_lock(&s.lock, irql);
                        continue;
                    };
                    s.worker_busy.store(true, Ordering::Release);
                    ke_release_spin_lock(&s.lock, irql);
                    ke_delay_execution_thread(-10_000); // the transfer, lock dropped
                    let irql = ke_acquire_spin_lock(&s.lock);
                    queue(s).retain(|r| *r != head);
                    ke_release_spin_lock(&s.lock, irql);
                    // Bug: it never won the cancel-routine exchange, so cleanup or the
                    // cancel routine may have completed (and freed) this read already.
                    io_set_cancel_routine(head.0, None);
                    complete(head.0, STATUS_SUCCESS, 16);
                }
                Bug::CompleteBeforeClear => {
                    if queue(s).is_empty() {
                        ke_release_spin_lock(&s.lock, irql);
                        continue;
                    }
                    let head = queue(s).remove(0);
                    ke_release_spin_lock(&s.lock, irql);
                    complete(head.0, STATUS_SUCCESS, 16); // bug: routine still set
                }
                _ => {
                    // Take the oldest read whose routine we win; a read whose routine is
                    // gone belongs to its running cancel routine, which unlinks it.
                    let pos = queue(s).iter().position(|r| io_set_cancel_routine(r.0, None).is_some());
                    let Some(pos) = pos else {
                        ke_release_spin_lock(&s.lock, irql);
                        continue;
                    };
                    let head = queue(s).remove(pos);
                    s.worker_busy.store(true, Ordering::Release);
                    ke_release_spin_lock(&s.lock, irql);
                    ke_delay_execution_thread(-5_000); // the transfer
                    complete(head.0, STATUS_SUCCESS, 16);
                }
            }
            s.worker_busy.store(false, Ordering::Release);
        }
    }
}

// -------------------------------------------------------------- StartIo driver

unsafe extern "system-unwind" fn startio_dispatch(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract.
    unsafe {
        let sp = io_get_current_irp_stack_location(irp);
        if (*sp).major_function == IRP_MJ_READ {
            io_mark_irp_pending(irp);
            io_start_packet(d, irp, None, Some(startio_cancel));
            STATUS_PENDING
        } else {
            complete(irp, STATUS_SUCCESS, 0);
            STATUS_SUCCESS
        }
    }
}

unsafe extern "system-unwind" fn startio_start(d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the StartIo contract: `irp` is CurrentIrp.
    unsafe {
        let s = state(d);
        if s.family == Family::StartIoSync {
            // A device that finishes at once.
            let irql = io_acquire_cancel_spin_lock();
            let won = io_set_cancel_routine(irp, None).is_some();
            io_release_cancel_spin_lock(irql);
            if won || !(*irp).is_cancelled() {
                complete(irp, STATUS_SUCCESS, 16);
            } else {
                complete(irp, STATUS_CANCELLED, 0);
            }
            io_start_next_packet(d, true);
            return;
        }
        let irql = io_acquire_cancel_spin_lock();
        if (*irp).is_cancelled() {
            // Cancelled before it started: whoever holds the routine, we finish it here
            // (a correct cancel routine leaves CurrentIrp alone).
            io_set_cancel_routine(irp, None);
            io_release_cancel_spin_lock(irql);
            complete(irp, STATUS_CANCELLED, 0);
            io_start_next_packet(d, true);
            return;
        }
        io_release_cancel_spin_lock(irql);
        ke_set_timer(s.timer.get(), -10_000, s.dpc.get());
    }
}

unsafe extern "system-unwind" fn startio_dpc(_dpc: *mut KDpc, context: *mut c_void, _a: *mut c_void, _b: *mut c_void) {
    // SAFETY: the DPC's context is the catalog device; its CurrentIrp is the transfer.
    unsafe {
        let d = context.cast::<DeviceObject>();
        let irp = (*d).current_irp.load(Ordering::Acquire);
        if irp.is_null() {
            return;
        }
        io_start_next_packet(d, true);
        let irql = io_acquire_cancel_spin_lock();
        let won = io_set_cancel_routine(irp, None).is_some();
        io_release_cancel_spin_lock(irql);
        if won {
            complete(irp, STATUS_SUCCESS, 16);
        } else {
            // The cancel routine ran and left the IRP to us.
            complete(irp, STATUS_CANCELLED, 0);
        }
    }
}

unsafe extern "system-unwind" fn startio_cancel(d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the cancel-routine contract (cancel spin lock held).
    unsafe {
        let s = state(d);
        if irp == (*d).current_irp.load(Ordering::Acquire) {
            io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed));
            if s.bug == Bug::CancelCompletesCurrent {
                complete(irp, STATUS_CANCELLED, 0); // bug: StartIo's DPC finishes CurrentIrp
            }
            return;
        }
        let removed = ke_remove_entry_device_queue(&raw mut (*d).device_queue, Irp::device_queue_entry(irp));
        io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed));
        if removed || s.bug == Bug::IgnoresRemoveEntryResult {
            complete(irp, STATUS_CANCELLED, 0);
        }
        // Not removed: it left the queue for the hardware; the DPC finishes it.
    }
}

// ------------------------------------------------------------------- scenarios

/// A catalog device: its raw device object and its state.
struct CatalogDevice {
    device: *mut DeviceObject,
    state: Arc<State>,
}

fn create(kernel: &Kernel, family: Family, bug: Bug, deferred: bool) -> CatalogDevice {
    let name = match family {
        Family::Queue => "CatalogQueue",
        Family::StartIo => "CatalogStartIo",
        Family::StartIoSync => "CatalogStartIoSync",
    };
    create_named(kernel, name, family, bug, deferred)
}

fn create_named(kernel: &Kernel, name: &str, family: Family, bug: Bug, deferred: bool) -> CatalogDevice {
    let _entered = kernel.enter();
    let driver = kernel.load_driver(name, entry).expect("DriverEntry of a catalog driver");
    // SAFETY: a timer and DPC are plain data, valid zeroed until initialised below.
    let (timer, dpc) = unsafe { (core::mem::zeroed::<KTimer>(), core::mem::zeroed::<KDpc>()) };
    let state = Arc::new(State {
        bug,
        family,
        lock: KSpinLock::new(),
        queue: UnsafeCell::new(Vec::new()),
        worker_busy: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        work: KEvent::new(EventType::Synchronization, false),
        timer: UnsafeCell::new(timer),
        dpc: UnsafeCell::new(dpc),
    });
    // SAFETY: the fresh driver object is ours to fill; the extension holds a pointer to
    // the state, which the scenario keeps alive longer than every routine call.
    unsafe {
        let dispatch = if family == Family::Queue { queue_dispatch } else { startio_dispatch };
        for slot in (*driver).major_function.iter_mut() {
            *slot = Some(dispatch);
        }
        if family != Family::Queue {
            (*driver).driver_start_io = Some(startio_start);
        }
        let device = io_create_device(driver, core::mem::size_of::<*const State>(), Some(name), 0x22, 0, false)
            .expect("IoCreateDevice");
        (*device).device_extension.cast::<*const State>().write(Arc::as_ptr(&state));
        if family != Family::Queue {
            io_set_start_io_attributes(device, deferred, false);
            ke_initialize_timer(state.timer.get());
            ke_initialize_dpc(state.dpc.get(), startio_dpc, device.cast());
        }
        CatalogDevice { device, state }
    }
}

/// A catalog driver's device running outside the catalog's own scenarios (scenario files
/// use it): its driver `\Driver\{name}`, its device `\Device\{name}`, the queue
/// driver's worker thread started.
pub struct CatalogDeviceHandle {
    dev: CatalogDevice,
    worker: Option<SystemThread>,
}

impl core::fmt::Debug for CatalogDeviceHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CatalogDeviceHandle").field("family", &self.dev.state.family).finish_non_exhaustive()
    }
}

impl CatalogDeviceHandle {
    /// Loads `family`'s driver with `bug` switched on ([`Bug::None`]: the correct twin) and
    /// creates its device; `deferred` sets the StartIo drivers' DeferredStartIo.
    pub fn start(kernel: &Kernel, name: &str, family: Family, bug: Bug, deferred: bool) -> Self {
        assert!(bug == Bug::None || bug.family() == family, "{bug:?} is not a bug of the {family:?} driver");
        let dev = create_named(kernel, name, family, bug, deferred);
        let worker = (family == Family::Queue).then(|| {
            let d = DevicePtr(dev.device);
            kernel.create_system_thread(move || {
                let d = d;
                queue_worker(d.0)
            })
        });
        CatalogDeviceHandle { dev, worker }
    }

    /// The device.
    pub fn device_ref(&self) -> &irpkit::safe::DeviceRef {
        // SAFETY: a live device of the kernel this handle was started on.
        unsafe { irpkit::safe::DeviceRef::from_ptr(self.dev.device) }
    }

    /// Stops the queue driver's worker (call on a thread in the kernel, once no more
    /// requests come). The device's state lives on until the handle is dropped.
    pub fn stop(&mut self) {
        self.dev.state.stop.store(true, Ordering::Release);
        ke_set_event(&self.dev.state.work, 0, false);
        if let Some(w) = self.worker.take() {
            w.join();
        }
    }
}

/// A bug by its catalog name (`no-cancel-recheck`, ...).
pub fn bug_named(name: &str) -> Option<Bug> {
    catalog().into_iter().find(|e| e.name == name).map(|e| e.bug)
}

/// A catalog scenario: a device with `bug`, a requester process whose threads issue
/// overlapped reads on one handle, a cancel of everything (CancelIoEx) racing them, the
/// handle's close (IRP_MJ_CLEANUP) and the threads' exit.
#[derive(Debug, Clone)]
pub struct CatalogScenario {
    name: String,
    bug: Bug,
    family: Family,
    deferred: bool,
}

impl CatalogScenario {
    /// The scenario for `bug` in `family`'s driver ([`Bug::None`]: the correct twin);
    /// `deferred` sets the StartIo drivers' DeferredStartIo attribute.
    pub fn new(name: &str, family: Family, bug: Bug, deferred: bool) -> Self {
        assert!(bug == Bug::None || bug.family() == family, "{bug:?} is not a bug of the {family:?} driver");
        CatalogScenario { name: name.to_string(), bug, family, deferred }
    }
}

impl Scenario for CatalogScenario {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&self, kernel: &Kernel) {
        let dev = create(kernel, self.family, self.bug, self.deferred);
        let worker = (self.family == Family::Queue).then(|| {
            let d = DevicePtr(dev.device);
            kernel.create_system_thread(move || {
                let d = d;
                queue_worker(d.0)
            })
        });
        let p = Process::new(kernel);
        // SAFETY: a live device of this kernel.
        let device_ref = unsafe { irpkit::safe::DeviceRef::from_ptr(dev.device) };
        let h = p.open(device_ref, true).expect("open the catalog device");
        let reader = |ops: Vec<Overlapped>| {
            move |t: &irpkit::io::RequesterThread| {
                // Two reads now, the last one at 1 ms, racing its own cancel.
                let (last, early) = ops.split_last().expect("at least one read");
                for o in early {
                    let _ = t.read_overlapped(h, 16, 0, o);
                }
                ke_delay_execution_thread(-10_000);
                let _ = t.read_overlapped(h, 16, 0, last);
                for o in &ops {
                    o.wait(Some(Duration::from_millis(20)));
                }
            }
        };
        let ops: Vec<Overlapped> = (0..3).map(|_| Overlapped::new()).collect();
        let first = p.spawn(reader(ops.clone()));
        let second =
            (self.family == Family::StartIoSync).then(|| p.spawn(reader(vec![Overlapped::new(), Overlapped::new()])));
        // The hardware finishes a read every millisecond; at 1 ms the first read (on the
        // hardware by then) and the last (being dispatched) are cancelled, and at 2 ms the
        // handle is closed (cleanup): each races the hardware.
        ke_delay_execution_thread(-10_000);
        let _ = p.cancel_io_ex(h, Some(&ops[0]));
        let _ = p.cancel_io_ex(h, Some(&ops[2]));
        ke_delay_execution_thread(-10_000);
        p.close(h);
        let _ = first.join();
        if let Some(t) = second {
            let _ = t.join();
        }
        dev.state.stop.store(true, Ordering::Release);
        ke_set_event(&dev.state.work, 0, false);
        if let Some(w) = worker {
            w.join();
        }
        p.terminate();
        // Let the hardware go quiet (a last timer) before the scenario ends.
        ke_delay_execution_thread(-50_000);
        drop(dev.state);
    }
}

/// One catalog entry: a bug, the rule the verifier reports for it, and its scenario.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The scenario's name (`irpkit explore --scenario NAME`).
    pub name: &'static str,
    /// The bug.
    pub bug: Bug,
    /// The rule ids the explorer may report first, the usual one first: a bug can show
    /// in more than one way (a completion racing a cancel is a double completion on one
    /// schedule and a completion with the routine set on another).
    pub rules: &'static [&'static str],
    /// One line about it.
    pub about: &'static str,
    /// The twin's name (the same driver without the bug).
    pub twin: &'static str,
}

impl Entry {
    /// The scenario to explore.
    pub fn scenario(&self) -> Arc<dyn Scenario> {
        let deferred = self.bug != Bug::StartIoRecursion;
        Arc::new(CatalogScenario::new(self.name, self.bug.family(), self.bug, deferred))
    }
}

/// Every catalog entry: twelve bugs, then the correct twins.
pub fn catalog() -> Vec<Entry> {
    use Bug::*;
    let q = "queue-correct";
    let s = "startio-correct";
    let y = "startio-sync-correct";
    vec![
        Entry {
            name: "plain-store",
            bug: PlainStore,
            rules: &["cancel-routine-plain-store"],
            about: "cancel routine set by a plain store",
            twin: q,
        },
        Entry {
            name: "no-cancel-recheck",
            bug: NoCancelRecheck,
            rules: &["cancel-flag-not-checked"],
            about: "Irp->Cancel not re-checked after setting the routine",
            twin: q,
        },
        Entry {
            name: "worker-races-cleanup",
            bug: WorkerRacesCleanup,
            rules: &["double-completion", "invalid-irp"],
            about: "worker finishes a read it only peeked: cleanup or cancel already completed it",
            twin: q,
        },
        Entry {
            name: "complete-before-clear",
            bug: CompleteBeforeClear,
            rules: &["complete-with-cancel-routine", "double-completion"],
            about: "read completed before its cancel routine was cleared",
            twin: q,
        },
        Entry {
            name: "cancel-keeps-lock",
            bug: CancelKeepsLock,
            rules: &["returned-holding-cancel-lock"],
            about: "cancel routine keeps the cancel spin lock on one path",
            twin: q,
        },
        Entry {
            name: "pending-without-mark",
            bug: PendingWithoutMark,
            rules: &["pending-mismatch"],
            about: "STATUS_PENDING returned without IoMarkIrpPending",
            twin: q,
        },
        Entry {
            name: "leak-on-cleanup",
            bug: LeakOnCleanup,
            rules: &["irp-leaked"],
            about: "cleanup dequeues the file's reads and completes only one",
            twin: q,
        },
        Entry {
            name: "cancels-foreign-irp",
            bug: CancelsForeignIrp,
            rules: &["foreign-irp-cancel"],
            about: "cleanup cancels IRPs the driver did not create",
            twin: q,
        },
        Entry {
            name: "complete-under-lock",
            bug: CompleteUnderLock,
            rules: &["complete-under-spin-lock"],
            about: "cancel routine completes holding the queue's spin lock",
            twin: q,
        },
        Entry {
            name: "cancel-completes-current",
            bug: CancelCompletesCurrent,
            rules: &["double-completion"],
            about: "cancel routine completes CurrentIrp, which the DPC completes too",
            twin: s,
        },
        Entry {
            name: "ignores-remove-entry",
            bug: IgnoresRemoveEntryResult,
            rules: &["double-completion"],
            about: "KeRemoveEntryDeviceQueue's FALSE ignored: completes what the DPC owns",
            twin: s,
        },
        Entry {
            name: "startio-recursion",
            bug: StartIoRecursion,
            rules: &["start-io-recursion"],
            about: "StartIo calls IoStartNextPacket without DeferredStartIo",
            twin: y,
        },
    ]
}

/// The correct drivers: each family's twin.
pub fn correct() -> Vec<(&'static str, Arc<dyn Scenario>)> {
    let twin = |name: &'static str, family| -> (&'static str, Arc<dyn Scenario>) {
        (name, Arc::new(CatalogScenario::new(name, family, Bug::None, true)))
    };
    vec![
        twin("queue-correct", Family::Queue),
        twin("startio-correct", Family::StartIo),
        twin("startio-sync-correct", Family::StartIoSync),
    ]
}

/// Finds a scenario (buggy or correct) by name.
pub fn scenario(name: &str) -> Option<Arc<dyn Scenario>> {
    catalog()
        .into_iter()
        .find(|e| e.name == name)
        .map(|e| e.scenario())
        .or_else(|| correct().into_iter().find(|(n, _)| *n == name).map(|(_, s)| s))
}

/// Every scenario name, buggy then correct.
pub fn names() -> Vec<&'static str> {
    catalog().iter().map(|e| e.name).chain(correct().iter().map(|(n, _)| *n)).collect()
}
