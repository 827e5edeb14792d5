//! Timelines people can look at: a kernel's recorded events ([`irpkit::timeline`]) laid
//! out as tracks — one per IRP from allocation to delivery, one per thread, one for DPCs —
//! with flow arrows from a cancel request through IoCancelIrp and the cancel routine to
//! the completion and the delivery. Written as Chrome trace-event JSON (opens in
//! Perfetto, <https://ui.perfetto.dev>, or `chrome://tracing`) or as one self-contained
//! HTML page.
//!
//! Time: the kernel clock's. On the virtual clock many events share one instant, so
//! events are spread at least 1 µs apart in the order they happened; a gap longer than
//! that is kept (the five-minute wait shows as five minutes). The HTML page draws events
//! in order, one column each, and marks the gaps in clock time.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use irpkit::nt;

use crate::scenario::run::status_label;
use irpkit::timeline::{Event, EventKind};

/// Width given to a point event (IoMarkIrpPending, IoCompleteRequest, ...), in µs.
const POINT: f64 = 0.5;

/// A track group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// One track per IRP.
    Irps,
    /// One track per thread.
    Threads,
    /// The DPC track.
    Dpcs,
}

impl Group {
    fn pid(self) -> u64 {
        match self {
            Group::Irps => 1,
            Group::Threads => 2,
            Group::Dpcs => 3,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Group::Irps => "IRPs",
            Group::Threads => "Threads",
            Group::Dpcs => "DPCs",
        }
    }
}

/// What a slice is, for colour and category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// An IRP's life, allocation to its last event.
    Life,
    /// A dispatch routine (IoCallDriver).
    Dispatch,
    /// A cancel routine.
    CancelRoutine,
    /// A DPC routine.
    Dpc,
    /// A requester thread's exit (the I/O manager cancelling and waiting).
    ThreadExit,
    /// IoMarkIrpPending, IoSetCancelRoutine.
    Mark,
    /// A cancel request or IoCancelIrp.
    Cancel,
    /// IoCompleteRequest.
    Complete,
    /// The requester told (or the IRP freed).
    Deliver,
    /// Disassociated after the five minutes, or an event-log entry.
    Abandon,
    /// A verifier report: a rule broken here.
    Report,
    /// A driver's debug output (DbgPrint, KdPrint), on the thread that printed it.
    Debug,
}

impl Style {
    fn category(self) -> &'static str {
        match self {
            Style::Life => "irp",
            Style::Dispatch | Style::CancelRoutine | Style::Dpc | Style::ThreadExit => "routine",
            Style::Mark | Style::Cancel | Style::Complete | Style::Deliver | Style::Abandon => "event",
            Style::Report => "verifier",
            Style::Debug => "debug",
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Style::Life => "#d9e2ef",
            Style::Dispatch => "#6b8fc7",
            Style::CancelRoutine => "#d9822b",
            Style::Dpc => "#8e6bbf",
            Style::ThreadExit => "#9aa5b1",
            Style::Mark => "#5a9e6f",
            Style::Cancel => "#d64545",
            Style::Complete => "#2f6f4f",
            Style::Deliver => "#1f4e79",
            Style::Abandon => "#7a1f1f",
            Style::Report => "#ff00aa",
            Style::Debug => "#c9a227",
        }
    }
}

/// One slice of a track.
#[derive(Debug, Clone)]
pub struct Slice {
    /// What it shows.
    pub name: String,
    /// Start, µs on the spread clock.
    pub start: f64,
    /// Length, µs.
    pub dur: f64,
    /// Start and end in event order (the HTML page's axis).
    pub rank: (f64, f64),
    /// Its kind.
    pub style: Style,
    /// Details shown on selection.
    pub args: Vec<(&'static str, String)>,
}

impl Slice {
    fn end(&self) -> f64 {
        self.start + self.dur
    }
}

/// A track: slices laid out in lanes so that each lane's slices nest.
#[derive(Debug, Clone)]
pub struct Track {
    /// Its group.
    pub group: Group,
    /// The IRP number, thread identity or 0 (DPCs).
    pub key: u64,
    /// Its title.
    pub name: String,
    /// Lanes of properly nested slices (most tracks have one).
    pub lanes: Vec<Vec<Slice>>,
}

/// A point a flow arrow passes through: inside slice `slice` of lane `lane` of track
/// `track`.
#[derive(Debug, Clone, Copy)]
pub struct FlowPoint {
    /// Track index in [`Model::tracks`].
    pub track: usize,
    /// Lane of that track.
    pub lane: usize,
    /// Time inside the slice, µs.
    pub ts: f64,
    /// Position in event order.
    pub rank: f64,
}

/// A chain of arrows: a cancel request → IoCancelIrp → cancel routine → completion →
/// delivery.
#[derive(Debug, Clone)]
pub struct Flow {
    /// The IRP's number (the flow's id).
    pub irp: u64,
    /// The points, in order.
    pub points: Vec<FlowPoint>,
}

/// The laid-out timeline.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Tracks: IRPs (by number), threads (by first appearance), DPCs.
    pub tracks: Vec<Track>,
    /// Cancel flows.
    pub flows: Vec<Flow>,
    /// Events laid out.
    pub events: usize,
    /// The clock time of each event (for the HTML page's axis), µs.
    pub clock_us: Vec<f64>,
}

/// A slice before lane assignment, with the flow step it carries.
struct Raw {
    group: Group,
    key: u64,
    slice: Slice,
    flow: Option<(u64, u8)>,
}

/// Which steps of each IRP's cancel flow were placed: a flow starts at the first cancel
/// request (or IoCancelIrp) and takes the first event of each later step.
#[derive(Default)]
struct FlowSteps {
    started: std::collections::BTreeSet<u64>,
    taken: std::collections::BTreeSet<(u64, u8)>,
}

impl FlowSteps {
    /// Step `step` of `irp`'s flow, if this event is it; `starts`: the event begins a
    /// cancel.
    fn step(&mut self, irp: u64, step: u8, starts: bool) -> Option<(u64, u8)> {
        if starts {
            self.started.insert(irp);
        }
        (self.started.contains(&irp) && self.taken.insert((irp, step))).then_some((irp, step))
    }
}

