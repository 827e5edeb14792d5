/*
 * header_smoke.c - a translation unit written the way real legacy WDM drivers are
 * written, against irpkit's headers: it must compile (-c) with the loader's flags and
 * -Werror with gcc and clang (crates/irpkit-wdm/tests/layout.rs). Not a driver that runs.
 */

/* The order real drivers use: initguid.h, a class GUID outside any guard, ntddk.h, ... */
#include <initguid.h>

// {2E2E5B0C-4E36-4C1B-9A3D-0C7D1E2F3A4B}
DEFINE_GUID(GUID_DEVCLASS_IRPKIT_SMOKE,
            0x2e2e5b0c, 0x4e36, 0x4c1b, 0x9a, 0x3d, 0x0c, 0x7d, 0x1e, 0x2f, 0x3a, 0x4b);

#ifndef SMOKE_H
#define SMOKE_H

#include <ntddk.h>
#include <wdmsec.h>
#if defined(__has_include)
#if __has_include(<ntstrsafe.h>)
#include <ntstrsafe.h>
#define SMOKE_HAVE_NTSTRSAFE 1
#endif
#endif
#include <dontuse.h>

#define SMOKE_TAG (ULONG)'MASC'
#define SMOKE_DEVICE_NAME L"\\Device\\IrpkitSmoke"
#define SMOKE_LINK_NAME L"\\DosDevices\\IrpkitSmoke"

#define IOCTL_SMOKE_WAIT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _FILE_CONTEXT {
    IO_REMOVE_LOCK FileRundownLock;
} FILE_CONTEXT, *PFILE_CONTEXT;

typedef struct _DEVICE_EXTENSION {
    PDEVICE_OBJECT Self;
    BOOLEAN        ThreadShouldStop;
    LIST_ENTRY     PendingIrpQueue;
    KSPIN_LOCK     QueueLock;
    IO_CSQ         CancelSafeQueue;
    PIRP           CurrentIrp;
    KDPC           PollingDpc;
    KTIMER         PollingTimer;
    LARGE_INTEGER  PollingInterval;
    LARGE_INTEGER  LastPollTime;
    KSEMAPHORE     IrpQueueSemaphore;
    KEVENT         IdleEvent;
    PETHREAD       ThreadObject;
    PKEVENT        UserEvent;
    volatile LONG  OutstandingIo;
} DEVICE_EXTENSION, *PDEVICE_EXTENSION;

DRIVER_INITIALIZE DriverEntry;

_Dispatch_type_(IRP_MJ_CREATE)
_Dispatch_type_(IRP_MJ_CLOSE)
DRIVER_DISPATCH SmokeCreateClose;

_Dispatch_type_(IRP_MJ_READ)
DRIVER_DISPATCH SmokeRead;

_Dispatch_type_(IRP_MJ_DEVICE_CONTROL)
DRIVER_DISPATCH SmokeDeviceControl;

_Dispatch_type_(IRP_MJ_CLEANUP)
DRIVER_DISPATCH SmokeCleanup;

DRIVER_UNLOAD SmokeUnload;
DRIVER_CANCEL SmokeCancelRoutine;
DRIVER_STARTIO SmokeStartIo;
KDEFERRED_ROUTINE SmokeTimerDpc;
IO_DPC_ROUTINE SmokeDpcForIsr;
IO_COMPLETION_ROUTINE SmokeCompletion;
IO_WORKITEM_ROUTINE SmokeWorkItem;
KSTART_ROUTINE SmokePollingThread;

/* A KSTART_ROUTINE re-declared without a calling convention, as drivers do. */
VOID
SmokePollingThread(
    _In_ PVOID Context
    );

IO_CSQ_INSERT_IRP_EX SmokeInsertIrp;
IO_CSQ_REMOVE_IRP SmokeRemoveIrp;
IO_CSQ_PEEK_NEXT_IRP SmokePeekNextIrp;
IO_CSQ_COMPLETE_CANCELED_IRP SmokeCompleteCanceledIrp;

