//! The explorer against the buggy-driver catalog: every bug is found within a fixed
//! budget from several seed ranges, with one of its rules; its shrunk schedule replays to
//! the same violation, identically twice; the correct twins survive many schedules.

mod common;

use irpkit::explore::{self, Limits, Options, Outcome};
use irpkit_samples::buggy;

/// Schedules each seed range may take to find a bug.
const BUDGET: u64 = 500;
/// Seed ranges the search starts from.
const STARTS: [u64; 3] = [0, 10_000, 20_000];

fn trace_key(o: &Outcome) -> Vec<(usize, &'static str, Option<u64>)> {
    o.trace.iter().map(|s| (s.thread, s.what, s.irp)).collect()
}

#[test]
fn explore_finds_every_catalog_bug_and_replays_it() {
    let limits = Limits::default();
    for entry in buggy::catalog() {
        let scenario = entry.scenario();
        for start in STARTS {
            let options = Options { seeds: start..start + BUDGET, shrink: start == 0, ..Options::default() };
            let found = explore::explore(&scenario, &options, |_| {});
            let v = found
                .found
                .as_ref()
                .unwrap_or_else(|| panic!("{}: no violation in {BUDGET} schedules from seed {start}", entry.name));
            let sig = v.kind.signature();
            assert!(
                entry.rules.contains(&sig.as_str()),
                "{}: found {sig}, expected one of {:?}",
                entry.name,
                entry.rules
            );
            if start != 0 {
                continue;
            }
            let shrunk = found.shrunk.expect("shrinking was asked for");
            assert_eq!(shrunk.kind.signature(), sig, "{}: shrinking keeps the violation", entry.name);
            assert!(shrunk.schedule.decisions.len() <= v.schedule.decisions.len());
            let a = explore::replay(&scenario, &shrunk.schedule, &limits);
            let b = explore::replay(&scenario, &shrunk.schedule, &limits);
            for o in [&a, &b] {
                let got = o.violation.as_ref().map(|v| v.kind.signature());
                assert_eq!(got.as_deref(), Some(sig.as_str()), "{}: replay reproduces it", entry.name);
            }
            assert_eq!(trace_key(&a), trace_key(&b), "{}: two replays, one interleaving", entry.name);
            assert!(!a.trace.is_empty());
        }
    }
}

/// The correct twins report nothing over many schedules (more with IRPKIT_EXPLORE_SCHEDULES).
#[test]
fn explore_correct_twins_stay_clean() {
    common::assert_explored_clean(buggy::correct(), 3_000);
}
