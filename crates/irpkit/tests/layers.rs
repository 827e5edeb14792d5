//! The core's layers, checked against the picture in `docs/ARCHITECTURE.md`.
//!
//! The picture is the fenced block marked `layers` there: one row per layer, top first,
//! each row naming top-level modules of `crates/irpkit/src` (after a `#`, a description).
//! A module may use modules of the rows below its own, never one of its own row or above.
//! The imports are read from the source as text — every `crate::module` path and every
//! `super::` path that climbs to the crate root, outside comments — so a new upward import
//! fails here, in `cargo test`, whatever it is for.
//!
//! Inside a top-level module the submodules may use each other in any direction but in a
//! circle: only the NT layer's (`nt/`), where the routines call each other as NT's do, may
//! form one. That is checked too.

#![cfg(not(any(loom, shuttle)))]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path below the crate root (`["nt", "irp"]`).
type ModPath = Vec<String>;

/// One use of a module by a source line.
#[derive(Debug)]
struct Use {
    /// The module of the line.
    module: ModPath,
    file: PathBuf,
    line: usize,
    /// What the line names, resolved from the crate root (`["nt", "irp", "header"]`).
    path: Vec<String>,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The layers block of `docs/ARCHITECTURE.md`: rows of module names, top first.
fn picture() -> Vec<Vec<String>> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ARCHITECTURE.md");
    let text = std::fs::read_to_string(&doc).unwrap_or_else(|e| panic!("{}: {e}", doc.display()));
    let mut rows = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            if inside {
                return rows;
            }
            inside = t == "```layers";
            continue;
        }
        if inside {
            let names = t.split('#').next().unwrap_or("");
            let row: Vec<String> = names.split_whitespace().map(str::to_string).collect();
            if !row.is_empty() {
                rows.push(row);
            }
        }
    }
    panic!("{}: no ```layers block (the layer picture this test checks the code against)", doc.display());
}

/// Every `.rs` file below `dir`, with its module path.
fn modules(dir: &Path, prefix: &ModPath, out: &mut Vec<(PathBuf, ModPath)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("src dir").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        if path.is_dir() {
            let mut p = prefix.clone();
            p.push(name);
            modules(&path, &p, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut p = prefix.clone();
            if name != "mod" && !(prefix.is_empty() && name == "lib") {
                p.push(name);
            }
            out.push((path, p));
        }
    }
}

/// The code of a line: none for a comment line, the part before a trailing `//` comment.
fn code(line: &str) -> &str {
    let t = line.trim_start();
    if t.starts_with("//") {
        return "";
    }
    match t.find("//") {
        Some(i) => &t[..i],
        None => t,
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The `crate::…` and `super::…` paths of one line of code, resolved from the crate root
/// for a file whose module is `module`. A group (`crate::{a, b::c}`) gives one path per
/// member.
fn paths(code: &str, module: &ModPath) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_ident(chars[i]) || (i > 0 && is_ident(chars[i - 1])) {
            i += 1;
            continue;
        }
        let (segments, end) = read_path(&chars, i);
        i = end.max(i + 1);
        let Some(first) = segments.first() else { continue };
        let base: Vec<String> = match first.as_str() {
            "crate" => Vec::new(),
            "super" => {
                let ups = segments.iter().take_while(|s| *s == "super").count();
                module[..module.len().saturating_sub(ups)].to_vec()
            }
            _ => continue,
        };
        let rest: Vec<String> = segments.iter().skip_while(|s| *s == "crate" || *s == "super").cloned().collect();
        if rest.first().is_some_and(|s| s == "{") {
            let close = chars[end..].iter().position(|c| *c == '}').map_or(chars.len(), |p| end + p);
            let group: String = chars[end..close].iter().collect();
            for member in group.split(',') {
                let name: String = member.trim().chars().take_while(|c| is_ident(*c)).collect();
                if !name.is_empty() && name != "self" {
                    found.push([base.clone(), vec![name]].concat());
                }
            }
        } else if !rest.is_empty() {
            found.push([base, rest].concat());
        }
    }
    found
}

/// Reads `ident(::ident)*(::{)?` from `start`: its segments (`{` as the last one for a
/// group) and the index after it.
fn read_path(chars: &[char], start: usize) -> (Vec<String>, usize) {
    let mut segments = Vec::new();
    let mut i = start;
    loop {
        let from = i;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        if i == from {
            if chars.get(i) == Some(&'{') {
                segments.push("{".to_string());
                i += 1;
            }
            return (segments, i);
        }
        segments.push(chars[from..i].iter().collect());
        if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            return (segments, i);
        }
    }
}

/// Every file's module and uses.
fn uses() -> (Vec<(PathBuf, ModPath)>, Vec<Use>) {
    let mut files = Vec::new();
    modules(&src_dir(), &Vec::new(), &mut files);
    let mut all = Vec::new();
    for (file, module) in &files {
        let text = std::fs::read_to_string(file).expect("source file");
        for (n, line) in text.lines().enumerate() {
            for path in paths(code(line), module) {
                all.push(Use { module: module.clone(), file: file.clone(), line: n + 1, path });
            }
        }
    }
    (files, all)
}

