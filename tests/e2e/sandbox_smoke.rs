//! Smoke test of the harness on the real stack: a 3-node sandbox with Ceph comes up, a tiny KVM
//! guest under Pacemaker (the stock `ocf:heartbeat:VirtualDomain`, the reference our own agent
//! replaces) live-migrates on a move and is restarted on a survivor after its node is killed and
//! fenced, and `sandbox down` leaves nothing behind.
//!
//! Run by `tests/run-all` (root): `cargo test -p vmmgr-tests --test sandbox_smoke -- --ignored`.

use std::path::Path;
use std::time::{Duration, Instant};

use shared::pacemaker::Cib;
use vmmgr_tests::{unique_name, wait_for, Sandbox};

fn primitive_xml(id: &str, config: &str) -> String {
    format!(
        r#"<primitive id="{id}" class="ocf" provider="heartbeat" type="VirtualDomain">
  <instance_attributes id="{id}-ia">
    <nvpair id="{id}-config" name="config" value="{config}"/>
    <nvpair id="{id}-hypervisor" name="hypervisor" value="qemu:///system"/>
    <nvpair id="{id}-migration_transport" name="migration_transport" value="tcp"/>
    <nvpair id="{id}-force_stop" name="force_stop" value="true"/>
  </instance_attributes>
  <meta_attributes id="{id}-meta"><nvpair id="{id}-allow-migrate" name="allow-migrate" value="true"/></meta_attributes>
  <operations>
    <op id="{id}-start-0" name="start" timeout="90s" interval="0"/>
    <op id="{id}-stop-0" name="stop" timeout="90s" interval="0"/>
    <op id="{id}-monitor-10s" name="monitor" interval="10s" timeout="30s"/>
    <op id="{id}-migrate_to-0" name="migrate_to" timeout="120s" interval="0"/>
    <op id="{id}-migrate_from-0" name="migrate_from" timeout="60s" interval="0"/>
  </operations>
</primitive>"#
    )
}

/// What libvirt on `node` says of domain `name` (`virsh domstate`), or None if it has none.
fn domstate(sb: &Sandbox, node: &str, name: &str) -> Option<String> {
    let out = sb.exec(node, &["virsh", "-q", "domstate", name]).ok()?;
    out.status
        .success()
        .then(|| out.stdout_str().trim().to_string())
}

/// libvirt creates a domain paused and resumes it a moment later: wait for "running".
fn wait_running(sb: &Sandbox, node: &str, name: &str) {
    wait_for(Duration::from_secs(10), "the domain to run", || {
        (domstate(sb, node, name).as_deref() == Some("running")).then_some(())
    });
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn three_nodes_ceph_live_migration_fencing_and_clean_teardown() {
    let t0 = Instant::now();
    let sb = Sandbox::up(3, true);
    eprintln!("sandbox up in {:?}", t0.elapsed());

    // All three nodes online, one partition with quorum, fencing enabled.
    let st = sb.crm_mon("sim1").expect("crm_mon on sim1");
    let online: Vec<&str> = st.online_nodes().map(|n| n.name.as_str()).collect();
    assert_eq!(online, ["sim1", "sim2", "sim3"], "online nodes");
    assert!(st.is_quorate(), "partition has quorum");
    assert!(st.summary.stonith_enabled(), "fencing is on");

    // `up` again is idempotent: the same node processes keep running.
    let pids = |sb: &Sandbox| sb.exec_ok("sim2", &["pgrep", "-x", "pacemakerd"]);
    let before = pids(&sb);
    let t1 = Instant::now();
    let sb = Sandbox::up(3, true);
    assert!(t1.elapsed() < Duration::from_secs(10), "re-up is quick");
    assert_eq!(pids(&sb), before, "re-up kept the running cluster");

    // Ceph: every node reaches the same cluster with default client settings.
    let img = unique_name("smoke");
    sb.exec_ok(
        "sim1",
        &["rbd", "create", "--size", "8M", &format!("rbd/{img}")],
    );
    let listed = sb.exec_ok("sim3", &["rbd", "ls", "--format", "json"]);
    assert!(
        listed.contains(&format!("\"{img}\"")),
        "sim3 sees {img}: {listed}"
    );
    sb.exec_ok(
        "sim2",
        &["rbd", "rm", "--no-progress", &format!("rbd/{img}")],
    );

    // A tiny KVM guest under Pacemaker.
    let vm = unique_name("smokevm");
    let config = format!("{}/{vm}.xml", sb.env_var("SANDBOX_SHARED"));
    std::fs::write(&config, sb.guest_xml(&vm)).expect("write guest XML");
    sb.create_resource("sim1", &primitive_xml(&vm, &config));
    let src = wait_for(Duration::from_secs(60), "the guest to start", || {
        sb.running_on(&vm, &[]).first().cloned()
    });
    wait_running(&sb, &src, &vm);

    // Live migration on a move: the target's history shows migrate_from, not a start.
    let dst = if src == "sim1" { "sim2" } else { "sim1" };
    sb.move_and_wait(&vm, &vm, dst, Duration::from_secs(60));
    let tasks = sb.history_tasks(dst, &vm);
    assert!(
        tasks.iter().any(|t| t == "migrate_from"),
        "{dst} history: {tasks:?}"
    );
    assert!(
        !tasks.iter().any(|t| t == "start"),
        "{dst} history: {tasks:?}"
    );
    wait_running(&sb, dst, &vm);
    assert_eq!(domstate(&sb, &src, &vm), None, "gone from {src}");
    let cib = Cib::parse(&sb.exec_ok("sim1", &["cibadmin", "--query"])).expect("CIB");
    assert!(
        cib.constraints_for(&vm).is_empty(),
        "no constraint left after --clear: {:?}",
        cib.constraints_for(&vm)
    );

    // Power failure of the guest's node: fenced, guest restarted on a survivor.
    let t2 = Instant::now();
    sb.kill_node(dst);
    let survivor = wait_for(Duration::from_secs(90), "recovery on a survivor", || {
        let on = sb.running_on(&vm, &[dst]);
        (on.len() == 1 && on[0] != dst).then(|| on[0].clone())
    });
    eprintln!("recovered on {survivor} {:?} after the kill", t2.elapsed());
    wait_running(&sb, &survivor, &vm);
    let fenced = sb.exec_ok(
        &survivor,
        &["stonith_admin", "--history", dst, "--output-as=xml"],
    );
    assert!(
        fenced.contains(&format!("target=\"{dst}\"")) && fenced.contains("status=\"success\""),
        "fencing of {dst} recorded: {fenced}"
    );

    // The node comes back and rejoins.
    sb.rejoin(dst);

    // Teardown leaves no namespace, process, mount or state directory.
    let base = sb.env_var("SANDBOX_BASE");
    let prefix = format!("{}-", sb.env_var("SANDBOX_NAME"));
    sb.down();
    let netns = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&prefix))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    assert!(netns.is_empty(), "namespaces left: {netns:?}");
    assert!(!Path::new(&base).exists(), "{base} left behind");
    // (other sandboxes may run beside this one: match this one's directory exactly)
    let ours = format!("{base}/");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&ours), "mounts of {base} left");
    let procs: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&ours))
        .collect();
    assert!(procs.is_empty(), "processes left: {procs:?}");
    eprintln!("smoke test done in {:?}", t0.elapsed());
}
