//! Building and loading C drivers.
//!
//! - [`CDriver`] compiles a driver's sources with the system C compiler (found the way the
//!   `cc` crate finds it: `CC`, then `cc`) into a shared object, with the flags WDM code
//!   needs on Linux: `-fshort-wchar` (a 2-byte `WCHAR`), `-fexceptions` (unwind tables, so
//!   a verifier stop or PsTerminateSystemThread unwinds through the driver's frames
//!   soundly), `-fPIC`, `-Wall -Wextra`, `-Wno-unknown-pragmas` (`#pragma prefast`,
//!   `#pragma alloc_text`) and `-Wno-multichar` (pool tags such as `'MASC'`). Builds are
//!   cached by the hash of everything that goes into them.
//! - The **import library** is built once per process (and cached on disk): irpkit's
//!   driver runtime (`c/irpkit_rt.c`: DbgPrint's formatter, ntstrsafe, 2-byte `wcs*`) and
//!   one jump stub per kernel routine, through a table this module fills with the
//!   addresses of the crate's routines. It is loaded with `RTLD_GLOBAL`, so a driver's
//!   undefined kernel routines bind to it; the driver therefore calls the kernel the host
//!   runs, whatever binary the host is and however it was linked.
//! - [`DriverImage::load`] maps a private copy of the driver's shared object (a driver's
//!   globals belong to one kernel: two kernels, two copies), calls its DriverEntry with a
//!   driver object and a registry path, and keeps the mapping until the kernel ends (its
//!   objects point into it). Verifier reports made while one of its routines runs name the
//!   routine by its symbol.
//!
//!   When that kernel ends, the copy is not closed but kept idle, with a snapshot of its
//!   writable data taken right after it was mapped (before DriverEntry): the next load of
//!   the same image (same path, size and modification time) takes an idle copy and puts
//!   its globals back as they were, instead of copying and mapping the file again. An
//!   exploration loads its drivers once per schedule, so this is most of its cost.
//!   Thread-locals of driver code (`__thread`) and constructors that ran at mapping are
//!   not reset; WDM drivers have neither.
//!
//! Invariants: a mapping is reused or closed only when its kernel drops (after the
//! kernel's drivers, devices and threads are gone), never while a routine in it may run;
//! an idle copy belongs to no kernel, and one load takes it. The import library's table is
//! written once, before any driver is loaded, and never changes.

use std::ffi::{CStr, CString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use irpkit::nt::{DriverInitialize, DriverObject, NtStatus, ObjectType};
use irpkit::Kernel;

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Why a C driver could not be built or loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The C compiler could not be run.
    CompilerNotFound {
        /// The compiler tried.
        compiler: String,
        /// What running it said.
        error: String,
    },
    /// A source file did not compile; `output` is the compiler's own messages.
    CompileFailed {
        /// The file.
        file: PathBuf,
        /// The compiler's messages.
        output: String,
    },
    /// The objects did not link into a shared object.
    LinkFailed {
        /// The linker's messages.
        output: String,
    },
    /// The driver calls kernel routines irpkit does not provide (yet).
    UnresolvedRoutine {
        /// The first routine's name (the one the dynamic loader stopped at).
        name: String,
        /// Every other undefined routine of the driver that neither irpkit nor the C
        /// library provides, sorted.
        others: Vec<String>,
        /// The driver.
        image: PathBuf,
    },
    /// The shared object has no `DriverEntry`.
    MissingDriverEntry {
        /// The shared object.
        image: PathBuf,
    },
    /// DriverEntry returned a failure status.
    DriverEntryFailed {
        /// The driver's name.
        driver: String,
        /// The status it returned.
        status: NtStatus,
    },
    /// A file could not be read or written, or the loader failed otherwise.
    Io {
        /// What was being done.
        what: String,
        /// The error.
        error: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::CompilerNotFound { compiler, error } => write!(
                f,
                "the C compiler `{compiler}` could not be run ({error}); install gcc or clang, or name one with the CC environment variable"
            ),
            LoadError::CompileFailed { file, output } => {
                write!(f, "{} did not compile:\n{}", file.display(), output.trim_end())
            }
            LoadError::LinkFailed { output } => write!(f, "the driver did not link:\n{}", output.trim_end()),
            LoadError::UnresolvedRoutine { name, others, image } if others.is_empty() => write!(
                f,
                "{} calls the kernel routine `{name}`, which irpkit does not provide yet (see crates/irpkit-wdm for the routines it does)",
                image.display()
            ),
            LoadError::UnresolvedRoutine { name, others, image } => {
                let all: Vec<String> =
                    std::iter::once(name).chain(others.iter()).map(|n| format!("`{n}`")).collect();
                write!(
                    f,
                    "{} calls the kernel routines {}, which irpkit does not provide yet (see crates/irpkit-wdm for the routines it does)",
                    image.display(),
                    all.join(", ")
                )
            }
            LoadError::MissingDriverEntry { image } => {
                write!(f, "{} has no DriverEntry function (a WDM driver's entry point must be named DriverEntry)", image.display())
            }
            LoadError::DriverEntryFailed { driver, status } => {
                write!(f, "DriverEntry of {driver} failed with {}", irpkit::nt::describe_status(*status))
            }
            LoadError::Io { what, error } => write!(f, "{what}: {error}"),
        }
    }
}

