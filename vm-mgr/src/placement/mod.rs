//! Placement and mobility: the constraints vm-mgr owns to keep VMs together or apart, a VM's
//! placement strategy, the time-limited move constraint of `migrate`, the preflight checks that
//! say what blocks a move, and `crm_simulate` previews.
//!
//! Ids (VM names cannot contain `.`, so `VM.OTHER` is unambiguous):
//! - `vmmgr-colo-VM.OTHER`: VM runs with OTHER (`rsc=VM with-rsc=OTHER`, positive score);
//! - `vmmgr-anti-VM.OTHER`: VM runs apart from OTHER (negative score);
//! - `vmmgr-pin-VM`, `vmmgr-prefer-VM` (see [`crate::fragment`]) and the group's
//!   `resource-stickiness` carry the strategy;
//! - `vmmgr-move-VM`: the move constraint of `migrate`: INFINITY on the target and -INFINITY
//!   on the source (the node the VM runs on) alone, each rule with a `date_expression` so that
//!   it stops counting by itself even if vm-mgr dies before removing it. The ban of the source
//!   moves a `failover` VM (INFINITY stickiness); no other node is forbidden, so a constraint
//!   left by a vm-mgr killed with its node cannot keep the VM from failing over to a third
//!   node when the target dies (see [`edit::move_constraint`]).
//!
//! | Strategy | CIB |
//! |---|---|
//! | auto | `resource-stickiness=0`; with `--node`, `vmmgr-prefer-VM` INFINITY there (it moves back) |
//! | failover | `resource-stickiness=INFINITY`; with `--node`, `vmmgr-prefer-VM` 100 (first start only) |
//! | pinned | `vmmgr-pin-VM`: -INFINITY on every node but `--node` (never restarted elsewhere); `vmmgr-pin-VM.home`: INFINITY on `--node` (for SEAPATH's plugin, see `crate::fragment::pin_constraints`) |

use serde::Serialize;
use shared::pacemaker::cib::tree::{self, SetKind};
use shared::pacemaker::Cib;
use shared::xml::Element;

use crate::vm::VmIds;

pub mod capacity;
pub mod edit;
pub mod moving;
pub mod nodes;
pub mod planner;
pub mod preflight;
pub mod probe;
pub mod rebalance;
pub mod simulate;

#[cfg(test)]
mod tests;

/// Score of `vmmgr-prefer-VM` for the auto strategy (as `create --preferred-host` writes it).
pub const PREFER_AUTO_SCORE: &str = "INFINITY";
/// Score of `vmmgr-prefer-VM` for the failover strategy: below the INFINITY stickiness, so it
/// only chooses the first node.
pub const PREFER_FAILOVER_SCORE: &str = "100";
/// Default score of a soft colocation (SEAPATH's `add_colocation` without `--strong`).
pub const SOFT_COLOCATION_SCORE: i64 = 700;
/// Node attribute (configuration section) listing the VMs `drain` moved off a node.
pub const DRAINED_ATTRIBUTE: &str = "vmmgr-drained-vms";

/// A VM's placement strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// May be moved by Pacemaker (rebalancing) and moves back to its preferred node.
    Auto,
    /// Stays where it runs; moves only when its node fails.
    Failover,
    /// Runs only on its node; not restarted elsewhere when that node dies.
    Pinned,
}

impl Strategy {
    /// The name as typed and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Auto => "auto",
            Strategy::Failover => "failover",
            Strategy::Pinned => "pinned",
        }
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a placement or mobility verb refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    /// The preflight checks found reasons the move cannot happen; nothing was changed.
    #[error("Cannot move VM {name} to {node}: {}. Nothing was changed.", .reasons.join("; "))]
    Blocked {
        name: String,
        node: String,
        reasons: Vec<String>,
    },
    /// drain would have to stop VMs.
    #[error(
        "Draining {node} would stop {}: {}. Nothing was changed (use --stop-unmovable to stop them).",
        if .vms.len() == 1 { "this VM" } else { "these VMs" },
        .vms.join(", ")
    )]
    Unmovable { node: String, vms: Vec<String> },
    /// Ctrl-C or SIGTERM while waiting; the move constraint was removed.
    #[error("Interrupted while moving VM {name}; {cleanup}.")]
    Interrupted { name: String, cleanup: String },
    /// The VM did not arrive in time.
    #[error("VM {name} did not reach {node} within {secs}s (it is {state}); {cleanup}.")]
    Timeout {
        name: String,
        node: String,
        secs: u64,
        state: String,
        cleanup: String,
    },
    /// The guest did not power itself off in time (offline migrate --wait-for-shutdown).
    #[error(
        "The guest of VM {name} did not power itself off within {secs}s; it still runs on {node} \
         and nothing was moved."
    )]
    NoShutdown {
        name: String,
        node: String,
        secs: u64,
    },
    /// `crm_simulate` failed or printed something unreadable.
    #[error("crm_simulate could not preview the change: {detail}.")]
    Simulate { detail: String },
    /// `balance`: some node's capacity cannot be known (libvirt does not answer, or the
    /// reserve leaves nothing); nothing was changed.
    #[error(
        "Cannot compute every node's capacity: {}. Nothing was changed (--node-info gives the \
         figures of a node libvirt cannot tell).",
        .errors.join("; ")
    )]
    NoCapacity { errors: Vec<String> },
    /// `balance`: VMs without utilization whose stored XML cannot give it; nothing was changed.
    #[error(
        "These VMs have no utilization yet and it cannot be read from their stored XML: {}. \
         Nothing was changed.",
        .vms.join(", ")
    )]
    NoUtilization { vms: Vec<String> },
    /// A temporary file.
    #[error("Cannot write the temporary file {path}.")]
    TempFile {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl PlacementError {
    /// Exit code (see [`crate::error`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            PlacementError::Blocked { .. }
            | PlacementError::Unmovable { .. }
            | PlacementError::NoUtilization { .. } => crate::error::EXIT_REFUSED,
            PlacementError::Interrupted { .. } => crate::error::EXIT_INTERRUPTED,
            PlacementError::Timeout { .. } | PlacementError::NoShutdown { .. } => {
                crate::error::EXIT_TIMEOUT
            }
            _ => crate::error::EXIT_FAILED,
        }
    }
}

