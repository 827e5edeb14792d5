/*
 * irpkit/wdmbase.h - irpkit-wdm: the foundation of the WDM header set.
 *
 * Everything a WDM driver's source expects from wdm.h/ntddk.h that is neither a kernel
 * object structure nor a kernel routine declaration: the scalar and pointer types
 * (LP64-correct: LONG/ULONG are 32-bit), MSVC-isms mapped to gcc/clang, SAL annotations
 * (compiled away), NTSTATUS values, IRQLs, IRP major/minor codes and flags, pool types and
 * flags, access rights, lists, counted strings, OBJECT_ATTRIBUTES, IO_STATUS_BLOCK, the
 * Interlocked family, ASSERT/KdPrint/PAGED_CODE.
 *
 * Written for irpkit from Microsoft's documentation of these names and values. Target:
 * Linux x86-64 (LP64), gcc 12+ or clang, -std=gnu11 -fshort-wchar.
 *
 * Conventions:
 *   - Macros a driver commonly defines itself (min, max, ARRAYSIZE, UNREFERENCED_PARAMETER,
 *     the SAL annotations, ...) are defined only when not yet defined, so that a driver's
 *     own definition made before this header wins without a redefinition warning.
 *   - Debug build: DBG defaults to 1 when the driver leaves it undefined (a test host is
 *     a checked build). Define DBG=0 for a free build.
 *   - Structured exception handling (__try/__except/__finally/__leave) is not supported:
 *     using it is a compile error that says so.
 *
 * Only <stddef.h>, <stdarg.h> and <string.h> are included (never <wchar.h> or <stdio.h>:
 * with -fshort-wchar the C library's wide routines do not match WCHAR).
 */
#ifndef IRPKIT_WDMBASE_H
#define IRPKIT_WDMBASE_H

#include <stddef.h>
#include <stdarg.h>
#include <string.h>

#include "../guiddef.h"

_Static_assert(sizeof(wchar_t) == 2,
               "irpkit: WDM driver code needs a 2-byte WCHAR: compile it with -fshort-wchar");

/* ==========================================================================================
 * 1. Compiler and MSVC-isms
 * ======================================================================================== */

/* Calling conventions: there is one on x86-64 (System V); all expand to nothing. */
#ifndef NTAPI
#define NTAPI
#endif
#ifndef NTAPI_INLINE
#define NTAPI_INLINE NTAPI
#endif
#ifndef WINAPI
#define WINAPI
#endif
#ifndef APIENTRY
#define APIENTRY
#endif
#ifndef CALLBACK
#define CALLBACK
#endif
#ifndef FASTCALL
#define FASTCALL
#endif
#ifndef __stdcall
#define __stdcall
#endif
#ifndef __cdecl
#define __cdecl
#endif
#ifndef __fastcall
#define __fastcall
#endif
#ifndef __thiscall
#define __thiscall
#endif
#ifndef __clrcall
#define __clrcall
#endif
#ifndef __vectorcall
#define __vectorcall
#endif

/* MSVC integer keywords. */
#ifndef __int8
#define __int8 char
#endif
#ifndef __int16
#define __int16 short
#endif
#ifndef __int32
#define __int32 int
#endif
#ifndef __int64
#define __int64 long long
#endif
#ifndef __ptr32
#define __ptr32
#endif
#ifndef __ptr64
#define __ptr64
#endif
#ifndef __w64
#define __w64
#endif

/* Inlining. */
#ifndef FORCEINLINE
#define FORCEINLINE static inline __attribute__((__always_inline__))
#endif
#ifndef __forceinline
#define __forceinline inline __attribute__((__always_inline__))
#endif
#ifndef __inline
#define __inline inline
#endif
#ifndef NOINLINE
#define NOINLINE __attribute__((__noinline__))
#endif

/* __declspec(x): the forms drivers use, each mapped to its gcc counterpart (or nothing).
 * An unknown one is an error naming IRPKIT_DECLSPEC_<x>. */
#ifndef __declspec
#define __declspec(x) IRPKIT_DECLSPEC_##x
#define IRPKIT_DECLSPEC_selectany       __attribute__((__weak__))
#define IRPKIT_DECLSPEC_noinline        __attribute__((__noinline__))
#define IRPKIT_DECLSPEC_noreturn        __attribute__((__noreturn__))
#define IRPKIT_DECLSPEC_nothrow         __attribute__((__nothrow__))
#define IRPKIT_DECLSPEC_align(n)        __attribute__((__aligned__(n)))
#define IRPKIT_DECLSPEC_dllimport
#define IRPKIT_DECLSPEC_dllexport       __attribute__((__visibility__("default")))
#define IRPKIT_DECLSPEC_restrict
#define IRPKIT_DECLSPEC_noalias
#define IRPKIT_DECLSPEC_novtable
#define IRPKIT_DECLSPEC_safebuffers
#define IRPKIT_DECLSPEC_thread          __thread
#define IRPKIT_DECLSPEC_deprecated      __attribute__((__deprecated__))
#define IRPKIT_DECLSPEC_allocate(s)
#define IRPKIT_DECLSPEC_code_seg(s)
#define IRPKIT_DECLSPEC_guard(x)
#define IRPKIT_DECLSPEC_uuid(x)
#define IRPKIT_DECLSPEC_property(...)
#endif

#ifndef DECLSPEC_SELECTANY
#define DECLSPEC_SELECTANY __attribute__((__weak__))
#endif
#ifndef DECLSPEC_IMPORT
#define DECLSPEC_IMPORT
#endif
#ifndef DECLSPEC_EXPORT
#define DECLSPEC_EXPORT __attribute__((__visibility__("default")))
#endif
#ifndef DECLSPEC_NOINLINE
#define DECLSPEC_NOINLINE __attribute__((__noinline__))
#endif
#ifndef DECLSPEC_NORETURN
#define DECLSPEC_NORETURN __attribute__((__noreturn__))
#endif
#ifndef DECLSPEC_NOTHROW
#define DECLSPEC_NOTHROW __attribute__((__nothrow__))
#endif
#ifndef DECLSPEC_ALIGN
#define DECLSPEC_ALIGN(x) __attribute__((__aligned__(x)))
#endif
#ifndef SYSTEM_CACHE_ALIGNMENT_SIZE
#define SYSTEM_CACHE_ALIGNMENT_SIZE 64
#endif
#ifndef DECLSPEC_CACHEALIGN
#define DECLSPEC_CACHEALIGN DECLSPEC_ALIGN(SYSTEM_CACHE_ALIGNMENT_SIZE)
#endif
#ifndef DECLSPEC_NOVTABLE
#define DECLSPEC_NOVTABLE
#endif
#ifndef DECLSPEC_UUID
#define DECLSPEC_UUID(x)
#endif
#ifndef DECLSPEC_RESTRICT
#define DECLSPEC_RESTRICT
#endif
#ifndef DECLSPEC_NOALIAS
#define DECLSPEC_NOALIAS
#endif
#ifndef DECLSPEC_SAFEBUFFERS
#define DECLSPEC_SAFEBUFFERS
#endif
#ifndef DECLSPEC_GUARDNOCF
#define DECLSPEC_GUARDNOCF
#endif
#ifndef DECLSPEC_GUARD_SUPPRESS
#define DECLSPEC_GUARD_SUPPRESS
#endif
#ifndef DECLSPEC_NOSANITIZE_ADDRESS
#define DECLSPEC_NOSANITIZE_ADDRESS
#endif
#ifndef DECLSPEC_DEPRECATED
#define DECLSPEC_DEPRECATED
#endif
#ifndef DECLSPEC_DEPRECATED_DDK
#define DECLSPEC_DEPRECATED_DDK
#endif
#ifndef DECLSPEC_DEPRECATED_DDK_WINXP
#define DECLSPEC_DEPRECATED_DDK_WINXP
#endif
#ifndef DEPRECATE_DDK_FUNCTIONS
#define DEPRECATE_DDK_FUNCTIONS 0
#endif

/* Import/export decoration of kernel routines: plain external declarations on ELF. */
#ifndef NTKERNELAPI
#define NTKERNELAPI DECLSPEC_IMPORT
#endif
#ifndef NTSYSAPI
#define NTSYSAPI DECLSPEC_IMPORT
#endif
#ifndef NTSYSCALLAPI
#define NTSYSCALLAPI DECLSPEC_IMPORT
#endif
#ifndef NTHALAPI
#define NTHALAPI DECLSPEC_IMPORT
#endif
#ifndef NTHALAPI_INLINE
#define NTHALAPI_INLINE
#endif
#ifndef NTIOAPI
#define NTIOAPI DECLSPEC_IMPORT
#endif

#ifndef EXTERN_C
#ifdef __cplusplus
#define EXTERN_C extern "C"
#define EXTERN_C_START extern "C" {
#define EXTERN_C_END }
#else
#define EXTERN_C extern
#define EXTERN_C_START
#define EXTERN_C_END
#endif
#endif

#ifndef C_ASSERT
#define C_ASSERT(e) _Static_assert(e, #e)
#endif

/* Alignment and pointer qualifiers. */
#ifndef POINTER_ALIGNMENT
#define POINTER_ALIGNMENT __attribute__((__aligned__(8)))
#endif
#ifndef UNALIGNED
#define UNALIGNED
#endif
#ifndef UNALIGNED64
#define UNALIGNED64
#endif
#ifndef __unaligned
#define __unaligned
#endif
#ifndef RESTRICTED_POINTER
#define RESTRICTED_POINTER
#endif

/* Anonymous structs and unions are C11: these names expand to nothing. */
#ifndef _ANONYMOUS_UNION
#define _ANONYMOUS_UNION
#endif
#ifndef _ANONYMOUS_STRUCT
#define _ANONYMOUS_STRUCT
#endif
#ifndef DUMMYUNIONNAME
#define DUMMYUNIONNAME
#define DUMMYUNIONNAME1
#define DUMMYUNIONNAME2
#define DUMMYUNIONNAME3
#define DUMMYUNIONNAME4
#define DUMMYUNIONNAME5
#endif
#ifndef DUMMYSTRUCTNAME
#define DUMMYSTRUCTNAME
#define DUMMYSTRUCTNAME1
#define DUMMYSTRUCTNAME2
#define DUMMYSTRUCTNAME3
#define DUMMYSTRUCTNAME4
#define DUMMYSTRUCTNAME5
#endif

/* Parameter decorations of old headers. */
#ifndef IN
#define IN
#endif
#ifndef OUT
#define OUT
#endif
#ifndef OPTIONAL
#define OPTIONAL
#endif
#ifndef CONST
#define CONST const
#endif
#ifndef VOID
#define VOID void
#endif

/* Structured exception handling is not supported: __try, __except, __finally, __leave,
 * their legacy names (try, except, finally, leave) and the exception intrinsics expand to
 * a static assertion (valid wherever a statement or an expression may stand), so the first
 * use is a compile error that says why. */
#define IRPKIT_SEH_UNSUPPORTED                                                              \
    ((void)sizeof(struct {                                                                  \
        _Static_assert(0, "irpkit: structured exception handling (__try/__except/"          \
                          "__finally/__leave) is not supported; remove it from the driver " \
                          "(irpkit does not raise exceptions into driver code)");           \
        int irpkit_seh_unsupported_;                                                        \
    }))
#if defined(IRPKIT_SEH_NEVER_RAISES)
/* Opt-in (define IRPKIT_SEH_NEVER_RAISES, e.g. in a scenario's `defines`): irpkit raises
 * no exception into driver code — ProbeForRead/ProbeForWrite and the Mm routines never
 * raise — so a __try block runs as a plain block and its __except handler never runs
 * (the filter is not evaluated). __finally and __leave, whose meaning a plain block
 * cannot keep (a return or a __leave must still run the finally block), stay errors. */
#ifndef __try
#define __try
#endif
#ifndef __except
#define __except(filter) if ((void)sizeof((filter) ? 1 : 0), 0)
#endif
#ifndef GetExceptionCode
#define GetExceptionCode() ((NTSTATUS)0)
#endif
#ifndef _exception_code
#define _exception_code() ((NTSTATUS)0)
#endif
#endif
#ifndef __try
#define __try IRPKIT_SEH_UNSUPPORTED;
#endif
#ifndef __except
#define __except(filter) IRPKIT_SEH_UNSUPPORTED;
#endif
#ifndef __finally
#define __finally IRPKIT_SEH_UNSUPPORTED;
#endif
#ifndef __leave
#define __leave IRPKIT_SEH_UNSUPPORTED
#endif
#ifndef GetExceptionCode
#define GetExceptionCode() (IRPKIT_SEH_UNSUPPORTED, (NTSTATUS)0)
#endif
#ifndef _exception_code
#define _exception_code() (IRPKIT_SEH_UNSUPPORTED, (NTSTATUS)0)
#endif
#ifndef GetExceptionInformation
#define GetExceptionInformation() (IRPKIT_SEH_UNSUPPORTED, (PVOID)0)
#endif
#ifndef _exception_info
#define _exception_info() (IRPKIT_SEH_UNSUPPORTED, (PVOID)0)
#endif
#ifndef AbnormalTermination
#define AbnormalTermination() (IRPKIT_SEH_UNSUPPORTED, 0)
#endif
/* The legacy names of the SEH keywords, as the WDK's C headers define them. */
#if !defined(__cplusplus)
#ifndef try
#define try __try
#endif
#ifndef except
#define except __except
#endif
#ifndef finally
#define finally __finally
#endif
#ifndef leave
#define leave __leave
#endif
#endif
#ifndef _abnormal_termination
#define _abnormal_termination() (IRPKIT_SEH_UNSUPPORTED, 0)
#endif
#define EXCEPTION_EXECUTE_HANDLER     1
#define EXCEPTION_CONTINUE_SEARCH     0
#define EXCEPTION_CONTINUE_EXECUTION  (-1)

/* Other MSVC intrinsics and operators seen in driver code. */
#ifndef __noop
#define __noop(...) ((void)0)
#endif
#ifndef __pragma
#define __pragma(x) _Pragma(#x)
#endif
#ifndef __assume
#define __assume(e) ((void)0)
#endif
#ifndef __analysis_assume
#define __analysis_assume(e) ((void)0)
#endif
#ifndef __debugbreak
#define __debugbreak() DbgBreakPoint()
#endif

/* Unused names. */
#ifndef UNREFERENCED_PARAMETER
#define UNREFERENCED_PARAMETER(P) ((void)(P))
#endif
#ifndef DBG_UNREFERENCED_PARAMETER
#define DBG_UNREFERENCED_PARAMETER(P) ((void)(P))
#endif
#ifndef DBG_UNREFERENCED_LOCAL_VARIABLE
#define DBG_UNREFERENCED_LOCAL_VARIABLE(V) ((void)(V))
#endif
#ifndef UNREFERENCED_LOCAL_VARIABLE
#define UNREFERENCED_LOCAL_VARIABLE(V) ((void)(V))
#endif

/* Structure layout helpers. __builtin_offsetof takes nested member designators
 * (CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry)) and anonymous members. */
#ifndef FIELD_OFFSET
#define FIELD_OFFSET(type, field) ((LONG)__builtin_offsetof(type, field))
#endif
#ifndef UFIELD_OFFSET
#define UFIELD_OFFSET(type, field) ((ULONG)__builtin_offsetof(type, field))
#endif
#ifndef RTL_FIELD_SIZE
#define RTL_FIELD_SIZE(type, field) (sizeof(((type *)0)->field))
#endif
#ifndef RTL_SIZEOF_THROUGH_FIELD
#define RTL_SIZEOF_THROUGH_FIELD(type, field) \
    (__builtin_offsetof(type, field) + RTL_FIELD_SIZE(type, field))
#endif
#ifndef RTL_CONTAINS_FIELD
#define RTL_CONTAINS_FIELD(Struct, Size, Field) \
    ((((PCHAR)(&(Struct)->Field)) + sizeof((Struct)->Field)) <= (((PCHAR)(Struct)) + (Size)))
#endif
#ifndef CONTAINING_RECORD
#define CONTAINING_RECORD(address, type, field) \
    ((type *)((PCHAR)(address) - (ULONG_PTR)__builtin_offsetof(type, field)))
#endif
#ifndef TYPE_ALIGNMENT
#define TYPE_ALIGNMENT(t) ((LONG)__alignof__(t))
#endif
#ifndef PROBE_ALIGNMENT
#define PROBE_ALIGNMENT(t) TYPE_ALIGNMENT(t)
#endif
#ifndef RTL_NUMBER_OF_V1
#define RTL_NUMBER_OF_V1(A) (sizeof(A) / sizeof((A)[0]))
#endif
#ifndef RTL_NUMBER_OF_V2
#define RTL_NUMBER_OF_V2(A) RTL_NUMBER_OF_V1(A)
#endif
#ifndef RTL_NUMBER_OF
#define RTL_NUMBER_OF(A) RTL_NUMBER_OF_V1(A)
#endif
#ifndef ARRAYSIZE
#define ARRAYSIZE(A) RTL_NUMBER_OF_V2(A)
#endif
#ifndef _ARRAYSIZE
#define _ARRAYSIZE(A) RTL_NUMBER_OF_V1(A)
#endif
#ifndef _countof
#define _countof(A) RTL_NUMBER_OF_V1(A)
#endif
#ifndef RTL_NUMBER_OF_FIELD
#define RTL_NUMBER_OF_FIELD(type, field) (RTL_NUMBER_OF(RTL_FIELD_TYPE(type, field)))
#endif
#ifndef RTL_FIELD_TYPE
#define RTL_FIELD_TYPE(type, field) (((type *)0)->field)
#endif
#ifndef RTL_BITS_OF
#define RTL_BITS_OF(sizeOfArg) (sizeof(sizeOfArg) * 8)
#endif
#ifndef RTL_BITS_OF_FIELD
#define RTL_BITS_OF_FIELD(type, field) (RTL_BITS_OF(RTL_FIELD_TYPE(type, field)))
#endif
#ifndef RTL_CONST_CAST
#define RTL_CONST_CAST(type) (type)
#endif
#ifndef RTL_PADDING_BETWEEN_FIELDS
#define RTL_PADDING_BETWEEN_FIELDS(T, F1, F2)                                            \
    ((FIELD_OFFSET(T, F2) > FIELD_OFFSET(T, F1))                                         \
         ? (FIELD_OFFSET(T, F2) - FIELD_OFFSET(T, F1) - (LONG)RTL_FIELD_SIZE(T, F1))     \
         : (FIELD_OFFSET(T, F1) - FIELD_OFFSET(T, F2) - (LONG)RTL_FIELD_SIZE(T, F2)))
#endif

/* 64-bit products of 32-bit values (with 64-bit types: MSVC's casts through `long`
 * would truncate on LP64). */
#ifndef Int32x32To64
#define Int32x32To64(a, b) (((LONGLONG)((LONG)(a))) * ((LONGLONG)((LONG)(b))))
#endif
#ifndef UInt32x32To64
#define UInt32x32To64(a, b) (((ULONGLONG)((ULONG)(a))) * ((ULONGLONG)((ULONG)(b))))
#endif
#ifndef Int64ShllMod32
#define Int64ShllMod32(a, b) (((ULONGLONG)(a)) << ((b) & 31))
#endif
#ifndef Int64ShraMod32
#define Int64ShraMod32(a, b) (((LONGLONG)(a)) >> ((b) & 31))
#endif
#ifndef Int64ShrlMod32
#define Int64ShrlMod32(a, b) (((ULONGLONG)(a)) >> ((b) & 31))
#endif

#ifndef NOMINMAX
#ifndef min
#define min(a, b) (((a) < (b)) ? (a) : (b))
#endif
#ifndef max
#define max(a, b) (((a) > (b)) ? (a) : (b))
#endif
#endif

/* Flag helpers. */
#ifndef FlagOn
#define FlagOn(_F, _SF) ((_F) & (_SF))
#endif
#ifndef BooleanFlagOn
#define BooleanFlagOn(F, SF) ((BOOLEAN)(((F) & (SF)) != 0))
#endif
#ifndef SetFlag
#define SetFlag(_F, _SF) ((_F) |= (_SF))
#endif
#ifndef ClearFlag
#define ClearFlag(_F, _SF) ((_F) &= ~(_SF))
#endif

/* ==========================================================================================
 * 2. Basic types (LP64: LONG/ULONG are `int`; pointer-sized types are `long`)
 * ======================================================================================== */

typedef void *PVOID;
typedef void *PVOID64;
typedef const void *PCVOID;

typedef char CHAR;
typedef CHAR *PCHAR, *LPCH, *PCH, *PSTR, *LPSTR, *NPSTR, *PSZ;
typedef const CHAR *LPCCH, *PCCH, *PCSTR, *LPCSTR, *PCSZ;
typedef PSTR *PZPSTR;
typedef unsigned char UCHAR;
typedef UCHAR *PUCHAR;
typedef signed char SCHAR;
typedef SCHAR *PSCHAR;
typedef char CCHAR;
typedef CCHAR *PCCHAR;

typedef short SHORT;
typedef SHORT *PSHORT;
typedef short CSHORT;
typedef CSHORT *PCSHORT;
typedef unsigned short USHORT;
typedef USHORT *PUSHORT;

typedef int LONG;
typedef LONG *PLONG;
typedef unsigned int ULONG;
typedef ULONG *PULONG;
typedef ULONG CLONG;
typedef CLONG *PCLONG;
typedef int INT;
typedef INT *PINT;
typedef unsigned int UINT;
typedef UINT *PUINT;

typedef long long LONGLONG;
typedef LONGLONG *PLONGLONG;
typedef unsigned long long ULONGLONG;
typedef ULONGLONG *PULONGLONG;
typedef ULONGLONG DWORDLONG;
typedef DWORDLONG *PDWORDLONG;
typedef ULONGLONG USN;

typedef signed char INT8, *PINT8;
typedef short INT16, *PINT16;
typedef int INT32, *PINT32;
typedef long long INT64, *PINT64;
typedef unsigned char UINT8, *PUINT8;
typedef unsigned short UINT16, *PUINT16;
typedef unsigned int UINT32, *PUINT32;
typedef unsigned long long UINT64, *PUINT64;
typedef int LONG32, *PLONG32;
typedef unsigned int ULONG32, *PULONG32;
typedef unsigned int DWORD32, *PDWORD32;
typedef long long LONG64, *PLONG64;
typedef unsigned long long ULONG64, *PULONG64;
typedef unsigned long long DWORD64, *PDWORD64;

typedef unsigned char BYTE;
typedef BYTE *PBYTE, *LPBYTE;
typedef unsigned short WORD;
typedef WORD *PWORD, *LPWORD;
typedef unsigned int DWORD;
typedef DWORD *PDWORD, *LPDWORD;
typedef unsigned long long QWORD;
typedef QWORD *PQWORD;
typedef int BOOL;
typedef BOOL *PBOOL, *LPBOOL;
typedef UCHAR BOOLEAN;
typedef BOOLEAN *PBOOLEAN;
typedef ULONG LOGICAL;
typedef ULONG *PLOGICAL;

typedef wchar_t WCHAR;
typedef WCHAR *PWCHAR, *LPWCH, *PWCH, *LPWSTR, *PWSTR, *NWPSTR;
typedef WCHAR *PZZWSTR;
typedef const WCHAR *LPCWCH, *PCWCH, *LPCWSTR, *PCWSTR, *PCZZWSTR;
typedef PWSTR *PZPWSTR;

/* Pointer-sized integers. */
typedef long INT_PTR, *PINT_PTR;
typedef unsigned long UINT_PTR, *PUINT_PTR;
typedef long LONG_PTR, *PLONG_PTR;
typedef unsigned long ULONG_PTR, *PULONG_PTR;
typedef ULONG_PTR DWORD_PTR, *PDWORD_PTR;
typedef ULONG_PTR SIZE_T, *PSIZE_T;
typedef LONG_PTR SSIZE_T, *PSSIZE_T;
typedef ULONG_PTR KAFFINITY;
typedef KAFFINITY *PKAFFINITY;

typedef void *HANDLE;
typedef HANDLE *PHANDLE;

typedef LONG NTSTATUS;
typedef NTSTATUS *PNTSTATUS;
typedef UCHAR KIRQL;
typedef KIRQL *PKIRQL;
typedef LONG KPRIORITY;
typedef ULONG ACCESS_MASK;
typedef ACCESS_MASK *PACCESS_MASK;
typedef CCHAR KPROCESSOR_MODE;
typedef PVOID PSECURITY_DESCRIPTOR;
typedef ULONG SECURITY_INFORMATION, *PSECURITY_INFORMATION;
typedef ULONG_PTR ERESOURCE_THREAD;
typedef ERESOURCE_THREAD *PERESOURCE_THREAD;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

/* Limits. */
#define MINCHAR      0x80
#define MAXCHAR      0x7f
#define MINSHORT     0x8000
#define MAXSHORT     0x7fff
#define MINLONG      ((LONG)0x80000000)
#define MAXLONG      0x7fffffff
#define MAXUCHAR     0xff
#define MAXUSHORT    0xffff
#define MAXULONG     0xffffffff
#define MAXLONGLONG  (0x7fffffffffffffffLL)
#define MINLONGLONG  (~MAXLONGLONG)
#define MAXULONGLONG (~(ULONGLONG)0)
#define MAXDWORD     0xffffffff
#define MAXBYTE      0xff
#define MAXWORD      0xffff
#define MAXUINT8     ((UINT8)~((UINT8)0))
#define MAXINT8      ((INT8)(MAXUINT8 >> 1))
#define MININT8      ((INT8)~MAXINT8)
#define MAXUINT16    ((UINT16)~((UINT16)0))
#define MAXINT16     ((INT16)(MAXUINT16 >> 1))
#define MININT16     ((INT16)~MAXINT16)
#define MAXUINT32    ((UINT32)~((UINT32)0))
#define MAXINT32     ((INT32)(MAXUINT32 >> 1))
#define MININT32     ((INT32)~MAXINT32)
#define MAXUINT64    ((UINT64)~((UINT64)0))
#define MAXINT64     ((INT64)(MAXUINT64 >> 1))
#define MININT64     ((INT64)~MAXINT64)
#define MAXULONG32   ((ULONG32)~((ULONG32)0))
#define MAXLONG32    ((LONG32)(MAXULONG32 >> 1))
#define MINLONG32    ((LONG32)~MAXLONG32)
#define MAXULONG64   ((ULONG64)~((ULONG64)0))
#define MAXLONG64    ((LONG64)(MAXULONG64 >> 1))
#define MINLONG64    ((LONG64)~MAXLONG64)
#define MAXUINT      ((UINT)~((UINT)0))
#define MAXINT       ((INT)(MAXUINT >> 1))
#define MININT       ((INT)~MAXINT)
#define MAXULONG_PTR (~((ULONG_PTR)0))
#define MAXLONG_PTR  ((LONG_PTR)(MAXULONG_PTR >> 1))
#define MINLONG_PTR  (~MAXLONG_PTR)
#define MAXUINT_PTR  (~((UINT_PTR)0))
#define MAXINT_PTR   ((INT_PTR)(MAXUINT_PTR >> 1))
#define MININT_PTR   (~MAXINT_PTR)
#define MAXSIZE_T    ((SIZE_T)~((SIZE_T)0))
#define MAXSSIZE_T   ((SSIZE_T)(MAXSIZE_T >> 1))
#define MINSSIZE_T   ((SSIZE_T)~MAXSSIZE_T)

