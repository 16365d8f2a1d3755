//! The node list of corosync's configuration (`/etc/corosync/corosync.conf`): each node's
//! name and ring addresses, for `vm-mgr info`. Read as a file (bounded, [`crate::fsread`]);
//! nothing is run.
//!
//! The format: `section {` ... `}` blocks of `key: value` lines, `#` comments. Only
//! `nodelist { node { ringN_addr: ... name: ... nodeid: ... } }` is read.

use std::path::Path;

/// Where corosync keeps its configuration.
pub const CONF: &str = "/etc/corosync/corosync.conf";

/// One `node { }` of the `nodelist`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorosyncNode {
    /// `name` (else the first ring address, as corosync names such a node).
    pub name: String,
    /// `nodeid`, as written.
    pub nodeid: Option<String>,
    /// `ring0_addr`, `ring1_addr`, ... in ring order.
    pub addrs: Vec<String>,
}

/// The nodes of the `nodelist` section of `text` (empty when there is none).
pub fn parse_nodelist(text: &str) -> Vec<CorosyncNode> {
    let mut path: Vec<String> = Vec::new();
    let mut nodes = Vec::new();
    let mut current: Option<(CorosyncNode, Vec<(u32, String)>)> = None;
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if let Some(section) = line.strip_suffix('{') {
            path.push(section.trim().to_owned());
            if path == ["nodelist", "node"] {
                current = Some(Default::default());
            }
        } else if line == "}" {
            if path == ["nodelist", "node"] {
                if let Some((mut node, mut rings)) = current.take() {
                    rings.sort();
                    node.addrs = rings.into_iter().map(|(_, a)| a).collect();
                    if node.name.is_empty() {
                        node.name = node.addrs.first().cloned().unwrap_or_default();
                    }
                    nodes.push(node);
                }
            }
            path.pop();
        } else if let (Some((node, rings)), Some((k, v))) = (current.as_mut(), line.split_once(':'))
        {
            let (k, v) = (k.trim(), v.trim().to_owned());
            match k {
                "name" => node.name = v,
                "nodeid" => node.nodeid = Some(v),
                _ => {
                    let ring = k
                        .strip_prefix("ring")
                        .and_then(|r| r.strip_suffix("_addr"))
                        .and_then(|n| n.parse::<u32>().ok());
                    if let Some(n) = ring {
                        rings.push((n, v));
                    }
                }
            }
        }
    }
    nodes
}

/// The node list of the configuration file at `path` (at most 1 MiB is read).
pub fn read_nodelist(path: &Path) -> std::io::Result<Vec<CorosyncNode>> {
    Ok(parse_nodelist(&crate::fsread::read_text(
        path,
        crate::fsread::CONFIG_CAP,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_nodelist_is_read() {
        let nodes = parse_nodelist(include_str!("../../tests/fixtures/corosync/corosync.conf"));
        let got: Vec<(String, Option<String>, Vec<String>)> = nodes
            .into_iter()
            .map(|n| (n.name, n.nodeid, n.addrs))
            .collect();
        let want: Vec<(String, Option<String>, Vec<String>)> = (1..=3)
            .map(|i| {
                (
                    format!("sim{i}"),
                    Some(i.to_string()),
                    vec![format!("10.78.0.{i}")],
                )
            })
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn rings_in_order_comments_and_unnamed_nodes() {
        let text = "totem {\n name: not-a-node\n}\nnodelist {\n  node { # first\n    \
                    ring1_addr: 192.168.1.1\n    ring0_addr: 10.0.0.1 # main\n  }\n}\n";
        let nodes = parse_nodelist(text);
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].name, "10.0.0.1");
        assert_eq!(nodes[0].addrs, ["10.0.0.1", "192.168.1.1"]);
        assert!(parse_nodelist("totem {\n}\n").is_empty());
        assert!(read_nodelist(Path::new("/nonexistent/corosync.conf")).is_err());
    }
}
