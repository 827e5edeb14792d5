//! Scenario files: devices, requester processes and threads with their operations, a
//! random workload, the clock, the verifier's mode and expectations, in TOML.
//!
//! [`parse`] reads one into a checked [`Scenario`]; every mistake is a [`ScenarioError`]
//! naming the file, line, column and field, with the accepted values. The format is
//! described in `scenarios/README.md`; [`run`](run::run) runs a scenario.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod run;

/// A scenario file, as written (see `scenarios/README.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short name (defaults to the file's stem).
    #[serde(default)]
    pub name: Option<String>,
    /// What the scenario shows.
    #[serde(default)]
    pub description: Option<String>,
    /// `virtual` (default: deterministic, time jumps when every thread waits) or `real`.
    #[serde(default)]
    pub clock: ClockKind,
    /// The verifier's mode: `record` (default: every report, the run goes on) or `strict`
    /// (the run stops at the first report).
    #[serde(default)]
    pub verifier: VerifierKind,
    /// The seed of the schedule (virtual clock) and of the random workload.
    #[serde(default)]
    pub seed: u64,
    /// WDM drivers written in C, built before the run and loaded in it (`driver = "c"`
    /// devices refer to them).
    #[serde(default, rename = "c_driver")]
    pub c_drivers: Vec<CDriverSpec>,
    /// The devices, each a sample driver or a C driver's.
    #[serde(default, rename = "device")]
    pub devices: Vec<DeviceSpec>,
    /// The requester processes.
    #[serde(default, rename = "process")]
    pub processes: Vec<ProcessSpec>,
    /// A generated workload added to the processes.
    #[serde(default)]
    pub random: Option<RandomSpec>,
    /// What must hold at the end; `irpkit run` fails when it does not.
    #[serde(default)]
    pub expect: Expect,
    /// The directory relative paths in the file (C sources, include directories, shared
    /// objects) are resolved against: the file's own directory. Not a key of the file.
    #[serde(skip)]
    pub dir: PathBuf,
}

impl Scenario {
    /// `path` (from the file) resolved against the file's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() || self.dir.as_os_str().is_empty() {
            path.to_path_buf()
        } else {
            self.dir.join(path)
        }
    }
}

/// A WDM driver written in C: its sources (or a prebuilt shared object), built once
/// before the run with irpkit's WDM headers, and loaded into the run's kernel (its
/// DriverEntry runs) before the requester processes start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CDriverSpec {
    /// The driver's name: its driver object is `\Driver\{name}`; devices refer to it.
    pub name: String,
    /// Its C source files, relative to the scenario file's directory.
    #[serde(default)]
    pub sources: Option<Vec<PathBuf>>,
    /// Include directories (searched before irpkit's headers), relative likewise.
    #[serde(default)]
    pub include: Vec<PathBuf>,
    /// Macros: a string or integer value is `-DNAME=VALUE`, `true` is `-DNAME`, `false`
    /// leaves the macro undefined.
    #[serde(default)]
    pub defines: BTreeMap<String, DefineValue>,
    /// Extra compiler flags.
    #[serde(default)]
    pub flags: Vec<String>,
    /// A prebuilt driver (instead of `sources`), relative to the scenario file's directory.
    #[serde(default)]
    pub shared_object: Option<PathBuf>,
    /// Call the driver's DriverUnload at the end of the run (default true).
    #[serde(default = "yes")]
    pub unload: bool,
}

/// The value of a `defines` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefineValue {
    /// `-DNAME=text`.
    Text(String),
    /// `-DNAME=n`.
    Integer(i64),
    /// `true`: `-DNAME`; `false`: not defined.
    Flag(bool),
}

impl DefineValue {
    /// What `-D` gets: `None` for not defined, `Some(None)` for `-DNAME`,
    /// `Some(Some(value))` for `-DNAME=value`.
    pub fn as_define(&self) -> Option<Option<String>> {
        match self {
            DefineValue::Text(s) => Some(Some(s.clone())),
            DefineValue::Integer(n) => Some(Some(n.to_string())),
            DefineValue::Flag(true) => Some(None),
            DefineValue::Flag(false) => None,
        }
    }
}

