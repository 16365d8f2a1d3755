//! The snapshot steps that `create-snapshot`, `list-snapshots`, `remove-snapshot`, rollback,
//! purge, clone and export share.
//!
//! A snapshot `S` of VM `NAME` is one point in time for all its disks: the RBD group snapshot
//! `NAME@S`, plus a user snapshot `IMG@S` of each disk taken in the same quiesce window (for
//! clone and export; see `storage::snapshots`). On the dir backend it is the internal qcow2
//! snapshot `S` of every disk file: through `qemu-img` when the VM does not run, else through
//! QEMU's monitor in one atomic transaction ([`super::dir_live`]). When the VM runs, its filesystems are frozen
//! through the guest agent around both, else the snapshot is crash-consistent and says so. The
//! domain XML and settings of that moment are kept in the system image's metadata
//! (`_snap_S_xml`, `_snap_S_settings`, `_snap_S_meta`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shared::clock;

use super::dir_live::Running;
use super::quiesce;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::state::VmState;
use crate::storage::dir::Dir;
use crate::storage::StorageError;
use crate::vm::{self, Settings, VmIds};

/// Longest snapshot name.
pub const MAX_SNAP_LEN: usize = 64;

/// Checks a snapshot name: a letter or digit first, then letters, digits, `-`, `_`, `.`.
pub fn validate_snap_name(snap: &str) -> Result<()> {
    let ok = snap
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && snap.len() <= MAX_SNAP_LEN
        && snap
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Invalid snapshot name {snap:?}: a letter or digit first, then letters, digits, '-', \
             '_' or '.', at most {MAX_SNAP_LEN} characters."
        )))
    }
}

/// The metadata key of snapshot `snap`'s `part` (`xml`, `settings`, `meta`).
pub fn snap_key(snap: &str, part: &str) -> String {
    format!("_snap_{snap}_{part}")
}

/// Whether a metadata key belongs to a snapshot.
pub fn is_snap_key(key: &str) -> bool {
    key.starts_with("_snap_")
}

/// What is kept about a snapshot (JSON in `_snap_S_meta`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapMeta {
    /// Seconds since the epoch.
    pub created: u64,
    /// `frozen`, `crash-consistent` or `stopped`.
    pub consistency: String,
    /// The node the VM ran on.
    pub node: Option<String>,
    /// The disks it covers.
    pub disks: Vec<String>,
}

/// A snapshot as `list-snapshots` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapInfo {
    pub name: String,
    /// Seconds since the epoch (`None`: not made by vm-mgr).
    pub created: Option<u64>,
    /// ISO 8601 UTC.
    pub created_at: Option<String>,
    pub consistency: Option<String>,
    /// Some disk's user snapshot is `rbd snap protect`ed (purge leaves it).
    pub protected: bool,
    /// The group snapshot's state is `ok`.
    pub complete: bool,
}

/// The VM's disks (system first, then data disks by index); `NoSuchVm` if it has none.
pub fn vm_disks(ctx: &Ctx, name: &str) -> Result<Vec<String>> {
    let ids = VmIds::new(name);
    if !ctx.storage.available() {
        return Err(StorageError::Disabled.into());
    }
    if !ctx.storage.image_exists(&ids.system_image())? {
        return Err(Error::NoSuchVm {
            name: name.to_owned(),
        });
    }
    let mut disks = ctx.storage.group_images(&ids.rbd_group())?;
    if disks.is_empty() {
        return Err(Error::invalid(format!(
            "VM {name} has no RBD group {}/{}: it was not made by vm-mgr; nothing was changed.",
            ctx.storage.pool(),
            ids.rbd_group()
        )));
    }
    disks.sort_by_key(|d| {
        let index = d
            .rsplit('_')
            .next()
            .and_then(|i| i.parse::<usize>().ok())
            .unwrap_or(0);
        (*d != ids.system_image(), index)
    });
    Ok(disks)
}

/// The snapshots of VM `name`, oldest first.
pub fn list_snaps(ctx: &Ctx, name: &str) -> Result<Vec<SnapInfo>> {
    let ids = VmIds::new(name);
    let disks = vm_disks(ctx, name)?;
    let meta = ctx.storage.meta_list(&ids.system_image())?;
    let mut protected = Vec::new();
    for d in &disks {
        for s in ctx.storage.image_snaps(d)? {
            if s.protected {
                protected.push(s.name);
            }
        }
    }
    let mut out: Vec<SnapInfo> = ctx
        .storage
        .group_snap_list(&ids.rbd_group())?
        .into_iter()
        .map(|g| {
            let m: Option<SnapMeta> = meta
                .get(&snap_key(&g.name, "meta"))
                .and_then(|j| serde_json::from_str(j).ok());
            SnapInfo {
                protected: protected.contains(&g.name),
                complete: g.state == "ok",
                created: m.as_ref().map(|m| m.created),
                created_at: m.as_ref().map(|m| clock::utc_secs(m.created)),
                consistency: m.map(|m| m.consistency),
                name: g.name,
            }
        })
        .collect();
    out.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));
    Ok(out)
}

/// Where and whether the VM runs (`None` when it does not, or is not in the cluster).
pub fn running_node(ctx: &Ctx, name: &str) -> Result<Option<String>> {
    let st = crate::cluster::current_status(ctx, name)?;
    Ok(match st.state {
        VmState::Started | VmState::Migrating | VmState::Stopping | VmState::Unmanaged => st.node,
        _ => None,
    })
}

