//! A VM's CIB fragment: what vm-mgr writes into the CIB for a VM, and the pure edits of a CIB
//! tree that put it in, take it out, or change its target role.
//!
//! The fragment of VM `NAME` (ids from [`VmIds`]):
//! - group `NAME` (meta `target-role`, `priority`, user meta) of the disk guard
//!   `vmmgr-disk-NAME` (`ocf:vmmgr:rbd`, `mode=guard`, `group=NAME`: every disk of the VM; left
//!   out when the guard is disabled in the settings) and the domain `vmmgr-domain-NAME`
//!   (`ocf:vmmgr:VirtualDomain`, XML fetched from the RBD metadata key `xml` of
//!   `POOL/system_NAME`). A group orders and colocates its members and still live-migrates when
//!   all of them allow it. Both agents reach Ceph as vm-mgr does ([`CephAccess`]).
//!   With a guest node (`add-pacemaker-remote`), the domain's meta attributes also hold
//!   `remote-node` and its companions ([`crate::guest_node`]).
//! - `vmmgr-ban-NAME`: -INFINITY where node attribute `vmmgr-role` is `observer` or `#kind` is
//!   not `cluster` (Pacemaker Remote and guest nodes) — a rule, so nodes that become observers
//!   later are covered without touching the VM.
//! - `vmmgr-pin-NAME` (-INFINITY where `#uname` is not the node) with `vmmgr-pin-NAME.home`
//!   (INFINITY on the node), or `vmmgr-prefer-NAME` (INFINITY on the node). The node-scored
//!   ones carry `resource-discovery=always` (Pacemaker's default, written out), so that `crm
//!   configure show` prints them as `location vmmgr-pin-NAME.home NAME resource-discovery=always
//!   inf: NODE`: the shape SEAPATH's Cockpit plugin reads a VM's default node from (its regex
//!   wants `pin-` or `prefer-`, the resource, one more word, then `inf: NODE`; see
//!   [`pin_constraints`]). VMs pinned before `.home` existed have the rule alone; they are
//!   placed the same, and get `.home` when their placement is next set.
//!
//! Taken out of the CIB (disable), the fragment also carries every other constraint that names
//! the group or its members (a colocation made with crm, ...), so that enable restores them.
//! It is kept as `<vmmgr-fragment>` XML in RBD metadata.

use shared::pacemaker::cib::tree::{section_children, Section};
use shared::xml::Element;

use crate::vm::{Settings, VmIds, OBSERVER, ROLE_ATTRIBUTE};

/// Why a fragment edit cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum FragmentError {
    /// The VM has no resources in the CIB.
    #[error("VM {name} is not in the cluster configuration (it is disabled or does not exist).")]
    NotInCib { name: String },
    /// The VM is already in the CIB.
    #[error("VM {name} is already in the cluster configuration.")]
    AlreadyInCib { name: String },
    /// An id of the fragment is used by something else in the CIB.
    #[error("The CIB already has an element with id {id}; VM {name} cannot be added.")]
    IdConflict { name: String, id: String },
    /// The CIB lacks a section.
    #[error("The CIB has no <{section}> section.")]
    NoSection { section: &'static str },
    /// A stored fragment that cannot be read.
    #[error("The stored CIB fragment is not valid: {detail}.")]
    Parse { detail: String },
    /// A node the cluster does not know.
    #[error("Node {node} is not a node of the cluster.")]
    UnknownNode { node: String },
    /// Two elements of the fragment would have the same id (a `--pacemaker-meta` or
    /// `--pacemaker-params` key vm-mgr sets itself, or a stored fragment or settings edited by
    /// hand): Pacemaker refuses such a CIB.
    #[error(
        "The CIB fragment of VM {name} would hold the id {id} twice (a setting given twice, or \
         one vm-mgr sets itself); Pacemaker refuses that."
    )]
    DuplicateId { name: String, id: String },
    /// A guest node name that something else has.
    #[error(
        "Guest node name {node} is taken by {by}; VM {name} cannot be a guest node of that \
         name (give --remote-name)."
    )]
    GuestNameTaken {
        name: String,
        node: String,
        by: String,
    },
    /// A value with a control character: XML 1.0 cannot hold most of them, and the tab,
    /// newline and carriage return it can hold are turned into spaces when Pacemaker reads an
    /// attribute, so the CIB would not keep the value as given.
    #[error(
        "Value {value:?} of {attribute} in {id} (VM {name}) holds a control character; the CIB \
         cannot keep it as given (refused rather than stored changed)."
    )]
    ControlCharacter {
        name: String,
        id: String,
        attribute: String,
        value: String,
    },
    /// An `--add-crm-config-cmd` that is not a constraint on the VM.
    #[error("--add-crm-config-cmd {command:?} for VM {name}: {reason}; nothing was changed.")]
    CrmCommand {
        name: String,
        command: String,
        reason: String,
    },
}

