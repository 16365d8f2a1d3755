//! monitor / status: one connection, one `virDomainGetInfo` round trip; nothing spawned in the
//! steady state (utilization only when it changed, config saved only when configured and
//! changed).
//!
//! | libvirt says | code |
//! |---|---|
//! | no such domain, shut off | 7 |
//! | running, blocked, paused, in shutdown | 0 (then `monitor_scripts`) |
//! | crashed, pmsuspended | 1 with the state as reason |
//! | no state / unknown | retried until the deadline, then 1 |
//! | no answer | see [`crate::libvirt_ops`]: `/proc` fallback, else 1 |
//!
//! One check ([`check_with`]) serves both ways of asking libvirt, behind
//! [`DomainStateSource`]: the full agent's [`Connection`] (this module's [`run`]) and the
//! `VirtualDomain` binary Pacemaker runs, which asks through libvirt's RPC protocol without
//! loading libvirt ([`crate::light`]) and `exec`s the full agent for the cases it cannot
//! decide. The table above is unit-tested on a fake source (`monitor_tests.rs`).

use std::thread;
use std::time::{Duration, Instant};

use shared::cmd::Cmd;
use shared::libvirt::{Connection, DomainState, DomainStatus, LibvirtError};
use shared::ocf::{OcfError, OcfRc};

use crate::libvirt_ops::{generic, Name, Vd, FALLBACK_RESERVE};
use crate::{config, utilization};

/// Where the monitor reads a domain's state: libvirt's client library ([`Connection`], the full
/// agent) or libvirt's RPC protocol (the light `VirtualDomain` binary, [`crate::light`]).
pub trait DomainStateSource {
    /// Why a read failed.
    type Error: std::error::Error + 'static;

    /// One round trip: the domain's state, vCPUs and memory; `Ok(None)`: no such domain.
    fn status(
        &mut self,
        name: &str,
        deadline: Instant,
    ) -> Result<Option<DomainStatus>, Self::Error>;

    /// True when `e` means libvirt could not be reached or did not answer (the state is
    /// unknown: the `/proc` fallback decides), as opposed to libvirt answering with an error.
    fn is_unreachable(e: &Self::Error) -> bool;

    /// The state is read: let go of the daemon before the monitor scripts run (the RPC client
    /// closes its connection). Nothing by default.
    fn release(&mut self, _deadline: Instant) {}

    /// The last step for an active domain whose scripts passed (the full agent saves the
    /// domain's configuration when `save_config_on_stop` is set). Nothing by default.
    fn active(&mut self, _vd: &Vd<'_>, _name: &str) {}

    /// Whether the check brings the CIB utilization in line ([`utilization::update`]); true by
    /// default. Off while start or migrate_from wait for the domain ([`Arriving`]).
    fn updates_utilization(&self) -> bool {
        true
    }
}

impl DomainStateSource for Connection {
    type Error = LibvirtError;

    fn status(
        &mut self,
        name: &str,
        deadline: Instant,
    ) -> Result<Option<DomainStatus>, LibvirtError> {
        self.domain_status(name, deadline)
    }

    fn is_unreachable(e: &LibvirtError) -> bool {
        e.is_unreachable()
    }

    fn active(&mut self, vd: &Vd<'_>, name: &str) {
        save_config(vd, self, name);
    }
}

/// A source as start and migrate_from use it while they wait for the domain to come up: the
/// check leaves the CIB utilization to the first monitor (the action cleared this node's
/// utilization cache, so that monitor compares and writes it). Reading and writing it costs
/// up to three `crm_resource` runs, which would otherwise lengthen every start and every
/// migration; Pacemaker's placement does not read it before the action ends anyway.
pub struct Arriving<'s, S>(pub &'s mut S);

impl<S: DomainStateSource> DomainStateSource for Arriving<'_, S> {
    type Error = S::Error;

    fn status(&mut self, name: &str, deadline: Instant) -> Result<Option<DomainStatus>, S::Error> {
        self.0.status(name, deadline)
    }

    fn is_unreachable(e: &S::Error) -> bool {
        S::is_unreachable(e)
    }

    fn release(&mut self, deadline: Instant) {
        self.0.release(deadline);
    }

    fn active(&mut self, vd: &Vd<'_>, name: &str) {
        self.0.active(vd, name);
    }

    fn updates_utilization(&self) -> bool {
        false
    }
}