/// A routine slice still open on its thread: (event index, the tracks it shows on, name,
/// style, flow step).
type Open = (usize, Vec<(Group, u64)>, String, Style, Option<(u64, u8)>);

/// Flow points by IRP, each with its step number, before they are ordered into flows.
type FlowPoints = BTreeMap<u64, Vec<(u8, FlowPoint)>>;

/// What reading the events, in order, gathers: the slices and what the tracks are made
/// of.
struct Collect {
    /// Each event's time on the spread clock, µs.
    ts: Vec<f64>,
    /// Each event's clock time, µs.
    clock_us: Vec<f64>,
    thread_names: BTreeMap<u64, String>,
    /// Threads in order of first appearance.
    thread_order: Vec<u64>,
    /// DPC routines, numbered from 1 in order of first run.
    dpc_numbers: BTreeMap<usize, usize>,
    /// First and last event of each IRP.
    irp_span: BTreeMap<u64, (usize, usize)>,
    /// What each IRP is (its first dispatch's major function and device).
    irp_what: BTreeMap<u64, String>,
    /// How each IRP ended.
    irp_end: BTreeMap<u64, String>,
    raws: Vec<Raw>,
    /// Open routine slices per thread.
    open: BTreeMap<u64, Vec<Open>>,
    flow: FlowSteps,
}

/// Lays out `events` (one kernel's timeline, in order). `labels` names IRPs (e.g. the
/// scenario's request ids).
pub fn layout(events: &[Event], labels: &BTreeMap<u64, String>) -> Model {
    let mut events: Vec<&Event> = events.iter().collect();
    events.sort_by_key(|e| e.seq);
    let mut c = Collect::new(&events);
    for (i, e) in events.iter().enumerate() {
        c.event(i, e);
    }
    c.close_unfinished(events.len());
    c.irp_lives(labels);
    let (mut tracks, index) = c.tracks(labels);
    let steps = assign_lanes(&mut tracks, &index, std::mem::take(&mut c.raws));
    Model { tracks, flows: flows(steps), events: events.len(), clock_us: c.clock_us }
}

impl Collect {
    /// Nothing gathered yet; the clocks of `events` (sorted): the spread clock keeps
    /// events at least 1 µs apart.
    fn new(events: &[&Event]) -> Self {
        let mut ts = Vec::with_capacity(events.len());
        let mut clock_us = Vec::with_capacity(events.len());
        let mut prev = f64::NEG_INFINITY;
        for e in events {
            let at = e.at.as_secs_f64() * 1e6;
            let t = if at > prev + 1.0 { at } else { prev + 1.0 };
            ts.push(t);
            clock_us.push(at);
            prev = t;
        }
        Collect {
            ts,
            clock_us,
            thread_names: BTreeMap::new(),
            thread_order: Vec::new(),
            dpc_numbers: BTreeMap::new(),
            irp_span: BTreeMap::new(),
            irp_what: BTreeMap::new(),
            irp_end: BTreeMap::new(),
            raws: Vec::new(),
            open: BTreeMap::new(),
            flow: FlowSteps::default(),
        }
    }

    /// The clock of event `i`, as a slice argument.
    fn clock_arg(&self, i: usize) -> (&'static str, String) {
        ("clock", format!("{:.3} ms", self.clock_us[i] / 1e3))
    }

    /// A point slice at event `i`.
    fn point(&self, i: usize, group: Group, key: u64, name: String, style: Style, flow: Option<(u64, u8)>) -> Raw {
        Raw {
            group,
            key,
            slice: Slice {
                name,
                start: self.ts[i],
                dur: POINT,
                rank: (i as f64, i as f64 + 0.5),
                style,
                args: vec![self.clock_arg(i)],
            },
            flow,
        }
    }

    /// Event `i`: its thread and IRP noted, then the slice it opens, closes or is.
    fn event(&mut self, i: usize, e: &Event) {
        if !self.thread_order.contains(&e.thread) {
            self.thread_order.push(e.thread);
        }
        if let Some(irp) = e.kind.irp() {
            self.irp_span.entry(irp).and_modify(|s| s.1 = i).or_insert((i, i));
        }
        match &e.kind {
            EventKind::ThreadNamed { name } => {
                self.thread_names.insert(e.thread, name.clone());
            }
            EventKind::Dispatch { .. }
            | EventKind::CancelRoutineStarted { .. }
            | EventKind::DpcStarted { .. }
            | EventKind::ThreadExitStarted { .. } => self.routine_started(i, e),
            EventKind::DispatchReturned { .. }
            | EventKind::CancelRoutineReturned { .. }
            | EventKind::DpcReturned { .. }
            | EventKind::ThreadExitEnded { .. } => self.routine_returned(i, e),
            EventKind::MarkedPending { .. }
            | EventKind::CancelRoutineSet { .. }
            | EventKind::CancelRoutineCleared { .. }
            | EventKind::CancelRequested { .. }
            | EventKind::IoCancelIrp { .. } => self.cancel_point(i, e),
            EventKind::Completed { .. }
            | EventKind::Finished { .. }
            | EventKind::Disassociated { .. }
            | EventKind::EventLogged { .. }
            | EventKind::IrpFreed { .. } => self.end_point(i, e),
            EventKind::VerifierReport { .. } | EventKind::DebugOutput { .. } => self.thread_point(i, e),
            _ => {}
        }
    }

