/*
 * irpkit/wdmroutines.h - irpkit-wdm: the kernel routines a WDM driver calls.
 *
 * Written for irpkit from Microsoft's documentation of each routine (name, parameter
 * names and types, return type). Every routine declared here is implemented by irpkit's
 * Rust side (crates/irpkit-wdm/src/exports/{io,ke,rtl}.rs) with a C signature of the
 * same ABI, and reached through the driver's import library; the exceptions, which the
 * driver runtime (c/irpkit_rt.c) defines, are noted where they are declared.
 *
 * Differences from the WDK, all so that unmodified driver code compiles and runs here:
 *   - Routines that the WDK makes inline functions or macros over other exports on x64
 *     (IoGetCurrentIrpStackLocation, IoMarkIrpPending, IoSetCancelRoutine,
 *     KeQuerySystemTime, KeQueryTickCount, ExAllocatePoolZero, ...) are ordinary
 *     imported functions, so that irpkit's verifier sees every one of them.
 *   - ObReferenceObjectByHandle's Object parameter is a PVOID (the WDK's is PVOID *), so
 *     that passing `&Extension->ThreadObject` (a PETHREAD *) compiles without
 *     -Wincompatible-pointer-types (an error by default in gcc 14).
 *   - PsTerminateSystemThread is declared returning NTSTATUS, as documented; it never
 *     returns to its caller.
 *
 * Included by wdm.h after irpkit/wdmbase.h and irpkit/wdmobjects.h.
 */
#ifndef IRPKIT_WDMROUTINES_H
#define IRPKIT_WDMROUTINES_H

#include "irpkit/wdmbase.h"
#include "irpkit/wdmobjects.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------- */
/* IRPs and stack locations                                                             */
/* ---------------------------------------------------------------------------------- */

NTKERNELAPI PIRP IoAllocateIrp(_In_ CCHAR StackSize, _In_ BOOLEAN ChargeQuota);
NTKERNELAPI VOID IoFreeIrp(_In_ PIRP Irp);
NTKERNELAPI VOID IoReuseIrp(_Inout_ PIRP Irp, _In_ NTSTATUS Iostatus);
NTKERNELAPI VOID IoInitializeIrp(_Inout_ PIRP Irp, _In_ USHORT PacketSize, _In_ CCHAR StackSize);

NTKERNELAPI PIRP IoBuildAsynchronousFsdRequest(_In_ ULONG MajorFunction, _In_ PDEVICE_OBJECT DeviceObject,
                                               _Inout_opt_ PVOID Buffer, _In_opt_ ULONG Length,
                                               _In_opt_ PLARGE_INTEGER StartingOffset,
                                               _In_opt_ PIO_STATUS_BLOCK IoStatusBlock);
NTKERNELAPI PIRP IoBuildSynchronousFsdRequest(_In_ ULONG MajorFunction, _In_ PDEVICE_OBJECT DeviceObject,
                                              _Inout_opt_ PVOID Buffer, _In_opt_ ULONG Length,
                                              _In_opt_ PLARGE_INTEGER StartingOffset, _In_ PKEVENT Event,
                                              _Out_ PIO_STATUS_BLOCK IoStatusBlock);
NTKERNELAPI PIRP IoBuildDeviceIoControlRequest(_In_ ULONG IoControlCode, _In_ PDEVICE_OBJECT DeviceObject,
                                               _In_opt_ PVOID InputBuffer, _In_ ULONG InputBufferLength,
                                               _Out_opt_ PVOID OutputBuffer, _In_ ULONG OutputBufferLength,
                                               _In_ BOOLEAN InternalDeviceIoControl, _In_opt_ PKEVENT Event,
                                               _Out_ PIO_STATUS_BLOCK IoStatusBlock);

/* Both spellings are exported: IoCallDriver is not a macro over IofCallDriver here. */
NTKERNELAPI NTSTATUS IoCallDriver(_In_ PDEVICE_OBJECT DeviceObject, _Inout_ PIRP Irp);
NTKERNELAPI NTSTATUS IofCallDriver(_In_ PDEVICE_OBJECT DeviceObject, _Inout_ PIRP Irp);
NTKERNELAPI VOID IoCompleteRequest(_In_ PIRP Irp, _In_ CCHAR PriorityBoost);
NTKERNELAPI VOID IofCompleteRequest(_In_ PIRP Irp, _In_ CCHAR PriorityBoost);

NTKERNELAPI PIO_STACK_LOCATION IoGetCurrentIrpStackLocation(_In_ PIRP Irp);
NTKERNELAPI PIO_STACK_LOCATION IoGetNextIrpStackLocation(_In_ PIRP Irp);
NTKERNELAPI VOID IoCopyCurrentIrpStackLocationToNext(_Inout_ PIRP Irp);
NTKERNELAPI VOID IoSkipCurrentIrpStackLocation(_Inout_ PIRP Irp);
NTKERNELAPI VOID IoSetNextIrpStackLocation(_Inout_ PIRP Irp);
NTKERNELAPI VOID IoMarkIrpPending(_Inout_ PIRP Irp);

