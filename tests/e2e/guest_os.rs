//! A VM with a real guest OS (the sandbox's Debian 12 image: systemd, qemu-guest-agent,
//! pacemaker-remote) on the real sandbox cluster with Ceph: `vm-mgr create` from the image,
//! boot to the login prompt with the guest agent answering, an address on the sandbox network
//! that every node reaches, a live migration that keeps the guest running (a file in its tmpfs
//! `/run` survives, its address still answers), a snapshot frozen through the guest agent, and
//! a graceful `stop` answered by the OS (the ACPI power button: it powers itself off, the agent
//! issues no destroy).
//!
//! The image is built once per machine and cached (`sandbox guest-image`), so other scenarios
//! share it. Run: `VMMGR_SANDBOX_NAME=gos cargo test -p vmmgr-tests --test guest_os --
//! --ignored --test-threads=1 --nocapture` (after `cargo build`).

use std::time::{Duration, Instant};

use serde_json::json;
use vmmgr_tests::{unique_name, vm_mgr_ok, wait_for};

#[path = "vm_mgr_support.rs"]
mod support;
use support::{cib_config, json_has, remove_and_check_gone, sandbox, status_json};

#[path = "guest_support.rs"]
mod guest;
use guest::{
    agent, create_os_vm, epoch_now, guest_address, guest_sh, journal_since, reachable_from_all,
    serial_log, wait_agent, RemoveOnPanic, BOOT_KVM,
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

    // A snapshot of the running guest is frozen through its agent (and thawed: it writes).
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
    assert_eq!(guest_sh(&sb, dst, dom, "echo thawed > /root/after-snap"), 0);

    // stop: the OS powers itself off on the ACPI button, within the stop timeout, no destroy
    // (the agent's lines are in the nodes' journals).
    let since = epoch_now().saturating_sub(1);
    let t = Instant::now();
    let out = vm_mgr_ok(&sb, "sim1", &["stop", "-n", &name]);
    assert!(out.contains("Stopped"), "{out}");
    eprintln!("graceful stop took {:.1} s", t.elapsed().as_secs_f64());
    let log: String = sb
        .nodes()
        .iter()
        .map(|n| journal_since(&sb, n, since))
        .collect();
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
    let console = serial_log(&sb, dst, dom);
    assert!(
        console.contains("reboot: Power down"),
        "the guest powered itself off: {}",
        console
            .get(console.len().saturating_sub(2000)..)
            .unwrap_or("")
    );

    let st = status_json(&sb, "sim1", &name);
    assert!(json_has(&st, "state", "Stopped"), "{st}");
    guard.name = None;
    remove_and_check_gone(&sb, "sim1", &name);
}
