//! `vm-mgr` snapshots, rollback, purge, clone and export/import on the real sandbox (Ceph RBD,
//! Pacemaker, our agents): disk content is checked with `qemu-io` patterns on the `rbd:` images
//! and, across export/import, with a digest of each whole image. Clones must run on another
//! node than their source, with their own UUID and MAC addresses (the guests get two
//! user-mode interfaces); an imported VM must come back with the same disks, XML, metadata and
//! CIB fragment (group and constraints).
//!
//! Run: `VMMGR_SANDBOX_NAME=snap cargo test -p vmmgr-tests --test vm_mgr_snapshots --
//! --ignored --test-threads=1` (after `cargo build`, so that the nodes see the current `vm-mgr`).

use shared::pacemaker::xml::Element;
use vmmgr_tests::{describe, unique_name, vm_mgr, vm_mgr_ok, Sandbox};

fn sandbox() -> Sandbox {
    Sandbox::up(3, true)
}

/// Two network interfaces (user-mode, no host device needed) with fixed MAC addresses.
const INTERFACES: &str = "<interface type='user'><mac address='52:54:00:e2:e6:01'/>\
    <model type='virtio'/></interface><interface type='user'><mac address='52:54:00:e2:e6:02'/>\
    <model type='virtio'/></interface>";

/// Creates a VM with a system disk, one data disk and two network interfaces; `extra` are more
/// arguments of `create` (e.g. `--disable`).
fn create_two_disk_vm(sb: &Sandbox, name: &str, extra: &[&str]) {
    let xml = format!("/var/tmp/vmmgr-e2e-{name}.xml");
    let guest = sb
        .guest_xml(name)
        .replacen("<memballoon", &format!("{INTERFACES}<memballoon"), 1);
    std::fs::write(&xml, guest).expect("write the guest XML");
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
    let mut args = vec![
        "create",
        "-n",
        name,
        "--xml",
        &xml,
        "-i",
        &a,
        "--additional-disk",
        &b,
    ];
    args.extend_from_slice(extra);
    vm_mgr_ok(sb, "sim1", &args);
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
    create_two_disk_vm(&sb, &name, &["--disable"]);
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
    assert!(
        out.contains("no snapshot to purge (none matches; kept: s4)"),
        "{out}"
    );
    let list = vm_mgr_ok(
        &sb,
        "sim1",
        &["--output", "json", "list-snapshots", "-n", &name],
    );
    assert!(
        list.contains("\"s4\"") && !list.contains("\"s3\""),
        "{list}"
    );
    vm_mgr_ok(&sb, "sim1", &["remove", "--purge", "-n", &name]);
    let images = sb.exec_ok("sim1", &["rbd", "ls"]);
    assert!(!images.contains(&name), "{images}");
}

