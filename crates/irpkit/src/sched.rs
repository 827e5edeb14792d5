//! The explorer's controlled scheduler.
//!
//! Under [`crate::explore`], every thread of a run is a stackful coroutine, and all of a
//! run's coroutines take turns on the one OS thread that called [`Run::execute`]: only one
//! runs at a time. Each kernel primitive (spin locks, the cancel lock, IoSetCancelRoutine,
//! IoCancelIrp, IoCompleteRequest, IoCallDriver, device-queue and cancel-safe-queue
//! operations, events, DPC delivery, thread start and exit) calls [`point`], where the
//! run's strategy decides which thread runs next; a switch is a suspension of one
//! coroutine and the resumption of another, a few nanoseconds, not an OS context switch.
//! Waits never block the OS thread: they mark the thread blocked on a key (a spin lock's
//! address, a kernel's dispatcher objects, its DPC queue, a thread's exit) and switch;
//! whoever changes what the key stands for calls [`wake`]. When no thread can run,
//! virtual time jumps to the earliest deadline; when none is left either, the run is a
//! deadlock.
//!
//! Per-thread state outside this module (the kernel's IRQL, spin-lock count, running
//! driver routine, thread token, current kernel; the safe layer's queue-owner marker)
//! lives in OS thread-locals. Each virtual thread has its own copy: the [`VirtualLocals`]
//! the run was given swaps it in when the coroutine is resumed and out when it is
//! suspended. Thread-locals of driver code (C `__thread` variables) are per OS thread and
//! so shared by a run's threads.
//!
//! A coroutine that never reaches a scheduling point cannot be preempted: a supervisor on
//! another OS thread watches the [`Monitor`] of the thread that runs the coroutines and
//! reports a stall (see `explore`).
//!
//! Invariants:
//! - `RunState::running` is the thread whose coroutine runs now (or runs next, while the
//!   driving loop is between resumes); only that coroutine touches kernel state.
//! - A coroutine is suspended only at a scheduling point; it is never resumed after it
//!   parked (a wait reached while unwinding an abandoned run): such a coroutine is leaked
//!   with everything it owns, and the run is reported unsettled.
//! - The state lock is never held while a coroutine is resumed or suspended, nor across
//!   calls out of this module other than the strategy's and the clock's.
//!
//! Outside an exploration, each hook costs one relaxed load of a global counter.
//!
//! Determinism: thread ids are creation order, every choice is made by the strategy from
//! the set of runnable threads, and time moves only when every thread is blocked. The
//! same strategy state gives the same run.

use core::cell::{Cell, RefCell};
use core::ptr;
use core::time::Duration;
use std::any::Any;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use corosensei::{Coroutine, CoroutineResult, Yielder};

mod stack;
use stack::GuardedStack;

/// Number of explorations running in this process; hooks do nothing while it is zero.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The run whose coroutine runs on this OS thread now; null between resumes.
    static CURRENT: Cell<*const Run> = const { Cell::new(ptr::null()) };
    /// The monitor a supervisor watches this OS thread through, if any.
    static MONITOR: RefCell<Option<Arc<Monitor>>> = const { RefCell::new(None) };
    /// Stacks of finished coroutines, kept for the next ones (size, stack).
    static STACKS: RefCell<Vec<(usize, GuardedStack)>> = const { RefCell::new(Vec::new()) };
    /// Whether a coroutine parked on this OS thread while unwinding. The Rust runtime
    /// counts panics in flight per OS thread, so from then on `std::thread::panicking()`
    /// is true here for every coroutine: it no longer tells whether the caller unwinds.
    static POLLUTED: Cell<bool> = const { Cell::new(false) };
}

/// Whether thread `me` (running now) is unwinding: because its run was abandoned, or
/// through a panic of its own. The second is known from the runtime's panic count as long
/// as no coroutine of this OS thread is suspended mid-unwind, which the scheduler keeps
/// true until one parks (see `POLLUTED`).
fn unwinding(st: &RunState, me: usize) -> bool {
    st.threads[me].abandoning || (!POLLUTED.with(Cell::get) && std::thread::panicking())
}

/// Whether this OS thread can no longer tell unwinding coroutines from others (a
/// coroutine parked here while unwinding): a driver of runs should then stop using it.
pub(crate) fn polluted() -> bool {
    POLLUTED.with(Cell::get)
}