_IRQL_raises_(DISPATCH_LEVEL)
_IRQL_requires_max_(DISPATCH_LEVEL)
_Acquires_lock_(CONTAINING_RECORD(Csq, DEVICE_EXTENSION, CancelSafeQueue)->QueueLock)
VOID
SmokeAcquireLock(
    _In_                                   PIO_CSQ Csq,
    _Out_ _At_(*Irql, _Post_ _IRQL_saves_) PKIRQL  Irql
    );

_IRQL_requires_(DISPATCH_LEVEL)
_Releases_lock_(CONTAINING_RECORD(Csq, DEVICE_EXTENSION, CancelSafeQueue)->QueueLock)
VOID
SmokeReleaseLock(
    _In_                 PIO_CSQ Csq,
    _In_ _IRQL_restores_ KIRQL   Irql
    );

_Must_inspect_result_
_IRQL_requires_max_(APC_LEVEL)
NTSTATUS
SmokeHelper(
    _In_reads_bytes_(Length) PVOID Buffer,
    _In_ ULONG Length,
    _Out_opt_ PULONG Written
    );

#endif /* SMOKE_H */

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, DriverEntry)
#pragma alloc_text(PAGE, SmokeCreateClose)
#pragma alloc_text(PAGE, SmokeUnload)
#endif

NTSTATUS
DriverEntry(
    _In_ PDRIVER_OBJECT  DriverObject,
    _In_ PUNICODE_STRING RegistryPath
    )
{
    NTSTATUS          status;
    UNICODE_STRING    deviceName;
    UNICODE_STRING    linkName;
    UNICODE_STRING    sddl;
    PDEVICE_OBJECT    deviceObject;
    PDEVICE_EXTENSION ext;
    HANDLE            threadHandle;

    UNREFERENCED_PARAMETER(RegistryPath);

    ExInitializeDriverRuntime(DrvRtPoolNxOptIn);
    KdPrint(("smoke: DriverEntry %wZ\n", RegistryPath));

    RtlInitUnicodeString(&deviceName, SMOKE_DEVICE_NAME);
    (void)RtlInitUnicodeString(&sddl, L"D:P(A;;GA;;;SY)(A;;GA;;;BA)");
    status = IoCreateDeviceSecure(DriverObject, sizeof(DEVICE_EXTENSION), &deviceName, FILE_DEVICE_UNKNOWN,
                                  FILE_DEVICE_SECURE_OPEN, (BOOLEAN)FALSE, &sddl,
                                  (LPCGUID)&GUID_DEVCLASS_IRPKIT_SMOKE, &deviceObject);
    if (!NT_SUCCESS(status)) {
        status = IoCreateDeviceSecure(DriverObject, sizeof(DEVICE_EXTENSION), &deviceName, FILE_DEVICE_UNKNOWN,
                                      0, FALSE, &SDDL_DEVOBJ_SYS_ALL_ADM_ALL, NULL, &deviceObject);
        if (!NT_SUCCESS(status)) {
            return status;
        }
    }

    RtlInitUnicodeString(&linkName, SMOKE_LINK_NAME);
    status = IoCreateSymbolicLink(&linkName, &deviceName);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(deviceObject);
        return status;
    }

    DriverObject->MajorFunction[IRP_MJ_CREATE] =
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = SmokeCreateClose;
    DriverObject->MajorFunction[IRP_MJ_READ] = SmokeRead;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SmokeDeviceControl;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = SmokeCleanup;
    DriverObject->DriverUnload = SmokeUnload;
    DriverObject->DriverStartIo = SmokeStartIo;
    deviceObject->Flags |= DO_BUFFERED_IO;

    ext = deviceObject->DeviceExtension;
    ext->Self = deviceObject;
    InitializeListHead(&ext->PendingIrpQueue);
    KeInitializeSpinLock(&ext->QueueLock);
    KeInitializeSemaphore(&ext->IrpQueueSemaphore, 0, MAXLONG);
    KeInitializeEvent(&ext->IdleEvent, NotificationEvent, FALSE);
    KeInitializeDpc(&ext->PollingDpc, SmokeTimerDpc, deviceObject);
    KeInitializeTimer(&ext->PollingTimer);
    IoInitializeDpcRequest(deviceObject, SmokeDpcForIsr);
    ext->PollingInterval.QuadPart = Int32x32To64(500 * 1000, -10);
    KeQuerySystemTime(&ext->LastPollTime);
    ASSERT(ext->LastPollTime.HighPart >= 0 || ext->LastPollTime.LowPart != 0);

    status = IoCsqInitializeEx(&ext->CancelSafeQueue, SmokeInsertIrp, SmokeRemoveIrp, SmokePeekNextIrp,
                               SmokeAcquireLock, SmokeReleaseLock, SmokeCompleteCanceledIrp);
    ASSERT(NT_SUCCESS(status));

    status = PsCreateSystemThread(&threadHandle, (ACCESS_MASK)0, NULL, (HANDLE)0, NULL, SmokePollingThread,
                                  deviceObject);
    if (!NT_SUCCESS(status)) {
        IoDeleteSymbolicLink(&linkName);
        IoDeleteDevice(deviceObject);
        return status;
    }
    ObReferenceObjectByHandle(threadHandle, THREAD_ALL_ACCESS, NULL, KernelMode, &ext->ThreadObject, NULL);
    ZwClose(threadHandle);

    return STATUS_SUCCESS;
}

