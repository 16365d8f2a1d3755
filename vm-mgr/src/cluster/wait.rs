//! Waiting on the cluster: one loop ([`poll`]: read the cluster, look, stop at the budget,
//! pause, end early on Ctrl-C or SIGTERM) under every wait: a VM reaching a state or, for a
//! move, running on one node ([`wait_for`]: prints its state changes, gives up on a VM that
//! stays Failed for 15 s, confirms a Stopped before it counts: `stopped`), VMs leaving a node
//! ([`wait_off_node`]), a guest powering itself off ([`wait_guest_off`]). Budgets:
//! [`super::budget`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use shared::pacemaker::cib::history::unsettled_move;
use shared::pacemaker::{Cib, ClusterStatus};

use super::interrupt;
use super::read_cluster;
use super::stopped::{stopped_for_sure, Unconfirmed};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::state::{member_ids, status_of, VmState, VmStatus};

/// What a wait waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal<'a> {
    /// The VM in this state (a Stopped confirmed on one CIB snapshot).
    State(VmState),
    /// The VM Started on `node` and nowhere else (a move), asked for by the CIB element
    /// `held_by` (the move constraint): should that leave the CIB first, the wait ends.
    StartedOn { node: &'a str, held_by: &'a str },
}

impl Goal<'_> {
    /// The state waited for, for messages.
    fn wanted(&self) -> VmState {
        match self {
            Goal::State(s) => *s,
            Goal::StartedOn { .. } => VmState::Started,
        }
    }
}

/// Why a wait ended before its goal.
#[derive(Debug)]
pub enum Waited {
    /// SIGINT or SIGTERM ([`interrupt`]).
    Interrupted,
    /// The budget ran out: the state then (as the progress lines show it) and the node.
    Timeout { state: String, node: Option<String> },
    /// Reading the cluster failed, or the VM stayed Failed.
    Failed(Error),
}

/// Waits until the VM is in `wanted` state, printing state changes; fails on timeout, or when
/// it stays Failed for 15 s. With a CIB file nothing reacts, so it returns the status at once.
pub fn wait_state(ctx: &Ctx, name: &str, wanted: VmState, budget: Duration) -> Result<VmStatus> {
    match wait_for(ctx, name, Goal::State(wanted), budget, Instant::now()) {
        Ok(st) => Ok(st),
        Err(Waited::Timeout { state, node }) => Err(Error::Timeout {
            name: name.to_owned(),
            wanted: wanted.as_str(),
            state,
            node,
            waited: budget,
        }),
        Err(Waited::Failed(e)) => Err(e),
        Err(Waited::Interrupted) => Err(Error::Interrupted {
            during: format!("waiting for VM {name} to become {}", wanted.as_str()),
        }),
    }
}

/// What the progress lines track: the state, or (a move) the state and every node it is on.
fn progress(goal: Goal<'_>, st: &VmStatus) -> (String, String) {
    match goal {
        Goal::State(_) => {
            let on = st
                .node
                .as_deref()
                .map(|n| format!(" on {n}"))
                .unwrap_or_default();
            (st.state.to_string(), format!("{}{on}", st.state))
        }
        Goal::StartedOn { .. } => {
            let on = if st.nodes.is_empty() {
                String::new()
            } else {
                format!(" on {}", st.nodes.join("+"))
            };
            let now = format!("{}{on}", st.state);
            (now.clone(), now)
        }
    }
}

/// What one look at the cluster found.
pub enum Look<T> {
    /// The wait is over.
    Done(T),
    /// Not yet; should the budget be spent now, the wait ends with this.
    NotYet(Result<T, Waited>),
}

