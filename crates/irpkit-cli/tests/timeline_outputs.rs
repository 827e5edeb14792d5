//! `--trace` and `--html`: the trace is valid Chrome trace-event JSON (checked against the
//! format's rules below) with the tracks and flows the timeline promises; the HTML page is
//! self-contained and renders in headless Chromium.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn irpkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_irpkit"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("irpkit-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Checks `doc` against the trace-event format (JSON object form) as irpkit uses it:
/// complete events (`X`), metadata (`M`) and flow events (`s`, `t`, `f`). Returns the
/// problems found.
fn trace_format_problems(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(events) = doc.get("traceEvents").and_then(Value::as_array) else {
        return vec!["no `traceEvents` array at the top level".into()];
    };
    if let Some(unit) = doc.get("displayTimeUnit") {
        if unit != "ms" && unit != "ns" {
            problems.push(format!("displayTimeUnit must be \"ms\" or \"ns\", not {unit}"));
        }
    }
    let mut process_names = BTreeMap::new();
    let mut thread_names = BTreeMap::new();
    let mut slices: BTreeMap<(u64, u64), Vec<(f64, f64)>> = BTreeMap::new();
    // (cat, name, id) → (phase, ts, pid, tid, binds to the enclosing slice)
    type FlowPoints = Vec<(String, f64, u64, u64, bool)>;
    let mut flows: BTreeMap<(String, String, u64), FlowPoints> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        let at = |what: &str| format!("event {i} ({e}): {what}");
        let ph = e["ph"].as_str().unwrap_or("");
        let name = e["name"].as_str().unwrap_or("");
        if name.is_empty() {
            problems.push(at("no name"));
        }
        let (Some(pid), Some(tid)) = (e["pid"].as_u64(), e["tid"].as_u64()) else {
            problems.push(at("pid and tid must be non-negative integers"));
            continue;
        };
        let ts = e["ts"].as_f64();
        match ph {
            "M" => match name {
                "process_name" | "thread_name" => match e["args"]["name"].as_str() {
                    Some(n) if name == "process_name" => {
                        process_names.insert(pid, n.to_string());
                    }
                    Some(n) => {
                        thread_names.insert((pid, tid), n.to_string());
                    }
                    None => problems.push(at("a name metadata event needs args.name")),
                },
                "process_sort_index" | "thread_sort_index" => {
                    if e["args"]["sort_index"].as_i64().is_none() {
                        problems.push(at("a sort-index metadata event needs an integer args.sort_index"));
                    }
                }
                other => problems.push(at(&format!("unknown metadata event {other}"))),
            },
            "X" => {
                let (Some(ts), Some(dur)) = (ts, e["dur"].as_f64()) else {
                    problems.push(at("a complete event needs numeric ts and dur"));
                    continue;
                };
                if ts < 0.0 || dur < 0.0 {
                    problems.push(at("negative ts or dur"));
                }
                if !e["cat"].is_string() {
                    problems.push(at("cat must be a string"));
                }
                if !e["args"].is_null() && !e["args"].is_object() {
                    problems.push(at("args must be an object"));
                }
                slices.entry((pid, tid)).or_default().push((ts, ts + dur));
            }
            "s" | "t" | "f" => {
                let (Some(ts), Some(id), Some(cat)) = (ts, e["id"].as_u64(), e["cat"].as_str()) else {
                    problems.push(at("a flow event needs ts, an id and a cat"));
                    continue;
                };
                let enclosing = ph != "f" || e["bp"] == "e";
                flows.entry((cat.to_string(), name.to_string(), id)).or_default().push((
                    ph.to_string(),
                    ts,
                    pid,
                    tid,
                    enclosing,
                ));
            }
            other => problems.push(at(&format!("phase {other} is not one irpkit writes"))),
        }
    }
    for ((pid, tid), list) in &mut slices {
        if !process_names.contains_key(pid) {
            problems.push(format!("process {pid} has slices but no process_name"));
        }
        if !thread_names.contains_key(&(*pid, *tid)) {
            problems.push(format!("track {pid}/{tid} has slices but no thread_name"));
        }
        // Complete events on one track must nest: sorted by start (longest first), each
        // either ends before the next starts or contains it.
        list.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
        let mut open: Vec<f64> = Vec::new();
        for &(start, end) in list.iter() {
            while open.last().is_some_and(|&e| e <= start) {
                open.pop();
            }
            if let Some(&outer) = open.last() {
                if end > outer + 1e-9 {
                    problems
                        .push(format!("track {pid}/{tid}: slice {start}..{end} overlaps its parent ending {outer}"));
                }
            }
            open.push(end);
        }
    }
    for ((cat, name, id), points) in &flows {
        let phases: String = points.iter().map(|p| p.0.as_str()).collect();
        let ok_shape = phases.len() >= 2
            && phases.starts_with('s')
            && phases.ends_with('f')
            && phases[1..phases.len() - 1].chars().all(|c| c == 't');
        if !ok_shape {
            problems.push(format!("flow {cat}/{name}/{id}: phases {phases}, expected s t* f"));
        }
        if points.windows(2).any(|w| w[1].1 < w[0].1) {
            problems.push(format!("flow {cat}/{name}/{id}: goes back in time"));
        }
        for &(ref ph, ts, pid, tid, enclosing) in points {
            let inside = slices.get(&(pid, tid)).is_some_and(|l| l.iter().any(|&(s, e)| s <= ts && ts <= e));
            if enclosing && !inside {
                problems.push(format!("flow {cat}/{name}/{id}: its {ph} point at {ts} is in no slice of {pid}/{tid}"));
            }
        }
    }
    problems
}

