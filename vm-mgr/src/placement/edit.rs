//! Pure edits of a CIB tree for placement: colocations, strategy, the move constraint, node
//! attributes (standby, the drained list). Each returns whether it changed something.

use shared::pacemaker::xml::Element;

use super::{colocation_id, move_id, Strategy, PREFER_AUTO_SCORE, PREFER_FAILOVER_SCORE};
use crate::fragment::FragmentError;
use crate::vm::VmIds;

fn el(name: &str, attrs: &[(&str, &str)]) -> Element {
    let mut e = Element::new(name);
    for (k, v) in attrs {
        e.set_attr(k, *v);
    }
    e
}

fn section_mut<'a>(
    tree: &'a mut Element,
    name: &'static str,
) -> Result<&'a mut Element, FragmentError> {
    tree.child_mut("configuration")
        .and_then(|c| c.child_mut(name))
        .ok_or(FragmentError::NoSection { section: name })
}

/// Removes the constraints with these ids; returns the ids removed.
fn remove_constraints(tree: &mut Element, ids: &[String]) -> Result<Vec<String>, FragmentError> {
    let cons = section_mut(tree, "constraints")?;
    let mut removed = Vec::new();
    cons.children.retain(|c| match c.attr("id") {
        Some(id) if ids.iter().any(|i| i == id) => {
            removed.push(id.to_owned());
            false
        }
        _ => true,
    });
    Ok(removed)
}

/// Replaces (or adds) the constraint with `c`'s id; returns whether the CIB changed.
fn put_constraint(tree: &mut Element, c: Element) -> Result<bool, FragmentError> {
    let cons = section_mut(tree, "constraints")?;
    let id = c.attr("id").unwrap_or_default().to_owned();
    match cons
        .children
        .iter_mut()
        .find(|x| x.attr("id") == Some(id.as_str()))
    {
        Some(old) if *old == c => Ok(false),
        Some(old) => {
            *old = c;
            Ok(true)
        }
        None => {
            cons.children.push(c);
            Ok(true)
        }
    }
}

/// Whether the tree has a top-level resource (or one at any depth) called `id`.
pub fn has_resource(tree: &Element, id: &str) -> bool {
    tree.child("configuration")
        .and_then(|c| c.child("resources"))
        .and_then(|r| r.find_id(id))
        .is_some()
}

/// The `rsc_colocation` of `vm` with `other` (`anti`: apart) at `score`.
pub fn colocation(vm: &str, other: &str, anti: bool, score: &str) -> Element {
    el(
        "rsc_colocation",
        &[
            ("id", &colocation_id(vm, other, anti)),
            ("rsc", vm),
            ("with-rsc", other),
            ("score", score),
        ],
    )
}

/// Adds (or re-scores) the colocation of `vm` with `other`, removing the opposite one of the
/// same pair (a pair cannot be both together and apart).
pub fn add_colocation(
    tree: &mut Element,
    vm: &str,
    other: &str,
    anti: bool,
    score: &str,
) -> Result<bool, FragmentError> {
    for id in [vm, other] {
        if !has_resource(tree, id) {
            return Err(FragmentError::NotInCib {
                name: id.to_owned(),
            });
        }
    }
    let removed = remove_constraints(tree, &[colocation_id(vm, other, !anti)])?;
    let added = put_constraint(tree, colocation(vm, other, anti, score))?;
    Ok(added || !removed.is_empty())
}

/// Removes vm-mgr's colocations of `vm` with `others` (both kinds), or all of them when
/// `others` is empty. Returns the ids removed.
pub fn remove_colocations(
    tree: &mut Element,
    vm: &str,
    others: &[String],
) -> Result<Vec<String>, FragmentError> {
    let ids: Vec<String> = if others.is_empty() {
        let prefixes = [format!("vmmgr-colo-{vm}."), format!("vmmgr-anti-{vm}.")];
        section_mut(tree, "constraints")?
            .children
            .iter()
            .filter_map(|c| c.attr("id"))
            .filter(|id| prefixes.iter().any(|p| id.starts_with(p.as_str())))
            .map(str::to_owned)
            .collect()
    } else {
        others
            .iter()
            .flat_map(|o| [colocation_id(vm, o, false), colocation_id(vm, o, true)])
            .collect()
    };
    remove_constraints(tree, &ids)
}

/// Sets `key` in the group's meta attributes (`None` removes it).
pub fn set_group_meta(
    tree: &mut Element,
    vm: &str,
    key: &str,
    value: Option<&str>,
) -> Result<bool, FragmentError> {
    let group = section_mut(tree, "resources")?
        .children
        .iter_mut()
        .find(|c| c.name == "group" && c.attr("id") == Some(vm))
        .ok_or_else(|| FragmentError::NotInCib {
            name: vm.to_owned(),
        })?;
    Ok(set_nvpair(
        group,
        "meta_attributes",
        &format!("{vm}.meta"),
        key,
        value,
    ))
}

