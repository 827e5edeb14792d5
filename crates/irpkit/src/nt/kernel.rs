//! The kernel: one instance of the simulated system, and each thread's processor state.
//!
//! A [`Kernel`] owns what NT has once per machine: the cancel spin lock, the IRP pool,
//! the verifier, the clock. Several kernels can live in one process (each test has its
//! own). A thread works in one kernel at a time: [`Kernel::enter`] makes it the thread's
//! current kernel, which the NT routines without an object argument
//! (IoAcquireCancelSpinLock, IoAllocateIrp) use; routines with an IRP or device argument
//! use that object's kernel.
//!
//! Each thread also carries its processor state: the current IRQL, the number of spin
//! locks it holds, and which driver routine it is running (for the verifier's reports and
//! the "drivers cancel only IRPs they created" rule).

use core::cell::{Cell, RefCell};
use core::ptr;
use core::time::Duration;

use crate::clock::{Clock, RealClock, VirtualClock};
use crate::nt::debug::DebugLine;
use crate::nt::device::DriverInitialize;
use crate::nt::dpc::DpcThread;
use crate::nt::irp::IrpPool;
use crate::nt::objects::SystemThread;
use crate::nt::status::NtStatus;
use crate::nt::types::{DriverObject, Irp, KIrql, KSpinLock, PASSIVE_LEVEL};
#[cfg(any(loom, shuttle))]
use crate::sync::thread;
use crate::sync::{Arc, Condvar, Mutex};
use crate::verifier::{Location, Report, Rule, Verifier, VerifierMode};

/// What kind of driver routine a thread is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoutineKind {
    /// Not in a driver (the I/O manager, a requester, test code).
    None,
    /// DriverEntry.
    DriverEntry,
    /// A dispatch routine for a major function.
    Dispatch(u8),
    /// A cancel routine.
    Cancel,
    /// An IoCompletion routine.
    Completion,
    /// StartIo.
    StartIo,
    /// A DPC or timer routine.
    Dpc,
    /// A system thread's routine.
    SystemThread,
    /// Unload.
    Unload,
}

/// The driver routine a thread is running.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RoutineCtx {
    pub(crate) driver: *mut DriverObject,
    pub(crate) kind: RoutineKind,
    pub(crate) irp: *mut Irp,
    /// The routine's code address (0: not known), for naming it by its symbol.
    pub(crate) address: usize,
}

impl RoutineCtx {
    const NONE: RoutineCtx =
        RoutineCtx { driver: ptr::null_mut(), kind: RoutineKind::None, irp: ptr::null_mut(), address: 0 };
}

/// One thread's processor state.
pub(crate) struct ThreadCtx {
    /// The thread's token, assigned on first use (0: not yet).
    token: Cell<usize>,
    irql: Cell<KIrql>,
    spin_locks_held: Cell<u32>,
    routine: Cell<RoutineCtx>,
    /// Whether the dispatch routine running now passed its IRP down (IoCallDriver on the
    /// same IRP from inside it).
    passed_down: Cell<bool>,
    kernel: RefCell<Option<Arc<KernelShared>>>,
}

crate::sync::const_thread_local! {
    static THREAD: ThreadCtx = ThreadCtx {
        token: Cell::new(0),
        irql: Cell::new(PASSIVE_LEVEL),
        spin_locks_held: Cell::new(0),
        routine: Cell::new(RoutineCtx::NONE),
        passed_down: Cell::new(false),
        kernel: RefCell::new(None),
    };
}

/// Hands out thread tokens. This counter deliberately bypasses the `sync` seam: it
/// allocates identities, it does not synchronise anything, and loom runs its threads on
/// one OS thread (where a thread-local's address is not a stable identity).
fn next_thread_token() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A token unique to the calling thread (never zero), stored in spin lock words.
pub(crate) fn thread_token() -> usize {
    THREAD.with(|t| match t.token.get() {
        0 => {
            let token = next_thread_token();
            t.token.set(token);
            token
        }
        token => token,
    })
}

