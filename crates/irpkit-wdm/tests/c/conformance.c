/*
 * The conformance cases C1-C5, Q1-Q7, S1-S8, K1-K6 and P1-P6, asserted from C.
 *
 * A WDM driver with five devices: \Device\IrpkitConformance (the control device: each
 * IOCTL_CONFORMANCE_CASE(n) runs case n in its dispatch routine and completes the
 * request with STATUS_SUCCESS when every CHECK of the case held, STATUS_UNSUCCESSFUL
 * otherwise, naming each failed CHECK in the debug output), a "lower" device whose
 * dispatch routine does what the running case asks (pend with a cancel routine, hold,
 * run cancel-safe queue operations), a "middle" device attached above it (a filter with
 * completion routines, for the completion cases), and a StartIo device.
 *
 * The cases that break a rule on purpose (Q7, P5, P6) leave a verifier report; the Rust
 * side checks those.
 */
#include <ntddk.h>

#define CONFORMANCE_CASE_BASE 0x800
#define IOCTL_CONFORMANCE_CASE(n) \
    CTL_CODE(FILE_DEVICE_UNKNOWN, CONFORMANCE_CASE_BASE + (n), METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef enum _LOWER_MODE {
    LowerHold,          /* mark pending, keep the IRP, no cancel routine */
    LowerPendCancelable, /* mark pending, set LowerCancel, re-check Cancel */
    LowerCsqInsert,     /* insert into the cancel-safe queue */
    LowerCsqInsertExFail, /* InsertEx whose insert callback refuses */
    LowerComplete       /* complete at once with STATUS_SUCCESS */
} LOWER_MODE;

typedef enum _CANCEL_MODE {
    CancelComplete,      /* release the lock, complete STATUS_CANCELLED */
    CancelDriverRaces    /* C5: the driver's own path clears the routine meanwhile */
} CANCEL_MODE;

static PDEVICE_OBJECT g_control, g_lower, g_middle, g_startio;
static const char *g_case = "";
static BOOLEAN g_failed;

#define CHECK(e)                                                                   \
    do {                                                                           \
        if (!(e)) {                                                                \
            DbgPrint("FAIL %s: %s (line %d)\n", g_case, #e, __LINE__);             \
            g_failed = TRUE;                                                       \
        }                                                                          \
    } while (0)

/* --- what the lower device's routines observe ------------------------------------ */

static LOWER_MODE g_lower_mode;
static CANCEL_MODE g_cancel_mode;
static PIRP g_held;
static LONG g_cancel_calls;
static BOOLEAN g_cancel_saw_flag, g_cancel_saw_routine;
static KIRQL g_irql_after_release;
static BOOLEAN g_driver_got_null;

/* --- what the originator's completion routine observes ---------------------------- */

static LONG g_top_calls;
static NTSTATUS g_top_status;
static PDEVICE_OBJECT g_top_device;
static BOOLEAN g_top_pending;
static BOOLEAN g_top_continue; /* let the completion finish: the IRP is freed */

static NTSTATUS TopCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    g_top_calls++;
    g_top_status = Irp->IoStatus.Status;
    g_top_device = DeviceObject;
    g_top_pending = Irp->PendingReturned;
    if (g_top_continue) {
        return STATUS_CONTINUE_COMPLETION;
    }
    /* The IRP is the case's: it frees it. */
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* A fresh IRP for `Device`, with the originator's completion routine (runs on every
 * outcome, keeps the IRP). */
static PIRP NewIrp(PDEVICE_OBJECT Device, UCHAR Major)
{
    PIRP irp = IoAllocateIrp(Device->StackSize, FALSE);
    PIO_STACK_LOCATION sp;
    if (irp == NULL) {
        return NULL;
    }
    sp = IoGetNextIrpStackLocation(irp);
    sp->MajorFunction = Major;
    sp->Parameters.Read.Length = 16;
    IoSetCompletionRoutine(irp, TopCompletion, NULL, TRUE, TRUE, TRUE);
    g_top_calls = 0;
    g_top_status = STATUS_PENDING;
    g_top_device = (PDEVICE_OBJECT)1;
    return irp;
}

static VOID CompleteIrp(PIRP Irp, NTSTATUS Status)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

/* --- the lower device ------------------------------------------------------------- */

static VOID DriverPathFinish(PIRP Irp);

static VOID LowerCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    g_cancel_calls++;
    g_cancel_saw_flag = Irp->Cancel;
    g_cancel_saw_routine = Irp->CancelRoutine != NULL;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    g_irql_after_release = KeGetCurrentIrql();
    if (g_cancel_mode == CancelDriverRaces) {
        /* The driver's completion path runs now, before this routine completes. */
        DriverPathFinish(Irp);
    }
    if (g_held == Irp) {
        g_held = NULL;
    }
    CompleteIrp(Irp, STATUS_CANCELLED);
}

/* The driver's normal completion path: complete only if it wins the routine back. */
static VOID DriverPathFinish(PIRP Irp)
{
    if (IoSetCancelRoutine(Irp, NULL) != NULL) {
        g_held = NULL;
        CompleteIrp(Irp, STATUS_SUCCESS);
    } else {
        g_driver_got_null = TRUE;
    }
}

/* Cancel-safe queue of the lower device. */
static IO_CSQ g_csq;
static LIST_ENTRY g_csq_list;
static KSPIN_LOCK g_csq_lock;
static BOOLEAN g_csq_lock_held;
static char g_csq_log[64];
static int g_csq_log_len;
static BOOLEAN g_complete_canceled_saw_lock;

