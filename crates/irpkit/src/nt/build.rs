//! IRPs a driver builds for a lower driver: IoBuildAsynchronousFsdRequest,
//! IoBuildSynchronousFsdRequest and IoBuildDeviceIoControlRequest. The driver that builds
//! one is its creator: it — and only it — may cancel it (IoCancelIrp from any other
//! driver's routine is reported).

use core::ffi::c_void;
use core::ptr;

use super::irp::{allocate_in, io_get_next_irp_stack_location, mark_built};
use super::types::*;
use crate::nt::kernel::with_current;
use crate::sync::atomic::Ordering;

/// `IRP_MJ_*`, parameters and buffers of a read or write, for the FSD request builders:
/// `UserBuffer` is the caller's buffer; for a device with `DO_BUFFERED_IO` a system buffer
/// (a write's holding the caller's data; a read's copied to the caller's buffer at the
/// final stage, which an IRP its creator frees in its completion routine never reaches),
/// for one with `DO_DIRECT_IO` an MDL over the caller's buffer.
///
/// # Safety
/// `irp` is a fresh irpkit IRP for `device`, a live device; `buffer` is null or `length`
/// bytes valid until completion.
unsafe fn set_read_write(
    irp: *mut Irp,
    device: *mut DeviceObject,
    major: u8,
    buffer: *mut c_void,
    length: u32,
    offset: i64,
) {
    // SAFETY: a fresh IRP with a next stack location; the caller's buffer is as long as
    // it says; the device's flags are read with an atomic load of their size.
    unsafe {
        let sl = io_get_next_irp_stack_location(irp);
        (*sl).major_function = major;
        (*sl).parameters.read = ReadWriteParameters { length, pad: 0, key: 0, flags: 0, byte_offset: offset };
        (*irp).user_buffer = buffer;
        if buffer.is_null() || length == 0 || !(major == IRP_MJ_READ || major == IRP_MJ_WRITE) {
            return;
        }
        let flags = core::sync::atomic::AtomicU32::from_ptr(&raw mut (*device).flags).load(Ordering::Relaxed);
        let length = length as usize;
        let io = if flags & DO_BUFFERED_IO != 0 {
            let data =
                if major == IRP_MJ_WRITE { core::slice::from_raw_parts(buffer.cast::<u8>(), length) } else { &[][..] };
            let mut io = super::irp::IoManagerBuffers::with_system_buffer(data, length);
            (*irp).associated_irp = io.system_ptr();
            (*irp).flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
            if major == IRP_MJ_READ {
                (*irp).flags |= IRP_INPUT_OPERATION;
                io.copy_to = (buffer, length);
            }
            io
        } else if flags & DO_DIRECT_IO != 0 {
            let mut io = super::irp::IoManagerBuffers::default();
            (*irp).mdl_address = io.describe(buffer, length);
            io
        } else {
            return;
        };
        super::irp::set_buffers(irp, Box::new(io));
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
        // SAFETY: our fresh IRP for the live device; the caller's buffer contract.
        unsafe { set_read_write(irp, device, major, buffer, length, offset) };
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
/// is null. The buffers are passed as the control code's transfer type says:
/// `METHOD_BUFFERED` — a system buffer of `max(input, output)` bytes holding the input,
/// copied to `output_buffer` at completion (`Information` bytes); `METHOD_IN_DIRECT` /
/// `METHOD_OUT_DIRECT` — the input in a system buffer, an MDL for `output_buffer`;
/// `METHOD_NEITHER` — `Type3InputBuffer` and `UserBuffer` are the caller's buffers.
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
        set_control_buffers(irp, sl, io_control_code, input_buffer, input_length, output_buffer, output_length);
        (*irp).user_iosb = iosb;
        (*irp).user_event = event;
        mark_built(irp);
    }
    irp
}

/// The buffers of a device control a driver builds (see
/// [`io_build_device_io_control_request`]).
///
/// # Safety
/// `irp` is a fresh irpkit IRP owned by the caller and `sl` its next stack location;
/// `input` is null or `input_length` readable bytes, `output` null or `output_length`
/// bytes that stay valid until completion.
unsafe fn set_control_buffers(
    irp: *mut Irp,
    sl: *mut IoStackLocation,
    code: u32,
    input: *mut c_void,
    input_length: u32,
    output: *mut c_void,
    output_length: u32,
) {
    const METHOD_BUFFERED: u32 = 0;
    const METHOD_NEITHER: u32 = 3;
    // SAFETY: the caller's buffers are as long as it says; the IRP is ours.
    unsafe {
        let data = if input.is_null() || input_length == 0 {
            &[][..]
        } else {
            core::slice::from_raw_parts(input.cast::<u8>(), input_length as usize)
        };
        (*irp).user_buffer = output;
        let mut io = match code & 3 {
            METHOD_NEITHER => {
                (*sl).parameters.device_io_control.type3_input_buffer = input;
                return;
            }
            METHOD_BUFFERED => {
                let mut io = super::irp::IoManagerBuffers::with_system_buffer(data, output_length as usize);
                if !output.is_null() && output_length > 0 {
                    (*irp).flags |= IRP_INPUT_OPERATION;
                    io.copy_to = (output, output_length as usize);
                }
                io
            }
            _ => {
                let mut io = super::irp::IoManagerBuffers::with_system_buffer(data, 0);
                if !output.is_null() && output_length > 0 {
                    (*irp).mdl_address = io.describe(output, output_length as usize);
                }
                io
            }
        };
        (*sl).parameters.device_io_control.type3_input_buffer = core::ptr::null_mut();
        (*irp).associated_irp = io.system_ptr();
        if !io.system.is_empty() {
            (*irp).flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
        }
        if !io.system.is_empty() || io.mdl.is_some() {
            super::irp::set_buffers(irp, Box::new(io));
        }
    }
}
