//! The executive and run-time library: pool, counted strings, interlocked lists, and the
//! diagnostics the header's macros call (ASSERT, PAGED_CODE, the DbgPrint family's output).

use core::ffi::{c_char, c_void};

use irpkit::nt::{self, *};

use super::{boolean, c_text};

// --- pool -------------------------------------------------------------------------------

pub(crate) unsafe extern "C-unwind" fn ExAllocatePool2(flags: u64, size: usize, tag: u32) -> *mut c_void {
    nt::ex_allocate_pool2(flags, size, tag)
}

pub(crate) unsafe extern "C-unwind" fn ExAllocatePoolWithTag(pool_type: u32, size: usize, tag: u32) -> *mut c_void {
    nt::ex_allocate_pool_with_tag(pool_type, size, tag)
}

pub(crate) unsafe extern "C-unwind" fn ExAllocatePoolZero(pool_type: u32, size: usize, tag: u32) -> *mut c_void {
    nt::ex_allocate_pool_zero(pool_type, size, tag)
}

pub(crate) unsafe extern "C-unwind" fn ExAllocatePoolQuotaZero(pool_type: u32, size: usize, tag: u32) -> *mut c_void {
    nt::ex_allocate_pool_quota_zero(pool_type, size, tag)
}

pub(crate) unsafe extern "C-unwind" fn ExAllocatePoolUninitialized(
    pool_type: u32,
    size: usize,
    tag: u32,
) -> *mut c_void {
    nt::ex_allocate_pool_with_tag(pool_type, size, tag)
}

pub(crate) unsafe extern "C-unwind" fn ExAllocatePoolWithQuotaTag(
    pool_type: u32,
    size: usize,
    tag: u32,
) -> *mut c_void {
    nt::ex_allocate_pool_with_tag(pool_type & !nt::pool::POOL_QUOTA_FAIL_INSTEAD_OF_RAISE, size, tag)
}

pub(crate) unsafe extern "C-unwind" fn ExAllocatePool(pool_type: u32, size: usize) -> *mut c_void {
    // The tag Windows gives untagged allocations: 'None'.
    nt::ex_allocate_pool_with_tag(pool_type, size, u32::from_le_bytes(*b"None"))
}

pub(crate) unsafe extern "C-unwind" fn ExFreePoolWithTag(block: *mut c_void, tag: u32) {
    // SAFETY: the driver frees a block it allocated (a wrong one is reported, not freed).
    unsafe { nt::ex_free_pool_with_tag(block, tag) }
}

pub(crate) unsafe extern "C-unwind" fn ExFreePool(block: *mut c_void) {
    // SAFETY: as ExFreePoolWithTag.
    unsafe { nt::ex_free_pool(block) }
}

pub(crate) unsafe extern "C-unwind" fn ExInitializeDriverRuntime(_flags: u32) {
    // DrvRtPoolNxOptIn: irpkit's non-paged pool is never executable anyway.
}

// --- counted strings ----------------------------------------------------------------------

/// `ANSI_STRING` / `STRING`.
#[repr(C)]
pub(crate) struct AnsiString {
    length: u16,
    maximum_length: u16,
    buffer: *mut c_char,
}

unsafe fn wide_len(s: *const u16) -> usize {
    let mut n = 0;
    // SAFETY: a NUL-terminated wide string, from the driver.
    while unsafe { *s.add(n) } != 0 {
        n += 1;
    }
    n
}

pub(crate) unsafe extern "C-unwind" fn RtlInitUnicodeString(dst: *mut UnicodeString, src: *const u16) {
    // SAFETY: the driver's UNICODE_STRING and a NUL-terminated source (or null).
    unsafe {
        if src.is_null() {
            dst.write(UnicodeString { length: 0, maximum_length: 0, buffer: core::ptr::null_mut() });
        } else {
            let bytes = (wide_len(src) * 2).min(0xFFFC);
            dst.write(UnicodeString { length: bytes as u16, maximum_length: bytes as u16 + 2, buffer: src.cast_mut() });
        }
    }
}

pub(crate) unsafe extern "C-unwind" fn RtlInitAnsiString(dst: *mut AnsiString, src: *const c_char) {
    // SAFETY: the driver's ANSI_STRING and a NUL-terminated source (or null).
    unsafe {
        if src.is_null() {
            dst.write(AnsiString { length: 0, maximum_length: 0, buffer: core::ptr::null_mut() });
        } else {
            let bytes = core::ffi::CStr::from_ptr(src).to_bytes().len().min(0xFFFE);
            dst.write(AnsiString { length: bytes as u16, maximum_length: bytes as u16 + 1, buffer: src.cast_mut() });
        }
    }
}

