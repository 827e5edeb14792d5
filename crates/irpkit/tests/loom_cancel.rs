//! Exhaustive (bounded) interleaving checks of the cancel protocol with loom.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p irpkit --release --test loom_cancel`.
//! Every lock, atomic and thread of irpkit goes through its `sync` seam, which becomes
//! loom's under `--cfg loom`; the verifier runs in strict mode, so any double completion,
//! completion with a routine set, or lock misuse in any interleaving fails the model.
#![cfg(loom)]

mod common;

use std::sync::atomic::Ordering;

use common::*;
use irpkit::nt::*;

fn model(f: impl Fn() + Sync + Send + 'static) {
    loom_model(3, f);
}

/// IoCancelIrp racing the driver's own completion path (clear the routine; complete only
/// if that won): the IRP is completed exactly once, the cancel routine runs at most once,
/// and the side that lost the exchange never completes it.
#[test]
fn loom_cancel_vs_driver_completion() {
    model(|| {
        let f = Fixture::new(pend_cancelable);
        let obs = Box::leak(Box::new(Obs::default()));
        // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
        unsafe {
            let irp = new_read(f.device, obs);
            assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
            let addr = irp as usize;
            let canceller = f.kernel.spawn(move || io_cancel_irp(addr as *mut Irp));
            let driver_won = driver_finish(irp, STATUS_SUCCESS, 16);
            let routine_called = canceller.join().unwrap();
            let cancel_runs = obs.cancel_calls.load(Ordering::SeqCst);
            assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1, "completed exactly once");
            assert!(cancel_runs <= 1, "cancel routine at most once");
            assert_eq!(driver_won, cancel_runs == 0, "exactly one owner");
            assert_eq!(routine_called, cancel_runs == 1);
            let expect = if driver_won { STATUS_SUCCESS } else { STATUS_CANCELLED };
            assert_eq!(obs.creator_status.load(Ordering::SeqCst), expect);
            io_free_irp(irp);
        }
        assert_eq!(f.kernel.irps_outstanding(), 0);
    });
}

/// IoCancelIrp racing the dispatch routine that parks the IRP (set the routine, then
/// check `Cancel`): whether the cancel lands before, between or after, the IRP is
/// completed exactly once and ends cancelled.
#[test]
fn loom_cancel_vs_set_cancel_routine() {
    model(|| {
        let f = Fixture::new(pend_cancelable);
        let obs = Box::leak(Box::new(Obs::default()));
        // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
        unsafe {
            let irp = new_read(f.device, obs);
            let addr = irp as usize;
            let device = f.device as usize;
            let sender = f.kernel.spawn(move || io_call_driver(device as *mut DeviceObject, addr as *mut Irp));
            io_cancel_irp(irp);
            assert_eq!(sender.join().unwrap(), STATUS_PENDING);
            assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1, "completed exactly once");
            assert!(obs.cancel_calls.load(Ordering::SeqCst) <= 1);
            assert_eq!(obs.creator_status.load(Ordering::SeqCst), STATUS_CANCELLED);
            io_free_irp(irp);
        }
    });
}

/// Two cancellers and the driver: still exactly once, the routine at most once.
#[test]
fn loom_two_cancellers_and_driver() {
    model(|| {
        let f = Fixture::new(pend_cancelable);
        let obs = Box::leak(Box::new(Obs::default()));
        // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
        unsafe {
            let irp = new_read(f.device, obs);
            io_call_driver(f.device, irp);
            let addr = irp as usize;
            let a = f.kernel.spawn(move || io_cancel_irp(addr as *mut Irp));
            let b = f.kernel.spawn(move || io_cancel_irp(addr as *mut Irp));
            let driver_won = driver_finish(irp, STATUS_SUCCESS, 16);
            let (ra, rb) = (a.join().unwrap(), b.join().unwrap());
            let runs = obs.cancel_calls.load(Ordering::SeqCst);
            assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1);
            assert!(runs <= 1);
            assert_eq!(u32::from(ra) + u32::from(rb), runs, "TRUE only for the call that ran the routine");
            assert_eq!(driver_won, runs == 0);
            io_free_irp(irp);
        }
    });
}

/// KeSetEvent racing KeWaitForSingleObject on a synchronization event: the waiter never
/// sleeps through the set (a set finding nobody asleep skips the condvar, so the waiter
/// must count itself asleep before it can miss a set), and its satisfied wait resets the
/// event. A lost wakeup leaves every thread blocked, which loom reports.
#[test]
fn loom_event_set_vs_wait() {
    model(|| {
        let f = Fixture::new(pend_plain);
        let event: &'static KEvent = Box::leak(Box::new(KEvent::new(EventType::Synchronization, false)));
        let setter = f.kernel.spawn(move || ke_set_event(event, 0, false));
        assert_eq!(ke_wait_for_single_object(event, None), STATUS_SUCCESS);
        assert_eq!(setter.join().unwrap(), 0, "the event was not signalled before");
        assert_eq!(ke_read_state_event(event), 0, "the satisfied wait reset it");
    });
}

unsafe extern "system-unwind" fn cancel_replacement(d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the cancel routine contract; the IRP carries an `Obs`.
    unsafe {
        obs_of(irp).log("replacement cancel routine");
        cancel_note(d, irp);
    }
}

unsafe extern "system-unwind" fn cancel_note(_d: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the cancel routine contract: called holding the cancel spin lock.
    unsafe {
        obs_of(irp).cancel_calls.fetch_add(1, Ordering::SeqCst);
        io_release_cancel_spin_lock((*irp).cancel_irql.load(std::sync::atomic::Ordering::Relaxed));
    }
}

/// IoCancelIrp racing a driver that replaces the IRP's cancel routine A by B through
/// IoSetCancelRoutine: in every interleaving the replacement finds A or nothing, IoCancelIrp
/// takes A or B, and no exchange is mistaken for a plain store (strict mode: a report
/// fails the model). The cancel routine only records; the test completes the IRP.
#[test]
fn loom_cancel_vs_replacing_the_cancel_routine() {
    model(|| {
        let f = Fixture::new(pend_plain);
        let obs = Box::leak(Box::new(Obs::default()));
        // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
        unsafe {
            let irp = new_read(f.device, obs);
            assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
            assert!(io_set_cancel_routine(irp, Some(cancel_note)).is_none());
            let addr = irp as usize;
            let canceller = f.kernel.spawn(move || io_cancel_irp(addr as *mut Irp));
            let replaced = io_set_cancel_routine(irp, Some(cancel_replacement)).is_some();
            let cancel_took_one = canceller.join().unwrap();
            assert!(cancel_took_one, "IoCancelIrp found A or B");
            let left = io_set_cancel_routine(irp, None).is_some();
            assert_eq!(left, !replaced, "B is left only when IoCancelIrp took A first");
            assert_eq!(obs.cancel_calls.load(Ordering::SeqCst), 1);
            (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
            io_complete_request(irp, 0);
            assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1);
            io_free_irp(irp);
        }
    });
}
