//! The cluster status `crm_mon` would compute, derived from the CIB alone (`cibadmin --query`:
//! configuration and status sections), for the plain cases only.
//!
//! `crm_mon` runs Pacemaker's whole scheduler on the CIB to say which node is online and where
//! each resource runs. On a large CIB that costs about twice `cibadmin --query` itself, and a
//! reader that already has the CIB mostly needs the plain answer: every node a clean member,
//! every resource stopped or started on one node, no failure. [`status_from_cib`] gives that
//! answer and is conservative: whenever the CIB holds anything it does not fully model, it is
//! [`Undecided`] and the caller asks `crm_mon` as before. A wrong answer is worse than a slower
//! one.
//!
//! Decided only when, in the configuration: the partition has quorum and a DC, no cluster,
//! node or resource maintenance, no unmanaged resource, no `shutdown-lock`, no clone, bundle,
//! template, remote or guest node, no rule in resources, defaults or nodes; and in the status
//! section: every configured node either a full member (`in_ccm`, `crmd` online, `join` and
//! `expected` member) or cleanly down (all four down/offline, as after a clean shutdown or a
//! completed fencing); no node shutting down, no fail count, and each resource's history on each
//! member node reads as running or stopped (the `ops` module: completed starts, stops, probes,
//! successful monitors and finished migrations) with at most one node
//! running it, and no history of a resource that is not configured.
//!
//! The result fills what `crm_mon` reports of nodes (name, id, online, standby, maintenance,
//! unclean, pending, shutdown, expected up, DC, resources running, type), resources (id, agent,
//! role, target role, active, managed, failed, nodes, parent), groups, node attributes, the
//! DC and quorum; failures are empty (a failure is undecided). The summary counters, node
//! history and fencing history are left empty: callers that need them ask `crm_mon`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use super::cib::{Cib, CibNode, CibResource, Nvpairs};
use super::status::{
    ClusterStatus, Collection, CollectionKind, DcInfo, NodeStatus, NodeType, ResourceStatus,
};
use super::types::{is_true, Role};
use crate::xml::Element;

mod ops;
#[cfg(test)]
mod tests;

use ops::{state_on_node, OnNode};

/// Why the CIB alone does not decide the status: ask `crm_mon`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecided {
    /// What was not understood.
    pub reason: String,
}

