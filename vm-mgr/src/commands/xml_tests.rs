//! `set-xml` and `edit` on in-memory storage holding the XML vm-mgr stored for a real VM
//! (recorded), with a copy of a recorded CIB (real `cibadmin` through `CIB_file`): what is
//! written, what is refused, what a dry run leaves alone. The editor of `edit` is a real
//! program (`sed -i`, `false`), run as the user's editor would be.

use clap::Parser;

use super::testing::{stored_vm, CibFile};
use crate::cli::{Cli, Command};
use crate::ctx::Ctx;
use crate::storage::mem::Memory;
use crate::storage::Storage;

/// `rbd image-meta get system_web1 xml` on the sandbox (rbd adds a newline).
const RECORDED: &str = include_str!("../../../tests/fixtures/vm-mgr/stored-domain-xml.xml");

fn stored() -> &'static str {
    RECORDED.strip_suffix('\n').unwrap()
}

/// VM web1 as create left it, with one data disk.
fn web1() -> Memory {
    let m = stored_vm("web1", &Default::default()).with_image("data_web1_0", &[]);
    m.create_group("web1").unwrap();
    m.group_add("web1", "system_web1").unwrap();
    m.group_add("web1", "data_web1_0").unwrap();
    m.meta_set("system_web1", "xml", stored()).unwrap();
    m
}

fn xml_now(ctx: &Ctx) -> String {
    ctx.storage.meta_get("system_web1", "xml").unwrap().unwrap()
}

fn run(ctx: &Ctx, args: &[&str]) -> crate::error::Result<crate::output::Outcome> {
    let cli = Cli::try_parse_from(std::iter::once("vm-mgr").chain(args.iter().copied())).unwrap();
    match &cli.command {
        Command::SetXml(a) => super::set_xml::run(ctx, a),
        Command::Console(a) => super::console::run(ctx, a),
        other => panic!("not a verb of these tests: {other:?}"),
    }
}

#[test]
fn set_xml_prints_the_diff_and_stores_the_xml_a_dry_run_writes_nothing() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let cib = f.text();
    let new = f.dir.join("web1.xml");
    let with_desc = stored().replacen(
        "<name>web1</name>",
        "<name>web1</name>\n  <description>db server</description>",
        1,
    );
    std::fs::write(&new, &with_desc).unwrap();
    let path = new.to_str().unwrap();
    let dry = f.ctx(web1(), true);
    let out = run(&dry, &["set-xml", "-n", "web1", "--xml", path]).unwrap();
    let want_diff = "--- web1 (stored)\n+++ web1 (new)\n@@ -1,5 +1,6 @@\n <domain type=\"kvm\">\n   <name>web1</name>\n+  <description>db server</description>\n   <uuid>";
    assert!(out.text.starts_with(want_diff), "{}", out.text);
    assert!(
        out.text
            .contains("Dry run of set-xml for web1: nothing was changed"),
        "{}",
        out.text
    );
    assert_eq!(out.json["changed"], true);
    assert_eq!(out.json["dry_run"], true);
    assert_eq!(xml_now(&dry), stored(), "a dry run wrote the XML");
    let ctx = f.ctx(web1(), false);
    let out = run(&ctx, &["set-xml", "-n", "web1", "--xml", path]).unwrap();
    assert!(out.text.starts_with(want_diff), "{}", out.text);
    assert!(
        out.text.ends_with("it applies at the VM's next start\n"),
        "{}",
        out.text
    );
    assert_eq!(out.json["applies"], "next start");
    assert!(xml_now(&ctx).contains("<description>db server</description>"));
    assert_eq!(xml_now(&ctx), out.json["domain_xml"].as_str().unwrap());
    assert_eq!(f.text(), cib, "the CIB does not change");
    // The same XML again: no change, nothing written.
    let out = run(&ctx, &["set-xml", "-n", "web1", "--xml", path]).unwrap();
    assert_eq!(out.json["changed"], false);
    assert!(
        out.text.contains("unchanged; nothing was written"),
        "{}",
        out.text
    );
}

#[test]
fn set_xml_refuses_another_vm_or_foreign_disks_and_changes_nothing() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let new = f.dir.join("web1.xml");
    let path = new.to_str().unwrap();
    for (text, needle) in [
        (
            stored().replacen("<name>web1</name>", "<name>other</name>", 1),
            "cannot be renamed",
        ),
        (
            stored().replacen(
                "66ac8ef6-6f82-437a-ba45-8631740bfb15",
                "66ac8ef6-0000-437a-ba45-8631740bfb15",
                1,
            ),
            "<uuid>",
        ),
        (
            stored().replacen("rbd/data_web1_0", "rbd/data_x_0", 1),
            "is not one of the VM's disks",
        ),
        (
            "<domain type='kvm'><name>web1</name>".to_owned(),
            "not usable",
        ),
    ] {
        assert_ne!(text, stored());
        std::fs::write(&new, &text).unwrap();
        for dry_run in [false, true] {
            let ctx = f.ctx(web1(), dry_run);
            let e = run(&ctx, &["set-xml", "-n", "web1", "--xml", path]).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{needle}: {e}");
            assert!(e.to_string().contains(needle), "{needle}: {e}");
            assert_eq!(xml_now(&ctx), stored());
        }
    }
    // Over the metadata limit (128 KiB): refused before anything is written.
    let big = stored().replacen(
        "</name>",
        &format!("</name><description>{}</description>", "x".repeat(140_000)),
        1,
    );
    std::fs::write(&new, big).unwrap();
    let ctx = f.ctx(web1(), false);
    let e = run(&ctx, &["set-xml", "-n", "web1", "--xml", path]).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    assert_eq!(xml_now(&ctx), stored());
}

