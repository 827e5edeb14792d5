//! A deterministic race explorer: runs a [`Scenario`] many times under a controlled
//! scheduler, stops at the first violation, shrinks its schedule and replays it.
//!
//! Every thread a scenario starts with [`Kernel::spawn`] (or through the samples' and the
//! requester API's own threads, which use it) is controlled: only one runs at a time,
//! and at each kernel primitive — spin locks, the cancel lock, IoSetCancelRoutine,
//! IoCancelIrp, IoCompleteRequest, IoCallDriver, device-queue and cancel-safe-queue
//! operations, events, DPC delivery, thread start and exit — a [strategy](Strategy)
//! decides which thread goes on. The kernel's clock is virtual and moves only when every
//! thread waits, straight to the earliest deadline (timers, timeouts, the five-minute
//! thread-exit wait), so a run takes no real time waiting.
//!
//! **What it cannot see.** Threads switch only at kernel primitives. Code that runs
//! between two of them runs as one step, so a race made entirely of plain memory
//! accesses — an unlocked read and write of a driver's own field with no kernel call
//! between them — is never interleaved and never found. Guard shared state with the
//! kernel's locks (spin locks, the cancel lock, interlocked queues) and the explorer
//! explores it; the cancel coverage report lists the windows that had no scheduling point
//! inside them.
//!
//! A run ends in one [`Outcome`]: clean, or a [`Violation`] — the first verifier report,
//! a panic, a deadlock, a livelock, a run over its step budget, or an IRP still allocated
//! when the scenario ended (leak accounting). A violation carries its [`Schedule`]: the
//! scheduling decisions that differ from the non-preemptive default. [`shrink`] removes
//! decisions while the same violation still happens; [`replay`] runs a schedule again and
//! returns the step-by-step trace.
//!
//! ```
//! use irpkit::explore::{self, Scenario, Strategy};
//! use irpkit::Kernel;
//!
//! struct Quiet;
//! impl Scenario for Quiet {
//!     fn name(&self) -> &str { "quiet" }
//!     fn run(&self, kernel: &Kernel) {
//!         let t = kernel.spawn(|| irpkit::nt::ke_delay_execution_thread(-10_000));
//!         t.join().unwrap();
//!     }
//! }
//! let scenario: std::sync::Arc<dyn Scenario> = std::sync::Arc::new(Quiet);
//! let outcome = explore::run_one(&scenario, Strategy::Random, 7, &explore::Limits::default());
//! assert!(outcome.violation.is_none());
//! ```

use core::fmt;
use core::time::Duration;
use std::sync::Arc;
use std::time::Instant;

use crate::clock::{Clock, VirtualClock};
use crate::nt::kernel::Kernel;
use crate::sched;
use crate::verifier::{Report, VerifierMode};

pub mod coverage;
pub mod exhaustive;

/// A workload to explore: drivers, devices and requester threads, set up and run on the
/// given kernel (virtual clock, verifier in record mode) by a controlled thread.
///
/// The explorer starts a DPC thread for the kernel before `run` (timers fire and DPCs run
/// there), and stops it after.
///
/// It must be deterministic apart from thread interleaving: threads only through
/// [`Kernel::spawn`] (or APIs built on it), time only from the kernel's clock, no
/// `std` locks or channels held across kernel primitives.
pub trait Scenario: Send + Sync {
    /// A short name, used in schedule files.
    fn name(&self) -> &str;
    /// Runs the workload to its end (threads joined, requests finished).
    fn run(&self, kernel: &Kernel);
}

/// How a run's scheduling decisions are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// At every scheduling point, a uniformly random runnable thread.
    Random,
    /// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): random
    /// distinct thread priorities, the highest-priority runnable thread runs, and at
    /// `depth - 1` random steps the running thread drops below all others. Finds any bug
    /// of depth `d` with probability at least 1/(n·k^(d-1)).
    Pct {
        /// The bug depth aimed at (number of ordering constraints), at least 1.
        depth: u32,
    },
    /// Bounded-exhaustive search ([`exhaustive`]): every schedule with at most
    /// `max_preemptions` preemptions, by iterative context bounding. Not a per-seed
    /// strategy: [`run_one`] and [`explore`] with it run the default schedule (its first).
    Exhaustive {
        /// K: the most preemptions a schedule may have.
        max_preemptions: u32,
        /// The most free choices (non-default choices after a wait) a schedule may make;
        /// `None`: no limit.
        max_free_choices: Option<u32>,
    },
}

impl Strategy {
    /// The strategy `mixed` exploration uses for `seed`: random on even seeds, PCT of
    /// depth 1–3 on odd ones.
    pub fn mixed(seed: u64) -> Strategy {
        if seed % 2 == 0 {
            Strategy::Random
        } else {
            Strategy::Pct { depth: 1 + ((seed / 2) % 3) as u32 }
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::Random => write!(f, "random"),
            Strategy::Pct { depth } => write!(f, "pct(depth {depth})"),
            Strategy::Exhaustive { max_preemptions, max_free_choices: None } => {
                write!(f, "exhaustive(≤ {max_preemptions} preemptions)")
            }
            Strategy::Exhaustive { max_preemptions, max_free_choices: Some(free) } => {
                write!(f, "exhaustive(≤ {max_preemptions} preemptions, ≤ {free} free choices)")
            }
        }
    }
}

