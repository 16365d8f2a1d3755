//! Tests of [`super`] (the VM state from the CIB and crm_mon) on recorded outputs.

use super::*;
use shared::pacemaker::cib::history::forget_history;
use shared::pacemaker::status::ResourceStatus;

use crate::fragment;
use crate::vm::Settings;

const CIB: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/vm-mgr/cib-3nodes-idle.xml"
));
const MON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/vm-mgr/crm_mon-3nodes-idle.xml"
));

fn cib_with(name: &str, role: &str) -> Cib {
    let mut t = shared::xml::Element::parse(CIB, "t").unwrap();
    let f = fragment::build(
        &VmIds::new(name),
        &Settings::default(),
        &Default::default(),
        role,
    );
    fragment::insert(&mut t, &f, role).unwrap();
    Cib::parse(&t.to_xml()).unwrap()
}

fn mon_with(f: impl Fn(&mut ResourceStatus)) -> ClusterStatus {
    let mut mon = ClusterStatus::parse(MON).unwrap();
    for id in ["vmmgr-disk-a", "vmmgr-domain-a"] {
        let mut r = ResourceStatus {
            id: id.into(),
            resource_agent: "ocf:vmmgr:x".into(),
            managed: true,
            parent: Some("a".into()),
            ..ResourceStatus::default()
        };
        f(&mut r);
        mon.resources.push(r);
    }
    mon
}

#[test]
fn undefined_disabled_and_listing() {
    let cib = Cib::parse(CIB).unwrap();
    let mon = ClusterStatus::parse(MON).unwrap();
    assert_eq!(
        status_of("a", &cib, &mon, Some(false)).state,
        VmState::Undefined
    );
    assert_eq!(status_of("a", &cib, &mon, None).state, VmState::Undefined);
    assert_eq!(
        status_of("a", &cib, &mon, Some(true)).state,
        VmState::Disabled
    );
    assert!(cib_vms(&cib).is_empty());
    assert_eq!(cib_vms(&cib_with("a", "Started")), ["a"]);
}

#[test]
fn states_from_roles_and_target() {
    let started = cib_with("a", "Started");
    let stopped = cib_with("a", "Stopped");
    let running = |r: &mut ResourceStatus| {
        r.active = true;
        r.role = Role::Started;
        r.nodes = vec!["sim2".into()];
    };
    let s = status_of("a", &started, &mon_with(running), Some(true));
    assert_eq!(
        (s.state, s.node.as_deref()),
        (VmState::Started, Some("sim2"))
    );
    assert_eq!(s.constraints, ["vmmgr-ban-a"]);
    assert_eq!(s.target_role.as_deref(), Some("Started"));
    let s = status_of("a", &stopped, &mon_with(running), Some(true));
    assert_eq!(s.state, VmState::Stopping);
    let s = status_of("a", &stopped, &mon_with(|_| {}), Some(true));
    assert_eq!((s.state, s.node), (VmState::Stopped, None));
    let s = status_of("a", &started, &mon_with(|_| {}), Some(true));
    assert_eq!(s.state, VmState::Stopped);
    for (role, state) in [
        (Role::Starting, VmState::Starting),
        (Role::Stopping, VmState::Stopping),
        (Role::Migrating, VmState::Migrating),
    ] {
        let s = status_of("a", &started, &mon_with(|r| r.role = role.clone()), None);
        assert_eq!(s.state, state);
    }
    let s = status_of("a", &started, &mon_with(|r| r.failed = true), None);
    assert_eq!(s.state, VmState::Failed);
    let s = status_of("a", &started, &mon_with(|r| r.managed = false), None);
    assert_eq!(s.state, VmState::Unmanaged);
}

#[test]
fn failures_of_the_members_only() {
    let started = cib_with("a", "Started");
    let mut mon = mon_with(|_| {});
    let failure = |rsc: &str, task: &str, interval: u64| shared::pacemaker::status::Failure {
        op_key: format!("{rsc}_{task}_{interval}"),
        node: "sim1".into(),
        exitstatus: "error".into(),
        task: Some(task.into()),
        interval_ms: Some(interval),
        ..Default::default()
    };
    mon.failures = vec![
        failure("vmmgr-domain-a", "start", 0),
        failure("vmmgr-disk-a:1", "monitor", 10000),
        failure("vmmgr-domain-ab", "start", 0),
        failure("a2", "stop", 0),
    ];
    let s = status_of("a", &started, &mon, None);
    assert_eq!(
        s.failures,
        [
            "vmmgr-domain-a start on sim1: error",
            "vmmgr-disk-a:1 monitor on sim1: error"
        ]
    );
    assert_eq!(s.state, VmState::Failed);
    mon.failures.truncate(0);
    assert_eq!(status_of("a", &started, &mon, None).state, VmState::Stopped);
}

/// The recorded CIB with VM t1 started on sim2, as a tree.
fn t1_started() -> Element {
    Element::parse(
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/vm-mgr/cib-vm-t1-started.xml"
        )),
        "t",
    )
    .unwrap()
}

#[test]
fn history_of_the_members_is_found_in_the_status_section() {
    let started = t1_started();
    assert!(has_history(&started, "t1"));
    assert!(!has_history(&started, "t2"));
    let idle = Element::parse(CIB, "t").unwrap();
    assert!(!has_history(&idle, "t1"));
}

#[test]
fn a_stopped_is_only_known_where_every_member_has_history() {
    let started = t1_started();
    let all = ["sim1", "sim2", "sim3"];
    assert!(unknown_on(&started, "t1", &all).is_empty());
    // A node the CIB has no node_state for, and a VM nobody has probed.
    assert_eq!(unknown_on(&started, "t1", &["sim4"]), ["sim4"]);
    assert_eq!(unknown_on(&started, "t2", &all), all);

    // The recorded CIB with sim3's history of the domain gone, as when a rejoining node's
    // CIB copy replaced the status section and sim3 has not re-sent its history yet.
    let mut wiped = started.clone();
    assert!(forget_history(&mut wiped, "sim3", "vmmgr-domain-t1"));
    assert_eq!(unknown_on(&wiped, "t1", &all), ["sim3"]);
    // Some history is still there: that is all has_history asks.
    assert!(has_history(&wiped, "t1"));
}

/// The state reported after `enable --nostart` without asking the cluster is the one the
/// real `crm_mon` computes from the same CIB (through `CIB_file`).
#[test]
fn just_enabled_stopped_agrees_with_crm_mon_on_the_same_cib() {
    let mut tree = shared::xml::Element::parse(CIB, "t").unwrap();
    let settings = Settings {
        pinned_host: Some("sim1".into()),
        ..Settings::default()
    };
    let f = fragment::build(&VmIds::new("a"), &settings, &Default::default(), "Stopped");
    fragment::insert(&mut tree, &f, "Stopped").unwrap();
    assert!(!has_history(&tree, "a"));
    let dir = shared::tempdir::PrivateDir::new("vmmgr-state-test").unwrap();
    let file = dir.write("cib.xml", &tree.to_xml()).unwrap();
    let tools = shared::pacemaker::Tools::new(shared::pacemaker::Target::File(file));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mon = tools.crm_mon_xml(deadline).unwrap();
    let cib = tools.cib_query(deadline).unwrap();
    let by_crm_mon = status_of("a", &cib, &mon, Some(true));
    let ours = just_enabled_stopped("a", tree).unwrap();
    assert_eq!(ours.state, VmState::Stopped);
    assert_eq!(ours, by_crm_mon);
    assert!(
        ours.constraints.iter().any(|c| c == "vmmgr-pin-a"),
        "{ours:?}"
    );
}
