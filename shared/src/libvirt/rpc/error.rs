//! [`RpcError`], the one error type of [`super`], and [`RemoteError`], libvirt's own error as
//! the protocol carries it.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// The error libvirtd returns with `VIR_NET_ERROR` (`remote_error`; the fields after `level`
/// are read but not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    /// `virErrorNumber`, e.g. [`super::VIR_ERR_NO_DOMAIN`].
    pub code: i32,
    /// `virErrorDomain`.
    pub domain: i32,
    /// The message, as libvirt formats it.
    pub message: Option<String>,
    /// `virErrorLevel`.
    pub level: i32,
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => f.write_str(m.trim_end_matches('.')),
            None => write!(f, "libvirt error code {}", self.code),
        }
    }
}

impl std::error::Error for RemoteError {}

/// Why an RPC exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The socket could not be connected (daemon down, socket missing, refused).
    #[error("Cannot connect to libvirt at {}", .socket.display())]
    Connect {
        /// The socket.
        socket: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The daemon did not answer before the deadline.
    #[error("libvirt at {} did not answer within {:.1} s while {what} (libvirtd hung?)", .socket.display(), .waited.as_secs_f64())]
    Timeout {
        /// The socket.
        socket: PathBuf,
        /// What the call was doing.
        what: String,
        /// How long the caller waited.
        waited: Duration,
    },
    /// The connection broke (daemon killed or restarted mid-call).
    #[error("The connection to libvirt at {} broke while {what}", .socket.display())]
    Io {
        /// The socket.
        socket: PathBuf,
        /// What the call was doing.
        what: String,
        #[source]
        source: io::Error,
    },
    /// The daemon's answer does not follow the protocol (or uses a feature this client lacks).
    #[error("Unexpected answer from libvirt while {what}: {detail}")]
    Protocol {
        /// What the call was doing.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// The daemon requires an authentication this client does not do (SASL, polkit).
    #[error("libvirt requires authentication (types {types:?}) that this client does not do")]
    AuthRequired {
        /// The `remote_auth_type` values offered.
        types: Vec<i32>,
    },
    /// libvirt answered with an error.
    #[error("libvirt failed {what}")]
    Remote {
        /// What the call was doing.
        what: String,
        #[source]
        error: RemoteError,
    },
}

impl RpcError {
    /// Returns true when the daemon could not be reached or did not answer: the state of the
    /// domain is unknown, as opposed to libvirt answering (with an error or something odd).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            RpcError::Connect { .. } | RpcError::Timeout { .. } | RpcError::Io { .. }
        )
    }

    /// Returns true for a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, RpcError::Timeout { .. })
    }

    /// The libvirt error, when libvirt answered with one.
    pub fn remote(&self) -> Option<&RemoteError> {
        match self {
            RpcError::Remote { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Returns true when libvirt answered with error `code` (e.g. [`super::VIR_ERR_NO_DOMAIN`]).
    pub fn is_remote_code(&self, code: i32) -> bool {
        self.remote().is_some_and(|r| r.code == code)
    }
}
