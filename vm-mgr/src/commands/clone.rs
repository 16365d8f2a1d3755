//! `clone -n VM --dst-name NEW [--snap-name S] [--full] [--xml FILE] [--clear-constraint]
//! [--disable|--nostart]`: a new VM from the disks of VM at snapshot S (one taken now and
//! removed afterwards when none is named): copy-on-write clones (`rbd clone`, clone v2, no
//! protection needed) or, with `--full`, independent copies (`rbd cp`). The new VM gets its own
//! name, UUID and MAC addresses, the source's metadata (not its snapshots), its settings
//! (without pinned/preferred host with `--clear-constraint`), and is enabled unless
//! `--disable`. A failure undoes everything made so far.
//!
//! On the dir backend `--full` converts each disk's snapshot into a new qcow2 file in the
//! clone's directory; a copy-on-write clone's disks are qcow2 overlays of a read-only base of
//! the snapshot, written once under `DIR/.bases/` and shared by that snapshot's clones, deleted
//! with the last of them (see `storage::dir_bases`).

use std::collections::BTreeMap;

use serde_json::json;

use crate::cli::CloneArgs;
use crate::ctx::Ctx;
use crate::domain::{self, RbdDisks};
use crate::error::{Error, Result};
use crate::fragment::Fragment;
use crate::output::Outcome;
use crate::state::VmState;
use crate::steps::clone_xml::{self, Renaming};
use crate::steps::copying::{self, copy_image_name, copy_meta, refuse_existing, undo};
use crate::steps::enabling;
use crate::steps::snapshots::{self as snapshot, snap_key};
use crate::vm::{self, Settings, VmIds};

/// What a clone is made of, computed before anything changes.
struct Plan {
    /// The source's disks.
    disks: Vec<String>,
    /// The source's metadata.
    meta: BTreeMap<String, String>,
    /// The clone's settings.
    settings: Settings,
    /// (source image, clone image) pairs.
    images: Vec<(String, String)>,
    /// The clone's domain XML.
    xml: String,
    /// The clone's CIB fragment.
    fragment: Fragment,
    /// "copy" or "clone (copy-on-write)".
    how: &'static str,
}

/// Runs `clone`.
pub fn run(ctx: &Ctx, a: &CloneArgs) -> Result<Outcome> {
    let (src, dst) = (a.name.as_str(), a.dst_name.as_str());
    let plan = check(ctx, a)?;
    if ctx.dry_run {
        return Ok(dry_run(ctx, a, &plan));
    }
    store(ctx, a, &plan)?;
    let base = json!({"name": dst, "source": src, "snapshot": a.snap_name, "full": a.full,
                      "images": plan.images.iter().map(|(_, d)| d).collect::<Vec<_>>()});
    if a.disable {
        let mut j = base;
        j["state"] = json!(VmState::Disabled);
        j["node"] = json!(null);
        return Ok(Outcome::new(
            j,
            format!("{dst}: cloned from {src} (disabled)\n"),
        ));
    }
    let enabled = enabling::enable_or_remove(
        ctx,
        dst,
        &plan.fragment,
        a.nostart,
        format!("Enabling the clone {dst}"),
        "the clone was removed again",
    )?;
    let mut out = enabled.outcome(dst, &format!("cloned from {src}"));
    if let (Some(o), Some(b)) = (out.json.as_object_mut(), base.as_object()) {
        o.extend(
            b.iter()
                .filter(|(k, _)| *k != "name")
                .map(|(k, v)| (k.clone(), v.clone())),
        );
    }
    Ok(out)
}