static VOID CsqLog(char c)
{
    if (g_csq_log_len < (int)sizeof(g_csq_log) - 1) {
        g_csq_log[g_csq_log_len++] = c;
        g_csq_log[g_csq_log_len] = 0;
    }
}

static VOID CsqInsert(PIO_CSQ Csq, PIRP Irp)
{
    UNREFERENCED_PARAMETER(Csq);
    CsqLog('I');
    InsertTailList(&g_csq_list, &Irp->Tail.Overlay.ListEntry);
}

static NTSTATUS CsqInsertEx(PIO_CSQ Csq, PIRP Irp, PVOID InsertContext)
{
    if (InsertContext != NULL) {
        CsqLog('F');
        return STATUS_DEVICE_BUSY;
    }
    CsqInsert(Csq, Irp);
    return STATUS_SUCCESS;
}

static VOID CsqRemove(PIO_CSQ Csq, PIRP Irp)
{
    UNREFERENCED_PARAMETER(Csq);
    CsqLog('R');
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
}

static PIRP CsqPeekNext(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext)
{
    PLIST_ENTRY e = Irp == NULL ? g_csq_list.Flink : Irp->Tail.Overlay.ListEntry.Flink;
    UNREFERENCED_PARAMETER(Csq);
    for (; e != &g_csq_list; e = e->Flink) {
        PIRP next = CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry);
        if (PeekContext == NULL || IoGetCurrentIrpStackLocation(next)->FileObject == (PFILE_OBJECT)PeekContext) {
            return next;
        }
    }
    return NULL;
}

static VOID CsqAcquire(PIO_CSQ Csq, PKIRQL Irql)
{
    UNREFERENCED_PARAMETER(Csq);
    KeAcquireSpinLock(&g_csq_lock, Irql);
    g_csq_lock_held = TRUE;
}

static VOID CsqRelease(PIO_CSQ Csq, KIRQL Irql)
{
    UNREFERENCED_PARAMETER(Csq);
    g_csq_lock_held = FALSE;
    KeReleaseSpinLock(&g_csq_lock, Irql);
}

static VOID CsqCompleteCanceled(PIO_CSQ Csq, PIRP Irp)
{
    UNREFERENCED_PARAMETER(Csq);
    CsqLog('C');
    g_complete_canceled_saw_lock = g_csq_lock_held;
    CompleteIrp(Irp, STATUS_CANCELLED);
}

static IO_CSQ_IRP_CONTEXT g_csq_context;
static NTSTATUS g_insert_ex_status;
static BOOLEAN g_insert_ex_marked;
static BOOLEAN g_insert_ex_routine;

static NTSTATUS LowerDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    switch (g_lower_mode) {
    case LowerHold:
        IoMarkIrpPending(Irp);
        g_held = Irp;
        return STATUS_PENDING;
    case LowerPendCancelable:
        IoMarkIrpPending(Irp);
        g_held = Irp;
        IoSetCancelRoutine(Irp, LowerCancel);
        if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
            g_held = NULL;
            CompleteIrp(Irp, STATUS_CANCELLED);
        }
        return STATUS_PENDING;
    case LowerCsqInsert:
        IoCsqInsertIrp(&g_csq, Irp, &g_csq_context);
        return STATUS_PENDING;
    case LowerCsqInsertExFail: {
        NTSTATUS status = IoCsqInsertIrpEx(&g_csq, Irp, NULL, (PVOID)1);
        g_insert_ex_status = status;
        g_insert_ex_marked = (IoGetCurrentIrpStackLocation(Irp)->Control & SL_PENDING_RETURNED) != 0;
        g_insert_ex_routine = Irp->CancelRoutine != NULL;
        CompleteIrp(Irp, status);
        return status;
    }
    case LowerComplete:
    default:
        CompleteIrp(Irp, STATUS_SUCCESS);
        return STATUS_SUCCESS;
    }
}

/* --- the middle device (a filter over the lower one) -------------------------------- */

typedef enum _MIDDLE_MODE {
    MiddleRemark,       /* its completion routine re-marks pending */
    MiddleNoRemark,     /* ... does not */
    MiddleStop,         /* ... returns STATUS_MORE_PROCESSING_REQUIRED */
    MiddleFlagsSuccessCancel, /* registered for success + cancel */
    MiddleFlagsSuccessError,  /* registered for success + error */
    MiddleFlagsSuccessOnly    /* registered for success only */
} MIDDLE_MODE;

static MIDDLE_MODE g_middle_mode;
static PDEVICE_OBJECT g_middle_lower;
static LONG g_middle_calls;
static PDEVICE_OBJECT g_middle_device;
static BOOLEAN g_middle_pending;
static CHAR g_middle_location;

static NTSTATUS MiddleCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    g_middle_calls++;
    g_middle_device = DeviceObject;
    g_middle_pending = Irp->PendingReturned;
    g_middle_location = Irp->CurrentLocation;
    if (g_middle_mode == MiddleStop) {
        return STATUS_MORE_PROCESSING_REQUIRED;
    }
    if (g_middle_mode == MiddleRemark && Irp->PendingReturned) {
        IoMarkIrpPending(Irp);
    }
    return STATUS_CONTINUE_COMPLETION;
}

