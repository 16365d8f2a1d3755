//! `vm-mgr` snapshots, rollback, purge, clone and export/import on the real sandbox (Ceph RBD,
//! Pacemaker, our agents): disk content is checked with `qemu-io` patterns on the `rbd:` images.
//!
//! Run: `VMMGR_SANDBOX_NAME=snap cargo test -p vmmgr-tests --test vm_mgr_snapshots --
//! --ignored --test-threads=1` (after `cargo build`, so that the nodes see the current `vm-mgr`).

use shared::cmd::Output;
use vmmgr_tests::{unique_name, Sandbox};

fn sandbox() -> Sandbox {
    Sandbox::up(3, true)
}

fn vm_mgr(sb: &Sandbox, node: &str, args: &[&str]) -> Output {
    let mut argv = vec!["vm-mgr"];
    argv.extend_from_slice(args);
    sb.exec(node, &argv)
        .unwrap_or_else(|e| panic!("{node}: vm-mgr {args:?}: {e}"))
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.code(),
        out.stdout_str(),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn vm_mgr_ok(sb: &Sandbox, node: &str, args: &[&str]) -> String {
    let out = vm_mgr(sb, node, args);
    assert!(out.status.success(), "vm-mgr {args:?}: {}", describe(&out));
    out.stdout_str()
}

/// Creates a disabled VM with a system disk and one data disk.
fn create_two_disk_vm(sb: &Sandbox, name: &str) {
    let xml = format!("/var/tmp/vmmgr-e2e-{name}.xml");
    std::fs::write(&xml, sb.guest_xml(name)).expect("write the guest XML");
    let (a, b) = (
        format!("/var/tmp/vmmgr-e2e-{name}-a.qcow2"),
        format!("/var/tmp/vmmgr-e2e-{name}-b.qcow2"),
    );
    for img in [&a, &b] {
        sb.exec_ok(
            "sim1",
            &["qemu-img", "create", "-q", "-f", "qcow2", img, "32M"],
        );
    }
    vm_mgr_ok(
        sb,
        "sim1",
        &[
            "create",
            "-n",
            name,
            "--xml",
            &xml,
            "-i",
            &a,
            "--additional-disk",
            &b,
            "--disable",
        ],
    );
    for f in [xml, a, b] {
        let _ = std::fs::remove_file(f);
    }
}

/// `qemu-io` write or read-and-compare of pattern `byte` over the first 64 KiB of `image`.
fn qemu_io(sb: &Sandbox, op: &str, byte: &str, image: &str) -> bool {
    let cmd = format!("{op} -P {byte} 0 64k");
    let target = format!("rbd:rbd/{image}");
    let out = sb
        .exec("sim1", &["qemu-io", "-f", "raw", "-c", &cmd, &target])
        .expect("qemu-io runs");
    // qemu-io exits 0 even when the pattern differs; it says so on stdout.
    out.status.success() && !out.stdout_str().contains("Pattern verification failed")
}

fn constraints(sb: &Sandbox, name: &str) -> String {
    let st = vm_mgr_ok(sb, "sim1", &["--output", "json", "status", "-n", name]);
    let start = st.find("\"constraints\"").unwrap_or(0);
    st[start..].split(']').next().unwrap_or("").to_owned()
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn snapshot_rollback_both_disks_running_vm_and_purge() {
    let sb = sandbox();
    let name = unique_name("snp");
    let (sys, data) = (format!("system_{name}"), format!("data_{name}_0"));
    create_two_disk_vm(&sb, &name);
    for img in [&sys, &data] {
        assert!(qemu_io(&sb, "write", "0xab", img));
    }
    let out = vm_mgr_ok(
        &sb,
        "sim1",
        &["create_snapshot", "-n", &name, "--snap_name", "s1"],
    );
    assert!(out.contains("(stopped)"), "{out}");
    for img in [&sys, &data] {
        assert!(qemu_io(&sb, "write", "0xcd", img));
        assert!(!qemu_io(&sb, "read", "0xab", img), "overwritten");
    }
    vm_mgr_ok(&sb, "sim2", &["rollback", "-n", &name, "--snap-name", "s1"]);
    for img in [&sys, &data] {
        assert!(qemu_io(&sb, "read", "0xab", img), "{img} is back at s1");
    }

    // A running VM: stopped, rolled back, running again, constraints unchanged.
    vm_mgr_ok(&sb, "sim1", &["enable", "-n", &name]);
    let before = constraints(&sb, &name);
    let out = vm_mgr_ok(
        &sb,
        "sim1",
        &["create-snapshot", "-n", &name, "--snap-name", "s2"],
    );
    assert!(out.contains("crash-consistent"), "no guest agent: {out}");
    let out = vm_mgr_ok(
        &sb,
        "sim3",
        &[
            "--output",
            "json",
            "rollback",
            "-n",
            &name,
            "--snap-name",
            "s1",
        ],
    );
    assert!(
        out.contains("\"was_running\": true") && out.contains("\"state\": \"Started\""),
        "{out}"
    );
    assert_eq!(constraints(&sb, &name), before);

    // Unknown snapshot: clear error, exit 2.
    let bad = vm_mgr(
        &sb,
        "sim1",
        &["rollback", "-n", &name, "--snap-name", "nosuch"],
    );
    assert_eq!(bad.code(), Some(2), "{}", describe(&bad));

    // purge: --number, --keep, --date.
    for s in ["s3", "s4"] {
        vm_mgr_ok(
            &sb,
            "sim1",
            &["create-snapshot", "-n", &name, "--snap-name", s],
        );
    }
    let out = vm_mgr_ok(
        &sb,
        "sim1",
        &["--output", "json", "purge", "-n", &name, "--number", "1"],
    );
    assert!(
        out.contains("\"s1\"") && !out.contains("\"removed\": [\n    \"s1\",\n    \"s2\""),
        "{out}"
    );
    let out = vm_mgr_ok(
        &sb,
        "sim1",
        &["--output", "json", "purge", "-n", &name, "--keep", "1"],
    );
    assert!(out.contains("\"s2\"") && out.contains("\"s3\""), "{out}");
    let out = vm_mgr_ok(
        &sb,
        "sim1",
        &["purge", "-n", &name, "--date", "01/01/2000 00:00:00"],
    );
    assert!(out.contains("no snapshot to purge"), "{out}");
    let list = vm_mgr_ok(
        &sb,
        "sim1",
        &["--output", "json", "list-snapshots", "-n", &name],
    );
    assert!(
        list.contains("\"s4\"") && !list.contains("\"s3\""),
        "{list}"
    );
    vm_mgr_ok(&sb, "sim1", &["remove", "-n", &name]);
    let images = sb.exec_ok("sim1", &["rbd", "ls"]);
    assert!(!images.contains(&name), "{images}");
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn clone_cow_and_full_then_export_remove_import() {
    let sb = sandbox();
    let name = unique_name("src");
    let (cow, full) = (format!("{name}c"), format!("{name}f"));
    create_two_disk_vm(&sb, &name);
    assert!(qemu_io(&sb, "write", "0xab", &format!("data_{name}_0")));
    vm_mgr_ok(
        &sb,
        "sim1",
        &["create-snapshot", "-n", &name, "--snap-name", "gold"],
    );

    // COW clone from the snapshot: boots under Pacemaker, new UUID, source untouched by writes.
    let out = vm_mgr_ok(
        &sb,
        "sim1",
        &[
            "clone",
            "-n",
            &name,
            "--dst_name",
            &cow,
            "--snap_name",
            "gold",
        ],
    );
    assert!(out.contains("Started on"), "{out}");
    let xml = |vm: &str| {
        vm_mgr_ok(
            &sb,
            "sim1",
            &["get-metadata", "-n", vm, "--metadata_name", "xml"],
        )
    };
    let uuid = |x: &str| {
        x.split("<uuid>")
            .nth(1)
            .and_then(|r| r.split('<').next())
            .unwrap_or("")
            .to_owned()
    };
    let (src_xml, cow_xml) = (xml(&name), xml(&cow));
    assert_ne!(uuid(&src_xml), uuid(&cow_xml));
    assert!(cow_xml.contains(&format!("rbd/data_{cow}_0")), "{cow_xml}");
    let parent = sb.exec_ok(
        "sim1",
        &[
            "rbd",
            "info",
            "--format",
            "json",
            &format!("rbd/data_{cow}_0"),
        ],
    );
    assert!(
        parent.contains("\"snapshot\":\"gold\""),
        "a COW child: {parent}"
    );
    assert!(qemu_io(&sb, "read", "0xab", &format!("data_{cow}_0")));
    vm_mgr_ok(&sb, "sim1", &["stop", "-n", &cow]);
    assert!(qemu_io(&sb, "write", "0x11", &format!("data_{cow}_0")));
    assert!(
        qemu_io(&sb, "read", "0xab", &format!("data_{name}_0")),
        "source untouched"
    );

    // Full copy (snapshot taken on the fly), not started.
    vm_mgr_ok(
        &sb,
        "sim1",
        &[
            "clone",
            "-n",
            &name,
            "--dst-name",
            &full,
            "--full",
            "--nostart",
        ],
    );
    let info = sb.exec_ok(
        "sim1",
        &[
            "rbd",
            "info",
            "--format",
            "json",
            &format!("rbd/data_{full}_0"),
        ],
    );
    assert!(!info.contains("\"parent\""), "independent: {info}");
    assert!(qemu_io(&sb, "read", "0xab", &format!("data_{full}_0")));

    // Export, remove, import: identical metadata, XML and content.
    let dir = format!("/var/tmp/vmmgr-e2e-export-{full}");
    let _ = std::fs::remove_dir_all(&dir);
    let meta = |vm: &str| {
        vm_mgr_ok(
            &sb,
            "sim1",
            &["--output", "json", "list-metadata", "-n", vm, "--all"],
        )
    };
    let before = meta(&full);
    vm_mgr_ok(&sb, "sim1", &["export", "-n", &full, "--to", &dir]);
    vm_mgr_ok(&sb, "sim1", &["remove", "-n", &full]);
    vm_mgr_ok(&sb, "sim2", &["import", "--from", &dir, "--nostart"]);
    assert_eq!(meta(&full), before);
    assert!(qemu_io(&sb, "read", "0xab", &format!("data_{full}_0")));
    let st = vm_mgr_ok(&sb, "sim1", &["status", "-n", &full]);
    assert!(st.contains("Stopped"), "{st}");

    for vm in [&full, &cow, &name] {
        vm_mgr_ok(&sb, "sim1", &["remove", "-n", vm]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