/// Stacks kept for reuse per OS thread.
const KEPT_STACKS: usize = 64;

/// What a strategy picks among.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Choice<'a> {
    /// The step about to be taken (0-based).
    pub(crate) step: u64,
    /// The thread that reached the scheduling point.
    pub(crate) current: usize,
    /// Runnable threads, in id order (never empty).
    pub(crate) runnable: &'a [usize],
    /// What the non-preemptive default would run: `current` if it is runnable, else the
    /// lowest runnable id.
    pub(crate) default: usize,
}

/// Decides which thread runs at each scheduling point.
pub(crate) trait Strategy: Send {
    /// A thread was created (ids are dense, in creation order).
    fn new_thread(&mut self, id: usize);
    /// Picks one of `c.runnable`.
    fn choose(&mut self, c: Choice<'_>) -> usize;
}

/// Per-thread state kept outside the scheduler, of which each virtual thread has its own
/// copy (see the module documentation).
pub(crate) trait VirtualLocals: Send + Sync {
    /// The state of a thread that has not run yet.
    fn fresh(&self) -> Box<dyn Any>;
    /// Exchanges the calling OS thread's state with `saved` (a value `fresh` made).
    fn swap(&self, saved: &mut dyn Any);
}

/// Why a run ended early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Abort {
    /// No thread could run and no deadline was pending.
    Deadlock(Vec<String>),
    /// Threads only spun on each other.
    Livelock(Vec<String>),
    /// The step budget ran out.
    StepLimit(u64),
    /// A thread ran without reaching a scheduling point for too long (filed by a
    /// supervisor: see [`Monitor`]).
    Stall(String),
    /// The verifier filed a report and the run stops at the first one.
    Reported,
}

/// One step of a run's trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TraceStep {
    /// The thread that took the step.
    pub(crate) thread: usize,
    /// The primitive.
    pub(crate) what: &'static str,
    /// The IRP involved, by serial number.
    pub(crate) irp: Option<u64>,
    /// Virtual time at the step.
    pub(crate) at: Duration,
}

/// A scheduling decision that differs from the non-preemptive default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Switch {
    /// The step at which it was taken.
    pub(crate) step: u64,
    /// The thread chosen.
    pub(crate) thread: usize,
    /// Whether the current thread could have gone on (a preemption, rather than a choice
    /// among waiting threads after the current one blocked).
    pub(crate) preemption: bool,
}

/// The clock a run moves when every thread waits.
pub(crate) trait RunClock: Send + Sync {
    fn now(&self) -> Duration;
    fn advance_to(&self, t: Duration);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Runnable,
    /// Runnable, but its last step was a busy-wait: others go first.
    Spinning,
    Blocked {
        key: usize,
        deadline: Option<Duration>,
        what: &'static str,
    },
    Finished,
    /// Reached a wait while unwinding an abandoned run: never resumed again.
    Parked,
}

/// What the driving loop passes a coroutine it resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resume {
    /// Go on: it is this thread's turn.
    Go,
    /// The run was abandoned: unwind.
    Abandon,
}

/// What a coroutine passes the driving loop when it suspends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suspend {
    /// Another thread's turn (`RunState::running` names it).
    Switch,
    /// Parked for good.
    Park,
}

type Co = Coroutine<Resume, Suspend, (), GuardedStack>;

/// A coroutine's yielder, set when the coroutine starts.
#[derive(Clone, Copy)]
struct YielderPtr(*const Yielder<Resume, Suspend>);

// SAFETY: the pointer is only dereferenced by the coroutine it belongs to, on the OS
// thread that runs it; other threads (a supervisor reading the run's state) only move
// the value along with the rest of the state.
unsafe impl Send for YielderPtr {}

struct ThreadInfo {
    name: String,
    state: State,
    last: &'static str,
    yielder: YielderPtr,
    /// The thread's function, until its coroutine is made.
    body: Option<Box<dyn FnOnce() + Send>>,
    /// Unwinding because its run was abandoned.
    abandoning: bool,
    /// The message of the panic it raised last (kept by the panic hook).
    panic: Option<String>,
}

