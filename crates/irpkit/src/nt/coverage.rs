//! Cancel coverage, the NT layer's part: where each request is in its life, kept by the
//! NT routines a driver calls, and where each cancel found it, counted per request.
//!
//! A kernel records coverage only when asked ([`crate::explore::coverage::record`]; the
//! explorer asks for every run). Then every IRP header carries a small lifecycle state
//! (`IrpHeader::cover`) that the routines update as they act on the IRP — IoCallDriver
//! (dispatch), the requester's issue, IoSetCancelRoutine, IoCancelIrp's call of a cancel
//! routine, device-queue insertion and removal, IoStartPacket and IoStartNextPacket
//! (CurrentIrp), IoCsqInsertIrp and the queue's removals, IoCompleteRequest, IoFreeIrp,
//! IoReuseIrp — and IoCancelIrp, at the moment it holds the cancel spin lock and sets
//! `Cancel`, classifies that state into one [`Window`] and counts it for the IRP's request.
//!
//! # The state word
//! One `u64` per header: bits 32..64 the generation (the low 32 bits of the IRP's serial
//! number: a word whose generation is not the header's current request is stale and
//! ignored), bits 16..32 the windows the request has been in ("entered"), bits 0..16 the
//! state flags. It is changed only by compare-exchange of the whole word, by whichever
//! thread runs the routine (the owner, IoCancelIrp on another processor, a queue's
//! remover); the generation check makes a late change on a block that was freed and
//! reused a no-op. The IRP itself is never read through a reference here: only its atomic
//! fields and its fixed `StackCount`, one by one, and the header's atomics.
//!
//! # Request identity
//! Serial numbers depend on the interleaving, so a request is named by who issued it: the
//! issuing thread's label — its name, with ` 2`, ` 3`, … for later threads of the same
//! name in creation order (given by the spawning thread, so stable when one thread
//! spawns them), or the name it gave itself with `Kernel::name_current_thread` — the
//! major function, and the thread's n-th request of that major function; a label the
//! scenario gives (`explore::coverage::with_request_label`) is kept alongside. A request
//! gets its identity when the requester side issues it (before IoCallDriver) or, for IRPs
//! a driver or test code builds, at its first IoCallDriver (the sending thread's
//! request).
//!
//! # When a window "was entered"
//! A transition marks the window its new state classifies as, except while the calling
//! thread holds the cancel spin lock: IoCancelIrp cannot classify anything then, so a
//! state that lasts only under the lock (IoStartPacket's routine set before its queue
//! insertion) is no window; the states the IRPs touched under the lock are left in are
//! marked when that thread releases it. The setting window is marked only if the setter
//! crossed a scheduling point while it was open (see [`Window::SettingRoutine`]). A cancel
//! that lands in a window marks it too.
//!
//! # Setting windows
//! A thread's open setting window lives in its kernel's table under the thread's token —
//! not in a thread-local, so a scheduler running several virtual threads on one OS thread
//! (swapping their tokens) keeps them apart — with a stack of the windows of the driver
//! routines it is nested in (each `kernel::in_routine_at` frame is a `RoutineFrame`).
//! The NT routines with a scheduling point that a driver may call inside a window note it
//! (`point_crossed`: spin-lock acquire and release, IoSetCancelRoutine, IoCallDriver,
//! IoCompleteRequest, KeSetEvent, the waits, KeDelayExecutionThread, KeInsertQueueDpc,
//! pool allocation). The setter must have entered the IRP's kernel (every thread the
//! explorer runs has).
//!
//! # Lock order
//! The table's lock is a leaf: it is taken under device-queue locks, driver spin locks
//! and the cancel spin lock, and nothing is acquired while it is held. It is a std lock
//! outside the `sync` seam, like the timeline recorder's, so it is no scheduling point:
//! recording coverage leaves the explorer's schedules as they are.
//!
//! # Exactness
//! Under the explorer only one thread runs at a time and switches only at scheduling
//! points, and every state change here sits next to the effect it records with no
//! scheduling point between them: the classification is exact. With free-running threads
//! it can be off by one transition (coverage is an explorer feature).

use crate::nt::addr_map::AddrMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::irp::{self, IrpHeader};
use super::types::*;
use crate::nt::kernel::{self, KernelShared};

/// Where in its life a request was when a cancel reached it.
///
/// "A cancel lands" when IoCancelIrp, holding the cancel spin lock, sets `Irp->Cancel`
/// and is about to exchange the cancel routine; IoCancelIrp on a request already
/// completed (the I/O manager's, on a pinned IRP) and CancelIoEx naming the overlapped
/// structure of a request that is over land in [`Completed`](Window::Completed). The
/// variants are in the order of an IRP's life; where several states hold at once, the
/// first of this precedence decides: completed, completing, cancelling, unsent,
/// setting-routine, device-queue, csq, start-io, driver-queue, routine-cleared,
/// no-routine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Window {
    /// Issued by its requester (on the thread's list) but not yet dispatched: IoCallDriver
    /// has not called a dispatch routine for it. The dispatch routine must see `Cancel`.
    Unsent,
    /// In the driver — its dispatch routine running, or pending — with no cancel routine
    /// set since it was dispatched (none yet, or the driver never makes it cancelable).
    NoRoutine,
    /// Between IoSetCancelRoutine and the driver's `Cancel` re-check: the cancel routine is
    /// set and the routine that set it is still in the critical section it set it in —
    /// it has not yet returned, nor released a spin lock it held at the set (the window is
    /// closed by whichever comes first, or by clearing the routine again). A set under the
    /// cancel spin lock opens no window (IoCancelIrp cannot run before the lock is
    /// released), nor one outside any driver routine with no spin lock held. The explorer
    /// can land a cancel there only if the setter crosses a scheduling point inside it, so
    /// the window applies to a request only once that happened.
    SettingRoutine,
    /// Pending with a cancel routine set, in the driver's own keeping (its list, its
    /// hardware), the setting routine's window closed.
    DriverQueue,
    /// Inserted in a device queue (`KDEVICE_QUEUE`: IoStartPacket, KeInsertDeviceQueue,
    /// KeInsertByKeyDeviceQueue), not yet removed.
    DeviceQueue,
    /// In a cancel-safe queue (IoCsqInsertIrp accepted it), not yet removed.
    Csq,
    /// The device's `CurrentIrp`, made so by IoStartPacket or IoStartNextPacket: handed to
    /// StartIo (running, deferred, or on the hardware after it) until the next packet is
    /// started or the IRP completes.
    StartIo,
    /// The driver cleared a cancel routine it had set (IoSetCancelRoutine(NULL) won, or
    /// the I/O manager cleared it for a NonCancelable StartIo) and has not completed it.
    RoutineCleared,
    /// An earlier cancel won: its cancel routine was called and owns the IRP.
    Cancelling,
    /// IoCompleteRequest started (the completion walk, completion routines, delivery to
    /// the requester) and has not finished.
    Completing,
    /// Too late: the request was completed (freed, or its walk ended at its creator).
    Completed,
}

