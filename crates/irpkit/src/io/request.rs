//! Issuing I/O: reads, writes and device controls, synchronous and overlapped, with the
//! buffers the I/O manager gives the IRP (buffered, direct, neither); waiting, user APCs
//! and the cancel calls (CancelIo, CancelIoEx, CancelSynchronousIo).
//!
//! Locks: a request's `RequestState::notify` is set up (with the file's port read under it) before
//! the IRP is put on the thread's list and sent; no lock is held across IoCallDriver.

use super::*;

/// Sets up a request's buffers as the I/O manager does. Returns the blocks the link keeps
/// until the completion has finished (the caller's buffer of a call that names only a
/// length, METHOD_NEITHER's buffers); the system buffer and MDL go to the IRP
/// ([`nt::irp::set_buffers`]), freed with it. A `Vec`'s heap block does not move when the
/// `Vec` is moved, so the pointers the IRP holds stay valid.
///
/// Reads and writes: the caller's buffer is `caller` (an async read's) or, when the call
/// names only a length, a zeroed buffer of that length made here. Then, by the flags of
/// the device the request goes to: `DO_BUFFERED_IO` — a system buffer
/// (`AssociatedIrp.SystemBuffer`, `IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER`, and
/// `IRP_INPUT_OPERATION` for a read; a write's holds the caller's data; a read's is copied
/// to the caller's buffer at completion, `IoStatus.Information` bytes); `DO_DIRECT_IO` —
/// an MDL for the caller's buffer (`MdlAddress`); neither — `UserBuffer` only.
///
/// Device controls with input data, by the control code's transfer type: `METHOD_BUFFERED`
/// — a system buffer of `max(input, output)` bytes holding the input; `METHOD_IN_DIRECT`
/// / `METHOD_OUT_DIRECT` — the input in a system buffer and an MDL for an `output`-byte
/// buffer; `METHOD_NEITHER` — `Type3InputBuffer` at the input, `UserBuffer` at the output.
///
/// # Safety
/// `irp` is a fresh irpkit IRP owned by the caller, not yet sent; `sl` is its next stack
/// location, already holding the request's parameters; `caller` (if any) is a heap block
/// the link keeps until the completion has finished.
pub(super) unsafe fn request_buffers(
    irp: *mut Irp,
    sl: *mut nt::IoStackLocation,
    op: Operation,
    device_flags: u32,
    caller: Option<&mut Vec<u8>>,
    input: Option<&[u8]>,
) -> Box<[Vec<u8>]> {
    const METHOD_BUFFERED: u32 = 0;
    const METHOD_NEITHER: u32 = 3;
    // At most two: METHOD_NEITHER's input and output.
    let mut kept = Kept::default();
    let mut keep = |b: Vec<u8>| kept.keep(b);
    let mut io = nt::irp::IoManagerBuffers::default();
    // SAFETY: the caller owns the fresh IRP and its stack location.
    unsafe {
        match op {
            Operation::Read { length, .. } | Operation::Write { length, .. } => {
                let read = matches!(op, Operation::Read { .. });
                let length = length as usize;
                let user = match caller {
                    Some(b) => b.as_mut_ptr().cast(),
                    None if length == 0 => core::ptr::null_mut(),
                    None => keep(vec![0u8; length]),
                };
                (*irp).user_buffer = user;
                if length == 0 {
                    // Nothing to transfer: no system buffer, no MDL.
                } else if device_flags & nt::DO_BUFFERED_IO != 0 {
                    let data = if read { &[][..] } else { core::slice::from_raw_parts(user.cast::<u8>(), length) };
                    io = nt::irp::IoManagerBuffers::with_system_buffer(data, length);
                    (*irp).associated_irp = io.system_ptr();
                    (*irp).flags |= nt::IRP_BUFFERED_IO | nt::IRP_DEALLOCATE_BUFFER;
                    if read {
                        (*irp).flags |= nt::IRP_INPUT_OPERATION;
                        io.copy_to = (user, length);
                    }
                } else if device_flags & nt::DO_DIRECT_IO != 0 {
                    (*irp).mdl_address = io.describe(user, length);
                }
            }
            Operation::DeviceControl { code, output, .. } => {
                let Some(input) = input else { return Box::default() };
                let output = output as usize;
                match code & 3 {
                    METHOD_BUFFERED => {
                        io = nt::irp::IoManagerBuffers::with_system_buffer(input, output);
                        (*irp).associated_irp = io.system_ptr();
                    }
                    METHOD_NEITHER => {
                        (*sl).parameters.device_io_control.type3_input_buffer = keep(input.to_vec());
                        (*irp).user_buffer = keep(vec![0u8; output]);
                    }
                    _ => {
                        io = nt::irp::IoManagerBuffers::with_system_buffer(input, 0);
                        (*irp).associated_irp = io.system_ptr();
                        if output > 0 {
                            let out = keep(vec![0u8; output]);
                            (*irp).mdl_address = io.describe(out, output);
                        }
                    }
                }
            }
        }
        if !io.system.is_empty() || io.mdl.is_some() {
            nt::irp::set_buffers(irp, Box::new(io));
        }
    }
    kept.into_boxed()
}