    /// A routine starts on the event's thread (dispatch, cancel routine, DPC, thread
    /// exit): its slice stays open until it returns.
    fn routine_started(&mut self, i: usize, e: &Event) {
        let on_irp = |irp: u64| vec![(Group::Irps, irp), (Group::Threads, e.thread)];
        let (places, name, style, step) = match &e.kind {
            EventKind::Dispatch { irp, device, major, location } => {
                let major = nt::major_function_name(*major);
                self.irp_what.entry(*irp).or_insert_with(|| format!("{major} {device}"));
                (on_irp(*irp), format!("{major} → {device} (location {location})"), Style::Dispatch, None)
            }
            EventKind::CancelRoutineStarted { irp } => (
                on_irp(*irp),
                format!("cancel routine (IRP #{irp})"),
                Style::CancelRoutine,
                self.flow.step(*irp, 2, false),
            ),
            EventKind::DpcStarted { routine } => {
                let n = self.dpc_numbers.len() + 1;
                let n = *self.dpc_numbers.entry(*routine).or_insert(n);
                (vec![(Group::Dpcs, 0)], format!("DPC routine {n}"), Style::Dpc, None)
            }
            EventKind::ThreadExitStarted { thread_id, outstanding } => (
                vec![(Group::Threads, e.thread)],
                format!("thread exit (requester thread {thread_id}, {outstanding} IRPs outstanding)"),
                Style::ThreadExit,
                None,
            ),
            _ => return,
        };
        self.open.entry(e.thread).or_default().push((i, places, name, style, step));
    }

    /// The innermost routine open on the event's thread returns: its slice, on each of
    /// its tracks.
    fn routine_returned(&mut self, i: usize, e: &Event) {
        let Some((start, places, name, style, step)) = self.open.get_mut(&e.thread).and_then(Vec::pop) else {
            return;
        };
        let mut args = vec![self.clock_arg(start)];
        if let EventKind::DispatchReturned { status, .. } = &e.kind {
            args.push(("returned", status_label(*status)));
        }
        let (start_ts, dur) = (self.ts[start], self.ts[i] - self.ts[start]);
        let slice = Slice { name, start: start_ts, dur, rank: (start as f64, i as f64), style, args };
        self.routine_slices(places, slice, step);
    }

    /// A routine's slice on each of its tracks; the flow step goes with the first.
    fn routine_slices(&mut self, places: Vec<(Group, u64)>, slice: Slice, step: Option<(u64, u8)>) {
        for (n, (group, key)) in places.into_iter().enumerate() {
            self.raws.push(Raw { group, key, slice: slice.clone(), flow: if n == 0 { step } else { None } });
        }
    }

    /// Marks and cancels: IoMarkIrpPending, IoSetCancelRoutine, a cancel request,
    /// IoCancelIrp (the last two start the IRP's cancel flow).
    fn cancel_point(&mut self, i: usize, e: &Event) {
        let (group, key, name, style, step) = match &e.kind {
            EventKind::MarkedPending { irp, location } => {
                (Group::Irps, *irp, format!("IoMarkIrpPending (location {location})"), Style::Mark, None)
            }
            EventKind::CancelRoutineSet { irp } => {
                (Group::Irps, *irp, "IoSetCancelRoutine(routine)".into(), Style::Mark, None)
            }
            EventKind::CancelRoutineCleared { irp, had_routine } => {
                let name = if *had_routine {
                    "IoSetCancelRoutine(NULL)".into()
                } else {
                    "IoSetCancelRoutine(NULL): IoCancelIrp had taken it".into()
                };
                (Group::Irps, *irp, name, Style::Mark, None)
            }
            EventKind::CancelRequested { irp, by } => {
                (Group::Threads, e.thread, format!("{by} → IRP #{irp}"), Style::Cancel, self.flow.step(*irp, 0, true))
            }
            EventKind::IoCancelIrp { irp, by_io_manager } => {
                let who = if *by_io_manager { "by the I/O manager" } else { "by a driver" };
                (Group::Irps, *irp, format!("IoCancelIrp ({who})"), Style::Cancel, self.flow.step(*irp, 1, true))
            }
            _ => return,
        };
        let raw = self.point(i, group, key, name, style, step);
        self.raws.push(raw);
    }

    /// The end of an IRP's life: IoCompleteRequest, the delivery, the disassociation
    /// after five minutes, an event-log entry, IoFreeIrp.
    fn end_point(&mut self, i: usize, e: &Event) {
        let raw = match &e.kind {
            EventKind::Completed { irp, status, information } => {
                self.irp_end.insert(*irp, status_label(*status));
                let step = self.flow.step(*irp, 3, false);
                let name = format!("IoCompleteRequest {}", status_label(*status));
                let mut r = self.point(i, Group::Irps, *irp, name, Style::Complete, step);
                r.slice.args.push(("information", information.to_string()));
                r
            }
            EventKind::Finished { irp, status, delivered } => {
                let verb = if *delivered { "delivered" } else { "returned by the call" };
                let step = self.flow.step(*irp, 4, false);
                self.point(i, Group::Irps, *irp, format!("{verb}: {}", status_label(*status)), Style::Deliver, step)
            }
            EventKind::Disassociated { irp } => {
                self.irp_end.insert(*irp, "disassociated".into());
                let step = self.flow.step(*irp, 4, false);
                let name = "disassociated from its thread (five minutes)".into();
                self.point(i, Group::Irps, *irp, name, Style::Abandon, step)
            }
            EventKind::EventLogged { irp, name } => {
                self.point(i, Group::Irps, *irp, format!("event log: {name}"), Style::Abandon, None)
            }
            EventKind::IrpFreed { irp } => self.point(i, Group::Irps, *irp, "IoFreeIrp".into(), Style::Deliver, None),
            _ => return,
        };
        self.raws.push(raw);
    }

    /// What a thread reports: a verifier report (also on its IRP's track) or a driver's
    /// debug output.
    fn thread_point(&mut self, i: usize, e: &Event) {
        match &e.kind {
            EventKind::VerifierReport { rule, irp } => {
                let name = format!("verifier: {rule}");
                if let Some(irp) = irp {
                    self.raws.push(self.point(i, Group::Irps, *irp, name.clone(), Style::Report, None));
                }
                self.raws.push(self.point(i, Group::Threads, e.thread, name, Style::Report, None));
            }
            EventKind::DebugOutput { text } => {
                let mut r = self.point(i, Group::Threads, e.thread, format!("DbgPrint: {text}"), Style::Debug, None);
                r.slice.args.push(("text", text.clone()));
                self.raws.push(r);
            }
            _ => {}
        }
    }

