//! `doctor [--fix] [--purge-orphans]`: find what is wrong with vm-mgr's VMs ([`crate::checks`]:
//! leftover `cli-*` and stale or expired `vmmgr-*` constraints, fail-counts and failed actions,
//! half-made VMs, unreadable stored data, CIB and stored fragment that disagree, standby or
//! maintenance nodes running VMs, a placement strategy without node capacities), say what to do
//! about each, and with `--fix` repair what is safe: every constraint to remove in ONE CIB
//! transaction, then `crm_resource --cleanup` of the VMs with failures; then look again and
//! report what is left. Disks are never deleted: `--purge-orphans` moves orphan images to the
//! RBD trash (for `trash-days`, `rbd trash restore` brings one back) and removes the orphan
//! RBD groups (after taking their images out).
//!
//! Exit code 0 when nothing is left to report, 1 when findings remain (after `--fix`, those it
//! could not repair); `--dry-run --fix` shows the transaction and the clean-ups, changes nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use shared::pacemaker::cib::tree;
use shared::pacemaker::Edit;

use crate::checks::{self, stored, Finding, Repair};
use crate::cli::DoctorArgs;
use crate::cluster::wait::{poll, Look};
use crate::cluster::{self, Waited};
use crate::ctx::Ctx;
use crate::error::{Error, Result, EXIT_FAILED, EXIT_OK};
use crate::fragment::FragmentError;
use crate::output::Outcome;

/// How long `--fix` waits for the cluster to drop the failures it cleaned up.
const CLEANUP_SETTLE: Duration = Duration::from_secs(20);

/// Runs `doctor`.
pub fn run(ctx: &Ctx, a: &DoctorArgs) -> Result<Outcome> {
    if a.purge_orphans && !ctx.storage.available() {
        return Err(crate::storage::StorageError::Disabled.into());
    }
    let found = examine(ctx)?;
    if !a.fix {
        return Ok(report(ctx, &found, &[], &[], None));
    }
    let (mut actions, patch) = repair(ctx, &found)?;
    if a.purge_orphans {
        actions.extend(purge_orphans(ctx, &found)?);
    }
    let left = if ctx.dry_run {
        found.clone()
    } else {
        settle(ctx, &found)?
    };
    let fixed: Vec<Finding> = found
        .iter()
        .filter(|f| f.fixable && !left.iter().any(|l| same(l, f)))
        .cloned()
        .collect();
    Ok(report(ctx, &left, &fixed, &actions, patch))
}

/// Every finding, CIB and status first, then storage (skipped with `--no-storage`).
fn examine(ctx: &Ctx) -> Result<Vec<Finding>> {
    let (cib, mon) = cluster::read_cluster(ctx)?;
    let now = i64::try_from(shared::clock::unix_secs()).unwrap_or(i64::MAX);
    let mut found = checks::cib_findings(&cib, &mon, now);
    if ctx.storage.available() {
        let view = stored::read(ctx.storage.as_ref())?;
        found.extend(stored::findings(&view, &cib, &ctx.ceph_access()));
    }
    Ok(found)
}

fn same(a: &Finding, b: &Finding) -> bool {
    (a.kind, &a.vm, &a.id) == (b.kind, &b.vm, &b.id)
}

/// Removes the constraints of `found` in one transaction and cleans up the VMs' failures;
/// returns what was done (or, with `--dry-run`, would be) and the dry run's CIB patch.
fn repair(ctx: &Ctx, found: &[Finding]) -> Result<(Vec<String>, Option<String>)> {
    let mut ids = Vec::new();
    let mut vms = BTreeSet::new();
    for f in found {
        match &f.repair {
            Some(Repair::RemoveConstraint(id)) if !ids.contains(id) => ids.push(id.clone()),
            Some(Repair::Cleanup(vm)) => {
                vms.insert(vm.clone());
            }
            _ => {}
        }
    }
    let would = if ctx.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut actions = Vec::new();
    let mut patch = None;
    if !ids.is_empty() {
        let change = cluster::change(ctx, |_, t| {
            let removed = tree::remove_constraints(t, &ids).ok_or(FragmentError::NoSection {
                section: "constraints",
            })?;
            Ok(if removed.is_empty() {
                Edit::Unchanged(removed)
            } else {
                Edit::Change(removed)
            })
        })?;
        patch = change.patch;
        if !change.value.is_empty() {
            actions.push(format!(
                "{would} constraint{} {} in one CIB transaction",
                if change.value.len() == 1 { "" } else { "s" },
                change.value.join(", ")
            ));
        }
    }
    for vm in &vms {
        let argv = format!("crm_resource --cleanup --resource={vm}");
        if ctx.dry_run {
            actions.push(format!("would clean up the failures of VM {vm} ({argv})"));
        } else if ctx.offline {
            // crm_resource cannot clean up a CIB file (it skips every node, then crashes).
            actions.push(format!(
                "did not clean up the failures of VM {vm}: {argv} needs the live cluster"
            ));
        } else {
            ctx.tools.cleanup_resource(vm, ctx.cib_deadline())?;
            actions.push(format!("cleaned up the failures of VM {vm} ({argv})"));
        }
    }
    Ok((actions, patch))
}

