//! Unmodified WDM driver C source on irpkit.
//!
//! A driver written against `wdm.h` / `ntddk.h` compiles against this crate's headers
//! (`include/`, written from Microsoft's documentation), and runs on irpkit's kernel: its
//! DriverEntry, dispatch, cancel, StartIo, DPC, completion and thread routines are called
//! by the very NT routines that run the Rust drivers, and every kernel routine it calls is
//! the `irpkit::nt` routine of that name ([`exports`](self) — no second implementation).
//!
//! ```no_run
//! use irpkit_wdm::CDriver;
//!
//! let kernel = irpkit::Kernel::new();
//! let image = CDriver::new("sample").source("drivers/sample/sample.c").build().unwrap();
//! let driver = image.load(&kernel).unwrap();
//! let device = kernel.find_device(r"\\.\Sample").unwrap();
//! # let _ = device;
//! driver.unload();
//! ```
//!
//! How it works, in [`loader`]: the driver is compiled with the system C compiler as a
//! shared object (with `-fshort-wchar`, unwind tables, the irpkit headers); an import
//! library built once per process defines every kernel routine as a jump through a table
//! the host fills with the addresses of this crate's routines; each load of a driver maps
//! a private copy of its shared object (its globals are its own per kernel), calls
//! DriverEntry with a driver object and registry path, and names the driver's routines by
//! their symbols in verifier reports.

mod exports;
pub mod loader;

pub use loader::{CDriver, DriverImage, LoadError, LoadedDriver};

/// The directory of irpkit's WDM headers in this source tree (for a `build.rs` that
/// compiles a driver itself; [`loader::include_dir`] gives a copy that exists wherever
/// the program runs).
pub const SOURCE_INCLUDE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/include");
