//! In steady state a request does not touch the heap: allocate → IoCallDriver →
//! synchronous complete → deliver → free, through the NT layer and the safe API.
//!
//! This binary has its own counting allocator, which counts every allocation of the
//! process, on any thread. It runs without libtest (`harness = false` in Cargo.toml):
//! libtest's main thread allocates right after it has started a test's thread — its
//! table of running tests (a `HashMap` insert), its timeout queue (a `VecDeque` push)
//! and, on its first wait for the result, the channel's thread-local waiter context and
//! waker entry — four allocations that, when the machine is busy and the main thread is
//! descheduled for a moment, fell inside the counted window. Without the harness the
//! process has only this thread and the threads irpkit starts itself, so a count above
//! zero is an allocation of irpkit's request path.
//!
//! The command line follows libtest's enough for `cargo test` and test runners: a name
//! filter (`--exact`, `--skip`), `--list`, `--ignored`; other options are accepted and
//! ignored.

#[cfg(any(loom, shuttle))]
fn main() {
    // The model checkers replace irpkit's threads and locks; nothing to measure there.
}

#[cfg(not(any(loom, shuttle)))]
fn main() {
    steady::main();
}

#[cfg(not(any(loom, shuttle)))]
mod steady {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use irpkit::nt::*;
    use irpkit::safe::{create_device, DeviceRef, Dispatched, Driver, Irp as SafeIrp, Request};
    use irpkit::Kernel;

    struct Counting;
    static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

    // SAFETY: forwards to the system allocator, counting calls.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            // SAFETY: forwarded contract.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded contract.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            // SAFETY: forwarded contract.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    const NAME: &str = "zero_heap_allocations_per_request_in_steady_state";

    unsafe extern "system-unwind" fn entry(_d: *mut DriverObject, _p: *mut UnicodeString) -> NtStatus {
        STATUS_SUCCESS
    }

    unsafe extern "system-unwind" fn complete_now(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
        // SAFETY: the dispatch contract.
        unsafe {
            (*irp).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 512 };
            io_complete_request(irp, 0);
        }
        STATUS_SUCCESS
    }

    struct Quick;
    impl Driver for Quick {
        fn dispatch(&self, _d: &DeviceRef, irp: SafeIrp) -> Dispatched {
            irp.complete(STATUS_SUCCESS, 512).into()
        }
    }

    fn allocations_during(n: usize, mut f: impl FnMut()) -> usize {
        for _ in 0..100 {
            f(); // warm up: the pool's free lists reach their steady size
        }
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..n {
            f();
        }
        ALLOCATIONS.load(Ordering::Relaxed) - before
    }

    fn zero_heap_allocations_per_request_in_steady_state() {
        let kernel = Kernel::new();
        let _e = kernel.enter();
        let driver = kernel.load_driver("Quick", entry).unwrap();
        // SAFETY: a fresh driver object owned by the test.
        let dev = unsafe {
            (*driver).major_function = [Some(complete_now); IRP_MJ_COUNT];
            io_create_device(driver, 0, Some("Quick"), 0x22, 0, false).unwrap()
        };
        let mut iosb = IoStatusBlock::default();
        let iosb_ptr: *mut IoStatusBlock = &mut iosb;
        let nt = allocations_during(10_000, || {
            // SAFETY: a fresh IRP sent to a live device; the status block outlives it.
            unsafe {
                let irp = io_allocate_irp(1, false);
                (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
                (*irp).user_iosb = iosb_ptr;
                assert_eq!(io_call_driver(dev, irp), STATUS_SUCCESS);
            }
        });
        assert_eq!(iosb, IoStatusBlock { status: STATUS_SUCCESS, information: 512 });
        assert_eq!(nt, 0, "NT layer: heap allocations in 10 000 requests");

        let safe_dev = create_device(&kernel, "SafeQuick", Quick).unwrap();
        let safe = allocations_during(10_000, || {
            let r = Request::read(&kernel, safe_dev.device_ref(), 512, 0).unwrap().send().wait();
            assert_eq!(r.information, 512);
        });
        assert_eq!(safe, 0, "safe API: heap allocations in 10 000 requests");
        assert_eq!(kernel.irps_outstanding(), 0);
        assert!(ALLOCATIONS.load(Ordering::Relaxed) > 0, "the counter does count (setup allocated)");
    }

    /// Whether libtest's command line (`args`, without the program name) selects the
    /// test `name`.
    fn selected(args: &[String], name: &str) -> bool {
        let mut filters = Vec::new();
        let mut skips = Vec::new();
        let (mut exact, mut ignored_only) = (false, false);
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--exact" => exact = true,
                "--ignored" => ignored_only = true,
                "--skip" => skips.extend(it.next()),
                // libtest's options that take a separate value.
                "--test-threads" | "--format" | "--color" | "--logfile" | "-Z" | "--shuffle-seed" => {
                    it.next();
                }
                a if a.starts_with('-') => {}
                a => filters.push(a),
            }
        }
        let matches = |f: &str| if exact { f == name } else { name.contains(f) };
        !ignored_only && (filters.is_empty() || filters.iter().any(|f| matches(f))) && !skips.iter().any(|s| matches(s))
    }

    pub(super) fn main() {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let run = selected(&args, NAME);
        if args.iter().any(|a| a == "--list") {
            if run {
                println!("{NAME}: test");
            }
            return;
        }
        let (count, filtered) = if run { (1, 0) } else { (0, 1) };
        println!("\nrunning {count} test{}", if run { "" } else { "s" });
        if run {
            let outcome = std::panic::catch_unwind(zero_heap_allocations_per_request_in_steady_state);
            println!("test {NAME} ... {}", if outcome.is_ok() { "ok" } else { "FAILED" });
            if outcome.is_err() {
                println!("\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n");
                std::process::exit(101);
            }
        }
        println!("\ntest result: ok. {count} passed; 0 failed; 0 ignored; 0 measured; {filtered} filtered out\n");
    }
}
