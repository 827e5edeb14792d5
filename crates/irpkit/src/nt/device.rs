//! Driver objects, device objects, device stacks and IoCallDriver.
//!
//! Driver and device objects live in blocks `[header][object]` (`[header][object]
//! [extension]` for devices) allocated once and kept until the kernel ends, so a stale
//! pointer to a deleted device still points at device-shaped memory.

use core::alloc::Layout;
use core::ffi::c_void;
use core::ptr;

use super::irp::{self, io_get_current_irp_stack_location, io_set_next_irp_stack_location};
use super::spinlock::{call_checked, check_irql_at_most};
use super::status::*;
use super::types::*;
use crate::nt::kernel::{self, Kernel, KernelShared, RoutineKind};
use crate::sync::atomic::{AtomicI32, AtomicI8, AtomicPtr, AtomicU8, Ordering};
use crate::sync::{lock, Arc};
use crate::verifier::Rule;

const DRIVER_MAGIC: u64 = 0x6972_706b_6974_4452; // "irpkitDR"
const DEVICE_MAGIC: u64 = 0x6972_706b_6974_4456; // "irpkitDV"

/// `PDRIVER_INITIALIZE`: a driver's DriverEntry.
pub type DriverInitialize =
    unsafe extern "system-unwind" fn(driver: *mut DriverObject, registry_path: *mut UnicodeString) -> NtStatus;

/// A driver object pointer that may cross threads (into a closure, a spawned thread, a
/// list). Only a pointer: reading through it is `unsafe`, as for the raw pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DriverPtr(pub *mut DriverObject);
// SAFETY: driver objects are shared by design; all mutation follows NT's rules, and every
// access through the pointer is the caller's `unsafe`.
unsafe impl Send for DriverPtr {}
// SAFETY: as above.
unsafe impl Sync for DriverPtr {}

/// A device object pointer that may cross threads (into a closure, a spawned thread, a
/// list). Only a pointer: reading through it is `unsafe`, as for the raw pointer (a
/// device object lives as long as its kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DevicePtr(pub *mut DeviceObject);
// SAFETY: device objects are shared by design; all mutation follows NT's rules, and every
// access through the pointer is the caller's `unsafe`.
unsafe impl Send for DevicePtr {}
// SAFETY: as above.
unsafe impl Sync for DevicePtr {}

#[repr(C, align(16))]
struct DriverHeader {
    magic: u64,
    kernel: *const KernelShared,
    name: String,
    name_utf16: Vec<u16>,
    service_utf16: Vec<u16>,
    registry_utf16: Vec<u16>,
    registry_path: UnicodeString,
    extension: DriverExtension,
    loaded: AtomicU8,
    devices_ever: Vec<*mut DeviceObject>,
}

#[repr(C)]
struct DriverBlock {
    header: DriverHeader,
    object: DriverObject,
}

#[repr(C, align(16))]
struct DeviceHeader {
    magic: u64,
    kernel: *const KernelShared,
    name: String,
    layout: Layout,
    deleted: AtomicU8,
    /// Drops a typed extension (set by the safe layer).
    extension_drop: Option<unsafe fn(*mut c_void)>,
    /// The type of a typed extension (set by the safe layer).
    extension_type: Option<core::any::TypeId>,
    /// StartIo attributes and the deferred-start bookkeeping.
    start_io: super::startio::StartIoState,
}

const fn device_header_size() -> usize {
    (core::mem::size_of::<DeviceHeader>() + 15) & !15
}

/// # Safety
/// `driver` points to a driver object created by irpkit.
unsafe fn driver_header(driver: *mut DriverObject) -> *mut DriverHeader {
    let off = core::mem::offset_of!(DriverBlock, object);
    // SAFETY: irpkit driver objects are the `object` field of a `DriverBlock`.
    let h = unsafe { driver.byte_sub(off).cast::<DriverHeader>() };
    // SAFETY: readable header.
    let magic = unsafe { (*h).magic };
    assert_eq!(magic, DRIVER_MAGIC, "not an irpkit driver object: {driver:p}");
    h
}

/// # Safety
/// `device` points to a device object created by irpkit.
unsafe fn device_header(device: *mut DeviceObject) -> *mut DeviceHeader {
    // SAFETY: irpkit device objects follow their header.
    let h = unsafe { device.byte_sub(device_header_size()).cast::<DeviceHeader>() };
    // SAFETY: readable header.
    let magic = unsafe { (*h).magic };
    assert_eq!(magic, DEVICE_MAGIC, "not an irpkit device object: {device:p}");
    h
}

