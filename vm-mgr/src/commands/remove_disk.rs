//! `remove-disk -n VM --disk DISK [--purge]`: a data disk out of the VM. Checked first (a data
//! disk of the VM's stored XML, not the system disk, no snapshot of the VM holding it: a group
//! snapshot keeps its part of every image, and an image with snapshots can be neither deleted
//! nor emptied from the trash); then detached from the running guest through libvirt on its
//! node (a refusal changes nothing: the image stays in use), taken out of the stored XML and
//! settings, out of the VM's RBD group, and into the RBD trash for `trash-days` (or deleted
//! with `--purge`). The CIB does not change: the disk guard guards whatever the group holds.

use serde_json::json;

use crate::cli_change::RemoveDiskArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::Outcome;
use crate::steps::changing;

/// Runs `remove-disk`.
pub fn run(ctx: &Ctx, a: &RemoveDiskArgs) -> Result<Outcome> {
    let vm = changing::load(ctx, &a.name)?;
    let name = vm.ids.name();
    let taken = crate::disk_xml::take_rbd_disk(&vm.xml, &a.disk, &vm.ids.system_image())?;
    let group = vm.ids.rbd_group();
    let snaps = ctx.storage.group_snap_list(&group)?;
    if !snaps.is_empty() {
        let names: Vec<&str> = snaps.iter().map(|s| s.name.as_str()).collect();
        return Err(refused(format!(
            "VM {name} has snapshots ({}), which hold {} too; remove them first \
             (vm-mgr remove-snapshot). Nothing was changed.",
            names.join(", "),
            taken.image
        )));
    }
    if let Some(w) = crate::domain::validate(&taken.xml, "the changed domain XML")? {
        ctx.progress.say(&format!("warning: {w}"));
    }
    let mut settings = vm.settings.clone();
    settings.additional_disks = settings.additional_disks.saturating_sub(1);
    let label = ctx.storage.image_label(&taken.image);
    let fate = if a.purge {
        format!("delete {label}")
    } else {
        format!(
            "move {label} to the RBD trash for {} days",
            ctx.config.trash_days
        )
    };
    if ctx.dry_run {
        let keys = changing::store(ctx, &vm, Some(&taken.xml), Some(&settings), None)?;
        let mut actions = Vec::new();
        if let Some(node) = &vm.node {
            actions.push(format!(
                "detach {} ({}) from {name} on {node}",
                taken.dev, label
            ));
        }
        actions.push(format!(
            "set metadata {} on {}",
            keys.join(", "),
            vm.ids.system_image()
        ));
        actions.push(format!("take {label} out of group {group}"));
        actions.push(fate);
        return Ok(crate::output::dry_run_outcome(
            name,
            "remove-disk",
            &actions,
            None,
        ));
    }
    if let Some(node) = &vm.node {
        let uri = changing::node_uri(ctx, &vm, node);
        ctx.progress
            .say(&format!("{name}: detaching {} ({uri})", taken.dev));
        changing::detach(&uri, name, &taken.disk)
            .and_then(|()| released(&uri, name, &taken.dev))
            .map_err(|why| {
                Error::invalid(format!(
                    "{} was not detached from {name} on {node}: {why}; nothing was changed \
                     (stop the VM and run remove-disk again).",
                    taken.dev
                ))
            })?;
    }
    changing::store(ctx, &vm, Some(&taken.xml), Some(&settings), None)?;
    ctx.storage.group_remove(&group, &taken.image)?;
    ctx.progress.say(&format!("{name}: {fate}"));
    if a.purge {
        ctx.storage.remove_image(&taken.image)?;
    } else {
        let expires = crate::steps::trash::expiry(ctx);
        ctx.storage.trash_move(&taken.image, expires)?;
    }
    Ok(Outcome::new(
        json!({
            "name": name,
            "image": label,
            "dev": taken.dev,
            "detached": vm.node.is_some(),
            "purged": a.purge,
        }),
        format!(
            "{name}: disk {label} ({}) removed{}\n",
            taken.dev,
            if a.purge { "" } else { ", in the RBD trash" }
        ),
    ))
}

/// Waits up to [`RELEASE_WAIT`] for the guest to release disk `dev`.
fn released(uri: &str, name: &str, dev: &str) -> std::result::Result<(), String> {
    let until = std::time::Instant::now() + RELEASE_WAIT;
    loop {
        if !changing::disk_targets(uri, name)?.iter().any(|t| t == dev) {
            return Ok(());
        }
        if std::time::Instant::now() >= until {
            return Err(format!(
                "the guest did not release it within {}s (its OS must answer the unplug)",
                RELEASE_WAIT.as_secs()
            ));
        }
        if crate::cluster::interrupt::sleep(std::time::Duration::from_millis(250)) {
            return Err("interrupted".into());
        }
    }
}

/// How long the guest has to release a detached disk.
const RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// A refusal by a check (exit 7, nothing changed).
fn refused(msg: String) -> Error {
    Error::Below {
        code: crate::error::EXIT_REFUSED,
        source: msg.into(),
    }
}
