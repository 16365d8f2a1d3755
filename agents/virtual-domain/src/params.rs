//! The parameters: the 27 of `ocf:heartbeat:VirtualDomain` (same names, types, defaults and
//! meaning) plus `rbd_xml_source`, `rbd_xml_key`, `rbd_xml_user` and `rbd_xml_cephconf`,
//! declared once ([`PARAMS`], in `params/table.rs`) for both the meta-data and the typed
//! reading ([`Settings::from_params`]).

use std::path::PathBuf;

use shared::ceph::Conn;
use shared::libvirt::ShutdownMode;
use shared::ocf::{OcfError, Params};

use crate::migrate_options::{self, MigrateOptions};

mod table;

pub use table::PARAMS;

/// What to do with one utilization attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UtilPolicy {
    /// Keep it equal to the domain's value.
    Set,
    /// Delete it.
    Unset,
    /// Leave it alone.
    Leave,
}

/// The RBD image holding the domain XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbdSource {
    /// `POOL/IMAGE` or `POOL/NAMESPACE/IMAGE`, as given to `rbd`.
    pub spec: String,
    /// The metadata key.
    pub key: String,
    /// How `rbd` reaches the cluster: `rbd_xml_cephconf` (`-c`) and `rbd_xml_user` (`--id`);
    /// unset parts are Ceph's defaults.
    pub conn: Conn,
}

/// The parameters, typed and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: PathBuf,
    pub hypervisor: Option<String>,
    pub force_stop: bool,
    pub migration_transport: Option<String>,
    /// Only a user matching the heartbeat regex; others are dropped (with a warning).
    pub migration_user: Option<String>,
    pub migration_downtime_ms: u64,
    pub migration_speed_mib: u64,
    pub migration_network_suffix: Option<String>,
    pub migrateuri: Option<String>,
    pub migrate_options: MigrateOptions,
    pub monitor_scripts: Vec<String>,
    /// cpu, host_memory, hv_memory.
    pub utilization: [(&'static str, UtilPolicy); 3],
    pub migrateport: Option<u16>,
    pub remoteuri: Option<String>,
    pub save_config_on_stop: bool,
    pub sync_config_on_stop: bool,
    pub snapshot: Option<PathBuf>,
    pub backingfile: Option<PathBuf>,
    pub stateless: bool,
    pub copyindirs: Vec<String>,
    pub shutdown_modes: Vec<ShutdownMode>,
    pub start_resources: bool,
    pub rbd: Option<RbdSource>,
    /// Warnings to log (ignored values).
    pub warnings: Vec<String>,
}

fn opt(p: &Params, name: &str) -> Option<String> {
    p.str(name)
        .map(str::to_owned)
        .filter(|s| !s.trim().is_empty())
}

fn non_negative(p: &Params, name: &str) -> Result<u64, OcfError> {
    match p.int(name)? {
        None => Ok(0),
        Some(v) => u64::try_from(v).map_err(|_| {
            OcfError::configured(format!("parameter '{name}' must not be negative, got {v}"))
        }),
    }
}

/// Returns true for a user name the heartbeat agent accepts (`^[a-z][-a-z0-9]*$`).
pub fn valid_user(user: &str) -> bool {
    let mut chars = user.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Returns true for host-name-like text: letters, digits, `.`, `-`, `_`.
pub fn valid_host_part(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
}

/// Parses `shutdown_mode` (comma-separated virsh mode names).
pub fn parse_shutdown_modes(value: &str) -> Result<Vec<ShutdownMode>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| {
            ShutdownMode::parse(m).ok_or_else(|| {
                format!(
                    "parameter 'shutdown_mode' has unknown mode '{m}' (use acpi, agent, initctl, \
                     signal or paravirt, comma-separated)"
                )
            })
        })
        .collect()
}

/// Parses `rbd_xml_source`: `POOL/IMAGE` or `POOL/NAMESPACE/IMAGE`, each part made of letters,
/// digits, `.`, `_`, `-`.
pub fn parse_rbd_source(value: &str) -> Result<String, String> {
    let parts: Vec<&str> = value.split('/').collect();
    let ok_part = |s: &str| {
        !s.is_empty()
            && !s.starts_with('-')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    if (parts.len() == 2 || parts.len() == 3) && parts.iter().all(|p| ok_part(p)) {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "parameter 'rbd_xml_source' must be POOL/IMAGE or POOL/NAMESPACE/IMAGE (letters, \
             digits, '.', '_', '-'), got '{value}'"
        ))
    }
}

