//! A cancel-safe queue for tests: a FIFO of IRPs under a spin lock, implemented through
//! the IoCsq callbacks, logging every callback. Its device's extension is the queue.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

use irpkit::nt::*;

#[repr(C)]
pub struct TestCsq {
    pub csq: IoCsq,
    lock: KSpinLock,
    list: UnsafeCell<VecDeque<*mut Irp>>,
    pub log: Mutex<Vec<String>>,
    pub fail_insert: AtomicBool,
    pub cancelled: AtomicU32,
    pub lock_held: AtomicBool,
}

// SAFETY: `list` is touched only under `lock` (the queue lock callbacks).
unsafe impl Sync for TestCsq {}
// SAFETY: as above.
unsafe impl Send for TestCsq {}

fn q<'a>(csq: *mut IoCsq) -> &'a TestCsq {
    // SAFETY: `csq` is the first field of a live `TestCsq` (repr(C)).
    unsafe { &*csq.cast::<TestCsq>() }
}

fn label(irp: *mut Irp) -> u64 {
    // SAFETY: the tests label each IRP in `user_buffer`.
    unsafe { (*irp).user_buffer as u64 }
}

impl TestCsq {
    /// Initialises a queue in place (in a device extension).
    ///
    /// # Safety
    /// `at` is writable, properly aligned memory that stays in place while the queue lives.
    pub unsafe fn init_at(at: *mut TestCsq, ex: bool) {
        // SAFETY: forwarded contract.
        unsafe {
            at.write(TestCsq {
                csq: IoCsq::zeroed(),
                lock: KSpinLock::new(),
                list: UnsafeCell::new(VecDeque::new()),
                log: Mutex::new(Vec::new()),
                fail_insert: AtomicBool::new(false),
                cancelled: AtomicU32::new(0),
                lock_held: AtomicBool::new(false),
            });
            let csq = &raw mut (*at).csq;
            if ex {
                io_csq_initialize_ex(csq, insert_ex, remove, peek, acquire, release, complete_canceled);
            } else {
                io_csq_initialize(csq, insert, remove, peek, acquire, release, complete_canceled);
            }
        }
    }

    pub fn csq_ptr(&self) -> *mut IoCsq {
        (&self.csq as *const IoCsq).cast_mut()
    }

    pub fn log(&self, e: impl Into<String>) {
        self.log.lock().unwrap().push(e.into());
    }

    pub fn events(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn len(&self) -> usize {
        let irql = ke_acquire_spin_lock(&self.lock);
        // SAFETY: under the queue lock.
        let n = unsafe { (*self.list.get()).len() };
        ke_release_spin_lock(&self.lock, irql);
        n
    }
}

unsafe extern "system-unwind" fn insert(csq: *mut IoCsq, irp: *mut Irp) {
    let t = q(csq);
    t.log(format!("insert #{}", label(irp)));
    // SAFETY: called under the queue lock.
    unsafe { (*t.list.get()).push_back(irp) };
}

unsafe extern "system-unwind" fn insert_ex(csq: *mut IoCsq, irp: *mut Irp, _ctx: *mut c_void) -> NtStatus {
    let t = q(csq);
    if t.fail_insert.load(Ordering::SeqCst) {
        t.log(format!("insert #{} refused", label(irp)));
        return STATUS_DEVICE_NOT_READY;
    }
    // SAFETY: forwarded (under the queue lock).
    unsafe { insert(csq, irp) };
    STATUS_SUCCESS
}

unsafe extern "system-unwind" fn remove(csq: *mut IoCsq, irp: *mut Irp) {
    let t = q(csq);
    assert!(t.lock_held.load(Ordering::SeqCst), "remove runs under the queue lock");
    t.log(format!("remove #{}", label(irp)));
    // SAFETY: under the queue lock.
    unsafe {
        let list = &mut *t.list.get();
        let at = list.iter().position(|&x| x == irp).expect("removing an IRP that is queued");
        list.remove(at);
    }
}

unsafe extern "system-unwind" fn peek(csq: *mut IoCsq, irp: *mut Irp, peek_context: *mut c_void) -> *mut Irp {
    let t = q(csq);
    // SAFETY: under the queue lock; queued IRPs are live.
    unsafe {
        let list = &*t.list.get();
        let start = if irp.is_null() { 0 } else { list.iter().position(|&x| x == irp).map_or(list.len(), |i| i + 1) };
        list.iter()
            .skip(start)
            .copied()
            .find(|&x| {
                peek_context.is_null()
                    || (*io_get_current_irp_stack_location(x)).file_object == peek_context.cast::<FileObject>()
            })
            .unwrap_or(std::ptr::null_mut())
    }
}

unsafe extern "system-unwind" fn acquire(csq: *mut IoCsq, irql: *mut KIrql) {
    let t = q(csq);
    // SAFETY: the out parameter is the library's local.
    unsafe { *irql = ke_acquire_spin_lock(&t.lock) };
    t.lock_held.store(true, Ordering::SeqCst);
    t.log("acquire");
}

unsafe extern "system-unwind" fn release(csq: *mut IoCsq, irql: KIrql) {
    let t = q(csq);
    t.log("release");
    t.lock_held.store(false, Ordering::SeqCst);
    ke_release_spin_lock(&t.lock, irql);
}

unsafe extern "system-unwind" fn complete_canceled(csq: *mut IoCsq, irp: *mut Irp) {
    let t = q(csq);
    assert!(!t.lock_held.load(Ordering::SeqCst), "completed outside the queue lock");
    t.log(format!("complete cancelled #{}", label(irp)));
    t.cancelled.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the library hands us a removed IRP to complete.
    unsafe {
        (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
        io_complete_request(irp, 0);
    }
}

/// The queue of a device created with [`add_csq_device`].
pub fn csq_of<'a>(device: *mut DeviceObject) -> &'a TestCsq {
    // SAFETY: such devices hold a `TestCsq` in their extension.
    unsafe { &*(*device).device_extension.cast::<TestCsq>() }
}

/// Dispatch: queue the IRP (with the context in `DriverContext[1]`, if any) and return
/// `STATUS_PENDING`, or fail it with the insert's status.
pub unsafe extern "system-unwind" fn csq_dispatch(d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract; the extension is the device's queue.
    unsafe {
        let t = csq_of(d);
        let ctx = (*Irp::driver_context(irp))[1].cast::<IoCsqIrpContext>();
        let status = io_csq_insert_irp_ex(t.csq_ptr(), irp, ctx, std::ptr::null_mut());
        if nt_success(status) {
            return STATUS_PENDING;
        }
        (*irp).io_status = IoStatusBlock { status, information: 0 };
        io_complete_request(irp, 0);
        status
    }
}

/// Adds a device whose extension is a [`TestCsq`] and whose dispatch is [`csq_dispatch`].
pub fn add_csq_device(kernel: &irpkit::Kernel, name: &str, ex: bool) -> *mut DeviceObject {
    let (driver, _) = super::add_driver(kernel, &format!("{name}Driver"), csq_dispatch);
    // SAFETY: a fresh driver; the extension is sized and aligned for a `TestCsq`.
    unsafe {
        let dev = io_create_device(driver, std::mem::size_of::<TestCsq>(), Some(name), 0x22, 0, false).unwrap();
        TestCsq::init_at((*dev).device_extension.cast(), ex);
        dev
    }
}
