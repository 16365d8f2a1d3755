//! The plan of `rebalance`: which `auto` VMs to move where so that the load is even. Pure (no
//! I/O): [`super::rebalance`] builds the [`Model`] from the CIB and the status, and this module
//! only computes.
//!
//! **What "even" means.** For each utilization name `d` (`cpu`, `hv_memory`, ...) a node `i`
//! has a capacity `c_i` and uses `u_i`; its used fraction is `f_i = u_i / c_i`. The imbalance
//! is the sum over the names of the capacity-weighted variance of the fractions,
//! `Σ_i (c_i / C) (f_i − F)²` with `C = Σ c_i` and `F = Σ u_i / C`. Since `F` does not change
//! when a VM moves, lowering it means lowering `Σ_i u_i² / (c_i C)`, which a move of a VM that
//! needs `n` from node `s` to node `t` changes by `(n² − 2 u_s n) / (c_s C) + (n² + 2 u_t n) /
//! (c_t C)`: on equal nodes, a move helps exactly when the source uses more than the target
//! plus the VM itself, so no move is ever undone by a later one. The lowest imbalance is every
//! node at the same fraction (what Pacemaker's `balanced` strategy aims at when it places a
//! resource on the node with the most free capacity).
//!
//! **How.** Greedy and bounded: each step tries every movable VM (not moved yet in this plan)
//! on every other node that accepts it, keeps the move that lowers the imbalance most (ties:
//! the first VM by name, then the first node by name), applies it to the model, and stops at
//! `max_moves` or when no move lowers it. A move must fit: on the target, what is used plus
//! what the VM needs stays within the capacity of every name the VM needs (as Pacemaker checks
//! it). The model says which nodes each VM may go to (its location constraints, colocations,
//! node state) and which VMs it must stay apart from; a VM not movable is counted where it
//! runs and never moved. Work: `O(moves × VMs × nodes × names)`, moves ≤ `max_moves` and ≤
//! the movable VMs (each moves at most once a plan).

/// A move lowering the imbalance by less than this is not worth a live migration (and is
/// rounding noise: the figures are fractions of the whole cluster).
const MIN_GAIN: f64 = 1e-12;
/// Two moves whose gains differ by less than this are a tie (broken by name).
const TIE: f64 = 1e-15;

/// What the planner knows of the cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The utilization names, in the order of the figures below.
    pub names: Vec<String>,
    /// Whether a move must fit in the target's capacity (a placement strategy that places by
    /// utilization); without it, the figures only weigh the balance.
    pub enforce_capacity: bool,
    /// The nodes, sorted by name.
    pub nodes: Vec<Node>,
    /// The VMs running on one node, sorted by name.
    pub vms: Vec<Vm>,
}

/// One node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Node name.
    pub name: String,
    /// Capacity per utilization name (0: the node lacks it).
    pub capacity: Vec<i64>,
    /// What every resource active there uses (VMs and others), per name.
    pub used: Vec<i64>,
    /// Whether VMs may be moved here and away (online, not standby or in maintenance, a full
    /// cluster node): a node that does not accept VMs is left as it is.
    pub accepts: bool,
}

/// One VM that runs on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vm {
    /// VM name.
    pub name: String,
    /// Index of the node it runs on.
    pub node: usize,
    /// What it uses, per utilization name.
    pub need: Vec<i64>,
    /// Whether rebalance may move it (auto, live-migratable, not held by anything).
    pub movable: bool,
    /// Per node: whether its constraints let it go there (and stay).
    pub allowed: Vec<bool>,
    /// Indexes of the VMs it must not share a node with (both ways: the model lists each
    /// pair on both VMs).
    pub apart: Vec<usize>,
}

/// One planned move.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Move {
    /// Index of the VM.
    pub vm: usize,
    /// Index of the node it runs on.
    pub from: usize,
    /// Index of the node it goes to.
    pub to: usize,
    /// How much it lowers the imbalance.
    pub gain: f64,
}

/// The moves, in order, at most `max_moves`; the model is not changed.
pub fn plan(model: &Model, max_moves: usize) -> Vec<Move> {
    let mut used: Vec<Vec<i64>> = model.nodes.iter().map(|n| n.used.clone()).collect();
    let mut at: Vec<usize> = model.vms.iter().map(|v| v.node).collect();
    let mut moved = vec![false; model.vms.len()];
    let weights = weights(model);
    let mut moves = Vec::new();
    while moves.len() < max_moves {
        let Some(m) = best_move(model, &weights, &used, &at, &moved) else {
            break;
        };
        apply(&mut used, &model.vms[m.vm].need, &m);
        at[m.vm] = m.to;
        moved[m.vm] = true;
        moves.push(m);
    }
    moves
}

