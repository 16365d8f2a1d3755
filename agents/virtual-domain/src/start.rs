//! start: 0 if already running; otherwise fetch the XML from RBD (if configured), restore a
//! snapshot or create the domain (transient, like `virsh create`; with `backingfile`, define +
//! start on a qcow2 overlay), then wait, within the deadline, until a monitor succeeds.
//!
//! A same-name *persistent* domain is never undefined (heartbeat defect #6: `undefine` deletes
//! the XML libvirt manages). `virDomainCreateXML` starts our XML as the live definition over an
//! inactive persistent domain with the same UUID and keeps its persistent definition; with a
//! different UUID libvirt refuses, and the start fails with `OCF_ERR_INSTALLED` and a reason
//! saying what to do.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use shared::cmd::Cmd;
use shared::libvirt::{Connection, DomainXml};
use shared::ocf::{OcfError, OcfRc};

use crate::config::{self, ConfigError};
use crate::libvirt_ops::{generic, Vd};
use crate::monitor::{self, Seen};

fn config_error(e: &ConfigError) -> OcfError {
    OcfError::from_error(OcfRc::ErrInstalled, e)
}

/// Starts pools and networks named in the XML (`start_resources`).
pub fn start_resources(
    conn: &Connection,
    dom: &DomainXml,
    deadline: Instant,
) -> Result<(), OcfError> {
    for pool in &dom.pools {
        conn.ensure_pool(pool, deadline).map_err(|e| {
            generic(
                &e,
                format!("failed to start required virtual storage pool {pool}"),
            )
        })?;
    }
    for net in &dom.networks {
        conn.ensure_network(net, deadline).map_err(|e| {
            generic(
                &e,
                format!("failed to start required virtual network {net}"),
            )
        })?;
    }
    Ok(())
}

/// The qcow2 overlay of `config` (heartbeat: `${config%%.*}.qcow2`).
pub fn overlay_path(config: &Path) -> PathBuf {
    config.with_extension("qcow2")
}

fn backing_format(backing: &Path, deadline: Instant) -> Result<String, OcfError> {
    let out = Cmd::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(backing)
        .deadline(deadline)
        .run_string()
        .map_err(|e| {
            OcfError::from_error(OcfRc::ErrGeneric, &e).context("cannot inspect the backing file")
        })?;
    let format = out
        .split("\"format\":")
        .nth(1)
        .and_then(|rest| rest.split('"').nth(1))
        .unwrap_or("raw");
    Ok(format.to_owned())
}

fn start_on_overlay(
    vd: &Vd<'_>,
    conn: &Connection,
    name: &str,
    xml: &str,
    backing: &Path,
    deadline: Instant,
) -> Result<(), OcfError> {
    let overlay = overlay_path(&vd.s.config);
    let fresh = vd.s.stateless || fs::metadata(&overlay).map(|m| m.len() == 0).unwrap_or(true);
    if fresh {
        let fmt = backing_format(backing, deadline)?;
        Cmd::new("qemu-img")
            .args(["create", "-f", "qcow2", "-F", &fmt, "-b"])
            .arg(backing)
            .arg(&overlay)
            .deadline(deadline)
            .run()
            .map_err(|e| {
                OcfError::from_error(OcfRc::ErrGeneric, &e).context(format!(
                    "failed qemu-img create {name} with backing file {}",
                    backing.display()
                ))
            })?;
    }
    conn.define(name, xml, deadline)
        .map_err(|e| generic(&e, format!("failed to define virtual domain {name}")))?;
    if fresh && !vd.s.copyindirs.is_empty() {
        Cmd::new("virt-copy-in")
            .args(["-d", name])
            .args(&vd.s.copyindirs)
            .arg("/")
            .deadline(deadline)
            .run()
            .map_err(|e| {
                OcfError::from_error(OcfRc::ErrGeneric, &e)
                    .context(format!("failed on virt-copy-in for {name}"))
            })?;
    }
    conn.start_defined(name, deadline)
        .map_err(|e| generic(&e, format!("failed to start virtual domain {name}")))
}

