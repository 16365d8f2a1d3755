//! The agent's parameters: the drop-in set of `ocf:ceph:rbd` plus `mode`, `device_type`,
//! `map_options`, `group`, `keyring` and `blocklist_expire`, and their parsing into a
//! [`Config`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use shared::ceph::{Conn, DeviceType, GroupSpec, ImageSpec};
use shared::ocf::{OcfError, ParamSpec, Params};

/// Default `cephconf` (the stock agent's default is an unsubstituted `/etc//.conf` on Debian).
pub const DEFAULT_CEPHCONF: &str = "/etc/ceph/ceph.conf";

/// Parameter declarations; they drive both the meta-data and the reading.
pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::string("name")
        .shortdesc("RBD image name")
        .longdesc(
            "Name of the RBD image. Required in map mode; in guard mode, either name or group.",
        ),
    ParamSpec::string("pool")
        .default("rbd")
        .shortdesc("RADOS pool name")
        .longdesc("Name of the RADOS pool of the image (and of the group)."),
    ParamSpec::string("pool_namespace")
        .shortdesc("RADOS pool namespace name")
        .longdesc("Name of the RADOS namespace of the image inside the pool; empty for none."),
    ParamSpec::string("snap")
        .shortdesc("Snapshot name")
        .longdesc("Map this snapshot of the image, read-only (map mode only)."),
    ParamSpec::string("cephconf")
        .default(DEFAULT_CEPHCONF)
        .shortdesc("Ceph configuration file")
        .longdesc("Location of the Ceph configuration file (rbd -c)."),
    ParamSpec::string("mon")
        .shortdesc("Monitor address(es)")
        .longdesc(
            "Address (or comma-separated list of addresses) of monitor servers to connect \
             to. Overrides values from the configuration file (rbd -m).",
        ),
    ParamSpec::string("user")
        .shortdesc("Authentication username")
        .longdesc("Ceph (cephx) user name without the 'client.' prefix (rbd --id)."),
    ParamSpec::string("secret")
        .shortdesc("Authentication secret file")
        .longdesc(
            "File containing the user's base64 secret key (rbd --keyfile). The key is never \
             passed on a command line.",
        ),
    ParamSpec::string("keyring")
        .shortdesc("Keyring file")
        .longdesc("Keyring file holding the user's key (rbd --keyring), instead of secret."),
    ParamSpec::select("mode", &["map", "guard"])
        .default("map")
        .shortdesc("map or guard")
        .longdesc(
            "map: map the image as a block device (the behaviour of ocf:ceph:rbd). guard: do \
             not map anything, guard the image(s) of a VM used through librbd: start takes \
             a lock tagged with the node name after checking that no live client elsewhere \
             uses the image, breaking the lock of (and blocklisting the clients of) a node \
             that is no longer in the cluster; monitor checks the lock is still ours; stop \
             releases it; migrate_to/migrate_from hand it from the migration's source to \
             its target.",
        ),
    ParamSpec::select("device_type", &["krbd", "nbd"])
        .default("krbd")
        .shortdesc("Block device driver")
        .longdesc("Driver used to map the image in map mode (rbd device map --device-type)."),
    ParamSpec::string("map_options")
        .shortdesc("Map options")
        .longdesc("Options for rbd device map -o (for example exclusive,noshare)."),
    ParamSpec::string("group")
        .shortdesc("RBD group (guard mode)")
        .longdesc(
            "Guard every image of this RBD group (in pool/pool_namespace) instead of one \
             image: the disks of one VM.",
        ),
    ParamSpec::integer("blocklist_expire")
        .default("3600")
        .shortdesc("Blocklist duration (s)")
        .longdesc(
            "Seconds for which the Ceph client instances of a node that left the cluster are \
             blocklisted when guard mode takes its images over.",
        ),
];

/// What the agent does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Map the image as a block device.
    Map,
    /// Guard the image(s) with a lock.
    Guard,
}

/// The image(s) concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One image (possibly with a snapshot in map mode).
    Image(ImageSpec),
    /// Every image of a group (guard mode).
    Group(GroupSpec),
}

/// The parsed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// map or guard.
    pub mode: Mode,
    /// The image or group.
    pub target: Target,
    /// How to reach Ceph.
    pub conn: Conn,
    /// Device driver for map mode.
    pub device_type: DeviceType,
    /// `-o` options for map mode.
    pub map_options: Option<String>,
    /// How long to blocklist a departed node's clients.
    pub blocklist_expire: Duration,
}

