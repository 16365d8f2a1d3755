//! The one clock of the workspace: durations, timestamps and dates.
//!
//! - **Durations** ([`parse_duration`]): Pacemaker operation timeouts and intervals ("20s",
//!   "2min", "90", "1500ms", "1h"), in whole units, with checked arithmetic and a ceiling
//!   ([`MAX_DURATION`]): a value too large is an error, never a panic or a wrap.
//! - **Now** ([`since_epoch`], [`unix_secs`]): the wall clock as time since the Unix epoch.
//! - **Timestamps**: UTC RFC 3339 text for logs ([`utc_millis`]) and outputs ([`utc_secs`]),
//!   and Pacemaker's date format for rule expressions ([`pacemaker_date`]).
//! - **Dates typed by people** ([`parse_date`]): `vm-mgr purge --date`, SEAPATH's
//!   `dd/mm/YYYY HH:MM:SS` in the node's local time zone, and ISO 8601 / RFC 3339.
//!
//! Calendar arithmetic and time zones are [`jiff`]'s (the system time zone: `TZ`, else
//! `/etc/localtime`, with the system's `/usr/share/zoneinfo`); no other code in the workspace
//! converts between day counts and civil dates.

mod date;
mod duration;
#[cfg(test)]
mod tests;

pub use date::{
    format_in, format_local, pacemaker_date, parse_date, parse_pacemaker_time,
    parse_pacemaker_time_utc, since_epoch, unix_secs, utc_millis, utc_secs, DATE_FORMATS,
};
pub use duration::{parse_duration, Unit, MAX_DURATION};

/// Why a duration or a date was refused.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    /// A duration ("20s", "2min") that is malformed, negative, fractional or too large.
    #[error("invalid duration {input:?}: {reason}")]
    Duration {
        /// The refused text (at most 64 characters of it).
        input: String,
        /// Why.
        reason: &'static str,
    },
    /// A date that matches none of the [accepted formats](DATE_FORMATS), or names no real
    /// instant (31 April, hour 24 ...).
    #[error("invalid date {input:?}: {source}; accepted: {DATE_FORMATS}")]
    Date {
        /// The refused text (at most 64 characters of it).
        input: String,
        /// What the calendar library found wrong.
        #[source]
        source: jiff::Error,
    },
    /// A date text longer than any accepted format (checked before parsing: the calendar
    /// library's messages quote the text).
    #[error("invalid date {input:?}...: longer than {MAX_DATE_LEN} characters; accepted: {DATE_FORMATS}")]
    DateTooLong {
        /// The start of the refused text.
        input: String,
    },
}

/// The longest date text [`parse_date`] reads.
pub const MAX_DATE_LEN: usize = 64;

/// At most 64 characters of `s`, for error messages (inputs are not trusted to be short).
fn excerpt(s: &str) -> String {
    s.chars().take(64).collect()
}
