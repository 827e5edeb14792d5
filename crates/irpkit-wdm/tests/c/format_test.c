/*
 * format_test.c - checks irpkit's driver runtime (c/irpkit_rt.c): the DbgPrint family's
 * formatter, ntstrsafe's routines and the 2-byte wide-string helpers.
 *
 *   cc <driver flags> -I include tests/c/format_test.c c/irpkit_rt.c -o /tmp/ft && /tmp/ft
 *
 * (run from crates/irpkit-wdm; tests/format.rs does this with the loader's flags). Exits
 * 0 when every check passes; prints each mismatch and exits 1 otherwise.
 */
#include <ntddk.h>
#include <ntstrsafe.h>

#include <stdio.h>
#include <string.h>

/* The runtime's data objects (declared again here in case the headers do not). */
extern POBJECT_TYPE *ExEventObjectType;
extern POBJECT_TYPE *ExSemaphoreObjectType;
extern POBJECT_TYPE *PsThreadType;
extern POBJECT_TYPE *PsProcessType;
extern POBJECT_TYPE *IoFileObjectType;
extern POBJECT_TYPE *IoDeviceObjectType;

/* The wide-string helpers under both of their exported names, whatever the headers call
   them. */
size_t test_wcslen(const WCHAR *s) __asm__("wcslen");
size_t test_irpkit_wcslen(const WCHAR *s) __asm__("irpkit_wcslen");
int test_wcsicmp(const WCHAR *a, const WCHAR *b) __asm__("_wcsicmp");
int test_irpkit_wcsicmp(const WCHAR *a, const WCHAR *b) __asm__("irpkit__wcsicmp");
int test_irpkit_wcsnicmp(const WCHAR *a, const WCHAR *b, size_t n) __asm__("irpkit__wcsnicmp");
int test_irpkit_wcscmp(const WCHAR *a, const WCHAR *b) __asm__("irpkit_wcscmp");
WCHAR *test_irpkit_wcsstr(const WCHAR *h, const WCHAR *n) __asm__("irpkit_wcsstr");
WCHAR *test_irpkit_wcsrchr(const WCHAR *s, WCHAR c) __asm__("irpkit_wcsrchr");
WCHAR *test_irpkit_wcsncpy(WCHAR *d, const WCHAR *s, size_t n) __asm__("irpkit_wcsncpy");

static int failures;
static int checks;

/* ---- the captured debug output ----------------------------------------------------- */

static char captured[8192];
static size_t captured_length;
static ULONG captured_component, captured_level;
static int captured_terminated;

VOID IrpkitDebugOutput(ULONG ComponentId, ULONG Level, const char *Text, SIZE_T Length) {
    size_t n = Length < sizeof captured - 1 ? Length : sizeof captured - 1;
    memcpy(captured, Text, n);
    captured[n] = 0;
    captured_length = Length;
    captured_component = ComponentId;
    captured_level = Level;
    captured_terminated = Text[Length] == 0;
}

/* ---- reporting ------------------------------------------------------------------------ */

static void print_escaped(const char *s, size_t n) {
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\')
            putchar(c);
        else
            printf("\\x%02x", c);
    }
    putchar('"');
}

static void print_wide(const WCHAR *s, size_t n) {
    printf("L\"");
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\')
            putchar((int)c);
        else
            printf("\\x%04x", c);
    }
    putchar('"');
}

static size_t wide_length(const WCHAR *s) {
    size_t n = 0;
    while (s[n] != 0) n++;
    return n;
}

static void check_bytes(int line, const char *what, const char *got, size_t got_n, const char *want, size_t want_n) {
    checks++;
    if (got_n == want_n && memcmp(got, want, want_n) == 0) return;
    failures++;
    printf("format_test.c:%d: %s\n    got  ", line, what);
    print_escaped(got, got_n);
    printf(" (%zu bytes)\n    want ", got_n);
    print_escaped(want, want_n);
    printf(" (%zu bytes)\n", want_n);
}

static void check_wide(int line, const char *what, const WCHAR *got, size_t got_n, const WCHAR *want) {
    size_t want_n = wide_length(want);
    checks++;
    if (got_n == want_n && memcmp(got, want, want_n * sizeof(WCHAR)) == 0) return;
    failures++;
    printf("format_test.c:%d: %s\n    got  ", line, what);
    print_wide(got, got_n);
    printf("\n    want ");
    print_wide(want, want_n);
    printf("\n");
}