struct RunState {
    threads: Vec<ThreadInfo>,
    running: usize,
    steps: u64,
    strategy: Box<dyn Strategy>,
    switches: Vec<Switch>,
    trace: Vec<TraceStep>,
    record_trace: bool,
    /// Scheduling points reached (the trace's length, had it been kept).
    points: u64,
    abort: Option<Abort>,
    clock: Option<Arc<dyn RunClock>>,
    max_steps: u64,
    max_time: Duration,
    spins_in_row: u32,
    first_report_step: Option<u64>,
    stop_at_report: bool,
    stop_pending: bool,
    panics: Vec<String>,
    finished: usize,
    /// Scratch space for the runnable set (kept to avoid an allocation per step).
    runnable: Vec<usize>,
    monitor: Option<Arc<Monitor>>,
}

/// One controlled run.
pub(crate) struct Run {
    state: Mutex<RunState>,
}

/// The payload a thread unwinds with when its run is abandoned.
struct Abandoned;

fn lock(run: &Run) -> MutexGuard<'_, RunState> {
    match run.state.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// What a finished run left behind.
pub(crate) struct RunResult {
    /// False when a thread of the run may still run outside the scheduler (a stalled
    /// run, reported by a supervisor): what it uses must then never be freed. A thread
    /// that parked for good (a wait reached while unwinding an abandoned run) is never
    /// resumed: its stack is leaked with the references it holds, and the run settled.
    pub(crate) settled: bool,
    pub(crate) steps: u64,
    /// Scheduling points reached (the trace's length when it is kept).
    pub(crate) points: u64,
    pub(crate) switches: Vec<Switch>,
    pub(crate) trace: Vec<TraceStep>,
    pub(crate) thread_names: Vec<String>,
    pub(crate) abort: Option<Abort>,
    pub(crate) first_report_step: Option<u64>,
    pub(crate) panics: Vec<String>,
}

/// Limits of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_steps: u64,
    pub(crate) max_virtual_time: Duration,
    pub(crate) stop_at_report: bool,
    /// Bytes of stack each thread's coroutine gets (a guard page below it).
    pub(crate) stack_size: usize,
    /// Keep the step-by-step trace (a replay's); without it only steps are counted.
    pub(crate) record_trace: bool,
}

/// A coroutine of the driving loop, with its thread's saved locals.
struct Slot {
    co: Option<Co>,
    locals: Box<dyn Any>,
}