#define ANYSIZE_ARRAY 1

/* 64-bit integers as two halves (C11 anonymous struct) or a whole. */
typedef union _LARGE_INTEGER {
    struct {
        ULONG LowPart;
        LONG HighPart;
    };
    struct {
        ULONG LowPart;
        LONG HighPart;
    } u;
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef union _ULARGE_INTEGER {
    struct {
        ULONG LowPart;
        ULONG HighPart;
    };
    struct {
        ULONG LowPart;
        ULONG HighPart;
    } u;
    ULONGLONG QuadPart;
} ULARGE_INTEGER, *PULARGE_INTEGER;

typedef LARGE_INTEGER PHYSICAL_ADDRESS, *PPHYSICAL_ADDRESS;

typedef struct _LUID {
    ULONG LowPart;
    LONG HighPart;
} LUID, *PLUID;

/* Layout checks: these are the Windows x64 sizes the kernel's Rust structures assume. */
_Static_assert(sizeof(CHAR) == 1 && sizeof(SHORT) == 2 && sizeof(LONG) == 4 && sizeof(ULONG) == 4,
               "irpkit: LONG/ULONG must be 32-bit");
_Static_assert(sizeof(LONGLONG) == 8 && sizeof(ULONG64) == 8, "irpkit: LONGLONG must be 64-bit");
_Static_assert(sizeof(ULONG_PTR) == sizeof(void *) && sizeof(SIZE_T) == sizeof(void *),
               "irpkit: ULONG_PTR/SIZE_T must be pointer-sized");
_Static_assert(sizeof(LARGE_INTEGER) == 8 && _Alignof(LARGE_INTEGER) == 8,
               "irpkit: LARGE_INTEGER layout");
_Static_assert(sizeof(BOOLEAN) == 1 && sizeof(KIRQL) == 1 && sizeof(KPROCESSOR_MODE) == 1,
               "irpkit: BOOLEAN/KIRQL/KPROCESSOR_MODE are bytes");

/* ==========================================================================================
 * 3. SAL annotations (source annotation language) and the older __drv_ and __in/__out
 *    forms: all compile away. Function-like ones take any arguments; the _Analysis_assume_
 *    family expands to ((void)0) (it stands at statement position); __fallthrough marks
 *    an intended switch fall-through for -Wimplicit-fallthrough.
 * ======================================================================================== */
#ifndef _In_
#define _In_
#endif
#ifndef _In_opt_
#define _In_opt_
#endif
#ifndef _Out_
#define _Out_
#endif
#ifndef _Out_opt_
#define _Out_opt_
#endif
#ifndef _Inout_
#define _Inout_
#endif
#ifndef _Inout_opt_
#define _Inout_opt_
#endif
#ifndef _In_z_
#define _In_z_
#endif
#ifndef _In_opt_z_
#define _In_opt_z_
#endif
#ifndef _Inout_z_
#define _Inout_z_
#endif
#ifndef _Inout_opt_z_
#define _Inout_opt_z_
#endif
#ifndef _Out_z_
#define _Out_z_
#endif
#ifndef _Out_opt_z_
#define _Out_opt_z_
#endif
#ifndef _Outptr_
#define _Outptr_
#endif
#ifndef _Outptr_opt_
#define _Outptr_opt_
#endif
#ifndef _Outptr_result_maybenull_
#define _Outptr_result_maybenull_
#endif
#ifndef _Outptr_opt_result_maybenull_
#define _Outptr_opt_result_maybenull_
#endif
#ifndef _Outptr_result_nullonfailure_
#define _Outptr_result_nullonfailure_
#endif
#ifndef _Outptr_opt_result_nullonfailure_
#define _Outptr_opt_result_nullonfailure_
#endif
#ifndef _Outptr_result_z_
#define _Outptr_result_z_
#endif
#ifndef _Outptr_opt_result_z_
#define _Outptr_opt_result_z_
#endif
#ifndef _Outptr_result_maybenull_z_
#define _Outptr_result_maybenull_z_
#endif
#ifndef _Outptr_opt_result_maybenull_z_
#define _Outptr_opt_result_maybenull_z_
#endif
#ifndef _COM_Outptr_
#define _COM_Outptr_
#endif
#ifndef _COM_Outptr_opt_
#define _COM_Outptr_opt_
#endif
#ifndef _COM_Outptr_result_maybenull_
#define _COM_Outptr_result_maybenull_
#endif
#ifndef _COM_Outptr_opt_result_maybenull_
#define _COM_Outptr_opt_result_maybenull_
#endif
#ifndef _Outref_
#define _Outref_
#endif
#ifndef _Outref_result_maybenull_
#define _Outref_result_maybenull_
#endif
#ifndef _Outref_result_nullonfailure_
#define _Outref_result_nullonfailure_
#endif
#ifndef _Deref_out_
#define _Deref_out_
#endif
#ifndef _Deref_out_opt_
#define _Deref_out_opt_
#endif
#ifndef _Deref_out_z_
#define _Deref_out_z_
#endif
#ifndef _Deref_out_opt_z_
#define _Deref_out_opt_z_
#endif
#ifndef _Deref_inout_z_
#define _Deref_inout_z_
#endif
#ifndef _Deref_pre_z_
#define _Deref_pre_z_
#endif
#ifndef _Deref_post_z_
#define _Deref_post_z_
#endif
#ifndef _Deref_post_null_
#define _Deref_post_null_
#endif
#ifndef _Deref_post_maybenull_
#define _Deref_post_maybenull_
#endif
#ifndef _Deref_pre_maybenull_
#define _Deref_pre_maybenull_
#endif
#ifndef _Deref_post_valid_
#define _Deref_post_valid_
#endif
#ifndef _Deref_pre_valid_
#define _Deref_pre_valid_
#endif
#ifndef _Deref_pre_readonly_
#define _Deref_pre_readonly_
#endif
#ifndef _Deref2_pre_readonly_
#define _Deref2_pre_readonly_
#endif
#ifndef _Deref_ret_z_
#define _Deref_ret_z_
#endif
#ifndef _Deref_ret_opt_z_
#define _Deref_ret_opt_z_
#endif
#ifndef _Deref_pre_notnull_
#define _Deref_pre_notnull_
#endif
#ifndef _Deref_post_notnull_
#define _Deref_post_notnull_
#endif
#ifndef _Deref_pre_null_
#define _Deref_pre_null_
#endif
#ifndef _Deref_pre_invalid_
#define _Deref_pre_invalid_
#endif
#ifndef _Deref_post_invalid_
#define _Deref_post_invalid_
#endif
#ifndef _Deref_pre_opt_z_
#define _Deref_pre_opt_z_
#endif
#ifndef _Deref_post_opt_z_
#define _Deref_post_opt_z_
#endif
#ifndef _Pre_
#define _Pre_
#endif
#ifndef _Post_
#define _Post_
#endif
#ifndef _Pre_notnull_
#define _Pre_notnull_
#endif
#ifndef _Pre_maybenull_
#define _Pre_maybenull_
#endif
#ifndef _Pre_null_
#define _Pre_null_
#endif
#ifndef _Pre_valid_
#define _Pre_valid_
#endif
#ifndef _Pre_opt_valid_
#define _Pre_opt_valid_
#endif
#ifndef _Pre_invalid_
#define _Pre_invalid_
#endif
#ifndef _Pre_z_
#define _Pre_z_
#endif
#ifndef _Pre_opt_z_
#define _Pre_opt_z_
#endif
#ifndef _Pre_unknown_
#define _Pre_unknown_
#endif
#ifndef _Pre_readonly_
#define _Pre_readonly_
#endif
#ifndef _Post_notnull_
#define _Post_notnull_
#endif
#ifndef _Post_maybenull_
#define _Post_maybenull_
#endif
#ifndef _Post_null_
#define _Post_null_
#endif
#ifndef _Post_invalid_
#define _Post_invalid_
#endif
#ifndef _Post_ptr_invalid_
#define _Post_ptr_invalid_
#endif
#ifndef _Post_valid_
#define _Post_valid_
#endif
#ifndef _Post_z_
#define _Post_z_
#endif
#ifndef _Post_maybez_
#define _Post_maybez_
#endif
#ifndef _Use_decl_annotations_
#define _Use_decl_annotations_
#endif
#ifndef _Notnull_
#define _Notnull_
#endif
#ifndef _Maybenull_
#define _Maybenull_
#endif
#ifndef _Null_
#define _Null_
#endif
#ifndef _Valid_
#define _Valid_
#endif
#ifndef _Notvalid_
#define _Notvalid_
#endif
#ifndef _Const_
#define _Const_
#endif
#ifndef _Curr_
#define _Curr_
#endif
#ifndef _Check_return_
#define _Check_return_
#endif
#ifndef _Must_inspect_result_
#define _Must_inspect_result_
#endif
#ifndef _Ret_maybenull_
#define _Ret_maybenull_
#endif
#ifndef _Ret_notnull_
#define _Ret_notnull_
#endif
#ifndef _Ret_null_
#define _Ret_null_
#endif
#ifndef _Ret_z_
#define _Ret_z_
#endif
#ifndef _Ret_maybenull_z_
#define _Ret_maybenull_z_
#endif
#ifndef _Ret_opt_z_
#define _Ret_opt_z_
#endif
#ifndef _Ret_valid_
#define _Ret_valid_
#endif
#ifndef _Result_nullonfailure_
#define _Result_nullonfailure_
#endif
#ifndef _Result_zeroonfailure_
#define _Result_zeroonfailure_
#endif
#ifndef _Printf_format_string_
#define _Printf_format_string_
#endif
#ifndef _Scanf_format_string_
#define _Scanf_format_string_
#endif
#ifndef _Scanf_s_format_string_
#define _Scanf_s_format_string_
#endif
#ifndef _Field_z_
#define _Field_z_
#endif
#ifndef _Null_terminated_
#define _Null_terminated_
#endif
#ifndef _NullNull_terminated_
#define _NullNull_terminated_
#endif
#ifndef _Reserved_
#define _Reserved_
#endif
#ifndef _Literal_
#define _Literal_
#endif
#ifndef _Notliteral_
#define _Notliteral_
#endif
#ifndef _Strict_type_match_
#define _Strict_type_match_
#endif
#ifndef _Points_to_data_
#define _Points_to_data_
#endif
#ifndef _Enum_is_bitflag_
#define _Enum_is_bitflag_
#endif
#ifndef _Interlocked_
#define _Interlocked_
#endif
#ifndef _Interlocked_operand_
#define _Interlocked_operand_
#endif
#ifndef _IRQL_saves_
#define _IRQL_saves_
#endif
#ifndef _IRQL_restores_
#define _IRQL_restores_
#endif
#ifndef _IRQL_requires_same_
#define _IRQL_requires_same_
#endif
#ifndef _IRQL_uses_cancel_
#define _IRQL_uses_cancel_
#endif
#ifndef _IRQL_is_cancel_
#define _IRQL_is_cancel_
#endif
#ifndef _Kernel_float_saved_
#define _Kernel_float_saved_
#endif
#ifndef _Kernel_float_restored_
#define _Kernel_float_restored_
#endif
#ifndef _Kernel_float_used_
#define _Kernel_float_used_
#endif
#ifndef _Lock_kind_mutex_
#define _Lock_kind_mutex_
#endif
#ifndef _Lock_kind_event_
#define _Lock_kind_event_
#endif
#ifndef _Lock_kind_semaphore_
#define _Lock_kind_semaphore_
#endif
#ifndef _Lock_kind_spin_lock_
#define _Lock_kind_spin_lock_
#endif
#ifndef _Lock_kind_critical_section_
#define _Lock_kind_critical_section_
#endif
#ifndef _Global_cancel_spin_lock_
#define _Global_cancel_spin_lock_
#endif
#ifndef _Global_critical_region_
#define _Global_critical_region_
#endif
#ifndef _Global_interlock_
#define _Global_interlock_
#endif
#ifndef _Global_priority_region_
#define _Global_priority_region_
#endif
#ifndef _Frees_ptr_
#define _Frees_ptr_
#endif
#ifndef _Frees_ptr_opt_
#define _Frees_ptr_opt_
#endif
#ifndef _Pre_defensive_
#define _Pre_defensive_
#endif
#ifndef _Post_defensive_
#define _Post_defensive_
#endif
#ifndef _In_defensive_
#define _In_defensive_
#endif
#ifndef _Out_defensive_
#define _Out_defensive_
#endif
#ifndef _Inout_defensive_
#define _Inout_defensive_
#endif
#ifndef _No_competing_thread_
#define _No_competing_thread_
#endif
#ifndef _No_competing_thread_begin_
#define _No_competing_thread_begin_
#endif
#ifndef _No_competing_thread_end_
#define _No_competing_thread_end_
#endif
#ifndef _Requires_no_locks_held_
#define _Requires_no_locks_held_
#endif
#ifndef _Analysis_noreturn_
#define _Analysis_noreturn_
#endif
#ifndef _Raises_SEH_exception_
#define _Raises_SEH_exception_
#endif
#ifndef _Maybe_raises_SEH_exception_
#define _Maybe_raises_SEH_exception_
#endif
#ifndef _Benign_race_begin_
#define _Benign_race_begin_
#endif
#ifndef _Benign_race_end_
#define _Benign_race_end_
#endif
#ifndef _Ret_notnull_z_
#define _Ret_notnull_z_
#endif
#ifndef __drv_aliasesMem
#define __drv_aliasesMem
#endif
#ifndef __drv_savesIRQL
#define __drv_savesIRQL
#endif
#ifndef __drv_restoresIRQL
#define __drv_restoresIRQL
#endif
#ifndef __drv_sameIRQL
#define __drv_sameIRQL
#endif
#ifndef __drv_dispatchType_other
#define __drv_dispatchType_other
#endif
#ifndef __drv_useCancelIRQL
#define __drv_useCancelIRQL
#endif
#ifndef __drv_isCancelIRQL
#define __drv_isCancelIRQL
#endif
#ifndef __drv_inTry
#define __drv_inTry
#endif
#ifndef __drv_notInTry
#define __drv_notInTry
#endif
#ifndef __drv_acquiresCancelSpinLock
#define __drv_acquiresCancelSpinLock
#endif
#ifndef __drv_releasesCancelSpinLock
#define __drv_releasesCancelSpinLock
#endif
#ifndef __drv_mustHoldCancelSpinLock
#define __drv_mustHoldCancelSpinLock
#endif
#ifndef __drv_neverHoldCancelSpinLock
#define __drv_neverHoldCancelSpinLock
#endif
#ifndef __drv_acquiresCriticalRegion
#define __drv_acquiresCriticalRegion
#endif
#ifndef __drv_releasesCriticalRegion
#define __drv_releasesCriticalRegion
#endif
#ifndef __drv_mustHoldCriticalRegion
#define __drv_mustHoldCriticalRegion
#endif
#ifndef __drv_neverHoldCriticalRegion
#define __drv_neverHoldCriticalRegion
#endif
#ifndef __drv_acquiresPriorityRegion
#define __drv_acquiresPriorityRegion
#endif
#ifndef __drv_releasesPriorityRegion
#define __drv_releasesPriorityRegion
#endif
#ifndef __drv_mustHoldPriorityRegion
#define __drv_mustHoldPriorityRegion
#endif
#ifndef __drv_neverHoldPriorityRegion
#define __drv_neverHoldPriorityRegion
#endif
#ifndef __drv_floatSaved
#define __drv_floatSaved
#endif
#ifndef __drv_floatRestored
#define __drv_floatRestored
#endif
#ifndef __drv_floatUsed
#define __drv_floatUsed
#endif
#ifndef __drv_nonConstant
#define __drv_nonConstant
#endif
#ifndef __drv_constant
#define __drv_constant
#endif
#ifndef __drv_typeConst
#define __drv_typeConst
#endif
#ifndef __drv_typeCond
#define __drv_typeCond
#endif
#ifndef __drv_typeBitset
#define __drv_typeBitset
#endif
#ifndef __drv_typeExpr
#define __drv_typeExpr
#endif
#ifndef __drv_interlocked
#define __drv_interlocked
#endif
#ifndef __drv_notPointer
#define __drv_notPointer
#endif
#ifndef __drv_isObjectPointer
#define __drv_isObjectPointer
#endif
#ifndef __in
#define __in
#endif
#ifndef __out
#define __out
#endif
#ifndef __inout
#define __inout
#endif
#ifndef __in_opt
#define __in_opt
#endif
#ifndef __out_opt
#define __out_opt
#endif
#ifndef __inout_opt
#define __inout_opt
#endif
#ifndef __deref_out
#define __deref_out
#endif
#ifndef __deref_out_opt
#define __deref_out_opt
#endif
#ifndef __deref_in
#define __deref_in
#endif
#ifndef __deref_inout
#define __deref_inout
#endif
#ifndef __deref_opt_out
#define __deref_opt_out
#endif
#ifndef __deref_out_z
#define __deref_out_z
#endif
#ifndef __deref_inout_z
#define __deref_inout_z
#endif
#ifndef __in_z
#define __in_z
#endif
#ifndef __in_z_opt
#define __in_z_opt
#endif
#ifndef __out_z
#define __out_z
#endif
#ifndef __inout_z
#define __inout_z
#endif
#ifndef __out_z_opt
#define __out_z_opt
#endif
#ifndef __checkReturn
#define __checkReturn
#endif
#ifndef __nullterminated
#define __nullterminated
#endif
#ifndef __nullnullterminated
#define __nullnullterminated
#endif
#ifndef __reserved
#define __reserved
#endif
#ifndef __format_string
#define __format_string
#endif
#ifndef __callback
#define __callback
#endif
#ifndef __override
#define __override
#endif
#ifndef __notnull
#define __notnull
#endif
#ifndef __maybenull
#define __maybenull
#endif
#ifndef __null
#define __null
#endif
#ifndef __readonly
#define __readonly
#endif
#ifndef __valid
#define __valid
#endif
#ifndef __notvalid
#define __notvalid
#endif
#ifndef __possibly_notnullterminated
#define __possibly_notnullterminated
#endif
#ifndef __exceptthat
#define __exceptthat
#endif
#ifndef __refparam
#define __refparam
#endif
#ifndef __post
#define __post
#endif
#ifndef __pre
#define __pre
#endif
#ifndef __deref
#define __deref
#endif
#ifndef __analysis_noreturn
#define __analysis_noreturn
#endif
#ifndef __bound
#define __bound
#endif
#ifndef __encoded_pointer
#define __encoded_pointer
#endif
#ifndef __encoded_array
#define __encoded_array
#endif
#ifndef __kernel_entry
#define __kernel_entry
#endif
#ifndef __user_code
#define __user_code
#endif
#ifndef __user_driver
#define __user_driver
#endif
#ifndef __deref_opt_out_opt
#define __deref_opt_out_opt
#endif
#ifndef __deref_in_opt
#define __deref_in_opt
#endif
#ifndef __deref_inout_opt
#define __deref_inout_opt
#endif
#ifndef __inout_z_opt
#define __inout_z_opt
#endif
#ifndef _In_reads_
#define _In_reads_(...)
#endif
#ifndef _In_reads_opt_
#define _In_reads_opt_(...)
#endif
#ifndef _In_reads_bytes_
#define _In_reads_bytes_(...)
#endif
#ifndef _In_reads_bytes_opt_
#define _In_reads_bytes_opt_(...)
#endif
#ifndef _In_reads_z_
#define _In_reads_z_(...)
#endif
#ifndef _In_reads_opt_z_
#define _In_reads_opt_z_(...)
#endif
#ifndef _In_reads_or_z_
#define _In_reads_or_z_(...)
#endif
#ifndef _In_reads_or_z_opt_
#define _In_reads_or_z_opt_(...)
#endif
#ifndef _In_reads_to_ptr_
#define _In_reads_to_ptr_(...)
#endif
#ifndef _In_reads_to_ptr_opt_
#define _In_reads_to_ptr_opt_(...)
#endif
#ifndef _In_reads_to_ptr_z_
#define _In_reads_to_ptr_z_(...)
#endif
#ifndef _In_reads_to_ptr_opt_z_
#define _In_reads_to_ptr_opt_z_(...)
#endif
#ifndef _In_NLS_string_
#define _In_NLS_string_(...)
#endif
#ifndef _Out_writes_
#define _Out_writes_(...)
#endif
#ifndef _Out_writes_opt_
#define _Out_writes_opt_(...)
#endif
#ifndef _Out_writes_bytes_
#define _Out_writes_bytes_(...)
#endif
#ifndef _Out_writes_bytes_opt_
#define _Out_writes_bytes_opt_(...)
#endif
#ifndef _Out_writes_z_
#define _Out_writes_z_(...)
#endif
#ifndef _Out_writes_opt_z_
#define _Out_writes_opt_z_(...)
#endif
#ifndef _Out_writes_all_
#define _Out_writes_all_(...)
#endif
#ifndef _Out_writes_all_opt_
#define _Out_writes_all_opt_(...)
#endif
#ifndef _Out_writes_bytes_all_
#define _Out_writes_bytes_all_(...)
#endif
#ifndef _Out_writes_bytes_all_opt_
#define _Out_writes_bytes_all_opt_(...)
#endif
#ifndef _Out_writes_to_ptr_
#define _Out_writes_to_ptr_(...)
#endif
#ifndef _Out_writes_to_ptr_opt_
#define _Out_writes_to_ptr_opt_(...)
#endif
#ifndef _Out_writes_to_ptr_z_
#define _Out_writes_to_ptr_z_(...)
#endif
#ifndef _Out_writes_to_ptr_opt_z_
#define _Out_writes_to_ptr_opt_z_(...)
#endif
#ifndef _Out_writes_to_
#define _Out_writes_to_(...)
#endif
#ifndef _Out_writes_to_opt_
#define _Out_writes_to_opt_(...)
#endif
#ifndef _Out_writes_bytes_to_
#define _Out_writes_bytes_to_(...)
#endif
#ifndef _Out_writes_bytes_to_opt_
#define _Out_writes_bytes_to_opt_(...)
#endif
#ifndef _Inout_updates_
#define _Inout_updates_(...)
#endif
#ifndef _Inout_updates_opt_
#define _Inout_updates_opt_(...)
#endif
#ifndef _Inout_updates_bytes_
#define _Inout_updates_bytes_(...)
#endif
#ifndef _Inout_updates_bytes_opt_
#define _Inout_updates_bytes_opt_(...)
#endif
#ifndef _Inout_updates_z_
#define _Inout_updates_z_(...)
#endif
#ifndef _Inout_updates_opt_z_
#define _Inout_updates_opt_z_(...)
#endif
#ifndef _Inout_updates_all_
#define _Inout_updates_all_(...)
#endif
#ifndef _Inout_updates_all_opt_
#define _Inout_updates_all_opt_(...)
#endif
#ifndef _Inout_updates_bytes_all_
#define _Inout_updates_bytes_all_(...)
#endif
#ifndef _Inout_updates_bytes_all_opt_
#define _Inout_updates_bytes_all_opt_(...)
#endif
#ifndef _Inout_updates_to_
#define _Inout_updates_to_(...)
#endif
#ifndef _Inout_updates_to_opt_
#define _Inout_updates_to_opt_(...)
#endif
#ifndef _Inout_updates_bytes_to_
#define _Inout_updates_bytes_to_(...)
#endif
#ifndef _Inout_updates_bytes_to_opt_
#define _Inout_updates_bytes_to_opt_(...)
#endif
#ifndef _Outptr_result_buffer_
#define _Outptr_result_buffer_(...)
#endif
#ifndef _Outptr_opt_result_buffer_
#define _Outptr_opt_result_buffer_(...)
#endif
#ifndef _Outptr_result_bytebuffer_
#define _Outptr_result_bytebuffer_(...)
#endif
#ifndef _Outptr_opt_result_bytebuffer_
#define _Outptr_opt_result_bytebuffer_(...)
#endif
#ifndef _Outptr_result_buffer_maybenull_
#define _Outptr_result_buffer_maybenull_(...)
#endif
#ifndef _Outptr_result_bytebuffer_maybenull_
#define _Outptr_result_bytebuffer_maybenull_(...)
#endif
#ifndef _Outptr_opt_result_buffer_maybenull_
#define _Outptr_opt_result_buffer_maybenull_(...)
#endif
#ifndef _Outptr_opt_result_bytebuffer_maybenull_
#define _Outptr_opt_result_bytebuffer_maybenull_(...)
#endif
#ifndef _Outptr_result_buffer_to_
#define _Outptr_result_buffer_to_(...)
#endif
#ifndef _Outptr_result_bytebuffer_to_
#define _Outptr_result_bytebuffer_to_(...)
#endif
#ifndef _Outptr_opt_result_buffer_to_
#define _Outptr_opt_result_buffer_to_(...)
#endif
#ifndef _Outptr_opt_result_bytebuffer_to_
#define _Outptr_opt_result_bytebuffer_to_(...)
#endif
#ifndef _Outptr_result_buffer_all_
#define _Outptr_result_buffer_all_(...)
#endif
#ifndef _Outptr_opt_result_buffer_all_
#define _Outptr_opt_result_buffer_all_(...)
#endif
#ifndef _Outptr_result_bytebuffer_all_
#define _Outptr_result_bytebuffer_all_(...)
#endif
#ifndef _Outptr_opt_result_bytebuffer_all_
#define _Outptr_opt_result_bytebuffer_all_(...)
#endif
#ifndef _Outptr_result_buffer_all_maybenull_
#define _Outptr_result_buffer_all_maybenull_(...)
#endif
#ifndef _Outptr_result_bytebuffer_all_maybenull_
#define _Outptr_result_bytebuffer_all_maybenull_(...)
#endif
#ifndef _Outptr_opt_result_buffer_all_maybenull_
#define _Outptr_opt_result_buffer_all_maybenull_(...)
#endif
#ifndef _Outptr_opt_result_bytebuffer_all_maybenull_
#define _Outptr_opt_result_bytebuffer_all_maybenull_(...)
#endif
#ifndef _Deref_out_range_
#define _Deref_out_range_(...)
#endif
#ifndef _Deref_in_range_
#define _Deref_in_range_(...)
#endif
#ifndef _Deref_inout_range_
#define _Deref_inout_range_(...)
#endif
#ifndef _Deref_post_range_
#define _Deref_post_range_(...)
#endif
#ifndef _Deref_pre_range_
#define _Deref_pre_range_(...)
#endif
#ifndef _Deref_ret_range_
#define _Deref_ret_range_(...)
#endif
#ifndef _Deref_post_bytecap_
#define _Deref_post_bytecap_(...)
#endif
#ifndef _Deref_post_cap_
#define _Deref_post_cap_(...)
#endif
#ifndef _Deref_post_bytecount_
#define _Deref_post_bytecount_(...)
#endif
#ifndef _Deref_post_count_
#define _Deref_post_count_(...)
#endif
#ifndef _Deref_pre_bytecap_
#define _Deref_pre_bytecap_(...)
#endif
#ifndef _Deref_pre_cap_
#define _Deref_pre_cap_(...)
#endif
#ifndef _Deref_pre_bytecount_
#define _Deref_pre_bytecount_(...)
#endif
#ifndef _Deref_pre_count_
#define _Deref_pre_count_(...)
#endif
#ifndef _Deref_out_bytecap_
#define _Deref_out_bytecap_(...)
#endif
#ifndef _Deref_out_cap_
#define _Deref_out_cap_(...)
#endif
#ifndef _Deref_out_z_cap_
#define _Deref_out_z_cap_(...)
#endif
#ifndef _Deref_out_z_bytecap_
#define _Deref_out_z_bytecap_(...)
#endif
#ifndef _Deref_inout_z_cap_
#define _Deref_inout_z_cap_(...)
#endif
#ifndef _Deref_inout_z_bytecap_
#define _Deref_inout_z_bytecap_(...)
#endif
#ifndef _Deref_post_z_cap_
#define _Deref_post_z_cap_(...)
#endif
#ifndef _Deref_post_z_bytecap_
#define _Deref_post_z_bytecap_(...)
#endif
#ifndef _Deref_pre_z_cap_
#define _Deref_pre_z_cap_(...)
#endif
#ifndef _Deref_pre_z_bytecap_
#define _Deref_pre_z_bytecap_(...)
#endif
#ifndef _Post_satisfies_
#define _Post_satisfies_(...)
#endif
#ifndef _Pre_satisfies_
#define _Pre_satisfies_(...)
#endif
#ifndef _Satisfies_
#define _Satisfies_(...)
#endif
#ifndef _Field_size_
#define _Field_size_(...)
#endif
#ifndef _Field_size_opt_
#define _Field_size_opt_(...)
#endif
#ifndef _Field_size_bytes_
#define _Field_size_bytes_(...)
#endif
#ifndef _Field_size_bytes_opt_
#define _Field_size_bytes_opt_(...)
#endif
#ifndef _Field_size_full_
#define _Field_size_full_(...)
#endif
#ifndef _Field_size_full_opt_
#define _Field_size_full_opt_(...)
#endif
#ifndef _Field_size_bytes_full_
#define _Field_size_bytes_full_(...)
#endif
#ifndef _Field_size_bytes_full_opt_
#define _Field_size_bytes_full_opt_(...)
#endif
#ifndef _Field_size_part_
#define _Field_size_part_(...)
#endif
#ifndef _Field_size_part_opt_
#define _Field_size_part_opt_(...)
#endif
#ifndef _Field_size_bytes_part_
#define _Field_size_bytes_part_(...)
#endif
#ifndef _Field_size_bytes_part_opt_
#define _Field_size_bytes_part_opt_(...)
#endif
#ifndef _Field_range_
#define _Field_range_(...)
#endif
#ifndef _IRQL_requires_max_
#define _IRQL_requires_max_(...)
#endif
#ifndef _IRQL_requires_min_
#define _IRQL_requires_min_(...)
#endif
#ifndef _IRQL_requires_
#define _IRQL_requires_(...)
#endif
#ifndef _IRQL_raises_
#define _IRQL_raises_(...)
#endif
#ifndef _IRQL_always_function_min_
#define _IRQL_always_function_min_(...)
#endif
#ifndef _IRQL_always_function_max_
#define _IRQL_always_function_max_(...)
#endif
#ifndef _IRQL_limited_to_
#define _IRQL_limited_to_(...)
#endif
#ifndef _IRQL_saves_global_
#define _IRQL_saves_global_(...)
#endif
#ifndef _IRQL_restores_global_
#define _IRQL_restores_global_(...)
#endif
#ifndef _Dispatch_type_
#define _Dispatch_type_(...)
#endif
#ifndef _Function_class_
#define _Function_class_(...)
#endif
#ifndef _Acquires_lock_
#define _Acquires_lock_(...)
#endif
#ifndef _Releases_lock_
#define _Releases_lock_(...)
#endif
#ifndef _Requires_lock_held_
#define _Requires_lock_held_(...)
#endif
#ifndef _Requires_lock_not_held_
#define _Requires_lock_not_held_(...)
#endif
#ifndef _Acquires_exclusive_lock_
#define _Acquires_exclusive_lock_(...)
#endif
#ifndef _Releases_exclusive_lock_
#define _Releases_exclusive_lock_(...)
#endif
#ifndef _Acquires_shared_lock_
#define _Acquires_shared_lock_(...)
#endif
#ifndef _Releases_shared_lock_
#define _Releases_shared_lock_(...)
#endif
#ifndef _Requires_exclusive_lock_held_
#define _Requires_exclusive_lock_held_(...)
#endif
#ifndef _Requires_shared_lock_held_
#define _Requires_shared_lock_held_(...)
#endif
#ifndef _Acquires_nonreentrant_lock_
#define _Acquires_nonreentrant_lock_(...)
#endif
#ifndef _Releases_nonreentrant_lock_
#define _Releases_nonreentrant_lock_(...)
#endif
#ifndef _Post_same_lock_
#define _Post_same_lock_(...)
#endif
#ifndef _Guarded_by_
#define _Guarded_by_(...)
#endif
#ifndef _Write_guarded_by_
#define _Write_guarded_by_(...)
#endif
#ifndef _Interlocked_guarded_by_
#define _Interlocked_guarded_by_(...)
#endif
#ifndef _Has_lock_kind_
#define _Has_lock_kind_(...)
#endif
#ifndef _Has_lock_level_
#define _Has_lock_level_(...)
#endif
#ifndef _Create_lock_level_
#define _Create_lock_level_(...)
#endif
#ifndef _Lock_level_order_
#define _Lock_level_order_(...)
#endif
#ifndef _Function_ignore_lock_checking_
#define _Function_ignore_lock_checking_(...)
#endif
#ifndef _Analysis_assume_lock_released_
#define _Analysis_assume_lock_released_(...)
#endif
#ifndef _Analysis_assume_exclusive_lock_acquired_
#define _Analysis_assume_exclusive_lock_acquired_(...)
#endif
#ifndef _Analysis_mode_
#define _Analysis_mode_(...)
#endif
#ifndef _Analysis_assume_same_lock_
#define _Analysis_assume_same_lock_(...)
#endif
#ifndef _Success_
#define _Success_(...)
#endif
#ifndef _Return_type_success_
#define _Return_type_success_(...)
#endif
#ifndef _Ret_writes_
#define _Ret_writes_(...)
#endif
#ifndef _Ret_writes_bytes_
#define _Ret_writes_bytes_(...)
#endif
#ifndef _Ret_writes_maybenull_
#define _Ret_writes_maybenull_(...)
#endif
#ifndef _Ret_writes_bytes_maybenull_
#define _Ret_writes_bytes_maybenull_(...)
#endif
#ifndef _Ret_writes_z_
#define _Ret_writes_z_(...)
#endif
#ifndef _Ret_writes_maybenull_z_
#define _Ret_writes_maybenull_z_(...)
#endif
#ifndef _Ret_writes_to_
#define _Ret_writes_to_(...)
#endif
#ifndef _Ret_writes_bytes_to_
#define _Ret_writes_bytes_to_(...)
#endif
#ifndef _Ret_writes_to_maybenull_
#define _Ret_writes_to_maybenull_(...)
#endif
#ifndef _Ret_writes_bytes_to_maybenull_
#define _Ret_writes_bytes_to_maybenull_(...)
#endif
#ifndef _Ret_range_
#define _Ret_range_(...)
#endif
#ifndef _Ret_cap_
#define _Ret_cap_(...)
#endif
#ifndef _Ret_bytecap_
#define _Ret_bytecap_(...)
#endif
#ifndef _Ret_count_
#define _Ret_count_(...)
#endif
#ifndef _Ret_bytecount_
#define _Ret_bytecount_(...)
#endif
#ifndef _Ret_opt_cap_
#define _Ret_opt_cap_(...)
#endif
#ifndef _Ret_opt_bytecap_
#define _Ret_opt_bytecap_(...)
#endif
#ifndef _Post_writable_byte_size_
#define _Post_writable_byte_size_(...)
#endif
#ifndef _Post_readable_byte_size_
#define _Post_readable_byte_size_(...)
#endif
#ifndef _Post_writable_size_
#define _Post_writable_size_(...)
#endif
#ifndef _Post_readable_size_
#define _Post_readable_size_(...)
#endif
#ifndef _Pre_writable_size_
#define _Pre_writable_size_(...)
#endif
#ifndef _Pre_readable_size_
#define _Pre_readable_size_(...)
#endif
#ifndef _Pre_writable_byte_size_
#define _Pre_writable_byte_size_(...)
#endif
#ifndef _Pre_readable_byte_size_
#define _Pre_readable_byte_size_(...)
#endif
#ifndef _Post_equal_to_
#define _Post_equal_to_(...)
#endif
#ifndef _Pre_equal_to_
#define _Pre_equal_to_(...)
#endif
#ifndef _Kernel_requires_resource_held_
#define _Kernel_requires_resource_held_(...)
#endif
#ifndef _Kernel_requires_resource_not_held_
#define _Kernel_requires_resource_not_held_(...)
#endif
#ifndef _Kernel_acquires_resource_
#define _Kernel_acquires_resource_(...)
#endif
#ifndef _Kernel_releases_resource_
#define _Kernel_releases_resource_(...)
#endif
#ifndef _Kernel_clear_do_init_
#define _Kernel_clear_do_init_(...)
#endif
#ifndef _Readable_bytes_
#define _Readable_bytes_(...)
#endif
#ifndef _Writable_bytes_
#define _Writable_bytes_(...)
#endif
#ifndef _Readable_elements_
#define _Readable_elements_(...)
#endif
#ifndef _Writable_elements_
#define _Writable_elements_(...)
#endif
#ifndef _Struct_size_bytes_
#define _Struct_size_bytes_(...)
#endif
#ifndef _Param_
#define _Param_(...)
#endif
#ifndef _Old_
#define _Old_(...)
#endif
#ifndef _Inexpressible_
#define _Inexpressible_(...)
#endif
#ifndef _Unchanged_
#define _Unchanged_(...)
#endif
#ifndef _Always_
#define _Always_(...)
#endif
#ifndef _On_failure_
#define _On_failure_(...)
#endif
#ifndef _At_
#define _At_(...)
#endif
#ifndef _At_buffer_
#define _At_buffer_(...)
#endif
#ifndef _When_
#define _When_(...)
#endif
#ifndef _In_range_
#define _In_range_(...)
#endif
#ifndef _Out_range_
#define _Out_range_(...)
#endif
#ifndef _Inout_range_
#define _Inout_range_(...)
#endif
#ifndef _Pre_bytecap_
#define _Pre_bytecap_(...)
#endif
#ifndef _Pre_cap_
#define _Pre_cap_(...)
#endif
#ifndef _Pre_bytecount_
#define _Pre_bytecount_(...)
#endif
#ifndef _Pre_count_
#define _Pre_count_(...)
#endif
#ifndef _Post_bytecap_
#define _Post_bytecap_(...)
#endif
#ifndef _Post_cap_
#define _Post_cap_(...)
#endif
#ifndef _Post_bytecount_
#define _Post_bytecount_(...)
#endif
#ifndef _Post_count_
#define _Post_count_(...)
#endif
#ifndef _Pre_z_cap_
#define _Pre_z_cap_(...)
#endif
#ifndef _Pre_z_bytecap_
#define _Pre_z_bytecap_(...)
#endif
#ifndef _Post_z_cap_
#define _Post_z_cap_(...)
#endif
#ifndef _Post_z_bytecap_
#define _Post_z_bytecap_(...)
#endif
#ifndef _Post_z_count_
#define _Post_z_count_(...)
#endif
#ifndef _Post_z_bytecount_
#define _Post_z_bytecount_(...)
#endif
#ifndef _In_count_
#define _In_count_(...)
#endif
#ifndef _In_bytecount_
#define _In_bytecount_(...)
#endif
#ifndef _In_opt_count_
#define _In_opt_count_(...)
#endif
#ifndef _In_opt_bytecount_
#define _In_opt_bytecount_(...)
#endif
#ifndef _In_z_count_
#define _In_z_count_(...)
#endif
#ifndef _In_z_bytecount_
#define _In_z_bytecount_(...)
#endif
#ifndef _Out_cap_
#define _Out_cap_(...)
#endif
#ifndef _Out_bytecap_
#define _Out_bytecap_(...)
#endif
#ifndef _Out_opt_cap_
#define _Out_opt_cap_(...)
#endif
#ifndef _Out_opt_bytecap_
#define _Out_opt_bytecap_(...)
#endif
#ifndef _Out_z_cap_
#define _Out_z_cap_(...)
#endif
#ifndef _Out_z_bytecap_
#define _Out_z_bytecap_(...)
#endif
#ifndef _Out_cap_post_count_
#define _Out_cap_post_count_(...)
#endif
#ifndef _Out_bytecap_post_bytecount_
#define _Out_bytecap_post_bytecount_(...)
#endif
#ifndef _Out_z_cap_post_count_
#define _Out_z_cap_post_count_(...)
#endif
#ifndef _Inout_cap_
#define _Inout_cap_(...)
#endif
#ifndef _Inout_bytecap_
#define _Inout_bytecap_(...)
#endif
#ifndef _Inout_count_
#define _Inout_count_(...)
#endif
#ifndef _Inout_bytecount_
#define _Inout_bytecount_(...)
#endif
#ifndef _Inout_opt_cap_
#define _Inout_opt_cap_(...)
#endif
#ifndef _Inout_opt_bytecap_
#define _Inout_opt_bytecap_(...)
#endif
#ifndef _Inout_opt_count_
#define _Inout_opt_count_(...)
#endif
#ifndef _Inout_opt_bytecount_
#define _Inout_opt_bytecount_(...)
#endif
#ifndef _Inout_z_cap_
#define _Inout_z_cap_(...)
#endif
#ifndef _Inout_z_bytecap_
#define _Inout_z_bytecap_(...)
#endif
#ifndef _Inout_z_count_
#define _Inout_z_count_(...)
#endif
#ifndef _Inout_z_bytecount_
#define _Inout_z_bytecount_(...)
#endif
#ifndef _Printf_format_string_params_
#define _Printf_format_string_params_(...)
#endif
#ifndef _Scanf_format_string_params_
#define _Scanf_format_string_params_(...)
#endif
#ifndef __drv_allocatesMem
#define __drv_allocatesMem(...)
#endif
#ifndef __drv_freesMem
#define __drv_freesMem(...)
#endif
#ifndef __drv_maxIRQL
#define __drv_maxIRQL(...)
#endif
#ifndef __drv_minIRQL
#define __drv_minIRQL(...)
#endif
#ifndef __drv_setsIRQL
#define __drv_setsIRQL(...)
#endif
#ifndef __drv_raisesIRQL
#define __drv_raisesIRQL(...)
#endif
#ifndef __drv_requiresIRQL
#define __drv_requiresIRQL(...)
#endif
#ifndef __drv_dispatchType
#define __drv_dispatchType(...)
#endif
#ifndef __drv_functionClass
#define __drv_functionClass(...)
#endif
#ifndef __drv_clearDoInit
#define __drv_clearDoInit(...)
#endif
#ifndef __drv_valueIs
#define __drv_valueIs(...)
#endif
#ifndef __drv_strictTypeMatch
#define __drv_strictTypeMatch(...)
#endif
#ifndef __drv_reportError
#define __drv_reportError(...)
#endif
#ifndef __drv_acquiresResource
#define __drv_acquiresResource(...)
#endif
#ifndef __drv_releasesResource
#define __drv_releasesResource(...)
#endif
#ifndef __drv_mustHold
#define __drv_mustHold(...)
#endif
#ifndef __drv_neverHold
#define __drv_neverHold(...)
#endif
#ifndef __drv_innerMustHold
#define __drv_innerMustHold(...)
#endif
#ifndef __drv_innerNeverHold
#define __drv_innerNeverHold(...)
#endif
#ifndef __drv_out
#define __drv_out(...)
#endif
#ifndef __drv_in
#define __drv_in(...)
#endif
#ifndef __drv_deref
#define __drv_deref(...)
#endif
#ifndef __drv_maxFunctionIRQL
#define __drv_maxFunctionIRQL(...)
#endif
#ifndef __drv_minFunctionIRQL
#define __drv_minFunctionIRQL(...)
#endif
#ifndef __drv_acquiresExclusiveResource
#define __drv_acquiresExclusiveResource(...)
#endif
#ifndef __drv_releasesExclusiveResource
#define __drv_releasesExclusiveResource(...)
#endif
#ifndef __drv_out_deref
#define __drv_out_deref(...)
#endif
#ifndef __drv_in_deref
#define __drv_in_deref(...)
#endif
#ifndef __drv_formatString
#define __drv_formatString(...)
#endif
#ifndef __drv_fun
#define __drv_fun(...)
#endif
#ifndef __drv_ret
#define __drv_ret(...)
#endif
#ifndef __drv_unit
#define __drv_unit(...)
#endif
#ifndef __drv_declspec
#define __drv_declspec(...)
#endif
#ifndef __drv_callbackType
#define __drv_callbackType(...)
#endif
#ifndef __drv_completionType
#define __drv_completionType(...)
#endif
#ifndef __drv_when
#define __drv_when(...)
#endif
#ifndef __drv_arg
#define __drv_arg(...)
#endif
#ifndef __drv_strictType
#define __drv_strictType(...)
#endif
#ifndef __drv_preferredFunction
#define __drv_preferredFunction(...)
#endif
#ifndef __drv_savesIRQLGlobal
#define __drv_savesIRQLGlobal(...)
#endif
#ifndef __drv_restoresIRQLGlobal
#define __drv_restoresIRQLGlobal(...)
#endif
#ifndef __drv_at
#define __drv_at(...)
#endif
#ifndef __drv_acquiresResourceGlobal
#define __drv_acquiresResourceGlobal(...)
#endif
#ifndef __drv_releasesResourceGlobal
#define __drv_releasesResourceGlobal(...)
#endif
#ifndef __drv_mustHoldGlobal
#define __drv_mustHoldGlobal(...)
#endif
#ifndef __drv_neverHoldGlobal
#define __drv_neverHoldGlobal(...)
#endif
#ifndef __drv_innerMustHoldGlobal
#define __drv_innerMustHoldGlobal(...)
#endif
#ifndef __drv_innerNeverHoldGlobal
#define __drv_innerNeverHoldGlobal(...)
#endif
#ifndef __drv_acquiresExclusiveResourceGlobal
#define __drv_acquiresExclusiveResourceGlobal(...)
#endif
#ifndef __drv_releasesExclusiveResourceGlobal
#define __drv_releasesExclusiveResourceGlobal(...)
#endif
#ifndef __in_bcount
#define __in_bcount(...)
#endif
#ifndef __out_bcount
#define __out_bcount(...)
#endif
#ifndef __inout_bcount
#define __inout_bcount(...)
#endif
#ifndef __in_ecount
#define __in_ecount(...)
#endif
#ifndef __out_ecount
#define __out_ecount(...)
#endif
#ifndef __inout_ecount
#define __inout_ecount(...)
#endif
#ifndef __in_bcount_opt
#define __in_bcount_opt(...)
#endif
#ifndef __out_bcount_opt
#define __out_bcount_opt(...)
#endif
#ifndef __inout_bcount_opt
#define __inout_bcount_opt(...)
#endif
#ifndef __in_ecount_opt
#define __in_ecount_opt(...)
#endif
#ifndef __out_ecount_opt
#define __out_ecount_opt(...)
#endif
#ifndef __inout_ecount_opt
#define __inout_ecount_opt(...)
#endif
#ifndef __out_bcount_full
#define __out_bcount_full(...)
#endif
#ifndef __out_ecount_full
#define __out_ecount_full(...)
#endif
#ifndef __out_bcount_full_opt
#define __out_bcount_full_opt(...)
#endif
#ifndef __out_ecount_full_opt
#define __out_ecount_full_opt(...)
#endif
#ifndef __in_xcount
#define __in_xcount(...)
#endif
#ifndef __out_xcount
#define __out_xcount(...)
#endif
#ifndef __inout_xcount
#define __inout_xcount(...)
#endif
#ifndef __in_xcount_opt
#define __in_xcount_opt(...)
#endif
#ifndef __out_xcount_opt
#define __out_xcount_opt(...)
#endif
#ifndef __inout_xcount_opt
#define __inout_xcount_opt(...)
#endif
#ifndef __deref_out_bcount
#define __deref_out_bcount(...)
#endif
#ifndef __deref_out_ecount
#define __deref_out_ecount(...)
#endif
#ifndef __deref_out_bcount_opt
#define __deref_out_bcount_opt(...)
#endif
#ifndef __deref_out_ecount_opt
#define __deref_out_ecount_opt(...)
#endif
#ifndef __deref_opt_out_bcount
#define __deref_opt_out_bcount(...)
#endif
#ifndef __deref_opt_out_ecount
#define __deref_opt_out_ecount(...)
#endif
#ifndef __deref_inout_bcount
#define __deref_inout_bcount(...)
#endif
#ifndef __deref_inout_ecount
#define __deref_inout_ecount(...)
#endif
#ifndef __deref_out_xcount
#define __deref_out_xcount(...)
#endif
#ifndef __deref_out_bcount_full
#define __deref_out_bcount_full(...)
#endif
#ifndef __deref_out_ecount_full
#define __deref_out_ecount_full(...)
#endif
#ifndef __deref_in_bcount
#define __deref_in_bcount(...)
#endif
#ifndef __deref_in_ecount
#define __deref_in_ecount(...)
#endif
#ifndef __deref_out_bcount_part
#define __deref_out_bcount_part(...)
#endif
#ifndef __deref_out_ecount_part
#define __deref_out_ecount_part(...)
#endif
#ifndef __deref_opt_out_bcount_part
#define __deref_opt_out_bcount_part(...)
#endif
#ifndef __deref_opt_out_ecount_part
#define __deref_opt_out_ecount_part(...)
#endif
#ifndef __deref_out_xcount_part
#define __deref_out_xcount_part(...)
#endif
#ifndef __success
#define __success(...)
#endif
#ifndef __field_bcount
#define __field_bcount(...)
#endif
#ifndef __field_ecount
#define __field_ecount(...)
#endif
#ifndef __field_bcount_opt
#define __field_bcount_opt(...)
#endif
#ifndef __field_ecount_opt
#define __field_ecount_opt(...)
#endif
#ifndef __field_xcount
#define __field_xcount(...)
#endif
#ifndef __field_bcount_full
#define __field_bcount_full(...)
#endif
#ifndef __field_ecount_full
#define __field_ecount_full(...)
#endif
#ifndef __field_bcount_part
#define __field_bcount_part(...)
#endif
#ifndef __field_ecount_part
#define __field_ecount_part(...)
#endif
#ifndef __field_bcount_part_opt
#define __field_bcount_part_opt(...)
#endif
#ifndef __field_ecount_part_opt
#define __field_ecount_part_opt(...)
#endif
#ifndef __field_range
#define __field_range(...)
#endif
#ifndef __bcount
#define __bcount(...)
#endif
#ifndef __ecount
#define __ecount(...)
#endif
#ifndef __bcount_opt
#define __bcount_opt(...)
#endif
#ifndef __ecount_opt
#define __ecount_opt(...)
#endif
#ifndef __xcount
#define __xcount(...)
#endif
#ifndef __typefix
#define __typefix(...)
#endif
#ifndef __in_range
#define __in_range(...)
#endif
#ifndef __out_range
#define __out_range(...)
#endif
#ifndef __deref_in_range
#define __deref_in_range(...)
#endif
#ifndef __deref_out_range
#define __deref_out_range(...)
#endif
#ifndef __deref_inout_range
#define __deref_inout_range(...)
#endif
#ifndef __range
#define __range(...)
#endif
#ifndef __bcount_part
#define __bcount_part(...)
#endif
#ifndef __ecount_part
#define __ecount_part(...)
#endif
#ifndef __in_bcount_z
#define __in_bcount_z(...)
#endif
#ifndef __in_ecount_z
#define __in_ecount_z(...)
#endif
#ifndef __out_bcount_z
#define __out_bcount_z(...)
#endif
#ifndef __out_ecount_z
#define __out_ecount_z(...)
#endif
#ifndef __inout_bcount_z
#define __inout_bcount_z(...)
#endif
#ifndef __inout_ecount_z
#define __inout_ecount_z(...)
#endif
#ifndef __in_bcount_nz
#define __in_bcount_nz(...)
#endif
#ifndef __in_ecount_nz
#define __in_ecount_nz(...)
#endif
#ifndef __out_bcount_nz
#define __out_bcount_nz(...)
#endif
#ifndef __out_ecount_nz
#define __out_ecount_nz(...)
#endif
#ifndef __inout_bcount_nz
#define __inout_bcount_nz(...)
#endif
#ifndef __inout_ecount_nz
#define __inout_ecount_nz(...)
#endif
#ifndef __in_bcount_z_opt
#define __in_bcount_z_opt(...)
#endif
#ifndef __in_ecount_z_opt
#define __in_ecount_z_opt(...)
#endif
#ifndef __out_bcount_z_opt
#define __out_bcount_z_opt(...)
#endif
#ifndef __out_ecount_z_opt
#define __out_ecount_z_opt(...)
#endif
#ifndef __out_bcount_part
#define __out_bcount_part(...)
#endif
#ifndef __out_ecount_part
#define __out_ecount_part(...)
#endif
#ifndef __inout_bcount_part
#define __inout_bcount_part(...)
#endif
#ifndef __inout_ecount_part
#define __inout_ecount_part(...)
#endif
#ifndef __out_bcount_part_opt
#define __out_bcount_part_opt(...)
#endif
#ifndef __out_ecount_part_opt
#define __out_ecount_part_opt(...)
#endif
#ifndef __inout_bcount_part_opt
#define __inout_bcount_part_opt(...)
#endif
#ifndef __inout_ecount_part_opt
#define __inout_ecount_part_opt(...)
#endif
#ifndef __out_xcount_part
#define __out_xcount_part(...)
#endif
#ifndef __inout_xcount_part
#define __inout_xcount_part(...)
#endif
#ifndef __inout_bcount_full
#define __inout_bcount_full(...)
#endif
#ifndef __inout_ecount_full
#define __inout_ecount_full(...)
#endif
#ifndef __elem_readableTo
#define __elem_readableTo(...)
#endif
#ifndef __elem_writableTo
#define __elem_writableTo(...)
#endif
#ifndef __byte_readableTo
#define __byte_readableTo(...)
#endif
#ifndef __byte_writableTo
#define __byte_writableTo(...)
#endif
#ifndef __data_entrypoint
#define __data_entrypoint(...)
#endif
#ifndef __control_entrypoint
#define __control_entrypoint(...)
#endif
#ifndef __transfer
#define __transfer(...)
#endif
#ifndef __assume_validated
#define __assume_validated(...)
#endif
#ifndef __out_validated
#define __out_validated(...)
#endif
#ifndef __file_parser
#define __file_parser(...)
#endif
#ifndef __file_parser_class
#define __file_parser_class(...)
#endif
#ifndef __file_parser_library
#define __file_parser_library(...)
#endif
#ifndef __source_code_content
#define __source_code_content(...)
#endif
#ifndef __class_code_content
#define __class_code_content(...)
#endif
#ifndef __blocksOn
#define __blocksOn(...)
#endif
#ifndef __in_awcount
#define __in_awcount(...)
#endif
#ifndef __out_awcount
#define __out_awcount(...)
#endif
#ifndef _Analysis_assume_
#define _Analysis_assume_(...) ((void)0)
#endif
#ifndef _Analysis_assume_lock_acquired_
#define _Analysis_assume_lock_acquired_(...) ((void)0)
#endif
#ifndef _Analysis_assume_lock_held_
#define _Analysis_assume_lock_held_(...) ((void)0)
#endif
#ifndef _Analysis_assume_lock_not_held_
#define _Analysis_assume_lock_not_held_(...) ((void)0)
#endif
#ifndef _Analysis_assume_shared_lock_acquired_
#define _Analysis_assume_shared_lock_acquired_(...) ((void)0)
#endif
#ifndef _Analysis_assume_nullterminated_
#define _Analysis_assume_nullterminated_(...) ((void)0)
#endif
#ifndef _Analysis_suppress_lock_checking_
#define _Analysis_suppress_lock_checking_(...) ((void)0)
#endif
#ifndef __analysis_assume_nullterminated
#define __analysis_assume_nullterminated(...) ((void)0)
#endif
#ifndef __fallthrough
#define __fallthrough __attribute__((__fallthrough__))
#endif

/* ==========================================================================================
 * 4. NTSTATUS values (severity in bits 31-30: 0 success, 1 informational, 2 warning,
 *    3 error)
 * ======================================================================================== */

#define NT_SUCCESS(Status)     (((NTSTATUS)(Status)) >= 0)
#define NT_INFORMATION(Status) ((((ULONG)(Status)) >> 30) == 1)
#define NT_WARNING(Status)     ((((ULONG)(Status)) >> 30) == 2)
#define NT_ERROR(Status)       ((((ULONG)(Status)) >> 30) == 3)

/* Success. */
#define STATUS_SUCCESS                          ((NTSTATUS)0x00000000L)
#define STATUS_WAIT_0                           ((NTSTATUS)0x00000000L)
#define STATUS_WAIT_1                           ((NTSTATUS)0x00000001L)
#define STATUS_WAIT_2                           ((NTSTATUS)0x00000002L)
#define STATUS_WAIT_3                           ((NTSTATUS)0x00000003L)
#define STATUS_WAIT_63                          ((NTSTATUS)0x0000003FL)
#define STATUS_ABANDONED                        ((NTSTATUS)0x00000080L)
#define STATUS_ABANDONED_WAIT_0                 ((NTSTATUS)0x00000080L)
#define STATUS_ABANDONED_WAIT_63                ((NTSTATUS)0x000000BFL)
#define STATUS_USER_APC                         ((NTSTATUS)0x000000C0L)
#define STATUS_ALREADY_COMPLETE                 ((NTSTATUS)0x000000FFL)
#define STATUS_KERNEL_APC                       ((NTSTATUS)0x00000100L)
#define STATUS_ALERTED                          ((NTSTATUS)0x00000101L)
#define STATUS_TIMEOUT                          ((NTSTATUS)0x00000102L)
#define STATUS_PENDING                          ((NTSTATUS)0x00000103L)
#define STATUS_REPARSE                          ((NTSTATUS)0x00000104L)
#define STATUS_MORE_ENTRIES                     ((NTSTATUS)0x00000105L)
#define STATUS_NOT_ALL_ASSIGNED                 ((NTSTATUS)0x00000106L)
#define STATUS_SOME_NOT_MAPPED                  ((NTSTATUS)0x00000107L)
#define STATUS_OPLOCK_BREAK_IN_PROGRESS         ((NTSTATUS)0x00000108L)
#define STATUS_VOLUME_MOUNTED                   ((NTSTATUS)0x00000109L)
#define STATUS_RXACT_COMMITTED                  ((NTSTATUS)0x0000010AL)
#define STATUS_NOTIFY_CLEANUP                   ((NTSTATUS)0x0000010BL)
#define STATUS_NOTIFY_ENUM_DIR                  ((NTSTATUS)0x0000010CL)
#define STATUS_NO_QUOTAS_FOR_ACCOUNT            ((NTSTATUS)0x0000010DL)
#define STATUS_PRIMARY_TRANSPORT_CONNECT_FAILED ((NTSTATUS)0x0000010EL)
#define STATUS_PAGE_FAULT_TRANSITION            ((NTSTATUS)0x00000110L)
#define STATUS_PAGE_FAULT_DEMAND_ZERO           ((NTSTATUS)0x00000111L)
#define STATUS_PAGE_FAULT_COPY_ON_WRITE         ((NTSTATUS)0x00000112L)
#define STATUS_PAGE_FAULT_GUARD_PAGE            ((NTSTATUS)0x00000113L)
#define STATUS_PAGE_FAULT_PAGING_FILE           ((NTSTATUS)0x00000114L)
#define STATUS_CACHE_PAGE_LOCKED                ((NTSTATUS)0x00000115L)
#define STATUS_CRASH_DUMP                       ((NTSTATUS)0x00000116L)
#define STATUS_BUFFER_ALL_ZEROS                 ((NTSTATUS)0x00000117L)
#define STATUS_REPARSE_OBJECT                   ((NTSTATUS)0x00000118L)
#define STATUS_RESOURCE_REQUIREMENTS_CHANGED    ((NTSTATUS)0x00000119L)
#define STATUS_TRANSLATION_COMPLETE             ((NTSTATUS)0x00000120L)
#define STATUS_DS_MEMBERSHIP_EVALUATED_LOCALLY  ((NTSTATUS)0x00000121L)
#define STATUS_NOTHING_TO_TERMINATE             ((NTSTATUS)0x00000122L)
#define STATUS_PROCESS_NOT_IN_JOB               ((NTSTATUS)0x00000123L)
#define STATUS_PROCESS_IN_JOB                   ((NTSTATUS)0x00000124L)
#define STATUS_VOLSNAP_HIBERNATE_READY          ((NTSTATUS)0x00000125L)
#define STATUS_FSFILTER_OP_COMPLETED_SUCCESSFULLY ((NTSTATUS)0x00000126L)
#define STATUS_INTERRUPT_VECTOR_ALREADY_CONNECTED ((NTSTATUS)0x00000127L)
#define STATUS_INTERRUPT_STILL_CONNECTED        ((NTSTATUS)0x00000128L)
#define STATUS_PROCESS_CLONED                   ((NTSTATUS)0x00000129L)
#define STATUS_FILE_LOCKED_WITH_ONLY_READERS    ((NTSTATUS)0x0000012AL)
#define STATUS_FILE_LOCKED_WITH_WRITERS         ((NTSTATUS)0x0000012BL)
#define STATUS_RESOURCEMANAGER_READ_ONLY        ((NTSTATUS)0x00000202L)
#define STATUS_WAIT_FOR_OPLOCK                  ((NTSTATUS)0x00000367L)
/* A completion routine's "go on with the completion" result (IoCompletion routines). */
#define STATUS_CONTINUE_COMPLETION              STATUS_SUCCESS

#define DBG_EXCEPTION_HANDLED                   ((NTSTATUS)0x00010001L)
#define DBG_CONTINUE                            ((NTSTATUS)0x00010002L)

/* Informational. */
#define STATUS_OBJECT_NAME_EXISTS               ((NTSTATUS)0x40000000L)
#define STATUS_THREAD_WAS_SUSPENDED             ((NTSTATUS)0x40000001L)
#define STATUS_WORKING_SET_LIMIT_RANGE          ((NTSTATUS)0x40000002L)
#define STATUS_IMAGE_NOT_AT_BASE                ((NTSTATUS)0x40000003L)
#define STATUS_RXACT_STATE_CREATED              ((NTSTATUS)0x40000004L)
#define STATUS_SEGMENT_NOTIFICATION             ((NTSTATUS)0x40000005L)
#define STATUS_LOCAL_USER_SESSION_KEY           ((NTSTATUS)0x40000006L)
#define STATUS_BAD_CURRENT_DIRECTORY            ((NTSTATUS)0x40000007L)
#define STATUS_SERIAL_MORE_WRITES               ((NTSTATUS)0x40000008L)
#define STATUS_REGISTRY_RECOVERED               ((NTSTATUS)0x40000009L)
#define STATUS_FT_READ_RECOVERY_FROM_BACKUP     ((NTSTATUS)0x4000000AL)
#define STATUS_FT_WRITE_RECOVERY                ((NTSTATUS)0x4000000BL)
#define STATUS_SERIAL_COUNTER_TIMEOUT           ((NTSTATUS)0x4000000CL)
#define STATUS_NULL_LM_PASSWORD                 ((NTSTATUS)0x4000000DL)
#define STATUS_IMAGE_MACHINE_TYPE_MISMATCH      ((NTSTATUS)0x4000000EL)
#define STATUS_RECEIVE_PARTIAL                  ((NTSTATUS)0x4000000FL)
#define STATUS_RECEIVE_EXPEDITED                ((NTSTATUS)0x40000010L)
#define STATUS_RECEIVE_PARTIAL_EXPEDITED        ((NTSTATUS)0x40000011L)
#define STATUS_EVENT_DONE                       ((NTSTATUS)0x40000012L)
#define STATUS_EVENT_PENDING                    ((NTSTATUS)0x40000013L)
#define STATUS_CHECKING_FILE_SYSTEM             ((NTSTATUS)0x40000014L)
#define STATUS_FATAL_APP_EXIT                   ((NTSTATUS)0x40000015L)
#define STATUS_PREDEFINED_HANDLE                ((NTSTATUS)0x40000016L)
#define STATUS_WAS_UNLOCKED                     ((NTSTATUS)0x40000017L)
#define STATUS_SERVICE_NOTIFICATION             ((NTSTATUS)0x40000018L)
#define STATUS_WAS_LOCKED                       ((NTSTATUS)0x40000019L)
#define STATUS_LOG_HARD_ERROR                   ((NTSTATUS)0x4000001AL)
#define STATUS_ALREADY_WIN32                    ((NTSTATUS)0x4000001BL)

/* Warnings. */
#define STATUS_GUARD_PAGE_VIOLATION             ((NTSTATUS)0x80000001L)
#define STATUS_DATATYPE_MISALIGNMENT            ((NTSTATUS)0x80000002L)
#define STATUS_BREAKPOINT                       ((NTSTATUS)0x80000003L)
#define STATUS_SINGLE_STEP                      ((NTSTATUS)0x80000004L)
#define STATUS_BUFFER_OVERFLOW                  ((NTSTATUS)0x80000005L)
#define STATUS_NO_MORE_FILES                    ((NTSTATUS)0x80000006L)
#define STATUS_WAKE_SYSTEM_DEBUGGER             ((NTSTATUS)0x80000007L)
#define STATUS_HANDLES_CLOSED                   ((NTSTATUS)0x8000000AL)
#define STATUS_NO_INHERITANCE                   ((NTSTATUS)0x8000000BL)
#define STATUS_GUID_SUBSTITUTION_MADE           ((NTSTATUS)0x8000000CL)
#define STATUS_PARTIAL_COPY                     ((NTSTATUS)0x8000000DL)
#define STATUS_DEVICE_PAPER_EMPTY               ((NTSTATUS)0x8000000EL)
#define STATUS_DEVICE_POWERED_OFF               ((NTSTATUS)0x8000000FL)
#define STATUS_DEVICE_OFF_LINE                  ((NTSTATUS)0x80000010L)
#define STATUS_DEVICE_BUSY                      ((NTSTATUS)0x80000011L)
#define STATUS_NO_MORE_EAS                      ((NTSTATUS)0x80000012L)
#define STATUS_INVALID_EA_NAME                  ((NTSTATUS)0x80000013L)
#define STATUS_EA_LIST_INCONSISTENT             ((NTSTATUS)0x80000014L)
#define STATUS_INVALID_EA_FLAG                  ((NTSTATUS)0x80000015L)
#define STATUS_VERIFY_REQUIRED                  ((NTSTATUS)0x80000016L)
#define STATUS_EXTRANEOUS_INFORMATION           ((NTSTATUS)0x80000017L)
#define STATUS_RXACT_COMMIT_NECESSARY           ((NTSTATUS)0x80000018L)
#define STATUS_NO_MORE_ENTRIES                  ((NTSTATUS)0x8000001AL)
#define STATUS_FILEMARK_DETECTED                ((NTSTATUS)0x8000001BL)
#define STATUS_MEDIA_CHANGED                    ((NTSTATUS)0x8000001CL)
#define STATUS_BUS_RESET                        ((NTSTATUS)0x8000001DL)
#define STATUS_END_OF_MEDIA                     ((NTSTATUS)0x8000001EL)
#define STATUS_BEGINNING_OF_MEDIA               ((NTSTATUS)0x8000001FL)
#define STATUS_MEDIA_CHECK                      ((NTSTATUS)0x80000020L)
#define STATUS_SETMARK_DETECTED                 ((NTSTATUS)0x80000021L)
#define STATUS_NO_DATA_DETECTED                 ((NTSTATUS)0x80000022L)
#define STATUS_REDIRECTOR_HAS_OPEN_HANDLES      ((NTSTATUS)0x80000023L)
#define STATUS_SERVER_HAS_OPEN_HANDLES          ((NTSTATUS)0x80000024L)
#define STATUS_ALREADY_DISCONNECTED             ((NTSTATUS)0x80000025L)
#define STATUS_LONGJUMP                         ((NTSTATUS)0x80000026L)
#define STATUS_CLEANER_CARTRIDGE_INSTALLED      ((NTSTATUS)0x80000027L)
#define STATUS_PLUGPLAY_QUERY_VETOED            ((NTSTATUS)0x80000028L)
#define STATUS_UNWIND_CONSOLIDATE               ((NTSTATUS)0x80000029L)
#define STATUS_REGISTRY_HIVE_RECOVERED          ((NTSTATUS)0x8000002AL)
#define STATUS_DLL_MIGHT_BE_INSECURE            ((NTSTATUS)0x8000002BL)
#define STATUS_DLL_MIGHT_BE_INCOMPATIBLE        ((NTSTATUS)0x8000002CL)
#define STATUS_STOPPED_ON_SYMLINK               ((NTSTATUS)0x8000002DL)
#define STATUS_DEVICE_REQUIRES_CLEANING         ((NTSTATUS)0x80000288L)
#define STATUS_DEVICE_DOOR_OPEN                 ((NTSTATUS)0x80000289L)
#define DBG_EXCEPTION_NOT_HANDLED               ((NTSTATUS)0x80010001L)

/* Errors. */
#define STATUS_UNSUCCESSFUL                     ((NTSTATUS)0xC0000001L)
#define STATUS_NOT_IMPLEMENTED                  ((NTSTATUS)0xC0000002L)
#define STATUS_INVALID_INFO_CLASS               ((NTSTATUS)0xC0000003L)
#define STATUS_INFO_LENGTH_MISMATCH             ((NTSTATUS)0xC0000004L)
#define STATUS_ACCESS_VIOLATION                 ((NTSTATUS)0xC0000005L)
#define STATUS_IN_PAGE_ERROR                    ((NTSTATUS)0xC0000006L)
#define STATUS_PAGEFILE_QUOTA                   ((NTSTATUS)0xC0000007L)
#define STATUS_INVALID_HANDLE                   ((NTSTATUS)0xC0000008L)
#define STATUS_BAD_INITIAL_STACK                ((NTSTATUS)0xC0000009L)
#define STATUS_BAD_INITIAL_PC                   ((NTSTATUS)0xC000000AL)
#define STATUS_INVALID_CID                      ((NTSTATUS)0xC000000BL)
#define STATUS_TIMER_NOT_CANCELED               ((NTSTATUS)0xC000000CL)
#define STATUS_INVALID_PARAMETER                ((NTSTATUS)0xC000000DL)
#define STATUS_NO_SUCH_DEVICE                   ((NTSTATUS)0xC000000EL)
#define STATUS_NO_SUCH_FILE                     ((NTSTATUS)0xC000000FL)
#define STATUS_INVALID_DEVICE_REQUEST           ((NTSTATUS)0xC0000010L)
#define STATUS_END_OF_FILE                      ((NTSTATUS)0xC0000011L)
#define STATUS_WRONG_VOLUME                     ((NTSTATUS)0xC0000012L)
#define STATUS_NO_MEDIA_IN_DEVICE               ((NTSTATUS)0xC0000013L)
#define STATUS_UNRECOGNIZED_MEDIA               ((NTSTATUS)0xC0000014L)
#define STATUS_NONEXISTENT_SECTOR               ((NTSTATUS)0xC0000015L)
#define STATUS_MORE_PROCESSING_REQUIRED         ((NTSTATUS)0xC0000016L)
#define STATUS_NO_MEMORY                        ((NTSTATUS)0xC0000017L)
#define STATUS_CONFLICTING_ADDRESSES            ((NTSTATUS)0xC0000018L)
#define STATUS_NOT_MAPPED_VIEW                  ((NTSTATUS)0xC0000019L)
#define STATUS_UNABLE_TO_FREE_VM                ((NTSTATUS)0xC000001AL)
#define STATUS_UNABLE_TO_DELETE_SECTION         ((NTSTATUS)0xC000001BL)
#define STATUS_INVALID_SYSTEM_SERVICE           ((NTSTATUS)0xC000001CL)
#define STATUS_ILLEGAL_INSTRUCTION              ((NTSTATUS)0xC000001DL)
#define STATUS_INVALID_LOCK_SEQUENCE            ((NTSTATUS)0xC000001EL)
#define STATUS_INVALID_VIEW_SIZE                ((NTSTATUS)0xC000001FL)
#define STATUS_INVALID_FILE_FOR_SECTION         ((NTSTATUS)0xC0000020L)
#define STATUS_ALREADY_COMMITTED                ((NTSTATUS)0xC0000021L)
#define STATUS_ACCESS_DENIED                    ((NTSTATUS)0xC0000022L)
#define STATUS_BUFFER_TOO_SMALL                 ((NTSTATUS)0xC0000023L)
#define STATUS_OBJECT_TYPE_MISMATCH             ((NTSTATUS)0xC0000024L)
#define STATUS_NONCONTINUABLE_EXCEPTION         ((NTSTATUS)0xC0000025L)
#define STATUS_INVALID_DISPOSITION              ((NTSTATUS)0xC0000026L)
#define STATUS_UNWIND                           ((NTSTATUS)0xC0000027L)
#define STATUS_BAD_STACK                        ((NTSTATUS)0xC0000028L)
#define STATUS_INVALID_UNWIND_TARGET            ((NTSTATUS)0xC0000029L)
#define STATUS_NOT_LOCKED                       ((NTSTATUS)0xC000002AL)
#define STATUS_PARITY_ERROR                     ((NTSTATUS)0xC000002BL)
#define STATUS_UNABLE_TO_DECOMMIT_VM            ((NTSTATUS)0xC000002CL)
#define STATUS_NOT_COMMITTED                    ((NTSTATUS)0xC000002DL)
#define STATUS_INVALID_PORT_ATTRIBUTES          ((NTSTATUS)0xC000002EL)
#define STATUS_PORT_MESSAGE_TOO_LONG            ((NTSTATUS)0xC000002FL)
#define STATUS_INVALID_PARAMETER_MIX            ((NTSTATUS)0xC0000030L)
#define STATUS_INVALID_QUOTA_LOWER              ((NTSTATUS)0xC0000031L)
#define STATUS_DISK_CORRUPT_ERROR               ((NTSTATUS)0xC0000032L)
#define STATUS_OBJECT_NAME_INVALID              ((NTSTATUS)0xC0000033L)
#define STATUS_OBJECT_NAME_NOT_FOUND            ((NTSTATUS)0xC0000034L)
#define STATUS_OBJECT_NAME_COLLISION            ((NTSTATUS)0xC0000035L)
#define STATUS_PORT_DISCONNECTED                ((NTSTATUS)0xC0000037L)
#define STATUS_DEVICE_ALREADY_ATTACHED          ((NTSTATUS)0xC0000038L)
#define STATUS_OBJECT_PATH_INVALID              ((NTSTATUS)0xC0000039L)
#define STATUS_OBJECT_PATH_NOT_FOUND            ((NTSTATUS)0xC000003AL)
#define STATUS_OBJECT_PATH_SYNTAX_BAD           ((NTSTATUS)0xC000003BL)
#define STATUS_DATA_OVERRUN                     ((NTSTATUS)0xC000003CL)
#define STATUS_DATA_LATE_ERROR                  ((NTSTATUS)0xC000003DL)
#define STATUS_DATA_ERROR                       ((NTSTATUS)0xC000003EL)
#define STATUS_CRC_ERROR                        ((NTSTATUS)0xC000003FL)
#define STATUS_SECTION_TOO_BIG                  ((NTSTATUS)0xC0000040L)
#define STATUS_PORT_CONNECTION_REFUSED          ((NTSTATUS)0xC0000041L)
#define STATUS_INVALID_PORT_HANDLE              ((NTSTATUS)0xC0000042L)
#define STATUS_SHARING_VIOLATION                ((NTSTATUS)0xC0000043L)
#define STATUS_QUOTA_EXCEEDED                   ((NTSTATUS)0xC0000044L)
#define STATUS_INVALID_PAGE_PROTECTION          ((NTSTATUS)0xC0000045L)
#define STATUS_MUTANT_NOT_OWNED                 ((NTSTATUS)0xC0000046L)
#define STATUS_SEMAPHORE_LIMIT_EXCEEDED         ((NTSTATUS)0xC0000047L)
#define STATUS_PORT_ALREADY_SET                 ((NTSTATUS)0xC0000048L)
#define STATUS_SECTION_NOT_IMAGE                ((NTSTATUS)0xC0000049L)
#define STATUS_SUSPEND_COUNT_EXCEEDED           ((NTSTATUS)0xC000004AL)
#define STATUS_THREAD_IS_TERMINATING            ((NTSTATUS)0xC000004BL)
#define STATUS_BAD_WORKING_SET_LIMIT            ((NTSTATUS)0xC000004CL)
#define STATUS_INCOMPATIBLE_FILE_MAP            ((NTSTATUS)0xC000004DL)
#define STATUS_SECTION_PROTECTION               ((NTSTATUS)0xC000004EL)
#define STATUS_EAS_NOT_SUPPORTED                ((NTSTATUS)0xC000004FL)
#define STATUS_EA_TOO_LARGE                     ((NTSTATUS)0xC0000050L)
#define STATUS_NONEXISTENT_EA_ENTRY             ((NTSTATUS)0xC0000051L)
#define STATUS_NO_EAS_ON_FILE                   ((NTSTATUS)0xC0000052L)
#define STATUS_EA_CORRUPT_ERROR                 ((NTSTATUS)0xC0000053L)
#define STATUS_FILE_LOCK_CONFLICT               ((NTSTATUS)0xC0000054L)
#define STATUS_LOCK_NOT_GRANTED                 ((NTSTATUS)0xC0000055L)
#define STATUS_DELETE_PENDING                   ((NTSTATUS)0xC0000056L)
#define STATUS_CTL_FILE_NOT_SUPPORTED           ((NTSTATUS)0xC0000057L)
#define STATUS_UNKNOWN_REVISION                 ((NTSTATUS)0xC0000058L)
#define STATUS_REVISION_MISMATCH                ((NTSTATUS)0xC0000059L)
#define STATUS_INVALID_OWNER                    ((NTSTATUS)0xC000005AL)
#define STATUS_INVALID_PRIMARY_GROUP            ((NTSTATUS)0xC000005BL)
#define STATUS_NO_IMPERSONATION_TOKEN           ((NTSTATUS)0xC000005CL)
#define STATUS_CANT_DISABLE_MANDATORY           ((NTSTATUS)0xC000005DL)
#define STATUS_NO_LOGON_SERVERS                 ((NTSTATUS)0xC000005EL)
#define STATUS_NO_SUCH_LOGON_SESSION            ((NTSTATUS)0xC000005FL)
#define STATUS_NO_SUCH_PRIVILEGE                ((NTSTATUS)0xC0000060L)
#define STATUS_PRIVILEGE_NOT_HELD               ((NTSTATUS)0xC0000061L)
#define STATUS_NO_SUCH_USER                     ((NTSTATUS)0xC0000064L)
#define STATUS_WRONG_PASSWORD                   ((NTSTATUS)0xC000006AL)
#define STATUS_LOGON_FAILURE                    ((NTSTATUS)0xC000006DL)
#define STATUS_NONE_MAPPED                      ((NTSTATUS)0xC0000073L)
#define STATUS_INVALID_ACL                      ((NTSTATUS)0xC0000077L)
#define STATUS_INVALID_SID                      ((NTSTATUS)0xC0000078L)
#define STATUS_INVALID_SECURITY_DESCR           ((NTSTATUS)0xC0000079L)
#define STATUS_PROCEDURE_NOT_FOUND              ((NTSTATUS)0xC000007AL)
#define STATUS_INVALID_IMAGE_FORMAT             ((NTSTATUS)0xC000007BL)
#define STATUS_NO_TOKEN                         ((NTSTATUS)0xC000007CL)
#define STATUS_RANGE_NOT_LOCKED                 ((NTSTATUS)0xC000007EL)
#define STATUS_DISK_FULL                        ((NTSTATUS)0xC000007FL)
#define STATUS_ARRAY_BOUNDS_EXCEEDED            ((NTSTATUS)0xC000008CL)
#define STATUS_FLOAT_DENORMAL_OPERAND           ((NTSTATUS)0xC000008DL)
#define STATUS_FLOAT_DIVIDE_BY_ZERO             ((NTSTATUS)0xC000008EL)
#define STATUS_FLOAT_INEXACT_RESULT             ((NTSTATUS)0xC000008FL)
#define STATUS_FLOAT_INVALID_OPERATION          ((NTSTATUS)0xC0000090L)
#define STATUS_FLOAT_OVERFLOW                   ((NTSTATUS)0xC0000091L)
#define STATUS_FLOAT_STACK_CHECK                ((NTSTATUS)0xC0000092L)
#define STATUS_FLOAT_UNDERFLOW                  ((NTSTATUS)0xC0000093L)
#define STATUS_INTEGER_DIVIDE_BY_ZERO           ((NTSTATUS)0xC0000094L)
#define STATUS_INTEGER_OVERFLOW                 ((NTSTATUS)0xC0000095L)
#define STATUS_PRIVILEGED_INSTRUCTION           ((NTSTATUS)0xC0000096L)
#define STATUS_TOO_MANY_PAGING_FILES            ((NTSTATUS)0xC0000097L)
#define STATUS_FILE_INVALID                     ((NTSTATUS)0xC0000098L)
#define STATUS_ALLOTTED_SPACE_EXCEEDED          ((NTSTATUS)0xC0000099L)
#define STATUS_INSUFFICIENT_RESOURCES           ((NTSTATUS)0xC000009AL)
#define STATUS_DFS_EXIT_PATH_FOUND              ((NTSTATUS)0xC000009BL)
#define STATUS_DEVICE_DATA_ERROR                ((NTSTATUS)0xC000009CL)
#define STATUS_DEVICE_NOT_CONNECTED             ((NTSTATUS)0xC000009DL)
#define STATUS_DEVICE_POWER_FAILURE             ((NTSTATUS)0xC000009EL)
#define STATUS_FREE_VM_NOT_AT_BASE              ((NTSTATUS)0xC000009FL)
#define STATUS_MEMORY_NOT_ALLOCATED             ((NTSTATUS)0xC00000A0L)
#define STATUS_WORKING_SET_QUOTA                ((NTSTATUS)0xC00000A1L)
#define STATUS_MEDIA_WRITE_PROTECTED            ((NTSTATUS)0xC00000A2L)
#define STATUS_DEVICE_NOT_READY                 ((NTSTATUS)0xC00000A3L)
#define STATUS_INVALID_GROUP_ATTRIBUTES         ((NTSTATUS)0xC00000A4L)
#define STATUS_BAD_IMPERSONATION_LEVEL          ((NTSTATUS)0xC00000A5L)
#define STATUS_CANT_OPEN_ANONYMOUS              ((NTSTATUS)0xC00000A6L)
#define STATUS_BAD_VALIDATION_CLASS             ((NTSTATUS)0xC00000A7L)
#define STATUS_BAD_TOKEN_TYPE                   ((NTSTATUS)0xC00000A8L)
#define STATUS_BAD_MASTER_BOOT_RECORD           ((NTSTATUS)0xC00000A9L)
#define STATUS_INSTRUCTION_MISALIGNMENT         ((NTSTATUS)0xC00000AAL)
#define STATUS_INSTANCE_NOT_AVAILABLE           ((NTSTATUS)0xC00000ABL)
#define STATUS_PIPE_NOT_AVAILABLE               ((NTSTATUS)0xC00000ACL)
#define STATUS_INVALID_PIPE_STATE               ((NTSTATUS)0xC00000ADL)
#define STATUS_PIPE_BUSY                        ((NTSTATUS)0xC00000AEL)
#define STATUS_ILLEGAL_FUNCTION                 ((NTSTATUS)0xC00000AFL)
#define STATUS_PIPE_DISCONNECTED                ((NTSTATUS)0xC00000B0L)
#define STATUS_PIPE_CLOSING                     ((NTSTATUS)0xC00000B1L)
#define STATUS_PIPE_CONNECTED                   ((NTSTATUS)0xC00000B2L)
#define STATUS_PIPE_LISTENING                   ((NTSTATUS)0xC00000B3L)
#define STATUS_INVALID_READ_MODE                ((NTSTATUS)0xC00000B4L)
#define STATUS_IO_TIMEOUT                       ((NTSTATUS)0xC00000B5L)
#define STATUS_FILE_FORCED_CLOSED               ((NTSTATUS)0xC00000B6L)
#define STATUS_PROFILING_NOT_STARTED            ((NTSTATUS)0xC00000B7L)
#define STATUS_PROFILING_NOT_STOPPED            ((NTSTATUS)0xC00000B8L)
#define STATUS_COULD_NOT_INTERPRET              ((NTSTATUS)0xC00000B9L)
#define STATUS_FILE_IS_A_DIRECTORY              ((NTSTATUS)0xC00000BAL)
#define STATUS_NOT_SUPPORTED                    ((NTSTATUS)0xC00000BBL)
#define STATUS_REMOTE_NOT_LISTENING             ((NTSTATUS)0xC00000BCL)
#define STATUS_DUPLICATE_NAME                   ((NTSTATUS)0xC00000BDL)
#define STATUS_BAD_NETWORK_PATH                 ((NTSTATUS)0xC00000BEL)
#define STATUS_NETWORK_BUSY                     ((NTSTATUS)0xC00000BFL)
#define STATUS_DEVICE_DOES_NOT_EXIST            ((NTSTATUS)0xC00000C0L)
#define STATUS_TOO_MANY_COMMANDS                ((NTSTATUS)0xC00000C1L)
#define STATUS_ADAPTER_HARDWARE_ERROR           ((NTSTATUS)0xC00000C2L)
#define STATUS_INVALID_NETWORK_RESPONSE         ((NTSTATUS)0xC00000C3L)
#define STATUS_UNEXPECTED_NETWORK_ERROR         ((NTSTATUS)0xC00000C4L)
#define STATUS_BAD_REMOTE_ADAPTER               ((NTSTATUS)0xC00000C5L)
#define STATUS_PRINT_QUEUE_FULL                 ((NTSTATUS)0xC00000C6L)
#define STATUS_NO_SPOOL_SPACE                   ((NTSTATUS)0xC00000C7L)
#define STATUS_PRINT_CANCELLED                  ((NTSTATUS)0xC00000C8L)
#define STATUS_NETWORK_NAME_DELETED             ((NTSTATUS)0xC00000C9L)
#define STATUS_NETWORK_ACCESS_DENIED            ((NTSTATUS)0xC00000CAL)
#define STATUS_BAD_DEVICE_TYPE                  ((NTSTATUS)0xC00000CBL)
#define STATUS_BAD_NETWORK_NAME                 ((NTSTATUS)0xC00000CCL)
#define STATUS_TOO_MANY_NAMES                   ((NTSTATUS)0xC00000CDL)
#define STATUS_TOO_MANY_SESSIONS                ((NTSTATUS)0xC00000CEL)
#define STATUS_SHARING_PAUSED                   ((NTSTATUS)0xC00000CFL)
#define STATUS_REQUEST_NOT_ACCEPTED             ((NTSTATUS)0xC00000D0L)
#define STATUS_REDIRECTOR_PAUSED                ((NTSTATUS)0xC00000D1L)
#define STATUS_NET_WRITE_FAULT                  ((NTSTATUS)0xC00000D2L)
#define STATUS_PROFILING_AT_LIMIT               ((NTSTATUS)0xC00000D3L)
#define STATUS_NOT_SAME_DEVICE                  ((NTSTATUS)0xC00000D4L)
#define STATUS_FILE_RENAMED                     ((NTSTATUS)0xC00000D5L)
#define STATUS_VIRTUAL_CIRCUIT_CLOSED           ((NTSTATUS)0xC00000D6L)
#define STATUS_NO_SECURITY_ON_OBJECT            ((NTSTATUS)0xC00000D7L)
#define STATUS_CANT_WAIT                        ((NTSTATUS)0xC00000D8L)
#define STATUS_PIPE_EMPTY                       ((NTSTATUS)0xC00000D9L)
#define STATUS_CANT_ACCESS_DOMAIN_INFO          ((NTSTATUS)0xC00000DAL)
#define STATUS_CANT_TERMINATE_SELF              ((NTSTATUS)0xC00000DBL)
#define STATUS_INVALID_SERVER_STATE             ((NTSTATUS)0xC00000DCL)
#define STATUS_INVALID_DOMAIN_STATE             ((NTSTATUS)0xC00000DDL)
#define STATUS_INVALID_DOMAIN_ROLE              ((NTSTATUS)0xC00000DEL)
#define STATUS_NO_SUCH_DOMAIN                   ((NTSTATUS)0xC00000DFL)
#define STATUS_DOMAIN_EXISTS                    ((NTSTATUS)0xC00000E0L)
#define STATUS_DOMAIN_LIMIT_EXCEEDED            ((NTSTATUS)0xC00000E1L)
#define STATUS_OPLOCK_NOT_GRANTED               ((NTSTATUS)0xC00000E2L)
#define STATUS_INVALID_OPLOCK_PROTOCOL          ((NTSTATUS)0xC00000E3L)
#define STATUS_INTERNAL_DB_CORRUPTION           ((NTSTATUS)0xC00000E4L)
#define STATUS_INTERNAL_ERROR                   ((NTSTATUS)0xC00000E5L)
#define STATUS_GENERIC_NOT_MAPPED               ((NTSTATUS)0xC00000E6L)
#define STATUS_BAD_DESCRIPTOR_FORMAT            ((NTSTATUS)0xC00000E7L)
#define STATUS_INVALID_USER_BUFFER              ((NTSTATUS)0xC00000E8L)
#define STATUS_UNEXPECTED_IO_ERROR              ((NTSTATUS)0xC00000E9L)
#define STATUS_UNEXPECTED_MM_CREATE_ERR         ((NTSTATUS)0xC00000EAL)
#define STATUS_UNEXPECTED_MM_MAP_ERROR          ((NTSTATUS)0xC00000EBL)
#define STATUS_UNEXPECTED_MM_EXTEND_ERR         ((NTSTATUS)0xC00000ECL)
#define STATUS_NOT_LOGON_PROCESS                ((NTSTATUS)0xC00000EDL)
#define STATUS_LOGON_SESSION_EXISTS             ((NTSTATUS)0xC00000EEL)
#define STATUS_INVALID_PARAMETER_1              ((NTSTATUS)0xC00000EFL)
#define STATUS_INVALID_PARAMETER_2              ((NTSTATUS)0xC00000F0L)
#define STATUS_INVALID_PARAMETER_3              ((NTSTATUS)0xC00000F1L)
#define STATUS_INVALID_PARAMETER_4              ((NTSTATUS)0xC00000F2L)
#define STATUS_INVALID_PARAMETER_5              ((NTSTATUS)0xC00000F3L)
#define STATUS_INVALID_PARAMETER_6              ((NTSTATUS)0xC00000F4L)
#define STATUS_INVALID_PARAMETER_7              ((NTSTATUS)0xC00000F5L)
#define STATUS_INVALID_PARAMETER_8              ((NTSTATUS)0xC00000F6L)
#define STATUS_INVALID_PARAMETER_9              ((NTSTATUS)0xC00000F7L)
#define STATUS_INVALID_PARAMETER_10             ((NTSTATUS)0xC00000F8L)
#define STATUS_INVALID_PARAMETER_11             ((NTSTATUS)0xC00000F9L)
#define STATUS_INVALID_PARAMETER_12             ((NTSTATUS)0xC00000FAL)
#define STATUS_REDIRECTOR_NOT_STARTED           ((NTSTATUS)0xC00000FBL)
#define STATUS_REDIRECTOR_STARTED               ((NTSTATUS)0xC00000FCL)
#define STATUS_STACK_OVERFLOW                   ((NTSTATUS)0xC00000FDL)
#define STATUS_NO_SUCH_PACKAGE                  ((NTSTATUS)0xC00000FEL)
#define STATUS_BAD_FUNCTION_TABLE               ((NTSTATUS)0xC00000FFL)
#define STATUS_VARIABLE_NOT_FOUND               ((NTSTATUS)0xC0000100L)
#define STATUS_DIRECTORY_NOT_EMPTY              ((NTSTATUS)0xC0000101L)
#define STATUS_FILE_CORRUPT_ERROR               ((NTSTATUS)0xC0000102L)
#define STATUS_NOT_A_DIRECTORY                  ((NTSTATUS)0xC0000103L)
#define STATUS_BAD_LOGON_SESSION_STATE          ((NTSTATUS)0xC0000104L)
#define STATUS_LOGON_SESSION_COLLISION          ((NTSTATUS)0xC0000105L)
#define STATUS_NAME_TOO_LONG                    ((NTSTATUS)0xC0000106L)
#define STATUS_FILES_OPEN                       ((NTSTATUS)0xC0000107L)
#define STATUS_CONNECTION_IN_USE                ((NTSTATUS)0xC0000108L)
#define STATUS_MESSAGE_NOT_FOUND                ((NTSTATUS)0xC0000109L)
#define STATUS_PROCESS_IS_TERMINATING           ((NTSTATUS)0xC000010AL)
#define STATUS_INVALID_LOGON_TYPE               ((NTSTATUS)0xC000010BL)
#define STATUS_NO_GUID_TRANSLATION              ((NTSTATUS)0xC000010CL)
#define STATUS_CANNOT_IMPERSONATE               ((NTSTATUS)0xC000010DL)
#define STATUS_IMAGE_ALREADY_LOADED             ((NTSTATUS)0xC000010EL)
#define STATUS_TOO_MANY_OPENED_FILES            ((NTSTATUS)0xC000011FL)
#define STATUS_CANCELLED                        ((NTSTATUS)0xC0000120L)
#define STATUS_CANNOT_DELETE                    ((NTSTATUS)0xC0000121L)
#define STATUS_INVALID_COMPUTER_NAME            ((NTSTATUS)0xC0000122L)
#define STATUS_FILE_DELETED                     ((NTSTATUS)0xC0000123L)
#define STATUS_SPECIAL_ACCOUNT                  ((NTSTATUS)0xC0000124L)
#define STATUS_SPECIAL_GROUP                    ((NTSTATUS)0xC0000125L)
#define STATUS_SPECIAL_USER                     ((NTSTATUS)0xC0000126L)
#define STATUS_MEMBERS_PRIMARY_GROUP            ((NTSTATUS)0xC0000127L)
#define STATUS_FILE_CLOSED                      ((NTSTATUS)0xC0000128L)
#define STATUS_TOO_MANY_THREADS                 ((NTSTATUS)0xC0000129L)
#define STATUS_THREAD_NOT_IN_PROCESS            ((NTSTATUS)0xC000012AL)
#define STATUS_TOKEN_ALREADY_IN_USE             ((NTSTATUS)0xC000012BL)
#define STATUS_PAGEFILE_QUOTA_EXCEEDED          ((NTSTATUS)0xC000012CL)
#define STATUS_COMMITMENT_LIMIT                 ((NTSTATUS)0xC000012DL)
#define STATUS_INVALID_IMAGE_LE_FORMAT          ((NTSTATUS)0xC000012EL)
#define STATUS_INVALID_IMAGE_NOT_MZ             ((NTSTATUS)0xC000012FL)
#define STATUS_INVALID_IMAGE_PROTECT            ((NTSTATUS)0xC0000130L)
#define STATUS_INVALID_IMAGE_WIN_16             ((NTSTATUS)0xC0000131L)
#define STATUS_LOGON_SERVER_CONFLICT            ((NTSTATUS)0xC0000132L)
#define STATUS_TIME_DIFFERENCE_AT_DC            ((NTSTATUS)0xC0000133L)
#define STATUS_SYNCHRONIZATION_REQUIRED         ((NTSTATUS)0xC0000134L)
#define STATUS_DLL_NOT_FOUND                    ((NTSTATUS)0xC0000135L)
#define STATUS_OPEN_FAILED                      ((NTSTATUS)0xC0000136L)
#define STATUS_IO_PRIVILEGE_FAILED              ((NTSTATUS)0xC0000137L)
#define STATUS_ORDINAL_NOT_FOUND                ((NTSTATUS)0xC0000138L)
#define STATUS_ENTRYPOINT_NOT_FOUND             ((NTSTATUS)0xC0000139L)
#define STATUS_CONTROL_C_EXIT                   ((NTSTATUS)0xC000013AL)
#define STATUS_LOCAL_DISCONNECT                 ((NTSTATUS)0xC000013BL)
#define STATUS_REMOTE_DISCONNECT                ((NTSTATUS)0xC000013CL)
#define STATUS_REMOTE_RESOURCES                 ((NTSTATUS)0xC000013DL)
#define STATUS_LINK_FAILED                      ((NTSTATUS)0xC000013EL)
#define STATUS_LINK_TIMEOUT                     ((NTSTATUS)0xC000013FL)
#define STATUS_INVALID_CONNECTION               ((NTSTATUS)0xC0000140L)
#define STATUS_INVALID_ADDRESS                  ((NTSTATUS)0xC0000141L)
#define STATUS_DLL_INIT_FAILED                  ((NTSTATUS)0xC0000142L)
#define STATUS_INVALID_LEVEL                    ((NTSTATUS)0xC0000148L)
#define STATUS_PIPE_BROKEN                      ((NTSTATUS)0xC000014BL)
#define STATUS_REGISTRY_CORRUPT                 ((NTSTATUS)0xC000014CL)
#define STATUS_REGISTRY_IO_FAILED               ((NTSTATUS)0xC000014DL)
#define STATUS_NO_EVENT_PAIR                    ((NTSTATUS)0xC000014EL)
#define STATUS_UNRECOGNIZED_VOLUME              ((NTSTATUS)0xC000014FL)
#define STATUS_SERIAL_NO_DEVICE_INITED          ((NTSTATUS)0xC0000150L)
#define STATUS_NO_MEDIA                         ((NTSTATUS)0xC0000178L)
#define STATUS_DEVICE_CONFIGURATION_ERROR       ((NTSTATUS)0xC0000182L)
#define STATUS_DRIVER_INTERNAL_ERROR            ((NTSTATUS)0xC0000183L)
#define STATUS_INVALID_DEVICE_STATE             ((NTSTATUS)0xC0000184L)
#define STATUS_IO_DEVICE_ERROR                  ((NTSTATUS)0xC0000185L)
#define STATUS_DEVICE_PROTOCOL_ERROR            ((NTSTATUS)0xC0000186L)
#define STATUS_BACKUP_CONTROLLER                ((NTSTATUS)0xC0000187L)
#define STATUS_LOG_FILE_FULL                    ((NTSTATUS)0xC0000188L)
#define STATUS_TOO_LATE                         ((NTSTATUS)0xC0000189L)
#define STATUS_INSUFF_SERVER_RESOURCES          ((NTSTATUS)0xC0000205L)
#define STATUS_INVALID_BUFFER_SIZE              ((NTSTATUS)0xC0000206L)
#define STATUS_INVALID_ADDRESS_COMPONENT        ((NTSTATUS)0xC0000207L)
#define STATUS_INVALID_ADDRESS_WILDCARD         ((NTSTATUS)0xC0000208L)
#define STATUS_TOO_MANY_ADDRESSES               ((NTSTATUS)0xC0000209L)
#define STATUS_ADDRESS_ALREADY_EXISTS           ((NTSTATUS)0xC000020AL)
#define STATUS_ADDRESS_CLOSED                   ((NTSTATUS)0xC000020BL)
#define STATUS_CONNECTION_DISCONNECTED          ((NTSTATUS)0xC000020CL)
#define STATUS_CONNECTION_RESET                 ((NTSTATUS)0xC000020DL)
#define STATUS_TOO_MANY_NODES                   ((NTSTATUS)0xC000020EL)
#define STATUS_TRANSACTION_ABORTED              ((NTSTATUS)0xC000020FL)
#define STATUS_TRANSACTION_TIMED_OUT            ((NTSTATUS)0xC0000210L)
#define STATUS_TRANSACTION_NO_RELEASE           ((NTSTATUS)0xC0000211L)
#define STATUS_TRANSACTION_NO_MATCH             ((NTSTATUS)0xC0000212L)
#define STATUS_TRANSACTION_RESPONDED            ((NTSTATUS)0xC0000213L)
#define STATUS_TRANSACTION_INVALID_ID           ((NTSTATUS)0xC0000214L)
#define STATUS_TRANSACTION_INVALID_TYPE         ((NTSTATUS)0xC0000215L)
#define STATUS_NOT_SERVER_SESSION               ((NTSTATUS)0xC0000216L)
#define STATUS_NOT_CLIENT_SESSION               ((NTSTATUS)0xC0000217L)
#define STATUS_CANNOT_LOAD_REGISTRY_FILE        ((NTSTATUS)0xC0000218L)
#define STATUS_DEBUG_ATTACH_FAILED              ((NTSTATUS)0xC0000219L)
#define STATUS_SYSTEM_PROCESS_TERMINATED        ((NTSTATUS)0xC000021AL)
#define STATUS_DATA_NOT_ACCEPTED                ((NTSTATUS)0xC000021BL)
#define STATUS_NO_BROWSER_SERVERS_FOUND         ((NTSTATUS)0xC000021CL)
#define STATUS_VDM_HARD_ERROR                   ((NTSTATUS)0xC000021DL)
#define STATUS_DRIVER_CANCEL_TIMEOUT            ((NTSTATUS)0xC000021EL)
#define STATUS_REPLY_MESSAGE_MISMATCH           ((NTSTATUS)0xC000021FL)
#define STATUS_MAPPED_ALIGNMENT                 ((NTSTATUS)0xC0000220L)
#define STATUS_IMAGE_CHECKSUM_MISMATCH          ((NTSTATUS)0xC0000221L)
#define STATUS_LOST_WRITEBEHIND_DATA            ((NTSTATUS)0xC0000222L)
#define STATUS_CLIENT_SERVER_PARAMETERS_INVALID ((NTSTATUS)0xC0000223L)
#define STATUS_PASSWORD_MUST_CHANGE             ((NTSTATUS)0xC0000224L)
#define STATUS_NOT_FOUND                        ((NTSTATUS)0xC0000225L)
#define STATUS_NOT_TINY_STREAM                  ((NTSTATUS)0xC0000226L)
#define STATUS_RECOVERY_FAILURE                 ((NTSTATUS)0xC0000227L)
#define STATUS_STACK_OVERFLOW_READ              ((NTSTATUS)0xC0000228L)
#define STATUS_FAIL_CHECK                       ((NTSTATUS)0xC0000229L)
#define STATUS_DUPLICATE_OBJECTID               ((NTSTATUS)0xC000022AL)
#define STATUS_OBJECTID_EXISTS                  ((NTSTATUS)0xC000022BL)
#define STATUS_CONVERT_TO_LARGE                 ((NTSTATUS)0xC000022CL)
#define STATUS_RETRY                            ((NTSTATUS)0xC000022DL)
#define STATUS_FOUND_OUT_OF_SCOPE               ((NTSTATUS)0xC000022EL)
#define STATUS_ALLOCATE_BUCKET                  ((NTSTATUS)0xC000022FL)
#define STATUS_PROPSET_NOT_FOUND                ((NTSTATUS)0xC0000230L)
#define STATUS_MARSHALL_OVERFLOW                ((NTSTATUS)0xC0000231L)
#define STATUS_INVALID_VARIANT                  ((NTSTATUS)0xC0000232L)
#define STATUS_DOMAIN_CONTROLLER_NOT_FOUND      ((NTSTATUS)0xC0000233L)
#define STATUS_ACCOUNT_LOCKED_OUT               ((NTSTATUS)0xC0000234L)
#define STATUS_HANDLE_NOT_CLOSABLE              ((NTSTATUS)0xC0000235L)
#define STATUS_CONNECTION_REFUSED               ((NTSTATUS)0xC0000236L)
#define STATUS_GRACEFUL_DISCONNECT              ((NTSTATUS)0xC0000237L)
#define STATUS_ADDRESS_ALREADY_ASSOCIATED       ((NTSTATUS)0xC0000238L)
#define STATUS_ADDRESS_NOT_ASSOCIATED           ((NTSTATUS)0xC0000239L)
#define STATUS_CONNECTION_INVALID               ((NTSTATUS)0xC000023AL)
#define STATUS_CONNECTION_ACTIVE                ((NTSTATUS)0xC000023BL)
#define STATUS_NETWORK_UNREACHABLE              ((NTSTATUS)0xC000023CL)
#define STATUS_HOST_UNREACHABLE                 ((NTSTATUS)0xC000023DL)
#define STATUS_PROTOCOL_UNREACHABLE             ((NTSTATUS)0xC000023EL)
#define STATUS_PORT_UNREACHABLE                 ((NTSTATUS)0xC000023FL)
#define STATUS_REQUEST_ABORTED                  ((NTSTATUS)0xC0000240L)
#define STATUS_CONNECTION_ABORTED               ((NTSTATUS)0xC0000241L)
#define STATUS_BAD_COMPRESSION_BUFFER           ((NTSTATUS)0xC0000242L)
#define STATUS_USER_MAPPED_FILE                 ((NTSTATUS)0xC0000243L)
#define STATUS_AUDIT_FAILED                     ((NTSTATUS)0xC0000244L)
#define STATUS_TIMER_RESOLUTION_NOT_SET         ((NTSTATUS)0xC0000245L)
#define STATUS_CONNECTION_COUNT_LIMIT           ((NTSTATUS)0xC0000246L)
#define STATUS_LOGIN_TIME_RESTRICTION           ((NTSTATUS)0xC0000247L)
#define STATUS_LOGIN_WKSTA_RESTRICTION          ((NTSTATUS)0xC0000248L)
#define STATUS_IMAGE_MP_UP_MISMATCH             ((NTSTATUS)0xC0000249L)
#define STATUS_PLUGPLAY_NO_DEVICE               ((NTSTATUS)0xC000025EL)
#define STATUS_DRIVER_ORDINAL_NOT_FOUND         ((NTSTATUS)0xC0000262L)
#define STATUS_DRIVER_ENTRYPOINT_NOT_FOUND      ((NTSTATUS)0xC0000263L)
#define STATUS_RESOURCE_NOT_OWNED               ((NTSTATUS)0xC0000264L)
#define STATUS_TOO_MANY_LINKS                   ((NTSTATUS)0xC0000265L)
#define STATUS_QUOTA_LIST_INCONSISTENT          ((NTSTATUS)0xC0000266L)
#define STATUS_FILE_IS_OFFLINE                  ((NTSTATUS)0xC0000267L)
#define STATUS_DRIVER_UNABLE_TO_LOAD            ((NTSTATUS)0xC000026CL)
#define STATUS_VALIDATE_CONTINUE                ((NTSTATUS)0xC0000271L)
#define STATUS_NO_MATCH                         ((NTSTATUS)0xC0000272L)
#define STATUS_NO_MORE_MATCHES                  ((NTSTATUS)0xC0000273L)
#define STATUS_NOT_A_REPARSE_POINT              ((NTSTATUS)0xC0000275L)
#define STATUS_IO_REPARSE_TAG_INVALID           ((NTSTATUS)0xC0000276L)
#define STATUS_IO_REPARSE_TAG_MISMATCH          ((NTSTATUS)0xC0000277L)
#define STATUS_IO_REPARSE_DATA_INVALID          ((NTSTATUS)0xC0000278L)
#define STATUS_IO_REPARSE_TAG_NOT_HANDLED       ((NTSTATUS)0xC0000279L)
#define STATUS_REPARSE_POINT_NOT_RESOLVED       ((NTSTATUS)0xC0000280L)
#define STATUS_DIRECTORY_IS_A_REPARSE_POINT     ((NTSTATUS)0xC0000281L)
#define STATUS_RANGE_LIST_CONFLICT              ((NTSTATUS)0xC0000282L)
#define STATUS_WMI_GUID_NOT_FOUND               ((NTSTATUS)0xC0000295L)
#define STATUS_WMI_INSTANCE_NOT_FOUND           ((NTSTATUS)0xC0000296L)
#define STATUS_WMI_ITEMID_NOT_FOUND             ((NTSTATUS)0xC0000297L)
#define STATUS_WMI_TRY_AGAIN                    ((NTSTATUS)0xC0000298L)
#define STATUS_DEVICE_REMOVED                   ((NTSTATUS)0xC00002B6L)
#define STATUS_NOINTERFACE                      ((NTSTATUS)0xC00002B9L)
#define STATUS_WMI_READ_ONLY                    ((NTSTATUS)0xC00002C6L)
#define STATUS_WMI_SET_FAILURE                  ((NTSTATUS)0xC00002C7L)
#define STATUS_POWER_STATE_INVALID              ((NTSTATUS)0xC00002D3L)
#define STATUS_WMI_NOT_SUPPORTED                ((NTSTATUS)0xC00002DDL)
#define STATUS_HEAP_CORRUPTION                  ((NTSTATUS)0xC0000374L)
#define STATUS_STACK_BUFFER_OVERRUN             ((NTSTATUS)0xC0000409L)
#define STATUS_INVALID_CRUNTIME_PARAMETER       ((NTSTATUS)0xC0000417L)
#define STATUS_ASSERTION_FAILURE                ((NTSTATUS)0xC0000420L)
#define STATUS_ALREADY_REGISTERED               ((NTSTATUS)0xC0000718L)

/* ==========================================================================================
 * 5. Constants and enumerations that belong to no one structure
 * ======================================================================================== */

/* Interrupt request levels (x64 values). */
#define PASSIVE_LEVEL   0
#define LOW_LEVEL       0
#define APC_LEVEL       1
#define DISPATCH_LEVEL  2
#define CMCI_LEVEL      5
#define CLOCK_LEVEL     13
#define IPI_LEVEL       14
#define DRS_LEVEL       14
#define POWER_LEVEL     14
#define PROFILE_LEVEL   15
#define HIGH_LEVEL      15
#define SYNCH_LEVEL     (IPI_LEVEL - 2)

/* IRP major function codes. */
#define IRP_MJ_CREATE                   0x00
#define IRP_MJ_CREATE_NAMED_PIPE        0x01
#define IRP_MJ_CLOSE                    0x02
#define IRP_MJ_READ                     0x03
#define IRP_MJ_WRITE                    0x04
#define IRP_MJ_QUERY_INFORMATION        0x05
#define IRP_MJ_SET_INFORMATION          0x06
#define IRP_MJ_QUERY_EA                 0x07
#define IRP_MJ_SET_EA                   0x08
#define IRP_MJ_FLUSH_BUFFERS            0x09
#define IRP_MJ_QUERY_VOLUME_INFORMATION 0x0a
#define IRP_MJ_SET_VOLUME_INFORMATION   0x0b
#define IRP_MJ_DIRECTORY_CONTROL        0x0c
#define IRP_MJ_FILE_SYSTEM_CONTROL      0x0d
#define IRP_MJ_DEVICE_CONTROL           0x0e
#define IRP_MJ_INTERNAL_DEVICE_CONTROL  0x0f
#define IRP_MJ_SHUTDOWN                 0x10
#define IRP_MJ_LOCK_CONTROL             0x11
#define IRP_MJ_CLEANUP                  0x12
#define IRP_MJ_CREATE_MAILSLOT          0x13
#define IRP_MJ_QUERY_SECURITY           0x14
#define IRP_MJ_SET_SECURITY             0x15
#define IRP_MJ_POWER                    0x16
#define IRP_MJ_SYSTEM_CONTROL           0x17
#define IRP_MJ_DEVICE_CHANGE            0x18
#define IRP_MJ_QUERY_QUOTA              0x19
#define IRP_MJ_SET_QUOTA                0x1a
#define IRP_MJ_PNP                      0x1b
#define IRP_MJ_PNP_POWER                IRP_MJ_PNP
#define IRP_MJ_MAXIMUM_FUNCTION         0x1b
#define IRP_MJ_SCSI                     IRP_MJ_INTERNAL_DEVICE_CONTROL

/* IRP minor function codes: Plug and Play. */
#define IRP_MN_START_DEVICE                 0x00
#define IRP_MN_QUERY_REMOVE_DEVICE          0x01
#define IRP_MN_REMOVE_DEVICE                0x02
#define IRP_MN_CANCEL_REMOVE_DEVICE         0x03
#define IRP_MN_STOP_DEVICE                  0x04
#define IRP_MN_QUERY_STOP_DEVICE            0x05
#define IRP_MN_CANCEL_STOP_DEVICE           0x06
#define IRP_MN_QUERY_DEVICE_RELATIONS       0x07
#define IRP_MN_QUERY_INTERFACE              0x08
#define IRP_MN_QUERY_CAPABILITIES           0x09
#define IRP_MN_QUERY_RESOURCES              0x0A
#define IRP_MN_QUERY_RESOURCE_REQUIREMENTS  0x0B
#define IRP_MN_QUERY_DEVICE_TEXT            0x0C
#define IRP_MN_FILTER_RESOURCE_REQUIREMENTS 0x0D
#define IRP_MN_READ_CONFIG                  0x0F
#define IRP_MN_WRITE_CONFIG                 0x10
#define IRP_MN_EJECT                        0x11
#define IRP_MN_SET_LOCK                     0x12
#define IRP_MN_QUERY_ID                     0x13
#define IRP_MN_QUERY_PNP_DEVICE_STATE       0x14
#define IRP_MN_QUERY_BUS_INFORMATION        0x15
#define IRP_MN_DEVICE_USAGE_NOTIFICATION    0x16
#define IRP_MN_SURPRISE_REMOVAL             0x17
#define IRP_MN_QUERY_LEGACY_BUS_INFORMATION 0x18
#define IRP_MN_DEVICE_ENUMERATED            0x19
/* Power. */
#define IRP_MN_WAIT_WAKE                    0x00
#define IRP_MN_POWER_SEQUENCE               0x01
#define IRP_MN_SET_POWER                    0x02
#define IRP_MN_QUERY_POWER                  0x03
/* WMI (IRP_MJ_SYSTEM_CONTROL). */
#define IRP_MN_QUERY_ALL_DATA               0x00
#define IRP_MN_QUERY_SINGLE_INSTANCE        0x01
#define IRP_MN_CHANGE_SINGLE_INSTANCE       0x02
#define IRP_MN_CHANGE_SINGLE_ITEM           0x03
#define IRP_MN_ENABLE_EVENTS                0x04
#define IRP_MN_DISABLE_EVENTS               0x05
#define IRP_MN_ENABLE_COLLECTION            0x06
#define IRP_MN_DISABLE_COLLECTION           0x07
#define IRP_MN_REGINFO                      0x08
#define IRP_MN_EXECUTE_METHOD               0x09
#define IRP_MN_REGINFO_EX                   0x0b
/* Read and write. */
#define IRP_MN_NORMAL                       0x00
#define IRP_MN_DPC                          0x01
#define IRP_MN_MDL                          0x02
#define IRP_MN_COMPLETE                     0x04
#define IRP_MN_COMPRESSED                   0x08
#define IRP_MN_MDL_DPC                      (IRP_MN_MDL | IRP_MN_DPC)
#define IRP_MN_COMPLETE_MDL                 (IRP_MN_COMPLETE | IRP_MN_MDL)
#define IRP_MN_COMPLETE_MDL_DPC             (IRP_MN_COMPLETE_MDL | IRP_MN_DPC)
/* Directory control, file system control, lock control, SCSI. */
#define IRP_MN_QUERY_DIRECTORY              0x01
#define IRP_MN_NOTIFY_CHANGE_DIRECTORY      0x02
#define IRP_MN_USER_FS_REQUEST              0x00
#define IRP_MN_MOUNT_VOLUME                 0x01
#define IRP_MN_VERIFY_VOLUME                0x02
#define IRP_MN_LOAD_FILE_SYSTEM             0x03
#define IRP_MN_KERNEL_CALL                  0x04
#define IRP_MN_LOCK                         0x01
#define IRP_MN_UNLOCK_SINGLE                0x02
#define IRP_MN_UNLOCK_ALL                   0x03
#define IRP_MN_UNLOCK_ALL_BY_KEY            0x04
#define IRP_MN_SCSI_CLASS                   0x01

/* Priority boosts for IoCompleteRequest and the dispatcher objects. */
#define IO_NO_INCREMENT             0
#define IO_CD_ROM_INCREMENT         1
#define IO_DISK_INCREMENT           1
#define IO_KEYBOARD_INCREMENT       6
#define IO_MAILSLOT_INCREMENT       2
#define IO_MOUSE_INCREMENT          6
#define IO_NAMED_PIPE_INCREMENT     2
#define IO_NETWORK_INCREMENT        2
#define IO_PARALLEL_INCREMENT       1
#define IO_SERIAL_INCREMENT         2
#define IO_SOUND_INCREMENT          8
#define IO_VIDEO_INCREMENT          1
#define EVENT_INCREMENT             1
#define SEMAPHORE_INCREMENT         1
#define MUTANT_INCREMENT            1

/* IO_STACK_LOCATION.Control. */
#define SL_PENDING_RETURNED         0x01
#define SL_ERROR_RETURNED           0x02
#define SL_INVOKE_ON_CANCEL         0x20
#define SL_INVOKE_ON_SUCCESS        0x40
#define SL_INVOKE_ON_ERROR          0x80

/* IO_STACK_LOCATION.Flags, by major function. */
/* create */
#define SL_FORCE_ACCESS_CHECK       0x01
#define SL_OPEN_PAGING_FILE         0x02
#define SL_OPEN_TARGET_DIRECTORY    0x04
#define SL_STOP_ON_SYMLINK          0x08
#define SL_IGNORE_READONLY_ATTRIBUTE 0x40
#define SL_CASE_SENSITIVE           0x80
/* read and write */
#define SL_KEY_SPECIFIED            0x01
#define SL_OVERRIDE_VERIFY_VOLUME   0x02
#define SL_WRITE_THROUGH            0x04
#define SL_FT_SEQUENTIAL_WRITE      0x08
#define SL_FORCE_DIRECT_WRITE       0x10
#define SL_REALTIME_STREAM          0x20
/* device control */
#define SL_READ_ACCESS_GRANTED      0x01
#define SL_WRITE_ACCESS_GRANTED     0x04
/* lock */
#define SL_FAIL_IMMEDIATELY         0x01
#define SL_EXCLUSIVE_LOCK           0x02
/* query directory, query EA, query quota */
#define SL_RESTART_SCAN             0x01
#define SL_RETURN_SINGLE_ENTRY      0x02
#define SL_INDEX_SPECIFIED          0x04
/* notify change directory */
#define SL_WATCH_TREE               0x01
/* file system control (mount) */
#define SL_ALLOW_RAW_MOUNT          0x01

/* DEVICE_OBJECT.Flags. */
#define DO_VERIFY_VOLUME                0x00000002
#define DO_BUFFERED_IO                  0x00000004
#define DO_EXCLUSIVE                    0x00000008
#define DO_DIRECT_IO                    0x00000010
#define DO_MAP_IO_BUFFER                0x00000020
#define DO_DEVICE_HAS_NAME              0x00000040
#define DO_DEVICE_INITIALIZING          0x00000080
#define DO_SYSTEM_BOOT_PARTITION        0x00000100
#define DO_LONG_TERM_REQUESTS           0x00000200
#define DO_NEVER_LAST_DEVICE            0x00000400
#define DO_SHUTDOWN_REGISTERED          0x00000800
#define DO_BUS_ENUMERATED_DEVICE        0x00001000
#define DO_POWER_PAGABLE                0x00002000
#define DO_POWER_INRUSH                 0x00004000
#define DO_LOW_PRIORITY_FILESYSTEM      0x00010000
#define DO_SUPPORTS_TRANSACTIONS        0x00040000
#define DO_FORCE_NEITHER_IO             0x00080000
#define DO_VOLUME_DEVICE_OBJECT         0x00100000
#define DO_SYSTEM_SYSTEM_PARTITION      0x00200000
#define DO_SYSTEM_CRITICAL_PARTITION    0x00400000
#define DO_DISALLOW_EXECUTE             0x00800000
#define DO_DEVICE_TO_BE_RESET           0x04000000
#define DO_DEVICE_IRP_REQUIRES_EXTENSION 0x08000000
#define DO_DAX_VOLUME                   0x10000000
#define DO_BOOT_CRITICAL                0x20000000

/* DEVICE_OBJECT.Characteristics (IoCreateDevice's DeviceCharacteristics). */
#define FILE_REMOVABLE_MEDIA                    0x00000001
#define FILE_READ_ONLY_DEVICE                   0x00000002
#define FILE_FLOPPY_DISKETTE                    0x00000004
#define FILE_WRITE_ONCE_MEDIA                   0x00000008
#define FILE_REMOTE_DEVICE                      0x00000010
#define FILE_DEVICE_IS_MOUNTED                  0x00000020
#define FILE_VIRTUAL_VOLUME                     0x00000040
#define FILE_AUTOGENERATED_DEVICE_NAME          0x00000080
#define FILE_DEVICE_SECURE_OPEN                 0x00000100
#define FILE_CHARACTERISTIC_PNP_DEVICE          0x00000800
#define FILE_CHARACTERISTIC_TS_DEVICE           0x00001000
#define FILE_CHARACTERISTIC_WEBDAV_DEVICE       0x00002000
#define FILE_CHARACTERISTIC_CSV                 0x00010000
#define FILE_DEVICE_ALLOW_APPCONTAINER_TRAVERSAL 0x00020000
#define FILE_PORTABLE_DEVICE                    0x00040000
#define FILE_REMOTE_DEVICE_VSMB                 0x00080000
#define FILE_DEVICE_REQUIRE_SECURITY_CHECK      0x00100000

/* FILE_OBJECT.Flags. */
#define FO_FILE_OPEN                    0x00000001
#define FO_SYNCHRONOUS_IO               0x00000002
#define FO_ALERTABLE_IO                 0x00000004
#define FO_NO_INTERMEDIATE_BUFFERING    0x00000008
#define FO_WRITE_THROUGH                0x00000010
#define FO_SEQUENTIAL_ONLY              0x00000020
#define FO_CACHE_SUPPORTED              0x00000040
#define FO_NAMED_PIPE                   0x00000080
#define FO_STREAM_FILE                  0x00000100
#define FO_MAILSLOT                     0x00000200
#define FO_GENERATE_AUDIT_ON_CLOSE      0x00000400
#define FO_QUEUE_IRP_TO_THREAD          FO_GENERATE_AUDIT_ON_CLOSE
#define FO_DIRECT_DEVICE_OPEN           0x00000800
#define FO_FILE_MODIFIED                0x00001000
#define FO_FILE_SIZE_CHANGED            0x00002000
#define FO_CLEANUP_COMPLETE             0x00004000
#define FO_TEMPORARY_FILE               0x00008000
#define FO_DELETE_ON_CLOSE              0x00010000
#define FO_OPENED_CASE_SENSITIVE        0x00020000
#define FO_HANDLE_CREATED               0x00040000
#define FO_FILE_FAST_IO_READ            0x00080000
#define FO_RANDOM_ACCESS                0x00100000
#define FO_FILE_OPEN_CANCELLED          0x00200000
#define FO_VOLUME_OPEN                  0x00400000
#define FO_BYPASS_IO_ENABLED            0x00800000
#define FO_REMOTE_ORIGIN                0x01000000
#define FO_DISALLOW_EXCLUSIVE           0x02000000
#define FO_SKIP_COMPLETION_PORT         FO_DISALLOW_EXCLUSIVE
#define FO_SKIP_SET_EVENT               0x04000000
#define FO_SKIP_SET_FAST_IO             0x08000000
#define FO_INDIRECT_WAIT_OBJECT         0x10000000
#define FO_SECTION_MINSTORE_TREATMENT   0x20000000

/* IRP.Flags. */
#define IRP_NOCACHE                     0x00000001
#define IRP_PAGING_IO                   0x00000002
#define IRP_MOUNT_COMPLETION            0x00000002
#define IRP_SYNCHRONOUS_API             0x00000004
#define IRP_ASSOCIATED_IRP              0x00000008
#define IRP_BUFFERED_IO                 0x00000010
#define IRP_DEALLOCATE_BUFFER           0x00000020
#define IRP_INPUT_OPERATION             0x00000040
#define IRP_SYNCHRONOUS_PAGING_IO       0x00000040
#define IRP_CREATE_OPERATION            0x00000080
#define IRP_READ_OPERATION              0x00000100
#define IRP_WRITE_OPERATION             0x00000200
#define IRP_CLOSE_OPERATION             0x00000400
#define IRP_DEFER_IO_COMPLETION         0x00000800
#define IRP_OB_QUERY_NAME               0x00001000
#define IRP_HOLD_DEVICE_QUEUE           0x00002000
#define IRP_UM_DRIVER_INITIATED_IO      0x00400000

/* IRP.AllocationFlags. */
#define IRP_QUOTA_CHARGED               0x01
#define IRP_ALLOCATED_MUST_SUCCEED      0x02
#define IRP_ALLOCATED_FIXED_SIZE        0x04
#define IRP_LOOKASIDE_ALLOCATION        0x08

/* Pool types (ExAllocatePoolWithTag and friends). */
typedef enum _POOL_TYPE {
    NonPagedPool,
    NonPagedPoolExecute = NonPagedPool,
    PagedPool,
    NonPagedPoolMustSucceed = NonPagedPool + 2,
    DontUseThisType,
    NonPagedPoolCacheAligned = NonPagedPool + 4,
    PagedPoolCacheAligned,
    NonPagedPoolCacheAlignedMustS = NonPagedPool + 6,
    MaxPoolType,

    NonPagedPoolBase = 0,
    NonPagedPoolBaseMustSucceed = NonPagedPoolBase + 2,
    NonPagedPoolBaseCacheAligned = NonPagedPoolBase + 4,
    NonPagedPoolBaseCacheAlignedMustS = NonPagedPoolBase + 6,

    NonPagedPoolSession = 32,
    PagedPoolSession = NonPagedPoolSession + 1,
    NonPagedPoolMustSucceedSession = PagedPoolSession + 1,
    DontUseThisTypeSession = NonPagedPoolMustSucceedSession + 1,
    NonPagedPoolCacheAlignedSession = DontUseThisTypeSession + 1,
    PagedPoolCacheAlignedSession = NonPagedPoolCacheAlignedSession + 1,
    NonPagedPoolCacheAlignedMustSSession = PagedPoolCacheAlignedSession + 1,

    NonPagedPoolNx = 512,
    NonPagedPoolNxCacheAligned = NonPagedPoolNx + 4,
    NonPagedPoolSessionNx = NonPagedPoolNx + 32
} POOL_TYPE;

/* Bits or-ed into a POOL_TYPE. */
#define POOL_QUOTA_FAIL_INSTEAD_OF_RAISE    8
#define POOL_RAISE_IF_ALLOCATION_FAILURE    16
#define POOL_COLD_ALLOCATION                256
#define POOL_NX_ALLOCATION                  512
#define POOL_ZERO_ALLOCATION                1024

/* ExAllocatePoolWithTagPriority's priorities. */
typedef enum _EX_POOL_PRIORITY {
    LowPoolPriority,
    LowPoolPrioritySpecialPoolOverrun = 8,
    LowPoolPrioritySpecialPoolUnderrun = 9,
    NormalPoolPriority = 16,
    NormalPoolPrioritySpecialPoolOverrun = 24,
    NormalPoolPrioritySpecialPoolUnderrun = 25,
    HighPoolPriority = 32,
    HighPoolPrioritySpecialPoolOverrun = 40,
    HighPoolPrioritySpecialPoolUnderrun = 41
} EX_POOL_PRIORITY;

/* ExAllocatePool2's flags: the low 32 bits are required attributes, the high 32 bits
 * optional ones (values as documented for POOL_FLAGS). */
typedef ULONG64 POOL_FLAGS;
#define POOL_FLAG_REQUIRED_START            0x0000000000000001ULL
#define POOL_FLAG_USE_QUOTA                 0x0000000000000001ULL
#define POOL_FLAG_UNINITIALIZED             0x0000000000000002ULL
#define POOL_FLAG_SESSION                   0x0000000000000004ULL
#define POOL_FLAG_CACHE_ALIGNED             0x0000000000000008ULL
#define POOL_FLAG_RESERVED1                 0x0000000000000010ULL
#define POOL_FLAG_RAISE_ON_FAILURE          0x0000000000000020ULL
#define POOL_FLAG_NON_PAGED                 0x0000000000000040ULL
#define POOL_FLAG_NON_PAGED_EXECUTE         0x0000000000000080ULL
#define POOL_FLAG_PAGED                     0x0000000000000100ULL
#define POOL_FLAG_RESERVED2                 0x0000000000000200ULL
#define POOL_FLAG_RESERVED3                 0x0000000000000400ULL
#define POOL_FLAG_REQUIRED_END              0x0000000080000000ULL
#define POOL_FLAG_OPTIONAL_START            0x0000000100000000ULL
#define POOL_FLAG_SPECIAL_POOL              0x0000000100000000ULL
#define POOL_FLAG_OPTIONAL_END              0x8000000000000000ULL

/* ExInitializeDriverRuntime's flag. */
#define DrvRtPoolNxOptIn                    0x00000001

/* Dispatcher objects and waits. */
typedef enum _EVENT_TYPE {
    NotificationEvent,
    SynchronizationEvent
} EVENT_TYPE;

typedef enum _TIMER_TYPE {
    NotificationTimer,
    SynchronizationTimer
} TIMER_TYPE;

typedef enum _WAIT_TYPE {
    WaitAll,
    WaitAny,
    WaitNotification,
    WaitDequeue,
    WaitDpc
} WAIT_TYPE;

typedef enum _KWAIT_REASON {
    Executive,
    FreePage,
    PageIn,
    PoolAllocation,
    DelayExecution,
    Suspended,
    UserRequest,
    WrExecutive,
    WrFreePage,
    WrPageIn,
    WrPoolAllocation,
    WrDelayExecution,
    WrSuspended,
    WrUserRequest,
    WrSpare0,
    WrQueue,
    WrLpcReceive,
    WrLpcReply,
    WrVirtualMemory,
    WrPageOut,
    WrRendezvous,
    WrKeyedEvent,
    WrTerminated,
    WrProcessInSwap,
    WrCpuRateControl,
    WrCalloutStack,
    WrKernel,
    WrResource,
    WrPushLock,
    WrMutex,
    WrQuantumEnd,
    WrDispatchInt,
    WrPreempted,
    WrYieldExecution,
    WrFastMutex,
    WrGuardedMutex,
    WrRundown,
    WrAlertByThreadId,
    WrDeferredPreempt,
    WrPhysicalFault,
    WrIoRing,
    WrMdlCache,
    WrRcu,
    MaximumWaitReason
} KWAIT_REASON;
#define WrEventPair WrSpare0

typedef enum _MODE {
    KernelMode,
    UserMode,
    MaximumMode
} MODE;

#define THREAD_WAIT_OBJECTS     3
#define MAXIMUM_WAIT_OBJECTS    64

/* Thread priorities. */
#define LOW_PRIORITY            0
#define LOW_REALTIME_PRIORITY   16
#define HIGH_PRIORITY           31
#define MAXIMUM_PRIORITY        32

/* System worker queues (ExQueueWorkItem, IoQueueWorkItem). */
typedef enum _WORK_QUEUE_TYPE {
    CriticalWorkQueue,
    DelayedWorkQueue,
    HyperCriticalWorkQueue,
    NormalWorkQueue,
    BackgroundWorkQueue,
    RealTimeWorkQueue,
    SuperCriticalWorkQueue,
    MaximumWorkQueue,
    CustomPriorityWorkQueue = 32
} WORK_QUEUE_TYPE;

/* Access rights. */
#define DELETE                      0x00010000L
#define READ_CONTROL                0x00020000L
#define WRITE_DAC                   0x00040000L
#define WRITE_OWNER                 0x00080000L
#define SYNCHRONIZE                 0x00100000L
#define STANDARD_RIGHTS_REQUIRED    0x000F0000L
#define STANDARD_RIGHTS_READ        READ_CONTROL
#define STANDARD_RIGHTS_WRITE       READ_CONTROL
#define STANDARD_RIGHTS_EXECUTE     READ_CONTROL
#define STANDARD_RIGHTS_ALL         0x001F0000L
#define SPECIFIC_RIGHTS_ALL         0x0000FFFFL
#define ACCESS_SYSTEM_SECURITY      0x01000000L
#define MAXIMUM_ALLOWED             0x02000000L
#define GENERIC_READ                0x80000000L
#define GENERIC_WRITE               0x40000000L
#define GENERIC_EXECUTE             0x20000000L
#define GENERIC_ALL                 0x10000000L

#define THREAD_TERMINATE                 0x0001
#define THREAD_SUSPEND_RESUME            0x0002
#define THREAD_ALERT                     0x0004
#define THREAD_GET_CONTEXT               0x0008
#define THREAD_SET_CONTEXT               0x0010
#define THREAD_SET_INFORMATION           0x0020
#define THREAD_QUERY_INFORMATION         0x0040
#define THREAD_SET_THREAD_TOKEN          0x0080
#define THREAD_IMPERSONATE               0x0100
#define THREAD_DIRECT_IMPERSONATION      0x0200
#define THREAD_SET_LIMITED_INFORMATION   0x0400
#define THREAD_QUERY_LIMITED_INFORMATION 0x0800
#define THREAD_RESUME                    0x1000
#define THREAD_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0xFFFF)

#define PROCESS_TERMINATE                 0x0001
#define PROCESS_CREATE_THREAD             0x0002
#define PROCESS_SET_SESSIONID             0x0004
#define PROCESS_VM_OPERATION              0x0008
#define PROCESS_VM_READ                   0x0010
#define PROCESS_VM_WRITE                  0x0020
#define PROCESS_DUP_HANDLE                0x0040
#define PROCESS_CREATE_PROCESS            0x0080
#define PROCESS_SET_QUOTA                 0x0100
#define PROCESS_SET_INFORMATION           0x0200
#define PROCESS_QUERY_INFORMATION         0x0400
#define PROCESS_SUSPEND_RESUME            0x0800
#define PROCESS_QUERY_LIMITED_INFORMATION 0x1000
#define PROCESS_SET_LIMITED_INFORMATION   0x2000
#define PROCESS_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0xFFFF)

#define EVENT_QUERY_STATE       0x0001
#define EVENT_MODIFY_STATE      0x0002
#define EVENT_ALL_ACCESS        (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x3)
#define SEMAPHORE_QUERY_STATE   0x0001
#define SEMAPHORE_MODIFY_STATE  0x0002
#define SEMAPHORE_ALL_ACCESS    (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x3)
#define MUTANT_QUERY_STATE      0x0001
#define MUTANT_ALL_ACCESS       (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | MUTANT_QUERY_STATE)
#define TIMER_QUERY_STATE       0x0001
#define TIMER_MODIFY_STATE      0x0002
#define TIMER_ALL_ACCESS        (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | TIMER_QUERY_STATE | TIMER_MODIFY_STATE)
#define DIRECTORY_QUERY                 0x0001
#define DIRECTORY_TRAVERSE              0x0002
#define DIRECTORY_CREATE_OBJECT         0x0004
#define DIRECTORY_CREATE_SUBDIRECTORY   0x0008
#define DIRECTORY_ALL_ACCESS            (STANDARD_RIGHTS_REQUIRED | 0xF)
#define SYMBOLIC_LINK_QUERY             0x0001
#define SYMBOLIC_LINK_ALL_ACCESS        (STANDARD_RIGHTS_REQUIRED | 0x1)

#define KEY_QUERY_VALUE         0x0001
#define KEY_SET_VALUE           0x0002
#define KEY_CREATE_SUB_KEY      0x0004
#define KEY_ENUMERATE_SUB_KEYS  0x0008
#define KEY_NOTIFY              0x0010
#define KEY_CREATE_LINK         0x0020
#define KEY_WOW64_64KEY         0x0100
#define KEY_WOW64_32KEY         0x0200
#define KEY_READ    ((STANDARD_RIGHTS_READ | KEY_QUERY_VALUE | KEY_ENUMERATE_SUB_KEYS | KEY_NOTIFY) & (~SYNCHRONIZE))
#define KEY_WRITE   ((STANDARD_RIGHTS_WRITE | KEY_SET_VALUE | KEY_CREATE_SUB_KEY) & (~SYNCHRONIZE))
#define KEY_EXECUTE ((KEY_READ) & (~SYNCHRONIZE))
#define KEY_ALL_ACCESS ((STANDARD_RIGHTS_ALL | KEY_QUERY_VALUE | KEY_SET_VALUE | KEY_CREATE_SUB_KEY | \
                         KEY_ENUMERATE_SUB_KEYS | KEY_NOTIFY | KEY_CREATE_LINK) & (~SYNCHRONIZE))

