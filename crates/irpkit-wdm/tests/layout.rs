//! irpkit's WDM headers declare the kernel objects byte for byte as the Rust side lays
//! them out (`irpkit::nt`), so that C drivers and Rust share the very same memory.
//!
//! `tests/c/layout.c` prints the size of every object the headers declare, the offset of
//! every field and the value of the constants both sides define; each printed line must
//! be in the table below with the same value, and each entry of the table must be printed.
//! The table takes its values from the Rust types (`offset_of!`, `size_of`); fields the
//! Rust side keeps opaque are given their documented x64 offsets.
//!
//! Also: `tests/c/header_smoke.c`, a translation unit written as real drivers write them,
//! compiles with the loader's flags and `-Werror`; and the headers the loader writes out
//! for drivers ([`include_dir`]) are exactly the ones of this source tree.
//!
//! Built with the system C compiler (`CC`, else `cc`) and, when installed, with clang
//! (required where `IRPKIT_REQUIRE_CLANG` is set, as on CI).
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::collections::BTreeMap;
use std::mem::{align_of, offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use irpkit::nt::pool::{NON_PAGED_POOL, PAGED_POOL, POOL_QUOTA_FAIL_INSTEAD_OF_RAISE};
use irpkit::nt::*;
use irpkit_wdm::loader::{include_dir, DRIVER_CFLAGS};
use irpkit_wdm::SOURCE_INCLUDE_DIR;

mod clang;

/// Every line `layout.c` must print: (key, value).
fn expected() -> Vec<(&'static str, usize)> {
    // `Parameters` and its members that the Rust side does not name: the documented x64
    // offsets inside the 32-byte union, where POINTER_ALIGNMENT members start on 8.
    let p = offset_of!(IoStackLocation, parameters);
    let arg = offset_of!(IoStackLocation, parameters.others.argument);
    let ptr = size_of::<*mut u8>();
    vec![
        // --- basic types ---
        ("LIST_ENTRY", size_of::<ListEntry>()),
        ("LIST_ENTRY.Flink", offset_of!(ListEntry, flink)),
        ("LIST_ENTRY.Blink", offset_of!(ListEntry, blink)),
        ("LARGE_INTEGER", size_of::<i64>()),
        ("LARGE_INTEGER.LowPart", 0),
        ("LARGE_INTEGER.HighPart", 4),
        ("LARGE_INTEGER.u.LowPart", 0),
        ("LARGE_INTEGER.u.HighPart", 4),
        ("LARGE_INTEGER.QuadPart", 0),
        ("UNICODE_STRING", size_of::<UnicodeString>()),
        ("UNICODE_STRING.Length", offset_of!(UnicodeString, length)),
        ("UNICODE_STRING.MaximumLength", offset_of!(UnicodeString, maximum_length)),
        ("UNICODE_STRING.Buffer", offset_of!(UnicodeString, buffer)),
        ("IO_STATUS_BLOCK", size_of::<IoStatusBlock>()),
        ("IO_STATUS_BLOCK.Status", offset_of!(IoStatusBlock, status)),
        ("IO_STATUS_BLOCK.Pointer", offset_of!(IoStatusBlock, status)),
        ("IO_STATUS_BLOCK.Information", offset_of!(IoStatusBlock, information)),
        ("KSPIN_LOCK", size_of::<KSpinLock>()),
        ("OBJECT_HANDLE_INFORMATION", 8),
        ("OBJECT_HANDLE_INFORMATION.HandleAttributes", 0),
        ("OBJECT_HANDLE_INFORMATION.GrantedAccess", 4),
        // --- dispatcher objects, DPCs, timers, device queues, locks ---
        ("DISPATCHER_HEADER", size_of::<DispatcherHeader>()),
        ("DISPATCHER_HEADER.Type", offset_of!(DispatcherHeader, type_)),
        ("DISPATCHER_HEADER.Signalling", offset_of!(DispatcherHeader, signalling)),
        ("DISPATCHER_HEADER.Size", offset_of!(DispatcherHeader, size)),
        ("DISPATCHER_HEADER.Reserved1", offset_of!(DispatcherHeader, reserved)),
        ("DISPATCHER_HEADER.SignalState", offset_of!(DispatcherHeader, signal_state)),
        ("DISPATCHER_HEADER.WaitListHead", offset_of!(DispatcherHeader, wait_list_head)),
        ("KEVENT", size_of::<KEvent>()),
        ("KEVENT.Header", offset_of!(KEvent, header)),
        ("KSEMAPHORE", size_of::<KSemaphore>()),
        ("KSEMAPHORE.Header", offset_of!(KSemaphore, header)),
        ("KSEMAPHORE.Limit", offset_of!(KSemaphore, limit)),
        ("KWAIT_BLOCK", 48),
        // KSPIN_LOCK_QUEUE is the first member of KLOCK_QUEUE_HANDLE.
        ("KSPIN_LOCK_QUEUE", offset_of!(KLockQueueHandle, old_irql)),
        ("KSPIN_LOCK_QUEUE.Next", offset_of!(KLockQueueHandle, next)),
        ("KSPIN_LOCK_QUEUE.Lock", offset_of!(KLockQueueHandle, lock)),
        ("KLOCK_QUEUE_HANDLE", size_of::<KLockQueueHandle>()),
        ("KLOCK_QUEUE_HANDLE.LockQueue", offset_of!(KLockQueueHandle, next)),
        ("KLOCK_QUEUE_HANDLE.LockQueue.Next", offset_of!(KLockQueueHandle, next)),
        ("KLOCK_QUEUE_HANDLE.LockQueue.Lock", offset_of!(KLockQueueHandle, lock)),
        ("KLOCK_QUEUE_HANDLE.OldIrql", offset_of!(KLockQueueHandle, old_irql)),
        ("KDPC", size_of::<KDpc>()),
        ("KDPC.TargetInfoAsUlong", offset_of!(KDpc, type_)),
        ("KDPC.Type", offset_of!(KDpc, type_)),
        ("KDPC.Importance", offset_of!(KDpc, importance)),
        ("KDPC.Number", offset_of!(KDpc, number)),
        ("KDPC.DpcListEntry", offset_of!(KDpc, dpc_list_entry)),
        ("KDPC.ProcessorHistory", offset_of!(KDpc, processor_history)),
        ("KDPC.DeferredRoutine", offset_of!(KDpc, deferred_routine)),
        ("KDPC.DeferredContext", offset_of!(KDpc, deferred_context)),
        ("KDPC.SystemArgument1", offset_of!(KDpc, system_argument1)),
        ("KDPC.SystemArgument2", offset_of!(KDpc, system_argument2)),
        ("KDPC.DpcData", offset_of!(KDpc, dpc_data)),
        ("KTIMER", size_of::<KTimer>()),
        ("KTIMER.Header", offset_of!(KTimer, header)),
        ("KTIMER.DueTime", offset_of!(KTimer, due_time)),
        ("KTIMER.TimerListEntry", offset_of!(KTimer, timer_list_entry)),
        ("KTIMER.Dpc", offset_of!(KTimer, dpc)),
        ("KTIMER.Processor", offset_of!(KTimer, processor)),
        ("KTIMER.Period", offset_of!(KTimer, period)),
        ("KDEVICE_QUEUE_ENTRY", size_of::<KDeviceQueueEntry>()),
        ("KDEVICE_QUEUE_ENTRY.DeviceListEntry", offset_of!(KDeviceQueueEntry, device_list_entry)),
        ("KDEVICE_QUEUE_ENTRY.SortKey", offset_of!(KDeviceQueueEntry, sort_key)),
        ("KDEVICE_QUEUE_ENTRY.Inserted", offset_of!(KDeviceQueueEntry, inserted)),
        ("KDEVICE_QUEUE", size_of::<KDeviceQueue>()),
        ("KDEVICE_QUEUE.Type", offset_of!(KDeviceQueue, type_)),
        ("KDEVICE_QUEUE.Size", offset_of!(KDeviceQueue, size)),
        ("KDEVICE_QUEUE.DeviceListHead", offset_of!(KDeviceQueue, device_list_head)),
        ("KDEVICE_QUEUE.Lock", offset_of!(KDeviceQueue, lock)),
        ("KDEVICE_QUEUE.Busy", offset_of!(KDeviceQueue, busy)),
        ("IO_REMOVE_LOCK_COMMON_BLOCK", size_of::<IoRemoveLock>()),
        ("IO_REMOVE_LOCK_COMMON_BLOCK.Removed", offset_of!(IoRemoveLock, removed)),
        ("IO_REMOVE_LOCK_COMMON_BLOCK.Reserved", offset_of!(IoRemoveLock, reserved)),
        ("IO_REMOVE_LOCK_COMMON_BLOCK.IoCount", offset_of!(IoRemoveLock, io_count)),
        ("IO_REMOVE_LOCK_COMMON_BLOCK.RemoveEvent", offset_of!(IoRemoveLock, remove_event)),
        ("IO_REMOVE_LOCK", size_of::<IoRemoveLock>()),
        ("IO_REMOVE_LOCK.Common", 0),
        ("IO_REMOVE_LOCK.Common.Removed", offset_of!(IoRemoveLock, removed)),
        ("IO_REMOVE_LOCK.Common.Reserved", offset_of!(IoRemoveLock, reserved)),
        ("IO_REMOVE_LOCK.Common.IoCount", offset_of!(IoRemoveLock, io_count)),
        ("IO_REMOVE_LOCK.Common.RemoveEvent", offset_of!(IoRemoveLock, remove_event)),
        // Irp->Tail is exactly as large as the KAPC it overlays.
        ("KAPC", size_of::<IrpTail>()),
        ("WAIT_CONTEXT_BLOCK", size_of::<WaitContextBlock>()),
        ("WAIT_CONTEXT_BLOCK.WaitQueueEntry", 0),
        ("WAIT_CONTEXT_BLOCK.DmaWaitEntry", 0),
        ("WAIT_CONTEXT_BLOCK.NumberOfChannels", 16),
        ("WAIT_CONTEXT_BLOCK.DeviceRoutine", size_of::<KDeviceQueueEntry>()),
        ("WAIT_CONTEXT_BLOCK.DeviceContext", 32),
        ("WAIT_CONTEXT_BLOCK.NumberOfMapRegisters", 40),
        ("WAIT_CONTEXT_BLOCK.DeviceObject", 48),
        ("WAIT_CONTEXT_BLOCK.CurrentIrp", 56),
        ("WAIT_CONTEXT_BLOCK.BufferChainingDpc", 64),
        ("MDL", size_of::<Mdl>()),
        ("MDL.Next", offset_of!(Mdl, next)),
        ("MDL.Size", offset_of!(Mdl, size)),
        ("MDL.MdlFlags", offset_of!(Mdl, mdl_flags)),
        ("MDL.Process", offset_of!(Mdl, process)),
        ("MDL.MappedSystemVa", offset_of!(Mdl, mapped_system_va)),
        ("MDL.StartVa", offset_of!(Mdl, start_va)),
        ("MDL.ByteCount", offset_of!(Mdl, byte_count)),
        ("MDL.ByteOffset", offset_of!(Mdl, byte_offset)),
        // --- devices and drivers ---
        ("DEVICE_OBJECT", size_of::<DeviceObject>()),
        ("DEVICE_OBJECT#align", align_of::<DeviceObject>()),
        ("DEVICE_OBJECT.Type", offset_of!(DeviceObject, type_)),
        ("DEVICE_OBJECT.Size", offset_of!(DeviceObject, size)),
        ("DEVICE_OBJECT.ReferenceCount", offset_of!(DeviceObject, reference_count)),
        ("DEVICE_OBJECT.DriverObject", offset_of!(DeviceObject, driver_object)),
        ("DEVICE_OBJECT.NextDevice", offset_of!(DeviceObject, next_device)),
        ("DEVICE_OBJECT.AttachedDevice", offset_of!(DeviceObject, attached_device)),
        ("DEVICE_OBJECT.CurrentIrp", offset_of!(DeviceObject, current_irp)),
        ("DEVICE_OBJECT.Timer", offset_of!(DeviceObject, timer)),
        ("DEVICE_OBJECT.Flags", offset_of!(DeviceObject, flags)),
        ("DEVICE_OBJECT.Characteristics", offset_of!(DeviceObject, characteristics)),
        ("DEVICE_OBJECT.Vpb", offset_of!(DeviceObject, vpb)),
        ("DEVICE_OBJECT.DeviceExtension", offset_of!(DeviceObject, device_extension)),
        ("DEVICE_OBJECT.DeviceType", offset_of!(DeviceObject, device_type)),
        ("DEVICE_OBJECT.StackSize", offset_of!(DeviceObject, stack_size)),
        ("DEVICE_OBJECT.Queue", offset_of!(DeviceObject, queue)),
        ("DEVICE_OBJECT.Queue.ListEntry", offset_of!(DeviceObject, queue)),
        ("DEVICE_OBJECT.Queue.Wcb", offset_of!(DeviceObject, queue)),
        ("DEVICE_OBJECT.AlignmentRequirement", offset_of!(DeviceObject, alignment_requirement)),
        ("DEVICE_OBJECT.DeviceQueue", offset_of!(DeviceObject, device_queue)),
        ("DEVICE_OBJECT.Dpc", offset_of!(DeviceObject, dpc)),
        ("DEVICE_OBJECT.ActiveThreadCount", offset_of!(DeviceObject, active_thread_count)),
        ("DEVICE_OBJECT.SecurityDescriptor", offset_of!(DeviceObject, security_descriptor)),
        ("DEVICE_OBJECT.DeviceLock", offset_of!(DeviceObject, device_lock)),
        ("DEVICE_OBJECT.SectorSize", offset_of!(DeviceObject, sector_size)),
        ("DEVICE_OBJECT.Spare1", offset_of!(DeviceObject, spare1)),
        ("DEVICE_OBJECT.DeviceObjectExtension", offset_of!(DeviceObject, device_object_extension)),
        ("DEVICE_OBJECT.Reserved", offset_of!(DeviceObject, reserved)),
        ("DRIVER_EXTENSION", size_of::<DriverExtension>()),
        ("DRIVER_EXTENSION.DriverObject", offset_of!(DriverExtension, driver_object)),
        ("DRIVER_EXTENSION.AddDevice", offset_of!(DriverExtension, add_device)),
        ("DRIVER_EXTENSION.Count", offset_of!(DriverExtension, count)),
        ("DRIVER_EXTENSION.ServiceKeyName", offset_of!(DriverExtension, service_key_name)),
        ("DRIVER_OBJECT", size_of::<DriverObject>()),
        ("DRIVER_OBJECT.Type", offset_of!(DriverObject, type_)),
        ("DRIVER_OBJECT.Size", offset_of!(DriverObject, size)),
        ("DRIVER_OBJECT.DeviceObject", offset_of!(DriverObject, device_object)),
        ("DRIVER_OBJECT.Flags", offset_of!(DriverObject, flags)),
        ("DRIVER_OBJECT.DriverStart", offset_of!(DriverObject, driver_start)),
        ("DRIVER_OBJECT.DriverSize", offset_of!(DriverObject, driver_size)),
        ("DRIVER_OBJECT.DriverSection", offset_of!(DriverObject, driver_section)),
        ("DRIVER_OBJECT.DriverExtension", offset_of!(DriverObject, driver_extension)),
        ("DRIVER_OBJECT.DriverName", offset_of!(DriverObject, driver_name)),
        ("DRIVER_OBJECT.HardwareDatabase", offset_of!(DriverObject, hardware_database)),
        ("DRIVER_OBJECT.FastIoDispatch", offset_of!(DriverObject, fast_io_dispatch)),
        ("DRIVER_OBJECT.DriverInit", offset_of!(DriverObject, driver_init)),
        ("DRIVER_OBJECT.DriverStartIo", offset_of!(DriverObject, driver_start_io)),
        ("DRIVER_OBJECT.DriverUnload", offset_of!(DriverObject, driver_unload)),
        ("DRIVER_OBJECT.MajorFunction", offset_of!(DriverObject, major_function)),
        ("DRIVER_OBJECT.MajorFunction#size", IRP_MJ_COUNT * ptr),
        ("FILE_OBJECT", size_of::<FileObject>()),
        ("FILE_OBJECT.Type", offset_of!(FileObject, type_)),
        ("FILE_OBJECT.Size", offset_of!(FileObject, size)),
        ("FILE_OBJECT.DeviceObject", offset_of!(FileObject, device_object)),
        ("FILE_OBJECT.Vpb", offset_of!(FileObject, vpb)),
        ("FILE_OBJECT.FsContext", offset_of!(FileObject, fs_context)),
        ("FILE_OBJECT.FsContext2", offset_of!(FileObject, fs_context2)),
        ("FILE_OBJECT.SectionObjectPointer", offset_of!(FileObject, section_object_pointer)),
        ("FILE_OBJECT.PrivateCacheMap", offset_of!(FileObject, private_cache_map)),
        ("FILE_OBJECT.FinalStatus", offset_of!(FileObject, final_status)),
        ("FILE_OBJECT.RelatedFileObject", offset_of!(FileObject, related_file_object)),
        ("FILE_OBJECT.LockOperation", offset_of!(FileObject, lock_operation)),
        ("FILE_OBJECT.DeletePending", offset_of!(FileObject, delete_pending)),
        ("FILE_OBJECT.ReadAccess", offset_of!(FileObject, read_access)),
        ("FILE_OBJECT.WriteAccess", offset_of!(FileObject, write_access)),
        ("FILE_OBJECT.DeleteAccess", offset_of!(FileObject, delete_access)),
        ("FILE_OBJECT.SharedRead", offset_of!(FileObject, shared_read)),
        ("FILE_OBJECT.SharedWrite", offset_of!(FileObject, shared_write)),
        ("FILE_OBJECT.SharedDelete", offset_of!(FileObject, shared_delete)),
        ("FILE_OBJECT.Flags", offset_of!(FileObject, flags)),
        ("FILE_OBJECT.FileName", offset_of!(FileObject, file_name)),
        ("FILE_OBJECT.CurrentByteOffset", offset_of!(FileObject, current_byte_offset)),
        ("FILE_OBJECT.Waiters", offset_of!(FileObject, waiters)),
        ("FILE_OBJECT.Busy", offset_of!(FileObject, busy)),
        ("FILE_OBJECT.LastLock", offset_of!(FileObject, last_lock)),
        ("FILE_OBJECT.Lock", offset_of!(FileObject, lock)),
        ("FILE_OBJECT.Event", offset_of!(FileObject, event)),
        ("FILE_OBJECT.CompletionContext", offset_of!(FileObject, completion_context)),
        ("FILE_OBJECT.IrpListLock", offset_of!(FileObject, irp_list_lock)),
        ("FILE_OBJECT.IrpList", offset_of!(FileObject, irp_list)),
        ("FILE_OBJECT.FileObjectExtension", offset_of!(FileObject, file_object_extension)),
        // --- stack locations ---
        ("IO_STACK_LOCATION", size_of::<IoStackLocation>()),
        ("IO_STACK_LOCATION.MajorFunction", offset_of!(IoStackLocation, major_function)),
        ("IO_STACK_LOCATION.MinorFunction", offset_of!(IoStackLocation, minor_function)),
        ("IO_STACK_LOCATION.Flags", offset_of!(IoStackLocation, flags)),
        ("IO_STACK_LOCATION.Control", offset_of!(IoStackLocation, control)),
        ("IO_STACK_LOCATION.Parameters", p),
        ("IO_STACK_LOCATION.Parameters#size", size_of::<Parameters>()),
        ("IO_STACK_LOCATION.Parameters.Create.SecurityContext", p),
        ("IO_STACK_LOCATION.Parameters.Create.Options", p + 8),
        ("IO_STACK_LOCATION.Parameters.Create.FileAttributes", p + 16),
        ("IO_STACK_LOCATION.Parameters.Create.ShareAccess", p + 18),
        ("IO_STACK_LOCATION.Parameters.Create.EaLength", p + 24),
        ("IO_STACK_LOCATION.Parameters.Read.Length", offset_of!(IoStackLocation, parameters.read.length)),
        ("IO_STACK_LOCATION.Parameters.Read.Key", offset_of!(IoStackLocation, parameters.read.key)),
        ("IO_STACK_LOCATION.Parameters.Read.Flags", offset_of!(IoStackLocation, parameters.read.flags)),
        ("IO_STACK_LOCATION.Parameters.Read.ByteOffset", offset_of!(IoStackLocation, parameters.read.byte_offset)),
        ("IO_STACK_LOCATION.Parameters.Write.Length", offset_of!(IoStackLocation, parameters.write.length)),
        ("IO_STACK_LOCATION.Parameters.Write.Key", offset_of!(IoStackLocation, parameters.write.key)),
        ("IO_STACK_LOCATION.Parameters.Write.Flags", offset_of!(IoStackLocation, parameters.write.flags)),
        ("IO_STACK_LOCATION.Parameters.Write.ByteOffset", offset_of!(IoStackLocation, parameters.write.byte_offset)),
        ("IO_STACK_LOCATION.Parameters.QueryDirectory.Length", p),
        ("IO_STACK_LOCATION.Parameters.QueryDirectory.FileName", p + 8),
        ("IO_STACK_LOCATION.Parameters.QueryDirectory.FileInformationClass", p + 16),
        ("IO_STACK_LOCATION.Parameters.QueryDirectory.FileIndex", p + 24),
        ("IO_STACK_LOCATION.Parameters.QueryFile.Length", p),
        ("IO_STACK_LOCATION.Parameters.QueryFile.FileInformationClass", p + 8),
        ("IO_STACK_LOCATION.Parameters.SetFile.Length", p),
        ("IO_STACK_LOCATION.Parameters.SetFile.FileInformationClass", p + 8),
        ("IO_STACK_LOCATION.Parameters.SetFile.FileObject", p + 16),
        ("IO_STACK_LOCATION.Parameters.SetFile.ReplaceIfExists", p + 24),
        ("IO_STACK_LOCATION.Parameters.SetFile.AdvanceOnly", p + 25),
        ("IO_STACK_LOCATION.Parameters.SetFile.ClusterCount", p + 24),
        ("IO_STACK_LOCATION.Parameters.SetFile.DeleteHandle", p + 24),
        ("IO_STACK_LOCATION.Parameters.QueryEa.Length", p),
        ("IO_STACK_LOCATION.Parameters.QueryEa.EaList", p + 8),
        ("IO_STACK_LOCATION.Parameters.QueryEa.EaListLength", p + 16),
        ("IO_STACK_LOCATION.Parameters.QueryEa.EaIndex", p + 24),
        ("IO_STACK_LOCATION.Parameters.SetEa.Length", p),
        ("IO_STACK_LOCATION.Parameters.QueryVolume.Length", p),
        ("IO_STACK_LOCATION.Parameters.QueryVolume.FsInformationClass", p + 8),
        ("IO_STACK_LOCATION.Parameters.SetVolume.Length", p),
        ("IO_STACK_LOCATION.Parameters.SetVolume.FsInformationClass", p + 8),
        // FileSystemControl has the layout of DeviceIoControl.
        (
            "IO_STACK_LOCATION.Parameters.FileSystemControl.OutputBufferLength",
            offset_of!(IoStackLocation, parameters.device_io_control.output_buffer_length),
        ),
        (
            "IO_STACK_LOCATION.Parameters.FileSystemControl.InputBufferLength",
            offset_of!(IoStackLocation, parameters.device_io_control.input_buffer_length),
        ),
        (
            "IO_STACK_LOCATION.Parameters.FileSystemControl.FsControlCode",
            offset_of!(IoStackLocation, parameters.device_io_control.io_control_code),
        ),
        (
            "IO_STACK_LOCATION.Parameters.FileSystemControl.Type3InputBuffer",
            offset_of!(IoStackLocation, parameters.device_io_control.type3_input_buffer),
        ),
        ("IO_STACK_LOCATION.Parameters.LockControl.Length", p),
        ("IO_STACK_LOCATION.Parameters.LockControl.Key", p + 8),
        ("IO_STACK_LOCATION.Parameters.LockControl.ByteOffset", p + 16),
        (
            "IO_STACK_LOCATION.Parameters.DeviceIoControl.OutputBufferLength",
            offset_of!(IoStackLocation, parameters.device_io_control.output_buffer_length),
        ),
        (
            "IO_STACK_LOCATION.Parameters.DeviceIoControl.InputBufferLength",
            offset_of!(IoStackLocation, parameters.device_io_control.input_buffer_length),
        ),
        (
            "IO_STACK_LOCATION.Parameters.DeviceIoControl.IoControlCode",
            offset_of!(IoStackLocation, parameters.device_io_control.io_control_code),
        ),
        (
            "IO_STACK_LOCATION.Parameters.DeviceIoControl.Type3InputBuffer",
            offset_of!(IoStackLocation, parameters.device_io_control.type3_input_buffer),
        ),
        ("IO_STACK_LOCATION.Parameters.QuerySecurity.SecurityInformation", p),
        ("IO_STACK_LOCATION.Parameters.QuerySecurity.Length", p + 8),
        ("IO_STACK_LOCATION.Parameters.SetSecurity.SecurityInformation", p),
        ("IO_STACK_LOCATION.Parameters.SetSecurity.SecurityDescriptor", p + 8),
        ("IO_STACK_LOCATION.Parameters.MountVolume.Vpb", arg),
        ("IO_STACK_LOCATION.Parameters.MountVolume.DeviceObject", arg + ptr),
        ("IO_STACK_LOCATION.Parameters.VerifyVolume.Vpb", arg),
        ("IO_STACK_LOCATION.Parameters.VerifyVolume.DeviceObject", arg + ptr),
        ("IO_STACK_LOCATION.Parameters.Scsi.Srb", arg),
        ("IO_STACK_LOCATION.Parameters.StartDevice.AllocatedResources", arg),
        ("IO_STACK_LOCATION.Parameters.StartDevice.AllocatedResourcesTranslated", arg + ptr),
        ("IO_STACK_LOCATION.Parameters.WMI.ProviderId", arg),
        ("IO_STACK_LOCATION.Parameters.WMI.DataPath", arg + ptr),
        ("IO_STACK_LOCATION.Parameters.WMI.BufferSize", arg + 2 * ptr),
        ("IO_STACK_LOCATION.Parameters.WMI.Buffer", arg + 3 * ptr),
        ("IO_STACK_LOCATION.Parameters.Others.Argument1", arg),
        ("IO_STACK_LOCATION.Parameters.Others.Argument2", arg + ptr),
        ("IO_STACK_LOCATION.Parameters.Others.Argument3", arg + 2 * ptr),
        ("IO_STACK_LOCATION.Parameters.Others.Argument4", arg + 3 * ptr),
        ("IO_STACK_LOCATION.DeviceObject", offset_of!(IoStackLocation, device_object)),
        ("IO_STACK_LOCATION.FileObject", offset_of!(IoStackLocation, file_object)),
        ("IO_STACK_LOCATION.CompletionRoutine", offset_of!(IoStackLocation, completion_routine)),
        ("IO_STACK_LOCATION.Context", offset_of!(IoStackLocation, context)),
        // --- IRPs ---
        ("IRP", size_of::<Irp>()),
        ("IRP.Type", offset_of!(Irp, type_)),
        ("IRP.Size", offset_of!(Irp, size)),
        ("IRP.MdlAddress", offset_of!(Irp, mdl_address)),
        ("IRP.Flags", offset_of!(Irp, flags)),
        ("IRP.AssociatedIrp", offset_of!(Irp, associated_irp)),
        ("IRP.AssociatedIrp.MasterIrp", offset_of!(Irp, associated_irp)),
        ("IRP.AssociatedIrp.IrpCount", offset_of!(Irp, associated_irp)),
        ("IRP.AssociatedIrp.SystemBuffer", offset_of!(Irp, associated_irp)),
        ("IRP.ThreadListEntry", offset_of!(Irp, thread_list_entry)),
        ("IRP.IoStatus", offset_of!(Irp, io_status)),
        ("IRP.IoStatus.Status", offset_of!(Irp, io_status.status)),
        ("IRP.IoStatus.Information", offset_of!(Irp, io_status.information)),
        ("IRP.RequestorMode", offset_of!(Irp, requestor_mode)),
        ("IRP.PendingReturned", offset_of!(Irp, pending_returned)),
        ("IRP.StackCount", offset_of!(Irp, stack_count)),
        ("IRP.CurrentLocation", offset_of!(Irp, current_location)),
        ("IRP.Cancel", offset_of!(Irp, cancel)),
        ("IRP.CancelIrql", offset_of!(Irp, cancel_irql)),
        ("IRP.ApcEnvironment", offset_of!(Irp, apc_environment)),
        ("IRP.AllocationFlags", offset_of!(Irp, allocation_flags)),
        ("IRP.UserIosb", offset_of!(Irp, user_iosb)),
        ("IRP.IoRingContext", offset_of!(Irp, user_iosb)),
        ("IRP.UserEvent", offset_of!(Irp, user_event)),
        ("IRP.Overlay", offset_of!(Irp, overlay)),
        ("IRP.Overlay.AsynchronousParameters.UserApcRoutine", offset_of!(Irp, overlay.user_apc_routine)),
        ("IRP.Overlay.AsynchronousParameters.IssuingProcess", offset_of!(Irp, overlay.user_apc_routine)),
        ("IRP.Overlay.AsynchronousParameters.UserApcContext", offset_of!(Irp, overlay.user_apc_context)),
        ("IRP.Overlay.AsynchronousParameters.IoRing", offset_of!(Irp, overlay.user_apc_context)),
        ("IRP.Overlay.AllocationSize", offset_of!(Irp, overlay)),
        ("IRP.CancelRoutine", offset_of!(Irp, cancel_routine)),
        ("IRP.UserBuffer", offset_of!(Irp, user_buffer)),
        ("IRP.Tail", offset_of!(Irp, tail)),
        ("IRP.Tail#size", size_of::<IrpTail>()),
        ("IRP.Tail.Overlay.DeviceQueueEntry", offset_of!(Irp, tail.overlay.entry.device_queue_entry)),
        ("IRP.Tail.Overlay.DriverContext", offset_of!(Irp, tail.overlay.entry.driver_context)),
        ("IRP.Tail.Overlay.DriverContext[3]", offset_of!(Irp, tail.overlay.entry.driver_context) + 3 * ptr),
        ("IRP.Tail.Overlay.Thread", offset_of!(Irp, tail.overlay.thread)),
        ("IRP.Tail.Overlay.AuxiliaryBuffer", offset_of!(Irp, tail.overlay.auxiliary_buffer)),
        ("IRP.Tail.Overlay.ListEntry", offset_of!(Irp, tail.overlay.list_entry)),
        ("IRP.Tail.Overlay.CurrentStackLocation", offset_of!(Irp, tail.overlay.current_stack_location)),
        ("IRP.Tail.Overlay.PacketType", offset_of!(Irp, tail.overlay.current_stack_location)),
        ("IRP.Tail.Overlay.OriginalFileObject", offset_of!(Irp, tail.overlay.original_file_object)),
        ("IRP.Tail.Apc", offset_of!(Irp, tail.apc)),
        ("IRP.Tail.CompletionKey", offset_of!(Irp, tail.completion_key)),
        ("IoSizeOfIrp(1)", io_size_of_irp(1)),
        ("IO_CSQ", size_of::<IoCsq>()),
        ("IO_CSQ.Type", offset_of!(IoCsq, type_)),
        ("IO_CSQ.CsqInsertIrp", offset_of!(IoCsq, csq_insert_irp)),
        ("IO_CSQ.CsqRemoveIrp", offset_of!(IoCsq, csq_remove_irp)),
        ("IO_CSQ.CsqPeekNextIrp", offset_of!(IoCsq, csq_peek_next_irp)),
        ("IO_CSQ.CsqAcquireLock", offset_of!(IoCsq, csq_acquire_lock)),
        ("IO_CSQ.CsqReleaseLock", offset_of!(IoCsq, csq_release_lock)),
        ("IO_CSQ.CsqCompleteCanceledIrp", offset_of!(IoCsq, csq_complete_canceled_irp)),
        ("IO_CSQ.ReservePointer", offset_of!(IoCsq, reserve_pointer)),
        ("IO_CSQ_IRP_CONTEXT", size_of::<IoCsqIrpContext>()),
        ("IO_CSQ_IRP_CONTEXT.Type", offset_of!(IoCsqIrpContext, type_)),
        ("IO_CSQ_IRP_CONTEXT.Irp", offset_of!(IoCsqIrpContext, irp)),
        ("IO_CSQ_IRP_CONTEXT.Csq", offset_of!(IoCsqIrpContext, csq)),
        // --- constants ---
        ("const.IO_TYPE_DEVICE", IO_TYPE_DEVICE as usize),
        ("const.IO_TYPE_DRIVER", IO_TYPE_DRIVER as usize),
        ("const.IO_TYPE_FILE", IO_TYPE_FILE as usize),
        ("const.IO_TYPE_IRP", IO_TYPE_IRP as usize),
        ("const.IO_TYPE_DEVICE_QUEUE", IO_TYPE_DEVICE_QUEUE as usize),
        ("const.IO_TYPE_CSQ_IRP_CONTEXT", IO_TYPE_CSQ_IRP_CONTEXT as usize),
        ("const.IO_TYPE_CSQ", IO_TYPE_CSQ as usize),
        ("const.IO_TYPE_CSQ_EX", IO_TYPE_CSQ_EX as usize),
        ("const.IRP_MJ_MAXIMUM_FUNCTION + 1", IRP_MJ_COUNT),
        ("const.IRP_MJ_CREATE", IRP_MJ_CREATE as usize),
        ("const.IRP_MJ_CLOSE", IRP_MJ_CLOSE as usize),
        ("const.IRP_MJ_READ", IRP_MJ_READ as usize),
        ("const.IRP_MJ_WRITE", IRP_MJ_WRITE as usize),
        ("const.IRP_MJ_DEVICE_CONTROL", IRP_MJ_DEVICE_CONTROL as usize),
        ("const.IRP_MJ_INTERNAL_DEVICE_CONTROL", IRP_MJ_INTERNAL_DEVICE_CONTROL as usize),
        ("const.IRP_MJ_CLEANUP", IRP_MJ_CLEANUP as usize),
        ("const.SL_PENDING_RETURNED", SL_PENDING_RETURNED as usize),
        ("const.SL_ERROR_RETURNED", SL_ERROR_RETURNED as usize),
        ("const.SL_INVOKE_ON_CANCEL", SL_INVOKE_ON_CANCEL as usize),
        ("const.SL_INVOKE_ON_SUCCESS", SL_INVOKE_ON_SUCCESS as usize),
        ("const.SL_INVOKE_ON_ERROR", SL_INVOKE_ON_ERROR as usize),
        ("const.DO_BUFFERED_IO", DO_BUFFERED_IO as usize),
        ("const.DO_EXCLUSIVE", DO_EXCLUSIVE as usize),
        ("const.DO_DIRECT_IO", DO_DIRECT_IO as usize),
        ("const.DO_DEVICE_INITIALIZING", DO_DEVICE_INITIALIZING as usize),
        ("const.DO_POWER_PAGABLE", DO_POWER_PAGABLE as usize),
        ("const.FO_SYNCHRONOUS_IO", FO_SYNCHRONOUS_IO as usize),
        ("const.PASSIVE_LEVEL", PASSIVE_LEVEL as usize),
        ("const.APC_LEVEL", APC_LEVEL as usize),
        ("const.DISPATCH_LEVEL", DISPATCH_LEVEL as usize),
        ("const.NonPagedPool", NON_PAGED_POOL as usize),
        ("const.PagedPool", PAGED_POOL as usize),
        ("const.POOL_QUOTA_FAIL_INSTEAD_OF_RAISE", POOL_QUOTA_FAIL_INSTEAD_OF_RAISE as usize),
        status("STATUS_SUCCESS", STATUS_SUCCESS),
        status("STATUS_USER_APC", STATUS_USER_APC),
        status("STATUS_TIMEOUT", STATUS_TIMEOUT),
        status("STATUS_PENDING", STATUS_PENDING),
        status("STATUS_BUFFER_OVERFLOW", STATUS_BUFFER_OVERFLOW),
        status("STATUS_UNSUCCESSFUL", STATUS_UNSUCCESSFUL),
        status("STATUS_NOT_IMPLEMENTED", STATUS_NOT_IMPLEMENTED),
        status("STATUS_ACCESS_VIOLATION", STATUS_ACCESS_VIOLATION),
        status("STATUS_INVALID_HANDLE", STATUS_INVALID_HANDLE),
        status("STATUS_INVALID_PARAMETER", STATUS_INVALID_PARAMETER),
        status("STATUS_NO_SUCH_DEVICE", STATUS_NO_SUCH_DEVICE),
        status("STATUS_INVALID_DEVICE_REQUEST", STATUS_INVALID_DEVICE_REQUEST),
        status("STATUS_MORE_PROCESSING_REQUIRED", STATUS_MORE_PROCESSING_REQUIRED),
        status("STATUS_ACCESS_DENIED", STATUS_ACCESS_DENIED),
        status("STATUS_DELETE_PENDING", STATUS_DELETE_PENDING),
        status("STATUS_INSUFFICIENT_RESOURCES", STATUS_INSUFFICIENT_RESOURCES),
        status("STATUS_CANCELLED", STATUS_CANCELLED),
        status("STATUS_DEVICE_NOT_READY", STATUS_DEVICE_NOT_READY),
        status("STATUS_NOT_FOUND", STATUS_NOT_FOUND),
        status("STATUS_ALERTED", STATUS_ALERTED),
        status("STATUS_OBJECT_TYPE_MISMATCH", STATUS_OBJECT_TYPE_MISMATCH),
        status("STATUS_OBJECT_NAME_NOT_FOUND", STATUS_OBJECT_NAME_NOT_FOUND),
        status("STATUS_OBJECT_NAME_COLLISION", STATUS_OBJECT_NAME_COLLISION),
        status("STATUS_BUFFER_TOO_SMALL", STATUS_BUFFER_TOO_SMALL),
        status("STATUS_NOT_SUPPORTED", STATUS_NOT_SUPPORTED),
        status("STATUS_INVALID_DEVICE_STATE", STATUS_INVALID_DEVICE_STATE),
        status("STATUS_DEVICE_BUSY", STATUS_DEVICE_BUSY),
    ]
}

/// A `const.STATUS_*` line: the C side prints the code as a 32-bit unsigned value.
fn status(name: &'static str, value: NtStatus) -> (&'static str, usize) {
    // Leak once per name: the table is built once per test.
    (Box::leak(format!("const.{name}").into_boxed_str()), value as u32 as usize)
}

fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c").join(name)
}

