//! A state-machine test of the cancel-safe queue: random sequences of insert, insert-ex
//! (failing or not), insert of an IRP cancelled beforehand, remove-by-context,
//! remove-next (with and without a file object as peek context), cancel, and cleanup of a
//! file object, across many IRPs, checked step by step against a reference model.
//!
//! Invariants: every IRP is completed exactly once (at the end, after the remaining ones
//! are cleaned up); cancelled ones with `STATUS_CANCELLED` / 0; the queue's remove
//! callback runs before CompleteCanceledIrp (and under the lock, outside of which the
//! completion runs — the test queue asserts both); a removal never returns an IRP that is
//! being (or was) cancelled.
#![cfg(not(any(loom, shuttle)))]

mod common;

use std::ptr;
use std::sync::atomic::Ordering;

use common::csq::*;
use common::*;
use irpkit::nt::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Insert { file: usize, context: bool, cancelled_before: bool },
    SetInsertFailing(bool),
    RemoveNext { file: Option<usize> },
    RemoveByContext { pick: usize },
    Cancel { pick: usize },
    Cleanup { file: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3usize, any::<bool>(), prop::bool::weighted(0.1))
            .prop_map(|(file, context, cancelled_before)| Op::Insert { file, context, cancelled_before }),
        1 => prop::bool::weighted(0.3).prop_map(Op::SetInsertFailing),
        3 => prop::option::of(0..3usize).prop_map(|file| Op::RemoveNext { file }),
        2 => any::<usize>().prop_map(|pick| Op::RemoveByContext { pick }),
        3 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        1 => (0..3usize).prop_map(|file| Op::Cleanup { file }),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Queued,
    Done(NtStatus),
}

struct Tracked {
    irp: *mut Irp,
    obs: Box<Obs>,
    ctx: Option<Box<IoCsqIrpContext>>,
    file: usize,
    state: State,
}

fn file_ptr(f: usize) -> *mut FileObject {
    std::ptr::without_provenance_mut(0x1000 * (f + 1))
}

fn finish(irp: *mut Irp, status: NtStatus) {
    // SAFETY: a removed IRP is the test's to complete.
    unsafe {
        (*irp).io_status = IoStatusBlock { status, information: if status == STATUS_SUCCESS { 16 } else { 0 } };
        io_complete_request(irp, 0);
    }
}

