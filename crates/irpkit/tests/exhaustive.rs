//! The bounded-exhaustive explorer on purpose-made scenarios whose schedules are counted
//! by hand: the counts, the free-choice bound, the branch split, budget stops and
//! resumption, a bug only a preemption shows (found, replayed), and runs that are not
//! deterministic.
//!
//! # The threads every scenario has, and their scheduling points
//! The explorer runs a scenario on thread M (id 0), which first starts the DPC thread D
//! (id 1): a point, "thread start", at which M could go on. D, when it first runs, finds
//! no DPC and blocks (the DPC queue's idle wait) — unless M already asked it to stop, then
//! it ends. After the scenario, M sets D's stop flag, wakes it and joins it: a block, as D
//! has not ended yet (it only ends on the stop flag, set just before). M is the last
//! thread to end, which is no scheduling point. Each worker thread here does `n` points
//! of its own (KeAcquireSpinLock and KeReleaseSpinLock on a lock only it uses: never a
//! wait), then ends: a step at which it cannot go on.
//!
//! A choice is a preemption only at a point after which its thread can go on: M's thread
//! starts and the workers' own points. Everything else (blocks, ends) is a free choice.
//! With K = 0 a chosen thread runs until it blocks or ends, so only the order in which
//! threads are picked then varies; "f(state)" below counts those orders from a state.

#![cfg(not(any(loom, shuttle)))]

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use irpkit::explore::exhaustive::{self, Branches, ExhaustiveOptions, ExhaustiveResult, Position, Shard, Stop};
use irpkit::explore::{self, Limits, Scenario};
use irpkit::nt::{ke_acquire_spin_lock, ke_delay_execution_thread, ke_release_spin_lock, KSpinLock};
use irpkit::Kernel;

/// `points` scheduling points (half of them acquires, half releases) on a private lock.
fn own_points(points: usize) {
    assert!(points % 2 == 0, "points come in acquire/release pairs");
    let lock = KSpinLock::new();
    for _ in 0..points / 2 {
        let old = ke_acquire_spin_lock(&lock);
        ke_release_spin_lock(&lock, old);
    }
}

/// S1: nothing but M and D.
struct Nothing;

impl Scenario for Nothing {
    fn name(&self) -> &str {
        "nothing"
    }
    fn run(&self, _kernel: &Kernel) {}
}

/// S2: M starts one worker T of `n` points and joins it.
struct OneWorker(usize);

impl Scenario for OneWorker {
    fn name(&self) -> &str {
        "one-worker"
    }
    fn run(&self, kernel: &Kernel) {
        let n = self.0;
        kernel.spawn(move || own_points(n)).join().unwrap();
    }
}

/// S3: M starts workers A (`a` points) and B (`b` points), joins A, then B.
struct TwoWorkers(usize, usize);

impl Scenario for TwoWorkers {
    fn name(&self) -> &str {
        "two-workers"
    }
    fn run(&self, kernel: &Kernel) {
        let (a, b) = (self.0, self.1);
        let ta = kernel.spawn(move || own_points(a));
        let tb = kernel.spawn(move || own_points(b));
        ta.join().unwrap();
        tb.join().unwrap();
    }
}

fn scenario(s: impl Scenario + 'static) -> Arc<dyn Scenario> {
    Arc::new(s)
}

fn search(s: &Arc<dyn Scenario>, max_preemptions: u32, max_free_choices: Option<u32>) -> ExhaustiveResult {
    let options = ExhaustiveOptions { max_preemptions, max_free_choices, ..ExhaustiveOptions::default() };
    let r = exhaustive::explore(s, &options, |_| {});
    assert!(r.error.is_none(), "{}: {:?}", s.name(), r.error);
    assert!(r.found.is_none(), "{}: {}", s.name(), r.found.as_ref().unwrap().kind);
    assert!(r.exhausted && r.stopped.is_none() && r.resume.is_none(), "{}: {r:?}", s.name());
    assert_eq!(r.by_preemptions.iter().sum::<u64>(), r.schedules);
    assert_eq!(r.schedules_complete, r.schedules, "every part completed");
    r
}

