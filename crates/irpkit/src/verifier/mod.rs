//! The verifier: every broken rule becomes a typed [`Report`] carrying the Windows code.
//!
//! Two modes. [`VerifierMode::Strict`] (the default) panics at the violation with the
//! report as the message, like a bug check stops Windows; it is what tests want.
//! [`VerifierMode::Record`] collects reports and lets the run continue as Windows without
//! Driver Verifier would, so tools can show every violation of a run. No violation is
//! ever dropped: in record mode each report is kept until [`Verifier::take_reports`].

mod rules;

use core::fmt;

pub use rules::{BugCheck, Rule};

use crate::sync::{lock, Mutex};

/// What the verifier does when a rule breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VerifierMode {
    /// Panic at the violation (the default).
    #[default]
    Strict,
    /// Record the report and continue.
    Record,
}

/// Which driver routine was running when a rule broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The driver's name (`\Driver\...`), or `None` for the I/O manager / test code.
    pub driver: Option<String>,
    /// The kind of routine, e.g. `cancel routine` or `dispatch IRP_MJ_READ`.
    pub routine: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.driver {
            Some(d) => write!(f, "{} of {}", self.routine, d),
            None => write!(f, "{}", self.routine),
        }
    }
}

/// One stack location of the IRP a report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackFrame {
    /// 1-based index (as `CurrentLocation` counts).
    pub index: i32,
    /// Major function name.
    pub major: &'static str,
    /// The device's name, if the location was sent to one.
    pub device: Option<String>,
    /// Whether a completion routine is registered there.
    pub has_completion_routine: bool,
}

/// The IRP a report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrpSnapshot {
    /// irpkit's serial number of the IRP (`IRP #n`), stable across the run.
    pub id: u64,
    /// The IRP's address.
    pub address: usize,
    /// `StackCount`.
    pub stack_count: i8,
    /// `CurrentLocation`.
    pub current_location: i8,
    /// `Cancel`.
    pub cancel: bool,
    /// The stack locations in use.
    pub stack: Vec<StackFrame>,
}

impl fmt::Display for IrpSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IRP #{} at {:#x} (StackCount {}, CurrentLocation {}, Cancel {})",
            self.id, self.address, self.stack_count, self.current_location, self.cancel
        )?;
        for frame in &self.stack {
            write!(f, "\n             [{}] {}", frame.index, frame.major)?;
            if let Some(d) = &frame.device {
                write!(f, " -> {d}")?;
            }
            if frame.has_completion_routine {
                write!(f, " (completion routine set)")?;
            }
        }
        Ok(())
    }
}

/// A broken rule: which, what happened, where, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The rule that broke.
    pub rule: Rule,
    /// The NT routine in which the violation was detected, e.g. `IoCompleteRequest`.
    pub detected_in: &'static str,
    /// What happened, specifically.
    pub message: String,
    /// The driver routine that was running.
    pub location: Location,
    /// The IRP involved, if any.
    pub irp: Option<IrpSnapshot>,
}

impl Report {
    /// The Windows code of the broken rule, where Windows has one.
    pub fn bugcheck(&self) -> Option<BugCheck> {
        self.rule.bugcheck()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "irpkit verifier: {} — {}", self.rule, self.rule.title())?;
        writeln!(f, "  what:  {} (detected in {})", self.message, self.detected_in)?;
        writeln!(f, "  where: {}", self.location)?;
        if let Some(irp) = &self.irp {
            writeln!(f, "  irp:   {irp}")?;
        }
        writeln!(f, "  fix:   {}", self.rule.fix())?;
        write!(f, "  docs:  {}", self.rule.doc_url())
    }
}

/// The verifier of one [`Kernel`](crate::Kernel).
#[derive(Debug)]
pub struct Verifier {
    mode: Mutex<VerifierMode>,
    reports: Mutex<Vec<Report>>,
}

impl Verifier {
    pub(crate) fn new(mode: VerifierMode) -> Self {
        Verifier { mode: Mutex::new(mode), reports: Mutex::new(Vec::new()) }
    }

    /// The current mode.
    pub fn mode(&self) -> VerifierMode {
        *lock(&self.mode)
    }

    /// Switches the mode (reports already recorded stay).
    pub fn set_mode(&self, mode: VerifierMode) {
        *lock(&self.mode) = mode;
    }

    /// The reports recorded so far.
    pub fn reports(&self) -> Vec<Report> {
        lock(&self.reports).clone()
    }

    /// Removes and returns the reports recorded so far.
    pub fn take_reports(&self) -> Vec<Report> {
        core::mem::take(&mut *lock(&self.reports))
    }

    /// Number of reports recorded so far.
    pub fn report_count(&self) -> usize {
        lock(&self.reports).len()
    }

    /// Files a report: panics in strict mode, records it in record mode.
    pub(crate) fn file(&self, report: Report) {
        match self.mode() {
            VerifierMode::Strict => panic!("{report}"),
            VerifierMode::Record => lock(&self.reports).push(report),
        }
    }
}
