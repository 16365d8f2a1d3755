//! `import --from DIR [--name NEW] [--disable|--nostart]`: a VM from a directory written by
//! `vm-mgr export`: its disks imported into RBD (in its group) or, on the dir backend, into
//! qcow2 files in its directory, its metadata, and its CIB fragment (constraints included)
//! enabled unless `--disable`. An export of either backend goes into either: into the dir
//! backend or across backends, the XML's disks and the fragment are made anew for this
//! storage (the VM's own constraints: pin, preference; colocations are not carried over). Under its exported name the VM
//! comes back identical (XML, UUID, MACs, metadata, constraints); under a new name it is a
//! copy, with a new UUID and new MAC addresses, and the fragment is rebuilt from its settings.
//! A failure undoes everything made so far.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::cli::ImportArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment::Fragment;
use crate::output::Outcome;
use crate::state::VmState;
use crate::steps::clone_xml::{self, Renaming};
use crate::steps::copying::{self, copy_meta, refuse_existing, undo};
use crate::steps::{enabling, teardown};
use crate::vm::{self, Backend, Settings, VmIds};

fn read(path: &Path) -> Result<String> {
    shared::fsread::read_text(path, shared::fsread::XML_CAP).map_err(|source| Error::ReadFile {
        path: path.to_owned(),
        source,
    })
}

/// What `import` reads from `manifest.json`.
#[derive(Debug, serde::Deserialize)]
struct Manifest {
    format: String,
    version: u64,
    name: String,
    pool: String,
    /// The backend it was exported from (absent in exports made before the dir backend: rbd).
    #[serde(default)]
    storage: Option<String>,
    disks: Vec<DiskEntry>,
}

impl Manifest {
    /// Whether the export is taken into this storage as it is (RBD into RBD): its fragment
    /// (constraints included) and the disks of its XML stay. Otherwise (into the dir backend,
    /// or across backends) the disks of the XML and the fragment are made anew for this storage.
    fn same_kind(&self, ctx: &Ctx) -> bool {
        ctx.storage.backend() == Backend::Rbd
            && self.storage.as_deref().unwrap_or("rbd") == Backend::Rbd.as_str()
    }
}

#[derive(Debug, serde::Deserialize)]
struct DiskEntry {
    image: String,
    file: String,
}

/// The disk file `file` of the export in `dir` (`disks/NAME.raw`): a relative path that stays
/// inside `dir` (no `/etc/shadow`, no `..`), through no symbolic link, to a regular file. An
/// export directory may come from anywhere; without this, its manifest could have any readable
/// file of this host copied into RBD.
fn disk_file(dir: &Path, file: &str) -> std::result::Result<PathBuf, String> {
    use std::path::Component;
    let rel = Path::new(file);
    let plain = !file.is_empty()
        && !file.contains('\0')
        && rel.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        return Err(format!(
            "disk file {file:?} is not a relative path inside the export directory"
        ));
    }
    let mut path = dir.to_path_buf();
    for part in rel.components() {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!(
                    "{} is a symbolic link; an export holds its disks as regular files",
                    path.display()
                ))
            }
            Ok(_) => {}
            Err(_) => return Err(format!("{} is missing", path.display())),
        }
    }
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file()) {
        Ok(path)
    } else {
        Err(format!("{} is not a regular file", path.display()))
    }
}

/// An export directory, read and checked, before anything is made.
struct Plan {
    name: String,
    renamed: bool,
    /// Each disk: its file, the image to make, the image it was.
    files: Vec<(PathBuf, String, String)>,
    meta: BTreeMap<String, String>,
    settings: Settings,
    xml: String,
    /// The exported fragment, kept when the VM comes back as it was into RBD; `None`: made
    /// anew for this storage once the CIB is read.
    fragment: Option<Fragment>,
}