impl<'de> Deserialize<'de> for DefineValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = DefineValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, an integer or a boolean")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<DefineValue, E> {
                Ok(DefineValue::Flag(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DefineValue, E> {
                Ok(DefineValue::Integer(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<DefineValue, E> {
                i64::try_from(v)
                    .map(DefineValue::Integer)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DefineValue, E> {
                Ok(DefineValue::Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Which clock the kernel runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClockKind {
    /// Deterministic: one thread runs at a time and time moves only when all wait.
    #[default]
    Virtual,
    /// The machine's clock and free-running threads.
    Real,
}

/// The verifier's mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifierKind {
    /// Record every report and go on.
    #[default]
    Record,
    /// Stop the run at the first report.
    Strict,
}

/// A device: which driver and its parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    /// The name operations refer to.
    pub name: String,
    /// The driver.
    pub driver: DriverKind,
    /// How long the hardware takes per request, in ms (`pending-read`: it finishes one
    /// read this often; `serial`, `disk`, `csq-worker`: per transfer). Default 1.
    #[serde(default)]
    pub hardware_ms: Option<u64>,
    /// StartIo drivers: `IoSetStartIoAttributes(DeferredStartIo)`. Default true.
    #[serde(default)]
    pub deferred_start_io: Option<bool>,
    /// `queue`, `startio`, `startio-sync`: the catalog bug switched on (by its
    /// `irpkit explore --list` name); none by default.
    #[serde(default)]
    pub bug: Option<String>,
    /// `driver = "c"`: the `[[c_driver]]` (by name) whose device this is.
    #[serde(default)]
    pub c_driver: Option<String>,
    /// `driver = "c"`: the device's name as the driver made it — a Win32 name
    /// (`\\.\Name`, `\DosDevices\Name`, `\??\Name`: a symbolic link the driver created
    /// with IoCreateSymbolicLink) or an NT device name (`\Device\Name`).
    #[serde(default)]
    pub path: Option<String>,
}

/// The drivers a scenario can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriverKind {
    /// Own queue + cancel routine; a hardware thread finishes the oldest read.
    PendingRead,
    /// StartIo, device queue, timer + DPC hardware.
    Serial,
    /// StartIo keyed by sector (elevator).
    Disk,
    /// Cancel-safe queue with a worker thread.
    CsqWorker,
    /// Never completes nor cancels reads on its own.
    Stubborn,
    /// The catalog's NT-layer queue driver (may have a bug).
    Queue,
    /// The catalog's NT-layer StartIo driver (may have a bug).
    Startio,
    /// The catalog's synchronous StartIo driver (may have a bug).
    StartioSync,
    /// A device a C driver (`[[c_driver]]`) created; `c_driver` and `path` say which.
    C,
}

impl DriverKind {
    /// The catalog family, for the NT-layer drivers.
    pub fn family(self) -> Option<irpkit_samples::buggy::Family> {
        use irpkit_samples::buggy::Family;
        match self {
            DriverKind::Queue => Some(Family::Queue),
            DriverKind::Startio => Some(Family::StartIo),
            DriverKind::StartioSync => Some(Family::StartIoSync),
            _ => None,
        }
    }
}

/// A requester process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    /// Its name.
    pub name: String,
    /// Its threads; they start together at time 0.
    #[serde(default, rename = "thread")]
    pub threads: Vec<ThreadSpec>,
}

/// A requester thread and its operations, run in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadSpec {
    /// Its name (`cancel-synchronous-io` refers to it).
    pub name: String,
    /// Its operations.
    #[serde(default)]
    pub ops: Vec<Op>,
}

/// One operation of a thread.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Op {
    /// `CreateFile` on a device: a handle of the process named `handle`.
    Open {
        /// The device's name.
        device: String,
        /// The handle's name.
        handle: String,
        /// `FILE_FLAG_OVERLAPPED` (default true); reads on a handle without it are
        /// synchronous: the thread waits for them.
        #[serde(default = "yes")]
        overlapped: bool,
    },
    /// `DuplicateHandle`.
    Duplicate {
        /// The handle duplicated.
        handle: String,
        /// The new handle's name.
        #[serde(rename = "as")]
        new: String,
    },
    /// `CloseHandle` (the last handle of a file sends IRP_MJ_CLEANUP).
    Close {
        /// The handle.
        handle: String,
    },
    /// `ReadFile`.
    Read(Transfer),
    /// `WriteFile`.
    Write(Transfer),
    /// `DeviceIoControl`.
    Ioctl(Control),
    /// Waits on the kernel's clock.
    Sleep {
        /// Milliseconds.
        ms: u64,
    },
    /// Waits for an overlapped request's result.
    Wait {
        /// The request's id.
        request: String,
        /// Give up after this many ms (default: wait as long as it takes).
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    /// `CancelIo`: this thread's requests on the handle.
    CancelIo {
        /// The handle.
        handle: String,
    },
    /// `CancelIoEx`: every request of the process on the handle, or one.
    CancelIoEx {
        /// The handle.
        handle: String,
        /// Only this request (by id); default all.
        #[serde(default)]
        request: Option<String>,
    },
    /// `CancelSynchronousIo` of another thread of the process.
    CancelSynchronousIo {
        /// The thread's name.
        thread: String,
    },
    /// `CreateEvent`: an event of the process named `event`, whose handle an ioctl can
    /// pass to a driver (`handles_at`), which may reference it with
    /// ObReferenceObjectByHandle and signal it.
    CreateEvent {
        /// The event's name.
        event: String,
        /// A manual-reset (notification) event (default true); false: auto-reset.
        #[serde(default = "yes")]
        manual_reset: bool,
        /// Created signalled (default false).
        #[serde(default)]
        signalled: bool,
    },
    /// `WaitForSingleObject` on an event of the process; not signalled within
    /// `timeout_ms` (default: wait as long as it takes) is a failure of the run.
    WaitEvent {
        /// The event's name.
        event: String,
        /// Give up after this many ms.
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    /// The thread ends here (its requests are cancelled).
    ExitThread,
    /// The process ends here (every thread exits, every handle closes).
    ExitProcess,
}

fn yes() -> bool {
    true
}

fn sixteen() -> u32 {
    16
}

/// A read or write.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The handle.
    pub handle: String,
    /// Bytes (default 16).
    #[serde(default = "sixteen")]
    pub length: u32,
    /// Byte offset (the disk sorts by it).
    #[serde(default)]
    pub offset: i64,
    /// The request's id, for `wait`, `cancel-io-ex` and expectations (default
    /// `<process>.<thread>.<n>`).
    #[serde(default)]
    pub id: Option<String>,
    /// Overlapped only: cancel it if still outstanding after this many ms.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// A device control.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// The handle.
    pub handle: String,
    /// The I/O control code.
    pub code: u32,
    /// Input buffer bytes (default: the length of `input_hex`, else 0).
    #[serde(default)]
    pub input: Option<u32>,
    /// The input buffer's contents, in hex (`"0100ff"`; spaces and `_` may separate
    /// bytes): what a METHOD_BUFFERED driver reads from `Irp->AssociatedIrp.SystemBuffer`.
    #[serde(default)]
    pub input_hex: Option<String>,
    /// Output buffer bytes.
    #[serde(default)]
    pub output: u32,
    /// Event handles written into the input bytes: the event's name and the byte offset
    /// of its 8-byte handle (`{ e1 = 8 }` — a `HANDLE` field at offset 8).
    #[serde(default)]
    pub handles_at: BTreeMap<String, usize>,
    /// The request's id (see [`Transfer::id`]).
    #[serde(default)]
    pub id: Option<String>,
    /// See [`Transfer::timeout_ms`].
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

impl Control {
    /// The input buffer's bytes (`input_hex`; none when it is absent or malformed, which
    /// [`parse`] refuses).
    pub fn input_bytes(&self) -> Option<Vec<u8>> {
        self.input_hex.as_deref().and_then(|h| parse_hex(h).ok())
    }

    /// The input buffer's length: `input`, else the length of `input_hex`, else 0.
    pub fn input_length(&self) -> u32 {
        self.input.unwrap_or_else(|| self.input_bytes().map_or(0, |b| b.len() as u32))
    }
}

/// Bytes from hex digits, two per byte; spaces and `_` between bytes are ignored.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<char> = text.chars().filter(|c| !c.is_whitespace() && *c != '_').collect();
    if let Some(bad) = digits.iter().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!("`{bad}` is not a hex digit: write the bytes as hex pairs, e.g. \"0100ff\""));
    }
    if digits.len() % 2 != 0 {
        return Err(format!("{} hex digits: each byte takes two", digits.len()));
    }
    Ok(digits
        .chunks(2)
        .map(|p| {
            let hi = p[0].to_digit(16).unwrap_or(0);
            let lo = p[1].to_digit(16).unwrap_or(0);
            (hi * 16 + lo) as u8
        })
        .collect())
}

/// A generated workload: a process of `threads` threads, each opening the device and
/// issuing `requests` overlapped reads with random gaps, cancelling some (CancelIoEx of
/// one, or CancelIo), then waiting for the rest and exiting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomSpec {
    /// The device (by name).
    pub device: String,
    /// Threads (default 2).
    #[serde(default = "two")]
    pub threads: u32,
    /// Requests per thread (default 8).
    #[serde(default = "eight")]
    pub requests: u32,
    /// Probability that a request is cancelled (default 0.3).
    #[serde(default = "cancel_default")]
    pub cancel: f64,
    /// Largest gap between two operations, ms (default 2).
    #[serde(default = "two_u64")]
    pub max_gap_ms: u64,
    /// Its own seed (default: the scenario's).
    #[serde(default)]
    pub seed: Option<u64>,
}

