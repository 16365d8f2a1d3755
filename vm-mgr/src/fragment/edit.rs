//! Pure edits of a CIB tree: put a VM's fragment in, take it out, change its target role or
//! a parameter.

use std::collections::BTreeSet;

use shared::pacemaker::xml::Element;

use super::{el, Fragment, FragmentError};

const RESOURCE_KINDS: [&str; 5] = ["primitive", "group", "clone", "master", "bundle"];

fn section<'a>(tree: &'a Element, name: &'static str) -> Result<&'a Element, FragmentError> {
    tree.child("configuration")
        .and_then(|c| c.child(name))
        .ok_or(FragmentError::NoSection { section: name })
}

fn section_mut<'a>(
    tree: &'a mut Element,
    name: &'static str,
) -> Result<&'a mut Element, FragmentError> {
    tree.child_mut("configuration")
        .and_then(|c| c.child_mut(name))
        .ok_or(FragmentError::NoSection { section: name })
}

/// Ids of every resource (at any depth) under `e`.
fn resource_ids(e: &Element) -> BTreeSet<String> {
    e.descendants()
        .into_iter()
        .filter(|d| RESOURCE_KINDS.contains(&d.name.as_str()))
        .filter_map(|d| d.attr("id").map(str::to_owned))
        .collect()
}

/// Resources a constraint names (rsc, with-rsc, first, then, resource_ref).
pub fn constraint_refs(c: &Element) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for attr in ["rsc", "with-rsc", "first", "then"] {
        if let Some(v) = c.attr(attr) {
            refs.insert(v.to_owned());
        }
    }
    for d in c.descendants() {
        if d.name == "resource_ref" {
            if let Some(id) = d.attr("id") {
                refs.insert(id.to_owned());
            }
        }
    }
    refs
}

/// Whether the CIB tree has the VM's group.
pub fn in_cib(tree: &Element, name: &str) -> bool {
    section(tree, "resources").is_ok_and(|r| {
        r.children
            .iter()
            .any(|c| c.name == "group" && c.attr("id") == Some(name))
    })
}