impl Window {
    /// Number of windows.
    pub const COUNT: usize = 11;

    /// Every window, in the order of an IRP's life.
    pub const ALL: [Window; Window::COUNT] = [
        Window::Unsent,
        Window::NoRoutine,
        Window::SettingRoutine,
        Window::DriverQueue,
        Window::DeviceQueue,
        Window::Csq,
        Window::StartIo,
        Window::RoutineCleared,
        Window::Cancelling,
        Window::Completing,
        Window::Completed,
    ];

    /// The window's stable name (table columns, JSON keys).
    pub fn id(self) -> &'static str {
        match self {
            Window::Unsent => "unsent",
            Window::NoRoutine => "no-routine",
            Window::SettingRoutine => "setting-routine",
            Window::DriverQueue => "driver-queue",
            Window::DeviceQueue => "device-queue",
            Window::Csq => "csq",
            Window::StartIo => "start-io",
            Window::RoutineCleared => "routine-cleared",
            Window::Cancelling => "cancelling",
            Window::Completing => "completing",
            Window::Completed => "completed",
        }
    }

    /// The window with name `id`.
    pub fn from_id(id: &str) -> Option<Window> {
        Window::ALL.into_iter().find(|w| w.id() == id)
    }

    /// One line saying what the window is.
    pub fn about(self) -> &'static str {
        match self {
            Window::Unsent => "issued, not yet dispatched",
            Window::NoRoutine => "in the driver, no cancel routine set yet",
            Window::SettingRoutine => "cancel routine just set, its setter still in its critical section",
            Window::DriverQueue => "pending with a cancel routine, in the driver's keeping",
            Window::DeviceQueue => "in a device queue (KDEVICE_QUEUE)",
            Window::Csq => "in a cancel-safe queue",
            Window::StartIo => "the device's CurrentIrp (StartIo)",
            Window::RoutineCleared => "cancel routine cleared, not yet completed",
            Window::Cancelling => "an earlier cancel's routine owns it",
            Window::Completing => "IoCompleteRequest under way",
            Window::Completed => "already completed (the cancel came too late)",
        }
    }

    /// The window's bit in a set of windows.
    pub(crate) fn bit(self) -> u16 {
        1 << self as u8
    }
}

impl core::fmt::Display for Window {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.id())
    }
}

// The state flags (bits 0..16 of the word).
/// The word belongs to a request with an identity in the table.
const TRACKED: u16 = 1 << 0;
/// A dispatch routine was called for it.
const SENT: u16 = 1 << 1;
/// A cancel routine is set.
const ROUTINE: u16 = 1 << 2;
/// A cancel routine was set since the dispatch and has been cleared.
const CLEARED: u16 = 1 << 3;
/// The setting routine's window is open.
const SETTING: u16 = 1 << 4;
/// Linked in a device queue.
const DEVICE_QUEUE: u16 = 1 << 5;
/// In a cancel-safe queue.
const CSQ: u16 = 1 << 6;
/// Its device's CurrentIrp.
const CURRENT: u16 = 1 << 7;
/// A cancel routine was called for it.
const CANCELLING: u16 = 1 << 8;
/// IoCompleteRequest is under way.
const COMPLETING: u16 = 1 << 9;
/// Completed: freed, reused, or its walk ended at its creator.
const DONE: u16 = 1 << 10;

/// The window a state is in (the precedence of [`Window`]'s documentation).
fn classify(flags: u16) -> Window {
    if flags & DONE != 0 {
        Window::Completed
    } else if flags & COMPLETING != 0 {
        Window::Completing
    } else if flags & CANCELLING != 0 {
        Window::Cancelling
    } else if flags & SENT == 0 {
        Window::Unsent
    } else if flags & SETTING != 0 {
        Window::SettingRoutine
    } else if flags & DEVICE_QUEUE != 0 {
        Window::DeviceQueue
    } else if flags & CSQ != 0 {
        Window::Csq
    } else if flags & CURRENT != 0 {
        Window::StartIo
    } else if flags & ROUTINE != 0 {
        Window::DriverQueue
    } else if flags & CLEARED != 0 {
        Window::RoutineCleared
    } else {
        Window::NoRoutine
    }
}

/// The "entered" bit a transition into `flags` marks: the setting window is marked when
/// it closes, and only if it was exposed to a scheduling point.
fn entered_bit(flags: u16) -> u16 {
    match classify(flags) {
        Window::SettingRoutine => 0,
        w => w.bit(),
    }
}

