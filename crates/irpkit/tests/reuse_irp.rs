//! IoReuseIrp and IoInitializeIrp: a driver's own IRP sent, completed back to it
//! (`STATUS_MORE_PROCESSING_REQUIRED`), reused and sent again; an IRP of raw memory; and
//! the misuses the verifier reports.
#![cfg(not(any(loom, shuttle)))]

mod common;

use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU8, Ordering};

use common::*;
use irpkit::nt::*;
use irpkit::verifier::VerifierMode;

thread_local! {
    static ROUND: Cell<u32> = const { Cell::new(0) };
}

/// What the top driver's completion routine saw, round by round.
#[derive(Default)]
struct Seen {
    calls: AtomicU32,
    status: AtomicI32,
    pending_returned: AtomicU8,
}

/// The lower driver: completes every request inline; on odd rounds it first marks the IRP
/// pending and sets and clears a cancel routine, and returns `STATUS_PENDING` (legal: the
/// IRP was marked pending), so the creator sees `PendingReturned`.
unsafe extern "system-unwind" fn lower_dispatch(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    let round = ROUND.with(|r| r.get());
    // SAFETY: the dispatch contract: this routine owns the IRP until it completes it.
    unsafe {
        let status = if (*irp).is_cancelled() { STATUS_CANCELLED } else { STATUS_SUCCESS };
        (*irp).io_status = IoStatusBlock { status, information: round as usize };
        if round % 2 == 1 {
            io_mark_irp_pending(irp);
            assert!(io_set_cancel_routine(irp, Some(cancel_complete)).is_none());
            assert!(io_set_cancel_routine(irp, None).is_some());
            io_complete_request(irp, 0);
            STATUS_PENDING
        } else {
            io_complete_request(irp, 0);
            status
        }
    }
}

/// The top driver's completion routine for the IRP it allocated: records, keeps the IRP.
unsafe extern "system-unwind" fn top_completion(_d: *mut DeviceObject, irp: *mut Irp, ctx: *mut c_void) -> NtStatus {
    // SAFETY: `ctx` is the `Seen` of the dispatch routine below, alive while it waits.
    let seen = unsafe { &*(ctx as *const Seen) };
    seen.calls.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the completion routine contract.
    unsafe {
        seen.status.store((*irp).io_status.status, Ordering::SeqCst);
        seen.pending_returned.store((*irp).pending_returned, Ordering::SeqCst);
    }
    STATUS_MORE_PROCESSING_REQUIRED
}

/// `CurrentStackLocation` of an IRP with `stack` locations that has none current: one past
/// the last.
///
/// # Safety
/// `irp` is a live IRP with `stack` locations.
unsafe fn one_past_last(irp: *mut Irp, stack: i8) -> *mut IoStackLocation {
    // SAFETY: the stack locations follow the IRP.
    unsafe { irp.add(1).cast::<IoStackLocation>().add(stack as usize) }
}

/// Checks the fields IoReuseIrp promises on an IRP with `stack` locations.
///
/// # Safety
/// `irp` is a live IRP with `stack` locations, just reused.
unsafe fn assert_reinitialised(irp: *mut Irp, stack: i8, status: NtStatus, flags: u8, size: u16) {
    // SAFETY: forwarded contract.
    unsafe {
        let r = &*irp;
        assert_eq!(r.type_, IO_TYPE_IRP);
        assert_eq!(r.size, size, "Size kept");
        assert_eq!(r.stack_count, stack, "StackCount kept");
        assert_eq!(r.allocation_flags, flags, "AllocationFlags kept");
        assert_eq!(r.current_location(), stack + 1, "CurrentLocation = StackCount + 1");
        assert_eq!(io_get_current_irp_stack_location(irp), one_past_last(irp, stack), "one past the last location");
        assert_eq!(r.io_status.status, status, "IoStatus.Status is the given status");
        assert_eq!(r.io_status.information, 0);
        assert!(!r.is_cancelled(), "Cancel cleared");
        assert!(r.cancel_routine.load().is_none(), "no cancel routine");
        assert_eq!(r.pending_returned, FALSE, "PendingReturned cleared");
        assert!(r.user_iosb.is_null() && r.user_event.is_null() && r.user_buffer.is_null());
        let next = io_get_next_irp_stack_location(irp);
        assert_eq!((*next).major_function, 0, "stack locations zeroed");
        assert!((*next).completion_routine.is_none() && (*next).device_object.is_null());
    }
}

