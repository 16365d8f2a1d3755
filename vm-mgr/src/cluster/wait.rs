//! The one wait loop: until a VM reaches a state (or, for a move, runs on one node), printing
//! its state changes, within a budget ([`super::budget`]), giving up on a VM that stays Failed
//! for 15 s. A Stopped is confirmed before it counts (`stopped`).

use std::time::{Duration, Instant};

use super::interrupt;
use super::read_cluster;
use super::stopped::{stopped_for_sure, Unconfirmed};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::state::{status_of, VmState, VmStatus};

/// What a wait waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal<'a> {
    /// The VM in this state (a Stopped confirmed on one CIB snapshot).
    State(VmState),
    /// The VM Started on this node and nowhere else (a move); Ctrl-C ends the wait.
    StartedOn(&'a str),
}

impl Goal<'_> {
    /// The state waited for, for messages.
    fn wanted(&self) -> VmState {
        match self {
            Goal::State(s) => *s,
            Goal::StartedOn(_) => VmState::Started,
        }
    }
}

/// Why a wait ended before its goal.
#[derive(Debug)]
pub enum Waited {
    /// SIGINT or SIGTERM ([`interrupt`]), for a [`Goal::StartedOn`] wait.
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
        // Only a move's wait is interruptible.
        Err(Waited::Interrupted) => Err(Error::Timeout {
            name: name.to_owned(),
            wanted: wanted.as_str(),
            state: "interrupted".to_owned(),
            node: None,
            waited: budget,
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
        Goal::StartedOn(_) => {
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

/// The one wait loop (see the module documentation); progress times count from `since`, the
/// budget from now.
pub fn wait_for(
    ctx: &Ctx,
    name: &str,
    goal: Goal<'_>,
    budget: Duration,
    since: Instant,
) -> Result<VmStatus, Waited> {
    let began = Instant::now();
    let mut last: Option<String> = None;
    let mut failed_since: Option<Instant> = None;
    let mut told_unconfirmed = false;
    loop {
        let (cib, mon) = read_cluster(ctx).map_err(Waited::Failed)?;
        let st = status_of(name, &cib, &mon, Some(true));
        if ctx.offline && matches!(goal, Goal::State(_)) {
            return Ok(st);
        }
        let mut unconfirmed: Option<Vec<String>> = None;
        match goal {
            Goal::State(VmState::Stopped) if st.state == VmState::Stopped => {
                match stopped_for_sure(ctx, name, &cib, &mon).map_err(Waited::Failed)? {
                    Unconfirmed::No => return Ok(st),
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
            Goal::State(wanted) if st.state == wanted => return Ok(st),
            _ => {}
        }
        let (key, line) = progress(goal, &st);
        if last.as_deref() != Some(key.as_str()) {
            ctx.progress.say(&format!(
                "{name}: {line} ({:.1}s)",
                since.elapsed().as_secs_f64()
            ));
            last = Some(key.clone());
        }
        if let Goal::StartedOn(target) = goal {
            if ctx.offline || (st.state == VmState::Started && st.nodes == [target]) {
                return Ok(st);
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
        if began.elapsed() >= budget {
            return Err(Waited::Timeout {
                state: timed_out_state(goal, &st, key, unconfirmed),
                node: st.node,
            });
        }
        pause(goal)?;
    }
}

/// The state a timeout reports: for a Stopped not yet confirmed, why.
fn timed_out_state(
    goal: Goal<'_>,
    st: &VmStatus,
    key: String,
    unconfirmed: Option<Vec<String>>,
) -> String {
    if let Goal::StartedOn(_) = goal {
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

/// Half a second between two reads; a move's wait ends early on Ctrl-C.
fn pause(goal: Goal<'_>) -> Result<(), Waited> {
    let step = Duration::from_millis(500);
    match goal {
        Goal::StartedOn(_) => {
            if interrupt::sleep(step) {
                return Err(Waited::Interrupted);
            }
        }
        Goal::State(_) => std::thread::sleep(step),
    }
    Ok(())
}
