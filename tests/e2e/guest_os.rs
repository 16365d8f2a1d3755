//! A VM with a real guest OS (the sandbox's Debian 12 image: systemd, qemu-guest-agent,
//! pacemaker-remote) on the real sandbox cluster with Ceph: `vm-mgr create` from the image,
//! boot to the login prompt with the guest agent answering, an address on the sandbox network
//! that every node reaches, a live migration that keeps the guest running (a file in its tmpfs
//! `/run` survives, its address still answers), a snapshot frozen through the guest agent,
//! `migrate --offline --wait-for-shutdown` with `shutdown -h now` run inside the guest, a
//! rollback after which the guest (booted again) has the file it wrote just before the
//! snapshot and not the one written after, and a graceful `stop` answered by the OS (the ACPI
//! power button: it powers itself off, the agent issues no destroy). Two boots in all.
//!
//! The image is built once per machine and cached (`sandbox guest-image`), so other scenarios
//! share it. Run: `VMMGR_SANDBOX_NAME=gos cargo test -p vmmgr-tests --test guest_os --
//! --ignored --test-threads=1 --nocapture` (after `cargo build`).

use std::time::{Duration, Instant};

use serde_json::json;
use vmmgr_tests::{unique_name, vm_mgr_ok, wait_for, Sandbox};

#[path = "vm_mgr_support.rs"]
mod support;
use support::{cib_config, json_has, remove_and_check_gone, sandbox, status_json};

