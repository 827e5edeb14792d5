//! The NT objects that drivers touch directly, with the x64 WDK layout.
//!
//! Every structure here is `#[repr(C)]` with the field order of `wdm.h`, so that C driver
//! code and Rust code can share the very same memory. Offsets and sizes are asserted in
//! this crate's tests (`layout` tests) for x86_64 builds with the `std` primitives (the
//! loom and shuttle builds replace atomics with instrumented ones of another size).
//!
//! Names follow NT in snake case: `Irp::cancel_routine` is `Irp->CancelRoutine`,
//! `DeviceObject::current_irp` is `DeviceObject->CurrentIrp`. `BOOLEAN` fields are `u8`
//! (C code may store any byte), read with the helper methods.
//!
//! Fields that threads read while others write them — `Irp->Cancel`, `CancelRoutine`,
//! `CurrentLocation`; `DeviceObject->CurrentIrp`, `AttachedDevice`, `StackSize`,
//! `ReferenceCount`; `DeviceQueue.Busy`; dispatcher objects' `SignalState`; a remove
//! lock's counts — are atomics of the same size as the C field (the layout is
//! unchanged), so that even a buggy driver racing on them never causes undefined
//! behaviour in Rust. Every other field is written only under the lock that guards it, or
//! before the object is shared; Rust code reaches shared objects through raw pointers
//! (and the safe layer's `DeviceRef` through an `UnsafeCell`), never through a plain
//! shared reference over memory another thread writes.

use core::ffi::c_void;

use super::status::NtStatus;
use crate::sync::atomic::{AtomicI32, AtomicI8, AtomicPtr, AtomicU8, AtomicUsize, Ordering};

/// `KIRQL`: an interrupt request level.
pub type KIrql = u8;
/// `PASSIVE_LEVEL`: ordinary thread execution.
pub const PASSIVE_LEVEL: KIrql = 0;
/// `APC_LEVEL`: asynchronous procedure calls are masked.
pub const APC_LEVEL: KIrql = 1;
/// `DISPATCH_LEVEL`: the thread cannot be preempted or wait; spin locks raise to it.
pub const DISPATCH_LEVEL: KIrql = 2;

/// `BOOLEAN` `TRUE`.
pub const TRUE: u8 = 1;
/// `BOOLEAN` `FALSE`.
pub const FALSE: u8 = 0;

/// Object type tag of an IRP (`IO_TYPE_IRP`).
pub const IO_TYPE_IRP: i16 = 6;
/// Object type tag of a device object (`IO_TYPE_DEVICE`).
pub const IO_TYPE_DEVICE: i16 = 3;
/// Object type tag of a driver object (`IO_TYPE_DRIVER`).
pub const IO_TYPE_DRIVER: i16 = 4;
/// Object type tag of a file object (`IO_TYPE_FILE`).
pub const IO_TYPE_FILE: i16 = 5;
/// Object type tag of a device queue (`IO_TYPE_DEVICE_QUEUE`).
pub const IO_TYPE_DEVICE_QUEUE: i16 = 0x14;

/// Number of entries in `DriverObject::major_function` (`IRP_MJ_MAXIMUM_FUNCTION + 1`).
pub const IRP_MJ_COUNT: usize = 28;
/// `IRP_MJ_CREATE`.
pub const IRP_MJ_CREATE: u8 = 0x00;
/// `IRP_MJ_CLOSE`.
pub const IRP_MJ_CLOSE: u8 = 0x02;
/// `IRP_MJ_READ`.
pub const IRP_MJ_READ: u8 = 0x03;
/// `IRP_MJ_WRITE`.
pub const IRP_MJ_WRITE: u8 = 0x04;
/// `IRP_MJ_DEVICE_CONTROL`.
pub const IRP_MJ_DEVICE_CONTROL: u8 = 0x0e;
/// `IRP_MJ_INTERNAL_DEVICE_CONTROL`.
pub const IRP_MJ_INTERNAL_DEVICE_CONTROL: u8 = 0x0f;
/// `IRP_MJ_CLEANUP`.
pub const IRP_MJ_CLEANUP: u8 = 0x12;

/// The name of a major function code, e.g. `"IRP_MJ_READ"`.
pub fn major_function_name(major: u8) -> &'static str {
    const NAMES: [&str; IRP_MJ_COUNT] = [
        "IRP_MJ_CREATE",
        "IRP_MJ_CREATE_NAMED_PIPE",
        "IRP_MJ_CLOSE",
        "IRP_MJ_READ",
        "IRP_MJ_WRITE",
        "IRP_MJ_QUERY_INFORMATION",
        "IRP_MJ_SET_INFORMATION",
        "IRP_MJ_QUERY_EA",
        "IRP_MJ_SET_EA",
        "IRP_MJ_FLUSH_BUFFERS",
        "IRP_MJ_QUERY_VOLUME_INFORMATION",
        "IRP_MJ_SET_VOLUME_INFORMATION",
        "IRP_MJ_DIRECTORY_CONTROL",
        "IRP_MJ_FILE_SYSTEM_CONTROL",
        "IRP_MJ_DEVICE_CONTROL",
        "IRP_MJ_INTERNAL_DEVICE_CONTROL",
        "IRP_MJ_SHUTDOWN",
        "IRP_MJ_LOCK_CONTROL",
        "IRP_MJ_CLEANUP",
        "IRP_MJ_CREATE_MAILSLOT",
        "IRP_MJ_QUERY_SECURITY",
        "IRP_MJ_SET_SECURITY",
        "IRP_MJ_POWER",
        "IRP_MJ_SYSTEM_CONTROL",
        "IRP_MJ_DEVICE_CHANGE",
        "IRP_MJ_QUERY_QUOTA",
        "IRP_MJ_SET_QUOTA",
        "IRP_MJ_PNP",
    ];
    NAMES.get(major as usize).copied().unwrap_or("IRP_MJ_(invalid)")
}