NTSTATUS SmokeCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION irpStack = IoGetCurrentIrpStackLocation(Irp);
    PFILE_CONTEXT fileContext;
    NTSTATUS status = STATUS_SUCCESS;

    UNREFERENCED_PARAMETER(DeviceObject);
    PAGED_CODE();

    switch (irpStack->MajorFunction) {
    case IRP_MJ_CREATE:
        fileContext = ExAllocatePoolQuotaZero(NonPagedPoolNx | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE,
                                              sizeof(FILE_CONTEXT), SMOKE_TAG);
        if (fileContext == NULL) {
            status = STATUS_INSUFFICIENT_RESOURCES;
            break;
        }
        IoInitializeRemoveLock(&fileContext->FileRundownLock, SMOKE_TAG, 0, 0);
        ASSERT(irpStack->FileObject->FsContext == NULL);
        irpStack->FileObject->FsContext = (PVOID)fileContext;
        break;
    case IRP_MJ_CLOSE:
        fileContext = irpStack->FileObject->FsContext;
        ExFreePoolWithTag(fileContext, SMOKE_TAG);
        break;
    default:
        ASSERTMSG("unexpected major function\n", FALSE);
        status = STATUS_INVALID_PARAMETER;
        break;
    }
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

NTSTATUS SmokeRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION irpStack = IoGetCurrentIrpStackLocation(Irp);
    PFILE_CONTEXT fileContext = irpStack->FileObject->FsContext;
    LARGE_INTEGER now;
    NTSTATUS status;

    PAGED_CODE();

    status = IoAcquireRemoveLock(&fileContext->FileRundownLock, Irp);
    if (!NT_SUCCESS(status)) {
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return status;
    }
    if (irpStack->Parameters.Read.Length < sizeof(ULONG) || irpStack->Parameters.Read.ByteOffset.QuadPart < 0) {
        Irp->IoStatus.Status = status = STATUS_BUFFER_TOO_SMALL;
        Irp->IoStatus.Information = 0;
        IoReleaseRemoveLock(&fileContext->FileRundownLock, Irp);
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return status;
    }
    KeQuerySystemTime(&now);
    *((PULONG)Irp->AssociatedIrp.SystemBuffer) = (now.LowPart / 13) % 2;

    ASSERT(KeGetCurrentIrql() <= APC_LEVEL);
    KeEnterCriticalRegion();
    if (!NT_SUCCESS(IoCsqInsertIrpEx(&ext->CancelSafeQueue, Irp, NULL, NULL))) {
        IoMarkIrpPending(Irp);
    }
    KeReleaseSemaphore(&ext->IrpQueueSemaphore, 0, 1, FALSE);
    KeLeaveCriticalRegion();
    IoReleaseRemoveLock(&fileContext->FileRundownLock, Irp);
    return STATUS_PENDING;
}

