//! Ctrl-C (SIGINT) and SIGTERM during any verb: vm-mgr stops as it would on a failure, undoes
//! what it had half made, removes its temporary files and exits 130.
//!
//! Without `unsafe` (forbidden in this workspace) there is no signal handler; instead both
//! signals are blocked in the main thread before any other starts (so in every thread; children
//! get a clean mask) and a dedicated thread waits for them with `sigwait`. The first one throws
//! the cancel switch of `shared::cmd` ([`shared::cmd::cancel::GLOBAL`]): every running command
//! has its process group ended, no new one starts, and every wait loop ends within a tenth of
//! a second ([`interrupted`], [`sleep`]). The verb's error path then runs: its undo opens a
//! [`cleanup`] scope so that its own commands still run. Drops run (nothing calls
//! `process::exit` on this path), so temporary files go too. A second signal ends every
//! running command's group, removes the temporary directories and exits 130 at once.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};
use shared::cmd::cancel::{Cleanup, GLOBAL};

static INSTALLED: OnceLock<bool> = OnceLock::new();

/// How often an interruptible sleep looks at the switch.
const SLICE: Duration = Duration::from_millis(100);

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
                    if GLOBAL.was_cancelled() {
                        GLOBAL.kill_all();
                        shared::tempdir::remove_all();
                        std::process::exit(130);
                    }
                    GLOBAL.cancel();
                    eprintln!(
                        "vm-mgr: interrupted; stopping and undoing what was half done \
                         (interrupt again to quit at once)"
                    );
                }
            })
            .is_ok()
    })
}

/// Whether work must stop: SIGINT or SIGTERM arrived, and no [`cleanup`] scope is open.
pub fn interrupted() -> bool {
    GLOBAL.stops_work()
}

/// Whether SIGINT or SIGTERM arrived during this run (cleanup or not).
pub fn was_interrupted() -> bool {
    GLOBAL.was_cancelled()
}

/// Opens a cleanup scope: until the guard is dropped, commands run and waits go on even after
/// an interrupt (undoing what a failed or interrupted verb made).
pub fn cleanup() -> Cleanup<'static> {
    GLOBAL.cleanup()
}

/// Sleeps `d` in short slices, returning early (true) on an interrupt ([`interrupted`]).
pub fn sleep(d: Duration) -> bool {
    let end = Instant::now() + d;
    loop {
        if interrupted() {
            return true;
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(SLICE.min(left));
    }
}
