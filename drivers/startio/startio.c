/*
 * startio.c - irpkit WDM sample: a StartIo driver and the cancel routine of
 * "Cancel Routines in Drivers with StartIo Routines".
 *
 * Device \Device\IrpkitStartIo, symbolic link \DosDevices\IrpkitStartIo (\\.\IrpkitStartIo).
 *
 * Reads go through the device queue: the dispatch routine marks each read pending and
 * hands it to IoStartPacket together with the cancel routine. StartIo sets the
 * "hardware" going: a KTIMER whose KDPC fires STARTIO_TRANSFER_MS milliseconds later and
 * finishes the transfer (all N bytes of the read). The DPC starts the next packet with
 * IoStartNextPacket and completes the IRP that was current.
 *
 * Who finishes an IRP, which is what the seed page is about:
 *   - queued in the device queue: the cancel routine takes it out with
 *     KeRemoveEntryDeviceQueue and completes it STATUS_CANCELLED;
 *   - CurrentIrp (on the hardware): the cancel routine only releases the cancel spin lock;
 *     the DPC finds the cancel routine gone (IoSetCancelRoutine(Irp, NULL) == NULL) and
 *     completes the IRP STATUS_CANCELLED instead of STATUS_SUCCESS;
 *   - neither (the DPC has already started the next packet but not yet completed this
 *     one): KeRemoveEntryDeviceQueue returns FALSE and the cancel routine only releases
 *     the lock; the DPC completes it;
 *   - cancelled before it reached StartIo (IoCancelIrp ran before the cancel routine was
 *     set, or between the dequeue and StartIo): StartIo sees Irp->Cancel, completes it
 *     STATUS_CANCELLED and starts the next packet.
 *
 * IoSetStartIoAttributes(DeferredStartIo = TRUE): the IoStartNextPacket that StartIo
 * calls for a cancelled IRP does not re-enter StartIo; it runs when StartIo returns.
 *
 * Buggy twins (drivers/bugs/): each is this file with one IRPKIT_BUG_* macro defined.
 *   IRPKIT_BUG_CANCEL_COMPLETES_CURRENT  the cancel routine completes CurrentIrp too
 *   IRPKIT_BUG_IGNORES_REMOVE_ENTRY      KeRemoveEntryDeviceQueue's FALSE is ignored
 *   IRPKIT_BUG_STARTIO_RECURSION         no DeferredStartIo: StartIo recurses
 *
 * Written for irpkit from Microsoft's documentation of the routines it calls.
 */
#include <ntddk.h>

#ifndef STARTIO_TRANSFER_MS
#define STARTIO_TRANSFER_MS 1
#endif

#define STARTIO_DEVICE_NAME L"\\Device\\IrpkitStartIo"
#define STARTIO_LINK_NAME   L"\\DosDevices\\IrpkitStartIo"

typedef struct _STARTIO_EXTENSION {
    PDEVICE_OBJECT DeviceObject;
    KTIMER TransferTimer; /* the "hardware": one transfer at a time */
    KDPC TransferDpc;     /* its completion interrupt, as a DPC */
    /* Counters (changed only at DISPATCH_LEVEL under the cancel spin lock, or by the one
     * DPC), printed at unload. */
    LONG Started;
    LONG Transferred;
    LONG CancelledQueued;
    LONG CancelledCurrent;
    LONG CancelledBeforeStart;
} STARTIO_EXTENSION, *PSTARTIO_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD StartIoUnload;
DRIVER_DISPATCH StartIoCreateClose;
DRIVER_DISPATCH StartIoRead;
DRIVER_STARTIO StartIoStartIo;
DRIVER_CANCEL StartIoCancel;
KDEFERRED_ROUTINE StartIoTransferDpc;

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, DriverEntry)
#pragma alloc_text(PAGE, StartIoUnload)
#pragma alloc_text(PAGE, StartIoCreateClose)
#endif

