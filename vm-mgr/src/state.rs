//! A VM's state, computed from `crm_mon --output-as=xml` and the CIB (never from human text),
//! and whether it exists in storage.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use shared::pacemaker::cib::history::histories;
use shared::pacemaker::cib::tree;
use shared::pacemaker::cib::CibResource;
use shared::pacemaker::status::{base_id, Collection, ResourceStatus};
use shared::pacemaker::{Cib, ClusterStatus, PacemakerError, Role};
use shared::xml::Element;

use crate::vm::VmIds;

/// The states `vm-mgr status` reports (SEAPATH's, plus Migrating and Unmanaged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum VmState {
    /// Neither in storage nor in the cluster.
    Undefined,
    /// Known to vm-mgr (in storage) but not in the cluster.
    Disabled,
    /// In the cluster, not running.
    Stopped,
    /// Being started.
    Starting,
    /// Running.
    Started,
    /// Being stopped.
    Stopping,
    /// Being live-migrated.
    Migrating,
    /// Failed (a failed member, or not running after a failure).
    Failed,
    /// Pacemaker does not manage it (is-managed=false or maintenance).
    Unmanaged,
}

impl VmState {
    /// The name as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            VmState::Undefined => "Undefined",
            VmState::Disabled => "Disabled",
            VmState::Stopped => "Stopped",
            VmState::Starting => "Starting",
            VmState::Started => "Started",
            VmState::Stopping => "Stopping",
            VmState::Migrating => "Migrating",
            VmState::Failed => "Failed",
            VmState::Unmanaged => "Unmanaged",
        }
    }
}

impl fmt::Display for VmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `status` knows about one VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VmStatus {
    /// VM name.
    pub name: String,
    /// State.
    pub state: VmState,
    /// The node it runs on (the first one, if Pacemaker reports several).
    pub node: Option<String>,
    /// Every node it is active on.
    pub nodes: Vec<String>,
    /// Configured target role of the group.
    pub target_role: Option<String>,
    /// In the cluster configuration.
    pub enabled: bool,
    /// Failed actions of its resources ("vmmgr-domain-a start on sim1: error (reason)").
    pub failures: Vec<String>,
    /// Ids of the constraints naming the VM or its members.
    pub constraints: Vec<String>,
}

/// Whether CIB resource `r` is a vm-mgr VM (a group holding `vmmgr-domain-<id>`:
/// [`VmIds::is_domain_member`]).
fn is_vm(r: &CibResource) -> bool {
    let CibResource::Group(g) = r else {
        return false;
    };
    let ids = VmIds::new(&g.id);
    g.members.iter().any(|m| ids.is_domain_member(m.id()))
}

/// Names of the VMs in the CIB, in document order.
pub fn cib_vms(cib: &Cib) -> Vec<String> {
    cib.resources
        .iter()
        .filter(|r| is_vm(r))
        .map(|r| r.id().to_owned())
        .collect()
}

/// The status of VM `name`; `in_storage` is `None` when storage was not consulted.
pub fn status_of(name: &str, cib: &Cib, mon: &ClusterStatus, in_storage: Option<bool>) -> VmStatus {
    Lookup::new(cib, mon).status_of(name, in_storage)
}

/// What [`status_of`] looks up in the CIB and the status, indexed once: `list` and `info` ask
/// it of every VM, and each question was a walk over every resource and constraint (on 1,000
/// VMs, a quadratic quarter of `list`'s own time). The answers are those of the plain queries
/// (`Cib::constraints_for`, `ClusterStatus::where_running`, ...), in the same order.
pub struct Lookup<'a> {
    mon: &'a ClusterStatus,
    /// The first top-level VM group of each name.
    groups: HashMap<&'a str, &'a CibResource>,
    /// Constraint ids by the resource they name.
    constraints: HashMap<&'a str, Vec<&'a str>>,
    /// Resource instances by parent collection.
    members: HashMap<&'a str, Vec<&'a ResourceStatus>>,
    /// Resource instances by id and by id without the clone-instance suffix.
    instances: HashMap<&'a str, Vec<&'a ResourceStatus>>,
    /// The first collection of each id.
    collections: HashMap<&'a str, &'a Collection>,
}

