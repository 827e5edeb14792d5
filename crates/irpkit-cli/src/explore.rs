//! `irpkit explore` and `irpkit replay`: the deterministic race explorer on the
//! buggy-driver catalog, the correct drivers and scenario files (C drivers included), and
//! replays of the schedules it saves.
//!
//! `--strategy exhaustive` runs [`irpkit::explore::exhaustive`] instead of seeds: its
//! table row says whether the schedules were exhausted, or where to resume.
//!
//! Schedule files: `irpkit-schedule/1` names a catalog scenario; `irpkit-schedule/2`
//! (a scenario file's) adds `scenario_file`: the file's path as given, its absolute path,
//! and hashes of its contents and of its C drivers' files, so that a replay finds the
//! file again and says when it changed.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use irpkit::explore::coverage::{CancelCoverage, Window};
use irpkit::explore::exhaustive::{self, Branches, ExhaustiveOptions, ExhaustiveResult, Position, Shard, Stop};
use irpkit::explore::{self, Decision, Exploration, Limits, Options, Scenario, Schedule, Strategy, Violation};
use irpkit_cli::scenario::{self as file_scenario, run as file_run};
use irpkit_samples::{buggy, workloads};

/// Settings of `irpkit explore`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExploreArgs {
    /// Scenario files to explore (`.toml`, see scenarios/README.md), as catalog scenarios
    /// are: their C drivers are built once and loaded afresh in every schedule.
    #[arg(value_name = "FILE.toml")]
    files: Vec<PathBuf>,
    /// Scenarios to explore (repeatable); `irpkit explore --list` names them. Default
    /// (without scenario files): every scenario of the catalog, buggy and correct.
    #[arg(long = "scenario", value_name = "NAME")]
    scenarios: Vec<String>,
    /// Lists the scenarios and exits.
    #[arg(long)]
    list: bool,
    /// Schedules to run per scenario (default 1000); with `--strategy exhaustive`, runs
    /// (default: no limit).
    #[arg(long, value_name = "N")]
    iterations: Option<u64>,
    /// Stop each scenario after this many seconds of real time.
    #[arg(long, value_name = "SECONDS")]
    seconds: Option<f64>,
    /// First seed (each schedule is one seed: SEED, SEED+1, ...; default 0).
    #[arg(long)]
    seed: Option<u64>,
    /// Exact seeds to run, `A..B` (B excluded), e.g. to spread a search over machines;
    /// overrides --seed and --iterations.
    #[arg(long, value_name = "A..B", value_parser = parse_range)]
    seed_range: Option<std::ops::Range<u64>>,
    /// `random`, `pct`, `mixed` (random on even seeds, PCT of depth 1-3 on odd ones), or
    /// `exhaustive`: every schedule with at most --max-preemptions preemptions, fewest
    /// preemptions first (iterative context bounding; docs/DESIGN.md).
    #[arg(long, default_value = "mixed", value_parser = ["random", "pct", "mixed", "exhaustive"])]
    strategy: String,
    /// PCT's bug depth (with --strategy pct).
    #[arg(long, default_value_t = 2)]
    depth: u32,
    /// With --strategy exhaustive: K, the most preemptions a schedule may have (default 2).
    #[arg(long, value_name = "K")]
    max_preemptions: Option<u32>,
    /// With --strategy exhaustive: the most free choices a schedule may make (non-default
    /// choices after a thread waits or ends; default: no limit). Scenarios with many waits
    /// need one: 0 runs the lowest-numbered ready thread after every wait.
    #[arg(long, value_name = "F")]
    max_free_choices: Option<u32>,
    /// With --strategy exhaustive: only the top-level branches A..B (B excluded; `A..`:
    /// to the last). Branch 0 is the default schedule, the others leave it at one step for
    /// one other thread, numbered in step order; the table says how many there are.
    #[arg(long, value_name = "A..B", value_parser = parse_branches)]
    branches: Option<std::ops::Range<u64>>,
    /// With --strategy exhaustive: only the branches b with b % N == I (shards of similar
    /// size, for a CI matrix: jobs 0/N to N-1/N cover everything once).
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<Shard>,
    /// With --strategy exhaustive: skip the parts before P:B (P preemptions, branch B), to
    /// continue a search a budget stopped; the table prints the position to give.
    #[arg(long, value_name = "P:B", value_parser = clap::value_parser!(Position))]
    resume: Option<Position>,
    /// Where to save the schedule of a violation: a file with one scenario; a directory
    /// (created if missing) with several, or when it names an existing directory — each
    /// schedule saved there as `<scenario>.schedule.json`. Default: that name in the
    /// current directory.
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Print a JSON summary on stdout instead of the table (format `irpkit-explore/1`,
    /// described in the README).
    #[arg(long)]
    json: bool,
    /// Keep the schedule as found (do not shrink it).
    #[arg(long)]
    no_shrink: bool,
    /// Worker threads running schedules side by side (default: one per core). The
    /// violation reported is the lowest seed's, whatever the number.
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// KiB of stack for each controlled thread (driver C code runs on it).
    #[arg(long, value_name = "KIB", default_value_t = (explore::DEFAULT_STACK_SIZE / 1024) as u64)]
    stack_kib: u64,
}