static VOID StartIoCompleteRequest(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, Status == STATUS_SUCCESS ? IO_SERIAL_INCREMENT : IO_NO_INCREMENT);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING deviceName;
    UNICODE_STRING linkName;
    PDEVICE_OBJECT deviceObject = NULL;
    PSTARTIO_EXTENSION ext;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);

    RtlInitUnicodeString(&deviceName, STARTIO_DEVICE_NAME);
    status = IoCreateDevice(DriverObject, sizeof(STARTIO_EXTENSION), &deviceName, FILE_DEVICE_UNKNOWN,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &deviceObject);
    if (!NT_SUCCESS(status)) {
        KdPrint(("IrpkitStartIo: IoCreateDevice failed 0x%08x\n", status));
        return status;
    }

    ext = (PSTARTIO_EXTENSION)deviceObject->DeviceExtension;
    ext->DeviceObject = deviceObject;
    KeInitializeTimer(&ext->TransferTimer);
    KeInitializeDpc(&ext->TransferDpc, StartIoTransferDpc, deviceObject);

    RtlInitUnicodeString(&linkName, STARTIO_LINK_NAME);
    status = IoCreateSymbolicLink(&linkName, &deviceName);
    if (!NT_SUCCESS(status)) {
        KdPrint(("IrpkitStartIo: IoCreateSymbolicLink failed 0x%08x\n", status));
        IoDeleteDevice(deviceObject);
        return status;
    }

    deviceObject->Flags |= DO_BUFFERED_IO;

#ifndef IRPKIT_BUG_STARTIO_RECURSION
    /* StartIo calls IoStartNextPacket for an IRP cancelled before it started: deferred,
     * so StartIo is never re-entered. */
    IoSetStartIoAttributes(deviceObject, TRUE, FALSE);
#endif

    DriverObject->MajorFunction[IRP_MJ_CREATE] = StartIoCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = StartIoCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = StartIoCreateClose;
    DriverObject->MajorFunction[IRP_MJ_READ] = StartIoRead;
    DriverObject->DriverStartIo = StartIoStartIo;
    DriverObject->DriverUnload = StartIoUnload;

    KdPrint(("IrpkitStartIo: loaded (transfer %d ms)\n", STARTIO_TRANSFER_MS));
    return STATUS_SUCCESS;
}

VOID StartIoUnload(PDRIVER_OBJECT DriverObject)
{
    PDEVICE_OBJECT deviceObject = DriverObject->DeviceObject;
    PSTARTIO_EXTENSION ext = (PSTARTIO_EXTENSION)deviceObject->DeviceExtension;
    UNICODE_STRING linkName;

    PAGED_CODE();

    /* No handle is open, so no transfer runs; stop the timer anyway and let a DPC that is
     * already queued finish before the code goes away. */
    KeCancelTimer(&ext->TransferTimer);
    KeFlushQueuedDpcs();

    KdPrint(("IrpkitStartIo: unload: started %d transferred %d cancelled-queued %d cancelled-current %d "
             "cancelled-before-start %d\n",
             ext->Started, ext->Transferred, ext->CancelledQueued, ext->CancelledCurrent,
             ext->CancelledBeforeStart));

    RtlInitUnicodeString(&linkName, STARTIO_LINK_NAME);
    IoDeleteSymbolicLink(&linkName);
    IoDeleteDevice(deviceObject);
}

NTSTATUS StartIoCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    PAGED_CODE();

    /* CREATE, CLOSE and CLEANUP: nothing to do. A read outstanding at cleanup is at most
     * a few transfers from completion; it finishes normally. */
    StartIoCompleteRequest(Irp, STATUS_SUCCESS, 0);
    return STATUS_SUCCESS;
}

NTSTATUS StartIoRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION irpSp = IoGetCurrentIrpStackLocation(Irp);

    if (irpSp->Parameters.Read.Length == 0) {
        StartIoCompleteRequest(Irp, STATUS_SUCCESS, 0);
        return STATUS_SUCCESS;
    }

    /* Marked pending before it is queued: from here on the IRP may complete at any time. */
    IoMarkIrpPending(Irp);
    IoStartPacket(DeviceObject, Irp, NULL, StartIoCancel);
    return STATUS_PENDING;
}

/*
 * StartIo: runs at DISPATCH_LEVEL with Irp == DeviceObject->CurrentIrp.
 */
