//! Scenario files: the bundled ones run with their expectations holding, deterministically;
//! malformed ones get an error naming the file, line, column and field, with what is
//! accepted, and exit code 2.

use std::path::{Path, PathBuf};
use std::process::Command;

use irpkit_cli::scenario;

fn irpkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_irpkit"))
}

fn bundled() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "scenarios/ holds the examples: {files:?}");
    files
}

#[test]
fn bundled_scenarios_run_and_their_expectations_hold() {
    for file in bundled() {
        let out = irpkit().arg("run").arg(&file).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}:\n{text}\n{}", file.display(), String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("unaccounted: 0"), "{}:\n{text}", file.display());
        assert!(!text.contains("FAILS"), "{}:\n{text}", file.display());
    }
}

#[test]
fn run_json_is_the_documented_summary_and_deterministic() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/demo.toml");
    let runs: Vec<serde_json::Value> = (0..2)
        .map(|_| {
            let out = irpkit().arg("run").arg(&file).arg("--json").output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
            serde_json::from_slice(&out.stdout).unwrap()
        })
        .collect();
    let doc = &runs[0];
    assert_eq!(doc["format"], "irpkit-run/1");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["requests"]["unaccounted"], 0);
    let total = doc["requests"]["total"].as_u64().unwrap();
    let by: u64 = doc["requests"]["by_status"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(by, total, "every request is counted once by status");
    assert_eq!(doc["requests"]["by_status"]["disassociated"], 1);
    assert_eq!(doc["event_log"][0]["name"], "IO_DRIVER_CANCEL_TIMEOUT");
    assert_eq!(doc["event_log"][0]["request"], "abandoned", "the entry names the request its IRP carried");
    assert!(doc["event_log"][0]["at_us"].as_f64().unwrap() >= 300e6, "after five (virtual) minutes");
    assert_eq!(doc["verifier_reports"].as_array().unwrap().len(), 0);
    assert!(doc["cancel_latency_us"]["count"].as_u64().unwrap() > 0);
    assert!(doc["expectations"].as_array().unwrap().iter().all(|e| e["held"] == true));
    // Each request names who asked for its cancellation first (null: nobody did).
    let by = |id: &str| {
        let list = doc["requests"]["list"].as_array().unwrap();
        list.iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("{id}"))["cancel_requested_by"].clone()
    };
    for (id, who) in [
        ("queued", "CancelIoEx"),
        ("on-hardware", "CancelIoEx"),
        ("b1", "CancelIo"),
        ("sync-read", "CancelSynchronousIo"),
        ("too-slow", "timeout"),
        ("exit-cancelled", "thread exit"),
        ("abandoned", "thread exit"),
    ] {
        assert_eq!(by(id), who, "{id}");
    }
    for id in ["in-time", "served", "a2", "a3"] {
        assert!(by(id).is_null(), "{id}: nobody asked (a2, a3: IRP_MJ_CLEANUP completed them)");
    }
    for r in doc["requests"]["list"].as_array().unwrap() {
        assert_eq!(r["cancel_requested_at_us"].is_null(), r["cancel_requested_by"].is_null(), "{r}");
    }
    assert_eq!(runs[0], runs[1], "the virtual clock makes a run deterministic");
}

