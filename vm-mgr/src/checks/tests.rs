//! The checks on a CIB recorded on the sandbox with problems planted by hand (see
//! `tests/fixtures/vm-mgr/README.md`): a `crm_resource --ban`, a `vmmgr-prefer` constraint on a
//! resource that is not a VM, a move constraint that ended, and a failure of
//! `crm_resource --fail` (fail-count and failed action); the status comes from the real
//! `crm_mon` on the same CIB (`CIB_file`). Storage is the in-memory stand-in.

use std::time::{Duration, Instant};

use shared::pacemaker::{Cib, ClusterStatus, Target, Tools};

use super::stored;
use super::*;
use crate::fragment::CephAccess;
use crate::storage::mem::Memory;
use crate::storage::Storage;
use crate::vm::image_vm;

const PLANTED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/vm-mgr/cib-doctor-planted.xml"
));
const T1: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/vm-mgr/cib-vm-t1-started.xml"
));

/// 2026-12-03T08:00:00Z, after the planted move constraint ended (2026-01-01).
const NOW: i64 = 1_796_284_800;

/// The CIB and what the real `crm_mon` says about it.
fn read(xml: &str) -> (Cib, ClusterStatus) {
    let dir = shared::tempdir::PrivateDir::new("vmmgr-checks-test").unwrap();
    let file = dir.write("cib.xml", xml).unwrap();
    let tools = Tools::new(Target::File(file));
    let deadline = Instant::now() + Duration::from_secs(30);
    (
        tools.cib_query(deadline).unwrap(),
        tools.crm_mon_xml(deadline).unwrap(),
    )
}

fn kinds(found: &[Finding]) -> Vec<(&str, &str, &str)> {
    found
        .iter()
        .map(|f| {
            (
                f.kind.as_str(),
                f.vm.as_deref().unwrap_or("-"),
                f.id.as_deref().unwrap_or("-"),
            )
        })
        .collect()
}

#[test]
fn every_planted_problem_is_found_with_its_repair() {
    let (cib, mon) = read(PLANTED);
    let found = cib_findings(&cib, &mon, NOW);
    assert_eq!(
        kinds(&found),
        [
            ("cli-constraint", "dr1", "cli-ban-dr1-on-sim3"),
            ("expired-move", "dr1", "vmmgr-move-dr1"),
            ("stale-constraint", "ghost", "vmmgr-prefer-ghost"),
            ("fail-count", "dr1", "vmmgr-domain-dr1"),
            ("failed-action", "dr1", "vmmgr-domain-dr1"),
        ]
    );
    let remove = |id: &str| Some(Repair::RemoveConstraint(id.into()));
    assert_eq!(found[0].repair, remove("cli-ban-dr1-on-sim3"));
    assert_eq!(found[2].repair, remove("vmmgr-prefer-ghost"));
    assert_eq!(found[3].repair, Some(Repair::Cleanup("dr1".into())));
    assert!(found.iter().all(|f| f.fixable));
    assert!(
        found[3].detail.contains("fail-count 2 on sim2"),
        "{found:?}"
    );
    assert!(found[4].detail.contains("Simulated failure"), "{found:?}");
    // Before its end the move constraint is a migrate's, at work.
    let before = cib_findings(&cib, &mon, NOW - 365 * 86_400);
    assert!(!kinds(&before).iter().any(|k| k.0 == "expired-move"));
}

#[test]
fn a_healthy_cluster_has_no_findings() {
    let (cib, mon) = read(T1);
    assert_eq!(cib_findings(&cib, &mon, NOW), []);
}

#[test]
fn cli_constraints_count_only_on_vm_mgr_vms_and_their_members() {
    let xml = PLANTED.replace(
        "<rsc_location id=\"cli-ban-dr1-on-sim3\"",
        "<rsc_location id=\"cli-ban-ghost-on-sim1\" rsc=\"ghost\" node=\"sim1\" score=\"-INFINITY\"/>\n\
         <rsc_location id=\"cli-prefer-vmmgr-domain-dr1\" rsc=\"vmmgr-domain-dr1\" node=\"sim1\" score=\"INFINITY\"/>\n\
         <rsc_location id=\"cli-ban-dr1-on-sim3\"",
    );
    let (cib, mon) = read(&xml);
    let found = cib_findings(&cib, &mon, NOW);
    let cli: Vec<_> = kinds(&found)
        .into_iter()
        .filter(|k| k.0 == "cli-constraint")
        .collect();
    assert_eq!(
        cli,
        [
            ("cli-constraint", "dr1", "cli-prefer-vmmgr-domain-dr1"),
            ("cli-constraint", "dr1", "cli-ban-dr1-on-sim3"),
        ]
    );
}

