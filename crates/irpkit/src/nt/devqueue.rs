//! Device queues (`KDEVICE_QUEUE`): the queue behind IoStartPacket and IoStartNextPacket.
//!
//! `Busy` means "the device is processing a request", not "the list is non-empty": the
//! first insert into an idle queue only marks it busy (the caller starts the request
//! itself); later inserts queue. Every operation runs under the queue's own spin lock.
//! KeRemoveEntryDeviceQueue is the only removal a cancel routine may use.

use core::ptr;

use super::spinlock::{ke_acquire_spin_lock, ke_release_spin_lock};
use super::types::*;
use crate::kernel::with_current;
use crate::verifier::Rule;

/// A device queue with null links, to be placed and then initialised with
/// [`ke_initialize_device_queue`].
pub(crate) fn new_device_queue() -> KDeviceQueue {
    KDeviceQueue {
        type_: IO_TYPE_DEVICE_QUEUE,
        size: core::mem::size_of::<KDeviceQueue>() as i16,
        device_list_head: ListEntry::null(),
        lock: KSpinLock::new(),
        busy: FALSE,
        hint: [0; 7],
    }
}

/// `KeInitializeDeviceQueue`: empty and not busy.
///
/// # Safety
/// `queue` points to a device queue at its final address that nobody else uses yet.
pub unsafe fn ke_initialize_device_queue(queue: *mut KDeviceQueue) {
    // SAFETY: exclusive access by the contract.
    unsafe {
        (*queue).type_ = IO_TYPE_DEVICE_QUEUE;
        (*queue).size = core::mem::size_of::<KDeviceQueue>() as i16;
        (*queue).lock = KSpinLock::new();
        (*queue).busy = FALSE;
        let head = &raw mut (*queue).device_list_head;
        (*head).flink = head;
        (*head).blink = head;
    }
}

/// Runs `f` with the queue's spin lock held.
///
/// # Safety
/// `queue` is an initialised device queue.
unsafe fn locked<R>(queue: *mut KDeviceQueue, f: impl FnOnce() -> R) -> R {
    // SAFETY: initialised queue; the lock word is only touched atomically.
    let lock = unsafe { &(*queue).lock };
    let irql = ke_acquire_spin_lock(lock);
    let r = f();
    ke_release_spin_lock(lock, irql);
    r
}

/// # Safety
/// `before` is linked in a list; `entry` is not.
unsafe fn link_before(before: *mut ListEntry, entry: *mut ListEntry) {
    // SAFETY: valid list nodes by the contract.
    unsafe {
        let prev = (*before).blink;
        (*entry).flink = before;
        (*entry).blink = prev;
        (*prev).flink = entry;
        (*before).blink = entry;
    }
}

/// # Safety
/// `entry` is linked in a list.
unsafe fn unlink(entry: *mut ListEntry) {
    // SAFETY: valid list node by the contract.
    unsafe {
        let (f, b) = ((*entry).flink, (*entry).blink);
        (*b).flink = f;
        (*f).blink = b;
        (*entry).flink = ptr::null_mut();
        (*entry).blink = ptr::null_mut();
    }
}

fn entry_of(link: *mut ListEntry) -> *mut KDeviceQueueEntry {
    // `device_list_entry` is the first field of the entry.
    link.cast::<KDeviceQueueEntry>()
}

/// `KeInsertDeviceQueue`: not busy → set busy, do not queue (`Inserted = FALSE`), return
/// false; busy → append at the tail (`Inserted = TRUE`), return true.
///
/// # Safety
/// `queue` is an initialised device queue; `entry` is not in any queue.
pub unsafe fn ke_insert_device_queue(queue: *mut KDeviceQueue, entry: *mut KDeviceQueueEntry) -> bool {
    // SAFETY: valid queue and entry; list changes happen under the queue lock.
    unsafe {
        locked(queue, || {
            if (*queue).busy == FALSE {
                (*queue).busy = TRUE;
                (*entry).inserted = FALSE;
                false
            } else {
                link_before(&raw mut (*queue).device_list_head, &raw mut (*entry).device_list_entry);
                (*entry).inserted = TRUE;
                true
            }
        })
    }
}

/// `KeInsertByKeyDeviceQueue`: stores `sort_key` in the entry; not busy → as
/// [`ke_insert_device_queue`]; busy → inserts after every entry whose key is
/// `<= sort_key` (equal keys stay FIFO) and sets `Inserted = TRUE`.
///
/// # Safety
/// As [`ke_insert_device_queue`].
pub unsafe fn ke_insert_by_key_device_queue(
    queue: *mut KDeviceQueue,
    entry: *mut KDeviceQueueEntry,
    sort_key: u32,
) -> bool {
    // SAFETY: valid queue and entry; list changes happen under the queue lock.
    unsafe {
        locked(queue, || {
            (*entry).sort_key = sort_key;
            if (*queue).busy == FALSE {
                (*queue).busy = TRUE;
                (*entry).inserted = FALSE;
                return false;
            }
            let head = &raw mut (*queue).device_list_head;
            let mut at = (*head).flink;
            while at != head && (*entry_of(at)).sort_key <= sort_key {
                at = (*at).flink;
            }
            link_before(at, &raw mut (*entry).device_list_entry);
            (*entry).inserted = TRUE;
            true
        })
    }
}