/// `SL_PENDING_RETURNED`: set in a stack location's `control` by IoMarkIrpPending.
pub const SL_PENDING_RETURNED: u8 = 0x01;
/// `SL_ERROR_RETURNED`.
pub const SL_ERROR_RETURNED: u8 = 0x02;
/// `SL_INVOKE_ON_CANCEL`: call the completion routine when `Irp->Cancel` is set.
pub const SL_INVOKE_ON_CANCEL: u8 = 0x20;
/// `SL_INVOKE_ON_SUCCESS`: call the completion routine when `NT_SUCCESS(status)`.
pub const SL_INVOKE_ON_SUCCESS: u8 = 0x40;
/// `SL_INVOKE_ON_ERROR`: call the completion routine when `!NT_SUCCESS(status)`.
pub const SL_INVOKE_ON_ERROR: u8 = 0x80;

/// `Irp::allocation_flags` bit that irpkit sets on IRPs it allocated from its pool: such
/// an IRP has an irpkit header in front of it (identity, pin count, creator).
pub const IRP_ALLOCATED_BY_IRPKIT: u8 = 0x80;

/// `PDRIVER_CANCEL`: a cancel routine. Called with the cancel spin lock held; it must
/// release the lock with `IoReleaseCancelSpinLock(Irp->CancelIrql)`.
pub type DriverCancel = unsafe extern "system-unwind" fn(device: *mut DeviceObject, irp: *mut Irp);
/// `PDRIVER_DISPATCH`: a dispatch routine for one major function.
pub type DriverDispatch = unsafe extern "system-unwind" fn(device: *mut DeviceObject, irp: *mut Irp) -> NtStatus;
/// `PDRIVER_STARTIO`: a StartIo routine, called at DISPATCH_LEVEL.
pub type DriverStartIo = unsafe extern "system-unwind" fn(device: *mut DeviceObject, irp: *mut Irp);
/// `PDRIVER_UNLOAD`: a driver's Unload routine.
pub type DriverUnload = unsafe extern "system-unwind" fn(driver: *mut DriverObject);
/// `PIO_COMPLETION_ROUTINE`: an IoCompletion routine. Returns `STATUS_MORE_PROCESSING_REQUIRED`
/// to stop the completion walk, anything else (by convention `STATUS_CONTINUE_COMPLETION`,
/// i.e. `STATUS_SUCCESS`) to let it continue.
pub type IoCompletionRoutine =
    unsafe extern "system-unwind" fn(device: *mut DeviceObject, irp: *mut Irp, context: *mut c_void) -> NtStatus;
/// `PKDEFERRED_ROUTINE`: a DPC or timer routine.
pub type KDeferredRoutine = unsafe extern "system-unwind" fn(
    dpc: *mut KDpc,
    context: *mut c_void,
    argument1: *mut c_void,
    argument2: *mut c_void,
);

/// `LIST_ENTRY`, and the list routines on it (defined in the queue toolkit).
pub use crate::queue::list::{List, ListEntry};

/// `UNICODE_STRING`: a counted UTF-16 string.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct UnicodeString {
    /// `Length` in bytes, without a terminator.
    pub length: u16,
    /// `MaximumLength` in bytes.
    pub maximum_length: u16,
    /// `Buffer`.
    pub buffer: *mut u16,
}

/// `IO_STATUS_BLOCK`: the final status of a request and a request-dependent value
/// (usually the number of bytes transferred).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IoStatusBlock {
    /// `Status` (shares its 8 bytes with `Pointer` in C).
    pub status: NtStatus,
    /// `Information`.
    pub information: usize,
}

/// `KSPIN_LOCK`: a spin lock (`ULONG_PTR`); zero means free. Acquire it with
/// [`ke_acquire_spin_lock`](crate::nt::ke_acquire_spin_lock).
#[repr(transparent)]
#[derive(Debug, Default)]
pub struct KSpinLock(pub(crate) AtomicUsize);

impl KSpinLock {
    /// A free spin lock (`KeInitializeSpinLock`).
    pub fn new() -> Self {
        KSpinLock(AtomicUsize::new(0))
    }

    /// Whether some thread holds the lock now (a snapshot, for diagnostics).
    pub fn is_held(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
    }
}

/// `DISPATCHER_HEADER`: the header of every waitable kernel object.
#[repr(C)]
#[derive(Debug)]
pub struct DispatcherHeader {
    /// `Type` (0 notification event, 1 synchronization event).
    pub type_: u8,
    /// `Signalling`.
    pub signalling: u8,
    /// `Size` in dwords.
    pub size: u8,
    /// `Reserved1`.
    pub reserved: u8,
    /// `SignalState`: non-zero when signalled.
    pub signal_state: AtomicI32,
    /// `WaitListHead` (irpkit keeps waiters elsewhere; kept for layout).
    pub wait_list_head: ListEntry,
}

/// `KEVENT`.
#[repr(C)]
#[derive(Debug)]
pub struct KEvent {
    /// `Header`.
    pub header: DispatcherHeader,
}

