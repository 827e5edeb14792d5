/*
 * queue.c - irpkit WDM sample: a driver-managed queue of notification requests, in the
 * event-notification style.
 *
 * Device \Device\IrpkitQueue, symbolic link \DosDevices\IrpkitQueue (\\.\IrpkitQueue).
 *
 * IOCTL_IRPKIT_QUEUE_WAIT (irpkit_queue.h) pends a request in the driver's own LIST_ENTRY
 * queue, guarded by the driver's own KSPIN_LOCK, with a cancel routine. A periodic KTIMER
 * (QUEUE_PERIOD_MS) queues a DPC that completes the oldest waiting request on every tick;
 * IOCTL_IRPKIT_QUEUE_SIGNAL completes the oldest one at once. IRP_MJ_CLEANUP completes
 * the closing file object's waiting requests with STATUS_CANCELLED.
 *
 * The ownership protocol (the cancel spin lock is never taken by this driver):
 *   - pending: IoMarkIrpPending; under the queue lock, IoSetCancelRoutine(Irp, routine),
 *     then Irp->Cancel re-checked: if it is set and IoSetCancelRoutine(Irp, NULL) gives
 *     the routine back, IoCancelIrp ran before the routine was set (and called nothing),
 *     so the dispatch routine completes the request itself; otherwise it is queued - even
 *     when the cancel routine has just been called: that routine is waiting for the
 *     queue lock and will unlink it;
 *   - taking a request out (the DPC, SIGNAL, cleanup): under the queue lock, only when
 *     IoSetCancelRoutine(Irp, NULL) != NULL; a request whose routine is gone belongs to
 *     its cancel routine and stays linked for it;
 *   - the cancel routine releases the cancel spin lock with Irp->CancelIrql at once,
 *     then takes the queue lock, unlinks the request and completes it after releasing;
 *   - nothing is completed while a spin lock is held.
 *
 * DriverUnload cancels the timer (KeCancelTimer) and waits for a DPC already queued
 * (KeFlushQueuedDpcs).
 *
 * Buggy twins (drivers/bugs/): each is this file with one IRPKIT_BUG_* macro defined.
 *   IRPKIT_BUG_NO_CANCEL_RECHECK      Irp->Cancel not re-checked after setting the routine
 *   IRPKIT_BUG_PLAIN_STORE            Irp->CancelRoutine = ... instead of IoSetCancelRoutine
 *   IRPKIT_BUG_PENDING_WITHOUT_MARK   STATUS_PENDING returned without IoMarkIrpPending
 *   IRPKIT_BUG_COMPLETE_BEFORE_CLEAR  the DPC completes without clearing the cancel routine
 *   IRPKIT_BUG_CANCEL_KEEPS_LOCK      one path of the cancel routine keeps the cancel lock
 *   IRPKIT_BUG_COMPLETE_UNDER_LOCK    the cancel routine completes holding the queue lock
 *   IRPKIT_BUG_LEAK_ON_CLEANUP        cleanup dequeues the file's requests, completes one
 *
 * Written for irpkit from Microsoft's documentation of the routines it calls.
 */
#include <ntddk.h>

#include "irpkit_queue.h"

#ifndef QUEUE_PERIOD_MS
#define QUEUE_PERIOD_MS 10
#endif

#define QUEUE_DEVICE_NAME L"\\Device\\IrpkitQueue"
#define QUEUE_LINK_NAME   L"\\DosDevices\\IrpkitQueue"

typedef struct _QUEUE_EXTENSION {
    KSPIN_LOCK QueueLock; /* guards WaitQueue, Sequence and the counters */
    LIST_ENTRY WaitQueue; /* waiting IOCTL_IRPKIT_QUEUE_WAIT requests, oldest first */
    KTIMER Timer;
    KDPC TimerDpc;
    ULONG Sequence;
    /* Counters, printed at unload. */
    ULONG Queued;
    ULONG Notified;
    ULONG Cancelled;
    ULONG CancelledAtDispatch;
    ULONG CleanedUp;
} QUEUE_EXTENSION, *PQUEUE_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD QueueUnload;
DRIVER_DISPATCH QueueCreateClose;
DRIVER_DISPATCH QueueCleanup;
DRIVER_DISPATCH QueueDeviceControl;
DRIVER_CANCEL QueueCancel;
KDEFERRED_ROUTINE QueueTimerDpc;

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, DriverEntry)
#pragma alloc_text(PAGE, QueueUnload)
#pragma alloc_text(PAGE, QueueCreateClose)
#endif

