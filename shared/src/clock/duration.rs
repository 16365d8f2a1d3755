//! Pacemaker durations: a whole number with an optional unit.

use std::time::Duration;

use super::{excerpt, ClockError};

/// The unit of a number written without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds, as Pacemaker passes `OCF_RESKEY_CRM_meta_timeout` and `_interval`.
    Millis,
    /// Seconds, as Pacemaker reads an op's `timeout` or `interval` in the CIB.
    Secs,
}

/// The longest duration accepted: 2³² − 1 ms (about 49.7 days), the most Pacemaker itself
/// keeps (its operation intervals and timeouts are 32-bit millisecond counts). The ceiling also
/// keeps sums of a few durations far from overflowing.
pub const MAX_DURATION: Duration = Duration::from_millis(u32::MAX as u64);

/// Parses a duration as Pacemaker writes them: a whole non-negative number, optional spaces,
/// and an optional unit, case-insensitive: `ms`/`msec`, `us`/`usec`, `s`/`sec`, `m`/`min`,
/// `h`/`hr`; without a unit the number is in `bare` units. Examples: "20s", "2min", "1500ms",
/// "90" (with [`Unit::Secs`]: 90 s; with [`Unit::Millis`]: 90 ms).
///
/// Zero is a valid duration (callers decide what 0 means). Signs, fractions, unknown units and
/// values over [`MAX_DURATION`] are errors.
pub fn parse_duration(s: &str, bare: Unit) -> Result<Duration, ClockError> {
    let bad = |reason| ClockError::Duration {
        input: excerpt(s),
        reason,
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(bad("empty"));
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(bad("expected a whole non-negative number, then a unit"));
    }
    let unit = unit.trim_start().to_ascii_lowercase();
    let nanos_per: u128 = match unit.as_str() {
        "" => match bare {
            Unit::Millis => 1_000_000,
            Unit::Secs => 1_000_000_000,
        },
        "us" | "usec" => 1_000,
        "ms" | "msec" => 1_000_000,
        "s" | "sec" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" | "hr" => 3_600_000_000_000,
        _ if unit.starts_with(['.', ',']) => return Err(bad("fractions are not accepted")),
        _ => return Err(bad("unknown unit (expected ms, us, s, min or h)")),
    };
    let too_large = || bad("too large (the most is 4294967295 ms, about 49 days)");
    // A u64 always fits in a u128, and so does its product with an hour in nanoseconds.
    let n: u64 = num.parse().map_err(|_| too_large())?;
    let nanos = u128::from(n).checked_mul(nanos_per).ok_or_else(too_large)?;
    if nanos > MAX_DURATION.as_nanos() {
        return Err(too_large());
    }
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| too_large())?;
    let sub = u32::try_from(nanos % 1_000_000_000).map_err(|_| too_large())?;
    Ok(Duration::new(secs, sub))
}
