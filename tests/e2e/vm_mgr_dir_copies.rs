//! Snapshots and copies of dir-backed VMs on the real sandbox cluster, the shared directory
//! stood in for by a host directory that a real `ocf:heartbeat:Filesystem` clone bind-mounts
//! on every node (see `vm_mgr_dir.rs` for what that stand-in changes).
//!
//! Scenarios: snapshots of a running and a stopped VM, rollback, purge, a copy-on-write clone
//! (which boots with the snapshot's data, and again once its source is removed; its base goes
//! with it) and a full clone (which boots); export of a running dir VM, imported into Ceph RBD, exported again and imported into
//! the dir backend.
//!
//! Disk content is checked with `qemu-io` patterns on the qcow2 files; data is changed
//! **through the running guest's own disk** (QEMU's `qemu-io` monitor command on the guest's
//! virtio block backend), so the snapshot taken while it runs is the one QEMU's monitor took.
//!
//! Run: `VMMGR_SANDBOX_NAME=dirsbx cargo test -p vmmgr-tests --test vm_mgr_dir_copies --
//! --ignored --test-threads=1` (after `cargo build`).

use std::time::Duration;

use vmmgr_tests::{create_argv, describe, unique_name, vm_mgr, vm_mgr_ok, wait_for, Sandbox};

#[path = "vm_mgr_support.rs"]
mod support;
use support::*;

#[path = "vm_mgr_dir_support.rs"]
mod dir_support;
use dir_support::DirStore;

/// `qemu-io` write or read-and-compare of pattern `byte` over the first 64 KiB of the qcow2
/// file `file` (on the host; `-U` to read a file a QEMU has open).
fn qemu_io(op: &str, byte: &str, file: &str) -> bool {
    let cmd = format!("{op} -P {byte} 0 64k");
    let mut argv = vec!["-f", "qcow2", "-c", &cmd];
    if op == "read" {
        argv.extend(["-r", "-U"]);
    }
    argv.push(file);
    let out = shared::cmd::Cmd::new("qemu-io")
        .args(&argv)
        .timeout(Duration::from_secs(30))
        .run()
        .expect("qemu-io runs");
    // qemu-io exits 0 even when the pattern differs; it says so on stdout.
    !out.stdout_str().contains("Pattern verification failed")
}

/// The internal snapshots of qcow2 file `file`, by name.
fn qcow2_snaps(file: &str) -> Vec<String> {
    shared::qcow2::snapshots::list(std::path::Path::new(file))
        .expect("qemu-img info")
        .into_iter()
        .map(|s| s.name)
        .collect()
}

/// Writes pattern `byte` over the first 64 KiB of running domain `name`'s first disk, through
/// its own block backend in QEMU on `node` (as the guest would write).
fn guest_write(sb: &Sandbox, node: &str, name: &str, byte: &str) {
    let hmp = format!(
        "qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend \"write -P {byte} 0 64k\""
    );
    let out = sb.exec_ok(
        node,
        &["virsh", "qemu-monitor-command", name, "--hmp", &hmp],
    );
    assert!(out.trim().is_empty(), "{out}");
}