fn parse_range(s: &str) -> Result<std::ops::Range<u64>, String> {
    let (a, b) = s.split_once("..").ok_or_else(|| format!("`{s}` is not a range: write A..B, e.g. 0..5000"))?;
    let a: u64 = a.trim().parse().map_err(|_| format!("`{a}` in `{s}` is not a number"))?;
    let b: u64 = b.trim().parse().map_err(|_| format!("`{b}` in `{s}` is not a number"))?;
    if b <= a {
        return Err(format!("the range `{s}` is empty: B must be greater than A"));
    }
    Ok(a..b)
}

/// `A..B` or `A..` (to the last branch).
fn parse_branches(s: &str) -> Result<std::ops::Range<u64>, String> {
    match s.split_once("..") {
        Some((a, "")) => {
            let a: u64 = a.trim().parse().map_err(|_| format!("`{a}` in `{s}` is not a branch number"))?;
            Ok(a..u64::MAX)
        }
        _ => parse_range(s),
    }
}

/// `I/N` with I < N.
fn parse_shard(s: &str) -> Result<Shard, String> {
    let (i, n) = s.split_once('/').ok_or_else(|| format!("`{s}` is not a shard: write I/N, e.g. 0/4"))?;
    let index: u64 = i.trim().parse().map_err(|_| format!("`{i}` in `{s}` is not a number"))?;
    let count: u64 = n.trim().parse().map_err(|_| format!("`{n}` in `{s}` is not a number"))?;
    if index >= count {
        return Err(format!(
            "the shard `{s}` does not exist: I must be below N (0/{count} to {}/{count})",
            count.max(1) - 1
        ));
    }
    Ok(Shard { index, count })
}

/// Options given that the chosen strategy does not use: bad input.
fn misplaced_options(args: &ExploreArgs) -> Option<String> {
    let exhaustive = args.strategy == "exhaustive";
    let given = |set: bool, name: &str| set.then(|| name.to_string());
    let wrong: Vec<String> = if exhaustive {
        [given(args.seed.is_some(), "--seed"), given(args.seed_range.is_some(), "--seed-range")]
            .into_iter()
            .flatten()
            .collect()
    } else {
        [
            given(args.max_preemptions.is_some(), "--max-preemptions"),
            given(args.max_free_choices.is_some(), "--max-free-choices"),
            given(args.branches.is_some(), "--branches"),
            given(args.shard.is_some(), "--shard"),
            given(args.resume.is_some(), "--resume"),
        ]
        .into_iter()
        .flatten()
        .collect()
    };
    let (list, one) = (wrong.join(" and "), wrong.len() == 1);
    if wrong.is_empty() {
        None
    } else if exhaustive {
        Some(format!("{list} {} not apply to --strategy exhaustive (it has no seeds)", if one { "does" } else { "do" }))
    } else {
        Some(format!("{list} only {} to --strategy exhaustive", if one { "applies" } else { "apply" }))
    }
}

fn strategy_of(args: &ExploreArgs) -> Option<Strategy> {
    match args.strategy.as_str() {
        "random" => Some(Strategy::Random),
        "pct" => Some(Strategy::Pct { depth: args.depth.max(1) }),
        _ => None,
    }
}

/// Runs `irpkit explore`.
pub(crate) fn explore_cmd(args: &ExploreArgs, out: &mut impl Write) -> ExitCode {
    if args.list {
        list(out);
        return ExitCode::SUCCESS;
    }
    if let Some(e) = misplaced_options(args) {
        let _ = writeln!(std::io::stderr(), "irpkit explore: {e}");
        return ExitCode::from(2);
    }
    let scenarios = match targets(args) {
        Ok(scenarios) => scenarios,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "irpkit explore: {e}");
            return ExitCode::from(2);
        }
    };
    let plan = Plan::of(args);
    let tty = std::io::stderr().is_terminal();
    let mut results = Results::new();
    for target in &scenarios {
        let (e, ex) = plan.explore(target, tty);
        if let Some(err) = target.explorable.as_ref().and_then(file_run::Explorable::setup_error) {
            let file = target.file.as_ref().map_or_else(String::new, |f| format!("{}: ", f.given.display()));
            let _ = writeln!(std::io::stderr(), "irpkit explore: {file}{err}");
            return ExitCode::from(2);
        }
        if let Some(err) = ex.as_ref().and_then(|r| r.error.as_ref()) {
            let _ = writeln!(std::io::stderr(), "irpkit explore: {}: {err}", target.name);
            return ExitCode::from(2);
        }
        results.add(args, &plan, target, &e, ex.as_ref(), scenarios.len() > 1);
    }
    results.print(args, &plan, out);
    if results.violations > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `irpkit explore --list`: the catalog's scenarios, buggy and correct, and the samples.
fn list(out: &mut impl Write) {
    let _ = writeln!(out, "{:<26} {:<44} about", "scenario", "expected rule");
    for e in buggy::catalog() {
        let _ = writeln!(out, "{:<26} {:<44} {}", e.name, e.rules.join(" | "), e.about);
    }
    for (name, _) in buggy::correct() {
        let _ = writeln!(out, "{name:<26} {:<44} the correct twin", "(none)");
    }
    for (name, about, _) in workloads::samples() {
        let _ = writeln!(out, "{name:<26} {:<44} safe-API sample: {about}", "(none)");
    }
}

