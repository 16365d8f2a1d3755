//! Helpers of the scenarios on a real guest OS (`guest_os`, `guest_remote`): a VM made from
//! the sandbox's Debian 12 image, its QEMU guest agent (commands, `guest-exec`), its address,
//! the nodes' log files, and a guard that removes the VM when a scenario fails half-way.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use vmmgr_tests::{create_argv, describe, vm_mgr, vm_mgr_ok, wait_for, Sandbox};

/// Time from `create` returning (domain started) to the guest agent answering: the target
/// under KVM, and the bound under QEMU's TCG (the sandbox uses TCG for an OS guest where KVM
/// cannot run an ordinary kernel at speed; see `sandbox guest-xml`). Measured under TCG: 29-75 s
/// on 2 cores shared with other builds (load 12-18), 125 s at the worst.
pub const BOOT_KVM: Duration = Duration::from_secs(30);
pub const BOOT_TCG: Duration = Duration::from_secs(240);

/// Creates VM `name` from the sandbox's Debian 12 image, run from sim1 (live migration on,
/// libvirt between nodes over TCP, `stop` through the ACPI power button with 90 s for it),
/// plus `extra` create flags; removes the input files again. Returns create's output and the
/// boot budget (KVM or TCG, from the domain XML).
pub fn create_os_vm(sb: &Sandbox, name: &str, extra: &[&str]) -> (String, Duration) {
    let (xml, image) = (
        format!("/var/tmp/vmmgr-e2e-{name}.xml"),
        format!("/var/tmp/vmmgr-e2e-{name}.qcow2"),
    );
    let t = std::time::Instant::now();
    sb.guest_image(&image);
    eprintln!("guest image ready in {:.1} s", t.elapsed().as_secs_f64());
    let guest = sb.guest_os_xml(name);
    let budget = if guest.contains("<domain type='kvm'>") {
        BOOT_KVM
    } else {
        BOOT_TCG
    };
    std::fs::write(&xml, &guest).expect("write the guest XML");
    // libvirt between nodes over TCP (the sandbox has no ssh), stored in the VM's settings:
    // migrations and the remote freeze of create-snapshot use it
    let conf = format!("/var/tmp/vmmgr-e2e-{name}.conf");
    std::fs::write(&conf, "migration-transport = tcp\n").expect("write the vm-mgr config");
    let mut flags = vec![
        "--enable-live-migration",
        // stop presses the ACPI power button (libvirt's default would ask the agent first)
        "--pacemaker-params",
        "shutdown_mode=acpi",
        "--stop-timeout",
        "90",
    ];
    flags.extend_from_slice(extra);
    let out = vm_mgr_ok(
        sb,
        "sim1",
        &[
            &["--config", conf.as_str()][..],
            &create_argv(name, &xml, &image, &flags),
        ]
        .concat(),
    );
    for f in [&xml, &image, &conf] {
        let _ = std::fs::remove_file(f);
    }
    (out, budget)
}

/// Waits until the guest agent of `dom` on `node` answers `guest-ping` (within `budget`);
/// how long that took.
pub fn wait_agent(sb: &Sandbox, node: &str, dom: &str, budget: Duration) -> Duration {
    let t = std::time::Instant::now();
    let ping = json!({"execute": "guest-ping"});
    wait_for(budget, "the guest agent to answer guest-ping", || {
        agent(sb, node, dom, &ping)
    });
    t.elapsed()
}

/// A guest agent command on the node running `dom`; its `return` value, or None when the agent
/// does not answer (yet).
pub fn agent(sb: &Sandbox, node: &str, dom: &str, cmd: &Value) -> Option<Value> {
    let out = sb
        .exec(
            node,
            &[
                "virsh",
                "-q",
                "qemu-agent-command",
                dom,
                "--timeout",
                "5",
                &cmd.to_string(),
            ],
        )
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_str(out.stdout_str().trim()).ok()?;
    v.get("return").cloned()
}

