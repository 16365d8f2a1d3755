//! Tests of the tool-result interpreters on recorded Pacemaker 2.1.5 outputs, with the exit
//! codes recorded in tests/fixtures/pacemaker/README.md.

use super::*;

fn outcome<'a>(code: i32, stdout: &'a str, stderr: &'a str) -> Outcome<'a> {
    Outcome {
        cmdline: "tool --args",
        code: Some(code),
        stdout,
        stderr,
    }
}

#[test]
fn node_attribute_queries() {
    let found = outcome(0, fixture!("crm_attribute-get.xml"), "");
    assert_eq!(
        attribute_query(&found, Some("sim2")).unwrap().as_deref(),
        Some("observer")
    );
    let reboot = outcome(0, fixture!("crm_attribute-get-reboot.xml"), "");
    assert_eq!(
        attribute_query(&reboot, Some("sim1")).unwrap().as_deref(),
        Some("42")
    );
    let util = outcome(0, fixture!("crm_attribute-utilization-get.xml"), "");
    assert_eq!(
        attribute_query(&util, Some("sim1")).unwrap().as_deref(),
        Some("8")
    );

    // Not set: exit 105, which is not an error for a query.
    let missing = outcome(105, fixture!("crm_attribute-get-notfound.xml"), "");
    assert_eq!(attribute_query(&missing, Some("sim1")).unwrap(), None);

    // An unknown node: also 105, told apart by the error text.
    let bad_node = outcome(105, fixture!("crm_attribute-get-badnode.xml"), "");
    let err = attribute_query(&bad_node, Some("nosuch")).unwrap_err();
    assert!(
        matches!(&err, PacemakerError::NodeNotFound { node } if node == "nosuch"),
        "{err}"
    );

    let down = outcome(102, fixture!("crm_attribute-get-no-cluster.xml"), "");
    let err = attribute_query(&down, Some("sim1")).unwrap_err();
    assert!(err.is_not_connected(), "{err}");
    assert!(
        err.to_string().contains("Could not connect to the CIB"),
        "{err}"
    );
}

#[test]
fn node_attribute_updates() {
    for name in [
        fixture!("crm_attribute-set.xml"),
        fixture!("crm_attribute-delete.xml"),
        fixture!("crm_attribute-delete-notfound.xml"),
        fixture!("crm_attribute-promotion-set.xml"),
        fixture!("crm_attribute-promotion-delete.xml"),
    ] {
        attribute_update(&outcome(0, name, ""), Some("sim3")).unwrap();
    }
    let bad_node = outcome(105, fixture!("crm_attribute-get-badnode.xml"), "");
    assert!(matches!(
        attribute_update(&bad_node, Some("nosuch")),
        Err(PacemakerError::NodeNotFound { .. })
    ));
    let down = outcome(102, fixture!("crm_attribute-get-no-cluster.xml"), "");
    assert!(attribute_update(&down, None)
        .unwrap_err()
        .is_not_connected());
}

#[test]
fn promotion_scores() {
    let got = outcome(0, fixture!("crm_attribute-promotion-get.xml"), "");
    assert_eq!(attribute_query(&got, None).unwrap().as_deref(), Some("5"));
    let missing = outcome(
        105,
        fixture!("crm_attribute-promotion-get-notfound.xml"),
        "",
    );
    assert_eq!(attribute_query(&missing, Some("sim1")).unwrap(), None);
}

#[test]
fn text_mode_outputs_are_not_what_the_wrappers_read() {
    // The wrappers always ask for XML; the text forms are recorded for reference only.
    let text = outcome(0, fixture!("crm_attribute-get.txt"), "");
    assert!(matches!(
        attribute_query(&text, Some("sim2")),
        Err(PacemakerError::Parse { .. })
    ));
    assert_eq!(fixture!("crm_attribute-get-quiet.txt"), "observer\n");
    // Text mode, not set: exit 105, nothing on stdout, the reason on stderr.
    for (stdout, stderr) in [
        (
            fixture!("crm_attribute-get-notfound.txt"),
            fixture!("crm_attribute-get-notfound.txt.stderr"),
        ),
        (
            fixture!("crm_attribute-get-notfound-quiet.txt"),
            fixture!("crm_attribute-get-notfound-quiet.txt.stderr"),
        ),
    ] {
        let err = attribute_query(&outcome(105, stdout, stderr), Some("sim1")).unwrap_err();
        assert_eq!(err.exit_code(), Some(105));
        assert!(
            err.to_string().contains("No such device or address"),
            "{err}"
        );
    }
    assert_eq!(fixture!("crm_attribute-delete-notfound.txt"), "");
    assert_eq!(fixture!("crm_resource-utilization-get.txt"), "2\n");
    assert_eq!(fixture!("crm_resource-utilization-get-notfound.txt"), "");
    assert_eq!(
        fixture!("crm_resource-utilization-get-notfound.txt.stderr").trim(),
        "Attribute 'disk' not found for 'd-started'"
    );
    assert!(fixture!("crm_resource-utilization-set.txt").starts_with("Set 'd-started' option:"));
}