NTKERNELAPI VOID IoSetCompletionRoutine(_In_ PIRP Irp, _In_opt_ PIO_COMPLETION_ROUTINE CompletionRoutine,
                                        _In_opt_ PVOID Context, _In_ BOOLEAN InvokeOnSuccess,
                                        _In_ BOOLEAN InvokeOnError, _In_ BOOLEAN InvokeOnCancel);
NTKERNELAPI NTSTATUS IoSetCompletionRoutineEx(_In_ PDEVICE_OBJECT DeviceObject, _In_ PIRP Irp,
                                              _In_ PIO_COMPLETION_ROUTINE CompletionRoutine,
                                              _In_opt_ PVOID Context, _In_ BOOLEAN InvokeOnSuccess,
                                              _In_ BOOLEAN InvokeOnError, _In_ BOOLEAN InvokeOnCancel);

/* The size of an IRP with StackSize stack locations. */
#define IoSizeOfIrp(StackSize) ((USHORT)(sizeof(IRP) + ((StackSize) * (sizeof(IO_STACK_LOCATION)))))

/* The function code (bits 13-2) of an I/O control code. */
#define IoGetFunctionCodeFromCtlCode(ControlCode) (((ULONG)((ControlCode) & 0x3FFC)) >> 2)

/* Whether a status reports a condition the user can correct (no medium, wrong volume, ...). */
#define IoIsErrorUserInduced(Status)                                                        \
    ((BOOLEAN)(((Status) == STATUS_DEVICE_NOT_READY) || ((Status) == STATUS_IO_TIMEOUT) ||  \
               ((Status) == STATUS_MEDIA_WRITE_PROTECTED) ||                                \
               ((Status) == STATUS_NO_MEDIA_IN_DEVICE) ||                                   \
               ((Status) == STATUS_UNRECOGNIZED_MEDIA) ||                                   \
               ((Status) == STATUS_VERIFY_REQUIRED) || ((Status) == STATUS_WRONG_VOLUME)))

/* ---------------------------------------------------------------------------------- */
/* Cancellation and StartIo                                                             */
/* ---------------------------------------------------------------------------------- */

/*
 * An interlocked exchange of Irp->CancelRoutine, returning the previous routine. A
 * function (the WDK's is a macro over InterlockedExchangePointer), so that irpkit's
 * verifier sees who set and who cleared each routine.
 */
NTKERNELAPI PDRIVER_CANCEL IoSetCancelRoutine(_Inout_ PIRP Irp, _In_opt_ PDRIVER_CANCEL CancelRoutine);
NTKERNELAPI VOID IoAcquireCancelSpinLock(_Out_ PKIRQL Irql);
NTKERNELAPI VOID IoReleaseCancelSpinLock(_In_ KIRQL Irql);
NTKERNELAPI BOOLEAN IoCancelIrp(_In_ PIRP Irp);

NTKERNELAPI VOID IoStartPacket(_In_ PDEVICE_OBJECT DeviceObject, _In_ PIRP Irp, _In_opt_ PULONG Key,
                               _In_opt_ PDRIVER_CANCEL CancelFunction);
NTKERNELAPI VOID IoStartNextPacket(_In_ PDEVICE_OBJECT DeviceObject, _In_ BOOLEAN Cancelable);
NTKERNELAPI VOID IoStartNextPacketByKey(_In_ PDEVICE_OBJECT DeviceObject, _In_ BOOLEAN Cancelable, _In_ ULONG Key);
NTKERNELAPI VOID IoSetStartIoAttributes(_In_ PDEVICE_OBJECT DeviceObject, _In_ BOOLEAN DeferredStartIo,
                                        _In_ BOOLEAN NonCancelable);

/* ---------------------------------------------------------------------------------- */
/* Device queues                                                                        */
/* ---------------------------------------------------------------------------------- */

NTKERNELAPI VOID KeInitializeDeviceQueue(_Out_ PKDEVICE_QUEUE DeviceQueue);
NTKERNELAPI BOOLEAN KeInsertDeviceQueue(_Inout_ PKDEVICE_QUEUE DeviceQueue,
                                        _Inout_ PKDEVICE_QUEUE_ENTRY DeviceQueueEntry);
NTKERNELAPI BOOLEAN KeInsertByKeyDeviceQueue(_Inout_ PKDEVICE_QUEUE DeviceQueue,
                                             _Inout_ PKDEVICE_QUEUE_ENTRY DeviceQueueEntry, _In_ ULONG SortKey);
