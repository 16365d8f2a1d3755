//! Tests of the `crm_mon` view on recorded Pacemaker 2.1.5 outputs (see the fixture README).

use super::*;
use crate::pacemaker::error::PacemakerError;

fn parse(xml: &str) -> ClusterStatus {
    ClusterStatus::parse(xml).unwrap_or_else(|e| panic!("{e}"))
}

fn names(nodes: impl Iterator<Item = impl AsRef<str>>) -> Vec<String> {
    nodes.map(|n| n.as_ref().to_string()).collect()
}

#[test]
fn idle_three_nodes() {
    let s = parse(fixture!("crm_mon-3nodes-idle.xml"));
    assert_eq!(s.api_version.as_deref(), Some("2.25"));
    assert_eq!(s.pacemakerd_state.as_deref(), Some("running"));
    assert_eq!(s.summary.stack.as_deref(), Some("corosync"));
    let dc = s.dc().unwrap();
    assert_eq!(
        (dc.name.as_str(), dc.id.as_deref(), dc.with_quorum),
        ("sim3", Some("3"), true)
    );
    assert_eq!(dc.version.as_deref(), Some("2.1.5-a3f44794f94"));
    assert!(s.is_quorate());
    assert_eq!(s.summary.nodes_configured, 3);
    assert_eq!(s.summary.resources_configured, 1);
    assert!(s.summary.stonith_enabled());
    assert!(!s.summary.maintenance_mode());
    assert_eq!(s.summary.option("no-quorum-policy"), Some("stop"));
    let last = s.summary.last_change.as_ref().unwrap();
    assert_eq!(
        (last.user.as_deref(), last.client.as_deref()),
        (Some("hacluster"), Some("crmd"))
    );
    assert_eq!(s.nodes.len(), 3);
    assert_eq!(
        names(s.online_nodes().map(|n| &n.name)),
        ["sim1", "sim2", "sim3"]
    );
    let sim3 = s.node("sim3").unwrap();
    assert!(sim3.is_dc && sim3.expected_up && !sim3.unclean && !sim3.standby);
    assert_eq!(sim3.node_type, NodeType::Member);
    assert_eq!(sim3.feature_set.as_deref(), Some("3.16.1"));
    assert_eq!(sim3.health.as_deref(), Some("green"));
    assert_eq!(s.node("sim1").unwrap().resources_running, 1);
    assert!(s.node("sim4").is_none());
    assert_eq!(s.resources.len(), 1);
    let pdu = &s.resources[0];
    assert_eq!(pdu.resource_agent, "stonith:external/simpdu");
    assert_eq!(pdu.role, Role::Started);
    assert!(pdu.active && pdu.managed && !pdu.failed);
    assert_eq!(s.where_running("st-pdu"), ["sim1"]);
    assert!(s.collections.is_empty() && s.failures.is_empty() && s.bans.is_empty());
    let history = s.history("sim1", "st-pdu").unwrap();
    assert_eq!(history.migration_threshold, Some(1_000_000));
    let ops: Vec<(&str, Option<i32>, u64)> = history
        .operations
        .iter()
        .map(|o| (o.task.as_str(), o.rc, o.interval_ms))
        .collect();
    assert_eq!(ops, [("start", Some(0), 0), ("monitor", Some(0), 60_000)]);
    assert_eq!(history.operations[0].exec_time_ms, Some(1048));
    assert_eq!(history.operations[1].call, Some(7));
}

