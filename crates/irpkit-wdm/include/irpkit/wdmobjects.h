/*
 * irpkit/wdmobjects.h - irpkit-wdm: the kernel objects a WDM driver touches.
 *
 * Written for irpkit from Microsoft's documentation of these structures (field names,
 * types, order) and from the x64 layouts that irpkit's Rust side uses for the very same
 * memory (crates/irpkit/src/nt/types.rs, csq.rs, spinlock.rs). Every structure here is
 * byte for byte the Rust `#[repr(C)]` one: crates/irpkit-wdm/tests/layout.rs compiles
 * tests/c/layout.c, which prints every offset and size, and compares each with Rust.
 *
 * Nested members use C11 anonymous structs and unions where the WDK has them, so that
 * `Irp->Tail.Overlay.ListEntry`, `Irp->Tail.Overlay.DriverContext[3]` and
 * `Stack->Parameters.Read.Length` resolve as in real driver code.
 *
 * The routine types (DRIVER_DISPATCH, KDEFERRED_ROUTINE, ...) are plain C function types
 * without a calling convention, so that a driver may declare `DRIVER_DISPATCH Foo;` and
 * then define `NTSTATUS Foo(PDEVICE_OBJECT DeviceObject, PIRP Irp) { ... }`.
 *
 * Included by wdm.h after irpkit/wdmbase.h; it needs the basic types from there.
 */
#ifndef IRPKIT_WDMOBJECTS_H
#define IRPKIT_WDMOBJECTS_H

#include "irpkit/wdmbase.h"
#include "devioctl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------- */
/* Object type codes (the Type field of I/O manager objects)                            */
/* ---------------------------------------------------------------------------------- */

#define IO_TYPE_ADAPTER                 1
#define IO_TYPE_CONTROLLER              2
#define IO_TYPE_DEVICE                  3
#define IO_TYPE_DRIVER                  4
#define IO_TYPE_FILE                    5
#define IO_TYPE_IRP                     6
#define IO_TYPE_MASTER_ADAPTER          7
#define IO_TYPE_OPEN_PACKET             8
#define IO_TYPE_TIMER                   9
#define IO_TYPE_VPB                     10
#define IO_TYPE_ERROR_LOG               11
#define IO_TYPE_ERROR_MESSAGE           12
#define IO_TYPE_DEVICE_OBJECT_EXTENSION 13
#define IO_TYPE_DEVICE_QUEUE            0x14

/* IO_CSQ.Type and IO_CSQ_IRP_CONTEXT.Type. */
#define IO_TYPE_CSQ_IRP_CONTEXT         1
#define IO_TYPE_CSQ                     2
#define IO_TYPE_CSQ_EX                  3

/* ---------------------------------------------------------------------------------- */
/* Objects drivers only point at                                                        */
/* ---------------------------------------------------------------------------------- */

struct _KTHREAD;
struct _ETHREAD;
struct _KPROCESS;
struct _EPROCESS;
struct _OBJECT_TYPE;
struct _IO_SECURITY_CONTEXT;
struct _VPB;
struct _IO_WORKITEM;
struct _IO_TIMER;
struct _FAST_IO_DISPATCH;
struct _SECTION_OBJECT_POINTERS;
struct _DEVOBJ_EXTENSION;
struct _IO_COMPLETION_CONTEXT;
struct _CM_RESOURCE_LIST;
struct _SCSI_REQUEST_BLOCK;

typedef struct _KTHREAD *PKTHREAD, *PRKTHREAD;
typedef struct _ETHREAD *PETHREAD;
typedef struct _KPROCESS *PKPROCESS, *PRKPROCESS;
typedef struct _EPROCESS *PEPROCESS;
typedef struct _OBJECT_TYPE *POBJECT_TYPE;
typedef struct _IO_SECURITY_CONTEXT *PIO_SECURITY_CONTEXT;
typedef struct _VPB *PVPB;
typedef struct _IO_WORKITEM *PIO_WORKITEM;
typedef struct _IO_TIMER *PIO_TIMER;
typedef struct _FAST_IO_DISPATCH *PFAST_IO_DISPATCH;
typedef struct _SECTION_OBJECT_POINTERS *PSECTION_OBJECT_POINTERS;
typedef struct _DEVOBJ_EXTENSION *PDEVOBJ_EXTENSION, *PDEVICE_OBJECT_EXTENSION;
typedef struct _IO_COMPLETION_CONTEXT *PIO_COMPLETION_CONTEXT;
typedef struct _CM_RESOURCE_LIST *PCM_RESOURCE_LIST;

/* ObReferenceObjectByHandle's optional out-parameter. */
typedef struct _OBJECT_HANDLE_INFORMATION {
    ULONG       HandleAttributes;
    ACCESS_MASK GrantedAccess;
} OBJECT_HANDLE_INFORMATION, *POBJECT_HANDLE_INFORMATION;

