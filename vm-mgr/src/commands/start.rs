//! `start -n NAME`: target-role Started in one transaction, then wait until it runs.

use serde_json::json;

use crate::ctx::Ctx;
use crate::error::Result;
use crate::output::Outcome;
use crate::state::VmState;

/// Runs `start`.
pub fn run(ctx: &Ctx, name: &str) -> Result<Outcome> {
    let (cib, _) = crate::cluster::read_cluster(ctx)?;
    if !crate::fragment::in_cib(cib.element(), name) {
        return Err(crate::cluster::not_enabled(ctx, name));
    }
    // Before the first write: a VM whose op timeouts cannot be read is refused here.
    let budget = crate::cluster::wait_budget(&cib, name, "start")?;
    let change = crate::cluster::set_role(ctx, name, "Started")?;
    if ctx.dry_run {
        return Ok(crate::output::dry_run_outcome(
            name,
            "start",
            &[],
            change.patch.as_deref(),
        ));
    }
    let st = crate::cluster::wait_state(ctx, name, VmState::Started, budget)?;
    Ok(crate::output::state_outcome(
        "start",
        &st.name,
        st.state,
        st.node.as_deref(),
        json!({"changed": change.applied}),
    ))
}
