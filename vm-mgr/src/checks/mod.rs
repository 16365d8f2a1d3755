//! What `doctor` looks for (floor 3): each check reads the CIB, the cluster status or the
//! storage and returns [`Finding`]s, each saying what is wrong, what to do about it, and whether
//! `doctor --fix` may repair it ([`Repair`]). Only vm-mgr's own things are looked at: VMs by the
//! ownership rule ([`crate::vm::VmIds::is_domain_member`]), constraints by their `vmmgr-` ids,
//! images and RBD groups by vm-mgr's names; a `cli-*` constraint (from `crm resource move/ban`,
//! `pcs resource move/ban`) only when it names a vm-mgr VM or one of its members.
//!
//! The CIB checks are pure ([`cib_findings`]); the storage checks read through the
//! [`crate::storage::Storage`] seam ([`stored`]).

use std::collections::BTreeMap;

use serde::Serialize;
use shared::pacemaker::cib::tree;
use shared::pacemaker::{Cib, ClusterStatus};
use shared::xml::Element;

use crate::state::{cib_vms, status_of};
use crate::vm::{VmIds, OBSERVER, ROLE_ATTRIBUTE};

pub mod stored;

#[cfg(test)]
mod tests;

/// The kind of a finding; its name (`cli-constraint`, ...) is a stable JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A `cli-*` constraint (crm/pcs move or ban) on a vm-mgr VM.
    CliConstraint,
    /// A `vmmgr-*` constraint naming a VM that is not in the CIB.
    StaleConstraint,
    /// A `vmmgr-move-*` constraint past its end date.
    ExpiredMove,
    /// A vm-mgr VM with fail-counts.
    FailCount,
    /// A vm-mgr VM with failed actions.
    FailedAction,
    /// A vm-mgr-named image of no VM.
    OrphanImage,
    /// An RBD group of vm-mgr's images without a VM.
    OrphanGroup,
    /// A VM in the CIB without its system image.
    MissingImages,
    /// Stored XML, settings or fragment that cannot be read.
    UnreadableStored,
    /// The VM's resources in the CIB differ from its stored fragment.
    FragmentMismatch,
    /// A node in standby or maintenance where VMs run.
    NodeHoldsVms,
    /// A placement strategy that needs node capacities, without them.
    PlacementCapacity,
}

impl Kind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CliConstraint => "cli-constraint",
            Kind::StaleConstraint => "stale-constraint",
            Kind::ExpiredMove => "expired-move",
            Kind::FailCount => "fail-count",
            Kind::FailedAction => "failed-action",
            Kind::OrphanImage => "orphan-image",
            Kind::OrphanGroup => "orphan-group",
            Kind::MissingImages => "missing-images",
            Kind::UnreadableStored => "unreadable-stored",
            Kind::FragmentMismatch => "fragment-mismatch",
            Kind::NodeHoldsVms => "node-holds-vms",
            Kind::PlacementCapacity => "placement-capacity",
        }
    }
}

/// What `doctor --fix` does about a finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Repair {
    /// Removes the constraint with this id (in the one CIB transaction).
    RemoveConstraint(String),
    /// Forgets the failure history of this VM (`crm_resource --cleanup` on its group).
    Cleanup(String),
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of problem.
    pub kind: Kind,
    /// The VM it concerns, if one.
    pub vm: Option<String>,
    /// The thing it is about: a constraint, resource, image, group or node id.
    pub id: Option<String>,
    /// What is wrong.
    pub detail: String,
    /// What to do about it.
    pub fix: String,
    /// Whether `doctor --fix` repairs it.
    pub fixable: bool,
    /// How `--fix` repairs it.
    #[serde(skip)]
    pub repair: Option<Repair>,
}

impl Finding {
    fn new(kind: Kind, vm: Option<&str>, id: Option<&str>, detail: String, fix: String) -> Finding {
        Finding {
            kind,
            vm: vm.map(str::to_owned),
            id: id.map(str::to_owned),
            detail,
            fix,
            fixable: false,
            repair: None,
        }
    }

    fn repaired_by(mut self, repair: Repair) -> Finding {
        self.fixable = true;
        self.repair = Some(repair);
        self
    }
}

/// The ids of every vm-mgr VM in the CIB, by VM: its group and the group's members.
fn vm_resource_ids(cib: &Cib) -> BTreeMap<String, Vec<String>> {
    cib_vms(cib)
        .into_iter()
        .map(|name| {
            let mut ids = vec![name.clone()];
            if let Some(g) = cib.resource(&name) {
                ids.extend(g.children().iter().map(|m| m.id().to_owned()));
            }
            (name, ids)
        })
        .collect()
}