/// `vm-mgr --output json create-snapshot` of VM `name` as `snap`, run on sim1.
fn snapshot_json(s: &DirStore, name: &str, snap: &str) -> String {
    let argv = ["--output", "json", "create-snapshot", "-n", name];
    s.vm_mgr_ok("sim1", &[&argv[..], &["--snap-name", snap]].concat())
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn dir_snapshots_running_and_stopped_rollback_brings_the_data_back() {
    let sb = sandbox();
    let name = unique_name("dsnap");
    let s = DirStore::new(&sb, &name);
    let (xml, image) = inputs(&sb, &name);
    assert!(qemu_io("write", "0x41", &image));
    s.vm_mgr_ok("sim1", &create_argv(&name, &xml, &image, &[]));
    let disk = format!("{}/{name}/system.qcow2", s.store);
    let domain = format!("vmmgr-domain-{name}");
    let node = wait_for(Duration::from_secs(60), "the VM to run", || {
        let on = sb.running_on(&domain, &[]);
        (on.len() == 1).then(|| on[0].clone())
    });

    // running: one QMP transaction on its node; the test guest has no agent to freeze
    let out = snapshot_json(&s, &name, "s1");
    assert!(json_has(&out, "consistency", "crash-consistent"), "{out}");
    assert_eq!(qcow2_snaps(&disk), ["s1"]);
    // the guest writes new data; a second snapshot, taken and removed while it runs
    guest_write(&sb, &node, &name, "0x42");
    s.vm_mgr_ok(
        "sim2",
        &["create-snapshot", "-n", &name, "--snap-name", "s2"],
    );
    assert_eq!(qcow2_snaps(&disk), ["s1", "s2"]);
    s.vm_mgr_ok(
        "sim3",
        &["remove-snapshot", "-n", &name, "--snap-name", "s2"],
    );
    assert_eq!(qcow2_snaps(&disk), ["s1"]);
    let listed = s.vm_mgr_ok("sim1", &["list_snapshots", "-n", &name]);
    assert_eq!(listed, "['s1']\n");
    assert_eq!(
        sb.running_on(&domain, &[]),
        std::slice::from_ref(&node),
        "it kept running"
    );

    // stopped: the guest's data is there; rollback brings the snapshot's back
    s.vm_mgr_ok("sim1", &["stop", "-n", &name]);
    assert!(
        qemu_io("read", "0x42", &disk),
        "the guest's write is on the disk"
    );
    let out = s.vm_mgr_ok("sim2", &["rollback", "-n", &name, "--snap-name", "s1"]);
    assert!(out.contains("rolled back to s1; Stopped"), "{out}");
    assert!(
        qemu_io("read", "0x41", &disk),
        "the snapshot's data is back"
    );
    // a copy-on-write clone of s1, the source's data changed since: it boots with s1's data
    assert!(qemu_io("write", "0x43", &disk));
    let cow = format!("{name}w");
    let _w = Extra {
        sb: &sb,
        conf: Some(s.conf.clone()),
        name: cow.clone(),
        dirs: Vec::new(),
    };
    let clone_argv = [
        "clone",
        "-n",
        &name,
        "--dst-name",
        &cow,
        "--snap-name",
        "s1",
    ];
    let out = s.vm_mgr_ok("sim2", &clone_argv);
    assert!(out.contains("Started on"), "{out}");
    let cow_disk = format!("{}/{cow}/system.qcow2", s.mnt);
    assert!(node_reads(&sb, "0x41", &cow_disk));
    let st = s.vm_mgr_ok("sim1", &["--output", "json", "status", "-n", &cow]);
    assert!(st.contains(&format!("{}/.bases/{name}@s1@", s.mnt)), "{st}");
    // a full clone of s1 boots from its own file with s1's data
    let copy = format!("{name}c");
    let _c = Extra {
        sb: &sb,
        conf: Some(s.conf.clone()),
        name: copy.clone(),
        dirs: Vec::new(),
    };
    let out = s.vm_mgr_ok(
        "sim3",
        &[
            "clone",
            "-n",
            &name,
            "--dst-name",
            &copy,
            "--snap-name",
            "s1",
            "--full",
        ],
    );
    assert!(out.contains("Started on"), "{out}");
    let copy_disk = format!("{}/{copy}/system.qcow2", s.store);
    assert!(qemu_io("read", "0x41", &copy_disk));
    assert!(qcow2_snaps(&copy_disk).is_empty());
    s.vm_mgr_ok("sim1", &["remove", "--purge", "-n", &copy]);
    assert!(!std::path::Path::new(&copy_disk).exists());
    // a stopped VM's snapshot goes through qemu-img; purge removes both
    let out = snapshot_json(&s, &name, "s3");
    assert!(json_has(&out, "consistency", "stopped"), "{out}");
    let out = s.vm_mgr_ok("sim3", &["purge", "-n", &name]);
    assert!(out.contains("removed snapshots s1, s3"), "{out}");
    assert!(qcow2_snaps(&disk).is_empty());
    let out = s.vm_mgr("sim1", &["rollback", "-n", &name, "--snap-name", "s1"]);
    assert_eq!(out.code(), Some(2), "{}", describe(&out));

    // the source removed, its copy-on-write clone still starts with s1's data; removed in its
    // turn, it takes its base with it
    s.vm_mgr_ok("sim1", &["remove", "--purge", "-n", &name]);
    s.vm_mgr_ok("sim3", &["stop", "-n", &cow]);
    let out = s.vm_mgr_ok("sim3", &["start", "-n", &cow]);
    assert!(out.contains("Started on"), "{out}");
    assert!(node_reads(&sb, "0x41", &cow_disk));
    let bases = format!("{}/.bases", s.store);
    assert_eq!(dir_entries(&bases).len(), 2, "the lock and s1's base");
    s.vm_mgr_ok("sim2", &["remove", "--purge", "-n", &cow]);
    assert_eq!(
        dir_entries(&bases),
        [".lock"],
        "the base went with its clone"
    );
}

/// The names in directory `dir`, sorted.
fn dir_entries(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `qemu-io` read-and-compare of pattern `byte` over the first 64 KiB of qcow2 file `file` on
/// sim1 (a copy-on-write clone's base is named by its path on the nodes).
fn node_reads(sb: &Sandbox, byte: &str, file: &str) -> bool {
    let cmd = format!("read -P {byte} 0 64k");
    let argv = ["qemu-io", "-f", "qcow2", "-r", "-U", "-c", &cmd, file];
    let out = sb.exec("sim1", &argv).expect("qemu-io runs");
    out.status.success() && !out.stdout_str().contains("Pattern verification failed")
}

/// What a scenario makes besides the dir store's VM: export directories and another VM (of
/// the same name on RBD, or a clone, `conf` naming the dir store's configuration); removed on
/// drop, also after a failed assertion.
struct Extra<'a> {
    sb: &'a Sandbox,
    conf: Option<String>,
    name: String,
    dirs: Vec<String>,
}

impl Drop for Extra<'_> {
    fn drop(&mut self) {
        let mut argv = Vec::new();
        if let Some(c) = &self.conf {
            argv.extend(["--config", c.as_str()]);
        }
        argv.extend(["remove", "--purge", "-n", &self.name]);
        let _ = vm_mgr(self.sb, "sim1", &argv);
        for d in &self.dirs {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// `qemu-io` read-and-compare of pattern `byte` over the first 64 KiB of RBD image `image`.
fn rbd_has(sb: &Sandbox, byte: &str, image: &str) -> bool {
    let cmd = format!("read -P {byte} 0 64k");
    let target = format!("rbd:rbd/{image}");
    let out = sb
        .exec("sim1", &["qemu-io", "-f", "raw", "-c", &cmd, &target])
        .expect("qemu-io runs");
    out.status.success() && !out.stdout_str().contains("Pattern verification failed")
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn dir_export_imports_into_rbd_and_back_with_its_data() {
    let sb = sandbox();
    let name = unique_name("dexp");
    let s = DirStore::new(&sb, &name);
    let x = Extra {
        sb: &sb,
        conf: None,
        name: name.clone(),
        dirs: [1, 2]
            .map(|i| format!("/var/tmp/vmmgr-e2e-{name}-export{i}"))
            .to_vec(),
    };
    let (xml, image) = inputs(&sb, &name);
    assert!(qemu_io("write", "0x41", &image));
    s.vm_mgr_ok("sim1", &create_argv(&name, &xml, &image, &[]));
    let disk = format!("{}/{name}/system.qcow2", s.store);

    // export of the running dir VM; its export snapshot is gone afterwards
    let out = s.vm_mgr_ok(
        "sim2",
        &[
            "--output", "json", "export", "-n", &name, "--to", &x.dirs[0],
        ],
    );
    assert!(json_has(&out, "consistency", "crash-consistent"), "{out}");
    assert!(qcow2_snaps(&disk).is_empty());
    let manifest = std::fs::read_to_string(format!("{}/manifest.json", x.dirs[0])).unwrap();
    assert!(manifest.contains(r#""storage": "dir""#), "{manifest}");
    s.vm_mgr_ok("sim1", &["remove", "--purge", "-n", &name]);

    // into RBD (vm-mgr's default storage): it starts, its disk holds the data
    let out = vm_mgr_ok(&sb, "sim3", &["import", "--from", &x.dirs[0]]);
    assert!(out.contains("Started on"), "{out}");
    let st = status_json(&sb, "sim1", &name);
    assert!(json_has(&st, "storage", "rbd"), "{st}");
    vm_mgr_ok(&sb, "sim1", &["stop", "-n", &name]);
    assert!(rbd_has(&sb, "0x41", &format!("system_{name}")));

    // and back: the RBD export into the dir backend, started from its directory
    vm_mgr_ok(&sb, "sim1", &["export", "-n", &name, "--to", &x.dirs[1]]);
    vm_mgr_ok(&sb, "sim1", &["remove", "--purge", "-n", &name]);
    let out = s.vm_mgr_ok("sim2", &["import", "--from", &x.dirs[1]]);
    assert!(out.contains("Started on"), "{out}");
    let st = s.vm_mgr_ok("sim3", &["--output", "json", "status", "-n", &name]);
    assert!(json_has(&st, "storage", "dir"), "{st}");
    assert!(qemu_io("read", "0x41", &disk), "the data came back");
    let dom = std::fs::read_to_string(format!("{}/{name}/domain.xml", s.store)).unwrap();
    assert!(!dom.contains("rbd"), "{dom}");
}
