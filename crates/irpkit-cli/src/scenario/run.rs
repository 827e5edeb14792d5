//! Running a scenario file: devices created, requester threads started together, every
//! request followed to its end, the expectations checked.
//!
//! On the virtual clock a run goes through the explorer's scheduler with one schedule
//! (the scenario's seed): deterministic, and the five-minute thread-exit wait takes
//! milliseconds. On the real clock the threads run free.
//!
//! C drivers (`[[c_driver]]`) are built once, before the run ([`build_drivers`]); each
//! run loads them into its kernel (their DriverEntry runs on the scenario's own thread,
//! before any requester starts), finds their devices by name, and unloads them at the end
//! (DriverUnload; what they leave behind is reported by the verifier).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use irpkit::explore::{self, Limits, Strategy};
use irpkit::io::{EventLogEntry, Handle, Overlapped, Process, RequestTimeout, RequesterThread, ThreadHandle};
use irpkit::nt::{self, ke_delay_execution_thread, DebugLine, NtStatus};
use irpkit::safe::{create_device, create_start_io_device, Device, DeviceRef};
use irpkit::timeline::Event;
use irpkit::verifier::Report;
use irpkit::Kernel;
use irpkit_samples::buggy::{self, Bug, CatalogDeviceHandle};
use irpkit_samples::csq_worker::CsqWorker;
use irpkit_samples::pending_read::PendingRead;
use irpkit_samples::serial::{Serial, SerialConfig};
use irpkit_samples::stubborn::Stubborn;
use irpkit_wdm::{CDriver, DriverImage, LoadError, LoadedDriver};

use super::{ClockKind, DriverKind, Op, ProcessSpec, Scenario, ThreadSpec, VerifierKind};

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
enum LiveDevice {
    PendingRead(Device<PendingRead>),
    Serial(Device<Serial>),
    CsqWorker(Arc<Device<CsqWorker>>),
    Stubborn(Device<Stubborn>),
    Catalog(CatalogDeviceHandle),
    /// A device a C driver created (the driver owns it).
    C(DevPtr),
}