/// The name of a driver (`\Driver\Name`).
///
/// # Safety
/// `driver` points to a driver object created by irpkit.
pub(crate) unsafe fn driver_name(driver: *mut DriverObject) -> String {
    // SAFETY: forwarded contract.
    unsafe { (*driver_header(driver)).name.clone() }
}

/// The name of a device (`\Device\Name`, or a generated one for unnamed devices).
///
/// # Safety
/// `device` points to a device object created by irpkit.
pub(crate) unsafe fn device_name(device: *mut DeviceObject) -> String {
    // SAFETY: forwarded contract.
    unsafe { (*device_header(device)).name.clone() }
}

/// The StartIo bookkeeping of a device.
///
/// # Safety
/// `device` points to a device object created by irpkit.
pub(crate) unsafe fn start_io_state<'a>(device: *mut DeviceObject) -> &'a super::startio::StartIoState {
    // SAFETY: forwarded contract; the header lives as long as the device block.
    unsafe { &(*device_header(device)).start_io }
}

/// The kernel a device belongs to.
///
/// # Safety
/// `device` points to a device object created by irpkit.
pub(crate) unsafe fn device_kernel<'a>(device: *mut DeviceObject) -> &'a KernelShared {
    // SAFETY: forwarded contract; the kernel outlives its device blocks.
    unsafe { &*(*device_header(device)).kernel }
}

/// Records that the device extension holds a value of type `ty`, dropped by `drop` on
/// IoDeleteDevice or when the kernel ends.
///
/// # Safety
/// `device` is an irpkit device whose extension holds a value of type `ty`.
pub(crate) unsafe fn set_typed_extension(
    device: *mut DeviceObject,
    ty: core::any::TypeId,
    drop: unsafe fn(*mut c_void),
) {
    // SAFETY: forwarded contract.
    unsafe {
        let h = device_header(device);
        (*h).extension_drop = Some(drop);
        (*h).extension_type = Some(ty);
    }
}

/// The type recorded for the device extension, if it is typed and not yet dropped.
///
/// # Safety
/// `device` is an irpkit device.
pub(crate) unsafe fn extension_type(device: *mut DeviceObject) -> Option<core::any::TypeId> {
    // SAFETY: forwarded contract.
    unsafe {
        let h = device_header(device);
        if (*h).deleted.load(Ordering::Acquire) != 0 {
            None
        } else {
            (*h).extension_type
        }
    }
}

fn unicode(s: &[u16]) -> UnicodeString {
    let bytes = (s.len() * 2) as u16;
    UnicodeString { length: bytes, maximum_length: bytes, buffer: s.as_ptr().cast_mut() }
}

// The `Kernel` methods of this module: their public face is in `nt/kernel.rs`.
/// The body of [`Kernel::load_driver`].
pub(crate) fn load_driver(kernel: &Kernel, name: &str, entry: DriverInitialize) -> Result<*mut DriverObject, NtStatus> {
    let service = name.rsplit('\\').next().unwrap_or(name);
    let registry_path = format!("\\Registry\\Machine\\System\\CurrentControlSet\\Services\\{service}");
    kernel.load_driver_with_registry_path(name, &registry_path, entry)
}