/* The objects the I/O manager's structures point at, declared here for the routine types. */
struct _DEVICE_OBJECT;
struct _DRIVER_OBJECT;
struct _FILE_OBJECT;
struct _IRP;
struct _IO_STACK_LOCATION;
struct _KDPC;
struct _IO_CSQ;
struct _MDL;

typedef struct _DEVICE_OBJECT *PDEVICE_OBJECT;
typedef struct _DRIVER_OBJECT *PDRIVER_OBJECT;
typedef struct _FILE_OBJECT *PFILE_OBJECT;
typedef struct _IRP *PIRP;
typedef struct _IO_STACK_LOCATION *PIO_STACK_LOCATION;
typedef struct _MDL *PMDL;

/* ---------------------------------------------------------------------------------- */
/* Routine types                                                                        */
/* ---------------------------------------------------------------------------------- */

/* DriverEntry. */
typedef NTSTATUS DRIVER_INITIALIZE(struct _DRIVER_OBJECT *DriverObject, PUNICODE_STRING RegistryPath);
typedef DRIVER_INITIALIZE *PDRIVER_INITIALIZE;

/* IoRegisterDriverReinitialization's routine. */
typedef VOID DRIVER_REINITIALIZE(struct _DRIVER_OBJECT *DriverObject, PVOID Context, ULONG Count);
typedef DRIVER_REINITIALIZE *PDRIVER_REINITIALIZE;

/* DriverObject->DriverUnload. */
typedef VOID DRIVER_UNLOAD(struct _DRIVER_OBJECT *DriverObject);
typedef DRIVER_UNLOAD *PDRIVER_UNLOAD;

/* DriverObject->MajorFunction[]. */
typedef NTSTATUS DRIVER_DISPATCH(struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp);
typedef DRIVER_DISPATCH *PDRIVER_DISPATCH;
typedef DRIVER_DISPATCH DRIVER_DISPATCH_RAISED;
typedef DRIVER_DISPATCH *PDRIVER_DISPATCH_RAISED;
typedef DRIVER_DISPATCH DRIVER_DISPATCH_PAGED;
typedef DRIVER_DISPATCH *PDRIVER_DISPATCH_PAGED;

/* A cancel routine (IoSetCancelRoutine, IoStartPacket). */
typedef VOID DRIVER_CANCEL(struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp);
typedef DRIVER_CANCEL *PDRIVER_CANCEL;

/* DriverObject->DriverStartIo. */
typedef VOID DRIVER_STARTIO(struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp);
typedef DRIVER_STARTIO *PDRIVER_STARTIO;

/* DriverObject->DriverExtension->AddDevice (PnP; irpkit never calls it). */
typedef NTSTATUS DRIVER_ADD_DEVICE(struct _DRIVER_OBJECT *DriverObject, struct _DEVICE_OBJECT *PhysicalDeviceObject);
typedef DRIVER_ADD_DEVICE *PDRIVER_ADD_DEVICE;

/* What an AdapterControl / ControllerControl routine tells the system to do. */
typedef enum _IO_ALLOCATION_ACTION {
    KeepObject = 1,
    DeallocateObject,
    DeallocateObjectKeepRegisters
} IO_ALLOCATION_ACTION, *PIO_ALLOCATION_ACTION;

/* An AdapterControl or ControllerControl routine. */
typedef IO_ALLOCATION_ACTION DRIVER_CONTROL(struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp,
                                            PVOID MapRegisterBase, PVOID Context);
typedef DRIVER_CONTROL *PDRIVER_CONTROL;

/* An IoCompletion routine (IoSetCompletionRoutine). */
typedef NTSTATUS IO_COMPLETION_ROUTINE(struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp, PVOID Context);
typedef IO_COMPLETION_ROUTINE *PIO_COMPLETION_ROUTINE;

/* A DPC routine (KeInitializeDpc, timers, IoInitializeDpcRequest). */
typedef VOID KDEFERRED_ROUTINE(struct _KDPC *Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                               PVOID SystemArgument2);
typedef KDEFERRED_ROUTINE *PKDEFERRED_ROUTINE;

/* A DpcForIsr routine (IoInitializeDpcRequest, IoRequestDpc). */
typedef VOID IO_DPC_ROUTINE(struct _KDPC *Dpc, struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp,
                            PVOID Context);
typedef IO_DPC_ROUTINE *PIO_DPC_ROUTINE;

/* A system thread's start routine (PsCreateSystemThread). */
typedef VOID KSTART_ROUTINE(PVOID StartContext);
typedef KSTART_ROUTINE *PKSTART_ROUTINE;

/* A work item routine (IoQueueWorkItem). */
typedef VOID IO_WORKITEM_ROUTINE(struct _DEVICE_OBJECT *DeviceObject, PVOID Context);
typedef IO_WORKITEM_ROUTINE *PIO_WORKITEM_ROUTINE;

