//! `enable -n NAME [--nostart]`: put the VM's CIB fragment, kept in RBD metadata (as create or
//! disable left it, constraints included), back into the cluster in one transaction, then wait
//! until it runs.

use crate::ctx::Ctx;
use crate::error::Result;
use crate::output::Outcome;
use crate::steps::enabling::{enable_fragment_from, stored_fragment};
use crate::vm::VmIds;

/// Runs `enable`.
///
/// The fragment (RBD metadata) and the CIB are read side by side: two independent round trips
/// to two daemons, the largest part of what enable costs; the `cibadmin --patch` that will
/// apply the change is started before both, so that it has loaded when the change is ready.
pub fn run(ctx: &Ctx, name: &str, nostart: bool) -> Result<Outcome> {
    let ids = VmIds::new(name);
    let tools = &ctx.tools;
    let deadline = ctx.cib_deadline();
    let patcher = (!ctx.dry_run)
        .then(|| tools.cib_patch_start(deadline))
        .transpose()?;
    let (meta, cib) = std::thread::scope(|s| {
        let cib = s.spawn(move || patcher.map(|p| tools.cib_query(deadline).map(|c| (c, p))));
        let meta = ctx.storage.meta_list(&ids.system_image());
        (meta, cib.join())
    });
    let begun = cib.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let meta = meta.map_err(crate::cluster::vm_storage_error(name))?;
    let fragment = stored_fragment(name, &meta, &ctx.ceph_access())?;
    Ok(
        enable_fragment_from(ctx, begun.transpose()?, name, &fragment, nostart)?
            .outcome(name, "enable"),
    )
}