/// The body of [`Kernel::load_driver_with_registry_path`].
pub(crate) fn load_driver_with_registry_path(
    kernel: &Kernel,
    name: &str,
    registry_path: &str,
    entry: DriverInitialize,
) -> Result<*mut DriverObject, NtStatus> {
    let full = if name.starts_with('\\') { name.to_string() } else { format!("\\Driver\\{name}") };
    let name_utf16: Vec<u16> = full.encode_utf16().collect();
    let service_utf16: Vec<u16> = full.rsplit('\\').next().unwrap_or(&full).encode_utf16().collect();
    let registry_utf16: Vec<u16> = registry_path.encode_utf16().chain(core::iter::once(0)).collect();
    let block = Box::into_raw(Box::new(DriverBlock {
        header: DriverHeader {
            magic: DRIVER_MAGIC,
            kernel: Arc::as_ptr(&kernel.shared),
            name: full,
            name_utf16,
            service_utf16,
            registry_utf16,
            registry_path: UnicodeString { length: 0, maximum_length: 0, buffer: ptr::null_mut() },
            extension: DriverExtension {
                driver_object: ptr::null_mut(),
                add_device: ptr::null_mut(),
                count: 0,
                service_key_name: UnicodeString { length: 0, maximum_length: 0, buffer: ptr::null_mut() },
            },
            loaded: AtomicU8::new(1),
            devices_ever: Vec::new(),
        },
        object: DriverObject {
            type_: IO_TYPE_DRIVER,
            size: core::mem::size_of::<DriverObject>() as i16,
            device_object: ptr::null_mut(),
            flags: 0,
            driver_start: ptr::null_mut(),
            driver_size: 0,
            driver_section: ptr::null_mut(),
            driver_extension: ptr::null_mut(),
            driver_name: UnicodeString { length: 0, maximum_length: 0, buffer: ptr::null_mut() },
            hardware_database: ptr::null_mut(),
            fast_io_dispatch: ptr::null_mut(),
            driver_init: entry as *mut c_void,
            driver_start_io: None,
            driver_unload: None,
            major_function: [Some(invalid_device_request as DriverDispatch); IRP_MJ_COUNT],
        },
    }));
    // SAFETY: `block` is a fresh, exclusively owned allocation; the strings it points
    // into are its own vectors, which are never resized.
    let (driver, registry) = unsafe {
        let h = &raw mut (*block).header;
        (*block).object.driver_name = unicode(&(*h).name_utf16);
        (*h).extension.driver_object = &raw mut (*block).object;
        (*h).extension.service_key_name = unicode(&(*h).service_utf16);
        (*block).object.driver_extension = (&raw mut (*h).extension).cast();
        let path = &(*h).registry_utf16;
        (*h).registry_path = UnicodeString {
            length: ((path.len() - 1) * 2) as u16,
            maximum_length: (path.len() * 2) as u16,
            buffer: path.as_ptr().cast_mut(),
        };
        (&raw mut (*block).object, &raw mut (*h).registry_path)
    };
    let _entered = kernel.enter();
    // SAFETY: DriverEntry gets its own, fully initialised driver object and registry path.
    let status = crate::nt::kernel::in_routine_at(
        driver,
        RoutineKind::DriverEntry,
        ptr::null_mut(),
        entry as usize,
        || unsafe { entry(driver, registry) },
    );
    if !nt_success(status) {
        // A failed DriverEntry's devices stay allocated (stale pointers to them stay
        // device-shaped): the block moves to the kernel's list, marked unloaded.
        // SAFETY: the driver object is ours again.
        unsafe { (*block).header.loaded.store(0, Ordering::Release) };
        lock(&kernel.shared.drivers).push(DriverPtr(driver));
        return Err(status);
    }
    // SAFETY: DriverEntry has returned; the devices it created are the driver's list.
    unsafe {
        let mut device = (*driver).device_object;
        while !device.is_null() {
            (*device).flags &= !DO_DEVICE_INITIALIZING;
            device = (*device).next_device;
        }
    }
    lock(&kernel.shared.drivers).push(DriverPtr(driver));
    Ok(driver)
}

/// The body of [`Kernel::unload_driver`].
///
/// # Safety
/// As [`Kernel::unload_driver`] says.
pub(crate) unsafe fn unload_driver(kernel: &Kernel, driver: *mut DriverObject) {
    let _entered = kernel.enter();
    // SAFETY: live driver object by the contract.
    let (h, unload) = unsafe { (driver_header(driver), (*driver).driver_unload) };
    // SAFETY: valid header.
    if unsafe { (*h).loaded.swap(0, Ordering::AcqRel) } == 0 {
        return;
    }
    if let Some(unload) = unload {
        // SAFETY: the driver's own Unload routine with its own driver object.
        crate::nt::kernel::in_routine_at(driver, RoutineKind::Unload, ptr::null_mut(), unload as usize, || unsafe {
            unload(driver)
        });
    }
    report_irps_left_at_unload(kernel, driver);
    kernel.shared.report_pool_left_at_unload(driver);
    let (timers, dpcs) = kernel.shared.dpc_work_of(driver);
    if timers + dpcs > 0 {
        kernel.shared.report(
            Rule::UnloadWithPendingOperations,
            "driver unload",
            ptr::null_mut(),
            format!(
                "the driver was unloaded with {timers} timer(s) still armed and {dpcs} DPC(s) still queued that run its \
                 routines: Unload must KeCancelTimer each timer and KeRemoveQueueDpc (or KeFlushQueuedDpcs) its DPCs"
            ),
        );
    }
    let running = kernel.shared.system_threads_running(driver);
    if running > 0 {
        kernel.shared.report(
            Rule::UnloadWithPendingOperations,
            "driver unload",
            ptr::null_mut(),
            format!(
                "the driver was unloaded with {running} of its system threads still running: Unload must make \
                 each one end (PsTerminateSystemThread) and wait on its thread object"
            ),
        );
    }
}