/// The scenarios to explore: those named (default, without files: the whole catalog),
/// then the scenario files; or why one cannot be.
fn targets(args: &ExploreArgs) -> Result<Vec<Target>, String> {
    let names: Vec<String> = if args.scenarios.is_empty() && args.files.is_empty() {
        irpkit_samples::scenario_names().iter().map(|s| s.to_string()).collect()
    } else {
        args.scenarios.clone()
    };
    let mut scenarios = Vec::new();
    for name in &names {
        match irpkit_samples::scenario(name) {
            Some(s) => scenarios.push(Target::catalog(name, s)),
            None => {
                return Err(format!(
                    "no scenario named `{name}`; `irpkit explore --list` shows them: {}",
                    irpkit_samples::scenario_names().join(", ")
                ))
            }
        }
    }
    for file in &args.files {
        scenarios.push(Target::file(file)?);
    }
    Ok(scenarios)
}

/// How each scenario is explored, from the arguments.
struct Plan {
    /// `--strategy exhaustive`.
    exhaustive: bool,
    /// The seeded search's options.
    options: Options,
    /// The exhaustive search's options.
    exhaustive_options: ExhaustiveOptions,
    /// Bytes of stack for each controlled thread.
    stack_size: usize,
}

impl Plan {
    fn of(args: &ExploreArgs) -> Self {
        let seed = args.seed.unwrap_or(0);
        let seeds = args.seed_range.clone().unwrap_or(seed..seed.saturating_add(args.iterations.unwrap_or(1000)));
        let options = Options {
            strategy: strategy_of(args),
            seeds,
            time_budget: args.seconds.map(Duration::from_secs_f64),
            limits: Limits::default(),
            shrink: !args.no_shrink,
            jobs: args.jobs.unwrap_or(0),
        };
        let exhaustive_options = ExhaustiveOptions {
            max_preemptions: args.max_preemptions.unwrap_or(2),
            max_free_choices: args.max_free_choices,
            branches: Branches { range: args.branches.clone().unwrap_or(0..u64::MAX), shard: args.shard },
            resume: args.resume,
            max_runs: args.iterations,
            time_budget: args.seconds.map(Duration::from_secs_f64),
            limits: Limits::default(),
            shrink: !args.no_shrink,
            jobs: args.jobs.unwrap_or(0),
        };
        Plan {
            exhaustive: args.strategy == "exhaustive",
            options,
            exhaustive_options,
            stack_size: usize::try_from(args.stack_kib.saturating_mul(1024)).unwrap_or(usize::MAX),
        }
    }

    /// A bar on a terminal (a spinner for the exhaustive search, whose size is not known
    /// ahead), titled `name`.
    fn progress_bar(&self, name: &str) -> indicatif::ProgressBar {
        let (bar, template) = if self.exhaustive {
            (indicatif::ProgressBar::new_spinner(), "{prefix:<24} {spinner} {msg}")
        } else {
            let len = self.options.seeds.end.saturating_sub(self.options.seeds.start);
            (indicatif::ProgressBar::new(len), "{prefix:<24} [{bar:30}] {pos}/{len} schedules  {msg}")
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        bar
    }

    /// Explores `target`, showing progress on stderr: a bar on a terminal (`tty`),
    /// elsewhere (a CI log) a line every 200 ms. The exhaustive search's result comes
    /// with its exploration.
    fn explore(&self, target: &Target, tty: bool) -> (Exploration, Option<ExhaustiveResult>) {
        let (name, scenario) = (&target.name, &target.scenario);
        let limits = Limits { stack_size: self.stack_size, ..target.limits };
        let mut last = Instant::now();
        let bar = tty.then(|| self.progress_bar(name));
        let mut show = |position: Option<u64>, line: String| {
            if let Some(bar) = &bar {
                if let Some(p) = position {
                    bar.set_position(p);
                }
                bar.set_message(line);
            } else if last.elapsed() >= Duration::from_millis(200) {
                last = Instant::now();
                eprintln!("{name}: {line}");
            }
        };
        let found = if self.exhaustive {
            let o = ExhaustiveOptions { limits, ..self.exhaustive_options.clone() };
            let r = exhaustive::explore(scenario, &o, |p| {
                show(
                    None,
                    format!(
                        "{} runs, {} schedules  part {} ({} branches, K={})  {:.0}/s",
                        p.runs,
                        p.schedules,
                        p.at,
                        p.branches,
                        p.max_preemptions,
                        p.runs as f64 / p.elapsed.as_secs_f64().max(1e-9)
                    ),
                )
            });
            (r.exploration(), Some(r))
        } else {
            let options = Options { limits, ..self.options.clone() };
            let e = explore::explore(scenario, &options, |p| {
                let found = if p.violations > 0 { "  violation found" } else { "" };
                let line = if bar.is_some() {
                    format!("{:.0}/s{found}", p.rate())
                } else {
                    format!("{}/{} schedules  {:.0}/s  violations {}", p.schedules, p.total, p.rate(), p.violations)
                };
                show(Some(p.schedules), line)
            });
            (e, None)
        };
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        found
    }
}

/// What `irpkit explore` prints at the end: the human table or the machine summary.
struct Results {
    /// The table.
    table: String,
    /// Each scenario's JSON summary.
    json: Vec<serde_json::Value>,
    /// Scenarios with a violation.
    violations: usize,
}

impl Results {
    fn new() -> Self {
        let mut table = String::new();
        let _ =
            writeln!(table, "{:<26} {:>9} {:>10} {:>11}  result", "scenario", "schedules", "sched/s", "steps/sched");
        Results { table, json: Vec::new(), violations: 0 }
    }