#[test]
fn resource_utilization() {
    let got = outcome(0, fixture!("crm_resource-utilization-get.xml"), "");
    assert_eq!(
        resource_param_query(&got, "d-started", "cpu")
            .unwrap()
            .as_deref(),
        Some("2")
    );
    assert_eq!(
        resource_param_query(&got, "d-started", "memory").unwrap(),
        None
    );
    // Not set: exit 0 and no <list>.
    let missing = outcome(0, fixture!("crm_resource-utilization-get-notfound.xml"), "");
    assert_eq!(
        resource_param_query(&missing, "d-started", "disk").unwrap(),
        None
    );
    let no_rsc = outcome(105, fixture!("crm_resource-utilization-get-norsc.xml"), "");
    let err = resource_param_query(&no_rsc, "nosuch", "cpu").unwrap_err();
    assert_eq!(err.to_string(), "Resource nosuch is not in the CIB.");
    for xml in [
        fixture!("crm_resource-utilization-set.xml"),
        fixture!("crm_resource-utilization-delete.xml"),
        fixture!("crm_resource-utilization-delete-notfound.xml"),
    ] {
        resource_param_update(&outcome(0, xml, ""), "d-started").unwrap();
    }
    assert!(matches!(
        resource_param_update(&no_rsc, "nosuch"),
        Err(PacemakerError::ResourceNotFound { .. })
    ));
}

#[test]
fn crm_mon_and_cibadmin_results() {
    let ok = outcome(0, fixture!("crm_mon-3nodes-idle.xml"), "");
    assert_eq!(crm_mon(&ok).unwrap().nodes.len(), 3);
    let down = outcome(102, fixture!("crm_mon-no-cluster.xml"), "");
    let err = crm_mon(&down).unwrap_err();
    assert!(err.is_not_connected());
    assert!(
        err.to_string()
            .starts_with("`tool --args` failed with exit code 102"),
        "{err}"
    );
    let killed = Outcome {
        code: None,
        ..outcome(0, "<pacemaker-result><summ", "")
    };
    assert!(crm_mon(&killed)
        .unwrap_err()
        .to_string()
        .contains("killed by a signal"));

    let cib = outcome(0, fixture!("cib-query.xml"), "");
    assert_eq!(cib_query(&cib).unwrap().version().epoch, 27);
    let down = outcome(
        102,
        fixture!("cibadmin-query-no-cluster.txt"),
        fixture!("cibadmin-query-no-cluster.txt.stderr"),
    );
    let err = cib_query(&down).unwrap_err();
    assert!(err.is_not_connected());
    assert!(
        err.to_string()
            .contains("Could not connect to the CIB: Transport endpoint is not connected"),
        "{err}"
    );
}

