//! StartIo and device-queue workloads.
//!
//! - [`StartPacketRoundTrip`]: IoCallDriver → dispatch → IoStartPacket → StartIo →
//!   IoCompleteRequest → IoStartNextPacket (deferred) per request.
//! - by key: one KeInsertByKeyDeviceQueue + one KeRemoveByKeyDeviceQueue with n entries
//!   queued, for irpkit's queue (sorted list + key index, [`DeviceQueueByKey`]) and for a
//!   plain sorted linked list, the documented Windows structure ([`SortedListByKey`]).
//!
//! Shared by `crates/irpkit-perf/benches/startio.rs` (divan) and the `irpkit-perf` report.

use std::hint::black_box;

use irpkit::nt::*;
use irpkit::Kernel;

unsafe extern "system-unwind" fn dispatch(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract.
    unsafe {
        io_mark_irp_pending(irp);
        io_start_packet(d, irp, None, Some(cancel));
    }
    STATUS_PENDING
}

unsafe extern "system-unwind" fn cancel(_d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: never called in this workload (nothing is cancelled); releases as required.
    unsafe { io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed)) };
}

unsafe extern "system-unwind" fn start_io(d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the StartIo contract.
    unsafe {
        let irql = io_acquire_cancel_spin_lock();
        io_set_cancel_routine(irp, None);
        io_release_cancel_spin_lock(irql);
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 1 };
        io_complete_request(irp, 0);
        io_start_next_packet(d, true);
    }
}

/// A serial-style device: dispatch → IoStartPacket → StartIo completes → next packet.
pub struct StartPacketRoundTrip {
    kernel: Kernel,
    dev: *mut DeviceObject,
    iosb: Box<IoStatusBlock>,
}

impl StartPacketRoundTrip {
    /// A kernel with the device (StartIo deferred, non-cancelable start).
    pub fn new() -> Self {
        let kernel = Kernel::new();
        let _e = kernel.enter();
        let (driver, dev) = kernel.create_driver_and_device("Serial", dispatch, 0).unwrap();
        // SAFETY: a fresh driver object and its device, not yet used.
        unsafe {
            (*driver).driver_start_io = Some(start_io);
            io_set_start_io_attributes(dev, true, false);
        }
        StartPacketRoundTrip { kernel, dev, iosb: Box::default() }
    }

    /// The kernel to enter around [`step`](Self::step).
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// One request through the StartIo path.
    pub fn step(&mut self) {
        // SAFETY: a live device of this kernel whose StartIo completes the read at once;
        // the status block outlives the request.
        unsafe { super::request::read_round_trip(self.dev, &mut self.iosb) };
    }
}

impl Default for StartPacketRoundTrip {
    fn default() -> Self {
        Self::new()
    }
}

/// A xorshift key stream (the same for both structures).
#[derive(Debug, Clone)]
pub struct Keys(u64);

impl Keys {
    /// The stream every by-key workload starts from.
    pub fn new() -> Self {
        Keys(0x9E37_79B9_7F4A_7C15)
    }

    /// The next key.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 32) as u32
    }
}

impl Default for Keys {
    fn default() -> Self {
        Self::new()
    }
}

/// `count` fresh, unqueued device-queue entries, each boxed and leaked as a raw pointer
/// (the owner frees them with `Box::from_raw`).
pub fn boxed_entries(count: usize) -> Vec<*mut KDeviceQueueEntry> {
    (0..count).map(|_| Box::into_raw(Box::new(KDeviceQueueEntry::new()))).collect()
}

/// Empties `queue` (the kernel drops the key index with the queue empty), then frees
/// `entries` and `queue`. Call it with the queue's kernel entered.
///
/// # Safety
/// `queue` and every entry came from `Box::into_raw` (as [`boxed_entries`] makes them),
/// every queued entry is among `entries`, and nothing uses any of them afterwards.
pub unsafe fn free_queue(queue: *mut KDeviceQueue, entries: &[*mut KDeviceQueueEntry]) {
    // SAFETY: the caller's contract: boxed, ours, unreferenced once the queue is empty.
    unsafe {
        while !ke_remove_device_queue(queue).is_null() {}
        for &e in entries {
            drop(Box::from_raw(e));
        }
        drop(Box::from_raw(queue));
    }
}

