//! Placement: pure edits, strategy derivation, preflight decisions on recorded CIB/crm_mon
//! pairs (tests/fixtures/vm-mgr/placement/: p1 live-migratable on sim2, p2 live on sim3, p3
//! pinned to sim3). The crm_simulate parser's test is in shared::pacemaker::simulate.

use shared::pacemaker::{Cib, ClusterStatus};
use shared::xml::Element;

use super::preflight::{check, remote_uri};
use super::*;

/// A recorded fixture of tests/fixtures/vm-mgr/placement/.
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/vm-mgr/placement/",
            $name
        ))
    };
}
pub(super) use fixture;

const CIB: &str = fixture!("cib-3vms.xml");
const MON: &str = fixture!("crm_mon-3vms.xml");

/// The recorded CIB's tree (also for `rebalance`'s tests).
pub(super) fn tree() -> Element {
    Element::parse(CIB, "t").unwrap()
}

/// The CIB of a tree.
pub(super) fn cib_of(t: &Element) -> Cib {
    Cib::parse(&t.to_xml()).unwrap()
}

/// The recorded crm_mon.
pub(super) fn mon() -> ClusterStatus {
    ClusterStatus::parse(MON).unwrap()
}

fn checks(cib: &Cib, mon: &ClusterStatus, vm: &str, node: &str, live: bool) -> Vec<&'static str> {
    check(cib, mon, vm, node, live)
        .blockers
        .iter()
        .map(|b| b.check)
        .collect()
}

#[test]
fn colocation_constraints_are_built_and_replaced() {
    let c = edit::colocation("p1", "p2", true, "-INFINITY");
    assert_eq!(
        c.to_xml().trim(),
        r#"<rsc_colocation id="vmmgr-anti-p1.p2" rsc="p1" with-rsc="p2" score="-INFINITY"/>"#
    );
    let mut t = tree();
    assert!(edit::add_colocation(&mut t, "p1", "p2", false, "700").unwrap());
    assert!(!edit::add_colocation(&mut t, "p1", "p2", false, "700").unwrap());
    // The opposite kind of the same pair replaces it.
    assert!(edit::add_colocation(&mut t, "p1", "p2", true, "-INFINITY").unwrap());
    let cib = cib_of(&t);
    assert!(cib.constraints.colocation("vmmgr-colo-p1.p2").is_none());
    assert!(cib.constraints.colocation("vmmgr-anti-p1.p2").is_some());
    let p = placement_of(&t, Some(&cib), "p1").unwrap();
    assert_eq!(p.colocations.len(), 1);
    assert_eq!(
        (p.colocations[0].kind, p.colocations[0].with.as_str()),
        ("apart", "p2")
    );
    assert!(edit::add_colocation(&mut t, "p1", "nosuch", false, "1").is_err());
    edit::add_colocation(&mut t, "p1", "p3", false, "5").unwrap();
    assert_eq!(
        edit::remove_colocations(&mut t, "p1", &["p2".into()]).unwrap(),
        ["vmmgr-anti-p1.p2"]
    );
    assert_eq!(
        edit::remove_colocations(&mut t, "p1", &[]).unwrap(),
        ["vmmgr-colo-p1.p3"]
    );
}

#[test]
fn strategies_round_trip_through_the_cib() {
    let mut t = tree();
    let cib = cib_of(&t);
    let p3 = placement_of(&t, Some(&cib), "p3").unwrap();
    assert_eq!(
        (p3.strategy, p3.node.as_deref()),
        (Strategy::Pinned, Some("sim3"))
    );
    let p1 = placement_of(&t, Some(&cib), "p1").unwrap();
    assert_eq!(
        (p1.strategy, p1.stickiness.as_str()),
        (Strategy::Auto, "100")
    );
    assert!(placement_of(&t, None, "nosuch").is_none());

    edit::set_strategy(&mut t, "p3", Strategy::Failover, Some("sim1")).unwrap();
    let cib = cib_of(&t);
    let p3 = placement_of(&t, Some(&cib), "p3").unwrap();
    assert_eq!(
        (p3.strategy, p3.node.as_deref()),
        (Strategy::Failover, Some("sim1"))
    );
    assert_eq!(p3.stickiness, "INFINITY");
    let prefer = cib.constraints.location("vmmgr-prefer-p3").unwrap();
    assert_eq!(prefer.score.unwrap().0, 100);
    assert!(cib.constraints.location("vmmgr-pin-p3").is_none());

    edit::set_strategy(&mut t, "p3", Strategy::Auto, None).unwrap();
    let cib = cib_of(&t);
    let p3 = placement_of(&t, Some(&cib), "p3").unwrap();
    assert_eq!(
        (p3.strategy, p3.node, p3.stickiness.as_str()),
        (Strategy::Auto, None, "0")
    );
    assert!(cib.constraints.location("vmmgr-prefer-p3").is_none());

    edit::set_strategy(&mut t, "p1", Strategy::Pinned, Some("sim2")).unwrap();
    assert!(!edit::set_strategy(&mut t, "p1", Strategy::Pinned, Some("sim2")).unwrap());
    let cib = cib_of(&t);
    assert_eq!(
        placement_of(&t, Some(&cib), "p1").unwrap().summary(),
        "pinned (node sim2)"
    );
}

