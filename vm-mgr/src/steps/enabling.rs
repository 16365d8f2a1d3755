//! Putting a VM's CIB fragment into the cluster (one transaction) and waiting for it to run:
//! what `enable` does, and the last step of create, clone and import (which remove the VM
//! again when it fails). The result is typed ([`Enabled`]); each verb renders it in its words.

use std::collections::BTreeMap;

use serde_json::json;
use shared::pacemaker::Edit;

use super::teardown;
use crate::cluster::{self, Begun};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment::{self, CephAccess, Fragment};
use crate::output::{dry_run_outcome, state_outcome, Outcome};
use crate::state::{VmState, VmStatus};
use crate::vm::{Settings, VmIds, META_FRAGMENT, META_SETTINGS};

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

/// What enabling did (or, with `--dry-run`, would do).
#[derive(Debug)]
pub enum Enabled {
    /// `--dry-run`: the CIB patch.
    Planned { patch: Option<String> },
    /// The VM was in the CIB already; its status.
    Already(VmStatus),
    /// Put into the CIB: the VM's status now, and the constraints not restored (naming a
    /// resource that no longer exists).
    Done {
        status: VmStatus,
        dropped: Vec<String>,
    },
}

impl Enabled {
    /// The outcome, the VM's state reported as `NAME: <said>: STATE on NODE`.
    pub fn outcome(&self, name: &str, said: &str) -> Outcome {
        match self {
            Enabled::Planned { patch } => dry_run_outcome(name, "enable", &[], patch.as_deref()),
            Enabled::Already(st) => {
                let mut out = state_outcome(
                    "enable",
                    &st.name,
                    st.state,
                    st.node.as_deref(),
                    json!({"changed": false}),
                );
                out.text = format!("{name}: already enabled ({})\n", st.state);
                out
            }
            Enabled::Done { status, dropped } => state_outcome(
                said,
                &status.name,
                status.state,
                status.node.as_deref(),
                json!({"changed": true, "dropped_constraints": dropped}),
            ),
        }
    }

    /// The outcome for a VM that `verb` ("created", "imported", ...) has just made: the JSON
    /// gets `"<verb>": true`, the text says `NAME: <verb>: ...`.
    pub fn new_vm_outcome(&self, name: &str, verb: &str) -> Outcome {
        let mut out = self.outcome(name, verb);
        if let Some(o) = out.json.as_object_mut() {
            o.insert(verb.to_owned(), json!(true));
        }
        out
    }
}

/// Enables a VM just made (`what` says what, for the error): like [`enable_fragment`], but on
/// failure the whole VM is removed again ([`teardown::remove_vm`]), so nothing half-made is
/// left; `removed` is what the error then says ("the VM was removed again").
pub fn enable_or_remove(
    ctx: &Ctx,
    name: &str,
    fragment: &Fragment,
    nostart: bool,
    what: String,
    removed: &str,
) -> Result<Enabled> {
    enable_fragment(ctx, name, fragment, nostart).map_err(|e| {
        let _cleanup = crate::cluster::interrupt::cleanup();
        let undo = match teardown::remove_vm(ctx, name) {
            Ok(()) => removed.to_owned(),
            Err(u) => format!("removing it again failed too: {u}"),
        };
        Error::Undone {
            what,
            undo,
            source: Box::new(e),
        }
    })
}

/// Inserts `fragment` in one transaction and waits for the VM to start (unless `nostart`).
pub fn enable_fragment(
    ctx: &Ctx,
    name: &str,
    fragment: &Fragment,
    nostart: bool,
) -> Result<Enabled> {
    enable_fragment_from(ctx, None, name, fragment, nostart)
}

/// [`enable_fragment`], the transaction's first attempt starting from `first` if given.
pub fn enable_fragment_from(
    ctx: &Ctx,
    first: Option<Begun>,
    name: &str,
    fragment: &Fragment,
    nostart: bool,
) -> Result<Enabled> {
    // Before the first write: stored op timeouts that cannot be read are refused here.
    cluster::budget::check_resources(name, &fragment.resources)?;
    let role = if nostart { "Stopped" } else { "Started" };
    let change = cluster::change_from(ctx, first, |_cib, tree| {
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
        return Ok(Enabled::Planned {
            patch: change.patch,
        });
    }
    let Some((dropped, known)) = change.value else {
        return Ok(Enabled::Already(cluster::current_status(ctx, name)?));
    };
    for id in &dropped {
        ctx.progress.say(&format!(
            "warning: constraint {id} was not restored: a resource it names no longer exists"
        ));
    }
    let status = if let Some(tree) = known {
        crate::state::just_enabled_stopped(name, tree)?
    } else if nostart {
        // Every caller has just read or written the VM's system image: no `rbd info` to ask
        // whether it exists.
        let (cib, mon) = cluster::read_cluster(ctx)?;
        crate::state::status_of(name, &cib, &mon, Some(true))
    } else {
        let (cib, _) = cluster::read_cluster(ctx)?;
        cluster::wait_state(
            ctx,
            name,
            VmState::Started,
            cluster::wait_budget(&cib, name, "start")?,
        )?
    };
    Ok(Enabled::Done { status, dropped })
}