const ROUNDS: u32 = 6;
const REUSE_STATUS: NtStatus = STATUS_DEVICE_NOT_READY;

/// The top driver: for the request it gets, it allocates one IRP of its own for the lower
/// device and sends it `ROUNDS` times — the completion routine returns
/// `STATUS_MORE_PROCESSING_REQUIRED`, the driver checks what came back, reuses the IRP with
/// IoReuseIrp and sends it again (one round cancelled by its creator first) — then frees
/// it and completes the request.
unsafe extern "system-unwind" fn top_dispatch(_d: *mut DeviceObject, request: *mut Irp) -> NtStatus {
    let lower = lower();
    let seen = Seen::default();
    // SAFETY: the dispatch contract; the IRP allocated here is this driver's own.
    unsafe {
        let stack = (*lower).stack_size.load(std::sync::atomic::Ordering::SeqCst);
        let irp = io_allocate_irp(stack, false);
        assert!(!irp.is_null());
        let size = (*irp).size;
        for round in 0..ROUNDS {
            ROUND.with(|r| r.set(round));
            let sl = io_get_next_irp_stack_location(irp);
            (*sl).major_function = IRP_MJ_READ;
            (*sl).parameters.read = ReadWriteParameters { length: 8, pad: 0, key: 0, flags: 0, byte_offset: 0 };
            io_set_completion_routine(irp, Some(top_completion), &seen as *const Seen as *mut c_void, true, true, true);
            let cancelled = round == 2;
            if cancelled {
                assert!(!io_cancel_irp(irp), "its creator may cancel it; no routine to call yet");
            }
            let returned = io_call_driver(lower, irp);
            assert_eq!(seen.calls.load(Ordering::SeqCst), round + 1, "the completion routine ran once per round");
            let expect = if cancelled { STATUS_CANCELLED } else { STATUS_SUCCESS };
            assert_eq!(seen.status.load(Ordering::SeqCst), expect);
            assert_eq!(returned, if round % 2 == 1 { STATUS_PENDING } else { expect });
            assert_eq!(seen.pending_returned.load(Ordering::SeqCst), u8::from(round % 2 == 1));
            // Back with its creator: the walk stopped at its routine.
            assert_eq!((*irp).current_location(), stack + 1);
            assert_eq!((*irp).is_cancelled(), cancelled);
            assert_eq!((*irp).io_status.information, round as usize);
            io_reuse_irp(irp, REUSE_STATUS);
            assert_reinitialised(irp, stack, REUSE_STATUS, IRP_ALLOCATED_BY_IRPKIT, size);
        }
        io_free_irp(irp);
        (*request).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
        io_complete_request(request, 0);
    }
    STATUS_SUCCESS
}

/// A driver's own IRP (IoAllocateIrp in its dispatch routine) sent down, completed back to
/// it with `STATUS_MORE_PROCESSING_REQUIRED`, reused with IoReuseIrp and sent again six
/// times (pending and not, one round cancelled), then freed: in strict mode (any report
/// panics), so reuse is never taken for a double completion or anything else.
#[test]
fn reuse_irp_driver_owned_irp_sent_again_and_again_strict() {
    let f = Fixture::new(top_dispatch);
    let (_, lower) = f.add("Lower", lower_dispatch);
    set_lower(lower);
    let obs = Obs::default();
    // SAFETY: a test-owned request to the top driver, freed after its completion.
    unsafe {
        let request = new_read(f.device, &obs);
        assert_eq!(io_call_driver(f.device, request), STATUS_SUCCESS);
        assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1);
        io_free_irp(request);
    }
    assert_eq!(f.kernel.verifier().report_count(), 0);
    assert_eq!(f.kernel.irps_outstanding(), 0, "the reused IRP was freed once");
}