/// Budgets of one run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Scheduling points before the run is stopped as a livelock.
    pub max_steps: u64,
    /// Virtual time before the run is stopped as a livelock.
    pub max_virtual_time: Duration,
    /// Real time a thread may hold the baton without reaching a scheduling point.
    pub stall: Duration,
    /// End the run at the verifier's first report (its threads are abandoned) instead of
    /// letting it finish.
    pub stop_at_first_report: bool,
    /// Bytes of stack each controlled thread gets (driver C code runs on it too). A
    /// thread that overflows it ends the process with a report that says so.
    pub stack_size: usize,
}

/// The stack a controlled thread gets by default: 1 MiB (mapped lazily; a Windows
/// kernel stack is 12–24 KiB, but unoptimised Rust and the C library want more).
pub const DEFAULT_STACK_SIZE: usize = 1 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_steps: 200_000,
            max_virtual_time: Duration::from_secs(3600),
            stall: Duration::from_secs(5),
            stop_at_first_report: true,
            stack_size: DEFAULT_STACK_SIZE,
        }
    }
}

/// One scheduling decision that differs from the non-preemptive default ("keep running
/// the current thread; when it waits, the lowest-numbered runnable one").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The scheduling point (0-based step number).
    pub step: u64,
    /// The thread that ran from there.
    pub thread: usize,
    /// Whether it preempted a thread that could have gone on.
    pub preemption: bool,
}

/// The schedule of a run, enough to replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The scenario's name.
    pub scenario: String,
    /// The seed the schedule was generated from (with [`Strategy::Exhaustive`], the
    /// top-level branch it lies in, see [`exhaustive`]).
    pub seed: u64,
    /// The strategy it was generated with.
    pub strategy: Strategy,
    /// Every decision that differs from the default, in step order.
    pub decisions: Vec<Decision>,
}

impl Schedule {
    /// Number of preemptions.
    pub fn preemptions(&self) -> usize {
        self.decisions.iter().filter(|d| d.preemption).count()
    }
}

/// What broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViolationKind {
    /// The verifier's first report.
    Report(Box<Report>),
    /// A thread panicked (the message names it).
    Panic(String),
    /// No thread could run and no timer was pending; each line names a waiting thread.
    Deadlock(Vec<String>),
    /// Threads kept running without progress (spinning on each other, or virtual time
    /// beyond the limit).
    Livelock(Vec<String>),
    /// The run exceeded its step budget.
    StepLimit(u64),
    /// A thread blocked outside irpkit's primitives.
    Stall(String),
}

impl ViolationKind {
    /// A short stable name: the rule id for reports, else the kind.
    pub fn signature(&self) -> String {
        match self {
            ViolationKind::Report(r) => r.rule.id().to_string(),
            ViolationKind::Panic(_) => "panic".to_string(),
            ViolationKind::Deadlock(_) => "deadlock".to_string(),
            ViolationKind::Livelock(_) => "livelock".to_string(),
            ViolationKind::StepLimit(_) => "step-limit".to_string(),
            ViolationKind::Stall(_) => "stall".to_string(),
        }
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ViolationKind::Report(r) => write!(f, "{r}"),
            ViolationKind::Panic(m) => write!(f, "panic: {m}"),
            ViolationKind::Deadlock(w) => write!(f, "deadlock: no thread can run\n  {}", w.join("\n  ")),
            ViolationKind::Livelock(w) => write!(f, "livelock: threads run without progress\n  {}", w.join("\n  ")),
            ViolationKind::StepLimit(n) => write!(f, "the run took more than {n} scheduling points"),
            ViolationKind::Stall(m) => write!(f, "stall: {m}"),
        }
    }
}

/// A violation and the schedule that produced it.
#[derive(Debug, Clone)]
pub struct Violation {
    /// What broke.
    pub kind: ViolationKind,
    /// Every verifier report of the run (the first is `kind` when it is a report).
    pub reports: Vec<Report>,
    /// The schedule.
    pub schedule: Schedule,
    /// The index in the trace of the step after which the first report was filed.
    pub at_step: Option<u64>,
}

/// One step of a trace: which thread ran which primitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Thread id (creation order; 0 runs the scenario).
    pub thread: usize,
    /// The primitive at whose scheduling point the step ended.
    pub what: &'static str,
    /// The IRP involved, by serial number.
    pub irp: Option<u64>,
    /// Virtual time.
    pub at: Duration,
}