/// The buffers [`request_buffers`] keeps for the IRP, in the order kept.
#[derive(Default)]
struct Kept {
    first: Option<Vec<u8>>,
    second: Option<Vec<u8>>,
}

impl Kept {
    /// Keeps `b`; returns where its bytes are (null for an empty buffer).
    fn keep(&mut self, mut b: Vec<u8>) -> *mut core::ffi::c_void {
        let p = if b.is_empty() { core::ptr::null_mut() } else { b.as_mut_ptr().cast() };
        let slot = if self.first.is_none() { &mut self.first } else { &mut self.second };
        assert!(slot.is_none(), "a request keeps at most two buffers");
        *slot = Some(b);
        p
    }

    /// As an exact-length slice: one allocation of the right size, none when nothing was
    /// kept. (It lives in the requester link, which must fit the IRP header's slot: a
    /// boxed slice is a word smaller than a `Vec`.)
    fn into_boxed(self) -> Box<[Vec<u8>]> {
        match (self.first, self.second) {
            (None, _) => Box::default(),
            (Some(a), None) => Box::new([a]),
            (Some(a), Some(b)) => Box::new([a, b]),
        }
    }
}

pub(super) fn nt_interval(d: Duration) -> i64 {
    -i64::try_from(d.as_nanos() / 100).unwrap_or(i64::MAX).max(1)
}

/// The calling thread as a requester thread of a process.
///
/// An overlapped read that a driver holds until it is cancelled, cancelled by CancelIo:
///
/// ```
/// use core::sync::atomic::Ordering;
/// use irpkit::io::{Overlapped, Process};
/// use irpkit::nt::*;
///
/// unsafe extern "system-unwind" fn cancel(_device: *mut DeviceObject, irp: *mut Irp) {
///     // SAFETY: called with a live IRP and the cancel spin lock held; the IRP is ours.
///     unsafe {
///         io_release_cancel_spin_lock((*irp).cancel_irql.load(Ordering::Relaxed));
///         (*irp).io_status = IoStatusBlock { status: STATUS_CANCELLED, information: 0 };
///         io_complete_request(irp, 0);
///     }
/// }
/// unsafe extern "system-unwind" fn dispatch(_device: *mut DeviceObject, irp: *mut Irp) -> NtStatus {
///     // SAFETY: the dispatch routine owns the live IRP it is given.
///     unsafe {
///         let major = (*io_get_current_irp_stack_location(irp)).major_function;
///         if major != IRP_MJ_READ {
///             io_complete_request(irp, 0); // CREATE, CLEANUP, CLOSE: success
///             return STATUS_SUCCESS;
///         }
///         io_mark_irp_pending(irp);
///         io_set_cancel_routine(irp, Some(cancel));
///     }
///     STATUS_PENDING
/// }
///
/// let kernel = irpkit::Kernel::new();
/// let (_driver, device) = {
///     let _entered = kernel.enter();
///     kernel.create_driver_and_device("Held", dispatch, 0).unwrap()
/// };
/// let process = Process::new(&kernel);
/// let thread = process.attach_thread();
/// // SAFETY: a live device of this kernel (devices last as long as their kernel).
/// let h = process.open(unsafe { irpkit::safe::DeviceRef::from_ptr(device) }, true).unwrap();
/// let overlapped = Overlapped::new();
/// assert_eq!(thread.read_overlapped(h, 512, 0, &overlapped), Ok(STATUS_PENDING));
/// assert_eq!(thread.outstanding(), 1);
/// assert_eq!(thread.cancel_io(h), STATUS_SUCCESS); // cancels, and waits until it is gone
/// assert_eq!(overlapped.wait(None).map(|b| b.status), Some(STATUS_CANCELLED));
/// ```
pub struct RequesterThread {
    pub(super) process: Process,
    pub(super) thread: Arc<ThreadShared>,
    pub(super) _entered: crate::EnterGuard,
}

