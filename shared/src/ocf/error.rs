//! The error an agent action returns ([`OcfError`]): an exit code plus an exit reason.

use std::error::Error;
use std::fmt::Write as _;

use super::rc::OcfRc;

/// A failed (or otherwise non-success) action outcome: the exit code to return and the reason
/// to report.
///
/// The framework ([`run`](super::run)) writes `reason` as the `ocf-exit-reason:` line, which
/// Pacemaker shows in `crm_mon`, and exits with `rc`. The framework never changes `rc`: a probe
/// or a stop that returns an error gets exactly that code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct OcfError {
    /// The exit code to return.
    pub rc: OcfRc,
    /// The human-readable reason, written as the exit reason (one line).
    pub reason: String,
}

impl OcfError {
    /// Creates an error with an explicit exit code.
    pub fn new(rc: OcfRc, reason: impl Into<String>) -> Self {
        OcfError {
            rc,
            reason: reason.into(),
        }
    }

    /// Creates an `OCF_ERR_GENERIC` (1) error: soft failure, Pacemaker recovers on this node.
    pub fn generic(reason: impl Into<String>) -> Self {
        Self::new(OcfRc::ErrGeneric, reason)
    }

    /// Creates an `OCF_ERR_ARGS` (2) error: bad invocation; the resource is banned from the node.
    pub fn args(reason: impl Into<String>) -> Self {
        Self::new(OcfRc::ErrArgs, reason)
    }

    /// Creates an `OCF_ERR_UNIMPLEMENTED` (3) error.
    pub fn unimplemented(reason: impl Into<String>) -> Self {
        Self::new(OcfRc::Unimplemented, reason)
    }

    /// Creates an `OCF_ERR_PERM` (4) error.
    pub fn perm(reason: impl Into<String>) -> Self {
        Self::new(OcfRc::ErrPerm, reason)
    }

    /// Creates an `OCF_ERR_INSTALLED` (5) error: something is missing on this node.
    pub fn installed(reason: impl Into<String>) -> Self {
        Self::new(OcfRc::ErrInstalled, reason)
    }

    /// Creates an `OCF_ERR_CONFIGURED` (6) error: the configuration is invalid everywhere.
    pub fn configured(reason: impl Into<String>) -> Self {
        Self::new(OcfRc::ErrConfigured, reason)
    }

    /// Creates an `OCF_NOT_RUNNING` (7) outcome with a reason, for a monitor that finds the
    /// resource stopped and wants to say why (for example after an unexpected stop).
    pub fn not_running(reason: impl Into<String>) -> Self {
        Self::new(OcfRc::NotRunning, reason)
    }

    /// Creates an `OCF_FAILED_PROMOTED` (9) error.
    pub fn failed_promoted(reason: impl Into<String>) -> Self {
        Self::new(OcfRc::FailedPromoted, reason)
    }

    /// Creates an error from another error, joining its `source()` chain with `": "` so the
    /// exit reason carries every level (for example `stop failed: virsh timed out: …`).
    pub fn from_error(rc: OcfRc, err: &(dyn Error + 'static)) -> Self {
        Self::new(rc, error_chain(err))
    }

    /// Prefixes the reason with some context, as in `"{context}: {reason}"`.
    #[must_use]
    pub fn context(mut self, context: impl AsRef<str>) -> Self {
        self.reason = format!("{}: {}", context.as_ref(), self.reason);
        self
    }
}

/// Formats an error and its `source()` chain on one line, levels separated by `": "`.
///
/// Levels whose text is already contained in the previous level are skipped, so errors that
/// (against the project's convention) repeat their source are not printed twice.
pub fn error_chain(err: &(dyn Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut previous = out.clone();
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !previous.contains(&text) {
            let _ = write!(out, ": {text}");
        }
        previous = text;
        source = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot stop domain {name}")]
    struct Outer {
        name: &'static str,
        #[source]
        source: Inner,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("virsh timed out after 5 s")]
    struct Inner;

    #[test]
    fn constructors_set_codes() {
        assert_eq!(OcfError::generic("x").rc, OcfRc::ErrGeneric);
        assert_eq!(OcfError::args("x").rc, OcfRc::ErrArgs);
        assert_eq!(OcfError::unimplemented("x").rc, OcfRc::Unimplemented);
        assert_eq!(OcfError::perm("x").rc, OcfRc::ErrPerm);
        assert_eq!(OcfError::installed("x").rc, OcfRc::ErrInstalled);
        assert_eq!(OcfError::configured("x").rc, OcfRc::ErrConfigured);
        assert_eq!(OcfError::not_running("x").rc, OcfRc::NotRunning);
        assert_eq!(OcfError::failed_promoted("x").rc, OcfRc::FailedPromoted);
    }

    #[test]
    fn display_is_the_reason() {
        let e = OcfError::configured("parameter 'config' is required");
        assert_eq!(e.to_string(), "parameter 'config' is required");
    }

    #[test]
    fn from_error_joins_the_chain() {
        let err = Outer {
            name: "vm1",
            source: Inner,
        };
        let e = OcfError::from_error(OcfRc::ErrGeneric, &err);
        assert_eq!(
            e.reason,
            "cannot stop domain vm1: virsh timed out after 5 s"
        );
        assert_eq!(e.rc, OcfRc::ErrGeneric);
    }

    #[test]
    fn context_prefixes() {
        let e = OcfError::generic("boom").context("start");
        assert_eq!(e.reason, "start: boom");
    }
}
