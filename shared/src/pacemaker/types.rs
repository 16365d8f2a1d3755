//! Pacemaker vocabularies shared by the status and CIB views: roles, scores, booleans,
//! intervals, and typed attribute access on [`Element`]s.

use std::fmt;
use std::str::FromStr;

use super::error::PacemakerError;
use crate::xml::Element;

/// The role of a resource instance.
///
/// Mirrors Pacemaker's `enum rsc_role_e` (include/crm/common/roles.h) and, for `crm_mon`'s
/// `role` attribute while an action is pending, the states of `native_pending_state()`
/// (lib/pengine/native.c). Pacemaker 2.1 writes "Promoted"/"Unpromoted"; older versions and
/// old CIBs say "Master"/"Slave", which map to the same variants. Parsing ignores case (the
/// CIB accepts `target-role="started"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Role {
    /// "Stopped".
    #[default]
    Stopped,
    /// "Started".
    Started,
    /// "Unpromoted" (formerly "Slave").
    Unpromoted,
    /// "Promoted" (formerly "Master").
    Promoted,
    /// A start is in progress ("Starting").
    Starting,
    /// A stop is in progress ("Stopping").
    Stopping,
    /// A live migration is in progress ("Migrating").
    Migrating,
    /// A promotion is in progress ("Promoting").
    Promoting,
    /// A demotion is in progress ("Demoting").
    Demoting,
    /// Anything else, as written (Pacemaker's own "Unknown" included).
    Unknown(String),
}

impl Role {
    /// Parses a role name; never fails (unknown names become [`Role::Unknown`]).
    pub fn parse(s: &str) -> Role {
        let known = [
            ("stopped", Role::Stopped),
            ("started", Role::Started),
            ("unpromoted", Role::Unpromoted),
            ("slave", Role::Unpromoted),
            ("promoted", Role::Promoted),
            ("master", Role::Promoted),
            ("starting", Role::Starting),
            ("stopping", Role::Stopping),
            ("migrating", Role::Migrating),
            ("promoting", Role::Promoting),
            ("demoting", Role::Demoting),
        ];
        known
            .into_iter()
            .find(|(name, _)| s.trim().eq_ignore_ascii_case(name))
            .map(|(_, role)| role)
            .unwrap_or_else(|| Role::Unknown(s.to_string()))
    }

    /// The Pacemaker 2.1 spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Role::Stopped => "Stopped",
            Role::Started => "Started",
            Role::Unpromoted => "Unpromoted",
            Role::Promoted => "Promoted",
            Role::Starting => "Starting",
            Role::Stopping => "Stopping",
            Role::Migrating => "Migrating",
            Role::Promoting => "Promoting",
            Role::Demoting => "Demoting",
            Role::Unknown(s) => s,
        }
    }
}

impl FromStr for Role {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Role, Self::Err> {
        Ok(Role::parse(s))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Pacemaker score: an integer clamped to ±1,000,000, which Pacemaker calls ±INFINITY
/// (include/crm/common/scores.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(pub i64);

impl Score {
    /// `INFINITY` (1,000,000).
    pub const INFINITY: Score = Score(1_000_000);
    /// `-INFINITY` (-1,000,000).
    pub const MINUS_INFINITY: Score = Score(-1_000_000);

    /// Parses "INFINITY", "+INFINITY", "-INFINITY" (any case) or an integer (clamped).
    /// Returns `None` for anything else (Pacemaker's node-health colours included).
    pub fn parse(s: &str) -> Option<Score> {
        let s = s.trim();
        let (negative, magnitude) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        if magnitude.eq_ignore_ascii_case("INFINITY") {
            return Some(if negative {
                Score::MINUS_INFINITY
            } else {
                Score::INFINITY
            });
        }
        if magnitude.is_empty() || !magnitude.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Anything longer than the digits of i64 is beyond INFINITY anyway.
        let value: i64 = magnitude.parse().unwrap_or(i64::MAX);
        let value = value.min(Score::INFINITY.0);
        Some(Score(if negative { -value } else { value }))
    }

    /// Whether the score is +INFINITY ("must").
    pub fn is_infinity(self) -> bool {
        self >= Score::INFINITY
    }