// SAFETY: an event's state is its atomic `SignalState`; irpkit never follows the wait
// list links (waiters sleep on their kernel's dispatcher), so sharing one is sound.
unsafe impl Send for KEvent {}
// SAFETY: as above.
unsafe impl Sync for KEvent {}

/// `KSEMAPHORE`.
#[repr(C)]
#[derive(Debug)]
pub struct KSemaphore {
    /// `Header` (`Type` 5); `SignalState` is the count.
    pub header: DispatcherHeader,
    /// `Limit`: the highest count.
    pub limit: i32,
}

// SAFETY: the count is the atomic `SignalState`; the wait list is not followed.
unsafe impl Send for KSemaphore {}
// SAFETY: as above.
unsafe impl Sync for KSemaphore {}

/// `IO_REMOVE_LOCK` (the free-build layout, `IO_REMOVE_LOCK_COMMON_BLOCK`).
#[repr(C)]
#[derive(Debug)]
pub struct IoRemoveLock {
    /// `Removed`: set by IoReleaseRemoveLockAndWait.
    pub removed: AtomicU8,
    /// `Reserved`.
    pub reserved: [u8; 3],
    /// `IoCount`: 1 (the bias) plus one per acquisition.
    pub io_count: AtomicI32,
    /// `RemoveEvent`: signalled when the count drops to zero.
    pub remove_event: KEvent,
}

/// `KDPC`: a deferred procedure call object.
#[repr(C)]
#[derive(Debug)]
pub struct KDpc {
    /// `Type`.
    pub type_: u8,
    /// `Importance`.
    pub importance: u8,
    /// `Number`.
    pub number: u16,
    /// `DpcListEntry` (`SINGLE_LIST_ENTRY`).
    pub dpc_list_entry: *mut c_void,
    /// `ProcessorHistory`.
    pub processor_history: usize,
    /// `DeferredRoutine`.
    pub deferred_routine: Option<KDeferredRoutine>,
    /// `DeferredContext`.
    pub deferred_context: *mut c_void,
    /// `SystemArgument1`.
    pub system_argument1: *mut c_void,
    /// `SystemArgument2`.
    pub system_argument2: *mut c_void,
    /// `DpcData`: non-null while the DPC is queued.
    pub dpc_data: *mut c_void,
}

// SAFETY: irpkit writes a DPC's fields only at KeInitializeDpc and under its kernel's DPC
// lock (queueing); KeInsertQueueDpc's contract forbids Rust references to a queued DPC,
// and the raw pointers are the driver's own context, never followed by irpkit.
unsafe impl Send for KDpc {}
// SAFETY: as above.
unsafe impl Sync for KDpc {}

impl KDpc {
    /// A DPC that will call `routine` with `context`: a new object initialised by
    /// [`ke_initialize_dpc`](crate::nt::ke_initialize_dpc) (the driver running now is its
    /// owner). Queue it where it will stay ([`ke_insert_queue_dpc`](crate::nt::ke_insert_queue_dpc)
    /// takes its address).
    // The context is stored for the routine, never followed by irpkit.
    #[allow(clippy::not_unsafe_ptr_arg_deref)]
    pub fn new(routine: KDeferredRoutine, context: *mut c_void) -> Self {
        let mut dpc = core::mem::MaybeUninit::<KDpc>::uninit();
        // SAFETY: KeInitializeDpc writes the whole object; it is not queued, so nothing
        // holds its address when it moves out.
        unsafe {
            super::dpc::ke_initialize_dpc(dpc.as_mut_ptr(), routine, context);
            dpc.assume_init()
        }
    }
}

/// `KTIMER`: a timer, a dispatcher object that is signalled when it expires and may queue
/// a DPC.
///
/// After KeInitializeTimer the kernel writes only `Header.SignalState` (atomic): whether
/// the timer is armed, when, with which DPC and period, is kept in the kernel's own timer
/// table, so a shared reference to a `KTIMER` never aliases a racing write, and a
/// cancelled timer's memory is never read again.
#[repr(C)]
#[derive(Debug)]
pub struct KTimer {
    /// `Header` (`Type` 8 notification timer, 9 synchronization timer).
    pub header: DispatcherHeader,
    /// `DueTime` (irpkit keeps the due time in its table; 0).
    pub due_time: u64,
    /// `TimerListEntry` (irpkit keeps timers in its own table; unlinked).
    pub timer_list_entry: ListEntry,
    /// `Dpc` (irpkit keeps the DPC given to KeSetTimer in its table; null).
    pub dpc: *mut KDpc,
    /// `Processor`.
    pub processor: u32,
    /// `Period` (irpkit keeps the period in its table; 0).
    pub period: u32,
}

// SAFETY: after initialisation only the atomic signal state is written (see above); the
// raw `Dpc` pointer is never written or followed.
unsafe impl Send for KTimer {}
// SAFETY: as above.
unsafe impl Sync for KTimer {}

impl KTimer {
    /// A timer of `kind`, not signalled, not armed: a new object initialised by
    /// [`ke_initialize_timer_ex`](crate::nt::ke_initialize_timer_ex). Arm it where it will
    /// stay ([`ke_set_timer`](crate::nt::ke_set_timer) takes its address).
    pub fn new(kind: super::dpc::TimerType) -> Self {
        let mut timer = core::mem::MaybeUninit::<KTimer>::uninit();
        // SAFETY: KeInitializeTimerEx writes the whole object; it is not armed, so nothing
        // holds its address when it moves out.
        unsafe {
            super::dpc::ke_initialize_timer_ex(timer.as_mut_ptr(), kind);
            timer.assume_init()
        }
    }
}