#[test]
fn edit_runs_the_editor_on_the_stored_xml_and_stores_its_result() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    // The editor: sed editing the file in place, as `EDITOR="sed -i -e s#...#...#"` would.
    let argv = super::edit::editor_argv(None, Some("sed -i -e s#<vcpu>1</vcpu>#<vcpu>2</vcpu>#"));
    assert_eq!(argv.len(), 4, "{argv:?}");
    let ctx = f.ctx(web1(), false);
    let out = super::edit::run_with(&ctx, "web1", &argv).unwrap();
    assert!(
        out.text.contains("-  <vcpu>1</vcpu>\n+  <vcpu>2</vcpu>\n"),
        "{}",
        out.text
    );
    assert!(xml_now(&ctx).contains("<vcpu>2</vcpu>"));
    assert_eq!(out.json["verb"], "edit");
    // A dry run shows the same diff and writes nothing.
    let dry = f.ctx(web1(), true);
    let out = super::edit::run_with(&dry, "web1", &argv).unwrap();
    assert!(out.text.contains("+  <vcpu>2</vcpu>\n"), "{}", out.text);
    assert_eq!(xml_now(&dry), stored());
    // An editor that fails: nothing is changed.
    let ctx = f.ctx(web1(), false);
    let e = super::edit::run_with(&ctx, "web1", &["false".to_owned()]).unwrap_err();
    assert!(e.to_string().contains("The editor did not end well"), "{e}");
    assert_eq!(xml_now(&ctx), stored());
    // An edit that renames the VM is refused, and kept for set-xml.
    let rename = super::edit::editor_argv(Some("sed -i -e s#>web1<#>web9<#"), None);
    let e = super::edit::run_with(&ctx, "web1", &rename).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    assert_eq!(xml_now(&ctx), stored());
    let kept: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("vm-mgr-edit-web1-")
                && std::fs::read_to_string(p).is_ok_and(|t| t.contains("<name>web9</name>"))
        })
        .collect();
    assert!(!kept.is_empty(), "the refused edit was not kept");
    for p in kept {
        std::fs::remove_file(p).unwrap();
    }
}

#[test]
fn the_editor_comes_from_visual_then_editor_then_vi() {
    use super::edit::editor_argv;
    assert_eq!(editor_argv(None, None), ["vi"]);
    assert_eq!(editor_argv(Some("  "), Some("nano")), ["nano"]);
    assert_eq!(
        editor_argv(Some("code --wait"), Some("nano")),
        ["code", "--wait"]
    );
    assert_eq!(editor_argv(None, Some("emacs\t-nw ")), ["emacs", "-nw"]);
}

#[test]
fn console_finds_the_node_and_refuses_a_vm_that_does_not_run() {
    // Recorded: t1 Started on sim2, no migration transport set.
    let f = CibFile::new("cib-vm-t1-started.xml");
    let ctx = f.ctx(stored_vm("t1", &Default::default()), true);
    let out = run(&ctx, &["console", "-n", "t1"]).unwrap();
    assert_eq!(out.json["node"], "sim2");
    assert_eq!(
        out.json["argv"],
        serde_json::json!([
            "virsh",
            "-c",
            "qemu://sim2/system",
            "console",
            "--domain",
            "t1"
        ])
    );
    assert!(
        out.text.contains(
            "it runs on sim2; vm-mgr would run: virsh -c qemu://sim2/system console --domain t1"
        ),
        "{}",
        out.text
    );
    // From sim2 itself: the local hypervisor URI; from sim1 with ssh configured as the VM's
    // transport and a user: through ssh.
    let mut cib_text = f.text();
    let cib = shared::pacemaker::Cib::parse(&cib_text).unwrap();
    assert_eq!(
        super::console::console_argv(&cib, "t1", "sim2", Some("sim2"), true),
        [
            "virsh",
            "-c",
            "qemu:///system",
            "console",
            "--force",
            "--domain",
            "t1"
        ]
    );
    let at = cib_text.find("<instance_attributes id=\"vmmgr-domain-t1.params\"");
    let Some(at) = at.map(|a| a + cib_text[a..].find('>').unwrap() + 1) else {
        panic!("no instance_attributes of vmmgr-domain-t1 in the fixture");
    };
    cib_text.insert_str(
        at,
        r#"<nvpair id="t1-mt" name="migration_transport" value="ssh"/><nvpair id="t1-mu" name="migration_user" value="ops"/>"#,
    );
    let cib = shared::pacemaker::Cib::parse(&cib_text).unwrap();
    assert_eq!(
        super::console::console_argv(&cib, "t1", "sim2", Some("sim1"), false),
        [
            "virsh",
            "-c",
            "qemu+ssh://ops@sim2/system",
            "console",
            "--domain",
            "t1"
        ]
    );
    // A VM that is not in the cluster (disabled) has no console: exit 7.
    let ctx = f.ctx(stored_vm("t9", &Default::default()), true);
    let e = run(&ctx, &["console", "-n", "t9"]).unwrap_err();
    assert_eq!(e.exit_code(), crate::error::EXIT_REFUSED, "{e}");
    assert!(e.to_string().contains("is not running (Disabled)"), "{e}");
}