/* File access rights (the I/O control code's FILE_READ_ACCESS and friends are in
 * devioctl.h). */
#define FILE_READ_DATA              0x0001
#define FILE_LIST_DIRECTORY         0x0001
#define FILE_WRITE_DATA             0x0002
#define FILE_ADD_FILE               0x0002
#define FILE_APPEND_DATA            0x0004
#define FILE_ADD_SUBDIRECTORY       0x0004
#define FILE_CREATE_PIPE_INSTANCE   0x0004
#define FILE_READ_EA                0x0008
#define FILE_WRITE_EA               0x0010
#define FILE_EXECUTE                0x0020
#define FILE_TRAVERSE               0x0020
#define FILE_DELETE_CHILD           0x0040
#define FILE_READ_ATTRIBUTES        0x0080
#define FILE_WRITE_ATTRIBUTES       0x0100
#define FILE_ALL_ACCESS     (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x1FF)
#define FILE_GENERIC_READ   (STANDARD_RIGHTS_READ | FILE_READ_DATA | FILE_READ_ATTRIBUTES | FILE_READ_EA | SYNCHRONIZE)
#define FILE_GENERIC_WRITE  (STANDARD_RIGHTS_WRITE | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES | FILE_WRITE_EA | \
                             FILE_APPEND_DATA | SYNCHRONIZE)
