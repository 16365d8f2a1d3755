//! Snapshots of a stopped VM on the dir backend (internal qcow2 snapshots through the real
//! `qemu-img`), on a private copy of a recorded CIB (`CIB_file`) with the VM directory in a
//! private temporary directory. A running VM's (QEMU's monitor) is the e2e test's.

use std::path::Path;

use shared::cmd::Cmd;
use shared::qcow2::snapshots as qsnap;

use super::testing::CibFile;
use crate::ctx::Ctx;
use crate::storage::dir::Dir;
use crate::storage::testing::write_head;

fn dir_ctx(f: &CibFile) -> Ctx {
    let vms = f.dir.join("vms");
    std::fs::create_dir_all(&vms).unwrap();
    let mut ctx = f.ctx(Dir::new(&vms).unwrap(), false);
    ctx.config.storage_resource = Some("sandbox-fence".into());
    ctx
}

fn dry_ctx(f: &CibFile) -> Ctx {
    let mut dry = f.ctx(Dir::new(&f.dir.join("vms")).unwrap(), true);
    dry.config.storage_resource = Some("sandbox-fence".into());
    dry
}

fn purge_args(name: &str) -> crate::cli_trash::RemoveArgs {
    crate::cli_trash::RemoveArgs {
        name: name.into(),
        purge: true,
        yes: true,
    }
}

/// The first 16 bytes of the current content of qcow2 file `disk`.
fn head(f: &CibFile, disk: &Path) -> Vec<u8> {
    let raw = f.dir.join("head.raw");
    Cmd::new("qemu-img")
        .args(["convert", "-f", "qcow2", "-O", "raw", "--"])
        .arg(disk)
        .arg(&raw)
        .timeout(std::time::Duration::from_secs(30))
        .run()
        .unwrap();
    std::fs::read(&raw).unwrap()[..16].to_vec()
}

