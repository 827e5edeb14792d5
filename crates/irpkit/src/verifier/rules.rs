//! The catalog of rules the verifier checks, each with its Windows code where one exists.

use core::fmt;

/// A Windows bug check (or Driver Verifier) code with its symbolic name and, for
/// `DRIVER_VERIFIER_IOMANAGER_VIOLATION`, the subcode (parameter 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BugCheck {
    /// The bug check code, e.g. `0x44`.
    pub code: u32,
    /// The symbolic name, e.g. `MULTIPLE_IRP_COMPLETE_REQUESTS`.
    pub name: &'static str,
    /// The subcode (first parameter) where the code has several meanings.
    pub subcode: Option<u32>,
}

impl fmt::Display for BugCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.subcode {
            Some(sub) => write!(f, "0x{:X}/0x{:02X} {}", self.code, sub, self.name),
            None => write!(f, "0x{:X} {}", self.code, self.name),
        }
    }
}

const DEBUGGER: &str = "https://learn.microsoft.com/windows-hardware/drivers/debugger/";
const DEVTEST: &str = "https://learn.microsoft.com/windows-hardware/drivers/devtest/";
const KERNEL: &str = "https://learn.microsoft.com/windows-hardware/drivers/kernel/";
const DDI: &str = "https://learn.microsoft.com/windows-hardware/drivers/ddi/";

macro_rules! rules {
    ($(
        $(#[$doc:meta])*
        $variant:ident {
            id: $id:literal,
            code: $code:expr,
            title: $title:literal,
            doc: $docbase:ident + $docpath:literal,
            fix: $fix:literal $(,)?
        }
    )*) => {
        /// A documented rule of NT I/O cancellation that the verifier checks.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Rule {
            $( $(#[$doc])* $variant, )*
        }

        impl Rule {
            /// Every rule, in catalog order.
            pub const ALL: &'static [Rule] = &[ $( Rule::$variant, )* ];

            /// A short stable identifier, e.g. `double-completion`.
            pub fn id(self) -> &'static str {
                match self { $( Rule::$variant => $id, )* }
            }

            /// The Windows bug check this rule corresponds to, where Windows has one.
            pub fn bugcheck(self) -> Option<BugCheck> {
                match self { $( Rule::$variant => $code, )* }
            }

            /// One line saying what the rule is.
            pub fn title(self) -> &'static str {
                match self { $( Rule::$variant => $title, )* }
            }

            /// Where Microsoft documents the rule or its bug check.
            pub fn doc_url(self) -> String {
                match self { $( Rule::$variant => format!("{}{}", $docbase, $docpath), )* }
            }

            /// How to fix a driver that breaks the rule.
            pub fn fix(self) -> &'static str {
                match self { $( Rule::$variant => $fix, )* }
            }
        }
    };
}

const fn bc(code: u32, name: &'static str) -> Option<BugCheck> {
    Some(BugCheck { code, name, subcode: None })
}

const fn iomgr(subcode: u32) -> Option<BugCheck> {
    Some(BugCheck { code: 0xC9, name: "DRIVER_VERIFIER_IOMANAGER_VIOLATION", subcode: Some(subcode) })
}

