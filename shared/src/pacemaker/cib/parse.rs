//! The parser behind [`Cib::parse`].

use super::{
    Bundle, Cib, CibClone, CibNode, CibResource, CibVersion, Constraints, Group, Nvpairs,
    Operation, Primitive,
};
use crate::pacemaker::error::PacemakerError;
use crate::pacemaker::types::{flag, is_true, opt_flag, opt_num, opt_string, required, Role};
use crate::xml::Element;

const WHAT: &str = "the CIB";

impl Cib {
    /// Parses the output of `cibadmin --query` (a whole `<cib>` document).
    pub fn parse(xml: &str) -> Result<Cib, PacemakerError> {
        let root = Element::parse(xml, WHAT)?;
        Cib::from_element(root, xml.to_string())
    }

    /// Builds the typed view of a `<cib>` tree; `raw` is kept as [`Cib::raw`].
    pub fn from_element(root: Element, raw: String) -> Result<Cib, PacemakerError> {
        if root.name != "cib" {
            return Err(PacemakerError::parse(
                WHAT,
                format!("root element is <{}>, not <cib>", root.name),
            ));
        }
        let config = root
            .child("configuration")
            .ok_or_else(|| PacemakerError::parse(WHAT, "no <configuration> element"))?;
        let section = |name: &str| config.child(name);
        let mut transient_attributes = std::collections::BTreeMap::new();
        if let Some(status) = root.child("status") {
            for state in status.children_named("node_state") {
                let Some(uname) = state.attr("uname") else {
                    continue;
                };
                if let Some(transient) = state.child("transient_attributes") {
                    let attrs = nvpairs(transient, "instance_attributes");
                    transient_attributes.insert(uname.to_string(), attrs);
                }
            }
        }
        Ok(Cib {
            version: CibVersion {
                admin_epoch: opt_num(&root, "admin_epoch", WHAT)?.unwrap_or(0),
                epoch: opt_num(&root, "epoch", WHAT)?.unwrap_or(0),
                num_updates: opt_num(&root, "num_updates", WHAT)?.unwrap_or(0),
            },
            validate_with: opt_string(&root, "validate-with"),
            crm_feature_set: opt_string(&root, "crm_feature_set"),
            dc_uuid: opt_string(&root, "dc-uuid"),
            have_quorum: flag(&root, "have-quorum"),
            crm_config: section("crm_config")
                .map(|e| nvpairs(e, "cluster_property_set"))
                .unwrap_or_default(),
            nodes: match section("nodes") {
                Some(nodes) => nodes
                    .children_named("node")
                    .map(parse_node)
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            },
            resources: match section("resources") {
                Some(resources) => parse_resource_list(resources)?,
                None => Vec::new(),
            },
            constraints: match section("constraints") {
                Some(constraints) => Constraints::parse(constraints)?,
                None => Constraints::default(),
            },
            rsc_defaults: section("rsc_defaults")
                .map(|e| nvpairs(e, "meta_attributes"))
                .unwrap_or_default(),
            op_defaults: section("op_defaults")
                .map(|e| nvpairs(e, "meta_attributes"))
                .unwrap_or_default(),
            transient_attributes,
            element: root,
            raw,
        })
    }
}

/// Parses `cibadmin --query --scope resources` (a `<resources>` document).
pub fn parse_resources_section(xml: &str) -> Result<Vec<CibResource>, PacemakerError> {
    let root = Element::parse(xml, "the CIB resources section")?;
    expect_root(&root, "resources")?;
    parse_resource_list(&root)
}

/// Parses `cibadmin --query --scope constraints` (a `<constraints>` document).
pub fn parse_constraints_section(xml: &str) -> Result<Constraints, PacemakerError> {
    let root = Element::parse(xml, "the CIB constraints section")?;
    expect_root(&root, "constraints")?;
    Constraints::parse(&root)
}

/// The source and target versions a `crm_diff` patch carries (`None` for a patch made with
/// `--no-version`). `cibadmin --patch` applies it only to a CIB at exactly the source version,
/// and only if the target is higher.
pub fn patch_versions(xml: &str) -> Result<Option<(CibVersion, CibVersion)>, PacemakerError> {
    let what = "the crm_diff patch";
    let root = Element::parse(xml, what)?;
    if root.name != "diff" {
        return Err(PacemakerError::parse(
            what,
            format!("root element is <{}>, not <diff>", root.name),
        ));
    }
    let Some(version) = root.child("version") else {
        return Ok(None);
    };
    let read = |name: &str| -> Result<CibVersion, PacemakerError> {
        let e = version
            .child(name)
            .ok_or_else(|| PacemakerError::parse(what, format!("<version> has no <{name}>")))?;
        Ok(CibVersion {
            admin_epoch: opt_num(e, "admin_epoch", what)?.unwrap_or(0),
            epoch: opt_num(e, "epoch", what)?.unwrap_or(0),
            num_updates: opt_num(e, "num_updates", what)?.unwrap_or(0),
        })
    };
    Ok(Some((read("source")?, read("target")?)))
}

