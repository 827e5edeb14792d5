//! File objects: the ones the I/O manager makes for a requester's CreateFile (`io`) and
//! for a driver's IoGetDeviceObjectPointer, and the create, cleanup and close requests
//! that open and end them. A request on a file goes to the top of the stack its device
//! belongs to (IoGetRelatedDeviceObject).
//!
//! Invariants: a file object opened for a driver is a box in the kernel's table from
//! IoGetDeviceObjectPointer until the kernel ends (a stale PFILE_OBJECT still points at
//! file-shaped memory); its count of references reaches 0 once, and then — never under the
//! table's lock — its cleanup and close requests are sent, in that order.
//! Lock order: `FileTable::files` is a leaf (no request is sent under it).

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::ptr;

use super::event::{ke_wait_for_single_object, new_event, EventType};
use super::irp::{allocate_in, io_get_next_irp_stack_location};
use super::spinlock::check_irql_at_most;
use super::status::*;
use super::types::*;
use crate::nt::kernel::{with_current, KernelShared};
use crate::sync::atomic::Ordering;
use crate::sync::{lock, Arc, Mutex};

/// A new file object for `device`, as the I/O manager fills one in before the create
/// request (`FO_SYNCHRONOUS_IO` for a synchronous handle).
pub(crate) fn new_file_object(device: *mut DeviceObject, synchronous: bool) -> FileObject {
    let event = || new_event(EventType::Notification, false);
    FileObject {
        type_: IO_TYPE_FILE,
        size: core::mem::size_of::<FileObject>() as i16,
        device_object: device,
        vpb: ptr::null_mut(),
        fs_context: ptr::null_mut(),
        fs_context2: ptr::null_mut(),
        section_object_pointer: ptr::null_mut(),
        private_cache_map: ptr::null_mut(),
        final_status: 0,
        related_file_object: ptr::null_mut(),
        lock_operation: 0,
        delete_pending: 0,
        read_access: 1,
        write_access: 1,
        delete_access: 0,
        shared_read: 0,
        shared_write: 0,
        shared_delete: 0,
        flags: if synchronous { FO_SYNCHRONOUS_IO } else { 0 },
        file_name: UnicodeString { length: 0, maximum_length: 0, buffer: ptr::null_mut() },
        current_byte_offset: 0,
        waiters: 0,
        busy: 0,
        last_lock: ptr::null_mut(),
        lock: event(),
        event: event(),
        completion_context: ptr::null_mut(),
        irp_list_lock: KSpinLock::new(),
        irp_list: ListEntry::null(),
        file_object_extension: ptr::null_mut(),
    }
}

/// `IoGetRelatedDeviceObject`: the device a request on `file` goes to, the top of the
/// stack its device belongs to.
///
/// # Safety
/// `file` is a live file object whose device is a live irpkit device.
pub unsafe fn io_get_related_device_object(file: *mut FileObject) -> *mut DeviceObject {
    // SAFETY: forwarded contract; attached devices of a live device are live.
    unsafe { super::device::io_get_attached_device((*file).device_object) }
}

