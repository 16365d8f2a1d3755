//! Snapshots, clones and copies of RBD images: the [`SnapshotStore`] part of [`Storage`]
//! (a supertrait, so every storage answers it: [`Rbd`] through the `rbd` command line, the
//! in-memory stand-in for tests, [`NoStorage`] refusing), and pure parsers of `rbd … --format
//! json` tested on outputs recorded from Ceph 16.2.15 in
//! `tests/fixtures/ceph/vm-mgr/snapshots/` (its README lists the commands and exit codes).
//!
//! Layout of a vm-mgr snapshot `S` of VM `NAME` (see the fixtures' README for why):
//! - the RBD group snapshot `NAME@S` (one atomic point for every disk; used by rollback);
//! - a user snapshot `IMG@S` of every disk, taken in the same quiesce window (Pacific's CLI
//!   cannot clone, copy or export a group snapshot's `.group.*` image snapshots; clone and
//!   export use these);
//! - metadata keys `_snap_S_xml`, `_snap_S_settings` and `_snap_S_meta` on the system image.
//!
//! [`Storage`]: super::Storage
//! [`NoStorage`]: super::NoStorage

use std::path::Path;
use std::time::Duration;

use shared::cmd::Cmd;

use super::rbd::{is_enoent, Rbd};
use super::{NoStorage, Result, StorageError};

/// Time limit of an `rbd` call that copies data (clone, cp, export, rollback).
pub const COPY_TIMEOUT: Duration = Duration::from_secs(4 * 3600);
/// Time limit of a snapshot metadata call.
pub const SNAP_TIMEOUT: Duration = Duration::from_secs(120);
/// Exit code of `rbd` for "already exists" (EEXIST).
const RBD_EEXIST: i32 = 17;

/// One group snapshot (`rbd group snap ls`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct GroupSnap {
    /// Its name.
    #[serde(rename = "snapshot")]
    pub name: String,
    /// `ok`, or `incomplete` when its creation was interrupted.
    pub state: String,
}

/// The namespace of an image snapshot (`rbd snap ls --all`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapNamespace {
    /// A snapshot taken by name (`rbd snap create`).
    User,
    /// The image's part of group snapshot `group_snap` of `group`.
    Group { group: String, group_snap: String },
    /// Removed while clones still depend on it (clone v2).
    Trash { original_name: String },
    /// Anything newer Ceph releases add (mirror ...).
    Other(String),
}

/// One snapshot of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSnap {
    /// Snapshot id.
    pub id: u64,
    /// Name (`.group.*` for group snapshots).
    pub name: String,
    /// `rbd snap protect`ed.
    pub protected: bool,
    /// Ceph's creation time, as printed (`Sun Nov 22 02:50:36 2026`).
    pub timestamp: String,
    /// Namespace.
    pub namespace: SnapNamespace,
}

impl ImageSnap {
    /// Whether this is the image's part of group snapshot `snap`.
    pub fn is_group_snap(&self, snap: &str) -> bool {
        matches!(&self.namespace, SnapNamespace::Group { group_snap, .. } if group_snap == snap)
    }

    /// Whether this is the user snapshot `snap`.
    pub fn is_user_snap(&self, snap: &str) -> bool {
        self.namespace == SnapNamespace::User && self.name == snap
    }
}

fn parse_err(what: &str, detail: impl std::fmt::Display) -> StorageError {
    StorageError::Parse {
        what: what.to_owned(),
        detail: detail.to_string(),
    }
}

/// Parses `rbd group snap ls --format json` (`[]` also for a missing group).
pub fn parse_group_snaps(json: &str) -> Result<Vec<GroupSnap>> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(json).map_err(|e| parse_err("rbd group snap ls", e))
}

/// Parses `rbd snap ls --all --format json`.
pub fn parse_image_snaps(json: &str) -> Result<Vec<ImageSnap>> {
    #[derive(serde::Deserialize)]
    struct Raw {
        id: u64,
        name: String,
        #[serde(default)]
        protected: String,
        #[serde(default)]
        timestamp: String,
        #[serde(default)]
        namespace: Option<serde_json::Value>,
    }
    const WHAT: &str = "rbd snap ls";
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let raw: Vec<Raw> = serde_json::from_str(json).map_err(|e| parse_err(WHAT, e))?;
    raw.into_iter()
        .map(|r| {
            let ns = r
                .namespace
                .unwrap_or_else(|| serde_json::json!({"type": "user"}));
            let field = |k: &str| ns[k].as_str().unwrap_or_default().to_owned();
            let namespace = match ns["type"].as_str() {
                Some("user") => SnapNamespace::User,
                Some("group") => SnapNamespace::Group {
                    group: field("group"),
                    group_snap: field("group snap"),
                },
                Some("trash") => SnapNamespace::Trash {
                    original_name: field("original_name"),
                },
                Some(other) => SnapNamespace::Other(other.to_owned()),
                None => return Err(parse_err(WHAT, format!("snapshot {} has no type", r.name))),
            };
            Ok(ImageSnap {
                id: r.id,
                name: r.name,
                protected: r.protected == "true",
                timestamp: r.timestamp,
                namespace,
            })
        })
        .collect()
}