/// Reads and checks the export in `a.from`; nothing is made.
fn read_export(ctx: &Ctx, a: &ImportArgs) -> Result<Plan> {
    let dir = &a.from;
    let bad = |detail: String| {
        Error::invalid(format!(
            "{} is not a vm-mgr export: {detail}; nothing was changed.",
            dir.display()
        ))
    };
    let m: Manifest = serde_json::from_str(&read(&dir.join("manifest.json"))?)
        .map_err(|e| bad(format!("manifest.json: {e}")))?;
    if m.format != copying::FORMAT || m.version != copying::VERSION {
        return Err(bad(format!("format {} version {}", m.format, m.version)));
    }
    vm::validate_name(&m.name)?;
    let name = a.name.clone().unwrap_or_else(|| m.name.clone());
    vm::validate_name(&name)?;
    let renamed = name != m.name;
    let mut files = Vec::new();
    for d in &m.disks {
        if !teardown::is_vm_image(&m.name, &d.image) {
            return Err(bad(format!("unexpected disk entry {:?}", d.image)));
        }
        let path = disk_file(dir, &d.file).map_err(bad)?;
        files.push((
            path,
            copying::copy_image_name(&m.name, &name, &d.image),
            d.image.clone(),
        ));
    }
    let meta: BTreeMap<String, String> = serde_json::from_str(&read(&dir.join("metadata.json"))?)
        .map_err(|e| bad(format!("metadata.json: {e}")))?;
    let mut settings = match meta.get(vm::META_SETTINGS) {
        // an export directory is the user's input: damaged settings in it are exit 2
        Some(j) => Settings::from_json(&name, j).map_err(|e| bad(format!("metadata.json: {e}")))?,
        None => Settings::default(),
    };
    if renamed {
        // Under a new name, beside the original maybe: not the same guest node (its fragment
        // is rebuilt from these settings).
        settings.guest_node = None;
    }
    let same_kind = m.same_kind(ctx);
    if !same_kind {
        // as create sets it: on the dir backend QEMU's image locks do the guard's job
        settings.disk_guard = ctx.config.disk_guard && ctx.storage.dir().is_none();
    }
    let pool = ctx.storage.pool().to_owned();
    let mut xml = new_xml(&m, &name, &pool, &files, read(&dir.join("domain.xml"))?)?;
    if !same_kind {
        let images: Vec<String> = files.iter().map(|(_, i, _)| i.clone()).collect();
        xml = copying::storage_xml(ctx, &xml, "domain.xml", &name, &images, &settings.disk_bus)?;
    }
    let fragment = match (
        renamed || !same_kind,
        shared::fsread::read_text(&dir.join("fragment.xml"), shared::fsread::XML_CAP),
    ) {
        (false, Ok(text)) => {
            let mut f = Fragment::parse(&text, &name).map_err(|e| bad(e.to_string()))?;
            f.fill_ceph(&ctx.ceph_access());
            Some(f)
        }
        _ => None,
    };
    Ok(Plan {
        name,
        renamed,
        files,
        meta,
        settings,
        xml,
        fragment,
    })
}

/// Imports the disks into the VM's group and sets its metadata; undoes all of it on a
/// failure. Returns the images made.
fn store(ctx: &Ctx, p: &Plan, fragment: &Fragment) -> Result<Vec<String>> {
    let name = p.name.as_str();
    let ids = VmIds::new(name);
    let mut made = Vec::new();
    let mut group_made = false;
    let stored = (|| -> Result<()> {
        ctx.storage.create_group(&ids.rbd_group())?;
        group_made = true;
        for (path, image, _) in &p.files {
            made.push(image.clone());
            copying::import(ctx, path, "raw", image)?;
            ctx.storage.group_add(&ids.rbd_group(), image)?;
        }
        for (k, v) in copy_meta(&p.meta, name, &p.settings, fragment, &p.xml) {
            ctx.storage.meta_set(&ids.system_image(), &k, &v)?;
        }
        Ok(())
    })();
    match stored {
        Ok(()) => Ok(made),
        Err(e) => Err(Error::Undone {
            what: format!("Importing VM {name}"),
            undo: undo(ctx, name, &made, group_made),
            source: Box::new(e),
        }),
    }
}

/// Runs `import`.
pub fn run(ctx: &Ctx, a: &ImportArgs) -> Result<Outcome> {
    let mut p = read_export(ctx, a)?;
    let name = p.name.clone();
    let name = name.as_str();
    let cib = refuse_existing(ctx, name)?;
    let fragment = match p.fragment.take() {
        Some(f) => f,
        None => copying::new_fragment(ctx, &cib, &VmIds::new(name), &p.settings)?,
    };
    let wanted = copy_meta(&p.meta, name, &p.settings, &fragment, &p.xml);
    copying::check_writes(ctx, &cib, &fragment, false, &wanted)?;
    if ctx.dry_run {
        return Ok(dry_run(ctx, a, name, &p.files, &fragment));
    }
    let made = store(ctx, &p, &fragment)?;
    let base = json!({"name": name, "from": a.from, "images": made, "renamed": p.renamed});
    if a.disable {
        let mut j = base;
        j["state"] = json!(VmState::Disabled);
        j["node"] = json!(null);
        return Ok(Outcome::new(j, format!("{name}: imported (disabled)\n")));
    }
    let enabled = enabling::enable_or_remove(
        ctx,
        name,
        &fragment,
        a.nostart,
        format!("Enabling the imported VM {name}"),
        "the VM was removed again",
    )?;
    Ok(enabled.new_vm_outcome(name, "imported"))
}

