/*
 * irpkit_rt.c - the C half of irpkit's WDM driver runtime.
 *
 * Compiled (with the loader's driver flags, -fshort-wchar among them) together with the
 * generated jump stubs into the import library every C driver binds to. It holds what
 * is easier written in C than forwarded to the host:
 *
 *   - the DbgPrint family: the message is formatted here into a bounded buffer
 *     (IRPKIT_DBGPRINT_MAX bytes, truncated on a UTF-8 character boundary) and handed
 *     to the host as UTF-8 with IrpkitDebugOutput;
 *   - one printf engine for DbgPrint and ntstrsafe's printf forms, narrow and wide,
 *     that reads its arguments the way Windows' (LLP64) callers pass them;
 *   - ntstrsafe.h's routines;
 *   - 2-byte wide-string helpers (wcslen, _wcsicmp, ...): exported under their names
 *     and under irpkit_<name> (see the note before them);
 *   - the POBJECT_TYPE data objects (ExEventObjectType, ...), and the SDDL_DEVOBJ_*
 *     strings if wdmsec.h declares them.
 *
 * The format engine
 * -----------------
 * %[flags][width][.precision][length]conversion, flags `-+ #0`, width and precision
 * decimal or `*` (an int argument; a negative width left-justifies, a negative precision
 * is ignored). Length modifiers (Windows meanings, whatever the host's C library says):
 *   hh char, h short, l 32 bits (ULONG/LONG are int-sized: %lx reads an int), ll and
 *   L 64 bits, I64 64 bits, I32 32 bits, I / z / t / j pointer-sized or 64 bits,
 *   w wide (for c, s, Z).
 * Conversions:
 *   d i u x X o   integers; `#` gives 0x/0X (non-zero values) and a leading 0 for o.
 *   c             a char (narrow functions) or WCHAR (wide functions); %hc narrow,
 *                 %lc / %wc wide; %C is the opposite of %c.
 *   s             a NUL-terminated narrow (narrow functions) or wide (wide functions)
 *                 string; %hs narrow, %ls / %ws wide; %S is the opposite of %s.
 *   Z             a PANSI_STRING / PSTRING (%Z, %hZ) or PUNICODE_STRING (%wZ, %lZ):
 *                 exactly Length bytes are read, never a terminator.
 *   p             a pointer as 16 upper-case hex digits, as Windows x64 prints it
 *                 (0000000000ABCDEF); flags other than `-` and the width are ignored.
 *   e E f F g G a A  a double (a long double with L, converted to double as Windows'
 *                 long double is a double) through snprintf; the precision is capped at
 *                 100 and the width at 500.
 *   n             consumes its pointer and writes nothing (as Windows does by default).
 *   %%            a percent sign.
 * Anything else is copied to the output as written, consuming no argument. A NULL
 * string pointer, a NULL ANSI/UNICODE_STRING pointer or one whose Buffer is NULL prints
 * "(null)". The precision limits the characters read from a string argument (bytes or
 * WCHARs); the width counts the same units.
 * Narrow output: wide arguments are converted from UTF-16 to UTF-8 (an unpaired
 * surrogate becomes U+FFFD); narrow arguments and format text are copied byte for byte.
 * Wide output: narrow arguments are widened byte-wise (Latin-1, which is what Windows'
 * ANSI code page gives for ASCII); wide arguments are copied unchanged.
 * The engine never writes past its destination and stops at the first unit that does
 * not fit (a UTF-8 sequence or a surrogate pair is written whole or not at all).
 *
 * No libc wide-character routine is used anywhere (with -fshort-wchar they disagree
 * with this file about sizeof(wchar_t)); <wchar.h> is not included.
 */
#include <ntddk.h>
#include <ntstrsafe.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(WCHAR) == 2, "irpkit_rt.c must be compiled with -fshort-wchar");

#define IRPKIT_EXPORT __attribute__((visibility("default")))

/* ---- data objects ------------------------------------------------------------------ */

/* Each POBJECT_TYPE points at a distinct placeholder; the host finds the variables with
   dlsym and compares the values drivers pass to ObReferenceObjectByHandle. */
static char irpkit_event_type_object[16];
static char irpkit_semaphore_type_object[16];
static char irpkit_thread_type_object[16];
static char irpkit_process_type_object[16];
static char irpkit_file_type_object[16];
static char irpkit_device_type_object[16];

static POBJECT_TYPE irpkit_event_type = (POBJECT_TYPE)(void *)irpkit_event_type_object;
static POBJECT_TYPE irpkit_semaphore_type = (POBJECT_TYPE)(void *)irpkit_semaphore_type_object;
static POBJECT_TYPE irpkit_thread_type = (POBJECT_TYPE)(void *)irpkit_thread_type_object;
static POBJECT_TYPE irpkit_process_type = (POBJECT_TYPE)(void *)irpkit_process_type_object;
static POBJECT_TYPE irpkit_file_type = (POBJECT_TYPE)(void *)irpkit_file_type_object;
static POBJECT_TYPE irpkit_device_type = (POBJECT_TYPE)(void *)irpkit_device_type_object;

IRPKIT_EXPORT POBJECT_TYPE *ExEventObjectType = &irpkit_event_type;
IRPKIT_EXPORT POBJECT_TYPE *ExSemaphoreObjectType = &irpkit_semaphore_type;
IRPKIT_EXPORT POBJECT_TYPE *PsThreadType = &irpkit_thread_type;
IRPKIT_EXPORT POBJECT_TYPE *PsProcessType = &irpkit_process_type;
IRPKIT_EXPORT POBJECT_TYPE *IoFileObjectType = &irpkit_file_type;
IRPKIT_EXPORT POBJECT_TYPE *IoDeviceObjectType = &irpkit_device_type;

/* ---- output sink ------------------------------------------------------------------- */

typedef struct irpkit_sink {
    void *buf;   /* char * (narrow) or WCHAR * (wide) */
    size_t cap;  /* units that may be written (a terminator is not counted) */
    size_t len;  /* units written */
    int wide;    /* 1: WCHAR units, 0: bytes */
    int full;    /* a unit did not fit: everything after it is dropped */
} irpkit_sink;

static void sink_init(irpkit_sink *s, void *buf, size_t cap, int wide) {
    s->buf = buf;
    s->cap = cap;
    s->len = 0;
    s->wide = wide;
    s->full = 0;
}

/* Writes n units atomically: all of them, or none (and the sink is full). */
static void sink_units(irpkit_sink *s, const unsigned *u, size_t n) {
    if (s->full) return;
    if (s->cap - s->len < n) {
        s->full = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (s->wide)
            ((WCHAR *)s->buf)[s->len++] = (WCHAR)u[i];
        else
            ((char *)s->buf)[s->len++] = (char)u[i];
    }
}

static void sink_unit(irpkit_sink *s, unsigned u) {
    sink_units(s, &u, 1);
}

/* A Unicode code point: UTF-8 into a narrow sink, UTF-16 into a wide one. */
static void sink_codepoint(irpkit_sink *s, uint32_t cp) {
    unsigned u[4];
    size_t n;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) cp = 0xFFFD;
    if (s->wide) {
        if (cp >= 0x10000) {
            u[0] = 0xD800 + ((cp - 0x10000) >> 10);
            u[1] = 0xDC00 + ((cp - 0x10000) & 0x3FF);
            n = 2;
        } else {
            u[0] = cp;
            n = 1;
        }
    } else if (cp < 0x80) {
        u[0] = cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = 0xC0 | (cp >> 6);
        u[1] = 0x80 | (cp & 0x3F);
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = 0xE0 | (cp >> 12);
        u[1] = 0x80 | ((cp >> 6) & 0x3F);
        u[2] = 0x80 | (cp & 0x3F);
        n = 3;
    } else {
        u[0] = 0xF0 | (cp >> 18);
        u[1] = 0x80 | ((cp >> 12) & 0x3F);
        u[2] = 0x80 | ((cp >> 6) & 0x3F);
        u[3] = 0x80 | (cp & 0x3F);
        n = 4;
    }
    sink_units(s, u, n);
}

static void sink_repeat(irpkit_sink *s, unsigned u, long count) {
    for (long i = 0; i < count && !s->full; i++) sink_unit(s, u);
}

/* ASCII text (numbers, "(null)"): one unit per byte in either kind of sink. */
static void sink_ascii(irpkit_sink *s, const char *p, size_t n) {
    for (size_t i = 0; i < n && !s->full; i++) sink_unit(s, (unsigned char)p[i]);
}

