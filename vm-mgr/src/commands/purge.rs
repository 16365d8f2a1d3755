//! `purge -n VM [--date "dd/mm/YYYY HH:MM:SS" | --number N] [--keep N]`: remove many
//! snapshots at once, SEAPATH's way. Only unprotected snapshots are candidates; `--date` takes
//! those created before that instant, `--number` the N oldest, neither all of them;
//! `--keep K` then spares the K newest candidates. The selection is a pure function
//! ([`select`]).
//!
//! `--date` is read as SEAPATH's vm_manager reads it: `dd/mm/YYYY HH:MM:SS` in the node's local
//! time zone. ISO 8601 / RFC 3339 is accepted too; with `Z` or an offset
//! (`2026-11-01T00:00:00Z`) it means the same instant on every node whatever its time zone,
//! which is what a timer run on any node of a cluster wants. Parsing is [`shared::clock`]'s.

use serde_json::json;
use shared::clock;

use crate::cli::PurgeArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::Outcome;
use crate::steps::snapshots::{self as snapshot, SnapInfo};

/// Parses `--date` (see [`clock::DATE_FORMATS`]; without an offset, local time) into the
/// instant before which snapshots are removed, in seconds since the epoch (0 for a date before
/// 1970: no snapshot is older).
pub fn parse_date(s: &str) -> Result<u64> {
    let secs = clock::parse_date(s).map_err(|e| Error::invalid(format!("--date: {e}.")))?;
    Ok(u64::try_from(secs).unwrap_or(0))
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

    fn snap(name: &str, created: u64, protected: bool) -> SnapInfo {
        SnapInfo {
            name: name.into(),
            created: Some(created),
            created_at: Some(clock::utc_secs(created)),
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
    fn bad_dates_are_usage_errors() {
        // The formats, time zones and calendar are tested in shared::clock.
        assert_eq!(parse_date("2026-11-01T00:00:00Z").unwrap(), 1_793_491_200);
        assert_eq!(
            parse_date("29/02/2024 12:34:56Z").unwrap_err().exit_code(),
            2
        );
        for bad in [
            "29/02/2023 12:00:00",
            "31/04/2024 00:00:00",
            "01/01/2024",
            "01/13/2024 00:00:00",
            "01/01/2024 24:00:00",
            "x/01/2024 00:00:00",
            "2024-02-30 12:00:00",
        ] {
            let e = parse_date(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains("dd/mm/YYYY HH:MM:SS"), "{e}");
        }
        // Before 1970 (any time zone): nothing is older.
        assert_eq!(parse_date("01/01/1900 00:00:00").unwrap(), 0);
        assert_eq!(parse_date("1969-12-31T23:59:59Z").unwrap(), 0);
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