impl Run {
    /// Runs `root` as thread 0 under `strategy`, every thread of the run a coroutine on
    /// the calling OS thread, and returns when every thread has finished or the run was
    /// abandoned (its threads unwound).
    pub(crate) fn execute(
        strategy: Box<dyn Strategy>,
        clock: Arc<dyn RunClock>,
        limits: Limits,
        locals: &dyn VirtualLocals,
        root: Box<dyn FnOnce() + Send>,
    ) -> RunResult {
        crate::sync::set_spin_hook(spin_hook);
        install_panic_hook();
        let monitor = MONITOR.with(|m| m.borrow().clone());
        let run = Arc::new(Run {
            state: Mutex::new(RunState {
                threads: Vec::new(),
                running: 0,
                steps: 0,
                strategy,
                switches: Vec::new(),
                trace: Vec::new(),
                record_trace: limits.record_trace,
                points: 0,
                abort: None,
                clock: Some(clock),
                max_steps: limits.max_steps,
                max_time: limits.max_virtual_time,
                spins_in_row: 0,
                first_report_step: None,
                stop_at_report: limits.stop_at_report,
                stop_pending: false,
                panics: Vec::new(),
                finished: 0,
                runnable: Vec::new(),
                monitor: monitor.clone(),
            }),
        });
        if let Some(m) = &monitor {
            *m.run.lock().unwrap_or_else(|p| p.into_inner()) = Some(run.clone());
        }
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        let id = register(&run, "main".to_string(), root);
        debug_assert_eq!(id, 0);
        // A run started from inside another run's coroutine drives its own threads; the
        // outer run's coroutine is current again after.
        let outer = CURRENT.with(|c| c.replace(ptr::null()));
        drive(&run, locals, limits.stack_size);
        let settled = true;
        CURRENT.with(|c| c.set(outer));
        let result = {
            let mut st = lock(&run);
            // Drop the clock (it holds the kernel) and the bodies of threads that never
            // ran, here, while this thread's locals are its own.
            st.clock = None;
            for t in &mut st.threads {
                t.body = None;
            }
            RunResult {
                settled,
                steps: st.steps,
                points: st.points,
                switches: core::mem::take(&mut st.switches),
                trace: core::mem::take(&mut st.trace),
                thread_names: st.threads.iter().map(|t| t.name.clone()).collect(),
                abort: st.abort.clone(),
                first_report_step: st.first_report_step,
                panics: core::mem::take(&mut st.panics),
            }
        };
        if let Some(m) = &monitor {
            *m.run.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

/// The driving loop: resumes the running thread's coroutine until every thread finished
/// or the run was abandoned, then unwinds what is left (leaving parked ones).
fn drive(run: &Arc<Run>, locals: &dyn VirtualLocals, stack_size: usize) {
    let mut slots: Vec<Slot> = Vec::new();
    loop {
        let (id, body) = {
            let mut st = lock(run);
            if st.abort.is_some() || st.finished == st.threads.len() {
                break;
            }
            let id = st.running;
            (id, st.threads[id].body.take())
        };
        while slots.len() <= id {
            slots.push(Slot { co: None, locals: locals.fresh() });
        }
        if let Some(body) = body {
            slots[id].co = Some(new_coroutine(run.clone(), id, body, stack_size));
        }
        resume(run, locals, &mut slots[id], Resume::Go);
    }
    // Abandoned (or done): unwind every coroutine still suspended, in id order. Each
    // was suspended at a scheduling point while not unwinding (an unwinding thread is
    // never switched away from), so it unwinds from there.
    for (id, slot) in slots.iter_mut().enumerate() {
        let suspended = slot.co.as_ref().is_some_and(|c| c.started() && !c.done());
        if !suspended || lock(run).threads[id].state == State::Parked {
            continue;
        }
        lock(run).running = id;
        resume(run, locals, slot, Resume::Abandon);
    }
    for slot in slots {
        match slot.co {
            // A parked coroutine is suspended inside a wait it cannot finish: dropping it
            // would resume it. It stays allocated, with everything it owns.
            Some(co) if co.started() && !co.done() => core::mem::forget(co),
            Some(co) => keep_stack(stack_size, co),
            None => {}
        }
    }
}

/// Resumes `slot`'s coroutine with `how`, its thread's locals swapped in.
fn resume(run: &Arc<Run>, locals: &dyn VirtualLocals, slot: &mut Slot, how: Resume) {
    let Some(co) = slot.co.as_mut() else { return };
    locals.swap(&mut *slot.locals);
    CURRENT.with(|c| c.set(Arc::as_ptr(run)));
    let r = co.resume(how);
    CURRENT.with(|c| c.set(ptr::null()));
    locals.swap(&mut *slot.locals);
    if let CoroutineResult::Yield(Suspend::Park) = r {
        let mut st = lock(run);
        let id = st.running;
        st.threads[id].state = State::Parked;
    }
}

fn new_coroutine(run: Arc<Run>, id: usize, body: Box<dyn FnOnce() + Send>, stack_size: usize) -> Co {
    let stack = STACKS
        .with(|s| {
            let mut s = s.borrow_mut();
            let i = s.iter().rposition(|(size, _)| *size == stack_size)?;
            Some(s.swap_remove(i).1)
        })
        .unwrap_or_else(|| match GuardedStack::new(stack_size) {
            Ok(s) => s,
            Err(e) => panic!(
                "irpkit explorer: could not map a {stack_size}-byte stack for a controlled thread ({e}); \
                 lower the stack size or free memory"
            ),
        });
    Coroutine::with_stack(stack, move |yielder: &Yielder<Resume, Suspend>, _first: Resume| {
        lock(&run).threads[id].yielder = YielderPtr(yielder);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
        if let Err(payload) = &outcome {
            if payload.downcast_ref::<Abandoned>().is_none() {
                record_panic(&run, id, payload.as_ref());
            }
        }
        finish(&run, id);
    })
}

fn keep_stack(size: usize, co: Co) {
    let stack = co.into_stack();
    STACKS.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < KEPT_STACKS {
            s.push((size, stack));
        }
    });
}

fn register(run: &Arc<Run>, name: String, body: Box<dyn FnOnce() + Send>) -> usize {
    let mut st = lock(run);
    let id = st.threads.len();
    st.threads.push(ThreadInfo {
        name,
        state: State::Runnable,
        last: "thread start",
        yielder: YielderPtr(ptr::null()),
        body: Some(body),
        abandoning: false,
        panic: None,
    });
    st.strategy.new_thread(id);
    id
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

/// Notes that thread `id` of `run` panicked.
fn record_panic(run: &Run, id: usize, payload: &(dyn std::any::Any + Send)) {
    let msg = panic_message(payload);
    let mut st = lock(run);
    let name = st.threads[id].name.clone();
    st.panics.push(format!("thread {id} ({name}) panicked: {msg}"));
}

fn finish(run: &Run, id: usize) {
    let mut st = lock(run);
    if st.threads[id].state == State::Finished {
        return;
    }
    st.threads[id].state = State::Finished;
    st.finished += 1;
    wake_locked(&mut st, join_key(id));
    if st.abort.is_none() && st.finished < st.threads.len() && st.running == id {
        schedule(&mut st, id);
    }
}

/// The calling coroutine's run: it stays alive while one of its coroutines runs (the
/// driving loop holds it).
fn current_run<'a>() -> Option<&'a Run> {
    if ACTIVE.load(Ordering::Relaxed) == 0 {
        return None;
    }
    let p = CURRENT.with(Cell::get);
    // SAFETY: `CURRENT` is non-null only while `drive` resumes one of the run's
    // coroutines, and `drive`'s caller holds an `Arc` of the run for all that time; the
    // reference does not leave the coroutine's stack frame that asked for it.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// [`current_run`], as a new strong reference.
fn current_run_arc() -> Option<Arc<Run>> {
    let p = CURRENT.with(Cell::get);
    if ACTIVE.load(Ordering::Relaxed) == 0 || p.is_null() {
        return None;
    }
    // SAFETY: `p` came from `Arc::as_ptr` of an `Arc` that `drive`'s caller holds while
    // `CURRENT` is set; taking one more strong count keeps it valid on its own.
    unsafe {
        Arc::increment_strong_count(p);
        Some(Arc::from_raw(p))
    }
}

/// Whether the calling thread runs under the explorer.
#[inline]
pub(crate) fn controlled() -> bool {
    ACTIVE.load(Ordering::Relaxed) != 0 && current_run().is_some()
}

/// Whether any exploration runs in this process (a cheap pre-check for hooks whose
/// arguments cost something to compute).
#[inline]
pub(crate) fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed) != 0
}

/// A scheduling point: `what` is the primitive, `irp` the serial number of the IRP it
/// works on.
#[inline]
pub(crate) fn point(what: &'static str, irp: Option<u64>) {
    if ACTIVE.load(Ordering::Relaxed) != 0 {
        point_slow(what, irp, State::Runnable);
    }
}

/// A busy-wait iteration: the thread stays runnable, but others go first until one of
/// them takes a step.
pub(crate) fn spin(what: &'static str) {
    if ACTIVE.load(Ordering::Relaxed) != 0 {
        point_slow(what, None, State::Spinning);
    }
}

/// Keeps the message of a controlled thread's panic with the thread, for a run that must
/// end before the panic is caught (see `point_slow`); then calls the hook installed
/// before. Installed once, with the first run.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(run) = current_run() {
                if let Ok(mut st) = run.state.try_lock() {
                    let me = st.running;
                    let msg = panic_message(info.payload());
                    let msg = if msg.starts_with('(') { info.to_string() } else { msg };
                    if let Some(t) = st.threads.get_mut(me) {
                        t.panic = Some(msg);
                    }
                }
            }
            previous(info);
        }));
    });
}

