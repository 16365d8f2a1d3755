//! Preflight of a move: every reason the VM cannot go to the target node, each said exactly
//! (which node state, which constraint, which resource, how much capacity), computed from the
//! CIB and `crm_mon` only (pure), so that recorded pairs test it. The libvirt reachability of
//! the target is the one check that needs I/O ([`libvirt_check`]); `crm_simulate` gives the
//! final verdict in the verbs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use shared::pacemaker::cib::tree::{self, SetKind};
use shared::pacemaker::{Cib, ClusterStatus, Score};
use shared::xml::Element;

use super::nodes::{node_facts, NodeFacts};
use super::{move_id, pin_node};
use crate::state::{status_of, VmState, VmStatus};
use crate::vm::VmIds;

/// One finding: a stable key and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable key ("target-standby", "banned", "colocation" ...).
    pub check: &'static str,
    /// What exactly, for people.
    pub message: String,
}

fn finding(check: &'static str, message: String) -> Finding {
    Finding { check, message }
}

/// What the preflight found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Preflight {
    /// Where the VM runs now.
    pub source: Option<String>,
    /// Whether the VM can live-migrate (every member allows it).
    pub live_capable: bool,
    /// The VM already runs on the target (nothing to do).
    pub already_there: bool,
    /// What blocks the move.
    pub blockers: Vec<Finding>,
    /// What the operator should know.
    pub warnings: Vec<Finding>,
}

/// Whether `name`'s members all allow live migration (primitive meta, else the group's).
pub fn allows_migration(cib: &Cib, name: &str) -> bool {
    let Some(group) = cib.resource(name) else {
        return false;
    };
    let group_says = group.meta_attributes().get("allow-migrate").cloned();
    let prims = group.primitives();
    !prims.is_empty()
        && prims.iter().all(|p| {
            p.meta_attributes
                .get("allow-migrate")
                .or(group_says.as_ref())
                .is_some_and(|v| shared::pacemaker::types::is_true(v))
        })
}

/// Whether `rule` holds on the node; `None` when it tests something not modelled here (dates,
/// score attributes), which `crm_simulate` then judges.
fn rule_matches(rule: &Element, facts: &NodeFacts) -> Option<bool> {
    let or = rule.attr("boolean-op") == Some("or");
    let mut results = Vec::new();
    for e in &rule.children {
        let r = match e.name.as_str() {
            "expression" => expression_matches(e, facts),
            "rule" => rule_matches(e, facts),
            _ => None,
        };
        results.push(r);
    }
    if or {
        if results.contains(&Some(true)) {
            Some(true)
        } else if results.iter().all(|r| *r == Some(false)) {
            Some(false)
        } else {
            None
        }
    } else if results.contains(&Some(false)) {
        Some(false)
    } else if results.iter().all(|r| *r == Some(true)) {
        Some(true)
    } else {
        None
    }
}

fn expression_matches(e: &Element, facts: &NodeFacts) -> Option<bool> {
    let attr = e.attr("attribute")?;
    let value: Option<String> = match attr {
        "#uname" => Some(facts.uname.clone()),
        "#kind" => Some(facts.kind.to_owned()),
        a if a.starts_with('#') => return None,
        a => facts.attrs.get(a).cloned(),
    };
    let want = e.attr("value").unwrap_or("");
    let num = |s: &str| s.parse::<f64>().ok();
    Some(match e.attr("operation")? {
        "defined" => value.is_some(),
        "not_defined" => value.is_none(),
        "eq" => value.as_deref() == Some(want),
        "ne" => value.as_deref() != Some(want),
        op => {
            let (a, b) = (num(value.as_deref()?)?, num(want)?);
            match op {
                "lt" => a < b,
                "lte" => a <= b,
                "gt" => a > b,
                "gte" => a >= b,
                _ => return None,
            }
        }
    })
}

