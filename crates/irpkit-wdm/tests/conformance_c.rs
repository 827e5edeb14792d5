//! The conformance cases C1–C5, Q1–Q7, S1–S8, K1–K6 and P1–P6, asserted from C: the
//! driver `tests/c/conformance.c` runs each case in its dispatch routine (one IOCTL per
//! case) and completes the request with STATUS_SUCCESS only if every check of the case
//! held. The cases that break a rule on purpose must leave exactly their report.
//!
//! Built with the system C compiler (gcc on CI) and, when installed, with clang too.

use std::path::{Path, PathBuf};

use irpkit::nt::STATUS_SUCCESS;
use irpkit::verifier::VerifierMode;
use irpkit::Kernel;
use irpkit_wdm::CDriver;

mod clang;

const CASES: [&str; 32] = [
    "C1", "C2", "C3", "C4", "C5", "Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7", "S1", "S2", "S3", "S4", "S5", "S6", "S7",
    "S8", "K1", "K2", "K3", "K4", "K5", "K6", "P1", "P2", "P3", "P4", "P5", "P6",
];

/// The reports a case must leave (rule ids), in order.
fn expected_reports(case: &str) -> &'static [&'static str] {
    match case {
        "Q7" => &["device-queue-not-busy"],
        "P5" => &["double-completion"],
        "P6" => &["complete-with-cancel-routine"],
        _ => &[],
    }
}

fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/conformance.c")
}

fn ioctl(case: usize) -> u32 {
    // CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800 + case, METHOD_BUFFERED, FILE_ANY_ACCESS)
    (0x22 << 16) | ((0x800 + case as u32) << 2)
}

fn run_cases(compiler: Option<&str>) {
    let mut build = CDriver::new("conformance").source(source());
    if let Some(c) = compiler {
        build = build.compiler(c);
    }
    let image = build.build().unwrap_or_else(|e| panic!("{e}"));
    assert!(image.warnings().trim().is_empty(), "the conformance driver compiled with warnings:\n{}", image.warnings());
    let kernel = Kernel::builder().verifier_mode(VerifierMode::Record).build();
    let _entered = kernel.enter();
    let driver = image.load(&kernel).unwrap_or_else(|e| panic!("{e}"));
    let device = kernel.find_device(r"\\.\IrpkitConformance").expect("the driver's symbolic link");
    let process = irpkit::io::Process::new(&kernel);
    // SAFETY: the device belongs to the loaded driver, which lives until the kernel ends.
    let h = process.open(unsafe { irpkit::safe::DeviceRef::from_ptr(device) }, false).expect("open");
    let thread = process.attach_thread();
    let mut failed = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let result = thread.device_io_control(h, ioctl(i), 0, 0).expect("the IOCTL is issued");
        let reports: Vec<&str> = kernel.verifier().take_reports().iter().map(|r| r.rule.id()).collect();
        if result.status != STATUS_SUCCESS || reports != expected_reports(case) {
            failed.push(format!("{case}: status {:#x}, reports {reports:?}", result.status));
        }
    }
    let log: Vec<String> = kernel.debug_output().into_iter().map(|l| l.text).collect();
    for case in CASES {
        assert!(log.iter().any(|l| l.starts_with(&format!("case {case}: "))), "case {case} did not run: {log:#?}");
    }
    assert!(failed.is_empty(), "failed cases: {failed:#?}\ndebug output:\n{}", log.join("\n"));
    process.close(h);
    drop(thread);
    driver.unload();
    let after: Vec<&str> = kernel.verifier().take_reports().iter().map(|r| r.rule.id()).collect();
    assert!(after.is_empty(), "unload left reports: {after:?}");
}

#[test]
fn conformance_cases_from_c_gcc() {
    run_cases(None);
}

#[test]
fn conformance_cases_from_c_clang() {
    if clang::clang_available() {
        run_cases(Some("clang"));
    }
}

