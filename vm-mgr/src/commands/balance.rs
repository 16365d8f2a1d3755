//! `balance --enable|--refresh|--disable`: node capacities and `placement-strategy=balanced`
//! (see [`crate::placement::capacity`]). Check and compute everything first (every node's
//! figures, every VM's utilization, filled from its stored XML where the agent has not written
//! it yet), then one CIB transaction.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use shared::pacemaker::{Cib, ClusterStatus, Edit};

use crate::cli_balance::BalanceArgs;
use crate::cluster::{change, read_cluster};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::{table, Outcome};
use crate::placement::capacity::{self, NodeInfo, Reserve, BALANCED, KEYS, STRATEGY_PROPERTY};
use crate::placement::{edit, nodes, placement_of, PlacementError, Strategy};
use crate::state::cib_vms;
use crate::vm::VmIds;

/// How long libvirt on a node has to answer `nodeinfo`.
const NODEINFO_TIMEOUT: Duration = Duration::from_secs(15);

/// One node's new capacity.
#[derive(Debug, Clone, Serialize)]
struct NodeCapacity {
    name: String,
    /// What libvirt (or --node-info) said.
    info: NodeInfo,
    /// Where it came from: the libvirt URI, or "--node-info".
    source: String,
    reserve_cpus: u64,
    reserve_memory_mib: u64,
    /// The utilization written.
    capacity: BTreeMap<String, String>,
}

/// A VM's utilization filled from its stored XML.
#[derive(Debug, Clone, Serialize)]
struct Filled {
    name: String,
    utilization: BTreeMap<String, String>,
}

/// Runs `balance`.
pub fn run(ctx: &Ctx, a: &BalanceArgs) -> Result<Outcome> {
    let (cib, mon) = read_cluster(ctx)?;
    if a.disable {
        return disable(ctx, &cib);
    }
    let strategy = cib.property(STRATEGY_PROPERTY);
    if a.refresh && !capacity::by_utilization(strategy) {
        return Err(Error::invalid(
            "Balancing is not enabled (no placement-strategy that places by utilization); use \
             --enable.",
        ));
    }
    let reserve = Reserve::parse(&a.reserve_memory, a.reserve_cpus).map_err(Error::invalid)?;
    let given = parse_node_info(&a.node_info)?;
    let nodes = vm_nodes(&cib, &mon);
    if nodes.is_empty() {
        return Err(Error::invalid("The cluster has no node that may run VMs."));
    }
    for n in reserve.node_memory_mib.keys().chain(given.keys().flatten()) {
        if !nodes.contains(n) {
            return Err(Error::invalid(format!(
                "Node {n} (in --reserve-memory or --node-info) is not a node that may run VMs \
                 ({}).",
                nodes.join(", ")
            )));
        }
    }
    let uri = a.libvirt_uri.clone().unwrap_or_else(|| default_uri(ctx));
    let caps = capacities(&nodes, &given, &uri, &reserve)?;
    let filled = fill_utilization(ctx, &cib)?;
    let warnings = sticky_warnings(&cib);
    for w in &warnings {
        ctx.progress.say(&format!("warning: {w}"));
    }
    let done = change(ctx, |_cib, tree| {
        let mut changed = false;
        for c in &caps {
            for (k, v) in &c.capacity {
                changed |= edit::set_node_capacity(tree, &c.name, k, Some(v))?;
            }
        }
        for f in &filled {
            for (k, v) in &f.utilization {
                changed |= edit::set_vm_utilization(tree, &f.name, k, v)?;
            }
        }
        changed |= edit::set_property(tree, STRATEGY_PROPERTY, Some(BALANCED))?;
        Ok(if changed {
            Edit::Change(())
        } else {
            Edit::Unchanged(())
        })
    })?;
    Ok(outcome(ctx, &caps, &filled, &warnings, done.patch))
}