/// `KDEVICE_QUEUE_ENTRY`: the link an IRP uses while it sits in a device queue
/// (`Irp->Tail.Overlay.DeviceQueueEntry`). A new one ([`KDeviceQueueEntry::new`], or
/// `Default`) is unlinked; the insert routines set it up.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KDeviceQueueEntry {
    /// `DeviceListEntry`.
    pub device_list_entry: ListEntry,
    /// `SortKey`, used by the by-key routines.
    pub sort_key: u32,
    /// `Inserted`: TRUE while the entry is linked in a queue.
    pub inserted: u8,
}

impl KDeviceQueueEntry {
    /// An entry in no queue (null links, no key, not inserted).
    pub const fn new() -> Self {
        KDeviceQueueEntry { device_list_entry: ListEntry::null(), sort_key: 0, inserted: 0 }
    }
}

impl Default for KDeviceQueueEntry {
    fn default() -> Self {
        Self::new()
    }
}

/// `KDEVICE_QUEUE`: a device queue. `busy` means "the device is processing a request",
/// not "the list is non-empty".
#[repr(C)]
#[derive(Debug)]
pub struct KDeviceQueue {
    /// `Type` (`IO_TYPE_DEVICE_QUEUE`).
    pub type_: i16,
    /// `Size` in bytes.
    pub size: i16,
    /// `DeviceListHead`.
    pub device_list_head: ListEntry,
    /// `Lock`: the queue's own spin lock.
    pub lock: KSpinLock,
    /// `Busy` (the low byte of a `LONG64` union with `Hint`). Written under `Lock`, read
    /// without it (is the device busy?): an atomic of the C field's size.
    pub busy: AtomicU8,
    /// The rest of the `Busy`/`Hint` union (irpkit's key index; only under `Lock`).
    pub hint: [u8; 7],
}

impl KDeviceQueue {
    /// A device queue with null links, not busy: place it at its final address and
    /// initialise it there with [`ke_initialize_device_queue`](crate::nt::ke_initialize_device_queue)
    /// (the list head points at itself).
    pub fn new() -> Self {
        super::devqueue::new_device_queue()
    }
}

impl Default for KDeviceQueue {
    fn default() -> Self {
        Self::new()
    }
}

/// `WAIT_CONTEXT_BLOCK` (used by DMA adapters; opaque here, kept for layout).
#[repr(C)]
#[derive(Debug)]
pub struct WaitContextBlock {
    /// The block's 72 bytes.
    pub opaque: [usize; 9],
}

/// `DEVICE_OBJECT`. Created by [`io_create_device`](crate::nt::io_create_device).
#[repr(C, align(16))]
#[derive(Debug)]
pub struct DeviceObject {
    /// `Type` (`IO_TYPE_DEVICE`).
    pub type_: i16,
    /// `Size`: of this structure plus the extension.
    pub size: u16,
    /// `ReferenceCount`.
    pub reference_count: AtomicI32,
    /// `DriverObject`: the driver that owns the device.
    pub driver_object: *mut DriverObject,
    /// `NextDevice`: the next device of the same driver.
    pub next_device: *mut DeviceObject,
    /// `AttachedDevice`: the device attached on top of this one, if any (atomic: a device
    /// may be attached while I/O walks the stack).
    pub attached_device: AtomicPtr<DeviceObject>,
    /// `CurrentIrp`: the IRP StartIo is processing. Maintained only for drivers with a
    /// StartIo routine; changed under the cancel spin lock whenever cancellation is in
    /// play (IoStartPacket with a cancel routine, IoStartNextPacket with `Cancelable`).
    /// Atomic: a cancel routine compares it with its IRP while StartIo's path changes it.
    pub current_irp: AtomicPtr<Irp>,
    /// `Timer`.
    pub timer: *mut c_void,
    /// `Flags` (`DO_*`).
    pub flags: u32,
    /// `Characteristics`.
    pub characteristics: u32,
    /// `Vpb`.
    pub vpb: *mut c_void,
    /// `DeviceExtension`: the driver's per-device memory.
    pub device_extension: *mut c_void,
    /// `DeviceType` (`FILE_DEVICE_*`).
    pub device_type: u32,
    /// `StackSize`: stack locations an IRP needs for this device and those below it
    /// (atomic: attaching sets it while I/O may read it).
    pub stack_size: AtomicI8,
    /// `Queue` (`ListEntry` / `Wcb` union).
    pub queue: WaitContextBlock,
    /// `AlignmentRequirement`.
    pub alignment_requirement: u32,
    /// `DeviceQueue`: the queue IoStartPacket and IoStartNextPacket use.
    pub device_queue: KDeviceQueue,
    /// `Dpc`: the DpcForIsr object.
    pub dpc: KDpc,
    /// `ActiveThreadCount`.
    pub active_thread_count: u32,
    /// `SecurityDescriptor`.
    pub security_descriptor: *mut c_void,
    /// `DeviceLock`.
    pub device_lock: KEvent,
    /// `SectorSize`.
    pub sector_size: u16,
    /// `Spare1`.
    pub spare1: u16,
    /// `DeviceObjectExtension`.
    pub device_object_extension: *mut c_void,
    /// `Reserved`.
    pub reserved: *mut c_void,
}

