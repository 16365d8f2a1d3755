//! Removed VMs in the RBD trash: what `remove` does to a VM's images (unless `--purge`), how
//! `list --removed` finds them again and how `restore` brings them back.
//!
//! A removed VM is the set of its images (`system_NAME`, `data_NAME_N`) that one `remove`
//! moved to the trash: they all carry the same expiry (`remove` gives them one), so two
//! removes of VMs of the same name stay apart. Each image keeps its data, snapshots and
//! metadata in the trash: the domain XML, vm-mgr's settings, the CIB fragment (stored before
//! the VM left the CIB, as `disable` does) and [`META_TRASH`], the RBD group it was in and its
//! members, which `restore` reads back. The group itself is removed (with its group
//! snapshots, which an image cannot keep outside its group), so nothing of a removed VM is
//! left in `rbd ls` or `rbd group ls`. The VM's snapshots go too (their user snapshots and
//! the metadata kept with them): `rbd trash rm` and `rbd trash purge` refuse an image that has
//! snapshots, so a trashed image with snapshots could never be deleted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ctx::Ctx;
use crate::error::Result;
use crate::storage::TrashEntry;
use crate::vm::VmIds;

use super::teardown::Removal;

/// Metadata key on the system image of a trashed VM: its group and the group's members.
pub const META_TRASH: &str = "_vmmgr_trash";

/// What [`META_TRASH`] holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrashRecord {
    /// The RBD group the images were in (the VM's name).
    pub group: String,
    /// The images that were in it.
    pub grouped: Vec<String>,
    /// When the VM was removed (seconds since the epoch).
    pub removed_at: i64,
}

/// One removed VM in the trash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedVm {
    /// The VM name.
    pub name: String,
    /// Its trashed images, system image first.
    pub images: Vec<TrashEntry>,
    /// When it was removed (the earliest image's time, seconds since the epoch).
    pub deleted_at: i64,
    /// When the trash may delete it.
    pub expires_at: i64,
    /// Whether that time has passed (`rbd trash purge` may delete it any time).
    pub expired: bool,
}

impl RemovedVm {
    /// Whether its system image is there (what `restore` needs).
    pub fn has_system(&self) -> bool {
        let system = VmIds::new(&self.name).system_image();
        self.images.iter().any(|e| e.name == system)
    }

    /// The image names.
    pub fn image_names(&self) -> Vec<String> {
        self.images.iter().map(|e| e.name.clone()).collect()
    }
}

/// The removed VMs among the trash `entries`: images of vm-mgr's naming put there by a user
/// (`rbd trash mv`, as `remove` does), one VM per name and expiry; sorted by name, then oldest
/// removal first.
pub fn removed_vms(entries: &[TrashEntry]) -> Vec<RemovedVm> {
    let mut by: BTreeMap<(String, i64), Vec<TrashEntry>> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.source == "USER") {
        if let Some(vm) = crate::vm::image_vm(&e.name) {
            by.entry((vm.to_owned(), e.expires_at))
                .or_default()
                .push(e.clone());
        }
    }
    let mut vms: Vec<RemovedVm> = by
        .into_iter()
        .map(|((name, expires_at), mut images)| {
            let system = VmIds::new(&name).system_image();
            images.sort_by_key(|e| (e.name != system, e.name.clone()));
            RemovedVm {
                deleted_at: images.iter().map(|e| e.deleted_at).min().unwrap_or(0),
                expired: images.iter().any(|e| e.expired),
                name,
                images,
                expires_at,
            }
        })
        .collect();
    vms.sort_by(|a, b| (&a.name, a.deleted_at).cmp(&(&b.name, b.deleted_at)));
    vms
}

/// The most recently removed VM `name` in the trash that can be restored (has its system
/// image), if any; of two removed within the same second, the one expiring later.
pub fn find_removed(ctx: &Ctx, name: &str) -> Result<Option<RemovedVm>> {
    let all = ctx.storage.trash_list()?;
    Ok(removed_vms(&all)
        .into_iter()
        .filter(|v| v.name == name && v.has_system())
        .max_by_key(|v| (v.deleted_at, v.expires_at)))
}

/// The expiry a `remove` now gives: `trash-days` from now.
pub fn expiry(ctx: &Ctx) -> i64 {
    let now = i64::try_from(shared::clock::unix_secs()).unwrap_or(i64::MAX);
    now.saturating_add(i64::from(ctx.config.trash_days).saturating_mul(86_400))
}