VOID StartIoStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSTARTIO_EXTENSION ext = (PSTARTIO_EXTENSION)DeviceObject->DeviceExtension;
    LARGE_INTEGER dueTime;
    KIRQL cancelIrql;

    IoAcquireCancelSpinLock(&cancelIrql);
    if (Irp->Cancel) {
        /*
         * Cancelled before the hardware got it. Either IoCancelIrp called the cancel
         * routine, which saw CurrentIrp and left the IRP to us, or IoCancelIrp ran before
         * the routine was set and called nothing: in both cases StartIo finishes it.
         */
        (VOID)IoSetCancelRoutine(Irp, NULL);
        ext->CancelledBeforeStart++;
        IoReleaseCancelSpinLock(cancelIrql);
        StartIoCompleteRequest(Irp, STATUS_CANCELLED, 0);
        IoStartNextPacket(DeviceObject, TRUE);
        return;
    }
    /* The cancel routine stays set: a transfer can be cancelled while on the hardware. */
    ext->Started++;
    IoReleaseCancelSpinLock(cancelIrql);

    dueTime.QuadPart = Int32x32To64(STARTIO_TRANSFER_MS * 1000, -10);
    KeSetTimer(&ext->TransferTimer, dueTime, &ext->TransferDpc);
}

/*
 * The transfer's end: DeferredContext is the device object.
 */
VOID StartIoTransferDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    PDEVICE_OBJECT deviceObject = (PDEVICE_OBJECT)DeferredContext;
    PSTARTIO_EXTENSION ext = (PSTARTIO_EXTENSION)deviceObject->DeviceExtension;
    PIRP irp;
    BOOLEAN cancelled;
    KIRQL cancelIrql;
    ULONG length;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);

    IoAcquireCancelSpinLock(&cancelIrql);
    irp = deviceObject->CurrentIrp;
    IoReleaseCancelSpinLock(cancelIrql);
    if (irp == NULL) {
        return;
    }

    /*
     * The hardware is free: start the next packet first (CurrentIrp moves on), then finish
     * this one. From here until the cancel routine is cleared below, a cancel of this IRP
     * finds it neither current nor queued and leaves it to us.
     */
    IoStartNextPacket(deviceObject, TRUE);

    IoAcquireCancelSpinLock(&cancelIrql);
    cancelled = (IoSetCancelRoutine(irp, NULL) == NULL);
    if (cancelled) {
        ext->CancelledCurrent++;
    } else {
        ext->Transferred++;
    }
    IoReleaseCancelSpinLock(cancelIrql);

    if (cancelled) {
        /* IoCancelIrp took the routine (which left the IRP to us): the transfer stops. */
        StartIoCompleteRequest(irp, STATUS_CANCELLED, 0);
    } else {
        length = IoGetCurrentIrpStackLocation(irp)->Parameters.Read.Length;
        if (irp->AssociatedIrp.SystemBuffer != NULL) {
            RtlFillMemory(irp->AssociatedIrp.SystemBuffer, length, 0x5A);
        }
        StartIoCompleteRequest(irp, STATUS_SUCCESS, length);
    }
}

/*
 * The cancel routine, as "Cancel Routines in Drivers with StartIo Routines" says. Called
 * with the cancel spin lock held.
 */
VOID StartIoCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PSTARTIO_EXTENSION ext = (PSTARTIO_EXTENSION)DeviceObject->DeviceExtension;
    BOOLEAN removed;

    /* 1. The current IRP: StartIo and its DPC own it; release the lock and return. */
    if (Irp == DeviceObject->CurrentIrp) {
        IoReleaseCancelSpinLock(Irp->CancelIrql);
#ifdef IRPKIT_BUG_CANCEL_COMPLETES_CURRENT
        /* Bug: "stop the transfer now" - but the DPC completes CurrentIrp as well. */
        StartIoCompleteRequest(Irp, STATUS_CANCELLED, 0);
#endif
        return;
    }

    /* 2. Otherwise it may be in the device queue, at any position. */
    removed = KeRemoveEntryDeviceQueue(&DeviceObject->DeviceQueue, &Irp->Tail.Overlay.DeviceQueueEntry);
    if (removed) {
        ext->CancelledQueued++;
    }
#ifdef IRPKIT_BUG_IGNORES_REMOVE_ENTRY
    /* Bug: "it was cancelled, so it is ours" - not when it already left the queue. */
    removed = TRUE;
#endif
    if (removed) {
        /* Removed from the device queue: the IRP is ours to complete. */
        IoReleaseCancelSpinLock(Irp->CancelIrql);
        StartIoCompleteRequest(Irp, STATUS_CANCELLED, 0);
        return;
    }

    /* Not in the device queue: it has left for the hardware; whoever took it finishes it. */
    IoReleaseCancelSpinLock(Irp->CancelIrql);
}