impl Undecided {
    fn new(reason: impl Into<String>) -> Undecided {
        Undecided {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Undecided {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "undecided from the CIB alone: {}", self.reason)
    }
}

/// The status `crm_mon --output-as=xml` reports for `cib` (see the module documentation for
/// what is filled and when it decides).
pub fn status_from_cib(cib: &Cib) -> Result<ClusterStatus, Undecided> {
    check_configuration(cib)?;
    let states = node_states(cib)?;
    let running = running_nodes(cib, &states)?;
    let mut status = ClusterStatus::default();
    let dc_id = cib
        .dc_uuid
        .as_deref()
        .ok_or_else(|| Undecided::new("no DC"))?;
    let dc = cib
        .nodes
        .iter()
        .find(|n| n.id == dc_id)
        .ok_or_else(|| Undecided::new("the DC is not a configured node"))?;
    status.summary.dc = Some(DcInfo {
        name: dc.uname.clone(),
        id: Some(dc.id.clone()),
        version: cib.property("dc-version").map(str::to_owned),
        with_quorum: cib.have_quorum,
        mixed_version: false,
    });
    status.summary.nodes_configured = u32::try_from(cib.nodes.len()).unwrap_or(u32::MAX);
    for r in &cib.resources {
        add_resource(r, None, &Nvpairs::new(), &running, &mut status);
    }
    for s in &states {
        let count = status
            .resources
            .iter()
            .filter(|r| r.nodes.contains(&s.node.uname))
            .count();
        status.nodes.push(NodeStatus {
            name: s.node.uname.clone(),
            id: s.node.id.clone(),
            online: s.member.is_some(),
            standby: s.standby,
            expected_up: s.member.is_some(),
            is_dc: s.node.id == dc.id,
            resources_running: u32::try_from(count).unwrap_or(u32::MAX),
            node_type: NodeType::Member,
            ..NodeStatus::default()
        });
        if !s.attributes.is_empty() {
            status
                .node_attributes
                .insert(s.node.uname.clone(), s.attributes.clone());
        }
    }
    status.nodes.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    Ok(status)
}

/// The configuration-wide conditions of [`status_from_cib`].
fn check_configuration(cib: &Cib) -> Result<(), Undecided> {
    if !cib.have_quorum {
        return Err(Undecided::new("no quorum"));
    }
    for (name, what) in [
        ("maintenance-mode", "cluster maintenance"),
        ("shutdown-lock", "shutdown locks"),
    ] {
        if cib.property(name).is_some_and(is_true) {
            return Err(Undecided::new(what));
        }
    }
    unmanaged(&cib.rsc_defaults, "resource defaults")?;
    let config = cib
        .element()
        .child("configuration")
        .ok_or_else(|| Undecided::new("no configuration section"))?;
    for section in ["resources", "rsc_defaults", "nodes"] {
        if config
            .child(section)
            .is_some_and(|s| s.descendants().iter().any(|e| e.name == "rule"))
        {
            return Err(Undecided::new(format!("a rule in {section}")));
        }
    }
    if let Some(n) = cib.nodes.iter().find(|n| {
        n.node_type.as_deref().is_some_and(|t| t != "member")
            || n.attributes.get("maintenance").is_some_and(|v| is_true(v))
    }) {
        return Err(Undecided::new(format!(
            "node {}: not a plain member",
            n.uname
        )));
    }
    cib.resources.iter().try_for_each(check_resource)
}

/// A resource this derivation models: a primitive (not a remote connection, not from a
/// template) or a group of them, managed.
fn check_resource(r: &CibResource) -> Result<(), Undecided> {
    unmanaged(r.meta_attributes(), r.id())?;
    match r {
        CibResource::Primitive(p) => {
            let remote = p.agent() == "ocf:pacemaker:remote"
                || p.meta_attributes.contains_key("remote-node")
                || p.template.is_some();
            if remote {
                return Err(Undecided::new(format!("{}: remote or template", p.id)));
            }
            Ok(())
        }
        CibResource::Group(g) => g.members.iter().try_for_each(check_resource),
        CibResource::Clone(_) | CibResource::Bundle(_) => {
            Err(Undecided::new(format!("{}: a clone or bundle", r.id())))
        }
    }
}

/// Undecided when meta attributes `meta` make something unmanaged.
fn unmanaged(meta: &Nvpairs, whose: &str) -> Result<(), Undecided> {
    let off = meta.get("is-managed").is_some_and(|v| !is_true(v))
        || meta.get("maintenance").is_some_and(|v| is_true(v));
    if off {
        return Err(Undecided::new(format!("{whose}: unmanaged")));
    }
    Ok(())
}

/// A configured node and what its `node_state` says.
struct NodeState<'a> {
    node: &'a CibNode,
    /// Its `node_state`, when it is a full member (its history counts).
    member: Option<&'a Element>,
    standby: bool,
    /// Attributes as `crm_mon` lists them.
    attributes: BTreeMap<String, String>,
}

/// Transient attributes that say something this derivation does not model.
fn is_unmodelled_transient(name: &str) -> bool {
    ["fail-count-", "last-failure-"]
        .iter()
        .any(|p| name.starts_with(p))
        || ["shutdown", "terminate", "maintenance"].contains(&name)
}

/// Each configured node's state, in configuration order.
fn node_states(cib: &Cib) -> Result<Vec<NodeState<'_>>, Undecided> {
    let status = cib
        .element()
        .child("status")
        .ok_or_else(|| Undecided::new("no status section"))?;
    let by_id: HashMap<&str, &Element> = status
        .children_named("node_state")
        .filter_map(|s| Some((s.attr("id")?, s)))
        .collect();
    if by_id.len() != cib.nodes.len() || status.children_named("node_state").count() != by_id.len()
    {
        return Err(Undecided::new(
            "node states do not match the configured nodes",
        ));
    }
    let mut states = Vec::new();
    for node in &cib.nodes {
        let undecided = |why: &str| Undecided::new(format!("node {}: {why}", node.uname));
        let state = by_id
            .get(node.id.as_str())
            .filter(|s| s.attr("uname") == Some(node.uname.as_str()))
            .ok_or_else(|| undecided("no node state"))?;
        let flags = ["in_ccm", "crmd", "join", "expected"].map(|a| state.attr(a).unwrap_or(""));
        let member = match flags {
            ["true", "online", "member", "member"] => Some(*state),
            ["false", "offline", "down", "down"] => None,
            _ => return Err(undecided("neither a member nor cleanly down")),
        };
        let transient = cib.transient_attributes.get(&node.uname);
        let mut attributes: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in transient.into_iter().flatten() {
            if is_unmodelled_transient(name) {
                return Err(undecided(name));
            }
            if !name.starts_with('#') && name != "standby" {
                attributes.insert(name.clone(), value.clone());
            }
        }
        for (name, value) in &node.attributes {
            if name == "standby" {
                continue;
            }
            match attributes.get(name) {
                Some(v) if v != value => return Err(undecided("an attribute set twice")),
                _ => attributes.insert(name.clone(), value.clone()),
            };
        }
        let standby_of =
            |set: Option<&Nvpairs>| set.and_then(|s| s.get("standby")).map(|v| is_true(v));
        let standby = match (standby_of(Some(&node.attributes)), standby_of(transient)) {
            (Some(a), Some(b)) if a != b => return Err(undecided("standby set twice")),
            (a, b) => a.or(b).unwrap_or(false),
        };
        states.push(NodeState {
            node,
            member,
            standby,
            attributes,
        });
    }
    Ok(states)
}

