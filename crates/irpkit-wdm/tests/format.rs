//! The C half of the driver runtime (`c/irpkit_rt.c`: the DbgPrint family's formatter,
//! ntstrsafe's routines, the 2-byte wide-string helpers) checked from C:
//! `tests/c/format_test.c` is compiled together with the runtime, with the loader's
//! driver flags against the headers the loader writes out, into a program that compares
//! exact output strings and statuses and exits 0 only if all of them held.
//!
//! Built with the system C compiler (`CC`, else `cc`) and, when installed, with clang too;
//! either must compile without a single warning.

use std::path::{Path, PathBuf};
use std::process::Command;

use irpkit_wdm::loader::{include_dir, DRIVER_CFLAGS};

mod clang;

fn run_format_test(compiler: &str, tag: &str) {
    let include = include_dir().unwrap_or_else(|e| panic!("{e}"));
    let runtime = include.parent().expect("the work directory").join("c").join("irpkit_rt.c");
    let test = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/format_test.c");
    let exe: PathBuf = std::env::temp_dir().join(format!("irpkit-format-test-{tag}-{}", std::process::id()));

    let compiled = Command::new(compiler)
        .args(DRIVER_CFLAGS)
        .arg("-I")
        .arg(&include)
        .arg(&test)
        .arg(&runtime)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("running {compiler}: {e}"));
    let diagnostics =
        format!("{}{}", String::from_utf8_lossy(&compiled.stderr), String::from_utf8_lossy(&compiled.stdout));
    assert!(compiled.status.success(), "{compiler} failed to compile format_test.c:\n{diagnostics}");
    assert!(diagnostics.trim().is_empty(), "{compiler} compiled format_test.c with warnings:\n{diagnostics}");

    let ran = Command::new(&exe).output().unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    let _ = std::fs::remove_file(&exe);
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(
        ran.status.success(),
        "format_test ({compiler}) failed ({}):\n{stdout}{}",
        ran.status,
        String::from_utf8_lossy(&ran.stderr)
    );
    assert!(stdout.contains("all") && stdout.contains("checks passed"), "unexpected output:\n{stdout}");
}

#[test]
fn format_engine_and_ntstrsafe_system_compiler() {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    run_format_test(&cc, "cc");
}

#[test]
fn format_engine_and_ntstrsafe_clang() {
    if clang::clang_available() {
        run_format_test("clang", "clang");
    }
}
