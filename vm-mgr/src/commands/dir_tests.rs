//! Verbs on the dir backend, run against a private copy of a recorded CIB through the real
//! Pacemaker tools (`CIB_file`), with the VM directory on a private temporary directory and the
//! real `qemu-img`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use super::testing::CibFile;
use crate::cli::Cli;
use crate::ctx::Ctx;
use crate::storage::dir::Dir;
use crate::storage::mem::Memory;

/// The VM directory inside the CIB file's private directory.
fn vms(f: &CibFile) -> PathBuf {
    let d = f.dir.join("vms");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A context on the dir backend, with `sandbox-fence` standing in for the storage clone.
fn dir_ctx(f: &CibFile) -> Ctx {
    let mut ctx = f.ctx(Dir::new(&vms(f)).unwrap(), false);
    ctx.config.storage_resource = Some("sandbox-fence".into());
    ctx
}

/// The domain primitive of VM `name` in the CIB file, as text.
fn domain_primitive(cib: &str, name: &str) -> String {
    let start = cib
        .find(&format!(r#"<primitive id="vmmgr-domain-{name}""#))
        .expect("the domain primitive");
    let end = start + cib[start..].find("</primitive>").unwrap();
    cib[start..end].to_owned()
}

#[test]
fn create_status_metadata_disable_enable_remove_on_a_directory() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let ctx = dir_ctx(&f);
    let a = super::tests::create_args(&f.dir, "d1");
    let out = super::create::run(&ctx, &a).unwrap();
    assert_eq!(out.json["created"], true);
    let vm = vms(&f).join("d1");
    // the directory holds the disk (converted to qcow2), the XML, the fragment, the metadata
    assert_eq!(
        shared::qcow2::probe_format(&vm.join("system.qcow2")).unwrap(),
        "qcow2"
    );
    let xml = std::fs::read_to_string(vm.join("domain.xml")).unwrap();
    let disk = vm.join("system.qcow2");
    assert!(
        xml.contains(&format!(r#"<source file="{}"/>"#, disk.display())),
        "{xml}"
    );
    assert!(
        xml.contains(r#"type="qcow2""#) && !xml.contains("rbd"),
        "{xml}"
    );
    let stored = std::fs::read_to_string(vm.join("cib.xml")).unwrap();
    assert!(stored.starts_with("<vmmgr-fragment"), "{stored}");
    let meta = std::fs::read_to_string(vm.join("metadata.json")).unwrap();
    assert!(meta.contains(r#""owner": "ops""#), "{meta}");

    // the CIB: the domain reads that XML file; no RBD parameter, no guard; ordered after and
    // colocated with the storage resource
    let cib = f.text();
    let dom = domain_primitive(&cib, "d1");
    let config = vm.join("domain.xml");
    assert!(
        dom.contains(&format!(r#"name="config" value="{}""#, config.display())),
        "{dom}"
    );
    assert!(!dom.contains("rbd_xml"), "{dom}");
    assert!(!cib.contains("vmmgr-disk-d1"), "no rbd guard");
    assert!(
        cib.contains(r#"<rsc_order id="vmmgr-after-d1" first="sandbox-fence" first-action="start" then="d1" then-action="start" kind="Mandatory"/>"#),
        "{cib}"
    );
    assert!(
        cib.contains(r#"<rsc_colocation id="vmmgr-with-d1" rsc="d1" with-rsc="sandbox-fence" score="INFINITY"/>"#),
        "{cib}"
    );

    // status and list say where it is stored
    let st = super::status::run(&ctx, "d1").unwrap();
    assert_eq!(st.json["storage"], "dir");
    assert_eq!(st.json["state"], "Stopped");
    let list = super::list::run(&ctx).unwrap();
    assert_eq!(
        list.json,
        serde_json::json!([{"name": "d1", "state": "Stopped", "node": null, "storage": "dir",
                            "guest_node": null}])
    );

    // metadata
    super::metadata::set(&ctx, "d1", "site", "-lyon").unwrap();
    let got = super::metadata::get(&ctx, "d1", "site").unwrap();
    assert_eq!(got.json["value"], "-lyon");
    let listed = super::metadata::list(&ctx, "d1", false).unwrap();
    assert_eq!(listed.text, "owner\nsite\n");

    // disable keeps the fragment (with the storage constraints) in cib.xml; enable restores it
    super::disable::run(&ctx, "d1").unwrap();
    assert!(!f.text().contains("vmmgr-domain-d1"));
    let kept = std::fs::read_to_string(vm.join("cib.xml")).unwrap();
    assert!(
        kept.contains("vmmgr-after-d1") && kept.contains("vmmgr-with-d1"),
        "{kept}"
    );
    let st = super::status::run(&ctx, "d1").unwrap();
    assert_eq!(
        (&st.json["state"], &st.json["storage"]),
        (&"Disabled".into(), &"dir".into())
    );
    super::enable::run(&ctx, "d1", true).unwrap();
    let cib = f.text();
    assert!(cib.contains("vmmgr-after-d1") && cib.contains("vmmgr-with-d1"));
    assert!(!domain_primitive(&cib, "d1").contains("rbd_xml"));

    // remove --purge (the dir backend has no trash): no directory, nothing of d1 in the CIB
    // configuration
    let purge = crate::cli_trash::RemoveArgs {
        name: "d1".into(),
        purge: true,
        yes: true,
    };
    super::remove::run(&ctx, &purge).unwrap();
    assert!(!vm.exists(), "the VM directory is gone");
    let cib = f.text();
    let config_part = &cib[..cib.find("<status").unwrap_or(cib.len())];
    assert!(!config_part.contains("d1"), "{config_part}");
}

#[test]
fn a_storage_resource_that_is_not_in_the_cluster_is_refused_before_anything() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let before = f.text();
    let mut ctx = dir_ctx(&f);
    ctx.config.storage_resource = Some("nosuch-clone".into());
    let e = super::create::run(&ctx, &super::tests::create_args(&f.dir, "d2")).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("nosuch-clone"), "{e}");
    assert_eq!(f.text(), before);
    assert_eq!(std::fs::read_dir(vms(&f)).unwrap().count(), 0);
}

/// The argv of every verb the dir backend does not support yet (clone, with or without
/// `--full`, is supported).
fn unsupported(name: &str) -> Vec<Vec<String>> {
    let n = name;
    [
        vec!["doctor"],
        vec!["add-pacemaker-remote", "-n", n],
        vec!["remove-pacemaker-remote", "-n", n],
        vec!["set-resources", "-n", n, "--vcpus", "2"],
        vec!["set-options", "-n", n, "--stop-timeout", "60"],
        vec!["add-disk", "-n", n, "--size", "16M"],
        vec!["remove-disk", "-n", n, "--disk", "vdb"],
        vec!["remove", "-n", n],
        vec!["restore", "-n", n],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(str::to_owned).collect())
    .collect()
}

/// The check `commands::run` makes first, on `argv` in `ctx`.
fn check(ctx: &Ctx, argv: &[String]) -> crate::error::Result<()> {
    let cli = Cli::try_parse_from(std::iter::once("vm-mgr".to_owned()).chain(argv.iter().cloned()))
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    super::backend_check::refuse(&cli, ctx)
}

/// The exit code of the whole program (`main_with_args`) on the CIB file, with `storage` flags.
fn exit_code(f: &CibFile, storage: &[&str], argv: &[String]) -> ExitCode {
    let cib = f.path.to_string_lossy().into_owned();
    let mut all: Vec<String> = vec!["vm-mgr".into(), "--cib-file".into(), cib];
    all.extend(storage.iter().map(|s| s.to_string()));
    all.extend(argv.iter().cloned());
    crate::main_with_args(all)
}

fn tree_snapshot(dir: &Path) -> Vec<String> {
    let mut all: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    all.sort();
    all
}

/// Every verb not in this slice says so with exit 6 and changes nothing: with `--storage dir`,
/// and on a dir VM named while the storage is RBD (the VM is found in the CIB).
#[test]
fn every_other_verb_is_refused_with_exit_6_and_changes_nothing() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let ctx = dir_ctx(&f);
    let mut a = super::tests::create_args(&f.dir, "d3");
    a.vm.metadata.clear();
    super::create::run(&ctx, &a).unwrap();
    let (cib, files) = (f.text(), tree_snapshot(&vms(&f).join("d3")));
    let rbd_ctx = f.ctx(Memory::new(), false);
    let dir = vms(&f).to_string_lossy().into_owned();
    let dir_flags = ["--storage", "dir", "--dir", dir.as_str()];
    for argv in unsupported("d3") {
        let e = check(&ctx, &argv).unwrap_err();
        assert_eq!(e.exit_code(), 6, "{argv:?}: {e}");
        let verb = argv[0].as_str();
        assert_eq!(
            e.to_string(),
            format!("{verb} is not supported on the dir backend yet; nothing was changed.")
        );
        assert_eq!(
            exit_code(&f, &dir_flags, &argv),
            ExitCode::from(6),
            "{argv:?}"
        );
        if argv.iter().any(|w| w == "d3") {
            let e = check(&rbd_ctx, &argv).unwrap_err();
            assert_eq!(e.exit_code(), 6, "{argv:?} with RBD storage: {e}");
            assert_eq!(exit_code(&f, &[], &argv), ExitCode::from(6), "{argv:?}");
        }
        assert_eq!(f.text(), cib, "{argv:?} left the CIB unchanged");
        assert_eq!(tree_snapshot(&vms(&f).join("d3")), files, "{argv:?}");
    }
    // A verb on the VM's storage, run with the other backend, refuses rather than removing
    // the CIB part and leaving the directory behind.
    for argv in [
        vec!["remove", "-n", "d3", "--purge"],
        vec!["disable", "-n", "d3"],
        vec!["list-metadata", "-n", "d3"],
        vec!["create-snapshot", "-n", "d3", "--snap-name", "s"],
        vec!["list-snapshots", "-n", "d3"],
        vec!["list_snapshots", "-n", "d3"],
        vec!["remove-snapshot", "-n", "d3", "--snap-name", "s"],
        vec!["rollback", "-n", "d3", "--snap-name", "s"],
        vec!["purge", "-n", "d3"],
        vec!["export", "-n", "d3", "--to", "/nonexistent/export"],
        vec!["clone", "-n", "d3", "--dst-name", "copy", "--full"],
        vec!["clone", "-n", "d3", "--dst-name", "copy"],
    ] {
        let argv: Vec<String> = argv.into_iter().map(str::to_owned).collect();
        let e = check(&rbd_ctx, &argv).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{argv:?}: {e}");
        assert!(e.to_string().contains("--storage dir"), "{e}");
        assert_eq!(exit_code(&f, &[], &argv), ExitCode::from(2), "{argv:?}");
    }
    assert_eq!(f.text(), cib);
    assert_eq!(tree_snapshot(&vms(&f).join("d3")), files);
    // Copy-on-write clones pass the check on dir, as --full ones do.
    for full in [&["--full"][..], &[]] {
        let argv: Vec<String> = ["clone", "-n", "d3", "--dst-name", "copy"]
            .iter()
            .chain(full)
            .map(|w| w.to_string())
            .collect();
        check(&ctx, &argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    }
    // The list covers every verb: each is either supported or refused above.
    let refused: Vec<String> = unsupported("d3")
        .into_iter()
        .map(|v| v[0].clone())
        .collect();
    for sub in <Cli as clap::CommandFactory>::command().get_subcommands() {
        let name = sub.get_name();
        if refused.iter().any(|r| r == name) {
            continue;
        }
        let rest: &[&str] = match name {
            "list" | "info" | "rebalance" => &[],
            "balance" => &["--enable"],
            "create" => &["-n", "d3", "--xml", "x", "-i", "y"],
            "migrate" => &["-n", "d3", "--node", "sim2"],
            "add-colocation" => &["-n", "d3", "other"],
            "remove-colocation" => &["-n", "d3", "--all"],
            "set-placement" => &["-n", "d3", "--strategy", "failover"],
            "drain" | "undrain" => &["--node", "sim1"],
            "set-xml" => &["-n", "d3", "--xml", "x"],
            "get-metadata" => &["-n", "d3", "--metadata-name", "k"],
            "set-metadata" => &["-n", "d3", "--metadata-name", "k", "--metadata-value", "v"],
            "create-snapshot" | "remove-snapshot" | "rollback" => &["-n", "d3", "--snap-name", "s"],
            "export" => &["-n", "d3", "--to", "/nonexistent/export"],
            "import" => &["--from", "/nonexistent/export"],
            "clone" => &["-n", "d3", "--dst-name", "copy", "--full"],
            _ => &["-n", "d3"],
        };
        let cli = Cli::try_parse_from(["vm-mgr", name].iter().chain(rest))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let supported = super::backend_check::supported_on_dir(&cli.command);
        assert!(
            supported || refused.iter().any(|r| r == name),
            "verb {name} is neither supported on dir nor refused in this test"
        );
    }
}

/// Placement on the dir backend is the CIB's alone (with the settings in the VM's directory):
/// pinned then auto, an anti-colocation with another dir VM, on the recorded CIB with the real
/// tools; the settings and the stored fragment follow while the VM is disabled.
#[test]
fn placement_and_colocation_work_on_dir_vms() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let ctx = dir_ctx(&f);
    for n in ["d7", "d8"] {
        super::create::run(&ctx, &super::tests::create_args(&f.dir, n)).unwrap();
    }
    let run = |argv: &[&str]| {
        let cli = Cli::try_parse_from(std::iter::once(&"vm-mgr").chain(argv))
            .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        match &cli.command {
            crate::cli::Command::SetPlacement(a) => super::placement::run(&ctx, a),
            crate::cli::Command::AddColocation(a) => super::colocation::add(&ctx, a),
            crate::cli::Command::Disable(a) => super::disable::run(&ctx, &a.name),
            other => panic!("{other:?}"),
        }
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"))
    };
    run(&[
        "set-placement",
        "-n",
        "d7",
        "--strategy",
        "pinned",
        "--node",
        "sim2",
    ]);
    assert!(f.text().contains("vmmgr-pin-d7"), "{}", f.text());
    let settings = &ctx.storage.meta_list("system_d7").unwrap()["_vmmgr_settings"];
    assert!(settings.contains("sim2"), "{settings}");
    run(&["add-colocation", "-n", "d7", "d8", "--anti"]);
    assert!(
        f.text().contains("rsc=\"d7\" with-rsc=\"d8\""),
        "{}",
        f.text()
    );
    run(&["disable", "-n", "d7"]);
    run(&["set-placement", "-n", "d7", "--strategy", "auto"]);
    let kept = std::fs::read_to_string(vms(&f).join("d7").join("cib.xml")).unwrap();
    assert!(!kept.contains("vmmgr-pin-d7"), "{kept}");
    assert!(kept.contains("with-rsc=\"d8\""), "{kept}");
    let settings = &ctx.storage.meta_list("system_d7").unwrap()["_vmmgr_settings"];
    assert!(!settings.contains("sim2"), "{settings}");
}

#[test]
fn set_xml_writes_domain_xml_of_a_dir_vm_and_keeps_its_disk() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let ctx = dir_ctx(&f);
    let a = super::tests::create_args(&f.dir, "d5");
    super::create::run(&ctx, &a).unwrap();
    let file = vms(&f).join("d5").join("domain.xml");
    let before = std::fs::read_to_string(&file).unwrap();
    // create's template (no disk of the VM's) with the VM's name and a description: the
    // stored file disk stays. (Its name x would be refused: set-xml does not rename.)
    let template = std::fs::read_to_string(&a.xml).unwrap();
    let described = template.replacen(
        "<name>x</name>",
        "<name>d5</name><description>dir</description>",
        1,
    );
    assert_ne!(described, template);
    let new = f.dir.join("d5-new.xml");
    std::fs::write(&new, described).unwrap();
    let args = crate::cli_xml::SetXmlArgs {
        name: "d5".into(),
        xml: new,
    };
    let out = super::set_xml::run(&ctx, &args).unwrap();
    assert!(
        out.text.contains("+  <description>dir</description>"),
        "{}",
        out.text
    );
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(after.contains("<description>dir</description>"), "{after}");
    let disk = vms(&f).join("d5").join("system.qcow2");
    assert!(
        after.contains(&format!(r#"<source file="{}"/>"#, disk.display())),
        "{after}"
    );
    assert_ne!(after, before);
}