#[test]
fn resources_groups_clones_attributes() {
    let s = parse(fixture!("crm_mon-resources.xml"));
    assert_eq!(s.summary.resources_configured, 11);
    assert_eq!(s.summary.resources_disabled, 1);
    assert_eq!(s.where_running("d-started"), ["sim3"]);

    let stopped = &s.resource("d-stopped")[0];
    assert_eq!(stopped.role, Role::Stopped);
    assert_eq!(stopped.target_role, Some(Role::Stopped));
    assert!(!stopped.active && stopped.nodes.is_empty() && stopped.parent.is_none());
    assert!(s.where_running("d-stopped").is_empty());

    let groups: Vec<&Collection> = s.groups().collect();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].id, "grp");
    assert_eq!(groups[0].members, ["d-g1", "d-g2"]);
    for member in ["d-g1", "d-g2"] {
        let rsc = &s.resource(member)[0];
        assert_eq!(rsc.parent.as_deref(), Some("grp"));
        assert_eq!(rsc.resource_agent, "ocf:pacemaker:Dummy");
    }
    assert_eq!(
        names(s.resource("grp").iter().map(|r| &r.id)),
        ["d-g1", "d-g2"]
    );
    assert_eq!(s.where_running("grp"), ["sim3"]);

    let clones: Vec<&Collection> = s.clones().collect();
    assert_eq!(names(clones.iter().map(|c| &c.id)), ["ms-st", "cl-plain"]);
    assert!(clones[0].promotable && !clones[1].promotable && !clones[0].unique);
    assert_eq!(clones[0].members, ["st"]);
    let st = s.resource("st");
    assert_eq!(st.len(), 3);
    assert!(st.iter().all(|r| r.parent.as_deref() == Some("ms-st")));
    let roles: Vec<(&Role, &str)> = st.iter().map(|r| (&r.role, r.nodes[0].as_str())).collect();
    assert_eq!(
        roles,
        [
            (&Role::Promoted, "sim2"),
            (&Role::Unpromoted, "sim1"),
            (&Role::Unpromoted, "sim3")
        ]
    );
    assert_eq!(s.resource("ms-st").len(), 3);
    assert_eq!(s.promoted_on("ms-st"), ["sim2"]);
    assert_eq!(s.promoted_on("st"), ["sim2"]);
    assert_eq!(s.where_running("cl-plain"), ["sim2", "sim1", "sim3"]);
    assert_eq!(s.where_running("d-cl").len(), 3);
    assert!(s.bundles().next().is_none());

    assert_eq!(s.node_attribute("sim2", "vmmgr-role"), Some("observer"));
    assert_eq!(s.node_attribute("sim1", "vmmgr-transient"), Some("42"));
    assert_eq!(s.node_attribute("sim2", "master-st"), Some("10"));
    assert_eq!(s.node_attribute("sim3", "vmmgr-role"), None);

    let bans: Vec<(&str, &str, &str, Score)> = s
        .bans
        .iter()
        .map(|b| {
            (
                b.id.as_str(),
                b.resource.as_str(),
                b.node.as_str(),
                b.weight,
            )
        })
        .collect();
    assert_eq!(
        bans,
        [
            ("loc-grp-rule-r", "grp", "sim2", Score::MINUS_INFINITY),
            (
                "loc-d-stopped-sim3",
                "d-stopped",
                "sim3",
                Score::MINUS_INFINITY
            )
        ]
    );
    // The live migration of d-started shows in the operation history of both nodes.
    let source = s.history("sim2", "d-started").unwrap();
    assert!(source.operations.iter().any(|o| o.task == "migrate_to"));
    let target = s.history("sim3", "d-started").unwrap();
    assert_eq!(target.operations[0].task, "migrate_from");
    let promoted_monitor = &s.history("sim2", "st").unwrap().operations[1];
    assert_eq!(promoted_monitor.rc, Some(8));
    assert_eq!(promoted_monitor.rc_text.as_deref(), Some("promoted"));
    assert!(s.failures.is_empty());
}