/// The UUID and the interfaces' MAC addresses of a domain XML.
fn identity(xml: &str) -> (String, Vec<String>) {
    let root = Element::parse(xml, "the domain XML").expect("the domain XML parses");
    let uuid = root
        .child("uuid")
        .map(|u| u.text_trimmed().to_owned())
        .unwrap_or_default();
    let macs = root
        .child("devices")
        .map(|d| {
            d.children_named("interface")
                .filter_map(|i| i.child("mac")?.attr("address").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (uuid, macs)
}

/// Asserts that two domains have different UUIDs and no MAC address in common (and that each
/// has its two interfaces).
fn assert_new_identity(src: &str, copy: &str) {
    let ((su, sm), (cu, cm)) = (identity(src), identity(copy));
    assert!(!su.is_empty() && !cu.is_empty(), "{src}\n{copy}");
    assert_ne!(su, cu, "a new UUID");
    assert_eq!((sm.len(), cm.len()), (2, 2), "{sm:?} {cm:?}");
    assert!(
        cm.iter().all(|m| !sm.contains(m)),
        "new MAC addresses: {sm:?} {cm:?}"
    );
}

/// The XML libvirt runs for `vm` on `node` (the domain is named after the VM).
fn running_xml(sb: &Sandbox, node: &str, vm: &str) -> String {
    sb.exec_ok(node, &["virsh", "dumpxml", vm])
}

/// A digest of the whole content of RBD image `image` (`rbd export` to stdout).
fn disk_digest(sb: &Sandbox, image: &str) -> (usize, u64) {
    use std::hash::{Hash, Hasher};
    let out = sb
        .exec(
            "sim1",
            &[
                "rbd",
                "export",
                "--no-progress",
                &format!("rbd/{image}"),
                "-",
            ],
        )
        .expect("rbd export runs");
    assert!(
        out.status.success(),
        "rbd export {image}: {}",
        describe(&out)
    );
    let mut h = std::collections::hash_map::DefaultHasher::new();
    out.stdout.hash(&mut h);
    (out.stdout.len(), h.finish())
}

/// The VM's group and every constraint naming it, from the CIB configuration, as XML (sorted).
fn cib_fragment(sb: &Sandbox, vm: &str) -> Vec<String> {
    let cib = sb.exec_ok("sim1", &["cibadmin", "--query", "--scope", "configuration"]);
    let root = Element::parse(&cib, "the CIB configuration").expect("the CIB parses");
    let quoted = format!("\"{vm}\"");
    let mut out: Vec<String> = ["resources", "constraints"]
        .iter()
        .filter_map(|s| root.child(s))
        .flat_map(|s| s.children.iter())
        .map(Element::to_xml)
        .filter(|x| x.contains(&quoted))
        .collect();
    out.sort();
    out
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn clone_cow_and_full_then_export_remove_import() {
    let sb = sandbox();
    let name = unique_name("src");
    let (cow, full) = (format!("{name}c"), format!("{name}f"));
    let (src_data, cow_data, full_data) = (
        format!("data_{name}_0"),
        format!("data_{cow}_0"),
        format!("data_{full}_0"),
    );
    create_two_disk_vm(
        &sb,
        &name,
        &[
            "--disable",
            "--pinned-host",
            "sim1",
            "--metadata",
            "owner=e2e",
        ],
    );
    assert!(qemu_io(&sb, "write", "0xab", &src_data));
    vm_mgr_ok(
        &sb,
        "sim1",
        &["create-snapshot", "-n", &name, "--snap-name", "gold"],
    );
    let out = vm_mgr_ok(&sb, "sim2", &["enable", "-n", &name]);
    assert!(out.contains("Started on sim1"), "the source runs: {out}");

    // COW clone from the snapshot, without the source's pin, pinned to another node: it boots
    // there under Pacemaker with a new UUID and new MACs.
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
            "--clear-constraint",
            "--nostart",
        ],
    );
    assert!(out.contains(&cow), "{out}");
    vm_mgr_ok(
        &sb,
        "sim1",
        &[
            "set-placement",
            "-n",
            &cow,
            "--strategy",
            "pinned",
            "--node",
            "sim2",
        ],
    );
    let out = vm_mgr_ok(&sb, "sim3", &["start", "-n", &cow]);
    assert!(out.contains("Started on sim2"), "{out}");
    assert_eq!(
        sb.running_on(&format!("vmmgr-domain-{name}"), &[]),
        ["sim1"]
    );
    assert_eq!(sb.running_on(&format!("vmmgr-domain-{cow}"), &[]), ["sim2"]);
    let xml = |vm: &str| {
        vm_mgr_ok(
            &sb,
            "sim1",
            &["get-metadata", "-n", vm, "--metadata_name", "xml"],
        )
    };
    let (src_live, cow_live) = (
        running_xml(&sb, "sim1", &name),
        running_xml(&sb, "sim2", &cow),
    );
    assert_new_identity(&src_live, &cow_live);
    assert_eq!(
        identity(&cow_live),
        identity(&xml(&cow)),
        "runs its own XML"
    );
    assert!(cow_live.contains(&format!("rbd/{cow_data}")), "{cow_live}");
    assert_eq!(
        vm_mgr_ok(
            &sb,
            "sim1",
            &["get-metadata", "-n", &cow, "--metadata_name", "owner"]
        ),
        "e2e\n",
        "metadata copied"
    );
    let parent = sb.exec_ok(
        "sim1",
        &[
            "rbd",
            "info",
            "--format",
            "json",
            &format!("rbd/{cow_data}"),
        ],
    );
    assert!(
        parent.contains("\"snapshot\":\"gold\""),
        "a COW child: {parent}"
    );
    assert!(qemu_io(&sb, "read", "0xab", &cow_data));
    vm_mgr_ok(&sb, "sim1", &["stop", "-n", &cow]);
    assert!(qemu_io(&sb, "write", "0x11", &cow_data));
    assert!(qemu_io(&sb, "read", "0x11", &cow_data));
    assert!(qemu_io(&sb, "read", "0xab", &src_data), "source untouched");

    // Full copy of the running source (snapshot taken on the fly), enabled but not started;
    // it keeps the source's pin (no --clear-constraint).
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
            &format!("rbd/{full_data}"),
        ],
    );
    assert!(!info.contains("\"parent\""), "independent: {info}");
    assert!(qemu_io(&sb, "read", "0xab", &full_data));
    assert_new_identity(&xml(&name), &xml(&full));
    assert!(
        cib_fragment(&sb, &full)
            .iter()
            .any(|c| c.contains(&format!("id=\"vmmgr-pin-{full}\""))),
        "the pin is inherited"
    );
    let out = vm_mgr_ok(&sb, "sim1", &["purge", "-n", &full]);
    assert!(
        out.contains("no snapshot to purge (the VM has no snapshots)"),
        "a copy has no snapshots: {out}"
    );

    // Export, remove, import under the same name: the same disks (whole content), XML (UUID,
    // MACs), metadata and CIB fragment (resources and constraints, pin and colocations).
    assert!(qemu_io(&sb, "write", "0x5a", &format!("system_{full}")));
    vm_mgr_ok(
        &sb,
        "sim1",
        &[
            "set-metadata",
            "-n",
            &full,
            "--metadata-name",
            "role",
            "--metadata-value",
            "exported",
        ],
    );
    vm_mgr_ok(&sb, "sim1", &["add-colocation", "-n", &full, &cow]);
    let foreign = format!(
        r#"<rsc_colocation id="col-{full}-fence" rsc="{full}" with-rsc="sandbox-fence" score="0"/>"#
    );
    sb.exec_ok(
        "sim1",
        &[
            "cibadmin",
            "--create",
            "--scope",
            "constraints",
            "--xml-text",
            &foreign,
        ],
    );
    let images = [format!("system_{full}"), full_data.clone()];
    // Every metadata key, internal ones included, but the CIB fragment kept for disable: while
    // the VM is enabled the CIB holds the truth (compared below), and import stores that.
    let meta = |vm: &str| {
        vm_mgr_ok(
            &sb,
            "sim1",
            &["--output", "json", "list-metadata", "-n", vm, "--all"],
        )
        .lines()
        .filter(|l| !l.trim_start().starts_with("\"_vmmgr_fragment\":"))
        .collect::<Vec<_>>()
        .join("\n")
    };
    let digests = || {
        images
            .iter()
            .map(|i| disk_digest(&sb, i))
            .collect::<Vec<_>>()
    };
    let (sums, xml_before, meta_before, frag_before, cons_before) = (
        digests(),
        xml(&full),
        meta(&full),
        cib_fragment(&sb, &full),
        constraints(&sb, &full),
    );
    assert_eq!(
        frag_before.len(),
        6,
        "group, ban, pin (its rule and its .home) and 2 colocations: {frag_before:#?}"
    );
    assert!(
        meta_before.contains("\"role\": \"exported\"") && meta_before.contains("\"xml\":"),
        "{meta_before}"
    );
    let dir = format!("/var/tmp/vmmgr-e2e-export-{full}");
    let _ = std::fs::remove_dir_all(&dir);
    vm_mgr_ok(&sb, "sim1", &["export", "-n", &full, "--to", &dir]);
    vm_mgr_ok(&sb, "sim1", &["remove", "--purge", "-n", &full]);
    assert!(cib_fragment(&sb, &full).is_empty(), "removed");
    let out = vm_mgr_ok(&sb, "sim2", &["import", "--from", &dir, "--nostart"]);
    assert!(out.contains("imported"), "{out}");
    assert_eq!(digests(), sums, "disk content");
    assert!(qemu_io(&sb, "read", "0x5a", &format!("system_{full}")));
    assert!(qemu_io(&sb, "read", "0xab", &full_data));
    assert_eq!(xml(&full), xml_before, "domain XML");
    assert_eq!(meta(&full), meta_before, "metadata");
    assert_eq!(cib_fragment(&sb, &full), frag_before, "CIB fragment");
    assert_eq!(constraints(&sb, &full), cons_before, "constraints");
    let st = vm_mgr_ok(&sb, "sim1", &["status", "-n", &full]);
    assert!(st.contains("Stopped"), "{st}");

    for vm in [&full, &cow, &name] {
        vm_mgr_ok(&sb, "sim1", &["remove", "--purge", "-n", vm]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