NTKERNELAPI PKDEVICE_QUEUE_ENTRY KeRemoveDeviceQueue(_Inout_ PKDEVICE_QUEUE DeviceQueue);
NTKERNELAPI PKDEVICE_QUEUE_ENTRY KeRemoveByKeyDeviceQueue(_Inout_ PKDEVICE_QUEUE DeviceQueue, _In_ ULONG SortKey);
NTKERNELAPI PKDEVICE_QUEUE_ENTRY KeRemoveByKeyDeviceQueueIfBusy(_Inout_ PKDEVICE_QUEUE DeviceQueue,
                                                                _In_ ULONG SortKey);
NTKERNELAPI BOOLEAN KeRemoveEntryDeviceQueue(_Inout_ PKDEVICE_QUEUE DeviceQueue,
                                             _Inout_ PKDEVICE_QUEUE_ENTRY DeviceQueueEntry);

/* ---------------------------------------------------------------------------------- */
/* Cancel-safe queues                                                                   */
/* ---------------------------------------------------------------------------------- */

NTKERNELAPI NTSTATUS IoCsqInitialize(_Out_ PIO_CSQ Csq, _In_ PIO_CSQ_INSERT_IRP CsqInsertIrp,
                                     _In_ PIO_CSQ_REMOVE_IRP CsqRemoveIrp,
                                     _In_ PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp,
                                     _In_ PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock,
                                     _In_ PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                                     _In_ PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp);
NTKERNELAPI NTSTATUS IoCsqInitializeEx(_Out_ PIO_CSQ Csq, _In_ PIO_CSQ_INSERT_IRP_EX CsqInsertIrp,
                                       _In_ PIO_CSQ_REMOVE_IRP CsqRemoveIrp,
                                       _In_ PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp,
                                       _In_ PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock,
                                       _In_ PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                                       _In_ PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp);
/* Marks the IRP pending itself, as documented. */
NTKERNELAPI VOID IoCsqInsertIrp(_Inout_ PIO_CSQ Csq, _Inout_ PIRP Irp, _Out_opt_ PIO_CSQ_IRP_CONTEXT Context);
NTKERNELAPI NTSTATUS IoCsqInsertIrpEx(_Inout_ PIO_CSQ Csq, _Inout_ PIRP Irp, _Out_opt_ PIO_CSQ_IRP_CONTEXT Context,
                                      _In_opt_ PVOID InsertContext);
NTKERNELAPI PIRP IoCsqRemoveIrp(_Inout_ PIO_CSQ Csq, _Inout_ PIO_CSQ_IRP_CONTEXT Context);
NTKERNELAPI PIRP IoCsqRemoveNextIrp(_Inout_ PIO_CSQ Csq, _In_opt_ PVOID PeekContext);

/* ---------------------------------------------------------------------------------- */
/* Devices, drivers, work items                                                         */
/* ---------------------------------------------------------------------------------- */

NTKERNELAPI NTSTATUS IoCreateDevice(_In_ PDRIVER_OBJECT DriverObject, _In_ ULONG DeviceExtensionSize,
                                    _In_opt_ PUNICODE_STRING DeviceName, _In_ DEVICE_TYPE DeviceType,
                                    _In_ ULONG DeviceCharacteristics, _In_ BOOLEAN Exclusive,
                                    _Out_ PDEVICE_OBJECT *DeviceObject);
NTKERNELAPI VOID IoDeleteDevice(_In_ PDEVICE_OBJECT DeviceObject);
NTKERNELAPI NTSTATUS IoCreateSymbolicLink(_In_ PUNICODE_STRING SymbolicLinkName, _In_ PUNICODE_STRING DeviceName);
NTKERNELAPI NTSTATUS IoDeleteSymbolicLink(_In_ PUNICODE_STRING SymbolicLinkName);
NTKERNELAPI NTSTATUS IoAttachDevice(_In_ PDEVICE_OBJECT SourceDevice, _In_ PUNICODE_STRING TargetDevice,
                                    _Out_ PDEVICE_OBJECT *AttachedDevice);
NTKERNELAPI PDEVICE_OBJECT IoAttachDeviceToDeviceStack(_In_ PDEVICE_OBJECT SourceDevice,
                                                       _In_ PDEVICE_OBJECT TargetDevice);
NTKERNELAPI VOID IoDetachDevice(_Inout_ PDEVICE_OBJECT TargetDevice);
NTKERNELAPI PDEVICE_OBJECT IoGetAttachedDevice(_In_ PDEVICE_OBJECT DeviceObject);
NTKERNELAPI PDEVICE_OBJECT IoGetAttachedDeviceReference(_In_ PDEVICE_OBJECT DeviceObject);
NTKERNELAPI NTSTATUS IoGetDeviceObjectPointer(_In_ PUNICODE_STRING ObjectName, _In_ ACCESS_MASK DesiredAccess,
                                              _Out_ PFILE_OBJECT *FileObject, _Out_ PDEVICE_OBJECT *DeviceObject);
