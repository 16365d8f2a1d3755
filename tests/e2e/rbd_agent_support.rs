//! Helpers of the `rbd_agent` end-to-end scenarios.

use std::process::Command;
use std::time::Duration;

use shared::ceph::types::{parse_image_info, parse_object_lock, ObjectLock};
use shared::cmd::Output;
use vmmgr_tests::{unique_name, wait_for, Sandbox};

pub const AGENT: &str = "/usr/lib/ocf/resource.d/vmmgr/rbd";

/// Runs the agent inside `node` in guard mode with the given extra environment.
pub fn agent(sb: &Sandbox, node: &str, action: &str, env: &[(&str, &str)]) -> Output {
    let mut argv: Vec<String> = vec!["env".into(), "OCF_ROOT=/usr/lib/ocf".into()];
    argv.push("OCF_RESKEY_mode=guard".into());
    argv.push("OCF_RESOURCE_INSTANCE=e2e".into());
    argv.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    argv.push(AGENT.into());
    argv.push(action.into());
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    sb.exec(node, &argv).expect("the agent runs")
}

/// Runs `sh -c SCRIPT` inside `node` in the background (a client of the image standing in for
/// QEMU); the caller kills and waits for the returned `sandbox exec`.
pub fn spawn_in(node: &str, script: &str) -> std::process::Child {
    Command::new(vmmgr_tests::repo_root().join("tests/sandbox/sandbox"))
        .args(["exec", node, "--", "sh", "-c", script])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the client starts")
}

/// The watchers of `rbd/<name>` (`rbd status`, asked from sim1).
pub fn watchers(sb: &Sandbox, name: &str) -> Vec<shared::ceph::Watcher> {
    let s = sb.exec_ok(
        "sim1",
        &["rbd", "status", "--format", "json", &format!("rbd/{name}")],
    );
    shared::ceph::types::parse_status(&s).unwrap()
}

pub fn rc(out: &Output) -> i32 {
    out.code().unwrap_or(-1)
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn assert_rc(out: &Output, want: i32, what: &str) {
    assert_eq!(rc(out), want, "{what}: stderr:\n{}", stderr(out));
}

/// A fresh image (8 MiB) named after the test.
pub fn image(sb: &Sandbox, prefix: &str) -> String {
    let name = unique_name(prefix);
    sb.exec_ok(
        "sim1",
        &["rbd", "create", "--size", "8", &format!("rbd/{name}")],
    );
    name
}

pub fn remove_image(sb: &Sandbox, name: &str) {
    let _ = sb.exec(
        "sim1",
        &["rbd", "rm", "--no-progress", &format!("rbd/{name}")],
    );
}

/// A running node to ask Ceph from.
pub fn any_node(sb: &Sandbox) -> String {
    sb.nodes()
        .iter()
        .find(|n| sb.node_running(n))
        .expect("a running node")
        .clone()
}

/// The node names holding the guard lock of `rbd/<name>` (cookies).
pub fn guard_holders(sb: &Sandbox, name: &str) -> Vec<String> {
    guard_lock(sb, name)
        .lockers
        .into_iter()
        .map(|l| l.cookie)
        .collect()
}

/// The guard lock of `rbd/<name>` as `rados lock info` shows it.
pub fn guard_lock(sb: &Sandbox, name: &str) -> ObjectLock {
    let via = any_node(sb);
    let info = sb.exec_ok(
        &via,
        &["rbd", "info", "--format", "json", &format!("rbd/{name}")],
    );
    let id = parse_image_info(&info).unwrap().id.unwrap();
    let header = format!("rbd_header.{id}");
    let out = sb.exec_ok(
        &via,
        &[
            "rados",
            "-p",
            "rbd",
            "lock",
            "info",
            &header,
            "vmmgr_guard",
            "--format",
            "json",
        ],
    );
    parse_object_lock(&out).unwrap()
}

pub struct MonStopped(String);

impl MonStopped {
    pub fn new(sb: &Sandbox) -> MonStopped {
        MonStopped::daemon(sb, "mon.a")
    }

    /// SIGSTOPs another daemon of the sandbox's Ceph (`osd.0`).
    pub fn daemon(sb: &Sandbox, daemon: &str) -> MonStopped {
        let base = sb.env_var("SANDBOX_BASE");
        let pid = std::fs::read_to_string(format!("{base}/ceph/run/{daemon}.pid"))
            .expect("daemon pid file")
            .trim()
            .to_string();
        assert!(Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success());
        MonStopped(pid)
    }
}

impl Drop for MonStopped {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.0]).status();
    }
}

/// Waits until `node` is seen offline and clean (fenced) by the quorate partition.
pub fn wait_fenced(sb: &Sandbox, node: &str) {
    wait_for(Duration::from_secs(60), "the node to be fenced", || {
        let st = sb.quorate_view(&[node])?;
        let n = st.node(node)?;
        (!n.online && !n.unclean).then_some(())
    });
}

pub fn guard_primitive(id: &str, image: &str) -> String {
    format!(
        r#"<primitive id="{id}" class="ocf" provider="vmmgr" type="rbd">
  <instance_attributes id="{id}-ia">
    <nvpair id="{id}-mode" name="mode" value="guard"/>
    <nvpair id="{id}-name" name="name" value="{image}"/>
  </instance_attributes>
  <meta_attributes id="{id}-meta"><nvpair id="{id}-allow-migrate" name="allow-migrate" value="true"/></meta_attributes>
  <operations>
    <op id="{id}-monitor-5s" name="monitor" interval="5s" timeout="20s"/>
  </operations>
</primitive>"#
    )
}

pub fn remove_primitive(sb: &Sandbox, id: &str) {
    // A node that has just rejoined may refuse CIB changes or show an empty status for a moment:
    // retry on any node until the change is accepted, and only believe a quorate view that
    // still lists the resource.
    let on_any_node = |argv: &[&str]| {
        sb.nodes()
            .iter()
            .any(|n| sb.exec(n, argv).is_ok_and(|o| o.status.success()))
            .then_some(())
    };
    wait_for(
        Duration::from_secs(30),
        "target-role=Stopped to be set",
        || {
            on_any_node(&[
                "crm_resource",
                "-r",
                id,
                "--meta",
                "-p",
                "target-role",
                "-v",
                "Stopped",
            ])
        },
    );
    // Stopped only counts while the DC is idle: during a join the status section can lack a
    // node's history, and a guard still running there looks stopped (seen in CI: deleted
    // then, it ran on as an orphan holding the lock).
    wait_for(Duration::from_secs(30), "the resource to stop", || {
        let st = sb.quorate_view(&[])?;
        let inst = st.resource(id);
        let stopped = !inst.is_empty() && inst.iter().all(|r| !r.active);
        (stopped && sb.dc_idle(&st) && sb.running_on(id, &[]).is_empty()).then_some(())
    });
    let xml = format!("<primitive id=\"{id}\"/>");
    wait_for(
        Duration::from_secs(30),
        "the resource to be deleted",
        || {
            on_any_node(&[
                "cibadmin",
                "--delete",
                "-o",
                "resources",
                "--xml-text",
                &xml,
            ])
        },
    );
}
