//! `rebalance [--dry-run] [--max-moves N]`: see [`crate::placement::rebalance`]. One move at a
//! time through [`move_vm`] (as `migrate`: preflight, a self-expiring move constraint removed
//! afterwards), asking Pacemaker again after each; a VM moves at most once per run.

use std::time::Duration;

use serde_json::json;

use crate::cli_balance::RebalanceArgs;
use crate::cluster::read_cluster;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::Outcome;
use crate::placement::moving::{move_vm, MoveOptions, MoveReport};
use crate::placement::rebalance::{plan, PlannedMove};

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
        let (cib, mon) = read_cluster(ctx)?;
        let moves = plan(&cib, &mon)?;
        return Ok(dry_run_outcome(&moves, max));
    }
    let opts = MoveOptions {
        offline: false,
        wait_for_shutdown: false,
        start_after: true,
        shutdown_timeout: Duration::ZERO,
        timeout: a.timeout.map(Duration::from_secs),
    };
    let mut done: Vec<MoveReport> = Vec::new();
    while done.len() < max {
        let (cib, mon) = read_cluster(ctx)?;
        let next = plan(&cib, &mon)?
            .into_iter()
            .find(|m| done.iter().all(|d| d.name != m.name));
        let Some(m) = next else {
            break;
        };
        ctx.progress
            .say(&format!("{}: {} → {} (rebalance)", m.name, m.from, m.to));
        done.push(move_vm(ctx, &m.name, &m.to, &opts)?);
    }
    let mut text = String::new();
    for r in &done {
        text.push_str(&format!(
            "{}: migrated ({}) from {} to {} in {:.1}s\n",
            r.name,
            r.how,
            r.from.as_deref().unwrap_or("?"),
            r.to,
            r.seconds
        ));
    }
    if done.is_empty() {
        text.push_str("Balanced: no VM to move.\n");
    }
    Ok(Outcome::new(json!({"dry_run": false, "moves": done}), text))
}

fn dry_run_outcome(moves: &[PlannedMove], max: usize) -> Outcome {
    let (now, later) = moves.split_at(moves.len().min(max));
    let mut text = "Dry run of rebalance: nothing was changed.\n".to_owned();
    if moves.is_empty() {
        text.push_str("Balanced: no VM to move.\n");
    }
    for m in now {
        text.push_str(&format!(
            "would migrate {} from {} to {} (live)\n",
            m.name, m.from, m.to
        ));
    }
    if !later.is_empty() {
        text.push_str(&format!(
            "{} more move(s) beyond --max-moves {max}\n",
            later.len()
        ));
    }
    Outcome::new(
        json!({"dry_run": true, "moves": now, "beyond_max_moves": later}),
        text,
    )
}