/// The storage part of `remove` without `--purge`: the VM's group snapshots and group go, its
/// images (with [`META_TRASH`] on the system image) move to the trash until `expires_at`.
pub fn to_trash(ctx: &Ctx, name: &str, r: &Removal, expires_at: i64) -> Result<()> {
    let ids = VmIds::new(name);
    let system = ids.system_image();
    super::teardown::ungroup(ctx, name, r)?;
    drop_snapshots(ctx, name, r)?;
    if r.images.contains(&system) && ctx.storage.image_exists(&system)? {
        let record = TrashRecord {
            group: ids.rbd_group(),
            grouped: r.grouped.clone(),
            removed_at: i64::try_from(shared::clock::unix_secs()).unwrap_or(i64::MAX),
        };
        let json = serde_json::to_string(&record).map_err(|e| {
            crate::error::Error::invalid(format!("Cannot write the trash record: {e}"))
        })?;
        ctx.storage.meta_set(&system, META_TRASH, &json)?;
    }
    for image in &r.images {
        ctx.progress.say(&format!(
            "{name}: moving {} to the trash",
            ctx.storage.image_label(image)
        ));
        match ctx.storage.trash_move(image, expires_at) {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    if r.has_group {
        ctx.storage.remove_group(&ids.rbd_group())?;
    }
    Ok(())
}

/// Removes the user snapshots of the VM's images, and the snapshots' metadata kept on its
/// system image. A snapshot that cannot be removed (protected, with clones) is said on the
/// progress line and stays: `rbd trash rm` will refuse that image until it is gone.
fn drop_snapshots(ctx: &Ctx, name: &str, r: &Removal) -> Result<()> {
    let system = VmIds::new(name).system_image();
    for image in &r.images {
        let snaps = match ctx.storage.image_snaps(image) {
            Ok(s) => s,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e.into()),
        };
        for s in snaps {
            if let Err(e) = ctx.storage.snap_remove(image, &s.name) {
                ctx.progress.say(&format!(
                    "{name}: snapshot {}@{} stays: {e}",
                    ctx.storage.image_label(image),
                    s.name
                ));
            }
        }
    }
    if r.images.contains(&system) && ctx.storage.image_exists(&system)? {
        let keys = ctx.storage.meta_list(&system)?;
        for key in keys.keys().filter(|k| super::snapshots::is_snap_key(k)) {
            ctx.storage.meta_remove(&system, key)?;
        }
    }
    Ok(())
}

/// Brings the removed VM `vm` back: its images out of the trash, its group made again with the
/// images it held. The VM is then disabled: its fragment, XML and settings are in its system
/// image's metadata, as after `disable`. Returns the restored image names.
pub fn restore(ctx: &Ctx, vm: &RemovedVm) -> Result<Vec<String>> {
    let ids = VmIds::new(&vm.name);
    let system = ids.system_image();
    let mut restored = Vec::new();
    for e in &vm.images {
        ctx.progress.say(&format!(
            "{}: restoring {} from the trash",
            vm.name,
            ctx.storage.image_label(&e.name)
        ));
        ctx.storage.trash_restore(&e.id)?;
        restored.push(e.name.clone());
    }
    let record = ctx
        .storage
        .meta_get(&system, META_TRASH)?
        .and_then(|j| serde_json::from_str::<TrashRecord>(&j).ok());
    let (group, members) = match record {
        Some(r) => (r.group, r.grouped),
        None => (ids.rbd_group(), restored.clone()),
    };
    ctx.storage.create_group(&group)?;
    for image in members.iter().filter(|i| restored.contains(i)) {
        ctx.storage.group_add(&group, image)?;
    }
    ctx.storage.meta_remove(&system, META_TRASH)?;
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, name: &str, deleted: i64, expires: i64) -> TrashEntry {
        TrashEntry {
            id: id.into(),
            name: name.into(),
            source: "USER".into(),
            deleted_at: deleted,
            expires_at: expires,
            expired: false,
        }
    }

    #[test]
    fn removed_vms_group_images_by_name_and_expiry() {
        let mut other = entry("9", "system_web1", 50, 900);
        other.source = "MIRRORING".into();
        let entries = vec![
            entry("1", "data_web1_1", 100, 1000),
            entry("2", "system_web1", 101, 1000),
            entry("3", "system_web1", 200, 2000),
            entry("4", "x1", 100, 1000),
            entry("5", "data_db_1", 100, 1000),
            other,
        ];
        let vms = removed_vms(&entries);
        let names: Vec<(&str, i64)> = vms
            .iter()
            .map(|v| (v.name.as_str(), v.expires_at))
            .collect();
        assert_eq!(names, [("db", 1000), ("web1", 1000), ("web1", 2000)]);
        // system image first; the removal time is the earliest image's
        assert_eq!(vms[1].image_names(), ["system_web1", "data_web1_1"]);
        assert_eq!(vms[1].deleted_at, 100);
        assert!(vms[1].has_system());
        assert!(!vms[0].has_system());
        assert!(removed_vms(&[]).is_empty());
    }

    #[test]
    fn the_record_round_trips() {
        let r = TrashRecord {
            group: "web1".into(),
            grouped: vec!["system_web1".into(), "data_web1_1".into()],
            removed_at: 5,
        };
        let j = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<TrashRecord>(&j).unwrap(), r);
        assert!(crate::vm::is_internal_key(META_TRASH));
    }
}