    /// `target`'s exploration `e` (`ex`: the exhaustive search's result): its table row
    /// and lines, its JSON summary, its schedule saved if it found a violation (`several`:
    /// one of several scenarios, for the file's name).
    fn add(
        &mut self,
        args: &ExploreArgs,
        plan: &Plan,
        target: &Target,
        e: &Exploration,
        ex: Option<&ExhaustiveResult>,
        several: bool,
    ) {
        let name = &target.name;
        // Exhaustive runs include revisits: the rates are per run.
        let runs = ex.map_or(e.schedules, |r| r.runs);
        let rate = runs as f64 / e.elapsed.as_secs_f64().max(1e-9);
        let per = e.steps / runs.max(1);
        let mut summary = serde_json::json!({
            "scenario": name,
            "schedules": e.schedules,
            "seconds": e.elapsed.as_secs_f64(),
            "schedules_per_second": rate,
            "steps_per_schedule": per,
            "violation": null,
            "coverage": coverage_json(&e.coverage),
        });
        if let Some(r) = ex {
            exhaustive_json(r, &plan.exhaustive_options, &mut summary);
        }
        match (&e.found, &e.shrunk) {
            (None, _) => {
                let result = ex.map_or_else(|| "no violation".to_string(), |r| verdict(r, &plan.exhaustive_options));
                let _ = writeln!(self.table, "{name:<26} {:>9} {rate:>10.0} {per:>11}  {result}", e.schedules);
                if let Some(r) = ex {
                    let _ = write!(self.table, "{}", details(r, &plan.exhaustive_options));
                }
            }
            (Some(found), shrunk) => {
                self.violations += 1;
                let v = shrunk.as_ref().unwrap_or(found);
                let path = schedule_path(args.out.as_deref(), several, name);
                let saved = save(&path, &v.schedule, &v.kind.signature(), &v.kind.to_string(), target.file.as_ref());
                summary["violation"] = serde_json::json!({
                    "rule": v.kind.signature(),
                    "message": v.kind.to_string(),
                    "seed": found.schedule.seed,
                    "found_after": e.found_after.unwrap_or(0),
                    "preemptions_found": found.schedule.preemptions(),
                    "preemptions_shrunk": v.schedule.preemptions(),
                    "schedule_file": saved.as_ref().ok().map(|()| path.display().to_string()),
                });
                let origin = match ex.and_then(|r| r.found_at) {
                    Some(at) => {
                        summary["violation"]["part"] = serde_json::json!(at.to_string());
                        format!("run(s) (branch {}, {} preemption(s))", at.branch, at.preemptions)
                    }
                    None => format!("schedule(s) (seed {})", found.schedule.seed),
                };
                let _ = writeln!(
                    self.table,
                    "{name:<26} {:>9} {rate:>10.0} {per:>11}  VIOLATION {} after {} {origin}",
                    e.schedules,
                    v.kind.signature(),
                    e.found_after.unwrap_or(0),
                );
                self.violation_lines(e, found, v, &path, &saved);
            }
        }
        for line in e.coverage.table().lines() {
            let _ = writeln!(self.table, "    {line}");
        }
        self.json.push(summary);
    }

    /// The lines under a violation's row: its schedule's preemptions as found and
    /// shrunk, where it was saved (`saved`: whether it could be, to `path`), its message.
    fn violation_lines(
        &mut self,
        e: &Exploration,
        found: &Violation,
        v: &Violation,
        path: &Path,
        saved: &std::io::Result<()>,
    ) {
        let _ = writeln!(
            self.table,
            "    schedule: {} preemption(s) as found, {} after shrinking ({} replays); {}",
            found.schedule.preemptions(),
            v.schedule.preemptions(),
            e.shrink_replays,
            match saved {
                Ok(()) => format!(
                    "saved to {0} — `irpkit replay {0}` shows it step by step, `irpkit replay {0} \
                     --html race.html` as a timeline",
                    path.display()
                ),
                Err(err) => format!("could not save it to {}: {err}", path.display()),
            }
        );
        for line in v.kind.to_string().lines() {
            let _ = writeln!(self.table, "    {line}");
        }
        if let Err(err) = saved {
            let _ = writeln!(std::io::stderr(), "irpkit explore: could not save {}: {err}", path.display());
        }
    }

