//! The execution of a scenario run: the C drivers built and loaded, the devices created,
//! the requester threads started together and joined, the world wound down, and each
//! request followed to its end; on the virtual clock under the explorer's scheduler.

use super::model::{
    lock, ms, BuiltDriver, CancelCause, DevicePtr, Drivers, End, Explorable, FileScenario, LiveDevice, LiveRequest,
    Proc, Request, RunOutcome, RunState, RunSummary, SetupError, Started,
};
use super::report::check_expectations;
use super::thread::run_thread;
use crate::scenario::{ClockKind, DriverKind, Op, ProcessSpec, Scenario, ThreadSpec, VerifierKind};
use irpkit::explore::{self, Limits, Strategy};
use irpkit::io::{EventLogEntry, Process};
use irpkit::nt::{self, ke_delay_execution_thread};
use irpkit::safe::{create_device, create_start_io_device, DeviceRef};
use irpkit::verifier::Report;
use irpkit::Kernel;
use irpkit_samples::buggy::{self, Bug, CatalogDeviceHandle};
use irpkit_samples::csq_worker::CsqWorker;
use irpkit_samples::pending_read::PendingRead;
use irpkit_samples::serial::{Serial, SerialConfig};
use irpkit_samples::stubborn::Stubborn;
use irpkit_wdm::{CDriver, DriverImage, LoadError, LoadedDriver};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    let (reports, mut failure, ended_at) = match spec.clock {
        ClockKind::Virtual => run_virtual(spec, &scenario),
        ClockKind::Real => run_real(&scenario),
    };
    if let Some(e) = lock(&scenario.setup_error).take() {
        lock(&scenario.started).take();
        return Err(e);
    }
    let finished = lock(&scenario.result).take();
    let result = match finished {
        Some(r) => {
            // Finished: the kernel ends here, as the explorer would have ended it.
            lock(&scenario.started).take();
            r
        }
        None => stopped_result(&scenario, &mut failure),
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

/// What a run reports: the verifier's reports, why it did not finish cleanly, the kernel
/// clock at the end.
type RunEnd = (Vec<Report>, Option<String>, Duration);

/// One run on the virtual clock: one schedule of the explorer's scheduler (the
/// scenario's seed).
fn run_virtual(spec: &Scenario, scenario: &Arc<FileScenario>) -> RunEnd {
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

/// One run on the real clock: a kernel of its own with a DPC thread, the threads
/// running free; a panic is the run's failure.
fn run_real(scenario: &FileScenario) -> RunEnd {
    let kernel = Kernel::builder().verifier_mode(irpkit::verifier::VerifierMode::Record).build();
    let failure = {
        let _entered = kernel.enter();
        let dpc = kernel.start_dpc_thread();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| explore::Scenario::run(scenario, &kernel)));
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

/// What a run that stopped before the end leaves; `failure` says so, with what each
/// thread still running was doing.
fn stopped_result(scenario: &FileScenario, failure: &mut Option<String>) -> RunOutcome {
    let (result, running) = stopped_world(scenario);
    if !running.is_empty() {
        let f = failure.get_or_insert_with(|| "the run stopped before the end".to_string());
        f.push_str("\nthreads still running when it stopped:");
        for (thread, doing) in running {
            f.push_str(&format!("\n  {thread}: {doing}"));
        }
    }
    result
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
                ops.push(Op::Read(crate::scenario::Transfer {
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

fn create(kernel: &Kernel, spec: &crate::scenario::DeviceSpec) -> LiveDevice {
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
fn stopped_world(scenario: &FileScenario) -> (RunOutcome, Vec<(String, String)>) {
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
    (RunOutcome { requests, event_log, op_errors, timeline: kernel.take_timeline(), debug_output }, running)
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
    spec: &crate::scenario::DeviceSpec,
    loaded: &[(&BuiltDriver, LoadedDriver)],
) -> Result<DevicePtr, SetupError> {
    let driver = spec.c_driver.clone().unwrap_or_default();
    let path = spec.path.clone().unwrap_or_default();
    if let Some(device) = kernel.find_device(&path) {
        return Ok(DevicePtr(device));
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

/// One run of the scenario in `kernel`: the C drivers loaded, the devices made, the
/// requester threads run to their end, everything wound down; what the run leaves. In a
/// run of its own (`started`), the timeline is recorded and the kernel and world kept.
pub(super) fn run_world(
    kernel: &Kernel,
    spec: &Scenario,
    processes: &[ProcessSpec],
    drivers: &Drivers,
    started: Option<&Started>,
) -> Result<RunOutcome, SetupError> {
    // A run records its own timeline; when exploring, the explorer decides (a replay
    // drawn as a timeline records, a search does not) and takes the events itself.
    let keep = started.is_some();
    if keep {
        kernel.record_timeline(true);
    }
    kernel.name_current_thread("scenario");
    let loaded = load_drivers(kernel, drivers)?;
    let mut live = match live_devices(kernel, spec, &loaded) {
        Ok(live) => live,
        Err(e) => {
            unload_all(loaded);
            return Err(e);
        }
    };
    let world = new_world(kernel, &live);
    if let Some(started) = started {
        *lock(started) = Some((kernel.clone(), world.clone()));
    }
    let stop_hardware = start_hardware(kernel, spec, &live);
    run_processes(kernel, &world, processes);
    stop_hardware();
    wind_down(&mut live);
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
    Ok(RunOutcome { requests, event_log, op_errors, timeline, debug_output })
}

/// The C drivers, each a private copy in this kernel: DriverEntry runs here, on the
/// scenario's thread (a controlled one on the virtual clock), before any requester. On
/// an error the drivers loaded so far are unloaded.
fn load_drivers<'a>(kernel: &Kernel, drivers: &'a Drivers) -> Result<Vec<(&'a BuiltDriver, LoadedDriver)>, SetupError> {
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
    Ok(loaded)
}

/// The scenario's devices, by name: created, or (a C driver's) found.
fn live_devices(
    kernel: &Kernel,
    spec: &Scenario,
    loaded: &[(&BuiltDriver, LoadedDriver)],
) -> Result<Vec<(String, LiveDevice)>, SetupError> {
    let mut live: Vec<(String, LiveDevice)> = Vec::new();
    for d in &spec.devices {
        let device = if d.driver == DriverKind::C {
            match find_c_device(kernel, d, loaded) {
                Ok(p) => LiveDevice::C(p),
                Err(e) => {
                    drop(live);
                    return Err(e);
                }
            }
        } else {
            create(kernel, d)
        };
        live.push((d.name.clone(), device));
    }
    Ok(live)
}

/// The run's shared state, with the devices of `live`.
fn new_world(kernel: &Kernel, live: &[(String, LiveDevice)]) -> Arc<RunState> {
    Arc::new(RunState {
        kernel: kernel.clone(),
        devices: live
            .iter()
            .map(|(n, d)| (n.clone(), (DevicePtr(d.device_ref().as_ptr()), d.device_ref().name())))
            .collect(),
        c_devices: live
            .iter()
            .filter(|(_, d)| matches!(d, LiveDevice::C(_)))
            .map(|(_, d)| d.device_ref().name())
            .collect(),
        requests: Mutex::new(Vec::new()),
        op_errors: Mutex::new(Vec::new()),
        doing: Mutex::new(BTreeMap::new()),
    })
}

/// Starts the pending-read devices' hardware: one read finished every `hardware_ms`
/// until the requesters are done. Returns what stops it (and waits for it to stop).
fn start_hardware(kernel: &Kernel, spec: &Scenario, live: &[(String, LiveDevice)]) -> impl FnOnce() {
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
    move || {
        stop.store(true, std::sync::atomic::Ordering::Release);
        for (dev, h) in hardware {
            dev.wake();
            let _ = h.join();
        }
    }
}

/// The requester processes: every thread started together and joined, then process
/// exit for every process (remaining threads exit, handles close: cleanup).
fn run_processes(kernel: &Kernel, world: &Arc<RunState>, processes: &[ProcessSpec]) {
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
    for p in &procs {
        p.process.terminate();
    }
}

/// Devices wind down: the worker unloads, the stubborn driver finally lets go, the
/// catalog's worker stops (the hardware's last timers fire after).
fn wind_down(live: &mut [(String, LiveDevice)]) {
    for (_, d) in live {
        match d {
            LiveDevice::CsqWorker(d) => d.shutdown(),
            LiveDevice::Stubborn(d) => {
                d.finish_all(nt::STATUS_SUCCESS);
            }
            LiveDevice::Catalog(d) => d.stop(),
            LiveDevice::PendingRead(_) | LiveDevice::Serial(_) | LiveDevice::C(_) => {}
        }
    }
}

/// The request's end, once the run is over.
fn finish(l: LiveRequest, log: &[EventLogEntry]) -> Request {
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
