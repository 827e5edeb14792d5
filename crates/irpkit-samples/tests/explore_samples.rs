//! The explorer against the safe-API sample drivers: each sample's workload (reads on two
//! file objects, CancelIoEx, handle close, thread exit, the hardware racing them all) runs
//! under many schedules with no verifier report, no failed check and nothing leaked.

mod common;

use irpkit_samples::workloads;

/// Every sample survives `IRPKIT_EXPLORE_SCHEDULES` schedules (2 000 by default).
#[test]
fn explore_sample_drivers_stay_clean() {
    common::assert_explored_clean(workloads::samples().into_iter().map(|(name, _, scenario)| (name, scenario)), 2_000);
}