/// S1. K = 0: M goes on at its only preemptible point (D's start); it then blocks joining
/// D, which ends: 1 schedule. With one preemption, D runs at that point instead: it
/// blocks idle, M stops it and joins it (forced from there): 1 more. No schedule has two
/// preemptions (every later point is a block or an end): 2 for any K ≥ 1.
#[test]
fn nothing_has_one_schedule_and_one_preemption() {
    let s = scenario(Nothing);
    assert_eq!(search(&s, 0, None).by_preemptions, [1]);
    assert_eq!(search(&s, 1, None).by_preemptions, [1, 1]);
    let r = search(&s, 2, None);
    assert_eq!(r.by_preemptions, [1, 1, 0]);
    // Branch 0 (the default schedule) and D at the first point.
    assert_eq!(r.branches_total, 2);
}

/// S2, by hand. M's points: p0 (start D), p1 (start T), then it blocks joining T (if T has
/// not ended), stops D and blocks joining it. T: n points, then its end.
///
/// K = 0: M runs p0, p1 and blocks at the join; D and T are ready (free choice):
/// - D: it idles; T runs alone to its end; M stops D and joins it: 1;
/// - T: it runs to its end; then M (it stops D before D ever ran: D ends at once) or D
///   first (it idles, M then stops it): 2.
///
/// So f = 3 for every n.
///
/// Exactly 1 preemption, by where it is:
/// - p0, to D: D idles; from there every choice is forced (T runs alone): 1;
/// - p1, to D: D idles; M or T next (free): 2;
/// - p1, to T: T runs to its end (M and D ready at its points, no budget left); M or D
///   next: 2;
/// - T's n points in the 0-preemption run where T was picked while D was still fresh:
///   to D, which idles; T alone from there: n (in the other run D idled first and T has
///   no one to yield to).
///
/// That is n + 5, n + 8 with K ≤ 1.
///
/// Exactly 2: a second preemption after each first one:
/// - after p0 → D: at p1 to T (D idle, M ready), then forced: 1;
/// - after p1 → D: at T's n points while M has not yet blocked, to M, which blocks at the
///   join, T alone then: n;
/// - after p1 → T: at T's n points, to M (it blocks at the join: D fresh, T ready: 3
///   orders) or to D (it idles: M and T ready: 2 orders): 5n;
/// - after a preemption inside T: T runs alone: 0.
///
/// That is 6n + 1, 7n + 9 with K ≤ 2.
#[test]
fn one_worker_counts_match_the_hand_count() {
    for n in [2usize, 4, 6] {
        let s = scenario(OneWorker(n));
        let n = n as u64;
        assert_eq!(search(&s, 0, None).by_preemptions, [3], "n = {n}");
        assert_eq!(search(&s, 1, None).by_preemptions, [3, n + 5], "n = {n}");
        let r = search(&s, 2, None);
        assert_eq!(r.by_preemptions, [3, n + 5, 6 * n + 1], "n = {n}");
        assert_eq!(r.schedules, 7 * n + 9);
    }
}