fn expect_root(root: &Element, name: &str) -> Result<(), PacemakerError> {
    if root.name == name {
        return Ok(());
    }
    Err(PacemakerError::parse(
        WHAT,
        format!("root element is <{}>, not <{name}>", root.name),
    ))
}

/// Merges every `set_name` child set of `parent` (first occurrence of a name wins).
pub(crate) fn nvpairs(parent: &Element, set_name: &str) -> Nvpairs {
    let mut out = Nvpairs::new();
    for set in parent.children_named(set_name) {
        for pair in set.children_named("nvpair") {
            if let Some(name) = pair.attr("name") {
                out.entry(name.to_string())
                    .or_insert_with(|| pair.attr("value").unwrap_or_default().to_string());
            }
        }
    }
    out
}

fn parse_node(node: &Element) -> Result<CibNode, PacemakerError> {
    Ok(CibNode {
        id: required(node, "id", WHAT)?,
        uname: required(node, "uname", WHAT)?,
        node_type: opt_string(node, "type"),
        attributes: nvpairs(node, "instance_attributes"),
        utilization: nvpairs(node, "utilization"),
    })
}

fn parse_resource_list(parent: &Element) -> Result<Vec<CibResource>, PacemakerError> {
    let mut out = Vec::new();
    for child in &parent.children {
        if let Some(rsc) = parse_resource(child)? {
            out.push(rsc);
        }
    }
    Ok(out)
}

/// One resource element; `None` for elements that are not resources (templates, unknown).
fn parse_resource(e: &Element) -> Result<Option<CibResource>, PacemakerError> {
    let rsc = match e.name.as_str() {
        "primitive" => CibResource::Primitive(parse_primitive(e)?),
        "group" => CibResource::Group(Group {
            id: required(e, "id", WHAT)?,
            meta_attributes: nvpairs(e, "meta_attributes"),
            members: parse_resource_list(e)?,
        }),
        "clone" | "master" => {
            let meta_attributes = nvpairs(e, "meta_attributes");
            let promotable = e.name == "master"
                || meta_attributes
                    .get("promotable")
                    .is_some_and(|v| is_true(v));
            let child = parse_resource_list(e)?.into_iter().next().ok_or_else(|| {
                PacemakerError::parse(
                    WHAT,
                    format!(
                        "clone {} has no primitive or group",
                        e.attr("id").unwrap_or("?")
                    ),
                )
            })?;
            CibResource::Clone(CibClone {
                id: required(e, "id", WHAT)?,
                meta_attributes,
                promotable,
                child: Box::new(child),
            })
        }
        "bundle" => CibResource::Bundle(Bundle {
            id: required(e, "id", WHAT)?,
            meta_attributes: nvpairs(e, "meta_attributes"),
            primitive: e.child("primitive").map(parse_primitive).transpose()?,
        }),
        _ => return Ok(None),
    };
    Ok(Some(rsc))
}

fn parse_primitive(e: &Element) -> Result<Primitive, PacemakerError> {
    let operations = match e.child("operations") {
        Some(ops) => ops
            .children_named("op")
            .map(|op| {
                Ok(Operation {
                    id: required(op, "id", WHAT)?,
                    name: required(op, "name", WHAT)?,
                    interval: opt_string(op, "interval").unwrap_or_else(|| "0".to_string()),
                    timeout: opt_string(op, "timeout"),
                    role: op.attr("role").map(Role::parse),
                    on_fail: opt_string(op, "on-fail"),
                    enabled: opt_flag(op, "enabled"),
                    instance_attributes: nvpairs(op, "instance_attributes"),
                    meta_attributes: nvpairs(op, "meta_attributes"),
                })
            })
            .collect::<Result<_, PacemakerError>>()?,
        None => Vec::new(),
    };
    Ok(Primitive {
        id: required(e, "id", WHAT)?,
        class: opt_string(e, "class").unwrap_or_default(),
        provider: opt_string(e, "provider"),
        agent_type: opt_string(e, "type").unwrap_or_default(),
        template: opt_string(e, "template"),
        instance_attributes: nvpairs(e, "instance_attributes"),
        meta_attributes: nvpairs(e, "meta_attributes"),
        utilization: nvpairs(e, "utilization"),
        operations,
    })
}
