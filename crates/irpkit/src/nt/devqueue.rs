//! Device queues (`KDEVICE_QUEUE`): the queue behind IoStartPacket and IoStartNextPacket.
//!
//! `Busy` means "the device is processing a request", not "the list is non-empty": the
//! first insert into an idle queue only marks it busy (the caller starts the request
//! itself); later inserts queue. Every operation runs under the queue's own spin lock.
//! KeRemoveEntryDeviceQueue is the only removal a cancel routine may use.
//!
//! # The key index
//! Windows keeps a by-key queue as a sorted linked list, so an insertion walks the list:
//! O(n). irpkit keeps the same list (C code sees the documented structure) and adds an
//! index beside it: a B-tree from each distinct key to the first and last entry with that
//! key. Keyed inserts and by-key removals then cost O(log k) for k distinct keys. The
//! index hangs off the queue's `Hint` bits (the 56 bits the `Busy` byte shares its word
//! with), is created by the first keyed insertion into an empty queue, and is owned by the
//! kernel (freed when it ends). A plain (unkeyed) insertion into a non-empty indexed queue
//! may break the order, so the index is suspended — the routines fall back to walking the
//! list, exactly as without it — until the queue is empty again.

use core::ptr;

use super::types::*;
use crate::nt::kernel::with_current;
use crate::queue::list::List;
use crate::queue::lock::Held;
use crate::sync::atomic::{AtomicU8, Ordering};
use crate::verifier::Rule;

/// A device queue with null links, to be placed and then initialised with
/// [`ke_initialize_device_queue`].
pub(crate) fn new_device_queue() -> KDeviceQueue {
    KDeviceQueue {
        type_: IO_TYPE_DEVICE_QUEUE,
        size: core::mem::size_of::<KDeviceQueue>() as i16,
        device_list_head: ListEntry::null(),
        lock: KSpinLock::new(),
        busy: AtomicU8::new(FALSE),
        hint: [0; 7],
    }
}

/// `Busy`, read under the queue lock (or as a snapshot without it).
///
/// # Safety
/// `queue` is an initialised device queue.
pub(crate) unsafe fn is_busy(queue: *const KDeviceQueue) -> bool {
    // SAFETY: valid queue; `Busy` is atomic.
    unsafe { (*queue).busy.load(Ordering::Acquire) != FALSE }
}

/// Sets `Busy` (under the queue lock).
///
/// # Safety
/// `queue` is an initialised device queue whose lock the caller holds.
unsafe fn set_busy(queue: *mut KDeviceQueue, busy: bool) {
    // SAFETY: valid queue; `Busy` is atomic.
    unsafe { (*queue).busy.store(if busy { TRUE } else { FALSE }, Ordering::Release) };
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
        (*queue).busy = AtomicU8::new(FALSE);
        (*queue).hint = [0; 7];
        list_of(queue).init();
    }
}

/// The queue's list of entries (its `DeviceListHead`), linked through each entry's
/// `DeviceListEntry`, touched under the queue lock.
///
/// # Safety
/// `queue` points to a device queue (initialised before the list is used).
unsafe fn list_of(queue: *mut KDeviceQueue) -> List {
    // SAFETY: a place inside the queue, which stays where it is while in use.
    unsafe { List::from_head(&raw mut (*queue).device_list_head) }
}

/// Runs `f` with the queue's spin lock held; `what` names the routine for the explorer's
/// trace (empty: the verifier inspecting the queue, not a scheduling point).
///
/// # Safety
/// `queue` is an initialised device queue.
unsafe fn locked<R>(queue: *mut KDeviceQueue, what: &'static str, f: impl FnOnce() -> R) -> R {
    if !what.is_empty() {
        crate::sched::point(what, None);
    }
    // SAFETY: initialised queue; the lock word is only touched atomically.
    let lock = unsafe { &(*queue).lock };
    // Released when dropped, also if `f` unwinds (a strict-mode report, a panicking
    // filter), so a panic never leaves the queue locked.
    let _held = Held::acquire(lock);
    f()
}

fn entry_of(link: *mut ListEntry) -> *mut KDeviceQueueEntry {
    // `device_list_entry` is the first field of the entry.
    link.cast::<KDeviceQueueEntry>()
}

