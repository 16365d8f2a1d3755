//! A VM as a Pacemaker guest node, on the real sandbox cluster with Ceph and the sandbox's
//! Debian 12 guest (pacemaker-remote and qemu-guest-agent in the image): the cluster's key is
//! pushed into the guest through its agent, `vm-mgr add-pacemaker-remote` makes the VM a guest
//! node that crm_mon lists online, an `ocf:pacemaker:Dummy` kept on the guest node runs inside
//! the guest (its state file is there), a live migration keeps the guest node and the Dummy,
//! a power failure of the VM's host (`kill-node`) restarts the VM on a survivor where the guest
//! node comes back online and the Dummy runs again, and `remove-pacemaker-remote` leaves a plain VM that still runs (not rebooted), with no
//! trace of the guest node in the CIB.
//!
//! The key: Pacemaker Remote connections are authenticated with `/etc/pacemaker/authkey`. The
//! sandbox nodes do not bind-mount `/etc/pacemaker`, so they all use the host's key (made by
//! the pacemaker-common package); the image has a key of its own (made by the same package
//! when the image was built), which is not the cluster's. The scenario writes the cluster's key
//! into the running guest with `guest-exec` (as an operator would with scp), so the cached
//! image stays the same for every scenario and every machine.
//!
//! Run: `VMMGR_SANDBOX_NAME=grem cargo test -p vmmgr-tests --test guest_remote -- --ignored
//! --test-threads=1 --nocapture` (after `cargo build`).

use std::time::{Duration, Instant};

use serde_json::Value;
use shared::pacemaker::status::NodeType;
use shared::pacemaker::Role;
use vmmgr_tests::{unique_name, vm_mgr_ok, wait_for, Sandbox};

#[path = "vm_mgr_support.rs"]
mod support;
use support::{cib, cib_config, remove_and_check_gone, sandbox};

#[path = "guest_support.rs"]
mod guest;
use guest::{create_os_vm, guest_address, guest_sh, wait_agent, RemoveOnPanic};

const AUTHKEY: &str = "/etc/pacemaker/authkey";

/// How long the guest node may take to come online (Pacemaker connects once the domain runs;
/// the guest runs under TCG here) or to leave.
const GUEST_NODE: Duration = Duration::from_secs(180);

