//! Unit tests of the agent's description and parameter reading.

use std::time::Instant;

use shared::ocf::{testing, Action, Agent, Context, OcfEnv, OcfRc};

use crate::agent::Drbd;
use crate::params::Settings;
use crate::validate::check_metas;

const STOCK_META: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/drbd/linbit-drbd-9.22-meta-data.xml"
));

fn ctx(action: Action, vars: &[(&str, &str)]) -> Context {
    let env = OcfEnv::from_vars(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Context::new(&Drbd.meta(), action, env, Instant::now())
}

#[test]
fn meta_data_is_valid_ocf_1_1() {
    testing::assert_valid_meta(&Drbd.meta());
}

#[test]
fn every_stock_parameter_is_declared() {
    let ours: Vec<&str> = Drbd.meta().params.iter().map(|p| p.name).collect();
    let stock: Vec<&str> = STOCK_META
        .match_indices("<parameter name=\"")
        .map(|(i, m)| {
            let rest = &STOCK_META[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    assert_eq!(stock.len(), 13, "{stock:?}");
    for name in stock {
        assert!(ours.contains(&name), "stock parameter {name} missing");
    }
}

#[test]
fn stock_defaults_are_kept() {
    let meta = Drbd.meta();
    let default = |n: &str| meta.params.iter().find(|p| p.name == n).unwrap().default;
    assert_eq!(default("drbdconf"), Some("/etc/drbd.conf"));
    assert_eq!(default("adjust_master_score"), Some("0 10 1000 10000"));
    assert_eq!(default("wfc_timeout"), Some("5"));
    assert_eq!(default("require_drbd_module_version_ge"), Some("8.0.0"));
    assert_eq!(default("require_drbd_module_version_lt"), Some("10.0.0"));
    assert_eq!(
        default("unfence_extra_args"),
        Some("--quiet --flock-required --flock-timeout 0 --unfence-only-if-owner-match")
    );
}

#[test]
fn settings_defaults_and_checks() {
    let s = Settings::read(&ctx(Action::Start, &[("OCF_RESKEY_drbd_resource", "r0")])).unwrap();
    assert_eq!(s.resource, "r0");
    assert_eq!(s.drbdconf, "/etc/drbd.conf");
    assert_eq!(s.adjust, [0, 10, 1000, 10000]);
    assert_eq!(s.wfc_timeout, Some(5));
    assert_eq!(s.version_ge, Some(0x080000));
    assert_eq!(s.version_lt, Some(0x0a0000));

    let bad = |k: &str, v: &str| {
        Settings::read(&ctx(
            Action::Start,
            &[("OCF_RESKEY_drbd_resource", "r0"), (k, v)],
        ))
    };
    for (k, v) in [
        ("OCF_RESKEY_drbd_resource", "r 0"),
        ("OCF_RESKEY_drbd_resource", "-r0"),
        ("OCF_RESKEY_drbdconf", "/etc/drbd conf"),
        ("OCF_RESKEY_stop_outdates_secondary", "perhaps"),
        (
            "OCF_RESKEY_remove_master_score_if_peer_primary",
            "sometimes",
        ),
        ("OCF_RESKEY_require_drbd_module_version_ge", "9.0"),
    ] {
        let e = bad(k, v).unwrap_err();
        assert_eq!(e.rc, OcfRc::ErrConfigured, "{k}={v}: {e}");
    }
    assert!(Settings::read(&ctx(Action::Start, &[])).is_err());
    // Lenient like drbd.ocf: non-digit wfc_timeout = no wait, bad adjust = default + warning.
    let s = bad("OCF_RESKEY_wfc_timeout", "never").unwrap();
    assert_eq!(s.wfc_timeout, None);
    let s = bad("OCF_RESKEY_adjust_master_score", "1 2 3").unwrap();
    assert_eq!(s.adjust, [0, 10, 1000, 10000]);
    assert!(s.adjust_problem.is_some());
    let s = bad("OCF_RESKEY_require_drbd_module_version_lt", "").unwrap();
    assert_eq!(s.version_lt, None);
    let s = bad(
        "OCF_RESKEY_remove_master_score_if_peer_primary",
        "unexpected",
    )
    .unwrap();
    assert_eq!(
        s.peer_primary,
        shared::drbd::PeerPrimaryPolicy::RemoveIfUnexpected
    );
}

#[test]
fn clone_meta_checks() {
    let check = |vars: &[(&str, &str)]| check_metas(&ctx(Action::Start, vars));
    assert_eq!(check(&[]), Ok(1));
    assert_eq!(
        check(&[
            ("OCF_RESKEY_CRM_meta_promoted_max", "2"),
            ("OCF_RESKEY_CRM_meta_clone_max", "2")
        ]),
        Ok(2)
    );
    assert_eq!(check(&[("OCF_RESKEY_CRM_meta_master_max", "1")]), Ok(1));
    for vars in [
        &[("OCF_RESKEY_CRM_meta_clone_node_max", "2")][..],
        &[("OCF_RESKEY_CRM_meta_promoted_node_max", "2")][..],
        &[("OCF_RESKEY_CRM_meta_promoted_max", "3")][..],
        &[("OCF_RESKEY_CRM_meta_promoted_max", "2")][..],
        &[
            ("OCF_RESKEY_CRM_meta_promoted_max", "2"),
            ("OCF_RESKEY_CRM_meta_clone_max", "3"),
        ][..],
    ] {
        let e = check(vars).unwrap_err();
        assert_eq!(e.rc, OcfRc::ErrConfigured, "{vars:?}");
    }
}
