/*
 * layout.c - prints the size of every kernel object irpkit's WDM headers declare, the
 * offset of every field, and the values of the constants the Rust side also defines, one
 * per line: `IRP.Tail.Overlay.ListEntry 168`, `IRP 208`, `const.IO_TYPE_IRP 6`.
 *
 * crates/irpkit-wdm/tests/layout.rs compiles and runs it, and checks every line against
 * the Rust layouts (irpkit::nt), so that C drivers and Rust share memory byte for byte.
 */
#include <stdio.h>
#include <stddef.h>

#include <ntddk.h>
#include <wdmsec.h>

static void row(const char *key, size_t value)
{
    printf("%s %zu\n", key, value);
}

#define SIZE(T) row(#T, sizeof(T))
#define ALIGN(T) row(#T "#align", _Alignof(T))
#define OFF(T, F) row(#T "." #F, offsetof(T, F))
#define FIELD_SIZE(T, F) row(#T "." #F "#size", sizeof(((T *)0)->F))
#define VALUE(N) row("const." #N, (size_t)(ULONG)(N))

static void basic_types(void)
{
    SIZE(LIST_ENTRY);
    OFF(LIST_ENTRY, Flink);
    OFF(LIST_ENTRY, Blink);

    SIZE(LARGE_INTEGER);
    OFF(LARGE_INTEGER, LowPart);
    OFF(LARGE_INTEGER, HighPart);
    OFF(LARGE_INTEGER, u.LowPart);
    OFF(LARGE_INTEGER, u.HighPart);
    OFF(LARGE_INTEGER, QuadPart);

    SIZE(UNICODE_STRING);
    OFF(UNICODE_STRING, Length);
    OFF(UNICODE_STRING, MaximumLength);
    OFF(UNICODE_STRING, Buffer);

    SIZE(IO_STATUS_BLOCK);
    OFF(IO_STATUS_BLOCK, Status);
    OFF(IO_STATUS_BLOCK, Pointer);
    OFF(IO_STATUS_BLOCK, Information);

    SIZE(KSPIN_LOCK);

    SIZE(OBJECT_HANDLE_INFORMATION);
    OFF(OBJECT_HANDLE_INFORMATION, HandleAttributes);
    OFF(OBJECT_HANDLE_INFORMATION, GrantedAccess);
}