/// Checks the request and computes the clone; changes nothing.
fn check(ctx: &Ctx, a: &CloneArgs) -> Result<Plan> {
    let (src, dst) = (a.name.as_str(), a.dst_name.as_str());
    vm::validate_name(dst)?;
    if src == dst {
        return Err(Error::invalid(
            "The clone needs a name of its own (--dst-name).",
        ));
    }
    if let Some(s) = &a.snap_name {
        snapshot::validate_snap_name(s)?;
    }
    let disks = snapshot::vm_disks(ctx, src)?;
    let cib = refuse_existing(ctx, dst)?;
    let src_ids = VmIds::new(src);
    let meta = ctx.storage.meta_list(&src_ids.system_image())?;
    if let Some(s) = &a.snap_name {
        check_snapshot(ctx, src, s, &disks)?;
    }
    let pick = |part: &str, key: &str| {
        a.snap_name
            .as_ref()
            .and_then(|s| meta.get(&snap_key(s, part)))
            .or_else(|| meta.get(key))
            .cloned()
    };
    let mut settings = match pick("settings", vm::META_SETTINGS) {
        Some(j) => Settings::from_json(src, &j)?,
        None => Settings::default(),
    };
    if a.clear_constraint {
        settings.pinned_host = None;
        settings.preferred_host = None;
    }
    override_pacemaker(&mut settings, a)?;
    // Two guest nodes cannot share a name (nor, mostly, an address): the copy is a plain VM.
    settings.guest_node = None;
    let images: Vec<(String, String)> = disks
        .iter()
        .map(|d| (d.clone(), copy_image_name(src, dst, d)))
        .collect();
    let xml = new_xml(ctx, a, &pick("xml", vm::META_XML), &images, &settings)?;
    let fragment = copying::new_fragment(ctx, &cib, &VmIds::new(dst), &settings)?;
    let wanted = copy_meta(&meta, dst, &settings, &fragment, &xml);
    crate::steps::copying::check_writes(ctx, &cib, &fragment, false, &wanted)?;
    let how = if a.full {
        "copy"
    } else {
        "clone (copy-on-write)"
    };
    Ok(Plan {
        disks,
        meta,
        settings,
        images,
        xml,
        fragment,
        how,
    })
}

/// Fails unless VM `src` has snapshot `s`, on every disk.
fn check_snapshot(ctx: &Ctx, src: &str, s: &str, disks: &[String]) -> Result<()> {
    let snaps = snapshot::list_snaps(ctx, src)?;
    if !snaps.iter().any(|x| x.name == s) {
        return Err(snapshot::unknown_snapshot(src, s, &snaps));
    }
    for d in disks {
        if !ctx
            .storage
            .image_snaps(d)?
            .iter()
            // on the dir backend each disk's part of the snapshot is the one to copy
            .any(|x| x.is_user_snap(s) || (ctx.storage.dir().is_some() && x.is_group_snap(s)))
        {
            return Err(Error::invalid(format!(
                "Disk {d} has no snapshot {s} to clone from (not taken by vm-mgr); nothing \
                 was changed."
            )));
        }
    }
    Ok(())
}

/// `--dry-run`: what [`store`] and enabling would do.
fn dry_run(ctx: &Ctx, a: &CloneArgs, plan: &Plan) -> Outcome {
    let dst = a.dst_name.as_str();
    let pool = ctx.storage.pool().to_owned();
    let how = plan.how;
    let at = a
        .snap_name
        .clone()
        .unwrap_or_else(|| "a snapshot taken now".into());
    let mut actions: Vec<String> = plan
        .images
        .iter()
        .map(|(s, d)| format!("{how} {pool}/{s} at {at} into {pool}/{d}"))
        .collect();
    if let (Some(dir), false) = (ctx.storage.dir(), a.full) {
        actions.push(format!(
            "write the snapshot's read-only base under {} unless it exists (shared by its \
             clones, deleted with the last)",
            dir.bases_dir().display()
        ));
    }
    actions.push(match ctx.storage.dir() {
        Some(dir) => format!("create the VM directory {}", dir.vm_dir(dst).display()),
        None => format!("create RBD group {pool}/{dst} with those images"),
    });
    actions.push(format!(
        "set the metadata of {pool}/{}",
        VmIds::new(dst).system_image()
    ));
    if !a.disable {
        actions.push(format!("enable {dst}"));
    }
    let mut out = crate::output::dry_run_outcome(dst, "clone", &actions, None);
    if let Some(o) = out.json.as_object_mut() {
        o.insert("domain_xml".into(), json!(plan.xml));
    }
    out
}

