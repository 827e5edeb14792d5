//! StartIo and device-queue benchmarks.
//!
//! - `start_packet_round_trip`: IoCallDriver → dispatch → IoStartPacket → StartIo →
//!   IoCompleteRequest → IoStartNextPacket (deferred) per request.
//! - `by_key`: one KeInsertByKeyDeviceQueue + one KeRemoveByKeyDeviceQueue with n entries
//!   queued, for irpkit's queue (sorted list + key index) and for a plain sorted linked
//!   list (the documented Windows structure), at n = 10³, 10⁴, 10⁵, in the same run.
//!
//! The workloads are shared with the performance report (`cargo run --release -p
//! irpkit-perf`, which writes docs/PERFORMANCE.md and its growth chart): both use the
//! library's `workloads` module.
//!
//! Run: `cargo bench -p irpkit-perf --bench startio`

use divan::Bencher;

use irpkit_perf::workloads::startio as workloads;

use workloads::{DeviceQueueByKey, SortedListByKey, StartPacketRoundTrip, SIZES};

mod common;

use common::bench_entered;

fn main() {
    divan::main();
}

#[divan::bench]
fn start_packet_round_trip(bencher: Bencher) {
    bench_entered(bencher, StartPacketRoundTrip::new(), StartPacketRoundTrip::kernel, StartPacketRoundTrip::step);
}

mod by_key {
    use super::*;

    /// irpkit's device queue: the sorted list with its key index.
    #[divan::bench(args = SIZES)]
    fn irpkit_device_queue(bencher: Bencher, n: usize) {
        bench_entered(bencher, DeviceQueueByKey::new(n), DeviceQueueByKey::kernel, DeviceQueueByKey::step);
    }

    /// A plain sorted doubly linked list: insertion and by-key removal walk from the head.
    #[divan::bench(args = SIZES)]
    fn sorted_linked_list(bencher: Bencher, n: usize) {
        let mut w = SortedListByKey::new(n);
        bencher.bench_local(|| w.step());
    }
}
