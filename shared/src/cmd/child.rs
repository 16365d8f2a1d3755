//! The child process plumbing behind [`Cmd::output`](super::Cmd::output): the deadline phases,
//! the guard that never leaves a child unreaped, and the pipe pump.

use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, ExitStatus};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::cancel::Cancel;
use super::TICK;

/// Where the deadline state machine is.
#[derive(Clone, Copy)]
pub(super) enum Phase {
    Running,
    Terminating { kill_at: Instant },
    Killed { at: Instant },
}

/// Owns the child until it is reaped; on drop (early return, panic) kills its group and reaps.
/// Its group is known to the [`Cancel`] switch meanwhile ([`Cancel::kill_all`]).
pub(super) struct ChildGuard {
    child: Option<Child>,
    pub(super) pgid: Pid,
    cancel: &'static Cancel,
}

impl ChildGuard {
    pub(super) fn new(child: Child, cancel: &'static Cancel) -> ChildGuard {
        // Linux pids are at most 2^22, so this cast cannot wrap.
        let pgid = Pid::from_raw(child.id() as i32);
        cancel.track(pgid);
        ChildGuard {
            child: Some(child),
            pgid,
            cancel,
        }
    }

    pub(super) fn child_mut(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    pub(super) fn reap(&mut self) -> io::Result<ExitStatus> {
        match self.child.take() {
            Some(mut c) => {
                self.cancel.forget(self.pgid);
                c.wait()
            }
            None => Err(io::Error::other("child already reaped")),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        signal_group(self.pgid, Signal::SIGKILL);
        self.cancel.forget(self.pgid);
        let _ = child.kill();
        let until = Instant::now() + Duration::from_millis(100);
        while Instant::now() < until {
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = std::thread::Builder::new()
            .name("cmd-reaper".into())
            .spawn(move || child.wait());
    }
}

/// The parent's ends of the pipes and what has been read from them.
pub(super) struct Pump {
    pub(super) stdin: Option<ChildStdin>,
    input: Vec<u8>,
    written: usize,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    pub(super) out: Vec<u8>,
    pub(super) err: Vec<u8>,
    idle: Duration,
}

impl Pump {
    pub(super) fn new(child: Option<&mut Child>, input: Option<Vec<u8>>) -> io::Result<Pump> {
        let child = child.ok_or_else(|| io::Error::other("no child"))?;
        let input = input.unwrap_or_default();
        let stdin = child.stdin.take().filter(|_| !input.is_empty());
        let pump = Pump {
            stdin,
            input,
            written: 0,
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
            out: Vec::new(),
            err: Vec::new(),
            idle: Duration::from_millis(1),
        };
        let fds = [
            pump.stdin.as_ref().map(|p| p.as_fd()),
            pump.stdout.as_ref().map(|p| p.as_fd()),
            pump.stderr.as_ref().map(|p| p.as_fd()),
        ];
        for fd in fds.into_iter().flatten() {
            fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        }
        Ok(pump)
    }

    pub(super) fn output_open(&self) -> bool {
        self.stdout.is_some() || self.stderr.is_some()
    }

    /// Waits up to `wait` for pipe activity and services it.
    pub(super) fn step(&mut self, wait: Duration) -> io::Result<()> {
        let mut fds = Vec::with_capacity(3);
        let mut slots = Vec::with_capacity(3);
        if let Some(p) = &self.stdin {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLOUT));
            slots.push(0);
        }
        if let Some(p) = &self.stdout {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
            slots.push(1);
        }
        if let Some(p) = &self.stderr {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
            slots.push(2);
        }
        if fds.is_empty() {
            // Nothing to watch: poll for the child's exit with a growing interval.
            std::thread::sleep(wait.min(self.idle));
            self.idle = (self.idle * 2).min(TICK);
            return Ok(());
        }
        let ms = u16::try_from(wait.as_micros().div_ceil(1000)).unwrap_or(u16::MAX);
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) | Err(Errno::EINTR) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(e.into()),
        }
        let ready: Vec<usize> = fds
            .iter()
            .zip(slots)
            .filter(|(fd, _)| fd.revents().is_some_and(|r| !r.is_empty()))
            .map(|(_, slot)| slot)
            .collect();
        drop(fds);
        for slot in ready {
            match slot {
                0 => self.feed(),
                1 => drain(&mut self.stdout, &mut self.out)?,
                _ => drain(&mut self.stderr, &mut self.err)?,
            }
        }
        Ok(())
    }

    /// Writes what the pipe takes; closes stdin when done or when the child stopped reading.
    fn feed(&mut self) {
        let Some(pipe) = self.stdin.as_mut() else {
            return;
        };
        match pipe.write(&self.input[self.written..]) {
            Ok(n) => self.written += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => self.written = self.input.len(), // EPIPE: the child closed its stdin
        }
        if self.written >= self.input.len() {
            self.stdin = None;
        }
    }
}

/// One non-blocking read from `pipe` into `buf`; closes the pipe at end of file.
fn drain<R: Read>(pipe: &mut Option<R>, buf: &mut Vec<u8>) -> io::Result<()> {
    let Some(p) = pipe.as_mut() else {
        return Ok(());
    };
    let mut chunk = [0u8; 64 * 1024];
    match p.read(&mut chunk) {
        Ok(0) => *pipe = None,
        Ok(n) => buf.extend_from_slice(&chunk[..n]),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

/// Whether the child has exited, without reaping it (`waitid` with `WNOWAIT`).
pub(super) fn has_exited(pid: Pid) -> bool {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    match waitid(Id::Pid(pid), flags) {
        Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => false,
        Ok(_) | Err(_) => true,
    }
}

pub(super) fn signal_group(pgid: Pid, sig: Signal) {
    // ESRCH (group already gone) is fine.
    let _ = killpg(pgid, sig);
}
