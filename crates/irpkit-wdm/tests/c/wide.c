/*
 * A driver whose DriverEntry uses the C runtime's wide-string routines on 2-byte WCHARs
 * and fails (STATUS_UNSUCCESSFUL, naming the first check that did not hold) unless each
 * one computed what it does on Windows: a call that reached the C library's 4-byte
 * routines would read two characters per unit.
 */
#include <ntddk.h>

DRIVER_INITIALIZE DriverEntry;

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) {                                                    \
            DbgPrint("wide: check failed: %s\n", #cond);                  \
            return STATUS_UNSUCCESSFUL;                                   \
        }                                                                 \
    } while (0)

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    WCHAR buffer[32];
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);

    CHECK(wcslen(L"four") == 4);
    CHECK(wcsnlen(L"four", 2) == 2);
    CHECK(wcscmp(L"abc", L"abd") < 0);
    CHECK(wcsncmp(L"abc", L"abd", 2) == 0);
    wcscpy(buffer, L"\\Device\\");
    wcscat(buffer, L"Wide");
    CHECK(wcslen(buffer) == 12);
    CHECK(wcscmp(buffer, L"\\Device\\Wide") == 0);
    CHECK(wcschr(buffer, L'W') == buffer + 8);
    CHECK(wcsrchr(buffer, L'\\') == buffer + 7);
    CHECK(wcsstr(buffer, L"Wide") == buffer + 8);
    CHECK(_wcsicmp(buffer, L"\\DEVICE\\wide") == 0);
    CHECK(_wcsnicmp(L"DEVICE", L"devX", 3) == 0);
    CHECK(towupper(L'a') == L'A' && towlower(L'Q') == L'q');
    wcsncpy(buffer, L"ab", 4);
    CHECK(buffer[0] == L'a' && buffer[1] == L'b' && buffer[2] == 0 && buffer[3] == 0);
    wcsncat(buffer, L"cdef", 2);
    CHECK(wcscmp(_wcsupr(buffer), L"ABCD") == 0);
    CHECK(wcscmp(_wcslwr(buffer), L"abcd") == 0);
    DbgPrint("wide: all checks held\n");
    return STATUS_SUCCESS;
}