#[test]
fn snapshot_list_rollback_remove_purge_of_a_stopped_dir_vm() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let ctx = dir_ctx(&f);
    let mut a = super::tests::create_args(&f.dir, "s1vm");
    a.additional_disk = vec![a.image.clone()];
    super::create::run(&ctx, &a).unwrap();
    let vm = f.dir.join("vms/s1vm");
    let (system, data) = (vm.join("system.qcow2"), vm.join("data_1.qcow2"));
    assert_eq!(head(&f, &system), b"not really qcow2");

    // a dry run names the files and takes nothing
    let mut dry = f.ctx(Dir::new(&f.dir.join("vms")).unwrap(), true);
    dry.config.storage_resource = Some("sandbox-fence".into());
    let planned = super::snapshot::create(&dry, "s1vm", "before")
        .unwrap()
        .json
        .to_string();
    let want = format!("take internal snapshot before of {}, ", system.display());
    assert!(planned.contains(&want), "{planned}");
    assert!(qsnap::list(&system).unwrap().is_empty());

    let out = super::snapshot::create(&ctx, "s1vm", "before").unwrap();
    assert_eq!(out.json["consistency"], "stopped");
    assert_eq!(
        out.json["disks"],
        serde_json::json!(["system_s1vm", "data_s1vm_0"])
    );
    // one internal snapshot in each disk file
    for disk in [&system, &data] {
        let names: Vec<String> = qsnap::list(disk)
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["before"], "{}", disk.display());
    }
    // a second one of the same name is refused (qemu-img itself would add a duplicate)
    let e = super::snapshot::create(&ctx, "s1vm", "before").unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    assert_eq!(qsnap::list(&system).unwrap().len(), 1);
    super::snapshot::create(&ctx, "s1vm", "later").unwrap();

    let listed = super::snapshot::list(&ctx, "s1vm").unwrap();
    let snaps = listed.json["snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 2);
    assert_eq!(snaps[0]["name"], "before");
    assert_eq!(snaps[0]["consistency"], "stopped");
    assert_eq!(snaps[0]["complete"], true);
    assert_eq!(snaps[0]["protected"], false);
    let seapath = super::snapshot::list_seapath(&ctx, "s1vm").unwrap();
    assert_eq!(seapath.text, "['before', 'later']\n");

    // new data in both disks, then rollback: the data of "before" is back in both
    write_head(&system, b'N');
    write_head(&data, b'N');
    assert_eq!(head(&f, &system), [b'N'; 16]);
    let planned = super::rollback::run(&dry, "s1vm", "before")
        .unwrap()
        .json
        .to_string();
    assert!(
        planned.contains("qemu-img snapshot -a before on "),
        "{planned}"
    );
    assert_eq!(
        head(&f, &system),
        [b'N'; 16],
        "a dry run rolls nothing back"
    );
    let out = super::rollback::run(&ctx, "s1vm", "before").unwrap();
    assert_eq!(out.json["was_running"], false);
    assert_eq!(head(&f, &system), b"not really qcow2");
    assert_eq!(head(&f, &data), b"not really qcow2");
    // a snapshot that is not there: refused, nothing changed
    let e = super::rollback::run(&ctx, "s1vm", "nosuch").unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("it has: before, later"), "{e}");

    // remove-snapshot takes it out of every disk and its metadata out of metadata.json
    let meta = std::fs::read_to_string(vm.join("metadata.json")).unwrap();
    assert!(meta.contains("_snap_later_meta"), "{meta}");
    super::snapshot::remove(&ctx, "s1vm", "later").unwrap();
    for disk in [&system, &data] {
        assert_eq!(qsnap::list(disk).unwrap().len(), 1, "{}", disk.display());
    }
    let meta = std::fs::read_to_string(vm.join("metadata.json")).unwrap();
    assert!(!meta.contains("_snap_later"), "{meta}");

    // a snapshot missing from one disk is listed as incomplete and cannot be rolled back to
    qsnap::create(&system, "half").unwrap();
    let listed = super::snapshot::list(&ctx, "s1vm").unwrap();
    let half = &listed.json["snapshots"].as_array().unwrap()[0];
    assert_eq!(
        (&half["name"], &half["complete"]),
        (&"half".into(), &false.into())
    );
    assert_eq!(
        super::rollback::run(&ctx, "s1vm", "half")
            .unwrap_err()
            .exit_code(),
        2
    );

    // purge: every snapshot gone from every disk
    let a = crate::cli::PurgeArgs {
        name: "s1vm".into(),
        date: None,
        number: None,
        keep: None,
    };
    let out = super::purge::run(&ctx, &a).unwrap();
    assert_eq!(out.json["removed"], serde_json::json!(["half", "before"]));
    for disk in [&system, &data] {
        assert!(qsnap::list(disk).unwrap().is_empty(), "{}", disk.display());
    }
    let purge = crate::cli_trash::RemoveArgs {
        name: "s1vm".into(),
        purge: true,
        yes: true,
    };
    super::remove::run(&ctx, &purge).unwrap();
    assert!(!vm.exists());
}

fn import_args(from: &Path, name: &str) -> crate::cli::ImportArgs {
    crate::cli::ImportArgs {
        from: from.to_owned(),
        name: Some(name.into()),
        disable: false,
        nostart: true,
    }
}