/// The calling thread's IRQL (`KeGetCurrentIrql`).
pub fn current_irql() -> KIrql {
    THREAD.with(|t| t.irql.get())
}

pub(crate) fn set_irql(irql: KIrql) {
    THREAD.with(|t| t.irql.set(irql));
}

/// Number of spin locks (the cancel spin lock included) the calling thread holds.
pub fn spin_locks_held() -> u32 {
    THREAD.with(|t| t.spin_locks_held.get())
}

pub(crate) fn add_spin_locks_held(delta: i32) {
    let held = THREAD.with(|t| {
        let held = t.spin_locks_held.get().saturating_add_signed(delta);
        t.spin_locks_held.set(held);
        held
    });
    crate::nt::coverage::spin_locks_changed(delta, held);
}

pub(crate) fn current_routine() -> RoutineCtx {
    THREAD.with(|t| t.routine.get())
}

/// Runs `f` as driver routine `kind` of `driver` (restoring the previous routine after,
/// also on unwind).
pub(crate) fn in_routine<R>(driver: *mut DriverObject, kind: RoutineKind, irp: *mut Irp, f: impl FnOnce() -> R) -> R {
    in_routine_at(driver, kind, irp, 0, f)
}

/// [`in_routine`] for the routine at code address `address` (named by its symbol in
/// reports, where the symbol is known).
pub(crate) fn in_routine_at<R>(
    driver: *mut DriverObject,
    kind: RoutineKind,
    irp: *mut Irp,
    address: usize,
    f: impl FnOnce() -> R,
) -> R {
    struct Restore(RoutineCtx);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0;
            THREAD.with(|t| t.routine.set(prev));
        }
    }
    let prev = THREAD.with(|t| t.routine.replace(RoutineCtx { driver, kind, irp, address }));
    let _restore = Restore(prev);
    // Cancel coverage's setting window is scoped by the routine's frame.
    let _frame = crate::nt::coverage::RoutineFrame::enter();
    f()
}

/// IoCallDriver's bookkeeping for the pending rule: notes that the dispatch routine
/// running now (if it runs for `irp`) passes it down, and opens a frame for the dispatch
/// routine about to run. Returns the state to give back to [`end_dispatch_frame`].
pub(crate) fn begin_dispatch_frame(irp: *mut Irp) -> bool {
    THREAD.with(|t| {
        let ctx = t.routine.get();
        if matches!(ctx.kind, RoutineKind::Dispatch(_)) && ctx.irp == irp {
            t.passed_down.set(true);
        }
        t.passed_down.replace(false)
    })
}

/// Closes the frame [`begin_dispatch_frame`] opened; returns whether the dispatch routine
/// passed its IRP down.
pub(crate) fn end_dispatch_frame(saved: bool) -> bool {
    THREAD.with(|t| t.passed_down.replace(saved))
}

/// Runs `f` with the calling thread's current kernel.
///
/// # Panics
/// If the thread has not entered a kernel: that is a misuse of the API, and the message
/// says how to fix it.
pub(crate) fn with_current<R>(routine: &str, f: impl FnOnce(&Arc<KernelShared>) -> R) -> R {
    // The kernel is taken out of the thread-local before `f` runs: `f` may reach a
    // scheduling point, where the explorer swaps this thread's locals for another's.
    // (Under loom and shuttle there is no such swap, and a clone of their `Arc` would be
    // one more operation for the model to interleave: the kernel is borrowed in place.)
    #[cfg(any(loom, shuttle))]
    let r = THREAD.with(|t| t.kernel.borrow().as_ref().map(f));
    #[cfg(not(any(loom, shuttle)))]
    let r = THREAD.with(|t| t.kernel.borrow().clone()).map(|k| f(&k));
    match r {
        Some(r) => r,
        None => panic!(
            "irpkit: {routine} was called on a thread that has not entered a kernel; \
             call Kernel::enter() on this thread first, or start it with Kernel::spawn"
        ),
    }
}

