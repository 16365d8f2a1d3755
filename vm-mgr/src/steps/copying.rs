//! Copying VMs: the steps create, clone, import and export share (image names of a copy,
//! refusing an existing name, the metadata a copy gets, undoing a half-made copy, importing an
//! image file, the export format, a new VM's domain XML and CIB fragment on this storage).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use super::snapshots;
use super::teardown;
use crate::ctx::Ctx;
use crate::domain::{self, Disks, FileDisks, RbdDisks};
use crate::error::{Error, Result};
use crate::fragment::{self, Fragment};
use crate::vm::{self, Settings, VmIds};

/// The `format` of `manifest.json`.
pub const FORMAT: &str = "vm-mgr-export";
/// Its version.
pub const VERSION: u64 = 1;

/// The copy's image for source image `image` (`system_SRC` → `system_DST`, `data_SRC_i` →
/// `data_DST_i`).
pub fn copy_image_name(src: &str, dst: &str, image: &str) -> String {
    let (s, d) = (VmIds::new(src), VmIds::new(dst));
    if image == s.system_image() {
        return d.system_image();
    }
    match image.strip_prefix(&format!("data_{src}_")) {
        Some(i) => format!("data_{dst}_{i}"),
        None => format!("{image}_{dst}"),
    }
}

/// Fails with `IdTaken` when the ids VM `name` would take are used in the CIB by something that
/// is not a vm-mgr VM (checked before any storage work, in a dry run too).
pub fn refuse_foreign_ids(cib: &shared::pacemaker::Cib, name: &str) -> Result<()> {
    let ids = fragment::foreign_ids(cib.element(), name);
    if ids.is_empty() {
        Ok(())
    } else {
        Err(Error::IdTaken {
            name: name.to_owned(),
            ids,
        })
    }
}

/// What the real run finds out only as it writes, checked before any storage work (in a dry run
/// too): that `fragment` goes into the CIB as it is now (its ids free and each used once, its
/// values ones the CIB keeps as given), after the VM of that name is taken out when
/// `replacing` (checked here, then by Pacemaker on a private copy of the CIB); and that the
/// storage takes every metadata value of `meta`.
pub fn check_writes(
    ctx: &Ctx,
    cib: &shared::pacemaker::Cib,
    fragment: &Fragment,
    replacing: bool,
    meta: &[(String, String)],
) -> Result<()> {
    check_writes_as(ctx, cib, fragment, replacing, meta, "Stopped").map(drop)
}

/// [`check_writes`] with the fragment inserted with target-role `role`; returns the CIB patch
/// it checked (`None`: nothing would change). A dry run of `create` checks the patch its
/// enable would apply (role `Started` unless `--nostart`) and shows that same patch: one
/// test-apply instead of two (issue 17).
pub fn check_writes_as(
    ctx: &Ctx,
    cib: &shared::pacemaker::Cib,
    fragment: &Fragment,
    replacing: bool,
    meta: &[(String, String)],
    role: &str,
) -> Result<Option<String>> {
    let mut tree = cib.element().clone();
    if replacing {
        // Not in the CIB (only in storage) is fine: nothing to take out.
        let _ = fragment::remove(&mut tree, &fragment.name);
    }
    match fragment::insert(&mut tree, fragment, role) {
        Ok(_) => {}
        // An id of the fragment (a constraint's, ...) already used: as for the group's.
        Err(fragment::FragmentError::IdConflict { id, .. }) => {
            return Err(Error::IdTaken {
                name: fragment.name.clone(),
                ids: vec![id],
            })
        }
        Err(e) => return Err(e.into()),
    }
    // What Pacemaker alone knows (its schema: value types, references): it is asked too.
    let patch = crate::cluster::check(ctx, cib, tree)?;
    for (k, v) in meta {
        ctx.storage.check_meta(k, v)?;
    }
    Ok(patch)
}

/// Fails with `AlreadyExists` when anything of VM `name` exists (CIB, image, group), and with
/// `IdTaken` when its ids are used by something else. Returns the CIB it read.
pub fn refuse_existing(ctx: &Ctx, name: &str) -> Result<shared::pacemaker::Cib> {
    let (cib, _) = crate::cluster::read_cluster(ctx)?;
    refuse_foreign_ids(&cib, name)?;
    let exists = fragment::in_cib(cib.element(), name)
        || ctx
            .storage
            .list_images()?
            .iter()
            .any(|i| teardown::is_vm_image(name, i))
        || ctx.storage.list_groups()?.iter().any(|g| g == name);
    if exists {
        return Err(Error::AlreadyExists {
            name: name.to_owned(),
        });
    }
    Ok(cib)
}