    /// Prints the JSON summary (`--json`) or the table.
    fn print(&self, args: &ExploreArgs, plan: &Plan, out: &mut impl Write) {
        if args.json {
            let seeds = &plan.options.seeds;
            let mut doc = serde_json::json!({
                "format": "irpkit-explore/1",
                "seeds": [seeds.start, seeds.end],
                "strategy": args.strategy,
                "scenarios": self.json,
                "violations": self.violations,
            });
            if plan.exhaustive {
                doc["seeds"] = serde_json::Value::Null;
                doc["max_preemptions"] = serde_json::json!(plan.exhaustive_options.max_preemptions);
                doc["max_free_choices"] = serde_json::json!(plan.exhaustive_options.max_free_choices);
            }
            let _ = writeln!(out, "{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        } else {
            let _ = out.write_all(self.table.as_bytes());
        }
    }
}

/// `n` with its digits grouped by three ("18 342").
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// The branches an exhaustive search covered, in words ("" when all of them).
fn branch_words(r: &ExhaustiveResult, o: &ExhaustiveOptions) -> String {
    let mut parts = Vec::new();
    let range = &o.branches.range;
    if range.start > 0 || range.end < r.branches_total {
        let end = if range.end >= r.branches_total { String::new() } else { range.end.to_string() };
        parts.push(format!("branches {}..{end}", range.start));
    }
    if let Some(s) = o.branches.shard {
        parts.push(format!("shard {}/{}", s.index, s.count));
    }
    if let Some(p) = o.resume {
        parts.push(format!("from part {p}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({}: {} of {} branches)", parts.join(", "), r.branches_selected, r.branches_total)
    }
}

/// "≤ K preemptions" (and "≤ F free choices").
fn bounds_words(r: &ExhaustiveResult) -> String {
    match r.max_free_choices {
        None => format!("≤ {} preemptions", r.max_preemptions),
        Some(f) => format!("≤ {} preemptions and ≤ {f} free choices", r.max_preemptions),
    }
}

/// The result column of an exhaustive search without a violation.
fn verdict(r: &ExhaustiveResult, o: &ExhaustiveOptions) -> String {
    if r.exhausted {
        return format!(
            "exhausted: all {} schedules with {}{}: no violation",
            grouped(r.schedules),
            bounds_words(r),
            branch_words(r, o)
        );
    }
    let by = match r.stopped {
        Some(Stop::Time) => "--seconds",
        _ => "--iterations",
    };
    format!("NOT exhausted: stopped by {by} after {} runs: no violation so far", grouped(r.runs))
}

/// The lines under an exhaustive search's row: schedules by preemptions, runs, branches,
/// and where to resume.
fn details(r: &ExhaustiveResult, o: &ExhaustiveOptions) -> String {
    let by: Vec<String> = r.by_preemptions.iter().enumerate().map(|(p, n)| format!("{p}: {}", grouped(*n))).collect();
    let mut out = format!(
        "    schedules by preemptions {}; {} runs ({} revisits); {} top-level branches{}, the default schedule {} steps\n",
        by.join(", "),
        grouped(r.runs),
        grouped(r.revisits),
        grouped(r.branches_total),
        if r.branches_selected < r.branches_total {
            format!(" ({} searched)", grouped(r.branches_selected))
        } else {
            String::new()
        },
        r.default_steps
    );
    if let Some(at) = r.resume {
        let mut same = vec![format!("--max-preemptions {}", r.max_preemptions)];
        if let Some(f) = r.max_free_choices {
            same.push(format!("--max-free-choices {f}"));
        }
        if o.branches.range != (0..u64::MAX) {
            let end = if o.branches.range.end == u64::MAX { String::new() } else { o.branches.range.end.to_string() };
            same.push(format!("--branches {}..{end}", o.branches.range.start));
        }
        if let Some(s) = o.branches.shard {
            same.push(format!("--shard {}/{}", s.index, s.count));
        }
        let _ = writeln!(
            out,
            "    parts before {at} done ({} schedules); continue with `--strategy exhaustive {} --resume {at}` \
             (part {at}: branch {}, {} preemption(s), runs again from its start)",
            grouped(r.schedules_complete),
            same.join(" "),
            at.branch,
            at.preemptions
        );
    }
    out
}

/// Adds an exhaustive search's fields to its scenario's JSON summary.
fn exhaustive_json(r: &ExhaustiveResult, o: &ExhaustiveOptions, summary: &mut serde_json::Value) {
    let end = (o.branches.range.end < u64::MAX).then_some(o.branches.range.end);
    summary["exhausted"] = serde_json::json!(r.exhausted);
    summary["max_preemptions"] = serde_json::json!(r.max_preemptions);
    summary["max_free_choices"] = serde_json::json!(r.max_free_choices);
    summary["schedules_by_preemptions"] = serde_json::json!(r.by_preemptions);
    summary["schedules_complete"] = serde_json::json!(r.schedules_complete);
    summary["runs"] = serde_json::json!(r.runs);
    summary["revisits"] = serde_json::json!(r.revisits);
    summary["default_steps"] = serde_json::json!(r.default_steps);
    summary["branches"] = serde_json::json!({
        "total": r.branches_total,
        "selected": r.branches_selected,
        "range": [o.branches.range.start, end],
        "shard": o.branches.shard.map(|s| [s.index, s.count]),
    });
    summary["stopped_by"] = serde_json::json!(r.stopped.map(|s| match s {
        Stop::Runs => "iterations",
        Stop::Time => "seconds",
        Stop::Violation => "violation",
        Stop::Nondeterministic => "nondeterministic",
    }));
    summary["resume"] = serde_json::json!(r.resume.map(|p| p.to_string()));
}

/// A scenario file a schedule was found on: where it is and what it held.
#[derive(Debug, Clone)]
struct FileRef {
    /// The path as given on the command line.
    given: PathBuf,
    /// Its absolute path.
    absolute: PathBuf,
    /// The hash of its contents ([`content_hash`]).
    hash: String,
    /// The hash of its C drivers' files (sources, shared objects), in order.
    drivers_hash: String,
}

/// A scenario to explore: a catalog one, or a scenario file's.
struct Target {
    name: String,
    scenario: Arc<dyn Scenario>,
    limits: Limits,
    /// For a scenario file: the file, and its explorer view (for setup errors).
    file: Option<FileRef>,
    explorable: Option<file_run::Explorable>,
}

impl Target {
    fn catalog(name: &str, scenario: Arc<dyn Scenario>) -> Self {
        Target { name: name.to_string(), scenario, limits: Limits::default(), file: None, explorable: None }
    }

    /// A scenario file: read, checked, its C drivers built.
    fn file(path: &Path) -> Result<Self, String> {
        if path.extension().is_none_or(|e| e != "toml") {
            return Err(format!(
                "`{}` is not a scenario file (FILE.toml); name catalog scenarios with --scenario NAME",
                path.display()
            ));
        }
        let (spec, file) = load_file(path, path)?;
        Self::from_spec(&spec, file)
    }

    fn from_spec(spec: &file_scenario::Scenario, file: FileRef) -> Result<Self, String> {
        let drivers = file_run::build_drivers(spec).map_err(|e| format!("{}: {e}", file.given.display()))?;
        let explorable = file_run::explorable(spec, &drivers);
        Ok(Target {
            name: spec.name.clone().unwrap_or_else(|| "scenario".to_string()),
            scenario: explorable.scenario(),
            limits: file_run::file_limits(true),
            file: Some(file),
            explorable: Some(explorable),
        })
    }
}

/// Reads and checks the scenario file at `path` (named `given` in schedule files).
fn load_file(path: &Path, given: &Path) -> Result<(file_scenario::Scenario, FileRef), String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: cannot read it: {e}", path.display()))?;
    let spec = file_scenario::parse(path, &String::from_utf8_lossy(&text)).map_err(|e| e.to_string())?;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let file =
        FileRef { given: given.to_path_buf(), absolute, hash: content_hash(&text), drivers_hash: drivers_hash(&spec) };
    Ok((spec, file))
}

/// FNV-1a (64 bits) of `bytes`, as `fnv1a64:` and 16 hex digits: a change detector, not
/// a security measure.
fn content_hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}")
}

