//! The kernel's routines: spin locks and IRQL, device queues, DPCs and timers, events,
//! semaphores and waits, time, threads and objects.

use core::ffi::c_void;

use irpkit::nt::{self, *};

use super::{boolean, timeout};

// --- spin locks and IRQL --------------------------------------------------------------

pub(crate) unsafe extern "C-unwind" fn KeInitializeSpinLock(lock: *mut KSpinLock) {
    // SAFETY: the driver's spin lock, not held by anyone (any word is a valid KSpinLock).
    nt::ke_initialize_spin_lock(unsafe { &mut *lock })
}

pub(crate) unsafe extern "C-unwind" fn KeAcquireSpinLockRaiseToDpc(lock: *mut KSpinLock) -> KIrql {
    // SAFETY: an initialised spin lock (an atomic word).
    nt::ke_acquire_spin_lock(unsafe { &*lock })
}

pub(crate) unsafe extern "C-unwind" fn KfAcquireSpinLock(lock: *mut KSpinLock) -> KIrql {
    // SAFETY: as KeAcquireSpinLockRaiseToDpc.
    nt::ke_acquire_spin_lock(unsafe { &*lock })
}

pub(crate) unsafe extern "C-unwind" fn KeReleaseSpinLock(lock: *mut KSpinLock, irql: KIrql) {
    // SAFETY: an initialised spin lock (an atomic word).
    nt::ke_release_spin_lock(unsafe { &*lock }, irql)
}

pub(crate) unsafe extern "C-unwind" fn KfReleaseSpinLock(lock: *mut KSpinLock, irql: KIrql) {
    // SAFETY: as KeReleaseSpinLock.
    nt::ke_release_spin_lock(unsafe { &*lock }, irql)
}

pub(crate) unsafe extern "C-unwind" fn KeAcquireSpinLockAtDpcLevel(lock: *mut KSpinLock) {
    // SAFETY: an initialised spin lock (an atomic word).
    nt::ke_acquire_spin_lock_at_dpc_level(unsafe { &*lock })
}

pub(crate) unsafe extern "C-unwind" fn KeReleaseSpinLockFromDpcLevel(lock: *mut KSpinLock) {
    // SAFETY: an initialised spin lock (an atomic word).
    nt::ke_release_spin_lock_from_dpc_level(unsafe { &*lock })
}

pub(crate) unsafe extern "C-unwind" fn KefAcquireSpinLockAtDpcLevel(lock: *mut KSpinLock) {
    // SAFETY: as KeAcquireSpinLockAtDpcLevel, whose exported name this is.
    nt::ke_acquire_spin_lock_at_dpc_level(unsafe { &*lock })
}

pub(crate) unsafe extern "C-unwind" fn KefReleaseSpinLockFromDpcLevel(lock: *mut KSpinLock) {
    // SAFETY: as KeReleaseSpinLockFromDpcLevel, whose exported name this is.
    nt::ke_release_spin_lock_from_dpc_level(unsafe { &*lock })
}

pub(crate) unsafe extern "C-unwind" fn KeAcquireInStackQueuedSpinLock(
    lock: *mut KSpinLock,
    handle: *mut KLockQueueHandle,
) {
    // SAFETY: the driver's lock and its handle on its own stack.
    unsafe { nt::ke_acquire_in_stack_queued_spin_lock(lock, handle) }
}

pub(crate) unsafe extern "C-unwind" fn KeReleaseInStackQueuedSpinLock(handle: *mut KLockQueueHandle) {
    // SAFETY: the handle its acquire filled.
    unsafe { nt::ke_release_in_stack_queued_spin_lock(handle) }
}

pub(crate) unsafe extern "C-unwind" fn KeAcquireInStackQueuedSpinLockAtDpcLevel(
    lock: *mut KSpinLock,
    handle: *mut KLockQueueHandle,
) {
    // SAFETY: as KeAcquireInStackQueuedSpinLock.
    unsafe { nt::ke_acquire_in_stack_queued_spin_lock_at_dpc_level(lock, handle) }
}

