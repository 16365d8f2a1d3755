//! The parser behind [`ClusterStatus::parse`].

use super::{
    Ban, ClusterStatus, Collection, CollectionKind, DcInfo, Failure, FenceEvent, LastChange,
    NodeHistory, NodeStatus, NodeType, OperationHistory, ResourceHistory, ResourceStatus, Summary,
};
use crate::pacemaker::error::PacemakerError;
use crate::pacemaker::output::tool_status;
use crate::pacemaker::types::{
    flag, num_or_zero, opt_ms, opt_num, opt_score, opt_string, required, Role, Score,
};
use crate::xml::Element;

const WHAT: &str = "crm_mon XML";

impl ClusterStatus {
    /// Parses the output of `crm_mon --output-as=xml`.
    ///
    /// A document whose `<status>` carries a non-zero code (crm_mon could not reach the cluster:
    /// 102) is [`PacemakerError::ToolFailed`].
    pub fn parse(xml: &str) -> Result<ClusterStatus, PacemakerError> {
        let root = Element::parse(xml, WHAT)?;
        if root.name != "pacemaker-result" && root.name != "crm_mon" {
            return Err(PacemakerError::parse(
                WHAT,
                format!("root element is <{}>, not <pacemaker-result>", root.name),
            ));
        }
        if let Some(status) = tool_status(&root) {
            if status.code != 0 {
                return Err(status.into_error(root.attr("request").unwrap_or("crm_mon")));
            }
        }
        let summary = root
            .child("summary")
            .ok_or_else(|| PacemakerError::parse(WHAT, "no <summary> element"))?;
        let mut status = ClusterStatus {
            api_version: opt_string(&root, "api-version").or_else(|| opt_string(&root, "version")),
            pacemakerd_state: root
                .child("pacemakerd")
                .and_then(|p| opt_string(p, "state")),
            summary: parse_summary(summary)?,
            ..ClusterStatus::default()
        };
        if let Some(nodes) = root.child("nodes") {
            for node in nodes.children_named("node") {
                status.nodes.push(parse_node(node)?);
            }
        }
        if let Some(resources) = root.child("resources") {
            walk_resources(resources, None, &mut status)?;
        }
        if let Some(attributes) = root.child("node_attributes") {
            for node in attributes.children_named("node") {
                let entry = status
                    .node_attributes
                    .entry(required(node, "name", WHAT)?)
                    .or_default();
                for attribute in node.children_named("attribute") {
                    let value = opt_string(attribute, "value").unwrap_or_default();
                    entry.insert(required(attribute, "name", WHAT)?, value);
                }
            }
        }
        if let Some(history) = root.child("node_history") {
            for node in history.children_named("node") {
                status.node_history.push(parse_node_history(node)?);
            }
        }
        if let Some(failures) = root.child("failures") {
            for failure in failures.children_named("failure") {
                status.failures.push(parse_failure(failure)?);
            }
        }
        if let Some(fencing) = root.child("fence_history") {
            for event in fencing.children_named("fence_event") {
                status.fence_history.push(parse_fence_event(event)?);
            }
        }
        if let Some(bans) = root.child("bans") {
            for ban in bans.children_named("ban") {
                status.bans.push(Ban {
                    id: required(ban, "id", WHAT)?,
                    resource: required(ban, "resource", WHAT)?,
                    node: required(ban, "node", WHAT)?,
                    weight: opt_score(ban, "weight", WHAT)?.unwrap_or(Score::MINUS_INFINITY),
                    promoted_only: flag(ban, "promoted-only") || flag(ban, "master_only"),
                });
            }
        }
        Ok(status)
    }
}

