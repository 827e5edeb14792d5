//! The I/O manager's routines: IRPs and their stack locations, cancellation, StartIo,
//! cancel-safe queues, device objects, remove locks, work items.

use core::ffi::{c_char, c_void};
use core::ptr;

use irpkit::nt::csq::{
    CsqAcquireLock, CsqCompleteCanceledIrp, CsqInsertIrp, CsqInsertIrpEx, CsqPeekNextIrp, CsqReleaseLock, CsqRemoveIrp,
};
use irpkit::nt::{self, *};

use super::{boolean, unicode};

// --- IRPs and stack locations -------------------------------------------------------

pub(crate) unsafe extern "C-unwind" fn IoAllocateIrp(stack_size: i8, charge_quota: u8) -> *mut Irp {
    nt::io_allocate_irp(stack_size, charge_quota != 0)
}

pub(crate) unsafe extern "C-unwind" fn IoFreeIrp(irp: *mut Irp) {
    // SAFETY: the driver frees an IRP it allocated, as IoFreeIrp's contract says.
    unsafe { nt::io_free_irp(irp) }
}

pub(crate) unsafe extern "C-unwind" fn IoReuseIrp(irp: *mut Irp, status: NtStatus) {
    // SAFETY: IoReuseIrp's contract (an IRP the driver allocated and holds).
    unsafe { nt::io_reuse_irp(irp, status) }
}

pub(crate) unsafe extern "C-unwind" fn IoInitializeIrp(irp: *mut Irp, packet_size: u16, stack_size: i8) {
    // SAFETY: the driver passes writable memory of `packet_size` bytes.
    unsafe { nt::io_initialize_irp(irp, packet_size, stack_size) }
}

/// `PLARGE_INTEGER StartingOffset` (optional) as the offset the NT layer takes.
unsafe fn offset(p: *const i64) -> i64 {
    if p.is_null() {
        0
    } else {
        // SAFETY: a non-null StartingOffset points to the driver's LARGE_INTEGER.
        unsafe { p.read_unaligned() }
    }
}

pub(crate) unsafe extern "C-unwind" fn IoBuildAsynchronousFsdRequest(
    major: u32,
    device: *mut DeviceObject,
    buffer: *mut c_void,
    length: u32,
    starting_offset: *const i64,
    iosb: *mut IoStatusBlock,
) -> *mut Irp {
    // SAFETY: IoBuildAsynchronousFsdRequest's contract: a live device, a buffer of `length`.
    unsafe { nt::io_build_asynchronous_fsd_request(major as u8, device, buffer, length, offset(starting_offset), iosb) }
}