/// The imported VM's domain XML: as exported, or (another name or pool) with a new name, UUID
/// and MAC addresses, or only new disk sources.
fn new_xml(
    m: &Manifest,
    name: &str,
    pool: &str,
    files: &[(PathBuf, String, String)],
    xml_text: String,
) -> Result<String> {
    let renamed = name != m.name;
    Ok(if renamed || pool != m.pool {
        let uuid = clone_xml::new_uuid()?;
        let disks: BTreeMap<String, String> = files
            .iter()
            .map(|(_, new, old)| (format!("{}/{old}", m.pool), format!("{pool}/{new}")))
            .collect();
        let r = Renaming {
            name,
            uuid: &uuid,
            disks: &disks,
        };
        if renamed {
            clone_xml::rewrite(&xml_text, "domain.xml", &r, &mut clone_xml::new_mac)?
        } else {
            // Same VM in another pool: only the disk sources change.
            let keep_uuid = shared::libvirt::DomainXml::parse(&xml_text)
                .ok()
                .and_then(|d| d.uuid)
                .unwrap_or_else(|| uuid.clone());
            rewrite_keeping_macs(
                &xml_text,
                &Renaming {
                    uuid: &keep_uuid,
                    ..r
                },
            )?
        }
    } else {
        xml_text
    })
}

/// `--dry-run`: what an import would do.
fn dry_run(
    ctx: &Ctx,
    a: &ImportArgs,
    name: &str,
    files: &[(PathBuf, String, String)],
    fragment: &Fragment,
) -> Outcome {
    let pool = ctx.storage.pool();
    let ids = VmIds::new(name);
    let mut actions: Vec<String> = files
        .iter()
        .map(|(p, i, _)| format!("import {} into {pool}/{i}", p.display()))
        .collect();
    actions.push(match ctx.storage.dir() {
        Some(dir) => format!("create the VM directory {}", dir.vm_dir(name).display()),
        None => format!("create RBD group {pool}/{name} with those images"),
    });
    actions.push(format!("set the metadata of {pool}/{}", ids.system_image()));
    if !a.disable {
        actions.push(format!(
            "enable {name} (constraints: {})",
            fragment.constraint_ids().join(", ")
        ));
    }
    crate::output::dry_run_outcome(name, "import", &actions, None)
}

/// [`clone_xml::rewrite`] for the same VM: interfaces keep their MAC addresses.
fn rewrite_keeping_macs(xml: &str, r: &Renaming<'_>) -> Result<String> {
    let root = shared::pacemaker::xml::Element::parse(xml, "domain.xml").map_err(|e| {
        Error::DomainXml {
            what: "domain.xml".into(),
            detail: e.to_string(),
        }
    })?;
    let macs: Vec<String> = root
        .child("devices")
        .map(|d| {
            d.children_named("interface")
                .filter_map(|i| {
                    i.child("mac")
                        .and_then(|m| m.attr("address"))
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut it = macs.into_iter();
    clone_xml::rewrite(xml, "domain.xml", r, &mut || {
        it.next()
            .ok_or_else(|| Error::invalid("MAC addresses changed while rewriting"))
    })
}

#[cfg(test)]
mod tests {
    use super::disk_file;

    #[test]
    fn an_export_names_its_disks_as_regular_files_inside_it() {
        let dir = std::env::temp_dir().join(format!("vmmgr-import-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("disks/sub")).unwrap();
        std::fs::write(dir.join("disks/system_web1.raw"), "x").unwrap();
        let _ = std::fs::remove_file(dir.join("disks/link.raw"));
        std::os::unix::fs::symlink("/etc/passwd", dir.join("disks/link.raw")).unwrap();
        let _ = std::fs::remove_file(dir.join("elsewhere"));
        std::os::unix::fs::symlink("/etc", dir.join("elsewhere")).unwrap();

        assert_eq!(
            disk_file(&dir, "disks/system_web1.raw").unwrap(),
            dir.join("disks/system_web1.raw")
        );
        for hostile in [
            "/etc/passwd",
            "../etc/passwd",
            "disks/../../x",
            "./x",
            "..",
            "",
        ] {
            let e = disk_file(&dir, hostile).unwrap_err();
            assert!(e.contains("not a relative path inside"), "{hostile:?}: {e}");
        }
        for link in ["disks/link.raw", "elsewhere/passwd"] {
            let e = disk_file(&dir, link).unwrap_err();
            assert!(e.contains("is a symbolic link"), "{link}: {e}");
        }
        let e = disk_file(&dir, "disks/sub").unwrap_err();
        assert!(e.contains("is not a regular file"), "{e}");
        let e = disk_file(&dir, "disks/gone.raw").unwrap_err();
        assert!(e.contains("is missing"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