static NTSTATUS MiddleDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    BOOLEAN success = TRUE, error = TRUE, cancel = TRUE;
    UNREFERENCED_PARAMETER(DeviceObject);
    switch (g_middle_mode) {
    case MiddleFlagsSuccessCancel: error = FALSE; break;
    case MiddleFlagsSuccessError: cancel = FALSE; break;
    case MiddleFlagsSuccessOnly: error = FALSE; cancel = FALSE; break;
    default: break;
    }
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, MiddleCompletion, NULL, success, error, cancel);
    return IoCallDriver(g_middle_lower, Irp);
}

/* --- the StartIo device: "Cancel Routines in Drivers with StartIo Routines" ------------- */

static int g_log_current, g_log_queued, g_log_neither;
static PIRP g_startio_seen[8];
static int g_startio_count;
static int g_startio_depth, g_startio_max_depth;
static BOOLEAN g_startio_saw_current, g_startio_saw_routine;
static KIRQL g_startio_irql;
static BOOLEAN g_finish_in_start_io;

static VOID HardwareDone(NTSTATUS Status);

static VOID SeedCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    if (Irp == DeviceObject->CurrentIrp) {
        g_log_current++;
        IoReleaseCancelSpinLock(Irp->CancelIrql);
        return;
    }
    if (KeRemoveEntryDeviceQueue(&DeviceObject->DeviceQueue, &Irp->Tail.Overlay.DeviceQueueEntry)) {
        g_log_queued++;
        IoReleaseCancelSpinLock(Irp->CancelIrql);
        CompleteIrp(Irp, STATUS_CANCELLED);
        return;
    }
    g_log_neither++;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
}

static VOID StartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    KIRQL irql;
    g_startio_depth++;
    if (g_startio_depth > g_startio_max_depth) {
        g_startio_max_depth = g_startio_depth;
    }
    if (g_startio_count < 8) {
        g_startio_seen[g_startio_count] = Irp;
    }
    g_startio_count++;
    g_startio_irql = KeGetCurrentIrql();
    g_startio_saw_current = DeviceObject->CurrentIrp == Irp;
    g_startio_saw_routine = Irp->CancelRoutine != NULL;
    IoAcquireCancelSpinLock(&irql);
    if (Irp->Cancel) {
        IoSetCancelRoutine(Irp, NULL);
        IoReleaseCancelSpinLock(irql);
        CompleteIrp(Irp, STATUS_CANCELLED);
        IoStartNextPacket(DeviceObject, TRUE);
    } else {
        IoReleaseCancelSpinLock(irql);
        if (g_finish_in_start_io) {
            HardwareDone(STATUS_SUCCESS);
        }
    }
    g_startio_depth--;
}

/* What the DPC does when the "hardware" finishes the current transfer. */
static VOID HardwareDone(NTSTATUS Status)
{
    KIRQL old, irql;
    PIRP irp;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    IoAcquireCancelSpinLock(&irql);
    irp = g_startio->CurrentIrp;
    if (irp != NULL) {
        IoSetCancelRoutine(irp, NULL);
        if (irp->Cancel) {
            Status = STATUS_CANCELLED;
        }
    }
    IoReleaseCancelSpinLock(irql);
    if (irp != NULL) {
        CompleteIrp(irp, Status);
    }
    IoStartNextPacket(g_startio, TRUE);
    KeLowerIrql(old);
}

static NTSTATUS StartIoDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    IoMarkIrpPending(Irp);
    IoStartPacket(DeviceObject, Irp, NULL, SeedCancel);
    return STATUS_PENDING;
}

static VOID ResetStartIo(void)
{
    g_log_current = g_log_queued = g_log_neither = 0;
    g_startio_count = 0;
    g_startio_depth = g_startio_max_depth = 0;
    g_finish_in_start_io = FALSE;
}

/* The originator's view of each of several IRPs: a per-IRP completion record. */
typedef struct _RECORD {
    LONG Calls;
    NTSTATUS Status;
} RECORD, *PRECORD;

static NTSTATUS RecordCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    PRECORD r = (PRECORD)Context;
    UNREFERENCED_PARAMETER(DeviceObject);
    r->Calls++;
    r->Status = Irp->IoStatus.Status;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static PIRP NewRecordedIrp(PDEVICE_OBJECT Device, PRECORD Record)
{
    PIRP irp = IoAllocateIrp(Device->StackSize, FALSE);
    PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
    sp->MajorFunction = IRP_MJ_READ;
    sp->Parameters.Read.Length = 16;
    Record->Calls = 0;
    Record->Status = STATUS_PENDING;
    IoSetCompletionRoutine(irp, RecordCompletion, Record, TRUE, TRUE, TRUE);
    return irp;
}

/* --- the cases ------------------------------------------------------------------------ */

static VOID CaseC1(void)
{
    PIRP irp = IoAllocateIrp(1, FALSE);
    CHECK(!IoCancelIrp(irp));
    CHECK(irp->Cancel);
    CHECK(!IoCancelIrp(irp));
    IoFreeIrp(irp);
}

static PIRP SendPendCancelable(void)
{
    PIRP irp = NewIrp(g_lower, IRP_MJ_READ);
    g_lower_mode = LowerPendCancelable;
    g_cancel_mode = CancelComplete;
    g_cancel_calls = 0;
    CHECK(IoCallDriver(g_lower, irp) == STATUS_PENDING);
    return irp;
}