pub(crate) unsafe extern "C-unwind" fn IoBuildSynchronousFsdRequest(
    major: u32,
    device: *mut DeviceObject,
    buffer: *mut c_void,
    length: u32,
    starting_offset: *const i64,
    event: *mut KEvent,
    iosb: *mut IoStatusBlock,
) -> *mut Irp {
    // SAFETY: IoBuildSynchronousFsdRequest's contract: a live device, an initialised event.
    unsafe {
        nt::io_build_synchronous_fsd_request(major as u8, device, buffer, length, offset(starting_offset), event, iosb)
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe extern "C-unwind" fn IoBuildDeviceIoControlRequest(
    code: u32,
    device: *mut DeviceObject,
    input: *mut c_void,
    input_length: u32,
    output: *mut c_void,
    output_length: u32,
    internal: u8,
    event: *mut KEvent,
    iosb: *mut IoStatusBlock,
) -> *mut Irp {
    // SAFETY: IoBuildDeviceIoControlRequest's contract: a live device, buffers of the lengths.
    unsafe {
        nt::io_build_device_io_control_request(
            code,
            device,
            input,
            input_length,
            output,
            output_length,
            internal != 0,
            event,
            iosb,
        )
    }
}

pub(crate) unsafe extern "C-unwind" fn IoCallDriver(device: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: IoCallDriver's contract: a live device, an IRP the caller owns.
    unsafe { nt::io_call_driver(device, irp) }
}

pub(crate) unsafe extern "C-unwind" fn IofCallDriver(device: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: as IoCallDriver, whose x64 name this is.
    unsafe { nt::io_call_driver(device, irp) }
}

pub(crate) unsafe extern "C-unwind" fn IoCompleteRequest(irp: *mut Irp, boost: i8) {
    // SAFETY: IoCompleteRequest's contract: an IRP the caller owns (misuse is reported).
    unsafe { nt::io_complete_request(irp, boost) }
}

pub(crate) unsafe extern "C-unwind" fn IofCompleteRequest(irp: *mut Irp, boost: i8) {
    // SAFETY: as IoCompleteRequest, whose x64 name this is.
    unsafe { nt::io_complete_request(irp, boost) }
}

pub(crate) unsafe extern "C-unwind" fn IoGetCurrentIrpStackLocation(irp: *mut Irp) -> *mut IoStackLocation {
    // SAFETY: a live IRP from the driver.
    unsafe { nt::io_get_current_irp_stack_location(irp) }
}

pub(crate) unsafe extern "C-unwind" fn IoGetNextIrpStackLocation(irp: *mut Irp) -> *mut IoStackLocation {
    // SAFETY: a live IRP from the driver.
    unsafe { nt::io_get_next_irp_stack_location(irp) }
}

pub(crate) unsafe extern "C-unwind" fn IoCopyCurrentIrpStackLocationToNext(irp: *mut Irp) {
    // SAFETY: a live IRP the driver owns, with a next location.
    unsafe { nt::io_copy_current_irp_stack_location_to_next(irp) }
}

pub(crate) unsafe extern "C-unwind" fn IoSkipCurrentIrpStackLocation(irp: *mut Irp) {
    // SAFETY: a live IRP the driver owns.
    unsafe { nt::io_skip_current_irp_stack_location(irp) }
}

pub(crate) unsafe extern "C-unwind" fn IoSetNextIrpStackLocation(irp: *mut Irp) {
    // SAFETY: a live IRP the driver owns.
    unsafe { nt::io_set_next_irp_stack_location(irp) }
}

pub(crate) unsafe extern "C-unwind" fn IoMarkIrpPending(irp: *mut Irp) {
    // SAFETY: a live IRP the driver owns.
    unsafe { nt::io_mark_irp_pending(irp) }
}

pub(crate) unsafe extern "C-unwind" fn IoSetCompletionRoutine(
    irp: *mut Irp,
    routine: Option<IoCompletionRoutine>,
    context: *mut c_void,
    on_success: u8,
    on_error: u8,
    on_cancel: u8,
) {
    // SAFETY: a live IRP the driver owns; the routine is the driver's.
    unsafe { nt::io_set_completion_routine(irp, routine, context, on_success != 0, on_error != 0, on_cancel != 0) }
}

pub(crate) unsafe extern "C-unwind" fn IoSetCompletionRoutineEx(
    device: *mut DeviceObject,
    irp: *mut Irp,
    routine: Option<IoCompletionRoutine>,
    context: *mut c_void,
    on_success: u8,
    on_error: u8,
    on_cancel: u8,
) -> NtStatus {
    let Some(routine) = routine else { return STATUS_INVALID_PARAMETER };
    // SAFETY: a live device and an IRP the driver owns; the routine is the driver's.
    unsafe {
        nt::io_set_completion_routine_ex(device, irp, routine, context, on_success != 0, on_error != 0, on_cancel != 0)
    }
}

// --- cancellation and StartIo --------------------------------------------------------

pub(crate) unsafe extern "C-unwind" fn IoSetCancelRoutine(
    irp: *mut Irp,
    routine: Option<DriverCancel>,
) -> Option<DriverCancel> {
    // SAFETY: a live IRP the driver holds (the exchange itself is atomic).
    unsafe { nt::io_set_cancel_routine(irp, routine) }
}

pub(crate) unsafe extern "C-unwind" fn IoAcquireCancelSpinLock(irql: *mut KIrql) {
    // SAFETY: a C driver pairs the acquire with IoReleaseCancelSpinLock, as the WDK
    // contract requires (an unpaired use is reported); no safe-layer guard is involved.
    let old = unsafe { nt::io_acquire_cancel_spin_lock() };
    if !irql.is_null() {
        // SAFETY: the driver's out-parameter.
        unsafe { irql.write(old) };
    }
}

pub(crate) unsafe extern "C-unwind" fn IoReleaseCancelSpinLock(irql: KIrql) {
    // SAFETY: as IoAcquireCancelSpinLock: the release of the driver's own acquisition.
    unsafe { nt::io_release_cancel_spin_lock(irql) }
}

pub(crate) unsafe extern "C-unwind" fn IoCancelIrp(irp: *mut Irp) -> u8 {
    // SAFETY: IoCancelIrp's contract: a live IRP (the caller created it or holds it).
    boolean(unsafe { nt::io_cancel_irp(irp) })
}

pub(crate) unsafe extern "C-unwind" fn IoStartPacket(
    device: *mut DeviceObject,
    irp: *mut Irp,
    key: *const u32,
    cancel: Option<DriverCancel>,
) {
    // SAFETY: a live device of the driver and an IRP it owns; `key` is null or readable.
    unsafe { nt::io_start_packet(device, irp, (!key.is_null()).then(|| key.read_unaligned()), cancel) }
}

pub(crate) unsafe extern "C-unwind" fn IoStartNextPacket(device: *mut DeviceObject, cancelable: u8) {
    // SAFETY: a live device of the driver, called by its StartIo path.
    unsafe { nt::io_start_next_packet(device, cancelable != 0) }
}

pub(crate) unsafe extern "C-unwind" fn IoStartNextPacketByKey(device: *mut DeviceObject, cancelable: u8, key: u32) {
    // SAFETY: as IoStartNextPacket.
    unsafe { nt::io_start_next_packet_by_key(device, cancelable != 0, key) }
}

pub(crate) unsafe extern "C-unwind" fn IoSetStartIoAttributes(
    device: *mut DeviceObject,
    deferred_start_io: u8,
    non_cancelable: u8,
) {
    // SAFETY: a live device of the driver.
    unsafe { nt::io_set_start_io_attributes(device, deferred_start_io != 0, non_cancelable != 0) }
}

// --- cancel-safe queues ----------------------------------------------------------------

/// The six routines an `IoCsqInitialize` / `IoCsqInitializeEx` caller hands (`I` is the
/// form's insert routine), if the driver passed every one; `None` if any is missing.
#[allow(clippy::type_complexity)]
fn csq_routines<I>(
    insert: Option<I>,
    remove: Option<CsqRemoveIrp>,
    peek: Option<CsqPeekNextIrp>,
    acquire: Option<CsqAcquireLock>,
    release: Option<CsqReleaseLock>,
    complete_canceled: Option<CsqCompleteCanceledIrp>,
) -> Option<(I, CsqRemoveIrp, CsqPeekNextIrp, CsqAcquireLock, CsqReleaseLock, CsqCompleteCanceledIrp)> {
    Some((insert?, remove?, peek?, acquire?, release?, complete_canceled?))
}

pub(crate) unsafe extern "C-unwind" fn IoCsqInitialize(
    csq: *mut IoCsq,
    insert: Option<CsqInsertIrp>,
    remove: Option<CsqRemoveIrp>,
    peek: Option<CsqPeekNextIrp>,
    acquire: Option<CsqAcquireLock>,
    release: Option<CsqReleaseLock>,
    complete_canceled: Option<CsqCompleteCanceledIrp>,
) -> NtStatus {
    let Some((i, r, p, a, l, c)) = csq_routines(insert, remove, peek, acquire, release, complete_canceled) else {
        return STATUS_INVALID_PARAMETER;
    };
    // SAFETY: the driver's IO_CSQ, to be used only through the IoCsq routines.
    unsafe { nt::io_csq_initialize(csq, i, r, p, a, l, c) }
}

pub(crate) unsafe extern "C-unwind" fn IoCsqInitializeEx(
    csq: *mut IoCsq,
    insert: Option<CsqInsertIrpEx>,
    remove: Option<CsqRemoveIrp>,
    peek: Option<CsqPeekNextIrp>,
    acquire: Option<CsqAcquireLock>,
    release: Option<CsqReleaseLock>,
    complete_canceled: Option<CsqCompleteCanceledIrp>,
) -> NtStatus {
    let Some((i, r, p, a, l, c)) = csq_routines(insert, remove, peek, acquire, release, complete_canceled) else {
        return STATUS_INVALID_PARAMETER;
    };
    // SAFETY: as IoCsqInitialize.
    unsafe { nt::io_csq_initialize_ex(csq, i, r, p, a, l, c) }
}

pub(crate) unsafe extern "C-unwind" fn IoCsqInsertIrp(csq: *mut IoCsq, irp: *mut Irp, context: *mut IoCsqIrpContext) {
    // SAFETY: an initialised queue and an IRP the driver owns.
    unsafe { nt::io_csq_insert_irp(csq, irp, context) }
}

pub(crate) unsafe extern "C-unwind" fn IoCsqInsertIrpEx(
    csq: *mut IoCsq,
    irp: *mut Irp,
    context: *mut IoCsqIrpContext,
    insert_context: *mut c_void,
) -> NtStatus {
    // SAFETY: as IoCsqInsertIrp.
    unsafe { nt::io_csq_insert_irp_ex(csq, irp, context, insert_context) }
}

pub(crate) unsafe extern "C-unwind" fn IoCsqRemoveIrp(csq: *mut IoCsq, context: *mut IoCsqIrpContext) -> *mut Irp {
    // SAFETY: an initialised queue; the context was given to IoCsqInsertIrp.
    unsafe { nt::io_csq_remove_irp(csq, context) }
}

pub(crate) unsafe extern "C-unwind" fn IoCsqRemoveNextIrp(csq: *mut IoCsq, peek_context: *mut c_void) -> *mut Irp {
    // SAFETY: an initialised queue.
    unsafe { nt::io_csq_remove_next_irp(csq, peek_context) }
}

// --- devices --------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe extern "C-unwind" fn IoCreateDevice(
    driver: *mut DriverObject,
    extension_size: u32,
    name: *const UnicodeString,
    device_type: u32,
    characteristics: u32,
    exclusive: u8,
    out: *mut *mut DeviceObject,
) -> NtStatus {
    // SAFETY: the driver's own driver object; the name is null or a counted string.
    let name = unsafe { unicode(name) };
    // SAFETY: as above.
    match unsafe {
        nt::io_create_device(
            driver,
            extension_size as usize,
            name.as_deref(),
            device_type,
            characteristics,
            exclusive != 0,
        )
    } {
        Ok(device) => {
            // SAFETY: the driver's out-parameter.
            unsafe { out.write(device) };
            STATUS_SUCCESS
        }
        Err(status) => {
            if !out.is_null() {
                // SAFETY: as above.
                unsafe { out.write(ptr::null_mut()) };
            }
            status
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe extern "C-unwind" fn IoCreateDeviceSecure(
    driver: *mut DriverObject,
    extension_size: u32,
    name: *const UnicodeString,
    device_type: u32,
    characteristics: u32,
    exclusive: u8,
    _sddl: *const UnicodeString,
    _class_guid: *const c_void,
    out: *mut *mut DeviceObject,
) -> NtStatus {
    // The security descriptor and the class GUID are accepted and ignored: irpkit has no
    // security model.
    // SAFETY: as IoCreateDevice.
    unsafe { IoCreateDevice(driver, extension_size, name, device_type, characteristics, exclusive, out) }
}

pub(crate) unsafe extern "C-unwind" fn IoDeleteDevice(device: *mut DeviceObject) {
    // SAFETY: a device of the driver that no longer uses it.
    unsafe { nt::io_delete_device(device) }
}

pub(crate) unsafe extern "C-unwind" fn IoCreateSymbolicLink(
    link: *const UnicodeString,
    target: *const UnicodeString,
) -> NtStatus {
    // SAFETY: counted strings from the driver.
    match unsafe { (unicode(link), unicode(target)) } {
        (Some(link), Some(target)) => nt::io_create_symbolic_link(&link, &target),
        _ => STATUS_INVALID_PARAMETER,
    }
}

pub(crate) unsafe extern "C-unwind" fn IoDeleteSymbolicLink(link: *const UnicodeString) -> NtStatus {
    // SAFETY: a counted string from the driver.
    match unsafe { unicode(link) } {
        Some(link) => nt::io_delete_symbolic_link(&link),
        None => STATUS_INVALID_PARAMETER,
    }
}

pub(crate) unsafe extern "C-unwind" fn IoAttachDevice(
    source: *mut DeviceObject,
    target_name: *const UnicodeString,
    attached: *mut *mut DeviceObject,
) -> NtStatus {
    // SAFETY: a counted string from the driver.
    let Some(name) = (unsafe { unicode(target_name) }) else { return STATUS_INVALID_PARAMETER };
    // SAFETY: the driver's own device, not attached anywhere.
    match unsafe { nt::io_attach_device(source, &name) } {
        Ok(below) => {
            if !attached.is_null() {
                // SAFETY: the driver's out-parameter.
                unsafe { attached.write(below) };
            }
        }
        Err(status) => return status,
    }
    STATUS_SUCCESS
}

pub(crate) unsafe extern "C-unwind" fn IoAttachDeviceToDeviceStack(
    source: *mut DeviceObject,
    target: *mut DeviceObject,
) -> *mut DeviceObject {
    // SAFETY: IoAttachDeviceToDeviceStack's contract: live devices, `source` unattached.
    unsafe { nt::io_attach_device_to_device_stack(source, target) }
}

pub(crate) unsafe extern "C-unwind" fn IoDetachDevice(target: *mut DeviceObject) {
    // SAFETY: a live device.
    unsafe { nt::io_detach_device(target) }
}

pub(crate) unsafe extern "C-unwind" fn IoGetAttachedDevice(device: *mut DeviceObject) -> *mut DeviceObject {
    // SAFETY: a live device.
    unsafe { nt::io_get_attached_device(device) }
}

pub(crate) unsafe extern "C-unwind" fn IoGetAttachedDeviceReference(device: *mut DeviceObject) -> *mut DeviceObject {
    // SAFETY: a live device; the top of its stack is live too.
    unsafe {
        let top = nt::io_get_attached_device(device);
        nt::ob_reference_object(top.cast());
        top
    }
}

pub(crate) unsafe extern "C-unwind" fn IoGetDeviceObjectPointer(
    name: *const UnicodeString,
    _desired_access: u32,
    file_object: *mut *mut FileObject,
    device_object: *mut *mut DeviceObject,
) -> NtStatus {
    // SAFETY: a counted string from the driver.
    let Some(name) = (unsafe { unicode(name) }) else { return STATUS_INVALID_PARAMETER };
    if file_object.is_null() || device_object.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    match nt::io_get_device_object_pointer(&name) {
        Ok((file, device)) => {
            // SAFETY: the driver's out-parameters, checked non-null.
            unsafe {
                file_object.write(file);
                device_object.write(device);
            }
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

pub(crate) unsafe extern "C-unwind" fn IoGetRelatedDeviceObject(file: *mut FileObject) -> *mut DeviceObject {
    // SAFETY: a live file object on an irpkit device, as the routine requires.
    unsafe { nt::io_get_related_device_object(file) }
}

pub(crate) unsafe extern "C-unwind" fn IoIsWdmVersionAvailable(major: u8, minor: u8) -> u8 {
    // Windows 10 and later report WDM 6.0x30.
    boolean((major, minor) <= (6, 0x30))
}

/// The process every driver routine runs in (irpkit's System process: one object).
static SYSTEM_PROCESS: [u64; 32] = [0; 32];

pub(crate) unsafe extern "C-unwind" fn IoGetCurrentProcess() -> *mut c_void {
    SYSTEM_PROCESS.as_ptr().cast_mut().cast()
}

pub(crate) unsafe extern "C-unwind" fn IoGetRemainingStackSize() -> usize {
    // A kernel stack is 24 KiB on x64; irpkit's threads have more, but a driver that sizes
    // its recursion by this must not be told more than Windows would give it.
    12 * 1024
}

pub(crate) unsafe extern "C-unwind" fn IoWMIRegistrationControl(_device: *mut DeviceObject, _action: u32) -> NtStatus {
    STATUS_SUCCESS
}

/// `IO_WORKITEM`: the device it was allocated for.
struct WorkItem {
    device: *mut DeviceObject,
}

type WorkItemRoutine = unsafe extern "system-unwind" fn(device: *mut DeviceObject, context: *mut c_void);

pub(crate) unsafe extern "C-unwind" fn IoAllocateWorkItem(device: *mut DeviceObject) -> *mut c_void {
    Box::into_raw(Box::new(WorkItem { device })).cast()
}

pub(crate) unsafe extern "C-unwind" fn IoFreeWorkItem(item: *mut c_void) {
    if !item.is_null() {
        // SAFETY: a work item IoAllocateWorkItem returned, freed once by its driver.
        drop(unsafe { Box::from_raw(item.cast::<WorkItem>()) });
    }
}

pub(crate) unsafe extern "C-unwind" fn IoQueueWorkItem(
    item: *mut c_void,
    routine: Option<WorkItemRoutine>,
    _queue_type: i32,
    context: *mut c_void,
) {
    let Some(routine) = routine else { return };
    // SAFETY: a live work item of the driver.
    let device = unsafe { (*item.cast::<WorkItem>()).device } as usize;
    let context = context as usize;
    nt::queue_work_item(routine as usize, move || {
        // SAFETY: the driver's work item routine with its device and context, as queued.
        unsafe { routine(device as *mut DeviceObject, context as *mut c_void) }
    });
}

// --- remove locks ------------------------------------------------------------------------

pub(crate) unsafe extern "C-unwind" fn IoInitializeRemoveLockEx(
    lock: *mut IoRemoveLock,
    _tag: u32,
    _max_locked_minutes: u32,
    _high_watermark: u32,
    _size: u32,
) {
    // SAFETY: the driver's remove lock, not yet in use (any bytes are a valid IoRemoveLock).
    unsafe { nt::io_initialize_remove_lock(&mut *lock) }
}

pub(crate) unsafe extern "C-unwind" fn IoAcquireRemoveLockEx(
    lock: *mut IoRemoveLock,
    _tag: *mut c_void,
    _file: *const c_char,
    _line: u32,
    _size: u32,
) -> NtStatus {
    // SAFETY: an initialised remove lock; its fields are atomic.
    nt::io_acquire_remove_lock(unsafe { &*lock })
}

pub(crate) unsafe extern "C-unwind" fn IoReleaseRemoveLockEx(lock: *mut IoRemoveLock, _tag: *mut c_void, _size: u32) {
    // SAFETY: as IoAcquireRemoveLockEx.
    nt::io_release_remove_lock(unsafe { &*lock })
}

pub(crate) unsafe extern "C-unwind" fn IoReleaseRemoveLockAndWaitEx(
    lock: *mut IoRemoveLock,
    _tag: *mut c_void,
    _size: u32,
) {
    // SAFETY: as IoAcquireRemoveLockEx.
    nt::io_release_remove_lock_and_wait(unsafe { &*lock })
}
