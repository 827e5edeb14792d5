//! StartIo and device-queue benchmarks.
//!
//! - `start_packet_round_trip`: IoCallDriver → dispatch → IoStartPacket → StartIo →
//!   IoCompleteRequest → IoStartNextPacket (deferred) per request.
//! - `by_key`: one KeInsertByKeyDeviceQueue + one KeRemoveByKeyDeviceQueue with n entries
//!   queued, for irpkit's queue (sorted list + key index) and for a plain sorted linked
//!   list (the documented Windows structure), at n = 10³, 10⁴, 10⁵, in the same run.
//!
//! Run: `cargo bench -p irpkit --bench startio`

use std::hint::black_box;

use divan::Bencher;
use irpkit::nt::*;
use irpkit::Kernel;

fn main() {
    divan::main();
}

unsafe extern "system-unwind" fn entry(_d: *mut DriverObject, _p: *mut UnicodeString) -> NtStatus {
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn dispatch(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract.
    unsafe {
        io_mark_irp_pending(irp);
        io_start_packet(d, irp, None, Some(cancel));
    }
    STATUS_PENDING
}

unsafe extern "system-unwind" fn cancel(_d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: never called in this benchmark (nothing is cancelled); releases as required.
    unsafe { io_release_cancel_spin_lock((*irp).cancel_irql) };
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

#[divan::bench]
fn start_packet_round_trip(bencher: Bencher) {
    let kernel = Kernel::new();
    let _e = kernel.enter();
    let driver = kernel.load_driver("Serial", entry).unwrap();
    // SAFETY: a fresh driver object.
    let dev = unsafe {
        (*driver).major_function = [Some(dispatch); IRP_MJ_COUNT];
        (*driver).driver_start_io = Some(start_io);
        let dev = io_create_device(driver, 0, Some("Serial"), 0x1b, 0, false).unwrap();
        io_set_start_io_attributes(dev, true, false);
        dev
    };
    let mut iosb = IoStatusBlock::default();
    let iosb_ptr: *mut IoStatusBlock = &mut iosb;
    bencher.bench_local(|| {
        // SAFETY: a fresh IRP for a live device; the status block outlives it.
        unsafe {
            let irp = io_allocate_irp(1, false);
            (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
            (*irp).user_iosb = iosb_ptr;
            black_box(io_call_driver(dev, irp));
            black_box((*iosb_ptr).information)
        }
    });
}

struct Keys(u64);
impl Keys {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 32) as u32
    }
}

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

mod by_key {
    use super::*;

    /// irpkit's device queue: the sorted list with its key index.
    #[divan::bench(args = SIZES)]
    fn irpkit_device_queue(bencher: Bencher, n: usize) {
        let kernel = Kernel::new();
        let _e = kernel.enter();
        let q = Box::into_raw(Box::new(KDeviceQueue {
            type_: 0,
            size: 0,
            device_list_head: ListEntry::null(),
            lock: KSpinLock::new(),
            busy: 0,
            hint: [0; 7],
        }));
        let mut entries: Vec<*mut KDeviceQueueEntry> = (0..=n + 1)
            .map(|_| {
                Box::into_raw(Box::new(KDeviceQueueEntry {
                    device_list_entry: ListEntry::null(),
                    sort_key: 0,
                    inserted: 0,
                }))
            })
            .collect();
        let mut keys = Keys(0x9E37_79B9_7F4A_7C15);
        // SAFETY: the benchmark's own queue and entries, boxed until the end.
        unsafe {
            ke_initialize_device_queue(q);
            assert!(!ke_insert_by_key_device_queue(q, entries.pop().unwrap(), 0)); // now busy
            for _ in 0..n {
                assert!(ke_insert_by_key_device_queue(q, entries.pop().unwrap(), keys.next()));
            }
        }
        let mut spare = entries.pop().unwrap();
        bencher.bench_local(|| {
            // SAFETY: `spare` is in no queue; the removed entry becomes the next spare.
            unsafe {
                ke_insert_by_key_device_queue(q, spare, keys.next());
                spare = ke_remove_by_key_device_queue(q, keys.next());
            }
        });
    }

    /// A plain sorted doubly linked list: insertion and by-key removal walk from the head.
    #[divan::bench(args = SIZES)]
    fn sorted_linked_list(bencher: Bencher, n: usize) {
        let mut list = SortedList::with_capacity(n + 1);
        let mut keys = Keys(0x9E37_79B9_7F4A_7C15);
        keys.next();
        for _ in 0..n {
            let k = keys.next();
            list.insert(k);
        }
        bencher.bench_local(|| {
            list.insert(keys.next());
            black_box(list.remove_first_at_least(keys.next()));
        });
    }
}

/// The structure Windows documents for a keyed device queue: a doubly linked list kept in
/// key order (nodes in a slab, links by index).
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
