//! `drain --node NODE [--stop-unmovable]` and `undrain --node NODE [--no-return]`.
//!
//! drain: one transaction sets the node's `standby=on` and records the VMs running there in
//! the node attribute `vmmgr-drained-vms` (configuration section, so it survives reboots);
//! Pacemaker then live-migrates them away (VMs without live migration are restarted). Before
//! that, `crm_simulate` on the changed CIB tells which VMs would have to stop (pinned to the
//! node, or with nowhere else to go): drain refuses with their list unless --stop-unmovable.
//!
//! undrain: one transaction removes both attributes; then each recorded VM whose strategy
//! allows it is migrated back (see [`crate::placement::moving`]), one after the other.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use shared::pacemaker::xml::Element;
use shared::pacemaker::{Cib, Edit};

use crate::cli_placement::{DrainArgs, UndrainArgs};
use crate::cluster::budget::drain_budget;
use crate::cluster::wait::{poll, Look};
use crate::cluster::Waited;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::{table, Outcome};
use crate::placement::moving::{move_vm, MoveOptions};
use crate::placement::preflight::{allows_migration, clone_partners};
use crate::placement::simulate::Simulation;
use crate::placement::{edit, placement_of, simulate, PlacementError, Strategy, DRAINED_ATTRIBUTE};
use crate::state::{cib_vms, status_of, VmState};

/// One VM of a drain or undrain.
#[derive(Debug, Clone, Serialize)]
pub struct VmMove {
    /// VM name.
    pub name: String,
    /// Where it was.
    pub from: Option<String>,
    /// Where it is (or would be) afterwards.
    pub to: Option<String>,
    /// "live", "restart", "stop", "return", "skip", "failed".
    pub how: String,
    /// State afterwards (or expected).
    pub state: Option<VmState>,
    /// Why, for skips and failures.
    pub detail: Option<String>,
}

