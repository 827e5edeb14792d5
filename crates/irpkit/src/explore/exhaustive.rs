//! Bounded-exhaustive exploration: every schedule of a scenario with at most K
//! preemptions, found by iterative context bounding (Musuvathi and Qadeer, "Iterative
//! Context Bounding for Systematic Testing of Multithreaded Programs", PLDI 2007).
//!
//! # The schedule tree
//! A run is a sequence of scheduling points (steps: the kernel primitives listed in
//! [`crate::explore`]). At each one the scheduler offers the runnable threads, names the
//! thread that reached the point (the current one) and the non-preemptive default: the
//! current thread if it is runnable, else the lowest-numbered runnable one. A *schedule*
//! is one complete run, identified by the thread chosen at every step. Choosing another
//! thread than the default while the current one could go on is a *preemption*; choosing
//! among the runnable threads after the current one blocked, finished or spun is free,
//! but it is a branch of the tree all the same. At every step the alternatives are
//! ordered: the default first, then the other runnable threads by id.
//!
//! Free choices multiply the schedules by the orders in which waiting threads can be
//! picked, which grows with every wait; [`ExhaustiveOptions::max_free_choices`] bounds
//! the non-default ones as K bounds preemptions (unbounded by default, as in CHESS).
//!
//! # Branches
//! Run 1 follows the default at every step: the *default schedule* ([`Tree`]). Every other
//! schedule leaves it at a first step, for another thread; each such (step, thread) pair
//! is a *top-level branch*, numbered from 1 in step order and, at one step, in thread-id
//! order. Branch 0 is the default schedule itself. The numbering depends on the scenario
//! only, not on K, so branch sets ([`Branches`]: a range and a round-robin shard) split the
//! work of any K into parts whose schedule counts add up to the whole.
//!
//! # Order
//! A *part* ([`Position`]) is the set of schedules of one branch with exactly p
//! preemptions. Parts run in the order p = 0, 1, …, K and, within one p, by ascending
//! branch number: every schedule with p preemptions runs before any with p + 1 (CHESS's
//! order: shallow bugs first). Within a part the subtree is searched depth first, default
//! first, restricted to at most p preemptions; a run whose schedule has fewer than p
//! preemptions was counted in an earlier part and is a *revisit*: it costs a run, it is
//! not counted again. Revisits are the schedules with fewer preemptions, a small fraction
//! of those with p.
//!
//! # Invariants
//! - Runs are deterministic: the same choices give the same runnable sets. Every run
//!   checks this over the prefix it follows; a difference stops the search with an error
//!   ([`ExhaustiveResult::error`]) rather than miscounting.
//! - Every schedule of the selected branches with at most K preemptions (and at most F
//!   free choices, if bounded) runs, and is counted exactly once: in the part of its
//!   branch and preemption count.
//! - A part is complete only when its search ended; a search stopped by a budget resumes
//!   at the first incomplete part ([`ExhaustiveResult::resume`]) and runs it again from
//!   its beginning.
//! - "Exhausted" covers irpkit's scheduling points (kernel primitives), not every memory
//!   access between them: code between two points runs without interleaving.

use core::fmt;
use core::ops::Range;
use core::time::Duration;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::{Exploration, Limits, Outcome, Scenario, Strategy, Violation};
use crate::sched;

/// A set of top-level branches: a range of branch numbers, optionally cut to one shard of
/// a round-robin split (branch `b` belongs to shard `b % count`).
///
/// Early branches hold much more than late ones (they leave the default schedule earlier,
/// so more of the run is left to vary): for parts of similar size, split by shards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branches {
    /// Branch numbers (`end` may lie past the last branch: `u64::MAX` means to the end).
    pub range: Range<u64>,
    /// Only the branches `b` with `b % shard.count == shard.index`.
    pub shard: Option<Shard>,
}

/// One shard of a round-robin split of the branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: u64,
    /// The number of shards (at least 1).
    pub count: u64,
}

impl Branches {
    /// Every branch.
    pub fn all() -> Self {
        Branches { range: 0..u64::MAX, shard: None }
    }

    /// Whether branch `b` is in the set.
    pub fn contains(&self, b: u64) -> bool {
        self.range.contains(&b) && self.shard.is_none_or(|s| s.count > 0 && b % s.count == s.index)
    }
}

impl Default for Branches {
    fn default() -> Self {
        Branches::all()
    }
}