/// The busy-wait hook `sync` calls: a scheduling point for a controlled thread.
fn spin_hook() -> bool {
    if ACTIVE.load(Ordering::Relaxed) == 0 || current_run().is_none() {
        return false;
    }
    spin("a busy-wait");
    true
}

/// Blocks the calling (controlled) thread on `key` until [`wake`] with the same key, or
/// until virtual time reaches `deadline`. The caller re-checks its condition after.
pub(crate) fn block(key: usize, deadline: Option<Duration>, what: &'static str) {
    if ACTIVE.load(Ordering::Relaxed) != 0 {
        point_slow(what, None, State::Blocked { key, deadline, what });
    }
}

#[cold]
fn point_slow(what: &'static str, irp: Option<u64>, new_state: State) {
    let Some(run) = current_run() else { return };
    let mut st = lock(run);
    let me = st.running;
    let waits = new_state != State::Runnable;
    if st.abort.is_some() {
        drop(st);
        return stopped(run, me, waits);
    }
    if unwinding(&st, me) {
        // A thread is never switched away from while it unwinds (another coroutine would
        // see its panic in flight as its own): it goes on past plain points. A wait it
        // cannot pass without the others, so the run ends there.
        if !waits {
            return;
        }
        let name = st.threads[me].name.clone();
        let msg = st.threads[me].panic.clone().unwrap_or_else(|| "(its message is on standard error)".to_string());
        st.panics.push(format!(
            "thread {me} ({name}) panicked: {msg} (then, unwinding, it waited in {what}: the run ended there)"
        ));
        abort_locked(&mut st, Abort::Reported);
        drop(st);
        return stopped(run, me, true);
    }
    st.points += 1;
    if st.record_trace {
        let at = st.clock.as_ref().map(|c| c.now()).unwrap_or_default();
        st.trace.push(TraceStep { thread: me, what, irp, at });
    }
    st.threads[me].last = what;
    st.threads[me].state = new_state;
    schedule(&mut st, me);
    if st.abort.is_some() {
        drop(st);
        return stopped(run, me, new_state != State::Runnable);
    }
    if st.running == me {
        return;
    }
    let yielder = st.threads[me].yielder;
    drop(st);
    // SAFETY: `yielder` is this coroutine's own (set when it started; the coroutine runs
    // now, on this OS thread), and lives as long as the coroutine.
    match unsafe { &*yielder.0 }.suspend(Suspend::Switch) {
        Resume::Go => {}
        Resume::Abandon => stopped(run, me, waits),
    }
}

