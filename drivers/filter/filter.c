/*
 * filter.c - irpkit WDM sample: a filter driver layered over another sample's device.
 *
 * Device \Device\IrpkitFilter, symbolic link \DosDevices\IrpkitFilter (\\.\IrpkitFilter),
 * attached with IoAttachDevice over FILTER_LOWER_DEVICE (default \Device\IrpkitCsq, the
 * csq sample; \Device\IrpkitStartIo works as well). Load it after the lower driver.
 *
 * Three ways of passing a request down, each for its own request types:
 *   - reads (IRP_MJ_READ): IoCopyCurrentIrpStackLocationToNext and a completion routine
 *     that counts how each read ended and propagates the pending state
 *     (if (Irp->PendingReturned) IoMarkIrpPending(Irp)); the dispatch routine returns
 *     whatever IoCallDriver returned;
 *   - FILTER_SYNCHRONOUS_MAJOR (default IRP_MJ_CREATE): forwarded synchronously: the
 *     completion routine returns STATUS_MORE_PROCESSING_REQUIRED and sets an event (only
 *     if the lower driver returned STATUS_PENDING), the dispatch routine waits for it,
 *     looks at the result at PASSIVE_LEVEL and completes the IRP again itself;
 *   - everything else: IoSkipCurrentIrpStackLocation, no completion routine.
 *
 * Cancellation needs nothing from the filter: IoCancelIrp calls the cancel routine the
 * lower driver set, and the completion comes back up through the filter's routine.
 *
 * Written for irpkit from Microsoft's documentation of the routines it calls.
 */
#include <ntddk.h>

#ifndef FILTER_LOWER_DEVICE
#define FILTER_LOWER_DEVICE L"\\Device\\IrpkitCsq"
#endif
#ifndef FILTER_SYNCHRONOUS_MAJOR
#define FILTER_SYNCHRONOUS_MAJOR IRP_MJ_CREATE
#endif

#define FILTER_DEVICE_NAME L"\\Device\\IrpkitFilter"
#define FILTER_LINK_NAME   L"\\DosDevices\\IrpkitFilter"

typedef struct _FILTER_EXTENSION {
    PDEVICE_OBJECT LowerDeviceObject; /* what IoAttachDevice attached us to */
    /* Counters, printed at unload. */
    volatile LONG ReadsSucceeded;
    volatile LONG ReadsCancelled;
    volatile LONG ReadsFailed;
    volatile LONG ReadsPended;
    volatile LONG Synchronous;
    volatile LONG Skipped;
} FILTER_EXTENSION, *PFILTER_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD FilterUnload;
DRIVER_DISPATCH FilterPass;
DRIVER_DISPATCH FilterRead;
DRIVER_DISPATCH FilterForwardAndWait;
IO_COMPLETION_ROUTINE FilterReadComplete;
IO_COMPLETION_ROUTINE FilterSynchronousComplete;

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, DriverEntry)
#pragma alloc_text(PAGE, FilterUnload)
#pragma alloc_text(PAGE, FilterForwardAndWait)
#endif

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING deviceName;
    UNICODE_STRING linkName;
    UNICODE_STRING lowerName;
    PDEVICE_OBJECT filterDevice = NULL;
    PDEVICE_OBJECT lowerDevice;
    PFILTER_EXTENSION ext;
    NTSTATUS status;
    ULONG i;

    UNREFERENCED_PARAMETER(RegistryPath);

    for (i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++) {
        DriverObject->MajorFunction[i] = FilterPass;
    }
    DriverObject->MajorFunction[IRP_MJ_READ] = FilterRead;
    DriverObject->MajorFunction[FILTER_SYNCHRONOUS_MAJOR] = FilterForwardAndWait;
    DriverObject->DriverUnload = FilterUnload;

    RtlInitUnicodeString(&deviceName, FILTER_DEVICE_NAME);
    status = IoCreateDevice(DriverObject, sizeof(FILTER_EXTENSION), &deviceName, FILE_DEVICE_UNKNOWN,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &filterDevice);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    ext = (PFILTER_EXTENSION)filterDevice->DeviceExtension;

    RtlInitUnicodeString(&lowerName, FILTER_LOWER_DEVICE);
    status = IoAttachDevice(filterDevice, &lowerName, &ext->LowerDeviceObject);
    if (!NT_SUCCESS(status)) {
        KdPrint(("IrpkitFilter: IoAttachDevice(%wZ) failed 0x%08x\n", &lowerName, status));
        IoDeleteDevice(filterDevice);
        return status;
    }
    lowerDevice = ext->LowerDeviceObject;

    /* One stack location more than the device below, and its I/O method. */
    filterDevice->StackSize = (CCHAR)(lowerDevice->StackSize + 1);
    filterDevice->Flags |= lowerDevice->Flags & (DO_BUFFERED_IO | DO_DIRECT_IO);
    filterDevice->DeviceType = lowerDevice->DeviceType;
    filterDevice->Characteristics = lowerDevice->Characteristics;

    RtlInitUnicodeString(&linkName, FILTER_LINK_NAME);
    status = IoCreateSymbolicLink(&linkName, &deviceName);
    if (!NT_SUCCESS(status)) {
        IoDetachDevice(lowerDevice);
        IoDeleteDevice(filterDevice);
        return status;
    }

    KdPrint(("IrpkitFilter: attached over %wZ (stack size %d)\n", &lowerName, filterDevice->StackSize));
    return STATUS_SUCCESS;
}