NTKERNELAPI PDEVICE_OBJECT IoGetRelatedDeviceObject(_In_ PFILE_OBJECT FileObject);
NTKERNELAPI BOOLEAN IoIsWdmVersionAvailable(_In_ UCHAR MajorVersion, _In_ UCHAR MinorVersion);
NTKERNELAPI PEPROCESS IoGetCurrentProcess(VOID);
NTKERNELAPI ULONG_PTR IoGetRemainingStackSize(VOID);
NTKERNELAPI NTSTATUS IoWMIRegistrationControl(_In_ PDEVICE_OBJECT DeviceObject, _In_ ULONG Action);

NTKERNELAPI PIO_WORKITEM IoAllocateWorkItem(_In_ PDEVICE_OBJECT DeviceObject);
NTKERNELAPI VOID IoFreeWorkItem(_In_ PIO_WORKITEM IoWorkItem);
NTKERNELAPI VOID IoQueueWorkItem(_Inout_ PIO_WORKITEM IoWorkItem, _In_ PIO_WORKITEM_ROUTINE WorkerRoutine,
                                 _In_ WORK_QUEUE_TYPE QueueType, _In_opt_ PVOID Context);

/* The DpcForIsr object of a device (DeviceObject->Dpc). */
#define IoInitializeDpcRequest(DeviceObject, DpcRoutine) \
    KeInitializeDpc(&(DeviceObject)->Dpc, (PKDEFERRED_ROUTINE)(DpcRoutine), (DeviceObject))
#define IoRequestDpc(DeviceObject, Irp, Context) \
    KeInsertQueueDpc(&(DeviceObject)->Dpc, (Irp), (Context))

/* ---------------------------------------------------------------------------------- */
/* Remove locks: the IoXxxRemoveLock names are macros over the Ex routines, as in the WDK */
/* ---------------------------------------------------------------------------------- */

NTKERNELAPI VOID IoInitializeRemoveLockEx(_Out_ PIO_REMOVE_LOCK Lock, _In_ ULONG AllocateTag,
                                          _In_ ULONG MaxLockedMinutes, _In_ ULONG HighWatermark,
                                          _In_ ULONG RemlockSize);
NTKERNELAPI NTSTATUS IoAcquireRemoveLockEx(_Inout_ PIO_REMOVE_LOCK RemoveLock, _In_opt_ PVOID Tag,
                                           _In_ PCSTR File, _In_ ULONG Line, _In_ ULONG RemlockSize);
NTKERNELAPI VOID IoReleaseRemoveLockEx(_Inout_ PIO_REMOVE_LOCK RemoveLock, _In_opt_ PVOID Tag,
                                       _In_ ULONG RemlockSize);
NTKERNELAPI VOID IoReleaseRemoveLockAndWaitEx(_Inout_ PIO_REMOVE_LOCK RemoveLock, _In_opt_ PVOID Tag,
                                              _In_ ULONG RemlockSize);

#define IoInitializeRemoveLock(Lock, Tag, Maxmin, HighWater) \
    IoInitializeRemoveLockEx((Lock), (Tag), (Maxmin), (HighWater), sizeof(IO_REMOVE_LOCK))
#define IoAcquireRemoveLock(RemoveLock, Tag) \
    IoAcquireRemoveLockEx((RemoveLock), (PVOID)(Tag), __FILE__, __LINE__, sizeof(IO_REMOVE_LOCK))
#define IoReleaseRemoveLock(RemoveLock, Tag) \
    IoReleaseRemoveLockEx((RemoveLock), (PVOID)(Tag), sizeof(IO_REMOVE_LOCK))
#define IoReleaseRemoveLockAndWait(RemoveLock, Tag) \
    IoReleaseRemoveLockAndWaitEx((RemoveLock), (PVOID)(Tag), sizeof(IO_REMOVE_LOCK))

/* ---------------------------------------------------------------------------------- */
/* Spin locks and IRQL                                                                  */
/* ---------------------------------------------------------------------------------- */

