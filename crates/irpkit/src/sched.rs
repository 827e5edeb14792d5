//! The explorer's controlled scheduler.
//!
//! Under [`crate::explore`], every thread of a scenario is a real OS thread, but only one
//! runs at a time: it holds the baton. Each kernel primitive (spin locks, the cancel
//! lock, IoSetCancelRoutine, IoCancelIrp, IoCompleteRequest, IoCallDriver, device-queue
//! and cancel-safe-queue operations, events, DPC delivery, thread start and exit) calls
//! [`point`], where the run's strategy decides which thread runs next. Waits never block
//! the OS thread while it holds the baton: they mark the thread blocked on a key (a spin
//! lock's address, a kernel's dispatcher objects, its DPC queue, a thread's exit) and hand
//! the baton on; whoever changes what the key stands for calls [`wake`]. When no thread
//! can run, virtual time jumps to the earliest deadline; when none is left either, the
//! run is a deadlock.
//!
//! Outside an exploration, each hook costs one relaxed load of a global counter.
//!
//! Determinism: thread ids are creation order (only one thread runs at a time), every
//! choice is made by the strategy from the set of runnable threads, and time moves only
//! when every thread is blocked. The same strategy state gives the same run.

use core::time::Duration;
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// Number of explorations running in this process; hooks do nothing while it is zero.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

#[derive(Clone)]
struct Current {
    run: Arc<Run>,
    id: usize,
}

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

/// Why a run ended early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Abort {
    /// No thread could run and no deadline was pending.
    Deadlock(Vec<String>),
    /// Threads only spun on each other.
    Livelock(Vec<String>),
    /// The step budget ran out.
    StepLimit(u64),
    /// A thread held the baton without reaching a scheduling point for too long.
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
    /// Abandoned while already unwinding: parked for good.
    Parked,
}

struct ThreadInfo {
    name: String,
    state: State,
    os: Option<std::thread::Thread>,
    last: &'static str,
}

struct RunState {
    threads: Vec<ThreadInfo>,
    running: usize,
    steps: u64,
    strategy: Box<dyn Strategy>,
    switches: Vec<Switch>,
    trace: Vec<TraceStep>,
    abort: Option<Abort>,
    clock: Option<Arc<dyn RunClock>>,
    max_steps: u64,
    max_time: Duration,
    spins_in_row: u32,
    first_report_step: Option<u64>,
    stop_at_report: bool,
    stop_pending: bool,
    panics: Vec<String>,
    progress: Instant,
    finished: usize,
}

/// One controlled run.
pub(crate) struct Run {
    state: Mutex<RunState>,
    done: Condvar,
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
    /// False when an abandoned run's threads did not all stop (one ran outside the
    /// scheduler): what they use must then never be freed.
    pub(crate) settled: bool,
    pub(crate) steps: u64,
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
    pub(crate) stall: std::time::Duration,
    pub(crate) stop_at_report: bool,
}