/* Narrow argument text: bytes as-is, or widened byte-wise (Latin-1). */
static void sink_narrow(irpkit_sink *s, const char *p, size_t n) {
    sink_ascii(s, p, n);
}

/* Wide argument text: units as-is, or UTF-16 decoded to UTF-8 (n units, never more). */
static void sink_wide(irpkit_sink *s, const WCHAR *p, size_t n) {
    for (size_t i = 0; i < n && !s->full; i++) {
        uint32_t c = p[i];
        int pair = c >= 0xD800 && c < 0xDC00 && i + 1 < n && p[i + 1] >= 0xDC00 && p[i + 1] < 0xE000;
        if (s->wide) {
            /* Copied unchanged (unpaired surrogates too), a pair whole or not at all. */
            unsigned u[2] = {c, pair ? p[i + 1] : 0};
            sink_units(s, u, pair ? 2 : 1);
            i += pair;
            continue;
        }
        if (pair) {
            c = 0x10000 + ((c - 0xD800) << 10) + ((uint32_t)p[i + 1] - 0xDC00);
            i++;
        } else if (c >= 0xD800 && c < 0xE000) {
            c = 0xFFFD;
        }
        sink_codepoint(s, c);
    }
}

/* ---- the format engine ----------------------------------------------------------- */

enum irpkit_len { LEN_NONE, LEN_HH, LEN_H, LEN_32, LEN_64, LEN_PTR, LEN_LONGDOUBLE };

typedef struct irpkit_spec {
    int left, plus, space, alt, zero;
    long width;          /* 0: none */
    long prec;           /* -1: none */
    enum irpkit_len len;
    int narrow_mod;      /* h: a narrow char/string */
    int wide_mod;        /* l or w: a wide char/string */
} irpkit_spec;

#define IRPKIT_MAX_FIELD 0x3FFFFFFFL

static const char irpkit_null_text[] = "(null)";

/* One unit of a narrow or wide format string. */
static unsigned fmt_unit(const void *fmt, int wide, size_t i) {
    return wide ? (unsigned)((const WCHAR *)fmt)[i] : (unsigned)((const unsigned char *)fmt)[i];
}

static void pad(irpkit_sink *s, long count) {
    sink_repeat(s, ' ', count);
}

static void emit_integer(irpkit_sink *s, const irpkit_spec *f, unsigned long long mag, int negative,
                         int is_signed, unsigned base, int upper) {
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char digits[72];
    char prefix[3];
    long nd = 0, np = 0, zeros, total, padding;
    int nonzero = mag != 0;
    if (!(mag == 0 && f->prec == 0)) {
        do {
            digits[nd++] = set[mag % base];
            mag /= base;
        } while (mag != 0);
    }
    zeros = f->prec > nd ? f->prec - nd : 0;
    if (f->alt && base == 8 && zeros == 0 && (nd == 0 || digits[nd - 1] != '0')) zeros = 1;
    if (is_signed) {
        if (negative)
            prefix[np++] = '-';
        else if (f->plus)
            prefix[np++] = '+';
        else if (f->space)
            prefix[np++] = ' ';
    }
    if (f->alt && base == 16 && nonzero) {
        prefix[np++] = '0';
        prefix[np++] = upper ? 'X' : 'x';
    }
    total = np + zeros + nd;
    padding = f->width > total ? f->width - total : 0;
    if (!f->left && f->zero && f->prec < 0) {
        zeros += padding;
        padding = 0;
    }
    if (!f->left) pad(s, padding);
    sink_ascii(s, prefix, (size_t)np);
    sink_repeat(s, '0', zeros);
    while (nd > 0 && !s->full) sink_unit(s, (unsigned char)digits[--nd]);
    if (f->left) pad(s, padding);
}

static void emit_narrow_field(irpkit_sink *s, const irpkit_spec *f, const char *p, size_t n) {
    long padding = f->width > (long)n ? f->width - (long)n : 0;
    if (!f->left) pad(s, padding);
    sink_narrow(s, p, n);
    if (f->left) pad(s, padding);
}

static void emit_wide_field(irpkit_sink *s, const irpkit_spec *f, const WCHAR *p, size_t n) {
    long padding = f->width > (long)n ? f->width - (long)n : 0;
    if (!f->left) pad(s, padding);
    sink_wide(s, p, n);
    if (f->left) pad(s, padding);
}

static size_t limit(const irpkit_spec *f, size_t n) {
    return f->prec >= 0 && (size_t)f->prec < n ? (size_t)f->prec : n;
}

static void emit_null(irpkit_sink *s, const irpkit_spec *f) {
    emit_narrow_field(s, f, irpkit_null_text, limit(f, sizeof irpkit_null_text - 1));
}

/* A NUL-terminated narrow string: reads at most `precision` bytes. */
static void emit_narrow_string(irpkit_sink *s, const irpkit_spec *f, const char *p) {
    size_t n = 0;
    if (p == NULL) {
        emit_null(s, f);
        return;
    }
    while ((f->prec < 0 || n < (size_t)f->prec) && p[n] != 0) n++;
    emit_narrow_field(s, f, p, n);
}

/* A NUL-terminated wide string: reads at most `precision` WCHARs. */
static void emit_wide_string(irpkit_sink *s, const irpkit_spec *f, const WCHAR *p) {
    size_t n = 0;
    if (p == NULL) {
        emit_null(s, f);
        return;
    }
    while ((f->prec < 0 || n < (size_t)f->prec) && p[n] != 0) n++;
    emit_wide_field(s, f, p, n);
}

static void emit_float(irpkit_sink *s, const irpkit_spec *f, double v, unsigned conv) {
    char spec[32];
    char out[1024];
    size_t k = 0;
    int n;
    long width = f->width > 500 ? 500 : f->width;
    long prec = f->prec > 100 ? 100 : f->prec;
    spec[k++] = '%';
    if (f->left) spec[k++] = '-';
    if (f->plus) spec[k++] = '+';
    if (f->space) spec[k++] = ' ';
    if (f->alt) spec[k++] = '#';
    if (f->zero) spec[k++] = '0';
    spec[k++] = '*';
    spec[k++] = '.';
    spec[k++] = '*';
    spec[k++] = (char)conv;
    spec[k] = 0;
    if (prec < 0) {
        /* "%.*f" with a negative precision means "no precision". */
        prec = -1;
    }
    n = snprintf(out, sizeof out, spec, (int)width, (int)prec, v);
    if (n < 0) return;
    if ((size_t)n >= sizeof out) n = (int)(sizeof out - 1);
    sink_ascii(s, out, (size_t)n);
}

/* Parses a decimal field, clamped. */
static long parse_number(const void *fmt, int wide, size_t *i) {
    long v = 0;
    unsigned c;
    while ((c = fmt_unit(fmt, wide, *i)) >= '0' && c <= '9') {
        if (v < IRPKIT_MAX_FIELD) v = v * 10 + (long)(c - '0');
        if (v > IRPKIT_MAX_FIELD) v = IRPKIT_MAX_FIELD;
        (*i)++;
    }
    return v;
}

static long long read_signed(va_list *ap, enum irpkit_len len) {
    switch (len) {
    case LEN_HH: return (signed char)va_arg(*ap, int);
    case LEN_H: return (short)va_arg(*ap, int);
    case LEN_64:
    case LEN_LONGDOUBLE: return va_arg(*ap, long long);
    case LEN_PTR: return (long long)va_arg(*ap, long); /* LONG_PTR, SSIZE_T, ptrdiff_t */
    default: return va_arg(*ap, int);                  /* int, LONG (%ld), %I32d */
    }
}

static unsigned long long read_unsigned(va_list *ap, enum irpkit_len len) {
    switch (len) {
    case LEN_HH: return (unsigned char)va_arg(*ap, unsigned int);
    case LEN_H: return (unsigned short)va_arg(*ap, unsigned int);
    case LEN_64:
    case LEN_LONGDOUBLE: return va_arg(*ap, unsigned long long);
    case LEN_PTR: return va_arg(*ap, unsigned long); /* ULONG_PTR, SIZE_T */
    default: return va_arg(*ap, unsigned int);       /* unsigned, ULONG (%lx), %I32x */
    }
}

/* Copies the directive fmt[start..end) to the output as written. */
static void emit_raw(irpkit_sink *s, const void *fmt, int wide, size_t start, size_t end) {
    for (size_t k = start; k < end && !s->full; k++) sink_unit(s, fmt_unit(fmt, wide, k));
}

/* The engine. `wide` says both what the format string is made of and what the sink
   holds (the callers always pair them), and so what %s and %c mean. */