#[test]
fn failed_actions_and_blocked_resource() {
    let s = parse(fixture!("crm_mon-failures.xml"));
    assert_eq!(s.summary.resources_blocked, 1);
    let block = &s.resource("d-block")[0];
    assert!(block.failed && block.blocked && !block.managed && block.active);
    let vd = &s.resource("vd-bad")[0];
    assert_eq!(vd.resource_agent, "ocf:heartbeat:VirtualDomain");
    assert_eq!(vd.role, Role::Stopped);
    assert!(
        !vd.failed,
        "a resource that failed to start everywhere is just stopped"
    );

    assert_eq!(s.failures.len(), 6);
    let vd_failures = s.failures_for("vd-bad");
    assert_eq!(
        names(vd_failures.iter().map(|f| &f.node)),
        ["sim2", "sim1", "sim3"]
    );
    let f = vd_failures[0];
    assert_eq!(f.op_key, "vd-bad_start_0");
    assert_eq!(f.resource(), "vd-bad");
    assert_eq!((f.task.as_deref(), f.interval_ms), (Some("start"), Some(0)));
    assert_eq!(f.exitcode, Some(5));
    assert_eq!(f.exitstatus, "not installed");
    assert_eq!(
        f.exitreason,
        "environment is invalid, resource considered stopped"
    );
    assert_eq!(f.status.as_deref(), Some("complete"));
    assert_eq!(f.last_rc_change.as_deref(), Some("2026-11-22 02:09:24Z"));
    assert_eq!(f.exec_ms, Some(57));

    let fail = s.failures_for("d-fail");
    assert_eq!(fail.len(), 1);
    assert_eq!((fail[0].node.as_str(), fail[0].exitcode), ("sim1", Some(1)));
    assert_eq!(fail[0].exitstatus, "error");
    assert!(fail[0].exitreason.is_empty());
    let monitor = s.failures_for("cl-plain");
    assert_eq!(monitor.len(), 1);
    assert_eq!(monitor[0].op_key, "d-cl_monitor_10000");
    assert_eq!(
        (monitor[0].interval_ms, monitor[0].exitcode),
        (Some(10_000), Some(7))
    );
    assert_eq!(s.where_running("d-fail"), ["sim2"]);

    let on_sim1 = s.history("sim1", "d-fail").unwrap();
    assert_eq!(on_sim1.fail_count, Some(1_000_000));
    assert!(on_sim1.last_failure.is_some());
    assert_eq!(s.history("sim2", "d-block").unwrap().fail_count, Some(1));
    assert_eq!(s.history("sim2", "st").unwrap().fail_count, None);
}

#[test]
fn include_all_adds_nothing_in_xml_mode() {
    let all = parse(fixture!("crm_mon-include-all.xml"));
    let default = parse(fixture!("crm_mon-failures.xml"));
    assert_eq!(all, default);
}

#[test]
fn standby_node() {
    let s = parse(fixture!("crm_mon-standby.xml"));
    let sim3 = s.node("sim3").unwrap();
    assert!(sim3.standby && sim3.online && sim3.is_dc);
    assert_eq!(sim3.resources_running, 0);
    assert!(!s.node("sim1").unwrap().standby);
    // Clone instances that cannot run anywhere are listed as stopped, without a node.
    let st = s.resource("st");
    assert_eq!(st.len(), 3);
    assert_eq!(st[2].role, Role::Stopped);
    assert!(st[2].nodes.is_empty());
    assert!(!s.where_running("ms-st").contains(&"sim3"));
    assert_eq!(s.resource("d-new")[0].target_role, Some(Role::Stopped));
}

#[test]
fn killed_node_while_unclean() {
    let s = parse(fixture!("crm_mon-node-unclean.xml"));
    assert_eq!(s.dc().unwrap().name, "sim2");
    assert!(s.is_quorate());
    let sim3 = s.node("sim3").unwrap();
    assert!(!sim3.online && sim3.unclean && sim3.expected_up && !sim3.is_dc);
    assert_eq!(sim3.resources_running, 3);
    assert_eq!(sim3.feature_set, None);
    // Until fencing is done, its resources are still reported where they were.
    assert_eq!(s.where_running("d-fail"), ["sim3"]);
    assert!(s.fence_history.is_empty());
    assert_eq!(names(s.online_nodes().map(|n| &n.name)), ["sim1", "sim2"]);
}

#[test]
fn killed_node_being_fenced() {
    let s = parse(fixture!("crm_mon-node-fencing.xml"));
    assert!(s.node("sim3").unwrap().unclean);
    assert_eq!(s.fence_history.len(), 1);
    let f = &s.fence_history[0];
    assert_eq!(
        (f.action.as_str(), f.target.as_str(), f.status.as_str()),
        ("reboot", "sim3", "pending")
    );
    assert_eq!(f.origin.as_deref(), Some("sim2"));
    assert_eq!(f.extended_status.as_deref(), Some("0"));
    assert_eq!(
        (f.delegate.as_deref(), f.completed.as_deref()),
        (None, None)
    );
}