/// How one run went.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The violation, if any.
    pub violation: Option<Violation>,
    /// The schedule actually taken.
    pub schedule: Schedule,
    /// Scheduling points taken.
    pub steps: u64,
    /// The step-by-step trace.
    pub trace: Vec<Step>,
    /// Thread names by id.
    pub threads: Vec<String>,
    /// Where the run's cancels landed, per request ([`coverage`]).
    pub coverage: coverage::CancelCoverage,
}

/// splitmix64: a small, good, deterministic generator (schedules here; workloads built
/// from a seed elsewhere).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// True with probability `p` (never for `p <= 0`).
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

struct RandomWalk(Rng);

impl sched::Strategy for RandomWalk {
    fn new_thread(&mut self, _id: usize) {}
    fn choose(&mut self, c: sched::Choice<'_>) -> usize {
        c.runnable[self.0.below(c.runnable.len() as u64) as usize]
    }
}

struct Pct {
    rng: Rng,
    priorities: Vec<u64>,
    change_points: Vec<u64>,
    next_low: u64,
}

impl Pct {
    fn new(seed: u64, depth: u32, expected_steps: u64) -> Self {
        let mut rng = Rng(seed);
        let mut change_points: Vec<u64> = (1..depth.max(1)).map(|_| rng.below(expected_steps.max(1))).collect();
        change_points.sort_unstable();
        Pct { rng, priorities: Vec::new(), change_points, next_low: u64::from(depth) }
    }
}

impl sched::Strategy for Pct {
    fn new_thread(&mut self, _id: usize) {
        // Initial priorities are above every change-point priority (those count down
        // from `depth`), distinct with overwhelming probability.
        let p = 1_000 + (self.rng.next_u64() >> 16);
        self.priorities.push(p);
    }
    fn choose(&mut self, c: sched::Choice<'_>) -> usize {
        while self.change_points.first().is_some_and(|&s| s <= c.step) {
            self.change_points.remove(0);
            self.next_low = self.next_low.saturating_sub(1);
            if let Some(p) = self.priorities.get_mut(c.current) {
                *p = self.next_low;
            }
        }
        *c.runnable.iter().max_by_key(|&&t| self.priorities.get(t).copied().unwrap_or(0)).unwrap_or(&c.default)
    }
}

struct Directed {
    decisions: Vec<Decision>,
    next: usize,
}

impl sched::Strategy for Directed {
    fn new_thread(&mut self, _id: usize) {}
    fn choose(&mut self, c: sched::Choice<'_>) -> usize {
        while self.decisions.get(self.next).is_some_and(|d| d.step < c.step) {
            self.next += 1;
        }
        match self.decisions.get(self.next) {
            Some(d) if d.step == c.step => {
                self.next += 1;
                d.thread
            }
            _ => c.default,
        }
    }
}

struct KernelClock(Kernel);

impl sched::RunClock for KernelClock {
    fn now(&self) -> Duration {
        self.0.clock().now()
    }
    fn advance_to(&self, t: Duration) {
        if let Some(c) = self.0.virtual_clock() {
            let now = c.now();
            if t > now {
                c.advance(t - now);
            }
        }
    }
}

/// Steps PCT expects per run before it has seen one (it then uses the longest run seen).
const PCT_DEFAULT_STEPS: u64 = 400;

/// Each controlled thread's own copy of the thread-locals of the kernel (IRQL, spin
/// locks held, running routine, token, current kernel).
struct ThreadLocals;

struct SavedLocals {
    ctx: crate::nt::kernel::SavedThreadCtx,
}

impl sched::VirtualLocals for ThreadLocals {
    fn fresh(&self) -> Box<dyn core::any::Any> {
        Box::new(SavedLocals { ctx: crate::nt::kernel::SavedThreadCtx::fresh() })
    }
    fn swap(&self, saved: &mut dyn core::any::Any) {
        let saved = saved.downcast_mut::<SavedLocals>().expect("the locals this type made");
        saved.ctx.swap_with_current();
    }
}

/// Runs one schedule of `scenario` on the calling OS thread (its threads coroutines of
/// it). `slot`, when given, gets the run's kernel before the run starts (for a
/// supervisor that must report on a run that stalls).
fn execute(
    scenario: &Arc<dyn Scenario>,
    strategy: Box<dyn sched::Strategy>,
    limits: &Limits,
    record: bool,
    trace: bool,
    slot: Option<&KernelSlot>,
) -> (Kernel, sched::RunResult) {
    let kernel = Kernel::builder().verifier_mode(VerifierMode::Record).clock(VirtualClock::new()).build();
    // The recorder's lock is not a scheduling point: recording leaves the schedule as is.
    kernel.record_timeline(record);
    if let Some(slot) = slot {
        *crate::sync::lock(slot) = Some(kernel.clone());
    }
    // Nor is cancel coverage's.
    coverage::record(&kernel, true);
    let k = kernel.clone();
    // The root thread owns its scenario handle: a run abandoned on a deadlock may leave a
    // thread parked for good, still holding what it borrowed.
    let scenario = scenario.clone();
    let root = Box::new(move || {
        let _entered = k.enter();
        // The scheduler's name for the root thread, on the timeline too.
        k.name_current_thread("main");
        // The processor's DPC context: timers fire and DPCs run on their own thread.
        let dpc = k.start_dpc_thread();
        scenario.run(&k);
        drop(dpc);
    });
    let result = sched::Run::execute(
        strategy,
        Arc::new(KernelClock(kernel.clone())),
        sched_limits(limits, trace),
        &ThreadLocals,
        root,
    );
    if !result.settled {
        // A thread of the run could not unwind: its kernel must outlive it.
        core::mem::forget(kernel.clone());
    }
    (kernel, result)
}

