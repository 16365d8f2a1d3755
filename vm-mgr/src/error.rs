//! vm-mgr's error type and its documented exit codes.
//!
//! | Code | Meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the operation failed (Pacemaker, Ceph, libvirt, I/O); `doctor`: problems found (and, with `--fix`, not all repaired) |
//! | 2 | usage error or invalid input (bad name, malformed XML, missing image, unknown node) |
//! | 3 | no such VM |
//! | 4 | the VM already exists (create without `--force`) |
//! | 5 | timed out waiting for the cluster to reach the wanted state |
//! | 6 | the verb or option is not implemented yet |
//! | 7 | refused by a preflight check (migrate, drain); nothing was changed |
//! | 130 | interrupted (Ctrl-C, SIGTERM) after cleaning up |
//!
//! The mapping lives in one place, [`Error::exit_code`]; the errors of the modules below the
//! verbs (storage, CIB edits, placement) come in as [`Error::Below`] with the code they map to
//! (see `error_from`). This module is a leaf: it uses nothing else of vm-mgr, so every module
//! may use it.

use std::path::PathBuf;
use std::time::Duration;

use shared::libvirt::rpc::RpcError;
use shared::pacemaker::PacemakerError;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: the operation failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage error or invalid input (clap uses 2 for usage errors too).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: no such VM.
pub const EXIT_NO_SUCH_VM: u8 = 3;
/// Exit code: the VM already exists.
pub const EXIT_EXISTS: u8 = 4;
/// Exit code: timed out waiting for the cluster.
pub const EXIT_TIMEOUT: u8 = 5;
/// Exit code: not implemented yet.
pub const EXIT_UNIMPLEMENTED: u8 = 6;
/// Exit code: a preflight check refused the operation (nothing was changed).
pub const EXIT_REFUSED: u8 = 7;
/// Exit code: interrupted by SIGINT or SIGTERM (after cleaning up).
pub const EXIT_INTERRUPTED: u8 = 130;

/// The exit-code table, for `--help`.
pub const EXIT_CODES_HELP: &str =
    "Exit codes: 0 ok, 1 failed (doctor: problems remain), 2 usage error or invalid input, \
3 no such VM, 4 VM already exists, 5 timed out waiting for the cluster, 6 not implemented yet, \
7 refused by a preflight check (nothing changed), 130 interrupted.";

