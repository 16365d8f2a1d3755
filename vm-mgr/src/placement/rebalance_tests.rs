//! rebalance's model and plan on the recorded 3-VM cluster (tests/fixtures/vm-mgr/placement/:
//! p1 live-migratable on sim2, p2 live on sim3, p3 pinned to sim3; rsc_defaults stickiness
//! 100), with the constraints vm-mgr's own edits add.

use shared::pacemaker::{Cib, ClusterStatus};
use shared::xml::Element;

use super::*;
use crate::placement::tests::{cib_of, fixture, mon, tree};
use crate::placement::{edit, Strategy};

/// The plan as "vm:from>to".
fn moves(cib: &Cib, mon: &ClusterStatus) -> Vec<String> {
    plan(cib, mon, 10, &[])
        .moves
        .iter()
        .map(|m| format!("{}:{}>{}", m.name, m.from, m.to))
        .collect()
}

fn vm<'a>(m: &'a Model, name: &str) -> &'a planner::Vm {
    m.vms.iter().find(|v| v.name == name).unwrap()
}

/// Balancing on: capacities 4 threads and 1024 MiB (sim3: `sim3_mib`), each VM's domain
/// 1 vCPU and `mib` MiB (instead of what the agent wrote).
fn balanced(t: &mut Element, sim3_mib: &str, mib: &str) {
    edit::set_property(t, STRATEGY_PROPERTY, Some("balanced")).unwrap();
    for n in ["sim1", "sim2", "sim3"] {
        let m = if n == "sim3" { sim3_mib } else { "1024" };
        edit::set_node_capacity(t, n, "cpu", Some("4")).unwrap();
        edit::set_node_capacity(t, n, "hv_memory", Some(m)).unwrap();
        edit::set_node_capacity(t, n, "host_memory", Some(m)).unwrap();
    }
    for v in ["p1", "p2", "p3"] {
        edit::set_vm_utilization(t, v, "cpu", "1").unwrap();
        edit::set_vm_utilization(t, v, "hv_memory", mib).unwrap();
        edit::set_vm_utilization(t, v, "host_memory", mib).unwrap();
    }
}

#[test]
fn the_model_counts_vms_without_a_strategy_and_moves_only_auto_vms() {
    let (cib, mon) = (cib_of(&tree()), mon());
    let m = model(&cib, &mon, &[]);
    assert_eq!(m.names, ["vms"]);
    assert!(!m.enforce_capacity);
    let names: Vec<&str> = m.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["sim1", "sim2", "sim3"]);
    let used: Vec<i64> = m.nodes.iter().map(|n| n.used[0]).collect();
    assert_eq!(used, [0, 1, 2]);
    assert!(m.nodes.iter().all(|n| n.accepts));
    assert!(vm(&m, "p1").movable && vm(&m, "p2").movable);
    assert!(!vm(&m, "p3").movable, "pinned");
    // p3's pin bans it everywhere but sim3.
    assert_eq!(vm(&m, "p3").allowed, [false, false, true]);
    // sim3 runs two, sim1 none: p2 goes (p3 is pinned there).
    assert_eq!(moves(&cib, &mon), ["p2:sim3>sim1"]);
    // Left out by the caller (a live run that moved it, or a refused move): nothing else helps.
    assert!(plan(&cib, &mon, 10, &["p2".into()]).moves.is_empty());
}

#[test]
fn capacities_and_utilization_weigh_and_bound_the_plan() {
    let mut t = tree();
    balanced(&mut t, "1024", "300");
    let (cib, mon) = (cib_of(&t), mon());
    let m = model(&cib, &mon, &[]);
    assert_eq!(m.names, ["cpu", "host_memory", "hv_memory"]);
    assert!(m.enforce_capacity);
    let sim3 = &m.nodes[2];
    assert_eq!(
        (sim3.capacity.clone(), sim3.used.clone()),
        (vec![4, 1024, 1024], vec![2, 600, 600])
    );
    assert_eq!(vm(&m, "p2").need, [1, 300, 300]);
    assert_eq!(moves(&cib, &mon), ["p2:sim3>sim1"]);
    // sim1 too small for 300 MiB (but for the used 0): nothing may go there, and moving p2 to
    // sim2 only swaps the load.
    let mut t = tree();
    balanced(&mut t, "1024", "300");
    edit::set_node_capacity(&mut t, "sim1", "hv_memory", Some("200")).unwrap();
    let m = model(&cib_of(&t), &mon, &[]);
    assert_eq!(m.nodes[0].capacity, [4, 1024, 200]);
    assert_eq!(moves(&cib_of(&t), &mon), Vec::<String>::new());
}

