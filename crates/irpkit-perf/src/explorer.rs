//! The explorer's figures: how fast `irpkit::explore` runs schedules, against shuttle on
//! the same race, per scheduling point on the catalog, and with two workers against one.
//!
//! - **Against shuttle.** The race of [`cancel_race`] runs N schedules under each
//!   explorer, in alternating rounds. irpkit: [`CancelRace`] explored in this process
//!   with `explore::explore` over seeds 0..N, `Strategy::Random`, one worker, no
//!   shrinking. shuttle: the `irpkit-perf-shuttle` binary (irpkit built with
//!   `--cfg shuttle`, so that every atomic, lock and thread of irpkit is shuttle's) runs
//!   `shuttle::check_random` with N iterations on a fresh kernel each and prints how long
//!   the check alone took; it is built once per report (see [`ShuttleRace::build`]) and
//!   run as a child process each round. The figure is time per schedule; the ratio is the
//!   median of the per-round ratios irpkit / shuttle.
//! - **Per scheduling point.** Each correct twin of the buggy-driver catalog and each
//!   safe-API sample workload is explored over K seeds (random strategy, one worker);
//!   the exploration's real time divided by its scheduling points, medians over rounds
//!   that alternate between the scenarios.
//! - **Workers.** One exploration of a correct twin, long enough to take a noticeable
//!   time, with two workers and with one, in alternating rounds: the speed-up is the
//!   median of the per-round ratios time(1 worker) / time(2 workers).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use irpkit::explore::{self, Limits, Options, Scenario, Strategy};
use irpkit::Kernel;

use irpkit_perf_shuttle::cancel_race;

/// The package of the binary that runs the race under shuttle.
pub const SHUTTLE_PACKAGE: &str = "irpkit-perf-shuttle";

/// The race of [`cancel_race`] as an explorer scenario; counts the runs the driver won.
#[derive(Debug, Default)]
pub struct CancelRace {
    driver_won: AtomicU64,
}

impl CancelRace {
    /// Runs so far in which the driver's own completion won.
    pub fn driver_won(&self) -> u64 {
        self.driver_won.load(Ordering::Relaxed)
    }
}

impl Scenario for CancelRace {
    fn name(&self) -> &str {
        "cancel-race"
    }

    fn run(&self, kernel: &Kernel) {
        if cancel_race(kernel) {
            self.driver_won.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One exploration's totals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Run {
    /// Schedules run.
    pub schedules: u64,
    /// Scheduling points taken over all of them.
    pub steps: u64,
    /// Real time, as the explorer measured it.
    pub elapsed: Duration,
}

impl Run {
    /// Real time per schedule, in nanoseconds.
    pub fn ns_per_schedule(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.schedules.max(1) as f64
    }

    /// Real time per scheduling point, in nanoseconds.
    pub fn ns_per_step(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.steps.max(1) as f64
    }
}

/// Explores `scenario` over seeds `0..seeds` with the random strategy, `jobs` workers and
/// no shrinking. Panics if a schedule ends in a violation: every scenario measured here is
/// correct.
pub fn explore_seeds(scenario: &Arc<dyn Scenario>, seeds: u64, jobs: usize) -> Run {
    let options = Options {
        strategy: Some(Strategy::Random),
        seeds: 0..seeds,
        time_budget: None,
        limits: Limits::default(),
        shrink: false,
        jobs,
    };
    let e = explore::explore(scenario, &options, |_| {});
    if let Some(v) = &e.found {
        panic!("exploring {} found a violation after {:?} schedules: {}", scenario.name(), e.found_after, v.kind);
    }
    Run { schedules: e.schedules, steps: e.steps, elapsed: e.elapsed }
}

/// The built `irpkit-perf-shuttle` binary.
#[derive(Debug, Clone)]
pub struct ShuttleRace {
    exe: PathBuf,
}

/// What one run of the shuttle binary printed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShuttleRun {
    /// Iterations (schedules) `check_random` ran.
    pub schedules: u64,
    /// Real time of the check alone.
    pub elapsed: Duration,
    /// Schedules in which the driver's own completion won.
    pub driver_won: u64,
}

impl ShuttleRun {
    /// Real time per schedule, in nanoseconds.
    pub fn ns_per_schedule(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.schedules.max(1) as f64
    }