/// The uses that break the picture: a top-level module using one of its own row or of a
/// row above. Also a module missing from the picture, or a name in it that is no module.
fn violations(picture: &[Vec<String>], tops: &BTreeSet<String>, uses: &[Use]) -> Vec<String> {
    let row: BTreeMap<&str, usize> =
        picture.iter().enumerate().flat_map(|(i, r)| r.iter().map(move |m| (m.as_str(), i))).collect();
    let mut found = Vec::new();
    for top in tops {
        if !row.contains_key(top.as_str()) {
            found.push(format!("module `{top}` is not in the layers picture: add it to its row"));
        }
    }
    for name in row.keys() {
        if !tops.contains(*name) {
            found.push(format!("the layers picture names `{name}`, which is not a module of crates/irpkit/src"));
        }
    }
    for u in uses {
        let (Some(from), Some(to)) = (u.module.first(), u.path.first()) else { continue };
        if from == to || !tops.contains(to) {
            continue;
        }
        let (Some(&r_from), Some(&r_to)) = (row.get(from.as_str()), row.get(to.as_str())) else { continue };
        if r_to <= r_from {
            let below: Vec<&str> = picture[r_from + 1..].iter().flatten().map(String::as_str).collect();
            found.push(format!(
                "{}:{}: `{from}` uses `crate::{}`, {} — `{from}` may use only the layers below it: {}",
                u.file.strip_prefix(src_dir()).unwrap_or(&u.file).display(),
                u.line,
                u.path.join("::"),
                if r_to == r_from { "a module of its own layer" } else { "a layer above it" },
                if below.is_empty() { "none".to_string() } else { below.join(", ") },
            ));
        }
    }
    found
}

/// Circles among the submodules of one top-level module, other than `nt`.
fn circles(files: &[(PathBuf, ModPath)], uses: &[Use]) -> Vec<Vec<String>> {
    let known: BTreeSet<&ModPath> = files.iter().map(|(_, m)| m).collect();
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for u in uses {
        let from = &u.module;
        let Some(to) = (1..=u.path.len()).rev().map(|n| u.path[..n].to_vec()).find(|p| known.contains(p)) else {
            continue;
        };
        // Within one top-level module, not the NT layer's; a use of an enclosing module
        // (`super::*`, a re-export) is no edge.
        if from.first() != to.first() || from.first().is_some_and(|t| t == "nt") || from.starts_with(&to) {
            continue;
        }
        edges.entry(from.clone()).or_default().insert(to);
    }
    // A module is on a circle if it reaches itself.
    let mut on_circle: Vec<Vec<String>> = Vec::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&ModPath> = edges[start].iter().collect();
        while let Some(m) = stack.pop() {
            if m == start {
                on_circle.push(start.clone());
                break;
            }
            if seen.insert(m) {
                stack.extend(edges.get(m).into_iter().flatten());
            }
        }
    }
    on_circle
}

#[test]
fn no_module_uses_a_layer_above_or_beside_its_own() {
    let (files, uses) = uses();
    let tops: BTreeSet<String> = files.iter().filter_map(|(_, m)| m.first().cloned()).collect();
    let found = violations(&picture(), &tops, &uses);
    assert!(found.is_empty(), "the core's layers are broken (docs/ARCHITECTURE.md shows them):\n{}", found.join("\n"));
}

#[test]
fn submodules_form_no_circle_outside_the_nt_layer() {
    let (files, uses) = uses();
    let found = circles(&files, &uses);
    let names: Vec<String> = found.iter().map(|m| m.join("::")).collect();
    assert!(found.is_empty(), "these modules use each other in a circle: {}", names.join(", "));
}

#[test]
fn the_check_reads_paths_as_the_compiler_resolves_them() {
    let irp: ModPath = vec!["nt".into(), "irp".into()];
    assert_eq!(paths("use crate::io::Link;", &irp), vec![vec!["io", "Link"]]);
    assert_eq!(paths("let x = super::super::safe::Irp::new();", &irp), vec![vec!["safe", "Irp", "new"]]);
    assert_eq!(paths("use super::types::Irp;", &irp), vec![vec!["nt", "types", "Irp"]]);
    assert_eq!(paths("use crate::{io, timeline::Event};", &irp), vec![vec!["io"], vec!["timeline"]]);
    assert_eq!(paths(code("    /// [`x`](crate::io::Link)"), &irp), Vec::<Vec<String>>::new());
    assert_eq!(paths(code("f(); // crate::io"), &irp), Vec::<Vec<String>>::new());
    assert!(paths("my_crate::io::x()", &irp).is_empty());
}

#[test]
fn an_upward_import_and_a_circle_are_reported() {
    let picture = vec![vec!["io".to_string()], vec!["nt".to_string()], vec!["sync".to_string()]];
    let tops: BTreeSet<String> = ["io", "nt", "sync"].map(String::from).into();
    let at = |module: &[&str], path: &[&str]| {
        let module: ModPath = module.iter().map(|s| s.to_string()).collect();
        let path = path.iter().map(|s| s.to_string()).collect();
        Use { module, file: src_dir().join("nt/irp.rs"), line: 48, path }
    };
    let down = [at(&["io"], &["nt", "Irp"]), at(&["nt", "irp"], &["sync", "Mutex"])];
    assert!(violations(&picture, &tops, &down).is_empty());
    let up = [at(&["nt", "irp"], &["io", "Link"])];
    let found = violations(&picture, &tops, &up);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("nt/irp.rs:48: `nt` uses `crate::io::Link`, a layer above it"), "{}", found[0]);
    let missing = violations(&picture[1..], &tops, &[]);
    assert!(missing.iter().any(|m| m.contains("module `io` is not in the layers picture")), "{missing:?}");

    let files: Vec<(PathBuf, ModPath)> =
        ["safe/a.rs", "safe/b.rs"].iter().map(|f| (src_dir().join(f), vec!["safe".into(), f[5..6].into()])).collect();
    let circle = [at(&["safe", "a"], &["safe", "b", "X"]), at(&["safe", "b"], &["safe", "a", "Y"])];
    assert_eq!(circles(&files, &circle).len(), 2);
    assert!(circles(&files, &circle[..1]).is_empty());
}
