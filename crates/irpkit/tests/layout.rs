//! The NT objects have the x64 WDK layout: sizes and field offsets as in `wdm.h` (and as
//! a kernel debugger's `dt nt!_IRP` shows them), so C driver code can share the memory.
#![cfg(all(target_arch = "x86_64", not(any(loom, shuttle))))]

use std::mem::{offset_of, size_of};

use irpkit::nt::*;

macro_rules! assert_layout {
    ($ty:ty, size $size:expr, { $($field:tt $(. $sub:tt)* => $off:expr),* $(,)? }) => {{
        assert_eq!(size_of::<$ty>(), $size, "sizeof({})", stringify!($ty));
        $( assert_eq!(offset_of!($ty, $field $(. $sub)*), $off, "{}.{}", stringify!($ty), stringify!($field $(. $sub)*)); )*
    }};
}

#[test]
fn layout_irp() {
    assert_layout!(Irp, size 0xD0, {
        type_ => 0x00, size => 0x02, mdl_address => 0x08, flags => 0x10, associated_irp => 0x18,
        thread_list_entry => 0x20, io_status => 0x30, requestor_mode => 0x40, pending_returned => 0x41,
        stack_count => 0x42, current_location => 0x43, cancel => 0x44, cancel_irql => 0x45,
        apc_environment => 0x46, allocation_flags => 0x47, user_iosb => 0x48, user_event => 0x50,
        overlay => 0x58, cancel_routine => 0x68, user_buffer => 0x70, tail => 0x78,
    });
    // Tail.Overlay
    assert_layout!(IrpTailOverlay, size 0x50, {
        entry => 0x00, thread => 0x20, auxiliary_buffer => 0x28, list_entry => 0x30,
        current_stack_location => 0x40, original_file_object => 0x48,
    });
    assert_eq!(size_of::<IrpTail>(), 0x58, "Tail is as large as a KAPC");
    assert_eq!(size_of::<DeviceQueueEntryOrContext>(), 0x20, "DriverContext[4]");
}

#[test]
fn layout_io_stack_location() {
    assert_layout!(IoStackLocation, size 0x48, {
        major_function => 0x00, minor_function => 0x01, flags => 0x02, control => 0x03,
        parameters => 0x08, device_object => 0x28, file_object => 0x30,
        completion_routine => 0x38, context => 0x40,
    });
    assert_eq!(size_of::<Parameters>(), 0x20);
    assert_layout!(ReadWriteParameters, size 0x18, { length => 0, key => 8, flags => 12, byte_offset => 16 });
    assert_layout!(DeviceIoControlParameters, size 0x20, {
        output_buffer_length => 0, input_buffer_length => 8, io_control_code => 16, type3_input_buffer => 24,
    });
    assert_eq!(io_size_of_irp(1), 0xD0 + 0x48);
}

#[test]
fn layout_small_objects() {
    assert_layout!(IoStatusBlock, size 0x10, { status => 0, information => 8 });
    assert_layout!(ListEntry, size 0x10, { flink => 0, blink => 8 });
    assert_layout!(KDeviceQueueEntry, size 0x18, { device_list_entry => 0, sort_key => 0x10, inserted => 0x14 });
    assert_layout!(KDeviceQueue, size 0x28, { type_ => 0, size => 2, device_list_head => 8, lock => 0x18, busy => 0x20 });
    assert_layout!(DispatcherHeader, size 0x18, { signal_state => 4, wait_list_head => 8 });
    assert_eq!(size_of::<KEvent>(), 0x18);
    assert_layout!(KDpc, size 0x40, {
        dpc_list_entry => 0x08, processor_history => 0x10, deferred_routine => 0x18, deferred_context => 0x20,
        system_argument1 => 0x28, system_argument2 => 0x30, dpc_data => 0x38,
    });
    assert_eq!(size_of::<KSpinLock>(), 8);
    assert_eq!(size_of::<UnicodeString>(), 0x10);
    assert_eq!(size_of::<CancelRoutineSlot>(), 8);
}

