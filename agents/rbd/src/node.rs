//! Who this node is, and whether another node is still a member of the cluster.

use shared::cmd::Cmd;
use shared::ocf::{Context, OcfError};
use shared::pacemaker::{ClusterStatus, Tools};

/// What the cluster says about the node named in a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// This node.
    Local,
    /// Another node, online member of the cluster: its lock is live.
    Alive,
    /// A node of this cluster that is offline and clean (fenced, or shut down cleanly), seen
    /// from a quorate partition: its clients can be fenced off at the Ceph level and its lock
    /// broken.
    Gone,
    /// Offline but not (yet) known clean: unclean (fencing pending), joining, or our partition
    /// has no quorum. Nothing may be broken yet.
    Unsettled,
    /// Not a node of this cluster (another cluster, or a removed node): never broken
    /// automatically.
    Unknown,
}

/// Classifies `node` against the cluster status (pure).
pub fn classify(node: &str, local: &str, status: &ClusterStatus) -> NodeState {
    if node == local {
        return NodeState::Local;
    }
    let Some(n) = status.node(node) else {
        return NodeState::Unknown;
    };
    if n.online {
        NodeState::Alive
    } else if n.unclean || n.pending || !status.is_quorate() {
        NodeState::Unsettled
    } else {
        NodeState::Gone
    }
}

/// The local node name: Pacemaker's `CRM_meta_on_node`, else `crm_node --name`, else the host
/// name (ocf-tester sets no meta attributes).
pub fn local_node(ctx: &Context) -> Result<String, OcfError> {
    let name = match ctx.env.local_node() {
        Some(n) => n.to_string(),
        None => match Tools::live().local_node_name(ctx.deadline) {
            Ok(n) => n,
            Err(_) => Cmd::new("uname")
                .arg("-n")
                .deadline(ctx.deadline)
                .run_string()
                .map(|s| s.trim().to_string())
                .map_err(|e| {
                    OcfError::generic(format!("cannot determine the local node name: {e}"))
                })?,
        },
    };
    shared::ceph::validate_name("node name", &name)
        .map_err(|e| OcfError::generic(e.to_string()))?;
    Ok(name)
}

/// The cluster status from `crm_mon --output-as=xml`.
pub fn cluster_status(ctx: &Context) -> Result<ClusterStatus, OcfError> {
    Tools::live().crm_mon_xml(ctx.deadline).map_err(|e| {
        OcfError::generic(format!(
            "cannot read the cluster status to check the lock holder: {}",
            shared::ocf::error_chain(&e)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(quorate: bool, nodes: &[(&str, bool, bool)]) -> ClusterStatus {
        let mut s = ClusterStatus::default();
        s.summary.dc = Some(shared::pacemaker::status::DcInfo {
            name: "sim1".into(),
            with_quorum: quorate,
            ..Default::default()
        });
        for (name, online, unclean) in nodes {
            s.nodes.push(shared::pacemaker::NodeStatus {
                name: name.to_string(),
                online: *online,
                unclean: *unclean,
                ..Default::default()
            });
        }
        s
    }

    #[test]
    fn classification() {
        let s = status(
            true,
            &[
                ("sim1", true, false),
                ("sim2", false, false),
                ("sim3", false, true),
            ],
        );
        assert_eq!(classify("sim1", "sim1", &s), NodeState::Local);
        assert_eq!(classify("sim1", "sim2", &s), NodeState::Alive);
        assert_eq!(classify("sim2", "sim1", &s), NodeState::Gone);
        assert_eq!(classify("sim3", "sim1", &s), NodeState::Unsettled);
        assert_eq!(classify("other", "sim1", &s), NodeState::Unknown);
        let no_quorum = status(false, &[("sim1", true, false), ("sim2", false, false)]);
        assert_eq!(classify("sim2", "sim1", &no_quorum), NodeState::Unsettled);
    }
}