rules! {
    /// IoCompleteRequest on an IRP that was already completed.
    DoubleCompletion {
        id: "double-completion",
        code: bc(0x44, "MULTIPLE_IRP_COMPLETE_REQUESTS"),
        title: "an IRP is completed exactly once",
        doc: DEBUGGER + "bug-check-0x44--multiple-irp-complete-requests",
        fix: "Decide ownership before completing: a path that clears the cancel routine and gets NULL back (IoSetCancelRoutine(Irp, NULL) == NULL) must leave the IRP to the cancel routine; after IoCompleteRequest the IRP must not be touched again.",
    }
    /// IoCancelIrp found a cancel routine on an IRP that was already completed.
    CancelAfterCompletion {
        id: "cancel-after-completion",
        code: bc(0x48, "CANCEL_STATE_IN_COMPLETED_IRP"),
        title: "a completed IRP has no cancel routine",
        doc: DEBUGGER + "bug-check-0x48--cancel-state-in-completed-irp",
        fix: "Clear the cancel routine (IoSetCancelRoutine(Irp, NULL)) before completing the IRP.",
    }
    /// A cancel routine or dispatch routine returned while holding the cancel spin lock.
    ReturnedHoldingCancelLock {
        id: "returned-holding-cancel-lock",
        code: bc(0x11B, "DRIVER_RETURNED_HOLDING_CANCEL_LOCK"),
        title: "driver routines release the cancel spin lock before returning",
        doc: DEBUGGER + "bug-check-0x11b--driver-returned-holding-cancel-lock",
        fix: "Call IoReleaseCancelSpinLock on every path before returning; a cancel routine releases it with Irp->CancelIrql.",
    }
    /// A cancel routine released the cancel spin lock with an IRQL other than `Irp->CancelIrql`.
    CancelReleaseWrongIrql {
        id: "cancel-release-wrong-irql",
        code: None,
        title: "a cancel routine releases the cancel spin lock with Irp->CancelIrql (CodeQL IrqlCancelRoutine)",
        doc: KERNEL + "implementing-a-cancel-routine",
        fix: "Release with IoReleaseCancelSpinLock(Irp->CancelIrql), the IRQL IoCancelIrp saved for you.",
    }
    /// The cancel spin lock was acquired twice by one thread, or released without being held.
    CancelLockDiscipline {
        id: "cancel-lock-discipline",
        code: None,
        title: "the cancel spin lock is acquired once and released once (SDV CancelSpinLock)",
        doc: DEVTEST + "wdm-cancelspinlock",
        fix: "Pair every IoAcquireCancelSpinLock with exactly one IoReleaseCancelSpinLock; a cancel routine is entered holding the lock and must not acquire it again.",
    }
    /// IoCompleteRequest while `Irp->CancelRoutine` is still set.
    CompleteWithCancelRoutine {
        id: "complete-with-cancel-routine",
        code: iomgr(0x07),
        title: "an IRP is completed with its cancel routine cleared",
        doc: DEBUGGER + "bug-check-0xc9--driver-verifier-iomanager-violation",
        fix: "Call IoSetCancelRoutine(Irp, NULL) and check its result before IoCompleteRequest; if it returns NULL the cancel routine owns the IRP.",
    }
    /// IoCompleteRequest with `STATUS_PENDING` as the final status.
    CompleteWithPending {
        id: "complete-with-pending",
        code: iomgr(0x06),
        title: "an IRP is never completed with STATUS_PENDING",
        doc: DEBUGGER + "bug-check-0xc9--driver-verifier-iomanager-violation",
        fix: "Set Irp->IoStatus.Status to the real final status before IoCompleteRequest; STATUS_PENDING is only a dispatch routine's return value.",
    }
    /// IoCallDriver passed an IRP down while its cancel routine was set.
    CallDriverWithCancelRoutine {
        id: "call-driver-with-cancel-routine",
        code: iomgr(0x203),
        title: "an IRP passed to IoCallDriver has no cancel routine",
        doc: DEBUGGER + "bug-check-0xc9--driver-verifier-iomanager-violation",
        fix: "Clear the cancel routine (and win the exchange) before passing the IRP to the next driver.",
    }
    /// A driver set a cancel routine on an IRP that a lower driver owns (it was passed
    /// down with IoCallDriver and not yet given back).
    CancelRoutineOnLowerIrp {
        id: "cancel-routine-on-lower-irp",
        code: Some(BugCheck { code: 0xC4, name: "DRIVER_VERIFIER_DETECTED_VIOLATION", subcode: Some(0x229) }),
        title: "only the driver that owns an IRP sets its cancel routine",
        doc: DEBUGGER + "bug-check-0xc4--driver-verifier-detected-violation",
        fix: "Set a cancel routine only on an IRP your driver holds (the current stack location is yours); once passed down, the lower driver owns it.",
    }
    /// A dispatch routine left a cancel routine on an IRP that was already cancelled:
    /// nothing will ever call it (SDV IrpCancelField).
    CancelFlagNotChecked {
        id: "cancel-flag-not-checked",
        code: None,
        title: "after setting a cancel routine, check Irp->Cancel (SDV IrpCancelField)",
        doc: DEVTEST + "wdm-irpcancelfield",
        fix: "After IoSetCancelRoutine(Irp, routine), test Irp->Cancel; if it is set and IoSetCancelRoutine(Irp, NULL) returns your routine, complete the IRP as cancelled yourself — IoCancelIrp already ran and will not call the routine.",
    }
    /// A dispatch routine returned STATUS_PENDING without marking the IRP pending, or
    /// marked it pending and returned something else (SDV MarkIrpPending, MarkIrpPending2).
    PendingMismatch {
        id: "pending-mismatch",
        code: None,
        title: "a dispatch routine returns STATUS_PENDING exactly when it marked the IRP pending (SDV MarkIrpPending, MarkIrpPending2)",
        doc: DEVTEST + "wdm-markirppending2",
        fix: "Call IoMarkIrpPending(Irp) before queueing the IRP or handing it to another thread, and then return STATUS_PENDING from the dispatch routine — on every path; a path that completes the IRP itself returns the status it completed with and does not mark it.",
    }
    /// A cancel routine reached `Irp->CancelRoutine` by a plain store instead of
    /// IoSetCancelRoutine's interlocked exchange.
    CancelRoutinePlainStore {
        id: "cancel-routine-plain-store",
        code: None,
        title: "Irp->CancelRoutine is set only through IoSetCancelRoutine (an interlocked exchange)",
        doc: DDI + "wdm/nf-wdm-iosetcancelroutine",
        fix: "Replace `Irp->CancelRoutine = Routine` with IoSetCancelRoutine(Irp, Routine): only the exchange's return value tells whether IoCancelIrp already took the previous routine; a plain store races it.",
    }
    /// IoSetStartIoAttributes(NonCancelable = FALSE) while the IRP being started has no
    /// cancel routine yet (SDV StartIoCancel).
    StartIoCancel {
        id: "start-io-cancel",
        code: None,
        title: "StartIo is made cancelable only after the cancel routine is registered (SDV StartIoCancel)",
        doc: DEVTEST + "wdm-startiocancel",
        fix: "Register the cancel routine (IoSetCancelRoutine, or IoStartPacket's CancelFunction) before calling IoSetStartIoAttributes with NonCancelable = FALSE, or set the attributes once, before any IRP arrives.",
    }
    /// KeRemoveDeviceQueue on a device queue that is not busy.
    DeviceQueueNotBusy {
        id: "device-queue-not-busy",
        code: bc(0x2, "DEVICE_QUEUE_NOT_BUSY"),
        title: "KeRemoveDeviceQueue is called only on a busy device queue",
        doc: DEBUGGER + "bug-check-0x2--device-queue-not-busy",
        fix: "Only the owner of a busy queue removes entries; use KeRemoveByKeyDeviceQueueIfBusy where the queue may be idle.",
    }
    /// A driver called IoCancelIrp on an IRP it did not create.
    ForeignIrpCancel {
        id: "foreign-irp-cancel",
        code: None,
        title: "drivers cancel only IRPs they created",
        doc: KERNEL + "canceling-irps",
        fix: "Cancel only IRPs your driver allocated (IoAllocateIrp, IoBuildDeviceIoControlRequest, IoBuildAsynchronousFsdRequest); requester IRPs are cancelled by the I/O manager.",
    }
    /// IoCompleteRequest while the caller holds a spin lock.
    CompleteUnderSpinLock {
        id: "complete-under-spin-lock",
        code: None,
        title: "never complete an IRP while holding a spin lock",
        doc: KERNEL + "completing-irps",
        fix: "Release every spin lock (including the cancel spin lock) before calling IoCompleteRequest; collect IRPs to complete in a local list under the lock and complete them after.",
    }
    /// A routine was called above the highest IRQL it allows.
    IrqlTooHigh {
        id: "irql-too-high",
        code: bc(0xA, "IRQL_NOT_LESS_OR_EQUAL"),
        title: "routines are called at or below their documented IRQL",
        doc: DEBUGGER + "bug-check-0xa--irql-not-less-or-equal",
        fix: "Call the routine at the IRQL its documentation allows; release spin locks or lower the IRQL first.",
    }
    /// KeRaiseIrql to a lower level, KeLowerIrql to a higher one, or a spin lock released
    /// below DISPATCH_LEVEL.
    IrqlNotGreaterOrEqual {
        id: "irql-not-greater-or-equal",
        code: bc(0x9, "IRQL_NOT_GREATER_OR_EQUAL"),
        title: "IRQL is raised only upward and lowered only downward",
        doc: DEBUGGER + "bug-check-0x9--irql-not-greater-or-equal",
        fix: "Restore exactly the IRQL returned by the matching raise or acquire.",
    }
    /// IoCallDriver with no stack location left.
    NoMoreIrpStackLocations {
        id: "no-more-irp-stack-locations",
        code: bc(0x35, "NO_MORE_IRP_STACK_LOCATIONS"),
        title: "an IRP has a stack location for every driver it is passed to",
        doc: DEBUGGER + "bug-check-0x35--no-more-irp-stack-locations",
        fix: "Allocate IRPs with DeviceObject->StackSize locations (plus one if you need your own) and set the StackSize of a filter to the lower device's plus one.",
    }
    /// A routine was given a pointer that is not a live IRP (freed, or not an IRP).
    InvalidIrp {
        id: "invalid-irp",
        code: iomgr(0x02),
        title: "routines are given live IRPs",
        doc: DEBUGGER + "bug-check-0xc9--driver-verifier-iomanager-violation",
        fix: "Do not use an IRP after it was completed and freed; keep your own reference only while you own it.",
    }
    /// StartIo called IoStartNextPacket without the DeferredStartIo attribute.
    StartIoRecursion {
        id: "start-io-recursion",
        code: None,
        title: "StartIo does not recurse through IoStartNextPacket (SDV StartIoRecursion)",
        doc: DEVTEST + "wdm-startiorecursion",
        fix: "Call IoSetStartIoAttributes(DeviceObject, TRUE, ...) so that IoStartNextPacket from inside StartIo is deferred until StartIo returns, or start the next packet from the DPC instead.",
    }
    /// IoStartPacket or IoStartNextPacket on a device whose driver has no StartIo routine.
    StartIoMissing {
        id: "start-io-missing",
        code: None,
        title: "IoStartPacket is used only by drivers with a StartIo routine",
        doc: KERNEL + "startio-routines",
        fix: "Set DriverObject->DriverStartIo in DriverEntry before any IoStartPacket.",
    }
    /// An IRP was completed while still linked in a device queue (or cancel-safe queue).
    CompletedWhileQueued {
        id: "completed-while-queued",
        code: None,
        title: "an IRP is never completed while it is still linked in a queue",
        doc: KERNEL + "cancel-routines-in-drivers-with-startio-routines",
        fix: "Remove the IRP from its queue first (KeRemoveEntryDeviceQueue in a cancel routine, IoCsqRemoveIrp for a cancel-safe queue) and complete it only if the removal succeeded.",
    }
    /// An IRP was dropped (lost) without being completed or handed on.
    IrpLeaked {
        id: "irp-leaked",
        code: None,
        title: "every IRP is completed exactly once or handed on (DevFund I/O cancellation test)",
        doc: KERNEL + "canceling-irps",
        fix: "Complete every IRP you own, queue it, or pass it down; cleanup, thread exit and unload must find nothing left behind.",
    }
    /// IoReuseIrp on an IRP that is still in use: a cancel routine is set, or a driver
    /// it was sent to has not completed it back to its creator.
    ReuseIrpInUse {
        id: "reuse-irp-in-use",
        code: None,
        title: "an IRP is reused only when it is back with its creator, with no cancel routine",
        doc: KERNEL + "reusing-irps",
        fix: "Call IoReuseIrp only after the IRP's completion routine (yours) returned STATUS_MORE_PROCESSING_REQUIRED, or before it was ever sent; clear any cancel routine first. An IRP a lower driver still holds is that driver's.",
    }
    /// IoReuseIrp on an IRP the caller did not allocate with IoAllocateIrp (SDV IoReuseIrp,
    /// IoReuseIrp2).
    ReuseForeignIrp {
        id: "reuse-foreign-irp",
        code: None,
        title: "IoReuseIrp is used only on IRPs the caller allocated with IoAllocateIrp (SDV IoReuseIrp, IoReuseIrp2)",
        doc: DEVTEST + "wdm-ioreuseirp2",
        fix: "Reuse only IRPs your driver allocated with IoAllocateIrp (or as raw memory set up with IoInitializeIrp). IRPs from IoBuildSynchronousFsdRequest, IoBuildAsynchronousFsdRequest, IoBuildDeviceIoControlRequest or another driver are not yours to reinitialise: free or complete them and allocate your own.",
    }
    /// ExFreePool of memory that is not an allocated pool block, or with the wrong tag.
    BadPoolCaller {
        id: "bad-pool-caller",
        code: bc(0xC2, "BAD_POOL_CALLER"),
        title: "pool is freed once, with the tag it was allocated with",
        doc: DEBUGGER + "bug-check-0xc2--bad-pool-caller",
        fix: "Free each block returned by ExAllocatePool2/ExAllocatePoolWithTag exactly once, with ExFreePoolWithTag and the same tag; set your pointer to NULL after freeing it.",
    }
    /// A driver unloaded with pool blocks it allocated still allocated.
    PoolLeaked {
        id: "pool-leaked",
        code: Some(BugCheck { code: 0xC4, name: "DRIVER_VERIFIER_DETECTED_VIOLATION", subcode: Some(0x62) }),
        title: "a driver frees its pool allocations before it unloads",
        doc: DEBUGGER + "bug-check-0xc4--driver-verifier-detected-violation",
        fix: "Free every block the driver allocated (per-file contexts at IRP_MJ_CLOSE, per-device state in Unload) before DriverUnload returns.",
    }
    /// A checked-build ASSERT failed.
    AssertionFailed {
        id: "assertion-failed",
        code: None,
        title: "the driver's own assertions hold (ASSERT, NT_ASSERT)",
        doc: DDI + "wdm/nf-wdm-rtlassert",
        fix: "The driver asserted something that is false on this path: the report names the expression, the file and the line.",
    }
    /// ZwClose of a kernel handle that is not open.
    InvalidKernelHandle {
        id: "invalid-kernel-handle",
        code: bc(0x93, "INVALID_KERNEL_HANDLE"),
        title: "kernel handles are closed once",
        doc: DEBUGGER + "bug-check-0x93--invalid-kernel-handle",
        fix: "Close each handle exactly once (ZwClose), and only handles you opened.",
    }
    /// A driver unloaded while its timers, DPCs or system threads could still run its code.
    UnloadWithPendingOperations {
        id: "unload-with-pending-operations",
        code: bc(0xCE, "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS"),
        title: "Unload cancels the driver's timers and DPCs and waits for its threads",
        doc: DEBUGGER + "bug-check-0xce--driver-unloaded-without-cancelling-pending-operations",
        fix: "In Unload, KeCancelTimer every timer, KeRemoveQueueDpc/KeFlushQueuedDpcs the DPCs, and signal each system thread to end and wait on its thread object before returning.",
    }
    /// A spin lock was acquired twice by one thread, or released by a thread that does
    /// not hold it.
    SpinLockDiscipline {
        id: "spin-lock-discipline",
        code: None,
        title: "a spin lock is acquired once and released only by its holder",
        doc: KERNEL + "spin-locks",
        fix: "Acquire a spin lock once (a second acquire on the same processor deadlocks) and release it on the thread that acquired it, exactly once.",
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bugcheck() {
            Some(bc) => write!(f, "{bc} [{}]", self.id()),
            None => write!(f, "[{}]", self.id()),
        }
    }
}
