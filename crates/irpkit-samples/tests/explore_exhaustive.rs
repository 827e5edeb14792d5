//! The bounded-exhaustive explorer on the buggy-driver catalog: each bug is found at the
//! smallest number of preemptions that shows it (with free choices left to the default),
//! with one of its rules, and its schedule replays to the same violation, identically
//! twice; the correct twins are exhausted with no violation.

use irpkit::explore::exhaustive::{self, ExhaustiveOptions, Stop};
use irpkit::explore::{self, Limits, Outcome};
use irpkit_samples::buggy;

/// Bugs and the preemptions the search needs for them with no free choice: the first
/// violation is found after every schedule with fewer preemptions ran clean. The ones of
/// two preemptions take a few thousand runs: only with IRPKIT_EXHAUSTIVE_DEEP set.
const BUGS: [(&str, u32); 12] = [
    ("plain-store", 0),
    ("worker-races-cleanup", 0),
    ("complete-before-clear", 0),
    ("pending-without-mark", 0),
    ("cancels-foreign-irp", 0),
    ("complete-under-lock", 0),
    ("startio-recursion", 0),
    ("leak-on-cleanup", 1),
    ("cancel-completes-current", 1),
    ("ignores-remove-entry", 1),
    ("no-cancel-recheck", 2),
    ("cancel-keeps-lock", 2),
];

fn trace_key(o: &Outcome) -> Vec<(usize, &'static str, Option<u64>)> {
    o.trace.iter().map(|s| (s.thread, s.what, s.irp)).collect()
}

#[test]
fn exhaustive_finds_catalog_bugs_at_their_fewest_preemptions_and_replays_them() {
    let deep = std::env::var_os("IRPKIT_EXHAUSTIVE_DEEP").is_some();
    let limits = Limits::default();
    for (name, needed) in BUGS {
        if needed > 1 && !deep {
            continue;
        }
        let entry = buggy::catalog().into_iter().find(|e| e.name == name).expect("a catalog entry");
        let scenario = entry.scenario();
        let options =
            ExhaustiveOptions { max_preemptions: 2, max_free_choices: Some(0), shrink: false, ..Default::default() };
        let r = exhaustive::explore(&scenario, &options, |_| {});
        assert_eq!(r.stopped, Some(Stop::Violation), "{name}: {r:?}");
        let v = r.found.as_ref().unwrap();
        let sig = v.kind.signature();
        assert!(entry.rules.contains(&sig.as_str()), "{name}: found {sig}, expected one of {:?}", entry.rules);
        let at = r.found_at.unwrap();
        assert_eq!(at.preemptions, needed, "{name}: found in part {at}");
        assert_eq!(v.schedule.preemptions() as u32, needed, "{name}");
        // Every schedule with fewer preemptions ran before, clean.
        assert!(r.by_preemptions[..needed as usize].iter().all(|&n| n > 0), "{name}: {:?}", r.by_preemptions);
        assert!(r.schedules_complete < r.schedules, "{name}: the violation's part is left incomplete");
        let a = explore::replay(&scenario, &v.schedule, &limits);
        let b = explore::replay(&scenario, &v.schedule, &limits);
        for o in [&a, &b] {
            let got = o.violation.as_ref().map(|v| v.kind.signature());
            assert_eq!(got.as_deref(), Some(sig.as_str()), "{name}: the replay reproduces it");
        }
        assert_eq!(trace_key(&a), trace_key(&b), "{name}: two replays, one interleaving");
    }
}

/// The correct twins: every schedule with at most one preemption (and no free choice) runs
/// without a violation; there is one such schedule per preemptible alternative of the
/// default schedule, plus the default one.
#[test]
fn exhaustive_exhausts_the_correct_twins() {
    for (name, scenario) in buggy::correct() {
        let options = ExhaustiveOptions { max_preemptions: 1, max_free_choices: Some(0), ..Default::default() };
        let r = exhaustive::explore(&scenario, &options, |_| {});
        if let Some(v) = &r.found {
            let replay = explore::replay(&scenario, &v.schedule, &Limits::default());
            panic!("{name}: {}\n{}", v.kind, explore::format_trace(&replay, v.at_step));
        }
        assert!(r.exhausted, "{name}: {r:?}");
        assert_eq!(r.by_preemptions[0], 1, "{name}");
        assert!(r.by_preemptions[1] > 50 && r.by_preemptions[1] < r.branches_total, "{name}: {:?}", r.by_preemptions);
        assert_eq!(r.runs, r.schedules, "{name}: no revisit with at most one preemption and no free choice");
    }
}
