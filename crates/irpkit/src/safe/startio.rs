//! StartIo drivers in safe Rust: the pattern of "Cancel Routines in Drivers with
//! StartIo Routines" without `unsafe`.
//!
//! - [`Irp::start_packet`] hands the IRP to the device queue (IoStartPacket) with a
//!   [`StartIoCancelRoutine`].
//! - The cancel routine gets a [`QueuedIrp`]: it can ask whether the IRP is the device's
//!   `CurrentIrp` and try `KeRemoveEntryDeviceQueue`; only an IRP it actually removed
//!   becomes a completable [`CancelIrp`]. So a cancel routine cannot complete the current
//!   IRP or an IRP StartIo may already hold: the type system enforces the seed's rule.
//! - StartIo gets a [`StartedIrp`]: owned by the StartIo path whatever a cancel routine
//!   does. [`StartedIrp::into_irp`] clears its cancel routine under the cancel spin lock
//!   (proved by a [`CancelSpinLockGuard`]) and yields the [`Irp`] to complete.

use core::marker::PhantomData;
use core::ptr::NonNull;

use super::cancel::{CancelIrp, CancelLockReleased, CancelRoutineLock};
use super::device::Device;
use super::irp::Irp;
use crate::nt;
use crate::nt::device_ref::DeviceRef;
use crate::nt::kernel::Kernel;
use crate::nt::NtStatus;
use crate::sync::atomic::Ordering;
use crate::verifier::Rule;

type Brand<'a> = PhantomData<fn(&'a ()) -> &'a ()>;

/// A driver with a StartIo routine.
pub trait StartIoDriver: super::Driver {
    /// StartIo, called at DISPATCH_LEVEL with the device's current IRP. It must not
    /// block; it checks [`StartedIrp::is_cancel_requested`] under the cancel spin lock.
    fn start_io(&self, device: &DeviceRef, irp: StartedIrp);
}

/// The cancel routine of an IRP queued with [`Irp::start_packet`].
pub trait StartIoCancelRoutine: 'static {
    /// Cancels `irp`, called with the cancel spin lock held.
    fn cancel<'a>(device: &DeviceRef, irp: QueuedIrp<'a>, lock: CancelRoutineLock<'a>) -> CancelLockReleased<'a>;
}

/// An IRP of a StartIo driver whose cancel routine runs: it may be queued, current, or
/// between the two. Only removing it from the device queue makes it completable here.
#[derive(Debug)]
pub struct QueuedIrp<'a> {
    raw: NonNull<nt::Irp>,
    _brand: Brand<'a>,
}

/// What [`QueuedIrp::remove_from_device_queue`] returns when the IRP was not in the queue
/// (StartIo's path owns it): dropping it leaves the IRP alone.
#[derive(Debug)]
pub struct NotQueued<'a> {
    _brand: Brand<'a>,
}

impl<'a> QueuedIrp<'a> {
    /// irpkit's serial number of the IRP.
    pub fn id(&self) -> u64 {
        // SAFETY: the IRP is live during the cancel routine.
        unsafe { nt::irp::irp_id(self.raw.as_ptr()) }.unwrap_or(0)
    }

    /// Whether the IRP is the device's `CurrentIrp` (step 1 of "Cancel Routines in Drivers
    /// with StartIo Routines").
    pub fn is_current(&self, device: &DeviceRef, _lock: &CancelRoutineLock<'a>) -> bool {
        // SAFETY: a live device; the field is atomic. Its value holds still while `_lock`
        // lives: the safe layer queues IRPs only with a cancel routine and always starts
        // the next packet as cancelable, so `CurrentIrp` changes only under the cancel spin
        // lock, which `_lock` proves this thread holds (and releasing it is `unsafe`).
        unsafe { (*device.as_ptr()).current_irp.load(Ordering::Acquire) == self.raw.as_ptr() }
    }

    /// `KeRemoveEntryDeviceQueue` (step 2): `Ok` with the removed IRP, which the cancel
    /// routine now owns and completes; `Err` if it was not queued.
    pub fn remove_from_device_queue(
        self,
        device: &DeviceRef,
        _lock: &CancelRoutineLock<'a>,
    ) -> Result<CancelIrp<'a>, NotQueued<'a>> {
        // SAFETY: the device's own queue and the IRP's own entry; the IRP is live.
        let removed = unsafe {
            nt::ke_remove_entry_device_queue(
                &raw mut (*device.as_ptr()).device_queue,
                nt::Irp::device_queue_entry(self.raw.as_ptr()),
            )
        };
        if removed {
            // SAFETY: IoCancelIrp won the routine and the IRP left the queue: ours alone.
            Ok(unsafe { CancelIrp::new(self.raw.as_ptr()) })
        } else {
            Err(NotQueued { _brand: PhantomData })
        }
    }
}

