//! `purge -n VM [--date "dd/mm/YYYY HH:MM:SS" | --number N] [--keep N]`: remove many
//! snapshots at once, SEAPATH's way. Only unprotected snapshots are candidates; `--date` takes
//! those created before that instant (UTC), `--number` the N oldest, neither all of them;
//! `--keep K` then spares the K newest candidates. The selection is a pure function
//! ([`select`]).
//!
//! `--date` is read as UTC, not in the node's local time zone as SEAPATH does: the creation
//! times `list-snapshots` shows are UTC, and a purge run from any node of a cluster (or from a
//! timer) then means the same instant whatever the nodes' time zones.

use serde_json::json;

use crate::cli::PurgeArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::Outcome;
use crate::steps::snapshots::{self as snapshot, SnapInfo};

/// Days since 1970-01-01 of a civil date (proleptic Gregorian; H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses SEAPATH's `--date` (`dd/mm/YYYY HH:MM:SS`, read as UTC) into seconds since the epoch.
pub fn parse_date(s: &str) -> Result<u64> {
    let bad = || {
        Error::invalid(format!(
            "Invalid --date {s:?}: expected \"dd/mm/YYYY HH:MM:SS\" (UTC), e.g. \"31/12/2024 23:59:00\"."
        ))
    };
    let (date, time) = s.trim().split_once(' ').ok_or_else(bad)?;
    let num = |p: &str| p.parse::<u32>().map_err(|_| bad());
    let dp: Vec<&str> = date.split('/').collect();
    let tp: Vec<&str> = time.trim().split(':').collect();
    if dp.len() != 3 || tp.len() != 3 || dp[2].len() != 4 {
        return Err(bad());
    }
    let (d, m, y) = (num(dp[0])?, num(dp[1])?, num(dp[2])?);
    let (hh, mm, ss) = (num(tp[0])?, num(tp[1])?, num(tp[2])?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_len = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if y < 1970 || d == 0 || d > month_len || hh > 23 || mm > 59 || ss > 59 {
        return Err(bad());
    }
    let days = days_from_civil(i64::from(y), m, d);
    Ok(days as u64 * 86_400 + u64::from(hh * 3600 + mm * 60 + ss))
}

/// Which snapshots a purge removes, oldest first. `snaps` must be sorted oldest first.
/// Snapshots without a creation time (not made by vm-mgr) count as the oldest.
pub fn select(
    snaps: &[SnapInfo],
    before: Option<u64>,
    number: Option<usize>,
    keep: Option<usize>,
) -> Vec<String> {
    let candidates: Vec<&SnapInfo> = snaps.iter().filter(|s| !s.protected).collect();
    let keep = keep.unwrap_or(0).min(candidates.len());
    let spared = &candidates[..candidates.len() - keep];
    let mut chosen: Vec<&SnapInfo> = match (before, number) {
        (Some(t), _) => spared
            .iter()
            .copied()
            .filter(|s| s.created.unwrap_or(0) < t)
            .collect(),
        (None, Some(n)) => spared.iter().copied().take(n).collect(),
        (None, None) => spared.to_vec(),
    };
    chosen.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));
    chosen.into_iter().map(|s| s.name.clone()).collect()
}

/// The text `purge` prints: what was removed, or why nothing was (the VM has no snapshot, or
/// none matches the selection).
fn summary(name: &str, total: usize, removed: &[String], kept: &[&str]) -> String {
    if !removed.is_empty() {
        format!("{name}: removed snapshots {}\n", removed.join(", "))
    } else if total == 0 {
        format!("{name}: no snapshot to purge (the VM has no snapshots)\n")
    } else {
        format!(
            "{name}: no snapshot to purge (none matches; kept: {})\n",
            kept.join(", ")
        )
    }
}