/// Everything that can make a vm-mgr command fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A VM name that does not follow the rules.
    #[error("Invalid VM name {name:?}: {reason}.")]
    InvalidName { name: String, reason: &'static str },
    /// Any other invalid argument.
    #[error("{0}")]
    Invalid(String),
    /// The VM is neither in the storage nor in the CIB.
    #[error("There is no VM called {name}.")]
    NoSuchVm { name: String },
    /// create without --force on an existing VM.
    #[error("VM {name} already exists (use --force to replace it).")]
    AlreadyExists { name: String },
    /// The ids a new VM would take are used in the CIB by something vm-mgr did not make.
    #[error(
        "The CIB already has {} with the id{} VM {name} would take, not made by vm-mgr; \
         nothing was changed (--force replaces only vm-mgr's own VMs).",
        .ids.join(", "), if .ids.len() == 1 { "" } else { "s" }
    )]
    IdTaken { name: String, ids: Vec<String> },
    /// A verb the dir backend does not support yet (on a dir VM, or with `--storage dir`).
    #[error("{verb} is not supported on the dir backend yet; nothing was changed.")]
    NotOnDir { verb: &'static str },
    /// A verb or option that is not implemented yet.
    #[error("{what} is not implemented yet; nothing was changed.")]
    NotImplemented { what: String },
    /// The cluster did not reach the wanted state in time.
    #[error(
        "VM {name} did not become {wanted} within {:.0}s (it is {state}{}).",
        .waited.as_secs_f64(),
        .node.as_deref().map(|n| format!(" on {n}")).unwrap_or_default()
    )]
    Timeout {
        name: String,
        wanted: &'static str,
        state: String,
        node: Option<String>,
        waited: Duration,
    },
    /// The VM ended up failed while we waited for it.
    #[error("VM {name} failed while becoming {wanted}{}.", failures_suffix(.failures))]
    FailedWhileWaiting {
        name: String,
        wanted: &'static str,
        failures: Vec<String>,
    },
    /// A move's constraint left the CIB before the VM moved: nothing asks for the move.
    #[error(
        "The move of VM {name} to {node} was lost: its constraint {constraint} left the CIB \
         before the VM moved (another partition's configuration replaced this node's after a \
         split, or someone removed it); the VM is {state}. Run the move again."
    )]
    MoveLost {
        name: String,
        node: String,
        constraint: String,
        state: String,
    },
    /// A file that cannot be read.
    #[error("Cannot read {}.", .path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file that cannot be written.
    #[error("Cannot write {}.", .path.display())]
    WriteFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A domain XML that cannot be used.
    #[error("The domain XML {what} is not usable: {}.", .detail.trim_end_matches('.'))]
    DomainXml { what: String, detail: String },
    /// Something stored by vm-mgr that cannot be read back.
    #[error("The {what} stored for VM {name} is damaged: {detail}.")]
    Stored {
        name: String,
        what: &'static str,
        detail: String,
    },
    /// The configuration file is wrong.
    #[error("{}:{line}: {detail}.", .path.display())]
    Config {
        path: PathBuf,
        line: usize,
        detail: String,
    },
    /// Pacemaker tools.
    #[error(transparent)]
    Pacemaker(#[from] PacemakerError),
    /// An error of a module below the verbs: storage (Ceph RBD, qemu-img), a CIB transaction,
    /// placement and mobility (migrate, drain ...); `source` is that module's typed error and
    /// `code` the exit code it maps to.
    #[error("{source}")]
    Below {
        code: u8,
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// libvirt (the local daemon, through its RPC protocol).
    #[error(transparent)]
    Libvirt(#[from] RpcError),
    /// SIGINT or SIGTERM ended the verb (what a move or create had half made is undone on
    /// the way out, as after a failure).
    #[error("Interrupted while {during}.")]
    Interrupted { during: String },
    /// A command that failed and was then undone.
    #[error("{what} failed and was undone ({undo}).")]
    Undone {
        what: String,
        undo: String,
        #[source]
        source: Box<Error>,
    },
}

fn failures_suffix(failures: &[String]) -> String {
    if failures.is_empty() {
        String::new()
    } else {
        format!(": {}", failures.join("; "))
    }
}

impl Error {
    /// The documented exit code for this error (see the module documentation).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::InvalidName { .. }
            | Error::Invalid(_)
            | Error::DomainXml { .. }
            | Error::ReadFile { .. }
            | Error::Config { .. } => EXIT_USAGE,
            Error::NoSuchVm { .. } => EXIT_NO_SUCH_VM,
            Error::AlreadyExists { .. } | Error::IdTaken { .. } => EXIT_EXISTS,
            Error::Timeout { .. } => EXIT_TIMEOUT,
            Error::NotImplemented { .. } | Error::NotOnDir { .. } => EXIT_UNIMPLEMENTED,
            Error::Interrupted { .. } => EXIT_INTERRUPTED,
            Error::Below { code, .. } => *code,
            Error::Undone { source, .. } => source.exit_code(),
            _ => EXIT_FAILED,
        }
    }

    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(msg: impl Into<String>) -> Error {
        Error::Invalid(msg.into())
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error and its sources, one per line, for printing.
pub fn chain(e: &dyn std::error::Error) -> Vec<String> {
    let mut lines = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !lines.iter().any(|l| l.contains(&text)) {
            lines.push(text);
        }
        source = s.source();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct_per_kind() {
        assert_eq!(Error::NoSuchVm { name: "a".into() }.exit_code(), 3);
        assert_eq!(Error::AlreadyExists { name: "a".into() }.exit_code(), 4);
        assert_eq!(Error::invalid("x").exit_code(), 2);
        assert_eq!(Error::NotImplemented { what: "x".into() }.exit_code(), 6);
        let below = Error::Below {
            code: EXIT_REFUSED,
            source: Box::new(Error::invalid("refused")),
        };
        assert_eq!(below.exit_code(), 7);
        assert_eq!(below.to_string(), "refused");
        let undone = Error::Undone {
            what: "create".into(),
            undo: "removed".into(),
            source: Box::new(Error::invalid("bad")),
        };
        assert_eq!(undone.exit_code(), 2);
        assert_eq!(chain(&undone).len(), 2);
    }
}
