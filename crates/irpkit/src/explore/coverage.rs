//! Cancel coverage: did the explorer try the interleaving that breaks my driver?
//!
//! For every request of a scenario it counts where in the request's life each cancel
//! landed — the [`Window`]s: unsent, no cancel routine yet, between IoSetCancelRoutine
//! and the `Cancel` re-check, in the driver's keeping, in a device queue, in a
//! cancel-safe queue, as CurrentIrp, after the routine was cleared, while an earlier
//! cancel's routine owns it, during IoCompleteRequest, and too late — summed over the
//! schedules of an exploration, and names the windows no cancel ever hit.
//!
//! The NT layer keeps the IRP's lifecycle state and classifies each cancel
//! ([`crate::nt::coverage`] says exactly when each window begins and ends); every driver —
//! safe API, NT layer, C through the C ABI — goes through the same routines. The
//! explorer records coverage in every run: [`Outcome::coverage`](super::Outcome::coverage)
//! is one schedule's, [`Exploration::coverage`](super::Exploration::coverage) the sum.
//!
//! # Choices
//! - **Requests** are named by who issued them, not by IRP serial number (which depends
//!   on the interleaving): the issuing thread's label, the major function and the
//!   thread's n-th request of it ([`RequestKey`]); a scenario may label a request
//!   ([`with_request_label`]); scenario files label theirs with their `id`.
//! - **Mergeable.** A [`CancelCoverage`] is a plain value of counts that add and sets that
//!   unite: coverages of runs made by different workers merge ([`CancelCoverage::merge`])
//!   into the same total whatever the order.
//! - **Which windows apply.** A window applies to a request if the request was in it in
//!   some schedule (the NT layer marks each state a routine leaves the IRP in, except
//!   states that last only while the cancel spin lock is held, where no cancel can land),
//!   or if a cancel landed there. The setting window applies only once the setter crossed
//!   a scheduling point inside it: without one the explorer cannot put a cancel there, and
//!   the table says so separately instead of calling it "never hit". So "never hit" names
//!   windows the request really was in, open to a cancel, with no cancel landing there.
//! - **Which requests are listed.** Requests no cancel ever reached (opens, closes, reads
//!   nobody cancels) would only add rows of zeros: they are named on one line.

use std::collections::BTreeMap;
use std::fmt::Write as _;

pub use crate::nt::coverage::{RequestKey, Window};
use crate::nt::kernel::Kernel;

/// One request's cancel coverage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestCoverage {
    /// Cancels that landed in each window (indexed like [`Window::ALL`], i.e. by
    /// `window as usize`).
    pub hits: [u64; Window::COUNT],
    /// Schedules in which the request was issued.
    pub schedules: u64,
    /// The windows the request was in (bit `window as usize`).
    entered: u16,
    /// The setting window opened without a scheduling point inside it.
    setting_unexposed: bool,
}

impl RequestCoverage {
    /// Cancels that landed in `window`.
    pub fn hits(&self, window: Window) -> u64 {
        self.hits[window as usize]
    }

    /// Cancels that reached the request, in all windows.
    pub fn cancels(&self) -> u64 {
        self.hits.iter().sum()
    }

    /// Whether `window` applies to the request: it was in it, open to a cancel, in some
    /// schedule (or a cancel landed there).
    pub fn applies(&self, window: Window) -> bool {
        self.entered & window.bit() != 0 || self.hits(window) > 0
    }

    /// The windows that apply and that no cancel hit.
    pub fn never_hit(&self) -> Vec<Window> {
        Window::ALL.into_iter().filter(|&w| self.applies(w) && self.hits(w) == 0).collect()
    }

    /// Whether the request's cancel routine was set with a setting window that had no
    /// scheduling point inside (and the window never applied otherwise): a cancel between
    /// IoSetCancelRoutine and the re-check is possible on a real machine, but not in the
    /// explorer's schedules.
    pub fn setting_closed_to_explorer(&self) -> bool {
        self.setting_unexposed && !self.applies(Window::SettingRoutine)
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &RequestCoverage) {
        for (a, b) in self.hits.iter_mut().zip(other.hits) {
            *a += b;
        }
        self.schedules += other.schedules;
        self.entered |= other.entered;
        self.setting_unexposed |= other.setting_unexposed;
    }
}

/// Cancel coverage of one schedule or of many: per request, cancels per window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CancelCoverage {
    /// Schedules counted.
    pub schedules: u64,
    /// Every request issued, by its stable name.
    pub requests: BTreeMap<RequestKey, RequestCoverage>,
    /// Cancels of IRPs without a request name (IRPs irpkit did not allocate, or never
    /// sent with IoCallDriver).
    pub untracked: u64,
}

impl CancelCoverage {
    /// What `kernel` has recorded so far, as one schedule's coverage (empty, with one
    /// schedule, if it did not record).
    pub fn of_kernel(kernel: &Kernel) -> CancelCoverage {
        let (rows, untracked) = crate::nt::coverage::snapshot(&kernel.shared);
        let mut c = CancelCoverage { schedules: 1, requests: BTreeMap::new(), untracked };
        for row in rows {
            let r = RequestCoverage {
                hits: row.hits,
                schedules: 1,
                entered: row.entered,
                setting_unexposed: row.setting_unexposed,
            };
            c.requests.entry(row.key).or_default().merge(&r);
        }
        c
    }

