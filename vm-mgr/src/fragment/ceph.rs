//! The Ceph connection parameters of a fragment's agents ([`CephAccess`]), and their addition to
//! a fragment stored by an older vm-mgr ([`Fragment::fill_ceph`]).

use std::path::PathBuf;

use shared::pacemaker::cib::tree::{self, NvpairId, SetKind};
use shared::xml::Element;

use super::Fragment;

/// How the agents reach Ceph: vm-mgr's own `pool`, `ceph-id` and `ceph-conf`, passed on to the
/// guard (`pool`, `user`, `cephconf`) and to the domain (`rbd_xml_source`, `rbd_xml_user`,
/// `rbd_xml_cephconf`).
///
/// The user is always written, even `admin`: the CIB then says who the agents connect as, and
/// a fragment without it can only have been stored by an older vm-mgr (see
/// [`Fragment::fill_ceph`]). The configuration file is written only when vm-mgr has one
/// (`ceph-conf`); without it, vm-mgr and the agents alike use Ceph's default,
/// `/etc/ceph/ceph.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CephAccess {
    /// The RBD pool.
    pub pool: String,
    /// The cephx user, without `client.`.
    pub user: String,
    /// The Ceph configuration file, when not Ceph's default.
    pub conf: Option<PathBuf>,
}

impl Default for CephAccess {
    /// Pool `rbd`, user `admin`, Ceph's default configuration file.
    fn default() -> CephAccess {
        CephAccess {
            pool: "rbd".into(),
            user: "admin".into(),
            conf: None,
        }
    }
}

impl CephAccess {
    fn conf_str(&self) -> Option<String> {
        self.conf.as_ref().map(|c| c.to_string_lossy().into_owned())
    }

    /// The connection parameters of the guard (`ocf:vmmgr:rbd`).
    pub(super) fn guard_params(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("user", Some(self.user.clone())),
            ("cephconf", self.conf_str()),
        ]
    }

    /// The connection parameters of the domain (`ocf:vmmgr:VirtualDomain`).
    pub(super) fn domain_params(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("rbd_xml_user", Some(self.user.clone())),
            ("rbd_xml_cephconf", self.conf_str()),
        ]
    }
}

impl Fragment {
    /// Gives the agents of a stored fragment the Ceph connection parameters it lacks (a
    /// fragment stored by a vm-mgr that did not pass them on, whose agents ran as
    /// `client.admin` with `/etc/ceph/ceph.conf`): `user`/`cephconf` on the guard,
    /// `rbd_xml_user`/`rbd_xml_cephconf` on a domain with `rbd_xml_source`, taken from `ceph`,
    /// the settings with which the fragment was just read from RBD. Values it has are kept.
    /// Returns `primitive.parameter` for each one added.
    pub fn fill_ceph(&mut self, ceph: &CephAccess) -> Vec<String> {
        let mut added = Vec::new();
        for group in &mut self.resources {
            for prim in group.children.iter_mut().filter(|c| c.name == "primitive") {
                let is_ours =
                    prim.attr("class") == Some("ocf") && prim.attr("provider") == Some("vmmgr");
                let list = match prim.attr("type") {
                    Some("rbd") if is_ours => ceph.guard_params(),
                    Some("VirtualDomain") if is_ours && has_param(prim, "rbd_xml_source") => {
                        ceph.domain_params()
                    }
                    _ => continue,
                };
                let id = prim.attr("id").unwrap_or_default().to_owned();
                added.extend(
                    add_missing_params(prim, list)
                        .into_iter()
                        .map(|k| format!("{id}.{k}")),
                );
            }
        }
        added
    }
}

/// Adds to primitive `prim` each parameter of `list` that has a value and that none of its
/// instance attribute sets has; returns the names added.
fn add_missing_params(
    prim: &mut Element,
    list: Vec<(&'static str, Option<String>)>,
) -> Vec<&'static str> {
    let missing: Vec<(&'static str, String)> = list
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .filter(|(k, _)| !has_param(prim, k))
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    let set_id = format!("{}.params", prim.attr("id").unwrap_or_default());
    for (k, v) in &missing {
        tree::set_nvpair(prim, SetKind::Instance, &set_id, NvpairId::Dot, k, Some(v));
    }
    missing.into_iter().map(|(k, _)| k).collect()
}

/// Whether primitive `prim` has parameter `name`.
fn has_param(prim: &Element, name: &str) -> bool {
    tree::has_nvpair(prim, SetKind::Instance, name)
}
