/*
 * initguid.h - irpkit-wdm: include before a DEFINE_GUID to make it a definition.
 *
 * Stands alone: drivers include it first (before ntddk.h), then write DEFINE_GUID(...),
 * possibly outside any include guard of their own.
 */
#ifndef INITGUID
#define INITGUID
#endif

#include "guiddef.h"
