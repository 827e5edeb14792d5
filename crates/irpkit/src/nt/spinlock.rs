//! IRQL, spin locks and the system cancel spin lock.
//!
//! A spin lock word holds zero when free and the holder's thread token when held, so
//! the verifier can tell "acquired twice by the same thread" (a deadlock on a real
//! processor) from contention. Acquiring raises the thread to DISPATCH_LEVEL; releasing
//! restores the IRQL the caller passes back.

use core::ffi::c_void;
use core::ptr;

use super::types::{KIrql, KSpinLock, DISPATCH_LEVEL};
use crate::nt::kernel::{self, with_current, KernelShared, RoutineKind};
use crate::sync::atomic::Ordering;
use crate::sync::spin_step;
use crate::verifier::Rule;

/// `KeGetCurrentIrql`.
pub fn ke_get_current_irql() -> KIrql {
    kernel::current_irql()
}

/// `KeRaiseIrql`: raises the calling thread's IRQL to `new` and returns the previous one.
/// Raising to a lower level is reported as 0x9 IRQL_NOT_GREATER_OR_EQUAL.
pub fn ke_raise_irql(new: KIrql) -> KIrql {
    let old = kernel::current_irql();
    if new < old {
        with_current("KeRaiseIrql", |k| {
            k.report(
                Rule::IrqlNotGreaterOrEqual,
                "KeRaiseIrql",
                ptr::null_mut(),
                format!("KeRaiseIrql({new}) was called at IRQL {old}, which is higher"),
            )
        });
    }
    kernel::set_irql(new);
    old
}

/// `KeLowerIrql`: lowers the calling thread's IRQL to `new`. Lowering to a higher level
/// is reported as 0x9 IRQL_NOT_GREATER_OR_EQUAL.
pub fn ke_lower_irql(new: KIrql) {
    let old = kernel::current_irql();
    if new > old {
        with_current("KeLowerIrql", |k| {
            k.report(
                Rule::IrqlNotGreaterOrEqual,
                "KeLowerIrql",
                ptr::null_mut(),
                format!("KeLowerIrql({new}) was called at IRQL {old}, which is lower"),
            )
        });
    }
    kernel::set_irql(new);
}

/// Reports [`Rule::IrqlTooHigh`] if the calling thread runs above `max`.
pub(crate) fn check_irql_at_most(k: &KernelShared, max: KIrql, routine: &'static str, irp: *mut super::types::Irp) {
    let irql = kernel::current_irql();
    if irql > max {
        k.report(
            Rule::IrqlTooHigh,
            routine,
            irp,
            format!("{routine} was called at IRQL {irql}; it must be called at IRQL <= {max}"),
        );
    }
}

/// Spins until `lock` is held by the calling thread. Returns false (without waiting)
/// when the calling thread already holds it: on a real processor that is a deadlock.
fn raw_acquire(lock: &KSpinLock, token: usize) -> bool {
    let word = &lock.0;
    if word.load(Ordering::Relaxed) == token {
        return false;
    }
    let mut i = 0u32;
    loop {
        if word.load(Ordering::Relaxed) == 0
            && word.compare_exchange(0, token, Ordering::Acquire, Ordering::Relaxed).is_ok()
        {
            return true;
        }
        if crate::sched::controlled() {
            // Under the explorer the holder runs only when this thread hands it the baton.
            crate::sched::block(lock_key(lock), None, "a spin lock held by another thread");
        } else {
            spin_step(i);
        }
        i = i.wrapping_add(1);
    }
}

/// The explorer's wait key of a spin lock: its address.
fn lock_key(lock: &KSpinLock) -> usize {
    ptr::from_ref(lock) as usize
}

/// Releases `lock` if the calling thread holds it; false if it does not.
fn raw_release(lock: &KSpinLock, token: usize) -> bool {
    // Only the holder ever changes a word that holds its token, so a load tells whether we
    // hold it, and a plain release store frees it (no read-modify-write needed).
    if lock.0.load(Ordering::Relaxed) != token {
        return false;
    }
    lock.0.store(0, Ordering::Release);
    crate::sched::wake(lock_key(lock));
    true
}

