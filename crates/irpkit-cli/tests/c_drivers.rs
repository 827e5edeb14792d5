//! C drivers in scenario files: `[[c_driver]]` tables checked like every other field;
//! `irpkit run` builds the test driver `tests/c/echo.c` (a WDM driver with a cancel
//! routine, a timer and DPC, a buffered device control), loads it, runs requests through
//! it and unloads it, with its debug output in the summary; `irpkit explore FILE.toml`
//! finds the driver's classic bug when it is built without its `Irp->Cancel` re-check, and
//! `irpkit replay` reproduces it from the scenario file; drivers that do not build or
//! load are bad input (exit 2) with a message naming what is wrong.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use irpkit_cli::scenario::{self, DefineValue, Op};

fn irpkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_irpkit"))
}

/// The test drivers and their scenarios.
fn c_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("irpkit-cli-c-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Bad input is an error message, never a panic with a backtrace.
fn assert_clean_error(out: &Output, wants: &[&str]) {
    let (stdout, stderr) = text(out);
    assert_eq!(out.status.code(), Some(2), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for want in wants {
        assert!(stderr.contains(want), "stderr lacks `{want}`:\n{stderr}");
    }
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
}

// ---------------------------------------------------------------------------------------
// The scenario format: checked before anything is built.

const BASE: &str = r#"
[[c_driver]]
name = "e"
sources = ["echo.c"]

[[device]]
name = "d"
driver = "c"
c_driver = "e"
path = '\\.\IrpkitEcho'

[[process]]
name = "p"

[[process.thread]]
name = "t"
ops = [
  { op = "open", device = "d", handle = "h" },
  { op = "ioctl", handle = "h", code = 0x222000, input_hex = "0102", output = 4 },
]
"#;

fn parse(text: &str) -> Result<scenario::Scenario, String> {
    // A file in the test drivers' directory: relative paths resolve there.
    scenario::parse(&c_dir().join("check.toml"), text).map_err(|e| e.to_string())
}

#[test]
fn a_c_driver_scenario_parses_with_its_paths_resolved() {
    let text = BASE.replace(
        "sources = [\"echo.c\"]",
        "sources = [\"echo.c\"]\ninclude = [\".\"]\ndefines = { A = 1, B = \"x\", C = true, D = false }\nflags = [\"-O2\"]\nunload = false",
    );
    let s = parse(&text).unwrap();
    let c = &s.c_drivers[0];
    assert_eq!(s.resolve(&c.sources.as_ref().unwrap()[0]), c_dir().join("echo.c"));
    assert_eq!(s.resolve(Path::new("/abs/x.c")), PathBuf::from("/abs/x.c"));
    assert!(!c.unload);
    assert_eq!(c.flags, ["-O2"]);
    let defines: Vec<(&str, Option<Option<String>>)> =
        c.defines.iter().map(|(k, v)| (k.as_str(), v.as_define())).collect();
    assert_eq!(defines, [("A", Some(Some("1".into()))), ("B", Some(Some("x".into()))), ("C", Some(None)), ("D", None)]);
    assert_eq!(c.defines["A"], DefineValue::Integer(1));
    let Op::Ioctl(x) = &s.processes[0].threads[0].ops[1] else { panic!("an ioctl") };
    assert_eq!(x.input_bytes(), Some(vec![1, 2]));
    assert_eq!(x.input_length(), 2, "`input` defaults to the bytes' length");
    assert_eq!(scenario::parse_hex("01 ff_7A"), Ok(vec![1, 0xff, 0x7a]));
}

/// (what is replaced in BASE, with what, the parts the error must contain).
#[test]
fn c_driver_mistakes_name_file_line_column_and_field() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "c_driver = \"e\"",
            "c_driver = \"nope\"",
            &["check.toml:9:12", "field `device[0].c_driver`", "no C driver named `nope`", "C drivers: `e`"],
        ),
        ("c_driver = \"e\"\n", "", &["field `device[0].c_driver`", "needs `c_driver`"]),
        ("path = '\\\\.\\IrpkitEcho'\n", "", &["field `device[0].path`", "needs `path`", "IoCreateSymbolicLink"]),
        ("path = '\\\\.\\IrpkitEcho'", "path = 'IrpkitEcho'", &["check.toml:10:8", "is not a device name"]),
        (
            "sources = [\"echo.c\"]",
            "sources = [\"echo.c\"]\nshared_object = \"echo.so\"",
            &["check.toml:5:17", "field `c_driver[0].shared_object`", "not both"],
        ),
        ("sources = [\"echo.c\"]\n", "", &["field `c_driver[0]`", "neither `sources`", "nor `shared_object`"]),
        ("sources = [\"echo.c\"]", "sources = []", &["field `c_driver[0].sources`", "no source files"]),
        (
            "sources = [\"echo.c\"]",
            "sources = [\"echo.c\", \"missing.c\"]",
            &["check.toml:4:22", "field `c_driver[0].sources[1]`", "no file", "tests/c/missing.c"],
        ),
        (
            "sources = [\"echo.c\"]",
            "shared_object = \"build/none.so\"",
            &["field `c_driver[0].shared_object`", "no file", "build/none.so"],
        ),
        (
            "sources = [\"echo.c\"]",
            "sources = [\"echo.c\"]\ninclude = [\"no-such-dir\"]",
            &["check.toml:5:12", "field `c_driver[0].include[0]`", "no directory"],
        ),
        (
            "sources = [\"echo.c\"]",
            "sources = [\"echo.c\"]\ndefines = { X = 1.5 }",
            &["check.toml:5:", "field `c_driver[0].defines.X`", "a string, an integer or a boolean"],
        ),
        (
            "sources = [\"echo.c\"]",
            "sources = [\"echo.c\"]\ndefines = { \"1X\" = 1 }",
            &["field `c_driver[0].defines.1X`", "not a C macro name"],
        ),
        (
            "sources = [\"echo.c\"]",
            "sources = [\"echo.c\"]\nsauces = [\"x.c\"]",
            &["check.toml:5:1", "unknown field `sauces`", "`sources`", "`shared_object`"],
        ),
        (
            "sources = [\"echo.c\"]",
            "sources = [\"echo.c\"]\n[[c_driver]]\nname = \"e\"\nsources = [\"echo.c\"]",
            &["check.toml:6:8", "field `c_driver[1].name`", "a second C driver named `e`"],
        ),
        ("name = \"e\"\nsources", "name = \"e f\"\nsources", &["field `c_driver[0].name`", "not a driver name"]),
        (
            "driver = \"c\"",
            "driver = \"c\"\nhardware_ms = 3",
            &["field `device[0].hardware_ms`", "the driver's code decides"],
        ),
        (
            "driver = \"c\"\nc_driver = \"e\"\npath = '\\\\.\\IrpkitEcho'",
            "driver = \"serial\"\npath = '\\\\.\\IrpkitEcho'",
            &["field `device[0].path`", "only `driver = \"c\"` devices have it"],
        ),
        (
            "input_hex = \"0102\"",
            "input_hex = \"01g2\"",
            &["check.toml:19:", "field `process[0].thread[0].ops[1].input_hex`", "`g` is not a hex digit"],
        ),
        ("input_hex = \"0102\"", "input_hex = \"010\"", &["ops[1].input_hex`", "3 hex digits"]),
        (
            "input_hex = \"0102\"",
            "input_hex = \"0102\", input = 3",
            &["field `process[0].thread[0].ops[1].input`", "`input` is 3 but `input_hex` holds 2 byte(s)"],
        ),
    ];
    for (from, to, wants) in cases {
        assert!(BASE.contains(from), "{from}");
        let text = BASE.replacen(from, to, 1);
        let err = parse(&text).expect_err(to);
        for want in *wants {
            assert!(err.contains(want), "{to}: `{err}` lacks `{want}`");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running the test driver.

fn request<'a>(doc: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    let list = doc["requests"]["list"].as_array().unwrap();
    list.iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("no request {id}: {doc}"))
}

