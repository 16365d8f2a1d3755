//! End-to-end scenario of `ocf:vmmgr:drbd` under real Pacemaker with **simulated DRBD**: the
//! sandbox nodes have no DRBD kernel module, so `drbdadm`/`drbdsetup` inside the nodes are
//! symlinks to the DRBD SIMULATOR (`tests/drbd-sim`, binary `drbd-sim`) placed in the sandbox's
//! shared `bin` directory, which every node mounts on `/usr/local/sbin` — first on the `PATH`
//! that Pacemaker hands to agents, ahead of the real tools in `/usr/sbin`. The agent's code path
//! is the production one: it resolves the tools on `PATH`. `crm_attribute` is the real one.
//!
//! Run by `tests/run-all` (root): `cargo test -p vmmgr-tests --test drbd_agent -- --ignored`.
//! Give the sandbox its own name with `VMMGR_SANDBOX_NAME` when others run in parallel.

use std::path::{Path, PathBuf};
use std::time::Duration;

use shared::pacemaker::{ClusterStatus, Role};
use vmmgr_tests::{unique_name, wait_for, Sandbox};

/// Where the simulator keeps its state (its default; Pacemaker passes no environment to it).
const SIM_DIR: &str = "/var/tmp/vmmgr-drbd-sim";

fn sim_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_drbd-sim"))
}

/// Puts `drbdadm`/`drbdsetup` → simulator into the sandbox's shared bin (= `/usr/local/sbin`
/// in the nodes).
fn install_simulator(sb: &Sandbox) -> PathBuf {
    let bin = Path::new(&sb.env_var("SANDBOX_SHARED")).join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["drbdadm", "drbdsetup"] {
        let link = bin.join(tool);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(sim_binary(), &link).unwrap();
    }
    bin
}