#[test]
fn a_failed_expectation_exits_1_and_says_which() {
    let dir = std::env::temp_dir().join(format!("irpkit-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("wrong.toml");
    std::fs::write(
        &file,
        r#"
[[device]]
name = "d"
driver = "pending-read"
[[process]]
name = "p"
[[process.thread]]
name = "t"
ops = [{ op = "open", device = "d", handle = "h" }, { op = "read", handle = "h", id = "r" }, { op = "wait", request = "r" }]
[expect]
status = { r = "STATUS_CANCELLED" }
"#,
    )
    .unwrap();
    let out = irpkit().arg("run").arg(&file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("expect request r ends STATUS_CANCELLED: FAILS (STATUS_SUCCESS)"), "{text}");
}

/// A bug switched on in a catalog driver is reported, and the expectation naming its rule
/// holds.
#[test]
fn a_catalog_bug_in_a_scenario_is_reported() {
    let text = r#"
[[device]]
name = "d"
driver = "startio"
bug = "cancel-completes-current"
[[process]]
name = "p"
[[process.thread]]
name = "t"
ops = [
  { op = "open", device = "d", handle = "h" },
  { op = "read", handle = "h", id = "r" },
  { op = "cancel-io-ex", handle = "h", request = "r" },
  { op = "wait", request = "r" },
]
[expect]
rules = ["double-completion"]
"#;
    let s = scenario::parse(Path::new("bug.toml"), text).unwrap();
    let summary = scenario::run::run(&s);
    assert!(summary.expectations.iter().all(|e| e.1), "{:#?}\n{:#?}", summary.expectations, summary.reports);
}

const BASE: &str = r#"
[[device]]
name = "d"
driver = "serial"

[[process]]
name = "p"

[[process.thread]]
name = "t"
ops = [
  { op = "open", device = "d", handle = "h" },
  { op = "read", handle = "h", id = "r1" },
]
"#;

/// (what is appended to or replaced in BASE, text the error must contain).
#[test]
fn malformed_files_get_a_clear_error() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("not toml", "[[device]\nname = 1", &["bad.toml:1:10", "unclosed array table"]),
        (
            "unknown top-level key",
            "colour = \"red\"\n",
            &["bad.toml:1:1", "unknown field `colour`", "`clock`", "`device`"],
        ),
        (
            "unknown driver",
            "[[device]]\nname = \"x\"\ndriver = \"floppy\"\n",
            &["field `device[0].driver`", "unknown variant `floppy`", "`pending-read`", "`csq-worker`"],
        ),
        ("clock", "clock = \"sundial\"\n", &["bad.toml:1:9", "field `clock`", "`virtual`", "`real`"]),
        ("wrong type", "seed = \"seven\"\n", &["bad.toml:1:8", "field `seed`", "invalid type: string"]),
    ];
    for (what, text, wants) in cases {
        let err = scenario::parse(Path::new("bad.toml"), text).expect_err(what).to_string();
        for want in *wants {
            assert!(err.contains(want), "{what}: `{err}` lacks `{want}`");
        }
    }
    // Mistakes inside the base file: (replace, with, expected parts).
    let edits: &[(&str, &str, &[&str])] = &[
        (
            "{ op = \"read\", handle = \"h\", id = \"r1\" }",
            "{ op = \"raed\", handle = \"h\" }",
            &[
                "bad.toml:13:",
                "field `process[0].thread[0].ops[1].op`",
                "unknown variant `raed`",
                "`read`",
                "`cancel-io-ex`",
            ],
        ),
        (
            "handle = \"h\", id = \"r1\"",
            "handle = \"h\", lenght = 3",
            &["bad.toml:13:", "unknown field `lenght`", "`length`"],
        ),
        (
            "handle = \"h\", id = \"r1\"",
            "handle = \"nope\"",
            &["bad.toml:13:", "field `process[0].thread[0].ops[1].handle`", "no `open`", "`h`"],
        ),
        (
            "device = \"d\"",
            "device = \"e\"",
            &["bad.toml:12:", "field `process[0].thread[0].ops[0].device`", "no device named `e`", "`d`"],
        ),
        (
            "driver = \"serial\"",
            "driver = \"serial\"\nbug = \"plain-store\"",
            &["bad.toml:5:", "field `device[0].bug`", "only the catalog drivers"],
        ),
        (
            "driver = \"serial\"",
            "driver = \"queue\"\nbug = \"plane-store\"",
            &["field `device[0].bug`", "`plane-store` is not a bug", "`plain-store`"],
        ),
        (
            "driver = \"serial\"",
            "driver = \"serial\"\nhardware_ms = 0",
            &["field `device[0].hardware_ms`", "at least 1"],
        ),
        (
            "{ op = \"read\", handle = \"h\", id = \"r1\" },",
            "{ op = \"read\", handle = \"h\", id = \"r1\" },\n  { op = \"wait\", request = \"r2\" },",
            &["bad.toml:14:", "field `process[0].thread[0].ops[2].request`", "no request has the id `r2`"],
        ),
        (
            "{ op = \"read\", handle = \"h\", id = \"r1\" },",
            "{ op = \"read\", handle = \"h\", id = \"r1\" },\n  { op = \"read\", handle = \"h\", id = \"r1\" },",
            &["field `process[0].thread[0].ops[2].id`", "a second request with the id `r1`"],
        ),
        (
            "{ op = \"read\", handle = \"h\", id = \"r1\" },",
            "{ op = \"read\", handle = \"h\", id = \"r1\" },\n  { op = \"cancel-synchronous-io\", thread = \"u\" },",
            &["field `process[0].thread[0].ops[2].thread`", "no thread `u`", "`t`"],
        ),
    ];
    for (from, to, wants) in edits {
        assert!(BASE.contains(from), "{from}");
        let text = BASE.replacen(from, to, 1);
        let err = scenario::parse(Path::new("bad.toml"), &text).expect_err(to).to_string();
        for want in *wants {
            assert!(err.contains(want), "{to}: `{err}` lacks `{want}`");
        }
    }
    let extra: &[(&str, &[&str])] = &[
        (
            "[expect]\nstatus = { r1 = \"CANCELLED\" }\n",
            &["field `expect.status.r1`", "`STATUS_CANCELLED`", "`disassociated`"],
        ),
        (
            "[expect]\nstatus = { r9 = \"STATUS_SUCCESS\" }\n",
            &["field `expect.status.r9`", "no request has the id `r9`", "`r1`"],
        ),
        (
            "[expect]\nevent_log = { IO_TIMEOUT = 1 }\n",
            &["field `expect.event_log.IO_TIMEOUT`", "`IO_DRIVER_CANCEL_TIMEOUT`"],
        ),
        ("[expect]\nrules = [\"double-complete\"]\n", &["field `expect.rules[0]`", "`irpkit rules`"]),
        ("[random]\ndevice = \"d\"\ncancel = 1.5\n", &["field `random.cancel`", "not a probability"]),
        ("[random]\ndevice = \"nope\"\n", &["field `random.device`", "no device named `nope`"]),
    ];
    for (tail, wants) in extra {
        let text = format!("{BASE}{tail}");
        let err = scenario::parse(Path::new("bad.toml"), &text).expect_err(tail).to_string();
        for want in *wants {
            assert!(err.contains(want), "{tail}: `{err}` lacks `{want}`");
        }
    }
}

