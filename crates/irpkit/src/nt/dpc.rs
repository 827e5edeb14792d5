//! DPCs and timers: KeInitializeDpc, KeInsertQueueDpc, KeRemoveQueueDpc,
//! KeInitializeTimer(Ex), KeSetTimer(Ex), KeCancelTimer, KeReadStateTimer.
//!
//! Each kernel has one DPC queue and one timer table — its "processor". DPC routines run
//! at DISPATCH_LEVEL on a DPC context, one at a time, in queue order. Who runs them:
//! - the caller, deterministically: [`Kernel::run_dpcs`] runs what is queued and due, and
//!   [`Kernel::advance`] moves a virtual clock forward expiry by expiry, running each
//!   timer's DPC at its due time;
//! - or a background DPC thread ([`Kernel::start_dpc_thread`]), which on a real clock
//!   sleeps until the next expiry and on a virtual clock jumps to the next expiry as soon
//!   as no DPC is left to run (discrete-event time).
//!
//! # Invariants
//! - The engine never writes a `KTIMER`'s memory except its atomic `SignalState`: whether
//!   a timer is armed, its arming stamp, due time, period and DPC live in the engine's
//!   table of armed timers. KeCancelTimer removes the timer from that table, and no timer
//!   outside it is ever dereferenced, so a timer's memory may be freed as soon as it is
//!   cancelled (the heap below may still hold its address; the address is only compared).
//! - The due-time heap is lazy: (re)arming pushes an entry with a fresh stamp, and an entry
//!   whose stamp is not the timer's current one in the table is skipped. Neither the heap
//!   nor the table allocates in steady state (both keep their capacity).
//! - A DPC's queue fields (`DpcData`, the system arguments) change only under the engine
//!   lock. A DPC taken off the queue is recorded as running (with the running thread's
//!   token) until its routine returns — also when it unwinds — so `flush_dpc_in` can wait
//!   until no other thread is inside it; a `DeviceTimer` drop relies on that before it
//!   frees the DPC's memory.
//!
//! Lock order: the engine lock is a leaf. It is never held while a DPC routine runs, nor
//! across a scheduling point.

use core::cmp::Reverse;
use core::ffi::c_void;
use core::ptr;
use core::time::Duration;
use std::collections::{BinaryHeap, VecDeque};

use crate::nt::addr_map::AddrMap;

use super::event::notify_waiters;
use super::spinlock::call_checked;
use super::types::*;
use crate::nt::kernel::{self, with_current, Kernel, KernelShared, RoutineKind};
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{lock, Condvar, Mutex, MutexGuard};

/// `TIMER_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerType {
    /// `NotificationTimer`: stays signalled until re-armed.
    Notification = 8,
    /// `SynchronizationTimer`: a satisfied wait resets it.
    Synchronization = 9,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct TimerPtr(*mut KTimer);

#[derive(Clone, Copy, PartialEq, Eq)]
struct DpcPtr(*mut KDpc);

/// An armed timer's state, kept by the engine (never in the timer's memory).
#[derive(Clone, Copy)]
struct Armed {
    /// The stamp of the arming; heap entries with another stamp are stale.
    stamp: u64,
    /// The DPC to queue at expiry (may be null).
    dpc: *mut KDpc,
    /// Re-arm this many milliseconds after each expiry (0: one-shot).
    period: u32,
}

struct DpcState {
    queue: VecDeque<DpcPtr>,
    /// Due-time order of armings: `(due, stamp, timer)`, stale entries included.
    timers: BinaryHeap<Reverse<(u64, u64, TimerPtr)>>,
    /// The armed timers.
    armed: AddrMap<TimerPtr, Armed>,
    next_stamp: u64,
    /// DPCs whose routine is running, with the token of the thread running each.
    running: Vec<(DpcPtr, usize)>,
    /// Threads (not under the explorer) waiting in `flush_dpc_in`.
    flush_waiters: usize,
    /// DPC threads (not under the explorer) waiting for work on `DpcEngine::work`: a
    /// condvar's notify is a system call, made only when someone waits.
    idle_waiters: usize,
}

