//! irpkit's performance report: every benchmark workload of the repository run against
//! its peer, interleaved in one process, plus the memory, allocation, cancel-latency and
//! thread-exit measurements and the explorer's speed (against shuttle, in a child
//! process); written to `docs/PERFORMANCE.md` by the `irpkit-perf` binary
//! (`cargo run --release -p irpkit-perf`).
//!
//! The workloads in [`workloads`] are the same files the divan benchmarks of
//! `crates/irpkit/benches/` include, so `cargo bench` and the report measure the same
//! code.

pub mod alloc;
pub mod experiments;
pub mod explorer;
pub mod markdown;
pub mod peers;
pub mod race;
pub mod report;
pub mod runner;
pub mod stats;
pub mod svg;
pub mod sysinfo;

/// The benchmark workloads shared with `crates/irpkit/benches/` (included there with
/// `#[path]`).
pub mod workloads {
    pub mod csq;
    pub mod request;
    pub mod startio;
}
