//! The safe Rust API over the NT layer.
//!
//! It wraps [`crate::nt`]; it does not re-implement it, so the verifier watches safe and
//! unsafe drivers alike. Ownership states the cancellation rules:
//!
//! - an [`Irp`] is owned by exactly one party; [`Irp::complete`] consumes it, so a second
//!   completion does not compile;
//! - parking an IRP with a cancel routine turns it into a [`CancelableIrp`], which cannot
//!   be completed; [`CancelableIrp::clear_cancel_routine`] gives the `Irp` back only to
//!   the winner of the exchange with IoCancelIrp;
//! - a [`CancelRoutine`] receives the cancel spin lock as a [`CancelRoutineLock`] by value
//!   and must return the [`CancelLockReleased`] proof that only releasing that very guard
//!   produces; completing the cancelled IRP needs the proof too, so the lock is never held
//!   across completion;
//! - only the creator of a request holds the [`SentRequest`] that can cancel it.
//!
//! Double completion does not compile:
//!
//! ```compile_fail,E0382
//! use irpkit::safe::{Irp, Dispatched};
//! fn dispatch(irp: Irp) -> Dispatched {
//!     irp.complete(irpkit::nt::STATUS_SUCCESS, 0);
//!     irp.complete(irpkit::nt::STATUS_SUCCESS, 0).into() // use of moved value
//! }
//! ```
//!
//! A cancel routine cannot return while keeping the cancel lock — the only way to get the
//! value it must return is to release the guard it was given:
//!
//! ```compile_fail,E0308
//! use irpkit::safe::{CancelIrp, CancelRoutineLock, CancelLockReleased, CancelRoutine, DeviceRef};
//! struct KeepsLock;
//! impl CancelRoutine for KeepsLock {
//!     fn cancel<'a>(_: &DeviceRef, _irp: CancelIrp<'a>, lock: CancelRoutineLock<'a>) -> CancelLockReleased<'a> {
//!         lock // still holding it: a guard is not a release
//!     }
//! }
//! ```
//!
//! Nor can it smuggle the guard out to keep the lock after returning:
//!
//! ```compile_fail
//! use std::cell::RefCell;
//! use irpkit::safe::{CancelIrp, CancelRoutineLock, CancelLockReleased, CancelRoutine, DeviceRef};
//! thread_local!(static KEPT: RefCell<Option<CancelRoutineLock<'static>>> = RefCell::new(None));
//! struct Smuggles;
//! impl CancelRoutine for Smuggles {
//!     fn cancel<'a>(_: &DeviceRef, irp: CancelIrp<'a>, lock: CancelRoutineLock<'a>) -> CancelLockReleased<'a> {
//!         KEPT.with(|k| *k.borrow_mut() = Some(lock)); // lifetime 'a does not outlive the call
//!         unreachable!()
//!     }
//! }
//! ```
//!
//! Nor release the lock behind its guard's back, letting another thread change
//! `CurrentIrp` while the guard still stands (the NT routine is `unsafe`):
//!
//! ```compile_fail,E0133
//! use irpkit::safe::{CancelIrp, CancelRoutineLock, CancelLockReleased, CancelRoutine, DeviceRef};
//! struct Undercuts;
//! impl CancelRoutine for Undercuts {
//!     fn cancel<'a>(_: &DeviceRef, _irp: CancelIrp<'a>, lock: CancelRoutineLock<'a>) -> CancelLockReleased<'a> {
//!         irpkit::nt::io_release_cancel_spin_lock(irpkit::nt::DISPATCH_LEVEL); // guard still held
//!         lock.release()
//!     }
//! }
//! ```
//!
//! Nor complete the cancelled IRP while still holding the lock:
//!
//! ```compile_fail,E0061
//! use irpkit::safe::{CancelIrp, CancelRoutineLock, CancelLockReleased, CancelRoutine, DeviceRef};
//! struct CompletesUnderLock;
//! impl CancelRoutine for CompletesUnderLock {
//!     fn cancel<'a>(_: &DeviceRef, irp: CancelIrp<'a>, lock: CancelRoutineLock<'a>) -> CancelLockReleased<'a> {
//!         irp.complete_cancelled(); // needs the proof of release
//!         lock.release()
//!     }
//! }
//! ```

mod cancel;
mod csq;
mod device;
mod irp;
mod queue;
mod request;
mod spinlock;
mod startio;
mod timer;

pub use cancel::{CancelIrp, CancelLockReleased, CancelRoutine, CancelRoutineLock};
pub use csq::CancelSafeIrpQueue;

pub use device::{create_device, Device, DeviceRef, Driver};
pub use irp::{CancelableIrp, Completed, Dispatched, Irp, Pending};
pub use queue::{CancelQueue, Outcome, Ticket};
pub use request::{Request, SentRequest};
pub use spinlock::{SpinLock, SpinLockGuard};
pub use startio::{
    create_start_io_device, CancelSpinLockGuard, NotQueued, QueuedIrp, StartIoCancelRoutine, StartIoDriver, StartedIrp,
};
pub use timer::DeviceTimer;
