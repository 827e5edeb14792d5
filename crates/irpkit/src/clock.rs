//! Time, through one seam: a real clock or a virtual one.
//!
//! Everything in irpkit that reads the time or waits for it goes through the
//! [`Clock`] of its [`Kernel`](crate::Kernel). The [`VirtualClock`] moves only when told
//! to, so that a five-minute timeout runs in microseconds of real time and a run is
//! reproducible.

use core::time::Duration;

use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{lock, Condvar, Mutex};

/// A source of time since the kernel started.
pub trait Clock: Send + Sync + core::fmt::Debug {
    /// Time elapsed since the clock's origin.
    fn now(&self) -> Duration;

    /// Blocks the calling thread until `now() >= deadline` or `wake` returns true,
    /// re-checking `wake` at least whenever the clock is advanced (virtual) or every
    /// millisecond (real). Returns whether `wake` returned true.
    fn wait_until(&self, deadline: Duration, wake: &dyn Fn() -> bool) -> bool;

    /// Whether this clock is virtual (moves only when advanced).
    fn is_virtual(&self) -> bool;

    /// This clock as a [`VirtualClock`], if it is one.
    fn as_virtual(&self) -> Option<&VirtualClock> {
        None
    }
}

/// The machine's monotonic clock.
#[derive(Debug)]
pub struct RealClock {
    origin: std::time::Instant,
}

impl RealClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        RealClock { origin: std::time::Instant::now() }
    }
}

impl Default for RealClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for RealClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn wait_until(&self, deadline: Duration, wake: &dyn Fn() -> bool) -> bool {
        loop {
            if wake() {
                return true;
            }
            let now = self.now();
            if now >= deadline {
                return false;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(1)));
        }
    }

    fn is_virtual(&self) -> bool {
        false
    }
}

/// A clock that moves only when [`advance`](VirtualClock::advance)d, deterministic and
/// as fast as the program runs.
#[derive(Debug)]
pub struct VirtualClock {
    now_ns: AtomicU64,
    /// Advances so far, and threads waiting in [`Clock::wait_until`] (a condvar's notify
    /// is a system call, made only when someone waits).
    tick: Mutex<Ticks>,
    advanced: Condvar,
}

#[derive(Debug, Default)]
struct Ticks {
    count: u64,
    waiters: usize,
}

impl VirtualClock {
    /// A virtual clock at time zero.
    pub fn new() -> Self {
        VirtualClock { now_ns: AtomicU64::new(0), tick: Mutex::new(Ticks::default()), advanced: Condvar::new() }
    }

    /// Moves time forward by `by` and wakes every waiter to re-check its deadline.
    pub fn advance(&self, by: Duration) {
        let mut tick = lock(&self.tick);
        let ns = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let now = self.now_ns.load(Ordering::Acquire).saturating_add(ns);
        self.now_ns.store(now, Ordering::Release);
        tick.count += 1;
        let waiters = tick.waiters > 0;
        drop(tick);
        if waiters {
            self.advanced.notify_all();
        }
    }

    /// Wakes waiters so they re-check their condition without moving time.
    pub fn poke(&self) {
        let mut tick = lock(&self.tick);
        tick.count += 1;
        let waiters = tick.waiters > 0;
        drop(tick);
        if waiters {
            self.advanced.notify_all();
        }
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_ns.load(Ordering::Acquire))
    }

    fn wait_until(&self, deadline: Duration, wake: &dyn Fn() -> bool) -> bool {
        let mut tick = lock(&self.tick);
        loop {
            if wake() {
                return true;
            }
            if self.now() >= deadline {
                return false;
            }
            // Conditions other than time (an event being set) poke the clock, but a
            // waker may also not know about this clock: re-check every millisecond.
            // Counted under the lock the wait releases (see `Ticks`).
            tick.waiters += 1;
            tick = match self.advanced.wait_timeout(tick, std::time::Duration::from_millis(1)) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
            tick.waiters -= 1;
        }
    }

    fn is_virtual(&self) -> bool {
        true
    }

    fn as_virtual(&self) -> Option<&VirtualClock> {
        Some(self)
    }
}

#[cfg(all(test, not(any(loom, shuttle))))]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_moves_only_when_advanced() {
        let c = VirtualClock::new();
        assert_eq!(c.now(), Duration::ZERO);
        c.advance(Duration::from_secs(300));
        assert_eq!(c.now(), Duration::from_secs(300));
        assert!(!c.wait_until(Duration::from_secs(1), &|| false), "deadline already passed");
        assert!(c.wait_until(Duration::from_secs(400), &|| true));
    }
}