/// Moves what a VM needs from `m.from` to `m.to` in `used`.
fn apply(used: &mut [Vec<i64>], need: &[i64], m: &Move) {
    for (k, n) in need.iter().enumerate() {
        used[m.from][k] = used[m.from][k].saturating_sub(*n);
        used[m.to][k] = used[m.to][k].saturating_add(*n);
    }
}

/// `1 / C` of each name: the inverse of the total capacity of the nodes that accept VMs (0
/// when they have none of it: that name does not count).
fn weights(model: &Model) -> Vec<f64> {
    (0..model.names.len())
        .map(|k| {
            let total: i64 = model
                .nodes
                .iter()
                .filter(|n| n.accepts)
                .map(|n| n.capacity[k].max(0))
                .fold(0i64, i64::saturating_add);
            if total > 0 {
                1.0 / total as f64
            } else {
                0.0
            }
        })
        .collect()
}

/// The best move from the state `used`/`at`, if one lowers the imbalance.
fn best_move(
    model: &Model,
    weights: &[f64],
    used: &[Vec<i64>],
    at: &[usize],
    moved: &[bool],
) -> Option<Move> {
    let mut best: Option<Move> = None;
    for (v, vm) in model.vms.iter().enumerate() {
        let from = at[v];
        if !vm.movable || moved[v] || !model.nodes[from].accepts {
            continue;
        }
        for to in 0..model.nodes.len() {
            if to == from || !may_go(model, used, at, v, to) {
                continue;
            }
            let gain = gain(model, weights, used, &vm.need, from, to);
            if gain > MIN_GAIN && best.is_none_or(|b| gain > b.gain + TIE) {
                best = Some(Move {
                    vm: v,
                    from,
                    to,
                    gain,
                });
            }
        }
    }
    best
}

/// Whether VM `v` may go to node `to`: the node accepts VMs, the VM's constraints allow it,
/// no VM it must stay apart from runs there, and (when enforced) it fits.
fn may_go(model: &Model, used: &[Vec<i64>], at: &[usize], v: usize, to: usize) -> bool {
    let vm = &model.vms[v];
    let node = &model.nodes[to];
    if !node.accepts || !vm.allowed.get(to).copied().unwrap_or(false) {
        return false;
    }
    if vm.apart.iter().any(|o| at.get(*o) == Some(&to)) {
        return false;
    }
    !model.enforce_capacity
        || vm
            .need
            .iter()
            .enumerate()
            .all(|(k, n)| *n <= 0 || used[to][k].saturating_add(*n) <= node.capacity[k])
}

/// How much moving a VM that needs `need` from `from` to `to` lowers the imbalance (negative:
/// it raises it).
fn gain(
    model: &Model,
    weights: &[f64],
    used: &[Vec<i64>],
    need: &[i64],
    from: usize,
    to: usize,
) -> f64 {
    let mut delta = 0.0;
    for (k, n) in need.iter().enumerate() {
        let (cs, ct) = (model.nodes[from].capacity[k], model.nodes[to].capacity[k]);
        if *n == 0 || weights[k] == 0.0 || cs <= 0 || ct <= 0 {
            continue;
        }
        let n = *n as f64;
        let (us, ut) = (used[from][k] as f64, used[to][k] as f64);
        let change = (n * n - 2.0 * us * n) / cs as f64 + (n * n + 2.0 * ut * n) / ct as f64;
        delta += weights[k] * change;
    }
    -delta
}

/// The spread of each name's used fraction over the nodes that accept VMs (highest minus
/// lowest, in percentage points) after `moves`: to show what a plan does.
pub fn spread(model: &Model, moves: &[Move]) -> Vec<(String, f64)> {
    let mut used: Vec<Vec<i64>> = model.nodes.iter().map(|n| n.used.clone()).collect();
    for m in moves {
        apply(&mut used, &model.vms[m.vm].need, m);
    }
    model
        .names
        .iter()
        .enumerate()
        .filter_map(|(k, name)| {
            let fractions: Vec<f64> = model
                .nodes
                .iter()
                .zip(&used)
                .filter(|(n, _)| n.accepts && n.capacity[k] > 0)
                .map(|(n, u)| u[k] as f64 * 100.0 / n.capacity[k] as f64)
                .collect();
            let hi = fractions.iter().copied().reduce(f64::max)?;
            let lo = fractions.iter().copied().reduce(f64::min)?;
            Some((name.clone(), hi - lo))
        })
        .collect()
}

#[cfg(test)]
#[path = "planner_tests.rs"]
mod tests;
