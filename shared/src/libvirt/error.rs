//! The error type of [`crate::libvirt::Connection`] (feature `libvirt-api`).

use std::fmt;
use std::time::Duration;

use virt::error::ErrorNumber;

/// An error reported by libvirt, displayed as libvirt's own message (without the
/// `[code=…, domain=…]` suffix of `virt`'s `Display`, which makes exit reasons unreadable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtError(pub virt::error::Error);

impl VirtError {
    /// Returns true if libvirt says the domain does not exist.
    pub fn is_no_domain(&self) -> bool {
        matches!(
            self.0.code(),
            virt::enumutil::Enum::Known(ErrorNumber::NoDomain)
        )
    }

    /// Returns true for "operation invalid", e.g. destroying a domain that is not running.
    pub fn is_operation_invalid(&self) -> bool {
        matches!(
            self.0.code(),
            virt::enumutil::Enum::Known(ErrorNumber::OperationInvalid)
        )
    }

    /// Returns libvirt's message.
    pub fn message(&self) -> &str {
        self.0.message()
    }
}

impl fmt::Display for VirtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.message().trim_end_matches('.'))
    }
}

impl std::error::Error for VirtError {}

impl From<virt::error::Error> for VirtError {
    fn from(e: virt::error::Error) -> Self {
        VirtError(e)
    }
}

/// Why a libvirt operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LibvirtError {
    /// The connection could not be opened (daemon down, socket missing, refused).
    #[error("Cannot connect to libvirt at {uri}")]
    Connect {
        /// The URI (or "the default URI").
        uri: String,
        #[source]
        source: VirtError,
    },
    /// libvirt did not answer before the deadline.
    #[error("libvirt at {uri} did not answer within {:.1} s while {what} (libvirtd hung?)", .waited.as_secs_f64())]
    Timeout {
        /// The URI of the connection.
        uri: String,
        /// What the call was doing, e.g. "looking up domain vm1".
        what: String,
        /// How long the caller waited.
        waited: Duration,
    },
    /// An earlier call on this connection did not answer, so later ones are not attempted.
    #[error("libvirt at {uri} is not answering (an earlier call is still stuck); not {what}")]
    Hung {
        /// The URI of the connection.
        uri: String,
        /// What the refused call would have done.
        what: String,
    },
    /// libvirt answered with an error.
    #[error("libvirt failed {what}")]
    Call {
        /// What the call was doing, e.g. "destroying domain vm1".
        what: String,
        #[source]
        source: VirtError,
    },
    /// The worker thread could not be started.
    #[error("Cannot start the libvirt worker thread")]
    Thread(#[source] std::io::Error),
}

impl LibvirtError {
    /// Returns true when libvirt did not answer in time (now or earlier on this connection).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            LibvirtError::Timeout { .. } | LibvirtError::Hung { .. }
        )
    }

    /// Returns true when the daemon could not be reached or did not answer: the state of the
    /// domain is unknown, as opposed to libvirt answering with an error.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, LibvirtError::Connect { .. }) || self.is_timeout()
    }

    /// The libvirt error, when libvirt answered with one.
    pub fn virt(&self) -> Option<&VirtError> {
        match self {
            LibvirtError::Connect { source, .. } | LibvirtError::Call { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}