/// Where a worker keeps the kernel of the run it is on.
type KernelSlot = std::sync::Mutex<Option<Kernel>>;

/// The result of work done on a supervised worker thread.
enum Supervised<T> {
    /// It finished.
    Done(T),
    /// A run made no progress for the stall limit: what it had done, and its kernel.
    Stalled(sched::RunResult, Option<Kernel>),
}

/// Runs `job` on a new worker OS thread that the calling thread watches. A thread of an
/// exploration cannot be preempted between scheduling points, so one that blocks outside
/// irpkit's primitives (or loops forever) would stop its worker for good: after `stall`
/// without progress, the worker is left behind (it holds what it uses) and the stalled
/// run's state is returned.
fn supervised<T: Send + 'static>(
    stall: Duration,
    job: impl FnOnce(&sched::Monitor, &KernelSlot) -> T + Send + 'static,
) -> Supervised<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (mtx, mrx) = std::sync::mpsc::channel();
    let slot = Arc::new(KernelSlot::new(None));
    let worker_slot = slot.clone();
    let handle = std::thread::Builder::new()
        .name("irpkit-explore".to_string())
        .spawn(move || {
            let monitor = sched::Monitor::install();
            let _ = mtx.send(monitor.clone());
            let r = job(&monitor, &worker_slot);
            let _ = tx.send(r);
        })
        .expect("irpkit explorer: the OS refused to start a worker thread");
    let monitor = mrx.recv().expect("the worker installs its monitor first");
    let mut last = (monitor.beats(), Instant::now());
    loop {
        match rx.recv_timeout(stall.min(Duration::from_millis(50))) {
            Ok(r) => {
                let _ = handle.join();
                return Supervised::Done(r);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                // The worker panicked outside any run (a bug of the explorer itself).
                let payload = handle.join().err();
                let msg = payload.as_deref().map(sched::panic_message).unwrap_or_default();
                panic!("irpkit explorer: a worker thread failed: {msg}");
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        let beats = monitor.beats();
        if beats != last.0 {
            last = (beats, Instant::now());
        } else if last.1.elapsed() >= stall {
            if let Some(r) = monitor.stalled_result(stall) {
                let kernel = crate::sync::lock(&slot).clone();
                // The worker stays blocked for good; its kernel must outlive it.
                if let Some(k) = &kernel {
                    core::mem::forget(k.clone());
                }
                return Supervised::Stalled(r, kernel);
            }
            last.1 = Instant::now();
        }
    }
}

fn sched_limits(l: &Limits, record_trace: bool) -> sched::Limits {
    sched::Limits {
        max_steps: l.max_steps,
        max_virtual_time: l.max_virtual_time,
        stop_at_report: l.stop_at_first_report,
        stack_size: l.stack_size,
        record_trace,
    }
}

fn finish(
    scenario: &Arc<dyn Scenario>,
    seed: u64,
    strategy: Strategy,
    kernel: &Kernel,
    r: sched::RunResult,
) -> Outcome {
    let schedule = Schedule {
        scenario: scenario.name().to_string(),
        seed,
        strategy,
        decisions: r
            .switches
            .iter()
            .map(|s| Decision { step: s.step, thread: s.thread, preemption: s.preemption })
            .collect(),
    };
    if r.abort.is_none() && r.panics.is_empty() {
        kernel.report_leaked_irps("at the end of the scenario (every thread had finished)");
    }
    let reports = kernel.verifier().take_reports();
    let kind = if let Some(first) = reports.first() {
        Some(ViolationKind::Report(Box::new(first.clone())))
    } else if let Some(p) = r.panics.first() {
        Some(ViolationKind::Panic(p.clone()))
    } else {
        r.abort.as_ref().and_then(|a| match a {
            sched::Abort::Deadlock(w) => Some(ViolationKind::Deadlock(w.clone())),
            sched::Abort::Livelock(w) => Some(ViolationKind::Livelock(w.clone())),
            sched::Abort::StepLimit(n) => Some(ViolationKind::StepLimit(*n)),
            sched::Abort::Stall(m) => Some(ViolationKind::Stall(m.clone())),
            sched::Abort::Reported => None,
        })
    };
    let trace: Vec<Step> =
        r.trace.iter().map(|s| Step { thread: s.thread, what: s.what, irp: s.irp, at: s.at }).collect();
    let at_step = r.first_report_step.or(if reports.is_empty() { None } else { Some(r.points) });
    Outcome {
        violation: kind.map(|kind| Violation { kind, reports, schedule: schedule.clone(), at_step }),
        schedule,
        steps: r.steps,
        trace,
        threads: r.thread_names,
        coverage: coverage::CancelCoverage::of_kernel(kernel),
    }
}

/// Runs `scenario` once with `strategy` seeded by `seed`.
pub fn run_one(scenario: &Arc<dyn Scenario>, strategy: Strategy, seed: u64, limits: &Limits) -> Outcome {
    let job_scenario = scenario.clone();
    let job_limits = *limits;
    let r = supervised(limits.stall, move |_, slot| {
        run_seeded(&job_scenario, strategy, seed, &job_limits, PCT_DEFAULT_STEPS, true, Some(slot))
    });
    settle(scenario, seed, strategy, r)
}

/// The outcome of supervised work: as it finished, or the stalled run's.
fn settle(scenario: &Arc<dyn Scenario>, seed: u64, strategy: Strategy, r: Supervised<Outcome>) -> Outcome {
    match r {
        Supervised::Done(o) => o,
        Supervised::Stalled(r, kernel) => {
            let kernel = kernel.unwrap_or_else(|| Kernel::builder().clock(VirtualClock::new()).build());
            finish(scenario, seed, strategy, &kernel, r)
        }
    }
}

fn sched_strategy(strategy: Strategy, seed: u64, pct_steps: u64) -> Box<dyn sched::Strategy> {
    match strategy {
        Strategy::Random => Box::new(RandomWalk(Rng(seed))),
        Strategy::Pct { depth } => Box::new(Pct::new(seed, depth, pct_steps)),
        Strategy::Exhaustive { .. } => Box::new(Directed { decisions: Vec::new(), next: 0 }),
    }
}

/// One seeded run on the calling thread.
fn run_seeded(
    scenario: &Arc<dyn Scenario>,
    strategy: Strategy,
    seed: u64,
    limits: &Limits,
    pct_steps: u64,
    trace: bool,
    slot: Option<&KernelSlot>,
) -> Outcome {
    let (kernel, r) = execute(scenario, sched_strategy(strategy, seed, pct_steps), limits, false, trace, slot);
    finish(scenario, seed, strategy, &kernel, r)
}

/// Runs `scenario` once under a crate-internal scheduling strategy, its schedule labelled
/// with `label` and `seed`.
pub(crate) fn run_strategy(
    scenario: &Arc<dyn Scenario>,
    strategy: Box<dyn sched::Strategy>,
    label: Strategy,
    seed: u64,
    limits: &Limits,
) -> Outcome {
    let job_scenario = scenario.clone();
    let job_limits = *limits;
    let r = supervised(limits.stall, move |_, slot| {
        let (kernel, r) = execute(&job_scenario, strategy, &job_limits, false, false, Some(slot));
        finish(&job_scenario, seed, label, &kernel, r)
    });
    settle(scenario, seed, label, r)
}

/// Runs `schedule` again (its decisions, the default everywhere else).
pub fn replay(scenario: &Arc<dyn Scenario>, schedule: &Schedule, limits: &Limits) -> Outcome {
    replay_inner(scenario, schedule, limits, false).0
}

/// [`replay`], with the kernel's timeline recorded (see [`crate::timeline`]): the same
/// interleaving, and every IRP's events in it — the verifier's reports included, where
/// they were filed.
pub fn replay_recorded(
    scenario: &Arc<dyn Scenario>,
    schedule: &Schedule,
    limits: &Limits,
) -> (Outcome, Vec<crate::timeline::Event>) {
    replay_inner(scenario, schedule, limits, true)
}

fn replay_inner(
    scenario: &Arc<dyn Scenario>,
    schedule: &Schedule,
    limits: &Limits,
    record: bool,
) -> (Outcome, Vec<crate::timeline::Event>) {
    let job_scenario = scenario.clone();
    let job_schedule = schedule.clone();
    let job_limits = *limits;
    let r = supervised(limits.stall, move |_, slot| {
        let s = Box::new(Directed { decisions: job_schedule.decisions.clone(), next: 0 });
        let (kernel, r) = execute(&job_scenario, s, &job_limits, record, true, Some(slot));
        let outcome = finish(&job_scenario, job_schedule.seed, job_schedule.strategy, &kernel, r);
        (outcome, kernel.take_timeline())
    });
    let (mut outcome, timeline) = match r {
        Supervised::Done(done) => done,
        Supervised::Stalled(r, kernel) => {
            let timeline = kernel.as_ref().map(Kernel::take_timeline).unwrap_or_default();
            (settle(scenario, schedule.seed, schedule.strategy, Supervised::Stalled(r, kernel)), timeline)
        }
    };
    // The schedule taken is the one given (decisions the run never reached included).
    outcome.schedule = schedule.clone();
    if let Some(v) = &mut outcome.violation {
        v.schedule = schedule.clone();
    }
    (outcome, timeline)
}

/// Shrinks `violation`'s schedule: drops decisions, one at a time and then in halves,
/// keeping each drop after which a replay still ends in a violation with the same
/// signature (rule id or kind). Returns the smallest violation found and the number of
/// replays it took.
pub fn shrink(scenario: &Arc<dyn Scenario>, violation: &Violation, limits: &Limits) -> (Violation, usize) {
    let signature = violation.kind.signature();
    let mut best = violation.clone();
    let mut replays = 0;
    let mut try_candidate = |decisions: Vec<Decision>, best: &mut Violation| -> bool {
        replays += 1;
        let candidate = Schedule { decisions, ..best.schedule.clone() };
        let outcome = replay(scenario, &candidate, limits);
        match outcome.violation {
            Some(v) if v.kind.signature() == signature => {
                // The replayed violation carries the candidate schedule.
                *best = v;
                true
            }
            _ => false,
        }
    };
    // Chunks first (fast on long random schedules), then single decisions.
    let mut chunk = best.schedule.decisions.len() / 2;
    while chunk >= 1 {
        let mut i = 0;
        while i < best.schedule.decisions.len() {
            let mut d = best.schedule.decisions.clone();
            let end = (i + chunk).min(d.len());
            d.drain(i..end);
            if !try_candidate(d, &mut best) {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    (best, replays)
}

/// Settings of an exploration.
#[derive(Debug, Clone)]
pub struct Options {
    /// Which strategy each seed uses: `None` means [`Strategy::mixed`].
    pub strategy: Option<Strategy>,
    /// Seeds to run, in order (each seed is one schedule).
    pub seeds: core::ops::Range<u64>,
    /// Stop after this much real time, even if seeds are left.
    pub time_budget: Option<Duration>,
    /// Budgets of each run.
    pub limits: Limits,
    /// Shrink the violation found.
    pub shrink: bool,
    /// Worker threads that run schedules side by side (0: one per core). The violation
    /// reported is the one of the lowest seed, whatever the number.
    pub jobs: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { strategy: None, seeds: 0..1000, time_budget: None, limits: Limits::default(), shrink: true, jobs: 0 }
    }
}

/// The number of workers `jobs` asks for: 0 means one per core.
pub fn effective_jobs(jobs: usize) -> usize {
    if jobs == 0 {
        std::thread::available_parallelism().map(usize::from).unwrap_or(1)
    } else {
        jobs
    }
}

/// Progress of an exploration, passed to the progress callback.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Schedules run so far.
    pub schedules: u64,
    /// Violations found (0 or 1: exploration stops at the first).
    pub violations: u64,
    /// Real time since the start.
    pub elapsed: Duration,
    /// Seeds in the range.
    pub total: u64,
}

impl Progress {
    /// Schedules per second so far.
    pub fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.schedules as f64 / s
        } else {
            0.0
        }
    }
}

