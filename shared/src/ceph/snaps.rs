//! Snapshots, group snapshots, clones, copies and exports: methods of [`Ceph`].
//!
//! Ceph 16.2.15 facts (see `tests/fixtures/ceph/README.md`): `rbd group snap ls` of a missing
//! group prints `[]` and exits 0; a group snapshot's per-image snapshots (`.group.*`) cannot be
//! cloned, copied or exported by name; `rbd snap rm` of a snapshot clones depend on moves it to
//! the trash namespace; EEXIST is 17.

use std::path::Path;

use super::client::Ceph;
use super::error::CephError;
use super::names::{validate_name, GroupSpec, ImageSpec};
use super::types::{self, GroupSnap, ImageSnap};

fn group_snap_spec(group: &GroupSpec, snap: &str) -> Result<String, CephError> {
    validate_name("group snapshot", snap)?;
    Ok(format!("{group}@{snap}"))
}

/// `image` must name a snapshot.
fn need_snap(image: &ImageSpec) -> Result<String, CephError> {
    match &image.snap {
        Some(_) => Ok(image.to_string()),
        None => Err(CephError::InvalidName {
            what: "snapshot",
            value: image.to_string(),
            reason: "a snapshot is needed (pool/image@snap)",
        }),
    }
}

impl Ceph {
    /// `rbd group snap create GROUP@SNAP` ([`CephError::Exists`] if it exists).
    pub fn group_snap_create(&self, group: &GroupSpec, snap: &str) -> Result<(), CephError> {
        let c = self
            .rbd()
            .args(["group", "snap", "create"])
            .arg(group_snap_spec(group, snap)?);
        self.run(c).map(drop)
    }

    /// `rbd group snap ls --format json GROUP` (`[]` for a missing group too).
    pub fn group_snaps(&self, group: &GroupSpec) -> Result<Vec<GroupSnap>, CephError> {
        let c = self
            .rbd()
            .args(["group", "snap", "ls", "--format", "json"])
            .arg(group.to_string());
        self.parse(c, types::parse_group_snaps)
    }

    /// `rbd group snap rm GROUP@SNAP` ([`CephError::NotFound`] if it does not exist).
    pub fn group_snap_remove(&self, group: &GroupSpec, snap: &str) -> Result<(), CephError> {
        let c = self
            .rbd()
            .args(["group", "snap", "rm"])
            .arg(group_snap_spec(group, snap)?);
        self.run(c).map(drop)
    }

    /// `rbd group snap rollback --no-progress GROUP@SNAP`: every image of the group back to
    /// the group snapshot (a copying call).
    pub fn group_snap_rollback(&self, group: &GroupSpec, snap: &str) -> Result<(), CephError> {
        let c = self
            .rbd_long()
            .args(["group", "snap", "rollback", "--no-progress"])
            .arg(group_snap_spec(group, snap)?);
        self.run(c).map(drop)
    }

    /// `rbd snap ls --all --format json IMAGE`: snapshots of every namespace.
    pub fn image_snaps(&self, image: &ImageSpec) -> Result<Vec<ImageSnap>, CephError> {
        let c = self
            .rbd()
            .args(["snap", "ls", "--all", "--format", "json"])
            .arg(image.image_path());
        self.parse(c, types::parse_image_snaps)
    }

    /// `rbd snap create --no-progress IMAGE@SNAP`.
    pub fn snap_create(&self, snap: &ImageSpec) -> Result<(), CephError> {
        let c = self
            .rbd()
            .args(["snap", "create", "--no-progress"])
            .arg(need_snap(snap)?);
        self.run(c).map(drop)
    }

    /// `rbd snap rm --no-progress IMAGE@SNAP`; one that clones depend on moves to the trash.
    pub fn snap_remove(&self, snap: &ImageSpec) -> Result<(), CephError> {
        let c = self
            .rbd()
            .args(["snap", "rm", "--no-progress"])
            .arg(need_snap(snap)?);
        self.run(c).map(drop)
    }

    /// `rbd clone SRC@SNAP DST`: a copy-on-write clone (clone v2, no protect needed).
    pub fn clone_image(&self, src: &ImageSpec, dst: &ImageSpec) -> Result<(), CephError> {
        let c = self
            .rbd_long()
            .arg("clone")
            .arg(need_snap(src)?)
            .arg(dst.image_path());
        self.run(c).map(drop)
    }

    /// `rbd cp --no-progress SRC@SNAP DST`: an independent copy. Killed (an interrupt, the
    /// deadline), it is fenced from DST, so that DST can be removed at once.
    pub fn copy_image(&self, src: &ImageSpec, dst: &ImageSpec) -> Result<(), CephError> {
        let c = self
            .rbd_long()
            .args(["cp", "--no-progress"])
            .arg(need_snap(src)?)
            .arg(dst.image_path());
        self.written(c.run(), dst).map(drop)
    }

    /// `rbd export --no-progress -- SRC@SNAP PATH`: the snapshot's content into a new local
    /// file (raw). `-` (stdout for rbd) is refused.
    pub fn export_image(&self, src: &ImageSpec, path: &Path) -> Result<(), CephError> {
        if path.as_os_str() == "-" {
            return Err(CephError::InvalidName {
                what: "export file",
                value: "-".into(),
                reason: "must be a file (rbd reads '-' as stdout)",
            });
        }
        let c = self
            .rbd_long()
            .args(["export", "--no-progress", "--"])
            .arg(need_snap(src)?)
            .arg(path);
        self.run(c).map(drop)
    }
}