fn word(generation: u32, entered: u16, flags: u16) -> u64 {
    (u64::from(generation) << 32) | (u64::from(entered) << 16) | u64::from(flags)
}

fn generation_of(w: u64) -> u32 {
    (w >> 32) as u32
}

fn entered_of(w: u64) -> u16 {
    (w >> 16) as u16
}

fn flags_of(w: u64) -> u16 {
    w as u16
}

/// Kernels recording coverage, in the whole process: while it is zero every hook returns
/// after this one relaxed load.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// Whether any kernel records coverage.
#[inline]
pub(crate) fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed) != 0
}

/// Whether `k` records coverage.
#[inline]
fn on(k: &KernelShared) -> bool {
    active() && k.coverage.on.load(Ordering::Relaxed)
}

/// A kernel's coverage recorder: off by default.
#[derive(Default)]
pub(crate) struct Recorder {
    on: AtomicBool,
    table: Mutex<Table>,
}

impl core::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Recorder").field("on", &self.on.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

impl Recorder {
    /// Turns recording on or off (what was counted is kept).
    pub(crate) fn set_on(&self, on: bool) {
        if self.on.swap(on, Ordering::AcqRel) != on {
            if on {
                ACTIVE.fetch_add(1, Ordering::Relaxed);
            } else {
                ACTIVE.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if *self.on.get_mut() {
            ACTIVE.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Who issued a request: stable across schedules (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestKey {
    /// The issuing thread's label.
    pub thread: String,
    /// The major function (`IRP_MJ_*`).
    pub major: u8,
    /// The thread's n-th request of that major function (1-based).
    pub nth: u32,
    /// The label the scenario gave the request, if any.
    pub label: Option<String>,
}

impl core::fmt::Display for RequestKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let major = major_function_name(self.major);
        let major = major.strip_prefix("IRP_MJ_").unwrap_or(major);
        match &self.label {
            Some(label) => write!(f, "{}: {label}", self.thread),
            None => write!(f, "{}/{major}#{}", self.thread, self.nth),
        }
    }
}

/// One request's counts in one kernel.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) key: RequestKey,
    /// Cancels that landed in each window (indexed by `Window as usize`).
    pub(crate) hits: [u64; Window::COUNT],
    /// The windows the request was in (bit per window).
    pub(crate) entered: u16,
    /// The setting window opened without a scheduling point inside it.
    pub(crate) setting_unexposed: bool,
}

/// A tracked request's header and generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tracked {
    h: *mut IrpHeader,
    generation: u32,
}

/// A labelled thread, and the setting window it has open.
#[derive(Debug, Default)]
struct ThreadInfo {
    label: String,
    /// Requests issued, by major function.
    issued: AddrMap<u8, u32>,
    /// The label of the next request it issues.
    next_label: Option<String>,
    /// The setting window it has open (see [`Window::SettingRoutine`]).
    window: Option<OpenWindow>,
    /// The windows of the driver routines it is in, set aside while a nested routine runs
    /// (one entry per routine frame).
    outer: Vec<Option<OpenWindow>>,
}

/// A setting window a thread has open: closed when the driver routine that set the cancel
/// routine returns, when the thread's spin-lock count drops below `depth`, or when the
/// routine is cleared.
#[derive(Debug, Clone, Copy)]
struct OpenWindow {
    t: Tracked,
    /// Spin locks the setter held at the set.
    depth: u32,
    /// The setter crossed a scheduling point with the window open.
    exposed: bool,
}

#[derive(Debug, Default)]
struct Table {
    rows: Vec<Row>,
    by_key: AddrMap<RequestKey, usize>,
    /// IRP serial number → row.
    by_serial: AddrMap<u64, usize>,
    /// Thread token → label and counters.
    threads: AddrMap<usize, ThreadInfo>,
    /// Threads labelled so far, by name (for the ordinals).
    names: AddrMap<String, u32>,
    /// A tracked IRP's device-queue entry (address) → the IRP.
    entries: AddrMap<usize, Tracked>,
    /// A device (address) → its CurrentIrp, when tracked.
    current: AddrMap<usize, Tracked>,
    /// Thread token → IRPs it changed while holding the cancel spin lock.
    deferred: AddrMap<usize, Vec<Tracked>>,
    /// Cancels of IRPs without an identity (not irpkit's, or never sent).
    untracked: u64,
}

// SAFETY: the raw header pointers are pool blocks of the table's kernel, only read and
// compare-exchanged through their atomics.
unsafe impl Send for Table {}

impl Table {
    /// The label for a new thread named `name`: the name, then `name 2`, `name 3`, ….
    fn new_label(&mut self, name: &str) -> String {
        let n = self.names.entry(name.to_string()).or_insert(0);
        *n += 1;
        if *n == 1 {
            name.to_string()
        } else {
            format!("{name} {n}")
        }
    }

    fn thread(&mut self, token: usize) -> &mut ThreadInfo {
        self.threads.entry(token).or_insert_with(|| ThreadInfo {
            label: std::thread::current().name().unwrap_or("thread").to_string(),
            ..Default::default()
        })
    }
}

/// The label a thread about to be started with `name` gets (`None` when `k` does not
/// record coverage). Called by the spawning thread, so that labels follow creation order.
pub(crate) fn spawn_label(k: &KernelShared, name: &str) -> Option<String> {
    on(k).then(|| k.coverage.table().new_label(name))
}

/// The calling thread takes `label` (from [`spawn_label`]).
pub(crate) fn thread_started(k: &KernelShared, label: Option<String>) {
    if let Some(label) = label {
        if on(k) {
            let token = kernel::thread_token();
            k.coverage.table().threads.insert(token, ThreadInfo { label, ..Default::default() });
        }
    }
}

/// The calling thread named itself `name` (`Kernel::name_current_thread`): its requests
/// from now on carry that label (with an ordinal if another thread took the name first).
pub(crate) fn thread_renamed(k: &KernelShared, name: &str) {
    if on(k) {
        let token = kernel::thread_token();
        let mut t = k.coverage.table();
        let label = t.new_label(name);
        t.thread(token).label = label;
    }
}

/// The next request the calling thread issues carries `label` (`None`: no label).
pub(crate) fn label_next_request(k: &KernelShared, label: Option<&str>) {
    if on(k) {
        let token = kernel::thread_token();
        k.coverage.table().thread(token).next_label = label.map(str::to_string);
    }
}

/// The tracked request `irp` holds now, if any.
///
/// # Safety
/// `irp` is null or points to IRP-sized readable memory whose kernel, if irpkit
/// allocated it, is alive.
unsafe fn tracked(irp: *mut Irp) -> Option<Tracked> {
    // SAFETY: forwarded contract.
    let h = unsafe { irp::header(irp) }?;
    // SAFETY: a valid header.
    let (generation, w) = unsafe { ((*h).id.load(Ordering::Relaxed) as u32, (*h).cover.load(Ordering::Acquire)) };
    (generation_of(w) == generation && flags_of(w) & TRACKED != 0).then_some(Tracked { h, generation })
}

/// `irp`'s request and kernel, if the kernel records coverage and the request is tracked.
///
/// # Safety
/// As [`tracked`].
unsafe fn tracked_on<'a>(irp: *mut Irp) -> Option<(&'a KernelShared, Tracked)> {
    if !active() {
        return None;
    }
    // SAFETY: forwarded contract.
    let t = unsafe { tracked(irp) }?;
    // SAFETY: a valid header names its live kernel.
    let k = unsafe { irp::header_kernel(t.h) };
    on(k).then_some((k, t))
}

/// Gives `irp` an identity: the calling thread's next request of the IRP's major
/// function. `sent`: IoCallDriver has moved to the location that holds the request;
/// otherwise the requester is preparing its next location.
///
/// # Safety
/// `irp` is a live IRP the caller owns.
unsafe fn track(k: &KernelShared, irp: *mut Irp, sent: bool) -> Option<Tracked> {
    // SAFETY: forwarded contract.
    let h = unsafe { irp::header(irp) }?;
    // SAFETY: a live IRP the caller owns: its stack location is the caller's to read, one
    // field, through the raw pointer.
    let (serial, major, entry) = unsafe {
        let sl =
            if sent { irp::io_get_current_irp_stack_location(irp) } else { irp::io_get_next_irp_stack_location(irp) };
        ((*h).id.load(Ordering::Relaxed), (&raw const (*sl).major_function).read(), Irp::device_queue_entry(irp))
    };
    let t = Tracked { h, generation: serial as u32 };
    let token = kernel::thread_token();
    let mut table = k.coverage.table();
    let info = table.thread(token);
    let n = info.issued.entry(major).or_insert(0);
    *n += 1;
    let key = RequestKey { thread: info.label.clone(), major, nth: *n, label: info.next_label.take() };
    let row = match table.by_key.get(&key) {
        Some(&row) => row,
        None => {
            let row = table.rows.len();
            table.rows.push(Row { key: key.clone(), hits: [0; Window::COUNT], entered: 0, setting_unexposed: false });
            table.by_key.insert(key, row);
            row
        }
    };
    table.by_serial.insert(serial, row);
    table.entries.insert(entry as usize, t);
    drop(table);
    let flags = TRACKED | if sent { SENT } else { 0 };
    // SAFETY: a valid header. Until this store the word is stale (another generation), so
    // no other thread changes it.
    unsafe { (*h).cover.store(word(t.generation, entered_bit(flags), flags), Ordering::Release) };
    Some(t)
}

/// Applies `change` to the state of request `t` — unless its word is stale, or the
/// request is over and `revive` is false — marking the window it is in now (or, while the
/// calling thread holds the cancel spin lock, leaving that to the release). Returns the
/// new flags.
///
/// # Safety
/// `t`'s header is a pool block of `k`.
unsafe fn transition(k: &KernelShared, t: Tracked, revive: bool, change: impl Fn(u16) -> u16) -> Option<u16> {
    let deferred = super::spinlock::holds_cancel_lock(k);
    // SAFETY: pool blocks live as long as their kernel.
    let cell = unsafe { &(*t.h).cover };
    let mut w = cell.load(Ordering::Acquire);
    let flags = loop {
        let stale = generation_of(w) != t.generation || flags_of(w) & TRACKED == 0;
        if stale || (!revive && flags_of(w) & DONE != 0) {
            return None;
        }
        let flags = change(flags_of(w)) | TRACKED;
        let entered = entered_of(w) | if deferred { 0 } else { entered_bit(flags) };
        match cell.compare_exchange_weak(w, word(t.generation, entered, flags), Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => break flags,
            Err(now) => w = now,
        }
    };
    if deferred {
        k.coverage.table().deferred.entry(kernel::thread_token()).or_default().push(t);
    }
    Some(flags)
}

/// Adds `bits(flags)` to the windows request `t` entered (nothing if its word is stale).
///
/// # Safety
/// `t`'s header is a live pool block.
unsafe fn mark(t: Tracked, bits: impl Fn(u16) -> u16) {
    // SAFETY: forwarded contract.
    let cell = unsafe { &(*t.h).cover };
    let mut w = cell.load(Ordering::Acquire);
    loop {
        if generation_of(w) != t.generation || flags_of(w) & TRACKED == 0 {
            return;
        }
        let entered = entered_of(w) | bits(flags_of(w));
        if entered == entered_of(w) {
            return;
        }
        match cell.compare_exchange_weak(
            w,
            word(t.generation, entered, flags_of(w)),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => return,
            Err(now) => w = now,
        }
    }
}

/// The serial number of request `t`, if its header still holds it.
///
/// # Safety
/// `t`'s header is a live pool block.
unsafe fn serial_of(t: Tracked) -> Option<u64> {
    // SAFETY: forwarded contract.
    let serial = unsafe { (*t.h).id.load(Ordering::Relaxed) };
    (serial as u32 == t.generation).then_some(serial)
}

/// Counts a cancel of request `serial` in `window`.
fn count(k: &KernelShared, serial: u64, window: Window) {
    let mut t = k.coverage.table();
    match t.by_serial.get(&serial).copied() {
        Some(row) => {
            t.rows[row].hits[window as usize] += 1;
            t.rows[row].entered |= window.bit();
        }
        None => t.untracked += 1,
    }
}

/// IoCancelIrp reached `irp`: holding the cancel spin lock, having just set `Cancel` — or
/// finding it already freed (a request that is over). Counts the window its request is in.
///
/// # Safety
/// `irp` points to IRP memory that is allocated, or pool memory of a live kernel.
#[inline]
pub(crate) unsafe fn cancel_landed(k: &KernelShared, irp: *mut Irp) {
    if active() {
        // SAFETY: forwarded contract.
        unsafe { cancel_landed_slow(k, irp) }
    }
}

/// # Safety
/// As [`cancel_landed`].
#[inline(never)]
unsafe fn cancel_landed_slow(k: &KernelShared, irp: *mut Irp) {
    if !on(k) {
        return;
    }
    // SAFETY: forwarded contract.
    let found = unsafe { irp::header(irp) }.and_then(|h| {
        // SAFETY: a valid header.
        let (serial, w) = unsafe { ((*h).id.load(Ordering::Relaxed), (*h).cover.load(Ordering::Acquire)) };
        (generation_of(w) == serial as u32 && flags_of(w) & TRACKED != 0).then_some((h, serial, w))
    });
    let Some((h, serial, w)) = found else {
        k.coverage.table().untracked += 1;
        return;
    };
    let window = classify(flags_of(w));
    // SAFETY: a valid header of a live kernel's pool.
    unsafe { mark(Tracked { h, generation: serial as u32 }, |_| window.bit()) };
    count(k, serial, window);
}

/// CancelIoEx named the overlapped structure of request `serial`, which is over (its
/// result was delivered): the cancel came too late.
pub(crate) fn cancel_found_completed(k: &KernelShared, serial: u64) {
    if on(k) {
        count(k, serial, Window::Completed);
    }
}

/// The requester side issues `irp` (on its thread's list, about to call IoCallDriver):
/// it gets its identity.
///
/// # Safety
/// `irp` is a live irpkit IRP the caller owns, its next stack location set up.
#[inline]
pub(crate) unsafe fn issued(k: &KernelShared, irp: *mut Irp) {
    if active() {
        // SAFETY: forwarded contract.
        unsafe { issued_slow(k, irp) }
    }
}

/// # Safety
/// As [`issued`].
#[inline(never)]
unsafe fn issued_slow(k: &KernelShared, irp: *mut Irp) {
    if on(k) {
        // SAFETY: forwarded contract.
        unsafe { track(k, irp, false) };
    }
}

/// IoCallDriver is about to call a dispatch routine for `irp` (its stack location moved
/// already): the request is in a new driver, with no cancel routine. An IRP without an
/// identity — one a driver or test code built, on its first send — gets one.
///
/// # Safety
/// `irp` is a live IRP the caller owns.
#[inline]
pub(crate) unsafe fn dispatched(k: &KernelShared, irp: *mut Irp) {
    if active() {
        // SAFETY: forwarded contract.
        unsafe { dispatched_slow(k, irp) }
    }
}

/// # Safety
/// As [`dispatched`].
#[inline(never)]
unsafe fn dispatched_slow(k: &KernelShared, irp: *mut Irp) {
    point_crossed();
    if !on(k) {
        return;
    }
    // SAFETY: forwarded contract.
    match unsafe { tracked(irp) } {
        // SAFETY: a header of `k`'s pool.
        Some(t) => unsafe {
            transition(k, t, true, |_| SENT);
        },
        // SAFETY: forwarded contract.
        None => unsafe {
            track(k, irp, true);
        },
    }
}

/// The calling thread crossed a scheduling point (an NT routine that has one): a setting
/// window it has open was exposed to the other threads. Called by the NT routines a
/// driver may call inside the window — spin-lock acquire and release, IoSetCancelRoutine,
/// IoCallDriver, IoCompleteRequest, KeSetEvent, the waits, KeDelayExecutionThread,
/// KeInsertQueueDpc, pool allocation.
#[inline]
pub(crate) fn point_crossed() {
    if active() {
        point_crossed_slow()
    }
}

#[inline(never)]
fn point_crossed_slow() {
    if !active() {
        return;
    }
    kernel::try_with_current_here(|k| {
        if on(k) {
            let token = kernel::thread_token();
            if let Some(w) = k.coverage.table().threads.get_mut(&token).and_then(|i| i.window.as_mut()) {
                w.exposed = true;
            }
        }
    });
}

/// The calling thread's spin-lock count changed by `delta` to `held`: an acquire had its
/// scheduling point before, a release that keeps a window open has one after; a release
/// below the window's depth closes it.
#[inline]
pub(crate) fn spin_locks_changed(delta: i32, held: u32) {
    if active() {
        spin_locks_changed_slow(delta, held)
    }
}

#[inline(never)]
fn spin_locks_changed_slow(delta: i32, held: u32) {
    if !active() {
        return;
    }
    kernel::try_with_current_here(|k| {
        if !on(k) {
            return;
        }
        let token = kernel::thread_token();
        let closed = {
            let mut table = k.coverage.table();
            let Some(info) = table.threads.get_mut(&token) else { return };
            match info.window.as_mut() {
                Some(w) if delta < 0 && held < w.depth => info.window.take(),
                Some(w) => {
                    w.exposed = true;
                    None
                }
                None => None,
            }
        };
        if let Some(w) = closed {
            close_window(k, w, true);
        }
    });
}

/// A driver routine's frame (`kernel::in_routine_at`): a setting window opened in the
/// routine closes when it returns; the caller's own window waits meanwhile.
pub(crate) struct RoutineFrame(bool);

impl RoutineFrame {
    /// Enters a routine on the calling thread.
    #[inline]
    pub(crate) fn enter() -> RoutineFrame {
        RoutineFrame(active() && Self::enter_slow())
    }

