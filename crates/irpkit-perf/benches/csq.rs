//! Cancel-safe queue benchmarks, each against its peer in the same run.
//!
//! - `per_request`: insert → remove-next → complete, one request at a time, against the
//!   floor — a bare `Mutex<VecDeque<Box<_>>>` push and pop of boxed items, a queue with no
//!   cancellation at all: irpkit's typed `CancelQueue<Box<_>>` (push → ticket, pop, the
//!   ticket sees the outcome) and, for drivers, the IRP cancel-safe queue with a full IRP
//!   (allocate, IoCallDriver, IoCsqInsertIrp, IoCsqRemoveNextIrp, IoCompleteRequest, free).
//! - `cancel_storm`: 1000 requests queued, one thread serving them, another cancelling
//!   every second one, until each has its one result: irpkit's typed queue and IRP queue
//!   against the same workload written with tokio's mpsc + `CancellationToken` + a oneshot
//!   per request (what a Rust user would otherwise write).
//!
//! The workloads are shared with the performance report (`cargo run --release -p
//! irpkit-perf`, which writes docs/PERFORMANCE.md): both use the library's `workloads` module.
//!
//! Run: `cargo bench -p irpkit-perf --bench csq`

use divan::counter::ItemsCount;
use divan::Bencher;

use irpkit_perf::workloads::csq as workloads;

use workloads::STORM;

mod common;

use common::bench_entered;

fn main() {
    divan::main();
}

mod per_request {
    use super::workloads::{CsqIrpPerRequest, FloorPerRequest, TypedPerRequest};
    use super::*;

    #[divan::bench]
    fn irpkit_cancel_safe_queue(bencher: Bencher) {
        bench_entered(bencher, CsqIrpPerRequest::new(), CsqIrpPerRequest::kernel, CsqIrpPerRequest::step);
    }

    /// The item lives in the queue's node: one heap allocation per entry, as the floor's
    /// box.
    #[divan::bench]
    fn irpkit_cancel_queue_typed(bencher: Bencher) {
        let mut w = TypedPerRequest::new();
        bencher.bench_local(|| w.step());
    }

    #[divan::bench]
    fn mutex_vecdeque_floor(bencher: Bencher) {
        let mut w = FloorPerRequest::new();
        bencher.bench_local(|| w.step());
    }
}

mod cancel_storm {
    use super::workloads::{tokio_storm, CsqIrpStorm, TypedStorm};
    use super::*;

    #[divan::bench(counter = ItemsCount::new(STORM))]
    fn irpkit(bencher: Bencher) {
        bench_entered(bencher, CsqIrpStorm::new(), CsqIrpStorm::kernel, CsqIrpStorm::step);
    }

    #[divan::bench(counter = ItemsCount::new(STORM))]
    fn irpkit_typed(bencher: Bencher) {
        let mut w = TypedStorm::new();
        bencher.bench_local(|| w.step());
    }

    #[divan::bench(counter = ItemsCount::new(STORM))]
    fn tokio_mpsc_cancellation_token(bencher: Bencher) {
        bencher.bench_local(tokio_storm);
    }
}
