//! `remove -n NAME`: stop the VM and take it out of the CIB (one transaction), then delete its
//! images (with their snapshots) and its RBD group. Nothing mentioning the VM is left.

use serde_json::json;
use shared::pacemaker::Edit;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment;
use crate::output::Outcome;
use crate::state::VmState;
use crate::vm::VmIds;

/// Whether `image` is one of VM `name`'s images (`system_NAME` or `data_NAME_N`).
pub fn is_vm_image(name: &str, image: &str) -> bool {
    if image == VmIds::new(name).system_image() {
        return true;
    }
    image
        .strip_prefix(&format!("data_{name}_"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Runs `remove`.
pub fn run(ctx: &Ctx, name: &str) -> Result<Outcome> {
    let ids = VmIds::new(name);
    let (cib, _) = crate::cluster::read_cluster(ctx)?;
    let in_cib = fragment::in_cib(cib.element(), name);
    let group = ids.rbd_group();
    let (images, grouped, has_group) = if ctx.storage.available() {
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
    } else {
        (Vec::new(), Vec::new(), false)
    };
    if !in_cib && images.is_empty() && !has_group {
        return Err(Error::NoSuchVm {
            name: name.to_owned(),
        });
    }
    let pool = ctx.storage.pool().to_owned();
    if ctx.dry_run {
        let mut actions = Vec::new();
        let mut patch = None;
        if in_cib {
            actions.push(format!("stop {name} and wait until it is stopped"));
            patch = crate::cluster::change(ctx, |_cib, tree| {
                Ok(Edit::Change(fragment::remove(tree, name)?))
            })?
            .patch;
        }
        actions.extend(
            grouped
                .iter()
                .map(|i| format!("take {pool}/{i} out of group {pool}/{group}")),
        );
        actions.extend(
            images
                .iter()
                .map(|i| format!("delete image {pool}/{i} and its snapshots")),
        );
        if has_group {
            actions.push(format!("delete group {pool}/{group}"));
        }
        return Ok(crate::output::dry_run_outcome(
            name,
            "remove",
            &actions,
            patch.as_deref(),
        ));
    }
    if in_cib {
        ctx.progress.say(&format!("{name}: stopping"));
        crate::cluster::set_role(ctx, name, "Stopped")?;
        crate::cluster::wait_state(
            ctx,
            name,
            VmState::Stopped,
            crate::cluster::wait_budget(&cib, name, "stop"),
        )?;
        crate::cluster::change(ctx, |_cib, tree| {
            Ok(Edit::Change(fragment::remove(tree, name)?))
        })?;
    }
    if !ctx.storage.available() {
        return Err(crate::storage::StorageError::Disabled.into());
    }
    // Group snapshots first: an image taken out of its group keeps its part of each group
    // snapshot, which neither `rbd snap purge` nor `rbd rm` removes.
    if has_group {
        for snap in ctx.storage.group_snap_list(&group)? {
            ctx.storage.group_snap_remove(&group, &snap.name)?;
        }
    }
    for image in &grouped {
        ctx.storage.group_remove(&group, image)?;
    }
    for image in &images {
        ctx.progress
            .say(&format!("{name}: deleting image {pool}/{image}"));
        match ctx.storage.remove_image(image) {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    if has_group {
        ctx.storage.remove_group(&group)?;
    }
    Ok(Outcome::new(
        json!({"name": name, "state": VmState::Undefined, "node": null, "removed_images": images, "was_enabled": in_cib}),
        format!("{name}: removed\n"),
    ))
}
