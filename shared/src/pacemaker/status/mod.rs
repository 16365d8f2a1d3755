//! Typed view of `crm_mon --output-as=xml` (Pacemaker 2.1's `pacemaker-result` document; the
//! 2.0-era `<crm_mon>` root is accepted too, its body being the same).
//!
//! Unknown elements and attributes are ignored. Resources come out flat: every primitive
//! instance is one [`ResourceStatus`] whose `parent` names the group, clone or bundle it sits in;
//! the collections themselves are in [`ClusterStatus::collections`].

use std::collections::BTreeMap;

use super::types::{Role, Score};

mod parse;
mod query;

pub use query::base_id;
#[cfg(test)]
mod tests;

/// Everything `crm_mon --output-as=xml` reports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClusterStatus {
    /// The `api-version` of the XML schema ("2.25" for Pacemaker 2.1.5).
    pub api_version: Option<String>,
    /// `pacemakerd`'s state on the node that answered ("running"); absent with `CIB_file`.
    pub pacemakerd_state: Option<String>,
    /// The cluster summary.
    pub summary: Summary,
    /// All configured nodes.
    pub nodes: Vec<NodeStatus>,
    /// Every primitive instance, flattened out of groups, clones and bundles, in output order.
    pub resources: Vec<ResourceStatus>,
    /// Groups, clones and bundles, outermost first.
    pub collections: Vec<Collection>,
    /// Node attributes (permanent and transient) by node name, then attribute name.
    pub node_attributes: BTreeMap<String, BTreeMap<String, String>>,
    /// Operation history per node (2.1.5 always includes it in XML output).
    pub node_history: Vec<NodeHistory>,
    /// Failed resource actions.
    pub failures: Vec<Failure>,
    /// Fencing actions (only present once there has been one).
    pub fence_history: Vec<FenceEvent>,
    /// Location constraints that keep resources off nodes (negative scores).
    pub bans: Vec<Ban>,
}

/// The `<summary>` part.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// Cluster stack ("corosync").
    pub stack: Option<String>,
    /// The designated controller, if one is elected.
    pub dc: Option<DcInfo>,
    /// When the status was taken (ctime format, local time of the answering node).
    pub last_update: Option<String>,
    /// The last CIB change.
    pub last_change: Option<LastChange>,
    /// Number of configured nodes.
    pub nodes_configured: u32,
    /// Number of configured resource instances.
    pub resources_configured: u32,
    /// How many of them are disabled (target-role Stopped).
    pub resources_disabled: u32,
    /// How many are blocked from further action because of a failure.
    pub resources_blocked: u32,
    /// All attributes of `<cluster_options>` ("stonith-enabled" → "true", ...).
    pub cluster_options: BTreeMap<String, String>,
}

/// The DC and the quorum of its partition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DcInfo {
    /// Node name of the DC.
    pub name: String,
    /// Its node id.
    pub id: Option<String>,
    /// Pacemaker version of the DC ("2.1.5-a3f44794f94").
    pub version: Option<String>,
    /// Whether the DC's partition has quorum.
    pub with_quorum: bool,
    /// Whether nodes run different Pacemaker versions.
    pub mixed_version: bool,
}

/// Who changed the CIB last, and when.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LastChange {
    /// ctime-format time.
    pub time: Option<String>,
    /// User who made the change.
    pub user: Option<String>,
    /// Client that made it ("cibadmin", "crm_resource", "crmd").
    pub client: Option<String>,
    /// Node it was made on.
    pub origin: Option<String>,
}

/// Kind of node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NodeType {
    /// A full cluster node.
    #[default]
    Member,
    /// A Pacemaker Remote node (or a guest node).
    Remote,
    /// A quorum-only "ping" node.
    Ping,
    /// Anything else, as written.
    Unknown(String),
}

impl NodeType {
    fn parse(s: &str) -> NodeType {
        match s {
            "member" => NodeType::Member,
            "remote" => NodeType::Remote,
            "ping" => NodeType::Ping,
            other => NodeType::Unknown(other.to_string()),
        }
    }
}

