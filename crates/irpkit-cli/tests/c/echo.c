/*
 * irpkit_echo: a small WDM driver for irpkit-cli's tests, written against the WDK as
 * Microsoft documents it (nothing in it is irpkit-specific).
 *
 * DriverEntry creates \Device\IrpkitEcho and the symbolic link \DosDevices\IrpkitEcho.
 *   IRP_MJ_CREATE, IRP_MJ_CLOSE, IRP_MJ_CLEANUP  succeed at once.
 *   IRP_MJ_READ            pends in the driver's own queue with a cancel routine
 *                          (IoSetCancelRoutine, then the Irp->Cancel re-check); a KTIMER
 *                          with a KDPC completes the oldest pending read ECHO_DELAY_MS
 *                          milliseconds after the timer was set, and sets it again while
 *                          reads remain.
 *   IRP_MJ_DEVICE_CONTROL  IOCTL_ECHO_SUM (METHOD_BUFFERED): adds up the input bytes and
 *                          returns the sum as a ULONG in the system buffer.
 * DriverUnload cancels the timer, deletes the link and the device.
 *
 * Switches (defines), for the tests:
 *   ECHO_DELAY_MS=n            the timer's period (default 10 ms)
 *   ECHO_NO_CANCEL_RECHECK     the read dispatch routine does not re-check Irp->Cancel
 *                              after setting its cancel routine (the classic bug)
 *   ECHO_FAIL_ENTRY            DriverEntry fails with STATUS_UNSUCCESSFUL
 *   ECHO_CALL_MISSING_ROUTINE  DriverEntry calls a kernel routine irpkit does not provide
 */

#include <wdm.h>

#ifndef ECHO_DELAY_MS
#define ECHO_DELAY_MS 10
#endif

#define IOCTL_ECHO_SUM CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)

#ifdef ECHO_CALL_MISSING_ROUTINE
/* Declared here, by the driver itself: irpkit's headers need not know it. */
NTSTATUS NTAPI ZwQueryInformationProcess(void);
#endif

typedef struct _ECHO_EXTENSION {
    KSPIN_LOCK QueueLock; /* guards PendingReads and the counters */
    LIST_ENTRY PendingReads;
    KTIMER Timer;
    KDPC TimerDpc;
    LONG Completed;
    LONG Cancelled;
} ECHO_EXTENSION, *PECHO_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD EchoUnload;
static DRIVER_DISPATCH EchoCreateClose;
static DRIVER_DISPATCH EchoRead;
static DRIVER_DISPATCH EchoDeviceControl;
static DRIVER_CANCEL EchoCancelRead;
static KDEFERRED_ROUTINE EchoTimerDpc;

static const WCHAR DeviceNameText[] = L"\\Device\\IrpkitEcho";
static const WCHAR LinkNameText[] = L"\\DosDevices\\IrpkitEcho";

static NTSTATUS EchoComplete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static VOID EchoSetTimer(PECHO_EXTENSION Ext)
{
    LARGE_INTEGER due;
    due.QuadPart = -10000LL * ECHO_DELAY_MS; /* relative, in 100 ns units */
    KeSetTimer(&Ext->Timer, due, &Ext->TimerDpc);
}

static NTSTATUS EchoCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    /* CREATE, CLOSE and CLEANUP: nothing to set up or tear down per file. */
    return EchoComplete(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS EchoRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PECHO_EXTENSION ext = (PECHO_EXTENSION)DeviceObject->DeviceExtension;
    KIRQL irql;
    BOOLEAN first;

    KeAcquireSpinLock(&ext->QueueLock, &irql);
    IoSetCancelRoutine(Irp, EchoCancelRead);
#ifndef ECHO_NO_CANCEL_RECHECK
    /* IoCancelIrp may have run before the cancel routine was set: it then found no
       routine to call. If we can take the routine back, the IRP is ours to cancel;
       if not, the cancel routine is about to run and will find the IRP queued. */
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
        ext->Cancelled++;
        KeReleaseSpinLock(&ext->QueueLock, irql);
        DbgPrint("irpkit_echo: read cancelled before it was queued\n");
        return EchoComplete(Irp, STATUS_CANCELLED, 0);
    }
#endif
    IoMarkIrpPending(Irp);
    first = IsListEmpty(&ext->PendingReads);
    InsertTailList(&ext->PendingReads, &Irp->Tail.Overlay.ListEntry);
    if (first) {
        EchoSetTimer(ext);
    }
    KeReleaseSpinLock(&ext->QueueLock, irql);
    return STATUS_PENDING;
}