    /// Routines still running at the end (a run stopped early): cut at the end of the
    /// `events` laid out.
    fn close_unfinished(&mut self, events: usize) {
        let end_ts = self.ts.last().map_or(0.0, |t| t + 1.0);
        for (_, stack) in std::mem::take(&mut self.open) {
            for (start, places, name, style, step) in stack {
                let slice = Slice {
                    name: format!("{name} (still running at the end)"),
                    start: self.ts[start],
                    dur: end_ts - self.ts[start],
                    rank: (start as f64, events as f64),
                    style,
                    args: Vec::new(),
                };
                self.routine_slices(places, slice, step);
            }
        }
    }

    /// Each IRP's life: a slice from its first event to its last, named with its label,
    /// what it is and how it ended.
    fn irp_lives(&mut self, labels: &BTreeMap<u64, String>) {
        for (&irp, &(first, last)) in &self.irp_span {
            let what = self.irp_what.get(&irp).cloned().unwrap_or_default();
            let label = labels.get(&irp).map(|l| format!("{l}: ")).unwrap_or_default();
            let end = self.irp_end.get(&irp).cloned().unwrap_or_else(|| "not completed".into());
            self.raws.push(Raw {
                group: Group::Irps,
                key: irp,
                slice: Slice {
                    name: format!("{label}IRP #{irp} {what} → {end}"),
                    start: self.ts[first],
                    dur: self.ts[last] + POINT - self.ts[first],
                    rank: (first as f64, last as f64 + 0.5),
                    style: Style::Life,
                    args: vec![("issued", format!("{:.3} ms", self.clock_us[first] / 1e3))],
                },
                flow: None,
            });
        }
    }

    /// The tracks, empty: IRPs by number, the threads that have slices by first
    /// appearance, the DPC queue if it has any; and each one's index by (group, key).
    fn tracks(&self, labels: &BTreeMap<u64, String>) -> (Vec<Track>, BTreeMap<(Group, u64), usize>) {
        let mut tracks: Vec<Track> = Vec::new();
        let mut index: BTreeMap<(Group, u64), usize> = BTreeMap::new();
        let mut add = |group: Group, key: u64, name: String| {
            index.insert((group, key), tracks.len());
            tracks.push(Track { group, key, name, lanes: Vec::new() });
        };
        for &irp in self.irp_span.keys() {
            let what = self.irp_what.get(&irp).map(|w| format!(" {w}")).unwrap_or_default();
            let name = match labels.get(&irp) {
                Some(l) => format!("IRP #{irp} ({l})"),
                None => format!("IRP #{irp}{what}"),
            };
            add(Group::Irps, irp, name);
        }
        for &t in &self.thread_order {
            if self.raws.iter().any(|r| r.group == Group::Threads && r.key == t) {
                let name = self.thread_names.get(&t).cloned().unwrap_or_else(|| format!("thread {t}"));
                add(Group::Threads, t, name);
            }
        }
        if self.raws.iter().any(|r| r.group == Group::Dpcs) {
            add(Group::Dpcs, 0, "DPC queue".into());
        }
        (tracks, index)
    }
}

/// Puts each slice on its track, in the first lane where it nests; returns the flow
/// points the slices carry.
fn assign_lanes(tracks: &mut [Track], index: &BTreeMap<(Group, u64), usize>, raws: Vec<Raw>) -> FlowPoints {
    let mut per_track: Vec<Vec<Raw>> = (0..tracks.len()).map(|_| Vec::new()).collect();
    for r in raws {
        if let Some(&t) = index.get(&(r.group, r.key)) {
            per_track[t].push(r);
        }
    }
    let mut steps = FlowPoints::new();
    for (t, mut raws) in per_track.into_iter().enumerate() {
        raws.sort_by(|a, b| a.slice.start.total_cmp(&b.slice.start).then(b.slice.dur.total_cmp(&a.slice.dur)));
        // Each lane keeps the ends of its open slices.
        let mut stacks: Vec<Vec<f64>> = Vec::new();
        for r in raws {
            let (start, end) = (r.slice.start, r.slice.end());
            let lane = lane_for(&mut stacks, start, end);
            let track = &mut tracks[t];
            if track.lanes.len() <= lane {
                track.lanes.resize_with(lane + 1, Vec::new);
            }
            if let Some((irp, step)) = r.flow {
                let inside = (r.slice.dur / 2.0).min(0.25);
                steps
                    .entry(irp)
                    .or_default()
                    .push((step, FlowPoint { track: t, lane, ts: start + inside, rank: r.slice.rank.0 + 0.25 }));
            }
            track.lanes[lane].push(r.slice);
        }
    }
    steps
}

/// The lane for a slice from `start` to `end`: the first whose open slices (their ends
/// in `stacks`, innermost last) contain it once those ended by `start` are closed, or a
/// new lane; the slice's end is pushed there.
fn lane_for(stacks: &mut Vec<Vec<f64>>, start: f64, end: f64) -> usize {
    let mut chosen = None;
    for (l, stack) in stacks.iter_mut().enumerate() {
        while stack.last().is_some_and(|&e| e <= start) {
            stack.pop();
        }
        if stack.last().is_none_or(|&e| e >= end) {
            chosen = Some(l);
            break;
        }
    }
    let lane = chosen.unwrap_or_else(|| {
        stacks.push(Vec::new());
        stacks.len() - 1
    });
    stacks[lane].push(end);
    lane
}

/// The cancel flows: each IRP's points in time order (then step order), if it has two
/// or more.
fn flows(steps: FlowPoints) -> Vec<Flow> {
    let mut flows = Vec::new();
    for (irp, mut points) in steps {
        points.sort_by(|a, b| a.1.ts.total_cmp(&b.1.ts).then(a.0.cmp(&b.0)));
        if points.len() >= 2 {
            flows.push(Flow { irp, points: points.into_iter().map(|p| p.1).collect() });
        }
    }
    flows
}

