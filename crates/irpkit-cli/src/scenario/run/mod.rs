//! Running a scenario file: devices created, requester threads started together, every
//! request followed to its end, the expectations checked.
//!
//! On the virtual clock a run goes through the explorer's scheduler with one schedule
//! (the scenario's seed): deterministic, and the five-minute thread-exit wait takes
//! milliseconds. On the real clock the threads run free.
//!
//! C drivers (`[[c_driver]]`) are built once, before the run ([`build_drivers`]); each
//! run loads them into its kernel (their DriverEntry runs on the scenario's own thread,
//! before any requester starts), finds their devices by name, and unloads them at the end
//! (DriverUnload; what they leave behind is reported by the verifier).
//!
//! The files: `model` holds the run-time structures (the requests, the summary, the
//! devices, drivers and shared state of a run); `execute` sets a run up, runs it and
//! winds it down; `thread` runs one requester thread's operations; `report` checks the
//! expectations and writes the summary (table, JSON, latencies).

mod execute;
mod model;
mod report;
mod thread;

pub use execute::{build_drivers, explorable, file_limits, run, run_built, try_run};
pub use model::{status_label, CancelCause, Drivers, End, Explorable, Request, RunSummary, SetupError};
pub use report::Latency;