static void irpkit_format(irpkit_sink *s, const void *fmt, int wide, va_list *ap) {
    size_t i = 0;
    unsigned c;
    if (fmt == NULL) return;
    while (!s->full && (c = fmt_unit(fmt, wide, i)) != 0) {
        size_t start;
        irpkit_spec f;
        if (c != '%') {
            sink_unit(s, c);
            i++;
            continue;
        }
        start = i++;
        memset(&f, 0, sizeof f);
        f.prec = -1;
        f.len = LEN_NONE;
        for (;; i++) {
            c = fmt_unit(fmt, wide, i);
            if (c == '-')
                f.left = 1;
            else if (c == '+')
                f.plus = 1;
            else if (c == ' ')
                f.space = 1;
            else if (c == '#')
                f.alt = 1;
            else if (c == '0')
                f.zero = 1;
            else
                break;
        }
        if (c == '*') {
            long w = va_arg(*ap, int);
            if (w < 0) {
                f.left = 1;
                w = -w;
            }
            f.width = w > IRPKIT_MAX_FIELD ? IRPKIT_MAX_FIELD : w;
            i++;
        } else {
            f.width = parse_number(fmt, wide, &i);
        }
        if (fmt_unit(fmt, wide, i) == '.') {
            i++;
            if (fmt_unit(fmt, wide, i) == '*') {
                long p = va_arg(*ap, int);
                f.prec = p < 0 ? -1 : (p > IRPKIT_MAX_FIELD ? IRPKIT_MAX_FIELD : p);
                i++;
            } else {
                f.prec = parse_number(fmt, wide, &i);
            }
        }
        c = fmt_unit(fmt, wide, i);
        switch (c) {
        case 'h':
            i++;
            f.narrow_mod = 1;
            if (fmt_unit(fmt, wide, i) == 'h') {
                i++;
                f.len = LEN_HH;
            } else {
                f.len = LEN_H;
            }
            break;
        case 'l':
            i++;
            if (fmt_unit(fmt, wide, i) == 'l') {
                i++;
                f.len = LEN_64;
            } else {
                f.len = LEN_32; /* Windows' long is 32 bits */
                f.wide_mod = 1;
            }
            break;
        case 'L':
            i++;
            f.len = LEN_LONGDOUBLE;
            break;
        case 'w':
            i++;
            f.wide_mod = 1;
            break;
        case 'I':
            i++;
            if (fmt_unit(fmt, wide, i) == '6' && fmt_unit(fmt, wide, i + 1) == '4') {
                i += 2;
                f.len = LEN_64;
            } else if (fmt_unit(fmt, wide, i) == '3' && fmt_unit(fmt, wide, i + 1) == '2') {
                i += 2;
                f.len = LEN_32;
            } else {
                f.len = LEN_PTR;
            }
            break;
        case 'z':
        case 't':
            i++;
            f.len = LEN_PTR;
            break;
        case 'j':
            i++;
            f.len = LEN_64;
            break;
        default:
            break;
        }
        c = fmt_unit(fmt, wide, i);
        if (c == 0) {
            /* An unfinished directive at the end of the format: copied as written. */
            emit_raw(s, fmt, wide, start, i);
            break;
        }
        i++;
        switch (c) {
        case '%':
            sink_unit(s, '%');
            break;
        case 'd':
        case 'i': {
            long long v = read_signed(ap, f.len);
            unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
            emit_integer(s, &f, mag, v < 0, 1, 10, 0);
            break;
        }
        case 'u':
            emit_integer(s, &f, read_unsigned(ap, f.len), 0, 0, 10, 0);
            break;
        case 'x':
            emit_integer(s, &f, read_unsigned(ap, f.len), 0, 0, 16, 0);
            break;
        case 'X':
            emit_integer(s, &f, read_unsigned(ap, f.len), 0, 0, 16, 1);
            break;
        case 'o':
            emit_integer(s, &f, read_unsigned(ap, f.len), 0, 0, 8, 0);
            break;
        case 'p': {
            irpkit_spec g = f;
            void *p = va_arg(*ap, void *);
            g.prec = (long)(2 * sizeof(void *));
            g.alt = g.plus = g.space = g.zero = 0;
            emit_integer(s, &g, (unsigned long long)(uintptr_t)p, 0, 0, 16, 1);
            break;
        }
        case 'c':
        case 'C': {
            int wide_char = c == 'c' ? wide : !wide;
            int v = va_arg(*ap, int);
            if (f.narrow_mod) wide_char = 0;
            if (f.wide_mod) wide_char = 1;
            if (wide_char) {
                WCHAR w = (WCHAR)v;
                emit_wide_field(s, &f, &w, 1);
            } else {
                char ch = (char)v;
                emit_narrow_field(s, &f, &ch, 1);
            }
            break;
        }
        case 's':
        case 'S': {
            int wide_string = c == 's' ? wide : !wide;
            const void *p = va_arg(*ap, const void *);
            if (f.narrow_mod) wide_string = 0;
            if (f.wide_mod) wide_string = 1;
            if (wide_string)
                emit_wide_string(s, &f, (const WCHAR *)p);
            else
                emit_narrow_string(s, &f, (const char *)p);
            break;
        }
        case 'Z':
            if (f.wide_mod) {
                const UNICODE_STRING *u = va_arg(*ap, const UNICODE_STRING *);
                if (u == NULL || u->Buffer == NULL)
                    emit_null(s, &f);
                else
                    emit_wide_field(s, &f, u->Buffer, limit(&f, u->Length / sizeof(WCHAR)));
            } else {
                const ANSI_STRING *a = va_arg(*ap, const ANSI_STRING *);
                if (a == NULL || a->Buffer == NULL)
                    emit_null(s, &f);
                else
                    emit_narrow_field(s, &f, a->Buffer, limit(&f, a->Length));
            }
            break;
        case 'n':
            (void)va_arg(*ap, void *);
            break;
        case 'e':
        case 'E':
        case 'f':
        case 'F':
        case 'g':
        case 'G':
        case 'a':
        case 'A': {
            double v = f.len == LEN_LONGDOUBLE ? (double)va_arg(*ap, long double) : va_arg(*ap, double);
            emit_float(s, &f, v, c);
            break;
        }
        default:
            emit_raw(s, fmt, wide, start, i);
            break;
        }
    }
}

/* Formats into dst, which holds cch units (the terminator included; cch >= 1), and
   terminates it. Returns nonzero if the output was truncated; *written is the number
   of units before the terminator. */
static int format_into(void *dst, size_t cch, int wide, const void *fmt, va_list ap, size_t *written) {
    irpkit_sink s;
    va_list copy;
    sink_init(&s, dst, cch - 1, wide);
    va_copy(copy, ap);
    irpkit_format(&s, fmt, wide, &copy);
    va_end(copy);
    if (wide)
        ((WCHAR *)dst)[s.len] = 0;
    else
        ((char *)dst)[s.len] = 0;
    *written = s.len;
    return s.full;
}

/* ---- the DbgPrint family ------------------------------------------------------------ */

/* Bytes per message (the terminator included); longer messages are truncated. */
#define IRPKIT_DBGPRINT_MAX 4096

/* The length of text[0..n) without a trailing incomplete UTF-8 sequence. */
static size_t utf8_complete(const char *text, size_t n) {
    size_t k = n, continuation = 0;
    unsigned lead;
    size_t need;
    while (k > 0 && continuation < 3 && ((unsigned char)text[k - 1] & 0xC0) == 0x80) {
        k--;
        continuation++;
    }
    if (k == 0) return n;
    lead = (unsigned char)text[k - 1];
    if (lead < 0xC0) return n; /* ASCII or a stray continuation byte: leave it */
    need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    return continuation + 1 < need ? k - 1 : n;
}

static void debug_output(ULONG component, ULONG level, const char *prefix, const char *format, va_list ap) {
    char text[IRPKIT_DBGPRINT_MAX];
    irpkit_sink s;
    va_list copy;
    sink_init(&s, text, sizeof text - 1, 0);
    if (prefix != NULL) sink_narrow(&s, prefix, strlen(prefix));
    va_copy(copy, ap);
    irpkit_format(&s, format, 0, &copy);
    va_end(copy);
    if (s.full) s.len = utf8_complete(text, s.len);
    text[s.len] = 0;
    IrpkitDebugOutput(component, level, text, s.len);
}

IRPKIT_EXPORT ULONG DbgPrint(PCSTR Format, ...) {
    va_list ap;
    va_start(ap, Format);
    debug_output(DPFLTR_DEFAULT_ID, 0, NULL, Format, ap);
    va_end(ap);
    return STATUS_SUCCESS;
}