    #[inline(never)]
    fn enter_slow() -> bool {
        let entered = kernel::try_with_current_here(|k| {
            if !on(k) {
                return false;
            }
            let token = kernel::thread_token();
            let mut table = k.coverage.table();
            let info = table.thread(token);
            let outer = info.window.take();
            info.outer.push(outer);
            true
        });
        entered == Some(true)
    }

    #[inline(never)]
    fn leave_slow() {
        kernel::try_with_current_here(|k| {
            let token = kernel::thread_token();
            let closing = {
                let mut table = k.coverage.table();
                let Some(info) = table.threads.get_mut(&token) else { return };
                let own = info.window.take();
                info.window = info.outer.pop().flatten();
                own
            };
            if let Some(w) = closing {
                close_window(k, w, true);
            }
        });
    }
}

impl Drop for RoutineFrame {
    #[inline]
    fn drop(&mut self) {
        if self.0 {
            Self::leave_slow();
        }
    }
}

/// IoSetCancelRoutine put a routine into `irp` (the exchange is done). Opens the setting
/// window when the setter can be overtaken there: in a driver routine or holding a spin
/// lock, and not holding the cancel spin lock.
///
/// # Safety
/// `irp` points to a live IRP.
#[inline]
pub(crate) unsafe fn routine_set(irp: *mut Irp) {
    if active() {
        // SAFETY: forwarded contract.
        unsafe { routine_set_slow(irp) }
    }
}

/// # Safety
/// As [`routine_set`].
#[inline(never)]
unsafe fn routine_set_slow(irp: *mut Irp) {
    // IoSetCancelRoutine's scheduling point was inside any window the caller has open.
    point_crossed();
    // SAFETY: forwarded contract.
    let Some((k, t)) = (unsafe { tracked_on(irp) }) else { return };
    let depth = kernel::spin_locks_held();
    let in_routine = kernel::current_routine().kind != kernel::RoutineKind::None;
    let opens = !super::spinlock::holds_cancel_lock(k) && (depth > 0 || in_routine);
    let setting = if opens { SETTING } else { 0 };
    // SAFETY: a header of `k`'s pool.
    let changed = unsafe { transition(k, t, false, |f| (f | ROUTINE | setting) & !CLEARED) };
    if opens && changed.is_some() {
        let token = kernel::thread_token();
        let previous = k.coverage.table().thread(token).window.replace(OpenWindow { t, depth, exposed: false });
        if let Some(p) = previous {
            close_window(k, p, true);
        }
    }
}

/// IoSetCancelRoutine(NULL) on `irp`: `had` — it took a routine back (the driver owns the
/// IRP again); otherwise IoCancelIrp had taken it. Closes the caller's setting window on
/// it.
///
/// # Safety
/// `irp` points to a live IRP.
#[inline]
pub(crate) unsafe fn routine_cleared(irp: *mut Irp, had: bool) {
    if active() {
        // SAFETY: forwarded contract.
        unsafe { routine_cleared_slow(irp, had) }
    }
}

/// # Safety
/// As [`routine_cleared`].
#[inline(never)]
unsafe fn routine_cleared_slow(irp: *mut Irp, had: bool) {
    // The re-check's scheduling point was inside the window it closes.
    point_crossed();
    // SAFETY: forwarded contract.
    let Some((k, t)) = (unsafe { tracked_on(irp) }) else { return };
    let token = kernel::thread_token();
    let closing = {
        let mut table = k.coverage.table();
        table
            .threads
            .get_mut(&token)
            .and_then(|i| if i.window.is_some_and(|w| w.t == t) { i.window.take() } else { None })
    };
    if let Some(w) = closing {
        close_window(k, w, false);
    }
    if had {
        // SAFETY: a header of `k`'s pool.
        unsafe { transition(k, t, false, |f| (f & !(ROUTINE | SETTING)) | CLEARED) };
    }
}

/// A setting window closed. `settle`: mark the window the request is left in (false when
/// a transition follows at once, as the clear that closes it).
fn close_window(k: &KernelShared, w: OpenWindow, settle: bool) {
    let deferred = super::spinlock::holds_cancel_lock(k);
    // SAFETY: a header of `k`'s pool.
    let cell = unsafe { &(*w.t.h).cover };
    let mut cur = cell.load(Ordering::Acquire);
    loop {
        if generation_of(cur) != w.t.generation || flags_of(cur) & TRACKED == 0 {
            return;
        }
        let flags = flags_of(cur) & !SETTING;
        let mut entered = entered_of(cur);
        if w.exposed {
            entered |= Window::SettingRoutine.bit();
        }
        if settle && !deferred {
            entered |= entered_bit(flags);
        }
        let new = word(w.t.generation, entered, flags);
        match cell.compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => break,
            Err(now) => cur = now,
        }
    }
    let mut table = k.coverage.table();
    if settle && deferred {
        table.deferred.entry(kernel::thread_token()).or_default().push(w.t);
    }
    if !w.exposed {
        // SAFETY: as above.
        if let Some(row) = unsafe { serial_of(w.t) }.and_then(|serial| table.by_serial.get(&serial).copied()) {
            table.rows[row].setting_unexposed = true;
        }
    }
}

