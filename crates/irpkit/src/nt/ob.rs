//! The object manager's share of what drivers use: thread objects (KeGetCurrentThread,
//! PsCreateSystemThread with a driver's start routine, PsTerminateSystemThread), kernel
//! handles (ObReferenceObjectByHandle, ZwClose), object references, and the object
//! namespace's symbolic links (IoCreateSymbolicLink, IoDeleteSymbolicLink) with the
//! lookup of a device by its NT name or Win32 name (`\\.\Name`).
//!
//! Invariants: a thread object is created once per thread of a kernel (at
//! PsCreateSystemThread, or the first KeGetCurrentThread of any other thread) and freed
//! only when the kernel ends, so a stale PKTHREAD still points at thread-shaped memory.
//! Its `SignalState` becomes 1 when its routine returns or calls PsTerminateSystemThread.
//! Lock order: `ObjectManager::state` is a leaf (no kernel primitive runs under it).

use core::ffi::c_void;
use std::collections::BTreeMap;

use crate::nt::addr_map::AddrMap;

use super::device::DriverPtr;
use super::event::notify_waiters;
use super::status::*;
use super::types::{DispatcherHeader, DriverObject, ListEntry, PASSIVE_LEVEL};
use crate::nt::kernel::{self, with_current, KernelShared};
use crate::sync::atomic::{AtomicI32, AtomicU8, Ordering};
use crate::sync::{lock, Mutex};
use crate::verifier::Rule;
use crate::Kernel;

/// `ThreadObject`: the dispatcher type of a thread.
pub const THREAD_TYPE: u8 = 6;

/// `PKSTART_ROUTINE`: a system thread's start routine.
pub type KStartRoutine = unsafe extern "system-unwind" fn(context: *mut c_void);

/// A thread object (`KTHREAD`/`ETHREAD`; drivers see only a pointer). It starts with a
/// `DISPATCHER_HEADER`, so KeWaitForSingleObject on it waits for the thread to end.
#[repr(C)]
#[derive(Debug)]
pub struct KThread {
    /// `Header` (`Type` 6); signalled when the thread has ended.
    pub header: DispatcherHeader,
    /// The scheduling priority (KeSetPriorityThread); 8 for a new system thread.
    pub priority: AtomicI32,
    /// KeEnterCriticalRegion nesting (normal kernel APCs disabled while non-zero).
    pub critical_region: AtomicI32,
    /// Whether PsCreateSystemThread created the thread.
    pub system: AtomicU8,
    /// The exit status (PsTerminateSystemThread's; STATUS_SUCCESS when the routine
    /// returned).
    pub exit_status: AtomicI32,
}

// SAFETY: every field a thread writes after creation is atomic.
unsafe impl Send for KThread {}
// SAFETY: as above.
unsafe impl Sync for KThread {}

/// The kinds of objects kernel handles refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectType {
    /// `*PsThreadType`.
    Thread,
    /// `*ExEventObjectType`.
    Event,
    /// `*ExSemaphoreObjectType`.
    Semaphore,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    kind: ObjectType,
    object: usize,
}

#[derive(Default)]
struct State {
    handles: AddrMap<usize, Entry>,
    next_handle: usize,
    /// The thread object of each thread that has one, by the thread's token.
    threads: AddrMap<usize, usize>,
    /// Every thread object ever created (freed when the kernel ends).
    all_threads: Vec<usize>,
    /// Every event created for a requester (freed when the kernel ends).
    all_events: Vec<usize>,
    /// System threads started by each driver, to be accounted for at unload.
    system_threads: Vec<(DriverPtr, usize, Option<crate::JoinHandle<()>>)>,
    /// Symbolic links: the link name (lower case, `\??\` form) and its target.
    links: BTreeMap<String, String>,
}

/// A kernel's objects, handles and names.
#[derive(Default)]
pub(crate) struct ObjectManager {
    state: Mutex<State>,
}

impl core::fmt::Debug for ObjectManager {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ObjectManager").finish_non_exhaustive()
    }
}

impl Drop for ObjectManager {
    fn drop(&mut self) {
        let state = core::mem::take(&mut *lock(&self.state));
        for thread in state.all_threads {
            // SAFETY: thread objects are boxes leaked into the table and freed only here.
            drop(unsafe { Box::from_raw(thread as *mut KThread) });
        }
        for event in state.all_events {
            // SAFETY: requester events are boxes leaked into the table and freed only here.
            drop(unsafe { Box::from_raw(event as *mut super::types::KEvent) });
        }
    }
}