/// `KeInitializeSpinLock`.
pub fn ke_initialize_spin_lock(lock: &mut KSpinLock) {
    *lock = KSpinLock::new();
}

/// `KeAcquireSpinLock`: raises to DISPATCH_LEVEL, acquires `lock`, returns the previous
/// IRQL for [`ke_release_spin_lock`].
pub fn ke_acquire_spin_lock(lock: &KSpinLock) -> KIrql {
    kernel::try_with_current(|k| check_irql_at_most(k, DISPATCH_LEVEL, "KeAcquireSpinLock", ptr::null_mut()));
    let old = kernel::current_irql();
    kernel::set_irql(DISPATCH_LEVEL.max(old));
    crate::sched::point("KeAcquireSpinLock", None);
    acquire_at_dpc(lock, "KeAcquireSpinLock");
    old
}

// SAFETY: `raw_acquire` takes the word from 0 to the holder's token with an Acquire
// compare-exchange, one thread at a time; only the holder stores 0 back, with Release.
// (A second acquire by the thread that holds the lock is reported and ignored, and so is
// the release that does not match a hold: exclusion between threads is unaffected.)
unsafe impl crate::queue::lock::RawLock for KSpinLock {
    fn acquire(&self) -> KIrql {
        ke_acquire_spin_lock(self)
    }

    unsafe fn release(&self, irql: KIrql) {
        ke_release_spin_lock(self, irql);
    }
}

/// `KeAcquireSpinLockAtDpcLevel`: acquires `lock`; the caller is already at DISPATCH_LEVEL.
pub fn ke_acquire_spin_lock_at_dpc_level(lock: &KSpinLock) {
    crate::sched::point("KeAcquireSpinLockAtDpcLevel", None);
    acquire_at_dpc(lock, "KeAcquireSpinLockAtDpcLevel");
}

fn acquire_at_dpc(lock: &KSpinLock, routine: &'static str) {
    if raw_acquire(lock, kernel::thread_token()) {
        kernel::add_spin_locks_held(1);
    } else {
        report_anywhere(
            Rule::SpinLockDiscipline,
            routine,
            format!("{routine} on a spin lock the calling thread already holds (a deadlock on a real processor); the second acquire is ignored"),
        );
    }
}

/// Files a report with the calling thread's kernel; a thread outside any kernel has no
/// verifier to record it, so the report stops it, as strict mode would.
fn report_anywhere(rule: Rule, routine: &'static str, message: String) {
    let filed = kernel::try_with_current(|k| k.report(rule, routine, ptr::null_mut(), message.clone()));
    if filed.is_none() {
        panic!("irpkit verifier (no kernel entered on this thread): {rule} in {routine}: {message}");
    }
}

/// `KeReleaseSpinLock`: releases `lock` and lowers the IRQL to `new_irql`.
pub fn ke_release_spin_lock(lock: &KSpinLock, new_irql: KIrql) {
    release_at_dpc(lock);
    kernel::set_irql(new_irql);
    crate::sched::point("KeReleaseSpinLock", None);
}

/// `KeReleaseSpinLockFromDpcLevel`: releases `lock`, staying at DISPATCH_LEVEL.
pub fn ke_release_spin_lock_from_dpc_level(lock: &KSpinLock) {
    release_at_dpc(lock);
    crate::sched::point("KeReleaseSpinLockFromDpcLevel", None);
}

fn release_at_dpc(lock: &KSpinLock) {
    if raw_release(lock, kernel::thread_token()) {
        kernel::add_spin_locks_held(-1);
    } else {
        report_anywhere(
            Rule::SpinLockDiscipline,
            "KeReleaseSpinLock",
            "KeReleaseSpinLock on a spin lock the calling thread does not hold".to_string(),
        );
    }
}