static void dispatcher_objects(void)
{
    SIZE(DISPATCHER_HEADER);
    OFF(DISPATCHER_HEADER, Type);
    OFF(DISPATCHER_HEADER, Signalling);
    OFF(DISPATCHER_HEADER, Size);
    OFF(DISPATCHER_HEADER, Reserved1);
    OFF(DISPATCHER_HEADER, SignalState);
    OFF(DISPATCHER_HEADER, WaitListHead);

    SIZE(KEVENT);
    OFF(KEVENT, Header);

    SIZE(KSEMAPHORE);
    OFF(KSEMAPHORE, Header);
    OFF(KSEMAPHORE, Limit);

    SIZE(KWAIT_BLOCK);

    SIZE(KSPIN_LOCK_QUEUE);
    OFF(KSPIN_LOCK_QUEUE, Next);
    OFF(KSPIN_LOCK_QUEUE, Lock);

    SIZE(KLOCK_QUEUE_HANDLE);
    OFF(KLOCK_QUEUE_HANDLE, LockQueue);
    OFF(KLOCK_QUEUE_HANDLE, LockQueue.Next);
    OFF(KLOCK_QUEUE_HANDLE, LockQueue.Lock);
    OFF(KLOCK_QUEUE_HANDLE, OldIrql);

    SIZE(KDPC);
    OFF(KDPC, TargetInfoAsUlong);
    OFF(KDPC, Type);
    OFF(KDPC, Importance);
    OFF(KDPC, Number);
    OFF(KDPC, DpcListEntry);
    OFF(KDPC, ProcessorHistory);
    OFF(KDPC, DeferredRoutine);
    OFF(KDPC, DeferredContext);
    OFF(KDPC, SystemArgument1);
    OFF(KDPC, SystemArgument2);
    OFF(KDPC, DpcData);

    SIZE(KTIMER);
    OFF(KTIMER, Header);
    OFF(KTIMER, DueTime);
    OFF(KTIMER, TimerListEntry);
    OFF(KTIMER, Dpc);
    OFF(KTIMER, Processor);
    OFF(KTIMER, Period);

    SIZE(KDEVICE_QUEUE_ENTRY);
    OFF(KDEVICE_QUEUE_ENTRY, DeviceListEntry);
    OFF(KDEVICE_QUEUE_ENTRY, SortKey);
    OFF(KDEVICE_QUEUE_ENTRY, Inserted);

    SIZE(KDEVICE_QUEUE);
    OFF(KDEVICE_QUEUE, Type);
    OFF(KDEVICE_QUEUE, Size);
    OFF(KDEVICE_QUEUE, DeviceListHead);
    OFF(KDEVICE_QUEUE, Lock);
    OFF(KDEVICE_QUEUE, Busy);

    SIZE(IO_REMOVE_LOCK_COMMON_BLOCK);
    OFF(IO_REMOVE_LOCK_COMMON_BLOCK, Removed);
    OFF(IO_REMOVE_LOCK_COMMON_BLOCK, Reserved);
    OFF(IO_REMOVE_LOCK_COMMON_BLOCK, IoCount);
    OFF(IO_REMOVE_LOCK_COMMON_BLOCK, RemoveEvent);

    SIZE(IO_REMOVE_LOCK);
    OFF(IO_REMOVE_LOCK, Common);
    OFF(IO_REMOVE_LOCK, Common.Removed);
    OFF(IO_REMOVE_LOCK, Common.Reserved);
    OFF(IO_REMOVE_LOCK, Common.IoCount);
    OFF(IO_REMOVE_LOCK, Common.RemoveEvent);

    SIZE(KAPC);

    SIZE(WAIT_CONTEXT_BLOCK);
    OFF(WAIT_CONTEXT_BLOCK, WaitQueueEntry);
    OFF(WAIT_CONTEXT_BLOCK, DmaWaitEntry);
    OFF(WAIT_CONTEXT_BLOCK, NumberOfChannels);
    OFF(WAIT_CONTEXT_BLOCK, DeviceRoutine);
    OFF(WAIT_CONTEXT_BLOCK, DeviceContext);
    OFF(WAIT_CONTEXT_BLOCK, NumberOfMapRegisters);
    OFF(WAIT_CONTEXT_BLOCK, DeviceObject);
    OFF(WAIT_CONTEXT_BLOCK, CurrentIrp);
    OFF(WAIT_CONTEXT_BLOCK, BufferChainingDpc);

    SIZE(MDL);
    OFF(MDL, Next);
    OFF(MDL, Size);
    OFF(MDL, MdlFlags);
    OFF(MDL, Process);
    OFF(MDL, MappedSystemVa);
    OFF(MDL, StartVa);
    OFF(MDL, ByteCount);
    OFF(MDL, ByteOffset);
}

