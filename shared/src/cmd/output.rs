//! What a run of a [`Cmd`](super::Cmd) produced: its [`Output`], or the [`CmdError`] saying
//! why it did not succeed, with the helpers that make the error one readable log line.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::STDERR_TAIL_BYTES;

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
    /// Its cancel switch was thrown ([`super::cancel`]): the command was ended (its whole
    /// process group), or (`started: false`) not started.
    #[error("`{cmdline}` {}.", if *.started { "was ended by an interrupt" } else { "was not started: interrupted" })]
    Interrupted { cmdline: String, started: bool },
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

    /// The command was ended, or not started, by an interrupt ([`super::cancel`]).
    pub fn is_interrupted(&self) -> bool {
        matches!(self, CmdError::Interrupted { .. })
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

/// "exit status 3", "killed by signal 9 (SIGKILL)".
pub(super) fn describe_status(status: ExitStatus) -> String {
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
pub(super) fn tail_text(bytes: &[u8], max: usize) -> String {
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
pub(super) fn stderr_suffix(stderr: &str) -> String {
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
