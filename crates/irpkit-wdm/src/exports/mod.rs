//! The kernel routines a WDM driver imports, under their WDK names with the C calling
//! convention, each a thin call of its `irpkit::nt` routine (the one implementation).
//!
//! The routines are `extern "C-unwind"`: a verifier stop in strict mode (a panic), the
//! explorer abandoning a run, and PsTerminateSystemThread unwind through the driver's C
//! frames, which the loader compiles with unwind tables (`-fexceptions`). They are not
//! exported from the host binary by name: the loader hands their addresses to the
//! driver's import library ([`ROUTINES`], in the order of its slots), so any host — a test
//! binary, the `irpkit` command — runs C drivers without special link flags, and the
//! driver calls the very kernel the host runs.
//!
//! Conventions: `BOOLEAN` is `u8`, `ULONG` `u32`, `LONG` `i32`, `CCHAR` `i8`, `HANDLE` and
//! `PVOID` `*mut c_void`, a `LARGE_INTEGER` passed by value is an `i64`. Pointers a
//! driver passes are trusted as the WDK routine's contract trusts them; what irpkit can
//! check (IRQL, ownership, double completion, ...) the NT routine checks and reports.

#![allow(non_snake_case)]

use core::ffi::{c_char, c_void, CStr};

use irpkit::nt::UnicodeString;

mod io;
mod ke;
mod rtl;

/// One routine the driver's import library forwards to.
#[derive(Clone, Copy)]
pub(crate) struct Routine {
    /// Its WDK name.
    pub(crate) name: &'static str,
    /// Its address in this process.
    pub(crate) address: *const (),
}

// SAFETY: a routine is a name and a function address, both immutable.
unsafe impl Sync for Routine {}
// SAFETY: as above.
unsafe impl Send for Routine {}

macro_rules! routines {
    ($($module:ident :: $name:ident),* $(,)?) => {
        /// Every routine the import library forwards, in slot order.
        pub(crate) static ROUTINES: &[Routine] = &[
            $(Routine { name: stringify!($name), address: $module::$name as *const () }),*
        ];
    };
}

routines! {
    // IRPs and stack locations
    io::IoAllocateIrp, io::IoFreeIrp, io::IoReuseIrp, io::IoInitializeIrp, io::IoBuildAsynchronousFsdRequest,
    io::IoBuildSynchronousFsdRequest, io::IoBuildDeviceIoControlRequest, io::IoCallDriver, io::IofCallDriver,
    io::IoCompleteRequest, io::IofCompleteRequest, io::IoGetCurrentIrpStackLocation, io::IoGetNextIrpStackLocation,
    io::IoCopyCurrentIrpStackLocationToNext, io::IoSkipCurrentIrpStackLocation, io::IoSetCompletionRoutine,
    io::IoSetCompletionRoutineEx, io::IoMarkIrpPending, io::IoSetNextIrpStackLocation,
    // cancellation, StartIo, device queues, cancel-safe queues
    io::IoSetCancelRoutine, io::IoAcquireCancelSpinLock, io::IoReleaseCancelSpinLock, io::IoCancelIrp,
    io::IoStartPacket, io::IoStartNextPacket, io::IoStartNextPacketByKey, io::IoSetStartIoAttributes,
    ke::KeInitializeDeviceQueue, ke::KeInsertDeviceQueue, ke::KeInsertByKeyDeviceQueue, ke::KeRemoveDeviceQueue,
    ke::KeRemoveByKeyDeviceQueue, ke::KeRemoveByKeyDeviceQueueIfBusy, ke::KeRemoveEntryDeviceQueue,
    io::IoCsqInitialize, io::IoCsqInitializeEx, io::IoCsqInsertIrp, io::IoCsqInsertIrpEx, io::IoCsqRemoveIrp,
    io::IoCsqRemoveNextIrp,
    // devices and drivers
    io::IoCreateDevice, io::IoCreateDeviceSecure, io::IoDeleteDevice, io::IoCreateSymbolicLink,
    io::IoDeleteSymbolicLink, io::IoAttachDevice, io::IoAttachDeviceToDeviceStack, io::IoDetachDevice,
    io::IoGetAttachedDevice, io::IoGetAttachedDeviceReference, io::IoGetDeviceObjectPointer, io::IoGetRelatedDeviceObject, io::IoIsWdmVersionAvailable, io::IoGetCurrentProcess,
    io::IoGetRemainingStackSize, io::IoWMIRegistrationControl, io::IoAllocateWorkItem, io::IoFreeWorkItem,
    io::IoQueueWorkItem,
    // remove locks
    io::IoInitializeRemoveLockEx, io::IoAcquireRemoveLockEx, io::IoReleaseRemoveLockEx,
    io::IoReleaseRemoveLockAndWaitEx,
    // spin locks and IRQL
    ke::KeInitializeSpinLock, ke::KeAcquireSpinLockRaiseToDpc, ke::KfAcquireSpinLock, ke::KeReleaseSpinLock,
    ke::KfReleaseSpinLock, ke::KeAcquireSpinLockAtDpcLevel, ke::KeReleaseSpinLockFromDpcLevel,
    ke::KefAcquireSpinLockAtDpcLevel, ke::KefReleaseSpinLockFromDpcLevel, ke::KeAcquireInStackQueuedSpinLock,
    ke::KeReleaseInStackQueuedSpinLock, ke::KeAcquireInStackQueuedSpinLockAtDpcLevel,
    ke::KeReleaseInStackQueuedSpinLockFromDpcLevel, ke::KeTestSpinLock, ke::KeGetCurrentIrql, ke::KfRaiseIrql,
    ke::KeRaiseIrqlToDpcLevel, ke::KeLowerIrql, ke::KfLowerIrql,
    // DPCs and timers
    ke::KeInitializeDpc, ke::KeInsertQueueDpc, ke::KeRemoveQueueDpc, ke::KeFlushQueuedDpcs, ke::KeInitializeTimer,
    ke::KeInitializeTimerEx, ke::KeSetTimer, ke::KeSetTimerEx, ke::KeCancelTimer, ke::KeReadStateTimer,
    // dispatcher objects and waits
    ke::KeInitializeEvent, ke::KeSetEvent, ke::KeClearEvent, ke::KeResetEvent, ke::KeReadStateEvent,
    ke::KeInitializeSemaphore, ke::KeReleaseSemaphore, ke::KeReadStateSemaphore, ke::KeWaitForSingleObject,
    ke::KeWaitForMultipleObjects, ke::KeDelayExecutionThread, ke::KeStallExecutionProcessor,
    // time
    ke::KeQuerySystemTime, ke::KeQuerySystemTimePrecise, ke::KeQueryInterruptTime, ke::KeQueryTickCount,
    ke::KeQueryTimeIncrement,
    // threads and objects
    ke::KeEnterCriticalRegion, ke::KeLeaveCriticalRegion, ke::KeGetCurrentThread, ke::KeSetPriorityThread,
    ke::KeGetCurrentProcessorNumber, ke::PsCreateSystemThread, ke::PsTerminateSystemThread,
    ke::PsGetCurrentThread, ke::PsGetCurrentProcess, ke::PsGetCurrentThreadId, ke::PsGetCurrentProcessId,
    ke::ObReferenceObjectByHandle, ke::ObfReferenceObject, ke::ObfDereferenceObject,
    ke::ObDereferenceObjectDeferDelete, ke::ZwClose,
    // pool
    rtl::ExAllocatePool2, rtl::ExAllocatePoolWithTag, rtl::ExAllocatePoolZero, rtl::ExAllocatePoolQuotaZero,
    rtl::ExAllocatePoolUninitialized, rtl::ExAllocatePoolWithQuotaTag, rtl::ExAllocatePool, rtl::ExFreePoolWithTag,
    rtl::ExFreePool, rtl::ExInitializeDriverRuntime,
    // strings, memory, lists
    rtl::RtlInitUnicodeString, rtl::RtlInitAnsiString, rtl::RtlCopyUnicodeString, rtl::RtlEqualUnicodeString,
    rtl::RtlCompareUnicodeString, rtl::RtlCompareMemory, rtl::RtlIntegerToUnicodeString,
    rtl::RtlUnicodeStringToInteger, rtl::ExInterlockedInsertTailList, rtl::ExInterlockedInsertHeadList,
    rtl::ExInterlockedRemoveHeadList,
    // diagnostics
    rtl::RtlAssert, rtl::DbgBreakPoint, rtl::IrpkitDebugOutput, rtl::IrpkitPagedCode,
}

