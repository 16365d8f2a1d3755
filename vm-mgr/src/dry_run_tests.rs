//! A dry run is the real run minus the writes (issue 13): whatever the real run would find out
//! only as it writes (a duplicate nvpair id, an id taken in the CIB, a value the CIB or RBD
//! cannot keep) is refused before any storage work, by both, with the same error. The CIB is
//! a private copy of a recorded one that the real Pacemaker tools work on (`CIB_file`); the
//! storage is in memory and follows RBD's limits.

use crate::commands::testing::CibFile;
use crate::error::Error;
use crate::storage::mem::Memory;

/// Runs the vm-mgr command line `args` (without the program name) on `ctx` (here, not in
/// `commands::testing`: `commands` must not be imported from below it).
pub(crate) fn run_cli(
    ctx: &crate::ctx::Ctx,
    args: &[&str],
) -> crate::error::Result<crate::output::Outcome> {
    use clap::Parser;
    let cli =
        crate::cli::Cli::try_parse_from(std::iter::once("vm-mgr").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    crate::commands::run(&cli, ctx)
}

/// A domain XML file and a disk image in the test's directory; `extra` goes in `<domain>`.
fn guest(f: &CibFile, extra: &str) -> (String, String) {
    let xml = f.dir.join("guest.xml");
    std::fs::write(
        &xml,
        format!(
            "<domain type='kvm'><name>x</name><memory unit='MiB'>64</memory>\
             <os><type arch='x86_64'>hvm</type></os>{extra}<devices/></domain>"
        ),
    )
    .unwrap();
    let image = f.dir.join("disk.qcow2");
    std::fs::write(&image, b"not really qcow2").unwrap();
    let s = |p: std::path::PathBuf| p.to_str().unwrap().to_owned();
    (s(xml), s(image))
}

/// `create -n c9 --xml XML -i IMAGE --nostart`.
fn create_c9<'a>(xml: &'a str, image: &'a str) -> Vec<&'a str> {
    vec!["create", "-n", "c9", "--xml", xml, "-i", image, "--nostart"]
}

/// Runs `create -n c9` with `flags`, for real and as a dry run: both must fail alike, before
/// any storage work (no undo), leaving storage and CIB as they were. Returns the error.
fn create_refused(f: &CibFile, extra_xml: &str, flags: &[&str]) -> Vec<Error> {
    let before = f.text();
    let (xml, image) = guest(f, extra_xml);
    let mut args = create_c9(&xml, &image);
    args.extend_from_slice(flags);
    let mut errors = Vec::new();
    for dry_run in [false, true] {
        let ctx = f.ctx_with_secret(Memory::new(), dry_run);
        let e = run_cli(&ctx, &args)
            .map(|o| o.text)
            .expect_err(&format!("{flags:?} (dry run {dry_run}) was accepted"));
        assert!(
            !matches!(e, Error::Undone { .. }),
            "{flags:?} (dry run {dry_run}): refused only after storage work: {e}"
        );
        assert!(ctx.storage.list_images().unwrap().is_empty());
        assert!(ctx.storage.list_groups().unwrap().is_empty());
        assert_eq!(f.text(), before, "{flags:?} (dry run {dry_run})");
        errors.push(e);
    }
    assert_eq!(errors[0].to_string(), errors[1].to_string());
    errors
}

#[test]
fn pacemaker_meta_that_vm_mgr_sets_itself_is_refused_by_both_runs() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    for (meta, hint) in [
        ("priority=5", "use --priority"),
        ("target-role=Started", "use start, stop"),
    ] {
        let e = &create_refused(&f, "", &["--pacemaker-meta", meta])[0];
        assert_eq!(e.exit_code(), 2, "{meta}: {e}");
        assert!(e.to_string().contains(hint), "{meta}: {e}");
    }
    // Other meta attributes still go in.
    let ctx = f.ctx_with_secret(Memory::new(), false);
    let (xml, image) = guest(&f, "");
    let mut args = create_c9(&xml, &image);
    args.extend(["--pacemaker-meta", "resource-stickiness=7"]);
    run_cli(&ctx, &args).unwrap();
    assert!(f.text().contains(r#"name="resource-stickiness" value="7""#));
}

#[test]
fn an_id_of_the_fragment_taken_in_the_cib_is_refused_by_both_runs() {
    // Not the group or a primitive (those were already checked): the ban constraint's id.
    let f = CibFile::new("cib-3nodes-idle.xml");
    let taken = r#"<rsc_location id="vmmgr-ban-c9" rsc="sandbox-fence" node="sim1" score="1"/>"#;
    let text = f.text().replacen(
        "<constraints/>",
        &format!("<constraints>{taken}</constraints>"),
        1,
    );
    assert!(text.contains(taken));
    std::fs::write(&f.path, text).unwrap();
    let e = &create_refused(&f, "", &[])[0];
    assert!(matches!(e, Error::IdTaken { .. }), "{e}");
    assert_eq!(e.exit_code(), 4);
    assert!(e.to_string().contains("vmmgr-ban-c9"), "{e}");
}

#[test]
fn a_domain_xml_larger_than_one_argument_is_refused_by_both_runs() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    // 200 KiB: over Linux's 128 KiB limit of one argv element (`rbd image-meta set` takes the
    // value on its command line: E2BIG at exec).
    let description = format!("<description>{}</description>", "x".repeat(200 * 1024));
    let e = &create_refused(&f, &description, &[])[0];
    assert_eq!(e.exit_code(), 2, "{e}");
    let msg = crate::error::chain(e).join(": ");
    assert!(msg.contains("too long") && msg.contains("131071"), "{msg}");
    // Just under the limit still goes in (the final XML is the given one plus the disks).
    let description = format!("<description>{}</description>", "x".repeat(120 * 1024));
    let (xml, image) = guest(&f, &description);
    let ctx = f.ctx_with_secret(Memory::new(), false);
    run_cli(&ctx, &create_c9(&xml, &image)).unwrap();
    assert!(ctx.storage.meta_list("system_c9").unwrap()["xml"].len() > 120 * 1024);
    // set-metadata: the same limit, in both runs.
    let big = "y".repeat(200 * 1024);
    for dry_run in [false, true] {
        let ctx = f.ctx(Memory::new().with_image("system_c9", &[]), dry_run);
        let args = ["set-metadata", "-n", "c9", "--metadata-name", "k"];
        let mut args = args.to_vec();
        args.extend(["--metadata-value", &big]);
        let e = run_cli(&ctx, &args).unwrap_err();
        assert_eq!(e.exit_code(), 2, "dry run {dry_run}: {e}");
        assert!(ctx.storage.meta_list("system_c9").unwrap().is_empty());
    }
}

#[test]
fn control_characters_in_cib_values_are_refused_not_cut() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    for flags in [
        ["--pacemaker-params", "foo=a\nb"],
        ["--pacemaker-params", "foo=a\tb"],
        ["--pacemaker-meta", "description=a\u{1}b"],
        ["--pacemaker-utilization", "cpu=2\r"],
    ] {
        let e = &create_refused(&f, "", &flags)[0];
        assert_eq!(e.exit_code(), 2, "{flags:?}: {e}");
        let msg = crate::error::chain(e).join(": ");
        assert!(msg.contains("control character"), "{flags:?}: {msg}");
    }
}

