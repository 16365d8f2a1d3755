//! [`super::tree`] and [`super::history`] on the recorded CIB (tests/fixtures/pacemaker/
//! cib-query.xml; its README lists what is in it).

use std::collections::BTreeSet;

use super::history::{forget_history, histories, nodes_with_history, unsettled_move};
use super::tree::*;
use crate::pacemaker::Cib;
use crate::xml::Element;

fn tree() -> Element {
    Element::parse(fixture!("cib-query.xml"), "t").unwrap()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn sections_are_found_by_name_and_missing_ones_are_none() {
    let mut t = tree();
    assert_eq!(section(&t, Section::Resources).unwrap().name, "resources");
    assert_eq!(section(&t, Section::CrmConfig).unwrap().name, "crm_config");
    assert_eq!(
        section(&t, Section::RscDefaults).unwrap().name,
        "rsc_defaults"
    );
    assert!(section(&t, Section::OpDefaults).is_none());
    assert!(section_mut(&mut t, Section::Nodes).is_some());
    let scratch = Element::parse(
        "<cib><configuration><nodes/><resources/><constraints/></configuration></cib>",
        "t",
    )
    .unwrap();
    assert_eq!(empty_cib(), scratch);
    let empty = Element::parse("<cib><configuration/></cib>", "t").unwrap();
    assert!(section(&empty, Section::Constraints).is_none());
    assert!(constraints(&empty).is_empty());
    let mut empty2 = empty.clone();
    assert_eq!(put_constraint(&mut empty2, Element::new("rsc_order")), None);
    assert_eq!(remove_constraints(&mut empty2, &["x".into()]), None);
    assert_eq!(add_resources(&mut empty2, &[]), None);
    assert_eq!(empty2, empty);
    // Only the configuration's ids: the status section repeats resource ids in lrm_resource.
    let ids = configuration_ids(&t);
    assert!(ids.contains(&"d-started") && ids.contains(&"cbo-dc-deadtime"));
    assert!(!ids.contains(&"d-started_last_0"), "status ids leaked in");
}

#[test]
fn nvpairs_are_read_set_and_removed_with_pacemaker_ids() {
    let mut t = tree();
    let d = primitive_mut(&mut t, "d-started").unwrap();
    assert_eq!(nvpair(d, SetKind::Instance, "fake"), Some("hello"));
    assert_eq!(nvpair(d, SetKind::Meta, "allow-migrate"), Some("true"));
    // The second utilization set (made by crm_resource -z) is read too.
    assert_eq!(nvpair(d, SetKind::Utilization, "cpu"), Some("2"));
    assert_eq!(nvpair(d, SetKind::Meta, "nope"), None);
    assert!(has_nvpair(d, SetKind::Utilization, "cpu"));
    assert!(
        !has_nvpair(d, SetKind::Meta, "fake"),
        "fake is an instance attribute"
    );

    // Same value: no change. New value: in place. New name: in the first set, id from its id.
    assert!(!set_nvpair(
        d,
        SetKind::Instance,
        "x",
        NvpairId::Dash,
        "fake",
        Some("hello")
    ));
    assert!(set_nvpair(
        d,
        SetKind::Instance,
        "x",
        NvpairId::Dash,
        "fake",
        Some("bye")
    ));
    assert!(set_nvpair(
        d,
        SetKind::Meta,
        "x",
        NvpairId::Dash,
        "is-managed",
        Some("false")
    ));
    let meta = d.child("meta_attributes").unwrap();
    let added = meta.children.last().unwrap();
    assert_eq!(added.attr("id"), Some("d-started-meta-is-managed"));
    assert_eq!(added.attr("value"), Some("false"));
    assert!(set_nvpair(
        d,
        SetKind::Meta,
        "x",
        NvpairId::Dash,
        "is-managed",
        None
    ));
    assert!(!set_nvpair(
        d,
        SetKind::Meta,
        "x",
        NvpairId::Dash,
        "is-managed",
        None
    ));
    assert_eq!(nvpair(d, SetKind::Meta, "is-managed"), None);
    assert_eq!(nvpair(d, SetKind::Instance, "fake"), Some("bye"));

    // A missing set is created first, with the given id; removing from none changes nothing.
    let grp = group_mut(&mut t, "grp").unwrap();
    assert!(!set_nvpair(
        grp,
        SetKind::Utilization,
        "grp.u",
        NvpairId::Dot,
        "cpu",
        None
    ));
    assert!(set_nvpair(
        grp,
        SetKind::Utilization,
        "grp.u",
        NvpairId::Dot,
        "cpu",
        Some("1")
    ));
    assert_eq!(grp.children[0].name, "utilization");
    assert_eq!(grp.children[0].children[0].attr("id"), Some("grp.u.cpu"));

    let st = primitive_mut(&mut t, "d-stopped").unwrap();
    assert!(remove_nvpair_everywhere(st, SetKind::Meta, "target-role"));
    assert!(!remove_nvpair_everywhere(st, SetKind::Meta, "target-role"));
}

#[test]
fn resources_groups_and_primitives_are_found() {
    let mut t = tree();
    let g = group(&t, "grp").unwrap();
    assert_eq!(group_members(g), ["d-g1", "d-g2"]);
    assert_eq!(resource_ids(g), set(&["grp", "d-g1", "d-g2"]));
    assert!(
        group(&t, "d-started").is_none(),
        "a primitive is not a group"
    );
    assert_eq!(top_level(&t, "d-started").unwrap().name, "primitive");
    assert!(top_level(&t, "d-g1").is_none(), "members are not top-level");
    assert!(in_resources(&t, "d-g1") && in_resources(&t, "d-started-meta"));
    assert!(!in_resources(&t, "loc-d-started-sim1"));
    assert!(
        primitive_mut(&mut t, "grp").is_none(),
        "a group is not a primitive"
    );
    assert!(primitive_mut(&mut t, "st").is_some(), "a clone's primitive");

    assert_eq!(remove_group(&mut t, "grp"), Some(true));
    assert_eq!(remove_group(&mut t, "grp"), Some(false));
    assert!(group(&t, "grp").is_none());
    let mut back = Element::new("group");
    back.set_attr("id", "grp");
    add_resources(&mut t, &[back]).unwrap();
    assert!(group(&t, "grp").is_some());
    // The typed view agrees.
    let cib = Cib::from_element(t, String::new()).unwrap();
    assert_eq!(cib.resources.last().unwrap().id(), "grp");
}

#[test]
fn constraints_by_id_and_by_resource() {
    let mut t = tree();
    assert_eq!(constraints(&t).len(), 10);
    let col = constraint(&t, "col-set").unwrap();
    assert_eq!(constraint_refs(col), set(&["d-stopped", "d-started"]));
    let ord = constraint(&t, "ord-d-started-then-grp").unwrap();
    assert_eq!(constraint_refs(ord), set(&["d-started", "grp"]));
    let naming: Vec<&str> = constraints_naming(&t, &set(&["d-stopped"]))
        .iter()
        .filter_map(|c| c.attr("id"))
        .collect();
    assert_eq!(naming, ["loc-d-stopped-sim3", "col-set"]);
    // The same as the typed view's list (which orders by kind).
    let cib = Cib::parse(fixture!("cib-query.xml")).unwrap();
    let mut typed = cib.constraints_for("d-stopped");
    typed.sort_unstable();
    let mut ours = naming.clone();
    ours.sort_unstable();
    assert_eq!(ours, typed);

    // Replace in place (same position), add at the end, no change for an equal one.
    let mut loc = constraint(&t, "loc-d-started-sim1").unwrap().clone();
    assert_eq!(put_constraint(&mut t, loc.clone()), Some(false));
    loc.set_attr("score", "5");
    assert_eq!(put_constraint(&mut t, loc.clone()), Some(true));
    assert_eq!(constraints(&t)[0].attr("score"), Some("5"));
    let mut new = Element::new("rsc_location");
    new.set_attr("id", "loc-new");
    assert_eq!(put_constraint(&mut t, new), Some(true));
    assert_eq!(constraints(&t).last().unwrap().attr("id"), Some("loc-new"));

    let removed = remove_constraints(&mut t, &["loc-new".into(), "col-set".into(), "x".into()]);
    assert_eq!(removed.unwrap(), ["col-set", "loc-new"]);
    assert_eq!(remove_constraints_naming(&mut t, &set(&["grp"])), Some(4));
    assert!(constraints_naming(&t, &set(&["grp"])).is_empty());
    assert_eq!(constraints(&t).len(), 5);
    let mut extra = Element::new("rsc_ticket");
    extra.set_attr("id", "t1");
    add_constraint(&mut t, extra).unwrap();
    assert!(constraint(&t, "t1").is_some());
}

#[test]
fn node_attributes_are_read_and_set() {
    let mut t = tree();
    assert_eq!(node_attribute(&t, "sim2", "vmmgr-role"), Some("observer"));
    assert_eq!(node_attribute(&t, "sim1", "vmmgr-role"), None);
    assert_eq!(node(&t, "sim3").unwrap().attr("id"), Some("3"));
    assert!(node(&t, "sim9").is_none());

    // sim1 has no instance_attributes: made with Pacemaker's ids.
    assert_eq!(
        set_node_attribute(&mut t, "sim1", "standby", Some("on")),
        NodeEdit::Done(true)
    );
    let sim1 = node(&t, "sim1").unwrap();
    let ia = sim1.child("instance_attributes").unwrap();
    assert_eq!(ia.attr("id"), Some("nodes-1"));
    assert_eq!(ia.children[0].attr("id"), Some("nodes-1-standby"));
    assert_eq!(
        set_node_attribute(&mut t, "sim1", "standby", Some("on")),
        NodeEdit::Done(false)
    );
    assert_eq!(
        set_node_attribute(&mut t, "sim2", "vmmgr-role", None),
        NodeEdit::Done(true)
    );
    assert_eq!(node_attribute(&t, "sim2", "vmmgr-role"), None);
    assert_eq!(
        set_node_attribute(&mut t, "sim9", "x", Some("1")),
        NodeEdit::UnknownNode
    );
    let mut bare = Element::parse("<cib><configuration/></cib>", "t").unwrap();
    assert_eq!(
        set_node_attribute(&mut bare, "sim1", "x", Some("1")),
        NodeEdit::NoSection
    );
}

#[test]
fn node_capacities_and_properties_are_set_with_pacemaker_ids() {
    let mut t = tree();
    let u = SetKind::Utilization;
    assert_eq!(
        set_node_nvpair(&mut t, "sim3", u, "cpu", Some("4")),
        NodeEdit::Done(true)
    );
    assert_eq!(
        set_node_nvpair(&mut t, "sim3", u, "cpu", Some("4")),
        NodeEdit::Done(false)
    );
    let sim3 = node(&t, "sim3").unwrap();
    let set = sim3.child("utilization").unwrap();
    assert_eq!(set.attr("id"), Some("nodes-3-utilization"));
    assert_eq!(set.children[0].attr("id"), Some("nodes-3-utilization-cpu"));
    assert_eq!(nvpair(sim3, u, "cpu"), Some("4"));
    // A second set (made by hand) loses the name too on removal.
    let mut extra = Element::new("utilization");
    extra.set_attr("id", "more");
    let mut nv = Element::new("nvpair");
    nv.set_attr("id", "more-cpu");
    nv.set_attr("name", "cpu");
    nv.set_attr("value", "9");
    extra.children.push(nv);
    node_mut(&mut t, "sim3").unwrap().children.push(extra);
    assert_eq!(
        set_node_nvpair(&mut t, "sim3", u, "cpu", None),
        NodeEdit::Done(true)
    );
    assert!(!has_nvpair(node(&t, "sim3").unwrap(), u, "cpu"));
    assert_eq!(
        set_node_nvpair(&mut t, "sim3", u, "cpu", None),
        NodeEdit::Done(false)
    );
    assert_eq!(
        set_node_nvpair(&mut t, "sim9", u, "cpu", Some("1")),
        NodeEdit::UnknownNode
    );

    let cib = |t: &Element| Cib::parse(&t.to_xml()).unwrap();
    assert_eq!(
        set_property(&mut t, "placement-strategy", Some("balanced")),
        Some(true)
    );
    assert_eq!(
        set_property(&mut t, "placement-strategy", Some("balanced")),
        Some(false)
    );
    assert_eq!(cib(&t).property("placement-strategy"), Some("balanced"));
    assert_eq!(set_property(&mut t, "placement-strategy", None), Some(true));
    assert_eq!(cib(&t).property("placement-strategy"), None);
    assert_eq!(
        set_property(&mut t, "placement-strategy", None),
        Some(false)
    );
    // A CIB without a property set gets Pacemaker's own.
    let mut bare = Element::parse(
        "<cib><configuration><crm_config/></configuration></cib>",
        "t",
    )
    .unwrap();
    assert_eq!(set_property(&mut bare, "x", Some("1")), Some(true));
    let set = section(&bare, Section::CrmConfig).unwrap().children[0].clone();
    assert_eq!(set.attr("id"), Some("cib-bootstrap-options"));
    assert_eq!(set.children[0].attr("id"), Some("cib-bootstrap-options-x"));
    let mut none = Element::parse("<cib><configuration/></cib>", "t").unwrap();
    assert_eq!(set_property(&mut none, "x", Some("1")), None);
}

#[test]
fn operation_history_by_node_and_resource() {
    let mut t = tree();
    let all = histories(&t);
    let unames: Vec<_> = all.iter().map(|n| n.uname.unwrap_or("?")).collect();
    assert_eq!(unames, ["sim2", "sim1", "sim3"]);
    let sim2 = &all[0];
    assert!(sim2.holds("d-started") && sim2.holds("st-pdu"));
    let d = sim2.resource("d-started").unwrap();
    assert_eq!(d.ops.len(), 3);
    let last = d.last_op().unwrap();
    assert_eq!((last.id, last.operation), ("d-started_last_0", "stop"));
    assert_eq!((last.call_id, last.rc_code), (Some(41), Some(0)));
    assert_eq!(last.last_rc_change, Some(1_795_313_301));
    assert_eq!(d.ops[1].interval, "10000");

    let mut held = nodes_with_history(&t, "d-started");
    held.sort_unstable();
    assert_eq!(held, ["sim1", "sim2", "sim3"]);
    assert!(nodes_with_history(&t, "nope").is_empty());

    assert!(forget_history(&mut t, "sim2", "d-started"));
    assert!(!forget_history(&mut t, "sim2", "d-started"));
    assert!(!forget_history(&mut t, "sim9", "d-started"));
    let mut held = nodes_with_history(&t, "d-started");
    held.sort_unstable();
    assert_eq!(held, ["sim1", "sim3"]);
    assert!(histories(&Element::new("cib")).is_empty());
}

#[test]
fn wrapped_sections_are_read_from_their_root() {
    let doc = Element::parse(
        "<x><resources><group id=\"a\"/><group id=\"b\"/></resources><constraints/></x>",
        "t",
    )
    .unwrap();
    let r = section_children(&doc, Section::Resources);
    assert_eq!(r.len(), 2);
    assert!(section_children(&doc, Section::Constraints).is_empty());
    assert!(section_children(&doc, Section::Nodes).is_empty());
}

/// A recorded CIB of the live move of VM r1 (tests/fixtures/vm-mgr/derive/, see its README).
fn moved(name: &str) -> Element {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/vm-mgr/derive")
        .join(name);
    Element::parse(&std::fs::read_to_string(path).unwrap(), "t").unwrap()
}

#[test]
fn a_live_move_is_settled_once_its_source_stopped() {
    const ALL: [&str; 3] = ["sim1", "sim2", "sim3"];
    let ids = ["vmmgr-domain-r1", "vmmgr-guard-r1"];
    // r1 goes sim3 -> sim2: migrate_from done on sim2, sim3's last one-off call a migrate_to
    // (crm_mon already shows r1 started on sim2 alone here).
    let t = moved("24-migrating.xml");
    let why = unsettled_move(&t, &ids, "sim2", &ALL).unwrap();
    assert!(why.contains("sim3") && why.contains("migrate_to"), "{why}");
    // Only online nodes count.
    assert_eq!(unsettled_move(&t, &ids, "sim2", &["sim1", "sim2"]), None);
    // sim3 stopped it: settled.
    assert_eq!(
        unsettled_move(&moved("25-migrating.xml"), &ids, "sim2", &ALL),
        None
    );
    assert_eq!(
        unsettled_move(&moved("28-migrated.xml"), &ids, "sim2", &ALL),
        None
    );
    // The earlier move sim2 -> sim3: the stop on sim2 recorded pending.
    let why = unsettled_move(&moved("17-migrating.xml"), &ids, "sim3", &ALL).unwrap();
    assert!(why.contains("pending on sim2"), "{why}");
    // Another resource's history is not looked at.
    assert_eq!(unsettled_move(&t, &["other"], "sim2", &ALL), None);
}