/// S3, by hand. M: p0 (start D), p1 (start A), p2 (start B), join A, join B, stop D,
/// join D. Write a state as [M, D, A, B] with M ∈ {WA: waits for A, JB: ready, about to
/// join B (A ended), WB: waits for B, X: ready, about to stop D (A and B ended)}, D ∈
/// {F: fresh, I: idle}, A, B ∈ {L: live, E: ended}. K = 0 orders from each state:
/// - [X,I] = 1 (M stops D, D ends); [X,F] = 2 (M first, or D idles first);
/// - [WB,I,E,L] = 1; [WB,F,E,L] = [WB,I] + [X,F] = 3 (D or B first);
/// - [JB,I,E,L] = [WB,I] + [X,I] = 2; [JB,F,E,L] = [WB,F] + [JB,I] + [X,F] = 7;
/// - [WA,I,L,E] = 1; [WA,F,L,E] = [WA,I,L,E] + [X,F] = 3;
/// - [WA,I,L,L] = [JB,I] (A first) + [WA,I,L,E] (B first) = 3;
/// - [WA,F,L,L] = [WA,I,L,L] + [JB,F] + [WA,F,L,E] = 3 + 7 + 3 = 13.
///
/// M runs p0 to p2 and waits for A: [WA,F,L,L], so K = 0 gives 13 for every a and b.
///
/// Exactly 1 preemption: at M's points (a and b do not matter there, the preempted or
/// chosen thread then runs to its block or end):
/// - p0 → D: D idles, M runs p1, p2 and waits: [WA,I,L,L] = 3;
/// - p1 → D: D idles; M (p2, waits: [WA,I,L,L] = 3) or A (ends; M starts B, waits for
///   it: [WB,I] = 1): 4. p1 → A: A ends; M ([WB,F] = 3) or D (idles, then [WB,I] = 1): 4;
/// - p2 → D: D idles; M (waits: 3), A (ends: [JB,I] = 2) or B (ends: M waits for A, 1,
///   or A ends, 1: 2): 7. p2 → A: A ends: [JB,F] = 7. p2 → B: B ends; M (waits:
///   [WA,F,L,E] = 3), D (idles: 2) or A (ends: [X,F] = 2): 7;
///
/// 3 + 8 + 21 = 32. Then at the workers' points, in each 0-preemption run, each point
/// offering the other ready threads, the orders after yielding to each:
/// - A picked in [WA,F,L,L] (D and B ready): to D (idles: [WA,I,L,L] = 3) or B (ends:
///   [WA,F,L,E] = 3): 6 per point; A picked in [WA,I,L,L]: to B (ends, A then M: 1): 1;
///   A picked in [WA,F,L,E]: to D (idles: 1): 1; A alone elsewhere: 8 per point of A;
/// - B picked in [WA,F,L,L]: to D (3) or A (ends: [JB,F] = 7): 10; in [JB,F,E,L]: to M
///   (waits: [WB,F] = 3) or D (idles: [JB,I] = 2): 5; in [WA,I,L,L]: to A ([JB,I] = 2):
///   2; in [JB,I,E,L] (reached twice: D then A first, or A then D first): to M (1) each:
///   2; in [WB,F,E,L]: to D (1): 1; 20 per point of B.
///
/// Exactly 1: 32 + 8a + 20b; K ≤ 1: 45 + 8a + 20b.
#[test]
fn two_workers_counts_match_the_hand_count() {
    for (a, b) in [(0usize, 0usize), (2, 2), (2, 4), (4, 0)] {
        let s = scenario(TwoWorkers(a, b));
        assert_eq!(search(&s, 0, None).by_preemptions, [13], "a = {a}, b = {b}");
        let r = search(&s, 1, None);
        let (a, b) = (a as u64, b as u64);
        assert_eq!(r.by_preemptions, [13, 32 + 8 * a + 20 * b], "a = {a}, b = {b}");
        assert_eq!(r.schedules, 45 + 8 * a + 20 * b);
    }
}

/// S3 with a bound on free choices, by hand. The default schedule: M runs p0 to p2 and
/// waits for A; D, A and B are ready and D (lowest id) runs: it idles; A runs its a
/// points (B ready at each) and ends; M and B are ready, M runs and waits for B; B runs
/// alone, ends; M stops D, D ends.
/// - 0 free choices: only preemptions vary, and each is followed by defaults only: one
///   schedule per preemptible alternative of the default schedule: p0 (D), p1 (D, A),
///   p2 (D, A, B), A's points (B each): 6 + a, and the default: K ≤ 1 gives 7 + a.
/// - 1 free choice and no preemption: the default, and one schedule per free
///   alternative of the default schedule: after M waits for A (A or B instead of D: 2),
///   after D idles (B instead of A: 1), after A ends (B instead of M: 1): 5.
#[test]
fn free_choice_bound_matches_the_hand_count() {
    for a in [0usize, 2, 4] {
        let s = scenario(TwoWorkers(a, 2));
        assert_eq!(search(&s, 0, Some(0)).by_preemptions, [1]);
        assert_eq!(search(&s, 1, Some(0)).by_preemptions, [1, 6 + a as u64], "a = {a}");
        assert_eq!(search(&s, 0, Some(1)).by_preemptions, [5], "a = {a}");
    }
}

fn options(max_preemptions: u32, branches: Branches) -> ExhaustiveOptions {
    ExhaustiveOptions { max_preemptions, branches, ..ExhaustiveOptions::default() }
}