#[test]
fn killed_node_after_fencing() {
    let s = parse(fixture!("crm_mon-node-killed.xml"));
    let sim3 = s.node("sim3").unwrap();
    assert!(!sim3.online && !sim3.unclean && !sim3.expected_up);
    assert_eq!(sim3.resources_running, 0);
    let f = &s.fence_history[0];
    assert_eq!(f.status, "success");
    assert_eq!(f.delegate.as_deref(), Some("sim1"));
    assert_eq!(f.completed.as_deref(), Some("2026-11-22 02:10:40Z"));
    assert_eq!(s.where_running("d-fail"), ["sim2"]);
    assert_eq!(s.where_running("cl-plain"), ["sim2", "sim1"]);
    assert_eq!(s.promoted_on("ms-st"), ["sim2"]);
    assert_eq!(s.failures.len(), 5);
    assert!(s.history("sim3", "d-fail").is_none());
}

#[test]
fn partition_without_quorum() {
    let s = parse(fixture!("crm_mon-no-quorum.xml"));
    let dc = s.dc().unwrap();
    assert_eq!((dc.name.as_str(), dc.with_quorum), ("sim1", false));
    assert!(!s.is_quorate());
    assert!(s.node("sim2").unwrap().unclean);
    assert_eq!(s.node("sim1").unwrap().resources_running, 0);
    // The unclean node's resources are reported where they were last seen.
    assert_eq!(s.where_running("d-fail"), ["sim2"]);
    assert!(s.where_running("d-started").is_empty());
}

#[test]
fn no_dc_elected_yet() {
    let s = parse(fixture!("crm_mon-no-dc.xml"));
    assert!(s.dc().is_none());
    assert!(!s.is_quorate());
    assert!(s.nodes.iter().all(|n| !n.online && n.unclean && !n.is_dc));
    assert_eq!(s.online_nodes().count(), 0);
    assert!(s.resources.iter().all(|r| !r.active));
}

#[test]
fn status_from_a_cib_file() {
    let s = parse(fixture!("crm_mon-cib-file.xml"));
    assert_eq!(s.pacemakerd_state, None);
    assert_eq!(s.dc().unwrap().name, "sim3");
    assert_eq!(s.summary.resources_configured, 14);
    assert_eq!(s.resource("d-block")[0].role, Role::Started);
}

