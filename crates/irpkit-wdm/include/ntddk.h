/*
 * ntddk.h - irpkit-wdm: the interface of kernel-mode drivers that are not PnP function
 * drivers (legacy drivers). irpkit declares everything it implements in wdm.h; this
 * header includes it, so that drivers written against ntddk.h compile unchanged.
 */
#ifndef _NTDDK_
#define _NTDDK_
#define IRPKIT_NTDDK_H

#include "wdm.h"

#endif /* _NTDDK_ */