static VOID CaseC2(void)
{
    PIRP irp = SendPendCancelable();
    CHECK(IoCancelIrp(irp));
    CHECK(g_cancel_calls == 1);
    CHECK(g_cancel_saw_flag);
    CHECK(!g_cancel_saw_routine);
    CHECK(g_top_calls == 1 && g_top_status == STATUS_CANCELLED);
    CHECK(!IoCancelIrp(irp));
    CHECK(g_cancel_calls == 1);
    IoFreeIrp(irp);
}

static VOID CaseC3(void)
{
    static const MIDDLE_MODE modes[3] = { MiddleFlagsSuccessCancel, MiddleFlagsSuccessError, MiddleFlagsSuccessOnly };
    static const LONG expected[3] = { 1, 1, 0 };
    int i;
    for (i = 0; i < 3; i++) {
        PIRP irp = NewIrp(g_middle, IRP_MJ_READ);
        g_middle_mode = modes[i];
        g_middle_calls = 0;
        g_lower_mode = LowerPendCancelable;
        g_cancel_mode = CancelComplete;
        CHECK(IoCallDriver(g_middle, irp) == STATUS_PENDING);
        CHECK(IoCancelIrp(irp));
        CHECK(g_middle_calls == expected[i]);
        CHECK(g_top_calls == 1 && g_top_status == STATUS_CANCELLED);
        IoFreeIrp(irp);
    }
}

static VOID CaseC4(void)
{
    KIRQL old;
    PIRP irp = SendPendCancelable();
    g_irql_after_release = 0xFF;
    CHECK(IoCancelIrp(irp));
    CHECK(g_irql_after_release == PASSIVE_LEVEL);
    IoFreeIrp(irp);

    irp = SendPendCancelable();
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    g_irql_after_release = 0xFF;
    CHECK(IoCancelIrp(irp));
    CHECK(g_irql_after_release == DISPATCH_LEVEL);
    KeLowerIrql(old);
    IoFreeIrp(irp);
}

static VOID CaseC5(void)
{
    PIRP irp = SendPendCancelable();
    g_cancel_mode = CancelDriverRaces;
    g_driver_got_null = FALSE;
    CHECK(IoCancelIrp(irp));
    CHECK(g_driver_got_null);
    CHECK(g_top_calls == 1 && g_top_status == STATUS_CANCELLED);
    g_cancel_mode = CancelComplete;
    IoFreeIrp(irp);
}

static KDEVICE_QUEUE g_queue;

static VOID CaseQ1(void)
{
    KDEVICE_QUEUE_ENTRY e[3];
    KIRQL old;
    KeInitializeDeviceQueue(&g_queue);
    CHECK(!g_queue.Busy);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    CHECK(!KeInsertDeviceQueue(&g_queue, &e[0]));
    CHECK(g_queue.Busy);
    CHECK(!e[0].Inserted);
    CHECK(KeInsertDeviceQueue(&g_queue, &e[1]));
    CHECK(KeInsertDeviceQueue(&g_queue, &e[2]));
    CHECK(e[1].Inserted && e[2].Inserted);
    CHECK(KeRemoveDeviceQueue(&g_queue) == &e[1]);
    CHECK(KeRemoveDeviceQueue(&g_queue) == &e[2]);
    CHECK(KeRemoveDeviceQueue(&g_queue) == NULL);
    KeLowerIrql(old);
}

static VOID CaseQ2(void)
{
    KDEVICE_QUEUE_ENTRY e[2];
    KIRQL old;
    KeInitializeDeviceQueue(&g_queue);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeInsertDeviceQueue(&g_queue, &e[0]);
    KeInsertDeviceQueue(&g_queue, &e[1]);
    CHECK(KeRemoveDeviceQueue(&g_queue) == &e[1]);
    CHECK(!e[1].Inserted);
    CHECK(g_queue.Busy);
    CHECK(KeRemoveDeviceQueue(&g_queue) == NULL);
    CHECK(!g_queue.Busy);
    KeLowerIrql(old);
}

static VOID CaseQ3(void)
{
    KDEVICE_QUEUE_ENTRY e[3];
    KIRQL old;
    KeInitializeDeviceQueue(&g_queue);
    RtlZeroMemory(e, sizeof(e));
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeInsertDeviceQueue(&g_queue, &e[0]);
    KeInsertDeviceQueue(&g_queue, &e[1]);
    CHECK(KeRemoveEntryDeviceQueue(&g_queue, &e[1]));
    CHECK(!KeRemoveEntryDeviceQueue(&g_queue, &e[1]));
    CHECK(!KeRemoveEntryDeviceQueue(&g_queue, &e[2]));
    CHECK(g_queue.Busy);
    CHECK(KeRemoveDeviceQueue(&g_queue) == NULL);
    KeLowerIrql(old);
}

static VOID CaseQ4(void)
{
    KDEVICE_QUEUE_ENTRY first, e[4];
    KIRQL old;
    KeInitializeDeviceQueue(&g_queue);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    CHECK(!KeInsertByKeyDeviceQueue(&g_queue, &first, 0));
    CHECK(KeInsertByKeyDeviceQueue(&g_queue, &e[0], 3));
    CHECK(KeInsertByKeyDeviceQueue(&g_queue, &e[1], 1));
    CHECK(KeInsertByKeyDeviceQueue(&g_queue, &e[2], 2));
    CHECK(KeInsertByKeyDeviceQueue(&g_queue, &e[3], 2));
    CHECK(e[0].Inserted && e[1].Inserted && e[2].Inserted && e[3].Inserted);
    CHECK(KeRemoveEntryDeviceQueue(&g_queue, &e[0]));
    CHECK(KeRemoveDeviceQueue(&g_queue) == &e[1]);
    CHECK(KeRemoveDeviceQueue(&g_queue) == &e[2]);
    CHECK(KeRemoveDeviceQueue(&g_queue) == &e[3]);
    CHECK(KeRemoveDeviceQueue(&g_queue) == NULL);
    KeLowerIrql(old);
}