fn two() -> u32 {
    2
}
fn eight() -> u32 {
    8
}
fn two_u64() -> u64 {
    2
}
fn cancel_default() -> f64 {
    0.3
}

/// Expectations checked after the run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// This many verifier reports (e.g. 0).
    #[serde(default)]
    pub reports: Option<usize>,
    /// These rules reported, at least once each (rule ids, `irpkit rules`).
    #[serde(default)]
    pub rules: Vec<String>,
    /// Final status by request id: a status name (`STATUS_SUCCESS`, `STATUS_CANCELLED`,
    /// ...) or `disassociated`.
    #[serde(default)]
    pub status: BTreeMap<String, String>,
    /// Event-log entries by code name (`IO_DRIVER_CANCEL_TIMEOUT`).
    #[serde(default)]
    pub event_log: BTreeMap<String, usize>,
    /// This many per-request timeouts fired.
    #[serde(default)]
    pub timeouts: Option<usize>,
    /// This many operation errors (an op that could not be done: a `wait-event` that
    /// timed out, a handle not open, ...); `operation_errors = 0` asks that every op went
    /// through.
    #[serde(default)]
    pub operation_errors: Option<usize>,
}

/// A mistake in a scenario file: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// The field, as a path (`process[0].thread[1].ops[2].handle`), when known.
    pub field: Option<String>,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// The status names a scenario may expect.
