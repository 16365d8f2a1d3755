//! Issue 6 verbs on in-memory storage and a copy of a recorded CIB (real `cibadmin`/`crm_mon`
//! through `CIB_file`), and the command line of every new verb.

use clap::Parser;

use super::super::testing::{stored_vm, CibFile};
use crate::cli::{Cli, CloneArgs, Command, ExportArgs, ImportArgs, PurgeArgs};
use crate::ctx::Ctx;
use crate::storage::mem::Memory;
use crate::storage::Storage;
use crate::vm::Settings;

const XML: &str = r#"<domain type="kvm"><name>g1</name><uuid>b820ca08-d40c-4b5f-97e8-7f437bbf37a4</uuid><memory unit="MiB">64</memory><devices><disk type="network" device="disk"><source protocol="rbd" name="rbd/system_g1"/><target dev="vda" bus="virtio"/></disk><disk type="network" device="disk"><source protocol="rbd" name="rbd/data_g1_0"/><target dev="vdb" bus="virtio"/></disk><interface type="user"><mac address="52:54:00:aa:bb:cc"/></interface></devices></domain>"#;

/// VM g1 as create leaves it, with two disks in its group.
fn two_disk_vm() -> Memory {
    let m = stored_vm(
        "g1",
        &Settings {
            pinned_host: Some("sim1".into()),
            additional_disks: 1,
            ..Settings::default()
        },
    )
    .with_image("data_g1_0", &[]);
    m.create_group("g1").unwrap();
    m.group_add("g1", "data_g1_0").unwrap();
    m.group_add("g1", "system_g1").unwrap();
    m.meta_set("system_g1", "xml", XML).unwrap();
    m
}

