//! The parameters: the 27 of `ocf:heartbeat:VirtualDomain` (same names, types, defaults and
//! meaning) plus `rbd_xml_source`/`rbd_xml_key`, declared once ([`PARAMS`]) for both the
//! meta-data and the typed reading ([`Settings::from_params`]).

use std::path::PathBuf;

use shared::libvirt::ShutdownMode;
use shared::ocf::{OcfError, ParamSpec, Params};

use crate::migrate_options::{self, MigrateOptions};

/// Every parameter of the agent.
pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::string("config")
        .required()
        .unique_group("config")
        .shortdesc("Virtual domain configuration file")
        .longdesc(
            "Absolute path to the libvirt configuration file (domain XML) for this virtual \
             domain. The domain name is read from its <name>. The agent remembers the name of \
             each resource in its state directory (/run/resource-agents/vmmgr-VirtualDomain), so \
             a probe or stop still finds a running domain when this file is unreadable.",
        ),
    ParamSpec::string("hypervisor")
        .shortdesc("Hypervisor URI")
        .longdesc(
            "Hypervisor URI to connect to. See the libvirt documentation for details on \
             supported URI formats. When unset, libvirt's default URI is used (what \
             'virsh uri' prints: LIBVIRT_DEFAULT_URI, uri_default in libvirt.conf, or \
             qemu:///system for root); unlike the heartbeat agent, meta-data never runs virsh.",
        ),
    ParamSpec::boolean("force_stop")
        .default("0")
        .reloadable()
        .shortdesc("Always force shutdown on stop")
        .longdesc(
            "Always forcefully shut down (\"destroy\") the domain on stop. The default \
             behavior is to resort to a forceful shutdown only after a graceful shutdown \
             attempt has failed. You should only set this to true if your virtual domain (or \
             your virtualization backend) does not support graceful shutdown.",
        ),
    ParamSpec::string("migration_transport")
        .reloadable()
        .shortdesc("Remote hypervisor transport")
        .longdesc(
            "Transport used to connect to the remote hypervisor while migrating (the 'tcp' of \
             qemu+tcp://node/system). If omitted, libvirt's default transport is used. It \
             replaces a transport already present in the hypervisor URI.",
        ),
    ParamSpec::string("migration_user")
        .reloadable()
        .shortdesc("Remote username for the remoteuri")
        .longdesc(
            "The username used in the remote libvirt URI (user@node). No user (that is, root) \
             if omitted. Must match ^[a-z][-a-z0-9]*$; other values are ignored with a warning, \
             as the heartbeat agent does. If remoteuri is set, migration_user is ignored.",
        ),
    ParamSpec::integer("migration_downtime")
        .default("0")
        .reloadable()
        .shortdesc("Live migration downtime")
        .longdesc(
            "Maximum downtime during live migration in milliseconds (0: libvirt's default). Set \
             with virDomainMigrateSetMaxDowntime before the migration starts.",
        ),
    ParamSpec::integer("migration_speed")
        .default("0")
        .reloadable()
        .shortdesc("Live migration speed")
        .longdesc(
            "Live migration speed limit in MiB/s (0: unlimited). Passed as the migration's \
             bandwidth parameter; a --bandwidth in migrate_options takes precedence.",
        ),
    ParamSpec::string("migration_network_suffix")
        .reloadable()
        .shortdesc("Migration network host name suffix")
        .longdesc(
            "Use a dedicated migration network. The migration URI is composed by adding this \
             parameter's value to the end of the node name. If the node name is an FQDN, the \
             suffix is inserted before the first period. Qemu/KVM (tcp:NODESUFFIX:PORT) and Xen \
             are supported. The composed host name must be resolvable and reachable through the \
             favoured network. The suffix is also added to the remote libvirt URI (unless \
             remoteuri is set).",
        ),
    ParamSpec::string("migrateuri")
        .reloadable()
        .shortdesc("Custom migrateuri for migration state transfer")
        .longdesc(
            "The hypervisor URI for the migration data stream, if the calculated one is \
             unsuitable. If set, migration_network_suffix, migrateport and --migrateuri in \
             migrate_options are ignored. \"%n\" is replaced by the target node name (the plain \
             Pacemaker node name; the heartbeat agent substituted user@node-suffix here when \
             remoteuri was unset, which is never a usable data URI).",
        ),
    ParamSpec::string("migrate_options")
        .reloadable()
        .shortdesc("live migrate options")
        .longdesc(
            "Extra 'virsh migrate' options, mapped to libvirt API flags and parameters (the agent \
             never runs virsh). Migration is always live (--live). Accepted flags: --p2p \
             (VIR_MIGRATE_PEER2PEER: the source libvirtd connects to the target), --tunnelled, \
             --persistent, --undefinesource, --suspend, --copy-storage-all, --copy-storage-inc, \
             --change-protection, --unsafe, --compressed, --abort-on-error, --auto-converge, \
             --rdma-pin-all, --postcopy, --tls, --parallel, and --verbose and --live (no effect). \
             Options with a value, as --opt=value or --opt value: --migrateuri (data URI; \"%n\" \
             is the target node), --listen-address, --bandwidth (MiB/s), \
             --parallel-connections, --comp-methods, --tls-destination. Anything else (for \
             example --offline, --direct, --dname, --xml, --timeout) is rejected by validation \
             with OCF_ERR_CONFIGURED, naming the option.",
        ),
    ParamSpec::string("monitor_scripts")
        .reloadable()
        .shortdesc("space-separated list of monitor scripts")
        .longdesc(
            "Space-separated list of programs run (without a shell, each bounded by the \
             operation timeout) after the domain is found running, to monitor services inside \
             the virtual domain; a non-zero exit makes the monitor fail with OCF_ERR_GENERIC. \
             Start and migrate_from complete only when all monitor scripts succeed, so set \
             their timeouts accordingly.",
        ),
    ParamSpec::boolean("autoset_utilization_cpu")
        .default("true")
        .reloadable()
        .shortdesc("Enable auto-setting the CPU utilization of the resource")
        .longdesc(
            "If true, the agent puts the domain's number of vCPUs into the 'cpu' utilization of \
             the resource. It is written to the CIB only when it changed since the agent last \
             wrote it on this node (cached in the state directory), not on every monitor.",
        ),
    ParamSpec::boolean("autoset_utilization_host_memory")
        .default("true")
        .reloadable()
        .shortdesc("Enable auto-setting the host_memory utilization of the resource")
        .longdesc(
            "If true, the agent puts the domain's maximum memory (MiB) into the 'host_memory' \
             utilization of the resource, written only when it changed.",
        ),
    ParamSpec::boolean("autoset_utilization_hv_memory")
        .default("true")
        .reloadable()
        .shortdesc("Enable auto-setting the hv_memory utilization of the resource")
        .longdesc(
            "If true, the agent puts the domain's maximum memory (MiB) into the 'hv_memory' \
             utilization of the resource, written only when it changed.",
        ),
    ParamSpec::boolean("unset_utilization_cpu")
        .default("false")
        .reloadable()
        .shortdesc("Enable auto-removing the CPU utilization of the resource")
        .longdesc(
            "If true (and autoset_utilization_cpu is false), the agent removes the 'cpu' \
             utilization of the resource.",
        ),
    ParamSpec::boolean("unset_utilization_host_memory")
        .default("false")
        .reloadable()
        .shortdesc("Enable auto-removing the host_memory utilization of the resource")
        .longdesc(
            "If true (and autoset_utilization_host_memory is false), the agent removes the \
             'host_memory' utilization of the resource.",
        ),
    ParamSpec::boolean("unset_utilization_hv_memory")
        .default("false")
        .reloadable()
        .shortdesc("Enable auto-removing the hv_memory utilization of the resource")
        .longdesc(
            "If true (and autoset_utilization_hv_memory is false), the agent removes the \
             'hv_memory' utilization of the resource.",
        ),
    ParamSpec::integer("migrateport")
        .reloadable()
        .shortdesc("Port for migrateuri")
        .longdesc(
            "Port used in the generated migration URI (with migration_network_suffix). If \
             unset, a port between 49152 and 49215 is picked at random.",
        ),
    ParamSpec::string("remoteuri")
        .reloadable()
        .shortdesc("Custom remoteuri to communicate with a remote hypervisor")
        .longdesc(
            "Use this URI to connect to the remote hypervisor when migrating. If set, \
             migration_user, migration_transport and migration_network_suffix do not apply to \
             it. \"%n\" is replaced by the target node name.",
        ),
    ParamSpec::boolean("save_config_on_stop")
        .default("false")
        .reloadable()
        .shortdesc("Save running VM's config back to its config file")
        .longdesc(
            "Changes to a running VM's config are normally lost on stop. If true, the agent \
             saves the inactive, secure domain XML back to the config file on stop and \
             migrate_to (and on monitor, where the file is only rewritten when the XML \
             changed).",
        ),
    ParamSpec::boolean("sync_config_on_stop")
        .default("false")
        .reloadable()
        .shortdesc("Save running VM's config back to its config file and sync it")
        .longdesc(
            "Implies save_config_on_stop; after saving, the agent runs 'csync2 -x CONFIG' to \
             synchronize the file to all nodes (csync2 must be set up).",
        ),
    ParamSpec::string("snapshot")
        .reloadable()
        .shortdesc("Restore state on start/stop")
        .longdesc(
            "Directory where the domain's RAM state is saved on stop (DOMAIN.state, via \
             'virsh save', the only call the virt crate lacks). If a state file is present on \
             start, the domain is restored from it and the file removed. Incompatible with \
             force_stop.",
        ),
    ParamSpec::string("backingfile")
        .shortdesc("Backing file for Copy-On-Write mode")
        .longdesc(
            "When the VM is used in Copy-On-Write mode, the backing file (full path). Start \
             creates CONFIG_WITHOUT_EXTENSION.qcow2 on it with qemu-img (if missing, or always \
             with stateless), defines the domain persistently and starts it.",
        ),
    ParamSpec::boolean("stateless")
        .default("false")
        .shortdesc("Recreate the qcow2 overlay at each start")
        .longdesc(
            "If true and backingfile is set, every start recreates the qcow2 overlay from the \
             backing file, so the VM is stateless. Requires backingfile.",
        ),
    ParamSpec::string("copyindirs")
        .shortdesc("Directories for virt-copy-in before booting a stateless VM")
        .longdesc(
            "Space-separated list of directories copied into the domain with virt-copy-in \
             before it boots. Used only when the overlay is (re)created.",
        ),
    ParamSpec::string("shutdown_mode")
        .reloadable()
        .shortdesc("Shutdown method(s) for a graceful stop")
        .longdesc(
            "Comma-separated shutdown modes for the graceful part of stop, as for 'virsh \
             shutdown --mode': acpi, agent, initctl, signal, paravirt (libvirt flags \
             VIR_DOMAIN_SHUTDOWN_*). By default the hypervisor chooses. The heartbeat agent \
             read this from a wrong variable and never applied it; this agent does.",
        ),
    ParamSpec::boolean("start_resources")
        .default("false")
        .reloadable()
        .shortdesc("Ensure the needed virtual storage pools and networks are started")
        .longdesc(
            "Start (or refresh) the storage pools and start the networks named in the domain \
             XML before starting it locally, or on the target before live migrating it.",
        ),
    ParamSpec::string("rbd_xml_source")
        .shortdesc("Fetch the domain XML from Ceph RBD image metadata")
        .longdesc(
            "POOL/IMAGE or POOL/NAMESPACE/IMAGE of a Ceph RBD image whose metadata key \
             rbd_xml_key holds the domain XML. Before start and migrate_from (and on a probe or \
             stop that cannot read config), the agent runs 'rbd image-meta get' and writes the \
             XML to the config path (atomically, only when it differs), so the XML exists on \
             every node. Needs the rbd command and a working Ceph client configuration.",
        ),
    ParamSpec::string("rbd_xml_key")
        .default("xml")
        .shortdesc("RBD image metadata key holding the domain XML")
        .longdesc("The image metadata key read when rbd_xml_source is set."),
];

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
        let config = PathBuf::from(p.required_str("config")?);
        if !config.is_absolute() {
            return Err(OcfError::configured(format!(
                "parameter 'config' must be an absolute path, got '{}'",
                config.display()
            )));
        }
        let migration_user = match opt(p, "migration_user") {
            Some(u) if valid_user(&u) => Some(u),
            Some(u) => {
                warnings.push(format!(
                    "parameter 'migration_user' '{u}' does not match ^[a-z][-a-z0-9]*$ and is \
                     ignored"
                ));
                None
            }
            None => None,
        };
        let migration_transport = opt(p, "migration_transport");
        if let Some(t) = &migration_transport {
            if !t.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(OcfError::configured(format!(
                    "parameter 'migration_transport' must be a libvirt transport such as tcp, \
                     ssh or tls, got '{t}'"
                )));
            }
        }
        let migration_network_suffix = opt(p, "migration_network_suffix");
        if let Some(s) = &migration_network_suffix {
            if !valid_host_part(s) {
                return Err(OcfError::configured(format!(
                    "parameter 'migration_network_suffix' may only contain letters, digits, \
                     '.', '-' and '_', got '{s}'"
                )));
            }
        }
        let migrateport = match p.int("migrateport")? {
            None => None,
            Some(v) => Some(u16::try_from(v).ok().filter(|v| *v > 0).ok_or_else(|| {
                OcfError::configured(format!(
                    "parameter 'migrateport' must be a port number (1-65535), got {v}"
                ))
            })?),
        };
        let migrate_options = migrate_options::parse(p.str("migrate_options").unwrap_or(""))
            .map_err(OcfError::configured)?;
        let shutdown_modes = parse_shutdown_modes(p.str("shutdown_mode").unwrap_or(""))
            .map_err(OcfError::configured)?;
        let force_stop = p.bool("force_stop")?;
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
        let util = |set: &str, unset: &str| -> Result<UtilPolicy, OcfError> {
            Ok(if p.bool(set)? {
                UtilPolicy::Set
            } else if p.bool(unset)? {
                UtilPolicy::Unset
            } else {
                UtilPolicy::Leave
            })
        };
        let rbd = match opt(p, "rbd_xml_source") {
            None => None,
            Some(v) => Some(RbdSource {
                spec: parse_rbd_source(v.trim()).map_err(OcfError::configured)?,
                key: p.str("rbd_xml_key").unwrap_or("xml").to_owned(),
            }),
        };
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
            migration_transport,
            migration_user,
            migration_downtime_ms: non_negative(p, "migration_downtime")?,
            migration_speed_mib: non_negative(p, "migration_speed")?,
            migration_network_suffix,
            migrateuri: opt(p, "migrateuri"),
            migrate_options,
            monitor_scripts: words("monitor_scripts"),
            utilization: [
                (
                    "cpu",
                    util("autoset_utilization_cpu", "unset_utilization_cpu")?,
                ),
                (
                    "host_memory",
                    util(
                        "autoset_utilization_host_memory",
                        "unset_utilization_host_memory",
                    )?,
                ),
                (
                    "hv_memory",
                    util(
                        "autoset_utilization_hv_memory",
                        "unset_utilization_hv_memory",
                    )?,
                ),
            ],
            migrateport,
            remoteuri: opt(p, "remoteuri"),
            save_config_on_stop: p.bool("save_config_on_stop")? || sync_config_on_stop,
            sync_config_on_stop,
            snapshot,
            backingfile,
            stateless,
            copyindirs: words("copyindirs"),
            shutdown_modes,
            start_resources: p.bool("start_resources")?,
            rbd,
            config,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::ocf::{OcfEnv, OcfRc};

    fn params(pairs: &[(&str, &str)]) -> Params {
        let env = OcfEnv::from_vars(
            pairs
                .iter()
                .map(|(k, v)| (format!("OCF_RESKEY_{k}"), (*v).to_owned())),
        );
        Params::new(PARAMS, &env)
    }

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, OcfError> {
        Settings::from_params(&params(pairs))
    }

    #[test]
    fn defaults_match_the_heartbeat_agent() {
        let s = settings(&[("config", "/etc/vm.xml")]).unwrap();
        assert!(!s.force_stop && !s.save_config_on_stop && !s.stateless);
        assert_eq!(s.migration_downtime_ms, 0);
        assert_eq!(s.migration_speed_mib, 0);
        assert_eq!(s.hypervisor, None);
        assert!(s.utilization.iter().all(|(_, p)| *p == UtilPolicy::Set));
        assert!(s.shutdown_modes.is_empty());
        assert_eq!(s.rbd, None);
    }

    #[test]
    fn config_is_required_and_absolute() {
        assert_eq!(settings(&[]).unwrap_err().rc, OcfRc::ErrConfigured);
        let e = settings(&[("config", "vm.xml")]).unwrap_err();
        assert_eq!(e.rc, OcfRc::ErrConfigured);
        assert!(e.reason.contains("absolute"), "{e}");
    }

    #[test]
    fn cross_checks() {
        let e = settings(&[("config", "/x"), ("force_stop", "1"), ("snapshot", "/s")]);
        assert!(e.unwrap_err().reason.contains("force_stop"));
        let e = settings(&[("config", "/x"), ("stateless", "true")]);
        assert!(e.unwrap_err().reason.contains("backing file"));
        let e = settings(&[("config", "/x"), ("migration_speed", "-1")]);
        assert!(e.unwrap_err().reason.contains("negative"));
        let e = settings(&[("config", "/x"), ("migration_speed", "fast")]);
        assert_eq!(e.unwrap_err().rc, OcfRc::ErrConfigured);
        let e = settings(&[("config", "/x"), ("migrateport", "70000")]);
        assert!(e.unwrap_err().reason.contains("port"));
        let e = settings(&[("config", "/x"), ("migration_transport", "tcp;rm")]);
        assert!(e.unwrap_err().reason.contains("transport"));
        let e = settings(&[("config", "/x"), ("migrate_options", "--offline")]);
        assert!(e.unwrap_err().reason.contains("--offline"));
    }

    #[test]
    fn shutdown_mode_is_parsed() {
        let s = settings(&[("config", "/x"), ("shutdown_mode", "agent,acpi")]).unwrap();
        assert_eq!(s.shutdown_modes, [ShutdownMode::Agent, ShutdownMode::Acpi]);
        let e = settings(&[("config", "/x"), ("shutdown_mode", "reboot")]).unwrap_err();
        assert_eq!(e.rc, OcfRc::ErrConfigured);
        assert!(e.reason.contains("'reboot'"), "{e}");
    }

    #[test]
    fn utilization_policies() {
        let s = settings(&[
            ("config", "/x"),
            ("autoset_utilization_cpu", "false"),
            ("unset_utilization_cpu", "true"),
            ("autoset_utilization_hv_memory", "no"),
        ])
        .unwrap();
        assert_eq!(
            s.utilization,
            [
                ("cpu", UtilPolicy::Unset),
                ("host_memory", UtilPolicy::Set),
                ("hv_memory", UtilPolicy::Leave)
            ]
        );
    }

    #[test]
    fn user_rules_like_heartbeat() {
        assert!(valid_user("root") && valid_user("a-1"));
        assert!(!valid_user("Root") && !valid_user("1a") && !valid_user(""));
        let s = settings(&[("config", "/x"), ("migration_user", "Bad User")]).unwrap();
        assert_eq!(s.migration_user, None);
        assert_eq!(s.warnings.len(), 1);
        let s = settings(&[("config", "/x"), ("sync_config_on_stop", "yes")]).unwrap();
        assert!(s.save_config_on_stop, "sync implies save");
    }

    #[test]
    fn rbd_source() {
        let s = settings(&[("config", "/x"), ("rbd_xml_source", "rbd/vm1")]).unwrap();
        assert_eq!(
            s.rbd,
            Some(RbdSource {
                spec: "rbd/vm1".into(),
                key: "xml".into()
            })
        );
        assert!(parse_rbd_source("rbd/ns/vm1").is_ok());
        for bad in ["vm1", "rbd/", "/vm1", "rbd/-x", "a/b/c/d", "rbd/vm 1"] {
            assert!(parse_rbd_source(bad).is_err(), "{bad}");
        }
    }
}