/// Runs `f` with the calling thread's current kernel, if it has entered one.
pub(crate) fn try_with_current<R>(f: impl FnOnce(&Arc<KernelShared>) -> R) -> Option<R> {
    #[cfg(any(loom, shuttle))]
    return try_with_current_here(f);
    #[cfg(not(any(loom, shuttle)))]
    THREAD.with(|t| t.kernel.borrow().clone()).map(|k| f(&k))
}

/// [`try_with_current`] for an `f` that never reaches a scheduling point (a leaf of the
/// kernel: it takes no lock but leaf locks and calls no driver code): the kernel is
/// borrowed in place, not cloned. Should `f` reach one after all, the explorer's swap of
/// thread-locals finds the kernel borrowed and panics; nothing unsound happens.
pub(crate) fn try_with_current_here<R>(f: impl FnOnce(&Arc<KernelShared>) -> R) -> Option<R> {
    THREAD.with(|t| t.kernel.borrow().as_ref().map(f))
}

/// A virtual thread's own copy of the calling OS thread's processor state, for a
/// scheduler that runs several threads on one OS thread (the explorer's coroutines).
#[cfg(not(any(loom, shuttle)))]
pub(crate) struct SavedThreadCtx {
    token: usize,
    irql: KIrql,
    spin_locks_held: u32,
    routine: RoutineCtx,
    passed_down: bool,
    kernel: Option<Arc<KernelShared>>,
}

// SAFETY: the routine context's pointers are identities of driver objects and IRPs, only
// compared or read under the kernel's own rules wherever the state is swapped in; the
// value is moved between OS threads only as a whole, never shared.
#[cfg(not(any(loom, shuttle)))]
unsafe impl Send for SavedThreadCtx {}

#[cfg(not(any(loom, shuttle)))]
impl SavedThreadCtx {
    /// The state of a thread that has not run: no token yet, PASSIVE_LEVEL, no spin
    /// locks, no routine, no kernel.
    pub(crate) fn fresh() -> Self {
        SavedThreadCtx {
            token: 0,
            irql: PASSIVE_LEVEL,
            spin_locks_held: 0,
            routine: RoutineCtx::NONE,
            passed_down: false,
            kernel: None,
        }
    }

    /// Exchanges this copy with the calling OS thread's state.
    pub(crate) fn swap_with_current(&mut self) {
        THREAD.with(|t| {
            self.token = t.token.replace(self.token);
            self.irql = t.irql.replace(self.irql);
            self.spin_locks_held = t.spin_locks_held.replace(self.spin_locks_held);
            self.routine = t.routine.replace(self.routine);
            self.passed_down = t.passed_down.replace(self.passed_down);
            core::mem::swap(&mut self.kernel, &mut *t.kernel.borrow_mut());
        });
    }
}