fn parse(args: &[&str]) -> Command {
    Cli::try_parse_from(std::iter::once("vm-mgr").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
        .command
}

#[test]
fn new_verbs_and_seapath_spellings_parse() {
    for (args, verb) in [
        (
            &["create-snapshot", "-n", "a", "--snap-name", "s"][..],
            "create-snapshot",
        ),
        (
            &["create_snapshot", "-n", "a", "--snap_name", "s"],
            "create-snapshot",
        ),
        (&["list-snapshots", "-n", "a"], "list-snapshots"),
        (&["list_snapshots", "-n", "a"], "list_snapshots"),
        (
            &["remove_snapshot", "-n", "a", "--snap_name", "s"],
            "remove-snapshot",
        ),
        (&["rollback", "-n", "a", "--snap_name", "s"], "rollback"),
        (&["purge", "-n", "a"], "purge"),
        (&["export", "-n", "a", "--to", "/tmp/x"], "export"),
        (&["import", "--from", "/tmp/x"], "import"),
    ] {
        assert_eq!(parse(args).verb(), verb, "{args:?}");
    }
    let Command::Purge(PurgeArgs {
        date, number, keep, ..
    }) = parse(&[
        "purge",
        "-n",
        "a",
        "--date",
        "01/02/2024 10:00:00",
        "--keep",
        "2",
    ])
    else {
        panic!("not purge")
    };
    assert_eq!(
        (date.as_deref(), number, keep),
        (Some("01/02/2024 10:00:00"), None, Some(2))
    );
    let Command::Clone(CloneArgs {
        dst_name,
        snap_name,
        full,
        clear_constraint,
        nostart,
        ..
    }) = parse(&[
        "clone",
        "-n",
        "a",
        "--dst_name",
        "b",
        "--snap_name",
        "s",
        "--full",
        "--clear_constraint",
        "--nostart",
    ])
    else {
        panic!("not clone")
    };
    assert_eq!((dst_name.as_str(), snap_name.as_deref()), ("b", Some("s")));
    assert!(full && clear_constraint && nostart);
    let Command::Import(ImportArgs { name, disable, .. }) =
        parse(&["import", "--from", "d", "--name", "n", "--disable"])
    else {
        panic!("not import")
    };
    assert_eq!(name.as_deref(), Some("n"));
    assert!(disable);
    for bad in [
        &["vm-mgr", "purge", "-n", "a", "--date", "x", "--number", "1"][..],
        &[
            "vm-mgr",
            "clone",
            "-n",
            "a",
            "--dst-name",
            "b",
            "--disable",
            "--nostart",
        ],
        &["vm-mgr", "clone", "-n", "a"],
        &["vm-mgr", "create-snapshot", "-n", "a"],
        &["vm-mgr", "export", "-n", "a"],
    ] {
        assert_eq!(
            Cli::try_parse_from(bad).unwrap_err().exit_code(),
            2,
            "{bad:?}"
        );
    }
}

fn names(ctx: &Ctx) -> Vec<String> {
    super::list_snaps(ctx, "g1")
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect()
}

#[test]
fn snapshots_are_created_listed_removed_and_keep_the_xml() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let ctx = f.ctx(two_disk_vm(), false);
    let out = super::create(&ctx, "g1", "s1").unwrap();
    assert_eq!(out.json["consistency"], "stopped");
    assert_eq!(
        out.json["disks"],
        serde_json::json!(["system_g1", "data_g1_0"])
    );
    let meta = ctx.storage.meta_list("system_g1").unwrap();
    assert_eq!(meta["_snap_s1_xml"], XML);
    assert!(meta.contains_key("_snap_s1_settings") && meta.contains_key("_snap_s1_meta"));
    for d in ["system_g1", "data_g1_0"] {
        let snaps = ctx.storage.image_snaps(d).unwrap();
        assert!(snaps.iter().any(|s| s.is_group_snap("s1")), "{d}");
        assert!(snaps.iter().any(|s| s.is_user_snap("s1")), "{d}");
    }
    // A second one with the same name, a bad name, an unknown VM: clear errors.
    let e = super::create(&ctx, "g1", "s1").unwrap_err();
    assert!(e.to_string().contains("already has a snapshot s1"), "{e}");
    assert_eq!(
        super::create(&ctx, "g1", "../x").unwrap_err().exit_code(),
        2
    );
    assert_eq!(
        super::create(&ctx, "nosuch", "s").unwrap_err().exit_code(),
        3
    );
    super::create(&ctx, "g1", "s2").unwrap();
    let list = super::list(&ctx, "g1").unwrap();
    assert_eq!(list.json["snapshots"][0]["name"], "s1");
    assert_eq!(list.json["snapshots"][1]["consistency"], "stopped");
    assert!(list.text.starts_with("NAME"), "{}", list.text);
    // SEAPATH's spelling: the names, oldest first, as the Python list its plugin parses; the
    // same JSON.
    let seapath = super::list_seapath(&ctx, "g1").unwrap();
    assert_eq!(seapath.text, "['s1', 's2']\n");
    assert_eq!(seapath.json, list.json);
    assert_eq!(
        super::list_seapath(&ctx, "nosuch").unwrap_err().exit_code(),
        3
    );
    let e = super::remove(&ctx, "g1", "nosuch").unwrap_err();
    assert!(
        e.to_string()
            .contains("has no snapshot nosuch (it has: s1, s2)"),
        "{e}"
    );
    super::remove(&ctx, "g1", "s1").unwrap();
    assert_eq!(names(&ctx), ["s2"]);
    let meta = ctx.storage.meta_list("system_g1").unwrap();
    assert!(!meta.keys().any(|k| k.starts_with("_snap_s1_")));
    assert!(ctx
        .storage
        .image_snaps("data_g1_0")
        .unwrap()
        .iter()
        .all(|s| !s.name.contains("s1")));
}

#[test]
fn dry_runs_change_nothing() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let ctx = f.ctx(two_disk_vm(), false);
    super::create(&ctx, "g1", "s1").unwrap();
    let before = ctx.storage.meta_list("system_g1").unwrap();
    let cib = f.text();
    let dry = Ctx {
        dry_run: true,
        ..ctx
    };
    for out in [
        super::create(&dry, "g1", "s2").unwrap(),
        super::remove(&dry, "g1", "s1").unwrap(),
        super::super::rollback::run(&dry, "g1", "s1").unwrap(),
        super::super::purge::run(
            &dry,
            &PurgeArgs {
                name: "g1".into(),
                date: None,
                number: None,
                keep: None,
            },
        )
        .unwrap(),
        super::super::clone::run(&dry, &clone_args("c1", Some("s1"), false)).unwrap(),
    ] {
        assert_eq!(out.json["dry_run"], true, "{}", out.text);
    }
    assert_eq!(names(&dry), ["s1"]);
    // As the real run, the dry run refuses a snapshot name that is taken.
    let e = super::create(&dry, "g1", "s1").unwrap_err();
    assert!(e.to_string().contains("already has a snapshot s1"), "{e}");
    assert_eq!(dry.storage.meta_list("system_g1").unwrap(), before);
    assert!(!dry.storage.image_exists("system_c1").unwrap());
    assert_eq!(f.text(), cib);
}