impl FragmentError {
    /// Exit code (see [`crate::error`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            FragmentError::NotInCib { .. } => crate::error::EXIT_NO_SUCH_VM,
            FragmentError::AlreadyInCib { .. } => crate::error::EXIT_EXISTS,
            FragmentError::UnknownNode { .. }
            | FragmentError::GuestNameTaken { .. }
            | FragmentError::DuplicateId { .. }
            | FragmentError::ControlCharacter { .. }
            | FragmentError::CrmCommand { .. } => crate::error::EXIT_USAGE,
            _ => crate::error::EXIT_FAILED,
        }
    }
}

/// The resources and constraints of one VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// The VM name.
    pub name: String,
    /// The group (one element).
    pub resources: Vec<Element>,
    /// Constraints naming the group or its members.
    pub constraints: Vec<Element>,
}

fn el(name: &str, attrs: &[(&str, &str)]) -> Element {
    let mut e = Element::new(name);
    for (k, v) in attrs {
        e.set_attr(k, *v);
    }
    e
}

fn nvset(kind: &str, id: &str, pairs: &[(String, String)]) -> Element {
    let mut set = el(kind, &[("id", id)]);
    for (k, v) in pairs {
        let nv_id = format!("{id}.{k}");
        set.children
            .push(el("nvpair", &[("id", &nv_id), ("name", k), ("value", v)]));
    }
    set
}

fn op(prim: &str, name: &str, interval: u32, timeout: u32) -> Element {
    let id = if interval == 0 {
        format!("{prim}.{name}")
    } else {
        format!("{prim}.{name}-{interval}s")
    };
    el(
        "op",
        &[
            ("id", &id),
            ("name", name),
            ("interval", &format!("{interval}s")),
            ("timeout", &format!("{timeout}s")),
        ],
    )
}

fn pairs(list: &[(&str, String)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// Appends the parameters that have a value.
fn push_set(params: &mut Vec<(String, String)>, list: Vec<(&str, Option<String>)>) {
    params.extend(
        list.into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), v?))),
    );
}