/// The one wait loop: reads the cluster and hands it to `look` until that is done, the budget
/// (counted from now) is spent, or SIGINT or SIGTERM arrives ([`Waited::Interrupted`], noticed
/// within a tenth of a second); it looks again `every` so long.
pub fn poll<T>(
    ctx: &Ctx,
    budget: Duration,
    every: Duration,
    mut look: impl FnMut(&Cib, &ClusterStatus) -> Result<Look<T>, Waited>,
) -> Result<T, Waited> {
    let began = Instant::now();
    loop {
        if interrupt::interrupted() {
            return Err(Waited::Interrupted);
        }
        let (cib, mon) = read_cluster(ctx).map_err(Waited::Failed)?;
        let on_timeout = match look(&cib, &mon)? {
            Look::Done(t) => return Ok(t),
            Look::NotYet(r) => r,
        };
        if interrupt::interrupted() {
            return Err(Waited::Interrupted);
        }
        if began.elapsed() >= budget {
            return on_timeout;
        }
        if interrupt::sleep(every) {
            return Err(Waited::Interrupted);
        }
    }
}

/// Waits for `goal` (see the module documentation); progress times count from `since`, the
/// budget from now.
pub fn wait_for(
    ctx: &Ctx,
    name: &str,
    goal: Goal<'_>,
    budget: Duration,
    since: Instant,
) -> Result<VmStatus, Waited> {
    let mut last: Option<String> = None;
    let mut failed_since: Option<Instant> = None;
    let mut told_unconfirmed = false;
    poll(ctx, budget, Duration::from_millis(250), |cib, mon| {
        let st = status_of(name, cib, mon, Some(true));
        if ctx.offline && matches!(goal, Goal::State(_)) {
            return Ok(Look::Done(st));
        }
        let mut unconfirmed: Option<Vec<String>> = None;
        match goal {
            Goal::State(VmState::Stopped) if st.state == VmState::Stopped => {
                match stopped_for_sure(ctx, name, cib, mon).map_err(Waited::Failed)? {
                    Unconfirmed::No => return Ok(Look::Done(st)),
                    Unconfirmed::On(nodes) => {
                        if !told_unconfirmed && !nodes.is_empty() {
                            ctx.progress.say(&format!(
                                "{name}: Stopped, waiting for the cluster to confirm it on {} \
                                 ({:.1}s)",
                                nodes.join(", "),
                                since.elapsed().as_secs_f64()
                            ));
                            told_unconfirmed = true;
                        }
                        unconfirmed = Some(nodes);
                    }
                }
            }
            Goal::State(wanted) if st.state == wanted => return Ok(Look::Done(st)),
            _ => {}
        }
        // A live move shows the VM started on the target alone a moment before the cluster
        // stops it on the source (and crm_mon then shows it Stopping): the move is done when
        // that stop is.
        let moved = match goal {
            Goal::StartedOn { node, .. } if st.state == VmState::Started && st.nodes == [node] => {
                Some(move_unsettled(cib, mon, name, node))
            }
            _ => None,
        };
        let (mut key, mut line) = progress(goal, &st);
        if let Some(Some(why)) = &moved {
            key.push_str(", finishing the move");
            line = format!("{line}, finishing the move ({why})");
        }
        if last.as_deref() != Some(key.as_str()) {
            ctx.progress.say(&format!(
                "{name}: {line} ({:.1}s)",
                since.elapsed().as_secs_f64()
            ));
            last = Some(key.clone());
        }
        if let Some(None) = moved {
            return Ok(Look::Done(st));
        }
        if let Goal::StartedOn { node, held_by } = goal {
            // Nothing asks for the move any more (e.g. the write landed in a partition
            // whose configuration the cluster replaced after the split heals): it would
            // never come, so waiting out the budget would only hide that.
            if cib.element().find_id(held_by).is_none() {
                return Err(Waited::Failed(Error::MoveLost {
                    name: name.to_owned(),
                    node: node.to_owned(),
                    constraint: held_by.to_owned(),
                    state: key,
                }));
            }
            if ctx.offline {
                return Ok(Look::Done(st));
            }
        }
        if st.state == VmState::Failed {
            let since = *failed_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(15) {
                return Err(Waited::Failed(Error::FailedWhileWaiting {
                    name: name.to_owned(),
                    wanted: goal.wanted().as_str(),
                    failures: st.failures,
                }));
            }
        } else {
            failed_since = None;
        }
        Ok(Look::NotYet(Err(Waited::Timeout {
            state: timed_out_state(goal, &st, key, unconfirmed),
            node: st.node,
        })))
    })
}

