//! The in-process patches against Pacemaker's own applier: each edit of a recorded CIB is
//! turned into a patch by [`diff`], applied with the real `cibadmin --patch` to a copy of the
//! CIB (through `CIB_file`), and the result must be the edited document — and the same as
//! what `crm_diff`'s own patch of the same edit gives.

use std::time::{Duration, Instant};

use super::*;
use crate::pacemaker::tools::{Target, Tools};
use crate::tempdir::PrivateDir;

const CIB: &str = fixture!("cib-query.xml");
const CIB_3VMS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/vm-mgr/placement/cib-3vms.xml"
));
const CIB_VM_STARTED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/vm-mgr/cib-vm-t1-started.xml"
));

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

fn el(xml: &str) -> Element {
    Element::parse(xml, "test XML").unwrap()
}

/// The children of the root with every element's attributes sorted: what a patch must get
/// right (the root's own attributes are Pacemaker's to set: cib-last-written, num_updates).
fn content(cib: &Element) -> Vec<Element> {
    fn sorted(e: &Element) -> Element {
        let mut e = e.clone();
        e.attrs.sort();
        e.children = e.children.iter().map(sorted).collect();
        e
    }
    cib.children.iter().map(sorted).collect()
}

fn section<'a>(tree: &'a mut Element, name: &str) -> &'a mut Element {
    tree.child_mut("configuration")
        .and_then(|c| c.child_mut(name))
        .expect("configuration section")
}

/// Applies `patch` to a copy of `old` with the real cibadmin and returns the CIB it gives.
fn applied(old: &Element, patch: &str) -> Element {
    let dir = PrivateDir::new("vmmgr-patch-test").unwrap();
    let cib = dir.write("cib.xml", &old.to_xml()).unwrap();
    let file = dir.write("patch.xml", patch).unwrap();
    let tools = Tools::new(Target::File(cib));
    tools
        .cib_patch(&file, soon())
        .unwrap_or_else(|e| panic!("cibadmin refused the patch: {e}\n{patch}"));
    tools.cib_query(soon()).unwrap().element().clone()
}

/// `crm_diff`'s patch for the same two documents.
fn crm_diff_patch(old: &Element, new: &Element) -> String {
    let dir = PrivateDir::new("vmmgr-patch-test").unwrap();
    let a = dir.write("old.xml", &old.to_xml()).unwrap();
    let b = dir.write("new.xml", &new.to_xml()).unwrap();
    Tools::new(Target::Live)
        .crm_diff(&a, &b, soon())
        .unwrap()
        .expect("crm_diff sees a difference")
}

/// Edits `cib` with `edit` (and raises the epoch), and checks our patch end to end.
fn check(cib: &str, edit: impl FnOnce(&mut Element)) -> String {
    let old = el(cib);
    let mut new = old.clone();
    edit(&mut new);
    let epoch: u64 = old.attr("epoch").unwrap().parse().unwrap();
    new.set_attr("epoch", (epoch + 1).to_string());
    let patch = diff(&old, &new).expect("a difference");
    let ours = applied(&old, &patch);
    assert_eq!(content(&ours), content(&new), "patch:\n{patch}");
    // (with CIB_file, cibadmin raises the epoch once more itself)
    let epoch_of = |e: &Element| e.attr("epoch").unwrap().parse::<u64>().unwrap();
    assert!(epoch_of(&ours) >= epoch_of(&new));
    let theirs = applied(&old, &crm_diff_patch(&old, &new));
    assert_eq!(content(&ours), content(&theirs));
    patch
}

fn dummy(id: &str) -> Element {
    el(&format!(
        r#"<primitive id="{id}" class="ocf" provider="pacemaker" type="Dummy"><operations><op id="{id}-mon" name="monitor" interval="10s"/></operations></primitive>"#
    ))
}

#[test]
fn identical_documents_give_no_patch() {
    let cib = el(CIB_3VMS);
    assert_eq!(diff(&cib, &cib.clone()), None);
    // attribute order is not a difference
    let mut reordered = cib.clone();
    reordered.attrs.reverse();
    assert_eq!(diff(&cib, &reordered), None);
}

