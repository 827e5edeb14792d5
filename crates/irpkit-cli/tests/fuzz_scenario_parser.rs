//! A fuzz target for the scenario parser, on the stable toolchain: a mutation harness
//! over the bundled scenario files. Each iteration mutates a file (byte flips, deletions,
//! duplicated or swapped lines, lines spliced from another file, TOML-significant tokens
//! and extreme values inserted) and parses it. The parser must never panic, and every
//! error must name the file and a line and column inside the text, with a message.
//!
//! CI runs it briefly (the default iteration count); run it longer with
//! `IRPKIT_FUZZ_ITERATIONS=1000000 IRPKIT_FUZZ_SEED=7 cargo test --release -p irpkit-cli
//! --test fuzz_scenario_parser`. A failure prints the seed, the iteration and the
//! mutated text, which reproduce it.

use std::path::{Path, PathBuf};

use irpkit::explore::Rng;
use irpkit_cli::scenario;

fn bundled() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

const TOKENS: &[&str] = &[
    "=",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    ",",
    "\"",
    "'",
    "\"\"\"",
    "#",
    "\n",
    ".",
    "-",
    "op",
    "name",
    "device",
    "process",
    "thread",
    "ops",
    "handle",
    "request",
    "id",
    "ms",
    "length",
    "seed",
    "expect",
    "status",
    "random",
    "clock",
    "verifier",
    "driver",
    "bug",
    "0",
    "-1",
    "18446744073709551615",
    "99999999999999999999",
    "1e400",
    "nan",
    "inf",
    "true",
    "\"\"",
    "\"é\u{301}\"",
    "\u{feff}",
    "\t",
    "\r\n",
    "\"virtual\"",
    "\"real\"",
    "\"strict\"",
    "\"STATUS_CANCELLED\"",
    "{ op = \"read\" }",
    "[[process.thread]]",
    "[[device]]",
    "[expect]",
];

fn mutate(rng: &mut Rng, text: &str, other: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let pos = |rng: &mut Rng, len: usize| if len == 0 { 0 } else { rng.below(len as u64 + 1) as usize };
    for _ in 0..1 + rng.below(4) {
        match rng.below(8) {
            0 if !bytes.is_empty() => {
                let i = pos(rng, bytes.len() - 1);
                bytes[i] ^= 1 << rng.below(8);
            }
            1 if !bytes.is_empty() => {
                let start = pos(rng, bytes.len() - 1);
                let end = (start + 1 + rng.below(40) as usize).min(bytes.len());
                bytes.drain(start..end);
            }
            2 | 3 => {
                let token = TOKENS[rng.below(TOKENS.len() as u64) as usize];
                let i = pos(rng, bytes.len());
                bytes.splice(i..i, token.bytes());
            }
            4 | 5 => {
                let s = String::from_utf8_lossy(&bytes).into_owned();
                let mut lines: Vec<&str> = s.lines().collect();
                if lines.len() > 1 {
                    let a = rng.below(lines.len() as u64) as usize;
                    let b = rng.below(lines.len() as u64) as usize;
                    if rng.chance(0.5) {
                        lines.swap(a, b);
                    } else {
                        let line = lines[a];
                        lines.insert(b, line);
                    }
                }
                bytes = lines.join("\n").into_bytes();
            }
            6 => {
                let others: Vec<&str> = other.lines().collect();
                let s = String::from_utf8_lossy(&bytes).into_owned();
                let mut lines: Vec<&str> = s.lines().collect();
                if !others.is_empty() {
                    let line = others[rng.below(others.len() as u64) as usize];
                    let at = rng.below(lines.len() as u64 + 1) as usize;
                    lines.insert(at, line);
                }
                bytes = lines.join("\n").into_bytes();
            }
            _ if !bytes.is_empty() => {
                let cut = pos(rng, bytes.len());
                bytes.truncate(cut);
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn the_scenario_parser_never_panics_and_always_places_its_errors() {
    let iterations: u64 = std::env::var("IRPKIT_FUZZ_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(4000);
    let seed: u64 = std::env::var("IRPKIT_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let files = bundled();
    let mut rng = Rng::new(seed);
    let (mut accepted, mut rejected) = (0u64, 0u64);
    let mut unplaced = Vec::new();
    for iteration in 0..iterations {
        let (path, text) = &files[rng.below(files.len() as u64) as usize];
        let other = &files[rng.below(files.len() as u64) as usize].1;
        let mutated = mutate(&mut rng, text, other);
        let parsed = std::panic::catch_unwind(|| scenario::parse(path, &mutated));
        let Ok(parsed) = parsed else {
            panic!("seed {seed} iteration {iteration}: the parser panicked on:\n{mutated}");
        };
        match parsed {
            Ok(_) => accepted += 1,
            Err(e) => {
                rejected += 1;
                let shown = e.to_string();
                assert!(shown.starts_with(&path.display().to_string()), "{shown}");
                assert!(!e.message.trim().is_empty(), "seed {seed} iteration {iteration}: empty message");
                match e.position {
                    Some((line, column)) => {
                        let lines = mutated.split('\n').count().max(1);
                        assert!(
                            line >= 1 && line <= lines && column >= 1,
                            "seed {seed} iteration {iteration}: {shown} is outside the text ({lines} lines):\n{mutated}"
                        );
                    }
                    None => unplaced.push(format!("{shown}\n--- text:\n{mutated}")),
                }
            }
        }
    }
    assert!(rejected > iterations / 4, "the mutations reach the error paths ({rejected} of {iterations})");
    assert!(accepted > 0, "some mutations stay valid");
    assert!(
        unplaced.is_empty(),
        "seed {seed}: {} error(s) without a line and column, e.g.\n{}",
        unplaced.len(),
        unplaced.first().unwrap()
    );
}