/// Copies the disks (at the snapshot asked for, or one taken now and dropped afterwards) into
/// the clone's images and group, and writes its metadata; undoes all that on failure.
fn store(ctx: &Ctx, a: &CloneArgs, plan: &Plan) -> Result<()> {
    let (src, dst) = (a.name.as_str(), a.dst_name.as_str());
    let pool = ctx.storage.pool().to_owned();
    let dst_ids = VmIds::new(dst);
    let (snap, temporary) = match &a.snap_name {
        Some(s) => (s.clone(), false),
        None => {
            let t = format!("vmmgr-clone-{dst}");
            let (m, warnings) = snapshot::take(ctx, src, &t)?;
            for w in warnings {
                ctx.progress.say(&format!("warning: {w}"));
            }
            ctx.progress
                .say(&format!("{src}: snapshot {t} taken ({})", m.consistency));
            (t, true)
        }
    };
    let mut made = Vec::new();
    let mut group_made = false;
    let stored = (|| -> Result<()> {
        if ctx.storage.dir().is_some() {
            // the VM directory holds the disk files: it comes first
            ctx.storage.create_group(&dst_ids.rbd_group())?;
            group_made = true;
        }
        for (s, d) in &plan.images {
            ctx.progress.say(&format!(
                "{dst}: {} of {pool}/{s}@{snap} → {pool}/{d}",
                plan.how
            ));
            made.push(d.clone());
            if a.full {
                ctx.storage.copy_image(s, &snap, d)?;
            } else {
                ctx.storage.clone_image(s, &snap, d)?;
            }
        }
        if !group_made {
            ctx.storage.create_group(&dst_ids.rbd_group())?;
            group_made = true;
        }
        for (_, d) in &plan.images {
            ctx.storage.group_add(&dst_ids.rbd_group(), d)?;
        }
        // `rbd clone` and `rbd cp` copy the image metadata: drop what the copy must not have
        // (the source's snapshot keys) before writing its own.
        let wanted = copy_meta(&plan.meta, dst, &plan.settings, &plan.fragment, &plan.xml);
        let system = dst_ids.system_image();
        for k in ctx.storage.meta_list(&system)?.into_keys() {
            if !wanted.iter().any(|(w, _)| *w == k) {
                ctx.storage.meta_remove(&system, &k)?;
            }
        }
        for (k, v) in wanted {
            ctx.storage.meta_set(&system, &k, &v)?;
        }
        Ok(())
    })();
    if temporary {
        let _cleanup = crate::cluster::interrupt::cleanup();
        // With clone v2 the disks' snapshots move to Ceph's trash while clones need them.
        for p in snapshot::drop_snapshot(ctx, src, &snap, &plan.disks) {
            ctx.progress.say(&format!(
                "warning: removing the temporary snapshot {snap}: {p}"
            ));
        }
    }
    if let Err(e) = stored {
        let undo = undo(ctx, dst, &made, group_made);
        return Err(Error::Undone {
            what: format!("Cloning VM {src} into {dst}"),
            undo,
            source: Box::new(e),
        });
    }
    Ok(())
}

/// The clone's domain XML: from `--xml` (disks replaced as create does) or the source's.
fn new_xml(
    ctx: &Ctx,
    a: &CloneArgs,
    source_xml: &Option<String>,
    images: &[(String, String)],
    settings: &Settings,
) -> Result<String> {
    let pool = ctx.storage.pool();
    let dst = a.dst_name.as_str();
    let uuid = clone_xml::new_uuid()?;
    let disks: BTreeMap<String, String> = images
        .iter()
        .map(|(s, d)| (format!("{pool}/{s}"), format!("{pool}/{d}")))
        .collect();
    let renaming = Renaming {
        name: dst,
        uuid: &uuid,
        disks: &disks,
    };
    let (xml, what) = match &a.xml {
        _ if ctx.storage.dir().is_some() => {
            // the disks become the clone's files, whichever XML it starts from
            let (text, what) = match &a.xml {
                Some(path) => (
                    shared::fsread::read_text(path, shared::fsread::XML_CAP).map_err(|source| {
                        Error::ReadFile {
                            path: path.clone(),
                            source,
                        }
                    })?,
                    path.display().to_string(),
                ),
                None => (
                    stored_xml(a, source_xml)?,
                    format!("the XML of VM {}", a.name),
                ),
            };
            let new_images: Vec<String> = images.iter().map(|(_, d)| d.clone()).collect();
            let xml =
                copying::storage_xml(ctx, &text, &what, dst, &new_images, &settings.disk_bus)?;
            (xml, what)
        }
        Some(path) => {
            let text =
                shared::fsread::read_text(path, shared::fsread::XML_CAP).map_err(|source| {
                    Error::ReadFile {
                        path: path.clone(),
                        source,
                    }
                })?;
            let what = path.display().to_string();
            let client = ctx.storage.client_id().to_owned();
            let secret = match &ctx.config.secret_uuid {
                Some(u) => Some(u.clone()),
                None => domain::find_ceph_secret(&client)?,
            };
            let mons = ctx.storage.mon_hosts()?;
            let new_images: Vec<String> = images.iter().map(|(_, d)| d.clone()).collect();
            let xml = domain::rewrite(
                &text,
                &what,
                dst,
                &RbdDisks {
                    pool,
                    images: &new_images,
                    bus: &settings.disk_bus,
                    client_id: &client,
                    secret_uuid: secret.as_deref(),
                    mons: &mons,
                },
            )?;
            (xml, what)
        }
        None => (
            stored_xml(a, source_xml)?,
            format!("the XML of VM {}", a.name),
        ),
    };
    clone_xml::rewrite(&xml, &what, &renaming, &mut clone_xml::new_mac)
}

