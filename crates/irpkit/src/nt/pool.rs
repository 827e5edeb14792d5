//! Executive pool: ExAllocatePool2, ExAllocatePoolWithTag, ExAllocatePoolZero,
//! ExAllocatePoolQuotaZero, ExFreePoolWithTag, ExFreePool.
//!
//! Every block is tracked by its kernel (tag, size, the driver whose routine allocated it),
//! so that freeing a block twice, freeing memory that is not pool, freeing with a tag that
//! is not the block's, and a driver unloading with blocks still allocated are reported
//! with Windows' codes (BAD_POOL_CALLER, DRIVER_VERIFIER_DETECTED_VIOLATION 0x62).
//!
//! Invariants: a block is in `PoolTracker::live` from its allocation until it is freed;
//! its memory is returned to the allocator only by ExFreePool*, or when the kernel ends.
//! Lock order: `live` is a leaf (no kernel primitive runs under it; reports are filed
//! after it is released).

use core::alloc::Layout;
use core::ffi::c_void;

use super::device::DriverPtr;
use super::spinlock::check_irql_at_most;
use super::types::{APC_LEVEL, DISPATCH_LEVEL};
use crate::nt::kernel::{self, with_current, KernelShared};
use crate::sync::{lock, Mutex};
use crate::verifier::Rule;

/// `POOL_FLAG_USE_QUOTA`.
pub const POOL_FLAG_USE_QUOTA: u64 = 0x1;
/// `POOL_FLAG_UNINITIALIZED`: the block is not zeroed.
pub const POOL_FLAG_UNINITIALIZED: u64 = 0x2;
/// `POOL_FLAG_CACHE_ALIGNED`.
pub const POOL_FLAG_CACHE_ALIGNED: u64 = 0x4;
/// `POOL_FLAG_RAISE_ON_FAILURE`.
pub const POOL_FLAG_RAISE_ON_FAILURE: u64 = 0x20;
/// `POOL_FLAG_NON_PAGED`.
pub const POOL_FLAG_NON_PAGED: u64 = 0x40;
/// `POOL_FLAG_NON_PAGED_EXECUTE`.
pub const POOL_FLAG_NON_PAGED_EXECUTE: u64 = 0x80;
/// `POOL_FLAG_PAGED`.
pub const POOL_FLAG_PAGED: u64 = 0x100;

/// `POOL_TYPE` `NonPagedPool`.
pub const NON_PAGED_POOL: u32 = 0;
/// `POOL_TYPE` `PagedPool`.
pub const PAGED_POOL: u32 = 1;
/// `POOL_QUOTA_FAIL_INSTEAD_OF_RAISE`, or-ed into a `POOL_TYPE`.
pub const POOL_QUOTA_FAIL_INSTEAD_OF_RAISE: u32 = 8;
/// `NonPagedPoolNx`.
pub const NON_PAGED_POOL_NX: u32 = 512;

struct PoolBlock {
    tag: u32,
    size: usize,
    layout: Layout,
    driver: DriverPtr,
}

/// A kernel's pool: the blocks allocated and not yet freed.
#[derive(Default)]
pub(crate) struct PoolTracker {
    live: Mutex<crate::nt::addr_map::AddrMap<usize, PoolBlock>>,
}

impl core::fmt::Debug for PoolTracker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PoolTracker").field("live", &lock(&self.live).len()).finish()
    }
}

impl Drop for PoolTracker {
    fn drop(&mut self) {
        let live = core::mem::take(&mut *lock(&self.live));
        for (address, block) in live {
            // SAFETY: every live block was allocated with its layout and not freed.
            unsafe { std::alloc::dealloc(address as *mut u8, block.layout) };
        }
    }
}

/// A pool tag as poolmon shows it: its bytes in memory order (`'MASC'` shows as `CSAM`).
pub fn describe_tag(tag: u32) -> String {
    let text: String =
        tag.to_le_bytes().iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }).collect();
    format!("'{text}' (0x{tag:08X})")
}

fn is_paged(pool_type: u32) -> bool {
    pool_type & 1 == 1
}

fn allocate(k: &KernelShared, routine: &'static str, size: usize, tag: u32, paged: bool, zeroed: bool) -> *mut c_void {
    super::coverage::point_crossed();
    check_irql_at_most(k, if paged { APC_LEVEL } else { DISPATCH_LEVEL }, routine, core::ptr::null_mut());
    crate::sched::point(routine, None);
    let Ok(layout) = Layout::from_size_align(size.max(1), 16) else {
        return core::ptr::null_mut();
    };
    // SAFETY: the layout has a non-zero size.
    let memory = unsafe {
        if zeroed {
            std::alloc::alloc_zeroed(layout)
        } else {
            std::alloc::alloc(layout)
        }
    };
    if memory.is_null() {
        return core::ptr::null_mut();
    }
    let driver = DriverPtr(kernel::current_routine().driver);
    lock(&k.pool_blocks.live).insert(memory as usize, PoolBlock { tag, size, layout, driver });
    memory.cast()
}

/// `ExAllocatePool2`: a block of `size` bytes from the pool `flags` name
/// (`POOL_FLAG_NON_PAGED` or `POOL_FLAG_PAGED`), zeroed unless `POOL_FLAG_UNINITIALIZED`,
/// 16-byte aligned; null when it cannot be allocated.
pub fn ex_allocate_pool2(flags: u64, size: usize, tag: u32) -> *mut c_void {
    with_current("ExAllocatePool2", |k| {
        if flags & (POOL_FLAG_NON_PAGED | POOL_FLAG_PAGED | POOL_FLAG_NON_PAGED_EXECUTE) == 0 {
            k.report(
                Rule::BadPoolCaller,
                "ExAllocatePool2",
                core::ptr::null_mut(),
                format!(
                    "ExAllocatePool2 with flags 0x{flags:X}: name the pool (POOL_FLAG_NON_PAGED or POOL_FLAG_PAGED)"
                ),
            );
            return core::ptr::null_mut();
        }
        let paged = flags & POOL_FLAG_PAGED != 0;
        allocate(k, "ExAllocatePool2", size, tag, paged, flags & POOL_FLAG_UNINITIALIZED == 0)
    })
}

