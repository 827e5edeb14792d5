//! The execution of one requester thread: its operations in order (open, close, the
//! requests it issues, waits and cancels), each request recorded as it goes.

use std::time::Duration;

use irpkit::io::{Handle, Overlapped, RequesterThread};
use irpkit::nt::{self, ke_delay_execution_thread, NtStatus};
use irpkit::safe::DeviceRef;

use super::model::{lock, ms, CancelCause, End, LiveRequest, Proc, Request, RunState};
use crate::scenario::{Control, Op, ThreadSpec, Transfer};

/// What a request's call returns: the status, and the status block of a synchronous one.
type CallResult = Result<(NtStatus, Option<nt::IoStatusBlock>), NtStatus>;

/// Runs thread `t` of process `p` on requester thread `rt`: its operations in order, until
/// the last, `exit-thread` or `exit-process`; then its outstanding requests are marked as
/// cancelled by its exit.
pub(super) fn run_thread(world: &RunState, p: &Proc, t: &ThreadSpec, rt: &RequesterThread) {
    world.kernel.name_current_thread(&format!("{}/{}", p.name, t.name));
    lock(&p.threads).insert(t.name.clone(), rt.handle());
    let mut run = ThreadRun { world, p, t, rt, issued: 0 };
    let me = format!("{}/{}", p.name, t.name);
    for (n, op) in t.ops.iter().enumerate() {
        let request_handle = match op {
            Op::Read(x) | Op::Write(x) => Some(&x.handle),
            Op::Ioctl(x) => Some(&x.handle),
            _ => None,
        };
        let synchronous = request_handle.is_some_and(|h| lock(&p.handles).get(h).is_some_and(|e| !e.1));
        lock(&world.doing).insert(me.clone(), format!("op {n}: {}", describe(op, synchronous)));
        if !run.op(n, op) {
            break;
        }
    }
    // The thread exits when this returns: its outstanding requests are cancelled.
    run.mark(CancelCause::ThreadExit, &|l| l.record.thread == t.name);
    lock(&world.doing).insert(me, "thread exit (the I/O manager cancels its requests and waits for them)".into());
}

/// One requester thread while it runs its operations.
struct ThreadRun<'a> {
    world: &'a RunState,
    p: &'a Proc,
    t: &'a ThreadSpec,
    rt: &'a RequesterThread,
    /// Requests issued so far (the number of the next one without an id).
    issued: usize,
}

