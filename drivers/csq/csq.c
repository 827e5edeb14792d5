/*
 * csq.c - irpkit WDM sample: a cancel-safe IRP queue served by a system worker thread,
 * with a remove lock per file object.
 *
 * Device \Device\IrpkitCsq, symbolic link \DosDevices\IrpkitCsq (\\.\IrpkitCsq).
 *
 * - Reads are inserted into a cancel-safe queue (IoCsqInitializeEx: the insert callback
 *   refuses a read with STATUS_DEVICE_BUSY when CSQ_MAX_QUEUED reads are waiting; the
 *   dispatch routine then completes it at once). IoCsqInsertIrpEx marks the read pending
 *   and gives it the library's cancel routine: the driver has no cancel routine of its own.
 * - Each inserted read releases a KSEMAPHORE once; the system worker thread waits on it,
 *   takes the next read with IoCsqRemoveNextIrp and performs the "transfer" in 1 ms slices
 *   (KeDelayExecutionThread), checking Irp->Cancel between slices: a read the worker holds
 *   has no cancel routine, but the driver owns it and may stop early.
 * - Per file object: a context (FsContext) allocated at IRP_MJ_CREATE, holding a remove
 *   lock. Every read acquires it; it is released just before the read completes (the
 *   completion may close the file object, whose context IRP_MJ_CLOSE frees).
 *   IRP_MJ_CLEANUP takes the file's reads out of the queue with IoCsqRemoveNextIrp (peek
 *   context: the file object), completes them STATUS_CANCELLED, then waits with
 *   IoReleaseRemoveLockAndWait for the read the worker may be holding. A read arriving
 *   after that gets STATUS_DELETE_PENDING.
 * - DriverUnload tells the thread to stop, releases the semaphore (Wait = TRUE) and at
 *   once waits on the thread object, which PsTerminateSystemThread signals; then
 *   ObDereferenceObject.
 *
 * Written for irpkit from Microsoft's documentation of the routines it calls.
 */
#include <ntddk.h>

#ifndef CSQ_TRANSFER_MS
#define CSQ_TRANSFER_MS 1
#endif
#ifndef CSQ_MAX_QUEUED
#define CSQ_MAX_QUEUED 16
#endif

#define CSQ_TAG 'qsCI'

#define CSQ_DEVICE_NAME L"\\Device\\IrpkitCsq"
#define CSQ_LINK_NAME   L"\\DosDevices\\IrpkitCsq"

typedef struct _CSQ_EXTENSION {
    IO_CSQ CancelSafeQueue;
    KSPIN_LOCK QueueLock;       /* the queue's lock (the CSQ's AcquireLock/ReleaseLock) */
    LIST_ENTRY PendingIrpQueue; /* reads waiting for the worker, oldest first */
    ULONG QueueDepth;           /* reads in PendingIrpQueue, under QueueLock */
    KSEMAPHORE IrpQueueSemaphore;
    PETHREAD ThreadObject;
    volatile LONG ThreadShouldStop;
    /* Counters, printed at unload. */
    volatile LONG Transferred;
    volatile LONG StoppedByCancel;
    volatile LONG Cancelled;
    volatile LONG CleanedUp;
    volatile LONG Refused;
} CSQ_EXTENSION, *PCSQ_EXTENSION;

/* FileObject->FsContext. */
typedef struct _CSQ_FILE_CONTEXT {
    IO_REMOVE_LOCK FileRundownLock;
} CSQ_FILE_CONTEXT, *PCSQ_FILE_CONTEXT;

DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD CsqUnload;
DRIVER_DISPATCH CsqCreate;
DRIVER_DISPATCH CsqClose;
DRIVER_DISPATCH CsqCleanup;
DRIVER_DISPATCH CsqRead;
KSTART_ROUTINE CsqWorkerThread;
IO_CSQ_INSERT_IRP_EX CsqInsertIrpEx;
IO_CSQ_REMOVE_IRP CsqRemoveIrp;
IO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp;
IO_CSQ_ACQUIRE_LOCK CsqAcquireLock;
IO_CSQ_RELEASE_LOCK CsqReleaseLock;
IO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp;

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, DriverEntry)
#pragma alloc_text(PAGE, CsqUnload)
#pragma alloc_text(PAGE, CsqCreate)
#pragma alloc_text(PAGE, CsqClose)
#pragma alloc_text(PAGE, CsqCleanup)
#pragma alloc_text(PAGE, CsqRead)
#pragma alloc_text(PAGE, CsqWorkerThread)
#endif

