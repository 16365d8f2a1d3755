//! The cluster, as the verbs and `placement` use it (floor 3): read it ([`read_cluster`], or
//! [`read_for_view`] for the verbs that only show it),
//! change it in one transaction ([`change`], [`set_role`]), wait for a VM's state with one
//! loop ([`wait::wait_state`], [`wait::wait_for`]), confirm a Stopped before anything is
//! deleted (`stopped`), and how long each wait may take ([`budget`]).

use shared::pacemaker::xml::Element;
use shared::pacemaker::{Cib, ClusterStatus, Edit, PendingPatch, Transaction};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment::FragmentError;
use crate::state::{status_of, VmStatus};
use crate::storage::StorageError;
use crate::vm::VmIds;

pub mod budget;
pub mod interrupt;
mod stopped;
pub mod wait;

pub use budget::{migrate_budget, parse_op_timeout, wait_budget, BudgetError};
pub use wait::{wait_for, wait_guest_off, wait_off_node, wait_state, Goal, Waited};

/// The result of a CIB change: applied, or only planned with `--dry-run`.
#[derive(Debug)]
pub struct Change<T> {
    /// What the edit returned.
    pub value: T,
    /// The patch (dry run), if something would change.
    pub patch: Option<String>,
    /// Whether a patch was applied.
    pub applied: bool,
}

/// Applies `edit` as one CIB transaction, or plans it with `--dry-run`.
pub fn change<T>(
    ctx: &Ctx,
    edit: impl FnMut(&Cib, &mut Element) -> Result<Edit<T>, FragmentError>,
) -> Result<Change<T>> {
    change_from(ctx, None, edit)
}

/// A first transaction attempt begun by a caller with other reads to do: the CIB it read (side
/// by side with a storage read) and the `cibadmin --patch` it started before all that.
pub type Begun = (Cib, PendingPatch);

/// Like [`change`], but the first attempt starts from `first` (see [`Begun`]); a concurrent
/// change since that read is caught by the same version check and retried from a fresh read.
pub fn change_from<T>(
    ctx: &Ctx,
    first: Option<Begun>,
    edit: impl FnMut(&Cib, &mut Element) -> Result<Edit<T>, FragmentError>,
) -> Result<Change<T>> {
    let tx = Transaction::new(&ctx.tools, ctx.cib_deadline());
    if ctx.dry_run {
        let plan = tx.plan(edit)?;
        return Ok(Change {
            value: plan.value,
            patch: plan.patch,
            applied: false,
        });
    }
    let (cib, patcher) = first.unzip();
    let done = tx.apply_with(cib, patcher, edit)?;
    Ok(Change {
        value: done.value,
        patch: None,
        applied: done.applied,
    })
}

/// Whether Pacemaker would take the change from `cib` to `new` (applied to a private copy of
/// `cib`, in a real run too): a check before work that would otherwise fail only at the patch.
/// Returns the patch it checked (`None`: nothing would change).
pub fn check(ctx: &Ctx, cib: &Cib, new: Element) -> Result<Option<String>> {
    Ok(Transaction::new(&ctx.tools, ctx.cib_deadline()).check(cib, new)?)
}

/// The CIB and the cluster status, read now: `cibadmin --query` and `crm_mon` run side by
/// side (on a 1,000-VM CIB they take 0.3 s and 0.5 s).
pub fn read_cluster(ctx: &Ctx) -> Result<(Cib, ClusterStatus)> {
    let deadline = ctx.cib_deadline();
    let tools = &ctx.tools;
    let (cib, mon) = std::thread::scope(|s| {
        let mon = s.spawn(|| tools.crm_mon_xml(deadline));
        let cib = tools.cib_query(deadline);
        (cib, mon.join())
    });
    let mon = mon.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    Ok((cib?, mon?))
}

/// The CIB and the cluster status for a verb that only shows them (`list`, `status`, `info`):
/// one `cibadmin --query`, and the status derived from it
/// ([`shared::pacemaker::derive::status_from_cib`]) when the CIB's history is plain; `crm_mon`
/// is run only when that derivation is undecided (an action in flight, a failure, a lost
/// node, ...). On a 1,000-VM CIB `crm_mon` costs about twice `cibadmin --query`, so the plain
/// case costs about half of [`read_cluster`]'s CPU (issues 17 and 19). The status is for
/// showing nodes and resources: it carries no history, fencing or summary counters.
pub fn read_for_view(ctx: &Ctx) -> Result<(Cib, ClusterStatus)> {
    let cib = ctx.tools.cib_query(ctx.cib_deadline())?;
    let mon = status_of_cib(ctx, &cib)?;
    Ok((cib, mon))
}

/// The cluster status for `cib`, a CIB just read: derived from it when its history is plain
/// ([`shared::pacemaker::derive::status_from_cib`]), else `crm_mon`'s. For what nodes and
/// resources are and where they run, not for history, fencing or counters ([`read_for_view`]).
pub fn status_of_cib(ctx: &Ctx, cib: &Cib) -> Result<ClusterStatus> {
    match shared::pacemaker::derive::status_from_cib(cib) {
        Ok(mon) => Ok(mon),
        Err(_undecided) => Ok(ctx.tools.crm_mon_xml(ctx.cib_deadline())?),
    }
}

/// Whether the VM's system image exists (`None` with `--no-storage`).
pub fn in_storage(ctx: &Ctx, name: &str) -> Result<Option<bool>> {
    if !ctx.storage.available() {
        return Ok(None);
    }
    Ok(Some(
        ctx.storage.image_exists(&VmIds::new(name).system_image())?,
    ))
}

/// The VM's status now.
pub fn current_status(ctx: &Ctx, name: &str) -> Result<VmStatus> {
    let (cib, mon) = read_cluster(ctx)?;
    let stored = in_storage(ctx, name)?;
    Ok(status_of(name, &cib, &mon, stored))
}

/// A storage "not found" on the VM's image means there is no such VM.
pub fn vm_storage_error(name: &str) -> impl Fn(StorageError) -> Error + '_ {
    move |e| match e {
        StorageError::NotFound { .. } => Error::NoSuchVm {
            name: name.to_owned(),
        },
        other => other.into(),
    }
}

/// Sets the VM group's target role in one transaction (an error if it is not in the CIB).
pub fn set_role(ctx: &Ctx, name: &str, role: &'static str) -> Result<Change<bool>> {
    change(ctx, |_cib, tree| {
        let changed = crate::fragment::set_target_role(tree, name, role)?;
        Ok(if changed {
            Edit::Change(true)
        } else {
            Edit::Unchanged(false)
        })
    })
}

/// Error for a VM that is not in the CIB: disabled (in storage) or unknown.
pub fn not_enabled(ctx: &Ctx, name: &str) -> Error {
    match in_storage(ctx, name) {
        Ok(Some(true)) => Error::invalid(format!(
            "VM {name} is disabled (not in the cluster); run `vm-mgr enable -n {name}` first."
        )),
        _ => Error::NoSuchVm {
            name: name.to_owned(),
        },
    }
}