/// What [`take`] checks before it changes anything (a dry run makes the same checks): the
/// VM's disks, returned, and no snapshot `snap` yet.
pub fn check_new(ctx: &Ctx, name: &str, snap: &str) -> Result<Vec<String>> {
    let disks = vm_disks(ctx, name)?;
    let group = VmIds::new(name).rbd_group();
    if ctx
        .storage
        .group_snap_list(&group)?
        .iter()
        .any(|g| g.name == snap)
    {
        return Err(Error::invalid(format!(
            "VM {name} already has a snapshot {snap}; nothing was changed."
        )));
    }
    Ok(disks)
}

/// Takes snapshot `snap` of VM `name` (checked not to exist); undoes itself on failure.
/// Returns what was kept and the warnings to show.
pub fn take(ctx: &Ctx, name: &str, snap: &str) -> Result<(SnapMeta, Vec<String>)> {
    let ids = VmIds::new(name);
    let system = ids.system_image();
    let group = ids.rbd_group();
    let disks = check_new(ctx, name, snap)?;
    let meta = ctx.storage.meta_list(&system)?;
    let settings = match meta.get(vm::META_SETTINGS) {
        Some(j) => Settings::from_json(name, j)?,
        None => Settings::default(),
    };
    let node = running_node(ctx, name)?;
    let q = quiesce::begin(ctx, name, node.as_deref(), &settings);
    let consistency = q.consistency;
    let mut warnings: Vec<String> = q.note.clone().into_iter().collect();
    let mut made = Vec::new();
    let taken = (|| -> Result<()> {
        if let (Some(dir), Some(node)) = (ctx.storage.dir(), node.as_deref()) {
            let running = Running {
                name,
                node,
                settings: &settings,
            };
            running.take(ctx, dir, snap, &disks)?;
            made.extend(disks.iter().cloned());
            return Ok(());
        }
        ctx.storage.group_snap_create(&group, snap)?;
        for d in &disks {
            ctx.storage.snap_create(d, snap)?;
            made.push(d.clone());
        }
        Ok(())
    })();
    warnings.extend(q.end(ctx));
    let m = SnapMeta {
        created: clock::unix_secs(),
        consistency: consistency.as_str().to_owned(),
        node,
        disks: disks.clone(),
    };
    let kept = taken.and_then(|()| {
        let mut keep = vec![(
            snap_key(snap, "meta"),
            serde_json::to_string(&m).unwrap_or_default(),
        )];
        for (key, part) in [(vm::META_XML, "xml"), (vm::META_SETTINGS, "settings")] {
            if let Some(v) = meta.get(key) {
                keep.push((snap_key(snap, part), v.clone()));
            }
        }
        for (k, v) in keep {
            ctx.storage.meta_set(&system, &k, &v)?;
        }
        Ok(())
    });
    if let Err(e) = kept {
        let undo = {
            let _cleanup = crate::cluster::interrupt::cleanup();
            drop_snapshot(ctx, name, snap, &made)
        };
        return Err(Error::Undone {
            what: format!("Taking snapshot {snap} of VM {name}"),
            undo: if undo.is_empty() {
                "the partial snapshot was removed".into()
            } else {
                format!(
                    "removing the partial snapshot failed too: {}",
                    undo.join("; ")
                )
            },
            source: Box::new(e),
        });
    }
    Ok((m, warnings))
}

/// Removes snapshot `snap` of `name` from storage (group snapshot, the user snapshots of
/// `disks`, its metadata); returns the problems met (it goes on after each).
pub fn drop_snapshot(ctx: &Ctx, name: &str, snap: &str, disks: &[String]) -> Vec<String> {
    let ids = VmIds::new(name);
    let mut problems = Vec::new();
    match running_dir_vm(ctx, name) {
        Ok(Some((dir, node, settings))) => {
            let running = Running {
                name,
                node: &node,
                settings: &settings,
            };
            problems.extend(running.drop(ctx, dir, snap, disks));
        }
        Ok(None) => {
            if let Err(e) = ctx.storage.group_snap_remove(&ids.rbd_group(), snap) {
                problems.push(e.to_string());
            }
            for d in disks {
                if let Err(e) = ctx.storage.snap_remove(d, snap) {
                    problems.push(e.to_string());
                }
            }
        }
        Err(e) => problems.push(e.to_string()),
    }
    for part in ["xml", "settings", "meta"] {
        if let Err(e) = ctx
            .storage
            .meta_remove(&ids.system_image(), &snap_key(snap, part))
        {
            problems.push(e.to_string());
        }
    }
    problems
}

/// On the dir backend, where a running VM `name` runs and its settings (its disks are open in
/// QEMU: snapshots go through QEMU's monitor); `None` on RBD or when it does not run.
fn running_dir_vm<'a>(ctx: &'a Ctx, name: &str) -> Result<Option<(&'a Dir, String, Settings)>> {
    let Some(dir) = ctx.storage.dir() else {
        return Ok(None);
    };
    let Some(node) = running_node(ctx, name)? else {
        return Ok(None);
    };
    let settings = match ctx
        .storage
        .meta_get(&VmIds::new(name).system_image(), vm::META_SETTINGS)?
    {
        Some(j) => Settings::from_json(name, &j)?,
        None => Settings::default(),
    };
    Ok(Some((dir, node, settings)))
}

/// The error for a snapshot the VM does not have.
pub fn unknown_snapshot(name: &str, snap: &str, snaps: &[SnapInfo]) -> Error {
    let known: Vec<&str> = snaps.iter().map(|s| s.name.as_str()).collect();
    Error::invalid(format!(
        "VM {name} has no snapshot {snap} (it has: {}); nothing was changed.",
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    ))
}

/// The metadata of `name` without snapshot keys (what clone and import copy).
pub fn meta_without_snaps(meta: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    meta.iter()
        .filter(|(k, _)| !is_snap_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