/// A cancel routine is about to be called for `irp` (its caller took it under the cancel
/// spin lock): the cancel owns the IRP.
///
/// # Safety
/// `irp` points to a live IRP.
#[inline]
pub(crate) unsafe fn cancel_routine_called(k: &KernelShared, irp: *mut Irp) {
    if active() {
        // SAFETY: forwarded contract.
        unsafe { cancel_routine_called_slow(k, irp) }
    }
}

/// # Safety
/// As [`cancel_routine_called`].
#[inline(never)]
unsafe fn cancel_routine_called_slow(k: &KernelShared, irp: *mut Irp) {
    if !on(k) {
        return;
    }
    // SAFETY: forwarded contract.
    if let Some(t) = unsafe { tracked(irp) } {
        // SAFETY: a header of `k`'s pool.
        unsafe { transition(k, t, false, |f| (f & !(ROUTINE | SETTING)) | CANCELLING) };
    }
}

/// The calling thread released the cancel spin lock: the states it left IRPs in while
/// holding it are windows now.
#[inline]
pub(crate) fn cancel_lock_released(k: &KernelShared) {
    if active() {
        cancel_lock_released_slow(k)
    }
}

#[inline(never)]
fn cancel_lock_released_slow(k: &KernelShared) {
    if !on(k) {
        return;
    }
    let list = k.coverage.table().deferred.remove(&kernel::thread_token());
    for t in list.into_iter().flatten() {
        // SAFETY: headers of `k`'s pool.
        unsafe { mark(t, entered_bit) };
    }
}

