//! The action an agent is asked to perform ([`Action`]), parsed from `argv[1]`.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

/// An OCF action, as passed by Pacemaker (or ocf-tester) in `argv[1]`.
///
/// Parsing is exact and case-sensitive, like the `case "$1"` of shell agents. Names the
/// framework does not know become [`Action::Unknown`], which [`run`](super::run) answers with
/// `OCF_ERR_UNIMPLEMENTED` (3) and an exit reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// `start`.
    Start,
    /// `stop`.
    Stop,
    /// `monitor` (a probe when the meta interval is 0 or missing).
    Monitor,
    /// `status`: the legacy alias of `monitor`; kept distinct so agents may tell them apart.
    /// See [`Action::is_monitor`].
    Status,
    /// `promote`.
    Promote,
    /// `demote`.
    Demote,
    /// `notify`.
    Notify,
    /// `migrate_to` (Pacemaker extension).
    MigrateTo,
    /// `migrate_from` (Pacemaker extension).
    MigrateFrom,
    /// `meta-data`: handled by the framework, never passed to the agent.
    MetaData,
    /// `validate-all`.
    ValidateAll,
    /// `reload`: reload the service's own configuration.
    Reload,
    /// `reload-agent` (OCF 1.1): apply changed `reloadable` parameters.
    ReloadAgent,
    /// `recover`: never called by Pacemaker.
    Recover,
    /// `usage` or `help`: the framework prints a usage line and exits 0, like shell agents.
    Usage,
    /// Any other name.
    Unknown(String),
}

impl Action {
    /// Parses an action name (never fails; unknown names give [`Action::Unknown`]).
    pub fn parse(name: &str) -> Action {
        match name {
            "start" => Action::Start,
            "stop" => Action::Stop,
            "monitor" => Action::Monitor,
            "status" => Action::Status,
            "promote" => Action::Promote,
            "demote" => Action::Demote,
            "notify" => Action::Notify,
            "migrate_to" => Action::MigrateTo,
            "migrate_from" => Action::MigrateFrom,
            "meta-data" => Action::MetaData,
            "validate-all" => Action::ValidateAll,
            "reload" => Action::Reload,
            "reload-agent" => Action::ReloadAgent,
            "recover" => Action::Recover,
            "usage" | "help" => Action::Usage,
            other => Action::Unknown(other.to_owned()),
        }
    }

    /// Returns the OCF name of the action (the name it was parsed from; `usage` for
    /// [`Action::Usage`]).
    pub fn as_str(&self) -> &str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Monitor => "monitor",
            Action::Status => "status",
            Action::Promote => "promote",
            Action::Demote => "demote",
            Action::Notify => "notify",
            Action::MigrateTo => "migrate_to",
            Action::MigrateFrom => "migrate_from",
            Action::MetaData => "meta-data",
            Action::ValidateAll => "validate-all",
            Action::Reload => "reload",
            Action::ReloadAgent => "reload-agent",
            Action::Recover => "recover",
            Action::Usage => "usage",
            Action::Unknown(name) => name,
        }
    }

    /// Returns true for `monitor` and its alias `status`.
    pub fn is_monitor(&self) -> bool {
        matches!(self, Action::Monitor | Action::Status)
    }

    /// Returns true for actions the framework answers itself (`meta-data`, `usage`) or rejects
    /// (unknown names); the agent's `handle` is never called for these.
    pub fn is_framework(&self) -> bool {
        matches!(self, Action::MetaData | Action::Usage | Action::Unknown(_))
    }
}

impl FromStr for Action {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Action, Infallible> {
        Ok(Action::parse(s))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_ocf_action() {
        let names = [
            "start",
            "stop",
            "monitor",
            "status",
            "promote",
            "demote",
            "notify",
            "migrate_to",
            "migrate_from",
            "meta-data",
            "validate-all",
            "reload",
            "reload-agent",
            "recover",
            "usage",
        ];
        for name in names {
            let action = Action::parse(name);
            assert!(!matches!(action, Action::Unknown(_)), "{name}");
            assert_eq!(action.as_str(), name);
            assert_eq!(action.to_string(), name);
        }
        assert_eq!(Action::parse("help"), Action::Usage);
    }

    #[test]
    fn unknown_and_case_sensitive() {
        assert_eq!(Action::parse("Start"), Action::Unknown("Start".into()));
        assert_eq!(
            Action::parse("meta_data"),
            Action::Unknown("meta_data".into())
        );
        assert_eq!(Action::parse(""), Action::Unknown(String::new()));
        assert_eq!(
            "bogus".parse::<Action>(),
            Ok(Action::Unknown("bogus".into()))
        );
    }

    #[test]
    fn status_is_a_monitor() {
        assert!(Action::Status.is_monitor());
        assert!(Action::Monitor.is_monitor());
        assert!(!Action::Start.is_monitor());
        assert_ne!(Action::Status, Action::Monitor);
    }
}