/* A work item routine (IoQueueWorkItemEx). */
typedef VOID IO_WORKITEM_ROUTINE_EX(PVOID IoObject, PVOID Context, PIO_WORKITEM IoWorkItem);
typedef IO_WORKITEM_ROUTINE_EX *PIO_WORKITEM_ROUTINE_EX;

/* An IoTimer routine (IoInitializeTimer). */
typedef VOID IO_TIMER_ROUTINE(struct _DEVICE_OBJECT *DeviceObject, PVOID Context);
typedef IO_TIMER_ROUTINE *PIO_TIMER_ROUTINE;

/* The user-mode APC of an asynchronous request (Irp->Overlay.AsynchronousParameters). */
typedef VOID IO_APC_ROUTINE(PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, ULONG Reserved);
typedef IO_APC_ROUTINE *PIO_APC_ROUTINE;

/* The cancel-safe queue's callbacks (IoCsqInitialize, IoCsqInitializeEx). */
typedef VOID IO_CSQ_INSERT_IRP(struct _IO_CSQ *Csq, PIRP Irp);
typedef IO_CSQ_INSERT_IRP *PIO_CSQ_INSERT_IRP;
typedef NTSTATUS IO_CSQ_INSERT_IRP_EX(struct _IO_CSQ *Csq, PIRP Irp, PVOID InsertContext);
typedef IO_CSQ_INSERT_IRP_EX *PIO_CSQ_INSERT_IRP_EX;
typedef VOID IO_CSQ_REMOVE_IRP(struct _IO_CSQ *Csq, PIRP Irp);
typedef IO_CSQ_REMOVE_IRP *PIO_CSQ_REMOVE_IRP;
typedef PIRP IO_CSQ_PEEK_NEXT_IRP(struct _IO_CSQ *Csq, PIRP Irp, PVOID PeekContext);
typedef IO_CSQ_PEEK_NEXT_IRP *PIO_CSQ_PEEK_NEXT_IRP;
typedef VOID IO_CSQ_ACQUIRE_LOCK(struct _IO_CSQ *Csq, PKIRQL Irql);
typedef IO_CSQ_ACQUIRE_LOCK *PIO_CSQ_ACQUIRE_LOCK;
typedef VOID IO_CSQ_RELEASE_LOCK(struct _IO_CSQ *Csq, KIRQL Irql);
typedef IO_CSQ_RELEASE_LOCK *PIO_CSQ_RELEASE_LOCK;
typedef VOID IO_CSQ_COMPLETE_CANCELED_IRP(struct _IO_CSQ *Csq, PIRP Irp);
typedef IO_CSQ_COMPLETE_CANCELED_IRP *PIO_CSQ_COMPLETE_CANCELED_IRP;

/* ---------------------------------------------------------------------------------- */
/* Spin locks                                                                           */
/* ---------------------------------------------------------------------------------- */

/* A spin lock: one pointer-sized word, zero when free (KeInitializeSpinLock). */
typedef ULONG_PTR KSPIN_LOCK;
typedef KSPIN_LOCK *PKSPIN_LOCK;

/* The queue entry of an in-stack queued spin lock acquisition. */
typedef struct _KSPIN_LOCK_QUEUE {
    struct _KSPIN_LOCK_QUEUE *volatile Next;
    PKSPIN_LOCK volatile Lock;
} KSPIN_LOCK_QUEUE, *PKSPIN_LOCK_QUEUE;

/* KeAcquireInStackQueuedSpinLock's record, on the caller's stack. */
typedef struct _KLOCK_QUEUE_HANDLE {
    KSPIN_LOCK_QUEUE LockQueue;
    KIRQL            OldIrql;
} KLOCK_QUEUE_HANDLE, *PKLOCK_QUEUE_HANDLE;

/* ---------------------------------------------------------------------------------- */
/* Dispatcher objects                                                                   */
/* ---------------------------------------------------------------------------------- */

/* The header of every object a thread can wait on. */
typedef struct _DISPATCHER_HEADER {
    UCHAR      Type;
    UCHAR      Signalling;
    UCHAR      Size;
    UCHAR      Reserved1;
    LONG       SignalState;
    LIST_ENTRY WaitListHead;
} DISPATCHER_HEADER, *PDISPATCHER_HEADER;

/* An event (KeInitializeEvent). */
typedef struct _KEVENT {
    DISPATCHER_HEADER Header;
} KEVENT, *PKEVENT, *PRKEVENT;

/* A semaphore (KeInitializeSemaphore); Header.SignalState is the count. */
typedef struct _KSEMAPHORE {
    DISPATCHER_HEADER Header;
    LONG              Limit;
} KSEMAPHORE, *PKSEMAPHORE, *PRKSEMAPHORE;

/*
 * A wait block (KeWaitForMultipleObjects' WaitBlockArray, needed for more than
 * THREAD_WAIT_OBJECTS objects). irpkit does not use its contents; sized as on x64.
 */
typedef struct _KWAIT_BLOCK {
    ULONG_PTR Reserved[6];
} KWAIT_BLOCK, *PKWAIT_BLOCK, *PRKWAIT_BLOCK;