/// One distinct key's run of entries in the sorted list.
#[derive(Debug, Clone, Copy)]
struct Run {
    first: *mut ListEntry,
    last: *mut ListEntry,
    count: u32,
}

/// The key index of one device queue (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct KeyIndex {
    /// False while an unkeyed insertion may have broken the order.
    sorted: bool,
    runs: std::collections::BTreeMap<u32, Run>,
}

// SAFETY: the index's raw pointers are list entries of its queue, used only under the
// queue's spin lock.
unsafe impl Send for KeyIndex {}

/// The index of `queue`, if it has one.
///
/// # Safety
/// Under the queue lock of an initialised queue.
unsafe fn index_of<'a>(queue: *mut KDeviceQueue) -> Option<&'a mut KeyIndex> {
    // SAFETY: the hint bytes are only written by `attach_index` under the queue lock.
    let hint = unsafe { (*queue).hint };
    let mut bytes = [0u8; 8];
    bytes[..7].copy_from_slice(&hint);
    let addr = usize::try_from(u64::from_le_bytes(bytes)).unwrap_or(0);
    // SAFETY: a non-zero hint is a `KeyIndex` owned by the kernel, used only under this
    // queue's lock.
    (addr != 0).then(|| unsafe { &mut *(addr as *mut KeyIndex) })
}

/// Creates and attaches an index to an empty queue (when the pointer fits in the hint).
///
/// # Safety
/// Under the queue lock of an initialised, empty queue without an index.
unsafe fn attach_index<'a>(queue: *mut KDeviceQueue) -> Option<&'a mut KeyIndex> {
    let index = crate::nt::kernel::try_with_current(|k| {
        let mut b = Box::new(KeyIndex { sorted: true, runs: Default::default() });
        let p: *mut KeyIndex = &mut *b;
        crate::sync::lock(&k.queue_indexes).push(b);
        p
    })?;
    let addr = index as usize as u64;
    if addr >> 56 != 0 {
        return None; // does not fit in the hint: stay without an index
    }
    // SAFETY: under the queue lock.
    unsafe { (*queue).hint.copy_from_slice(&addr.to_le_bytes()[..7]) };
    // SAFETY: just created, owned by the kernel, used under this queue's lock.
    Some(unsafe { &mut *index })
}

/// The usable (sorted) index of `queue`.
///
/// # Safety
/// Under the queue lock.
unsafe fn sorted_index<'a>(queue: *mut KDeviceQueue) -> Option<&'a mut KeyIndex> {
    // SAFETY: forwarded contract.
    unsafe { index_of(queue) }.filter(|i| i.sorted)
}

/// # Safety
/// Under the queue lock; `link` is linked in `queue` and the index is sorted.
unsafe fn index_remove(index: &mut KeyIndex, link: *mut ListEntry) {
    // SAFETY: a linked entry of the queue.
    let key = unsafe { (*entry_of(link)).sort_key };
    let std::collections::btree_map::Entry::Occupied(mut run) = index.runs.entry(key) else {
        debug_assert!(false, "indexed entry without a run");
        return;
    };
    let r = run.get_mut();
    if r.count <= 1 {
        run.remove();
        return;
    }
    r.count -= 1;
    // SAFETY: `link` is still linked: its neighbours are valid.
    unsafe {
        if r.first == link {
            r.first = (*link).flink;
        }
        if r.last == link {
            r.last = (*link).blink;
        }
    }
}

/// Called after an entry left the list: an emptied queue gets its index back in order.
///
/// # Safety
/// Under the queue lock.
unsafe fn after_removal(queue: *mut KDeviceQueue) {
    // SAFETY: forwarded contract.
    unsafe {
        if list_of(queue).is_empty() {
            if let Some(index) = index_of(queue) {
                index.sorted = true;
                index.runs.clear();
            }
        }
    }
}

