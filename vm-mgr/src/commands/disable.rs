//! `disable -n NAME`: stop the VM (and wait), keep its exact CIB fragment (resources and every
//! constraint naming them) in RBD metadata, and take it out of the CIB in one transaction.

use serde_json::json;
use shared::pacemaker::xml::Element;
use shared::pacemaker::{Cib, Edit};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment::{self, Fragment, FragmentError};
use crate::output::Outcome;
use crate::state::VmState;
use crate::vm::{VmIds, META_FRAGMENT};

/// Runs `disable`.
pub fn run(ctx: &Ctx, name: &str) -> Result<Outcome> {
    let ids = VmIds::new(name);
    let system = ids.system_image();
    let (cib, _) = crate::cluster::read_cluster(ctx)?;
    if !fragment::in_cib(cib.element(), name) {
        return match crate::cluster::in_storage(ctx, name)? {
            Some(true) => Ok(Outcome::new(
                json!({"name": name, "state": VmState::Disabled, "node": null, "changed": false}),
                format!("{name}: already disabled\n"),
            )),
            _ => Err(Error::NoSuchVm {
                name: name.to_owned(),
            }),
        };
    }
    // Before the first write: a VM whose op timeouts cannot be read is refused here.
    let stop_budget = crate::cluster::wait_budget(&cib, name, "stop")?;
    if !ctx.storage.image_exists(&system)? {
        return Err(Error::invalid(format!(
            "VM {name} has no image {} to keep its CIB fragment in; nothing was changed.",
            ctx.storage.image_label(&system)
        )));
    }
    let remove = |_: &Cib, tree: &mut Element| -> Result<Edit<Fragment>, FragmentError> {
        Ok(Edit::Change(fragment::remove(tree, name)?))
    };
    if ctx.dry_run {
        let plan = crate::cluster::change(ctx, remove)?;
        let actions = vec![
            format!("stop {name} (target-role Stopped) and wait until it is stopped"),
            format!(
                "keep the CIB fragment (constraints: {}) in metadata {META_FRAGMENT} of {}",
                plan.value.constraint_ids().join(", "),
                ctx.storage.image_label(&system)
            ),
        ];
        return Ok(crate::output::dry_run_outcome(
            name,
            "disable",
            &actions,
            plan.patch.as_deref(),
        ));
    }
    let removed = crate::steps::teardown::take_out(ctx, name, stop_budget, Some(&system))?;
    let kept = removed.constraint_ids();
    Ok(Outcome::new(
        json!({"name": name, "state": VmState::Disabled, "node": null, "changed": true, "constraints_kept": kept}),
        format!("{name}: disabled (kept constraints: {})\n", kept.join(", ")),
    ))
}
