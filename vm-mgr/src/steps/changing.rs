//! What the verbs that change a VM after create share (`set-resources`, `set-options`,
//! `add-disk`): the VM's stored data, its CIB fragment edited where it lives (the CIB while the
//! VM is enabled, in one transaction; the fragment kept in storage while it is disabled, so that
//! `enable` brings the change), and libvirt on the node running the guest.

use std::collections::BTreeMap;
use std::time::Duration;

use shared::cmd::Cmd;
use shared::pacemaker::xml::Element;
use shared::pacemaker::Edit;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment::{self, Fragment, FragmentError};
use crate::state::VmState;
use crate::storage::StorageError;
use crate::vm::{Settings, VmIds, META_FRAGMENT, META_SETTINGS, META_XML};

/// Time limit of one libvirt call on the guest (`virsh setvcpus`, `attach-device` ...).
pub const LIVE_TIMEOUT: Duration = Duration::from_secs(60);

/// A VM as the change verbs find it.
#[derive(Debug)]
pub struct Vm {
    /// Its ids.
    pub ids: VmIds,
    /// The system image's metadata.
    pub meta: BTreeMap<String, String>,
    /// The stored domain XML (what the agent starts).
    pub xml: String,
    /// The stored settings.
    pub settings: Settings,
    /// Whether its fragment is in the CIB (enabled).
    pub in_cib: bool,
    /// The node it runs on, when it runs (Started).
    pub node: Option<String>,
    /// Its state.
    pub state: VmState,
}

/// Loads VM `name`: exit 3 when it is neither in the CIB nor in storage; refused while it is
/// migrating (what runs would not be what is changed).
pub fn load(ctx: &Ctx, name: &str) -> Result<Vm> {
    if !ctx.storage.available() {
        return Err(StorageError::Disabled.into());
    }
    let ids = VmIds::new(name);
    let (cib, mon) = crate::cluster::read_cluster(ctx)?;
    let exists = ctx.storage.image_exists(&ids.system_image())?;
    let status = crate::state::status_of(name, &cib, &mon, Some(exists));
    let in_cib = fragment::in_cib(cib.element(), name);
    if !exists {
        return Err(Error::NoSuchVm {
            name: name.to_owned(),
        });
    }
    if status.state == VmState::Migrating {
        return Err(Error::invalid(format!(
            "VM {name} is migrating; change it when the migration is over. Nothing was changed."
        )));
    }
    let meta = ctx
        .storage
        .meta_list(&ids.system_image())
        .map_err(crate::cluster::vm_storage_error(name))?;
    let stored = |key: &str, what: &'static str| {
        meta.get(key).cloned().ok_or_else(|| Error::Stored {
            name: name.to_owned(),
            what,
            detail: format!("metadata {key} is missing"),
        })
    };
    let xml = stored(META_XML, "domain XML")?;
    let settings = Settings::from_json(name, &stored(META_SETTINGS, "settings")?)?;
    let node = match status.state {
        VmState::Started => status.node.clone(),
        _ => None,
    };
    Ok(Vm {
        ids,
        meta,
        xml,
        settings,
        in_cib,
        node,
        state: status.state,
    })
}

/// What [`edit_fragment`] did.
#[derive(Debug)]
pub struct Edited {
    /// Whether anything changed.
    pub changed: bool,
    /// `--dry-run`: the CIB patch (enabled VM).
    pub patch: Option<String>,
    /// The edited fragment to store (disabled VM), written by [`store`].
    pub stored: Option<Fragment>,
}

/// An edit of a CIB tree holding the VM's fragment; whether it changed anything.
pub type FragmentEdit<'a> = dyn Fn(&mut Element) -> Result<bool, FragmentError> + 'a;

/// Applies `apply` to the VM's fragment: in one CIB transaction when it is enabled (planned
/// only with `--dry-run`), or to the stored fragment when disabled (returned, for [`store`]).
pub fn edit_fragment(ctx: &Ctx, vm: &Vm, apply: &FragmentEdit<'_>) -> Result<Edited> {
    let name = vm.ids.name();
    if vm.in_cib {
        let change = crate::cluster::change(ctx, |_cib, tree| {
            Ok(if apply(tree)? {
                Edit::Change(())
            } else {
                Edit::Unchanged(())
            })
        })?;
        return Ok(Edited {
            changed: change.applied || change.patch.is_some(),
            patch: change.patch,
            stored: None,
        });
    }
    let fragment = crate::steps::enabling::stored_fragment(name, &vm.meta, &ctx.ceph_access())?;
    let mut tree = fragment.scratch_cib();
    if !apply(&mut tree).map_err(Error::from)? {
        return Ok(Edited {
            changed: false,
            patch: None,
            stored: None,
        });
    }
    let edited = fragment::extract(&tree, name).ok_or_else(|| Error::Stored {
        name: name.to_owned(),
        what: "CIB fragment",
        detail: "it has no group".into(),
    })?;
    Ok(Edited {
        changed: true,
        patch: None,
        stored: Some(edited),
    })
}

