//! `DeviceRef`: a device object as safe code sees it. It is defined here, below the safe
//! layer and the requester side, because both name devices by it (the safe layer's
//! drivers get one in every dispatch; `io::Process::open` takes one); the safe layer
//! re-exports it as `irpkit::safe::DeviceRef` and adds the methods that need its
//! driver types (`DeviceRef::state`).

use core::cell::UnsafeCell;

use crate::nt;
use crate::sync::atomic::Ordering;

/// A device object as safe code sees it: `&DeviceRef` is valid for the borrow.
///
/// It is a handle over the device object's memory, not a Rust view of its fields: the
/// memory sits in an `UnsafeCell`, because other threads change it while dispatch
/// routines hold a `&DeviceRef` (`CurrentIrp`, the device queue's `Busy` and links, the
/// DPC). Its methods read and write it only as the NT routines do — atomic fields, or
/// under the lock that guards them.
///
/// The compiler knows it: like every type with interior mutability, `DeviceRef` is not
/// `RefUnwindSafe` (a plain view of the device object's fields would be):
///
/// ```compile_fail,E0277
/// fn shared_memory_is_declared<T: std::panic::RefUnwindSafe + ?Sized>() {}
/// shared_memory_is_declared::<irpkit::safe::DeviceRef>();
/// ```
#[repr(transparent)]
pub struct DeviceRef(UnsafeCell<nt::DeviceObject>);

// SAFETY: a `DeviceRef` is only ever reached by reference; every access through it is an
// atomic, happens under the lock NT guards the field with, or reads a field written
// before the device was shared (the extension pointer, the driver object) — the same
// discipline that makes a device object shareable between processors on NT.
unsafe impl Sync for DeviceRef {}
// SAFETY: as above (a `&DeviceRef` may be sent because `DeviceRef` is `Sync`; the value
// itself is never moved out of its device block).
unsafe impl Send for DeviceRef {}

impl DeviceRef {
    /// Views a raw device object (one an NT-layer driver created with
    /// [`io_create_device`](nt::io_create_device)) as a `DeviceRef`, e.g. to open it with
    /// [`crate::io::Process::open`]. The inverse of [`as_ptr`](Self::as_ptr).
    ///
    /// # Safety
    /// `device` is a live irpkit device object for the returned lifetime.
    pub unsafe fn from_ptr<'a>(device: *mut nt::DeviceObject) -> &'a DeviceRef {
        // SAFETY: `DeviceRef` is a transparent wrapper of an `UnsafeCell`, itself
        // transparent over the device object; liveness by the contract.
        unsafe { &*device.cast::<DeviceRef>() }
    }

    /// The raw device object.
    pub fn as_ptr(&self) -> *mut nt::DeviceObject {
        self.0.get()
    }

    /// The device's name.
    pub fn name(&self) -> String {
        // SAFETY: a live irpkit device.
        unsafe { crate::nt::device::device_name(self.as_ptr()) }
    }

    /// `StackSize`: the stack locations an IRP needs for this device.
    pub fn stack_size(&self) -> i8 {
        // SAFETY: a live device; the field is atomic.
        unsafe { (*self.as_ptr()).stack_size.load(Ordering::Relaxed) }
    }
}

impl core::fmt::Debug for DeviceRef {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("DeviceRef").field(&self.name()).finish()
    }
}
