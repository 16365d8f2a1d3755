//! The error type of [`crate::pacemaker`].

use crate::cmd::CmdError;

/// Exit code of the Pacemaker tools when they cannot reach the cluster (`CRM_EX_DISCONNECT`).
pub const EXIT_DISCONNECT: i32 = 102;
/// Exit code for an update older than the CIB, or a patch that does not raise the version
/// (`CRM_EX_OLD`).
pub const EXIT_OLD: i32 = 103;
/// Exit code for "no such object": missing attribute, node or resource (`CRM_EX_NOSUCH`).
pub const EXIT_NOSUCH: i32 = 105;
/// Exit code of `crm_node -q` and others when the partition has no quorum (`CRM_EX_QUORUM`).
pub const EXIT_QUORUM: i32 = 106;

/// Pacemaker's description of an exit code of its tools, as `crm_error --exit --list` prints
/// it in 2.1.5 (`crm_exit_str()`, lib/common/results.c).
pub fn exit_text(code: i32) -> Option<&'static str> {
    let text = match code {
        0 => "OK",
        1 => "Error occurred",
        2 => "Invalid parameter",
        3 => "Unimplemented",
        4 => "Insufficient privileges",
        5 => "Not installed",
        6 => "Not configured",
        7 => "Not running",
        8 => "Promoted",
        9 => "Failed in promoted role",
        64 => "Incorrect usage",
        65 => "Invalid data given",
        66 => "Input file not available",
        67 => "User does not exist",
        68 => "Host does not exist",
        69 => "Necessary service unavailable",
        70 => "Internal software bug",
        71 => "Operating system error occurred",
        72 => "System file not available",
        73 => "Cannot create output file",
        74 => "I/O error occurred",
        75 => "Temporary failure, try again",
        76 => "Protocol violated",
        77 => "Insufficient privileges",
        78 => "Invalid configuration",
        100 => "Fatal error occurred, will not respawn",
        101 => "System panic required",
        102 => "Not connected",
        103 => "Update was older than existing configuration",
        104 => "Digest mismatch",
        105 => "No such object",
        106 => "Quorum required",
        107 => "Operation not safe",
        108 => "Requested item already exists",
        109 => "Multiple items match request",
        110 => "Requested item has expired",
        111 => "Requested item is not yet in effect",
        112 => "Could not determine status",
        113 => "Not applicable under current conditions",
        124 => "Timeout occurred",
        190 => "Service is active but might fail soon",
        191 => "Service is promoted but might fail soon",
        193 => "No exit status available",
        _ => return None,
    };
    Some(text)
}

/// What went wrong while talking to Pacemaker or reading what it said.
#[derive(Debug, thiserror::Error)]
pub enum PacemakerError {
    /// Output (or a file) that is not what the Pacemaker tool is documented to produce.
    #[error("Could not parse {what}: {detail}.")]
    Parse {
        /// What was being parsed ("crm_mon XML", "the CIB", "crm_node -l output").
        what: String,
        /// What was wrong with it.
        detail: String,
    },
    /// The tool could not be run, timed out, or failed without a structured answer.
    #[error(transparent)]
    Command(#[from] CmdError),
    /// The tool ran and reported a failure (in its XML `<status>` or by its exit code).
    #[error("`{cmdline}` failed with exit code {code} ({message}){}", errors_suffix(.errors))]
    ToolFailed {
        /// The command line, shell-quoted, for messages.
        cmdline: String,
        /// The exit code (the same as the XML status code when there is one).
        code: i32,
        /// Pacemaker's short message for the code ("Not connected", "No such object").
        message: String,
        /// Pacemaker's error lines (XML `<error>` elements, or the stderr tail).
        errors: Vec<String>,
    },
    /// The CIB a change would make fails Pacemaker's schema (found on a private copy with the
    /// change applied, [`super::tools::Tools::check_change`]): `cibadmin --patch` would refuse
    /// it with the same reason. Nothing was changed.
    #[error(
        "Pacemaker would refuse the change: the CIB with it does not conform to the configured \
         schema (`{cmdline}` on a private copy of the CIB with the change, exit code 78)."
    )]
    SchemaRefused {
        /// The command that loaded the copy, for messages.
        cmdline: String,
    },
    /// A node name the cluster does not know.
    #[error("Node {node} is not known to the cluster.")]
    NodeNotFound {
        /// The node name asked for.
        node: String,
    },
    /// A resource id that is not in the CIB.
    #[error("Resource {rsc} is not in the CIB.")]
    ResourceNotFound {
        /// The resource id asked for.
        rsc: String,
    },
    /// `cibadmin --patch` refused a patch as older than the CIB (exit code 103).
    #[error(
        "`{cmdline}` was refused: the CIB changed since the patch was made, or the patch does \
         not raise the CIB version."
    )]
    PatchRejected {
        /// The command line, shell-quoted, for messages.
        cmdline: String,
    },
    /// A private scratch file for a Pacemaker tool could not be written.
    #[error("Cannot write the temporary file {}.", .path.display())]
    TempFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An argument that cannot be passed to a Pacemaker tool.
    #[error("Invalid {what} {value:?}: {reason}.")]
    InvalidArgument {
        /// What the argument is ("node name", "attribute name").
        what: &'static str,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
}