pub const STATUS_NAMES: &[&str] = &[
    "STATUS_SUCCESS",
    "STATUS_CANCELLED",
    "STATUS_DELETE_PENDING",
    "STATUS_INVALID_DEVICE_REQUEST",
    "STATUS_INVALID_HANDLE",
    "STATUS_INSUFFICIENT_RESOURCES",
    "disassociated",
];

/// The event-log codes a scenario may expect.
pub const EVENT_NAMES: &[&str] = &["IO_DRIVER_CANCEL_TIMEOUT"];

/// Reads and checks the scenario file at `path`.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.to_path_buf(),
        position: None,
        field: None,
        message: format!("cannot read it: {e}"),
    })?;
    parse(path, &text)
}

/// Parses and checks scenario `text` (from `file`, named in errors).
pub fn parse(file: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let error = |position, field, message| ScenarioError { file: file.to_path_buf(), position, field, message };
    let deserializer = toml::Deserializer::parse(text)
        .map_err(|e| error(e.span().map(|s| line_column(text, s.start)), None, tidy(e.message())))?;
    let mut scenario: Scenario = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = path_of(e.path());
        let span = narrow(text, e.inner().span(), locate(text, &path), e.inner().message());
        let field = (!path.is_empty()).then(|| render(&path));
        error(span.map(|s| line_column(text, s.start)), field, tidy(e.inner().message()))
    })?;
    if scenario.name.is_none() {
        scenario.name = file.file_stem().map(|s| s.to_string_lossy().into_owned());
    }
    scenario.dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    check(&scenario).map_err(|(path, message)| {
        let span = locate(text, &path);
        error(span.map(|s| line_column(text, s.start)), Some(render(&path)), message)
    })?;
    Ok(scenario)
}

/// The most precise place for a deserialization error: the value at the error's path when
/// it lies inside the span the parser gave (inline tables lose their inner positions), and
/// for an unknown field, the key itself.
fn narrow(text: &str, parser: Option<Range<usize>>, path: Option<Range<usize>>, message: &str) -> Option<Range<usize>> {
    let mut span = match (parser, path) {
        (Some(a), Some(b)) if b.start >= a.start && b.end <= a.end => b,
        (Some(a), _) => a,
        (None, b) => b?,
    };
    if let Some(name) = message.strip_prefix("unknown field `").and_then(|m| m.split('`').next()) {
        let within = text.get(span.clone()).unwrap_or_default();
        let found = within.match_indices(name).find(|(i, _)| {
            let before = within[..*i].chars().next_back();
            let after = within[i + name.len()..].trim_start();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-') && after.starts_with('=')
        });
        if let Some((i, _)) = found {
            span = span.start + i..span.start + i + name.len();
        }
    }
    Some(span)
}

