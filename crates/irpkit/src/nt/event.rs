//! Kernel events (`KEVENT`): KeInitializeEvent, KeSetEvent, KeClearEvent, KeResetEvent,
//! KeReadStateEvent and KeWaitForSingleObject.
//!
//! The signal state lives in the event's own `DISPATCHER_HEADER`; waiters sleep on their
//! kernel's dispatcher condition variable, which every KeSetEvent notifies. Timeouts are
//! measured on the kernel's [`Clock`](crate::clock::Clock), so they are virtual in tests.

use core::time::Duration;

use super::spinlock::check_irql_at_most;
use super::status::{NtStatus, STATUS_SUCCESS, STATUS_TIMEOUT};
use super::types::{DispatcherHeader, KEvent, ListEntry, APC_LEVEL, DISPATCH_LEVEL};
use crate::nt::kernel::{with_current, KernelShared};
use crate::sync::atomic::{AtomicI32, Ordering};
use crate::sync::lock;

/// `EVENT_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// `NotificationEvent`: stays signalled until cleared; wakes every waiter.
    Notification = 0,
    /// `SynchronizationEvent`: a satisfied wait resets it; wakes one waiter.
    Synchronization = 1,
}

pub(crate) fn new_event(kind: EventType, signalled: bool) -> KEvent {
    KEvent {
        header: DispatcherHeader {
            type_: kind as u8,
            signalling: 0,
            size: (core::mem::size_of::<KEvent>() / 4) as u8,
            reserved: 0,
            signal_state: AtomicI32::new(i32::from(signalled)),
            wait_list_head: ListEntry::null(),
        },
    }
}

impl KEvent {
    /// `KeInitializeEvent` as a constructor.
    pub fn new(kind: EventType, signalled: bool) -> Self {
        new_event(kind, signalled)
    }
}

/// `KeInitializeEvent`.
pub fn ke_initialize_event(event: &mut KEvent, kind: EventType, signalled: bool) {
    *event = new_event(kind, signalled);
}

/// `KeReadStateEvent`: non-zero when signalled.
pub fn ke_read_state_event(event: &KEvent) -> i32 {
    event.header.signal_state.load(Ordering::Acquire)
}

/// `KeClearEvent`.
pub fn ke_clear_event(event: &KEvent) {
    event.header.signal_state.store(0, Ordering::Release);
}

/// `KeResetEvent`: clears the event and returns its previous state.
pub fn ke_reset_event(event: &KEvent) -> i32 {
    event.header.signal_state.swap(0, Ordering::AcqRel)
}

/// `KeSetEvent`: signals the event, wakes waiters, returns the previous state.
pub fn ke_set_event(event: &KEvent, _increment: i32, _wait: bool) -> i32 {
    with_current("KeSetEvent", |k| set_event_in(k, event))
}

pub(crate) fn set_event_in(k: &KernelShared, event: &KEvent) -> i32 {
    super::coverage::point_crossed();
    check_irql_at_most(k, DISPATCH_LEVEL, "KeSetEvent", core::ptr::null_mut());
    let prev = event.header.signal_state.swap(1, Ordering::AcqRel);
    notify_waiters(k);
    crate::sched::point("KeSetEvent", None);
    prev
}

/// Wakes every thread waiting on a dispatcher object of `k` to re-check its object.
///
/// The object's new state is stored before this is called. A waiter counts itself asleep
/// under the dispatcher lock after finding its object unsignalled and before the condvar
/// releases that lock, so either it sees the new state or this sees it asleep.
pub(crate) fn notify_waiters(k: &KernelShared) {
    let asleep = *lock(&k.dispatcher_lock);
    if asleep != 0 {
        k.dispatcher_cv.notify_all();
    }
    crate::sched::wake(dispatcher_key(k));
}

/// The explorer's wait key of a kernel's dispatcher objects.
pub(crate) fn dispatcher_key(k: &KernelShared) -> usize {
    core::ptr::from_ref(&k.dispatcher_lock) as usize
}

/// A waitable kernel object (it starts with a `DISPATCHER_HEADER`).
pub trait DispatcherObject {
    /// The object's header.
    fn dispatcher_header(&self) -> &DispatcherHeader;
}

impl DispatcherObject for DispatcherHeader {
    fn dispatcher_header(&self) -> &DispatcherHeader {
        self
    }
}

impl DispatcherObject for KEvent {
    fn dispatcher_header(&self) -> &DispatcherHeader {
        &self.header
    }
}

impl DispatcherObject for super::types::KTimer {
    fn dispatcher_header(&self) -> &DispatcherHeader {
        &self.header
    }
}