#[test]
fn cluster_not_reachable_is_a_tool_failure() {
    let err = ClusterStatus::parse(fixture!("crm_mon-no-cluster.xml")).unwrap_err();
    assert!(err.is_not_connected(), "{err}");
    let PacemakerError::ToolFailed {
        code,
        message,
        errors,
        cmdline,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!((*code, message.as_str()), (102, "Not connected"));
    assert_eq!(cmdline, "crm_mon --output-as=xml");
    assert_eq!(
        errors[1],
        "crm_mon: Connection to cluster failed: Connection refused"
    );
}

#[test]
fn text_output_is_refused_with_a_parse_error() {
    let err = ClusterStatus::parse(fixture!("crm_mon-text.txt")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("Could not parse crm_mon XML:"), "{msg}");
    assert!(msg.contains("not XML"), "{msg}");
}

#[test]
fn unknown_elements_and_attributes_are_ignored() {
    let xml = r#"<pacemaker-result api-version="9.0" request="crm_mon" future="x">
      <future_section><thing/></future_section>
      <summary extra="1"><current_dc present="true" name="n1" with_quorum="true" new="y"/>
        <nodes_configured number="1"/><shiny/></summary>
      <nodes><node name="n1" id="1" online="true" type="member" brand_new="7"><child/></node>
        <remote_thing name="x"/></nodes>
      <resources>
        <resource id="a" resource_agent="ocf:x:y" role="Started" active="true"
                  nodes_running_on="1" sparkle="1"><node name="n1"/><extra/></resource>
        <widget id="w"><resource id="hidden"/></widget>
        <bundle id="b" type="podman" unique="false" managed="true" failed="false">
          <replica id="0">
            <resource id="b-ip-0" resource_agent="ocf:heartbeat:IPaddr2" role="Started"
                      active="true" nodes_running_on="1"><node name="n1"/></resource>
            <resource id="web" resource_agent="ocf:heartbeat:apache" role="Master"
                      active="true" nodes_running_on="1"><node name="n1"/></resource>
          </replica>
        </bundle>
        <clone id="c" multi_state="false"><group id="g" number_resources="1">
          <resource id="m:0" role="Slave" active="true"><node name="n1"/></resource>
        </group></clone>
      </resources>
      <status code="0" message="OK"/>
    </pacemaker-result>"#;
    let s = parse(xml);
    assert_eq!(s.api_version.as_deref(), Some("9.0"));
    assert_eq!(s.nodes.len(), 1);
    assert_eq!(
        names(s.resources.iter().map(|r| &r.id)),
        ["a", "b-ip-0", "web", "m:0"]
    );
    assert!(s.resource("hidden").is_empty());
    assert_eq!(s.bundles().next().unwrap().members, ["b-ip-0", "web"]);
    assert_eq!(s.resource("web")[0].parent.as_deref(), Some("b"));
    assert_eq!(s.resource("web")[0].role, Role::Promoted);
    // A cloned group: the member's parent is the group, the group's parent the clone.
    assert_eq!(s.collection("g").unwrap().parent.as_deref(), Some("c"));
    assert_eq!(s.resource("m")[0].role, Role::Unpromoted);
    assert_eq!(s.resource("c").len(), 1);
    assert_eq!(s.where_running("c"), ["n1"]);
}

#[test]
fn old_crm_mon_root_is_accepted() {
    let xml = r#"<crm_mon version="2.0.1"><summary><current_dc present="false"/></summary>
      <nodes/><resources/></crm_mon>"#;
    let s = parse(xml);
    assert_eq!(s.api_version.as_deref(), Some("2.0.1"));
    assert!(s.dc().is_none());
}

#[test]
fn malformed_documents_are_parse_errors() {
    for (xml, needle) in [
        ("", "no XML element"),
        ("<pacemaker-result><summary>", "ends inside <summary>"),
        ("<cib/>", "root element is <cib>"),
        ("<pacemaker-result/>", "no <summary>"),
        (
            "<pacemaker-result><summary/><nodes><node id=\"1\"/></nodes></pacemaker-result>",
            "<node> has no name attribute",
        ),
        (
            "<pacemaker-result><summary><nodes_configured number=\"three\"/></summary>\
             </pacemaker-result>",
            "number=\"three\", not a number",
        ),
    ] {
        let err = ClusterStatus::parse(xml).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, PacemakerError::Parse { .. }), "{msg}");
        assert!(
            msg.contains("crm_mon XML") && msg.contains(needle),
            "{xml}: {msg}"
        );
    }
}

#[test]
fn failure_resource_ids_with_underscores() {
    let failure = |op_key: &str, task: Option<&str>, interval: Option<u64>| Failure {
        op_key: op_key.to_string(),
        task: task.map(str::to_string),
        interval_ms: interval,
        ..Failure::default()
    };
    assert_eq!(failure("vm_a_migrate_to_0", None, None).resource(), "vm_a");
    assert_eq!(failure("vm_a_monitor_10000", None, None).resource(), "vm_a");
    let f = failure("vm_a_migrate_from_0", Some("migrate_from"), Some(0));
    assert_eq!(f.resource(), "vm_a");
    assert_eq!(failure("odd", None, None).resource(), "odd");
    assert_eq!(base_id("st:12"), "st");
    assert_eq!(base_id("st:x"), "st:x");
    assert_eq!(base_id("st:"), "st:");
}

#[test]
fn guest_node() {
    // A VM (group g1) whose domain carries remote-node=g1-guest, with a Dummy placed on it.
    let s = parse(fixture!("crm_mon-guest-node.xml"));
    let guest = s.node("g1-guest").unwrap();
    assert_eq!(guest.node_type, NodeType::Remote);
    assert_eq!(guest.id_as_resource.as_deref(), Some("vmmgr-domain-g1"));
    assert!(guest.online && !guest.unclean);
    assert_eq!(s.node("sim1").unwrap().id_as_resource, None);
    assert_eq!(s.where_running("gdummy"), ["g1-guest"]);
    assert_eq!(s.where_running("vmmgr-domain-g1"), ["sim2"]);
}
