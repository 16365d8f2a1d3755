//! The one error type of [`crate::drbd`].

use crate::cmd::CmdError;

/// Why a DRBD query or command failed.
///
/// Messages say what was being done; the underlying [`CmdError`] (command line, exit status,
/// stderr tail) is the `source`, so an error chain reads
/// `cannot promote DRBD resource r0: `drbdadm primary r0` failed with exit status 17: …`.
#[derive(Debug, thiserror::Error)]
pub enum DrbdError {
    /// A `drbdadm`/`drbdsetup` command could not be run or failed.
    #[error("cannot {action} DRBD resource {resource}")]
    Command {
        /// What was being done, e.g. `promote`.
        action: &'static str,
        /// The DRBD resource name.
        resource: String,
        #[source]
        source: CmdError,
    },
    /// A `drbdadm`/`drbdsetup` query that is not about one resource failed (`--version`).
    #[error("cannot {action}")]
    Query {
        /// What was being asked, e.g. `read the DRBD version`.
        action: &'static str,
        #[source]
        source: CmdError,
    },
    /// A line of `drbdsetup events2` output could not be understood.
    #[error("cannot parse drbdsetup events2 line {line_no} ({line:?}): {reason}")]
    Events2 {
        /// 1-based line number.
        line_no: usize,
        /// The offending line (shortened).
        line: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The output of `drbdadm dump-xml` could not be understood.
    #[error("cannot parse drbdadm dump-xml output: {reason}")]
    DumpXml {
        /// What is wrong with it.
        reason: String,
    },
    /// The output of `drbdadm --version` did not contain a usable kernel version.
    #[error("cannot parse drbdadm --version output: {reason}")]
    Version {
        /// What is wrong with it.
        reason: String,
    },
    /// A DRBD resource name with characters drbd.ocf refuses (`[-%+./0-9:=@A-Z_a-z]` only).
    #[error("invalid DRBD resource name {name:?}: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
}

impl DrbdError {
    /// The exit code of a command that ran and failed (e.g. 17 from `drbdadm primary` when no
    /// UpToDate data is reachable), if that is what happened.
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            DrbdError::Command { source, .. } | DrbdError::Query { source, .. } => {
                source.exit_code()
            }
            _ => None,
        }
    }

    /// The tool is missing (OCF: `OCF_ERR_INSTALLED`).
    pub fn is_not_installed(&self) -> bool {
        match self {
            DrbdError::Command { source, .. } | DrbdError::Query { source, .. } => {
                source.is_not_installed()
            }
            _ => false,
        }
    }

    /// The command ran out of time.
    pub fn is_timeout(&self) -> bool {
        match self {
            DrbdError::Command { source, .. } | DrbdError::Query { source, .. } => {
                source.is_timeout()
            }
            _ => false,
        }
    }
}
