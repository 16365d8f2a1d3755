//! Verbs run against private copies of recorded CIBs through the real Pacemaker tools
//! (`CIB_file`: `cibadmin`, `crm_diff`, `crm_mon`), with in-memory storage.

use std::process::ExitCode;

use super::testing::{stored_vm, CibFile};
use crate::cli::CreateArgs;
use crate::error::Error;
use crate::output::{Layout, OutputFormat};
use crate::storage::mem::Memory;
use crate::vm::Settings;

fn pinned() -> Settings {
    Settings {
        pinned_host: Some("sim3".into()),
        ..Settings::default()
    }
}

#[test]
fn status_and_list_of_a_recorded_running_vm() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let ctx = f.ctx(
        stored_vm("t1", &Settings::default()).with_image("system_t9", &[]),
        false,
    );
    let out = super::status::run(&ctx, "t1").unwrap();
    assert_eq!(out.json["state"], "Started");
    assert_eq!(out.json["node"], "sim2");
    assert_eq!(out.json["constraints"][0], "vmmgr-ban-t1");
    assert_eq!(out.json["storage"], "rbd");
    // The state word alone first (SEAPATH's status), details after it in the long layout.
    assert_eq!(
        out.render_as(OutputFormat::Text, Layout::Long),
        "Started\n  name: t1\n  node: sim2\n  placement: auto\n  constraints: vmmgr-ban-t1\n"
    );
    assert_eq!(
        out.render_as(OutputFormat::Text, Layout::Short),
        "Started\n"
    );
    let list = super::list::run(&ctx).unwrap();
    assert_eq!(
        list.json,
        serde_json::json!([
            {"name": "t1", "state": "Started", "node": "sim2", "storage": "rbd", "guest_node": null},
            {"name": "t9", "state": "Disabled", "node": null, "storage": "rbd", "guest_node": null},
        ])
    );
    // Names alone for scripts (SEAPATH's plugin takes every line as a name), the table for
    // people; JSON the same in both layouts.
    assert_eq!(
        list.render_as(OutputFormat::Text, Layout::Short),
        "t1\nt9\n"
    );
    assert_eq!(
        list.render_as(OutputFormat::Text, Layout::Long),
        "NAME  STATE     NODE\nt1    Started   sim2\nt9    Disabled\n"
    );
    assert_eq!(
        list.render_as(OutputFormat::Json, Layout::Short),
        list.render_as(OutputFormat::Json, Layout::Long)
    );
    let e = super::status::run(&ctx, "nosuch").unwrap_err();
    assert_eq!(e.exit_code(), 3);
    assert_eq!(
        super::status::undefined_text(&e).as_deref(),
        Some("Undefined\n")
    );
}

#[test]
fn dry_run_disable_prints_the_patch_and_changes_nothing() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let before = f.text();
    let storage = stored_vm("t1", &Settings::default());
    let ctx = f.ctx(storage, true);
    let out = super::disable::run(&ctx, "t1").unwrap();
    let patch = out.json["cib_patch"].as_str().unwrap();
    assert!(patch.contains("group[@id=&apos;t1&apos;]"), "{patch}");
    assert!(
        patch.contains("rsc_location[@id=&apos;vmmgr-ban-t1&apos;]"),
        "{patch}"
    );
    assert_eq!(out.json["dry_run"], true);
    assert_eq!(f.text(), before, "the CIB file is untouched");
    for verb in ["stop", "remove", "remove --purge"] {
        let remove = |purge| crate::cli_trash::RemoveArgs {
            name: "t1".into(),
            purge,
            yes: false,
        };
        let out = match verb {
            "stop" => super::stop::run(&ctx, "t1", true),
            "remove" => super::remove::run(&ctx, &remove(false)),
            _ => super::remove::run(&ctx, &remove(true)),
        }
        .unwrap();
        let verb = verb.split(' ').next().unwrap();
        assert!(
            out.text.starts_with(&format!("Dry run of {verb} for t1")),
            "{}",
            out.text
        );
    }
    assert_eq!(f.text(), before);
}