fn run_demo(dir: &Path) -> (Value, String, Value) {
    let (trace, html) = (dir.join("demo.trace.json"), dir.join("demo.html"));
    let out = irpkit().arg("demo").arg("--trace").arg(&trace).arg("--html").arg(&html).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let json = irpkit().args(["demo", "--json", "--no-files"]).output().unwrap();
    assert_eq!(json.status.code(), Some(0));
    (
        serde_json::from_slice(&std::fs::read(&trace).unwrap()).unwrap(),
        std::fs::read_to_string(&html).unwrap(),
        serde_json::from_slice(&json.stdout).unwrap(),
    )
}

/// `irpkit demo` on a fresh checkout: every request accounted for, no verifier report,
/// and a trace that is valid trace-event JSON with an IRP track per request, thread and
/// DPC tracks, and a cancel flow for every cancelled request.
#[test]
fn demo_writes_a_trace_that_loads() {
    let dir = temp_dir("demo-trace");
    let (trace, _, summary) = run_demo(&dir);
    assert_eq!(summary["requests"]["unaccounted"], 0);
    assert_eq!(summary["verifier_reports"].as_array().unwrap().len(), 0);
    let problems = trace_format_problems(&trace);
    assert!(problems.is_empty(), "{problems:#?}");

    let events = trace["traceEvents"].as_array().unwrap();
    let named = |pid: u64| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["ph"] == "M" && e["name"] == "thread_name" && e["pid"] == pid)
            .map(|e| e["args"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (irp_tracks, thread_tracks, dpc_tracks) = (named(1), named(2), named(3));
    let requests = summary["requests"]["list"].as_array().unwrap();
    for r in requests {
        let (id, irp) = (r["id"].as_str().unwrap(), r["irp"].as_u64().unwrap());
        assert!(irp_tracks.iter().any(|t| t.starts_with(&format!("IRP #{irp} ({id} "))), "{id}: {irp_tracks:?}");
    }
    for t in ["app/serial", "app/csq", "app/leaver", "app/blocked", "app/rescuer"] {
        assert!(thread_tracks.iter().any(|n| n == t), "{t}: {thread_tracks:?}");
    }
    assert_eq!(dpc_tracks, ["DPC queue"], "the serial hardware's timer DPCs");
    let flow_ids: Vec<u64> = events.iter().filter(|e| e["ph"] == "s").map(|e| e["id"].as_u64().unwrap()).collect();
    // Every request someone asked to cancel has its flow (IRP_MJ_CLEANUP is not a cancel
    // request: a2 and a3 end cancelled without one).
    let asked: Vec<&Value> = requests.iter().filter(|r| !r["cancel_requested_at_us"].is_null()).collect();
    assert!(asked.len() >= 8, "{asked:?}");
    for r in asked {
        let irp = r["irp"].as_u64().unwrap();
        assert!(flow_ids.contains(&irp), "request {} (IRP #{irp}) has a cancel flow", r["id"]);
    }
    // The five-minute rule is visible: the leaver's exit lasts five minutes of clock time.
    let exit = events
        .iter()
        .find(|e| {
            e["ph"] == "X" && e["name"].as_str().unwrap().starts_with("thread exit") && e["dur"].as_f64().unwrap() > 1e6
        })
        .expect("a long thread exit");
    // (events in one instant are spread 1 µs apart, so the slice starts a little late)
    assert!(exit["dur"].as_f64().unwrap() >= 299.99e6, "{exit}");
    let abandoned = requests.iter().find(|r| r["id"] == "abandoned").unwrap()["irp"].as_u64().unwrap();
    assert!(events.iter().any(|e| e["ph"] == "X"
        && e["name"].as_str().unwrap().starts_with("disassociated")
        && e["tid"].as_u64().unwrap() > 0
        && irp_tracks.iter().any(|t| t.starts_with(&format!("IRP #{abandoned} ")))));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The validator itself catches what it is there for.
#[test]
fn the_trace_validator_rejects_broken_traces() {
    let bad = [
        (serde_json::json!({"events": []}), "traceEvents"),
        (
            serde_json::json!({"traceEvents": [{"ph": "X", "name": "a", "pid": 1, "tid": 1, "ts": 0, "cat": "c"}]}),
            "dur",
        ),
        (
            serde_json::json!({"traceEvents": [
                {"ph": "M", "name": "process_name", "pid": 1, "tid": 0, "args": {"name": "p"}},
                {"ph": "M", "name": "thread_name", "pid": 1, "tid": 1, "args": {"name": "t"}},
                {"ph": "X", "name": "a", "pid": 1, "tid": 1, "ts": 0, "dur": 10, "cat": "c"},
                {"ph": "X", "name": "b", "pid": 1, "tid": 1, "ts": 5, "dur": 10, "cat": "c"}]}),
            "overlaps",
        ),
        (
            serde_json::json!({"traceEvents": [
                {"ph": "s", "name": "f", "cat": "c", "id": 1, "pid": 1, "tid": 1, "ts": 3}]}),
            "expected s t* f",
        ),
        (
            serde_json::json!({"traceEvents": [{"ph": "X", "name": "a", "pid": 1, "tid": 1, "ts": 0, "dur": 1, "cat": "c"}]}),
            "no thread_name",
        ),
    ];
    for (doc, expected) in bad {
        let problems = trace_format_problems(&doc);
        assert!(problems.iter().any(|p| p.contains(expected)), "{doc}: {problems:?}");
    }
}

/// `irpkit run --trace` works for any scenario file (the random one here), and a file
/// that cannot be written is a clear error with exit code 2.
#[test]
fn run_writes_a_valid_trace_and_reports_an_unwritable_path() {
    let dir = temp_dir("run-trace");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/random-disk.toml");
    let trace = dir.join("random.json");
    let out = irpkit().arg("run").arg(&file).arg("--trace").arg(&trace).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let doc: Value = serde_json::from_slice(&std::fs::read(&trace).unwrap()).unwrap();
    let problems = trace_format_problems(&doc);
    assert!(problems.is_empty(), "{problems:#?}");
    let out = irpkit().arg("run").arg(&file).arg("--trace").arg(dir.join("no/such/dir/t.json")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write the trace to") && err.contains("no/such/dir"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `irpkit replay --trace/--html` draws the replayed interleaving: a valid trace whose
/// IRP track carries the verifier's report where it was filed, the same IRPs and threads
/// the step listing names, and the page with the listing above the timeline.
#[test]
fn replay_draws_the_race_with_the_report_marked() {
    let dir = temp_dir("replay-trace");
    let schedule = dir.join("race.schedule.json");
    let out = irpkit()
        .args(["explore", "--scenario", "no-cancel-recheck", "--iterations", "500", "--out"])
        .arg(&schedule)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the bug is found: {}", String::from_utf8_lossy(&out.stdout));
    let (trace, html) = (dir.join("race.trace.json"), dir.join("race.html"));
    let out =
        irpkit().arg("replay").arg(&schedule).arg("--trace").arg(&trace).arg("--html").arg(&html).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "reproduced: {}", String::from_utf8_lossy(&out.stdout));
    let doc: Value = serde_json::from_slice(&std::fs::read(&trace).unwrap()).unwrap();
    let problems = trace_format_problems(&doc);
    assert!(problems.is_empty(), "{problems:#?}");
    let events = doc["traceEvents"].as_array().unwrap();
    let track_name = |e: &Value| {
        events
            .iter()
            .find(|m| m["ph"] == "M" && m["name"] == "thread_name" && m["pid"] == e["pid"] && m["tid"] == e["tid"])
            .map(|m| m["args"]["name"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let reports: Vec<String> = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["name"] == "verifier: cancel-flag-not-checked")
        .map(track_name)
        .collect();
    assert!(reports.iter().any(|t| t.starts_with("IRP #") && t.contains("IRP_MJ_READ")), "{reports:?}");
    assert!(reports.iter().any(|t| t == "requester thread"), "{reports:?}");
    // The listing names the same IRP the report is on.
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    let irp = reports.iter().find(|t| t.starts_with("IRP #")).unwrap().split_whitespace().nth(1).unwrap().to_string();
    assert!(listing.contains(&format!("irp:   IRP {irp}")), "{irp} in\n{listing}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("irpkit: replay of no-cancel-recheck") && page.contains("reproduced: cancel-flag-not-checked")
    );
    assert!(page.contains("verifier report"));
    // The same replay without --trace/--html prints the same listing (recording does not
    // change the interleaving); only the IRP's address may differ.
    let plain = irpkit().arg("replay").arg(&schedule).output().unwrap();
    let no_address = |text: &str| {
        text.split(" at 0x")
            .enumerate()
            .map(|(i, part)| if i == 0 { part } else { part.trim_start_matches(|c: char| c.is_ascii_hexdigit()) })
            .collect::<String>()
    };
    assert_eq!(no_address(&String::from_utf8_lossy(&plain.stdout)), no_address(&listing));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Finds Chromium, installing Debian's package where it is missing and this user can.
fn chromium() -> Result<PathBuf, String> {
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"] {
        if Path::new(candidate).exists() {
            return Ok(candidate.into());
        }
    }
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let apt = |args: &[&str]| {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "apt-get"]);
            c
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive").output()
    };
    let install = ["install", "-y", "--no-install-recommends", "chromium"];
    let ok = |r: std::io::Result<std::process::Output>| r.is_ok_and(|o| o.status.success());
    let installed = ok(apt(&install)) || (ok(apt(&["update"])) && ok(apt(&install)));
    if !installed {
        return Err("Chromium is not installed and `apt-get install chromium` is not possible here \
                    (needs Debian's package archive and root or password-less sudo)"
            .into());
    }
    Ok("/usr/bin/chromium".into())
}

/// The HTML page is self-contained (nothing fetched) and renders in headless Chromium:
/// its script ran and counted every slice and arrow drawn, and a screenshot is produced.
#[test]
fn html_page_renders_in_headless_chromium() {
    let dir = temp_dir("demo-html");
    let (_, html, _) = run_demo(&dir);
    for fetch in ["<link", "src=", "@import", "url(http", "fetch("] {
        assert!(!html.contains(fetch), "the page must not load anything ({fetch})");
    }
    let browser = match chromium() {
        Ok(b) => b,
        Err(why) => {
            eprintln!("SKIPPED html_page_renders_in_headless_chromium: {why}");
            return;
        }
    };
    let page = format!("file://{}", dir.join("demo.html").display());
    let chrome = |extra: &[&str]| {
        let profile = dir.join(format!("profile-{}", extra.len()));
        Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1400,1000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(&page)
            .output()
            .unwrap()
    };
    let dom = chrome(&["--dump-dom"]);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    assert!(
        dom_text.contains(r#"data-rendered="ok""#),
        "the page's script did not confirm the drawing:\n{dom_text:.2000}"
    );
    assert!(dom_text.contains(" arrows, "), "{dom_text:.2000}");
    let shot = dir.join("shot.png");
    let out = chrome(&[&format!("--screenshot={}", shot.display())]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    assert!(png.len() > 20_000, "a screenshot with something drawn ({} bytes)", png.len());
    std::fs::remove_dir_all(&dir).unwrap();
}