/// Leak accounting at driver unload: every allocated IRP that is not completed and
/// whose current stack location is one of `driver`'s devices is lost with the driver.
/// (IRPs left in a deleted device's queue were reported by IoDeleteDevice already.)
pub(crate) fn report_irps_left_at_unload(kernel: &Kernel, driver: *mut DriverObject) {
    for irp in kernel.shared.pool.allocated() {
        // SAFETY: allocated pool IRPs; the driver's contract says nothing of it runs any
        // more, so its IRPs stand still while we look. Device objects live as long as
        // the kernel.
        let device = unsafe {
            let at = (*irp).current_location.load(Ordering::Acquire);
            if Irp::completed_at(irp) || at < 1 || i32::from(at) > i32::from((*irp).stack_count) {
                continue;
            }
            let device = (*io_get_current_irp_stack_location(irp)).device_object;
            if device.is_null() || (*device).driver_object != driver {
                continue;
            }
            let queued = (*Irp::device_queue_entry(irp)).inserted != FALSE;
            if queued && (*device_header(device)).deleted.load(Ordering::Acquire) != 0 {
                continue;
            }
            device
        };
        kernel.shared.report(
            Rule::IrpLeaked,
            "driver unload",
            irp,
            format!(
                "the driver was unloaded while this IRP was still at its device {} (never completed): \
                 Unload must run only after every IRP the driver holds is completed or cancelled",
                // SAFETY: as above.
                unsafe { device_name(device) }
            ),
        );
    }
}

impl Drop for KernelShared {
    fn drop(&mut self) {
        let drivers = core::mem::take(&mut *lock(&self.drivers));
        for DriverPtr(driver) in drivers {
            // SAFETY: every entry is a live irpkit driver object of this kernel; the
            // kernel is ending, so nothing uses it any more.
            unsafe {
                let h = driver_header(driver);
                for &device in &(*h).devices_ever {
                    free_device_block(device);
                }
                let off = core::mem::offset_of!(DriverBlock, object);
                drop(Box::from_raw(driver.byte_sub(off).cast::<DriverBlock>()));
            }
        }
    }
}

/// # Safety
/// `device` is an irpkit device nobody uses any more.
unsafe fn free_device_block(device: *mut DeviceObject) {
    // SAFETY: forwarded contract.
    unsafe {
        let h = device_header(device);
        if (*h).deleted.swap(1, Ordering::AcqRel) == 0 {
            if let Some(drop_ext) = (*h).extension_drop {
                drop_ext((*device).device_extension);
            }
        }
        let layout = (*h).layout;
        ptr::drop_in_place(h);
        std::alloc::dealloc(h.cast::<u8>(), layout);
    }
}

/// The body of [`Kernel::create_driver_and_device`].
pub(crate) fn create_driver_and_device(
    kernel: &Kernel,
    name: &str,
    dispatch: DriverDispatch,
    extension_size: usize,
) -> Result<(*mut DriverObject, *mut DeviceObject), NtStatus> {
    unsafe extern "system-unwind" fn entry(_driver: *mut DriverObject, _path: *mut UnicodeString) -> NtStatus {
        STATUS_SUCCESS
    }
    let driver = kernel.load_driver(name, entry)?;
    // SAFETY: the driver object was just created and nobody else uses it yet.
    unsafe {
        for slot in (*driver).major_function.iter_mut() {
            *slot = Some(dispatch);
        }
        let device = io_create_device(driver, extension_size, Some(name), FILE_DEVICE_UNKNOWN, 0, false)?;
        // Created after DriverEntry: the driver clears the flag itself, as WDM drivers do.
        (*device).flags &= !DO_DEVICE_INITIALIZING;
        Ok((driver, device))
    }
}