#[test]
fn metadata_values_with_control_characters_are_stored_as_given() {
    // RBD metadata keeps any byte but NUL (which no argument can carry): stored as given.
    let f = CibFile::new("cib-3nodes-idle.xml");
    let value = "line 1\nline 2\tand\u{1}\r\n";
    let ctx = f.ctx(Memory::new().with_image("system_c9", &[]), false);
    let args = ["set-metadata", "-n", "c9", "--metadata-name", "note"];
    let mut args = args.to_vec();
    args.extend(["--metadata-value", value]);
    run_cli(&ctx, &args).unwrap();
    let out = run_cli(
        &ctx,
        &["get-metadata", "-n", "c9", "--metadata-name", "note"],
    )
    .unwrap();
    assert_eq!(out.json["value"], value);
}

#[test]
fn remove_without_storage_refuses_before_touching_the_cib() {
    // `--no-storage`: remove cannot delete the disks, so it must not take the VM out of the
    // CIB either (it used to stop it and remove its resources, then refuse).
    let f = CibFile::new("cib-vm-t1-started.xml");
    let before = f.text();
    for dry_run in [false, true] {
        let ctx = f.ctx(crate::storage::NoStorage, dry_run);
        let e = run_cli(&ctx, &["remove", "-n", "t1"]).unwrap_err();
        assert!(e.to_string().contains("--no-storage"), "{e}");
        assert_eq!(f.text(), before, "dry run {dry_run}: the CIB changed");
    }
}

