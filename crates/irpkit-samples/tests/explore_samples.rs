//! The explorer against the safe-API sample drivers: each sample's workload (reads on two
//! file objects, CancelIoEx, handle close, thread exit, the hardware racing them all) runs
//! under many schedules with no verifier report, no failed check and nothing leaked.

use irpkit::explore::{self, Limits, Options};
use irpkit_samples::workloads;

/// Every sample survives `IRPKIT_EXPLORE_SCHEDULES` schedules (2 000 by default).
#[test]
fn explore_sample_drivers_stay_clean() {
    let n: u64 = std::env::var("IRPKIT_EXPLORE_SCHEDULES").ok().and_then(|s| s.parse().ok()).unwrap_or(2_000);
    for (name, _, scenario) in workloads::samples() {
        let options = Options { seeds: 0..n, shrink: false, ..Options::default() };
        let e = explore::explore(&scenario, &options, |_| {});
        assert_eq!(e.schedules, n, "{name}: every seed ran");
        if let Some(v) = &e.found {
            let replay = explore::replay(&scenario, &v.schedule, &Limits::default());
            panic!("{name}: {}\n{}", v.kind, explore::format_trace(&replay, v.at_step));
        }
    }
}
