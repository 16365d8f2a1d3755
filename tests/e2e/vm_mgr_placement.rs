//! `vm-mgr` placement and mobility on the real 3-node sandbox with Ceph and our agents: live
//! and offline migrate (with --wait-for-shutdown, guest powering off or refusing to), a
//! migrate to an offline node refused before anything changes, anti-colocation and
//! colocation across a `kill-node`, pinned vs failover VMs when their node dies, drain and
//! undrain, a migrate refused while libvirt on the target does not answer.
//!
//! Run: `VMMGR_SANDBOX_NAME=place cargo test -p vmmgr-tests --test vm_mgr_placement --
//! --ignored --test-threads=1` (after `cargo build`, so that the nodes see the current vm-mgr).

use std::time::Duration;

use shared::pacemaker::Cib;
use vmmgr_tests::{describe, unique_name, vm_mgr, vm_mgr_ok, wait_for, Sandbox};

fn sandbox() -> Sandbox {
    Sandbox::up(3, true)
}

/// Creates VM `name` from a small qcow2 (live-migratable over qemu+tcp unless `pinned`).
fn create(sb: &Sandbox, name: &str, extra: &[&str]) {
    let xml = format!("/var/tmp/vmmgr-e2e-{name}.xml");
    std::fs::write(&xml, sb.guest_xml(name)).expect("write the guest XML");
    let image = format!("/var/tmp/vmmgr-e2e-{name}.qcow2");
    sb.exec_ok(
        "sim1",
        &["qemu-img", "create", "-q", "-f", "qcow2", &image, "32M"],
    );
    let mut args = vec![
        "create",
        "-n",
        name,
        "--xml",
        &xml,
        "-i",
        &image,
        "--enable-live-migration",
        "--pacemaker-params",
        "migration_transport=tcp",
    ];
    args.extend_from_slice(extra);
    vm_mgr_ok(sb, "sim1", &args);
}

fn remove(sb: &Sandbox, names: &[&str]) {
    for name in names {
        let _ = vm_mgr(sb, "sim1", &["remove", "--purge", "-n", name]);
        let _ = std::fs::remove_file(format!("/var/tmp/vmmgr-e2e-{name}.xml"));
        let _ = std::fs::remove_file(format!("/var/tmp/vmmgr-e2e-{name}.qcow2"));
    }
}

fn domain(name: &str) -> String {
    format!("vmmgr-domain-{name}")
}

/// The single node VM `name` runs on (panics unless exactly one, after waiting a little).
fn node_of(sb: &Sandbox, name: &str) -> String {
    wait_for(Duration::from_secs(60), &format!("{name} to run"), || {
        let on = sb.running_on(&domain(name), &[]);
        (on.len() == 1).then(|| on[0].clone())
    })
}

fn constraints(sb: &Sandbox) -> String {
    sb.exec_ok("sim1", &["cibadmin", "--query", "--scope", "constraints"])
}