/// `DRIVER_OBJECT`. Created by [`Kernel::load_driver`](crate::Kernel::load_driver).
#[repr(C)]
#[derive(Debug)]
pub struct DriverObject {
    /// `Type` (`IO_TYPE_DRIVER`).
    pub type_: i16,
    /// `Size`.
    pub size: i16,
    /// `DeviceObject`: the head of the driver's device list.
    pub device_object: *mut DeviceObject,
    /// `Flags`.
    pub flags: u32,
    /// `DriverStart`.
    pub driver_start: *mut c_void,
    /// `DriverSize`.
    pub driver_size: u32,
    /// `DriverSection`.
    pub driver_section: *mut c_void,
    /// `DriverExtension`.
    pub driver_extension: *mut c_void,
    /// `DriverName`.
    pub driver_name: UnicodeString,
    /// `HardwareDatabase`.
    pub hardware_database: *mut UnicodeString,
    /// `FastIoDispatch`.
    pub fast_io_dispatch: *mut c_void,
    /// `DriverInit`.
    pub driver_init: *mut c_void,
    /// `DriverStartIo`.
    pub driver_start_io: Option<DriverStartIo>,
    /// `DriverUnload`.
    pub driver_unload: Option<DriverUnload>,
    /// `MajorFunction`: the dispatch table.
    pub major_function: [Option<DriverDispatch>; IRP_MJ_COUNT],
}

/// `FILE_OBJECT`.
#[repr(C)]
#[derive(Debug)]
pub struct FileObject {
    /// `Type` (`IO_TYPE_FILE`).
    pub type_: i16,
    /// `Size`.
    pub size: i16,
    /// `DeviceObject`: the device the file was opened on.
    pub device_object: *mut DeviceObject,
    /// `Vpb`.
    pub vpb: *mut c_void,
    /// `FsContext`.
    pub fs_context: *mut c_void,
    /// `FsContext2`.
    pub fs_context2: *mut c_void,
    /// `SectionObjectPointer`.
    pub section_object_pointer: *mut c_void,
    /// `PrivateCacheMap`.
    pub private_cache_map: *mut c_void,
    /// `FinalStatus`.
    pub final_status: NtStatus,
    /// `RelatedFileObject`.
    pub related_file_object: *mut FileObject,
    /// `LockOperation`.
    pub lock_operation: u8,
    /// `DeletePending`.
    pub delete_pending: u8,
    /// `ReadAccess`.
    pub read_access: u8,
    /// `WriteAccess`.
    pub write_access: u8,
    /// `DeleteAccess`.
    pub delete_access: u8,
    /// `SharedRead`.
    pub shared_read: u8,
    /// `SharedWrite`.
    pub shared_write: u8,
    /// `SharedDelete`.
    pub shared_delete: u8,
    /// `Flags` (`FO_*`; `FO_SYNCHRONOUS_IO` = 0x2).
    pub flags: u32,
    /// `FileName`.
    pub file_name: UnicodeString,
    /// `CurrentByteOffset`.
    pub current_byte_offset: i64,
    /// `Waiters`.
    pub waiters: u32,
    /// `Busy`.
    pub busy: u32,
    /// `LastLock`.
    pub last_lock: *mut c_void,
    /// `Lock`.
    pub lock: KEvent,
    /// `Event`.
    pub event: KEvent,
    /// `CompletionContext`.
    pub completion_context: *mut c_void,
    /// `IrpListLock`.
    pub irp_list_lock: KSpinLock,
    /// `IrpList`.
    pub irp_list: ListEntry,
    /// `FileObjectExtension`.
    pub file_object_extension: *mut c_void,
}

/// `DO_BUFFERED_IO`: the I/O manager gives the driver a system buffer.
pub const DO_BUFFERED_IO: u32 = 0x0000_0004;
/// `DO_EXCLUSIVE`: one handle at a time.
pub const DO_EXCLUSIVE: u32 = 0x0000_0008;
/// `DO_DIRECT_IO`: the I/O manager gives the driver an MDL.
pub const DO_DIRECT_IO: u32 = 0x0000_0010;
/// `DO_DEVICE_INITIALIZING`: set by IoCreateDevice; the I/O manager clears it for devices
/// created in DriverEntry when DriverEntry returns, a driver itself for devices it creates
/// later.
pub const DO_DEVICE_INITIALIZING: u32 = 0x0000_0080;

/// `FILE_DEVICE_UNKNOWN`: the device type of a device that fits no other type.
pub const FILE_DEVICE_UNKNOWN: u32 = 0x0000_0022;
/// `DO_POWER_PAGABLE`.
pub const DO_POWER_PAGABLE: u32 = 0x0000_2000;

/// `MDL`: a memory descriptor list, as the I/O manager builds one for direct I/O
/// (`Irp->MdlAddress`). irpkit's buffers are ordinary memory, always mapped: an MDL it
/// builds has `MDL_MAPPED_TO_SYSTEM_VA` set and `MappedSystemVa` at the buffer, which is
/// what `MmGetSystemAddressForMdlSafe` returns. No page array follows it.
#[repr(C)]
#[derive(Debug)]
pub struct Mdl {
    /// `Next`: the next MDL of a chain.
    pub next: *mut Mdl,
    /// `Size`: of the MDL with its page array.
    pub size: i16,
    /// `MdlFlags` (`MDL_*`).
    pub mdl_flags: i16,
    /// `Process`: the process whose address space `StartVa` is in (none here).
    pub process: *mut c_void,
    /// `MappedSystemVa`: the buffer's system address.
    pub mapped_system_va: *mut c_void,
    /// `StartVa`: the page-aligned start of the buffer.
    pub start_va: *mut c_void,
    /// `ByteCount`: the buffer's length.
    pub byte_count: u32,
    /// `ByteOffset`: the buffer's offset within its first page.
    pub byte_offset: u32,
}

