//! Driver diagnostics: debug output (DbgPrint, DbgPrintEx, KdPrint), DbgBreakPoint,
//! RtlAssert (the checked-build ASSERT) and PAGED_CODE's IRQL check.
//!
//! Debug output is kept by the kernel, in order, with the time, the thread and the driver
//! whose routine printed it ([`Kernel::debug_output`]), and goes to the timeline. An
//! assertion that fails is a verifier report naming the file and line, not an abort:
//! in record mode the driver goes on, as it would after "ignore" in a kernel debugger.
//!
//! Output is kept by lines, as a kernel debugger shows it: a DbgPrint without a newline
//! waits for the rest of its line from the same thread (one with several newlines is
//! several lines); [`Kernel::debug_output`] lists a thread's unfinished line last.
//!
//! Lock order: `DebugLog::lines` is a leaf, and so is `DebugLog::partial`; neither is
//! taken under the other.

use core::time::Duration;

use crate::nt::kernel::{self, try_with_current, with_current};
use crate::sync::{lock, Mutex};
use crate::verifier::Rule;
use crate::Kernel;

/// One line (or message) of a driver's debug output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugLine {
    /// The kernel clock's time.
    pub at: Duration,
    /// The driver whose routine printed it (`\Driver\Name`), if a driver routine was running.
    pub driver: Option<String>,
    /// `DbgPrintEx`'s component id (`DPFLTR_IHVDRIVER_ID` ...; 0 for DbgPrint, which is
    /// `DPFLTR_DEFAULT_ID`'s 101 on Windows: irpkit keeps what the caller passed).
    pub component: u32,
    /// `DbgPrintEx`'s level (0 `DPFLTR_ERROR_LEVEL` ... 3 `DPFLTR_INFO_LEVEL`, or a mask).
    pub level: u32,
    /// The text as formatted, without a trailing newline.
    pub text: String,
}

/// A kernel's debug output.
#[derive(Debug, Default)]
pub(crate) struct DebugLog {
    lines: Mutex<Vec<DebugLine>>,
    /// Each thread's line begun without its newline yet, by thread token.
    partial: Mutex<Vec<(usize, DebugLine)>>,
}

fn current_driver_name() -> Option<String> {
    let driver = kernel::current_routine().driver;
    // SAFETY: a running routine's driver object is live.
    (!driver.is_null()).then(|| unsafe { super::device::driver_name(driver) })
}

/// The debug print routines' common end: records `text` (already formatted) for
/// `component` and `level`, a line per newline; text after the last newline waits for the
/// rest of its line. A thread outside any kernel prints to standard error instead.
pub fn dbg_print(component: u32, level: u32, text: &str) {
    let recorded = try_with_current(|k| {
        let token = kernel::thread_token();
        let mut rest = text;
        loop {
            let (piece, done) = match rest.find('\n') {
                Some(i) => (&rest[..i], Some(&rest[i + 1..])),
                None => (rest, None),
            };
            let piece = piece.strip_suffix('\r').unwrap_or(piece);
            let begun = {
                let mut partial = lock(&k.debug_log.partial);
                partial.iter().position(|(t, _)| *t == token).map(|i| partial.swap_remove(i).1)
            };
            let mut line = begun.unwrap_or_else(|| DebugLine {
                at: k.clock.now(),
                driver: current_driver_name(),
                component,
                level,
                text: String::new(),
            });
            line.text.push_str(piece);
            match done {
                Some(after) => {
                    crate::nt::observe::debug_output(k, &line.text);
                    lock(&k.debug_log.lines).push(line);
                    if after.is_empty() {
                        break;
                    }
                    rest = after;
                }
                None => {
                    if !line.text.is_empty() {
                        lock(&k.debug_log.partial).push((token, line));
                    }
                    break;
                }
            }
        }
    });
    if recorded.is_none() {
        eprint!("{text}");
    }
}

/// `DbgBreakPoint`: with no kernel debugger attached the break is recorded in the debug
/// output (`*** DbgBreakPoint`) and the driver goes on.
pub fn dbg_break_point() {
    dbg_print(0, 0, "*** DbgBreakPoint\n");
}

/// `RtlAssert`: what a failed `ASSERT(expression)` calls in a checked build. A verifier
/// report naming the expression, the file and the line (and the message of
/// `ASSERTMSG`); in record mode the driver goes on.
pub fn rtl_assert(expression: &str, file: &str, line: u32, message: Option<&str>) {
    with_current("RtlAssert", |k| {
        let text = match message {
            Some(m) => format!("ASSERT failed at {file}:{line}: {m}: {expression}"),
            None => format!("ASSERT failed at {file}:{line}: {expression}"),
        };
        k.report(Rule::AssertionFailed, "RtlAssert", core::ptr::null_mut(), text)
    })
}

/// `PAGED_CODE()`: pageable code runs at or below APC_LEVEL; above it a page fault cannot
/// be served. Reported as IRQL_NOT_LESS_OR_EQUAL, naming the file and line.
pub fn paged_code(file: &str, line: u32) {
    let irql = kernel::current_irql();
    if irql > super::types::APC_LEVEL {
        with_current("PAGED_CODE", |k| {
            k.report(
                Rule::IrqlTooHigh,
                "PAGED_CODE",
                core::ptr::null_mut(),
                format!("pageable code (PAGED_CODE() at {file}:{line}) ran at IRQL {irql}; it must run at or below APC_LEVEL"),
            )
        })
    }
}

// The `Kernel` methods of this module: their public face is in `nt/kernel.rs`.
/// The body of [`Kernel::debug_output`].
pub(crate) fn debug_output(kernel: &Kernel) -> Vec<DebugLine> {
    let mut lines = lock(&kernel.shared.debug_log.lines).clone();
    lines.extend(lock(&kernel.shared.debug_log.partial).iter().map(|(_, l)| l.clone()));
    lines
}
