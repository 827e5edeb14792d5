//! allocate → IoCallDriver → synchronous complete → deliver, per request, in steady
//! state: time and heap allocations (divan's allocation profiler counts them), with the
//! peer a Rust service would write for a cancellable request (tokio `CancellationToken` +
//! `oneshot`).
//!
//! The workloads are shared with the performance report (`cargo run --release -p
//! irpkit-perf`, which writes docs/PERFORMANCE.md): both use the library's `workloads` module.
//!
//! Run: `cargo bench -p irpkit-perf --bench request`

use divan::{AllocProfiler, Bencher};

use irpkit_perf::workloads::request as workloads;

use workloads::{FilterOverDevice, OneDevice, SafeApi};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

mod common;

use common::bench_entered;

fn main() {
    divan::main();
}

/// One device that completes every read at once; the status block is delivered.
#[divan::bench]
fn one_device(bencher: Bencher) {
    bench_entered(bencher, OneDevice::new(), OneDevice::kernel, OneDevice::step);
}

/// A filter with a completion routine above the same device (two stack locations).
#[divan::bench]
fn filter_over_device(bencher: Bencher) {
    bench_entered(bencher, FilterOverDevice::new(), FilterOverDevice::kernel, FilterOverDevice::step);
}

/// The same round trip through the safe API (`Request::send` + `wait`).
#[divan::bench]
fn safe_api(bencher: Bencher) {
    bench_entered(bencher, SafeApi::new(), SafeApi::kernel, SafeApi::step);
}

/// The peer: a fresh `CancellationToken` and `oneshot` per request, answered at once.
#[divan::bench]
fn tokio_token_oneshot(bencher: Bencher) {
    bencher.bench_local(workloads::tokio_token_oneshot_step);
}