static void check_true(int line, const char *what, int ok) {
    checks++;
    if (ok) return;
    failures++;
    printf("format_test.c:%d: %s is false\n", line, what);
}

static void check_status(int line, const char *what, NTSTATUS got, NTSTATUS want) {
    checks++;
    if (got == want) return;
    failures++;
    printf("format_test.c:%d: %s returned 0x%08X, want 0x%08X\n", line, what, (unsigned)got, (unsigned)want);
}

#define TRUE_(e) check_true(__LINE__, #e, (e))
#define STATUS_(call, want) check_status(__LINE__, #call, (call), (want))

/* DbgPrint(...) must hand exactly `want` (a string literal) to the host. */
#define DBG_(want, ...)                                                                              \
    do {                                                                                             \
        captured_length = (size_t)-1;                                                                \
        DbgPrint(__VA_ARGS__);                                                                       \
        check_bytes(__LINE__, "DbgPrint(" #__VA_ARGS__ ")", captured,                                \
                    captured_length == (size_t)-1 ? 0 : captured_length, want, sizeof(want) - 1);     \
        check_true(__LINE__, "the text is NUL-terminated", captured_terminated);                     \
        check_true(__LINE__, "DbgPrint's component is DPFLTR_DEFAULT_ID",                            \
                   captured_component == DPFLTR_DEFAULT_ID && captured_level == 0);                  \
    } while (0)