/// Thread `me` reached a scheduling point of an abandoned run: it unwinds; if it is
/// unwinding already, it goes on unwinding past a plain point (`waits` false), and parks
/// for good at a wait, which it could never get past.
fn stopped(run: &Run, me: usize, waits: bool) {
    let mut st = lock(run);
    if !unwinding(&st, me) {
        st.threads[me].abandoning = true;
        drop(st);
        std::panic::resume_unwind(Box::new(Abandoned));
    }
    if !waits {
        return;
    }
    let yielder = st.threads[me].yielder;
    drop(st);
    POLLUTED.with(|p| p.set(true));
    loop {
        // SAFETY: as in `point_slow`: this coroutine's own yielder, used on its stack.
        let _ = unsafe { &*yielder.0 }.suspend(Suspend::Park);
    }
}

fn wake_locked(st: &mut RunState, key: usize) {
    for t in &mut st.threads {
        if let State::Blocked { key: k, .. } = t.state {
            if k == key {
                t.state = State::Runnable;
            }
        }
    }
}

/// Makes every thread blocked on `key` runnable (it re-checks its condition when it runs).
#[inline]
pub(crate) fn wake(key: usize) {
    if ACTIVE.load(Ordering::Relaxed) != 0 {
        wake_slow(key);
    }
}

#[cold]
fn wake_slow(key: usize) {
    let Some(run) = current_run() else { return };
    let mut st = lock(run);
    if st.abort.is_none() {
        wake_locked(&mut st, key);
    }
}

/// Notes that the verifier filed a report (the first one's step is kept for the trace).
pub(crate) fn note_report() {
    let Some(run) = current_run() else { return };
    let mut st = lock(run);
    if st.first_report_step.is_none() {
        st.first_report_step = Some(st.points);
        // The run stops at the next scheduling point, where every thread is suspended at
        // a known place.
        st.stop_pending = st.stop_at_report;
    }
}

fn abort_locked(st: &mut RunState, why: Abort) {
    if st.abort.is_none() {
        st.abort = Some(why);
    }
}

fn describe_blocked(st: &RunState) -> Vec<String> {
    st.threads
        .iter()
        .enumerate()
        .filter_map(|(i, t)| match t.state {
            State::Blocked { what, .. } => Some(format!("thread {i} ({}) waits in {what}", t.name)),
            State::Spinning => Some(format!("thread {i} ({}) spins in {}", t.name, t.last)),
            _ => None,
        })
        .collect()
}

