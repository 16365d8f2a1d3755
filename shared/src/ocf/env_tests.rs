//! Tests of the OCF environment (unit tests of `env.rs`).

use super::*;

fn env(pairs: &[(&str, &str)]) -> OcfEnv {
    OcfEnv::from_vars(pairs.iter().copied())
}

#[test]
fn splits_params_and_metas() {
    let e = env(&[
        ("OCF_RESKEY_config", "/etc/vm1.xml"),
        ("OCF_RESKEY_force_stop", "yes"),
        ("OCF_RESKEY_crm_feature_set", "3.16.2"),
        ("OCF_RESKEY_CRM_meta_timeout", "20000"),
        ("OCF_RESKEY_CRM_meta_clone_max", "2"),
        ("OCF_RESOURCE_INSTANCE", "vm1"),
        ("OCF_RESOURCE_TYPE", "VirtualDomain"),
        ("OCF_RESOURCE_PROVIDER", "vmmgr"),
        ("OCF_ROOT", "/usr/lib/ocf"),
        ("PATH", "/usr/bin"),
    ]);
    assert_eq!(
        e.params().keys().collect::<Vec<_>>(),
        ["config", "force_stop"]
    );
    assert_eq!(e.param("config"), Some("/etc/vm1.xml"));
    assert_eq!(e.param("crm_feature_set"), None);
    assert_eq!(e.crm_feature_set(), Some("3.16.2"));
    assert_eq!(e.meta().get("timeout"), Some("20000"));
    assert_eq!(e.meta().get("clone-max"), Some("2"));
    assert_eq!(e.meta().all().len(), 2);
    assert_eq!(e.resource_instance(), Some("vm1"));
    assert_eq!(e.resource_type(), Some("VirtualDomain"));
    assert_eq!(e.resource_provider(), Some("vmmgr"));
    assert_eq!(e.ocf_root(), Some("/usr/lib/ocf"));
    assert_eq!(e.var("PATH"), Some("/usr/bin"));
}

#[test]
fn typed_metas() {
    let e = env(&[
        ("OCF_RESKEY_CRM_meta_timeout", "90000"),
        ("OCF_RESKEY_CRM_meta_interval", "10000"),
        ("OCF_RESKEY_CRM_meta_clone_max", "2"),
        ("OCF_RESKEY_CRM_meta_clone_node_max", "1"),
        ("OCF_RESKEY_CRM_meta_clone", "1"),
        ("OCF_RESKEY_CRM_meta_notify", "true"),
        ("OCF_RESKEY_CRM_meta_globally_unique", "false"),
        ("OCF_RESKEY_CRM_meta_on_node", "node-a"),
        ("OCF_RESKEY_CRM_meta_migrate_source", "node-a"),
        ("OCF_RESKEY_CRM_meta_migrate_target", "node-b"),
        ("OCF_RESKEY_CRM_meta_on_fail", "block"),
        ("OCF_RESKEY_CRM_meta_name", "monitor"),
        ("OCF_RESKEY_CRM_meta_role", "Promoted"),
    ]);
    let m = e.meta();
    assert_eq!(m.timeout(), Some(Duration::from_secs(90)));
    assert_eq!(m.interval(), Some(Duration::from_secs(10)));
    assert_eq!(m.clone_max(), Some(2));
    assert_eq!(m.clone_node_max(), Some(1));
    assert_eq!(m.clone_instance(), Some(1));
    assert!(m.notify());
    assert!(!m.globally_unique());
    assert_eq!(m.on_node(), Some("node-a"));
    assert_eq!(e.local_node(), Some("node-a"));
    assert_eq!(m.migrate_source(), Some("node-a"));
    assert_eq!(m.migrate_target(), Some("node-b"));
    assert_eq!(m.on_fail(), Some("block"));
    assert_eq!(m.op_name(), Some("monitor"));
    assert_eq!(m.role(), Some("Promoted"));
}

#[test]
fn lenient_metas() {
    let e = env(&[
        ("OCF_RESKEY_CRM_meta_timeout", "soon"),
        ("OCF_RESKEY_CRM_meta_notify", "perhaps"),
        ("OCF_RESKEY_CRM_meta_clone_max", "-1"),
    ]);
    assert_eq!(e.meta().timeout(), None);
    assert!(!e.meta().notify());
    assert_eq!(e.meta().clone_max(), None);
    assert_eq!(e.meta().get("notify"), Some("perhaps"));
    assert_eq!(e.local_node(), None);
}

#[test]
fn promoted_max_aliases() {
    let old = env(&[
        ("OCF_RESKEY_CRM_meta_master_max", "1"),
        ("OCF_RESKEY_CRM_meta_master_node_max", "1"),
    ]);
    assert_eq!(old.meta().promoted_max(), Some(1));
    assert_eq!(old.meta().promoted_node_max(), Some(1));
    let both = env(&[
        ("OCF_RESKEY_CRM_meta_promoted_max", "2"),
        ("OCF_RESKEY_CRM_meta_master_max", "1"),
        ("OCF_RESKEY_CRM_meta_promoted_node_max", "1"),
    ]);
    assert_eq!(both.meta().promoted_max(), Some(2));
    assert_eq!(both.meta().promoted_node_max(), Some(1));
    assert_eq!(env(&[]).meta().promoted_max(), None);
}