pub(crate) unsafe extern "C-unwind" fn RtlCopyUnicodeString(dst: *mut UnicodeString, src: *const UnicodeString) {
    // SAFETY: counted strings from the driver; the destination's buffer holds MaximumLength.
    unsafe {
        if src.is_null() || (*src).buffer.is_null() {
            (*dst).length = 0;
            return;
        }
        let n = (*src).length.min((*dst).maximum_length) & !1;
        core::ptr::copy((*src).buffer.cast::<u8>(), (*dst).buffer.cast::<u8>(), usize::from(n));
        (*dst).length = n;
        if n + 2 <= (*dst).maximum_length {
            (*dst).buffer.add(usize::from(n) / 2).write(0);
        }
    }
}

unsafe fn units(s: *const UnicodeString) -> Vec<u16> {
    // SAFETY: a counted string from the driver.
    unsafe {
        if s.is_null() || (*s).buffer.is_null() {
            return Vec::new();
        }
        core::slice::from_raw_parts((*s).buffer, usize::from((*s).length) / 2).to_vec()
    }
}

fn upcase(c: u16) -> u16 {
    char::from_u32(u32::from(c))
        .and_then(|ch| {
            let mut up = ch.to_uppercase();
            let first = up.next()?;
            (up.next().is_none() && (first as u32) < 0x10000).then_some(first as u32 as u16)
        })
        .unwrap_or(c)
}