#[test]
fn malformed_file_exits_2_with_the_error_on_stderr() {
    let dir = std::env::temp_dir().join(format!("irpkit-scenario-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(&file, "clock = \"sundial\"\n").unwrap();
    let out = irpkit().arg("run").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:1:9: field `clock`"), "{err}");
    let missing = irpkit().args(["run", "/nonexistent/x.toml"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read it"));
}

/// `exit-process` from one thread: its requests are cancelled (or disassociated after the
/// five minutes), and a request another thread issues afterwards is refused
/// `STATUS_DELETE_PENDING` without reaching a driver.
#[test]
fn exit_process_cancels_and_refuses_later_requests() {
    let text = r#"
[[device]]
name = "d"
driver = "pending-read"
hardware_ms = 5
[[device]]
name = "s"
driver = "stubborn"
[[process]]
name = "p"
[[process.thread]]
name = "a"
ops = [
  { op = "open", device = "d", handle = "h" },
  { op = "open", device = "s", handle = "x" },
  { op = "read", handle = "h", id = "r1" },
  { op = "read", handle = "x", id = "stuck" },
  { op = "sleep", ms = 1 },
  { op = "exit-process" },
  { op = "read", handle = "h", id = "never" },
]
[[process.thread]]
name = "b"
ops = [
  { op = "sleep", ms = 400000 },
  { op = "read", handle = "h", id = "late" },
]
[expect]
status = { r1 = "STATUS_CANCELLED", stuck = "disassociated", late = "STATUS_DELETE_PENDING" }
event_log = { IO_DRIVER_CANCEL_TIMEOUT = 1 }
"#;
    let s = scenario::parse(Path::new("exit.toml"), text).unwrap();
    let summary = scenario::run::run(&s);
    assert!(summary.ok(), "{:#?}\n{:?}", summary.expectations, summary.failure);
    assert!(summary.requests.iter().all(|r| r.id != "never"), "nothing runs after exit-process in that thread");
    let late = summary.requests.iter().find(|r| r.id == "late").unwrap();
    assert_eq!(late.cancel_requested_at, None, "a refused request is never outstanding");
    for id in ["r1", "stuck"] {
        let r = summary.requests.iter().find(|r| r.id == id).unwrap();
        assert_eq!(r.cancel_requested_by, Some(scenario::run::CancelCause::ProcessExit), "{id}");
    }
}

/// A request the driver fails at once (never pending) ends with that status, synchronous
/// or overlapped, and is not counted lost; waiting for it returns at once.
#[test]
fn an_immediate_failure_is_the_requests_end() {
    let text = r#"
[[device]]
name = "d"
driver = "serial"
[[process]]
name = "p"
[[process.thread]]
name = "a"
ops = [
  { op = "open", device = "d", handle = "h" },
  { op = "ioctl", handle = "h", code = 0x222000, id = "overlapped" },
  { op = "wait", request = "overlapped" },
  { op = "open", device = "d", handle = "s", overlapped = false },
  { op = "ioctl", handle = "s", code = 0x222000, id = "sync" },
]
[expect]
status = { overlapped = "STATUS_INVALID_DEVICE_REQUEST", sync = "STATUS_INVALID_DEVICE_REQUEST" }
"#;
    let s = scenario::parse(Path::new("ioctl.toml"), text).unwrap();
    let summary = scenario::run::run(&s);
    // Nothing is delivered to the OVERLAPPED of a request that failed at once (as on
    // Windows): `wait` has nothing to wait for, and the thread goes on.
    assert_eq!(summary.failure, None, "the wait must not hang");
    assert!(summary.op_errors.is_empty(), "{:?}", summary.op_errors);
    assert!(summary.ok(), "{:#?}", summary.expectations);
    assert_eq!(summary.unaccounted(), 0);
}

/// `clock = "real"`: free-running threads on the machine's clock reach the same ends.
#[test]
fn a_real_clock_run_reaches_the_same_ends() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/cancel-basics.toml");
    let text = std::fs::read_to_string(&file).unwrap().replacen("\n[[device]]", "clock = \"real\"\n\n[[device]]", 1);
    let s = scenario::parse(&file, &text).unwrap();
    assert_eq!(s.clock, scenario::ClockKind::Real);
    let summary = scenario::run::run(&s);
    assert!(summary.ok(), "{:#?}\n{:?}", summary.expectations, summary.failure);
    assert!(summary.ended_at >= std::time::Duration::from_millis(3), "real time passed: {:?}", summary.ended_at);
}

/// A run that cannot finish (here a synchronous read on a driver that never completes it:
/// the thread waits forever, as it would on Windows) stops with a failure naming what each
/// thread still running was doing, and still lists every request: the pending one is
/// `outstanding`, not missing.
#[test]
fn a_run_that_hangs_reports_its_requests_and_what_each_thread_was_doing() {
    let text = r#"
[[device]]
name = "s"
driver = "stubborn"
[[device]]
name = "r"
driver = "pending-read"
[[process]]
name = "p"
[[process.thread]]
name = "stuck"
ops = [
  { op = "open", device = "r", handle = "q" },
  { op = "read", handle = "q", id = "fine" },
  { op = "open", device = "s", handle = "h", overlapped = false },
  { op = "read", handle = "h", id = "forever" },
]
"#;
    let s = scenario::parse(Path::new("hang.toml"), text).unwrap();
    let summary = scenario::run::run(&s);
    assert!(!summary.ok());
    let failure = summary.failure.as_deref().unwrap();
    assert!(failure.starts_with("deadlock"), "{failure}");
    assert!(
        failure.contains("threads still running when it stopped:\n  p/stuck: op 3: a synchronous read on `h`"),
        "{failure}"
    );
    let ends: Vec<(String, String)> = summary.requests.iter().map(|r| (r.id.clone(), r.end.name())).collect();
    assert_eq!(
        ends,
        [("fine".to_string(), "STATUS_SUCCESS".to_string()), ("forever".to_string(), "outstanding".to_string())]
    );
    assert_eq!(summary.unaccounted(), 0, "reported, not lost");
    assert!(!summary.timeline.is_empty(), "the timeline up to the stop is kept");
    let doc = summary.to_json();
    assert_eq!(doc["requests"]["by_status"]["outstanding"], 1);
}