/// The state shared by everything in one kernel.
pub(crate) struct KernelShared {
    /// This kernel itself, not kept alive (for objects that outlive their borrow of it).
    #[cfg(not(loom))]
    me: std::sync::Weak<KernelShared>,
    pub(crate) cancel_lock: KSpinLock,
    pub(crate) verifier: Verifier,
    pub(crate) pool: IrpPool,
    pub(crate) clock: Box<dyn Clock>,
    /// Waiters on dispatcher objects (KEVENT) sleep on `dispatcher_cv`; setting an object
    /// wakes them. The lock guards how many are asleep there, so that a set with nobody
    /// asleep skips the condvar (its wake is a system call).
    pub(crate) dispatcher_lock: Mutex<usize>,
    pub(crate) dispatcher_cv: Condvar,
    pub(crate) drivers: Mutex<Vec<crate::nt::device::DriverPtr>>,
    /// Every device object ever created in this kernel (for lookups by name).
    pub(crate) device_blocks: Mutex<Vec<crate::nt::device::DevicePtr>>,
    /// Executive pool blocks.
    pub(crate) pool_blocks: crate::nt::pool::PoolTracker,
    /// Thread objects, kernel handles, symbolic links.
    pub(crate) objects: crate::nt::ob::ObjectManager,
    /// File objects opened for drivers (IoGetDeviceObjectPointer).
    pub(crate) files: crate::nt::file::FileTable,
    /// Drivers' debug output.
    pub(crate) debug_log: crate::nt::debug::DebugLog,
    /// Serialises device attachment and detachment (NT's I/O database lock); a leaf,
    /// held for no kernel primitive.
    pub(crate) device_database: Mutex<()>,
    pub(crate) dpc: crate::nt::dpc::DpcEngine,
    /// Key indexes of device queues (see `nt::devqueue`), freed when the kernel ends.
    /// Boxed: queues point at them, so they must not move when the vector grows.
    /// The system event log.
    pub(crate) event_log: Mutex<Vec<crate::nt::event_log::EventLogEntry>>,
    /// The timeline recorder (off unless asked for).
    pub(crate) timeline: crate::timeline::Recorder,
    /// The cancel-coverage recorder (off unless asked for).
    pub(crate) coverage: crate::nt::coverage::Recorder,
    #[allow(clippy::vec_box)]
    pub(crate) queue_indexes: Mutex<Vec<Box<crate::nt::devqueue::KeyIndex>>>,
    /// Values that must outlive everything of this kernel (driver images its objects point
    /// into): dropped after the drivers and devices are freed. Last, so last dropped.
    pub(crate) keep_alive: Mutex<Vec<Box<dyn core::any::Any + Send + Sync>>>,
}

impl core::fmt::Debug for KernelShared {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KernelShared").field("verifier", &self.verifier).finish_non_exhaustive()
    }
}

/// A reference to a kernel that does not keep it alive, for safe objects that may outlive
/// their kernel (a `DeviceTimer` kept past its kernel's end): [`upgrade`](Self::upgrade)
/// gives the kernel while anything still holds it — a [`Kernel`], a device handle, an
/// allocated IRP, a thread running in it. Under loom (whose `Arc` has no weak form) it is
/// a plain pointer, and the kernel must outlive it.
#[derive(Clone)]
pub(crate) struct WeakKernel {
    #[cfg(not(loom))]
    weak: std::sync::Weak<KernelShared>,
    #[cfg(loom)]
    raw: *const KernelShared,
}

impl WeakKernel {
    /// Runs `f` with the kernel if it still exists (holding it alive meanwhile).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&KernelShared) -> R) -> Option<R> {
        #[cfg(not(loom))]
        return self.weak.upgrade().map(|k| f(&k));
        // SAFETY: under loom the kernel outlives its weak references (see the type's docs).
        #[cfg(loom)]
        return Some(f(unsafe { &*self.raw }));
    }
}

impl KernelShared {
    /// A reference to this kernel that does not keep it alive.
    pub(crate) fn downgrade(&self) -> WeakKernel {
        #[cfg(not(loom))]
        return WeakKernel { weak: self.me.clone() };
        #[cfg(loom)]
        return WeakKernel { raw: self };
    }

    /// Files a report about `irp` (may be null), detected in NT routine `detected_in`.
    pub(crate) fn report(&self, rule: Rule, detected_in: &'static str, irp: *mut Irp, message: String) {
        let location = describe_location(current_routine());
        // SAFETY: callers pass null or an IRP whose memory is still allocated (pool
        // memory is never returned while the kernel lives).
        let irp = unsafe { crate::nt::irp::snapshot(irp) };
        crate::nt::observe::verifier_report(self, rule.id(), irp.as_ref().map(|i| i.id));
        // The explorer stops a run at its first report (before a strict-mode panic).
        crate::sched::note_report();
        self.verifier.file(Report { rule, detected_in, message, location, irp });
    }
}