/// The parts of a split add up to the whole: ranges and round-robin shards.
#[test]
fn branch_splits_add_up_to_the_whole() {
    let s = scenario(TwoWorkers(2, 2));
    let whole = search(&s, 1, None);
    assert_eq!(whole.schedules, 101, "45 + 8·2 + 20·2");
    let n = whole.branches_total;
    assert!(n > 4, "{n} branches");
    let count = |b: Branches| {
        let r = exhaustive::explore(&s, &options(1, b), |_| {});
        assert!(r.exhausted, "{r:?}");
        (r.schedules, r.by_preemptions, r.branches_selected)
    };
    for cut in [1, 3, n / 2, n - 1] {
        let (x, xp, xb) = count(Branches { range: 0..cut, shard: None });
        let (y, yp, yb) = count(Branches { range: cut..u64::MAX, shard: None });
        assert_eq!(x + y, whole.schedules, "cut at {cut}");
        assert_eq!([xp[0] + yp[0], xp[1] + yp[1]], [whole.by_preemptions[0], whole.by_preemptions[1]]);
        assert_eq!(xb + yb, n);
        assert!(x > 0 && y > 0, "cut at {cut}: {x} + {y}");
    }
    let shards: Vec<(u64, Vec<u64>, u64)> =
        (0..3).map(|index| count(Branches { range: 0..u64::MAX, shard: Some(Shard { index, count: 3 }) })).collect();
    assert_eq!(shards.iter().map(|s| s.0).sum::<u64>(), whole.schedules);
    assert_eq!(shards.iter().map(|s| s.2).sum::<u64>(), n);
    // A range and a shard together: the shard's branches within the range.
    let (x, _, xb) = count(Branches { range: 2..n, shard: Some(Shard { index: 1, count: 2 }) });
    let (y, _, yb) = count(Branches { range: 2..n, shard: Some(Shard { index: 0, count: 2 }) });
    let (z, _, zb) = count(Branches { range: 0..2, shard: None });
    assert_eq!((x + y + z, xb + yb + zb), (whole.schedules, n));
}

/// Workers sharing one tree, each taking the next part, add up to the sequential search.
#[test]
fn parts_searched_by_two_workers_add_up() {
    let s = scenario(TwoWorkers(2, 2));
    let o = options(2, Branches::all());
    let whole = exhaustive::explore(&s, &o, |_| {});
    assert!(whole.exhausted);
    let tree = exhaustive::Tree::new(&s, 2, None, &o.limits);
    let parts = exhaustive::parts(&tree, &o);
    assert!(parts.windows(2).all(|w| w[0] < w[1]), "search order: by preemptions, then branch");
    assert_eq!(parts[0], Position { preemptions: 0, branch: 0 });
    let next = AtomicUsize::new(0);
    let total = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(&at) = parts.get(i) else { break };
                let r = exhaustive::explore_part(&s, &tree, at, &o.limits, &mut |_| true);
                assert!(r.complete && r.found.is_none() && r.error.is_none(), "{at}: {r:?}");
                total.fetch_add(r.schedules as usize, Ordering::SeqCst);
            });
        }
    });
    assert_eq!(total.into_inner() as u64, whole.schedules);
    fn shareable<T: Send + Sync>(_: &T) {}
    shareable(&tree);
}

/// A run budget stops the search where it says; resuming there counts the rest, and
/// the two add up to the whole. A time budget of zero stops before the first part that
/// needs a run.
#[test]
fn budget_stop_reports_where_to_resume() {
    let s = scenario(TwoWorkers(2, 2));
    let whole = search(&s, 1, None);
    for budget in [5, 20, 60] {
        let first = exhaustive::explore(
            &s,
            &ExhaustiveOptions { max_runs: Some(budget), ..options(1, Branches::all()) },
            |_| {},
        );
        assert!(!first.exhausted, "budget {budget}");
        assert_eq!(first.stopped, Some(Stop::Runs));
        assert_eq!(first.runs, budget, "the budget counts every run");
        let at = first.resume.expect("where to resume");
        assert!(first.schedules_complete <= first.schedules && first.schedules < whole.schedules);
        let rest =
            exhaustive::explore(&s, &ExhaustiveOptions { resume: Some(at), ..options(1, Branches::all()) }, |_| {});
        assert!(rest.exhausted, "resumed at {at}");
        assert_eq!(first.schedules_complete + rest.schedules, whole.schedules, "budget {budget}, resumed at {at}");
    }
    let none = exhaustive::explore(
        &s,
        &ExhaustiveOptions { time_budget: Some(std::time::Duration::ZERO), ..options(1, Branches::all()) },
        |_| {},
    );
    assert_eq!((none.exhausted, none.stopped, none.runs), (false, Some(Stop::Time), 1));
    // Part 0:0 is the default schedule, which ran to make the tree.
    assert_eq!(none.schedules_complete, 1);
    assert!(none.resume.is_some_and(|at| at > Position { preemptions: 0, branch: 0 }));
}

/// Two workers each read a shared counter, yield (a scheduling point after which they can
/// go on), and write it back plus one; M checks the sum. Only a preemption at a yield loses
/// an update, so K = 0 is exhausted clean and K = 1 finds the bug.
struct LostUpdate;