#define FILE_GENERIC_EXECUTE (STANDARD_RIGHTS_EXECUTE | FILE_READ_ATTRIBUTES | FILE_EXECUTE | SYNCHRONIZE)

#define FILE_SHARE_READ             0x00000001
#define FILE_SHARE_WRITE            0x00000002
#define FILE_SHARE_DELETE           0x00000004
#define FILE_SHARE_VALID_FLAGS      0x00000007

#define FILE_ATTRIBUTE_READONLY             0x00000001
#define FILE_ATTRIBUTE_HIDDEN               0x00000002
#define FILE_ATTRIBUTE_SYSTEM               0x00000004
#define FILE_ATTRIBUTE_DIRECTORY            0x00000010
#define FILE_ATTRIBUTE_ARCHIVE              0x00000020
#define FILE_ATTRIBUTE_DEVICE               0x00000040
#define FILE_ATTRIBUTE_NORMAL               0x00000080
#define FILE_ATTRIBUTE_TEMPORARY            0x00000100
#define FILE_ATTRIBUTE_SPARSE_FILE          0x00000200
#define FILE_ATTRIBUTE_REPARSE_POINT        0x00000400
#define FILE_ATTRIBUTE_COMPRESSED           0x00000800
#define FILE_ATTRIBUTE_OFFLINE              0x00001000
#define FILE_ATTRIBUTE_NOT_CONTENT_INDEXED  0x00002000
#define FILE_ATTRIBUTE_ENCRYPTED            0x00004000
#define FILE_ATTRIBUTE_VALID_FLAGS          0x00007fb7
#define FILE_ATTRIBUTE_VALID_SET_FLAGS      0x000031a7