/// A fragment edit's error as a vm-mgr error (for edits made outside a transaction).
pub(crate) fn edit_error(e: crate::fragment::FragmentError) -> crate::error::Error {
    shared::pacemaker::TransactionError::Edit(e).into()
}

/// The id of a colocation (`anti`: apart) of `vm` with `other`.
pub fn colocation_id(vm: &str, other: &str, anti: bool) -> String {
    let kind = if anti { "anti" } else { "colo" };
    format!("vmmgr-{kind}-{vm}.{other}")
}

/// The id of the move constraint of `migrate`.
pub fn move_id(vm: &str) -> String {
    format!("vmmgr-move-{vm}")
}

/// A VM's placement as the CIB says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placement {
    /// The strategy.
    pub strategy: Strategy,
    /// Pinned or preferred node.
    pub node: Option<String>,
    /// The group's `resource-stickiness`, else the resource default, else "0".
    pub stickiness: String,
    /// vm-mgr's colocations of the VM (`vmmgr-colo-*`, `vmmgr-anti-*`).
    pub colocations: Vec<ColocationInfo>,
    /// A move constraint left by an interrupted `migrate` (it expires by itself).
    pub move_constraint: Option<String>,
}

/// One vm-mgr colocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColocationInfo {
    /// Constraint id.
    pub id: String,
    /// The other resource.
    pub with: String,
    /// "together" or "apart".
    pub kind: &'static str,
    /// Score as written.
    pub score: String,
}

/// The node of a `vmmgr-pin-VM` constraint (its `#uname ne NODE` expression).
pub fn pin_node(pin: &Element) -> Option<String> {
    pin.descendants()
        .into_iter()
        .find(|d| d.name == "expression" && d.attr("attribute") == Some("#uname"))
        .and_then(|d| d.attr("value"))
        .map(str::to_owned)
}

/// The VM's placement, from the CIB tree (`None` when the VM's group is not in it).
pub fn placement_of(tree: &Element, cib_defaults: Option<&Cib>, name: &str) -> Option<Placement> {
    let group = crate::fragment::vm_group(tree, name)?;
    let ids = VmIds::new(name);
    let constraints = tree::constraints(tree);
    let by_id = |id: &str| tree::constraint(tree, id);
    let stickiness = tree::nvpair(group, SetKind::Meta, "resource-stickiness")
        .map(str::to_owned)
        .or_else(|| cib_defaults.and_then(|c| c.rsc_defaults.get("resource-stickiness").cloned()))
        .unwrap_or_else(|| "0".to_owned());
    let prefer = by_id(&ids.prefer()).and_then(|p| p.attr("node").map(str::to_owned));
    let (strategy, node) = if let Some(pin) = by_id(&ids.pin()) {
        (Strategy::Pinned, pin_node(pin))
    } else if matches!(stickiness.as_str(), "INFINITY" | "+INFINITY") {
        (Strategy::Failover, prefer)
    } else {
        (Strategy::Auto, prefer)
    };
    let colocations = constraints
        .iter()
        .filter(|c| c.name == "rsc_colocation" && c.attr("rsc") == Some(name))
        .filter_map(|c| {
            let id = c.attr("id")?;
            let anti = id.starts_with("vmmgr-anti-");
            if !(anti || id.starts_with("vmmgr-colo-")) {
                return None;
            }
            Some(ColocationInfo {
                id: id.to_owned(),
                with: c.attr("with-rsc")?.to_owned(),
                kind: if anti { "apart" } else { "together" },
                score: c.attr("score").unwrap_or("").to_owned(),
            })
        })
        .collect();
    Some(Placement {
        strategy,
        node,
        stickiness,
        colocations,
        move_constraint: by_id(&move_id(name)).map(|_| move_id(name)),
    })
}

impl Placement {
    /// One line for `status`: "failover (node sim1), together with b, apart from c".
    pub fn summary(&self) -> String {
        let mut s = self.strategy.to_string();
        if let Some(n) = &self.node {
            s.push_str(&format!(" (node {n})"));
        }
        for c in &self.colocations {
            let how = if c.kind == "apart" {
                "apart from"
            } else {
                "together with"
            };
            s.push_str(&format!(", {how} {} ({})", c.with, c.score));
        }
        if let Some(m) = &self.move_constraint {
            s.push_str(&format!(", move constraint {m} still present"));
        }
        s
    }
}
