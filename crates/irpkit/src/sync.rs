//! The one place where irpkit touches threads, locks, atomics and yields.
//!
//! Every other module imports its concurrency primitives from here, never from `std`
//! directly. By default they are `std`'s; built with `RUSTFLAGS="--cfg loom"` they are
//! [loom]'s (exhaustive interleaving checks of the core protocols), and with
//! `RUSTFLAGS="--cfg shuttle"` they are [shuttle]'s (randomised and PCT schedules).
//! This is the same seam tokio (`loom` module) and crossbeam (`primitive` module) use.
//!
//! [loom]: https://docs.rs/loom
//! [shuttle]: https://docs.rs/shuttle

#[cfg(all(loom, shuttle))]
compile_error!("build with at most one of --cfg loom and --cfg shuttle");

#[cfg(loom)]
mod imp {
    pub(crate) use loom::sync::atomic;
    pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub(crate) use loom::thread;
    pub(crate) use loom::thread_local;

    /// One step of a busy-wait: under loom a spin must yield so the model can progress.
    pub(crate) fn spin_step(_iteration: u32) {
        loom::thread::yield_now();
    }
}

#[cfg(shuttle)]
mod imp {
    pub(crate) use shuttle::sync::atomic;
    pub(crate) use shuttle::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub(crate) use shuttle::thread;
    pub(crate) use shuttle::thread_local;

    /// One step of a busy-wait: under shuttle a spin must yield to the scheduler.
    pub(crate) fn spin_step(_iteration: u32) {
        shuttle::thread::yield_now();
    }
}

#[cfg(not(any(loom, shuttle)))]
mod imp {
    pub(crate) use std::sync::atomic;
    pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub(crate) use std::thread;
    pub(crate) use std::thread_local;

    /// One step of a busy-wait. Spins briefly, then yields the processor: this machine
    /// model may have more runnable threads than cores, and a spin lock holder that was
    /// preempted must get to run.
    pub(crate) fn spin_step(iteration: u32) {
        if super::spin_hook() {
            // A controlled thread took the explorer's scheduling point instead.
        } else if iteration < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

pub(crate) use imp::*;

/// What a busy-wait iteration calls first: a scheduler that controls the calling thread
/// (the explorer's) takes a scheduling point there and returns true. Installed by that
/// scheduler, so that this module depends on nothing of irpkit's.
static SPIN_HOOK: std::sync::OnceLock<fn() -> bool> = std::sync::OnceLock::new();

/// Installs the busy-wait hook (the first one installed stays).
#[cfg_attr(any(loom, shuttle), allow(dead_code))]
pub(crate) fn set_spin_hook(hook: fn() -> bool) {
    let _ = SPIN_HOOK.set(hook);
}

#[cfg_attr(any(loom, shuttle), allow(dead_code))]
fn spin_hook() -> bool {
    SPIN_HOOK.get().is_some_and(|h| h())
}

/// Declares a thread-local with a constant initialiser: `const`-initialised with `std`
/// (no lazy-init check on access), plainly initialised under loom and shuttle, whose
/// macros do not take `const` blocks.
macro_rules! const_thread_local {
    ($vis:vis static $name:ident: $t:ty = $init:expr;) => {
        #[cfg(not(any(loom, shuttle)))]
        $crate::sync::thread_local! { $vis static $name: $t = const { $init }; }
        #[cfg(any(loom, shuttle))]
        $crate::sync::thread_local! { $vis static $name: $t = $init; }
    };
}
pub(crate) use const_thread_local;

/// Locks a mutex, ignoring poisoning: irpkit's own state stays consistent across a
/// panicking driver routine (strict verifier mode panics on purpose), so a poisoned lock
/// carries no extra information.
#[inline]
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A minimal spin lock protecting a `T`: one compare-exchange to acquire, a plain release
/// store to release. For short, never-blocking critical sections on hot paths (the IRP
/// pool's free lists).
pub(crate) struct SpinMutex<T> {
    locked: atomic::AtomicBool,
    value: core::cell::UnsafeCell<T>,
}

// SAFETY: the value is only reached through the guard, which the lock makes exclusive.
unsafe impl<T: Send> Send for SpinMutex<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SpinMutex<T> {}

impl<T> SpinMutex<T> {
    pub(crate) fn new(value: T) -> Self {
        SpinMutex { locked: atomic::AtomicBool::new(false), value: core::cell::UnsafeCell::new(value) }
    }

    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        use atomic::Ordering::{Acquire, Relaxed};
        let mut i = 0u32;
        while self.locked.compare_exchange_weak(false, true, Acquire, Relaxed).is_err() {
            while self.locked.load(Relaxed) {
                spin_step(i);
                i = i.wrapping_add(1);
            }
        }
        SpinGuard { lock: self }
    }
}

/// Exclusive access to a [`SpinMutex`]'s value; releases on drop.
pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinMutex<T>,
}

impl<T> core::ops::Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> core::ops::DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, atomic::Ordering::Release);
    }
}
