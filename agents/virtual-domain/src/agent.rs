//! The [`Agent`] implementation: meta-data and action dispatch, validate-all and reload-agent.
//!
//! Exit codes per action are documented in the action modules ([`crate::monitor`],
//! [`crate::start`], [`crate::stop`], [`crate::migrate`]) and, for the cases without libvirt
//! or without the domain name, in [`crate::libvirt_ops`].

use std::path::Path;
use std::time::Duration;

use shared::ocf::{Action, ActionSpec, Agent, AgentMeta, Context, OcfError, OcfRc};

use crate::config::{self, ConfigError};
use crate::libvirt_ops::{libvirt_installed, Vd};
use crate::params::{Settings, PARAMS};
use crate::{migrate, monitor, start, stop};

/// `ocf:vmmgr:VirtualDomain`.
pub struct VirtualDomain;

const LONGDESC: &str = "Resource agent for a virtual domain (a.k.a. domU, virtual machine, \
virtual environment etc., depending on context) managed by libvirtd. A drop-in replacement for \
ocf:heartbeat:VirtualDomain with the same parameters, that talks to libvirt through its API \
(one connection per invocation, no virsh), bounds every action by its operation timeout (a \
hung libvirtd gives an exit reason before Pacemaker's timeout), never reports \"stopped\" when \
it cannot tell (a probe that cannot read the config finds the domain through the name \
remembered in /run/resource-agents/vmmgr-VirtualDomain), stops with the configured \
shutdown_mode and destroys early enough for destroy to fit, and writes utilization only when \
it changes. Its advised stop timeout is 30 s (heartbeat's is 90 s): the stop keeps half of its \
budget (5-20 s) for destroy and up to 8 s for killing qemu, and gives the guest the rest to \
shut down (about 7 s at 30 s, 53 s at 90 s), so give guests that need longer a longer stop \
timeout. migrate_options is mapped to libvirt flags (see that parameter). New: \
rbd_xml_source fetches the domain XML from Ceph RBD image metadata (as the Ceph user \
rbd_xml_user, with the configuration file rbd_xml_cephconf).";

fn on_path(program: &str) -> bool {
    std::env::var("PATH")
        .unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into())
        .split(':')
        .filter(|d| d.starts_with('/'))
        .any(|d| Path::new(d).join(program).is_file())
}

fn validate(vd: &Vd<'_>) -> Result<OcfRc, OcfError> {
    if vd.ctx.env.check_level() < 10 {
        return Ok(OcfRc::Success);
    }
    match config::read_config(&vd.s.config) {
        Ok(_) => {}
        Err(e @ ConfigError::Unreadable { .. }) if vd.s.rbd.is_some() => {
            vd.info(format!(
                "{}; it will be fetched from RBD at start",
                shared::ocf::error_chain(&e)
            ));
        }
        Err(e) => return Err(OcfError::from_error(OcfRc::ErrInstalled, &e)),
    }
    let tools = [
        (vd.s.sync_config_on_stop, "csync2"),
        (vd.s.rbd.is_some(), "rbd"),
        (vd.s.backingfile.is_some(), "qemu-img"),
        (!vd.s.copyindirs.is_empty(), "virt-copy-in"),
        (vd.s.snapshot.is_some(), "virsh"),
    ];
    for (needed, tool) in tools {
        if needed && !on_path(tool) {
            return Err(OcfError::installed(format!("{tool} is not installed")));
        }
    }
    if let Some(rbd) = &vd.s.rbd {
        crate::params::check_rbd_local(rbd)?;
    }
    if vd.is_local_qemu() && !libvirt_installed() {
        return Err(OcfError::installed("libvirt is not installed on this node"));
    }
    let deadline = vd.deadline_minus(Duration::from_millis(500));
    vd.connect(deadline)
        .map_err(|e| OcfError::from_error(OcfRc::ErrGeneric, &e).context("validate-all"))?;
    Ok(OcfRc::Success)
}

impl Agent for VirtualDomain {
    fn meta(&self) -> AgentMeta {
        AgentMeta {
            name: "VirtualDomain",
            version: env!("CARGO_PKG_VERSION"),
            shortdesc: "Manages virtual domains through the libvirt virtualization framework",
            longdesc: LONGDESC,
            params: PARAMS.to_vec(),
            actions: vec![
                ActionSpec::new("start", 90),
                // Not heartbeat's 90 s: the stop plans within whatever timeout it gets
                // (graceful shutdown, then destroy and kill reserves, see `stop`); 30 s
                // leaves 13.5 s for destroy. vm-mgr (and SEAPATH) write 30 s.
                ActionSpec::new("stop", 30),
                ActionSpec::new("status", 30).interval(10).depth(0),
                ActionSpec::new("monitor", 30).interval(10).depth(0),
                ActionSpec::new("migrate_from", 60),
                ActionSpec::new("migrate_to", 120),
                ActionSpec::new("meta-data", 5),
                ActionSpec::new("validate-all", 5),
                ActionSpec::new("reload-agent", 5),
            ],
        }
    }