/// One kernel's DPC queue and timer table.
pub(crate) struct DpcEngine {
    state: Mutex<DpcState>,
    work: Condvar,
    /// Notified when a DPC routine returns while a flush waits.
    finished: Condvar,
    stop: AtomicBool,
}

// SAFETY: the raw DPC and timer pointers are driver objects that outlive their queueing
// and arming (the NT routines' contracts); the engine touches them only under `state`'s
// lock, except the one thread running a DPC, which has it recorded in `running`.
unsafe impl Send for DpcEngine {}
// SAFETY: as above.
unsafe impl Sync for DpcEngine {}

impl DpcEngine {
    pub(crate) fn new() -> Self {
        DpcEngine {
            state: Mutex::new(DpcState {
                queue: VecDeque::new(),
                timers: BinaryHeap::new(),
                armed: AddrMap::default(),
                next_stamp: 1,
                running: Vec::new(),
                flush_waiters: 0,
                idle_waiters: 0,
            }),
            work: Condvar::new(),
            finished: Condvar::new(),
            stop: AtomicBool::new(false),
        }
    }
}

/// The explorer's wait key of a kernel's DPC queue and timers.
fn dpc_key(k: &KernelShared) -> usize {
    ptr::from_ref(&k.dpc) as usize
}

/// The explorer's wait key of a flush waiting for a DPC routine to return.
fn flush_key(k: &KernelShared) -> usize {
    ptr::from_ref(&k.dpc.finished) as usize
}

fn now_100ns(k: &KernelShared) -> u64 {
    u64::try_from(k.clock.now().as_nanos() / 100).unwrap_or(u64::MAX)
}

/// The clock tick, in 100 ns units (`KeQueryTimeIncrement`: 15.625 ms).
pub const TIME_INCREMENT: u32 = 156_250;

/// `KeQuerySystemTime` (and `KeQuerySystemTimePrecise`): the system time in 100 ns units,
/// from the kernel's clock. irpkit's system time starts at 0 when the kernel starts, so
/// that an absolute due time given to KeSetTimer is on the same scale.
pub fn ke_query_system_time() -> i64 {
    with_current("KeQuerySystemTime", |k| now_100ns(k) as i64)
}

/// `KeQueryInterruptTime`: 100 ns units since the kernel started.
pub fn ke_query_interrupt_time() -> u64 {
    with_current("KeQueryInterruptTime", |k| now_100ns(k))
}

/// `KeQueryTickCount`: clock ticks ([`TIME_INCREMENT`]) since the kernel started.
pub fn ke_query_tick_count() -> i64 {
    with_current("KeQueryTickCount", |k| (now_100ns(k) / u64::from(TIME_INCREMENT)) as i64)
}

/// `KeInitializeDpc`: sets the routine and context. The driver running now (if any) is
/// recorded as the DPC's owner (irpkit keeps it in `DpcListEntry`, which its own queue
/// does not use), so reports from the routine name the driver.
///
/// # Safety
/// `dpc` points to writable memory that stays valid while the DPC may be queued.
pub unsafe fn ke_initialize_dpc(dpc: *mut KDpc, routine: KDeferredRoutine, context: *mut c_void) {
    let owner = kernel::current_routine().driver;
    // SAFETY: writable DPC memory by the contract.
    unsafe {
        dpc.write(KDpc {
            type_: 0x13,
            importance: 1,
            number: 0,
            dpc_list_entry: owner.cast(),
            processor_history: 0,
            deferred_routine: Some(routine),
            deferred_context: context,
            system_argument1: ptr::null_mut(),
            system_argument2: ptr::null_mut(),
            dpc_data: ptr::null_mut(),
        })
    };
}

/// `KeInsertQueueDpc`: queues the DPC with two arguments; false if it is already queued.
///
/// # Safety
/// `dpc` was initialised with [`ke_initialize_dpc`] and stays valid while queued and while
/// its routine runs; the kernel writes its queue fields meanwhile, so no Rust reference to
/// the `KDpc` may be live then (keep it in an `UnsafeCell` or behind a raw pointer).
pub unsafe fn ke_insert_queue_dpc(dpc: *mut KDpc, argument1: *mut c_void, argument2: *mut c_void) -> bool {
    super::coverage::point_crossed();
    with_current("KeInsertQueueDpc", |k| {
        let mut state = lock(&k.dpc.state);
        // SAFETY: the contract; queue membership changes only under this lock.
        let inserted = unsafe { insert_locked(k, &mut state, dpc, argument1, argument2) };
        let idle = state.idle_waiters > 0;
        drop(state);
        if idle {
            k.dpc.work.notify_all();
        }
        crate::sched::wake(dpc_key(k));
        crate::sched::point("KeInsertQueueDpc", None);
        inserted
    })
}