/* Create dispositions and options (ZwCreateFile, IRP_MJ_CREATE's Options). */
#define FILE_SUPERSEDE                  0x00000000
#define FILE_OPEN                       0x00000001
#define FILE_CREATE                     0x00000002
#define FILE_OPEN_IF                    0x00000003
#define FILE_OVERWRITE                  0x00000004
#define FILE_OVERWRITE_IF               0x00000005
#define FILE_MAXIMUM_DISPOSITION        0x00000005
#define FILE_DIRECTORY_FILE             0x00000001
#define FILE_WRITE_THROUGH              0x00000002
#define FILE_SEQUENTIAL_ONLY            0x00000004
#define FILE_NO_INTERMEDIATE_BUFFERING  0x00000008
#define FILE_SYNCHRONOUS_IO_ALERT       0x00000010
#define FILE_SYNCHRONOUS_IO_NONALERT    0x00000020
#define FILE_NON_DIRECTORY_FILE         0x00000040
#define FILE_CREATE_TREE_CONNECTION     0x00000080
#define FILE_COMPLETE_IF_OPLOCKED       0x00000100
#define FILE_NO_EA_KNOWLEDGE            0x00000200
#define FILE_OPEN_REMOTE_INSTANCE       0x00000400
#define FILE_RANDOM_ACCESS              0x00000800
#define FILE_DELETE_ON_CLOSE            0x00001000
#define FILE_OPEN_BY_FILE_ID            0x00002000
#define FILE_OPEN_FOR_BACKUP_INTENT     0x00004000
#define FILE_NO_COMPRESSION             0x00008000
#define FILE_RESERVE_OPFILTER           0x00100000
#define FILE_OPEN_REPARSE_POINT         0x00200000
#define FILE_OPEN_NO_RECALL             0x00400000
#define FILE_OPEN_FOR_FREE_SPACE_QUERY  0x00800000
/* IoStatus.Information of a create. */
#define FILE_SUPERSEDED                 0x00000000
#define FILE_OPENED                     0x00000001
#define FILE_CREATED                    0x00000002
#define FILE_OVERWRITTEN                0x00000003
#define FILE_EXISTS                     0x00000004
#define FILE_DOES_NOT_EXIST             0x00000005

