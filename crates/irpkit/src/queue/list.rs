//! The intrusive, doubly linked, circular list (`LIST_ENTRY`), once.
//!
//! [`ListEntry`] is the C structure (two pointers, `Flink` then `Blink`) that C drivers see
//! inside `KDEVICE_QUEUE`, `IRP.Tail.Overlay.ListEntry` and the other NT structures; its
//! layout is checked by `irpkit-wdm`'s layout tests and must not change. [`List`] is a
//! view of one list through its head, with the NT list routines' semantics
//! (`InitializeListHead`, `IsListEmpty`, `InsertTailList`, `InsertHeadList`,
//! `RemoveEntryList`, `RemoveHeadList`) and the walks the queues need.
//!
//! # Invariants
//! - **Shape.** An initialised head and the entries linked through it form a ring:
//!   for every node `n` of the ring, `(*(*n).flink).blink == n` and
//!   `(*(*n).blink).flink == n`. An empty list is a head linked to itself.
//! - **Ownership.** A linked entry belongs to the structure that owns the head (a device
//!   queue, a cancel-safe queue) for as long as it is linked: its memory stays valid and
//!   in place until it is removed, and nobody but that owner touches its links. Removing
//!   an entry hands it back to whoever the owner's protocol says (the remover); the list
//!   itself never frees anything.
//! - **Lock.** Every operation that reads or writes links runs with the owner's lock held
//!   (the queue lock: a device queue's spin lock, a cancel-safe queue's lock). The list
//!   has no lock of its own and no atomics: the lock is what makes the plain reads and
//!   writes of `flink`/`blink` race-free.
//!
//! Every operation is `unsafe`: the caller guarantees the invariants above for the list
//! it names, and the per-operation conditions in each `# Safety` section. [`List`] is
//! public (as `irpkit::nt::List`) for the C host's `ExInterlocked*List` exports.

use core::ptr::{self, NonNull};

/// `LIST_ENTRY`: a node of a doubly linked, circular list.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ListEntry {
    /// `Flink`: the next entry.
    pub flink: *mut ListEntry,
    /// `Blink`: the previous entry.
    pub blink: *mut ListEntry,
}

impl ListEntry {
    /// An unlinked entry (both links null).
    #[inline]
    pub const fn null() -> Self {
        ListEntry { flink: ptr::null_mut(), blink: ptr::null_mut() }
    }
}

/// A list, named by its head: a copyable view, not an owner.
///
/// The list has no lock of its own: whoever owns the head owns the entries linked through
/// it and runs every operation under its own lock (or on memory no other thread can
/// reach). While an entry is linked it stays valid and in place, and only the owner
/// touches its links; removing it hands it back to the remover. Every operation is
/// `unsafe` for that reason: the caller guarantees it for the list it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct List {
    head: NonNull<ListEntry>,
}

impl List {
    /// The list whose head is `head`.
    ///
    /// # Safety
    /// `head` points to a `ListEntry` that stays valid and in place for as long as this
    /// view (or a copy) is used; it is initialised (see [`init`](Self::init)) before any
    /// other operation.
    #[inline]
    pub unsafe fn from_head(head: *mut ListEntry) -> List {
        List { head: NonNull::new(head).expect("a list head is never null") }
    }

    /// The head.
    #[inline]
    pub fn head(self) -> *mut ListEntry {
        self.head.as_ptr()
    }

    /// `InitializeListHead`: makes the list empty (the head linked to itself). Entries
    /// that were linked are forgotten, not unlinked.
    ///
    /// # Safety
    /// Nobody else uses the list meanwhile (it is new, or the owner's lock is held).
    #[inline]
    pub unsafe fn init(self) {
        let head = self.head();
        // SAFETY: a valid head by `from_head`'s contract, exclusively ours by this one.
        unsafe {
            (*head).flink = head;
            (*head).blink = head;
        }
    }

    /// `IsListEmpty`.
    ///
    /// # Safety
    /// An initialised list, under its owner's lock.
    #[inline]
    pub unsafe fn is_empty(self) -> bool {
        // SAFETY: a valid head, read under the lock that orders its writes.
        unsafe { (*self.head()).flink == self.head() }
    }

    /// Whether the head was ever initialised (a zeroed head has null links). For code
    /// that inspects a queue it did not set up (the verifier).
    ///
    /// # Safety
    /// As [`is_empty`](Self::is_empty), except that the head may be zeroed.
    #[inline]
    pub unsafe fn is_initialised(self) -> bool {
        // SAFETY: a valid head under the lock.
        unsafe { !(*self.head()).flink.is_null() }
    }

