//! Undo a remove, on the real cluster: `remove` moves a running VM's images to the RBD trash
//! (with their data and metadata), `list --removed` shows it, `restore` brings it back
//! disabled (its images back in its RBD group), `enable` starts it with its data intact (the
//! disks are raw files of a known pattern, compared byte for byte with `rbd export`), and
//! `remove --purge` leaves nothing: no image, trash entry, group or CIB element.
//!
//! Run: `VMMGR_SANDBOX_NAME=vmm cargo test -p vmmgr-tests --test vm_mgr_trash -- --ignored
//! --test-threads=1` (after `cargo build`, so that the nodes see the current `vm-mgr`).

use vmmgr_tests::{create_argv, describe, unique_name, vm_mgr, vm_mgr_ok, Sandbox};

#[path = "vm_mgr_support.rs"]
mod support;
use support::*;

/// A raw disk of `mib` MiB whose every 4 KiB block holds its number and `seed`.
fn pattern_file(path: &str, mib: usize, seed: u8) -> Vec<u8> {
    let mut data = vec![0u8; mib << 20];
    for (i, block) in data.chunks_mut(4096).enumerate() {
        block[..8].copy_from_slice(&(i as u64).to_le_bytes());
        block[8..].fill(seed.wrapping_add(i as u8));
    }
    std::fs::write(path, &data).expect("write the pattern disk");
    data
}

/// `rbd export` of `image` (on sim2) as bytes.
fn export(sb: &Sandbox, image: &str, to: &str) -> Vec<u8> {
    let _ = std::fs::remove_file(to);
    sb.exec_ok(
        "sim2",
        &[
            "rbd",
            "export",
            "--no-progress",
            &format!("rbd/{image}"),
            to,
        ],
    );
    std::fs::read(to).expect("read the export")
}

/// Removes whatever the test left (also when it fails half-way): the VM (purged), its trashed
/// images, its input files.
struct Cleanup<'a> {
    sb: &'a Sandbox,
    name: String,
    files: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = vm_mgr(
            self.sb,
            "sim1",
            &["remove", "--purge", "--yes", "-n", &self.name],
        );
        purge_trash_of(self.sb, &self.name);
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
        cleanup_inputs(&self.name);
    }
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn remove_to_the_trash_list_restore_enable_with_data_intact_then_purge() {
    let sb = sandbox();
    let name = unique_name("tr");
    let (xml, _) = inputs(&sb, &name);
    let (sys_file, data_file) = (
        format!("/var/tmp/vmmgr-e2e-{name}-sys.raw"),
        format!("/var/tmp/vmmgr-e2e-{name}-data.raw"),
    );
    let out_file = format!("/var/tmp/vmmgr-e2e-{name}-export.raw");
    let _cleanup = Cleanup {
        sb: &sb,
        name: name.clone(),
        files: vec![sys_file.clone(), data_file.clone(), out_file.clone()],
    };
    let sys = pattern_file(&sys_file, 4, 1);
    let data = pattern_file(&data_file, 2, 7);
    let (system, data_image) = (format!("system_{name}"), format!("data_{name}_0"));
    let out = vm_mgr_ok(
        &sb,
        "sim1",
        &create_argv(&name, &xml, &sys_file, &["--additional-disk", &data_file]),
    );
    assert!(out.contains("Started on"), "{out}");

    // remove (no terminal: no question) -> the images in the trash, nothing else left
    let out = vm_mgr(&sb, "sim2", &["remove", "-n", &name]);
    assert_eq!(out.code(), Some(0), "{}", describe(&out));
    assert!(
        out.stdout_str().contains("in the trash until"),
        "{}",
        describe(&out)
    );
    let trash = rbd_trash(&sb);
    for image in [&system, &data_image] {
        assert!(
            trash.contains(&format!("\"{image}\"")),
            "{image} in {trash}"
        );
    }
    let (images, groups) = rbd_names(&sb);
    assert!(
        !images.contains(&name) && !groups.contains(&name),
        "{images} {groups}"
    );
    assert!(!cib_config(&sb).contains(&name), "out of the CIB");
    let st = vm_mgr(&sb, "sim1", &["status", "-n", &name]);
    assert_eq!(st.code(), Some(3), "{}", describe(&st));

    // list --removed
    let listed = vm_mgr_ok(&sb, "sim3", &["--output", "json", "list", "--removed"]);
    let all: serde_json::Value = serde_json::from_str(&listed).expect("JSON");
    let ours = all
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name.as_str())
        .unwrap_or_else(|| panic!("{name} in {listed}"));
    assert_eq!(ours["restorable"], true);
    assert_eq!(ours["expired"], false);
    assert!(
        ours["expires_at"].as_str().unwrap().ends_with('Z'),
        "{ours}"
    );
    assert_eq!(ours["images"].as_array().unwrap().len(), 2, "{ours}");
    let table = vm_mgr_ok(&sb, "sim3", &["list", "--removed", "--long"]);
    assert!(table.starts_with("NAME"), "{table}");
    let row = format!("{system},{data_image}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(name.as_str()) && l.ends_with(&row)),
        "{table}"
    );

    // restore --dry-run changes nothing; restore brings it back disabled, in its group
    vm_mgr_ok(&sb, "sim1", &["--dry-run", "restore", "-n", &name]);
    assert_eq!(rbd_trash(&sb), trash, "a dry run changes nothing");
    let out = vm_mgr_ok(&sb, "sim1", &["restore", "-n", &name]);
    assert!(out.contains("disabled"), "{out}");
    assert!(json_has(
        &status_json(&sb, "sim1", &name),
        "state",
        "Disabled"
    ));
    let members = sb.exec_ok(
        "sim1",
        &[
            "rbd",
            "group",
            "image",
            "list",
            "--format",
            "json",
            &format!("rbd/{name}"),
        ],
    );
    for image in [&system, &data_image] {
        assert!(
            members.contains(&format!("\"{image}\"")),
            "{image} in {members}"
        );
    }
    assert!(!rbd_trash(&sb).contains(&name), "out of the trash");
    // a VM of that name exists now: a second restore is refused (exit 4)
    let again = vm_mgr(&sb, "sim1", &["restore", "-n", &name]);
    assert_eq!(again.code(), Some(4), "{}", describe(&again));

    // enable: it starts, its disks hold what they held
    let out = vm_mgr_ok(&sb, "sim3", &["enable", "-n", &name]);
    assert!(out.contains("Started on"), "{out}");
    assert!(export(&sb, &system, &out_file) == sys, "system disk intact");
    assert!(
        export(&sb, &data_image, &out_file) == data,
        "data disk intact"
    );

    // remove --purge: nothing left anywhere
    remove_and_check_gone(&sb, "sim2", &name);
    assert!(!rbd_trash(&sb).contains(&name), "{}", rbd_trash(&sb));
}