/// Runs `purge`.
pub fn run(ctx: &Ctx, a: &PurgeArgs) -> Result<Outcome> {
    let before = a.date.as_deref().map(parse_date).transpose()?;
    let name = a.name.as_str();
    let snaps = snapshot::list_snaps(ctx, name)?;
    let chosen = select(&snaps, before, a.number, a.keep);
    let kept: Vec<&str> = snaps
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| !chosen.iter().any(|c| c == n))
        .collect();
    if ctx.dry_run {
        let actions: Vec<String> = chosen
            .iter()
            .map(|s| format!("remove snapshot {s} (group snapshot, disk snapshots, metadata)"))
            .collect();
        return Ok(crate::output::dry_run_outcome(
            name, "purge", &actions, None,
        ));
    }
    let disks = snapshot::vm_disks(ctx, name)?;
    let mut removed = Vec::new();
    for s in &chosen {
        ctx.progress.say(&format!("{name}: removing snapshot {s}"));
        let problems = snapshot::drop_snapshot(ctx, name, s, &disks);
        if let Some(p) = problems.first() {
            return Err(Error::invalid(format!(
                "Purging VM {name} stopped at snapshot {s}: {p} (removed before it: {}).",
                if removed.is_empty() {
                    "none".to_owned()
                } else {
                    removed.join(", ")
                }
            )));
        }
        removed.push(s.clone());
    }
    let text = summary(name, snaps.len(), &removed, &kept);
    Ok(Outcome::new(
        json!({"name": name, "removed": removed, "kept": kept}),
        text,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::format_utc;

    fn snap(name: &str, created: u64, protected: bool) -> SnapInfo {
        SnapInfo {
            name: name.into(),
            created: Some(created),
            created_at: Some(format_utc(created)),
            consistency: Some("stopped".into()),
            protected,
            complete: true,
        }
    }

    fn five() -> Vec<SnapInfo> {
        vec![
            snap("a", 100, false),
            snap("b", 200, true),
            snap("c", 300, false),
            snap("d", 400, false),
            snap("e", 500, false),
        ]
    }

    #[test]
    fn dates_round_trip_through_seapath_format() {
        assert_eq!(parse_date("01/01/1970 00:00:00").unwrap(), 0);
        assert_eq!(parse_date("29/02/2024 12:34:56").unwrap(), 1_709_210_096);
        assert_eq!(format_utc(1_709_210_096), "2024-02-29T12:34:56Z");
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        for bad in [
            "2024-02-29 12:00:00",
            "29/02/2023 12:00:00",
            "31/04/2024 00:00:00",
            "01/01/2024",
            "01/13/2024 00:00:00",
            "01/01/2024 24:00:00",
            "x/01/2024 00:00:00",
        ] {
            let e = parse_date(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn purge_says_why_nothing_was_removed() {
        assert_eq!(
            summary("vm1", 0, &[], &[]),
            "vm1: no snapshot to purge (the VM has no snapshots)\n"
        );
        assert_eq!(
            summary("vm1", 2, &[], &["a", "b"]),
            "vm1: no snapshot to purge (none matches; kept: a, b)\n"
        );
        assert_eq!(
            summary("vm1", 2, &["a".into()], &["b"]),
            "vm1: removed snapshots a\n"
        );
    }

    #[test]
    fn purge_selects_like_seapath_and_keeps_the_newest() {
        let s = five();
        // Neither: every unprotected snapshot.
        assert_eq!(select(&s, None, None, None), ["a", "c", "d", "e"]);
        // --date: older than.
        assert_eq!(select(&s, Some(350), None, None), ["a", "c"]);
        assert_eq!(select(&s, Some(100), None, None), Vec::<String>::new());
        // --number: the N oldest unprotected.
        assert_eq!(select(&s, None, Some(2), None), ["a", "c"]);
        assert_eq!(select(&s, None, Some(9), None), ["a", "c", "d", "e"]);
        // --keep: the K newest candidates are spared.
        assert_eq!(select(&s, None, None, Some(2)), ["a", "c"]);
        assert_eq!(select(&s, None, Some(3), Some(2)), ["a", "c"]);
        assert_eq!(select(&s, Some(1000), None, Some(1)), ["a", "c", "d"]);
        assert_eq!(select(&s, None, None, Some(10)), Vec::<String>::new());
        assert_eq!(select(&[], None, None, Some(1)), Vec::<String>::new());
    }
}
