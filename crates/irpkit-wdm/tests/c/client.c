/*
 * A driver that uses another driver's device as a client: in DriverEntry it opens
 * \Device\IrpkitCsq with IoGetDeviceObjectPointer, sends it one read built with
 * IoBuildSynchronousFsdRequest on the file object it got, waits for it, and lets go of the
 * file object (ObDereferenceObject: the csq driver sees the cleanup and the close). It
 * prints what it saw and fails DriverEntry if a step did not go as documented.
 */
#include <ntddk.h>

DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD ClientUnload;

#define CLIENT_LENGTH 8

VOID ClientUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING name;
    PFILE_OBJECT fileObject = NULL;
    PDEVICE_OBJECT deviceObject = NULL;
    UCHAR buffer[CLIENT_LENGTH];
    IO_STATUS_BLOCK iosb;
    KEVENT event;
    PIRP irp;
    NTSTATUS status;
    ULONG i, filled = 0;

    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = ClientUnload;

    RtlInitUnicodeString(&name, L"\\Device\\NoSuchDevice");
    status = IoGetDeviceObjectPointer(&name, FILE_READ_DATA, &fileObject, &deviceObject);
    DbgPrint("client: missing device 0x%08x\n", status);

    RtlInitUnicodeString(&name, L"\\Device\\IrpkitCsq");
    status = IoGetDeviceObjectPointer(&name, FILE_READ_DATA, &fileObject, &deviceObject);
    if (!NT_SUCCESS(status)) {
        DbgPrint("client: IoGetDeviceObjectPointer failed 0x%08x\n", status);
        return status;
    }
    if (IoGetRelatedDeviceObject(fileObject) != deviceObject) {
        DbgPrint("client: the device is not the file's related device\n");
        ObDereferenceObject(fileObject);
        return STATUS_UNSUCCESSFUL;
    }

    RtlZeroMemory(buffer, sizeof(buffer));
    KeInitializeEvent(&event, NotificationEvent, FALSE);
    irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, deviceObject, buffer, CLIENT_LENGTH, NULL, &event, &iosb);
    if (irp == NULL) {
        ObDereferenceObject(fileObject);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    IoGetNextIrpStackLocation(irp)->FileObject = fileObject;
    status = IoCallDriver(deviceObject, irp);
    if (status == STATUS_PENDING) {
        KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
        status = iosb.Status;
    }
    for (i = 0; i < CLIENT_LENGTH; i++) {
        if (buffer[i] == 0xA5) {
            filled++;
        }
    }
    DbgPrint("client: read 0x%08x, %Iu bytes, %u filled\n", status, iosb.Information, filled);

    ObDereferenceObject(fileObject);
    DbgPrint("client: file object released\n");
    return STATUS_SUCCESS;
}
