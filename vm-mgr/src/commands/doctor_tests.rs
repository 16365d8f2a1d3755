//! `doctor` on a private copy of the CIB recorded with planted problems (real `cibadmin`,
//! `crm_diff` and `crm_mon` through `CIB_file`) and in-memory storage.

use super::testing::CibFile;
use crate::cli::DoctorArgs;
use crate::storage::mem::Memory;

fn args(fix: bool) -> DoctorArgs {
    DoctorArgs {
        fix,
        purge_orphans: false,
    }
}

/// Storage holding VM `name` with the fragment the CIB file has, and an orphan image.
fn storage_for(f: &CibFile, name: &str) -> Memory {
    let cib = shared::pacemaker::Cib::parse(&f.text()).unwrap();
    let fragment = crate::fragment::extract(cib.element(), name)
        .unwrap()
        .to_xml();
    Memory::new()
        .with_image(
            &format!("system_{name}"),
            &[
                ("xml", "<domain type='kvm'/>"),
                ("_vmmgr_fragment", &fragment),
            ],
        )
        .with_image("data_ghost2_0", &[])
}

fn statuses(out: &crate::output::Outcome) -> Vec<(String, String)> {
    out.text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 6, "{l}");
            (cols[0].to_owned(), cols[3].to_owned())
        })
        .collect()
}

#[test]
fn fix_removes_the_constraints_in_one_transaction_and_reports_what_is_left() {
    let f = CibFile::new("cib-doctor-planted.xml");
    let epoch = |text: &str| shared::pacemaker::Cib::parse(text).unwrap().version().epoch;
    let before = epoch(&f.text());
    // What one transaction does to the epoch of a CIB file (crm_diff and cibadmin each add 1).
    let one = CibFile::new("cib-doctor-planted.xml");
    super::stop::run(&one.ctx(Memory::new(), false), "dr1", false).unwrap();
    let bump = epoch(&one.text()) - before;
    let ctx = f.ctx(storage_for(&f, "dr1"), false);
    let out = super::doctor::run(&ctx, &args(true)).unwrap();
    assert_eq!(epoch(&f.text()) - before, bump, "one transaction");
    let text = f.text();
    for id in [
        "cli-ban-dr1-on-sim3",
        "vmmgr-move-dr1",
        "vmmgr-prefer-ghost",
    ] {
        assert!(!text.contains(&format!("id=\"{id}\"")), "{id} is gone");
    }
    assert!(
        text.contains("id=\"vmmgr-ban-dr1\""),
        "vm-mgr's own ban is kept"
    );
    // A CIB file cannot be cleaned up (crm_resource needs the cluster): the failures stay.
    assert_eq!(
        statuses(&out),
        [
            ("fixed".into(), "cli-ban-dr1-on-sim3".into()),
            ("fixed".into(), "vmmgr-move-dr1".into()),
            ("fixed".into(), "vmmgr-prefer-ghost".into()),
            ("fixable".into(), "vmmgr-domain-dr1".into()),
            ("fixable".into(), "vmmgr-domain-dr1".into()),
            ("manual".into(), "data_ghost2_0".into()),
        ]
    );
    assert!(
        out.text
            .contains("# did not clean up the failures of VM dr1"),
        "{}",
        out.text
    );
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.json["healthy"], false);
    assert_eq!(out.json["fixed"].as_array().unwrap().len(), 3);
    let first = &out.json["findings"][0];
    for key in ["kind", "vm", "id", "detail", "fix", "fixable"] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    assert_eq!(first["kind"], "fail-count");
}

#[test]
fn dry_run_fix_shows_the_transaction_and_changes_nothing() {
    let f = CibFile::new("cib-doctor-planted.xml");
    let before = f.text();
    let ctx = f.ctx(storage_for(&f, "dr1"), true);
    let out = super::doctor::run(&ctx, &args(true)).unwrap();
    assert_eq!(f.text(), before);
    let patch = out.json["cib_patch"].as_str().unwrap();
    for id in [
        "cli-ban-dr1-on-sim3",
        "vmmgr-move-dr1",
        "vmmgr-prefer-ghost",
    ] {
        assert!(
            patch.contains(&format!("rsc_location[@id=&apos;{id}&apos;]")),
            "{patch}"
        );
    }
    assert!(!patch.contains("vmmgr-ban-dr1"), "{patch}");
    assert_eq!(out.json["findings"].as_array().unwrap().len(), 6);
    assert_eq!(out.json["fixed"], serde_json::json!([]));
    assert!(
        out.text.contains("# would clean up the failures of VM dr1"),
        "{}",
        out.text
    );
    assert_eq!(out.exit_code, 1);
}

