//! `stop -n NAME [--force]`: target-role Stopped in one transaction, then wait until stopped.
//! `--force` also sets the domain's `force_stop=true` in the same transaction (an immediate
//! power-off instead of a guest shutdown) and puts the previous value back once stopped.

use serde_json::json;
use shared::pacemaker::Edit;

use crate::ctx::Ctx;
use crate::error::Result;
use crate::fragment::{set_param, set_target_role};
use crate::output::Outcome;
use crate::state::VmState;
use crate::vm::VmIds;

/// Runs `stop`.
pub fn run(ctx: &Ctx, name: &str, force: bool) -> Result<Outcome> {
    let (cib, _) = crate::cluster::read_cluster(ctx)?;
    if !crate::fragment::in_cib(cib.element(), name) {
        return Err(crate::cluster::not_enabled(ctx, name));
    }
    // Before the first write: a VM whose op timeouts cannot be read is refused here.
    let budget = crate::cluster::wait_budget(&cib, name, "stop")?;
    let domain = VmIds::new(name).domain();
    let change = crate::cluster::change(ctx, |_cib, tree| {
        let mut changed = set_target_role(tree, name, "Stopped")?;
        let mut old = None;
        if force {
            old = set_param(tree, name, &domain, "force_stop", "true")?;
            changed |= old.as_deref() != Some("true");
        }
        Ok(if changed {
            Edit::Change(old)
        } else {
            Edit::Unchanged(old)
        })
    })?;
    if ctx.dry_run {
        return Ok(crate::output::dry_run_outcome(
            name,
            "stop",
            &[],
            change.patch.as_deref(),
        ));
    }
    let st = crate::cluster::wait_state(ctx, name, VmState::Stopped, budget);
    if force {
        let old = change.value.unwrap_or_else(|| "false".into());
        if old != "true" {
            crate::cluster::change(ctx, |_cib, tree| {
                set_param(tree, name, &domain, "force_stop", &old)?;
                Ok(Edit::Change(()))
            })?;
        }
    }
    let st = st?;
    Ok(crate::output::state_outcome(
        "stop",
        &st.name,
        st.state,
        st.node.as_deref(),
        json!({"changed": change.applied}),
    ))
}