/// The node each resource runs on (absent: stopped everywhere), from the histories of the
/// member nodes; a cleanly down node's history does not count, as in Pacemaker.
fn running_nodes<'a>(
    cib: &Cib,
    states: &[NodeState<'a>],
) -> Result<HashMap<String, &'a str>, Undecided> {
    let configured: std::collections::HashSet<&str> = cib
        .primitives()
        .into_iter()
        .map(|p| p.id.as_str())
        .collect();
    let mut running: HashMap<String, &str> = HashMap::new();
    for s in states {
        let Some(state) = s.member else {
            continue;
        };
        let histories = state
            .child("lrm")
            .and_then(|l| l.child("lrm_resources"))
            .into_iter()
            .flat_map(|r| r.children_named("lrm_resource"));
        for rsc in histories {
            let id = rsc.attr("id").unwrap_or("");
            if !configured.contains(id) {
                return Err(Undecided::new(format!("history of {id}, not configured")));
            }
            if state_on_node(rsc)? == OnNode::Running
                && running
                    .insert(id.to_owned(), s.node.uname.as_str())
                    .is_some()
            {
                return Err(Undecided::new(format!("{id} active on several nodes")));
            }
        }
    }
    Ok(running)
}

/// Adds resource `r` (inside group `parent`, whose meta attributes are `inherited`) to
/// `status`, as `crm_mon` lists it.
fn add_resource(
    r: &CibResource,
    parent: Option<&str>,
    inherited: &Nvpairs,
    running: &HashMap<String, &str>,
    status: &mut ClusterStatus,
) {
    match r {
        CibResource::Primitive(p) => {
            let node = running.get(&p.id);
            let target = p
                .meta_attributes
                .get("target-role")
                .or_else(|| inherited.get("target-role"));
            status.resources.push(ResourceStatus {
                id: p.id.clone(),
                resource_agent: p.agent(),
                role: if node.is_some() {
                    Role::Started
                } else {
                    Role::Stopped
                },
                target_role: target.map(|t| Role::parse(t)),
                active: node.is_some(),
                managed: true,
                nodes_running_on: u32::from(node.is_some()),
                nodes: node.map(|n| vec![(*n).to_owned()]).unwrap_or_default(),
                parent: parent.map(str::to_owned),
                ..ResourceStatus::default()
            });
        }
        CibResource::Group(g) => {
            status.collections.push(Collection {
                kind: CollectionKind::Group,
                id: g.id.clone(),
                parent: parent.map(str::to_owned),
                managed: true,
                disabled: r.target_role() == Some(Role::Stopped),
                failed: false,
                failure_ignored: false,
                promotable: false,
                unique: false,
                members: g.members.iter().map(|m| m.id().to_owned()).collect(),
            });
            for m in &g.members {
                add_resource(m, Some(&g.id), &g.meta_attributes, running, status);
            }
        }
        // Refused by check_configuration.
        CibResource::Clone(_) | CibResource::Bundle(_) => {}
    }
}

/// Node names in Pacemaker's order: case-insensitive, runs of digits compared as numbers
/// ("sim2" before "sim10").
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let digits = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (digits(a), digits(b));
                let (da, db) = (trim_zeros(&a[..na]), trim_zeros(&b[..nb]));
                let order = da.len().cmp(&db.len()).then(da.cmp(db));
                if order.is_ne() {
                    return order;
                }
                (a, b) = (&a[na..], &b[nb..]);
            }
            (Some(x), Some(y)) => {
                let order = x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase());
                if order.is_ne() {
                    return order;
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|c| **c == b'0').count();
    &digits[zeros..]
}
