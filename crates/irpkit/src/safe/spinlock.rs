//! A driver's own spin lock around its data, in safe Rust.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};

use crate::nt::{self, KIrql, KSpinLock};
use crate::sync::atomic::Ordering;

/// A `KSPIN_LOCK` protecting a `T`: [`lock`](Self::lock) raises the thread to
/// DISPATCH_LEVEL and acquires it (`KeAcquireSpinLock`); dropping the guard releases it
/// and restores the IRQL.
///
/// This is the lock a driver's queue wants: the verifier counts it (completing an IRP
/// while holding it is reported), and under the explorer waiting for it is a scheduling
/// decision, where a `std::sync::Mutex` would block a thread the scheduler cannot see.
pub struct SpinLock<T> {
    lock: KSpinLock,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through the guard, which the spin lock makes
// exclusive across threads.
unsafe impl<T: Send> Send for SpinLock<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T: Default> Default for SpinLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> core::fmt::Debug for SpinLock<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SpinLock").finish_non_exhaustive()
    }
}

impl<T> SpinLock<T> {
    /// An unlocked spin lock around `value`.
    pub fn new(value: T) -> Self {
        SpinLock { lock: KSpinLock::new(), value: UnsafeCell::new(value) }
    }

    /// `KeAcquireSpinLock`: waits for the lock at DISPATCH_LEVEL.
    ///
    /// # Panics
    /// If the calling thread already holds this lock — a deadlock on a real processor.
    /// The verifier reports it first (strict mode panics there); in record mode the thread
    /// is stopped here, since a second guard would alias the first one's `&mut T`.
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        let recursive = self.lock.0.load(Ordering::Relaxed) == crate::nt::kernel::thread_token();
        let old_irql = nt::ke_acquire_spin_lock(&self.lock);
        if recursive {
            panic!(
                "SpinLock::lock on a spin lock this thread already holds (a deadlock on a real processor): drop the first guard before locking again"
            );
        }
        SpinLockGuard { lock: self, old_irql }
    }
}

/// Holds a [`SpinLock`]; dropping it releases the lock (`KeReleaseSpinLock`).
pub struct SpinLockGuard<'a, T> {
    lock: &'a SpinLock<T>,
    old_irql: KIrql,
}

impl<T> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the spin lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the spin lock, and `&mut self` makes this borrow unique.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        nt::ke_release_spin_lock(&self.lock.lock, self.old_irql);
    }
}
