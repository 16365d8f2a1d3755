//! Property tests (issue 13): every parser of outside data — CIB and `crm_mon` XML, domain XML,
//! DRBD `events2` and `drbdadm` output, Ceph JSON, the OCF environment, durations and dates
//! typed by people — takes arbitrary input without panicking, and within a time bound (a guard
//! against quadratic or worse behaviour on hostile input, not a performance goal: the bound is
//! ~100x what a parse takes).
//!
//! Inputs are of three kinds: arbitrary text; recorded real outputs (`tests/fixtures/`) cut,
//! spliced and corrupted at random places (which reaches the parsers' deeper paths); and
//! generated XML trees of the element names the parsers look for.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::Config;

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/",
            $path
        ))
    };
}

const CIB: &str = fixture!("pacemaker/cib-query.xml");
const CRM_MON: &str = fixture!("pacemaker/crm_mon-failures.xml");
const DOMAIN: &str = fixture!("libvirt/dumpxml-running.xml");
const EVENTS2: &str = fixture!("drbd/secondary-peer-primary-3nodes.events2");
const CEPH_INFO: &str = fixture!("ceph/rbd-info-in-group.out");
const CEPH_META: &str = fixture!("ceph/rbd-image-meta-list.out");
const CEPH_LOCK: &str = fixture!("ceph/rados-lock-info-held.out");
const CEPH_GROUP: &str = fixture!("ceph/rbd-group-image-list.out");
const CEPH_MON_DUMP: &str = fixture!("ceph/ceph-mon-dump.out");
const CEPH_SNAPS: &str = fixture!("ceph/rbd-snap-ls-all-trash.out");
const CEPH_GROUP_SNAPS: &str = fixture!("ceph/rbd-group-snap-ls.out");

/// The most one parse of these inputs may take.
const BOUND: Duration = Duration::from_secs(2);

fn bounded<T>(what: &str, input: &str, parse: impl FnOnce(&str) -> T) -> T {
    let t = Instant::now();
    let out = parse(input);
    let took = t.elapsed();
    assert!(
        took < BOUND,
        "{what} took {took:?} on {} bytes",
        input.len()
    );
    out
}

/// A recorded output, changed at a random place: cut there, a random piece put in there, or a
/// stretch after it taken out.
fn mutated(base: &'static str) -> impl Strategy<Value = String> {
    let len = base.len();
    (0..=len, 0..=len, ".{0,40}", 0u8..3).prop_map(move |(a, b, piece, how)| {
        let (lo, hi) = (a.min(b), a.max(b));
        let cut = |i: usize| {
            (0..=i)
                .rev()
                .find(|&j| base.is_char_boundary(j))
                .unwrap_or(0)
        };
        let (lo, hi) = (cut(lo), cut(hi));
        match how {
            0 => base[..lo].to_owned(),
            1 => format!("{}{}{}", &base[..lo], piece, &base[lo..]),
            _ => format!("{}{}", &base[..lo], &base[hi..]),
        }
    })
}

/// Generated XML: elements named as in the CIB, crm_mon and domain XML, nested, with
/// attributes the parsers read.
fn xml_tree() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec![
        "cib",
        "configuration",
        "resources",
        "constraints",
        "status",
        "node_state",
        "lrm",
        "lrm_resources",
        "lrm_resource",
        "lrm_rsc_op",
        "primitive",
        "group",
        "clone",
        "meta_attributes",
        "nvpair",
        "rsc_location",
        "nodes",
        "node",
        "crm_mon",
        "resource",
        "domain",
        "devices",
        "disk",
        "source",
        "name",
        "uuid",
        "summary",
        "op",
    ]);
    let attrs = prop::collection::vec(
        (
            prop::sample::select(vec![
                "id",
                "name",
                "value",
                "role",
                "type",
                "class",
                "provider",
                "uname",
                "rsc",
                "score",
                "node",
                "operation",
                "rc-code",
                "call-id",
                "interval",
                "epoch",
                "admin_epoch",
                "num_updates",
                "active",
                "crmd",
                "in_ccm",
                "join",
            ]),
            "[-a-zA-Z0-9_:. ]{0,12}",
        ),
        0..4,
    );
    let leaf = (names.clone(), attrs.clone()).prop_map(|(n, a)| element(n, &a, ""));
    leaf.prop_recursive(6, 64, 6, move |inner| {
        (
            names.clone(),
            attrs.clone(),
            prop::collection::vec(inner, 0..6),
        )
            .prop_map(|(n, a, kids)| element(n, &a, &kids.concat()))
    })
}

