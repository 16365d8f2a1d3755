//! The RBD trash: deferred deletion of images (`rbd trash mv --expires-at`, `ls`, `restore`,
//! `rm`). Methods of [`Ceph`] and the pure parser of `rbd trash ls --long --format json`.
//!
//! Facts (Ceph 16.2.15, recorded in `tests/fixtures/ceph/rbd-trash-*`):
//! - A trashed image keeps its metadata and snapshots; `rbd trash restore` brings it back under
//!   its name with both.
//! - `--expires-at` is read, and `deleted_at`/`status` are printed, in the `rbd` process's
//!   local time (`TZ`); every call here runs `rbd` with `TZ=UTC`, so both are UTC.
//! - `status` is `protected until DATE` before the deferment ends, `expired at DATE` after;
//!   `rbd trash rm` of a protected image exits 1 unless `--force`.
//! - An expiry in the past is stored as 2106 (an unsigned wrap): callers give a future one.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde::Deserialize;

use super::client::Ceph;
use super::error::CephError;
use super::names::{validate_name, ImageSpec};
use super::pool::pool_spec;
use crate::cmd::Cmd;

/// One image in the trash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashEntry {
    /// The image id (what `restore` and `rm` take).
    pub id: String,
    /// The image name it had (and gets back).
    pub name: String,
    /// Who trashed it: `USER` (`rbd trash mv`), `MIRRORING`, `MIGRATION`, `REMOVING`.
    pub source: String,
    /// When it was trashed, in seconds since the epoch.
    pub deleted_at: i64,
    /// When its deferment ends, in seconds since the epoch.
    pub expires_at: i64,
    /// Whether the deferment has ended (`expired at ...`): `rbd trash purge` may delete it.
    pub expired: bool,
}

#[derive(Deserialize)]
struct RawEntry {
    id: String,
    name: String,
    #[serde(default)]
    source: String,
    deleted_at: String,
    status: String,
}

/// A `ctime(3)` date as `rbd` prints it (`Thu Dec  3 10:55:12 2026`), read in `tz`.
pub fn parse_ctime(text: &str, tz: &TimeZone) -> Result<i64, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    let dt = DateTime::strptime("%a %b %d %H:%M:%S %Y", &joined)
        .map_err(|e| format!("date {text:?}: {e}"))?;
    tz.to_timestamp(dt)
        .map(|t| t.as_second())
        .map_err(|e| format!("date {text:?}: {e}"))
}

/// Parses `rbd trash ls --long --format json` (printed with `TZ=UTC`).
pub fn parse_trash_list(text: &str) -> Result<Vec<TrashEntry>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let raw: Vec<RawEntry> =
        serde_json::from_str(text.trim()).map_err(|e| format!("rbd trash ls: {e}"))?;
    raw.into_iter()
        .map(|r| {
            let (expired, date) = if let Some(d) = r.status.strip_prefix("protected until ") {
                (false, d)
            } else if let Some(d) = r.status.strip_prefix("expired at ") {
                (true, d)
            } else {
                return Err(format!("rbd trash ls: unknown status {:?}", r.status));
            };
            Ok(TrashEntry {
                expires_at: parse_ctime(date, &TimeZone::UTC)?,
                deleted_at: parse_ctime(&r.deleted_at, &TimeZone::UTC)?,
                id: r.id,
                name: r.name,
                source: r.source,
                expired,
            })
        })
        .collect()
}

/// `secs` since the epoch as `--expires-at` takes it (`YYYY-MM-DD HH:MM:SS`, read as UTC since
/// `rbd` runs with `TZ=UTC`).
pub fn expires_at_arg(secs: i64) -> Result<String, CephError> {
    let t = jiff::Timestamp::from_second(secs).map_err(|_| CephError::InvalidName {
        what: "trash expiry",
        value: secs.to_string(),
        reason: "is out of range",
    })?;
    Ok(t.to_zoned_datetime(TimeZone::UTC)
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string())
}

/// `pool[/ns]/id`, validated.
fn trash_spec(pool: &str, namespace: &str, id: &str) -> Result<String, CephError> {
    validate_name("trash image id", id)?;
    Ok(format!("{}/{id}", pool_spec(pool, namespace)?))
}

impl Ceph {
    fn rbd_utc(&self) -> Cmd {
        self.rbd().env("TZ", "UTC")
    }

    /// `rbd trash mv --expires-at DATE IMAGE`: the image leaves `rbd ls` (and its group's
    /// listing), keeping its data, snapshots and metadata, until `expires_at` (seconds since
    /// the epoch) or a `trash rm`.
    pub fn trash_move(&self, image: &ImageSpec, expires_at: i64) -> Result<(), CephError> {
        let c = self
            .rbd_utc()
            .args(["trash", "mv", "--expires-at"])
            .arg(expires_at_arg(expires_at)?)
            .arg(image.image_path());
        self.run(c).map(drop)
    }