/// The score a location constraint gives `facts`' node (`None`: no effect or unknown).
pub(super) fn location_score(loc: &Element, facts: &NodeFacts) -> Option<Score> {
    if let Some(node) = loc.attr("node") {
        return (node == facts.uname).then(|| loc.attr("score").and_then(Score::parse))?;
    }
    let mut total: Option<Score> = None;
    for rule in loc.children_named("rule") {
        if rule_matches(rule, facts)? {
            let s = rule
                .attr("score")
                .or(loc.attr("score"))
                .and_then(Score::parse)?;
            total = Some(Score(total.map_or(s.0, |t| t.0.saturating_add(s.0))));
        }
    }
    total
}

/// Preflight of moving VM `name` to `target` (`live`: without stopping it).
pub fn check(cib: &Cib, mon: &ClusterStatus, name: &str, target: &str, live: bool) -> Preflight {
    let mut p = Preflight::default();
    let st = status_of(name, cib, mon, None);
    p.source = st.node.clone();
    p.live_capable = allows_migration(cib, name);
    cluster_and_target(&mut p, mon, target);
    vm_state(&mut p, &st, name, target, live);
    let guard = VmIds::new(name).guard();
    if mon.resource(&guard).iter().any(|r| r.failed || r.blocked) {
        p.block(
            "storage-guard",
            format!("the disk guard {guard} has failed or is blocked"),
        );
    }
    let members = members(cib, name);
    locations(&mut p, cib, mon, name, target, &members);
    colocations(&mut p, cib, mon, name, target, &members);
    utilization(cib, mon, name, target, &mut p);
    // Seen on an unclean (just killed) target: the VM is still reported there.
    if !p.blockers.is_empty() {
        p.already_there = false;
    }
    p
}

impl Preflight {
    fn block(&mut self, check: &'static str, message: String) {
        self.blockers.push(finding(check, message));
    }

    fn warn(&mut self, check: &'static str, message: String) {
        self.warnings.push(finding(check, message));
    }
}

/// The partition (quorum, maintenance, fencing) and the target node's state.
fn cluster_and_target(p: &mut Preflight, mon: &ClusterStatus, target: &str) {
    if !mon.is_quorate() {
        p.block("no-quorum", "the cluster partition has no quorum".into());
    }
    if mon.summary.maintenance_mode() {
        p.block(
            "maintenance-mode",
            "the cluster is in maintenance mode".into(),
        );
    }
    if !mon.summary.stonith_enabled() {
        p.warn(
            "no-fencing",
            "stonith-enabled is false: a failed migration cannot be recovered safely".into(),
        );
    }
    match mon.node(target) {
        None => p.block(
            "unknown-node",
            format!("{target} is not a node of the cluster"),
        ),
        Some(n) if !n.online => p.block("target-offline", format!("node {target} is offline")),
        Some(n) if n.standby => p.block("target-standby", format!("node {target} is in standby")),
        Some(n) if n.maintenance => p.block(
            "target-maintenance",
            format!("node {target} is in maintenance"),
        ),
        Some(_) => {}
    }
}

/// The VM's own state: failed, unmanaged, busy, not running (a live move), not migratable.
fn vm_state(p: &mut Preflight, st: &VmStatus, name: &str, target: &str, live: bool) {
    match st.state {
        VmState::Failed => p.block(
            "vm-failed",
            format!(
                "VM {name} has failed (clean it up first: {})",
                st.failures.join("; ")
            ),
        ),
        VmState::Unmanaged => p.block(
            "vm-unmanaged",
            format!("VM {name} is not managed by Pacemaker"),
        ),
        VmState::Starting | VmState::Stopping | VmState::Migrating => {
            p.block("vm-busy", format!("VM {name} is {} right now", st.state))
        }
        VmState::Started if st.nodes.len() == 1 && st.nodes[0] == target => p.already_there = true,
        VmState::Started => {}
        _ if live => p.block(
            "vm-not-running",
            format!("VM {name} is not running (use --offline to start it on {target})"),
        ),
        _ => {}
    }
    if live && !p.live_capable {
        p.block("not-live-migratable", format!(
            "VM {name} does not allow live migration (allow-migrate is not true on all its members; use --offline, or create it with --enable-live-migration)"));
    }
}

