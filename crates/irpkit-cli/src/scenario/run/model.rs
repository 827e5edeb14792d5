//! The run-time structures of a scenario run: how each request ended and who asked to
//! cancel it, the run's summary, the devices and C drivers of a run, and the state the
//! requester threads share.

use crate::scenario::{ProcessSpec, Scenario};
use irpkit::explore;
use irpkit::io::{EventLogEntry, Handle, Overlapped, Process, RequestTimeout, ThreadHandle};
use irpkit::nt::{self, DebugLine, NtStatus};
use irpkit::safe::{Device, DeviceRef};
use irpkit::timeline::Event;
use irpkit::verifier::Report;
use irpkit::Kernel;
use irpkit_samples::buggy::CatalogDeviceHandle;
use irpkit_samples::csq_worker::CsqWorker;
use irpkit_samples::pending_read::PendingRead;
use irpkit_samples::serial::Serial;
use irpkit_samples::stubborn::Stubborn;
use irpkit_wdm::{DriverImage, LoadError};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How one request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Its result was delivered.
    Completed {
        /// Final status.
        status: NtStatus,
        /// Bytes transferred.
        information: usize,
    },
    /// Thread exit gave up on it after the five minutes (logged).
    Disassociated,
    /// It never reached a driver (no such handle at that moment, process ending).
    Refused(NtStatus),
    /// Nobody knows: never delivered, not disassociated — a lost request.
    Lost,
    /// The run stopped before the end (see [`RunSummary::failure`]) with the request still
    /// pending: reported, not lost.
    Outstanding,
}

impl End {
    /// The name expectations use: a status name, `disassociated`, or `lost`.
    pub fn name(&self) -> String {
        match self {
            End::Completed { status, .. } | End::Refused(status) => status_label(*status),
            End::Disassociated => "disassociated".to_string(),
            End::Lost => "lost".to_string(),
            End::Outstanding => "outstanding".to_string(),
        }
    }
}

/// Who asked for a request's cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelCause {
    /// `CancelIo` on its handle, by its thread.
    CancelIo,
    /// `CancelIoEx` on its handle (all of the handle's requests, or this one).
    CancelIoEx,
    /// `CancelSynchronousIo` of the thread blocked in it.
    CancelSynchronousIo,
    /// Its per-request timeout (`timeout_ms`) ran out.
    Timeout,
    /// Its thread exited with it outstanding.
    ThreadExit,
    /// Its process was terminated (`exit-process`).
    ProcessExit,
}

impl CancelCause {
    /// The name summaries use: the Win32 routine, `timeout`, `thread exit` or `process exit`.
    pub fn name(self) -> &'static str {
        match self {
            CancelCause::CancelIo => "CancelIo",
            CancelCause::CancelIoEx => "CancelIoEx",
            CancelCause::CancelSynchronousIo => "CancelSynchronousIo",
            CancelCause::Timeout => "timeout",
            CancelCause::ThreadExit => "thread exit",
            CancelCause::ProcessExit => "process exit",
        }
    }
}

/// A status as expectations and summaries name it: its symbolic name, or `0x` and eight
/// hex digits for one irpkit has no name for.
pub fn status_label(status: NtStatus) -> String {
    nt::status_name(status).map_or_else(|| format!("0x{:08X}", status as u32), str::to_string)
}

/// One request of the run.
#[derive(Debug, Clone)]
pub struct Request {
    /// Its id (given, or `<process>.<thread>.<n>`).
    pub id: String,
    /// The process and thread that issued it.
    pub process: String,
    /// See `process`.
    pub thread: String,
    /// The device it went to.
    pub device: String,
    /// What it was (`read 16 @0`, ...).
    pub what: String,
    /// Synchronous (the thread waited) or overlapped.
    pub synchronous: bool,
    /// irpkit's IRP number (the timeline's and the event log's); none for a request that
    /// never got an IRP.
    pub irp: Option<u64>,
    /// When it was issued, on the kernel's clock.
    pub issued_at: Duration,
    /// When its completion finished (delivered or not).
    pub completed_at: Option<Duration>,
    /// The first time someone asked to cancel it (CancelIo, CancelIoEx,
    /// CancelSynchronousIo, its timeout, its thread's exit).
    pub cancel_requested_at: Option<Duration>,
    /// Who asked first (set with `cancel_requested_at`).
    pub cancel_requested_by: Option<CancelCause>,
    /// Whether its timeout fired.
    pub timed_out: bool,
    /// How it ended.
    pub end: End,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The scenario's name.
    pub name: String,
    /// Every request, in issue order.
    pub requests: Vec<Request>,
    /// The event log.
    pub event_log: Vec<EventLogEntry>,
    /// Verifier reports, in order.
    pub reports: Vec<Report>,
    /// A run that did not finish cleanly: a panic, deadlock, livelock, ...
    pub failure: Option<String>,
    /// Operations that could not be carried out (a handle not open at that moment, ...).
    pub op_errors: Vec<String>,
    /// The kernel clock at the end.
    pub ended_at: Duration,
    /// Expectations: (what, held, detail).
    pub expectations: Vec<(String, bool, String)>,
    /// Everything the kernel did, in order (see [`irpkit::timeline`]).
    pub timeline: Vec<Event>,
    /// The C drivers' debug output (DbgPrint, DbgPrintEx, KdPrint), in order.
    pub debug_output: Vec<DebugLine>,
}