/// The queue sizes of the by-key growth curve.
pub const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// irpkit's KDEVICE_QUEUE (sorted list + key index) holding `n` keyed entries.
pub struct DeviceQueueByKey {
    kernel: Kernel,
    queue: *mut KDeviceQueue,
    entries: Vec<*mut KDeviceQueueEntry>,
    spare: *mut KDeviceQueueEntry,
    keys: Keys,
}

impl DeviceQueueByKey {
    /// A busy queue with `n` entries inserted by key.
    pub fn new(n: usize) -> Self {
        let kernel = Kernel::new();
        let _e = kernel.enter();
        let queue = Box::into_raw(Box::new(KDeviceQueue::new()));
        let entries = boxed_entries(n + 2);
        let mut keys = Keys::new();
        // SAFETY: our own queue and entries, boxed until drop.
        unsafe {
            ke_initialize_device_queue(queue);
            assert!(!ke_insert_by_key_device_queue(queue, entries[n + 1], 0)); // now busy
            for &e in &entries[..n] {
                assert!(ke_insert_by_key_device_queue(queue, e, keys.next()));
            }
        }
        let spare = entries[n];
        DeviceQueueByKey { kernel, queue, entries, spare, keys }
    }

    /// The kernel to enter around [`step`](Self::step).
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// One keyed insert and one by-key removal (the removed entry is the next spare).
    pub fn step(&mut self) {
        // SAFETY: `spare` is in no queue; the removed entry becomes the next spare.
        unsafe {
            ke_insert_by_key_device_queue(self.queue, self.spare, self.keys.next());
            self.spare = ke_remove_by_key_device_queue(self.queue, self.keys.next());
        }
    }
}

impl Drop for DeviceQueueByKey {
    fn drop(&mut self) {
        let _e = self.kernel.enter();
        // SAFETY: our queue and entries, boxed in `new`; nothing references them any more.
        unsafe { free_queue(self.queue, &self.entries) };
    }
}

/// The structure Windows documents for a keyed device queue: a doubly linked list kept in
/// key order (nodes in a slab, links by index); insertion and by-key removal walk from the
/// head.
pub struct SortedListByKey {
    list: SortedList,
    keys: Keys,
}

impl SortedListByKey {
    /// The list with `n` keys inserted.
    pub fn new(n: usize) -> Self {
        let mut list = SortedList::with_capacity(n + 1);
        let mut keys = Keys::new();
        keys.next();
        for _ in 0..n {
            let k = keys.next();
            list.insert(k);
        }
        SortedListByKey { list, keys }
    }

    /// One keyed insert and one by-key removal.
    pub fn step(&mut self) {
        self.list.insert(self.keys.next());
        black_box(self.list.remove_first_at_least(self.keys.next()));
    }
}

struct SortedList {
    key: Vec<u32>,
    next: Vec<u32>,
    prev: Vec<u32>,
    free: Vec<u32>,
}

const HEAD: u32 = 0;

impl SortedList {
    fn with_capacity(n: usize) -> Self {
        let mut l = SortedList { key: vec![0], next: vec![HEAD], prev: vec![HEAD], free: Vec::new() };
        l.key.reserve(n + 1);
        l
    }

    fn insert(&mut self, k: u32) {
        let node = self.free.pop().unwrap_or_else(|| {
            self.key.push(0);
            self.next.push(0);
            self.prev.push(0);
            (self.key.len() - 1) as u32
        });
        self.key[node as usize] = k;
        let mut at = self.next[HEAD as usize];
        while at != HEAD && self.key[at as usize] <= k {
            at = self.next[at as usize];
        }
        let before = self.prev[at as usize];
        self.next[node as usize] = at;
        self.prev[node as usize] = before;
        self.next[before as usize] = node;
        self.prev[at as usize] = node;
    }

    fn remove_first_at_least(&mut self, k: u32) -> u32 {
        let mut at = self.next[HEAD as usize];
        while at != HEAD && self.key[at as usize] < k {
            at = self.next[at as usize];
        }
        if at == HEAD {
            at = self.next[HEAD as usize];
        }
        let (p, n) = (self.prev[at as usize], self.next[at as usize]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
        self.free.push(at);
        at
    }
}
