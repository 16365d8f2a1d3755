//! Tests of the CIB view on recorded Pacemaker 2.1.5 outputs (see the fixture README).

use super::*;
use crate::pacemaker::error::PacemakerError;
use crate::pacemaker::types::Score;

fn parse(xml: &str) -> Cib {
    Cib::parse(xml).unwrap_or_else(|e| panic!("{e}"))
}

fn map(pairs: &[(&str, &str)]) -> Nvpairs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn header_properties_and_nodes() {
    let cib = parse(fixture!("cib-query.xml"));
    let v = cib.version();
    assert_eq!((v.admin_epoch, v.epoch, v.num_updates), (0, 27, 24));
    assert_eq!(v.to_string(), "0.27.24");
    assert_eq!(cib.validate_with.as_deref(), Some("pacemaker-3.9"));
    assert_eq!(cib.crm_feature_set.as_deref(), Some("3.16.1"));
    assert_eq!(cib.dc_uuid.as_deref(), Some("3"));
    assert!(cib.have_quorum);
    assert_eq!(cib.property("stonith-enabled"), Some("true"));
    assert_eq!(cib.property("cluster-name"), Some("simcl"));
    assert_eq!(cib.property("dc-deadtime"), Some("3s"));
    assert_eq!(cib.rsc_defaults, map(&[("resource-stickiness", "100")]));
    assert!(cib.op_defaults.is_empty());

    assert_eq!(cib.nodes.len(), 3);
    let sim1 = cib.node("sim1").unwrap();
    assert_eq!((sim1.id.as_str(), sim1.node_type.as_deref()), ("1", None));
    assert_eq!(sim1.utilization, map(&[("cpu", "8"), ("memory", "4096")]));
    assert!(sim1.attributes.is_empty());
    let sim2 = cib.node("sim2").unwrap();
    assert_eq!(sim2.attributes, map(&[("vmmgr-role", "observer")]));
    assert_eq!(sim2.utilization, map(&[("cpu", "4")]));
    assert!(cib.node("sim3").unwrap().attributes.is_empty());

    // Reboot-lifetime attributes live in the status section.
    assert_eq!(
        cib.transient_attribute("sim1", "vmmgr-transient"),
        Some("42")
    );
    assert_eq!(cib.transient_attribute("sim1", "master-st"), Some("5"));
    assert_eq!(cib.transient_attribute("sim2", "master-st"), Some("10"));
    assert_eq!(cib.transient_attribute("sim2", "vmmgr-role"), None);
}