    /// `rbd trash ls --long --format json POOL[/NS]`: the images in the pool's trash.
    pub fn trash_list(&self, pool: &str, namespace: &str) -> Result<Vec<TrashEntry>, CephError> {
        let c = self
            .rbd_utc()
            .args(["trash", "ls", "--long", "--format", "json"])
            .arg(pool_spec(pool, namespace)?);
        self.parse(c, parse_trash_list)
    }

    /// `rbd trash restore POOL[/NS]/ID`: the image back under its name (which must be free).
    pub fn trash_restore(&self, pool: &str, namespace: &str, id: &str) -> Result<(), CephError> {
        let c = self
            .rbd()
            .args(["trash", "restore"])
            .arg(trash_spec(pool, namespace, id)?);
        self.run(c).map(drop)
    }

    /// `rbd trash rm --force --no-progress POOL[/NS]/ID`: deletes the image now, deferment or
    /// not.
    pub fn trash_remove(&self, pool: &str, namespace: &str, id: &str) -> Result<(), CephError> {
        let c = self
            .rbd_long()
            .args(["trash", "rm", "--force", "--no-progress"])
            .arg(trash_spec(pool, namespace, id)?);
        self.run(c).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ceph::error::classify;

    #[test]
    fn parses_recorded_trash_listing() {
        let l = parse_trash_list(fixture!("rbd-trash-ls-long.out")).unwrap();
        assert_eq!(l.len(), 6);
        assert_eq!(l[1].id, "10169d95ab58");
        assert_eq!(l[1].name, "data_t1_1");
        assert_eq!(l[1].source, "USER");
        assert!(!l[1].expired);
        // Thu Dec  3 10:55:00 2026 UTC and Thu Dec 10 09:59:59 2026 UTC
        assert_eq!(l[1].deleted_at, 1_796_295_300);
        assert_eq!(l[1].expires_at, 1_796_896_799);
        // an expiry given in the past wraps to 2106
        assert!(l[0].expires_at > 4_000_000_000);
        let last = &l[5];
        assert_eq!(last.name, "system_fx2");
        assert!(last.expired);
        assert_eq!(last.expires_at - last.deleted_at, 1);
        assert!(parse_trash_list(fixture!("rbd-trash-ls-long-empty.out"))
            .unwrap()
            .is_empty());
        assert!(parse_trash_list("").unwrap().is_empty());
    }

    #[test]
    fn refuses_what_is_not_a_trash_listing() {
        assert!(parse_trash_list("{").is_err());
        let bad_status = r#"[{"id":"1","name":"a","source":"USER","deleted_at":"Thu Dec  3 10:55:00 2026","status":"busy"}]"#;
        assert!(parse_trash_list(bad_status).unwrap_err().contains("busy"));
        let bad_date = r#"[{"id":"1","name":"a","source":"USER","deleted_at":"yesterday","status":"expired at Thu Dec  3 10:55:00 2026"}]"#;
        assert!(parse_trash_list(bad_date)
            .unwrap_err()
            .contains("yesterday"));
    }

    #[test]
    fn dates_are_read_and_written_in_utc() {
        assert_eq!(
            parse_ctime("Thu Dec  3 10:55:00 2026", &TimeZone::UTC).unwrap(),
            1_796_295_300
        );
        assert_eq!(
            expires_at_arg(1_796_896_799).unwrap(),
            "2026-12-10 09:59:59"
        );
        assert!(expires_at_arg(i64::MAX).is_err());
    }

    /// The error `rbd` gave in a recorded fixture (its exit code and stderr), classified.
    fn recorded(rc: &str, err: &str) -> CephError {
        classify("rbd".into(), rc.trim().parse().ok(), err.into(), "rbd")
    }

    #[test]
    fn recorded_trash_errors_are_classified() {
        let e = recorded(
            fixture!("rbd-trash-mv-missing.rc"),
            fixture!("rbd-trash-mv-missing.err"),
        );
        assert!(e.is_not_found(), "{e}");
        let e = recorded(
            fixture!("rbd-trash-restore-missing.rc"),
            fixture!("rbd-trash-restore-missing.err"),
        );
        assert!(e.is_not_found(), "{e}");
        // a protected image is refused without --force: an error, neither "missing" nor "down"
        let e = recorded(
            fixture!("rbd-trash-rm-protected.rc"),
            fixture!("rbd-trash-rm-protected.err"),
        );
        assert!(!e.is_not_found() && !e.is_unreachable(), "{e}");
        assert!(e.to_string().contains("--force"), "{e}");
    }

    #[test]
    fn ids_and_pools_are_checked_before_any_argv() {
        assert_eq!(
            trash_spec("rbd", "", "10169d95ab58").unwrap(),
            "rbd/10169d95ab58"
        );
        assert_eq!(trash_spec("rbd", "ns", "1a").unwrap(), "rbd/ns/1a");
        assert!(trash_spec("rbd", "", "-x").is_err());
        assert!(trash_spec("rbd", "", "a/b").is_err());
        assert!(trash_spec("-rbd", "", "1").is_err());
    }
}