/// # Safety
/// As [`ke_insert_queue_dpc`]; the caller holds the engine lock (`state`).
unsafe fn insert_locked(
    k: &KernelShared,
    state: &mut DpcState,
    dpc: *mut KDpc,
    argument1: *mut c_void,
    argument2: *mut c_void,
) -> bool {
    // SAFETY: valid DPC; its queue fields change only under the engine lock.
    unsafe {
        if !(*dpc).dpc_data.is_null() {
            return false;
        }
        (*dpc).system_argument1 = argument1;
        (*dpc).system_argument2 = argument2;
        (*dpc).dpc_data = (k as *const KernelShared).cast_mut().cast();
    }
    state.queue.push_back(DpcPtr(dpc));
    true
}

/// `KeRemoveQueueDpc`: removes a queued DPC; false if it was not queued.
///
/// # Safety
/// `dpc` was initialised with [`ke_initialize_dpc`].
pub unsafe fn ke_remove_queue_dpc(dpc: *mut KDpc) -> bool {
    // SAFETY: forwarded contract.
    with_current("KeRemoveQueueDpc", |k| unsafe { remove_queue_dpc_in(k, dpc) })
}

/// [`ke_remove_queue_dpc`] in kernel `k`.
///
/// # Safety
/// As [`ke_remove_queue_dpc`].
pub(crate) unsafe fn remove_queue_dpc_in(k: &KernelShared, dpc: *mut KDpc) -> bool {
    let mut state = lock(&k.dpc.state);
    // SAFETY: valid DPC; queue fields change only under the engine lock.
    unsafe {
        if (*dpc).dpc_data.is_null() {
            return false;
        }
        (*dpc).dpc_data = ptr::null_mut();
    }
    state.queue.retain(|&d| d != DpcPtr(dpc));
    true
}

/// Takes `dpc` off the queue if it is queued, then waits until no other thread runs its
/// routine (a routine that returns on this very thread, e.g. one dropping its own timer,
/// is not waited for). After it returns the kernel holds no reference to the DPC unless
/// it is queued again. irpkit's counterpart of `KeFlushQueuedDpcs`, for one DPC.
///
/// # Safety
/// `dpc` was initialised with [`ke_initialize_dpc`] (or is all zero) and is valid.
pub(crate) unsafe fn flush_dpc_in(k: &KernelShared, dpc: *mut KDpc) {
    let me = kernel::thread_token();
    let mut state = lock(&k.dpc.state);
    // SAFETY: valid DPC; queue fields change only under the engine lock, held.
    unsafe {
        if !(*dpc).dpc_data.is_null() {
            (*dpc).dpc_data = ptr::null_mut();
            state.queue.retain(|&d| d != DpcPtr(dpc));
        }
    }
    let settled = |s: &DpcState| !s.running.iter().any(|&(d, t)| d == DpcPtr(dpc) && t != me);
    drop(wait_for_dpcs(k, state, "a DPC routine still running on another thread", settled));
}

/// Waits until `settled` holds of the engine's state, the engine lock released meanwhile:
/// under the explorer by blocking on the flush key, otherwise on the `finished` condvar
/// (counted in `flush_waiters`, so that a DPC's end wakes it). Returns the lock, held.
fn wait_for_dpcs<'a>(
    k: &'a KernelShared,
    mut state: MutexGuard<'a, DpcState>,
    why: &'static str,
    settled: impl Fn(&DpcState) -> bool,
) -> MutexGuard<'a, DpcState> {
    while !settled(&state) {
        if crate::sched::controlled() {
            drop(state);
            crate::sched::block(flush_key(k), None, why);
            state = lock(&k.dpc.state);
        } else {
            state.flush_waiters += 1;
            state = match k.dpc.finished.wait(state) {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            state.flush_waiters -= 1;
        }
    }
    state
}

