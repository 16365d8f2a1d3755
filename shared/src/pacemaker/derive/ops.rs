//! One resource's state on one node, from the operations the node's controller recorded for it
//! (an `lrm_resource` and its `lrm_rsc_op`s).
//!
//! Only histories made of completed `start`, `stop`, probes, successful recurring monitors and
//! completed live migrations are read; anything else is [`Undecided`].

use super::Undecided;
use crate::xml::Element;

/// What the history says of the resource on that node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OnNode {
    /// Active there.
    Running,
    /// Not active there.
    Stopped,
}

/// The operations Pacemaker records that this reading understands.
const KNOWN: [&str; 5] = ["start", "stop", "monitor", "migrate_to", "migrate_from"];

/// One recorded operation, checked.
struct Op<'a> {
    operation: &'a str,
    interval_ms: u64,
    call_id: i64,
    rc: i32,
}

/// The state of the resource whose history on one node is `rsc` (an `lrm_resource`).
///
/// The state comes from the one-shot operation with the highest call id (the node's executor
/// numbers its calls in order): a successful start or incoming migration, or a probe that found
/// it running, is Running; a successful stop, or a probe that found it not running, is Stopped.
/// Undecided: a failure on record, a pending or unfinished operation, a result other than the
/// one the transition expected, an operation other than start/stop/monitor/migrate_*, an
/// outgoing migration as the last operation (a migration in progress or half done), a
/// recurring monitor run after the operation that stopped it, or records it cannot read.
pub(super) fn state_on_node(rsc: &Element) -> Result<OnNode, Undecided> {
    let id = rsc.attr("id").unwrap_or("");
    let undecided = |why: &str| Undecided::new(format!("history of {id}: {why}"));
    let mut last: Option<Op> = None;
    let mut newest_recurring: Option<i64> = None;
    for e in rsc.children_named("lrm_rsc_op") {
        let op = read_op(e).map_err(|why| undecided(&why))?;
        if op.interval_ms > 0 {
            newest_recurring = newest_recurring.max(Some(op.call_id));
            continue;
        }
        match &last {
            Some(l) if l.call_id == op.call_id => return Err(undecided("two calls with one id")),
            Some(l) if l.call_id > op.call_id => {}
            _ => last = Some(op),
        }
    }
    let Some(last) = last else {
        return Err(undecided("no completed one-shot operation"));
    };
    let state = match (last.operation, last.rc) {
        ("start" | "migrate_from", 0) | ("monitor", 0) => OnNode::Running,
        ("stop", 0) | ("monitor", 7) => OnNode::Stopped,
        ("migrate_to", _) => return Err(undecided("a live migration is not finished")),
        _ => return Err(undecided("an unexpected last result")),
    };
    // A recurring monitor older than the last one-shot operation is a record of before it
    // (a stop leaves the old monitor's record); a newer one on a stopped resource is not
    // understood.
    if state == OnNode::Stopped && newest_recurring.is_some_and(|c| c >= last.call_id) {
        return Err(undecided("a recurring monitor after the stop"));
    }
    Ok(state)
}

/// Reads and checks one `lrm_rsc_op`: completed (`op-status` 0, a call id), a known operation,
/// and the result the transition expected (a probe may find the resource running or not; any
/// other operation must succeed; a recorded failure is only understood when it is a probe that
/// found the resource running).
fn read_op(e: &Element) -> Result<Op<'_>, String> {
    let id = e.attr("id").unwrap_or("");
    if e.attr("op-status") != Some("0") {
        return Err(format!("{id} is pending or did not complete"));
    }
    let operation = e.attr("operation").unwrap_or("");
    if !KNOWN.contains(&operation) {
        return Err(format!("{id}: operation {operation:?}"));
    }
    let number = |name: &str| e.attr(name).and_then(|v| v.parse::<i64>().ok());
    let call_id = number("call-id")
        .filter(|c| *c >= 0)
        .ok_or_else(|| format!("{id}: no call id"))?;
    let interval_ms = e
        .attr("interval")
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| format!("{id}: interval"))?;
    let rc = number("rc-code")
        .and_then(|r| i32::try_from(r).ok())
        .ok_or_else(|| format!("{id}: no rc-code"))?;
    // transition-key = "ACTION:TRANSITION:TARGET_RC:UUID".
    let expected = e
        .attr("transition-key")
        .and_then(|k| k.split(':').nth(2))
        .and_then(|t| t.parse::<i32>().ok())
        .ok_or_else(|| format!("{id}: no expected result"))?;
    let probe = operation == "monitor" && interval_ms == 0;
    if interval_ms > 0 && operation != "monitor" {
        return Err(format!("{id}: recurring {operation}"));
    }
    let understood = if probe {
        rc == 0 || rc == 7
    } else {
        rc == 0 && expected == 0
    };
    if !understood {
        return Err(format!("{id}: rc {rc}, expected {expected}"));
    }
    // The controller records any result other than the expected one as the last failure; of
    // those, only a probe that found the resource running (after a cleanup of a running
    // resource: rc 0 where 7 was expected) is no failure for Pacemaker.
    if id.ends_with("_last_failure_0") && !(probe && rc == 0) {
        return Err(format!("{id}: a failure is recorded"));
    }
    Ok(Op {
        operation,
        interval_ms,
        call_id,
        rc,
    })
}
