//! The `VirtualDomain` binary: meta-data and the monitor without loading libvirt.
//!
//! Pacemaker runs every resource's monitor every few seconds; dynamically loading
//! `libvirt.so` (and the ~57 libraries it pulls in) costs ~9 ms CPU per process, most of a
//! monitor. So the binary Pacemaker runs never links libvirt (nothing here or in what it calls
//! uses the `virt` crate; `tests/light_binary.rs` checks the executable's needed libraries):
//!
//! | Invocation | Who answers |
//! |---|---|
//! | `meta-data`, `usage`, no action | this binary (same [`VirtualDomain::meta`] as the full agent) |
//! | `monitor` / `status`, `qemu:///system` (or no `hypervisor`), no `save_config_on_stop`, domain name known (config or state directory) | this binary, through libvirt's RPC protocol on the daemon's socket ([`shared::libvirt::rpc`]), with the full monitor's check ([`crate::monitor::check_with`], the RPC client as its state source): same codes, same `/proc` fallback when libvirtd is down or hung, same utilization cache and `monitor_scripts` |
//! | `migrate_from`, on the same conditions as the monitor | this binary: [`crate::migrate::migrate_from_with`], its check through the RPC client (as start and migrate_from wait: no utilization written); a daemon this client cannot talk to hands it over before anything is done |
//! | any other action, or a monitor (or migrate_from) this binary cannot decide (other URI, name unknown, libvirt answering with an error, authentication required, protocol surprise) | the full agent, by `exec` (same arguments and environment, the operation timeout reduced by the time already spent) |
//!
//! The full agent is looked up next to this binary as invoked (`argv[0]`'s directory) and as
//! resolved (`/proc/self/exe`'s directory), as `.VirtualDomain-libvirt` (the installed,
//! hidden name: OCF 1.1 does not list agents whose name starts with `.`) or
//! `VirtualDomain-libvirt` (cargo's target directory).

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use shared::libvirt::rpc::{self, Client, RpcError};
use shared::libvirt::DomainStatus;
use shared::ocf::{Action, Agent, AgentMeta, Context, OcfError, OcfRc};

use crate::agent::VirtualDomain;
use crate::libvirt_ops::{Name, Vd, FALLBACK_RESERVE};
use crate::migrate;
use crate::monitor::{self, Arriving, DomainStateSource};
use crate::params::Settings;

/// The full agent's installed (hidden) file name.
pub const FULL_AGENT_INSTALLED: &str = ".VirtualDomain-libvirt";
/// The full agent's name in cargo's target directory.
pub const FULL_AGENT_BUILT: &str = "VirtualDomain-libvirt";
/// A directory to which the RPC client writes every message it sends and receives (for
/// recording test fixtures; never set in production).
pub const TRACE_VAR: &str = "VMMGR_LIBVIRT_RPC_TRACE";

const URI: &str = "qemu:///system";

/// Why the light path hands over to the full agent (logged at debug level).
#[derive(Debug)]
struct Delegate(String);

fn is_executable(p: &Path) -> bool {
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The first executable full agent in `dirs`, the hidden installed name before the built one.
pub fn find_full_agent<'a>(dirs: impl IntoIterator<Item = &'a Path>) -> Option<PathBuf> {
    dirs.into_iter()
        .flat_map(|d| [d.join(FULL_AGENT_INSTALLED), d.join(FULL_AGENT_BUILT)])
        .find(|p| is_executable(p))
}

/// Where to look for the full agent: `argv[0]`'s directory (when it has one), then the
/// directory of the executable itself (symlinks resolved).
fn full_agent(argv0: Option<&OsStr>) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(dir) = argv0.map(Path::new).and_then(Path::parent) {
        if !dir.as_os_str().is_empty() {
            dirs.push(dir.to_owned());
        }
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .as_deref()
        .and_then(Path::parent)
    {
        dirs.push(dir.to_owned());
    }
    find_full_agent(dirs.iter().map(PathBuf::as_path))
}

/// The environment for the full agent: this one, with `OCF_RESKEY_CRM_meta_timeout` reduced
/// by `spent_ms` (never below 1 s) so that both together stay inside the operation timeout.
pub fn env_for_full(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    spent_ms: u128,
) -> Vec<(OsString, OsString)> {
    vars.into_iter()
        .map(|(k, v)| {
            if k == "OCF_RESKEY_CRM_meta_timeout" && spent_ms > 0 {
                if let Some(ms) = v.to_str().and_then(|s| s.trim().parse::<u128>().ok()) {
                    let left = ms.saturating_sub(spent_ms).max(1000);
                    return (k, OsString::from(left.to_string()));
                }
            }
            (k, v)
        })
        .collect()
}

fn cstring(s: &OsStr) -> Option<CString> {
    CString::new(s.as_bytes()).ok()
}