static VOID CaseQ5(void)
{
    KDEVICE_QUEUE_ENTRY first, e[3];
    KIRQL old;
    KeInitializeDeviceQueue(&g_queue);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeInsertByKeyDeviceQueue(&g_queue, &first, 0);
    KeInsertByKeyDeviceQueue(&g_queue, &e[0], 10);
    KeInsertByKeyDeviceQueue(&g_queue, &e[1], 20);
    KeInsertByKeyDeviceQueue(&g_queue, &e[2], 30);
    CHECK(KeRemoveByKeyDeviceQueue(&g_queue, 15) == &e[1]);
    CHECK(KeRemoveByKeyDeviceQueue(&g_queue, 99) == &e[0]);
    CHECK(KeRemoveByKeyDeviceQueue(&g_queue, 0) == &e[2]);
    CHECK(KeRemoveByKeyDeviceQueue(&g_queue, 0) == NULL);
    KeLowerIrql(old);
}

/* A cancel routine that leaves the IRP where it is (Q6: the test dequeues it). */
static VOID CountingCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    g_cancel_calls++;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
}

static VOID CaseQ6(void)
{
    KDEVICE_QUEUE_ENTRY first;
    PIRP irp;
    KIRQL old;
    /* The lower driver holds the IRP (its current location), so it may queue it. */
    irp = NewIrp(g_lower, IRP_MJ_READ);
    g_lower_mode = LowerHold;
    CHECK(IoCallDriver(g_lower, irp) == STATUS_PENDING);
    CHECK(!IoCancelIrp(irp));
    CHECK(irp->Cancel);
    KeInitializeDeviceQueue(&g_queue);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeInsertDeviceQueue(&g_queue, &first);
    CHECK(KeInsertDeviceQueue(&g_queue, &irp->Tail.Overlay.DeviceQueueEntry));
    KeLowerIrql(old);
    /* A cancel routine on the queued IRP: IoCancelIrp runs it, the entry stays queued. */
    g_cancel_calls = 0;
    g_cancel_mode = CancelComplete;
    g_held = NULL;
    IoSetCancelRoutine(irp, CountingCancel);
    CHECK(IoCancelIrp(irp));
    CHECK(g_cancel_calls == 1);
    CHECK(irp->Tail.Overlay.DeviceQueueEntry.Inserted);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    CHECK(KeRemoveEntryDeviceQueue(&g_queue, &irp->Tail.Overlay.DeviceQueueEntry));
    CHECK(KeRemoveDeviceQueue(&g_queue) == NULL);
    KeLowerIrql(old);
    g_lower_mode = LowerComplete;
    CompleteIrp(irp, STATUS_CANCELLED);
    CHECK(g_top_calls == 1);
    IoFreeIrp(irp);
}

static VOID CaseQ7(void)
{
    KIRQL old;
    KeInitializeDeviceQueue(&g_queue);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    /* Not busy: DEVICE_QUEUE_NOT_BUSY (0x2), reported; irpkit returns NULL. */
    CHECK(KeRemoveDeviceQueue(&g_queue) == NULL);
    KeLowerIrql(old);
}

/* StartIo cases: IRPs with their own completion records. */
static RECORD g_rec[4];

static PIRP SendStartIo(int i)
{
    PIRP irp = NewRecordedIrp(g_startio, &g_rec[i]);
    CHECK(IoCallDriver(g_startio, irp) == STATUS_PENDING);
    return irp;
}

static VOID CaseS1(void)
{
    PIRP a;
    ResetStartIo();
    a = SendStartIo(0);
    CHECK(g_startio_count == 1 && g_startio_seen[0] == a);
    CHECK(g_startio_saw_current);
    CHECK(g_startio_irql == DISPATCH_LEVEL);
    HardwareDone(STATUS_SUCCESS);
    CHECK(g_rec[0].Calls == 1 && g_rec[0].Status == STATUS_SUCCESS);
    IoFreeIrp(a);
}

static VOID CaseS2(void)
{
    PIRP a;
    ResetStartIo();
    a = SendStartIo(0);
    CHECK(IoCancelIrp(a));
    CHECK(g_log_current == 1);
    CHECK(g_rec[0].Calls == 0);
    HardwareDone(STATUS_SUCCESS);
    CHECK(g_rec[0].Calls == 1 && g_rec[0].Status == STATUS_CANCELLED);
    IoFreeIrp(a);
}

static VOID CaseS3(void)
{
    PIRP a, b;
    ResetStartIo();
    a = SendStartIo(0);
    b = SendStartIo(1);
    CHECK(IoCancelIrp(b));
    CHECK(g_log_queued == 1);
    CHECK(g_rec[1].Calls == 1 && g_rec[1].Status == STATUS_CANCELLED);
    HardwareDone(STATUS_SUCCESS);
    CHECK(g_startio_count == 1);
    CHECK(!g_startio->DeviceQueue.Busy);
    IoFreeIrp(a);
    IoFreeIrp(b);
}

