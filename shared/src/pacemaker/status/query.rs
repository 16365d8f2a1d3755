//! Queries on a parsed [`ClusterStatus`].

use super::{ClusterStatus, Collection, CollectionKind, DcInfo, Failure, NodeStatus};
use super::{ResourceHistory, ResourceStatus, Summary};
use crate::pacemaker::types::{is_true, Role};

/// The id of a resource instance without its ":N" clone-instance suffix.
pub fn base_id(id: &str) -> &str {
    match id.rsplit_once(':') {
        Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => id,
    }
}

impl ClusterStatus {
    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&NodeStatus> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Nodes that are online.
    pub fn online_nodes(&self) -> impl Iterator<Item = &NodeStatus> {
        self.nodes.iter().filter(|n| n.online)
    }

    /// The DC, if one is elected.
    pub fn dc(&self) -> Option<&DcInfo> {
        self.summary.dc.as_ref()
    }

    /// Whether the partition of the answering node has quorum (false while no DC is elected).
    pub fn is_quorate(&self) -> bool {
        self.dc().is_some_and(|dc| dc.with_quorum)
    }

    /// All instances of `id`: the primitive itself, every instance of a cloned primitive
    /// ("st" also matches "st:0"), or every primitive inside the group, clone or bundle `id`.
    pub fn resource(&self, id: &str) -> Vec<&ResourceStatus> {
        if self.collection(id).is_some() {
            return self
                .resources
                .iter()
                .filter(|r| self.is_inside(r, id))
                .collect();
        }
        self.resources
            .iter()
            .filter(|r| r.id == id || base_id(&r.id) == id)
            .collect()
    }

    /// Whether `rsc` sits (directly or not) inside collection `collection_id`.
    fn is_inside(&self, rsc: &ResourceStatus, collection_id: &str) -> bool {
        let mut parent = rsc.parent.as_deref();
        while let Some(id) = parent {
            if id == collection_id {
                return true;
            }
            parent = self.collection(id).and_then(|c| c.parent.as_deref());
        }
        false
    }

    /// Names of the nodes where `id` (see [`ClusterStatus::resource`]) is active, each once,
    /// in output order.
    pub fn where_running(&self, id: &str) -> Vec<&str> {
        let mut nodes: Vec<&str> = Vec::new();
        for rsc in self.resource(id).into_iter().filter(|r| r.active) {
            for node in &rsc.nodes {
                if !nodes.contains(&node.as_str()) {
                    nodes.push(node);
                }
            }
        }
        nodes
    }

    /// Names of the nodes where `id` runs in the promoted role.
    pub fn promoted_on(&self, id: &str) -> Vec<&str> {
        let mut nodes: Vec<&str> = Vec::new();
        for rsc in self.resource(id) {
            if rsc.role == Role::Promoted {
                nodes.extend(rsc.nodes.iter().map(String::as_str));
            }
        }
        nodes
    }

    /// The group, clone or bundle called `id`.
    pub fn collection(&self, id: &str) -> Option<&Collection> {
        self.collections.iter().find(|c| c.id == id)
    }

    /// All groups.
    pub fn groups(&self) -> impl Iterator<Item = &Collection> {
        self.collections_of(CollectionKind::Group)
    }

    /// All clones (promotable or not).
    pub fn clones(&self) -> impl Iterator<Item = &Collection> {
        self.collections_of(CollectionKind::Clone)
    }

    /// All bundles.
    pub fn bundles(&self) -> impl Iterator<Item = &Collection> {
        self.collections_of(CollectionKind::Bundle)
    }

    fn collections_of(&self, kind: CollectionKind) -> impl Iterator<Item = &Collection> {
        self.collections.iter().filter(move |c| c.kind == kind)
    }

    /// Failed actions of `id` (any instance; for a collection, of any member).
    pub fn failures_for(&self, id: &str) -> Vec<&Failure> {
        let mut ids: Vec<&str> = self.resource(id).iter().map(|r| base_id(&r.id)).collect();
        ids.push(id);
        self.failures
            .iter()
            .filter(|f| ids.contains(&base_id(f.resource())))
            .collect()
    }

    /// The value of node attribute `name` on `node`, as `crm_mon` reports it.
    pub fn node_attribute(&self, node: &str, name: &str) -> Option<&str> {
        self.node_attributes
            .get(node)
            .and_then(|attrs| attrs.get(name))
            .map(String::as_str)
    }

    /// The operation history of `rsc` on `node`.
    pub fn history(&self, node: &str, rsc: &str) -> Option<&ResourceHistory> {
        self.node_history
            .iter()
            .find(|h| h.node == node)
            .and_then(|h| h.resources.iter().find(|r| r.id == rsc))
    }
}

impl Summary {
    /// A cluster option as `crm_mon` reports it ("stonith-enabled" → "true").
    pub fn option(&self, name: &str) -> Option<&str> {
        self.cluster_options.get(name).map(String::as_str)
    }

    /// Whether fencing is enabled.
    pub fn stonith_enabled(&self) -> bool {
        self.option("stonith-enabled").is_some_and(is_true)
    }

    /// Whether the whole cluster is in maintenance mode.
    pub fn maintenance_mode(&self) -> bool {
        self.option("maintenance-mode").is_some_and(is_true)
    }
}