fn parse_summary(summary: &Element) -> Result<Summary, PacemakerError> {
    let dc = match summary.child("current_dc") {
        Some(dc) if flag(dc, "present") => Some(DcInfo {
            name: required(dc, "name", WHAT)?,
            id: opt_string(dc, "id"),
            version: opt_string(dc, "version"),
            with_quorum: flag(dc, "with_quorum"),
            mixed_version: flag(dc, "mixed_version"),
        }),
        _ => None,
    };
    let configured = summary.child("resources_configured");
    let count = |name: &str| -> Result<u32, PacemakerError> {
        configured.map_or(Ok(0), |e| num_or_zero(e, name, WHAT))
    };
    Ok(Summary {
        stack: summary.child("stack").and_then(|s| opt_string(s, "type")),
        dc,
        last_update: summary
            .child("last_update")
            .and_then(|e| opt_string(e, "time")),
        last_change: summary.child("last_change").map(|e| LastChange {
            time: opt_string(e, "time"),
            user: opt_string(e, "user"),
            client: opt_string(e, "client"),
            origin: opt_string(e, "origin"),
        }),
        nodes_configured: match summary.child("nodes_configured") {
            Some(e) => num_or_zero(e, "number", WHAT)?,
            None => 0,
        },
        resources_configured: count("number")?,
        resources_disabled: count("disabled")?,
        resources_blocked: count("blocked")?,
        cluster_options: summary
            .child("cluster_options")
            .map(|e| e.attrs.iter().cloned().collect())
            .unwrap_or_default(),
    })
}

fn parse_node(node: &Element) -> Result<NodeStatus, PacemakerError> {
    Ok(NodeStatus {
        name: required(node, "name", WHAT)?,
        id: opt_string(node, "id").unwrap_or_default(),
        online: flag(node, "online"),
        standby: flag(node, "standby"),
        standby_onfail: flag(node, "standby_onfail"),
        maintenance: flag(node, "maintenance"),
        pending: flag(node, "pending"),
        unclean: flag(node, "unclean"),
        shutdown: flag(node, "shutdown"),
        expected_up: flag(node, "expected_up"),
        is_dc: flag(node, "is_dc"),
        resources_running: num_or_zero(node, "resources_running", WHAT)?,
        node_type: node.attr("type").map(NodeType::parse).unwrap_or_default(),
        id_as_resource: opt_string(node, "id_as_resource"),
        health: opt_string(node, "health"),
        feature_set: opt_string(node, "feature_set"),
    })
}

/// Adds the primitives and collections under `container`; returns the ids of its direct members.
fn walk_resources(
    container: &Element,
    parent: Option<&str>,
    status: &mut ClusterStatus,
) -> Result<Vec<String>, PacemakerError> {
    let mut members: Vec<String> = Vec::new();
    let mut add_member = |id: &str| {
        if !members.iter().any(|m| m == id) {
            members.push(id.to_string());
        }
    };
    for child in &container.children {
        let kind = match child.name.as_str() {
            "resource" => {
                let rsc = parse_resource(child, parent)?;
                add_member(&rsc.id);
                status.resources.push(rsc);
                continue;
            }
            // A bundle's replicas are not resources: their contents belong to the bundle.
            "replica" => {
                for id in walk_resources(child, parent, status)? {
                    add_member(&id);
                }
                continue;
            }
            "group" => CollectionKind::Group,
            "clone" => CollectionKind::Clone,
            "bundle" => CollectionKind::Bundle,
            _ => continue,
        };
        let id = required(child, "id", WHAT)?;
        add_member(&id);
        let index = status.collections.len();
        status.collections.push(Collection {
            kind,
            id: id.clone(),
            parent: parent.map(str::to_string),
            managed: flag(child, "managed"),
            disabled: flag(child, "disabled"),
            failed: flag(child, "failed"),
            failure_ignored: flag(child, "failure_ignored"),
            promotable: flag(child, "multi_state") || flag(child, "promotable"),
            unique: flag(child, "unique"),
            members: Vec::new(),
        });
        let inner = walk_resources(child, Some(&id), status)?;
        status.collections[index].members = inner;
    }
    Ok(members)
}