impl core::fmt::Debug for RequesterThread {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RequesterThread").field("id", &self.thread.id).finish_non_exhaustive()
    }
}

/// What an I/O call does.
#[derive(Debug, Clone, Copy)]
pub(super) enum Operation {
    Read { length: u32, offset: i64 },
    Write { length: u32, offset: i64 },
    DeviceControl { code: u32, input: u32, output: u32 },
}

impl RequesterThread {
    /// The thread's id within its process.
    pub fn id(&self) -> u32 {
        self.thread.id
    }

    /// A handle to this thread (with terminate access).
    pub fn handle(&self) -> ThreadHandle {
        ThreadHandle { thread: self.thread.clone(), terminate: true }
    }

    /// IRPs this thread has outstanding.
    pub fn outstanding(&self) -> usize {
        lock(&self.thread.irps).len()
    }

    /// The number of the last IRP this thread issued (the number the timeline, the
    /// verifier's reports and the event log use), if it issued one.
    pub fn last_irp_id(&self) -> Option<u64> {
        Some(self.thread.last_irp.load(StdOrdering::Relaxed)).filter(|&n| n != 0)
    }

    /// Issues `op`. `input`: a device control's input bytes, placed in the buffers the
    /// control code's transfer type calls for (see
    /// [`device_io_control_with_input`](Self::device_io_control_with_input)); `None`
    /// leaves every buffer pointer null.
    pub(super) fn issue(
        &self,
        h: Handle,
        op: Operation,
        overlapped: Option<&Overlapped>,
        routine: Option<Box<dyn FnOnce(IoStatusBlock) + Send>>,
        buffer: Option<Vec<u8>>,
        input: Option<&[u8]>,
    ) -> Result<(NtStatus, Arc<RequestState>, bool), NtStatus> {
        let shared = &self.process.shared;
        if shared.terminated.load(Ordering::Acquire) || self.thread.exited.load(Ordering::Acquire) {
            return Err(nt::STATUS_DELETE_PENDING);
        }
        let file = self.process.file(h)?;
        // SAFETY: reading the file object's flags, fixed at open.
        let synchronous = unsafe { (*file.object()).flags } & nt::FO_SYNCHRONOUS_IO != 0;
        let target = file.related_device();
        // SAFETY: a live device of this kernel.
        let stack = unsafe { (*target).stack_size.load(Ordering::Relaxed) };
        let irp = nt::irp::allocate_in(&shared.kernel.shared, stack);
        if irp.is_null() {
            return Err(nt::STATUS_INSUFFICIENT_RESOURCES);
        }
        // Claimed last, once nothing else can fail: a refused or failed issue leaves the
        // `OVERLAPPED` as it was.
        let op_state = match overlapped {
            None => Arc::new(RequestState::new(true)),
            Some(o) => match o.claim(&self.process.shared.kernel) {
                Ok(op) => op,
                Err(status) => {
                    // SAFETY: our fresh IRP, never sent.
                    unsafe { nt::io_free_irp(irp) };
                    return Err(status);
                }
            },
        };
        // SAFETY: our fresh irpkit IRP.
        let irp_number = unsafe { nt::irp::irp_id(irp) }.unwrap_or(0);
        op_state.irp.store(irp_number, StdOrdering::Relaxed);
        self.thread.last_irp.store(irp_number, StdOrdering::Relaxed);
        {
            let mut notify = lock(&op_state.notify);
            notify.routine = routine;
            notify.port = if synchronous { None } else { lock(&file.port).clone() };
        }
        // SAFETY: our fresh IRP; the status block and event live in `op_state`, which the
        // link keeps alive until the IRP's final stage.
        unsafe {
            *op_state.iosb.get() = IoStatusBlock { status: nt::STATUS_PENDING, information: 0 };
            let sl = nt::io_get_next_irp_stack_location(irp);
            match op {
                Operation::Read { length, offset } | Operation::Write { length, offset } => {
                    (*sl).major_function =
                        if matches!(op, Operation::Read { .. }) { nt::IRP_MJ_READ } else { nt::IRP_MJ_WRITE };
                    (*sl).parameters.read =
                        nt::ReadWriteParameters { length, pad: 0, key: 0, flags: 0, byte_offset: offset };
                }
                Operation::DeviceControl { code, input, output } => {
                    (*sl).major_function = nt::IRP_MJ_DEVICE_CONTROL;
                    (*sl).parameters.device_io_control = nt::DeviceIoControlParameters {
                        output_buffer_length: output,
                        pad1: 0,
                        input_buffer_length: input,
                        pad2: 0,
                        io_control_code: code,
                        pad3: 0,
                        type3_input_buffer: core::ptr::null_mut(),
                    };
                }
            }
            (*sl).file_object = file.object();
            (*irp).tail.overlay.original_file_object = file.object();
            (*irp).tail.overlay.thread = Arc::as_ptr(&self.thread).cast_mut().cast();
            (*irp).requestor_mode = 1;
            if synchronous {
                (*irp).flags |= IRP_SYNCHRONOUS_API;
            }
            (*irp).user_iosb = op_state.iosb.get();
            (*irp).user_event = (&op_state.event as *const KEvent).cast_mut();
            file.refs.fetch_add(1, Ordering::AcqRel);
            let mut buffer = buffer;
            let results = buffer.is_some().then(|| shared.results.clone());
            // The device's flags as the driver set them (DO_BUFFERED_IO, DO_DIRECT_IO): a
            // 4-byte atomic load, as the driver may still be writing other bits.
            let device_flags =
                core::sync::atomic::AtomicU32::from_ptr(&raw mut (*target).flags).load(Ordering::Relaxed);
            let io_buffers = request_buffers(irp, sl, op, device_flags, buffer.as_mut(), input);
            nt::irp::set_requester(
                irp,
                IrpLink {
                    thread: self.thread.clone(),
                    op: op_state.clone(),
                    overlapped: overlapped.cloned(),
                    file: file.clone(),
                    buffer,
                    results,
                    _io_buffers: io_buffers,
                },
            );
        }
        // Cancel coverage names the request now: it can be cancelled from here on.
        // SAFETY: our irpkit IRP, its next stack location set up.
        unsafe { crate::nt::coverage::issued(&shared.kernel.shared, irp) };
        // On the thread's list (listed newest first, as NT links a thread's IRPs).
        lock(&self.thread.irps).push(IrpPtr(irp));
        // SAFETY: the IRP is ready; its device is live.
        let status = unsafe { nt::io_call_driver(target, irp) };
        Ok((status, op_state, synchronous))
    }