#[test]
fn a_healthy_cluster_exits_0() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let storage = storage_for(&f, "t1");
    storage_remove_orphan(&storage);
    let ctx = f.ctx(storage, false);
    let out = super::doctor::run(&ctx, &args(false)).unwrap();
    assert_eq!(
        (out.exit_code, out.text.as_str()),
        (0, "# no problems found\n")
    );
    assert_eq!(out.json["healthy"], true);
}

/// `--purge-orphans` moves the orphan image to the trash (a dry run only says so) and removes
/// an orphan group; the VM's own images stay.
#[test]
fn purge_orphans_moves_orphan_images_to_the_trash() {
    use crate::storage::Storage;
    let f = CibFile::new("cib-vm-t1-started.xml");
    let storage = storage_for(&f, "t1").with_image("data_lone_0", &[]);
    storage.create_group("lone").unwrap();
    storage.group_add("lone", "data_lone_0").unwrap();
    let purge = DoctorArgs {
        fix: true,
        purge_orphans: true,
    };
    let dry = f.ctx(storage_for(&f, "t1"), true);
    let out = super::doctor::run(&dry, &purge).unwrap();
    assert!(
        out.text
            .contains("# would move orphan image rbd/data_ghost2_0 to the trash until"),
        "{}",
        out.text
    );
    assert!(dry.storage.trash_list().unwrap().is_empty());
    let ctx = f.ctx(storage, false);
    let before = f.text();
    let out = super::doctor::run(&ctx, &purge).unwrap();
    assert!(
        out.text
            .contains("# moved orphan image rbd/data_ghost2_0 to the trash until"),
        "{}",
        out.text
    );
    assert!(
        out.text.contains("# removed orphan RBD group lone"),
        "{}",
        out.text
    );
    assert_eq!(out.exit_code, 0, "nothing left: {}", out.text);
    let mut trashed: Vec<String> = ctx
        .storage
        .trash_list()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    trashed.sort();
    assert_eq!(trashed, ["data_ghost2_0", "data_lone_0"]);
    assert_eq!(ctx.storage.list_images().unwrap(), ["system_t1"]);
    assert!(ctx.storage.list_groups().unwrap().is_empty());
    assert_eq!(f.text(), before, "the CIB is not touched");
}

fn storage_remove_orphan(storage: &Memory) {
    use crate::storage::Storage;
    storage.remove_image("data_ghost2_0").unwrap();
}

/// The exit code reaches the process: 1 with findings, 0 without, 2 for --purge-orphans with
/// --no-storage (it needs the storage).
#[test]
fn the_binary_exits_1_while_findings_remain() {
    use std::process::ExitCode;
    let run = |fixture: &str, extra: &[&str]| {
        let f = CibFile::new(fixture);
        let cib = f.path.to_string_lossy().into_owned();
        let mut argv = vec!["vm-mgr", "--no-storage", "--cib-file", &cib, "doctor"];
        argv.extend_from_slice(extra);
        crate::main_with_args(argv)
    };
    assert_eq!(run("cib-doctor-planted.xml", &[]), ExitCode::from(1));
    let f = CibFile::new("cib-vm-t1-started.xml");
    let out = super::doctor::run(&f.ctx(crate::storage::NoStorage, false), &args(false)).unwrap();
    assert_eq!(out.json["storage_checked"], false);
    assert!(
        out.text.starts_with("# storage not checked"),
        "{}",
        out.text
    );
    assert_eq!(run("cib-vm-t1-started.xml", &[]), ExitCode::from(0));
    let purge = ["--fix", "--purge-orphans"];
    assert_eq!(run("cib-vm-t1-started.xml", &purge), ExitCode::from(2));
    // --purge-orphans only with --fix: a usage error.
    let alone = ["--purge-orphans"];
    assert_eq!(run("cib-vm-t1-started.xml", &alone), ExitCode::from(2));
}