impl ThreadRun<'_> {
    /// Records that operation `n` could not be carried out.
    fn error(&self, n: usize, what: String) {
        lock(&self.world.op_errors).push(format!("process `{}` thread `{}` op {n}: {what}", self.p.name, self.t.name));
    }

    /// The handle named `name`, open at this moment; else an error of operation `n`.
    fn handle_of(&self, n: usize, name: &str) -> Option<Handle> {
        let h = lock(&self.p.handles).get(name).map(|e| e.0);
        if h.is_none() {
            self.error(n, format!("handle `{name}` is not open at this moment (not opened yet, or closed)"));
        }
        h
    }

    /// Marks the process's outstanding requests matching `pick` as asked to be cancelled
    /// now, by `by`.
    fn mark(&self, by: CancelCause, pick: &dyn Fn(&LiveRequest) -> bool) {
        let at = self.world.kernel.clock().now();
        for l in lock(&self.world.requests).iter_mut() {
            let outstanding = l.record.end == End::Lost && l.overlapped.as_ref().is_none_or(|o| !o.is_signalled());
            if l.record.process == self.p.name && outstanding && l.record.cancel_requested_at.is_none() && pick(l) {
                l.record.cancel_requested_at = Some(at);
                l.record.cancel_requested_by = Some(by);
            }
        }
    }

    /// Carries out operation `n`; false when the thread stops here (`exit-thread`,
    /// `exit-process`).
    fn op(&mut self, n: usize, op: &Op) -> bool {
        let p = self.p;
        match op {
            Op::Open { device, handle, overlapped } => self.open(n, device, handle, *overlapped),
            Op::Duplicate { handle, new } => self.duplicate(n, handle, new),
            Op::Close { handle } => {
                let h = lock(&p.handles).remove(handle);
                match h {
                    Some((h, ..)) => {
                        p.process.close(h);
                    }
                    None => self.error(n, format!("handle `{handle}` is not open at this moment")),
                }
            }
            Op::Read(x) => self.transfer(n, x, true),
            Op::Write(x) => self.transfer(n, x, false),
            Op::Ioctl(x) => self.ioctl(n, x),
            Op::Sleep { ms: d } => {
                ke_delay_execution_thread(ms(*d));
            }
            Op::CreateEvent { event, manual_reset, signalled } => {
                let e = p.process.create_event(*manual_reset, *signalled);
                lock(&p.events).insert(event.clone(), e);
            }
            Op::WaitEvent { event, timeout_ms } => self.wait_event(n, event, *timeout_ms),
            Op::Wait { request, timeout_ms } => self.wait(n, request, *timeout_ms),
            Op::CancelIo { handle } => {
                if let Some(h) = self.handle_of(n, handle) {
                    self.mark(CancelCause::CancelIo, &|l| l.handle == Some(h) && l.record.thread == self.t.name);
                    self.rt.cancel_io(h);
                }
            }
            Op::CancelIoEx { handle, request } => self.cancel_io_ex(n, handle, request.as_deref()),
            Op::CancelSynchronousIo { thread } => {
                let target = lock(&p.threads).get(thread).cloned();
                match target {
                    Some(th) => {
                        self.mark(CancelCause::CancelSynchronousIo, &|l| {
                            l.record.thread == *thread && l.record.synchronous
                        });
                        let _ = p.process.cancel_synchronous_io(&th);
                    }
                    None => self.error(n, format!("thread `{thread}` has not started")),
                }
            }
            Op::ExitThread => return false,
            Op::ExitProcess => {
                self.mark(CancelCause::ProcessExit, &|_| true);
                p.process.terminate();
                return false;
            }
        }
        true
    }

    /// `open`: a handle to `device`, named `handle`.
    fn open(&self, n: usize, device: &str, handle: &str, overlapped: bool) {
        let Some((dev, dev_name)) = self.world.devices.get(device) else { return };
        // SAFETY: a device of this run's kernel, alive as long as the kernel.
        let dref = unsafe { DeviceRef::from_ptr(dev.0) };
        match self.p.process.open(dref, overlapped) {
            Ok(h) => {
                lock(&self.p.handles).insert(handle.to_string(), (h, overlapped, dev_name.clone()));
            }
            Err(status) => self.error(n, format!("open of `{device}` failed: {}", nt::describe_status(status))),
        }
    }

    /// `duplicate`: a second handle `new` to what `handle` is open on.
    fn duplicate(&self, n: usize, handle: &str, new: &str) {
        let source = lock(&self.p.handles).get(handle).cloned();
        if let Some((h, overlapped, dev_name)) = source {
            match self.p.process.duplicate(h) {
                Ok(d) => {
                    lock(&self.p.handles).insert(new.to_string(), (d, overlapped, dev_name));
                }
                Err(status) => self.error(n, format!("duplicate failed: {}", nt::describe_status(status))),
            }
        } else {
            self.error(n, format!("handle `{handle}` is not open at this moment"));
        }
    }

    /// A `read` (`read` true) or a `write`.
    fn transfer(&mut self, n: usize, x: &Transfer, read: bool) {
        let rt = self.rt;
        let what = format!("{} {} @{}", if read { "read" } else { "write" }, x.length, x.offset);
        self.issue(n, &x.handle, x.id.clone(), what, x.timeout_ms, |h, o| match o {
            Some(o) if read => rt.read_overlapped(h, x.length, x.offset, o).map(|s| (s, None)),
            Some(o) => rt.write_overlapped(h, x.length, x.offset, o).map(|s| (s, None)),
            None if read => rt.read(h, x.length, x.offset).map(|b| (b.status, Some(b))),
            None => rt.write(h, x.length, x.offset).map(|b| (b.status, Some(b))),
        });
    }

    /// An `ioctl`, with its input bytes and the event handles it carries.
    fn ioctl(&mut self, n: usize, x: &Control) {
        let rt = self.rt;
        let what = format!("ioctl 0x{:X}", x.code);
        let input = self.ioctl_input(n, x);
        self.issue(n, &x.handle, x.id.clone(), what, x.timeout_ms, |h, o| match (o, &input) {
            (Some(o), Some(bytes)) => {
                rt.device_io_control_overlapped_with_input(h, x.code, bytes, x.output, o).map(|s| (s, None))
            }
            (None, Some(bytes)) => {
                rt.device_io_control_with_input(h, x.code, bytes, x.output).map(|b| (b.status, Some(b)))
            }
            (Some(o), None) => {
                rt.device_io_control_overlapped(h, x.code, x.input_length(), x.output, o).map(|s| (s, None))
            }
            (None, None) => rt.device_io_control(h, x.code, x.input_length(), x.output).map(|b| (b.status, Some(b))),
        });
    }

    /// An ioctl's input bytes: given, or zeros for a C driver (which may well read its
    /// system buffer), with the event handles written where `handles_at` says (checked to
    /// fit at parse time). They travel in the buffers the control code's transfer type
    /// calls for; a sample driver without `input_hex` gets none.
    fn ioctl_input(&self, n: usize, x: &Control) -> Option<Vec<u8>> {
        let p = self.p;
        let to_c = lock(&p.handles).get(&x.handle).is_some_and(|e| self.world.c_devices.contains(&e.2));
        let mut input = x.input_bytes().or_else(|| to_c.then(|| vec![0; x.input_length() as usize]));
        for (event, &offset) in &x.handles_at {
            let handle = lock(&p.events).get(event).map(|e| e.handle());
            let Some(h) = handle else {
                self.error(n, format!("event `{event}` is not created yet (its `create-event` comes later)"));
                continue;
            };
            let bytes = input.get_or_insert_with(|| vec![0; x.input_length() as usize]);
            bytes[offset..offset + 8].copy_from_slice(&(h as u64).to_le_bytes());
        }
        input
    }

    /// `wait-event`: waits for the process's event `event`, at most `timeout_ms`.
    fn wait_event(&self, n: usize, event: &str, timeout_ms: Option<u64>) {
        let e = lock(&self.p.events).get(event).cloned();
        match e {
            Some(e) => {
                if e.wait(timeout_ms.map(Duration::from_millis)) != nt::STATUS_SUCCESS {
                    self.error(n, format!("event `{event}` was not signalled within {} ms", timeout_ms.unwrap_or(0)));
                }
            }
            None => self.error(n, format!("event `{event}` is not created yet (its `create-event` comes later)")),
        }
    }

    /// `wait`: waits for overlapped request `request` to finish, at most `timeout_ms`.
    fn wait(&self, n: usize, request: &str, timeout_ms: Option<u64>) {
        // A request whose end is already known (it failed at once: the call returned its
        // status, and nothing is delivered to its OVERLAPPED, as on Windows) has nothing
        // left to wait for.
        let found = lock(&self.world.requests)
            .iter()
            .find(|l| l.record.id == request)
            .map(|l| (l.record.synchronous, l.record.end != End::Lost, l.overlapped.clone()));
        match found {
            Some((true, ..)) => {
                self.error(n, format!("request `{request}` was synchronous: there is nothing to wait for"))
            }
            Some((false, true, _)) => {}
            Some((false, false, Some(o))) => {
                o.wait(timeout_ms.map(Duration::from_millis));
            }
            Some((false, false, None)) => self.error(n, format!("request `{request}` has no OVERLAPPED to wait on")),
            None => self.error(n, format!("request `{request}` was not issued (yet)")),
        }
    }

    /// `cancel-io-ex`: every request on `handle`, or only `request`.
    fn cancel_io_ex(&self, n: usize, handle: &str, request: Option<&str>) {
        let Some(h) = self.handle_of(n, handle) else { return };
        let o = request.and_then(|id| {
            lock(&self.world.requests).iter().find(|l| l.record.id == id).and_then(|l| l.overlapped.clone())
        });
        if request.is_some() && o.is_none() {
            self.error(n, format!("request `{}` is not an overlapped request issued so far", request.unwrap_or("")));
            return;
        }
        self.mark(CancelCause::CancelIoEx, &|l| l.handle == Some(h) && request.is_none_or(|id| l.record.id == id));
        let _ = self.p.process.cancel_io_ex(h, o.as_ref());
    }

    /// Issues request `id` (or the next number) of operation `n` on `handle` through
    /// `call`, and records it: refused when the handle is not open, else overlapped or
    /// synchronous as the handle is.
    fn issue(
        &mut self,
        n: usize,
        handle: &str,
        id: Option<String>,
        what: String,
        timeout_ms: Option<u64>,
        call: impl FnOnce(Handle, Option<&Overlapped>) -> CallResult,
    ) {
        let (world, p) = (self.world, self.p);
        // Cancel coverage names the request by the id the file gives it.
        let call = |h: Handle, o: Option<&Overlapped>| match &id {
            Some(label) => irpkit::explore::coverage::with_request_label(&world.kernel, label, || call(h, o)),
            None => call(h, o),
        };
        let id = id.clone().unwrap_or_else(|| format!("{}.{}.{}", p.name, self.t.name, self.issued));
        self.issued += 1;
        let entry = lock(&p.handles).get(handle).cloned();
        let record = |synchronous, end| Request {
            id: id.clone(),
            process: p.name.clone(),
            thread: self.t.name.clone(),
            device: entry.as_ref().map_or_else(|| "-".to_string(), |e| e.2.clone()),
            what: what.clone(),
            synchronous,
            irp: None,
            issued_at: world.kernel.clock().now(),
            completed_at: None,
            cancel_requested_at: None,
            cancel_requested_by: None,
            timed_out: false,
            end,
        };
        let Some((h, overlapped_handle, _)) = entry.clone() else {
            lock(&world.op_errors).push(format!(
                "process `{}` thread `{}` op {n}: request `{id}`: handle `{handle}` is not open at this moment",
                p.name, self.t.name
            ));
            let record = record(false, End::Refused(nt::STATUS_INVALID_HANDLE));
            lock(&world.requests).push(LiveRequest { record, overlapped: None, handle: None, timeout: None });
            return;
        };
        if overlapped_handle {
            self.issue_overlapped(h, &record, timeout_ms, call);
        } else {
            self.issue_synchronous(h, &record, call);
        }
    }

    /// An overlapped request on `h` (its record made by `record`): its end is delivered
    /// later (or returned by the call when it fails at once); its timeout, if any, armed.
    fn issue_overlapped(
        &self,
        h: Handle,
        record: &dyn Fn(bool, End) -> Request,
        timeout_ms: Option<u64>,
        call: impl FnOnce(Handle, Option<&Overlapped>) -> CallResult,
    ) {
        let world = self.world;
        let o = Overlapped::new();
        let index = {
            let mut all = lock(&world.requests);
            all.push(LiveRequest {
                record: record(false, End::Lost),
                overlapped: Some(o.clone()),
                handle: Some(h),
                timeout: None,
            });
            all.len() - 1
        };
        match call(h, Some(&o)) {
            // A failure that never pended is returned by the call, not delivered to the
            // OVERLAPPED (as Win32 returns it from ReadFile): that is its end.
            Ok((status, _)) if status < 0 && !o.is_signalled() => {
                let mut all = lock(&world.requests);
                all[index].record.end = End::Completed { status, information: 0 };
                all[index].record.completed_at = Some(world.kernel.clock().now());
            }
            Ok(_) => {
                if let Some(ms) = timeout_ms {
                    let after = Duration::from_millis(ms);
                    let timer = self.p.process.cancel_after(h, &o, after);
                    lock(&world.requests)[index].timeout = Some((timer, after));
                }
            }
            Err(status) => lock(&world.requests)[index].record.end = End::Refused(status),
        }
    }

    /// A synchronous request on `h` (its record made by `record`): the call returns when
    /// it has ended.
    fn issue_synchronous(
        &self,
        h: Handle,
        record: &dyn Fn(bool, End) -> Request,
        call: impl FnOnce(Handle, Option<&Overlapped>) -> CallResult,
    ) {
        let world = self.world;
        let index = {
            let mut all = lock(&world.requests);
            all.push(LiveRequest { record: record(true, End::Lost), overlapped: None, handle: Some(h), timeout: None });
            all.len() - 1
        };
        let before = self.rt.last_irp_id();
        let result = call(h, None);
        let at = world.kernel.clock().now();
        let mut all = lock(&world.requests);
        let r = &mut all[index].record;
        r.irp = self.rt.last_irp_id().filter(|&n| Some(n) != before);
        match result {
            Ok((_, Some(b))) => {
                r.end = End::Completed { status: b.status, information: b.information };
                r.completed_at = Some(at);
            }
            Ok((status, None)) => r.end = End::Refused(status),
            Err(status) => r.end = End::Refused(status),
        }
    }
}