/// `--disable`: every node's [`KEYS`] and the strategy removed, in one transaction.
fn disable(ctx: &Ctx, cib: &Cib) -> Result<Outcome> {
    let names: Vec<String> = cib.nodes.iter().map(|n| n.uname.clone()).collect();
    let done = change(ctx, |_cib, tree| {
        let mut changed = edit::set_property(tree, STRATEGY_PROPERTY, None)?;
        for n in &names {
            for k in KEYS {
                changed |= edit::set_node_capacity(tree, n, k, None)?;
            }
        }
        Ok(if changed {
            Edit::Change(())
        } else {
            Edit::Unchanged(())
        })
    })?;
    let changed = done.applied || done.patch.is_some();
    let mut text = if ctx.dry_run {
        "Dry run of balance --disable: nothing was changed.\n".to_owned()
    } else if changed {
        "Balancing disabled: node capacities and placement-strategy removed.\n".to_owned()
    } else {
        "Balancing was not enabled; nothing to do.\n".to_owned()
    };
    if let Some(p) = &done.patch {
        text.push_str(&format!("CIB patch:\n{p}"));
    }
    Ok(Outcome::new(
        json!({"enabled": false, "changed": changed, "dry_run": ctx.dry_run, "cib_patch": done.patch}),
        text,
    ))
}

/// The nodes that may run VMs (full cluster nodes, not observers), in CIB order.
fn vm_nodes(cib: &Cib, mon: &ClusterStatus) -> Vec<String> {
    cib.nodes
        .iter()
        .filter(|n| n.node_type.as_deref().is_none_or(|t| t == "member"))
        .filter(|n| nodes::never_runs_vms(cib, mon, &n.uname).is_none())
        .map(|n| n.uname.clone())
        .collect()
}

/// The default libvirt URI of node `%n`: the configured hypervisor URI with the configured
/// migration transport, else ssh (the VirtualDomain agent's default).
fn default_uri(ctx: &Ctx) -> String {
    crate::placement::preflight::node_uri(
        &ctx.config.hypervisor,
        Some(ctx.config.migration_transport.as_deref().unwrap_or("ssh")),
        None,
        "%n",
    )
}

/// `--node-info [NODE=]CPUS,SIZE`: `None` keys the value for every node.
fn parse_node_info(args: &[String]) -> Result<BTreeMap<Option<String>, NodeInfo>> {
    let mut out = BTreeMap::new();
    for arg in args {
        let (node, figures) = match arg.split_once('=') {
            Some((n, f)) => (Some(n.to_owned()), f),
            None => (None, arg.as_str()),
        };
        let bad = || Error::invalid(format!("--node-info {arg:?}: expected [NODE=]CPUS,SIZE."));
        let (cpus, size) = figures.split_once(',').ok_or_else(bad)?;
        let info = NodeInfo {
            cpus: cpus.trim().parse().map_err(|_| bad())?,
            memory_mib: capacity::parse_size_mib(size).map_err(|_| bad())?,
        };
        out.insert(node, info);
    }
    Ok(out)
}