impl From<crate::xml::XmlError> for PacemakerError {
    /// Output that is not XML is output that cannot be parsed.
    fn from(e: crate::xml::XmlError) -> PacemakerError {
        PacemakerError::Parse {
            what: e.what,
            detail: e.detail,
        }
    }
}

impl PacemakerError {
    pub(crate) fn parse(what: impl Into<String>, detail: impl Into<String>) -> PacemakerError {
        PacemakerError::Parse {
            what: what.into(),
            detail: detail.into(),
        }
    }

    /// The exit code of the failed tool, if it ran and exited non-zero.
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            PacemakerError::ToolFailed { code, .. } => Some(*code),
            PacemakerError::Command(e) => e.exit_code(),
            PacemakerError::PatchRejected { .. } => Some(EXIT_OLD),
            PacemakerError::SchemaRefused { .. } => Some(78),
            _ => None,
        }
    }

    /// The tool could not reach the cluster (Pacemaker not running on this node, exit 102).
    pub fn is_not_connected(&self) -> bool {
        self.exit_code() == Some(EXIT_DISCONNECT)
    }

    /// The tool is not installed (for agents: `OCF_ERR_INSTALLED`).
    pub fn is_not_installed(&self) -> bool {
        matches!(self, PacemakerError::Command(e) if e.is_not_installed())
    }

    /// The tool ran out of time (or its deadline had passed before it started).
    pub fn is_timeout(&self) -> bool {
        matches!(self, PacemakerError::Command(e) if e.is_timeout())
    }
}

fn errors_suffix(errors: &[String]) -> String {
    let joined: Vec<&str> = errors
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .collect();
    if joined.is_empty() {
        String::new()
    } else {
        format!(": {}", joined.join("; ").replace('\n', " "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_sentences() {
        let e = PacemakerError::parse("crm_mon XML", "no <summary>");
        assert_eq!(e.to_string(), "Could not parse crm_mon XML: no <summary>.");
        // A document that is not XML reads the same through the XML tree's own error.
        let xml = crate::xml::Element::parse("<a>", "the CIB").unwrap_err();
        let e = PacemakerError::from(xml.clone());
        assert!(matches!(&e, PacemakerError::Parse { what, .. } if what == "the CIB"));
        assert_eq!(e.to_string(), xml.to_string());
        assert_eq!(
            e.to_string(),
            "Could not parse the CIB: document ends inside <a>."
        );
        let e = PacemakerError::ToolFailed {
            cmdline: "crm_mon --output-as=xml".into(),
            code: 102,
            message: "Not connected".into(),
            errors: vec!["a\nb".into(), " ".into(), "c".into()],
        };
        assert_eq!(
            e.to_string(),
            "`crm_mon --output-as=xml` failed with exit code 102 (Not connected): a b; c"
        );
        assert!(e.is_not_connected());
        assert!(!e.is_timeout());
        let e = PacemakerError::NodeNotFound {
            node: "nosuch".into(),
        };
        assert_eq!(e.to_string(), "Node nosuch is not known to the cluster.");
        assert_eq!(e.exit_code(), None);
        assert_eq!(exit_text(102), Some("Not connected"));
        assert_eq!(exit_text(106), Some("Quorum required"));
        assert_eq!(exit_text(42), None);
    }
}
