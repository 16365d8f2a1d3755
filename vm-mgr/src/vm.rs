//! The VM model: names, the ids vm-mgr gives a VM's images and CIB elements, and the settings
//! kept with the VM in its storage.
//!
//! A VM `NAME` is, in the CIB, the group `NAME` holding the disk guard `vmmgr-disk-NAME`
//! (`ocf:vmmgr:rbd mode=guard`) and the domain `vmmgr-domain-NAME` (`ocf:vmmgr:VirtualDomain`),
//! plus vm-mgr's constraints `vmmgr-ban-NAME`, `vmmgr-pin-NAME`, `vmmgr-prefer-NAME`. Names
//! cannot contain `.` and cannot start with `vmmgr-`, so these ids never collide between VMs;
//! ids of sub-elements are `PARENT.part`. In RBD (pool `rbd` by default), it is the group
//! `NAME` with the images `system_NAME` and `data_NAME_I`; the metadata of `system_NAME` holds
//! the domain XML (`xml`) and vm-mgr's settings. On the dir backend ([`Backend::Dir`]) the same
//! names map to files of the directory `DIR/NAME/` (see `storage::dir`); the group has no disk
//! guard, and with `storage-resource` two more constraints: `vmmgr-after-NAME` (order) and
//! `vmmgr-with-NAME` (colocation).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Longest VM name.
pub const MAX_NAME_LEN: usize = 64;
/// Metadata key of the final domain XML (read by `ocf:vmmgr:VirtualDomain`).
pub const META_XML: &str = "xml";
/// Metadata key of the VM name (as SEAPATH writes it).
pub const META_VM_NAME: &str = "vm_name";
/// Metadata key of the domain XML as given to create.
pub const META_BASE_XML: &str = "_base_xml";
/// Metadata key of vm-mgr's settings (JSON).
pub const META_SETTINGS: &str = "_vmmgr_settings";
/// Metadata key of the VM's CIB fragment (kept while disabled).
pub const META_FRAGMENT: &str = "_vmmgr_fragment";
/// Node attribute marking nodes that must never run VMs.
pub const ROLE_ATTRIBUTE: &str = "vmmgr-role";
/// Value of [`ROLE_ATTRIBUTE`] for such nodes.
pub const OBSERVER: &str = "observer";

/// Which kind of storage a VM is on (the `storage` key of `status` and `list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Ceph RBD (the default).
    Rbd,
    /// A directory every node sees (`--storage dir`).
    Dir,
}

impl Backend {
    /// The name as given to `--storage` and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Rbd => "rbd",
            Backend::Dir => "dir",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a VM name: a letter first, then letters, digits, `-` or `_`, at most 64 characters,
/// not starting with `vmmgr-`, not `xml`.
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    let mut chars = name.chars();
    match chars.next() {
        None => return bad("it is empty"),
        Some(c) if !c.is_ascii_alphabetic() => return bad("it must start with a letter"),
        Some(_) => {}
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return bad("only letters, digits, '-' and '_' are allowed");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("it is longer than 64 characters");
    }
    if name.starts_with("vmmgr-") {
        return bad("names starting with 'vmmgr-' are reserved");
    }
    if name == "xml" {
        return bad("'xml' is reserved");
    }
    Ok(())
}

/// Checks a node name before it goes into the CIB: letters, digits, `.`, `-`, `_`.
pub fn validate_node_name(node: &str) -> Result<()> {
    let ok = !node.is_empty()
        && node.len() <= 253
        && node
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Invalid node name {node:?}: only letters, digits, '.', '-' and '_' are allowed."
        )))
    }
}

/// The ids of one VM, in the CIB and in RBD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmIds {
    name: String,
}

impl VmIds {
    /// Ids for `name` (which must have been validated).
    pub fn new(name: &str) -> VmIds {
        VmIds {
            name: name.to_owned(),
        }
    }

    /// The VM name (= the group id).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The group holding guard and domain.
    pub fn group(&self) -> String {
        self.name.clone()
    }

    /// The `ocf:vmmgr:VirtualDomain` primitive.
    pub fn domain(&self) -> String {
        format!("vmmgr-domain-{}", self.name)
    }

    /// Whether a group member with id `id` is this VM's domain (`vmmgr-domain-NAME`). A group
    /// holding it is a vm-mgr VM: this is the one ownership rule (`state` reads the typed CIB
    /// with it, `fragment` the CIB tree); a group of the same name without it is someone
    /// else's, and every verb treats it as "no such VM". The rule is on ids, not on the agent,
    /// so that the end-to-end tests can stand a VM's members in with `ocf:pacemaker:Dummy`.
    pub fn is_domain_member(&self, id: &str) -> bool {
        id == self.domain()
    }

    /// The `ocf:vmmgr:rbd` disk guard primitive.
    pub fn guard(&self) -> String {
        format!("vmmgr-disk-{}", self.name)
    }

