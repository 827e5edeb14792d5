//! The requester side's buffers, as a driver sees them: device controls of every
//! transfer type carry their input where the transfer type puts it, and reads and writes
//! get the system buffer, the MDL or the user buffer the device's flags ask for.

#![cfg(not(any(loom, shuttle)))]

use irpkit::io::*;
use irpkit::nt::{self, IoStatusBlock};
use irpkit::safe::{create_device, DeviceRef, Dispatched, Driver, Irp as SafeIrp};
use irpkit::Kernel;

/// What a device control's IRP carried, as its driver saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    code: u32,
    /// The input bytes where the transfer type puts them (`None`: a null pointer).
    input: Option<Vec<u8>>,
    /// The system buffer was non-null.
    system_buffer: bool,
    /// `UserBuffer` was non-null.
    user_buffer: bool,
}

/// Completes every device control at once, recording what it carried; a buffered one
/// gets its whole system buffer (input and output length) overwritten with 0xAB, so
/// a buffer shorter than the output length would be a write out of bounds.
#[derive(Default)]
struct Inspect {
    seen: std::sync::Mutex<Vec<Seen>>,
}

impl Driver for Inspect {
    fn dispatch(&self, _device: &DeviceRef, irp: SafeIrp) -> Dispatched {
        if irp.major_function() != nt::IRP_MJ_DEVICE_CONTROL {
            return irp.complete(nt::STATUS_SUCCESS, 0).into();
        }
        let raw = irp.as_ptr();
        // SAFETY: the IRP is this dispatch routine's until it completes it; its
        // current stack location holds the device control's parameters, and the
        // buffers the requester gave are as long as those parameters say.
        let seen = unsafe {
            let p = (*nt::io_get_current_irp_stack_location(raw)).parameters.device_io_control;
            let system = (*raw).associated_irp;
            let source = if p.io_control_code & 3 == 3 { p.type3_input_buffer } else { system };
            let input = (!source.is_null())
                .then(|| std::slice::from_raw_parts(source.cast::<u8>(), p.input_buffer_length as usize).to_vec());
            if p.io_control_code & 3 == 0 && !system.is_null() {
                let len = (p.input_buffer_length.max(p.output_buffer_length)) as usize;
                core::ptr::write_bytes(system.cast::<u8>(), 0xAB, len);
            }
            Seen {
                code: p.io_control_code,
                input,
                system_buffer: !system.is_null(),
                user_buffer: !(*raw).user_buffer.is_null(),
            }
        };
        let n = seen.input.as_ref().map_or(0, Vec::len);
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).push(seen);
        irp.complete(nt::STATUS_SUCCESS, n).into()
    }
}

const BUFFERED: u32 = 0x0022_2000; // FILE_DEVICE_UNKNOWN, function 0x800, METHOD_BUFFERED
const NEITHER: u32 = BUFFERED | 3;

/// The input bytes reach the driver where the control code's transfer type puts them
/// (the system buffer, or Type3InputBuffer for METHOD_NEITHER), on synchronous and
/// overlapped handles; the old calls still pass no buffer at all.
#[test]
fn device_io_control_with_input_passes_the_bytes_as_the_transfer_type_says() {
    let kernel = Kernel::new();
    let _entered = kernel.enter();
    let dev = create_device(&kernel, "inspect", Inspect::default()).unwrap();
    let process = Process::new(&kernel);
    let t = process.attach_thread();
    let sync = process.open(dev.device_ref(), false).unwrap();
    let overlapped = process.open(dev.device_ref(), true).unwrap();
    let input = [1u8, 2, 3, 4, 5];

    let b = t.device_io_control_with_input(sync, BUFFERED, &input, 64).unwrap();
    assert_eq!(b, IoStatusBlock { status: nt::STATUS_SUCCESS, information: 5 });
    let o = Overlapped::new();
    assert_eq!(
        t.device_io_control_overlapped_with_input(overlapped, NEITHER, &input[..2], 8, &o),
        Ok(nt::STATUS_SUCCESS)
    );
    assert_eq!(o.status_block(), IoStatusBlock { status: nt::STATUS_SUCCESS, information: 2 });
    // No bytes and no output: no system buffer, as on Windows.
    t.device_io_control_with_input(sync, BUFFERED, &[], 0).unwrap();
    // The calls without input are unchanged: no buffer.
    t.device_io_control(sync, BUFFERED, 5, 64).unwrap();

    let seen = dev.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            Seen { code: BUFFERED, input: Some(input.to_vec()), system_buffer: true, user_buffer: false },
            Seen { code: NEITHER, input: Some(vec![1, 2]), system_buffer: false, user_buffer: true },
            Seen { code: BUFFERED, input: None, system_buffer: false, user_buffer: false },
            Seen { code: BUFFERED, input: None, system_buffer: false, user_buffer: false },
        ]
    );
    t.exit();
    process.terminate();
    assert_eq!(kernel.irps_outstanding(), 0);
    assert_eq!(kernel.verifier().report_count(), 0, "{:#?}", kernel.verifier().reports());
}

/// What a read or write IRP carried, as its driver saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Carried {
    major: u8,
    user_buffer: bool,
    system_buffer: bool,
    /// `IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | IRP_INPUT_OPERATION` bits.
    buffer_flags: u32,
    /// The MDL's byte count and whether its system address is the user buffer.
    mdl: Option<(u32, bool)>,
}