/// `irpkit run` on the echo driver: DriverEntry runs, the cancelled read ends cancelled
/// (by its cancel routine), the other is completed by the timer's DPC, the device control
/// reads its input from the system buffer, DriverUnload runs at the end; every request is
/// accounted for, nothing is reported, the debug output is in the summary — the same on
/// every run (virtual clock).
#[test]
fn run_echo_driver_cancels_one_read_and_shows_its_debug_output() {
    let dir = scratch("run");
    let file = c_dir().join("echo.toml");
    let trace = dir.join("echo.trace.json");
    let runs: Vec<serde_json::Value> = (0..2)
        .map(|_| {
            let out = irpkit().arg("run").arg(&file).arg("--json").arg("--trace").arg(&trace).output().unwrap();
            let (stdout, stderr) = text(&out);
            assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
            serde_json::from_str(&stdout).unwrap()
        })
        .collect();
    let doc = &runs[0];
    assert_eq!(doc["format"], "irpkit-run/1");
    assert_eq!(doc["ok"], true, "{doc:#}");
    assert_eq!(doc["requests"]["total"], 3);
    assert_eq!(doc["requests"]["unaccounted"], 0);
    assert_eq!(doc["verifier_reports"].as_array().unwrap().len(), 0, "{doc:#}");
    assert!(doc["expectations"].as_array().unwrap().iter().all(|e| e["held"] == true), "{doc:#}");
    assert_eq!(request(doc, "r1")["end"], "STATUS_CANCELLED");
    assert_eq!(request(doc, "r1")["cancel_requested_by"], "CancelIoEx");
    assert_eq!(request(doc, "r2")["end"], "STATUS_SUCCESS");
    assert!(request(doc, "r2")["completed_at_us"].as_f64().unwrap() >= 10_000.0, "the timer's 10 ms");
    assert_eq!(request(doc, "r2")["device"], "\\Device\\IrpkitEcho");
    assert_eq!(request(doc, "sum")["end"], "STATUS_SUCCESS");
    assert_eq!(request(doc, "sum")["information"], 4, "sizeof(ULONG)");

    let lines = doc["debug_output"].as_array().unwrap();
    let texts: Vec<&str> = lines.iter().map(|l| l["text"].as_str().unwrap()).collect();
    let expected = [
        "irpkit_echo: DriverEntry: \\Device\\IrpkitEcho ready, reads complete every 10 ms",
        "irpkit_echo: cancel routine: read cancelled",
        "irpkit_echo: timer: read completed",
        "irpkit_echo: sum of 4 input bytes is 10",
        "irpkit_echo: unloading: 1 read(s) completed, 1 cancelled",
    ];
    assert_eq!(texts, expected, "in the order printed");
    for l in lines {
        assert_eq!(l["driver"], "\\Driver\\irpkit_echo", "{l}");
        assert!(l["at_ms"].is_number(), "{l}");
    }
    assert!(lines[2]["at_ms"].as_f64().unwrap() >= 10.0, "the DPC ran when the timer expired");
    assert_eq!(runs[0], runs[1], "a C driver on the virtual clock is as deterministic as the samples");

    // The timeline: each line an instant event on the thread that printed it.
    let t: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let events = t["traceEvents"].as_array().unwrap();
    let instant = |prefix: &str| {
        events
            .iter()
            .find(|e| e["ph"] == "i" && e["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
            .unwrap_or_else(|| panic!("no instant event `{prefix}`"))
    };
    let thread_of = |e: &serde_json::Value| {
        events
            .iter()
            .find(|m| m["ph"] == "M" && m["name"] == "thread_name" && m["pid"] == e["pid"] && m["tid"] == e["tid"])
            .map(|m| m["args"]["name"].as_str().unwrap().to_string())
            .unwrap()
    };
    let entry = instant("DbgPrint: irpkit_echo: DriverEntry");
    assert_eq!(entry["s"], "t");
    assert_eq!(thread_of(entry), "scenario", "DriverEntry runs on the scenario's thread");
    let cancel = instant("DbgPrint: irpkit_echo: cancel routine");
    assert_eq!(thread_of(cancel), "app/reader", "CancelIoEx runs the cancel routine in the caller");
    let timer = instant("DbgPrint: irpkit_echo: timer");
    assert_ne!(thread_of(timer), "app/reader", "the DPC runs on the DPC thread");

    // The table shows it too.
    let out = irpkit().arg("run").arg(&file).output().unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("debug output (5 line(s)):"), "{stdout}");
    assert!(stdout.contains("\\Driver\\irpkit_echo: irpkit_echo: sum of 4 input bytes is 10"), "{stdout}");
    assert!(stdout.contains("unaccounted: 0") && stdout.contains("verifier reports: 0"), "{stdout}");
}

/// An application's event reaches a C driver (`notify.c`): `create-event` makes it,
/// `handles_at` writes its handle into the ioctl's input, the driver references it with
/// ObReferenceObjectByHandle and its timer's DPC signals it 5 ms later, which
/// `wait-event` sees. Waiting for less than that is an operation error, which
/// `operation_errors = 0` turns into a failed expectation; naming an event no
/// `create-event` makes, or a handle that does not fit in the input, is refused up front.
#[test]
fn an_applications_event_is_signalled_by_the_driver() {
    let file = c_dir().join("notify.toml");
    let out = irpkit().arg("run").arg(&file).arg("--json").output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["ok"], true, "{doc:#}");
    let lines: Vec<(&str, f64)> = doc["debug_output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["text"].as_str().unwrap(), l["at_ms"].as_f64().unwrap()))
        .collect();
    assert_eq!(lines, [("irpkit_notify: registered", 0.0), ("irpkit_notify: timer: signalling the event", 5.0)]);

    let dir = scratch("notify");
    let text_of = std::fs::read_to_string(&file).unwrap();
    let source = c_dir().join("notify.c");
    let with_source =
        text_of.replace("sources = [\"notify.c\"]", &format!("sources = [{:?}]", source.display().to_string()));
    let late = dir.join("late.toml");
    std::fs::write(&late, with_source.replace("timeout_ms = 100", "timeout_ms = 2")).unwrap();
    let out = irpkit().arg("run").arg(&late).output().unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("event `done` was not signalled within 2 ms"), "{stdout}");
    assert!(stdout.contains("expect 0 operation error(s): FAILS (1)"), "{stdout}");

    let unknown = dir.join("unknown.toml");
    std::fs::write(&unknown, with_source.replace("handles_at = { done = 8 }", "handles_at = { dnoe = 8 }")).unwrap();
    assert_clean_error(
        &irpkit().arg("run").arg(&unknown).output().unwrap(),
        &["handles_at", "no `create-event` in process `app` makes an event `dnoe`; events: `done`"],
    );
    let short = dir.join("short.toml");
    std::fs::write(&short, with_source.replace("handles_at = { done = 8 }", "handles_at = { done = 12 }")).unwrap();
    assert_clean_error(
        &irpkit().arg("run").arg(&short).output().unwrap(),
        &["the handle of `done` at offset 12 takes bytes 12..20 but the input holds 16"],
    );
}