    /// The location constraint banning observer and remote nodes.
    pub fn ban(&self) -> String {
        format!("vmmgr-ban-{}", self.name)
    }

    /// The location constraint of `--pinned-host`.
    pub fn pin(&self) -> String {
        format!("vmmgr-pin-{}", self.name)
    }

    /// The INFINITY location on the pinned node that goes with [`VmIds::pin`] (see
    /// `fragment::pin_constraints`).
    pub fn pin_home(&self) -> String {
        format!("vmmgr-pin-{}.home", self.name)
    }

    /// The location constraint of `--preferred-host`.
    pub fn prefer(&self) -> String {
        format!("vmmgr-prefer-{}", self.name)
    }

    /// The RBD system image.
    pub fn system_image(&self) -> String {
        format!("system_{}", self.name)
    }

    /// The RBD image of additional disk `i` (from 0).
    pub fn data_image(&self, i: usize) -> String {
        format!("data_{}_{i}", self.name)
    }

    /// The RBD group.
    pub fn rbd_group(&self) -> String {
        self.name.clone()
    }

    /// The order constraint of a dir VM after its storage clone (`storage-resource`).
    pub fn storage_order(&self) -> String {
        format!("vmmgr-after-{}", self.name)
    }

    /// The colocation of a dir VM with its storage clone.
    pub fn storage_colocation(&self) -> String {
        format!("vmmgr-with-{}", self.name)
    }

    /// Where the VirtualDomain agent writes the XML it fetched from RBD, on each node.
    pub fn config_path(&self) -> String {
        format!("/run/vmmgr/domains/{}.xml", self.name)
    }
}

/// The VM an image belongs to by vm-mgr's names (`system_VM`, `data_VM_N`), if any: the one
/// naming rule of images, as [`VmIds::system_image`] and [`VmIds::data_image`] make them.
pub fn image_vm(image: &str) -> Option<&str> {
    let name = if let Some(vm) = image.strip_prefix("system_") {
        vm
    } else {
        let (vm, n) = image.strip_prefix("data_")?.rsplit_once('_')?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        vm
    };
    validate_name(name).ok().map(|()| name)
}

/// vm-mgr's settings of a VM, kept as JSON in the metadata key [`META_SETTINGS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Meta `allow-migrate=true`.
    pub live_migration: bool,
    /// VirtualDomain `migration_user`.
    pub migration_user: Option<String>,
    /// VirtualDomain `migration_transport`.
    pub migration_transport: Option<String>,
    /// migrate_to op timeout (s).
    pub migrate_to_timeout: u32,
    /// stop op timeout (s).
    pub stop_timeout: u32,
    /// start op timeout (s).
    pub start_timeout: u32,
    /// VirtualDomain `migration_downtime` (ms).
    pub migration_downtime: u32,
    /// Meta `priority`.
    pub priority: i32,
    /// `--pinned-host`.
    pub pinned_host: Option<String>,
    /// `--preferred-host`.
    pub preferred_host: Option<String>,
    /// Disk bus of the disks vm-mgr wrote into the XML.
    pub disk_bus: String,
    /// Number of additional disks.
    pub additional_disks: usize,
    /// Whether the `ocf:vmmgr:rbd` disk guard is part of the group.
    pub disk_guard: bool,
    /// Libvirt URI given to VirtualDomain.
    pub hypervisor: String,
    /// Extra VirtualDomain parameters.
    pub pacemaker_params: BTreeMap<String, String>,
    /// Extra meta attributes (on the group).
    pub pacemaker_meta: BTreeMap<String, String>,
    /// Utilization (on the domain primitive).
    pub pacemaker_utilization: BTreeMap<String, String>,
    /// The guest node the VM is (`add-pacemaker-remote`), if any.
    pub guest_node: Option<crate::guest_node::GuestNode>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            live_migration: false,
            migration_user: None,
            migration_transport: None,
            migrate_to_timeout: 120,
            stop_timeout: 30,
            start_timeout: 120,
            migration_downtime: 0,
            priority: 0,
            pinned_host: None,
            preferred_host: None,
            disk_bus: "virtio".into(),
            additional_disks: 0,
            disk_guard: true,
            hypervisor: "qemu:///system".into(),
            pacemaker_params: BTreeMap::new(),
            pacemaker_meta: BTreeMap::new(),
            pacemaker_utilization: BTreeMap::new(),
            guest_node: None,
        }
    }
}

impl Settings {
    /// The JSON kept in metadata.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the JSON kept in metadata.
    pub fn from_json(name: &str, json: &str) -> Result<Settings> {
        serde_json::from_str(json).map_err(|e| Error::Stored {
            name: name.to_owned(),
            what: "settings",
            detail: e.to_string(),
        })
    }
}

/// Whether a metadata key is vm-mgr's (hidden from `list-metadata` unless `--all`, and not
/// settable with `set-metadata`).
pub fn is_internal_key(key: &str) -> bool {
    key.starts_with('_') || key == META_XML || key == META_VM_NAME
}