static void devices_and_drivers(void)
{
    SIZE(DEVICE_OBJECT);
    ALIGN(DEVICE_OBJECT);
    OFF(DEVICE_OBJECT, Type);
    OFF(DEVICE_OBJECT, Size);
    OFF(DEVICE_OBJECT, ReferenceCount);
    OFF(DEVICE_OBJECT, DriverObject);
    OFF(DEVICE_OBJECT, NextDevice);
    OFF(DEVICE_OBJECT, AttachedDevice);
    OFF(DEVICE_OBJECT, CurrentIrp);
    OFF(DEVICE_OBJECT, Timer);
    OFF(DEVICE_OBJECT, Flags);
    OFF(DEVICE_OBJECT, Characteristics);
    OFF(DEVICE_OBJECT, Vpb);
    OFF(DEVICE_OBJECT, DeviceExtension);
    OFF(DEVICE_OBJECT, DeviceType);
    OFF(DEVICE_OBJECT, StackSize);
    OFF(DEVICE_OBJECT, Queue);
    OFF(DEVICE_OBJECT, Queue.ListEntry);
    OFF(DEVICE_OBJECT, Queue.Wcb);
    OFF(DEVICE_OBJECT, AlignmentRequirement);
    OFF(DEVICE_OBJECT, DeviceQueue);
    OFF(DEVICE_OBJECT, Dpc);
    OFF(DEVICE_OBJECT, ActiveThreadCount);
    OFF(DEVICE_OBJECT, SecurityDescriptor);
    OFF(DEVICE_OBJECT, DeviceLock);
    OFF(DEVICE_OBJECT, SectorSize);
    OFF(DEVICE_OBJECT, Spare1);
    OFF(DEVICE_OBJECT, DeviceObjectExtension);
    OFF(DEVICE_OBJECT, Reserved);

    SIZE(DRIVER_EXTENSION);
    OFF(DRIVER_EXTENSION, DriverObject);
    OFF(DRIVER_EXTENSION, AddDevice);
    OFF(DRIVER_EXTENSION, Count);
    OFF(DRIVER_EXTENSION, ServiceKeyName);

    SIZE(DRIVER_OBJECT);
    OFF(DRIVER_OBJECT, Type);
    OFF(DRIVER_OBJECT, Size);
    OFF(DRIVER_OBJECT, DeviceObject);
    OFF(DRIVER_OBJECT, Flags);
    OFF(DRIVER_OBJECT, DriverStart);
    OFF(DRIVER_OBJECT, DriverSize);
    OFF(DRIVER_OBJECT, DriverSection);
    OFF(DRIVER_OBJECT, DriverExtension);
    OFF(DRIVER_OBJECT, DriverName);
    OFF(DRIVER_OBJECT, HardwareDatabase);
    OFF(DRIVER_OBJECT, FastIoDispatch);
    OFF(DRIVER_OBJECT, DriverInit);
    OFF(DRIVER_OBJECT, DriverStartIo);
    OFF(DRIVER_OBJECT, DriverUnload);
    OFF(DRIVER_OBJECT, MajorFunction);
    FIELD_SIZE(DRIVER_OBJECT, MajorFunction);

    SIZE(FILE_OBJECT);
    OFF(FILE_OBJECT, Type);
    OFF(FILE_OBJECT, Size);
    OFF(FILE_OBJECT, DeviceObject);
    OFF(FILE_OBJECT, Vpb);
    OFF(FILE_OBJECT, FsContext);
    OFF(FILE_OBJECT, FsContext2);
    OFF(FILE_OBJECT, SectionObjectPointer);
    OFF(FILE_OBJECT, PrivateCacheMap);
    OFF(FILE_OBJECT, FinalStatus);
    OFF(FILE_OBJECT, RelatedFileObject);
    OFF(FILE_OBJECT, LockOperation);
    OFF(FILE_OBJECT, DeletePending);
    OFF(FILE_OBJECT, ReadAccess);
    OFF(FILE_OBJECT, WriteAccess);
    OFF(FILE_OBJECT, DeleteAccess);
    OFF(FILE_OBJECT, SharedRead);
    OFF(FILE_OBJECT, SharedWrite);
    OFF(FILE_OBJECT, SharedDelete);
    OFF(FILE_OBJECT, Flags);
    OFF(FILE_OBJECT, FileName);
    OFF(FILE_OBJECT, CurrentByteOffset);
    OFF(FILE_OBJECT, Waiters);
    OFF(FILE_OBJECT, Busy);
    OFF(FILE_OBJECT, LastLock);
    OFF(FILE_OBJECT, Lock);
    OFF(FILE_OBJECT, Event);
    OFF(FILE_OBJECT, CompletionContext);
    OFF(FILE_OBJECT, IrpListLock);
    OFF(FILE_OBJECT, IrpList);
    OFF(FILE_OBJECT, FileObjectExtension);
}