/// Runs `sh -c script` in the guest (guest-exec) and returns its exit code.
pub fn guest_sh(sb: &Sandbox, node: &str, dom: &str, script: &str) -> i64 {
    let cmd = json!({"execute": "guest-exec",
        "arguments": {"path": "/bin/sh", "arg": ["-c", script], "capture-output": true}});
    let started = agent(sb, node, dom, &cmd).unwrap_or_else(|| panic!("guest-exec {script}"));
    let pid = started["pid"].as_i64().expect("guest-exec returns a pid");
    let status = json!({"execute": "guest-exec-status", "arguments": {"pid": pid}});
    wait_for(Duration::from_secs(30), "guest-exec to end", || {
        agent(sb, node, dom, &status)
            .filter(|r| r["exited"] == json!(true))
            .map(|r| r["exitcode"].as_i64().unwrap_or(-1))
    })
}

/// Waits until systemd unit `unit` of the guest is active (within `budget`). The power button
/// is handled by systemd-logind: pressed before it runs, the guest ignores it.
pub fn wait_unit(sb: &Sandbox, node: &str, dom: &str, unit: &str, budget: Duration) {
    let script = format!("systemctl is-active --quiet {unit}");
    wait_for(budget, &format!("{unit} active in the guest"), || {
        (guest_sh(sb, node, dom, &script) == 0).then_some(())
    });
}

/// A file of `node`'s own state (its bind-mounted /var/log/... directories), as the host sees it.
pub fn node_file(sb: &Sandbox, node: &str, rel: &str) -> PathBuf {
    PathBuf::from(sb.env_var("SANDBOX_BASE"))
        .join("nodes")
        .join(node)
        .join(rel)
}

/// The text of `node`'s file `rel` from byte `from` on (empty if there is none).
pub fn node_text(sb: &Sandbox, node: &str, rel: &str, from: usize) -> String {
    let text = std::fs::read(node_file(sb, node, rel)).unwrap_or_default();
    String::from_utf8_lossy(text.get(from..).unwrap_or_default()).into_owned()
}

/// What `node`'s journal holds since `since` (seconds since the epoch): the agents' lines go
/// there (each sandbox node runs its own journald, `/dev/log` its syslog socket), as
/// `journalctl` prints them.
pub fn journal_since(sb: &Sandbox, node: &str, since: u64) -> String {
    sb.exec_ok(
        node,
        &["journalctl", "--no-pager", &format!("--since=@{since}")],
    )
}

/// Seconds since the epoch, now.
pub fn epoch_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The node's serial console log of `dom` (virtlogd writes it under the node's /var/log/libvirt).
pub fn serial_log(sb: &Sandbox, node: &str, dom: &str) -> String {
    node_text(
        sb,
        node,
        &format!("var-log-libvirt/qemu/{dom}-serial.log"),
        0,
    )
}

/// The guest's IPv4 address on the sandbox network, as its agent reports it.
pub fn guest_address(sb: &Sandbox, node: &str, dom: &str, subnet: &str) -> Option<String> {
    let ifs = agent(
        sb,
        node,
        dom,
        &json!({"execute": "guest-network-get-interfaces"}),
    )?;
    ifs.as_array()?
        .iter()
        .flat_map(|i| i["ip-addresses"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["ip-address"].as_str().map(str::to_owned))
        .find(|a| a.starts_with(&format!("{subnet}.")))
}

/// Every node of the sandbox reaches `addr` (one ICMP echo each, 2 s to answer).
pub fn reachable_from_all(sb: &Sandbox, addr: &str) {
    for n in sb.nodes() {
        let out = sb
            .exec(n, &["ping", "-c", "1", "-W", "2", "--", addr])
            .expect("ping runs");
        assert!(
            out.status.success(),
            "{n} reaches {addr}: {}",
            describe(&out)
        );
    }
}

/// Removes the VM when the scenario fails half-way, so the scenarios after it find the cluster
/// as it was (`tests/run-all` runs them all on one sandbox).
pub struct RemoveOnPanic<'a> {
    pub sb: &'a Sandbox,
    pub name: Option<String>,
}

impl Drop for RemoveOnPanic<'_> {
    fn drop(&mut self) {
        if let Some(name) = self.name.take() {
            let _ = vm_mgr(self.sb, "sim1", &["remove", "--purge", "-n", &name]);
        }
    }
}