/// An IRP in raw memory set up with IoInitializeIrp: sent, its walk run to the end (the
/// final stage does not free the caller's memory), reused with IoReuseIrp and sent again,
/// then initialised again with IoInitializeIrp and sent once more. Strict mode.
#[test]
fn initialize_irp_raw_memory_reused_strict() {
    let f = Fixture::new(complete_now);
    let stack: i8 = 2;
    let size = io_size_of_irp(stack);
    let layout = std::alloc::Layout::from_size_align(size, std::mem::align_of::<Irp>()).unwrap();
    let obs = Obs::default();
    // SAFETY: the test owns the raw block; the IRP in it is sent and completed inline.
    unsafe {
        let irp = std::alloc::alloc(layout).cast::<Irp>();
        assert!(!irp.is_null());
        io_initialize_irp(irp, size as u16, stack);
        assert_eq!((*irp).size as usize, size);
        assert_eq!((*irp).stack_count, stack);
        assert_eq!((*irp).allocation_flags, 0, "not irpkit's IRP");
        assert_eq!((*irp).current_location(), stack + 1);
        assert_eq!(io_get_current_irp_stack_location(irp), one_past_last(irp, stack));
        for round in 0..3 {
            set_obs(irp, &obs);
            (*io_get_next_irp_stack_location(irp)).major_function = IRP_MJ_READ;
            io_set_completion_routine(irp, Some(creator_continue), &obs as *const Obs as *mut c_void, true, true, true);
            assert_eq!(io_call_driver(f.device, irp), STATUS_SUCCESS);
            assert_eq!(obs.creator_calls.load(Ordering::SeqCst), round + 1);
            assert!((*irp).is_completed(), "the walk went past the top: completed, not freed");
            match round {
                0 => {
                    io_reuse_irp(irp, STATUS_SUCCESS);
                    assert_reinitialised(irp, stack, STATUS_SUCCESS, 0, size as u16);
                }
                _ => io_initialize_irp(irp, size as u16, stack),
            }
        }
        std::alloc::dealloc(irp.cast(), layout);
    }
    assert_eq!(f.kernel.verifier().report_count(), 0);
    assert_eq!(f.kernel.irps_outstanding(), 0);
}

/// Without a reuse, completing the raw IRP again is still a double completion (0x44): the
/// reuse is what makes it completable again.
#[test]
fn initialize_irp_completed_raw_irp_without_reuse_is_double_completion() {
    let f = Fixture::with_mode(VerifierMode::Record, complete_now);
    let stack: i8 = 1;
    let size = io_size_of_irp(stack);
    let layout = std::alloc::Layout::from_size_align(size, std::mem::align_of::<Irp>()).unwrap();
    // SAFETY: the test owns the raw block.
    unsafe {
        let irp = std::alloc::alloc(layout).cast::<Irp>();
        io_initialize_irp(irp, size as u16, stack);
        assert_eq!(io_call_driver(f.device, irp), STATUS_SUCCESS);
        io_complete_request(irp, 0);
        std::alloc::dealloc(irp.cast(), layout);
    }
    assert_eq!(f.rules(), ["double-completion"]);
}

/// A PacketSize too small for the stack locations is reported and nothing is written.
#[test]
fn initialize_irp_packet_too_small_is_reported() {
    let f = Fixture::with_mode(VerifierMode::Record, complete_now);
    let mut memory = [0xAAu8; 64];
    // SAFETY: 64 writable bytes; IoInitializeIrp refuses to write an IRP there.
    unsafe { io_initialize_irp(memory.as_mut_ptr().cast(), 64, 1) };
    assert!(memory.iter().all(|&b| b == 0xAA), "nothing written");
    let reports = f.kernel.verifier().take_reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].rule.id(), "invalid-irp");
    assert!(reports[0].message.contains("needs IoSizeOfIrp"), "{}", reports[0].message);
}

/// IoReuseIrp on an IRP still pending in a driver: reported, once for the cancel routine
/// still set and once for the driver that holds it (record mode).
#[test]
fn reuse_irp_while_pending_with_a_cancel_routine_is_reported() {
    let f = Fixture::with_mode(VerifierMode::Record, pend_cancelable);
    let obs = Obs::default();
    // SAFETY: a test-owned IRP (reused wrongly on purpose, then freed).
    unsafe {
        let irp = new_read(f.device, &obs);
        assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
        io_reuse_irp(irp, STATUS_SUCCESS);
        io_free_irp(irp);
    }
    let reports = f.kernel.verifier().take_reports();
    let rules: Vec<_> = reports.iter().map(|r| r.rule.id()).collect();
    assert_eq!(rules, ["reuse-irp-in-use", "reuse-irp-in-use"]);
    assert!(reports[0].message.contains("cancel routine is still set"), "{}", reports[0].message);
    assert!(reports[1].message.contains(r"still held by \Device\Test"), "{}", reports[1].message);
    assert_eq!(reports[0].detected_in, "IoReuseIrp");
}