/// A part of the search: the schedules of branch `branch` with exactly `preemptions`
/// preemptions. Written `P:B` (e.g. `2:37`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The number of preemptions (the round of iterative context bounding).
    pub preemptions: u32,
    /// The top-level branch.
    pub branch: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.preemptions, self.branch)
    }
}

impl core::str::FromStr for Position {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (p, b) =
            s.split_once(':').ok_or_else(|| format!("`{s}` is not a position: write PREEMPTIONS:BRANCH, e.g. 2:37"))?;
        let preemptions = p.trim().parse().map_err(|_| format!("`{p}` in `{s}` is not a number of preemptions"))?;
        let branch = b.trim().parse().map_err(|_| format!("`{b}` in `{s}` is not a branch number"))?;
        Ok(Position { preemptions, branch })
    }
}

/// A top-level branch: where it leaves the default schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Branch {
    /// The step at which it leaves the default schedule (`None` for branch 0, the default
    /// schedule itself).
    pub step: Option<u64>,
    /// The thread it runs there instead of the default one (branch 0: the default's).
    pub thread: usize,
    /// Whether leaving there is a preemption (then the branch has no schedule with 0).
    pub preemption: bool,
}

/// One step of a run as the scheduler offered it, and the alternative taken.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    /// Runnable threads, in id order.
    runnable: Vec<usize>,
    /// The thread that reached the point.
    current: usize,
    /// The non-preemptive default.
    default: usize,
    /// The alternative taken: 0 is the default, `i > 0` the `i`-th other runnable thread.
    alt: usize,
}

impl Node {
    /// The number of alternatives.
    fn alternatives(&self) -> usize {
        self.runnable.len()
    }

    /// The thread of alternative `alt`.
    fn thread(&self, alt: usize) -> usize {
        if alt == 0 {
            self.default
        } else {
            // The other runnable threads in id order, the default left out.
            self.runnable.iter().copied().filter(|&t| t != self.default).nth(alt - 1).unwrap_or(self.default)
        }
    }

    /// The thread taken.
    fn chosen(&self) -> usize {
        self.thread(self.alt)
    }

    /// Whether a non-default alternative is a preemption (the current thread could go on).
    fn preempts(&self) -> bool {
        self.runnable.contains(&self.current)
    }

    /// Preemptions the alternative taken costs.
    fn cost(&self) -> u32 {
        u32::from(self.alt > 0 && self.preempts())
    }

    /// Free choices (non-default, not preemptions) the alternative taken costs.
    fn free_cost(&self) -> u32 {
        u32::from(self.alt > 0 && !self.preempts())
    }
}

/// The strategy of every exhaustive run: follows `prefix` (a thread per step), then the
/// default; logs every step as offered.
struct Recorder {
    prefix: Vec<usize>,
    log: Arc<Mutex<Vec<Node>>>,
}

impl sched::Strategy for Recorder {
    fn new_thread(&mut self, _id: usize) {}

    fn choose(&mut self, c: sched::Choice<'_>) -> usize {
        let node = Node { runnable: c.runnable.to_vec(), current: c.current, default: c.default, alt: 0 };
        let mut log = match self.log.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        // Steps are consecutive from 0; the log's length is the step (checked by the
        // caller against the prefix, whose choices are indexed the same way).
        let pick = if c.step == log.len() as u64 { self.prefix.get(log.len()).copied() } else { None };
        log.push(node);
        pick.unwrap_or(c.default)
    }
}

/// One run following `prefix`, its steps as offered, and its outcome.
fn run(
    scenario: &Arc<dyn Scenario>,
    prefix: &[usize],
    label: Strategy,
    branch: u64,
    limits: &Limits,
) -> (Outcome, Vec<Node>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let recorder = Box::new(Recorder { prefix: prefix.to_vec(), log: log.clone() });
    let outcome = super::run_strategy(scenario, recorder, label, branch, limits);
    let nodes = match Arc::try_unwrap(log) {
        Ok(m) => m.into_inner().unwrap_or_else(|p| p.into_inner()),
        // A thread of an abandoned run may linger with the strategy: copy the log.
        Err(shared) => shared.lock().map(|g| g.clone()).unwrap_or_else(|p| p.into_inner().clone()),
    };
    (outcome, nodes)
}

