//! irpkit's performance report: every benchmark workload of the repository run against
//! its peer, interleaved in one process, plus the memory, allocation, cancel-latency and
//! thread-exit measurements and the explorer's speed (against shuttle, in a child
//! process); written to `docs/PERFORMANCE.md` by the `irpkit-perf` binary
//! (`cargo perf`, the workspace's alias for `cargo run --release -p irpkit-perf` with
//! functions aligned; see the binary's documentation).
//!
//! The workloads in [`workloads`] are also what the divan benchmarks of this crate
//! (`crates/irpkit-perf/benches/`) run, so `cargo bench -p irpkit-perf` and the report
//! measure the same code.

pub mod alloc;
pub mod experiments;
pub mod explorer;
pub mod markdown;
pub mod peers;
pub mod report;
pub mod runner;
pub mod stats;
pub mod svg;
pub mod sysinfo;

/// The benchmark workloads shared with the divan benchmarks in `crates/irpkit-perf/benches/`.
pub mod workloads {
    pub mod csq;
    pub mod request;
    pub mod startio;
}