/// What an exploration found.
#[derive(Debug, Clone)]
pub struct Exploration {
    /// Schedules run (not counting shrinking replays).
    pub schedules: u64,
    /// Total scheduling points taken.
    pub steps: u64,
    /// Real time spent exploring (not counting shrinking).
    pub elapsed: Duration,
    /// The first violation, as found.
    pub found: Option<Violation>,
    /// How many schedules it took to find it (1-based).
    pub found_after: Option<u64>,
    /// The first violation, shrunk (when shrinking was asked for).
    pub shrunk: Option<Violation>,
    /// Replays shrinking took.
    pub shrink_replays: usize,
    /// Where the cancels landed, per request, summed over the schedules run (not counting
    /// shrinking replays).
    pub coverage: coverage::CancelCoverage,
}

/// How often an exploration reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(50);

/// Explores `scenario` over `options.seeds`, stopping at the first violation (which it
/// shrinks if asked). `progress` is called every 50 ms while schedules run, and once at
/// the end.
///
/// Seeds are handed out in increasing order to `options.jobs` workers. Once a violation
/// is known, no worker starts a higher seed, and the one reported is the lowest seed's:
/// without a time budget, the result does not depend on the number of workers.
pub fn explore(scenario: &Arc<dyn Scenario>, options: &Options, mut progress: impl FnMut(Progress)) -> Exploration {
    use std::sync::atomic::{AtomicU64, Ordering};
    let start = Instant::now();
    let seeds = options.seeds.clone();
    let total = seeds.end.saturating_sub(seeds.start);
    let jobs = effective_jobs(options.jobs).clamp(1, total.clamp(1, 1024) as usize);
    let pct_steps = if options.strategy.is_none_or(|s| matches!(s, Strategy::Pct { .. })) {
        pct_calibration(scenario, &options.limits)
    } else {
        PCT_DEFAULT_STEPS
    };
    let deadline = options.time_budget.map(|b| start + b);
    let next = Arc::new(AtomicU64::new(seeds.start));
    let lowest = Arc::new(AtomicU64::new(u64::MAX));
    let (tx, rx) = std::sync::mpsc::channel::<WorkerMsg>();
    let work = WorkerJob {
        scenario: scenario.clone(),
        strategy: options.strategy,
        limits: options.limits,
        end: seeds.end,
        deadline,
        pct_steps,
        next: next.clone(),
        lowest: lowest.clone(),
        ran: Arc::new(AtomicU64::new(0)),
        steps: Arc::new(AtomicU64::new(0)),
    };
    let mut workers: Vec<Worker> = (0..jobs).map(|w| work.spawn(w, tx.clone())).collect();
    let mut live = jobs;
    // Schedules and steps of stalled runs (the workers count the others).
    let (mut stalled_schedules, mut stalled_steps) = (0, 0);
    let mut found: Option<(u64, Violation)> = None;
    let mut last_progress = Instant::now();
    // Where the cancels landed, over every schedule run (a stalled worker's are lost).
    let mut cancel_coverage = coverage::CancelCoverage::default();
    let note = |seed: u64, violation: Option<Violation>, found: &mut Option<(u64, Violation)>| {
        if let Some(v) = violation {
            if found.as_ref().is_none_or(|(s, _)| seed < *s) {
                *found = Some((seed, v));
            }
        }
    };
    while live > 0 {
        match rx.recv_timeout(options.limits.stall.min(PROGRESS_EVERY)) {
            Ok(WorkerMsg::Found { seed, violation }) => note(seed, Some(violation), &mut found),
            Ok(WorkerMsg::Done(w, covered)) => {
                cancel_coverage.merge(&covered);
                live -= 1;
                if let Some(h) = workers[w].handle.take() {
                    let _ = h.join();
                }
            }
            Ok(WorkerMsg::Retired(w, covered)) => {
                cancel_coverage.merge(&covered);
                // Its OS thread can no longer tell unwinding threads apart: a fresh one
                // takes its place.
                if let Some(h) = workers[w].handle.take() {
                    let _ = h.join();
                }
                workers[w] = work.spawn(w, tx.clone());
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        for w in workers.iter_mut().filter(|w| w.handle.is_some()) {
            let beats = w.monitor.beats();
            if beats != w.last.0 {
                w.last = (beats, Instant::now());
                continue;
            }
            if w.last.1.elapsed() < options.limits.stall {
                continue;
            }
            let Some(r) = w.monitor.stalled_result(options.limits.stall) else {
                w.last.1 = Instant::now();
                continue;
            };
            // This worker stays blocked for good, holding its run's kernel.
            let seed = w.current.load(Ordering::Relaxed);
            let strategy = options.strategy.unwrap_or_else(|| Strategy::mixed(seed));
            let kernel = crate::sync::lock(&w.slot).clone();
            if let Some(k) = &kernel {
                core::mem::forget(k.clone());
            }
            let outcome = settle(scenario, seed, strategy, Supervised::Stalled(r, kernel));
            lowest.fetch_min(seed, Ordering::AcqRel);
            stalled_schedules += 1;
            stalled_steps += outcome.steps;
            note(seed, outcome.violation, &mut found);
            w.handle = None;
            live -= 1;
        }
        if live == 0 || last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            let schedules = work.ran.load(Ordering::Relaxed) + stalled_schedules;
            let violations = u64::from(found.is_some());
            progress(Progress { schedules, violations, elapsed: start.elapsed(), total });
        }
    }
    let schedules = work.ran.load(Ordering::Relaxed) + stalled_schedules;
    let steps = work.steps.load(Ordering::Relaxed) + stalled_steps;
    let elapsed = start.elapsed();
    let found_after = found.as_ref().map(|(seed, _)| seed - seeds.start + 1);
    let found = found.map(|(_, v)| v);
    let (shrunk, shrink_replays) = match (&found, options.shrink) {
        (Some(v), true) => {
            let (s, n) = shrink(scenario, v, &options.limits);
            (Some(s), n)
        }
        _ => (None, 0),
    };
    drop(tx);
    Exploration { schedules, steps, elapsed, found, found_after, shrunk, shrink_replays, coverage: cancel_coverage }
}

/// What an exploration worker tells its supervisor.
enum WorkerMsg {
    /// Seed `seed` ended in a violation.
    Found { seed: u64, violation: Violation },
    /// The worker ran out of seeds; where the cancels of its schedules landed.
    Done(usize, coverage::CancelCoverage),
    /// The worker stopped early, with seeds left: its OS thread should not drive more
    /// runs (see `sched::polluted`).
    Retired(usize, coverage::CancelCoverage),
}

/// What every exploration worker does: take the next seed, run it, say how it went.
struct WorkerJob {
    scenario: Arc<dyn Scenario>,
    strategy: Option<Strategy>,
    limits: Limits,
    end: u64,
    deadline: Option<Instant>,
    pct_steps: u64,
    /// The next seed to hand out.
    next: Arc<std::sync::atomic::AtomicU64>,
    /// The lowest seed known to end in a violation (`u64::MAX`: none yet).
    lowest: Arc<std::sync::atomic::AtomicU64>,
    /// Schedules run, and scheduling points taken, by all workers.
    ran: Arc<std::sync::atomic::AtomicU64>,
    steps: Arc<std::sync::atomic::AtomicU64>,
}

impl WorkerJob {
    /// Starts worker `w` on a new OS thread, reporting on `tx`.
    fn spawn(&self, w: usize, tx: std::sync::mpsc::Sender<WorkerMsg>) -> Worker {
        use std::sync::atomic::Ordering;
        let (scenario, next, lowest) = (self.scenario.clone(), self.next.clone(), self.lowest.clone());
        let (ran, steps) = (self.ran.clone(), self.steps.clone());
        let (strategy, limits, end, deadline, pct_steps) =
            (self.strategy, self.limits, self.end, self.deadline, self.pct_steps);
        let current = Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX));
        let worker_current = current.clone();
        let slot = Arc::new(KernelSlot::new(None));
        let worker_slot = slot.clone();
        let (mtx, mrx) = std::sync::mpsc::channel();
        let handle = std::thread::Builder::new()
            .name(format!("irpkit-explore-{w}"))
            .spawn(move || {
                let monitor = sched::Monitor::install();
                let _ = mtx.send(monitor.clone());
                let mut covered = coverage::CancelCoverage::default();
                loop {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        break;
                    }
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= end || seed > lowest.load(Ordering::Acquire) {
                        break;
                    }
                    worker_current.store(seed, Ordering::Relaxed);
                    let strategy = strategy.unwrap_or_else(|| Strategy::mixed(seed));
                    let outcome = run_seeded(&scenario, strategy, seed, &limits, pct_steps, false, Some(&worker_slot));
                    monitor.beat();
                    covered.merge(&outcome.coverage);
                    ran.fetch_add(1, Ordering::Relaxed);
                    steps.fetch_add(outcome.steps, Ordering::Relaxed);
                    if let Some(violation) = outcome.violation {
                        lowest.fetch_min(seed, Ordering::AcqRel);
                        let _ = tx.send(WorkerMsg::Found { seed, violation });
                    }
                    if sched::polluted() {
                        let _ = tx.send(WorkerMsg::Retired(w, covered));
                        return;
                    }
                }
                let _ = tx.send(WorkerMsg::Done(w, covered));
            })
            .expect("irpkit explorer: the OS refused to start a worker thread");
        let monitor = mrx.recv().expect("the worker installs its monitor first");
        let beats = monitor.beats();
        Worker { handle: Some(handle), monitor, current, slot, last: (beats, Instant::now()) }
    }
}