/// The storage update of a change: the domain XML, settings and fragment that changed, on the
/// system image (nothing with `--dry-run`); the keys written.
pub fn store(
    ctx: &Ctx,
    vm: &Vm,
    xml: Option<&str>,
    settings: Option<&Settings>,
    fragment: Option<&Fragment>,
) -> Result<Vec<&'static str>> {
    let mut writes: Vec<(&'static str, String)> = Vec::new();
    if let Some(s) = settings.filter(|s| **s != vm.settings) {
        writes.push((META_SETTINGS, s.to_json()));
    }
    if let Some(f) = fragment {
        writes.push((META_FRAGMENT, f.to_xml()));
    }
    // The XML last, as create writes it: it is what the agent starts.
    if let Some(x) = xml.filter(|x| *x != vm.xml) {
        writes.push((META_XML, x.to_owned()));
    }
    for (k, v) in &writes {
        ctx.storage.check_meta(k, v)?;
    }
    if !ctx.dry_run {
        let image = vm.ids.system_image();
        for (k, v) in &writes {
            ctx.storage.meta_set(&image, k, v)?;
        }
    }
    Ok(writes.into_iter().map(|(k, _)| k).collect())
}

/// The storage update and the fragment edit of one change, in that order for an enabled VM
/// (storage first, then one CIB transaction), and as one storage update for a disabled one
/// (its edited fragment stored with the XML and settings): the keys written (or, with
/// `--dry-run`, that would be) and what the edit did.
pub fn commit(
    ctx: &Ctx,
    vm: &Vm,
    xml: Option<&str>,
    settings: &Settings,
    apply: &FragmentEdit<'_>,
) -> Result<(Vec<&'static str>, Edited)> {
    let stored = match vm.in_cib {
        true => None,
        false => Some(edit_fragment(ctx, vm, apply)?),
    };
    let fragment = stored.as_ref().and_then(|e| e.stored.as_ref());
    let keys = store(ctx, vm, xml, Some(settings), fragment)?;
    let edited = match stored {
        Some(e) => e,
        None => edit_fragment(ctx, vm, apply)?,
    };
    Ok((keys, edited))
}

/// The libvirt URI of the node running `vm` (see [`crate::steps::quiesce::node_uri`]).
pub fn node_uri(ctx: &Ctx, vm: &Vm, node: &str) -> String {
    let local = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    crate::steps::quiesce::node_uri(node, local.trim(), &vm.settings, ctx)
}

/// Runs `virsh -q -c URI ARGS...` within `timeout`; the error is libvirt's message.
pub fn virsh(uri: &str, args: &[&str], timeout: Duration) -> std::result::Result<(), String> {
    Cmd::new("virsh")
        .args(["-q", "-c", uri])
        .args(args.iter().copied())
        .timeout(timeout)
        .run()
        .map(drop)
        .map_err(|e| match e {
            shared::cmd::CmdError::Failed { stderr, .. } => stderr
                .lines()
                .map(|l| l.trim().trim_start_matches("error: "))
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        })
}

/// `virsh attach-device --live` of device `xml` to domain `name`, the XML given in a private
/// file; the error is libvirt's message.
pub fn attach(uri: &str, name: &str, xml: &str) -> std::result::Result<(), String> {
    live_device(uri, "attach-device", name, xml)
}

/// `virsh detach-device --live` of device `xml` from domain `name` (libvirt waits for the
/// guest to release it); the error is libvirt's message.
pub fn detach(uri: &str, name: &str, xml: &str) -> std::result::Result<(), String> {
    live_device(uri, "detach-device", name, xml)
}

/// The target devices of domain `name`'s disks (`virsh -q domblklist`), to see a detach done:
/// libvirt returns once the guest was asked, and a guest without an OS answering the unplug
/// keeps the disk.
pub fn disk_targets(uri: &str, name: &str) -> std::result::Result<Vec<String>, String> {
    let out = Cmd::new("virsh")
        .args(["-q", "-c", uri, "domblklist", "--", name])
        .timeout(LIVE_TIMEOUT)
        .run()
        .map_err(|e| e.to_string())?;
    Ok(targets_of(&out.stdout_str()))
}

/// The first column of `virsh -q domblklist` (` vda      rbd/system_web1`).
pub fn targets_of(domblklist: &str) -> Vec<String> {
    domblklist
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn live_device(uri: &str, verb: &str, name: &str, xml: &str) -> std::result::Result<(), String> {
    let dir = shared::tempdir::PrivateDir::new("vmmgr-device").map_err(|e| e.to_string())?;
    let path = dir.write("device.xml", xml).map_err(|e| e.to_string())?;
    let file = path.to_string_lossy();
    virsh(
        uri,
        &[verb, "--live", "--file", &file, "--", name],
        LIVE_TIMEOUT,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn domblklist_targets() {
        // `virsh -q domblklist` of the sandbox guest with a data disk (libvirt 9).
        let out = " vda      rbd/system_ch1\n vdb      rbd/data_ch1_0\n";
        assert_eq!(super::targets_of(out), ["vda", "vdb"]);
        assert!(super::targets_of("").is_empty());
    }
}