/// Every check on the CIB and the cluster status; `now` is the time in seconds since the epoch
/// (for expired move constraints).
pub fn cib_findings(cib: &Cib, mon: &ClusterStatus, now: i64) -> Vec<Finding> {
    let vms = vm_resource_ids(cib);
    let mut out = constraint_findings(cib.element(), &vms, now);
    out.extend(failure_findings(cib, mon, &vms));
    out.extend(node_findings(mon, &vms));
    out.extend(capacity_findings(cib));
    out
}

/// The VM a `vmmgr-*` constraint id belongs to: `vmmgr-{ban,pin,prefer,move}-VM`, the pin's
/// `vmmgr-pin-VM.home` and `vmmgr-{colo,anti}-VM.OTHER` (VM names hold no `.`).
pub fn constraint_vm(id: &str) -> Option<&str> {
    let rest = id.strip_prefix("vmmgr-")?;
    let (kind, tail) = rest.split_once('-')?;
    match kind {
        "ban" | "pin" | "prefer" | "move" => tail.split('.').next(),
        "colo" | "anti" => tail.split_once('.').map(|(vm, _)| vm),
        _ => None,
    }
}

/// The `end` of a move constraint's `date_expression`, in seconds since the epoch.
fn move_end(c: &Element) -> Option<i64> {
    let end = c
        .descendants()
        .into_iter()
        .find(|d| d.name == "date_expression")?
        .attr("end")?;
    shared::clock::parse_date(end).ok()
}

fn constraint_findings(
    tree: &Element,
    vms: &BTreeMap<String, Vec<String>>,
    now: i64,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in tree::constraints(tree) {
        let Some(id) = c.attr("id") else { continue };
        let refs = tree::constraint_refs(c);
        let remove = Repair::RemoveConstraint(id.to_owned());
        if id.starts_with("cli-") {
            let Some((vm, _)) = vms
                .iter()
                .find(|(_, ids)| ids.iter().any(|i| refs.contains(i)))
            else {
                continue;
            };
            let what = if id.starts_with("cli-ban-") {
                "a ban"
            } else {
                "a move"
            };
            let detail = format!(
                "{what} left by crm/pcs resource move or ban ({}) on VM {vm}",
                describe_location(c)
            );
            let fix = format!(
                "remove it, as crm_resource --clear -r {vm} does (Pacemaker may then move the \
                 VM); vm-mgr migrate moves VMs without leaving one"
            );
            out.push(
                Finding::new(Kind::CliConstraint, Some(vm), Some(id), detail, fix)
                    .repaired_by(remove),
            );
            continue;
        }
        let Some(vm) = constraint_vm(id) else {
            continue;
        };
        if !vms.contains_key(vm) {
            let detail = format!(
                "vm-mgr's constraint names VM {vm}, which is not a vm-mgr VM in the cluster configuration"
            );
            let fix = "remove the constraint (a disabled VM keeps its own in its stored fragment)"
                .to_owned();
            out.push(
                Finding::new(Kind::StaleConstraint, Some(vm), Some(id), detail, fix)
                    .repaired_by(remove),
            );
        } else if id == crate::placement::move_id(vm) {
            let Some(end) = move_end(c) else { continue };
            if end <= now {
                let detail = format!(
                    "the move constraint of an interrupted migrate ended at {}",
                    shared::clock::utc_secs(u64::try_from(end).unwrap_or(0))
                );
                out.push(
                    Finding::new(
                        Kind::ExpiredMove,
                        Some(vm),
                        Some(id),
                        detail,
                        "remove it".into(),
                    )
                    .repaired_by(remove),
                );
            }
        }
    }
    out
}

/// "-INFINITY on sim3", or "rules" when rules decide.
fn describe_location(c: &Element) -> String {
    match (c.attr("score"), c.attr("node")) {
        (Some(score), Some(node)) => format!("{score} on {node}"),
        _ => "by rules".to_owned(),
    }
}

/// Fail-counts (transient node attributes `fail-count-RSC#OP_INTERVAL`) and failed actions
/// of the VMs' members.
fn failure_findings(
    cib: &Cib,
    mon: &ClusterStatus,
    vms: &BTreeMap<String, Vec<String>>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let cleanup = |vm: &str| {
        format!("find the cause, then clear the history (crm_resource --cleanup -r {vm})")
    };
    for (vm, ids) in vms {
        for (node, attrs) in &cib.transient_attributes {
            for (name, value) in attrs {
                let Some(rest) = name.strip_prefix("fail-count-") else {
                    continue;
                };
                let rsc = rest.split_once('#').map_or(rest, |(r, _)| r);
                if !ids.iter().any(|i| i == rsc) {
                    continue;
                }
                let op = rest.split_once('#').map_or("", |(_, op)| op);
                let detail = format!("{rsc} has fail-count {value} on {node} ({op})");
                out.push(
                    Finding::new(Kind::FailCount, Some(vm), Some(rsc), detail, cleanup(vm))
                        .repaired_by(Repair::Cleanup(vm.clone())),
                );
            }
        }
        for failure in status_of(vm, cib, mon, None).failures {
            let rsc = failure.split_once(' ').map_or("", |(r, _)| r).to_owned();
            out.push(
                Finding::new(
                    Kind::FailedAction,
                    Some(vm),
                    Some(&rsc),
                    failure,
                    cleanup(vm),
                )
                .repaired_by(Repair::Cleanup(vm.clone())),
            );
        }
    }
    out
}

