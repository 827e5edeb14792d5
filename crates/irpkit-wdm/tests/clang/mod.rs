//! Whether the tests built with clang run here.

use std::process::Command;

/// Whether clang is installed. A clang that cannot be started, or that fails at
/// `--version`, is absent: under valgrind a failed exec shows as exit status 127, not as an
/// error from the spawn (its vfork is emulated). Where clang must be there (CI sets
/// `IRPKIT_REQUIRE_CLANG`), a missing clang fails the test instead of skipping it.
pub(crate) fn clang_available() -> bool {
    if Command::new("clang").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return true;
    }
    assert!(std::env::var_os("IRPKIT_REQUIRE_CLANG").is_none(), "clang is required but not installed");
    eprintln!("clang is not installed: skipped");
    false
}