    /// Adds `other` (another schedule's, another worker's) to this one.
    pub fn merge(&mut self, other: &CancelCoverage) {
        self.schedules += other.schedules;
        self.untracked += other.untracked;
        for (key, r) in &other.requests {
            self.requests.entry(key.clone()).or_default().merge(r);
        }
    }

    /// The request named `key`, if it was issued.
    pub fn request(&self, key: &RequestKey) -> Option<&RequestCoverage> {
        self.requests.get(key)
    }

    /// The first request whose name (its [`Display`](core::fmt::Display) form) is `name`.
    pub fn named(&self, name: &str) -> Option<&RequestCoverage> {
        self.requests.iter().find(|(k, _)| k.to_string() == name).map(|(_, r)| r)
    }

    /// The requests at least one cancel reached, with their coverage.
    pub fn cancelled(&self) -> impl Iterator<Item = (&RequestKey, &RequestCoverage)> {
        self.requests.iter().filter(|(_, r)| r.cancels() > 0)
    }

    /// The requests no cancel ever reached.
    pub fn never_cancelled(&self) -> Vec<&RequestKey> {
        self.requests.iter().filter(|(_, r)| r.cancels() == 0).map(|(k, _)| k).collect()
    }

    /// For each cancelled request with windows that apply and were never hit: those.
    pub fn never_hit(&self) -> Vec<(&RequestKey, Vec<Window>)> {
        self.cancelled().map(|(k, r)| (k, r.never_hit())).filter(|(_, w)| !w.is_empty()).collect()
    }
}

impl CancelCoverage {
    /// The coverage as a table: one row per cancelled request, one column per window that
    /// applies to at least one of them (`-`: not for this request), counts of cancels;
    /// then the windows never hit, named per request, the setting windows the explorer
    /// could not reach, and the requests never cancelled.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let rows: Vec<(String, &RequestCoverage)> = self.cancelled().map(|(k, r)| (k.to_string(), r)).collect();
        let _ = writeln!(
            out,
            "cancel coverage over {} schedule(s): cancels landed per window of each request's life",
            self.schedules
        );
        if rows.is_empty() {
            let _ = writeln!(out, "  no request was ever cancelled");
        } else {
            let columns: Vec<Window> =
                Window::ALL.into_iter().filter(|&w| rows.iter().any(|(_, r)| r.applies(w))).collect();
            let width = rows.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0).max("request".len());
            let _ = write!(out, "  {:<width$}", "request");
            for w in &columns {
                let _ = write!(out, " {:>w$}", w.id(), w = w.id().len().max(6));
            }
            let _ = writeln!(out);
            for (name, r) in &rows {
                let _ = write!(out, "  {name:<width$}");
                for w in &columns {
                    let cell = if r.applies(*w) { r.hits(*w).to_string() } else { "-".to_string() };
                    let _ = write!(out, " {cell:>w$}", w = w.id().len().max(6));
                }
                let _ = writeln!(out);
            }
            let hidden: Vec<&str> = Window::ALL.into_iter().filter(|w| !columns.contains(w)).map(Window::id).collect();
            if !hidden.is_empty() {
                let _ = writeln!(out, "  not applicable to any request: {}", hidden.join(", "));
            }
            let never = self.never_hit();
            if never.is_empty() {
                let _ = writeln!(out, "  never hit: none — every window that applies was hit");
            } else {
                let _ = writeln!(out, "  never hit:");
                for (k, ws) in never {
                    let names: Vec<&str> = ws.iter().map(|w| w.id()).collect();
                    let _ = writeln!(out, "    {k}: {}", names.join(", "));
                }
            }
            let closed: Vec<String> =
                self.cancelled().filter(|(_, r)| r.setting_closed_to_explorer()).map(|(k, _)| k.to_string()).collect();
            if !closed.is_empty() {
                let _ = writeln!(
                    out,
                    "  setting-routine opened with no scheduling point inside (a cancel there is possible on a \
                     real machine, not in these schedules): {}",
                    closed.join(", ")
                );
            }
        }
        let never_cancelled: Vec<String> = self.never_cancelled().iter().map(|k| k.to_string()).collect();
        if !never_cancelled.is_empty() {
            let _ = writeln!(out, "  never cancelled: {}", never_cancelled.join(", "));
        }
        if self.untracked > 0 {
            let _ = writeln!(out, "  cancels of IRPs without a request name: {}", self.untracked);
        }
        out
    }
}

/// Turns cancel-coverage recording on or off in `kernel` (the explorer turns it on for
/// every run; off, the NT layer's hooks cost one relaxed load each). What was recorded is
/// kept; [`CancelCoverage::of_kernel`] reads it.
pub fn record(kernel: &Kernel, on: bool) {
    crate::nt::coverage::set_on(&kernel.shared, on);
}

/// Runs `f`, giving the first request the calling thread issues in it the label `label`
/// (shown instead of its major function and number; kept in [`RequestKey::label`]). A
/// label no request took (the issue failed first) is dropped when `f` returns. Nothing is
/// recorded when the kernel does not record coverage.
pub fn with_request_label<R>(kernel: &Kernel, label: &str, f: impl FnOnce() -> R) -> R {
    struct Unlabel<'a>(&'a Kernel);
    impl Drop for Unlabel<'_> {
        fn drop(&mut self) {
            crate::nt::coverage::label_next_request(&self.0.shared, None);
        }
    }
    crate::nt::coverage::label_next_request(&kernel.shared, Some(label));
    let _unlabel = Unlabel(kernel);
    f()
}

#[cfg(test)]
mod tests;