fn describe_location(ctx: RoutineCtx) -> Location {
    let driver = if ctx.driver.is_null() {
        None
    } else {
        // SAFETY: a non-null driver in the routine context is a live driver object (the
        // routine is running, so its driver is loaded).
        Some(unsafe { crate::nt::device::driver_name(ctx.driver) })
    };
    let routine = match ctx.kind {
        RoutineKind::None => "the I/O manager (no driver routine running)".to_string(),
        RoutineKind::DriverEntry => "DriverEntry".to_string(),
        RoutineKind::Dispatch(mj) => {
            format!("dispatch routine for {}", crate::nt::types::major_function_name(mj))
        }
        RoutineKind::Cancel => "cancel routine".to_string(),
        RoutineKind::Completion => "IoCompletion routine".to_string(),
        RoutineKind::StartIo => "StartIo routine".to_string(),
        RoutineKind::Dpc => "DPC routine".to_string(),
        RoutineKind::SystemThread => "system thread".to_string(),
        RoutineKind::Unload => "Unload routine".to_string(),
    };
    let routine = match crate::nt::symbols::describe(ctx.address) {
        Some(name) => format!("{routine} {name}"),
        None => routine,
    };
    let routine = if ctx.irp.is_null() {
        routine
    } else {
        // SAFETY: the routine's IRP is live while the routine runs (or at least its pool
        // memory is, which is all `irp_id` reads).
        match unsafe { crate::nt::irp::irp_id(ctx.irp) } {
            Some(id) => format!("{routine} (called for IRP #{id})"),
            None => routine,
        }
    };
    Location { driver, routine }
}

/// Configures a [`Kernel`].
#[derive(Debug, Default)]
pub struct KernelBuilder {
    mode: VerifierMode,
    clock: Option<Box<dyn Clock>>,
}

impl KernelBuilder {
    /// The verifier's mode (default [`VerifierMode::Strict`]).
    pub fn verifier_mode(mut self, mode: VerifierMode) -> Self {
        self.mode = mode;
        self
    }

    /// The clock (default: the real clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Box::new(clock));
        self
    }

    /// Builds the kernel.
    pub fn build(self) -> Kernel {
        let clock = self.clock.unwrap_or_else(|| Box::new(RealClock::new()));
        let shared = |#[cfg(not(loom))] me: &std::sync::Weak<KernelShared>| KernelShared {
            #[cfg(not(loom))]
            me: me.clone(),
            cancel_lock: KSpinLock::new(),
            verifier: Verifier::new(self.mode),
            pool: IrpPool::new(),
            clock,
            dispatcher_lock: Mutex::new(0),
            dispatcher_cv: Condvar::new(),
            drivers: Mutex::new(Vec::new()),
            device_blocks: Mutex::new(Vec::new()),
            pool_blocks: Default::default(),
            objects: Default::default(),
            files: Default::default(),
            debug_log: Default::default(),
            device_database: Mutex::new(()),
            dpc: crate::nt::dpc::DpcEngine::new(),
            queue_indexes: Mutex::new(Vec::new()),
            event_log: Mutex::new(Vec::new()),
            timeline: crate::timeline::Recorder::default(),
            coverage: Default::default(),
            keep_alive: Mutex::new(Vec::new()),
        };
        #[cfg(not(loom))]
        return Kernel { shared: Arc::new_cyclic(shared) };
        #[cfg(loom)]
        return Kernel { shared: Arc::new(shared()) };
    }
}

/// One simulated NT system: cancel spin lock, IRP pool, verifier, clock, drivers.
///
/// Cloning gives another handle to the same kernel.
///
/// A thread started by [`spawn`](Self::spawn) has entered the kernel, so the NT routines
/// that take no object find it; the verifier and the timeline watch everything it does:
///
/// ```
/// use irpkit::timeline::EventKind;
/// use irpkit::verifier::VerifierMode;
///
/// let kernel = irpkit::Kernel::builder().verifier_mode(VerifierMode::Record).build();
/// kernel.record_timeline(true);
/// let worker = kernel.spawn_named("worker", || {
///     let irp = irpkit::nt::io_allocate_irp(1, false);
///     // SAFETY: our fresh IRP, never sent, freed once.
///     unsafe { irpkit::nt::io_free_irp(irp) };
/// });
/// worker.join().unwrap();
/// assert_eq!(kernel.verifier().report_count(), 0);
/// let events = kernel.timeline();
/// assert!(events.iter().any(|e| matches!(e.kind, EventKind::IrpAllocated { .. })));
/// assert!(events.iter().any(|e| matches!(e.kind, EventKind::IrpFreed { .. })));
/// ```
#[derive(Debug, Clone)]
pub struct Kernel {
    pub(crate) shared: Arc<KernelShared>,
}

