//! Typed reads and edits of a CIB's XML tree (the `<cib>` [`Element`] of [`Cib::element`],
//! or a copy being changed in a [`crate::pacemaker::Transaction`]).
//!
//! Callers name sections, name/value sets, resources, constraints and nodes; the walking of
//! `configuration`, `resources`, `constraints` and `nodes` elements happens here only. Reads
//! return `None` (or nothing) where the CIB lacks a section; edits return `None` when the
//! section they change is missing, so the caller can say which one.
//!
//! [`Cib::element`]: super::Cib::element

use std::collections::BTreeSet;

use crate::xml::Element;

/// A section of the CIB's `<configuration>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `<crm_config>`: cluster properties.
    CrmConfig,
    /// `<nodes>`.
    Nodes,
    /// `<resources>`.
    Resources,
    /// `<constraints>`.
    Constraints,
    /// `<rsc_defaults>`.
    RscDefaults,
    /// `<op_defaults>`.
    OpDefaults,
}

impl Section {
    /// The element name ("resources").
    pub const fn name(self) -> &'static str {
        match self {
            Section::CrmConfig => "crm_config",
            Section::Nodes => "nodes",
            Section::Resources => "resources",
            Section::Constraints => "constraints",
            Section::RscDefaults => "rsc_defaults",
            Section::OpDefaults => "op_defaults",
        }
    }
}

/// The section `s` of CIB `tree`.
pub fn section(tree: &Element, s: Section) -> Option<&Element> {
    tree.child("configuration")?.child(s.name())
}

/// The section `s` of CIB `tree`, mutable.
pub fn section_mut(tree: &mut Element, s: Section) -> Option<&mut Element> {
    tree.child_mut("configuration")?.child_mut(s.name())
}

/// A `<cib>` holding only an empty `<configuration>` with empty `<nodes>`, `<resources>` and
/// `<constraints>`: a scratch tree to apply the edits here to a few resources alone.
pub fn empty_cib() -> Element {
    let mut config = Element::new("configuration");
    for s in [Section::Nodes, Section::Resources, Section::Constraints] {
        config.children.push(Element::new(s.name()));
    }
    let mut cib = Element::new("cib");
    cib.children.push(config);
    cib
}

/// Every element with an `id` in the configuration of `tree` (not the status section, which
/// keeps the history of removed resources under their old ids), in document order.
pub fn configuration_ids(tree: &Element) -> Vec<&str> {
    let config = tree.child("configuration").map(Element::descendants);
    config
        .into_iter()
        .flatten()
        .filter_map(|d| d.attr("id"))
        .collect()
}

/// The kind of a name/value set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    /// `<meta_attributes>`.
    Meta,
    /// `<instance_attributes>` (agent parameters, permanent node attributes).
    Instance,
    /// `<utilization>`.
    Utilization,
}

impl SetKind {
    /// The element name ("meta_attributes").
    pub const fn name(self) -> &'static str {
        match self {
            SetKind::Meta => "meta_attributes",
            SetKind::Instance => "instance_attributes",
            SetKind::Utilization => "utilization",
        }
    }
}

/// How the id of a new nvpair is made from its set's id and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NvpairId {
    /// `SET-NAME`, as `crm_resource` and `crm_attribute` make them.
    Dash,
    /// `SET.NAME`.
    Dot,
}

impl NvpairId {
    fn make(self, set: &str, name: &str) -> String {
        match self {
            NvpairId::Dash => format!("{set}-{name}"),
            NvpairId::Dot => format!("{set}.{name}"),
        }
    }
}

/// The value of nvpair `name` in the `kind` sets of `parent` (the first one found, in document
/// order; rules are not evaluated).
pub fn nvpair<'a>(parent: &'a Element, kind: SetKind, name: &str) -> Option<&'a str> {
    parent
        .children_named(kind.name())
        .flat_map(|s| s.children_named("nvpair"))
        .find(|nv| nv.attr("name") == Some(name))
        .and_then(|nv| nv.attr("value"))
}

/// Whether one of the `kind` sets of `parent` has an nvpair `name` (with a value or not).
pub fn has_nvpair(parent: &Element, kind: SetKind, name: &str) -> bool {
    parent
        .children_named(kind.name())
        .flat_map(|s| s.children_named("nvpair"))
        .any(|nv| nv.attr("name") == Some(name))
}

