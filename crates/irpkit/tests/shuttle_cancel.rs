//! Randomised and PCT schedules of the cancel protocol with shuttle.
//!
//! Run with `RUSTFLAGS="--cfg shuttle" cargo test -p irpkit --release --test shuttle_cancel`.
//! Under `--cfg shuttle` every lock, atomic and thread of irpkit is shuttle's, so shuttle
//! controls every interleaving and can replay a failing schedule.
#![cfg(shuttle)]

mod common;

use std::sync::atomic::Ordering;

use common::*;
use irpkit::nt::*;

fn scenario() {
    let f = Fixture::new(pend_cancelable);
    let obs = Box::leak(Box::new(Obs::default()));
    // SAFETY: the test keeps its kernel, devices and IRPs alive and owns each IRP it touches here.
    unsafe {
        let irp = new_read(f.device, obs);
        assert_eq!(io_call_driver(f.device, irp), STATUS_PENDING);
        let addr = irp as usize;
        let a = f.kernel.spawn(move || io_cancel_irp(addr as *mut Irp));
        let b = f.kernel.spawn(move || io_cancel_irp(addr as *mut Irp));
        let driver_won = driver_finish(irp, STATUS_SUCCESS, 16);
        let (ra, rb) = (a.join().unwrap(), b.join().unwrap());
        let runs = obs.cancel_calls.load(Ordering::SeqCst);
        assert_eq!(obs.creator_calls.load(Ordering::SeqCst), 1, "completed exactly once");
        assert!(runs <= 1);
        assert_eq!(u32::from(ra) + u32::from(rb), runs);
        assert_eq!(driver_won, runs == 0);
        io_free_irp(irp);
    }
    assert_eq!(f.kernel.irps_outstanding(), 0);
}

#[test]
fn shuttle_random_cancel_vs_driver() {
    shuttle::check_random(scenario, 2000);
}

#[test]
fn shuttle_pct_cancel_vs_driver() {
    shuttle::check_pct(scenario, 2000, 3);
}
