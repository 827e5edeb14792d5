//! Shared by the C sample tests: building the drivers under `drivers/`, a
//! [`Scenario`] that loads C drivers into each run's kernel, requests and their checks, and
//! the counters the drivers print at unload.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use irpkit::explore::{self, Limits, Options, Outcome, Scenario, Schedule, Strategy};
use irpkit::io::{Handle, IoConfig, Overlapped, Process, RequesterThread};
use irpkit::nt::{self, IoStatusBlock, NtStatus};
use irpkit::safe::DeviceRef;
use irpkit::Kernel;
use irpkit_wdm::{CDriver, DriverImage, LoadedDriver};

/// The length of every read (and the notification record's size).
pub(crate) const LEN: u32 = 8;
/// One millisecond in `KeDelayExecutionThread` units (negative: relative, 100 ns).
pub(crate) const MS: i64 = -10_000;

/// `CTL_CODE(DeviceType, Function, Method, Access)`.
pub(crate) const fn ctl_code(device_type: u32, function: u32, method: u32, access: u32) -> u32 {
    (device_type << 16) | (access << 14) | (function << 2) | method
}
/// `IOCTL_IRPKIT_QUEUE_WAIT` (drivers/queue/irpkit_queue.h).
pub(crate) const IOCTL_IRPKIT_QUEUE_WAIT: u32 = ctl_code(0x8001, 0x800, 0, 0);
/// `IOCTL_IRPKIT_QUEUE_SIGNAL` (drivers/queue/irpkit_queue.h).
pub(crate) const IOCTL_IRPKIT_QUEUE_SIGNAL: u32 = ctl_code(0x8001, 0x801, 0, 0);

/// The repository's `drivers/` directory.
pub(crate) fn drivers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../drivers")
}

/// Builds `drivers/{source}` as the driver `\Driver\{name}` (checked build: `DBG=1`, so
/// KdPrint and ASSERT are live), with `defines`; fails on any compiler warning.
///
/// Builds are made one at a time and remembered for the test process: tests run in
/// parallel, and two builds of one driver would write the same object files.
pub(crate) fn build(name: &str, source: &str, defines: &[(&str, &str)]) -> DriverImage {
    static BUILT: Mutex<BTreeMap<String, DriverImage>> = Mutex::new(BTreeMap::new());
    let key = format!("{name} {source} {defines:?}");
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(image) = built.get(&key) {
        return image.clone();
    }
    let mut driver = CDriver::new(name).source(drivers_dir().join(source)).define("DBG", Some("1"));
    for (n, v) in defines {
        driver = driver.define(n, Some(v));
    }
    let image = driver.build().unwrap_or_else(|e| panic!("building {source}: {e}"));
    assert!(image.warnings().trim().is_empty(), "{source} compiled with warnings:\n{}", image.warnings());
    built.insert(key, image.clone());
    image
}

/// What a workload gets: the kernel and the drivers loaded for this run, in load order.
pub(crate) type Workload = dyn Fn(&Kernel, Vec<LoadedDriver>) + Send + Sync;

/// A workload over C drivers: the images are built once; every run loads a fresh copy
/// of each (DriverEntry runs on the scenario's thread), in order, then runs the workload,
/// which unloads them.
pub(crate) struct CScenario {
    name: String,
    images: Vec<DriverImage>,
    workload: Arc<Workload>,
}

/// A scenario named `name` loading `images` in order, then running `workload`.
pub(crate) fn c_scenario(
    name: &str,
    images: Vec<DriverImage>,
    workload: impl Fn(&Kernel, Vec<LoadedDriver>) + Send + Sync + 'static,
) -> Arc<dyn Scenario> {
    Arc::new(CScenario { name: name.to_string(), images, workload: Arc::new(workload) })
}

impl Scenario for CScenario {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&self, kernel: &Kernel) {
        let loaded: Vec<LoadedDriver> = self
            .images
            .iter()
            .map(|image| image.load(kernel).unwrap_or_else(|e| panic!("loading {}: {e}", image.name())))
            .collect();
        (self.workload)(kernel, loaded);
    }
}

/// Unloads the drivers, last loaded first.
pub(crate) fn unload_all(drivers: Vec<LoadedDriver>) {
    for d in drivers.into_iter().rev() {
        d.unload();
    }
}

/// The device a Win32 path names (`\\.\IrpkitStartIo`): the named device itself (irpkit's
/// open does not go up the device's attachment stack; open a filter by its own name).
pub(crate) fn device<'k>(kernel: &'k Kernel, path: &str) -> &'k DeviceRef {
    let device = kernel.find_device(path).unwrap_or_else(|| panic!("no device {path}"));
    // SAFETY: `find_device` returns only live (not deleted) devices of this kernel, and an
    // irpkit device object's memory is freed only when its kernel is dropped (IoDeleteDevice
    // marks it deleted; the block is kept with the driver's until the kernel ends), so it
    // stays valid for as long as `kernel` is borrowed.
    unsafe { DeviceRef::from_ptr(device) }
}

/// The requester side with a short thread-exit rule: a thread's exit re-checks its IRPs
/// every 5 ms, 60 times (Windows: every 100 ms, 3000 times), so that a leaked request costs
/// few scheduling points.
pub(crate) fn process(kernel: &Kernel) -> Process {
    Process::with_config(
        kernel,
        IoConfig { exit_check_interval: Duration::from_millis(5), exit_max_checks: 60, ..IoConfig::default() },
    )
}

/// Issues an overlapped read; it pends or is finished at once.
pub(crate) fn read(t: &RequesterThread, h: Handle, o: &Overlapped) -> NtStatus {
    t.read_overlapped(h, LEN, 0, o).expect("the handle is open")
}

