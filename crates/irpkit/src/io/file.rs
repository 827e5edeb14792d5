//! File objects with their handle and reference counts (the last handle sends
//! IRP_MJ_CLEANUP, the last reference IRP_MJ_CLOSE), handles, and user events whose
//! handles a process can pass to a driver.
//!
//! Locks: `FileShared::port` is a leaf. CREATE, CLEANUP and CLOSE are sent with no lock
//! of this module held.

use super::*;

/// A file object with its handle and reference counts.
pub(crate) struct FileShared {
    pub(super) object: Box<UnsafeCell<FileObject>>,
    pub(super) kernel: Kernel,
    pub(super) handles: AtomicUsize,
    /// One for the handles together, plus one per outstanding IRP.
    pub(super) refs: AtomicUsize,
    /// The completion port the file is associated with, and its key.
    pub(super) port: Mutex<Option<(Arc<PortShared>, usize)>>,
}

// SAFETY: the file object is shared with drivers as NT shares it; counters are atomic; its
// device lives as long as its kernel, which `kernel` keeps alive.
unsafe impl Send for FileShared {}
// SAFETY: shared access is what Send above argues: the file object is shared with drivers
// as NT shares it, the counters are atomics, the port is behind a Mutex.
unsafe impl Sync for FileShared {}

impl FileShared {
    #[inline]
    pub(super) fn object(&self) -> *mut FileObject {
        self.object.get()
    }

    /// The device a request on this file is sent to (IoGetRelatedDeviceObject): the top
    /// of the stack the file's device belongs to, so a filter attached over it sees the
    /// request first, also when it attached after the file was opened.
    pub(super) fn related_device(&self) -> *mut DeviceObject {
        // SAFETY: the file object is live (ours) and its device a live irpkit device of
        // `kernel`, as is every device attached over it.
        unsafe { nt::io_get_related_device_object(self.object()) }
    }

    /// Sends IRP_MJ_CREATE, CLEANUP or CLOSE for the file and waits for its status.
    pub(super) fn send(&self, major: u8) -> NtStatus {
        // SAFETY: the related device is a live irpkit device of `kernel`.
        unsafe { nt::creator::call(&self.kernel, self.related_device(), major, self.object()) }
    }

    /// Drops one reference; the last sends IRP_MJ_CLOSE (from a system worker thread, at
    /// PASSIVE_LEVEL, since the last reference may go in a completion at DISPATCH_LEVEL).
    #[inline]
    pub(super) fn release(this: &Arc<Self>) {
        if this.refs.fetch_sub(1, Ordering::AcqRel) == 1 {
            let file = this.clone();
            if nt::ke_get_current_irql() == nt::PASSIVE_LEVEL {
                file.close();
            } else {
                drop(this.kernel.spawn(move || file.close()));
            }
        }
    }

    pub(super) fn close(&self) {
        self.send(nt::IRP_MJ_CLOSE);
    }
}

/// A handle in a process's handle table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Handle(pub(super) u32);

/// An event a process created (`CreateEvent`), whose handle it can pass to a driver (in a
/// device control's input, say), which references it with ObReferenceObjectByHandle and
/// signals it. The event's memory lives as long as its kernel, which this keeps alive.
#[derive(Clone)]
pub struct UserEvent {
    pub(super) handle: usize,
    pub(super) event: *mut KEvent,
    pub(super) kernel: Kernel,
}

// SAFETY: the event is a dispatcher object whose state is atomic; its memory lives as long
// as the kernel, which `kernel` keeps alive.
unsafe impl Send for UserEvent {}
// SAFETY: shared use only reads the handle and waits on or signals the event, which the
// dispatcher objects' atomics synchronise.
unsafe impl Sync for UserEvent {}

impl core::fmt::Debug for UserEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UserEvent").field("handle", &format_args!("{:#x}", self.handle)).finish_non_exhaustive()
    }
}

impl UserEvent {
    /// The handle value, as the process passes it to a driver.
    pub fn handle(&self) -> usize {
        self.handle
    }

    /// `WaitForSingleObject`: `STATUS_SUCCESS` when the event is signalled (a
    /// synchronization event is reset by the wait), `STATUS_TIMEOUT` after `timeout` on
    /// the kernel's clock.
    pub fn wait(&self, timeout: Option<Duration>) -> NtStatus {
        let _entered = self.kernel.enter();
        // SAFETY: the event lives as long as the kernel, which `self` keeps alive.
        nt::ke_wait_for_single_object(unsafe { &*self.event }, timeout)
    }

    /// Whether the event is signalled now (`KeReadStateEvent`).
    pub fn is_signalled(&self) -> bool {
        // SAFETY: as in `wait`; the state is an atomic.
        unsafe { (*self.event).header.signal_state.load(Ordering::Acquire) != 0 }
    }
}