/// The C samples' scenario files (`drivers/*/*.toml`): `irpkit run` of each holds its
/// expectations, accounts for every request and reports nothing; the drivers unload in
/// reverse load order (the filter before the driver it is attached to).
#[test]
fn the_c_samples_scenario_files_run_clean() {
    let drivers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../drivers");
    for sample in ["startio", "queue", "csq", "filter"] {
        let file = drivers.join(sample).join(format!("{sample}.toml"));
        let out = irpkit().arg("run").arg(&file).arg("--json").output().unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{sample}: {stdout}\n{stderr}");
        let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(doc["ok"], true, "{sample}: {doc:#}");
        assert!(doc["requests"]["total"].as_u64().unwrap() >= 3, "{sample}: {doc:#}");
        assert_eq!(doc["requests"]["unaccounted"], 0, "{sample}: {doc:#}");
        assert_eq!(doc["verifier_reports"].as_array().unwrap().len(), 0, "{sample}: {doc:#}");
        let expectations = doc["expectations"].as_array().unwrap();
        assert!(!expectations.is_empty() && expectations.iter().all(|e| e["held"] == true), "{sample}: {doc:#}");
        if sample == "filter" {
            let unloads: Vec<&str> = doc["debug_output"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["text"].as_str().unwrap().contains(": unload"))
                .map(|l| l["driver"].as_str().unwrap())
                .collect();
            assert_eq!(unloads, ["\\Driver\\IrpkitFilter", "\\Driver\\IrpkitCsq"], "{doc:#}");
        }
    }
}

