//! Pure edits of a CIB tree: put a VM's fragment in, take it out, change its target role or
//! a parameter. The tree is walked by [`shared::pacemaker::cib::tree`].

use std::collections::BTreeSet;

use shared::pacemaker::cib::tree::{self, NvpairId, Section, SetKind};
use shared::xml::Element;

use super::{Fragment, FragmentError};
use crate::vm::VmIds;

pub use shared::pacemaker::cib::tree::constraint_refs;

fn no_section(s: Section) -> FragmentError {
    FragmentError::NoSection { section: s.name() }
}

/// The VM's group in the CIB tree: the top-level group `name` holding its domain
/// ([`VmIds::is_domain_member`]). A group of that name without it is not vm-mgr's and is never
/// returned.
pub fn vm_group<'a>(tree: &'a Element, name: &str) -> Option<&'a Element> {
    tree::group(tree, name).filter(|g| owned(g, name))
}

pub(super) fn vm_group_mut<'a>(tree: &'a mut Element, name: &str) -> Option<&'a mut Element> {
    tree::group_mut(tree, name).filter(|g| owned(g, name))
}

fn owned(group: &Element, name: &str) -> bool {
    let ids = VmIds::new(name);
    group
        .children_named("primitive")
        .any(|p| ids.is_domain_member(p.attr("id").unwrap_or("")))
}

/// Whether the CIB tree has the VM (its group, as vm-mgr made it).
pub fn in_cib(tree: &Element, name: &str) -> bool {
    vm_group(tree, name).is_some()
}

/// The ids VM `name` would take (its group and primitives) that something else in the CIB
/// configuration already uses: a VM of this name must not be made, whatever the storage holds.
/// Empty when they are free or when they are the VM's own.
pub fn foreign_ids(tree: &Element, name: &str) -> Vec<String> {
    if in_cib(tree, name) {
        return Vec::new();
    }
    let ids = VmIds::new(name);
    let taken: BTreeSet<&str> = tree::configuration_ids(tree).into_iter().collect();
    [ids.group(), ids.guard(), ids.domain()]
        .into_iter()
        .filter(|id| taken.contains(id.as_str()))
        .collect()
}

/// The VM's fragment as it is in the CIB, or `None`.
pub fn extract(tree: &Element, name: &str) -> Option<Fragment> {
    let group = vm_group(tree, name)?.clone();
    let ids = tree::resource_ids(&group);
    let constraints = tree::constraints_naming(tree, &ids)
        .into_iter()
        .cloned()
        .collect();
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
    let ids = tree::resource_ids(&fragment.resources[0]);
    tree::remove_group(tree, name).ok_or(no_section(Section::Resources))?;
    // No constraints section: nothing to remove there.
    let _ = tree::remove_constraints_naming(tree, &ids);
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
    // Only the configuration: the status section keeps the history of a disabled VM's
    // resources under the same ids (issue 7: seen on a recorded CIB).
    let existing_ids: BTreeSet<&str> = tree::configuration_ids(tree).into_iter().collect();
    let fragment_ids = check_own_ids_and_values(fragment)?;
    if let Some(id) = fragment_ids
        .iter()
        .find(|id| existing_ids.contains(id.as_str()))
    {
        return Err(FragmentError::IdConflict {
            name: name.clone(),
            id: id.clone(),
        });
    }
    tree::add_resources(tree, &fragment.resources).ok_or(no_section(Section::Resources))?;
    set_target_role(tree, name, target_role)?;
    let known = tree::resource_ids(
        tree::section(tree, Section::Resources).ok_or(no_section(Section::Resources))?,
    );
    if tree::section(tree, Section::Constraints).is_none() {
        return Err(no_section(Section::Constraints));
    }
    let mut dropped = Vec::new();
    for c in &fragment.constraints {
        if constraint_refs(c).is_subset(&known) {
            tree::add_constraint(tree, c.clone()).ok_or(no_section(Section::Constraints))?;
        } else {
            dropped.push(c.attr("id").unwrap_or("?").to_owned());
        }
    }
    Ok(dropped)
}

/// The ids of the fragment's elements, each once; an error when one is there twice, or when
/// an attribute value holds a control character (what Pacemaker would refuse, or not keep as
/// given, checked before anything is written).
pub(super) fn check_own_ids_and_values(fragment: &Fragment) -> Result<Vec<String>, FragmentError> {
    let name = &fragment.name;
    let mut seen = BTreeSet::new();
    let mut ids = Vec::new();
    for top in fragment.resources.iter().chain(&fragment.constraints) {
        for d in top.descendants() {
            let id = d.attr("id").unwrap_or("");
            if !id.is_empty() {
                if !seen.insert(id) {
                    return Err(FragmentError::DuplicateId {
                        name: name.clone(),
                        id: id.to_owned(),
                    });
                }
                ids.push(id.to_owned());
            }
            if let Some((k, v)) = d
                .attrs
                .iter()
                .find(|(_, v)| v.chars().any(char::is_control))
            {
                return Err(FragmentError::ControlCharacter {
                    name: name.clone(),
                    id: id.to_owned(),
                    attribute: if d.name == "nvpair" {
                        d.attr("name").unwrap_or(k).to_owned()
                    } else {
                        k.clone()
                    },
                    value: v.clone(),
                });
            }
        }
    }
    Ok(ids)
}

/// Sets the group's `target-role` (and removes any `target-role` of its members, which would
/// override it). Returns whether anything changed.
pub fn set_target_role(tree: &mut Element, name: &str, role: &str) -> Result<bool, FragmentError> {
    let not_in = || FragmentError::NotInCib {
        name: name.to_owned(),
    };
    if tree::section(tree, Section::Resources).is_none() {
        return Err(no_section(Section::Resources));
    }
    let group = vm_group_mut(tree, name).ok_or_else(not_in)?;
    let mut changed = false;
    for member in group.children.iter_mut().filter(|c| c.name == "primitive") {
        changed |= tree::remove_nvpair_everywhere(member, SetKind::Meta, "target-role");
    }
    changed |= tree::set_nvpair(
        group,
        SetKind::Meta,
        &format!("{name}.meta"),
        NvpairId::Dot,
        "target-role",
        Some(role),
    );
    Ok(changed)
}

/// Sets an instance attribute of primitive `prim` in the CIB tree; returns the old value.
pub fn set_param(
    tree: &mut Element,
    name: &str,
    prim: &str,
    key: &str,
    value: &str,
) -> Result<Option<String>, FragmentError> {
    if tree::section(tree, Section::Resources).is_none() {
        return Err(no_section(Section::Resources));
    }
    let p = tree::primitive_mut(tree, prim).ok_or_else(|| FragmentError::NotInCib {
        name: name.to_owned(),
    })?;
    let old = tree::nvpair(p, SetKind::Instance, key).map(str::to_owned);
    tree::set_nvpair(
        p,
        SetKind::Instance,
        &format!("{prim}.params"),
        NvpairId::Dot,
        key,
        Some(value),
    );
    Ok(old)
}