/// The Chrome trace-event JSON (object form) of a laid-out timeline.
pub fn chrome_trace(model: &Model, title: &str) -> serde_json::Value {
    use serde_json::json;
    let mut out = Vec::new();
    let tid = |t: usize, lane: usize| (t * 64 + lane + 1) as u64;
    for group in [Group::Irps, Group::Threads, Group::Dpcs] {
        if model.tracks.iter().any(|t| t.group == group) {
            out.push(json!({"ph": "M", "name": "process_name", "pid": group.pid(), "tid": 0,
                "args": {"name": group.title()}}));
            out.push(json!({"ph": "M", "name": "process_sort_index", "pid": group.pid(), "tid": 0,
                "args": {"sort_index": group.pid()}}));
        }
    }
    for (t, track) in model.tracks.iter().enumerate() {
        for (lane, slices) in track.lanes.iter().enumerate() {
            let name = if lane == 0 { track.name.clone() } else { format!("{} (overlapping {lane})", track.name) };
            let (pid, tid) = (track.group.pid(), tid(t, lane));
            out.push(json!({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": name}}));
            out.push(json!({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid,
                "args": {"sort_index": tid}}));
            for s in slices {
                let args: serde_json::Map<String, serde_json::Value> =
                    s.args.iter().map(|(k, v)| ((*k).to_string(), json!(v))).collect();
                if s.style == Style::Debug {
                    // Debug output is an instant event, scoped to the thread's track.
                    out.push(json!({"ph": "i", "s": "t", "name": s.name, "cat": s.style.category(),
                        "ts": s.start, "pid": pid, "tid": tid, "args": args}));
                } else {
                    out.push(json!({"ph": "X", "name": s.name, "cat": s.style.category(), "ts": s.start,
                        "dur": s.dur, "pid": pid, "tid": tid, "args": args}));
                }
            }
        }
    }
    for f in &model.flows {
        let last = f.points.len() - 1;
        for (n, p) in f.points.iter().enumerate() {
            let track = &model.tracks[p.track];
            let mut e = json!({"ph": if n == 0 { "s" } else if n == last { "f" } else { "t" },
                "name": "cancel", "cat": "cancel", "id": f.irp, "ts": p.ts,
                "pid": track.group.pid(), "tid": tid(p.track, p.lane)});
            if n == last {
                e["bp"] = json!("e");
            }
            out.push(e);
        }
    }
    json!({
        "traceEvents": out,
        "displayTimeUnit": "ns",
        "otherData": {"title": title, "producer": "irpkit", "format": "irpkit timeline (Chrome trace-event JSON)"},
    })
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The most events the HTML page draws: beyond it a browser struggles with the SVG (a run
/// of 4 000 random requests makes about 43 000 events), so the page draws the first ones
/// and says so; the trace file always has every event.
pub const PAGE_MAX_EVENTS: usize = 4000;

/// The part of `model` that happened among its first `max_events` events: slices that
/// start there (cut at its end), tracks that have one, flow points inside it.
pub fn first_events(model: &Model, max_events: usize) -> Model {
    if model.events <= max_events {
        return model.clone();
    }
    let end = max_events as f64;
    let mut tracks = Vec::new();
    // Old track index -> new, for the flows.
    let mut renumber = vec![None; model.tracks.len()];
    for (t, track) in model.tracks.iter().enumerate() {
        let mut lanes: Vec<Vec<Slice>> = track
            .lanes
            .iter()
            .map(|lane| {
                lane.iter()
                    .filter(|s| s.rank.0 < end)
                    .map(|s| Slice { rank: (s.rank.0, s.rank.1.min(end)), ..s.clone() })
                    .collect()
            })
            .collect();
        while lanes.last().is_some_and(Vec::is_empty) {
            lanes.pop();
        }
        if !lanes.is_empty() {
            renumber[t] = Some(tracks.len());
            tracks.push(Track { lanes, ..track.clone() });
        }
    }
    let flows = model
        .flows
        .iter()
        .filter_map(|f| {
            let points: Vec<FlowPoint> = f
                .points
                .iter()
                .filter_map(|p| {
                    let track = renumber[p.track]?;
                    (p.rank < end && tracks[track].lanes.len() > p.lane).then_some(FlowPoint { track, ..*p })
                })
                .collect();
            (points.len() >= 2).then_some(Flow { irp: f.irp, points })
        })
        .collect();
    Model { tracks, flows, events: max_events, clock_us: model.clock_us[..max_events].to_vec() }
}

/// One self-contained HTML page (no network): the summary, then the timeline drawn as
/// SVG in event order, with the clock's gaps marked. A timeline of more than
/// [`PAGE_MAX_EVENTS`] events is drawn up to there, with a note saying so.
pub fn html_page(model: &Model, title: &str, summary: &str) -> String {
    let all_events = model.events;
    let cut = all_events > PAGE_MAX_EVENTS;
    let windowed;
    let model = if cut {
        windowed = first_events(model, PAGE_MAX_EVENTS);
        &windowed
    } else {
        model
    };
    let drawing = Drawing::new(model);
    let mut svg = drawing.open();
    drawing.clock_axis(&mut svg);
    drawing.row_labels(&mut svg);
    let slices = drawing.slices(&mut svg);
    let arrows = drawing.arrows(&mut svg);
    svg.push_str("</svg>");
    page(model, title, summary, &svg, (slices, arrows), cut.then_some(all_events))
}

/// Width of the page's label column, px.
const LABEL: f64 = 300.0;
/// Height of a row, px.
const ROW: f64 = 18.0;
/// Height above the first row (the clock axis), px.
const TOP: f64 = 40.0;

/// A timeline drawn as SVG: a column per event, a row per lane of each track under a
/// title row per group.
struct Drawing<'a> {
    model: &'a Model,
    /// A column's width, px.
    col: f64,
    /// (track, lane, name, group) per row; a group's title row has track `usize::MAX`.
    rows: Vec<(usize, usize, String, Group)>,
    width: f64,
    height: f64,
}

impl<'a> Drawing<'a> {
    fn new(model: &'a Model) -> Self {
        // Columns narrow from 16 px as events grow, to keep the page within about 24 000
        // px, but never below 6 px (a slice must stay visible and hoverable).
        let col = (24_000.0 / model.events.max(1) as f64).clamp(6.0, 16.0);
        // Rows: a title row per group, then a row per lane of each track.
        let mut rows: Vec<(usize, usize, String, Group)> = Vec::new();
        for (t, track) in model.tracks.iter().enumerate() {
            if rows.last().is_none_or(|r| r.3 != track.group) {
                rows.push((usize::MAX, 0, String::new(), track.group));
            }
            for lane in 0..track.lanes.len().max(1) {
                let name = if lane == 0 { track.name.clone() } else { format!("  … overlapping {lane}") };
                rows.push((t, lane, name, track.group));
            }
        }
        let width = LABEL + (model.events as f64 + 2.0) * col;
        let height = TOP + rows.len() as f64 * ROW + 20.0;
        Drawing { model, col, rows, width, height }
    }

    /// The row of lane `lane` of track `t`.
    fn row_of(&self, t: usize, lane: usize) -> usize {
        self.rows.iter().position(|r| r.0 == t && r.1 == lane).unwrap_or(0)
    }

    /// Where position `rank` in event order is, px.
    fn x(&self, rank: f64) -> f64 {
        LABEL + rank * self.col
    }

    /// The `<svg>` element's start and the arrow head.
    fn open(&self) -> String {
        let (width, height) = (self.width, self.height);
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" id="timeline" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="11">"#
        );
        svg.push_str(
            r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#c0392b"/></marker></defs>"##,
        );
        svg
    }

    /// The clock axis: a tick where the clock moved, a mark where it jumped.
    fn clock_axis(&self, svg: &mut String) {
        let clock_us = &self.model.clock_us;
        let mut last_label = f64::NEG_INFINITY;
        for (i, &c) in clock_us.iter().enumerate() {
            let prev = if i == 0 { None } else { Some(clock_us[i - 1]) };
            let jumped = prev.is_some_and(|p| c - p >= 1000.0);
            if i == 0 || (jumped && self.x(i as f64) - last_label > 60.0) {
                let _ = write!(
                    svg,
                    r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2:.0}" stroke="#bbb" stroke-dasharray="{3}"/><text x="{4:.1}" y="{5}" fill="#555">{6}</text>"##,
                    self.x(i as f64),
                    TOP - 14.0,
                    self.height - 20.0,
                    if jumped { "4 3" } else { "1 0" },
                    self.x(i as f64) + 2.0,
                    TOP - 18.0,
                    esc(&format!("{}{:.3} ms", if jumped { "⋯ " } else { "" }, c / 1e3))
                );
                last_label = self.x(i as f64);
            }
        }
    }

    /// The rows' titles (a group's in bold over a rule), every other row shaded.
    fn row_labels(&self, svg: &mut String) {
        let width = self.width;
        for (r, (t, _, name, group)) in self.rows.iter().enumerate() {
            let y = TOP + r as f64 * ROW;
            if *t == usize::MAX {
                let _ = write!(
                    svg,
                    r##"<line x1="0" y1="{y:.0}" x2="{width:.0}" y2="{y:.0}" stroke="#888"/><text x="4" y="{:.0}" font-weight="bold" fill="#333">{}</text>"##,
                    y + 13.0,
                    group.title()
                );
                continue;
            }
            if r % 2 == 1 {
                let _ = write!(svg, r##"<rect x="0" y="{y:.0}" width="{width:.0}" height="{ROW}" fill="#f6f6f6"/>"##);
            }
            let _ = write!(svg, r##"<text x="12" y="{:.0}" fill="#222">{}</text>"##, y + 13.0, esc(name));
        }
    }

    /// Every slice, with its details as its title; returns how many.
    fn slices(&self, svg: &mut String) -> usize {
        let mut slices = 0;
        for (t, track) in self.model.tracks.iter().enumerate() {
            for (lane, lane_slices) in track.lanes.iter().enumerate() {
                let y = TOP + self.row_of(t, lane) as f64 * ROW;
                for s in lane_slices {
                    let (x0, x1) = (self.x(s.rank.0), self.x(s.rank.1).max(self.x(s.rank.0) + 4.0));
                    let (y0, h) = if s.style == Style::Life { (y + 2.0, ROW - 4.0) } else { (y + 5.0, ROW - 10.0) };
                    let args: String = s.args.iter().map(|(k, v)| format!("\n{k}: {v}")).collect();
                    let _ = write!(
                        svg,
                        r#"<rect class="slice" x="{x0:.1}" y="{y0:.1}" width="{:.1}" height="{h:.0}" rx="2" fill="{}"><title>{}</title></rect>"#,
                        x1 - x0,
                        s.style.colour(),
                        esc(&format!("{}{args}", s.name))
                    );
                    slices += 1;
                }
            }
        }
        slices
    }

    /// The cancel flows' arrows; returns how many.
    fn arrows(&self, svg: &mut String) -> usize {
        let mut arrows = 0;
        for f in &self.model.flows {
            for w in f.points.windows(2) {
                let (a, b) = (w[0], w[1]);
                let ya = TOP + self.row_of(a.track, a.lane) as f64 * ROW + ROW / 2.0;
                let yb = TOP + self.row_of(b.track, b.lane) as f64 * ROW + ROW / 2.0;
                let _ = write!(
                    svg,
                    r##"<line class="flow" x1="{:.1}" y1="{ya:.1}" x2="{:.1}" y2="{yb:.1}" stroke="#c0392b" stroke-width="1.2" marker-end="url(#arrow)"><title>cancel of IRP #{}</title></line>"##,
                    self.x(a.rank),
                    self.x(b.rank),
                    f.irp
                );
                arrows += 1;
            }
        }
        arrows
    }
}

/// The page around `svg` (the drawing of `model`, with `drawn`: its slices and arrows,
/// which the page's script counts again): the summary, the legend, and a note when the
/// run had `cut_from` events, more than the page draws.
fn page(
    model: &Model,
    title: &str,
    summary: &str,
    svg: &str,
    drawn: (usize, usize),
    cut_from: Option<usize>,
) -> String {
    let (slices, arrows) = drawn;
    let legend: String = [
        (Style::Life, "IRP, allocation to its last event"),
        (Style::Dispatch, "dispatch routine"),
        (Style::CancelRoutine, "cancel routine"),
        (Style::Dpc, "DPC"),
        (Style::ThreadExit, "thread exit"),
        (Style::Mark, "IoMarkIrpPending / IoSetCancelRoutine"),
        (Style::Cancel, "cancel request / IoCancelIrp"),
        (Style::Complete, "IoCompleteRequest"),
        (Style::Deliver, "delivered / freed"),
        (Style::Abandon, "disassociated / event log"),
        (Style::Report, "verifier report"),
    ]
    .iter()
    .map(|(s, what)| format!(r#"<span class="key"><i style="background:{}"></i>{}</span>"#, s.colour(), esc(what)))
    .collect();
    format!(
        r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 16px; color: #222; }}
pre {{ background: #f4f4f4; padding: 8px; overflow: auto; max-height: 40vh; font-size: 12px; }}
#scroll {{ overflow: auto; border: 1px solid #ccc; max-height: 80vh; }}
.key {{ margin-right: 14px; font-size: 12px; white-space: nowrap; }}
.key i {{ display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: middle; }}
rect.slice:hover {{ stroke: #000; }}
</style></head>
<body data-rendered="no">
<h1>{title}</h1>
<h2>Summary</h2>
<pre id="summary">{summary}</pre>
<h2>Timeline</h2>
<p>Events in the order they happened, one column each; dashed lines mark where the kernel clock jumped. Hover a slice for its details; red arrows follow a cancel from the request to the delivery.</p>
<p>{legend}</p>
{cut_note}<p id="status"></p>
<div id="scroll">{svg}</div>
<script>
(function () {{
  var svg = document.getElementById('timeline');
  var slices = svg.querySelectorAll('rect.slice').length;
  var flows = svg.querySelectorAll('line.flow').length;
  document.getElementById('status').textContent = slices + ' slices, ' + flows + ' arrows, {events} events';
  document.body.setAttribute('data-rendered', slices === {slices} && flows === {arrows} ? 'ok' : 'mismatch');
}})();
</script>
</body></html>
"##,
        title = esc(title),
        summary = esc(summary),
        events = model.events,
        cut_note = if let Some(all_events) = cut_from {
            format!(
                r#"<p id="cut"><b>This run has {all_events} events; the page draws the first {} (to {:.3} ms on the kernel's clock).</b> The trace file (<code>--trace</code>) has every one: open it in Perfetto.</p>
"#,
                model.events,
                model.clock_us.last().copied().unwrap_or(0.0) / 1e3
            )
        } else {
            String::new()
        },
    )
}

/// Writes a run's timeline as Chrome trace-event JSON to `trace` and as an HTML page to
/// `html` (either may be absent). The IRP tracks are named after the scenario's requests.
pub fn write_run_outputs(
    summary: &crate::scenario::run::RunSummary,
    trace: Option<&std::path::Path>,
    html: Option<&std::path::Path>,
) -> Result<(), String> {
    let labels: BTreeMap<u64, String> =
        summary.requests.iter().filter_map(|r| r.irp.map(|irp| (irp, format!("{} {}", r.id, r.what)))).collect();
    let mut table = Vec::new();
    if html.is_some() {
        summary.write_table(&mut table).map_err(|e| e.to_string())?;
    }
    let title = format!("irpkit: scenario {}", summary.name);
    write_outputs(&summary.timeline, &labels, &title, &String::from_utf8_lossy(&table), trace, html)
}

/// Lays out `events` (IRP tracks named by `labels`) and writes them as Chrome trace-event
/// JSON to `trace` and as an HTML page titled `title`, with `summary` above the timeline,
/// to `html` (either may be absent).
pub fn write_outputs(
    events: &[Event],
    labels: &BTreeMap<u64, String>,
    title: &str,
    summary: &str,
    trace: Option<&std::path::Path>,
    html: Option<&std::path::Path>,
) -> Result<(), String> {
    let model = layout(events, labels);
    if let Some(path) = trace {
        let text = serde_json::to_string(&chrome_trace(&model, title)).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write the trace to {}: {e}", path.display()))?;
    }
    if let Some(path) = html {
        let page = html_page(&model, title, summary);
        std::fs::write(path, page).map_err(|e| format!("cannot write the page to {}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ev(seq: u64, thread: u64, kind: EventKind) -> Event {
        Event { seq, at: Duration::ZERO, thread, kind }
    }

    /// A cancel routine running on another thread while the dispatch routine is still
    /// running: the IRP's track gets a second lane so both slices nest properly, and the
    /// cancel flow goes from the request through the routine to the completion.
    #[test]
    fn overlapping_routines_get_their_own_lane_and_the_flow_follows_the_cancel() {
        let events = [
            ev(0, 1, EventKind::IrpAllocated { irp: 7, stack_size: 1 }),
            ev(1, 1, EventKind::Dispatch { irp: 7, device: "D".into(), major: 3, location: 1 }),
            ev(2, 2, EventKind::CancelRequested { irp: 7, by: "CancelIoEx" }),
            ev(3, 2, EventKind::IoCancelIrp { irp: 7, by_io_manager: true }),
            ev(4, 2, EventKind::CancelRoutineStarted { irp: 7 }),
            ev(5, 1, EventKind::DispatchReturned { irp: 7, status: 0x103 }),
            ev(6, 2, EventKind::Completed { irp: 7, status: nt::STATUS_CANCELLED, information: 0 }),
            ev(7, 2, EventKind::Finished { irp: 7, status: nt::STATUS_CANCELLED, delivered: true }),
            ev(8, 2, EventKind::CancelRoutineReturned { irp: 7 }),
        ];
        let labels = BTreeMap::from([(7, "r1 read".to_string())]);
        let model = layout(&events, &labels);
        let irp = &model.tracks[0];
        assert_eq!(irp.name, "IRP #7 (r1 read)");
        assert_eq!(irp.lanes.len(), 2, "{:#?}", irp.lanes);
        let names: Vec<&str> = irp.lanes[1].iter().map(|s| s.name.as_str()).collect();
        assert!(names.iter().any(|n| n.starts_with("cancel routine")), "{names:?}");
        assert!(irp.lanes[0][0].name.contains("IRP_MJ_READ D") && irp.lanes[0][0].name.ends_with("STATUS_CANCELLED"));
        assert_eq!(model.flows.len(), 1);
        let flow = &model.flows[0];
        assert_eq!(flow.points.len(), 5, "request, IoCancelIrp, routine, completion, delivery");
        assert_eq!(model.tracks[flow.points[0].track].group, Group::Threads);
        assert!(flow.points.windows(2).all(|w| w[0].ts < w[1].ts));
        let trace = chrome_trace(&model, "t");
        let phases: String = trace["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["ph"].as_str().filter(|p| ["s", "t", "f"].contains(p)))
            .collect();
        assert_eq!(phases, "stttf");
        let page = html_page(&model, "t <x>", "summary & more");
        assert!(page.contains("t &lt;x&gt;") && page.contains("summary &amp; more"));
        assert_eq!(page.matches(r#"class="flow""#).count(), 4);
        assert!(!page.contains(r#"id="cut""#), "a small run is drawn whole");
    }

    /// A driver's debug output is an instant event on the thread that printed it, in the
    /// trace and on the page.
    #[test]
    fn debug_output_is_an_instant_event_on_the_printing_thread() {
        let events = [
            ev(0, 4, EventKind::ThreadNamed { name: "scenario".into() }),
            ev(1, 4, EventKind::DebugOutput { text: "echo: DriverEntry <ok>".into() }),
            ev(2, 9, EventKind::DebugOutput { text: "echo: timer".into() }),
        ];
        let model = layout(&events, &BTreeMap::new());
        let threads: Vec<&Track> = model.tracks.iter().filter(|t| t.group == Group::Threads).collect();
        assert_eq!(threads.len(), 2, "{:#?}", model.tracks);
        assert_eq!(threads[0].name, "scenario");
        assert_eq!(threads[0].lanes[0][0].name, "DbgPrint: echo: DriverEntry <ok>");
        assert_eq!(threads[1].lanes[0][0].style, Style::Debug);
        let trace = chrome_trace(&model, "t");
        let instants: Vec<&serde_json::Value> =
            trace["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] == "i").collect();
        assert_eq!(instants.len(), 2);
        assert_eq!(instants[0]["s"], "t");
        assert_eq!(instants[0]["cat"], "debug");
        assert_eq!(instants[0]["args"]["text"], "echo: DriverEntry <ok>");
        assert_ne!(instants[0]["tid"], instants[1]["tid"], "each on its own thread's track");
        let page = html_page(&model, "t", "s");
        assert!(page.contains("DbgPrint: echo: DriverEntry &lt;ok&gt;"), "the page escapes and shows it");
    }

    /// A run too long for the page: the page draws the first PAGE_MAX_EVENTS events —
    /// the tracks that have a slice there, the flow points there — says so, and stays
    /// narrow enough for a browser.
    #[test]
    fn a_long_run_is_drawn_up_to_the_page_limit() {
        let mut events = Vec::new();
        let mut seq = 0;
        let mut push = |thread, kind| {
            events.push(ev(seq, thread, kind));
            seq += 1;
        };
        let irps = PAGE_MAX_EVENTS as u64; // each IRP makes several events
        for irp in 1..=irps {
            push(1, EventKind::IrpAllocated { irp, stack_size: 1 });
            push(1, EventKind::CancelRequested { irp, by: "CancelIo" });
            push(1, EventKind::IoCancelIrp { irp, by_io_manager: true });
            push(1, EventKind::Completed { irp, status: nt::STATUS_CANCELLED, information: 0 });
            push(1, EventKind::Finished { irp, status: nt::STATUS_CANCELLED, delivered: true });
            push(1, EventKind::IrpFreed { irp });
        }
        let model = layout(&events, &BTreeMap::new());
        assert!(model.events > PAGE_MAX_EVENTS);
        let cut = first_events(&model, PAGE_MAX_EVENTS);
        assert_eq!(cut.events, PAGE_MAX_EVENTS);
        assert_eq!(cut.clock_us.len(), PAGE_MAX_EVENTS);
        let irp_tracks = cut.tracks.iter().filter(|t| t.group == Group::Irps).count();
        assert!(irp_tracks > 0 && irp_tracks < irps as usize, "{irp_tracks} of {irps} IRPs");
        for t in &cut.tracks {
            assert!(t
                .lanes
                .iter()
                .flatten()
                .all(|s| s.rank.0 < PAGE_MAX_EVENTS as f64 && s.rank.1 <= PAGE_MAX_EVENTS as f64));
        }
        assert!(!cut.flows.is_empty());
        for f in &cut.flows {
            assert!(f.points.len() >= 2);
            for p in &f.points {
                assert!(p.rank < PAGE_MAX_EVENTS as f64);
                assert!(cut.tracks[p.track].lanes.len() > p.lane);
                // The renumbered track is still the IRP's own (or a thread's).
                let t = &cut.tracks[p.track];
                assert!(t.group != Group::Irps || t.key == f.irp, "flow of #{} on {}", f.irp, t.name);
            }
        }
        let slices: usize = cut.tracks.iter().map(|t| t.lanes.iter().map(Vec::len).sum::<usize>()).sum();
        let page = html_page(&model, "long", "s");
        assert!(
            page.contains(&format!("This run has {} events; the page draws the first {PAGE_MAX_EVENTS}", model.events))
        );
        assert_eq!(page.matches(r#"class="slice""#).count(), slices);
        let width: f64 =
            page.split(r#"id="timeline" width=""#).nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
        assert!(width <= 300.0 + (PAGE_MAX_EVENTS as f64 + 2.0) * 6.0 + 1.0, "{width}");
    }
}
