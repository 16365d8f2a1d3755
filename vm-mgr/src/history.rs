//! A VM's timeline for `history`, pure: events from three sources, in time order.
//!
//! - `vm-mgr`: vm-mgr's own changes to the VM, its [`crate::audit`] lines read back from the
//!   journal.
//! - `pacemaker`: the operation history of the VM's domain in the cluster status (`crm_mon
//!   --output-as=xml`'s `node_history`: starts, stops, migrations, with their result), and its
//!   failed actions (of the domain and of the disk guard). Pacemaker keeps the last operation
//!   of each kind per node, and forgets a node's history when the node is fenced: older
//!   operations are in Pacemaker's logs only.
//! - `fencing`: the fencer's history (`crm_mon`'s `fence_history`, what `stonith_admin
//!   --history` shows): every node's (see [`fencing_events`]), those holding an operation of
//!   the VM, or running it, marked.

use std::collections::BTreeSet;

use serde::Serialize;
use shared::journal::Entry;
use shared::pacemaker::ClusterStatus;

use crate::vm::VmIds;

/// One event of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Seconds since the epoch.
    pub time: i64,
    /// `vm-mgr`, `pacemaker` or `fencing`.
    pub source: &'static str,
    /// The node it happened on (for vm-mgr: the host that logged it).
    pub node: Option<String>,
    /// What happened: a vm-mgr verb, a Pacemaker operation (`start`, `migrate_to`, `failed
    /// stop`), or `fenced`.
    pub event: String,
    /// The rest: result, resource, arguments.
    pub detail: String,
}

/// vm-mgr's own changes to VM `name` among the journal `entries`.
pub fn vm_mgr_events(name: &str, entries: &[Entry]) -> Vec<Event> {
    entries
        .iter()
        .filter_map(|e| {
            let l = crate::audit::parse_line(&e.message)?;
            (l.vm == name).then(|| Event {
                time: i64::try_from(e.micros / 1_000_000).unwrap_or(i64::MAX),
                source: "vm-mgr",
                node: e.host.clone(),
                event: l.verb,
                detail: l.message,
            })
        })
        .collect()
}

/// Reads a time as Pacemaker prints it (`shared::clock::parse_pacemaker_time`; tests give a
/// fixed time zone).
pub type TimeParser = fn(&str) -> Option<i64>;

/// The operations (not the recurring monitors) and failures of VM `name` in `mon`, times read
/// with `time`.
pub fn pacemaker_events(name: &str, mon: &ClusterStatus, time: TimeParser) -> Vec<Event> {
    let ids = VmIds::new(name);
    let (domain, guard) = (ids.domain(), ids.guard());
    let mut out = Vec::new();
    for nh in &mon.node_history {
        for r in nh.resources.iter().filter(|r| r.id == domain) {
            for op in r.operations.iter().filter(|o| o.interval_ms == 0) {
                let Some(at) = op.last_rc_change.as_deref().and_then(time) else {
                    continue;
                };
                let took = op
                    .exec_time_ms
                    .map(|ms| format!(", {ms} ms"))
                    .unwrap_or_default();
                out.push(Event {
                    time: at,
                    source: "pacemaker",
                    node: Some(nh.node.clone()),
                    event: op.task.clone(),
                    detail: format!("{} ({}{took})", op.rc_text.as_deref().unwrap_or("?"), r.id),
                });
            }
        }
    }
    for f in mon.failures.iter().filter(|f| {
        let r = f.resource();
        r == domain || r == guard
    }) {
        let Some(at) = f.last_rc_change.as_deref().and_then(time) else {
            continue;
        };
        let task = f.task.clone().unwrap_or_else(|| f.op_key.clone());
        let reason = if f.exitreason.is_empty() {
            String::new()
        } else {
            format!(": {}", f.exitreason)
        };
        out.push(Event {
            time: at,
            source: "pacemaker",
            node: Some(f.node.clone()),
            event: format!("failed {task}"),
            detail: format!("{}{reason} ({})", f.exitstatus, f.resource()),
        });
    }
    out
}

/// The nodes VM `name` has a recorded operation on, or runs on.
pub fn nodes_of(name: &str, mon: &ClusterStatus, running: &[String]) -> BTreeSet<String> {
    let domain = VmIds::new(name).domain();
    mon.node_history
        .iter()
        .filter(|nh| nh.resources.iter().any(|r| r.id == domain))
        .map(|nh| nh.node.clone())
        .chain(running.iter().cloned())
        .collect()
}

/// Every fencing in `mon`'s fencing history (completed or failed; pending ones have no time
/// yet), those of `nodes` (the VM's) marked so. Every one, because Pacemaker forgets the
/// operations of a fenced node: which node ran the VM when it was fenced cannot always be
/// told from the cluster status.
pub fn fencing_events(
    nodes: &BTreeSet<String>,
    mon: &ClusterStatus,
    time: TimeParser,
) -> Vec<Event> {
    mon.fence_history
        .iter()
        .filter_map(|f| {
            let at = time(f.completed.as_deref()?)?;
            let ours = if nodes.contains(&f.target) {
                " (a node of the VM)"
            } else {
                ""
            };
            let by = f
                .delegate
                .as_deref()
                .map(|d| format!(" by {d}"))
                .unwrap_or_default();
            let asked = f
                .origin
                .as_deref()
                .map(|o| format!(", asked by {o}"))
                .unwrap_or_default();
            Some(Event {
                time: at,
                source: "fencing",
                node: Some(f.target.clone()),
                event: if f.status == "success" {
                    "fenced".to_owned()
                } else {
                    format!("fencing {}", f.status)
                },
                detail: format!("{} of {}{by}{asked}{ours}", f.action, f.target),
            })
        })
        .collect()
}

/// `events` from `since` on (seconds since the epoch), in time order; at one second, vm-mgr's
/// change first (it caused what follows), then fencing, then Pacemaker's operations.
pub fn timeline(mut events: Vec<Event>, since: Option<i64>) -> Vec<Event> {
    events.retain(|e| since.is_none_or(|s| e.time >= s));
    let rank = |s: &str| match s {
        "vm-mgr" => 0,
        "fencing" => 1,
        _ => 2,
    };
    events.sort_by_key(|e| (e.time, rank(e.source)));
    events
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
