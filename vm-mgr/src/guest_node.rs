//! A VM as a Pacemaker guest node (pacemaker-remote running inside it): the meta attributes
//! of its domain resource that make it one, `remote-node` (the guest node's name) and,
//! optionally, `remote-addr`, `remote-port` and `remote-connect-timeout`. Pacemaker then
//! connects to the guest's pacemaker-remoted once the domain runs, and resources can be
//! placed on the guest node. SEAPATH's `add_pacemaker_remote` sets the same four.
//!
//! The values are checked here before they reach the CIB (the names, an address or host
//! name, a port number, a Pacemaker duration), and kept in the VM's settings
//! ([`crate::vm::Settings::guest_node`]) so a fragment rebuilt from the settings has them too.

use serde::{Deserialize, Serialize};
use shared::pacemaker::ClusterStatus;

/// Meta attribute: the guest node's name (also the id of the connection resource Pacemaker
/// makes for it).
pub const META_NODE: &str = "remote-node";
/// Meta attribute: the address Pacemaker connects to (default: the node name, resolved).
pub const META_ADDR: &str = "remote-addr";
/// Meta attribute: the TCP port of pacemaker-remoted (default 3121).
pub const META_PORT: &str = "remote-port";
/// Meta attribute: how long Pacemaker waits for the guest to accept the connection after the
/// domain starts (default 60s).
pub const META_TIMEOUT: &str = "remote-connect-timeout";
/// The four, in the order they are written.
pub const META_KEYS: [&str; 4] = [META_NODE, META_ADDR, META_PORT, META_TIMEOUT];

/// Where Pacemaker (and pacemaker-remoted, in the guest) read the shared key by default.
pub const AUTHKEY: &str = "/etc/pacemaker/authkey";

/// Longest name or address accepted (a DNS name's limit).
const MAX_LEN: usize = 253;

/// The guest node a VM carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestNode {
    /// `remote-node`: the node name.
    pub name: String,
    /// `remote-addr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// `remote-port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `remote-connect-timeout`, as given (`60`, `90s`, `2min`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<String>,
}

/// Why a guest node setting is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GuestNodeError {
    /// A node name Pacemaker cannot take.
    #[error(
        "Invalid guest node name {0:?}: a letter or digit first, then letters, digits, '.', \
         '-' or '_', at most 253 characters."
    )]
    Name(String),
    /// Neither an IP address nor a host name.
    #[error("Invalid remote address {0:?}: give an IPv4 or IPv6 address or a host name.")]
    Address(String),
    /// Port 0.
    #[error("Invalid remote port 0: give 1 to 65535.")]
    Port,
    /// Not a Pacemaker duration.
    #[error(
        "Invalid remote timeout {0:?}: give a duration such as 60, 90s, 2min or 1h (1 s to 24 h)."
    )]
    Timeout(String),
}

impl GuestNode {
    /// The default node name of VM `vm`'s guest node: `VM-guest`. Not the VM's name: the VM's
    /// group already has that id, and Pacemaker gives the connection resource of a guest node
    /// the node's name.
    pub fn default_name(vm: &str) -> String {
        format!("{vm}-guest")
    }

    /// Checks every value.
    pub fn validate(&self) -> Result<(), GuestNodeError> {
        if !is_host_name(&self.name) {
            return Err(GuestNodeError::Name(self.name.clone()));
        }
        if let Some(a) = &self.address {
            if a.parse::<std::net::IpAddr>().is_err() && !is_host_name(a) {
                return Err(GuestNodeError::Address(a.clone()));
            }
        }
        if self.port == Some(0) {
            return Err(GuestNodeError::Port);
        }
        if let Some(t) = &self.connect_timeout {
            if duration_secs(t).is_none_or(|s| !(1..=86_400).contains(&s)) {
                return Err(GuestNodeError::Timeout(t.clone()));
            }
        }
        Ok(())
    }