#[test]
fn resource_tree() {
    let cib = parse(fixture!("cib-query.xml"));
    let top: Vec<&str> = cib.resources.iter().map(CibResource::id).collect();
    assert_eq!(
        top,
        [
            "st-pdu",
            "d-started",
            "d-stopped",
            "grp",
            "ms-st",
            "cl-plain",
            "d-fail",
            "d-block",
            "vd-bad"
        ]
    );
    let ids: Vec<&str> = cib.primitives().iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "st-pdu",
            "d-started",
            "d-stopped",
            "d-g1",
            "d-g2",
            "st",
            "d-cl",
            "d-fail",
            "d-block",
            "vd-bad"
        ]
    );

    let pdu = cib.primitive("st-pdu").unwrap();
    assert_eq!(
        (pdu.class.as_str(), pdu.provider.as_deref()),
        ("stonith", None)
    );
    assert_eq!(pdu.agent(), "stonith:external/simpdu");
    assert_eq!(
        pdu.instance_attributes,
        map(&[("hostlist", "sim1 sim2 sim3")])
    );

    let started = cib.primitive("d-started").unwrap();
    assert_eq!(started.agent(), "ocf:pacemaker:Dummy");
    assert_eq!(started.instance_attributes, map(&[("fake", "hello")]));
    assert_eq!(started.meta_attributes, map(&[("allow-migrate", "true")]));
    // Two <utilization> sets (the second one made by crm_resource -z -p) are merged.
    assert_eq!(started.utilization, map(&[("cpu", "2"), ("memory", "512")]));
    let ops: Vec<(&str, &str, Option<&str>)> = started
        .operations
        .iter()
        .map(|o| (o.name.as_str(), o.interval.as_str(), o.timeout.as_deref()))
        .collect();
    assert_eq!(
        ops,
        [("monitor", "10s", Some("20s")), ("start", "0", Some("30s"))]
    );
    assert_eq!(started.operations[0].id, "d-started-monitor-10s");
    assert_eq!(cib.resource("d-started").unwrap().target_role(), None);
    assert_eq!(
        cib.resource("d-stopped").unwrap().target_role(),
        Some(Role::Stopped)
    );
    assert_eq!(
        cib.primitive("d-block").unwrap().operations[0]
            .on_fail
            .as_deref(),
        Some("block")
    );

    let Some(CibResource::Group(grp)) = cib.resource("grp") else {
        panic!("grp is not a group")
    };
    assert_eq!(grp.meta_attributes, map(&[("description", "two dummies")]));
    let members: Vec<&str> = grp.members.iter().map(CibResource::id).collect();
    assert_eq!(members, ["d-g1", "d-g2"]);
    assert_eq!(cib.parent_of("d-g2"), Some("grp"));
    assert_eq!(cib.parent_of("d-started"), None);
    assert!(cib.resource("d-g1").unwrap().as_primitive().is_some());

    let Some(CibResource::Clone(ms)) = cib.resource("ms-st") else {
        panic!("ms-st is not a clone")
    };
    assert!(ms.promotable);
    assert_eq!(
        ms.meta_attributes.get("promoted-max").map(String::as_str),
        Some("1")
    );
    assert_eq!(ms.child.id(), "st");
    let st = ms.child.as_primitive().unwrap();
    assert_eq!(st.agent(), "ocf:pacemaker:Stateful");
    let roles: Vec<Option<Role>> = st.operations.iter().map(|o| o.role.clone()).collect();
    assert_eq!(roles, [Some(Role::Promoted), Some(Role::Unpromoted)]);
    assert_eq!(cib.parent_of("st"), Some("ms-st"));
    let Some(CibResource::Clone(plain)) = cib.resource("cl-plain") else {
        panic!("cl-plain is not a clone")
    };
    assert!(!plain.promotable);
    assert!(cib.resource("nosuch").is_none());
}

#[test]
fn constraints() {
    let cib = parse(fixture!("cib-query.xml"));
    let c = &cib.constraints;
    let ids: Vec<&str> = c.locations.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "loc-d-started-sim1",
            "loc-d-stopped-sim3",
            "loc-ms-st-promoted",
            "loc-grp-rule",
            "loc-d-fail-sim1",
            "loc-d-block-sim2"
        ]
    );
    let l = c.location("loc-d-started-sim1").unwrap();
    assert_eq!(
        (l.rsc.as_deref(), l.node.as_deref(), l.score),
        (Some("d-started"), Some("sim1"), Some(Score(100)))
    );
    let l = c.location("loc-d-stopped-sim3").unwrap();
    assert_eq!(l.score, Some(Score::MINUS_INFINITY));
    assert_eq!(l.resource_discovery.as_deref(), Some("never"));
    assert_eq!(
        c.location("loc-ms-st-promoted").unwrap().role,
        Some(Role::Promoted)
    );
    let rule = c.location("loc-grp-rule").unwrap();
    assert!(rule.has_rules && rule.node.is_none() && rule.score.is_none());
    assert!(!l.has_rules);

    let col = c.colocation("col-grp-with-d-started").unwrap();
    assert_eq!(
        (col.rsc.as_deref(), col.with_rsc.as_deref(), col.score),
        (Some("grp"), Some("d-started"), Some(Score::INFINITY))
    );
    let set = c.colocation("col-set").unwrap();
    assert_eq!(set.score, Some(Score(-1000)));
    assert_eq!(set.resource_sets.len(), 1);
    assert_eq!(set.resource_sets[0].id, "col-set-0");
    assert_eq!(set.resource_sets[0].sequential, Some(false));
    assert_eq!(set.resource_sets[0].resources, ["d-stopped", "d-started"]);

    let ord = c.order("ord-d-started-then-grp").unwrap();
    assert_eq!(ord.kind.as_deref(), Some("Mandatory"));
    let ord = c.order("ord-ms-then-grp").unwrap();
    assert_eq!(
        (
            ord.first_action.as_deref(),
            ord.then_action.as_deref(),
            ord.score
        ),
        (Some("promote"), Some("start"), Some(Score(0)))
    );
    assert!(c.other.is_empty());

    assert_eq!(
        cib.constraints_for("d-started"),
        [
            "loc-d-started-sim1",
            "col-grp-with-d-started",
            "col-set",
            "ord-d-started-then-grp"
        ]
    );
    assert_eq!(
        cib.constraints_for("grp"),
        [
            "loc-grp-rule",
            "col-grp-with-d-started",
            "ord-d-started-then-grp",
            "ord-ms-then-grp"
        ]
    );
    assert_eq!(
        cib.constraints_for("d-stopped"),
        ["loc-d-stopped-sim3", "col-set"]
    );
    assert!(cib.constraints_for("d-g1").is_empty());
}

