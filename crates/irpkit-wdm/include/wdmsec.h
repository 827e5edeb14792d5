/*
 * wdmsec.h - irpkit-wdm: IoCreateDeviceSecure and the predefined SDDL strings for device
 * objects, written from Microsoft's documentation ("SDDL for Device Objects").
 *
 * irpkit has no security model: IoCreateDeviceSecure accepts the SDDL string and the class
 * GUID, ignores both, and creates the device as IoCreateDevice does.
 *
 * The SDDL_DEVOBJ_* strings are `static const UNICODE_STRING` objects of each translation
 * unit that includes this header (marked unused, so that including the header never
 * warns); pass their address, as with the WDK: `&SDDL_DEVOBJ_SYS_ALL_ADM_ALL`.
 */
#ifndef _WDMSEC_H_
#define _WDMSEC_H_
#define IRPKIT_WDMSEC_H

#include "wdm.h"
#include "guiddef.h"

#ifdef __cplusplus
extern "C" {
#endif

NTKERNELAPI NTSTATUS IoCreateDeviceSecure(_In_ PDRIVER_OBJECT DriverObject, _In_ ULONG DeviceExtensionSize,
                                          _In_opt_ PUNICODE_STRING DeviceName, _In_ DEVICE_TYPE DeviceType,
                                          _In_ ULONG DeviceCharacteristics, _In_ BOOLEAN Exclusive,
                                          _In_ PCUNICODE_STRING DefaultSDDLString,
                                          _In_opt_ LPCGUID DeviceClassGuid,
                                          _Out_ PDEVICE_OBJECT *DeviceObject);

/* A counted string over a wide literal: Length excludes the terminator, MaximumLength not. */
#define IRPKIT_SDDL_STRING(Name, Text)                                                  \
    static const UNICODE_STRING Name __attribute__((unused)) = {                        \
        (USHORT)(sizeof(Text) - sizeof(WCHAR)), (USHORT)sizeof(Text), (PWCH)(Text) }

/* Kernel-mode code only (and the system, through its kernel). */
IRPKIT_SDDL_STRING(SDDL_DEVOBJ_KERNEL_ONLY, L"D:P");
/* LocalSystem: all access. */
IRPKIT_SDDL_STRING(SDDL_DEVOBJ_SYS_ALL, L"D:P(A;;GA;;;SY)");
/* LocalSystem and Administrators: all access. */
IRPKIT_SDDL_STRING(SDDL_DEVOBJ_SYS_ALL_ADM_ALL, L"D:P(A;;GA;;;SY)(A;;GA;;;BA)");
/* LocalSystem: all; Administrators: read and execute. */
IRPKIT_SDDL_STRING(SDDL_DEVOBJ_SYS_ALL_ADM_RX, L"D:P(A;;GA;;;SY)(A;;GRGX;;;BA)");
/* LocalSystem: all; Administrators: read, write, execute; everyone: read. */
IRPKIT_SDDL_STRING(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_R, L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GR;;;WD)");
/* As above; everyone: read and write; restricted code: read. */
IRPKIT_SDDL_STRING(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RW_RES_R,
                   L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GRGW;;;WD)(A;;GR;;;RC)");
/* LocalSystem: all; Administrators, everyone and restricted code: read, write, execute. */
IRPKIT_SDDL_STRING(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RWX_RES_RWX,
                   L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GRGWGX;;;WD)(A;;GRGWGX;;;RC)");

#ifdef __cplusplus
}
#endif

#endif /* _WDMSEC_H_ */