impl Default for Kernel {
    fn default() -> Self {
        Self::new()
    }
}

impl Kernel {
    /// A kernel with a strict verifier and the real clock.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder to choose the verifier mode and the clock.
    pub fn builder() -> KernelBuilder {
        KernelBuilder::default()
    }

    /// Keeps `value` alive until this kernel ends: it is dropped after every driver and
    /// device object of the kernel is freed and no thread runs in it any more (for the
    /// memory a driver's routines live in, for instance).
    pub fn keep_alive(&self, value: Box<dyn core::any::Any + Send + Sync>) {
        crate::sync::lock(&self.shared.keep_alive).push(value);
    }

    /// Makes this kernel the calling thread's current kernel until the guard drops.
    pub fn enter(&self) -> EnterGuard {
        let prev = THREAD.with(|t| t.kernel.replace(Some(self.shared.clone())));
        EnterGuard { prev: Some(prev), _not_send: core::marker::PhantomData }
    }

    /// Starts a thread that has entered this kernel, at PASSIVE_LEVEL. Under the
    /// explorer ([`crate::explore`]) the thread is one of the run's controlled threads.
    pub fn spawn<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn_named("thread", f)
    }

    /// [`spawn`](Self::spawn) with a name, shown in the explorer's traces.
    pub fn spawn_named<F, R>(&self, name: &str, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let kernel = self.clone();
        let thread_name = name.to_string();
        // Labelled here, by the spawning thread: labels follow creation order.
        let label = crate::nt::coverage::spawn_label(&self.shared, name);
        let body = move || {
            let _entered = kernel.enter();
            crate::nt::observe::thread_named(&kernel.shared, &thread_name);
            crate::nt::coverage::thread_started(&kernel.shared, label);
            struct Ended(Kernel);
            impl Drop for Ended {
                fn drop(&mut self) {
                    crate::nt::observe::thread_ended(&self.0.shared);
                }
            }
            let _ended = Ended(kernel.clone());
            f()
        };
        #[cfg(not(any(loom, shuttle)))]
        let inner = crate::sched::spawn(name, body);
        #[cfg(any(loom, shuttle))]
        let inner = {
            let _ = name;
            thread::spawn(body)
        };
        JoinHandle { inner }
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.shared.verifier
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        &*self.shared.clock
    }

    /// The kernel's clock if it is virtual (to [`advance`](VirtualClock::advance) it).
    pub fn virtual_clock(&self) -> Option<&VirtualClock> {
        self.shared.clock.as_virtual()
    }

    /// IRPs currently allocated from this kernel's pool (not yet freed).
    pub fn irps_outstanding(&self) -> usize {
        self.shared.pool.outstanding()
    }

    /// Leak accounting: files an [`irp-leaked`](Rule::IrpLeaked) report for every IRP of
    /// this kernel's pool that is still allocated, saying `when` the count was taken
    /// (e.g. "at the end of the scenario"). Returns how many were reported.
    pub fn report_leaked_irps(&self, when: &str) -> usize {
        let _entered = self.enter();
        let leaked = self.shared.pool.allocated();
        for &irp in &leaked {
            self.shared.report(
                Rule::IrpLeaked,
                "leak accounting",
                irp,
                format!("an IRP was still allocated {when}: it was never completed (or completed and never freed)"),
            );
        }
        leaked.len()
    }

    /// Turns the timeline recorder on or off (see [`crate::timeline`]). Events recorded
    /// so far are kept.
    pub fn record_timeline(&self, on: bool) {
        self.shared.timeline.set_on(|| self.shared.clock.now(), on);
    }

    /// The events recorded so far, in order.
    pub fn timeline(&self) -> Vec<crate::timeline::Event> {
        self.shared.timeline.events()
    }

    /// The system event log.
    pub fn event_log(&self) -> Vec<crate::nt::event_log::EventLogEntry> {
        crate::sync::lock(&self.shared.event_log).clone()
    }

    /// Takes the events recorded so far (the recorder starts again from an empty list;
    /// sequence numbers start again from 0).
    pub fn take_timeline(&self) -> Vec<crate::timeline::Event> {
        self.shared.timeline.take()
    }

    /// Names the calling thread in this kernel's timeline (threads started with
    /// [`spawn_named`](Self::spawn_named) are named already).
    pub fn name_current_thread(&self, name: &str) {
        crate::nt::observe::thread_named(&self.shared, name);
        crate::nt::coverage::thread_renamed(&self.shared, name);
    }

    /// Whether `other` is a handle to the same kernel.
    pub fn same_as(&self, other: &Kernel) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    // The kernel's other areas: drivers, DPCs and timers, the object manager, the pool,
    // debug output. Each method's body is in the area's module.

    /// The executive pool blocks allocated now and not freed: `(tag, size)` each.
    pub fn pool_in_use(&self) -> Vec<(u32, usize)> {
        crate::nt::pool::pool_in_use(self)
    }

    /// `PsCreateSystemThread`: starts `routine` on a new thread of this kernel, running as
    /// the driver whose routine calls this (so reports from it name the driver).
    pub fn create_system_thread(&self, routine: impl FnOnce() + Send + 'static) -> SystemThread {
        crate::nt::objects::create_system_thread(self, routine)
    }

    /// The device a name refers to: a Win32 device path (`\\.\Name`), a symbolic link
    /// (`\DosDevices\Name`, `\??\Name`) a driver created with IoCreateSymbolicLink, or an
    /// NT device name (`\Device\Name`). Names compare without regard to case.
    pub fn find_device(&self, name: &str) -> Option<*mut super::types::DeviceObject> {
        crate::nt::ob::find_device(self, name)
    }

    /// The symbolic links drivers created: `(link, target)`, links in `\??\name` form.
    pub fn symbolic_links(&self) -> Vec<(String, String)> {
        crate::nt::ob::symbolic_links(self)
    }

    /// The drivers' debug output so far, in order.
    pub fn debug_output(&self) -> Vec<DebugLine> {
        crate::nt::debug::debug_output(self)
    }

    /// Fires the timers that are due and runs every queued DPC, on the calling thread
    /// (which enters this kernel for the duration). Returns the number of DPCs run.
    pub fn run_dpcs(&self) -> usize {
        crate::nt::dpc::run_dpcs(self)
    }

    /// Moves a virtual clock forward by `by`, expiry by expiry: at each timer's due time
    /// the timer fires and every queued DPC runs, on the calling thread. Returns the
    /// number of DPCs run.
    ///
    /// # Panics
    /// If the kernel's clock is not virtual.
    pub fn advance(&self, by: Duration) -> usize {
        crate::nt::dpc::advance(self, by)
    }

    /// Starts a background thread that runs this kernel's DPCs and fires its timers: on a
    /// real clock at their due time; on a virtual clock it jumps to the next expiry as
    /// soon as no DPC is queued. It stops when the returned guard drops.
    pub fn start_dpc_thread(&self) -> DpcThread {
        crate::nt::dpc::start_dpc_thread(self)
    }

    /// Loads a driver: creates its driver object named `\Driver\{name}` and calls its
    /// DriverEntry (in the calling thread, which must have entered this kernel) with the
    /// registry path `\Registry\Machine\System\CurrentControlSet\Services\{name}`.
    ///
    /// Returns the driver object, or DriverEntry's failure status (the object is then
    /// discarded).
    pub fn load_driver(&self, name: &str, entry: DriverInitialize) -> Result<*mut DriverObject, NtStatus> {
        crate::nt::device::load_driver(self, name, entry)
    }

    /// [`load_driver`](Self::load_driver) with the registry path DriverEntry gets.
    ///
    /// As the I/O manager does: every `MajorFunction` entry starts as a routine that
    /// completes the IRP with `STATUS_INVALID_DEVICE_REQUEST`; `DriverExtension` points at
    /// the driver's extension (its `ServiceKeyName` is the name); and when DriverEntry
    /// succeeds, `DO_DEVICE_INITIALIZING` is cleared on the devices it created.
    pub fn load_driver_with_registry_path(
        &self,
        name: &str,
        registry_path: &str,
        entry: DriverInitialize,
    ) -> Result<*mut DriverObject, NtStatus> {
        crate::nt::device::load_driver_with_registry_path(self, name, registry_path, entry)
    }

    /// Loads a driver `\Driver\{name}` whose every major function is `dispatch`, and
    /// creates its one device `\Device\{name}` (`FILE_DEVICE_UNKNOWN`, with a zeroed,
    /// 16-byte aligned extension of `extension_size` bytes, ready for IRPs): the setup of
    /// a driver written against the NT layer. The calling thread must have entered this
    /// kernel. (A safe driver gets its device from [`crate::safe::create_device`].)
    ///
    /// ```
    /// use irpkit::nt::*;
    ///
    /// unsafe extern "system-unwind" fn dispatch(_device: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    ///     // SAFETY: IoCallDriver hands the dispatch routine a live IRP it now owns.
    ///     unsafe {
    ///         (*irp).io_status.status = STATUS_SUCCESS;
    ///         io_complete_request(irp, 0); // IO_NO_INCREMENT
    ///     }
    ///     STATUS_SUCCESS
    /// }
    ///
    /// let kernel = irpkit::Kernel::new();
    /// let _entered = kernel.enter();
    /// let (_driver, device) = kernel.create_driver_and_device("Echo", dispatch, 64).unwrap();
    /// // SAFETY: a live device of this kernel.
    /// let stack_size = unsafe { (*device).stack_size.load(core::sync::atomic::Ordering::Relaxed) };
    /// let irp = io_allocate_irp(stack_size, false);
    /// // SAFETY: our fresh IRP, sent to a live device.
    /// unsafe {
    ///     (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
    ///     assert_eq!(io_call_driver(device, irp), STATUS_SUCCESS);
    /// }
    /// ```
    pub fn create_driver_and_device(
        &self,
        name: &str,
        dispatch: crate::nt::types::DriverDispatch,
        extension_size: usize,
    ) -> Result<(*mut DriverObject, *mut crate::nt::types::DeviceObject), NtStatus> {
        crate::nt::device::create_driver_and_device(self, name, dispatch, extension_size)
    }

    /// Unloads a driver: calls its Unload routine, which deletes its devices. The driver
    /// object stays allocated (inert) until the kernel ends.
    ///
    /// # Safety
    /// `driver` was returned by [`Kernel::load_driver`] of this kernel, and nothing of it
    /// (devices, routines) is in use any more.
    pub unsafe fn unload_driver(&self, driver: *mut DriverObject) {
        // SAFETY: forwarded contract.
        unsafe { crate::nt::device::unload_driver(self, driver) }
    }
}

/// A thread started by [`Kernel::spawn`].
#[derive(Debug)]
pub struct JoinHandle<R> {
    #[cfg(not(any(loom, shuttle)))]
    inner: crate::sched::Handle<R>,
    #[cfg(any(loom, shuttle))]
    inner: thread::JoinHandle<R>,
}

impl<R> JoinHandle<R> {
    /// Waits for the thread to end; `Err` carries its panic.
    pub fn join(self) -> std::thread::Result<R> {
        self.inner.join()
    }

    /// Whether the thread has ended.
    #[cfg(not(any(loom, shuttle)))]
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

/// Restores the thread's previous current kernel when dropped.
#[must_use = "the kernel is current only while the guard lives"]
#[derive(Debug)]
pub struct EnterGuard {
    prev: Option<Option<Arc<KernelShared>>>,
    _not_send: core::marker::PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.take() {
            THREAD.with(|t| *t.kernel.borrow_mut() = prev);
        }
    }
}
