//! `vm-mgr --storage dir` on the real sandbox cluster: VMs in a directory every node sees.
//!
//! **The cluster filesystem is stood in for by a host directory.** The sandbox's nodes are
//! namespaces on one machine: a host directory under `/var/tmp` is the "shared device", and a
//! real `ocf:heartbeat:Filesystem` clone bind-mounts it (`fstype=none`, `options=bind`) on each
//! node at a mount point of its own, as a clone would mount OCFS2, GFS2 or NFS there. The dir
//! VMs are ordered after and colocated with that clone (`storage-resource`). Two consequences
//! of the stand-in, which a real cluster filesystem does not have:
//! - libvirt 9 sees ext4 under the bind mount and refuses a live migration of a file-backed
//!   disk as "Migration without shared storage is unsafe"; on OCFS2/GFS2/NFS/CephFS it knows the
//!   storage is shared. The test VM is therefore created with `migrate_options=--unsafe` (a
//!   VirtualDomain parameter, passed with `--pacemaker-params`); vm-mgr itself never adds it.
//! - QEMU's image locks (OFD locks on the qcow2 file) are seen across nodes because every node
//!   shares the one kernel; on a real cluster they cross nodes through the filesystem's own
//!   lock manager (OCFS2/GFS2 cluster locks, NFSv4 locks on the server).
//!
//! Scenario: create → Started, with the VM's directory (disk, XML, fragment, metadata) seen
//! in the host directory behind the mounts, and `storage: dir` in status and list; live migrate
//! (`migrate_from` in the target's history, no start there); a second start of the same disk on
//! another node, the agent called directly, is refused by QEMU's write lock while the VM keeps
//! running; stop/start; drain/undrain of its node (it leaves live); disable/enable (the fragment
//! kept in the VM's `cib.xml`); metadata; a verb not on the dir backend yet exits 6; the storage
//! clone banned from the VM's node (the VM leaves before the unmount, nothing fails); power loss
//! of its node (it runs on a survivor after fencing); remove leaves no directory and no CIB
//! element. The clone and the directories are removed at the end, also on failure.
//!
//! Run: `VMMGR_SANDBOX_NAME=dirsbx cargo test -p vmmgr-tests --test vm_mgr_dir -- --ignored
//! --test-threads=1` (after `cargo build`; the host needs `modprobe` (kmod) and `fuser`
//! (psmisc), which `ocf:heartbeat:Filesystem` checks for).

use std::path::Path;
use std::time::Duration;

use vmmgr_tests::{create_argv, describe, unique_name, wait_for};

#[path = "vm_mgr_support.rs"]
mod support;
use support::*;