/// `KLOCK_QUEUE_HANDLE`: the caller's record of an in-stack queued spin lock acquisition.
#[repr(C)]
#[derive(Debug)]
pub struct KLockQueueHandle {
    /// `LockQueue.Next` (irpkit does not queue waiters in the handle; null).
    pub next: *mut c_void,
    /// `LockQueue.Lock`: the spin lock acquired.
    pub lock: *mut KSpinLock,
    /// `OldIrql`: the IRQL to return to.
    pub old_irql: KIrql,
}

/// `KeAcquireInStackQueuedSpinLock`: acquires `lock` raising to DISPATCH_LEVEL, recording
/// the lock and the previous IRQL in `handle`.
///
/// # Safety
/// `lock` points to a spin lock that outlives the acquisition; `handle` is writable and is
/// passed unchanged to [`ke_release_in_stack_queued_spin_lock`].
pub unsafe fn ke_acquire_in_stack_queued_spin_lock(lock: *mut KSpinLock, handle: *mut KLockQueueHandle) {
    // SAFETY: the caller's contract.
    unsafe {
        let old = ke_acquire_spin_lock(&*lock);
        handle.write(KLockQueueHandle { next: ptr::null_mut(), lock, old_irql: old });
    }
}

/// `KeReleaseInStackQueuedSpinLock`: releases the lock `handle` records and returns to
/// its IRQL.
///
/// # Safety
/// `handle` was filled by [`ke_acquire_in_stack_queued_spin_lock`] on this thread.
pub unsafe fn ke_release_in_stack_queued_spin_lock(handle: *mut KLockQueueHandle) {
    // SAFETY: the caller's contract.
    unsafe { ke_release_spin_lock(&*(*handle).lock, (*handle).old_irql) }
}

/// `KeAcquireInStackQueuedSpinLockAtDpcLevel`.
///
/// # Safety
/// As [`ke_acquire_in_stack_queued_spin_lock`]; the caller is at DISPATCH_LEVEL.
pub unsafe fn ke_acquire_in_stack_queued_spin_lock_at_dpc_level(lock: *mut KSpinLock, handle: *mut KLockQueueHandle) {
    // SAFETY: the caller's contract.
    unsafe {
        ke_acquire_spin_lock_at_dpc_level(&*lock);
        handle.write(KLockQueueHandle { next: ptr::null_mut(), lock, old_irql: DISPATCH_LEVEL });
    }
}

/// `KeReleaseInStackQueuedSpinLockFromDpcLevel`.
///
/// # Safety
/// `handle` was filled by [`ke_acquire_in_stack_queued_spin_lock_at_dpc_level`].
pub unsafe fn ke_release_in_stack_queued_spin_lock_from_dpc_level(handle: *mut KLockQueueHandle) {
    // SAFETY: the caller's contract.
    unsafe { ke_release_spin_lock_from_dpc_level(&*(*handle).lock) }
}

/// `IoAcquireCancelSpinLock`: acquires the system cancel spin lock of the calling
/// thread's kernel, raising to DISPATCH_LEVEL; returns the previous IRQL.
///
/// Safe code takes the lock as a guard instead
/// ([`CancelSpinLockGuard`](crate::safe::CancelSpinLockGuard)); this routine is `unsafe`
/// because the safe layer treats "the cancel spin lock is held" as a proof (a guard), and
/// an unpaired acquire or release here could break what the guard proves.
///
/// # Safety
/// The calling thread releases the lock with [`io_release_cancel_spin_lock`] (passing the
/// returned IRQL) and does not hand it over to safe code meanwhile.
pub unsafe fn io_acquire_cancel_spin_lock() -> KIrql {
    with_current("IoAcquireCancelSpinLock", |k| acquire_cancel_lock(k, "IoAcquireCancelSpinLock"))
}

pub(crate) fn acquire_cancel_lock(k: &KernelShared, routine: &'static str) -> KIrql {
    check_irql_at_most(k, DISPATCH_LEVEL, routine, ptr::null_mut());
    let old = kernel::current_irql();
    kernel::set_irql(DISPATCH_LEVEL.max(old));
    crate::sched::point(routine, None);
    if raw_acquire(&k.cancel_lock, kernel::thread_token()) {
        kernel::add_spin_locks_held(1);
    } else {
        k.report(
            Rule::CancelLockDiscipline,
            routine,
            kernel::current_routine().irp,
            "the cancel spin lock was acquired by a thread that already holds it (a deadlock on a real processor); a cancel routine is entered holding it".to_string(),
        );
    }
    old
}