/// A satisfied wait takes one unit of a semaphore's count, and resets synchronization
/// events (1) and synchronization timers (9); notification objects stay signalled.
fn try_satisfy(header: &DispatcherHeader) -> bool {
    let state = &header.signal_state;
    if header.type_ == super::objects::SEMAPHORE_TYPE {
        let mut count = state.load(Ordering::Acquire);
        while count > 0 {
            match state.compare_exchange(count, count - 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(c) => count = c,
            }
        }
        return false;
    }
    if header.type_ == EventType::Synchronization as u8 || header.type_ == 9 {
        state.compare_exchange(1, 0, Ordering::AcqRel, Ordering::Acquire).is_ok()
    } else {
        state.load(Ordering::Acquire) != 0
    }
}

/// `KeWaitForSingleObject` on an event, semaphore, timer or thread: waits until it is
/// signalled (satisfying the wait takes a semaphore's unit and resets a synchronization
/// object) or until `timeout` passes on the kernel's clock. Returns `STATUS_SUCCESS` or
/// `STATUS_TIMEOUT`. Waiting with a non-zero timeout above APC_LEVEL is reported.
pub fn ke_wait_for_single_object(object: &impl DispatcherObject, timeout: Option<Duration>) -> NtStatus {
    let header = object.dispatcher_header();
    wait_until("KeWaitForSingleObject", timeout, || try_satisfy(header).then_some(STATUS_SUCCESS))
}

/// `WAIT_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitType {
    /// `WaitAll` (0): every object must be signalled at once.
    All = 0,
    /// `WaitAny` (1): the first signalled object satisfies the wait.
    Any = 1,
}

/// `KeWaitForMultipleObjects`: with [`WaitType::Any`], returns `STATUS_WAIT_0 + i` for the
/// first object `i` (in array order) that is signalled, satisfying only that one; with
/// [`WaitType::All`], waits until every object is signalled and satisfies them all, then
/// returns `STATUS_SUCCESS`. `STATUS_TIMEOUT` when `timeout` passes first. (The all-wait
/// checks the objects together, then takes them one by one; a racing waiter could take one
/// in between, which irpkit accepts: drivers use WaitAll on objects no one else waits on.)
pub fn ke_wait_for_multiple_objects(
    objects: &[&DispatcherHeader],
    wait: WaitType,
    timeout: Option<Duration>,
) -> NtStatus {
    wait_until("KeWaitForMultipleObjects", timeout, || match wait {
        WaitType::Any => objects.iter().position(|h| try_satisfy(h)).map(|i| i as NtStatus),
        WaitType::All => {
            if objects.iter().all(|h| is_signalled(h)) {
                for h in objects {
                    try_satisfy(h);
                }
                Some(STATUS_SUCCESS)
            } else {
                None
            }
        }
    })
}

/// Whether a wait on `header` would be satisfied now (nothing is taken).
fn is_signalled(header: &DispatcherHeader) -> bool {
    header.signal_state.load(Ordering::Acquire) > 0
}

/// The waits' common loop: `ready` is asked again whenever a dispatcher object of the
/// kernel changes; `STATUS_TIMEOUT` once `timeout` passed on the kernel's clock.
fn wait_until(
    routine: &'static str,
    timeout: Option<Duration>,
    mut ready: impl FnMut() -> Option<NtStatus>,
) -> NtStatus {
    super::coverage::point_crossed();
    with_current(routine, |k| {
        if timeout != Some(Duration::ZERO) {
            check_irql_at_most(k, APC_LEVEL, routine, core::ptr::null_mut());
        }
        let deadline = timeout.map(|t| k.clock.now().saturating_add(t));
        if crate::sched::controlled() {
            crate::sched::point(routine, None);
            loop {
                if let Some(status) = ready() {
                    return status;
                }
                if deadline.is_some_and(|d| k.clock.now() >= d) {
                    return STATUS_TIMEOUT;
                }
                crate::sched::block(dispatcher_key(k), deadline, routine);
            }
        }
        // Already signalled: no lock needed.
        if let Some(status) = ready() {
            return status;
        }
        let mut asleep = lock(&k.dispatcher_lock);
        loop {
            if let Some(status) = ready() {
                return status;
            }
            if let Some(d) = deadline {
                if k.clock.now() >= d {
                    return STATUS_TIMEOUT;
                }
            }
            // Counted asleep while the condvar holds the lock for us (see notify_waiters).
            *asleep += 1;
            // A virtual clock moves without notifying this condvar: poll it every
            // millisecond of real time while a deadline is pending.
            asleep = if deadline.is_some() {
                match k.dispatcher_cv.wait_timeout(asleep, std::time::Duration::from_millis(1)) {
                    Ok((g, _)) => g,
                    Err(p) => p.into_inner().0,
                }
            } else {
                match k.dispatcher_cv.wait(asleep) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                }
            };
            *asleep -= 1;
        }
    })
}