/// The compiler of the default tests: `CC`, else `cc` (what the loader uses by default).
fn default_compiler() -> String {
    std::env::var("CC").ok().filter(|c| !c.trim().is_empty()).unwrap_or_else(|| "cc".to_string())
}

/// A compiler command with the loader's flags, irpkit's headers (this source tree's; the
/// embedded copy is checked against them below) and `-Werror`.
fn compile(compiler: &str) -> Command {
    let mut cmd = Command::new(compiler);
    cmd.args(DRIVER_CFLAGS).arg("-Werror").arg("-I").arg(SOURCE_INCLUDE_DIR);
    cmd
}

/// Every header under `dir`, as paths relative to it.
fn headers(dir: &Path, sub: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir.join(sub)).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())) {
        let entry = entry.expect("a directory entry");
        let rel = sub.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            headers(dir, &rel, out);
        } else if rel.extension().is_some_and(|e| e == "h") {
            out.push(rel);
        }
    }
}

fn run(mut cmd: Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed ({}):\n{stderr}", out.status);
    assert!(stderr.trim().is_empty(), "{what} printed diagnostics:\n{stderr}");
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// A fresh output path in Cargo's temporary directory (tests run in parallel, possibly
/// with the same compiler).
fn output(stem: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("irpkit-wdm-{stem}-{}-{n}", std::process::id()))
}