NTSTATUS SmokeDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION irpStack = IoGetCurrentIrpStackLocation(Irp);
    KIRQL oldIrql;
    NTSTATUS status;
    HANDLE eventHandle;

    switch (irpStack->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_SMOKE_WAIT:
        if (irpStack->Parameters.DeviceIoControl.InputBufferLength < sizeof(HANDLE) ||
            IoGetFunctionCodeFromCtlCode(irpStack->Parameters.DeviceIoControl.IoControlCode) != 0x800) {
            status = STATUS_INVALID_PARAMETER;
            break;
        }
        eventHandle = *(PHANDLE)Irp->AssociatedIrp.SystemBuffer;
        status = ObReferenceObjectByHandle(eventHandle, SYNCHRONIZE | EVENT_MODIFY_STATE, *ExEventObjectType,
                                           Irp->RequestorMode, &ext->UserEvent, NULL);
        if (!NT_SUCCESS(status)) {
            break;
        }
        KeAcquireSpinLock(&ext->QueueLock, &oldIrql);
        IoSetCancelRoutine(Irp, SmokeCancelRoutine);
        if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
            KeReleaseSpinLock(&ext->QueueLock, oldIrql);
            ObDereferenceObject(ext->UserEvent);
            status = STATUS_CANCELLED;
            break;
        }
        IoMarkIrpPending(Irp);
        InsertTailList(&ext->PendingIrpQueue, &Irp->Tail.Overlay.ListEntry);
        Irp->Tail.Overlay.DriverContext[3] = ext;
        KeSetTimer(&ext->PollingTimer, ext->PollingInterval, &ext->PollingDpc);
        KeReleaseSpinLock(&ext->QueueLock, oldIrql);
        return STATUS_PENDING;
    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

VOID SmokeCancelRoutine(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
    KLOCK_QUEUE_HANDLE lockHandle;

    IoReleaseCancelSpinLock(Irp->CancelIrql);
    KeAcquireInStackQueuedSpinLock(&ext->QueueLock, &lockHandle);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    Irp->Tail.Overlay.DriverContext[3] = NULL;
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    Irp->IoStatus.Status = STATUS_CANCELLED;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

NTSTATUS SmokeCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION irpStack = IoGetCurrentIrpStackLocation(Irp);
    PFILE_CONTEXT fileContext = irpStack->FileObject->FsContext;
    PIRP pendingIrp;
    PLIST_ENTRY entry;
    LIST_ENTRY cleanupList;
    KIRQL oldIrql;
    NTSTATUS status;

    status = IoAcquireRemoveLock(&fileContext->FileRundownLock, Irp);
    ASSERT(NT_SUCCESS(status));
    IoReleaseRemoveLockAndWait(&fileContext->FileRundownLock, Irp);

    while ((pendingIrp = IoCsqRemoveNextIrp(&ext->CancelSafeQueue, irpStack->FileObject)) != NULL) {
        pendingIrp->IoStatus.Status = STATUS_CANCELLED;
        pendingIrp->IoStatus.Information = 0;
        IoCompleteRequest(pendingIrp, IO_NO_INCREMENT);
    }

    InitializeListHead(&cleanupList);
    KeAcquireSpinLock(&ext->QueueLock, &oldIrql);
    for (entry = ext->PendingIrpQueue.Flink; entry != &ext->PendingIrpQueue;) {
        PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
        entry = entry->Flink;
        if (IoSetCancelRoutine(irp, NULL) != NULL) {
            RemoveEntryList(&irp->Tail.Overlay.ListEntry);
            InsertTailList(&cleanupList, &irp->Tail.Overlay.ListEntry);
        }
    }
    KeReleaseSpinLock(&ext->QueueLock, oldIrql);
    while (!IsListEmpty(&cleanupList)) {
        entry = RemoveHeadList(&cleanupList);
        pendingIrp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
        pendingIrp->IoStatus.Status = STATUS_CANCELLED;
        IoCompleteRequest(pendingIrp, IO_NO_INCREMENT);
    }

    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

VOID SmokeStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    KIRQL cancelIrql;

    IoAcquireCancelSpinLock(&cancelIrql);
    if (Irp->Cancel) {
        IoReleaseCancelSpinLock(cancelIrql);
        return;
    }
    IoSetCancelRoutine(Irp, NULL);
    IoReleaseCancelSpinLock(cancelIrql);
    IoRequestDpc(DeviceObject, Irp, NULL);
}