/// Reads `rbd_xml_source` and the parameters that go with it; `None` when it is unset.
pub fn parse_rbd(p: &Params) -> Result<Option<RbdSource>, OcfError> {
    let Some(source) = opt(p, "rbd_xml_source") else {
        return Ok(None);
    };
    let spec = parse_rbd_source(source.trim()).map_err(OcfError::configured)?;
    let user = opt(p, "rbd_xml_user");
    if let Some(u) = &user {
        shared::ceph::validate_name("rbd_xml_user", u)
            .map_err(|e| OcfError::configured(e.to_string()))?;
    }
    let conf = opt(p, "rbd_xml_cephconf").map(PathBuf::from);
    if let Some(c) = &conf {
        if !c.is_absolute() {
            return Err(OcfError::configured(format!(
                "parameter 'rbd_xml_cephconf' must be an absolute path, got '{}'",
                c.display()
            )));
        }
    }
    Ok(Some(RbdSource {
        spec,
        key: p.str("rbd_xml_key").unwrap_or("xml").to_owned(),
        conn: Conn {
            conf,
            user,
            ..Conn::default()
        },
    }))
}

/// `OCF_ERR_INSTALLED` when `rbd_xml_cephconf` names a file this node does not have.
pub fn check_rbd_local(rbd: &RbdSource) -> Result<(), OcfError> {
    match rbd.conn.conf.as_deref() {
        Some(c) if !c.is_file() => Err(OcfError::installed(format!(
            "rbd_xml_cephconf file {} does not exist on this node",
            c.display()
        ))),
        _ => Ok(()),
    }
}

impl Settings {
    /// The settings a stop falls back to when the parameters do not validate: only `config`
    /// and `hypervisor` are taken (as given), everything else at its default, so that a broken
    /// parameter elsewhere does not turn a stop into fencing. `None` without a `config`.
    pub fn minimal(p: &Params) -> Option<Settings> {
        let config = PathBuf::from(p.str("config")?);
        Some(Settings {
            config,
            hypervisor: opt(p, "hypervisor"),
            force_stop: false,
            migration_transport: None,
            migration_user: None,
            migration_downtime_ms: 0,
            migration_speed_mib: 0,
            migration_network_suffix: None,
            migrateuri: None,
            migrate_options: MigrateOptions::default(),
            monitor_scripts: Vec::new(),
            utilization: [
                ("cpu", UtilPolicy::Leave),
                ("host_memory", UtilPolicy::Leave),
                ("hv_memory", UtilPolicy::Leave),
            ],
            migrateport: None,
            remoteuri: None,
            save_config_on_stop: false,
            sync_config_on_stop: false,
            snapshot: None,
            backingfile: None,
            stateless: false,
            copyindirs: Vec::new(),
            shutdown_modes: Vec::new(),
            start_resources: false,
            rbd: None,
            warnings: Vec::new(),
        })
    }

    /// Reads and checks every parameter; all problems are `OCF_ERR_CONFIGURED`.
    pub fn from_params(p: &Params) -> Result<Settings, OcfError> {
        p.validate_syntax()?;
        let mut warnings = Vec::new();
        let config = absolute(p.required_str("config")?, "config")?;
        let migration_user = migration_user(p, &mut warnings);
        let force_stop = p.bool("force_stop")?;
        let (snapshot, backingfile, stateless) = saved_state(p, force_stop)?;
        let sync_config_on_stop = p.bool("sync_config_on_stop")?;
        let words = |name: &str| -> Vec<String> {
            p.str(name)
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        };
        Ok(Settings {
            hypervisor: opt(p, "hypervisor"),
            force_stop,
            migration_transport: migration_transport(p)?,
            migration_user,
            migration_downtime_ms: non_negative(p, "migration_downtime")?,
            migration_speed_mib: non_negative(p, "migration_speed")?,
            migration_network_suffix: migration_network_suffix(p)?,
            migrateuri: opt(p, "migrateuri"),
            migrate_options: migrate_options::parse(p.str("migrate_options").unwrap_or(""))
                .map_err(OcfError::configured)?,
            monitor_scripts: words("monitor_scripts"),
            utilization: utilization(p)?,
            migrateport: migrateport(p)?,
            remoteuri: opt(p, "remoteuri"),
            save_config_on_stop: p.bool("save_config_on_stop")? || sync_config_on_stop,
            sync_config_on_stop,
            snapshot,
            backingfile,
            stateless,
            copyindirs: words("copyindirs"),
            shutdown_modes: parse_shutdown_modes(p.str("shutdown_mode").unwrap_or(""))
                .map_err(OcfError::configured)?,
            start_resources: p.bool("start_resources")?,
            rbd: parse_rbd(p)?,
            config,
            warnings,
        })
    }
}