    /// Parses the binary's output: `schedules N`, `elapsed_ns T` and `driver_won W`, one
    /// a line (other lines are ignored).
    pub fn parse(stdout: &str) -> Result<Self, String> {
        let field = |name: &str| -> Result<u64, String> {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
                .ok_or_else(|| format!("no `{name}` line in its output"))?
                .trim()
                .parse::<u64>()
                .map_err(|e| format!("`{name}` is not a count: {e}"))
        };
        Ok(ShuttleRun {
            schedules: field("schedules")?,
            elapsed: Duration::from_nanos(field("elapsed_ns")?),
            driver_won: field("driver_won")?,
        })
    }
}

/// The workspace this crate was built in.
fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// Where the shuttle build goes: `shuttle/` in the target directory (`CARGO_TARGET_DIR`,
/// else the workspace's `target/`) — the directory CI's shuttle tests build in, so that
/// irpkit and shuttle are compiled once for both.
pub fn shuttle_target_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_relative() {
                std::env::current_dir().map(|cwd| cwd.join(&dir)).unwrap_or(dir)
            } else {
                dir
            }
        }
        _ => workspace_root().join("target"),
    };
    target.join("shuttle")
}

/// The last lines of a command's error output, for a one-line message.
fn tail(stderr: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(stderr);
    let kept: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if kept.is_empty() {
        return "no error output".to_string();
    }
    kept[kept.len().saturating_sub(lines)..].join(" / ")
}

impl ShuttleRace {
    /// Builds the binary: `cargo build --release --locked -p irpkit-perf-shuttle` with
    /// `RUSTFLAGS="--cfg shuttle"` into [`shuttle_target_dir`]. The error says why it
    /// could not be built.
    pub fn build() -> Result<Self, String> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let target = shuttle_target_dir();
        let out = Command::new(&cargo)
            .args(["build", "--release", "--locked", "-p", SHUTTLE_PACKAGE])
            .current_dir(workspace_root())
            .env("RUSTFLAGS", "--cfg shuttle")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .map_err(|e| format!("cannot run `{}`: {e}", Path::new(&cargo).display()))?;
        if !out.status.success() {
            return Err(format!(
                "`cargo build --release -p {SHUTTLE_PACKAGE}` with `--cfg shuttle` failed ({}): {}",
                out.status,
                tail(&out.stderr, 3)
            ));
        }
        let exe = target.join("release").join(format!("{SHUTTLE_PACKAGE}{}", std::env::consts::EXE_SUFFIX));
        if !exe.is_file() {
            return Err(format!("the build succeeded but left no {}", exe.display()));
        }
        Ok(ShuttleRace { exe })
    }

    /// Runs `schedules` schedules of the race under shuttle, in a child process.
    pub fn run(&self, schedules: u64) -> Result<ShuttleRun, String> {
        let out = Command::new(&self.exe)
            .arg(schedules.to_string())
            .output()
            .map_err(|e| format!("cannot run {SHUTTLE_PACKAGE}: {e}"))?;
        if !out.status.success() {
            return Err(format!("{SHUTTLE_PACKAGE} {schedules} failed ({}): {}", out.status, tail(&out.stderr, 3)));
        }
        let run = ShuttleRun::parse(&String::from_utf8_lossy(&out.stdout))
            .map_err(|e| format!("{SHUTTLE_PACKAGE} {schedules}: {e}"))?;
        if run.schedules != schedules {
            return Err(format!("{SHUTTLE_PACKAGE} ran {} schedules, not {schedules}", run.schedules));
        }
        Ok(run)
    }
}

/// Runs `f`; returns its result and how long it took.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let r = f();
    (r, start.elapsed())
}

// ----- the measurements ---------------------------------------------------------------