/// A driver's calls to the C runtime's wide-string routines (wcslen, _wcsicmp, towupper,
/// ...) reach irpkit's 2-byte versions, not the C library's 4-byte ones, which come first
/// in the process's symbol scope: the headers bind them by assembler label.
#[test]
fn a_drivers_wide_string_routines_work_on_two_byte_characters() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/wide.c");
    let image = CDriver::new("wide").source(source).build().unwrap_or_else(|e| panic!("{e}"));
    assert!(image.warnings().trim().is_empty(), "wide.c compiled with warnings:\n{}", image.warnings());
    let kernel = Kernel::builder().verifier_mode(VerifierMode::Record).build();
    let _entered = kernel.enter();
    let loaded = image.load(&kernel);
    let log: Vec<String> = kernel.debug_output().into_iter().map(|l| l.text).collect();
    let driver = loaded.unwrap_or_else(|e| panic!("{e}\n{}", log.join("\n")));
    assert_eq!(log, ["wide: all checks held"], "DriverEntry's output");
    driver.unload();
}

/// A one-file driver written for a test into its own temporary directory (removed when
/// this is dropped): `declarations` at file scope, then a DriverEntry whose body (after its
/// parameters are marked unreferenced) is `body`.
struct ScratchDriver {
    dir: PathBuf,
    source: PathBuf,
}