pub(crate) unsafe extern "C-unwind" fn KeReleaseInStackQueuedSpinLockFromDpcLevel(handle: *mut KLockQueueHandle) {
    // SAFETY: the handle its acquire filled.
    unsafe { nt::ke_release_in_stack_queued_spin_lock_from_dpc_level(handle) }
}

pub(crate) unsafe extern "C-unwind" fn KeTestSpinLock(lock: *mut KSpinLock) -> u8 {
    // SAFETY: an initialised spin lock (an atomic word). TRUE: the lock is free.
    boolean(!unsafe { &*lock }.is_held())
}

pub(crate) unsafe extern "C-unwind" fn KeGetCurrentIrql() -> KIrql {
    nt::ke_get_current_irql()
}

pub(crate) unsafe extern "C-unwind" fn KfRaiseIrql(new: KIrql) -> KIrql {
    nt::ke_raise_irql(new)
}

pub(crate) unsafe extern "C-unwind" fn KeRaiseIrqlToDpcLevel() -> KIrql {
    nt::ke_raise_irql(DISPATCH_LEVEL)
}

pub(crate) unsafe extern "C-unwind" fn KeLowerIrql(new: KIrql) {
    nt::ke_lower_irql(new)
}

pub(crate) unsafe extern "C-unwind" fn KfLowerIrql(new: KIrql) {
    nt::ke_lower_irql(new)
}

// --- device queues ------------------------------------------------------------------------

pub(crate) unsafe extern "C-unwind" fn KeInitializeDeviceQueue(queue: *mut KDeviceQueue) {
    // SAFETY: the driver's queue at its final address.
    unsafe { nt::ke_initialize_device_queue(queue) }
}

pub(crate) unsafe extern "C-unwind" fn KeInsertDeviceQueue(
    queue: *mut KDeviceQueue,
    entry: *mut KDeviceQueueEntry,
) -> u8 {
    // SAFETY: an initialised queue; the entry is the driver's and not queued.
    boolean(unsafe { nt::ke_insert_device_queue(queue, entry) })
}

pub(crate) unsafe extern "C-unwind" fn KeInsertByKeyDeviceQueue(
    queue: *mut KDeviceQueue,
    entry: *mut KDeviceQueueEntry,
    key: u32,
) -> u8 {
    // SAFETY: as KeInsertDeviceQueue.
    boolean(unsafe { nt::ke_insert_by_key_device_queue(queue, entry, key) })
}

pub(crate) unsafe extern "C-unwind" fn KeRemoveDeviceQueue(queue: *mut KDeviceQueue) -> *mut KDeviceQueueEntry {
    // SAFETY: an initialised queue.
    unsafe { nt::ke_remove_device_queue(queue) }
}

pub(crate) unsafe extern "C-unwind" fn KeRemoveByKeyDeviceQueue(
    queue: *mut KDeviceQueue,
    key: u32,
) -> *mut KDeviceQueueEntry {
    // SAFETY: an initialised queue.
    unsafe { nt::ke_remove_by_key_device_queue(queue, key) }
}

pub(crate) unsafe extern "C-unwind" fn KeRemoveByKeyDeviceQueueIfBusy(
    queue: *mut KDeviceQueue,
    key: u32,
) -> *mut KDeviceQueueEntry {
    // SAFETY: an initialised queue.
    unsafe { nt::ke_remove_by_key_device_queue_if_busy(queue, key) }
}

pub(crate) unsafe extern "C-unwind" fn KeRemoveEntryDeviceQueue(
    queue: *mut KDeviceQueue,
    entry: *mut KDeviceQueueEntry,
) -> u8 {
    // SAFETY: an initialised queue; the entry is the driver's.
    boolean(unsafe { nt::ke_remove_entry_device_queue(queue, entry) })
}

// --- DPCs and timers ----------------------------------------------------------------------

pub(crate) unsafe extern "C-unwind" fn KeInitializeDpc(
    dpc: *mut KDpc,
    routine: Option<KDeferredRoutine>,
    context: *mut c_void,
) {
    let Some(routine) = routine else { return };
    // SAFETY: the driver's DPC object, not queued.
    unsafe { nt::ke_initialize_dpc(dpc, routine, context) }
}