/* OBJECT_ATTRIBUTES.Attributes. */
#define OBJ_INHERIT                         0x00000002L
#define OBJ_PERMANENT                       0x00000010L
#define OBJ_EXCLUSIVE                       0x00000020L
#define OBJ_CASE_INSENSITIVE                0x00000040L
#define OBJ_OPENIF                          0x00000080L
#define OBJ_OPENLINK                        0x00000100L
#define OBJ_KERNEL_HANDLE                   0x00000200L
#define OBJ_FORCE_ACCESS_CHECK              0x00000400L
#define OBJ_IGNORE_IMPERSONATED_DEVICEMAP   0x00000800L
#define OBJ_DONT_REPARSE                    0x00001000L
#define OBJ_VALID_ATTRIBUTES                0x00001FF2L

/* DbgPrintEx levels and component ids. A level below 32 is a severity; 32 or more (or
 * one with DPFLTR_MASK) is a bit mask. */
#define DPFLTR_ERROR_LEVEL      0
#define DPFLTR_WARNING_LEVEL    1
#define DPFLTR_TRACE_LEVEL      2
#define DPFLTR_INFO_LEVEL       3
#define DPFLTR_MASK             0x80000000

typedef enum _DPFLTR_TYPE {
    DPFLTR_SYSTEM_ID = 0,
    DPFLTR_SMSS_ID = 1,
    DPFLTR_SETUP_ID = 2,
    DPFLTR_NTFS_ID = 3,
    DPFLTR_FSTUB_ID = 4,
    DPFLTR_CRASHDUMP_ID = 5,
    DPFLTR_CDAUDIO_ID = 6,
    DPFLTR_CDROM_ID = 7,
    DPFLTR_CLASSPNP_ID = 8,
    DPFLTR_DISK_ID = 9,
    DPFLTR_REDBOOK_ID = 10,
    DPFLTR_STORPROP_ID = 11,
    DPFLTR_SCSIPORT_ID = 12,
    DPFLTR_SCSIMINIPORT_ID = 13,
    DPFLTR_CONFIG_ID = 14,
    DPFLTR_I8042PRT_ID = 15,
    DPFLTR_SERMOUSE_ID = 16,
    DPFLTR_LSERMOUS_ID = 17,
    DPFLTR_KBDHID_ID = 18,
    DPFLTR_MOUHID_ID = 19,
    DPFLTR_KBDCLASS_ID = 20,
    DPFLTR_MOUCLASS_ID = 21,
    DPFLTR_TWOTRACK_ID = 22,
    DPFLTR_WMILIB_ID = 23,
    DPFLTR_ACPI_ID = 24,
    DPFLTR_AMLI_ID = 25,
    DPFLTR_HALIA64_ID = 26,
    DPFLTR_VIDEO_ID = 27,
    DPFLTR_SVCHOST_ID = 28,
    DPFLTR_VIDEOPRT_ID = 29,
    DPFLTR_TCPIP_ID = 30,
    DPFLTR_DMSYNTH_ID = 31,
    DPFLTR_NTOSPNP_ID = 32,
    DPFLTR_FASTFAT_ID = 33,
    DPFLTR_SAMSS_ID = 34,
    DPFLTR_PNPMGR_ID = 35,
    DPFLTR_NETAPI_ID = 36,
    DPFLTR_SCSERVER_ID = 37,
    DPFLTR_SCCLIENT_ID = 38,
    DPFLTR_SERIAL_ID = 39,
    DPFLTR_SERENUM_ID = 40,
    DPFLTR_UHCD_ID = 41,
    DPFLTR_RPCPROXY_ID = 42,
    DPFLTR_AUTOCHK_ID = 43,
    DPFLTR_DCOMSS_ID = 44,
    DPFLTR_UNIMODEM_ID = 45,
    DPFLTR_SIS_ID = 46,
    DPFLTR_FLTMGR_ID = 47,
    DPFLTR_WMICORE_ID = 48,
    DPFLTR_BURNENG_ID = 49,
    DPFLTR_IMAPI_ID = 50,
    DPFLTR_SXS_ID = 51,
    DPFLTR_FUSION_ID = 52,
    DPFLTR_IDLETASK_ID = 53,
    DPFLTR_SOFTPCI_ID = 54,
    DPFLTR_TAPE_ID = 55,
    DPFLTR_MCHGR_ID = 56,
    DPFLTR_IDEP_ID = 57,
    DPFLTR_PCIIDE_ID = 58,
    DPFLTR_FLOPPY_ID = 59,
    DPFLTR_FDC_ID = 60,
    DPFLTR_TERMSRV_ID = 61,
    DPFLTR_W32TIME_ID = 62,
    DPFLTR_IHVDRIVER_ID = 77,
    DPFLTR_IHVVIDEO_ID = 78,
    DPFLTR_IHVAUDIO_ID = 79,
    DPFLTR_IHVNETWORK_ID = 80,
    DPFLTR_IHVSTREAMING_ID = 81,
    DPFLTR_IHVBUS_ID = 82,
    DPFLTR_DEFAULT_ID = 101
} DPFLTR_TYPE;

