//! CIB patches in Pacemaker's patch format 2 (what `crm_diff` writes and `cibadmin --patch`
//! applies), computed in-process from the CIB as read and the CIB as wanted.
//!
//! A transaction used to write both documents to files and run `crm_diff` on them: a process,
//! two parses of the whole CIB and two file writes for every change, its cost growing with the
//! CIB. The format is simple and documented by Pacemaker's own applier (`apply_v2_patchset` in
//! `lib/common/patchset.c`), which this module writes for:
//!
//! - `<version>`: the source `admin_epoch` and `epoch` (no `num_updates`: status updates between
//!   the read and the patch must not make it fail, configuration changes must) and the target
//!   version;
//! - `modify` (path of an element; `change-result` holds its complete new attribute set, which
//!   replaces the old one; `change-list` says what changed, for logs and notifications);
//! - `delete` (path of an element) — applied, like `modify`, in document order first;
//! - `create` (path of the parent, `position` = index of the new child among its siblings) —
//!   applied after every delete and modify, in increasing position, so positions are those of
//!   the wanted document as long as the siblings that stay keep their order.
//!
//! A path is a chain of `/tag[@id='ID']` steps, or `/tag` for an element without an id, which
//! Pacemaker resolves to the first child of that tag. Children are matched by tag and id (or by
//! tag alone when both documents have a single child of that tag without an id). A child that
//! cannot be addressed that way, whose text changed, or that moved relative to its siblings is
//! deleted and created again whole, as is (for an unaddressable child) its nearest addressable
//! ancestor. No `move` operations are written.

use std::collections::{BTreeMap, HashMap};

use crate::xml::Element;

/// The v2 patch turning `old` into `new` (whole `<cib>` documents), or `None` if they are the
/// same. `new` must carry its target version (a raised `epoch` for a configuration change).
pub fn diff(old: &Element, new: &Element) -> Option<String> {
    let mut changes = Vec::new();
    if old.name != new.name || old.text != new.text {
        // Not expressible below the root; never the case for two CIBs.
        return Some(whole_replacement(old, new));
    }
    let root = format!("/{}", old.name);
    let place = Place {
        path: &root,
        parent: None,
    };
    compare(old, new, &place, &mut changes);
    if changes.is_empty() {
        return None;
    }
    let mut patch = Element::new("diff");
    patch.set_attr("format", "2");
    patch.children.push(versions(old, new));
    patch.children.extend(changes);
    Some(patch.to_xml())
}

fn versions(old: &Element, new: &Element) -> Element {
    let mut version = Element::new("version");
    let mut source = Element::new("source");
    let mut target = Element::new("target");
    for field in ["admin_epoch", "epoch"] {
        source.set_attr(field, old.attr(field).unwrap_or("0"));
    }
    for field in ["admin_epoch", "epoch", "num_updates"] {
        target.set_attr(field, new.attr(field).unwrap_or("0"));
    }
    version.children.push(source);
    version.children.push(target);
    version
}

/// A patch that cannot happen between two CIBs (different roots): documented as impossible,
/// written as a delete and create of the root so that Pacemaker refuses it loudly.
fn whole_replacement(old: &Element, new: &Element) -> String {
    let mut patch = Element::new("diff");
    patch.set_attr("format", "2");
    patch.children.push(versions(old, new));
    patch.children.push(delete(&format!("/{}", old.name)));
    patch.children.push(create("/", 0, new));
    patch.to_xml()
}

/// Where an element sits: its path, and its parent's path and its index there (`None` for the
/// root).
struct Place<'a> {
    path: &'a str,
    parent: Option<(&'a str, usize)>,
}