fn configured(e: impl std::fmt::Display) -> OcfError {
    OcfError::configured(e.to_string())
}

fn abs_path(name: &str, value: Option<&str>) -> Result<Option<PathBuf>, OcfError> {
    match value {
        None => Ok(None),
        Some(v) if Path::new(v).is_absolute() => Ok(Some(PathBuf::from(v))),
        Some(v) => Err(OcfError::configured(format!(
            "parameter '{name}' must be an absolute path, got '{v}'"
        ))),
    }
}

/// Parses and checks the parameters' syntax (no I/O): errors are `OCF_ERR_CONFIGURED`.
pub fn parse(p: &Params) -> Result<Config, OcfError> {
    p.validate_syntax()?;
    let mode = match p.select("mode")? {
        Some("guard") => Mode::Guard,
        _ => Mode::Map,
    };
    let device_type = match p.select("device_type")? {
        Some("nbd") => DeviceType::Nbd,
        _ => DeviceType::Krbd,
    };
    let pool = p.required_str("pool")?;
    let ns = p.str("pool_namespace").unwrap_or("");
    let snap = p.str("snap").unwrap_or("");
    let target = target(p, mode, pool, ns, snap)?;
    if mode == Mode::Guard && p.is_set("map_options") {
        return Err(OcfError::configured(
            "parameter 'map_options' is only for mode=map",
        ));
    }
    let user = p.str("user");
    if let Some(u) = user {
        shared::ceph::validate_name("user", u).map_err(configured)?;
    }
    let mon = list_param(p, "mon", "a list of monitor addresses")?;
    let map_options = list_param(p, "map_options", "a comma-separated option list")?;
    let expire = p.int("blocklist_expire")?.unwrap_or(3600);
    if expire < 1 {
        return Err(OcfError::configured(
            "parameter 'blocklist_expire' must be at least 1 (seconds)",
        ));
    }
    Ok(Config {
        mode,
        target,
        conn: Conn {
            conf: abs_path("cephconf", p.str("cephconf"))?,
            mon,
            user: user.map(str::to_string),
            keyfile: abs_path("secret", p.str("secret"))?,
            keyring: abs_path("keyring", p.str("keyring"))?,
        },
        device_type,
        map_options,
        blocklist_expire: Duration::from_secs(expire.unsigned_abs()),
    })
}

/// What the resource works on: one image, or (mode=guard) an image or an RBD group.
fn target(p: &Params, mode: Mode, pool: &str, ns: &str, snap: &str) -> Result<Target, OcfError> {
    Ok(match (mode, p.str("name"), p.str("group")) {
        (Mode::Map, None, _) => {
            return Err(OcfError::configured("parameter 'name' is required"));
        }
        (Mode::Map, Some(_), Some(_)) => {
            return Err(OcfError::configured(
                "parameter 'group' is only for mode=guard",
            ));
        }
        (Mode::Map, Some(name), None) => {
            Target::Image(ImageSpec::new(pool, ns, name, snap).map_err(configured)?)
        }
        (Mode::Guard, _, _) if !snap.is_empty() => {
            return Err(OcfError::configured(
                "parameter 'snap' is only for mode=map (a snapshot is read-only, there is \
                 nothing to guard)",
            ));
        }
        (Mode::Guard, Some(name), None) => {
            Target::Image(ImageSpec::new(pool, ns, name, "").map_err(configured)?)
        }
        (Mode::Guard, None, Some(group)) => {
            Target::Group(GroupSpec::new(pool, ns, group).map_err(configured)?)
        }
        (Mode::Guard, Some(_), Some(_)) => {
            return Err(OcfError::configured(
                "set either 'name' or 'group' in mode=guard, not both",
            ));
        }
        (Mode::Guard, None, None) => {
            return Err(OcfError::configured(
                "mode=guard needs parameter 'name' (one image) or 'group' (an RBD group)",
            ));
        }
    })
}

/// A list parameter passed to a tool as one argument: no leading '-', no whitespace.
fn list_param(p: &Params, name: &str, what: &str) -> Result<Option<String>, OcfError> {
    match p.str(name) {
        Some(v) if v.starts_with('-') || v.chars().any(char::is_whitespace) => Err(
            OcfError::configured(format!("parameter '{name}' must be {what}, got '{v}'")),
        ),
        v => Ok(v.map(str::to_string)),
    }
}