static VOID CaseS4(void)
{
    PIRP a, b;
    KIRQL old, irql;
    PKDEVICE_QUEUE_ENTRY entry;
    ResetStartIo();
    a = SendStartIo(0);
    b = SendStartIo(1);
    /* Finish A without starting the next packet. */
    IoAcquireCancelSpinLock(&irql);
    IoSetCancelRoutine(a, NULL);
    IoReleaseCancelSpinLock(irql);
    CompleteIrp(a, STATUS_SUCCESS);
    /* Dequeue B as IoStartNextPacket does; the cancel lands before it becomes current. */
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    entry = KeRemoveDeviceQueue(&g_startio->DeviceQueue);
    CHECK(entry == &b->Tail.Overlay.DeviceQueueEntry);
    KeLowerIrql(old);
    CHECK(IoCancelIrp(b));
    CHECK(g_log_neither == 1);
    CHECK(g_rec[1].Calls == 0);
    /* Then StartIo takes it and completes it, exactly once. */
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    g_startio->CurrentIrp = b;
    StartIo(g_startio, b);
    KeLowerIrql(old);
    CHECK(g_rec[1].Calls == 1 && g_rec[1].Status == STATUS_CANCELLED);
    CHECK(!g_startio->DeviceQueue.Busy);
    IoFreeIrp(a);
    IoFreeIrp(b);
}

static VOID CaseS5(void)
{
    PIRP a, b;
    ResetStartIo();
    a = SendStartIo(0);
    b = NewRecordedIrp(g_startio, &g_rec[1]);
    CHECK(!IoCancelIrp(b));
    CHECK(IoCallDriver(g_startio, b) == STATUS_PENDING);
    CHECK(g_rec[1].Calls == 1 && g_rec[1].Status == STATUS_CANCELLED);
    CHECK(g_log_queued == 1);
    HardwareDone(STATUS_SUCCESS);
    CHECK(!g_startio->DeviceQueue.Busy);
    IoFreeIrp(a);
    IoFreeIrp(b);
}

static VOID CaseS6(void)
{
    PIRP a;
    ResetStartIo();
    a = SendStartIo(0);
    CHECK(g_startio->DeviceQueue.Busy);
    HardwareDone(STATUS_SUCCESS);
    CHECK(g_startio->CurrentIrp == NULL);
    CHECK(!g_startio->DeviceQueue.Busy);
    IoFreeIrp(a);
}

static VOID CaseS7(void)
{
    PIRP a, b, c;
    ResetStartIo();
    a = SendStartIo(0);
    b = SendStartIo(1);
    c = SendStartIo(2);
    /* StartIo finishes each IRP itself and starts the next one: with DeferredStartIo the
     * next StartIo runs after this one returns, never inside it. */
    g_finish_in_start_io = TRUE;
    HardwareDone(STATUS_SUCCESS);
    CHECK(g_startio_max_depth == 1);
    CHECK(g_startio_count == 3);
    CHECK(g_rec[0].Calls == 1 && g_rec[1].Calls == 1 && g_rec[2].Calls == 1);
    CHECK(!g_startio->DeviceQueue.Busy);
    g_finish_in_start_io = FALSE;
    IoFreeIrp(a);
    IoFreeIrp(b);
    IoFreeIrp(c);
}

static VOID CaseS8(void)
{
    PIRP a;
    ResetStartIo();
    IoSetStartIoAttributes(g_startio, TRUE, TRUE);
    a = SendStartIo(0);
    CHECK(g_startio_count == 1);
    CHECK(!g_startio_saw_routine);
    HardwareDone(STATUS_SUCCESS);
    CHECK(g_rec[0].Calls == 1);
    IoFreeIrp(a);
}

/* Cancel-safe queue cases: the lower device inserts, the case removes. */
static PIRP CsqSend(PFILE_OBJECT File, PRECORD Record)
{
    PIRP irp = NewRecordedIrp(g_lower, Record);
    IoGetNextIrpStackLocation(irp)->FileObject = File;
    g_lower_mode = LowerCsqInsert;
    CHECK(IoCallDriver(g_lower, irp) == STATUS_PENDING);
    return irp;
}

static VOID CsqReset(void)
{
    g_csq_log_len = 0;
    g_csq_log[0] = 0;
}

static VOID CaseK1(void)
{
    PIRP irp, got;
    CsqReset();
    irp = CsqSend(NULL, &g_rec[0]);
    got = IoCsqRemoveNextIrp(&g_csq, NULL);
    CHECK(got == irp);
    CHECK(irp->CancelRoutine == NULL);
    CHECK(!IoCancelIrp(irp));
    CompleteIrp(irp, STATUS_SUCCESS);
    CHECK(g_rec[0].Calls == 1 && g_rec[0].Status == STATUS_SUCCESS);
    IoFreeIrp(irp);
}

static VOID CaseK2(void)
{
    PIRP irp;
    CsqReset();
    irp = CsqSend(NULL, &g_rec[0]);
    CHECK(IoCancelIrp(irp));
    CHECK(strcmp(g_csq_log, "IRC") == 0);
    CHECK(g_rec[0].Calls == 1 && g_rec[0].Status == STATUS_CANCELLED);
    CHECK(IoCsqRemoveNextIrp(&g_csq, NULL) == NULL);
    IoFreeIrp(irp);
}

