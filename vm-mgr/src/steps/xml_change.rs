//! Replacing a VM's stored domain XML, for `set-xml` and `edit`: read what is stored, check
//! the new XML as create checks one ([`crate::domain_edit::check`], libvirt's schema, the
//! metadata size rule), show the unified diff, and store it: one storage write (the metadata
//! key `xml` on RBD, `domain.xml` on the dir backend), which `ocf:vmmgr:VirtualDomain` reads
//! at the VM's next start. The CIB fragment holds nothing taken from the XML, so the CIB does
//! not change.

use serde_json::json;

use crate::ctx::Ctx;
use crate::domain_edit::{self, Checked, StoredVm};
use crate::error::{Error, Result};
use crate::output::Outcome;
use crate::storage::StorageError;
use crate::vm::{self, VmIds};

/// A VM's stored XML and its disks as the XML names them.
#[derive(Debug, Clone)]
pub struct Current {
    /// The VM's name.
    pub name: String,
    /// The stored domain XML.
    pub xml: String,
    /// Its disks as a disk source names them: `POOL/IMAGE`, or the file on the dir backend.
    pub disks: Vec<String>,
}

/// Reads VM `name`'s stored XML and disks (no such VM: exit 3).
pub fn current(ctx: &Ctx, name: &str) -> Result<Current> {
    if !ctx.storage.available() {
        return Err(StorageError::Disabled.into());
    }
    let system = VmIds::new(name).system_image();
    if !ctx.storage.image_exists(&system)? {
        return Err(Error::NoSuchVm {
            name: name.to_owned(),
        });
    }
    let xml = ctx
        .storage
        .meta_get(&system, vm::META_XML)
        .map_err(crate::cluster::vm_storage_error(name))?
        .ok_or_else(|| Error::Stored {
            name: name.to_owned(),
            what: "domain XML",
            detail: format!("the metadata key {} is not set", vm::META_XML),
        })?;
    let images = super::snapshots::vm_disks(ctx, name)?;
    let mut disks = Vec::with_capacity(images.len());
    for image in images {
        disks.push(match ctx.storage.dir() {
            Some(dir) => dir.disk_path(&image)?.to_string_lossy().into_owned(),
            None => format!("{}/{image}", ctx.storage.pool()),
        });
    }
    Ok(Current {
        name: name.to_owned(),
        xml,
        disks,
    })
}

/// A checked new XML for a VM, not stored yet.
#[derive(Debug, Clone)]
pub struct Proposal {
    /// What is stored now.
    pub current: Current,
    /// The new XML, as it would be stored.
    pub new: Checked,
    /// `diff -u` of the stored XML to the new one (empty: no change).
    pub diff: String,
    /// Warnings (the schema could not be checked).
    pub warnings: Vec<String>,
}

/// Checks `text` (from `what`) as the next XML of the VM in `current`; changes nothing.
pub fn propose(ctx: &Ctx, current: Current, text: &str, what: &str) -> Result<Proposal> {
    let vm = StoredVm {
        name: &current.name,
        xml: &current.xml,
        disks: &current.disks,
    };
    let new = domain_edit::check(text, what, &vm)?;
    ctx.storage.check_meta(vm::META_XML, &new.xml)?;
    let diff = crate::diff::unified(
        &current.xml,
        &new.xml,
        &format!("{} (stored)", current.name),
        &format!("{} (new)", current.name),
    );
    let warnings = if diff.is_empty() {
        Vec::new()
    } else {
        crate::domain::validate(&new.xml, what)?
            .into_iter()
            .collect()
    };
    Ok(Proposal {
        current,
        new,
        diff,
        warnings,
    })
}

/// Stores the proposal (unless `--dry-run`, or nothing changes) and reports it for `verb`.
pub fn store(ctx: &Ctx, p: &Proposal, verb: &str) -> Result<Outcome> {
    let name = p.current.name.as_str();
    let changed = !p.diff.is_empty();
    let system = VmIds::new(name).system_image();
    let target = match ctx.storage.dir() {
        Some(dir) => dir.xml_path(name).display().to_string(),
        None => format!(
            "metadata {} of {}/{system}",
            vm::META_XML,
            ctx.storage.pool()
        ),
    };
    if changed && !ctx.dry_run {
        ctx.storage
            .meta_set(&system, vm::META_XML, &p.new.xml)
            .map_err(crate::cluster::vm_storage_error(name))?;
    }
    let mut text = p.diff.clone();
    for w in &p.warnings {
        text.push_str(&format!("warning: {w}\n"));
    }
    if p.new.disks_from_stored {
        text.push_str(&format!(
            "{name}: the new XML named none of the VM's disks; the stored ones were kept\n"
        ));
    }
    text.push_str(&match (changed, ctx.dry_run) {
        (false, _) => format!("{name}: the domain XML is unchanged; nothing was written\n"),
        (true, true) => format!(
            "Dry run of {verb} for {name}: nothing was changed (it would write {target}).\n"
        ),
        (true, false) => {
            format!("{name}: domain XML stored ({target}); it applies at the VM's next start\n")
        }
    });
    let json = json!({
        "name": name,
        "verb": verb,
        "changed": changed,
        "dry_run": ctx.dry_run,
        "diff": p.diff,
        "applies": changed.then_some("next start"),
        "written": if changed && !ctx.dry_run { Some(&target) } else { None },
        "disks_from_stored": p.new.disks_from_stored,
        "warnings": p.warnings,
        "domain_xml": p.new.xml,
    });
    Ok(Outcome::new(json, text))
}