impl LiveDevice {
    fn device_ref(&self) -> &DeviceRef {
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

/// The C drivers of a scenario, built ([`build_drivers`]): each run loads its own copy.
#[derive(Debug, Clone, Default)]
pub struct Drivers {
    images: Vec<BuiltDriver>,
}

#[derive(Debug, Clone)]
struct BuiltDriver {
    name: String,
    image: DriverImage,
    unload: bool,
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

/// Builds the scenario's C drivers (compiling their sources, or taking the prebuilt
/// shared objects), once, before any run; builds are cached by irpkit-wdm.
pub fn build_drivers(spec: &Scenario) -> Result<Drivers, SetupError> {
    let mut images = Vec::new();
    for c in &spec.c_drivers {
        let build_error = |error| SetupError::Build { driver: c.name.clone(), error };
        let image = match (&c.sources, &c.shared_object) {
            (_, Some(so)) => {
                let path = spec.resolve(so);
                let mut image = DriverImage::from_shared_object(&path);
                if image.name() != c.name {
                    // The driver object's name is the scenario's, not the file's stem:
                    // rebuild the image's name through a copy named after the driver.
                    image = named_copy(&path, &c.name).map_err(build_error)?;
                }
                image
            }
            (Some(sources), None) => {
                let mut b = CDriver::new(&c.name);
                for src in sources {
                    b = b.source(spec.resolve(src));
                }
                for dir in &c.include {
                    b = b.include(spec.resolve(dir));
                }
                for (name, value) in &c.defines {
                    if let Some(value) = value.as_define() {
                        b = b.define(name, value.as_deref());
                    }
                }
                for flag in &c.flags {
                    b = b.flag(flag);
                }
                b.build().map_err(build_error)?
            }
            (None, None) => {
                return Err(build_error(LoadError::Io {
                    what: format!("building {}", c.name),
                    error: "neither sources nor a shared object".into(),
                }))
            }
        };
        images.push(BuiltDriver { name: c.name.clone(), image, unload: c.unload });
    }
    if !images.is_empty() {
        prepare_loader().map_err(|error| SetupError::Build { driver: images[0].name.clone(), error })?;
    }
    Ok(Drivers { images })
}

/// A copy of the shared object at `path` named `{name}.so` (in a directory of its own
/// under the temporary directory), so that the driver object is `\Driver\{name}`.
fn named_copy(path: &std::path::Path, name: &str) -> Result<DriverImage, LoadError> {
    let io = |what: String| move |e: std::io::Error| LoadError::Io { what, error: e.to_string() };
    let dir = std::env::temp_dir().join(format!("irpkit-cli-drivers-{}", std::process::id())).join(name);
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    let copy = dir.join(format!("{name}.so"));
    std::fs::copy(path, &copy).map_err(io(format!("reading {}", path.display())))?;
    Ok(DriverImage::from_shared_object(copy))
}

/// Makes irpkit-wdm build (or find) and load its import library now, on this thread,
/// outside any run: the first load of a driver in a process does it otherwise, and on
/// the virtual clock that load runs under the explorer's scheduler, where a compiler
/// taking seconds would be a stall.
fn prepare_loader() -> Result<(), LoadError> {
    irpkit_wdm::loader::prepare()
}

/// A device pointer the requester threads may share.
#[derive(Clone, Copy)]
struct DevPtr(*mut nt::DeviceObject);
// SAFETY: device objects are shared by design and live as long as their kernel.
unsafe impl Send for DevPtr {}
// SAFETY: as above.
unsafe impl Sync for DevPtr {}

/// A request while the run goes on.
struct Live {
    record: Request,
    overlapped: Option<Overlapped>,
    handle: Option<Handle>,
    /// The armed timeout and its length.
    timeout: Option<(RequestTimeout, Duration)>,
}

/// One process's shared state.
struct Proc {
    name: String,
    process: Process,
    /// Open handles by name: the handle, whether it is overlapped, the device's name.
    handles: Mutex<BTreeMap<String, (Handle, bool, String)>>,
    /// Events the process created (`create-event`), by name.
    events: Mutex<BTreeMap<String, irpkit::io::UserEvent>>,
    threads: Mutex<BTreeMap<String, ThreadHandle>>,
}

/// The run's shared state (std locks here are only held for bookkeeping, never across a
/// kernel primitive).
struct World {
    kernel: Kernel,
    devices: BTreeMap<String, (DevPtr, String)>,
    /// The NT names of the devices C drivers made.
    c_devices: std::collections::BTreeSet<String>,
    requests: Mutex<Vec<Live>>,
    op_errors: Mutex<Vec<String>>,
    /// What each running requester thread (`process/thread`) is doing: its operation's
    /// number and description, for a run that stops before the end.
    doing: Mutex<BTreeMap<String, String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn ms(n: u64) -> i64 {
    -(i64::try_from(n).unwrap_or(i64::MAX / 10_000).saturating_mul(10_000))
}

/// What a run leaves: the requests, the event log, the operations that failed, the
/// timeline, the drivers' debug output.
#[derive(Default)]
struct WorldResult {
    requests: Vec<Request>,
    event_log: Vec<EventLogEntry>,
    op_errors: Vec<String>,
    timeline: Vec<Event>,
    debug_output: Vec<DebugLine>,
}

/// A run's kernel and world, kept for a run that stops before the end.
type Started = Mutex<Option<(Kernel, Arc<World>)>>;

/// The explorer's view of a scenario file. In a run (`keep`), the run fills `result`, and
/// `started` keeps the run's kernel and world, for a run that stops before the end; when
/// exploring, neither is kept (each schedule is a run of its own).
struct FileScenario {
    spec: Scenario,
    processes: Vec<ProcessSpec>,
    drivers: Drivers,
    keep: bool,
    result: Mutex<Option<WorldResult>>,
    started: Started,
    /// The last C driver setup that failed.
    setup_error: Mutex<Option<SetupError>>,
}

impl explore::Scenario for FileScenario {
    fn name(&self) -> &str {
        self.spec.name.as_deref().unwrap_or("scenario")
    }

    fn run(&self, kernel: &Kernel) {
        // Exploring: once the drivers could not be set up, the remaining schedules end
        // at once (the caller reports the error; they would all fail alike).
        if !self.keep && lock(&self.setup_error).is_some() {
            return;
        }
        let started = self.keep.then_some(&self.started);
        match run_world(kernel, &self.spec, &self.processes, &self.drivers, started) {
            Ok(outcome) => {
                if self.keep {
                    *lock(&self.result) = Some(outcome);
                }
            }
            Err(e) => *lock(&self.setup_error) = Some(e),
        }
    }
}

/// A scenario file as the explorer runs it: every schedule loads the C drivers afresh
/// into its own kernel. Expectations are not checked (a schedule's violation is a
/// verifier report, a panic, a deadlock, a livelock or a lost IRP, as for the catalog's
/// scenarios).
pub struct Explorable {
    scenario: Arc<FileScenario>,
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

/// `spec` (its C drivers built into `drivers`) as an explorer scenario.
pub fn explorable(spec: &Scenario, drivers: &Drivers) -> Explorable {
    Explorable { scenario: Arc::new(file_scenario(spec, drivers, false)) }
}

fn file_scenario(spec: &Scenario, drivers: &Drivers, keep: bool) -> FileScenario {
    FileScenario {
        spec: spec.clone(),
        processes: with_random(spec),
        drivers: drivers.clone(),
        keep,
        result: Mutex::new(None),
        started: Mutex::new(None),
        setup_error: Mutex::new(None),
    }
}

/// The budgets of one run of a scenario file under the explorer's scheduler: room for
/// long scenarios (the five-minute wait, big random workloads). `irpkit run` and
/// `irpkit explore`/`replay` of a file use the same, so that a schedule replays the same.
pub fn file_limits(stop_at_first_report: bool) -> Limits {
    Limits {
        stop_at_first_report,
        max_steps: 5_000_000,
        max_virtual_time: Duration::from_secs(4 * 3600),
        ..Limits::default()
    }
}

/// Runs `spec` once and checks its expectations. Its C drivers are built first; a
/// driver that cannot be built or set up makes a summary whose `failure` says why (see
/// [`try_run`] to tell that apart).
pub fn run(spec: &Scenario) -> RunSummary {
    try_run(spec).unwrap_or_else(|e| RunSummary {
        name: spec.name.clone().unwrap_or_else(|| "scenario".to_string()),
        requests: Vec::new(),
        event_log: Vec::new(),
        reports: Vec::new(),
        failure: Some(format!("the run could not start: {e}")),
        op_errors: Vec::new(),
        ended_at: Duration::ZERO,
        expectations: Vec::new(),
        timeline: Vec::new(),
        debug_output: Vec::new(),
    })
}

/// Builds `spec`'s C drivers, runs it once and checks its expectations; `Err` when a C
/// driver cannot be built, loaded, or its device found.
pub fn try_run(spec: &Scenario) -> Result<RunSummary, SetupError> {
    let drivers = build_drivers(spec)?;
    run_built(spec, &drivers)
}

/// Runs `spec` once with its C drivers already built ([`build_drivers`]) and checks its
/// expectations; `Err` when a C driver cannot be loaded or its device found.
pub fn run_built(spec: &Scenario, drivers: &Drivers) -> Result<RunSummary, SetupError> {
    let name = spec.name.clone().unwrap_or_else(|| "scenario".to_string());
    let scenario = Arc::new(file_scenario(spec, drivers, true));
    let (reports, failure, ended_at) = match spec.clock {
        ClockKind::Virtual => {
            let limits = file_limits(spec.verifier == VerifierKind::Strict);
            let dyn_scenario: Arc<dyn explore::Scenario> = scenario.clone();
            let outcome = explore::run_one(&dyn_scenario, Strategy::Random, spec.seed, &limits);
            let at = outcome.trace.last().map_or(Duration::ZERO, |s| s.at);
            match outcome.violation {
                Some(v) => {
                    let failure = match &v.kind {
                        explore::ViolationKind::Report(_) => None,
                        other => Some(other.to_string()),
                    };
                    let strict_stop = spec.verifier == VerifierKind::Strict && !v.reports.is_empty();
                    let failure = failure.or_else(|| {
                        strict_stop.then(|| "the verifier is strict: the run stopped at its first report".to_string())
                    });
                    (v.reports, failure, at)
                }
                None => (Vec::new(), None, at),
            }
        }
        ClockKind::Real => {
            let kernel = Kernel::builder().verifier_mode(irpkit::verifier::VerifierMode::Record).build();
            let failure = {
                let _entered = kernel.enter();
                let dpc = kernel.start_dpc_thread();
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    explore::Scenario::run(&*scenario, &kernel)
                }));
                drop(dpc);
                kernel.report_leaked_irps("at the end of the scenario (every thread had finished)");
                r.err().map(|p| {
                    let text = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "a panic".to_string());
                    format!("panic: {text}")
                })
            };
            let at = kernel.clock().now();
            (kernel.verifier().take_reports(), failure, at)
        }
    };
    if let Some(e) = lock(&scenario.setup_error).take() {
        lock(&scenario.started).take();
        return Err(e);
    }
    let finished = lock(&scenario.result).take();
    let mut failure = failure;
    let result = match finished {
        Some(r) => {
            // Finished: the kernel ends here, as the explorer would have ended it.
            lock(&scenario.started).take();
            r
        }
        None => {
            let (result, running) = stopped_world(&scenario);
            if !running.is_empty() {
                let f = failure.get_or_insert_with(|| "the run stopped before the end".to_string());
                f.push_str("\nthreads still running when it stopped:");
                for (thread, doing) in running {
                    f.push_str(&format!("\n  {thread}: {doing}"));
                }
            }
            result
        }
    };
    let mut summary = RunSummary {
        name,
        requests: result.requests,
        event_log: result.event_log,
        reports,
        failure,
        op_errors: result.op_errors,
        ended_at,
        expectations: Vec::new(),
        timeline: result.timeline,
        debug_output: result.debug_output,
    };
    summary.expectations = check_expectations(spec, &summary);
    Ok(summary)
}

/// The processes of the file plus the random workload's.
fn with_random(spec: &Scenario) -> Vec<ProcessSpec> {
    let mut processes = spec.processes.clone();
    let Some(r) = &spec.random else { return processes };
    let mut rng = explore::Rng::new(r.seed.unwrap_or(spec.seed) ^ 0x5EED_5EED);
    let threads = (0..r.threads)
        .map(|t| {
            let name = format!("t{t}");
            let mut ops = vec![Op::Open { device: r.device.clone(), handle: format!("h{t}"), overlapped: true }];
            let mut ids = Vec::new();
            for n in 0..r.requests {
                let id = format!("random.{name}.{n}");
                ops.push(Op::Read(super::Transfer {
                    handle: format!("h{t}"),
                    length: 16,
                    offset: i64::from(rng.below(64) as u32) * 512,
                    id: Some(id.clone()),
                    timeout_ms: None,
                }));
                ids.push(id.clone());
                if r.max_gap_ms > 0 {
                    ops.push(Op::Sleep { ms: rng.below(r.max_gap_ms + 1) });
                }
                if rng.chance(r.cancel) {
                    if rng.chance(0.2) {
                        ops.push(Op::CancelIo { handle: format!("h{t}") });
                    } else {
                        let victim = ids[rng.below(ids.len() as u64) as usize].clone();
                        ops.push(Op::CancelIoEx { handle: format!("h{t}"), request: Some(victim) });
                    }
                }
            }
            for id in ids {
                ops.push(Op::Wait { request: id, timeout_ms: Some(50) });
            }
            ops.push(Op::Close { handle: format!("h{t}") });
            ThreadSpec { name, ops }
        })
        .collect();
    processes.push(ProcessSpec { name: "random".to_string(), threads });
    processes
}

fn create(kernel: &Kernel, spec: &super::DeviceSpec) -> LiveDevice {
    let hardware = Duration::from_millis(spec.hardware_ms.unwrap_or(1));
    let deferred = spec.deferred_start_io.unwrap_or(true);
    let name = spec.name.clone();
    match spec.driver {
        DriverKind::PendingRead => {
            LiveDevice::PendingRead(create_device(kernel, &name, PendingRead::new()).expect("IoCreateDevice"))
        }
        DriverKind::Serial | DriverKind::Disk => {
            let config = SerialConfig {
                transfer_time: hardware,
                elevator: spec.driver == DriverKind::Disk,
                deferred_start_io: deferred,
                ..SerialConfig::default()
            };
            let d = create_start_io_device(kernel, &name, Serial::new(config)).expect("IoCreateDevice");
            d.configure(d.device_ref());
            LiveDevice::Serial(d)
        }
        DriverKind::CsqWorker => {
            let d = Arc::new(
                create_device(kernel, &name, CsqWorker::new(hardware, Duration::ZERO)).expect("IoCreateDevice"),
            );
            CsqWorker::start(&d);
            LiveDevice::CsqWorker(d)
        }
        DriverKind::Stubborn => {
            LiveDevice::Stubborn(create_device(kernel, &name, Stubborn::new()).expect("IoCreateDevice"))
        }
        DriverKind::Queue | DriverKind::Startio | DriverKind::StartioSync => {
            let family = spec.driver.family().expect("a catalog driver");
            let bug = spec.bug.as_deref().and_then(buggy::bug_named).unwrap_or(Bug::None);
            LiveDevice::Catalog(CatalogDeviceHandle::start(kernel, &name, family, bug, deferred))
        }
        DriverKind::C => unreachable!("a C driver's device is found, not created (run_world)"),
    }
}

/// What a run that stopped before the end leaves: the requests issued so far (those still
/// pending are [`End::Outstanding`]), the event log, the operation errors, the timeline —
/// and what each thread still running was doing.
fn stopped_world(scenario: &FileScenario) -> (WorldResult, Vec<(String, String)>) {
    let Some((kernel, world)) = lock(&scenario.started).take() else { return Default::default() };
    let event_log = kernel.event_log();
    // A thread of the stopped run stays parked where it was; it holds none of these locks
    // across a kernel call, but do not wait for one if it does.
    let lives = world.requests.try_lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default();
    let requests = lives
        .into_iter()
        .map(|l| {
            let mut r = finish(l, &event_log);
            if r.end == End::Lost {
                r.end = End::Outstanding;
            }
            r
        })
        .collect();
    let op_errors = world.op_errors.try_lock().map(|mut e| std::mem::take(&mut *e)).unwrap_or_default();
    let running = world.doing.try_lock().map(|d| d.clone().into_iter().collect()).unwrap_or_default();
    kernel.record_timeline(false);
    let debug_output = kernel.debug_output();
    (WorldResult { requests, event_log, op_errors, timeline: kernel.take_timeline(), debug_output }, running)
}

/// What an operation is, for a thread still running when a run stops: the file's words,
/// and why it may never return.
fn describe(op: &Op, synchronous: bool) -> String {
    match op {
        Op::Read(x) | Op::Write(x) => {
            let what = if matches!(op, Op::Read(_)) { "read" } else { "write" };
            if synchronous {
                format!("a synchronous {what} on `{}` (the thread waits until a driver completes it)", x.handle)
            } else {
                format!("{what} on `{}`", x.handle)
            }
        }
        Op::Ioctl(x) if synchronous => {
            format!("a synchronous ioctl on `{}` (the thread waits until a driver completes it)", x.handle)
        }
        Op::Ioctl(x) => format!("ioctl on `{}`", x.handle),
        Op::Wait { request, timeout_ms: None } => {
            format!("wait for `{request}` without a timeout (it waits until a driver completes it)")
        }
        Op::Wait { request, timeout_ms: Some(t) } => format!("wait for `{request}` (at most {t} ms)"),
        Op::CancelIo { handle } => format!(
            "cancel-io on `{handle}` (CancelIo waits, with no time limit, until every request it cancelled is \
             completed: a driver that never completes one hangs it, as on Windows)"
        ),
        Op::Open { device, .. } => format!("open of `{device}`"),
        Op::Close { handle } => format!("close of `{handle}`"),
        Op::Duplicate { handle, .. } => format!("duplicate of `{handle}`"),
        Op::Sleep { ms } => format!("sleep {ms} ms"),
        Op::CancelIoEx { handle, .. } => format!("cancel-io-ex on `{handle}`"),
        Op::CancelSynchronousIo { thread } => format!("cancel-synchronous-io of `{thread}`"),
        Op::CreateEvent { event, .. } => format!("create-event `{event}`"),
        Op::WaitEvent { event, timeout_ms: None } => format!("wait for event `{event}`"),
        Op::WaitEvent { event, timeout_ms: Some(t) } => format!("wait for event `{event}` (at most {t} ms)"),
        Op::ExitThread => "exit-thread".to_string(),
        Op::ExitProcess => "exit-process".to_string(),
    }
}

/// Unloads the drivers loaded so far (a run that cannot go on).
fn unload_all(loaded: Vec<(&BuiltDriver, LoadedDriver)>) {
    for (_, driver) in loaded.into_iter().rev() {
        driver.unload();
    }
}

/// The device a `driver = "c"` device's `path` names, or why there is none.
fn find_c_device(
    kernel: &Kernel,
    spec: &super::DeviceSpec,
    loaded: &[(&BuiltDriver, LoadedDriver)],
) -> Result<DevPtr, SetupError> {
    let driver = spec.c_driver.clone().unwrap_or_default();
    let path = spec.path.clone().unwrap_or_default();
    if let Some(device) = kernel.find_device(&path) {
        return Ok(DevPtr(device));
    }
    let mut devices = Vec::new();
    if let Some((_, l)) = loaded.iter().find(|(d, _)| d.name == driver) {
        // SAFETY: a loaded driver of this kernel whose DriverEntry has returned; its
        // device list is linked through `NextDevice`, and device objects live as long as
        // their kernel. Nothing else runs that could change the list: the requesters
        // have not started.
        unsafe {
            let mut device = (*l.driver_object()).device_object;
            while !device.is_null() {
                devices.push(DeviceRef::from_ptr(device).name());
                device = (*device).next_device;
            }
        }
    }
    Err(SetupError::DeviceNotFound { device: spec.name.clone(), driver, path, links: kernel.symbolic_links(), devices })
}

fn run_world(
    kernel: &Kernel,
    spec: &Scenario,
    processes: &[ProcessSpec],
    drivers: &Drivers,
    started: Option<&Started>,
) -> Result<WorldResult, SetupError> {
    // A run records its own timeline; when exploring, the explorer decides (a replay
    // drawn as a timeline records, a search does not) and takes the events itself.
    let keep = started.is_some();
    if keep {
        kernel.record_timeline(true);
    }
    kernel.name_current_thread("scenario");
    // The C drivers, each a private copy in this kernel: DriverEntry runs here, on the
    // scenario's thread (a controlled one on the virtual clock), before any requester.
    let mut loaded: Vec<(&BuiltDriver, LoadedDriver)> = Vec::new();
    for d in &drivers.images {
        match d.image.load(kernel) {
            Ok(driver) => loaded.push((d, driver)),
            Err(error) => {
                unload_all(loaded);
                return Err(SetupError::Load { driver: d.name.clone(), error });
            }
        }
    }
    let mut live: Vec<(String, LiveDevice)> = Vec::new();
    for d in &spec.devices {
        let device = if d.driver == DriverKind::C {
            match find_c_device(kernel, d, &loaded) {
                Ok(p) => LiveDevice::C(p),
                Err(e) => {
                    drop(live);
                    unload_all(loaded);
                    return Err(e);
                }
            }
        } else {
            create(kernel, d)
        };
        live.push((d.name.clone(), device));
    }
    let world = Arc::new(World {
        kernel: kernel.clone(),
        devices: live
            .iter()
            .map(|(n, d)| (n.clone(), (DevPtr(d.device_ref().as_ptr()), d.device_ref().name())))
            .collect(),
        c_devices: live
            .iter()
            .filter(|(_, d)| matches!(d, LiveDevice::C(_)))
            .map(|(_, d)| d.device_ref().name())
            .collect(),
        requests: Mutex::new(Vec::new()),
        op_errors: Mutex::new(Vec::new()),
        doing: Mutex::new(BTreeMap::new()),
    });
    if let Some(started) = started {
        *lock(started) = Some((kernel.clone(), world.clone()));
    }
    // The pending-read devices' hardware: one read finished every `hardware_ms` until
    // the requesters are done.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut hardware = Vec::new();
    for ((_, d), s) in live.iter().zip(&spec.devices) {
        if let LiveDevice::PendingRead(dev) = d {
            let (dev, stop, period) = (dev.clone(), stop.clone(), s.hardware_ms.unwrap_or(1));
            hardware.push((
                dev.clone(),
                kernel.spawn_named("hardware", move || loop {
                    dev.wait_for_work();
                    if stop.load(std::sync::atomic::Ordering::Acquire) {
                        return;
                    }
                    ke_delay_execution_thread(ms(period));
                    dev.complete_next(u32::MAX);
                }),
            ));
        }
    }
    let procs: Vec<Arc<Proc>> = processes
        .iter()
        .map(|p| {
            Arc::new(Proc {
                name: p.name.clone(),
                process: Process::new(kernel),
                handles: Mutex::new(BTreeMap::new()),
                events: Mutex::new(BTreeMap::new()),
                threads: Mutex::new(BTreeMap::new()),
            })
        })
        .collect();
    let mut joins = Vec::new();
    for (p, pspec) in procs.iter().zip(processes) {
        for t in &pspec.threads {
            let (world, proc_, t) = (world.clone(), p.clone(), t.clone());
            joins.push(kernel.spawn_named("requester thread", move || {
                let rt = proc_.process.attach_thread();
                run_thread(&world, &proc_, &t, &rt);
                rt.exit();
                lock(&world.doing).remove(&format!("{}/{}", proc_.name, t.name));
            }));
        }
    }
    for j in joins {
        if j.join().is_err() {
            lock(&world.op_errors).push("a requester thread panicked".to_string());
        }
    }
    // Process exit for every process: remaining threads exit, handles close (cleanup).
    for p in &procs {
        p.process.terminate();
    }
    stop.store(true, std::sync::atomic::Ordering::Release);
    for (dev, h) in hardware {
        dev.wake();
        let _ = h.join();
    }
    // Devices wind down: the worker unloads, the stubborn driver finally lets go, the
    // catalog's worker stops; the hardware's last timers fire.
    for (_, d) in &mut live {
        match d {
            LiveDevice::CsqWorker(d) => d.shutdown(),
            LiveDevice::Stubborn(d) => {
                d.finish_all(nt::STATUS_SUCCESS);
            }
            LiveDevice::Catalog(d) => d.stop(),
            LiveDevice::PendingRead(_) | LiveDevice::Serial(_) | LiveDevice::C(_) => {}
        }
    }
    ke_delay_execution_thread(ms(20));
    // The C drivers unload last: every process has ended and every handle is closed.
    // What a driver leaves behind (IRPs, pool, system threads) is a verifier report. In
    // reverse load order: a filter detaches from the device below before that one goes.
    for (d, driver) in loaded.into_iter().rev() {
        if d.unload {
            driver.unload();
        }
    }
    let event_log = kernel.event_log();
    let requests = std::mem::take(&mut *lock(&world.requests)).into_iter().map(|l| finish(l, &event_log)).collect();
    let op_errors = std::mem::take(&mut *lock(&world.op_errors));
    drop(live);
    let debug_output = kernel.debug_output();
    let timeline = if keep {
        kernel.record_timeline(false);
        kernel.take_timeline()
    } else {
        Vec::new()
    };
    Ok(WorldResult { requests, event_log, op_errors, timeline, debug_output })
}

/// The request's end, once the run is over.
fn finish(l: Live, log: &[EventLogEntry]) -> Request {
    let mut r = l.record;
    if let Some(o) = &l.overlapped {
        r.irp = o.irp_id();
        if r.end == End::Lost {
            r.completed_at = o.completed_at();
        }
        // A timeout that ran out after the request had finished cancelled nothing.
        if let Some((timer, after)) = &l.timeout {
            let deadline = r.issued_at + *after;
            r.timed_out = timer.fired() && r.completed_at.is_none_or(|done| done >= deadline);
            if r.timed_out && r.cancel_requested_at.is_none_or(|at| at > deadline) {
                r.cancel_requested_at = Some(deadline);
                r.cancel_requested_by = Some(CancelCause::Timeout);
            }
        }
        if r.end == End::Lost {
            r.end = if o.is_signalled() {
                let b = o.status_block();
                End::Completed { status: b.status, information: b.information }
            } else if r.irp.is_some_and(|id| log.iter().any(|e| e.irp == id)) {
                End::Disassociated
            } else {
                End::Lost
            };
        }
    }
    r
}

fn run_thread(world: &World, p: &Proc, t: &ThreadSpec, rt: &RequesterThread) {
    world.kernel.name_current_thread(&format!("{}/{}", p.name, t.name));
    lock(&p.threads).insert(t.name.clone(), rt.handle());
    let now = || world.kernel.clock().now();
    let error = |n: usize, what: String| {
        lock(&world.op_errors).push(format!("process `{}` thread `{}` op {n}: {what}", p.name, t.name));
    };
    let handle_of = |n: usize, name: &str| -> Option<Handle> {
        let h = lock(&p.handles).get(name).map(|e| e.0);
        if h.is_none() {
            error(n, format!("handle `{name}` is not open at this moment (not opened yet, or closed)"));
        }
        h
    };
    // Marks the outstanding requests matching `pick` as asked to be cancelled now.
    let mark = |by: CancelCause, pick: &dyn Fn(&Live) -> bool| {
        let at = now();
        for l in lock(&world.requests).iter_mut() {
            let outstanding = l.record.end == End::Lost && l.overlapped.as_ref().is_none_or(|o| !o.is_signalled());
            if l.record.process == p.name && outstanding && l.record.cancel_requested_at.is_none() && pick(l) {
                l.record.cancel_requested_at = Some(at);
                l.record.cancel_requested_by = Some(by);
            }
        }
    };
    let mut issued = 0usize;
    let me = format!("{}/{}", p.name, t.name);
    for (n, op) in t.ops.iter().enumerate() {
        let request_handle = match op {
            Op::Read(x) | Op::Write(x) => Some(&x.handle),
            Op::Ioctl(x) => Some(&x.handle),
            _ => None,
        };
        let synchronous = request_handle.is_some_and(|h| lock(&p.handles).get(h).is_some_and(|e| !e.1));
        lock(&world.doing).insert(me.clone(), format!("op {n}: {}", describe(op, synchronous)));
        match op {
            Op::Open { device, handle, overlapped } => {
                let Some((dev, dev_name)) = world.devices.get(device) else { continue };
                // SAFETY: a device of this run's kernel, alive as long as the kernel.
                let dref = unsafe { DeviceRef::from_ptr(dev.0) };
                match p.process.open(dref, *overlapped) {
                    Ok(h) => {
                        lock(&p.handles).insert(handle.clone(), (h, *overlapped, dev_name.clone()));
                    }
                    Err(status) => error(n, format!("open of `{device}` failed: {}", nt::describe_status(status))),
                }
            }
            Op::Duplicate { handle, new } => {
                let source = lock(&p.handles).get(handle).cloned();
                if let Some((h, overlapped, dev_name)) = source {
                    match p.process.duplicate(h) {
                        Ok(d) => {
                            lock(&p.handles).insert(new.clone(), (d, overlapped, dev_name));
                        }
                        Err(status) => error(n, format!("duplicate failed: {}", nt::describe_status(status))),
                    }
                } else {
                    error(n, format!("handle `{handle}` is not open at this moment"));
                }
            }
            Op::Close { handle } => {
                let h = lock(&p.handles).remove(handle);
                match h {
                    Some((h, ..)) => {
                        p.process.close(h);
                    }
                    None => error(n, format!("handle `{handle}` is not open at this moment")),
                }
            }
            Op::Read(x) | Op::Write(x) => {
                let read = matches!(op, Op::Read(_));
                let what = format!("{} {} @{}", if read { "read" } else { "write" }, x.length, x.offset);
                issue(world, p, t, rt, n, &mut issued, &x.handle, x.id.clone(), what, x.timeout_ms, |h, o| match o {
                    Some(o) if read => rt.read_overlapped(h, x.length, x.offset, o).map(|s| (s, None)),
                    Some(o) => rt.write_overlapped(h, x.length, x.offset, o).map(|s| (s, None)),
                    None if read => rt.read(h, x.length, x.offset).map(|b| (b.status, Some(b))),
                    None => rt.write(h, x.length, x.offset).map(|b| (b.status, Some(b))),
                });
            }
            Op::Ioctl(x) => {
                let what = format!("ioctl 0x{:X}", x.code);
                // Input bytes (given, or zeros for a C driver, which may well read its
                // system buffer) travel in the buffers the control code's transfer type
                // calls for; a sample driver without `input_hex` gets none, as before.
                let to_c = lock(&p.handles).get(&x.handle).is_some_and(|e| world.c_devices.contains(&e.2));
                let mut input = x.input_bytes().or_else(|| to_c.then(|| vec![0; x.input_length() as usize]));
                // Event handles go where `handles_at` says (checked to fit at parse time).
                for (event, &offset) in &x.handles_at {
                    let handle = lock(&p.events).get(event).map(|e| e.handle());
                    let Some(h) = handle else {
                        error(n, format!("event `{event}` is not created yet (its `create-event` comes later)"));
                        continue;
                    };
                    let bytes = input.get_or_insert_with(|| vec![0; x.input_length() as usize]);
                    bytes[offset..offset + 8].copy_from_slice(&(h as u64).to_le_bytes());
                }
                issue(world, p, t, rt, n, &mut issued, &x.handle, x.id.clone(), what, x.timeout_ms, |h, o| {
                    match (o, &input) {
                        (Some(o), Some(bytes)) => {
                            rt.device_io_control_overlapped_with_input(h, x.code, bytes, x.output, o).map(|s| (s, None))
                        }
                        (None, Some(bytes)) => {
                            rt.device_io_control_with_input(h, x.code, bytes, x.output).map(|b| (b.status, Some(b)))
                        }
                        (Some(o), None) => {
                            rt.device_io_control_overlapped(h, x.code, x.input_length(), x.output, o).map(|s| (s, None))
                        }
                        (None, None) => {
                            rt.device_io_control(h, x.code, x.input_length(), x.output).map(|b| (b.status, Some(b)))
                        }
                    }
                });
            }
            Op::Sleep { ms: d } => {
                ke_delay_execution_thread(ms(*d));
            }
            Op::CreateEvent { event, manual_reset, signalled } => {
                let e = p.process.create_event(*manual_reset, *signalled);
                lock(&p.events).insert(event.clone(), e);
            }
            Op::WaitEvent { event, timeout_ms } => {
                let e = lock(&p.events).get(event).cloned();
                match e {
                    Some(e) => {
                        if e.wait(timeout_ms.map(Duration::from_millis)) != nt::STATUS_SUCCESS {
                            error(
                                n,
                                format!("event `{event}` was not signalled within {} ms", timeout_ms.unwrap_or(0)),
                            );
                        }
                    }
                    None => error(n, format!("event `{event}` is not created yet (its `create-event` comes later)")),
                }
            }
            Op::Wait { request, timeout_ms } => {
                // A request whose end is already known (it failed at once: the call
                // returned its status, and nothing is delivered to its OVERLAPPED, as on
                // Windows) has nothing left to wait for.
                let found = lock(&world.requests)
                    .iter()
                    .find(|l| &l.record.id == request)
                    .map(|l| (l.record.synchronous, l.record.end != End::Lost, l.overlapped.clone()));
                match found {
                    Some((true, ..)) => {
                        error(n, format!("request `{request}` was synchronous: there is nothing to wait for"))
                    }
                    Some((false, true, _)) => {}
                    Some((false, false, Some(o))) => {
                        o.wait(timeout_ms.map(Duration::from_millis));
                    }
                    Some((false, false, None)) => error(n, format!("request `{request}` has no OVERLAPPED to wait on")),
                    None => error(n, format!("request `{request}` was not issued (yet)")),
                }
            }
            Op::CancelIo { handle } => {
                if let Some(h) = handle_of(n, handle) {
                    mark(CancelCause::CancelIo, &|l| l.handle == Some(h) && l.record.thread == t.name);
                    rt.cancel_io(h);
                }
            }
            Op::CancelIoEx { handle, request } => {
                if let Some(h) = handle_of(n, handle) {
                    let o = request.as_ref().and_then(|id| {
                        lock(&world.requests).iter().find(|l| &l.record.id == id).and_then(|l| l.overlapped.clone())
                    });
                    if request.is_some() && o.is_none() {
                        error(
                            n,
                            format!(
                                "request `{}` is not an overlapped request issued so far",
                                request.as_deref().unwrap_or("")
                            ),
                        );
                        continue;
                    }
                    mark(CancelCause::CancelIoEx, &|l| {
                        l.handle == Some(h) && request.as_ref().is_none_or(|id| &l.record.id == id)
                    });
                    let _ = p.process.cancel_io_ex(h, o.as_ref());
                }
            }
            Op::CancelSynchronousIo { thread } => {
                let target = lock(&p.threads).get(thread).cloned();
                match target {
                    Some(th) => {
                        mark(CancelCause::CancelSynchronousIo, &|l| l.record.thread == *thread && l.record.synchronous);
                        let _ = p.process.cancel_synchronous_io(&th);
                    }
                    None => error(n, format!("thread `{thread}` has not started")),
                }
            }
            Op::ExitThread => break,
            Op::ExitProcess => {
                mark(CancelCause::ProcessExit, &|_| true);
                p.process.terminate();
                break;
            }
        }
    }
    // The thread exits when this returns: its outstanding requests are cancelled.
    mark(CancelCause::ThreadExit, &|l| l.record.thread == t.name);
    lock(&world.doing).insert(me, "thread exit (the I/O manager cancels its requests and waits for them)".into());
}

#[allow(clippy::too_many_arguments)]
fn issue(
    world: &World,
    p: &Proc,
    t: &ThreadSpec,
    rt: &RequesterThread,
    n: usize,
    issued: &mut usize,
    handle: &str,
    id: Option<String>,
    what: String,
    timeout_ms: Option<u64>,
    call: impl FnOnce(Handle, Option<&Overlapped>) -> Result<(NtStatus, Option<nt::IoStatusBlock>), NtStatus>,
) {
    // Cancel coverage names the request by the id the file gives it.
    let call = |h: Handle, o: Option<&Overlapped>| match &id {
        Some(label) => irpkit::explore::coverage::with_request_label(&world.kernel, label, || call(h, o)),
        None => call(h, o),
    };
    let id = id.clone().unwrap_or_else(|| format!("{}.{}.{}", p.name, t.name, *issued));
    *issued += 1;
    let entry = lock(&p.handles).get(handle).cloned();
    let record = |synchronous, end| Request {
        id: id.clone(),
        process: p.name.clone(),
        thread: t.name.clone(),
        device: entry.as_ref().map_or_else(|| "-".to_string(), |e| e.2.clone()),
        what: what.clone(),
        synchronous,
        irp: None,
        issued_at: world.kernel.clock().now(),
        completed_at: None,
        cancel_requested_at: None,
        cancel_requested_by: None,
        timed_out: false,
        end,
    };
    let Some((h, overlapped_handle, _)) = entry.clone() else {
        lock(&world.op_errors).push(format!(
            "process `{}` thread `{}` op {n}: request `{id}`: handle `{handle}` is not open at this moment",
            p.name, t.name
        ));
        lock(&world.requests).push(Live {
            record: record(false, End::Refused(nt::STATUS_INVALID_HANDLE)),
            overlapped: None,
            handle: None,
            timeout: None,
        });
        return;
    };
    if overlapped_handle {
        let o = Overlapped::new();
        let index = {
            let mut all = lock(&world.requests);
            all.push(Live {
                record: record(false, End::Lost),
                overlapped: Some(o.clone()),
                handle: Some(h),
                timeout: None,
            });
            all.len() - 1
        };
        match call(h, Some(&o)) {
            // A failure that never pended is returned by the call, not delivered to the
            // OVERLAPPED (as Win32 returns it from ReadFile): that is its end.
            Ok((status, _)) if status < 0 && !o.is_signalled() => {
                let mut all = lock(&world.requests);
                all[index].record.end = End::Completed { status, information: 0 };
                all[index].record.completed_at = Some(world.kernel.clock().now());
            }
            Ok(_) => {
                if let Some(ms) = timeout_ms {
                    let after = Duration::from_millis(ms);
                    let timer = p.process.cancel_after(h, &o, after);
                    lock(&world.requests)[index].timeout = Some((timer, after));
                }
            }
            Err(status) => lock(&world.requests)[index].record.end = End::Refused(status),
        }
    } else {
        let index = {
            let mut all = lock(&world.requests);
            all.push(Live { record: record(true, End::Lost), overlapped: None, handle: Some(h), timeout: None });
            all.len() - 1
        };
        let before = rt.last_irp_id();
        let result = call(h, None);
        let at = world.kernel.clock().now();
        let mut all = lock(&world.requests);
        let r = &mut all[index].record;
        r.irp = rt.last_irp_id().filter(|&n| Some(n) != before);
        match result {
            Ok((_, Some(b))) => {
                r.end = End::Completed { status: b.status, information: b.information };
                r.completed_at = Some(at);
            }
            Ok((status, None)) => r.end = End::Refused(status),
            Err(status) => r.end = End::Refused(status),
        }
    }
}

/// Checks the file's expectations against the run.
fn check_expectations(spec: &Scenario, s: &RunSummary) -> Vec<(String, bool, String)> {
    let e = &spec.expect;
    let mut out = Vec::new();
    if let Some(n) = e.reports {
        out.push((format!("{n} verifier report(s)"), s.reports.len() == n, format!("{} reported", s.reports.len())));
    }
    for rule in &e.rules {
        let seen = s.reports.iter().filter(|r| r.rule.id() == rule).count();
        out.push((format!("rule {rule} reported"), seen > 0, format!("reported {seen} time(s)")));
    }
    for (id, want) in &e.status {
        let got = s.requests.iter().find(|r| &r.id == id).map(|r| r.end.name());
        let detail = got.clone().unwrap_or_else(|| "never issued".to_string());
        out.push((format!("request {id} ends {want}"), got.as_deref() == Some(want.as_str()), detail));
    }
    for (code, n) in &e.event_log {
        let seen = s.event_log.iter().filter(|x| x.name == code).count();
        out.push((
            format!("{n} {code} event-log entr{}", if *n == 1 { "y" } else { "ies" }),
            seen == *n,
            format!("{seen} logged"),
        ));
    }
    if let Some(n) = e.timeouts {
        let fired = s.requests.iter().filter(|r| r.timed_out).count();
        out.push((format!("{n} request timeout(s) fired"), fired == n, format!("{fired} fired")));
    }
    if let Some(n) = e.operation_errors {
        let got = s.op_errors.len();
        out.push((format!("{n} operation error(s)"), got == n, format!("{got}")));
    }
    out
}

/// Percentiles of cancel latency (cancel asked → completion), in µs on the kernel's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Requests measured.
    pub count: usize,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest.
    pub max_us: f64,
}

