//! Snapshots on the dir backend: internal qcow2 snapshots, one of the same name in every disk
//! file of the VM ([`shared::qcow2::snapshots`]), for VMs that are **not running**. A running
//! VM's disks are open in QEMU; its snapshots are taken and removed through QEMU's monitor by
//! `steps::dir_live` (one atomic QMP transaction), never here. `qemu-img snapshot` takes the
//! image's write lock, so if the VM started meanwhile these calls fail instead of writing under
//! QEMU.
//!
//! How the RBD-shaped [`SnapshotStore`] maps onto qcow2:
//! - the "group snapshot" `NAME@S` is snapshot `S` in every disk file of `NAME/`: listed from
//!   the system disk, `ok` when every disk has it, else `incomplete`;
//! - each disk's part of it is reported as that disk's group snapshot
//!   ([`SnapNamespace::Group`]), so rollback's check that every disk has `S` works unchanged;
//! - there is no separate user snapshot: [`SnapshotStore::snap_create`] only checks that the
//!   disk has `S` (the group snapshot made it), [`SnapshotStore::snap_remove`] removes what is
//!   left of `S`; qcow2 has no protection, so nothing is protected.
//!
//! A copy (`clone --full`) is a new independent qcow2 file converted from the snapshot. A
//! copy-on-write clone is a qcow2 overlay of a base written once from the snapshot
//! (`dir_bases`); a copy or export of such a clone reads through its base, so it is
//! self-contained.

use std::path::Path;

use shared::qcow2::snapshots::{self as qsnap, Snapshot};

use super::dir::Dir;
use super::dir_io::from_qcow2;
use super::snapshots::{GroupSnap, ImageSnap, SnapNamespace, SnapshotStore};
use super::{Result, Storage, StorageError};
use crate::vm::VmIds;

impl Dir {
    /// The snapshots of disk `image`.
    pub(super) fn qcow2_snaps(&self, image: &str) -> Result<Vec<Snapshot>> {
        let path = self.disk_path(image)?;
        if !path.is_file() {
            return Err(StorageError::NotFound {
                what: format!("Disk {}", path.display()),
            });
        }
        qsnap::list(&path).map_err(from_qcow2)
    }

    /// Whether disk `image` has snapshot `snap`.
    pub(super) fn has_snap(&self, image: &str, snap: &str) -> Result<bool> {
        Ok(self.qcow2_snaps(image)?.iter().any(|s| s.name == snap))
    }

    /// Removes snapshot `snap` of `image` if it has it (every copy: qemu-img allows two of a name).
    fn delete_snap(&self, image: &str, snap: &str) -> Result<()> {
        let path = self.disk_path(image)?;
        if !path.is_file() {
            return Ok(());
        }
        let n = self
            .qcow2_snaps(image)?
            .iter()
            .filter(|s| s.name == snap)
            .count();
        for _ in 0..n {
            qsnap::delete(&path, snap).map_err(from_qcow2)?;
        }
        Ok(())
    }
}

impl SnapshotStore for Dir {
    fn group_snap_create(&self, group: &str, snap: &str) -> Result<()> {
        let disks = self.group_images(group)?;
        if disks.is_empty() {
            return Err(StorageError::NotFound {
                what: format!("VM directory {}", self.vm_dir(group).display()),
            });
        }
        for d in &disks {
            if self.has_snap(d, snap)? {
                return Err(StorageError::Exists {
                    what: format!("Snapshot {snap} of {}", self.image_label(d)),
                });
            }
        }
        let mut made: Vec<&String> = Vec::new();
        for d in &disks {
            if let Err(e) = qsnap::create(&self.disk_path(d)?, snap).map_err(from_qcow2) {
                for m in made {
                    let _ = self.delete_snap(m, snap);
                }
                return Err(e);
            }
            made.push(d);
        }
        Ok(())
    }

    fn group_snap_list(&self, group: &str) -> Result<Vec<GroupSnap>> {
        let disks = self.group_images(group)?;
        let system = VmIds::new(group).system_image();
        if !disks.contains(&system) {
            return Ok(Vec::new());
        }
        let mut per_disk = Vec::new();
        for d in &disks {
            per_disk.push(self.qcow2_snaps(d)?);
        }
        let mut out: Vec<GroupSnap> = Vec::new();
        for s in self.qcow2_snaps(&system)? {
            if out.iter().any(|g| g.name == s.name) {
                continue;
            }
            let everywhere = per_disk.iter().all(|l| l.iter().any(|x| x.name == s.name));
            out.push(GroupSnap {
                state: if everywhere { "ok" } else { "incomplete" }.into(),
                name: s.name,
            });
        }
        Ok(out)
    }

    fn group_snap_remove(&self, group: &str, snap: &str) -> Result<()> {
        for d in self.group_images(group)? {
            self.delete_snap(&d, snap)?;
        }
        Ok(())
    }

    fn group_snap_rollback(&self, group: &str, snap: &str) -> Result<()> {
        let disks = self.group_images(group)?;
        for d in &disks {
            if !self.has_snap(d, snap)? {
                return Err(StorageError::NotFound {
                    what: format!("Snapshot {snap} of {}", self.image_label(d)),
                });
            }
        }
        for d in &disks {
            qsnap::apply(&self.disk_path(d)?, snap).map_err(from_qcow2)?;
        }
        Ok(())
    }

    fn image_snaps(&self, image: &str) -> Result<Vec<ImageSnap>> {
        let group = crate::vm::image_vm(image).unwrap_or_default().to_owned();
        Ok(self
            .qcow2_snaps(image)?
            .into_iter()
            .map(|s| ImageSnap {
                id: s.id.parse().unwrap_or(0),
                protected: false,
                timestamp: shared::clock::utc_secs(s.date_sec),
                namespace: SnapNamespace::Group {
                    group: group.clone(),
                    group_snap: s.name.clone(),
                },
                name: s.name,
            })
            .collect())
    }

    fn snap_create(&self, image: &str, snap: &str) -> Result<()> {
        // the group snapshot is each disk's own snapshot: nothing more to take
        if self.has_snap(image, snap)? {
            Ok(())
        } else {
            Err(StorageError::NotFound {
                what: format!("Snapshot {snap} of {}", self.image_label(image)),
            })
        }
    }

    fn snap_remove(&self, image: &str, snap: &str) -> Result<()> {
        self.delete_snap(image, snap)
    }

    fn clone_image(&self, image: &str, snap: &str, dst: &str) -> Result<()> {
        self.cow_clone(image, snap, dst)
    }

    fn copy_image(&self, image: &str, snap: &str, dst: &str) -> Result<()> {
        let src = self.disk_path(image)?;
        if !self.has_snap(image, snap)? {
            return Err(StorageError::NotFound {
                what: format!("Snapshot {snap} of {}", src.display()),
            });
        }
        self.write_new_disk(dst, &mut |part| {
            qsnap::copy_qcow2(&src, snap, part, &mut |_| {})
        })
    }

    fn export_image(&self, image: &str, snap: &str, path: &Path) -> Result<()> {
        let src = self.disk_path(image)?;
        if !self.has_snap(image, snap)? {
            return Err(StorageError::NotFound {
                what: format!("Snapshot {snap} of {}", src.display()),
            });
        }
        qsnap::export_raw(&src, snap, path, &mut |_| {}).map_err(from_qcow2)
    }
}