/// The driver without its Irp->Cancel re-check: `irpkit explore FILE.toml` finds the read
/// pended with nobody to cancel it, saves a schedule naming the file, and `irpkit replay`
/// reproduces it from the file — identically each time, drawn as a timeline on demand;
/// it warns when the file changed and stops when it is gone.
#[test]
fn explore_finds_the_missing_cancel_recheck_and_replay_reproduces_it() {
    let dir = scratch("explore");
    for f in ["echo.c", "echo-race-no-recheck.toml"] {
        std::fs::copy(c_dir().join(f), dir.join(f)).unwrap();
    }
    let file = dir.join("echo-race-no-recheck.toml");
    let schedule = dir.join("found.schedule.json");
    let out =
        irpkit().arg("explore").arg(&file).args(["--iterations", "2000", "--out"]).arg(&schedule).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "a violation exits 1:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("echo-race-no-recheck") && stdout.contains("VIOLATION cancel-flag-not-checked"),
        "{stdout}"
    );
    assert!(
        stdout.contains("dispatch routine for IRP_MJ_READ EchoRead (irpkit_echo.so) of \\Driver\\irpkit_echo"),
        "the report names the C routine by its symbol and the driver:\n{stdout}"
    );

    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&schedule).unwrap()).unwrap();
    assert_eq!(saved["format"], "irpkit-schedule/2");
    assert_eq!(saved["scenario"], "echo-race-no-recheck");
    assert_eq!(saved["violation"], "cancel-flag-not-checked");
    assert_eq!(saved["scenario_file"]["path"], file.to_string_lossy().as_ref());
    let absolute = PathBuf::from(saved["scenario_file"]["absolute"].as_str().unwrap());
    assert!(absolute.is_absolute() && absolute.is_file(), "{absolute:?}");
    assert!(saved["scenario_file"]["hash"].as_str().unwrap().starts_with("fnv1a64:"), "{saved}");
    assert!(saved["scenario_file"]["drivers_hash"].as_str().unwrap().starts_with("fnv1a64:"), "{saved}");

    let replay = |extra: &[&str]| {
        let out = irpkit().arg("replay").arg(&schedule).args(extra).output().unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        (stdout, stderr)
    };
    let runs: Vec<String> = (0..2)
        .map(|_| {
            let (stdout, _) = replay(&[]);
            assert!(stdout.contains("reproduced: cancel-flag-not-checked"), "{stdout}");
            assert!(stdout.contains("IoSetCancelRoutine"), "step by step:\n{stdout}");
            stdout.lines().filter(|l| !l.contains(" at 0x")).collect::<Vec<_>>().join("\n")
        })
        .collect();
    assert_eq!(runs[0], runs[1], "replay is deterministic");
    let (_, stderr) = replay(&[]);
    assert!(!stderr.contains("warning"), "nothing changed: {stderr}");

    // Explored by a relative path, replayed from another directory: the same files, so no
    // warning that they changed.
    let relative = irpkit()
        .current_dir(&dir)
        .args(["explore", "echo-race-no-recheck.toml", "--iterations", "2000", "--out", "relative.schedule.json"])
        .output()
        .unwrap();
    assert_eq!(relative.status.code(), Some(1), "{}", text(&relative).0);
    let out = irpkit().arg("replay").arg(dir.join("relative.schedule.json")).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(stdout.contains("reproduced: cancel-flag-not-checked"), "{stdout}");
    assert!(!stderr.contains("warning"), "the files did not change: {stderr}");

    let (json, _) = replay(&["--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["reproduced"], true);
    assert_eq!(doc["got"], "cancel-flag-not-checked");
    assert_eq!(doc["scenario_file"], file.to_string_lossy().as_ref());

    let (html, trace) = (dir.join("race.html"), dir.join("race.trace.json"));
    replay(&["--html", html.to_str().unwrap(), "--trace", trace.to_str().unwrap()]);
    let trace_text = std::fs::read_to_string(&trace).unwrap();
    assert!(trace_text.contains("verifier: cancel-flag-not-checked"), "the report is marked");
    assert!(trace_text.contains("DbgPrint: irpkit_echo: DriverEntry"), "the driver's output is on the timeline");
    assert!(std::fs::read_to_string(&html).unwrap().contains("verifier: cancel-flag-not-checked"));

    // The file changed: a warning, and the replay goes on.
    let mut changed = std::fs::read_to_string(&file).unwrap();
    changed.push_str("\n# edited after the schedule was saved\n");
    std::fs::write(&file, changed).unwrap();
    let (stdout, stderr) = replay(&[]);
    assert!(stderr.contains("warning") && stderr.contains("has changed since the schedule was saved"), "{stderr}");
    assert!(stdout.contains("reproduced: cancel-flag-not-checked"), "{stdout}");

    // The file is gone: a clear error.
    std::fs::remove_file(&file).unwrap();
    let out = irpkit().arg("replay").arg(&schedule).output().unwrap();
    assert_clean_error(&out, &["is gone", "echo-race-no-recheck.toml"]);
}

/// The same race on the correct driver: no schedule breaks a rule.
#[test]
fn explore_of_the_correct_driver_finds_nothing() {
    // (A violation's schedule would go to the scratch directory, not the crate's.)
    let dir = scratch("correct");
    let out = irpkit()
        .arg("explore")
        .arg(c_dir().join("echo-race.toml"))
        .args(["--iterations", "300", "--out"])
        .arg(dir.join("echo-race.schedule.json"))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("echo-race") && stdout.contains("300") && stdout.contains("no violation"), "{stdout}");
}