#ifndef THREAD_WAIT_OBJECTS
#define THREAD_WAIT_OBJECTS 3
#endif
#ifndef MAXIMUM_WAIT_OBJECTS
#define MAXIMUM_WAIT_OBJECTS 64
#endif

/* ---------------------------------------------------------------------------------- */
/* DPCs and timers                                                                      */
/* ---------------------------------------------------------------------------------- */

/* A deferred procedure call (KeInitializeDpc). */
typedef struct _KDPC {
    union {
        ULONG TargetInfoAsUlong;
        struct {
            UCHAR           Type;
            UCHAR           Importance;
            volatile USHORT Number;
        };
    };
    SINGLE_LIST_ENTRY  DpcListEntry;
    KAFFINITY          ProcessorHistory;
    PKDEFERRED_ROUTINE DeferredRoutine;
    PVOID              DeferredContext;
    PVOID              SystemArgument1;
    PVOID              SystemArgument2;
    volatile PVOID     DpcData;
} KDPC, *PKDPC, *PRKDPC;

/* A timer (KeInitializeTimer, KeSetTimer). */
typedef struct _KTIMER {
    DISPATCHER_HEADER Header;
    ULARGE_INTEGER    DueTime;
    LIST_ENTRY        TimerListEntry;
    struct _KDPC     *Dpc;
    ULONG             Processor;
    ULONG             Period;
} KTIMER, *PKTIMER, *PRKTIMER;

/* ---------------------------------------------------------------------------------- */
/* Device queues                                                                        */
/* ---------------------------------------------------------------------------------- */

/* The link of an entry in a device queue (Irp->Tail.Overlay.DeviceQueueEntry). */
typedef struct _KDEVICE_QUEUE_ENTRY {
    LIST_ENTRY DeviceListEntry;
    ULONG      SortKey;
    BOOLEAN    Inserted;
} KDEVICE_QUEUE_ENTRY, *PKDEVICE_QUEUE_ENTRY, *PRKDEVICE_QUEUE_ENTRY;

/*
 * A device queue (KeInitializeDeviceQueue). Busy means "the device is processing a
 * request"; it is the low byte of a 64-bit word whose other bits are Hint.
 */
typedef struct _KDEVICE_QUEUE {
    CSHORT     Type;
    CSHORT     Size;
    LIST_ENTRY DeviceListHead;
    KSPIN_LOCK Lock;
    union {
        BOOLEAN Busy;
        struct {
            LONG64 Reserved : 8;
            LONG64 Hint : 56;
        };
    };
} KDEVICE_QUEUE, *PKDEVICE_QUEUE, *PRKDEVICE_QUEUE;

/* ---------------------------------------------------------------------------------- */
/* Remove locks                                                                         */
/* ---------------------------------------------------------------------------------- */

/*
 * A remove lock (IoInitializeRemoveLock). irpkit has one layout whatever DBG is: the
 * common block only (the IoXxxRemoveLock macros pass sizeof(IO_REMOVE_LOCK)).
 */
typedef struct _IO_REMOVE_LOCK_COMMON_BLOCK {
    BOOLEAN       Removed;
    BOOLEAN       Reserved[3];
    volatile LONG IoCount;
    KEVENT        RemoveEvent;
} IO_REMOVE_LOCK_COMMON_BLOCK;

typedef struct _IO_REMOVE_LOCK {
    IO_REMOVE_LOCK_COMMON_BLOCK Common;
} IO_REMOVE_LOCK, *PIO_REMOVE_LOCK;

/* ---------------------------------------------------------------------------------- */
/* APCs, DMA wait blocks, MDLs                                                          */
/* ---------------------------------------------------------------------------------- */

/* An asynchronous procedure call object: opaque to drivers, sized as on x64 (88 bytes). */
typedef struct _KAPC {
    ULONG_PTR Reserved[11];
} KAPC, *PKAPC, *PRKAPC;

/* The wait context of a device or adapter (DeviceObject->Queue.Wcb; 72 bytes on x64). */
typedef struct _WAIT_CONTEXT_BLOCK {
    union {
        KDEVICE_QUEUE_ENTRY WaitQueueEntry;
        struct {
            LIST_ENTRY DmaWaitEntry;
            ULONG      NumberOfChannels;
            ULONG      SyncCallback : 1;
            ULONG      DmaContext : 1;
            ULONG      ZeroMapRegisters : 1;
            ULONG      Reserved : 9;
            ULONG      NumberOfRemapPages : 20;
        };
    };
    PDRIVER_CONTROL DeviceRoutine;
    PVOID           DeviceContext;
    ULONG           NumberOfMapRegisters;
    PVOID           DeviceObject;
    PVOID           CurrentIrp;
    struct _KDPC   *BufferChainingDpc;
} WAIT_CONTEXT_BLOCK, *PWAIT_CONTEXT_BLOCK;

