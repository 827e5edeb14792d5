//! Semaphores, KeDelayExecutionThread, remove locks and system threads — what a driver
//! with a worker thread needs.

use core::time::Duration;

use super::dpc::{cancel_timer_in, ke_initialize_timer, set_timer_in};
use super::event::{ke_wait_for_single_object, new_event, notify_waiters, DispatcherObject, EventType};
use super::spinlock::check_irql_at_most;
use super::status::{NtStatus, STATUS_DELETE_PENDING, STATUS_SUCCESS};
use super::types::*;
use crate::nt::kernel::{self, with_current, Kernel};
use crate::sync::atomic::{AtomicI32, AtomicU8, Ordering};

/// `SemaphoreObject`, the dispatcher type of a semaphore.
pub const SEMAPHORE_TYPE: u8 = 5;

impl KSemaphore {
    /// `KeInitializeSemaphore` as a constructor.
    pub fn new(count: i32, limit: i32) -> Self {
        KSemaphore {
            header: DispatcherHeader {
                type_: SEMAPHORE_TYPE,
                signalling: 0,
                size: (core::mem::size_of::<KSemaphore>() / 4) as u8,
                reserved: 0,
                signal_state: AtomicI32::new(count.clamp(0, limit.max(0))),
                wait_list_head: ListEntry::null(),
            },
            limit,
        }
    }
}

impl DispatcherObject for KSemaphore {
    fn dispatcher_header(&self) -> &DispatcherHeader {
        &self.header
    }
}

/// `KeInitializeSemaphore`.
pub fn ke_initialize_semaphore(semaphore: &mut KSemaphore, count: i32, limit: i32) {
    *semaphore = KSemaphore::new(count, limit);
}

/// `KeReadStateSemaphore`: the count.
pub fn ke_read_state_semaphore(semaphore: &KSemaphore) -> i32 {
    semaphore.header.signal_state.load(Ordering::Acquire)
}

/// `KeReleaseSemaphore`: adds `adjustment` to the count (never beyond the limit) and wakes
/// waiters; returns the previous count.
pub fn ke_release_semaphore(semaphore: &KSemaphore, _increment: i32, adjustment: i32, _wait: bool) -> i32 {
    with_current("KeReleaseSemaphore", |k| {
        check_irql_at_most(k, DISPATCH_LEVEL, "KeReleaseSemaphore", core::ptr::null_mut());
        let state = &semaphore.header.signal_state;
        let mut prev = state.load(Ordering::Acquire);
        loop {
            let next = prev.saturating_add(adjustment).min(semaphore.limit);
            match state.compare_exchange(prev, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(p) => prev = p,
            }
        }
        notify_waiters(k);
        prev
    })
}

/// `KeDelayExecutionThread`: sleeps for `interval` (100 ns units; negative: relative,
/// zero: just yield) on the kernel's clock. On a virtual clock the sleep is a timer, so
/// the DPC thread or `Kernel::advance` moves it. Returns `STATUS_SUCCESS`.
pub fn ke_delay_execution_thread(interval: i64) -> NtStatus {
    super::coverage::point_crossed();
    with_current("KeDelayExecutionThread", |k| {
        check_irql_at_most(k, APC_LEVEL, "KeDelayExecutionThread", core::ptr::null_mut());
        if interval == 0 {
            if crate::sched::controlled() {
                crate::sched::point("KeDelayExecutionThread", None);
            } else {
                crate::sync::thread::yield_now();
            }
            return STATUS_SUCCESS;
        }
        if !k.clock.is_virtual() {
            let now = k.clock.now();
            let deadline = if interval < 0 {
                now + Duration::from_nanos(interval.unsigned_abs().saturating_mul(100))
            } else {
                Duration::from_nanos((interval as u64).saturating_mul(100))
            };
            k.clock.wait_until(deadline, &|| false);
            return STATUS_SUCCESS;
        }
        let mut timer = core::mem::MaybeUninit::<KTimer>::uninit();
        // SAFETY: the timer lives on this stack frame until it is disarmed below.
        unsafe {
            ke_initialize_timer(timer.as_mut_ptr());
            set_timer_in(k, timer.as_mut_ptr(), interval, 0, core::ptr::null_mut());
            let status = ke_wait_for_single_object(&*timer.as_ptr(), None);
            cancel_timer_in(k, timer.as_mut_ptr());
            status
        }
    })
}

/// [`ke_delay_execution_thread`] with a `Duration`.
pub fn ke_delay(duration: Duration) -> NtStatus {
    ke_delay_execution_thread(-i64::try_from(duration.as_nanos() / 100).unwrap_or(i64::MAX))
}

impl IoRemoveLock {
    /// `IoInitializeRemoveLock` as a constructor.
    pub fn new() -> Self {
        IoRemoveLock {
            removed: AtomicU8::new(FALSE),
            reserved: [0; 3],
            io_count: AtomicI32::new(1),
            remove_event: new_event(EventType::Notification, false),
        }
    }
}

impl Default for IoRemoveLock {
    fn default() -> Self {
        Self::new()
    }
}

/// `IoInitializeRemoveLock`.
pub fn io_initialize_remove_lock(lock: &mut IoRemoveLock) {
    *lock = IoRemoveLock::new();
}

/// `IoAcquireRemoveLock`: `STATUS_SUCCESS`, or `STATUS_DELETE_PENDING` once the device is
/// being removed (nothing acquired then).
pub fn io_acquire_remove_lock(lock: &IoRemoveLock) -> NtStatus {
    lock.io_count.fetch_add(1, Ordering::AcqRel);
    if lock.removed.load(Ordering::Acquire) != FALSE {
        io_release_remove_lock(lock);
        return STATUS_DELETE_PENDING;
    }
    STATUS_SUCCESS
}

/// `IoReleaseRemoveLock`.
pub fn io_release_remove_lock(lock: &IoRemoveLock) {
    if lock.io_count.fetch_sub(1, Ordering::AcqRel) == 1 {
        super::event::ke_set_event(&lock.remove_event, 0, false);
    }
}

/// `IoReleaseRemoveLockAndWait`: the caller holds one acquisition; marks the lock removed,
/// releases it and the initial bias, and waits until every other holder released.
pub fn io_release_remove_lock_and_wait(lock: &IoRemoveLock) {
    lock.removed.store(TRUE, Ordering::Release);
    io_release_remove_lock(lock);
    io_release_remove_lock(lock);
    ke_wait_for_single_object(&lock.remove_event, None);
}

/// A system thread (`PsCreateSystemThread`): runs at PASSIVE_LEVEL in its kernel, on
/// behalf of the driver that created it.
#[derive(Debug)]
pub struct SystemThread {
    handle: Option<crate::JoinHandle<()>>,
}

impl SystemThread {
    /// Waits for the thread to end (`KeWaitForSingleObject` on the thread object).
    pub fn join(mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

// The `Kernel` methods of this module: their public face is in `nt/kernel.rs`.
/// The body of [`Kernel::create_system_thread`].
pub(crate) fn create_system_thread(kernel: &Kernel, routine: impl FnOnce() + Send + 'static) -> SystemThread {
    let driver = crate::nt::device::DriverPtr(kernel::current_routine().driver);
    let handle = kernel.spawn_named("system thread", move || {
        let driver = driver;
        kernel::in_routine(driver.0, kernel::RoutineKind::SystemThread, core::ptr::null_mut(), routine)
    });
    SystemThread { handle: Some(handle) }
}
