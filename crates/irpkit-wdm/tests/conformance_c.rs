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