#[test]
fn crm_node_outputs() {
    let nodes = crm_node_list(fixture!("crm_node-l.txt")).unwrap();
    assert_eq!(nodes.len(), 3);
    assert_eq!(
        nodes[1],
        ClusterNode {
            id: 2,
            name: Some("sim2".into()),
            state: Membership::Member
        }
    );
    let after_kill = crm_node_list(fixture!("crm_node-l-node-lost.txt")).unwrap();
    assert_eq!(after_kill[2].state, Membership::Lost);
    assert_eq!(after_kill[2].name.as_deref(), Some("sim3"));
    let odd = crm_node_list("4 (null) member\n5 x joining\n").unwrap();
    assert_eq!(
        (odd[0].name.as_deref(), &odd[1].state),
        (None, &Membership::Other("joining".into()))
    );
    assert!(crm_node_list("1 sim1\n")
        .unwrap_err()
        .to_string()
        .contains("crm_node -l output"));
    assert!(crm_node_list("x sim1 member\n").is_err());

    assert_eq!(crm_node_name(fixture!("crm_node-n.txt")).unwrap(), "sim2");
    assert!(crm_node_name(fixture!("crm_node-n-no-cluster.txt")).is_err());
    assert_eq!(
        fixture!("crm_node-n-no-cluster.txt.stderr").trim(),
        "error: Could not connect to controller: Connection refused"
    );

    assert_eq!(
        crm_node_partition(fixture!("crm_node-p.txt")),
        ["sim1", "sim2"]
    );
    assert!(crm_node_quorum(&outcome(0, fixture!("crm_node-q.txt"), "")).unwrap());
    // Without quorum, 2.1.5 prints 0 *and* exits 106.
    let no_quorum = outcome(106, fixture!("crm_node-q-no-quorum.txt"), "");
    assert!(!crm_node_quorum(&no_quorum).unwrap());
    assert!(crm_node_quorum(&outcome(102, "", "error: Could not connect")).is_err());
    assert!(crm_node_quorum(&outcome(0, "maybe", "")).is_err());
}

#[test]
fn crm_diff_and_patch_results() {
    assert_eq!(
        crm_diff(&outcome(0, fixture!("crm_diff-identical.xml"), "")).unwrap(),
        None
    );
    let patch = crm_diff(&outcome(1, fixture!("crm_diff-patch.xml"), ""))
        .unwrap()
        .unwrap();
    assert!(patch.starts_with("<diff format=\"2\">"));
    assert!(crm_diff(&outcome(1, "", "")).is_err());
    assert!(crm_diff(&outcome(2, "", "crm_diff: bad input")).is_err());

    cib_patch(&outcome(0, fixture!("cibadmin-patch-ok.txt"), "")).unwrap();
    let stale = outcome(
        103,
        fixture!("cibadmin-patch-stale.txt"),
        fixture!("cibadmin-patch-stale.txt.stderr"),
    );
    let err = cib_patch(&stale).unwrap_err();
    assert!(matches!(err, PacemakerError::PatchRejected { .. }), "{err}");
    assert_eq!(err.exit_code(), Some(103));
    assert!(cib_patch(&outcome(102, "", "Could not connect"))
        .unwrap_err()
        .is_not_connected());
}

#[test]
fn crm_diff_apply_and_load_check_results() {
    let cib = fixture!("cib-query.xml");
    assert_eq!(crm_diff_apply(&outcome(0, cib, "")).unwrap(), cib);
    // exit 0 without a CIB is not taken as one
    assert!(matches!(
        crm_diff_apply(&outcome(0, "", "")),
        Err(PacemakerError::Parse { .. })
    ));
    let old = outcome(103, "", fixture!("crm_diff-apply-old.txt.stderr"));
    let err = crm_diff_apply(&old).unwrap_err();
    assert!(matches!(err, PacemakerError::PatchRejected { .. }), "{err}");
    let lost = outcome(1, "", fixture!("crm_diff-apply-bad-path.txt.stderr"));
    let msg = crm_diff_apply(&lost).unwrap_err().to_string();
    assert_eq!(
        msg,
        "`tool --args` failed with exit code 1 (Error occurred): Could not apply patch: \
         Application of update diff failed"
    );

    cib_load_check(&outcome(0, fixture!("cibadmin-load-check-ok.xml"), "")).unwrap();
    let invalid = outcome(78, "", fixture!("cibadmin-load-check-invalid.txt.stderr"));
    let err = cib_load_check(&invalid).unwrap_err();
    assert!(matches!(err, PacemakerError::SchemaRefused { .. }), "{err}");
    assert_eq!(err.exit_code(), Some(78));
    assert_eq!(
        err.to_string(),
        "Pacemaker would refuse the change: the CIB with it does not conform to the configured \
         schema (`tool --args` on a private copy of the CIB with the change, exit code 78)."
    );
    // Another exit 78 (not the schema's words), or any other failure: the tool's own error.
    let other = cib_load_check(&outcome(78, "", "something else")).unwrap_err();
    assert!(
        matches!(other, PacemakerError::ToolFailed { .. }),
        "{other}"
    );
    let gone = cib_load_check(&outcome(105, "", "No such device or address")).unwrap_err();
    assert_eq!(gone.exit_code(), Some(105));
}