fn check_layout(compiler: &str) {
    let exe = output("layout");
    let mut cmd = compile(compiler);
    cmd.arg(source("layout.c")).arg("-o").arg(&exe);
    run(cmd, &format!("compiling layout.c with {compiler}"));
    let output = run(Command::new(&exe), "layout.c");
    let _ = std::fs::remove_file(&exe);

    let mut printed = BTreeMap::new();
    for line in output.lines() {
        let (key, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("malformed line {line:?}"));
        let value: usize = value.parse().unwrap_or_else(|_| panic!("malformed value in {line:?}"));
        assert!(printed.insert(key.to_string(), value).is_none(), "{key} printed twice");
    }
    let mut table = BTreeMap::new();
    for (key, value) in expected() {
        assert!(table.insert(key.to_string(), value).is_none(), "{key} twice in the table");
    }
    let mut problems = Vec::new();
    for (key, value) in &printed {
        match table.get(key) {
            None => problems.push(format!("{key}: printed by layout.c ({value}) but not in the Rust table")),
            Some(want) if want != value => problems.push(format!("{key}: C {value}, Rust {want}")),
            Some(_) => {}
        }
    }
    for key in table.keys().filter(|k| !printed.contains_key(*k)) {
        problems.push(format!("{key}: in the Rust table but not printed by layout.c"));
    }
    assert!(problems.is_empty(), "C and Rust layouts differ ({compiler}):\n{}", problems.join("\n"));
    assert!(printed.len() > 300, "layout.c printed only {} lines", printed.len());
}

