//! Where `rebalance` would move VMs: `crm_simulate --run` (the transition computed, not
//! carried out) on a copy of the CIB in which every
//! movable VM (auto, live-migratable, running on one node, no move constraint) has
//! `resource-stickiness=0`, so that Pacemaker places it by load alone (with
//! `placement-strategy=balanced`: the node with the most free capacity). failover and pinned
//! VMs keep their stickiness and pins: they never move, and the others are placed around them.

use serde::Serialize;
use shared::pacemaker::{Cib, ClusterStatus};

use super::preflight::allows_migration;
use super::{edit, edit_error, placement_of, simulate, Strategy};
use crate::error::Result;
use crate::state::cib_vms;
use crate::vm::VmIds;

/// One move of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedMove {
    /// VM name.
    pub name: String,
    /// Where it runs.
    pub from: String,
    /// Where Pacemaker would place it.
    pub to: String,
}

/// The VMs rebalance may move, with the node each runs on.
pub fn movable(cib: &Cib, mon: &ClusterStatus) -> Vec<(String, String)> {
    cib_vms(cib)
        .into_iter()
        .filter_map(|name| {
            let p = placement_of(cib.element(), Some(cib), &name)?;
            if p.strategy != Strategy::Auto
                || p.move_constraint.is_some()
                || !allows_migration(cib, &name)
            {
                return None;
            }
            let on = mon.where_running(&VmIds::new(&name).domain());
            let [node] = on.as_slice() else {
                return None;
            };
            Some((name.clone(), (*node).to_owned()))
        })
        .collect()
}

/// The moves Pacemaker would make with the movable VMs unsticky, in CIB order.
pub fn plan(cib: &Cib, mon: &ClusterStatus) -> Result<Vec<PlannedMove>> {
    let vms = movable(cib, mon);
    if vms.is_empty() {
        return Ok(Vec::new());
    }
    let mut tree = cib.element().clone();
    for (name, _) in &vms {
        edit::set_group_meta(&mut tree, name, "resource-stickiness", Some("0"))
            .map_err(edit_error)?;
    }
    let actions = simulate::actions(&tree)?;
    Ok(vms
        .into_iter()
        .filter_map(|(name, from)| {
            let domain = VmIds::new(&name).domain();
            let to = actions
                .iter()
                .filter(|a| a.resource == domain && matches!(a.action.as_str(), "migrate" | "move"))
                .find_map(|a| a.dest.clone())?;
            (to != from).then_some(PlannedMove { name, from, to })
        })
        .collect())
}