/// serde's and toml's messages, on one line.
fn tidy(message: &str) -> String {
    message.trim().replace('\n', " ")
}

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn path_of(p: &serde_path_to_error::Path) -> Vec<Seg> {
    use serde_path_to_error::Segment;
    p.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(Seg::Index(*index)),
            Segment::Map { key } => Some(Seg::Key(key.clone())),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The span of the value at `path` (the deepest part of it that exists).
fn locate(text: &str, path: &[Seg]) -> Option<Range<usize>> {
    use toml::de::{DeTable, DeValue};
    let root = DeTable::parse(text).ok()?;
    let mut span = root.span();
    let top = DeValue::Table(root.into_inner());
    let mut at = &top;
    for seg in path {
        let next = match (seg, at) {
            (Seg::Key(k), DeValue::Table(t)) => {
                t.iter().find(|(key, _)| key.get_ref().as_ref() == k.as_str()).map(|(_, v)| v)
            }
            (Seg::Index(i), DeValue::Array(a)) => a.get(*i),
            _ => None,
        };
        match next {
            Some(v) => {
                span = v.span();
                at = v.get_ref();
            }
            None => break,
        }
    }
    Some(span)
}

/// 1-based line and column of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

type Problem = (Vec<Seg>, String);

fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

fn one_of(values: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    values.into_iter().map(|v| format!("`{}`", v.as_ref())).collect::<Vec<_>>().join(", ")
}

/// The checks serde cannot make: names refer to things that exist, ids are unique,
/// values are in range.
fn check(s: &Scenario) -> Result<(), Problem> {
    let c_drivers = check_c_drivers(s)?;
    let devices = check_devices(s, &c_drivers)?;
    let mut process_names = BTreeSet::new();
    let mut request_ids = BTreeSet::new();
    for (pi, p) in s.processes.iter().enumerate() {
        if !process_names.insert(p.name.as_str()) {
            return Err((
                vec![key("process"), Seg::Index(pi), key("name")],
                format!("a second process named `{}`", p.name),
            ));
        }
        check_process(pi, p, &devices, &mut request_ids)?;
    }
    check_request_references(s, &request_ids)?;
    if let Some(r) = &s.random {
        check_random(r, &devices)?;
    }
    check_expect(s, &request_ids)
}

/// The `[[device]]` tables, in order. Returns the device names.
fn check_devices<'a>(s: &'a Scenario, c_drivers: &BTreeSet<&str>) -> Result<BTreeSet<&'a str>, Problem> {
    let mut devices = BTreeSet::new();
    for (i, d) in s.devices.iter().enumerate() {
        let at = |f: &str| vec![key("device"), Seg::Index(i), key(f)];
        check_c_device(d, c_drivers, at)?;
        if !devices.insert(d.name.as_str()) {
            return Err((at("name"), format!("a second device named `{}`: device names must be unique", d.name)));
        }
        if d.name.is_empty() || !d.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err((at("name"), format!("`{}` is not a device name: use letters, digits, `-` and `_`", d.name)));
        }
        if let Some(bug) = &d.bug {
            check_bug(d, bug, at)?;
        }
        if d.deferred_start_io.is_some()
            && !matches!(
                d.driver,
                DriverKind::Serial | DriverKind::Disk | DriverKind::Startio | DriverKind::StartioSync
            )
        {
            return Err((
                at("deferred_start_io"),
                "only StartIo drivers (`serial`, `disk`, `startio`, `startio-sync`) have it".to_string(),
            ));
        }
        if d.hardware_ms == Some(0) {
            return Err((at("hardware_ms"), "must be at least 1".to_string()));
        }
    }
    Ok(devices)
}

/// A device's `bug`: one of the catalog's bugs of its driver's family.
fn check_bug(d: &DeviceSpec, bug: &str, at: impl Fn(&str) -> Vec<Seg>) -> Result<(), Problem> {
    let Some(family) = d.driver.family() else {
        return Err((
            at("bug"),
            "only the catalog drivers `queue`, `startio` and `startio-sync` have bugs to switch on".to_string(),
        ));
    };
    let names: Vec<&str> =
        irpkit_samples::buggy::catalog().into_iter().filter(|e| e.bug.family() == family).map(|e| e.name).collect();
    if !names.contains(&bug) {
        return Err((at("bug"), format!("`{bug}` is not a bug of this driver; accepted: {}", one_of(&names))));
    }
    Ok(())
}

/// The path to field `f` of operation `oi` of thread `ti` of process `pi`.
fn op_path(pi: usize, ti: usize, oi: usize, f: &str) -> Vec<Seg> {
    vec![key("process"), Seg::Index(pi), key("thread"), Seg::Index(ti), key("ops"), Seg::Index(oi), key(f)]
}

/// What the operations of one process may refer to.
struct ProcessNames<'a> {
    /// The process.
    process: &'a ProcessSpec,
    /// The scenario's devices.
    devices: &'a BTreeSet<&'a str>,
    /// The process's threads.
    threads: BTreeSet<&'a str>,
    /// The handles the process opens anywhere (threads run concurrently: a use before
    /// the open is a run-time failure, a handle never opened is a mistake).
    handles: BTreeSet<&'a str>,
    /// The events the process creates anywhere.
    events: BTreeSet<&'a str>,
}