/// Location constraints naming the group or its members: bans, a pin, a stale move, `cli-*`.
fn locations(
    p: &mut Preflight,
    cib: &Cib,
    mon: &ClusterStatus,
    name: &str,
    target: &str,
    members: &[String],
) {
    let facts = node_facts(cib, mon, target);
    let ids = VmIds::new(name);
    let pin = ids.pin();
    let tree_cons = tree::constraints(cib.element());
    for loc in tree_cons.iter().filter(|c| c.name == "rsc_location") {
        let (Some(id), Some(rsc)) = (loc.attr("id"), loc.attr("rsc")) else {
            continue;
        };
        if !members.iter().any(|m| m == rsc) {
            continue;
        }
        if id == move_id(name) {
            p.warn(
                "stale-move",
                format!(
                    "the move constraint {id} of an earlier migrate is still there; it is replaced"
                ),
            );
            continue;
        }
        if id.starts_with("cli-") {
            p.warn("cli-constraint", format!("{id} was left by crm resource move/ban; remove it with crm_resource --clear -r {rsc}"));
        }
        match location_score(loc, &facts) {
            Some(s) if s.is_minus_infinity() && id == pin => p.block(
                "pinned",
                format!(
                    "VM {name} is pinned to {} ({id}); change it with set-placement",
                    pin_node(loc).unwrap_or_default()
                ),
            ),
            Some(s) if s.is_minus_infinity() => p.block(
                "banned",
                format!("location constraint {id} bans {rsc} from {target}"),
            ),
            _ => {}
        }
        if let (Some(node), Some(s)) = (loc.attr("node"), loc.attr("score").and_then(Score::parse))
        {
            // the pin's `.home` is not a preference: the pin itself blocks the move
            if node != target && s.is_infinity() && id != ids.pin_home() {
                p.warn("moves-back", format!("{id} prefers {node} with INFINITY: the VM goes back there once the move is over"));
            }
        }
    }
}

/// The ids a constraint may name for VM `name`: its members and the group itself.
fn members(cib: &Cib, name: &str) -> Vec<String> {
    let mut members: Vec<String> = cib
        .resource(name)
        .map(|g| g.primitives().iter().map(|p| p.id.clone()).collect())
        .unwrap_or_default();
    members.push(name.to_owned());
    members
}

/// The clones `name` must run with (an INFINITY colocation from the group or a member): such a
/// clone can start on a node that just came back, and the VM may only follow once it has.
pub fn clone_partners(cib: &Cib, name: &str) -> Vec<String> {
    let members = members(cib, name);
    let mut out: Vec<String> = Vec::new();
    for c in &cib.constraints.colocations {
        let (Some(rsc), Some(with), Some(score)) = (&c.rsc, &c.with_rsc, c.score) else {
            continue;
        };
        let is_clone = |id: &str| {
            cib.resources
                .iter()
                .any(|r| matches!(r, shared::pacemaker::cib::CibResource::Clone(_)) && r.id() == id)
        };
        if score.is_infinity()
            && members.contains(rsc)
            && !members.contains(with)
            && is_clone(with)
            && !out.contains(with)
        {
            out.push(with.clone());
        }
    }
    out
}

/// Colocations with other resources, in both directions.
fn colocations(
    p: &mut Preflight,
    cib: &Cib,
    mon: &ClusterStatus,
    name: &str,
    target: &str,
    members: &[String],
) {
    for c in &cib.constraints.colocations {
        let (Some(rsc), Some(with), Some(score)) = (&c.rsc, &c.with_rsc, c.score) else {
            continue;
        };
        let rsc_in = members.contains(rsc);
        let with_in = members.contains(with);
        if rsc_in == with_in {
            continue;
        }
        let other = if rsc_in { with } else { rsc };
        let where_other: Vec<&str> = mon.where_running(other);
        let on_target = where_other.contains(&target);
        let at = if where_other.is_empty() {
            "is not running".to_owned()
        } else {
            format!("runs on {}", where_other.join(", "))
        };
        match (rsc_in, score.is_infinity(), score.is_minus_infinity()) {
            (true, true, _) if !on_target => p.block(
                "colocation",
                format!("{name} must run with {other} ({}), which {at}", c.id),
            ),
            (true, _, true) if on_target => p.block(
                "anti-colocation",
                format!(
                    "{name} must not run with {other} ({}), which runs on {target}",
                    c.id
                ),
            ),
            (false, true, _) => p.warn(
                "followers",
                format!("{other} must run with {name} ({}) and moves too", c.id),
            ),
            (false, _, true) if on_target => p.warn(
                "pushed-away",
                format!(
                    "{other} must not run with {name} ({}) and would have to leave {target}",
                    c.id
                ),
            ),
            _ => {}
        }
    }
}

