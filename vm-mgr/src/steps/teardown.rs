//! Taking a VM out of the cluster and deleting its storage: what `remove` does, and how
//! create, clone, import and enable undo a VM they made when a later step fails.

use shared::pacemaker::{Cib, Edit};

use crate::cluster;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment;
use crate::state::VmState;
use crate::vm::VmIds;

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
        ctx.progress.say(&format!("{name}: stopping"));
        cluster::set_role(ctx, name, "Stopped")?;
        cluster::wait_state(ctx, name, VmState::Stopped, r.stop_budget)?;
        cluster::change(ctx, |_cib, tree| {
            Ok(Edit::Change(fragment::remove(tree, name)?))
        })?;
    }
    // Group snapshots first: an image taken out of its group keeps its part of each group
    // snapshot, which neither `rbd snap purge` nor `rbd rm` removes.
    if r.has_group {
        for snap in ctx.storage.group_snap_list(&group)? {
            ctx.storage.group_snap_remove(&group, &snap.name)?;
        }
    }
    for image in &r.grouped {
        ctx.storage.group_remove(&group, image)?;
    }
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

/// Removes VM `name` entirely, whatever there is of it ([`find`], then [`remove`]).
pub fn remove_vm(ctx: &Ctx, name: &str) -> Result<()> {
    let r = find(ctx, name)?;
    remove(ctx, name, &r)
}