/// Chooses the next thread after `me` took a step (`me`'s own state already updated) and
/// makes it the running one. Sets `st.abort` if the run cannot go on.
fn schedule(st: &mut RunState, me: usize) {
    if st.stop_pending {
        abort_locked(st, Abort::Reported);
        return;
    }
    st.steps += 1;
    if let Some(m) = &st.monitor {
        m.beats.store(st.steps, Ordering::Relaxed);
    }
    if st.steps > st.max_steps {
        let n = st.max_steps;
        abort_locked(st, Abort::StepLimit(n));
        return;
    }
    // One pass: another thread moved, so spinners re-check (they become runnable again),
    // and the runnable set is collected.
    let mut runnable = core::mem::take(&mut st.runnable);
    runnable.clear();
    let mut me_runnable = false;
    for (i, t) in st.threads.iter_mut().enumerate() {
        match t.state {
            State::Runnable => {
                me_runnable |= i == me;
                runnable.push(i);
            }
            State::Spinning if i != me => {
                t.state = State::Runnable;
                runnable.push(i);
            }
            _ => {}
        }
    }
    if runnable.is_empty() {
        st.runnable = runnable;
        if !no_one_runnable(st) {
            return;
        }
        runnable = core::mem::take(&mut st.runnable);
        me_runnable = runnable.contains(&me);
    } else {
        st.spins_in_row = 0;
    }
    let default = if me_runnable { me } else { runnable[0] };
    let step = st.steps - 1;
    let choice = st.strategy.choose(Choice { step, current: me, runnable: &runnable, default });
    let choice = if runnable.contains(&choice) { choice } else { default };
    st.runnable = runnable;
    if choice != default {
        st.switches.push(Switch { step, thread: choice, preemption: default == me });
    }
    st.running = choice;
}

/// The slow path of [`schedule`]: no thread is runnable. A thread that only spins goes on
/// (up to a limit); otherwise virtual time moves to the earliest deadline. Leaves the
/// threads that can go on in `st.runnable` and returns true, or sets `st.abort` and
/// returns false.
#[cold]
fn no_one_runnable(st: &mut RunState) -> bool {
    let mut runnable = core::mem::take(&mut st.runnable);
    loop {
        runnable.clear();
        runnable.extend(st.threads.iter().enumerate().filter(|(_, t)| t.state == State::Runnable).map(|(i, _)| i));
        if !runnable.is_empty() {
            st.spins_in_row = 0;
            break;
        }
        runnable.extend(st.threads.iter().enumerate().filter(|(_, t)| t.state == State::Spinning).map(|(i, _)| i));
        if !runnable.is_empty() {
            st.spins_in_row += 1;
            if st.spins_in_row > 10_000 {
                let who = describe_blocked(st);
                abort_locked(st, Abort::Livelock(who));
                st.runnable = runnable;
                return false;
            }
            break;
        }
        // Every thread waits: move time to the earliest deadline.
        let earliest = st
            .threads
            .iter()
            .filter_map(|t| match t.state {
                State::Blocked { deadline, .. } => deadline,
                _ => None,
            })
            .min();
        let (Some(t), Some(clock)) = (earliest, st.clock.clone()) else {
            let who = describe_blocked(st);
            abort_locked(st, Abort::Deadlock(who));
            st.runnable = runnable;
            return false;
        };
        if t > st.max_time {
            let who = describe_blocked(st);
            abort_locked(st, Abort::Livelock(who));
            st.runnable = runnable;
            return false;
        }
        if clock.now() < t {
            clock.advance_to(t);
        }
        let now = clock.now();
        for th in &mut st.threads {
            if let State::Blocked { deadline: Some(d), .. } = th.state {
                if d <= now {
                    th.state = State::Runnable;
                }
            }
        }
    }
    st.runnable = runnable;
    true
}

fn join_key(id: usize) -> usize {
    // Thread ids are small; spin lock and object keys are addresses (aligned, large).
    id.wrapping_mul(2).wrapping_add(1)
}

/// A thread started by [`spawn`]: under the explorer, joining it is a wait the scheduler
/// knows about.
pub(crate) struct Handle<R> {
    os: Option<std::thread::JoinHandle<()>>,
    result: Arc<Mutex<Option<std::thread::Result<R>>>>,
    controlled: Option<(Arc<Run>, usize)>,
}

impl<R> core::fmt::Debug for Handle<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Handle").field("controlled", &self.controlled.as_ref().map(|c| c.1)).finish_non_exhaustive()
    }
}