    /// The entry after `at` (`None`: from the head), or `None` at the end of the list.
    ///
    /// # Safety
    /// An initialised list under its owner's lock; `at`, if given, is linked in it.
    #[inline]
    pub unsafe fn next(self, at: Option<*mut ListEntry>) -> Option<*mut ListEntry> {
        // SAFETY: `at` (or the head) is a node of the ring, valid while linked.
        let next = unsafe { (*at.unwrap_or(self.head())).flink };
        (next != self.head()).then_some(next)
    }

    /// The entry before `at` (`None`: from the head, i.e. the tail), or `None` at the
    /// front of the list.
    ///
    /// # Safety
    /// As [`next`](Self::next).
    #[inline]
    pub unsafe fn prev(self, at: Option<*mut ListEntry>) -> Option<*mut ListEntry> {
        // SAFETY: `at` (or the head) is a node of the ring, valid while linked, read under
        // the owner's lock.
        let prev = unsafe { (*at.unwrap_or(self.head())).blink };
        (prev != self.head()).then_some(prev)
    }

    /// The first entry.
    ///
    /// # Safety
    /// As [`next`](Self::next).
    #[inline]
    pub unsafe fn first(self) -> Option<*mut ListEntry> {
        // SAFETY: forwarded contract.
        unsafe { self.next(None) }
    }

    /// The first entry after `after` (`None`: from the head) for which `pred` holds.
    ///
    /// # Safety
    /// As [`next`](Self::next); `pred` does not change the list.
    #[inline]
    pub unsafe fn find(
        self,
        after: Option<*mut ListEntry>,
        mut pred: impl FnMut(*mut ListEntry) -> bool,
    ) -> Option<*mut ListEntry> {
        // SAFETY: forwarded contract; each `at` is linked while we walk.
        unsafe {
            let mut at = self.next(after);
            while let Some(e) = at {
                if pred(e) {
                    return Some(e);
                }
                at = self.next(Some(e));
            }
        }
        None
    }

    /// Calls `f` on each entry, head first, until it returns false.
    ///
    /// # Safety
    /// As [`find`](Self::find).
    #[inline]
    pub unsafe fn walk(self, mut f: impl FnMut(*mut ListEntry) -> bool) {
        // SAFETY: forwarded contract.
        unsafe { self.find(None, |e| !f(e)) };
    }

    /// Where an entry goes that must come after every entry for which `stays_before`
    /// holds, searched from the tail: the node to insert before (the head: at the tail;
    /// for a list sorted by key with `stays_before = key <= k`, this keeps equal keys
    /// FIFO and appends in O(1) when the new key is the largest).
    ///
    /// # Safety
    /// As [`find`](Self::find).
    #[inline]
    pub unsafe fn position_from_tail(self, mut stays_before: impl FnMut(*mut ListEntry) -> bool) -> *mut ListEntry {
        let mut before = self.head();
        // SAFETY: forwarded contract; `before` is always a node of the ring.
        unsafe {
            while let Some(prev) = self.prev(Some(before)).filter(|&p| !stays_before(p)) {
                before = prev;
            }
        }
        before
    }

    /// The first entry (from the head) for which `goes_after` holds — the node a new
    /// entry goes before — or the head if none does.
    ///
    /// # Safety
    /// As [`find`](Self::find).
    #[inline]
    pub unsafe fn position_from_head(self, goes_after: impl FnMut(*mut ListEntry) -> bool) -> *mut ListEntry {
        // SAFETY: forwarded contract.
        unsafe { self.find(None, goes_after).unwrap_or(self.head()) }
    }

    /// Links `entry` just before `before` (a linked entry, or the head: at the tail).
    ///
    /// # Safety
    /// An initialised list under its owner's lock; `before` is its head or linked in it;
    /// `entry` is valid, not linked in any list, and from now on belongs to the list's
    /// owner (it stays valid and in place until it is removed).
    #[inline]
    pub unsafe fn insert_before(self, before: *mut ListEntry, entry: *mut ListEntry) {
        // SAFETY: `before` and its predecessor are nodes of the ring; `entry` is ours to
        // link. Four writes keep the ring shape.
        unsafe {
            let prev = (*before).blink;
            (*entry).flink = before;
            (*entry).blink = prev;
            (*prev).flink = entry;
            (*before).blink = entry;
        }
    }

