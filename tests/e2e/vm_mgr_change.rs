//! `vm-mgr set-resources` on the real cluster: a running guest defined with room (1 of 2
//! vCPUs, 64 MiB of a 256 MiB `maxMemory` with one NUMA cell and ACPI) gets 2 vCPUs and
//! 128 MiB at once (libvirt on its node: vCPU hotplug and a hotplugged DIMM), still after
//! stop/start and after disable/enable (the stored XML); the CIB utilization follows.
//! `set-options --stop-timeout` shows in the CIB and survives disable/enable; `add-disk --size
//! 16M` is attached to the running guest at once, its image in the VM's group, and kept. The
//! VM is removed at the end.
//!
//! Run: `VMMGR_SANDBOX_NAME=vmm cargo test -p vmmgr-tests --test vm_mgr_change -- --ignored
//! --test-threads=1` (after `cargo build`, so that the nodes see the current `vm-mgr`).

use std::time::Duration;

use vmmgr_tests::{create_argv, describe, unique_name, vm_mgr, vm_mgr_ok, wait_for, Sandbox};

#[path = "vm_mgr_support.rs"]
mod support;
use support::*;

/// Removes the VM and its inputs, also when the test fails half-way.
struct Made<'a> {
    sb: &'a Sandbox,
    name: String,
}

impl Drop for Made<'_> {
    fn drop(&mut self) {
        let _ = vm_mgr(self.sb, "sim1", &["remove", "--purge", "-n", &self.name]);
        cleanup_inputs(&self.name);
    }
}

/// The sandbox guest with room for 2 vCPUs and 256 MiB.
fn roomy_xml(sb: &Sandbox, name: &str) -> String {
    sb.guest_xml(name)
        .replace("<vcpu>1</vcpu>", "<vcpu current='1'>2</vcpu>")
        .replace(
            "<memory unit='MiB'>64</memory>",
            "<maxMemory slots='2' unit='MiB'>256</maxMemory><memory unit='MiB'>64</memory>",
        )
        .replace(
            "</os>",
            "</os><features><acpi/></features>\
             <cpu><numa><cell id='0' cpus='0-1' memory='64' unit='MiB'/></numa></cpu>",
        )
}

/// `virsh VERB NAME` on the node running the guest.
fn virsh(sb: &Sandbox, verb: &str, name: &str) -> String {
    let node = sb.running_on(&format!("vmmgr-domain-{name}"), &[]);
    assert_eq!(node.len(), 1, "{name} runs on one node: {node:?}");
    sb.exec_ok(&node[0], &["virsh", verb, name])
}

/// (vCPUs, max memory KiB) of the running guest, from `virsh dominfo` on its node.
fn dominfo(sb: &Sandbox, name: &str) -> (String, String) {
    let info = virsh(sb, "dominfo", name);
    let field = |k: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {k} in {info}"))
    };
    (field("CPU(s):"), field("Max memory:"))
}

fn utilization(sb: &Sandbox, name: &str, key: &str) -> String {
    let d = format!("vmmgr-domain-{name}");
    sb.exec_ok(
        "sim1",
        &["crm_resource", "-r", &d, "--utilization", "-g", key, "-Q"],
    )
    .trim()
    .to_owned()
}