/// Sets (or with `None` removes) nvpair `name` in the first `kind` set of `parent`. A missing
/// set is created first among `parent`'s children with id `set_id`; a new nvpair's id is made
/// from the id of the set it goes into by `ids`. Returns whether `parent` changed.
pub fn set_nvpair(
    parent: &mut Element,
    kind: SetKind,
    set_id: &str,
    ids: NvpairId,
    name: &str,
    value: Option<&str>,
) -> bool {
    if parent.child(kind.name()).is_none() {
        if value.is_none() {
            return false;
        }
        let mut set = Element::new(kind.name());
        set.set_attr("id", set_id);
        parent.children.insert(0, set);
    }
    let Some(set) = parent.child_mut(kind.name()) else {
        return false;
    };
    let set_id = set.attr("id").unwrap_or(set_id).to_owned();
    let pos = set
        .children
        .iter()
        .position(|nv| nv.name == "nvpair" && nv.attr("name") == Some(name));
    match (pos, value) {
        (Some(i), Some(v)) => {
            if set.children[i].attr("value") == Some(v) {
                return false;
            }
            set.children[i].set_attr("value", v);
        }
        (Some(i), None) => {
            set.children.remove(i);
        }
        (None, Some(v)) => {
            let mut nv = Element::new("nvpair");
            nv.set_attr("id", ids.make(&set_id, name));
            nv.set_attr("name", name);
            nv.set_attr("value", v);
            set.children.push(nv);
        }
        (None, None) => return false,
    }
    true
}

/// Removes nvpair `name` from every `kind` set of `parent`; returns whether one was there.
pub fn remove_nvpair_everywhere(parent: &mut Element, kind: SetKind, name: &str) -> bool {
    let mut removed = false;
    for set in parent.children.iter_mut().filter(|c| c.name == kind.name()) {
        let before = set.children.len();
        set.children
            .retain(|nv| !(nv.name == "nvpair" && nv.attr("name") == Some(name)));
        removed |= set.children.len() != before;
    }
    removed
}

/// Element names of resources.
pub const RESOURCE_KINDS: [&str; 5] = ["primitive", "group", "clone", "master", "bundle"];

/// Ids of every resource (`e` itself included, at any depth) in `e`.
pub fn resource_ids(e: &Element) -> BTreeSet<String> {
    e.descendants()
        .into_iter()
        .filter(|d| RESOURCE_KINDS.contains(&d.name.as_str()))
        .filter_map(|d| d.attr("id").map(str::to_owned))
        .collect()
}

/// The top-level element of `<resources>` whose id is `id`, whatever its kind.
pub fn top_level<'a>(tree: &'a Element, id: &str) -> Option<&'a Element> {
    section(tree, Section::Resources)?
        .children
        .iter()
        .find(|c| c.attr("id") == Some(id))
}

/// The top-level group `id`.
pub fn group<'a>(tree: &'a Element, id: &str) -> Option<&'a Element> {
    section(tree, Section::Resources)?
        .children_named("group")
        .find(|g| g.attr("id") == Some(id))
}

/// The top-level group `id`, mutable.
pub fn group_mut<'a>(tree: &'a mut Element, id: &str) -> Option<&'a mut Element> {
    section_mut(tree, Section::Resources)?
        .children
        .iter_mut()
        .find(|c| c.name == "group" && c.attr("id") == Some(id))
}

/// Ids of the primitives directly in group element `group`, in start order.
pub fn group_members(group: &Element) -> Vec<&str> {
    group
        .children_named("primitive")
        .filter_map(|m| m.attr("id"))
        .collect()
}

/// Adds `resources` at the end of `<resources>`; `None` if the CIB has no such section.
pub fn add_resources(tree: &mut Element, resources: &[Element]) -> Option<()> {
    section_mut(tree, Section::Resources)?
        .children
        .extend(resources.iter().cloned());
    Some(())
}

/// Removes the top-level group `id`; `None` if there is no `<resources>`, else whether it was
/// there.
pub fn remove_group(tree: &mut Element, id: &str) -> Option<bool> {
    let resources = section_mut(tree, Section::Resources)?;
    let before = resources.children.len();
    resources
        .children
        .retain(|c| !(c.name == "group" && c.attr("id") == Some(id)));
    Some(resources.children.len() != before)
}