/// The metadata a copy of a VM gets, the XML last (an image with `xml` is a complete VM).
pub fn copy_meta(
    meta: &BTreeMap<String, String>,
    name: &str,
    settings: &Settings,
    fragment: &Fragment,
    xml: &str,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = snapshots::meta_without_snaps(meta)
        .into_iter()
        .filter(|(k, _)| {
            ![
                vm::META_XML,
                vm::META_VM_NAME,
                vm::META_SETTINGS,
                vm::META_FRAGMENT,
            ]
            .contains(&k.as_str())
        })
        .collect();
    out.push((vm::META_VM_NAME.into(), name.to_owned()));
    out.push((vm::META_SETTINGS.into(), settings.to_json()));
    out.push((vm::META_FRAGMENT.into(), fragment.to_xml()));
    out.push((vm::META_XML.into(), xml.to_owned()));
    out
}

/// Imports one disk image with a progress bar (see [`crate::output::Progress::bar`]).
pub fn import(ctx: &Ctx, path: &Path, format: &str, image: &str) -> Result<()> {
    let name = format!("{} → {}", path.display(), ctx.storage.image_label(image));
    ctx.progress.say(&format!("Importing {name} ({format})"));
    let start = Instant::now();
    let mut bar = ctx.progress.bar(&format!("Importing {name}"));
    let res = ctx.storage.import(path, format, image, &mut |done| {
        bar.update(done, start.elapsed())
    });
    bar.end();
    res?;
    ctx.progress.say(&format!(
        "Imported {name} in {:.1}s",
        start.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Removes what a failed (or interrupted: a cleanup) clone or import made; returns what was
/// done, for the message.
pub fn undo(ctx: &Ctx, dst: &str, made: &[String], group_made: bool) -> String {
    let _cleanup = crate::cluster::interrupt::cleanup();
    let ids = VmIds::new(dst);
    let mut problems = Vec::new();
    if group_made {
        for i in made {
            let _ = ctx.storage.group_remove(&ids.rbd_group(), i);
        }
        if let Err(e) = ctx.storage.remove_group(&ids.rbd_group()) {
            problems.push(e.to_string());
        }
    }
    for i in made.iter().rev() {
        match ctx.storage.remove_image(i) {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => problems.push(format!("image {i}: {e}")),
        }
    }
    if problems.is_empty() {
        format!("removed {} image(s)", made.len())
    } else {
        format!("cleaning up failed: {}", problems.join("; "))
    }
}

/// The domain XML of VM `name` on this storage: `base_xml`'s (from `what`, for messages) with
/// its disks replaced by RBD network disks of `images` (the cephx secret found in libvirt
/// unless configured), or by their qcow2 files on the dir backend; `bus` as `--disk-bus`.
pub fn storage_xml(
    ctx: &Ctx,
    base_xml: &str,
    what: &str,
    name: &str,
    images: &[String],
    bus: &str,
) -> Result<String> {
    if let Some(dir) = ctx.storage.dir() {
        let paths = images
            .iter()
            .map(|i| dir.disk_path(i))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let disks = FileDisks { paths: &paths, bus };
        return domain::rewrite_disks(base_xml, what, name, Disks::Files(&disks));
    }
    let mons = ctx.storage.mon_hosts()?;
    let client = ctx.storage.client_id().to_owned();
    let secret = match &ctx.config.secret_uuid {
        Some(u) => u.clone(),
        None => domain::find_ceph_secret(&client)?.ok_or_else(|| {
            Error::invalid(format!(
                "libvirt on this node has no ceph secret with usage \"client.{client} secret\"; \
                 define one, or set secret-uuid in the configuration file."
            ))
        })?,
    };
    domain::rewrite(
        base_xml,
        what,
        name,
        &RbdDisks {
            pool: ctx.storage.pool(),
            images,
            bus,
            client_id: &client,
            secret_uuid: Some(&secret),
            mons: &mons,
        },
    )
}

/// The CIB fragment of a new VM with `settings` on this storage; on the dir backend it reads
/// its XML file and, with `storage-resource` (which must be a resource of `cib`), is ordered
/// after and colocated with that clone.
pub fn new_fragment(
    ctx: &Ctx,
    cib: &shared::pacemaker::Cib,
    ids: &VmIds,
    settings: &Settings,
) -> Result<Fragment> {
    let mut fragment = fragment::build(ids, settings, &ctx.ceph_access(), "Stopped");
    if let Some(dir) = ctx.storage.dir() {
        let res = ctx.config.storage_resource.as_deref();
        if let Some(r) =
            res.filter(|r| !shared::pacemaker::cib::tree::in_resources(cib.element(), r))
        {
            return Err(Error::invalid(format!(
                "storage-resource {r} is not a resource of the cluster (the clone that mounts {} on each node).",
                dir.vm_dir("").display()
            )));
        }
        fragment::use_dir(&mut fragment, &dir.xml_path(ids.name()), res);
    }
    Ok(fragment)
}
