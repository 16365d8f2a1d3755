//! Where `rebalance` would move VMs: vm-mgr's own plan ([`super::planner`]) on a model built
//! here from the CIB and `crm_mon` that the verb has read already: no other program, and work
//! bounded by `--max-moves` (at 32 nodes × 1,000 VMs, `crm_simulate` needed 108 s of CPU to
//! place every auto VM anew; this takes milliseconds). Each live move is still checked by
//! Pacemaker, as `migrate` checks one ([`super::moving::preflight`]).
//!
//! What the model holds:
//! - **nodes**: every node `crm_mon` knows; VMs go to and leave only those that are online,
//!   not standby, not in maintenance, and may run VMs ([`super::nodes::never_runs_vms`]);
//! - **capacity**: each node's utilization (`balance --enable`), and what every active
//!   resource there uses (VMs and others). Without a placement strategy that places by
//!   utilization, the VM count per node is balanced instead, with no capacity to respect;
//! - **movable VMs**: `auto`, live-migratable, started on one node that accepts VMs, managed,
//!   nothing failed or blocked, no move constraint of an unfinished `migrate`, not excluded by
//!   the caller. failover and pinned VMs are counted where they run and never move;
//! - **where each may go**: the sum of its location constraints' scores on the node (bans,
//!   pins, preferences, `cli-*`, rules on node attributes) is not -INFINITY, and no other
//!   node scores at least that plus the VM's stickiness (else Pacemaker would move it on, or
//!   back: an auto VM preferred with INFINITY stays on its node; a VM without stickiness is
//!   placed by Pacemaker itself and left to it);
//! - **colocations** (vm-mgr's and any other): apart (a negative score) from another VM: never
//!   on its node; apart from another resource: not where it runs; with another resource: only
//!   where it runs (a clone: any node it runs on); with another VM, followed by a resource, in
//!   a resource set or on a node attribute: not moved (moving one would drag the other).

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use shared::pacemaker::cib::{tree, CibResource, Group, Primitive};
use shared::pacemaker::status::base_id;
use shared::pacemaker::{Cib, ClusterStatus, Score};

use super::capacity::{by_utilization, value, STRATEGY_PROPERTY};
use super::nodes::{never_runs_vms, node_facts};
use super::planner::{self, Model, Node, Vm};
use super::preflight::{allows_migration, location_score};
use super::{placement_of, Strategy};
use crate::state::{cib_vms, Lookup, VmState};

/// One move of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedMove {
    /// VM name.
    pub name: String,
    /// Where it runs.
    pub from: String,
    /// Where it would go.
    pub to: String,
}

/// The spread of one utilization name's used fraction over the nodes, before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    /// Utilization name ("vms": the VM count, without a utilization strategy).
    pub name: String,
    /// Highest minus lowest used percentage now.
    pub before: f64,
    /// The same after the moves.
    pub after: f64,
}

/// The plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The moves, in order.
    pub moves: Vec<PlannedMove>,
    /// The next move beyond `max_moves`, if there is one (there may be more).
    pub beyond_max_moves: Vec<PlannedMove>,
    /// How the spread of each utilization changes.
    pub spread: Vec<Spread>,
    /// How many VMs the plan could move.
    pub movable: usize,
    /// Why nothing may move at all (no quorum, maintenance mode), if so.
    pub held: Option<String>,
}