/// Whether `<resources>` holds an element (a resource, or any part of one) with id `id`.
pub fn in_resources(tree: &Element, id: &str) -> bool {
    section(tree, Section::Resources).is_some_and(|r| r.find_id(id).is_some())
}

/// The primitive `id`, at any depth of `<resources>`, mutable.
pub fn primitive_mut<'a>(tree: &'a mut Element, id: &str) -> Option<&'a mut Element> {
    section_mut(tree, Section::Resources)?
        .find_id_mut(id)
        .filter(|p| p.name == "primitive")
}

/// Resources constraint element `c` names (rsc, with-rsc, first, then, resource_ref).
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

/// Every constraint element, in document order (none if there is no `<constraints>`).
pub fn constraints(tree: &Element) -> &[Element] {
    section(tree, Section::Constraints).map_or(&[], |c| c.children.as_slice())
}

/// The constraint `id`.
pub fn constraint<'a>(tree: &'a Element, id: &str) -> Option<&'a Element> {
    constraints(tree).iter().find(|c| c.attr("id") == Some(id))
}

/// The constraints naming at least one of the resources `ids`, in document order.
pub fn constraints_naming<'a>(tree: &'a Element, ids: &BTreeSet<String>) -> Vec<&'a Element> {
    constraints(tree)
        .iter()
        .filter(|c| !constraint_refs(c).is_disjoint(ids))
        .collect()
}

/// Adds constraint `c` at the end; `None` if there is no `<constraints>`.
pub fn add_constraint(tree: &mut Element, c: Element) -> Option<()> {
    section_mut(tree, Section::Constraints)?.children.push(c);
    Some(())
}

/// Replaces the constraint with `c`'s id by `c`, or adds `c`; `None` if there is no
/// `<constraints>`, else whether the CIB changed.
pub fn put_constraint(tree: &mut Element, c: Element) -> Option<bool> {
    let cons = section_mut(tree, Section::Constraints)?;
    let id = c.attr("id").unwrap_or_default().to_owned();
    match cons
        .children
        .iter_mut()
        .find(|x| x.attr("id") == Some(id.as_str()))
    {
        Some(old) if *old == c => Some(false),
        Some(old) => {
            *old = c;
            Some(true)
        }
        None => {
            cons.children.push(c);
            Some(true)
        }
    }
}

/// Removes the constraints whose ids are in `ids`; `None` if there is no `<constraints>`, else
/// the ids removed, in document order.
pub fn remove_constraints(tree: &mut Element, ids: &[String]) -> Option<Vec<String>> {
    let cons = section_mut(tree, Section::Constraints)?;
    let mut removed = Vec::new();
    cons.children.retain(|c| match c.attr("id") {
        Some(id) if ids.iter().any(|i| i == id) => {
            removed.push(id.to_owned());
            false
        }
        _ => true,
    });
    Some(removed)
}

/// Removes the constraints naming at least one of the resources `ids`; `None` if there is no
/// `<constraints>`, else how many were removed.
pub fn remove_constraints_naming(tree: &mut Element, ids: &BTreeSet<String>) -> Option<usize> {
    let cons = section_mut(tree, Section::Constraints)?;
    let before = cons.children.len();
    cons.children
        .retain(|c| constraint_refs(c).is_disjoint(ids));
    Some(before - cons.children.len())
}

/// The configured `<node>` called `uname`.
pub fn node<'a>(tree: &'a Element, uname: &str) -> Option<&'a Element> {
    section(tree, Section::Nodes)?
        .children
        .iter()
        .find(|n| n.attr("uname") == Some(uname))
}

/// The configured `<node>` called `uname`, mutable.
pub fn node_mut<'a>(tree: &'a mut Element, uname: &str) -> Option<&'a mut Element> {
    section_mut(tree, Section::Nodes)?
        .children
        .iter_mut()
        .find(|n| n.name == "node" && n.attr("uname") == Some(uname))
}

/// A permanent attribute of node `uname`.
pub fn node_attribute<'a>(tree: &'a Element, uname: &str, name: &str) -> Option<&'a str> {
    nvpair(node(tree, uname)?, SetKind::Instance, name)
}