/// The source's domain XML, as stored (at the snapshot when one is named).
fn stored_xml(a: &CloneArgs, source_xml: &Option<String>) -> Result<String> {
    source_xml.clone().ok_or_else(|| Error::Stored {
        name: a.name.clone(),
        what: "domain XML",
        detail: "the metadata key xml is not set".into(),
    })
}

/// SEAPATH's `--clear-pacemaker-*` (drop what the source had) and `--pacemaker-*` (added over
/// what is inherited), checked as create checks them.
fn override_pacemaker(settings: &mut Settings, a: &CloneArgs) -> Result<()> {
    if a.clear_pacemaker_meta {
        settings.pacemaker_meta.clear();
    }
    if a.clear_pacemaker_params {
        settings.pacemaker_params.clear();
    }
    if a.clear_pacemaker_utilization {
        settings.pacemaker_utilization.clear();
    }
    let meta = vm::parse_pairs("--pacemaker-meta", &a.pacemaker_meta)?;
    vm::refuse_own_meta(&meta)?;
    settings.pacemaker_meta.extend(meta);
    let params = vm::parse_pairs("--pacemaker-params", &a.pacemaker_params)?;
    settings.pacemaker_params.extend(params);
    let util = vm::parse_pairs("--pacemaker-utilization", &a.pacemaker_utilization)?;
    settings.pacemaker_utilization.extend(util);
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn clone_of(args: &[&str]) -> CloneArgs {
        let argv = ["vm-mgr", "clone", "-n", "a", "--dst_name", "b"];
        match Cli::parse_from(argv.iter().chain(args)).command {
            Command::Clone(c) => c,
            other => panic!("{other:?}"),
        }
    }

    fn source() -> Settings {
        let pairs = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
        Settings {
            pacemaker_meta: pairs("resource-stickiness", "50"),
            pacemaker_params: pairs("migration_transport", "tcp"),
            pacemaker_utilization: pairs("cpu", "2"),
            ..Settings::default()
        }
    }

    #[test]
    fn the_source_s_pacemaker_settings_are_inherited_cleared_or_overridden() {
        let mut kept = source();
        override_pacemaker(&mut kept, &clone_of(&[])).unwrap();
        assert_eq!(kept.pacemaker_meta, source().pacemaker_meta);
        assert_eq!(kept.pacemaker_params, source().pacemaker_params);

        // SEAPATH's underscore spellings, one flag of each kind.
        let mut cleared = source();
        let a = clone_of(&[
            "--clear_pacemaker_meta",
            "--clear_pacemaker_utilization",
            "--pacemaker_params",
            "migration_transport=ssh",
            "--pacemaker-utilization",
            "hv_memory=512",
        ]);
        override_pacemaker(&mut cleared, &a).unwrap();
        assert!(cleared.pacemaker_meta.is_empty());
        assert_eq!(cleared.pacemaker_params["migration_transport"], "ssh");
        assert_eq!(
            cleared.pacemaker_utilization,
            BTreeMap::from([("hv_memory".to_owned(), "512".to_owned())])
        );
    }

    #[test]
    fn the_meta_vm_mgr_owns_is_refused_as_create_refuses_it() {
        let e = override_pacemaker(
            &mut source(),
            &clone_of(&["--pacemaker-meta", "target-role=Started"]),
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE, "{e}");
    }
}