#[test]
fn an_old_pin_still_pins_and_is_rewritten_into_the_pair_seapaths_plugin_reads() {
    // p3 was pinned (recorded) before `.home` existed: the rule alone.
    let mut t = tree();
    let cib = cib_of(&t);
    assert!(cib.constraints.location("vmmgr-pin-p3.home").is_none());
    let p3 = placement_of(&t, Some(&cib), "p3").unwrap();
    assert_eq!(
        (p3.strategy, p3.node.as_deref()),
        (Strategy::Pinned, Some("sim3"))
    );
    assert_eq!(checks(&cib, &mon(), "p3", "sim1", false), ["pinned"]);
    // Setting the same placement again adds the INFINITY line on the node, nothing else.
    assert!(edit::set_strategy(&mut t, "p3", Strategy::Pinned, Some("sim3")).unwrap());
    assert!(!edit::set_strategy(&mut t, "p3", Strategy::Pinned, Some("sim3")).unwrap());
    let home = tree::constraint(&t, "vmmgr-pin-p3.home").unwrap();
    assert_eq!(
        home.to_xml().trim(),
        r#"<rsc_location id="vmmgr-pin-p3.home" rsc="p3" node="sim3" score="INFINITY" resource-discovery="always"/>"#
    );
    let cib = cib_of(&t);
    assert!(cib.constraints.location("vmmgr-pin-p3").is_some());
    let p3 = placement_of(&t, Some(&cib), "p3").unwrap();
    assert_eq!(p3.node.as_deref(), Some("sim3"));
    // Same decisions as before: still "pinned" only (the home is no "moves back" warning).
    let pf = check(&cib, &mon(), "p3", "sim1", false);
    assert_eq!(checks(&cib, &mon(), "p3", "sim1", false), ["pinned"]);
    assert!(
        !pf.warnings.iter().any(|w| w.check == "moves-back"),
        "{:?}",
        pf.warnings
    );
    // Another strategy takes both away.
    edit::set_strategy(&mut t, "p3", Strategy::Auto, Some("sim1")).unwrap();
    let cib = cib_of(&t);
    assert!(cib.constraints.location("vmmgr-pin-p3").is_none());
    assert!(cib.constraints.location("vmmgr-pin-p3.home").is_none());
    assert_eq!(
        tree::constraint(&t, "vmmgr-prefer-p3")
            .unwrap()
            .attr("resource-discovery"),
        Some("always")
    );
}

/// The move constraint's preference rule for sim1 until 2030 (as `to_xml` prints it, each line
/// trimmed).
const TO_SIM1: &str = concat!(
    r#"<rule id="vmmgr-move-p1.to" score="INFINITY" boolean-op="and">"#,
    r##"<expression id="vmmgr-move-p1.to.node" attribute="#uname" operation="eq" value="sim1"/>"##,
    r#"<date_expression id="vmmgr-move-p1.to.until" operation="lt" end="2030-01-01 00:00:00Z"/>"#,
    r#"</rule>"#,
);

/// `e` as XML on one line (each line of `to_xml` trimmed).
fn flat(e: &shared::xml::Element) -> String {
    e.to_xml().lines().map(str::trim).collect()
}