IRPKIT_EXPORT ULONG DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...) {
    va_list ap;
    va_start(ap, Format);
    debug_output(ComponentId, Level, NULL, Format, ap);
    va_end(ap);
    return STATUS_SUCCESS;
}

IRPKIT_EXPORT ULONG vDbgPrintEx(ULONG ComponentId, ULONG Level, PCCH Format, va_list arglist) {
    debug_output(ComponentId, Level, NULL, Format, arglist);
    return STATUS_SUCCESS;
}

IRPKIT_EXPORT ULONG vDbgPrintExWithPrefix(PCCH Prefix, ULONG ComponentId, ULONG Level, PCCH Format, va_list arglist) {
    debug_output(ComponentId, Level, Prefix, Format, arglist);
    return STATUS_SUCCESS;
}

/* ---- ntstrsafe: the workers -------------------------------------------------------- */

/* Units are chars (w == 1) or WCHARs (w == 2). */
static unsigned uget(const void *p, int w, size_t i) {
    return w == 1 ? (unsigned)((const unsigned char *)p)[i] : (unsigned)((const WCHAR *)p)[i];
}

static void uset(void *p, int w, size_t i, unsigned v) {
    if (w == 1)
        ((char *)p)[i] = (char)v;
    else
        ((WCHAR *)p)[i] = (WCHAR)v;
}

static void *uat(void *p, int w, size_t i) {
    return (char *)p + i * (size_t)w;
}

/* Units before the first NUL, reading at most max units (max if there is none). */
static size_t ulen(const void *p, int w, size_t max) {
    size_t n = 0;
    while (n < max && uget(p, w, n) != 0) n++;
    return n;
}

/* Copies at most max_src units of src (up to its NUL) into dst, which has room for cch
   units with the terminator (cch >= 1), and terminates it. If the source does not fit:
   with truncate, the part that fits is written; without, nothing is written. */