#[test]
fn rollback_needs_the_snapshot_on_every_disk_and_restores_the_xml() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let ctx = f.ctx(two_disk_vm(), false);
    super::create(&ctx, "g1", "s1").unwrap();
    ctx.storage
        .meta_set(
            "system_g1",
            "xml",
            "<domain type='kvm'><name>g1</name></domain>",
        )
        .unwrap();
    let out = super::super::rollback::run(&ctx, "g1", "s1").unwrap();
    assert_eq!(out.json["was_running"], false);
    assert_eq!(
        out.json["restored_metadata"],
        serde_json::json!(["xml", "_vmmgr_settings"])
    );
    assert_eq!(
        ctx.storage.meta_get("system_g1", "xml").unwrap().as_deref(),
        Some(XML)
    );
    assert_eq!(
        super::super::rollback::run(&ctx, "g1", "nosuch")
            .unwrap_err()
            .exit_code(),
        2
    );
    // A disk added after the snapshot lacks it: refused.
    ctx.storage
        .import(
            std::path::Path::new("/dev/null"),
            "raw",
            "data_g1_1",
            &mut |_| {},
        )
        .unwrap();
    ctx.storage.group_add("g1", "data_g1_1").unwrap();
    let e = super::super::rollback::run(&ctx, "g1", "s1").unwrap_err();
    assert!(
        e.to_string()
            .contains("data_g1_1 of VM g1 lack snapshot s1"),
        "{e}"
    );
}

#[test]
fn purge_removes_by_number_keep_and_date() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let m = two_disk_vm();
    let ctx = f.ctx(m, false);
    for s in ["a", "b", "c", "d"] {
        super::create(&ctx, "g1", s).unwrap();
    }
    let args = |number, keep| PurgeArgs {
        name: "g1".into(),
        date: None,
        number,
        keep,
    };
    let out = super::super::purge::run(&ctx, &args(Some(1), None)).unwrap();
    assert_eq!(out.json["removed"], serde_json::json!(["a"]));
    let out = super::super::purge::run(&ctx, &args(None, Some(1))).unwrap();
    assert_eq!(out.json["removed"], serde_json::json!(["b", "c"]));
    assert_eq!(names(&ctx), ["d"]);
    let out = super::super::purge::run(
        &ctx,
        &PurgeArgs {
            name: "g1".into(),
            date: Some("01/01/2000 00:00:00".into()),
            number: None,
            keep: None,
        },
    )
    .unwrap();
    assert_eq!(out.json["removed"], serde_json::json!([]));
}