/// IoReuseIrp on an IRP pending in a driver without a cancel routine: reported once.
#[test]
fn reuse_irp_while_pending_in_a_driver_is_reported() {
    let f = Fixture::with_mode(VerifierMode::Record, pend_plain);
    let obs = Obs::default();
    // SAFETY: as above.
    unsafe {
        let irp = new_read(f.device, &obs);
        assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
        io_reuse_irp(irp, STATUS_SUCCESS);
        io_free_irp(irp);
    }
    assert_eq!(f.rules(), ["reuse-irp-in-use"]);
}

unsafe extern "system-unwind" fn reuses_received_irp(_d: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
    // SAFETY: the dispatch contract. Bug: the IRP came from above; it is not this
    // driver's to reinitialise.
    unsafe { io_reuse_irp(irp, STATUS_SUCCESS) };
    STATUS_SUCCESS
}

/// A driver reusing an IRP it received (not one it allocated): SDV IoReuseIrp2, reported.
#[test]
fn reuse_irp_of_another_creator_is_reported() {
    let f = Fixture::with_mode(VerifierMode::Record, reuses_received_irp);
    let obs = Obs::default();
    // SAFETY: a test-owned IRP; after the driver's misuse nobody holds it but the test.
    unsafe {
        let irp = new_read(f.device, &obs);
        assert_eq!(io_call_driver(f.device, irp), STATUS_SUCCESS);
        io_free_irp(irp);
    }
    let reports = f.kernel.verifier().take_reports();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert_eq!(reports[0].rule.id(), "reuse-foreign-irp");
    assert!(reports[0].message.contains("did not allocate"), "{}", reports[0].message);
}

/// An IRP from IoBuildDeviceIoControlRequest must not be reused (SDV IoReuseIrp); an
/// IRP already freed is reported as invalid and left alone.
#[test]
fn reuse_irp_built_or_freed_is_reported() {
    let f = Fixture::with_mode(VerifierMode::Record, complete_now);
    let mut iosb = IoStatusBlock::default();
    // SAFETY: the built IRP is never sent; it is freed by the test.
    unsafe {
        let irp = io_build_device_io_control_request(
            0x22_2000,
            f.device,
            ptr::null_mut(),
            0,
            ptr::null_mut(),
            0,
            false,
            ptr::null_mut(),
            &mut iosb,
        );
        io_reuse_irp(irp, STATUS_SUCCESS);
        assert_eq!(f.rules(), ["reuse-foreign-irp"]);
        io_free_irp(irp);
        io_reuse_irp(irp, STATUS_SUCCESS);
    }
    let reports = f.kernel.verifier().take_reports();
    assert!(reports[0].message.contains("built by"), "{}", reports[0].message);
    assert_eq!(reports[1].rule.id(), "invalid-irp");
    assert_eq!(reports.len(), 2);
}

unsafe extern "system-unwind" fn cancels_own_raw_irp(_d: *mut DeviceObject, request: *mut Irp) -> NtStatus {
    let size = io_size_of_irp(1);
    let layout = std::alloc::Layout::from_size_align(size, std::mem::align_of::<Irp>()).unwrap();
    // SAFETY: the dispatch contract; the raw IRP is this routine's own memory.
    unsafe {
        let irp = std::alloc::alloc(layout).cast::<Irp>();
        io_initialize_irp(irp, size as u16, 1);
        assert!(!io_cancel_irp(irp), "no cancel routine to call");
        assert!((*irp).is_cancelled());
        io_reuse_irp(irp, STATUS_SUCCESS);
        assert!(!(*irp).is_cancelled());
        std::alloc::dealloc(irp.cast(), layout);
        (*request).io_status = IoStatusBlock { status: STATUS_SUCCESS, information: 0 };
        io_complete_request(request, 0);
    }
    STATUS_SUCCESS
}

/// A driver cancelling and reusing an IRP in its own memory is not judged foreign: irpkit
/// cannot know who made a header-less IRP (strict mode).
#[test]
fn initialize_irp_driver_cancels_and_reuses_its_raw_irp_strict() {
    let f = Fixture::new(cancels_own_raw_irp);
    let obs = Obs::default();
    // SAFETY: a test-owned request, freed after its completion.
    unsafe {
        let request = new_read(f.device, &obs);
        assert_eq!(io_call_driver(f.device, request), STATUS_SUCCESS);
        io_free_irp(request);
    }
    assert_eq!(f.kernel.verifier().report_count(), 0);
}