fn run(ops: Vec<Op>) {
    let f = Fixture::new(pend_plain);
    let dev = add_csq_device(&f.kernel, "Csq0", true);
    let q = csq_of(dev);
    let mut irps: Vec<Tracked> = Vec::new();
    let mut failing = false;
    let queued_in_order = |irps: &Vec<Tracked>| -> Vec<usize> {
        // FIFO: insertion order is index order.
        (0..irps.len()).filter(|&i| irps[i].state == State::Queued).collect()
    };
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::SetInsertFailing(on) => {
                failing = on;
                q.fail_insert.store(on, Ordering::SeqCst);
            }
            Op::Insert { file, context, cancelled_before } => {
                let obs = Box::new(Obs::default());
                let mut ctx = context.then(|| Box::new(IoCsqIrpContext::new()));
                // SAFETY: a fresh IRP for the queue device; its observer and context are
                // boxed and live as long as the test.
                let (irp, status) = unsafe {
                    let irp = new_read(dev, &obs);
                    (*irp).user_buffer = irps.len() as *mut _;
                    (*io_get_next_irp_stack_location(irp)).file_object = file_ptr(file);
                    (*Irp::driver_context(irp))[1] =
                        ctx.as_deref_mut().map_or(ptr::null_mut(), |c| (c as *mut IoCsqIrpContext).cast());
                    if cancelled_before {
                        assert!(!io_cancel_irp(irp));
                    }
                    (irp, io_call_driver(dev, irp))
                };
                let state = if failing {
                    assert_eq!(status, STATUS_DEVICE_NOT_READY, "step {step}: a refused insert fails the request");
                    State::Done(STATUS_DEVICE_NOT_READY)
                } else if cancelled_before {
                    assert_eq!(status, STATUS_PENDING);
                    State::Done(STATUS_CANCELLED)
                } else {
                    assert_eq!(status, STATUS_PENDING);
                    State::Queued
                };
                irps.push(Tracked { irp, obs, ctx, file, state });
            }
            Op::RemoveNext { file } => {
                let peek = file.map_or(ptr::null_mut(), |f| file_ptr(f).cast());
                // SAFETY: the queue is live.
                let got = unsafe { io_csq_remove_next_irp(q.csq_ptr(), peek) };
                let want = queued_in_order(&irps).into_iter().find(|&i| file.is_none_or(|f| irps[i].file == f));
                assert_eq!(got, want.map_or(ptr::null_mut(), |i| irps[i].irp), "step {step}: remove next {file:?}");
                if let Some(i) = want {
                    finish(got, STATUS_SUCCESS);
                    irps[i].state = State::Done(STATUS_SUCCESS);
                }
            }
            Op::RemoveByContext { pick } => {
                let with_ctx: Vec<usize> = (0..irps.len()).filter(|&i| irps[i].ctx.is_some()).collect();
                if with_ctx.is_empty() {
                    continue;
                }
                let i = with_ctx[pick % with_ctx.len()];
                let ctx: *mut IoCsqIrpContext = &mut **irps[i].ctx.as_mut().unwrap();
                // SAFETY: the queue and the context are live.
                let got = unsafe { io_csq_remove_irp(q.csq_ptr(), ctx) };
                if irps[i].state == State::Queued {
                    assert_eq!(got, irps[i].irp, "step {step}: remove by context");
                    finish(got, STATUS_SUCCESS);
                    irps[i].state = State::Done(STATUS_SUCCESS);
                } else {
                    assert!(got.is_null(), "step {step}: a context whose IRP left the queue returns none");
                }
            }
            Op::Cancel { pick } => {
                if irps.is_empty() {
                    continue;
                }
                let i = pick % irps.len();
                // SAFETY: the creator cancels its own (possibly completed, still kept) IRP.
                let called = unsafe { io_cancel_irp(irps[i].irp) };
                assert_eq!(called, irps[i].state == State::Queued, "step {step}: TRUE only for a queued IRP");
                if irps[i].state == State::Queued {
                    irps[i].state = State::Done(STATUS_CANCELLED);
                }
            }
            Op::Cleanup { file } => {
                // What IRP_MJ_CLEANUP does: RemoveNext with the file object until none.
                loop {
                    // SAFETY: the queue is live.
                    let got = unsafe { io_csq_remove_next_irp(q.csq_ptr(), file_ptr(file).cast()) };
                    if got.is_null() {
                        break;
                    }
                    finish(got, STATUS_CANCELLED);
                }
                for t in irps.iter_mut().filter(|t| t.file == file && t.state == State::Queued) {
                    t.state = State::Done(STATUS_CANCELLED);
                }
            }
        }
        // After every step: the model and the IRPs agree.
        assert_eq!(q.len(), queued_in_order(&irps).len(), "step {step}: queue length");
        for (i, t) in irps.iter().enumerate() {
            let calls = t.obs.creator_calls.load(Ordering::SeqCst);
            match t.state {
                State::Queued => assert_eq!(calls, 0, "step {step}: IRP {i} queued but completed"),
                State::Done(status) => {
                    assert_eq!(calls, 1, "step {step}: IRP {i} completed exactly once");
                    assert_eq!(t.obs.creator_status.load(Ordering::SeqCst), status, "step {step}: IRP {i} status");
                    if status == STATUS_CANCELLED {
                        // SAFETY: completed IRPs are kept by their creator until freed below.
                        let information = unsafe { (*t.irp).io_status.information };
                        assert_eq!(information, 0);
                    }
                }
            }
            if let Some(ctx) = &t.ctx {
                if t.state != State::Queued {
                    assert!(ctx.irp.is_null(), "step {step}: IRP {i}'s context unlinked");
                }
            }
        }
    }
    // Everything still queued goes: every IRP ends completed exactly once.
    for file in 0..3 {
        loop {
            // SAFETY: the queue is live.
            let irp = unsafe { io_csq_remove_next_irp(q.csq_ptr(), file_ptr(file).cast()) };
            if irp.is_null() {
                break;
            }
            finish(irp, STATUS_CANCELLED);
        }
    }
    let events = q.events();
    for (i, t) in irps.iter().enumerate() {
        assert_eq!(t.obs.creator_calls.load(Ordering::SeqCst), 1, "IRP {i} completed exactly once in the end");
        let (removed, completed) = (format!("remove #{i}"), format!("complete cancelled #{i}"));
        if let Some(c) = events.iter().position(|e| *e == completed) {
            let r = events.iter().position(|e| *e == removed).expect("a cancelled IRP was removed");
            assert!(r < c, "IRP {i}: removed before CompleteCanceledIrp");
        }
        // SAFETY: completed and kept; freed once.
        unsafe { io_free_irp(t.irp) };
    }
    assert_eq!(f.kernel.irps_outstanding(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn csq_matches_the_model(ops in prop::collection::vec(op(), 1..80)) {
        run(ops);
    }
}