pub(crate) unsafe extern "system-unwind" fn start_io_cancel_trampoline<C: StartIoCancelRoutine>(
    device: *mut nt::DeviceObject,
    irp: *mut nt::Irp,
) {
    assert!(!device.is_null(), "a StartIo cancel routine was called for an IRP that was never sent to a device");
    // SAFETY: IoCancelIrp / IoStartPacket call us with a live IRP, the lock held and
    // `CancelIrql` saved.
    let guard = unsafe { CancelRoutineLock::new((*irp).cancel_irql.load(Ordering::Relaxed)) };
    let irp = QueuedIrp { raw: NonNull::new(irp).expect("an IRP"), _brand: PhantomData };
    // SAFETY: the live device of the IRP's current stack location.
    let device = unsafe { DeviceRef::from_ptr(device) };
    let _released: CancelLockReleased<'_> = C::cancel(device, irp, guard);
}

/// The system cancel spin lock, held (`IoAcquireCancelSpinLock`); released on drop with
/// the IRQL it was acquired at.
#[derive(Debug)]
pub struct CancelSpinLockGuard {
    irql: nt::KIrql,
    _not_send: PhantomData<*const ()>,
}

impl CancelSpinLockGuard {
    /// Acquires the cancel spin lock of the calling thread's kernel.
    pub fn acquire() -> Self {
        // SAFETY: the guard pairs the acquire with the release in its drop, on this thread
        // (it is not `Send`).
        CancelSpinLockGuard { irql: unsafe { nt::io_acquire_cancel_spin_lock() }, _not_send: PhantomData }
    }
}

impl Drop for CancelSpinLockGuard {
    fn drop(&mut self) {
        // SAFETY: the lock this guard acquired on this thread; the guard ends here.
        unsafe { nt::io_release_cancel_spin_lock(self.irql) };
    }
}

/// The IRP StartIo was called with. The StartIo path owns it: a cancel routine only ever
/// completes IRPs it removed from the device queue.
#[derive(Debug)]
pub struct StartedIrp {
    raw: NonNull<nt::Irp>,
}

// SAFETY: the StartIo path owns the IRP and may hand it to a DPC on another thread.
unsafe impl Send for StartedIrp {}

impl StartedIrp {
    /// irpkit's serial number of the IRP.
    pub fn id(&self) -> u64 {
        // SAFETY: owned live IRP.
        unsafe { nt::irp::irp_id(self.raw.as_ptr()) }.unwrap_or(0)
    }

    /// The raw IRP (for identity; not to be completed directly).
    pub fn as_ptr(&self) -> *mut nt::Irp {
        self.raw.as_ptr()
    }

    /// `Irp->Cancel`.
    pub fn is_cancel_requested(&self) -> bool {
        // SAFETY: owned live IRP.
        unsafe { (*self.raw.as_ptr()).cancel.load(Ordering::Acquire) != 0 }
    }

    /// `Parameters.Read.Length` (or Write) of the current stack location.
    pub fn read_length(&self) -> Option<u32> {
        // SAFETY: owned live IRP with a current stack location.
        let sl = unsafe { &*nt::io_get_current_irp_stack_location(self.raw.as_ptr()) };
        matches!(sl.major_function, nt::IRP_MJ_READ | nt::IRP_MJ_WRITE).then(|| {
            // SAFETY: reads and writes share `ReadWriteParameters`.
            unsafe { sl.parameters.read.length }
        })
    }

    /// `Parameters.Read.ByteOffset` (or Write).
    pub fn byte_offset(&self) -> Option<i64> {
        // SAFETY: as `read_length`.
        let sl = unsafe { &*nt::io_get_current_irp_stack_location(self.raw.as_ptr()) };
        matches!(sl.major_function, nt::IRP_MJ_READ | nt::IRP_MJ_WRITE).then(|| {
            // SAFETY: as above.
            unsafe { sl.parameters.read.byte_offset }
        })
    }

    /// Takes the IRP out of the cancelable state (`IoSetCancelRoutine(Irp, NULL)` under the
    /// cancel spin lock) and returns it to complete — after releasing the lock.
    pub fn into_irp(self, _lock: &CancelSpinLockGuard) -> Irp {
        let raw = self.raw.as_ptr();
        core::mem::forget(self);
        // SAFETY: owned live IRP; the slot is atomic. Whether or not a cancel routine took
        // the routine first, it did not complete this IRP (it was not in the queue).
        unsafe {
            nt::io_set_cancel_routine(raw, None);
            Irp::from_raw(raw)
        }
    }
}

impl Drop for StartedIrp {
    fn drop(&mut self) {
        let raw = self.raw.as_ptr();
        if !std::thread::panicking() {
            // SAFETY: owned live IRP.
            unsafe {
                nt::irp::with_irp_kernel(raw, "StartedIrp::drop", |k| {
                    k.report(
                        Rule::IrpLeaked,
                        "StartedIrp::drop",
                        raw,
                        "StartIo's IRP was dropped without being completed; it is completed with STATUS_CANCELLED"
                            .to_string(),
                    )
                })
            };
        }
        let lock = CancelSpinLockGuard::acquire();
        // SAFETY: owned live IRP; see `into_irp`.
        unsafe { nt::io_set_cancel_routine(raw, None) };
        drop(lock);
        // SAFETY: we own the IRP and its routine is clear.
        let _ = unsafe { Irp::from_raw(raw) }.complete_cancelled();
    }
}