/*
 * A memory descriptor list (Irp->MdlAddress for direct I/O). Semi-opaque: drivers read it
 * through the Mm accessors (irpkit/wdmroutines.h). No page array follows irpkit's MDLs.
 */
typedef struct _MDL {
    struct _MDL      *Next;
    CSHORT            Size;
    CSHORT            MdlFlags;
    struct _EPROCESS *Process;
    PVOID             MappedSystemVa;
    PVOID             StartVa;
    ULONG             ByteCount;
    ULONG             ByteOffset;
} MDL;

/* ---------------------------------------------------------------------------------- */
/* Information classes named by stack location parameters                             */
/* ---------------------------------------------------------------------------------- */

#ifndef IRPKIT_FILE_INFORMATION_CLASS_DEFINED
#define IRPKIT_FILE_INFORMATION_CLASS_DEFINED
/* IRP_MJ_QUERY_INFORMATION / IRP_MJ_SET_INFORMATION / IRP_MJ_DIRECTORY_CONTROL classes. */
typedef enum _FILE_INFORMATION_CLASS {
    FileDirectoryInformation = 1,
    FileFullDirectoryInformation,
    FileBothDirectoryInformation,
    FileBasicInformation,
    FileStandardInformation,
    FileInternalInformation,
    FileEaInformation,
    FileAccessInformation,
    FileNameInformation,
    FileRenameInformation,
    FileLinkInformation,
    FileNamesInformation,
    FileDispositionInformation,
    FilePositionInformation,
    FileFullEaInformation,
    FileModeInformation,
    FileAlignmentInformation,
    FileAllInformation,
    FileAllocationInformation,
    FileEndOfFileInformation
} FILE_INFORMATION_CLASS, *PFILE_INFORMATION_CLASS;
#endif

#ifndef IRPKIT_FS_INFORMATION_CLASS_DEFINED
#define IRPKIT_FS_INFORMATION_CLASS_DEFINED
/* IRP_MJ_QUERY_VOLUME_INFORMATION / IRP_MJ_SET_VOLUME_INFORMATION classes. */
typedef enum _FSINFOCLASS {
    FileFsVolumeInformation = 1,
    FileFsLabelInformation,
    FileFsSizeInformation,
    FileFsDeviceInformation,
    FileFsAttributeInformation,
    FileFsControlInformation,
    FileFsFullSizeInformation,
    FileFsObjectIdInformation,
    FileFsDriverPathInformation,
    FileFsVolumeFlagsInformation,
    FileFsSectorSizeInformation
} FS_INFORMATION_CLASS, *PFS_INFORMATION_CLASS;
#endif

/* ---------------------------------------------------------------------------------- */
/* Device objects and driver objects                                                    */
/* ---------------------------------------------------------------------------------- */

/* A device object (IoCreateDevice). 16-byte aligned, as on x64. */
typedef struct DECLSPEC_ALIGN(16) _DEVICE_OBJECT {
    CSHORT                 Type;
    USHORT                 Size;
    LONG                   ReferenceCount;
    struct _DRIVER_OBJECT *DriverObject;
    struct _DEVICE_OBJECT *NextDevice;
    struct _DEVICE_OBJECT *AttachedDevice;
    struct _IRP           *CurrentIrp;
    PIO_TIMER              Timer;
    ULONG                  Flags;
    ULONG                  Characteristics;
    volatile PVPB          Vpb;
    PVOID                  DeviceExtension;
    DEVICE_TYPE            DeviceType;
    CCHAR                  StackSize;
    union {
        LIST_ENTRY         ListEntry;
        WAIT_CONTEXT_BLOCK Wcb;
    } Queue;
    ULONG                  AlignmentRequirement;
    KDEVICE_QUEUE          DeviceQueue;
    KDPC                   Dpc;
    ULONG                  ActiveThreadCount;
    PSECURITY_DESCRIPTOR   SecurityDescriptor;
    KEVENT                 DeviceLock;
    USHORT                 SectorSize;
    USHORT                 Spare1;
    PDEVOBJ_EXTENSION      DeviceObjectExtension;
    PVOID                  Reserved;
} DEVICE_OBJECT;

/* DriverObject->DriverExtension. */
typedef struct _DRIVER_EXTENSION {
    struct _DRIVER_OBJECT *DriverObject;
    PDRIVER_ADD_DEVICE     AddDevice;
    ULONG                  Count;
    UNICODE_STRING         ServiceKeyName;
} DRIVER_EXTENSION, *PDRIVER_EXTENSION;

/* A driver object (passed to DriverEntry). */
typedef struct _DRIVER_OBJECT {
    CSHORT             Type;
    CSHORT             Size;
    PDEVICE_OBJECT     DeviceObject;
    ULONG              Flags;
    PVOID              DriverStart;
    ULONG              DriverSize;
    PVOID              DriverSection;
    PDRIVER_EXTENSION  DriverExtension;
    UNICODE_STRING     DriverName;
    PUNICODE_STRING    HardwareDatabase;
    PFAST_IO_DISPATCH  FastIoDispatch;
    PDRIVER_INITIALIZE DriverInit;
    PDRIVER_STARTIO    DriverStartIo;
    PDRIVER_UNLOAD     DriverUnload;
    PDRIVER_DISPATCH   MajorFunction[IRP_MJ_MAXIMUM_FUNCTION + 1];
} DRIVER_OBJECT;

