//! `rebalance [--dry-run] [--max-moves N]`: vm-mgr's own plan
//! ([`crate::placement::rebalance`]) from the CIB and `crm_mon` it reads, then one move at a
//! time through [`move_vm`] (as `migrate`: preflight, Pacemaker's verdict on that move from
//! `crm_simulate`, a self-expiring move constraint removed afterwards), planning again from
//! the cluster as it is after each; a VM moves at most once per run. A move the preflight or
//! Pacemaker refuses is skipped (said, and that VM left out of the next plans).

use std::time::Duration;

use serde_json::json;

use crate::cli_balance::RebalanceArgs;
use crate::cluster::read_cluster;
use crate::ctx::Ctx;
use crate::error::{Error, Result, EXIT_REFUSED};
use crate::output::Outcome;
use crate::placement::moving::{move_vm, MoveOptions, MoveReport};
use crate::placement::rebalance::{plan, Plan};

/// Runs `rebalance`.
pub fn run(ctx: &Ctx, a: &RebalanceArgs) -> Result<Outcome> {
    if ctx.offline && !ctx.dry_run {
        return Err(Error::invalid(
            "rebalance needs the live cluster (nothing would move in a CIB file); add --dry-run \
             to preview it on --cib-file.",
        ));
    }
    let max = usize::try_from(a.max_moves).unwrap_or(usize::MAX);
    if ctx.dry_run {
        // A preview reads as `list` does (one cibadmin, crm_mon only when undecided); the
        // live run below reads with crm_mon every time, and Pacemaker checks each move.
        let (cib, mon) = crate::cluster::read_for_view(ctx)?;
        return Ok(dry_run_outcome(&plan(&cib, &mon, max, &[]), max));
    }
    let opts = MoveOptions {
        offline: false,
        wait_for_shutdown: false,
        start_after: true,
        shutdown_timeout: Duration::ZERO,
        timeout: a.timeout.map(Duration::from_secs),
    };
    let mut done: Vec<MoveReport> = Vec::new();
    let mut refused: Vec<(String, String)> = Vec::new();
    // Each refusal leaves a VM out, so this ends; at most `max` of them, as many as moves.
    while done.len() < max && refused.len() < max.max(1) {
        let (cib, mon) = read_cluster(ctx)?;
        let skip: Vec<String> = done
            .iter()
            .map(|d| d.name.clone())
            .chain(refused.iter().map(|r| r.0.clone()))
            .collect();
        let Some(m) = plan(&cib, &mon, 1, &skip).moves.into_iter().next() else {
            break;
        };
        ctx.progress
            .say(&format!("{}: {} → {} (rebalance)", m.name, m.from, m.to));
        match move_vm(ctx, &m.name, &m.to, &opts) {
            Ok(r) => done.push(r),
            Err(e) if e.exit_code() == EXIT_REFUSED => {
                ctx.progress
                    .say(&format!("warning: {e} (skipped; rebalance goes on)"));
                refused.push((m.name, e.to_string()));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(live_outcome(&done, &refused))
}

/// What a live run did.
fn live_outcome(done: &[MoveReport], refused: &[(String, String)]) -> Outcome {
    let mut text = String::new();
    for r in done {
        text.push_str(&format!(
            "{}: migrated ({}) from {} to {} in {:.1}s\n",
            r.name,
            r.how,
            r.from.as_deref().unwrap_or("?"),
            r.to,
            r.seconds
        ));
    }
    for (name, why) in refused {
        text.push_str(&format!("{name}: not moved: {why}\n"));
    }
    if done.is_empty() && refused.is_empty() {
        text.push_str("Balanced: no VM to move.\n");
    }
    let refused: Vec<_> = refused
        .iter()
        .map(|(name, why)| json!({"name": name, "reason": why}))
        .collect();
    Outcome::new(
        json!({"dry_run": false, "moves": done, "refused": refused}),
        text,
    )
}

fn dry_run_outcome(p: &Plan, max: usize) -> Outcome {
    let mut text = "Dry run of rebalance: nothing was changed.\n".to_owned();
    if let Some(why) = &p.held {
        text.push_str(&format!("Nothing may move: {why}.\n"));
    } else if p.moves.is_empty() && p.beyond_max_moves.is_empty() {
        text.push_str(&format!(
            "Balanced: no VM to move.\n{} VM(s) could have moved (auto, live-migratable, \
             running, not held by a constraint).\n",
            p.movable
        ));
    }
    for m in &p.moves {
        text.push_str(&format!(
            "would migrate {} from {} to {} (live)\n",
            m.name, m.from, m.to
        ));
    }
    if !p.beyond_max_moves.is_empty() {
        text.push_str(&format!(
            "more moves would follow beyond --max-moves {max}\n"
        ));
    }
    if !p.moves.is_empty() {
        for s in &p.spread {
            text.push_str(&format!(
                "spread of {} use between nodes: {:.1} → {:.1} points\n",
                s.name, s.before, s.after
            ));
        }
    }
    Outcome::new(
        json!({
            "dry_run": true,
            "moves": p.moves,
            "beyond_max_moves": p.beyond_max_moves,
            "spread": p.spread,
            "movable": p.movable,
            "held": p.held,
        }),
        text,
    )
}
