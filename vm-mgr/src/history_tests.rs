use super::*;

/// Recorded on the sandbox (`crm_mon --output-as=xml`, node time zone UTC): VM hist1 created
/// (started on sim2), live-migrated to sim3, then sim3 killed (`sandbox kill-node`): fenced,
/// hist1 started again on sim2.
const FAILOVER: &str = include_str!("../../tests/fixtures/vm-mgr/crm_mon-history-failover.xml");

fn mon() -> ClusterStatus {
    ClusterStatus::parse(FAILOVER).unwrap()
}

fn utc(s: &str) -> i64 {
    shared::clock::parse_pacemaker_time_utc(s).unwrap()
}

const UTC: TimeParser = shared::clock::parse_pacemaker_time_utc;

#[test]
fn a_migration_then_a_failover_in_order() {
    let m = mon();
    let mut events = pacemaker_events("hist1", &m, UTC);
    let nodes = nodes_of("hist1", &m, &["sim2".to_owned()]);
    assert_eq!(nodes.into_iter().collect::<Vec<_>>(), ["sim2"]);
    events.extend(fencing_events(&nodes_of("hist1", &m, &[]), &m, UTC));
    let t = timeline(events, None);
    let seen: Vec<(&str, &str, &str)> = t
        .iter()
        .map(|e| (e.source, e.node.as_deref().unwrap(), e.event.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("pacemaker", "sim2", "migrate_to"),
            ("fencing", "sim3", "fenced"),
            ("pacemaker", "sim2", "start"),
        ]
    );
    assert_eq!(t[0].time, utc("Thu Dec  3 11:26:44 2026"));
    assert_eq!(t[0].detail, "ok (vmmgr-domain-hist1, 1566 ms)");
    assert_eq!(t[1].time, utc("2026-12-03 11:27:02Z"));
    assert_eq!(t[1].detail, "reboot of sim3 by sim1, asked by sim1");
    assert_eq!(t[2].time, utc("Thu Dec  3 11:27:06 2026"));
    // --since drops what came before.
    let later = timeline(t.clone(), Some(t[1].time));
    assert_eq!(later.len(), 2);
    assert_eq!(later[0].event, "fenced");
    // Another VM has none of these operations (the fencing is every node's).
    assert!(pacemaker_events("other", &m, UTC).is_empty());
}

#[test]
fn vm_mgr_lines_of_the_vm_from_the_journal() {
    let entries = shared::journal::parse_json_lines(include_str!(
        "../../tests/fixtures/journal/vm-mgr-json.txt"
    ));
    let e = vm_mgr_events("web1", &entries);
    assert_eq!(e.len(), 3);
    assert_eq!((e[0].event.as_str(), e[0].time), ("create", 1_796_382_001));
    assert_eq!(e[0].node.as_deref(), Some("hv1"));
    assert_eq!(e[1].event, "migrate");
    assert!(e[1].detail.contains("user=\"ops\""), "{}", e[1].detail);
    assert!(vm_mgr_events("web2", &entries).is_empty());
    // At the same second, vm-mgr's change comes before what Pacemaker did.
    let pcmk = Event {
        time: e[1].time,
        source: "pacemaker",
        node: None,
        event: "migrate_to".into(),
        detail: String::new(),
    };
    let t = timeline(vec![pcmk, e[1].clone()], None);
    assert_eq!(t[0].source, "vm-mgr");
}

#[test]
fn vm_mgr_lines_recorded_from_a_sandbox_nodes_journal() {
    // Recorded on sandbox node sim1 after e2e vm_mgr_history (create, set-placement, migrate,
    // a refused migrate, remove, and the scenario's cleanup removing it again).
    let entries = shared::journal::parse_json_lines(include_str!(
        "../../tests/fixtures/journal/vm-mgr-json-sandbox.txt"
    ));
    let e = vm_mgr_events("hi8145x0", &entries);
    let verbs: Vec<&str> = e.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        verbs,
        [
            "create",
            "set-placement",
            "migrate",
            "migrate",
            "remove",
            "remove"
        ]
    );
    assert!(e.iter().all(|e| e.node.as_deref() == Some("sim1")));
    assert!(e.windows(2).all(|w| w[0].time <= w[1].time));
    assert!(
        e[3].detail.contains("nosuch is not a node of the cluster"),
        "{}",
        e[3].detail
    );
    // the hand-made line with a byte that is not UTF-8 names another VM
    assert!(vm_mgr_events("bad", &entries).len() == 1);
}
