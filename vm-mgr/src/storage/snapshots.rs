//! Snapshots, clones and copies of RBD images: the [`SnapshotStore`] part of [`Storage`]
//! (a supertrait, so every storage answers it: [`Rbd`] through [`shared::ceph`], whose parsers
//! are tested on outputs recorded from Ceph 16.2.15 in `tests/fixtures/ceph/` (`rbd-*snap*`,
//! `rbd-clone-*`, `rbd-cp-*`; its README lists the commands and exit codes), the in-memory
//! stand-in for tests, [`NoStorage`] refusing, and the dir backend's internal qcow2 snapshots
//! in `dir_snapshots`).
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

pub use shared::ceph::{GroupSnap, ImageSnap, SnapNamespace};

use super::rbd::{gone_is_ok, named, Rbd};
use super::{NoStorage, Result, StorageError};

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

impl SnapshotStore for Rbd {
    fn group_snap_create(&self, group: &str, snap: &str) -> Result<()> {
        let g = self.group(group)?;
        named(self.ceph().group_snap_create(&g, snap), || {
            format!("Group snapshot {g}@{snap}")
        })
    }

    fn group_snap_list(&self, group: &str) -> Result<Vec<GroupSnap>> {
        // Ceph itself lists a missing group's snapshots as `[]`
        let g = self.group(group)?;
        match self.ceph().group_snaps(&g) {
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            other => Ok(other?),
        }
    }

    fn group_snap_remove(&self, group: &str, snap: &str) -> Result<()> {
        gone_is_ok(self.ceph().group_snap_remove(&self.group(group)?, snap))
    }

    fn group_snap_rollback(&self, group: &str, snap: &str) -> Result<()> {
        let g = self.group(group)?;
        named(self.ceph().group_snap_rollback(&g, snap), || {
            format!("Group snapshot {g}@{snap}")
        })
    }

    fn image_snaps(&self, image: &str) -> Result<Vec<ImageSnap>> {
        let spec = self.image(image)?;
        named(self.ceph().image_snaps(&spec), || {
            format!("RBD image {spec}")
        })
    }

    fn snap_create(&self, image: &str, snap: &str) -> Result<()> {
        let spec = self.snap(image, snap)?;
        named(self.ceph().snap_create(&spec), || {
            format!("Snapshot {spec}")
        })
    }

    fn snap_remove(&self, image: &str, snap: &str) -> Result<()> {
        gone_is_ok(self.ceph().snap_remove(&self.snap(image, snap)?))
    }

    fn clone_image(&self, image: &str, snap: &str, dst: &str) -> Result<()> {
        let (src, dst) = (self.snap(image, snap)?, self.image(dst)?);
        named(self.ceph().clone_image(&src, &dst), || {
            format!("Snapshot {src} or image {dst}")
        })
    }

    fn copy_image(&self, image: &str, snap: &str, dst: &str) -> Result<()> {
        let (src, dst) = (self.snap(image, snap)?, self.image(dst)?);
        named(self.ceph().copy_image(&src, &dst), || {
            format!("Snapshot {src} or image {dst}")
        })
    }

    fn export_image(&self, image: &str, snap: &str, path: &Path) -> Result<()> {
        let src = self.snap(image, snap)?;
        named(self.ceph().export_image(&src, path), || {
            format!("Snapshot {src} or file {}", path.display())
        })
    }
}