/// `MDL_MAPPED_TO_SYSTEM_VA`: `MappedSystemVa` is valid.
pub const MDL_MAPPED_TO_SYSTEM_VA: i16 = 0x0001;
/// `MDL_PAGES_LOCKED`: the described pages are locked in memory.
pub const MDL_PAGES_LOCKED: i16 = 0x0002;

/// `IRP_BUFFERED_IO`: `AssociatedIrp.SystemBuffer` is the I/O manager's buffer.
pub const IRP_BUFFERED_IO: u32 = 0x0000_0010;
/// `IRP_DEALLOCATE_BUFFER`: the I/O manager frees the system buffer at completion.
pub const IRP_DEALLOCATE_BUFFER: u32 = 0x0000_0020;
/// `IRP_INPUT_OPERATION`: data goes from the device to the caller (the system buffer is
/// copied to the caller's buffer at completion).
pub const IRP_INPUT_OPERATION: u32 = 0x0000_0040;

/// `DRIVER_EXTENSION`: `DriverObject->DriverExtension`.
#[repr(C)]
#[derive(Debug)]
pub struct DriverExtension {
    /// `DriverObject`: back to the driver object.
    pub driver_object: *mut DriverObject,
    /// `AddDevice` (PnP; irpkit never calls it).
    pub add_device: *mut c_void,
    /// `Count`.
    pub count: u32,
    /// `ServiceKeyName`.
    pub service_key_name: UnicodeString,
}

/// `FO_SYNCHRONOUS_IO`: the file was opened for synchronous I/O.
pub const FO_SYNCHRONOUS_IO: u32 = 0x0000_0002;

/// Parameters of `IRP_MJ_READ` / `IRP_MJ_WRITE`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ReadWriteParameters {
    /// `Length` in bytes.
    pub length: u32,
    /// Padding (`POINTER_ALIGNMENT`).
    pub pad: u32,
    /// `Key`.
    pub key: u32,
    /// `Flags`.
    pub flags: u32,
    /// `ByteOffset`.
    pub byte_offset: i64,
}

/// Parameters of `IRP_MJ_DEVICE_CONTROL`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DeviceIoControlParameters {
    /// `OutputBufferLength`.
    pub output_buffer_length: u32,
    /// Padding (`POINTER_ALIGNMENT`).
    pub pad1: u32,
    /// `InputBufferLength`.
    pub input_buffer_length: u32,
    /// Padding (`POINTER_ALIGNMENT`).
    pub pad2: u32,
    /// `IoControlCode`.
    pub io_control_code: u32,
    /// Padding (`POINTER_ALIGNMENT`).
    pub pad3: u32,
    /// `Type3InputBuffer`.
    pub type3_input_buffer: *mut c_void,
}

/// `Parameters.Others`: four untyped arguments.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct OtherParameters {
    /// `Argument1` .. `Argument4`.
    pub argument: [*mut c_void; 4],
}

/// `IO_STACK_LOCATION.Parameters`: the major-function-dependent union (32 bytes on x64).
#[repr(C)]
#[derive(Clone, Copy)]
pub union Parameters {
    /// `Parameters.Read`.
    pub read: ReadWriteParameters,
    /// `Parameters.Write`.
    pub write: ReadWriteParameters,
    /// `Parameters.DeviceIoControl`.
    pub device_io_control: DeviceIoControlParameters,
    /// `Parameters.Others`.
    pub others: OtherParameters,
}

impl core::fmt::Debug for Parameters {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // SAFETY: every bit pattern of `OtherParameters` (four raw pointers) is valid.
        let others = unsafe { self.others };
        f.debug_struct("Parameters").field("others", &others.argument).finish()
    }
}

/// `IO_STACK_LOCATION`: one driver's view of an IRP.
#[repr(C)]
#[derive(Debug)]
pub struct IoStackLocation {
    /// `MajorFunction` (`IRP_MJ_*`).
    pub major_function: u8,
    /// `MinorFunction`.
    pub minor_function: u8,
    /// `Flags` (`SL_*` request flags).
    pub flags: u8,
    /// `Control`: the `SL_PENDING_RETURNED` and `SL_INVOKE_ON_*` bits.
    pub control: u8,
    /// `Parameters`.
    pub parameters: Parameters,
    /// `DeviceObject`: the device this location was sent to (set by IoCallDriver).
    pub device_object: *mut DeviceObject,
    /// `FileObject`.
    pub file_object: *mut FileObject,
    /// `CompletionRoutine`: the routine of the driver **above** this location.
    pub completion_routine: Option<IoCompletionRoutine>,
    /// `Context` for the completion routine.
    pub context: *mut c_void,
}

/// The union at the start of `Irp->Tail.Overlay`: a device-queue entry, or four
/// pointer-sized slots the current owner may use (`DriverContext[4]`).
#[repr(C)]
#[derive(Clone, Copy)]
pub union DeviceQueueEntryOrContext {
    /// `DeviceQueueEntry`.
    pub device_queue_entry: KDeviceQueueEntry,
    /// `DriverContext[4]`; cancel-safe queues use `[3]`.
    pub driver_context: [*mut c_void; 4],
}