VOID SmokeDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    IoStartNextPacket(DeviceObject, TRUE);
}

VOID SmokeTimerDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    PDEVICE_OBJECT deviceObject = (PDEVICE_OBJECT)DeferredContext;
    PDEVICE_EXTENSION ext = deviceObject->DeviceExtension;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    _Analysis_assume_(DeferredContext != NULL);

    KeAcquireSpinLockAtDpcLevel(&ext->QueueLock);
    if (ext->UserEvent != NULL) {
        KeSetEvent(ext->UserEvent, 0, FALSE);
        ObDereferenceObject(ext->UserEvent);
        ext->UserEvent = NULL;
    }
    KeReleaseSpinLockFromDpcLevel(&ext->QueueLock);
}

NTSTATUS SmokeCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    if (Irp->PendingReturned) {
        IoMarkIrpPending(Irp);
    }
    KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

VOID SmokeWorkItem(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    UNREFERENCED_PARAMETER(Context);
}

NTSTATUS SmokeHelper(PVOID Buffer, ULONG Length, PULONG Written)
{
    PIRP irp;
    KEVENT event;
    IO_STATUS_BLOCK iosb;
    PIO_STACK_LOCATION next;
    LARGE_INTEGER offset;
    NTSTATUS status;
    KIRQL oldIrql;
    PVOID block;

    offset.QuadPart = 0;
    offset.u.LowPart = Length;
    KeInitializeEvent(&event, NotificationEvent, FALSE);
    irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, NULL, Buffer, Length, &offset, &event, &iosb);
    if (irp == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    next = IoGetNextIrpStackLocation(irp);
    next->Parameters.Read.Key = 0;
    IoSetCompletionRoutine(irp, SmokeCompletion, &event, TRUE, TRUE, TRUE);
    ASSERT(IoSizeOfIrp(2) == sizeof(IRP) + 2 * sizeof(IO_STACK_LOCATION));

    KeRaiseIrql(DISPATCH_LEVEL, &oldIrql);
    KeLowerIrql(oldIrql);

    block = ExAllocatePool2(POOL_FLAG_NON_PAGED, 64, 'kmsS');
    if (block != NULL) {
#ifdef SMOKE_HAVE_NTSTRSAFE
        RtlStringCbPrintfW((NTSTRSAFE_PWSTR)block, 64, L"%ws-%d", L"smoke", 1);
#endif
        ExFreePoolWithTag(block, 'kmsS');
    }

    status = IoCallDriver(NULL, irp);
    if (status == STATUS_PENDING) {
        KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
        status = iosb.Status;
    }
    if (Written != NULL) {
        *Written = (ULONG)iosb.Information;
    }
    return status;
}

VOID SmokePollingThread(_In_ PVOID Context)
{
    PDEVICE_OBJECT deviceObject = Context;
    PDEVICE_EXTENSION ext = deviceObject->DeviceExtension;
    PIRP irp;

    KeSetPriorityThread(KeGetCurrentThread(), LOW_REALTIME_PRIORITY);
    for (;;) {
        KeWaitForSingleObject(&ext->IrpQueueSemaphore, Executive, KernelMode, FALSE, NULL);
        if (ext->ThreadShouldStop) {
            PsTerminateSystemThread(STATUS_SUCCESS);
        }
        irp = IoCsqRemoveNextIrp(&ext->CancelSafeQueue, NULL);
        if (irp == NULL) {
            continue;
        }
        InterlockedIncrement(&ext->OutstandingIo);
        KeDelayExecutionThread(KernelMode, FALSE, &ext->PollingInterval);
        irp->IoStatus.Status = STATUS_SUCCESS;
        irp->IoStatus.Information = sizeof(ULONG);
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        InterlockedDecrement(&ext->OutstandingIo);
    }
}

