use super::*;
use shared::ocf::{OcfEnv, OcfRc};

fn params(pairs: &[(&str, &str)]) -> Params {
    let env = OcfEnv::from_vars(
        pairs
            .iter()
            .map(|(k, v)| (format!("OCF_RESKEY_{k}"), (*v).to_owned())),
    );
    Params::new(PARAMS, &env)
}

fn settings(pairs: &[(&str, &str)]) -> Result<Settings, OcfError> {
    Settings::from_params(&params(pairs))
}

#[test]
fn defaults_match_the_heartbeat_agent() {
    let s = settings(&[("config", "/etc/vm.xml")]).unwrap();
    assert!(!s.force_stop && !s.save_config_on_stop && !s.stateless);
    assert_eq!(s.migration_downtime_ms, 0);
    assert_eq!(s.migration_speed_mib, 0);
    assert_eq!(s.hypervisor, None);
    assert!(s.utilization.iter().all(|(_, p)| *p == UtilPolicy::Set));
    assert!(s.shutdown_modes.is_empty());
    assert_eq!(s.rbd, None);
}

#[test]
fn config_is_required_and_absolute() {
    assert_eq!(settings(&[]).unwrap_err().rc, OcfRc::ErrConfigured);
    let e = settings(&[("config", "vm.xml")]).unwrap_err();
    assert_eq!(e.rc, OcfRc::ErrConfigured);
    assert!(e.reason.contains("absolute"), "{e}");
}

#[test]
fn cross_checks() {
    let e = settings(&[("config", "/x"), ("force_stop", "1"), ("snapshot", "/s")]);
    assert!(e.unwrap_err().reason.contains("force_stop"));
    let e = settings(&[("config", "/x"), ("stateless", "true")]);
    assert!(e.unwrap_err().reason.contains("backing file"));
    let e = settings(&[("config", "/x"), ("migration_speed", "-1")]);
    assert!(e.unwrap_err().reason.contains("negative"));
    let e = settings(&[("config", "/x"), ("migration_speed", "fast")]);
    assert_eq!(e.unwrap_err().rc, OcfRc::ErrConfigured);
    let e = settings(&[("config", "/x"), ("migrateport", "70000")]);
    assert!(e.unwrap_err().reason.contains("port"));
    let e = settings(&[("config", "/x"), ("migration_transport", "tcp;rm")]);
    assert!(e.unwrap_err().reason.contains("transport"));
    let e = settings(&[("config", "/x"), ("migrate_options", "--offline")]);
    assert!(e.unwrap_err().reason.contains("--offline"));
}

#[test]
fn shutdown_mode_is_parsed() {
    let s = settings(&[("config", "/x"), ("shutdown_mode", "agent,acpi")]).unwrap();
    assert_eq!(s.shutdown_modes, [ShutdownMode::Agent, ShutdownMode::Acpi]);
    let e = settings(&[("config", "/x"), ("shutdown_mode", "reboot")]).unwrap_err();
    assert_eq!(e.rc, OcfRc::ErrConfigured);
    assert!(e.reason.contains("'reboot'"), "{e}");
}

#[test]
fn utilization_policies() {
    let s = settings(&[
        ("config", "/x"),
        ("autoset_utilization_cpu", "false"),
        ("unset_utilization_cpu", "true"),
        ("autoset_utilization_hv_memory", "no"),
    ])
    .unwrap();
    assert_eq!(
        s.utilization,
        [
            ("cpu", UtilPolicy::Unset),
            ("host_memory", UtilPolicy::Set),
            ("hv_memory", UtilPolicy::Leave)
        ]
    );
}

#[test]
fn user_rules_like_heartbeat() {
    assert!(valid_user("root") && valid_user("a-1"));
    assert!(!valid_user("Root") && !valid_user("1a") && !valid_user(""));
    let s = settings(&[("config", "/x"), ("migration_user", "Bad User")]).unwrap();
    assert_eq!(s.migration_user, None);
    assert_eq!(s.warnings.len(), 1);
    let s = settings(&[("config", "/x"), ("sync_config_on_stop", "yes")]).unwrap();
    assert!(s.save_config_on_stop, "sync implies save");
}