/// Each node's capacity: `given` figures, else libvirt's, asked on all nodes side by side.
fn capacities(
    nodes: &[String],
    given: &BTreeMap<Option<String>, NodeInfo>,
    uri: &str,
    reserve: &Reserve,
) -> Result<Vec<NodeCapacity>> {
    let deadline = Instant::now() + NODEINFO_TIMEOUT;
    let infos: Vec<(String, std::result::Result<NodeInfo, String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .iter()
            .map(|n| {
                let fixed = given.get(&Some(n.clone())).or_else(|| given.get(&None));
                let node_uri = uri.replace("%n", n);
                s.spawn(move || match fixed {
                    Some(i) => (String::from("--node-info"), Ok(*i)),
                    None => {
                        let r = capacity::node_info(&node_uri, deadline);
                        (node_uri, r)
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut caps = Vec::new();
    let mut errors = Vec::new();
    for (node, (source, info)) in nodes.iter().zip(infos) {
        let figures = info
            .map_err(|why| format!("libvirt on {node} ({source}): {why}"))
            .and_then(|i| capacity::capacity(node, &i, reserve).map(|c| (i, c)));
        match figures {
            Ok((info, cap)) => caps.push(NodeCapacity {
                name: node.clone(),
                info,
                source,
                reserve_cpus: reserve.cpus,
                reserve_memory_mib: reserve.memory_of(node),
                capacity: cap.into_iter().collect(),
            }),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(PlacementError::NoCapacity { errors }.into());
    }
    Ok(caps)
}

/// The VMs in the CIB whose domain lacks some of [`KEYS`], with them read from the stored XML.
fn fill_utilization(ctx: &Ctx, cib: &Cib) -> Result<Vec<Filled>> {
    let mut filled = Vec::new();
    let mut errors = Vec::new();
    for name in cib_vms(cib) {
        let ids = VmIds::new(&name);
        let empty = BTreeMap::new();
        let have = cib
            .primitive(&ids.domain())
            .map_or(&empty, |p| &p.utilization);
        let missing = capacity::missing_keys(have);
        if missing.is_empty() {
            continue;
        }
        let from_xml = stored_utilization(ctx, &ids);
        match from_xml {
            Ok(u) => filled.push(Filled {
                name: name.clone(),
                utilization: u
                    .into_iter()
                    .filter(|(k, _)| missing.contains(&k.as_str()))
                    .collect(),
            }),
            Err(why) => errors.push(format!("{name} ({why})")),
        }
    }
    if !errors.is_empty() {
        return Err(PlacementError::NoUtilization { vms: errors }.into());
    }
    Ok(filled)
}

/// The utilization the stored domain XML of the VM gives.
fn stored_utilization(
    ctx: &Ctx,
    ids: &VmIds,
) -> std::result::Result<Vec<(String, String)>, String> {
    if !ctx.storage.available() {
        return Err("storage is off (--no-storage)".into());
    }
    let xml = ctx
        .storage
        .meta_get(&ids.system_image(), crate::vm::META_XML)
        .map_err(|e| e.to_string())?
        .ok_or("no stored XML")?;
    let parsed = shared::libvirt::DomainXml::parse(&xml).map_err(|e| e.to_string())?;
    capacity::utilization_of(&parsed).ok_or_else(|| "the XML has no <vcpu> or <memory>".into())
}

/// Auto VMs with no stickiness at all: Pacemaker moves them by itself whenever the load
/// changes, not only on `rebalance`.
fn sticky_warnings(cib: &Cib) -> Vec<String> {
    cib_vms(cib)
        .into_iter()
        .filter(|n| {
            placement_of(cib.element(), Some(cib), n)
                .is_some_and(|p| p.strategy == Strategy::Auto && p.stickiness.trim() == "0")
        })
        .map(|n| {
            format!(
                "VM {n} is auto with resource-stickiness=0: Pacemaker will move it by itself \
                 whenever the load changes (set a stickiness, e.g. the rsc_defaults, to move it \
                 only with rebalance)"
            )
        })
        .collect()
}

fn outcome(
    ctx: &Ctx,
    caps: &[NodeCapacity],
    filled: &[Filled],
    warnings: &[String],
    patch: Option<String>,
) -> Outcome {
    let rows: Vec<Vec<String>> = caps
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.info.cpus.to_string(),
                c.info.memory_mib.to_string(),
                c.capacity.get("cpu").cloned().unwrap_or_default(),
                c.capacity.get("hv_memory").cloned().unwrap_or_default(),
            ]
        })
        .collect();
    let mut text = if ctx.dry_run {
        "Dry run of balance: nothing was changed.\n".to_owned()
    } else {
        format!("Balancing enabled: {STRATEGY_PROPERTY}={BALANCED}.\n")
    };
    text.push_str(&table(
        &[
            "NODE",
            "THREADS",
            "MEMORY_MIB",
            "CPU",
            "MEMORY_CAPACITY_MIB",
        ],
        &rows,
    ));
    for f in filled {
        let u: Vec<String> = f
            .utilization
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        text.push_str(&format!(
            "VM {}: utilization filled from its stored XML: {}\n",
            f.name,
            u.join(", ")
        ));
    }
    if let Some(p) = &patch {
        text.push_str(&format!("CIB patch:\n{p}"));
    }
    Outcome::new(
        json!({
            "enabled": true,
            "strategy": BALANCED,
            "nodes": caps,
            "filled": filled,
            "warnings": warnings,
            "dry_run": ctx.dry_run,
            "cib_patch": patch,
        }),
        text,
    )
}