static VOID QueueCompleteRequest(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING deviceName;
    UNICODE_STRING linkName;
    PDEVICE_OBJECT deviceObject = NULL;
    PQUEUE_EXTENSION ext;
    LARGE_INTEGER dueTime;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);

    RtlInitUnicodeString(&deviceName, QUEUE_DEVICE_NAME);
    status = IoCreateDevice(DriverObject, sizeof(QUEUE_EXTENSION), &deviceName, FILE_DEVICE_IRPKIT_QUEUE,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &deviceObject);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    RtlInitUnicodeString(&linkName, QUEUE_LINK_NAME);
    status = IoCreateSymbolicLink(&linkName, &deviceName);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(deviceObject);
        return status;
    }
    deviceObject->Flags |= DO_BUFFERED_IO;

    ext = (PQUEUE_EXTENSION)deviceObject->DeviceExtension;
    KeInitializeSpinLock(&ext->QueueLock);
    InitializeListHead(&ext->WaitQueue);
    KeInitializeDpc(&ext->TimerDpc, QueueTimerDpc, ext);
    KeInitializeTimer(&ext->Timer);

    DriverObject->MajorFunction[IRP_MJ_CREATE] = QueueCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = QueueCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = QueueCleanup;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = QueueDeviceControl;
    DriverObject->DriverUnload = QueueUnload;

    /* The periodic tick: first after one period, then every period. */
    dueTime.QuadPart = Int32x32To64(QUEUE_PERIOD_MS * 1000, -10);
    KeSetTimerEx(&ext->Timer, dueTime, QUEUE_PERIOD_MS, &ext->TimerDpc);

    KdPrint(("IrpkitQueue: loaded (period %d ms)\n", QUEUE_PERIOD_MS));
    return STATUS_SUCCESS;
}

VOID QueueUnload(PDRIVER_OBJECT DriverObject)
{
    PDEVICE_OBJECT deviceObject = DriverObject->DeviceObject;
    PQUEUE_EXTENSION ext = (PQUEUE_EXTENSION)deviceObject->DeviceExtension;
    UNICODE_STRING linkName;

    PAGED_CODE();

    /* Stop the tick, then wait for a DPC the timer queued before it was cancelled. */
    KeCancelTimer(&ext->Timer);
    KeFlushQueuedDpcs();

    /* Every handle was closed (cleanup emptied the queue of its file objects). */
    ASSERT(IsListEmpty(&ext->WaitQueue));
    KdPrint(("IrpkitQueue: unload: queued %u notified %u cancelled %u cancelled-at-dispatch %u cleaned-up %u\n",
             ext->Queued, ext->Notified, ext->Cancelled, ext->CancelledAtDispatch, ext->CleanedUp));

    RtlInitUnicodeString(&linkName, QUEUE_LINK_NAME);
    IoDeleteSymbolicLink(&linkName);
    IoDeleteDevice(deviceObject);
}

NTSTATUS QueueCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    PAGED_CODE();

    QueueCompleteRequest(Irp, STATUS_SUCCESS, 0);
    return STATUS_SUCCESS;
}

/*
 * Takes the oldest waiting request out of the queue, if any can be taken. Called with the
 * queue lock held.
 */