pub(crate) unsafe extern "C-unwind" fn KeInsertQueueDpc(dpc: *mut KDpc, a1: *mut c_void, a2: *mut c_void) -> u8 {
    // SAFETY: an initialised DPC that stays valid while queued.
    boolean(unsafe { nt::ke_insert_queue_dpc(dpc, a1, a2) })
}

pub(crate) unsafe extern "C-unwind" fn KeRemoveQueueDpc(dpc: *mut KDpc) -> u8 {
    // SAFETY: an initialised DPC.
    boolean(unsafe { nt::ke_remove_queue_dpc(dpc) })
}

pub(crate) unsafe extern "C-unwind" fn KeFlushQueuedDpcs() {
    nt::ke_flush_queued_dpcs()
}

pub(crate) unsafe extern "C-unwind" fn KeInitializeTimer(timer: *mut KTimer) {
    // SAFETY: the driver's timer, not armed.
    unsafe { nt::ke_initialize_timer(timer) }
}

pub(crate) unsafe extern "C-unwind" fn KeInitializeTimerEx(timer: *mut KTimer, kind: i32) {
    let kind = if kind == 1 { TimerType::Synchronization } else { TimerType::Notification };
    // SAFETY: the driver's timer, not armed.
    unsafe { nt::ke_initialize_timer_ex(timer, kind) }
}

pub(crate) unsafe extern "C-unwind" fn KeSetTimer(timer: *mut KTimer, due_time: i64, dpc: *mut KDpc) -> u8 {
    // SAFETY: an initialised timer and DPC that stay valid while armed.
    boolean(unsafe { nt::ke_set_timer(timer, due_time, dpc) })
}

pub(crate) unsafe extern "C-unwind" fn KeSetTimerEx(
    timer: *mut KTimer,
    due_time: i64,
    period: i32,
    dpc: *mut KDpc,
) -> u8 {
    // SAFETY: as KeSetTimer.
    boolean(unsafe { nt::ke_set_timer_ex(timer, due_time, period, dpc) })
}

pub(crate) unsafe extern "C-unwind" fn KeCancelTimer(timer: *mut KTimer) -> u8 {
    // SAFETY: an initialised timer.
    boolean(unsafe { nt::ke_cancel_timer(timer) })
}

pub(crate) unsafe extern "C-unwind" fn KeReadStateTimer(timer: *mut KTimer) -> u8 {
    // SAFETY: an initialised timer; only its atomic signal state is read.
    boolean(nt::ke_read_state_timer(unsafe { &*timer }))
}

// --- dispatcher objects and waits ------------------------------------------------------------

pub(crate) unsafe extern "C-unwind" fn KeInitializeEvent(event: *mut KEvent, kind: i32, state: u8) {
    let kind = if kind == 1 { EventType::Synchronization } else { EventType::Notification };
    // SAFETY: the driver's event, not waited on yet (any bytes are a valid KEvent).
    nt::ke_initialize_event(unsafe { &mut *event }, kind, state != 0)
}

pub(crate) unsafe extern "C-unwind" fn KeSetEvent(event: *mut KEvent, increment: i32, wait: u8) -> i32 {
    // SAFETY: an initialised event (its state is atomic).
    nt::ke_set_event(unsafe { &*event }, increment, wait != 0)
}

pub(crate) unsafe extern "C-unwind" fn KeClearEvent(event: *mut KEvent) {
    // SAFETY: as KeSetEvent.
    nt::ke_clear_event(unsafe { &*event })
}

pub(crate) unsafe extern "C-unwind" fn KeResetEvent(event: *mut KEvent) -> i32 {
    // SAFETY: as KeSetEvent.
    nt::ke_reset_event(unsafe { &*event })
}

pub(crate) unsafe extern "C-unwind" fn KeReadStateEvent(event: *mut KEvent) -> i32 {
    // SAFETY: as KeSetEvent.
    nt::ke_read_state_event(unsafe { &*event })
}