/// `ExAllocatePoolWithTag`: a block of `size` bytes from `pool_type` (`POOL_TYPE`), not
/// zeroed (as on Windows: its contents are undefined).
pub fn ex_allocate_pool_with_tag(pool_type: u32, size: usize, tag: u32) -> *mut c_void {
    with_current("ExAllocatePoolWithTag", |k| {
        allocate(k, "ExAllocatePoolWithTag", size, tag, is_paged(pool_type), false)
    })
}

/// `ExAllocatePoolZero`: as [`ex_allocate_pool_with_tag`], zeroed.
pub fn ex_allocate_pool_zero(pool_type: u32, size: usize, tag: u32) -> *mut c_void {
    with_current("ExAllocatePoolZero", |k| allocate(k, "ExAllocatePoolZero", size, tag, is_paged(pool_type), true))
}

/// `ExAllocatePoolQuotaZero`: as [`ex_allocate_pool_zero`], charged to the current
/// process's quota (irpkit keeps no quotas: it never fails for quota).
pub fn ex_allocate_pool_quota_zero(pool_type: u32, size: usize, tag: u32) -> *mut c_void {
    with_current("ExAllocatePoolQuotaZero", |k| {
        allocate(k, "ExAllocatePoolQuotaZero", size, tag, is_paged(pool_type & !POOL_QUOTA_FAIL_INSTEAD_OF_RAISE), true)
    })
}

/// `ExFreePoolWithTag`: frees a block; `tag` must be the one it was allocated with (0:
/// not checked, as `ExFreePool`). Freeing a block twice or memory that is not pool is
/// reported as BAD_POOL_CALLER and nothing is freed.
///
/// # Safety
/// Nothing uses the block after it is freed (irpkit checks the address, not the uses).
pub unsafe fn ex_free_pool_with_tag(block: *mut c_void, tag: u32) {
    with_current("ExFreePoolWithTag", |k| {
        check_irql_at_most(k, DISPATCH_LEVEL, "ExFreePoolWithTag", core::ptr::null_mut());
        let removed = {
            let mut live = lock(&k.pool_blocks.live);
            match live.get(&(block as usize)) {
                Some(b) if tag != 0 && b.tag != tag => Err(b.tag),
                Some(_) => Ok(live.remove(&(block as usize))),
                None => Ok(None),
            }
        };
        match removed {
            Ok(Some(b)) => {
                // SAFETY: a live block allocated with this layout, now out of the table.
                unsafe { std::alloc::dealloc(block.cast(), b.layout) }
            }
            Ok(None) => k.report(
                Rule::BadPoolCaller,
                "ExFreePoolWithTag",
                core::ptr::null_mut(),
                format!(
                    "ExFreePool of {block:p}, which is not an allocated pool block (freed already, or never allocated from pool)"
                ),
            ),
            Err(actual) => k.report(
                Rule::BadPoolCaller,
                "ExFreePoolWithTag",
                core::ptr::null_mut(),
                format!(
                    "ExFreePoolWithTag({block:p}, {}) but the block was allocated with tag {}",
                    describe_tag(tag),
                    describe_tag(actual)
                ),
            ),
        }
        crate::sched::point("ExFreePoolWithTag", None);
    })
}

/// `ExFreePool`.
///
/// # Safety
/// As [`ex_free_pool_with_tag`].
pub unsafe fn ex_free_pool(block: *mut c_void) {
    // SAFETY: forwarded contract.
    unsafe { ex_free_pool_with_tag(block, 0) }
}

impl KernelShared {
    /// Leak accounting at driver unload: every pool block `driver`'s routines allocated
    /// and did not free, reported once each (the blocks stay allocated until the kernel
    /// ends). Returns how many.
    pub(crate) fn report_pool_left_at_unload(&self, driver: *mut super::types::DriverObject) -> usize {
        let mut left: Vec<(usize, u32, usize)> = lock(&self.pool_blocks.live)
            .iter()
            .filter(|(_, b)| b.driver.0 == driver)
            .map(|(&a, b)| (a, b.tag, b.size))
            .collect();
        left.sort_unstable();
        for &(address, tag, size) in &left {
            self.report(
                Rule::PoolLeaked,
                "driver unload",
                core::ptr::null_mut(),
                format!(
                    "the driver was unloaded with a pool block still allocated: {size} bytes with tag {} at 0x{address:x}",
                    describe_tag(tag)
                ),
            );
        }
        left.len()
    }

    /// The pool blocks allocated now: (tag, size) each, in address order.
    pub(crate) fn pool_in_use(&self) -> Vec<(u32, usize)> {
        let mut v: Vec<(usize, u32, usize)> =
            lock(&self.pool_blocks.live).iter().map(|(&a, b)| (a, b.tag, b.size)).collect();
        v.sort_unstable();
        v.into_iter().map(|(_, t, s)| (t, s)).collect()
    }
}

// The `Kernel` methods of this module: their public face is in `nt/kernel.rs`.
/// The body of [`Kernel::pool_in_use`].
pub(crate) fn pool_in_use(kernel: &crate::Kernel) -> Vec<(u32, usize)> {
    kernel.shared.pool_in_use()
}