#[path = "guest_support.rs"]
mod guest;
use guest::{
    agent, create_os_vm, epoch_now, guest_address, guest_sh, journal_since, node_file, node_text,
    reachable_from_all, serial_log, wait_agent, wait_unit, RemoveOnPanic, BOOT_KVM,
};

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn debian_guest_boots_migrates_freezes_and_shuts_down_gracefully() {
    let sb = sandbox();
    let name = unique_name("gos");
    let dom = name.as_str();
    let domain = format!("vmmgr-domain-{name}");

    // create → Started; the guest boots to its login prompt and its agent answers.
    let t = Instant::now();
    let (out, budget) = create_os_vm(&sb, &name, &[]);
    let mut guard = RemoveOnPanic {
        sb: &sb,
        name: Some(name.clone()),
    };
    assert!(out.contains("Started on"), "{out}");
    let cfg = cib_config(&sb);
    assert!(
        cfg.contains(r#"name="shutdown_mode" value="acpi""#),
        "the domain resource stops with ACPI: {cfg}"
    );
    eprintln!(
        "create (import + start) took {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let on = sb.running_on(&domain, &[]);
    assert_eq!(on.len(), 1, "{on:?}");
    let src = on[0].clone();
    let t = Instant::now();
    let boot = wait_agent(&sb, &src, dom, budget);
    wait_for(Duration::from_secs(60), "the login prompt on ttyS0", || {
        serial_log(&sb, &src, dom).contains("login:").then_some(())
    });
    eprintln!(
        "boot: agent answered {:.1} s after Started, login prompt by {:.1} s ({})",
        boot.as_secs_f64(),
        t.elapsed().as_secs_f64(),
        if budget == BOOT_KVM { "KVM" } else { "TCG" }
    );
    let info = agent(&sb, &src, dom, &json!({"execute": "guest-info"})).expect("guest-info");
    assert!(info["version"].is_string(), "{info}");
    let fs = sb.exec_ok(&src, &["virsh", "-q", "domfsinfo", dom]);
    assert!(
        fs.lines().any(|l| l.split_whitespace().next() == Some("/")),
        "the root filesystem is listed: {fs}"
    );

    // An address on the sandbox network (DHCP) that every node reaches.
    let subnet = sb.env_var("SANDBOX_SUBNET");
    let addr = wait_for(Duration::from_secs(60), "a DHCP address", || {
        guest_address(&sb, &src, dom, &subnet)
    });
    reachable_from_all(&sb, &addr);

    // Live migration keeps the guest running: a file in its tmpfs /run survives, the agent
    // and the address answer on the target.
    assert_eq!(
        guest_sh(&sb, &src, dom, "echo up > /run/vmmgr-e2e-marker"),
        0
    );
    let dst = if src == "sim2" { "sim3" } else { "sim2" };
    vm_mgr_ok(&sb, "sim1", &["migrate", "-n", &name, "--node", dst]);
    assert_eq!(sb.running_on(&domain, &[]), [dst]);
    let job = sb.exec_ok(dst, &["virsh", "domjobinfo", dom, "--completed"]);
    assert!(job.contains("Incoming migration"), "{dst}: {job}");
    assert_eq!(
        guest_sh(&sb, dst, dom, "test -e /run/vmmgr-e2e-marker"),
        0,
        "the guest was not rebooted by the migration"
    );
    reachable_from_all(&sb, &addr);

    // A snapshot of the running guest is frozen through its agent (and thawed: it writes);
    // what the guest wrote just before it is there after a rollback, what it wrote after is
    // not (read inside the guest, after the offline migration below).
    assert_eq!(
        guest_sh(&sb, dst, dom, "echo before > /root/before-snap && sync"),
        0
    );
    let out = vm_mgr_ok(
        &sb,
        "sim1",
        &[
            "--output",
            "json",
            "create-snapshot",
            "-n",
            &name,
            "--snap-name",
            "s1",
        ],
    );
    assert!(out.contains("\"consistency\": \"frozen\""), "{out}");
    assert_eq!(
        guest_sh(&sb, dst, dom, "echo thawed > /root/after-snap && sync"),
        0
    );

    // migrate --offline --wait-for-shutdown: the guest powers itself off (`shutdown -h now`
    // run inside it), vm-mgr records it stopped; no destroy.
    offline_migrate_on_guest_shutdown(&sb, &name, dst);

    // rollback of the stopped VM; an offline migrate of a stopped VM starts it on its target,
    // and the guest, booted again, has the file written before the snapshot, not the later one.
    let out = vm_mgr_ok(&sb, "sim1", &["rollback", "-n", &name, "--snap-name", "s1"]);
    assert!(out.contains("rolled back to s1; Stopped"), "{out}");
    let out = vm_mgr_ok(
        &sb,
        "sim1",
        &["migrate", "-n", &name, "--node", &src, "--offline"],
    );
    assert!(out.contains(&format!("Started on {src}")), "{out}");
    assert_eq!(sb.running_on(&domain, &[]), [src.as_str()]);
    let t = Instant::now();
    wait_agent(&sb, &src, dom, budget);
    eprintln!(
        "second boot: agent answered after {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(
        guest_sh(&sb, &src, dom, "test \"$(cat /root/before-snap)\" = before"),
        0,
        "the file written before the snapshot is there after the rollback"
    );
    assert_ne!(
        guest_sh(&sb, &src, dom, "test -e /root/after-snap"),
        0,
        "the file written after the snapshot is gone"
    );

    // stop: the OS powers itself off on the ACPI button, within the stop timeout, no destroy
    // (the agent's lines are in the nodes' journals); pressed once logind, which handles the
    // button, runs in the guest booted again.
    wait_unit(&sb, &src, dom, "systemd-logind", Duration::from_secs(120));
    let mark = log_mark(&sb, &src, dom);
    let t = Instant::now();
    let out = vm_mgr_ok(&sb, "sim1", &["stop", "-n", &name]);
    assert!(out.contains("Stopped"), "{out}");
    eprintln!("graceful stop took {:.1} s", t.elapsed().as_secs_f64());
    let (log, console) = logs_since(&sb, &src, dom, mark);
    assert!(
        log.contains(&format!(
            "issuing graceful shutdown request for domain {dom}"
        )),
        "{log}"
    );
    assert!(
        !log.contains(&format!("forced shutdown (destroy) of domain {dom}")),
        "{log}"
    );
    assert!(
        console.contains("reboot: Power down"),
        "the guest powered itself off: {}",
        tail(&console)
    );

    let st = status_json(&sb, "sim1", &name);
    assert!(json_has(&st, "state", "Stopped"), "{st}");
    guard.name = None;
    remove_and_check_gone(&sb, "sim1", &name);
}

/// The last 2000 bytes of `text` (for messages).
fn tail(text: &str) -> &str {
    let mut from = text.len().saturating_sub(2000);
    while !text.is_char_boundary(from) {
        from = from.saturating_add(1);
    }
    text.get(from..).unwrap_or("")
}

/// Where the logs stand now: a second before now for the nodes' journals (the agents' lines go
/// there), and the end of `dom`'s serial log on `node`.
fn log_mark(sb: &Sandbox, node: &str, dom: &str) -> (u64, usize) {
    let len = std::fs::metadata(node_file(sb, node, &serial_rel(dom))).map_or(0, |m| m.len());
    (
        epoch_now().saturating_sub(1),
        usize::try_from(len).unwrap_or(usize::MAX),
    )
}

fn serial_rel(dom: &str) -> String {
    format!("var-log-libvirt/qemu/{dom}-serial.log")
}

/// What the journals of all nodes, and the serial log of [`log_mark`], gained since the mark.
fn logs_since(sb: &Sandbox, node: &str, dom: &str, mark: (u64, usize)) -> (String, String) {
    let log = sb
        .nodes()
        .iter()
        .map(|n| journal_since(sb, n, mark.0))
        .collect();
    (log, node_text(sb, node, &serial_rel(dom), mark.1))
}

/// `migrate --offline --wait-for-shutdown --start-after-migration=false` of the VM running on
/// `node`, the guest shutting itself down (`shutdown -h now` through its agent) once vm-mgr has
/// told Pacemaker not to restart it: vm-mgr records it stopped, the serial log shows the
/// guest's own power-off, no agent destroyed it, and nothing is left unmanaged.
fn offline_migrate_on_guest_shutdown(sb: &Sandbox, name: &str, node: &str) {
    let dom = name;
    let mark = log_mark(sb, node, dom);
    let t = Instant::now();
    let out = std::thread::scope(|s| {
        let migrate = s.spawn(|| {
            vm_mgr_ok(
                sb,
                "sim1",
                &[
                    "migrate",
                    "-n",
                    name,
                    "--node",
                    "sim1",
                    "--offline",
                    "--wait-for-shutdown",
                    "--shutdown-timeout",
                    "120",
                    "--start-after-migration=false",
                ],
            )
        });
        wait_for(Duration::from_secs(60), "vm-mgr to unmanage the VM", || {
            let res = sb.exec_ok("sim1", &["cibadmin", "--query", "--scope", "resources"]);
            res.contains(r#"name="is-managed" value="false""#)
                .then_some(())
        });
        let cmd = json!({"execute": "guest-exec",
            "arguments": {"path": "/sbin/shutdown", "arg": ["-h", "now"]}});
        assert!(agent(sb, node, dom, &cmd).is_some(), "shutdown -h now runs");
        migrate
            .join()
            .expect("migrate --offline --wait-for-shutdown")
    });
    eprintln!(
        "offline migrate on the guest's own shutdown took {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert!(out.contains("Stopped"), "{out}");
    let (log, console) = logs_since(sb, node, dom, mark);
    assert!(
        console.contains("reboot: Power down"),
        "the guest powered itself off: {}",
        tail(&console)
    );
    assert!(
        !log.contains(&format!("forced shutdown (destroy) of domain {dom}"))
            && !log.contains(&format!(
                "issuing graceful shutdown request for domain {dom}"
            )),
        "no agent stopped the guest: {log}"
    );
    let st = status_json(sb, "sim1", name);
    assert!(json_has(&st, "state", "Stopped"), "{st}");
    let res = sb.exec_ok("sim1", &["cibadmin", "--query", "--scope", "resources"]);
    assert!(!res.contains("is-managed"), "{res}");
}