impl RunSummary {
    /// Cancel latency over the requests that were asked to be cancelled and then completed.
    pub fn cancel_latency(&self) -> Option<Latency> {
        let mut v: Vec<f64> = self
            .requests
            .iter()
            .filter_map(|r| {
                let (asked, done) = (r.cancel_requested_at?, r.completed_at?);
                Some(done.saturating_sub(asked).as_secs_f64() * 1e6)
            })
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
        Some(Latency { count: v.len(), p50_us: at(0.50), p90_us: at(0.90), p99_us: at(0.99), max_us: v[v.len() - 1] })
    }

    /// The request IRP `irp` carried, if it was one of the scenario's.
    pub fn request_of_irp(&self, irp: u64) -> Option<&Request> {
        self.requests.iter().find(|r| r.irp == Some(irp))
    }

    /// Requests by how they ended (`STATUS_SUCCESS`, `disassociated`, ...).
    pub fn by_end(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for r in &self.requests {
            *m.entry(r.end.name()).or_insert(0) += 1;
        }
        m
    }

    /// The machine-readable summary, format `irpkit-run/1` (documented in
    /// `scenarios/README.md`).
    pub fn to_json(&self) -> serde_json::Value {
        let us = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1e6);
        serde_json::json!({
            "format": "irpkit-run/1",
            "scenario": self.name,
            "ok": self.ok(),
            "ended_at_us": self.ended_at.as_secs_f64() * 1e6,
            "requests": {
                "total": self.requests.len(),
                "by_status": self.by_end(),
                "unaccounted": self.unaccounted(),
                "timeouts": self.requests.iter().filter(|r| r.timed_out).count(),
                "list": self.requests.iter().map(|r| serde_json::json!({
                    "id": r.id,
                    "process": r.process,
                    "thread": r.thread,
                    "device": r.device,
                    "what": r.what,
                    "synchronous": r.synchronous,
                    "irp": r.irp,
                    "issued_at_us": r.issued_at.as_secs_f64() * 1e6,
                    "cancel_requested_at_us": us(r.cancel_requested_at),
                    "cancel_requested_by": r.cancel_requested_by.map(CancelCause::name),
                    "completed_at_us": us(r.completed_at),
                    "timed_out": r.timed_out,
                    "end": r.end.name(),
                    "information": match r.end { End::Completed { information, .. } => Some(information), _ => None },
                })).collect::<Vec<_>>(),
            },
            "cancel_latency_us": self.cancel_latency().map(|l| serde_json::json!({
                "count": l.count, "p50": l.p50_us, "p90": l.p90_us, "p99": l.p99_us, "max": l.max_us,
            })),
            "event_log": self.event_log.iter().map(|e| serde_json::json!({
                "code": e.code, "name": e.name, "device": e.device, "irp": e.irp, "thread": e.thread,
                "request": self.request_of_irp(e.irp).map(|r| &r.id),
                "at_us": e.at.as_secs_f64() * 1e6,
            })).collect::<Vec<_>>(),
            "verifier_reports": self.reports.iter().map(|r| serde_json::json!({
                "rule": r.rule.id(),
                "code": r.rule.bugcheck().map(|b| b.to_string()),
                "irp": r.irp.as_ref().map(|i| i.id),
                "message": r.to_string(),
            })).collect::<Vec<_>>(),
            "debug_output": self.debug_output.iter().map(|d| serde_json::json!({
                "at_ms": d.at.as_secs_f64() * 1e3,
                "driver": d.driver,
                "text": d.text,
            })).collect::<Vec<_>>(),
            "failure": self.failure,
            "operation_errors": self.op_errors,
            "expectations": self.expectations.iter().map(|(what, held, detail)| serde_json::json!({
                "expect": what, "held": held, "got": detail,
            })).collect::<Vec<_>>(),
        })
    }

    /// The human summary: one line per request, then totals, reports, expectations.
    pub fn write_table(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let t = |d: Option<Duration>| d.map_or_else(|| "-".to_string(), |d| format!("{:.3}", d.as_secs_f64() * 1e3));
        writeln!(out, "scenario {}", self.name)?;
        writeln!(
            out,
            "{:<22} {:<18} {:<14} {:>7} {:>9} {:>9} {:<20} {:>9}  end",
            "request", "thread", "what", "irp", "issued", "cancel", " asked by", "done"
        )?;
        for r in &self.requests {
            let end = match &r.end {
                End::Completed { information, .. } => format!("{} ({information} bytes)", r.end.name()),
                other => other.name(),
            };
            writeln!(
                out,
                "{:<22} {:<18} {:<14} {:>7} {:>9} {:>9} {:<20} {:>9}  {end}{}",
                r.id,
                format!("{}/{}", r.process, r.thread),
                r.what,
                r.irp.map_or_else(|| "-".to_string(), |i| format!("#{i}")),
                t(Some(r.issued_at)),
                t(r.cancel_requested_at),
                r.cancel_requested_by.map_or(String::new(), |by| format!(" {}", by.name())),
                t(r.completed_at),
                // A timeout that fired after someone else had asked is worth a word.
                if r.timed_out && r.cancel_requested_by != Some(CancelCause::Timeout) { "  (timed out)" } else { "" }
            )?;
        }
        writeln!(out, "(times in ms on the kernel's clock)")?;
        let by: Vec<String> = self.by_end().iter().map(|(k, v)| format!("{v} {k}")).collect();
        writeln!(
            out,
            "\nsummary: {} requests: {}; unaccounted: {}",
            self.requests.len(),
            if by.is_empty() { "none".to_string() } else { by.join(", ") },
            self.unaccounted()
        )?;
        if let Some(l) = self.cancel_latency() {
            writeln!(
                out,
                "cancel latency (cancel asked -> completion, {} requests): p50 {:.0} us, p90 {:.0} us, p99 {:.0} us, max {:.0} us",
                l.count, l.p50_us, l.p90_us, l.p99_us, l.max_us
            )?;
        }
        for e in &self.event_log {
            let whose = match self.request_of_irp(e.irp) {
                Some(r) => format!("request {} of {}/{}", r.id, r.process, r.thread),
                None => format!("thread {}", e.thread),
            };
            writeln!(
                out,
                "event log: 0x{:08X} {} for {} (IRP #{}, {whose}) at {:.3} ms",
                e.code,
                e.name,
                e.device,
                e.irp,
                e.at.as_secs_f64() * 1e3
            )?;
        }
        if !self.debug_output.is_empty() {
            writeln!(out, "debug output ({} line(s)):", self.debug_output.len())?;
            for d in &self.debug_output {
                writeln!(
                    out,
                    "  {:>9.3} ms  {}: {}",
                    d.at.as_secs_f64() * 1e3,
                    d.driver.as_deref().unwrap_or("(no driver)"),
                    d.text
                )?;
            }
        }
        writeln!(out, "verifier reports: {}", self.reports.len())?;
        for r in &self.reports {
            for line in r.to_string().lines() {
                writeln!(out, "  {line}")?;
            }
        }
        for e in &self.op_errors {
            writeln!(out, "operation error: {e}")?;
        }
        if let Some(f) = &self.failure {
            writeln!(out, "the run did not finish cleanly: {f}")?;
        }
        for (what, held, got) in &self.expectations {
            writeln!(out, "expect {what}: {} ({got})", if *held { "holds" } else { "FAILS" })?;
        }
        Ok(())
    }
}
