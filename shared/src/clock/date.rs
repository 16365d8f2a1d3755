//! The wall clock, timestamps, and dates typed by people.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::{excerpt, ClockError};

/// The date formats [`parse_date`] accepts, for help texts and error messages.
pub const DATE_FORMATS: &str = "\"dd/mm/YYYY HH:MM:SS\" (local time, as SEAPATH), \
     \"YYYY-MM-DD HH:MM:SS\" or \"YYYY-MM-DD\" (local time), \
     RFC 3339 with Z or an offset (\"2026-11-01T00:00:00Z\", \"2026-11-01T00:00:00+01:00\")";

/// The wall clock as time since the Unix epoch (zero if the clock is set before 1970).
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The wall clock in whole seconds since the Unix epoch.
pub fn unix_secs() -> u64 {
    since_epoch().as_secs()
}

/// The instant `secs` seconds after the epoch, clamped to the years 0001–9999.
fn instant(secs: u64) -> Timestamp {
    let max = Timestamp::MAX.as_second();
    Timestamp::from_second(i64::try_from(secs).unwrap_or(max).min(max)).unwrap_or(Timestamp::MAX)
}

/// `t` in UTC with milliseconds, `YYYY-MM-DDTHH:MM:SS.mmmZ`, for log lines. A time before the
/// epoch is shown as the epoch.
pub fn utc_millis(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let ts = instant(d.as_secs())
        .checked_add(Duration::from_millis(u64::from(d.subsec_millis())))
        .unwrap_or(Timestamp::MAX);
    format!("{ts:.3}")
}

/// `t` in the time zone `tz` formatted with `strftime`-like `fmt` (jiff's directives: `%b`,
/// `%e`, `%T`, `%F` …), for log headers and file names. A time before the epoch is shown as
/// the epoch.
pub fn format_in(t: SystemTime, tz: &TimeZone, fmt: &str) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    instant(d.as_secs())
        .to_zoned_datetime(tz.clone())
        .strftime(fmt)
        .to_string()
}

/// [`format_in`] the system time zone (`TZ`, else `/etc/localtime`; UTC when neither is
/// usable), as syslog(3) and `date` show local time.
pub fn format_local(t: SystemTime, fmt: &str) -> String {
    format_in(t, &TimeZone::system(), fmt)
}

/// `secs` seconds after the epoch in UTC, RFC 3339: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_secs(secs: u64) -> String {
    format!("{:.0}", instant(secs))
}

/// `secs` seconds after the epoch as a Pacemaker date (`YYYY-MM-DD HH:MM:SSZ`, UTC), as in a
/// `date_expression`'s `end`.
pub fn pacemaker_date(secs: u64) -> String {
    instant(secs).strftime("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// Parses a date typed by a person (`purge --date`) into seconds since the epoch (negative
/// before 1970), reading a date without an offset in the system time zone (`TZ`, else
/// `/etc/localtime`; UTC when neither is usable). Accepted: [`DATE_FORMATS`].
///
/// A local time that a daylight-saving change skips or repeats is read as Python's
/// `datetime.timestamp()` (so SEAPATH's vm_manager) reads it: a skipped time as if the change
/// had not happened yet (02:30 in a 02:00→03:00 gap is 03:30 in summer time), a repeated time
/// as its first occurrence.
pub fn parse_date(s: &str) -> Result<i64, ClockError> {
    parse_date_in(s, &TimeZone::system())
}

/// [`parse_date`] with `tz` as the local time zone.
pub(crate) fn parse_date_in(s: &str, tz: &TimeZone) -> Result<i64, ClockError> {
    let t = s.trim();
    if t.chars().count() > super::MAX_DATE_LEN {
        return Err(ClockError::DateTooLong { input: excerpt(t) });
    }
    let instant = if t.contains('/') {
        DateTime::strptime("%d/%m/%Y %H:%M:%S", t).and_then(|dt| tz.to_timestamp(dt))
    } else {
        t.parse::<Timestamp>().or_else(|with_offset| {
            // No offset: local time. Keep the first error for a text that has an offset.
            let has_offset = t.ends_with(['Z', 'z']) || t.get(10..).is_some_and(has_utc_offset);
            match t.parse::<DateTime>() {
                Ok(dt) if !has_offset => tz.to_timestamp(dt),
                Ok(_) => Err(with_offset),
                Err(e) => Err(if has_offset { with_offset } else { e }),
            }
        })
    };
    instant
        .map(Timestamp::as_second)
        .map_err(|source| ClockError::Date {
            input: excerpt(s),
            source,
        })
}

/// Whether the time part of an ISO 8601 text carries a `+HH:MM` or `-HH:MM` offset.
fn has_utc_offset(time: &str) -> bool {
    time.contains(['+', '-'])
}

/// Parses a time as Pacemaker prints it into seconds since the epoch: ctime format in the
/// answering node's local time (`crm_mon`'s `last-rc-change`, "Thu Dec  3 10:59:31 2026"),
/// or UTC with a Z (`fence_event completed`, `failure last-rc-change`: "2026-11-22
/// 02:10:40Z"). `None` for anything else (or longer than [`super::MAX_DATE_LEN`]).
pub fn parse_pacemaker_time(s: &str) -> Option<i64> {
    parse_pacemaker_time_in(s, &TimeZone::system())
}

/// [`parse_pacemaker_time`] of an output recorded on a node whose local time is UTC (the
/// sandbox's): for tests that must not depend on the time zone of the machine running them.
pub fn parse_pacemaker_time_utc(s: &str) -> Option<i64> {
    parse_pacemaker_time_in(s, &TimeZone::UTC)
}

/// [`parse_pacemaker_time`] with `tz` as the local time zone.
pub(crate) fn parse_pacemaker_time_in(s: &str, tz: &TimeZone) -> Option<i64> {
    let t = s.trim();
    if t.len() > super::MAX_DATE_LEN {
        return None;
    }
    if let Some(utc) = t.strip_suffix('Z') {
        let dt = DateTime::strptime("%Y-%m-%d %H:%M:%S", utc).ok()?;
        return TimeZone::UTC
            .to_timestamp(dt)
            .ok()
            .map(Timestamp::as_second);
    }
    // ctime pads the day with a space ("Dec  3"): one space between fields.
    let one_spaced = t.split_whitespace().collect::<Vec<_>>().join(" ");
    let dt = DateTime::strptime("%a %b %d %H:%M:%S %Y", &one_spaced).ok()?;
    tz.to_timestamp(dt).ok().map(Timestamp::as_second)
}