/// `by_resource` answers `referring_to` for every resource at once, in the same order.
#[test]
fn constraints_by_resource_agree_with_referring_to() {
    for xml in [
        fixture!("cib-query.xml"),
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/vm-mgr/cib-doctor-planted.xml"
        )),
    ] {
        let cib = parse(xml);
        let index = cib.constraints.by_resource();
        assert!(!index.is_empty());
        let mut named: Vec<&str> = index.keys().copied().collect();
        named.extend(cib.primitives().iter().map(|p| p.id.as_str()));
        named.extend(cib.resources.iter().map(|r| r.id()));
        named.push("nosuch");
        for rsc in named {
            let by_index = index.get(rsc).cloned().unwrap_or_default();
            assert_eq!(by_index, cib.constraints_for(rsc), "{rsc}");
        }
    }
}

#[test]
fn scope_queries_match_the_full_cib() {
    let cib = parse(fixture!("cib-query.xml"));
    let resources = parse_resources_section(fixture!("cib-query-resources-scope.xml")).unwrap();
    assert_eq!(resources, cib.resources);
    let constraints =
        parse_constraints_section(fixture!("cib-query-constraints-scope.xml")).unwrap();
    assert_eq!(constraints, cib.constraints);
    let err = parse_resources_section(fixture!("cib-query-constraints-scope.xml")).unwrap_err();
    assert!(err.to_string().contains("not <resources>"), "{err}");
}

#[test]
fn standby_and_patched_cib() {
    let cib = parse(fixture!("cib-query-standby.xml"));
    assert_eq!(cib.version().to_string(), "0.30.25");
    assert!(cib.version() > parse(fixture!("cib-query.xml")).version());
    assert_eq!(
        cib.node("sim3").unwrap().attributes,
        map(&[("standby", "on")])
    );
    // The crm_diff patch of crm_diff-patch.xml was applied.
    let started = cib.primitive("d-started").unwrap();
    assert_eq!(started.instance_attributes, map(&[("fake", "world")]));
    assert_eq!(
        cib.resource("d-new").unwrap().target_role(),
        Some(Role::Stopped)
    );
    assert!(cib.constraints.location("loc-d-fail-sim1").is_none());
}

#[test]
fn crm_diff_inputs_and_patches() {
    let old = parse(fixture!("cib-query.xml"));
    let new = parse(fixture!("crm_diff-new.xml"));
    assert_eq!(new.version().to_string(), "0.28.24");
    assert!(new.resource("d-new").is_some() && old.resource("d-new").is_none());

    let (source, target) = patch_versions(fixture!("crm_diff-patch.xml"))
        .unwrap()
        .unwrap();
    assert_eq!(source, old.version());
    assert_eq!(target, new.version());
    assert!(target > source);
    assert_eq!(
        patch_versions(fixture!("crm_diff-patch-no-version.xml")).unwrap(),
        None
    );
    assert!(patch_versions(fixture!("cib-query.xml")).is_err());
}

#[test]
fn tree_and_raw_text_are_kept() {
    let xml = fixture!("cib-query.xml");
    let cib = parse(xml);
    assert_eq!(cib.raw(), xml);
    assert_eq!(cib.element().name, "cib");
    // Written back and read again, the tree gives the same typed view.
    let written = cib.element().to_xml();
    let again = Cib::from_element(
        crate::xml::Element::parse(&written, "t").unwrap(),
        xml.to_string(),
    )
    .unwrap();
    assert_eq!(again, cib);
    // An edit of a copy of the tree, as a CIB transaction would make it.
    let mut edited = cib.element().clone();
    let epoch = cib.version().epoch + 1;
    edited.set_attr("epoch", epoch.to_string());
    edited
        .find_id_mut("d-started-ia-fake")
        .unwrap()
        .set_attr("value", "edited");
    let edited = Cib::parse(&edited.to_xml()).unwrap();
    assert_eq!(edited.version().epoch, 28);
    assert_eq!(
        edited.primitive("d-started").unwrap().instance_attributes["fake"],
        "edited"
    );
}