#[test]
fn a_cib_dump_on_stderr_stays_out_of_the_error() {
    // Recorded: `cibadmin --patch --xml-pipe` (CIB_file) with a patch whose group meta holds
    // two nvpairs of one id: the numbered CIB (138 lines, 9.8 KB), then the reason.
    let stderr = fixture!("cibadmin-patch-invalid.txt.stderr");
    assert!(stderr.len() > 9_000 && stderr.contains("<cib "));
    let err = cib_patch(&outcome(78, "", stderr)).unwrap_err();
    let msg = err.to_string();
    assert_eq!(
        msg,
        "`tool --args` failed with exit code 78 (Invalid configuration): (138 lines of XML left \
         out); Call failed: Update does not conform to the configured schema"
    );
    // A long stderr of plain lines keeps its last lines, each cut short.
    let long: String = (0..500)
        .map(|i| format!("line {i} {}\n", "é".repeat(300)))
        .collect();
    let msg = plain_failure(&outcome(1, "", &long)).to_string();
    assert!(msg.len() < 8 * 260 + 200, "{} bytes", msg.len());
    assert!(msg.contains("(492 earlier lines left out)"), "{msg}");
    assert!(
        msg.contains("line 499 éé") && !msg.contains("line 491 "),
        "{msg}"
    );
    // <error> elements of the XML output are cut the same way.
    let errors: String = (0..50).map(|i| format!("<error>e{i}</error>")).collect();
    let xml = format!(
        r#"<pacemaker-result><status code="1" message="Error occurred"><errors>{errors}</errors></status></pacemaker-result>"#
    );
    let msg = resource_param_update(&outcome(1, &xml, ""), "st")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("(42 earlier lines left out); e42;") && msg.ends_with("e49"),
        "{msg}"
    );
}

#[test]
fn results_without_xml() {
    // A tool that died before printing XML: the exit code and stderr make the error.
    let out = outcome(1, "", "crm_attribute: something broke\n\n");
    let err = attribute_query(&out, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`tool --args` failed with exit code 1 (Error occurred): crm_attribute: something broke"
    );
    // Exit 0 with garbage is a parse error naming the tool's XML.
    let err = resource_param_query(&outcome(0, "garbage", ""), "r", "n").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Could not parse crm_resource XML"),
        "{err}"
    );
    // A status element with an unexpected code.
    let xml = r#"<pacemaker-result><status code="78" message="Invalid configuration">
        <errors><error>crm_resource: Error performing operation: Invalid configuration</error>
        </errors></status></pacemaker-result>"#;
    let err = resource_param_update(&outcome(78, xml, ""), "st").unwrap_err();
    assert_eq!(err.exit_code(), Some(78));
    assert!(err.to_string().contains("(Invalid configuration)"), "{err}");
}

#[test]
fn controller_states() {
    let idle = controller_state(&outcome(0, fixture!("crmadmin-S-dc-idle.xml"), "")).unwrap();
    assert!(idle.is_idle() && !idle.is_not_dc());
    let busy = controller_state(&outcome(0, fixture!("crmadmin-S-dc-transition.xml"), "")).unwrap();
    assert_eq!(busy.0, "S_TRANSITION_ENGINE");
    assert!(!busy.is_idle());
    let other = controller_state(&outcome(0, fixture!("crmadmin-S-not-dc.xml"), "")).unwrap();
    assert!(other.is_not_dc() && !other.is_idle());
    // An unknown node never answers: crmadmin gives up after its timeout, exit 124.
    let err = controller_state(&outcome(124, fixture!("crmadmin-S-timeout.xml"), "")).unwrap_err();
    assert_eq!(err.exit_code(), Some(124));
    assert!(err.to_string().contains("No reply received"), "{err}");
    // No cluster here: 102, "Not connected".
    let err =
        controller_state(&outcome(102, fixture!("crmadmin-S-no-cluster.xml"), "")).unwrap_err();
    assert!(err.is_not_connected(), "{err}");
    // An answer without a state is not taken for one.
    let empty = r#"<pacemaker-result><status code="0" message="OK"/></pacemaker-result>"#;
    assert!(controller_state(&outcome(0, empty, "")).is_err());
}