fn new_thread_object(system: bool) -> *mut KThread {
    Box::into_raw(Box::new(KThread {
        header: DispatcherHeader {
            type_: THREAD_TYPE,
            signalling: 0,
            size: (core::mem::size_of::<KThread>() / 4) as u8,
            reserved: 0,
            signal_state: AtomicI32::new(0),
            wait_list_head: ListEntry::null(),
        },
        priority: AtomicI32::new(8),
        critical_region: AtomicI32::new(0),
        system: AtomicU8::new(u8::from(system)),
        exit_status: AtomicI32::new(STATUS_PENDING),
    }))
}

/// The payload PsTerminateSystemThread unwinds the thread's routine with; caught where the
/// system thread started.
struct TerminateThread;

fn open_handle(state: &mut State, kind: ObjectType, object: usize) -> usize {
    state.next_handle += 4;
    let handle = 0x8000_0000 + state.next_handle;
    state.handles.insert(handle, Entry { kind, object });
    handle
}

/// `KeGetCurrentThread` / `PsGetCurrentThread`: the calling thread's object.
pub fn ke_get_current_thread() -> *mut KThread {
    with_current("KeGetCurrentThread", |k| current_thread_in(k))
}

fn current_thread_in(k: &KernelShared) -> *mut KThread {
    let token = kernel::thread_token();
    let mut state = lock(&k.objects.state);
    if let Some(&t) = state.threads.get(&token) {
        return t as *mut KThread;
    }
    let t = new_thread_object(false) as usize;
    state.threads.insert(token, t);
    state.all_threads.push(t);
    t as *mut KThread
}

/// `KeSetPriorityThread`: sets the thread's priority, returns the previous one.
///
/// # Safety
/// `thread` is a thread object of the calling thread's kernel.
pub unsafe fn ke_set_priority_thread(thread: *mut KThread, priority: i32) -> i32 {
    // SAFETY: a live thread object by the contract (they live as long as their kernel);
    // the field is atomic.
    unsafe { (*thread).priority.swap(priority, Ordering::AcqRel) }
}

/// `KeEnterCriticalRegion`.
pub fn ke_enter_critical_region() {
    let t = ke_get_current_thread();
    // SAFETY: the current thread's object lives as long as its kernel.
    unsafe { (*t).critical_region.fetch_add(1, Ordering::AcqRel) };
}

/// `KeLeaveCriticalRegion`. Leaving a region the thread did not enter is reported.
pub fn ke_leave_critical_region() {
    let t = ke_get_current_thread();
    // SAFETY: the current thread's object lives as long as its kernel.
    let before = unsafe { (*t).critical_region.fetch_sub(1, Ordering::AcqRel) };
    if before <= 0 {
        // SAFETY: as above.
        unsafe { (*t).critical_region.fetch_add(1, Ordering::AcqRel) };
        with_current("KeLeaveCriticalRegion", |k| {
            k.report(
                Rule::IrqlNotGreaterOrEqual,
                "KeLeaveCriticalRegion",
                core::ptr::null_mut(),
                "KeLeaveCriticalRegion without a matching KeEnterCriticalRegion".to_string(),
            )
        });
    }
}

/// `PsCreateSystemThread`: starts `routine(context)` on a new thread of the calling
/// thread's kernel, at PASSIVE_LEVEL, running as the driver whose routine calls this.
/// Returns a kernel handle to the thread (close it with [`zw_close`]) and its object.
///
/// # Safety
/// `routine` may be called with `context` on another thread.
pub unsafe fn ps_create_system_thread(routine: KStartRoutine, context: *mut c_void) -> (usize, *mut KThread) {
    with_current("PsCreateSystemThread", |k| {
        super::spinlock::check_irql_at_most(k, PASSIVE_LEVEL, "PsCreateSystemThread", core::ptr::null_mut());
        let driver = DriverPtr(kernel::current_routine().driver);
        let context = context as usize;
        let thread = spawn_system_thread(k, driver, "system thread", routine as usize, move || {
            // SAFETY: the caller's contract: the routine runs with its context here.
            unsafe { routine(context as *mut c_void) }
        });
        let handle = open_handle(&mut lock(&k.objects.state), ObjectType::Thread, thread as usize);
        (handle, thread)
    })
}