impl std::error::Error for LoadError {}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LoadError {
    let what = what.into();
    move |e| LoadError::Io { what, error: e.to_string() }
}

/// FNV-1a, for cache keys (not security).
fn hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn embedded_hash() -> u64 {
    let mut parts: Vec<&[u8]> = Vec::new();
    for (dir, name, text) in EMBEDDED {
        parts.extend([dir.as_bytes(), name.as_bytes(), text.as_bytes()]);
    }
    let names: Vec<&str> = crate::exports::ROUTINES.iter().map(|r| r.name).collect();
    let joined = names.join(",");
    parts.push(joined.as_bytes());
    hash(&parts)
}

/// irpkit's working directory for this version of the headers and runtime.
fn work_dir() -> Result<PathBuf, LoadError> {
    static DIR: OnceLock<Result<PathBuf, LoadError>> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::var_os("IRPKIT_WDM_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("irpkit-wdm"));
        let dir = base.join(format!("{:016x}", embedded_hash()));
        for sub in ["include", "include/irpkit", "c"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(io_error(format!("creating {}", dir.display())))?;
        }
        for (sub, name, text) in EMBEDDED {
            let path = dir.join(sub).join(name);
            if std::fs::read_to_string(&path).ok().as_deref() != Some(*text) {
                write_atomically(&path, text.as_bytes())?;
            }
        }
        Ok(dir)
    })
    .clone()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    static N: AtomicU64 = AtomicU64::new(0);
    let tmp = path.with_extension(format!("tmp{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&tmp, bytes).map_err(io_error(format!("writing {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(io_error(format!("writing {}", path.display())))
}

/// The directory holding irpkit's WDM headers (`wdm.h`, `ntddk.h`, `wdmsec.h`,
/// `initguid.h`, `ntstrsafe.h`, ...), written out from the copy embedded in this crate.
pub fn include_dir() -> Result<PathBuf, LoadError> {
    Ok(work_dir()?.join("include"))
}

/// The C compiler: `CC`, or the one the `cc` crate picks for this target.
fn compiler(explicit: Option<&Path>) -> cc::Tool {
    let target = env!("IRPKIT_WDM_TARGET");
    let mut b = cc::Build::new();
    b.target(target).host(target).opt_level(1).debug(true).cargo_metadata(false);
    if let Some(c) = explicit {
        b.compiler(c);
    }
    b.get_compiler()
}

fn check_compiler(tool: &cc::Tool) -> Result<(), LoadError> {
    let name = tool.path().display().to_string();
    match Command::new(tool.path()).arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => {
            Err(LoadError::CompilerNotFound { compiler: name, error: String::from_utf8_lossy(&o.stderr).into_owned() })
        }
        Err(e) => Err(LoadError::CompilerNotFound { compiler: name, error: e.to_string() }),
    }
}

/// The flags every driver translation unit (and the import library) is compiled with.
pub const DRIVER_CFLAGS: &[&str] = &[
    "-std=gnu11",
    "-fshort-wchar",
    "-fexceptions",
    "-fPIC",
    "-fno-strict-aliasing",
    "-g",
    "-O1",
    "-Wall",
    "-Wextra",
    "-Wno-unknown-pragmas",
    "-Wno-multichar",
    "-Werror=implicit-function-declaration",
];

fn run(mut cmd: Command, what: &str) -> Result<(bool, String), LoadError> {
    let out = cmd.output().map_err(io_error(what.to_string()))?;
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    Ok((out.status.success(), text))
}

/// The import library: the runtime and the jump stubs, loaded `RTLD_GLOBAL` once.
struct ImportLibrary;

fn stubs_source() -> String {
    let routines = crate::exports::ROUTINES;
    let mut s = String::from(
        "/* Generated by irpkit-wdm: one jump stub per kernel routine, through irpkit_slots,\n   which the host fills before any driver is loaded. */\n#include <stddef.h>\n",
    );
    s.push_str(&format!(
        "__attribute__((visibility(\"hidden\"), used)) void *irpkit_slots[{n}];\n\
         __attribute__((visibility(\"default\"))) size_t irpkit_slot_count(void) {{ return {n}; }}\n\
         __attribute__((visibility(\"default\"))) void irpkit_bind(void *const *table, size_t n) {{\n\
         \x20   for (size_t i = 0; i < n && i < {n}; i++) irpkit_slots[i] = table[i];\n}}\n",
        n = routines.len()
    ));
    s.push_str("#if defined(__x86_64__)\n__asm__(\".text\\n\"\n");
    for (i, r) in routines.iter().enumerate() {
        let n = r.name;
        s.push_str(&format!(
            "\".globl {n}\\n.type {n},@function\\n.p2align 4\\n{n}:\\n\\tjmp *irpkit_slots+{off}(%rip)\\n.size {n},.-{n}\\n\"\n",
            off = i * 8
        ));
    }
    s.push_str(");\n#elif defined(__aarch64__)\n__asm__(\".text\\n\"\n");
    for (i, r) in routines.iter().enumerate() {
        let n = r.name;
        s.push_str(&format!(
            "\".globl {n}\\n.type {n},%function\\n.p2align 3\\n{n}:\\n\\tadrp x16, irpkit_slots+{off}\\n\\tldr x16, [x16, #:lo12:irpkit_slots+{off}]\\n\\tbr x16\\n.size {n},.-{n}\\n\"\n",
            off = i * 8
        ));
    }
    s.push_str(");\n#else\n#error \"irpkit-wdm: jump stubs are written for x86-64 and AArch64 only\"\n#endif\n");
    s
}

/// Builds (or finds in the cache) and loads the import library now, instead of at the
/// first [`DriverImage::load`]: a program about to run drivers under the explorer calls it
/// first, so that no compile happens inside a controlled run.
pub fn prepare() -> Result<(), LoadError> {
    import_library().map(|_| ())
}

fn import_library() -> Result<&'static ImportLibrary, LoadError> {
    static LIB: OnceLock<Result<ImportLibrary, LoadError>> = OnceLock::new();
    LIB.get_or_init(build_import_library).as_ref().map_err(Clone::clone)
}

