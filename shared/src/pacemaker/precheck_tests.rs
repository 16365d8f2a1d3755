//! [`Tools::check_change`] against the real Pacemaker tools, on the recorded CIB: it takes
//! and refuses what `cibadmin --patch` on a private copy ([`Tools::check_patch`]) takes and
//! refuses, each refusal for the same reason.

use std::time::{Duration, Instant};

use super::*;
use crate::pacemaker::patch;

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

fn cib() -> Cib {
    Cib::parse(fixture!("cib-query.xml")).unwrap()
}

/// The patch from `cib` to `cib` changed by `edit`, with the epoch raised as a transaction
/// raises it.
fn patch_of(cib: &Cib, edit: impl FnOnce(&mut Element)) -> String {
    let mut new = cib.element().clone();
    edit(&mut new);
    new.set_attr("epoch", (cib.version().epoch + 1).to_string());
    patch::diff(cib.element(), &new).expect("a change")
}

fn add_primitive(new: &mut Element, id: &str) {
    let p = Element::parse(
        &format!(r#"<primitive id="{id}" class="ocf" provider="pacemaker" type="Dummy"/>"#),
        "test",
    )
    .unwrap();
    new.child_mut("configuration")
        .and_then(|c| c.child_mut("resources"))
        .unwrap()
        .children
        .push(p);
}

/// Both checks on `patch`: (light, cibadmin --patch).
fn both(cib: &Cib, patch: &str) -> (Result<(), PacemakerError>, Result<(), PacemakerError>) {
    (
        Tools::check_change(cib, patch, soon()),
        Tools::check_patch(cib, patch, soon()),
    )
}

#[test]
fn a_valid_change_is_taken_by_both() {
    let cib = cib();
    let patch = patch_of(&cib, |new| add_primitive(new, "d-new"));
    let (light, full) = both(&cib, &patch);
    light.unwrap();
    full.unwrap();
}

#[test]
fn a_duplicate_id_is_refused_by_both_for_the_schema() {
    let cib = cib();
    assert!(cib.element().find_id("d-started").is_some());
    let patch = patch_of(&cib, |new| add_primitive(new, "d-started"));
    let (light, full) = both(&cib, &patch);
    let light = light.unwrap_err();
    assert!(
        matches!(light, PacemakerError::SchemaRefused { .. }),
        "{light}"
    );
    assert!(
        light
            .to_string()
            .contains("does not conform to the configured schema"),
        "{light}"
    );
    assert_eq!(light.exit_code(), Some(78));
    let full = full.unwrap_err();
    assert_eq!(full.exit_code(), Some(78), "{full}");
    assert!(
        full.to_string()
            .contains("does not conform to the configured schema"),
        "{full}"
    );
}

/// The patch adding `constraint` (XML) to the constraints section.
fn patch_adding_constraint(cib: &Cib, constraint: &str) -> String {
    let c = Element::parse(constraint, "test").unwrap();
    patch_of(cib, |new| {
        new.child_mut("configuration")
            .and_then(|c| c.child_mut("constraints"))
            .unwrap()
            .children
            .push(c);
    })
}

#[test]
fn a_value_of_the_wrong_type_or_a_missing_reference_is_refused_by_both() {
    // A score that is not one, a resource that does not exist: only the schema knows.
    let cib = cib();
    for constraint in [
        r#"<rsc_location id="loc-bad" rsc="d-started" node="sim1" score="lots"/>"#,
        r#"<rsc_location id="loc-ghost" rsc="no-such-rsc" node="sim1" score="10"/>"#,
    ] {
        let (light, full) = both(&cib, &patch_adding_constraint(&cib, constraint));
        assert!(
            matches!(light, Err(PacemakerError::SchemaRefused { .. })),
            "{constraint}: {light:?}"
        );
        assert_eq!(full.unwrap_err().exit_code(), Some(78), "{constraint}");
    }
    // The same constraint, valid, is taken by both.
    let good = r#"<rsc_location id="loc-good" rsc="d-started" node="sim1" score="10"/>"#;
    let (light, full) = both(&cib, &patch_adding_constraint(&cib, good));
    light.unwrap();
    full.unwrap();
}

#[test]
fn a_patch_made_against_another_version_is_rejected_by_both() {
    let cib = cib();
    let epoch = cib.version().epoch;
    let patch = patch_of(&cib, |new| add_primitive(new, "d-new")).replacen(
        &format!(r#"<source admin_epoch="0" epoch="{epoch}"/>"#),
        &format!(r#"<source admin_epoch="0" epoch="{}"/>"#, epoch - 1),
        1,
    );
    let (light, full) = both(&cib, &patch);
    assert!(
        matches!(light, Err(PacemakerError::PatchRejected { .. })),
        "{light:?}"
    );
    assert!(
        matches!(full, Err(PacemakerError::PatchRejected { .. })),
        "{full:?}"
    );
}

#[test]
fn a_path_that_leads_nowhere_fails_both() {
    let cib = cib();
    let patch = patch_of(&cib, |new| add_primitive(new, "d-new")).replace(
        r#"path="/cib/configuration/resources""#,
        r#"path="/cib/configuration/nosuch""#,
    );
    assert!(patch.contains("/cib/configuration/nosuch"), "{patch}");
    let (light, full) = both(&cib, &patch);
    let light = light.unwrap_err();
    assert!(light.to_string().contains("crm_diff"), "{light}");
    assert!(
        light
            .to_string()
            .contains("Application of update diff failed"),
        "{light}"
    );
    assert!(full.is_err());
}

#[test]
fn the_status_is_left_out_only_for_a_configuration_patch() {
    let cib = cib();
    let config = patch_of(&cib, |new| add_primitive(new, "d-new"));
    assert!(configuration_only(&config).unwrap());
    let status = patch_of(&cib, |new| {
        let s = new.child_mut("status").unwrap();
        s.children.push(Element::new("node_state"));
    });
    assert!(!configuration_only(&status).unwrap());
    assert!(configuration_only("<diff/>").unwrap());
    assert!(configuration_only("<diff").is_err());
}
