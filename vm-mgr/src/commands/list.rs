//! `list`: every VM (from storage and the CIB) with its state, node and storage (`rbd` or
//! `dir`: from the CIB for an enabled VM, else the backend it was found on). External calls: one
//! `cibadmin --query`, one `crm_mon`, one `rbd ls`, whatever the number of VMs. The short
//! layout (stdout not a terminal, or `--names`) is the names alone, one per line: SEAPATH's
//! Cockpit plugin takes every line of `vm-mgr list` as a VM name.

use std::collections::BTreeSet;

use serde_json::json;

use crate::ctx::Ctx;
use crate::error::Result;
use crate::fragment::storage_of;
use crate::output::{table, Outcome};
use crate::state::{cib_vms, status_of};
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
    let (cib, mon) = crate::cluster::read_cluster(ctx)?;
    let images: BTreeSet<String> = ctx.storage.list_images()?.into_iter().collect();
    let mut names: Vec<String> = cib_vms(&cib);
    for image in &images {
        if let Some(name) = image.strip_prefix("system_") {
            if validate_name(name).is_ok() && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    let stored = ctx.storage.available();
    let all: Vec<_> = names
        .iter()
        .map(|n| {
            let in_storage = stored.then(|| images.contains(&format!("system_{n}")));
            status_of(n, &cib, &mon, in_storage)
        })
        .collect();
    let json = json!(all
        .iter()
        .map(|s| {
            let storage = storage_of(cib.element(), &s.name).unwrap_or(ctx.storage.backend());
            json!({"name": s.name, "state": s.state, "node": s.node, "storage": storage})
        })
        .collect::<Vec<_>>());
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.state.to_string(),
                s.node.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let names: String = all.iter().map(|s| format!("{}\n", s.name)).collect();
    Ok(Outcome::new(json, table(&["NAME", "STATE", "NODE"], &rows)).with_short(names))
}