#[test]
fn enable_disable_enable_keeps_constraints_in_one_patch_each() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let idle = f.text();
    let ctx = f.ctx(stored_vm("g1", &pinned()), false);
    let out = super::enable::run(&ctx, "g1", true).unwrap();
    assert_eq!(out.json["changed"], true);
    let enabled = f.text();
    assert!(enabled.contains(r#"<group id="g1">"#));
    assert!(enabled.contains(r#"id="vmmgr-pin-g1""#));
    // Someone adds a colocation with crm; disable keeps it, enable restores it.
    let col = r#"<rsc_colocation id="col-g1" rsc="g1" with-rsc="sandbox-fence" score="10"/>"#;
    ctx.tools
        .command(
            &[
                "cibadmin".into(),
                "--create".into(),
                "--scope".into(),
                "constraints".into(),
                "--xml-text".into(),
                col.into(),
            ],
            ctx.cib_deadline(),
        )
        .run()
        .unwrap();
    let out = super::disable::run(&ctx, "g1").unwrap();
    assert_eq!(
        out.json["constraints_kept"],
        serde_json::json!([
            "vmmgr-ban-g1",
            "vmmgr-pin-g1",
            "vmmgr-pin-g1.home",
            "col-g1"
        ])
    );
    let disabled = f.text();
    assert!(!disabled.contains("g1"), "nothing of g1 left:\n{disabled}");
    assert_eq!(
        super::status::run(&ctx, "g1").unwrap().json["state"],
        "Disabled"
    );
    assert_eq!(
        super::disable::run(&ctx, "g1").unwrap().json["changed"],
        false
    );
    super::enable::run(&ctx, "g1", false).unwrap();
    let again = f.text();
    assert!(again.contains(r#"id="col-g1""#));
    assert!(again.contains(r#"id="vmmgr-pin-g1""#));
    assert!(again.contains(r#"name="target-role" value="Started""#));
    assert_eq!(
        super::enable::run(&ctx, "g1", false).unwrap().json["changed"],
        false
    );
    // stop / start toggle the group's target role only.
    super::stop::run(&ctx, "g1", false).unwrap();
    assert!(f
        .text()
        .contains(r#"id="g1.meta.target-role" name="target-role" value="Stopped""#));
    super::start::run(&ctx, "g1").unwrap();
    assert!(f
        .text()
        .contains(r#"id="g1.meta.target-role" name="target-role" value="Started""#));
    assert_ne!(idle, again);
}

#[test]
fn enable_gives_an_old_fragment_vm_mgrs_ceph_settings() {
    // VM t1 disabled by a vm-mgr that did not pass the Ceph settings on: its stored fragment
    // is the group and ban it wrote into the recorded CIB.
    let recorded =
        shared::pacemaker::xml::Element::parse(&CibFile::new("cib-vm-t1-started.xml").text(), "t")
            .unwrap();
    let old = crate::fragment::extract(&recorded, "t1").unwrap().to_xml();
    assert!(!old.contains("user"), "{old}");
    let f = CibFile::new("cib-3nodes-idle.xml");
    let storage = Memory::new().with_image(
        "system_t1",
        &[
            ("xml", "<domain type='kvm'><name>t1</name></domain>"),
            ("_vmmgr_fragment", &old),
        ],
    );
    let mut ctx = f.ctx(storage, false);
    ctx.config.ceph_id = "libvirt".into();
    ctx.config.ceph_conf = Some("/etc/ceph/prod.conf".into());
    super::enable::run(&ctx, "t1", true).unwrap();
    let cib = f.text();
    for (prim, name, value) in [
        ("vmmgr-disk-t1", "user", "libvirt"),
        ("vmmgr-disk-t1", "cephconf", "/etc/ceph/prod.conf"),
        ("vmmgr-domain-t1", "rbd_xml_user", "libvirt"),
        ("vmmgr-domain-t1", "rbd_xml_cephconf", "/etc/ceph/prod.conf"),
    ] {
        let nv = format!(r#"<nvpair id="{prim}.params.{name}" name="{name}" value="{value}"/>"#);
        assert!(cib.contains(&nv), "missing {nv} in\n{cib}");
    }
    // Disabled again, the fragment kept in RBD has them too.
    super::disable::run(&ctx, "t1").unwrap();
    let stored = ctx
        .storage
        .meta_get("system_t1", crate::vm::META_FRAGMENT)
        .unwrap()
        .unwrap();
    assert!(
        stored.contains(r#"name="rbd_xml_user" value="libvirt""#),
        "{stored}"
    );
}

pub(super) fn create_args(dir: &std::path::Path, name: &str) -> CreateArgs {
    let xml = dir.join("guest.xml");
    std::fs::write(
        &xml,
        "<domain type='kvm'><name>x</name><memory unit='MiB'>64</memory>\
         <os><type arch='x86_64'>hvm</type></os><devices/></domain>",
    )
    .unwrap();
    let image = dir.join("disk.qcow2");
    std::fs::write(&image, b"not really qcow2").unwrap();
    CreateArgs {
        name: name.into(),
        xml,
        image,
        additional_disk: Vec::new(),
        vm: crate::cli::VmFlags {
            disk_bus: "virtio".into(),
            disable: false,
            nostart: true,
            force: false,
            enable_live_migration: false,
            migration_user: None,
            migrate_to_timeout: 120,
            stop_timeout: 30,
            migration_downtime: 0,
            priority: 0,
            pinned_host: Some("sim1".into()),
            preferred_host: None,
            metadata: vec!["owner=ops".into()],
            pacemaker_params: Vec::new(),
            pacemaker_meta: Vec::new(),
            pacemaker_utilization: Vec::new(),
            add_crm_config_cmd: Vec::new(),
            progress: false,
        },
    }
}

fn with_secret(mut ctx: crate::ctx::Ctx) -> crate::ctx::Ctx {
    ctx.config.secret_uuid = Some("a1f0c3e2-5b1d-4c3a-9e8f-5a4db0c0ffee".into());
    ctx
}

#[test]
fn create_stores_everything_then_enables() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let ctx = with_secret(f.ctx(Memory::new(), false));
    let a = create_args(&f.dir, "c1");
    let out = super::create::run(&ctx, &a).unwrap();
    assert_eq!(out.json["created"], true);
    assert!(f.text().contains(r#"<group id="c1">"#));
    let meta = ctx.storage.meta_list("system_c1").unwrap();
    assert!(meta["xml"].contains(r#"<source protocol="rbd" name="rbd/system_c1">"#));
    assert!(meta["xml"].contains("<name>c1</name>"));
    assert_eq!(meta["owner"], "ops");
    assert!(meta.contains_key("_vmmgr_fragment") && meta.contains_key("_vmmgr_settings"));
    assert_eq!(ctx.storage.group_images("c1").unwrap(), ["system_c1"]);
    let e = super::create::run(&ctx, &a).unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    assert_eq!(e.exit_code(), 4);
}

/// SEAPATH's `--add-crm-config-cmd`, with the real crm shell on the CIB file: a constraint
/// naming the VM joins it (in the CIB and its stored fragment); one that names something else
/// is refused before anything is made.
#[test]
fn crm_config_commands_add_constraints_on_the_vm_only() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let ctx = with_secret(f.ctx(Memory::new(), false));
    let mut a = create_args(&f.dir, "c5");
    a.vm.add_crm_config_cmd = vec!["location c5-likes-sim2 c5 50: sim2".into()];
    super::create::run(&ctx, &a).unwrap();
    assert!(
        f.text()
            .contains(r#"<rsc_location id="c5-likes-sim2" rsc="c5" score="50" node="sim2"/>"#),
        "{}",
        f.text()
    );
    let meta = ctx.storage.meta_list("system_c5").unwrap();
    assert!(meta["_vmmgr_fragment"].contains("c5-likes-sim2"));

    let before = f.text();
    let mut b = create_args(&f.dir, "c6");
    b.vm.add_crm_config_cmd = vec!["location elsewhere c5 10: sim3".into()];
    let e = super::create::run(&ctx, &b).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    assert!(e.to_string().contains("does not name VM c6"), "{e}");
    b.vm.add_crm_config_cmd = vec!["property maintenance-mode=true".into()];
    assert_eq!(super::create::run(&ctx, &b).unwrap_err().exit_code(), 2);
    b.vm.add_crm_config_cmd = vec!["location half-made c6".into()];
    let e = super::create::run(&ctx, &b).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    assert!(e.to_string().contains("crm shell refused it"), "{e}");
    assert_eq!(f.text(), before);
    assert!(!ctx.storage.image_exists("system_c6").unwrap());
}

#[test]
fn a_failed_import_leaves_nothing() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let before = f.text();
    let ctx = with_secret(f.ctx(Memory::new().failing_imports(), false));
    let e = super::create::run(&ctx, &create_args(&f.dir, "c2")).unwrap_err();
    assert!(e.to_string().contains("was undone"), "{e}");
    assert!(ctx.storage.list_images().unwrap().is_empty());
    assert!(ctx.storage.list_groups().unwrap().is_empty());
    assert_eq!(f.text(), before);
}

#[test]
fn dry_run_create_and_bad_input_change_nothing() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let before = f.text();
    let ctx = with_secret(f.ctx(Memory::new(), true));
    let out = super::create::run(&ctx, &create_args(&f.dir, "c3")).unwrap();
    let actions = out.json["storage_actions"].as_array().unwrap();
    assert!(actions
        .iter()
        .any(|a| a.as_str().unwrap().starts_with("import ")));
    assert!(out.json["cib_patch"]
        .as_str()
        .unwrap()
        .contains("vmmgr-pin-c3"));
    assert!(ctx.storage.list_images().unwrap().is_empty());
    let ctx = with_secret(f.ctx(Memory::new(), false));
    let mut bad = create_args(&f.dir, "c4");
    bad.vm.pinned_host = Some("sim9".into());
    assert_eq!(super::create::run(&ctx, &bad).unwrap_err().exit_code(), 2);
    let mut bad = create_args(&f.dir, "c4");
    bad.image = f.dir.join("nosuch.qcow2");
    assert_eq!(super::create::run(&ctx, &bad).unwrap_err().exit_code(), 2);
    let mut bad = create_args(&f.dir, "c4");
    std::fs::write(&bad.xml, "<domain type='kvm'>").unwrap();
    assert_eq!(super::create::run(&ctx, &bad).unwrap_err().exit_code(), 2);
    bad.xml = f.dir.join("missing.xml");
    assert_eq!(super::create::run(&ctx, &bad).unwrap_err().exit_code(), 2);
    assert!(ctx.storage.list_images().unwrap().is_empty());
    assert_eq!(f.text(), before);
}

#[test]
fn the_binary_checks_names_before_anything_runs() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let cib = f.path.to_string_lossy().into_owned();
    for name in ["a;rm -rf /", "$(reboot)", "../x", ""] {
        let code = crate::main_with_args([
            "vm-mgr",
            "--no-storage",
            "--cib-file",
            &cib,
            "status",
            "-n",
            name,
        ]);
        assert_eq!(code, ExitCode::from(2), "{name}");
    }
    let code = crate::main_with_args([
        "vm-mgr",
        "--no-storage",
        "--cib-file",
        &cib,
        "status",
        "-n",
        "ok",
    ]);
    assert_eq!(code, ExitCode::from(3));
    let code = crate::main_with_args([
        "vm-mgr",
        "--no-storage",
        "--cib-file",
        &cib,
        "--output",
        "json",
        "list",
    ]);
    assert_eq!(code, ExitCode::from(0));
    let code = crate::main_with_args(["vm-mgr", "--bogus"]);
    assert_eq!(code, ExitCode::from(2));
}