/// `BOOLEAN` from a Rust `bool`.
pub(crate) fn boolean(b: bool) -> u8 {
    u8::from(b)
}

/// A counted UTF-16 string as Rust text (`None` for a null string or buffer).
///
/// # Safety
/// `s` is null or points to a `UNICODE_STRING` whose buffer holds `Length` bytes.
pub(crate) unsafe fn unicode(s: *const UnicodeString) -> Option<String> {
    // SAFETY: the caller's contract.
    unsafe {
        if s.is_null() || (*s).buffer.is_null() {
            return None;
        }
        let units = core::slice::from_raw_parts((*s).buffer, usize::from((*s).length) / 2);
        Some(String::from_utf16_lossy(units))
    }
}

/// A NUL-terminated C string as Rust text (lossy; `None` for null).
///
/// # Safety
/// `s` is null or a NUL-terminated string.
pub(crate) unsafe fn c_text(s: *const c_char) -> Option<String> {
    // SAFETY: the caller's contract.
    (!s.is_null()).then(|| unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned())
}

/// A relative or absolute NT timeout (100 ns units; negative relative, positive an
/// absolute system time, null infinite) as the wait the NT layer takes.
///
/// # Safety
/// `timeout` is null or readable.
pub(crate) unsafe fn timeout(timeout: *const i64) -> Option<core::time::Duration> {
    if timeout.is_null() {
        return None;
    }
    // SAFETY: the caller's contract.
    let t = unsafe { timeout.read_unaligned() };
    let units = if t < 0 { t.unsigned_abs() } else { (t - irpkit::nt::ke_query_system_time()).max(0) as u64 };
    Some(core::time::Duration::from_nanos(units.saturating_mul(100)))
}

/// The opaque placeholder objects behind the `*ExEventObjectType`-style data a driver
/// imports: filled by the loader from the import library, compared by ObReferenceObjectByHandle.
pub(crate) static OBJECT_TYPES: std::sync::OnceLock<Vec<(usize, irpkit::nt::ObjectType)>> = std::sync::OnceLock::new();

/// The object type a `POBJECT_TYPE` from the driver names (`None`: any, or not known).
pub(crate) fn object_type(p: *mut c_void) -> Option<irpkit::nt::ObjectType> {
    OBJECT_TYPES.get()?.iter().find(|(a, _)| *a == p as usize).map(|(_, t)| *t)
}