/// Checks that `nodes` (a new run's steps) offered what `path` (the steps recorded before)
/// did over the first `len` steps, and took `path`'s choices there.
fn check_prefix(path: &[Node], nodes: &[Node], len: usize) -> Result<(), String> {
    if nodes.len() < len {
        return Err(format!(
            "the run ended after {} scheduling points, where the same choices took at least {len} before",
            nodes.len()
        ));
    }
    for (i, (was, now)) in path.iter().zip(nodes).take(len).enumerate() {
        if was.runnable != now.runnable || was.current != now.current || was.default != now.default {
            return Err(format!(
                "at scheduling point {i}, after the same choices, thread {} offered runnable threads {:?} \
                 (default {}) where thread {} had offered {:?} (default {})",
                now.current, now.runnable, now.default, was.current, was.runnable, was.default
            ));
        }
    }
    Ok(())
}

/// The top of a scenario's schedule tree: the default schedule, its steps and its
/// numbered top-level branches. One run makes it; parts ([`explore_part`]) start from it.
#[derive(Debug, Clone)]
pub struct Tree {
    /// The default schedule's run (branch 0's only schedule).
    pub default: Outcome,
    /// The top-level branches, indexed by number (branch 0 is the default schedule).
    pub branches: Vec<Branch>,
    nodes: Vec<Node>,
    /// What the runs' schedules are labelled with.
    label: Strategy,
    /// The most free choices a schedule may make (`None`: no limit).
    max_free_choices: Option<u32>,
}

impl Tree {
    /// Runs the default schedule of `scenario` and numbers the branches off it. The
    /// parts searched from it keep to at most `max_free_choices` free choices (see
    /// [`ExhaustiveOptions::max_free_choices`]); `max_preemptions` only labels the
    /// schedules ([`Strategy::Exhaustive`]), each part has its own number.
    pub fn new(
        scenario: &Arc<dyn Scenario>,
        max_preemptions: u32,
        max_free_choices: Option<u32>,
        limits: &Limits,
    ) -> Tree {
        let label = Strategy::Exhaustive { max_preemptions, max_free_choices };
        let (default, nodes) = run(scenario, &[], label, 0, limits);
        let mut branches =
            vec![Branch { step: None, thread: nodes.first().map_or(0, |n| n.default), preemption: false }];
        for (step, node) in nodes.iter().enumerate() {
            for alt in 1..node.alternatives() {
                branches.push(Branch {
                    step: Some(step as u64),
                    thread: node.thread(alt),
                    preemption: node.preempts(),
                });
            }
        }
        Tree { default, branches, nodes, label, max_free_choices }
    }

    /// The number of top-level branches (the default schedule's included).
    pub fn len(&self) -> u64 {
        self.branches.len() as u64
    }

    /// Always false: branch 0, the default schedule, exists.
    pub fn is_empty(&self) -> bool {
        self.branches.is_empty()
    }

    /// The scheduling points of the default schedule.
    pub fn steps(&self) -> u64 {
        self.nodes.len() as u64
    }
}

/// What one part's search did.
#[derive(Debug, Clone, Default)]
pub struct PartResult {
    /// Schedules of the part run (each has exactly the part's preemptions).
    pub schedules: u64,
    /// Runs made, revisits included.
    pub runs: u64,
    /// Runs whose schedule has fewer preemptions than the part's: counted in another part.
    pub revisits: u64,
    /// Scheduling points taken over those runs.
    pub steps: u64,
    /// Whether the search of the part ended (false: stopped by `keep_going`, a violation
    /// or an error).
    pub complete: bool,
    /// The first violation, on the run that found it.
    pub found: Option<Violation>,
    /// The runs were not deterministic: what differed.
    pub error: Option<String>,
    /// Where the cancels of its runs landed.
    pub coverage: super::coverage::CancelCoverage,
}

