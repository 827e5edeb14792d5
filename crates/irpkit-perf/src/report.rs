//! Runs every measurement and writes the report (markdown) and the growth chart (SVG).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::experiments as ex;
use crate::explorer::{self, ExplorerPlan, ExplorerResults, VsShuttle};
use crate::markdown::{duration_ns, duration_ns_short, per_request, ratio_number, time_ratio, Table};
use crate::peers;
use crate::runner::{alternate, interleave, Contender, Settings};
use crate::stats::{median, paired_ratio, Percentiles};
use crate::svg::{power_of_ten, LogLogChart, Series};
use crate::workloads::{csq, request, startio};

/// The command that regenerates the committed report.
pub const COMMAND: &str = "cargo perf";

/// The memory target per queued IRP with one stack location.
pub const MEMORY_TARGET: f64 = 256.0;

/// The explorer's target: schedules per second on the cancel race at least shuttle's
/// (time per schedule irpkit / shuttle at most this).
pub const EXPLORER_VS_SHUTTLE_TARGET: f64 = 1.0;

/// The explorer's target real time per scheduling point, ns.
pub const EXPLORER_STEP_TARGET_NS: f64 = 500.0;

/// The explorer's target speed-up of two workers over one (on two cores or more).
pub const EXPLORER_JOBS_TARGET: f64 = 1.8;

/// How much to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Quick mode (CI: every code path, few iterations).
    pub quick: bool,
    /// Rounds and batch length of the per-iteration timings.
    pub timing: Settings,
    /// Queue sizes of the by-key curve.
    pub by_key_sizes: Vec<usize>,
    /// Requests queued for the memory figures.
    pub memory_n: usize,
    /// Requests counted for the allocation figures (after as many warm-up requests).
    pub alloc_n: u64,
    /// Samples per contender of each cancel-latency distribution (same thread).
    pub latency_same_thread: usize,
    /// Samples per contender of the cross-thread cancel latencies.
    pub latency_cross_thread: usize,
    /// Outstanding reads of the headline thread-exit figure.
    pub exit_n: usize,
    /// Rounds of the headline thread-exit figure.
    pub exit_rounds: usize,
    /// Smaller counts measured for the thread-exit growth (with more rounds).
    pub exit_curve: Vec<usize>,
    /// The explorer's figures.
    pub explorer: ExplorerPlan,
}

impl Plan {
    /// The full report (committed as docs/PERFORMANCE.md).
    pub fn full() -> Self {
        Plan {
            quick: false,
            timing: Settings { rounds: 51, batch: Duration::from_millis(5) },
            by_key_sizes: startio::SIZES.to_vec(),
            memory_n: 1 << 14,
            alloc_n: 10_000,
            latency_same_thread: 20_000,
            latency_cross_thread: 5_000,
            exit_n: 100_000,
            exit_rounds: 5,
            exit_curve: vec![1_000, 10_000],
            explorer: ExplorerPlan {
                race_schedules: 5_000,
                race_rounds: 15,
                step_seeds: 500,
                step_rounds: 11,
                jobs_scenario: "queue-correct",
                jobs_min_run: Duration::from_millis(500),
                jobs_rounds: 9,
            },
        }
    }

    /// Quick mode: every measurement once, small, so the command cannot rot unnoticed.
    pub fn quick() -> Self {
        Plan {
            quick: true,
            timing: Settings { rounds: 3, batch: Duration::from_micros(300) },
            by_key_sizes: vec![1_000, 10_000],
            memory_n: 1 << 10,
            alloc_n: 1_000,
            latency_same_thread: 200,
            latency_cross_thread: 50,
            exit_n: 1_000,
            exit_rounds: 1,
            exit_curve: vec![100],
            explorer: ExplorerPlan {
                race_schedules: 20,
                race_rounds: 2,
                step_seeds: 3,
                step_rounds: 1,
                jobs_scenario: "queue-correct",
                jobs_min_run: Duration::from_millis(20),
                jobs_rounds: 2,
            },
        }
    }
}

/// A per-iteration timing of irpkit against one peer.
#[derive(Debug, Clone)]
pub struct TimeRow {
    /// What one iteration does.
    pub workload: String,
    /// irpkit's contender.
    pub irpkit: String,
    /// The peer's contender.
    pub peer: String,
    /// irpkit's median, ns per iteration.
    pub irpkit_ns: f64,
    /// The peer's median, ns per iteration.
    pub peer_ns: f64,
    /// Median of the per-round ratios irpkit / peer.
    pub ratio: f64,
}

struct Group {
    labels: Vec<String>,
    samples: Vec<Vec<f64>>,
}

