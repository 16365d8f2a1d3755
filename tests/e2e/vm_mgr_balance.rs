//! Load-aware placement on the real 3-node sandbox: `balance --enable` with a reserve that
//! leaves sim3 small, one 512 MiB VM and four 64 MiB ones placed by Pacemaker's `balanced`
//! strategy (the big VM's node holds no other VM), a `migrate` that unbalances, `rebalance
//! --dry-run` proposing to undo it, `rebalance` doing it live (migrate_from, no constraint
//! left), then `balance --disable`: the cluster as found.
//!
//! Run: `VMMGR_SANDBOX_NAME=bal cargo test -p vmmgr-tests --test vm_mgr_balance -- --ignored
//! --test-threads=1` (after `cargo build`, so that the nodes see the current vm-mgr).

use std::time::Duration;

use shared::pacemaker::Cib;
use vmmgr_tests::{unique_name, vm_mgr, vm_mgr_ok, wait_for, Sandbox};

fn domain(name: &str) -> String {
    format!("vmmgr-domain-{name}")
}

/// Creates VM `name` with `mib` MiB of memory (the sandbox's diskless guest), live-migratable
/// over qemu+tcp.
fn create(sb: &Sandbox, name: &str, mib: u32) {
    let xml = format!("/var/tmp/vmmgr-e2e-{name}.xml");
    let guest = sb
        .guest_xml(name)
        .replace("'MiB'>64<", &format!("'MiB'>{mib}<"));
    assert!(
        guest.contains(&format!("<memory unit='MiB'>{mib}</memory>")),
        "{guest}"
    );
    std::fs::write(&xml, guest).expect("write the guest XML");
    let image = format!("/var/tmp/vmmgr-e2e-{name}.qcow2");
    sb.exec_ok(
        "sim1",
        &["qemu-img", "create", "-q", "-f", "qcow2", &image, "16M"],
    );
    let argv = vmmgr_tests::create_argv(
        name,
        &xml,
        &image,
        &[
            "--enable-live-migration",
            "--pacemaker-params",
            "migration_transport=tcp",
        ],
    );
    vm_mgr_ok(sb, "sim1", &argv);
}

/// Removes the VMs and turns balancing off, whatever happened (also when the test fails).
struct Cleanup<'a> {
    sb: &'a Sandbox,
    vms: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for name in &self.vms {
            let _ = vm_mgr(self.sb, "sim1", &["remove", "-n", name]);
            let _ = std::fs::remove_file(format!("/var/tmp/vmmgr-e2e-{name}.xml"));
            let _ = std::fs::remove_file(format!("/var/tmp/vmmgr-e2e-{name}.qcow2"));
        }
        let _ = vm_mgr(self.sb, "sim1", &["balance", "--disable"]);
    }
}

/// The single node VM `name` runs on.
fn node_of(sb: &Sandbox, name: &str) -> String {
    wait_for(Duration::from_secs(60), &format!("{name} to run"), || {
        let on = sb.running_on(&domain(name), &[]);
        (on.len() == 1).then(|| on[0].clone())
    })
}

/// `virsh nodeinfo` on sim1: (CPU threads, memory MiB). The nodes share the host, so every
/// node says the same.
fn nodeinfo(sb: &Sandbox) -> (u64, u64) {
    let out = sb.exec_ok("sim1", &["virsh", "nodeinfo"]);
    let field = |key: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("{key} in {out}"))
            .trim()
            .to_owned()
    };
    let cpus = field("CPU(s):").parse().unwrap();
    let kib: u64 = field("Memory size:")
        .trim_end_matches("KiB")
        .trim()
        .parse()
        .unwrap();
    (cpus, kib / 1024)
}