/// The hash of a scenario's C driver files (sources and shared objects, each with its
/// canonical path), in the file's order; a file that cannot be read counts as empty.
fn drivers_hash(spec: &file_scenario::Scenario) -> String {
    let mut all = Vec::new();
    for c in &spec.c_drivers {
        for f in c.sources.iter().flatten().chain(c.shared_object.iter()) {
            // The canonical path: the scenario file may be named relatively when the
            // schedule is saved and absolutely when it is replayed.
            let path = spec.resolve(f);
            let path = std::fs::canonicalize(&path).unwrap_or(path);
            all.extend_from_slice(path.to_string_lossy().as_bytes());
            all.push(0);
            all.extend(std::fs::read(&path).unwrap_or_default());
            all.push(0);
        }
    }
    content_hash(&all)
}

/// Where the schedule of scenario `name` goes: `out` itself when it names a file for a
/// single scenario, else `<name>.schedule.json` in `out` (a directory, created when
/// missing) or in the current directory.
fn schedule_path(out: Option<&Path>, several: bool, name: &str) -> PathBuf {
    let file = format!("{name}.schedule.json");
    match out {
        None => PathBuf::from(file),
        Some(out) if several || out.is_dir() || out.as_os_str().to_string_lossy().ends_with('/') => {
            // A failure to create it shows when the file is written.
            let _ = std::fs::create_dir_all(out);
            out.join(file)
        }
        Some(out) => out.to_path_buf(),
    }
}

/// A scenario's cancel coverage for `--json` (described in the README).
fn coverage_json(c: &CancelCoverage) -> serde_json::Value {
    let requests: Vec<serde_json::Value> = c
        .cancelled()
        .map(|(key, r)| {
            let hits: serde_json::Map<String, serde_json::Value> = Window::ALL
                .into_iter()
                .map(|w| {
                    (
                        w.id().to_string(),
                        if r.applies(w) { serde_json::json!(r.hits(w)) } else { serde_json::Value::Null },
                    )
                })
                .collect();
            serde_json::json!({
                "request": key.to_string(),
                "thread": key.thread,
                "major": irpkit::nt::major_function_name(key.major),
                "nth": key.nth,
                "label": key.label,
                "schedules": r.schedules,
                "cancels": r.cancels(),
                "hits": hits,
                "never_hit": r.never_hit().iter().map(|w| w.id()).collect::<Vec<_>>(),
                "setting_closed_to_explorer": r.setting_closed_to_explorer(),
            })
        })
        .collect();
    serde_json::json!({
        "schedules": c.schedules,
        "windows": Window::ALL.iter().map(|w| w.id()).collect::<Vec<_>>(),
        "requests": requests,
        "never_cancelled": c.never_cancelled().iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        "untracked_cancels": c.untracked,
    })
}

fn strategy_json(s: Strategy) -> serde_json::Value {
    match s {
        Strategy::Random => serde_json::json!("random"),
        Strategy::Pct { depth } => serde_json::json!({ "pct": depth }),
        Strategy::Exhaustive { max_preemptions, max_free_choices } => {
            serde_json::json!({ "exhaustive": max_preemptions, "free_choices": max_free_choices })
        }
    }
}

