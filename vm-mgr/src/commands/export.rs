//! `export -n VM --to DIR`: a self-contained copy of the VM in a directory, for `vm-mgr
//! import` on this or another cluster:
//!
//! | File | Content |
//! |---|---|
//! | `manifest.json` | format `vm-mgr-export` version 1, name, pool (the directory on the dir backend), `storage` (`rbd` or `dir`; absent: rbd), time, consistency, disks, snapshot list |
//! | `disks/IMAGE.raw` | each disk (`rbd export`, or `qemu-img convert` of the qcow2 snapshot on the dir backend) at a snapshot taken for the export and removed afterwards |
//! | `domain.xml` | the domain XML (metadata key `xml`) |
//! | `metadata.json` | every metadata key of the system image but the snapshots' |
//! | `fragment.xml` | the VM's CIB fragment (from the CIB when enabled, else as kept by disable) |
//!
//! Snapshots themselves are listed, not exported. A failure removes the directory's content.
//! The format is the same for both backends, so `import` takes an export into either.

use std::path::{Path, PathBuf};

use serde_json::json;
use shared::clock;

use crate::cli::ExportArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment;
use crate::output::Outcome;
use crate::steps::copying::{FORMAT, VERSION};
use crate::steps::snapshots as snapshot;
use crate::vm::{self, VmIds};

fn write(path: PathBuf, text: &str) -> Result<()> {
    std::fs::write(&path, text).map_err(|source| Error::WriteFile { path, source })
}

fn usable_dir(dir: &Path) -> Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::invalid(format!(
                    "{} is not empty; export writes into a new or empty directory.",
                    dir.display()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::ReadFile {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// What an export writes besides the disks, read before anything is written.
struct Source {
    meta: std::collections::BTreeMap<String, String>,
    snaps: Vec<snapshot::SnapInfo>,
    enabled: bool,
    fragment: Option<String>,
}

/// Runs `export`.
pub fn run(ctx: &Ctx, a: &ExportArgs) -> Result<Outcome> {
    let name = a.name.as_str();
    let ids = VmIds::new(name);
    let disks = snapshot::vm_disks(ctx, name)?;
    usable_dir(&a.to)?;
    if ctx.dry_run {
        return Ok(dry_run(name, ctx.storage.pool(), &disks, &a.to));
    }
    let meta = ctx.storage.meta_list(&ids.system_image())?;
    let snaps = snapshot::list_snaps(ctx, name)?;
    let (cib, _) = crate::cluster::read_cluster(ctx)?;
    let src = Source {
        enabled: fragment::in_cib(cib.element(), name),
        fragment: match fragment::extract(cib.element(), name) {
            Some(f) => Some(f.to_xml()),
            None => meta.get(vm::META_FRAGMENT).cloned(),
        },
        meta,
        snaps,
    };
    let created = !a.to.exists();
    match write_export(ctx, name, &disks, &src, &a.to) {
        Ok(consistency) => Ok(Outcome::new(
            json!({"name": name, "to": a.to, "disks": disks, "consistency": consistency,
                   "snapshots": src.snaps.iter().map(|s| &s.name).collect::<Vec<_>>()}),
            format!("{name}: exported to {} ({consistency})\n", a.to.display()),
        )),
        Err(e) => Err(Error::Undone {
            what: format!("Exporting VM {name}"),
            undo: empty_dir(&a.to, created),
            source: Box::new(e),
        }),
    }
}

/// Writes the export of `name` into `to`: its disks at a snapshot taken now (and removed
/// again), then the manifest, domain XML, metadata and fragment. Returns the snapshot's
/// consistency.
fn write_export(
    ctx: &Ctx,
    name: &str,
    disks: &[String],
    src: &Source,
    to: &Path,
) -> Result<String> {
    let disk_dir = to.join("disks");
    std::fs::create_dir_all(&disk_dir).map_err(|source| Error::WriteFile {
        path: disk_dir.clone(),
        source,
    })?;
    let pool = ctx.storage.pool();
    let now = clock::unix_secs();
    let snap = format!("vmmgr-export-{now}");
    let (m, warnings) = snapshot::take(ctx, name, &snap)?;
    for w in warnings {
        ctx.progress.say(&format!("warning: {w}"));
    }
    let mut files = Vec::new();
    let exported = disks.iter().try_for_each(|d| {
        let file = disk_dir.join(format!("{d}.raw"));
        ctx.progress.say(&format!(
            "{name}: exporting {pool}/{d} → {}",
            file.display()
        ));
        ctx.storage.export_image(d, &snap, &file)?;
        files.push(json!({"image": d, "file": format!("disks/{d}.raw")}));
        Ok::<(), Error>(())
    });
    let cleanup = crate::cluster::interrupt::cleanup();
    for p in snapshot::drop_snapshot(ctx, name, &snap, disks) {
        ctx.progress.say(&format!(
            "warning: removing the export snapshot {snap}: {p}"
        ));
    }
    drop(cleanup);
    exported?;
    let manifest = json!({
        "format": FORMAT, "version": VERSION, "name": name, "pool": pool,
        "storage": ctx.storage.backend().as_str(),
        "exported": now, "exported_at": clock::utc_secs(now),
        "consistency": m.consistency, "enabled": src.enabled,
        "disks": files, "snapshots": src.snaps,
    });
    write(
        to.join("manifest.json"),
        &serde_json::to_string_pretty(&manifest).unwrap_or_default(),
    )?;
    write(
        to.join("domain.xml"),
        src.meta.get(vm::META_XML).map_or("", String::as_str),
    )?;
    let kept = snapshot::meta_without_snaps(&src.meta);
    write(
        to.join("metadata.json"),
        &serde_json::to_string_pretty(&kept).unwrap_or_default(),
    )?;
    if let Some(f) = &src.fragment {
        write(to.join("fragment.xml"), f)?;
    }
    Ok(m.consistency)
}

/// `--dry-run`: what exporting `disks` to `to` would do.
fn dry_run(name: &str, pool: &str, disks: &[String], to: &Path) -> Outcome {
    let mut actions = vec![format!("take a snapshot of {name} for the export")];
    actions.extend(disks.iter().map(|d| {
        format!(
            "export {pool}/{d} to {}",
            to.join("disks").join(format!("{d}.raw")).display()
        )
    }));
    actions.push("write manifest.json, domain.xml, metadata.json, fragment.xml".into());
    actions.push("remove the export snapshot".into());
    crate::output::dry_run_outcome(name, "export", &actions, None)
}

/// Empties the export directory `to` after a failure (removes it if the export `created` it);
/// says what was done, for the message.
fn empty_dir(to: &Path, created: bool) -> String {
    let disk_dir = to.join("disks");
    let cleaned = if created {
        std::fs::remove_dir_all(to)
    } else {
        std::fs::remove_dir_all(&disk_dir).map(|()| {
            for f in [
                "manifest.json",
                "domain.xml",
                "metadata.json",
                "fragment.xml",
            ] {
                let _ = std::fs::remove_file(to.join(f));
            }
        })
    };
    match cleaned {
        Ok(()) => format!("{} was emptied", to.display()),
        Err(c) => format!("emptying {} failed too: {c}", to.display()),
    }
}