/* A file object: one open of a device (IoGetCurrentIrpStackLocation(Irp)->FileObject). */
typedef struct _FILE_OBJECT {
    CSHORT                                 Type;
    CSHORT                                 Size;
    PDEVICE_OBJECT                         DeviceObject;
    PVPB                                   Vpb;
    PVOID                                  FsContext;
    PVOID                                  FsContext2;
    PSECTION_OBJECT_POINTERS               SectionObjectPointer;
    PVOID                                  PrivateCacheMap;
    NTSTATUS                               FinalStatus;
    struct _FILE_OBJECT                   *RelatedFileObject;
    BOOLEAN                                LockOperation;
    BOOLEAN                                DeletePending;
    BOOLEAN                                ReadAccess;
    BOOLEAN                                WriteAccess;
    BOOLEAN                                DeleteAccess;
    BOOLEAN                                SharedRead;
    BOOLEAN                                SharedWrite;
    BOOLEAN                                SharedDelete;
    ULONG                                  Flags;
    UNICODE_STRING                         FileName;
    LARGE_INTEGER                          CurrentByteOffset;
    volatile ULONG                         Waiters;
    volatile ULONG                         Busy;
    PVOID                                  LastLock;
    KEVENT                                 Lock;
    KEVENT                                 Event;
    struct _IO_COMPLETION_CONTEXT *volatile CompletionContext;
    KSPIN_LOCK                             IrpListLock;
    LIST_ENTRY                             IrpList;
    volatile PVOID                         FileObjectExtension;
} FILE_OBJECT;

/* ---------------------------------------------------------------------------------- */
/* I/O stack locations                                                                  */
/* ---------------------------------------------------------------------------------- */

/*
 * One driver's view of an IRP (IoGetCurrentIrpStackLocation). Parameters is 32 bytes on
 * x64; POINTER_ALIGNMENT puts a member on the next 8-byte boundary as in the WDK.
 */