/// Nodes in standby or maintenance where VMs still run.
fn node_findings(mon: &ClusterStatus, vms: &BTreeMap<String, Vec<String>>) -> Vec<Finding> {
    let mut out = Vec::new();
    for node in mon.nodes.iter().filter(|n| n.standby || n.maintenance) {
        let held: Vec<&str> = vms
            .keys()
            .filter(|vm| {
                mon.where_running(&VmIds::new(vm).domain())
                    .contains(&node.name.as_str())
            })
            .map(String::as_str)
            .collect();
        if held.is_empty() {
            continue;
        }
        let (mode, fix) = if node.maintenance {
            (
                "in maintenance (Pacemaker neither monitors nor recovers what runs there)",
                format!(
                    "end it (crm node ready {}) when the work is done",
                    node.name
                ),
            )
        } else {
            (
                "in standby",
                format!(
                    "move them (vm-mgr drain --node {0}) or bring the node back (vm-mgr undrain --node {0})",
                    node.name
                ),
            )
        };
        for vm in held {
            let detail = format!("node {} is {mode} and runs VM {vm}", node.name);
            out.push(Finding::new(
                Kind::NodeHoldsVms,
                Some(vm),
                Some(&node.name),
                detail,
                fix.clone(),
            ));
        }
    }
    out
}

/// A `placement-strategy` that places by utilization while some cluster node that may run VMs
/// has no capacity, or lacks a utilization name the VMs use: Pacemaker counts a missing name as
/// a capacity of 0, so those VMs cannot run there (used by `info` too).
pub fn capacity_findings(cib: &Cib) -> Vec<Finding> {
    let strategy = cib.property("placement-strategy").unwrap_or("default");
    if !matches!(strategy, "utilization" | "minimal" | "balanced") {
        return Vec::new();
    }
    let vm_nodes: Vec<_> = cib
        .nodes
        .iter()
        .filter(|n| n.node_type.as_deref().is_none_or(|t| t == "member"))
        .filter(|n| n.attributes.get(ROLE_ATTRIBUTE).map(String::as_str) != Some(OBSERVER))
        .collect();
    let missing: Vec<&str> = vm_nodes
        .iter()
        .filter(|n| n.utilization.is_empty())
        .map(|n| n.uname.as_str())
        .collect();
    let vms = vm_resource_ids(cib);
    let members: Vec<&String> = vms.values().flatten().collect();
    let mut used: Vec<&str> = cib
        .primitives()
        .into_iter()
        .filter(|p| members.contains(&&p.id))
        .flat_map(|p| p.utilization.keys().map(String::as_str))
        .collect();
    used.sort_unstable();
    used.dedup();
    let partial: Vec<String> = vm_nodes
        .iter()
        .filter(|n| !n.utilization.is_empty())
        .filter_map(|n| {
            let lacks: Vec<&str> = used
                .iter()
                .copied()
                .filter(|k| !n.utilization.contains_key(*k))
                .collect();
            (!lacks.is_empty()).then(|| format!("{} has no {}", n.uname, lacks.join(", ")))
        })
        .collect();
    if missing.is_empty() && partial.is_empty() {
        return Vec::new();
    }
    let mut detail = format!("placement-strategy={strategy} but ");
    if !missing.is_empty() {
        detail.push_str(&format!(
            "node{} {} ha{} no capacity (utilization)",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            if missing.len() == 1 { "s" } else { "ve" },
        ));
    }
    if !partial.is_empty() {
        if !missing.is_empty() {
            detail.push_str("; ");
        }
        detail.push_str(&format!("node {} (used by VMs)", partial.join(", node ")));
    }
    detail.push_str(": VMs with utilization cannot run there");
    let fix = "vm-mgr balance --enable (or --refresh) gives every node its capacity; vm-mgr balance --disable sets the default strategy".to_owned();
    vec![Finding::new(
        Kind::PlacementCapacity,
        None,
        Some("placement-strategy"),
        detail,
        fix,
    )]
}
