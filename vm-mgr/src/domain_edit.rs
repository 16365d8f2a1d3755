//! Checking a new domain XML for an existing VM (`set-xml`, `edit`), pure: the rules create's
//! rewrite applies ([`crate::domain::rewrite_disks`]: a `<domain>` with a type, the VM's
//! `<name>`), plus what an existing VM must keep: its UUID, and its disks, which are the VM's
//! images and nothing else.
//!
//! Disks: a `<disk device="disk">` is named by its source (`POOL/IMAGE` of an RBD network
//! disk, or the file or device path). Either the new XML's disks are exactly the VM's images
//! (each once, in any order, with whatever driver, target or boot order the user wrote), or it
//! names none of them (a template as given to create, with local files or no disks): then its
//! disks are dropped, as create drops them, and the stored XML's disks put in their place.

use std::collections::BTreeSet;

use shared::xml::Element;

use crate::error::{Error, Result};

/// The VM the new XML is for, as stored.
#[derive(Debug, Clone, Copy)]
pub struct StoredVm<'a> {
    /// The VM's name.
    pub name: &'a str,
    /// Its stored domain XML.
    pub xml: &'a str,
    /// Its disks as a disk source names them (`POOL/IMAGE`, or the file path on the dir
    /// backend), system disk first.
    pub disks: &'a [String],
}

/// A new XML that passed [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The XML to store (name and UUID filled in, disks as decided).
    pub xml: String,
    /// Whether the disks were taken from the stored XML (the new one named none of them).
    pub disks_from_stored: bool,
}

/// Whether `d` is a disk of a VM (create replaces these; cdroms, floppies and luns are kept).
fn is_vm_disk(d: &Element) -> bool {
    d.name == "disk" && matches!(d.attr("device"), None | Some("disk"))
}

/// What a disk's source names: RBD `POOL/IMAGE`, a file, a block device or a volume.
fn disk_source(d: &Element) -> Option<String> {
    let s = d.child("source")?;
    ["name", "file", "dev", "volume"]
        .iter()
        .find_map(|k| s.attr(k))
        .map(str::to_owned)
}

/// A UUID as libvirt compares them: lower case, dashes left out.
fn uuid_key(u: &str) -> String {
    u.trim()
        .chars()
        .filter(|c| *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Checks `new` (from `what`, for messages) as the next domain XML of `vm` and returns what to
/// store; refuses (exit 2) what would not be the same VM or would lose its disks.
pub fn check(new: &str, what: &str, vm: &StoredVm<'_>) -> Result<Checked> {
    let bad = |detail: String| Error::DomainXml {
        what: what.to_owned(),
        detail,
    };
    let stored = Element::parse(vm.xml, "the stored domain XML").map_err(|e| Error::Stored {
        name: vm.name.to_owned(),
        what: "domain XML",
        detail: e.to_string(),
    })?;
    let mut root = crate::domain::parse_domain(new, what)?;
    keep_name(&mut root, vm.name).map_err(bad)?;
    keep_uuid(&mut root, &stored).map_err(bad)?;
    let disks_from_stored = keep_disks(&mut root, &stored, vm).map_err(bad)?;
    unique_targets(&root).map_err(bad)?;
    Ok(Checked {
        xml: root.to_xml(),
        disks_from_stored,
    })
}

/// `<name>` is the VM's (filled in when missing): a VM is renamed by clone, not here.
fn keep_name(root: &mut Element, name: &str) -> Result<(), String> {
    match root.child_mut("name") {
        Some(n) if n.text_trimmed() == name => {
            n.text = name.to_owned();
            Ok(())
        }
        Some(n) => Err(format!(
            "its <name> is {:?}, not the VM's {name:?} (a VM cannot be renamed; clone makes a \
             copy under a new name)",
            n.text_trimmed()
        )),
        None => {
            let mut n = Element::new("name");
            n.text = name.to_owned();
            root.children.insert(0, n);
            Ok(())
        }
    }
}

/// `<uuid>` is the stored one (filled in when missing, right after `<name>`).
fn keep_uuid(root: &mut Element, stored: &Element) -> Result<(), String> {
    let Some(old) = stored.child("uuid").map(|u| u.text_trimmed().to_owned()) else {
        return Ok(());
    };
    match root.child("uuid") {
        Some(u) if uuid_key(u.text_trimmed()) == uuid_key(&old) => Ok(()),
        Some(u) => Err(format!(
            "its <uuid> is {}, not the VM's {old} (libvirt and the guest know the VM by it)",
            u.text_trimmed()
        )),
        None => {
            let at = root
                .children
                .iter()
                .position(|c| c.name == "name")
                .map_or(0, |p| p + 1);
            let mut u = Element::new("uuid");
            u.text = old;
            root.children.insert(at, u);
            Ok(())
        }
    }
}

/// Makes the disks the VM's images (see the module documentation); true when they were taken
/// from the stored XML.
fn keep_disks(root: &mut Element, stored: &Element, vm: &StoredVm<'_>) -> Result<bool, String> {
    let wanted: BTreeSet<&str> = vm.disks.iter().map(String::as_str).collect();
    if root.child("devices").is_none() {
        root.children.push(Element::new("devices"));
    }
    let devices = root
        .child_mut("devices")
        .ok_or_else(|| "no <devices>".to_owned())?;
    let sources: Vec<Option<String>> = devices
        .children
        .iter()
        .filter(|d| is_vm_disk(d))
        .map(disk_source)
        .collect();
    let named: Vec<&str> = sources
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|s| wanted.contains(s))
        .collect();
    if named.is_empty() {
        let theirs: Vec<Element> = stored
            .child("devices")
            .map(|d| {
                d.children
                    .iter()
                    .filter(|c| is_vm_disk(c))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let have: BTreeSet<String> = theirs.iter().filter_map(disk_source).collect();
        if let Some(missing) = vm.disks.iter().find(|d| !have.contains(*d)) {
            return Err(format!(
                "it names none of the VM's disks, and the stored XML lacks {missing} to take \
                 them from; write the VM's disks into it"
            ));
        }
        devices.children.retain(|c| !is_vm_disk(c));
        let at = devices
            .children
            .iter()
            .position(|c| c.name == "emulator")
            .map_or(0, |p| p + 1);
        let keep: Vec<Element> = theirs
            .into_iter()
            .filter(|d| disk_source(d).is_some_and(|s| wanted.contains(s.as_str())))
            .collect();
        devices.children.splice(at..at, keep);
        return Ok(true);
    }
    for s in &sources {
        match s {
            Some(s) if wanted.contains(s.as_str()) => {}
            Some(s) => {
                return Err(format!(
                    "disk {s} is not one of the VM's disks ({}); a vm-mgr VM's disks live in \
                     its storage",
                    vm.disks.join(", ")
                ))
            }
            None => return Err("a <disk device=\"disk\"> without a source".into()),
        }
    }
    for d in vm.disks {
        match named.iter().filter(|n| **n == d.as_str()).count() {
            1 => {}
            0 => return Err(format!("the VM's disk {d} is missing from it")),
            _ => return Err(format!("the VM's disk {d} is in it more than once")),
        }
    }
    Ok(false)
}

/// No two disks on one target device (libvirt would refuse to start the VM).
fn unique_targets(root: &Element) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    let devices = root
        .child("devices")
        .into_iter()
        .flat_map(|d| d.children_named("disk"));
    for dev in devices.filter_map(|d| d.child("target")?.attr("dev")) {
        if !seen.insert(dev) {
            return Err(format!("two disks have target dev {dev}"));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "domain_edit_tests.rs"]
mod tests;
