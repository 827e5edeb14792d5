//! IRP allocation (a pool with stable addresses), identity, and stack-location routines.
//!
//! # Memory
//! Every IRP irpkit allocates lives in a block `[IrpHeader][IRP][IO_STACK_LOCATION; n]`.
//! Blocks are never returned to the system while their kernel lives: a freed IRP goes
//! back to its kernel's free list for its stack count, so steady-state requests do not
//! touch the allocator, and a stale IRP pointer still points at IRP-shaped memory (the
//! verifier reports its use instead of undefined behaviour).
//!
//! # Pins
//! `IrpHeader::refs` counts one reference for "allocated" plus one per pin. A pin (held
//! by a safe handle that may outlive the IRP's completion, e.g. the creator's cancel
//! handle) keeps the block from being reused. IoFreeIrp drops the "allocated" reference;
//! whoever drops the count to zero puts the block back on the free list: a single-winner
//! protocol on one atomic counter.

use core::alloc::Layout;
use core::ffi::c_void;
use core::ptr;

use super::types::*;
use crate::nt::exchange::Exchange;
use crate::nt::kernel::{self, KernelShared};
use crate::nt::requester::{RequesterLink, RequesterSlot};
use crate::sync::atomic::{AtomicBool, AtomicI8, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use crate::sync::{lock, Arc, Mutex, SpinMutex};
use crate::verifier::{IrpSnapshot, Rule, StackFrame};

const HEADER_MAGIC: u64 = 0x6972_706b_6974_4952; // "irpkitIR"

/// irpkit's bookkeeping in front of every IRP it allocates.
/// An IRP pointer that may cross threads (into a closure, a spawned thread, a list).
/// Only a pointer: reading through it is `unsafe`, as for the raw pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IrpPtr(pub *mut Irp);
// SAFETY: IRPs are handed between threads by design (IoCallDriver, completion on another
// processor); every access through the pointer is the caller's `unsafe`, under NT's rules.
unsafe impl Send for IrpPtr {}
// SAFETY: as for `Send`: sharing the pointer gives no access that is not `unsafe`.
unsafe impl Sync for IrpPtr {}

#[repr(C, align(16))]
pub(crate) struct IrpHeader {
    magic: u64,
    /// The kernel whose pool owns the block (valid while the block exists).
    pub(crate) kernel: *const KernelShared,
    /// Keeps the kernel alive while the IRP is allocated.
    keepalive: Option<Arc<KernelShared>>,
    /// Serial number of the current allocation (`IRP #n`).
    pub(crate) id: AtomicU64,
    /// One for "allocated" plus one per pin.
    refs: AtomicU32,
    /// Whether the IRP is allocated (not freed).
    pub(crate) allocated: AtomicBool,
    /// Stack locations the block has room for.
    capacity: i8,
    /// The driver that allocated the IRP (null: the I/O manager or a requester).
    pub(crate) creator: *mut DriverObject,
    /// The requester side's link for the request this IRP was issued for (`io`), while
    /// it is associated.
    pub(crate) requester: RequesterSlot,
    /// Who settles the requester side: the final stage or the issuing thread's exit.
    pub(crate) requester_state: Exchange,
    /// Where the IRP stands between its creator's completion routine and its creator's
    /// handle, for IRPs irpkit itself creates and sends ([`super::creator`]).
    pub(crate) creator_state: Exchange,
    /// Built by IoBuildSynchronousFsdRequest, IoBuildAsynchronousFsdRequest or
    /// IoBuildDeviceIoControlRequest: not to be reused with IoReuseIrp.
    built: AtomicBool,
    /// Signalled when the creator's completion routine has run.
    pub(crate) creator_done: KEvent,
    /// Bit `n % 64`: stack location `n` was marked pending (IoMarkIrpPending, or the
    /// completion walk's propagation) since its IoCallDriver. Unlike `Control`, the walk
    /// does not clear it, so a dispatch routine's return can still be checked.
    pending_marks: AtomicU64,
    /// The system buffer (and MDL) the I/O manager gave the IRP, with where a buffered
    /// input operation's data goes at completion: freed with the IRP's block.
    pub(crate) buffers: Option<Box<IoManagerBuffers>>,
    /// The routines exchanges through [`exchange_cancel_routine`] have put into
    /// `Irp->CancelRoutine` since the IRP was allocated (addresses; 0: free entry,
    /// [`ROUTINES_SATURATED`] in the last one: more than fit, every routine counts as
    /// exchanged), to tell a routine that got there by a plain store apart. Entries are
    /// only ever added, before the exchange that stores the routine.
    exchanged_routines: [AtomicUsize; 2],
    /// Cancel coverage: where the current request is in its life (see `nt::coverage`).
    /// Untouched unless the kernel records coverage; a std atomic, outside the `sync`
    /// seam: it observes, it does not synchronise the model.
    pub(crate) cover: std::sync::atomic::AtomicU64,
}

const fn header_size() -> usize {
    let s = core::mem::size_of::<IrpHeader>();
    (s + 15) & !15
}

// The memory budget of an IRP (docs/PERFORMANCE.md: bytes per queued IRP): the header
// takes 208 bytes on 64-bit targets, the requester slot included. A field that does not
// fit the padding grows every IRP by 16 bytes; make room elsewhere or change the budget
// knowingly. (The model checkers' types are bigger, and memory does not matter there.)
#[cfg(all(target_pointer_width = "64", not(any(loom, shuttle))))]
const _: () = assert!(header_size() <= 208, "the IRP header grew past its 208-byte budget");

fn block_layout(stack: i8) -> Layout {
    let size = header_size() + core::mem::size_of::<Irp>() + core::mem::size_of::<IoStackLocation>() * stack as usize;
    Layout::from_size_align(size, 16).expect("IRP block layout")
}

/// `IoSizeOfIrp`: bytes of an IRP with `stack_size` stack locations.
pub const fn io_size_of_irp(stack_size: i8) -> usize {
    core::mem::size_of::<Irp>() + core::mem::size_of::<IoStackLocation>() * stack_size as usize
}

/// The irpkit header of `irp`, or `None` if `irp` is null or was not allocated by irpkit.
///
/// # Safety
/// `irp` is null or points to IRP-sized readable memory.
pub(crate) unsafe fn header(irp: *mut Irp) -> Option<*mut IrpHeader> {
    if irp.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees `irp` points to readable IRP memory.
    let flags = unsafe { ptr::read_volatile(&raw const (*irp).allocation_flags) };
    if flags & IRP_ALLOCATED_BY_IRPKIT == 0 {
        return None;
    }
    // SAFETY: irpkit-allocated IRPs have their header `header_size()` bytes before them.
    let h = unsafe { irp.byte_sub(header_size()).cast::<IrpHeader>() };
    // SAFETY: as above, the header is readable.
    (unsafe { (*h).magic } == HEADER_MAGIC).then_some(h)
}

/// The kernel an irpkit IRP header belongs to.
///
/// # Safety
/// `h` is a valid header (from [`header`]); its kernel outlives its blocks.
pub(crate) unsafe fn header_kernel<'a>(h: *mut IrpHeader) -> &'a KernelShared {
    // SAFETY: forwarded contract.
    unsafe { &*(*h).kernel }
}

fn location_bit(location: i8) -> u64 {
    1u64 << (location.rem_euclid(64) as u32)
}

/// Records that stack location `location` of `irp` was marked pending.
///
/// # Safety
/// `irp` is a live IRP (or not irpkit's: then nothing is recorded).
pub(crate) unsafe fn note_pending_mark(irp: *mut Irp, location: i8) {
    // SAFETY: forwarded contract.
    if let Some(h) = unsafe { header(irp) } {
        // SAFETY: a valid header.
        unsafe { (*h).pending_marks.fetch_or(location_bit(location), Ordering::Release) };
    }
}

/// Forgets the pending mark of `location` (IoCallDriver hands the location to a new
/// dispatch routine). Only the IRP's owner writes the marks.
///
/// # Safety
/// `irp` is a live IRP the caller owns.
pub(crate) unsafe fn clear_pending_mark(irp: *mut Irp, location: i8) {
    // SAFETY: forwarded contract.
    if let Some(h) = unsafe { header(irp) } {
        // SAFETY: a valid header; the owner is the only writer now.
        unsafe {
            let m = &(*h).pending_marks;
            let bits = m.load(Ordering::Relaxed);
            if bits & location_bit(location) != 0 {
                m.store(bits & !location_bit(location), Ordering::Relaxed);
            }
        }
    }
}

/// Whether `location` of the request `id` was marked pending; `None` if the memory no
/// longer holds that request (freed and reallocated).
///
/// # Safety
/// `irp` points to irpkit pool memory whose kernel is alive.
pub(crate) unsafe fn location_marked(irp: *mut Irp, location: i8, id: u64) -> Option<bool> {
    // SAFETY: forwarded contract.
    let h = unsafe { header(irp) }?;
    // SAFETY: a valid header. A sequence-lock read: the id before and after the marks.
    unsafe {
        if (*h).id.load(Ordering::Acquire) != id {
            return None;
        }
        let bits = (*h).pending_marks.load(Ordering::Acquire);
        crate::sync::atomic::fence(Ordering::Acquire);
        if (*h).id.load(Ordering::Relaxed) != id {
            return None;
        }
        Some(bits & location_bit(location) != 0)
    }
}

/// What an exchange of `Irp->CancelRoutine` found.
#[derive(Clone, Copy)]
pub(crate) struct Exchanged {
    /// The routine that was set (none: no routine, or IoCancelIrp took it).
    pub(crate) old: Option<DriverCancel>,
    /// `old` got into the slot by a plain store (`Irp->CancelRoutine = ...`): no exchange
    /// ever put that routine into this IRP.
    pub(crate) plain_store: bool,
}

/// Marks the header's routine record full: every routine counts as exchanged (no code
/// lives at address 1).
const ROUTINES_SATURATED: usize = 1;

/// The exchange of `Irp->CancelRoutine` with `new` behind IoSetCancelRoutine, IoCancelIrp
/// and IoStartPacket, with the record the plain-store check uses.
///
/// A routine is recorded before the exchange that stores it, and the record only grows,
/// so whichever thread's exchange later takes that routine out — the driver replacing A
/// by B, IoCancelIrp racing it on another processor — finds it recorded (the slot's
/// exchange orders the record's write before its read): an exchange is never mistaken for
/// a plain store, in any interleaving. A routine found that no exchange ever put into this
/// IRP got there by a plain store and is reported by the caller. What this cannot see is a
/// plain store of a routine an exchange had already put into the same IRP (the record
/// keeps two routines per IRP; a third makes it accept all).
///
/// Exactly "the routine the previous exchange left" would need the slot's exchange and the
/// record to change in one step: a lock around every exchange, which made loom's search
/// of `loom_two_cancellers_and_driver` 2.5 times as long (six preemptions) for a check
/// that only sharpens diagnostics. This record costs one load on the usual path.
///
/// # Safety
/// `irp` is a live IRP (irpkit's, or any other: then the slot is only exchanged).
pub(crate) unsafe fn exchange_cancel_routine(irp: *mut Irp, new: Option<DriverCancel>) -> Exchanged {
    // SAFETY: forwarded contract.
    let Some(h) = (unsafe { header(irp) }) else {
        // SAFETY: live IRP; the slot is atomic.
        return Exchanged { old: unsafe { (*irp).cancel_routine.exchange(new) }, plain_store: false };
    };
    // SAFETY: a valid header of a live IRP.
    let record = unsafe { &(*h).exchanged_routines };
    if let Some(f) = new {
        record_routine(record, f as usize);
    }
    // SAFETY: live IRP; the slot is atomic.
    let old = unsafe { (*irp).cancel_routine.exchange(new) };
    Exchanged { old, plain_store: old.is_some_and(|f| !routine_recorded(record, f as usize)) }
}

/// Adds `routine` to an IRP's record of exchanged routines (see
/// [`exchange_cancel_routine`]); a full record is marked saturated.
fn record_routine(record: &[AtomicUsize; 2], routine: usize) {
    for entry in record {
        let mut seen = entry.load(Ordering::Acquire);
        loop {
            if seen == routine || seen == ROUTINES_SATURATED {
                return;
            }
            if seen != 0 {
                break; // another routine: try the next entry
            }
            match entry.compare_exchange(0, routine, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(now) => seen = now,
            }
        }
    }
    record[1].store(ROUTINES_SATURATED, Ordering::Release);
}

/// Whether an exchange ever put `routine` into the IRP whose record this is.
fn routine_recorded(record: &[AtomicUsize; 2], routine: usize) -> bool {
    if record[0].load(Ordering::Acquire) == routine {
        return true;
    }
    let last = record[1].load(Ordering::Acquire);
    last == routine || last == ROUTINES_SATURATED
}

/// The IRP that follows a header.
fn irp_of(h: *mut IrpHeader) -> *mut Irp {
    // SAFETY: every header is followed by its IRP within the same block.
    unsafe { h.byte_add(header_size()).cast::<Irp>() }
}

/// The explorer's scheduling point at NT routine `what` working on `irp` (null: on no
/// IRP), naming the IRP by its serial number.
#[inline]
pub(crate) fn sched_point(what: &'static str, irp: *mut Irp) {
    if crate::sched::active() {
        // SAFETY: callers pass null or an IRP whose pool memory is allocated (pool memory
        // is never returned while its kernel lives); `irp_id` only reads the header.
        let id = if irp.is_null() { None } else { unsafe { irp_id(irp) } };
        crate::sched::point(what, id);
    }
}

/// irpkit's serial number of `irp`, if irpkit allocated it.
///
/// # Safety
/// `irp` is null or points to IRP-sized readable memory.
pub(crate) unsafe fn irp_id(irp: *mut Irp) -> Option<u64> {
    // SAFETY: forwarded contract.
    unsafe { header(irp) }.map(|h| {
        // SAFETY: `header` returned a valid header pointer.
        unsafe { (*h).id.load(Ordering::Relaxed) }
    })
}

/// The kernel that owns `irp`, falling back to the calling thread's current kernel for
/// IRPs irpkit did not allocate.
///
/// # Safety
/// `irp` points to IRP-sized readable memory whose kernel (if irpkit-allocated) is alive.
pub(crate) unsafe fn with_irp_kernel<R>(irp: *mut Irp, routine: &'static str, f: impl FnOnce(&KernelShared) -> R) -> R {
    // SAFETY: forwarded contract.
    match unsafe { header(irp) } {
        // SAFETY: the header's kernel outlives every block of its pool.
        Some(h) => f(unsafe { &*(*h).kernel }),
        None => kernel::with_current(routine, |k| f(k)),
    }
}

/// Whether `irp` is an irpkit IRP that has been freed (a use after free).
///
/// # Safety
/// `irp` points to IRP-sized readable memory.
pub(crate) unsafe fn is_freed(irp: *mut Irp) -> bool {
    // SAFETY: forwarded contract.
    match unsafe { header(irp) } {
        // SAFETY: valid header.
        Some(h) => !unsafe { (*h).allocated.load(Ordering::Acquire) },
        None => false,
    }
}

/// A snapshot of `irp` for a verifier report.
///
/// # Safety
/// `irp` is null or points to IRP-sized readable memory (possibly being changed by
/// another thread: the fields are read with volatile reads, for diagnostics only).
pub(crate) unsafe fn snapshot(irp: *mut Irp) -> Option<IrpSnapshot> {
    if irp.is_null() {
        return None;
    }
    // SAFETY: readable IRP memory by the contract.
    let (stack_count, current_location, cancel) = unsafe {
        (
            ptr::read_volatile(&raw const (*irp).stack_count),
            (*irp).current_location.load(Ordering::Relaxed),
            (*irp).cancel.load(Ordering::Relaxed) != 0,
        )
    };
    // SAFETY: as above.
    let id = unsafe { irp_id(irp) }.unwrap_or(0);
    let mut stack = Vec::new();
    for index in 1..=i32::from(stack_count.max(0)) {
        // SAFETY: the IRP has `stack_count` locations after it.
        let sl = unsafe { Irp::stack_location(irp, index) };
        // SAFETY: readable stack location.
        let (major, device, completion) = unsafe {
            (
                ptr::read_volatile(&raw const (*sl).major_function),
                ptr::read_volatile(&raw const (*sl).device_object),
                ptr::read_volatile(&raw const (*sl).completion_routine).is_some(),
            )
        };
        if device.is_null() && !completion && major == 0 {
            continue;
        }
        stack.push(StackFrame {
            index,
            major: major_function_name(major),
            // SAFETY: a device object referenced by a stack location outlives the IRP.
            device: (!device.is_null()).then(|| unsafe { super::device::device_name(device) }),
            has_completion_routine: completion,
        });
    }
    Some(IrpSnapshot { id, address: irp as usize, stack_count, current_location, cancel, stack })
}

/// The free lists of one kernel, by stack count.
pub(crate) struct IrpPool {
    free: SpinMutex<Vec<Vec<*mut IrpHeader>>>,
    blocks: Mutex<Vec<(*mut u8, Layout)>>,
    next_id: AtomicU64,
}

// SAFETY: the raw pointers are blocks owned by the pool; they are handed out and taken
// back under the pool's locks, never aliased mutably by the pool itself.
unsafe impl Send for IrpPool {}
// SAFETY: as above; all shared state is behind mutexes or atomics.
unsafe impl Sync for IrpPool {}

impl IrpPool {
    pub(crate) fn new() -> Self {
        IrpPool { free: SpinMutex::new(Vec::new()), blocks: Mutex::new(Vec::new()), next_id: AtomicU64::new(1) }
    }

    /// IRPs allocated and not freed: a scan of every block (for tests and diagnostics,
    /// so that the request path keeps no counter of its own).
    pub(crate) fn outstanding(&self) -> usize {
        lock(&self.blocks)
            .iter()
            .filter(|(p, _)| {
                // SAFETY: every block starts with its initialised header.
                unsafe { (*p.cast::<IrpHeader>()).allocated.load(Ordering::Acquire) }
            })
            .count()
    }

    /// The IRPs currently allocated, oldest block first.
    pub(crate) fn allocated(&self) -> Vec<*mut Irp> {
        lock(&self.blocks)
            .iter()
            .map(|(p, _)| p.cast::<IrpHeader>())
            .filter(|h| {
                // SAFETY: every block starts with its initialised header.
                unsafe { (**h).allocated.load(Ordering::Acquire) }
            })
            .map(irp_of)
            .collect()
    }

    fn take(&self, stack: i8) -> Option<*mut IrpHeader> {
        let mut free = self.free.lock();
        free.get_mut(stack as usize).and_then(|l| l.pop())
    }

    fn put(&self, h: *mut IrpHeader) {
        // SAFETY: `h` is a block of this pool.
        let cap = unsafe { (*h).capacity } as usize;
        let mut free = self.free.lock();
        if free.len() <= cap {
            free.resize_with(cap + 1, Vec::new);
        }
        free[cap].push(h);
    }
}

impl Drop for IrpPool {
    fn drop(&mut self) {
        let blocks = core::mem::take(&mut *lock(&self.blocks));
        for (p, layout) in blocks {
            // SAFETY: every block was allocated with this layout by `io_allocate_irp`, and
            // the kernel (this pool's owner) is gone, so no IRP of it is in use: each
            // allocated IRP holds a reference that keeps the kernel alive.
            unsafe { std::alloc::dealloc(p, layout) };
        }
    }
}

/// `IoAllocateIrp`: allocates an IRP with `stack_size` stack locations from the calling
/// thread's kernel. The IRP's creator is the driver whose routine is running (none for
/// the I/O manager or test code); only the creator may cancel it.
///
/// Returns null for a stack size outside 1..=127.
pub fn io_allocate_irp(stack_size: i8, _charge_quota: bool) -> *mut Irp {
    kernel::with_current("IoAllocateIrp", |k| allocate_in(k, stack_size))
}

pub(crate) fn allocate_in(k: &Arc<KernelShared>, stack_size: i8) -> *mut Irp {
    super::spinlock::check_irql_at_most(k, DISPATCH_LEVEL, "IoAllocateIrp", ptr::null_mut());
    if stack_size < 1 {
        return ptr::null_mut();
    }
    let pool = &k.pool;
    let h = match pool.take(stack_size) {
        Some(h) => h,
        None => {
            let layout = block_layout(stack_size);
            // SAFETY: the layout has a non-zero size.
            let p = unsafe { std::alloc::alloc(layout) };
            if p.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            lock(&pool.blocks).push((p, layout));
            let h = p.cast::<IrpHeader>();
            // SAFETY: fresh memory of the block's layout, header first.
            unsafe {
                h.write(IrpHeader {
                    magic: HEADER_MAGIC,
                    kernel: Arc::as_ptr(k),
                    keepalive: None,
                    id: AtomicU64::new(0),
                    refs: AtomicU32::new(0),
                    allocated: AtomicBool::new(false),
                    capacity: stack_size,
                    creator: ptr::null_mut(),
                    requester: RequesterSlot::EMPTY,
                    requester_state: Exchange::new(),
                    creator_state: Exchange::new(),
                    built: AtomicBool::new(false),
                    creator_done: super::event::new_event(super::event::EventType::Notification, false),
                    pending_marks: AtomicU64::new(0),
                    buffers: None,
                    exchanged_routines: [AtomicUsize::new(0), AtomicUsize::new(0)],
                    cover: std::sync::atomic::AtomicU64::new(0),
                })
            };
            h
        }
    };
    let id = pool.next_id.fetch_add(1, Ordering::Relaxed);
    // SAFETY: `h` is a free block of this pool: nobody else references it now.
    unsafe {
        (*h).keepalive = Some(k.clone());
        (*h).id.store(id, Ordering::Relaxed);
        // The id changes before the marks are reset: a reader that sees the reset marks
        // also sees the new id (see `location_marked`).
        crate::sync::atomic::fence(Ordering::Release);
        (*h).pending_marks.store(0, Ordering::Relaxed);
        (*h).exchanged_routines[0].store(0, Ordering::Relaxed);
        (*h).exchanged_routines[1].store(0, Ordering::Relaxed);
        (*h).refs.store(1, Ordering::Relaxed);
        (*h).allocated.store(true, Ordering::Release);
        (*h).creator = kernel::current_routine().driver;
        (*h).requester.clear();
        (*h).requester_state.reopen();
        (*h).creator_state.reopen();
        (*h).built.store(false, Ordering::Relaxed);
        (*h).creator_done.header.signal_state.store(0, Ordering::Relaxed);
    }
    let irp = irp_of(h);
    // SAFETY: the block has room for an IRP with `stack_size` locations, which nobody
    // else uses yet.
    unsafe { initialize(irp, io_size_of_irp(stack_size) as u16, stack_size, IRP_ALLOCATED_BY_IRPKIT) };
    crate::nt::observe::irp_allocated(k, irp, stack_size);
    irp
}

/// Memory the I/O manager allocated for a request: a system buffer
/// (`AssociatedIrp.SystemBuffer`), an MDL (`MdlAddress`), and for a buffered input
/// operation the caller's buffer its data is copied to when the request completes.
#[derive(Default)]
pub(crate) struct IoManagerBuffers {
    pub(crate) system: Vec<u8>,
    pub(crate) mdl: Option<Box<super::types::Mdl>>,
    /// The caller's buffer (null: none) and its length.
    pub(crate) copy_to: (*mut c_void, usize),
}

impl IoManagerBuffers {
    /// A system buffer of `length` bytes holding `input` (zeros after it).
    pub(crate) fn with_system_buffer(input: &[u8], length: usize) -> Self {
        let mut system = vec![0u8; input.len().max(length)];
        system[..input.len()].copy_from_slice(input);
        IoManagerBuffers { system, ..Default::default() }
    }

    /// The system buffer's address (null when it is empty).
    pub(crate) fn system_ptr(&mut self) -> *mut c_void {
        if self.system.is_empty() {
            ptr::null_mut()
        } else {
            self.system.as_mut_ptr().cast()
        }
    }

    /// An MDL describing `length` bytes at `va`, mapped and locked (as after
    /// MmProbeAndLockPages; irpkit's memory is always mapped).
    pub(crate) fn describe(&mut self, va: *mut c_void, length: usize) -> *mut c_void {
        const PAGE: usize = 4096;
        let offset = va as usize % PAGE;
        let mdl = self.mdl.insert(Box::new(super::types::Mdl {
            next: ptr::null_mut(),
            size: core::mem::size_of::<super::types::Mdl>() as i16,
            mdl_flags: super::types::MDL_MAPPED_TO_SYSTEM_VA | super::types::MDL_PAGES_LOCKED,
            process: ptr::null_mut(),
            mapped_system_va: va,
            start_va: va.cast::<u8>().wrapping_sub(offset).cast(),
            byte_count: u32::try_from(length).unwrap_or(u32::MAX),
            byte_offset: offset as u32,
        }));
        (&mut **mdl as *mut super::types::Mdl).cast()
    }
}

/// Gives `irp` the buffers the I/O manager allocated for it (kept until the IRP is freed).
///
/// # Safety
/// `irp` is an irpkit IRP owned by the caller, not yet sent, without buffers yet.
pub(crate) unsafe fn set_buffers(irp: *mut Irp, buffers: Box<IoManagerBuffers>) {
    // SAFETY: forwarded contract.
    let h = unsafe { header(irp) }.expect("an irpkit IRP");
    // SAFETY: the caller owns the IRP.
    unsafe { (*h).buffers = Some(buffers) };
}

/// The final stage's copy of a buffered input operation: `Information` bytes (at most the
/// caller's length) from the system buffer to the caller's buffer.
///
/// # Safety
/// `irp` is a live IRP at its final stage, owned by the caller; a caller's buffer it
/// names is still valid.
pub(crate) unsafe fn copy_buffered_output(irp: *mut Irp) {
    // SAFETY: forwarded contract.
    let Some(h) = (unsafe { header(irp) }) else { return };
    // SAFETY: the caller owns the IRP at its final stage; nothing else touches its buffers.
    unsafe {
        let Some(b) = (*h).buffers.as_ref() else { return };
        let (to, length) = b.copy_to;
        if to.is_null() || (*irp).flags & super::types::IRP_INPUT_OPERATION == 0 {
            return;
        }
        let n = (*irp).io_status.information.min(length).min(b.system.len());
        ptr::copy_nonoverlapping(b.system.as_ptr(), to.cast::<u8>(), n);
    }
}

/// Marks `irp` as built by one of the IoBuild*Request routines.
///
/// # Safety
/// `irp` is a fresh irpkit IRP owned by the caller.
pub(crate) unsafe fn mark_built(irp: *mut Irp) {
    // SAFETY: forwarded contract.
    if let Some(h) = unsafe { header(irp) } {
        // SAFETY: a valid header.
        unsafe { (*h).built.store(true, Ordering::Relaxed) };
    }
}

/// `IoInitializeIrp`: initialises an IRP the caller allocated as raw memory — `packet_size`
/// bytes (at least [`io_size_of_irp`]`(stack_size)`), zeroed, then `Type`, `Size`
/// (= `packet_size`), `StackCount`, `CurrentLocation` = `StackCount + 1` and the current
/// stack location one past the last, as Microsoft documents it.
///
/// The IRP is the caller's, not irpkit's: it has no irpkit header, so no serial number in
/// reports, IoFreeIrp does not take it, and the final stage of IoCompleteRequest does not
/// free it — its creator frees or reuses the memory once its completion routine returned
/// `STATUS_MORE_PROCESSING_REQUIRED` or the walk is over. To reuse it, call this again or
/// [`io_reuse_irp`]. Microsoft says not to use it on an IRP from [`io_allocate_irp`] (use
/// [`io_reuse_irp`]): irpkit's mark in `AllocationFlags` would be lost, so IoFreeIrp would
/// report the IRP and its block would stay in use until the kernel ends.
///
/// A `packet_size` too small for `stack_size` locations, or a `stack_size` below 1, is
/// reported (`invalid-irp`) and nothing is written; a report needs the calling thread to
/// have entered a kernel.
///
/// # Safety
/// `irp` points to `packet_size` writable bytes, aligned for an [`Irp`], that nobody else
/// uses (an IRP being initialised belongs to no one yet).
pub unsafe fn io_initialize_irp(irp: *mut Irp, packet_size: u16, stack_size: i8) {
    const R: &str = "IoInitializeIrp";
    if irp.is_null() || stack_size < 1 || usize::from(packet_size) < io_size_of_irp(stack_size) {
        kernel::with_current(R, |k| {
            k.report(
                Rule::InvalidIrp,
                R,
                ptr::null_mut(),
                format!(
                    "IoInitializeIrp({irp:p}, PacketSize {packet_size}, StackSize {stack_size}): an IRP with {stack_size} stack location(s) needs IoSizeOfIrp = {} bytes",
                    io_size_of_irp(stack_size.max(0))
                ),
            )
        });
        return;
    }
    kernel::try_with_current(|k| super::spinlock::check_irql_at_most(k, DISPATCH_LEVEL, R, ptr::null_mut()));
    // SAFETY: `packet_size` writable bytes by the contract.
    unsafe { ptr::write_bytes(irp.cast::<u8>(), 0, usize::from(packet_size)) };
    // SAFETY: as above; `packet_size` covers the IRP and its stack locations.
    unsafe { initialize(irp, packet_size, stack_size, 0) };
}

/// Writes a fresh IRP with `stack_size` zeroed locations at `irp`: `CurrentLocation` is
/// `stack_size + 1` and the current stack location one past the last.
///
/// # Safety
/// `irp` points to writable memory of at least `io_size_of_irp(stack_size)` bytes that
/// nobody else uses.
unsafe fn initialize(irp: *mut Irp, packet_size: u16, stack_size: i8, allocation_flags: u8) {
    // SAFETY: writable IRP memory by the contract. Written field by field as a value so
    // the atomics are constructed properly (also under loom).
    unsafe {
        irp.write(Irp {
            type_: IO_TYPE_IRP,
            size: packet_size,
            mdl_address: ptr::null_mut(),
            flags: 0,
            associated_irp: ptr::null_mut(),
            thread_list_entry: ListEntry::null(),
            io_status: IoStatusBlock::default(),
            requestor_mode: 0,
            pending_returned: FALSE,
            stack_count: stack_size,
            current_location: AtomicI8::new(stack_size + 1),
            cancel: AtomicU8::new(FALSE),
            cancel_irql: AtomicU8::new(0),
            apc_environment: 0,
            allocation_flags,
            user_iosb: ptr::null_mut(),
            user_event: ptr::null_mut(),
            overlay: IrpOverlay { user_apc_routine: ptr::null_mut(), user_apc_context: ptr::null_mut() },
            cancel_routine: CancelRoutineSlot::empty(),
            user_buffer: ptr::null_mut(),
            tail: IrpTail { apc: [0; 11] },
        });
        let first = Irp::stack_location(irp, 1);
        ptr::write_bytes(first, 0, stack_size as usize);
        // CurrentStackLocation starts one past the last location.
        *Irp::current_stack_slot(irp) = first.add(stack_size as usize);
    }
}

/// `IoReuseIrp`: reinitialises an IRP its creator allocated — with [`io_allocate_irp`], or
/// as raw memory set up by [`io_initialize_irp`] — so that it can be sent again: every
/// field as IoInitializeIrp leaves it (`Cancel` clear, no cancel routine, `PendingReturned`
/// clear, no status block, event or thread, `CurrentLocation` = `StackCount + 1`, the
/// current stack location one past the last, the stack locations zeroed), except that
/// `Size`, `StackCount` and `AllocationFlags` are kept and `IoStatus.Status` is `status`.
///
/// An irpkit IRP keeps its allocation — its block, pins, creator and kernel — but starts a
/// new request: it gets a new serial number (`IRP #n` names a request in reports and
/// timelines, and the checks that look at a dispatch routine's return after the fact tell
/// by the number that the memory now holds a later request), its pending marks and its
/// record of exchanged cancel routines are cleared. Double completion is judged by
/// `CurrentLocation` (spec §7.2), so the reused IRP can be completed again. The requester
/// link and the safe API's creator state are left alone: they belong to the I/O manager
/// and to `safe::SentRequest`, whose IRPs are not the caller's to reuse.
///
/// Reported, and then reinitialised anyway as Windows would (record mode): an IRP still in
/// use — a cancel routine set, or a stack location owned by another driver, i.e. sent and
/// not yet completed back to its creator (`reuse-irp-in-use`); an IRP the calling driver
/// did not allocate or that an IoBuild*Request routine built (`reuse-foreign-irp`, SDV
/// IoReuseIrp / IoReuseIrp2; not checked for raw IRPs, whose allocator irpkit cannot know);
/// an irpkit IRP already freed (`invalid-irp`, left untouched).
///
/// # Safety
/// `irp` points to a live IRP the caller owns (a freed irpkit IRP is reported, not
/// undefined, while its kernel lives).
pub unsafe fn io_reuse_irp(irp: *mut Irp, status: super::NtStatus) {
    const R: &str = "IoReuseIrp";
    if irp.is_null() {
        kernel::with_current(R, |k| k.report(Rule::InvalidIrp, R, irp, "IoReuseIrp(NULL, ...)".to_string()));
        return;
    }
    // SAFETY: forwarded contract.
    unsafe { with_irp_kernel(irp, R, |k| reuse_in(k, irp, status)) }
}

/// # Safety
/// As [`io_reuse_irp`]; `k` is the IRP's kernel.
unsafe fn reuse_in(k: &KernelShared, irp: *mut Irp, status: super::NtStatus) {
    const R: &str = "IoReuseIrp";
    super::spinlock::check_irql_at_most(k, DISPATCH_LEVEL, R, irp);
    // SAFETY: readable IRP memory by the contract.
    if unsafe { is_freed(irp) } {
        k.report(Rule::InvalidIrp, R, irp, "IoReuseIrp on an IRP that was already freed".to_string());
        return;
    }
    let caller = kernel::current_routine().driver;
    // SAFETY: readable IRP memory.
    if let Some(h) = unsafe { header(irp) } {
        // SAFETY: a valid header.
        let (creator, built) = unsafe { ((*h).creator, (*h).built.load(Ordering::Relaxed)) };
        if built {
            k.report(
                Rule::ReuseForeignIrp,
                R,
                irp,
                "IoReuseIrp on an IRP built by IoBuildSynchronousFsdRequest, IoBuildAsynchronousFsdRequest or IoBuildDeviceIoControlRequest".to_string(),
            );
        } else if creator != caller {
            k.report(Rule::ReuseForeignIrp, R, irp, "IoReuseIrp on an IRP the caller did not allocate".to_string());
        }
    }
    // SAFETY: live IRP; the slot is atomic.
    if unsafe { (*irp).cancel_routine.load() }.is_some() {
        k.report(Rule::ReuseIrpInUse, R, irp, "IoReuseIrp on an IRP whose cancel routine is still set".to_string());
    }
    // SAFETY: live IRP; devices in its stack locations are live.
    let holder = unsafe {
        let r = &*irp;
        if i32::from(r.current_location()) <= i32::from(r.stack_count) {
            let device = (*io_get_current_irp_stack_location(irp)).device_object;
            if !device.is_null() && (*device).driver_object != caller {
                Some(device)
            } else {
                None
            }
        } else {
            None
        }
    };
    if let Some(device) = holder {
        k.report(
            Rule::ReuseIrpInUse,
            R,
            irp,
            format!(
                "IoReuseIrp on an IRP still held by {} (sent with IoCallDriver and not completed back to its creator)",
                // SAFETY: a live device of an IRP's stack location.
                unsafe { super::device::device_name(device) }
            ),
        );
    }
    // SAFETY: live IRP the caller owns.
    unsafe { reinitialize(k, irp, status) };
}

/// The reset behind [`io_reuse_irp`]: in place, field by field, the atomics with atomic
/// stores (a driver misusing IoReuseIrp may race IoCancelIrp on them; that is reported,
/// and must not make Rust code undefined).
///
/// # Safety
/// `irp` is a live IRP of kernel `k` (or no irpkit IRP) that the caller owns.
unsafe fn reinitialize(k: &KernelShared, irp: *mut Irp, status: super::NtStatus) {
    // SAFETY: readable IRP memory.
    let h = unsafe { header(irp) };
    // SAFETY: live IRP owned by the caller: every plain field is the caller's to write;
    // the stack locations follow it.
    unsafe {
        let stack = (*irp).stack_count;
        (*irp).type_ = IO_TYPE_IRP;
        (*irp).mdl_address = ptr::null_mut();
        (*irp).flags = 0;
        (*irp).associated_irp = ptr::null_mut();
        (*irp).thread_list_entry = ListEntry::null();
        (*irp).io_status = IoStatusBlock { status, information: 0 };
        (*irp).requestor_mode = 0;
        (*irp).pending_returned = FALSE;
        (*irp).cancel.store(FALSE, Ordering::Release);
        (*irp).cancel_irql.store(0, Ordering::Relaxed);
        (*irp).apc_environment = 0;
        (*irp).user_iosb = ptr::null_mut();
        (*irp).user_event = ptr::null_mut();
        (*irp).overlay = IrpOverlay { user_apc_routine: ptr::null_mut(), user_apc_context: ptr::null_mut() };
        // Clearing only: an exchange that does not record (see `exchange_cancel_routine`).
        (*irp).cancel_routine.exchange(None);
        (*irp).user_buffer = ptr::null_mut();
        (*irp).tail = IrpTail { apc: [0; 11] };
        let first = Irp::stack_location(irp, 1);
        ptr::write_bytes(first, 0, stack.max(0) as usize);
        *Irp::current_stack_slot(irp) = first.add(stack.max(0) as usize);
        (*irp).current_location.store(stack + 1, Ordering::Release);
    }
    let Some(h) = h else { return };
    // SAFETY: a valid header of `k`'s pool; the request it held ends here.
    unsafe { super::coverage::request_over(k, h) };
    // SAFETY: a valid header of an allocated IRP the caller owns.
    unsafe {
        let previous = (*h).id.load(Ordering::Relaxed);
        let id = k.pool.next_id.fetch_add(1, Ordering::Relaxed);
        (*h).id.store(id, Ordering::Relaxed);
        // As at allocation: the id changes before the marks are reset, so a reader that
        // sees the reset marks also sees the new id (see `location_marked`).
        crate::sync::atomic::fence(Ordering::Release);
        (*h).pending_marks.store(0, Ordering::Relaxed);
        for entry in &(*h).exchanged_routines {
            entry.store(0, Ordering::Release);
        }
        crate::nt::observe::irp_reused(k, previous, id);
    }
}

/// `IoFreeIrp`: returns an IRP to its pool. The IRP must not be used afterwards.
///
/// # Safety
/// `irp` was returned by [`io_allocate_irp`] (a double free is reported, not undefined,
/// while the kernel lives).
pub unsafe fn io_free_irp(irp: *mut Irp) {
    // SAFETY: the caller passes an irpkit IRP pointer.
    let Some(h) = (unsafe { header(irp) }) else {
        kernel::with_current("IoFreeIrp", |k| {
            k.report(
                Rule::InvalidIrp,
                "IoFreeIrp",
                ptr::null_mut(),
                format!("IoFreeIrp({irp:p}) on memory irpkit did not allocate as an IRP"),
            )
        });
        return;
    };
    // SAFETY: valid header; the kernel outlives its blocks.
    let k = unsafe { &*(*h).kernel };
    // SAFETY: valid header.
    if !unsafe { (*h).allocated.swap(false, Ordering::AcqRel) } {
        k.report(Rule::InvalidIrp, "IoFreeIrp", irp, "IoFreeIrp on an IRP that was already freed".to_string());
        return;
    }
    // SAFETY: the IRP's memory stays readable (pool memory).
    unsafe { crate::nt::observe::freed(k, irp) };
    // SAFETY: a valid header of `k`'s pool.
    unsafe { super::coverage::request_over(k, h) };
    // SAFETY: valid header; we held the "allocated" reference.
    unsafe { release_ref(h) };
}

/// Drops one reference; the last one recycles the block.
///
/// # Safety
/// `h` is a valid header and the caller holds one of its references.
unsafe fn release_ref(h: *mut IrpHeader) {
    // SAFETY: valid header.
    let refs = unsafe { &(*h).refs };
    // A count of 1 is the caller's own reference: nobody else holds one, and taking a
    // reference requires holding one, so no one can race us — skip the atomic RMW.
    let last = if refs.load(Ordering::Acquire) == 1 {
        refs.store(0, Ordering::Relaxed);
        true
    } else {
        refs.fetch_sub(1, Ordering::AcqRel) == 1
    };
    if last {
        // SAFETY: we dropped the last reference: nobody else uses the block.
        let (keepalive, buffers) = unsafe { ((*h).keepalive.take(), (*h).buffers.take()) };
        drop(buffers);
        // SAFETY: valid header; the kernel is alive (held by `keepalive`).
        unsafe { (*(*h).kernel).pool.put(h) };
        // The block may be deallocated now if this was the kernel's last reference.
        drop(keepalive);
    }
}

/// Pins `irp`'s block so it is not reused until [`unpin`].
///
/// # Safety
/// `irp` is an irpkit IRP and the caller owns it or holds a pin on it.
pub(crate) unsafe fn pin(irp: *mut Irp) {
    // SAFETY: forwarded contract.
    let h = unsafe { header(irp) }.expect("pin: not an irpkit IRP");
    // SAFETY: valid header.
    unsafe { (*h).refs.fetch_add(1, Ordering::Relaxed) };
}

/// Releases a pin taken with [`pin`].
///
/// # Safety
/// The caller holds a pin on `irp`.
pub(crate) unsafe fn unpin(irp: *mut Irp) {
    // SAFETY: forwarded contract.
    let h = unsafe { header(irp) }.expect("unpin: not an irpkit IRP");
    // SAFETY: we hold a reference.
    unsafe { release_ref(h) };
}

/// The driver that created `irp` (null: the I/O manager).
///
/// # Safety
/// `irp` points to readable IRP memory.
pub(crate) unsafe fn creator(irp: *mut Irp) -> *mut DriverObject {
    // SAFETY: forwarded contract.
    match unsafe { header(irp) } {
        // SAFETY: valid header.
        Some(h) => unsafe { (*h).creator },
        None => ptr::null_mut(),
    }
}

/// `IoGetCurrentIrpStackLocation`.
///
/// # Safety
/// `irp` points to a live IRP.
pub unsafe fn io_get_current_irp_stack_location(irp: *mut Irp) -> *mut IoStackLocation {
    // SAFETY: live IRP.
    unsafe { *Irp::current_stack_slot(irp) }
}

/// `IoGetNextIrpStackLocation`: the location the next lower driver will see.
///
/// # Safety
/// `irp` points to a live IRP that has a next location (`CurrentLocation > 1`).
pub unsafe fn io_get_next_irp_stack_location(irp: *mut Irp) -> *mut IoStackLocation {
    // SAFETY: live IRP; one location below the current exists by the contract.
    unsafe { (*Irp::current_stack_slot(irp)).sub(1) }
}

/// `IoSetNextIrpStackLocation`: moves to the next location (as IoCallDriver does).
///
/// # Safety
/// `irp` is a live IRP the caller owns, with a next location.
pub unsafe fn io_set_next_irp_stack_location(irp: *mut Irp) {
    // SAFETY: owned live IRP.
    unsafe {
        let cl = (*irp).current_location.load(Ordering::Relaxed);
        (*irp).current_location.store(cl - 1, Ordering::Release);
        let slot = Irp::current_stack_slot(irp);
        *slot = (*slot).sub(1);
    }
}

/// `IoSkipCurrentIrpStackLocation`: gives the next driver this driver's own location.
///
/// # Safety
/// `irp` is a live IRP the caller owns.
pub unsafe fn io_skip_current_irp_stack_location(irp: *mut Irp) {
    // SAFETY: owned live IRP.
    unsafe {
        let cl = (*irp).current_location.load(Ordering::Relaxed);
        (*irp).current_location.store(cl + 1, Ordering::Release);
        let slot = Irp::current_stack_slot(irp);
        *slot = (*slot).add(1);
    }
}

/// `IoCopyCurrentIrpStackLocationToNext`: copies everything up to (not including) the
/// completion routine, and clears the next location's `Control`.
///
/// # Safety
/// `irp` is a live IRP the caller owns, with a next location.
pub unsafe fn io_copy_current_irp_stack_location_to_next(irp: *mut Irp) {
    // SAFETY: owned live IRP with both locations.
    unsafe {
        let cur = io_get_current_irp_stack_location(irp);
        let next = cur.sub(1);
        let n = core::mem::offset_of!(IoStackLocation, completion_routine);
        ptr::copy_nonoverlapping(cur.cast::<u8>(), next.cast::<u8>(), n);
        (*next).control = 0;
    }
}

/// `IoMarkIrpPending`: sets `SL_PENDING_RETURNED` in the current stack location. A
/// dispatch routine that returns `STATUS_PENDING` must call it first.
///
/// # Safety
/// `irp` is a live IRP the caller owns.
pub unsafe fn io_mark_irp_pending(irp: *mut Irp) {
    // SAFETY: owned live IRP.
    unsafe {
        (*io_get_current_irp_stack_location(irp)).control |= SL_PENDING_RETURNED;
        note_pending_mark(irp, (*irp).current_location());
        crate::nt::observe::marked_pending(irp, (*irp).current_location());
    }
}

/// `IoSetCompletionRoutine`: registers `routine` in the **next** stack location, to be
/// called during completion when the IRP succeeded / failed / was cancelled as selected.
///
/// # Safety
/// `irp` is a live IRP the caller owns, with a next location.
pub unsafe fn io_set_completion_routine(
    irp: *mut Irp,
    routine: Option<IoCompletionRoutine>,
    context: *mut c_void,
    invoke_on_success: bool,
    invoke_on_error: bool,
    invoke_on_cancel: bool,
) {
    // SAFETY: owned live IRP with a next location.
    unsafe {
        let next = io_get_next_irp_stack_location(irp);
        (*next).completion_routine = routine;
        (*next).context = context;
        (*next).control = 0;
        if invoke_on_success {
            (*next).control |= SL_INVOKE_ON_SUCCESS;
        }
        if invoke_on_error {
            (*next).control |= SL_INVOKE_ON_ERROR;
        }
        if invoke_on_cancel {
            (*next).control |= SL_INVOKE_ON_CANCEL;
        }
    }
}

struct CompletionEx {
    routine: IoCompletionRoutine,
    context: *mut c_void,
    device: *mut DeviceObject,
}

unsafe extern "system-unwind" fn completion_ex_thunk(
    device: *mut DeviceObject,
    irp: *mut Irp,
    context: *mut c_void,
) -> super::NtStatus {
    // SAFETY: `context` is the box leaked by `io_set_completion_routine_ex`, taken once:
    // a completion routine runs at most once per registration (the walk clears it).
    let ex = unsafe { Box::from_raw(context.cast::<CompletionEx>()) };
    // SAFETY: the driver's routine with its own context, as registered.
    let status = unsafe { (ex.routine)(device, irp, ex.context) };
    // SAFETY: the device was referenced at registration and is still alive.
    unsafe { (*ex.device).reference_count.fetch_sub(1, Ordering::AcqRel) };
    status
}

/// `IoSetCompletionRoutineEx`: like [`io_set_completion_routine`], but keeps
/// `device` (and so its driver) referenced until the routine has run.
///
/// Returns `STATUS_SUCCESS`. The reference is dropped when the routine runs; an IRP
/// completed without invoking it (flags not matching) keeps its small context allocated
/// until the kernel ends, as Windows would leak it.
///
/// # Safety
/// As [`io_set_completion_routine`]; `device` is a live device object.
pub unsafe fn io_set_completion_routine_ex(
    device: *mut DeviceObject,
    irp: *mut Irp,
    routine: IoCompletionRoutine,
    context: *mut c_void,
    invoke_on_success: bool,
    invoke_on_error: bool,
    invoke_on_cancel: bool,
) -> super::NtStatus {
    // SAFETY: live device object.
    unsafe { (*device).reference_count.fetch_add(1, Ordering::AcqRel) };
    let ex = Box::into_raw(Box::new(CompletionEx { routine, context, device }));
    // SAFETY: forwarded contract.
    unsafe {
        io_set_completion_routine(
            irp,
            Some(completion_ex_thunk),
            ex.cast(),
            invoke_on_success,
            invoke_on_error,
            invoke_on_cancel,
        )
    };
    super::status::STATUS_SUCCESS
}

/// At the end of completion: takes the IRP's requester link, or says the IRP was
/// disassociated (it is then freed silently).
///
/// # Safety
/// `irp` is a live IRP whose completion walk has finished.
pub(crate) unsafe fn finish(irp: *mut Irp) -> Result<Option<RequesterSlot>, ()> {
    // SAFETY: forwarded contract.
    let Some(h) = (unsafe { header(irp) }) else { return Ok(None) };
    // SAFETY: valid header; the completing thread owns the IRP.
    unsafe {
        if (*h).requester.is_empty() {
            return Ok(None);
        }
        if (*h).requester_state.take(crate::nt::requester::FINAL_STAGE) {
            Ok(Some((*h).requester.take()))
        } else {
            drop((*h).requester.take());
            Err(())
        }
    }
}

/// Attaches the requester link to an IRP about to be issued.
///
/// # Safety
/// `irp` is an irpkit IRP owned by the caller, not yet sent.
#[inline]
pub(crate) unsafe fn set_requester(irp: *mut Irp, link: impl RequesterLink) {
    // SAFETY: forwarded contract.
    let h = unsafe { header(irp) }.expect("an irpkit IRP");
    // SAFETY: the caller owns the IRP.
    unsafe { (*h).requester.put(link) };
}

/// The thread exit's side of the single-winner exchange: true if it disassociated the IRP
/// (its later completion is swallowed), false if the final stage is delivering it.
///
/// # Safety
/// `irp` points to pinned or allocated irpkit IRP memory.
pub(crate) unsafe fn disassociate(irp: *mut Irp) -> bool {
    // SAFETY: forwarded contract.
    let Some(h) = (unsafe { header(irp) }) else { return false };
    // SAFETY: valid header.
    unsafe { (*h).requester_state.take(crate::nt::requester::THREAD_EXIT) }
}