#[test]
fn layout_device_object() {
    assert_layout!(DeviceObject, size 0x150, {
        type_ => 0x00, size => 0x02, reference_count => 0x04, driver_object => 0x08, next_device => 0x10,
        attached_device => 0x18, current_irp => 0x20, timer => 0x28, flags => 0x30, characteristics => 0x34,
        vpb => 0x38, device_extension => 0x40, device_type => 0x48, stack_size => 0x4c, queue => 0x50,
        alignment_requirement => 0x98, device_queue => 0xa0, dpc => 0xc8, active_thread_count => 0x108,
        security_descriptor => 0x110, device_lock => 0x118, sector_size => 0x130, spare1 => 0x132,
        device_object_extension => 0x138, reserved => 0x140,
    });
    assert_eq!(std::mem::align_of::<DeviceObject>(), 16);
}

#[test]
fn layout_driver_object() {
    assert_layout!(DriverObject, size 0x150, {
        type_ => 0x00, size => 0x02, device_object => 0x08, flags => 0x10, driver_start => 0x18,
        driver_size => 0x20, driver_section => 0x28, driver_extension => 0x30, driver_name => 0x38,
        hardware_database => 0x48, fast_io_dispatch => 0x50, driver_init => 0x58, driver_start_io => 0x60,
        driver_unload => 0x68, major_function => 0x70,
    });
}

#[test]
fn layout_file_object() {
    assert_layout!(FileObject, size 0xD8, {
        type_ => 0x00, device_object => 0x08, vpb => 0x10, fs_context => 0x18, fs_context2 => 0x20,
        section_object_pointer => 0x28, private_cache_map => 0x30, final_status => 0x38,
        related_file_object => 0x40, lock_operation => 0x48, delete_pending => 0x49, read_access => 0x4a,
        write_access => 0x4b, delete_access => 0x4c, shared_read => 0x4d, shared_write => 0x4e,
        shared_delete => 0x4f, flags => 0x50, file_name => 0x58, current_byte_offset => 0x68,
        waiters => 0x70, busy => 0x74, last_lock => 0x78, lock => 0x80, event => 0x98,
        completion_context => 0xb0, irp_list_lock => 0xb8, irp_list => 0xc0, file_object_extension => 0xd0,
    });
}

/// Stack locations follow the IRP in memory, and a fresh IRP's current stack location
/// pointer is one past the last: the arithmetic C macros do on the same memory.
#[test]
fn layout_stack_locations_follow_the_irp() {
    let kernel = irpkit::Kernel::new();
    let _e = kernel.enter();
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = io_allocate_irp(3, false);
        assert_eq!(irp as usize % 8, 0);
        let base = irp as usize + size_of::<Irp>();
        let current = (*irp).tail.overlay.current_stack_location as usize;
        assert_eq!(current, base + 3 * size_of::<IoStackLocation>());
        assert_eq!(io_get_next_irp_stack_location(irp) as usize, base + 2 * size_of::<IoStackLocation>());
        assert_eq!((*irp).size as usize, io_size_of_irp(3));
        assert_eq!((*irp).type_, IO_TYPE_IRP);
        io_free_irp(irp);
    }
}

#[test]
fn layout_csq_timer_semaphore_remove_lock() {
    assert_layout!(IoCsq, size 0x40, {
        type_ => 0x00, csq_insert_irp => 0x08, csq_remove_irp => 0x10, csq_peek_next_irp => 0x18,
        csq_acquire_lock => 0x20, csq_release_lock => 0x28, csq_complete_canceled_irp => 0x30, reserve_pointer => 0x38,
    });
    assert_layout!(IoCsqIrpContext, size 0x18, { type_ => 0x00, irp => 0x08, csq => 0x10 });
    assert_layout!(KTimer, size 0x40, {
        header => 0x00, due_time => 0x18, timer_list_entry => 0x20, dpc => 0x30, processor => 0x38, period => 0x3c,
    });
    assert_layout!(KSemaphore, size 0x20, { header => 0x00, limit => 0x18 });
    assert_layout!(IoRemoveLock, size 0x20, { removed => 0x00, io_count => 0x04, remove_event => 0x08 });
}
