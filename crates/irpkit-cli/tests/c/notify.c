/*
 * irpkit_notify: event-based notification as a WDM driver does it. IOCTL_NOTIFY_REGISTER
 * (METHOD_BUFFERED) carries a NOTIFY_REGISTER record: a due time and the handle of an
 * event the application created. The driver references the event by its handle
 * (ObReferenceObjectByHandle, type-checked against *ExEventObjectType, in the requester's
 * mode), arms a timer, completes the request, and the timer's DPC signals the event and
 * drops the reference.
 */
#include <ntddk.h>

#define IOCTL_NOTIFY_REGISTER CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _NOTIFY_REGISTER {
    LONGLONG DueTime;   /* relative, 100 ns units (negative) */
    HANDLE Event;       /* at offset 8 */
} NOTIFY_REGISTER, *PNOTIFY_REGISTER;

typedef struct _NOTIFY_EXTENSION {
    KTIMER Timer;
    KDPC Dpc;
    PKEVENT Event;      /* referenced while the timer is armed */
} NOTIFY_EXTENSION, *PNOTIFY_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD NotifyUnload;
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) _Dispatch_type_(IRP_MJ_CLEANUP)
DRIVER_DISPATCH NotifyCreateClose;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) DRIVER_DISPATCH NotifyDeviceControl;
KDEFERRED_ROUTINE NotifyTimerDpc;

static NTSTATUS NotifyComplete(PIRP Irp, NTSTATUS Status)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

NTSTATUS NotifyCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    return NotifyComplete(Irp, STATUS_SUCCESS);
}

VOID NotifyTimerDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    PNOTIFY_EXTENSION ext = Context;
    PKEVENT event = ext->Event;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Arg1);
    UNREFERENCED_PARAMETER(Arg2);
    ext->Event = NULL;
    KdPrint(("irpkit_notify: timer: signalling the event\n"));
    KeSetEvent(event, IO_NO_INCREMENT, FALSE);
    ObDereferenceObject(event);
}

NTSTATUS NotifyDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PNOTIFY_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    PNOTIFY_REGISTER record = Irp->AssociatedIrp.SystemBuffer;
    PVOID object;
    LARGE_INTEGER due;
    NTSTATUS status;

    if (sl->Parameters.DeviceIoControl.IoControlCode != IOCTL_NOTIFY_REGISTER) {
        return NotifyComplete(Irp, STATUS_INVALID_DEVICE_REQUEST);
    }
    if (sl->Parameters.DeviceIoControl.InputBufferLength < sizeof(NOTIFY_REGISTER) || ext->Event != NULL) {
        return NotifyComplete(Irp, STATUS_INVALID_PARAMETER);
    }
    status = ObReferenceObjectByHandle(record->Event, EVENT_MODIFY_STATE, *ExEventObjectType, Irp->RequestorMode,
                                       &object, NULL);
    if (!NT_SUCCESS(status)) {
        KdPrint(("irpkit_notify: ObReferenceObjectByHandle failed 0x%08x\n", status));
        return NotifyComplete(Irp, status);
    }
    ext->Event = object;
    due.QuadPart = record->DueTime;
    KeSetTimer(&ext->Timer, due, &ext->Dpc);
    KdPrint(("irpkit_notify: registered\n"));
    return NotifyComplete(Irp, STATUS_SUCCESS);
}

VOID NotifyUnload(PDRIVER_OBJECT DriverObject)
{
    PDEVICE_OBJECT device = DriverObject->DeviceObject;
    PNOTIFY_EXTENSION ext = device->DeviceExtension;
    UNICODE_STRING link;

    if (KeCancelTimer(&ext->Timer) && ext->Event != NULL) {
        ObDereferenceObject(ext->Event);
    }
    KeFlushQueuedDpcs();
    RtlInitUnicodeString(&link, L"\\DosDevices\\IrpkitNotify");
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(device);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING name, link;
    PDEVICE_OBJECT device;
    PNOTIFY_EXTENSION ext;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    RtlInitUnicodeString(&name, L"\\Device\\IrpkitNotify");
    status = IoCreateDevice(DriverObject, sizeof(NOTIFY_EXTENSION), &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    ext = device->DeviceExtension;
    KeInitializeTimer(&ext->Timer);
    KeInitializeDpc(&ext->Dpc, NotifyTimerDpc, ext);
    ext->Event = NULL;
    device->Flags |= DO_BUFFERED_IO;
    RtlInitUnicodeString(&link, L"\\DosDevices\\IrpkitNotify");
    status = IoCreateSymbolicLink(&link, &name);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(device);
        return status;
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = NotifyCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = NotifyCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = NotifyCreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = NotifyDeviceControl;
    DriverObject->DriverUnload = NotifyUnload;
    return STATUS_SUCCESS;
}
