//! `restore -n NAME`: bring the VM that `remove` moved to the RBD trash back, disabled (see
//! `steps::trash`); refused when a VM of that name exists. `enable` then puts its stored CIB
//! fragment back into the cluster.

use serde_json::json;

use crate::ctx::Ctx;
use crate::error::{Error, Result, EXIT_EXISTS};
use crate::output::Outcome;
use crate::state::VmState;
use crate::steps::{teardown, trash};
use crate::vm::VmIds;

/// Runs `restore`.
pub fn run(ctx: &Ctx, name: &str) -> Result<Outcome> {
    if !ctx.storage.available() {
        return Err(crate::storage::StorageError::Disabled.into());
    }
    match teardown::find(ctx, name) {
        Ok(_) => {
            return Err(Error::Below {
                code: EXIT_EXISTS,
                source: Box::new(Error::invalid(format!(
                    "A VM called {name} exists (in the CIB or in storage); remove it or rename \
                     it before restoring the removed one. Nothing was changed."
                ))),
            })
        }
        Err(Error::NoSuchVm { .. }) => {}
        Err(e) => return Err(e),
    }
    let vm = trash::find_removed(ctx, name)?.ok_or_else(|| Error::NoSuchVm {
        name: name.to_owned(),
    })?;
    let pool = ctx.storage.pool().to_owned();
    if ctx.dry_run {
        let mut actions: Vec<String> = vm
            .images
            .iter()
            .map(|e| {
                format!(
                    "restore image {pool}/{} (trash id {}) from the trash",
                    e.name, e.id
                )
            })
            .collect();
        actions.push(format!(
            "create group {pool}/{} and put back the images it held",
            VmIds::new(name).rbd_group()
        ));
        return Ok(crate::output::dry_run_outcome(
            name, "restore", &actions, None,
        ));
    }
    let restored = trash::restore(ctx, &vm)?;
    Ok(Outcome::new(
        json!({"name": name, "state": VmState::Disabled, "node": null, "restored_images": restored,
               "removed_at": shared::clock::utc_secs(u64::try_from(vm.deleted_at).unwrap_or(0))}),
        format!("{name}: restored from the trash, disabled (vm-mgr enable -n {name} starts it)\n"),
    ))
}