#[test]
fn rbd_source() {
    let s = settings(&[("config", "/x"), ("rbd_xml_source", "rbd/vm1")]).unwrap();
    assert_eq!(
        s.rbd,
        Some(RbdSource {
            spec: "rbd/vm1".into(),
            key: "xml".into(),
            conn: Conn::default(),
        })
    );
    assert!(parse_rbd_source("rbd/ns/vm1").is_ok());
    for bad in ["vm1", "rbd/", "/vm1", "rbd/-x", "a/b/c/d", "rbd/vm 1"] {
        assert!(parse_rbd_source(bad).is_err(), "{bad}");
    }
}

#[test]
fn rbd_user_and_cephconf() {
    let s = settings(&[
        ("config", "/x"),
        ("rbd_xml_source", "vms/system_a"),
        ("rbd_xml_key", "dom"),
        ("rbd_xml_user", "libvirt"),
        ("rbd_xml_cephconf", "/etc/ceph/prod.conf"),
    ])
    .unwrap();
    let rbd = s.rbd.unwrap();
    assert_eq!(
        (rbd.spec.as_str(), rbd.key.as_str()),
        ("vms/system_a", "dom")
    );
    assert_eq!(rbd.conn.user.as_deref(), Some("libvirt"));
    assert_eq!(
        rbd.conn.conf.as_deref(),
        Some(std::path::Path::new("/etc/ceph/prod.conf"))
    );
    // The rbd argv: configuration file, then user, nothing else (no key on the command line).
    let args: Vec<String> = rbd
        .conn
        .args()
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(args, ["-c", "/etc/ceph/prod.conf", "--id", "libvirt"]);
    // Empty values are unset (Ceph's defaults), as for the other optional parameters.
    let s = settings(&[
        ("config", "/x"),
        ("rbd_xml_source", "rbd/a"),
        ("rbd_xml_user", ""),
        ("rbd_xml_cephconf", " "),
    ])
    .unwrap();
    assert_eq!(s.rbd.unwrap().conn, Conn::default());
    // Without rbd_xml_source they are not used (and not checked).
    let s = settings(&[("config", "/x"), ("rbd_xml_user", "admin")]).unwrap();
    assert_eq!(s.rbd, None);
}

#[test]
fn rbd_user_and_cephconf_are_checked() {
    for (name, bad) in [
        ("rbd_xml_user", "--id=admin"),
        ("rbd_xml_user", "client admin"),
        ("rbd_xml_user", "a/b"),
        ("rbd_xml_user", "a;reboot"),
        ("rbd_xml_user", ".."),
        ("rbd_xml_cephconf", "ceph.conf"),
        ("rbd_xml_cephconf", "../etc/ceph/ceph.conf"),
    ] {
        let e =
            settings(&[("config", "/x"), ("rbd_xml_source", "rbd/a"), (name, bad)]).unwrap_err();
        assert_eq!(e.rc, OcfRc::ErrConfigured, "{name}={bad}: {e}");
        assert!(e.reason.contains(name), "{name}={bad}: {e}");
    }
}

#[test]
fn a_missing_cephconf_is_not_installed() {
    let rbd = |conf: &str| {
        settings(&[
            ("config", "/x"),
            ("rbd_xml_source", "rbd/a"),
            ("rbd_xml_cephconf", conf),
        ])
        .unwrap()
        .rbd
        .unwrap()
    };
    let e = check_rbd_local(&rbd("/nonexistent/ceph.conf")).unwrap_err();
    assert_eq!(e.rc, OcfRc::ErrInstalled);
    assert!(e.reason.contains("/nonexistent/ceph.conf"), "{e}");
    let here = std::env::temp_dir().join(format!("vd-cephconf-{}", std::process::id()));
    std::fs::write(&here, "[global]\n").unwrap();
    assert!(check_rbd_local(&rbd(here.to_str().unwrap())).is_ok());
    let _ = std::fs::remove_file(here);
}