/// Searches part `part` of `tree`'s scenario: every schedule of branch `part.branch` with
/// exactly `part.preemptions` preemptions, depth first (see the module's documentation).
///
/// `keep_going` is asked before every run, with what the part did so far; false stops the
/// part there (incomplete). Parts are independent: workers may each search their own,
/// sharing one `tree`, and add their results up.
pub fn explore_part(
    scenario: &Arc<dyn Scenario>,
    tree: &Tree,
    part: Position,
    limits: &Limits,
    keep_going: &mut dyn FnMut(&PartResult) -> bool,
) -> PartResult {
    let mut result = PartResult::default();
    let Some(branch) = usize::try_from(part.branch).ok().and_then(|b| tree.branches.get(b)) else {
        // No such branch: nothing to search.
        result.complete = true;
        return result;
    };
    let Some(step) = branch.step else {
        // Branch 0: the default schedule, run when the tree was made; it has no preemption.
        if part.preemptions == 0 {
            result.schedules = 1;
            result.found = tree.default.violation.clone();
        }
        result.complete = result.found.is_none();
        return result;
    };
    let free_limit = tree.max_free_choices.unwrap_or(u32::MAX);
    if u32::from(branch.preemption) > part.preemptions || u32::from(!branch.preemption) > free_limit {
        result.complete = true;
        return result;
    }
    let step = step as usize;
    let mut path: Vec<Node> = tree.nodes[..=step].to_vec();
    let fork = &mut path[step];
    fork.alt = (1..fork.alternatives()).find(|&a| fork.thread(a) == branch.thread).unwrap_or(0);
    // Steps up to the fork are fixed for this branch; the search varies those after it.
    let base = step + 1;
    let mut fixed = base;
    loop {
        if !keep_going(&result) {
            return result;
        }
        let prefix: Vec<usize> = path[..fixed].iter().map(Node::chosen).collect();
        let (outcome, nodes) = run(scenario, &prefix, tree.label, part.branch, limits);
        result.runs += 1;
        result.steps += outcome.steps;
        result.coverage.merge(&outcome.coverage);
        if let Err(e) = check_prefix(&path, &nodes, fixed) {
            result.error = Some(format!(
                "the scenario `{}` is not deterministic: {e} (branch {}, {} choices followed)",
                scenario.name(),
                part.branch,
                fixed
            ));
            return result;
        }
        path.truncate(fixed);
        path.extend(nodes.into_iter().skip(fixed));
        let preemptions: u32 = path.iter().map(Node::cost).sum();
        if preemptions == part.preemptions {
            result.schedules += 1;
        } else {
            result.revisits += 1;
        }
        if let Some(v) = outcome.violation {
            result.found = Some(v);
            return result;
        }
        // The deepest step after the fork with an alternative left within the bounds
        // (preemptions and free choices made before each step).
        let mut before = Vec::with_capacity(path.len());
        let (mut p, mut f) = (0, 0);
        for n in &path {
            before.push((p, f));
            p += n.cost();
            f += n.free_cost();
        }
        let next = (base..path.len()).rev().find(|&j| {
            let n = &path[j];
            let (p, f) = before[j];
            n.alt + 1 < n.alternatives() && if n.preempts() { p < part.preemptions } else { f < free_limit }
        });
        let Some(j) = next else {
            result.complete = true;
            return result;
        };
        path[j].alt += 1;
        fixed = j + 1;
    }
}

/// Settings of an exhaustive exploration.
#[derive(Debug, Clone)]
pub struct ExhaustiveOptions {
    /// K: the most preemptions a schedule may have.
    pub max_preemptions: u32,
    /// The most free choices a schedule may make: non-default choices where the current
    /// thread could not go on (it waits or ended). `None` (the default) leaves them free,
    /// as in CHESS; but every wait with several threads ready multiplies the schedules,
    /// so scenarios with many waits need a limit (0: the lowest-numbered ready thread
    /// always runs after a wait, only preemptions vary).
    pub max_free_choices: Option<u32>,
    /// The top-level branches to search.
    pub branches: Branches,
    /// Skip the parts before this one (continuing a search a budget stopped).
    pub resume: Option<Position>,
    /// Stop after this many runs (revisits and the default schedule's run included).
    pub max_runs: Option<u64>,
    /// Stop after this much real time.
    pub time_budget: Option<Duration>,
    /// Budgets of each run.
    pub limits: Limits,
    /// Shrink the violation found ([`super::shrink`]).
    pub shrink: bool,
    /// Workers searching parts side by side (0: one per core; 1, the default: the
    /// calling thread alone). The parts are added up in search order, so the result —
    /// counts, exhaustion, the violation and where it was found — is the same for any
    /// number of workers. With `max_runs` the search runs on the calling thread alone, so
    /// that it stops after exactly that many runs; a `time_budget` stop may leave parts
    /// past the resume point run for nothing.
    pub jobs: usize,
}