fn element(name: &str, attrs: &[(&str, String)], inner: &str) -> String {
    let a: String = attrs.iter().map(|(k, v)| format!(" {k}=\"{v}\"")).collect();
    if inner.is_empty() {
        format!("<{name}{a}/>")
    } else {
        format!("<{name}{a}>{inner}</{name}>")
    }
}

fn pacemaker_parsers(s: &str) {
    use shared::pacemaker::{cib, xml::Element, Cib, ClusterStatus, Role, Score};
    let _ = bounded("Element::parse", s, |s| Element::parse(s, "input"));
    let _ = bounded("Cib::parse", s, Cib::parse);
    let _ = bounded("ClusterStatus::parse", s, ClusterStatus::parse);
    let _ = bounded("resources section", s, cib::parse_resources_section);
    let _ = bounded("constraints section", s, cib::parse_constraints_section);
    let _ = bounded("Score::parse", s, Score::parse);
    let _ = bounded("Role::parse", s, Role::parse);
    let _ = bounded("parse_ms", s, shared::pacemaker::types::parse_ms);
}

fn domain_parsers(s: &str) {
    let _ = bounded("parse_domain_xml", s, shared::libvirt::parse_domain_xml);
}

fn drbd_parsers(s: &str) {
    use shared::drbd::{adm, events, score};
    let _ = bounded("events2", s, |s| events::parse_events2_now(s, "drbd1"));
    let _ = bounded("drbdadm dump-xml", s, |s| adm::parse_dump_xml(s, "r0"));
    let _ = bounded("drbdadm --version", s, adm::parse_version);
    let _ = bounded("drbdadm adjust", s, score::parse_adjust);
}

fn ceph_parsers(s: &str) {
    use shared::ceph::types as t;
    let _ = bounded("rbd info", s, t::parse_image_info);
    let _ = bounded("rbd status", s, t::parse_status);
    let _ = bounded("rbd lock ls", s, t::parse_lock_ls);
    let _ = bounded("rados lock info", s, t::parse_object_lock);
    let _ = bounded("rbd device list", s, t::parse_device_list);
    let _ = bounded("rbd group image list", s, t::parse_group_images);
    let _ = bounded("rbd group list", s, t::parse_group_list);
    let _ = bounded("rbd image-meta list", s, t::parse_image_meta);
    let _ = bounded("ceph osd blocklist ls", s, t::parse_blocklist);
    let _ = bounded("rbd device map", s, t::parse_map_output);
    let _ = bounded("rbd ls", s, |s| t::parse_names("rbd ls", s));
    let _ = bounded("ceph mon dump", s, t::parse_mon_dump);
    let _ = bounded("mon host", s, t::parse_host_port);
    let _ = bounded("rbd group snap ls", s, t::parse_group_snaps);
    let _ = bounded("rbd snap ls", s, t::parse_image_snaps);
    let _ = bounded(
        "qemu-img info",
        s,
        shared::ceph::import::parse_qemu_img_format,
    );
    let _ = bounded("qemu-img convert -p", s, |s| {
        shared::ceph::import::qemu_img_progress(s.as_bytes())
    });
}

fn clock_parsers(s: &str) {
    use shared::clock::{parse_date, parse_duration, Unit, MAX_DURATION};
    for unit in [Unit::Secs, Unit::Millis] {
        let d = bounded("duration", s, |s| parse_duration(s, unit));
        assert!(d.map_or(true, |d| d <= MAX_DURATION), "{s:?}");
    }
    let _ = bounded("date", s, parse_date);
}

