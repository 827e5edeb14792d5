//! A counting global allocator: the report binary installs [`Counting`] and switches
//! counting on only around the allocation and memory measurements, so timed workloads
//! pay one relaxed load per allocation, irpkit and peers alike.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

/// Forwards to the system allocator, counting allocation calls and live bytes while
/// counting is on.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counting;

// SAFETY: every call is forwarded unchanged to `System`; the counters are side effects.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ENABLED.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if ENABLED.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ENABLED.load(Ordering::Relaxed) {
            LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ENABLED.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// What the counters say at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Allocation calls (alloc, alloc_zeroed, realloc) counted so far.
    pub allocations: usize,
    /// Bytes allocated and not freed, counted since counting started (frees of blocks
    /// allocated while counting was off are counted too, so only differences between two
    /// snapshots taken in one counting period mean anything).
    pub live_bytes: isize,
}

/// Starts counting; counting stays on until the returned guard drops.
pub fn counting() -> CountingGuard {
    ENABLED.store(true, Ordering::SeqCst);
    CountingGuard(())
}

/// Counting is on while this lives.
#[derive(Debug)]
pub struct CountingGuard(());

impl Drop for CountingGuard {
    fn drop(&mut self) {
        ENABLED.store(false, Ordering::SeqCst);
    }
}

/// The counters now.
pub fn snapshot() -> Snapshot {
    Snapshot { allocations: ALLOCATIONS.load(Ordering::SeqCst), live_bytes: LIVE_BYTES.load(Ordering::SeqCst) }
}

/// Whether the counting allocator is installed as the global allocator (an allocation
/// made while counting is on is counted).
pub fn installed() -> bool {
    let _on = counting();
    let before = snapshot().allocations;
    drop(std::hint::black_box(Box::new(0u64)));
    snapshot().allocations > before
}