impl Scenario for LostUpdate {
    fn name(&self) -> &str {
        "lost-update"
    }
    fn run(&self, kernel: &Kernel) {
        let counter = Arc::new(AtomicU32::new(0));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let c = counter.clone();
                kernel.spawn(move || {
                    let v = c.load(Ordering::SeqCst);
                    ke_delay_execution_thread(0);
                    c.store(v + 1, Ordering::SeqCst);
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(counter.load(Ordering::SeqCst), 2, "an update was lost");
    }
}

#[test]
fn a_one_preemption_bug_is_found_in_round_one_and_replays() {
    let s = scenario(LostUpdate);
    search(&s, 0, None);
    let r =
        exhaustive::explore(&s, &ExhaustiveOptions { max_preemptions: 2, shrink: false, ..Default::default() }, |_| {});
    assert_eq!(r.stopped, Some(Stop::Violation));
    assert!(!r.exhausted && r.resume.is_none());
    let v = r.found.as_ref().expect("the lost update");
    assert!(v.kind.to_string().contains("an update was lost"), "{}", v.kind);
    let at = r.found_at.unwrap();
    assert_eq!(at.preemptions, 1, "found among the schedules of one preemption, before any of two");
    assert_eq!(r.by_preemptions[2], 0);
    assert_eq!(v.schedule.preemptions(), 1);
    assert_eq!(v.schedule.seed, at.branch, "the schedule names its branch");
    assert!(matches!(v.schedule.strategy, explore::Strategy::Exhaustive { max_preemptions: 2, .. }));
    // The decisions replay to the same violation, the same interleaving twice.
    let key = |o: &explore::Outcome| o.trace.iter().map(|s| (s.thread, s.what)).collect::<Vec<_>>();
    let a = explore::replay(&s, &v.schedule, &Limits::default());
    let b = explore::replay(&s, &v.schedule, &Limits::default());
    for o in [&a, &b] {
        assert_eq!(o.violation.as_ref().map(|x| x.kind.signature()), Some(v.kind.signature()));
    }
    assert_eq!(key(&a), key(&b));
    // The branch the schedule names finds it again on its own.
    let again = exhaustive::explore(
        &s,
        &ExhaustiveOptions {
            max_preemptions: 1,
            branches: Branches { range: at.branch..at.branch + 1, shard: None },
            shrink: false,
            ..Default::default()
        },
        |_| {},
    );
    assert_eq!(again.found.map(|x| x.schedule.decisions), Some(v.schedule.decisions.clone()));
}

/// A scenario whose threads depend on how often it ran: the search stops with an error
/// instead of miscounting.
struct Moody(AtomicUsize);

impl Scenario for Moody {
    fn name(&self) -> &str {
        "moody"
    }
    fn run(&self, kernel: &Kernel) {
        let workers = 1 + self.0.fetch_add(1, Ordering::SeqCst) % 2;
        let handles: Vec<_> = (0..workers).map(|_| kernel.spawn(|| own_points(2))).collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}

#[test]
fn runs_that_are_not_deterministic_stop_the_search() {
    let s = scenario(Moody(AtomicUsize::new(0)));
    let r = exhaustive::explore(&s, &options(1, Branches::all()), |_| {});
    assert_eq!(r.stopped, Some(Stop::Nondeterministic));
    assert!(!r.exhausted);
    let e = r.error.expect("what differed");
    assert!(e.contains("not deterministic") && e.contains("moody"), "{e}");
}

/// Two or three workers searching parts side by side add up to the search of one: the
/// same counts per preemption, the same exhaustion, the same violation at the same part.
#[test]
fn workers_side_by_side_find_what_one_finds() {
    let clean = scenario(TwoWorkers(2, 3));
    let buggy = scenario(LostUpdate);
    for (s, k) in [(&clean, 1), (&buggy, 2)] {
        let one = exhaustive::explore(
            s,
            &ExhaustiveOptions { max_preemptions: k, shrink: false, ..Default::default() },
            |_| {},
        );
        for jobs in [2, 3] {
            let many = exhaustive::explore(
                s,
                &ExhaustiveOptions { max_preemptions: k, shrink: false, jobs, ..Default::default() },
                |_| {},
            );
            assert_eq!(many.by_preemptions, one.by_preemptions, "{jobs} workers");
            assert_eq!((many.exhausted, many.stopped, many.found_at), (one.exhausted, one.stopped, one.found_at));
            assert_eq!(
                many.found.map(|v| v.schedule.decisions),
                one.found.as_ref().map(|v| v.schedule.decisions.clone())
            );
        }
    }
}
