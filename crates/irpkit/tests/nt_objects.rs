//! Device objects, IoSetCompletionRoutineEx, events on the virtual clock, and bad
//! pointers handed to NT routines.
#![cfg(not(any(loom, shuttle)))]

mod common;

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use irpkit::clock::VirtualClock;
use irpkit::nt::*;
use irpkit::safe::{create_device, DeviceRef, Dispatched, Driver, Irp as SafeIrp};
use irpkit::verifier::VerifierMode;
use irpkit::Kernel;

unsafe extern "system-unwind" fn ex_routine(d: *mut DeviceObject, _irp: *mut Irp, c: *mut c_void) -> NtStatus {
    let obs = c as *const Obs;
    // SAFETY: the context is the test's `Obs`; the device is referenced by the Ex call.
    unsafe {
        (*obs).log(format!("ex routine, device refs while running: {}", (*d).reference_count.load(Ordering::SeqCst)));
    }
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn filter_ex(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: dispatch contract; `lower()` is the device below.
    unsafe {
        let obs = (*Irp::driver_context(irp))[0];
        io_copy_current_irp_stack_location_to_next(irp);
        assert_eq!(io_set_completion_routine_ex(d, irp, ex_routine, obs, true, true, true), STATUS_SUCCESS);
        assert_eq!((*d).reference_count.load(Ordering::SeqCst), 1, "referenced until the routine runs");
        io_call_driver(lower(), irp)
    }
}

/// IoSetCompletionRoutineEx keeps the device referenced until its routine has run.
#[test]
fn completion_routine_ex_references_the_device() {
    let f = Fixture::new(filter_ex);
    f.attach_below("Bottom", complete_now);
    let obs = Obs::default();
    // SAFETY: test-owned IRP, live devices.
    unsafe {
        let irp = new_read(f.device, &obs);
        assert_eq!(io_call_driver(f.device, irp), STATUS_SUCCESS);
        io_free_irp(irp);
        assert_eq!((*f.device).reference_count.load(Ordering::SeqCst), 0, "released after the routine");
    }
    assert_eq!(obs.events(), vec!["ex routine, device refs while running: 1", "creator completion"]);
}

struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
impl Driver for Counted {
    fn dispatch(&self, _d: &DeviceRef, irp: SafeIrp) -> Dispatched {
        irp.complete(STATUS_SUCCESS, 0).into()
    }
}

/// IoDeleteDevice unlinks the device from its driver and drops a safe device's state
/// once; the kernel's end drops the state of devices never deleted.
#[test]
fn delete_device_unlinks_and_drops_state() {
    let drops = Arc::new(AtomicUsize::new(0));
    let k = Kernel::new();
    let _e = k.enter();
    let a = create_device(&k, "A", Counted(drops.clone())).unwrap();
    let b = create_device(&k, "B", Counted(drops.clone())).unwrap();
    assert_eq!(a.device_ref().state::<Counted>().map(|c| c.0.load(Ordering::SeqCst)), Some(0));
    // SAFETY: no request uses device A; the kernel keeps its memory.
    unsafe {
        let driver = (*a.as_ptr()).driver_object;
        assert_eq!((*driver).device_object, a.as_ptr());
        io_delete_device(a.as_ptr());
        assert!((*driver).device_object.is_null(), "unlinked from its driver");
        io_delete_device(a.as_ptr()); // a second delete is a no-op
    }
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(a.device_ref().state::<Counted>().is_none(), "no state after deletion");
    drop((a, b, _e, k));
    assert_eq!(drops.load(Ordering::SeqCst), 2, "the kernel's end dropped B's state");
}

/// Events: a notification event wakes every waiter and stays set; a synchronization
/// event satisfies one wait and resets; a timeout runs on the kernel's virtual clock.
#[test]
fn events_notification_synchronization_and_virtual_timeout() {
    let k = Kernel::builder().clock(VirtualClock::new()).build();
    let _e = k.enter();
    let n = Arc::new(KEvent::new(EventType::Notification, false));
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let n = n.clone();
            k.spawn(move || ke_wait_for_single_object(&*n, None))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(ke_set_event(&n, 0, false), 0);
    for w in waiters {
        assert_eq!(w.join().unwrap(), STATUS_SUCCESS);
    }
    assert_eq!(ke_read_state_event(&n), 1, "a notification event stays signalled");

    let s = KEvent::new(EventType::Synchronization, true);
    assert_eq!(ke_wait_for_single_object(&s, Some(Duration::ZERO)), STATUS_SUCCESS);
    assert_eq!(ke_read_state_event(&s), 0, "a satisfied wait resets a synchronization event");
    assert_eq!(ke_wait_for_single_object(&s, Some(Duration::ZERO)), STATUS_TIMEOUT);

    // Five virtual minutes pass in no real time at all.
    let s = Arc::new(s);
    let waiter = {
        let s = s.clone();
        k.spawn(move || ke_wait_for_single_object(&*s, Some(Duration::from_secs(300))))
    };
    std::thread::sleep(Duration::from_millis(20));
    assert!(!waiter.is_finished(), "virtual time has not moved");
    assert!(k.clock().is_virtual());
    k.virtual_clock().expect("virtual").advance(Duration::from_secs(301));
    assert_eq!(waiter.join().unwrap(), STATUS_TIMEOUT);
    assert_eq!(ke_reset_event(&n), 1);
    ke_clear_event(&n);
}

/// NULL handed to NT routines is reported, not undefined behaviour.
#[test]
fn null_pointers_are_reported() {
    let f = Fixture::with_mode(VerifierMode::Record, complete_now);
    // SAFETY: each routine checks for NULL before touching anything.
    unsafe {
        io_complete_request(std::ptr::null_mut(), 0);
        assert!(!io_cancel_irp(std::ptr::null_mut()));
        assert!(io_set_cancel_routine(std::ptr::null_mut(), None).is_none());
        assert_eq!(io_call_driver(f.device, std::ptr::null_mut()), STATUS_INVALID_PARAMETER);
        assert_eq!(io_call_driver(std::ptr::null_mut(), std::ptr::null_mut()), STATUS_INVALID_PARAMETER);
        io_free_irp(std::ptr::null_mut());
    }
    assert_eq!(f.rules(), vec!["invalid-irp"; 6]);
}

/// Completes a device control at once after writing `Information` = 16 bytes of 0x5A to
/// where its transfer type puts the output: the system buffer (METHOD_BUFFERED), the
/// MDL's mapped address (direct), or UserBuffer (METHOD_NEITHER).
unsafe extern "system-unwind" fn fill_output(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: dispatch contract; the buffers are as long as the parameters say.
    unsafe {
        let p = (*io_get_current_irp_stack_location(irp)).parameters.device_io_control;
        let out = match p.io_control_code & 3 {
            0 => (*irp).associated_irp,
            3 => (*irp).user_buffer,
            _ => (*(*irp).mdl_address.cast::<Mdl>()).mapped_system_va,
        };
        std::ptr::write_bytes(out.cast::<u8>(), 0x5A, p.output_buffer_length as usize);
        (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: p.output_buffer_length as usize };
        io_complete_request(irp, 0);
    }
    STATUS_SUCCESS
}

/// A device control a driver builds with IoBuildDeviceIoControlRequest gets its buffers as
/// the transfer type says: METHOD_BUFFERED a system buffer of max(input, output) bytes
/// (so a lower driver writing its whole output never writes past a shorter input buffer),
/// copied to the output buffer at completion, the input buffer untouched; METHOD_OUT_DIRECT
/// an MDL over the output buffer; METHOD_NEITHER the caller's own buffers.
#[test]
fn built_device_controls_get_buffers_by_transfer_type() {
    let f = Fixture::new(fill_output);
    for method in [0u32, 2, 3] {
        let mut input = [1u8, 2, 3, 4];
        let mut output = [0u8; 16];
        let mut iosb = IoStatusBlock::default();
        let event = KEvent::new(EventType::Notification, false);
        // SAFETY: the buffers, event and status block outlive the request, which
        // completes in its dispatch routine.
        unsafe {
            let irp = io_build_device_io_control_request(
                0x22_2000 | method,
                f.device,
                input.as_mut_ptr().cast(),
                input.len() as u32,
                output.as_mut_ptr().cast(),
                output.len() as u32,
                false,
                (&event as *const KEvent).cast_mut(),
                &mut iosb,
            );
            assert!(!irp.is_null());
            assert_eq!(io_call_driver(f.device, irp), STATUS_SUCCESS);
        }
        assert_eq!(ke_wait_for_single_object(&event, Some(Duration::from_secs(1))), STATUS_SUCCESS);
        assert_eq!(iosb, IoStatusBlock { status: STATUS_SUCCESS, information: 16 }, "method {method}");
        assert_eq!(output, [0x5A; 16], "method {method}: the output reached the caller's buffer");
        assert_eq!(input, [1, 2, 3, 4], "method {method}: the input buffer is not written");
    }
    assert_eq!(f.kernel.irps_outstanding(), 0);
}

static FILE_REQUESTS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

/// Records each major function; refuses IRP_MJ_CREATE of a file while `REFUSE` is set,
/// completing it STATUS_ACCESS_DENIED without pending.
unsafe extern "system-unwind" fn file_requests(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: dispatch contract.
    unsafe {
        let major = (*io_get_current_irp_stack_location(irp)).major_function;
        FILE_REQUESTS.lock().unwrap().push(major);
        let status = if major == IRP_MJ_CREATE && REFUSE.load(Ordering::SeqCst) == 1 {
            STATUS_ACCESS_DENIED
        } else {
            STATUS_SUCCESS
        };
        (*irp).io_status = IoStatusBlock { status, information: 0 };
        io_complete_request(irp, 0);
        status
    }
}

static REFUSE: AtomicUsize = AtomicUsize::new(0);

/// IoGetDeviceObjectPointer: a create the driver refuses (an error without pending) is
/// the call's status; an accepted one gives a file object on the device, whose last
/// dereference sends the cleanup and the close; an unknown name is
/// STATUS_OBJECT_NAME_NOT_FOUND.
#[test]
fn io_get_device_object_pointer_opens_and_the_last_dereference_closes() {
    let f = Fixture::new(file_requests);
    // The fixture's device is named after its driver.
    let name = ["Test", r"\Device\Test"]
        .into_iter()
        .find(|n| f.kernel.find_device(n) == Some(f.device))
        .expect("the fixture's device by name");
    assert_eq!(io_get_device_object_pointer(r"\Device\NoSuchDevice").err(), Some(STATUS_OBJECT_NAME_NOT_FOUND));
    REFUSE.store(1, Ordering::SeqCst);
    assert_eq!(io_get_device_object_pointer(name).err(), Some(STATUS_ACCESS_DENIED));
    REFUSE.store(0, Ordering::SeqCst);
    let (file, device) = io_get_device_object_pointer(name).expect("opened");
    assert_eq!(device, f.device);
    // SAFETY: the file object lives as long as the kernel.
    unsafe {
        assert_eq!((*file).device_object, f.device);
        assert_eq!(ob::ob_reference_object(file.cast()), 2);
        assert_eq!(ob::ob_dereference_object(file.cast()), 1);
        assert_eq!(*FILE_REQUESTS.lock().unwrap(), [IRP_MJ_CREATE, IRP_MJ_CREATE]);
        assert_eq!(ob::ob_dereference_object(file.cast()), 0);
    }
    assert_eq!(*FILE_REQUESTS.lock().unwrap(), [IRP_MJ_CREATE, IRP_MJ_CREATE, IRP_MJ_CLEANUP, IRP_MJ_CLOSE]);
    assert_eq!(f.kernel.irps_outstanding(), 0);
}
