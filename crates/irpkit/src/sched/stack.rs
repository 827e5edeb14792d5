//! The controlled threads' stacks: mapped with a guard page below them, kept for reuse,
//! and watched for overflow.
//!
//! A thread that runs past the end of its stack touches its guard page. Without help
//! that is a bare `SIGSEGV`; here a signal handler (installed with the first stack, on
//! the signal stack the Rust runtime gives each thread) looks the faulting address up
//! among the guard pages of live stacks and, if it is one, writes what happened and how
//! to fix it before the process ends. Faults anywhere else go to the handler that was
//! installed before (the Rust runtime's own stack-overflow report, or the default
//! action).
//!
//! Invariants: a guard page is listed in `GUARDS` exactly while its stack is mapped
//! (listed on creation, removed before unmapping); the handler only reads atomics and
//! calls async-signal-safe functions.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use corosensei::stack::{DefaultStack, Stack, StackPointer};

/// Guard pages of live stacks, as `[start, end)` pairs (0: a free slot).
static GUARDS: [(AtomicUsize, AtomicUsize); 1024] = [const { (AtomicUsize::new(0), AtomicUsize::new(0)) }; 1024];

/// The stack size of the stacks listed (all of one process share it in the report).
static SIZE: AtomicUsize = AtomicUsize::new(0);

/// The handler that was installed before ours (a `libc::sigaction`, stored as bytes).
static mut PREVIOUS: [core::mem::MaybeUninit<libc::sigaction>; 2] =
    [core::mem::MaybeUninit::uninit(), core::mem::MaybeUninit::uninit()];

static INSTALL: Once = Once::new();

/// A coroutine stack whose guard page is watched while it is mapped.
pub(crate) struct GuardedStack {
    inner: DefaultStack,
    slot: Option<usize>,
}

impl GuardedStack {
    /// Maps a stack of at least `size` bytes with a guard page below it.
    pub(crate) fn new(size: usize) -> std::io::Result<GuardedStack> {
        INSTALL.call_once(install_handler);
        let inner = DefaultStack::new(size)?;
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let start = inner.limit().get();
        SIZE.store(size, Ordering::Relaxed);
        let slot = GUARDS.iter().position(|(s, e)| {
            if s.compare_exchange(0, start, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                e.store(start + page, Ordering::Release);
                true
            } else {
                false
            }
        });
        Ok(GuardedStack { inner, slot })
    }
}

impl Drop for GuardedStack {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            GUARDS[i].1.store(0, Ordering::Release);
            GUARDS[i].0.store(0, Ordering::Release);
        }
    }
}

// SAFETY: both bounds are the inner stack's, which satisfies the trait's contract (they
// are aligned, and the memory between them stays mapped while the value lives).
unsafe impl Stack for GuardedStack {
    fn base(&self) -> StackPointer {
        self.inner.base()
    }

    fn limit(&self) -> StackPointer {
        self.inner.limit()
    }
}

fn install_handler() {
    for (i, sig) in [libc::SIGSEGV, libc::SIGBUS].into_iter().enumerate() {
        // SAFETY: `sigaction` is plain data: all zero is a valid value, filled in below.
        let mut action: libc::sigaction = unsafe { core::mem::zeroed() };
        action.sa_sigaction = on_fault as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        // SAFETY: the previous action is written to a static that only this function
        // (run once) writes and the handler reads after installation; `action` is a
        // valid handler description.
        unsafe {
            libc::sigemptyset(&mut action.sa_mask);
            let previous = core::ptr::addr_of_mut!(PREVIOUS[i]).cast::<libc::sigaction>();
            libc::sigaction(sig, &action, previous);
        }
    }
}

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for a SA_SIGINFO handler.
    let address = unsafe { (*info).si_addr() } as usize;
    let ours = GUARDS.iter().any(|(s, e)| {
        let start = s.load(Ordering::Acquire);
        start != 0 && address >= start && address < e.load(Ordering::Acquire)
    });
    if ours {
        let mut msg = [0u8; 400];
        let text = overflow_message(&mut msg);
        // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is valid.
        unsafe {
            libc::write(2, text.as_ptr().cast(), text.len());
            libc::_exit(134);
        }
    }
    let i = usize::from(sig == libc::SIGBUS);
    // SAFETY: installed before any stack existed, so before this handler could run.
    let previous = unsafe { &*core::ptr::addr_of!(PREVIOUS[i]).cast::<libc::sigaction>() };
    if previous.sa_flags & libc::SA_SIGINFO != 0 && previous.sa_sigaction > 1 {
        // SAFETY: the previous handler was installed for this signal with SA_SIGINFO, so
        // it takes these three arguments.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { core::mem::transmute(previous.sa_sigaction) };
        f(sig, info, context);
    } else if previous.sa_sigaction > 1 {
        // SAFETY: a plain handler for this signal takes the signal number.
        let f: extern "C" fn(libc::c_int) = unsafe { core::mem::transmute(previous.sa_sigaction) };
        f(sig);
    } else {
        // The default action: restore it; returning re-runs the faulting instruction.
        // SAFETY: resetting a signal's action is async-signal-safe.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}

/// Formats the overflow report into `buf` without allocating.
fn overflow_message(buf: &mut [u8; 400]) -> &[u8] {
    let mut n = 0;
    let mut put = |s: &[u8]| {
        let k = s.len().min(buf.len() - n);
        buf[n..n + k].copy_from_slice(&s[..k]);
        n += k;
    };
    put(b"\nirpkit explorer: a controlled thread overflowed its stack of ");
    let mut digits = [0u8; 20];
    let mut v = SIZE.load(Ordering::Relaxed) / 1024;
    let mut d = digits.len();
    loop {
        d -= 1;
        digits[d] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    put(&digits[d..]);
    put(b" KiB (deep recursion, or large local arrays in a driver routine); give the \
          threads more with `--stack-kib` (irpkit explore) or `Limits::stack_size`\n");
    &buf[..n]
}