/// The shell script that writes `key` as the guest's Pacemaker Remote key (octal escapes for
/// `printf`: no encoder needed on either side) and restarts pacemaker_remote.
fn install_key_script(key: &[u8]) -> String {
    let escaped: String = key.iter().map(|b| format!("\\{b:03o}")).collect();
    format!(
        "umask 077 && mkdir -p /etc/pacemaker && printf '{escaped}' > {AUTHKEY} && \
         chown root:haclient {AUTHKEY} && chmod 0640 {AUTHKEY} && sync && \
         systemctl restart pacemaker_remote"
    )
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Whether crm_mon (from sim1) lists `node` as an online guest node of resource `domain`.
fn guest_online(sb: &Sandbox, node: &str, domain: &str) -> bool {
    sb.crm_mon("sim1").is_ok_and(|mon| {
        mon.node(node).is_some_and(|n| {
            n.online
                && n.node_type == NodeType::Remote
                && n.id_as_resource.as_deref() == Some(domain)
        })
    })
}

/// Where resource `id` is Started (its start done, not pending), as crm_mon on sim1 says.
fn started_on(sb: &Sandbox, id: &str) -> Vec<String> {
    sb.crm_mon("sim1")
        .map(|mon| {
            mon.resource(id)
                .into_iter()
                .filter(|r| r.active && r.role == Role::Started && r.pending.is_none())
                .flat_map(|r| r.nodes.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Powers a killed node on again when the scenario fails before it does (the scenarios after
/// it need every node).
struct StartOnPanic<'a> {
    sb: &'a Sandbox,
    node: Option<String>,
}

impl Drop for StartOnPanic<'_> {
    fn drop(&mut self) {
        if let Some(node) = self.node.take() {
            let _ = std::panic::catch_unwind(|| self.sb.start_node(&node));
        }
    }
}

/// Deletes the Dummy and its location when the scenario ends, also half-way.
struct DeleteDummy<'a> {
    sb: &'a Sandbox,
    id: String,
}

impl Drop for DeleteDummy<'_> {
    fn drop(&mut self) {
        for (scope, xml) in [
            (
                "constraints",
                format!(r#"<rsc_location id="{}-here"/>"#, self.id),
            ),
            ("resources", format!(r#"<primitive id="{}"/>"#, self.id)),
        ] {
            let _ = self.sb.exec(
                "sim1",
                &["cibadmin", "--delete", "--scope", scope, "--xml-text", &xml],
            );
        }
    }
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn guest_node_runs_a_dummy_and_leaves_a_plain_vm() {
    let sb = sandbox();
    let name = unique_name("grem");
    let dom = name.as_str();
    let domain = format!("vmmgr-domain-{name}");
    let node = format!("{name}-guest");
    let dummy = format!("{name}-dummy");
    let key = sb.exec("sim1", &["cat", AUTHKEY]).expect("cat runs");
    assert!(
        key.status.success() && !key.stdout.is_empty(),
        "the cluster nodes have a Pacemaker Remote key {AUTHKEY}"
    );
    let key_sum = sb.exec_ok("sim1", &["sha256sum", AUTHKEY]);

    let t = Instant::now();
    let (out, budget) = create_os_vm(&sb, &name, &[]);
    let mut vm_guard = RemoveOnPanic {
        sb: &sb,
        name: Some(name.clone()),
    };
    assert!(out.contains("Started on"), "{out}");
    let src = sb.running_on(&domain, &[])[0].clone();
    let boot = wait_agent(&sb, &src, dom, budget);
    eprintln!(
        "created in {:.1} s, agent answered {:.1} s after",
        t.elapsed().as_secs_f64(),
        boot.as_secs_f64()
    );
    let subnet = sb.env_var("SANDBOX_SUBNET");
    let addr = wait_for(Duration::from_secs(60), "a DHCP address", || {
        guest_address(&sb, &src, dom, &subnet)
    });

    // The guest gets the cluster's key (its own differs) and a marker that a reboot would lose.
    let check_key = format!("echo '{}' | sha256sum -c -", key_sum.trim());
    assert_ne!(
        guest_sh(&sb, &src, dom, &check_key),
        0,
        "the image's key is not the cluster's"
    );
    assert_eq!(
        guest_sh(&sb, &src, dom, &install_key_script(&key.stdout)),
        0
    );
    assert_eq!(
        guest_sh(&sb, &src, dom, &check_key),
        0,
        "the guest has the key"
    );
    assert_eq!(
        guest_sh(&sb, &src, dom, "echo up > /run/vmmgr-e2e-marker"),
        0
    );

    // A dry run shows the meta attributes and changes nothing.
    let before = cib_config(&sb);
    let add = ["add-pacemaker-remote", "-n", dom, "--remote-address", &addr];
    let plan = vm_mgr_ok(&sb, "sim1", &[&["--dry-run"][..], &add].concat());
    assert!(
        plan.contains(&format!(r#"name="remote-node" value="{node}""#)),
        "{plan}"
    );
    assert_eq!(cib_config(&sb), before);

    // add-pacemaker-remote: the guest node comes online.
    let t = Instant::now();
    let out = json(&vm_mgr_ok(
        &sb,
        "sim1",
        &[
            &["--output", "json"][..],
            &add,
            // after the kill below the connection starts with the VM, and must wait for a
            // whole boot (up to BOOT_TCG under TCG); a timeout there would make Pacemaker
            // move the VM again
            &["--remote-timeout", "240s"],
        ]
        .concat(),
    ));
    assert_eq!(out["guest_node"]["name"], node.as_str(), "{out}");
    assert_eq!(out["guest_node"]["address"], addr.as_str(), "{out}");
    assert_eq!(out["authkey"]["checked"], true, "{out}");
    assert_eq!(out["changed"], true, "{out}");
    wait_for(GUEST_NODE, "the guest node online in crm_mon", || {
        guest_online(&sb, &node, &domain).then_some(())
    });
    eprintln!(
        "guest node online {:.1} s after add",
        t.elapsed().as_secs_f64()
    );
    let st = json(&vm_mgr_ok(
        &sb,
        "sim1",
        &["--output", "json", "status", "-n", dom],
    ));
    assert_eq!(st["guest_node"]["state"], "online", "{st}");
    let info = json(&vm_mgr_ok(&sb, "sim1", &["--output", "json", "info"]));
    let listed = info["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["name"] == node.as_str()).cloned())
        .unwrap_or_else(|| panic!("info lists {node}: {info}"));
    assert_eq!(listed["guest_of"], dom, "{info}");

    // A Dummy kept on the guest node runs inside the guest.
    let _dummy_guard = DeleteDummy {
        sb: &sb,
        id: dummy.clone(),
    };
    sb.create_resource(
        "sim1",
        &format!(
            r#"<primitive id="{dummy}" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="{dummy}-meta"><nvpair id="{dummy}-meta-target-role" name="target-role" value="Stopped"/></meta_attributes><operations><op id="{dummy}-monitor" name="monitor" interval="10s" timeout="20s"/></operations></primitive>"#
        ),
    );
    sb.create_constraint(
        "sim1",
        &format!(
            r##"<rsc_location id="{dummy}-here" rsc="{dummy}"><rule id="{dummy}-here-rule" score="-INFINITY"><expression id="{dummy}-here-expr" attribute="#uname" operation="ne" value="{node}"/></rule></rsc_location>"##
        ),
    );
    sb.exec_ok(
        "sim1",
        &["crm_resource", "-r", &dummy, "--meta", "-d", "target-role"],
    );
    let dummy_runs = || (started_on(&sb, &dummy) == [node.as_str()]).then_some(());
    wait_for(
        Duration::from_secs(60),
        "the Dummy on the guest node",
        dummy_runs,
    );
    let state_file = format!("test -e /run/Dummy-{dummy}.state");
    assert_eq!(
        guest_sh(&sb, &src, dom, &state_file),
        0,
        "runs in the guest"
    );

    // A live migration keeps the guest (not rebooted), its guest node and the Dummy.
    let dst = if src == "sim2" { "sim3" } else { "sim2" };
    vm_mgr_ok(&sb, "sim1", &["migrate", "-n", dom, "--node", dst]);
    assert_eq!(sb.running_on(&domain, &[]), [dst]);
    wait_for(
        GUEST_NODE,
        "the guest node online after the migration",
        || guest_online(&sb, &node, &domain).then_some(()),
    );
    wait_for(
        Duration::from_secs(60),
        "the Dummy after the migration",
        dummy_runs,
    );
    assert_eq!(guest_sh(&sb, dst, dom, "test -e /run/vmmgr-e2e-marker"), 0);
    assert_eq!(guest_sh(&sb, dst, dom, &state_file), 0);

    // kill-node of the VM's host: it is fenced, the VM boots again on a survivor (the marker
    // in its tmpfs is gone), the guest node comes back online and the Dummy runs in it again.
    sb.kill_node(dst);
    let killed = Instant::now();
    let mut node_guard = StartOnPanic {
        sb: &sb,
        node: Some(dst.to_owned()),
    };
    let first = wait_for(
        Duration::from_secs(120),
        "the VM restarted on a survivor",
        || {
            let on = sb.running_on(&domain, &[dst]);
            (on.len() == 1 && on[0] != dst).then(|| on[0].clone())
        },
    );
    let restarted = killed.elapsed();
    // the killed node powers on again while the guest boots (it joins meanwhile)
    sb.start_node(dst);
    node_guard.node = None;
    // crm_mon lists a guest node online as soon as its connection starts (with the VM, before
    // the guest has booted): the Dummy running again is what shows the connection is up
    wait_for(budget + GUEST_NODE, "the Dummy after the kill", dummy_runs);
    let online = killed.elapsed();
    assert!(guest_online(&sb, &node, &domain), "{node} online");
    eprintln!(
        "after kill-node {dst}: VM started on {first} at {:.1} s, the Dummy in it at {:.1} s",
        restarted.as_secs_f64(),
        online.as_secs_f64(),
    );
    let on = sb.running_on(&domain, &[dst]);
    assert_eq!(on, [first.as_str()], "the VM stayed where it restarted");
    let now = first.as_str();
    wait_agent(&sb, now, dom, Duration::from_secs(30));
    assert_ne!(
        guest_sh(&sb, now, dom, "test -e /run/vmmgr-e2e-marker"),
        0,
        "the guest booted again"
    );
    assert_eq!(guest_sh(&sb, now, dom, &state_file), 0, "runs in the guest");
    let t = Instant::now();
    sb.wait_settled(Duration::from_secs(90));
    eprintln!("{dst} rejoined, {:.1} s more", t.elapsed().as_secs_f64());
    assert_eq!(sb.running_on(&domain, &[]), [now], "the VM stays put");
    assert!(guest_online(&sb, &node, &domain));
    assert_eq!(
        guest_sh(&sb, now, dom, "echo up > /run/vmmgr-e2e-marker"),
        0
    );

    // remove-pacemaker-remote: the guest node leaves (the Dummy stops: it has nowhere else to
    // run), the VM runs on, not rebooted; the CIB keeps nothing of the node.
    let out = json(&vm_mgr_ok(
        &sb,
        "sim1",
        &["--output", "json", "remove-pacemaker-remote", "-n", dom],
    ));
    assert_eq!(out["removed"], node.as_str(), "{out}");
    assert_eq!(out["purged"], true, "{out}");
    let mon = sb.crm_mon("sim1").expect("crm_mon");
    assert!(mon.node(&node).is_none(), "{node} still listed");
    assert!(sb.running_on(&dummy, &[]).is_empty());
    assert_eq!(sb.running_on(&domain, &[]), [now]);
    assert_eq!(guest_sh(&sb, now, dom, "test -e /run/vmmgr-e2e-marker"), 0);
    assert_ne!(
        guest_sh(&sb, now, dom, &state_file),
        0,
        "stopped in the guest"
    );
    sb.wait_settled(Duration::from_secs(60));
    let all = cib(&sb);
    assert!(!all.contains(&format!(r#"uname="{node}""#)), "{all}");
    assert!(!all.contains("remote-node"), "{all}");
    let st = json(&vm_mgr_ok(
        &sb,
        "sim1",
        &["--output", "json", "status", "-n", dom],
    ));
    assert_eq!(st["state"], "Started", "{st}");
    assert_eq!(st["guest_node"], Value::Null, "{st}");

    drop(_dummy_guard);
    vm_guard.name = None;
    remove_and_check_gone(&sb, "sim1", &name);
}
