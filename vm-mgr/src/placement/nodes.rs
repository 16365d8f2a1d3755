//! What a node is, as placement sees it: the facts location rules may test (its name, kind and
//! attributes, permanent and transient), and whether vm-mgr ever runs a VM there.

use std::collections::BTreeMap;

use shared::pacemaker::{Cib, ClusterStatus};

use crate::error::{Error, Result};

/// Why no VM can ever run on `node`, or `None`: vm-mgr bans every VM from observers (node
/// attribute `vmmgr-role=observer`, permanent or transient) and from nodes that are not full
/// cluster nodes (`vmmgr-ban-VM`, see [`crate::fragment`]). A VM pinned there never runs.
pub fn never_runs_vms(cib: &Cib, mon: &ClusterStatus, node: &str) -> Option<String> {
    use crate::vm::{OBSERVER, ROLE_ATTRIBUTE};
    let facts = node_facts(cib, mon, node);
    let remote = facts.kind != "cluster"
        || mon
            .node(node)
            .is_some_and(|n| n.node_type != shared::pacemaker::status::NodeType::Member);
    if facts.attrs.get(ROLE_ATTRIBUTE).map(String::as_str) == Some(OBSERVER) {
        Some(format!(
            "{node} is an observer (node attribute {ROLE_ATTRIBUTE}={OBSERVER}), where vm-mgr \
             never runs a VM"
        ))
    } else if remote {
        Some(format!(
            "{node} is not a full cluster node (Pacemaker Remote or guest), where vm-mgr never \
             runs a VM"
        ))
    } else {
        None
    }
}

/// Refuses to pin VM `name` to `node` where it could never run ([`never_runs_vms`]): exit 2,
/// before anything is changed (in a dry run too).
pub fn refuse_pin(cib: &Cib, mon: &ClusterStatus, name: &str, node: &str) -> Result<()> {
    match never_runs_vms(cib, mon, node) {
        None => Ok(()),
        Some(why) => Err(Error::invalid(format!(
            "Cannot pin VM {name} to {node}: {why}; pinned there, it could never run. Nothing \
             was changed."
        ))),
    }
}

/// The facts about a node that location rules may test.
pub(super) struct NodeFacts {
    pub uname: String,
    pub kind: &'static str,
    pub attrs: BTreeMap<String, String>,
}

/// `#kind` is Pacemaker's: `cluster`, `remote` (a Pacemaker Remote node) or `container` (a
/// guest node: a VM with `remote-node`, which is in crm_mon but not in the CIB's nodes).
pub(super) fn node_facts(cib: &Cib, mon: &ClusterStatus, uname: &str) -> NodeFacts {
    use shared::pacemaker::status::NodeType;
    let mut attrs = BTreeMap::new();
    let mut kind = "cluster";
    if let Some(n) = cib.node(uname) {
        attrs.extend(n.attributes.clone());
        if n.node_type.as_deref() == Some("remote") {
            kind = "remote";
        }
    }
    if let Some(n) = mon.node(uname).filter(|n| n.node_type == NodeType::Remote) {
        kind = if n.id_as_resource.is_some() {
            "container"
        } else {
            "remote"
        };
    }
    if let Some(t) = mon.node_attributes.get(uname) {
        attrs.extend(t.clone());
    }
    NodeFacts {
        uname: uname.to_owned(),
        kind,
        attrs,
    }
}
