//! `set-options`: create's options changed on a VM's fragment in a CIB tree (pure), and in its
//! settings. Each option given replaces what create (or an earlier `set-options`) wrote: op
//! timeouts of the domain, the group's `priority`, `allow-migrate` of both members (with the
//! disk guard's migrate ops), the domain's `migration_user` and extra parameters, and the
//! group's extra meta attributes. In `params` and `meta`, an empty value removes the key.

use std::collections::BTreeMap;

use shared::pacemaker::cib::tree::{self, NvpairId, SetKind};
use shared::xml::Element;

use super::{op, FragmentError};
use crate::vm::{Settings, VmIds};

/// The options to change; `None` (or an empty map) leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Timeout of the domain's stop op (s).
    pub stop_timeout: Option<u32>,
    /// Timeout of the domain's migrate_to op (s).
    pub migrate_to_timeout: Option<u32>,
    /// The group's `priority`.
    pub priority: Option<i32>,
    /// `allow-migrate` of the members.
    pub live_migration: Option<bool>,
    /// VirtualDomain `migration_user` (empty: removed).
    pub migration_user: Option<String>,
    /// Extra VirtualDomain parameters (empty value: removed).
    pub params: BTreeMap<String, String>,
    /// Extra meta attributes of the group (empty value: removed).
    pub meta: BTreeMap<String, String>,
}

impl Options {
    /// Whether nothing is to change.
    pub fn is_empty(&self) -> bool {
        *self == Options::default()
    }

    /// The settings with these options.
    pub fn apply_settings(&self, s: &Settings) -> Settings {
        let mut s = s.clone();
        if let Some(t) = self.stop_timeout {
            s.stop_timeout = t;
        }
        if let Some(t) = self.migrate_to_timeout {
            s.migrate_to_timeout = t;
        }
        if let Some(p) = self.priority {
            s.priority = p;
        }
        if let Some(l) = self.live_migration {
            s.live_migration = l;
        }
        if let Some(u) = &self.migration_user {
            s.migration_user = Some(u.clone()).filter(|u| !u.is_empty());
        }
        merge(&mut s.pacemaker_params, &self.params);
        merge(&mut s.pacemaker_meta, &self.meta);
        s
    }
}

fn merge(into: &mut BTreeMap<String, String>, from: &BTreeMap<String, String>) {
    for (k, v) in from {
        if v.is_empty() {
            into.remove(k);
        } else {
            into.insert(k.clone(), v.clone());
        }
    }
}

/// Applies `o` to the fragment of VM `ids` in `tree`; whether anything changed. The result is
/// checked as create checks a new fragment (no id twice, no control character).
pub fn apply(tree: &mut Element, ids: &VmIds, o: &Options) -> Result<bool, FragmentError> {
    let name = ids.name();
    let not_in = || FragmentError::NotInCib {
        name: name.to_owned(),
    };
    let mut changed = false;
    let d = ids.domain();
    {
        let dom = tree::primitive_mut(tree, &d).ok_or_else(not_in)?;
        if let Some(t) = o.stop_timeout {
            changed |= set_op_timeout(dom, &d, "stop", t);
        }
        if let Some(t) = o.migrate_to_timeout {
            changed |= set_op_timeout(dom, &d, "migrate_to", t);
        }
        let params = format!("{d}.params");
        let user = o.migration_user.iter().map(|u| ("migration_user", u));
        for (k, v) in user.chain(o.params.iter().map(|(k, v)| (k.as_str(), v))) {
            let value = Some(v.as_str()).filter(|v| !v.is_empty());
            changed |= tree::set_nvpair(dom, SetKind::Instance, &params, NvpairId::Dot, k, value);
        }
        if let Some(l) = o.live_migration {
            changed |= set_meta(dom, &format!("{d}.meta"), "allow-migrate", &l.to_string());
        }
    }
    if let Some(l) = o.live_migration {
        let g = ids.guard();
        if let Some(guard) = tree::primitive_mut(tree, &g) {
            changed |= set_meta(guard, &format!("{g}.meta"), "allow-migrate", &l.to_string());
            changed |= guard_migrate_ops(guard, &g, l);
        }
    }
    let group = super::edit::vm_group_mut(tree, name).ok_or_else(not_in)?;
    let meta_id = format!("{name}.meta");
    if let Some(p) = o.priority {
        changed |= set_meta(group, &meta_id, "priority", &p.to_string());
    }
    for (k, v) in &o.meta {
        let value = Some(v.as_str()).filter(|v| !v.is_empty());
        changed |= tree::set_nvpair(group, SetKind::Meta, &meta_id, NvpairId::Dot, k, value);
    }
    if let Some(f) = super::extract(tree, name) {
        super::edit::check_own_ids_and_values(&f)?;
    }
    Ok(changed)
}

fn set_meta(e: &mut Element, set_id: &str, key: &str, value: &str) -> bool {
    tree::set_nvpair(e, SetKind::Meta, set_id, NvpairId::Dot, key, Some(value))
}

/// Whether an op's interval is zero (`0`, `0s`, `0ms` ...).
fn zero_interval(op: &Element) -> bool {
    op.attr("interval")
        .unwrap_or("0")
        .trim_start_matches('0')
        .chars()
        .all(|c| c.is_ascii_alphabetic())
}

/// Sets the timeout of `prim`'s op `name` (interval 0), adding the op if it is missing.
fn set_op_timeout(prim: &mut Element, id: &str, name: &str, secs: u32) -> bool {
    let timeout = format!("{secs}s");
    if prim.child("operations").is_none() {
        prim.children.push(Element::new("operations"));
    }
    let Some(ops) = prim.child_mut("operations") else {
        return false;
    };
    let found = ops
        .children
        .iter_mut()
        .find(|o| o.name == "op" && o.attr("name") == Some(name) && zero_interval(o));
    match found {
        Some(o) if o.attr("timeout") == Some(timeout.as_str()) => false,
        Some(o) => {
            o.set_attr("timeout", timeout);
            true
        }
        None => {
            ops.children.push(op(id, name, 0, secs));
            true
        }
    }
}

/// The disk guard's migrate ops: there (60 s, as create writes them) when the VM live
/// migrates, gone when it does not.
fn guard_migrate_ops(guard: &mut Element, g: &str, live: bool) -> bool {
    let Some(ops) = guard.child_mut("operations") else {
        return false;
    };
    let is_migrate = |o: &Element| {
        o.name == "op" && matches!(o.attr("name"), Some("migrate_to" | "migrate_from"))
    };
    let before = ops.children.len();
    if live {
        for name in ["migrate_to", "migrate_from"] {
            if !ops.children.iter().any(|o| o.attr("name") == Some(name)) {
                ops.children.push(op(g, name, 0, 60));
            }
        }
    } else {
        ops.children.retain(|o| !is_migrate(o));
    }
    ops.children.len() != before
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;