static PCSQ_EXTENSION CsqExtension(PIO_CSQ Csq)
{
    return CONTAINING_RECORD(Csq, CSQ_EXTENSION, CancelSafeQueue);
}

static VOID CsqCompleteRequest(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

/*
 * Completes a read that holds its file's remove lock. The lock is released first: once
 * the read completes, the file object may be closed and its context freed.
 */
static VOID CsqCompleteRead(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    PCSQ_FILE_CONTEXT fileContext =
        (PCSQ_FILE_CONTEXT)IoGetCurrentIrpStackLocation(Irp)->FileObject->FsContext;

    IoReleaseRemoveLock(&fileContext->FileRundownLock, Irp);
    CsqCompleteRequest(Irp, Status, Information);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING deviceName;
    UNICODE_STRING linkName;
    PDEVICE_OBJECT deviceObject = NULL;
    PCSQ_EXTENSION ext;
    HANDLE threadHandle;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    PAGED_CODE();

    RtlInitUnicodeString(&deviceName, CSQ_DEVICE_NAME);
    status = IoCreateDevice(DriverObject, sizeof(CSQ_EXTENSION), &deviceName, FILE_DEVICE_UNKNOWN,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &deviceObject);
    if (!NT_SUCCESS(status)) {
        KdPrint(("IrpkitCsq: IoCreateDevice failed 0x%08x\n", status));
        return status;
    }
    deviceObject->Flags |= DO_BUFFERED_IO;

    ext = (PCSQ_EXTENSION)deviceObject->DeviceExtension;
    KeInitializeSpinLock(&ext->QueueLock);
    InitializeListHead(&ext->PendingIrpQueue);
    KeInitializeSemaphore(&ext->IrpQueueSemaphore, 0, MAXLONG);
    status = IoCsqInitializeEx(&ext->CancelSafeQueue, CsqInsertIrpEx, CsqRemoveIrp, CsqPeekNextIrp,
                               CsqAcquireLock, CsqReleaseLock, CsqCompleteCanceledIrp);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(deviceObject);
        return status;
    }

    RtlInitUnicodeString(&linkName, CSQ_LINK_NAME);
    status = IoCreateSymbolicLink(&linkName, &deviceName);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(deviceObject);
        return status;
    }

    status = PsCreateSystemThread(&threadHandle, (ACCESS_MASK)0, NULL, NULL, NULL, CsqWorkerThread, ext);
    if (!NT_SUCCESS(status)) {
        KdPrint(("IrpkitCsq: PsCreateSystemThread failed 0x%08x\n", status));
        IoDeleteSymbolicLink(&linkName);
        IoDeleteDevice(deviceObject);
        return status;
    }
    /* Keep the thread object (to wait on at unload), not the handle. */
    status = ObReferenceObjectByHandle(threadHandle, THREAD_ALL_ACCESS, *PsThreadType, KernelMode,
                                       (PVOID *)&ext->ThreadObject, NULL);
    ZwClose(threadHandle);
    if (!NT_SUCCESS(status)) {
        /* Cannot happen for a handle PsCreateSystemThread just returned. */
        KdPrint(("IrpkitCsq: ObReferenceObjectByHandle failed 0x%08x\n", status));
    }

    DriverObject->MajorFunction[IRP_MJ_CREATE] = CsqCreate;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = CsqClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = CsqCleanup;
    DriverObject->MajorFunction[IRP_MJ_READ] = CsqRead;
    DriverObject->DriverUnload = CsqUnload;

    KdPrint(("IrpkitCsq: loaded (transfer %d ms, at most %d queued)\n", CSQ_TRANSFER_MS, CSQ_MAX_QUEUED));
    return STATUS_SUCCESS;
}

