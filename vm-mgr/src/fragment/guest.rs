//! The guest node of a VM in a CIB tree: the `remote-node` meta attributes (and their
//! companions) of its domain primitive, read and edited as one ([`crate::guest_node`]).

use shared::pacemaker::cib::tree::{self, NvpairId, Section, SetKind};
use shared::xml::Element;

use super::{vm_group, FragmentError};
use crate::guest_node::{GuestNode, META_KEYS, META_NODE};
use crate::vm::VmIds;

/// The guest node VM `name` is in the CIB tree, if it is one.
pub fn guest_node_of(tree: &Element, name: &str) -> Option<GuestNode> {
    let domain = VmIds::new(name).domain();
    let prim = vm_group(tree, name)?
        .children_named("primitive")
        .find(|p| p.attr("id") == Some(domain.as_str()))?;
    GuestNode::from_meta(|k| tree::nvpair(prim, SetKind::Meta, k))
}

/// Every guest node of the configuration, VM or not: (resource id, node name).
pub fn guest_nodes(tree: &Element) -> Vec<(String, String)> {
    let Some(resources) = tree::section(tree, Section::Resources) else {
        return Vec::new();
    };
    resources
        .descendants()
        .into_iter()
        .filter(|e| e.name == "primitive")
        .filter_map(|p| {
            let node = tree::nvpair(p, SetKind::Meta, META_NODE)?;
            Some((p.attr("id")?.to_owned(), node.to_owned()))
        })
        .collect()
}

/// Makes VM `name` the guest node `guest` (or, with `None`, no guest node): the four meta
/// attributes of its domain primitive are replaced as one. The node name must be free: no
/// cluster node, no id of the configuration (Pacemaker names the guest's connection resource
/// after it) and no other guest node has it. Returns whether the tree changed.
pub fn set_guest_node(
    tree: &mut Element,
    name: &str,
    guest: Option<&GuestNode>,
) -> Result<bool, FragmentError> {
    if tree::section(tree, Section::Resources).is_none() {
        return Err(FragmentError::NoSection {
            section: Section::Resources.name(),
        });
    }
    if !super::in_cib(tree, name) {
        return Err(FragmentError::NotInCib {
            name: name.to_owned(),
        });
    }
    if let Some(g) = guest {
        check_guest_name(tree, name, &g.name)?;
    }
    let domain = VmIds::new(name).domain();
    let prim = tree::primitive_mut(tree, &domain).ok_or_else(|| FragmentError::NotInCib {
        name: name.to_owned(),
    })?;
    let before = prim.clone();
    for k in META_KEYS {
        tree::remove_nvpair_everywhere(prim, SetKind::Meta, k);
    }
    for (k, v) in guest.map(GuestNode::meta_pairs).unwrap_or_default() {
        tree::set_nvpair(
            prim,
            SetKind::Meta,
            &format!("{domain}.meta"),
            NvpairId::Dot,
            &k,
            Some(&v),
        );
    }
    Ok(*prim != before)
}

/// Fails when `node` names something else than VM `name`'s own guest node: a cluster node, an
/// id of the configuration, another resource's guest node.
pub fn check_guest_name(tree: &Element, name: &str, node: &str) -> Result<(), FragmentError> {
    if guest_node_of(tree, name).is_some_and(|g| g.name == node) {
        // Its own (a node entry may exist for it: attributes set on the guest node).
        return Ok(());
    }
    let taken = |by: String| {
        Err(FragmentError::GuestNameTaken {
            name: name.to_owned(),
            node: node.to_owned(),
            by,
        })
    };
    if tree::node(tree, node).is_some() {
        return taken("a cluster node".into());
    }
    if tree::configuration_ids(tree).contains(&node) {
        return taken(format!(
            "the id of an element of the configuration ({node})"
        ));
    }
    let domain = VmIds::new(name).domain();
    if let Some((rsc, _)) = guest_nodes(tree)
        .into_iter()
        .find(|(rsc, n)| n == node && *rsc != domain)
    {
        return taken(format!("the guest node of resource {rsc}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CIB: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/vm-mgr/cib-guest-node.xml"
    ));

    fn guest(name: &str) -> GuestNode {
        GuestNode {
            name: name.into(),
            address: Some("10.78.0.171".into()),
            port: None,
            connect_timeout: None,
        }
    }

    #[test]
    fn the_recorded_guest_node_is_read_and_kept() {
        let mut tree = Element::parse(CIB, "test CIB").unwrap();
        assert_eq!(guest_node_of(&tree, "g1"), Some(guest("g1-guest")));
        assert_eq!(
            guest_nodes(&tree),
            [("vmmgr-domain-g1".to_owned(), "g1-guest".to_owned())]
        );
        // Setting what is there changes nothing, also once the guest node has a node entry
        // (attributes set on it); another name that is a node is refused.
        assert!(matches!(
            set_guest_node(&mut tree, "g1", Some(&guest("g1-guest"))),
            Ok(false)
        ));
        let mut entry = Element::new("node");
        for (k, v) in [
            ("id", "g1-guest"),
            ("uname", "g1-guest"),
            ("type", "remote"),
        ] {
            entry.set_attr(k, v);
        }
        tree::section_mut(&mut tree, Section::Nodes)
            .unwrap()
            .children
            .push(entry);
        assert!(matches!(
            set_guest_node(&mut tree, "g1", Some(&guest("g1-guest"))),
            Ok(false)
        ));
        assert!(matches!(
            set_guest_node(&mut tree, "g1", Some(&guest("sim3"))),
            Err(FragmentError::GuestNameTaken { .. })
        ));
        assert!(matches!(set_guest_node(&mut tree, "g1", None), Ok(true)));
        assert_eq!(guest_node_of(&tree, "g1"), None);
        assert!(matches!(
            set_guest_node(&mut tree, "nosuch", None),
            Err(FragmentError::NotInCib { .. })
        ));
    }
}
