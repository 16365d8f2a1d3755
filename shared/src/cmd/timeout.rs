//! Deadlines of OCF actions, from the timeout Pacemaker gives them.

use std::time::{Duration, Instant};

/// Deadline for the external commands of an OCF action that Pacemaker gave `timeout`.
///
/// The rule: `start + timeout − margin`, with `margin = max(2 s, timeout / 10)` so that the
/// agent has time to kill a hung command (the default kill grace is 2 s) and report. If that
/// leaves less than 1 s, the usable time is `min(1 s, timeout / 2)` instead. Examples: 20 s →
/// 18 s, 60 s → 54 s, 100 s → 90 s, 3 s → 1 s, 1.5 s → 0.75 s.
pub fn deadline_from_timeout(start: Instant, timeout: Duration) -> Instant {
    let margin = (timeout / 10).max(Duration::from_secs(2));
    let mut usable = timeout.saturating_sub(margin);
    if usable < Duration::from_secs(1) {
        usable = (timeout / 2).min(Duration::from_secs(1));
    }
    start + usable
}

/// Parses `OCF_RESKEY_CRM_meta_timeout`: milliseconds as Pacemaker passes them ("20000").
///
/// Defensively also accepts a number with a unit, as in a CIB: `ms`/`msec`, `us`/`usec`,
/// `s`/`sec`, `m`/`min`, `h`/`hr` (case-insensitive, optional space: "20s", "2min").
/// Zero, negative, fractional, overflowing or malformed values give `None` (Pacemaker uses 0
/// for "not set"; the caller applies its default).
pub fn parse_timeout_ms(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let d = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "msec" => Duration::from_millis(n),
        "us" | "usec" => Duration::from_micros(n),
        "s" | "sec" => Duration::from_secs(n),
        "m" | "min" => Duration::from_secs(n.checked_mul(60)?),
        "h" | "hr" => Duration::from_secs(n.checked_mul(3600)?),
        _ => return None,
    };
    (!d.is_zero()).then_some(d)
}