static void stack_locations(void)
{
    SIZE(IO_STACK_LOCATION);
    OFF(IO_STACK_LOCATION, MajorFunction);
    OFF(IO_STACK_LOCATION, MinorFunction);
    OFF(IO_STACK_LOCATION, Flags);
    OFF(IO_STACK_LOCATION, Control);
    OFF(IO_STACK_LOCATION, Parameters);
    FIELD_SIZE(IO_STACK_LOCATION, Parameters);
    OFF(IO_STACK_LOCATION, Parameters.Create.SecurityContext);
    OFF(IO_STACK_LOCATION, Parameters.Create.Options);
    OFF(IO_STACK_LOCATION, Parameters.Create.FileAttributes);
    OFF(IO_STACK_LOCATION, Parameters.Create.ShareAccess);
    OFF(IO_STACK_LOCATION, Parameters.Create.EaLength);
    OFF(IO_STACK_LOCATION, Parameters.Read.Length);
    OFF(IO_STACK_LOCATION, Parameters.Read.Key);
    OFF(IO_STACK_LOCATION, Parameters.Read.Flags);
    OFF(IO_STACK_LOCATION, Parameters.Read.ByteOffset);
    OFF(IO_STACK_LOCATION, Parameters.Write.Length);
    OFF(IO_STACK_LOCATION, Parameters.Write.Key);
    OFF(IO_STACK_LOCATION, Parameters.Write.Flags);
    OFF(IO_STACK_LOCATION, Parameters.Write.ByteOffset);
    OFF(IO_STACK_LOCATION, Parameters.QueryDirectory.Length);
    OFF(IO_STACK_LOCATION, Parameters.QueryDirectory.FileName);
    OFF(IO_STACK_LOCATION, Parameters.QueryDirectory.FileInformationClass);
    OFF(IO_STACK_LOCATION, Parameters.QueryDirectory.FileIndex);
    OFF(IO_STACK_LOCATION, Parameters.QueryFile.Length);
    OFF(IO_STACK_LOCATION, Parameters.QueryFile.FileInformationClass);
    OFF(IO_STACK_LOCATION, Parameters.SetFile.Length);
    OFF(IO_STACK_LOCATION, Parameters.SetFile.FileInformationClass);
    OFF(IO_STACK_LOCATION, Parameters.SetFile.FileObject);
    OFF(IO_STACK_LOCATION, Parameters.SetFile.ReplaceIfExists);
    OFF(IO_STACK_LOCATION, Parameters.SetFile.AdvanceOnly);
    OFF(IO_STACK_LOCATION, Parameters.SetFile.ClusterCount);
    OFF(IO_STACK_LOCATION, Parameters.SetFile.DeleteHandle);
    OFF(IO_STACK_LOCATION, Parameters.QueryEa.Length);
    OFF(IO_STACK_LOCATION, Parameters.QueryEa.EaList);
    OFF(IO_STACK_LOCATION, Parameters.QueryEa.EaListLength);
    OFF(IO_STACK_LOCATION, Parameters.QueryEa.EaIndex);
    OFF(IO_STACK_LOCATION, Parameters.SetEa.Length);
    OFF(IO_STACK_LOCATION, Parameters.QueryVolume.Length);
    OFF(IO_STACK_LOCATION, Parameters.QueryVolume.FsInformationClass);
    OFF(IO_STACK_LOCATION, Parameters.SetVolume.Length);
    OFF(IO_STACK_LOCATION, Parameters.SetVolume.FsInformationClass);
    OFF(IO_STACK_LOCATION, Parameters.FileSystemControl.OutputBufferLength);
    OFF(IO_STACK_LOCATION, Parameters.FileSystemControl.InputBufferLength);
    OFF(IO_STACK_LOCATION, Parameters.FileSystemControl.FsControlCode);
    OFF(IO_STACK_LOCATION, Parameters.FileSystemControl.Type3InputBuffer);
    OFF(IO_STACK_LOCATION, Parameters.LockControl.Length);
    OFF(IO_STACK_LOCATION, Parameters.LockControl.Key);
    OFF(IO_STACK_LOCATION, Parameters.LockControl.ByteOffset);
    OFF(IO_STACK_LOCATION, Parameters.DeviceIoControl.OutputBufferLength);
    OFF(IO_STACK_LOCATION, Parameters.DeviceIoControl.InputBufferLength);
    OFF(IO_STACK_LOCATION, Parameters.DeviceIoControl.IoControlCode);
    OFF(IO_STACK_LOCATION, Parameters.DeviceIoControl.Type3InputBuffer);
    OFF(IO_STACK_LOCATION, Parameters.QuerySecurity.SecurityInformation);
    OFF(IO_STACK_LOCATION, Parameters.QuerySecurity.Length);
    OFF(IO_STACK_LOCATION, Parameters.SetSecurity.SecurityInformation);
    OFF(IO_STACK_LOCATION, Parameters.SetSecurity.SecurityDescriptor);
    OFF(IO_STACK_LOCATION, Parameters.MountVolume.Vpb);
    OFF(IO_STACK_LOCATION, Parameters.MountVolume.DeviceObject);
    OFF(IO_STACK_LOCATION, Parameters.VerifyVolume.Vpb);
    OFF(IO_STACK_LOCATION, Parameters.VerifyVolume.DeviceObject);
    OFF(IO_STACK_LOCATION, Parameters.Scsi.Srb);
    OFF(IO_STACK_LOCATION, Parameters.StartDevice.AllocatedResources);
    OFF(IO_STACK_LOCATION, Parameters.StartDevice.AllocatedResourcesTranslated);
    OFF(IO_STACK_LOCATION, Parameters.WMI.ProviderId);
    OFF(IO_STACK_LOCATION, Parameters.WMI.DataPath);
    OFF(IO_STACK_LOCATION, Parameters.WMI.BufferSize);
    OFF(IO_STACK_LOCATION, Parameters.WMI.Buffer);
    OFF(IO_STACK_LOCATION, Parameters.Others.Argument1);
    OFF(IO_STACK_LOCATION, Parameters.Others.Argument2);
    OFF(IO_STACK_LOCATION, Parameters.Others.Argument3);
    OFF(IO_STACK_LOCATION, Parameters.Others.Argument4);
    OFF(IO_STACK_LOCATION, DeviceObject);
    OFF(IO_STACK_LOCATION, FileObject);
    OFF(IO_STACK_LOCATION, CompletionRoutine);
    OFF(IO_STACK_LOCATION, Context);
}

