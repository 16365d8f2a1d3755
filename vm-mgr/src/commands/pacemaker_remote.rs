//! `add-pacemaker-remote -n VM [--remote-name NAME] [--remote-address ADDR] [--remote-port N]
//! [--remote-timeout T]` and `remove-pacemaker-remote -n VM` (SEAPATH's `add_pacemaker_remote`
//! and `remove_pacemaker_remote`): make the VM a Pacemaker guest node, or a plain VM again.
//! The domain resource's `remote-node` meta attributes ([`crate::guest_node`]) are set or
//! removed in one CIB transaction (a disabled VM's kept fragment is edited instead), and the
//! VM's stored settings follow. Adding needs the cluster's Pacemaker Remote key on this node
//! (refused with exit 7 otherwise); the output says how to install it in the guest.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use shared::pacemaker::Edit;

use crate::cli_guest::AddPacemakerRemoteArgs;
use crate::cluster::wait::{Look, Waited};
use crate::ctx::Ctx;
use crate::error::{Error, Result, EXIT_REFUSED};
use crate::fragment;
use crate::guest_node::{self, GuestNode, AUTHKEY};
use crate::output::Outcome;
use crate::steps::stored;

/// The key Pacemaker Remote connections are authenticated with is missing on this node.
#[derive(Debug, thiserror::Error)]
#[error(
    "This node has no Pacemaker Remote key {} ({detail}), so the cluster could not connect to \
     the guest; nothing was changed. Make one key and give it to every cluster node and every \
     guest (owner root, group haclient, mode 0640): dd if=/dev/urandom of={} bs=4096 count=1",
    .path.display(), .path.display()
)]
pub struct NoAuthkey {
    path: PathBuf,
    detail: String,
}

/// Where Pacemaker reads its Remote key: `PCMK_authkey_location` (Pacemaker's own setting),
/// else `/etc/pacemaker/authkey`.
fn authkey_path() -> PathBuf {
    std::env::var_os("PCMK_authkey_location")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from(AUTHKEY), PathBuf::from)
}

/// Checks that this node has the key (a non-empty file). Not checked on a CIB file: the
/// cluster it will go to is not this machine's. `Some(path)` when it was checked.
fn check_authkey(ctx: &Ctx) -> Result<Option<PathBuf>> {
    if ctx.offline {
        return Ok(None);
    }
    let path = authkey_path();
    let detail = match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.len() > 0 => return Ok(Some(path)),
        Ok(m) if m.is_file() => "it is empty".to_owned(),
        Ok(_) => "it is not a file".to_owned(),
        Err(e) => e.to_string(),
    };
    Err(Error::Below {
        code: EXIT_REFUSED,
        source: Box::new(NoAuthkey { path, detail }),
    })
}

/// How to put the key into the guest (the text output of `add-pacemaker-remote`).
fn install_hint(key: &str, guest: &GuestNode) -> String {
    let host = guest.address.as_deref().unwrap_or(&guest.name);
    format!(
        "The guest needs the cluster's key and pacemaker_remote running (before the connect \
         timeout, or Pacemaker restarts the VM):\n  scp -p {key} root@{host}:{AUTHKEY}   \
         # owner root, group haclient, mode 0640\n  ssh root@{host} systemctl enable --now \
         pacemaker_remote\n"
    )
}

/// What a guest node edit did.
struct Applied {
    changed: bool,
    patch: Option<String>,
    enabled: bool,
}

/// Sets (or removes, with `None`) VM `name`'s guest node: in the CIB when the VM is enabled,
/// in its kept fragment when it is disabled; then in its settings. `before` runs once the VM
/// is known to exist, before anything is written.
fn apply(
    ctx: &Ctx,
    name: &str,
    guest: Option<&GuestNode>,
    before: impl FnOnce() -> Result<()>,
) -> Result<Applied> {
    let (cib, _) = crate::cluster::read_cluster(ctx)?;
    let enabled = fragment::in_cib(cib.element(), name);
    if !enabled && crate::cluster::in_storage(ctx, name)? != Some(true) {
        return Err(Error::NoSuchVm {
            name: name.to_owned(),
        });
    }
    before()?;
    let edit = |tree: &mut shared::xml::Element| fragment::set_guest_node(tree, name, guest);
    let applied = if enabled {
        let change = crate::cluster::change(ctx, |_cib, tree| {
            Ok(if edit(tree)? {
                Edit::Change(())
            } else {
                Edit::Unchanged(())
            })
        })?;
        Applied {
            changed: change.applied || change.patch.is_some(),
            patch: change.patch,
            enabled,
        }
    } else {
        if let Some(g) = guest {
            // The kept fragment alone cannot say whether the name is free in the cluster.
            fragment::check_guest_name(cib.element(), name, &g.name)?;
        }
        Applied {
            changed: stored::edit_fragment(ctx, name, &edit)?,
            patch: None,
            enabled,
        }
    };
    stored::update_settings(ctx, name, |s| s.guest_node = guest.cloned())?;
    Ok(applied)
}

