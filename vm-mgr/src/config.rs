//! The optional configuration file (`/etc/vm-mgr/vm-mgr.conf`, or `--config FILE`), so that
//! day-to-day commands need only the VM name. `KEY = VALUE` lines; `#` starts a comment.
//!
//! | Key | Default | Meaning |
//! |---|---|---|
//! | `pool` | `rbd` | RBD pool |
//! | `ceph-conf` | Ceph's default | Ceph configuration file (also the agents': `cephconf`, `rbd_xml_cephconf`) |
//! | `ceph-id` | `libvirt` if its keyring is beside the Ceph configuration (a SEAPATH host), else `admin` | Ceph client id (also the agents': `user`, `rbd_xml_user`) |
//! | `secret-uuid` | looked up in libvirt by usage `client.ID secret` | libvirt secret of the cephx key |
//! | `mon-hosts` | from `ceph mon dump` | `HOST[:PORT]` list (comma-separated) for the disks |
//! | `disk-guard` | `yes` | put the `ocf:vmmgr:rbd` guard in each VM's group |
//! | `hypervisor` | `qemu:///system` | libvirt URI given to VirtualDomain |
//! | `migration-transport` | (VirtualDomain's default) | `migration_transport` parameter |
//! | `storage` | `rbd` | where VMs live: `rbd` (Ceph RBD) or `dir` (a directory every node sees) |
//! | `dir` | (none; needed by `storage = dir`) | that directory, an absolute path the same on every node |
//! | `storage-resource` | (none) | the clone mounting `dir` on each node: dir VMs are ordered after it and colocated with it |
//! | `trash-days` | `7` | how long `remove` keeps a VM's images in the RBD trash (1-3650 days; `restore` brings them back) |

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::vm::Backend;

/// The Ceph client id when neither `--ceph-id` nor `ceph-id` names one, as SEAPATH's
/// vm_manager picks it: `libvirt` when `ceph.client.libvirt.keyring` is in the directory of
/// the Ceph configuration (`/etc/ceph` by default), else `admin`.
pub fn default_ceph_id(ceph_conf: Option<&Path>) -> &'static str {
    let dir = ceph_conf
        .and_then(Path::parent)
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("/etc/ceph"));
    if dir.join("ceph.client.libvirt.keyring").is_file() {
        "libvirt"
    } else {
        "admin"
    }
}

/// The default configuration file.
pub const DEFAULT_PATH: &str = "/etc/vm-mgr/vm-mgr.conf";

/// Settings from the configuration file (command-line flags override them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub pool: String,
    pub ceph_conf: Option<PathBuf>,
    pub ceph_id: String,
    /// Whether the file named `ceph-id` (else [`default_ceph_id`] picks it).
    pub ceph_id_set: bool,
    pub secret_uuid: Option<String>,
    pub mon_hosts: Option<String>,
    pub disk_guard: bool,
    pub hypervisor: String,
    pub migration_transport: Option<String>,
    pub storage: Backend,
    pub dir: Option<PathBuf>,
    pub storage_resource: Option<String>,
    pub trash_days: u32,
}

/// The default of `trash-days`.
pub const DEFAULT_TRASH_DAYS: u32 = 7;
/// The largest `trash-days` (ten years).
pub const MAX_TRASH_DAYS: u32 = 3650;

impl Default for Config {
    fn default() -> Config {
        Config {
            pool: "rbd".into(),
            ceph_conf: None,
            ceph_id: "admin".into(),
            ceph_id_set: false,
            secret_uuid: None,
            mon_hosts: None,
            disk_guard: true,
            hypervisor: "qemu:///system".into(),
            migration_transport: None,
            storage: Backend::Rbd,
            dir: None,
            storage_resource: None,
            trash_days: DEFAULT_TRASH_DAYS,
        }
    }
}

impl Config {
    /// Reads `path`, or the default file if it exists (else the defaults).
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_PATH), false),
        };
        match shared::fsread::read_text(&path, shared::fsread::CONFIG_CAP) {
            Ok(text) => Config::parse(&text, &path),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Config::default())
            }
            Err(source) => Err(Error::ReadFile { path, source }),
        }
    }

    /// Parses the text of a configuration file (`path` is for messages).
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let mut c = Config::default();
        for (i, raw) in text.lines().enumerate() {
            let bad = |detail: String| Error::Config {
                path: path.to_owned(),
                line: i + 1,
                detail,
            };
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| bad("expected KEY = VALUE".into()))?;
            let (k, v) = (k.trim(), v.trim().to_owned());
            match k {
                "pool" => c.pool = v,
                "ceph-conf" => c.ceph_conf = Some(PathBuf::from(v)),
                "ceph-id" => {
                    c.ceph_id = v;
                    c.ceph_id_set = true;
                }
                "secret-uuid" => c.secret_uuid = Some(v),
                "mon-hosts" => c.mon_hosts = Some(v),
                "hypervisor" => c.hypervisor = v,
                "migration-transport" => c.migration_transport = Some(v),
                "storage" => c.storage = parse_backend(&v).map_err(bad)?,
                "dir" => c.dir = Some(PathBuf::from(v)),
                "storage-resource" => {
                    validate_resource_id(&v).map_err(bad)?;
                    c.storage_resource = Some(v)
                }
                "trash-days" => c.trash_days = parse_trash_days(&v).map_err(bad)?,
                "disk-guard" => {
                    c.disk_guard = match v.to_ascii_lowercase().as_str() {
                        "yes" | "true" | "1" | "on" => true,
                        "no" | "false" | "0" | "off" => false,
                        _ => return Err(bad(format!("disk-guard must be yes or no, not {v:?}"))),
                    }
                }
                other => return Err(bad(format!("unknown key {other:?}"))),
            }
        }
        Ok(c)
    }
}

