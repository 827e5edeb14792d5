//! Conformance cases Q1–Q7: device queues (`KDEVICE_QUEUE`).
#![cfg(not(any(loom, shuttle)))]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use irpkit::nt::*;
use irpkit::verifier::VerifierMode;

/// A heap-placed device queue with entries, for the routines' own tests. Raw pointers
/// throughout, as the routines mutate through them.
struct Q {
    queue: *mut KDeviceQueue,
    entries: Vec<*mut KDeviceQueueEntry>,
}

impl Q {
    fn new(n: usize) -> Self {
        let queue = Box::into_raw(Box::new(KDeviceQueue {
            type_: 0,
            size: 0,
            device_list_head: ListEntry::null(),
            lock: KSpinLock::new(),
            busy: std::sync::atomic::AtomicU8::new(0xAA),
            hint: [0; 7],
        }));
        // SAFETY: the queue is at its final (boxed) address and unshared.
        unsafe { ke_initialize_device_queue(queue) };
        let entries = (0..n)
            .map(|_| {
                Box::into_raw(Box::new(KDeviceQueueEntry {
                    device_list_entry: ListEntry::null(),
                    sort_key: 0,
                    inserted: 0xAA,
                }))
            })
            .collect();
        Q { queue, entries }
    }
    fn q(&self) -> *mut KDeviceQueue {
        self.queue
    }
    fn e(&self, i: usize) -> *mut KDeviceQueueEntry {
        self.entries[i]
    }
    fn index_of(&self, e: *mut KDeviceQueueEntry) -> Option<usize> {
        self.entries.iter().position(|&x| x == e)
    }
    fn busy(&self) -> bool {
        // SAFETY: the queue lives until `drop`; no routine runs concurrently.
        unsafe { (*self.queue).busy.load(std::sync::atomic::Ordering::SeqCst) != 0 }
    }
    fn inserted(&self, i: usize) -> bool {
        // SAFETY: as above.
        unsafe { (*self.entries[i]).inserted != 0 }
    }
    fn set_key_field(&self, i: usize) -> u32 {
        // SAFETY: as above.
        unsafe { (*self.entries[i]).sort_key }
    }
}

impl Drop for Q {
    fn drop(&mut self) {
        // SAFETY: allocated by `new`, freed once.
        unsafe {
            drop(Box::from_raw(self.queue));
            for &e in &self.entries {
                drop(Box::from_raw(e));
            }
        }
    }
}

fn entered() -> (irpkit::Kernel, irpkit::EnterGuard) {
    let k = irpkit::Kernel::builder().verifier_mode(VerifierMode::Record).build();
    let g = k.enter();
    (k, g)
}

/// Q1: fresh queue not busy; first insert returns FALSE, sets busy, entry not inserted;
/// later inserts return TRUE, FIFO, inserted.
#[test]
fn device_queue_q1_first_insert_only_marks_busy() {
    let (_k, _g) = entered();
    let q = Q::new(3);
    assert!(!q.busy());
    // SAFETY: a live queue and entries owned by the test.
    unsafe {
        assert!(!ke_insert_device_queue(q.q(), q.e(0)));
        assert!(q.busy());
        assert!(!q.inserted(0));
        assert!(ke_insert_device_queue(q.q(), q.e(1)));
        assert!(ke_insert_device_queue(q.q(), q.e(2)));
        assert!(q.inserted(1) && q.inserted(2));
        assert_eq!(q.index_of(ke_remove_device_queue(q.q())), Some(1), "FIFO");
        assert_eq!(q.index_of(ke_remove_device_queue(q.q())), Some(2));
    }
}

/// Q2: remove on a busy queue returns the head with `Inserted` cleared, queue still busy;
/// on an empty busy queue it returns none and clears busy.
#[test]
fn device_queue_q2_remove_head_then_empty_clears_busy() {
    let (_k, _g) = entered();
    let q = Q::new(2);
    // SAFETY: a live queue and entries owned by the test.
    unsafe {
        ke_insert_device_queue(q.q(), q.e(0));
        ke_insert_device_queue(q.q(), q.e(1));
        let head = ke_remove_device_queue(q.q());
        assert_eq!(q.index_of(head), Some(1));
        assert!(!q.inserted(1));
        assert!(q.busy(), "still busy: the device is processing the removed entry");
        assert!(ke_remove_device_queue(q.q()).is_null());
        assert!(!q.busy());
    }
}

/// Q3: RemoveEntry returns TRUE for a queued entry, FALSE the second time and for an
/// entry never queued; busy is unchanged.
#[test]
fn device_queue_q3_remove_entry() {
    let (_k, _g) = entered();
    let q = Q::new(3);
    // SAFETY: a live queue and entries owned by the test.
    unsafe {
        ke_insert_device_queue(q.q(), q.e(0));
        ke_insert_device_queue(q.q(), q.e(1));
        (*q.e(2)).inserted = 0;
        assert!(ke_remove_entry_device_queue(q.q(), q.e(1)));
        assert!(!q.inserted(1));
        assert!(!ke_remove_entry_device_queue(q.q(), q.e(1)), "second time");
        assert!(!ke_remove_entry_device_queue(q.q(), q.e(2)), "never queued");
        assert!(q.busy(), "busy unchanged");
        assert!(ke_remove_device_queue(q.q()).is_null(), "the queue is empty again");
    }
}