/// Builds the fragment of a new VM from its settings (target role `target_role`), its agents
/// reaching Ceph through `ceph`.
pub fn build(ids: &VmIds, settings: &Settings, ceph: &CephAccess, target_role: &str) -> Fragment {
    let pool = ceph.pool.as_str();
    let name = ids.name();
    let mut group = el("group", &[("id", name)]);
    let mut meta = pairs(&[
        ("target-role", target_role.to_owned()),
        ("priority", settings.priority.to_string()),
    ]);
    meta.extend(settings.pacemaker_meta.clone());
    group
        .children
        .push(nvset("meta_attributes", &format!("{name}.meta"), &meta));

    let migrate = settings.live_migration.to_string();
    if settings.disk_guard {
        let g = ids.guard();
        let mut guard = el(
            "primitive",
            &[
                ("id", &g),
                ("class", "ocf"),
                ("provider", "vmmgr"),
                ("type", "rbd"),
            ],
        );
        let mut params = pairs(&[
            ("mode", "guard".into()),
            ("pool", pool.to_owned()),
            ("group", ids.rbd_group()),
        ]);
        push_set(&mut params, ceph.guard_params());
        guard.children.push(nvset(
            "instance_attributes",
            &format!("{g}.params"),
            &params,
        ));
        guard.children.push(nvset(
            "meta_attributes",
            &format!("{g}.meta"),
            &pairs(&[("allow-migrate", migrate.clone())]),
        ));
        let mut ops = Element::new("operations");
        ops.children.push(op(&g, "start", 0, 60));
        ops.children.push(op(&g, "stop", 0, 60));
        ops.children.push(op(&g, "monitor", 10, 30));
        if settings.live_migration {
            ops.children.push(op(&g, "migrate_to", 0, 60));
            ops.children.push(op(&g, "migrate_from", 0, 60));
        }
        guard.children.push(ops);
        group.children.push(guard);
    }

    let d = ids.domain();
    let mut dom = el(
        "primitive",
        &[
            ("id", &d),
            ("class", "ocf"),
            ("provider", "vmmgr"),
            ("type", "VirtualDomain"),
        ],
    );
    let mut params = pairs(&[
        ("config", ids.config_path()),
        ("hypervisor", settings.hypervisor.clone()),
        ("rbd_xml_source", format!("{pool}/{}", ids.system_image())),
        ("rbd_xml_key", crate::vm::META_XML.to_owned()),
    ]);
    push_set(&mut params, ceph.domain_params());
    params.extend(pairs(&[
        ("force_stop", "false".into()),
        (
            "migration_downtime",
            settings.migration_downtime.to_string(),
        ),
    ]));
    if let Some(u) = &settings.migration_user {
        params.push(("migration_user".into(), u.clone()));
    }
    if let Some(t) = &settings.migration_transport {
        params.push(("migration_transport".into(), t.clone()));
    }
    for (k, v) in &settings.pacemaker_params {
        params.retain(|(pk, _)| pk != k);
        params.push((k.clone(), v.clone()));
    }
    dom.children.push(nvset(
        "instance_attributes",
        &format!("{d}.params"),
        &params,
    ));
    let mut dom_meta = pairs(&[("allow-migrate", migrate)]);
    if let Some(g) = &settings.guest_node {
        dom_meta.extend(g.meta_pairs());
    }
    dom.children
        .push(nvset("meta_attributes", &format!("{d}.meta"), &dom_meta));
    if !settings.pacemaker_utilization.is_empty() {
        let util: Vec<(String, String)> =
            settings.pacemaker_utilization.clone().into_iter().collect();
        dom.children
            .push(nvset("utilization", &format!("{d}.utilization"), &util));
    }
    let mut ops = Element::new("operations");
    ops.children
        .push(op(&d, "start", 0, settings.start_timeout));
    ops.children.push(op(&d, "stop", 0, settings.stop_timeout));
    ops.children.push(op(&d, "monitor", 10, 60));
    ops.children
        .push(op(&d, "migrate_to", 0, settings.migrate_to_timeout));
    ops.children.push(op(&d, "migrate_from", 0, 60));
    dom.children.push(ops);
    group.children.push(dom);

    let mut constraints = vec![ban(ids)];
    if let Some(node) = &settings.pinned_host {
        constraints.extend(pin_constraints(ids, node));
    } else if let Some(node) = &settings.preferred_host {
        constraints.push(prefer_constraint(ids, node, "INFINITY"));
    }
    Fragment {
        name: name.to_owned(),
        resources: vec![group],
        constraints,
    }
}

/// A location constraint `id` of the VM at `score` on `node`, with `resource-discovery=always`
/// (the default, written out: it gives `crm configure show` the word SEAPATH's plugin expects
/// between the resource and the score, and says that other nodes are still probed, unlike
/// SEAPATH's `resource-discovery=exclusive` pin).
fn on_node(ids: &VmIds, id: &str, node: &str, score: &str) -> Element {
    el(
        "rsc_location",
        &[
            ("id", id),
            ("rsc", ids.name()),
            ("node", node),
            ("score", score),
            ("resource-discovery", "always"),
        ],
    )
}

/// The constraints that pin the VM to `node`: `vmmgr-pin-NAME`, -INFINITY where `#uname` is not
/// `node` (it never runs elsewhere, and stays stopped while `node` is down), and
/// `vmmgr-pin-NAME.home`, INFINITY on `node`. The second changes no placement (the first
/// leaves no other node); it is there for SEAPATH's Cockpit plugin, whose Default Node column
/// reads `crm configure show` lines `…pin-… NAME WORD inf: NODE`, which a rule never gives.
pub fn pin_constraints(ids: &VmIds, node: &str) -> Vec<Element> {
    let pin = ids.pin();
    let mut loc = el("rsc_location", &[("id", &pin), ("rsc", ids.name())]);
    let mut rule = el(
        "rule",
        &[("id", &format!("{pin}.rule")), ("score", "-INFINITY")],
    );
    rule.children.push(not_on(&format!("{pin}.node"), node));
    loc.children.push(rule);
    vec![loc, on_node(ids, &ids.pin_home(), node, "INFINITY")]
}