    pub(super) fn call(
        &self,
        h: Handle,
        op: Operation,
        overlapped: Option<&Overlapped>,
        input: Option<&[u8]>,
    ) -> Result<IoStatusBlock, NtStatus> {
        let (status, op_state, synchronous) = self.issue(h, op, overlapped, None, None, input)?;
        if !synchronous {
            return Ok(IoStatusBlock { status, information: 0 });
        }
        // A synchronous call waits for the completion and returns its final status (a
        // failure that never pended is returned as the dispatch routine returned it).
        nt::ke_wait_for_single_object(&op_state.done, None);
        Ok(IoStatusBlock {
            status: op_state.final_status.load(Ordering::Acquire),
            information: op_state.final_information.load(Ordering::Relaxed),
        })
    }

    /// `ReadFile` on a synchronous handle: waits and returns the final status.
    pub fn read(&self, h: Handle, length: u32, offset: i64) -> Result<IoStatusBlock, NtStatus> {
        self.call(h, Operation::Read { length, offset }, None, None)
    }

    /// `WriteFile` on a synchronous handle.
    pub fn write(&self, h: Handle, length: u32, offset: i64) -> Result<IoStatusBlock, NtStatus> {
        self.call(h, Operation::Write { length, offset }, None, None)
    }

    /// `DeviceIoControl` on a synchronous handle.
    pub fn device_io_control(&self, h: Handle, code: u32, input: u32, output: u32) -> Result<IoStatusBlock, NtStatus> {
        self.call(h, Operation::DeviceControl { code, input, output }, None, None)
    }