/// `cib-vm-t1-started.xml` with sim3 an observer by node attribute and sim2 by transient
/// attribute, and `extra_nodes` (XML) after sim3 in the nodes section.
fn with_observers(extra_nodes: &str) -> CibFile {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let observer = r#"<node id="3" uname="sim3"><instance_attributes id="nodes-3"><nvpair id="nodes-3-vmmgr-role" name="vmmgr-role" value="observer"/></instance_attributes></node>"#;
    let transient = r#"<nvpair id="status-2-vmmgr-role" name="vmmgr-role" value="observer"/>"#;
    let text = f
        .text()
        .replacen(
            r#"<node id="3" uname="sim3"/>"#,
            &format!("{observer}{extra_nodes}"),
            1,
        )
        .replacen(
            r#"<instance_attributes id="status-2">"#,
            &format!(r#"<instance_attributes id="status-2">{transient}"#),
            1,
        );
    assert!(text.contains(observer) && text.contains(transient) && text.contains(extra_nodes));
    std::fs::write(&f.path, text).unwrap();
    f
}

#[test]
fn pinning_where_a_vm_can_never_run_is_refused_with_the_reason() {
    // sim3 an observer for good (nodes section), sim2 until it reboots (a transient
    // attribute); remote9 is a Pacemaker Remote node.
    let f = with_observers(r#"<node id="remote9" uname="remote9" type="remote"/>"#);
    let before = f.text();
    let stored = || crate::commands::testing::stored_vm("t1", &Default::default());
    let pin = |node| {
        [
            "set-placement",
            "-n",
            "t1",
            "--strategy",
            "pinned",
            "--node",
            node,
        ]
    };
    for (node, says) in [
        ("sim3", "sim3 is an observer"),
        ("sim2", "sim2 is an observer"),
        ("remote9", "remote9 is not a full cluster node"),
        ("sim9", "not a node of the cluster"),
    ] {
        let args = pin(node);
        for dry_run in [false, true] {
            let e = run_cli(&f.ctx(stored(), dry_run), &args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{node} (dry run {dry_run}): {e}");
            assert!(e.to_string().contains(says), "{e}");
            assert_eq!(f.text(), before, "{node} (dry run {dry_run})");
        }
    }
    let e = &create_refused(&f, "", &["--pinned-host", "sim3"])[0];
    assert_eq!(e.exit_code(), 2, "{e}");
    assert!(e.to_string().contains("sim3 is an observer"), "{e}");
    // The same pin to a node that runs VMs goes in.
    run_cli(&f.ctx(stored(), false), &pin("sim1")).unwrap();
    assert!(f.text().contains("vmmgr-pin-t1"));
}

#[test]
fn a_dry_run_refuses_a_patch_that_pacemaker_would_refuse() {
    // A stored fragment whose domain primitive lost its `class` (edited by hand): only
    // Pacemaker's schema knows it is wrong. The real enable fails at `cibadmin --patch`; the
    // dry run must too (its patch is applied to a private copy of the CIB), with the same
    // error, and neither changes the CIB.
    let f = CibFile::new("cib-3nodes-idle.xml");
    let before = f.text();
    let ids = crate::vm::VmIds::new("g1");
    let settings = crate::vm::Settings::default();
    let fragment = crate::fragment::build(&ids, &settings, &Default::default(), "Stopped");
    let good = fragment.to_xml();
    let bad = good.replacen(
        r#"id="vmmgr-domain-g1" class="ocf""#,
        r#"id="vmmgr-domain-g1""#,
        1,
    );
    assert_ne!(bad, good);
    let json = settings.to_json();
    let stored = || {
        Memory::new().with_image(
            "system_g1",
            &[
                ("xml", "<domain type='kvm'><name>g1</name></domain>"),
                ("vm_name", "g1"),
                ("_vmmgr_settings", &json),
                ("_vmmgr_fragment", &bad),
            ],
        )
    };
    let mut errors = Vec::new();
    for dry_run in [false, true] {
        let e = run_cli(&f.ctx(stored(), dry_run), &["enable", "-n", "g1"]).unwrap_err();
        assert_eq!(f.text(), before, "dry run {dry_run}");
        errors.push(crate::error::chain(&e).join(": "));
    }
    assert!(
        errors[1].contains("does not conform to the configured schema"),
        "{errors:?}"
    );
    assert!(!errors[1].contains("<cib"), "{errors:?}");
    assert_eq!(errors[0], errors[1]);
}

#[test]
fn a_dry_run_create_prints_the_patch_it_checked_and_the_real_run_applies() {
    // One read and one test-apply (issue 17): the patch a dry run of create checks is the one
    // it prints, the one its enable would apply. Applied by Pacemaker (`cibadmin --patch`) to
    // a copy of the CIB, it gives the configuration the real create leaves.
    use shared::pacemaker::tools::{Target, Tools};
    use shared::pacemaker::xml::Element;
    let f = CibFile::new("cib-3nodes-idle.xml");
    let copy = CibFile::new("cib-3nodes-idle.xml");
    let (xml, image) = guest(&f, "");
    let args = create_c9(&xml, &image);
    let dry = f.ctx_with_secret(Memory::new(), true);
    let out = run_cli(&dry, &args).unwrap();
    let patch = out.json["cib_patch"].as_str().expect("a patch").to_owned();
    assert!(
        patch.contains(r#"name="target-role" value="Stopped""#),
        "{patch}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let apply = |f: &CibFile, patch: &str| {
        Tools::new(Target::File(f.path.clone()))
            .cib_patch_start(deadline)
            .unwrap()
            .apply(patch)
    };
    apply(&copy, &patch).unwrap();
    run_cli(&f.ctx_with_secret(Memory::new(), false), &args).unwrap();
    let configuration = |f: &CibFile| {
        Element::parse(&f.text(), "test CIB")
            .unwrap()
            .child("configuration")
            .cloned()
            .unwrap()
    };
    assert_eq!(configuration(&copy), configuration(&f));
    // Without --nostart the patch starts the VM, and Pacemaker takes that one too.
    let (xml, image) = guest(&copy, "");
    let started = ["create", "-n", "c8", "--xml", &xml, "-i", &image];
    let out = run_cli(&copy.ctx_with_secret(Memory::new(), true), &started).unwrap();
    let patch = out.json["cib_patch"].as_str().expect("a patch").to_owned();
    assert!(
        patch.contains(r#"name="target-role" value="Started""#),
        "{patch}"
    );
    apply(&copy, &patch).unwrap();
    assert!(copy.text().contains(r#"id="vmmgr-domain-c8""#));
}

#[test]
fn create_judges_a_pin_on_the_status_derived_from_the_cib() {
    // No remote node here: the status derived from the CIB is decided, and create's pin check
    // uses it (no crm_mon); an observer by node attribute or by transient attribute is still
    // refused, by both runs, and a node that runs VMs still goes in.
    let f = with_observers("");
    let cib = shared::pacemaker::Cib::parse(&f.text()).unwrap();
    shared::pacemaker::derive::status_from_cib(&cib).expect("a decided status");
    for (node, says) in [
        ("sim3", "sim3 is an observer"),
        ("sim2", "sim2 is an observer"),
    ] {
        let e = &create_refused(&f, "", &["--pinned-host", node])[0];
        assert_eq!(e.exit_code(), 2, "{e}");
        assert!(e.to_string().contains(says), "{e}");
    }
    let (xml, image) = guest(&f, "");
    let mut args = create_c9(&xml, &image);
    args.extend(["--pinned-host", "sim1"]);
    let out = run_cli(&f.ctx_with_secret(Memory::new(), true), &args).unwrap();
    assert!(out.json["cib_patch"]
        .as_str()
        .unwrap()
        .contains("vmmgr-pin-c9"));
}