/// Checks what this node must have: the configuration and key files (`OCF_ERR_INSTALLED`).
pub fn check_local(cfg: &Config) -> Result<(), OcfError> {
    let files = [
        ("cephconf", &cfg.conn.conf),
        ("secret", &cfg.conn.keyfile),
        ("keyring", &cfg.conn.keyring),
    ];
    for (name, path) in files {
        if let Some(path) = path {
            if !path.is_file() {
                return Err(OcfError::installed(format!(
                    "{name} file {} does not exist on this node",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::ocf::OcfEnv;

    fn params(vars: &[(&str, &str)]) -> Params {
        let env = OcfEnv::from_vars(
            vars.iter()
                .map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())),
        );
        Params::new(PARAMS, &env)
    }

    #[test]
    fn map_mode_defaults() {
        let c = parse(&params(&[("name", "vm1")])).unwrap();
        assert_eq!(c.mode, Mode::Map);
        assert_eq!(
            c.target,
            Target::Image(ImageSpec::new("rbd", "", "vm1", "").unwrap())
        );
        assert_eq!(c.conn.conf.as_deref(), Some(Path::new(DEFAULT_CEPHCONF)));
        assert_eq!(c.device_type, DeviceType::Krbd);
        assert_eq!(c.blocklist_expire, Duration::from_secs(3600));
    }

    #[test]
    fn stock_style_configuration() {
        let c = parse(&params(&[
            ("name", "data"),
            ("pool", "p1"),
            ("pool_namespace", "ns"),
            ("snap", "s1"),
            ("cephconf", "/etc/ceph/c.conf"),
            ("mon", "10.0.0.1:6789,10.0.0.2"),
            ("user", "admin"),
            ("secret", "/etc/ceph/admin.secret"),
            ("device_type", "nbd"),
            ("map_options", "exclusive,noshare"),
        ]))
        .unwrap();
        assert_eq!(
            c.target.to_owned(),
            Target::Image(ImageSpec::new("p1", "ns", "data", "s1").unwrap())
        );
        assert_eq!(
            c.conn.keyfile.as_deref(),
            Some(Path::new("/etc/ceph/admin.secret"))
        );
        assert_eq!(c.device_type, DeviceType::Nbd);
        assert_eq!(c.map_options.as_deref(), Some("exclusive,noshare"));
    }

    #[test]
    fn guard_mode_targets() {
        let c = parse(&params(&[("mode", "guard"), ("name", "vm1")])).unwrap();
        assert!(matches!(c.target, Target::Image(_)));
        let c = parse(&params(&[("mode", "guard"), ("group", "vm1-disks")])).unwrap();
        assert_eq!(
            c.target,
            Target::Group(GroupSpec::new("rbd", "", "vm1-disks").unwrap())
        );
    }

    #[test]
    fn configuration_errors_are_6() {
        let bad: &[&[(&str, &str)]] = &[
            &[],
            &[("mode", "guard")],
            &[("mode", "guard"), ("name", "a"), ("group", "g")],
            &[("mode", "guard"), ("name", "a"), ("snap", "s")],
            &[("mode", "guard"), ("name", "a"), ("map_options", "x")],
            &[("name", "a"), ("group", "g")],
            &[("name", "a/b")],
            &[("name", "-a")],
            &[("name", "a"), ("pool", "p q")],
            &[("name", "a"), ("mode", "other")],
            &[("name", "a"), ("device_type", "ggate")],
            &[("name", "a"), ("secret", "relative/key")],
            &[("name", "a"), ("user", "--x")],
            &[("name", "a"), ("mon", "-x")],
            &[("name", "a"), ("map_options", "a b")],
            &[("name", "a"), ("blocklist_expire", "0")],
        ];
        for vars in bad {
            let e = parse(&params(vars)).unwrap_err();
            assert_eq!(e.rc, shared::ocf::OcfRc::ErrConfigured, "{vars:?}: {e}");
            assert!(!e.reason.is_empty());
        }
    }

    #[test]
    fn missing_files_are_5() {
        let c = parse(&params(&[
            ("name", "a"),
            ("cephconf", "/nonexistent/ceph.conf"),
        ]))
        .unwrap();
        assert_eq!(
            check_local(&c).unwrap_err().rc,
            shared::ocf::OcfRc::ErrInstalled
        );
    }
}