impl<'a> ProcessNames<'a> {
    fn new(process: &'a ProcessSpec, devices: &'a BTreeSet<&'a str>) -> Self {
        let threads = process.threads.iter().map(|t| t.name.as_str()).collect();
        let mut handles = BTreeSet::new();
        let mut events = BTreeSet::new();
        for op in process.threads.iter().flat_map(|t| &t.ops) {
            match op {
                Op::CreateEvent { event, .. } => {
                    events.insert(event.as_str());
                }
                Op::Open { handle, .. } => {
                    handles.insert(handle.as_str());
                }
                Op::Duplicate { new, .. } => {
                    handles.insert(new.as_str());
                }
                _ => {}
            }
        }
        ProcessNames { process, devices, threads, handles, events }
    }

    /// `h` is a handle the process opens.
    fn handle(&self, h: &str, at: &impl Fn(&str) -> Vec<Seg>) -> Result<(), Problem> {
        if self.handles.contains(h) {
            return Ok(());
        }
        Err((
            at("handle"),
            format!(
                "no `open` (or `duplicate`) in process `{}` makes a handle `{h}`; handles: {}",
                self.process.name,
                one_of(&self.handles)
            ),
        ))
    }

    /// `e`, given in `field`, is an event the process creates.
    fn event(&self, e: &str, field: &str, at: &impl Fn(&str) -> Vec<Seg>) -> Result<(), Problem> {
        if self.events.contains(e) {
            return Ok(());
        }
        Err((
            at(field),
            format!(
                "no `create-event` in process `{}` makes an event `{e}`; events: {}",
                self.process.name,
                one_of(&self.events)
            ),
        ))
    }
}

/// Process `pi`: unique thread names, and operations that refer to what exists. Adds
/// the ids of its requests to `request_ids`.
fn check_process(
    pi: usize,
    p: &ProcessSpec,
    devices: &BTreeSet<&str>,
    request_ids: &mut BTreeSet<String>,
) -> Result<(), Problem> {
    let names = ProcessNames::new(p, devices);
    if names.threads.len() != p.threads.len() {
        return Err((
            vec![key("process"), Seg::Index(pi), key("thread")],
            "thread names must be unique within a process".to_string(),
        ));
    }
    for (ti, t) in p.threads.iter().enumerate() {
        for (oi, op) in t.ops.iter().enumerate() {
            check_op(op, &names, request_ids, |f| op_path(pi, ti, oi, f))?;
        }
    }
    Ok(())
}

/// One operation: the device, handle, event and thread it names exist in its process,
/// its request id is new, its values are in range.
fn check_op(
    op: &Op,
    names: &ProcessNames<'_>,
    request_ids: &mut BTreeSet<String>,
    at: impl Fn(&str) -> Vec<Seg>,
) -> Result<(), Problem> {
    match op {
        Op::Open { device, .. } => {
            if !names.devices.contains(device.as_str()) {
                return Err((at("device"), format!("no device named `{device}`; devices: {}", one_of(names.devices))));
            }
        }
        Op::Duplicate { handle, .. } | Op::Close { handle } | Op::CancelIo { handle } => names.handle(handle, &at)?,
        Op::Read(x) | Op::Write(x) => {
            names.handle(&x.handle, &at)?;
            request_id(request_ids, &x.id, at("id"))?;
            if x.timeout_ms == Some(0) {
                return Err((at("timeout_ms"), "must be at least 1".to_string()));
            }
        }
        Op::Ioctl(x) => check_ioctl(x, names, request_ids, &at)?,
        Op::WaitEvent { event, .. } => names.event(event, "event", &at)?,
        Op::CancelIoEx { handle, .. } => names.handle(handle, &at)?,
        Op::CancelSynchronousIo { thread } => {
            if !names.threads.contains(thread.as_str()) {
                return Err((
                    at("thread"),
                    format!(
                        "no thread `{thread}` in process `{}`; threads: {}",
                        names.process.name,
                        one_of(&names.threads)
                    ),
                ));
            }
        }
        Op::Sleep { .. } | Op::Wait { .. } | Op::CreateEvent { .. } | Op::ExitThread | Op::ExitProcess => {}
    }
    Ok(())
}