#[test]
fn a_node_in_maintenance_running_a_vm_and_a_strategy_without_capacities() {
    let xml = T1
        .replace(
            "<node id=\"2\" uname=\"sim2\"/>",
            "<node id=\"2\" uname=\"sim2\"><instance_attributes id=\"nodes-2\">\
             <nvpair id=\"nodes-2-maintenance\" name=\"maintenance\" value=\"true\"/>\
             </instance_attributes><utilization id=\"nodes-2-u\">\
             <nvpair id=\"nodes-2-u-cpu\" name=\"cpu\" value=\"4\"/></utilization></node>",
        )
        .replace(
            "</cluster_property_set>",
            "<nvpair id=\"o-ps\" name=\"placement-strategy\" value=\"balanced\"/></cluster_property_set>",
        );
    let (cib, mon) = read(&xml);
    let found = cib_findings(&cib, &mon, NOW);
    assert_eq!(
        kinds(&found),
        [
            ("node-holds-vms", "t1", "sim2"),
            ("placement-capacity", "-", "placement-strategy"),
        ]
    );
    assert!(found[0].detail.contains("maintenance"), "{found:?}");
    assert!(
        found[1]
            .detail
            .contains("nodes sim1, sim3 have no capacity"),
        "{found:?}"
    );
    assert!(!found.iter().any(|f| f.fixable));
}

#[test]
fn a_node_without_a_name_the_vms_use_counts_as_without_capacity() {
    let strategy = |xml: &str, value: &str| {
        xml.replace(
            "</cluster_property_set>",
            &format!(
                "<nvpair id=\"o-ps\" name=\"placement-strategy\" value=\"{value}\"/></cluster_property_set>"
            ),
        )
    };
    let util = |id: u8, pairs: &[(&str, &str)]| {
        let nv: String = pairs
            .iter()
            .map(|(k, v)| format!("<nvpair id=\"n{id}-{k}\" name=\"{k}\" value=\"{v}\"/>"))
            .collect();
        format!("<node id=\"{id}\" uname=\"sim{id}\"><utilization id=\"n{id}-u\">{nv}</utilization></node>")
    };
    let all = [("cpu", "2"), ("hv_memory", "900"), ("host_memory", "900")];
    let xml = T1
        .replace("<node id=\"1\" uname=\"sim1\"/>", &util(1, &all))
        .replace("<node id=\"2\" uname=\"sim2\"/>", &util(2, &all[..1]))
        .replace("<node id=\"3\" uname=\"sim3\"/>", &util(3, &all));
    // t1 (cpu, hv_memory, host_memory) cannot run on sim2, which has only cpu.
    let (cib, mon) = read(&strategy(&xml, "balanced"));
    let found = capacity_findings(&cib);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .detail
            .contains("node sim2 has no host_memory, hv_memory (used by VMs)"),
        "{found:?}"
    );
    assert!(!found[0].detail.contains("have no capacity"), "{found:?}");
    assert_eq!(kinds(&cib_findings(&cib, &mon, NOW)).len(), 1);
    // Every node with every name, or the default strategy: nothing to say.
    let full = xml.replace(&util(2, &all[..1]), &util(2, &all));
    assert!(capacity_findings(&read(&strategy(&full, "balanced")).0).is_empty());
    assert!(capacity_findings(&read(&strategy(&xml, "default")).0).is_empty());
    assert!(capacity_findings(&read(&xml).0).is_empty());
}