VOID FilterUnload(PDRIVER_OBJECT DriverObject)
{
    PDEVICE_OBJECT filterDevice = DriverObject->DeviceObject;
    PFILTER_EXTENSION ext = (PFILTER_EXTENSION)filterDevice->DeviceExtension;
    UNICODE_STRING linkName;

    PAGED_CODE();

    KdPrint(("IrpkitFilter: unload: reads succeeded %d cancelled %d failed %d pended %d; synchronous %d "
             "skipped %d\n",
             ext->ReadsSucceeded, ext->ReadsCancelled, ext->ReadsFailed, ext->ReadsPended, ext->Synchronous,
             ext->Skipped));

    IoDetachDevice(ext->LowerDeviceObject);
    RtlInitUnicodeString(&linkName, FILTER_LINK_NAME);
    IoDeleteSymbolicLink(&linkName);
    IoDeleteDevice(filterDevice);
}

/* Every request type without a routine of its own: passed down untouched. */
NTSTATUS FilterPass(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PFILTER_EXTENSION ext = (PFILTER_EXTENSION)DeviceObject->DeviceExtension;

    InterlockedIncrement(&ext->Skipped);
    IoSkipCurrentIrpStackLocation(Irp);
    return IoCallDriver(ext->LowerDeviceObject, Irp);
}

/* Reads: passed down with a completion routine. */
NTSTATUS FilterRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PFILTER_EXTENSION ext = (PFILTER_EXTENSION)DeviceObject->DeviceExtension;
    NTSTATUS status;

    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, FilterReadComplete, ext, TRUE, TRUE, TRUE);
    status = IoCallDriver(ext->LowerDeviceObject, Irp);
    if (status == STATUS_PENDING) {
        InterlockedIncrement(&ext->ReadsPended);
    }
    /* The IRP may be gone already: only the returned status is looked at. */
    return status;
}

NTSTATUS FilterReadComplete(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    PFILTER_EXTENSION ext = (PFILTER_EXTENSION)Context;

    UNREFERENCED_PARAMETER(DeviceObject);

    /* The dispatch routine returned what the lower driver returned: if that was
     * STATUS_PENDING, this location must be marked pending too. */
    if (Irp->PendingReturned) {
        IoMarkIrpPending(Irp);
    }
    if (Irp->IoStatus.Status == STATUS_SUCCESS) {
        InterlockedIncrement(&ext->ReadsSucceeded);
    } else if (Irp->IoStatus.Status == STATUS_CANCELLED) {
        InterlockedIncrement(&ext->ReadsCancelled);
    } else {
        InterlockedIncrement(&ext->ReadsFailed);
    }
    return STATUS_CONTINUE_COMPLETION;
}

/*
 * FILTER_SYNCHRONOUS_MAJOR: forwarded synchronously, finished here at PASSIVE_LEVEL.
 */
NTSTATUS FilterForwardAndWait(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PFILTER_EXTENSION ext = (PFILTER_EXTENSION)DeviceObject->DeviceExtension;
    KEVENT event;
    NTSTATUS status;

    PAGED_CODE();

    KeInitializeEvent(&event, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, FilterSynchronousComplete, &event, TRUE, TRUE, TRUE);
    status = IoCallDriver(ext->LowerDeviceObject, Irp);
    if (status == STATUS_PENDING) {
        KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
        status = Irp->IoStatus.Status;
    }

    /* The IRP is ours again (the completion routine stopped its completion). */
    InterlockedIncrement(&ext->Synchronous);
    KdPrint(("IrpkitFilter: %s finished below with 0x%08x, %u bytes\n",
             IoGetCurrentIrpStackLocation(Irp)->MajorFunction == IRP_MJ_CREATE ? "create" : "request", status,
             (ULONG)Irp->IoStatus.Information));

    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

NTSTATUS FilterSynchronousComplete(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    UNREFERENCED_PARAMETER(DeviceObject);

    /* The dispatch routine waits only when the lower driver returned STATUS_PENDING. */
    if (Irp->PendingReturned) {
        KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
    }
    return STATUS_MORE_PROCESSING_REQUIRED;
}
