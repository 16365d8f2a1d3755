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
//! - **No zombies, no hangs.** The child is always reaped; the group is SIGKILLed while the
//!   leader is still an unreaped zombie, so its id cannot have been reused. Once the child has
//!   exited, output still held open by an escaped grandchild is awaited for at most
//!   half a second. If the run is abandoned early (an I/O error, a panic), a guard kills the
//!   group and reaps the child; a child that does not die even from SIGKILL (stuck in the
//!   kernel) is left to a background thread to reap, rather than blocking the caller.
//! - **Errors are one log line**: each [`CmdError`] names the command line, the exit status and
//!   the last ~1 KiB of stderr.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use child::{has_exited, signal_group, ChildGuard, Phase, Pump};

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
}

/// What a finished command produced.
#[derive(Debug, Clone)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// From spawn to reap.
    pub elapsed: Duration,
}

/// Why a command could not be run, or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    #[error("{program} is not installed (not found on PATH).")]
    NotInstalled { program: String },
    #[error("`{cmdline}` could not be started")]
    Spawn {
        cmdline: String,
        #[source]
        source: io::Error,
    },
    #[error("`{cmdline}` failed with {status}{}", stderr_suffix(.stderr))]
    Failed {
        cmdline: String,
        /// "exit status 3" or "killed by signal 9 (SIGKILL)".
        status: String,
        /// The exit code, if the child exited normally.
        code: Option<i32>,
        /// The last ~1 KiB of stderr, whitespace-trimmed.
        stderr: String,
    },
    #[error("`{cmdline}` timed out after {:.1}s and was killed{}", .after.as_secs_f64(), stderr_suffix(.stderr))]
    TimedOut {
        cmdline: String,
        after: Duration,
        stderr: String,
    },
    #[error("`{cmdline}` was not started: its deadline had already passed.")]
    DeadlinePassed { cmdline: String },
    #[error("I/O error while running `{cmdline}`")]
    Io {
        cmdline: String,
        #[source]
        source: io::Error,
    },
}

impl CmdError {
    /// The program is missing (OCF: `OCF_ERR_INSTALLED`).
    pub fn is_not_installed(&self) -> bool {
        matches!(self, CmdError::NotInstalled { .. })
    }

    /// The command ran out of time, or was not started because its deadline had passed.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            CmdError::TimedOut { .. } | CmdError::DeadlinePassed { .. }
        )
    }

    /// The exit code of a command that exited non-zero ([`CmdError::Failed`] only).
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            CmdError::Failed { code, .. } => *code,
            _ => None,
        }
    }
}

impl Output {
    /// stdout as UTF-8 (invalid sequences replaced).
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The last ~1 KiB of stderr, cut at a character boundary and whitespace-trimmed.
    pub fn stderr_tail(&self) -> String {
        tail_text(&self.stderr, STDERR_TAIL_BYTES)
    }

    /// The exit code, or `None` if the child was killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
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
        let (guard, start, deadline) = self.spawn(self.stdin.is_some())?;
        self.drive(guard, self.stdin.clone(), start, deadline, observer)
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
        let program = self.resolve()?;
        let mut command = Command::new(&program);
        command
            .arg0(&self.program)
            .args(&self.args)
            .stdin(if stdin_piped {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        for (k, v) in &self.env {
            match v {
                Some(v) => command.env(k, v),
                None => command.env_remove(k),
            };
        }
        let child = command.spawn().map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => CmdError::NotInstalled {
                program: lossy(&self.program),
            },
            _ => CmdError::Spawn {
                cmdline: self.cmdline(),
                source,
            },
        })?;
        Ok((ChildGuard::new(child), start, deadline))
    }

    /// Feeds `input` (if any) to the spawned command and services it until it exits or its
    /// deadline passes (then TERM, grace, KILL).
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
                Phase::Running if exited.is_none() && now >= deadline => {
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

/// A command started before its stdin is known ([`Cmd::start_awaiting_stdin`]).
pub struct AwaitingStdin {
    cmd: Cmd,
    guard: ChildGuard,
    start: Instant,
    deadline: Instant,
}

impl std::fmt::Debug for AwaitingStdin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwaitingStdin")
            .field("cmdline", &self.cmd.cmdline())
            .finish()
    }
}

impl AwaitingStdin {
    /// Gives the command `input` on its stdin, closes it, and finishes like [`Cmd::run`].
    pub fn finish(self, input: impl Into<Vec<u8>>) -> Result<Output, CmdError> {
        let cmd = self.cmd.clone();
        cmd.succeeded(self.finish_output(input)?)
    }

