//! `irpkit explore` and `irpkit replay` end to end.

use std::path::PathBuf;
use std::process::Command;

fn irpkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_irpkit"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("irpkit-cli-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn explore_finds_saves_and_replay_reproduces_twice() {
    let dir = scratch("explore");
    let file = dir.join("found.json");
    let out = irpkit()
        .args(["explore", "--scenario", "no-cancel-recheck", "--iterations", "300", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "a violation exits 1:\n{text}");
    assert!(text.contains("VIOLATION cancel-flag-not-checked"), "{text}");
    assert!(text.contains("after shrinking"), "{text}");
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.contains("\"format\": \"irpkit-schedule/1\""), "{saved}");
    let runs: Vec<String> = (0..2)
        .map(|_| {
            let r = irpkit().arg("replay").arg(&file).output().unwrap();
            assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stdout));
            let t = String::from_utf8_lossy(&r.stdout).to_string();
            assert!(t.contains("reproduced: cancel-flag-not-checked"), "{t}");
            assert!(t.contains("IoSetCancelRoutine"), "the interleaving is printed step by step:\n{t}");
            // Addresses differ between processes; everything else must not.
            t.lines().filter(|l| !l.contains(" at 0x")).collect::<Vec<_>>().join("\n")
        })
        .collect();
    assert_eq!(runs[0], runs[1], "replay is deterministic");
}

#[test]
fn explore_correct_driver_reports_nothing_and_seed_range_works() {
    let out = irpkit()
        .args(["explore", "--scenario", "startio-correct", "--seed-range", "100..250", "--strategy", "pct"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("startio-correct") && text.contains("150") && text.contains("no violation"), "{text}");
}

#[test]
fn explore_and_replay_bad_input_is_a_clear_error() {
    let out = irpkit().args(["explore", "--scenario", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no scenario named `nope`") && err.contains("plain-store"), "{err}");
    let out = irpkit().args(["explore", "--seed-range", "5..2"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));

    let dir = scratch("bad");
    let cases = [
        ("{ not json", "not JSON"),
        ("{\"format\": \"other/9\"}", "field `format` is `other/9`"),
        (
            "{\"format\": \"irpkit-schedule/1\", \"scenario\": \"plain-store\", \"violation\": \"x\", \"seed\": 1, \"strategy\": \"random\", \"decisions\": [[1, 2]]}",
            "decisions[0] must be [step, thread, preemption]",
        ),
        (
            "{\"format\": \"irpkit-schedule/1\", \"scenario\": \"gone\", \"violation\": \"x\", \"seed\": 1, \"strategy\": \"random\", \"decisions\": []}",
            "names `gone`",
        ),
        ("{\"format\": \"irpkit-schedule/1\"}", "field `scenario` is missing"),
    ];
    for (i, (content, expected)) in cases.iter().enumerate() {
        let f = dir.join(format!("bad{i}.json"));
        std::fs::write(&f, content).unwrap();
        let out = irpkit().arg("replay").arg(&f).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{content}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected) && err.contains(&*f.display().to_string()), "{content}: {err}");
    }
}

/// Several scenarios with `--out`: it is a directory, one schedule file per violating
/// scenario; `--json` prints the documented summary instead of the table.
#[test]
fn explore_several_scenarios_out_is_a_directory_and_json_summarises() {
    let dir = scratch("several").join("schedules");
    let out = irpkit()
        .args(["explore", "--json", "--iterations", "200"])
        .args(["--scenario", "plain-store", "--scenario", "serial", "--scenario", "startio-recursion", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "violations exit 1:\n{text}");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"));
    assert_eq!(doc["format"], "irpkit-explore/1");
    assert_eq!(doc["violations"], 2);
    let scenarios = doc["scenarios"].as_array().unwrap();
    let names: Vec<&str> = scenarios.iter().map(|s| s["scenario"].as_str().unwrap()).collect();
    assert_eq!(names, ["plain-store", "serial", "startio-recursion"]);
    assert!(scenarios[1]["violation"].is_null(), "the serial sample is correct: {}", scenarios[1]);
    assert_eq!(scenarios[1]["schedules"], 200);
    assert!(scenarios[1]["schedules_per_second"].as_f64().unwrap() > 0.0);
    for (i, name, rule) in
        [(0, "plain-store", "cancel-routine-plain-store"), (2, "startio-recursion", "start-io-recursion")]
    {
        let v = &scenarios[i]["violation"];
        assert_eq!(v["rule"], rule, "{v}");
        let file = dir.join(format!("{name}.schedule.json"));
        assert_eq!(v["schedule_file"], file.display().to_string());
        let saved = std::fs::read_to_string(&file).unwrap();
        assert!(saved.contains(&format!("\"violation\": \"{rule}\"")), "{saved}");
    }
}

/// A schedule saved before scenario files could be explored (format `irpkit-schedule/1`,
/// written by that irpkit and kept as it was) still replays, reproducing its violation.
#[test]
fn a_schedule_in_the_first_format_still_replays() {
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/no-cancel-recheck.v1.schedule.json");
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["format"], "irpkit-schedule/1");
    assert!(saved.get("scenario_file").is_none(), "the old format names a catalog scenario only");
    let out = irpkit().arg("replay").arg(&file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("replaying no-cancel-recheck"), "{text}");
    assert!(text.contains("reproduced: cancel-flag-not-checked"), "{text}");
    // And it is still what explore writes for a catalog scenario.
    let dir = scratch("format1");
    let again = dir.join("again.json");
    let out = irpkit()
        .args(["explore", "--scenario", "no-cancel-recheck", "--iterations", "300", "--out"])
        .arg(&again)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&again).unwrap()).unwrap();
    assert_eq!(written["format"], "irpkit-schedule/1");
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&written), keys(&saved), "the same fields as before");
}