impl Run {
    /// Runs `root` as thread 0 under `strategy` and returns when every thread of the run
    /// has finished or the run was abandoned.
    pub(crate) fn execute(
        strategy: Box<dyn Strategy>,
        clock: Arc<dyn RunClock>,
        limits: Limits,
        root: Box<dyn FnOnce() + Send>,
    ) -> RunResult {
        let run = Arc::new(Run {
            state: Mutex::new(RunState {
                threads: Vec::new(),
                running: 0,
                steps: 0,
                strategy,
                switches: Vec::new(),
                trace: Vec::new(),
                abort: None,
                clock: Some(clock),
                max_steps: limits.max_steps,
                max_time: limits.max_virtual_time,
                spins_in_row: 0,
                first_report_step: None,
                stop_at_report: limits.stop_at_report,
                stop_pending: false,
                panics: Vec::new(),
                progress: Instant::now(),
                finished: 0,
            }),
            done: Condvar::new(),
        });
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        let id = register(&run, "main".to_string());
        debug_assert_eq!(id, 0);
        let handle = start_os_thread(&run, id, root);
        let result = {
            let mut st = lock(&run);
            loop {
                if st.abort.is_some() || (st.finished == st.threads.len()) {
                    break;
                }
                if st.progress.elapsed() > limits.stall {
                    let who = st.running;
                    let name = st.threads.get(who).map(|t| t.name.clone()).unwrap_or_default();
                    let last = st.threads.get(who).map(|t| t.last).unwrap_or("");
                    abort_locked(
                        &mut st,
                        Abort::Stall(format!(
                            "thread {who} ({name}) ran for {:?} without reaching a scheduling point (last: {last}); \
                             it is blocked outside irpkit's primitives (a std lock or channel?) or loops forever",
                            limits.stall
                        )),
                    );
                    break;
                }
                st = match run.done.wait_timeout(st, std::time::Duration::from_millis(50)) {
                    Ok((g, _)) => g,
                    Err(p) => p.into_inner().0,
                };
            }
            // An abandoned run's threads unwind (or park for good at a scheduling point
            // reached while unwinding); wait for that, so none of them still runs when the
            // caller frees what they used.
            let mut settled = true;
            if st.abort.is_some() {
                let deadline = Instant::now() + limits.stall;
                while !st.threads.iter().all(|t| matches!(t.state, State::Finished | State::Parked)) {
                    if Instant::now() > deadline {
                        settled = false;
                        break;
                    }
                    st = match run.done.wait_timeout(st, std::time::Duration::from_millis(10)) {
                        Ok((g, _)) => g,
                        Err(p) => p.into_inner().0,
                    };
                }
            }
            RunResult {
                settled,
                steps: st.steps,
                switches: core::mem::take(&mut st.switches),
                trace: core::mem::take(&mut st.trace),
                thread_names: st.threads.iter().map(|t| t.name.clone()).collect(),
                abort: st.abort.clone(),
                first_report_step: st.first_report_step,
                panics: core::mem::take(&mut st.panics),
            }
        };
        if result.abort.is_none() {
            let _ = handle.join();
        }
        // Drop the clock (it holds the kernel) even if abandoned threads linger.
        lock(&run).clock = None;
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

fn register(run: &Arc<Run>, name: String) -> usize {
    let mut st = lock(run);
    let id = st.threads.len();
    st.threads.push(ThreadInfo { name, state: State::Runnable, os: None, last: "thread start" });
    st.strategy.new_thread(id);
    id
}

fn start_os_thread(run: &Arc<Run>, id: usize, f: Box<dyn FnOnce() + Send>) -> std::thread::JoinHandle<()> {
    let run2 = run.clone();
    let handle = std::thread::Builder::new()
        .name(format!("irpkit-explore-{id}"))
        .spawn(move || {
            CURRENT.with(|c| *c.borrow_mut() = Some(Current { run: run2.clone(), id }));
            // Registered by the thread itself, before it first waits: the scheduler may
            // pick it before its starter got back from the OS's spawn call.
            lock(&run2).threads[id].os = Some(std::thread::current());
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                wait_turn(&run2, id);
                f();
            }));
            if let Err(payload) = &outcome {
                if payload.downcast_ref::<Abandoned>().is_none() {
                    record_panic(payload.as_ref());
                }
            }
            finish(&run2, id);
            CURRENT.with(|c| *c.borrow_mut() = None);
        })
        .expect("irpkit explorer: the OS refused to start a thread");
    lock(run).threads[id].os.get_or_insert_with(|| handle.thread().clone());
    handle
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

/// Notes, in the calling controlled thread's run, that the thread panicked.
fn record_panic(payload: &(dyn std::any::Any + Send)) {
    if let Some(cur) = with_current(Current::clone) {
        let msg = panic_message(payload);
        let mut st = lock(&cur.run);
        let name = st.threads[cur.id].name.clone();
        st.panics.push(format!("thread {} ({name}) panicked: {msg}", cur.id));
    }
}

fn finish(run: &Arc<Run>, id: usize) {
    let mut st = lock(run);
    if st.threads[id].state == State::Finished {
        return;
    }
    st.threads[id].state = State::Finished;
    st.finished += 1;
    wake_locked(&mut st, join_key(id));
    if st.abort.is_some() || st.finished == st.threads.len() {
        run.done.notify_all();
        return;
    }
    if st.running == id {
        schedule(&mut st, id);
    }
    if st.abort.is_some() {
        run.done.notify_all();
    }
}

/// Waits until thread `id` holds the baton. Unwinds with [`Abandoned`] if the run ends.
fn wait_turn(run: &Run, id: usize) {
    loop {
        {
            let st = lock(run);
            if st.abort.is_some() {
                drop(st);
                abandon();
            }
            if st.running == id {
                return;
            }
        }
        std::thread::park();
    }
}

fn abandon() -> ! {
    if std::thread::panicking() {
        // Already unwinding (a destructor reached a scheduling point): this thread cannot
        // unwind twice, so it stays parked; its run is over.
        if let Some(cur) = CURRENT.with(|c| c.borrow().clone()) {
            let mut st = lock(&cur.run);
            st.threads[cur.id].state = State::Parked;
            cur.run.done.notify_all();
        }
        loop {
            std::thread::park();
        }
    }
    std::panic::resume_unwind(Box::new(Abandoned));
}