    /// The meta attributes to write, in [`META_KEYS`] order; those not set are left out.
    pub fn meta_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = vec![(META_NODE.to_owned(), self.name.clone())];
        if let Some(a) = &self.address {
            pairs.push((META_ADDR.to_owned(), a.clone()));
        }
        if let Some(p) = self.port {
            pairs.push((META_PORT.to_owned(), p.to_string()));
        }
        if let Some(t) = &self.connect_timeout {
            pairs.push((META_TIMEOUT.to_owned(), t.clone()));
        }
        pairs
    }

    /// The guest node described by a resource's meta attributes (`get` looks one up), if it
    /// has `remote-node`. A port that is not a number is left out (Pacemaker uses 3121).
    pub fn from_meta<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Option<GuestNode> {
        Some(GuestNode {
            name: get(META_NODE)?.to_owned(),
            address: get(META_ADDR).map(str::to_owned),
            port: get(META_PORT).and_then(|p| p.parse().ok()),
            connect_timeout: get(META_TIMEOUT).map(str::to_owned),
        })
    }
}

/// The state of guest node `node` as crm_mon shows it: `online`, `offline`, `unclean`,
/// `standby`, `maintenance`, or `unknown` when crm_mon does not list it (yet).
pub fn node_state(mon: &ClusterStatus, node: &str) -> &'static str {
    match mon.node(node) {
        None => "unknown",
        Some(n) if n.unclean => "unclean",
        Some(n) if !n.online => "offline",
        Some(n) if n.standby => "standby",
        Some(n) if n.maintenance => "maintenance",
        Some(_) => "online",
    }
}

/// The guest node with its state, for `status` and `list` (`--output json`): `name`,
/// `address`, `port`, `connect_timeout` (null when not set) and `state` ([`node_state`]).
pub fn view(guest: &GuestNode, mon: &ClusterStatus) -> serde_json::Value {
    serde_json::json!({
        "name": guest.name,
        "address": guest.address,
        "port": guest.port,
        "connect_timeout": guest.connect_timeout,
        "state": node_state(mon, &guest.name),
    })
}

/// A host (or node) name: labels of letters, digits, `-` and `_`, separated by dots, starting
/// with a letter or digit.
fn is_host_name(s: &str) -> bool {
    s.len() <= MAX_LEN
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !s.contains("..")
        && !s.ends_with('.')
}

/// A Pacemaker duration in whole seconds: digits, then nothing (seconds), `s`, `sec`, `m`,
/// `min`, `h` or `hr`.
fn duration_secs(s: &str) -> Option<u64> {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if digits == 0 || digits > 9 {
        return None;
    }
    let n: u64 = s[..digits].parse().ok()?;
    let unit = match &s[digits..] {
        "" | "s" | "sec" => 1,
        "m" | "min" => 60,
        "h" | "hr" => 3600,
        _ => return None,
    };
    n.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str) -> GuestNode {
        GuestNode {
            name: name.into(),
            address: None,
            port: None,
            connect_timeout: None,
        }
    }

    #[test]
    fn values_are_checked() {
        let mut g = node("web1-guest");
        g.validate().unwrap();
        for bad in ["", "-a", "a b", "a;b", "a..b", "a.", &"a".repeat(254), "ü"] {
            assert_eq!(
                node(bad).validate(),
                Err(GuestNodeError::Name(bad.into())),
                "{bad:?}"
            );
        }
        for ok in ["10.78.0.120", "fe80::1", "guest.example.org"] {
            g.address = Some(ok.into());
            g.validate().unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        g.address = Some("10.0.0.1; rm".into());
        assert!(matches!(g.validate(), Err(GuestNodeError::Address(_))));
        g.address = None;
        g.port = Some(0);
        assert_eq!(g.validate(), Err(GuestNodeError::Port));
        g.port = Some(3121);
        for ok in ["60", "90s", "2min", "1h", "86400"] {
            g.connect_timeout = Some(ok.into());
            g.validate().unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in ["0", "", "s", "1d", "86401", "9999999999", "-5", "5 s"] {
            g.connect_timeout = Some(bad.into());
            assert!(
                matches!(g.validate(), Err(GuestNodeError::Timeout(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn meta_round_trip() {
        let g = GuestNode {
            name: "g1".into(),
            address: Some("10.78.0.120".into()),
            port: Some(3122),
            connect_timeout: Some("90s".into()),
        };
        let pairs = g.meta_pairs();
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, META_KEYS);
        let back = GuestNode::from_meta(|k| {
            pairs
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.as_str())
        });
        assert_eq!(back, Some(g));
        assert_eq!(node("g").meta_pairs().len(), 1);
        assert_eq!(GuestNode::from_meta(|_| None), None);
        assert_eq!(GuestNode::default_name("web1"), "web1-guest");
    }
}