static PIRP QueueTakeOldest(PQUEUE_EXTENSION Ext)
{
    PLIST_ENTRY entry;
    PIRP irp;

    for (entry = Ext->WaitQueue.Flink; entry != &Ext->WaitQueue; entry = entry->Flink) {
        irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
#ifdef IRPKIT_BUG_COMPLETE_BEFORE_CLEAR
        /* Bug: takes the request with its cancel routine still set. */
        RemoveEntryList(entry);
        return irp;
#else
        if (IoSetCancelRoutine(irp, NULL) != NULL) {
            RemoveEntryList(entry);
            return irp;
        }
        /* Its cancel routine is running (IoCancelIrp took the routine): the routine
         * waits for the queue lock and unlinks it itself. Try the next one. */
#endif
    }
    return NULL;
}

/*
 * Completes a request taken out of the queue: the next notification. Called with no lock.
 */
static VOID QueueNotify(PQUEUE_EXTENSION Ext, PIRP Irp, ULONG Sequence, ULONG Reason)
{
    PIRPKIT_NOTIFICATION record = (PIRPKIT_NOTIFICATION)Irp->AssociatedIrp.SystemBuffer;

    UNREFERENCED_PARAMETER(Ext);
    if (record != NULL) {
        record->Sequence = Sequence;
        record->Reason = Reason;
    }
    QueueCompleteRequest(Irp, STATUS_SUCCESS, sizeof(IRPKIT_NOTIFICATION));
}

/*
 * The periodic tick, at DISPATCH_LEVEL: completes the oldest waiting request.
 */
VOID QueueTimerDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    PQUEUE_EXTENSION ext = (PQUEUE_EXTENSION)DeferredContext;
    PIRP irp;
    ULONG sequence = 0;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);

    KeAcquireSpinLockAtDpcLevel(&ext->QueueLock);
    irp = QueueTakeOldest(ext);
    if (irp != NULL) {
        sequence = ++ext->Sequence;
        ext->Notified++;
    }
    KeReleaseSpinLockFromDpcLevel(&ext->QueueLock);

    if (irp != NULL) {
        QueueNotify(ext, irp, sequence, IRPKIT_NOTIFY_TIMER);
    }
}

/*
 * IOCTL_IRPKIT_QUEUE_WAIT: queues the request with its cancel routine.
 */
static NTSTATUS QueuePendNotification(PQUEUE_EXTENSION Ext, PIRP Irp)
{
    KIRQL irql;

#ifndef IRPKIT_BUG_PENDING_WITHOUT_MARK
    /* Before the request is visible to anyone else: it may complete at any moment. */
    IoMarkIrpPending(Irp);
#endif

    KeAcquireSpinLock(&Ext->QueueLock, &irql);
#ifdef IRPKIT_BUG_PLAIN_STORE
    /* Bug: a plain store, racing IoCancelIrp's exchange. */
    Irp->CancelRoutine = QueueCancel;
#else
    (VOID)IoSetCancelRoutine(Irp, QueueCancel);
#endif
#ifndef IRPKIT_BUG_NO_CANCEL_RECHECK
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
        /* IoCancelIrp ran before the routine was set and called nothing: ours. */
        Ext->CancelledAtDispatch++;
        KeReleaseSpinLock(&Ext->QueueLock, irql);
        QueueCompleteRequest(Irp, STATUS_CANCELLED, 0);
        return STATUS_PENDING;
    }
#endif
    /* Queued - also when IoCancelIrp has just taken the routine: the cancel routine is
     * waiting for this lock and will unlink the request. */
    InsertTailList(&Ext->WaitQueue, &Irp->Tail.Overlay.ListEntry);
    Ext->Queued++;
    KeReleaseSpinLock(&Ext->QueueLock, irql);
    return STATUS_PENDING;
}