impl<R> Handle<R> {
    pub(crate) fn join(mut self) -> std::thread::Result<R> {
        if let Some((run, id)) = &self.controlled {
            let inside = current_run().is_some_and(|r| core::ptr::eq(r, Arc::as_ptr(run)));
            loop {
                let (done, over) = {
                    let st = lock(run);
                    (st.threads[*id].state == State::Finished, st.abort.is_some() || st.clock.is_none())
                };
                if done || (over && !inside) {
                    // Joined from outside a run that has ended: a thread it abandoned
                    // never finishes (its result says so below).
                    break;
                }
                if inside {
                    block(join_key(*id), None, "join thread");
                } else {
                    std::thread::yield_now();
                }
            }
        }
        if let Some(os) = self.os.take() {
            let _ = os.join();
        }
        let taken = match self.result.lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        };
        taken.unwrap_or_else(|| Err(Box::new("the thread was abandoned when its exploration ended")))
    }

    pub(crate) fn is_finished(&self) -> bool {
        match &self.controlled {
            Some((run, id)) => lock(run).threads[*id].state == State::Finished,
            None => self.os.as_ref().is_none_or(|h| h.is_finished()),
        }
    }
}

/// Starts a thread: a controlled one (a coroutine of the run, and a scheduling point) if
/// the caller is controlled, a plain OS thread otherwise.
pub(crate) fn spawn<R: Send + 'static>(name: &str, f: impl FnOnce() -> R + Send + 'static) -> Handle<R> {
    let result = Arc::new(Mutex::new(None));
    let slot = result.clone();
    let body = move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let rethrow = match &r {
            Err(p) if p.downcast_ref::<Abandoned>().is_some() => true,
            Err(p) => {
                if let Some(run) = current_run() {
                    let id = lock(run).running;
                    record_panic(run, id, p.as_ref());
                }
                false
            }
            Ok(_) => false,
        };
        match slot.lock() {
            Ok(mut g) => *g = Some(r),
            Err(p) => *p.into_inner() = Some(r),
        }
        if rethrow {
            std::panic::resume_unwind(Box::new(Abandoned));
        }
    };
    match current_run_arc() {
        Some(run) => {
            let id = register(&run, name.to_string(), Box::new(body));
            let h = Handle { os: None, result, controlled: Some((run, id)) };
            point("thread start", None);
            h
        }
        None => {
            let os = std::thread::Builder::new()
                .name(name.to_string())
                .spawn(body)
                .expect("irpkit: the OS refused to start a thread");
            Handle { os: Some(os), result, controlled: None }
        }
    }
}

/// What a supervisor on another OS thread sees of the thread that drives runs: a
/// heartbeat (moves at every scheduling point) and, while a run goes on, that run.
pub(crate) struct Monitor {
    beats: AtomicU64,
    run: Mutex<Option<Arc<Run>>>,
}

impl Monitor {
    /// Makes the calling OS thread watched: runs it drives from now on report through the
    /// monitor returned.
    pub(crate) fn install() -> Arc<Monitor> {
        let m = Arc::new(Monitor { beats: AtomicU64::new(0), run: Mutex::new(None) });
        MONITOR.with(|slot| *slot.borrow_mut() = Some(m.clone()));
        m
    }

    /// Moves the heartbeat (between runs, where no scheduling point does).
    pub(crate) fn beat(&self) {
        self.beats.fetch_add(1, Ordering::Relaxed);
    }

    /// The heartbeat: a value that changes whenever the watched thread makes progress.
    pub(crate) fn beats(&self) -> u64 {
        self.beats.load(Ordering::Relaxed)
    }

    /// What the watched thread's run had done when it stopped making progress for
    /// `stalled` (a run whose threads are left where they are), or `None` if no run was
    /// going on.
    pub(crate) fn stalled_result(&self, stalled: Duration) -> Option<RunResult> {
        let run = self.run.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
        // The stuck coroutine does not hold the state lock (it never runs code outside
        // this module with it held), but a try keeps the supervisor from ever hanging.
        let st = run.state.try_lock().ok()?;
        let who = st.running;
        let name = st.threads.get(who).map(|t| t.name.clone()).unwrap_or_default();
        let last = st.threads.get(who).map(|t| t.last).unwrap_or("");
        Some(RunResult {
            settled: false,
            steps: st.steps,
            points: st.points,
            switches: st.switches.clone(),
            trace: st.trace.clone(),
            thread_names: st.threads.iter().map(|t| t.name.clone()).collect(),
            abort: Some(Abort::Stall(format!(
                "thread {who} ({name}) ran for {stalled:?} without reaching a scheduling point (last: {last}); \
                 it is blocked outside irpkit's primitives (a std lock or channel?) or loops forever"
            ))),
            first_report_step: st.first_report_step,
            panics: st.panics.clone(),
        })
    }
}