/// Issues an overlapped IOCTL_IRPKIT_QUEUE_WAIT with room for the notification record
/// (METHOD_BUFFERED: the I/O manager gives it an `LEN`-byte system buffer).
pub(crate) fn wait_notification(t: &RequesterThread, h: Handle, o: &Overlapped) -> NtStatus {
    t.device_io_control_overlapped_with_input(h, IOCTL_IRPKIT_QUEUE_WAIT, &[], LEN, o).expect("the handle is open")
}

/// Sleeps on the kernel's clock.
pub(crate) fn sleep_ms(ms: f64) {
    nt::ke_delay_execution_thread((ms * MS as f64) as i64);
}

/// A request's result as `(status, information)`, `None` if it was never delivered.
pub(crate) fn result(o: &Overlapped) -> Option<(NtStatus, usize)> {
    o.is_signalled().then(|| {
        let IoStatusBlock { status, information } = o.status_block();
        (status, information)
    })
}

/// Every request delivered, successfully with `LEN` bytes or cancelled with none.
/// Returns (succeeded, cancelled).
pub(crate) fn check_all(what: &str, ops: &[Overlapped]) -> (usize, usize) {
    let mut counts = (0, 0);
    for (i, o) in ops.iter().enumerate() {
        match result(o) {
            Some((nt::STATUS_SUCCESS, info)) => {
                assert_eq!(info, LEN as usize, "{what}: request {i} succeeded with {info} bytes");
                counts.0 += 1;
            }
            Some((nt::STATUS_CANCELLED, 0)) => counts.1 += 1,
            other => panic!("{what}: request {i} ended {other:x?}"),
        }
    }
    counts
}

/// The `name value` pairs of the line `"{prefix} unload: ..."` a driver printed at unload.
pub(crate) fn unload_counters(kernel: &Kernel, prefix: &str) -> BTreeMap<String, i64> {
    let start = format!("{prefix}: unload:");
    let lines = kernel.debug_output();
    let line = lines
        .iter()
        .rev()
        .find(|l| l.text.starts_with(&start))
        .unwrap_or_else(|| panic!("no `{start}` line in the debug output: {lines:#?}"));
    let words: Vec<&str> = line.text[start.len()..].split_whitespace().collect();
    words
        .windows(2)
        .filter_map(|w| w[1].trim_end_matches([';', ',']).parse().ok().map(|v| (w[0].to_string(), v)))
        .collect()
}

/// The checks every correct sample's run ends with: no verifier report, no pool block
/// left, no IRP outstanding.
pub(crate) fn check_clean(kernel: &Kernel, what: &str) {
    let reports = kernel.verifier().reports();
    assert!(
        reports.is_empty(),
        "{what}: verifier reports:\n{}",
        reports.iter().map(|r| format!("{r}")).collect::<String>()
    );
    assert_eq!(kernel.pool_in_use(), Vec::new(), "{what}: pool left allocated");
    assert_eq!(kernel.irps_outstanding(), 0, "{what}: IRPs still allocated");
}

/// Runs a scenario once with the default (non-preemptive) schedule: a deterministic test.
/// Panics with the run's violation (a failed check, a verifier report) if there is one.
pub(crate) fn run_directed(scenario: &Arc<dyn Scenario>) -> Outcome {
    let schedule =
        Schedule { scenario: scenario.name().to_string(), seed: 0, strategy: Strategy::Random, decisions: Vec::new() };
    let outcome = explore::replay(scenario, &schedule, &Limits::default());
    if let Some(v) = &outcome.violation {
        panic!("{}: {}", scenario.name(), v.kind);
    }
    outcome
}

/// Explores `n` schedules of a correct sample (seeds from 0, mixed strategy): none may end
/// in a violation. Panics with the violation and its replayed trace.
pub(crate) fn explore_clean(scenario: &Arc<dyn Scenario>, n: u64) {
    let options = Options { seeds: 0..n, shrink: false, ..Options::default() };
    let e = explore::explore(scenario, &options, |_| {});
    if let Some(v) = &e.found {
        let replay = explore::replay(scenario, &v.schedule, &Limits::default());
        panic!(
            "{}: schedule {} of {n}: {}\n{}",
            scenario.name(),
            e.found_after.unwrap_or(0),
            v.kind,
            explore::format_trace(&replay, v.at_step)
        );
    }
    assert_eq!(e.schedules, n, "{}: every seed ran", scenario.name());
}

/// Explores a buggy twin until the first violation (at most `budget` schedules): it must
/// be one of `rules`, and replaying its schedule must end in the same violation. Returns
/// the schedules it took.
pub(crate) fn explore_finds(scenario: &Arc<dyn Scenario>, rules: &[&str], budget: u64) -> u64 {
    let options = Options { seeds: 0..budget, shrink: false, ..Options::default() };
    let e = explore::explore(scenario, &options, |_| {});
    let v = e.found.unwrap_or_else(|| panic!("{}: no violation in {budget} schedules", scenario.name()));
    let sig = v.kind.signature();
    let replay = explore::replay(scenario, &v.schedule, &Limits::default());
    if std::env::var_os("IRPKIT_WDM_TRACE").is_some() {
        eprintln!("{}: {}\n{}", scenario.name(), v.kind, explore::format_trace(&replay, v.at_step));
    }
    assert!(rules.contains(&sig.as_str()), "{}: found {sig}, expected one of {rules:?}:\n{}", scenario.name(), v.kind);
    let got = replay.violation.as_ref().map(|r| r.kind.signature());
    assert_eq!(got.as_deref(), Some(sig.as_str()), "{}: the replay reproduces the violation", scenario.name());
    let after = e.found_after.expect("a violation was found");
    eprintln!("{}: {sig} after {after} schedule(s), {} decision(s)", scenario.name(), v.schedule.decisions.len());
    after
}
