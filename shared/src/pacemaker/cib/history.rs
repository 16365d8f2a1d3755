//! Operation history in the CIB's status section: `status` → `node_state` → `lrm` →
//! `lrm_resources` → `lrm_resource` → `lrm_rsc_op`, as each node's controller records it.
//!
//! A node holds history of a resource once it has probed it; a rejoining node's CIB copy can
//! replace the status section for a while, so history missing on a node means "not known
//! there", not "stopped there".

use crate::pacemaker::status::base_id;
use crate::xml::Element;

/// One node's operation history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeHistory<'a> {
    /// The node's name (`uname` of its `node_state`), if written.
    pub uname: Option<&'a str>,
    /// The resources it holds history of, in document order.
    pub resources: Vec<ResourceHistory<'a>>,
}

/// The history of one resource on one node (an `lrm_resource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceHistory<'a> {
    /// The resource id (with a `:N` suffix for anonymous clone instances).
    pub id: &'a str,
    /// Its recorded operations (`lrm_rsc_op`), in document order.
    pub ops: Vec<OpRecord<'a>>,
}

/// One recorded operation (an `lrm_rsc_op`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpRecord<'a> {
    /// Record id ("d-started_last_0", "d-started_monitor_10000").
    pub id: &'a str,
    /// "start", "stop", "monitor", "migrate_to", ...
    pub operation: &'a str,
    /// Interval in milliseconds as written ("0", "10000").
    pub interval: &'a str,
    /// The executor's call id (ordering of the calls on that node; -1 for pending ones).
    pub call_id: Option<i64>,
    /// The agent's exit code.
    pub rc_code: Option<i32>,
    /// When the result last changed (seconds since the epoch).
    pub last_rc_change: Option<u64>,
}

impl<'a> ResourceHistory<'a> {
    /// The operation with the highest call id (the last one run on that node).
    pub fn last_op(&self) -> Option<&OpRecord<'a>> {
        self.ops
            .iter()
            .filter(|o| o.call_id.is_some())
            .max_by_key(|o| o.call_id)
    }
}

impl<'a> NodeHistory<'a> {
    /// Whether the node holds history of resource `id`.
    pub fn holds(&self, id: &str) -> bool {
        self.resources.iter().any(|r| r.id == id)
    }

    /// The history of resource `id` on this node.
    pub fn resource(&self, id: &str) -> Option<&ResourceHistory<'a>> {
        self.resources.iter().find(|r| r.id == id)
    }
}

/// The operation history of every node in the status section of CIB `tree` (empty without a
/// status section).
pub fn histories(tree: &Element) -> Vec<NodeHistory<'_>> {
    tree.child("status")
        .into_iter()
        .flat_map(|s| s.children_named("node_state"))
        .map(|n| NodeHistory {
            uname: n.attr("uname"),
            resources: n
                .child("lrm")
                .and_then(|l| l.child("lrm_resources"))
                .into_iter()
                .flat_map(|r| r.children_named("lrm_resource"))
                .filter_map(resource_history)
                .collect(),
        })
        .collect()
}

/// The names of the nodes holding history of resource `id`, in document order.
pub fn nodes_with_history<'a>(tree: &'a Element, id: &str) -> Vec<&'a str> {
    histories(tree)
        .into_iter()
        .filter(|n| n.holds(id))
        .filter_map(|n| n.uname)
        .collect()
}

/// Why resources `ids` are not yet settled where a move put them on `target`, or `None`: a
/// node (of `online`) holds an operation still in flight for one of them (recorded pending,
/// call id -1), or a node other than `target` ran a `migrate_to` as its last one-off operation
/// and has not yet stopped the resource (a live move completes with that stop, which the
/// cluster issues after `migrate_from` succeeded: until then crm_mon already shows the
/// resource started on `target` alone, then a moment later "Stopping").
pub fn unsettled_move(
    tree: &Element,
    ids: &[&str],
    target: &str,
    online: &[&str],
) -> Option<String> {
    for node in histories(tree) {
        let Some(uname) = node.uname.filter(|u| online.contains(u)) else {
            continue;
        };
        for r in node
            .resources
            .iter()
            .filter(|r| ids.contains(&base_id(r.id)))
        {
            if let Some(op) = r.ops.iter().find(|o| o.call_id == Some(-1)) {
                return Some(format!("{} {} pending on {uname}", r.id, op.operation));
            }
            let last = r
                .ops
                .iter()
                .filter(|o| o.interval == "0" && o.call_id.is_some())
                .max_by_key(|o| o.call_id);
            if uname != target && last.is_some_and(|o| o.operation == "migrate_to") {
                return Some(format!(
                    "{} not yet stopped on {uname} after migrate_to",
                    r.id
                ));
            }
        }
    }
    None
}

/// Removes node `uname`'s history of resource `id`; whether there was one. (What a node's
/// rejoin can do to the status section for a while; for tests and simulations.)
pub fn forget_history(tree: &mut Element, uname: &str, id: &str) -> bool {
    let Some(resources) = tree
        .child_mut("status")
        .and_then(|s| {
            s.children
                .iter_mut()
                .find(|n| n.name == "node_state" && n.attr("uname") == Some(uname))
        })
        .and_then(|n| n.child_mut("lrm"))
        .and_then(|l| l.child_mut("lrm_resources"))
    else {
        return false;
    };
    let before = resources.children.len();
    resources
        .children
        .retain(|r| !(r.name == "lrm_resource" && r.attr("id") == Some(id)));
    resources.children.len() != before
}

fn resource_history(r: &Element) -> Option<ResourceHistory<'_>> {
    Some(ResourceHistory {
        id: r.attr("id")?,
        ops: r
            .children_named("lrm_rsc_op")
            .filter_map(|o| {
                Some(OpRecord {
                    id: o.attr("id")?,
                    operation: o.attr("operation").unwrap_or(""),
                    interval: o.attr("interval").unwrap_or("0"),
                    call_id: o.attr("call-id").and_then(|v| v.parse().ok()),
                    rc_code: o.attr("rc-code").and_then(|v| v.parse().ok()),
                    last_rc_change: o.attr("last-rc-change").and_then(|v| v.parse().ok()),
                })
            })
            .collect(),
    })
}