/// An exploration worker, as its supervisor sees it.
struct Worker {
    handle: Option<std::thread::JoinHandle<()>>,
    monitor: Arc<sched::Monitor>,
    /// The seed it runs now.
    current: Arc<std::sync::atomic::AtomicU64>,
    slot: Arc<KernelSlot>,
    /// The heartbeat last seen, and when it last moved.
    last: (u64, Instant),
}

/// The run length PCT places its priority change points in: the default schedule's
/// (at least [`PCT_DEFAULT_STEPS`]), the same for every seed and every worker.
fn pct_calibration(scenario: &Arc<dyn Scenario>, limits: &Limits) -> u64 {
    let default =
        Schedule { scenario: scenario.name().to_string(), seed: 0, strategy: Strategy::Random, decisions: Vec::new() };
    replay(scenario, &default, limits).steps.max(PCT_DEFAULT_STEPS)
}

/// Formats a trace as numbered lines, `thread name: primitive (IRP #n)`, marking the step
/// after which the first report was filed.
pub fn format_trace(outcome: &Outcome, marker: Option<u64>) -> String {
    use fmt::Write;
    let mut out = String::new();
    let name = |t: usize| outcome.threads.get(t).map(String::as_str).unwrap_or("?");
    let mut last_thread = usize::MAX;
    for (i, s) in outcome.trace.iter().enumerate() {
        let switch = if s.thread != last_thread && i > 0 { "→" } else { " " };
        last_thread = s.thread;
        let irp = s.irp.map(|n| format!(" IRP #{n}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{i:>5} {switch} t={:<10} T{} {:<18} {}{irp}",
            format!("{:?}", s.at),
            s.thread,
            name(s.thread),
            s.what
        );
        if marker == Some(i as u64 + 1) {
            let _ = writeln!(out, "      ✗ the verifier's first report was filed here");
        }
    }
    out
}