static VOID CaseK3(void)
{
    PIRP irp;
    CsqReset();
    irp = NewRecordedIrp(g_lower, &g_rec[0]);
    CHECK(!IoCancelIrp(irp));
    g_lower_mode = LowerCsqInsert;
    g_complete_canceled_saw_lock = TRUE;
    IoCallDriver(g_lower, irp);
    CHECK(g_rec[0].Calls == 1 && g_rec[0].Status == STATUS_CANCELLED);
    CHECK(!g_complete_canceled_saw_lock);
    CHECK(g_csq_log[g_csq_log_len - 1] == 'C');
    CHECK(IoCsqRemoveNextIrp(&g_csq, NULL) == NULL);
    IoFreeIrp(irp);
}

static VOID CaseK4(void)
{
    PIRP irp;
    CsqReset();
    irp = NewRecordedIrp(g_lower, &g_rec[0]);
    g_lower_mode = LowerCsqInsertExFail;
    CHECK(IoCallDriver(g_lower, irp) == STATUS_DEVICE_BUSY);
    CHECK(g_insert_ex_status == STATUS_DEVICE_BUSY);
    CHECK(!g_insert_ex_marked);
    CHECK(!g_insert_ex_routine);
    CHECK(g_rec[0].Calls == 1 && g_rec[0].Status == STATUS_DEVICE_BUSY);
    IoFreeIrp(irp);
}

static VOID CaseK5(void)
{
    PIRP irp;
    CsqReset();
    irp = CsqSend(NULL, &g_rec[0]);
    CHECK(IoCancelIrp(irp));
    CHECK(IoCsqRemoveIrp(&g_csq, &g_csq_context) == NULL);
    CHECK(g_rec[0].Calls == 1);
    IoFreeIrp(irp);
}

static VOID CaseK6(void)
{
    static FILE_OBJECT fa, fb;
    PIRP a1, b1, a2, got;
    CsqReset();
    a1 = CsqSend(&fa, &g_rec[0]);
    b1 = CsqSend(&fb, &g_rec[1]);
    a2 = CsqSend(&fa, &g_rec[2]);
    got = IoCsqRemoveNextIrp(&g_csq, &fb);
    CHECK(got == b1);
    CHECK(IoCsqRemoveNextIrp(&g_csq, &fb) == NULL);
    CHECK(IoCsqRemoveNextIrp(&g_csq, &fa) == a1);
    CHECK(IoCsqRemoveNextIrp(&g_csq, &fa) == a2);
    CompleteIrp(a1, STATUS_SUCCESS);
    CompleteIrp(b1, STATUS_SUCCESS);
    CompleteIrp(a2, STATUS_SUCCESS);
    CHECK(g_rec[0].Calls == 1 && g_rec[1].Calls == 1 && g_rec[2].Calls == 1);
    IoFreeIrp(a1);
    IoFreeIrp(b1);
    IoFreeIrp(a2);
}

/* Completion cases through the middle (filter) device. */
static PIRP SendThroughMiddle(MIDDLE_MODE Mode)
{
    PIRP irp = NewIrp(g_middle, IRP_MJ_READ);
    g_middle_mode = Mode;
    g_middle_calls = 0;
    g_lower_mode = LowerHold;
    g_held = NULL;
    CHECK(IoCallDriver(g_middle, irp) == STATUS_PENDING);
    CHECK(g_held == irp);
    return irp;
}

static VOID CaseP1(void)
{
    PIRP irp = IoAllocateIrp(1, FALSE);
    CHECK(irp->CurrentLocation == 2);
    CHECK(irp->StackCount == 1);
    IoFreeIrp(irp);
}

static VOID CaseP2(void)
{
    PIRP irp = SendThroughMiddle(MiddleRemark);
    g_held = NULL;
    CompleteIrp(irp, STATUS_SUCCESS);
    CHECK(g_middle_calls == 1 && g_middle_pending);
    CHECK(g_top_calls == 1 && g_top_pending);
    IoFreeIrp(irp);

    irp = SendThroughMiddle(MiddleNoRemark);
    g_held = NULL;
    CompleteIrp(irp, STATUS_SUCCESS);
    CHECK(g_middle_calls == 1 && g_middle_pending);
    CHECK(g_top_calls == 1 && !g_top_pending);
    IoFreeIrp(irp);
}

static VOID CaseP3(void)
{
    PIRP irp = SendThroughMiddle(MiddleStop);
    CHAR before;
    g_held = NULL;
    CompleteIrp(irp, STATUS_SUCCESS);
    CHECK(g_middle_calls == 1);
    CHECK(g_top_calls == 0);
    before = irp->CurrentLocation;
    CHECK(before == g_middle_location);
    /* The middle driver owns the IRP again and completes it: the walk resumes above. */
    g_middle_mode = MiddleNoRemark;
    CompleteIrp(irp, STATUS_SUCCESS);
    CHECK(g_top_calls == 1);
    IoFreeIrp(irp);
}

static VOID CaseP4(void)
{
    PIRP irp = SendThroughMiddle(MiddleNoRemark);
    g_held = NULL;
    CompleteIrp(irp, STATUS_SUCCESS);
    CHECK(g_middle_device == g_middle);
    CHECK(g_top_device == NULL);
    IoFreeIrp(irp);
}

