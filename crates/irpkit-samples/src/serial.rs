//! A serial-style device with a StartIo routine — "Cancel Routines in Drivers with StartIo
//! Routines", in safe Rust — and its keyed variant, an elevator-ordered disk.
//!
//! - Dispatch (reads and writes): mark pending, `IoStartPacket` with the cancel routine
//!   (by key — the sector — for the disk).
//! - StartIo: under the cancel spin lock, a request already cancelled is completed
//!   `STATUS_CANCELLED` and the next packet started (from StartIo with DeferredStartIo,
//!   else from the DPC, so that StartIo never recurses); otherwise the transfer starts on
//!   the "hardware" (a timer) and the IRP stays cancelable midway.
//! - The hardware's DPC: takes the current IRP back under the cancel spin lock, completes
//!   it (`STATUS_CANCELLED` / 0 if it was cancelled meanwhile, else the bytes
//!   transferred), starts the next packet (FIFO, or by key from the head's position for
//!   the disk's elevator).
//! - The cancel routine, step by step as "Cancel Routines in Drivers with StartIo
//!   Routines" says: current IRP → release and return (here it also asks the hardware to
//!   stop the transfer now); in the device queue → `KeRemoveEntryDeviceQueue`, release,
//!   complete `STATUS_CANCELLED` / 0; otherwise → release and return.
//!
//! - IRP_MJ_CLEANUP: the file object's requests still in the device queue are removed
//!   under the cancel spin lock and completed `STATUS_CANCELLED`.
//!
//! Lock order: the cancel spin lock is never acquired while `transfer` is held; the cancel
//! routine takes `transfer` only after releasing the cancel spin lock.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use irpkit::nt;
use irpkit::safe::{
    CancelLockReleased, CancelRoutineLock, CancelSpinLockGuard, DeviceRef, DeviceTimer, Dispatched, Driver, Irp,
    QueuedIrp, SpinLock, SpinLockGuard, StartIoCancelRoutine, StartIoDriver, StartedIrp,
};

/// How a [`Serial`] device behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SerialConfig {
    /// How long the hardware takes for one transfer (on the kernel's clock).
    pub transfer_time: Duration,
    /// Keyed (disk-style): requests are queued by sector and served as an elevator.
    pub elevator: bool,
    /// `IoSetStartIoAttributes(DeferredStartIo)`.
    pub deferred_start_io: bool,
    /// `IoSetStartIoAttributes(NonCancelable)`.
    pub non_cancelable: bool,
}

impl Default for SerialConfig {
    fn default() -> Self {
        SerialConfig {
            transfer_time: Duration::from_millis(10),
            elevator: false,
            deferred_start_io: true,
            non_cancelable: false,
        }
    }
}

/// Counters of what the device did.
#[derive(Debug, Default)]
pub struct SerialStats {
    /// Transfers the hardware finished.
    pub transferred: AtomicU64,
    /// Requests completed cancelled while queued (by the cancel routine).
    pub cancelled_queued: AtomicU64,
    /// Requests StartIo found cancelled, or whose transfer was cancelled midway.
    pub cancelled_current: AtomicU64,
    /// The sectors served, in order (disk only; the last 64).
    pub last_position: AtomicU32,
}

/// The serial (or disk) device's state.
#[derive(Debug)]
pub struct Serial {
    config: SerialConfig,
    hardware: DeviceTimer,
    /// The transfer in progress: the current IRP, held by the StartIo path. A spin lock,
    /// not a `std` mutex: the cancel routine and the DPC take it at DISPATCH_LEVEL.
    transfer: SpinLock<Option<StartedIrp>>,
    /// StartIo finished its IRP without a transfer and, not being allowed to recurse
    /// (no DeferredStartIo), left starting the next packet to the DPC.
    start_next_from_dpc: std::sync::atomic::AtomicBool,
    /// What happened.
    pub stats: SerialStats,
}

const SECTOR: i64 = 512;

impl Serial {
    /// A serial device with `config`.
    pub fn new(config: SerialConfig) -> Self {
        Serial {
            config,
            hardware: DeviceTimer::new(transfer_done),
            transfer: SpinLock::new(None),
            start_next_from_dpc: std::sync::atomic::AtomicBool::new(false),
            stats: SerialStats::default(),
        }
    }

    /// A disk-style device: keyed by sector, elevator order.
    pub fn disk(transfer_time: Duration) -> Self {
        Self::new(SerialConfig { transfer_time, elevator: true, ..SerialConfig::default() })
    }

    /// Applies the configured StartIo attributes to the device (call once after creating
    /// it).
    pub fn configure(&self, device: &DeviceRef) {
        device.set_start_io_attributes(self.config.deferred_start_io, self.config.non_cancelable);
    }

    fn transfer(&self) -> SpinLockGuard<'_, Option<StartedIrp>> {
        self.transfer.lock()
    }

    fn start_next(&self, device: &DeviceRef) {
        if self.config.elevator {
            device.start_next_packet_by_key(self.stats.last_position.load(Ordering::Relaxed));
        } else {
            device.start_next_packet();
        }
    }
}

