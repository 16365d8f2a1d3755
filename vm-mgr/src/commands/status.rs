//! `status -n NAME`: the VM's state and node, from one CIB query (and crm_mon only when the
//! status cannot be derived from it: [`crate::cluster::read_for_view`]). The first
//! line is the state word alone, as SEAPATH prints it (its Cockpit plugin shows the whole
//! output as the State cell); the long layout (a terminal, `--long`) adds details after it.
//! An unknown VM is an error (exit 3) that prints `Undefined` on stdout ([`undefined_text`]).
//! A copy-on-write clone on the dir backend also shows the bases its disks read from.

use serde_json::json;
use shared::pacemaker::{Cib, ClusterStatus};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::Outcome;
use crate::state::VmState;

/// Runs `status`.
pub fn run(ctx: &Ctx, name: &str) -> Result<Outcome> {
    let (cib, mon) = crate::cluster::read_for_view(ctx)?;
    show(ctx, name, &cib, &mon)
}

/// The status of VM `name` in `cib` with the cluster status `mon`.
pub(crate) fn show(ctx: &Ctx, name: &str, cib: &Cib, mon: &ClusterStatus) -> Result<Outcome> {
    let st = crate::state::status_of(name, cib, mon, crate::cluster::in_storage(ctx, name)?);
    // Issue 7: the placement strategy and vm-mgr's colocations.
    let placement = crate::placement::placement_of(cib.element(), Some(cib), name);
    if st.state == VmState::Undefined {
        return Err(Error::NoSuchVm {
            name: name.to_owned(),
        });
    }
    let storage = crate::fragment::storage_of(cib.element(), name).unwrap_or(ctx.storage.backend());
    // Issue 20: the guest node the VM is, with its state.
    let guest = crate::fragment::guest_node_of(cib.element(), name)
        .map(|g| crate::guest_node::view(&g, mon));
    // Issue 14: a copy-on-write clone on the dir backend reads from these bases.
    let bases: Vec<String> = match ctx.storage.dir() {
        Some(dir) if storage == crate::storage::Backend::Dir => dir
            .bases_of_vm(name)?
            .iter()
            .map(|b| b.display().to_string())
            .collect(),
        _ => Vec::new(),
    };
    let json = json!({
        "name": st.name,
        "storage": storage,
        "bases": bases,
        "state": st.state,
        "node": st.node,
        "nodes": st.nodes,
        "enabled": st.enabled,
        "target_role": st.target_role,
        "constraints": st.constraints,
        "failures": st.failures,
        "placement": placement,
        "guest_node": guest,
    });
    let short = format!("{}\n", st.state);
    let mut text = short.clone();
    text.push_str(&format!("  name: {}\n", st.name));
    if let Some(n) = &st.node {
        text.push_str(&format!("  node: {n}\n"));
    }
    if let Some(p) = &placement {
        text.push_str(&format!("  placement: {}\n", p.summary()));
    }
    if let Some(g) = &guest {
        text.push_str(&format!(
            "  guest node: {} ({})\n",
            g["name"].as_str().unwrap_or(""),
            g["state"].as_str().unwrap_or("")
        ));
    }
    for b in &bases {
        text.push_str(&format!("  base: {b}\n"));
    }
    if !st.constraints.is_empty() {
        text.push_str(&format!("  constraints: {}\n", st.constraints.join(", ")));
    }
    for f in &st.failures {
        text.push_str(&format!("  failed: {f}\n"));
    }
    Ok(Outcome::new(json, text).with_short(short))
}

/// What `status` prints on stdout, as text, when it fails with `e`: `Undefined` for an unknown
/// VM, as SEAPATH's `vm_manager` does (the exit code stays 3; see the README on why).
pub fn undefined_text(e: &Error) -> Option<String> {
    matches!(e, Error::NoSuchVm { .. }).then(|| format!("{}\n", VmState::Undefined))
}
