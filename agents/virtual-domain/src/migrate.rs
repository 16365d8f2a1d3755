//! migrate_to / migrate_from.
//!
//! migrate_to: the domain must be active here; the remote and data URIs are built as in
//! [`crate::uri`]; the destination's connection opens while this node's is opened and checked
//! ([`Destination`]); a live migration runs through `virDomainMigrate3` (or
//! `virDomainMigrateToURI3` with `--p2p`), bounded by the deadline (on expiry the job is aborted
//! with `virsh domjobabort` and the domain keeps running here). A target that cannot be reached
//! fails at once with the libvirt reason. If libvirt reports an error but the domain has left
//! this node and runs on the target (heartbeat defect #7), the migration counts as done.
//!
//! migrate_from: waits until the domain runs here and the monitor scripts pass, no longer than
//! its own deadline (heartbeat defect #3: unbounded loop). On `qemu:///system` the light
//! binary answers it through libvirt's RPC protocol ([`crate::light`]): by then libvirt has
//! handed the domain over, and loading libvirt's client library would be most of its time.

use std::thread;
use std::time::{Duration, Instant};

use shared::clock;
use shared::cmd::Cmd;
use shared::libvirt::{Connection, Destination, MigrateFlag, MigrateRequest, MigrateTarget};
use shared::ocf::{OcfError, OcfRc};

use crate::config;
use crate::libvirt_ops::{generic, Name, Vd};
use crate::monitor::{self, Seen};
use crate::params::valid_host_part;
use crate::start;
use crate::uri::{self, DataUriInput, RemoteUriInput};

fn node_meta(vd: &Vd<'_>, which: &str) -> Result<String, OcfError> {
    let meta = vd.ctx.env.meta();
    let value = if which == "migrate_target" {
        meta.migrate_target()
    } else {
        meta.migrate_source()
    };
    match value {
        Some(n) if valid_host_part(n) => Ok(n.to_owned()),
        Some(n) => Err(OcfError::args(format!(
            "meta attribute {which} '{n}' is not a node name"
        ))),
        None => Err(OcfError::args(format!(
            "{} needs the meta attribute {which}, which Pacemaker sets for migrations",
            vd.ctx.action
        ))),
    }
}

fn known_name(vd: &Vd<'_>) -> Result<String, OcfError> {
    match vd.resolve(false) {
        Name::Known { name, .. } => Ok(name),
        Name::Unknown { why, .. } => Err(OcfError::installed(why)),
    }
}

/// Builds the migration request from the settings.
pub fn request(vd: &Vd<'_>, data_uri: Option<String>) -> MigrateRequest {
    let o = &vd.s.migrate_options;
    let mut flags = vec![MigrateFlag::Live];
    flags.extend(o.flags.iter().copied());
    let speed = Some(vd.s.migration_speed_mib).filter(|s| *s > 0);
    MigrateRequest {
        flags,
        data_uri,
        bandwidth_mib: o.bandwidth_mib.or(speed),
        listen_address: o.listen_address.clone(),
        parallel_connections: o.parallel_connections,
        compression: o.compression.clone(),
        tls_destination: o.tls_destination.clone(),
    }
}

fn random_seed() -> u64 {
    let nanos = clock::since_epoch().subsec_nanos();
    u64::from(nanos) ^ u64::from(std::process::id())
}