fn config() -> Config {
    Config {
        cases: 192,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics_any_parser(s in "\\PC{0,400}") {
        pacemaker_parsers(&s);
        domain_parsers(&s);
        drbd_parsers(&s);
        ceph_parsers(&s);
        clock_parsers(&s);
    }

    #[test]
    fn generated_xml_never_panics_the_xml_parsers(s in xml_tree()) {
        pacemaker_parsers(&s);
        domain_parsers(&s);
        drbd_parsers(&s);
    }

    #[test]
    fn a_damaged_cib_or_crm_mon_never_panics(cib in mutated(CIB), mon in mutated(CRM_MON)) {
        pacemaker_parsers(&cib);
        pacemaker_parsers(&mon);
    }

    #[test]
    fn a_damaged_domain_xml_never_panics(s in mutated(DOMAIN)) {
        domain_parsers(&s);
    }

    #[test]
    fn damaged_drbd_events_never_panic(s in mutated(EVENTS2)) {
        drbd_parsers(&s);
    }

    #[test]
    fn damaged_ceph_json_never_panics(
        a in mutated(CEPH_INFO), b in mutated(CEPH_META),
        c in mutated(CEPH_LOCK), d in mutated(CEPH_GROUP),
    ) {
        for s in [&a, &b, &c, &d] {
            ceph_parsers(s);
        }
    }

    #[test]
    fn durations_and_dates_of_any_size_never_panic(
        duration in "[0-9]{1,45} ?(ms|us|s|sec|m|min|h|hr|days)?",
        seapath in "[0-9]{1,12}/[0-9]{1,12}/-?[0-9]{1,12} [0-9]{1,4}:[0-9]{1,4}:[0-9]{1,4}",
        iso in "[+-]?[0-9]{1,8}-[0-9]{1,3}-[0-9]{1,3}([T ][0-9]{1,3}:[0-9]{1,3}(:[0-9]{1,3}(\\.[0-9]{1,12})?)?)?(Z|[+-][0-9]{1,2}(:[0-9]{1,2})?)?",
        secs in any::<u64>(),
    ) {
        for s in [&duration, &seapath, &iso] {
            clock_parsers(s);
        }
        let _ = (shared::clock::utc_secs(secs), shared::clock::pacemaker_date(secs));
    }

    #[test]
    fn damaged_mon_dump_and_snapshot_lists_never_panic(
        a in mutated(CEPH_MON_DUMP), b in mutated(CEPH_SNAPS), c in mutated(CEPH_GROUP_SNAPS),
    ) {
        for s in [&a, &b, &c] {
            ceph_parsers(s);
        }
    }

    #[test]
    fn any_ocf_environment_never_panics(
        vars in prop::collection::vec(
            (
                prop::sample::select(vec![
                    "OCF_RESKEY_CRM_meta_timeout", "OCF_RESKEY_CRM_meta_interval",
                    "OCF_RESKEY_CRM_meta_clone_max", "OCF_RESKEY_CRM_meta_promoted_max",
                    "OCF_RESKEY_CRM_meta_master_max", "OCF_RESKEY_CRM_meta_clone",
                    "OCF_RESKEY_CRM_meta_notify", "OCF_RESKEY_CRM_meta_on_node",
                    "OCF_RESKEY_CRM_meta_notify_type", "OCF_RESKEY_config", "OCF_ROOT",
                    "OCF_RESOURCE_INSTANCE", "HA_debug", "OCF_TRACE_RA",
                ]),
                "\\PC{0,24}|[0-9]{1,30}|-[0-9]{1,5}|[0-9]+(ms|s|min|h)",
            ),
            0..10,
        )
    ) {
        let env = shared::ocf::OcfEnv::from_vars(vars);
        let m = env.meta();
        let _ = (m.timeout(), m.interval(), m.op_name(), m.role(), m.on_fail());
        let _ = (m.clone_max(), m.clone_node_max(), m.promoted_max(), m.promoted_node_max());
        let _ = (m.clone_instance(), m.notify(), m.globally_unique(), m.on_node());
        let _ = (m.migrate_source(), m.migrate_target());
    }
}

#[test]
fn the_recorded_outputs_themselves_parse() {
    // The mutations above start from real outputs; this pins that those are the valid ones the
    // parsers accept, so the properties do exercise the parsers beyond their first check.
    assert!(shared::pacemaker::Cib::parse(CIB).is_ok());
    assert!(shared::pacemaker::ClusterStatus::parse(CRM_MON).is_ok());
    assert!(shared::libvirt::parse_domain_xml(DOMAIN).is_ok());
    assert!(shared::drbd::events::parse_events2_now(EVENTS2, "drbd1").is_ok_and(|s| s.is_some()));
    assert!(shared::ceph::types::parse_image_info(CEPH_INFO).is_ok());
    assert!(shared::ceph::types::parse_image_meta(CEPH_META).is_ok());
    assert!(shared::ceph::types::parse_object_lock(CEPH_LOCK).is_ok());
    assert!(shared::ceph::types::parse_group_images(CEPH_GROUP).is_ok());
    assert!(shared::ceph::types::parse_mon_dump(CEPH_MON_DUMP).is_ok());
    assert!(shared::ceph::types::parse_image_snaps(CEPH_SNAPS).is_ok_and(|v| !v.is_empty()));
    assert!(shared::ceph::types::parse_group_snaps(CEPH_GROUP_SNAPS).is_ok_and(|v| !v.is_empty()));
}