/// A device-queue entry was linked into (`inserted`) or unlinked from its queue, under
/// the queue's lock. Only entries of tracked IRPs count (looked up by address: the entry
/// itself is never read).
#[inline]
pub(crate) fn device_queue_changed(entry: *mut KDeviceQueueEntry, inserted: bool) {
    if active() {
        device_queue_changed_slow(entry, inserted)
    }
}

#[inline(never)]
fn device_queue_changed_slow(entry: *mut KDeviceQueueEntry, inserted: bool) {
    if !active() {
        return;
    }
    kernel::try_with_current_here(|k| {
        if !on(k) {
            return;
        }
        let t = k.coverage.table().entries.get(&(entry as usize)).copied();
        if let Some(t) = t {
            // SAFETY: a header of `k`'s pool.
            unsafe {
                transition(k, t, false, |f| if inserted { f | DEVICE_QUEUE } else { f & !DEVICE_QUEUE });
            }
        }
    });
}

/// How a routine that changes `CurrentIrp` changed the cancel routine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoutineChange {
    /// Left as it was.
    Kept,
    /// Set (IoStartPacket's cancel function).
    Set,
    /// Cleared (NonCancelable StartIo), possibly right after being set.
    Cleared,
}

fn apply_routine(f: u16, change: RoutineChange) -> u16 {
    match change {
        RoutineChange::Kept => f,
        RoutineChange::Set => (f | ROUTINE) & !CLEARED,
        RoutineChange::Cleared if f & ROUTINE != 0 => (f & !ROUTINE) | CLEARED,
        RoutineChange::Cleared => f,
    }
}

