//! `add-colocation -n VM OTHER... [--anti] [--strong | --score N]` and
//! `remove-colocation -n VM [OTHER...]`: keep a VM on the same node as other resources, or
//! apart from them, with vm-mgr's own constraints (`vmmgr-colo-VM.OTHER`,
//! `vmmgr-anti-VM.OTHER`; `rsc=VM with-rsc=OTHER`: the VM follows OTHER). All pairs in one
//! transaction. They are part of the VM's fragment, so disable/enable keeps them.

use serde_json::json;
use shared::pacemaker::Edit;

use crate::cli_placement::{AddColocationArgs, RemoveColocationArgs};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::Outcome;
use crate::placement::{edit, SOFT_COLOCATION_SCORE};

/// The score written for these flags (negative with `--anti`).
pub fn score(a: &AddColocationArgs) -> Result<String> {
    if let Some(n) = a.score {
        if n <= 0 {
            return Err(Error::invalid(format!(
                "--score {n}: give a positive strength; --anti makes it negative."
            )));
        }
    }
    let sign = if a.anti { "-" } else { "" };
    Ok(match (a.strong, a.score) {
        (true, _) => format!("{sign}INFINITY"),
        (false, Some(n)) => format!("{sign}{n}"),
        (false, None) => format!("{sign}{SOFT_COLOCATION_SCORE}"),
    })
}

/// Runs `add-colocation`.
pub fn add(ctx: &Ctx, a: &AddColocationArgs) -> Result<Outcome> {
    let score = score(a)?;
    let (cib, _) = crate::cluster::read_cluster(ctx)?;
    if !crate::fragment::in_cib(cib.element(), &a.name) {
        return Err(crate::cluster::not_enabled(ctx, &a.name));
    }
    for other in &a.resources {
        if other == &a.name {
            return Err(Error::invalid(format!(
                "VM {other} cannot be colocated with itself."
            )));
        }
        if cib.resource(other).is_none() {
            return Err(Error::invalid(format!(
                "There is no resource {other} in the cluster (a disabled VM must be enabled \
                 first)."
            )));
        }
        if cib.parent_of(other).is_some() {
            return Err(Error::invalid(format!(
                "{other} is a member of {}; colocate with the whole group or clone instead.",
                cib.parent_of(other).unwrap_or_default()
            )));
        }
    }
    let change = crate::cluster::change(ctx, |_cib, tree| {
        let mut ids = Vec::new();
        let mut changed = false;
        for other in &a.resources {
            changed |= edit::add_colocation(tree, &a.name, other, a.anti, &score)?;
            ids.push(crate::placement::colocation_id(&a.name, other, a.anti));
        }
        Ok(if changed {
            Edit::Change(ids)
        } else {
            Edit::Unchanged(ids)
        })
    })?;
    if ctx.dry_run {
        return Ok(crate::output::dry_run_outcome(
            &a.name,
            "add-colocation",
            &[],
            change.patch.as_deref(),
        ));
    }
    let how = if a.anti {
        "apart from"
    } else {
        "together with"
    };
    Ok(Outcome::new(
        json!({
            "name": a.name,
            "constraints": change.value,
            "with": a.resources,
            "anti": a.anti,
            "score": score,
            "changed": change.applied,
        }),
        format!(
            "{}: {how} {} (score {score}; {})\n",
            a.name,
            a.resources.join(", "),
            change.value.join(", ")
        ),
    ))
}

/// Runs `remove-colocation`.
pub fn remove(ctx: &Ctx, a: &RemoveColocationArgs) -> Result<Outcome> {
    let (cib, _) = crate::cluster::read_cluster(ctx)?;
    if !crate::fragment::in_cib(cib.element(), &a.name) {
        return Err(crate::cluster::not_enabled(ctx, &a.name));
    }
    let change = crate::cluster::change(ctx, |_cib, tree| {
        let removed = edit::remove_colocations(tree, &a.name, &a.resources)?;
        Ok(if removed.is_empty() {
            Edit::Unchanged(removed)
        } else {
            Edit::Change(removed)
        })
    })?;
    if ctx.dry_run {
        return Ok(crate::output::dry_run_outcome(
            &a.name,
            "remove-colocation",
            &[],
            change.patch.as_deref(),
        ));
    }
    let removed = change.value;
    let text = if removed.is_empty() {
        format!("{}: no vm-mgr colocation to remove\n", a.name)
    } else {
        format!("{}: removed {}\n", a.name, removed.join(", "))
    };
    Ok(Outcome::new(
        json!({"name": a.name, "removed": removed, "changed": change.applied}),
        text,
    ))
}