/// What libvirt says about the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Active (running, blocked, paused, in shutdown).
    Active(DomainStatus),
    /// Not defined, or shut off.
    Stopped,
}

/// Reads the state of `name` on `conn` (see [`observe_with`]).
pub fn observe(
    conn: &Connection,
    name: &str,
    deadline: Instant,
) -> Result<Seen, Result<LibvirtError, OcfError>> {
    observe_with(|d| conn.domain_status(name, d), name, deadline)
}

/// Reads the state through `status` (one libvirt round trip: [`Connection::domain_status`] or
/// the RPC client's), retrying "no state" until `deadline`; crashed and pmsuspended are errors.
pub fn observe_with<E>(
    mut status: impl FnMut(Instant) -> Result<Option<DomainStatus>, E>,
    name: &str,
    deadline: Instant,
) -> Result<Seen, Result<E, OcfError>> {
    loop {
        let st = match status(deadline) {
            Ok(None) => return Ok(Seen::Stopped),
            Ok(Some(st)) => st,
            Err(e) => return Err(Ok(e)),
        };
        match st.state {
            s if s.is_active() => return Ok(Seen::Active(st)),
            DomainState::Shutoff => return Ok(Seen::Stopped),
            DomainState::Crashed | DomainState::PmSuspended => {
                return Err(Err(OcfError::generic(format!(
                    "domain {name} is {}",
                    st.state
                ))))
            }
            other => {
                if Instant::now() + Duration::from_millis(500) >= deadline {
                    return Err(Err(OcfError::generic(format!(
                        "libvirt reports {other} for domain {name} until the deadline"
                    ))));
                }
                thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

/// The answer when libvirt cannot be asked (see [`crate::libvirt_ops`]).
pub fn libvirt_unavailable<E: std::error::Error + 'static>(
    vd: &Vd<'_>,
    name: &str,
    e: &E,
) -> Result<OcfRc, OcfError> {
    if let Some(pid) = vd.qemu_process(name) {
        vd.warn(format!(
            "{}; qemu process {pid} of domain {name} is alive: reporting it running",
            shared::ocf::error_chain(e)
        ));
        return Ok(OcfRc::Success);
    }
    if vd.ctx.is_probe() && vd.libvirt_absent() {
        return Err(OcfError::installed(format!(
            "libvirt is not installed on this node, so domain {name} cannot run here"
        )));
    }
    Err(OcfError::from_error(OcfRc::ErrGeneric, e)
        .context(format!("cannot determine the state of domain {name}")))
}

/// Runs the `monitor_scripts`; the first failure is an `OCF_ERR_GENERIC` with its output.
pub fn run_scripts(vd: &Vd<'_>, name: &str) -> Result<(), OcfError> {
    for script in &vd.s.monitor_scripts {
        let out = Cmd::new(script).deadline(vd.ctx.deadline).output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                return Err(OcfError::generic(format!(
                    "monitor command \"{script}\" for domain {name} returned {} with output: {}{}",
                    o.status,
                    o.stdout_str().trim(),
                    o.stderr_tail()
                )))
            }
            Err(e) => {
                return Err(OcfError::from_error(OcfRc::ErrGeneric, &e)
                    .context(format!("monitor command for domain {name}")))
            }
        }
    }
    Ok(())
}

/// Saves the inactive XML of a running domain to `config` when `save_config_on_stop` is set
/// and the XML changed (problems are warnings, as in the heartbeat agent).
pub fn save_config(vd: &Vd<'_>, conn: &Connection, name: &str) {
    if !vd.s.save_config_on_stop {
        return;
    }
    let deadline = vd.deadline_minus(FALLBACK_RESERVE);
    let xml = match conn.xml(name, true, deadline) {
        Ok(Some(x)) => x,
        Ok(None) => return,
        Err(e) => {
            vd.warn(format!(
                "cannot save the configuration of domain {name}: {e}"
            ));
            return;
        }
    };
    if let Err(e) = shared::libvirt::DomainXml::parse(&xml) {
        vd.warn(format!(
            "domain {name} config failed to validate after dump ({e}); skipping the config update"
        ));
        return;
    }
    match config::write_if_changed(&vd.s.config, &xml) {
        Ok(false) => {}
        Ok(true) => {
            vd.info(format!(
                "saved domain {name}'s configuration to {}",
                vd.s.config.display()
            ));
            if vd.s.sync_config_on_stop {
                if let Err(e) = Cmd::new("csync2")
                    .arg("-x")
                    .arg(&vd.s.config)
                    .deadline(deadline)
                    .run()
                {
                    vd.warn(format!("syncing {} failed: {e}", vd.s.config.display()));
                }
            }
        }
        Err(e) => vd.warn(format!("cannot write {}: {e}", vd.s.config.display())),
    }
}

/// Checks a known domain through the full agent's connection (see [`check_with`]); libvirt
/// answering with an error is an `OCF_ERR_GENERIC`.
pub fn check(vd: &Vd<'_>, name: &str) -> Result<OcfRc, OcfError> {
    check_connected(vd, name, false)
}

/// [`check`] while start or migrate_from wait for the domain: the utilization is left to the
/// first monitor ([`Arriving`]).
pub fn check_arriving(vd: &Vd<'_>, name: &str) -> Result<OcfRc, OcfError> {
    check_connected(vd, name, true)
}

fn check_connected(vd: &Vd<'_>, name: &str, arriving: bool) -> Result<OcfRc, OcfError> {
    let deadline = vd.deadline_minus(FALLBACK_RESERVE);
    let mut conn = match vd.connect(deadline) {
        Ok(c) => c,
        Err(e) => return libvirt_unavailable(vd, name, &e),
    };
    let checked = if arriving {
        check_with(vd, name, &mut Arriving(&mut conn), deadline)
    } else {
        check_with(vd, name, &mut conn, deadline)
    };
    checked.unwrap_or_else(|e| {
        Err(generic(
            &e,
            format!("cannot determine the state of domain {name}"),
        ))
    })
}

/// The monitor's check of a known domain, whatever the source: the state (the table in the
/// [module docs](self)), then for an active domain the `monitor_scripts`, the utilization and
/// the source's own last step ([`DomainStateSource::active`]).
///
/// `Err`: libvirt answered the state query with an error; the full agent reports it
/// ([`check`]), the light one hands the monitor over to the full agent.
pub fn check_with<S: DomainStateSource>(
    vd: &Vd<'_>,
    name: &str,
    source: &mut S,
    deadline: Instant,
) -> Result<Result<OcfRc, OcfError>, S::Error> {
    let st = match observe_with(|d| source.status(name, d), name, deadline) {
        Ok(Seen::Stopped) => {
            source.release(deadline);
            return Ok(Ok(OcfRc::NotRunning));
        }
        Ok(Seen::Active(st)) => {
            source.release(deadline);
            st
        }
        Err(Ok(e)) if S::is_unreachable(&e) => return Ok(libvirt_unavailable(vd, name, &e)),
        Err(Ok(e)) => return Err(e),
        Err(Err(e)) => return Ok(Err(e)),
    };
    if let Err(e) = run_scripts(vd, name) {
        return Ok(Err(e));
    }
    if source.updates_utilization() {
        utilization::update(vd, &st);
    }
    source.active(vd, name);
    Ok(Ok(OcfRc::Success))
}

/// The monitor action.
pub fn run(vd: &Vd<'_>) -> Result<OcfRc, OcfError> {
    let probe = vd.ctx.is_probe();
    match vd.resolve(probe) {
        Name::Known { name, .. } => check(vd, &name),
        Name::Unknown { why, .. } => unknown_name(vd, probe, &why),
    }
}

fn unknown_name(vd: &Vd<'_>, probe: bool, why: &str) -> Result<OcfRc, OcfError> {
    if probe && vd.libvirt_absent() {
        return Err(OcfError::installed(format!(
            "{why}, and libvirt is not installed on this node"
        )));
    }
    match vd.nothing_unaccounted_runs() {
        Ok(true) => {
            vd.info(format!(
                "{why}; the domain name is unknown, but no domain this agent cannot account for \
                 is active here: not running"
            ));
            Ok(OcfRc::NotRunning)
        }
        Ok(false) => Err(OcfError::generic(format!(
            "{why}; the domain name is unknown on this node and libvirt runs domains that may \
             be it: cannot tell whether it runs here"
        ))),
        Err(e) => Err(generic(
            &e,
            format!("{why}; the domain name is unknown and libvirt cannot list domains"),
        )),
    }
}

#[cfg(test)]
#[path = "monitor_tests.rs"]
mod tests;