/// Runs `add-pacemaker-remote`.
pub fn add(ctx: &Ctx, a: &AddPacemakerRemoteArgs) -> Result<Outcome> {
    let name = a.name.as_str();
    let guest = GuestNode {
        name: a
            .remote_name
            .clone()
            .unwrap_or_else(|| GuestNode::default_name(name)),
        address: a.remote_address.clone(),
        port: a.remote_port,
        connect_timeout: a.remote_timeout.clone(),
    };
    guest.validate()?;
    let mut key = None;
    let done = apply(ctx, name, Some(&guest), || {
        key = check_authkey(ctx)?;
        Ok(())
    })?;
    let key_text = key
        .as_ref()
        .map_or_else(|| AUTHKEY.to_owned(), |p| p.display().to_string());
    let authkey = json!({"path": key_text, "checked": key.is_some()});
    if ctx.dry_run {
        let mut out = crate::output::dry_run_outcome(
            name,
            "add-pacemaker-remote",
            &stored_actions(&done, name),
            done.patch.as_deref(),
        );
        if let Some(o) = out.json.as_object_mut() {
            o.insert("guest_node".into(), json!(guest));
            o.insert("authkey".into(), authkey);
        }
        return Ok(out);
    }
    let (_, mon) = crate::cluster::read_cluster(ctx)?;
    let view = guest_node::view(&guest, &mon);
    let text = format!(
        "{name}: guest node {}{}{} ({}){}\n{}",
        guest.name,
        guest
            .address
            .as_deref()
            .map(|a| format!(" at {a}"))
            .unwrap_or_default(),
        guest.port.map(|p| format!(":{p}")).unwrap_or_default(),
        view["state"].as_str().unwrap_or("unknown"),
        unchanged(&done),
        install_hint(&key_text, &guest),
    );
    Ok(Outcome::new(
        json!({
            "name": name,
            "guest_node": view,
            "enabled": done.enabled,
            "changed": done.changed,
            "authkey": authkey,
        }),
        text,
    ))
}

/// Runs `remove-pacemaker-remote`.
pub fn remove(ctx: &Ctx, name: &str) -> Result<Outcome> {
    let (cib, _) = crate::cluster::read_cluster(ctx)?;
    let was = fragment::guest_node_of(cib.element(), name);
    let done = apply(ctx, name, None, || Ok(()))?;
    if ctx.dry_run {
        return Ok(crate::output::dry_run_outcome(
            name,
            "remove-pacemaker-remote",
            &stored_actions(&done, name),
            done.patch.as_deref(),
        ));
    }
    let purged = match &was {
        Some(g) if done.changed && !ctx.offline => purge(ctx, &g.name)?,
        _ => false,
    };
    let mut text = match (&was, done.changed) {
        (Some(g), true) => format!("{name}: no longer a guest node (was {})\n", g.name),
        (None, true) => format!("{name}: no longer a guest node\n"),
        (_, false) => format!("{name}: not a guest node (unchanged)\n"),
    };
    if let (Some(g), true, false) = (&was, done.changed, purged || ctx.offline) {
        text.push_str(&format!(
            "  {} is still listed by crm_mon (its resources still stopping?); once it is gone: \
             crm_node --force --remove={}\n",
            g.name, g.name
        ));
    }
    Ok(Outcome::new(
        json!({
            "name": name,
            "removed": was.map(|g| g.name),
            "enabled": done.enabled,
            "changed": done.changed,
            "purged": purged,
        }),
        text,
    ))
}

/// How long `remove-pacemaker-remote` waits for the guest node to leave (its resources stop
/// first, then its connection).
const LEAVE_BUDGET: Duration = Duration::from_secs(120);

/// Waits for guest node `node` to leave crm_mon's list and its connection to stop, then purges what the CIB keeps of it
/// (its status entry, which Pacemaker leaves behind). Whether it was purged (false: still
/// listed when the budget ran out).
fn purge(ctx: &Ctx, node: &str) -> Result<bool> {
    let gone = crate::cluster::wait::poll(ctx, LEAVE_BUDGET, Duration::from_secs(1), |_, mon| {
        // The connection resource (named after the node) stops after the node has left the
        // list; purged before that, the node's status entry is written again as it stops.
        Ok(
            if mon.node(node).is_none() && mon.where_running(node).is_empty() {
                Look::Done(true)
            } else {
                Look::NotYet(Ok(false))
            },
        )
    });
    match gone {
        Ok(true) => {
            ctx.tools.purge_node(node, ctx.cib_deadline())?;
            Ok(true)
        }
        Ok(false) | Err(Waited::Timeout { .. }) => Ok(false),
        Err(Waited::Failed(e)) => Err(e),
        Err(Waited::Interrupted) => Err(Error::Interrupted {
            during: format!("waiting for guest node {node} to leave"),
        }),
    }
}

/// The storage writes of a dry run (a disabled VM's fragment; the settings).
fn stored_actions(done: &Applied, name: &str) -> Vec<String> {
    let mut actions = Vec::new();
    if !done.enabled && done.changed {
        actions.push(format!(
            "change the CIB fragment kept for disabled VM {name}"
        ));
    }
    actions.push(format!("keep the guest node in the settings of VM {name}"));
    actions
}

fn unchanged(done: &Applied) -> &'static str {
    if done.changed {
        ""
    } else {
        " (unchanged)"
    }
}
