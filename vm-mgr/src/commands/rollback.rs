//! `rollback -n VM --snap-name S`: every disk back to snapshot S, and the domain XML and
//! settings kept with it back in the metadata. Refuses, changing nothing, when any disk lacks
//! the snapshot. A running VM is stopped first (target role, and waits) and started again
//! afterwards: its CIB resources and constraints stay as they are (SEAPATH disables and
//! re-enables, losing them).

use serde_json::json;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment;
use crate::output::Outcome;
use crate::state::VmState;
use crate::steps::snapshots::{self as snapshot, snap_key};
use crate::vm::{self, VmIds};

/// Runs `rollback`.
pub fn run(ctx: &Ctx, name: &str, snap: &str) -> Result<Outcome> {
    snapshot::validate_snap_name(snap)?;
    let ids = VmIds::new(name);
    let system = ids.system_image();
    let disks = snapshot::vm_disks(ctx, name)?;
    let snaps = snapshot::list_snaps(ctx, name)?;
    if !snaps.iter().any(|s| s.name == snap && s.complete) {
        return Err(snapshot::unknown_snapshot(name, snap, &snaps));
    }
    check_disks(ctx, name, snap, &disks)?;
    let meta = ctx.storage.meta_list(&system)?;
    let restore: Vec<(&str, String)> = [(vm::META_XML, "xml"), (vm::META_SETTINGS, "settings")]
        .into_iter()
        .filter_map(|(key, part)| meta.get(&snap_key(snap, part)).map(|v| (key, v.clone())))
        .collect();
    let (cib, _) = crate::cluster::read_cluster(ctx)?;
    let in_cib = fragment::in_cib(cib.element(), name);
    let st = crate::cluster::current_status(ctx, name)?;
    let was_running = in_cib
        && matches!(
            st.state,
            VmState::Started | VmState::Starting | VmState::Migrating
        );
    let must_stop = in_cib && st.state != VmState::Stopped;
    // Before the first write: a VM whose op timeouts cannot be read is refused here.
    let stop_budget = crate::cluster::wait_budget(&cib, name, "stop")?;
    let start_budget = crate::cluster::wait_budget(&cib, name, "start")?;
    if ctx.dry_run {
        return Ok(dry_run(
            ctx,
            name,
            snap,
            &disks,
            &restore,
            (must_stop, was_running),
        ));
    }
    if must_stop {
        ctx.progress
            .say(&format!("{name}: stopping before the rollback"));
        crate::cluster::set_role(ctx, name, "Stopped")?;
    }
    if in_cib {
        // Also when it looked Stopped already: wait_state confirms that on every node before
        // the disks are rewritten.
        crate::cluster::wait_state(ctx, name, VmState::Stopped, stop_budget)?;
    }
    ctx.progress.say(&format!(
        "{name}: rolling {} disk(s) back to {snap}",
        disks.len()
    ));
    roll_back(ctx, name, snap, &restore, must_stop)?;
    let st = if was_running {
        ctx.progress.say(&format!("{name}: starting again"));
        crate::cluster::set_role(ctx, name, "Started")?;
        crate::cluster::wait_state(ctx, name, VmState::Started, start_budget)?
    } else {
        crate::cluster::current_status(ctx, name)?
    };
    let restored: Vec<&str> = restore.iter().map(|(k, _)| *k).collect();
    let mut out = crate::output::state_outcome(
        "rollback",
        &st.name,
        st.state,
        st.node.as_deref(),
        json!({"snapshot": snap, "was_running": was_running, "restored_metadata": restored,
               "disks": disks}),
    );
    out.text = format!("{name}: rolled back to {snap}; {}\n", st.state);
    Ok(out)
}

/// Fails, changing nothing, when a disk lacks the group snapshot `snap` (added after it).
fn check_disks(ctx: &Ctx, name: &str, snap: &str, disks: &[String]) -> Result<()> {
    let mut lacking = Vec::new();
    for d in disks {
        if !ctx
            .storage
            .image_snaps(d)?
            .iter()
            .any(|s| s.is_group_snap(snap))
        {
            lacking.push(d.clone());
        }
    }
    if !lacking.is_empty() {
        return Err(Error::invalid(format!(
            "Disk(s) {} of VM {name} lack snapshot {snap} (added to the VM after it); nothing \
             was changed.",
            lacking.join(", ")
        )));
    }
    Ok(())
}

/// `--dry-run`: what a rollback of `disks` would do (`restore`: the metadata kept with the
/// snapshot; `stop_start`: whether the VM must stop, whether it is started again afterwards).
fn dry_run(
    ctx: &Ctx,
    name: &str,
    snap: &str,
    disks: &[String],
    restore: &[(&str, String)],
    stop_start: (bool, bool),
) -> Outcome {
    let (must_stop, was_running) = stop_start;
    let ids = VmIds::new(name);
    let system = ids.system_image();
    let pool = ctx.storage.pool();
    let mut actions = Vec::new();
    if must_stop {
        actions.push(format!("stop {name} and wait until it is stopped"));
    }
    if ctx.storage.dir().is_some() {
        let files: Vec<String> = disks.iter().map(|d| ctx.storage.image_label(d)).collect();
        actions.push(format!(
            "qemu-img snapshot -a {snap} on {}",
            files.join(", ")
        ));
    } else {
        actions.push(format!(
            "roll group {pool}/{} ({}) back to snapshot {snap}",
            ids.rbd_group(),
            disks.join(", ")
        ));
    }
    for (key, _) in restore {
        actions.push(format!(
            "restore metadata {key} of {pool}/{system} from {snap}"
        ));
    }
    if was_running {
        actions.push(format!("start {name} again and wait until it runs"));
    }
    crate::output::dry_run_outcome(name, "rollback", &actions, None)
}

/// Rolls the VM's group back to `snap` and restores the metadata kept with it; on failure
/// the VM is left stopped (a half-rolled-back VM must not run).
fn roll_back(
    ctx: &Ctx,
    name: &str,
    snap: &str,
    restore: &[(&str, String)],
    must_stop: bool,
) -> Result<()> {
    let ids = VmIds::new(name);
    let system = ids.system_image();
    let rolled = ctx
        .storage
        .group_snap_rollback(&ids.rbd_group(), snap)
        .map_err(Error::from)
        .and_then(|()| {
            for (key, value) in restore {
                ctx.storage.meta_set(&system, key, value)?;
            }
            Ok(())
        });
    if let Err(e) = rolled {
        // Leave it stopped: a half-rolled-back VM must not run.
        return Err(Error::invalid(format!(
            "Rolling VM {name} back to {snap} failed{}: {e}",
            if must_stop {
                "; it was left stopped"
            } else {
                ""
            }
        )));
    }
    Ok(())
}