/// Replaces this process by the full agent with the same arguments; returns only on failure,
/// with the error to report.
fn exec_full(started: Option<Instant>) -> OcfError {
    let args: Vec<OsString> = std::env::args_os().collect();
    let Some(path) = full_agent(args.first().map(OsString::as_os_str)) else {
        return OcfError::installed(format!(
            "the full agent ({FULL_AGENT_INSTALLED}) is not installed next to this one"
        ));
    };
    let spent = started.map_or(0, |s| s.elapsed().as_millis());
    let env: Vec<CString> = env_for_full(std::env::vars_os(), spent)
        .into_iter()
        .filter_map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            cstring(&kv)
        })
        .collect();
    let (Some(cpath), Some(argv)) = (
        cstring(path.as_os_str()),
        args.iter()
            .map(|a| cstring(a))
            .collect::<Option<Vec<CString>>>(),
    ) else {
        return OcfError::generic("an argument contains a NUL byte");
    };
    let e = nix::unistd::execve(&cpath, &argv, &env).unwrap_err();
    OcfError::installed(format!("cannot run the full agent {}: {e}", path.display()))
}

/// The light agent: [`VirtualDomain`]'s meta-data, monitor through RPC, the rest by `exec`.
pub struct Light;

impl Agent for Light {
    fn meta(&self) -> AgentMeta {
        VirtualDomain.meta()
    }

    fn handle(&self, action: &Action, ctx: &Context) -> Result<OcfRc, OcfError> {
        let why = match action {
            Action::Monitor | Action::Status => match monitor(ctx) {
                Ok(rc) => return rc,
                Err(Delegate(why)) => why,
            },
            Action::MigrateFrom => match migrate_from(ctx) {
                Ok(rc) => return rc,
                Err(Delegate(why)) => why,
            },
            other => format!("action {other}"),
        };
        ctx.logger
            .debug(format!("handing over to the full agent: {why}"));
        let e = exec_full(Some(ctx.started));
        // Never "not installed" from a monitor: a probe's 5 means "cannot run here", and the
        // domain may well be running.
        Err(OcfError::generic(e.reason))
    }
}

/// The `main` of the `VirtualDomain` binary.
pub fn main() -> ExitCode {
    let action = std::env::args_os().nth(1);
    match action.as_deref().and_then(OsStr::to_str) {
        None | Some("monitor" | "status" | "migrate_from" | "meta-data" | "usage" | "help") => {
            shared::ocf::main(Light)
        }
        Some(_) => {
            // Before anything else: the full agent starts from scratch.
            let e = exec_full(None);
            let _ = shared::ocf::log::write_exit_reason(&mut std::io::stderr(), &e.reason);
            e.rc.into()
        }
    }
}

/// The default URI when `hypervisor` is empty is `qemu:///system` for root unless configured
/// otherwise (`LIBVIRT_DEFAULT_URI`, `uri_default` in `/etc/libvirt/libvirt.conf`).
fn default_uri_is_system() -> bool {
    if let Some(u) = std::env::var_os("LIBVIRT_DEFAULT_URI") {
        return u.is_empty() || u == URI;
    }
    let Ok(conf) = std::fs::read_to_string("/etc/libvirt/libvirt.conf") else {
        return true;
    };
    conf.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("uri_default"))
        .filter_map(|l| l.split_once('=').map(|(_, v)| v.trim().trim_matches('"')))
        .all(|v| v == URI)
}

/// The settings, when this binary can act on them: `Ok(Err)` for invalid parameters (reported
/// as the full agent would), `Err` for what only the full agent handles (another URI,
/// `save_config_on_stop`, which dumps the domain's XML through libvirt's client library).
fn light_settings(ctx: &Context) -> Result<Result<Settings, OcfError>, Delegate> {
    let settings = match Settings::from_params(&ctx.params) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    match settings.hypervisor.as_deref() {
        Some(URI) => {}
        None if default_uri_is_system() => {}
        Some(other) => return Err(Delegate(format!("hypervisor {other}"))),
        None => return Err(Delegate("libvirt's default URI is configured".into())),
    }
    if settings.save_config_on_stop {
        return Err(Delegate("save_config_on_stop".into()));
    }
    Ok(Ok(settings))
}

