//! The requester's part of an IRP header: a slot the requester side (`crate::io`) fills
//! with its own link, of a type the NT layer does not name, and the single-winner
//! exchange that decides who settles it.
//!
//! Invariants:
//! - the slot is written only by the IRP's owner: the requester before it sends the IRP,
//!   and the final stage of completion (or the IRP's reuse) when it takes it back;
//! - whichever of the final stage ([`FINAL_STAGE`]) and the issuing thread's exit
//!   ([`THREAD_EXIT`]) wins the header's `requester_state` exchange settles the requester
//!   side; the other sees that it lost. Exactly one of them wins.
//!
//! No lock: the slot is owned (by whoever owns the IRP) and the state is one atomic.

use core::mem::{ManuallyDrop, MaybeUninit};

use crate::nt::exchange::Party;
use crate::nt::kernel::KernelShared;
use crate::nt::types::Irp;

/// What the requester side attaches to an IRP it issues. The NT layer calls it once, at
/// the end of the IRP's completion, unless the issuing thread's exit disassociated the
/// IRP first (then the link is dropped without being called).
pub(crate) trait RequesterLink: Send + 'static {
    /// The completion of `irp` finished; `delivered` says whether its result reached the
    /// requester (status block, event).
    ///
    /// # Safety
    /// `irp` is the live IRP this link was attached to, at its final stage.
    unsafe fn completed(self, k: &KernelShared, irp: *mut Irp, delivered: bool);
}

/// Room for the link, in machine words.
#[cfg(not(any(loom, shuttle)))]
const SLOT_WORDS: usize = 10;
/// Under the model checkers their `Arc`s and locks are bigger; memory does not matter there.
#[cfg(any(loom, shuttle))]
const SLOT_WORDS: usize = 64;

/// How to finish or drop the link in a slot, for the link's type.
struct SlotVTable {
    completed: unsafe fn(*mut u8, &KernelShared, *mut Irp, bool),
    drop: unsafe fn(*mut u8),
}

/// The vtable of each link type.
trait HasSlotVTable {
    const VTABLE: &'static SlotVTable;
}

impl<L: RequesterLink> HasSlotVTable for L {
    const VTABLE: &'static SlotVTable = &SlotVTable { completed: completed_thunk::<L>, drop: drop_thunk::<L> };
}

/// # Safety
/// `p` holds a live `L`, which this call moves out.
unsafe fn completed_thunk<L: RequesterLink>(p: *mut u8, k: &KernelShared, irp: *mut Irp, delivered: bool) {
    // SAFETY: by the contract `p` holds a live `L`, read once (the slot forgets it).
    let link = unsafe { p.cast::<L>().read() };
    // SAFETY: forwarded contract of `RequesterSlot::completed`.
    unsafe { link.completed(k, irp, delivered) }
}

/// # Safety
/// `p` holds a live `L`, dropped here.
unsafe fn drop_thunk<L>(p: *mut u8) {
    // SAFETY: by the contract `p` holds a live `L`, dropped once (the slot forgets it).
    unsafe { core::ptr::drop_in_place(p.cast::<L>()) }
}

/// A requester link of a type the NT layer does not name, stored in place (no
/// allocation): `SLOT_WORDS` words and the type's finish and drop functions.
pub(crate) struct RequesterSlot {
    words: MaybeUninit<[usize; SLOT_WORDS]>,
    /// `Some` exactly when `words` holds a link, of the type this vtable was made for.
    vtable: Option<&'static SlotVTable>,
}

// Nothing in a slot can be reached through a shared reference (every method that touches
// the link takes `&mut self` or `self`), and `put` takes only `Send` links, so the slot
// is `Send` and `Sync` as its fields already make it.

impl RequesterSlot {
    /// An empty slot.
    pub(crate) const EMPTY: RequesterSlot = RequesterSlot { words: MaybeUninit::uninit(), vtable: None };

    /// Whether a link is stored.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.vtable.is_none()
    }

    /// Stores `link`, dropping the one stored before, if any.
    #[inline]
    pub(crate) fn put<L: RequesterLink>(&mut self, link: L) {
        const {
            assert!(core::mem::size_of::<L>() <= core::mem::size_of::<[usize; SLOT_WORDS]>());
            assert!(core::mem::align_of::<L>() <= core::mem::align_of::<usize>());
        }
        self.clear();
        // SAFETY: the words are big and aligned enough for an `L` (checked above) and hold
        // nothing (the slot was just emptied); the vtable recorded next is `L`'s.
        unsafe { self.words.as_mut_ptr().cast::<L>().write(link) };
        self.vtable = Some(L::VTABLE);
    }

    /// Drops the stored link, if any, leaving the slot empty.
    #[inline]
    pub(crate) fn clear(&mut self) {
        if let Some(vtable) = self.vtable.take() {
            // SAFETY: the vtable was `Some`, so the words hold a live link of its type;
            // taking the vtable first makes this the link's only drop.
            unsafe { (vtable.drop)(self.words.as_mut_ptr().cast()) };
        }
    }

    /// Moves the link out, leaving the slot empty.
    #[inline]
    pub(crate) fn take(&mut self) -> RequesterSlot {
        core::mem::replace(self, RequesterSlot::EMPTY)
    }

    /// Calls the stored link's [`RequesterLink::completed`], consuming it (nothing if
    /// empty).
    ///
    /// # Safety
    /// `irp` is the live IRP the link was attached to, at its final stage.
    #[inline]
    pub(crate) unsafe fn completed(self, k: &KernelShared, irp: *mut Irp, delivered: bool) {
        // The link moves out below: the slot must not drop it again, also if the call
        // unwinds (the link is then dropped by the unwinding thunk).
        let mut this = ManuallyDrop::new(self);
        if let Some(vtable) = this.vtable {
            // SAFETY: `vtable` is `Some`, so the words hold a live link of the vtable's
            // type; the slot is forgotten, so the link is moved out exactly once.
            unsafe { (vtable.completed)(this.words.as_mut_ptr().cast(), k, irp, delivered) };
        }
    }
}

impl Drop for RequesterSlot {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The parties of an IRP's `requester_state` exchange (`nt::exchange`): who settles the
/// requester side. The final stage of its completion, delivering the result to the
/// requester…
pub(crate) const FINAL_STAGE: Party = 1;
/// …or the exit of the thread that issued it, which gave up waiting and disassociated
/// it (its completion is then swallowed).
pub(crate) const THREAD_EXIT: Party = 2;