/// Fills a read's buffer — where the device's transfer type puts it — with 1, 2, 3, …
/// and completes it with `Information` one short of its length (so the copy back is
/// seen to take `Information` bytes, not the length).
#[derive(Default)]
struct Fill {
    carried: std::sync::Mutex<Vec<Carried>>,
}

impl Driver for Fill {
    fn dispatch(&self, _device: &DeviceRef, irp: SafeIrp) -> Dispatched {
        let major = irp.major_function();
        if major != nt::IRP_MJ_READ && major != nt::IRP_MJ_WRITE {
            return irp.complete(nt::STATUS_SUCCESS, 0).into();
        }
        let raw = irp.as_ptr();
        // SAFETY: the IRP is this dispatch routine's until it completes it; the buffers
        // the I/O manager gave it are `Parameters.Read.Length` bytes long.
        let (carried, length) = unsafe {
            let length = (*nt::io_get_current_irp_stack_location(raw)).parameters.read.length as usize;
            let mdl = (*raw).mdl_address.cast::<nt::Mdl>();
            let user = (*raw).user_buffer;
            let carried = Carried {
                major,
                user_buffer: !user.is_null(),
                system_buffer: !(*raw).associated_irp.is_null(),
                buffer_flags: (*raw).flags
                    & (nt::IRP_BUFFERED_IO | nt::IRP_DEALLOCATE_BUFFER | nt::IRP_INPUT_OPERATION),
                mdl: (!mdl.is_null()).then(|| ((*mdl).byte_count, (*mdl).mapped_system_va == user)),
            };
            let target = if carried.system_buffer {
                (*raw).associated_irp
            } else if !mdl.is_null() {
                (*mdl).mapped_system_va
            } else {
                user
            };
            if major == nt::IRP_MJ_READ && !target.is_null() {
                for (i, b) in std::slice::from_raw_parts_mut(target.cast::<u8>(), length).iter_mut().enumerate() {
                    *b = i as u8 + 1;
                }
            }
            (carried, length)
        };
        self.carried.lock().unwrap_or_else(|e| e.into_inner()).push(carried);
        irp.complete(nt::STATUS_SUCCESS, length.saturating_sub(1)).into()
    }
}

/// Polls a future whose result is already there (the driver completes in dispatch).
fn ready<F: core::future::Future>(f: F) -> F::Output {
    let mut f = core::pin::pin!(f);
    match f.as_mut().poll(&mut core::task::Context::from_waker(core::task::Waker::noop())) {
        core::task::Poll::Ready(r) => r,
        core::task::Poll::Pending => panic!("the request did not finish in its dispatch routine"),
    }
}

/// Reads and writes get the buffers the device's flags ask for: DO_BUFFERED_IO a system
/// buffer (copied to the caller's buffer at completion, `Information` bytes, for a
/// read), DO_DIRECT_IO an MDL over the caller's buffer, neither the caller's buffer
/// itself; a read that names only a length still gets a buffer of that length.
#[test]
fn reads_and_writes_get_the_buffers_the_device_flags_ask_for() {
    let kernel = Kernel::new();
    let _entered = kernel.enter();
    let process = Process::new(&kernel);
    let t = process.attach_thread();
    let all = nt::IRP_BUFFERED_IO | nt::IRP_DEALLOCATE_BUFFER | nt::IRP_INPUT_OPERATION;
    let cases = [
        (
            nt::DO_BUFFERED_IO,
            Carried { major: nt::IRP_MJ_READ, user_buffer: true, system_buffer: true, buffer_flags: all, mdl: None },
        ),
        (
            nt::DO_DIRECT_IO,
            Carried {
                major: nt::IRP_MJ_READ,
                user_buffer: true,
                system_buffer: false,
                buffer_flags: 0,
                mdl: Some((6, true)),
            },
        ),
        (0, Carried { major: nt::IRP_MJ_READ, user_buffer: true, system_buffer: false, buffer_flags: 0, mdl: None }),
    ];
    for (flags, read) in cases {
        let dev = create_device(&kernel, "fill", Fill::default()).unwrap();
        // SAFETY: the device is ours and no request is using it yet.
        unsafe { (*dev.device_ref().as_ptr()).flags |= flags };
        let sync = process.open(dev.device_ref(), false).unwrap();
        let overlapped = process.open(dev.device_ref(), true).unwrap();
        let (iosb, data) = ready(t.read_async(overlapped, vec![0u8; 6], 0).unwrap());
        assert_eq!(iosb, IoStatusBlock { status: nt::STATUS_SUCCESS, information: 5 }, "flags {flags:#x}");
        assert_eq!(data, [1, 2, 3, 4, 5, if flags == nt::DO_BUFFERED_IO { 0 } else { 6 }], "flags {flags:#x}");
        assert_eq!(t.read(sync, 4, 0).unwrap().information, 3);
        t.write(sync, 4, 0).unwrap();
        let seen = dev.carried.lock().unwrap().clone();
        let sync_read = Carried { mdl: read.mdl.map(|_| (4, true)), ..read.clone() };
        let write = Carried {
            major: nt::IRP_MJ_WRITE,
            buffer_flags: read.buffer_flags & !nt::IRP_INPUT_OPERATION,
            ..sync_read.clone()
        };
        assert_eq!(seen, vec![read, sync_read, write], "flags {flags:#x}");
        process.close(sync);
        process.close(overlapped);
    }
    t.exit();
    process.terminate();
    assert_eq!(kernel.irps_outstanding(), 0);
    assert_eq!(kernel.verifier().report_count(), 0, "{:#?}", kernel.verifier().reports());
}
