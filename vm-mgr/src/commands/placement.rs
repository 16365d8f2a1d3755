//! `set-placement -n VM --strategy auto|failover|pinned [--node NODE]`: the VM's stickiness and
//! its pin or preference (see [`crate::placement`]) in one transaction. A disabled VM's stored
//! fragment is edited instead, so enable brings the strategy back. The settings kept in RBD
//! follow (`pinned_host` / `preferred_host`), for clone and re-creation.

use serde_json::json;
use shared::pacemaker::xml::Element;
use shared::pacemaker::Edit;

use crate::cli_placement::SetPlacementArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment;
use crate::output::Outcome;
use crate::placement::{edit, placement_of, simulate, Strategy};
use crate::steps::stored;
use crate::vm;

/// Runs `set-placement`.
pub fn run(ctx: &Ctx, a: &SetPlacementArgs) -> Result<Outcome> {
    let name = a.name.as_str();
    let node = a.node.as_deref();
    if let Some(n) = node {
        vm::validate_node_name(n)?;
    }
    let (cib, mon) = crate::cluster::read_cluster(ctx)?;
    if let Some(n) = node {
        if cib.node(n).is_none() {
            return Err(Error::invalid(format!(
                "Node {n} is not a node of the cluster."
            )));
        }
        if a.strategy == Strategy::Pinned {
            crate::placement::nodes::refuse_pin(&cib, &mon, name, n)?;
        }
    }
    let apply = |tree: &mut Element| edit::set_strategy(tree, name, a.strategy, node);
    let (changed, patch, actions) = if fragment::in_cib(cib.element(), name) {
        let mut after = None;
        let change = crate::cluster::change(ctx, |_cib, tree| {
            let changed = apply(tree)?;
            after = Some(tree.clone());
            Ok(if changed {
                Edit::Change(())
            } else {
                Edit::Unchanged(())
            })
        })?;
        let actions = match (ctx.dry_run, &after, &change.patch) {
            (true, Some(tree), Some(_)) => simulate::simulate(tree)?.describe(),
            _ => Vec::new(),
        };
        (
            change.applied || change.patch.is_some(),
            change.patch,
            actions,
        )
    } else {
        (stored::edit_fragment(ctx, name, &apply)?, None, Vec::new())
    };
    update_settings(ctx, name, a.strategy, node)?;
    if ctx.dry_run {
        let mut out = crate::output::dry_run_outcome(name, "set-placement", &[], patch.as_deref());
        if let Some(o) = out.json.as_object_mut() {
            o.insert("simulated_actions".into(), json!(actions));
        }
        for a in &actions {
            out.text.push_str(&format!("Pacemaker would: {a}\n"));
        }
        return Ok(out);
    }
    let (now, _) = crate::cluster::read_cluster(ctx)?;
    let stickiness = placement_of(now.element(), Some(&now), name).map(|p| p.stickiness);
    let on = node.map(|n| format!(" (node {n})")).unwrap_or_default();
    Ok(Outcome::new(
        json!({
            "name": name,
            "strategy": a.strategy,
            "node": node,
            "stickiness": stickiness,
            "changed": changed,
        }),
        format!(
            "{name}: placement {}{on}{}\n",
            a.strategy,
            if changed { "" } else { " (unchanged)" }
        ),
    ))
}

/// Keeps the stored settings in step (`pinned_host` / `preferred_host`).
fn update_settings(ctx: &Ctx, name: &str, strategy: Strategy, node: Option<&str>) -> Result<()> {
    stored::update_settings(ctx, name, |s| {
        s.pinned_host = None;
        s.preferred_host = None;
        match strategy {
            Strategy::Pinned => s.pinned_host = node.map(str::to_owned),
            _ => s.preferred_host = node.map(str::to_owned),
        }
    })
}