VOID CsqUnload(PDRIVER_OBJECT DriverObject)
{
    PDEVICE_OBJECT deviceObject = DriverObject->DeviceObject;
    PCSQ_EXTENSION ext = (PCSQ_EXTENSION)deviceObject->DeviceExtension;
    UNICODE_STRING linkName;

    PAGED_CODE();

    /* Every file object was cleaned up: nothing is queued. Stop the worker. */
    InterlockedExchange(&ext->ThreadShouldStop, 1);
    /* Wait = TRUE: the very next call is the wait on the thread object. */
    KeReleaseSemaphore(&ext->IrpQueueSemaphore, 0, 1, TRUE);
    if (ext->ThreadObject != NULL) {
        KeWaitForSingleObject(ext->ThreadObject, Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(ext->ThreadObject);
        ext->ThreadObject = NULL;
    }
    KdPrint(("IrpkitCsq: unload: worker thread ended; transferred %d stopped-by-cancel %d cancelled %d "
             "cleaned-up %d refused %d\n",
             ext->Transferred, ext->StoppedByCancel, ext->Cancelled, ext->CleanedUp, ext->Refused));

    RtlInitUnicodeString(&linkName, CSQ_LINK_NAME);
    IoDeleteSymbolicLink(&linkName);
    IoDeleteDevice(deviceObject);
}

NTSTATUS CsqCreate(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PFILE_OBJECT fileObject = IoGetCurrentIrpStackLocation(Irp)->FileObject;
    PCSQ_FILE_CONTEXT fileContext;

    UNREFERENCED_PARAMETER(DeviceObject);
    PAGED_CODE();

    ASSERT(fileObject->FsContext == NULL);
    fileContext = (PCSQ_FILE_CONTEXT)ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(CSQ_FILE_CONTEXT), CSQ_TAG);
    if (fileContext == NULL) {
        CsqCompleteRequest(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    IoInitializeRemoveLock(&fileContext->FileRundownLock, CSQ_TAG, 0, 0);
    fileObject->FsContext = fileContext;

    CsqCompleteRequest(Irp, STATUS_SUCCESS, 0);
    return STATUS_SUCCESS;
}

NTSTATUS CsqClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PFILE_OBJECT fileObject = IoGetCurrentIrpStackLocation(Irp)->FileObject;

    UNREFERENCED_PARAMETER(DeviceObject);
    PAGED_CODE();

    /* The last reference to the file object is gone: no read of it remains. */
    if (fileObject->FsContext != NULL) {
        ExFreePoolWithTag(fileObject->FsContext, CSQ_TAG);
        fileObject->FsContext = NULL;
    }
    CsqCompleteRequest(Irp, STATUS_SUCCESS, 0);
    return STATUS_SUCCESS;
}

NTSTATUS CsqRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PCSQ_EXTENSION ext = (PCSQ_EXTENSION)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION irpSp = IoGetCurrentIrpStackLocation(Irp);
    PCSQ_FILE_CONTEXT fileContext = (PCSQ_FILE_CONTEXT)irpSp->FileObject->FsContext;
    NTSTATUS status;

    PAGED_CODE();

    if (irpSp->Parameters.Read.Length == 0) {
        CsqCompleteRequest(Irp, STATUS_SUCCESS, 0);
        return STATUS_SUCCESS;
    }

    /* Fails with STATUS_DELETE_PENDING once cleanup of this file has begun waiting. */
    status = IoAcquireRemoveLock(&fileContext->FileRundownLock, Irp);
    if (!NT_SUCCESS(status)) {
        CsqCompleteRequest(Irp, status, 0);
        return status;
    }

    KeEnterCriticalRegion();
    status = IoCsqInsertIrpEx(&ext->CancelSafeQueue, Irp, NULL, NULL);
    KeLeaveCriticalRegion();
    if (!NT_SUCCESS(status)) {
        /* Refused by the insert callback: not queued, not marked pending. */
        InterlockedIncrement(&ext->Refused);
        CsqCompleteRead(Irp, status, 0);
        return status;
    }

    /* IoCsqInsertIrpEx marked the read pending. One unit of work for the worker. */
    KeReleaseSemaphore(&ext->IrpQueueSemaphore, 0, 1, FALSE);
    return STATUS_PENDING;
}

NTSTATUS CsqCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PCSQ_EXTENSION ext = (PCSQ_EXTENSION)DeviceObject->DeviceExtension;
    PFILE_OBJECT fileObject = IoGetCurrentIrpStackLocation(Irp)->FileObject;
    PCSQ_FILE_CONTEXT fileContext = (PCSQ_FILE_CONTEXT)fileObject->FsContext;
    PIRP pending;
    NTSTATUS status;

    PAGED_CODE();

    /* Acquired for IoReleaseRemoveLockAndWait below. */
    status = IoAcquireRemoveLock(&fileContext->FileRundownLock, Irp);
    ASSERT(NT_SUCCESS(status));

    /* This file's queued reads; a read being cancelled right now is not returned (the
     * library's cancel routine completes it). */
    while ((pending = IoCsqRemoveNextIrp(&ext->CancelSafeQueue, fileObject)) != NULL) {
        InterlockedIncrement(&ext->CleanedUp);
        CsqCompleteRead(pending, STATUS_CANCELLED, 0);
    }

    /* Waits until every read that acquired the lock released it: the worker's current
     * read of this file, a cancellation in progress. */
    if (NT_SUCCESS(status)) {
        IoReleaseRemoveLockAndWait(&fileContext->FileRundownLock, Irp);
    }

    CsqCompleteRequest(Irp, STATUS_SUCCESS, 0);
    return STATUS_SUCCESS;
}