/// Starts `body` on a new thread of `k` as a routine of `driver` (at `address`, for
/// reports), with its own thread object, accounted for at the driver's unload.
pub(crate) fn spawn_system_thread(
    k: &crate::sync::Arc<KernelShared>,
    driver: DriverPtr,
    name: &str,
    address: usize,
    body: impl FnOnce() + Send + 'static,
) -> *mut KThread {
    let thread = new_thread_object(true);
    lock(&k.objects.state).all_threads.push(thread as usize);
    let object = thread as usize;
    let kernel = Kernel { shared: k.clone() };
    let join = kernel.spawn_named(name, move || {
        let driver = driver;
        let thread = object as *mut KThread;
        with_current("PsCreateSystemThread", |k| {
            lock(&k.objects.state).threads.insert(kernel::thread_token(), object);
        });
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            kernel::in_routine_at(driver.0, kernel::RoutineKind::SystemThread, core::ptr::null_mut(), address, body)
        }));
        // SAFETY: thread objects live as long as their kernel, which this thread entered.
        unsafe {
            let _ = (*thread).exit_status.compare_exchange(
                STATUS_PENDING,
                STATUS_SUCCESS,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            (*thread).header.signal_state.store(1, Ordering::Release);
        }
        with_current("PsTerminateSystemThread", |k| notify_waiters(k));
        if let Err(payload) = run {
            if !payload.is::<TerminateThread>() {
                std::panic::resume_unwind(payload);
            }
        }
    });
    lock(&k.objects.state).system_threads.push((driver, object, Some(join)));
    thread
}

/// `IoQueueWorkItem`'s execution: runs `routine` on a system worker thread, at
/// PASSIVE_LEVEL, as a routine of the driver that queued it (accounted for at its unload).
pub fn queue_work_item(address: usize, routine: impl FnOnce() + Send + 'static) {
    with_current("IoQueueWorkItem", |k| {
        let driver = DriverPtr(kernel::current_routine().driver);
        spawn_system_thread(k, driver, "work item", address, routine);
    })
}

/// `ObfReferenceObject`: one more reference to a device object (its `ReferenceCount`) or
/// to a file object IoGetDeviceObjectPointer opened; other objects irpkit keeps until the
/// kernel ends. Returns the new count (1 for others).
///
/// # Safety
/// `object` points to an object of the calling thread's kernel.
pub unsafe fn ob_reference_object(object: *mut c_void) -> isize {
    with_current("ObfReferenceObject", |k| {
        if let Some(count) = k.files.reference(object) {
            return count;
        }
        if lock(&k.device_blocks).iter().any(|d| d.0.cast() == object) {
            let device = object.cast::<super::types::DeviceObject>();
            // SAFETY: a device of this kernel (device blocks live as long as it).
            unsafe { (*device).reference_count.fetch_add(1, Ordering::AcqRel) as isize + 1 }
        } else {
            1
        }
    })
}

/// `ObfDereferenceObject`: drops a reference taken with [`ob_reference_object`] (or by
/// IoGetAttachedDeviceReference, ObReferenceObjectByHandle, IoGetDeviceObjectPointer).
/// The last reference to a file object sends its cleanup and close requests. Dropping a
/// count below zero is reported. Returns the new count.
///
/// # Safety
/// As [`ob_reference_object`].
pub unsafe fn ob_dereference_object(object: *mut c_void) -> isize {
    with_current("ObfDereferenceObject", |k| {
        match k.files.dereference(object) {
            Some(Ok(0)) => {
                // SAFETY: a file object of this kernel's table whose last reference went.
                unsafe { super::file::close_kernel_file(k, object.cast()) };
                return 0;
            }
            Some(Ok(count)) => return count,
            Some(Err(())) => {
                k.report(
                    Rule::InvalidKernelHandle,
                    "ObfDereferenceObject",
                    core::ptr::null_mut(),
                    "ObDereferenceObject on a file object with no reference left".to_string(),
                );
                return 0;
            }
            None => {}
        }
        if lock(&k.device_blocks).iter().any(|d| d.0.cast() == object) {
            let device = object.cast::<super::types::DeviceObject>();
            // SAFETY: a device of this kernel.
            let before = unsafe { (*device).reference_count.fetch_sub(1, Ordering::AcqRel) };
            if before <= 0 {
                // SAFETY: as above.
                unsafe { (*device).reference_count.fetch_add(1, Ordering::AcqRel) };
                k.report(
                    Rule::InvalidKernelHandle,
                    "ObfDereferenceObject",
                    core::ptr::null_mut(),
                    "ObDereferenceObject on a device object with no reference left".to_string(),
                );
                return 0;
            }
            before as isize - 1
        } else {
            0
        }
    })
}

