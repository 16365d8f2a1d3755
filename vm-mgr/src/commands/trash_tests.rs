//! `remove` (to the trash and `--purge`), `list --removed` and `restore` on a private copy of a
//! recorded CIB (real `cibadmin`/`crm_mon` through `CIB_file`) and in-memory storage.

use super::testing::{stored_vm, CibFile};
use crate::cli_trash::RemoveArgs;
use crate::ctx::Ctx;
use crate::steps::trash::META_TRASH;
use crate::storage::snapshots::SnapshotStore;
use crate::storage::Storage;
use crate::vm::META_FRAGMENT;

fn remove_args(name: &str, purge: bool) -> RemoveArgs {
    RemoveArgs {
        name: name.into(),
        purge,
        yes: true,
    }
}

/// t1 enabled in the CIB, its system and a data image in its RBD group.
fn t1(dry_run: bool) -> (CibFile, Ctx) {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let storage = stored_vm("t1", &Default::default()).with_image("data_t1_1", &[("k", "v")]);
    storage.create_group("t1").unwrap();
    storage.group_add("t1", "system_t1").unwrap();
    storage.group_add("t1", "data_t1_1").unwrap();
    storage.snap_create("data_t1_1", "s1").unwrap();
    let ctx = f.ctx(storage, dry_run);
    (f, ctx)
}

