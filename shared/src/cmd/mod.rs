//! Running external programs: the one way vm-mgr does it.
//!
//! Every call to `virsh`, `rbd`, `crm_resource`, `drbdadm`, ... goes through [`Cmd`], which
//! enforces these rules:
//!
//! - **argv only.** The program is executed directly, never through a shell, so arguments are
//!   never re-parsed. [`Cmd::cmdline`] produces a shell-quoted form for messages only.
//! - **Program lookup up front.** A bare name is resolved with the `which` crate against the
//!   `PATH` the child will see (one set with `.env("PATH", ..)` wins); only absolute `PATH`
//!   entries are searched, so nothing is ever picked up from the current directory. A relative
//!   path such as `./tool` is refused; an absolute path is used as is. A program that cannot be
//!   found is [`CmdError::NotInstalled`], which OCF agents report as `OCF_ERR_INSTALLED` (5).
//! - **stdin is closed** (`/dev/null`) unless bytes are given with [`Cmd::stdin_bytes`]; those
//!   are written while the output is read, then the pipe is closed.
//! - **Output is captured without deadlock**: stdout, stderr (and stdin) are serviced together
//!   by one `poll(2)` loop on non-blocking pipes.
//! - **Every run has a deadline** ([`Cmd::deadline`] / [`Cmd::timeout`], default
//!   [`DEFAULT_TIMEOUT`]). The child is started in its own process group; at the deadline the
//!   whole group gets SIGTERM, then after the kill grace ([`DEFAULT_KILL_GRACE`], at most
//!   [`MAX_KILL_GRACE`]) SIGKILL, so grandchildren (a script's `sleep`) die too. A deadline that
//!   has already passed fails with [`CmdError::DeadlinePassed`] without starting anything.
//! - **Interrupts end everything.** Once the [`cancel`] switch a command obeys is thrown (vm-mgr
//!   does it on SIGINT or SIGTERM), a running command's group is ended as at its deadline and
//!   a new command is not started; both are [`CmdError::Interrupted`]. Inside a
//!   [`cancel::Cleanup`] scope commands still run, so that what was half made can be undone.
//! - **No zombies, no hangs.** The child is always reaped; the group is SIGKILLed while the
//!   leader is still an unreaped zombie, so its id cannot have been reused. Once the child has
//!   exited, output still held open by an escaped grandchild is awaited for at most
//!   half a second. If the run is abandoned early (an I/O error, a panic), a guard kills the
//!   group and reaps the child; a child that does not die even from SIGKILL (stuck in the
//!   kernel) is left to a background thread to reap, rather than blocking the caller.
//! - **One exception: interactive programs** ([`Cmd::run_interactive`], for an editor or a
//!   serial console) get the caller's terminal and no deadline; argv only all the same.
//! - **Errors are one log line**: each [`CmdError`] names the command line, the exit status and
//!   the last ~1 KiB of stderr.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::record;

use cancel::Cancel;
use child::{has_exited, signal_group, ChildGuard, Phase, Pump};
#[cfg(test)]
use output::stderr_suffix;
use output::{describe_status, tail_text};
use quote::{lossy, quote};

pub use awaiting::AwaitingStdin;
pub use output::{CmdError, Output};

/// Time limit of a [`Cmd`] given neither a deadline nor a timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Time between SIGTERM and SIGKILL when the deadline expires.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);
/// Upper bound for [`Cmd::kill_grace`].
pub const MAX_KILL_GRACE: Duration = Duration::from_secs(10);
/// How much of the end of stderr an error keeps.
pub const STDERR_TAIL_BYTES: usize = 1024;
/// How long to keep reading output after the child exited (a grandchild may hold the pipes).
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(500);
/// How long to wait for the child to die after SIGKILL before leaving it to a reaper thread.
const REAP_AFTER_KILL: Duration = Duration::from_secs(1);
/// How often, and who, looks at the output of a running command ([`Cmd::run_observed`]).
type Observer<'a> = (Duration, &'a mut dyn FnMut(&[u8]));