/// `irpkit explore FILE.toml` reports cancel coverage for a C driver's requests too, named
/// by the ids the file gives them.
#[test]
fn explore_of_a_c_driver_scenario_reports_cancel_coverage() {
    let dir = scratch("coverage");
    let run = |json: bool| {
        let mut cmd = irpkit();
        cmd.arg("explore").arg(c_dir().join("echo-race.toml")).args(["--iterations", "100", "--out"]);
        cmd.arg(dir.join("echo-race.schedule.json"));
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
        text(&out).0
    };
    let table = run(false);
    assert!(table.contains("cancel coverage over 100 schedule(s)") && table.contains("app/reader: r1"), "{table}");
    let doc: serde_json::Value = serde_json::from_str(&run(true)).expect("JSON");
    let cov = &doc["scenarios"][0]["coverage"];
    let requests = cov["requests"].as_array().unwrap();
    let r1 = requests.iter().find(|r| r["label"] == "r1").expect("the read r1 was cancelled");
    assert_eq!(
        (&r1["request"], &r1["thread"], &r1["major"]),
        (&"app/reader: r1".into(), &"app/reader".into(), &"IRP_MJ_READ".into())
    );
    assert_eq!(r1["schedules"], 100);
    // The driver pends the read with a cancel routine: the canceller lands there.
    assert!(r1["hits"]["driver-queue"].as_u64().unwrap() > 0, "{r1}");
    assert!(r1["hits"]["device-queue"].is_null(), "{r1}");
}