static NTSTATUS copy_units(void *dst, size_t cch, int w, const void *src, size_t max_src, int truncate,
                           size_t *written) {
    size_t n = 0;
    int overflow = 0;
    while (n < max_src && uget(src, w, n) != 0) {
        if (n + 1 >= cch) {
            overflow = 1;
            break;
        }
        n++;
    }
    *written = 0;
    if (overflow && !truncate) return STATUS_BUFFER_OVERFLOW;
    memmove(dst, src, n * (size_t)w);
    uset(dst, w, n, 0);
    *written = n;
    return overflow ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

enum strsafe_op { OP_COPY, OP_CAT, OP_PRINTF };

#define STRSAFE_VALID_FLAGS                                                                                 \
    (0xFFu | STRSAFE_IGNORE_NULLS | STRSAFE_FILL_BEHIND_NULL | STRSAFE_FILL_ON_FAILURE | STRSAFE_NULL_ON_FAILURE | \
     STRSAFE_NO_TRUNCATION)

typedef struct strsafe_args {
    int w;                 /* 1: char, 2: WCHAR */
    void *dst;
    size_t cch;            /* destination size in units (NTSTRSAFE_MAX_CCH + 1: oversized) */
    size_t bytes;          /* destination size in bytes (0: cch * w) */
    enum strsafe_op op;
    const void *src;       /* OP_COPY, OP_CAT */
    size_t max_src;        /* units of src to read at most */
    int n_form;            /* a ...N form: max_src came from the caller */
    const void *fmt;       /* OP_PRINTF */
    va_list *ap;           /* OP_PRINTF: a local va_list */
    int ex;                /* an Ex form: flags, NULLs, end and remaining */
    ULONG flags;
    char **end_a;          /* out (Ex): the terminator */
    WCHAR **end_w;
    size_t *remaining;     /* out (Ex): units (or bytes, with remaining_bytes) left */
    int remaining_bytes;
} strsafe_args;

/* The units a Cb form's byte count gives (oversized stays oversized). */
static size_t cb_to_cch(size_t cb, int w) {
    return cb / (size_t)w > NTSTRSAFE_MAX_CCH ? (size_t)NTSTRSAFE_MAX_CCH + 1 : cb / (size_t)w;
}

static int format_is_empty(const void *fmt, int w, va_list ap) {
    irpkit_sink s;
    va_list copy;
    sink_init(&s, NULL, 0, w == 2);
    va_copy(copy, ap);
    irpkit_format(&s, fmt, w == 2, &copy);
    va_end(copy);
    return !s.full;
}

static NTSTATUS strsafe_run(strsafe_args *a) {
    static const WCHAR empty[1] = {0};
    const int w = a->w;
    const int ignore_nulls = a->ex && (a->flags & STRSAFE_IGNORE_NULLS) != 0;
    const unsigned fill = a->flags & 0xFFu;
    size_t bytes, base = 0, len = 0, n = 0;
    const void *src = a->src, *fmt = a->fmt;
    NTSTATUS st = STATUS_SUCCESS;
    int done = 0;

    /* The destination itself: nothing is written to an invalid one. */
    if (a->ex && (a->flags & ~(ULONG)STRSAFE_VALID_FLAGS) != 0) return STATUS_INVALID_PARAMETER;
    if (a->cch > NTSTRSAFE_MAX_CCH) return STATUS_INVALID_PARAMETER;
    if (a->dst == NULL ? !(ignore_nulls && a->cch == 0) : (a->cch == 0 && !ignore_nulls))
        return STATUS_INVALID_PARAMETER;
    bytes = a->bytes != 0 ? a->bytes : a->cch * (size_t)w;

    /* The source. */
    if (a->op == OP_PRINTF) {
        if (fmt == NULL) {
            if (ignore_nulls)
                fmt = empty;
            else
                st = STATUS_INVALID_PARAMETER;
        }
    } else if (src == NULL) {
        if (ignore_nulls)
            src = empty;
        else
            st = STATUS_INVALID_PARAMETER;
    }
    if (a->n_form && a->max_src > NTSTRSAFE_MAX_LENGTH) st = STATUS_INVALID_PARAMETER;

    if (NT_SUCCESS(st) && a->cch == 0) {
        /* A NULL or zero-sized destination (STRSAFE_IGNORE_NULLS) takes only an empty result. */
        int nonempty = a->op == OP_PRINTF ? !format_is_empty(fmt, w, *a->ap)
                                          : (a->max_src > 0 && uget(src, w, 0) != 0);
        if (nonempty) return STATUS_INVALID_PARAMETER;
        if (a->end_a) *a->end_a = (char *)a->dst;
        if (a->end_w) *a->end_w = (WCHAR *)a->dst;
        if (a->remaining) *a->remaining = a->remaining_bytes ? bytes : 0;
        return STATUS_SUCCESS;
    }
    if (NT_SUCCESS(st) && a->op == OP_CAT) {
        base = ulen(a->dst, w, a->cch);
        if (base == a->cch) st = STATUS_INVALID_PARAMETER; /* not terminated within its size */
    }
    if (NT_SUCCESS(st)) {
        int truncate = !(a->ex && (a->flags & STRSAFE_NO_TRUNCATION));
        done = 1;
        if (a->op == OP_PRINTF) {
            st = format_into(a->dst, a->cch, w == 2, fmt, *a->ap, &n) ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
        } else {
            st = copy_units(uat(a->dst, w, base), a->cch - base, w, src, a->max_src, truncate, &n);
        }
        len = base + n;
    }

    if (NT_SUCCESS(st)) {
        if (a->ex && (a->flags & STRSAFE_FILL_BEHIND_NULL) && (len + 1) * (size_t)w < bytes)
            memset(uat(a->dst, w, len + 1), (int)fill, bytes - (len + 1) * (size_t)w);
    } else if (a->dst != NULL && a->cch != 0) {
        if (a->ex && (a->flags & STRSAFE_FILL_ON_FAILURE)) {
            memset(a->dst, (int)fill, bytes);
            len = fill == 0 ? 0 : a->cch - 1;
            uset(a->dst, w, len, 0);
        } else if (a->ex && (a->flags & STRSAFE_NULL_ON_FAILURE)) {
            len = 0;
            uset(a->dst, w, 0, 0);
        } else if (a->ex && (a->flags & STRSAFE_NO_TRUNCATION) && st == STATUS_BUFFER_OVERFLOW) {
            /* Copy and printf leave an empty string, Cat the destination as it was. */
            len = a->op == OP_CAT ? base : 0;
            uset(a->dst, w, len, 0);
        } else if (!done && a->op != OP_CAT) {
            /* An invalid source: a copy or printf still leaves a terminated (empty) string. */
            len = 0;
            uset(a->dst, w, 0, 0);
        }
    }
    if (NT_SUCCESS(st) || st == STATUS_BUFFER_OVERFLOW) {
        if (a->end_a) *a->end_a = (char *)uat(a->dst, w, len);
        if (a->end_w) *a->end_w = (WCHAR *)uat(a->dst, w, len);
        if (a->remaining) *a->remaining = a->remaining_bytes ? bytes - len * (size_t)w : a->cch - len;
    }
    return st;
}

static NTSTATUS strsafe_length(const void *psz, int w, size_t cch_max, size_t *out, int out_bytes) {
    size_t n;
    if (psz == NULL || cch_max == 0 || cch_max > NTSTRSAFE_MAX_CCH) {
        if (out) *out = 0;
        return STATUS_INVALID_PARAMETER;
    }
    n = ulen(psz, w, cch_max);
    if (n == cch_max) {
        if (out) *out = 0;
        return STATUS_INVALID_PARAMETER;
    }
    if (out) *out = out_bytes ? n * (size_t)w : n;
    return STATUS_SUCCESS;
}

/* ---- ntstrsafe: character-counted forms -------------------------------------------- */

#define IRPKIT_UNBOUNDED ((size_t)-1)

IRPKIT_EXPORT NTSTATUS RtlStringCchCopyA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cchDest, .op = OP_COPY, .src = pszSrc, .max_src = IRPKIT_UNBOUNDED};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchCopyW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cchDest, .op = OP_COPY, .src = pszSrc, .max_src = IRPKIT_UNBOUNDED};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchCopyExA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc,
                                           NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcchRemaining, ULONG dwFlags) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cchDest, .op = OP_COPY, .src = pszSrc,
                      .max_src = IRPKIT_UNBOUNDED, .ex = 1, .flags = dwFlags, .end_a = ppszDestEnd,
                      .remaining = pcchRemaining};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchCopyExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc,
                                           NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining, ULONG dwFlags) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cchDest, .op = OP_COPY, .src = pszSrc,
                      .max_src = IRPKIT_UNBOUNDED, .ex = 1, .flags = dwFlags, .end_w = ppszDestEnd,
                      .remaining = pcchRemaining};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchCopyNA(NTSTRSAFE_PSTR pszDest, size_t cchDest, STRSAFE_PCNZCH pszSrc,
                                          size_t cchToCopy) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cchDest, .op = OP_COPY, .src = pszSrc, .max_src = cchToCopy,
                      .n_form = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, STRSAFE_PCNZWCH pszSrc,
                                          size_t cchToCopy) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cchDest, .op = OP_COPY, .src = pszSrc, .max_src = cchToCopy,
                      .n_form = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchCopyNExA(NTSTRSAFE_PSTR pszDest, size_t cchDest, STRSAFE_PCNZCH pszSrc,
                                            size_t cchToCopy, NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcchRemaining,
                                            ULONG dwFlags) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cchDest, .op = OP_COPY, .src = pszSrc, .max_src = cchToCopy,
                      .n_form = 1, .ex = 1, .flags = dwFlags, .end_a = ppszDestEnd, .remaining = pcchRemaining};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchCopyNExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, STRSAFE_PCNZWCH pszSrc,
                                            size_t cchToCopy, NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining,
                                            ULONG dwFlags) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cchDest, .op = OP_COPY, .src = pszSrc, .max_src = cchToCopy,
                      .n_form = 1, .ex = 1, .flags = dwFlags, .end_w = ppszDestEnd, .remaining = pcchRemaining};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchCatA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cchDest, .op = OP_CAT, .src = pszSrc, .max_src = IRPKIT_UNBOUNDED};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchCatW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cchDest, .op = OP_CAT, .src = pszSrc, .max_src = IRPKIT_UNBOUNDED};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchCatExA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc,
                                          NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcchRemaining, ULONG dwFlags) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cchDest, .op = OP_CAT, .src = pszSrc,
                      .max_src = IRPKIT_UNBOUNDED, .ex = 1, .flags = dwFlags, .end_a = ppszDestEnd,
                      .remaining = pcchRemaining};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchCatExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc,
                                          NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining, ULONG dwFlags) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cchDest, .op = OP_CAT, .src = pszSrc,
                      .max_src = IRPKIT_UNBOUNDED, .ex = 1, .flags = dwFlags, .end_w = ppszDestEnd,
                      .remaining = pcchRemaining};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchCatNA(NTSTRSAFE_PSTR pszDest, size_t cchDest, STRSAFE_PCNZCH pszSrc,
                                         size_t cchToAppend) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cchDest, .op = OP_CAT, .src = pszSrc, .max_src = cchToAppend,
                      .n_form = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchCatNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, STRSAFE_PCNZWCH pszSrc,
                                         size_t cchToAppend) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cchDest, .op = OP_CAT, .src = pszSrc, .max_src = cchToAppend,
                      .n_form = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchCatNExA(NTSTRSAFE_PSTR pszDest, size_t cchDest, STRSAFE_PCNZCH pszSrc,
                                           size_t cchToAppend, NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcchRemaining,
                                           ULONG dwFlags) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cchDest, .op = OP_CAT, .src = pszSrc, .max_src = cchToAppend,
                      .n_form = 1, .ex = 1, .flags = dwFlags, .end_a = ppszDestEnd, .remaining = pcchRemaining};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchCatNExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, STRSAFE_PCNZWCH pszSrc,
                                           size_t cchToAppend, NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining,
                                           ULONG dwFlags) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cchDest, .op = OP_CAT, .src = pszSrc, .max_src = cchToAppend,
                      .n_form = 1, .ex = 1, .flags = dwFlags, .end_w = ppszDestEnd, .remaining = pcchRemaining};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchLengthA(STRSAFE_PCNZCH psz, size_t cchMax, size_t *pcchLength) {
    return strsafe_length(psz, 1, cchMax, pcchLength, 0);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchLengthW(STRSAFE_PCNZWCH psz, size_t cchMax, size_t *pcchLength) {
    return strsafe_length(psz, 2, cchMax, pcchLength, 0);
}

/* ---- ntstrsafe: byte-counted forms -------------------------------------------------- */

IRPKIT_EXPORT NTSTATUS RtlStringCbCopyA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cb_to_cch(cbDest, 1), .bytes = cbDest, .op = OP_COPY,
                      .src = pszSrc, .max_src = IRPKIT_UNBOUNDED};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbCopyW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cb_to_cch(cbDest, 2), .bytes = cbDest, .op = OP_COPY,
                      .src = pszSrc, .max_src = IRPKIT_UNBOUNDED};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbCopyExA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc,
                                          NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcbRemaining, ULONG dwFlags) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cb_to_cch(cbDest, 1), .bytes = cbDest, .op = OP_COPY,
                      .src = pszSrc, .max_src = IRPKIT_UNBOUNDED, .ex = 1, .flags = dwFlags,
                      .end_a = ppszDestEnd, .remaining = pcbRemaining, .remaining_bytes = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbCopyExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc,
                                          NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining, ULONG dwFlags) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cb_to_cch(cbDest, 2), .bytes = cbDest, .op = OP_COPY,
                      .src = pszSrc, .max_src = IRPKIT_UNBOUNDED, .ex = 1, .flags = dwFlags,
                      .end_w = ppszDestEnd, .remaining = pcbRemaining, .remaining_bytes = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbCopyNA(NTSTRSAFE_PSTR pszDest, size_t cbDest, STRSAFE_PCNZCH pszSrc,
                                         size_t cbToCopy) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cb_to_cch(cbDest, 1), .bytes = cbDest, .op = OP_COPY,
                      .src = pszSrc, .max_src = cbToCopy, .n_form = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, STRSAFE_PCNZWCH pszSrc,
                                         size_t cbToCopy) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cb_to_cch(cbDest, 2), .bytes = cbDest, .op = OP_COPY,
                      .src = pszSrc, .max_src = cbToCopy / sizeof(WCHAR), .n_form = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbCopyNExA(NTSTRSAFE_PSTR pszDest, size_t cbDest, STRSAFE_PCNZCH pszSrc,
                                           size_t cbToCopy, NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcbRemaining,
                                           ULONG dwFlags) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cb_to_cch(cbDest, 1), .bytes = cbDest, .op = OP_COPY,
                      .src = pszSrc, .max_src = cbToCopy, .n_form = 1, .ex = 1, .flags = dwFlags,
                      .end_a = ppszDestEnd, .remaining = pcbRemaining, .remaining_bytes = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbCopyNExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, STRSAFE_PCNZWCH pszSrc,
                                           size_t cbToCopy, NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining,
                                           ULONG dwFlags) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cb_to_cch(cbDest, 2), .bytes = cbDest, .op = OP_COPY,
                      .src = pszSrc, .max_src = cbToCopy / sizeof(WCHAR), .n_form = 1, .ex = 1, .flags = dwFlags,
                      .end_w = ppszDestEnd, .remaining = pcbRemaining, .remaining_bytes = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbCatA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cb_to_cch(cbDest, 1), .bytes = cbDest, .op = OP_CAT,
                      .src = pszSrc, .max_src = IRPKIT_UNBOUNDED};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbCatW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cb_to_cch(cbDest, 2), .bytes = cbDest, .op = OP_CAT,
                      .src = pszSrc, .max_src = IRPKIT_UNBOUNDED};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbCatExA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc,
                                         NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcbRemaining, ULONG dwFlags) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cb_to_cch(cbDest, 1), .bytes = cbDest, .op = OP_CAT,
                      .src = pszSrc, .max_src = IRPKIT_UNBOUNDED, .ex = 1, .flags = dwFlags,
                      .end_a = ppszDestEnd, .remaining = pcbRemaining, .remaining_bytes = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbCatExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc,
                                         NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining, ULONG dwFlags) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cb_to_cch(cbDest, 2), .bytes = cbDest, .op = OP_CAT,
                      .src = pszSrc, .max_src = IRPKIT_UNBOUNDED, .ex = 1, .flags = dwFlags,
                      .end_w = ppszDestEnd, .remaining = pcbRemaining, .remaining_bytes = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbCatNA(NTSTRSAFE_PSTR pszDest, size_t cbDest, STRSAFE_PCNZCH pszSrc,
                                        size_t cbToAppend) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cb_to_cch(cbDest, 1), .bytes = cbDest, .op = OP_CAT,
                      .src = pszSrc, .max_src = cbToAppend, .n_form = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbCatNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, STRSAFE_PCNZWCH pszSrc,
                                        size_t cbToAppend) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cb_to_cch(cbDest, 2), .bytes = cbDest, .op = OP_CAT,
                      .src = pszSrc, .max_src = cbToAppend / sizeof(WCHAR), .n_form = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbCatNExA(NTSTRSAFE_PSTR pszDest, size_t cbDest, STRSAFE_PCNZCH pszSrc,
                                          size_t cbToAppend, NTSTRSAFE_PSTR *ppszDestEnd, size_t *pcbRemaining,
                                          ULONG dwFlags) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cb_to_cch(cbDest, 1), .bytes = cbDest, .op = OP_CAT,
                      .src = pszSrc, .max_src = cbToAppend, .n_form = 1, .ex = 1, .flags = dwFlags,
                      .end_a = ppszDestEnd, .remaining = pcbRemaining, .remaining_bytes = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbCatNExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, STRSAFE_PCNZWCH pszSrc,
                                          size_t cbToAppend, NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining,
                                          ULONG dwFlags) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cb_to_cch(cbDest, 2), .bytes = cbDest, .op = OP_CAT,
                      .src = pszSrc, .max_src = cbToAppend / sizeof(WCHAR), .n_form = 1, .ex = 1,
                      .flags = dwFlags, .end_w = ppszDestEnd, .remaining = pcbRemaining, .remaining_bytes = 1};
    return strsafe_run(&a);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbLengthA(STRSAFE_PCNZCH psz, size_t cbMax, size_t *pcbLength) {
    return strsafe_length(psz, 1, cb_to_cch(cbMax, 1), pcbLength, 1);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbLengthW(STRSAFE_PCNZWCH psz, size_t cbMax, size_t *pcbLength) {
    return strsafe_length(psz, 2, cb_to_cch(cbMax, 2), pcbLength, 1);
}

/* ---- ntstrsafe: printf forms ------------------------------------------------------- */

static NTSTATUS printf_run(strsafe_args *a, va_list ap) {
    NTSTATUS st;
    va_list copy;
    va_copy(copy, ap);
    a->op = OP_PRINTF;
    a->ap = &copy;
    st = strsafe_run(a);
    va_end(copy);
    return st;
}

IRPKIT_EXPORT NTSTATUS RtlStringCchPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszFormat, ...) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cchDest, .fmt = pszFormat};
    NTSTATUS st;
    va_list ap;
    va_start(ap, pszFormat);
    st = printf_run(&a, ap);
    va_end(ap);
    return st;
}