/// Checks a user metadata key: letters, digits, `-`, `_`, `.`, not internal.
pub fn validate_user_key(key: &str) -> Result<()> {
    let ok = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && key.len() <= 128
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(Error::invalid(format!(
            "Invalid metadata key {key:?}: use letters, digits, '-', '_' and '.', starting with \
             a letter or digit."
        )));
    }
    if is_internal_key(key) {
        return Err(Error::invalid(format!(
            "Metadata key {key:?} is reserved for vm-mgr."
        )));
    }
    Ok(())
}

/// Checks a migration user (`--migration-user`): `^[a-z][-a-z0-9]*$`.
pub fn validate_migration_user(u: &str) -> Result<()> {
    let ok = u.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && u.len() <= 32
        && u.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Invalid migration user {u:?}: it must match ^[a-z][-a-z0-9]*$."
        )))
    }
}

/// Meta attributes vm-mgr sets on a VM's group itself: `target-role` (start, stop, enable,
/// `--nostart`, `--disable`) and `priority` (`--priority`).
pub const OWN_GROUP_META: [&str; 2] = ["target-role", "priority"];

/// Refuses `--pacemaker-meta` keys that vm-mgr sets itself ([`OWN_GROUP_META`]): a second
/// nvpair of the same name would have the same id, and Pacemaker refuses the whole CIB. Refused
/// rather than merged, so that there is one way to set each (`--priority`, start/stop).
pub fn refuse_own_meta(meta: &BTreeMap<String, String>) -> Result<()> {
    match meta.keys().find(|k| OWN_GROUP_META.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(Error::invalid(format!(
            "--pacemaker-meta {k}=...: vm-mgr sets {k} itself ({}); it cannot be given here.",
            if k == "priority" {
                "use --priority"
            } else {
                "use start, stop, --nostart or --disable"
            }
        ))),
    }
}

/// Parses `KEY=VALUE` arguments into a map (later keys win).
pub fn parse_pairs(what: &str, pairs: &[String]) -> Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for pair in pairs {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            Error::invalid(format!("{what} {pair:?} is not of the form KEY=VALUE."))
        })?;
        let k = k.trim();
        let k_ok = !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !k_ok {
            return Err(Error::invalid(format!(
                "{what} {pair:?} has an invalid key (letters, digits, '-', '_', '.')."
            )));
        }
        map.insert(k.to_owned(), v.to_owned());
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rules() {
        for ok in ["a", "guest0", "Web-01_b", &"a".repeat(64)] {
            validate_name(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "",
            "0abc",
            "-a",
            "a;rm -rf /",
            "a b",
            "a.b",
            "a/b",
            "ü",
            "a\n",
            "$(id)",
            "vmmgr-x",
            "xml",
            &"a".repeat(65),
        ] {
            let e = validate_name(bad).unwrap_err();
            assert!(e.to_string().starts_with("Invalid VM name"), "{bad}: {e}");
            assert_eq!(e.exit_code(), 2);
        }
    }

    #[test]
    fn ids_do_not_collide_and_are_not_cli() {
        let ids = VmIds::new("g1");
        let all = [
            ids.group(),
            ids.domain(),
            ids.guard(),
            ids.ban(),
            ids.pin(),
            ids.pin_home(),
            ids.prefer(),
        ];
        assert_eq!(all[0], "g1");
        assert!(all[1..].iter().all(|i| i.starts_with("vmmgr-")));
        assert_eq!(ids.system_image(), "system_g1");
        assert_eq!(ids.data_image(1), "data_g1_1");
    }

    #[test]
    fn settings_round_trip_and_tolerate_missing_fields() {
        let s = Settings {
            pinned_host: Some("sim1".into()),
            ..Settings::default()
        };
        assert_eq!(Settings::from_json("a", &s.to_json()).unwrap(), s);
        let old = Settings::from_json("a", r#"{"priority": 3}"#).unwrap();
        assert_eq!(old.priority, 3);
        assert_eq!(old.stop_timeout, 30);
        assert!(Settings::from_json("a", "nope").is_err());
    }

    #[test]
    fn pairs_and_keys() {
        let m = parse_pairs("--metadata", &["a=1".into(), "b=x=y".into()]).unwrap();
        assert_eq!(m["b"], "x=y");
        assert!(parse_pairs("--metadata", &["novalue".into()]).is_err());
        assert!(parse_pairs("--metadata", &["a b=1".into()]).is_err());
        validate_user_key("owner").unwrap();
        assert!(validate_user_key("xml").is_err());
        assert!(validate_user_key("_vmmgr_settings").is_err());
        assert!(validate_user_key("a;b").is_err());
        assert!(validate_node_name("sim1").is_ok());
        assert!(validate_node_name("sim1;reboot").is_err());
    }
}