    /// Whether the score is -INFINITY ("must not").
    pub fn is_minus_infinity(self) -> bool {
        self <= Score::MINUS_INFINITY
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_infinity() {
            f.write_str("INFINITY")
        } else if self.is_minus_infinity() {
            f.write_str("-INFINITY")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// Pacemaker's idea of a true value (`crm_is_true()`): "true", "on", "yes", "y", "1", any case.
pub fn is_true(s: &str) -> bool {
    ["true", "on", "yes", "y", "1"]
        .iter()
        .any(|t| s.trim().eq_ignore_ascii_case(t))
}

/// Parses a `crm_mon` duration in milliseconds: "10000ms", or a bare "10000".
pub fn parse_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    s.strip_suffix("ms").unwrap_or(s).trim().parse().ok()
}

/// A boolean attribute; missing or unrecognised values are false.
pub(crate) fn flag(e: &Element, name: &str) -> bool {
    e.attr(name).is_some_and(is_true)
}

/// An optional boolean attribute.
pub(crate) fn opt_flag(e: &Element, name: &str) -> Option<bool> {
    e.attr(name).map(is_true)
}

/// An optional string attribute, owned.
pub(crate) fn opt_string(e: &Element, name: &str) -> Option<String> {
    e.attr(name).map(str::to_string)
}

/// A mandatory attribute: an error naming the element and `what` is parsed when it is missing.
pub(crate) fn required(e: &Element, name: &str, what: &str) -> Result<String, PacemakerError> {
    e.attr(name)
        .map(str::to_string)
        .ok_or_else(|| PacemakerError::parse(what, format!("<{}> has no {name} attribute", e.name)))
}

/// An optional number; present but not a number is an error.
pub(crate) fn opt_num<T: FromStr>(
    e: &Element,
    name: &str,
    what: &str,
) -> Result<Option<T>, PacemakerError> {
    match e.attr(name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| {
            PacemakerError::parse(what, format!("<{}> has {name}={v:?}, not a number", e.name))
        }),
    }
}

/// A number that defaults to zero when missing; present but not a number is an error.
pub(crate) fn num_or_zero<T: FromStr + Default>(
    e: &Element,
    name: &str,
    what: &str,
) -> Result<T, PacemakerError> {
    Ok(opt_num(e, name, what)?.unwrap_or_default())
}

/// An optional duration in milliseconds ("10000ms"); present but malformed is an error.
pub(crate) fn opt_ms(e: &Element, name: &str, what: &str) -> Result<Option<u64>, PacemakerError> {
    match e.attr(name) {
        None => Ok(None),
        Some(v) => parse_ms(v).map(Some).ok_or_else(|| {
            PacemakerError::parse(
                what,
                format!("<{}> has {name}={v:?}, not milliseconds", e.name),
            )
        }),
    }
}

/// An optional score attribute; present but malformed is an error.
pub(crate) fn opt_score(
    e: &Element,
    name: &str,
    what: &str,
) -> Result<Option<Score>, PacemakerError> {
    match e.attr(name) {
        None => Ok(None),
        Some(v) => Score::parse(v).map(Some).ok_or_else(|| {
            PacemakerError::parse(what, format!("<{}> has {name}={v:?}, not a score", e.name))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_map_old_and_new_names() {
        assert_eq!(Role::parse("Promoted"), Role::Promoted);
        assert_eq!(Role::parse("Master"), Role::Promoted);
        assert_eq!(Role::parse("Slave"), Role::Unpromoted);
        assert_eq!(Role::parse("unpromoted"), Role::Unpromoted);
        assert_eq!(Role::parse("started"), Role::Started);
        assert_eq!(Role::parse("Migrating"), Role::Migrating);
        assert_eq!(Role::parse("Unknown"), Role::Unknown("Unknown".into()));
        assert_eq!("Stopped".parse::<Role>().unwrap(), Role::Stopped);
        assert_eq!(Role::parse("Master").to_string(), "Promoted");
        assert_eq!(Role::parse("Checking").to_string(), "Checking");
    }

    #[test]
    fn scores_understand_infinity_and_clamp() {
        assert_eq!(Score::parse("INFINITY"), Some(Score::INFINITY));
        assert_eq!(Score::parse("+inf"), None);
        assert_eq!(Score::parse("+INFINITY"), Some(Score::INFINITY));
        assert_eq!(Score::parse("-INFINITY"), Some(Score::MINUS_INFINITY));
        assert_eq!(Score::parse("-1000"), Some(Score(-1000)));
        assert_eq!(Score::parse("+5"), Some(Score(5)));
        assert_eq!(Score::parse("-1000000"), Some(Score::MINUS_INFINITY));
        assert_eq!(
            Score::parse("99999999999999999999999"),
            Some(Score::INFINITY)
        );
        assert_eq!(Score::parse("green"), None);
        assert_eq!(Score::parse(""), None);
        assert_eq!(Score::parse("-"), None);
        assert_eq!(Score(2_000_000).to_string(), "INFINITY");
        assert_eq!(Score::MINUS_INFINITY.to_string(), "-INFINITY");
        assert_eq!(Score(50).to_string(), "50");
    }

    #[test]
    fn booleans_and_durations() {
        for t in ["true", "TRUE", "on", "yes", "y", "1"] {
            assert!(is_true(t), "{t}");
        }
        for f in ["false", "0", "off", "", "maybe"] {
            assert!(!is_true(f), "{f}");
        }
        assert_eq!(parse_ms("10000ms"), Some(10_000));
        assert_eq!(parse_ms("0"), Some(0));
        assert_eq!(parse_ms("10s"), None);
    }

    #[test]
    fn typed_attribute_access_reports_the_element() {
        let e = Element::parse("<node id=\"x\" n=\"abc\" t=\"5ms\" s=\"red\"/>", "t").unwrap();
        assert!(required(&e, "name", "crm_mon XML")
            .unwrap_err()
            .to_string()
            .contains("<node> has no name attribute"));
        assert!(opt_num::<u32>(&e, "n", "crm_mon XML")
            .unwrap_err()
            .to_string()
            .contains("n=\"abc\", not a number"));
        assert_eq!(opt_num::<u32>(&e, "missing", "t").unwrap(), None);
        assert_eq!(opt_ms(&e, "t", "t").unwrap(), Some(5));
        assert!(opt_score(&e, "s", "t").is_err());
    }
}