IRPKIT_EXPORT NTSTATUS RtlStringCchPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszFormat,
                                           ...) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cchDest, .fmt = pszFormat};
    NTSTATUS st;
    va_list ap;
    va_start(ap, pszFormat);
    st = printf_run(&a, ap);
    va_end(ap);
    return st;
}

IRPKIT_EXPORT NTSTATUS RtlStringCchVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszFormat,
                                            va_list argList) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cchDest, .fmt = pszFormat};
    return printf_run(&a, argList);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszFormat,
                                            va_list argList) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cchDest, .fmt = pszFormat};
    return printf_run(&a, argList);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchPrintfExA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PSTR *ppszDestEnd,
                                             size_t *pcchRemaining, ULONG dwFlags, NTSTRSAFE_PCSTR pszFormat, ...) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cchDest, .fmt = pszFormat, .ex = 1, .flags = dwFlags,
                      .end_a = ppszDestEnd, .remaining = pcchRemaining};
    NTSTATUS st;
    va_list ap;
    va_start(ap, pszFormat);
    st = printf_run(&a, ap);
    va_end(ap);
    return st;
}

IRPKIT_EXPORT NTSTATUS RtlStringCchPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PWSTR *ppszDestEnd,
                                             size_t *pcchRemaining, ULONG dwFlags, NTSTRSAFE_PCWSTR pszFormat, ...) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cchDest, .fmt = pszFormat, .ex = 1, .flags = dwFlags,
                      .end_w = ppszDestEnd, .remaining = pcchRemaining};
    NTSTATUS st;
    va_list ap;
    va_start(ap, pszFormat);
    st = printf_run(&a, ap);
    va_end(ap);
    return st;
}

IRPKIT_EXPORT NTSTATUS RtlStringCchVPrintfExA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PSTR *ppszDestEnd,
                                              size_t *pcchRemaining, ULONG dwFlags, NTSTRSAFE_PCSTR pszFormat,
                                              va_list argList) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cchDest, .fmt = pszFormat, .ex = 1, .flags = dwFlags,
                      .end_a = ppszDestEnd, .remaining = pcchRemaining};
    return printf_run(&a, argList);
}

IRPKIT_EXPORT NTSTATUS RtlStringCchVPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PWSTR *ppszDestEnd,
                                              size_t *pcchRemaining, ULONG dwFlags, NTSTRSAFE_PCWSTR pszFormat,
                                              va_list argList) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cchDest, .fmt = pszFormat, .ex = 1, .flags = dwFlags,
                      .end_w = ppszDestEnd, .remaining = pcchRemaining};
    return printf_run(&a, argList);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszFormat, ...) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cb_to_cch(cbDest, 1), .bytes = cbDest, .fmt = pszFormat};
    NTSTATUS st;
    va_list ap;
    va_start(ap, pszFormat);
    st = printf_run(&a, ap);
    va_end(ap);
    return st;
}

IRPKIT_EXPORT NTSTATUS RtlStringCbPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszFormat, ...) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cb_to_cch(cbDest, 2), .bytes = cbDest, .fmt = pszFormat};
    NTSTATUS st;
    va_list ap;
    va_start(ap, pszFormat);
    st = printf_run(&a, ap);
    va_end(ap);
    return st;
}

IRPKIT_EXPORT NTSTATUS RtlStringCbVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszFormat,
                                           va_list argList) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cb_to_cch(cbDest, 1), .bytes = cbDest, .fmt = pszFormat};
    return printf_run(&a, argList);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszFormat,
                                           va_list argList) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cb_to_cch(cbDest, 2), .bytes = cbDest, .fmt = pszFormat};
    return printf_run(&a, argList);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbPrintfExA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PSTR *ppszDestEnd,
                                            size_t *pcbRemaining, ULONG dwFlags, NTSTRSAFE_PCSTR pszFormat, ...) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cb_to_cch(cbDest, 1), .bytes = cbDest, .fmt = pszFormat,
                      .ex = 1, .flags = dwFlags, .end_a = ppszDestEnd, .remaining = pcbRemaining,
                      .remaining_bytes = 1};
    NTSTATUS st;
    va_list ap;
    va_start(ap, pszFormat);
    st = printf_run(&a, ap);
    va_end(ap);
    return st;
}