/// The plan for the cluster as `cib` and `mon` say, at most `max_moves` moves, the VMs of
/// `exclude` not moved.
pub fn plan(cib: &Cib, mon: &ClusterStatus, max_moves: usize, exclude: &[String]) -> Plan {
    let held = if !mon.is_quorate() {
        Some("the cluster partition has no quorum".to_owned())
    } else if mon.summary.maintenance_mode() {
        Some("the cluster is in maintenance mode".to_owned())
    } else {
        None
    };
    let mut model = model(cib, mon, exclude);
    if held.is_some() {
        model.vms.iter_mut().for_each(|v| v.movable = false);
    }
    let mut moves = planner::plan(&model, max_moves.saturating_add(1));
    let beyond = moves.split_off(moves.len().min(max_moves));
    let named = |m: &planner::Move| PlannedMove {
        name: model.vms[m.vm].name.clone(),
        from: model.nodes[m.from].name.clone(),
        to: model.nodes[m.to].name.clone(),
    };
    let spread = planner::spread(&model, &[])
        .into_iter()
        .zip(planner::spread(&model, &moves))
        .map(|((name, before), (_, after))| Spread {
            name,
            before,
            after,
        })
        .collect();
    Plan {
        moves: moves.iter().map(named).collect(),
        beyond_max_moves: beyond.iter().map(named).collect(),
        spread,
        movable: model.vms.iter().filter(|v| v.movable).count(),
        held,
    }
}

/// The planner's model of the cluster (see the module documentation).
pub fn model(cib: &Cib, mon: &ClusterStatus, exclude: &[String]) -> Model {
    let mut node_names: Vec<&str> = mon.nodes.iter().map(|n| n.name.as_str()).collect();
    node_names.sort_unstable();
    node_names.dedup();
    let index: HashMap<&str, usize> = node_names
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, i))
        .collect();
    let by_util = by_utilization(cib.property(STRATEGY_PROPERTY));
    let prims: HashMap<&str, &Primitive> = cib
        .primitives()
        .into_iter()
        .map(|p| (p.id.as_str(), p))
        .collect();
    let names = utilization_names(cib, by_util, &prims);
    let groups = vm_groups(cib);
    let lookup = Lookup::new(cib, mon);
    let troubled: HashSet<&str> = mon
        .resources
        .iter()
        .filter(|r| r.failed || r.blocked || !r.managed)
        .map(|r| base_id(&r.id))
        .collect();
    let mut vms: Vec<Vm> = Vec::new();
    let mut stickiness: Vec<Score> = Vec::new();
    for g in &groups {
        let st = lookup.status_of(&g.id, None);
        let [node] = st.nodes.as_slice() else {
            continue;
        };
        let (Some(at), VmState::Started) = (index.get(node.as_str()), st.state) else {
            continue;
        };
        let Some(p) = placement_of(cib.element(), Some(cib), &g.id) else {
            continue;
        };
        let need = if by_util {
            group_need(g, &names)
        } else {
            vec![1]
        };
        let held = g.members.iter().any(|m| troubled.contains(m.id()))
            || exclude.contains(&g.id)
            || p.move_constraint.is_some();
        vms.push(Vm {
            name: g.id.clone(),
            node: *at,
            need,
            movable: !held && p.strategy == Strategy::Auto && allows_migration(cib, &g.id),
            allowed: vec![true; node_names.len()],
            apart: Vec::new(),
        });
        stickiness.push(Score::parse(&p.stickiness).unwrap_or(Score(0)));
    }
    let nodes = node_names
        .iter()
        .map(|n| node(cib, mon, n, &names, by_util))
        .collect();
    let mut model = Model {
        names,
        enforce_capacity: by_util,
        nodes,
        vms,
    };
    used(&mut model, mon, &prims, by_util);
    locations(&mut model, cib, mon, &groups, &stickiness);
    colocations(&mut model, cib, mon, &groups);
    model
}

/// The top-level groups of vm-mgr's VMs, sorted by name (the first of a name).
fn vm_groups(cib: &Cib) -> Vec<&Group> {
    let names: HashSet<String> = cib_vms(cib).into_iter().collect();
    let mut groups: Vec<&Group> = cib
        .resources
        .iter()
        .filter_map(|r| match r {
            CibResource::Group(g) if names.contains(&g.id) => Some(g),
            _ => None,
        })
        .collect();
    groups.sort_by(|a, b| a.id.cmp(&b.id));
    groups.dedup_by(|a, b| a.id == b.id);
    groups
}