/// One `<nodes><node>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeStatus {
    /// Node name.
    pub name: String,
    /// Node id (a number for cluster nodes, a name for remote nodes).
    pub id: String,
    /// In the cluster membership and running Pacemaker.
    pub online: bool,
    /// In standby (no resources may run on it).
    pub standby: bool,
    /// Put in standby because of a failure (`on-fail=standby`).
    pub standby_onfail: bool,
    /// In maintenance mode.
    pub maintenance: bool,
    /// Joining, not yet a full member.
    pub pending: bool,
    /// State unknown: must be fenced before its resources can be recovered.
    pub unclean: bool,
    /// Shutting down.
    pub shutdown: bool,
    /// Expected to be up (false after a clean shutdown or a successful fencing).
    pub expected_up: bool,
    /// Is the DC.
    pub is_dc: bool,
    /// Number of resource instances active on it.
    pub resources_running: u32,
    /// Member, remote, ping.
    pub node_type: NodeType,
    /// For a guest node (a VM running pacemaker-remote, Pacemaker's `remote-node` meta): the
    /// id of the resource that is the VM (crm_mon's `id_as_resource`).
    pub id_as_resource: Option<String>,
    /// Node health ("green", "yellow", "red").
    pub health: Option<String>,
    /// CRM feature set of the node's Pacemaker (only while online).
    pub feature_set: Option<String>,
}

/// One primitive instance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceStatus {
    /// Resource id (anonymous clone instances all carry the primitive's id; unique clone
    /// instances have an ":N" suffix).
    pub id: String,
    /// "class:provider:type" or "class:type" ("ocf:pacemaker:Dummy", "stonith:fence_ipmilan").
    pub resource_agent: String,
    /// Current role, or the pending action's state ("Starting", "Migrating").
    pub role: Role,
    /// The configured target-role, if any.
    pub target_role: Option<Role>,
    /// Active on at least one node.
    pub active: bool,
    /// No longer in the configuration but still active somewhere.
    pub orphaned: bool,
    /// Blocked from further action (e.g. after a failure with `on-fail=block`).
    pub blocked: bool,
    /// Managed by the cluster.
    pub managed: bool,
    /// Failed.
    pub failed: bool,
    /// Failed, but the failure is ignored (`on-fail=ignore`).
    pub failure_ignored: bool,
    /// Number of nodes it is active on.
    pub nodes_running_on: u32,
    /// The pending task, when one is in flight and recorded.
    pub pending: Option<String>,
    /// Node the resource is locked to (shutdown locks).
    pub locked_to: Option<String>,
    /// Names of the nodes it is active on.
    pub nodes: Vec<String>,
    /// Id of the group, clone or bundle directly containing it.
    pub parent: Option<String>,
}

/// What kind of collection a [`Collection`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionKind {
    /// `<group>`.
    Group,
    /// `<clone>` (promotable or not).
    Clone,
    /// `<bundle>`.
    Bundle,
}

/// A group, clone or bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    /// Group, clone or bundle.
    pub kind: CollectionKind,
    /// Its id.
    pub id: String,
    /// Id of the collection containing it (a cloned group has the clone as parent).
    pub parent: Option<String>,
    /// Managed by the cluster.
    pub managed: bool,
    /// Disabled (target-role Stopped).
    pub disabled: bool,
    /// Failed (clones and bundles).
    pub failed: bool,
    /// Failure ignored (clones).
    pub failure_ignored: bool,
    /// A promotable clone (`multi_state="true"`).
    pub promotable: bool,
    /// A globally unique clone or bundle.
    pub unique: bool,
    /// Ids of the direct members (primitive ids once, even for many clone instances).
    pub members: Vec<String>,
}

/// Operation history of one node.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeHistory {
    /// Node name.
    pub node: String,
    /// Per resource.
    pub resources: Vec<ResourceHistory>,
}