// ---------------------------------------------------------------------------------------
// Drivers that do not build or load: bad input, exit 2.

/// A scenario file in `dir` with one C driver (`driver`: the rest of its table) and a
/// device at `path`.
fn write_scenario(dir: &Path, driver: &str, path: &str) -> PathBuf {
    let file = dir.join("s.toml");
    let text = format!(
        "[[c_driver]]\nname = \"drv\"\n{driver}\n\n[[device]]\nname = \"d\"\ndriver = \"c\"\nc_driver = \"drv\"\n\
         path = '{path}'\n\n[[process]]\nname = \"p\"\n[[process.thread]]\nname = \"t\"\n\
         ops = [{{ op = \"open\", device = \"d\", handle = \"h\" }}, {{ op = \"close\", handle = \"h\" }}]\n"
    );
    std::fs::write(&file, text).unwrap();
    file
}

fn echo_source() -> String {
    format!("sources = ['{}']", c_dir().join("echo.c").display())
}

#[test]
fn a_syntax_error_is_the_compilers_message_naming_the_file() {
    let dir = scratch("syntax");
    std::fs::write(
        dir.join("broken.c"),
        "#include <wdm.h>\n\nNTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r)\n{\n    return STATUS_SUCCESS\n}\n",
    )
    .unwrap();
    let file = write_scenario(&dir, "sources = [\"broken.c\"]", "\\\\.\\X");
    let out = irpkit().arg("run").arg(&file).output().unwrap();
    assert_clean_error(
        &out,
        &["s.toml", "C driver `drv` did not build", "broken.c did not compile", "broken.c:6:1: error: expected ';'"],
    );
}

#[test]
fn a_kernel_routine_irpkit_lacks_is_named() {
    let dir = scratch("unresolved");
    let file = write_scenario(
        &dir,
        &format!("{}\ndefines = {{ ECHO_CALL_MISSING_ROUTINE = true }}", echo_source()),
        "\\\\.\\IrpkitEcho",
    );
    let out = irpkit().arg("run").arg(&file).output().unwrap();
    assert_clean_error(&out, &["C driver `drv` did not load", "ZwQueryInformationProcess", "does not provide"]);
}

