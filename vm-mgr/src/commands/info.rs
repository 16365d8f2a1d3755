//! `info`: the cluster at a glance — nodes and their state, quorum, DC, which VMs run where,
//! node utilization (capacity) — from one crm_mon and one CIB query. A guest node (a VM running
//! pacemaker-remote, `add-pacemaker-remote`) is listed as a node of type `remote`, with the VM
//! it is (`guest_of`; in the table's ROLE column, `guest of VM`).

use serde_json::json;

use crate::ctx::Ctx;
use crate::error::Result;
use crate::output::{table, Outcome};
use crate::state::{cib_vms, status_of};

/// Runs `info`.
pub fn run(ctx: &Ctx) -> Result<Outcome> {
    let (cib, mon) = crate::cluster::read_cluster(ctx)?;
    let vms: Vec<_> = cib_vms(&cib)
        .iter()
        .map(|n| status_of(n, &cib, &mon, None))
        .collect();
    // Issue 20: guest nodes (VMs running pacemaker-remote), by node name.
    let guests: Vec<(String, String)> = vms
        .iter()
        .filter_map(|v| {
            crate::fragment::guest_node_of(cib.element(), &v.name).map(|g| (g.name, v.name.clone()))
        })
        .collect();
    let dc = mon.dc().map(|d| d.name.clone());
    let mut nodes = Vec::new();
    let mut rows = Vec::new();
    for n in &mon.nodes {
        let state = if !n.online {
            "offline"
        } else if n.standby {
            "standby"
        } else if n.maintenance {
            "maintenance"
        } else {
            "online"
        };
        let on_node: Vec<&str> = vms
            .iter()
            .filter(|v| v.nodes.contains(&n.name))
            .map(|v| v.name.as_str())
            .collect();
        let role = mon.node_attribute(&n.name, crate::vm::ROLE_ATTRIBUTE);
        let utilization = cib
            .node(&n.name)
            .map(|c| c.utilization.clone())
            .unwrap_or_default();
        let kind = format!("{:?}", n.node_type).to_lowercase();
        let guest_of = guests
            .iter()
            .find(|(g, _)| *g == n.name)
            .map(|(_, vm)| vm.as_str());
        nodes.push(json!({
            "name": n.name,
            "state": state,
            "type": kind,
            "dc": Some(&n.name) == dc.as_ref(),
            "role": role,
            "guest_of": guest_of,
            "vms": on_node,
            "utilization": utilization,
        }));
        let util: Vec<String> = utilization
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        rows.push(vec![
            n.name.clone(),
            state.to_owned(),
            if Some(&n.name) == dc.as_ref() {
                "yes".into()
            } else {
                String::new()
            },
            match (role, guest_of) {
                (Some(r), _) => r.to_owned(),
                (None, Some(vm)) => format!("guest of {vm}"),
                (None, None) => String::new(),
            },
            on_node.join(","),
            util.join(","),
        ]);
    }
    let quorate = mon.is_quorate();
    let json = json!({
        "quorum": quorate,
        "dc": dc,
        "nodes": nodes,
        "vms": vms.iter().map(|v| json!({"name": v.name, "state": v.state, "node": v.node})).collect::<Vec<_>>(),
    });
    let mut text = format!(
        "Quorum: {}   DC: {}\n",
        if quorate { "yes" } else { "NO" },
        dc.as_deref().unwrap_or("none")
    );
    text.push_str(&table(
        &["NODE", "STATE", "DC", "ROLE", "VMS", "UTILIZATION"],
        &rows,
    ));
    Ok(Outcome::new(json, text))
}
