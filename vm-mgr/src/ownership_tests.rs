//! vm-mgr acts only on what it made (issue 13). The CIB is the recorded one of VM `t1`
//! (`cib-vm-t1-started.xml`) with, added by this test, a user's group `grp` of two
//! `ocf:pacemaker:Dummy` primitives and two constraints naming it. Every verb that reads or
//! changes a VM must take `grp` for "no such VM" (exit 3) or, to make one, refuse its ids
//! (exit 4), and leave the CIB and the storage as they were. The real Pacemaker tools work on
//! the file (`CIB_file`); storage is in memory.

use crate::commands::testing::{stored_vm, CibFile};
use crate::dry_run_tests::run_cli;
use clap::Parser;

use crate::cli::Cli;
use crate::error::Error;
use crate::storage::mem::Memory;
use crate::storage::Storage;

const FOREIGN_GROUP: &str = r#"<group id="grp"><primitive id="grp-a" class="ocf" provider="pacemaker" type="Dummy"/><primitive id="grp-b" class="ocf" provider="pacemaker" type="Dummy"/></group>"#;
const FOREIGN_CONSTRAINTS: &str = r#"<rsc_location id="loc-grp" rsc="grp" node="sim1" score="100"/><rsc_colocation id="col-grp" rsc="grp-a" with-rsc="grp-b" score="INFINITY"/>"#;

fn with_foreign_group() -> CibFile {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let text = f
        .text()
        .replacen("</resources>", &format!("{FOREIGN_GROUP}</resources>"), 1)
        .replacen(
            "</constraints>",
            &format!("{FOREIGN_CONSTRAINTS}</constraints>"),
            1,
        );
    assert!(text.contains(r#"id="grp-b""#) && text.contains(r#"id="col-grp""#));
    std::fs::write(&f.path, text).unwrap();
    f
}

fn run(f: &CibFile, storage: Memory, dry_run: bool, args: &[&str]) -> Result<(), Error> {
    run_cli(&f.ctx_with_secret(storage, dry_run), args).map(drop)
}

#[test]
fn every_verb_takes_a_foreign_group_for_no_such_vm_and_changes_nothing() {
    let f = with_foreign_group();
    let before = f.text();
    for args in [
        &["remove", "-n", "grp"][..],
        &["stop", "-n", "grp"],
        &["stop", "-n", "grp", "--force"],
        &["start", "-n", "grp"],
        &["disable", "-n", "grp"],
        &["enable", "-n", "grp"],
        &["status", "-n", "grp"],
        &["set-placement", "-n", "grp", "--strategy", "failover"],
        &["add-colocation", "-n", "grp", "t1"],
        &["remove-colocation", "-n", "grp", "t1"],
        &[
            "set-metadata",
            "-n",
            "grp",
            "--metadata-name",
            "a",
            "--metadata-value",
            "b",
        ],
        &["create-snapshot", "-n", "grp", "--snap-name", "s1"],
    ] {
        for dry_run in [false, true] {
            let e = run(&f, Memory::new(), dry_run, args)
                .expect_err(&format!("{args:?} (dry run {dry_run}) acted on grp"));
            assert_eq!(e.exit_code(), 3, "{args:?} (dry run {dry_run}): {e}");
            assert_eq!(
                f.text(),
                before,
                "{args:?} (dry run {dry_run}) changed the CIB"
            );
        }
    }
    let e = run(
        &f,
        Memory::new(),
        true,
        &["migrate", "-n", "grp", "--node", "sim2"],
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 3, "migrate: {e}");
    // list shows t1 only
    let cli = Cli::try_parse_from(["vm-mgr", "list"]).unwrap();
    let out = crate::commands::run(&cli, &f.ctx(Memory::new(), false)).unwrap();
    let names: Vec<&str> = out
        .json
        .as_array()
        .unwrap_or_else(|| panic!("{}", out.json))
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert_eq!(names, ["t1"]);
}

#[test]
fn create_refuses_ids_of_a_foreign_group_before_any_storage_work() {
    let f = with_foreign_group();
    let before = f.text();
    let xml = f.dir.join("guest.xml");
    std::fs::write(&xml, "<domain type='kvm'><name>x</name><devices/></domain>").unwrap();
    let image = f.dir.join("disk.qcow2");
    std::fs::write(&image, b"x").unwrap();
    let (xml, image) = (xml.to_str().unwrap(), image.to_str().unwrap());
    for dry_run in [false, true] {
        for force in [false, true] {
            let mut args = vec!["create", "-n", "grp", "--xml", xml, "-i", image];
            if force {
                args.push("--force");
            }
            let storage = Memory::new();
            let e = run(&f, storage, dry_run, &args).unwrap_err();
            assert!(matches!(e, Error::IdTaken { .. }), "{args:?}: {e}");
            assert_eq!(e.exit_code(), 4);
            assert!(e.to_string().contains("grp"), "{e}");
            assert_eq!(f.text(), before);
        }
    }
}

#[test]
fn the_owned_vm_beside_it_is_still_vm_mgrs() {
    // The predicate is not simply "refuse everything": t1, made by vm-mgr, still changes.
    let f = with_foreign_group();
    let before = f.text();
    let storage = stored_vm("t1", &Default::default());
    assert!(storage.image_exists("system_t1").unwrap());
    run(&f, storage, false, &["stop", "-n", "t1"]).unwrap();
    let after = f.text();
    assert_ne!(after, before);
    assert!(after.contains(r#"id="grp-b""#) && after.contains(r#"id="col-grp""#));
}