pub(crate) unsafe extern "C-unwind" fn KeInitializeSemaphore(semaphore: *mut KSemaphore, count: i32, limit: i32) {
    // SAFETY: the driver's semaphore, not waited on yet.
    nt::ke_initialize_semaphore(unsafe { &mut *semaphore }, count, limit)
}

pub(crate) unsafe extern "C-unwind" fn KeReleaseSemaphore(
    semaphore: *mut KSemaphore,
    increment: i32,
    adjustment: i32,
    wait: u8,
) -> i32 {
    // SAFETY: an initialised semaphore (its count is atomic).
    nt::ke_release_semaphore(unsafe { &*semaphore }, increment, adjustment, wait != 0)
}

pub(crate) unsafe extern "C-unwind" fn KeReadStateSemaphore(semaphore: *mut KSemaphore) -> i32 {
    // SAFETY: as KeReleaseSemaphore.
    nt::ke_read_state_semaphore(unsafe { &*semaphore })
}

pub(crate) unsafe extern "C-unwind" fn KeWaitForSingleObject(
    object: *mut c_void,
    _reason: i32,
    _mode: i8,
    _alertable: u8,
    timeout_: *const i64,
) -> NtStatus {
    // SAFETY: a dispatcher object (event, semaphore, timer, thread) starts with its header,
    // whose state is atomic; the timeout is null or readable.
    unsafe { nt::ke_wait_for_single_object(&*object.cast::<DispatcherHeader>(), timeout(timeout_)) }
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe extern "C-unwind" fn KeWaitForMultipleObjects(
    count: u32,
    objects: *const *mut c_void,
    wait_type: i32,
    _reason: i32,
    _mode: i8,
    _alertable: u8,
    timeout_: *const i64,
    _wait_blocks: *mut c_void,
) -> NtStatus {
    // SAFETY: `count` dispatcher objects, as KeWaitForSingleObject's.
    let headers: Vec<&DispatcherHeader> =
        unsafe { (0..count as usize).map(|i| &*(*objects.add(i)).cast::<DispatcherHeader>()).collect() };
    let wait = if wait_type == 0 { WaitType::All } else { WaitType::Any };
    // SAFETY: the timeout is null or readable.
    nt::ke_wait_for_multiple_objects(&headers, wait, unsafe { timeout(timeout_) })
}

pub(crate) unsafe extern "C-unwind" fn KeDelayExecutionThread(
    _mode: i8,
    _alertable: u8,
    interval: *const i64,
) -> NtStatus {
    // SAFETY: a readable interval, as the WDK requires.
    nt::ke_delay_execution_thread(unsafe { interval.read_unaligned() })
}

pub(crate) unsafe extern "C-unwind" fn KeStallExecutionProcessor(_microseconds: u32) {
    // A busy wait for hardware: irpkit's processors stall in no time (and on the virtual
    // clock time moves only when every thread waits).
}

// --- time -------------------------------------------------------------------------------

pub(crate) unsafe extern "C-unwind" fn KeQuerySystemTime(time: *mut i64) {
    // SAFETY: the driver's LARGE_INTEGER.
    unsafe { time.write_unaligned(nt::ke_query_system_time()) }
}

pub(crate) unsafe extern "C-unwind" fn KeQuerySystemTimePrecise(time: *mut i64) {
    // SAFETY: the driver's LARGE_INTEGER.
    unsafe { time.write_unaligned(nt::ke_query_system_time()) }
}

pub(crate) unsafe extern "C-unwind" fn KeQueryInterruptTime() -> u64 {
    nt::ke_query_interrupt_time()
}

pub(crate) unsafe extern "C-unwind" fn KeQueryTickCount(ticks: *mut i64) {
    // SAFETY: the driver's LARGE_INTEGER.
    unsafe { ticks.write_unaligned(nt::ke_query_tick_count()) }
}

pub(crate) unsafe extern "C-unwind" fn KeQueryTimeIncrement() -> u32 {
    nt::TIME_INCREMENT
}

// --- threads and objects ---------------------------------------------------------------------

pub(crate) unsafe extern "C-unwind" fn KeEnterCriticalRegion() {
    nt::ke_enter_critical_region()
}

pub(crate) unsafe extern "C-unwind" fn KeLeaveCriticalRegion() {
    nt::ke_leave_critical_region()
}

pub(crate) unsafe extern "C-unwind" fn KeGetCurrentThread() -> *mut KThread {
    nt::ke_get_current_thread()
}

pub(crate) unsafe extern "C-unwind" fn PsGetCurrentThread() -> *mut KThread {
    nt::ke_get_current_thread()
}

pub(crate) unsafe extern "C-unwind" fn KeSetPriorityThread(thread: *mut KThread, priority: i32) -> i32 {
    // SAFETY: a thread object of this kernel (KeGetCurrentThread or a referenced handle).
    unsafe { nt::ke_set_priority_thread(thread, priority) }
}

pub(crate) unsafe extern "C-unwind" fn KeGetCurrentProcessorNumber() -> u32 {
    0
}

pub(crate) unsafe extern "C-unwind" fn PsGetCurrentProcess() -> *mut c_void {
    // SAFETY: takes no arguments.
    unsafe { super::io::IoGetCurrentProcess() }
}

pub(crate) unsafe extern "C-unwind" fn PsGetCurrentThreadId() -> *mut c_void {
    nt::ke_get_current_thread().cast()
}

pub(crate) unsafe extern "C-unwind" fn PsGetCurrentProcessId() -> *mut c_void {
    // The System process's id.
    4 as *mut c_void
}

/// `CLIENT_ID`.
#[repr(C)]
struct ClientId {
    unique_process: *mut c_void,
    unique_thread: *mut c_void,
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe extern "C-unwind" fn PsCreateSystemThread(
    handle: *mut *mut c_void,
    _access: u32,
    _attributes: *mut c_void,
    _process: *mut c_void,
    client_id: *mut c_void,
    routine: Option<KStartRoutine>,
    context: *mut c_void,
) -> NtStatus {
    let Some(routine) = routine else { return STATUS_INVALID_PARAMETER };
    if handle.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: the driver's start routine, called with its context on the new thread.
    let (h, thread) = unsafe { nt::ps_create_system_thread(routine, context) };
    // SAFETY: the driver's out-parameters.
    unsafe {
        handle.write(h as *mut c_void);
        if !client_id.is_null() {
            client_id
                .cast::<ClientId>()
                .write(ClientId { unique_process: 4 as *mut c_void, unique_thread: thread.cast() });
        }
    }
    STATUS_SUCCESS
}

pub(crate) unsafe extern "C-unwind" fn PsTerminateSystemThread(status: NtStatus) -> NtStatus {
    nt::ps_terminate_system_thread(status)
}

pub(crate) unsafe extern "C-unwind" fn ObReferenceObjectByHandle(
    handle: *mut c_void,
    _access: u32,
    object_type: *mut c_void,
    _mode: i8,
    object: *mut *mut c_void,
    _info: *mut c_void,
) -> NtStatus {
    match nt::ob_reference_object_by_handle(handle as usize, super::object_type(object_type)) {
        Ok(o) => {
            if !object.is_null() {
                // SAFETY: the driver's out-parameter.
                unsafe { object.write(o) };
            }
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

pub(crate) unsafe extern "C-unwind" fn ObfReferenceObject(object: *mut c_void) -> isize {
    // SAFETY: an object of this kernel.
    unsafe { nt::ob_reference_object(object) }
}

pub(crate) unsafe extern "C-unwind" fn ObfDereferenceObject(object: *mut c_void) -> isize {
    // SAFETY: an object of this kernel.
    unsafe { nt::ob_dereference_object(object) }
}

pub(crate) unsafe extern "C-unwind" fn ObDereferenceObjectDeferDelete(object: *mut c_void) {
    // SAFETY: an object of this kernel.
    unsafe { nt::ob_dereference_object(object) };
}

pub(crate) unsafe extern "C-unwind" fn ZwClose(handle: *mut c_void) -> NtStatus {
    nt::zw_close(handle as usize)
}
