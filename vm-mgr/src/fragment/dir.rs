//! The fragment of a VM on the dir backend: its domain starts from the XML file in its directory
//! (`config`, which `ocf:vmmgr:VirtualDomain` only reads, as the heartbeat agent does), with
//! no RBD parameters and no disk guard (QEMU's image locks on the shared filesystem keep a
//! second node from opening the disks), and, with `storage-resource`, it is ordered after that
//! clone and colocated with it, so that it starts only where the directory is mounted and stops
//! before it is unmounted.

use std::path::Path;

use shared::pacemaker::cib::tree::{self, NvpairId, SetKind};
use shared::xml::Element;

use super::{el, vm_group, Fragment};
use crate::vm::{Backend, VmIds};

/// The RBD parameters a dir VM's domain does not have.
const RBD_PARAMS: [&str; 4] = [
    "rbd_xml_source",
    "rbd_xml_key",
    "rbd_xml_user",
    "rbd_xml_cephconf",
];

/// Turns the fragment [`super::build`] made into a dir VM's: `config` is `xml_path`, the RBD
/// parameters and the guard are gone, and with `storage_resource` the order
/// (`vmmgr-after-NAME`: start `storage_resource` then the VM) and colocation
/// (`vmmgr-with-NAME`: the VM with `storage_resource`, INFINITY) are added.
pub fn use_dir(f: &mut Fragment, xml_path: &Path, storage_resource: Option<&str>) {
    let ids = VmIds::new(&f.name);
    let config = xml_path.to_string_lossy();
    for group in &mut f.resources {
        group
            .children
            .retain(|c| !(c.name == "primitive" && c.attr("id") == Some(&ids.guard())));
        for prim in group.children.iter_mut().filter(|c| c.name == "primitive") {
            if prim.attr("id") != Some(&ids.domain()) {
                continue;
            }
            let set = format!("{}.params", ids.domain());
            for p in RBD_PARAMS {
                tree::remove_nvpair_everywhere(prim, SetKind::Instance, p);
            }
            tree::set_nvpair(
                prim,
                SetKind::Instance,
                &set,
                NvpairId::Dot,
                "config",
                Some(&config),
            );
        }
    }
    if let Some(res) = storage_resource {
        f.constraints.extend(storage_constraints(&ids, res));
    }
}

/// `vmmgr-after-NAME` and `vmmgr-with-NAME`.
fn storage_constraints(ids: &VmIds, res: &str) -> [Element; 2] {
    let name = ids.name();
    [
        el(
            "rsc_order",
            &[
                ("id", &ids.storage_order()),
                ("first", res),
                ("first-action", "start"),
                ("then", name),
                ("then-action", "start"),
                ("kind", "Mandatory"),
            ],
        ),
        el(
            "rsc_colocation",
            &[
                ("id", &ids.storage_colocation()),
                ("rsc", name),
                ("with-rsc", res),
                ("score", "INFINITY"),
            ],
        ),
    ]
}

/// Which backend VM `name` in the CIB tree `tree` is on: RBD when its domain fetches its XML
/// from RBD (`rbd_xml_source`), dir when it reads it from a file (`config` only); `None` when
/// it is not a vm-mgr VM in the CIB, or its domain has neither (a stand-in).
pub fn storage_of(tree: &Element, name: &str) -> Option<Backend> {
    let ids = VmIds::new(name);
    let group = vm_group(tree, name)?;
    let dom = group
        .children_named("primitive")
        .find(|p| p.attr("id") == Some(&ids.domain()))?;
    if tree::has_nvpair(dom, SetKind::Instance, "rbd_xml_source") {
        Some(Backend::Rbd)
    } else if tree::has_nvpair(dom, SetKind::Instance, "config") {
        Some(Backend::Dir)
    } else {
        None
    }
}
