//! `create-snapshot`, `list-snapshots` (and SEAPATH's `list_snapshots`), `remove-snapshot` (the steps they share with rollback,
//! purge, clone and export are in [`crate::steps::snapshots`]).

use serde_json::json;
use shared::clock;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::{python_list, table, Outcome};
use crate::steps::snapshots::{
    check_new, drop_snapshot, list_snaps, take, unknown_snapshot, validate_snap_name, vm_disks,
};

/// `create-snapshot`.
pub fn create(ctx: &Ctx, name: &str, snap: &str) -> Result<Outcome> {
    validate_snap_name(snap)?;
    if ctx.dry_run {
        let disks = check_new(ctx, name, snap)?;
        let pool = ctx.storage.pool();
        let mut actions =
            vec!["freeze the guest's filesystems if it runs and its agent answers".to_owned()];
        if ctx.storage.dir().is_some() {
            actions.push(format!(
                "take internal snapshot {snap} of {} (through QEMU's monitor in one \
                 transaction if it runs, else qemu-img snapshot -c)",
                labels(ctx, &disks)
            ));
        } else {
            actions.push(format!("create group snapshot {pool}/{name}@{snap}"));
            actions.extend(
                disks
                    .iter()
                    .map(|d| format!("create snapshot {pool}/{d}@{snap}")),
            );
        }
        actions.push("thaw; keep the domain XML and settings with the snapshot".into());
        return Ok(crate::output::dry_run_outcome(
            name,
            "create-snapshot",
            &actions,
            None,
        ));
    }
    let (m, warnings) = take(ctx, name, snap)?;
    for w in &warnings {
        ctx.progress.say(&format!("warning: {w}"));
    }
    Ok(Outcome::new(
        json!({"name": name, "snapshot": snap, "created": m.created,
               "created_at": clock::utc_secs(m.created),
               "consistency": m.consistency, "disks": m.disks, "warnings": warnings}),
        format!("{name}: snapshot {snap} created ({})\n", m.consistency),
    ))
}

/// `list-snapshots`.
pub fn list(ctx: &Ctx, name: &str) -> Result<Outcome> {
    let snaps = list_snaps(ctx, name)?;
    let rows: Vec<Vec<String>> = snaps
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.created_at.clone().unwrap_or_else(|| "-".into()),
                s.consistency.clone().unwrap_or_else(|| "-".into()),
                if s.protected { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    let text = if rows.is_empty() {
        format!("{name}: no snapshot\n")
    } else {
        table(
            &["NAME", "CREATED (UTC)", "CONSISTENCY", "PROTECTED"],
            &rows,
        )
    };
    Ok(Outcome::new(
        json!({"name": name, "snapshots": snaps}),
        text,
    ))
}

/// SEAPATH's `list_snapshots`: the names, oldest first, as the Python list SEAPATH's
/// `vm_manager` prints (`['s1', 's2']`, `[]`) and its Cockpit plugin parses. JSON as
/// `list-snapshots`.
pub fn list_seapath(ctx: &Ctx, name: &str) -> Result<Outcome> {
    let snaps = list_snaps(ctx, name)?;
    let names: Vec<String> = snaps.iter().map(|s| s.name.clone()).collect();
    Ok(Outcome::new(
        json!({"name": name, "snapshots": snaps}),
        format!("{}\n", python_list(&names)),
    ))
}

/// `remove-snapshot`.
pub fn remove(ctx: &Ctx, name: &str, snap: &str) -> Result<Outcome> {
    validate_snap_name(snap)?;
    let snaps = list_snaps(ctx, name)?;
    let Some(info) = snaps.iter().find(|s| s.name == snap) else {
        return Err(unknown_snapshot(name, snap, &snaps));
    };
    if info.protected {
        return Err(Error::invalid(format!(
            "Snapshot {snap} of VM {name} is protected (rbd snap unprotect it first); nothing \
             was changed."
        )));
    }
    let disks = vm_disks(ctx, name)?;
    if ctx.dry_run {
        let pool = ctx.storage.pool();
        let mut actions = Vec::new();
        if ctx.storage.dir().is_some() {
            actions.push(format!(
                "remove internal snapshot {snap} of {}",
                labels(ctx, &disks)
            ));
        } else {
            actions.push(format!("remove group snapshot {pool}/{name}@{snap}"));
            actions.extend(
                disks
                    .iter()
                    .map(|d| format!("remove snapshot {pool}/{d}@{snap}")),
            );
        }
        actions.push(format!("remove the metadata kept with {snap}"));
        return Ok(crate::output::dry_run_outcome(
            name,
            "remove-snapshot",
            &actions,
            None,
        ));
    }
    let problems = drop_snapshot(ctx, name, snap, &disks);
    if let Some(p) = problems.first() {
        return Err(Error::invalid(format!(
            "Removing snapshot {snap} of VM {name} was incomplete: {p}"
        )));
    }
    Ok(Outcome::new(
        json!({"name": name, "snapshot": snap, "removed": true}),
        format!("{name}: snapshot {snap} removed\n"),
    ))
}

/// How a dry run names `disks`: their files on the dir backend.
fn labels(ctx: &Ctx, disks: &[String]) -> String {
    let files: Vec<String> = disks.iter().map(|d| ctx.storage.image_label(d)).collect();
    files.join(", ")
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
