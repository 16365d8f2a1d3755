//! OCF exit codes ([`OcfRc`]).
//!
//! The values and names follow the OCF Resource Agent API 1.1 (`ra/1.1/resource-agent-api.md`
//! in ClusterLabs/OCF-spec) and Pacemaker's `enum ocf_exitcode` (`include/crm/common/results.h`).

use std::fmt;
use std::process::ExitCode;

/// An OCF resource agent exit code.
///
/// Pacemaker's reaction to each code is summarised in `shared/reference/ocf-agents.md`: 1 is a
/// soft error (restart on the same node), 2-5 are hard errors for this node, 6 stops the
/// resource everywhere, 7 means "cleanly stopped" and is only meaningful for monitor/probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum OcfRc {
    /// `OCF_SUCCESS` (0): the action succeeded, or a monitor found the resource running.
    Success = 0,
    /// `OCF_ERR_GENERIC` (1): a soft, possibly transient error.
    ErrGeneric = 1,
    /// `OCF_ERR_ARGS` (2): the agent was called with invalid arguments.
    ErrArgs = 2,
    /// `OCF_ERR_UNIMPLEMENTED` (3): the requested action is not implemented.
    Unimplemented = 3,
    /// `OCF_ERR_PERM` (4): insufficient privileges.
    ErrPerm = 4,
    /// `OCF_ERR_INSTALLED` (5): a required program or file is missing on this node.
    ErrInstalled = 5,
    /// `OCF_ERR_CONFIGURED` (6): the resource configuration is invalid (fatal, cluster-wide).
    ErrConfigured = 6,
    /// `OCF_NOT_RUNNING` (7): the resource is cleanly stopped (monitor/probe only).
    NotRunning = 7,
    /// `OCF_RUNNING_PROMOTED` (8): the resource is running in the promoted role.
    RunningPromoted = 8,
    /// `OCF_FAILED_PROMOTED` (9): the resource failed while in the promoted role.
    FailedPromoted = 9,
    /// `OCF_DEGRADED` (190): running, but degraded (treated as success).
    Degraded = 190,
    /// `OCF_DEGRADED_PROMOTED` (191): running promoted, but degraded (treated as success).
    DegradedPromoted = 191,
}

impl OcfRc {
    /// Every exit code, in numeric order.
    pub const ALL: [OcfRc; 12] = [
        OcfRc::Success,
        OcfRc::ErrGeneric,
        OcfRc::ErrArgs,
        OcfRc::Unimplemented,
        OcfRc::ErrPerm,
        OcfRc::ErrInstalled,
        OcfRc::ErrConfigured,
        OcfRc::NotRunning,
        OcfRc::RunningPromoted,
        OcfRc::FailedPromoted,
        OcfRc::Degraded,
        OcfRc::DegradedPromoted,
    ];

    /// Returns the numeric exit code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// Returns the code with the given numeric value, or `None` if OCF does not define it.
    pub const fn from_code(code: u8) -> Option<OcfRc> {
        Some(match code {
            0 => OcfRc::Success,
            1 => OcfRc::ErrGeneric,
            2 => OcfRc::ErrArgs,
            3 => OcfRc::Unimplemented,
            4 => OcfRc::ErrPerm,
            5 => OcfRc::ErrInstalled,
            6 => OcfRc::ErrConfigured,
            7 => OcfRc::NotRunning,
            8 => OcfRc::RunningPromoted,
            9 => OcfRc::FailedPromoted,
            190 => OcfRc::Degraded,
            191 => OcfRc::DegradedPromoted,
            _ => return None,
        })
    }

    /// Returns the OCF 1.1 name of the code, e.g. `OCF_ERR_CONFIGURED`.
    pub const fn name(self) -> &'static str {
        match self {
            OcfRc::Success => "OCF_SUCCESS",
            OcfRc::ErrGeneric => "OCF_ERR_GENERIC",
            OcfRc::ErrArgs => "OCF_ERR_ARGS",
            OcfRc::Unimplemented => "OCF_ERR_UNIMPLEMENTED",
            OcfRc::ErrPerm => "OCF_ERR_PERM",
            OcfRc::ErrInstalled => "OCF_ERR_INSTALLED",
            OcfRc::ErrConfigured => "OCF_ERR_CONFIGURED",
            OcfRc::NotRunning => "OCF_NOT_RUNNING",
            OcfRc::RunningPromoted => "OCF_RUNNING_PROMOTED",
            OcfRc::FailedPromoted => "OCF_FAILED_PROMOTED",
            OcfRc::Degraded => "OCF_DEGRADED",
            OcfRc::DegradedPromoted => "OCF_DEGRADED_PROMOTED",
        }
    }

    /// Returns true if Pacemaker treats the code as "resource is running" for a monitor
    /// (0, 8, 190 and 191).
    pub const fn is_running(self) -> bool {
        matches!(
            self,
            OcfRc::Success | OcfRc::RunningPromoted | OcfRc::Degraded | OcfRc::DegradedPromoted
        )
    }
}

impl fmt::Display for OcfRc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<OcfRc> for u8 {
    fn from(rc: OcfRc) -> u8 {
        rc.code()
    }
}

impl From<OcfRc> for ExitCode {
    fn from(rc: OcfRc) -> ExitCode {
        ExitCode::from(rc.code())
    }
}

impl TryFrom<i32> for OcfRc {
    type Error = i32;

    /// Converts a process exit status (e.g. of another agent) into an OCF code; values OCF does
    /// not define are returned as the error.
    fn try_from(code: i32) -> Result<OcfRc, i32> {
        u8::try_from(code)
            .ok()
            .and_then(OcfRc::from_code)
            .ok_or(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for rc in OcfRc::ALL {
            assert_eq!(OcfRc::from_code(rc.code()), Some(rc));
            assert_eq!(OcfRc::try_from(i32::from(rc.code())), Ok(rc));
        }
        assert_eq!(OcfRc::from_code(10), None);
        assert_eq!(OcfRc::from_code(192), None);
        assert_eq!(OcfRc::try_from(-1), Err(-1));
        assert_eq!(OcfRc::try_from(256), Err(256));
    }

    #[test]
    fn numeric_values_match_the_spec() {
        let expected = [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191];
        let got: Vec<u8> = OcfRc::ALL.iter().map(|rc| rc.code()).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn display_uses_ocf_names() {
        assert_eq!(OcfRc::Success.to_string(), "OCF_SUCCESS");
        assert_eq!(OcfRc::ErrConfigured.to_string(), "OCF_ERR_CONFIGURED");
        assert_eq!(OcfRc::Unimplemented.to_string(), "OCF_ERR_UNIMPLEMENTED");
        assert_eq!(OcfRc::RunningPromoted.to_string(), "OCF_RUNNING_PROMOTED");
        assert_eq!(OcfRc::DegradedPromoted.to_string(), "OCF_DEGRADED_PROMOTED");
    }

    #[test]
    fn running_codes() {
        let running: Vec<OcfRc> = OcfRc::ALL
            .into_iter()
            .filter(|rc| rc.is_running())
            .collect();
        assert_eq!(
            running,
            [
                OcfRc::Success,
                OcfRc::RunningPromoted,
                OcfRc::Degraded,
                OcfRc::DegradedPromoted
            ]
        );
    }

    #[test]
    fn converts_to_exit_code() {
        assert_eq!(ExitCode::from(OcfRc::NotRunning), ExitCode::from(7));
        assert_eq!(ExitCode::from(OcfRc::Degraded), ExitCode::from(190));
    }
}
