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
use crate::fragment::{self, Fragment};
use crate::output::Outcome;
use crate::placement::{edit, placement_of, simulate, Strategy};
use crate::vm::{self, Settings, VmIds, META_FRAGMENT, META_SETTINGS};

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
        (edit_stored(ctx, name, &apply)?, None, Vec::new())
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

/// Applies `apply` to the fragment kept for a disabled VM; whether it changed.
fn edit_stored(
    ctx: &Ctx,
    name: &str,
    apply: &dyn Fn(&mut Element) -> Result<bool, crate::fragment::FragmentError>,
) -> Result<bool> {
    let ids = VmIds::new(name);
    let meta = ctx
        .storage
        .meta_list(&ids.system_image())
        .map_err(crate::cluster::vm_storage_error(name))?;
    let stored = crate::steps::enabling::stored_fragment(name, &meta, &ctx.ceph_access())?;
    // A scratch CIB holding exactly the stored fragment (constraints naming other, maybe
    // disabled, resources included: `fragment::insert` would drop those).
    let mut tree = stored.scratch_cib();
    if !apply(&mut tree).map_err(to_error)? {
        return Ok(false);
    }
    let edited: Fragment = fragment::extract(&tree, name).ok_or_else(|| Error::Stored {
        name: name.to_owned(),
        what: "CIB fragment",
        detail: "it has no group".into(),
    })?;
    if !ctx.dry_run {
        ctx.storage
            .meta_set(&ids.system_image(), META_FRAGMENT, &edited.to_xml())?;
    }
    Ok(true)
}

use crate::placement::edit_error as to_error;

/// Keeps the stored settings in step (`pinned_host` / `preferred_host`), when there are some.
fn update_settings(ctx: &Ctx, name: &str, strategy: Strategy, node: Option<&str>) -> Result<()> {
    if ctx.dry_run || !ctx.storage.available() {
        return Ok(());
    }
    let image = VmIds::new(name).system_image();
    let Ok(meta) = ctx.storage.meta_list(&image) else {
        return Ok(());
    };
    let Some(json) = meta.get(META_SETTINGS) else {
        return Ok(());
    };
    let mut s = Settings::from_json(name, json)?;
    s.pinned_host = None;
    s.preferred_host = None;
    match strategy {
        Strategy::Pinned => s.pinned_host = node.map(str::to_owned),
        _ => s.preferred_host = node.map(str::to_owned),
    }
    ctx.storage.meta_set(&image, META_SETTINGS, &s.to_json())?;
    Ok(())
}