/* A wide printf through RtlStringCchPrintfW must give exactly `want` (a wide literal). */
#define WPRINTF_(want, ...)                                                                          \
    do {                                                                                             \
        WCHAR out_[256];                                                                             \
        NTSTATUS st_ = RtlStringCchPrintfW(out_, 256, __VA_ARGS__);                                  \
        check_status(__LINE__, "RtlStringCchPrintfW(" #__VA_ARGS__ ")", st_, STATUS_SUCCESS);        \
        check_wide(__LINE__, "RtlStringCchPrintfW(" #__VA_ARGS__ ")", out_, wide_length(out_), want); \
    } while (0)

/* ---- DbgPrint ------------------------------------------------------------------------ */

static void test_conversions(void) {
    WCHAR unterminated[5] = {'a', 'b', 'c', 'd', 'e'};
    UNICODE_STRING counted = {3 * sizeof(WCHAR), sizeof unterminated, unterminated};
    UNICODE_STRING no_buffer = {0, 0, NULL};
    char hello[] = "hello world";
    ANSI_STRING ansi = {5, sizeof hello, hello};
    ULONG all_ones = 0xFFFFFFFF;
    LONG minus_one = -1;
    ULONG big = 4000000000u;
    int untouched = 1234;
    const char *null_narrow = NULL;
    const WCHAR *null_wide = NULL;
    PUNICODE_STRING null_counted = NULL;
    PANSI_STRING null_ansi = NULL;

    DBG_("plain text\n", "plain text\n");
    DBG_("[wide]", "[%ws]", L"wide");
    DBG_("[abc]", "[%wZ]", &counted);
    DBG_("[hello]", "[%Z]", &ansi);
    DBG_("ffffffff", "%lx", all_ones);
    DBG_("FFFFFFFF", "%lX", all_ones);
    DBG_("-1", "%ld", minus_one);
    DBG_("4000000000", "%lu", big);
    DBG_("123456789abcdef0", "%I64x", 0x123456789ABCDEF0ULL);
    DBG_("-1234567890123", "%I64d", -1234567890123LL);
    DBG_("18446744073709551615", "%I64u", 0xFFFFFFFFFFFFFFFFULL);
    DBG_("-9223372036854775808", "%lld", (-9223372036854775807LL - 1));
    DBG_("deadbeefcafe", "%Ix", (ULONG_PTR)0xDEADBEEFCAFEULL);
    DBG_("18446744073709551615", "%Iu", (SIZE_T)-1);
    DBG_("-5", "%Id", (LONG_PTR)-5);
    DBG_("-7", "%I32d", -7);
    DBG_("ffffffff", "%I32x", 0xFFFFFFFFu);
    DBG_("42", "%zu", (size_t)42);
    DBG_("0000000000ABCDEF", "%p", (void *)0xABCDEF);
    DBG_("[  0000000000000000]", "[%18p]", (void *)0);
    DBG_("0000BEEF", "%08X", 0xBEEF);
    DBG_("42   |", "%-5d|", 42);
    DBG_("+7 -7", "%+d %+d", 7, -7);
    DBG_(" 5", "% d", 5);
    DBG_("abc", "%.3s", "abcdef");
    DBG_("ab", "%.*s", 2, "abcdef");
    DBG_("    42", "%*d", 6, 42);
    DBG_("1   |", "%*d|", -4, 1);
    DBG_("  007", "%5.3d", 7);
    DBG_("[]", "[%.0d]", 0);
    DBG_("0xff 0XFF 0 010", "%#x %#X %#x %#o", 255, 255, 0, 8);
    DBG_("-00042", "%06d", -42);
    DBG_("-2 ff fffe", "%hd %hhx %hx", (short)-2, 0x1FF, (USHORT)0xFFFE);
    DBG_("100%", "100%%");
    DBG_("x", "%c", 'x');
    DBG_("[  x]", "[%3c]", 'x');
    DBG_("\xc3\xa9", "%C", (WCHAR)0xE9);
    DBG_("\xe2\x82\xac", "%wc", (WCHAR)0x20AC);
    DBG_("y", "%hc", 'y');
    DBG_("narrow wide", "%hs %S", "narrow", L"wide");
    DBG_("wide", "%ls", L"wide");
    DBG_("(null)", "%s", null_narrow);
    DBG_("(null)", "%ws", null_wide);
    DBG_("(null)", "%wZ", null_counted);
    DBG_("(null)", "%wZ", &no_buffer);
    DBG_("(null)", "%Z", null_ansi);
    DBG_("(nu", "%.3s", null_narrow);
    DBG_("[   hi]", "[%5ws]", L"hi");
    DBG_("[hi   ]", "[%-5s]", "hi");
    DBG_("[ab]", "[%.2wZ]", &counted);
    DBG_("\xf0\x9f\x98\x80", "%ws", L"\xD83D\xDE00");
    DBG_("\xef\xbf\xbdx", "%ws", L"\xD800x");
    DBG_("x\xef\xbf\xbd", "%ws", L"x\xDC00");
    DBG_("3.14 2.500000e+00", "%.2f %e", 3.14159, 2.5);
    DBG_("1.5", "%g", 1.5);
    DBG_("ab", "a%nb", &untouched);
    TRUE_(untouched == 1234);
    DBG_("%k", "%k");
    DBG_("50%", "50%");
    DBG_("a 1 b 2", "a %d b %lu", 1, 2u);
}

static void prefixed(const char *prefix, ULONG component, ULONG level, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    vDbgPrintExWithPrefix(prefix, component, level, format, ap);
    va_end(ap);
}

static void plain_v(ULONG component, ULONG level, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    vDbgPrintEx(component, level, format, ap);
    va_end(ap);
}

static void test_debug_entry_points(void) {
    static char big[6000];
    NTSTATUS st;

    st = DbgPrintEx(77, 3, "ex %d", 5);
    TRUE_(st == STATUS_SUCCESS);
    check_bytes(__LINE__, "DbgPrintEx", captured, captured_length, "ex 5", 4);
    TRUE_(captured_component == 77 && captured_level == 3);

    prefixed("drv: ", 12, 1, "value=%lx", 0xABCu);
    check_bytes(__LINE__, "vDbgPrintExWithPrefix", captured, captured_length, "drv: value=abc", 14);
    TRUE_(captured_component == 12 && captured_level == 1);

    plain_v(5, 2, "%ws/%d", L"v", 9);
    check_bytes(__LINE__, "vDbgPrintEx", captured, captured_length, "v/9", 3);
    TRUE_(captured_component == 5 && captured_level == 2);

    /* A message longer than the buffer: truncated, terminated, never overrun. */
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    DbgPrint("%s", big);
    TRUE_(captured_length == 4095);
    TRUE_(captured_terminated);
    TRUE_(captured[0] == 'a' && captured[4094] == 'a');
    DbgPrint("%s%s", big, "tail");
    TRUE_(captured_length == 4095);

    /* Truncation never leaves half a UTF-8 character. */
    big[4094] = 0;
    DbgPrint("%s\xc3\xa9", big);
    TRUE_(captured_length == 4094);
    DbgPrint("%s%ws", big, L"\x00e9");
    TRUE_(captured_length == 4094);
    big[4093] = 0;
    DbgPrint("%s%ws", big, L"\x00e9");
    TRUE_(captured_length == 4095);
    check_bytes(__LINE__, "the last character", captured + 4093, 2, "\xc3\xa9", 2);
}

/* ---- ntstrsafe -------------------------------------------------------------------------- */

static void test_wide_printf(void) {
    WCHAR unterminated[4] = {'x', 'y', 'z', 'w'};
    UNICODE_STRING counted = {2 * sizeof(WCHAR), sizeof unterminated, unterminated};
    char narrow[] = "narrow";
    ANSI_STRING ansi = {3, sizeof narrow, narrow};
    WCHAR small[8];
    NTSTATUS st;

    WPRINTF_(L"wide 42", L"%s %d", L"wide", 42);
    WPRINTF_(L"abc def", L"%S %hs", "abc", "def");
    WPRINTF_(L"wide ws", L"%ls %ws", L"wide", L"ws");
    WPRINTF_(L"[xy] [nar]", L"[%wZ] [%Z]", &counted, &ansi);
    WPRINTF_(L"c=q C=r", L"c=%c C=%C", L'q', 'r');
    WPRINTF_(L"\xD83D\xDE00|\x00e9", L"%s|%c", L"\xD83D\xDE00", 0xE9);
    WPRINTF_(L"\x00c3\x00a9", L"%hs", "\xc3\xa9"); /* narrow arguments widen byte-wise */
    WPRINTF_(L"ffffffff 0000000000001000", L"%lx %p", 0xFFFFFFFFu, (void *)0x1000);
    WPRINTF_(L"(null) (null)", L"%s %wZ", (const WCHAR *)NULL, (PUNICODE_STRING)NULL);
    WPRINTF_(L"12345678901", L"%I64d", 12345678901LL);

    /* Truncation: STATUS_BUFFER_OVERFLOW and a terminated prefix. */
    memset(small, 0x55, sizeof small);
    st = RtlStringCbPrintfW(small, sizeof small, L"%s-%d", L"abcdef", 123);
    check_status(__LINE__, "RtlStringCbPrintfW (truncated)", st, STATUS_BUFFER_OVERFLOW);
    check_wide(__LINE__, "RtlStringCbPrintfW (truncated)", small, wide_length(small), L"abcdef-");
    TRUE_(small[7] == 0);
    /* A surrogate pair is not split. */
    st = RtlStringCchPrintfW(small, 3, L"a%s", L"\xD83D\xDE00");
    check_status(__LINE__, "RtlStringCchPrintfW (pair)", st, STATUS_BUFFER_OVERFLOW);
    check_wide(__LINE__, "RtlStringCchPrintfW (pair)", small, wide_length(small), L"a");
    STATUS_(RtlStringCbPrintfW(small, 0, L"x"), STATUS_INVALID_PARAMETER);
    STATUS_(RtlStringCchPrintfW(small, (size_t)NTSTRSAFE_MAX_CCH + 1, L"x"), STATUS_INVALID_PARAMETER);
    STATUS_(RtlStringCbPrintfW(small, sizeof small, L"%d", 1234567), STATUS_SUCCESS);
    check_wide(__LINE__, "RtlStringCbPrintfW", small, wide_length(small), L"1234567");
}

static void test_narrow_printf(void) {
    char out[16];
    char *end = NULL;
    size_t remaining = 0;
    NTSTATUS st;

    st = RtlStringCbPrintfA(out, sizeof out, "%s=%lu", "n", 7u);
    check_status(__LINE__, "RtlStringCbPrintfA", st, STATUS_SUCCESS);
    check_bytes(__LINE__, "RtlStringCbPrintfA", out, strlen(out), "n=7", 3);
    st = RtlStringCchPrintfA(out, 4, "%d", 123456);
    check_status(__LINE__, "RtlStringCchPrintfA (truncated)", st, STATUS_BUFFER_OVERFLOW);
    check_bytes(__LINE__, "RtlStringCchPrintfA (truncated)", out, strlen(out), "123", 3);
    st = RtlStringCbPrintfExA(out, sizeof out, &end, &remaining, 0, "%ws", L"\x00e9t\x00e9");
    check_status(__LINE__, "RtlStringCbPrintfExA", st, STATUS_SUCCESS);
    check_bytes(__LINE__, "RtlStringCbPrintfExA", out, strlen(out), "\xc3\xa9t\xc3\xa9", 5);
    TRUE_(end == out + 5 && remaining == sizeof out - 5);
    st = RtlStringCchPrintfExA(out, 4, NULL, NULL, STRSAFE_NO_TRUNCATION, "%s", "toolong");
    check_status(__LINE__, "RtlStringCchPrintfExA (no truncation)", st, STATUS_BUFFER_OVERFLOW);
    TRUE_(out[0] == 0);
}

static void test_copy_cat_length(void) {
    WCHAR w[8];
    WCHAR unterminated[3] = {'a', 'b', 'c'};
    char a[10];
    char *end = NULL;
    size_t n = 99, remaining = 0;

    STATUS_(RtlStringCchCopyW(w, 8, L"abc"), STATUS_SUCCESS);
    check_wide(__LINE__, "RtlStringCchCopyW", w, wide_length(w), L"abc");
    STATUS_(RtlStringCchCopyW(w, 4, L"abcdef"), STATUS_BUFFER_OVERFLOW);
    check_wide(__LINE__, "RtlStringCchCopyW (truncated)", w, wide_length(w), L"abc");
    STATUS_(RtlStringCchCopyW(w, 0, L"abc"), STATUS_INVALID_PARAMETER);
    STATUS_(RtlStringCchCopyW(w, (size_t)NTSTRSAFE_MAX_CCH + 1, L"abc"), STATUS_INVALID_PARAMETER);
    STATUS_(RtlStringCbCopyW(w, sizeof w, L"1234567"), STATUS_SUCCESS);
    STATUS_(RtlStringCbCopyW(w, sizeof w, L"12345678"), STATUS_BUFFER_OVERFLOW);
    check_wide(__LINE__, "RtlStringCbCopyW (truncated)", w, wide_length(w), L"1234567");

    STATUS_(RtlStringCbCopyW(w, sizeof w, L"abc"), STATUS_SUCCESS);
    STATUS_(RtlStringCbCatW(w, sizeof w, L"de"), STATUS_SUCCESS);
    check_wide(__LINE__, "RtlStringCbCatW", w, wide_length(w), L"abcde");
    STATUS_(RtlStringCbCatW(w, sizeof w, L"fghij"), STATUS_BUFFER_OVERFLOW);
    check_wide(__LINE__, "RtlStringCbCatW (truncated)", w, wide_length(w), L"abcdefg");
    STATUS_(RtlStringCbCatW(w, sizeof w, L""), STATUS_SUCCESS);
    STATUS_(RtlStringCbCatW(unterminated, sizeof unterminated, L"x"), STATUS_INVALID_PARAMETER);
    TRUE_(unterminated[0] == 'a' && unterminated[2] == 'c');
    STATUS_(RtlStringCchCatW(w, 0, L"x"), STATUS_INVALID_PARAMETER);

    STATUS_(RtlStringCbLengthW(L"hello", 100, &n), STATUS_SUCCESS);
    TRUE_(n == 10);
    STATUS_(RtlStringCbLengthW(L"hello", 12, &n), STATUS_SUCCESS);
    TRUE_(n == 10);
    STATUS_(RtlStringCbLengthW(L"hello", 10, &n), STATUS_INVALID_PARAMETER);
    TRUE_(n == 0);
    STATUS_(RtlStringCbLengthW(NULL, 10, &n), STATUS_INVALID_PARAMETER);
    STATUS_(RtlStringCchLengthW(L"hello", 6, &n), STATUS_SUCCESS);
    TRUE_(n == 5);
    STATUS_(RtlStringCchLengthA("hey", 3, &n), STATUS_INVALID_PARAMETER);
    STATUS_(RtlStringCchLengthA("hey", 4, NULL), STATUS_SUCCESS);

    STATUS_(RtlStringCchCopyNA(a, sizeof a, "abcdef", 3), STATUS_SUCCESS);
    check_bytes(__LINE__, "RtlStringCchCopyNA", a, strlen(a), "abc", 3);
    STATUS_(RtlStringCchCopyNA(a, 3, "abcdef", 5), STATUS_BUFFER_OVERFLOW);
    check_bytes(__LINE__, "RtlStringCchCopyNA (truncated)", a, strlen(a), "ab", 2);
    STATUS_(RtlStringCchCopyNA(a, 3, "ab\0zzz", 5), STATUS_SUCCESS);
    STATUS_(RtlStringCchCopyNA(a, sizeof a, "abc", (size_t)NTSTRSAFE_MAX_CCH + 5), STATUS_INVALID_PARAMETER);
    STATUS_(RtlStringCbCatNA(a, sizeof a, "12345", 2), STATUS_SUCCESS);
    check_bytes(__LINE__, "RtlStringCbCatNA", a, strlen(a), "12", 2);

    /* Ex forms. */
    STATUS_(RtlStringCbCopyExA(a, sizeof a, "abc", &end, &remaining, STRSAFE_FILL_BYTE('x')), STATUS_SUCCESS);
    TRUE_(end == a + 3 && remaining == 7);
    TRUE_(a[3] == 0 && a[4] == 'x' && a[9] == 'x');
    STATUS_(RtlStringCbCopyExA(a, sizeof a, "much too long", NULL, NULL, STRSAFE_NULL_ON_FAILURE),
            STATUS_BUFFER_OVERFLOW);
    TRUE_(a[0] == 0);
    STATUS_(RtlStringCbCopyExA(a, sizeof a, "much too long", NULL, NULL, STRSAFE_FAILURE_BYTE('z')),
            STATUS_BUFFER_OVERFLOW);
    TRUE_(a[0] == 'z' && a[8] == 'z' && a[9] == 0);
    STATUS_(RtlStringCbCopyExA(a, sizeof a, NULL, &end, NULL, STRSAFE_IGNORE_NULLS), STATUS_SUCCESS);
    TRUE_(a[0] == 0 && end == a);
    STATUS_(RtlStringCbCopyExA(NULL, 0, NULL, NULL, NULL, STRSAFE_IGNORE_NULLS), STATUS_SUCCESS);
    STATUS_(RtlStringCbCopyExA(NULL, 0, "x", NULL, NULL, STRSAFE_IGNORE_NULLS), STATUS_INVALID_PARAMETER);
    STATUS_(RtlStringCbCopyExA(a, sizeof a, "abc", NULL, NULL, 0x10000), STATUS_INVALID_PARAMETER);
    STATUS_(RtlStringCbCopyA(a, sizeof a, "keep"), STATUS_SUCCESS);
    STATUS_(RtlStringCbCatExA(a, sizeof a, "toolong", NULL, NULL, STRSAFE_NO_TRUNCATION), STATUS_BUFFER_OVERFLOW);
    check_bytes(__LINE__, "RtlStringCbCatExA (no truncation)", a, strlen(a), "keep", 4);
    STATUS_(RtlStringCchCopyExW(w, 8, L"ab", NULL, &remaining, 0), STATUS_SUCCESS);
    TRUE_(remaining == 6);
    STATUS_(RtlStringCbCopyExW(w, sizeof w, L"ab", NULL, &remaining, 0), STATUS_SUCCESS);
    TRUE_(remaining == 12);
}

static void test_unicode_string(void) {
    WCHAR buffer[8];
    WCHAR other[4] = {'X', 'Y', 'Z', '!'};
    UNICODE_STRING us = {0, sizeof buffer, buffer};
    UNICODE_STRING src = {3 * sizeof(WCHAR), sizeof other, other};
    UNICODE_STRING empty = {0, 0, NULL};
    UNICODE_STRING odd = {3, 8, buffer};
    UNICODE_STRING init;

    STATUS_(RtlUnicodeStringPrintf(&us, L"%d-%ws", 12, L"abc"), STATUS_SUCCESS);
    check_wide(__LINE__, "RtlUnicodeStringPrintf", us.Buffer, us.Length / sizeof(WCHAR), L"12-abc");
    TRUE_(us.Length == 12);
    STATUS_(RtlUnicodeStringPrintf(&us, L"%s%s", L"12345", L"6789"), STATUS_BUFFER_OVERFLOW);
    check_wide(__LINE__, "RtlUnicodeStringPrintf (truncated)", us.Buffer, us.Length / sizeof(WCHAR), L"12345678");
    STATUS_(RtlUnicodeStringPrintf(&empty, L"x"), STATUS_INVALID_PARAMETER);
    STATUS_(RtlUnicodeStringPrintf(&empty, L""), STATUS_SUCCESS);
    STATUS_(RtlUnicodeStringPrintf(&odd, L"x"), STATUS_INVALID_PARAMETER);

    STATUS_(RtlUnicodeStringCopy(&us, &src), STATUS_SUCCESS);
    check_wide(__LINE__, "RtlUnicodeStringCopy", us.Buffer, us.Length / sizeof(WCHAR), L"XYZ");
    STATUS_(RtlUnicodeStringCat(&us, &src), STATUS_SUCCESS);
    check_wide(__LINE__, "RtlUnicodeStringCat", us.Buffer, us.Length / sizeof(WCHAR), L"XYZXYZ");
    STATUS_(RtlUnicodeStringCat(&us, &src), STATUS_BUFFER_OVERFLOW);
    check_wide(__LINE__, "RtlUnicodeStringCat (truncated)", us.Buffer, us.Length / sizeof(WCHAR), L"XYZXYZXY");
    STATUS_(RtlUnicodeStringCopyString(&us, L"copy"), STATUS_SUCCESS);
    STATUS_(RtlUnicodeStringCatString(&us, L"cat"), STATUS_SUCCESS);
    check_wide(__LINE__, "RtlUnicodeStringCatString", us.Buffer, us.Length / sizeof(WCHAR), L"copycat");
    STATUS_(RtlUnicodeStringCatString(&us, L"++"), STATUS_BUFFER_OVERFLOW);
    TRUE_(us.Length == sizeof buffer);
    STATUS_(RtlUnicodeStringCchCopyStringN(&us, L"abcdef", 2), STATUS_SUCCESS);
    check_wide(__LINE__, "RtlUnicodeStringCchCopyStringN", us.Buffer, us.Length / sizeof(WCHAR), L"ab");

    STATUS_(RtlUnicodeStringInit(&init, L"init"), STATUS_SUCCESS);
    TRUE_(init.Length == 8 && init.MaximumLength == 10 && init.Buffer != NULL);
    STATUS_(RtlUnicodeStringInit(&init, NULL), STATUS_SUCCESS);
    TRUE_(init.Length == 0 && init.MaximumLength == 0 && init.Buffer == NULL);
    STATUS_(RtlUnicodeStringValidate(&src), STATUS_SUCCESS);
    STATUS_(RtlUnicodeStringValidate(&odd), STATUS_INVALID_PARAMETER);
}

static void test_wide_helpers(void) {
    WCHAR copy[6];
    TRUE_(test_wcslen(L"four") == 4);
    TRUE_(test_irpkit_wcslen(L"") == 0);
    TRUE_(test_irpkit_wcslen(L"\xD83D\xDE00") == 2);
    TRUE_(test_wcsicmp(L"Device", L"dEVICE") == 0);
    TRUE_(test_irpkit_wcsicmp(L"abc", L"ABD") < 0);
    TRUE_(test_irpkit_wcsicmp(L"abcd", L"ABC") > 0);
    TRUE_(test_irpkit_wcsnicmp(L"abcX", L"ABCy", 3) == 0);
    TRUE_(test_irpkit_wcscmp(L"a", L"b") < 0);
    TRUE_(test_irpkit_wcscmp(L"\xFFFF", L"a") > 0);
    {
        const WCHAR *hay = L"\\Device\\Name";
        TRUE_(test_irpkit_wcsstr(hay, L"Name") == hay + 8);
        TRUE_(test_irpkit_wcsstr(hay, L"name") == NULL);
        TRUE_(test_irpkit_wcsrchr(hay, L'\\') == hay + 7);
    }
    test_irpkit_wcsncpy(copy, L"ab", 6);
    TRUE_(copy[0] == 'a' && copy[1] == 'b' && copy[2] == 0 && copy[5] == 0);
}

static void test_object_types(void) {
    POBJECT_TYPE *all[] = {ExEventObjectType, ExSemaphoreObjectType, PsThreadType,
                           PsProcessType,     IoFileObjectType,      IoDeviceObjectType};
    size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) {
        TRUE_(all[i] != NULL && *all[i] != NULL);
        for (size_t j = 0; j < i; j++) TRUE_(*all[i] != *all[j]);
    }
}

int main(void) {
    test_conversions();
    test_debug_entry_points();
    test_wide_printf();
    test_narrow_printf();
    test_copy_cat_length();
    test_unicode_string();
    test_wide_helpers();
    test_object_types();
    if (failures != 0) {
        printf("format_test: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("format_test: all %d checks passed\n", checks);
    return 0;
}