VOID SmokeUnload(_In_ PDRIVER_OBJECT DriverObject)
{
    PDEVICE_OBJECT deviceObject = DriverObject->DeviceObject;
    PDEVICE_EXTENSION ext = deviceObject->DeviceExtension;
    UNICODE_STRING linkName;

    PAGED_CODE();
    KdPrint(("smoke: unload %ws %wZ\n", SMOKE_LINK_NAME, &DriverObject->DriverName));

    KeCancelTimer(&ext->PollingTimer);
    KeFlushQueuedDpcs();
    ext->ThreadShouldStop = TRUE;
#pragma prefast(suppress: 28167, "the IRQL is restored before return")
    KeReleaseSemaphore(&ext->IrpQueueSemaphore, 0, 1, TRUE);
    KeWaitForSingleObject(ext->ThreadObject, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(ext->ThreadObject);

    RtlInitUnicodeString(&linkName, SMOKE_LINK_NAME);
    IoDeleteSymbolicLink(&linkName);
    IoDeleteDevice(deviceObject);
}

/* The cancel-safe queue's callbacks (an Ex insert that may refuse). */
NTSTATUS SmokeInsertIrp(PIO_CSQ Csq, PIRP Irp, PVOID InsertContext)
{
    PDEVICE_EXTENSION ext = CONTAINING_RECORD(Csq, DEVICE_EXTENSION, CancelSafeQueue);

    UNREFERENCED_PARAMETER(InsertContext);
    if (ext->CurrentIrp == NULL) {
        ext->CurrentIrp = Irp;
        return STATUS_UNSUCCESSFUL;
    }
    InsertTailList(&ext->PendingIrpQueue, &Irp->Tail.Overlay.ListEntry);
    return STATUS_SUCCESS;
}

VOID SmokeRemoveIrp(PIO_CSQ Csq, PIRP Irp)
{
    UNREFERENCED_PARAMETER(Csq);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
}

PIRP SmokePeekNextIrp(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext)
{
    PDEVICE_EXTENSION ext = CONTAINING_RECORD(Csq, DEVICE_EXTENSION, CancelSafeQueue);
    PLIST_ENTRY listHead = &ext->PendingIrpQueue;
    PLIST_ENTRY next = Irp == NULL ? listHead->Flink : Irp->Tail.Overlay.ListEntry.Flink;
    PIRP nextIrp = NULL;

    for (; next != listHead; next = next->Flink) {
        PIRP candidate = CONTAINING_RECORD(next, IRP, Tail.Overlay.ListEntry);
        if (PeekContext == NULL ||
            IoGetCurrentIrpStackLocation(candidate)->FileObject == (PFILE_OBJECT)PeekContext) {
            nextIrp = candidate;
            break;
        }
    }
    if (PeekContext == NULL) {
        ext->CurrentIrp = nextIrp;
    }
    return nextIrp;
}

VOID SmokeAcquireLock(PIO_CSQ Csq, PKIRQL Irql)
{
    PDEVICE_EXTENSION ext = CONTAINING_RECORD(Csq, DEVICE_EXTENSION, CancelSafeQueue);
#pragma prefast(suppress: __WARNING_BUFFER_UNDERFLOW, "part of DEVICE_EXTENSION")
    KeAcquireSpinLock(&ext->QueueLock, Irql);
}

VOID SmokeReleaseLock(PIO_CSQ Csq, KIRQL Irql)
{
    PDEVICE_EXTENSION ext = CONTAINING_RECORD(Csq, DEVICE_EXTENSION, CancelSafeQueue);
    KeReleaseSpinLock(&ext->QueueLock, Irql);
}

VOID SmokeCompleteCanceledIrp(PIO_CSQ Csq, PIRP Irp)
{
    UNREFERENCED_PARAMETER(Csq);
    Irp->IoStatus.Status = STATUS_CANCELLED;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}