impl Group {
    fn run(contenders: &mut [Contender<'_>], settings: &Settings) -> Self {
        let labels = contenders.iter().map(|c| c.label.clone()).collect();
        let samples = interleave(contenders, settings);
        Group { labels, samples }
    }

    fn row(&self, workload: &str, a: usize, b: usize) -> TimeRow {
        TimeRow {
            workload: workload.to_string(),
            irpkit: self.labels[a].clone(),
            peer: self.labels[b].clone(),
            irpkit_ns: median(&self.samples[a]).unwrap_or(f64::NAN),
            peer_ns: median(&self.samples[b]).unwrap_or(f64::NAN),
            ratio: paired_ratio(&self.samples[a], &self.samples[b]).unwrap_or(f64::NAN),
        }
    }
}

/// Runs `step` `n` times with `kernel` entered.
fn entered(kernel: &irpkit::Kernel, n: u64, mut step: impl FnMut()) {
    let _e = kernel.enter();
    for _ in 0..n {
        step();
    }
}

fn progress(what: &str) {
    eprintln!("irpkit-perf: {what}");
}

/// Everything the report shows.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// Per-iteration timings, by section.
    pub time_rows: Vec<(String, Vec<TimeRow>)>,
    /// By-key curve: (n, irpkit ns, sorted list ns, ratio).
    pub by_key: Vec<(usize, f64, f64, f64)>,
    /// Bytes per queued request: (what, bytes, is irpkit).
    pub memory: Vec<(String, f64, bool)>,
    /// Allocations per request: (workload, irpkit contender, irpkit, peer contender, peer).
    pub allocations: Vec<(String, String, f64, String, f64)>,
    /// Cancel latency, same thread.
    pub latency_same: ex::Latencies,
    /// Cancel latency, across threads.
    pub latency_cross: ex::Latencies,
    /// Thread exit: (n, [irpkit, tokio, crossbeam, floor] samples in ns).
    pub exit: Vec<(usize, Vec<Vec<f64>>)>,
    /// The explorer's figures (measured first: the shuttle binary is built then).
    pub explorer: Option<ExplorerResults>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

/// Runs every measurement of `plan`.
pub fn run(plan: &Plan) -> Results {
    let started = Instant::now();
    let mut r = Results { explorer: Some(explorer::measure(&plan.explorer, progress)), ..Results::default() };
    measure_request_path(plan, &mut r);
    measure_queues_per_request(plan, &mut r);
    measure_cancel_storms(plan, &mut r);
    measure_by_key(plan, &mut r);
    progress("memory per queued request");
    r.memory = memory_figures(plan.memory_n);
    progress("cancel latency");
    r.latency_same = ex::cancel_latency_same_thread(plan.latency_same_thread);
    r.latency_cross = ex::cancel_latency_cross_thread(plan.latency_cross_thread);
    measure_thread_exit(plan, &mut r);
    r.elapsed = started.elapsed();
    r
}

/// The request path (NT layer, filter, safe API, requester) against tokio and crossbeam:
/// time per request, then allocations per request.
fn measure_request_path(plan: &Plan, r: &mut Results) {
    let t = &plan.timing;
    progress("request path");
    let (rows, allocs) = ex::with_requester_reads(|requester| {
        let (mut nt, mut filter, mut safe) =
            (request::OneDevice::new(), request::FilterOverDevice::new(), request::SafeApi::new());
        let (knt, kfilter, ksafe) = (nt.kernel().clone(), filter.kernel().clone(), safe.kernel().clone());
        let mut cs = vec![
            Contender::new("irpkit NT layer", |n| entered(&knt, n, || nt.step())),
            Contender::new("irpkit NT layer, filter + device", |n| entered(&kfilter, n, || filter.step())),
            Contender::new("irpkit safe API", |n| entered(&ksafe, n, || safe.step())),
            Contender::new("irpkit requester (irpkit::io)", requester),
            Contender::new("tokio CancellationToken + oneshot", |n| {
                (0..n).for_each(|_| request::tokio_token_oneshot_step())
            }),
            Contender::new("crossbeam bounded(1) + cancel flag", |n| {
                (0..n).for_each(|_| peers::crossbeam_request_step())
            }),
        ];
        let g = Group::run(&mut cs, t);
        let rows = vec![
            g.row("request: IoAllocateIrp → IoCallDriver → IoCompleteRequest → status block", 0, 4),
            g.row("request: IoAllocateIrp → IoCallDriver → IoCompleteRequest → status block", 0, 5),
            g.row("request through a filter with a completion routine (2 stack locations)", 1, 4),
            g.row("request: `Request::read` → `send` → `wait`", 2, 4),
            g.row("request: `Request::read` → `send` → `wait`", 2, 5),
            g.row("overlapped `ReadFile` completed at once (handle, thread list, OVERLAPPED)", 3, 4),
        ];
        let mut allocs = Vec::new();
        let warm = plan.alloc_n;
        let count = |c: &mut Contender<'_>| ex::allocations_per_iteration(c, warm, plan.alloc_n);
        let (tok, cb) = (count(&mut cs[4]), count(&mut cs[5]));
        for (i, what) in [
            (0, "request, NT layer (allocate → call → complete → deliver → free)"),
            (1, "request through a filter (2 stack locations)"),
            (2, "request, safe API"),
            (3, "overlapped `ReadFile` completed at once (irpkit::io)"),
        ] {
            let a = count(&mut cs[i]);
            allocs.push((what.to_string(), cs[i].label.clone(), a, cs[4].label.clone(), tok));
            if i == 0 || i == 2 {
                allocs.push((what.to_string(), cs[i].label.clone(), a, cs[5].label.clone(), cb));
            }
        }
        (rows, allocs)
    });
    r.time_rows.push(("Request path".to_string(), rows));
    r.allocations.extend(allocs);
}

/// StartIo and the cancel-safe queues one request at a time, against the floor and
/// crossbeam: time, then allocations.
fn measure_queues_per_request(plan: &Plan, r: &mut Results) {
    let t = &plan.timing;
    progress("StartIo and cancel-safe queues, per request");
    let mut sio = startio::StartPacketRoundTrip::new();
    let mut irpq = csq::CsqIrpPerRequest::new();
    let mut typed = csq::TypedPerRequest::new();
    let mut floor = csq::FloorPerRequest::new();
    let mut xb = peers::CrossbeamPerRequest::new();
    let (ksio, kirpq) = (sio.kernel().clone(), irpq.kernel().clone());
    let mut cs = vec![
        Contender::new("irpkit IoStartPacket → StartIo → IoStartNextPacket", |n| entered(&ksio, n, || sio.step())),
        Contender::new("irpkit IRP cancel-safe queue (IoCsq)", |n| entered(&kirpq, n, || irpq.step())),
        Contender::new("irpkit typed `CancelQueue<Item>`", |n| (0..n).for_each(|_| typed.step())),
        Contender::new("floor `Mutex<VecDeque<Box<Item>>>`", |n| (0..n).for_each(|_| floor.step())),
        Contender::new("crossbeam unbounded `Box<Item>`", |n| (0..n).for_each(|_| xb.step())),
    ];
    let g = Group::run(&mut cs, t);
    r.time_rows.push((
        "StartIo and cancel-safe queues, one request at a time".to_string(),
        vec![
            g.row("IRP: allocate → IoCallDriver → IoStartPacket → StartIo → complete → IoStartNextPacket", 0, 3),
            g.row("IRP: allocate → IoCallDriver → IoCsqInsertIrp → IoCsqRemoveNextIrp → complete → free", 1, 3),
            g.row("IRP: allocate → IoCallDriver → IoCsqInsertIrp → IoCsqRemoveNextIrp → complete → free", 1, 4),
            g.row("typed entry: push → pop → ticket outcome", 2, 3),
            g.row("typed entry: push → pop → ticket outcome", 2, 4),
        ],
    ));
    let n = plan.alloc_n;
    let floor_a = ex::allocations_per_iteration(&mut cs[3], n, n);
    let xb_a = ex::allocations_per_iteration(&mut cs[4], n, n);
    for (i, what) in [(0, "StartIo round trip"), (1, "IRP cancel-safe queue, per request"), (2, "typed queue entry")] {
        let a = ex::allocations_per_iteration(&mut cs[i], n, n);
        r.allocations.push((what.to_string(), cs[i].label.clone(), a, cs[3].label.clone(), floor_a));
        if i > 0 {
            r.allocations.push((what.to_string(), cs[i].label.clone(), a, cs[4].label.clone(), xb_a));
        }
    }
}

/// The cancel storms: irpkit's IRP and typed queues against tokio and crossbeam.
fn measure_cancel_storms(plan: &Plan, r: &mut Results) {
    let t = &plan.timing;
    progress("cancel storms");
    let mut irps = csq::CsqIrpStorm::new();
    let mut typed = csq::TypedStorm::new();
    let kirps = irps.kernel().clone();
    let mut cs = vec![
        Contender::new("irpkit IRP cancel-safe queue", |n| entered(&kirps, n, || irps.step())),
        Contender::new("irpkit typed `CancelQueue<Item>`", |n| (0..n).for_each(|_| typed.step())),
        Contender::new("tokio mpsc + CancellationToken + oneshot", |n| (0..n).for_each(|_| csq::tokio_storm())),
        Contender::new("crossbeam unbounded + flag + bounded(1)", |n| (0..n).for_each(|_| peers::crossbeam_storm())),
    ];
    let g = Group::run(&mut cs, t);
    let w = format!("cancel storm: {} requests, a server thread, a thread cancelling every second one", csq::STORM);
    r.time_rows.push((
        "Cancel storm (two threads besides the requester)".to_string(),
        vec![g.row(&w, 0, 2), g.row(&w, 0, 3), g.row(&w, 1, 2), g.row(&w, 1, 3)],
    ));
}

/// Keyed insert + remove on the device queue at each size, against a sorted linked list.
fn measure_by_key(plan: &Plan, r: &mut Results) {
    let t = &plan.timing;
    progress("device queue by key");
    for &n in &plan.by_key_sizes {
        let mut dq = startio::DeviceQueueByKey::new(n);
        let mut list = startio::SortedListByKey::new(n);
        let kdq = dq.kernel().clone();
        let mut cs = vec![
            Contender::new("irpkit KDEVICE_QUEUE + key index", |m| entered(&kdq, m, || dq.step())),
            Contender::new("sorted linked list", |m| (0..m).for_each(|_| list.step())),
        ];
        let g = Group::run(&mut cs, t);
        let row = g.row("", 0, 1);
        r.by_key.push((n, row.irpkit_ns, row.peer_ns, row.ratio));
    }
}

/// Bytes per queued request with `m` queued, irpkit's figures first, then the peers'.
fn memory_figures(m: usize) -> Vec<(String, f64, bool)> {
    vec![
        ("irpkit NT layer: IRP (1 stack location) pending in an IoCsq queue".to_string(), ex::memory_nt_csq(m), true),
        (
            "irpkit safe API: `Request::read(..).send()` pending in a `CancelSafeIrpQueue`".to_string(),
            ex::memory_safe_csq(m),
            true,
        ),
        (
            "irpkit requester: overlapped `ReadFile` pending (IRP + its OVERLAPPED + thread list)".to_string(),
            ex::memory_requester_reads(m),
            true,
        ),
        ("irpkit typed `CancelQueue<Item>` entry (32-byte item)".to_string(), ex::memory_typed(m), true),
        ("irpkit KDEVICE_QUEUE key index, per keyed entry (distinct keys)".to_string(), ex::memory_key_index(m), true),
        ("tokio: mpsc entry + oneshot + CancellationToken".to_string(), ex::memory_tokio(m), false),
        (
            "crossbeam: unbounded entry + bounded(1) reply + `Arc<AtomicBool>` flag".to_string(),
            ex::memory_crossbeam(m),
            false,
        ),
        (
            "floor: `Mutex<VecDeque<Box<Item>>>` (32-byte item, no reply, no cancel)".to_string(),
            ex::memory_floor(m),
            false,
        ),
    ]
}

/// Thread exit with outstanding reads: the growth curve's counts, then the headline count.
fn measure_thread_exit(plan: &Plan, r: &mut Results) {
    progress("thread exit");
    let exit_trial = |n: usize, i: usize| -> f64 {
        let d = match i {
            0 => ex::thread_exit_irpkit(n),
            1 => ex::thread_exit_tokio(n),
            2 => ex::thread_exit_crossbeam(n),
            _ => ex::thread_exit_floor(n),
        };
        d.as_nanos() as f64
    };
    for &n in &plan.exit_curve {
        r.exit.push((n, alternate(4, plan.exit_rounds.max(5), |i| exit_trial(n, i))));
    }
    r.exit.push((plan.exit_n, alternate(4, plan.exit_rounds, |i| exit_trial(plan.exit_n, i))));
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// `n` as a power of ten if it is one (`10⁵`), else with thin-space thousands.
pub fn count_label(n: usize) -> String {
    let mut p = 1usize;
    for e in 0..19 {
        if p == n {
            return power_of_ten(e);
        }
        p = p.saturating_mul(10);
    }
    thousands(n)
}

/// The by-key growth chart.
pub fn growth_chart(by_key: &[(usize, f64, f64, f64)]) -> LogLogChart {
    LogLogChart {
        title: "Keyed insert + remove on a device queue, by queued entries".to_string(),
        x_label: "entries queued (log)".to_string(),
        y_label: "time per insert + remove (log)".to_string(),
        x_tick: |x| count_label(x.round() as usize),
        y_tick: duration_ns_short,
        series: vec![
            Series {
                label: "irpkit KDEVICE_QUEUE with its key index".to_string(),
                color: "#1f77b4".to_string(),
                points: by_key.iter().map(|&(n, a, _, _)| (n as f64, a)).collect(),
            },
            Series {
                label: "plain sorted linked list".to_string(),
                color: "#d62728".to_string(),
                points: by_key.iter().map(|&(n, _, b, _)| (n as f64, b)).collect(),
            },
        ],
    }
}

/// Machine and build facts for the header.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Logical cores.
    pub cores: usize,
    /// Processor model, if known.
    pub cpu: Option<String>,
    /// `rustc -V`, if available.
    pub rustc: Option<String>,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Build profile.
    pub profile: &'static str,
}

impl Environment {
    /// This machine, now.
    pub fn detect() -> Self {
        Environment {
            cores: crate::sysinfo::cores(),
            cpu: crate::sysinfo::cpu_model(),
            rustc: crate::sysinfo::rustc_version(),
            date: crate::sysinfo::today(),
            profile: crate::sysinfo::profile(),
        }
    }
}

fn ratio_plain(r: f64) -> String {
    if r.is_finite() {
        format!("{}×", ratio_number(r))
    } else {
        "n/a".to_string()
    }
}

fn fewer_or_more(irpkit: f64, peer: f64) -> String {
    if peer > 0.0 {
        format!("{:.2}×", irpkit / peer)
    } else if irpkit == 0.0 {
        "1.00× (both none)".to_string()
    } else {
        "n/a (peer makes none)".to_string()
    }
}

/// The timing rows repeated in the headline: the NT request path, the safe API and the
/// cancel storms, each against tokio.
fn headline_row(row: &TimeRow) -> bool {
    row.peer.starts_with("tokio")
        && (row.irpkit == "irpkit NT layer"
            || row.irpkit == "irpkit safe API"
            || row.workload.starts_with("cancel storm"))
}

/// The report as markdown; `svg_name` is the chart's file name beside it.
pub fn render(plan: &Plan, env: &Environment, r: &Results, svg_name: &str) -> String {
    let mut s = String::new();
    header(&mut s, plan, env, r, svg_name);
    headline(&mut s, env, r);
    time_section(&mut s, r);
    by_key_section(&mut s, r, svg_name);
    memory_section(&mut s, plan, r);
    allocations_section(&mut s, plan, r);
    latency_section(&mut s, r);
    thread_exit_section(&mut s, r);
    if let Some(e) = &r.explorer {
        explorer_section(&mut s, &plan.explorer, e, env.cores);
    }
    how_section(&mut s);
    s
}

/// The title, the machine and run facts, and how to read the ratios.
fn header(s: &mut String, plan: &Plan, env: &Environment, r: &Results, svg_name: &str) {
    let _ = writeln!(s, "# irpkit performance\n");
    let _ =
        writeln!(s, "<!-- Generated by `{COMMAND}`: do not edit by hand; run the command again to regenerate. -->\n");
    let _ = writeln!(
        s,
        "Generated by `{COMMAND}` (writes this file and [`{svg_name}`]({svg_name})); do not edit by hand.{}",
        if plan.quick {
            " **Quick mode: a smoke run of every measurement; the figures are not meant to be read.**"
        } else {
            ""
        }
    );
    let _ = writeln!(s);
    s.push_str(&facts(plan, env, r).render());
    let _ = writeln!(
        s,
        "\nEvery figure is irpkit against a peer measured in the same run, on the same thread, in \
         alternation: each round runs every contender of a group once, the first one rotating \
         (A B, B A, …), and the ratio is the median of the per-round ratios irpkit / peer — so a \
         noisy, shared machine slows both sides of a ratio alike. Times are medians. A ratio below \
         1 means irpkit takes less time (or memory, or allocations) than the peer. (The \
         explorer's peer, shuttle, runs in a child process, in the same alternation.)\n"
    );
}

/// The table of machine and run facts under the title.
fn facts(plan: &Plan, env: &Environment, r: &Results) -> Table {
    let mut facts = Table::new(["", ""]);
    facts.row(["date (UTC)".to_string(), env.date.clone()]);
    facts.row(["logical cores".to_string(), env.cores.to_string()]);
    if let Some(cpu) = &env.cpu {
        facts.row(["processor".to_string(), cpu.clone()]);
    }
    facts.row(["rustc".to_string(), env.rustc.clone().unwrap_or_else(|| "unknown (`rustc -V` failed)".to_string())]);
    facts.row(["build".to_string(), env.profile.to_string()]);
    facts.row([
        "timing".to_string(),
        format!(
            "{} alternating rounds per group, each sample at least {} long",
            plan.timing.rounds,
            duration_ns(plan.timing.batch.as_nanos() as f64)
        ),
    ]);
    facts.row(["whole run".to_string(), format!("{:.0} s", r.elapsed.as_secs_f64())]);
    facts
}

/// Bytes per queued request of tokio's peer (the memory figures' denominator).
fn tokio_memory(r: &Results) -> f64 {
    r.memory.iter().find(|m| m.0.starts_with("tokio")).map_or(f64::NAN, |m| m.1)
}

/// The headline: one row per question, each with its target and whether it is met.
fn headline(s: &mut String, env: &Environment, r: &Results) {
    let _ = writeln!(s, "## Headline\n");
    let mut h = Table::new(["question", "target", "irpkit", "peer", "ratio irpkit / peer", "met"]);
    headline_memory(&mut h, r);
    headline_latencies(&mut h, r);
    headline_growth(&mut h, r);
    for (_, rows) in &r.time_rows {
        for row in rows.iter().filter(|row| headline_row(row)) {
            h.row([
                row.workload.clone(),
                "—".to_string(),
                format!("{}: {}", row.irpkit, duration_ns(row.irpkit_ns)),
                format!("{}: {}", row.peer, duration_ns(row.peer_ns)),
                time_ratio(row.ratio),
                "—".to_string(),
            ]);
        }
    }
    if let Some(e) = &r.explorer {
        explorer_headline(&mut h, e, env.cores);
    }
    s.push_str(&h.render());
    s.push('\n');
}

/// The headline's memory and allocation rows (NT layer, then safe API).
fn headline_memory(h: &mut Table, r: &Results) {
    let mem_nt = r.memory.first().map_or(f64::NAN, |m| m.1);
    let mem_tokio = tokio_memory(r);
    h.row([
        "memory per queued IRP, 1 stack location".to_string(),
        format!("≤ {MEMORY_TARGET:.0} bytes"),
        format!("{mem_nt:.0} bytes"),
        format!("tokio mpsc entry + oneshot + token: {mem_tokio:.0} bytes"),
        ratio_plain(mem_nt / mem_tokio),
        if mem_nt <= MEMORY_TARGET { "yes" } else { "**no**" }.to_string(),
    ]);
    if let Some(a) = r.allocations.first() {
        headline_allocations(h, "heap allocations per request, steady state (NT layer)", a);
    }
    if let Some(a) = r.allocations.iter().find(|a| a.0.starts_with("request, safe API")) {
        headline_allocations(h, "heap allocations per request, steady state (safe API)", a);
    }
}

/// A headline row of allocations per request against the target of none.
fn headline_allocations(h: &mut Table, question: &str, a: &(String, String, f64, String, f64)) {
    h.row([
        question.to_string(),
        "0".to_string(),
        per_request(a.2),
        format!("{}: {}", a.3, per_request(a.4)),
        fewer_or_more(a.2, a.4),
        if a.2 == 0.0 { "yes" } else { "**no**" }.to_string(),
    ]);
}

/// The headline's cancel-latency rows: p50 on the requester's thread, p99 across threads.
fn headline_latencies(h: &mut Table, r: &Results) {
    headline_latency(h, "cancel latency p50, on the requester's thread", &r.latency_same, |p| p.p50);
    headline_latency(h, "cancel latency p99, requester blocked on another thread", &r.latency_cross, |p| p.p99);
}

/// A headline row of one percentile (`pick`) of a latency distribution, irpkit against
/// tokio; none when a side has no samples.
fn headline_latency(h: &mut Table, question: &str, l: &ex::Latencies, pick: fn(&Percentiles) -> f64) {
    if let (Some(a), Some(b)) = (Percentiles::of(&l.irpkit), Percentiles::of(&l.tokio)) {
        h.row([
            question.to_string(),
            "—".to_string(),
            duration_ns(pick(&a)),
            format!("tokio: {}", duration_ns(pick(&b))),
            ratio_plain(pick(&a) / pick(&b)),
            "—".to_string(),
        ]);
    }
}

/// The headline's rows at the largest sizes: thread exit and the keyed device queue.
fn headline_growth(h: &mut Table, r: &Results) {
    if let Some((n, samples)) = r.exit.last() {
        let ratio = paired_ratio(&samples[0], &samples[1]).unwrap_or(f64::NAN);
        h.row([
            format!("thread exit with {} reads outstanding", count_label(*n)),
            "—".to_string(),
            duration_ns(median(&samples[0]).unwrap_or(f64::NAN)),
            format!("tokio, {} tasks: {}", count_label(*n), duration_ns(median(&samples[1]).unwrap_or(f64::NAN))),
            ratio_plain(ratio),
            "—".to_string(),
        ]);
    }
    if let Some(&(n, a, b, ratio)) = r.by_key.last() {
        h.row([
            format!("keyed insert + remove at {} queued entries", count_label(n)),
            "—".to_string(),
            format!("KDEVICE_QUEUE + key index: {}", duration_ns(a)),
            format!("sorted linked list: {}", duration_ns(b)),
            time_ratio(ratio),
            "—".to_string(),
        ]);
    }
}

/// Time per iteration, one table per section of timing rows.
fn time_section(s: &mut String, r: &Results) {
    let _ = writeln!(s, "## Time per iteration, against the peer\n");
    for (section, rows) in &r.time_rows {
        let _ = writeln!(s, "### {section}\n");
        let mut t = Table::new(["workload", "irpkit", "peer", "irpkit time", "peer time", "irpkit / peer"]);
        for row in rows {
            t.row([
                row.workload.clone(),
                row.irpkit.clone(),
                row.peer.clone(),
                duration_ns(row.irpkit_ns),
                duration_ns(row.peer_ns),
                time_ratio(row.ratio),
            ]);
        }
        s.push_str(&t.render());
        s.push('\n');
    }
}

/// The device queue's growth curve: the chart and its table.
fn by_key_section(s: &mut String, r: &Results, svg_name: &str) {
    let _ = writeln!(s, "## Device queue by key: the growth curve\n");
    let _ = writeln!(
        s,
        "One KeInsertByKeyDeviceQueue + one KeRemoveByKeyDeviceQueue with n entries queued \
         (random keys): irpkit's KDEVICE_QUEUE (the documented sorted list plus a key index) \
         against a plain sorted linked list walked from the head, the structure Windows \
         documents.\n"
    );
    let _ = writeln!(s, "![keyed insert + remove, log-log]({svg_name})\n");
    let mut t =
        Table::new(["entries queued", "irpkit KDEVICE_QUEUE + key index", "sorted linked list", "irpkit / list"]);
    for &(n, a, b, ratio) in &r.by_key {
        t.row([count_label(n), duration_ns(a), duration_ns(b), time_ratio(ratio)]);
    }
    s.push_str(&t.render());
    s.push('\n');
}

/// Heap bytes per queued request, against the target and against tokio.
fn memory_section(s: &mut String, plan: &Plan, r: &Results) {
    let _ = writeln!(s, "## Memory per queued request\n");
    let _ = writeln!(
        s,
        "Heap bytes still allocated per request while {} requests are queued (a counting global \
         allocator: live bytes after queuing minus before, divided by the count; the requester's \
         own array of handles is preallocated and not counted; the allocator's own per-block \
         overhead is not included). The IRP figure is the pool block — irpkit's header, the IRP \
         with the WDK x64 layout ({} bytes for the IRP and one stack location: `IoSizeOfIrp(1)`) — \
         plus the pool's bookkeeping entry. Target: ≤ {MEMORY_TARGET:.0} bytes per IRP.\n",
        count_label(plan.memory_n),
        irpkit::nt::io_size_of_irp(1)
    );
    let mem_tokio = tokio_memory(r);
    let mut t = Table::new(["queued request", "bytes", "vs target", "/ tokio peer"]);
    for (what, bytes, is_irpkit) in &r.memory {
        t.row([
            what.clone(),
            format!("{bytes:.0}"),
            if *is_irpkit { format!("{:.2}×", bytes / MEMORY_TARGET) } else { "—".to_string() },
            ratio_plain(bytes / mem_tokio),
        ]);
    }
    s.push_str(&t.render());
    s.push('\n');
}

/// Heap allocations per request in steady state, irpkit against each peer.
fn allocations_section(s: &mut String, plan: &Plan, r: &Results) {
    let _ = writeln!(s, "## Heap allocations per request, steady state\n");
    let _ = writeln!(
        s,
        "Allocation calls counted by the counting global allocator over {} requests after {} \
         warm-up requests, divided by the count. Target for irpkit's request path: 0.\n",
        plan.alloc_n, plan.alloc_n
    );
    let mut t = Table::new(["workload", "irpkit", "allocations", "peer", "allocations", "irpkit / peer"]);
    for (what, a_label, a, b_label, b) in &r.allocations {
        t.row([
            what.clone(),
            a_label.clone(),
            per_request(*a),
            b_label.clone(),
            per_request(*b),
            fewer_or_more(*a, *b),
        ]);
    }
    s.push_str(&t.render());
    s.push('\n');
}

/// Cancel latency: on the requester's thread, then with the requester blocked on
/// another thread.
fn latency_section(s: &mut String, r: &Results) {
    let _ = writeln!(s, "## Cancel latency\n");
    let _ = writeln!(
        s,
        "A request pending in a cancel-safe queue is cancelled; the time runs from the cancel \
         call until the requester holds the final, cancelled status. Samples alternate between \
         irpkit and tokio.\n"
    );
    let _ = writeln!(
        s,
        "**On the requester's thread** (irpkit: `SentRequest::cancel` — IoCancelIrp, the queue's \
         cancel routine, IoCompleteRequest, the creator's completion — then `try_result`; tokio: \
         `cancel()`, then one poll of the requester's future, which awaits its `oneshot` or its \
         token):\n"
    );
    latency_table(s, &r.latency_same);
    let _ = writeln!(
        s,
        "**Requester blocked on another thread** (irpkit: the requester waits in \
         `SentRequest::wait`, a KEVENT; tokio: the requester blocks in a current-thread runtime on \
         the same future; the canceller waits 100 µs, so that the requester sleeps, then calls \
         IoCancelIrp / `cancel()`; the requester stamps the time when it wakes with the result):\n"
    );
    latency_table(s, &r.latency_cross);
}

/// One latency distribution's percentiles, irpkit's and tokio's, and their ratios (the
/// header alone when a side has no samples).
fn latency_table(s: &mut String, l: &ex::Latencies) {
    let mut t = Table::new(["", "p50", "p90", "p99", "max", "samples"]);
    let (a, b) = (Percentiles::of(&l.irpkit), Percentiles::of(&l.tokio));
    if let (Some(a), Some(b)) = (a, b) {
        t.row([
            "irpkit: IoCancelIrp → requester has STATUS_CANCELLED".to_string(),
            duration_ns(a.p50),
            duration_ns(a.p90),
            duration_ns(a.p99),
            duration_ns(a.max),
            l.irpkit.len().to_string(),
        ]);
        t.row([
            "tokio: CancellationToken::cancel() → requester has the cancelled result".to_string(),
            duration_ns(b.p50),
            duration_ns(b.p90),
            duration_ns(b.p99),
            duration_ns(b.max),
            l.tokio.len().to_string(),
        ]);
        t.row([
            "irpkit / tokio".to_string(),
            ratio_plain(a.p50 / b.p50),
            ratio_plain(a.p90 / b.p90),
            ratio_plain(a.p99 / b.p99),
            ratio_plain(a.max / b.max),
            String::new(),
        ]);
    }
    s.push_str(&t.render());
    s.push('\n');
}

/// Thread exit with n reads outstanding, against tokio, crossbeam and the floor, and
/// irpkit's growth between the two largest counts.
fn thread_exit_section(s: &mut String, r: &Results) {
    let _ = writeln!(s, "## Thread exit with outstanding reads\n");
    let _ = writeln!(
        s,
        "irpkit: a requester thread (`irpkit::io::Process::attach_thread`) has n overlapped \
         reads pending in a driver's cancel-safe queue and exits; the time `exit()` takes until \
         every IRP is cancelled and every result delivered (each OVERLAPPED is then checked to \
         hold STATUS_CANCELLED). tokio: n tasks on a current-thread runtime, each awaiting its \
         reply or its cancellation token (children of one token); the time from cancelling the \
         parent until every task's cancelled result has been received. crossbeam: n queued \
         requests each with a `bounded(1)` reply channel; drain the queue replying cancelled, \
         the requester receives every reply. Floor: drain n boxed entries from a \
         `Mutex<VecDeque>`. Medians over alternating rounds.\n"
    );
    let mut t = Table::new([
        "reads outstanding",
        "rounds",
        "irpkit exit",
        "tokio",
        "crossbeam",
        "floor",
        "irpkit / tokio",
        "irpkit / crossbeam",
        "irpkit / floor",
    ]);
    for (n, samples) in &r.exit {
        let med = |i: usize| duration_ns(median(&samples[i]).unwrap_or(f64::NAN));
        let ratio = |i: usize| ratio_plain(paired_ratio(&samples[0], &samples[i]).unwrap_or(f64::NAN));
        t.row([
            count_label(*n),
            samples[0].len().to_string(),
            med(0),
            med(1),
            med(2),
            med(3),
            ratio(1),
            ratio(2),
            ratio(3),
        ]);
    }
    s.push_str(&t.render());
    s.push('\n');
    if r.exit.len() >= 2 {
        let (n0, s0) = &r.exit[r.exit.len() - 2];
        let (n1, s1) = &r.exit[r.exit.len() - 1];
        let (a, b) = (median(&s0[0]).unwrap_or(f64::NAN), median(&s1[0]).unwrap_or(f64::NAN));
        let growth = (b / a).ln() / ((*n1 as f64) / (*n0 as f64)).ln();
        let _ = writeln!(
            s,
            "From {} to {} reads irpkit's exit time grows as n^{growth:.2} (1 = linear, 2 = quadratic).\n",
            count_label(*n0),
            count_label(*n1)
        );
    }
}

/// How the figures are made: where the workloads and peers live, the allocator, quick mode.
fn how_section(s: &mut String) {
    let _ = writeln!(s, "## How the figures are made\n");
    let _ = writeln!(
        s,
        "- The workloads of the divan benchmarks (`crates/irpkit-perf/benches/request.rs`, \
         `startio.rs`, `csq.rs`) live in `crates/irpkit-perf/src/workloads/`; the benchmarks use \
         that module of the library, so `cargo bench -p irpkit-perf` and this report run the same \
         code.\n\
         - Peers that only this report runs (crossbeam-channel, the thread-exit and latency \
         experiments, the memory and allocation counts) are in `crates/irpkit-perf/src/`.\n\
         - The explorer's race is the library of `crates/irpkit-perf/shuttle-race` (package \
         `irpkit-perf-shuttle`), its irpkit side `explorer.rs`; shuttle's side is that \
         package's binary, which the report builds with \
         `RUSTFLAGS=\"--cfg shuttle\" cargo build --release --locked -p irpkit-perf-shuttle` \
         into `target/shuttle/` (or `$CARGO_TARGET_DIR/shuttle/`), the directory of the \
         shuttle tests; if that build fails the report says so in place of shuttle's figures.\n\
         - The counting global allocator counts only during the memory and allocation \
         measurements; during timings every allocation, irpkit's and the peers', pays the same \
         one relaxed load.\n\
         - `{COMMAND}` is an alias (`.cargo/config.toml`) for `cargo run --release -p irpkit-perf` \
         built with every function aligned to 64 bytes (`-C llvm-args=-align-all-functions=6`, \
         in `target/perf/`), irpkit and its peers alike: without it the ~30 ns workloads move by \
         a third when unrelated code shifts where a hot function starts (the typed queue entry \
         measured 28.5 ns or 38.7 ns from one placement to the next, at the same instruction \
         count). Plain `cargo run --release -p irpkit-perf` works too, with that caveat.\n\
         - Quick mode (`{COMMAND} --quick`; CI runs it unoptimised after the shuttle tests, \
         whose build directory the shuttle binary shares, so that the command cannot rot) does \
         every measurement with tiny sizes and writes to the system's temporary directory, \
         never to `docs/`.\n"
    );
}

// ----- the explorer -------------------------------------------------------------------

/// Schedules per second of a median time per schedule, with thousands separated.
fn per_second(ns: f64) -> String {
    if ns.is_finite() && ns > 0.0 {
        thousands((1e9 / ns).round() as usize)
    } else {
        "n/a".to_string()
    }
}

fn met(ok: bool) -> String {
    if ok { "yes" } else { "**no**" }.to_string()
}

/// The correct twin with the largest median time per scheduling point.
fn worst_twin(e: &ExplorerResults) -> Option<(&'static str, f64)> {
    e.steps.iter().filter(|r| r.kind == "correct twin").map(|r| (r.name, step_ns(r))).max_by(|a, b| a.1.total_cmp(&b.1))
}

/// A scenario's median time per scheduling point over its rounds.
fn step_ns(r: &explorer::StepRow) -> f64 {
    median(&r.runs.iter().map(|x| x.ns_per_step()).collect::<Vec<_>>()).unwrap_or(f64::NAN)
}

/// The worker speed-up, median of the per-round ratios time(1) / time(2).
fn jobs_speedup(j: &explorer::Jobs) -> f64 {
    paired_ratio(&j.one, &j.two).unwrap_or(f64::NAN)
}

/// The explorer's rows of the headline table.
fn explorer_headline(h: &mut Table, e: &ExplorerResults, cores: usize) {
    let v = &e.vs_shuttle;
    let irpkit_ns = median(&v.irpkit_ns).unwrap_or(f64::NAN);
    let irpkit = format!("`irpkit::explore`: {} schedules/s ({} each)", per_second(irpkit_ns), duration_ns(irpkit_ns));
    let (peer, ratio, ok) = match &v.shuttle_error {
        Some(why) => (format!("not measured: {why}"), "n/a".to_string(), "n/a".to_string()),
        None => {
            let shuttle_ns = median(&v.shuttle_ns).unwrap_or(f64::NAN);
            let ratio = paired_ratio(&v.irpkit_ns, &v.shuttle_ns).unwrap_or(f64::NAN);
            (
                format!(
                    "`shuttle::check_random`: {} schedules/s ({} each)",
                    per_second(shuttle_ns),
                    duration_ns(shuttle_ns)
                ),
                time_ratio(ratio),
                met(ratio <= EXPLORER_VS_SHUTTLE_TARGET),
            )
        }
    };
    h.row([
        "explorer: schedules per second on the cancel race, one worker".to_string(),
        format!("≥ {EXPLORER_VS_SHUTTLE_TARGET:.1}× shuttle's"),
        irpkit,
        peer,
        ratio,
        ok,
    ]);
    if let Some((name, ns)) = worst_twin(e) {
        h.row([
            "explorer: real time per scheduling point, catalog's correct twins (the slowest)".to_string(),
            format!("≤ {EXPLORER_STEP_TARGET_NS:.0} ns"),
            format!("{} (`{name}`)", duration_ns(ns)),
            "—".to_string(),
            "—".to_string(),
            met(ns <= EXPLORER_STEP_TARGET_NS),
        ]);
    }
    let j = &e.jobs;
    let speedup = jobs_speedup(j);
    h.row([
        format!("explorer: `--jobs 2` against `--jobs 1` (`{}`, {} seeds)", j.scenario, thousands(j.seeds as usize)),
        format!("≥ {EXPLORER_JOBS_TARGET:.1}× on 2 cores"),
        format!(
            "2 workers: {} ({}× speed-up)",
            duration_ns(median(&j.two).unwrap_or(f64::NAN) * 1e9),
            ratio_number(speedup)
        ),
        format!("1 worker: {}", duration_ns(median(&j.one).unwrap_or(f64::NAN) * 1e9)),
        time_ratio(paired_ratio(&j.two, &j.one).unwrap_or(f64::NAN)),
        if cores >= 2 { met(speedup >= EXPLORER_JOBS_TARGET) } else { format!("n/a ({cores} core)") },
    ]);
}

/// `n rounds`, or `1 round`.
fn rounds(n: usize) -> String {
    if n == 1 {
        "1 round".to_string()
    } else {
        format!("{n} rounds")
    }
}

/// The report's section on the explorer.
fn explorer_section(s: &mut String, plan: &ExplorerPlan, e: &ExplorerResults, cores: usize) {
    let _ = writeln!(s, "## The explorer\n");
    let _ = writeln!(
        s,
        "How fast `irpkit::explore` (the `irpkit explore` command) runs schedules. Every \
         exploration here uses the random strategy and no shrinking, and none finds a \
         violation (one would stop the report).\n"
    );
    vs_shuttle_section(s, &e.vs_shuttle);
    step_section(s, plan, e);
    jobs_section(s, plan, &e.jobs, cores);
}

/// The explorer against shuttle on the cancel race: what each side runs, then the table.
fn vs_shuttle_section(s: &mut String, v: &VsShuttle) {
    let _ = writeln!(s, "### Against shuttle, on one race\n");
    let _ = writeln!(
        s,
        "The race of `crates/irpkit/tests/shuttle_cancel.rs`, written once \
         (`crates/irpkit-perf/shuttle-race/src/lib.rs`) and run by both explorers: a driver's dispatch \
         pends a read cancelably (IoMarkIrpPending, IoSetCancelRoutine, re-check of \
         `Irp->Cancel`); two threads started with `Kernel::spawn` call IoCancelIrp on it \
         while the main thread, as the driver, clears the cancel routine and completes the \
         read if that won; both threads are joined, the read must have been completed \
         exactly once, and the IRP is freed.\n\n\
         - **irpkit**: `explore::explore` over seeds 0..{n}, `Strategy::Random`, one worker, \
         in this process, on the kernel each run gets (virtual clock, verifier in record \
         mode, a DPC thread). It schedules at kernel primitives only — the cancel spin lock, \
         IoSetCancelRoutine, IoCancelIrp, IoCompleteRequest, IoCallDriver, waits, thread \
         start, exit and join — and its threads are coroutines on the worker's OS thread.\n\
         - **shuttle**: `shuttle::check_random` with {n} iterations, each on a fresh kernel \
         (real clock, strict verifier), in the `irpkit-perf-shuttle` binary: irpkit built \
         with `--cfg shuttle`, so that every atomic, lock, condition variable and thread of \
         irpkit's code is shuttle's, and shuttle schedules at each of them (its threads are \
         coroutines too). The binary times the check alone; it is built once at the start \
         of the report ({build}) and run as a child process in each round.\n\n\
         Both sides run {n} schedules per sample, in {rounds}, alternating, after one \
         warm-up each; the ratio is the median of the per-round ratios of time per \
         schedule. Target: irpkit's schedules per second at least shuttle's (a ratio ≤ \
         {target:.2}).\n",
        n = thousands(v.schedules as usize),
        rounds = rounds(v.irpkit_ns.len()),
        build = duration_ns(v.build.as_nanos() as f64),
        target = EXPLORER_VS_SHUTTLE_TARGET,
    );
    s.push_str(&vs_shuttle_table(v).render());
    s.push('\n');
}

/// The table of the explorer against shuttle: time per schedule, schedules per second,
/// scheduling points and how often the driver's completion won.
fn vs_shuttle_table(v: &VsShuttle) -> Table {
    let irpkit_ns = median(&v.irpkit_ns).unwrap_or(f64::NAN);
    let mut t = Table::new(["", "irpkit::explore", "shuttle::check_random", "irpkit / shuttle"]);
    match &v.shuttle_error {
        Some(why) => {
            t.row([
                "time per schedule".to_string(),
                duration_ns(irpkit_ns),
                format!("not measured: {why}"),
                "n/a".to_string(),
            ]);
            t.row(["schedules per second".to_string(), per_second(irpkit_ns), "—".to_string(), "n/a".to_string()]);
        }
        None => {
            let shuttle_ns = median(&v.shuttle_ns).unwrap_or(f64::NAN);
            let ratio = paired_ratio(&v.irpkit_ns, &v.shuttle_ns).unwrap_or(f64::NAN);
            t.row([
                "time per schedule".to_string(),
                duration_ns(irpkit_ns),
                duration_ns(shuttle_ns),
                time_ratio(ratio),
            ]);
            t.row([
                "schedules per second".to_string(),
                per_second(irpkit_ns),
                per_second(shuttle_ns),
                format!("{}× shuttle's", ratio_number(1.0 / ratio)),
            ]);
        }
    }
    t.row([
        "scheduling points per schedule".to_string(),
        format!("{:.1}", v.irpkit_steps_per_schedule),
        "every atomic, lock and thread operation (not counted)".to_string(),
        "—".to_string(),
    ]);
    let share = |f: f64, measured: bool| if measured { format!("{:.1} %", f * 100.0) } else { "—".to_string() };
    t.row([
        "schedules in which the driver's completion won".to_string(),
        share(v.irpkit_driver_won, true),
        share(v.shuttle_driver_won, v.shuttle_error.is_none()),
        "—".to_string(),
    ]);
    t
}

/// The explorer's real time per scheduling point on the correct twins and the samples.
fn step_section(s: &mut String, plan: &ExplorerPlan, e: &ExplorerResults) {
    let _ = writeln!(s, "### Time per scheduling point\n");
    let _ = writeln!(
        s,
        "The catalog's correct twins (`irpkit_samples::buggy::correct()`, the buggy drivers \
         without their bug) and the safe-API sample workloads (`irpkit_samples::workloads`), \
         each explored over {seeds} seeds with one worker, in {rounds} that alternate \
         between the scenarios: the exploration's real time (worker start, every run's \
         kernel, threads and DPC thread, the checks at the end) divided by the scheduling \
         points it took. Medians over the rounds. Target: ≤ {target:.0} ns per point.\n",
        seeds = thousands(plan.step_seeds as usize),
        rounds = rounds(e.steps.first().map_or(0, |r| r.runs.len())),
        target = EXPLORER_STEP_TARGET_NS,
    );
    let mut t = Table::new([
        "scenario",
        "kind",
        "points per schedule",
        "time per schedule",
        "schedules per second",
        "time per point",
        "met",
    ]);
    for r in &e.steps {
        let per_schedule = median(&r.runs.iter().map(|x| x.ns_per_schedule()).collect::<Vec<_>>()).unwrap_or(f64::NAN);
        let steps = r.runs.iter().map(|x| x.steps).sum::<u64>() as f64
            / r.runs.iter().map(|x| x.schedules).sum::<u64>().max(1) as f64;
        let ns = step_ns(r);
        t.row([
            format!("`{}`", r.name),
            r.kind.to_string(),
            format!("{steps:.1}"),
            duration_ns(per_schedule),
            per_second(per_schedule),
            duration_ns(ns),
            met(ns <= EXPLORER_STEP_TARGET_NS),
        ]);
    }
    s.push_str(&t.render());
    s.push('\n');
}

/// Two workers against one: the speed-up of `--jobs 2`.
fn jobs_section(s: &mut String, plan: &ExplorerPlan, j: &explorer::Jobs, cores: usize) {
    let speedup = jobs_speedup(j);
    let _ = writeln!(s, "### Two workers against one\n");
    let _ = writeln!(
        s,
        "`{scenario}` explored over seeds 0..{seeds} (as many as make one worker take at least \
         {min}) with `Options {{ jobs: 2 }}` and with `jobs: 1`, in {rounds}, alternating; \
         the speed-up is the median of the per-round ratios time(1 worker) / time(2 workers). \
         This machine has {cores} logical cores. Target: ≥ {target:.1}× on 2 cores.\n",
        scenario = j.scenario,
        seeds = thousands(j.seeds as usize),
        min = duration_ns(plan.jobs_min_run.as_nanos() as f64),
        rounds = rounds(j.one.len()),
        target = EXPLORER_JOBS_TARGET,
    );
    let mut t = Table::new(["scenario", "seeds", "logical cores", "1 worker", "2 workers", "speed-up", "met"]);
    t.row([
        format!("`{}`", j.scenario),
        thousands(j.seeds as usize),
        cores.to_string(),
        duration_ns(median(&j.one).unwrap_or(f64::NAN) * 1e9),
        duration_ns(median(&j.two).unwrap_or(f64::NAN) * 1e9),
        format!("{}×", ratio_number(speedup)),
        if cores >= 2 { met(speedup >= EXPLORER_JOBS_TARGET) } else { format!("n/a ({cores} core)") },
    ]);
    s.push_str(&t.render());
    s.push('\n');
}