impl KernelShared {
    /// What of `driver` can still run after its Unload: armed timers whose DPC it
    /// initialised, and its DPCs still queued. Returns (timers, DPCs).
    pub(crate) fn dpc_work_of(&self, driver: *mut DriverObject) -> (usize, usize) {
        let state = lock(&self.dpc.state);
        // SAFETY: armed timers' DPCs and queued DPCs stay valid while armed or queued (the
        // contracts of KeSetTimer and KeInsertQueueDpc); the owner field is written only at
        // KeInitializeDpc, before the DPC is armed or queued.
        let owned =
            |dpc: *mut KDpc| !dpc.is_null() && unsafe { (*dpc).dpc_list_entry.cast::<DriverObject>() } == driver;
        let timers = state.armed.values().filter(|a| owned(a.dpc)).count();
        let dpcs = state.queue.iter().filter(|d| owned(d.0)).count();
        (timers, dpcs)
    }
}

/// `KeFlushQueuedDpcs`: returns once every DPC queued when it was called has run (no
/// DPC queued, none running on another thread). Called at PASSIVE_LEVEL, typically by
/// Unload after cancelling its timers. The kernel's DPC thread (or the explorer's) must be
/// running, or the wait never ends.
pub fn ke_flush_queued_dpcs() {
    with_current("KeFlushQueuedDpcs", |k| {
        super::spinlock::check_irql_at_most(k, super::types::PASSIVE_LEVEL, "KeFlushQueuedDpcs", ptr::null_mut());
        let me = kernel::thread_token();
        let state = lock(&k.dpc.state);
        let settled = |s: &DpcState| s.queue.is_empty() && !s.running.iter().any(|&(_, t)| t != me);
        drop(wait_for_dpcs(k, state, "KeFlushQueuedDpcs: DPCs still queued or running", settled));
    })
}

/// Records a DPC routine as running on this thread; dropping it (the routine returned or
/// unwound) takes the record off and wakes flushes waiting for it.
struct RunningDpc<'a> {
    k: &'a KernelShared,
    dpc: DpcPtr,
    token: usize,
}

impl Drop for RunningDpc<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.k.dpc.state);
        if let Some(i) = state.running.iter().position(|&(d, t)| d == self.dpc && t == self.token) {
            state.running.swap_remove(i);
        }
        let waiters = state.flush_waiters > 0;
        drop(state);
        if waiters {
            self.k.dpc.finished.notify_all();
        }
        crate::sched::wake(flush_key(self.k));
    }
}

/// `KeInitializeTimer`: a notification timer, not signalled, not armed.
///
/// # Safety
/// `timer` points to writable memory that stays valid while the timer may be armed.
pub unsafe fn ke_initialize_timer(timer: *mut KTimer) {
    // SAFETY: forwarded contract.
    unsafe { ke_initialize_timer_ex(timer, TimerType::Notification) };
}

/// `KeInitializeTimerEx`.
///
/// # Safety
/// As [`ke_initialize_timer`].
pub unsafe fn ke_initialize_timer_ex(timer: *mut KTimer, kind: TimerType) {
    // SAFETY: writable timer memory by the contract.
    unsafe {
        timer.write(KTimer {
            header: DispatcherHeader {
                type_: kind as u8,
                signalling: 0,
                size: (core::mem::size_of::<KTimer>() / 4) as u8,
                reserved: 0,
                signal_state: crate::sync::atomic::AtomicI32::new(0),
                wait_list_head: ListEntry::null(),
            },
            due_time: 0,
            timer_list_entry: ListEntry::null(),
            dpc: ptr::null_mut(),
            processor: 0,
            period: 0,
        })
    };
}