/// The utilization names: those of the nodes' capacities and the VMs' needs, sorted; without
/// a utilization strategy, `vms` (the count).
fn utilization_names(cib: &Cib, by_util: bool, prims: &HashMap<&str, &Primitive>) -> Vec<String> {
    if !by_util {
        return vec!["vms".to_owned()];
    }
    let mut names: Vec<String> = cib
        .nodes
        .iter()
        .flat_map(|n| n.utilization.keys())
        .chain(prims.values().flat_map(|p| p.utilization.keys()))
        .cloned()
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// What the members of group `g` need together, per name.
fn group_need(g: &Group, names: &[String]) -> Vec<i64> {
    let prims: Vec<&Primitive> = g.members.iter().filter_map(|m| m.as_primitive()).collect();
    names
        .iter()
        .map(|k| {
            prims
                .iter()
                .filter_map(|p| p.utilization.get(k))
                .map(|v| value(v))
                .fold(0i64, i64::saturating_add)
        })
        .collect()
}

/// Node `name`: its capacity, and whether it accepts VMs (its use is filled in by [`used`]).
fn node(cib: &Cib, mon: &ClusterStatus, name: &str, names: &[String], by_util: bool) -> Node {
    let capacity = if by_util {
        let util = cib.node(name).map(|n| &n.utilization);
        names
            .iter()
            .map(|k| util.and_then(|u| u.get(k)).map_or(0, |v| value(v)))
            .collect()
    } else {
        vec![1]
    };
    let accepts = mon.node(name).is_some_and(|n| {
        n.online && !n.standby && !n.maintenance && !n.unclean && !n.pending && !n.shutdown
    }) && never_runs_vms(cib, mon, name).is_none();
    Node {
        name: name.to_owned(),
        used: vec![0; capacity.len()],
        capacity,
        accepts,
    }
}

/// Fills each node's use: every active resource's utilization (by utilization), else the
/// VMs of the model.
fn used(model: &mut Model, mon: &ClusterStatus, prims: &HashMap<&str, &Primitive>, by_util: bool) {
    if !by_util {
        for v in &model.vms {
            model.nodes[v.node].used[0] = model.nodes[v.node].used[0].saturating_add(1);
        }
        return;
    }
    let mut sums = vec![vec![0i64; model.names.len()]; model.nodes.len()];
    let index = by_name(&model.nodes, |n| &n.name);
    for r in mon.resources.iter().filter(|r| r.active) {
        let Some(prim) = prims.get(base_id(&r.id)) else {
            continue;
        };
        for node in r.nodes.iter().filter_map(|n| index.get(n.as_str())) {
            for (k, name) in model.names.iter().enumerate() {
                if let Some(v) = prim.utilization.get(name) {
                    sums[*node][k] = sums[*node][k].saturating_add(value(v));
                }
            }
        }
    }
    for (node, used) in model.nodes.iter_mut().zip(sums) {
        node.used = used;
    }
}

/// The index of each item by its name.
fn by_name<T>(items: &[T], name: impl Fn(&T) -> &String) -> HashMap<&str, usize> {
    items
        .iter()
        .enumerate()
        .map(|(i, x)| (name(x).as_str(), i))
        .collect()
}

/// Pacemaker's sum of scores: -INFINITY wins, then INFINITY, else the sum within them.
fn add(a: Score, b: Score) -> Score {
    if a.is_minus_infinity() || b.is_minus_infinity() {
        Score::MINUS_INFINITY
    } else if a.is_infinity() || b.is_infinity() {
        Score::INFINITY
    } else {
        Score(
            a.0.saturating_add(b.0)
                .clamp(Score::MINUS_INFINITY.0, Score::INFINITY.0),
        )
    }
}

/// The VM index of each member id and group id.
fn members_index(model: &Model, groups: &[&Group]) -> HashMap<String, usize> {
    let vm_index = by_name(&model.vms, |v| &v.name);
    let mut out = HashMap::new();
    for g in groups {
        let Some(i) = vm_index.get(g.id.as_str()) else {
            continue;
        };
        out.insert(g.id.clone(), *i);
        for m in &g.members {
            out.insert(m.id().to_owned(), *i);
        }
    }
    out
}

/// Where each VM may go by its location constraints and `stickiness` (one per VM).
fn locations(
    model: &mut Model,
    cib: &Cib,
    mon: &ClusterStatus,
    groups: &[&Group],
    stickiness: &[Score],
) {
    let of = members_index(model, groups);
    let facts: Vec<_> = model
        .nodes
        .iter()
        .map(|n| node_facts(cib, mon, &n.name))
        .collect();
    let mut scores: Vec<Vec<Score>> = vec![vec![Score(0); model.nodes.len()]; model.vms.len()];
    for loc in tree::constraints(cib.element())
        .iter()
        .filter(|c| c.name == "rsc_location")
    {
        let Some(v) = loc.attr("rsc").and_then(|r| of.get(r)) else {
            continue;
        };
        for (n, f) in facts.iter().enumerate() {
            if let Some(s) = location_score(loc, f) {
                scores[*v][n] = add(scores[*v][n], s);
            }
        }
    }
    for ((vm, score), stickiness) in model.vms.iter_mut().zip(&scores).zip(stickiness) {
        for (n, allowed) in vm.allowed.iter_mut().enumerate() {
            let here = add(score[n], *stickiness);
            let pulled = score.iter().enumerate().any(|(m, s)| m != n && *s >= here);
            *allowed &= !score[n].is_minus_infinity() && !pulled;
        }
    }
}

/// What the colocations allow (see the module documentation).
fn colocations(model: &mut Model, cib: &Cib, mon: &ClusterStatus, groups: &[&Group]) {
    let of = members_index(model, groups);
    let index = by_name(&model.nodes, |n| &n.name);
    let mut fixed: Vec<usize> = Vec::new();
    for c in &cib.constraints.colocations {
        let in_sets = c.resource_sets.iter().flat_map(|s| &s.resources);
        fixed.extend(in_sets.filter_map(|r| of.get(r.as_str())));
        let (Some(rsc), Some(with), Some(score)) = (&c.rsc, &c.with_rsc, c.score) else {
            continue;
        };
        let (a, b) = (
            of.get(rsc.as_str()).copied(),
            of.get(with.as_str()).copied(),
        );
        if a == b || score.0 == 0 {
            continue;
        }
        let on_uname = c.node_attribute.as_deref().is_none_or(|n| n == "#uname");
        let where_other = |id: &str| -> Vec<usize> {
            mon.where_running(id)
                .into_iter()
                .filter_map(|n| index.get(n).copied())
                .collect()
        };
        match (a, b) {
            _ if !on_uname => fixed.extend(a.into_iter().chain(b)),
            (Some(x), Some(y)) if score.0 < 0 => {
                model.vms[x].apart.push(y);
                model.vms[y].apart.push(x);
            }
            (Some(_), Some(_)) => fixed.extend([a, b].into_iter().flatten()),
            (Some(v), None) | (None, Some(v)) if score.0 < 0 => {
                let other = if a.is_some() { with } else { rsc };
                for n in where_other(other) {
                    model.vms[v].allowed[n] = false;
                }
            }
            (Some(v), None) => {
                let there = where_other(with);
                for (n, allowed) in model.vms[v].allowed.iter_mut().enumerate() {
                    *allowed &= there.contains(&n);
                }
            }
            (None, Some(v)) => fixed.push(v),
            (None, None) => {}
        }
    }
    for v in fixed {
        model.vms[v].movable = false;
    }
}

#[cfg(test)]
#[path = "rebalance_tests.rs"]
mod tests;