/// IoStartPacket queued `irp` in the device queue (the insertion is recorded already) and
/// changed its routine as `change` says.
///
/// # Safety
/// `irp` points to a live IRP.
#[inline]
pub(crate) unsafe fn start_packet_queued(k: &KernelShared, irp: *mut Irp, change: RoutineChange) {
    if active() {
        // SAFETY: forwarded contract.
        unsafe { start_packet_queued_slow(k, irp, change) }
    }
}

/// # Safety
/// As [`start_packet_queued`].
#[inline(never)]
unsafe fn start_packet_queued_slow(k: &KernelShared, irp: *mut Irp, change: RoutineChange) {
    if !on(k) || change == RoutineChange::Kept {
        return;
    }
    // SAFETY: forwarded contract.
    if let Some(t) = unsafe { tracked(irp) } {
        // SAFETY: a header of `k`'s pool.
        unsafe { transition(k, t, false, |f| apply_routine(f, change)) };
    }
}

/// `irp` became `device`'s CurrentIrp (IoStartPacket on an idle device, IoStartNextPacket);
/// the previous CurrentIrp, if it is another, no longer is.
///
/// # Safety
/// `irp` points to a live IRP.
#[inline]
pub(crate) unsafe fn became_current(k: &KernelShared, device: *mut DeviceObject, irp: *mut Irp, change: RoutineChange) {
    if active() {
        // SAFETY: forwarded contract.
        unsafe { became_current_slow(k, device, irp, change) }
    }
}

/// # Safety
/// As [`became_current`].
#[inline(never)]
unsafe fn became_current_slow(k: &KernelShared, device: *mut DeviceObject, irp: *mut Irp, change: RoutineChange) {
    if !on(k) {
        return;
    }
    // SAFETY: forwarded contract.
    let new = unsafe { tracked(irp) };
    let previous = {
        let mut table = k.coverage.table();
        match new {
            Some(t) => table.current.insert(device as usize, t),
            None => table.current.remove(&(device as usize)),
        }
    };
    if let Some(p) = previous.filter(|&p| Some(p) != new) {
        // SAFETY: a header of `k`'s pool.
        unsafe { transition(k, p, false, |f| f & !CURRENT) };
    }
    if let Some(t) = new {
        // SAFETY: as above.
        unsafe { transition(k, t, false, |f| apply_routine(f, change) | CURRENT) };
    }
}

