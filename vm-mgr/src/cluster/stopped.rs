//! Confirming a Stopped before a caller deletes a VM's resources or rolls its disks back.

use std::time::{Duration, Instant};

use shared::pacemaker::{Cib, ClusterStatus, Target, Tools};

use super::read_cluster;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::state::{status_of, VmState};

/// Whether a Stopped is confirmed: [`Unconfirmed::No`], or the nodes it is not yet known on.
pub(super) enum Unconfirmed {
    /// Confirmed.
    No,
    /// Not known on these nodes (or not consistent on one CIB snapshot: then no node).
    On(Vec<String>),
}

/// Whether the Stopped that `cib` and `mon` show for VM `name` is the truth, before a caller
/// deletes its resources or rolls its disks back.
///
/// crm_mon computes it from the CIB's status section, which can be briefly incomplete: when a
/// node rejoins and its copy of the CIB wins the join's sync, the status section is replaced
/// and every node re-sends its operation history a moment later. In between, a VM still running
/// elsewhere looks Stopped (seen in CI: a resource deleted then kept running, orphaned). So it
/// is confirmed on one CIB snapshot: crm_mon run on that very CIB (`CIB_file`) says Stopped,
/// and every online node holds history of every member in it. Where a node has none (it never
/// probes it: `resource-discovery=never`), it is believed only while the DC is idle (no join,
/// no transition) both before and after a fresh read.
pub(super) fn stopped_for_sure(
    ctx: &Ctx,
    name: &str,
    cib: &Cib,
    mon: &ClusterStatus,
) -> Result<Unconfirmed> {
    let deadline = ctx.cib_deadline();
    let scratch = |source| Error::WriteFile {
        path: std::env::temp_dir().join("vmmgr-snapshot-*/cib.xml"),
        source,
    };
    let dir = shared::tempdir::PrivateDir::new("vmmgr-snapshot").map_err(scratch)?;
    let file = dir.write("cib.xml", cib.raw()).map_err(scratch)?;
    let snap = Tools::new(Target::File(file)).crm_mon_xml(deadline)?;
    if status_of(name, cib, &snap, Some(true)).state != VmState::Stopped {
        return Ok(Unconfirmed::On(Vec::new()));
    }
    let unknown = unknown_nodes(name, cib, mon, &snap);
    if unknown.is_empty() {
        return Ok(Unconfirmed::No);
    }
    let Some(dc) = mon.dc().map(|d| d.name.clone()) else {
        return Ok(Unconfirmed::On(unknown));
    };
    let dc_idle = || {
        ctx.tools
            .controller_state(&dc, Instant::now() + Duration::from_secs(5))
            .is_ok_and(|s| s.is_idle())
    };
    if !dc_idle() {
        return Ok(Unconfirmed::On(unknown));
    }
    let (cib2, mon2) = read_cluster(ctx)?;
    let same = mon2.dc().is_some_and(|d| d.name == dc)
        && status_of(name, &cib2, &mon2, Some(true)).state == VmState::Stopped
        && unknown_nodes(name, &cib2, &mon2, &mon2) == unknown;
    Ok(if same && dc_idle() {
        Unconfirmed::No
    } else {
        Unconfirmed::On(unknown)
    })
}

/// The nodes online in `mon` or `snap` whose status in `cib` lacks history of VM `name`.
fn unknown_nodes(name: &str, cib: &Cib, mon: &ClusterStatus, snap: &ClusterStatus) -> Vec<String> {
    let mut online: Vec<&str> = Vec::new();
    for n in mon.online_nodes().chain(snap.online_nodes()) {
        if !online.contains(&n.name.as_str()) {
            online.push(&n.name);
        }
    }
    crate::state::unknown_on(cib.element(), name, &online)
        .into_iter()
        .map(str::to_owned)
        .collect()
}