/// The rule expression `#uname ne NODE` (every node but `node`), with id `id`.
pub fn not_on(id: &str, node: &str) -> Element {
    el(
        "expression",
        &[
            ("id", id),
            ("attribute", "#uname"),
            ("operation", "ne"),
            ("value", node),
        ],
    )
}

/// `vmmgr-prefer-NAME`: `score` on `node` (`crm configure show` prints
/// `location vmmgr-prefer-NAME NAME resource-discovery=always inf: NODE` for INFINITY).
pub fn prefer_constraint(ids: &VmIds, node: &str, score: &str) -> Element {
    on_node(ids, &ids.prefer(), node, score)
}

/// The ban of observer and remote nodes.
fn ban(ids: &VmIds) -> Element {
    let id = ids.ban();
    let mut loc = el("rsc_location", &[("id", &id), ("rsc", ids.name())]);
    let mut rule = el(
        "rule",
        &[
            ("id", &format!("{id}.rule")),
            ("score", "-INFINITY"),
            ("boolean-op", "or"),
        ],
    );
    rule.children.push(el(
        "expression",
        &[
            ("id", &format!("{id}.observer")),
            ("attribute", ROLE_ATTRIBUTE),
            ("operation", "eq"),
            ("value", OBSERVER),
        ],
    ));
    rule.children.push(el(
        "expression",
        &[
            ("id", &format!("{id}.remote")),
            ("attribute", "#kind"),
            ("operation", "ne"),
            ("value", "cluster"),
        ],
    ));
    loc.children.push(rule);
    loc
}

impl Fragment {
    /// The XML kept in RBD metadata.
    pub fn to_xml(&self) -> String {
        let mut root = el("vmmgr-fragment", &[("version", "1"), ("vm", &self.name)]);
        let mut resources = Element::new("resources");
        resources.children = self.resources.clone();
        let mut constraints = Element::new("constraints");
        constraints.children = self.constraints.clone();
        root.children.push(resources);
        root.children.push(constraints);
        root.to_xml()
    }

    /// Reads the XML kept in RBD metadata; it must be the fragment of VM `name`.
    pub fn parse(xml: &str, name: &str) -> Result<Fragment, FragmentError> {
        let bad = |detail: String| FragmentError::Parse { detail };
        let root =
            Element::parse(xml, "the stored CIB fragment").map_err(|e| bad(e.to_string()))?;
        if root.name != "vmmgr-fragment" || root.attr("version") != Some("1") {
            return Err(bad("not a version 1 <vmmgr-fragment>".into()));
        }
        if root.attr("vm") != Some(name) {
            return Err(bad(format!(
                "it belongs to VM {:?}",
                root.attr("vm").unwrap_or("")
            )));
        }
        let resources = section_children(&root, Section::Resources);
        if resources.len() != 1 || resources[0].attr("id") != Some(name) {
            return Err(bad(format!("it does not hold exactly the group {name}")));
        }
        Ok(Fragment {
            name: name.to_owned(),
            resources,
            constraints: section_children(&root, Section::Constraints),
        })
    }

    /// A scratch CIB holding exactly this fragment, its constraints all kept (even those
    /// naming other resources, which [`insert`] would drop), for the CIB edits to work on.
    pub fn scratch_cib(&self) -> Element {
        let mut tree = shared::pacemaker::cib::tree::empty_cib();
        // The scratch tree has both sections.
        let _ = shared::pacemaker::cib::tree::add_resources(&mut tree, &self.resources);
        for c in &self.constraints {
            let _ = shared::pacemaker::cib::tree::add_constraint(&mut tree, c.clone());
        }
        tree
    }

    /// Ids of its constraints.
    pub fn constraint_ids(&self) -> Vec<String> {
        self.constraints
            .iter()
            .filter_map(|c| c.attr("id").map(str::to_owned))
            .collect()
    }
}

mod ceph;
mod crm_cmd;
mod dir;
mod edit;
pub mod options;

pub use crm_cmd::{added_constraints, parse_crm_command};

pub use dir::{storage_of, use_dir};

pub use ceph::CephAccess;

pub use edit::{
    constraint_refs, extract, foreign_ids, in_cib, insert, remove, set_param, set_target_role,
    vm_group,
};

pub use guest::{check_guest_name, guest_node_of, guest_nodes, set_guest_node};

mod guest;

#[cfg(test)]
mod tests;