fn save(path: &Path, s: &Schedule, signature: &str, message: &str, file: Option<&FileRef>) -> std::io::Result<()> {
    let decisions: Vec<serde_json::Value> =
        s.decisions.iter().map(|d| serde_json::json!([d.step, d.thread, d.preemption])).collect();
    let mut doc = serde_json::json!({
        "format": if file.is_some() { FORMAT_FILE } else { FORMAT },
        "scenario": s.scenario,
        "seed": s.seed,
        "strategy": strategy_json(s.strategy),
        "violation": signature,
        "message": message,
        "decisions": decisions,
    });
    if let Some(f) = file {
        doc["scenario_file"] = serde_json::json!({
            "path": f.given.to_string_lossy(),
            "absolute": f.absolute.to_string_lossy(),
            "hash": f.hash,
            "drivers_hash": f.drivers_hash,
        });
    }
    let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}

/// A catalog scenario's schedule.
const FORMAT: &str = "irpkit-schedule/1";
/// A scenario file's schedule: `irpkit-schedule/1` and `scenario_file`.
const FORMAT_FILE: &str = "irpkit-schedule/2";

/// A schedule file, read back.
struct Saved {
    schedule: Schedule,
    violation: String,
    /// `irpkit-schedule/2`: the scenario file it was found on.
    file: Option<FileRef>,
}

fn load(path: &Path) -> Result<Saved, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read it: {e}", path.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}:{}:{}: not JSON: {e}", path.display(), e.line(), e.column()))?;
    let field = |name: &str| doc.get(name).ok_or_else(|| format!("{}: field `{name}` is missing", path.display()));
    let format = field("format")?.as_str().unwrap_or_default();
    if format != FORMAT && format != FORMAT_FILE {
        return Err(format!(
            "{}: field `format` is `{format}`; this irpkit reads `{FORMAT}` and `{FORMAT_FILE}`",
            path.display()
        ));
    }
    let file = if format == FORMAT_FILE {
        let f = field("scenario_file")?;
        let part = |name: &str| -> Result<String, String> {
            f.get(name)
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .ok_or_else(|| format!("{}: field `scenario_file.{name}` is missing or not a string", path.display()))
        };
        Some(FileRef {
            given: PathBuf::from(part("path")?),
            absolute: PathBuf::from(part("absolute")?),
            hash: part("hash")?,
            drivers_hash: part("drivers_hash").unwrap_or_default(),
        })
    } else {
        None
    };
    let text_of = |name: &str| -> Result<String, String> {
        field(name)?
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{}: field `{name}` must be a string", path.display()))
    };
    let scenario = text_of("scenario")?;
    let violation = text_of("violation")?;
    let seed =
        field("seed")?.as_u64().ok_or_else(|| format!("{}: field `seed` must be a whole number", path.display()))?;
    let strategy = match field("strategy")? {
        serde_json::Value::String(s) if s == "random" => Strategy::Random,
        v => match (v.get("pct").and_then(|d| d.as_u64()), v.get("exhaustive").and_then(|k| k.as_u64())) {
            (Some(depth), _) => Strategy::Pct { depth: depth as u32 },
            (None, Some(k)) => Strategy::Exhaustive {
                max_preemptions: k as u32,
                max_free_choices: v.get("free_choices").and_then(|f| f.as_u64()).map(|f| f as u32),
            },
            (None, None) => {
                return Err(format!(
                    "{}: field `strategy` must be \"random\", {{\"pct\": DEPTH}} or {{\"exhaustive\": K}}, not {v}",
                    path.display()
                ))
            }
        },
    };
    let list = field("decisions")?
        .as_array()
        .ok_or_else(|| format!("{}: field `decisions` must be a list of [step, thread, preemption]", path.display()))?;
    let mut decisions = Vec::with_capacity(list.len());
    for (i, d) in list.iter().enumerate() {
        let bad = || format!("{}: decisions[{i}] must be [step, thread, preemption], not {d}", path.display());
        let a = d.as_array().filter(|a| a.len() == 3).ok_or_else(bad)?;
        decisions.push(Decision {
            step: a[0].as_u64().ok_or_else(bad)?,
            thread: a[1].as_u64().ok_or_else(bad)? as usize,
            preemption: a[2].as_bool().ok_or_else(bad)?,
        });
    }
    Ok(Saved { schedule: Schedule { scenario, seed, strategy, decisions }, violation, file })
}

/// The scenario file a schedule names, found again: at its absolute path, else at its
/// path as given (from the current directory, then from the schedule file's), read,
/// checked and its C drivers built. Warns when its contents changed since.
fn reopen(schedule_file: &Path, saved: &FileRef) -> Result<Target, String> {
    let beside = schedule_file.parent().map(|d| d.join(&saved.given));
    let candidates = [Some(saved.absolute.clone()), Some(saved.given.clone()), beside];
    let Some(found) = candidates.into_iter().flatten().find(|p| p.is_file()) else {
        return Err(format!(
            "{}: the scenario file this schedule was found on is gone: neither {} nor {} exists",
            schedule_file.display(),
            saved.absolute.display(),
            saved.given.display()
        ));
    };
    let (spec, now) = load_file(&found, &saved.given)?;
    if now.hash != saved.hash {
        let _ = writeln!(
            std::io::stderr(),
            "irpkit replay: warning: {} has changed since the schedule was saved ({} then, {} now): the replay \
             may not follow the same interleaving",
            found.display(),
            saved.hash,
            now.hash
        );
    } else if !saved.drivers_hash.is_empty() && now.drivers_hash != saved.drivers_hash {
        let _ = writeln!(
            std::io::stderr(),
            "irpkit replay: warning: the C driver files of {} have changed since the schedule was saved: the replay \
             may not follow the same interleaving",
            found.display()
        );
    }
    Target::from_spec(&spec, FileRef { absolute: now.absolute, ..saved.clone() })
}