#[test]
fn move_constraint_expires_and_is_removed() {
    // The whole shape, strictly: INFINITY on the target and -INFINITY on the source alone,
    // each until the end date; no rule that forbids a third node.
    let m = edit::move_constraint("p1", "sim1", Some("sim2"), "2030-01-01 00:00:00Z");
    assert_eq!(
        flat(&m),
        format!(
            "{}{TO_SIM1}{}",
            r#"<rsc_location id="vmmgr-move-p1" rsc="p1">"#,
            concat!(
                r#"<rule id="vmmgr-move-p1.from" score="-INFINITY" boolean-op="and">"#,
                r##"<expression id="vmmgr-move-p1.from.node" attribute="#uname" operation="eq" value="sim2"/>"##,
                r#"<date_expression id="vmmgr-move-p1.from.until" operation="lt" end="2030-01-01 00:00:00Z"/>"#,
                r#"</rule>"#,
                r#"</rsc_location>"#,
            )
        )
    );
    assert!(!m.to_xml().contains(r#"operation="ne""#));
    let mut t = tree();
    assert!(edit::put_move(&mut t, "p1", "sim1", Some("sim2"), "2030-01-01 00:00:00Z").unwrap());
    assert_eq!(
        placement_of(&t, None, "p1")
            .unwrap()
            .move_constraint
            .as_deref(),
        Some("vmmgr-move-p1")
    );
    assert!(edit::remove_move(&mut t, "p1").unwrap());
    assert!(!edit::remove_move(&mut t, "p1").unwrap());
    assert_eq!(t, tree());
}

#[test]
fn a_move_constraint_without_a_source_only_prefers_the_target() {
    // A stopped VM (offline move) has no source to ban: the preference alone.
    let stopped = edit::move_constraint("p1", "sim1", None, "2030-01-01 00:00:00Z");
    assert_eq!(
        flat(&stopped),
        format!(r#"<rsc_location id="vmmgr-move-p1" rsc="p1">{TO_SIM1}</rsc_location>"#)
    );
    // The target is never banned, even if named as the source.
    assert_eq!(
        edit::move_constraint("p1", "sim1", Some("sim1"), "2030-01-01 00:00:00Z"),
        stopped
    );
}

#[test]
fn preflight_on_the_recorded_cluster() {
    let cib = Cib::parse(CIB).unwrap();
    let mon = mon();
    let ok = check(&cib, &mon, "p1", "sim1", true);
    assert!(ok.blockers.is_empty(), "{:?}", ok.blockers);
    assert_eq!(ok.source.as_deref(), Some("sim2"));
    assert!(ok.live_capable);
    assert!(check(&cib, &mon, "p1", "sim2", true).already_there);
    // p3: pinned to sim3, no live migration.
    assert_eq!(
        checks(&cib, &mon, "p3", "sim1", true),
        ["not-live-migratable", "pinned"]
    );
    assert_eq!(checks(&cib, &mon, "p3", "sim1", false), ["pinned"]);
    assert_eq!(checks(&cib, &mon, "p1", "nosuch", true), ["unknown-node"]);
}

#[test]
fn preflight_sees_node_states() {
    let cib = Cib::parse(fixture!("cib-3vms-sim1-standby.xml")).unwrap();
    let standby = ClusterStatus::parse(fixture!("crm_mon-3vms-sim1-standby.xml")).unwrap();
    assert_eq!(
        checks(&cib, &standby, "p1", "sim1", true),
        ["target-standby"]
    );
    let cib = Cib::parse(CIB).unwrap();
    let mut m = mon();
    m.nodes
        .iter_mut()
        .find(|n| n.name == "sim1")
        .unwrap()
        .online = false;
    let p = check(&cib, &m, "p1", "sim1", true);
    assert_eq!(p.blockers[0].message, "node sim1 is offline");
    // A killed node still shows its VMs until it is fenced: not "already there".
    m.nodes
        .iter_mut()
        .find(|n| n.name == "sim2")
        .unwrap()
        .online = false;
    let p = check(&cib, &m, "p1", "sim2", true);
    assert!(!p.already_there);
    assert_eq!(p.blockers[0].check, "target-offline");
}

#[test]
fn preflight_names_the_constraint_that_blocks() {
    let mon = mon();
    let mut t = tree();
    edit::add_colocation(&mut t, "p1", "p2", true, "-INFINITY").unwrap();
    let cib = cib_of(&t);
    let p = check(&cib, &mon, "p1", "sim3", true);
    assert_eq!(p.blockers[0].check, "anti-colocation");
    assert!(
        p.blockers[0].message.contains("vmmgr-anti-p1.p2"),
        "{:?}",
        p.blockers
    );
    assert!(check(&cib, &mon, "p1", "sim1", true).blockers.is_empty());
    // The other side is told it pushes p1 away.
    let p = check(&cib, &mon, "p2", "sim2", true);
    assert_eq!(
        p.warnings.iter().map(|w| w.check).collect::<Vec<_>>(),
        ["pushed-away"]
    );

    let mut t = tree();
    edit::add_colocation(&mut t, "p1", "p2", false, "INFINITY").unwrap();
    let banned = Element::parse(
        r#"<rsc_location id="cli-ban-p1-on-sim1" rsc="p1" role="Started" node="sim1" score="-INFINITY"/>"#,
        "t",
    )
    .unwrap();
    t.child_mut("configuration")
        .and_then(|c| c.child_mut("constraints"))
        .unwrap()
        .children
        .push(banned);
    let cib = cib_of(&t);
    let p = check(&cib, &mon, "p1", "sim1", true);
    let found: Vec<_> = p.blockers.iter().map(|b| b.check).collect();
    assert_eq!(found, ["banned", "colocation"], "{:?}", p.blockers);
    assert!(p.blockers[0].message.contains("cli-ban-p1-on-sim1"));
    assert!(p.blockers[1].message.contains("which runs on sim3"));
    assert_eq!(p.warnings[0].check, "cli-constraint");
}

#[test]
fn preflight_checks_utilization_when_the_cluster_places_by_it() {
    let mut t = tree();
    let conf = t.child_mut("configuration").unwrap();
    let props = conf
        .child_mut("crm_config")
        .and_then(|c| c.child_mut("cluster_property_set"))
        .unwrap();
    let nv = Element::parse(
        r#"<nvpair id="ps" name="placement-strategy" value="utilization"/>"#,
        "t",
    )
    .unwrap();
    props.children.push(nv);
    for node in &mut conf.child_mut("nodes").unwrap().children {
        let u = Element::parse(
            &format!(
                r#"<utilization id="u-{0}"><nvpair id="u-{0}-m" name="memory" value="1024"/></utilization>"#,
                node.attr("id").unwrap()
            ),
            "t",
        )
        .unwrap();
        node.children.push(u);
    }
    let dom = t.find_id_mut("vmmgr-domain-p1").unwrap();
    dom.children.push(
        Element::parse(
            r#"<utilization id="du"><nvpair id="du-m" name="memory" value="2048"/></utilization>"#,
            "t",
        )
        .unwrap(),
    );
    let cib = cib_of(&t);
    let p = check(&cib, &mon(), "p1", "sim1", true);
    // The agent's own utilization (cpu, hv_memory ...) finds no capacity on the nodes either:
    // Pacemaker counts a capacity that is not set as 0.
    let msgs: Vec<&str> = p.blockers.iter().map(|b| b.message.as_str()).collect();
    assert!(msgs.contains(
        &"sim1 has 1024 of memory free (capacity 1024, placement-strategy=utilization); p1 needs 2048"
    ), "{msgs:?}");
    assert!(p.blockers.iter().all(|b| b.check == "utilization"));
}

#[test]
fn remote_uri_follows_the_agent() {
    let cib = Cib::parse(CIB).unwrap();
    assert_eq!(remote_uri(&cib, "p1", "sim3"), "qemu+tcp://sim3/system");
    assert_eq!(remote_uri(&cib, "p3", "sim1"), "qemu://sim1/system");
}

#[test]
fn clone_partners_are_the_clones_a_vm_must_run_with() {
    let mut t = tree();
    // p1 must run with p2 (a VM, not a clone: not waited for) and with a mount clone.
    edit::add_colocation(&mut t, "p1", "p2", false, "INFINITY").unwrap();
    let conf = t.child_mut("configuration").unwrap();
    conf.child_mut("resources").unwrap().children.push(
        Element::parse(
            r#"<clone id="store-clone"><primitive id="store" class="ocf" provider="heartbeat" type="Filesystem"/></clone>"#,
            "t",
        )
        .unwrap(),
    );
    for c in [
        r#"<rsc_colocation id="vmmgr-with-p1" rsc="p1" with-rsc="store-clone" score="INFINITY"/>"#,
        r#"<rsc_colocation id="soft-p3" rsc="p3" with-rsc="store-clone" score="100"/>"#,
    ] {
        conf.child_mut("constraints")
            .unwrap()
            .children
            .push(Element::parse(c, "t").unwrap());
    }
    let cib = cib_of(&t);
    assert_eq!(preflight::clone_partners(&cib, "p1"), ["store-clone"]);
    // a score below INFINITY does not hold the VM back; p2 is on the other side
    assert!(preflight::clone_partners(&cib, "p3").is_empty());
    assert!(preflight::clone_partners(&cib, "p2").is_empty());
}
