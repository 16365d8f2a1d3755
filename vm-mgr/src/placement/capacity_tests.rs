//! [`super`] on recorded outputs: `virsh nodeinfo` of a sandbox node, and the CIB and crm_mon
//! of a VM started on sim2 (tests/fixtures/vm-mgr/README.md).

use shared::pacemaker::cib::tree::{set_node_nvpair, NodeEdit, SetKind};
use shared::pacemaker::{Cib, ClusterStatus};

use super::*;

const NODEINFO: &str = include_str!("../../../tests/fixtures/libvirt/virsh-nodeinfo.txt");
const CIB_T1: &str = include_str!("../../../tests/fixtures/vm-mgr/cib-vm-t1-started.xml");
const MON_T1: &str = include_str!("../../../tests/fixtures/vm-mgr/crm_mon-vm-t1-started.xml");

#[test]
fn nodeinfo_is_read_from_virsh() {
    assert_eq!(
        parse_nodeinfo(NODEINFO).unwrap(),
        NodeInfo {
            cpus: 2,
            memory_mib: 24683664 / 1024
        }
    );
    assert!(parse_nodeinfo("CPU(s): 2\n")
        .unwrap_err()
        .contains("Memory size"));
    assert!(parse_nodeinfo("CPU(s): two\nMemory size: 1 KiB\n")
        .unwrap_err()
        .contains("two"));
    assert!(parse_nodeinfo("CPU(s): 2\nMemory size: 1024 MiB\n").is_err());
}

#[test]
fn sizes_and_reserves() {
    assert_eq!(parse_size_mib("2048"), Ok(2048));
    assert_eq!(parse_size_mib("512M"), Ok(512));
    assert_eq!(parse_size_mib("4G"), Ok(4096));
    assert_eq!(parse_size_mib("1GiB"), Ok(1024));
    assert_eq!(parse_size_mib("2048K"), Ok(2));
    assert!(parse_size_mib("").is_err());
    assert!(parse_size_mib("G").is_err());
    assert!(parse_size_mib("-1G").is_err());
    assert!(parse_size_mib("99999999999999999999T").is_err());
    let r = Reserve::parse(&["1G".into(), "sim3=20G".into()], 1).unwrap();
    assert_eq!(r.memory_of("sim1"), 1024);
    assert_eq!(r.memory_of("sim3"), 20480);
    assert_eq!(r.cpus, 1);
    assert!(Reserve::parse(&["sim3=lots".into()], 0).is_err());
}

#[test]
fn capacity_is_nodeinfo_minus_the_reserve() {
    let info = parse_nodeinfo(NODEINFO).unwrap();
    let r = Reserve::parse(&["1G".into(), "sim3=23000M".into()], 1).unwrap();
    let pairs = |v: Vec<(String, String)>| -> Vec<String> {
        v.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
    };
    assert_eq!(
        pairs(capacity("sim1", &info, &r).unwrap()),
        ["cpu=1", "hv_memory=23081", "host_memory=23081"]
    );
    assert_eq!(
        pairs(capacity("sim3", &info, &r).unwrap()),
        ["cpu=1", "hv_memory=1105", "host_memory=1105"]
    );
    let all_cpus = Reserve::parse(&[], 2).unwrap();
    let e = capacity("sim2", &info, &all_cpus).unwrap_err();
    assert!(
        e.contains("sim2 has 2 CPU threads") && e.contains("leaves nothing"),
        "{e}"
    );
    let all_memory = Reserve::parse(&["sim2=100G".into()], 0).unwrap();
    assert!(capacity("sim2", &info, &all_memory).is_err());
    assert!(capacity("sim1", &info, &all_memory).is_ok());
}

#[test]
fn a_vm_uses_what_its_xml_says_as_the_agent_writes_it() {
    let xml = shared::libvirt::DomainXml::parse(include_str!(
        "../../../tests/fixtures/libvirt/guest-xml.xml"
    ))
    .unwrap();
    let u = utilization_of(&xml).unwrap();
    // The recorded CIB holds what the agent wrote for the same guest: the same pairs.
    let cib = Cib::parse(CIB_T1).unwrap();
    let written = &cib.primitive("vmmgr-domain-t1").unwrap().utilization;
    let from_xml: BTreeMap<String, String> = u.into_iter().collect();
    assert_eq!(&from_xml, written);
    assert!(missing_keys(written).is_empty());
    let mut partial = written.clone();
    partial.remove("hv_memory");
    assert_eq!(missing_keys(&partial), ["hv_memory"]);
    let no_memory = shared::libvirt::DomainXml::parse(
        "<domain type='kvm'><name>x</name><vcpu>2</vcpu></domain>",
    )
    .unwrap();
    assert_eq!(utilization_of(&no_memory), None);
}

#[test]
fn load_is_capacity_used_and_free_per_node() {
    let mut tree = Cib::parse(CIB_T1).unwrap().element().clone();
    for (k, v) in [("cpu", "2"), ("hv_memory", "1000"), ("host_memory", "1000")] {
        assert_eq!(
            set_node_nvpair(&mut tree, "sim2", SetKind::Utilization, k, Some(v)),
            NodeEdit::Done(true)
        );
    }
    let cib = Cib::parse(&tree.to_xml()).unwrap();
    let mon = ClusterStatus::parse(MON_T1).unwrap();
    let sim2 = load_of(&cib, &mon, "sim2");
    let m = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    assert_eq!(
        sim2.capacity,
        m(&[("cpu", 2), ("host_memory", 1000), ("hv_memory", 1000)])
    );
    assert_eq!(
        sim2.used,
        m(&[("cpu", 1), ("host_memory", 64), ("hv_memory", 64)])
    );
    assert_eq!(
        sim2.free,
        m(&[("cpu", 1), ("host_memory", 936), ("hv_memory", 936)])
    );
    // t1 runs on sim2 only; sim1 has no capacity and uses nothing.
    let sim1 = load_of(&cib, &mon, "sim1");
    assert!(sim1.capacity.is_empty() && sim1.used.is_empty() && sim1.free.is_empty());
    // The group's own use is left out when asked (preflight of a move of t1).
    assert!(used_on(&cib, &mon, "sim2", Some("t1")).is_empty());
    assert!(by_utilization(Some("balanced")) && !by_utilization(Some("default")));
    assert!(!by_utilization(None));
}
