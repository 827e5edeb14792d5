//! Helpers shared by the sample drivers' integration tests: the requester setup most of
//! them begin with, and the explorer run that checks a set of scenarios stays clean.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::sync::Arc;

use irpkit::explore::{self, Limits, Options, Scenario};
use irpkit::io::{Handle, Process, RequesterThread};
use irpkit::safe::{create_device, Device};
use irpkit::Kernel;
use irpkit_samples::pending_read::PendingRead;

/// A `PendingRead` device named "PR", opened overlapped by a new process, and one thread
/// attached to that process: what the requester tests start from. The device is shared
/// (`Arc`) so that a test may hand it to a thread that completes its requests.
///
/// Destructure it as `let Requester { dev, p, h, t } = Requester::new(&k);` so that the
/// parts drop as separate locals would (thread first, device last).
pub struct Requester {
    pub dev: Arc<Device<PendingRead>>,
    pub p: Process,
    pub h: Handle,
    pub t: RequesterThread,
}

impl Requester {
    pub fn new(k: &Kernel) -> Self {
        let dev = Arc::new(create_device(k, "PR", PendingRead::new()).unwrap());
        let p = Process::new(k);
        let h = p.open(dev.device_ref(), true).unwrap();
        let t = p.attach_thread();
        Requester { dev, p, h, t }
    }
}

/// Explores each named scenario over `IRPKIT_EXPLORE_SCHEDULES` seeds (`default_schedules`
/// when unset) without shrinking, and fails with the replayed trace at the first one that
/// does not run every seed cleanly.
pub fn assert_explored_clean(
    scenarios: impl IntoIterator<Item = (&'static str, Arc<dyn Scenario>)>,
    default_schedules: u64,
) {
    let n: u64 =
        std::env::var("IRPKIT_EXPLORE_SCHEDULES").ok().and_then(|s| s.parse().ok()).unwrap_or(default_schedules);
    for (name, scenario) in scenarios {
        let options = Options { seeds: 0..n, shrink: false, ..Options::default() };
        let e = explore::explore(&scenario, &options, |_| {});
        assert_eq!(e.schedules, n, "{name}: every seed ran");
        if let Some(v) = &e.found {
            let replay = explore::replay(&scenario, &v.schedule, &Limits::default());
            panic!("{name}: {}\n{}", v.kind, explore::format_trace(&replay, v.at_step));
        }
    }
}