    fn handle(&self, action: &Action, ctx: &Context) -> Result<OcfRc, OcfError> {
        let settings = match Settings::from_params(&ctx.params) {
            Ok(s) => s,
            // A stop must not fail (and fence) only because some unrelated parameter is
            // wrong: it stops with the defaults as long as it knows the config path.
            Err(e) if *action == Action::Stop => match Settings::minimal(&ctx.params) {
                Some(s) => {
                    ctx.logger
                        .warn(format!("{}; stopping with default settings", e.reason));
                    s
                }
                None => {
                    return Err(e);
                }
            },
            Err(e) => return Err(e),
        };
        for w in &settings.warnings {
            ctx.logger.warn(w);
        }
        let vd = Vd::new(ctx, settings);
        match action {
            Action::Start => start::run(&vd),
            Action::Stop => stop::run(&vd),
            Action::Monitor | Action::Status => monitor::run(&vd),
            Action::MigrateTo => migrate::migrate_to(&vd),
            Action::MigrateFrom => migrate::migrate_from(&vd),
            Action::ValidateAll => validate(&vd),
            Action::ReloadAgent => {
                if !vd.instance().is_empty() {
                    vd.state.clear_util_cache(vd.instance());
                }
                Ok(OcfRc::Success)
            }
            other => Err(OcfError::unimplemented(format!(
                "action '{other}' is not implemented"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::time::Instant;

    use shared::ocf::OcfEnv;

    const HEARTBEAT_META: &str =
        include_str!("../../../tests/fixtures/libvirt/heartbeat-VirtualDomain-meta-data.xml");

    fn heartbeat_param_names(xml: &str) -> BTreeSet<String> {
        xml.split("<parameter name=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn meta_data_is_valid_ocf_1_1() {
        shared::ocf::testing::assert_valid_meta(&VirtualDomain.meta());
    }

    #[test]
    fn every_heartbeat_parameter_is_present_with_its_type() {
        let ours = VirtualDomain.meta();
        let names = heartbeat_param_names(HEARTBEAT_META);
        assert_eq!(names.len(), 27, "{names:?}");
        for name in &names {
            let spec = ours
                .params
                .iter()
                .find(|p| p.name == name)
                .unwrap_or_else(|| panic!("heartbeat parameter {name} missing"));
            let pattern = format!("<parameter name=\"{name}\"");
            let section = HEARTBEAT_META.split(&pattern).nth(1).unwrap();
            let section = section.split("</parameter>").next().unwrap();
            let ty = section
                .split("<content type=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap();
            assert_eq!(spec.content.type_name(), ty, "type of {name}");
            let default = section
                .split("default=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .filter(|d| !d.is_empty());
            if ty == "boolean" {
                // An absent boolean default means false (heartbeat's save/sync_config_on_stop).
                let b = |d: Option<&str>| shared::ocf::parse_bool(d.unwrap_or(""));
                assert_eq!(b(spec.default), b(default), "default of {name}");
            } else {
                assert_eq!(spec.default, default, "default of {name}");
            }
        }
    }

    #[test]
    fn stock_agent_meta_data_matches_the_fixture() {
        // The fixture is the installed heartbeat agent's meta-data; keep it honest when the
        // agent is available (Debian's resource-agents).
        let agent = "/usr/lib/ocf/resource.d/heartbeat/VirtualDomain";
        if !Path::new(agent).exists() {
            return;
        }
        let out = shared::cmd::Cmd::new(agent)
            .arg("meta-data")
            .env("OCF_ROOT", "/usr/lib/ocf")
            .timeout(Duration::from_secs(20))
            .run_string()
            .expect("stock agent meta-data");
        assert_eq!(
            heartbeat_param_names(&out),
            heartbeat_param_names(HEARTBEAT_META)
        );
    }

    #[test]
    fn default_timeouts_like_heartbeat_but_stop() {
        let m = VirtualDomain.meta();
        let t = |n: &str| m.actions.iter().find(|a| a.name == n).unwrap().timeout;
        assert_eq!(
            [
                t("start"),
                t("stop"),
                t("monitor"),
                t("migrate_to"),
                t("migrate_from")
            ],
            [90, 30, 30, 120, 60]
        );
        // The stop's plan fits 30 s: graceful phase, destroy reserve, kill reserve.
        let b = shared::ocf::deadline::budget(Duration::from_secs(30));
        let reserves = stop::kill_reserve(b) + stop::destroy_reserve(b);
        assert!(b > reserves + Duration::from_secs(5), "{b:?} {reserves:?}");
        assert!(stop::destroy_reserve(b) > Duration::from_secs(10));
        assert_eq!([t("meta-data"), t("validate-all")], [5, 5]);
    }

    fn run_action(action: &str, vars: &[(&str, &str)]) -> (OcfRc, String) {
        let env = OcfEnv::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut out = Vec::new();
        let mut err = Vec::new();
        let rc = shared::ocf::run(
            &VirtualDomain,
            ["VirtualDomain".to_owned(), action.to_owned()],
            env,
            &mut out,
            &mut err,
        );
        (rc, String::from_utf8_lossy(&err).into_owned())
    }

    #[test]
    fn validate_levels_and_configuration_errors() {
        let (rc, _) = run_action("validate-all", &[("OCF_RESKEY_config", "/no/such.xml")]);
        assert_eq!(rc, OcfRc::Success, "level 0 checks syntax only");
        let (rc, err) = run_action(
            "validate-all",
            &[
                ("OCF_RESKEY_config", "/no/such.xml"),
                ("OCF_CHECK_LEVEL", "10"),
            ],
        );
        assert_eq!(rc, OcfRc::ErrInstalled, "{err}");
        assert!(
            err.contains("ocf-exit-reason:configuration file /no/such.xml"),
            "{err}"
        );
        let (rc, err) = run_action("validate-all", &[]);
        assert_eq!(rc, OcfRc::ErrConfigured, "{err}");
        let (rc, err) = run_action(
            "start",
            &[
                ("OCF_RESKEY_config", "/x.xml"),
                ("OCF_RESKEY_migrate_options", "--bogus"),
            ],
        );
        assert_eq!(rc, OcfRc::ErrConfigured);
        assert!(err.contains("unknown option '--bogus'"), "{err}");
    }

    #[test]
    fn migrations_need_their_node_attributes() {
        let started = Instant::now();
        let (rc, err) = run_action("migrate_from", &[("OCF_RESKEY_config", "/x.xml")]);
        assert_eq!(rc, OcfRc::ErrArgs, "{err}");
        assert!(err.contains("migrate_source"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2), "fails fast");
        let (rc, err) = run_action("migrate_to", &[("OCF_RESKEY_config", "/x.xml")]);
        assert_eq!(rc, OcfRc::ErrArgs, "{err}");
        let (rc, _) = run_action(
            "migrate_to",
            &[
                ("OCF_RESKEY_config", "/x.xml"),
                ("OCF_RESKEY_CRM_meta_migrate_target", "a b"),
            ],
        );
        assert_eq!(rc, OcfRc::ErrArgs);
    }

    #[test]
    fn reload_agent_accepts_valid_parameters() {
        let (rc, _) = run_action(
            "reload-agent",
            &[
                ("OCF_RESKEY_config", "/x.xml"),
                ("HA_RSCTMP", "/nonexistent-vd"),
            ],
        );
        assert_eq!(rc, OcfRc::Success);
    }

    #[test]
    fn test_driver_monitor_start_stop() {
        // libvirt's in-process test driver: a domain "test" runs; a config naming it.
        let dir = std::env::temp_dir().join(format!("vd-agent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("test.xml");
        std::fs::write(
            &cfg,
            "<domain type='test'><name>test</name><memory>8192</memory></domain>",
        )
        .unwrap();
        let cfg = cfg.to_str().unwrap().to_owned();
        let rsctmp = dir.to_str().unwrap().to_owned();
        let vars = [
            ("OCF_RESKEY_config", cfg.as_str()),
            ("OCF_RESKEY_hypervisor", "test:///default"),
            ("OCF_RESOURCE_INSTANCE", "t1"),
            ("HA_RSCTMP", rsctmp.as_str()),
            ("OCF_RESKEY_CRM_meta_timeout", "20000"),
            ("OCF_RESKEY_autoset_utilization_cpu", "false"),
            ("OCF_RESKEY_autoset_utilization_host_memory", "false"),
            ("OCF_RESKEY_autoset_utilization_hv_memory", "false"),
        ];
        // Every connection to test:///default starts from the driver's default state, in
        // which domain "test" runs.
        let (rc, err) = run_action("monitor", &vars);
        assert_eq!(rc, OcfRc::Success, "{err}");
        assert!(
            dir.join("vmmgr-VirtualDomain/t1.name").is_file(),
            "name remembered"
        );
        let (rc, err) = run_action("start", &vars);
        assert_eq!(rc, OcfRc::Success, "already running: {err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