#[test]
fn creates_at_the_start_the_middle_and_the_end() {
    let patch = check(CIB_3VMS, |t| {
        let r = section(t, "resources");
        r.children.insert(0, dummy("first"));
        let mid = r.children.len() / 2;
        r.children.insert(mid, dummy("middle"));
        r.children.push(dummy("last"));
    });
    assert_eq!(patch.matches(r#"operation="create""#).count(), 3, "{patch}");
    let source = el(&patch);
    let version = source.child("version").and_then(|v| v.child("source"));
    assert_eq!(version.and_then(|s| s.attr("num_updates")), None);
}

#[test]
fn deletes_a_vm_group_and_its_constraints() {
    let cib = el(CIB_3VMS);
    let group = cib
        .child("configuration")
        .and_then(|c| c.child("resources"))
        .and_then(|r| r.children_named("group").next())
        .and_then(|g| g.attr("id"))
        .unwrap()
        .to_owned();
    check(CIB_3VMS, |t| {
        section(t, "resources")
            .children
            .retain(|r| r.attr("id") != Some(group.as_str()));
        section(t, "constraints")
            .children
            .retain(|c| c.attr("rsc") != Some(group.as_str()));
    });
}

#[test]
fn modifies_sets_and_unsets_attributes_deep_down() {
    let patch = check(CIB_VM_STARTED, |t| {
        let nv = t
            .find_id_mut("t1.meta.target-role")
            .expect("target-role nvpair");
        nv.set_attr("value", "Stopped");
        let op = t.find_id_mut("vmmgr-domain-t1.stop").expect("stop op");
        op.set_attr("timeout", "45s");
        op.set_attr("on-fail", "block");
        op.remove_attr("timeout");
        op.set_attr("timeout", "45s");
        let start = t.find_id_mut("vmmgr-domain-t1.start").expect("start op");
        start.remove_attr("timeout");
    });
    assert!(patch.contains(r#"operation="unset""#), "{patch}");
    assert!(!patch.contains(r#"operation="create""#), "{patch}");
}

#[test]
fn a_reorder_is_a_delete_and_a_create() {
    let patch = check(CIB_3VMS, |t| {
        let r = section(t, "resources");
        let first = r.children.remove(0);
        r.children.push(first);
    });
    assert!(patch.contains(r#"operation="delete""#), "{patch}");
}

#[test]
fn status_changes_too() {
    check(CIB_VM_STARTED, |t| {
        let status = t.child_mut("status").unwrap();
        status.children.truncate(1);
    });
}

#[test]
fn many_changes_at_once() {
    check(CIB_VM_STARTED, |t| {
        section(t, "resources").children.push(dummy("d1"));
        section(t, "constraints").children.clear();
        let props = section(t, "crm_config");
        props.children[0].children.push(el(
            r#"<nvpair id="cib-bootstrap-options-x" name="stop-orphan-actions" value="true"/>"#,
        ));
        t.find_id_mut("vmmgr-disk-t1.params.mode")
            .unwrap()
            .set_attr("value", "map");
    });
    check(CIB, |t| {
        section(t, "resources").children.push(dummy("d2"));
    });
}

// Cases a valid CIB never has (Pacemaker's schema would refuse them), checked on the patch
// itself: children that cannot be named in a path, and text.

#[test]
fn an_unaddressable_child_makes_its_parent_written_anew() {
    let old = el(r#"<cib epoch="1"><a id="p"><x v="1"/><x v="2"/></a><b id="q"/></cib>"#);
    let new = el(r#"<cib epoch="2"><a id="p"><x v="1"/><x v="3"/></a><b id="q"/></cib>"#);
    let patch = el(&diff(&old, &new).unwrap());
    let changes: Vec<_> = patch.children_named("change").collect();
    assert_eq!(changes.len(), 3, "{patch:?}"); // /cib modify, delete a, create a
    assert_eq!(changes[1].attr("operation"), Some("delete"));
    assert_eq!(changes[1].attr("path"), Some("/cib/a[@id='p']"));
    assert_eq!(changes[2].attr("operation"), Some("create"));
    assert_eq!(changes[2].attr("path"), Some("/cib"));
    assert_eq!(changes[2].attr("position"), Some("0"));
    assert_eq!(changes[2].children[0], new.children[0]);
}

#[test]
fn unchanged_unaddressable_children_stay_and_single_tags_are_named() {
    let old = el(r#"<cib epoch="1"><a><x/><x/><y k="1"/></a></cib>"#);
    let new = el(r#"<cib epoch="2"><a><x/><x/><y k="2"/></a></cib>"#);
    let patch = el(&diff(&old, &new).unwrap());
    let paths: Vec<_> = patch
        .children_named("change")
        .map(|c| (c.attr("operation").unwrap(), c.attr("path").unwrap()))
        .collect();
    assert_eq!(paths, [("modify", "/cib"), ("modify", "/cib/a/y")]);
}

#[test]
fn changed_text_replaces_the_element_and_quotes_in_ids_are_not_used_in_paths() {
    let old = el(r#"<cib epoch="1"><d id="t">old</d><e id="it's"/></cib>"#);
    let new = el(r#"<cib epoch="2"><d id="t">new</d><e id="it's" k="v"/></cib>"#);
    let patch = el(&diff(&old, &new).unwrap());
    let ops: Vec<_> = patch
        .children_named("change")
        .map(|c| {
            (
                c.attr("operation").unwrap(),
                c.attr("path").unwrap(),
                c.attr("position"),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("modify", "/cib", None),
            ("delete", "/cib/e", None),
            ("delete", "/cib/d[@id='t']", None),
            ("create", "/cib", Some("0")),
            ("create", "/cib", Some("1")),
        ]
    );
}