/// The migrate_to action.
pub fn migrate_to(vd: &Vd<'_>) -> Result<OcfRc, OcfError> {
    let target = node_meta(vd, "migrate_target")?;
    let name = known_name(vd)?;
    let deadline = vd.deadline_minus(Duration::from_secs(3));
    // A managed migration's destination connection opens while this node's is checked.
    let early = match vd.uri() {
        Some(h) if !vd.s.migrate_options.p2p => {
            let remote = remote_uri(vd, h, &target)?;
            let dest = Destination::open(&remote)
                .map_err(|e| generic(&e, format!("{name}: cannot migrate to {target}")))?;
            Some((remote, dest))
        }
        _ => None,
    };
    let conn = vd
        .connect(deadline)
        .map_err(|e| generic(&e, format!("{name}: cannot migrate to {target}")))?;
    match monitor::observe(&conn, &name, deadline) {
        Ok(Seen::Active(_)) => {}
        Ok(Seen::Stopped) => {
            return Err(OcfError::generic(format!(
                "{name}: migrate_to: not active locally"
            )))
        }
        Err(Ok(e)) => return Err(generic(&e, format!("{name}: migrate_to"))),
        Err(Err(e)) => return Err(e.context(format!("{name}: migrate_to"))),
    }
    let (remote, data) = uris(vd, &conn, &name, &target, deadline)?;
    prepare(vd, &conn, &name, &target, &remote, deadline)?;
    let req = request(vd, data.clone());
    let mig_target = match early {
        Some((early_remote, dest)) if early_remote == remote => {
            MigrateTarget::ManagedOpened { dest }
        }
        _ if vd.s.migrate_options.p2p => MigrateTarget::PeerToPeer {
            dest_uri: remote.clone(),
        },
        _ => MigrateTarget::Managed {
            dest_uri: remote.clone(),
        },
    };
    vd.info(format!(
        "{name}: starting live migration to {target} (remote URI {remote}, data URI {}, flags \
         {:#x})",
        data.as_deref().unwrap_or("chosen by libvirt"),
        req.flag_bits()
    ));
    match conn.migrate(&name, mig_target, &req, deadline) {
        Ok(()) => {
            vd.info(format!("{name}: live migration to {target} succeeded"));
            Ok(OcfRc::Success)
        }
        Err(err) => failed(vd, &conn, &name, &target, &remote, &err, deadline),
    }
}

/// The remote (control) URI of the target.
fn remote_uri(vd: &Vd<'_>, hypervisor: &str, target: &str) -> Result<String, OcfError> {
    uri::remote_uri(&RemoteUriInput {
        hypervisor,
        target,
        remoteuri: vd.s.remoteuri.as_deref(),
        transport: vd.s.migration_transport.as_deref(),
        user: vd.s.migration_user.as_deref(),
        suffix: vd.s.migration_network_suffix.as_deref(),
    })
    .map_err(OcfError::configured)
}

/// The remote (control) URI of the target, and the data URI (`None`: libvirt chooses).
fn uris(
    vd: &Vd<'_>,
    conn: &Connection,
    name: &str,
    target: &str,
    deadline: Instant,
) -> Result<(String, Option<String>), OcfError> {
    let hypervisor = match vd.uri() {
        Some(u) => u.to_owned(),
        None => conn
            .actual_uri(deadline)
            .map_err(|e| generic(&e, format!("{name}: migrate_to")))?,
    };
    let remote = remote_uri(vd, &hypervisor, target)?;
    let data = uri::data_uri(&DataUriInput {
        hypervisor: &hypervisor,
        target,
        migrateuri: vd.s.migrateuri.as_deref(),
        options_migrateuri: vd.s.migrate_options.migrateuri.as_deref(),
        suffix: vd.s.migration_network_suffix.as_deref(),
        port: vd
            .s
            .migrateport
            .unwrap_or_else(|| uri::random_port(random_seed())),
    })
    .unwrap_or_else(|w| {
        vd.warn(format!("{name}: {w}"));
        None
    });
    Ok((remote, data))
}

/// Before the migration: the domain's configuration saved, its resources (networks, pools)
/// started on the target when asked, the allowed downtime set.
fn prepare(
    vd: &Vd<'_>,
    conn: &Connection,
    name: &str,
    target: &str,
    remote: &str,
    deadline: Instant,
) -> Result<(), OcfError> {
    monitor::save_config(vd, conn, name);
    if vd.s.start_resources {
        match config::read_config(&vd.s.config) {
            Ok((_, dom)) => {
                let rconn = Connection::open(Some(remote), deadline)
                    .map_err(|e| generic(&e, format!("{name}: cannot reach {target}")))?;
                start::start_resources(&rconn, &dom, deadline)?;
            }
            Err(e) => vd.warn(format!(
                "{name}: start_resources skipped: {}",
                shared::ocf::error_chain(&e)
            )),
        }
    }
    if vd.s.migration_downtime_ms > 0 {
        if let Err(e) = conn.set_max_downtime(name, vd.s.migration_downtime_ms, deadline) {
            vd.warn(format!(
                "{name}: cannot set the migration downtime: {}",
                shared::ocf::error_chain(&e)
            ));
        }
    }
    Ok(())
}

