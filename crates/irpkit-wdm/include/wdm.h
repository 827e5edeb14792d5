/*
 * wdm.h - irpkit-wdm: the WDM driver interface, for driver C source compiled on Linux
 * (x86-64, gcc 12+ or clang) to run on irpkit.
 *
 * Compile with -std=gnu11 -fshort-wchar (irpkit-wdm's loader passes its DRIVER_CFLAGS).
 * The declarations are written for irpkit from Microsoft's documentation:
 *   irpkit/wdmbase.h      basic types, SAL annotations, constants, status codes, lists,
 *                         interlocked operations, ASSERT / KdPrint / PAGED_CODE;
 *   devioctl.h            device types and CTL_CODE;
 *   irpkit/wdmobjects.h   the kernel objects (IRP, IO_STACK_LOCATION, DEVICE_OBJECT, ...)
 *                         and the driver routine types (DRIVER_DISPATCH, ...);
 *   irpkit/wdmroutines.h  the kernel routines irpkit implements.
 */
#ifndef _WDMDDK_
#define _WDMDDK_
#define IRPKIT_WDM_H

#include "irpkit/wdmbase.h"
#include "devioctl.h"
#include "irpkit/wdmobjects.h"
#include "irpkit/wdmroutines.h"

#endif /* _WDMDDK_ */
