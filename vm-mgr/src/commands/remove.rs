//! `remove -n NAME`: stop the VM and take it out of the CIB (one transaction), then delete its
//! images (with their snapshots) and its RBD group. Nothing mentioning the VM is left.

use serde_json::json;
use shared::pacemaker::Edit;

use crate::ctx::Ctx;
use crate::error::Result;
use crate::fragment;
use crate::output::Outcome;
use crate::state::VmState;
use crate::steps::teardown;
use crate::vm::VmIds;

/// Runs `remove`.
pub fn run(ctx: &Ctx, name: &str) -> Result<Outcome> {
    let r = teardown::find(ctx, name)?;
    if ctx.dry_run {
        return dry_run(ctx, name, &r);
    }
    teardown::remove(ctx, name, &r)?;
    Ok(Outcome::new(
        json!({"name": name, "state": VmState::Undefined, "node": null, "removed_images": r.images, "was_enabled": r.in_cib}),
        format!("{name}: removed\n"),
    ))
}

/// `--dry-run`: what [`teardown::remove`] would do.
fn dry_run(ctx: &Ctx, name: &str, r: &teardown::Removal) -> Result<Outcome> {
    let pool = ctx.storage.pool().to_owned();
    let group = VmIds::new(name).rbd_group();
    let mut actions = Vec::new();
    let mut patch = None;
    if r.in_cib {
        actions.push(format!("stop {name} and wait until it is stopped"));
        patch = crate::cluster::change(ctx, |_cib, tree| {
            Ok(Edit::Change(fragment::remove(tree, name)?))
        })?
        .patch;
    }
    actions.extend(
        r.grouped
            .iter()
            .map(|i| format!("take {pool}/{i} out of group {pool}/{group}")),
    );
    actions.extend(
        r.images
            .iter()
            .map(|i| format!("delete image {pool}/{i} and its snapshots")),
    );
    if r.has_group {
        actions.push(format!("delete group {pool}/{group}"));
    }
    Ok(crate::output::dry_run_outcome(
        name,
        "remove",
        &actions,
        patch.as_deref(),
    ))
}