/// dir → export → RBD (the in-memory stand-in) and dir again, and RBD → dir: the disks' content
/// travels (real qemu-img), the XML's disks and the fragment are made for the storage taking it.
#[test]
fn exports_of_either_backend_import_into_the_other() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let ctx = dir_ctx(&f);
    let a = super::tests::create_args(&f.dir, "e1");
    super::create::run(&ctx, &a).unwrap();
    let to = f.dir.join("export-e1");
    let out = super::export::run(
        &ctx,
        &crate::cli::ExportArgs {
            name: "e1".into(),
            to: to.clone(),
        },
    )
    .unwrap();
    assert_eq!(out.json["consistency"], "stopped");
    let manifest = std::fs::read_to_string(to.join("manifest.json")).unwrap();
    assert!(manifest.contains(r#""storage": "dir""#), "{manifest}");
    let raw = std::fs::read(to.join("disks/system_e1.raw")).unwrap();
    assert!(raw.starts_with(b"not really qcow2"), "{raw:?}");
    // the export's snapshot is gone again
    let system = f.dir.join("vms/e1/system.qcow2");
    assert!(qsnap::list(&system).unwrap().is_empty());

    // into RBD: network disks of the new name, the RBD fragment (guard, no storage order)
    let rbd = crate::storage::mem::Memory::new();
    let rctx = f.ctx_with_secret(rbd, false);
    super::import::run(&rctx, &import_args(&to, "e2")).unwrap();
    let xml = rctx.storage.meta_get("system_e2", "xml").unwrap().unwrap();
    assert!(
        xml.contains(r#"<source protocol="rbd" name="rbd/system_e2">"#) && !xml.contains("file="),
        "{xml}"
    );
    let cib = f.text();
    assert!(cib.contains("vmmgr-disk-e2"), "the RBD guard");
    assert!(!cib.contains("vmmgr-after-e2"), "no storage order on RBD");
    // and back into dir from RBD's export (the stand-in's disk content is a line of text)
    let to2 = f.dir.join("export-e2");
    super::export::run(
        &rctx,
        &crate::cli::ExportArgs {
            name: "e2".into(),
            to: to2.clone(),
        },
    )
    .unwrap();
    let manifest = std::fs::read_to_string(to2.join("manifest.json")).unwrap();
    assert!(manifest.contains(r#""storage": "rbd""#), "{manifest}");
    super::import::run(&ctx, &import_args(&to2, "e3")).unwrap();
    let vm = f.dir.join("vms/e3");
    let xml = std::fs::read_to_string(vm.join("domain.xml")).unwrap();
    let disk = vm.join("system.qcow2");
    assert!(
        xml.contains(&format!(r#"<source file="{}"/>"#, disk.display())) && !xml.contains("rbd"),
        "{xml}"
    );
    assert!(head(&f, &disk).starts_with(b"system_e2@vmmgr-"));
    let cib = f.text();
    assert!(cib.contains("vmmgr-after-e3") && !cib.contains("vmmgr-disk-e3"));
    // the dir export into dir under a new name: the same bytes in a new directory
    super::import::run(&ctx, &import_args(&to, "e4")).unwrap();
    assert_eq!(
        head(&f, &f.dir.join("vms/e4/system.qcow2")),
        b"not really qcow2"
    );
    let settings = std::fs::read_to_string(f.dir.join("vms/e4/metadata.json")).unwrap();
    assert!(settings.contains(r#"\"disk_guard\":false"#), "{settings}");
}

fn clone_args(src: &str, dst: &str, snap: Option<&str>, full: bool) -> crate::cli::CloneArgs {
    crate::cli::CloneArgs {
        name: src.into(),
        dst_name: dst.into(),
        snap_name: snap.map(str::to_owned),
        full,
        xml: None,
        clear_constraint: false,
        clear_pacemaker_meta: false,
        clear_pacemaker_params: false,
        clear_pacemaker_utilization: false,
        pacemaker_meta: Vec::new(),
        pacemaker_params: Vec::new(),
        pacemaker_utilization: Vec::new(),
        disable: false,
        nostart: true,
    }
}

/// `clone --full` of a dir VM: new independent qcow2 files with the snapshot's data, the
/// clone's own XML (name, UUID, its files) and fragment; its dry run changes nothing.
#[test]
fn a_full_clone_of_a_dir_vm_has_its_own_files() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let ctx = dir_ctx(&f);
    super::create::run(&ctx, &super::tests::create_args(&f.dir, "c1")).unwrap();
    let src_disk = f.dir.join("vms/c1/system.qcow2");
    super::snapshot::create(&ctx, "c1", "gold").unwrap();
    write_head(&src_disk, b'N');

    let cib = f.text();
    let dry = dry_ctx(&f);
    let out = super::clone::run(&dry, &clone_args("c1", "c2", Some("gold"), true)).unwrap();
    let actions = out.json.to_string();
    assert!(
        actions.contains("copy ") && !actions.contains(".bases"),
        "{actions}"
    );
    assert_eq!(f.text(), cib);
    assert!(!f.dir.join("vms/c2").exists());

    // from the named snapshot: its data, not the source's current one
    super::clone::run(&ctx, &clone_args("c1", "c2", Some("gold"), true)).unwrap();
    let disk = f.dir.join("vms/c2/system.qcow2");
    assert_eq!(head(&f, &disk), b"not really qcow2");
    assert!(qsnap::list(&disk).unwrap().is_empty(), "no snapshot copied");
    let xml = std::fs::read_to_string(f.dir.join("vms/c2/domain.xml")).unwrap();
    assert!(
        xml.contains(&format!(r#"<source file="{}"/>"#, disk.display()))
            && xml.contains("<name>c2</name>")
            && !xml.contains(&src_disk.display().to_string()),
        "{xml}"
    );
    let src_xml = std::fs::read_to_string(f.dir.join("vms/c1/domain.xml")).unwrap();
    let uuid = |x: &str| x.split("<uuid>").nth(1).map(|u| u[..36].to_owned());
    assert_ne!(uuid(&xml), uuid(&src_xml));
    assert!(f.text().contains("vmmgr-after-c2"), "the storage order");
    let meta = std::fs::read_to_string(f.dir.join("vms/c2/metadata.json")).unwrap();
    assert!(!meta.contains("_snap_gold"), "{meta}");
    // without a snapshot named: one taken now (the current data) and removed again
    super::clone::run(&ctx, &clone_args("c1", "c3", None, true)).unwrap();
    assert_eq!(head(&f, &f.dir.join("vms/c3/system.qcow2")), [b'N'; 16]);
    let left: Vec<String> = qsnap::list(&src_disk)
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(left, ["gold"]);
}

/// A copy-on-write clone of a dir VM, the verb and output as on RBD: a dry run writes nothing;
/// the clone's disk is an overlay of the snapshot's base, with the snapshot's data, its own XML
/// and fragment; removing the source leaves it whole; removing the clone deletes the base.
#[test]
fn a_copy_on_write_clone_of_a_dir_vm_reads_its_base_and_the_base_goes_with_it() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let ctx = dir_ctx(&f);
    super::create::run(&ctx, &super::tests::create_args(&f.dir, "w1")).unwrap();
    super::snapshot::create(&ctx, "w1", "gold").unwrap();
    write_head(&f.dir.join("vms/w1/system.qcow2"), b'N');
    let cib = f.text();
    let out = super::clone::run(&dry_ctx(&f), &clone_args("w1", "w2", Some("gold"), false));
    let actions = out.unwrap().json.to_string();
    assert!(
        actions.contains("clone (copy-on-write)") && actions.contains("/vms/.bases"),
        "{actions}"
    );
    assert_eq!(f.text(), cib);
    assert!(!f.dir.join("vms/w2").exists() && !f.dir.join("vms/.bases").exists());

    let out = super::clone::run(&ctx, &clone_args("w1", "w2", Some("gold"), false)).unwrap();
    assert_eq!(
        (&out.json["full"], &out.json["source"]),
        (&false.into(), &"w1".into())
    );
    let disk = f.dir.join("vms/w2/system.qcow2");
    let base = shared::qcow2::backing_file(&disk)
        .unwrap()
        .expect("an overlay");
    let prefix = f.dir.join("vms/.bases/w1@gold@").display().to_string();
    assert!(
        base.display().to_string().starts_with(&prefix),
        "{}",
        base.display()
    );
    assert_eq!(head(&f, &disk), b"not really qcow2", "gold's data");
    let xml = std::fs::read_to_string(f.dir.join("vms/w2/domain.xml")).unwrap();
    assert!(
        xml.contains(&format!(r#"<source file="{}"/>"#, disk.display()))
            && xml.contains("<name>w2</name>"),
        "{xml}"
    );
    assert!(f.text().contains("vmmgr-after-w2"), "the storage order");
    let bases = |n: &str| super::status::run(&ctx, n).unwrap().json["bases"].clone();
    assert_eq!(bases("w2"), serde_json::json!([base.display().to_string()]));
    assert_eq!(bases("w1"), serde_json::json!([]));
    // the source goes: the clone keeps its data; the clone goes: so does the base
    super::remove::run(&ctx, &purge_args("w1")).unwrap();
    assert_eq!(head(&f, &disk), b"not really qcow2");
    assert!(base.is_file());
    super::remove::run(&ctx, &purge_args("w2")).unwrap();
    assert!(!base.exists() && !base.parent().unwrap().exists());
    assert!(!f.dir.join("vms/w2").exists());
}
