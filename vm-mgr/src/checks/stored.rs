//! The storage checks: half-made VMs (vm-mgr-named images or groups of no VM, a VM in the CIB
//! without its system image), stored XML, settings or fragment that cannot be read, and VMs
//! whose resources in the CIB differ from their stored fragment.

use std::collections::{BTreeMap, BTreeSet};

use shared::pacemaker::Cib;
use shared::xml::Element;

use super::{Finding, Kind};
use crate::fragment::{self, CephAccess, Fragment};
use crate::storage::{Storage, StorageError};
use crate::vm::{self, image_vm, Settings, VmIds, META_FRAGMENT, META_SETTINGS, META_XML};

/// What the storage holds that the checks need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredView {
    /// Every image of the pool.
    pub images: Vec<String>,
    /// The RBD groups named like a VM that has no system image, with their images.
    pub lone_groups: BTreeMap<String, Vec<String>>,
    /// The metadata of each VM's system image, by VM.
    pub meta: BTreeMap<String, BTreeMap<String, String>>,
}

/// Reads what the checks need: the images, the groups, the system images' metadata.
pub fn read(storage: &dyn Storage) -> Result<StoredView, StorageError> {
    let images = storage.list_images()?;
    let systems: BTreeSet<&str> = images
        .iter()
        .filter_map(|i| i.strip_prefix("system_"))
        .filter(|vm| vm::validate_name(vm).is_ok())
        .collect();
    let mut lone_groups = BTreeMap::new();
    for group in storage.list_groups()? {
        if vm::validate_name(&group).is_ok() && !systems.contains(group.as_str()) {
            let members = storage.group_images(&group)?;
            lone_groups.insert(group, members);
        }
    }
    let mut meta = BTreeMap::new();
    for vm in systems {
        match storage.meta_list(&VmIds::new(vm).system_image()) {
            Ok(m) => {
                meta.insert(vm.to_owned(), m);
            }
            // Removed since the listing: nothing to check.
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(StoredView {
        images,
        lone_groups,
        meta,
    })
}

/// Every storage check on the CIB `cib`; `ceph` how vm-mgr reaches Ceph (stored fragments
/// get it as enable would give it).
pub fn findings(view: &StoredView, cib: &Cib, ceph: &CephAccess) -> Vec<Finding> {
    let tree = cib.element();
    let in_cib = |vm: &str| fragment::in_cib(tree, vm);
    let mut out = Vec::new();
    for image in &view.images {
        let Some(vm) = image_vm(image) else { continue };
        if in_cib(vm) {
            continue;
        }
        let why = match view.meta.get(vm) {
            Some(m) if image.starts_with("system_") && !has_vm_mgr_meta(m) => {
                "it has no stored domain XML, settings or fragment (create stopped before storing \
                 them?)"
            }
            Some(_) => continue,
            None if image.starts_with("system_") => continue,
            None => "VM has no system image (create or remove stopped half-way?)",
        };
        out.push(orphan(Kind::OrphanImage, vm, image, why));
    }
    for (group, members) in &view.lone_groups {
        let ours = members.iter().all(|i| image_vm(i) == Some(group.as_str()));
        if ours && !in_cib(group) {
            out.push(orphan(
                Kind::OrphanGroup,
                group,
                group,
                "the RBD group has no system image of its VM",
            ));
        }
    }
    for vm in crate::state::cib_vms(cib) {
        if !view.meta.contains_key(&vm) {
            let image = VmIds::new(&vm).system_image();
            let detail = format!("VM {vm} is in the CIB but its image {image} is not in the pool");
            let fix = format!("restore the image, or take the VM out (vm-mgr remove -n {vm})");
            out.push(Finding::new(
                Kind::MissingImages,
                Some(&vm),
                Some(&image),
                detail,
                fix,
            ));
        }
    }
    for (vm, meta) in &view.meta {
        out.extend(unreadable(vm, meta));
        if let Some(f) = mismatch(vm, meta, tree, ceph) {
            out.push(f);
        }
    }
    out
}

fn orphan(kind: Kind, vm: &str, id: &str, why: &str) -> Finding {
    let (what, rm) = if kind == Kind::OrphanImage {
        ("image", "rbd rm")
    } else {
        ("RBD group", "rbd group rm")
    };
    Finding::new(
        kind,
        Some(vm),
        Some(id),
        format!("{what} {id} of no VM: {why}"),
        format!(
            "check that nothing uses it, then delete it ({rm} {id}), or let vm-mgr doctor --fix \
             --purge-orphans move orphan images to the RBD trash and remove orphan groups"
        ),
    )
}

/// Whether `meta` holds any of vm-mgr's keys (XML, settings, fragment).
fn has_vm_mgr_meta(meta: &BTreeMap<String, String>) -> bool {
    [META_XML, META_SETTINGS, META_FRAGMENT]
        .iter()
        .any(|k| meta.contains_key(*k))
}

/// The stored XML, settings and fragment of VM `vm` that cannot be read (or, the XML, is
/// missing).
fn unreadable(vm: &str, meta: &BTreeMap<String, String>) -> Vec<Finding> {
    let image = VmIds::new(vm).system_image();
    let mut bad = Vec::new();
    match meta
        .get(META_XML)
        .map(|x| Element::parse(x, "the stored domain XML"))
    {
        Some(Ok(root)) if root.name == "domain" => {}
        Some(Ok(root)) => bad.push((
            META_XML,
            format!("its root is <{}>, not <domain>", root.name),
        )),
        Some(Err(e)) => bad.push((META_XML, e.to_string())),
        // Without it the VirtualDomain agent cannot start the VM.
        None if has_vm_mgr_meta(meta) => bad.push((META_XML, "it is missing".to_owned())),
        None => {}
    }
    if let Some(json) = meta.get(META_SETTINGS) {
        if let Err(e) = Settings::from_json(vm, json) {
            bad.push((META_SETTINGS, e.to_string()));
        }
    }
    if let Some(xml) = meta.get(META_FRAGMENT) {
        if let Err(e) = Fragment::parse(xml, vm) {
            bad.push((META_FRAGMENT, e.to_string()));
        }
    }
    bad.into_iter()
        .map(|(key, why)| {
            Finding::new(
                Kind::UnreadableStored,
                Some(vm),
                Some(&format!("{image}:{key}")),
                format!("metadata {key} of {image} cannot be read: {}", why.trim_end_matches('.')),
                format!("restore it from a snapshot (vm-mgr rollback) or an export; `vm-mgr disable` rewrites {META_FRAGMENT} from the CIB"),
            )
        })
        .collect()
}

/// Each primitive of a VM group: id, agent, parameters.
type Signature = Vec<(String, String, BTreeMap<String, String>)>;

fn signature(group: &Element) -> Signature {
    group
        .children_named("primitive")
        .map(|p| {
            let agent = ["class", "provider", "type"]
                .map(|a| p.attr(a).unwrap_or(""))
                .join(":");
            let params = p
                .children_named("instance_attributes")
                .flat_map(|s| s.children_named("nvpair"))
                .filter_map(|nv| Some((nv.attr("name")?.to_owned(), nv.attr("value")?.to_owned())))
                .collect();
            (p.attr("id").unwrap_or("").to_owned(), agent, params)
        })
        .collect()
}

/// A VM in the CIB whose members (ids, agents, parameters) differ from its stored fragment's:
/// a hand edit in the CIB, or a change vm-mgr did not finish (stop --force interrupted).
fn mismatch(
    vm: &str,
    meta: &BTreeMap<String, String>,
    tree: &Element,
    ceph: &CephAccess,
) -> Option<Finding> {
    // Ceph parameters a fragment lacks are filled on both sides, as enable fills them.
    let mut in_cib = fragment::extract(tree, vm)?;
    let mut stored = Fragment::parse(meta.get(META_FRAGMENT)?, vm).ok()?;
    in_cib.fill_ceph(ceph);
    stored.fill_ceph(ceph);
    let (now, kept) = (
        signature(&in_cib.resources[0]),
        signature(&stored.resources[0]),
    );
    if now == kept {
        return None;
    }
    let differs: Vec<String> = now
        .iter()
        .zip(&kept)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0.clone())
        .collect();
    let what = if now.len() != kept.len() || differs.is_empty() {
        "its members".to_owned()
    } else {
        differs.join(", ")
    };
    Some(Finding::new(
        Kind::FragmentMismatch,
        Some(vm),
        Some(vm),
        format!("{what} in the CIB differ from the fragment stored in {} (agents or parameters)", VmIds::new(vm).system_image()),
        format!("check the CIB for hand edits; `vm-mgr disable -n {vm}` keeps the CIB's version, `enable` then uses it"),
    ))
}