#[test]
fn a_driver_without_driver_entry_is_refused() {
    let dir = scratch("noentry");
    std::fs::write(
        dir.join("noentry.c"),
        "#include <wdm.h>\n\nNTSTATUS NotTheEntry(PDRIVER_OBJECT d)\n{\n    UNREFERENCED_PARAMETER(d);\n    return STATUS_SUCCESS;\n}\n",
    )
    .unwrap();
    let file = write_scenario(&dir, "sources = [\"noentry.c\"]", "\\\\.\\X");
    let out = irpkit().arg("run").arg(&file).output().unwrap();
    assert_clean_error(&out, &["C driver `drv` did not load", "has no DriverEntry"]);
}

/// DriverEntry's failure status is named, by `irpkit run` and by `irpkit explore`
/// (which saves no schedule for it).
#[test]
fn a_failing_driver_entry_names_its_status() {
    let dir = scratch("fails");
    let file = write_scenario(
        &dir,
        &format!("{}\ndefines = {{ ECHO_FAIL_ENTRY = true }}", echo_source()),
        "\\\\.\\IrpkitEcho",
    );
    let out = irpkit().arg("run").arg(&file).output().unwrap();
    assert_clean_error(&out, &["s.toml", "DriverEntry of \\Driver\\drv failed", "STATUS_UNSUCCESSFUL"]);
    let schedule = dir.join("x.schedule.json");
    let out = irpkit().arg("explore").arg(&file).args(["--iterations", "5", "--out"]).arg(&schedule).output().unwrap();
    assert_clean_error(&out, &["s.toml", "STATUS_UNSUCCESSFUL"]);
    assert!(!schedule.exists(), "a setup error is not a violation to replay");
}

#[test]
fn a_device_path_the_driver_did_not_make_lists_what_it_made() {
    let dir = scratch("nodevice");
    let file = write_scenario(&dir, &echo_source(), "\\\\.\\NoSuchDevice");
    let out = irpkit().arg("run").arg(&file).output().unwrap();
    assert_clean_error(
        &out,
        &["device `d`", "made no device named `\\\\.\\NoSuchDevice`", "its devices: `\\Device\\IrpkitEcho`"],
    );
    // Link names compare without regard to case (irpkit lists them lower-cased).
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(stderr.contains("symbolic links it created: `\\??\\irpkitecho` -> `\\device\\irpkitecho`"), "{stderr}");
}

#[test]
fn explore_refuses_a_path_that_is_not_a_scenario_file() {
    let out = irpkit().args(["explore", "notes.txt"]).output().unwrap();
    assert_clean_error(&out, &["`notes.txt` is not a scenario file", "--scenario"]);
    let out = irpkit().args(["explore", "/no/such/file.toml"]).output().unwrap();
    assert_clean_error(&out, &["/no/such/file.toml", "cannot read it"]);
}

/// A C driver that recurses without bound in DriverEntry, on a controlled thread's stack
/// made small with `--stack-kib`: the process ends with a report that names the stack's
/// size and the option, not a bare segmentation fault.
#[test]
fn a_driver_overflowing_its_stack_under_the_explorer_is_reported() {
    let dir = scratch("overflow");
    std::fs::write(
        dir.join("deep.c"),
        "#include <ntddk.h>\n\
         static ULONG Deep(ULONG n)\n{\n    volatile UCHAR pad[512];\n    pad[n % 512] = (UCHAR)n;\n    \
         if (n == 0xFFFFFFFFu)\n        return 0;\n    return Deep(n + 1) + pad[(n + 7) % 512];\n}\n\
         NTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r)\n{\n    UNREFERENCED_PARAMETER(d);\n    \
         UNREFERENCED_PARAMETER(r);\n    return Deep(0) == 1 ? STATUS_UNSUCCESSFUL : STATUS_SUCCESS;\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("deep.toml"),
        "[[c_driver]]\nname = \"deep\"\nsources = [\"deep.c\"]\n\n[[process]]\nname = \"p\"\n\n\
         [[process.thread]]\nname = \"t\"\nops = []\n",
    )
    .unwrap();
    let out = irpkit()
        .args(["explore", "--iterations", "1", "--jobs", "1", "--stack-kib", "64"])
        .arg(dir.join("deep.toml"))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(134), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("overflowed its stack of 64 KiB") && stderr.contains("--stack-kib"), "{stderr}");
}