/// `IoCreateDevice`: creates a device object for `driver` with a zeroed extension of
/// `extension_size` bytes (16-byte aligned), linked at the head of the driver's device
/// list, with `StackSize` 1.
///
/// # Safety
/// `driver` is a live irpkit driver object.
pub unsafe fn io_create_device(
    driver: *mut DriverObject,
    extension_size: usize,
    name: Option<&str>,
    device_type: u32,
    characteristics: u32,
    _exclusive: bool,
) -> Result<*mut DeviceObject, NtStatus> {
    // SAFETY: live driver object.
    let dh = unsafe { driver_header(driver) };
    // SAFETY: valid header; the kernel outlives it.
    let k = unsafe { &*(*dh).kernel };
    check_irql_at_most(k, PASSIVE_LEVEL, "IoCreateDevice", ptr::null_mut());
    let hs = device_header_size();
    let obj = core::mem::size_of::<DeviceObject>();
    let ext = (extension_size + 15) & !15;
    let layout = Layout::from_size_align(hs + obj + ext.max(16), 16).map_err(|_| STATUS_INVALID_PARAMETER)?;
    // SAFETY: non-zero size.
    let base = unsafe { std::alloc::alloc_zeroed(layout) };
    if base.is_null() {
        return Err(STATUS_INSUFFICIENT_RESOURCES);
    }
    // SAFETY: `dh` is valid; `devices_ever` is written under the device database lock.
    let ordinal = unsafe {
        let _database = lock(&k.device_database);
        (*dh).devices_ever.len()
    };
    let name = match name {
        Some(n) if n.starts_with('\\') => n.to_string(),
        Some(n) => format!("\\Device\\{n}"),
        // SAFETY: valid header.
        None => format!("{} (unnamed device {ordinal})", unsafe { &(*dh).name }),
    };
    let h = base.cast::<DeviceHeader>();
    // SAFETY: `base` is a fresh block of `layout`: header, then object, then extension.
    let device = unsafe {
        h.write(DeviceHeader {
            magic: DEVICE_MAGIC,
            kernel: k,
            name,
            layout,
            deleted: AtomicU8::new(0),
            extension_drop: None,
            extension_type: None,
            start_io: super::startio::StartIoState::new(),
        });
        let device = base.add(hs).cast::<DeviceObject>();
        let extension = base.add(hs + obj).cast::<c_void>();
        device.write(DeviceObject {
            type_: IO_TYPE_DEVICE,
            size: (obj + extension_size) as u16,
            reference_count: AtomicI32::new(0),
            driver_object: driver,
            next_device: (*driver).device_object,
            attached_device: AtomicPtr::new(ptr::null_mut()),
            current_irp: AtomicPtr::new(ptr::null_mut()),
            timer: ptr::null_mut(),
            flags: DO_DEVICE_INITIALIZING,
            characteristics,
            vpb: ptr::null_mut(),
            device_extension: if extension_size == 0 { ptr::null_mut() } else { extension },
            device_type,
            stack_size: AtomicI8::new(1),
            queue: WaitContextBlock { opaque: [0; 9] },
            alignment_requirement: 0,
            device_queue: super::devqueue::new_device_queue(),
            dpc: KDpc {
                type_: 0x13,
                importance: 1,
                number: 0,
                dpc_list_entry: ptr::null_mut(),
                processor_history: 0,
                deferred_routine: None,
                deferred_context: ptr::null_mut(),
                system_argument1: ptr::null_mut(),
                system_argument2: ptr::null_mut(),
                dpc_data: ptr::null_mut(),
            },
            active_thread_count: 0,
            security_descriptor: ptr::null_mut(),
            device_lock: super::event::new_event(super::event::EventType::Synchronization, true),
            sector_size: 0,
            spare1: 0,
            device_object_extension: ptr::null_mut(),
            reserved: ptr::null_mut(),
        });
        super::devqueue::ke_initialize_device_queue(&raw mut (*device).device_queue);
        (*driver).device_object = device;
        let _database = lock(&k.device_database);
        (*dh).devices_ever.push(device);
        lock(&k.device_blocks).push(DevicePtr(device));
        device
    };
    Ok(device)
}