impl ScratchDriver {
    fn new(name: &str, declarations: &str, body: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("irpkit-wdm-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join(format!("{name}.c"));
        let text = format!(
            "#include <ntddk.h>\n{declarations}\nNTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r)\n{{\n    \
             UNREFERENCED_PARAMETER(d);\n    UNREFERENCED_PARAMETER(r);\n{body}\n}}\n"
        );
        std::fs::write(&source, text).unwrap();
        ScratchDriver { dir, source }
    }
}

impl Drop for ScratchDriver {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The compiler's warnings reach the user (the loader passes no `-w`), also from a cached
/// build, and a call to an undeclared routine is a compile error naming it, not an
/// implicit `int` declaration that would truncate a returned pointer.
#[test]
fn compiler_warnings_are_shown_and_undeclared_routines_refused() {
    let warned = ScratchDriver::new("warned", "", "    ULONG unused;\n    return STATUS_SUCCESS;");
    for build in ["first", "cached"] {
        let image = CDriver::new("warned").source(&warned.source).build().unwrap_or_else(|e| panic!("{e}"));
        assert!(image.warnings().contains("unused variable"), "{build} build: {:?}", image.warnings());
    }
    let undeclared = ScratchDriver::new("undeclared", "", "    return (NTSTATUS)IoNoSuchRoutine(1);");
    let error =
        CDriver::new("undeclared").source(&undeclared.source).build().expect_err("an undeclared routine").to_string();
    assert!(error.contains("IoNoSuchRoutine") && error.contains("implicit"), "{error}");
}

/// Structured exception handling: a `try`/`except` (the legacy names) is a compile error
/// that says irpkit does not support it; with `IRPKIT_SEH_NEVER_RAISES` the guarded block
/// runs as a plain block and the handler never runs (irpkit raises nothing into drivers).
#[test]
fn seh_is_refused_or_with_never_raises_runs_the_guarded_block() {
    let seh = ScratchDriver::new(
        "seh",
        "",
        "    NTSTATUS status = STATUS_UNSUCCESSFUL;\n    try {\n        status = STATUS_SUCCESS;\n    } except \
         (EXCEPTION_EXECUTE_HANDLER) {\n        status = GetExceptionCode();\n    }\n    return status;",
    );
    let error = CDriver::new("seh").source(&seh.source).build().expect_err("SEH is refused").to_string();
    assert!(error.contains("structured exception handling") && error.contains("not supported"), "{error}");
    let image = CDriver::new("seh")
        .source(&seh.source)
        .define("IRPKIT_SEH_NEVER_RAISES", None)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(image.warnings().trim().is_empty(), "{}", image.warnings());
    let kernel = Kernel::builder().verifier_mode(VerifierMode::Record).build();
    let _entered = kernel.enter();
    let driver = image.load(&kernel).unwrap_or_else(|e| panic!("the guarded block ran and succeeded: {e}"));
    driver.unload();
}

/// A driver that calls several routines irpkit lacks is refused naming all of them, not
/// only the first the dynamic loader stopped at.
#[test]
fn every_missing_kernel_routine_is_named() {
    let missing = ScratchDriver::new(
        "missing",
        "NTSTATUS ZwIrpkitLacksThis(VOID);\nNTSTATUS ZwIrpkitLacksThat(ULONG);",
        "    return NT_SUCCESS(ZwIrpkitLacksThis()) ? ZwIrpkitLacksThat((ULONG)wcslen(L\"x\")) : STATUS_SUCCESS;",
    );
    let image = CDriver::new("missing").source(&missing.source).build().unwrap_or_else(|e| panic!("{e}"));
    let kernel = Kernel::new();
    let _entered = kernel.enter();
    let error = image.load(&kernel).map(|_| ()).expect_err("unresolved routines").to_string();
    assert!(
        error.contains("the kernel routines `ZwIrpkitLacksThat`, `ZwIrpkitLacksThis`")
            || error.contains("the kernel routines `ZwIrpkitLacksThis`, `ZwIrpkitLacksThat`"),
        "{error}"
    );
    assert!(!error.contains("wcslen"), "routines irpkit provides are not listed: {error}");
}

/// Debug output is kept by lines, as a kernel debugger shows it: a DbgPrint without a
/// newline is continued by the next one, one with several newlines is several lines, and a
/// line never finished is listed as it stands.
#[test]
fn debug_output_is_joined_into_lines() {
    let lines = ScratchDriver::new(
        "lines",
        "",
        "    DbgPrint(\"LINES.SYS: \");\n    DbgPrint(\"entry %d\\n\", 1);\n    DbgPrint(\"a\\r\\nb\\n\");\n    \
         DbgPrint(\"tail\");\n    return STATUS_SUCCESS;",
    );
    let image = CDriver::new("lines").source(&lines.source).build().unwrap_or_else(|e| panic!("{e}"));
    let kernel = Kernel::new();
    let _entered = kernel.enter();
    let driver = image.load(&kernel).unwrap_or_else(|e| panic!("{e}"));
    let text: Vec<String> = kernel.debug_output().into_iter().map(|l| l.text).collect();
    assert_eq!(text, ["LINES.SYS: entry 1", "a", "b", "tail"]);
    driver.unload();
}

/// A driver's globals start as the image has them in every kernel it is loaded into,
/// also when the loader reuses a copy mapped for a kernel that has ended; an image rebuilt
/// since is mapped afresh.
#[test]
fn every_load_sees_the_globals_as_the_image_has_them() {
    let d = ScratchDriver::new(
        "globals",
        "static LONG loads;\nstatic LONG seed = 41;\n",
        "    loads++;\n    seed++;\n    return loads == 1 && seed == 42 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;",
    );
    let image = CDriver::new("globals").source(&d.source).build().unwrap_or_else(|e| panic!("{e}"));
    for round in 0..4 {
        let kernel = Kernel::new();
        let _entered = kernel.enter();
        image.load(&kernel).unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
    // Two kernels at once: two copies, each with its own globals.
    let (a, b) = (Kernel::new(), Kernel::new());
    let loaded_a = {
        let _entered = a.enter();
        image.load(&a).map(|_| ()).map_err(|e| e.to_string())
    };
    let loaded_b = {
        let _entered = b.enter();
        image.load(&b).map(|_| ()).map_err(|e| e.to_string())
    };
    assert_eq!((loaded_a, loaded_b), (Ok(()), Ok(())));
    drop((a, b));
    // Rebuilt with another initial value: the new image's, not an idle copy of the old.
    std::fs::write(
        &d.source,
        "#include <ntddk.h>\nstatic LONG seed = 7;\nNTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r)\n{\n    \
         UNREFERENCED_PARAMETER(d);\n    UNREFERENCED_PARAMETER(r);\n    return ++seed == 8 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;\n}\n",
    )
    .unwrap();
    let rebuilt = CDriver::new("globals").source(&d.source).build().unwrap_or_else(|e| panic!("{e}"));
    let kernel = Kernel::new();
    let _entered = kernel.enter();
    rebuilt.load(&kernel).unwrap_or_else(|e| panic!("the rebuilt image: {e}"));
}