/// Waits until none of `vms` runs on `node` any more (or the budget is spent), printing each
/// VM's state changes; returns each VM's final state and node.
pub fn wait_off_node(
    ctx: &Ctx,
    node: &str,
    vms: &[String],
    budget: Duration,
) -> Result<BTreeMap<String, (VmState, Option<String>)>> {
    let start = Instant::now();
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    let waited = poll(ctx, budget, Duration::from_millis(500), |cib, mon| {
        let mut result = BTreeMap::new();
        let mut settled = true;
        for v in vms {
            let st = status_of(v, cib, mon, Some(true));
            let now = format!(
                "{}{}",
                st.state,
                st.node
                    .as_deref()
                    .map(|n| format!(" on {n}"))
                    .unwrap_or_default()
            );
            if last.get(v) != Some(&now) {
                ctx.progress.say(&format!(
                    "{v}: {now} ({:.1}s)",
                    start.elapsed().as_secs_f64()
                ));
                last.insert(v.clone(), now);
            }
            let busy = matches!(
                st.state,
                VmState::Migrating | VmState::Starting | VmState::Stopping
            );
            let finishing = st
                .node
                .as_deref()
                .is_some_and(|to| move_unsettled(cib, mon, v, to).is_some());
            if busy || finishing || st.nodes.iter().any(|n| n == node) {
                settled = false;
            }
            result.insert(v.clone(), (st.state, st.node));
        }
        Ok(if settled || ctx.offline {
            Look::Done(result)
        } else {
            Look::NotYet(Ok(result))
        })
    });
    waited.map_err(|w| match w {
        Waited::Failed(e) => e,
        Waited::Interrupted => Error::Interrupted {
            during: format!("waiting for the VMs to leave {node}"),
        },
        // A timeout returns the states.
        Waited::Timeout { .. } => Error::invalid("unreachable wait end"),
    })
}

/// Why VM `name`, started on `target` alone, is not yet settled there (a live move whose
/// source has not stopped it yet, an operation in flight), or `None`.
fn move_unsettled(cib: &Cib, mon: &ClusterStatus, name: &str, target: &str) -> Option<String> {
    let online: Vec<&str> = mon.online_nodes().map(|n| n.name.as_str()).collect();
    let members = member_ids(cib.element(), name);
    let ids: Vec<&str> = members.iter().map(String::as_str).collect();
    unsettled_move(cib.element(), &ids, target, &online)
}

/// Waits until domain resource `domain` runs nowhere (its guest powered itself off, or it
/// failed), looking every second. A timeout names the node it still runs on.
pub fn wait_guest_off(ctx: &Ctx, domain: &str, budget: Duration) -> Result<(), Waited> {
    let mut node = String::new();
    poll(ctx, budget, Duration::from_secs(1), |_cib, mon| {
        let rs = mon.resource(domain);
        if let Some(n) = rs.iter().flat_map(|r| r.nodes.iter()).next() {
            node = n.clone();
        }
        if rs.iter().all(|r| !r.active || r.failed) {
            return Ok(Look::Done(()));
        }
        Ok(Look::NotYet(Err(Waited::Timeout {
            state: "running".to_owned(),
            node: Some(node.clone()),
        })))
    })
}

/// The state a timeout reports: for a Stopped not yet confirmed, why.
fn timed_out_state(
    goal: Goal<'_>,
    st: &VmStatus,
    key: String,
    unconfirmed: Option<Vec<String>>,
) -> String {
    if let Goal::StartedOn { .. } = goal {
        return key;
    }
    match unconfirmed {
        Some(nodes) if !nodes.is_empty() => format!(
            "{} as crm_mon shows it, but not confirmed on {}",
            st.state,
            nodes.join(", ")
        ),
        Some(_) => format!(
            "{} as crm_mon shows it, but not on one CIB snapshot",
            st.state
        ),
        None => st.state.to_string(),
    }
}