fn parse_resource(e: &Element, parent: Option<&str>) -> Result<ResourceStatus, PacemakerError> {
    Ok(ResourceStatus {
        id: required(e, "id", WHAT)?,
        resource_agent: opt_string(e, "resource_agent").unwrap_or_default(),
        role: e.attr("role").map(Role::parse).unwrap_or(Role::Stopped),
        target_role: e.attr("target_role").map(Role::parse),
        active: flag(e, "active"),
        orphaned: flag(e, "orphaned"),
        blocked: flag(e, "blocked"),
        managed: flag(e, "managed"),
        failed: flag(e, "failed"),
        failure_ignored: flag(e, "failure_ignored"),
        nodes_running_on: num_or_zero(e, "nodes_running_on", WHAT)?,
        pending: opt_string(e, "pending"),
        locked_to: opt_string(e, "locked_to"),
        nodes: e
            .children_named("node")
            .map(|n| required(n, "name", WHAT))
            .collect::<Result<_, _>>()?,
        parent: parent.map(str::to_string),
    })
}

fn parse_node_history(node: &Element) -> Result<NodeHistory, PacemakerError> {
    let mut history = NodeHistory {
        node: required(node, "name", WHAT)?,
        resources: Vec::new(),
    };
    for rsc in node.children_named("resource_history") {
        let mut entry = ResourceHistory {
            id: required(rsc, "id", WHAT)?,
            orphan: flag(rsc, "orphan"),
            migration_threshold: count_attr(rsc, "migration-threshold")?,
            fail_count: count_attr(rsc, "fail-count")?,
            last_failure: opt_string(rsc, "last-failure"),
            operations: Vec::new(),
        };
        for op in rsc.children_named("operation_history") {
            entry.operations.push(OperationHistory {
                call: opt_num(op, "call", WHAT)?,
                task: required(op, "task", WHAT)?,
                rc: opt_num(op, "rc", WHAT)?,
                rc_text: opt_string(op, "rc_text"),
                interval_ms: opt_ms(op, "interval", WHAT)?.unwrap_or(0),
                last_rc_change: opt_string(op, "last-rc-change"),
                exec_time_ms: opt_ms(op, "exec-time", WHAT)?,
                queue_time_ms: opt_ms(op, "queue-time", WHAT)?,
            });
        }
        history.resources.push(entry);
    }
    Ok(history)
}

/// A count that Pacemaker may also write as INFINITY.
fn count_attr(e: &Element, name: &str) -> Result<Option<u64>, PacemakerError> {
    Ok(opt_score(e, name, WHAT)?.map(|s| s.0.max(0).unsigned_abs()))
}

fn parse_failure(f: &Element) -> Result<Failure, PacemakerError> {
    Ok(Failure {
        op_key: required(f, "op_key", WHAT)?,
        node: required(f, "node", WHAT)?,
        exitstatus: opt_string(f, "exitstatus").unwrap_or_default(),
        exitreason: opt_string(f, "exitreason").unwrap_or_default(),
        exitcode: opt_num(f, "exitcode", WHAT)?,
        call: opt_num(f, "call", WHAT)?,
        status: opt_string(f, "status"),
        last_rc_change: opt_string(f, "last-rc-change"),
        queued_ms: opt_ms(f, "queued", WHAT)?,
        exec_ms: opt_ms(f, "exec", WHAT)?,
        interval_ms: opt_ms(f, "interval", WHAT)?,
        task: opt_string(f, "task"),
    })
}

fn parse_fence_event(e: &Element) -> Result<FenceEvent, PacemakerError> {
    Ok(FenceEvent {
        action: opt_string(e, "action").unwrap_or_default(),
        target: required(e, "target", WHAT)?,
        client: opt_string(e, "client"),
        origin: opt_string(e, "origin"),
        status: opt_string(e, "status").unwrap_or_default(),
        delegate: opt_string(e, "delegate"),
        completed: opt_string(e, "completed"),
        extended_status: opt_string(e, "extended-status"),
        exit_reason: opt_string(e, "exit-reason"),
    })
}