/// How much of the explorer to measure.
#[derive(Debug, Clone)]
pub struct ExplorerPlan {
    /// Schedules per sample of the shuttle comparison, on each side.
    pub race_schedules: u64,
    /// Rounds of the shuttle comparison.
    pub race_rounds: usize,
    /// Seeds per scenario and sample of the per-step figures.
    pub step_seeds: u64,
    /// Rounds of the per-step figures.
    pub step_rounds: usize,
    /// The correct twin the worker speed-up explores.
    pub jobs_scenario: &'static str,
    /// Its one-worker exploration takes at least this long (the seed count is calibrated
    /// once, before the rounds).
    pub jobs_min_run: Duration,
    /// Rounds of the worker speed-up.
    pub jobs_rounds: usize,
}

/// The race under both explorers.
#[derive(Debug, Clone)]
pub struct VsShuttle {
    /// Schedules per sample, on each side.
    pub schedules: u64,
    /// irpkit's time per schedule, ns, one sample per round.
    pub irpkit_ns: Vec<f64>,
    /// shuttle's time per schedule, ns, one sample per round (empty when `shuttle_error`).
    pub shuttle_ns: Vec<f64>,
    /// Why shuttle's side could not be measured (its build or a run failed).
    pub shuttle_error: Option<String>,
    /// irpkit's scheduling points per schedule.
    pub irpkit_steps_per_schedule: f64,
    /// Fraction of irpkit's schedules in which the driver's completion won.
    pub irpkit_driver_won: f64,
    /// Fraction of shuttle's schedules in which the driver's completion won.
    pub shuttle_driver_won: f64,
    /// How long building the shuttle binary took (little when it is up to date).
    pub build: Duration,
}

/// One scenario's per-step figures.
#[derive(Debug, Clone)]
pub struct StepRow {
    /// The scenario.
    pub name: &'static str,
    /// "correct twin" or "sample workload".
    pub kind: &'static str,
    /// Seeds per sample.
    pub seeds: u64,
    /// Each round's exploration.
    pub runs: Vec<Run>,
}

/// The worker speed-up.
#[derive(Debug, Clone)]
pub struct Jobs {
    /// The scenario explored.
    pub scenario: &'static str,
    /// Seeds per exploration.
    pub seeds: u64,
    /// Seconds with one worker, one sample per round.
    pub one: Vec<f64>,
    /// Seconds with two workers, one sample per round.
    pub two: Vec<f64>,
}

/// Everything the report's explorer section shows.
#[derive(Debug, Clone)]
pub struct ExplorerResults {
    /// irpkit against shuttle.
    pub vs_shuttle: VsShuttle,
    /// Per-step figures, by scenario.
    pub steps: Vec<StepRow>,
    /// Two workers against one.
    pub jobs: Jobs,
}

/// Runs every explorer measurement of `plan`, saying what it does through `progress`.
pub fn measure(plan: &ExplorerPlan, progress: impl Fn(&str)) -> ExplorerResults {
    progress(&format!("explorer: building {SHUTTLE_PACKAGE} (--cfg shuttle, in {})", shuttle_target_dir().display()));
    let (shuttle, build) = timed(ShuttleRace::build);
    if let Err(e) = &shuttle {
        progress(&format!("explorer: no shuttle comparison: {e}"));
    }
    progress("explorer: irpkit against shuttle on the cancel race");
    let vs_shuttle = vs_shuttle(shuttle.as_ref(), plan.race_schedules, plan.race_rounds, build);
    progress("explorer: time per scheduling point, catalog twins and sample workloads");
    let steps = per_step(plan.step_seeds, plan.step_rounds);
    progress("explorer: two workers against one");
    let jobs = jobs_speedup(plan.jobs_scenario, plan.jobs_min_run, plan.jobs_rounds);
    ExplorerResults { vs_shuttle, steps, jobs }
}