IRPKIT_EXPORT NTSTATUS RtlStringCbPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PWSTR *ppszDestEnd,
                                            size_t *pcbRemaining, ULONG dwFlags, NTSTRSAFE_PCWSTR pszFormat, ...) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cb_to_cch(cbDest, 2), .bytes = cbDest, .fmt = pszFormat,
                      .ex = 1, .flags = dwFlags, .end_w = ppszDestEnd, .remaining = pcbRemaining,
                      .remaining_bytes = 1};
    NTSTATUS st;
    va_list ap;
    va_start(ap, pszFormat);
    st = printf_run(&a, ap);
    va_end(ap);
    return st;
}

IRPKIT_EXPORT NTSTATUS RtlStringCbVPrintfExA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PSTR *ppszDestEnd,
                                             size_t *pcbRemaining, ULONG dwFlags, NTSTRSAFE_PCSTR pszFormat,
                                             va_list argList) {
    strsafe_args a = {.w = 1, .dst = pszDest, .cch = cb_to_cch(cbDest, 1), .bytes = cbDest, .fmt = pszFormat,
                      .ex = 1, .flags = dwFlags, .end_a = ppszDestEnd, .remaining = pcbRemaining,
                      .remaining_bytes = 1};
    return printf_run(&a, argList);
}

IRPKIT_EXPORT NTSTATUS RtlStringCbVPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PWSTR *ppszDestEnd,
                                             size_t *pcbRemaining, ULONG dwFlags, NTSTRSAFE_PCWSTR pszFormat,
                                             va_list argList) {
    strsafe_args a = {.w = 2, .dst = pszDest, .cch = cb_to_cch(cbDest, 2), .bytes = cbDest, .fmt = pszFormat,
                      .ex = 1, .flags = dwFlags, .end_w = ppszDestEnd, .remaining = pcbRemaining,
                      .remaining_bytes = 1};
    return printf_run(&a, argList);
}

/* ---- ntstrsafe: UNICODE_STRING forms ------------------------------------------------ */

#define IRPKIT_US_MAX_BYTES (NTSTRSAFE_UNICODE_STRING_MAX_CCH * sizeof(WCHAR))

/* RtlUnicodeStringValidate's rules; a NULL Buffer is allowed with ignore_nulls. */
static int us_valid(PCUNICODE_STRING s, int ignore_nulls) {
    if (s == NULL) return ignore_nulls;
    if (s->Length % sizeof(WCHAR) != 0 || s->MaximumLength % sizeof(WCHAR) != 0) return 0;
    if (s->Length > s->MaximumLength || s->MaximumLength > IRPKIT_US_MAX_BYTES) return 0;
    if (s->Buffer == NULL && !ignore_nulls && (s->Length != 0 || s->MaximumLength != 0)) return 0;
    return 1;
}

/* Puts n WCHARs of src after the first `base` of d (the copied part is what fits); no
   terminator. A destination without room for a non-empty source is invalid (as the
   documentation lists: "the destination buffer is already full"). */
