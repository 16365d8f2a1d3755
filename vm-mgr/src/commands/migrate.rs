//! `migrate -n VM --node NODE [--offline [--wait-for-shutdown] [--start-after-migration=B]]`:
//! see [`crate::placement::moving`]. With `--dry-run` it prints the preflight, the move
//! constraint's patch and what Pacemaker would do, and changes nothing.

use std::time::Duration;

use serde_json::json;

use crate::cli_placement::MigrateArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::Outcome;
use crate::placement::moving::{move_vm, MoveOptions, MoveReport};

/// The options of a migrate command line.
pub fn options(a: &MigrateArgs) -> MoveOptions {
    MoveOptions {
        offline: a.offline,
        wait_for_shutdown: a.wait_for_shutdown,
        start_after: !a.offline || a.start_after_migration,
        shutdown_timeout: Duration::from_secs(a.shutdown_timeout),
        timeout: a.timeout.map(Duration::from_secs),
    }
}

/// Runs `migrate`.
pub fn run(ctx: &Ctx, a: &MigrateArgs) -> Result<Outcome> {
    crate::vm::validate_node_name(&a.node)?;
    if ctx.offline && !ctx.dry_run {
        return Err(Error::invalid(
            "migrate needs the live cluster (nothing would move in a CIB file); add --dry-run \
             to preview it on --cib-file.",
        ));
    }
    let r = move_vm(ctx, &a.name, &a.node, &options(a))?;
    Ok(outcome(&r, ctx.dry_run))
}

/// The outcome of a move, for migrate and undrain.
pub fn outcome(r: &MoveReport, dry_run: bool) -> Outcome {
    let mut json = serde_json::to_value(r).unwrap_or_else(|_| json!({}));
    if let Some(o) = json.as_object_mut() {
        o.insert("dry_run".into(), json!(dry_run));
    }
    let from = r.from.as_deref().unwrap_or("nowhere (stopped)");
    let mut text = String::new();
    if dry_run {
        text.push_str(&format!(
            "Dry run of migrate for {}: nothing was changed.\nPreflight: ok ({} migration from {from} to {})\n",
            r.name, r.how, r.to
        ));
        for w in &r.warnings {
            text.push_str(&format!("  warning: {}\n", w.message));
        }
        match &r.cib_patch {
            Some(p) => text.push_str(&format!("CIB patch:\n{p}")),
            None => text.push_str("CIB patch: none\n"),
        }
        text.push_str("Pacemaker would:\n");
        for a in &r.simulated_actions {
            text.push_str(&format!("  - {a}\n"));
        }
        return Outcome::new(json, text);
    }
    let on = r
        .node
        .as_deref()
        .map(|n| format!(" on {n}"))
        .unwrap_or_default();
    if r.how == "none" {
        text = format!("{}: already {}{on}; nothing to do\n", r.name, r.state);
    } else {
        text = format!(
            "{}: migrate ({}): {}{on}, from {from} in {:.1}s\n",
            r.name, r.how, r.state, r.seconds
        );
    }
    Outcome::new(json, text)
}
