//! The NT layer: each documented routine, step by step, on `#[repr(C)]` objects with the
//! x64 WDK layout.
//!
//! These functions take raw pointers and are `unsafe` exactly where the C routines are:
//! the caller vouches that the objects are live and owned as NT's rules say. Breaking a
//! rule of the I/O model (completing twice, completing with a cancel routine set, ...)
//! is not undefined behaviour here: the [verifier](crate::verifier) reports it with the
//! Windows code. The [safe layer](crate::safe) wraps these routines; it does not
//! re-implement them.

pub(crate) mod addr_map;
pub mod build;
pub mod cancel;
pub mod complete;
// Under loom and shuttle the explorer, which reads coverage, is not built.
#[cfg_attr(any(loom, shuttle), allow(dead_code))]
pub mod coverage;
pub(crate) mod creator;
pub mod csq;
pub mod debug;
pub mod device;
pub(crate) mod device_ref;
pub mod devqueue;
pub mod dpc;
pub mod event;
pub(crate) mod event_log;
pub(crate) mod exchange;
pub mod file;
pub mod irp;
pub(crate) mod kernel;
pub mod ob;
pub mod objects;
pub(crate) mod observe;
pub mod pool;
pub(crate) mod requester;
pub mod spinlock;
pub mod startio;
pub mod status;
pub mod symbols;
pub mod types;

pub use build::{
    io_build_asynchronous_fsd_request, io_build_device_io_control_request, io_build_synchronous_fsd_request,
};
pub use cancel::{io_cancel_irp, io_set_cancel_routine};
pub use complete::io_complete_request;
pub use csq::{
    io_csq_initialize, io_csq_initialize_ex, io_csq_insert_irp, io_csq_insert_irp_ex, io_csq_remove_irp,
    io_csq_remove_next_irp, IoCsq, IoCsqIrpContext, IO_TYPE_CSQ, IO_TYPE_CSQ_EX, IO_TYPE_CSQ_IRP_CONTEXT,
};
pub use debug::{dbg_break_point, dbg_print, paged_code, rtl_assert, DebugLine};
pub use device::{
    io_attach_device_to_device_stack, io_call_driver, io_create_device, io_delete_device, io_detach_device,
    io_get_attached_device, DevicePtr, DriverInitialize, DriverPtr,
};
pub use devqueue::{
    ke_initialize_device_queue, ke_insert_by_key_device_queue, ke_insert_device_queue, ke_remove_by_key_device_queue,
    ke_remove_by_key_device_queue_if_busy, ke_remove_device_queue, ke_remove_entry_device_queue,
};
pub use dpc::{
    ke_cancel_timer, ke_flush_queued_dpcs, ke_initialize_dpc, ke_initialize_timer, ke_initialize_timer_ex,
    ke_insert_queue_dpc, ke_query_interrupt_time, ke_query_system_time, ke_query_tick_count, ke_read_state_timer,
    ke_remove_queue_dpc, ke_set_timer, ke_set_timer_ex, DpcThread, TimerType, TIME_INCREMENT,
};
pub use event::{
    ke_clear_event, ke_initialize_event, ke_read_state_event, ke_reset_event, ke_set_event,
    ke_wait_for_multiple_objects, ke_wait_for_single_object, DispatcherObject, EventType, WaitType,
};
pub use file::{io_get_device_object_pointer, io_get_related_device_object};
pub use irp::{
    io_allocate_irp, io_copy_current_irp_stack_location_to_next, io_free_irp, io_get_current_irp_stack_location,
    io_get_next_irp_stack_location, io_initialize_irp, io_mark_irp_pending, io_reuse_irp, io_set_completion_routine,
    io_set_completion_routine_ex, io_set_next_irp_stack_location, io_size_of_irp, io_skip_current_irp_stack_location,
    IrpPtr,
};
pub use ob::{
    io_attach_device, io_create_symbolic_link, io_delete_symbolic_link, ke_enter_critical_region,
    ke_get_current_thread, ke_leave_critical_region, ke_set_priority_thread, ob_dereference_object, ob_open_handle,
    ob_reference_object, ob_reference_object_by_handle, ps_create_system_thread, ps_terminate_system_thread,
    queue_work_item, zw_close, KStartRoutine, KThread, ObjectType,
};
pub use objects::{
    io_acquire_remove_lock, io_initialize_remove_lock, io_release_remove_lock, io_release_remove_lock_and_wait,
    ke_delay, ke_delay_execution_thread, ke_initialize_semaphore, ke_read_state_semaphore, ke_release_semaphore,
    SystemThread,
};
pub use pool::{
    ex_allocate_pool2, ex_allocate_pool_quota_zero, ex_allocate_pool_with_tag, ex_allocate_pool_zero, ex_free_pool,
    ex_free_pool_with_tag,
};
pub use spinlock::{
    io_acquire_cancel_spin_lock, io_release_cancel_spin_lock, ke_acquire_in_stack_queued_spin_lock,
    ke_acquire_in_stack_queued_spin_lock_at_dpc_level, ke_acquire_spin_lock, ke_acquire_spin_lock_at_dpc_level,
    ke_get_current_irql, ke_initialize_spin_lock, ke_lower_irql, ke_raise_irql, ke_release_in_stack_queued_spin_lock,
    ke_release_in_stack_queued_spin_lock_from_dpc_level, ke_release_spin_lock, ke_release_spin_lock_from_dpc_level,
    KLockQueueHandle,
};
pub use startio::{io_set_start_io_attributes, io_start_next_packet, io_start_next_packet_by_key, io_start_packet};
pub use status::*;
pub use types::*;