/// Schedules saved by the explorer when controlled threads were OS threads passing a baton
/// (random and PCT, shrunk), with the traces their replays printed then: replayed now,
/// with threads as coroutines, each is the same violation after the same steps — thread,
/// primitive and IRP at every one.
#[test]
fn schedules_saved_with_os_threads_replay_step_for_step() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for name in [
        "ignores-remove-entry",
        "cancel-completes-current",
        "cancel-completes-current.pct",
        "startio-recursion",
        "no-cancel-recheck",
    ] {
        let schedule = fixtures.join(format!("{name}.os-threads.schedule.json"));
        let then: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures.join(format!("{name}.os-threads.steps.json"))).unwrap(),
        )
        .unwrap();
        let out = irpkit().arg("replay").arg(&schedule).arg("--json").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{name}: {text}\n{}", String::from_utf8_lossy(&out.stderr));
        let now: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(now["reproduced"], true, "{name}");
        assert_eq!(now["threads"], then["threads"], "{name}: the same threads");
        assert_eq!(now["first_report_after_step"], then["first_report_after_step"], "{name}");
        let steps: Vec<serde_json::Value> = now["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| serde_json::json!([s["thread"], s["what"], s["irp"]]))
            .collect();
        assert_eq!(serde_json::Value::Array(steps), then["steps"], "{name}: step for step");
    }
}

fn explore_json(args: &[&str]) -> serde_json::Value {
    let out = irpkit().args(["explore", "--json", "--strategy", "exhaustive"]).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{args:?}:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"));
    assert_eq!(
        (&doc["format"], &doc["strategy"], &doc["seeds"]),
        (&"irpkit-explore/1".into(), &"exhaustive".into(), &serde_json::Value::Null)
    );
    doc["scenarios"][0].clone()
}