/// `Irp->Tail.Overlay`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IrpTailOverlay {
    /// The device-queue entry / driver context union.
    pub entry: DeviceQueueEntryOrContext,
    /// `Thread`: the originating thread, or null once disassociated. Written before the
    /// IRP is sent and, at disassociation, by the exiting thread with an atomic store
    /// (`AtomicPtr::from_ptr`; the field sits in a `Copy` union, so its type stays plain).
    pub thread: *mut c_void,
    /// `AuxiliaryBuffer`.
    pub auxiliary_buffer: *mut i8,
    /// `ListEntry`: free for the current owner's own queue.
    pub list_entry: ListEntry,
    /// `CurrentStackLocation` (shares its slot with `PacketType`).
    pub current_stack_location: *mut IoStackLocation,
    /// `OriginalFileObject`: the file object the request was issued on.
    pub original_file_object: *mut FileObject,
}

/// `Irp->Tail`: the overlay used while the IRP is being processed, or the APC used to
/// deliver it (88 bytes on x64).
#[repr(C)]
#[derive(Clone, Copy)]
pub union IrpTail {
    /// `Tail.Overlay`.
    pub overlay: IrpTailOverlay,
    /// `Tail.Apc` (`KAPC`, opaque here).
    pub apc: [usize; 11],
    /// `Tail.CompletionKey`.
    pub completion_key: *mut c_void,
}

/// `Irp->Overlay`: the requester's APC routine and context (or the allocation size).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IrpOverlay {
    /// `AsynchronousParameters.UserApcRoutine`.
    pub user_apc_routine: *mut c_void,
    /// `AsynchronousParameters.UserApcContext`.
    pub user_apc_context: *mut c_void,
}

/// A cancel-routine slot: `Irp->CancelRoutine`, changed only by atomic exchange.
#[repr(transparent)]
#[derive(Debug)]
pub struct CancelRoutineSlot(AtomicPtr<c_void>);

impl CancelRoutineSlot {
    pub(crate) fn empty() -> Self {
        CancelRoutineSlot(AtomicPtr::new(core::ptr::null_mut()))
    }

    /// The single atomic exchange behind IoSetCancelRoutine: stores `new`, returns the
    /// previous routine. This is the single-winner protocol of NT cancellation: of a
    /// driver clearing the routine and IoCancelIrp taking it, exactly one gets it back.
    pub fn exchange(&self, new: Option<DriverCancel>) -> Option<DriverCancel> {
        let raw = match new {
            Some(f) => f as *mut c_void,
            None => core::ptr::null_mut(),
        };
        let old = self.0.swap(raw, Ordering::AcqRel);
        // SAFETY: the slot only ever holds null or a `DriverCancel` stored by this very
        // function (or C code storing a function pointer of that type).
        unsafe { Self::decode(old) }
    }

    /// A plain store, what `Irp->CancelRoutine = routine;` does in C. Drivers must use
    /// IoSetCancelRoutine (an interlocked exchange) instead: a store cannot tell whether
    /// IoCancelIrp took the previous routine. The verifier reports a routine that got
    /// into the slot this way when it is taken out (`cancel-routine-plain-store`).
    pub fn store_plain(&self, routine: Option<DriverCancel>) {
        let raw = match routine {
            Some(f) => f as *mut c_void,
            None => core::ptr::null_mut(),
        };
        self.0.store(raw, Ordering::Relaxed);
    }

    /// The routine now set (a snapshot; only an exchange decides ownership).
    pub fn load(&self) -> Option<DriverCancel> {
        // SAFETY: as in `exchange`.
        unsafe { Self::decode(self.0.load(Ordering::Acquire)) }
    }

    /// # Safety
    /// `raw` is null or a `DriverCancel` function pointer.
    unsafe fn decode(raw: *mut c_void) -> Option<DriverCancel> {
        if raw.is_null() {
            None
        } else {
            // SAFETY: non-null, and a `DriverCancel` by the caller's contract; function
            // and data pointers have the same size on every target irpkit supports.
            Some(unsafe { core::mem::transmute::<*mut c_void, DriverCancel>(raw) })
        }
    }
}

/// `IRP`: an I/O request packet. Its stack locations follow it in memory.
#[repr(C)]
pub struct Irp {
    /// `Type` (`IO_TYPE_IRP`).
    pub type_: i16,
    /// `Size` of the packet with its stack locations.
    pub size: u16,
    /// `MdlAddress`.
    pub mdl_address: *mut c_void,
    /// `Flags` (`IRP_*`).
    pub flags: u32,
    /// `AssociatedIrp` (`MasterIrp` / `IrpCount` / `SystemBuffer`).
    pub associated_irp: *mut c_void,
    /// `ThreadListEntry`: the link in the issuing thread's IRP list.
    pub thread_list_entry: ListEntry,
    /// `IoStatus`: the result, written before completion.
    pub io_status: IoStatusBlock,
    /// `RequestorMode` (0 kernel, 1 user).
    pub requestor_mode: i8,
    /// `PendingReturned`: copied from each stack location during completion.
    pub pending_returned: u8,
    /// `StackCount`.
    pub stack_count: i8,
    /// `CurrentLocation`: `StackCount + 1` when fresh, one less per IoCallDriver,
    /// `> StackCount + 1` once completed.
    pub current_location: AtomicI8,
    /// `Cancel`: set by IoCancelIrp, never cleared by the I/O manager.
    pub cancel: AtomicU8,
    /// `CancelIrql`: the IRQL the cancel routine must release the cancel lock with
    /// (atomic: IoCancelIrp writes it while the IRP's owner may be looking at the IRP).
    pub cancel_irql: AtomicU8,
    /// `ApcEnvironment`.
    pub apc_environment: i8,
    /// `AllocationFlags`.
    pub allocation_flags: u8,
    /// `UserIosb`: the requester's status block, written when the result is delivered.
    pub user_iosb: *mut IoStatusBlock,
    /// `UserEvent`: signalled when the result is delivered.
    pub user_event: *mut KEvent,
    /// `Overlay`.
    pub overlay: IrpOverlay,
    /// `CancelRoutine`.
    pub cancel_routine: CancelRoutineSlot,
    /// `UserBuffer`.
    pub user_buffer: *mut c_void,
    /// `Tail`.
    pub tail: IrpTail,
}