static NTSTATUS us_put(PUNICODE_STRING d, size_t base, const WCHAR *src, size_t n) {
    size_t room = d->MaximumLength / sizeof(WCHAR) - base;
    size_t k = n < room ? n : room;
    if (n != 0 && room == 0) return STATUS_INVALID_PARAMETER;
    if (k != 0) memmove(d->Buffer + base, src, k * sizeof(WCHAR));
    d->Length = (USHORT)((base + k) * sizeof(WCHAR));
    return k < n ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

/* A NUL-terminated source, read no further than one WCHAR past what could fit. */
static NTSTATUS us_put_string(PUNICODE_STRING d, int append, NTSTRSAFE_PCWSTR src, size_t max_src) {
    size_t base, room;
    if (!us_valid(d, 0) || src == NULL) return STATUS_INVALID_PARAMETER;
    base = append ? d->Length / sizeof(WCHAR) : 0;
    room = d->MaximumLength / sizeof(WCHAR) - base;
    return us_put(d, base, src, ulen(src, 2, max_src < room + 1 ? max_src : room + 1));
}

static NTSTATUS us_init(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc, ULONG dwFlags) {
    size_t n;
    if ((dwFlags & ~(ULONG)STRSAFE_IGNORE_NULLS) != 0) return STATUS_INVALID_PARAMETER;
    if (DestinationString == NULL)
        return pszSrc == NULL || (dwFlags & STRSAFE_IGNORE_NULLS) ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
    DestinationString->Length = 0;
    DestinationString->MaximumLength = 0;
    DestinationString->Buffer = NULL;
    if (pszSrc == NULL) return STATUS_SUCCESS;
    /* Length + sizeof(WCHAR) must fit MaximumLength: at most MAX_CCH - 1 characters. */
    n = ulen(pszSrc, 2, NTSTRSAFE_UNICODE_STRING_MAX_CCH);
    if (n >= NTSTRSAFE_UNICODE_STRING_MAX_CCH) return STATUS_INVALID_PARAMETER;
    DestinationString->Length = (USHORT)(n * sizeof(WCHAR));
    DestinationString->MaximumLength = (USHORT)((n + 1) * sizeof(WCHAR));
    DestinationString->Buffer = (PWSTR)pszSrc;
    return STATUS_SUCCESS;
}

IRPKIT_EXPORT NTSTATUS RtlUnicodeStringInitEx(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc,
                                              ULONG dwFlags) {
    return us_init(DestinationString, pszSrc, dwFlags);
}

IRPKIT_EXPORT NTSTATUS RtlUnicodeStringInit(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc) {
    return us_init(DestinationString, pszSrc, 0);
}

IRPKIT_EXPORT NTSTATUS RtlUnicodeStringValidateEx(PCUNICODE_STRING SourceString, ULONG dwFlags) {
    if ((dwFlags & ~(ULONG)STRSAFE_IGNORE_NULLS) != 0) return STATUS_INVALID_PARAMETER;
    return us_valid(SourceString, (dwFlags & STRSAFE_IGNORE_NULLS) != 0) ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

IRPKIT_EXPORT NTSTATUS RtlUnicodeStringValidate(PCUNICODE_STRING SourceString) {
    return us_valid(SourceString, 0) ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

IRPKIT_EXPORT NTSTATUS RtlUnicodeStringCopy(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString) {
    if (!us_valid(DestinationString, 0) || !us_valid(SourceString, 0)) return STATUS_INVALID_PARAMETER;
    return us_put(DestinationString, 0, SourceString->Buffer, SourceString->Length / sizeof(WCHAR));
}

IRPKIT_EXPORT NTSTATUS RtlUnicodeStringCat(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString) {
    if (!us_valid(DestinationString, 0) || !us_valid(SourceString, 0)) return STATUS_INVALID_PARAMETER;
    return us_put(DestinationString, DestinationString->Length / sizeof(WCHAR), SourceString->Buffer,
                  SourceString->Length / sizeof(WCHAR));
}

IRPKIT_EXPORT NTSTATUS RtlUnicodeStringCopyString(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc) {
    return us_put_string(DestinationString, 0, pszSrc, IRPKIT_UNBOUNDED);
}

IRPKIT_EXPORT NTSTATUS RtlUnicodeStringCatString(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc) {
    return us_put_string(DestinationString, 1, pszSrc, IRPKIT_UNBOUNDED);
}

IRPKIT_EXPORT NTSTATUS RtlUnicodeStringCchCopyStringN(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc,
                                                      size_t cchToCopy) {
    if (cchToCopy > NTSTRSAFE_UNICODE_STRING_MAX_CCH) return STATUS_INVALID_PARAMETER;
    return us_put_string(DestinationString, 0, pszSrc, cchToCopy);
}

IRPKIT_EXPORT NTSTATUS RtlUnicodeStringCbCopyStringN(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc,
                                                     size_t cbToCopy) {
    if (cbToCopy > IRPKIT_US_MAX_BYTES) return STATUS_INVALID_PARAMETER;
    return us_put_string(DestinationString, 0, pszSrc, cbToCopy / sizeof(WCHAR));
}

IRPKIT_EXPORT NTSTATUS RtlUnicodeStringCchCatStringN(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc,
                                                     size_t cchToAppend) {
    if (cchToAppend > NTSTRSAFE_UNICODE_STRING_MAX_CCH) return STATUS_INVALID_PARAMETER;
    return us_put_string(DestinationString, 1, pszSrc, cchToAppend);
}

IRPKIT_EXPORT NTSTATUS RtlUnicodeStringCbCatStringN(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc,
                                                    size_t cbToAppend) {
    if (cbToAppend > IRPKIT_US_MAX_BYTES) return STATUS_INVALID_PARAMETER;
    return us_put_string(DestinationString, 1, pszSrc, cbToAppend / sizeof(WCHAR));
}

static NTSTATUS us_vprintf(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszFormat, va_list argList) {
    irpkit_sink s;
    va_list copy;
    if (!us_valid(DestinationString, 0) || pszFormat == NULL) return STATUS_INVALID_PARAMETER;
    sink_init(&s, DestinationString->Buffer, DestinationString->MaximumLength / sizeof(WCHAR), 1);
    va_copy(copy, argList);
    irpkit_format(&s, pszFormat, 1, &copy);
    va_end(copy);
    if (s.full && s.cap == 0) return STATUS_INVALID_PARAMETER; /* no room for a non-empty result */
    DestinationString->Length = (USHORT)(s.len * sizeof(WCHAR));
    return s.full ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

IRPKIT_EXPORT NTSTATUS RtlUnicodeStringPrintf(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszFormat, ...) {
    NTSTATUS st;
    va_list ap;
    va_start(ap, pszFormat);
    st = us_vprintf(DestinationString, pszFormat, ap);
    va_end(ap);
    return st;
}

IRPKIT_EXPORT NTSTATUS RtlUnicodeStringVPrintf(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszFormat,
                                               va_list argList) {
    return us_vprintf(DestinationString, pszFormat, argList);
}

/* ---- 2-byte wide-string helpers ----------------------------------------------------- */

/*
 * With -fshort-wchar a driver's wchar_t is 2 bytes, while the C library's wcs* routines
 * work on 4-byte units: a driver calling wcslen must never reach them. Each routine below
 * is exported twice, under irpkit_<name> and under its own name. A driver's undefined
 * `wcslen` is looked up in the process's global scope, where the C library comes before
 * this import library, so the plain name alone does not reach this code: the headers
 * declare the routines with an assembler label (irpkit/wdmroutines.h), e.g.
 *     size_t wcslen(const wchar_t *s) __asm__("irpkit_wcslen");
 * (the plain names serve a program that links irpkit_rt.c itself, as the format test
 * does). Case folding (_wcsicmp, towupper, ...) is ASCII-only, as in the "C" locale.
 * This file calls only the static rt_* versions.
 */

static size_t rt_wcslen(const WCHAR *s) {
    size_t n = 0;
    while (s[n] != 0) n++;
    return n;
}

static size_t rt_wcsnlen(const WCHAR *s, size_t max) {
    size_t n = 0;
    while (n < max && s[n] != 0) n++;
    return n;
}

static int rt_wcsncmp(const WCHAR *a, const WCHAR *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) return (int)a[i] - (int)b[i];
        if (a[i] == 0) return 0;
    }
    return 0;
}

static int rt_wcscmp(const WCHAR *a, const WCHAR *b) {
    return rt_wcsncmp(a, b, IRPKIT_UNBOUNDED);
}

static WCHAR *rt_wcscpy(WCHAR *d, const WCHAR *s) {
    size_t i = 0;
    while ((d[i] = s[i]) != 0) i++;
    return d;
}

static WCHAR *rt_wcsncpy(WCHAR *d, const WCHAR *s, size_t n) {
    size_t i = 0;
    for (; i < n && s[i] != 0; i++) d[i] = s[i];
    for (; i < n; i++) d[i] = 0;
    return d;
}

static WCHAR *rt_wcscat(WCHAR *d, const WCHAR *s) {
    rt_wcscpy(d + rt_wcslen(d), s);
    return d;
}

static WCHAR *rt_wcsncat(WCHAR *d, const WCHAR *s, size_t n) {
    WCHAR *e = d + rt_wcslen(d);
    size_t i = 0;
    for (; i < n && s[i] != 0; i++) e[i] = s[i];
    e[i] = 0;
    return d;
}

static WCHAR *rt_wcschr(const WCHAR *s, WCHAR c) {
    for (;; s++) {
        if (*s == c) return (WCHAR *)s;
        if (*s == 0) return NULL;
    }
}

static WCHAR *rt_wcsrchr(const WCHAR *s, WCHAR c) {
    const WCHAR *found = NULL;
    for (;; s++) {
        if (*s == c) found = s;
        if (*s == 0) return (WCHAR *)found;
    }
}

static WCHAR *rt_wcsstr(const WCHAR *h, const WCHAR *n) {
    size_t k = rt_wcslen(n);
    if (k == 0) return (WCHAR *)h;
    for (; *h != 0; h++)
        if (*h == *n && rt_wcsncmp(h, n, k) == 0) return (WCHAR *)h;
    return NULL;
}

/* On wint_t, which is `unsigned int` here (the type the compilers' builtins expect). */
static unsigned int rt_towlower(unsigned int c) {
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static unsigned int rt_towupper(unsigned int c) {
    return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

static int rt__wcsnicmp(const WCHAR *a, const WCHAR *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        WCHAR x = (WCHAR)rt_towlower(a[i]), y = (WCHAR)rt_towlower(b[i]);
        if (x != y) return (int)x - (int)y;
        if (x == 0) return 0;
    }
    return 0;
}

static int rt__wcsicmp(const WCHAR *a, const WCHAR *b) {
    return rt__wcsnicmp(a, b, IRPKIT_UNBOUNDED);
}

static WCHAR *rt__wcslwr(WCHAR *s) {
    for (WCHAR *p = s; *p != 0; p++) *p = (WCHAR)rt_towlower(*p);
    return s;
}

static WCHAR *rt__wcsupr(WCHAR *s) {
    for (WCHAR *p = s; *p != 0; p++) *p = (WCHAR)rt_towupper(*p);
    return s;
}

/* Exports rt_<name> as both `name` and `irpkit_name`, through C identifiers of their own
   (whatever the headers declare `name` as). */
#define IRPKIT_WCS_EXPORT(ret, name, params, args)                                  \
    IRPKIT_EXPORT ret irpkit_rt_plain_##name params __asm__(#name);                 \
    ret irpkit_rt_plain_##name params { return rt_##name args; }                    \
    IRPKIT_EXPORT ret irpkit_rt_prefixed_##name params __asm__("irpkit_" #name);    \
    ret irpkit_rt_prefixed_##name params { return rt_##name args; }

IRPKIT_WCS_EXPORT(size_t, wcslen, (const WCHAR *s), (s))
IRPKIT_WCS_EXPORT(size_t, wcsnlen, (const WCHAR *s, size_t max), (s, max))
IRPKIT_WCS_EXPORT(int, wcscmp, (const WCHAR *a, const WCHAR *b), (a, b))
IRPKIT_WCS_EXPORT(int, wcsncmp, (const WCHAR *a, const WCHAR *b, size_t n), (a, b, n))
IRPKIT_WCS_EXPORT(WCHAR *, wcscpy, (WCHAR *d, const WCHAR *s), (d, s))
IRPKIT_WCS_EXPORT(WCHAR *, wcsncpy, (WCHAR *d, const WCHAR *s, size_t n), (d, s, n))
IRPKIT_WCS_EXPORT(WCHAR *, wcscat, (WCHAR *d, const WCHAR *s), (d, s))
IRPKIT_WCS_EXPORT(WCHAR *, wcsncat, (WCHAR *d, const WCHAR *s, size_t n), (d, s, n))
IRPKIT_WCS_EXPORT(WCHAR *, wcschr, (const WCHAR *s, WCHAR c), (s, c))
IRPKIT_WCS_EXPORT(WCHAR *, wcsrchr, (const WCHAR *s, WCHAR c), (s, c))
IRPKIT_WCS_EXPORT(WCHAR *, wcsstr, (const WCHAR *h, const WCHAR *n), (h, n))
IRPKIT_WCS_EXPORT(int, _wcsicmp, (const WCHAR *a, const WCHAR *b), (a, b))
IRPKIT_WCS_EXPORT(int, _wcsnicmp, (const WCHAR *a, const WCHAR *b, size_t n), (a, b, n))
IRPKIT_WCS_EXPORT(WCHAR *, _wcslwr, (WCHAR *s), (s))
IRPKIT_WCS_EXPORT(WCHAR *, _wcsupr, (WCHAR *s), (s))
IRPKIT_WCS_EXPORT(unsigned int, towlower, (unsigned int c), (c))
IRPKIT_WCS_EXPORT(unsigned int, towupper, (unsigned int c), (c))