fn monitor(ctx: &Context) -> Result<Result<OcfRc, OcfError>, Delegate> {
    let settings = match light_settings(ctx)? {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let vd = Vd::new(ctx, settings);
    let name = match vd.resolve(false) {
        Name::Known { name } => name,
        Name::Unknown { why } => return Err(Delegate(why)),
    };
    for w in &vd.s.warnings {
        ctx.logger.warn(w);
    }
    check(&vd, &name, false)
}

/// migrate_from ([`migrate::migrate_from_with`]) with the RPC client's check: it runs once
/// libvirt has handed the domain over, so starting the full agent (loading libvirt's client
/// library) would be most of its time. The RPC path is tried first: a daemon this client
/// cannot talk to (authentication, protocol surprise) hands the action over before it does
/// anything; a later libvirt error fails that check, which is retried as the full agent does.
fn migrate_from(ctx: &Context) -> Result<Result<OcfRc, OcfError>, Delegate> {
    let settings = match light_settings(ctx)? {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let vd = Vd::new(ctx, settings);
    let deadline = vd.deadline_minus(FALLBACK_RESERVE);
    match connect(&vd, deadline) {
        Ok(client) => client.close(deadline),
        Err(e) if e.is_unreachable() => {}
        Err(e) => return Err(Delegate(shared::ocf::error_chain(&e))),
    }
    for w in &vd.s.warnings {
        ctx.logger.warn(w);
    }
    Ok(migrate::migrate_from_with(&vd, &|vd, name| {
        check(vd, name, true).unwrap_or_else(|Delegate(why)| {
            Err(OcfError::generic(format!(
                "cannot determine the state of domain {name}: {why}"
            )))
        })
    }))
}

fn connect(vd: &Vd<'_>, deadline: Instant) -> Result<Client, RpcError> {
    let trace = vd.ctx.env.var(TRACE_VAR).map(PathBuf::from);
    Client::connect_traced(&rpc::system_socket(), URI, deadline, trace.as_deref())
}

/// The RPC client as the monitor's state source; released (closed) once the state is read.
struct RpcSource(Option<Client>);

impl DomainStateSource for RpcSource {
    type Error = RpcError;

    fn status(&mut self, name: &str, deadline: Instant) -> Result<Option<DomainStatus>, RpcError> {
        match self.0.as_mut() {
            Some(client) => client.domain_status(name, deadline),
            None => Err(RpcError::Protocol {
                what: format!("reading the state of domain {name}"),
                detail: "the connection is already closed".into(),
            }),
        }
    }

    fn is_unreachable(e: &RpcError) -> bool {
        e.is_unreachable()
    }

    fn release(&mut self, deadline: Instant) {
        if let Some(client) = self.0.take() {
            client.close(deadline);
        }
    }
}

/// [`monitor::check_with`] through the RPC client (`arriving`: as start and migrate_from wait,
/// [`Arriving`]); libvirt answering with an error (or anything this client does not handle)
/// hands the monitor over to the full agent.
fn check(vd: &Vd<'_>, name: &str, arriving: bool) -> Result<Result<OcfRc, OcfError>, Delegate> {
    let deadline = vd.deadline_minus(FALLBACK_RESERVE);
    let client = match connect(vd, deadline) {
        Ok(c) => c,
        Err(e) if e.is_unreachable() => return Ok(monitor::libvirt_unavailable(vd, name, &e)),
        Err(e) => return Err(Delegate(shared::ocf::error_chain(&e))),
    };
    let mut source = RpcSource(Some(client));
    let checked = if arriving {
        monitor::check_with(vd, name, &mut Arriving(&mut source), deadline)
    } else {
        monitor::check_with(vd, name, &mut source, deadline)
    };
    checked.map_err(|e| Delegate(shared::ocf::error_chain(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn finds_the_hidden_installed_name_first() {
        let base = std::env::temp_dir().join(format!("vd-light-{}", std::process::id()));
        let (a, b) = (base.join("a"), base.join("b"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        let exe = |p: &Path| {
            fs::write(p, "#!/bin/sh\n").unwrap();
            fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
        };
        assert_eq!(find_full_agent([a.as_path(), b.as_path()]), None);
        fs::write(a.join(FULL_AGENT_BUILT), "not executable").unwrap();
        exe(&b.join(FULL_AGENT_BUILT));
        assert_eq!(
            find_full_agent([a.as_path(), b.as_path()]),
            Some(b.join(FULL_AGENT_BUILT))
        );
        exe(&b.join(FULL_AGENT_INSTALLED));
        assert_eq!(
            find_full_agent([a.as_path(), b.as_path()]),
            Some(b.join(FULL_AGENT_INSTALLED))
        );
        exe(&a.join(FULL_AGENT_BUILT));
        assert_eq!(
            find_full_agent([a.as_path(), b.as_path()]),
            Some(a.join(FULL_AGENT_BUILT))
        );
        let _ = fs::remove_dir_all(base);
    }

    #[test]
    fn the_full_agent_gets_the_remaining_timeout() {
        let vars = |t: &str| {
            vec![
                (
                    OsString::from("OCF_RESKEY_config"),
                    OsString::from("/x.xml"),
                ),
                (
                    OsString::from("OCF_RESKEY_CRM_meta_timeout"),
                    OsString::from(t),
                ),
            ]
        };
        let timeout = |v: Vec<(OsString, OsString)>| v[1].1.clone();
        assert_eq!(timeout(env_for_full(vars("30000"), 0)), "30000");
        assert_eq!(timeout(env_for_full(vars("30000"), 250)), "29750");
        assert_eq!(timeout(env_for_full(vars("1200"), 900)), "1000");
        assert_eq!(timeout(env_for_full(vars("junk"), 900)), "junk");
        assert_eq!(env_for_full(vars("30000"), 5)[0], vars("x")[0]);
    }

    #[test]
    fn meta_data_is_the_full_agents() {
        assert_eq!(Light.meta().to_xml(), VirtualDomain.meta().to_xml());
    }
}