#[test]
fn probe_detection() {
    let none = env(&[]);
    let zero = env(&[("OCF_RESKEY_CRM_meta_interval", "0")]);
    let recurring = env(&[("OCF_RESKEY_CRM_meta_interval", "10000")]);
    for e in [&none, &zero] {
        assert!(e.is_probe(&Action::Monitor));
        assert!(e.is_probe(&Action::Status));
        assert!(!e.is_probe(&Action::Start));
        assert!(!e.is_probe(&Action::Stop));
    }
    assert!(!recurring.is_probe(&Action::Monitor));
    assert!(!recurring.is_probe(&Action::Status));
}

#[test]
fn core_variables() {
    let e = env(&[
        ("OCF_CHECK_LEVEL", "10"),
        ("OCF_TRACE_RA", "1"),
        ("OCF_OUTPUT_FORMAT", "xml"),
        ("OCF_RA_VERSION_MAJOR", "1"),
        ("OCF_RA_VERSION_MINOR", "1"),
    ]);
    assert_eq!(e.check_level(), 10);
    assert!(e.trace_ra());
    assert!(e.debug_enabled());
    assert_eq!(e.output_format(), Some("xml"));
    assert_eq!(e.ra_version(), Some((1, 1)));
    let d = env(&[("OCF_CHECK_LEVEL", "high")]);
    assert_eq!(d.check_level(), 0);
    assert!(!d.trace_ra());
    assert_eq!(d.ra_version(), None);
}

#[test]
fn debug_switches() {
    assert!(!env(&[]).debug_enabled());
    assert!(!env(&[("HA_debug", "0")]).debug_enabled());
    assert!(!env(&[("HA_DEBUG", "")]).debug_enabled());
    assert!(env(&[("HA_debug", "1")]).debug_enabled());
    assert!(env(&[("HA_DEBUG", "yes")]).debug_enabled());
    assert_eq!(env(&[("HA_LOGFILE", "")]).ha_logfile(), None);
    assert_eq!(
        env(&[("HA_LOGFILE", "/tmp/x.log")]).ha_logfile(),
        Some("/tmp/x.log")
    );
}

#[test]
fn op_timeout_and_deadline() {
    let start = Instant::now();
    let set = env(&[("OCF_RESKEY_CRM_meta_timeout", "30000")]);
    assert_eq!(
        set.op_timeout(Duration::from_secs(5)),
        Duration::from_secs(30)
    );
    assert_eq!(
        set.deadline(start, Duration::from_secs(5)),
        start + Duration::from_secs(27)
    );
    let unset = env(&[]);
    assert_eq!(
        unset.deadline(start, Duration::from_secs(90)),
        start + Duration::from_secs(81)
    );
    assert_eq!(
        unset.deadline_or_fallback(start),
        start + Duration::from_secs(18)
    );
    let zero = env(&[("OCF_RESKEY_CRM_meta_timeout", "0")]);
    assert_eq!(
        zero.op_timeout(Duration::from_secs(20)),
        Duration::from_secs(20)
    );
}

#[test]
fn notify_is_parsed_from_metas() {
    let e = env(&[
        ("OCF_RESKEY_CRM_meta_notify_type", "pre"),
        ("OCF_RESKEY_CRM_meta_notify_operation", "start"),
        ("OCF_RESKEY_CRM_meta_notify_start_uname", "a b"),
    ]);
    assert!(e.notify().is_pre());
    assert_eq!(e.notify().start.uname, ["a", "b"]);
}

#[test]
fn meta_timeout_in_milliseconds_or_with_a_unit() {
    // `None`: the caller's default applies (a sentinel no row expects).
    let default = Duration::from_millis(7);
    let ms = |n| Some(Duration::from_millis(n));
    for (input, want) in [
        ("20000", ms(20_000)),
        (" 20000\n", ms(20_000)),
        ("20s", ms(20_000)),
        ("20 sec", ms(20_000)),
        ("2min", ms(120_000)),
        ("2m", ms(120_000)),
        ("1h", ms(3_600_000)),
        ("1HR", ms(3_600_000)),
        ("1500ms", ms(1_500)),
        ("1500msec", ms(1_500)),
        ("2000us", ms(2)),
        ("0", None),
        ("0s", None),
        ("", None),
        ("s", None),
        ("-5", None),
        ("1.5s", None),
        ("20 days", None),
        ("99999999999999999999", None),
        ("999999999999999999h", None),
    ] {
        let e = env(&[("OCF_RESKEY_CRM_meta_timeout", input)]);
        assert_eq!(e.op_timeout(default), want.unwrap_or(default), "{input:?}");
    }
    let e = env(&[("OCF_RESKEY_CRM_meta_interval", "10s")]);
    assert_eq!(e.meta().interval(), Some(Duration::from_secs(10)));
}