fn cib(sb: &Sandbox) -> Cib {
    Cib::parse(&sb.exec_ok("sim1", &["cibadmin", "--query"])).expect("the CIB parses")
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn balanced_placement_and_rebalance() {
    let sb = Sandbox::up(3, true);
    let (cpus, mib) = nodeinfo(&sb);
    // Five 1-vCPU VMs must fit in 3 nodes' CPU threads for the placement below.
    assert!(
        cpus >= 2,
        "the sandbox nodes have {cpus} CPU thread(s); this test needs 2"
    );
    let before = cib(&sb);
    assert_eq!(
        before.property("placement-strategy"),
        None,
        "balancing already on"
    );
    let mut guard = Cleanup {
        sb: &sb,
        vms: Vec::new(),
    };

    // Capacities: 1024 MiB on sim1 and sim2, 600 MiB on sim3.
    let big_reserve = format!("{}M", mib - 1024);
    let small_node = format!("sim3={}M", mib - 600);
    let out = vm_mgr_ok(
        &sb,
        "sim1",
        &[
            "--output",
            "json",
            "balance",
            "--enable",
            "--libvirt-uri",
            "qemu+tcp://%n/system",
            "--reserve-memory",
            &big_reserve,
            "--reserve-memory",
            &small_node,
        ],
    );
    let nodes = json(&out)["nodes"].clone();
    assert_eq!(nodes[0]["source"], "qemu+tcp://sim1/system", "{out}");
    let now = cib(&sb);
    assert_eq!(now.property("placement-strategy"), Some("balanced"));
    let mem = |n: &str| now.node(n).unwrap().utilization.get("hv_memory").cloned();
    assert_eq!(
        [mem("sim1"), mem("sim2"), mem("sim3")],
        [Some("1024".into()), Some("1024".into()), Some("600".into())]
    );

    let big = unique_name("big");
    guard.vms.push(big.clone());
    create(&sb, &big, 512);
    let smalls: Vec<String> = (0..4).map(|_| unique_name("small")).collect();
    for s in &smalls {
        guard.vms.push(s.clone());
        create(&sb, s, 64);
    }
    let big_node = node_of(&sb, &big);
    assert_ne!(big_node, "sim3", "512 MiB went to the small node");
    for s in &smalls {
        assert_ne!(node_of(&sb, s), big_node, "{s} beside the big VM");
    }
    let info = json(&vm_mgr_ok(&sb, "sim1", &["--output", "json", "info"]));
    let entry = info["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == big_node.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["vm_count"], 1, "{info}");
    assert_eq!(entry["used"]["hv_memory"], 512, "{info}");
    assert_eq!(entry["free"]["hv_memory"], 512, "{info}");
    assert!(
        entry["address"].as_str().unwrap().starts_with("10.78.0."),
        "{info}"
    );
    assert_eq!(info["warnings"].as_array().unwrap().len(), 0, "{info}");

    // Unbalance: a small VM next to the big one (it fits there).
    let moved = &smalls[0];
    let home = node_of(&sb, moved);
    vm_mgr_ok(&sb, "sim1", &["migrate", "-n", moved, "--node", &big_node]);
    assert_eq!(node_of(&sb, moved), big_node);

    let plan = json(&vm_mgr_ok(
        &sb,
        "sim1",
        &["--output", "json", "rebalance", "--dry-run"],
    ));
    let proposed = plan["moves"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == moved.as_str())
        .unwrap_or_else(|| panic!("no move of {moved} in {plan}"))
        .clone();
    assert_eq!(proposed["from"], big_node.as_str(), "{plan}");
    assert_eq!(node_of(&sb, moved), big_node, "the dry run moved it");

    let done = json(&vm_mgr_ok(&sb, "sim1", &["--output", "json", "rebalance"]));
    let moves = done["moves"].as_array().unwrap();
    assert!(!moves.is_empty(), "{done}");
    for m in moves {
        let (name, to) = (m["name"].as_str().unwrap(), m["to"].as_str().unwrap());
        assert_eq!(m["how"], "live", "{done}");
        assert_eq!(node_of(&sb, name), to, "{done}");
        let tasks = sb.history_tasks(to, &domain(name));
        assert!(
            tasks.iter().any(|t| t == "migrate_from"),
            "{name}: {tasks:?}"
        );
    }
    let after = node_of(&sb, moved);
    assert_ne!(after, big_node, "{done}");
    eprintln!("{moved}: {home} → {big_node} (migrate) → {after} (rebalance)");
    for s in &smalls {
        assert_ne!(node_of(&sb, s), node_of(&sb, &big), "{s} beside the big VM");
    }
    let constraints = sb.exec_ok("sim1", &["cibadmin", "--query", "--scope", "constraints"]);
    assert!(!constraints.contains("vmmgr-move-"), "{constraints}");
    // Balanced now: nothing more to do.
    let again = json(&vm_mgr_ok(
        &sb,
        "sim1",
        &["--output", "json", "rebalance", "--dry-run"],
    ));
    assert_eq!(again["moves"], serde_json::json!([]), "{again}");

    // As found: no VM, no strategy, no capacity.
    drop(guard);
    let end = cib(&sb);
    assert_eq!(end.property("placement-strategy"), None);
    for n in &end.nodes {
        assert!(n.utilization.is_empty(), "{}: {:?}", n.uname, n.utilization);
    }
}