/// `IoDeleteDevice`: unlinks the device from its driver and drops its extension. The
/// memory stays until the kernel ends.
///
/// An IRP still waiting in the device's queue (IoStartPacket) is lost with the device:
/// each one is reported as [`Rule::IrpLeaked`] (and stays allocated and queued, so a
/// test can still inspect it). Unload and remove handling must drain the queue first.
///
/// # Safety
/// `device` is a live irpkit device object whose driver no longer uses it.
pub unsafe fn io_delete_device(device: *mut DeviceObject) {
    // SAFETY: live device.
    unsafe {
        let h = device_header(device);
        if (*h).deleted.swap(1, Ordering::AcqRel) != 0 {
            return;
        }
        report_queued_at_delete(device);
        let driver = (*device).driver_object;
        let mut link: *mut *mut DeviceObject = &raw mut (*driver).device_object;
        while !(*link).is_null() {
            if *link == device {
                *link = (*device).next_device;
                break;
            }
            link = &raw mut (**link).next_device;
        }
        if let Some(drop_ext) = (*h).extension_drop.take() {
            drop_ext((*device).device_extension);
        }
    }
}

/// Leak accounting at IoDeleteDevice: every IRP still linked in the device queue.
///
/// # Safety
/// `device` is a live irpkit device object.
unsafe fn report_queued_at_delete(device: *mut DeviceObject) {
    // SAFETY: live device; its queue is initialised at creation.
    let (k, entries) = unsafe { (device_kernel(device), super::devqueue::entries(&raw mut (*device).device_queue)) };
    for entry in entries {
        // SAFETY: entries of a device's queue sit in IRPs' tails (IoStartPacket).
        let irp = unsafe { Irp::from_device_queue_entry(entry) };
        // SAFETY: pool memory or foreign memory; `header` checks which.
        let irp = if unsafe { irp::header(irp) }.is_some() { irp } else { ptr::null_mut() };
        k.report(
            Rule::IrpLeaked,
            "IoDeleteDevice",
            irp,
            format!(
                "{} was deleted with this IRP still in its device queue: nobody will start, cancel or complete it",
                // SAFETY: live device.
                unsafe { device_name(device) }
            ),
        );
    }
}

/// The device named `name` (an NT device name, compared without regard to case) that is
/// not deleted, of any driver of `k` (a driver whose DriverEntry is running included).
pub(crate) fn find_device_by_name(k: &KernelShared, name: &str) -> Option<*mut DeviceObject> {
    let blocks = lock(&k.device_blocks);
    blocks.iter().map(|d| d.0).find(|&device| {
        // SAFETY: device blocks live as long as the kernel; the name is fixed at creation
        // and `deleted` is atomic.
        unsafe {
            let h = device_header(device);
            (*h).deleted.load(Ordering::Acquire) == 0 && (*h).name.eq_ignore_ascii_case(name)
        }
    })
}

/// `IoGetAttachedDevice`: the highest device in the stack `device` belongs to.
///
/// # Safety
/// `device` is a live device object.
pub unsafe fn io_get_attached_device(device: *mut DeviceObject) -> *mut DeviceObject {
    let mut top = device;
    // SAFETY: attached devices of a live device are live; the link is atomic.
    unsafe {
        loop {
            let above = (*top).attached_device.load(Ordering::Acquire);
            if above.is_null() {
                return top;
            }
            top = above;
        }
    }
}