/*
 * The worker: one read at a time, until unload says stop.
 */
VOID CsqWorkerThread(PVOID StartContext)
{
    PCSQ_EXTENSION ext = (PCSQ_EXTENSION)StartContext;
    LARGE_INTEGER slice;
    PIRP irp;
    ULONG length;
    int elapsed;

    PAGED_CODE();

    KeSetPriorityThread(KeGetCurrentThread(), LOW_REALTIME_PRIORITY);
    slice.QuadPart = Int32x32To64(1000, -10); /* 1 ms, relative */

    for (;;) {
        KeWaitForSingleObject(&ext->IrpQueueSemaphore, Executive, KernelMode, FALSE, NULL);
        if (ext->ThreadShouldStop) {
            break;
        }
        /* NULL: a read cancelled after its unit was released; nothing to do for it. */
        irp = IoCsqRemoveNextIrp(&ext->CancelSafeQueue, NULL);
        if (irp == NULL) {
            continue;
        }

        /* The transfer. The read has no cancel routine now; it is ours, and Irp->Cancel
         * says whether the requester gave up. */
        for (elapsed = 0; elapsed < CSQ_TRANSFER_MS && !irp->Cancel; elapsed++) {
            KeDelayExecutionThread(KernelMode, FALSE, &slice);
        }
        if (irp->Cancel) {
            InterlockedIncrement(&ext->StoppedByCancel);
            CsqCompleteRead(irp, STATUS_CANCELLED, 0);
            continue;
        }
        length = IoGetCurrentIrpStackLocation(irp)->Parameters.Read.Length;
        if (irp->AssociatedIrp.SystemBuffer != NULL) {
            RtlFillMemory(irp->AssociatedIrp.SystemBuffer, length, 0xA5);
        }
        InterlockedIncrement(&ext->Transferred);
        CsqCompleteRead(irp, STATUS_SUCCESS, length);
    }

    KdPrint(("IrpkitCsq: worker thread exiting\n"));
    PsTerminateSystemThread(STATUS_SUCCESS);
}

/* ----------------------------------------------------------------------------------- */
/* The cancel-safe queue's callbacks: the queue's storage and lock.                     */

NTSTATUS CsqInsertIrpEx(PIO_CSQ Csq, PIRP Irp, PVOID InsertContext)
{
    PCSQ_EXTENSION ext = CsqExtension(Csq);

    UNREFERENCED_PARAMETER(InsertContext);
    if (ext->QueueDepth >= CSQ_MAX_QUEUED) {
        return STATUS_DEVICE_BUSY;
    }
    InsertTailList(&ext->PendingIrpQueue, &Irp->Tail.Overlay.ListEntry);
    ext->QueueDepth++;
    return STATUS_SUCCESS;
}

VOID CsqRemoveIrp(PIO_CSQ Csq, PIRP Irp)
{
    PCSQ_EXTENSION ext = CsqExtension(Csq);

    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    ext->QueueDepth--;
}

/*
 * The first read after Irp (from the head if Irp is NULL) that matches PeekContext: a
 * file object, or NULL for any.
 */
PIRP CsqPeekNextIrp(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext)
{
    PCSQ_EXTENSION ext = CsqExtension(Csq);
    PLIST_ENTRY head = &ext->PendingIrpQueue;
    PLIST_ENTRY entry = (Irp == NULL) ? head->Flink : Irp->Tail.Overlay.ListEntry.Flink;
    PIRP candidate;

    for (; entry != head; entry = entry->Flink) {
        candidate = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
        if (PeekContext == NULL || IoGetCurrentIrpStackLocation(candidate)->FileObject == (PFILE_OBJECT)PeekContext) {
            return candidate;
        }
    }
    return NULL;
}

VOID CsqAcquireLock(PIO_CSQ Csq, PKIRQL Irql)
{
    KeAcquireSpinLock(&CsqExtension(Csq)->QueueLock, Irql);
}

VOID CsqReleaseLock(PIO_CSQ Csq, KIRQL Irql)
{
    KeReleaseSpinLock(&CsqExtension(Csq)->QueueLock, Irql);
}

VOID CsqCompleteCanceledIrp(PIO_CSQ Csq, PIRP Irp)
{
    InterlockedIncrement(&CsqExtension(Csq)->Cancelled);
    CsqCompleteRead(Irp, STATUS_CANCELLED, 0);
}