/// `KeSetTimer`: arms the timer to expire at `due_time` (100 ns units; negative: relative
/// to now, positive: absolute on the kernel's clock) and queue `dpc` then. Returns whether
/// it was already armed (it is re-armed).
///
/// # Safety
/// `timer` was initialised and stays valid while armed (until it expires without a
/// period, or KeCancelTimer); `dpc` is null or initialised, valid while the timer is
/// armed and as [`ke_insert_queue_dpc`] requires once queued. The kernel writes only the
/// timer's atomic signal state, so shared references to the `KTimer` are fine.
pub unsafe fn ke_set_timer(timer: *mut KTimer, due_time: i64, dpc: *mut KDpc) -> bool {
    // SAFETY: forwarded contract.
    unsafe { ke_set_timer_ex(timer, due_time, 0, dpc) }
}

/// `KeSetTimerEx`: like [`ke_set_timer`], re-arming every `period_ms` milliseconds after
/// the first expiry when `period_ms > 0`.
///
/// # Safety
/// As [`ke_set_timer`].
pub unsafe fn ke_set_timer_ex(timer: *mut KTimer, due_time: i64, period_ms: i32, dpc: *mut KDpc) -> bool {
    // SAFETY: forwarded contract.
    with_current("KeSetTimer", |k| unsafe { set_timer_in(k, timer, due_time, period_ms, dpc) })
}

/// [`ke_set_timer_ex`] in kernel `k`.
///
/// # Safety
/// As [`ke_set_timer_ex`].
pub(crate) unsafe fn set_timer_in(
    k: &KernelShared,
    timer: *mut KTimer,
    due_time: i64,
    period_ms: i32,
    dpc: *mut KDpc,
) -> bool {
    let now = now_100ns(k);
    let due = if due_time < 0 { now.saturating_add(due_time.unsigned_abs()) } else { due_time as u64 };
    let mut state = lock(&k.dpc.state);
    // SAFETY: a valid timer by the contract; its signal state is atomic.
    unsafe { (*timer).header.signal_state.store(0, Ordering::Release) };
    let was_armed = state.armed.contains_key(&TimerPtr(timer));
    arm_locked(&mut state, timer, due, dpc, period_ms.max(0) as u32);
    let idle = state.idle_waiters > 0;
    drop(state);
    if idle {
        k.dpc.work.notify_all();
    }
    crate::sched::wake(dpc_key(k));
    was_armed
}

/// Arms (or re-arms) `timer` in the table, with a fresh stamp. Touches no timer memory.
fn arm_locked(state: &mut DpcState, timer: *mut KTimer, due: u64, dpc: *mut KDpc, period: u32) {
    let stamp = state.next_stamp;
    state.next_stamp += 1;
    state.armed.insert(TimerPtr(timer), Armed { stamp, dpc, period });
    state.timers.push(Reverse((due, stamp, TimerPtr(timer))));
}

/// Whether a heap entry is the current arming of its timer.
fn is_live(state: &DpcState, timer: TimerPtr, stamp: u64) -> bool {
    state.armed.get(&timer).is_some_and(|a| a.stamp == stamp)
}

/// `KeCancelTimer`: disarms the timer; returns whether it was armed.
///
/// # Safety
/// `timer` was initialised.
pub unsafe fn ke_cancel_timer(timer: *mut KTimer) -> bool {
    // SAFETY: forwarded contract.
    with_current("KeCancelTimer", |k| unsafe { cancel_timer_in(k, timer) })
}

/// [`ke_cancel_timer`] in kernel `k`. Once it returns, the kernel no longer refers to the
/// timer (its heap entries are stale and never dereferenced): its memory may be freed.
///
/// # Safety
/// As [`ke_cancel_timer`].
pub(crate) unsafe fn cancel_timer_in(k: &KernelShared, timer: *mut KTimer) -> bool {
    lock(&k.dpc.state).armed.remove(&TimerPtr(timer)).is_some()
}

/// `KeReadStateTimer`: whether the timer has expired (is signalled).
pub fn ke_read_state_timer(timer: &KTimer) -> bool {
    timer.header.signal_state.load(Ordering::Acquire) != 0
}