/* Pages (4 KiB on x64). */
#define PAGE_SIZE   0x1000
#define PAGE_SHIFT  12L
#define BYTE_OFFSET(Va)     ((ULONG)((LONG_PTR)(Va) & (PAGE_SIZE - 1)))
#define PAGE_ALIGN(Va)      ((PVOID)((ULONG_PTR)(Va) & ~((ULONG_PTR)PAGE_SIZE - 1)))
#define ROUND_TO_PAGES(Size) (((ULONG_PTR)(Size) + PAGE_SIZE - 1) & ~((ULONG_PTR)PAGE_SIZE - 1))
#define BYTES_TO_PAGES(Size) \
    (((ULONG_PTR)(Size) >> PAGE_SHIFT) + (((ULONG_PTR)(Size) & (PAGE_SIZE - 1)) != 0))
#define ADDRESS_AND_SIZE_TO_SPAN_PAGES(Va, Size) \
    ((ULONG)((((ULONG_PTR)BYTE_OFFSET(Va)) + ((SIZE_T)(Size)) + (PAGE_SIZE - 1)) >> PAGE_SHIFT))
#define COMPUTE_PAGES_SPANNED(Va, Size) ADDRESS_AND_SIZE_TO_SPAN_PAGES(Va, Size)

/* Alignment arithmetic (alignment a power of two). */
#ifndef ALIGN_DOWN_BY
#define ALIGN_DOWN_BY(length, alignment) \
    ((ULONG_PTR)(length) & ~((ULONG_PTR)(alignment) - 1))
#endif
#ifndef ALIGN_UP_BY
#define ALIGN_UP_BY(length, alignment) \
    (ALIGN_DOWN_BY(((ULONG_PTR)(length) + (alignment) - 1), alignment))
#endif
#ifndef ALIGN_DOWN_POINTER_BY
#define ALIGN_DOWN_POINTER_BY(address, alignment) \
    ((PVOID)((ULONG_PTR)(address) & ~((ULONG_PTR)(alignment) - 1)))
#endif
#ifndef ALIGN_UP_POINTER_BY
#define ALIGN_UP_POINTER_BY(address, alignment) \
    (ALIGN_DOWN_POINTER_BY(((ULONG_PTR)(address) + (alignment) - 1), alignment))
#endif
#ifndef ALIGN_DOWN
#define ALIGN_DOWN(length, type) ALIGN_DOWN_BY(length, sizeof(type))
#endif
#ifndef ALIGN_UP
#define ALIGN_UP(length, type) ALIGN_UP_BY(length, sizeof(type))
#endif
#ifndef ALIGN_DOWN_POINTER
#define ALIGN_DOWN_POINTER(address, type) ALIGN_DOWN_POINTER_BY(address, sizeof(type))
#endif
#ifndef ALIGN_UP_POINTER
#define ALIGN_UP_POINTER(address, type) ALIGN_UP_POINTER_BY(address, sizeof(type))
#endif

/* ==========================================================================================
 * 6. Diagnostics: the debug output routines, ASSERT, KdPrint, PAGED_CODE
 * ======================================================================================== */

/* A checked build unless the driver says otherwise. */
#ifndef DBG
#define DBG 1
#endif

/* The DbgPrint family (irpkit's driver runtime formats, understanding the Windows
 * conversions %ws, %wZ, %Z, %I64x, %Ix ...; no printf format attribute, which would
 * warn about them). */
NTSYSAPI ULONG __cdecl DbgPrint(PCSTR Format, ...);
NTSYSAPI ULONG __cdecl DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...);
NTSYSAPI ULONG NTAPI vDbgPrintEx(ULONG ComponentId, ULONG Level, PCCH Format, va_list arglist);
NTSYSAPI ULONG NTAPI vDbgPrintExWithPrefix(PCCH Prefix, ULONG ComponentId, ULONG Level, PCCH Format,
                                           va_list arglist);
NTSYSAPI VOID NTAPI DbgBreakPoint(VOID);
/* What a failed ASSERT calls (a verifier report on irpkit). */
NTSYSAPI VOID NTAPI RtlAssert(PVOID VoidFailedAssertion, PVOID VoidFileName, ULONG LineNumber,
                              PSTR MutableMessage);
/* irpkit hooks: PAGED_CODE()'s check, and the end of the DbgPrint family's output. */
VOID IrpkitPagedCode(const char *File, ULONG Line);
VOID IrpkitDebugOutput(ULONG ComponentId, ULONG Level, const char *Text, SIZE_T Length);

/* The ASSERT family's value goes through a function, so that an ASSERT used as a statement
 * with a constant expression (ASSERTMSG("unexpected", FALSE)) draws no -Wunused-value. */
FORCEINLINE BOOLEAN IrpkitAssertionResult(int Value) { return (BOOLEAN)(Value != 0); }