/// What [`set_node_attribute`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeEdit {
    /// The CIB has no `<nodes>`.
    NoSection,
    /// No node of that name is configured.
    UnknownNode,
    /// Done; whether the CIB changed.
    Done(bool),
}

/// Sets (or with `None` removes) a permanent attribute of node `uname`, in its first
/// `instance_attributes` set (created as `nodes-ID`, Pacemaker's own id, if missing).
pub fn set_node_attribute(
    tree: &mut Element,
    uname: &str,
    name: &str,
    value: Option<&str>,
) -> NodeEdit {
    set_node_nvpair(tree, uname, SetKind::Instance, name, value)
}

/// Sets (or with `None` removes) nvpair `name` in the first `kind` set of node `uname`: a
/// permanent attribute ([`SetKind::Instance`], set `nodes-ID`) or the node's capacity
/// ([`SetKind::Utilization`], set `nodes-ID-utilization`), with Pacemaker's own ids (as
/// `crm_attribute` and `crm_attribute -z` make them). A removal takes the name out of every
/// such set of the node.
pub fn set_node_nvpair(
    tree: &mut Element,
    uname: &str,
    kind: SetKind,
    name: &str,
    value: Option<&str>,
) -> NodeEdit {
    if section(tree, Section::Nodes).is_none() {
        return NodeEdit::NoSection;
    }
    let Some(node) = node_mut(tree, uname) else {
        return NodeEdit::UnknownNode;
    };
    let id = node.attr("id").unwrap_or(uname).to_owned();
    let set_id = match kind {
        SetKind::Instance => format!("nodes-{id}"),
        other => format!("nodes-{id}-{}", other.name()),
    };
    if value.is_none() {
        return NodeEdit::Done(remove_nvpair_everywhere(node, kind, name));
    }
    NodeEdit::Done(set_nvpair(node, kind, &set_id, NvpairId::Dash, name, value))
}

/// The element of a set of cluster properties.
const PROPERTY_SET: &str = "cluster_property_set";

/// Sets (or with `None` removes) the cluster property `name`: in the `cluster_property_set`
/// that holds it, else in the first one (Pacemaker reads the first value in document order),
/// else in a new `cib-bootstrap-options`. A removal takes it out of every set. `None` when the
/// CIB has no `<crm_config>`; else whether it changed.
pub fn set_property(tree: &mut Element, name: &str, value: Option<&str>) -> Option<bool> {
    let config = section_mut(tree, Section::CrmConfig)?;
    let Some(v) = value else {
        let mut removed = false;
        for set in config
            .children
            .iter_mut()
            .filter(|c| c.name == PROPERTY_SET)
        {
            let before = set.children.len();
            set.children
                .retain(|nv| !(nv.name == "nvpair" && nv.attr("name") == Some(name)));
            removed |= set.children.len() != before;
        }
        return Some(removed);
    };
    let holder = config.children.iter().position(|c| {
        c.name == PROPERTY_SET
            && c.children
                .iter()
                .any(|nv| nv.name == "nvpair" && nv.attr("name") == Some(name))
    });
    let index = match holder.or_else(|| config.children.iter().position(|c| c.name == PROPERTY_SET))
    {
        Some(i) => i,
        None => {
            let mut set = Element::new(PROPERTY_SET);
            set.set_attr("id", "cib-bootstrap-options");
            config.children.push(set);
            config.children.len() - 1
        }
    };
    let set = &mut config.children[index];
    let set_id = set.attr("id").unwrap_or("cib-bootstrap-options").to_owned();
    if let Some(nv) = set
        .children
        .iter_mut()
        .find(|nv| nv.name == "nvpair" && nv.attr("name") == Some(name))
    {
        if nv.attr("value") == Some(v) {
            return Some(false);
        }
        nv.set_attr("value", v);
        return Some(true);
    }
    let mut nv = Element::new("nvpair");
    nv.set_attr("id", NvpairId::Dash.make(&set_id, name));
    nv.set_attr("name", name);
    nv.set_attr("value", v);
    set.children.push(nv);
    Some(true)
}

/// The children of `root`'s first section element `s` (`root` being a document that holds
/// CIB sections directly, as vm-mgr's stored fragments do), cloned.
pub fn section_children(root: &Element, s: Section) -> Vec<Element> {
    root.child(s.name())
        .map(|c| c.children.clone())
        .unwrap_or_default()
}
