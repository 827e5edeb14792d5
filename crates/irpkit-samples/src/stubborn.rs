//! A device that holds every read and never cancels anything — the driver the five-minute
//! rule is for. It has no cancel routine: IoCancelIrp on its reads returns FALSE, and a
//! thread that exits with reads outstanding here waits five minutes, then the I/O manager
//! disassociates them and logs IO_DRIVER_CANCEL_TIMEOUT. [`Stubborn::finish_all`] finally
//! completes what it holds.

use irpkit::nt::{self, NtStatus};
use irpkit::safe::{DeviceRef, Dispatched, Driver, Irp, SpinLock};

/// The stubborn device's state.
#[derive(Debug, Default)]
pub struct Stubborn {
    held: SpinLock<Vec<Irp>>,
}

impl Stubborn {
    /// A device holding nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads held now.
    pub fn held(&self) -> usize {
        self.held.lock().len()
    }

    /// Completes every held read with `status` (and no data); returns how many.
    pub fn finish_all(&self, status: NtStatus) -> usize {
        // Taken out under the lock, completed after it: never complete holding a spin lock.
        let held: Vec<Irp> = std::mem::take(&mut *self.held.lock());
        let n = held.len();
        for irp in held {
            irp.complete(status, 0);
        }
        n
    }
}

impl Driver for Stubborn {
    fn dispatch(&self, _device: &DeviceRef, mut irp: Irp) -> Dispatched {
        match irp.major_function() {
            nt::IRP_MJ_READ => {
                let pending = irp.mark_pending();
                self.held.lock().push(irp);
                pending.into()
            }
            _ => irp.complete(nt::STATUS_SUCCESS, 0).into(),
        }
    }
}