impl Default for ExhaustiveOptions {
    fn default() -> Self {
        ExhaustiveOptions {
            max_preemptions: 2,
            max_free_choices: None,
            branches: Branches::all(),
            resume: None,
            max_runs: None,
            time_budget: None,
            limits: Limits::default(),
            shrink: true,
            jobs: 1,
        }
    }
}

/// Why an exhaustive exploration stopped before exhausting its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// [`ExhaustiveOptions::max_runs`] runs were made.
    Runs,
    /// [`ExhaustiveOptions::time_budget`] passed.
    Time,
    /// A violation was found.
    Violation,
    /// The scenario's runs were not deterministic.
    Nondeterministic,
}

/// Progress of an exhaustive exploration, passed to the progress callback.
#[derive(Debug, Clone, Copy)]
pub struct ExhaustiveProgress {
    /// Runs made so far (revisits and the default schedule's run included).
    pub runs: u64,
    /// Distinct schedules counted so far.
    pub schedules: u64,
    /// The part being searched.
    pub at: Position,
    /// The top-level branches of the scenario.
    pub branches: u64,
    /// K.
    pub max_preemptions: u32,
    /// Real time since the start.
    pub elapsed: Duration,
}

/// What an exhaustive exploration found.
#[derive(Debug, Clone)]
pub struct ExhaustiveResult {
    /// K.
    pub max_preemptions: u32,
    /// The limit on free choices, if any.
    pub max_free_choices: Option<u32>,
    /// The scenario's top-level branches (the default schedule's included).
    pub branches_total: u64,
    /// The branches selected ([`ExhaustiveOptions::branches`]) among them.
    pub branches_selected: u64,
    /// Scheduling points of the default schedule.
    pub default_steps: u64,
    /// Distinct schedules run in the parts searched (complete or not), each counted once.
    pub schedules: u64,
    /// `schedules` by number of preemptions (index 0 to K).
    pub by_preemptions: Vec<u64>,
    /// Schedules of the parts that were completed: what a resumed search does not count
    /// again (the rest of `schedules` lies in the part it resumes at).
    pub schedules_complete: u64,
    /// Runs made: the schedules, revisits (see the module's documentation) and the
    /// default schedule's run.
    pub runs: u64,
    /// Runs of schedules counted in another part (iterative bounding's revisits).
    pub revisits: u64,
    /// Scheduling points taken over all runs.
    pub steps: u64,
    /// Real time spent exploring (not counting shrinking).
    pub elapsed: Duration,
    /// Every schedule of the selected branches with at most K preemptions ran (from
    /// [`ExhaustiveOptions::resume`] on, if given), without a violation.
    pub exhausted: bool,
    /// Why the search stopped early, if it did.
    pub stopped: Option<Stop>,
    /// After a budget stop: the first part not completed, where to resume.
    pub resume: Option<Position>,
    /// The first violation, as found.
    pub found: Option<Violation>,
    /// The part it was found in.
    pub found_at: Option<Position>,
    /// The run that found it (1-based, counting every run).
    pub found_after: Option<u64>,
    /// The first violation, shrunk (when shrinking was asked for).
    pub shrunk: Option<Violation>,
    /// Replays shrinking took.
    pub shrink_replays: usize,
    /// Why the runs were found not deterministic ([`Stop::Nondeterministic`]).
    pub error: Option<String>,
    /// Where the cancels landed, over every run.
    pub coverage: super::coverage::CancelCoverage,
}

impl ExhaustiveResult {
    /// The result of a search of `tree` under `options` before any part: the tree's run
    /// (the default schedule) counted as a run.
    pub fn new(tree: &Tree, options: &ExhaustiveOptions) -> Self {
        let k = options.max_preemptions;
        ExhaustiveResult {
            max_preemptions: k,
            max_free_choices: options.max_free_choices,
            branches_total: tree.len(),
            branches_selected: (0..tree.len()).filter(|&b| options.branches.contains(b)).count() as u64,
            default_steps: tree.steps(),
            schedules: 0,
            by_preemptions: vec![0; k as usize + 1],
            schedules_complete: 0,
            runs: 1,
            revisits: 0,
            steps: tree.default.steps,
            elapsed: Duration::ZERO,
            exhausted: false,
            stopped: None,
            resume: None,
            found: None,
            found_at: None,
            found_after: None,
            shrunk: None,
            shrink_replays: 0,
            error: None,
            coverage: tree.default.coverage.clone(),
        }
    }