#[test]
fn remove_moves_the_images_to_the_trash_and_restore_brings_the_vm_back_disabled() {
    let (f, ctx) = t1(false);
    let fragment_in_cib = crate::fragment::extract(
        shared::pacemaker::Cib::parse(&f.text()).unwrap().element(),
        "t1",
    )
    .unwrap()
    .to_xml()
    // kept as disable keeps it: after the stop
    .replace(
        r#"name="target-role" value="Started""#,
        r#"name="target-role" value="Stopped""#,
    );
    let out = super::remove::run(&ctx, &remove_args("t1", false)).unwrap();
    assert_eq!(out.json["purged"], false);
    assert!(out.json["trash_expires_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    // out of the CIB, nothing left in the pool's listings
    assert!(!crate::fragment::in_cib(
        shared::pacemaker::Cib::parse(&f.text()).unwrap().element(),
        "t1"
    ));
    assert!(ctx.storage.list_images().unwrap().is_empty());
    assert!(ctx.storage.list_groups().unwrap().is_empty());
    // both images in the trash, with one expiry, trash-days (7) from now
    let trash = ctx.storage.trash_list().unwrap();
    let mut names: Vec<&str> = trash.iter().map(|e| e.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["data_t1_1", "system_t1"]);
    assert_eq!(trash[0].expires_at, trash[1].expires_at);
    let days = (trash[0].expires_at - trash[0].deleted_at) as f64 / 86_400.0;
    assert!((6.99..=7.01).contains(&days), "{days}");

    // list --removed
    let listed = super::list::removed(&ctx).unwrap();
    let vm = &listed.json[0];
    for key in [
        "name",
        "removed_at",
        "expires_at",
        "expired",
        "restorable",
        "images",
    ] {
        assert!(vm.get(key).is_some(), "{key} in {vm}");
    }
    assert_eq!(vm["name"], "t1");
    assert_eq!(vm["restorable"], true);
    assert_eq!(vm["images"][1]["name"], "data_t1_1");
    assert!(listed.text.starts_with("NAME"), "{}", listed.text);
    // the system image first
    assert!(
        listed.text.contains("system_t1,data_t1_1"),
        "{}",
        listed.text
    );

    // restore: images and group back, the fragment as it was in the CIB, disabled
    let out = super::restore::run(&ctx, "t1").unwrap();
    assert_eq!(out.json["state"], "Disabled");
    assert_eq!(
        ctx.storage.list_images().unwrap(),
        ["data_t1_1", "system_t1"]
    );
    let mut grouped = ctx.storage.group_images("t1").unwrap();
    grouped.sort();
    assert_eq!(grouped, ["data_t1_1", "system_t1"]);
    assert!(ctx.storage.trash_list().unwrap().is_empty());
    let meta = ctx.storage.meta_list("system_t1").unwrap();
    assert_eq!(meta.get(META_FRAGMENT), Some(&fragment_in_cib));
    assert_eq!(meta.get("owner").map(String::as_str), Some("ops"));
    assert!(!meta.contains_key(META_TRASH), "the trash record is gone");
    assert_eq!(
        ctx.storage.meta_get("data_t1_1", "k").unwrap().as_deref(),
        Some("v")
    );
    // its snapshots were dropped (a trashed image with snapshots cannot be deleted)
    assert!(ctx.storage.image_snaps("data_t1_1").unwrap().is_empty());
    let st = super::status::run(&ctx, "t1").unwrap();
    assert_eq!(st.json["state"], "Disabled");

    // a second restore: the VM exists (exit 4), nothing changes
    let e = super::restore::run(&ctx, "t1").unwrap_err();
    assert_eq!(e.exit_code(), 4, "{e}");
    // enable puts the kept fragment back
    super::enable::run(&ctx, "t1", true).unwrap();
    assert!(crate::fragment::in_cib(
        shared::pacemaker::Cib::parse(&f.text()).unwrap().element(),
        "t1"
    ));
}

#[test]
fn remove_purge_leaves_nothing_not_even_in_the_trash() {
    let (f, ctx) = t1(false);
    super::remove::run(&ctx, &remove_args("t1", true)).unwrap();
    assert!(ctx.storage.list_images().unwrap().is_empty());
    assert!(ctx.storage.list_groups().unwrap().is_empty());
    assert!(ctx.storage.trash_list().unwrap().is_empty());
    let cib = f.text();
    let config_part = &cib[..cib.find("<status").unwrap_or(cib.len())];
    assert!(!config_part.contains("t1"), "{config_part}");
    // nothing to restore: exit 3
    let e = super::restore::run(&ctx, "t1").unwrap_err();
    assert_eq!(e.exit_code(), 3, "{e}");
    assert!(super::list::removed(&ctx)
        .unwrap()
        .json
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn dry_runs_of_remove_and_restore_change_nothing() {
    let (f, ctx) = t1(true);
    let before = f.text();
    let out = super::remove::run(&ctx, &remove_args("t1", false)).unwrap();
    let actions = out.json["storage_actions"].as_array().unwrap();
    let text: Vec<&str> = actions.iter().map(|a| a.as_str().unwrap()).collect();
    assert!(
        text.iter()
            .any(|a| a.starts_with("move image rbd/system_t1 to the trash until")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|a| a.contains("keep the CIB fragment")),
        "{text:?}"
    );
    assert!(
        !text.iter().any(|a| a.starts_with("delete image")),
        "{text:?}"
    );
    let out = super::remove::run(&ctx, &remove_args("t1", true)).unwrap();
    let purge = out.json["storage_actions"].to_string();
    assert!(purge.contains("delete image rbd/system_t1"), "{purge}");
    assert!(!purge.contains("trash"), "{purge}");
    assert_eq!(f.text(), before);
    assert_eq!(ctx.storage.list_images().unwrap().len(), 2);
    assert!(ctx.storage.trash_list().unwrap().is_empty());
    // restore of an existing VM: refused in a dry run too
    assert_eq!(super::restore::run(&ctx, "t1").unwrap_err().exit_code(), 4);
}

#[test]
fn restore_takes_the_latest_removal_of_a_name() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let storage = stored_vm("v1", &Default::default());
    storage.trash_move("system_v1", 5_000_000_000).unwrap();
    let storage = storage.with_image("system_v1", &[("vm_name", "v1"), ("gen", "2")]);
    storage.trash_move("system_v1", 5_000_000_100).unwrap();
    let ctx = f.ctx(storage, false);
    let listed = super::list::removed(&ctx).unwrap();
    assert_eq!(listed.json.as_array().unwrap().len(), 2);
    super::restore::run(&ctx, "v1").unwrap();
    // the second removal (later deleted_at or, within one second, the later expiry) is back
    assert_eq!(
        ctx.storage.meta_get("system_v1", "gen").unwrap().as_deref(),
        Some("2")
    );
    assert_eq!(ctx.storage.trash_list().unwrap().len(), 1);
}

/// `remove-disk` on a stopped VM (in-memory storage, the recorded CIB with the real tools):
/// a data disk added with `add-disk` leaves the stored XML and settings and goes to the trash
/// (or is deleted with --purge); the system disk and a disk held by a snapshot are refused.
#[test]
fn remove_disk_takes_a_data_disk_to_the_trash_and_refuses_the_rest() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let mut ctx = f.ctx(crate::storage::mem::Memory::new(), false);
    ctx.config.secret_uuid = Some("a1f0c3e2-5b1d-4c3a-9e8f-5a4db0c0ffee".into());
    let mut a = super::tests::create_args(&f.dir, "rd1");
    a.vm.disable = true;
    super::create::run(&ctx, &a).unwrap();
    let add = |size: &str| crate::cli_change::AddDiskArgs {
        name: "rd1".into(),
        size: Some(size.into()),
        image: None,
        bus: "virtio".into(),
    };
    super::add_disk::run(&ctx, &add("16M")).unwrap();
    super::add_disk::run(&ctx, &add("8M")).unwrap();
    let rm = |disk: &str, purge: bool| crate::cli_change::RemoveDiskArgs {
        name: "rd1".into(),
        disk: disk.into(),
        purge,
    };
    let e = super::remove_disk::run(&ctx, &rm("system_rd1", false)).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    let e = super::remove_disk::run(&ctx, &rm("vdz", false)).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");

    let out = super::remove_disk::run(&ctx, &rm("vdb", false)).unwrap();
    assert_eq!(out.json["image"], "rbd/data_rd1_0", "{}", out.json);
    let meta = ctx.storage.meta_list("system_rd1").unwrap();
    assert!(!meta["xml"].contains("data_rd1_0") && meta["xml"].contains("data_rd1_1"));
    assert!(
        meta["_vmmgr_settings"].contains(r#""additional_disks":1"#),
        "{}",
        meta["_vmmgr_settings"]
    );
    assert_eq!(
        ctx.storage.group_images("rd1").unwrap(),
        ["system_rd1", "data_rd1_1"]
    );
    let trash = ctx.storage.trash_list().unwrap();
    assert_eq!(
        trash.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["data_rd1_0"]
    );

    // A group snapshot holds the other data disk: refused, nothing changed.
    ctx.storage.group_snap_create("rd1", "s1").unwrap();
    let e = super::remove_disk::run(&ctx, &rm("data_rd1_1", true)).unwrap_err();
    assert_eq!(e.exit_code(), 7, "{e}");
    assert_eq!(ctx.storage.group_images("rd1").unwrap().len(), 2);
    ctx.storage.group_snap_remove("rd1", "s1").unwrap();
    super::remove_disk::run(&ctx, &rm("data_rd1_1", true)).unwrap();
    assert!(!ctx.storage.image_exists("data_rd1_1").unwrap());
    assert_eq!(
        ctx.storage.trash_list().unwrap().len(),
        1,
        "--purge deletes"
    );
}
