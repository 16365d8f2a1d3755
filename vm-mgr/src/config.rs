//! The optional configuration file (`/etc/vm-mgr/vm-mgr.conf`, or `--config FILE`), so that
//! day-to-day commands need only the VM name. `KEY = VALUE` lines; `#` starts a comment.
//!
//! | Key | Default | Meaning |
//! |---|---|---|
//! | `pool` | `rbd` | RBD pool |
//! | `ceph-conf` | Ceph's default | Ceph configuration file (also the agents': `cephconf`, `rbd_xml_cephconf`) |
//! | `ceph-id` | `admin` | Ceph client id (also the agents': `user`, `rbd_xml_user`) |
//! | `secret-uuid` | looked up in libvirt by usage `client.ID secret` | libvirt secret of the cephx key |
//! | `mon-hosts` | from `ceph mon dump` | `HOST[:PORT]` list (comma-separated) for the disks |
//! | `disk-guard` | `yes` | put the `ocf:vmmgr:rbd` guard in each VM's group |
//! | `hypervisor` | `qemu:///system` | libvirt URI given to VirtualDomain |
//! | `migration-transport` | (VirtualDomain's default) | `migration_transport` parameter |

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The default configuration file.
pub const DEFAULT_PATH: &str = "/etc/vm-mgr/vm-mgr.conf";

/// Settings from the configuration file (command-line flags override them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub pool: String,
    pub ceph_conf: Option<PathBuf>,
    pub ceph_id: String,
    pub secret_uuid: Option<String>,
    pub mon_hosts: Option<String>,
    pub disk_guard: bool,
    pub hypervisor: String,
    pub migration_transport: Option<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            pool: "rbd".into(),
            ceph_conf: None,
            ceph_id: "admin".into(),
            secret_uuid: None,
            mon_hosts: None,
            disk_guard: true,
            hypervisor: "qemu:///system".into(),
            migration_transport: None,
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
                "ceph-id" => c.ceph_id = v,
                "secret-uuid" => c.secret_uuid = Some(v),
                "mon-hosts" => c.mon_hosts = Some(v),
                "hypervisor" => c.hypervisor = v,
                "migration-transport" => c.migration_transport = Some(v),
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
}