    /// `ReadFile` with an `OVERLAPPED` on an overlapped handle: returns what the dispatch
    /// routine returned (`STATUS_PENDING`, or the result of a request finished at once);
    /// the result is delivered to `overlapped`. `Err(STATUS_INVALID_PARAMETER)` if
    /// `overlapped`'s previous request has not finished (see [`Overlapped`]).
    pub fn read_overlapped(
        &self,
        h: Handle,
        length: u32,
        offset: i64,
        overlapped: &Overlapped,
    ) -> Result<NtStatus, NtStatus> {
        self.call(h, Operation::Read { length, offset }, Some(overlapped), None).map(|r| r.status)
    }

    /// `WriteFile` with an `OVERLAPPED` (refused while it is in use, as
    /// [`read_overlapped`](Self::read_overlapped)).
    pub fn write_overlapped(
        &self,
        h: Handle,
        length: u32,
        offset: i64,
        overlapped: &Overlapped,
    ) -> Result<NtStatus, NtStatus> {
        self.call(h, Operation::Write { length, offset }, Some(overlapped), None).map(|r| r.status)
    }

    /// `DeviceIoControl` with an `OVERLAPPED` (refused while it is in use, as
    /// [`read_overlapped`](Self::read_overlapped)).
    pub fn device_io_control_overlapped(
        &self,
        h: Handle,
        code: u32,
        input: u32,
        output: u32,
        overlapped: &Overlapped,
    ) -> Result<NtStatus, NtStatus> {
        self.call(h, Operation::DeviceControl { code, input, output }, Some(overlapped), None).map(|r| r.status)
    }

    /// `DeviceIoControl` with input data, on a synchronous handle: waits and returns the
    /// final status.
    ///
    /// The IRP carries `input` as the I/O manager passes it for the control code's
    /// transfer type (its low two bits):
    /// - `METHOD_BUFFERED`: `AssociatedIrp.SystemBuffer` points at a buffer of
    ///   `max(input.len(), output)` bytes holding `input` (zeros after it); null when
    ///   both lengths are 0;
    /// - `METHOD_IN_DIRECT`, `METHOD_OUT_DIRECT`: `SystemBuffer` holds `input`, and
    ///   `MdlAddress` describes an `output`-byte buffer (null when `output` is 0);
    /// - `METHOD_NEITHER`: `Parameters.DeviceIoControl.Type3InputBuffer` points at
    ///   `input` and `UserBuffer` at an `output`-byte buffer.
    ///
    /// The buffers belong to the IRP until its completion has finished (even when its
    /// thread exits first and the IRP is disassociated). The output is not copied back.
    /// [`device_io_control`](Self::device_io_control) passes no buffers at all.
    pub fn device_io_control_with_input(
        &self,
        h: Handle,
        code: u32,
        input: &[u8],
        output: u32,
    ) -> Result<IoStatusBlock, NtStatus> {
        let length = u32::try_from(input.len()).map_err(|_| nt::STATUS_INVALID_PARAMETER)?;
        self.call(h, Operation::DeviceControl { code, input: length, output }, None, Some(input))
    }

