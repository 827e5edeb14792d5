//! What the divan benches share: running a workload's step with its kernel entered.

use divan::Bencher;
use irpkit::Kernel;

/// Benchmarks `step(&mut w)` with the kernel `kernel(&w)` entered around the whole run,
/// as every irpkit workload's `step` requires (`kernel().enter()`).
pub(crate) fn bench_entered<W>(
    bencher: Bencher,
    mut w: W,
    kernel: impl Fn(&W) -> &Kernel,
    mut step: impl FnMut(&mut W),
) {
    let kernel = kernel(&w).clone();
    let _e = kernel.enter();
    bencher.bench_local(|| step(&mut w));
}