NTSTATUS QueueDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PQUEUE_EXTENSION ext = (PQUEUE_EXTENSION)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION irpSp = IoGetCurrentIrpStackLocation(Irp);
    PIRP oldest;
    ULONG sequence = 0;
    KIRQL irql;
    NTSTATUS status;

    switch (irpSp->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_IRPKIT_QUEUE_WAIT:
        if (irpSp->Parameters.DeviceIoControl.OutputBufferLength < sizeof(IRPKIT_NOTIFICATION)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        return QueuePendNotification(ext, Irp);

    case IOCTL_IRPKIT_QUEUE_SIGNAL:
        KeAcquireSpinLock(&ext->QueueLock, &irql);
        oldest = QueueTakeOldest(ext);
        if (oldest != NULL) {
            sequence = ++ext->Sequence;
            ext->Notified++;
        }
        KeReleaseSpinLock(&ext->QueueLock, irql);
        if (oldest != NULL) {
            QueueNotify(ext, oldest, sequence, IRPKIT_NOTIFY_SIGNAL);
            status = STATUS_SUCCESS;
        } else {
            status = STATUS_NOT_FOUND;
        }
        break;

    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    QueueCompleteRequest(Irp, status, 0);
    return status;
}

/*
 * IRP_MJ_CLEANUP: the last handle of a file object was closed. Its waiting requests are
 * completed STATUS_CANCELLED (those whose cancel routine already runs are left to it).
 */
NTSTATUS QueueCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PQUEUE_EXTENSION ext = (PQUEUE_EXTENSION)DeviceObject->DeviceExtension;
    PFILE_OBJECT fileObject = IoGetCurrentIrpStackLocation(Irp)->FileObject;
    LIST_ENTRY mine;
    PLIST_ENTRY entry;
    PLIST_ENTRY next;
    PIRP pending;
    KIRQL irql;
#ifdef IRPKIT_BUG_LEAK_ON_CLEANUP
    ULONG completed = 0;
#endif

    InitializeListHead(&mine);
    KeAcquireSpinLock(&ext->QueueLock, &irql);
    for (entry = ext->WaitQueue.Flink; entry != &ext->WaitQueue; entry = next) {
        next = entry->Flink;
        pending = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
        if (IoGetCurrentIrpStackLocation(pending)->FileObject == fileObject &&
            IoSetCancelRoutine(pending, NULL) != NULL) {
            RemoveEntryList(entry);
            InsertTailList(&mine, entry);
            ext->CleanedUp++;
        }
    }
    KeReleaseSpinLock(&ext->QueueLock, irql);

    /* Completed with no lock held. */
    while (!IsListEmpty(&mine)) {
        entry = RemoveHeadList(&mine);
        pending = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
#ifdef IRPKIT_BUG_LEAK_ON_CLEANUP
        /* Bug: only the first is completed; the others are dropped. */
        if (completed++ > 0) {
            continue;
        }
#endif
        QueueCompleteRequest(pending, STATUS_CANCELLED, 0);
    }

    QueueCompleteRequest(Irp, STATUS_SUCCESS, 0);
    return STATUS_SUCCESS;
}

/*
 * The cancel routine: called by IoCancelIrp with the cancel spin lock held, for a request
 * whose routine it took - a request that is (or, once the dispatch routine releases the
 * queue lock, will be) linked in the queue, and that nobody else will take out.
 */
VOID QueueCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PQUEUE_EXTENSION ext = (PQUEUE_EXTENSION)DeviceObject->DeviceExtension;
    KIRQL irql;

#ifdef IRPKIT_BUG_CANCEL_KEEPS_LOCK
    /* Bug: "the oldest request is the timer's next one anyway" - this path returns
     * holding the cancel spin lock (and leaves the request to nobody). */
    if (ext->WaitQueue.Flink == &Irp->Tail.Overlay.ListEntry) {
        return;
    }
#endif
    /* The cancel spin lock guards nothing of ours: release it at once. */
    IoReleaseCancelSpinLock(Irp->CancelIrql);

    KeAcquireSpinLock(&ext->QueueLock, &irql);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    ext->Cancelled++;
#ifdef IRPKIT_BUG_COMPLETE_UNDER_LOCK
    /* Bug: completed with the queue lock still held. */
    QueueCompleteRequest(Irp, STATUS_CANCELLED, 0);
    KeReleaseSpinLock(&ext->QueueLock, irql);
#else
    KeReleaseSpinLock(&ext->QueueLock, irql);
    QueueCompleteRequest(Irp, STATUS_CANCELLED, 0);
#endif
}