    /// Like [`finish`](Self::finish), but returns the output whatever the exit status.
    pub fn finish_output(self, input: impl Into<Vec<u8>>) -> Result<Output, CmdError> {
        self.cmd.drive(
            self.guard,
            Some(input.into()),
            self.start,
            self.deadline,
            None,
        )
    }
}

/// "exit status 3", "killed by signal 9 (SIGKILL)".
fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    let Some(sig) = status.signal() else {
        return status.to_string();
    };
    let name = Signal::try_from(sig)
        .map(|s| format!(" ({})", s.as_str()))
        .unwrap_or_default();
    let core = if status.core_dumped() {
        ", core dumped"
    } else {
        ""
    };
    format!("killed by signal {sig}{name}{core}")
}

/// The last `max` bytes of `bytes` as text: starts at a character boundary, whitespace-trimmed.
fn tail_text(bytes: &[u8], max: usize) -> String {
    let start = bytes.len().saturating_sub(max);
    let mut tail = &bytes[start..];
    if start > 0 {
        // Skip UTF-8 continuation bytes of a character cut in half (at most 3).
        for _ in 0..3 {
            match tail {
                [b, rest @ ..] if b & 0xC0 == 0x80 => tail = rest,
                _ => break,
            }
        }
    }
    String::from_utf8_lossy(tail).trim().to_owned()
}

/// ": line one; line two" for an error message, or " (no error output)".
fn stderr_suffix(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        " (no error output)".to_owned()
    } else {
        format!(": {}", lines.join("; "))
    }
}

fn lossy(s: &OsStr) -> String {
    s.to_string_lossy().into_owned()
}

/// Quotes one word for display the way a POSIX shell would read it back.
fn quote(word: &OsStr) -> String {
    let mut s = lossy(word);
    if s.chars().count() > MAX_ARG_DISPLAY {
        s = s.chars().take(MAX_ARG_DISPLAY).chain(['…']).collect();
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s
    } else if s.chars().any(char::is_control) {
        // Bash's $'...' keeps the message on one line.
        let mut q = String::from("$'");
        for c in s.chars() {
            match c {
                '\n' => q.push_str(r"\n"),
                '\t' => q.push_str(r"\t"),
                '\r' => q.push_str(r"\r"),
                '\\' | '\'' => q.extend(['\\', c]),
                c if c.is_control() => q.push_str(&format!("\\x{:02x}", u32::from(c))),
                c => q.push(c),
            }
        }
        q + "'"
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Deadline for the external commands of an OCF action that Pacemaker gave `timeout`.
///
/// The rule: `start + timeout − margin`, with `margin = max(2 s, timeout / 10)` so that the
/// agent has time to kill a hung command (the default kill grace is 2 s) and report. If that
/// leaves less than 1 s, the usable time is `min(1 s, timeout / 2)` instead. Examples: 20 s →
/// 18 s, 60 s → 54 s, 100 s → 90 s, 3 s → 1 s, 1.5 s → 0.75 s.
pub fn deadline_from_timeout(start: Instant, timeout: Duration) -> Instant {
    let margin = (timeout / 10).max(Duration::from_secs(2));
    let mut usable = timeout.saturating_sub(margin);
    if usable < Duration::from_secs(1) {
        usable = (timeout / 2).min(Duration::from_secs(1));
    }
    start + usable
}

/// Parses `OCF_RESKEY_CRM_meta_timeout`: milliseconds as Pacemaker passes them ("20000").
///
/// Defensively also accepts a number with a unit, as in a CIB: `ms`/`msec`, `us`/`usec`,
/// `s`/`sec`, `m`/`min`, `h`/`hr` (case-insensitive, optional space: "20s", "2min").
/// Zero, negative, fractional, overflowing or malformed values give `None` (Pacemaker uses 0
/// for "not set"; the caller applies its default).
pub fn parse_timeout_ms(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let d = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "msec" => Duration::from_millis(n),
        "us" | "usec" => Duration::from_micros(n),
        "s" | "sec" => Duration::from_secs(n),
        "m" | "min" => Duration::from_secs(n.checked_mul(60)?),
        "h" | "hr" => Duration::from_secs(n.checked_mul(3600)?),
        _ => return None,
    };
    (!d.is_zero()).then_some(d)
}

mod child;

#[cfg(test)]
mod tests;