#[path = "vm_mgr_dir_support.rs"]
mod dir_support;
use dir_support::DirStore;

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn dir_vm_on_a_filesystem_clone_create_migrate_double_start_remove() {
    let sb = sandbox();
    let name = unique_name("dir");
    let s = DirStore::new(&sb, &name);
    let (xml, image) = inputs(&sb, &name);
    let domain = format!("vmmgr-domain-{name}");

    // create → Started, the import converting into the mounted directory with progress
    let created = s.vm_mgr(
        "sim1",
        &create_argv(
            &name,
            &xml,
            &image,
            &[
                "--enable-live-migration",
                "--pacemaker-params",
                "migration_transport=tcp",
                "migrate_options=--unsafe",
                "--metadata",
                "owner=e2e",
            ],
        ),
    );
    assert!(created.status.success(), "{}", describe(&created));
    assert!(
        created.stdout_str().contains("Started on"),
        "{}",
        describe(&created)
    );
    let progress = String::from_utf8_lossy(&created.stderr);
    let disk = format!("{}/{name}/system.qcow2", s.mnt);
    assert!(
        progress.contains(&format!("{disk} [####################] 100%")),
        "{progress}"
    );
    // what the nodes wrote through their mounts is in the host directory behind them
    let vm_dir = Path::new(&s.store).join(&name);
    for f in ["system.qcow2", "domain.xml", "cib.xml", "metadata.json"] {
        assert!(vm_dir.join(f).is_file(), "{f} in {}", vm_dir.display());
    }
    let info = sb.exec_ok(
        "sim2",
        &["qemu-img", "info", "-U", "--output=json", "--", &disk],
    );
    assert!(info.contains(r#""format": "qcow2""#), "{info}");
    let dom_xml = std::fs::read_to_string(vm_dir.join("domain.xml")).unwrap();
    assert!(
        dom_xml.contains(&format!(r#"<source file="{disk}"/>"#)),
        "{dom_xml}"
    );
    let st = s.vm_mgr_ok("sim3", &["--output", "json", "status", "-n", &name]);
    assert!(
        json_has(&st, "state", "Started") && json_has(&st, "storage", "dir"),
        "{st}"
    );
    let list = s.vm_mgr_ok("sim2", &["--output", "json", "list"]);
    assert!(json_has(&list, "storage", "dir"), "{list}");
    let cons = sb.exec_ok("sim1", &["cibadmin", "--query", "--scope", "constraints"]);
    for id in [format!("vmmgr-after-{name}"), format!("vmmgr-with-{name}")] {
        assert!(cons.contains(&format!(r#"id="{id}""#)), "{id}: {cons}");
    }
    assert_eq!(
        s.vm_mgr_ok(
            "sim1",
            &["get-metadata", "-n", &name, "--metadata_name", "owner"]
        ),
        "e2e\n"
    );

    // live migration: migrate_from in the target's history, no start there
    let src = wait_for(Duration::from_secs(60), "the VM to run", || {
        let on = sb.running_on(&domain, &[]);
        (on.len() == 1).then(|| on[0].clone())
    });
    let dst = if src == "sim2" { "sim3" } else { "sim2" };
    s.vm_mgr_ok("sim1", &["migrate", "-n", &name, "--node", dst]);
    assert_eq!(sb.running_on(&domain, &[]), [dst]);
    let tasks = sb.history_tasks(dst, &domain);
    assert!(tasks.iter().any(|t| t == "migrate_from"), "{tasks:?}");
    assert!(!tasks.iter().any(|t| t == "start"), "restarted: {tasks:?}");

    // a second start of the same disk on the old node, the agent called directly: the agent
    // sees the running QEMU's image lock and refuses before starting anything (QEMU itself
    // would refuse the write lock next), and the VM runs on untouched
    let config = format!("{}/{name}/domain.xml", s.mnt);
    let second = sb
        .exec(
            &src,
            &[
                "env",
                "OCF_ROOT=/usr/lib/ocf",
                &format!("OCF_RESOURCE_INSTANCE={domain}"),
                &format!("OCF_RESKEY_config={config}"),
                "OCF_RESKEY_hypervisor=qemu:///system",
                "OCF_RESKEY_CRM_meta_timeout=60000",
                "/usr/lib/ocf/resource.d/vmmgr/VirtualDomain",
                "start",
            ],
        )
        .expect("the agent runs");
    assert_eq!(second.code(), Some(1), "{}", describe(&second));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("ocf-exit-reason:") && err.contains("is open for writing by another QEMU"),
        "{err}"
    );
    let state = sb.exec(&src, &["virsh", "domstate", &name]).unwrap();
    assert!(
        !state.status.success(),
        "nothing started: {}",
        describe(&state)
    );
    assert_eq!(sb.running_on(&domain, &[]), [dst]);
    let tasks = sb.history_tasks(dst, &domain);
    assert!(!tasks.iter().any(|t| t == "start"), "{tasks:?}");

    // stop / start
    let out = s.vm_mgr_ok("sim1", &["stop", "-n", &name]);
    assert!(out.contains("Stopped"), "{out}");
    assert!(sb.running_on(&domain, &[]).is_empty());
    let out = s.vm_mgr_ok("sim1", &["start", "-n", &name]);
    assert!(out.contains("Started on"), "{out}");

    // drain the VM's node: it leaves live (the storage is shared); undrain brings the node back
    let on = sb.running_on(&domain, &[]);
    assert_eq!(on.len(), 1, "{on:?}");
    s.vm_mgr_ok("sim1", &["drain", "--node", &on[0]]);
    let now = sb.running_on(&domain, &[]);
    assert!(
        now.len() == 1 && now != on,
        "drained from {on:?}, runs on {now:?}"
    );
    let tasks = sb.history_tasks(&now[0], &domain);
    assert!(tasks.iter().any(|t| t == "migrate_from"), "{tasks:?}");
    // undrain waits for the mount clone to start on the node again before the VM may follow
    // (a move before that is refused by the VM's colocation with the clone)
    s.vm_mgr_ok("sim1", &["undrain", "--node", &on[0]]);
    assert_eq!(
        sb.running_on(&domain, &[]),
        on,
        "back where it was drained from"
    );
    let cons = sb.exec_ok("sim1", &["cibadmin", "--query", "--scope", "constraints"]);
    assert!(
        !cons.contains("cli-") && !cons.contains("vmmgr-move-"),
        "{cons}"
    );

    // disable keeps the fragment, storage constraints included, in the VM's cib.xml; enable
    // puts it back; metadata is set in metadata.json
    s.vm_mgr_ok("sim2", &["disable", "-n", &name]);
    assert!(!cib_config(&sb).contains(&format!("vmmgr-after-{name}")));
    let kept = std::fs::read_to_string(vm_dir.join("cib.xml")).unwrap();
    assert!(kept.contains(&format!("vmmgr-with-{name}")), "{kept}");
    let out = s.vm_mgr_ok("sim2", &["enable", "-n", &name]);
    assert!(out.contains("Started on"), "{out}");
    let cons = sb.exec_ok("sim1", &["cibadmin", "--query", "--scope", "constraints"]);
    assert!(cons.contains(&format!("vmmgr-after-{name}")), "{cons}");
    s.vm_mgr_ok(
        "sim3",
        &[
            "set-metadata",
            "-n",
            &name,
            "--metadata-name",
            "site",
            "--metadata-value=-lyon",
        ],
    );
    let meta = std::fs::read_to_string(vm_dir.join("metadata.json")).unwrap();
    assert!(meta.contains(r#""site": "-lyon""#), "{meta}");

    // a verb that is not on the dir backend yet refuses, changing nothing
    let epoch = config_epoch(&sb);
    let set = s.vm_mgr("sim1", &["set-resources", "-n", &name, "--vcpus", "2"]);
    assert_eq!(set.code(), Some(6), "{}", describe(&set));
    assert!(
        String::from_utf8_lossy(&set.stderr)
            .contains("set-resources is not supported on the dir backend yet"),
        "{}",
        describe(&set)
    );
    assert_eq!(config_epoch(&sb), epoch);
    // no trash on the dir backend: remove without --purge refuses too, the VM stays
    let rm = s.vm_mgr("sim1", &["remove", "-n", &name]);
    assert_eq!(rm.code(), Some(6), "{}", describe(&rm));
    assert!(vm_dir.exists(), "{} is kept", vm_dir.display());
    assert_eq!(config_epoch(&sb), epoch);

    // the storage clone stopped on the VM's node: the VM leaves first (ordered after the clone
    // and colocated with it), then the directory is unmounted there; nothing fails (unmounted
    // under a running guest, the Filesystem agent would kill its QEMU)
    let on = sb.running_on(&domain, &[]);
    assert_eq!(on.len(), 1, "{on:?}");
    let ban = format!("{name}-store-ban");
    sb.exec_ok(
        "sim1",
        &[
            "cibadmin",
            "--create",
            "--scope",
            "constraints",
            "--xml-text",
            &format!(
                r#"<rsc_location id="{ban}" rsc="{}" node="{}" score="-INFINITY"/>"#,
                s.clone_id(),
                on[0]
            ),
        ],
    );
    wait_for(
        Duration::from_secs(120),
        "the VM away, then the unmount",
        || {
            let now = sb.running_on(&domain, &[]);
            (now.len() == 1 && now != on && !s.mounted_on(&on[0])).then_some(())
        },
    );
    let mon = sb.crm_mon("sim1").expect("crm_mon");
    assert!(
        !mon.failures.iter().any(|f| f.resource() == domain),
        "{:?}",
        mon.failures
    );
    sb.exec_ok(
        "sim1",
        &[
            "cibadmin",
            "--delete",
            "--xml-text",
            &format!(r#"<rsc_location id="{ban}"/>"#),
        ],
    );
    wait_for(Duration::from_secs(60), "the mount back", || {
        s.mounted_on(&on[0]).then_some(())
    });

    // power loss of the VM's node: after fencing, it runs on a survivor
    let on = sb.running_on(&domain, &[]);
    assert_eq!(on.len(), 1, "{on:?}");
    sb.kill_node(&on[0]);
    let survivor = wait_for(Duration::from_secs(120), "the VM on a survivor", || {
        let now = sb.running_on(&domain, &[on[0].as_str()]);
        (now.len() == 1 && now != on).then(|| now[0].clone())
    });
    wait_for(Duration::from_secs(60), "vm-mgr to say Started", || {
        let st = s.vm_mgr_ok(&survivor, &["--output", "json", "status", "-n", &name]);
        st.contains(r#""state": "Started""#).then_some(())
    });
    sb.rejoin(&on[0]);
    wait_for(
        Duration::from_secs(60),
        "the mount on the rejoined node",
        || s.mounted_on(&on[0]).then_some(()),
    );

    // remove --purge: no directory, nothing of the VM in the CIB configuration
    s.vm_mgr_ok("sim3", &["remove", "--purge", "-n", &name]);
    assert!(!vm_dir.exists(), "{} is left", vm_dir.display());
    let cfg = cib_config(&sb);
    for id in [
        format!(r#"id="{name}""#),
        format!("-{name}\""),
        format!("-{name}."),
    ] {
        assert!(!cfg.contains(&id), "{id} left in the CIB configuration");
    }
    let out = s.vm_mgr("sim1", &["status", "-n", &name]);
    assert_eq!(out.code(), Some(3), "{}", describe(&out));
}