/// `KeInsertDeviceQueue`: not busy → set busy, do not queue (`Inserted = FALSE`), return
/// false; busy → append at the tail (`Inserted = TRUE`), return true.
///
/// # Safety
/// `queue` is an initialised device queue; `entry` is not in any queue.
pub unsafe fn ke_insert_device_queue(queue: *mut KDeviceQueue, entry: *mut KDeviceQueueEntry) -> bool {
    // SAFETY: valid queue and entry; list changes happen under the queue lock.
    unsafe {
        locked(queue, "KeInsertDeviceQueue", || {
            if !is_busy(queue) {
                set_busy(queue, true);
                (*entry).inserted = FALSE;
                false
            } else {
                if let Some(index) = index_of(queue) {
                    index.sorted = false; // unkeyed: the order is no longer known
                }
                list_of(queue).push_back(&raw mut (*entry).device_list_entry);
                (*entry).inserted = TRUE;
                super::coverage::device_queue_changed(entry, true);
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
        locked(queue, "KeInsertByKeyDeviceQueue", || {
            (*entry).sort_key = sort_key;
            if !is_busy(queue) {
                set_busy(queue, true);
                (*entry).inserted = FALSE;
                return false;
            }
            let list = list_of(queue);
            let link = &raw mut (*entry).device_list_entry;
            let empty = list.is_empty();
            let index = match index_of(queue) {
                Some(i) => Some(i).filter(|i| i.sorted),
                None if empty => attach_index(queue),
                None => None,
            };
            match index {
                Some(index) => {
                    if let Some(run) = index.runs.get_mut(&sort_key) {
                        list.insert_before((*run.last).flink, link);
                        run.last = link;
                        run.count += 1;
                    } else {
                        let before = index.runs.range(sort_key..).next().map_or(list.head(), |(_, r)| r.first);
                        list.insert_before(before, link);
                        index.runs.insert(sort_key, Run { first: link, last: link, count: 1 });
                    }
                }
                None => {
                    let before = list.position_from_head(|at| (*entry_of(at)).sort_key > sort_key);
                    list.insert_before(before, link);
                }
            }
            (*entry).inserted = TRUE;
            super::coverage::device_queue_changed(entry, true);
            true
        })
    }
}

/// Removes `link` from the queue's list (and index), clearing its `Inserted`.
///
/// # Safety
/// Under the queue lock; `link` is linked in `queue`.
unsafe fn take(queue: *mut KDeviceQueue, link: *mut ListEntry) -> *mut KDeviceQueueEntry {
    // SAFETY: forwarded contract.
    unsafe {
        if let Some(index) = sorted_index(queue) {
            index_remove(index, link);
        }
        List::unlink(link);
        let entry = entry_of(link);
        (*entry).inserted = FALSE;
        super::coverage::device_queue_changed(entry, false);
        after_removal(queue);
        entry
    }
}

/// # Safety
/// Called under the queue lock of a busy queue; `pick` returns a linked entry.
unsafe fn remove_where(queue: *mut KDeviceQueue, pick: impl FnOnce(List) -> *mut ListEntry) -> *mut KDeviceQueueEntry {
    // SAFETY: valid queue under its lock.
    unsafe {
        let list = list_of(queue);
        if list.is_empty() {
            set_busy(queue, false);
            return ptr::null_mut();
        }
        take(queue, pick(list))
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
        locked(queue, "KeRemoveDeviceQueue", || {
            if !is_busy(queue) {
                return Err(());
            }
            Ok(remove_where(queue, |list| first(list)))
        })
    };
    r.unwrap_or_else(|()| {
        report_not_busy("KeRemoveDeviceQueue");
        ptr::null_mut()
    })
}

/// KeRemoveDeviceQueue for IoStartNextPacket, which documents no error for a queue that
/// is not busy ("if there are no IRPs in the device queue, this routine simply returns"):
/// such a queue gives null, unreported.
///
/// # Safety
/// `queue` is an initialised device queue.
pub(crate) unsafe fn remove_device_queue_if_busy(queue: *mut KDeviceQueue) -> *mut KDeviceQueueEntry {
    // SAFETY: valid queue; list changes happen under the queue lock.
    unsafe {
        locked(queue, "KeRemoveDeviceQueue", || {
            if !is_busy(queue) {
                return ptr::null_mut();
            }
            remove_where(queue, |list| first(list))
        })
    }
}

/// The first entry of a non-empty list.
///
/// # Safety
/// Under the queue lock of a busy, non-empty queue.
unsafe fn first(list: List) -> *mut ListEntry {
    // SAFETY: forwarded contract.
    unsafe { list.first() }.expect("a non-empty queue")
}

/// The first entry whose key is `>= sort_key`, or the first entry.
///
/// # Safety
/// Under the queue lock of a busy, non-empty queue.
unsafe fn by_key(queue: *mut KDeviceQueue, list: List, sort_key: u32) -> *mut ListEntry {
    // SAFETY: valid list under its lock.
    unsafe {
        if let Some(index) = sorted_index(queue) {
            return index.runs.range(sort_key..).next().map_or_else(|| first(list), |(_, r)| r.first);
        }
        list.find(None, |at| (*entry_of(at)).sort_key >= sort_key).unwrap_or_else(|| first(list))
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
        locked(queue, "KeRemoveByKeyDeviceQueue", || {
            if !is_busy(queue) {
                return Err(());
            }
            Ok(remove_where(queue, |list| by_key(queue, list, sort_key)))
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
        locked(queue, "KeRemoveByKeyDeviceQueueIfBusy", || {
            if !is_busy(queue) {
                return ptr::null_mut();
            }
            remove_where(queue, |list| by_key(queue, list, sort_key))
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
        locked(queue, "KeRemoveEntryDeviceQueue", || {
            if (*entry).inserted == FALSE {
                return false;
            }
            take(queue, &raw mut (*entry).device_list_entry);
            true
        })
    }
}
/// Calls `f` on each entry linked in `queue`, head first, until it returns false.
///
/// # Safety
/// Under the queue lock of an initialised device queue (a zeroed one has no entries).
unsafe fn walk_entries(queue: *mut KDeviceQueue, mut f: impl FnMut(*mut KDeviceQueueEntry) -> bool) {
    // SAFETY: valid list under its lock.
    unsafe {
        let list = list_of(queue);
        if list.is_initialised() {
            list.walk(|at| f(entry_of(at)));
        }
    }
}

/// Whether `entry` is linked in `queue` (a walk under the queue lock; for the verifier).
///
/// # Safety
/// `queue` is an initialised device queue.
pub(crate) unsafe fn contains(queue: *mut KDeviceQueue, entry: *mut KDeviceQueueEntry) -> bool {
    // SAFETY: valid queue; the lock word is only touched atomically.
    let lock = unsafe { &(*queue).lock };
    let held_here = lock.0.load(crate::sync::atomic::Ordering::Relaxed) == crate::nt::kernel::thread_token();
    let walk = || {
        let mut found = false;
        // SAFETY: valid queue, walked under its lock (or by the thread holding it).
        unsafe {
            walk_entries(queue, |e| {
                found = e == entry;
                !found
            })
        };
        found
    };
    if held_here {
        walk()
    } else {
        // SAFETY: forwarded contract.
        unsafe { locked(queue, "", walk) }
    }
}

/// Unlinks every entry of `queue` for which `pick` says yes, in one pass under the queue
/// lock (so no other remover can take one of them meanwhile); returns them head first.
/// Each is removed as `KeRemoveEntryDeviceQueue` would remove it.
///
/// # Safety
/// `queue` is an initialised device queue whose lock the caller does not hold; `pick` may
/// read the entries (and what contains them) but not touch the queue.
pub(crate) unsafe fn remove_matching(
    queue: *mut KDeviceQueue,
    what: &'static str,
    mut pick: impl FnMut(*mut KDeviceQueueEntry) -> bool,
) -> Vec<*mut KDeviceQueueEntry> {
    let mut chosen = Vec::new();
    // SAFETY: valid queue, walked and changed under its lock; every chosen entry is
    // linked until `take` unlinks it.
    unsafe {
        locked(queue, what, || {
            walk_entries(queue, |e| {
                if pick(e) {
                    chosen.push(e);
                }
                true
            });
            for &e in &chosen {
                take(queue, &raw mut (*e).device_list_entry);
            }
        })
    };
    chosen
}

/// The entries linked in `queue`, head first (a walk under the queue lock; for the
/// verifier's leak accounting).
///
/// # Safety
/// `queue` is an initialised device queue whose lock the caller does not hold.
pub(crate) unsafe fn entries(queue: *mut KDeviceQueue) -> Vec<*mut KDeviceQueueEntry> {
    let mut out = Vec::new();
    // SAFETY: valid queue, walked under its lock.
    unsafe {
        locked(queue, "", || {
            walk_entries(queue, |e| {
                out.push(e);
                true
            })
        })
    };
    out
}
