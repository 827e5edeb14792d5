//! Embeds the WDM headers (`include/`) and the driver runtime (`c/`) in the crate, so a
//! program built from it can compile C drivers wherever it runs, and records the target
//! triple for the C compiler.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = String::from("/// The embedded files: (directory, name, contents).\npub(crate) static EMBEDDED: &[(&str, &str, &str)] = &[\n");
    for dir in ["include", "include/irpkit", "c"] {
        let path = root.join(dir);
        println!("cargo:rerun-if-changed={}", path.display());
        let mut names: Vec<_> = std::fs::read_dir(&path)
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect())
            .unwrap_or_default();
        names.sort();
        for file in names {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            if !(name.ends_with(".h") || name.ends_with(".c")) {
                continue;
            }
            println!("cargo:rerun-if-changed={}", file.display());
            writeln!(out, "    ({dir:?}, {name:?}, include_str!({:?})),", file.display().to_string()).unwrap();
        }
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(dest, out).unwrap();
    println!("cargo:rustc-env=IRPKIT_WDM_TARGET={}", std::env::var("TARGET").unwrap());
}
