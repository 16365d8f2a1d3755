//! Clone notification variables ([`Notify`]).
//!
//! For a `notify` action Pacemaker sets `OCF_RESKEY_CRM_meta_notify_type` (`pre`/`post`),
//! `…_notify_operation` (`start`, `stop`, `promote`, `demote`) and paired, space-separated
//! lists `…_notify_<set>_resource` / `…_notify_<set>_uname`, where item *i* of the resource
//! list runs on node *i* of the uname list (Pacemaker `lib/pacemaker/pcmk_sched_notif.c`).

use std::collections::BTreeMap;

/// One paired notification list: clone instances and the nodes they are on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifySet {
    /// Clone instance names (`rsc:0 rsc:1`), from `…_<set>_resource`.
    pub resource: Vec<String>,
    /// Node names, from `…_<set>_uname`.
    pub uname: Vec<String>,
}

impl NotifySet {
    fn from_metas(metas: &BTreeMap<String, String>, set: &str) -> Option<NotifySet> {
        let resource = metas.get(&format!("notify_{set}_resource"));
        let uname = metas.get(&format!("notify_{set}_uname"));
        if resource.is_none() && uname.is_none() {
            return None;
        }
        Some(NotifySet {
            resource: split(resource),
            uname: split(uname),
        })
    }

    /// Returns true if both lists are empty.
    pub fn is_empty(&self) -> bool {
        self.resource.is_empty() && self.uname.is_empty()
    }

    /// Iterates over `(resource, uname)` pairs; a missing partner (uneven lists) is `""`.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        let n = self.resource.len().max(self.uname.len());
        (0..n).map(move |i| {
            (
                self.resource.get(i).map_or("", String::as_str),
                self.uname.get(i).map_or("", String::as_str),
            )
        })
    }

    /// Returns true if the node name appears in the uname list.
    pub fn has_node(&self, node: &str) -> bool {
        self.uname.iter().any(|u| u == node)
    }
}

fn split(value: Option<&String>) -> Vec<String> {
    value
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The notification variables of a `notify` action (all empty for other actions).
///
/// `promoted` and `unpromoted` come from the OCF 1.1 names and fall back to the deprecated
/// `master` and `slave` names when Pacemaker did not set the new ones; `master` and `slave`
/// hold the deprecated lists as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notify {
    /// `pre` or `post` (`…_notify_type`).
    pub notify_type: Option<String>,
    /// The operation being notified about (`…_notify_operation`).
    pub operation: Option<String>,
    /// Instances being started.
    pub start: NotifySet,
    /// Instances being stopped.
    pub stop: NotifySet,
    /// Active instances.
    pub active: NotifySet,
    /// Inactive instances.
    pub inactive: NotifySet,
    /// Instances being promoted.
    pub promote: NotifySet,
    /// Instances being demoted.
    pub demote: NotifySet,
    /// Promoted instances (falls back to `master`).
    pub promoted: NotifySet,
    /// Unpromoted instances (falls back to `slave`).
    pub unpromoted: NotifySet,
    /// Promoted instances under the deprecated name.
    pub master: NotifySet,
    /// Unpromoted instances under the deprecated name.
    pub slave: NotifySet,
}

impl Notify {
    /// Builds the notification view from the meta attributes (names without the
    /// `OCF_RESKEY_CRM_meta_` prefix).
    pub(crate) fn from_metas(metas: &BTreeMap<String, String>) -> Notify {
        let get = |set: &str| NotifySet::from_metas(metas, set).unwrap_or_default();
        let master = get("master");
        let slave = get("slave");
        Notify {
            notify_type: metas.get("notify_type").cloned(),
            operation: metas.get("notify_operation").cloned(),
            start: get("start"),
            stop: get("stop"),
            active: get("active"),
            inactive: get("inactive"),
            promote: get("promote"),
            demote: get("demote"),
            promoted: NotifySet::from_metas(metas, "promoted").unwrap_or_else(|| master.clone()),
            unpromoted: NotifySet::from_metas(metas, "unpromoted").unwrap_or_else(|| slave.clone()),
            master,
            slave,
        }
    }

    /// Returns true for a pre-notification.
    pub fn is_pre(&self) -> bool {
        self.notify_type.as_deref() == Some("pre")
    }

    /// Returns true for a post-notification.
    pub fn is_post(&self) -> bool {
        self.notify_type.as_deref() == Some("post")
    }

    /// Returns `"<type>-<operation>"` (e.g. `post-promote`) when both are known.
    pub fn key(&self) -> Option<String> {
        Some(format!(
            "{}-{}",
            self.notify_type.as_deref()?,
            self.operation.as_deref()?
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metas(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn parses_paired_lists() {
        let m = metas(&[
            ("notify_type", "post"),
            ("notify_operation", "promote"),
            ("notify_start_resource", "drbd:0 drbd:1 "),
            ("notify_start_uname", " node-a  node-b"),
            ("notify_active_resource", ""),
            ("notify_promote_resource", "drbd:1"),
            ("notify_promote_uname", "node-b"),
        ]);
        let n = Notify::from_metas(&m);
        assert!(n.is_post() && !n.is_pre());
        assert_eq!(n.key().as_deref(), Some("post-promote"));
        assert_eq!(n.start.resource, ["drbd:0", "drbd:1"]);
        assert_eq!(n.start.uname, ["node-a", "node-b"]);
        assert_eq!(
            n.start.pairs().collect::<Vec<_>>(),
            [("drbd:0", "node-a"), ("drbd:1", "node-b")]
        );
        assert!(n.active.is_empty());
        assert!(n.stop.is_empty());
        assert!(n.promote.has_node("node-b"));
        assert!(!n.promote.has_node("node-a"));
    }

    #[test]
    fn uneven_lists_pad_with_empty() {
        let m = metas(&[
            ("notify_stop_resource", "r:0 r:1"),
            ("notify_stop_uname", "n1"),
        ]);
        let n = Notify::from_metas(&m);
        assert_eq!(
            n.stop.pairs().collect::<Vec<_>>(),
            [("r:0", "n1"), ("r:1", "")]
        );
    }

    #[test]
    fn promoted_falls_back_to_master() {
        let m = metas(&[
            ("notify_master_resource", "drbd:0"),
            ("notify_master_uname", "node-a"),
            ("notify_slave_resource", "drbd:1"),
            ("notify_slave_uname", "node-b"),
        ]);
        let n = Notify::from_metas(&m);
        assert_eq!(n.promoted.uname, ["node-a"]);
        assert_eq!(n.unpromoted.uname, ["node-b"]);
        assert_eq!(n.master, n.promoted);
        assert_eq!(n.slave, n.unpromoted);
    }

    #[test]
    fn promoted_preferred_over_master() {
        let m = metas(&[
            ("notify_promoted_resource", ""),
            ("notify_promoted_uname", ""),
            ("notify_master_resource", "drbd:0"),
            ("notify_master_uname", "node-a"),
        ]);
        let n = Notify::from_metas(&m);
        assert!(n.promoted.is_empty(), "set-but-empty new name wins");
        assert_eq!(n.master.uname, ["node-a"]);
    }

    #[test]
    fn empty_when_not_a_notification() {
        let n = Notify::from_metas(&BTreeMap::new());
        assert_eq!(n, Notify::default());
        assert_eq!(n.key(), None);
    }
}