/// Longest single wait in the I/O loop, so that child exit is noticed promptly.
const TICK: Duration = Duration::from_millis(50);
/// Search path used when neither the command nor our process has a `PATH`.
const FALLBACK_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Arguments longer than this (in chars) are shortened in [`Cmd::cmdline`].
const MAX_ARG_DISPLAY: usize = 200;

/// Builder for one external command. Cheap to clone; can be run several times.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    stdin: Option<Vec<u8>>,
    deadline: Option<Instant>,
    timeout: Option<Duration>,
    kill_grace: Duration,
    cancel: &'static Cancel,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            deadline: None,
            timeout: None,
            kill_grace: DEFAULT_KILL_GRACE,
            cancel: &cancel::GLOBAL,
        }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Cmd {
        self.args.push(a.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, it: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(it.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets a variable in the child's environment (which otherwise is inherited).
    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Cmd {
        self.env
            .push((k.as_ref().to_owned(), Some(v.as_ref().to_owned())));
        self
    }

    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Cmd {
        self.env.push((k.as_ref().to_owned(), None));
        self
    }

    /// Feeds `data` to the child's stdin, then closes it.
    pub fn stdin_bytes(mut self, data: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(data.into());
        self
    }

    /// Absolute deadline. With [`Cmd::timeout`] too, the earlier of the two applies.
    pub fn deadline(mut self, at: Instant) -> Cmd {
        self.deadline = Some(at);
        self
    }

    /// Time limit counted from the start of each run.
    pub fn timeout(mut self, d: Duration) -> Cmd {
        self.timeout = Some(d);
        self
    }

    /// SIGTERM-to-SIGKILL delay at the deadline; capped at [`MAX_KILL_GRACE`].
    pub fn kill_grace(mut self, d: Duration) -> Cmd {
        self.kill_grace = d.min(MAX_KILL_GRACE);
        self
    }

    /// The cancel switch this command obeys (by default [`cancel::GLOBAL`]).
    pub fn cancel_by(mut self, c: &'static Cancel) -> Cmd {
        self.cancel = c;
        self
    }

    /// Shell-quoted command line, for messages only (very long arguments are shortened).
    pub fn cmdline(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the command; a non-zero exit is [`CmdError::Failed`].
    pub fn run(&self) -> Result<Output, CmdError> {
        self.succeeded(self.output()?)
    }

    /// `out` if the command succeeded, else [`CmdError::Failed`].
    fn succeeded(&self, out: Output) -> Result<Output, CmdError> {
        if out.status.success() {
            return Ok(out);
        }
        Err(CmdError::Failed {
            cmdline: self.cmdline(),
            status: describe_status(out.status),
            code: out.code(),
            stderr: out.stderr_tail(),
        })
    }

    /// [`Cmd::run`], returning stdout as UTF-8 (invalid sequences replaced).
    pub fn run_string(&self) -> Result<String, CmdError> {
        self.run().map(|o| o.stdout_str())
    }

    /// Like [`Cmd::run`], calling `observe` with all the command has written to stdout so
    /// far each time more arrives, and at least every `every` (for progress displays: the
    /// output still ends up in the returned [`Output`]).
    pub fn run_observed(
        &self,
        every: Duration,
        observe: &mut dyn FnMut(&[u8]),
    ) -> Result<Output, CmdError> {
        self.succeeded(self.output_observed(Some((every, observe)))?)
    }

    /// Runs the command and returns its output whatever the exit status.
    pub fn output(&self) -> Result<Output, CmdError> {
        self.output_observed(None)
    }

    /// Starts the command with its stdin open, to be given later with
    /// [`AwaitingStdin::finish`]: the program loads while the caller still works out its
    /// input. Dropping the result instead kills the command (its group) and reaps it. The
    /// deadline counts from now.
    pub fn start_awaiting_stdin(&self) -> Result<AwaitingStdin, CmdError> {
        let (guard, start, deadline) = self.spawn(true)?;
        Ok(AwaitingStdin {
            cmd: self.clone(),
            guard,
            start,
            deadline,
        })
    }

    fn output_observed(&self, observer: Option<Observer<'_>>) -> Result<Output, CmdError> {
        let result = self
            .spawn(self.stdin.is_some())
            .and_then(|(guard, start, deadline)| {
                self.drive(guard, self.stdin.clone(), start, deadline, observer)
            });
        self.record(&result);
        result
    }

    /// Tells the [`record`](crate::record) hook how a run ended.
    fn record(&self, result: &Result<Output, CmdError>) {
        if !record::active() {
            return;
        }
        let cmdline = self.cmdline();
        let (elapsed, outcome, stderr) = match result {
            Ok(out) => (out.elapsed, describe_status(out.status), out.stderr_tail()),
            Err(CmdError::TimedOut { after, stderr, .. }) => (
                *after,
                format!(
                    "timed out after {:.1} s and was killed",
                    after.as_secs_f64()
                ),
                stderr.clone(),
            ),
            Err(e) => (Duration::ZERO, e.to_string(), String::new()),
        };
        record::record(&record::Event {
            kind: record::Kind::Command,
            what: &cmdline,
            elapsed,
            outcome: &outcome,
            stderr_tail: &stderr,
        });
    }

    /// Spawns the command in its own process group; returns it with its start and deadline.
    fn spawn(&self, stdin_piped: bool) -> Result<(ChildGuard, Instant, Instant), CmdError> {
        let start = Instant::now();
        let by_timeout = start + self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let deadline = match self.deadline {
            Some(d) if self.timeout.is_some() => d.min(by_timeout),
            Some(d) => d,
            None => by_timeout,
        };
        if deadline <= start {
            return Err(CmdError::DeadlinePassed {
                cmdline: self.cmdline(),
            });
        }
        if self.cancel.stops_work() {
            return Err(CmdError::Interrupted {
                cmdline: self.cmdline(),
                started: false,
            });
        }
        let mut command = self.command()?;
        command
            .stdin(if stdin_piped {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let child = command.spawn().map_err(|source| self.spawn_error(source))?;
        Ok((ChildGuard::new(child, self.cancel), start, deadline))
    }

    /// The program resolved, with its argv and environment (stdio and group left to callers).
    fn command(&self) -> Result<Command, CmdError> {
        let mut command = Command::new(self.resolve()?);
        command.arg0(&self.program).args(&self.args);
        for (k, v) in &self.env {
            match v {
                Some(v) => command.env(k, v),
                None => command.env_remove(k),
            };
        }
        Ok(command)
    }

    /// The error of a spawn that failed with `source`.
    fn spawn_error(&self, source: io::Error) -> CmdError {
        match source.kind() {
            io::ErrorKind::NotFound => CmdError::NotInstalled {
                program: lossy(&self.program),
            },
            _ => CmdError::Spawn {
                cmdline: self.cmdline(),
                source,
            },
        }
    }

    /// Feeds `input` (if any) to the spawned command and services it until it exits, or its
    /// deadline passes or its cancel switch is thrown (then TERM, grace, KILL).
    fn drive(
        &self,
        mut guard: ChildGuard,
        input: Option<Vec<u8>>,
        start: Instant,
        deadline: Instant,
        mut observer: Option<Observer<'_>>,
    ) -> Result<Output, CmdError> {
        let io_err = |source| CmdError::Io {
            cmdline: self.cmdline(),
            source,
        };
        let mut pump = Pump::new(guard.child_mut(), input).map_err(io_err)?;
        let pgid = guard.pgid;

        let mut phase = Phase::Running;
        let mut exited: Option<Instant> = None;
        let mut term_at: Option<Instant> = None;
        let mut interrupted = false;
        let mut seen = 0;
        let mut next_observe = start;
        loop {
            let now = Instant::now();
            if let Some((every, observe)) = observer.as_mut() {
                if pump.out.len() > seen || now >= next_observe {
                    observe(&pump.out);
                    seen = pump.out.len();
                    next_observe = now + *every;
                }
            }
            if exited.is_none() && has_exited(pgid) {
                exited = Some(now);
                pump.stdin = None;
            }
            match phase {
                Phase::Running
                    if exited.is_none() && (now >= deadline || self.cancel.stops_work()) =>
                {
                    interrupted = now < deadline;
                    signal_group(pgid, Signal::SIGTERM);
                    term_at = Some(now);
                    phase = Phase::Terminating {
                        kill_at: now + self.kill_grace,
                    };
                }
                Phase::Terminating { kill_at }
                    if now >= kill_at && (exited.is_none() || pump.output_open()) =>
                {
                    signal_group(pgid, Signal::SIGKILL);
                    phase = Phase::Killed { at: now };
                }
                _ => {}
            }
            if let Some(t) = exited {
                if !pump.output_open() || now >= t + DRAIN_AFTER_EXIT {
                    break;
                }
            }
            let mut wake = match phase {
                Phase::Running => deadline,
                Phase::Terminating { kill_at } => kill_at,
                Phase::Killed { at } if exited.is_none() => {
                    if now >= at + REAP_AFTER_KILL {
                        break; // Unkillable (stuck in the kernel): give up, reap in background.
                    }
                    at + REAP_AFTER_KILL
                }
                Phase::Killed { at } => at + REAP_AFTER_KILL,
            };
            if let Some(t) = exited {
                wake = wake.min(t + DRAIN_AFTER_EXIT);
            }
            if observer.is_some() {
                wake = wake.min(next_observe);
            }
            pump.step(wake.saturating_duration_since(now).min(TICK))
                .map_err(io_err)?;
        }

        if term_at.is_some() {
            // Leader not reaped yet, so the group id is still ours: clear out stragglers.
            signal_group(pgid, Signal::SIGKILL);
        }
        let status = match exited {
            Some(_) => Some(guard.reap().map_err(io_err)?),
            None => None, // the guard's drop hands the child to a reaper thread
        };
        let elapsed = start.elapsed();
        if interrupted {
            return Err(CmdError::Interrupted {
                cmdline: self.cmdline(),
                started: true,
            });
        }
        if let Some(t) = term_at {
            return Err(CmdError::TimedOut {
                cmdline: self.cmdline(),
                after: t.saturating_duration_since(start),
                stderr: tail_text(&pump.err, STDERR_TAIL_BYTES),
            });
        }
        let status = status.ok_or_else(|| io_err(io::Error::other("child was not reaped")))?;
        Ok(Output {
            status,
            stdout: pump.out,
            stderr: pump.err,
            elapsed,
        })
    }

    /// Resolves the program to an absolute path (see the module documentation).
    fn resolve(&self) -> Result<PathBuf, CmdError> {
        let p = Path::new(&self.program);
        if p.is_absolute() {
            return Ok(p.to_path_buf());
        }
        if self.program.is_empty() || self.program.as_bytes().contains(&b'/') {
            return Err(CmdError::Spawn {
                cmdline: self.cmdline(),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "programs must be given as a bare name or an absolute path",
                ),
            });
        }
        let search = match self.env.iter().rev().find(|(k, _)| k == "PATH") {
            Some((_, Some(v))) => v.clone(),
            _ => std::env::var_os("PATH").unwrap_or_else(|| FALLBACK_PATH.into()),
        };
        let dirs = std::env::split_paths(&search).filter(|d| d.is_absolute());
        let dirs = std::env::join_paths(dirs).unwrap_or_default();
        which::which_in_global(&self.program, Some(dirs))
            .ok()
            .and_then(|mut found| found.next())
            .ok_or_else(|| CmdError::NotInstalled {
                program: lossy(&self.program),
            })
    }
}

mod awaiting;
pub mod cancel;
mod child;
mod interactive;
mod output;
mod quote;

#[cfg(test)]
mod cancel_tests;
#[cfg(test)]
mod tests;