NTKERNELAPI VOID KeInitializeSpinLock(_Out_ PKSPIN_LOCK SpinLock);
NTKERNELAPI KIRQL KeAcquireSpinLockRaiseToDpc(_Inout_ PKSPIN_LOCK SpinLock);
NTKERNELAPI KIRQL KfAcquireSpinLock(_Inout_ PKSPIN_LOCK SpinLock);
NTKERNELAPI VOID KeReleaseSpinLock(_Inout_ PKSPIN_LOCK SpinLock, _In_ KIRQL NewIrql);
NTKERNELAPI VOID KfReleaseSpinLock(_Inout_ PKSPIN_LOCK SpinLock, _In_ KIRQL NewIrql);
NTKERNELAPI VOID KeAcquireSpinLockAtDpcLevel(_Inout_ PKSPIN_LOCK SpinLock);
NTKERNELAPI VOID KeReleaseSpinLockFromDpcLevel(_Inout_ PKSPIN_LOCK SpinLock);
NTKERNELAPI VOID KefAcquireSpinLockAtDpcLevel(_Inout_ PKSPIN_LOCK SpinLock);
NTKERNELAPI VOID KefReleaseSpinLockFromDpcLevel(_Inout_ PKSPIN_LOCK SpinLock);
NTKERNELAPI VOID KeAcquireInStackQueuedSpinLock(_Inout_ PKSPIN_LOCK SpinLock, _Out_ PKLOCK_QUEUE_HANDLE LockHandle);
NTKERNELAPI VOID KeReleaseInStackQueuedSpinLock(_In_ PKLOCK_QUEUE_HANDLE LockHandle);
NTKERNELAPI VOID KeAcquireInStackQueuedSpinLockAtDpcLevel(_Inout_ PKSPIN_LOCK SpinLock,
                                                          _Out_ PKLOCK_QUEUE_HANDLE LockHandle);
NTKERNELAPI VOID KeReleaseInStackQueuedSpinLockFromDpcLevel(_In_ PKLOCK_QUEUE_HANDLE LockHandle);
/* TRUE if the lock is free now. */
NTKERNELAPI BOOLEAN KeTestSpinLock(_In_ PKSPIN_LOCK SpinLock);

/* KeAcquireSpinLock(SpinLock, &OldIrql): raises to DISPATCH_LEVEL and takes the lock. */
#define KeAcquireSpinLock(SpinLock, OldIrql) (*(OldIrql) = KeAcquireSpinLockRaiseToDpc(SpinLock))

NTKERNELAPI KIRQL KeGetCurrentIrql(VOID);
NTKERNELAPI KIRQL KfRaiseIrql(_In_ KIRQL NewIrql);
NTKERNELAPI KIRQL KeRaiseIrqlToDpcLevel(VOID);
NTKERNELAPI VOID KeLowerIrql(_In_ KIRQL NewIrql);
NTKERNELAPI VOID KfLowerIrql(_In_ KIRQL NewIrql);

/* KeRaiseIrql(NewIrql, &OldIrql). */
#define KeRaiseIrql(NewIrql, OldIrql) (*(OldIrql) = KfRaiseIrql(NewIrql))

/* ---------------------------------------------------------------------------------- */
/* DPCs and timers                                                                      */
/* ---------------------------------------------------------------------------------- */

NTKERNELAPI VOID KeInitializeDpc(_Out_ PRKDPC Dpc, _In_ PKDEFERRED_ROUTINE DeferredRoutine,
                                 _In_opt_ PVOID DeferredContext);
NTKERNELAPI BOOLEAN KeInsertQueueDpc(_Inout_ PRKDPC Dpc, _In_opt_ PVOID SystemArgument1,
                                     _In_opt_ PVOID SystemArgument2);
NTKERNELAPI BOOLEAN KeRemoveQueueDpc(_Inout_ PRKDPC Dpc);
NTKERNELAPI VOID KeFlushQueuedDpcs(VOID);

NTKERNELAPI VOID KeInitializeTimer(_Out_ PKTIMER Timer);
NTKERNELAPI VOID KeInitializeTimerEx(_Out_ PKTIMER Timer, _In_ TIMER_TYPE Type);
/* DueTime: negative, relative in 100-ns units; positive, an absolute system time. */
NTKERNELAPI BOOLEAN KeSetTimer(_Inout_ PKTIMER Timer, _In_ LARGE_INTEGER DueTime, _In_opt_ PKDPC Dpc);
NTKERNELAPI BOOLEAN KeSetTimerEx(_Inout_ PKTIMER Timer, _In_ LARGE_INTEGER DueTime, _In_ LONG Period,
                                 _In_opt_ PKDPC Dpc);
NTKERNELAPI BOOLEAN KeCancelTimer(_Inout_ PKTIMER Timer);
NTKERNELAPI BOOLEAN KeReadStateTimer(_In_ PKTIMER Timer);

/* ---------------------------------------------------------------------------------- */
/* Events, semaphores, waits                                                            */
/* ---------------------------------------------------------------------------------- */