fn drained_list(tree: &Element, node: &str) -> Vec<String> {
    edit::node_attribute(tree, node, DRAINED_ATTRIBUTE)
        .map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn check_node(
    ctx: &Ctx,
    node: &str,
) -> Result<(shared::pacemaker::Cib, shared::pacemaker::ClusterStatus)> {
    crate::vm::validate_node_name(node)?;
    let (cib, mon) = crate::cluster::read_cluster(ctx)?;
    if cib.node(node).is_none() {
        return Err(Error::invalid(format!(
            "Node {node} is not a node of the cluster."
        )));
    }
    Ok((cib, mon))
}

/// Runs `drain`.
pub fn drain(ctx: &Ctx, a: &DrainArgs) -> Result<Outcome> {
    let node = a.node.as_str();
    let (cib, mon) = check_node(ctx, node)?;
    let on_node: Vec<String> = cib_vms(&cib)
        .into_iter()
        .filter(|v| {
            status_of(v, &cib, &mon, None)
                .nodes
                .iter()
                .any(|n| n == node)
        })
        .collect();
    let mut record = drained_list(cib.element(), node);
    for v in &on_node {
        if !record.contains(v) {
            record.push(v.clone());
        }
    }
    let apply = |tree: &mut Element| -> Result<bool, crate::fragment::FragmentError> {
        let mut c = edit::set_node_attribute(tree, node, "standby", Some("on"))?;
        if !record.is_empty() {
            c |= edit::set_node_attribute(tree, node, DRAINED_ATTRIBUTE, Some(&record.join(",")))?;
        }
        Ok(c)
    };
    let mut tree = cib.element().clone();
    apply(&mut tree).map_err(crate::placement::edit_error)?;
    let sim = simulate::simulate(&tree)?;
    let mut plan = plan_moves(&cib, &sim, node, &on_node);
    let unmovable: Vec<String> = plan
        .iter()
        .filter(|m| m.how == "stop")
        .map(|m| m.name.clone())
        .collect();
    if !unmovable.is_empty() && !a.stop_unmovable {
        return Err(PlacementError::Unmovable {
            node: node.to_owned(),
            vms: unmovable,
        }
        .into());
    }
    // Before the first write: a VM whose op timeouts cannot be read is refused here.
    let budget = match a.timeout {
        Some(secs) => Duration::from_secs(secs),
        None => drain_budget(&cib, &on_node)?,
    };
    let change = crate::cluster::change(ctx, |_cib, tree| {
        Ok(if apply(tree)? {
            Edit::Change(())
        } else {
            Edit::Unchanged(())
        })
    })?;
    if ctx.dry_run {
        return Ok(dry_run(node, change.patch.as_deref(), &plan, &sim));
    }
    ctx.progress.say(&format!(
        "{node}: standby; moving {} VM(s) away",
        on_node.len()
    ));
    let done = crate::cluster::wait_off_node(ctx, node, &on_node, budget)?;
    for m in &mut plan {
        if let Some((state, at)) = done.get(&m.name) {
            m.state = Some(*state);
            m.to = at.clone();
        }
    }
    let left: Vec<&str> = plan
        .iter()
        .filter(|m| m.to.as_deref() == Some(node))
        .map(|m| m.name.as_str())
        .collect();
    let json = json!({"node": node, "standby": true, "changed": change.applied, "vms": plan, "recorded": record});
    let mut text = format!(
        "{node}: drained (standby); {} VM(s) moved\n",
        plan.iter().filter(|m| m.how != "stop").count()
    );
    text.push_str(&moves_table(&plan));
    if !left.is_empty() {
        text.push_str(&format!("still on {node}: {}\n", left.join(", ")));
    }
    Ok(Outcome::new(json, text))
}

/// Where each VM on `node` goes once it is in standby, as `crm_simulate` (`sim`) says: live,
/// restart (no live migration), or stop (nowhere to go).
fn plan_moves(cib: &Cib, sim: &Simulation, node: &str, on_node: &[String]) -> Vec<VmMove> {
    let mut plan: Vec<VmMove> = Vec::new();
    for v in on_node {
        let after = sim.vm_nodes(v);
        let how = if after.is_empty() {
            "stop"
        } else if allows_migration(cib, v) {
            "live"
        } else {
            "restart"
        };
        plan.push(VmMove {
            name: v.clone(),
            from: Some(node.to_owned()),
            to: after.first().cloned(),
            how: how.into(),
            state: Some(if after.is_empty() {
                VmState::Stopped
            } else {
                VmState::Started
            }),
            detail: None,
        });
    }
    plan
}

/// `--dry-run`: the CIB patch, the planned moves and what Pacemaker would do.
fn dry_run(node: &str, patch: Option<&str>, plan: &[VmMove], sim: &Simulation) -> Outcome {
    let mut out = crate::output::dry_run_outcome(node, "drain", &[], patch);
    if let Some(o) = out.json.as_object_mut() {
        o.insert("node".into(), json!(node));
        o.insert("vms".into(), json!(plan));
        o.insert("simulated_actions".into(), json!(sim.describe()));
    }
    out.text.push_str(&moves_table(plan));
    for act in sim.describe() {
        out.text.push_str(&format!("Pacemaker would: {act}\n"));
    }
    out
}

fn moves_table(plan: &[VmMove]) -> String {
    if plan.is_empty() {
        return String::new();
    }
    let rows: Vec<Vec<String>> = plan
        .iter()
        .map(|m| {
            vec![
                m.name.clone(),
                m.how.clone(),
                m.from.clone().unwrap_or_default(),
                m.to.clone().unwrap_or_default(),
                m.state.map(|s| s.to_string()).unwrap_or_default(),
                m.detail.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(&["VM", "HOW", "FROM", "TO", "STATE", "DETAIL"], &rows)
}

/// Runs `undrain`.
pub fn undrain(ctx: &Ctx, a: &UndrainArgs) -> Result<Outcome> {
    let node = a.node.as_str();
    let (cib, _) = check_node(ctx, node)?;
    let record = drained_list(cib.element(), node);
    let change = crate::cluster::change(ctx, |_cib, tree| {
        let mut c = edit::set_node_attribute(tree, node, "standby", None)?;
        c |= edit::set_node_attribute(tree, node, DRAINED_ATTRIBUTE, None)?;
        Ok(if c {
            Edit::Change(())
        } else {
            Edit::Unchanged(())
        })
    })?;
    if ctx.dry_run {
        let actions: Vec<String> = record
            .iter()
            .map(|v| format!("bring {v} back to {node} if its strategy allows"))
            .collect();
        let mut out =
            crate::output::dry_run_outcome(node, "undrain", &actions, change.patch.as_deref());
        if let Some(o) = out.json.as_object_mut() {
            o.insert("node".into(), json!(node));
            o.insert("recorded".into(), json!(record));
        }
        return Ok(out);
    }
    ctx.progress.say(&format!(
        "{node}: out of standby; {} VM(s) recorded by drain",
        record.len()
    ));
    let mut moves = Vec::new();
    if !a.no_return {
        for v in &record {
            moves.push(return_vm(ctx, v, node));
        }
    }
    let failed: Vec<String> = moves
        .iter()
        .filter(|m| m.how == "failed")
        .map(|m| format!("{}: {}", m.name, m.detail.as_deref().unwrap_or("")))
        .collect();
    let json = json!({"node": node, "standby": false, "changed": change.applied, "recorded": record, "vms": moves});
    let mut text = format!(
        "{node}: back in service{}\n",
        if change.applied {
            ""
        } else {
            " (it was not drained)"
        }
    );
    text.push_str(&moves_table(&moves));
    if !failed.is_empty() {
        ctx.progress.say(&text);
        return Err(Error::invalid(format!(
            "{node} is back in service, but some VMs did not return: {}.",
            failed.join("; ")
        )));
    }
    Ok(Outcome::new(json, text))
}

/// Brings VM `v` back to `node` when its strategy allows; never fails (the result says).
fn return_vm(ctx: &Ctx, v: &str, node: &str) -> VmMove {
    let mut m = VmMove {
        name: v.to_owned(),
        from: None,
        to: None,
        how: "skip".into(),
        state: None,
        detail: None,
    };
    let (cib, mon) = match crate::cluster::read_cluster(ctx) {
        Ok(x) => x,
        Err(e) => {
            m.how = "failed".into();
            m.detail = Some(e.to_string());
            return m;
        }
    };
    let st = status_of(v, &cib, &mon, None);
    m.from = st.node.clone();
    m.state = Some(st.state);
    m.to = st.node.clone();
    let Some(p) = placement_of(cib.element(), Some(&cib), v) else {
        m.detail = Some("no longer in the cluster".into());
        return m;
    };
    if st.nodes == [node] {
        m.how = "return".into();
        m.detail = Some("already back".into());
        return m;
    }
    if p.strategy == Strategy::Pinned {
        m.how = "return".into();
        let budget = match crate::cluster::wait_budget(&cib, v, "start") {
            Ok(b) => b,
            Err(e) => {
                m.detail = Some(format!("pinned, not waited for: {e}"));
                return m;
            }
        };
        m.detail = Some("pinned: Pacemaker starts it there again".into());
        if let Ok(st) = crate::cluster::wait_state(ctx, v, VmState::Started, budget) {
            m.state = Some(st.state);
            m.to = st.node;
        }
        return m;
    }
    if st.state != VmState::Started {
        m.detail = Some(format!("it is {} (not moved)", st.state));
        return m;
    }
    if !allows_migration(&cib, v) {
        m.detail = Some(format!(
            "no live migration; move it with `vm-mgr migrate -n {v} --node {node} --offline`"
        ));
        return m;
    }
    if let Err(why) = wait_partners(ctx, &cib, v, node) {
        m.how = "failed".into();
        m.detail = Some(why);
        return m;
    }
    let opts = MoveOptions {
        offline: false,
        wait_for_shutdown: false,
        start_after: true,
        shutdown_timeout: Duration::from_secs(0),
        timeout: None,
    };
    match move_vm(ctx, v, node, &opts) {
        Ok(r) => {
            m.how = "return".into();
            m.state = Some(r.state);
            m.to = r.node;
        }
        Err(e) => {
            m.how = "failed".into();
            m.detail = Some(e.to_string());
        }
    }
    m
}

/// Waits (within the VM's start budget) until the clones `v` must run with, such as a shared
/// directory's mount, run on `node` again: they start there only once it left standby, and the
/// move is refused until they do. Errs with why the VM cannot return.
fn wait_partners(ctx: &Ctx, cib: &Cib, v: &str, node: &str) -> std::result::Result<(), String> {
    let partners = clone_partners(cib, v);
    if partners.is_empty() {
        return Ok(());
    }
    let budget = crate::cluster::wait_budget(cib, v, "start").map_err(|e| e.to_string())?;
    let missing = |mon: &shared::pacemaker::ClusterStatus| -> Vec<String> {
        partners
            .iter()
            .filter(|p| !mon.where_running(p).contains(&node))
            .cloned()
            .collect()
    };
    let mut told = false;
    let waited = poll(ctx, budget, Duration::from_millis(500), |_cib, mon| {
        let left = missing(mon);
        if left.is_empty() || ctx.offline {
            return Ok(Look::Done(()));
        }
        if !told {
            ctx.progress.say(&format!(
                "{v}: waiting for {} to start on {node}",
                left.join(", ")
            ));
            told = true;
        }
        Ok(Look::NotYet(Err(Waited::Timeout {
            state: format!("{} not started on {node}", left.join(", ")),
            node: None,
        })))
    });
    match waited {
        Ok(()) => Ok(()),
        Err(Waited::Timeout { state, .. }) => Err(format!(
            "{state} within {}s; the VM stays where it is",
            budget.as_secs()
        )),
        Err(Waited::Interrupted) => Err("interrupted; the VM stays where it is".into()),
        Err(Waited::Failed(e)) => Err(e.to_string()),
    }
}
