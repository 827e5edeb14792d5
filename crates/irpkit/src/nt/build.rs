//! IRPs a driver builds for a lower driver: IoBuildAsynchronousFsdRequest,
//! IoBuildSynchronousFsdRequest and IoBuildDeviceIoControlRequest. The driver that builds
//! one is its creator: it — and only it — may cancel it (IoCancelIrp from any other
//! driver's routine is reported).

use core::ffi::c_void;
use core::ptr;

use super::irp::{allocate_in, io_get_next_irp_stack_location, mark_built};
use super::types::*;
use crate::kernel::with_current;
use crate::sync::atomic::Ordering;

/// `IRP_MJ_*` and parameters of a read or write, for the FSD request builders.
fn set_read_write(irp: *mut Irp, major: u8, buffer: *mut c_void, length: u32, offset: i64) {
    // SAFETY: a fresh IRP with a next stack location.
    unsafe {
        let sl = io_get_next_irp_stack_location(irp);
        (*sl).major_function = major;
        (*sl).parameters.read = ReadWriteParameters { length, pad: 0, key: 0, flags: 0, byte_offset: offset };
        (*irp).user_buffer = buffer;
    }
}

/// `IoBuildAsynchronousFsdRequest`: a read, write, flush or shutdown IRP for `device`'s
/// stack, not associated with a thread. The caller sets a completion routine that frees
/// it (IoFreeIrp) and returns `STATUS_MORE_PROCESSING_REQUIRED`. Null if `device` is null.
///
/// # Safety
/// `device` is null or a live irpkit device; `buffer` stays valid until completion;
/// `iosb` is null or stays valid until completion.
pub unsafe fn io_build_asynchronous_fsd_request(
    major: u8,
    device: *mut DeviceObject,
    buffer: *mut c_void,
    length: u32,
    offset: i64,
    iosb: *mut IoStatusBlock,
) -> *mut Irp {
    if device.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: a live device.
    let stack = unsafe { (*device).stack_size.load(Ordering::Relaxed) };
    let irp = with_current("IoBuildAsynchronousFsdRequest", |k| allocate_in(k, stack));
    if !irp.is_null() {
        set_read_write(irp, major, buffer, length, offset);
        // SAFETY: our fresh IRP.
        unsafe {
            (*irp).user_iosb = iosb;
            mark_built(irp);
        }
    }
    irp
}

/// `IoBuildSynchronousFsdRequest`: like the asynchronous one, with an event the I/O
/// manager sets when the result is delivered; the I/O manager frees the IRP.
///
/// # Safety
/// As [`io_build_asynchronous_fsd_request`]; `event` stays valid until completion.
pub unsafe fn io_build_synchronous_fsd_request(
    major: u8,
    device: *mut DeviceObject,
    buffer: *mut c_void,
    length: u32,
    offset: i64,
    event: *mut KEvent,
    iosb: *mut IoStatusBlock,
) -> *mut Irp {
    // SAFETY: forwarded contract.
    let irp = unsafe { io_build_asynchronous_fsd_request(major, device, buffer, length, offset, iosb) };
    if !irp.is_null() {
        // SAFETY: our fresh IRP.
        unsafe { (*irp).user_event = event };
    }
    irp
}

/// `IoBuildDeviceIoControlRequest`: an `IRP_MJ_DEVICE_CONTROL` (or, `internal`,
/// `IRP_MJ_INTERNAL_DEVICE_CONTROL`) IRP for `device`'s stack, whose result the I/O
/// manager writes to `iosb` and signals with `event` before freeing it. Null if `device`
/// is null.
///
/// # Safety
/// `device` is null or a live irpkit device; the buffers, `event` and `iosb` stay valid
/// until completion.
#[allow(clippy::too_many_arguments)]
pub unsafe fn io_build_device_io_control_request(
    io_control_code: u32,
    device: *mut DeviceObject,
    input_buffer: *mut c_void,
    input_length: u32,
    output_buffer: *mut c_void,
    output_length: u32,
    internal: bool,
    event: *mut KEvent,
    iosb: *mut IoStatusBlock,
) -> *mut Irp {
    if device.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: a live device.
    let stack = unsafe { (*device).stack_size.load(Ordering::Relaxed) };
    let irp = with_current("IoBuildDeviceIoControlRequest", |k| allocate_in(k, stack));
    if irp.is_null() {
        return irp;
    }
    // SAFETY: our fresh IRP with a next stack location.
    unsafe {
        let sl = io_get_next_irp_stack_location(irp);
        (*sl).major_function = if internal { IRP_MJ_INTERNAL_DEVICE_CONTROL } else { IRP_MJ_DEVICE_CONTROL };
        (*sl).parameters.device_io_control = DeviceIoControlParameters {
            output_buffer_length: output_length,
            pad1: 0,
            input_buffer_length: input_length,
            pad2: 0,
            io_control_code,
            pad3: 0,
            type3_input_buffer: input_buffer,
        };
        (*irp).associated_irp = input_buffer;
        (*irp).user_buffer = output_buffer;
        (*irp).user_iosb = iosb;
        (*irp).user_event = event;
        mark_built(irp);
    }
    irp
}
