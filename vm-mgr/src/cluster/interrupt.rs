//! Ctrl-C (SIGINT) and SIGTERM while a move is under way: they must not kill vm-mgr before it
//! removes its move constraint. Without `unsafe` (forbidden in this workspace) there is no
//! handler; instead both signals are blocked in this thread (and so in every thread and child
//! started afterwards) and a dedicated thread waits for them with `sigwait` and raises a flag
//! that the waiting loops check. A second signal after the first exits at once (status 130),
//! leaving the constraint to its own expiry.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use nix::sys::signal::{SigSet, Signal};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Starts catching SIGINT and SIGTERM (idempotent). Call it before starting other threads.
/// Returns whether catching works.
pub fn install() -> bool {
    *INSTALLED.get_or_init(|| {
        let mut set = SigSet::empty();
        set.add(Signal::SIGINT);
        set.add(Signal::SIGTERM);
        if set.thread_block().is_err() {
            return false;
        }
        std::thread::Builder::new()
            .name("vmmgr-signals".into())
            .spawn(move || loop {
                if set.wait().is_ok() {
                    if INTERRUPTED.swap(true, Ordering::SeqCst) {
                        std::process::exit(130);
                    }
                    eprintln!(
                        "vm-mgr: interrupted; removing the move constraint (interrupt again to \
                         quit at once)"
                    );
                }
            })
            .is_ok()
    })
}

/// Whether SIGINT or SIGTERM arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Sleeps `d` in short slices, returning early (true) on an interrupt.
pub fn sleep(d: std::time::Duration) -> bool {
    let end = std::time::Instant::now() + d;
    while std::time::Instant::now() < end {
        if interrupted() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100).min(d));
    }
    interrupted()
}