/// An `ioctl`: its handle, a new request id, input bytes that agree with `input`, a
/// timeout of at least 1 ms, and the handles it carries inside its input.
fn check_ioctl(
    x: &Control,
    names: &ProcessNames<'_>,
    request_ids: &mut BTreeSet<String>,
    at: &impl Fn(&str) -> Vec<Seg>,
) -> Result<(), Problem> {
    names.handle(&x.handle, at)?;
    request_id(request_ids, &x.id, at("id"))?;
    if let Some(hex) = &x.input_hex {
        let bytes = parse_hex(hex).map_err(|m| (at("input_hex"), m))?;
        if x.input.is_some_and(|n| n as usize != bytes.len()) {
            return Err((
                at("input"),
                format!(
                    "`input` is {} but `input_hex` holds {} byte(s): leave `input` out (it \
                     defaults to the bytes' length) or make them agree",
                    x.input.unwrap_or(0),
                    bytes.len()
                ),
            ));
        }
    }
    if x.timeout_ms == Some(0) {
        return Err((at("timeout_ms"), "must be at least 1".to_string()));
    }
    for (event, &offset) in &x.handles_at {
        names.event(event, "handles_at", at)?;
        if offset + 8 > x.input_length() as usize {
            return Err((
                at("handles_at"),
                format!(
                    "the handle of `{event}` at offset {offset} takes bytes {offset}..{} but the \
                     input holds {}: make `input_hex` (or `input`) long enough",
                    offset + 8,
                    x.input_length()
                ),
            ));
        }
    }
    Ok(())
}