/// `--strategy exhaustive` on a correct twin: exhausted, with counts that the shards and
/// a budget stop plus its resumption add up to; its options are refused with the others.
#[test]
fn explore_exhaustive_exhausts_splits_and_resumes() {
    let bounds = ["--scenario", "startio-correct", "--max-preemptions", "1", "--max-free-choices", "0"];
    let whole = explore_json(&bounds);
    assert_eq!(whole["exhausted"], true, "{whole}");
    assert_eq!((&whole["max_preemptions"], &whole["max_free_choices"]), (&1.into(), &0.into()));
    let total = whole["schedules"].as_u64().unwrap();
    let branches = whole["branches"]["total"].as_u64().unwrap();
    // With no free choice, one schedule per preemptible alternative of the default schedule.
    assert_eq!(whole["schedules_by_preemptions"][0], 1);
    assert!(total > 50 && total < branches, "{whole}");
    assert!(whole["violation"].is_null() && whole["resume"].is_null() && whole["stopped_by"].is_null());

    let shards: Vec<serde_json::Value> =
        (0..2).map(|i| explore_json(&[&bounds[..], &["--shard", &format!("{i}/2")]].concat())).collect();
    assert_eq!(shards.iter().map(|s| s["schedules"].as_u64().unwrap()).sum::<u64>(), total);
    assert_eq!(shards.iter().map(|s| s["branches"]["selected"].as_u64().unwrap()).sum::<u64>(), branches);
    let low = explore_json(&[&bounds[..], &["--branches", "0..40"]].concat());
    let high = explore_json(&[&bounds[..], &["--branches", "40.."]].concat());
    assert_eq!(low["schedules"].as_u64().unwrap() + high["schedules"].as_u64().unwrap(), total);
    assert_eq!(high["branches"]["range"], serde_json::json!([40, null]));

    let stopped = explore_json(&[&bounds[..], &["--iterations", "25"]].concat());
    assert_eq!(
        (&stopped["exhausted"], &stopped["stopped_by"], &stopped["runs"]),
        (&false.into(), &"iterations".into(), &25.into())
    );
    let at = stopped["resume"].as_str().expect("where to resume").to_string();
    let rest = explore_json(&[&bounds[..], &["--resume", &at]].concat());
    assert_eq!(rest["exhausted"], true);
    assert_eq!(stopped["schedules_complete"].as_u64().unwrap() + rest["schedules"].as_u64().unwrap(), total);

    // The table says the same in words.
    let out = irpkit()
        .args(["explore", "--strategy", "exhaustive"])
        .args(bounds)
        .args(["--iterations", "25"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NOT exhausted: stopped by --iterations after 25 runs"), "{text}");
    assert!(text.contains(&format!("--resume {at}")), "{text}");
    let out = irpkit().args(["explore", "--strategy", "exhaustive"]).args(bounds).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "exhausted: all {total} schedules with ≤ 1 preemptions and ≤ 0 free choices: no violation"
        )),
        "{text}"
    );

    for (args, expected) in [
        (&["--strategy", "exhaustive", "--seed", "3"][..], "--seed does not apply to --strategy exhaustive"),
        (&["--strategy", "pct", "--shard", "0/2"][..], "--shard only applies to --strategy exhaustive"),
        (&["--strategy", "exhaustive", "--shard", "2/2"][..], "does not exist"),
        (&["--strategy", "exhaustive", "--resume", "x"][..], "PREEMPTIONS:BRANCH"),
    ] {
        let out = irpkit().arg("explore").args(args).args(["--scenario", "startio-correct"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

/// `--strategy exhaustive` finds a catalog bug at its smallest number of preemptions; the
/// schedule file it saves names the strategy and replays to the same violation.
#[test]
fn explore_exhaustive_finds_a_catalog_bug_and_replay_reproduces_it() {
    let dir = scratch("exhaustive");
    let file = dir.join("found.json");
    let out = irpkit()
        .args(["explore", "--strategy", "exhaustive", "--max-preemptions", "2", "--max-free-choices", "0"])
        .args(["--scenario", "ignores-remove-entry", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "a violation exits 1:\n{text}");
    assert!(text.contains("VIOLATION double-completion after"), "{text}");
    assert!(text.contains("1 preemption(s))"), "found with one preemption, before any schedule of two:\n{text}");
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["format"], "irpkit-schedule/1");
    assert_eq!(saved["strategy"], serde_json::json!({"exhaustive": 2, "free_choices": 0}));
    let r = irpkit().arg("replay").arg(&file).output().unwrap();
    let t = String::from_utf8_lossy(&r.stdout);
    assert_eq!(r.status.code(), Some(0), "{t}");
    assert!(t.contains("reproduced: double-completion"), "{t}");
}

/// After each scenario's result line, its cancel-coverage table; with `--json` the same
/// counts in the scenario's `coverage` field.
#[test]
fn explore_prints_cancel_coverage_as_a_table_and_in_json() {
    let args = ["explore", "--scenario", "queue-correct", "--iterations", "60", "--no-shrink"];
    let out = irpkit().args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("queue-correct")).expect("the scenario's line");
    assert!(lines[at + 1].contains("cancel coverage over 60 schedule(s)"), "{text}");
    let header: Vec<&str> = lines[at + 2].split_whitespace().collect();
    assert_eq!(header[0], "request", "{text}");
    let columns = &header[1..];
    assert!(columns.contains(&"driver-queue") && !columns.contains(&"device-queue"), "{text}");
    assert!(text.contains("not applicable to any request: device-queue, csq, start-io"), "{text}");
    assert!(text.contains("never hit:") && text.contains("never cancelled: main/CREATE#1"), "{text}");
    // The first read's row, cell by cell.
    let read = "requester thread/READ#1";
    let row = lines.iter().find_map(|l| l.trim_start().strip_prefix(read)).expect("the first read's row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells.len(), columns.len(), "{text}");

    let out = irpkit().args(args).arg("--json").output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let cov = &doc["scenarios"][0]["coverage"];
    assert_eq!(cov["schedules"], 60);
    let windows: Vec<&str> = cov["windows"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert_eq!(windows.len(), 11, "{cov}");
    assert!(cov["never_cancelled"].as_array().unwrap().iter().any(|k| k == "main/CREATE#1"), "{cov}");
    for r in cov["requests"].as_array().unwrap() {
        let hits = r["hits"].as_object().unwrap();
        assert_eq!(hits.len(), 11, "{r}");
        let sum: u64 = hits.values().filter_map(|v| v.as_u64()).sum();
        assert_eq!(Some(sum), r["cancels"].as_u64(), "{r}");
        assert!(hits["device-queue"].is_null() && hits["csq"].is_null(), "no device queue here: {r}");
        for w in r["never_hit"].as_array().unwrap() {
            assert_eq!(hits[w.as_str().unwrap()], 0, "{r}");
        }
        assert_eq!(r["major"], "IRP_MJ_READ", "{r}");
    }
    let first = cov["requests"].as_array().unwrap().iter().find(|r| r["request"] == read).expect("the first read");
    // Deterministic seeds: the table and the JSON count the same cancels.
    for (column, cell) in columns.iter().zip(&cells) {
        let v = &first["hits"][*column];
        match *cell {
            "-" => assert!(v.is_null(), "{column}: {first}"),
            n => assert_eq!(v.as_u64(), n.parse().ok(), "{column}: {first}"),
        }
    }
}