    /// Adds what part `at` did; `budget` says why it was stopped if it is incomplete
    /// without a violation or an error. Parts are added in search order ([`parts`]).
    /// Returns whether the search goes on: false after a violation, an error or an
    /// incomplete part (then `stopped`, and `resume` or `found`, say why and where).
    pub fn add(&mut self, at: Position, part: PartResult, budget: Option<Stop>) -> bool {
        self.runs += part.runs;
        self.coverage.merge(&part.coverage);
        self.revisits += part.revisits;
        self.steps += part.steps;
        self.schedules += part.schedules;
        if let Some(n) = self.by_preemptions.get_mut(at.preemptions as usize) {
            *n += part.schedules;
        }
        if part.complete {
            self.schedules_complete += part.schedules;
            return true;
        }
        if let Some(v) = part.found {
            self.found = Some(v);
            self.found_at = Some(at);
            // The default schedule's violation was found by the first run.
            self.found_after = Some(if at.branch == 0 { 1 } else { self.runs });
            self.stopped = Some(Stop::Violation);
        } else if let Some(e) = part.error {
            self.error = Some(e);
            self.stopped = Some(Stop::Nondeterministic);
        } else {
            self.stopped = Some(budget.unwrap_or(Stop::Runs));
            self.resume = Some(at);
        }
        false
    }

    /// The result in the shape of a seeded exploration's (schedules: the distinct ones).
    pub fn exploration(&self) -> Exploration {
        Exploration {
            schedules: self.schedules,
            steps: self.steps,
            elapsed: self.elapsed,
            found: self.found.clone(),
            found_after: self.found_after,
            shrunk: self.shrunk.clone(),
            shrink_replays: self.shrink_replays,
            coverage: self.coverage.clone(),
        }
    }
}

/// The parts a search of `tree` under `options` goes through, in search order: rounds
/// of 0 to K preemptions, each over the selected branches in ascending order, from
/// `options.resume` on; parts known to be empty without a run (a branch whose first
/// choice alone is over a bound, branch 0 beyond round 0) are left out.
pub fn parts(tree: &Tree, options: &ExhaustiveOptions) -> Vec<Position> {
    let free_limit = options.max_free_choices.unwrap_or(u32::MAX);
    let mut out = Vec::new();
    for preemptions in 0..=options.max_preemptions {
        for (b, branch) in tree.branches.iter().enumerate() {
            let at = Position { preemptions, branch: b as u64 };
            let empty = match branch.step {
                None => preemptions > 0,
                Some(_) => u32::from(branch.preemption) > preemptions || u32::from(!branch.preemption) > free_limit,
            };
            if !empty && options.branches.contains(at.branch) && options.resume.is_none_or(|from| at >= from) {
                out.push(at);
            }
        }
    }
    out
}

/// Explores every schedule of `scenario` with at most `options.max_preemptions`
/// preemptions (and `options.max_free_choices` free choices) in the selected branches,
/// part by part in iterative-context-bounding order ([`parts`]), until they are
/// exhausted, a violation is found (and shrunk if asked) or a budget stops it.
/// `progress` is called before every run.
pub fn explore(
    scenario: &Arc<dyn Scenario>,
    options: &ExhaustiveOptions,
    mut progress: impl FnMut(ExhaustiveProgress),
) -> ExhaustiveResult {
    let start = Instant::now();
    let tree = Tree::new(scenario, options.max_preemptions, options.max_free_choices, &options.limits);
    let mut r = ExhaustiveResult::new(&tree, options);
    let jobs = if options.max_runs.is_some() { 1 } else { super::effective_jobs(options.jobs) };
    if jobs > 1 {
        explore_side_by_side(scenario, options, &tree, &mut r, jobs, start, &mut progress);
    } else {
        explore_in_order(scenario, options, &tree, &mut r, start, &mut progress);
    }
    r.exhausted = r.stopped.is_none();
    r.elapsed = start.elapsed();
    if let (Some(v), true) = (&r.found, options.shrink) {
        let (s, n) = super::shrink(scenario, v, &options.limits);
        r.shrunk = Some(s);
        r.shrink_replays = n;
    }
    r
}

