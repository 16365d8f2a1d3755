//! `list`: every VM (from storage and the CIB) with its state, node and storage (`rbd` or
//! `dir`: from the CIB for an enabled VM, else the backend it was found on). External calls: one
//! `cibadmin --query`, one `rbd ls`, and `crm_mon` only when the status cannot be derived from the
//! CIB ([`crate::cluster::read_for_view`]), whatever the number of VMs. The short
//! layout (stdout not a terminal, or `--names`) is the names alone, one per line: SEAPATH's
//! Cockpit plugin takes every line of `vm-mgr list` as a VM name. A VM that is a Pacemaker
//! guest node has its `guest_node` (name and state); the table then has a GUEST NODE column.

use std::collections::BTreeSet;

use serde_json::json;
use shared::pacemaker::{Cib, ClusterStatus};

use crate::ctx::Ctx;
use crate::error::Result;
use crate::fragment::{guest_node_of, storage_of};
use crate::output::{table, Outcome};
use crate::state::{cib_vms, Lookup};
use crate::vm::validate_name;

/// Runs `list --removed`: the removed VMs in the RBD trash (see `steps::trash`), oldest
/// removal first per name.
pub fn removed(ctx: &Ctx) -> Result<Outcome> {
    let vms = crate::steps::trash::removed_vms(&ctx.storage.trash_list()?);
    let when = |secs: i64| shared::clock::utc_secs(u64::try_from(secs).unwrap_or(0));
    let json = json!(vms
        .iter()
        .map(|v| json!({
            "name": v.name,
            "removed_at": when(v.deleted_at),
            "expires_at": when(v.expires_at),
            "expired": v.expired,
            "restorable": v.has_system(),
            "images": v.images.iter().map(|e| json!({"name": e.name, "id": e.id})).collect::<Vec<_>>(),
        }))
        .collect::<Vec<_>>());
    let rows: Vec<Vec<String>> = vms
        .iter()
        .map(|v| {
            vec![
                v.name.clone(),
                when(v.deleted_at),
                if v.expired {
                    format!("expired {}", when(v.expires_at))
                } else {
                    when(v.expires_at)
                },
                v.image_names().join(","),
            ]
        })
        .collect();
    let names: String = vms.iter().map(|v| format!("{}\n", v.name)).collect();
    let text = table(&["NAME", "REMOVED", "EXPIRES", "IMAGES"], &rows);
    Ok(Outcome::new(json, text).with_short(names))
}

/// Runs `list`.
pub fn run(ctx: &Ctx) -> Result<Outcome> {
    let (cib, mon) = crate::cluster::read_for_view(ctx)?;
    show(ctx, &cib, &mon)
}

/// The listing of the VMs of `cib` (and storage) with the status `mon`.
pub(crate) fn show(ctx: &Ctx, cib: &Cib, mon: &ClusterStatus) -> Result<Outcome> {
    let images: BTreeSet<String> = ctx.storage.list_images()?.into_iter().collect();
    let mut names: Vec<String> = cib_vms(cib);
    for image in &images {
        if let Some(name) = image.strip_prefix("system_") {
            if validate_name(name).is_ok() && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    let stored = ctx.storage.available();
    let lookup = Lookup::new(cib, mon);
    let all: Vec<_> = names
        .iter()
        .map(|n| {
            let in_storage = stored.then(|| images.contains(&format!("system_{n}")));
            lookup.status_of(n, in_storage)
        })
        .collect();
    // Issue 20: the guest node each VM is, with its state.
    let guests: Vec<Option<serde_json::Value>> = all
        .iter()
        .map(|s| guest_node_of(cib.element(), &s.name).map(|g| crate::guest_node::view(&g, mon)))
        .collect();
    let json = json!(all
        .iter()
        .zip(&guests)
        .map(|(s, g)| {
            let storage = storage_of(cib.element(), &s.name).unwrap_or(ctx.storage.backend());
            json!({"name": s.name, "state": s.state, "node": s.node, "storage": storage,
                   "guest_node": g})
        })
        .collect::<Vec<_>>());
    let any_guest = guests.iter().any(Option::is_some);
    let rows: Vec<Vec<String>> = all
        .iter()
        .zip(&guests)
        .map(|(s, g)| {
            let mut row = vec![
                s.name.clone(),
                s.state.to_string(),
                s.node.clone().unwrap_or_default(),
            ];
            if any_guest {
                row.push(g.as_ref().map(guest_cell).unwrap_or_default());
            }
            row
        })
        .collect();
    let headers: &[&str] = if any_guest {
        &["NAME", "STATE", "NODE", "GUEST NODE"]
    } else {
        &["NAME", "STATE", "NODE"]
    };
    let names: String = all.iter().map(|s| format!("{}\n", s.name)).collect();
    Ok(Outcome::new(json, table(headers, &rows)).with_short(names))
}

/// `NAME (STATE)` of a guest node's view.
fn guest_cell(g: &serde_json::Value) -> String {
    format!(
        "{} ({})",
        g["name"].as_str().unwrap_or(""),
        g["state"].as_str().unwrap_or("")
    )
}
