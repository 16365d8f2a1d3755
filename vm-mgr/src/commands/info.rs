//! `info`: the cluster at a glance — nodes and their state, quorum, DC, which VMs run where,
//! each node's address (corosync's node list) and load (capacity, used, free: see
//! [`crate::placement::capacity`]), the placement strategy and a warning when it lacks
//! capacities — from one CIB query (and crm_mon only when the status cannot be derived from it:
//! [`crate::cluster::read_for_view`]) and one read of corosync.conf. A guest node (a
//! VM running pacemaker-remote, `add-pacemaker-remote`) is listed as a node of type `remote`,
//! with the VM it is (`guest_of`; in the table's ROLE column, `guest of VM`).

use serde_json::json;
use shared::pacemaker::{Cib, ClusterStatus};

use crate::ctx::Ctx;
use crate::error::Result;
use crate::output::{table, Outcome};
use crate::placement::capacity::{load_of, NodeLoad};
use crate::state::{cib_vms, Lookup};

/// Each node's first ring address, from corosync's configuration (none when unreadable).
fn addresses() -> std::collections::BTreeMap<String, String> {
    shared::corosync::read_nodelist(std::path::Path::new(shared::corosync::CONF))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|n| Some((n.name, n.addrs.into_iter().next()?)))
        .collect()
}

/// "cpu 1/2 hv_memory 64/1000" (used/capacity), or what is used where there is no capacity.
fn load_text(load: &NodeLoad) -> String {
    let mut keys: Vec<&String> = load.capacity.keys().chain(load.used.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.iter()
        .filter(|k| k.as_str() != "host_memory" || !load.capacity.contains_key("hv_memory"))
        .map(|k| {
            let used = load.used.get(*k).copied().unwrap_or(0);
            match load.capacity.get(*k) {
                Some(c) => format!("{k} {used}/{c}"),
                None => format!("{k} {used}"),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `info`.
pub fn run(ctx: &Ctx) -> Result<Outcome> {
    let (cib, mon) = crate::cluster::read_for_view(ctx)?;
    Ok(show(&cib, &mon))
}

/// The cluster at a glance from `cib` and the cluster status `mon`.
pub(crate) fn show(cib: &Cib, mon: &ClusterStatus) -> Outcome {
    let addresses = addresses();
    let lookup = Lookup::new(cib, mon);
    let vms: Vec<_> = cib_vms(cib)
        .iter()
        .map(|n| lookup.status_of(n, None))
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
        let load = load_of(cib, mon, &n.name);
        let address = addresses.get(&n.name);
        nodes.push(json!({
            "name": n.name,
            "state": state,
            "type": kind,
            "dc": Some(&n.name) == dc.as_ref(),
            "role": role,
            "guest_of": guest_of,
            "vms": on_node,
            "utilization": utilization,
            "capacity": load.capacity,
            "used": load.used,
            "free": load.free,
            "vm_count": on_node.len(),
            "address": address,
        }));
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
            address.cloned().unwrap_or_default(),
            on_node.len().to_string(),
            load_text(&load),
            on_node.join(","),
        ]);
    }
    let quorate = mon.is_quorate();
    let strategy = cib.property("placement-strategy").unwrap_or("default");
    let warnings: Vec<String> = crate::checks::capacity_findings(cib)
        .into_iter()
        .map(|f| format!("{}; {}", f.detail, f.fix))
        .collect();
    let json = json!({
        "quorum": quorate,
        "dc": dc,
        "placement_strategy": strategy,
        "warnings": warnings,
        "nodes": nodes,
        "vms": vms.iter().map(|v| json!({"name": v.name, "state": v.state, "node": v.node})).collect::<Vec<_>>(),
    });
    let mut text = format!(
        "Quorum: {}   DC: {}   Placement: {strategy}\n",
        if quorate { "yes" } else { "NO" },
        dc.as_deref().unwrap_or("none")
    );
    text.push_str(&table(
        &[
            "NODE",
            "STATE",
            "DC",
            "ROLE",
            "ADDRESS",
            "#VMS",
            "USED/CAPACITY",
            "VMS",
        ],
        &rows,
    ));
    for w in &warnings {
        text.push_str(&format!("warning: {w}\n"));
    }
    Outcome::new(json, text)
}
