//! `add-disk -n VM (--size SIZE | --image FILE) [--bus virtio|scsi|sata]`: a new data image
//! `data_NAME_N` (N after the VM's highest) in the VM's RBD group — empty (a sparse raw file of
//! SIZE imported: the zeros are not written) or imported from FILE — added to the stored domain
//! XML ([`crate::disk_xml`]) and settings, and attached to the running guest through libvirt on
//! its node. The disk guard covers it at once: it guards every image of the group. The CIB is
//! not changed. A failure before the XML is stored removes the new image again.

use std::path::PathBuf;

use serde_json::json;

use crate::cli_change::AddDiskArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::Outcome;
use crate::steps::changing::{self, Vm};

/// Largest disk `--size` (1 PiB).
const MAX_DISK_BYTES: u64 = 1 << 50;

/// Runs `add-disk`.
pub fn run(ctx: &Ctx, a: &AddDiskArgs) -> Result<Outcome> {
    let size = match &a.size {
        Some(s) => Some(disk_size(s)?),
        None => None,
    };
    let vm = changing::load(ctx, &a.name)?;
    let name = vm.ids.name();
    let format = match &a.image {
        Some(path) => Some(ctx.storage.probe_format(path)?),
        None => None,
    };
    let group = vm.ids.rbd_group();
    let images = ctx.storage.group_images(&group)?;
    if images.is_empty() {
        return Err(Error::invalid(format!(
            "VM {name} has no RBD group {}/{group}: it was not made by vm-mgr; nothing was changed.",
            ctx.storage.pool()
        )));
    }
    let index = crate::disk_xml::next_data_index(name, &images);
    let image = vm.ids.data_image(index);
    if ctx.storage.image_exists(&image)? {
        return Err(Error::invalid(format!(
            "Image {} exists already but is not in the VM's group (left by an earlier run? see \
             vm-mgr doctor); nothing was changed.",
            ctx.storage.image_label(&image)
        )));
    }
    let spec = format!("{}/{image}", ctx.storage.pool());
    let added = crate::disk_xml::add_rbd_disk(&vm.xml, &spec, &a.bus)?;
    if let Some(w) = crate::domain::validate(&added.xml, "the changed domain XML")? {
        ctx.progress.say(&format!("warning: {w}"));
    }
    let mut settings = vm.settings.clone();
    settings.additional_disks = settings.additional_disks.saturating_add(1);
    if ctx.dry_run {
        let keys = changing::store(ctx, &vm, Some(&added.xml), Some(&settings), None)?;
        let mut actions = vec![match (&a.image, size) {
            (Some(p), _) => format!("import {} into {spec}", p.display()),
            (None, s) => format!("create {spec} of {} bytes", s.unwrap_or(0)),
        }];
        actions.push(format!(
            "add {spec} to group {}/{group}",
            ctx.storage.pool()
        ));
        if let Some(node) = &vm.node {
            actions.push(format!("attach it as {} to {name} on {node}", added.dev));
        }
        actions.push(format!(
            "set metadata {} on {}",
            keys.join(", "),
            vm.ids.system_image()
        ));
        let mut out = crate::output::dry_run_outcome(name, "add-disk", &actions, None);
        if let Some(o) = out.json.as_object_mut() {
            o.insert("domain_xml".into(), json!(added.xml));
        }
        return Ok(out);
    }
    let made = make_image(ctx, &image, a.image.as_ref(), format.as_deref(), size)
        .and_then(|()| ctx.storage.group_add(&group, &image).map_err(Error::from))
        .and_then(|()| changing::store(ctx, &vm, Some(&added.xml), Some(&settings), None));
    if let Err(e) = made {
        let _cleanup = crate::cluster::interrupt::cleanup();
        let _ = ctx.storage.group_remove(&group, &image);
        let undo = match ctx.storage.remove_image(&image) {
            Ok(()) => format!("removed {spec}"),
            Err(u) if u.is_not_found() => "nothing was made".to_owned(),
            Err(u) => format!("removing {spec} failed: {u}"),
        };
        return Err(Error::Undone {
            what: format!("Adding a disk to VM {name}"),
            undo,
            source: Box::new(e),
        });
    }
    let refused = attach(ctx, &vm, &added.disk);
    Ok(outcome(&vm, &spec, &added.dev, &a.bus, refused))
}

/// `--size`: bytes, a whole number of MiB (RBD sizes), 1 MiB to 1 PiB.
fn disk_size(s: &str) -> Result<u64> {
    let bytes = crate::resources::parse_size("--size", s)?;
    if bytes % (1 << 20) != 0 || !(1 << 20..=MAX_DISK_BYTES).contains(&bytes) {
        return Err(Error::invalid(format!(
            "--size {s:?}: it must be whole MiB, from 1 MiB to 1 PiB."
        )));
    }
    Ok(bytes)
}

/// Makes `image`: imports `file`, or a sparse raw file of `size` bytes.
fn make_image(
    ctx: &Ctx,
    image: &str,
    file: Option<&PathBuf>,
    format: Option<&str>,
    size: Option<u64>,
) -> Result<()> {
    if let (Some(path), Some(format)) = (file, format) {
        return crate::steps::copying::import(ctx, path, format, image);
    }
    let dir =
        shared::tempdir::PrivateDir::new("vmmgr-disk").map_err(|source| Error::WriteFile {
            path: std::env::temp_dir().join("vmmgr-disk-*"),
            source,
        })?;
    // named after the image: the progress lines name it
    let path = dir.path().join(format!("{image}.raw"));
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(size.unwrap_or(0)))
        .map_err(|source| Error::WriteFile {
            path: path.clone(),
            source,
        })?;
    crate::steps::copying::import(ctx, &path, "raw", image)
}

/// Attaches the disk to the running guest; libvirt's refusal, if any.
fn attach(ctx: &Ctx, vm: &Vm, disk: &str) -> Option<String> {
    let node = vm.node.as_deref()?;
    let uri = changing::node_uri(ctx, vm, node);
    let name = vm.ids.name();
    ctx.progress
        .say(&format!("{name}: attaching the new disk ({uri})"));
    changing::attach(&uri, name, disk).err()
}

fn outcome(vm: &Vm, spec: &str, dev: &str, bus: &str, refused: Option<String>) -> Outcome {
    let name = vm.ids.name();
    let live = vm.node.is_some() && refused.is_none();
    let mut text = format!("{name}: disk {spec} added as {dev} ({bus})");
    match (&vm.node, &refused) {
        (Some(_), None) => text.push_str(", attached to the running guest\n"),
        (Some(_), Some(why)) => text.push_str(&format!(
            "\n{name}: applies at next start (libvirt: {why})\n"
        )),
        (None, _) => text.push('\n'),
    }
    Outcome::new(
        json!({
            "name": name,
            "image": spec,
            "dev": dev,
            "bus": bus,
            "node": vm.node,
            "live": live,
            "next_start": refused.map(|why| format!("the disk (libvirt: {why})")),
        }),
        text,
    )
}