impl RunSummary {
    /// Requests that are neither delivered, disassociated nor refused.
    pub fn unaccounted(&self) -> usize {
        self.requests.iter().filter(|r| r.end == End::Lost).count()
    }

    /// Whether every expectation held, nothing was lost and the run finished.
    pub fn ok(&self) -> bool {
        self.failure.is_none() && self.unaccounted() == 0 && self.expectations.iter().all(|e| e.1)
    }
}

/// A device of the run.
pub(super) enum LiveDevice {
    PendingRead(Device<PendingRead>),
    Serial(Device<Serial>),
    CsqWorker(Arc<Device<CsqWorker>>),
    Stubborn(Device<Stubborn>),
    Catalog(CatalogDeviceHandle),
    /// A device a C driver created (the driver owns it).
    C(DevicePtr),
}

impl LiveDevice {
    pub(super) fn device_ref(&self) -> &DeviceRef {
        match self {
            LiveDevice::PendingRead(d) => d.device_ref(),
            LiveDevice::Serial(d) => d.device_ref(),
            LiveDevice::CsqWorker(d) => d.device_ref(),
            LiveDevice::Stubborn(d) => d.device_ref(),
            LiveDevice::Catalog(d) => d.device_ref(),
            // SAFETY: a device object of this run's kernel (found by name after its
            // driver's DriverEntry): device memory lasts as long as the kernel, which
            // outlives the run's devices.
            LiveDevice::C(p) => unsafe { DeviceRef::from_ptr(p.0) },
        }
    }
}

/// The C drivers of a scenario, built ([`build_drivers`](super::build_drivers)): each run loads its own copy.
#[derive(Debug, Clone, Default)]
pub struct Drivers {
    pub(super) images: Vec<BuiltDriver>,
}

#[derive(Debug, Clone)]
pub(super) struct BuiltDriver {
    pub(super) name: String,
    pub(super) image: DriverImage,
    pub(super) unload: bool,
}

impl Drivers {
    /// The built drivers: (name, shared object).
    pub fn images(&self) -> impl Iterator<Item = (&str, &std::path::Path)> {
        self.images.iter().map(|d| (d.name.as_str(), d.image.path()))
    }

    /// The compilers' warnings, by driver (drivers built without any are left out).
    pub fn warnings(&self) -> Vec<(&str, &str)> {
        self.images
            .iter()
            .filter(|d| !d.image.warnings().trim().is_empty())
            .map(|d| (d.name.as_str(), d.image.warnings()))
            .collect()
    }
}

/// Why a scenario's C drivers could not be built or set up: the run cannot start (bad
/// input, `irpkit run` exits 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupError {
    /// A driver did not build (the compiler's messages are in `error`).
    Build {
        /// The `[[c_driver]]`'s name.
        driver: String,
        /// What went wrong.
        error: LoadError,
    },
    /// A driver did not load: an unresolved kernel routine, no DriverEntry, DriverEntry
    /// failed.
    Load {
        /// The `[[c_driver]]`'s name.
        driver: String,
        /// What went wrong.
        error: LoadError,
    },
    /// A `driver = "c"` device's `path` names no device the driver made.
    DeviceNotFound {
        /// The device (the scenario's name for it).
        device: String,
        /// The `[[c_driver]]`'s name.
        driver: String,
        /// The name looked for.
        path: String,
        /// The symbolic links the drivers created: (link, target).
        links: Vec<(String, String)>,
        /// The NT names of the devices the driver created.
        devices: Vec<String>,
    },
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Build { driver, error } => write!(f, "C driver `{driver}` did not build: {error}"),
            SetupError::Load { driver, error } => write!(f, "C driver `{driver}` did not load: {error}"),
            SetupError::DeviceNotFound { device, driver, path, links, devices } => {
                write!(f, "device `{device}`: C driver `{driver}` made no device named `{path}`; ")?;
                if links.is_empty() {
                    write!(f, "it created no symbolic link (IoCreateSymbolicLink)")?;
                } else {
                    let l: Vec<String> = links.iter().map(|(a, b)| format!("`{a}` -> `{b}`")).collect();
                    write!(f, "the symbolic links it created: {}", l.join(", "))?;
                }
                if devices.is_empty() {
                    write!(f, "; it created no device")
                } else {
                    let d: Vec<String> = devices.iter().map(|d| format!("`{d}`")).collect();
                    write!(f, "; its devices: {}", d.join(", "))
                }
            }
        }
    }
}

