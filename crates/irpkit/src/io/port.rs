//! I/O completion ports: overlapped requests on associated handles post a packet when
//! their result is delivered.
//!
//! Locks: `PortShared::packets` is a leaf.

use super::*;

/// A completion packet (`GetQueuedCompletionStatus`).
#[derive(Debug, Clone)]
pub struct Packet {
    /// The key the handle was associated with.
    pub key: usize,
    /// The request's final status block.
    pub status: IoStatusBlock,
    /// The request's `OVERLAPPED`.
    pub overlapped: Overlapped,
}

pub(crate) struct PortShared {
    pub(super) kernel: Kernel,
    pub(super) packets: Mutex<VecDeque<Packet>>,
    pub(super) ready: nt::KSemaphore,
}

impl PortShared {
    pub(super) fn post(&self, packet: Packet) {
        lock(&self.packets).push_back(packet);
        let _entered = self.kernel.enter();
        nt::ke_release_semaphore(&self.ready, 0, 1, false);
    }
}

/// An I/O completion port: overlapped requests on associated handles post a packet here
/// when their result is delivered.
#[derive(Clone)]
pub struct CompletionPort {
    pub(super) shared: Arc<PortShared>,
}

impl core::fmt::Debug for CompletionPort {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CompletionPort").finish_non_exhaustive()
    }
}

impl CompletionPort {
    /// `CreateIoCompletionPort` (a new port).
    pub fn new(kernel: &Kernel) -> Self {
        CompletionPort {
            shared: Arc::new(PortShared {
                kernel: kernel.clone(),
                packets: Mutex::new(VecDeque::new()),
                ready: nt::KSemaphore::new(0, i32::MAX),
            }),
        }
    }

    /// `GetQueuedCompletionStatus`: the next packet, waiting up to `timeout` on the
    /// kernel's clock.
    pub fn get_queued_completion_status(&self, timeout: Option<Duration>) -> Option<Packet> {
        let _entered = self.shared.kernel.enter();
        if nt::ke_wait_for_single_object(&self.shared.ready, timeout) != nt::STATUS_SUCCESS {
            return None;
        }
        lock(&self.shared.packets).pop_front()
    }
}
