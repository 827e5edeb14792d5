//! irpkit: the Windows NT I/O manager's request-cancellation machinery, in Rust,
//! runnable and testable on any machine.
//!
//! - [`nt`]: the NT layer — IRPs with the WDK layout, IoCompleteRequest, the cancel spin
//!   lock, IoSetCancelRoutine, IoCancelIrp, device objects and stacks, device queues,
//!   events — each routine as Microsoft documents it.
//! - [`safe`]: a safe Rust API over the NT layer whose types make the cancellation rules
//!   impossible to break (completion consumes the IRP; a cancel routine must give back
//!   the cancel lock; only the winner of the cancel-routine exchange gets the IRP).
//! - [`verifier`]: every broken rule becomes a typed report with Windows' own bug-check
//!   code, in strict (panic) or record mode.
//! - [`Kernel`]: one simulated system (cancel lock, IRP pool, verifier, [`clock`]).
//!
//! ```
//! use irpkit::safe::{Driver, DeviceRef, Dispatched, Irp};
//! use irpkit::nt::{STATUS_SUCCESS, IRP_MJ_READ};
//!
//! struct Echo;
//! impl Driver for Echo {
//!     fn dispatch(&self, _device: &DeviceRef, irp: Irp) -> Dispatched {
//!         let len = irp.read_length().unwrap_or(0);
//!         irp.complete(STATUS_SUCCESS, len as usize).into()
//!     }
//! }
//!
//! let kernel = irpkit::Kernel::new();
//! let _entered = kernel.enter();
//! let device = irpkit::safe::create_device(&kernel, "Echo", Echo).unwrap();
//! let request = irpkit::safe::Request::read(&kernel, device.device_ref(), 512, 0).unwrap();
//! let status = request.send().wait();
//! assert_eq!(status.status, STATUS_SUCCESS);
//! assert_eq!(status.information, 512);
//! # let _ = IRP_MJ_READ;
//! ```

#![warn(missing_docs)]

pub mod clock;
#[cfg(not(any(loom, shuttle)))]
pub mod explore;
pub mod io;

pub mod nt;
pub(crate) mod queue;

pub mod safe;
// Under loom and shuttle their own schedulers run the models; only the hooks are used.
#[cfg_attr(any(loom, shuttle), allow(dead_code))]
mod sched;
pub(crate) mod sync;
pub mod timeline;
pub mod verifier;

pub use nt::kernel::{current_irql, spin_locks_held, EnterGuard, JoinHandle, Kernel, KernelBuilder};
