//! The in-memory stand-in's snapshots (a child of `mem`, so it sees the private state).

use std::path::Path;

use super::super::snapshots::{GroupSnap, ImageSnap, SnapNamespace, SnapshotStore};
use super::super::{Result, StorageError};
use super::Memory;

/// Snapshots kept by [`Memory`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct SnapState {
    group_snaps: std::collections::BTreeMap<String, Vec<GroupSnap>>,
    image_snaps: std::collections::BTreeMap<String, Vec<ImageSnap>>,
    next_id: u64,
}

impl Memory {
    /// Protects user snapshot `snap` of `image` (as `rbd snap protect` would).
    pub fn protect_snap(&self, image: &str, snap: &str) {
        let mut s = self.state.borrow_mut();
        for x in s.snaps.image_snaps.entry(image.to_owned()).or_default() {
            if x.is_user_snap(snap) {
                x.protected = true;
            }
        }
    }

    fn add_image_snap(&self, image: &str, name: String, namespace: SnapNamespace) {
        let mut s = self.state.borrow_mut();
        s.snaps.next_id += 1;
        let id = s.snaps.next_id;
        s.snaps
            .image_snaps
            .entry(image.to_owned())
            .or_default()
            .push(ImageSnap {
                id,
                name,
                protected: false,
                timestamp: String::new(),
                namespace,
            });
    }

    fn need_user_snap(&self, image: &str, snap: &str) -> Result<()> {
        let found = self
            .state
            .borrow()
            .snaps
            .image_snaps
            .get(image)
            .is_some_and(|v| v.iter().any(|s| s.is_user_snap(snap)));
        if found {
            Ok(())
        } else {
            Err(Memory::missing(&format!("Snapshot rbd/{image}@{snap}")))
        }
    }

    /// A new image `dst` with the metadata of `src` (as `rbd clone` and `rbd cp` copy it).
    fn new_image(&self, src: &str, dst: &str) -> Result<()> {
        let mut s = self.state.borrow_mut();
        if s.images.contains_key(dst) {
            return Err(StorageError::Exists {
                what: format!("Image rbd/{dst}"),
            });
        }
        let meta = s.images.get(src).cloned().unwrap_or_default();
        s.images.insert(dst.to_owned(), meta);
        Ok(())
    }
}

impl SnapshotStore for Memory {
    fn group_snap_create(&self, group: &str, snap: &str) -> Result<()> {
        self.log(format!("group-snap-create {group}@{snap}"));
        let images = {
            let s = self.state.borrow();
            let images = s
                .groups
                .get(group)
                .cloned()
                .ok_or_else(|| Memory::missing(group))?;
            if s.snaps
                .group_snaps
                .get(group)
                .is_some_and(|v| v.iter().any(|g| g.name == snap))
            {
                return Err(StorageError::Exists {
                    what: format!("Group snapshot rbd/{group}@{snap}"),
                });
            }
            images
        };
        for image in images {
            let ns = SnapNamespace::Group {
                group: group.to_owned(),
                group_snap: snap.to_owned(),
            };
            self.add_image_snap(&image, format!(".group.{snap}"), ns);
        }
        self.state
            .borrow_mut()
            .snaps
            .group_snaps
            .entry(group.to_owned())
            .or_default()
            .push(GroupSnap {
                name: snap.to_owned(),
                state: "ok".into(),
            });
        Ok(())
    }

    fn group_snap_list(&self, group: &str) -> Result<Vec<GroupSnap>> {
        Ok(self
            .state
            .borrow()
            .snaps
            .group_snaps
            .get(group)
            .cloned()
            .unwrap_or_default())
    }

    fn group_snap_remove(&self, group: &str, snap: &str) -> Result<()> {
        self.log(format!("group-snap-remove {group}@{snap}"));
        let mut s = self.state.borrow_mut();
        if let Some(v) = s.snaps.group_snaps.get_mut(group) {
            v.retain(|g| g.name != snap);
        }
        for v in s.snaps.image_snaps.values_mut() {
            v.retain(|x| !x.is_group_snap(snap));
        }
        Ok(())
    }

    fn group_snap_rollback(&self, group: &str, snap: &str) -> Result<()> {
        if !self.group_snap_list(group)?.iter().any(|g| g.name == snap) {
            return Err(Memory::missing(&format!(
                "Group snapshot rbd/{group}@{snap}"
            )));
        }
        self.log(format!("group-snap-rollback {group}@{snap}"));
        Ok(())
    }

    fn image_snaps(&self, image: &str) -> Result<Vec<ImageSnap>> {
        let s = self.state.borrow();
        if !s.images.contains_key(image) {
            return Err(Memory::missing(&format!("RBD image rbd/{image}")));
        }
        Ok(s.snaps.image_snaps.get(image).cloned().unwrap_or_default())
    }

    fn snap_create(&self, image: &str, snap: &str) -> Result<()> {
        self.log(format!("snap-create {image}@{snap}"));
        if self
            .image_snaps(image)?
            .iter()
            .any(|s| s.is_user_snap(snap))
        {
            return Err(StorageError::Exists {
                what: format!("Snapshot rbd/{image}@{snap}"),
            });
        }
        self.add_image_snap(image, snap.to_owned(), SnapNamespace::User);
        Ok(())
    }

    fn snap_remove(&self, image: &str, snap: &str) -> Result<()> {
        self.log(format!("snap-remove {image}@{snap}"));
        if let Some(v) = self.state.borrow_mut().snaps.image_snaps.get_mut(image) {
            v.retain(|x| !x.is_user_snap(snap));
        }
        Ok(())
    }

    fn clone_image(&self, image: &str, snap: &str, dst: &str) -> Result<()> {
        self.log(format!("clone {image}@{snap} {dst}"));
        self.need_user_snap(image, snap)?;
        self.new_image(image, dst)
    }

    fn copy_image(&self, image: &str, snap: &str, dst: &str) -> Result<()> {
        self.log(format!("copy {image}@{snap} {dst}"));
        self.need_user_snap(image, snap)?;
        self.new_image(image, dst)
    }

    fn export_image(&self, image: &str, snap: &str, path: &Path) -> Result<()> {
        self.log(format!("export {image}@{snap}"));
        self.need_user_snap(image, snap)?;
        std::fs::write(path, format!("{image}@{snap}\n")).map_err(|e| StorageError::Parse {
            what: format!("writing {}", path.display()),
            detail: e.to_string(),
        })
    }
}
