//! Helpers of the `vm_mgr_lifecycle` and `vm_mgr_faults` end-to-end scenarios (each binary
//! uses some of them).
#![allow(dead_code)]

use shared::pacemaker::Cib;
use shared::procfs;
use vmmgr_tests::{vm_mgr_ok, Sandbox};

pub fn sandbox() -> Sandbox {
    Sandbox::up(3, true)
}

/// A guest XML and a 64 MiB qcow2 image for VM `name` (under /var/tmp, which the nodes share).
pub fn inputs(sb: &Sandbox, name: &str) -> (String, String) {
    let xml = format!("/var/tmp/vmmgr-e2e-{name}.xml");
    std::fs::write(&xml, sb.guest_xml(name)).expect("write the guest XML");
    let image = format!("/var/tmp/vmmgr-e2e-{name}.qcow2");
    sb.exec_ok(
        "sim1",
        &["qemu-img", "create", "-q", "-f", "qcow2", &image, "64M"],
    );
    (xml, image)
}

pub fn cleanup_inputs(name: &str) {
    let _ = std::fs::remove_file(format!("/var/tmp/vmmgr-e2e-{name}.xml"));
    let _ = std::fs::remove_file(format!("/var/tmp/vmmgr-e2e-{name}.qcow2"));
}

pub fn cib(sb: &Sandbox) -> String {
    sb.exec_ok("sim1", &["cibadmin", "--query"])
}

/// The CIB's configuration section only: a removed resource's operation history may linger in
/// the status section until Pacemaker drops the orphan, which is not configuration.
pub fn cib_config(sb: &Sandbox) -> String {
    sb.exec_ok("sim1", &["cibadmin", "--query", "--scope", "configuration"])
}

/// The CIB's configuration version ("admin_epoch.epoch"), from the parsed CIB.
pub fn config_epoch(sb: &Sandbox) -> String {
    let v = Cib::parse(&cib(sb)).expect("the CIB parses").version();
    format!("{}.{}", v.admin_epoch, v.epoch)
}

/// `rbd trash ls --format json` of the pool: the removed images (ids and names).
pub fn rbd_trash(sb: &Sandbox) -> String {
    sb.exec_ok("sim1", &["rbd", "trash", "ls", "--format", "json"])
}

/// Deletes every image of VM `name` in the RBD trash (`rbd trash rm --force`): a test's clean-up.
pub fn purge_trash_of(sb: &Sandbox, name: &str) {
    let trash: serde_json::Value = serde_json::from_str(&rbd_trash(sb)).unwrap_or_default();
    let ours = |n: &str| n == format!("system_{name}") || n.starts_with(&format!("data_{name}_"));
    for e in trash.as_array().into_iter().flatten() {
        if let (Some(id), Some(n)) = (e["id"].as_str(), e["name"].as_str()) {
            if ours(n) {
                let spec = format!("rbd/{id}");
                let _ = sb.exec(
                    "sim1",
                    &["rbd", "trash", "rm", "--force", "--no-progress", &spec],
                );
            }
        }
    }
}

pub fn rbd_names(sb: &Sandbox) -> (String, String) {
    (
        sb.exec_ok("sim1", &["rbd", "ls", "--format", "json"]),
        sb.exec_ok("sim1", &["rbd", "group", "ls", "--format", "json"]),
    )
}

/// `vm-mgr remove --purge` on `node`, then nothing of VM `name` may be left: no RBD image or
/// group, nothing in the RBD trash, no element or constraint in the CIB configuration.
pub fn remove_and_check_gone(sb: &Sandbox, node: &str, name: &str) {
    vm_mgr_ok(sb, node, &["remove", "--purge", "-n", name]);
    let trash = rbd_trash(sb);
    assert!(
        !trash.contains(&format!("_{name}\"")) && !trash.contains(&format!("_{name}_")),
        "remove --purge leaves nothing of {name} in the trash: {trash}"
    );
    assert!(
        !cib_config(sb).contains(name),
        "remove leaves nothing of {name} in the CIB configuration"
    );
    let (images, groups) = rbd_names(sb);
    assert!(
        !images.contains(name) && !groups.contains(name),
        "{images} {groups}"
    );
}

/// `"key": "value"` as vm-mgr's pretty JSON prints it.
pub fn json_has(json: &str, key: &str, value: &str) -> bool {
    json.contains(&format!("\"{key}\": \"{value}\""))
}

pub fn status_json(sb: &Sandbox, node: &str, name: &str) -> String {
    vm_mgr_ok(sb, node, &["--output", "json", "status", "-n", name])
}

/// Host pids of live processes whose command line contains `needle` and whose program (first
/// argument) ends with `program`. The nodes' PID namespaces are children of the host's, so
/// their processes are all in the host's `/proc`.
pub fn pids(program: &str, needle: &str) -> Vec<String> {
    procfs::pids()
        .into_iter()
        .filter(|p| {
            procfs::cmdline(*p).is_some_and(|args| {
                args.first()
                    .is_some_and(|a| a.rsplit('/').next() == Some(program))
                    && args.iter().any(|a| a.contains(needle))
            })
        })
        .map(|p| p.to_string())
        .collect()
}