/// `IoReleaseCancelSpinLock`: releases the system cancel spin lock and lowers the IRQL to
/// `irql`. A cancel routine must pass `Irp->CancelIrql`.
///
/// # Safety
/// If the calling thread holds the cancel spin lock, it holds it by its own
/// [`io_acquire_cancel_spin_lock`] or as an NT-layer cancel routine (entered with it) —
/// never as a lock that a safe guard stands for (a
/// [`CancelRoutineLock`](crate::safe::CancelRoutineLock) or
/// [`CancelSpinLockGuard`](crate::safe::CancelSpinLockGuard) on this thread): releasing
/// that one would let another thread change `CurrentIrp` while the guard still "proves"
/// the lock held. (Releasing it while not holding it is reported, not undefined.)
pub unsafe fn io_release_cancel_spin_lock(irql: KIrql) {
    with_current("IoReleaseCancelSpinLock", |k| release_cancel_lock(k, irql, "IoReleaseCancelSpinLock"))
}

pub(crate) fn release_cancel_lock(k: &KernelShared, irql: KIrql, routine: &'static str) {
    let ctx = kernel::current_routine();
    if ctx.kind == RoutineKind::Cancel && !ctx.irp.is_null() {
        // SAFETY: the IRP a cancel routine was called for is live while the routine runs
        // (it is completed by this very routine, after the release).
        let expected = unsafe { (*ctx.irp).cancel_irql.load(Ordering::Relaxed) };
        if expected != irql {
            k.report(
                Rule::CancelReleaseWrongIrql,
                routine,
                ctx.irp,
                format!("the cancel routine released the cancel spin lock with IRQL {irql}, but Irp->CancelIrql is {expected}"),
            );
        }
    }
    if raw_release(&k.cancel_lock, kernel::thread_token()) {
        kernel::add_spin_locks_held(-1);
        super::coverage::cancel_lock_released(k);
        kernel::set_irql(irql);
        crate::nt::irp::sched_point(routine, ctx.irp);
    } else {
        k.report(
            Rule::CancelLockDiscipline,
            routine,
            ctx.irp,
            "the cancel spin lock was released by a thread that does not hold it".to_string(),
        );
    }
}

/// Whether the calling thread holds the cancel spin lock of `k`.
pub(crate) fn holds_cancel_lock(k: &KernelShared) -> bool {
    k.cancel_lock.0.load(Ordering::Relaxed) == kernel::thread_token()
}

/// Calls a driver routine (`f`, running as `kind` of `driver`, for `irp`) and checks that it
/// did not return holding the cancel spin lock — 0x11B DRIVER_RETURNED_HOLDING_CANCEL_LOCK.
/// A cancel routine is entered holding the lock and must release it; any other routine
/// must leave it as it found it. A violation is reported (`what` says which routine) and
/// the lock released with `restore`, so a recording run can continue.
#[allow(clippy::too_many_arguments)]
pub(crate) fn call_checked<R>(
    k: &KernelShared,
    driver: *mut super::types::DriverObject,
    kind: RoutineKind,
    irp: *mut super::types::Irp,
    detected_in: &'static str,
    restore: KIrql,
    address: usize,
    what: impl FnOnce() -> String,
    f: impl FnOnce() -> R,
) -> R {
    let held_before = kind != RoutineKind::Cancel && holds_cancel_lock(k);
    let r = kernel::in_routine_at(driver, kind, irp, address, f);
    if !held_before && holds_cancel_lock(k) {
        kernel::in_routine_at(driver, kind, ptr::null_mut(), address, || {
            k.report(Rule::ReturnedHoldingCancelLock, detected_in, ptr::null_mut(), what())
        });
        release_cancel_lock(k, restore, detected_in);
    }
    r
}