/// Q4: by key: keys 3, 1, 2 come out 1, 2, 3, each inserted; RemoveEntry works on keyed
/// entries; equal keys stay FIFO.
#[test]
fn device_queue_q4_by_key_order() {
    let (_k, _g) = entered();
    let q = Q::new(6);
    // SAFETY: a live queue and entries owned by the test.
    unsafe {
        assert!(!ke_insert_by_key_device_queue(q.q(), q.e(0), 9)); // starts the device
        assert_eq!(q.set_key_field(0), 9, "the key is stored even when not queued");
        for (i, key) in [(1, 3), (2, 1), (3, 2), (4, 2), (5, 7)] {
            assert!(ke_insert_by_key_device_queue(q.q(), q.e(i), key));
            assert!(q.inserted(i), "entry {i} inserted");
        }
        assert!(ke_remove_entry_device_queue(q.q(), q.e(5)), "RemoveEntry on a keyed entry");
        let order: Vec<_> = (0..4).map(|_| q.index_of(ke_remove_device_queue(q.q())).unwrap()).collect();
        assert_eq!(order, vec![2, 3, 4, 1], "keys 1, 2, 2 (FIFO), 3");
    }
}

/// Q5: remove by key returns the first entry with key >= the given key, or the head when
/// none is large enough (keys [1, 5], SortKey 5 → the key-5 entry).
#[test]
fn device_queue_q5_remove_by_key() {
    let (_k, _g) = entered();
    let q = Q::new(4);
    // SAFETY: a live queue and entries owned by the test.
    unsafe {
        ke_insert_by_key_device_queue(q.q(), q.e(0), 0);
        ke_insert_by_key_device_queue(q.q(), q.e(1), 1);
        ke_insert_by_key_device_queue(q.q(), q.e(2), 5);
        ke_insert_by_key_device_queue(q.q(), q.e(3), 8);
        assert_eq!(q.index_of(ke_remove_by_key_device_queue(q.q(), 5)), Some(2), "key >= 5");
        assert_eq!(q.index_of(ke_remove_by_key_device_queue(q.q(), 9)), Some(1), "none >= 9: the head");
        assert_eq!(q.index_of(ke_remove_by_key_device_queue(q.q(), 2)), Some(3));
        assert!(ke_remove_by_key_device_queue(q.q(), 0).is_null());
        assert!(!q.busy());
        // IfBusy on an idle queue is not an error.
        assert!(ke_remove_by_key_device_queue_if_busy(q.q(), 0).is_null());
    }
}

/// Calls of [`cancel_without_dequeue`] (only Q6 uses it; `DriverContext` overlaps the
/// device-queue entry, so a queued IRP cannot carry its observer there).
static Q6_CANCEL_CALLS: AtomicU32 = AtomicU32::new(0);

unsafe extern "system-unwind" fn cancel_without_dequeue(_d: *mut DeviceObject, irp: *mut Irp) {
    Q6_CANCEL_CALLS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: called by IoCancelIrp with a live IRP and the lock held.
    unsafe { io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed)) };
}

/// Q6: an IRP already marked cancelled can be queued; IoCancelIrp on a queued IRP runs its
/// routine but does not dequeue it.
#[test]
fn device_queue_q6_cancel_does_not_dequeue() {
    let f = Fixture::with_mode(VerifierMode::Record, pend_plain);
    let obs = Obs::default();
    // SAFETY: test-owned IRPs and the fixture's live device.
    unsafe {
        let queue = &raw mut (*f.device).device_queue;
        let first = new_read(f.device, &obs);
        let cancelled = new_read(f.device, &obs);
        let parked = new_read(f.device, &obs);
        assert!(!io_cancel_irp(cancelled));
        assert!(!ke_insert_device_queue(queue, Irp::device_queue_entry(first)));
        assert!(ke_insert_device_queue(queue, Irp::device_queue_entry(cancelled)), "Cancel is ignored");
        assert!(ke_insert_device_queue(queue, Irp::device_queue_entry(parked)));
        io_set_cancel_routine(parked, Some(cancel_without_dequeue));
        assert!(io_cancel_irp(parked));
        assert_eq!(Q6_CANCEL_CALLS.load(Ordering::SeqCst), 1);
        assert_ne!((*Irp::device_queue_entry(parked)).inserted, 0, "still in the queue");
        assert_eq!(ke_remove_device_queue(queue), Irp::device_queue_entry(cancelled));
        assert_eq!(ke_remove_device_queue(queue), Irp::device_queue_entry(parked));
        assert!(ke_remove_device_queue(queue).is_null());
        for irp in [first, cancelled, parked] {
            io_free_irp(irp);
        }
    }
    assert!(f.rules().is_empty(), "{:?}", f.rules());
}

/// Q7: KeRemoveDeviceQueue on a queue that is not busy is reported as 0x2.
#[test]
fn device_queue_q7_not_busy_is_0x2() {
    let (k, _g) = entered();
    let q = Q::new(0);
    // SAFETY: a live queue owned by the test.
    unsafe {
        assert!(ke_remove_device_queue(q.q()).is_null());
        assert!(ke_remove_by_key_device_queue(q.q(), 3).is_null());
    }
    let codes: Vec<_> = k.verifier().take_reports().iter().map(|r| r.bugcheck().unwrap().code).collect();
    assert_eq!(codes, vec![0x2, 0x2]);
}
