//! Sample drivers for irpkit, written against its safe API.
//!
//! - [`pending_read`]: a device whose reads wait in the driver's own queue, cancelable
//!   with a cancel routine, until the "hardware" finishes them.
//! - [`serial`]: a StartIo device with the device queue, a timer + DPC "hardware", and
//!   the cancel routine of "Cancel Routines in Drivers with StartIo Routines"; its keyed
//!   variant is an elevator-ordered disk.
//! - [`csq_worker`]: reads in a cancel-safe queue served by a system worker thread, with
//!   IRP_MJ_CLEANUP per file object and a remove lock for unload.
//! - [`stubborn`]: a device that never completes or cancels reads on its own — what the
//!   five-minute rule of thread exit is for.
//! - [`buggy`]: the buggy-driver catalog — NT-layer drivers with one cancellation bug
//!   each, their correct twins, and the scenarios the explorer runs them in.

pub mod buggy;
pub mod csq_worker;
pub mod pending_read;
pub mod serial;
pub mod stubborn;
pub mod workloads;

use std::sync::Arc;

use irpkit::explore::Scenario;

/// Any explorer scenario by name: a catalog bug, a correct twin or a sample workload.
pub fn scenario(name: &str) -> Option<Arc<dyn Scenario>> {
    buggy::scenario(name).or_else(|| workloads::samples().into_iter().find(|s| s.0 == name).map(|s| s.2))
}

/// Every explorer scenario's name: the catalog's bugs, the correct twins, the samples.
pub fn scenario_names() -> Vec<&'static str> {
    buggy::names().into_iter().chain(workloads::samples().into_iter().map(|s| s.0)).collect()
}