/// A monitor's check of a domain that is arriving ([`monitor::check_arriving`]).
pub type ArrivingCheck = dyn Fn(&Vd<'_>, &str) -> Result<OcfRc, OcfError>;

/// Waits until a full monitor (state and monitor scripts) succeeds, within the deadline. The
/// CIB utilization is left to the first monitor ([`monitor::Arriving`]).
pub fn wait_until_up(vd: &Vd<'_>, name: &str, what: &str) -> Result<OcfRc, OcfError> {
    wait_until_up_with(vd, name, what, &monitor::check_arriving)
}

/// [`wait_until_up`] with another check of the arriving domain (the light agent's goes
/// through libvirt's RPC protocol instead of its client library).
pub fn wait_until_up_with(
    vd: &Vd<'_>,
    name: &str,
    what: &str,
    check: &ArrivingCheck,
) -> Result<OcfRc, OcfError> {
    loop {
        let last = match check(vd, name) {
            Ok(OcfRc::Success) => return Ok(OcfRc::Success),
            Ok(rc) => format!("monitor returned {rc}"),
            Err(e) => e.reason,
        };
        if vd.ctx.remaining() < Duration::from_secs(2) {
            return Err(OcfError::generic(format!(
                "domain {name} {what} within {:.0} s: {last}",
                vd.ctx.started.elapsed().as_secs_f64()
            )));
        }
        thread::sleep(Duration::from_millis(500));
    }
}

/// Refuses to start a second copy of a guest: a disk file of it that some QEMU holds open for
/// writing (its image lock, seen across nodes on OCFS2, GFS2 and NFSv4) means it runs elsewhere.
fn refuse_disks_in_use(dom: &shared::libvirt::DomainXml) -> Result<(), OcfError> {
    for file in &dom.writable_files {
        let path = std::path::Path::new(file);
        if let Ok(true) = shared::libvirt::image_lock::open_for_writing(path) {
            return Err(OcfError::generic(format!(
                "disk {file} of domain {} is open for writing by another QEMU (its image lock is \
                 held: the guest runs elsewhere?); not starting a second copy",
                dom.name
            )));
        }
    }
    Ok(())
}

/// The start action.
pub fn run(vd: &Vd<'_>) -> Result<OcfRc, OcfError> {
    let deadline = vd.deadline_minus(Duration::from_secs(1));
    // The XML is fetched from RBD while libvirt is connected to: neither needs the other.
    let (fetched, conn) = std::thread::scope(|scope| {
        let fetch = vd.s.rbd.as_ref().map(|rbd| {
            let (config, until) = (&vd.s.config, vd.deadline_minus(vd.ctx.remaining() / 2));
            scope.spawn(move || config::fetch_rbd_xml(rbd, config, until))
        });
        let conn = vd.connect(deadline);
        let fetched = fetch.map(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (fetched, conn)
    });
    if let Some(f) = fetched {
        f?;
    }
    let (xml, dom) = config::read_config(&vd.s.config).map_err(|e| config_error(&e))?;
    let name = dom.name.clone();
    vd.remember(&name);
    if let Some(w) = config::systemd_drop_ins(deadline) {
        vd.warn(w);
    }
    let conn = conn.map_err(|e| {
        if vd.libvirt_absent() {
            OcfError::installed(format!("libvirt is not installed on this node: {e}"))
        } else {
            generic(&e, format!("cannot start domain {name}"))
        }
    })?;
    match monitor::observe(&conn, &name, deadline) {
        Ok(Seen::Active(_)) => {
            vd.info(format!("virtual domain {name} already running"));
            return Ok(OcfRc::Success);
        }
        Ok(Seen::Stopped) => {}
        Err(Err(e)) => {
            vd.warn(format!("{}; destroying it before starting", e.reason));
            conn.destroy(&name, deadline)
                .map_err(|e| generic(&e, format!("cannot clean up domain {name}")))?;
        }
        Err(Ok(e)) => return Err(generic(&e, format!("cannot start domain {name}"))),
    }
    refuse_disks_in_use(&dom)?;
    if !vd.instance().is_empty() {
        vd.state.clear_util_cache(vd.instance());
    }
    if let Some(dir) = &vd.s.snapshot {
        let image = dir.join(format!("{name}.state"));
        if image.is_file() {
            let path = image.to_string_lossy().into_owned();
            conn.restore(&path, deadline).map_err(|e| {
                generic(
                    &e,
                    format!(
                        "failed to restore {name} from state file in {}",
                        dir.display()
                    ),
                )
            })?;
            if let Err(e) = fs::remove_file(&image) {
                vd.warn(format!("cannot remove {path}: {e}"));
            }
            return wait_until_up(vd, &name, "was restored but did not come up");
        }
    }
    if vd.s.start_resources {
        start_resources(&conn, &dom, deadline)?;
    }
    match &vd.s.backingfile {
        Some(backing) => start_on_overlay(vd, &conn, &name, &xml, backing, deadline)?,
        None => {
            if let Err(e) = conn.create(&name, &xml, deadline) {
                if let Ok(Some(true)) = conn.is_persistent(&name, deadline) {
                    return Err(OcfError::installed(format!(
                        "failed to start virtual domain {name}: {}; a persistent domain of \
                         that name is defined on this node and the agent does not undefine \
                         it (that would delete its XML): undefine it, or give the config the \
                         same UUID",
                        shared::ocf::error_chain(&e)
                    )));
                }
                return Err(generic(
                    &e,
                    format!("failed to start virtual domain {name}"),
                ));
            }
        }
    }
    vd.info(format!("virtual domain {name} created"));
    wait_until_up(vd, &name, "was created but did not come up")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_next_to_config() {
        assert_eq!(
            overlay_path(Path::new("/var/lib/vms/vm1.xml")),
            PathBuf::from("/var/lib/vms/vm1.qcow2")
        );
    }
}