/// `IoAttachDeviceToDeviceStack`: attaches `source` on top of the stack that `target`
/// belongs to; `source->StackSize` becomes the old top's plus one. Returns the device
/// `source` was attached to (the one to pass IRPs down to). Attachments in one kernel are
/// serialised (NT's I/O database lock), so two devices attaching to one stack at once
/// stack up instead of both taking the same top.
///
/// # Safety
/// Both are live irpkit device objects; `source` is not attached anywhere.
pub unsafe fn io_attach_device_to_device_stack(
    source: *mut DeviceObject,
    target: *mut DeviceObject,
) -> *mut DeviceObject {
    // SAFETY: live devices by the contract.
    let k = unsafe { device_kernel(target) };
    let _database = lock(&k.device_database);
    // SAFETY: live devices by the contract; the links and sizes are atomic. The stack
    // size is set before the link is published, so a request that finds `source` on top
    // sizes its IRP for it.
    unsafe {
        let top = io_get_attached_device(target);
        (*source).stack_size.store((*top).stack_size.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        (*top).attached_device.store(source, Ordering::Release);
        top
    }
}

/// `IoDetachDevice`: detaches whatever is attached on top of `target`.
///
/// # Safety
/// `target` is a live device object.
pub unsafe fn io_detach_device(target: *mut DeviceObject) {
    // SAFETY: live device.
    let k = unsafe { device_kernel(target) };
    let _database = lock(&k.device_database);
    // SAFETY: live device; the link is atomic.
    unsafe { (*target).attached_device.store(ptr::null_mut(), Ordering::Release) };
}

unsafe extern "system-unwind" fn invalid_device_request(_device: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract: we own the IRP.
    unsafe {
        (*irp).io_status = IoStatusBlock { status: STATUS_INVALID_DEVICE_REQUEST, information: 0 };
        super::complete::io_complete_request(irp, 0);
    }
    STATUS_INVALID_DEVICE_REQUEST
}

/// `IoCallDriver`: moves the IRP to its next stack location, records `device` there and
/// calls the driver's dispatch routine for the location's major function, returning what
/// it returns. A missing dispatch routine completes the IRP with
/// `STATUS_INVALID_DEVICE_REQUEST`.
///
/// # Safety
/// `device` is a live irpkit device object; `irp` is a live IRP the caller owns, with its
/// next stack location set up. After the call the caller no longer owns the IRP.
pub unsafe fn io_call_driver(device: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    if device.is_null() || irp.is_null() {
        kernel::with_current("IoCallDriver", |k| {
            k.report(
                Rule::InvalidIrp,
                "IoCallDriver",
                ptr::null_mut(),
                format!("IoCallDriver({device:p}, {irp:p}): the device and the IRP must not be NULL"),
            )
        });
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: live device.
    let k = unsafe { device_kernel(device) };
    check_irql_at_most(k, DISPATCH_LEVEL, "IoCallDriver", irp);
    crate::nt::irp::sched_point("IoCallDriver", irp);
    // SAFETY: readable IRP memory.
    if unsafe { irp::is_freed(irp) } {
        k.report(Rule::InvalidIrp, "IoCallDriver", irp, "IoCallDriver on an IRP that was already freed".to_string());
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: live IRP owned by the caller; its fields are read one by one (IoCancelIrp
    // and thread exit may store into its atomics meanwhile, and this routine moves its
    // stack location), never through a reference to the whole IRP.
    if unsafe { (*irp).cancel_routine.load() }.is_some() {
        k.report(
            Rule::CallDriverWithCancelRoutine,
            "IoCallDriver",
            irp,
            "the IRP was passed to the next driver with its cancel routine still set".to_string(),
        );
    }
    // SAFETY: as above; the field is atomic.
    if unsafe { (*irp).current_location.load(Ordering::Acquire) } <= 1 {
        k.report(
            Rule::NoMoreIrpStackLocations,
            "IoCallDriver",
            irp,
            format!(
                "IoCallDriver to {} but the IRP has no stack location left (StackCount {}, device StackSize {})",
                // SAFETY: live device.
                unsafe { device_name(device) },
                // SAFETY: as above; fixed at allocation.
                unsafe { (*irp).stack_count },
                // SAFETY: live device.
                unsafe { (*device).stack_size.load(Ordering::Relaxed) }
            ),
        );
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: owned IRP with a next location.
    let sp = unsafe {
        io_set_next_irp_stack_location(irp);
        let sp = io_get_current_irp_stack_location(irp);
        (*sp).device_object = device;
        sp
    };
    // SAFETY: live stack location and device.
    let (major, driver) = unsafe { ((*sp).major_function, (*device).driver_object) };
    // SAFETY: live driver object.
    let dispatch =
        unsafe { (*driver).major_function.get(major as usize).copied().flatten() }.unwrap_or(invalid_device_request);
    let irql_before = kernel::current_irql();
    // SAFETY: the IRP is live (checked above).
    let id = unsafe { irp::irp_id(irp) };
    // SAFETY: as above.
    let location = unsafe { (*irp).current_location.load(Ordering::Acquire) };
    // SAFETY: the caller owns the IRP; the new location is the dispatch routine's.
    unsafe { irp::clear_pending_mark(irp, location) };
    // SAFETY: as above.
    unsafe { super::coverage::dispatched(k, irp) };
    let frame = kernel::begin_dispatch_frame(irp);
    // SAFETY: live device.
    let span = unsafe { crate::nt::observe::dispatch(k, id.unwrap_or(0), device, major, location) };
    let status = call_checked(
        k,
        driver,
        RoutineKind::Dispatch(major),
        irp,
        "IoCallDriver",
        irql_before,
        dispatch as usize,
        || {
            format!(
                "the dispatch routine for {} returned while holding the cancel spin lock",
                major_function_name(major)
            )
        },
        // SAFETY: the driver's dispatch routine with its device and the IRP it now owns.
        || unsafe { dispatch(device, irp) },
    );
    crate::nt::observe::dispatch_returned(k, id.unwrap_or(0), status, span);
    let passed_down = kernel::end_dispatch_frame(frame);
    if let (Some(id), false) = (id, passed_down) {
        // SAFETY: pool memory of a live kernel; `location_marked` checks it still holds
        // the same request.
        unsafe { check_pending_matches(k, driver, major, irp, id, location, status, dispatch as usize) };
    }
    if status == STATUS_PENDING {
        // SAFETY: pool memory stays IRP-shaped; the id tells whether it is still the same
        // request.
        unsafe { check_cancel_flag_noticed(k, device, driver, major, irp, id, dispatch as usize) };
    }
    status
}

/// SDV MarkIrpPending / MarkIrpPending2, at run time: a dispatch routine that did not pass
/// its IRP down returns `STATUS_PENDING` if and only if it marked its stack location
/// pending. The mark is read from the IRP's header (the completion walk clears `Control`
/// but not the header), and only while the memory still holds the same request.
///
/// # Safety
/// `irp` points to irpkit pool memory (or a live IRP) that was the IRP `id`.
#[allow(clippy::too_many_arguments)]
unsafe fn check_pending_matches(
    k: &KernelShared,
    driver: *mut DriverObject,
    major: u8,
    irp: *mut Irp,
    id: u64,
    location: i8,
    status: NtStatus,
    address: usize,
) {
    // SAFETY: forwarded contract.
    let Some(marked) = (unsafe { irp::location_marked(irp, location, id) }) else { return };
    let message = match (status == STATUS_PENDING, marked) {
        (true, false) => format!(
            "the dispatch routine for {} returned STATUS_PENDING without calling IoMarkIrpPending (and without passing the IRP down)",
            major_function_name(major)
        ),
        (false, true) => format!(
            "the dispatch routine for {} called IoMarkIrpPending but returned {}",
            major_function_name(major),
            super::status::describe_status(status)
        ),
        _ => return,
    };
    // Report on the request itself only while it is still live (a freed IRP's snapshot
    // would describe whatever the memory holds now).
    // SAFETY: pool memory.
    let subject = if unsafe { irp::is_freed(irp) } { ptr::null_mut() } else { irp };
    kernel::in_routine_at(driver, RoutineKind::Dispatch(major), ptr::null_mut(), address, || {
        k.report(Rule::PendingMismatch, "IoCallDriver", subject, format!("{message} (IRP #{id})"))
    });
}

/// SDV IrpCancelField, at run time: a dispatch routine returned `STATUS_PENDING` leaving a
/// cancel routine on an IRP whose `Cancel` was already set — IoCancelIrp ran before the
/// routine was set and will never call it. Checked under the cancel spin lock, so an
/// IoCancelIrp in progress is not mistaken for one that is over.
///
/// # Safety
/// `irp` points to irpkit pool memory (or a live IRP) that was the IRP `id`.
unsafe fn check_cancel_flag_noticed(
    k: &KernelShared,
    device: *mut DeviceObject,
    driver: *mut DriverObject,
    major: u8,
    irp: *mut Irp,
    id: Option<u64>,
    address: usize,
) {
    // SAFETY: forwarded contract.
    if id.is_none() || unsafe { irp::irp_id(irp) } != id || unsafe { irp::is_freed(irp) } {
        return;
    }
    let irql = super::spinlock::acquire_cancel_lock(k, "IoCallDriver");
    // The device's CurrentIrp is not stuck: IoStartPacket made it current and StartIo —
    // run later when another thread's StartIo defers it — must check `Cancel` itself.
    // SAFETY: a live device; `CurrentIrp` changes under the cancel spin lock, held here.
    let current = unsafe { (*device).current_irp.load(Ordering::Relaxed) } == irp;
    // SAFETY: still the same allocated IRP; `Cancel` and the slot are atomic.
    let stuck = !current
        && unsafe {
            (*irp).cancel.load(Ordering::Acquire) != 0 && (*irp).cancel_routine.load().is_some() && !irp::is_freed(irp)
        };
    super::spinlock::release_cancel_lock(k, irql, "IoCallDriver");
    if stuck {
        kernel::in_routine_at(driver, RoutineKind::Dispatch(major), ptr::null_mut(), address, || {
            k.report(
                Rule::CancelFlagNotChecked,
                "IoCallDriver",
                irp,
                "the dispatch routine pended an IRP that was already cancelled, with its cancel routine set: no one will call it".to_string(),
            )
        });
    }
}
