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
        if iteration < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

pub(crate) use imp::*;

/// Locks a mutex, ignoring poisoning: irpkit's own state stays consistent across a
/// panicking driver routine (strict verifier mode panics on purpose), so a poisoned lock
/// carries no extra information.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}