impl<'a> Lookup<'a> {
    /// Indexes `cib` and `mon`.
    pub fn new(cib: &'a Cib, mon: &'a ClusterStatus) -> Lookup<'a> {
        let mut groups = HashMap::new();
        for r in cib.resources.iter().filter(|r| is_vm(r)) {
            groups.entry(r.id()).or_insert(r);
        }
        let mut members: HashMap<&str, Vec<&ResourceStatus>> = HashMap::new();
        let mut instances: HashMap<&str, Vec<&ResourceStatus>> = HashMap::new();
        for r in &mon.resources {
            if let Some(p) = r.parent.as_deref() {
                members.entry(p).or_default().push(r);
            }
            instances.entry(r.id.as_str()).or_default().push(r);
            let base = base_id(&r.id);
            if base != r.id {
                instances.entry(base).or_default().push(r);
            }
        }
        let mut collections = HashMap::new();
        for c in &mon.collections {
            collections.entry(c.id.as_str()).or_insert(c);
        }
        Lookup {
            mon,
            groups,
            constraints: cib.constraints.by_resource(),
            members,
            instances,
            collections,
        }
    }

    /// [`ClusterStatus::where_running`] of `id`.
    fn where_running(&self, id: &str) -> Vec<&'a str> {
        if self.collections.contains_key(id) {
            return self.mon.where_running(id);
        }
        let mut nodes: Vec<&str> = Vec::new();
        for rsc in self.instances.get(id).into_iter().flatten() {
            for node in rsc.nodes.iter().filter(|_| rsc.active) {
                if !nodes.contains(&node.as_str()) {
                    nodes.push(node);
                }
            }
        }
        nodes
    }

    /// The status of VM `name` (see [`status_of`]).
    pub fn status_of(&self, name: &str, in_storage: Option<bool>) -> VmStatus {
        let mon = self.mon;
        let ids = VmIds::new(name);
        let mut st = VmStatus {
            name: name.to_owned(),
            state: VmState::Undefined,
            node: None,
            nodes: Vec::new(),
            target_role: None,
            enabled: false,
            failures: Vec::new(),
            constraints: Vec::new(),
        };
        let Some(group) = self.groups.get(name) else {
            st.state = if in_storage == Some(true) {
                VmState::Disabled
            } else {
                VmState::Undefined
            };
            return st;
        };
        st.enabled = true;
        let target = group.target_role();
        st.target_role = target.as_ref().map(|r| r.to_string());
        let mut member_ids: Vec<String> =
            group.children().iter().map(|m| m.id().to_owned()).collect();
        member_ids.push(name.to_owned());
        let mut constraints: Vec<String> = Vec::new();
        for id in &member_ids {
            for c in self.constraints.get(id.as_str()).into_iter().flatten() {
                if !constraints.iter().any(|x| x == c) {
                    constraints.push((*c).to_owned());
                }
            }
        }
        st.constraints = constraints;
        st.failures = failures(mon, &member_ids);
        let members: Vec<&ResourceStatus> = self.members.get(name).cloned().unwrap_or_default();
        let domain = members.iter().find(|r| r.id == ids.domain());
        st.nodes = self
            .where_running(&ids.domain())
            .iter()
            .map(|s| s.to_string())
            .collect();
        st.node = st.nodes.first().cloned();
        let collection = self.collections.get(name).copied();
        st.state = state(&members, domain, collection, target, &st.failures);
        st
    }
}

/// The failed operations of the members `member_ids` (by base id: `failures_for(name)` walks
/// every resource's collection chain, which made `list` quadratic in collections: 2.6 s of the
/// 3.2 s it took on 1,000 VMs).
fn failures(mon: &ClusterStatus, member_ids: &[String]) -> Vec<String> {
    mon.failures
        .iter()
        .filter(|f| member_ids.iter().any(|id| id == base_id(f.resource())))
        .map(|f| {
            let reason = if f.exitreason.is_empty() {
                String::new()
            } else {
                format!(" ({})", f.exitreason)
            };
            let task = f.task.clone().unwrap_or_else(|| f.op_key.clone());
            format!(
                "{} {task} on {}: {}{reason}",
                f.resource(),
                f.node,
                f.exitstatus
            )
        })
        .collect()
}