/// # Safety
/// Called under the queue lock of a busy queue; `pick` returns a linked entry or the head.
unsafe fn remove_where(
    queue: *mut KDeviceQueue,
    pick: impl FnOnce(*mut ListEntry) -> *mut ListEntry,
) -> *mut KDeviceQueueEntry {
    // SAFETY: valid queue under its lock.
    unsafe {
        let head = &raw mut (*queue).device_list_head;
        if (*head).flink == head {
            (*queue).busy = FALSE;
            return ptr::null_mut();
        }
        let link = pick(head);
        unlink(link);
        let entry = entry_of(link);
        (*entry).inserted = FALSE;
        entry
    }
}

fn report_not_busy(routine: &'static str) {
    with_current(routine, |k| {
        k.report(
            Rule::DeviceQueueNotBusy,
            routine,
            ptr::null_mut(),
            format!("{routine} was called on a device queue that is not busy"),
        )
    });
}

/// `KeRemoveDeviceQueue`: on a busy queue, removes and returns the head (clearing its
/// `Inserted`; the queue stays busy), or — when empty — clears busy and returns null.
/// On a queue that is not busy it is bug check 0x2 DEVICE_QUEUE_NOT_BUSY (reported; null).
///
/// # Safety
/// `queue` is an initialised device queue.
pub unsafe fn ke_remove_device_queue(queue: *mut KDeviceQueue) -> *mut KDeviceQueueEntry {
    // SAFETY: valid queue; list changes happen under the queue lock.
    let r = unsafe {
        locked(queue, || {
            if (*queue).busy == FALSE {
                return Err(());
            }
            Ok(remove_where(queue, |head| (*head).flink))
        })
    };
    r.unwrap_or_else(|()| {
        report_not_busy("KeRemoveDeviceQueue");
        ptr::null_mut()
    })
}

/// # Safety
/// Under the queue lock of a busy, non-empty queue.
unsafe fn by_key(head: *mut ListEntry, sort_key: u32) -> *mut ListEntry {
    // SAFETY: valid list under its lock.
    unsafe {
        let mut at = (*head).flink;
        while at != head {
            if (*entry_of(at)).sort_key >= sort_key {
                return at;
            }
            at = (*at).flink;
        }
        (*head).flink
    }
}

/// `KeRemoveByKeyDeviceQueue`: on a busy queue, removes the first entry whose key is
/// `>= sort_key`, or the head if there is none (wrap-around, as an elevator); empty →
/// clears busy, null. Not busy → 0x2 DEVICE_QUEUE_NOT_BUSY (reported; null).
///
/// # Safety
/// `queue` is an initialised device queue.
pub unsafe fn ke_remove_by_key_device_queue(queue: *mut KDeviceQueue, sort_key: u32) -> *mut KDeviceQueueEntry {
    // SAFETY: valid queue; list changes happen under the queue lock.
    let r = unsafe {
        locked(queue, || {
            if (*queue).busy == FALSE {
                return Err(());
            }
            Ok(remove_where(queue, |head| by_key(head, sort_key)))
        })
    };
    r.unwrap_or_else(|()| {
        report_not_busy("KeRemoveByKeyDeviceQueue");
        ptr::null_mut()
    })
}

/// `KeRemoveByKeyDeviceQueueIfBusy`: like [`ke_remove_by_key_device_queue`], but a queue
/// that is not busy is not an error: it returns null.
///
/// # Safety
/// `queue` is an initialised device queue.
pub unsafe fn ke_remove_by_key_device_queue_if_busy(queue: *mut KDeviceQueue, sort_key: u32) -> *mut KDeviceQueueEntry {
    // SAFETY: valid queue; list changes happen under the queue lock.
    unsafe {
        locked(queue, || {
            if (*queue).busy == FALSE {
                return ptr::null_mut();
            }
            remove_where(queue, |head| by_key(head, sort_key))
        })
    }
}

/// `KeRemoveEntryDeviceQueue`: if `entry` is inserted, unlinks it, clears `Inserted` and
/// returns true; otherwise returns false. Never changes busy.
///
/// # Safety
/// `queue` is an initialised device queue; `entry` is in it or in no queue.
pub unsafe fn ke_remove_entry_device_queue(queue: *mut KDeviceQueue, entry: *mut KDeviceQueueEntry) -> bool {
    // SAFETY: valid queue and entry; list changes happen under the queue lock.
    unsafe {
        locked(queue, || {
            if (*entry).inserted == FALSE {
                return false;
            }
            unlink(&raw mut (*entry).device_list_entry);
            (*entry).inserted = FALSE;
            true
        })
    }
}

/// Whether `entry` is linked in `queue` (a walk under the queue lock; for the verifier).
///
/// # Safety
/// `queue` is an initialised device queue.
pub(crate) unsafe fn contains(queue: *mut KDeviceQueue, entry: *mut KDeviceQueueEntry) -> bool {
    // SAFETY: valid queue; the lock word is only touched atomically.
    let lock = unsafe { &(*queue).lock };
    let held_here = lock.0.load(crate::sync::atomic::Ordering::Relaxed) == crate::kernel::thread_token();
    let walk = || {
        // SAFETY: valid queue, walked under its lock (or by the thread holding it).
        unsafe {
            let head = &raw mut (*queue).device_list_head;
            if (*head).flink.is_null() {
                return false;
            }
            let mut at = (*head).flink;
            while at != head {
                if entry_of(at) == entry {
                    return true;
                }
                at = (*at).flink;
            }
            false
        }
    };
    if held_here {
        walk()
    } else {
        // SAFETY: forwarded contract.
        unsafe { locked(queue, walk) }
    }
}