/// `trash-days`: a whole number of days, 1 to [`MAX_TRASH_DAYS`].
pub fn parse_trash_days(v: &str) -> std::result::Result<u32, String> {
    match v.parse::<u32>() {
        Ok(d) if (1..=MAX_TRASH_DAYS).contains(&d) => Ok(d),
        _ => Err(format!(
            "trash-days must be a whole number of days from 1 to {MAX_TRASH_DAYS}, not {v:?} \
             (remove --purge deletes at once)"
        )),
    }
}

/// `rbd` or `dir`.
pub fn parse_backend(v: &str) -> std::result::Result<Backend, String> {
    match v {
        "rbd" => Ok(Backend::Rbd),
        "dir" => Ok(Backend::Dir),
        _ => Err(format!("storage must be rbd or dir, not {v:?}")),
    }
}

/// A Pacemaker resource id as `storage-resource`: letters, digits, `-`, `_`, `.`, `:`, a letter
/// or `_` first, at most 255 characters.
pub fn validate_resource_id(v: &str) -> std::result::Result<(), String> {
    let ok = v.len() <= 255
        && v.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(format!("storage-resource {v:?} is not a resource id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_comments_and_rejects_unknown() {
        let c = Config::parse(
            "# vm-mgr\npool = vms\nceph-id=libvirt # the client\n\ndisk-guard = no\n\
             mon-hosts = 10.0.0.1:6789,10.0.0.2\nsecret-uuid = abc\n",
            Path::new("x.conf"),
        )
        .unwrap();
        assert_eq!(c.pool, "vms");
        assert_eq!(c.ceph_id, "libvirt");
        assert!(!c.disk_guard);
        assert_eq!(c.mon_hosts.as_deref(), Some("10.0.0.1:6789,10.0.0.2"));
        let e = Config::parse("pool = a\nfoo = 1\n", Path::new("x.conf")).unwrap_err();
        assert_eq!(e.to_string(), "x.conf:2: unknown key \"foo\".");
        assert!(Config::parse("disk-guard = maybe", Path::new("x")).is_err());
        assert!(Config::parse("novalue", Path::new("x")).is_err());
        assert!(Config::load(Some(Path::new("/nonexistent/vm-mgr.conf"))).is_err());
    }

    #[test]
    fn storage_keys() {
        let c = Config::parse("", Path::new("x")).unwrap();
        assert_eq!(
            (c.storage, c.dir, c.storage_resource),
            (Backend::Rbd, None, None)
        );
        let c = Config::parse(
            "storage = dir\ndir = /srv/vms\nstorage-resource = vmstore-clone\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(c.storage, Backend::Dir);
        assert_eq!(c.dir.as_deref(), Some(Path::new("/srv/vms")));
        assert_eq!(c.storage_resource.as_deref(), Some("vmstore-clone"));
        let e = Config::parse("storage = nfs", Path::new("x.conf")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.conf:1: storage must be rbd or dir, not \"nfs\"."
        );
        assert!(Config::parse("storage-resource = a b", Path::new("x")).is_err());
        assert!(Config::parse("storage-resource = 1a", Path::new("x")).is_err());
        assert!(Config::parse("storage-resource = a\"/>", Path::new("x")).is_err());
    }

    #[test]
    fn the_ceph_id_is_libvirt_where_its_keyring_is_beside_the_ceph_conf() {
        let dir = std::env::temp_dir().join(format!("vmmgr-cephid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("ceph.conf");
        assert_eq!(default_ceph_id(Some(&conf)), "admin");
        std::fs::write(
            dir.join("ceph.client.libvirt.keyring"),
            "[client.libvirt]\n",
        )
        .unwrap();
        assert_eq!(default_ceph_id(Some(&conf)), "libvirt");
        std::fs::remove_dir_all(&dir).unwrap();
        // A ceph-id in the file wins, and says so.
        let c = Config::parse("ceph-id = admin\n", Path::new("c")).unwrap();
        assert!(c.ceph_id_set && c.ceph_id == "admin");
        assert!(!Config::default().ceph_id_set);
    }

    #[test]
    fn trash_days() {
        assert_eq!(Config::parse("", Path::new("x")).unwrap().trash_days, 7);
        let c = Config::parse("trash-days = 30", Path::new("x")).unwrap();
        assert_eq!(c.trash_days, 30);
        for bad in ["0", "-1", "3651", "7d", ""] {
            let e = Config::parse(&format!("trash-days = {bad}"), Path::new("x.conf"));
            assert!(e.unwrap_err().to_string().contains("trash-days"), "{bad}");
        }
        assert_eq!(
            Config::parse("trash-days = 3650", Path::new("x"))
                .unwrap()
                .trash_days,
            3650
        );
    }
}