NTKERNELAPI VOID KeInitializeEvent(_Out_ PRKEVENT Event, _In_ EVENT_TYPE Type, _In_ BOOLEAN State);
NTKERNELAPI LONG KeSetEvent(_Inout_ PRKEVENT Event, _In_ KPRIORITY Increment, _In_ BOOLEAN Wait);
NTKERNELAPI VOID KeClearEvent(_Inout_ PRKEVENT Event);
NTKERNELAPI LONG KeResetEvent(_Inout_ PRKEVENT Event);
NTKERNELAPI LONG KeReadStateEvent(_In_ PRKEVENT Event);

NTKERNELAPI VOID KeInitializeSemaphore(_Out_ PRKSEMAPHORE Semaphore, _In_ LONG Count, _In_ LONG Limit);
NTKERNELAPI LONG KeReleaseSemaphore(_Inout_ PRKSEMAPHORE Semaphore, _In_ KPRIORITY Increment,
                                    _In_ LONG Adjustment, _In_ BOOLEAN Wait);
NTKERNELAPI LONG KeReadStateSemaphore(_In_ PRKSEMAPHORE Semaphore);

/* Object: an event, semaphore, timer or thread (a PETHREAD from ObReferenceObjectByHandle). */
NTKERNELAPI NTSTATUS KeWaitForSingleObject(_In_ PVOID Object, _In_ KWAIT_REASON WaitReason,
                                           _In_ KPROCESSOR_MODE WaitMode, _In_ BOOLEAN Alertable,
                                           _In_opt_ PLARGE_INTEGER Timeout);
NTKERNELAPI NTSTATUS KeWaitForMultipleObjects(_In_ ULONG Count, _In_ PVOID Object[], _In_ WAIT_TYPE WaitType,
                                              _In_ KWAIT_REASON WaitReason, _In_ KPROCESSOR_MODE WaitMode,
                                              _In_ BOOLEAN Alertable, _In_opt_ PLARGE_INTEGER Timeout,
                                              _Out_opt_ PKWAIT_BLOCK WaitBlockArray);
NTKERNELAPI NTSTATUS KeDelayExecutionThread(_In_ KPROCESSOR_MODE WaitMode, _In_ BOOLEAN Alertable,
                                            _In_ PLARGE_INTEGER Interval);
NTKERNELAPI VOID KeStallExecutionProcessor(_In_ ULONG MicroSeconds);

/* ---------------------------------------------------------------------------------- */
/* Time: functions on irpkit's clock (the WDK's x64 macros read KUSER_SHARED_DATA)      */
/* ---------------------------------------------------------------------------------- */

NTKERNELAPI VOID KeQuerySystemTime(_Out_ PLARGE_INTEGER CurrentTime);
NTKERNELAPI VOID KeQuerySystemTimePrecise(_Out_ PLARGE_INTEGER CurrentTime);
NTKERNELAPI ULONGLONG KeQueryInterruptTime(VOID);
NTKERNELAPI VOID KeQueryTickCount(_Out_ PLARGE_INTEGER TickCount);
NTKERNELAPI ULONG KeQueryTimeIncrement(VOID);

/* ---------------------------------------------------------------------------------- */
/* Threads, processes, objects, handles                                                 */
/* ---------------------------------------------------------------------------------- */

NTKERNELAPI VOID KeEnterCriticalRegion(VOID);
NTKERNELAPI VOID KeLeaveCriticalRegion(VOID);
NTKERNELAPI PKTHREAD KeGetCurrentThread(VOID);
NTKERNELAPI KPRIORITY KeSetPriorityThread(_Inout_ PKTHREAD Thread, _In_ KPRIORITY Priority);
NTKERNELAPI ULONG KeGetCurrentProcessorNumber(VOID);

NTKERNELAPI NTSTATUS PsCreateSystemThread(_Out_ PHANDLE ThreadHandle, _In_ ULONG DesiredAccess,
                                          _In_opt_ POBJECT_ATTRIBUTES ObjectAttributes,
                                          _In_opt_ HANDLE ProcessHandle, _Out_opt_ PCLIENT_ID ClientId,
                                          _In_ PKSTART_ROUTINE StartRoutine, _In_opt_ PVOID StartContext);
/* Ends the calling system thread; never returns to its caller. */
NTKERNELAPI NTSTATUS PsTerminateSystemThread(_In_ NTSTATUS ExitStatus);
NTKERNELAPI PETHREAD PsGetCurrentThread(VOID);
NTKERNELAPI PEPROCESS PsGetCurrentProcess(VOID);
NTKERNELAPI HANDLE PsGetCurrentThreadId(VOID);
NTKERNELAPI HANDLE PsGetCurrentProcessId(VOID);

/*
 * Object is the address of the caller's object pointer (e.g. `&Extension->ThreadObject`
 * of type PETHREAD *, or a PKEVENT *), declared PVOID so that any such address converts.
 */
