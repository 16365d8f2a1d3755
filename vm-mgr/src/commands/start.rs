//! `start -n NAME`: target-role Started in one transaction, then wait until it runs.

use serde_json::json;

use crate::ctx::Ctx;
use crate::error::Result;
use crate::output::Outcome;
use crate::state::VmState;

/// Runs `start`.
pub fn run(ctx: &Ctx, name: &str) -> Result<Outcome> {
    let (cib, _) = super::read_cluster(ctx)?;
    if !crate::fragment::in_cib(cib.element(), name) {
        return Err(super::not_enabled(ctx, name));
    }
    let change = super::set_role(ctx, name, "Started")?;
    if ctx.dry_run {
        return Ok(super::dry_run_outcome(
            name,
            "start",
            &[],
            change.patch.as_deref(),
        ));
    }
    let budget = super::wait_budget(&cib, name, "start");
    let st = super::wait_state(ctx, name, VmState::Started, budget)?;
    Ok(super::state_outcome(
        "start",
        &st,
        json!({"changed": change.applied}),
    ))
}