#[test]
fn unknown_and_old_style_elements() {
    let xml = r#"<cib epoch="3" admin_epoch="1" future="y"><configuration>
      <crm_config><cluster_property_set id="a"><nvpair id="a1" name="p" value="first"/>
        </cluster_property_set><cluster_property_set id="b">
        <nvpair id="b1" name="p" value="second"/><nvpair id="b2" id-ref="x"/></cluster_property_set>
      </crm_config>
      <nodes><node id="r1" uname="remote1" type="remote"/><ghost/></nodes>
      <resources>
        <template id="t" class="ocf" provider="heartbeat" type="VirtualDomain"/>
        <master id="old-ms"><primitive id="p1" class="ocf" provider="x" type="y"/></master>
        <bundle id="b"><podman image="i"/><primitive id="inner" class="ocf" provider="h" type="a"/>
        </bundle>
        <primitive id="from-t" template="t"/>
        <teleporter id="z"/>
      </resources>
      <constraints>
        <rsc_ticket id="tk" rsc="p1" ticket="T"/>
        <rsc_colocation id="c2"><resource_set id="s"><resource_ref id="inner"/></resource_set>
        </rsc_colocation>
        <future_constraint id="f"><resource_set id="fs"><resource_ref id="from-t"/></resource_set>
        </future_constraint>
      </constraints>
      <tags><tag id="tag1"/></tags>
    </configuration></cib>"#;
    let cib = parse(xml);
    let v = cib.version();
    assert_eq!((v.admin_epoch, v.epoch, v.num_updates), (1, 3, 0));
    assert_eq!(cib.property("p"), Some("first"));
    assert_eq!(cib.nodes[0].node_type.as_deref(), Some("remote"));
    let top: Vec<&str> = cib.resources.iter().map(CibResource::id).collect();
    assert_eq!(top, ["old-ms", "b", "from-t"]);
    let Some(CibResource::Clone(ms)) = cib.resource("old-ms") else {
        panic!("old-ms")
    };
    assert!(ms.promotable);
    assert_eq!(cib.primitive("inner").unwrap().agent(), "ocf:h:a");
    assert_eq!(cib.parent_of("inner"), Some("b"));
    assert_eq!(
        cib.primitive("from-t").unwrap().template.as_deref(),
        Some("t")
    );
    assert_eq!(cib.constraints_for("p1"), ["tk"]);
    assert_eq!(cib.constraints_for("inner"), ["c2"]);
    assert_eq!(cib.constraints_for("from-t"), ["f"]);
    assert_eq!(cib.constraints.other[0].kind, "rsc_ticket");
}

#[test]
fn malformed_cibs_are_parse_errors() {
    for (xml, needle) in [
        ("", "no XML element"),
        ("<cib><configuration>", "ends inside <configuration>"),
        ("<pacemaker-result/>", "not <cib>"),
        ("<cib epoch=\"1\"/>", "no <configuration>"),
        (
            "<cib epoch=\"x\"><configuration/></cib>",
            "epoch=\"x\", not a number",
        ),
        (
            "<cib><configuration><resources><primitive class=\"ocf\"/></resources>\
             </configuration></cib>",
            "<primitive> has no id attribute",
        ),
        (
            "<cib><configuration><resources><clone id=\"c\"/></resources></configuration></cib>",
            "clone c has no primitive or group",
        ),
        (
            "<cib><configuration><constraints><rsc_location id=\"l\" score=\"lots\"/>\
             </constraints></configuration></cib>",
            "score=\"lots\", not a score",
        ),
    ] {
        let err = Cib::parse(xml).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, PacemakerError::Parse { .. }), "{msg}");
        assert!(
            msg.contains("the CIB") && msg.contains(needle),
            "{xml}: {msg}"
        );
    }
}