/// Sets (or with `None` removes) `key` in the first `kind` set of `parent`.
pub fn set_nvpair(
    parent: &mut Element,
    kind: &str,
    set_id: &str,
    key: &str,
    value: Option<&str>,
) -> bool {
    let before = parent.clone();
    if parent.child(kind).is_none() {
        if value.is_none() {
            return false;
        }
        parent.children.insert(0, el(kind, &[("id", set_id)]));
    }
    let Some(set) = parent.child_mut(kind) else {
        return false;
    };
    let set_id = set.attr("id").unwrap_or(set_id).to_owned();
    let pos = set
        .children
        .iter()
        .position(|nv| nv.name == "nvpair" && nv.attr("name") == Some(key));
    match (pos, value) {
        (Some(i), Some(v)) => set.children[i].set_attr("value", v),
        (Some(i), None) => {
            set.children.remove(i);
        }
        (None, Some(v)) => set.children.push(el(
            "nvpair",
            &[
                ("id", &format!("{set_id}-{key}")),
                ("name", key),
                ("value", v),
            ],
        )),
        (None, None) => {}
    }
    *parent != before
}

/// The `vmmgr-pin-VM` constraint: -INFINITY on every node but `node`.
pub fn pin(vm: &str, node: &str) -> Element {
    let id = VmIds::new(vm).pin();
    let mut loc = el("rsc_location", &[("id", &id), ("rsc", vm)]);
    let mut rule = el(
        "rule",
        &[("id", &format!("{id}.rule")), ("score", "-INFINITY")],
    );
    rule.children.push(el(
        "expression",
        &[
            ("id", &format!("{id}.node")),
            ("attribute", "#uname"),
            ("operation", "ne"),
            ("value", node),
        ],
    ));
    loc.children.push(rule);
    loc
}

/// Puts the VM's strategy into the tree: stickiness and its pin or preference.
pub fn set_strategy(
    tree: &mut Element,
    vm: &str,
    strategy: Strategy,
    node: Option<&str>,
) -> Result<bool, FragmentError> {
    let ids = VmIds::new(vm);
    let stickiness = match strategy {
        Strategy::Auto => Some("0"),
        Strategy::Failover => Some("INFINITY"),
        Strategy::Pinned => None,
    };
    let mut changed = set_group_meta(tree, vm, "resource-stickiness", stickiness)?;
    let wanted: Option<Element> = match (strategy, node) {
        (Strategy::Pinned, Some(n)) => Some(pin(vm, n)),
        (Strategy::Auto, Some(n)) | (Strategy::Failover, Some(n)) => {
            let score = if strategy == Strategy::Auto {
                PREFER_AUTO_SCORE
            } else {
                PREFER_FAILOVER_SCORE
            };
            Some(el(
                "rsc_location",
                &[
                    ("id", &ids.prefer()),
                    ("rsc", vm),
                    ("node", n),
                    ("score", score),
                ],
            ))
        }
        _ => None,
    };
    let keep = wanted
        .as_ref()
        .and_then(|w| w.attr("id"))
        .map(str::to_owned);
    let stale: Vec<String> = [ids.pin(), ids.prefer()]
        .into_iter()
        .filter(|id| Some(id) != keep.as_ref())
        .collect();
    changed |= !remove_constraints(tree, &stale)?.is_empty();
    if let Some(w) = wanted {
        changed |= put_constraint(tree, w)?;
    }
    Ok(changed)
}

/// The move constraint: -INFINITY on every node but `node`, until `until` (a Pacemaker date).
pub fn move_constraint(vm: &str, node: &str, until: &str) -> Element {
    let id = move_id(vm);
    let mut loc = el("rsc_location", &[("id", &id), ("rsc", vm)]);
    let mut rule = el(
        "rule",
        &[
            ("id", &format!("{id}.rule")),
            ("score", "-INFINITY"),
            ("boolean-op", "and"),
        ],
    );
    rule.children.push(el(
        "expression",
        &[
            ("id", &format!("{id}.node")),
            ("attribute", "#uname"),
            ("operation", "ne"),
            ("value", node),
        ],
    ));
    rule.children.push(el(
        "date_expression",
        &[
            ("id", &format!("{id}.until")),
            ("operation", "lt"),
            ("end", until),
        ],
    ));
    loc.children.push(rule);
    loc
}

/// Adds (or replaces) the VM's move constraint.
pub fn put_move(
    tree: &mut Element,
    vm: &str,
    node: &str,
    until: &str,
) -> Result<bool, FragmentError> {
    if !has_resource(tree, vm) {
        return Err(FragmentError::NotInCib {
            name: vm.to_owned(),
        });
    }
    put_constraint(tree, move_constraint(vm, node, until))
}

/// Removes the VM's move constraint; whether there was one.
pub fn remove_move(tree: &mut Element, vm: &str) -> Result<bool, FragmentError> {
    Ok(!remove_constraints(tree, &[move_id(vm)])?.is_empty())
}

/// Sets (or with `None` removes) a permanent attribute of node `uname`.
pub fn set_node_attribute(
    tree: &mut Element,
    uname: &str,
    key: &str,
    value: Option<&str>,
) -> Result<bool, FragmentError> {
    let node = section_mut(tree, "nodes")?
        .children
        .iter_mut()
        .find(|n| n.name == "node" && n.attr("uname") == Some(uname))
        .ok_or_else(|| FragmentError::UnknownNode {
            node: uname.to_owned(),
        })?;
    let set_id = format!("nodes-{}", node.attr("id").unwrap_or(uname));
    Ok(set_nvpair(node, "instance_attributes", &set_id, key, value))
}

/// A permanent attribute of node `uname`.
pub fn node_attribute(tree: &Element, uname: &str, key: &str) -> Option<String> {
    tree.child("configuration")?
        .child("nodes")?
        .children
        .iter()
        .find(|n| n.attr("uname") == Some(uname))
        .and_then(|n| super::nvpair(n, "instance_attributes", key))
        .map(str::to_owned)
}
