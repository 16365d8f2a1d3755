//! Taking a VM out of the cluster and deleting its storage: what `remove` does, and how
//! create, clone, import and enable undo a VM they made when a later step fails.

use shared::pacemaker::{Cib, Edit};

use crate::cluster;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment::{self, Fragment};
use crate::state::VmState;
use crate::vm::{VmIds, META_FRAGMENT};

/// Whether `image` is one of VM `name`'s images (`system_NAME` or `data_NAME_N`).
pub fn is_vm_image(name: &str, image: &str) -> bool {
    crate::vm::image_vm(image) == Some(name)
}

/// What there is of a VM to remove.
pub struct Removal {
    /// The CIB it was read from.
    pub cib: Cib,
    /// Whether the VM is in the CIB.
    pub in_cib: bool,
    /// Its images (named after it, or in its group).
    pub images: Vec<String>,
    /// The images in its RBD group.
    pub grouped: Vec<String>,
    /// Whether its RBD group exists.
    pub has_group: bool,
    /// How long its stop may take (read before anything is changed).
    pub stop_budget: std::time::Duration,
}

/// Finds what there is of VM `name` (in the CIB and in storage); `NoSuchVm` when nothing.
/// Removing needs the storage: with `--no-storage` this refuses before anything is read or
/// changed (a VM taken out of the CIB with its disks left would be half-removed).
pub fn find(ctx: &Ctx, name: &str) -> Result<Removal> {
    if !ctx.storage.available() {
        return Err(crate::storage::StorageError::Disabled.into());
    }
    let ids = VmIds::new(name);
    let (cib, _) = cluster::read_cluster(ctx)?;
    let in_cib = fragment::in_cib(cib.element(), name);
    // Before the first write: a VM whose op timeouts cannot be read is refused here.
    let stop_budget = cluster::wait_budget(&cib, name, "stop")?;
    let group = ids.rbd_group();
    let (images, grouped, has_group) = {
        let mut images: Vec<String> = ctx
            .storage
            .list_images()?
            .into_iter()
            .filter(|i| is_vm_image(name, i))
            .collect();
        let has_group = ctx.storage.list_groups()?.contains(&group);
        let grouped = if has_group {
            ctx.storage.group_images(&group)?
        } else {
            Vec::new()
        };
        for g in &grouped {
            if !images.contains(g) {
                images.push(g.clone());
            }
        }
        (images, grouped, has_group)
    };
    if !in_cib && images.is_empty() && !has_group {
        return Err(Error::NoSuchVm {
            name: name.to_owned(),
        });
    }
    Ok(Removal {
        cib,
        in_cib,
        images,
        grouped,
        has_group,
        stop_budget,
    })
}

/// Removes what `find` found of VM `name`: stops it and takes it out of the CIB (one
/// transaction), then deletes its group snapshots, images (with their snapshots) and group.
pub fn remove(ctx: &Ctx, name: &str, r: &Removal) -> Result<()> {
    let group = VmIds::new(name).rbd_group();
    if r.in_cib {
        take_out(ctx, name, r.stop_budget, None)?;
    }
    ungroup(ctx, name, r)?;
    for image in &r.images {
        ctx.progress.say(&format!(
            "{name}: deleting {}",
            ctx.storage.image_label(image)
        ));
        match ctx.storage.remove_image(image) {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    if r.has_group {
        ctx.storage.remove_group(&group)?;
    }
    Ok(())
}

/// Takes the images of VM `name` out of its RBD group, after removing the group's snapshots:
/// an image taken out of its group keeps its part of each group snapshot, which neither
/// `rbd snap purge`, `rbd rm` nor the trash removes.
pub fn ungroup(ctx: &Ctx, name: &str, r: &Removal) -> Result<()> {
    let group = VmIds::new(name).rbd_group();
    if r.has_group {
        for snap in ctx.storage.group_snap_list(&group)? {
            ctx.storage.group_snap_remove(&group, &snap.name)?;
        }
    }
    for image in &r.grouped {
        ctx.storage.group_remove(&group, image)?;
    }
    Ok(())
}

/// Stops VM `name` (and waits, within `stop_budget`, computed before the first write) and takes it out of the CIB in
/// one transaction. With `keep_in`, its exact CIB fragment (resources and every constraint
/// naming them) is first kept in that image's metadata [`META_FRAGMENT`], and again if it
/// changed before the transaction, so that a crash in between loses nothing. Returns the
/// fragment taken out.
pub fn take_out(
    ctx: &Ctx,
    name: &str,
    stop_budget: std::time::Duration,
    keep_in: Option<&str>,
) -> Result<Fragment> {
    ctx.progress.say(&format!("{name}: stopping"));
    cluster::set_role(ctx, name, "Stopped")?;
    cluster::wait_state(ctx, name, VmState::Stopped, stop_budget)?;
    let before = match keep_in {
        Some(image) => {
            let (now, _) = cluster::read_cluster(ctx)?;
            let before = fragment::extract(now.element(), name);
            if let Some(f) = &before {
                ctx.storage.meta_set(image, META_FRAGMENT, &f.to_xml())?;
            }
            before
        }
        None => None,
    };
    let removed = cluster::change(ctx, |_cib, tree| {
        Ok(Edit::Change(fragment::remove(tree, name)?))
    })?
    .value;
    if let Some(image) = keep_in {
        if before.as_ref() != Some(&removed) {
            ctx.storage
                .meta_set(image, META_FRAGMENT, &removed.to_xml())?;
        }
    }
    Ok(removed)
}

/// Removes VM `name` entirely, whatever there is of it ([`find`], then [`remove`]).
pub fn remove_vm(ctx: &Ctx, name: &str) -> Result<()> {
    let r = find(ctx, name)?;
    remove(ctx, name, &r)
}