/// The VM's state from its members' (`domain` among them), its group's and its target role.
fn state(
    members: &[&ResourceStatus],
    domain: Option<&&ResourceStatus>,
    collection: Option<&Collection>,
    target: Option<Role>,
    failures: &[String],
) -> VmState {
    let stopping_wanted = target == Some(Role::Stopped);
    let unmanaged = members.iter().any(|r| !r.managed) || collection.is_some_and(|c| !c.managed);
    let any_failed = members.iter().any(|r| r.failed);
    let dom_active = domain.is_some_and(|d| d.active);
    if unmanaged {
        VmState::Unmanaged
    } else if any_failed || (!dom_active && !stopping_wanted && !failures.is_empty()) {
        VmState::Failed
    } else {
        match domain.map(|d| &d.role) {
            Some(Role::Migrating) => VmState::Migrating,
            Some(Role::Starting) => VmState::Starting,
            Some(Role::Stopping) => VmState::Stopping,
            _ if dom_active && stopping_wanted => VmState::Stopping,
            _ if dom_active => VmState::Started,
            _ if stopping_wanted => {
                if members.iter().any(|r| r.active) {
                    VmState::Stopping
                } else {
                    VmState::Stopped
                }
            }
            _ if members.iter().any(|r| r.active || r.pending.is_some()) => VmState::Starting,
            _ => VmState::Stopped,
        }
    }
}

/// The ids whose operation history is VM `name`'s: its group's members in the configuration
/// of `tree`, or the guard and domain ids vm-mgr gives them when the group is not there.
pub fn member_ids(tree: &Element, name: &str) -> Vec<String> {
    let members: Vec<String> = crate::fragment::vm_group(tree, name)
        .map(tree::group_members)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect();
    if members.is_empty() {
        let ids = VmIds::new(name);
        return vec![ids.guard(), ids.domain()];
    }
    members
}

/// Whether the status section of CIB `tree` holds operation history of VM `name`'s group
/// members on any node.
pub fn has_history(tree: &Element, name: &str) -> bool {
    let mut members = member_ids(tree, name);
    let ids = VmIds::new(name);
    members.extend([ids.guard(), ids.domain()]);
    histories(tree)
        .iter()
        .any(|n| members.iter().any(|m| n.holds(m)))
}

/// The nodes of `nodes` whose status in CIB `tree` lacks operation history of one of VM
/// `name`'s members: a node that never probed it, or whose history the CIB does not hold at the
/// moment (a rejoining node's CIB copy replaced the status section and the nodes have not
/// re-sent theirs yet). A Stopped computed from such a CIB is not known to be true there.
pub fn unknown_on<'a>(tree: &Element, name: &str, nodes: &[&'a str]) -> Vec<&'a str> {
    let members = member_ids(tree, name);
    let held = histories(tree);
    nodes
        .iter()
        .copied()
        .filter(|node| {
            let history = held.iter().find(|n| n.uname == Some(*node));
            !members.iter().all(|m| history.is_some_and(|h| h.holds(m)))
        })
        .collect()
}

/// The status of VM `name` just put into the CIB `tree` with target role Stopped, when the
/// CIB holds no operation history of its members ([`has_history`] is false): no node has ever
/// reported it, so it is Stopped — what `crm_mon` computes from that CIB — and asking
/// `crm_mon` would only add its run time. Constraints come from `tree`.
pub fn just_enabled_stopped(name: &str, tree: Element) -> Result<VmStatus, PacemakerError> {
    let cib = Cib::from_element(tree, String::new())?;
    Ok(status_of(name, &cib, &ClusterStatus::default(), Some(true)))
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
