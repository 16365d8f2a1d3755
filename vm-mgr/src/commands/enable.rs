//! `enable -n NAME [--nostart]`: put the VM's CIB fragment, kept in RBD metadata (as create or
//! disable left it, constraints included), back into the cluster in one transaction, then wait
//! until it runs.

use std::collections::BTreeMap;

use serde_json::json;
use shared::pacemaker::Edit;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment::{self, CephAccess, Fragment};
use crate::output::Outcome;
use crate::state::VmState;
use crate::vm::{Settings, VmIds, META_FRAGMENT, META_SETTINGS};

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
    enable_fragment_from(ctx, begun.transpose()?, name, &fragment, nostart)
}

/// The fragment kept for VM `name`, or one built from its settings; its agents reach Ceph
/// through `ceph` (vm-mgr's own settings, with which `meta` was read) unless the fragment says
/// otherwise: a fragment stored by a vm-mgr that did not pass the Ceph settings on gets them
/// here ([`Fragment::fill_ceph`]).
pub fn stored_fragment(
    name: &str,
    meta: &BTreeMap<String, String>,
    ceph: &CephAccess,
) -> Result<Fragment> {
    if let Some(xml) = meta.get(META_FRAGMENT) {
        let mut f = Fragment::parse(xml, name).map_err(|e| Error::Stored {
            name: name.to_owned(),
            what: "CIB fragment",
            detail: e.to_string(),
        })?;
        f.fill_ceph(ceph);
        return Ok(f);
    }
    let Some(json) = meta.get(META_SETTINGS) else {
        return Err(Error::Stored {
            name: name.to_owned(),
            what: "metadata",
            detail: format!(
                "neither {META_FRAGMENT} nor {META_SETTINGS} is set (not made by vm-mgr?)"
            ),
        });
    };
    let settings = Settings::from_json(name, json)?;
    Ok(fragment::build(
        &VmIds::new(name),
        &settings,
        ceph,
        "Stopped",
    ))
}

/// Enables a VM that `verb` ("created", "imported", ...) has just stored: like
/// [`enable_fragment`], but on failure the whole VM is removed again, so nothing half-made is
/// left; the outcome's JSON gets `"<verb>": true` and its text says `NAME: <verb>: ...`.
pub fn enable_new_or_undo(
    ctx: &Ctx,
    name: &str,
    fragment: &Fragment,
    nostart: bool,
    verb: &str,
    what: String,
) -> Result<Outcome> {
    match enable_fragment(ctx, name, fragment, nostart) {
        Ok(mut out) => {
            if let Some(o) = out.json.as_object_mut() {
                o.insert(verb.to_owned(), serde_json::json!(true));
            }
            out.text = out.text.replacen(": enable:", &format!(": {verb}:"), 1);
            Ok(out)
        }
        Err(e) => {
            let undo = match super::remove::run(ctx, name) {
                Ok(_) => "the VM was removed again".to_owned(),
                Err(u) => format!("removing it again failed too: {u}"),
            };
            Err(Error::Undone {
                what,
                undo,
                source: Box::new(e),
            })
        }
    }
}

/// Inserts `fragment` in one transaction and waits for the VM to start (unless `nostart`).
pub fn enable_fragment(
    ctx: &Ctx,
    name: &str,
    fragment: &Fragment,
    nostart: bool,
) -> Result<Outcome> {
    enable_fragment_from(ctx, None, name, fragment, nostart)
}

/// [`enable_fragment`], the transaction's first attempt starting from `first` if given.
fn enable_fragment_from(
    ctx: &Ctx,
    first: Option<crate::cluster::Begun>,
    name: &str,
    fragment: &Fragment,
    nostart: bool,
) -> Result<Outcome> {
    let role = if nostart { "Stopped" } else { "Started" };
    let change = crate::cluster::change_from(ctx, first, |_cib, tree| {
        if fragment::in_cib(tree, name) {
            return Ok(Edit::Unchanged(None));
        }
        let dropped = fragment::insert(tree, fragment, role)?;
        // With --nostart and no operation history of the VM's resources anywhere, the state
        // is known without asking the cluster: see `state::just_enabled_stopped`.
        let known = (nostart && !crate::state::has_history(tree, name)).then(|| tree.clone());
        Ok(Edit::Change(Some((dropped, known))))
    })?;
    if ctx.dry_run {
        return Ok(crate::output::dry_run_outcome(
            name,
            "enable",
            &[],
            change.patch.as_deref(),
        ));
    }
    let Some((dropped, known)) = change.value else {
        let st = crate::cluster::current_status(ctx, name)?;
        let mut out = crate::output::state_outcome(
            "enable",
            &st.name,
            st.state,
            st.node.as_deref(),
            json!({"changed": false}),
        );
        out.text = format!("{name}: already enabled ({})\n", st.state);
        return Ok(out);
    };
    for id in &dropped {
        ctx.progress.say(&format!(
            "warning: constraint {id} was not restored: a resource it names no longer exists"
        ));
    }
    let st = if let Some(tree) = known {
        crate::state::just_enabled_stopped(name, tree)?
    } else if nostart {
        // Every caller has just read or written the VM's system image: no `rbd info` to ask
        // whether it exists.
        let (cib, mon) = crate::cluster::read_cluster(ctx)?;
        crate::state::status_of(name, &cib, &mon, Some(true))
    } else {
        let (cib, _) = crate::cluster::read_cluster(ctx)?;
        crate::cluster::wait_state(
            ctx,
            name,
            VmState::Started,
            crate::cluster::wait_budget(&cib, name, "start"),
        )?
    };
    Ok(crate::output::state_outcome(
        "enable",
        &st.name,
        st.state,
        st.node.as_deref(),
        json!({"changed": true, "dropped_constraints": dropped}),
    ))
}