/// After libvirt reported `err`: a timeout aborts the job; a failure is checked against
/// where the domain really is (libvirt may report one though the domain moved).
fn failed(
    vd: &Vd<'_>,
    conn: &Connection,
    name: &str,
    target: &str,
    remote: &str,
    err: &shared::libvirt::LibvirtError,
    deadline: Instant,
) -> Result<OcfRc, OcfError> {
    if err.is_timeout() {
        let mut cmd = Cmd::new("virsh");
        if let Some(u) = vd.uri() {
            cmd = cmd.arg(format!("--connect={u}"));
        }
        if let Err(e) = cmd
            .args(["--quiet", "domjobabort", name])
            .deadline(vd.ctx.deadline)
            .run()
        {
            vd.warn(format!("{name}: cannot abort the migration job: {e}"));
        }
        return Err(generic(
            err,
            format!("{name}: live migration to {target} did not finish in time and was aborted"),
        ));
    }
    // Defect #7: libvirt may report a failure although the domain moved.
    if let Ok(Seen::Stopped) = monitor::observe(conn, name, deadline) {
        if let Ok(rconn) = Connection::open(Some(remote), deadline) {
            if let Ok(Seen::Active(_)) = monitor::observe(&rconn, name, deadline) {
                vd.warn(format!(
                    "{name}: libvirt reported {}, but the domain now runs on {target}: \
                     migration done",
                    shared::ocf::error_chain(err)
                ));
                return Ok(OcfRc::Success);
            }
        }
    }
    Err(generic(
        err,
        format!("{name}: live migration to {target} failed"),
    ))
}

/// The migrate_from action. With `rbd_xml_source` and a config file that already names the
/// domain, the XML is fetched from RBD while the domain arrives (a fetch costs an `rbd` run,
/// as long as the rest of the action); its failure still fails the action, and a fetched XML
/// that names another domain is waited for too. Without a usable config file the fetch comes
/// first, as the name depends on it.
pub fn migrate_from(vd: &Vd<'_>) -> Result<OcfRc, OcfError> {
    migrate_from_with(vd, &monitor::check_arriving)
}

/// [`migrate_from`] with another check of the arriving domain (the light agent answers
/// migrate_from through libvirt's RPC protocol, without loading libvirt's client library).
pub fn migrate_from_with(vd: &Vd<'_>, check: &start::ArrivingCheck) -> Result<OcfRc, OcfError> {
    let source = node_meta(vd, "migrate_source")?;
    let fetching = match &vd.s.rbd {
        Some(rbd) => {
            let deadline = vd.deadline_minus(vd.ctx.remaining() / 2);
            if config::read_config(&vd.s.config).is_ok() {
                let (rbd, path) = (rbd.clone(), vd.s.config.clone());
                Some(thread::spawn(move || {
                    config::fetch_rbd_xml(&rbd, &path, deadline)
                }))
            } else {
                config::fetch_rbd_xml(rbd, &vd.s.config, deadline)?;
                None
            }
        }
        None => None,
    };
    let name = known_name(vd)?;
    if let Some(w) = config::systemd_drop_ins(vd.ctx.deadline) {
        vd.warn(w);
    }
    if !vd.instance().is_empty() {
        vd.state.clear_util_cache(vd.instance());
    }
    let what = format!("did not arrive from {source}");
    let arrived = start::wait_until_up_with(vd, &name, &what, check);
    if let Some(fetch) = fetching {
        fetch.join().unwrap_or_else(|_| {
            Err(OcfError::generic(
                "fetching the domain XML from RBD failed: its thread panicked",
            ))
        })?;
        let fetched = known_name(vd)?;
        if fetched != name {
            start::wait_until_up_with(vd, &fetched, &what, check)?;
            vd.info(format!("{fetched}: live migration from {source} succeeded"));
            return Ok(OcfRc::Success);
        }
    }
    arrived?;
    vd.info(format!("{name}: live migration from {source} succeeded"));
    Ok(OcfRc::Success)
}
