//! [`CephError`]: why a Ceph call failed, classified so agents can pick the right OCF code.

use std::time::Duration;

use crate::cmd::CmdError;

/// A failed Ceph call. Every variant that ran something names its command line.
#[derive(Debug, thiserror::Error)]
pub enum CephError {
    /// A name (pool, image, group, node ...) was refused before anything ran.
    #[error("invalid {what} '{value}': {reason}")]
    InvalidName {
        /// What the name is for ("pool", "image" ...).
        what: &'static str,
        /// The refused text.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// A metadata value that `rbd image-meta set` cannot be given (refused before anything
    /// ran): longer than one command-line argument may be, or holding a NUL byte.
    #[error(
        "the value of metadata key {key} {reason} ({len} bytes; `rbd image-meta set` takes the \
         value as one command-line argument, at most {max} bytes, no NUL)"
    )]
    InvalidValue {
        /// The metadata key.
        key: String,
        /// What is wrong ("is too long", "holds a NUL byte").
        reason: &'static str,
        /// The value's length in bytes.
        len: usize,
        /// [`META_VALUE_MAX`](super::client::META_VALUE_MAX).
        max: usize,
    },
    /// `rbd`, `rados` or `ceph` is not installed.
    #[error("{program} is not installed (package ceph-common)")]
    NotInstalled {
        /// The missing program.
        program: String,
    },
    /// The monitors could not be reached (the tool gave up connecting).
    #[error("Ceph does not answer (the monitors cannot be reached): `{cmdline}`: {stderr}")]
    Unreachable {
        /// The command line.
        cmdline: String,
        /// The tool's stderr tail.
        stderr: String,
    },
    /// The call did not finish before the deadline and was killed.
    #[error("Ceph does not answer: no reply within {:.1} s (monitors or OSDs unreachable?): `{cmdline}`", .after.as_secs_f64())]
    TimedOut {
        /// The command line.
        cmdline: String,
        /// How long it ran.
        after: Duration,
    },
    /// The object of the call does not exist (ENOENT): pool, namespace, image, key, lock.
    #[error("not found: `{cmdline}`: {stderr}")]
    NotFound {
        /// The command line.
        cmdline: String,
        /// The tool's stderr tail.
        stderr: String,
    },
    /// What the call would create already exists (EEXIST): image, group, snapshot.
    #[error("already exists: `{cmdline}`: {stderr}")]
    Exists {
        /// The command line.
        cmdline: String,
        /// The tool's stderr tail.
        stderr: String,
    },
    /// A local image file to import cannot be used (missing, unreadable, not an image).
    #[error("cannot use image {}: {detail}", .path.display())]
    UnreadableImage {
        /// The file as given.
        path: std::path::PathBuf,
        /// Why.
        detail: String,
    },
    /// A lock is held by someone else (EBUSY).
    #[error("busy: `{cmdline}`: {stderr}")]
    Busy {
        /// The command line.
        cmdline: String,
        /// The tool's stderr tail.
        stderr: String,
    },
    /// Any other failure.
    #[error("`{cmdline}` failed with exit code {code:?} (errno {errno:?}): {stderr}")]
    Failed {
        /// The command line.
        cmdline: String,
        /// The exit code (None when killed by a signal).
        code: Option<i32>,
        /// The errno the tool reported, when it did.
        errno: Option<i32>,
        /// The tool's stderr tail.
        stderr: String,
    },
    /// The tool answered, but not with what we expected.
    #[error("cannot parse the output of `{cmdline}`: {reason}")]
    Parse {
        /// The command line.
        cmdline: String,
        /// What was wrong.
        reason: String,
    },
    /// The command could not be run at all (spawn or I/O error), or an interrupt ended it.
    #[error("{}", if .source.is_interrupted() { "a Ceph tool was interrupted" } else { "cannot run a Ceph tool" })]
    Run {
        /// The runner's error.
        #[source]
        source: CmdError,
    },
}

impl CephError {
    /// ENOENT: the pool, image, key or lock does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CephError::NotFound { .. })
    }

    /// EEXIST: what the call would create already exists.
    pub fn is_exists(&self) -> bool {
        matches!(self, CephError::Exists { .. })
    }

    /// EBUSY: the lock is held by someone else.
    pub fn is_busy(&self) -> bool {
        matches!(self, CephError::Busy { .. })
    }

    /// Ceph could not be asked (monitors unreachable, or no answer before the deadline): the
    /// state is unknown, never "absent".
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            CephError::Unreachable { .. } | CephError::TimedOut { .. }
        )
    }

    /// A tool is missing on this node.
    pub fn is_not_installed(&self) -> bool {
        matches!(self, CephError::NotInstalled { .. })
    }
}

/// Extracts the errno a Ceph tool reported: `rados`' `error N: …` line, or the last `(N) `
/// group of the text (`rbd: error opening image x: (2) No such file or directory`).
pub fn errno_in(stderr: &str) -> Option<i32> {
    for line in stderr.lines().rev() {
        if let Some(rest) = line.trim().strip_prefix("error ") {
            if let Some((n, _)) = rest.split_once(':') {
                if let Ok(n) = n.trim().parse() {
                    return Some(n);
                }
            }
        }
    }
    let mut found = None;
    let mut rest = stderr;
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        if let Some(close) = after.find(") ") {
            if let Ok(n) = after[..close].parse::<i32>() {
                found = Some(n);
            }
        }
        rest = after;
    }
    found
}

/// Whether stderr says the tool could not connect to the cluster.
pub fn says_unreachable(stderr: &str) -> bool {
    const MARKERS: [&str; 5] = [
        "couldn't connect to the cluster",
        "failed to fetch mon config",
        "error connecting to the cluster",
        "authenticate timed out",
        "timed out",
    ];
    MARKERS.iter().any(|m| stderr.contains(m))
}

/// Classifies a failed run of a Ceph tool by errno and stderr.
pub fn classify(cmdline: String, code: Option<i32>, stderr: String, program: &str) -> CephError {
    // rados exits 1 whatever the error; rbd and ceph exit with the errno.
    let errno = errno_in(&stderr).or(if program == "rados" { None } else { code });
    if code == Some(110) || errno == Some(110) || says_unreachable(&stderr) {
        return CephError::Unreachable { cmdline, stderr };
    }
    match errno {
        Some(2) => CephError::NotFound { cmdline, stderr },
        Some(16) => CephError::Busy { cmdline, stderr },
        Some(17) => CephError::Exists { cmdline, stderr },
        _ => CephError::Failed {
            cmdline,
            code,
            errno,
            stderr,
        },
    }
}

impl From<CmdError> for CephError {
    fn from(e: CmdError) -> Self {
        match e {
            CmdError::NotInstalled { program } => CephError::NotInstalled { program },
            CmdError::TimedOut { cmdline, after, .. } => CephError::TimedOut { cmdline, after },
            CmdError::DeadlinePassed { cmdline } => CephError::TimedOut {
                cmdline,
                after: Duration::ZERO,
            },
            CmdError::Failed {
                cmdline,
                code,
                stderr,
                ..
            } => {
                let first = cmdline.split_whitespace().next().unwrap_or("");
                let program = first.rsplit('/').next().unwrap_or(first).to_string();
                classify(cmdline, code, stderr, &program)
            }
            other => CephError::Run { source: other },
        }
    }
}