/// Parameter `name`'s value as a path, which must be absolute.
fn absolute(value: &str, name: &str) -> Result<PathBuf, OcfError> {
    let path = PathBuf::from(value);
    if !path.is_absolute() {
        return Err(OcfError::configured(format!(
            "parameter '{name}' must be an absolute path, got '{}'",
            path.display()
        )));
    }
    Ok(path)
}

/// `migration_user`: a user name, else ignored with a warning (as the stock agent does).
fn migration_user(p: &Params, warnings: &mut Vec<String>) -> Option<String> {
    match opt(p, "migration_user") {
        Some(u) if valid_user(&u) => Some(u),
        Some(u) => {
            warnings.push(format!(
                "parameter 'migration_user' '{u}' does not match ^[a-z][-a-z0-9]*$ and is \
                 ignored"
            ));
            None
        }
        None => None,
    }
}

/// `migration_transport`: a libvirt transport name.
fn migration_transport(p: &Params) -> Result<Option<String>, OcfError> {
    let t = opt(p, "migration_transport");
    match &t {
        Some(t) if !t.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Err(OcfError::configured(format!(
                "parameter 'migration_transport' must be a libvirt transport such as tcp, \
                 ssh or tls, got '{t}'"
            )))
        }
        _ => Ok(t),
    }
}

/// `migration_network_suffix`: a part of a host name.
fn migration_network_suffix(p: &Params) -> Result<Option<String>, OcfError> {
    let s = opt(p, "migration_network_suffix");
    match &s {
        Some(s) if !valid_host_part(s) => Err(OcfError::configured(format!(
            "parameter 'migration_network_suffix' may only contain letters, digits, '.', '-' \
             and '_', got '{s}'"
        ))),
        _ => Ok(s),
    }
}

/// `migrateport`: a port number.
fn migrateport(p: &Params) -> Result<Option<u16>, OcfError> {
    match p.int("migrateport")? {
        None => Ok(None),
        Some(v) => Ok(Some(u16::try_from(v).ok().filter(|v| *v > 0).ok_or_else(
            || {
                OcfError::configured(format!(
                    "parameter 'migrateport' must be a port number (1-65535), got {v}"
                ))
            },
        )?)),
    }
}

/// `snapshot`, `backingfile` and `stateless`, with the combinations the stock agent refuses.
fn saved_state(
    p: &Params,
    force_stop: bool,
) -> Result<(Option<PathBuf>, Option<PathBuf>, bool), OcfError> {
    let snapshot = opt(p, "snapshot").map(PathBuf::from);
    if force_stop && snapshot.is_some() {
        return Err(OcfError::configured(
            "the 'force_stop' and 'snapshot' options can not be used together",
        ));
    }
    let backingfile = opt(p, "backingfile").map(PathBuf::from);
    let stateless = p.bool("stateless")?;
    if stateless && backingfile.is_none() {
        return Err(OcfError::configured(
            "stateless functionality can't be achieved without a backing file",
        ));
    }
    Ok((snapshot, backingfile, stateless))
}

/// The `autoset_utilization_*` / `unset_utilization_*` pairs.
fn utilization(p: &Params) -> Result<[(&'static str, UtilPolicy); 3], OcfError> {
    let util = |key: &str| -> Result<UtilPolicy, OcfError> {
        Ok(if p.bool(&format!("autoset_utilization_{key}"))? {
            UtilPolicy::Set
        } else if p.bool(&format!("unset_utilization_{key}"))? {
            UtilPolicy::Unset
        } else {
            UtilPolicy::Leave
        })
    };
    Ok([
        ("cpu", util("cpu")?),
        ("host_memory", util("host_memory")?),
        ("hv_memory", util("hv_memory")?),
    ])
}

#[cfg(test)]
mod tests;