/// `PsTerminateSystemThread`: ends the calling system thread with `status`; it does not
/// return. The thread's routine is unwound to where irpkit started it (the driver is
/// compiled with unwind tables, so no frame is skipped without its unwind information),
/// and the thread object becomes signalled. Called on a thread PsCreateSystemThread did
/// not create, it returns `STATUS_INVALID_PARAMETER`, as Windows does.
pub fn ps_terminate_system_thread(status: NtStatus) -> NtStatus {
    let t = ke_get_current_thread();
    // SAFETY: the current thread's object lives as long as its kernel.
    if unsafe { (*t).system.load(Ordering::Acquire) } == 0 {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: as above.
    unsafe { (*t).exit_status.store(status, Ordering::Release) };
    if kernel::spin_locks_held() != 0 || kernel::current_irql() != PASSIVE_LEVEL {
        with_current("PsTerminateSystemThread", |k| {
            k.report(
                Rule::IrqlTooHigh,
                "PsTerminateSystemThread",
                core::ptr::null_mut(),
                format!(
                    "PsTerminateSystemThread at IRQL {} holding {} spin lock(s): a system thread ends at PASSIVE_LEVEL",
                    kernel::current_irql(),
                    kernel::spin_locks_held()
                ),
            )
        });
    }
    std::panic::resume_unwind(Box::new(TerminateThread))
}

/// `ObReferenceObjectByHandle`: the object a kernel handle refers to, if it has the type
/// asked for (`None`: any type). `STATUS_INVALID_HANDLE`, `STATUS_OBJECT_TYPE_MISMATCH`.
pub fn ob_reference_object_by_handle(handle: usize, kind: Option<ObjectType>) -> Result<*mut c_void, NtStatus> {
    with_current("ObReferenceObjectByHandle", |k| {
        let state = lock(&k.objects.state);
        match state.handles.get(&handle) {
            None => Err(STATUS_INVALID_HANDLE),
            Some(e) if kind.is_some_and(|want| want != e.kind) => Err(STATUS_OBJECT_TYPE_MISMATCH),
            Some(e) => Ok(e.object as *mut c_void),
        }
    })
}

/// `CreateEvent` for a requester: a new event (notification or synchronization, signalled
/// or not) and a handle to it, which a driver can pass to ObReferenceObjectByHandle. The
/// event lives until the kernel ends, so a driver that still holds it after the requester
/// is gone signals valid memory.
pub fn create_requester_event(kind: super::event::EventType, signalled: bool) -> (usize, *mut super::types::KEvent) {
    with_current("CreateEvent", |k| {
        let event = Box::into_raw(Box::new(super::event::new_event(kind, signalled)));
        let mut state = lock(&k.objects.state);
        state.all_events.push(event as usize);
        let handle = open_handle(&mut state, ObjectType::Event, event as usize);
        (handle, event)
    })
}

/// Registers `object` of `kind` under a new kernel handle (an event or semaphore a
/// requester shares with a driver, for instance).
pub fn ob_open_handle(kind: ObjectType, object: *mut c_void) -> usize {
    with_current("ObOpenObjectByPointer", |k| open_handle(&mut lock(&k.objects.state), kind, object as usize))
}

/// `ZwClose` of a kernel handle. Closing a handle that is not open is INVALID_KERNEL_HANDLE
/// (0x93) on Windows: reported, `STATUS_INVALID_HANDLE` returned.
pub fn zw_close(handle: usize) -> NtStatus {
    with_current("ZwClose", |k| {
        let removed = lock(&k.objects.state).handles.remove(&handle);
        if removed.is_some() {
            STATUS_SUCCESS
        } else {
            k.report(
                Rule::InvalidKernelHandle,
                "ZwClose",
                core::ptr::null_mut(),
                format!("ZwClose(0x{handle:x}): the handle is not open (closed twice, or never opened)"),
            );
            STATUS_INVALID_HANDLE
        }
    })
}

fn link_key(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    for prefix in ["\\dosdevices\\", "\\global??\\", "\\??\\", "\\\\.\\"] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            return format!("\\??\\{rest}");
        }
    }
    lower
}