fn abort_locked(st: &mut RunState, why: Abort) {
    if st.abort.is_none() {
        st.abort = Some(why);
    }
    for t in &st.threads {
        if let Some(os) = &t.os {
            os.unpark();
        }
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
/// passes it the baton. Sets `st.abort` if the run cannot go on.
fn schedule(st: &mut RunState, me: usize) {
    if st.stop_pending {
        abort_locked(st, Abort::Reported);
        return;
    }
    st.steps += 1;
    st.progress = Instant::now();
    if st.steps > st.max_steps {
        let n = st.max_steps;
        abort_locked(st, Abort::StepLimit(n));
        return;
    }
    // Another thread moved: spinners re-check.
    for (i, t) in st.threads.iter_mut().enumerate() {
        if i != me && t.state == State::Spinning {
            t.state = State::Runnable;
        }
    }
    let mut runnable: Vec<usize> = Vec::with_capacity(st.threads.len());
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
                return;
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
            return;
        };
        if t > st.max_time {
            let who = describe_blocked(st);
            abort_locked(st, Abort::Livelock(who));
            return;
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
    let default = if runnable.contains(&me) { me } else { runnable[0] };
    let step = st.steps - 1;
    let choice = st.strategy.choose(Choice { step, current: me, runnable: &runnable, default });
    let choice = if runnable.contains(&choice) { choice } else { default };
    if choice != default {
        st.switches.push(Switch { step, thread: choice, preemption: default == me });
    }
    if st.running != choice {
        st.running = choice;
        if let Some(os) = &st.threads[choice].os {
            os.unpark();
        }
    }
}

fn with_current<R>(f: impl FnOnce(&Current) -> R) -> Option<R> {
    if ACTIVE.load(Ordering::Relaxed) == 0 {
        return None;
    }
    CURRENT.with(|c| c.borrow().as_ref().map(f))
}

/// Whether the calling thread runs under the explorer.
#[inline]
pub(crate) fn controlled() -> bool {
    ACTIVE.load(Ordering::Relaxed) != 0 && with_current(|_| ()).is_some()
}

/// A scheduling point: `what` is the primitive, `irp` the IRP it works on (or null).
#[inline]
pub(crate) fn point(what: &'static str, irp: *const crate::nt::types::Irp) {
    if ACTIVE.load(Ordering::Relaxed) != 0 {
        point_slow(what, irp, State::Runnable);
    }
}

#[cold]
fn point_slow(what: &'static str, irp: *const crate::nt::types::Irp, new_state: State) {
    let Some(cur) = with_current(Current::clone) else { return };
    // SAFETY: callers pass null or an IRP whose pool memory is allocated (pool memory is
    // never returned while its kernel lives); `irp_id` only reads the header.
    let irp_id = if irp.is_null() { None } else { unsafe { crate::nt::irp::irp_id(irp.cast_mut()) } };
    {
        let mut st = lock(&cur.run);
        if st.abort.is_some() {
            drop(st);
            abandon();
        }
        if st.running != cur.id {
            // Not this thread's turn: only possible while unwinding from an abandoned run.
            return;
        }
        let at = st.clock.as_ref().map(|c| c.now()).unwrap_or_default();
        st.trace.push(TraceStep { thread: cur.id, what, irp: irp_id, at });
        st.threads[cur.id].last = what;
        st.threads[cur.id].state = new_state;
        schedule(&mut st, cur.id);
        if st.abort.is_some() {
            cur.run.done.notify_all();
        }
    }
    wait_turn(&cur.run, cur.id);
}

/// A busy-wait iteration: the thread stays runnable, but others go first until one of
/// them takes a step.
pub(crate) fn spin(what: &'static str) {
    if ACTIVE.load(Ordering::Relaxed) != 0 {
        point_slow(what, core::ptr::null(), State::Spinning);
    }
}

/// Blocks the calling (controlled) thread on `key` until [`wake`] with the same key, or
/// until virtual time reaches `deadline`. The caller re-checks its condition after.
pub(crate) fn block(key: usize, deadline: Option<Duration>, what: &'static str) {
    if ACTIVE.load(Ordering::Relaxed) != 0 {
        point_slow(what, core::ptr::null(), State::Blocked { key, deadline, what });
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
    let Some(cur) = with_current(Current::clone) else { return };
    let mut st = lock(&cur.run);
    if st.abort.is_none() {
        wake_locked(&mut st, key);
    }
}

/// Notes that the verifier filed a report (the first one's step is kept for the trace).
pub(crate) fn note_report() {
    if ACTIVE.load(Ordering::Relaxed) != 0 {
        if let Some(cur) = with_current(Current::clone) {
            let mut st = lock(&cur.run);
            if st.first_report_step.is_none() {
                st.first_report_step = Some(st.trace.len() as u64);
                // The run stops at the next scheduling point, where every thread is
                // parked at a known place.
                st.stop_pending = st.stop_at_report;
            }
        }
    }
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
            loop {
                let done = lock(run).threads[*id].state == State::Finished;
                if done {
                    break;
                }
                block(join_key(*id), None, "join thread");
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
        self.os.as_ref().is_none_or(|h| h.is_finished())
    }
}

/// Starts a thread: a controlled one (a scheduling point) if the caller is controlled,
/// a plain OS thread otherwise.
pub(crate) fn spawn<R: Send + 'static>(name: &str, f: impl FnOnce() -> R + Send + 'static) -> Handle<R> {
    let result = Arc::new(Mutex::new(None));
    let slot = result.clone();
    let body = move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let rethrow = match &r {
            Err(p) if p.downcast_ref::<Abandoned>().is_some() => true,
            Err(p) => {
                record_panic(p.as_ref());
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
    match with_current(Current::clone) {
        Some(cur) => {
            let id = register(&cur.run, name.to_string());
            let os = start_os_thread(&cur.run, id, Box::new(body));
            let h = Handle { os: Some(os), result, controlled: Some((cur.run.clone(), id)) };
            point("thread start", core::ptr::null());
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