/// The parts one after the other, on the calling thread.
fn explore_in_order(
    scenario: &Arc<dyn Scenario>,
    options: &ExhaustiveOptions,
    tree: &Tree,
    r: &mut ExhaustiveResult,
    start: Instant,
    progress: &mut dyn FnMut(ExhaustiveProgress),
) {
    for at in parts(tree, options) {
        let (runs_before, schedules_before) = (r.runs, r.schedules);
        let mut budget = None;
        let part = explore_part(scenario, tree, at, &options.limits, &mut |so_far| {
            let runs = runs_before + so_far.runs;
            progress(ExhaustiveProgress {
                runs,
                schedules: schedules_before + so_far.schedules,
                at,
                branches: tree.len(),
                max_preemptions: options.max_preemptions,
                elapsed: start.elapsed(),
            });
            if options.max_runs.is_some_and(|m| runs >= m) {
                budget = Some(Stop::Runs);
            } else if options.time_budget.is_some_and(|t| start.elapsed() >= t) {
                budget = Some(Stop::Time);
            }
            budget.is_none()
        });
        if !r.add(at, part, budget) {
            break;
        }
    }
}

/// The parts shared out to `jobs` workers, taken in search order; added up in that order
/// once all are done. A part that ends the search (a violation, an error, a budget) stops
/// every worker from taking a later one.
fn explore_side_by_side(
    scenario: &Arc<dyn Scenario>,
    options: &ExhaustiveOptions,
    tree: &Tree,
    r: &mut ExhaustiveResult,
    jobs: usize,
    start: Instant,
    progress: &mut dyn FnMut(ExhaustiveProgress),
) {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    let list = parts(tree, options);
    let next = AtomicUsize::new(0);
    // The first part (in search order) that ended the search, `usize::MAX`: none yet.
    let stop_at = AtomicUsize::new(usize::MAX);
    let (runs, schedules) = (AtomicU64::new(r.runs), AtomicU64::new(r.schedules));
    // Each part's result, and why a budget stopped it, by its place in `list`.
    type Slot = std::sync::Mutex<Option<(PartResult, Option<Stop>)>>;
    let results: Vec<Slot> = list.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let working = AtomicUsize::new(jobs);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= list.len() || i > stop_at.load(Ordering::Acquire) {
                        break;
                    }
                    let mut budget = None;
                    let (mut counted_runs, mut counted_schedules) = (0, 0);
                    let part = explore_part(scenario, tree, list[i], &options.limits, &mut |so_far| {
                        runs.fetch_add(so_far.runs - counted_runs, Ordering::Relaxed);
                        schedules.fetch_add(so_far.schedules - counted_schedules, Ordering::Relaxed);
                        (counted_runs, counted_schedules) = (so_far.runs, so_far.schedules);
                        if options.max_runs.is_some_and(|m| runs.load(Ordering::Relaxed) >= m) {
                            budget = Some(Stop::Runs);
                        } else if options.time_budget.is_some_and(|t| start.elapsed() >= t) {
                            budget = Some(Stop::Time);
                        }
                        // A later part than one that ended the search is of no use.
                        budget.is_none() && i <= stop_at.load(Ordering::Acquire)
                    });
                    runs.fetch_add(part.runs - counted_runs, Ordering::Relaxed);
                    schedules.fetch_add(part.schedules - counted_schedules, Ordering::Relaxed);
                    if !part.complete {
                        stop_at.fetch_min(i, Ordering::AcqRel);
                    }
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some((part, budget));
                }
                working.fetch_sub(1, Ordering::AcqRel);
            });
        }
        // The caller reports progress while the workers search.
        while working.load(Ordering::Acquire) > 0 {
            std::thread::sleep(Duration::from_millis(50));
            let i = next.load(Ordering::Relaxed).min(list.len().saturating_sub(1));
            progress(ExhaustiveProgress {
                runs: runs.load(Ordering::Relaxed),
                schedules: schedules.load(Ordering::Relaxed),
                at: list.get(i).copied().unwrap_or(Position { preemptions: 0, branch: 0 }),
                branches: tree.len(),
                max_preemptions: options.max_preemptions,
                elapsed: start.elapsed(),
            });
        }
    });
    for (at, slot) in list.iter().zip(results) {
        let Some((part, budget)) = slot.into_inner().unwrap_or_else(|p| p.into_inner()) else {
            // Not taken: a part before it ended the search (and was added below).
            break;
        };
        // A part stopped only because an earlier one ended the search never comes here:
        // the earlier one's `add` returns false first.
        if !r.add(*at, part, budget) {
            break;
        }
    }
}