/// Runs `irpkit replay FILE`; `timeline` says where to write the replay's trace and HTML
/// page (if anywhere).
pub(crate) fn replay_cmd(
    path: &Path,
    json: bool,
    timeline: (Option<&Path>, Option<&Path>),
    out: &mut impl Write,
) -> ExitCode {
    let bad_input = |e: String| {
        let _ = writeln!(std::io::stderr(), "irpkit replay: {e}");
        ExitCode::from(2)
    };
    let saved = match load(path) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let target = match replay_target(path, &saved) {
        Ok(t) => t,
        Err(e) => return bad_input(e),
    };
    let scenario = &target.scenario;
    let (trace_path, html_path) = timeline;
    let (outcome, events) = if trace_path.is_some() || html_path.is_some() {
        explore::replay_recorded(scenario, &saved.schedule, &target.limits)
    } else {
        (explore::replay(scenario, &saved.schedule, &target.limits), Vec::new())
    };
    if let Some(err) = target.explorable.as_ref().and_then(file_run::Explorable::setup_error) {
        return bad_input(format!("{}: {err}", saved.file.as_ref().map_or(path, |f| &f.given).display()));
    }
    let got = outcome.violation.as_ref().map(|v| v.kind.signature());
    let reproduced = got.as_deref() == Some(saved.violation.as_str());
    if trace_path.is_some() || html_path.is_some() {
        let mut summary = Vec::new();
        let _ = write_replay_listing(&saved, &outcome, &mut summary);
        let title = format!("irpkit: replay of {}", saved.schedule.scenario);
        if let Err(e) = irpkit_cli::timeline::write_outputs(
            &events,
            &Default::default(),
            &title,
            &String::from_utf8_lossy(&summary),
            trace_path,
            html_path,
        ) {
            return bad_input(e);
        }
    }
    if json {
        let doc = replay_json(&saved, &outcome, got, reproduced);
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        let _ = write_replay_listing(&saved, &outcome, out);
    }
    if reproduced {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The scenario a saved schedule names: its scenario file found again, or the catalog's.
fn replay_target(path: &Path, saved: &Saved) -> Result<Target, String> {
    match &saved.file {
        Some(file) => reopen(path, file),
        None => match irpkit_samples::scenario(&saved.schedule.scenario) {
            Some(s) => Ok(Target::catalog(&saved.schedule.scenario, s)),
            None => Err(format!(
                "{}: field `scenario` names `{}`, which this irpkit does not have; known: {}",
                path.display(),
                saved.schedule.scenario,
                irpkit_samples::scenario_names().join(", ")
            )),
        },
    }
}

/// The replay as JSON (`irpkit-replay/1`): the outcome, against the saved violation, and
/// every step.
fn replay_json(saved: &Saved, outcome: &explore::Outcome, got: Option<String>, reproduced: bool) -> serde_json::Value {
    let name = |t: usize| outcome.threads.get(t).cloned().unwrap_or_default();
    serde_json::json!({
        "format": "irpkit-replay/1",
        "scenario": saved.schedule.scenario,
        "scenario_file": saved.file.as_ref().map(|f| f.given.to_string_lossy().into_owned()),
        "decisions": saved.schedule.decisions.len(),
        "preemptions": saved.schedule.preemptions(),
        "threads": outcome.threads,
        "expected": saved.violation,
        "got": got,
        "reproduced": reproduced,
        "violation": outcome.violation.as_ref().map(|v| v.kind.to_string()),
        "first_report_after_step": outcome.violation.as_ref().and_then(|v| v.at_step),
        "steps": outcome.trace.iter().map(|s| serde_json::json!({
            "thread": s.thread,
            "thread_name": name(s.thread),
            "what": s.what,
            "irp": s.irp,
            "at_us": s.at.as_secs_f64() * 1e6,
        })).collect::<Vec<_>>(),
    })
}

/// The replay as text: the threads, every step, and whether the saved violation happened.
fn write_replay_listing(saved: &Saved, outcome: &explore::Outcome, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "replaying {} ({} decision(s), {} preemption(s)); threads: {}",
        saved.schedule.scenario,
        saved.schedule.decisions.len(),
        saved.schedule.preemptions(),
        outcome.threads.iter().enumerate().map(|(i, n)| format!("T{i} {n}")).collect::<Vec<_>>().join(", ")
    )?;
    let marker = outcome.violation.as_ref().and_then(|v| v.at_step);
    write!(out, "{}", explore::format_trace(outcome, marker))?;
    match &outcome.violation {
        Some(v) if v.kind.signature() == saved.violation => {
            writeln!(out, "\nreproduced: {}\n{}", v.kind.signature(), v.kind)
        }
        Some(v) => {
            writeln!(out, "\nNOT reproduced: expected {}, got {}\n{}", saved.violation, v.kind.signature(), v.kind)
        }
        None => writeln!(out, "\nNOT reproduced: expected {}, the run was clean", saved.violation),
    }
}