/// References to request ids (`wait`, `cancel-io-ex`), now that all are known.
fn check_request_references(s: &Scenario, request_ids: &BTreeSet<String>) -> Result<(), Problem> {
    for (pi, p) in s.processes.iter().enumerate() {
        for (ti, t) in p.threads.iter().enumerate() {
            for (oi, op) in t.ops.iter().enumerate() {
                let id = match op {
                    Op::Wait { request, .. } => request,
                    Op::CancelIoEx { request: Some(request), .. } => request,
                    _ => continue,
                };
                if !request_ids.contains(id.as_str()) {
                    return Err((
                        op_path(pi, ti, oi, "request"),
                        format!("no request has the id `{id}`: give the read, write or ioctl `id = \"{id}\"`"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The `[random]` table: a device that exists, a probability, sizes in range.
fn check_random(r: &RandomSpec, devices: &BTreeSet<&str>) -> Result<(), Problem> {
    let at = |f: &str| vec![key("random"), key(f)];
    if !devices.contains(r.device.as_str()) {
        return Err((at("device"), format!("no device named `{}`; devices: {}", r.device, one_of(devices))));
    }
    if !(0.0..=1.0).contains(&r.cancel) {
        return Err((at("cancel"), format!("{} is not a probability: use a number from 0 to 1", r.cancel)));
    }
    if r.threads == 0 || r.threads > 64 {
        return Err((at("threads"), "must be from 1 to 64".to_string()));
    }
    if r.requests > 10_000 {
        return Err((at("requests"), "at most 10000 per thread".to_string()));
    }
    Ok(())
}

/// The `[expect]` table: statuses of requests that exist (any id with a random
/// workload), known statuses, event-log codes and verifier rules.
fn check_expect(s: &Scenario, request_ids: &BTreeSet<String>) -> Result<(), Problem> {
    for (id, status) in &s.expect.status {
        let at = vec![key("expect"), key("status"), key(id)];
        if !request_ids.contains(id.as_str()) && s.random.is_none() {
            return Err((at, format!("no request has the id `{id}`; ids: {}", one_of(request_ids))));
        }
        if !STATUS_NAMES.contains(&status.as_str()) {
            return Err((
                at,
                format!("`{status}` is not a status this expectation knows; accepted: {}", one_of(STATUS_NAMES)),
            ));
        }
    }
    for name in s.expect.event_log.keys() {
        if !EVENT_NAMES.contains(&name.as_str()) {
            return Err((
                vec![key("expect"), key("event_log"), key(name)],
                format!("`{name}` is not an event-log code; accepted: {}", one_of(EVENT_NAMES)),
            ));
        }
    }
    for (i, rule) in s.expect.rules.iter().enumerate() {
        if !irpkit::verifier::Rule::ALL.iter().any(|r| r.id() == rule) {
            return Err((
                vec![key("expect"), key("rules"), Seg::Index(i)],
                format!("`{rule}` is not a verifier rule; `irpkit rules` lists them"),
            ));
        }
    }
    Ok(())
}

/// The `[[c_driver]]` tables: unique names, sources or a shared object (not both), files
/// and directories that exist, macro names that are C identifiers. Returns the names.
fn check_c_drivers(s: &Scenario) -> Result<BTreeSet<&str>, Problem> {
    let mut names = BTreeSet::new();
    for (i, c) in s.c_drivers.iter().enumerate() {
        let at = |f: &str| vec![key("c_driver"), Seg::Index(i), key(f)];
        let at_item = |f: &str, j: usize| vec![key("c_driver"), Seg::Index(i), key(f), Seg::Index(j)];
        if c.name.is_empty() || !c.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err((at("name"), format!("`{}` is not a driver name: use letters, digits, `-` and `_`", c.name)));
        }
        if !names.insert(c.name.as_str()) {
            return Err((at("name"), format!("a second C driver named `{}`: names must be unique", c.name)));
        }
        match (&c.sources, &c.shared_object) {
            (Some(_), Some(_)) => {
                return Err((
                    at("shared_object"),
                    "give the driver's `sources` or a prebuilt `shared_object`, not both".to_string(),
                ))
            }
            (None, None) => {
                return Err((
                    vec![key("c_driver"), Seg::Index(i)],
                    format!(
                        "C driver `{}` has neither `sources` (its C files) nor `shared_object` (a prebuilt driver)",
                        c.name
                    ),
                ))
            }
            (Some(sources), None) => {
                if sources.is_empty() {
                    return Err((at("sources"), "no source files: name the driver's C files".to_string()));
                }
                for (j, src) in sources.iter().enumerate() {
                    let path = s.resolve(src);
                    if !path.is_file() {
                        return Err((at_item("sources", j), format!("no file {}", path.display())));
                    }
                }
            }
            (None, Some(so)) => {
                let path = s.resolve(so);
                if !path.is_file() {
                    return Err((at("shared_object"), format!("no file {}", path.display())));
                }
                for (f, given) in [
                    ("include", !c.include.is_empty()),
                    ("defines", !c.defines.is_empty()),
                    ("flags", !c.flags.is_empty()),
                ] {
                    if given {
                        return Err((
                            at(f),
                            "only for a driver built from `sources`, not a `shared_object`".to_string(),
                        ));
                    }
                }
            }
        }
        for (j, dir) in c.include.iter().enumerate() {
            let path = s.resolve(dir);
            if !path.is_dir() {
                return Err((at_item("include", j), format!("no directory {}", path.display())));
            }
        }
        for name in c.defines.keys() {
            let identifier = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !identifier {
                return Err((
                    vec![key("c_driver"), Seg::Index(i), key("defines"), key(name)],
                    format!("`{name}` is not a C macro name: use letters, digits and `_`, not starting with a digit"),
                ));
            }
        }
    }
    Ok(names)
}

/// A device's C-driver fields: `driver = "c"` needs `c_driver` (a `[[c_driver]]`) and
/// `path`; other drivers have neither.
fn check_c_device(d: &DeviceSpec, c_drivers: &BTreeSet<&str>, at: impl Fn(&str) -> Vec<Seg>) -> Result<(), Problem> {
    if d.driver != DriverKind::C {
        for (f, given) in [("c_driver", d.c_driver.is_some()), ("path", d.path.is_some())] {
            if given {
                return Err((at(f), "only `driver = \"c\"` devices have it".to_string()));
            }
        }
        return Ok(());
    }
    let known = if c_drivers.is_empty() {
        "the file has no `[[c_driver]]`".to_string()
    } else {
        format!("C drivers: {}", one_of(c_drivers))
    };
    match &d.c_driver {
        None => {
            return Err((
                at("c_driver"),
                format!("a `driver = \"c\"` device needs `c_driver`: the `[[c_driver]]` that creates it; {known}"),
            ))
        }
        Some(c) if !c_drivers.contains(c.as_str()) => {
            return Err((at("c_driver"), format!("no C driver named `{c}`; {known}")));
        }
        Some(_) => {}
    }
    match &d.path {
        None => {
            return Err((
                at("path"),
                "a `driver = \"c\"` device needs `path`: the name its driver gave it — a Win32 name \
                 (`\\\\.\\Name`, the symbolic link it created with IoCreateSymbolicLink) or an NT device name \
                 (`\\Device\\Name`)"
                    .to_string(),
            ))
        }
        Some(p) if !p.starts_with('\\') => {
            return Err((
                at("path"),
                format!(
                    "`{p}` is not a device name: write a Win32 name (`\\\\.\\Name`) or an NT device name \
                     (`\\Device\\Name`)"
                ),
            ))
        }
        Some(_) => {}
    }
    for (f, given) in [
        ("hardware_ms", d.hardware_ms.is_some()),
        ("deferred_start_io", d.deferred_start_io.is_some()),
        ("bug", d.bug.is_some()),
    ] {
        if given {
            return Err((at(f), "a C driver's device has no such setting: the driver's code decides".to_string()));
        }
    }
    Ok(())
}

fn request_id(ids: &mut BTreeSet<String>, id: &Option<String>, at: Vec<Seg>) -> Result<(), Problem> {
    if let Some(id) = id {
        if !ids.insert(id.clone()) {
            return Err((at, format!("a second request with the id `{id}`: ids must be unique")));
        }
    }
    Ok(())
}