impl Irp {
    /// `Irp->Cancel` as a bool.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Acquire) != 0
    }

    /// `Irp->CurrentLocation`.
    pub fn current_location(&self) -> i8 {
        self.current_location.load(Ordering::Acquire)
    }

    /// Whether the IRP has been completed (`CurrentLocation > StackCount + 1`).
    pub fn is_completed(&self) -> bool {
        i32::from(self.current_location()) > i32::from(self.stack_count) + 1
    }

    /// [`is_completed`](Self::is_completed) through a raw pointer, borrowing only the two
    /// fields it reads (for code that does not own the IRP: other fields may be written
    /// meanwhile, so no reference to the whole IRP may exist).
    ///
    /// # Safety
    /// `irp` points to IRP memory.
    pub unsafe fn completed_at(irp: *const Irp) -> bool {
        // SAFETY: forwarded contract; `CurrentLocation` is atomic, `StackCount` fixed.
        unsafe { i32::from((*irp).current_location.load(Ordering::Acquire)) > i32::from((*irp).stack_count) + 1 }
    }

    /// A pointer to `Irp->Tail.Overlay.DeviceQueueEntry`.
    ///
    /// # Safety
    /// `irp` points to a live IRP.
    pub unsafe fn device_queue_entry(irp: *mut Irp) -> *mut KDeviceQueueEntry {
        // SAFETY: a place projection through the union; no read happens.
        unsafe { &raw mut (*irp).tail.overlay.entry.device_queue_entry }
    }

    /// A pointer to `Irp->Tail.Overlay.DriverContext`.
    ///
    /// # Safety
    /// `irp` points to a live IRP.
    pub unsafe fn driver_context(irp: *mut Irp) -> *mut [*mut c_void; 4] {
        // SAFETY: a place projection through the union; no read happens.
        unsafe { &raw mut (*irp).tail.overlay.entry.driver_context }
    }

    /// A pointer to `Irp->Tail.Overlay.ListEntry`.
    ///
    /// # Safety
    /// `irp` points to a live IRP.
    pub unsafe fn list_entry(irp: *mut Irp) -> *mut ListEntry {
        // SAFETY: a place projection through the union; no read happens.
        unsafe { &raw mut (*irp).tail.overlay.list_entry }
    }

    /// Recovers the IRP from a pointer to its `Tail.Overlay.ListEntry`
    /// (`CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry)`).
    ///
    /// # Safety
    /// `entry` points to the `list_entry` field of a live IRP.
    pub unsafe fn from_list_entry(entry: *mut ListEntry) -> *mut Irp {
        let offset = core::mem::offset_of!(Irp, tail) + core::mem::offset_of!(IrpTailOverlay, list_entry);
        // SAFETY: by the contract, `entry` lies `offset` bytes into an IRP.
        unsafe { entry.byte_sub(offset).cast::<Irp>() }
    }

    /// Recovers the IRP from a pointer to its `Tail.Overlay.DeviceQueueEntry`.
    ///
    /// # Safety
    /// `entry` points to the device-queue entry of a live IRP.
    pub unsafe fn from_device_queue_entry(entry: *mut KDeviceQueueEntry) -> *mut Irp {
        let offset = core::mem::offset_of!(Irp, tail);
        // SAFETY: by the contract, `entry` lies at the start of an IRP's tail.
        unsafe { entry.byte_sub(offset).cast::<Irp>() }
    }

    /// A pointer to `Irp->Tail.Overlay.CurrentStackLocation` (the slot, not the location).
    ///
    /// # Safety
    /// `irp` points to a live IRP.
    pub(crate) unsafe fn current_stack_slot(irp: *mut Irp) -> *mut *mut IoStackLocation {
        // SAFETY: a place projection through the union; no read happens.
        unsafe { &raw mut (*irp).tail.overlay.current_stack_location }
    }

    /// A pointer to stack location `index` (1-based, as `CurrentLocation` counts).
    ///
    /// # Safety
    /// `irp` points to a live IRP allocated with at least `index` stack locations.
    pub(crate) unsafe fn stack_location(irp: *mut Irp, index: i32) -> *mut IoStackLocation {
        debug_assert!(index >= 1);
        // SAFETY: stack locations follow the IRP; the caller guarantees `index` exists.
        unsafe { irp.add(1).cast::<IoStackLocation>().add(index as usize - 1) }
    }
}

impl core::fmt::Debug for Irp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Irp")
            .field("io_status", &self.io_status)
            .field("stack_count", &self.stack_count)
            .field("current_location", &self.current_location())
            .field("cancel", &self.is_cancelled())
            .field("cancel_routine", &self.cancel_routine.load().map(|r| r as *const ()))
            .field("pending_returned", &self.pending_returned)
            .finish_non_exhaustive()
    }
}