NTKERNELAPI NTSTATUS ObReferenceObjectByHandle(_In_ HANDLE Handle, _In_ ACCESS_MASK DesiredAccess,
                                               _In_opt_ POBJECT_TYPE ObjectType, _In_ KPROCESSOR_MODE AccessMode,
                                               _Out_ PVOID Object,
                                               _Out_opt_ POBJECT_HANDLE_INFORMATION HandleInformation);
NTKERNELAPI LONG_PTR ObfReferenceObject(_In_ PVOID Object);
NTKERNELAPI LONG_PTR ObfDereferenceObject(_In_ PVOID Object);
NTKERNELAPI VOID ObDereferenceObjectDeferDelete(_In_ PVOID Object);
#define ObReferenceObject(Object) ObfReferenceObject(Object)
#define ObDereferenceObject(Object) ObfDereferenceObject(Object)

NTSYSAPI NTSTATUS ZwClose(_In_ HANDLE Handle);

/*
 * The object types ObReferenceObjectByHandle checks against (`*ExEventObjectType`).
 * Defined by irpkit's driver runtime (c/irpkit_rt.c).
 */
extern POBJECT_TYPE *ExEventObjectType;
extern POBJECT_TYPE *ExSemaphoreObjectType;
extern POBJECT_TYPE *PsThreadType;
extern POBJECT_TYPE *PsProcessType;
extern POBJECT_TYPE *IoFileObjectType;
extern POBJECT_TYPE *IoDeviceObjectType;

/* ---------------------------------------------------------------------------------- */
/* Pool                                                                                 */
/* ---------------------------------------------------------------------------------- */

NTKERNELAPI PVOID ExAllocatePool2(_In_ POOL_FLAGS Flags, _In_ SIZE_T NumberOfBytes, _In_ ULONG Tag);
NTKERNELAPI PVOID ExAllocatePoolWithTag(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes, _In_ ULONG Tag);
NTKERNELAPI PVOID ExAllocatePoolZero(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes, _In_ ULONG Tag);
NTKERNELAPI PVOID ExAllocatePoolQuotaZero(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes, _In_ ULONG Tag);
NTKERNELAPI PVOID ExAllocatePoolUninitialized(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes, _In_ ULONG Tag);
NTKERNELAPI PVOID ExAllocatePoolWithQuotaTag(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes, _In_ ULONG Tag);
NTKERNELAPI PVOID ExAllocatePool(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes);
NTKERNELAPI VOID ExFreePoolWithTag(_In_ PVOID P, _In_ ULONG Tag);
NTKERNELAPI VOID ExFreePool(_In_ PVOID P);

#ifndef DrvRtPoolNxOptIn
#define DrvRtPoolNxOptIn 0x00000001
#endif
NTKERNELAPI VOID ExInitializeDriverRuntime(_In_ ULONG RuntimeFlags);

/* ---------------------------------------------------------------------------------- */
/* MDLs of direct I/O: irpkit's buffers are always mapped, so the accessors only read   */
/* the MDL the I/O manager built (MDL_MAPPED_TO_SYSTEM_VA is set on every one)           */
/* ---------------------------------------------------------------------------------- */

#define MDL_MAPPED_TO_SYSTEM_VA     0x0001
#define MDL_PAGES_LOCKED            0x0002
#define MDL_SOURCE_IS_NONPAGED_POOL 0x0004

typedef enum _MM_PAGE_PRIORITY {
    LowPagePriority = 0,
    NormalPagePriority = 16,
    HighPagePriority = 32
} MM_PAGE_PRIORITY;

/* Flags a driver may OR into MmGetSystemAddressForMdlSafe's priority. */
#define MdlMappingNoWrite   0x80000000
#define MdlMappingNoExecute 0x40000000

FORCEINLINE PVOID MmGetSystemAddressForMdlSafe(_In_ PMDL Mdl, _In_ ULONG Priority)
{
    (void)Priority;
    return (Mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) ? Mdl->MappedSystemVa : NULL;
}
#define MmGetSystemAddressForMdl(Mdl) MmGetSystemAddressForMdlSafe((Mdl), NormalPagePriority)
#define MmGetMdlVirtualAddress(Mdl) ((PVOID)((PCHAR)(Mdl)->StartVa + (Mdl)->ByteOffset))
#define MmGetMdlByteCount(Mdl)      ((Mdl)->ByteCount)
#define MmGetMdlByteOffset(Mdl)     ((Mdl)->ByteOffset)

/* ---------------------------------------------------------------------------------- */
/* Counted strings, memory, interlocked lists                                           */
/* ---------------------------------------------------------------------------------- */