fn compare(a: &[u16], b: &[u16], case_insensitive: bool) -> i32 {
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = if case_insensitive { (upcase(x), upcase(y)) } else { (x, y) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    a.len() as i32 - b.len() as i32
}

pub(crate) unsafe extern "C-unwind" fn RtlEqualUnicodeString(
    a: *const UnicodeString,
    b: *const UnicodeString,
    ci: u8,
) -> u8 {
    // SAFETY: counted strings from the driver.
    let (a, b) = unsafe { (units(a), units(b)) };
    boolean(a.len() == b.len() && compare(&a, &b, ci != 0) == 0)
}

pub(crate) unsafe extern "C-unwind" fn RtlCompareUnicodeString(
    a: *const UnicodeString,
    b: *const UnicodeString,
    ci: u8,
) -> i32 {
    // SAFETY: counted strings from the driver.
    let (a, b) = unsafe { (units(a), units(b)) };
    compare(&a, &b, ci != 0)
}

pub(crate) unsafe extern "C-unwind" fn RtlCompareMemory(a: *const c_void, b: *const c_void, length: usize) -> usize {
    // SAFETY: two readable blocks of `length` bytes, from the driver.
    let (a, b) = unsafe {
        (core::slice::from_raw_parts(a.cast::<u8>(), length), core::slice::from_raw_parts(b.cast::<u8>(), length))
    };
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

pub(crate) unsafe extern "C-unwind" fn RtlIntegerToUnicodeString(
    value: u32,
    base: u32,
    s: *mut UnicodeString,
) -> NtStatus {
    let base = if base == 0 { 10 } else { base };
    let text = match base {
        2 => format!("{value:b}"),
        8 => format!("{value:o}"),
        10 => value.to_string(),
        16 => format!("{value:X}"),
        _ => return STATUS_INVALID_PARAMETER,
    };
    let wide: Vec<u16> = text.encode_utf16().collect();
    // SAFETY: the driver's string with a buffer of MaximumLength bytes.
    unsafe {
        let bytes = wide.len() * 2;
        if bytes > usize::from((*s).maximum_length) {
            return STATUS_BUFFER_OVERFLOW;
        }
        core::ptr::copy_nonoverlapping(wide.as_ptr(), (*s).buffer, wide.len());
        (*s).length = bytes as u16;
        if bytes + 2 <= usize::from((*s).maximum_length) {
            (*s).buffer.add(wide.len()).write(0);
        }
    }
    STATUS_SUCCESS
}

pub(crate) unsafe extern "C-unwind" fn RtlUnicodeStringToInteger(
    s: *const UnicodeString,
    base: u32,
    value: *mut u32,
) -> NtStatus {
    // SAFETY: a counted string from the driver.
    let text = String::from_utf16_lossy(&unsafe { units(s) });
    let t = text.trim_start();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (base, digits) = match base {
        0 => {
            if let Some(r) = t.strip_prefix("0x") {
                (16, r)
            } else if let Some(r) = t.strip_prefix("0o") {
                (8, r)
            } else if let Some(r) = t.strip_prefix("0b") {
                (2, r)
            } else {
                (10, t)
            }
        }
        2 | 8 | 10 | 16 => (base, t),
        _ => return STATUS_INVALID_PARAMETER,
    };
    let digits: String = digits.chars().take_while(|c| c.is_digit(base)).collect();
    let n = u32::from_str_radix(if digits.is_empty() { "0" } else { &digits }, base).unwrap_or(u32::MAX);
    // SAFETY: the driver's out-parameter.
    unsafe { value.write(if negative { n.wrapping_neg() } else { n }) };
    STATUS_SUCCESS
}

// --- interlocked lists ------------------------------------------------------------------------

unsafe fn insert(head: *mut ListEntry, entry: *mut ListEntry, at_tail: bool, lock: *mut KSpinLock) -> *mut ListEntry {
    // SAFETY: an initialised list head guarded by `lock` (held across the list operations),
    // and an unlinked entry that the list owns from here.
    unsafe {
        let irql = nt::ke_acquire_spin_lock(&*lock);
        let list = nt::List::from_head(head);
        // The entry that was last (tail) or first (head) before the insert; NULL if the
        // list was empty.
        let before = if at_tail { list.prev(None) } else { list.first() };
        if at_tail {
            list.push_back(entry);
        } else {
            list.push_front(entry);
        }
        nt::ke_release_spin_lock(&*lock, irql);
        before.unwrap_or(core::ptr::null_mut())
    }
}

pub(crate) unsafe extern "C-unwind" fn ExInterlockedInsertTailList(
    head: *mut ListEntry,
    entry: *mut ListEntry,
    lock: *mut KSpinLock,
) -> *mut ListEntry {
    // SAFETY: the driver passes an initialised head guarded by `lock` and an unlinked entry
    // (ExInterlockedInsertTailList's contract), which is `insert`'s.
    unsafe { insert(head, entry, true, lock) }
}

pub(crate) unsafe extern "C-unwind" fn ExInterlockedInsertHeadList(
    head: *mut ListEntry,
    entry: *mut ListEntry,
    lock: *mut KSpinLock,
) -> *mut ListEntry {
    // SAFETY: the driver passes an initialised head guarded by `lock` and an unlinked entry
    // (ExInterlockedInsertHeadList's contract), which is `insert`'s.
    unsafe { insert(head, entry, false, lock) }
}

pub(crate) unsafe extern "C-unwind" fn ExInterlockedRemoveHeadList(
    head: *mut ListEntry,
    lock: *mut KSpinLock,
) -> *mut ListEntry {
    // SAFETY: an initialised list head guarded by `lock`.
    unsafe {
        let irql = nt::ke_acquire_spin_lock(&*lock);
        let first = nt::List::from_head(head).pop_front();
        nt::ke_release_spin_lock(&*lock, irql);
        first.unwrap_or(core::ptr::null_mut())
    }
}

// --- diagnostics -------------------------------------------------------------------------------

pub(crate) unsafe extern "C-unwind" fn RtlAssert(
    expression: *mut c_void,
    file: *mut c_void,
    line: u32,
    message: *mut c_char,
) {
    // SAFETY: the ASSERT macro passes string literals (or null for the message).
    let (expression, file, message) = unsafe { (c_text(expression.cast()), c_text(file.cast()), c_text(message)) };
    nt::rtl_assert(
        expression.as_deref().unwrap_or("(unknown)"),
        file.as_deref().unwrap_or("(unknown file)"),
        line,
        message.as_deref(),
    )
}

pub(crate) unsafe extern "C-unwind" fn DbgBreakPoint() {
    nt::dbg_break_point()
}

/// The DbgPrint family's end, called by the import library's formatter.
pub(crate) unsafe extern "C-unwind" fn IrpkitDebugOutput(
    component: u32,
    level: u32,
    text: *const c_char,
    length: usize,
) {
    if text.is_null() {
        return;
    }
    // SAFETY: the formatter passes its buffer and the length it wrote.
    let bytes = unsafe { core::slice::from_raw_parts(text.cast::<u8>(), length) };
    nt::dbg_print(component, level, &String::from_utf8_lossy(bytes))
}

/// PAGED_CODE(): the header passes the file and line.
pub(crate) unsafe extern "C-unwind" fn IrpkitPagedCode(file: *const c_char, line: u32) {
    // SAFETY: `__FILE__`, a string literal.
    let file = unsafe { c_text(file) };
    nt::paged_code(file.as_deref().unwrap_or("(unknown file)"), line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interlocked_lists_return_the_previous_end_or_null() {
        let mut head = Box::new(ListEntry::null());
        let mut a = Box::new(ListEntry::null());
        let mut b = Box::new(ListEntry::null());
        let mut lock = Box::new(KSpinLock::new());
        let (h, a, b, l) = (&raw mut *head, &raw mut *a, &raw mut *b, &raw mut *lock);
        // SAFETY: a head, entries and lock owned by this test; each entry is linked once.
        unsafe {
            nt::List::from_head(h).init();
            assert!(ExInterlockedRemoveHeadList(h, l).is_null(), "an empty list gives NULL");
            assert!(ExInterlockedInsertTailList(h, a, l).is_null(), "the list was empty");
            assert_eq!(ExInterlockedInsertHeadList(h, b, l), a, "the first entry before");
            assert_eq!(ExInterlockedRemoveHeadList(h, l), b);
            assert_eq!(ExInterlockedInsertTailList(h, b, l), a, "the last entry before");
            assert_eq!(ExInterlockedRemoveHeadList(h, l), a);
            assert_eq!(ExInterlockedRemoveHeadList(h, l), b);
            assert!(nt::List::from_head(h).is_empty());
        }
    }
}