/// The race, `schedules` schedules a side, in `rounds` alternating rounds; irpkit's side
/// alone when there is no shuttle binary or one of its runs fails.
pub fn vs_shuttle(shuttle: Result<&ShuttleRace, &String>, schedules: u64, rounds: usize, build: Duration) -> VsShuttle {
    let race = Arc::new(CancelRace::default());
    let scenario: Arc<dyn Scenario> = race.clone();
    // Warm-up, outside the samples: both sides once, a tenth of the size.
    let warm = (schedules / 10).max(1);
    explore_seeds(&scenario, warm, 1);
    let mut failed: Option<String> = match shuttle {
        Ok(s) => s.run(warm).err(),
        Err(e) => Some(e.clone()),
    };
    let won_before = race.driver_won();
    let (mut steps, mut explored) = (0u64, 0u64);
    let (mut shuttle_won, mut shuttle_ran) = (0u64, 0u64);
    let contenders = if failed.is_some() { 1 } else { 2 };
    let samples = crate::runner::alternate(contenders, rounds, |i| {
        if i == 0 {
            let r = explore_seeds(&scenario, schedules, 1);
            steps += r.steps;
            explored += r.schedules;
            return r.ns_per_schedule();
        }
        // Only asked for with a binary that ran its warm-up; after a failed run, no more.
        let Ok(shuttle) = shuttle else { return f64::NAN };
        if failed.is_some() {
            return f64::NAN;
        }
        match shuttle.run(schedules) {
            Ok(r) => {
                shuttle_won += r.driver_won;
                shuttle_ran += r.schedules;
                r.ns_per_schedule()
            }
            Err(e) => {
                failed.get_or_insert(e);
                f64::NAN
            }
        }
    });
    let mut samples = samples.into_iter();
    let irpkit_ns = samples.next().unwrap_or_default();
    let shuttle_ns = if failed.is_some() { Vec::new() } else { samples.next().unwrap_or_default() };
    VsShuttle {
        schedules,
        irpkit_ns,
        shuttle_ns,
        shuttle_error: failed,
        irpkit_steps_per_schedule: steps as f64 / explored.max(1) as f64,
        irpkit_driver_won: (race.driver_won() - won_before) as f64 / explored.max(1) as f64,
        shuttle_driver_won: shuttle_won as f64 / shuttle_ran.max(1) as f64,
        build,
    }
}

/// The scenarios of the per-step figures: the catalog's correct twins, then the sample
/// workloads.
pub fn step_scenarios() -> Vec<(&'static str, &'static str, Arc<dyn Scenario>)> {
    let twins = irpkit_samples::buggy::correct().into_iter().map(|(name, s)| (name, "correct twin", s));
    let samples = irpkit_samples::workloads::samples().into_iter().map(|(name, _, s)| (name, "sample workload", s));
    twins.chain(samples).collect()
}

/// Every scenario of [`step_scenarios`] explored over `seeds` seeds per sample, in
/// `rounds` rounds that alternate between them.
pub fn per_step(seeds: u64, rounds: usize) -> Vec<StepRow> {
    let scenarios = step_scenarios();
    for (_, _, s) in &scenarios {
        explore_seeds(s, (seeds / 10).max(1), 1);
    }
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); scenarios.len()];
    crate::runner::alternate(scenarios.len(), rounds, |i| {
        let r = explore_seeds(&scenarios[i].2, seeds, 1);
        runs[i].push(r);
        r.ns_per_step()
    });
    scenarios.into_iter().zip(runs).map(|((name, kind, _), runs)| StepRow { name, kind, seeds, runs }).collect()
}

/// `scenario` (a correct twin) explored with one worker and with two, in `rounds`
/// alternating rounds, over as many seeds as make the one-worker run last `min_run`.
pub fn jobs_speedup(scenario: &'static str, min_run: Duration, rounds: usize) -> Jobs {
    let s = irpkit_samples::buggy::scenario(scenario).unwrap_or_else(|| panic!("no catalog scenario {scenario}"));
    let mut seeds = 8u64;
    loop {
        let t = explore_seeds(&s, seeds, 1).elapsed;
        if t >= min_run || seeds >= 1 << 24 {
            break;
        }
        let scale = if t.is_zero() { 16.0 } else { (min_run.as_secs_f64() / t.as_secs_f64() * 1.2).clamp(1.5, 16.0) };
        seeds = ((seeds as f64) * scale).ceil() as u64;
    }
    let samples = crate::runner::alternate(2, rounds, |i| explore_seeds(&s, seeds, i + 1).elapsed.as_secs_f64());
    let mut samples = samples.into_iter();
    Jobs { scenario, seeds, one: samples.next().unwrap_or_default(), two: samples.next().unwrap_or_default() }
}