/// Sends a create, cleanup or close request for `file` to `device` and waits for its
/// result: the final status, or the dispatch routine's when it failed without pending.
///
/// # Safety
/// `device` is a live irpkit device of `k` and `file` a live file object on its stack;
/// the caller is at PASSIVE_LEVEL.
pub(crate) unsafe fn send_file_request(
    k: &Arc<KernelShared>,
    device: *mut DeviceObject,
    file: *mut FileObject,
    major: u8,
) -> NtStatus {
    // SAFETY: a live device.
    let stack = unsafe { (*device).stack_size.load(Ordering::Relaxed) };
    let irp = allocate_in(k, stack);
    if irp.is_null() {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    let event = new_event(EventType::Notification, false);
    let iosb = UnsafeCell::new(IoStatusBlock { status: STATUS_PENDING, information: 0 });
    // SAFETY: our fresh IRP; the event and status block outlive it (we wait below for its
    // final stage, which writes them, unless the dispatch routine failed it at once).
    let status = unsafe {
        let sl = io_get_next_irp_stack_location(irp);
        (*sl).major_function = major;
        (*sl).file_object = file;
        (*irp).tail.overlay.original_file_object = file;
        (*irp).user_iosb = iosb.get();
        (*irp).user_event = (&event as *const KEvent).cast_mut();
        super::device::io_call_driver(device, irp)
    };
    if status == STATUS_PENDING {
        // The final stage delivers the result (an error too, the IRP having pended on a
        // file that is not synchronous).
        ke_wait_for_single_object(&event, None);
    }
    if event.header.signal_state.load(Ordering::Acquire) != 0 {
        // SAFETY: the final stage wrote the status block before it set the event.
        unsafe { (*iosb.get()).status }
    } else {
        // Completed with an error without pending: nothing is delivered, and the status is
        // the dispatch routine's.
        status
    }
}

/// File objects opened for drivers (IoGetDeviceObjectPointer), with their reference
/// counts.
#[derive(Default)]
pub(crate) struct FileTable {
    files: Mutex<Vec<KernelFile>>,
}

struct KernelFile {
    object: Box<UnsafeCell<FileObject>>,
    /// References (ObReferenceObject / ObDereferenceObject); 0: closed.
    refs: usize,
}

// SAFETY: the file object is shared with drivers as NT shares it (they own its
// FsContext fields and synchronise their use of them); the table only hands out its
// address and moves the box, never reading the object's fields.
unsafe impl Send for KernelFile {}

impl FileTable {
    fn find(files: &mut [KernelFile], object: *mut c_void) -> Option<&mut KernelFile> {
        files.iter_mut().find(|f| f.object.get().cast::<c_void>() == object)
    }

    /// One more reference to `object` if it is a file of this table: the new count.
    pub(crate) fn reference(&self, object: *mut c_void) -> Option<isize> {
        let mut files = lock(&self.files);
        let f = Self::find(&mut files, object)?;
        f.refs += 1;
        Some(f.refs as isize)
    }

    /// One reference fewer, if `object` is a file of this table: the new count, and
    /// whether it was the last (the caller then sends the cleanup and close). `Err` when
    /// the file has no reference left.
    pub(crate) fn dereference(&self, object: *mut c_void) -> Option<Result<isize, ()>> {
        let mut files = lock(&self.files);
        let f = Self::find(&mut files, object)?;
        if f.refs == 0 {
            return Some(Err(()));
        }
        f.refs -= 1;
        Some(Ok(f.refs as isize))
    }
}

/// `IoGetDeviceObjectPointer`: opens the device `name` refers to (an NT device name or a
/// symbolic link) as a driver does to send it requests: a create request goes to the top
/// of its stack, and on success the caller gets a referenced file object and that top
/// device. It ends the use with ObDereferenceObject on the file object (the last
/// reference sends the cleanup and close requests). `STATUS_OBJECT_NAME_NOT_FOUND` if no
/// device has that name; the create request's failure status if the driver refused.
pub fn io_get_device_object_pointer(name: &str) -> Result<(*mut FileObject, *mut DeviceObject), NtStatus> {
    with_current("IoGetDeviceObjectPointer", |k| {
        const R: &str = "IoGetDeviceObjectPointer";
        check_irql_at_most(k, PASSIVE_LEVEL, R, ptr::null_mut());
        let device = k.find_device(name).ok_or(STATUS_OBJECT_NAME_NOT_FOUND)?;
        let object = Box::new(UnsafeCell::new(new_file_object(device, false)));
        let file = object.get();
        // SAFETY: a live device of this kernel; the file object lives in its box, which
        // the table keeps from here on (also when the create fails: a driver may have
        // kept the pointer).
        let top = unsafe { io_get_related_device_object(file) };
        lock(&k.files.files).push(KernelFile { object, refs: 0 });
        // SAFETY: as above; at PASSIVE_LEVEL (checked).
        let status = unsafe { send_file_request(k, top, file, IRP_MJ_CREATE) };
        if nt_error(status) {
            return Err(status);
        }
        if let Some(f) = FileTable::find(&mut lock(&k.files.files), file.cast()) {
            f.refs = 1;
        }
        Ok((file, top))
    })
}

/// The last reference to a driver's file object went: its cleanup and close requests, on
/// this thread at PASSIVE_LEVEL, else on a worker thread (as the object manager defers the
/// deletion of an object dereferenced at raised IRQL).
///
/// # Safety
/// `file` is a file object of `k`'s table whose count just reached 0.
pub(crate) unsafe fn close_kernel_file(k: &Arc<KernelShared>, file: *mut FileObject) {
    let send = move |k: &Arc<KernelShared>, file: *mut FileObject| {
        // SAFETY: the table keeps the file object until the kernel ends; its device
        // stack is live while the kernel is.
        unsafe {
            let top = io_get_related_device_object(file);
            send_file_request(k, top, file, IRP_MJ_CLEANUP);
            send_file_request(k, top, file, IRP_MJ_CLOSE);
        }
    };
    if super::spinlock::ke_get_current_irql() == PASSIVE_LEVEL {
        send(k, file);
    } else {
        let address = file as usize;
        let kernel = crate::Kernel { shared: k.clone() };
        drop(kernel.spawn(move || with_current("ObDereferenceObject", |k| send(k, address as *mut FileObject))));
    }
}
