/*
 * guiddef.h - GUID for irpkit-wdm (WDM driver C source on irpkit, Linux x86-64).
 *
 * Written for irpkit from Microsoft's documentation of the GUID structure and of
 * DEFINE_GUID. Stands alone: it needs no other irpkit header, so that initguid.h can be
 * included before ntddk.h.
 *
 * DEFINE_GUID(name, l, w1, w2, b1, ..., b8):
 *   - after initguid.h (INITGUID defined): defines `const GUID name`, as a weak symbol
 *     (the ELF counterpart of __declspec(selectany)), so that several translation units
 *     of one driver may each define the same GUID;
 *   - otherwise: declares `extern const GUID name`.
 * Like the WDK's, the DEFINE_GUID part of this header is re-evaluated each time the header
 * is included (it is outside the include guard), so the INITGUID in force decides.
 */
#ifndef IRPKIT_GUIDDEF_H
#define IRPKIT_GUIDDEF_H

#include <string.h>

/* Data1 is a 32-bit ULONG (unsigned int on LP64 Linux; never `unsigned long`). */
typedef struct _GUID {
    unsigned int   Data1;
    unsigned short Data2;
    unsigned short Data3;
    unsigned char  Data4[8];
} GUID;

typedef GUID *LPGUID;
typedef GUID *PGUID;
typedef const GUID *LPCGUID;
typedef const GUID *PCGUID;
typedef GUID IID;
typedef IID *LPIID;
typedef GUID CLSID;
typedef CLSID *LPCLSID;
typedef GUID FMTID;
typedef FMTID *LPFMTID;

#ifdef __cplusplus
#define REFGUID const GUID &
#define REFIID const IID &
#define REFCLSID const IID &
#define REFFMTID const IID &
#else
#define REFGUID const GUID *
#define REFIID const IID *
#define REFCLSID const IID *
#define REFFMTID const IID *
#endif

#ifdef __cplusplus
#define IsEqualGUID(rguid1, rguid2) (!memcmp(&(rguid1), &(rguid2), sizeof(GUID)))
#else
#define IsEqualGUID(rguid1, rguid2) (!memcmp((rguid1), (rguid2), sizeof(GUID)))
#endif
#define InlineIsEqualGUID(rguid1, rguid2) IsEqualGUID(rguid1, rguid2)
#define IsEqualIID(riid1, riid2) IsEqualGUID(riid1, riid2)
#define IsEqualCLSID(rclsid1, rclsid2) IsEqualGUID(rclsid1, rclsid2)

#ifdef __cplusplus
#define IRPKIT_GUID_EXTERN extern "C"
#else
#define IRPKIT_GUID_EXTERN extern
#endif

#endif /* IRPKIT_GUIDDEF_H */

/* Outside the guard on purpose: see above. */
#undef DEFINE_GUID
#ifdef INITGUID
#ifdef __cplusplus
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
    extern "C" __attribute__((weak)) const GUID name =                 \
        { l, w1, w2, { b1, b2, b3, b4, b5, b6, b7, b8 } }
#else
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
    __attribute__((weak)) const GUID name =                            \
        { l, w1, w2, { b1, b2, b3, b4, b5, b6, b7, b8 } }
#endif
#else
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
    IRPKIT_GUID_EXTERN const GUID name
#endif

#ifndef DEFINE_OLEGUID
#define DEFINE_OLEGUID(name, l, w1, w2) \
    DEFINE_GUID(name, l, w1, w2, 0xC0, 0, 0, 0, 0, 0, 0, 0x46)
#endif