    /// `InsertTailList`.
    ///
    /// # Safety
    /// As [`insert_before`](Self::insert_before).
    #[inline]
    pub unsafe fn push_back(self, entry: *mut ListEntry) {
        // SAFETY: forwarded contract; the head is a node of the ring.
        unsafe { self.insert_before(self.head(), entry) }
    }

    /// `InsertHeadList`.
    ///
    /// # Safety
    /// As [`insert_before`](Self::insert_before).
    #[inline]
    pub unsafe fn push_front(self, entry: *mut ListEntry) {
        // SAFETY: forwarded contract; the head's successor is a node of the ring.
        unsafe { self.insert_before((*self.head()).flink, entry) }
    }

    /// `RemoveEntryList`: unlinks `entry` from whatever list it is in; returns whether
    /// that list is empty now. The entry's own links are left as they were (as NT leaves
    /// them); [`unlink`](Self::unlink) also clears them.
    ///
    /// # Safety
    /// `entry` is linked in an initialised list whose owner's lock the caller holds; the
    /// entry goes back to the caller (the list no longer refers to it).
    #[inline]
    pub unsafe fn remove(entry: *mut ListEntry) -> bool {
        // SAFETY: both neighbours are nodes of the ring; two writes close it around the
        // entry.
        unsafe {
            let (f, b) = ((*entry).flink, (*entry).blink);
            (*b).flink = f;
            (*f).blink = b;
            f == b
        }
    }

    /// Unlinks `entry` (as [`remove`](Self::remove)) and nulls its links, so that nothing
    /// can follow them back into the list.
    ///
    /// # Safety
    /// As [`remove`](Self::remove).
    #[inline]
    pub unsafe fn unlink(entry: *mut ListEntry) {
        // SAFETY: forwarded contract; the entry is the caller's once removed.
        unsafe {
            Self::remove(entry);
            *entry = ListEntry::null();
        }
    }

    /// `RemoveHeadList`, except that an empty list gives `None` (NT returns the head):
    /// unlinks and returns the first entry, links left as they were.
    ///
    /// # Safety
    /// An initialised list under its owner's lock; the entry goes back to the caller.
    #[inline]
    pub unsafe fn pop_front(self) -> Option<*mut ListEntry> {
        // SAFETY: forwarded contract; the first entry is linked.
        unsafe {
            let first = self.first()?;
            Self::remove(first);
            Some(first)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline]
    fn walk(list: List) -> Vec<*mut ListEntry> {
        let mut out = Vec::new();
        // SAFETY: a test list on this thread only.
        unsafe {
            list.walk(|e| {
                out.push(e);
                true
            })
        };
        out
    }

    #[test]
    #[inline]
    fn ring_operations_keep_the_nt_semantics() {
        let mut nodes: Vec<Box<ListEntry>> = (0..4).map(|_| Box::new(ListEntry::null())).collect();
        let p: Vec<*mut ListEntry> = nodes.iter_mut().map(|n| &raw mut **n).collect();
        let mut head = Box::new(ListEntry::null());
        // SAFETY: a head and entries owned by this test, used on this thread only; every
        // entry is linked at most once at a time.
        unsafe {
            let list = List::from_head(&raw mut *head);
            assert!(!list.is_initialised());
            list.init();
            assert!(list.is_empty() && list.first().is_none() && list.is_initialised());
            list.push_back(p[1]);
            list.push_front(p[0]);
            list.push_back(p[3]);
            list.insert_before(p[3], p[2]);
            assert_eq!(walk(list), p);
            assert_eq!(list.prev(None), Some(p[3]));
            assert_eq!(list.prev(Some(p[0])), None);
            assert_eq!(list.find(Some(p[0]), |e| e == p[2]), Some(p[2]));
            assert_eq!(list.position_from_tail(|e| e == p[1] || e == p[0]), p[2]);
            assert_eq!(list.position_from_head(|e| e == p[1]), p[1]);
            assert_eq!(list.position_from_head(|_| false), list.head());
            assert!(!List::remove(p[1]));
            assert_eq!((*p[1]).flink, p[2], "RemoveEntryList leaves the entry's links");
            List::unlink(p[2]);
            assert!((*p[2]).flink.is_null() && (*p[2]).blink.is_null());
            assert_eq!(walk(list), vec![p[0], p[3]]);
            assert_eq!(list.pop_front(), Some(p[0]));
            assert!(List::remove(p[3]), "the last removal empties the list");
            assert!(list.is_empty() && list.pop_front().is_none());
        }
    }
}