    /// [`device_io_control_with_input`](Self::device_io_control_with_input) with an
    /// `OVERLAPPED` on an overlapped handle (refused while it is in use, as
    /// [`read_overlapped`](Self::read_overlapped)).
    pub fn device_io_control_overlapped_with_input(
        &self,
        h: Handle,
        code: u32,
        input: &[u8],
        output: u32,
        overlapped: &Overlapped,
    ) -> Result<NtStatus, NtStatus> {
        let length = u32::try_from(input.len()).map_err(|_| nt::STATUS_INVALID_PARAMETER)?;
        self.call(h, Operation::DeviceControl { code, input: length, output }, Some(overlapped), Some(input))
            .map(|r| r.status)
    }

    /// `ReadFileEx`: an overlapped read whose completion routine runs in this thread, as a
    /// user APC, at its next alertable wait ([`alertable_wait`](Self::alertable_wait)) —
    /// if the result is delivered (not for a failure that never pended). Refused while
    /// `overlapped` is in use, as [`read_overlapped`](Self::read_overlapped).
    pub fn read_ex(
        &self,
        h: Handle,
        length: u32,
        offset: i64,
        overlapped: &Overlapped,
        routine: impl FnOnce(IoStatusBlock) + Send + 'static,
    ) -> Result<NtStatus, NtStatus> {
        self.issue(h, Operation::Read { length, offset }, Some(overlapped), Some(Box::new(routine)), None, None)
            .map(|r| r.0)
    }

    /// `SleepEx(timeout, TRUE)`: runs this thread's queued completion routines, or waits
    /// up to `timeout` (on the kernel's clock) for one. `STATUS_USER_APC` if any ran,
    /// `STATUS_TIMEOUT` otherwise.
    pub fn alertable_wait(&self, timeout: Option<Duration>) -> NtStatus {
        if lock(&self.thread.apcs).is_empty()
            && nt::ke_wait_for_single_object(&self.thread.apc_ready, timeout) != nt::STATUS_SUCCESS
        {
            return nt::STATUS_TIMEOUT;
        }
        let mut ran = 0;
        loop {
            let next = lock(&self.thread.apcs).pop_front();
            let Some((routine, status)) = next else { break };
            routine(status);
            ran += 1;
        }
        if ran > 0 {
            nt::STATUS_USER_APC
        } else {
            nt::STATUS_TIMEOUT
        }
    }

    /// An overlapped read into `buffer` as a future (the handle must be overlapped). The
    /// buffer belongs to the request until its result is delivered: dropping the future
    /// asks for cancellation (as CancelIoEx for this one request) and detaches — the
    /// buffer is freed when the IRP completes, never while the driver may still write it.
    pub fn read_async(&self, h: Handle, buffer: Vec<u8>, offset: i64) -> Result<IoFuture, NtStatus> {
        let length = u32::try_from(buffer.len()).map_err(|_| nt::STATUS_INVALID_PARAMETER)?;
        let overlapped = Overlapped::new();
        let (status, op, synchronous) =
            self.issue(h, Operation::Read { length, offset }, Some(&overlapped), None, Some(buffer), None)?;
        if synchronous {
            return Err(nt::STATUS_INVALID_PARAMETER);
        }
        Ok(IoFuture { process: self.process.clone(), handle: h, op, dispatch_status: status, done: false })
    }

    /// `CancelIo`: cancels this thread's I/O on `h` and waits (polling on the kernel's
    /// clock) until it is all gone. Always succeeds, even when nothing matched.
    pub fn cancel_io(&self, h: Handle) -> NtStatus {
        let Ok(file) = self.process.file(h) else { return nt::STATUS_INVALID_HANDLE };
        let object = file.object();
        let mine = |irp: *mut Irp| {
            // SAFETY: listed IRPs are allocated while we look.
            unsafe { (*irp).tail.overlay.original_file_object == object }
        };
        cancel_matching(&self.process.shared.kernel, &self.thread, "CancelIo", mine);
        let poll = nt_interval(self.process.shared.config.cancel_io_poll);
        while lock(&self.thread.irps).any(|p| mine(p.0)) {
            nt::ke_delay_execution_thread(poll);
        }
        nt::STATUS_SUCCESS
    }

    /// Ends the thread: the I/O manager cancels its IRPs, waits for them (re-checking
    /// every 100 ms, up to 5 minutes by default), and disassociates and logs any left.
    pub fn exit(self) {
        exit_thread(&self.process.shared, &self.thread);
    }
}