impl std::error::Error for SetupError {}

/// A device pointer the requester threads may share (device objects live as long as
/// their kernel).
pub(super) use irpkit::nt::DevicePtr;

/// A request while the run goes on.
pub(super) struct LiveRequest {
    pub(super) record: Request,
    pub(super) overlapped: Option<Overlapped>,
    pub(super) handle: Option<Handle>,
    /// The armed timeout and its length.
    pub(super) timeout: Option<(RequestTimeout, Duration)>,
}

/// One process's shared state.
pub(super) struct Proc {
    pub(super) name: String,
    pub(super) process: Process,
    /// Open handles by name: the handle, whether it is overlapped, the device's name.
    pub(super) handles: Mutex<BTreeMap<String, (Handle, bool, String)>>,
    /// Events the process created (`create-event`), by name.
    pub(super) events: Mutex<BTreeMap<String, irpkit::io::UserEvent>>,
    pub(super) threads: Mutex<BTreeMap<String, ThreadHandle>>,
}

/// The run's shared state (std locks here are only held for bookkeeping, never across a
/// kernel primitive).
pub(super) struct RunState {
    pub(super) kernel: Kernel,
    pub(super) devices: BTreeMap<String, (DevicePtr, String)>,
    /// The NT names of the devices C drivers made.
    pub(super) c_devices: std::collections::BTreeSet<String>,
    pub(super) requests: Mutex<Vec<LiveRequest>>,
    pub(super) op_errors: Mutex<Vec<String>>,
    /// What each running requester thread (`process/thread`) is doing: its operation's
    /// number and description, for a run that stops before the end.
    pub(super) doing: Mutex<BTreeMap<String, String>>,
}

/// Locks `m`, also after a holder panicked.
pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `n` milliseconds as a relative NT interval (negative, in 100 ns units).
pub(super) fn ms(n: u64) -> i64 {
    -(i64::try_from(n).unwrap_or(i64::MAX / 10_000).saturating_mul(10_000))
}

/// What a run leaves: the requests, the event log, the operations that failed, the
/// timeline, the drivers' debug output.
#[derive(Default)]
pub(super) struct RunOutcome {
    pub(super) requests: Vec<Request>,
    pub(super) event_log: Vec<EventLogEntry>,
    pub(super) op_errors: Vec<String>,
    pub(super) timeline: Vec<Event>,
    pub(super) debug_output: Vec<DebugLine>,
}

/// A run's kernel and world, kept for a run that stops before the end.
pub(super) type Started = Mutex<Option<(Kernel, Arc<RunState>)>>;

/// The explorer's view of a scenario file. In a run (`keep`), the run fills `result`, and
/// `started` keeps the run's kernel and world, for a run that stops before the end; when
/// exploring, neither is kept (each schedule is a run of its own).
pub(super) struct FileScenario {
    pub(super) spec: Scenario,
    pub(super) processes: Vec<ProcessSpec>,
    pub(super) drivers: Drivers,
    pub(super) keep: bool,
    pub(super) result: Mutex<Option<RunOutcome>>,
    pub(super) started: Started,
    /// The last C driver setup that failed.
    pub(super) setup_error: Mutex<Option<SetupError>>,
}

/// A scenario file as the explorer runs it: every schedule loads the C drivers afresh
/// into its own kernel. Expectations are not checked (a schedule's violation is a
/// verifier report, a panic, a deadlock, a livelock or a lost IRP, as for the catalog's
/// scenarios).
pub struct Explorable {
    pub(super) scenario: Arc<FileScenario>,
}

impl Explorable {
    /// For [`explore::explore`], [`explore::replay`] and their kin.
    pub fn scenario(&self) -> Arc<dyn explore::Scenario> {
        self.scenario.clone()
    }

    /// The error of the first run whose C drivers could not be set up (a DriverEntry that
    /// failed, a device not found, ...); the runs after it end at once, clean.
    pub fn setup_error(&self) -> Option<SetupError> {
        lock(&self.scenario.setup_error).clone()
    }
}