/// Operation history of one resource on one node.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceHistory {
    /// Resource id.
    pub id: String,
    /// No longer configured.
    pub orphan: bool,
    /// Its migration-threshold.
    pub migration_threshold: Option<u64>,
    /// Current fail count (1,000,000 = INFINITY).
    pub fail_count: Option<u64>,
    /// Time of the last failure (ctime format).
    pub last_failure: Option<String>,
    /// Recorded operations, oldest call first as Pacemaker lists them.
    pub operations: Vec<OperationHistory>,
}

/// One `<operation_history>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OperationHistory {
    /// Call id on the node.
    pub call: Option<i64>,
    /// "start", "monitor", "migrate_from", ...
    pub task: String,
    /// OCF return code.
    pub rc: Option<i32>,
    /// Its text ("ok", "not running", "promoted").
    pub rc_text: Option<String>,
    /// Interval in milliseconds (0 for one-shot operations).
    pub interval_ms: u64,
    /// When the result last changed (ctime format).
    pub last_rc_change: Option<String>,
    /// Run time in milliseconds.
    pub exec_time_ms: Option<u64>,
    /// Queue time in milliseconds.
    pub queue_time_ms: Option<u64>,
}

/// One failed action (`<failures><failure>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Failure {
    /// Operation key, "RSC_TASK_INTERVAL" ("d-fail_start_0").
    pub op_key: String,
    /// Node it failed on.
    pub node: String,
    /// Text of the result ("error", "not running", "not installed").
    pub exitstatus: String,
    /// The agent's `ocf-exit-reason`, possibly empty.
    pub exitreason: String,
    /// OCF return code.
    pub exitcode: Option<i32>,
    /// Call id.
    pub call: Option<i64>,
    /// Execution status ("complete", "Timed Out", "Error", ...).
    pub status: Option<String>,
    /// When it happened ("2026-11-22 02:09:01Z").
    pub last_rc_change: Option<String>,
    /// Queue time in milliseconds.
    pub queued_ms: Option<u64>,
    /// Run time in milliseconds.
    pub exec_ms: Option<u64>,
    /// Interval in milliseconds (absent before Pacemaker 2.1).
    pub interval_ms: Option<u64>,
    /// Task (absent before Pacemaker 2.1).
    pub task: Option<String>,
}

impl Failure {
    /// The resource id inside [`Failure::op_key`].
    pub fn resource(&self) -> &str {
        if let (Some(task), Some(interval)) = (&self.task, self.interval_ms) {
            if let Some(rsc) = self.op_key.strip_suffix(&format!("_{task}_{interval}")) {
                return rsc;
            }
        }
        // "RSC_TASK_INTERVAL", where TASK may itself contain '_' (migrate_to, ...).
        let key = self.op_key.as_str();
        let Some((rest, _interval)) = key.rsplit_once('_') else {
            return key;
        };
        for task in ["migrate_to", "migrate_from", "reload_agent"] {
            if let Some(rsc) = rest.strip_suffix(&format!("_{task}")) {
                return rsc;
            }
        }
        rest.rsplit_once('_').map_or(rest, |(rsc, _task)| rsc)
    }
}

/// One fencing action.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FenceEvent {
    /// "reboot", "off", "on".
    pub action: String,
    /// Node being fenced.
    pub target: String,
    /// Who asked for it ("pacemaker-controld.82").
    pub client: Option<String>,
    /// Node that asked.
    pub origin: Option<String>,
    /// "pending", "success", "failed".
    pub status: String,
    /// Node that carried it out.
    pub delegate: Option<String>,
    /// When it completed.
    pub completed: Option<String>,
    /// Detailed execution status code.
    pub extended_status: Option<String>,
    /// Reason of a failure.
    pub exit_reason: Option<String>,
}

/// A negative location preference (`<bans><ban>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    /// Id of the constraint (or of its rule).
    pub id: String,
    /// Resource kept away.
    pub resource: String,
    /// Node it is kept away from.
    pub node: String,
    /// The (negative) score.
    pub weight: Score,
    /// Applies to the promoted role only.
    pub promoted_only: bool,
}