fn clone_args(dst: &str, snap: Option<&str>, full: bool) -> CloneArgs {
    CloneArgs {
        name: "g1".into(),
        dst_name: dst.into(),
        snap_name: snap.map(str::to_owned),
        full,
        xml: None,
        clear_constraint: true,
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

#[test]
fn clone_makes_a_new_vm_with_new_ids_and_refuses_existing_names() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let ctx = f.ctx(two_disk_vm(), false);
    super::create(&ctx, "g1", "s1").unwrap();
    ctx.storage.meta_set("system_g1", "owner", "ops").unwrap();
    let out = super::super::clone::run(&ctx, &clone_args("c1", Some("s1"), false)).unwrap();
    assert_eq!(out.json["name"], "c1");
    assert_eq!(
        out.json["images"],
        serde_json::json!(["system_c1", "data_c1_0"])
    );
    let meta = ctx.storage.meta_list("system_c1").unwrap();
    let xml = &meta["xml"];
    assert!(
        xml.contains("<name>c1</name>") && xml.contains("rbd/data_c1_0"),
        "{xml}"
    );
    assert!(
        !xml.contains("b820ca08") && !xml.contains("52:54:00:aa:bb:cc"),
        "{xml}"
    );
    assert_eq!(meta["owner"], "ops");
    assert_eq!(meta["vm_name"], "c1");
    assert!(!meta.keys().any(|k| k.starts_with("_snap_")));
    assert!(
        !meta["_vmmgr_settings"].contains("sim1"),
        "--clear-constraint"
    );
    assert!(f.text().contains(r#"<group id="c1">"#));
    assert!(!f.text().contains("vmmgr-pin-c1"));
    assert_eq!(ctx.storage.group_images("c1").unwrap().len(), 2);
    // Existing destination, unknown snapshot, invalid name: refused, nothing made.
    let e = super::super::clone::run(&ctx, &clone_args("c1", Some("s1"), true)).unwrap_err();
    assert_eq!(e.exit_code(), 4, "{e}");
    let e = super::super::clone::run(&ctx, &clone_args("c2", Some("nosuch"), false)).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    let e = super::super::clone::run(&ctx, &clone_args("2bad", None, false)).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    assert!(!ctx.storage.image_exists("system_c2").unwrap());
    // Without a snapshot: one is taken and removed; --full copies.
    super::super::clone::run(&ctx, &clone_args("c3", None, true)).unwrap();
    assert!(ctx.storage.image_exists("data_c3_0").unwrap());
    assert_eq!(names(&ctx), ["s1"]);
}

#[test]
fn export_then_import_under_a_new_name() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let ctx = f.ctx(two_disk_vm(), false);
    super::create(&ctx, "g1", "s1").unwrap();
    let dir = f.dir.join("export");
    let out = super::super::export::run(
        &ctx,
        &ExportArgs {
            name: "g1".into(),
            to: dir.clone(),
        },
    )
    .unwrap();
    assert_eq!(out.json["snapshots"], serde_json::json!(["s1"]));
    for file in [
        "manifest.json",
        "domain.xml",
        "metadata.json",
        "fragment.xml",
        "disks/system_g1.raw",
        "disks/data_g1_0.raw",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("domain.xml")).unwrap(),
        XML
    );
    assert_eq!(names(&ctx), ["s1"], "the export snapshot is gone");
    let again = super::super::export::run(
        &ctx,
        &ExportArgs {
            name: "g1".into(),
            to: dir.clone(),
        },
    );
    assert_eq!(
        again.unwrap_err().exit_code(),
        2,
        "a non-empty directory is refused"
    );
    let import = |name: Option<&str>| ImportArgs {
        from: dir.clone(),
        name: name.map(str::to_owned),
        disable: false,
        nostart: true,
    };
    assert_eq!(
        super::super::import::run(&ctx, &import(None))
            .unwrap_err()
            .exit_code(),
        4
    );
    let out = super::super::import::run(&ctx, &import(Some("r1"))).unwrap();
    assert_eq!(out.json["imported"], true);
    let meta = ctx.storage.meta_list("system_r1").unwrap();
    assert!(meta["xml"].contains("<name>r1</name>") && meta["xml"].contains("rbd/data_r1_0"));
    assert!(!meta["xml"].contains("b820ca08"));
    assert!(f.text().contains(r#"<group id="r1">"#));
    std::fs::write(dir.join("manifest.json"), "{}").unwrap();
    assert_eq!(
        super::super::import::run(&ctx, &import(Some("r2")))
            .unwrap_err()
            .exit_code(),
        2
    );
}

#[test]
fn a_clone_or_a_renamed_import_is_never_the_same_guest_node() {
    // Issue 20: two guest nodes cannot share a name; the copy of a guest node is a plain VM.
    let f = CibFile::new("cib-3nodes-idle.xml");
    let m = two_disk_vm();
    let with_guest = Settings {
        additional_disks: 1,
        guest_node: Some(crate::guest_node::GuestNode {
            name: "g1-guest".into(),
            address: Some("10.78.0.150".into()),
            port: None,
            connect_timeout: None,
        }),
        ..Settings::default()
    };
    m.meta_set("system_g1", "_vmmgr_settings", &with_guest.to_json())
        .unwrap();
    let ctx = f.ctx(m, false);
    super::create(&ctx, "g1", "s1").unwrap();
    super::super::clone::run(&ctx, &clone_args("c1", Some("s1"), false)).unwrap();
    let meta = ctx.storage.meta_list("system_c1").unwrap();
    assert!(!meta["_vmmgr_settings"].contains("g1-guest"), "{meta:?}");
    assert!(!meta["_vmmgr_fragment"].contains("remote-node"), "{meta:?}");
    assert!(!f.text().contains("remote-node"));
    // The source keeps its guest node in its settings.
    let src = ctx.storage.meta_list("system_g1").unwrap();
    assert!(src["_vmmgr_settings"].contains("g1-guest"));
    // Nor is a renamed import (the export itself keeps it).
    let dir = f.dir.join("export");
    let to = ExportArgs {
        name: "g1".into(),
        to: dir.clone(),
    };
    super::super::export::run(&ctx, &to).unwrap();
    let exported = std::fs::read_to_string(dir.join("metadata.json")).unwrap();
    assert!(exported.contains("g1-guest"), "{exported}");
    let import = ImportArgs {
        from: dir,
        name: Some("r1".into()),
        disable: false,
        nostart: true,
    };
    super::super::import::run(&ctx, &import).unwrap();
    let meta = ctx.storage.meta_list("system_r1").unwrap();
    assert!(!meta["_vmmgr_settings"].contains("g1-guest"), "{meta:?}");
    assert!(!meta["_vmmgr_fragment"].contains("remote-node"), "{meta:?}");
    assert!(!f.text().contains("remote-node"));
}