impl KernelShared {
    /// Fires every armed timer due at or before the clock's now. Returns how many fired.
    fn fire_due_timers(&self) -> usize {
        let now = now_100ns(self);
        let mut fired = 0;
        let mut state = lock(&self.dpc.state);
        while let Some(&Reverse((due, stamp, TimerPtr(timer)))) = state.timers.peek() {
            if due > now {
                break;
            }
            state.timers.pop();
            if !is_live(&state, TimerPtr(timer), stamp) {
                continue; // cancelled or re-armed since: the address is not dereferenced
            }
            let armed = state.armed.remove(&TimerPtr(timer)).expect("a live entry is armed");
            // SAFETY: an armed timer is valid (KeSetTimer's contract); its signal state is
            // atomic.
            unsafe { (*timer).header.signal_state.store(1, Ordering::Release) };
            if armed.period > 0 {
                let next = due.saturating_add(u64::from(armed.period) * 10_000);
                arm_locked(&mut state, timer, next, armed.dpc, armed.period);
            }
            if !armed.dpc.is_null() {
                let (lo, hi) = (due as u32 as usize, (due >> 32) as usize);
                // SAFETY: the armed timer's DPC is valid (KeSetTimer's contract); under the
                // engine lock.
                unsafe { insert_locked(self, &mut state, armed.dpc, lo as *mut c_void, hi as *mut c_void) };
            }
            fired += 1;
        }
        drop(state);
        if fired > 0 {
            notify_waiters(self);
        }
        fired
    }

    /// The earliest expiry of an armed timer.
    fn next_expiry(&self) -> Option<u64> {
        let mut state = lock(&self.dpc.state);
        while let Some(&Reverse((due, stamp, timer))) = state.timers.peek() {
            if is_live(&state, timer, stamp) {
                return Some(due);
            }
            state.timers.pop();
        }
        None
    }

    /// Runs the DPC at the head of the queue, if any, at DISPATCH_LEVEL.
    fn run_one_dpc(&self) -> bool {
        let mut state = lock(&self.dpc.state);
        let Some(DpcPtr(dpc)) = state.queue.pop_front() else {
            return false;
        };
        // SAFETY: a queued DPC stays valid while queued and while its routine runs (the
        // contract of KeInsertQueueDpc); dequeued under the lock, so it may be queued again
        // (even by its own routine) from here on.
        let (routine, context, a1, a2, owner) = unsafe {
            (*dpc).dpc_data = ptr::null_mut();
            (
                (*dpc).deferred_routine,
                (*dpc).deferred_context,
                (*dpc).system_argument1,
                (*dpc).system_argument2,
                (*dpc).dpc_list_entry.cast::<DriverObject>(),
            )
        };
        let token = kernel::thread_token();
        state.running.push((DpcPtr(dpc), token));
        drop(state);
        // Until the routine returns (or unwinds), a flush of this DPC waits.
        let _running = RunningDpc { k: self, dpc: DpcPtr(dpc), token };
        let Some(routine) = routine else { return true };
        crate::sched::point("DPC delivery", None);
        let old = kernel::current_irql();
        kernel::set_irql(DISPATCH_LEVEL);
        let span = crate::nt::observe::dpc(self, routine as usize);
        call_checked(
            self,
            owner,
            RoutineKind::Dpc,
            ptr::null_mut(),
            "KeInsertQueueDpc",
            DISPATCH_LEVEL,
            routine as usize,
            || "a DPC routine returned while holding the cancel spin lock".to_string(),
            // SAFETY: the driver's DPC routine with its own DPC object and arguments.
            || unsafe { routine(dpc, context, a1, a2) },
        );
        crate::nt::observe::dpc_returned(self, routine as usize, span);
        kernel::set_irql(old);
        true
    }

    /// Fires due timers and runs queued DPCs until neither is left.
    pub(crate) fn drain_dpcs(&self) -> usize {
        let mut ran = 0;
        loop {
            self.fire_due_timers();
            if !self.run_one_dpc() {
                return ran;
            }
            ran += 1;
        }
    }
}

/// Stops the kernel's background DPC thread when dropped.
#[must_use = "the DPC thread stops when this guard drops"]
#[derive(Debug)]
pub struct DpcThread {
    kernel: Kernel,
    handle: Option<crate::JoinHandle<()>>,
}