#[test]
fn names_of_vm_mgr_constraints_and_images() {
    assert_eq!(constraint_vm("vmmgr-prefer-web1"), Some("web1"));
    assert_eq!(constraint_vm("vmmgr-pin-web1"), Some("web1"));
    assert_eq!(constraint_vm("vmmgr-pin-web1.home"), Some("web1"));
    assert_eq!(constraint_vm("vmmgr-move-web1"), Some("web1"));
    assert_eq!(constraint_vm("vmmgr-anti-web1.db_1"), Some("web1"));
    assert_eq!(constraint_vm("vmmgr-colo-web1"), None);
    assert_eq!(constraint_vm("vmmgr-other-web1"), None);
    assert_eq!(constraint_vm("cli-ban-web1-on-sim1"), None);
    assert_eq!(image_vm("system_web1"), Some("web1"));
    assert_eq!(image_vm("data_my_vm_12"), Some("my_vm"));
    assert_eq!(image_vm("data_web1_"), None);
    assert_eq!(image_vm("data_web1_x"), None);
    assert_eq!(image_vm("system_1bad"), None);
    assert_eq!(image_vm("backup"), None);
}

/// Storage holding VM dr1 with the fragment the planted CIB has (as disable would keep it).
fn dr1_as_in_the_cib(cib: &Cib) -> (Memory, String) {
    let fragment = crate::fragment::extract(cib.element(), "dr1")
        .unwrap()
        .to_xml();
    let settings = crate::vm::Settings::default().to_json();
    let storage = Memory::new().with_image(
        "system_dr1",
        &[
            ("xml", "<domain type='kvm'><name>dr1</name></domain>"),
            ("_vmmgr_settings", &settings),
            ("_vmmgr_fragment", &fragment),
        ],
    );
    (storage, fragment)
}

#[test]
fn half_made_vms_and_unreadable_stored_data() {
    let (cib, _) = read(PLANTED);
    let (storage, fragment) = dr1_as_in_the_cib(&cib);
    let storage = storage
        .with_image("data_ghost2_0", &[])
        .with_image("system_half", &[("vm_name", "half")])
        .with_image(
            "system_bad",
            &[("xml", "<domain"), ("_vmmgr_settings", "{")],
        )
        .with_image("data_bad_0", &[])
        .with_image("system_noxml", &[("_vmmgr_settings", "{}")])
        .with_image("data_lone_0", &[])
        .with_image("backup", &[]);
    for (group, images) in [
        ("lone", &["data_lone_0"][..]),
        ("users", &["backup"]),
        ("empty", &[]),
    ] {
        storage.create_group(group).unwrap();
        for i in images {
            storage.group_add(group, i).unwrap();
        }
    }
    let view = stored::read(&storage).unwrap();
    let found = stored::findings(&view, &cib, &CephAccess::default());
    assert_eq!(
        kinds(&found),
        [
            ("orphan-image", "ghost2", "data_ghost2_0"),
            ("orphan-image", "lone", "data_lone_0"),
            ("orphan-image", "half", "system_half"),
            ("orphan-group", "empty", "empty"),
            ("orphan-group", "lone", "lone"),
            ("unreadable-stored", "bad", "system_bad:xml"),
            ("unreadable-stored", "bad", "system_bad:_vmmgr_settings"),
            ("unreadable-stored", "noxml", "system_noxml:xml"),
        ]
    );
    assert!(found.iter().all(|f| !f.fixable));
    // The same VM with a parameter changed behind vm-mgr's back, and without its image.
    let changed = fragment.replace("value=\"qemu:///system\"", "value=\"qemu:///session\"");
    let xml = "<domain type='kvm'/>";
    let storage =
        Memory::new().with_image("system_dr1", &[("xml", xml), ("_vmmgr_fragment", &changed)]);
    let view = stored::read(&storage).unwrap();
    let found = stored::findings(&view, &cib, &CephAccess::default());
    assert_eq!(kinds(&found), [("fragment-mismatch", "dr1", "dr1")]);
    assert!(
        found[0].detail.starts_with("vmmgr-domain-dr1 in the CIB"),
        "{found:?}"
    );
    let found = stored::findings(
        &stored::read(&Memory::new()).unwrap(),
        &cib,
        &CephAccess::default(),
    );
    assert_eq!(kinds(&found), [("missing-images", "dr1", "system_dr1")]);
}
