//! stop: 0 only once the domain is known to be gone.
//!
//! Time plan (with `B` the budget before Pacemaker's timeout, see `shared::ocf::deadline`):
//! - `force_stop`: destroy at once;
//! - otherwise: `snapshot` (`virsh save`), `save_config_on_stop`, then a graceful shutdown with
//!   `shutdown_mode`, polled until `B − destroy reserve` where the reserve is `B/2` clamped to
//!   5–20 s (libvirt's destroy waits up to 10 s after SIGTERM before SIGKILL, longer with
//!   stuck storage); then destroy, retried while libvirt says the process is busy;
//! - libvirt calls end `kill reserve` (`B/4`, at most 8 s) before the deadline, so that when
//!   libvirtd is down or hangs the qemu process can still be killed through `/proc` (local
//!   qemu only; see [`crate::libvirt_ops`]).

use std::thread;
use std::time::{Duration, Instant};

use shared::cmd::Cmd;
use shared::libvirt::{process, Connection, LibvirtError};
use shared::ocf::{OcfError, OcfRc};

use crate::libvirt_ops::{generic, Name, Vd};
use crate::monitor::{self, Seen};

/// The time kept for destroy after the graceful phase.
pub fn destroy_reserve(budget: Duration) -> Duration {
    (budget / 2).clamp(Duration::from_secs(5), Duration::from_secs(20))
}

/// The time kept after the last libvirt call for killing qemu through `/proc`.
pub fn kill_reserve(budget: Duration) -> Duration {
    (budget / 4).min(Duration::from_secs(8))
}

fn budget(vd: &Vd<'_>) -> Duration {
    vd.ctx.deadline.saturating_duration_since(vd.ctx.started)
}

/// Stop without libvirt: see the table in [`crate::libvirt_ops`].
fn without_libvirt(vd: &Vd<'_>, name: &str, e: &LibvirtError) -> Result<OcfRc, OcfError> {
    if vd.libvirt_absent() {
        vd.info(format!(
            "libvirt is not installed here; domain {name} cannot be running"
        ));
        return Ok(OcfRc::Success);
    }
    if !vd.is_local_qemu() {
        return Err(generic(e, format!("cannot stop domain {name}")));
    }
    let why = shared::ocf::error_chain(e);
    match process::find_qemu_process(name) {
        None => {
            vd.warn(format!(
                "{why}; no qemu process of domain {name} exists on this node: it is stopped"
            ));
            Ok(OcfRc::Success)
        }
        Some(pid) => {
            vd.warn(format!(
                "{why}; killing qemu process {pid} of domain {name} directly"
            ));
            let grace = (vd.ctx.remaining() / 2).min(Duration::from_secs(5));
            if process::kill_qemu(pid, name, grace, vd.ctx.deadline) {
                vd.info(format!("qemu process {pid} of domain {name} is gone"));
                Ok(OcfRc::Success)
            } else {
                Err(OcfError::generic(format!(
                    "{why}; qemu process {pid} of domain {name} survived SIGKILL"
                )))
            }
        }
    }
}

/// Polls until the domain is stopped or `until`; `Ok(true)` when stopped.
fn wait_stopped(conn: &Connection, name: &str, until: Instant) -> Result<bool, LibvirtError> {
    loop {
        match monitor::observe(conn, name, until) {
            Ok(Seen::Stopped) => return Ok(true),
            Err(Ok(e)) if e.is_unreachable() => return Err(e),
            _ => {}
        }
        if Instant::now() + Duration::from_millis(500) >= until {
            return Ok(false);
        }
        thread::sleep(Duration::from_millis(500));
    }
}

fn save_snapshot(vd: &Vd<'_>, name: &str, until: Instant) -> bool {
    let Some(dir) = &vd.s.snapshot else {
        return false;
    };
    let image = dir.join(format!("{name}.state"));
    let mut cmd = Cmd::new("virsh");
    if let Some(uri) = vd.uri() {
        cmd = cmd.arg(format!("--connect={uri}"));
    }
    match cmd
        .args(["--quiet", "save", name])
        .arg(&image)
        .deadline(until)
        .run()
    {
        Ok(_) => true,
        Err(e) => {
            vd.warn(format!(
                "failed to save snapshot state of {name} on stop: {e}"
            ));
            false
        }
    }
}

