//! Load-aware placement (`placement-strategy=balanced`): each node's capacity, what the VMs
//! placed there use, and a VM's utilization from its domain XML. Pure, except [`node_info`]
//! (one `virsh nodeinfo`).
//!
//! The names are those the VirtualDomain agent writes for each VM ([`KEYS`]): `cpu` (vCPUs),
//! `hv_memory` and `host_memory` (maximum memory, MiB). Pacemaker counts a name a node lacks
//! as a capacity of 0, so a node gets all three: `cpu` = CPU threads, both memories = its
//! memory, each minus the reserve kept for the host.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;
use shared::cmd::Cmd;
use shared::libvirt::DomainXml;
use shared::pacemaker::{Cib, ClusterStatus};

use super::probe::{batch_uri, reason, VIRSH};

/// The utilization names, as the VirtualDomain agent writes them for a VM.
pub const KEYS: [&str; 3] = ["cpu", "hv_memory", "host_memory"];
/// The placement strategy `balance --enable` sets.
pub const BALANCED: &str = "balanced";
/// The cluster property.
pub const STRATEGY_PROPERTY: &str = "placement-strategy";

/// Whether `strategy` places by utilization (then every node needs its capacity).
pub fn by_utilization(strategy: Option<&str>) -> bool {
    matches!(strategy, Some("utilization" | "minimal" | "balanced"))
}

/// What `virsh nodeinfo` says of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NodeInfo {
    /// `CPU(s)`: CPU threads.
    pub cpus: u64,
    /// `Memory size`, MiB (KiB / 1024, truncated).
    pub memory_mib: u64,
}

/// Parses `virsh nodeinfo` (lines `Key:   value`; memory in KiB).
pub fn parse_nodeinfo(text: &str) -> Result<NodeInfo, String> {
    let field = |key: &str| {
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_owned())
            .ok_or_else(|| format!("no {key:?} line in virsh nodeinfo"))
    };
    let cpus = field("CPU(s)")?;
    let cpus: u64 = cpus
        .parse()
        .map_err(|_| format!("CPU(s) {cpus:?} is not a number"))?;
    let mem = field("Memory size")?;
    let kib = mem
        .strip_suffix("KiB")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| format!("Memory size {mem:?} is not a number of KiB"))?;
    Ok(NodeInfo {
        cpus,
        memory_mib: kib / 1024,
    })
}

/// `virsh nodeinfo` of libvirt at `uri` (which cannot prompt, see [`batch_uri`]).
pub fn node_info(uri: &str, deadline: Instant) -> Result<NodeInfo, String> {
    let out = Cmd::new(VIRSH)
        .args(["-q", "-c", &batch_uri(uri), "nodeinfo"])
        .deadline(deadline)
        .run()
        .map_err(|e| reason(&e))?;
    parse_nodeinfo(&out.stdout_str())
}

/// A size: a number of MiB, or with a unit K, M, G, T (powers of 1024, also KiB...) or B.
pub fn parse_size_mib(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let unit = match unit.trim() {
        "" => "MiB",
        "B" => "b",
        u => u,
    };
    shared::libvirt::xml::memory_to_kib(num, Some(unit))
        .filter(|_| !num.is_empty())
        .map(|kib| kib / 1024)
        .ok_or_else(|| format!("{s:?} is not a size (e.g. 2048, 512M, 4G)"))
}

/// What is kept for the host on each node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reserve {
    /// MiB of memory, on every node without its own value.
    pub memory_mib: u64,
    /// MiB of memory of the named nodes.
    pub node_memory_mib: BTreeMap<String, u64>,
    /// CPU threads.
    pub cpus: u64,
}

impl Reserve {
    /// From `--reserve-memory [NODE=]SIZE` (repeatable) and `--reserve-cpus N`.
    pub fn parse(memory: &[String], cpus: u64) -> Result<Reserve, String> {
        let mut r = Reserve {
            cpus,
            ..Reserve::default()
        };
        for m in memory {
            match m.split_once('=') {
                Some((node, size)) => {
                    r.node_memory_mib
                        .insert(node.to_owned(), parse_size_mib(size)?);
                }
                None => r.memory_mib = parse_size_mib(m)?,
            }
        }
        Ok(r)
    }