typedef struct _IO_STACK_LOCATION {
    UCHAR MajorFunction;
    UCHAR MinorFunction;
    UCHAR Flags;
    UCHAR Control;
    union {
        /* IRP_MJ_CREATE */
        struct {
            PIO_SECURITY_CONTEXT SecurityContext;
            ULONG                Options;
            USHORT POINTER_ALIGNMENT FileAttributes;
            USHORT               ShareAccess;
            ULONG POINTER_ALIGNMENT EaLength;
        } Create;
        /* IRP_MJ_READ */
        struct {
            ULONG Length;
            ULONG POINTER_ALIGNMENT Key;
            ULONG         Flags;
            LARGE_INTEGER ByteOffset;
        } Read;
        /* IRP_MJ_WRITE */
        struct {
            ULONG Length;
            ULONG POINTER_ALIGNMENT Key;
            ULONG         Flags;
            LARGE_INTEGER ByteOffset;
        } Write;
        /* IRP_MJ_DIRECTORY_CONTROL, IRP_MN_QUERY_DIRECTORY */
        struct {
            ULONG                  Length;
            PUNICODE_STRING        FileName;
            FILE_INFORMATION_CLASS FileInformationClass;
            ULONG POINTER_ALIGNMENT FileIndex;
        } QueryDirectory;
        /* IRP_MJ_QUERY_INFORMATION */
        struct {
            ULONG Length;
            FILE_INFORMATION_CLASS POINTER_ALIGNMENT FileInformationClass;
        } QueryFile;
        /* IRP_MJ_SET_INFORMATION */
        struct {
            ULONG Length;
            FILE_INFORMATION_CLASS POINTER_ALIGNMENT FileInformationClass;
            PFILE_OBJECT FileObject;
            union {
                struct {
                    BOOLEAN ReplaceIfExists;
                    BOOLEAN AdvanceOnly;
                };
                ULONG  ClusterCount;
                HANDLE DeleteHandle;
            };
        } SetFile;
        /* IRP_MJ_QUERY_EA */
        struct {
            ULONG Length;
            PVOID EaList;
            ULONG EaListLength;
            ULONG POINTER_ALIGNMENT EaIndex;
        } QueryEa;
        /* IRP_MJ_SET_EA */
        struct {
            ULONG Length;
        } SetEa;
        /* IRP_MJ_QUERY_VOLUME_INFORMATION */
        struct {
            ULONG Length;
            FS_INFORMATION_CLASS POINTER_ALIGNMENT FsInformationClass;
        } QueryVolume;
        /* IRP_MJ_SET_VOLUME_INFORMATION */
        struct {
            ULONG Length;
            FS_INFORMATION_CLASS POINTER_ALIGNMENT FsInformationClass;
        } SetVolume;
        /* IRP_MJ_FILE_SYSTEM_CONTROL */
        struct {
            ULONG OutputBufferLength;
            ULONG POINTER_ALIGNMENT InputBufferLength;
            ULONG POINTER_ALIGNMENT FsControlCode;
            PVOID Type3InputBuffer;
        } FileSystemControl;
        /* IRP_MJ_LOCK_CONTROL */
        struct {
            PLARGE_INTEGER Length;
            ULONG POINTER_ALIGNMENT Key;
            LARGE_INTEGER  ByteOffset;
        } LockControl;
        /* IRP_MJ_DEVICE_CONTROL and IRP_MJ_INTERNAL_DEVICE_CONTROL */
        struct {
            ULONG OutputBufferLength;
            ULONG POINTER_ALIGNMENT InputBufferLength;
            ULONG POINTER_ALIGNMENT IoControlCode;
            PVOID Type3InputBuffer;
        } DeviceIoControl;
        /* IRP_MJ_QUERY_SECURITY */
        struct {
            SECURITY_INFORMATION SecurityInformation;
            ULONG POINTER_ALIGNMENT Length;
        } QuerySecurity;
        /* IRP_MJ_SET_SECURITY */
        struct {
            SECURITY_INFORMATION SecurityInformation;
            PSECURITY_DESCRIPTOR SecurityDescriptor;
        } SetSecurity;
        /* IRP_MJ_FILE_SYSTEM_CONTROL, IRP_MN_MOUNT_VOLUME */
        struct {
            PVPB           Vpb;
            PDEVICE_OBJECT DeviceObject;
        } MountVolume;
        /* IRP_MJ_FILE_SYSTEM_CONTROL, IRP_MN_VERIFY_VOLUME */
        struct {
            PVPB           Vpb;
            PDEVICE_OBJECT DeviceObject;
        } VerifyVolume;
        /* IRP_MJ_INTERNAL_DEVICE_CONTROL for SCSI port drivers */
        struct {
            struct _SCSI_REQUEST_BLOCK *Srb;
        } Scsi;
        /* IRP_MJ_PNP, IRP_MN_START_DEVICE */
        struct {
            PCM_RESOURCE_LIST AllocatedResources;
            PCM_RESOURCE_LIST AllocatedResourcesTranslated;
        } StartDevice;
        /* IRP_MJ_SYSTEM_CONTROL (WMI) */
        struct {
            ULONG_PTR ProviderId;
            PVOID     DataPath;
            ULONG     BufferSize;
            PVOID     Buffer;
        } WMI;
        /* Any other request. */
        struct {
            PVOID Argument1;
            PVOID Argument2;
            PVOID Argument3;
            PVOID Argument4;
        } Others;
    } Parameters;
    PDEVICE_OBJECT         DeviceObject;
    PFILE_OBJECT           FileObject;
    PIO_COMPLETION_ROUTINE CompletionRoutine;
    PVOID                  Context;
} IO_STACK_LOCATION;

/* ---------------------------------------------------------------------------------- */
/* I/O request packets                                                                  */
/* ---------------------------------------------------------------------------------- */

/*
 * An I/O request packet. Its stack locations follow it in memory (IoSizeOfIrp).
 * Cancel, CancelRoutine and CurrentLocation change under other threads: use IoCancelIrp,
 * IoSetCancelRoutine and the IoXxxIrpStackLocation routines, never plain stores.
 */
typedef struct _IRP {
    CSHORT Type;
    USHORT Size;
    PMDL   MdlAddress;
    ULONG  Flags;
    union {
        struct _IRP *MasterIrp;
        LONG         IrpCount;
        PVOID        SystemBuffer;
    } AssociatedIrp;
    LIST_ENTRY      ThreadListEntry;
    IO_STATUS_BLOCK IoStatus;
    KPROCESSOR_MODE RequestorMode;
    BOOLEAN         PendingReturned;
    CHAR            StackCount;
    CHAR            CurrentLocation;
    BOOLEAN         Cancel;
    KIRQL           CancelIrql;
    CCHAR           ApcEnvironment;
    UCHAR           AllocationFlags;
    union {
        PIO_STATUS_BLOCK UserIosb;
        PVOID            IoRingContext;
    };
    PKEVENT UserEvent;
    union {
        struct {
            union {
                PIO_APC_ROUTINE UserApcRoutine;
                PVOID           IssuingProcess;
            };
            union {
                PVOID UserApcContext;
                PVOID IoRing;
            };
        } AsynchronousParameters;
        LARGE_INTEGER AllocationSize;
    } Overlay;
    volatile PDRIVER_CANCEL CancelRoutine;
    PVOID                   UserBuffer;
    union {
        struct {
            union {
                KDEVICE_QUEUE_ENTRY DeviceQueueEntry;
                struct {
                    PVOID DriverContext[4];
                };
            };
            PETHREAD Thread;
            PCHAR    AuxiliaryBuffer;
            struct {
                LIST_ENTRY ListEntry;
                union {
                    struct _IO_STACK_LOCATION *CurrentStackLocation;
                    ULONG                      PacketType;
                };
            };
            PFILE_OBJECT OriginalFileObject;
        } Overlay;
        KAPC  Apc;
        PVOID CompletionKey;
    } Tail;
} IRP;

