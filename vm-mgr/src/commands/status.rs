//! `status -n NAME`: the VM's state and node, from one crm_mon and one CIB query.

use serde_json::json;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::Outcome;
use crate::state::VmState;

/// Runs `status`.
pub fn run(ctx: &Ctx, name: &str) -> Result<Outcome> {
    let (cib, mon) = crate::cluster::read_cluster(ctx)?;
    let st = crate::state::status_of(name, &cib, &mon, crate::cluster::in_storage(ctx, name)?);
    // Issue 7: the placement strategy and vm-mgr's colocations.
    let placement = crate::placement::placement_of(cib.element(), Some(&cib), name);
    if st.state == VmState::Undefined {
        return Err(Error::NoSuchVm {
            name: name.to_owned(),
        });
    }
    let storage = crate::fragment::storage_of(cib.element(), name).unwrap_or(ctx.storage.backend());
    let json = json!({
        "name": st.name,
        "storage": storage,
        "state": st.state,
        "node": st.node,
        "nodes": st.nodes,
        "enabled": st.enabled,
        "target_role": st.target_role,
        "constraints": st.constraints,
        "failures": st.failures,
        "placement": placement,
    });
    let mut text = format!("{}: {}", st.name, st.state);
    if let Some(n) = &st.node {
        text.push_str(&format!(" on {n}"));
    }
    text.push('\n');
    if let Some(p) = &placement {
        text.push_str(&format!("  placement: {}\n", p.summary()));
    }
    if !st.constraints.is_empty() {
        text.push_str(&format!("  constraints: {}\n", st.constraints.join(", ")));
    }
    for f in &st.failures {
        text.push_str(&format!("  failed: {f}\n"));
    }
    Ok(Outcome::new(json, text))
}