#if DBG
#define ASSERT(exp) \
    IrpkitAssertionResult((!(exp)) ? (RtlAssert((PVOID)#exp, (PVOID)__FILE__, __LINE__, NULL), FALSE) : TRUE)
#define ASSERTMSG(msg, exp) \
    IrpkitAssertionResult((!(exp)) ? (RtlAssert((PVOID)#exp, (PVOID)__FILE__, __LINE__, (PSTR)(msg)), FALSE) : TRUE)
#define RTL_SOFT_ASSERT(exp) \
    IrpkitAssertionResult((!(exp)) ? (DbgPrint("%s(%d): Soft assertion failed\n   Expression: %s\n", __FILE__, __LINE__, #exp), FALSE) : TRUE)
#define RTL_SOFT_ASSERTMSG(msg, exp) \
    IrpkitAssertionResult((!(exp)) ? (DbgPrint("%s(%d): Soft assertion failed\n   Expression: %s\n   Message: %s\n", \
                          __FILE__, __LINE__, #exp, (msg)), FALSE) : TRUE)
#define RTL_VERIFY(exp) ASSERT(exp)
#define RTL_VERIFYMSG(msg, exp) ASSERTMSG(msg, exp)
#define RTL_SOFT_VERIFY(exp) RTL_SOFT_ASSERT(exp)
#define RTL_SOFT_VERIFYMSG(msg, exp) RTL_SOFT_ASSERTMSG(msg, exp)
#define NT_ASSERT(exp) ASSERT(exp)
#define NT_ASSERTMSG(msg, exp) ASSERTMSG(msg, exp)
#define NT_ASSERTMSGW(msg, exp) ASSERT(exp)
#define NT_VERIFY(exp) ASSERT(exp)
#define NT_VERIFYMSG(msg, exp) ASSERTMSG(msg, exp)
#define NT_VERIFYMSGW(msg, exp) ASSERT(exp)
#define KdPrint(_x_) DbgPrint _x_
#define KdPrintEx(_x_) DbgPrintEx _x_
#define vKdPrintEx(_x_) vDbgPrintEx _x_
#define vKdPrintExWithPrefix(_x_) vDbgPrintExWithPrefix _x_
#define KdBreakPoint() DbgBreakPoint()
#define KdBreakPointWithStatus(s) ((void)(s), DbgBreakPoint())
#else
/* Free build: nothing is evaluated, but the operands stay referenced (in sizeof, which
 * evaluates nothing), so a local set only for an ASSERT or a KdPrint draws no
 * -Wunused-but-set-variable. */
#define IRPKIT_UNEVALUATED(exp) ((void)sizeof((exp) ? 1 : 0))
#define ASSERT(exp) IRPKIT_UNEVALUATED(exp)
#define ASSERTMSG(msg, exp) ((void)sizeof(msg), IRPKIT_UNEVALUATED(exp))
#define RTL_SOFT_ASSERT(exp) IRPKIT_UNEVALUATED(exp)
#define RTL_SOFT_ASSERTMSG(msg, exp) ((void)sizeof(msg), IRPKIT_UNEVALUATED(exp))
#define RTL_VERIFY(exp) IrpkitAssertionResult((exp) ? TRUE : FALSE)
#define RTL_VERIFYMSG(msg, exp) IrpkitAssertionResult((exp) ? TRUE : FALSE)
#define RTL_SOFT_VERIFY(exp) IrpkitAssertionResult((exp) ? TRUE : FALSE)
#define RTL_SOFT_VERIFYMSG(msg, exp) IrpkitAssertionResult((exp) ? TRUE : FALSE)
#define NT_ASSERT(exp) IRPKIT_UNEVALUATED(exp)
#define NT_ASSERTMSG(msg, exp) ((void)sizeof(msg), IRPKIT_UNEVALUATED(exp))
#define NT_ASSERTMSGW(msg, exp) ((void)sizeof(msg), IRPKIT_UNEVALUATED(exp))
#define NT_VERIFY(exp) IrpkitAssertionResult((exp) ? TRUE : FALSE)
#define NT_VERIFYMSG(msg, exp) IrpkitAssertionResult((exp) ? TRUE : FALSE)
#define NT_VERIFYMSGW(msg, exp) IrpkitAssertionResult((exp) ? TRUE : FALSE)
#define KdPrint(_x_) ((void)sizeof(DbgPrint _x_))
#define KdPrintEx(_x_) ((void)sizeof(DbgPrintEx _x_))
#define vKdPrintEx(_x_) ((void)sizeof(vDbgPrintEx _x_))
#define vKdPrintExWithPrefix(_x_) ((void)sizeof(vDbgPrintExWithPrefix _x_))
#define KdBreakPoint() ((void)0)
#define KdBreakPointWithStatus(s) ((void)sizeof(s))
#endif
#ifndef VERIFY
#define VERIFY(exp) NT_VERIFY(exp)
#endif
#define NT_ANALYSIS_ASSUME(exp) ((void)0)
#define NT_FRE_ASSERT(exp) \
    IrpkitAssertionResult((!(exp)) ? (RtlAssert((PVOID)#exp, (PVOID)__FILE__, __LINE__, NULL), FALSE) : TRUE)
#define NT_FRE_ASSERTMSG(msg, exp) \
    IrpkitAssertionResult((!(exp)) ? (RtlAssert((PVOID)#exp, (PVOID)__FILE__, __LINE__, (PSTR)(msg)), FALSE) : TRUE)

/* Pageable code must run at or below APC_LEVEL: irpkit checks it in every build. */
#define PAGED_CODE() IrpkitPagedCode(__FILE__, __LINE__)
#define PAGED_CODE_LOCKED() ((void)0)
#define PAGED_ASSERT(exp) ASSERT(exp)

/* ==========================================================================================
 * 7. Basic data structures and their inline routines
 * ======================================================================================== */

/* Doubly linked circular lists. */
typedef struct _LIST_ENTRY {
    struct _LIST_ENTRY *Flink;
    struct _LIST_ENTRY *Blink;
} LIST_ENTRY, *PLIST_ENTRY, *RESTRICTED_POINTER PRLIST_ENTRY;

/* Singly linked lists. */
typedef struct _SINGLE_LIST_ENTRY {
    struct _SINGLE_LIST_ENTRY *Next;
} SINGLE_LIST_ENTRY, *PSINGLE_LIST_ENTRY;

/* Like the WDK's, the list routines check the neighbours' links before they change them
 * (define NO_KERNEL_LIST_ENTRY_CHECKS to opt out). Where Windows fails fast
 * (KERNEL_SECURITY_CHECK_FAILURE), irpkit reports through RtlAssert and goes on. */
#ifndef NO_KERNEL_LIST_ENTRY_CHECKS
FORCEINLINE VOID IrpkitListEntryCorrupted(const char *Routine)
{
    RtlAssert((PVOID)"LIST_ENTRY links are consistent", (PVOID)Routine, 0,
              (PSTR)"corrupted LIST_ENTRY (a KERNEL_SECURITY_CHECK_FAILURE bug check on Windows)");
}
#define IRPKIT_LIST_CHECK(cond, routine) \
    do { if (!(cond)) IrpkitListEntryCorrupted(routine); } while (0)
#else
#define IRPKIT_LIST_CHECK(cond, routine) ((void)0)
#endif

FORCEINLINE VOID InitializeListHead(PLIST_ENTRY ListHead)
{
    ListHead->Flink = ListHead->Blink = ListHead;
}

FORCEINLINE BOOLEAN IsListEmpty(const LIST_ENTRY *ListHead)
{
    return (BOOLEAN)(ListHead->Flink == ListHead);
}

/* Unlinks Entry; TRUE if the list is now empty. */
FORCEINLINE BOOLEAN RemoveEntryList(PLIST_ENTRY Entry)
{
    PLIST_ENTRY Next = Entry->Flink;
    PLIST_ENTRY Prev = Entry->Blink;
    IRPKIT_LIST_CHECK(Next->Blink == Entry && Prev->Flink == Entry, "RemoveEntryList");
    Prev->Flink = Next;
    Next->Blink = Prev;
    return (BOOLEAN)(Prev == Next);
}

/* The first entry, unlinked (the head itself if the list is empty). */
FORCEINLINE PLIST_ENTRY RemoveHeadList(PLIST_ENTRY ListHead)
{
    PLIST_ENTRY Entry = ListHead->Flink;
    PLIST_ENTRY Next = Entry->Flink;
    IRPKIT_LIST_CHECK(Entry->Blink == ListHead && Next->Blink == Entry, "RemoveHeadList");
    ListHead->Flink = Next;
    Next->Blink = ListHead;
    return Entry;
}

/* The last entry, unlinked (the head itself if the list is empty). */
FORCEINLINE PLIST_ENTRY RemoveTailList(PLIST_ENTRY ListHead)
{
    PLIST_ENTRY Entry = ListHead->Blink;
    PLIST_ENTRY Prev = Entry->Blink;
    IRPKIT_LIST_CHECK(Entry->Flink == ListHead && Prev->Flink == Entry, "RemoveTailList");
    ListHead->Blink = Prev;
    Prev->Flink = ListHead;
    return Entry;
}

FORCEINLINE VOID InsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry)
{
    PLIST_ENTRY Prev = ListHead->Blink;
    IRPKIT_LIST_CHECK(Prev->Flink == ListHead, "InsertTailList");
    Entry->Flink = ListHead;
    Entry->Blink = Prev;
    Prev->Flink = Entry;
    ListHead->Blink = Entry;
}

FORCEINLINE VOID InsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry)
{
    PLIST_ENTRY Next = ListHead->Flink;
    IRPKIT_LIST_CHECK(Next->Blink == ListHead, "InsertHeadList");
    Entry->Flink = Next;
    Entry->Blink = ListHead;
    Next->Blink = Entry;
    ListHead->Flink = Entry;
}

/* Splices the ring ListToAppend (its first entry; it has no separate head) onto the tail
 * of ListHead. */
FORCEINLINE VOID AppendTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListToAppend)
{
    PLIST_ENTRY ListEnd = ListHead->Blink;
    ListHead->Blink->Flink = ListToAppend;
    ListHead->Blink = ListToAppend->Blink;
    ListToAppend->Blink->Flink = ListHead;
    ListToAppend->Blink = ListEnd;
}

FORCEINLINE VOID PushEntryList(PSINGLE_LIST_ENTRY ListHead, PSINGLE_LIST_ENTRY Entry)
{
    Entry->Next = ListHead->Next;
    ListHead->Next = Entry;
}

FORCEINLINE PSINGLE_LIST_ENTRY PopEntryList(PSINGLE_LIST_ENTRY ListHead)
{
    PSINGLE_LIST_ENTRY FirstEntry = ListHead->Next;
    if (FirstEntry != NULL) {
        ListHead->Next = FirstEntry->Next;
    }
    return FirstEntry;
}

/* Counted strings. Length and MaximumLength are in bytes; the buffer need not be
 * NUL-terminated. */
typedef struct _UNICODE_STRING {
    USHORT Length;
    USHORT MaximumLength;
    PWCH Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;

typedef struct _STRING {
    USHORT Length;
    USHORT MaximumLength;
    PCHAR Buffer;
} STRING, *PSTRING;
typedef STRING ANSI_STRING, *PANSI_STRING;
typedef STRING OEM_STRING, *POEM_STRING;
typedef const STRING *PCANSI_STRING, *PCOEM_STRING;

typedef struct _CSTRING {
    USHORT Length;
    USHORT MaximumLength;
    const char *Buffer;
} CSTRING, *PCSTRING;

#define UNICODE_NULL ((WCHAR)0)
#define ANSI_NULL ((CHAR)0)
#define UNICODE_STRING_MAX_BYTES ((USHORT)65534)
#define UNICODE_STRING_MAX_CHARS (32767)

/* An initializer for a counted string over a literal or array: works for both L"..."
 * (UNICODE_STRING) and "..." (STRING/ANSI_STRING). */
#define RTL_CONSTANT_STRING(s) \
    { (USHORT)(sizeof(s) - sizeof((s)[0])), (USHORT)sizeof(s), (void *)(s) }

#define DECLARE_CONST_UNICODE_STRING(_var, _string)                                      \
    const WCHAR _var##_buffer[] = _string;                                               \
    const UNICODE_STRING _var = { (USHORT)(sizeof(_string) - sizeof(WCHAR)),             \
                                  (USHORT)sizeof(_string), (PWCH)_var##_buffer }

#define DECLARE_UNICODE_STRING_SIZE(_var, _size)                                         \
    WCHAR _var##_buffer[_size];                                                          \
    UNICODE_STRING _var = { 0, (USHORT)((_size) * sizeof(WCHAR)), _var##_buffer }

#define DECLARE_GLOBAL_CONST_UNICODE_STRING(_var, _str) \
    DECLSPEC_SELECTANY const UNICODE_STRING _var = RTL_CONSTANT_STRING(_str)

/* Object attributes (ZwCreateFile, PsCreateSystemThread, ...). */
typedef struct _OBJECT_ATTRIBUTES {
    ULONG Length;
    HANDLE RootDirectory;
    PUNICODE_STRING ObjectName;
    ULONG Attributes;
    PVOID SecurityDescriptor;
    PVOID SecurityQualityOfService;
} OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES;
typedef const OBJECT_ATTRIBUTES *PCOBJECT_ATTRIBUTES;

#define InitializeObjectAttributes(p, n, a, r, s) \
    do {                                          \
        (p)->Length = sizeof(OBJECT_ATTRIBUTES);  \
        (p)->RootDirectory = (r);                 \
        (p)->Attributes = (a);                    \
        (p)->ObjectName = (n);                    \
        (p)->SecurityDescriptor = (s);            \
        (p)->SecurityQualityOfService = NULL;     \
    } while (0)

#define RTL_CONSTANT_OBJECT_ATTRIBUTES(n, a) \
    { sizeof(OBJECT_ATTRIBUTES), NULL, RTL_CONST_CAST(PUNICODE_STRING)(n), (a), NULL, NULL }
#define RTL_INIT_OBJECT_ATTRIBUTES(n, a) RTL_CONSTANT_OBJECT_ATTRIBUTES(n, a)

typedef struct _CLIENT_ID {
    HANDLE UniqueProcess;
    HANDLE UniqueThread;
} CLIENT_ID, *PCLIENT_ID;

/* The final status of a request and a request-dependent value (usually bytes moved). */
typedef struct _IO_STATUS_BLOCK {
    union {
        NTSTATUS Status;
        PVOID Pointer;
    };
    ULONG_PTR Information;
} IO_STATUS_BLOCK, *PIO_STATUS_BLOCK;

_Static_assert(sizeof(LIST_ENTRY) == 2 * sizeof(void *), "irpkit: LIST_ENTRY layout");
_Static_assert(sizeof(UNICODE_STRING) == 2 * sizeof(void *) && __builtin_offsetof(UNICODE_STRING, Buffer) == sizeof(void *),
               "irpkit: UNICODE_STRING layout");
_Static_assert(sizeof(IO_STATUS_BLOCK) == 2 * sizeof(void *) && __builtin_offsetof(IO_STATUS_BLOCK, Information) == sizeof(void *),
               "irpkit: IO_STATUS_BLOCK layout");
_Static_assert(sizeof(OBJECT_ATTRIBUTES) == 6 * sizeof(void *), "irpkit: OBJECT_ATTRIBUTES layout");

/* The Interlocked family: sequentially consistent atomic operations (the Acquire,
 * Release and NoFence variants are the same operations, at least as strong). Each returns
 * what the WDK's does: Increment/Decrement/Add the new value, Exchange/ExchangeAdd/Or/
 * And/Xor the old one, CompareExchange the initial value of the destination. */
#define IRPKIT_SEQ __ATOMIC_SEQ_CST

FORCEINLINE LONG InterlockedIncrement(LONG volatile *Addend) { return __atomic_add_fetch(Addend, 1, IRPKIT_SEQ); }
FORCEINLINE LONG InterlockedDecrement(LONG volatile *Addend) { return __atomic_sub_fetch(Addend, 1, IRPKIT_SEQ); }
FORCEINLINE LONG InterlockedExchange(LONG volatile *Target, LONG Value) { return __atomic_exchange_n(Target, Value, IRPKIT_SEQ); }
FORCEINLINE LONG InterlockedExchangeAdd(LONG volatile *Addend, LONG Value) { return __atomic_fetch_add(Addend, Value, IRPKIT_SEQ); }
FORCEINLINE LONG InterlockedAdd(LONG volatile *Addend, LONG Value) { return __atomic_add_fetch(Addend, Value, IRPKIT_SEQ); }
FORCEINLINE LONG InterlockedCompareExchange(LONG volatile *Destination, LONG ExChange, LONG Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, IRPKIT_SEQ, IRPKIT_SEQ);
    return Comperand;
}
FORCEINLINE LONG InterlockedOr(LONG volatile *Destination, LONG Value) { return __atomic_fetch_or(Destination, Value, IRPKIT_SEQ); }
FORCEINLINE LONG InterlockedAnd(LONG volatile *Destination, LONG Value) { return __atomic_fetch_and(Destination, Value, IRPKIT_SEQ); }
FORCEINLINE LONG InterlockedXor(LONG volatile *Destination, LONG Value) { return __atomic_fetch_xor(Destination, Value, IRPKIT_SEQ); }

FORCEINLINE LONG64 InterlockedIncrement64(LONG64 volatile *Addend) { return __atomic_add_fetch(Addend, 1, IRPKIT_SEQ); }
FORCEINLINE LONG64 InterlockedDecrement64(LONG64 volatile *Addend) { return __atomic_sub_fetch(Addend, 1, IRPKIT_SEQ); }
FORCEINLINE LONG64 InterlockedExchange64(LONG64 volatile *Target, LONG64 Value) { return __atomic_exchange_n(Target, Value, IRPKIT_SEQ); }
FORCEINLINE LONG64 InterlockedExchangeAdd64(LONG64 volatile *Addend, LONG64 Value) { return __atomic_fetch_add(Addend, Value, IRPKIT_SEQ); }
FORCEINLINE LONG64 InterlockedAdd64(LONG64 volatile *Addend, LONG64 Value) { return __atomic_add_fetch(Addend, Value, IRPKIT_SEQ); }
FORCEINLINE LONG64 InterlockedCompareExchange64(LONG64 volatile *Destination, LONG64 ExChange, LONG64 Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, IRPKIT_SEQ, IRPKIT_SEQ);
    return Comperand;
}
FORCEINLINE LONG64 InterlockedOr64(LONG64 volatile *Destination, LONG64 Value) { return __atomic_fetch_or(Destination, Value, IRPKIT_SEQ); }
FORCEINLINE LONG64 InterlockedAnd64(LONG64 volatile *Destination, LONG64 Value) { return __atomic_fetch_and(Destination, Value, IRPKIT_SEQ); }
FORCEINLINE LONG64 InterlockedXor64(LONG64 volatile *Destination, LONG64 Value) { return __atomic_fetch_xor(Destination, Value, IRPKIT_SEQ); }

FORCEINLINE SHORT InterlockedIncrement16(SHORT volatile *Addend) { return __atomic_add_fetch(Addend, 1, IRPKIT_SEQ); }
FORCEINLINE SHORT InterlockedDecrement16(SHORT volatile *Addend) { return __atomic_sub_fetch(Addend, 1, IRPKIT_SEQ); }
FORCEINLINE SHORT InterlockedExchange16(SHORT volatile *Target, SHORT Value) { return __atomic_exchange_n(Target, Value, IRPKIT_SEQ); }
FORCEINLINE SHORT InterlockedCompareExchange16(SHORT volatile *Destination, SHORT ExChange, SHORT Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, IRPKIT_SEQ, IRPKIT_SEQ);
    return Comperand;
}
FORCEINLINE SHORT InterlockedOr16(SHORT volatile *Destination, SHORT Value) { return __atomic_fetch_or(Destination, Value, IRPKIT_SEQ); }
FORCEINLINE SHORT InterlockedAnd16(SHORT volatile *Destination, SHORT Value) { return __atomic_fetch_and(Destination, Value, IRPKIT_SEQ); }
FORCEINLINE SHORT InterlockedXor16(SHORT volatile *Destination, SHORT Value) { return __atomic_fetch_xor(Destination, Value, IRPKIT_SEQ); }

FORCEINLINE CHAR InterlockedExchange8(CHAR volatile *Target, CHAR Value) { return __atomic_exchange_n(Target, Value, IRPKIT_SEQ); }
FORCEINLINE CHAR InterlockedCompareExchange8(CHAR volatile *Destination, CHAR ExChange, CHAR Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, IRPKIT_SEQ, IRPKIT_SEQ);
    return Comperand;
}
FORCEINLINE CHAR InterlockedOr8(CHAR volatile *Destination, CHAR Value) { return __atomic_fetch_or(Destination, Value, IRPKIT_SEQ); }
FORCEINLINE CHAR InterlockedAnd8(CHAR volatile *Destination, CHAR Value) { return __atomic_fetch_and(Destination, Value, IRPKIT_SEQ); }
FORCEINLINE CHAR InterlockedXor8(CHAR volatile *Destination, CHAR Value) { return __atomic_fetch_xor(Destination, Value, IRPKIT_SEQ); }

FORCEINLINE PVOID InterlockedExchangePointer(PVOID volatile *Target, PVOID Value)
{
    return __atomic_exchange_n(Target, Value, IRPKIT_SEQ);
}
FORCEINLINE PVOID InterlockedCompareExchangePointer(PVOID volatile *Destination, PVOID ExChange, PVOID Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, IRPKIT_SEQ, IRPKIT_SEQ);
    return Comperand;
}

/* Bit tests: Bit is the bit's number counted from Base's least significant bit. */
FORCEINLINE BOOLEAN InterlockedBitTestAndSet(LONG volatile *Base, LONG Bit)
{
    LONG mask = (LONG)(1U << (Bit & 31));
    return (BOOLEAN)((__atomic_fetch_or(&Base[Bit >> 5], mask, IRPKIT_SEQ) & mask) != 0);
}
FORCEINLINE BOOLEAN InterlockedBitTestAndReset(LONG volatile *Base, LONG Bit)
{
    LONG mask = (LONG)(1U << (Bit & 31));
    return (BOOLEAN)((__atomic_fetch_and(&Base[Bit >> 5], ~mask, IRPKIT_SEQ) & mask) != 0);
}
FORCEINLINE BOOLEAN InterlockedBitTestAndComplement(LONG volatile *Base, LONG Bit)
{
    LONG mask = (LONG)(1U << (Bit & 31));
    return (BOOLEAN)((__atomic_fetch_xor(&Base[Bit >> 5], mask, IRPKIT_SEQ) & mask) != 0);
}
FORCEINLINE BOOLEAN BitTest(const LONG *Base, LONG Offset)
{
    return (BOOLEAN)((Base[Offset >> 5] >> (Offset & 31)) & 1);
}
FORCEINLINE BOOLEAN BitTestAndSet(LONG *Base, LONG Offset)
{
    LONG mask = (LONG)(1U << (Offset & 31));
    BOOLEAN old = (BOOLEAN)((Base[Offset >> 5] & mask) != 0);
    Base[Offset >> 5] |= mask;
    return old;
}
FORCEINLINE BOOLEAN BitTestAndReset(LONG *Base, LONG Offset)
{
    LONG mask = (LONG)(1U << (Offset & 31));
    BOOLEAN old = (BOOLEAN)((Base[Offset >> 5] & mask) != 0);
    Base[Offset >> 5] &= ~mask;
    return old;
}
FORCEINLINE BOOLEAN BitTestAndComplement(LONG *Base, LONG Offset)
{
    LONG mask = (LONG)(1U << (Offset & 31));
    BOOLEAN old = (BOOLEAN)((Base[Offset >> 5] & mask) != 0);
    Base[Offset >> 5] ^= mask;
    return old;
}
FORCEINLINE BOOLEAN BitScanForward(ULONG *Index, ULONG Mask)
{
    if (Mask == 0) return FALSE;
    *Index = (ULONG)__builtin_ctz(Mask);
    return TRUE;
}
FORCEINLINE BOOLEAN BitScanReverse(ULONG *Index, ULONG Mask)
{
    if (Mask == 0) return FALSE;
    *Index = 31U - (ULONG)__builtin_clz(Mask);
    return TRUE;
}
FORCEINLINE BOOLEAN BitScanForward64(ULONG *Index, ULONG64 Mask)
{
    if (Mask == 0) return FALSE;
    *Index = (ULONG)__builtin_ctzll(Mask);
    return TRUE;
}
FORCEINLINE BOOLEAN BitScanReverse64(ULONG *Index, ULONG64 Mask)
{
    if (Mask == 0) return FALSE;
    *Index = 63U - (ULONG)__builtin_clzll(Mask);
    return TRUE;
}

/* The intrinsic spellings and the ordering variants. */
#define _InterlockedIncrement               InterlockedIncrement
#define _InterlockedDecrement               InterlockedDecrement
#define _InterlockedExchange                InterlockedExchange
#define _InterlockedExchangeAdd             InterlockedExchangeAdd
#define _InterlockedCompareExchange         InterlockedCompareExchange
#define _InterlockedOr                      InterlockedOr
#define _InterlockedAnd                     InterlockedAnd
#define _InterlockedXor                     InterlockedXor
#define _InterlockedIncrement64             InterlockedIncrement64
#define _InterlockedDecrement64             InterlockedDecrement64
#define _InterlockedExchange64              InterlockedExchange64
#define _InterlockedExchangeAdd64           InterlockedExchangeAdd64
#define _InterlockedCompareExchange64       InterlockedCompareExchange64
#define _InterlockedOr64                    InterlockedOr64
#define _InterlockedAnd64                   InterlockedAnd64
#define _InterlockedXor64                   InterlockedXor64
#define _InterlockedIncrement16             InterlockedIncrement16
#define _InterlockedDecrement16             InterlockedDecrement16
#define _InterlockedExchange16              InterlockedExchange16
#define _InterlockedCompareExchange16       InterlockedCompareExchange16
#define _InterlockedOr16                    InterlockedOr16
#define _InterlockedAnd16                   InterlockedAnd16
#define _InterlockedXor16                   InterlockedXor16
#define _InterlockedExchange8               InterlockedExchange8
#define _InterlockedCompareExchange8        InterlockedCompareExchange8
#define _InterlockedOr8                     InterlockedOr8
#define _InterlockedAnd8                    InterlockedAnd8
#define _InterlockedXor8                    InterlockedXor8
#define _InterlockedExchangePointer         InterlockedExchangePointer
#define _InterlockedCompareExchangePointer  InterlockedCompareExchangePointer
#define _interlockedbittestandset           InterlockedBitTestAndSet
#define _interlockedbittestandreset         InterlockedBitTestAndReset
#define _bittest                            BitTest
#define _bittestandset                      BitTestAndSet
#define _bittestandreset                    BitTestAndReset
#define _bittestandcomplement               BitTestAndComplement
#define _BitScanForward                     BitScanForward
#define _BitScanReverse                     BitScanReverse
#define _BitScanForward64                   BitScanForward64
#define _BitScanReverse64                   BitScanReverse64

#define InterlockedIncrementAcquire         InterlockedIncrement
#define InterlockedIncrementRelease         InterlockedIncrement
#define InterlockedIncrementNoFence         InterlockedIncrement
#define InterlockedDecrementAcquire         InterlockedDecrement
#define InterlockedDecrementRelease         InterlockedDecrement
#define InterlockedDecrementNoFence         InterlockedDecrement
#define InterlockedExchangeAcquire          InterlockedExchange
#define InterlockedExchangeNoFence          InterlockedExchange
#define InterlockedExchangeAddAcquire       InterlockedExchangeAdd
#define InterlockedExchangeAddRelease       InterlockedExchangeAdd
#define InterlockedExchangeAddNoFence       InterlockedExchangeAdd
#define InterlockedAddAcquire               InterlockedAdd
#define InterlockedAddRelease               InterlockedAdd
#define InterlockedAddNoFence               InterlockedAdd
#define InterlockedCompareExchangeAcquire   InterlockedCompareExchange
#define InterlockedCompareExchangeRelease   InterlockedCompareExchange
#define InterlockedCompareExchangeNoFence   InterlockedCompareExchange
#define InterlockedOrAcquire                InterlockedOr
#define InterlockedOrRelease                InterlockedOr
#define InterlockedOrNoFence                InterlockedOr
#define InterlockedAndAcquire               InterlockedAnd
#define InterlockedAndRelease               InterlockedAnd
#define InterlockedAndNoFence               InterlockedAnd
#define InterlockedXorAcquire               InterlockedXor
#define InterlockedXorRelease               InterlockedXor
#define InterlockedXorNoFence               InterlockedXor
#define InterlockedIncrementAcquire64       InterlockedIncrement64
#define InterlockedIncrementRelease64       InterlockedIncrement64
#define InterlockedIncrementNoFence64       InterlockedIncrement64
#define InterlockedDecrementAcquire64       InterlockedDecrement64
#define InterlockedDecrementRelease64       InterlockedDecrement64
#define InterlockedDecrementNoFence64       InterlockedDecrement64
#define InterlockedExchangeAcquire64        InterlockedExchange64
#define InterlockedExchangeNoFence64        InterlockedExchange64
#define InterlockedExchangeAddAcquire64     InterlockedExchangeAdd64
#define InterlockedExchangeAddRelease64     InterlockedExchangeAdd64
#define InterlockedExchangeAddNoFence64     InterlockedExchangeAdd64
#define InterlockedAddAcquire64             InterlockedAdd64
#define InterlockedAddRelease64             InterlockedAdd64
#define InterlockedAddNoFence64             InterlockedAdd64
#define InterlockedCompareExchangeAcquire64 InterlockedCompareExchange64
#define InterlockedCompareExchangeRelease64 InterlockedCompareExchange64
#define InterlockedCompareExchangeNoFence64 InterlockedCompareExchange64
#define InterlockedOr64Acquire              InterlockedOr64
#define InterlockedOr64Release              InterlockedOr64
#define InterlockedOr64NoFence              InterlockedOr64
#define InterlockedAnd64Acquire             InterlockedAnd64
#define InterlockedAnd64Release             InterlockedAnd64
#define InterlockedAnd64NoFence             InterlockedAnd64
#define InterlockedExchangePointerAcquire   InterlockedExchangePointer
#define InterlockedExchangePointerNoFence   InterlockedExchangePointer
#define InterlockedCompareExchangePointerAcquire InterlockedCompareExchangePointer
#define InterlockedCompareExchangePointerRelease InterlockedCompareExchangePointer
#define InterlockedCompareExchangePointerNoFence InterlockedCompareExchangePointer

/* Pointer-sized (SIZE_T / ULONG_PTR) forms over the 64-bit operations. */
#define InterlockedExchangeAddSizeT(a, b) \
    ((SIZE_T)InterlockedExchangeAdd64((LONG64 volatile *)(a), (LONG64)(b)))
#define InterlockedIncrementSizeT(a) ((SIZE_T)InterlockedIncrement64((LONG64 volatile *)(a)))
#define InterlockedDecrementSizeT(a) ((SIZE_T)InterlockedDecrement64((LONG64 volatile *)(a)))
#define InterlockedExchangeAddSizeTNoFence InterlockedExchangeAddSizeT
#define InterlockedIncrementSizeTNoFence   InterlockedIncrementSizeT
#define InterlockedDecrementSizeTNoFence   InterlockedDecrementSizeT

/* Plain loads and stores with ordering (ReadAcquire ... WriteNoFence). */
FORCEINLINE LONG ReadAcquire(LONG const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_ACQUIRE); }
FORCEINLINE LONG ReadNoFence(LONG const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_RELAXED); }
FORCEINLINE VOID WriteRelease(LONG volatile *Destination, LONG Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELEASE); }
FORCEINLINE VOID WriteNoFence(LONG volatile *Destination, LONG Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELAXED); }
FORCEINLINE LONG64 ReadAcquire64(LONG64 const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_ACQUIRE); }
FORCEINLINE LONG64 ReadNoFence64(LONG64 const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_RELAXED); }
FORCEINLINE VOID WriteRelease64(LONG64 volatile *Destination, LONG64 Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELEASE); }
FORCEINLINE VOID WriteNoFence64(LONG64 volatile *Destination, LONG64 Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELAXED); }
FORCEINLINE ULONG ReadULongAcquire(ULONG const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_ACQUIRE); }
FORCEINLINE ULONG ReadULongNoFence(ULONG const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_RELAXED); }
FORCEINLINE VOID WriteULongRelease(ULONG volatile *Destination, ULONG Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELEASE); }
FORCEINLINE VOID WriteULongNoFence(ULONG volatile *Destination, ULONG Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELAXED); }
FORCEINLINE BOOLEAN ReadBooleanAcquire(BOOLEAN const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_ACQUIRE); }
FORCEINLINE BOOLEAN ReadBooleanNoFence(BOOLEAN const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_RELAXED); }
FORCEINLINE VOID WriteBooleanRelease(BOOLEAN volatile *Destination, BOOLEAN Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELEASE); }
FORCEINLINE VOID WriteBooleanNoFence(BOOLEAN volatile *Destination, BOOLEAN Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELAXED); }
FORCEINLINE PVOID ReadPointerAcquire(PVOID const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_ACQUIRE); }
FORCEINLINE PVOID ReadPointerNoFence(PVOID const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_RELAXED); }
FORCEINLINE VOID WritePointerRelease(PVOID volatile *Destination, PVOID Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELEASE); }
FORCEINLINE VOID WritePointerNoFence(PVOID volatile *Destination, PVOID Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELAXED); }

/* Barriers. */
#define _ReadWriteBarrier() __asm__ __volatile__("" ::: "memory")
#define _ReadBarrier() _ReadWriteBarrier()
#define _WriteBarrier() _ReadWriteBarrier()
#define KeMemoryBarrier() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define KeMemoryBarrierWithoutFence() _ReadWriteBarrier()
#define MemoryBarrier() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define FastFence() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define LoadFence() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define StoreFence() __atomic_thread_fence(__ATOMIC_RELEASE)
#if defined(__x86_64__) || defined(__i386__)
#define YieldProcessor() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define YieldProcessor() __asm__ __volatile__("yield" ::: "memory")
#else
#define YieldProcessor() ((void)0)
#endif
#define KeYieldProcessor() YieldProcessor()

/* Memory (the C library's, which -fshort-wchar leaves alone). */
#define RtlEqualMemory(Destination, Source, Length) (!memcmp((Destination), (Source), (Length)))
#define RtlMoveMemory(Destination, Source, Length) memmove((Destination), (Source), (Length))
#define RtlCopyMemory(Destination, Source, Length) memcpy((Destination), (Source), (Length))
#define RtlFillMemory(Destination, Length, Fill) memset((Destination), (Fill), (Length))
#define RtlZeroMemory(Destination, Length) memset((Destination), 0, (Length))
#define RtlCopyBytes RtlCopyMemory
#define RtlZeroBytes RtlZeroMemory
#define RtlFillBytes RtlFillMemory
#define RtlCopyMemoryNonTemporal RtlCopyMemory

/* Zeroes memory with stores the compiler may not remove. */
FORCEINLINE PVOID RtlSecureZeroMemory(PVOID ptr, SIZE_T cnt)
{
    volatile char *vptr = (volatile char *)ptr;
    while (cnt != 0) {
        *vptr = 0;
        vptr++;
        cnt--;
    }
    return ptr;
}

#endif /* IRPKIT_WDMBASE_H */