fn build_import_library() -> Result<ImportLibrary, LoadError> {
    let dir = work_dir()?;
    let tool = compiler(None);
    check_compiler(&tool)?;
    let compiler_name = tool.path().display().to_string();
    let key = hash(&[compiler_name.as_bytes(), &embedded_hash().to_le_bytes()]);
    let lib = dir.join(format!("libirpkit-wdm-imports-{key:016x}.so"));
    if !lib.exists() {
        let stubs = dir.join("c").join("irpkit_stubs.c");
        write_atomically(&stubs, stubs_source().as_bytes())?;
        static N: AtomicU64 = AtomicU64::new(0);
        let tmp = lib.with_extension(format!("tmp{}-{}.so", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        let mut cmd = tool.to_command();
        cmd.args(DRIVER_CFLAGS).arg("-shared").arg("-I").arg(dir.join("include"));
        cmd.arg(dir.join("c").join("irpkit_rt.c")).arg(&stubs).arg("-o").arg(&tmp);
        let (ok, output) = run(cmd, "compiling irpkit's driver runtime")?;
        if !ok {
            return Err(LoadError::CompileFailed { file: dir.join("c").join("irpkit_rt.c"), output });
        }
        std::fs::rename(&tmp, &lib).map_err(io_error(format!("writing {}", lib.display())))?;
    }
    let path = CString::new(lib.as_os_str().as_encoded_bytes()).expect("a path without NUL");
    // SAFETY: loading irpkit's own library: its initialisers are the C runtime's (none).
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
    if handle.is_null() {
        return Err(LoadError::Io { what: format!("loading {}", lib.display()), error: dl_error() });
    }
    // SAFETY: the library defines these two functions with these signatures (stubs_source).
    unsafe {
        let count = libc::dlsym(handle, c"irpkit_slot_count".as_ptr());
        let bind = libc::dlsym(handle, c"irpkit_bind".as_ptr());
        if count.is_null() || bind.is_null() {
            return Err(LoadError::Io { what: format!("loading {}", lib.display()), error: "no irpkit_bind".into() });
        }
        let count: extern "C" fn() -> usize = core::mem::transmute(count);
        let bind: extern "C" fn(*const *const (), usize) = core::mem::transmute(bind);
        let table: Vec<*const ()> = crate::exports::ROUTINES.iter().map(|r| r.address).collect();
        assert_eq!(count(), table.len(), "the import library's stubs do not match this build's routines");
        bind(table.as_ptr(), table.len());
    }
    let mut object_types = Vec::new();
    for (name, kind) in [
        (c"ExEventObjectType", ObjectType::Event),
        (c"ExSemaphoreObjectType", ObjectType::Semaphore),
        (c"PsThreadType", ObjectType::Thread),
    ] {
        // SAFETY: each is a `POBJECT_TYPE *` variable the runtime defines (or absent).
        let var = unsafe { libc::dlsym(handle, name.as_ptr()) }.cast::<*mut core::ffi::c_void>();
        if !var.is_null() {
            // SAFETY: the variable is initialised statically and never written.
            object_types.push((unsafe { *var } as usize, kind));
        }
    }
    let _ = crate::exports::OBJECT_TYPES.set(object_types);
    Ok(ImportLibrary)
}

fn dl_error() -> String {
    // SAFETY: dlerror returns null or a NUL-terminated message owned by the loader.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        "unknown error".to_string()
    } else {
        // SAFETY: as above.
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

/// A WDM driver to build from C sources.
#[derive(Debug, Clone)]
pub struct CDriver {
    name: String,
    sources: Vec<PathBuf>,
    includes: Vec<PathBuf>,
    defines: Vec<(String, Option<String>)>,
    flags: Vec<String>,
    compiler: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    cargo_metadata: bool,
}

impl CDriver {
    /// A driver named `name` (its driver object is `\Driver\{name}`), with no sources yet.
    pub fn new(name: &str) -> Self {
        CDriver {
            name: name.to_string(),
            sources: Vec::new(),
            includes: Vec::new(),
            defines: Vec::new(),
            flags: Vec::new(),
            compiler: None,
            out_dir: None,
            cargo_metadata: false,
        }
    }

    /// Adds a C source file.
    pub fn source(mut self, path: impl AsRef<Path>) -> Self {
        self.sources.push(path.as_ref().to_path_buf());
        self
    }

    /// Adds C source files.
    pub fn sources(mut self, paths: impl IntoIterator<Item = impl AsRef<Path>>) -> Self {
        self.sources.extend(paths.into_iter().map(|p| p.as_ref().to_path_buf()));
        self
    }

    /// Adds an include directory (searched before irpkit's headers).
    pub fn include(mut self, dir: impl AsRef<Path>) -> Self {
        self.includes.push(dir.as_ref().to_path_buf());
        self
    }

    /// Defines a macro (`-DNAME` or `-DNAME=VALUE`).
    pub fn define(mut self, name: &str, value: Option<&str>) -> Self {
        self.defines.push((name.to_string(), value.map(str::to_string)));
        self
    }

    /// Adds a compiler flag.
    pub fn flag(mut self, flag: &str) -> Self {
        self.flags.push(flag.to_string());
        self
    }

    /// Uses this C compiler (default: `CC`, then `cc`).
    pub fn compiler(mut self, path: impl AsRef<Path>) -> Self {
        self.compiler = Some(path.as_ref().to_path_buf());
        self
    }

    /// Puts the objects and the shared object in `dir` (default: irpkit's cache under the
    /// temporary directory; in a `build.rs`, pass `OUT_DIR`).
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.out_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Prints `cargo:rerun-if-changed` lines for the sources (for a `build.rs`).
    pub fn cargo_metadata(mut self, on: bool) -> Self {
        self.cargo_metadata = on;
        self
    }

    /// Compiles and links the driver (or finds it already built with the same inputs).
    pub fn build(&self) -> Result<DriverImage, LoadError> {
        if self.sources.is_empty() {
            return Err(LoadError::Io {
                what: format!("building driver {}", self.name),
                error: "no C sources given".into(),
            });
        }
        let tool = compiler(self.compiler.as_deref());
        check_compiler(&tool)?;
        let include = include_dir()?;
        let mut contents = Vec::new();
        for src in &self.sources {
            if self.cargo_metadata {
                println!("cargo:rerun-if-changed={}", src.display());
            }
            let text = std::fs::read(src).map_err(io_error(format!("reading {}", src.display())))?;
            contents.push(text);
        }
        let mut key_parts: Vec<Vec<u8>> = contents.clone();
        key_parts.push(tool.path().display().to_string().into_bytes());
        key_parts.push(format!("{:?}{:?}", tool.args(), DRIVER_CFLAGS).into_bytes());
        key_parts.push(format!("{:?}{:?}{:?}{:?}", self.includes, self.defines, self.flags, self.sources).into_bytes());
        key_parts.push(embedded_hash().to_le_bytes().to_vec());
        for dir in &self.includes {
            if let Ok(rd) = std::fs::read_dir(dir) {
                let mut files: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
                files.sort();
                for f in files {
                    if let Ok(b) = std::fs::read(&f) {
                        key_parts.push(b);
                    }
                }
            }
        }
        let refs: Vec<&[u8]> = key_parts.iter().map(Vec::as_slice).collect();
        let key = hash(&refs);
        let out = match &self.out_dir {
            Some(d) => d.clone(),
            None => work_dir()?.join("drivers").join(format!("{}-{key:016x}", self.name)),
        };
        std::fs::create_dir_all(&out).map_err(io_error(format!("creating {}", out.display())))?;
        let image = out.join(format!("{}.so", self.name));
        let stamp = out.join(format!("{}.key", self.name));
        // The compiler's warnings are kept with the image, so a cached build shows them too.
        let warnings_file = out.join(format!("{}.warnings", self.name));
        if image.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&format!("{key:016x}")) {
            let warnings = std::fs::read_to_string(&warnings_file).unwrap_or_default();
            return Ok(DriverImage { path: image, name: self.name.clone(), warnings });
        }
        let mut warnings = String::new();
        let mut objects = Vec::new();
        for (i, src) in self.sources.iter().enumerate() {
            let obj = out.join(format!("{i}-{}.o", src.file_stem().unwrap_or_default().to_string_lossy()));
            let mut cmd = tool.to_command();
            cmd.args(DRIVER_CFLAGS);
            for dir in &self.includes {
                cmd.arg("-I").arg(dir);
            }
            cmd.arg("-I").arg(&include);
            for (name, value) in &self.defines {
                match value {
                    Some(v) => cmd.arg(format!("-D{name}={v}")),
                    None => cmd.arg(format!("-D{name}")),
                };
            }
            cmd.args(&self.flags).arg("-c").arg(src).arg("-o").arg(&obj);
            let (ok, output) = run(cmd, &format!("compiling {}", src.display()))?;
            if !ok {
                return Err(LoadError::CompileFailed { file: src.clone(), output });
            }
            warnings.push_str(&output);
            objects.push(obj);
        }
        static N: AtomicU64 = AtomicU64::new(0);
        let tmp = image.with_extension(format!("tmp{}-{}.so", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        let mut cmd = tool.to_command();
        cmd.arg("-shared").arg("-Wl,-Bsymbolic").args(&objects).arg("-o").arg(&tmp);
        let (ok, output) = run(cmd, "linking the driver")?;
        if !ok {
            return Err(LoadError::LinkFailed { output });
        }
        std::fs::rename(&tmp, &image).map_err(io_error(format!("writing {}", image.display())))?;
        write_atomically(&warnings_file, warnings.as_bytes())?;
        write_atomically(&stamp, format!("{key:016x}").as_bytes())?;
        Ok(DriverImage { path: image, name: self.name.clone(), warnings })
    }
}

/// A driver's shared object, built by [`CDriver::build`] or prebuilt (compiled with
/// [`DRIVER_CFLAGS`] against [`include_dir`], linked `-shared` with its kernel routines
/// left undefined).
#[derive(Debug, Clone)]
pub struct DriverImage {
    path: PathBuf,
    name: String,
    warnings: String,
}

/// A loaded copy of an image: kept idle for the next load of the same image when the
/// kernel it was loaded into ends (closed if too many are idle).
struct Mapping {
    handle: usize,
    symbols_token: Option<usize>,
    /// The image file it is a copy of, and the file's identity when it was mapped.
    source: PathBuf,
    identity: FileIdentity,
    entry: usize,
    /// The writable data as mapped, before DriverEntry ran: (address, bytes).
    snapshot: Vec<(usize, Vec<u8>)>,
}

impl Drop for Mapping {
    fn drop(&mut self) {
        let mut idle = idle_mappings();
        if idle.len() < MAX_IDLE_MAPPINGS && !self.snapshot.is_empty() {
            let kept = Mapping {
                handle: self.handle,
                symbols_token: self.symbols_token.take(),
                source: core::mem::take(&mut self.source),
                identity: self.identity,
                entry: self.entry,
                snapshot: core::mem::take(&mut self.snapshot),
            };
            self.handle = 0;
            idle.push(kept);
            return;
        }
        drop(idle);
        if let Some(t) = self.symbols_token {
            irpkit::nt::symbols::unregister_image(t);
        }
        if self.handle != 0 {
            // SAFETY: the kernel that called into this copy has ended (this runs as the
            // last of its kept values): nothing can call into it any more.
            unsafe { libc::dlclose(self.handle as *mut libc::c_void) };
        }
    }
}

/// Idle copies kept at most (in all, every image together).
const MAX_IDLE_MAPPINGS: usize = 64;

/// Copies of images whose kernels have ended, ready for the next load.
fn idle_mappings() -> std::sync::MutexGuard<'static, Vec<Mapping>> {
    static IDLE: std::sync::Mutex<Vec<Mapping>> = std::sync::Mutex::new(Vec::new());
    IDLE.lock().unwrap_or_else(|p| p.into_inner())
}

/// What tells a rebuilt image file from the one a copy was made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    len: u64,
    modified: Option<std::time::SystemTime>,
}

fn file_identity(path: &Path) -> Option<FileIdentity> {
    let m = std::fs::metadata(path).ok()?;
    Some(FileIdentity { len: m.len(), modified: m.modified().ok() })
}

/// Takes an idle copy of `path` (as it is now), its globals put back as mapped.
fn take_idle(path: &Path, identity: FileIdentity) -> Option<Mapping> {
    let mut idle = idle_mappings();
    let i = idle.iter().position(|m| m.source == path && m.identity == identity)?;
    let m = idle.swap_remove(i);
    drop(idle);
    for (address, bytes) in &m.snapshot {
        // SAFETY: the region is writable data of this mapped copy (found in its program
        // headers when it was mapped, read-only-after-relocation pages left out), and no
        // kernel uses the copy: it was idle.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), *address as *mut u8, bytes.len()) };
    }
    Some(m)
}

/// The writable data of the object loaded at `base`, as it is now.
fn snapshot_writable(base: usize) -> Vec<(usize, Vec<u8>)> {
    struct Search {
        base: usize,
        regions: Vec<(usize, usize)>,
    }
    unsafe extern "C" fn each(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: dl_iterate_phdr passes a valid info record and our `Search`.
        let (info, search) = unsafe { (&*info, &mut *data.cast::<Search>()) };
        if info.dlpi_addr as usize != search.base {
            return 0;
        }
        // SAFETY: the record's program headers are `dlpi_phnum` entries at `dlpi_phdr`.
        let headers = unsafe { core::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let relro = headers.iter().find(|h| h.p_type == libc::PT_GNU_RELRO).map(|h| {
            let start = (search.base + h.p_vaddr as usize) & !(page - 1);
            let end = (search.base + h.p_vaddr as usize + h.p_memsz as usize) & !(page - 1);
            (start, end)
        });
        for h in headers.iter().filter(|h| h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_W != 0) {
            let mut start = search.base + h.p_vaddr as usize;
            let end = start + h.p_memsz as usize;
            if let Some((rs, re)) = relro {
                if rs <= start && re > start {
                    start = re.min(end);
                }
            }
            if end > start {
                search.regions.push((start, end - start));
            }
        }
        1
    }
    let mut search = Search { base, regions: Vec::new() };
    // SAFETY: `each` matches the callback type and only reads the records it is given.
    unsafe { libc::dl_iterate_phdr(Some(each), (&mut search as *mut Search).cast()) };
    search
        .regions
        .into_iter()
        .map(|(address, len)| {
            // SAFETY: a writable, mapped region of the object (its PT_LOAD segment, past
            // its read-only-after-relocation part).
            let bytes = unsafe { core::slice::from_raw_parts(address as *const u8, len) }.to_vec();
            (address, bytes)
        })
        .collect()
}

impl DriverImage {
    /// A prebuilt shared object; the driver is named after the file's stem.
    pub fn from_shared_object(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref().to_path_buf();
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "driver".into());
        DriverImage { path, name, warnings: String::new() }
    }

    /// The shared object's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The driver's name (`\Driver\{name}`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The compiler's warnings (kept with a cached build, so they are the same on every
    /// build of the same inputs).
    pub fn warnings(&self) -> &str {
        &self.warnings
    }

    /// Loads a private copy of the image into `kernel` and calls its DriverEntry (on the
    /// calling thread) with its driver object and the registry path
    /// `\Registry\Machine\System\CurrentControlSet\Services\{name}`.
    pub fn load(&self, kernel: &Kernel) -> Result<LoadedDriver, LoadError> {
        import_library()?;
        let identity = file_identity(&self.path);
        let mapping = match identity.and_then(|id| take_idle(&self.path, id)) {
            Some(m) => m,
            None => self.map_copy(identity)?,
        };
        let entry = mapping.entry;
        kernel.keep_alive(Box::new(mapping));
        // SAFETY: DriverEntry has the DRIVER_INITIALIZE signature (the header declares it).
        let entry: DriverInitialize = unsafe { core::mem::transmute::<usize, DriverInitialize>(entry) };
        match kernel.load_driver(&self.name, entry) {
            Ok(driver) => {
                Ok(LoadedDriver { kernel: kernel.clone(), driver: DriverRef(driver), name: self.name.clone() })
            }
            Err(status) => Err(LoadError::DriverEntryFailed { driver: format!("\\Driver\\{}", self.name), status }),
        }
    }

    /// Maps a new private copy of the image and snapshots its writable data.
    fn map_copy(&self, identity: Option<FileIdentity>) -> Result<Mapping, LoadError> {
        let copy = private_copy(&self.path)?;
        let cpath = CString::new(copy.as_os_str().as_encoded_bytes()).expect("a path without NUL");
        // SAFETY: loading the driver: its initialisers are its own (WDM drivers have none).
        let handle = unsafe { libc::dlopen(cpath.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        let symbols = if handle.is_null() { None } else { Some(read_symbols(&copy)) };
        let _ = std::fs::remove_file(&copy);
        if handle.is_null() {
            let error = dl_error();
            if let Some(name) = error.split("undefined symbol: ").nth(1) {
                let name = name.split(|c: char| c.is_whitespace() || c == ',').next().unwrap_or(name).to_string();
                let others = unresolved_routines(&self.path).into_iter().filter(|n| *n != name).collect();
                return Err(LoadError::UnresolvedRoutine { name, others, image: self.path.clone() });
            }
            return Err(LoadError::Io { what: format!("loading {}", self.path.display()), error });
        }
        // SAFETY: a live handle; the symbol, if present, is the driver's entry point.
        let entry = unsafe { libc::dlsym(handle, c"DriverEntry".as_ptr()) };
        if entry.is_null() {
            // SAFETY: nothing of the copy was called.
            unsafe { libc::dlclose(handle) };
            return Err(LoadError::MissingDriverEntry { image: self.path.clone() });
        }
        let token = symbols.flatten().and_then(|table| register_symbols(entry, table, &self.path));
        // SAFETY: Dl_info is plain data (pointers and integers): all zero is a valid value.
        let mut info: libc::Dl_info = unsafe { core::mem::zeroed() };
        // SAFETY: `entry` is an address inside the loaded copy; `info` is writable.
        let base = if unsafe { libc::dladdr(entry, &mut info) } != 0 { info.dli_fbase as usize } else { 0 };
        // Without its base the copy's data cannot be found: it is then never reused.
        let (snapshot, identity) = match (base, identity) {
            (0, _) | (_, None) => (Vec::new(), FileIdentity { len: u64::MAX, modified: None }),
            (base, Some(id)) => (snapshot_writable(base), id),
        };
        Ok(Mapping {
            handle: handle as usize,
            symbols_token: token,
            source: self.path.clone(),
            identity,
            entry: entry as usize,
            snapshot,
        })
    }
}

fn private_copy(path: &Path) -> Result<PathBuf, LoadError> {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = work_dir()?.join("instances");
    std::fs::create_dir_all(&dir).map_err(io_error(format!("creating {}", dir.display())))?;
    let stem = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
    let copy = dir.join(format!("{stem}-{}-{}.so", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::copy(path, &copy).map_err(io_error(format!("reading {}", path.display())))?;
    Ok(copy)
}

/// The undefined symbols of a driver image that no loaded object provides (neither the
/// import library's kernel routines nor the C library), sorted: what a failed load lacks.
fn unresolved_routines(path: &Path) -> Vec<String> {
    use object::{Object, ObjectSymbol};
    let Ok(data) = std::fs::read(path) else { return Vec::new() };
    let Ok(file) = object::File::parse(&*data) else { return Vec::new() };
    let mut names: Vec<String> = file
        .dynamic_symbols()
        .filter(|s| s.is_undefined() && !s.is_weak())
        .filter_map(|s| s.name().ok().map(str::to_string))
        .filter(|n| !n.is_empty())
        .filter(|n| {
            let Ok(c) = CString::new(n.as_str()) else { return false };
            // SAFETY: a lookup in the global scope by a NUL-terminated name.
            unsafe { libc::dlsym(libc::RTLD_DEFAULT, c.as_ptr()) }.is_null()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Function symbols of an ELF shared object: (address relative to its load base, size,
/// name).
fn read_symbols(path: &Path) -> Option<Vec<(u64, u64, String)>> {
    use object::{Object, ObjectSymbol, SymbolKind};
    let data = std::fs::read(path).ok()?;
    let file = object::File::parse(&*data).ok()?;
    let mut v: Vec<(u64, u64, String)> = file
        .symbols()
        .chain(file.dynamic_symbols())
        .filter(|s| s.kind() == SymbolKind::Text && s.address() != 0)
        .filter_map(|s| Some((s.address(), s.size(), s.name().ok()?.to_string())))
        .collect();
    v.sort();
    v.dedup_by(|a, b| a.0 == b.0);
    Some(v)
}

fn register_symbols(entry: *mut libc::c_void, table: Vec<(u64, u64, String)>, image: &Path) -> Option<usize> {
    // SAFETY: Dl_info is plain data (pointers and integers): all zero is a valid value.
    let mut info: libc::Dl_info = unsafe { core::mem::zeroed() };
    // SAFETY: `entry` is an address inside a loaded object; `info` is writable.
    if unsafe { libc::dladdr(entry, &mut info) } == 0 || info.dli_fbase.is_null() {
        return None;
    }
    let base = info.dli_fbase as usize;
    let end = table.iter().map(|(a, s, _)| a + s.max(&1)).max()? as usize + base;
    let file = image.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let table = Arc::new(table);
    let resolve: irpkit::nt::symbols::Resolver = Arc::new(move |address: usize| {
        let rel = (address - base) as u64;
        let i = table.partition_point(|(a, _, _)| *a <= rel).checked_sub(1)?;
        let (start, size, name) = &table[i];
        if *size != 0 && rel >= start + size {
            return None;
        }
        Some(if rel == *start { format!("{name} ({file})") } else { format!("{name}+0x{:x} ({file})", rel - start) })
    });
    Some(irpkit::nt::symbols::register_image(base, end, resolve))
}

/// A driver object pointer that may cross threads.
#[derive(Debug, Clone, Copy)]
struct DriverRef(*mut DriverObject);
// SAFETY: driver objects are shared by design; the kernel follows NT's rules for them.
unsafe impl Send for DriverRef {}
// SAFETY: as above.
unsafe impl Sync for DriverRef {}

/// A C driver loaded into a kernel.
#[derive(Debug)]
pub struct LoadedDriver {
    kernel: Kernel,
    driver: DriverRef,
    name: String,
}

impl LoadedDriver {
    /// The driver object.
    pub fn driver_object(&self) -> *mut DriverObject {
        self.driver.0
    }

    /// The driver's name (`\Driver\{name}` without the prefix).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Calls the driver's DriverUnload (if it set one) on the calling thread, then reports
    /// what it left behind: IRPs, pool blocks, running system threads.
    pub fn unload(self) {
        // SAFETY: the driver object is this kernel's; the caller is done with the driver
        // (the contract of unloading; leftovers are reported, not undefined behaviour).
        unsafe { self.kernel.unload_driver(self.driver.0) }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn stubs_name_every_routine_once() {
        let names: Vec<&str> = crate::exports::ROUTINES.iter().map(|r| r.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "a routine is listed twice");
        let src = super::stubs_source();
        for n in names {
            assert!(src.contains(&format!(".globl {n}\\n")), "{n} has no stub");
        }
    }
}