/// Adds the changes turning `old` into `new` (same tag and text, both at `at`).
fn compare(old: &Element, new: &Element, at: &Place<'_>, out: &mut Vec<Element>) {
    let old_keys = keys(&old.children, &new.children);
    let new_keys = keys(&new.children, &old.children);
    // A key names one child at most (`keys`): looked up, not searched (a CIB's resources
    // section has a child per VM).
    let by_key: HashMap<&Key, usize> = old_keys
        .iter()
        .enumerate()
        .filter_map(|(j, k)| k.as_ref().map(|k| (k, j)))
        .collect();
    // new child index -> matching old child index, for children kept in the same order:
    // addressable ones matched by key, the others only if unchanged
    let mut kept: Vec<Option<usize>> = vec![None; new.children.len()];
    let mut old_kept = vec![false; old.children.len()];
    let mut last = None;
    for (i, key) in new_keys.iter().enumerate() {
        let found = match key {
            Some(key) => by_key.get(key).copied(),
            None => (0..old.children.len()).find(|&j| {
                old_keys[j].is_none() && !old_kept[j] && old.children[j] == new.children[i]
            }),
        };
        if let Some(j) = found.filter(|&j| last.is_none_or(|l| j > l)) {
            kept[i] = Some(j);
            old_kept[j] = true;
            last = Some(j);
        }
    }
    let unaddressable_change = new_keys
        .iter()
        .zip(&kept)
        .any(|(k, m)| k.is_none() && m.is_none())
        || (0..old.children.len()).any(|j| old_keys[j].is_none() && !old_kept[j]);
    if let (true, Some((parent, position))) = (unaddressable_change, at.parent) {
        // A changed child can't be named in a path: write this element anew.
        out.push(delete(at.path));
        out.push(create(parent, position, new));
        return;
    }
    if let Some(change) = modify(old, new, at.path) {
        out.push(change);
    }
    for (j, child) in old.children.iter().enumerate() {
        if !old_kept[j] {
            out.push(delete(&child_path(at.path, old_keys[j].as_ref(), child)));
        }
    }
    for (i, child) in new.children.iter().enumerate() {
        match kept[i] {
            Some(j) if old_keys[j].is_none() => {} // unchanged, stays where it is
            // the same subtree: nothing to write for it (most of a CIB for one change)
            Some(j) if old.children[j] == *child => {}
            Some(j) if old.children[j].text == child.text => {
                let path = child_path(at.path, new_keys[i].as_ref(), child);
                let place = Place {
                    path: &path,
                    parent: Some((at.path, i)),
                };
                compare(&old.children[j], child, &place, out);
            }
            Some(j) => {
                out.push(delete(&child_path(at.path, old_keys[j].as_ref(), child)));
                out.push(create(at.path, i, child));
            }
            None => out.push(create(at.path, i, child)),
        }
    }
}

/// How a child is named in a path: its tag and id, or its tag alone when it is the only child
/// of that tag without an id in both documents; `None` when it cannot be named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Id(String, String),
    Tag(String),
}

fn keys(children: &[Element], others: &[Element]) -> Vec<Option<Key>> {
    let mut tags: BTreeMap<&str, usize> = BTreeMap::new();
    let mut ids: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for c in children {
        match c.attr("id") {
            Some(id) => *ids.entry((c.name.as_str(), id)).or_default() += 1,
            None => *tags.entry(c.name.as_str()).or_default() += 1,
        }
    }
    let tag_in_others = |tag: &str| {
        others
            .iter()
            .filter(|o| o.name == tag && o.attr("id").is_none())
            .count()
    };
    children
        .iter()
        .map(|c| match c.attr("id") {
            // a quote would end the path's predicate early
            Some(id) if id.contains('\'') || ids[&(c.name.as_str(), id)] > 1 => None,
            Some(id) => Some(Key::Id(c.name.clone(), id.to_owned())),
            None if tags[c.name.as_str()] == 1 && tag_in_others(&c.name) <= 1 => {
                Some(Key::Tag(c.name.clone()))
            }
            None => None,
        })
        .collect()
}

fn child_path(parent: &str, key: Option<&Key>, child: &Element) -> String {
    match key {
        Some(Key::Id(tag, id)) => format!("{parent}/{tag}[@id='{id}']"),
        Some(Key::Tag(tag)) => format!("{parent}/{tag}"),
        None => format!("{parent}/{}", child.name),
    }
}

/// A `modify` change if the attributes differ (as sets: order does not matter to Pacemaker).
fn modify(old: &Element, new: &Element, path: &str) -> Option<Element> {
    let before: BTreeMap<&str, &str> = old
        .attrs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let after: BTreeMap<&str, &str> = new
        .attrs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if before == after {
        return None;
    }
    let mut list = Element::new("change-list");
    for (k, v) in &new.attrs {
        if before.get(k.as_str()) != Some(&v.as_str()) {
            let mut c = Element::new("change-attr");
            c.set_attr("name", k.as_str());
            c.set_attr("operation", "set");
            c.set_attr("value", v.as_str());
            list.children.push(c);
        }
    }
    for (k, _) in &old.attrs {
        if !after.contains_key(k.as_str()) {
            let mut c = Element::new("change-attr");
            c.set_attr("name", k.as_str());
            c.set_attr("operation", "unset");
            list.children.push(c);
        }
    }
    let mut result = Element::new("change-result");
    let mut attrs_only = Element::new(new.name.clone());
    attrs_only.attrs = new.attrs.clone();
    result.children.push(attrs_only);
    let mut change = Element::new("change");
    change.set_attr("operation", "modify");
    change.set_attr("path", path);
    change.children.push(list);
    change.children.push(result);
    Some(change)
}

fn delete(path: &str) -> Element {
    let mut change = Element::new("change");
    change.set_attr("operation", "delete");
    change.set_attr("path", path);
    change
}

fn create(parent: &str, position: usize, child: &Element) -> Element {
    let mut change = Element::new("change");
    change.set_attr("operation", "create");
    change.set_attr("path", parent);
    change.set_attr("position", position.to_string());
    change.children.push(child.clone());
    change
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