static void irps(void)
{
    SIZE(IRP);
    OFF(IRP, Type);
    OFF(IRP, Size);
    OFF(IRP, MdlAddress);
    OFF(IRP, Flags);
    OFF(IRP, AssociatedIrp);
    OFF(IRP, AssociatedIrp.MasterIrp);
    OFF(IRP, AssociatedIrp.IrpCount);
    OFF(IRP, AssociatedIrp.SystemBuffer);
    OFF(IRP, ThreadListEntry);
    OFF(IRP, IoStatus);
    OFF(IRP, IoStatus.Status);
    OFF(IRP, IoStatus.Information);
    OFF(IRP, RequestorMode);
    OFF(IRP, PendingReturned);
    OFF(IRP, StackCount);
    OFF(IRP, CurrentLocation);
    OFF(IRP, Cancel);
    OFF(IRP, CancelIrql);
    OFF(IRP, ApcEnvironment);
    OFF(IRP, AllocationFlags);
    OFF(IRP, UserIosb);
    OFF(IRP, IoRingContext);
    OFF(IRP, UserEvent);
    OFF(IRP, Overlay);
    OFF(IRP, Overlay.AsynchronousParameters.UserApcRoutine);
    OFF(IRP, Overlay.AsynchronousParameters.IssuingProcess);
    OFF(IRP, Overlay.AsynchronousParameters.UserApcContext);
    OFF(IRP, Overlay.AsynchronousParameters.IoRing);
    OFF(IRP, Overlay.AllocationSize);
    OFF(IRP, CancelRoutine);
    OFF(IRP, UserBuffer);
    OFF(IRP, Tail);
    FIELD_SIZE(IRP, Tail);
    OFF(IRP, Tail.Overlay.DeviceQueueEntry);
    OFF(IRP, Tail.Overlay.DriverContext);
    OFF(IRP, Tail.Overlay.DriverContext[3]);
    OFF(IRP, Tail.Overlay.Thread);
    OFF(IRP, Tail.Overlay.AuxiliaryBuffer);
    OFF(IRP, Tail.Overlay.ListEntry);
    OFF(IRP, Tail.Overlay.CurrentStackLocation);
    OFF(IRP, Tail.Overlay.PacketType);
    OFF(IRP, Tail.Overlay.OriginalFileObject);
    OFF(IRP, Tail.Apc);
    OFF(IRP, Tail.CompletionKey);
    row("IoSizeOfIrp(1)", IoSizeOfIrp(1));

    SIZE(IO_CSQ);
    OFF(IO_CSQ, Type);
    OFF(IO_CSQ, CsqInsertIrp);
    OFF(IO_CSQ, CsqRemoveIrp);
    OFF(IO_CSQ, CsqPeekNextIrp);
    OFF(IO_CSQ, CsqAcquireLock);
    OFF(IO_CSQ, CsqReleaseLock);
    OFF(IO_CSQ, CsqCompleteCanceledIrp);
    OFF(IO_CSQ, ReservePointer);

    SIZE(IO_CSQ_IRP_CONTEXT);
    OFF(IO_CSQ_IRP_CONTEXT, Type);
    OFF(IO_CSQ_IRP_CONTEXT, Irp);
    OFF(IO_CSQ_IRP_CONTEXT, Csq);
}