fn check_header_smoke(compiler: &str) {
    let obj = output("header-smoke").with_extension("o");
    // The checked build (irpkit's default, DBG=1) and the free build, where the ASSERTs
    // and KdPrints compile away but must leave no local "set but not used" (SmokeCleanup's
    // status is read only by an ASSERT).
    for dbg in ["-DDBG=1", "-DDBG=0"] {
        let mut cmd = compile(compiler);
        cmd.arg(dbg).arg("-c").arg(source("header_smoke.c")).arg("-o").arg(&obj);
        run(cmd, &format!("compiling header_smoke.c with {compiler} {dbg}"));
    }
    let _ = std::fs::remove_file(&obj);
}

#[test]
fn the_loader_gives_drivers_the_source_headers() {
    let source = Path::new(SOURCE_INCLUDE_DIR);
    let embedded = include_dir().expect("irpkit's headers written out");
    let mut files = Vec::new();
    headers(source, Path::new(""), &mut files);
    assert!(files.iter().any(|f| f.ends_with("irpkit/wdmobjects.h")), "no irpkit/ headers in {}", source.display());
    let mut problems = Vec::new();
    for rel in &files {
        let want = std::fs::read(source.join(rel)).expect("a source header");
        match std::fs::read(embedded.join(rel)) {
            Ok(got) if got == want => {}
            Ok(_) => problems.push(format!("{}: differs from the source tree", rel.display())),
            Err(e) => problems.push(format!("{}: not in {} ({e})", rel.display(), embedded.display())),
        }
    }
    assert!(problems.is_empty(), "the embedded headers are not the source headers:\n{}", problems.join("\n"));
}

#[test]
fn c_layouts_match_rust() {
    check_layout(&default_compiler());
}

#[test]
fn c_layouts_match_rust_clang() {
    if clang::clang_available() {
        check_layout("clang");
    }
}

#[test]
fn header_smoke_compiles_without_warnings() {
    check_header_smoke(&default_compiler());
}

#[test]
fn header_smoke_compiles_without_warnings_clang() {
    if clang::clang_available() {
        check_header_smoke("clang");
    }
}