impl Driver for Serial {
    fn dispatch(&self, device: &DeviceRef, mut irp: Irp) -> Dispatched {
        match irp.major_function() {
            nt::IRP_MJ_READ | nt::IRP_MJ_WRITE => {
                let pending = irp.mark_pending();
                let key = self.config.elevator.then(|| irp.byte_offset().map_or(0, |o| (o / SECTOR) as u32));
                irp.start_packet::<SerialCancel>(device, key);
                pending.into()
            }
            nt::IRP_MJ_CLEANUP => {
                // The file's queued requests leave the device queue under the cancel spin
                // lock and are completed cancelled after it; the current one finishes on
                // its own path.
                let lock = CancelSpinLockGuard::acquire();
                let flushed = device.remove_queued_for_file(irp.file_object(), &lock);
                drop(lock);
                for queued in flushed {
                    self.stats.cancelled_queued.fetch_add(1, Ordering::Relaxed);
                    queued.complete_cancelled();
                }
                irp.complete(nt::STATUS_SUCCESS, 0).into()
            }
            nt::IRP_MJ_CREATE | nt::IRP_MJ_CLOSE => irp.complete(nt::STATUS_SUCCESS, 0).into(),
            _ => irp.complete(nt::STATUS_INVALID_DEVICE_REQUEST, 0).into(),
        }
    }
}

impl StartIoDriver for Serial {
    fn start_io(&self, device: &DeviceRef, irp: StartedIrp) {
        if let Some(offset) = irp.byte_offset() {
            self.stats.last_position.store((offset / SECTOR) as u32, Ordering::Relaxed);
        }
        let lock = CancelSpinLockGuard::acquire();
        if irp.is_cancel_requested() {
            let irp = irp.into_irp(&lock);
            drop(lock);
            self.stats.cancelled_current.fetch_add(1, Ordering::Relaxed);
            irp.complete_cancelled();
            if self.config.deferred_start_io {
                self.start_next(device); // deferred: runs after this StartIo returns
            } else {
                // Calling IoStartNextPacket here would re-enter StartIo: let the DPC do it.
                self.start_next_from_dpc.store(true, Ordering::Release);
                self.hardware.set(device, Duration::ZERO);
            }
            return;
        }
        drop(lock);
        // Program the hardware; the IRP stays cancelable while it transfers.
        *self.transfer() = Some(irp);
        self.hardware.set(device, self.config.transfer_time);
    }
}

/// The hardware's DPC: the transfer ended (or was stopped).
fn transfer_done(device: &DeviceRef) {
    let Some(me) = device.state::<Serial>() else { return };
    // Taken and released before anything else: starting the next packet below may run
    // StartIo, which takes the lock again.
    let taken = me.transfer().take();
    let Some(irp) = taken else {
        if me.start_next_from_dpc.swap(false, Ordering::AcqRel) {
            me.start_next(device);
        }
        return;
    };
    let lock = CancelSpinLockGuard::acquire();
    let cancelled = irp.is_cancel_requested();
    let length = irp.read_length().unwrap_or(0);
    let irp = irp.into_irp(&lock);
    drop(lock);
    if cancelled {
        me.stats.cancelled_current.fetch_add(1, Ordering::Relaxed);
        irp.complete_cancelled();
    } else {
        me.stats.transferred.fetch_add(1, Ordering::Relaxed);
        irp.complete(nt::STATUS_SUCCESS, length as usize);
    }
    me.start_next(device);
}

/// The cancel routine, as "Cancel Routines in Drivers with StartIo Routines" describes it.
#[derive(Debug)]
pub struct SerialCancel;

impl StartIoCancelRoutine for SerialCancel {
    fn cancel<'a>(device: &DeviceRef, irp: QueuedIrp<'a>, lock: CancelRoutineLock<'a>) -> CancelLockReleased<'a> {
        // 1. The current IRP: StartIo's path owns it. Release and return — after asking
        //    the hardware to stop this transfer now, so the DPC finishes it cancelled.
        if irp.is_current(device, &lock) {
            let released = lock.release();
            if let Some(me) = device.state::<Serial>() {
                let transfer = me.transfer();
                if transfer.as_ref().is_some_and(|t| t.id() == irp.id()) {
                    me.hardware.set(device, Duration::ZERO);
                }
            }
            return released;
        }
        // 2. Queued: remove it, release, complete STATUS_CANCELLED / 0.
        match irp.remove_from_device_queue(device, &lock) {
            Ok(removed) => {
                let released = lock.release();
                if let Some(me) = device.state::<Serial>() {
                    me.stats.cancelled_queued.fetch_add(1, Ordering::Relaxed);
                }
                removed.complete_cancelled(&released);
                released
            }
            // Neither current nor queued (dequeued, StartIo about to take it): StartIo
            // sees `Cancel` and completes it.
            Err(_) => lock.release(),
        }
    }
}