/// A two-node DRBD configuration for the simulator, in a directory the nodes see.
fn write_config(sb: &Sandbox, res: &str) -> String {
    let path = Path::new(&sb.env_var("SANDBOX_BASE")).join(format!("{res}.drbd.conf"));
    std::fs::write(
        &path,
        format!(
            "resource {res} {{\n  net {{ protocol C; }}\n  \
             volume 0 {{ device /dev/drbd0; disk /dev/vg/{res}; meta-disk internal; }}\n  \
             on sim1 {{ node-id 0; address 10.78.0.1:7789; }}\n  \
             on sim2 {{ node-id 1; address 10.78.0.2:7789; }}\n  \
             connection-mesh {{ hosts sim1 sim2; }}\n}}\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

fn clone_xml(id: &str, res: &str, conf: &str) -> String {
    format!(
        r#"<clone id="{id}-clone">
  <meta_attributes id="{id}-clone-meta">
    <nvpair id="{id}-promotable" name="promotable" value="true"/>
    <nvpair id="{id}-promoted-max" name="promoted-max" value="1"/>
    <nvpair id="{id}-promoted-node-max" name="promoted-node-max" value="1"/>
    <nvpair id="{id}-clone-max" name="clone-max" value="2"/>
    <nvpair id="{id}-clone-node-max" name="clone-node-max" value="1"/>
    <nvpair id="{id}-notify" name="notify" value="true"/>
  </meta_attributes>
  <primitive id="{id}" class="ocf" provider="vmmgr" type="drbd">
    <instance_attributes id="{id}-ia">
      <nvpair id="{id}-res" name="drbd_resource" value="{res}"/>
      <nvpair id="{id}-conf" name="drbdconf" value="{conf}"/>
      <nvpair id="{id}-wfc" name="wfc_timeout" value="2"/>
    </instance_attributes>
    <operations>
      <op id="{id}-op-start" name="start" interval="0" timeout="60s"/>
      <op id="{id}-op-stop" name="stop" interval="0" timeout="60s"/>
      <op id="{id}-op-promote" name="promote" interval="0" timeout="30s"/>
      <op id="{id}-op-demote" name="demote" interval="0" timeout="30s"/>
      <op id="{id}-op-notify" name="notify" interval="0" timeout="30s"/>
      <op id="{id}-op-mon-p" name="monitor" interval="3s" timeout="20s" role="Promoted"/>
      <op id="{id}-op-mon-u" name="monitor" interval="4s" timeout="20s" role="Unpromoted"/>
    </operations>
  </primitive>
</clone>"#
    )
}

/// (promoted nodes, unpromoted nodes) of primitive `id`.
fn roles(status: &ClusterStatus, id: &str) -> (Vec<String>, Vec<String>) {
    let mut promoted = Vec::new();
    let mut unpromoted = Vec::new();
    for r in status.resources.iter().filter(|r| r.id == id && r.active) {
        match r.role {
            Role::Promoted => promoted.extend(r.nodes.iter().cloned()),
            Role::Unpromoted => unpromoted.extend(r.nodes.iter().cloned()),
            _ => {}
        }
    }
    (promoted, unpromoted)
}

/// The role the simulated DRBD of `node` reports for `res` (through the node's `drbdsetup`,
/// i.e. the simulator on the node's PATH).
fn drbd_role(sb: &Sandbox, node: &str, res: &str) -> Option<String> {
    let out = sb
        .exec(node, &["drbdsetup", "events2", "--now", res])
        .ok()?;
    let text = out.stdout_str();
    let status = shared::drbd::parse_events2_now(&text, res).ok()??;
    Some(status.role.to_string())
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn simulated_drbd_promotable_clone_promotes_switches_over_and_fails_over_after_kill_node() {
    let sb = Sandbox::up(2, false);
    let bin = install_simulator(&sb);
    let id = unique_name("drbd");
    let res = id.clone();
    let conf = write_config(&sb, &res);
    sb.create_resource("sim1", &clone_xml(&id, &res, &conf));

    // One instance promoted, the other unpromoted; DRBD (simulated) agrees.
    let (first, other) = wait_for(Duration::from_secs(60), "one promoted instance", || {
        let s = sb.quorate_view(&[])?;
        let (p, u) = roles(&s, &id);
        (p.len() == 1 && u.len() == 1).then(|| (p[0].clone(), u[0].clone()))
    });
    assert_eq!(drbd_role(&sb, &first, &res).as_deref(), Some("Primary"));
    assert_eq!(drbd_role(&sb, &other, &res).as_deref(), Some("Secondary"));

    // Controlled switchover: the promoted role is banned from `first`, so Pacemaker demotes
    // it there and promotes `other`.
    let ban = format!("{id}-not-promoted-on-{first}");
    sb.exec_ok(
        "sim1",
        &[
            "cibadmin",
            "--create",
            "--scope",
            "constraints",
            "--xml-text",
            &format!(
                r#"<rsc_location id="{ban}" rsc="{id}-clone" node="{first}" role="Promoted" score="-INFINITY"/>"#
            ),
        ],
    );
    wait_for(Duration::from_secs(60), "the switchover", || {
        let s = sb.quorate_view(&[])?;
        let (p, u) = roles(&s, &id);
        (p == [other.clone()] && u == [first.clone()]).then_some(())
    });
    assert_eq!(drbd_role(&sb, &first, &res).as_deref(), Some("Secondary"));
    assert_eq!(drbd_role(&sb, &other, &res).as_deref(), Some("Primary"));
    let tasks = sb.history_tasks(&first, &id);
    assert!(tasks.iter().any(|t| t == "demote"), "{first}: {tasks:?}");
    sb.exec_ok(
        "sim1",
        &[
            "cibadmin",
            "--delete",
            "--xml-text",
            &format!(r#"<rsc_location id="{ban}"/>"#),
        ],
    );

    // Power failure of the promoted node (now `other`): `first` is promoted again.
    let (first, other) = (other, first);
    sb.kill_node(&first);
    wait_for(Duration::from_secs(90), "promotion on the survivor", || {
        let s = sb.quorate_view(&[&first])?;
        let (p, _) = roles(&s, &id);
        (p == [other.clone()]).then_some(())
    });
    assert_eq!(drbd_role(&sb, &other, &res).as_deref(), Some("Primary"));

    // Clean up: the node comes back, the clone is removed, the simulator state goes.
    sb.rejoin(&first);
    sb.exec_ok(
        &other,
        &[
            "crm_resource",
            "--resource",
            &format!("{id}-clone"),
            "--set-parameter",
            "target-role",
            "--meta",
            "--parameter-value",
            "Stopped",
        ],
    );
    wait_for(Duration::from_secs(60), "the clone to stop", || {
        let s = sb.crm_mon(&other).ok()?;
        s.resources
            .iter()
            .all(|r| r.id != id || !r.active)
            .then_some(())
    });
    assert_eq!(drbd_role(&sb, &other, &res), None, "stop took DRBD down");
    sb.exec_ok(
        &other,
        &[
            "cibadmin",
            "--delete",
            "--xml-text",
            &format!("<clone id=\"{id}-clone\"/>"),
        ],
    );
    let _ = std::fs::remove_dir_all(Path::new(SIM_DIR).join(&res));
    let _ = std::fs::remove_file(&conf);
    for tool in ["drbdadm", "drbdsetup"] {
        let _ = std::fs::remove_file(bin.join(tool));
    }
}