/// `--purge-orphans`: the orphan groups' snapshots and members out, the groups removed, then
/// every orphan image moved to the trash until `trash-days` from now. Returns what was done.
fn purge_orphans(ctx: &Ctx, found: &[Finding]) -> Result<Vec<String>> {
    let of = |kind: checks::Kind| -> Vec<&str> {
        found
            .iter()
            .filter(|f| f.kind == kind)
            .filter_map(|f| f.id.as_deref())
            .collect()
    };
    let would = |done: &str, dry: &str| {
        if ctx.dry_run {
            dry.to_owned()
        } else {
            done.to_owned()
        }
    };
    let until = crate::steps::trash::expiry(ctx);
    let until_text = shared::clock::utc_secs(u64::try_from(until).unwrap_or(0));
    let mut actions = Vec::new();
    for group in of(checks::Kind::OrphanGroup) {
        if !ctx.dry_run {
            for snap in ctx.storage.group_snap_list(group)? {
                ctx.storage.group_snap_remove(group, &snap.name)?;
            }
            for image in ctx.storage.group_images(group)? {
                ctx.storage.group_remove(group, &image)?;
            }
            ctx.storage.remove_group(group)?;
        }
        actions.push(format!(
            "{} orphan RBD group {group} (its images stay, orphan ones go to the trash)",
            would("removed", "would remove")
        ));
    }
    for image in of(checks::Kind::OrphanImage) {
        if !ctx.dry_run {
            ctx.storage.trash_move(image, until)?;
        }
        actions.push(format!(
            "{} orphan image {} to the trash until {until_text}",
            would("moved", "would move"),
            ctx.storage.image_label(image)
        ));
    }
    Ok(actions)
}

/// The findings after the repairs: the failures cleaned up are gone once the controller has
/// forgotten them, which can take a moment; waits for that at most [`CLEANUP_SETTLE`].
fn settle(ctx: &Ctx, before: &[Finding]) -> Result<Vec<Finding>> {
    let cleaned: Vec<&Finding> = before
        .iter()
        .filter(|f| matches!(f.repair, Some(Repair::Cleanup(_))))
        .collect();
    let budget = if cleaned.is_empty() || ctx.offline {
        Duration::ZERO
    } else {
        CLEANUP_SETTLE
    };
    let now = i64::try_from(shared::clock::unix_secs()).unwrap_or(i64::MAX);
    let cib_left = poll(ctx, budget, Duration::from_millis(500), |cib, mon| {
        let left = checks::cib_findings(cib, mon, now);
        if left.iter().any(|l| cleaned.iter().any(|c| same(c, l))) {
            Ok(Look::NotYet(Ok(left)))
        } else {
            Ok(Look::Done(left))
        }
    });
    let mut left = match cib_left {
        Ok(l) => l,
        Err(Waited::Failed(e)) => return Err(e),
        Err(Waited::Interrupted) => {
            return Err(Error::Interrupted {
                during: "waiting for the cleaned-up failures to go".into(),
            })
        }
        // A spent budget ends with the last look's findings: not seen.
        Err(Waited::Timeout { .. }) => {
            let (cib, mon) = cluster::read_cluster(ctx)?;
            checks::cib_findings(&cib, &mon, now)
        }
    };
    if ctx.storage.available() {
        let (cib, _) = cluster::read_cluster(ctx)?;
        let view = stored::read(ctx.storage.as_ref())?;
        left.extend(stored::findings(&view, &cib, &ctx.ceph_access()));
    }
    Ok(left)
}

/// A value for text output: one line, no tabs (the columns' separator), `-` when empty.
fn cell(s: Option<&str>) -> String {
    match s {
        None | Some("") => "-".to_owned(),
        Some(s) => s
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    }
}

fn line(status: &str, f: &Finding) -> String {
    format!(
        "{status}\t{}\t{}\t{}\t{}\t{}\n",
        f.kind.as_str(),
        cell(f.vm.as_deref()),
        cell(f.id.as_deref()),
        cell(Some(&f.detail)),
        cell(Some(&f.fix)),
    )
}

/// The outcome: JSON `{healthy, findings, fixed, actions, cib_patch, dry_run,
/// storage_checked}`; text one line per finding, `STATUS<TAB>KIND<TAB>VM<TAB>ID<TAB>DETAIL<TAB>FIX`
/// (STATUS `fixable`, `manual` or `fixed`), then `#` lines: the actions, the dry run's patch;
/// exit code 1 while findings are left.
fn report(
    ctx: &Ctx,
    left: &[Finding],
    fixed: &[Finding],
    actions: &[String],
    patch: Option<String>,
) -> Outcome {
    let storage_checked = ctx.storage.available();
    let mut text = String::new();
    for f in fixed {
        text.push_str(&line("fixed", f));
    }
    for f in left {
        text.push_str(&line(if f.fixable { "fixable" } else { "manual" }, f));
    }
    for a in actions {
        text.push_str(&format!("# {a}\n"));
    }
    if let Some(p) = &patch {
        text.push_str(&format!("# CIB patch (dry run, nothing was changed):\n{p}"));
    }
    if !storage_checked {
        text.push_str("# storage not checked (--no-storage): images, RBD groups, stored data\n");
    }
    if left.is_empty() {
        text.push_str("# no problems found\n");
    }
    let json = json!({
        "healthy": left.is_empty(),
        "findings": left,
        "fixed": fixed,
        "actions": actions,
        "cib_patch": patch,
        "dry_run": ctx.dry_run,
        "storage_checked": storage_checked,
    });
    let code = if left.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILED
    };
    Outcome::new(json, text).with_exit_code(code)
}