/// Snapshot operations of a storage. Every method refuses by default (for `--no-storage`).
pub trait SnapshotStore {
    /// `rbd group snap create GROUP@SNAP`.
    fn group_snap_create(&self, _group: &str, _snap: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
    /// The group's snapshots (empty if the group does not exist).
    fn group_snap_list(&self, _group: &str) -> Result<Vec<GroupSnap>> {
        Err(StorageError::Disabled)
    }
    /// Removes group snapshot `snap` (no error if it does not exist).
    fn group_snap_remove(&self, _group: &str, _snap: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
    /// Rolls every image of the group back to group snapshot `snap`.
    fn group_snap_rollback(&self, _group: &str, _snap: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
    /// Every snapshot of `image`, all namespaces.
    fn image_snaps(&self, _image: &str) -> Result<Vec<ImageSnap>> {
        Err(StorageError::Disabled)
    }
    /// `rbd snap create IMAGE@SNAP`.
    fn snap_create(&self, _image: &str, _snap: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
    /// Removes user snapshot `snap` of `image` (no error if it does not exist); one that
    /// clones depend on moves to Ceph's trash until they are gone.
    fn snap_remove(&self, _image: &str, _snap: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
    /// Copy-on-write clone of `image@snap` into the new image `dst`.
    fn clone_image(&self, _image: &str, _snap: &str, _dst: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
    /// Independent copy of `image@snap` into the new image `dst`.
    fn copy_image(&self, _image: &str, _snap: &str, _dst: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
    /// Writes the content of `image@snap` to the new file `path` (raw).
    fn export_image(&self, _image: &str, _snap: &str, _path: &Path) -> Result<()> {
        Err(StorageError::Disabled)
    }
}

impl SnapshotStore for NoStorage {}

impl Rbd {
    fn spec_of(&self, name: &str) -> String {
        format!("{}/{name}", super::Storage::pool(self))
    }

    /// Runs `rbd ARGS` within `timeout`; ENOENT becomes NotFound(`what`), EEXIST with
    /// `exists` set becomes [`StorageError::Exists`].
    fn snap_run(&self, args: &[&str], timeout: Duration, what: &str) -> Result<String> {
        let argv = self.argv("rbd", args);
        match Cmd::new(&argv[0]).args(&argv[1..]).timeout(timeout).run() {
            Ok(out) => Ok(out.stdout_str()),
            Err(e) if is_enoent(&e) => Err(StorageError::NotFound {
                what: what.to_owned(),
            }),
            Err(e) if e.exit_code() == Some(RBD_EEXIST) => Err(StorageError::Exists {
                what: what.to_owned(),
            }),
            Err(e) => Err(e.into()),
        }
    }
}

impl SnapshotStore for Rbd {
    fn group_snap_create(&self, group: &str, snap: &str) -> Result<()> {
        let spec = format!("{}@{snap}", self.spec_of(group));
        self.snap_run(
            &["group", "snap", "create", &spec],
            SNAP_TIMEOUT,
            &format!("Group snapshot {spec}"),
        )
        .map(drop)
    }

    fn group_snap_list(&self, group: &str) -> Result<Vec<GroupSnap>> {
        let spec = self.spec_of(group);
        match self.snap_run(
            &["group", "snap", "ls", "--format", "json", &spec],
            SNAP_TIMEOUT,
            &format!("RBD group {spec}"),
        ) {
            Ok(out) => parse_group_snaps(&out),
            Err(StorageError::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    fn group_snap_remove(&self, group: &str, snap: &str) -> Result<()> {
        let spec = format!("{}@{snap}", self.spec_of(group));
        match self.snap_run(&["group", "snap", "rm", &spec], SNAP_TIMEOUT, &spec) {
            Ok(_) | Err(StorageError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn group_snap_rollback(&self, group: &str, snap: &str) -> Result<()> {
        let spec = format!("{}@{snap}", self.spec_of(group));
        self.snap_run(
            &["group", "snap", "rollback", "--no-progress", &spec],
            COPY_TIMEOUT,
            &format!("Group snapshot {spec}"),
        )
        .map(drop)
    }

    fn image_snaps(&self, image: &str) -> Result<Vec<ImageSnap>> {
        let spec = self.spec_of(image);
        let out = self.snap_run(
            &["snap", "ls", "--all", "--format", "json", &spec],
            SNAP_TIMEOUT,
            &format!("RBD image {spec}"),
        )?;
        parse_image_snaps(&out)
    }

    fn snap_create(&self, image: &str, snap: &str) -> Result<()> {
        let spec = format!("{}@{snap}", self.spec_of(image));
        self.snap_run(
            &["snap", "create", "--no-progress", &spec],
            SNAP_TIMEOUT,
            &format!("Snapshot {spec}"),
        )
        .map(drop)
    }

    fn snap_remove(&self, image: &str, snap: &str) -> Result<()> {
        let spec = format!("{}@{snap}", self.spec_of(image));
        match self.snap_run(&["snap", "rm", "--no-progress", &spec], SNAP_TIMEOUT, &spec) {
            Ok(_) | Err(StorageError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn clone_image(&self, image: &str, snap: &str, dst: &str) -> Result<()> {
        let src = format!("{}@{snap}", self.spec_of(image));
        let dst = self.spec_of(dst);
        self.snap_run(
            &["clone", &src, &dst],
            COPY_TIMEOUT,
            &format!("Snapshot {src} or image {dst}"),
        )
        .map(drop)
    }

    fn copy_image(&self, image: &str, snap: &str, dst: &str) -> Result<()> {
        let src = format!("{}@{snap}", self.spec_of(image));
        let dst = self.spec_of(dst);
        self.snap_run(
            &["cp", "--no-progress", &src, &dst],
            COPY_TIMEOUT,
            &format!("Snapshot {src} or image {dst}"),
        )
        .map(drop)
    }

    fn export_image(&self, image: &str, snap: &str, path: &Path) -> Result<()> {
        let src = format!("{}@{snap}", self.spec_of(image));
        let path = path.to_string_lossy();
        self.snap_run(
            &["export", "--no-progress", &src, &path],
            COPY_TIMEOUT,
            &format!("Snapshot {src} or file {path}"),
        )
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/ceph/vm-mgr/snapshots/",
                $name
            ))
        };
    }

    #[test]
    fn group_snapshots_parse() {
        let snaps = parse_group_snaps(fixture!("group-snap-ls.json")).unwrap();
        assert_eq!(
            snaps,
            [
                GroupSnap {
                    name: "s1".into(),
                    state: "ok".into()
                },
                GroupSnap {
                    name: "s2".into(),
                    state: "ok".into()
                }
            ]
        );
        assert!(parse_group_snaps(fixture!("group-snap-ls-empty.json"))
            .unwrap()
            .is_empty());
        assert!(
            parse_group_snaps(fixture!("group-snap-ls-missing-group.json"))
                .unwrap()
                .is_empty()
        );
        assert!(parse_group_snaps("{").is_err());
    }

    #[test]
    fn image_snapshots_of_every_namespace_parse() {
        let snaps = parse_image_snaps(fixture!("snap-ls-all.json")).unwrap();
        assert_eq!(snaps.len(), 3);
        assert!(snaps[0].is_group_snap("s1") && !snaps[0].is_user_snap("s1"));
        assert_eq!(
            snaps[0].namespace,
            SnapNamespace::Group {
                group: "fx".into(),
                group_snap: "s1".into()
            }
        );
        assert!(snaps[1].is_user_snap("s1") && !snaps[1].protected);
        assert_eq!(snaps[1].timestamp, "Sun Nov 22 02:50:36 2026");
        assert!(snaps[2].is_group_snap("s2"));
        let trash = parse_image_snaps(fixture!("snap-ls-all-trash.json")).unwrap();
        assert!(trash.iter().any(|s| matches!(
            &s.namespace,
            SnapNamespace::Trash { original_name } if original_name == "s1"
        )));
        assert!(!trash.iter().any(|s| s.is_user_snap("s1")));
        let prot = parse_image_snaps(fixture!("snap-ls-all-protected.json")).unwrap();
        assert!(prot.iter().any(|s| s.is_user_snap("s1") && s.protected));
        assert!(parse_image_snaps("[{\"id\":1}]").is_err());
    }

    #[test]
    fn recorded_exit_codes_map_to_errors() {
        use shared::cmd::CmdError;
        let failed = |code: i32, stderr: &str| CmdError::Failed {
            cmdline: "rbd".into(),
            status: format!("exit status {code}"),
            code: Some(code),
            stderr: stderr.into(),
        };
        for (rc, err) in [
            (
                fixture!("group-snap-rollback-missing.txt.rc"),
                fixture!("group-snap-rollback-missing.txt.stderr"),
            ),
            (
                fixture!("cp-missing-snap.txt.rc"),
                fixture!("cp-missing-snap.txt.stderr"),
            ),
            (
                fixture!("clone-group-snap-by-name.txt.rc"),
                fixture!("clone-group-snap-by-name.txt.stderr"),
            ),
        ] {
            let code: i32 = rc.trim().parse().unwrap();
            assert!(is_enoent(&failed(code, err)), "{err}");
        }
        let exists: i32 = fixture!("group-snap-create-exists.txt.rc")
            .trim()
            .parse()
            .unwrap();
        assert_eq!(exists, RBD_EEXIST);
        assert_eq!(
            fixture!("clone-exists.txt.rc").trim(),
            RBD_EEXIST.to_string()
        );
    }
}
