//! Safe drivers and devices.

use core::ffi::c_void;
use core::ops::Deref;

use super::irp::{Dispatched, Irp};
use crate::nt::kernel::Kernel;
use crate::nt::{self, NtStatus};

pub use crate::nt::device_ref::DeviceRef;

/// The safe layer's methods on a [`DeviceRef`] (the type is the NT layer's: the
/// requester side names devices by it too).
impl DeviceRef {
    /// The driver state of a device created by [`create_device::<D>`](create_device), or
    /// `None` if the device's state is of another type (or it has none).
    pub fn state<D: Driver>(&self) -> Option<&D> {
        // SAFETY: a live irpkit device.
        let ty = unsafe { crate::nt::device::extension_type(self.as_ptr()) }?;
        // SAFETY: the recorded type says the extension holds a `D`, alive while the
        // device is (for the borrow of `self`); the extension pointer is written once, at
        // creation, before the device is shared.
        (ty == core::any::TypeId::of::<D>()).then(|| unsafe { &*(*self.as_ptr()).device_extension.cast::<D>() })
    }
}

/// A safe driver: the per-device state (stored in the device extension) and its
/// dispatch routine for every major function.
pub trait Driver: Send + Sync + 'static {
    /// Handles `irp` sent to `device`. Return the [`Dispatched`] from completing it,
    /// passing it down, or marking it pending.
    fn dispatch(&self, device: &DeviceRef, irp: Irp) -> Dispatched;
}

unsafe extern "system-unwind" fn dispatch_trampoline<D: Driver>(
    device: *mut nt::DeviceObject,
    irp: *mut nt::Irp,
) -> NtStatus {
    // SAFETY: the extension of a device created by `create_device::<D>` holds a `D`, and
    // IoCallDriver gives the dispatch routine a live device and ownership of the IRP.
    unsafe {
        let state = &*(*device).device_extension.cast::<D>();
        state.dispatch(DeviceRef::from_ptr(device), Irp::from_raw(irp)).status()
    }
}

unsafe fn drop_extension<D>(extension: *mut c_void) {
    // SAFETY: called once, by IoDeleteDevice or kernel shutdown, on the `D` written by
    // `create_device`.
    unsafe { core::ptr::drop_in_place(extension.cast::<D>()) };
}

unsafe extern "system-unwind" fn driver_entry(
    _driver: *mut nt::DriverObject,
    _path: *mut nt::UnicodeString,
) -> NtStatus {
    nt::STATUS_SUCCESS
}

/// A device created by [`create_device`], with its driver's state `D`.
pub struct Device<D: Driver> {
    raw: *mut nt::DeviceObject,
    kernel: Kernel,
    _state: core::marker::PhantomData<D>,
}

// SAFETY: the device's state is `Send + Sync` and the object lives as long as the kernel,
// which this handle keeps alive.
unsafe impl<D: Driver> Send for Device<D> {}
// SAFETY: as above.
unsafe impl<D: Driver> Sync for Device<D> {}

impl<D: Driver> Device<D> {
    /// The device as a [`DeviceRef`].
    pub fn device_ref(&self) -> &DeviceRef {
        // SAFETY: the kernel (kept alive by `self`) keeps the device object alive.
        unsafe { DeviceRef::from_ptr(self.raw) }
    }

    /// The raw device object.
    pub fn as_ptr(&self) -> *mut nt::DeviceObject {
        self.raw
    }

    /// The kernel the device belongs to.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// Attaches this device on top of the stack `lower` belongs to
    /// (`IoAttachDeviceToDeviceStack`), returning the device it now sits on.
    pub fn attach_to(&self, lower: &DeviceRef) -> &DeviceRef {
        // SAFETY: both devices are live irpkit devices of kernels kept alive by `self`.
        unsafe { DeviceRef::from_ptr(nt::io_attach_device_to_device_stack(self.raw, lower.as_ptr())) }
    }
}

impl<D: Driver> Clone for Device<D> {
    /// Another handle to the same device.
    fn clone(&self) -> Self {
        Device { raw: self.raw, kernel: self.kernel.clone(), _state: core::marker::PhantomData }
    }
}

impl<D: Driver> Deref for Device<D> {
    type Target = D;
    fn deref(&self) -> &D {
        // SAFETY: the extension holds the `D` written at creation; it is dropped only
        // when the kernel (kept alive by `self`) ends.
        unsafe { &*(*self.raw).device_extension.cast::<D>() }
    }
}

impl<D: Driver> core::fmt::Debug for Device<D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.device_ref().fmt(f)
    }
}

/// Loads a driver `\Driver\{name}` whose every major function dispatches to `D`, and
/// creates its device `\Device\{name}` with `state` as the device extension.
pub fn create_device<D: Driver>(kernel: &Kernel, name: &str, state: D) -> Result<Device<D>, NtStatus> {
    create(kernel, name, state, None)
}

pub(super) fn create<D: Driver>(
    kernel: &Kernel,
    name: &str,
    state: D,
    start_io: Option<nt::DriverStartIo>,
) -> Result<Device<D>, NtStatus> {
    let _entered = kernel.enter();
    let driver = kernel.load_driver(name, driver_entry)?;
    // SAFETY: the driver object was just created and is not yet used by anyone else.
    unsafe {
        for slot in (*driver).major_function.iter_mut() {
            *slot = Some(dispatch_trampoline::<D>);
        }
        (*driver).driver_start_io = start_io;
    }
    assert!(core::mem::align_of::<D>() <= 16, "device state alignment above 16 is not supported");
    // SAFETY: a live driver object of this kernel.
    let raw = unsafe { nt::io_create_device(driver, core::mem::size_of::<D>().max(1), Some(name), 0x22, 0, false)? };
    // SAFETY: the extension is at least `size_of::<D>()` bytes, 16-byte aligned, unused.
    unsafe {
        (*raw).device_extension.cast::<D>().write(state);
        // Created after DriverEntry: the driver clears the flag itself, as WDM drivers do.
        (*raw).flags &= !nt::DO_DEVICE_INITIALIZING;
        crate::nt::device::set_typed_extension(raw, core::any::TypeId::of::<D>(), drop_extension::<D>);
    }
    Ok(Device { raw, kernel: kernel.clone(), _state: core::marker::PhantomData })
}