static VOID EchoCancelRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PECHO_EXTENSION ext = (PECHO_EXTENSION)DeviceObject->DeviceExtension;
    KIRQL irql;

    /* Called with the cancel spin lock held: release it first, at the IRQL IoCancelIrp
       raised from. */
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    KeAcquireSpinLock(&ext->QueueLock, &irql);
    /* The timer's DPC re-initialises the entry of an IRP it took off the queue and could
       not claim, so this is safe either way. */
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    ext->Cancelled++;
    KeReleaseSpinLock(&ext->QueueLock, irql);
    DbgPrint("irpkit_echo: cancel routine: read cancelled\n");
    EchoComplete(Irp, STATUS_CANCELLED, 0);
}

static VOID EchoTimerDpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    PECHO_EXTENSION ext = (PECHO_EXTENSION)Context;
    PIRP done = NULL;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);

    KeAcquireSpinLockAtDpcLevel(&ext->QueueLock);
    while (!IsListEmpty(&ext->PendingReads)) {
        PLIST_ENTRY entry = RemoveHeadList(&ext->PendingReads);
        PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
        if (IoSetCancelRoutine(irp, NULL) == NULL) {
            /* Being cancelled: its cancel routine will remove it from a list it is no
               longer on, so make that a no-op, and leave the IRP to the routine. */
            InitializeListHead(&irp->Tail.Overlay.ListEntry);
            continue;
        }
        done = irp;
        ext->Completed++;
        break;
    }
    if (!IsListEmpty(&ext->PendingReads)) {
        EchoSetTimer(ext);
    }
    KeReleaseSpinLockFromDpcLevel(&ext->QueueLock);

    if (done != NULL) {
        DbgPrint("irpkit_echo: timer: read completed\n");
        EchoComplete(done, STATUS_SUCCESS, 0);
    }
}

static NTSTATUS EchoDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    ULONG code = stack->Parameters.DeviceIoControl.IoControlCode;
    ULONG inputLength = stack->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outputLength = stack->Parameters.DeviceIoControl.OutputBufferLength;
    PUCHAR buffer = (PUCHAR)Irp->AssociatedIrp.SystemBuffer;
    ULONG sum = 0;
    ULONG i;

    UNREFERENCED_PARAMETER(DeviceObject);
    if (code != IOCTL_ECHO_SUM) {
        return EchoComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
    if (outputLength < sizeof(ULONG) || (inputLength > 0 && buffer == NULL)) {
        return EchoComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
    }
    for (i = 0; i < inputLength; i++) {
        sum += buffer[i];
    }
    DbgPrint("irpkit_echo: sum of %u input bytes is %u\n", inputLength, sum);
    RtlCopyMemory(buffer, &sum, sizeof(sum));
    return EchoComplete(Irp, STATUS_SUCCESS, sizeof(ULONG));
}

static VOID EchoUnload(PDRIVER_OBJECT DriverObject)
{
    PDEVICE_OBJECT device = DriverObject->DeviceObject;
    PECHO_EXTENSION ext = (PECHO_EXTENSION)device->DeviceExtension;
    UNICODE_STRING link;

    KeCancelTimer(&ext->Timer);
    DbgPrint("irpkit_echo: unloading: %d read(s) completed, %d cancelled\n", (int)ext->Completed,
             (int)ext->Cancelled);
    RtlInitUnicodeString(&link, LinkNameText);
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(device);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING name, link;
    PDEVICE_OBJECT device;
    PECHO_EXTENSION ext;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
#ifdef ECHO_FAIL_ENTRY
    DbgPrint("irpkit_echo: DriverEntry fails on purpose\n");
    return STATUS_UNSUCCESSFUL;
#endif
#ifdef ECHO_CALL_MISSING_ROUTINE
    status = ZwQueryInformationProcess();
    if (!NT_SUCCESS(status)) {
        return status;
    }
#endif

    RtlInitUnicodeString(&name, DeviceNameText);
    status = IoCreateDevice(DriverObject, sizeof(ECHO_EXTENSION), &name, FILE_DEVICE_UNKNOWN,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &device);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    ext = (PECHO_EXTENSION)device->DeviceExtension;
    KeInitializeSpinLock(&ext->QueueLock);
    InitializeListHead(&ext->PendingReads);
    KeInitializeTimer(&ext->Timer);
    KeInitializeDpc(&ext->TimerDpc, EchoTimerDpc, ext);
    ext->Completed = 0;
    ext->Cancelled = 0;

    RtlInitUnicodeString(&link, LinkNameText);
    status = IoCreateSymbolicLink(&link, &name);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(device);
        return status;
    }

    DriverObject->MajorFunction[IRP_MJ_CREATE] = EchoCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = EchoCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = EchoCreateClose;
    DriverObject->MajorFunction[IRP_MJ_READ] = EchoRead;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = EchoDeviceControl;
    DriverObject->DriverUnload = EchoUnload;
    device->Flags |= DO_BUFFERED_IO;
    device->Flags &= ~DO_DEVICE_INITIALIZING;

    DbgPrint("irpkit_echo: DriverEntry: \\Device\\IrpkitEcho ready, reads complete every %d ms\n",
             ECHO_DELAY_MS);
    return STATUS_SUCCESS;
}