#[test]
fn strategies_and_preferences_hold_vms() {
    let mon = mon();
    // failover: stays.
    let mut t = tree();
    edit::set_strategy(&mut t, "p2", Strategy::Failover, None).unwrap();
    assert_eq!(moves(&cib_of(&t), &mon), Vec::<String>::new());
    // auto preferred on sim3 with INFINITY: Pacemaker would move it back, so it stays.
    let mut t = tree();
    edit::set_strategy(&mut t, "p2", Strategy::Auto, Some("sim3")).unwrap();
    let cib = cib_of(&t);
    assert_eq!(
        vm(&model(&cib, &mon, &[]), "p2").allowed,
        [false, false, true]
    );
    assert_eq!(moves(&cib, &mon), Vec::<String>::new());
    // auto with stickiness 0: Pacemaker places it by itself; rebalance leaves it.
    let mut t = tree();
    edit::set_strategy(&mut t, "p2", Strategy::Auto, None).unwrap();
    let cib = cib_of(&t);
    assert_eq!(vm(&model(&cib, &mon, &[]), "p2").allowed, [false; 3]);
    // A ban (crm_resource --ban) keeps it off sim1: nothing left that helps.
    let ban = r#"<rsc_location id="cli-ban-p2-on-sim1" rsc="p2" role="Started" node="sim1" score="-INFINITY"/>"#;
    let mut t = tree();
    t.child_mut("configuration")
        .and_then(|c| c.child_mut("constraints"))
        .unwrap()
        .children
        .push(Element::parse(ban, "t").unwrap());
    assert_eq!(moves(&cib_of(&t), &mon), Vec::<String>::new());
}

#[test]
fn colocations_keep_vms_apart_or_together() {
    let mon = mon();
    // p2 apart from p1: both ways in the model; p2 still goes to the empty sim1.
    let mut t = tree();
    edit::add_colocation(&mut t, "p2", "p1", true, "-INFINITY").unwrap();
    let cib = cib_of(&t);
    let m = model(&cib, &mon, &[]);
    let index = |n: &str| m.vms.iter().position(|v| v.name == n).unwrap();
    assert_eq!(vm(&m, "p2").apart, [index("p1")]);
    assert_eq!(vm(&m, "p1").apart, [index("p2")]);
    assert_eq!(moves(&cib, &mon), ["p2:sim3>sim1"]);
    // p2 with p1 (together): neither moves alone.
    let mut t = tree();
    edit::add_colocation(&mut t, "p2", "p1", false, "INFINITY").unwrap();
    let m = model(&cib_of(&t), &mon, &[]);
    assert!(!vm(&m, "p1").movable && !vm(&m, "p2").movable);
    assert_eq!(moves(&cib_of(&t), &mon), Vec::<String>::new());
}

#[test]
fn node_states_and_the_partition_hold_the_plan() {
    // sim1 in standby (recorded): no target there, and nothing else helps.
    let cib = Cib::parse(fixture!("cib-3vms-sim1-standby.xml")).unwrap();
    let standby = ClusterStatus::parse(fixture!("crm_mon-3vms-sim1-standby.xml")).unwrap();
    let m = model(&cib, &standby, &[]);
    assert!(!m.nodes[0].accepts && m.nodes[1].accepts);
    assert_eq!(moves(&cib, &standby), Vec::<String>::new());
    // Without quorum nothing may move, and the plan says why.
    let cib = cib_of(&tree());
    let mut lost = mon();
    lost.summary.dc.as_mut().unwrap().with_quorum = false;
    let p = plan(&cib, &lost, 10, &[]);
    assert!(p.moves.is_empty() && p.movable == 0);
    assert_eq!(
        p.held.as_deref(),
        Some("the cluster partition has no quorum")
    );
}