/// Like [`create_device`](super::create_device), for a driver with a StartIo routine
/// ([`StartIoDriver::start_io`]).
pub fn create_start_io_device<D: StartIoDriver>(kernel: &Kernel, name: &str, state: D) -> Result<Device<D>, NtStatus> {
    super::device::create(kernel, name, state, Some(start_io_trampoline::<D>))
}

unsafe extern "system-unwind" fn start_io_trampoline<D: StartIoDriver>(
    device: *mut nt::DeviceObject,
    irp: *mut nt::Irp,
) {
    // SAFETY: a device created by `create_start_io_device::<D>` holds a `D`; StartIo gets
    // the device's current IRP, owned by the StartIo path.
    unsafe {
        let state = &*(*device).device_extension.cast::<D>();
        state.start_io(DeviceRef::from_ptr(device), StartedIrp { raw: NonNull::new(irp).expect("an IRP") });
    }
}

impl Irp {
    /// `IoStartPacket` with cancel routine `C`: the device's StartIo gets the IRP now if
    /// the device is idle, or later from the device queue (sorted by `key` when given).
    /// Mark the IRP pending first and return the [`Pending`](super::Pending) proof.
    pub fn start_packet<C: StartIoCancelRoutine>(self, device: &DeviceRef, key: Option<u32>) {
        let raw = self.into_raw();
        // SAFETY: we owned the IRP and hand it to the device's StartIo machinery; the
        // device is a live irpkit device (a missing StartIo is reported).
        unsafe { nt::io_start_packet(device.as_ptr(), raw, key, Some(start_io_cancel_trampoline::<C>)) };
    }
}

impl DeviceRef {
    /// `IoStartNextPacket(DeviceObject, TRUE)`: ends the current IRP's turn and starts the
    /// next queued one (or marks the device idle; on an idle device it does nothing).
    /// Called when the current IRP is done.
    ///
    /// Always `Cancelable` TRUE: [`Irp::start_packet`] queues every IRP with a cancel
    /// routine, and a cancel routine's [`QueuedIrp::is_current`] relies on `CurrentIrp`
    /// changing only under the cancel spin lock, which only the cancelable form takes.
    pub fn start_next_packet(&self) {
        // SAFETY: a live irpkit device; the safe layer's IRPs are cancelable, and so is
        // this call.
        unsafe { nt::io_start_next_packet(self.as_ptr(), true) };
    }

    /// `IoStartNextPacketByKey(DeviceObject, TRUE, Key)`: like
    /// [`start_next_packet`](Self::start_next_packet), taking the first IRP whose key is
    /// `>= key` (elevator order).
    pub fn start_next_packet_by_key(&self, key: u32) {
        // SAFETY: as above.
        unsafe { nt::io_start_next_packet_by_key(self.as_ptr(), true, key) };
    }

    /// `IoSetStartIoAttributes`.
    pub fn set_start_io_attributes(&self, deferred_start_io: bool, non_cancelable: bool) {
        // SAFETY: a live irpkit device.
        unsafe { nt::io_set_start_io_attributes(self.as_ptr(), deferred_start_io, non_cancelable) };
    }

    /// IRP_MJ_CLEANUP for a StartIo driver: takes every IRP whose current stack location
    /// names `file` out of the device queue (as `KeRemoveEntryDeviceQueue`, all in one pass)
    /// and out of the cancelable state, and returns them to complete `STATUS_CANCELLED`
    /// once `lock` is released. The current IRP is left alone: its own path finishes it.
    ///
    /// Holding the cancel spin lock makes this exact: the device's packets get their cancel
    /// routine under it before they are queued, and IoCancelIrp calls a routine it took
    /// without releasing it — so an IRP still queued here has its routine, which is taken
    /// back, and a cancel routine that already ran has removed its IRP.
    pub fn remove_queued_for_file(&self, file: *mut nt::FileObject, _lock: &CancelSpinLockGuard) -> Vec<Irp> {
        // SAFETY: the device's own queue; the entries sit in the tails of live IRPs
        // (IoStartPacket), whose current stack location is this device's.
        let removed = unsafe {
            crate::nt::devqueue::remove_matching(
                &raw mut (*self.as_ptr()).device_queue,
                "cleanup: remove the file's IRPs",
                |entry| {
                    let irp = nt::Irp::from_device_queue_entry(entry);
                    (*nt::io_get_current_irp_stack_location(irp)).file_object == file
                },
            )
        };
        removed
            .into_iter()
            .map(|entry| {
                // SAFETY: we unlinked it under the cancel spin lock: nobody else owns it, and
                // its cancel routine (set before queuing) is ours to take back.
                unsafe {
                    let irp = nt::Irp::from_device_queue_entry(entry);
                    nt::io_set_cancel_routine(irp, None);
                    Irp::from_raw(irp)
                }
            })
            .collect()
    }

    /// Whether the device queue is busy (a request is being processed): a snapshot.
    pub fn is_busy(&self) -> bool {
        // SAFETY: a live device, whose queue is initialised at creation; `Busy` is atomic.
        unsafe { crate::nt::devqueue::is_busy(&raw const (*self.as_ptr()).device_queue) }
    }
}