fn destroy(vd: &Vd<'_>, conn: &Connection, name: &str, until: Instant) -> Result<OcfRc, OcfError> {
    vd.info(format!(
        "issuing forced shutdown (destroy) of domain {name}"
    ));
    let mut last: Option<LibvirtError> = None;
    loop {
        match conn.destroy(name, until) {
            Ok(_) => match wait_stopped(conn, name, until) {
                Ok(true) => return Ok(OcfRc::Success),
                Ok(false) => {}
                Err(e) => return without_libvirt(vd, name, &e),
            },
            Err(e) if e.is_unreachable() => return without_libvirt(vd, name, &e),
            Err(e) => {
                vd.warn(format!("{}; retrying", shared::ocf::error_chain(&e)));
                last = Some(e);
            }
        }
        if Instant::now() + Duration::from_secs(1) >= until {
            break;
        }
        thread::sleep(Duration::from_secs(1));
    }
    match last {
        Some(e) => Err(generic(&e, format!("forced stop of domain {name} failed"))),
        None => Err(OcfError::generic(format!(
            "domain {name} is still running after destroy"
        ))),
    }
}

fn stop_known(vd: &Vd<'_>, name: &str) -> Result<OcfRc, OcfError> {
    let b = budget(vd);
    let libvirt_until = vd.deadline_minus(kill_reserve(b));
    let conn = match vd.connect(libvirt_until) {
        Ok(c) => c,
        Err(e) => return without_libvirt(vd, name, &e),
    };
    match monitor::observe(&conn, name, libvirt_until) {
        Ok(Seen::Stopped) => {
            vd.info(format!("domain {name} already stopped"));
            return Ok(OcfRc::Success);
        }
        Ok(Seen::Active(_)) => {}
        Err(Ok(e)) if e.is_unreachable() => return without_libvirt(vd, name, &e),
        Err(Ok(e)) => vd.warn(shared::ocf::error_chain(&e)),
        Err(Err(e)) => vd.warn(e.reason),
    }
    if vd.s.force_stop {
        return destroy(vd, &conn, name, libvirt_until);
    }
    let graceful_until = vd.deadline_minus(kill_reserve(b) + destroy_reserve(b));
    let saved = save_snapshot(vd, name, graceful_until);
    monitor::save_config(vd, &conn, name);
    if !saved {
        vd.info(format!(
            "issuing graceful shutdown request for domain {name}"
        ));
        match conn.shutdown(name, &vd.s.shutdown_modes, graceful_until) {
            Ok(_) => {}
            Err(e) if e.is_unreachable() => return without_libvirt(vd, name, &e),
            Err(e) => vd.warn(shared::ocf::error_chain(&e)),
        }
    }
    match wait_stopped(&conn, name, graceful_until) {
        Ok(true) => {
            vd.info(format!("domain {name} shut down gracefully"));
            return Ok(OcfRc::Success);
        }
        Ok(false) => {}
        Err(e) => return without_libvirt(vd, name, &e),
    }
    destroy(vd, &conn, name, libvirt_until)
}

/// The stop action.
pub fn run(vd: &Vd<'_>) -> Result<OcfRc, OcfError> {
    match vd.resolve(true) {
        Name::Known { name, .. } => stop_known(vd, &name),
        Name::Unknown { why, .. } => {
            if vd.libvirt_absent() {
                vd.info(format!("{why}; libvirt is not installed here: stopped"));
                return Ok(OcfRc::Success);
            }
            match vd.nothing_unaccounted_runs() {
                Ok(true) => {
                    vd.info(format!(
                        "{why}; no domain this agent cannot account for is active here: stopped"
                    ));
                    Ok(OcfRc::Success)
                }
                Ok(false) => Err(OcfError::generic(format!(
                    "{why}; the domain name is unknown and libvirt runs domains that may be it: \
                     cannot make sure it is stopped"
                ))),
                Err(e) => Err(generic(
                    &e,
                    format!("{why}; the domain name is unknown and libvirt cannot list domains"),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserves() {
        let s = Duration::from_secs;
        assert_eq!(destroy_reserve(s(81)), s(20));
        assert_eq!(destroy_reserve(s(18)), s(9));
        assert_eq!(destroy_reserve(s(4)), s(5));
        assert_eq!(kill_reserve(s(81)), s(8));
        assert_eq!(kill_reserve(s(18)), Duration::from_millis(4500));
    }
}