/// Utilization capacity, when the cluster places by it.
fn utilization(cib: &Cib, mon: &ClusterStatus, name: &str, target: &str, p: &mut Preflight) {
    let strategy = cib.property("placement-strategy").unwrap_or("default");
    if strategy == "default" {
        return;
    }
    let Some(group) = cib.resource(name) else {
        return;
    };
    let mut need: BTreeMap<String, i64> = BTreeMap::new();
    for prim in group.primitives() {
        for (k, v) in &prim.utilization {
            *need.entry(k.clone()).or_default() += v.parse::<i64>().unwrap_or(0);
        }
    }
    let capacity = cib
        .node(target)
        .map(|n| n.utilization.clone())
        .unwrap_or_default();
    let used = super::capacity::used_on(cib, mon, target, Some(name));
    for (k, n) in need.iter().filter(|(_, n)| **n > 0) {
        let cap = capacity
            .get(k)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        let free = cap - used.get(k).copied().unwrap_or(0);
        if *n > free {
            p.blockers.push(finding("utilization", format!(
                "{target} has {free} of {k} free (capacity {cap}, placement-strategy={strategy}); {name} needs {n}")));
        }
    }
}

/// The libvirt URI of `target` as the VirtualDomain agent builds it (remoteuri, else the
/// hypervisor URI with the migration transport, user and the target host).
pub fn remote_uri(cib: &Cib, name: &str, target: &str) -> String {
    let empty = BTreeMap::new();
    let params = cib
        .primitive(&VmIds::new(name).domain())
        .map(|p| &p.instance_attributes)
        .unwrap_or(&empty);
    if let Some(r) = params.get("remoteuri") {
        return r.replace("%n", target);
    }
    node_uri(
        params
            .get("hypervisor")
            .map_or("qemu:///system", String::as_str),
        params.get("migration_transport").map(String::as_str),
        params.get("migration_user").map(String::as_str),
        target,
    )
}

/// The libvirt URI of node `target` from the hypervisor URI `hv` with a migration
/// `transport` (`qemu:///system`, `tcp`: `qemu+tcp://target/system`) and `user`.
pub fn node_uri(hv: &str, transport: Option<&str>, user: Option<&str>, target: &str) -> String {
    let (scheme, rest) = hv.split_once("://").unwrap_or(("qemu", "/system"));
    let path = rest.find('/').map_or("/system", |i| &rest[i..]);
    let driver = scheme.split('+').next().unwrap_or(scheme);
    let scheme = match transport {
        Some(t) => format!("{driver}+{t}"),
        None => scheme.to_owned(),
    };
    let user = user.map(|u| format!("{u}@")).unwrap_or_default();
    format!("{scheme}://{user}{target}{path}")
}

/// Whether libvirt on the target answers (from this node; the migration itself runs from the
/// source node), asked with `virsh` ([`super::probe`]). `None` when it does, else the blocker.
pub fn libvirt_check(cib: &Cib, name: &str, target: &str) -> Option<Finding> {
    let uri = remote_uri(cib, name, target);
    let deadline = Instant::now() + Duration::from_secs(10);
    match super::probe::libvirt_answers(&uri, deadline) {
        Ok(()) => None,
        Err(why) => Some(finding(
            "libvirt-unreachable",
            format!("libvirt on {target} does not answer at {uri}: {why}"),
        )),
    }
}

/// Whether the group's meta says `key` (for the strategy's stickiness in messages).
pub fn group_meta(cib: &Cib, name: &str, key: &str) -> Option<String> {
    let g = tree::top_level(cib.element(), name)?;
    tree::nvpair(g, SetKind::Meta, key).map(str::to_owned)
}
