//! Cancelling every running command at once, for an interrupt (SIGINT, SIGTERM in vm-mgr).
//!
//! A [`Cancel`] is a one-way switch. Once it is [`cancel`](Cancel::cancel)led, the commands
//! that use it ([`GLOBAL`] unless [`Cmd::cancel_by`](super::Cmd::cancel_by) names another)
//! stop: one already running has its whole process group ended (SIGTERM, then SIGKILL after
//! its kill grace) within a tick of the I/O loop, and one not yet started is not started;
//! both fail with [`CmdError::Interrupted`](super::CmdError::Interrupted).
//!
//! The undo that follows (removing what a half-done operation made) still needs commands:
//! while a [`Cleanup`] scope is open ([`Cancel::cleanup`]), commands start and run as if
//! nothing had been cancelled. A command is judged when it starts and at every tick, so one
//! started inside the scope is not killed either.
//!
//! [`Cancel::kill_all`] ends the process group of every command still running, for a process
//! about to exit at once (a second interrupt).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::child::signal_group;

/// The switch every [`Cmd`](super::Cmd) obeys unless given another one.
pub static GLOBAL: Cancel = Cancel::new();

/// A cancel switch and the process groups of the commands running under it.
#[derive(Debug)]
pub struct Cancel {
    cancelled: AtomicBool,
    cleanups: AtomicUsize,
    groups: Mutex<Vec<i32>>,
}

impl Default for Cancel {
    fn default() -> Cancel {
        Cancel::new()
    }
}

impl Cancel {
    /// A switch not cancelled.
    pub const fn new() -> Cancel {
        Cancel {
            cancelled: AtomicBool::new(false),
            cleanups: AtomicUsize::new(0),
            groups: Mutex::new(Vec::new()),
        }
    }

    /// Cancels: running commands are ended, new ones refused (outside a [`Cleanup`] scope).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Self::cancel) was called (ever).
    pub fn was_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Whether work must stop now: cancelled, and no [`Cleanup`] scope is open.
    pub fn stops_work(&self) -> bool {
        self.was_cancelled() && self.cleanups.load(Ordering::SeqCst) == 0
    }

    /// Opens a cleanup scope: until the guard is dropped, commands run although cancelled.
    pub fn cleanup(&self) -> Cleanup<'_> {
        self.cleanups.fetch_add(1, Ordering::SeqCst);
        Cleanup { cancel: self }
    }

    /// Ends (SIGKILL) the process group of every command running under this switch.
    pub fn kill_all(&self) {
        for g in self.lock().iter() {
            signal_group(Pid::from_raw(*g), Signal::SIGKILL);
        }
    }

    /// Records a running command's process group (until [`forget`](Self::forget)).
    pub(super) fn track(&self, pgid: Pid) {
        self.lock().push(pgid.as_raw());
    }

    /// Forgets a process group; called before its leader is reaped, so that
    /// [`kill_all`](Self::kill_all) never signals a group id that may have been reused.
    pub(super) fn forget(&self, pgid: Pid) {
        self.lock().retain(|g| *g != pgid.as_raw());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<i32>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An open cleanup scope ([`Cancel::cleanup`]); closes when dropped.
#[derive(Debug)]
#[must_use = "the scope closes when this guard is dropped"]
pub struct Cleanup<'a> {
    cancel: &'a Cancel,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        self.cancel.cleanups.fetch_sub(1, Ordering::SeqCst);
    }
}