/// What an operation is, for a thread still running when a run stops: the file's words,
/// and why it may never return.
fn describe(op: &Op, synchronous: bool) -> String {
    match op {
        Op::Read(x) | Op::Write(x) => {
            let what = if matches!(op, Op::Read(_)) { "read" } else { "write" };
            if synchronous {
                format!("a synchronous {what} on `{}` (the thread waits until a driver completes it)", x.handle)
            } else {
                format!("{what} on `{}`", x.handle)
            }
        }
        Op::Ioctl(x) if synchronous => {
            format!("a synchronous ioctl on `{}` (the thread waits until a driver completes it)", x.handle)
        }
        Op::Ioctl(x) => format!("ioctl on `{}`", x.handle),
        Op::Wait { request, timeout_ms: None } => {
            format!("wait for `{request}` without a timeout (it waits until a driver completes it)")
        }
        Op::Wait { request, timeout_ms: Some(t) } => format!("wait for `{request}` (at most {t} ms)"),
        Op::CancelIo { handle } => format!(
            "cancel-io on `{handle}` (CancelIo waits, with no time limit, until every request it cancelled is \
             completed: a driver that never completes one hangs it, as on Windows)"
        ),
        Op::Open { device, .. } => format!("open of `{device}`"),
        Op::Close { handle } => format!("close of `{handle}`"),
        Op::Duplicate { handle, .. } => format!("duplicate of `{handle}`"),
        Op::Sleep { ms } => format!("sleep {ms} ms"),
        Op::CancelIoEx { handle, .. } => format!("cancel-io-ex on `{handle}`"),
        Op::CancelSynchronousIo { thread } => format!("cancel-synchronous-io of `{thread}`"),
        Op::CreateEvent { event, .. } => format!("create-event `{event}`"),
        Op::WaitEvent { event, timeout_ms: None } => format!("wait for event `{event}`"),
        Op::WaitEvent { event, timeout_ms: Some(t) } => format!("wait for event `{event}` (at most {t} ms)"),
        Op::ExitThread => "exit-thread".to_string(),
        Op::ExitProcess => "exit-process".to_string(),
    }
}