/// `device`'s CurrentIrp was set to NULL (IoStartNextPacket).
#[inline]
pub(crate) fn current_cleared(k: &KernelShared, device: *mut DeviceObject) {
    if active() {
        current_cleared_slow(k, device)
    }
}

#[inline(never)]
fn current_cleared_slow(k: &KernelShared, device: *mut DeviceObject) {
    if !on(k) {
        return;
    }
    let previous = k.coverage.table().current.remove(&(device as usize));
    if let Some(p) = previous {
        // SAFETY: a header of `k`'s pool.
        unsafe { transition(k, p, false, |f| f & !CURRENT) };
    }
}

/// IoCsqInsertIrp accepted `irp` (`inside`), or it left its cancel-safe queue (removed,
/// refused or cancelled).
///
/// # Safety
/// `irp` points to a live IRP.
#[inline]
pub(crate) unsafe fn csq_changed(irp: *mut Irp, inside: bool) {
    if active() {
        // SAFETY: forwarded contract.
        unsafe { csq_changed_slow(irp, inside) }
    }
}

/// # Safety
/// As [`csq_changed`].
#[inline(never)]
unsafe fn csq_changed_slow(irp: *mut Irp, inside: bool) {
    // SAFETY: forwarded contract.
    if let Some((k, t)) = unsafe { tracked_on(irp) } {
        // SAFETY: a header of `k`'s pool.
        unsafe { transition(k, t, false, |f| if inside { f | CSQ } else { f & !CSQ }) };
    }
}

/// IoCompleteRequest starts on `irp`. Returns the request, for [`completion_stopped`]
/// (after the walk the IRP itself may be gone).
///
/// # Safety
/// `irp` is a live IRP the caller owns.
#[inline]
pub(crate) unsafe fn completion_started(k: &KernelShared, irp: *mut Irp) -> Option<Tracked> {
    if !active() {
        return None;
    }
    // SAFETY: forwarded contract.
    unsafe { completion_started_slow(k, irp) }
}

/// # Safety
/// As [`completion_started`].
#[inline(never)]
unsafe fn completion_started_slow(k: &KernelShared, irp: *mut Irp) -> Option<Tracked> {
    point_crossed();
    if !on(k) {
        return None;
    }
    // SAFETY: forwarded contract.
    let t = unsafe { tracked(irp) }?;
    // SAFETY: a header of `k`'s pool.
    unsafe { transition(k, t, false, |f| f | COMPLETING) };
    Some(t)
}

/// A completion routine stopped the walk of request `t` (STATUS_MORE_PROCESSING_REQUIRED):
/// `by_creator` — the creator's own routine, so the request is over; otherwise the IRP is
/// back with the driver whose routine stopped it.
pub(crate) fn completion_stopped(k: &KernelShared, t: Option<Tracked>, by_creator: bool) {
    if let Some(t) = t.filter(|_| on(k)) {
        // SAFETY: a header of `k`'s pool.
        unsafe { transition(k, t, false, |f| if by_creator { f | DONE } else { SENT }) };
    }
}

/// The request in header `h` is over: its IRP is freed (IoFreeIrp) or reused
/// (IoReuseIrp, before its new serial number). Its windows go to its row.
///
/// # Safety
/// `h` is a valid header of `k`'s pool.
#[inline]
pub(crate) unsafe fn request_over(k: &KernelShared, h: *mut IrpHeader) {
    if active() {
        // SAFETY: forwarded contract.
        unsafe { request_over_slow(k, h) }
    }
}

/// # Safety
/// As [`request_over`].
#[inline(never)]
unsafe fn request_over_slow(k: &KernelShared, h: *mut IrpHeader) {
    if !on(k) {
        return;
    }
    // SAFETY: forwarded contract.
    let serial = unsafe { (*h).id.load(Ordering::Relaxed) };
    let t = Tracked { h, generation: serial as u32 };
    // Already done when its walk ended at its creator, which now frees it.
    // SAFETY: as above.
    unsafe { transition(k, t, false, |f| f | DONE) };
    // SAFETY: as above.
    let w = unsafe { (*h).cover.load(Ordering::Acquire) };
    if generation_of(w) != t.generation || flags_of(w) & TRACKED == 0 {
        return;
    }
    let mut table = k.coverage.table();
    if let Some(row) = table.by_serial.get(&serial).copied() {
        table.rows[row].entered |= entered_of(w);
    }
    table.entries.retain(|_, e| *e != t);
}

/// The counts so far: one row per request, and the cancels of IRPs without an identity.
/// The windows of requests still allocated (leaked, or stopped mid-way) are included.
pub(crate) fn snapshot(k: &KernelShared) -> (Vec<Row>, u64) {
    let allocated = k.pool.allocated();
    let mut table = k.coverage.table();
    for irp in allocated {
        // SAFETY: allocated IRPs of `k`'s pool.
        let Some(t) = (unsafe { tracked(irp) }) else { continue };
        // SAFETY: as above.
        let (serial, w) = unsafe { (serial_of(t), (*t.h).cover.load(Ordering::Acquire)) };
        if let Some(row) = serial.and_then(|s| table.by_serial.get(&s).copied()) {
            if generation_of(w) == t.generation {
                table.rows[row].entered |= entered_of(w);
            }
        }
    }
    (table.rows.clone(), table.untracked)
}

/// Turns coverage recording on or off for `k`.
pub(crate) fn set_on(k: &KernelShared, on: bool) {
    k.coverage.set_on(on);
}