static VOID CaseP5(void)
{
    PIRP irp = NewIrp(g_lower, IRP_MJ_READ);
    g_lower_mode = LowerHold;
    IoCallDriver(g_lower, irp);
    g_held = NULL;
    /* The completion runs to its end: the IRP is completed and freed. */
    g_top_continue = TRUE;
    CompleteIrp(irp, STATUS_SUCCESS);
    g_top_continue = FALSE;
    CHECK(g_top_calls == 1);
    /* MULTIPLE_IRP_COMPLETE_REQUESTS (0x44): reported, never undefined behaviour. */
    CompleteIrp(irp, STATUS_SUCCESS);
    CHECK(g_top_calls == 1);
}

static VOID CaseP6(void)
{
    PIRP irp = NewIrp(g_lower, IRP_MJ_READ);
    g_lower_mode = LowerHold;
    IoCallDriver(g_lower, irp);
    g_held = NULL;
    IoSetCancelRoutine(irp, CountingCancel);
    /* Completed with its cancel routine set: 0xC9/0x07, reported. */
    CompleteIrp(irp, STATUS_SUCCESS);
    IoFreeIrp(irp);
}

typedef VOID CASE_ROUTINE(void);

static const struct {
    const char *Name;
    CASE_ROUTINE *Run;
} g_cases[] = {
    { "C1", CaseC1 }, { "C2", CaseC2 }, { "C3", CaseC3 }, { "C4", CaseC4 }, { "C5", CaseC5 },
    { "Q1", CaseQ1 }, { "Q2", CaseQ2 }, { "Q3", CaseQ3 }, { "Q4", CaseQ4 }, { "Q5", CaseQ5 },
    { "Q6", CaseQ6 }, { "Q7", CaseQ7 },
    { "S1", CaseS1 }, { "S2", CaseS2 }, { "S3", CaseS3 }, { "S4", CaseS4 }, { "S5", CaseS5 },
    { "S6", CaseS6 }, { "S7", CaseS7 }, { "S8", CaseS8 },
    { "K1", CaseK1 }, { "K2", CaseK2 }, { "K3", CaseK3 }, { "K4", CaseK4 }, { "K5", CaseK5 },
    { "K6", CaseK6 },
    { "P1", CaseP1 }, { "P2", CaseP2 }, { "P3", CaseP3 }, { "P4", CaseP4 }, { "P5", CaseP5 },
    { "P6", CaseP6 },
};

/* --- dispatch, DriverEntry, DriverUnload ------------------------------------------------ */

DRIVER_DISPATCH ConformanceDispatch;
DRIVER_UNLOAD ConformanceUnload;
DRIVER_INITIALIZE DriverEntry;

NTSTATUS ConformanceDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status = STATUS_SUCCESS;
    if (DeviceObject == g_lower) {
        return LowerDispatch(DeviceObject, Irp);
    }
    if (DeviceObject == g_middle) {
        return MiddleDispatch(DeviceObject, Irp);
    }
    if (DeviceObject == g_startio) {
        return StartIoDispatch(DeviceObject, Irp);
    }
    if (sp->MajorFunction == IRP_MJ_DEVICE_CONTROL) {
        ULONG n = IoGetFunctionCodeFromCtlCode(sp->Parameters.DeviceIoControl.IoControlCode) - CONFORMANCE_CASE_BASE;
        if (n < RTL_NUMBER_OF(g_cases)) {
            g_case = g_cases[n].Name;
            g_failed = FALSE;
            g_cases[n].Run();
            DbgPrint("case %s: %s\n", g_case, g_failed ? "FAILED" : "passed");
            status = g_failed ? STATUS_UNSUCCESSFUL : STATUS_SUCCESS;
        } else {
            status = STATUS_INVALID_DEVICE_REQUEST;
        }
    }
    CompleteIrp(Irp, status);
    return status;
}

VOID ConformanceUnload(PDRIVER_OBJECT DriverObject)
{
    UNICODE_STRING link;
    UNREFERENCED_PARAMETER(DriverObject);
    RtlInitUnicodeString(&link, L"\\DosDevices\\IrpkitConformance");
    IoDeleteSymbolicLink(&link);
    IoDetachDevice(g_lower);
    IoDeleteDevice(g_middle);
    IoDeleteDevice(g_lower);
    IoDeleteDevice(g_startio);
    IoDeleteDevice(g_control);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING name, link;
    NTSTATUS status;
    ULONG i;
    UNREFERENCED_PARAMETER(RegistryPath);
    RtlInitUnicodeString(&name, L"\\Device\\IrpkitConformance");
    status = IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &g_control);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    RtlInitUnicodeString(&link, L"\\DosDevices\\IrpkitConformance");
    status = IoCreateSymbolicLink(&link, &name);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(g_control);
        return status;
    }
    IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g_lower);
    IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g_middle);
    IoCreateDevice(DriverObject, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &g_startio);
    g_middle_lower = IoAttachDeviceToDeviceStack(g_middle, g_lower);
    IoSetStartIoAttributes(g_startio, TRUE, FALSE);
    for (i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++) {
        DriverObject->MajorFunction[i] = ConformanceDispatch;
    }
    DriverObject->DriverStartIo = StartIo;
    DriverObject->DriverUnload = ConformanceUnload;
    InitializeListHead(&g_csq_list);
    KeInitializeSpinLock(&g_csq_lock);
    IoCsqInitializeEx(&g_csq, CsqInsertEx, CsqRemove, CsqPeekNext, CsqAcquire, CsqRelease, CsqCompleteCanceled);
    return STATUS_SUCCESS;
}