/* Constants the Rust side defines too. */
static void constants(void)
{
    VALUE(IO_TYPE_DEVICE);
    VALUE(IO_TYPE_DRIVER);
    VALUE(IO_TYPE_FILE);
    VALUE(IO_TYPE_IRP);
    VALUE(IO_TYPE_DEVICE_QUEUE);
    VALUE(IO_TYPE_CSQ_IRP_CONTEXT);
    VALUE(IO_TYPE_CSQ);
    VALUE(IO_TYPE_CSQ_EX);
    VALUE(IRP_MJ_MAXIMUM_FUNCTION + 1);
    VALUE(IRP_MJ_CREATE);
    VALUE(IRP_MJ_CLOSE);
    VALUE(IRP_MJ_READ);
    VALUE(IRP_MJ_WRITE);
    VALUE(IRP_MJ_DEVICE_CONTROL);
    VALUE(IRP_MJ_INTERNAL_DEVICE_CONTROL);
    VALUE(IRP_MJ_CLEANUP);
    VALUE(SL_PENDING_RETURNED);
    VALUE(SL_ERROR_RETURNED);
    VALUE(SL_INVOKE_ON_CANCEL);
    VALUE(SL_INVOKE_ON_SUCCESS);
    VALUE(SL_INVOKE_ON_ERROR);
    VALUE(DO_BUFFERED_IO);
    VALUE(DO_EXCLUSIVE);
    VALUE(DO_DIRECT_IO);
    VALUE(DO_DEVICE_INITIALIZING);
    VALUE(DO_POWER_PAGABLE);
    VALUE(FO_SYNCHRONOUS_IO);
    VALUE(PASSIVE_LEVEL);
    VALUE(APC_LEVEL);
    VALUE(DISPATCH_LEVEL);
    VALUE(NonPagedPool);
    VALUE(PagedPool);
    VALUE(POOL_QUOTA_FAIL_INSTEAD_OF_RAISE);
    VALUE(STATUS_SUCCESS);
    VALUE(STATUS_USER_APC);
    VALUE(STATUS_TIMEOUT);
    VALUE(STATUS_PENDING);
    VALUE(STATUS_BUFFER_OVERFLOW);
    VALUE(STATUS_UNSUCCESSFUL);
    VALUE(STATUS_NOT_IMPLEMENTED);
    VALUE(STATUS_ACCESS_VIOLATION);
    VALUE(STATUS_INVALID_HANDLE);
    VALUE(STATUS_INVALID_PARAMETER);
    VALUE(STATUS_NO_SUCH_DEVICE);
    VALUE(STATUS_INVALID_DEVICE_REQUEST);
    VALUE(STATUS_MORE_PROCESSING_REQUIRED);
    VALUE(STATUS_ACCESS_DENIED);
    VALUE(STATUS_DELETE_PENDING);
    VALUE(STATUS_INSUFFICIENT_RESOURCES);
    VALUE(STATUS_CANCELLED);
    VALUE(STATUS_DEVICE_NOT_READY);
    VALUE(STATUS_NOT_FOUND);
    VALUE(STATUS_ALERTED);
    VALUE(STATUS_OBJECT_TYPE_MISMATCH);
    VALUE(STATUS_OBJECT_NAME_NOT_FOUND);
    VALUE(STATUS_OBJECT_NAME_COLLISION);
    VALUE(STATUS_BUFFER_TOO_SMALL);
    VALUE(STATUS_NOT_SUPPORTED);
    VALUE(STATUS_INVALID_DEVICE_STATE);
    VALUE(STATUS_DEVICE_BUSY);
}

int main(void)
{
    basic_types();
    dispatcher_objects();
    devices_and_drivers();
    stack_locations();
    irps();
    constants();
    return 0;
}