/// The CIB's configuration version ("admin_epoch.epoch") as `node` sees it.
fn config_epoch(sb: &Sandbox, node: &str) -> String {
    let cib = sb.exec_ok(node, &["cibadmin", "--query"]);
    let v = Cib::parse(&cib).expect("the CIB parses").version();
    format!("{}.{}", v.admin_epoch, v.epoch)
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn live_and_offline_migration() {
    let sb = sandbox();
    let name = unique_name("mig");
    create(&sb, &name, &[]);
    let src = node_of(&sb, &name);
    let dst = if src == "sim2" { "sim3" } else { "sim2" };

    // Live: the target's history shows migrate_from and no start; nothing is left behind.
    let out = vm_mgr_ok(
        &sb,
        "sim1",
        &["--output", "json", "migrate", "-n", &name, "--node", dst],
    );
    assert!(
        out.contains("\"how\": \"live\"") && out.contains(&format!("\"node\": \"{dst}\"")),
        "{out}"
    );
    assert_eq!(sb.running_on(&domain(&name), &[]), [dst]);
    let tasks = sb.history_tasks(dst, &domain(&name));
    assert!(tasks.iter().any(|t| t == "migrate_from"), "{tasks:?}");
    assert!(
        !tasks.iter().any(|t| t == "start"),
        "restarted, not migrated: {tasks:?}"
    );
    // libvirt on the target: the domain arrived by an incoming live migration (its last
    // completed job), it was not booted there.
    let job = sb.exec_ok(dst, &["virsh", "domjobinfo", &name, "--completed"]);
    assert!(job.contains("Incoming migration"), "{dst}: {job}");
    let c = constraints(&sb);
    assert!(
        !c.contains("vmmgr-move-") && !c.contains("id=\"cli-"),
        "{c}"
    );

    // Offline, the guest refusing to power off: timeout (exit 5), VM still where it was.
    let out = vm_mgr(
        &sb,
        "sim1",
        &[
            "migrate",
            "-n",
            &name,
            "--node",
            &src,
            "--offline",
            "--wait-for-shutdown",
            "--shutdown-timeout",
            "3",
        ],
    );
    assert_eq!(out.code(), Some(5), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not power itself off"));
    assert_eq!(sb.running_on(&domain(&name), &[]), [dst]);
    assert!(!sb
        .exec_ok("sim1", &["cibadmin", "--query", "--scope", "resources"])
        .contains("is-managed"));

    // Offline, the guest powering itself off (simulated by destroying it): it then starts on
    // the target.
    let powered_off = std::thread::scope(|s| {
        let off = s.spawn(|| {
            std::thread::sleep(Duration::from_secs(3));
            sb.exec_ok(dst, &["virsh", "destroy", &name])
        });
        let out = vm_mgr_ok(
            &sb,
            "sim1",
            &[
                "migrate",
                "-n",
                &name,
                "--node",
                &src,
                "--offline",
                "--wait-for-shutdown",
                "--shutdown-timeout",
                "60",
            ],
        );
        off.join().expect("virsh destroy");
        out
    });
    assert!(
        powered_off.contains(&format!("Started on {src}")),
        "{powered_off}"
    );
    assert_eq!(sb.running_on(&domain(&name), &[]), [src.as_str()]);
    assert!(!constraints(&sb).contains("vmmgr-move-"));
    remove(&sb, &[&name]);
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn colocation_pinned_and_failover_across_kill_node() {
    let sb = sandbox();
    let (pinned, fo, apart, with) = (
        unique_name("pin"),
        unique_name("fo"),
        unique_name("apart"),
        unique_name("with"),
    );
    create(&sb, &pinned, &["--pinned-host", "sim2"]);
    create(&sb, &fo, &["--preferred-host", "sim2"]);
    vm_mgr_ok(
        &sb,
        "sim1",
        &[
            "set-placement",
            "-n",
            &fo,
            "--strategy",
            "failover",
            "--node",
            "sim2",
        ],
    );
    create(&sb, &apart, &["--nostart"]);
    create(&sb, &with, &["--nostart"]);
    vm_mgr_ok(
        &sb,
        "sim1",
        &["add-colocation", "-n", &apart, &fo, "--anti", "--strong"],
    );
    vm_mgr_ok(
        &sb,
        "sim1",
        &["add-colocation", "-n", &with, &fo, "--strong"],
    );
    vm_mgr_ok(&sb, "sim1", &["start", "-n", &apart]);
    vm_mgr_ok(&sb, "sim1", &["start", "-n", &with]);
    assert_eq!(node_of(&sb, &pinned), "sim2");
    assert_eq!(node_of(&sb, &fo), "sim2");
    assert_eq!(node_of(&sb, &with), "sim2");
    let apart_node = node_of(&sb, &apart);
    assert_ne!(apart_node, "sim2");
    let st = vm_mgr_ok(&sb, "sim3", &["--output", "json", "status", "-n", &fo]);
    assert!(
        st.contains("\"strategy\": \"failover\"")
            && st.contains(&format!("vmmgr-colo-{with}.{fo}"))
            && st.contains(&format!("vmmgr-anti-{apart}.{fo}")),
        "{st}"
    );

    sb.kill_node("sim2");
    // A migrate to the node now offline is refused with the reason, before anything changes.
    wait_for(Duration::from_secs(30), "sim2 to be seen offline", || {
        let s = sb.quorate_view(&["sim2"])?;
        s.node("sim2").is_some_and(|n| !n.online).then_some(())
    });
    let before = config_epoch(&sb, "sim1");
    let out = vm_mgr(&sb, "sim1", &["migrate", "-n", &fo, "--node", "sim2"]);
    assert_eq!(out.code(), Some(7), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("node sim2 is offline"),
        "{}",
        describe(&out)
    );
    assert_eq!(config_epoch(&sb, "sim1"), before, "nothing changed");

    // The failover VM restarts elsewhere, apart from `apart`, with `with` following it; the
    // pinned VM is not restarted anywhere.
    let fo_node = wait_for(
        Duration::from_secs(90),
        "the failover VM to restart",
        || {
            let on = sb.running_on(&domain(&fo), &["sim2"]);
            (on.len() == 1 && on[0] != "sim2").then(|| on[0].clone())
        },
    );
    assert_ne!(fo_node, apart_node, "anti-colocation held after kill-node");
    wait_for(
        Duration::from_secs(60),
        "the colocated VM to follow",
        || (sb.running_on(&domain(&with), &["sim2"]) == [fo_node.as_str()]).then_some(()),
    );
    assert_eq!(
        sb.running_on(&domain(&apart), &["sim2"]),
        [apart_node.as_str()]
    );
    assert!(
        sb.running_on(&domain(&pinned), &["sim2"]).is_empty(),
        "pinned VM restarted elsewhere"
    );

    sb.rejoin("sim2");
    wait_for(
        Duration::from_secs(120),
        "the pinned VM back on sim2",
        || (sb.running_on(&domain(&pinned), &[]) == ["sim2"]).then_some(()),
    );
    assert_eq!(
        sb.running_on(&domain(&fo), &[]),
        [fo_node.as_str()],
        "failover VM stays"
    );
    remove(&sb, &[&with, &apart, &fo, &pinned]);
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn drain_moves_vms_off_and_undrain_returns_them() {
    let sb = sandbox();
    let names = [unique_name("dr"), unique_name("dr")];
    for n in &names {
        create(&sb, n, &["--preferred-host", "sim3"]);
        // failover: they would stay away after undrain, so vm-mgr must bring them back.
        vm_mgr_ok(
            &sb,
            "sim1",
            &[
                "set-placement",
                "-n",
                n,
                "--strategy",
                "failover",
                "--node",
                "sim3",
            ],
        );
        assert_eq!(node_of(&sb, n), "sim3");
    }
    let out = vm_mgr_ok(
        &sb,
        "sim1",
        &["--output", "json", "drain", "--node", "sim3"],
    );
    for n in &names {
        assert!(out.contains(n.as_str()), "{out}");
        let on = sb.running_on(&domain(n), &[]);
        assert!(on.len() == 1 && on[0] != "sim3", "{n} on {on:?}");
        let tasks = sb.history_tasks(&on[0], &domain(n));
        assert!(
            tasks.iter().any(|t| t == "migrate_from"),
            "{n} was not live-migrated: {tasks:?}"
        );
    }
    let mon = sb.crm_mon("sim1").expect("crm_mon");
    assert!(
        mon.node("sim3").is_some_and(|n| n.standby),
        "sim3 in standby"
    );

    let out = vm_mgr_ok(&sb, "sim1", &["undrain", "--node", "sim3"]);
    for n in &names {
        assert_eq!(sb.running_on(&domain(n), &[]), ["sim3"], "{out}");
    }
    let mon = sb.crm_mon("sim1").expect("crm_mon");
    assert!(mon.node("sim3").is_some_and(|n| !n.standby));
    let c = constraints(&sb);
    assert!(
        !c.contains("vmmgr-move-") && !c.contains("id=\"cli-"),
        "{c}"
    );
    let nodes = sb.exec_ok("sim1", &["cibadmin", "--query", "--scope", "nodes"]);
    assert!(!nodes.contains("vmmgr-drained-vms"), "{nodes}");
    remove(&sb, &[&names[0], &names[1]]);
}

/// libvirtd of a node killed; started again on drop (also when an assertion fails).
struct LibvirtdDown<'a> {
    sb: &'a Sandbox,
    node: &'a str,
}

impl<'a> LibvirtdDown<'a> {
    fn new(sb: &'a Sandbox, node: &'a str) -> LibvirtdDown<'a> {
        let pid = sb.exec_ok(node, &["pgrep", "-x", "libvirtd"]);
        sb.exec_ok(node, &["kill", "-KILL", pid.trim()]);
        wait_for(Duration::from_secs(10), "libvirtd to die", || {
            let out = sb.exec(node, &["pgrep", "-x", "libvirtd"]).ok()?;
            (!out.status.success()).then_some(())
        });
        LibvirtdDown { sb, node }
    }
}

impl Drop for LibvirtdDown<'_> {
    fn drop(&mut self) {
        let _ = self
            .sb
            .exec(self.node, &["/usr/sbin/libvirtd", "--listen", "-d"]);
        // no panic here: this may run while a failed test unwinds
        for _ in 0..50 {
            let up = self.sb.exec(self.node, &["virsh", "-q", "uri"]);
            if up.is_ok_and(|o| o.status.success()) {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn migrate_is_refused_while_libvirt_on_the_target_does_not_answer() {
    // The preflight asks the target's libvirt with virsh (vm-mgr does not link libvirt).
    let sb = sandbox();
    let name = unique_name("nolv");
    create(&sb, &name, &[]);
    let src = node_of(&sb, &name);
    let dst = if src == "sim2" { "sim3" } else { "sim2" };
    {
        let _down = LibvirtdDown::new(&sb, dst);
        let before = config_epoch(&sb, "sim1");
        let out = vm_mgr(&sb, "sim1", &["migrate", "-n", &name, "--node", dst]);
        assert_eq!(out.code(), Some(7), "{}", describe(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "libvirt on {dst} does not answer at qemu+tcp://{dst}/system: \
                 unable to connect to server at '{dst}:16509': Connection refused"
            )),
            "{}",
            describe(&out)
        );
        assert_eq!(config_epoch(&sb, "sim1"), before, "nothing changed");
        assert_eq!(sb.running_on(&domain(&name), &[]), [src.as_str()]);
    }
    // libvirtd back: the same migrate passes the preflight and moves the VM.
    vm_mgr_ok(&sb, "sim1", &["migrate", "-n", &name, "--node", dst]);
    assert_eq!(sb.running_on(&domain(&name), &[]), [dst]);
    remove(&sb, &[&name]);
}