impl Drop for DpcThread {
    fn drop(&mut self) {
        self.kernel.shared.dpc.stop.store(true, Ordering::Release);
        // A DPC thread that checks `stop` under the state lock after this sees it; one
        // that checked before is counted idle by now.
        if lock(&self.kernel.shared.dpc.state).idle_waiters > 0 {
            self.kernel.shared.dpc.work.notify_all();
        }
        crate::sched::wake(dpc_key(&self.kernel.shared));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.kernel.shared.dpc.stop.store(false, Ordering::Release);
    }
}

// The `Kernel` methods of this module: their public face is in `nt/kernel.rs`.
/// The body of [`Kernel::run_dpcs`].
pub(crate) fn run_dpcs(kernel: &Kernel) -> usize {
    let _entered = kernel.enter();
    kernel.shared.drain_dpcs()
}

/// The body of [`Kernel::advance`].
pub(crate) fn advance(kernel: &Kernel, by: Duration) -> usize {
    let clock = kernel.virtual_clock().expect("Kernel::advance needs a virtual clock (KernelBuilder::clock)");
    let _entered = kernel.enter();
    let k = &kernel.shared;
    let target = now_100ns(k).saturating_add(u64::try_from(by.as_nanos() / 100).unwrap_or(u64::MAX));
    let mut ran = k.drain_dpcs();
    while let Some(due) = k.next_expiry().filter(|&d| d <= target) {
        let now = now_100ns(k);
        if due > now {
            clock.advance(Duration::from_nanos((due - now) * 100));
        }
        ran += k.drain_dpcs();
    }
    let now = now_100ns(k);
    if target > now {
        clock.advance(Duration::from_nanos((target - now) * 100));
    }
    ran + k.drain_dpcs()
}

/// The body of [`Kernel::start_dpc_thread`].
pub(crate) fn start_dpc_thread(kernel: &Kernel) -> DpcThread {
    let owned = kernel.clone();
    // Returns once the thread runs (it has its name, e.g. in a timeline recorded next).
    let started = crate::sync::Arc::new(super::types::KEvent::new(super::event::EventType::Notification, false));
    let running = started.clone();
    let handle = kernel.spawn_named("DPC", move || {
        let k = &owned.shared;
        if !crate::sched::controlled() {
            super::event::set_event_in(k, &running);
        }
        drop(running);
        if crate::sched::controlled() {
            // Under the explorer: run what is due, then wait for work or for the next
            // expiry; the scheduler moves virtual time when every thread waits.
            while !k.dpc.stop.load(Ordering::Acquire) {
                if k.drain_dpcs() > 0 {
                    continue;
                }
                let next = k.next_expiry().map(|due| Duration::from_nanos(due.saturating_mul(100)));
                crate::sched::block(dpc_key(k), next, "the DPC queue (idle)");
            }
            return;
        }
        loop {
            if k.dpc.stop.load(Ordering::Acquire) {
                return;
            }
            if k.drain_dpcs() > 0 {
                continue;
            }
            let next = k.next_expiry();
            let now = now_100ns(k);
            if let (Some(clock), Some(due)) = (owned.virtual_clock(), next) {
                if due > now {
                    clock.advance(Duration::from_nanos((due - now) * 100));
                }
                continue;
            }
            let wait = match next {
                Some(due) => Duration::from_nanos(due.saturating_sub(now).saturating_mul(100)),
                None => Duration::from_millis(5),
            }
            .min(Duration::from_millis(5));
            let mut state = lock(&k.dpc.state);
            if state.queue.is_empty() && !k.dpc.stop.load(Ordering::Acquire) {
                // Counted under the lock the wait releases: a notifier holding it
                // sees this thread asleep or about to be.
                state.idle_waiters += 1;
                let mut state = match k.dpc.work.wait_timeout(state, wait) {
                    Ok((g, _)) => g,
                    Err(p) => p.into_inner().0,
                };
                state.idle_waiters -= 1;
            }
        }
    });
    // (Not under the explorer: there the scheduler decides when the thread runs, and
    // a wait here would add scheduling points to every run.)
    if !crate::sched::controlled() {
        let _entered = kernel.enter();
        super::event::ke_wait_for_single_object(&*started, None);
    }
    DpcThread { kernel: kernel.clone(), handle: Some(handle) }
}