/// The timeout of the domain's stop op in the CIB.
fn stop_timeout(sb: &Sandbox, name: &str) -> String {
    let xpath = format!("//primitive[@id='vmmgr-domain-{name}']/operations/op[@name='stop']");
    let op = sb.exec_ok("sim1", &["cibadmin", "--query", "--xpath", &xpath]);
    let at = op
        .find("timeout=\"")
        .map(|i| i + 9)
        .expect("the stop op has a timeout");
    op[at..].split('"').next().unwrap_or_default().to_owned()
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn set_resources_set_options_and_add_disk_apply_at_once_and_survive_disable_enable() {
    let sb = sandbox();
    let name = unique_name("rs");
    let (xml, image) = inputs(&sb, &name);
    std::fs::write(&xml, roomy_xml(&sb, &name)).expect("write the guest XML");
    let _made = Made {
        sb: &sb,
        name: name.clone(),
    };
    let tcp = ["--pacemaker-params", "migration_transport=tcp"];
    vm_mgr_ok(&sb, "sim1", &create_argv(&name, &xml, &image, &tcp));
    assert_eq!(dominfo(&sb, &name), ("1".into(), "65536 KiB".into()));

    // dry run: every check, nothing changed
    let epoch = config_epoch(&sb);
    let argv = [
        "set-resources",
        "-n",
        &name,
        "--vcpus",
        "2",
        "--memory",
        "128M",
    ];
    let mut dry = argv.to_vec();
    dry.push("--dry-run");
    vm_mgr_ok(&sb, "sim1", &dry);
    assert_eq!(config_epoch(&sb), epoch);
    assert_eq!(dominfo(&sb, &name), ("1".into(), "65536 KiB".into()));

    // from sim1, whichever node runs it: at once in libvirt, and in the CIB
    let out = vm_mgr_ok(&sb, "sim1", &argv);
    assert!(out.contains("applied to the running guest"), "{out}");
    assert!(!out.contains("next start"), "{out}");
    let want = ("2".to_owned(), "131072 KiB".to_owned());
    assert_eq!(dominfo(&sb, &name), want);
    assert_eq!(utilization(&sb, &name, "cpu"), "2");
    assert_eq!(utilization(&sb, &name, "hv_memory"), "128");

    // set-options: in the CIB at once
    vm_mgr_ok(
        &sb,
        "sim1",
        &["set-options", "-n", &name, "--stop-timeout", "45"],
    );
    assert_eq!(stop_timeout(&sb, &name), "45s");

    // add-disk: a new image in the VM's group, attached to the running guest at once
    let out = vm_mgr_ok(&sb, "sim1", &["add-disk", "-n", &name, "--size", "16M"]);
    assert!(out.contains("attached to the running guest"), "{out}");
    let data = format!("data_{name}_0");
    let disks = virsh(&sb, "domblklist", &name);
    let vdb = format!("vdb rbd/{data}");
    let has_vdb = |disks: &str| {
        disks
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") == vdb)
    };
    assert!(has_vdb(&disks), "{disks}");
    let group = sb.exec_ok("sim1", &["rbd", "group", "image", "list", &name]);
    assert!(group.contains(&format!("rbd/{data}")), "{group}");
    // the running disk guard takes the new image's lock at its next monitor (every 10 s)
    // instead of reporting the guard lost, which made Pacemaker restart the VM (and once fence
    // its node when that stop failed): its line is in the node's journal, and no failure
    let on = sb.running_on(&format!("vmmgr-domain-{name}"), &[]);
    assert_eq!(on.len(), 1, "{on:?}");
    let took = format!("took the guard lock on rbd/{data}");
    wait_for(
        Duration::from_secs(40),
        "the guard to lock the new disk",
        || {
            let log = sb.exec_ok(&on[0], &["journalctl", "--no-pager", "--since=-5min"]);
            log.contains(&took).then_some(())
        },
    );
    let st = status_json(&sb, "sim1", &name);
    assert!(st.contains("\"failures\": []"), "{st}");
    assert_eq!(sb.running_on(&format!("vmmgr-domain-{name}"), &[]), on);

    // the stored XML: after stop/start and after disable/enable
    vm_mgr_ok(&sb, "sim1", &["stop", "-n", &name]);
    vm_mgr_ok(&sb, "sim1", &["start", "-n", &name]);
    assert_eq!(dominfo(&sb, &name), want, "after stop/start");
    vm_mgr_ok(&sb, "sim1", &["disable", "-n", &name]);
    vm_mgr_ok(&sb, "sim1", &["enable", "-n", &name]);
    assert_eq!(dominfo(&sb, &name), want, "after disable/enable");
    assert_eq!(stop_timeout(&sb, &name), "45s", "after disable/enable");
    assert!(
        has_vdb(&virsh(&sb, "domblklist", &name)),
        "after disable/enable"
    );
    assert_eq!(utilization(&sb, &name, "cpu"), "2");

    // above the maximum: stored, reported as applying at next start, the guest unchanged
    let out = vm_mgr_ok(&sb, "sim1", &["set-resources", "-n", &name, "--vcpus", "3"]);
    assert!(out.contains("applies at next start: 3 vCPUs"), "{out}");
    assert_eq!(dominfo(&sb, &name), want);
    assert_eq!(utilization(&sb, &name, "cpu"), "3");

    // remove-disk: out of the guest, the stored XML and the group, into the RBD trash. The
    // sandbox guest boots no OS, which a live unplug needs: if the guest keeps the disk, the
    // verb says so and changes nothing, and works once the VM is stopped.
    let live = vm_mgr(&sb, "sim1", &["remove-disk", "-n", &name, "--disk", &data]);
    if !live.status.success() {
        assert_eq!(live.code(), Some(2), "{}", describe(&live));
        assert!(
            String::from_utf8_lossy(&live.stderr).contains("did not release"),
            "{}",
            describe(&live)
        );
        let group = sb.exec_ok("sim1", &["rbd", "group", "image", "list", &name]);
        assert!(group.contains(&data), "refused, nothing changed: {group}");
        vm_mgr_ok(&sb, "sim1", &["stop", "-n", &name]);
        vm_mgr_ok(&sb, "sim1", &["remove-disk", "-n", &name, "--disk", &data]);
        vm_mgr_ok(&sb, "sim1", &["start", "-n", &name]);
    }
    let disks = virsh(&sb, "domblklist", &name);
    assert!(!has_vdb(&disks), "{disks}");
    let group = sb.exec_ok("sim1", &["rbd", "group", "image", "list", &name]);
    assert!(!group.contains(&data), "{group}");
    let trash = rbd_trash(&sb);
    assert!(trash.contains(&format!("\"{data}\"")), "{trash}");
    purge_trash_of(&sb, &name);

    remove_and_check_gone(&sb, "sim1", &name);
}