/// `IoCreateSymbolicLink`: `link` (`\DosDevices\Name`, `\??\Name` or `\GLOBAL??\Name`)
/// now names `target` (an NT device name, `\Device\Name`). `STATUS_OBJECT_NAME_COLLISION`
/// if the link exists.
pub fn io_create_symbolic_link(link: &str, target: &str) -> NtStatus {
    with_current("IoCreateSymbolicLink", |k| {
        super::spinlock::check_irql_at_most(k, PASSIVE_LEVEL, "IoCreateSymbolicLink", core::ptr::null_mut());
        let mut state = lock(&k.objects.state);
        let key = link_key(link);
        if state.links.contains_key(&key) {
            return STATUS_OBJECT_NAME_COLLISION;
        }
        state.links.insert(key, target.to_string());
        STATUS_SUCCESS
    })
}

/// `IoDeleteSymbolicLink`. `STATUS_OBJECT_NAME_NOT_FOUND` if there is no such link.
pub fn io_delete_symbolic_link(link: &str) -> NtStatus {
    with_current("IoDeleteSymbolicLink", |k| {
        super::spinlock::check_irql_at_most(k, PASSIVE_LEVEL, "IoDeleteSymbolicLink", core::ptr::null_mut());
        match lock(&k.objects.state).links.remove(&link_key(link)) {
            Some(_) => STATUS_SUCCESS,
            None => STATUS_OBJECT_NAME_NOT_FOUND,
        }
    })
}

/// `IoAttachDevice`: attaches `source` on top of the stack of the device `target` names
/// (an NT device name or a symbolic link), returning the device it was attached to.
/// `STATUS_OBJECT_NAME_NOT_FOUND` if no device has that name.
///
/// # Safety
/// `source` is a live device of the calling thread's kernel, not attached anywhere.
pub unsafe fn io_attach_device(
    source: *mut super::types::DeviceObject,
    target: &str,
) -> Result<*mut super::types::DeviceObject, NtStatus> {
    let found = with_current("IoAttachDevice", |k| {
        super::spinlock::check_irql_at_most(k, PASSIVE_LEVEL, "IoAttachDevice", core::ptr::null_mut());
        k.find_device(target)
    });
    let target = found.ok_or(STATUS_OBJECT_NAME_NOT_FOUND)?;
    // SAFETY: a live device of this kernel (found by name, not deleted) and the caller's.
    Ok(unsafe { super::device::io_attach_device_to_device_stack(source, target) })
}

impl KernelShared {
    /// Resolves a name the way CreateFile and IoGetDeviceObjectPointer do: a Win32 device
    /// path (`\\.\Name`) or an object-namespace link (`\??\Name`, `\DosDevices\Name`)
    /// through the symbolic links, then an NT device name (`\Device\Name`, compared
    /// without regard to case) to a device that is not deleted.
    pub(crate) fn find_device(&self, name: &str) -> Option<*mut super::types::DeviceObject> {
        let key = link_key(name);
        let target = lock(&self.objects.state).links.get(&key).cloned().unwrap_or_else(|| name.to_string());
        super::device::find_device_by_name(self, &target)
    }

    /// System threads `driver` started that have not ended, and joins those that have.
    pub(crate) fn system_threads_running(&self, driver: *mut DriverObject) -> usize {
        let mut finished = Vec::new();
        let mut running = 0;
        {
            let mut state = lock(&self.objects.state);
            for (owner, object, join) in &mut state.system_threads {
                if owner.0 != driver {
                    continue;
                }
                // SAFETY: thread objects live as long as their kernel.
                let ended = unsafe { (*(*object as *mut KThread)).header.signal_state.load(Ordering::Acquire) } != 0;
                if ended {
                    if let Some(j) = join.take() {
                        finished.push(j);
                    }
                } else {
                    running += 1;
                }
            }
            state.system_threads.retain(|(_, _, j)| j.is_some());
        }
        for j in finished {
            // The thread has signalled its object: it is at its very end. A panic in it
            // was already reported where it happened.
            let _ = j.join();
        }
        running
    }
}

// The `Kernel` methods of this module: their public face is in `nt/kernel.rs`.
/// The body of [`Kernel::find_device`].
pub(crate) fn find_device(kernel: &Kernel, name: &str) -> Option<*mut super::types::DeviceObject> {
    kernel.shared.find_device(name)
}

/// The body of [`Kernel::symbolic_links`].
pub(crate) fn symbolic_links(kernel: &Kernel) -> Vec<(String, String)> {
    lock(&kernel.shared.objects.state).links.iter().map(|(a, b)| (a.clone(), b.clone())).collect()
}
