//! Every command: `--help` says what it does and lists its options; `rules --json` and
//! `replay --json` are the documented machine-readable documents.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn irpkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_irpkit"))
}

fn help(args: &[&str]) -> String {
    let out = irpkit().args(args).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?} --help");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_command_has_help_naming_its_options() {
    let top = help(&[]);
    for command in ["demo", "run", "rules", "explore", "replay"] {
        assert!(top.contains(&format!("  {command} ")), "irpkit --help lists {command}:\n{top}");
    }
    let expected: [(&str, &[&str]); 5] = [
        ("demo", &["--json", "--trace <FILE>", "--html <FILE>", "--no-files", "irpkit-demo.trace.json"]),
        ("run", &["<FILE>", "--json", "--seed <SEED>", "--trace <FILE>", "--html <FILE>", "scenarios/README.md"]),
        ("rules", &["--json", "Windows codes"]),
        ("explore", &["--scenario", "--iterations", "--seed-range", "--strategy", "--out", "--json", "--list"]),
        ("replay", &["<FILE>", "--json", "--trace <FILE>", "--html <FILE>", "does not happen again"]),
    ];
    for (command, options) in expected {
        let text = help(&[command]);
        for option in options {
            assert!(text.contains(option), "irpkit {command} --help mentions {option}:\n{text}");
        }
    }
    let out = irpkit().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("irpkit "));
    let out = irpkit().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "an unknown command is bad input");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand 'frobnicate'"));
}

#[test]
fn rules_json_lists_every_rule_with_its_windows_code() {
    let out = irpkit().args(["rules", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["format"], "irpkit-rules/1");
    let rules = doc["rules"].as_array().unwrap();
    assert_eq!(rules.len(), irpkit::verifier::Rule::ALL.len());
    let table = String::from_utf8(irpkit().arg("rules").output().unwrap().stdout).unwrap();
    for (rule, r) in irpkit::verifier::Rule::ALL.iter().zip(rules) {
        assert_eq!(r["id"], rule.id());
        assert!(table.contains(rule.id()), "the table lists {}", rule.id());
        assert!(r["documentation"].as_str().unwrap().starts_with("https://"));
        assert!(!r["fix"].as_str().unwrap().is_empty());
        match rule.bugcheck() {
            Some(b) => {
                assert_eq!(r["bugcheck"]["code"], b.code);
                assert_eq!(r["bugcheck"]["name"], b.name);
            }
            None => assert!(r["bugcheck"].is_null()),
        }
    }
    let double = rules.iter().find(|r| r["id"] == "double-completion").unwrap();
    assert_eq!(double["bugcheck"]["text"], "0x44 MULTIPLE_IRP_COMPLETE_REQUESTS");
}

#[test]
fn replay_json_reports_the_outcome_and_every_step() {
    let dir = std::env::temp_dir().join(format!("irpkit-replay-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let schedule: PathBuf = dir.join("s.json");
    let out = irpkit()
        .args(["explore", "--scenario", "no-cancel-recheck", "--iterations", "300", "--out"])
        .arg(&schedule)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a violation is found: {}", String::from_utf8_lossy(&out.stdout));
    let out = irpkit().arg("replay").arg(&schedule).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["format"], "irpkit-replay/1");
    assert_eq!(doc["scenario"], "no-cancel-recheck");
    assert_eq!(doc["reproduced"], true);
    assert_eq!(doc["expected"], doc["got"]);
    let steps = doc["steps"].as_array().unwrap();
    assert!(!steps.is_empty());
    let threads = doc["threads"].as_array().unwrap();
    for s in steps {
        let t = s["thread"].as_u64().unwrap() as usize;
        assert_eq!(s["thread_name"], threads[t]);
        assert!(!s["what"].as_str().unwrap().is_empty());
    }
    let after = doc["first_report_after_step"].as_u64().unwrap() as usize;
    assert!(after <= steps.len());
    // A schedule whose violation is not what the file says: exit 1, `reproduced` false.
    let mut text: Value = serde_json::from_slice(&std::fs::read(&schedule).unwrap()).unwrap();
    text["violation"] = Value::String("panic".into());
    std::fs::write(&schedule, serde_json::to_string(&text).unwrap()).unwrap();
    let out = irpkit().arg("replay").arg(&schedule).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["reproduced"], false);
    assert_eq!(doc["expected"], "panic");
    std::fs::remove_dir_all(&dir).unwrap();
}