/// The VM's fragment as it is in the CIB, or `None`.
pub fn extract(tree: &Element, name: &str) -> Option<Fragment> {
    let group = section(tree, "resources")
        .ok()?
        .children
        .iter()
        .find(|c| c.name == "group" && c.attr("id") == Some(name))?
        .clone();
    let ids = resource_ids(&group);
    let constraints = section(tree, "constraints")
        .map(|c| {
            c.children
                .iter()
                .filter(|c| !constraint_refs(c).is_disjoint(&ids))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Some(Fragment {
        name: name.to_owned(),
        resources: vec![group],
        constraints,
    })
}

/// Takes the VM's fragment out of the CIB tree and returns it.
pub fn remove(tree: &mut Element, name: &str) -> Result<Fragment, FragmentError> {
    let fragment = extract(tree, name).ok_or_else(|| FragmentError::NotInCib {
        name: name.to_owned(),
    })?;
    let ids = resource_ids(&fragment.resources[0]);
    section_mut(tree, "resources")?
        .children
        .retain(|c| !(c.name == "group" && c.attr("id") == Some(name)));
    if let Ok(cons) = section_mut(tree, "constraints") {
        cons.children
            .retain(|c| constraint_refs(c).is_disjoint(&ids));
    }
    Ok(fragment)
}

/// Puts the fragment into the CIB tree with the given target role. Constraints naming
/// resources that no longer exist are left out; their ids are returned.
pub fn insert(
    tree: &mut Element,
    fragment: &Fragment,
    target_role: &str,
) -> Result<Vec<String>, FragmentError> {
    let name = &fragment.name;
    if in_cib(tree, name) {
        return Err(FragmentError::AlreadyInCib { name: name.clone() });
    }
    let mut existing_ids = BTreeSet::new();
    // Only the configuration: the status section keeps the history of a disabled VM's
    // resources under the same ids (issue 7: seen on a recorded CIB).
    let config = tree.child("configuration").map(Element::descendants);
    for d in config.into_iter().flatten() {
        if let Some(id) = d.attr("id") {
            existing_ids.insert(id.to_owned());
        }
    }
    let mut fragment_ids = Vec::new();
    for top in fragment.resources.iter().chain(&fragment.constraints) {
        for d in top.descendants() {
            if let Some(id) = d.attr("id") {
                fragment_ids.push(id.to_owned());
            }
        }
    }
    if let Some(id) = fragment_ids.iter().find(|id| existing_ids.contains(*id)) {
        return Err(FragmentError::IdConflict {
            name: name.clone(),
            id: id.clone(),
        });
    }
    let resources = section_mut(tree, "resources")?;
    resources
        .children
        .extend(fragment.resources.iter().cloned());
    set_target_role(tree, name, target_role)?;
    let known = resource_ids(section(tree, "resources")?);
    let mut dropped = Vec::new();
    let constraints = section_mut(tree, "constraints")?;
    for c in &fragment.constraints {
        if constraint_refs(c).is_subset(&known) {
            constraints.children.push(c.clone());
        } else {
            dropped.push(c.attr("id").unwrap_or("?").to_owned());
        }
    }
    Ok(dropped)
}

/// Sets the group's `target-role` (and removes any `target-role` of its members, which would
/// override it). Returns whether anything changed.
pub fn set_target_role(tree: &mut Element, name: &str, role: &str) -> Result<bool, FragmentError> {
    let not_in = || FragmentError::NotInCib {
        name: name.to_owned(),
    };
    let group = section_mut(tree, "resources")?
        .children
        .iter_mut()
        .find(|c| c.name == "group" && c.attr("id") == Some(name))
        .ok_or_else(not_in)?;
    let before = group.clone();
    for member in group.children.iter_mut().filter(|c| c.name == "primitive") {
        for set in member
            .children
            .iter_mut()
            .filter(|c| c.name == "meta_attributes")
        {
            set.children
                .retain(|nv| !(nv.name == "nvpair" && nv.attr("name") == Some("target-role")));
        }
    }
    set_nvpair(
        group,
        "meta_attributes",
        &format!("{name}.meta"),
        "target-role",
        role,
    );
    Ok(*group != before)
}

/// Sets an instance attribute of primitive `prim` in the CIB tree; returns the old value.
pub fn set_param(
    tree: &mut Element,
    name: &str,
    prim: &str,
    key: &str,
    value: &str,
) -> Result<Option<String>, FragmentError> {
    let p = section_mut(tree, "resources")?
        .find_id_mut(prim)
        .filter(|p| p.name == "primitive")
        .ok_or_else(|| FragmentError::NotInCib {
            name: name.to_owned(),
        })?;
    let old = p
        .children
        .iter()
        .filter(|c| c.name == "instance_attributes")
        .flat_map(|s| &s.children)
        .find(|nv| nv.attr("name") == Some(key))
        .and_then(|nv| nv.attr("value"))
        .map(str::to_owned);
    set_nvpair(
        p,
        "instance_attributes",
        &format!("{prim}.params"),
        key,
        value,
    );
    Ok(old)
}

/// Sets `key` in the first `kind` set of `parent` (creating the set and the nvpair as needed).
fn set_nvpair(parent: &mut Element, kind: &str, set_id: &str, key: &str, value: &str) {
    if parent.child(kind).is_none() {
        parent.children.insert(0, el(kind, &[("id", set_id)]));
    }
    let Some(set) = parent.child_mut(kind) else {
        return;
    };
    let set_id = set.attr("id").unwrap_or(set_id).to_owned();
    match set
        .children
        .iter_mut()
        .find(|nv| nv.name == "nvpair" && nv.attr("name") == Some(key))
    {
        Some(nv) => nv.set_attr("value", value),
        None => set.children.push(el(
            "nvpair",
            &[
                ("id", &format!("{set_id}.{key}")),
                ("name", key),
                ("value", value),
            ],
        )),
    }
}
