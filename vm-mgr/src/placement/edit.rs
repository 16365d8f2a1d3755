//! Pure edits of a CIB tree for placement: colocations, strategy, the move constraint, node
//! attributes (standby, the drained list). Each returns whether it changed something.

use shared::pacemaker::cib::tree::{self, NodeEdit, NvpairId, Section, SetKind};
use shared::xml::Element;

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

fn no_section(s: Section) -> FragmentError {
    FragmentError::NoSection { section: s.name() }
}

/// Removes the constraints with these ids; returns the ids removed.
fn remove_constraints(tree: &mut Element, ids: &[String]) -> Result<Vec<String>, FragmentError> {
    tree::remove_constraints(tree, ids).ok_or(no_section(Section::Constraints))
}

/// Replaces (or adds) the constraint with `c`'s id; returns whether the CIB changed.
fn put_constraint(tree: &mut Element, c: Element) -> Result<bool, FragmentError> {
    tree::put_constraint(tree, c).ok_or(no_section(Section::Constraints))
}

/// Whether the tree has a top-level resource (or one at any depth) called `id`.
pub fn has_resource(tree: &Element, id: &str) -> bool {
    tree::in_resources(tree, id)
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
    // `vm` must be a vm-mgr VM; `other` may be any resource (the constraint is vm-mgr's).
    for (id, ok) in [
        (vm, crate::fragment::in_cib(tree, vm)),
        (other, has_resource(tree, other)),
    ] {
        if !ok {
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
        if tree::section(tree, Section::Constraints).is_none() {
            return Err(no_section(Section::Constraints));
        }
        tree::constraints(tree)
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
    if tree::section(tree, Section::Resources).is_none() {
        return Err(no_section(Section::Resources));
    }
    let not_in = || FragmentError::NotInCib {
        name: vm.to_owned(),
    };
    if !crate::fragment::in_cib(tree, vm) {
        return Err(not_in());
    }
    let group = tree::group_mut(tree, vm).ok_or_else(not_in)?;
    Ok(tree::set_nvpair(
        group,
        SetKind::Meta,
        &format!("{vm}.meta"),
        NvpairId::Dash,
        key,
        value,
    ))
}

/// Puts the VM's strategy into the tree: stickiness and its pin or preference. Rewrites the
/// pin of a VM pinned before `vmmgr-pin-VM.home` existed into today's pair (same placement).
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
    let wanted: Vec<Element> = match (strategy, node) {
        (Strategy::Pinned, Some(n)) => crate::fragment::pin_constraints(&ids, n),
        (Strategy::Auto, Some(n)) => vec![crate::fragment::prefer_constraint(
            &ids,
            n,
            PREFER_AUTO_SCORE,
        )],
        (Strategy::Failover, Some(n)) => vec![crate::fragment::prefer_constraint(
            &ids,
            n,
            PREFER_FAILOVER_SCORE,
        )],
        _ => Vec::new(),
    };
    let keep: Vec<&str> = wanted.iter().filter_map(|w| w.attr("id")).collect();
    let stale: Vec<String> = [ids.pin(), ids.pin_home(), ids.prefer()]
        .into_iter()
        .filter(|id| !keep.contains(&id.as_str()))
        .collect();
    changed |= !remove_constraints(tree, &stale)?.is_empty();
    for w in wanted {
        changed |= put_constraint(tree, w)?;
    }
    Ok(changed)
}

/// The move constraint, until `until` (a Pacemaker date): INFINITY on the target `to` and,
/// when the VM runs somewhere (`from`), -INFINITY on that source. One `rsc_location` with one
/// rule each (Pacemaker applies every rule that holds, as separate constraints).
///
/// Only the source is banned, not every node but the target: a constraint orphaned by a
/// vm-mgr killed mid-move (its node died with it) must not strand the VM if the target fails
/// before the end date; it can then run on any third node. The ban on the source is what moves
/// a `failover` VM (its INFINITY stickiness on the source plus -INFINITY is -INFINITY there;
/// the preference alone would tie with it at INFINITY); the preference holds it on the target
/// against any finite score elsewhere.
pub fn move_constraint(vm: &str, to: &str, from: Option<&str>, until: &str) -> Element {
    let id = move_id(vm);
    let mut loc = el("rsc_location", &[("id", &id), ("rsc", vm)]);
    let rule = |part: &str, score: &str, node: &str| {
        let rid = format!("{id}.{part}");
        let mut rule = el(
            "rule",
            &[("id", &rid), ("score", score), ("boolean-op", "and")],
        );
        rule.children.push(el(
            "expression",
            &[
                ("id", &format!("{rid}.node")),
                ("attribute", "#uname"),
                ("operation", "eq"),
                ("value", node),
            ],
        ));
        rule.children.push(el(
            "date_expression",
            &[
                ("id", &format!("{rid}.until")),
                ("operation", "lt"),
                ("end", until),
            ],
        ));
        rule
    };
    loc.children.push(rule("to", "INFINITY", to));
    if let Some(from) = from.filter(|f| *f != to) {
        loc.children.push(rule("from", "-INFINITY", from));
    }
    loc
}

/// Adds (or replaces) the VM's move constraint (see [`move_constraint`]).
pub fn put_move(
    tree: &mut Element,
    vm: &str,
    to: &str,
    from: Option<&str>,
    until: &str,
) -> Result<bool, FragmentError> {
    if !crate::fragment::in_cib(tree, vm) {
        return Err(FragmentError::NotInCib {
            name: vm.to_owned(),
        });
    }
    put_constraint(tree, move_constraint(vm, to, from, until))
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
    match tree::set_node_attribute(tree, uname, key, value) {
        NodeEdit::Done(changed) => Ok(changed),
        NodeEdit::NoSection => Err(no_section(Section::Nodes)),
        NodeEdit::UnknownNode => Err(FragmentError::UnknownNode {
            node: uname.to_owned(),
        }),
    }
}

/// A permanent attribute of node `uname`.
pub fn node_attribute(tree: &Element, uname: &str, key: &str) -> Option<String> {
    tree::node_attribute(tree, uname, key).map(str::to_owned)
}

/// Sets (or with `None` removes) utilization `key` of node `uname` (its capacity).
pub fn set_node_capacity(
    tree: &mut Element,
    uname: &str,
    key: &str,
    value: Option<&str>,
) -> Result<bool, FragmentError> {
    match tree::set_node_nvpair(tree, uname, SetKind::Utilization, key, value) {
        NodeEdit::Done(changed) => Ok(changed),
        NodeEdit::NoSection => Err(no_section(Section::Nodes)),
        NodeEdit::UnknownNode => Err(FragmentError::UnknownNode {
            node: uname.to_owned(),
        }),
    }
}

/// Sets (or with `None` removes) the cluster property `name`.
pub fn set_property(
    tree: &mut Element,
    name: &str,
    value: Option<&str>,
) -> Result<bool, FragmentError> {
    tree::set_property(tree, name, value).ok_or(no_section(Section::CrmConfig))
}

/// Sets utilization `key` of the VM's domain primitive (where the agent writes it; the set
/// `vmmgr-domain-VM-utilization`, the id `crm_resource -z` gives, when there is none yet).
pub fn set_vm_utilization(
    tree: &mut Element,
    vm: &str,
    key: &str,
    value: &str,
) -> Result<bool, FragmentError> {
    let domain = VmIds::new(vm).domain();
    let prim = tree::primitive_mut(tree, &domain).ok_or_else(|| FragmentError::NotInCib {
        name: vm.to_owned(),
    })?;
    Ok(tree::set_nvpair(
        prim,
        SetKind::Utilization,
        &format!("{domain}-utilization"),
        NvpairId::Dash,
        key,
        Some(value),
    ))
}