NTSYSAPI VOID RtlInitUnicodeString(_Out_ PUNICODE_STRING DestinationString, _In_opt_ PCWSTR SourceString);
NTSYSAPI VOID RtlInitAnsiString(_Out_ PANSI_STRING DestinationString, _In_opt_ PCSZ SourceString);
NTSYSAPI VOID RtlCopyUnicodeString(_Inout_ PUNICODE_STRING DestinationString,
                                   _In_opt_ PCUNICODE_STRING SourceString);
NTSYSAPI BOOLEAN RtlEqualUnicodeString(_In_ PCUNICODE_STRING String1, _In_ PCUNICODE_STRING String2,
                                       _In_ BOOLEAN CaseInSensitive);
NTSYSAPI LONG RtlCompareUnicodeString(_In_ PCUNICODE_STRING String1, _In_ PCUNICODE_STRING String2,
                                      _In_ BOOLEAN CaseInSensitive);
NTSYSAPI SIZE_T RtlCompareMemory(_In_ const VOID *Source1, _In_ const VOID *Source2, _In_ SIZE_T Length);
NTSYSAPI NTSTATUS RtlIntegerToUnicodeString(_In_ ULONG Value, _In_opt_ ULONG Base, _Inout_ PUNICODE_STRING String);
NTSYSAPI NTSTATUS RtlUnicodeStringToInteger(_In_ PCUNICODE_STRING String, _In_opt_ ULONG Base, _Out_ PULONG Value);

/*
 * The C runtime's wide-string routines on 2-byte wchar_t (-fshort-wchar). The C library's
 * own work on 4-byte units, and its names come first in the process's symbol scope, so
 * these are bound to irpkit's by an assembler label. Case folding is ASCII-only. A file
 * that must see the C library's declarations instead defines IRPKIT_NO_WCS_LABELS.
 */
#if !defined(IRPKIT_NO_WCS_LABELS)
size_t wcslen(const wchar_t *String) __asm__("irpkit_wcslen");
size_t wcsnlen(const wchar_t *String, size_t MaxCount) __asm__("irpkit_wcsnlen");
int wcscmp(const wchar_t *String1, const wchar_t *String2) __asm__("irpkit_wcscmp");
int wcsncmp(const wchar_t *String1, const wchar_t *String2, size_t Count) __asm__("irpkit_wcsncmp");
wchar_t *wcscpy(wchar_t *Destination, const wchar_t *Source) __asm__("irpkit_wcscpy");
wchar_t *wcsncpy(wchar_t *Destination, const wchar_t *Source, size_t Count) __asm__("irpkit_wcsncpy");
wchar_t *wcscat(wchar_t *Destination, const wchar_t *Source) __asm__("irpkit_wcscat");
wchar_t *wcsncat(wchar_t *Destination, const wchar_t *Source, size_t Count) __asm__("irpkit_wcsncat");
wchar_t *wcschr(const wchar_t *String, wchar_t Character) __asm__("irpkit_wcschr");
wchar_t *wcsrchr(const wchar_t *String, wchar_t Character) __asm__("irpkit_wcsrchr");
wchar_t *wcsstr(const wchar_t *String, const wchar_t *Search) __asm__("irpkit_wcsstr");
int _wcsicmp(const wchar_t *String1, const wchar_t *String2) __asm__("irpkit__wcsicmp");
int _wcsnicmp(const wchar_t *String1, const wchar_t *String2, size_t Count) __asm__("irpkit__wcsnicmp");
wchar_t *_wcslwr(wchar_t *String) __asm__("irpkit__wcslwr");
wchar_t *_wcsupr(wchar_t *String) __asm__("irpkit__wcsupr");
unsigned int towlower(unsigned int Character) __asm__("irpkit_towlower"); /* on wint_t */
unsigned int towupper(unsigned int Character) __asm__("irpkit_towupper");
#endif

NTKERNELAPI PLIST_ENTRY ExInterlockedInsertTailList(_Inout_ PLIST_ENTRY ListHead, _Inout_ PLIST_ENTRY ListEntry,
                                                    _Inout_ PKSPIN_LOCK Lock);
NTKERNELAPI PLIST_ENTRY ExInterlockedInsertHeadList(_Inout_ PLIST_ENTRY ListHead, _Inout_ PLIST_ENTRY ListEntry,
                                                    _Inout_ PKSPIN_LOCK Lock);
NTKERNELAPI PLIST_ENTRY ExInterlockedRemoveHeadList(_Inout_ PLIST_ENTRY ListHead, _Inout_ PKSPIN_LOCK Lock);

/* ---------------------------------------------------------------------------------- */
/* Diagnostics (DbgPrint, RtlAssert and the ASSERT / KdPrint macros: irpkit/wdmbase.h)  */
/* ---------------------------------------------------------------------------------- */

NTSYSAPI VOID DbgBreakPoint(VOID);

#ifdef __cplusplus
}
#endif

#endif /* IRPKIT_WDMROUTINES_H */