/* ---------------------------------------------------------------------------------- */
/* Cancel-safe queues                                                                   */
/* ---------------------------------------------------------------------------------- */

/*
 * A cancel-safe queue's callback table (IoCsqInitialize). For IoCsqInitializeEx the
 * CsqInsertIrp slot holds the PIO_CSQ_INSERT_IRP_EX routine. The queue owns
 * Irp->Tail.Overlay.DriverContext[3] while an IRP is queued.
 */
typedef struct _IO_CSQ {
    ULONG                         Type;
    PIO_CSQ_INSERT_IRP            CsqInsertIrp;
    PIO_CSQ_REMOVE_IRP            CsqRemoveIrp;
    PIO_CSQ_PEEK_NEXT_IRP         CsqPeekNextIrp;
    PIO_CSQ_ACQUIRE_LOCK          CsqAcquireLock;
    PIO_CSQ_RELEASE_LOCK          CsqReleaseLock;
    PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp;
    PVOID                         ReservePointer;
} IO_CSQ, *PIO_CSQ;

/* Names one queued IRP for IoCsqRemoveIrp. */
typedef struct _IO_CSQ_IRP_CONTEXT {
    ULONG           Type;
    struct _IRP    *Irp;
    struct _IO_CSQ *Csq;
} IO_CSQ_IRP_CONTEXT, *PIO_CSQ_IRP_CONTEXT;

/* ---------------------------------------------------------------------------------- */
/* The x64 sizes irpkit's Rust side shares memory with (tests/layout.rs checks every   */
/* field; these catch a broken header at the first compile).                            */
/* ---------------------------------------------------------------------------------- */

#if defined(__LP64__) && !defined(__cplusplus)
_Static_assert(sizeof(KSPIN_LOCK) == 8, "irpkit: KSPIN_LOCK is pointer-sized");
_Static_assert(sizeof(DISPATCHER_HEADER) == 24, "irpkit: DISPATCHER_HEADER layout");
_Static_assert(sizeof(KEVENT) == 24, "irpkit: KEVENT layout");
_Static_assert(sizeof(KSEMAPHORE) == 32, "irpkit: KSEMAPHORE layout");
_Static_assert(sizeof(KDPC) == 64, "irpkit: KDPC layout");
_Static_assert(sizeof(KTIMER) == 64, "irpkit: KTIMER layout");
_Static_assert(sizeof(KDEVICE_QUEUE_ENTRY) == 24, "irpkit: KDEVICE_QUEUE_ENTRY layout");
_Static_assert(sizeof(KDEVICE_QUEUE) == 40, "irpkit: KDEVICE_QUEUE layout");
_Static_assert(sizeof(KLOCK_QUEUE_HANDLE) == 24, "irpkit: KLOCK_QUEUE_HANDLE layout");
_Static_assert(sizeof(IO_REMOVE_LOCK) == 32, "irpkit: IO_REMOVE_LOCK layout");
_Static_assert(sizeof(KAPC) == 88, "irpkit: KAPC size");
_Static_assert(sizeof(WAIT_CONTEXT_BLOCK) == 72, "irpkit: WAIT_CONTEXT_BLOCK size");
_Static_assert(sizeof(DEVICE_OBJECT) == 336 && _Alignof(DEVICE_OBJECT) == 16, "irpkit: DEVICE_OBJECT layout");
_Static_assert(sizeof(DRIVER_OBJECT) == 336, "irpkit: DRIVER_OBJECT layout");
_Static_assert(sizeof(FILE_OBJECT) == 216, "irpkit: FILE_OBJECT layout");
_Static_assert(sizeof(((IO_STACK_LOCATION *)0)->Parameters) == 32, "irpkit: Parameters is 32 bytes");
_Static_assert(sizeof(IO_STACK_LOCATION) == 72, "irpkit: IO_STACK_LOCATION layout");
_Static_assert(sizeof(IRP) == 208, "irpkit: IRP layout");
_Static_assert(__builtin_offsetof(IRP, Tail.Overlay.ListEntry) == 168, "irpkit: IRP Tail layout");
_Static_assert(sizeof(IO_CSQ) == 64, "irpkit: IO_CSQ layout");
_Static_assert(sizeof(IO_CSQ_IRP_CONTEXT) == 24, "irpkit: IO_CSQ_IRP_CONTEXT layout");
#endif

#ifdef __cplusplus
}
#endif

#endif /* IRPKIT_WDMOBJECTS_H */