    /// The memory kept on `node`.
    pub fn memory_of(&self, node: &str) -> u64 {
        self.node_memory_mib
            .get(node)
            .copied()
            .unwrap_or(self.memory_mib)
    }
}

/// A node's capacity as written into its utilization: [`KEYS`] and their values.
pub fn capacity(
    node: &str,
    info: &NodeInfo,
    reserve: &Reserve,
) -> Result<Vec<(String, String)>, String> {
    let cpu = info.cpus.checked_sub(reserve.cpus).filter(|c| *c > 0);
    let mem = info
        .memory_mib
        .checked_sub(reserve.memory_of(node))
        .filter(|m| *m > 0);
    match (cpu, mem) {
        (Some(cpu), Some(mem)) => Ok(vec![
            (KEYS[0].to_owned(), cpu.to_string()),
            (KEYS[1].to_owned(), mem.to_string()),
            (KEYS[2].to_owned(), mem.to_string()),
        ]),
        _ => Err(format!(
            "{node} has {} CPU threads and {} MiB; the reserve ({} threads, {} MiB) leaves nothing \
             for VMs",
            info.cpus,
            info.memory_mib,
            reserve.cpus,
            reserve.memory_of(node)
        )),
    }
}

/// A VM's utilization from its domain XML, as the agent computes it: `cpu` = vCPUs, both
/// memories = `<memory>` in MiB. `None` when the XML lacks either.
pub fn utilization_of(xml: &DomainXml) -> Option<Vec<(String, String)>> {
    let cpu = xml.vcpus?;
    let mib = xml.memory_kib? / 1024;
    Some(vec![
        (KEYS[0].to_owned(), cpu.to_string()),
        (KEYS[1].to_owned(), mib.to_string()),
        (KEYS[2].to_owned(), mib.to_string()),
    ])
}

/// The [`KEYS`] missing from a utilization set.
pub fn missing_keys(utilization: &BTreeMap<String, String>) -> Vec<&'static str> {
    KEYS.iter()
        .copied()
        .filter(|k| !utilization.contains_key(*k))
        .collect()
}

/// A utilization value as Pacemaker reads it (a number; anything else counts as 0).
pub fn value(v: &str) -> i64 {
    v.trim().parse().unwrap_or(0)
}

/// Adds the utilization of every active resource on `node` (except the members of group
/// `except`) into `used`.
pub fn used_on(
    cib: &Cib,
    mon: &ClusterStatus,
    node: &str,
    except: Option<&str>,
) -> BTreeMap<String, i64> {
    let mut used: BTreeMap<String, i64> = BTreeMap::new();
    for r in mon
        .resources
        .iter()
        .filter(|r| r.active && r.nodes.iter().any(|n| n == node))
    {
        if except.is_some() && r.parent.as_deref() == except {
            continue;
        }
        if let Some(prim) = cib.primitive(shared::pacemaker::status::base_id(&r.id)) {
            for (k, v) in &prim.utilization {
                let e = used.entry(k.clone()).or_default();
                *e = e.saturating_add(value(v));
            }
        }
    }
    used
}

/// One node's load, for `info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeLoad {
    /// The node's utilization (capacity), as numbers.
    pub capacity: BTreeMap<String, i64>,
    /// What the resources active there use, per name.
    pub used: BTreeMap<String, i64>,
    /// Capacity minus used, for the names of the capacity.
    pub free: BTreeMap<String, i64>,
}

/// The load of `node`.
pub fn load_of(cib: &Cib, mon: &ClusterStatus, node: &str) -> NodeLoad {
    let capacity: BTreeMap<String, i64> = cib
        .node(node)
        .map(|n| {
            n.utilization
                .iter()
                .map(|(k, v)| (k.clone(), value(v)))
                .collect()
        })
        .unwrap_or_default();
    let used = used_on(cib, mon, node, None);
    let free = capacity
        .iter()
        .map(|(k, c)| {
            let u = used.get(k).copied().unwrap_or(0);
            (k.clone(), c.saturating_sub(u))
        })
        .collect();
    NodeLoad {
        capacity,
        used,
        free,
    }
}

#[cfg(test)]
#[path = "capacity_tests.rs"]
mod tests;
