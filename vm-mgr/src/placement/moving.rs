//! Moving one VM to a node: preflight, a `crm_simulate` verdict, the time-limited move
//! constraint (INFINITY on the target, -INFINITY on the source alone, see
//! [`super::edit::move_constraint`]; one transaction; with `--offline` together with the
//! start), waiting with
//! progress until it runs there, and removing the constraint afterwards whatever happened
//! (success, failure, timeout, Ctrl-C): `MoveGuard` removes it on drop, and its
//! `date_expression` retires it by itself should vm-mgr die first. Used by `migrate` and
//! `undrain`.

use std::time::{Duration, Instant};

use serde::Serialize;
use shared::clock;
use shared::pacemaker::{Cib, Edit};

use super::preflight::{self, Finding, Preflight};
use super::{edit, simulate, PlacementError};
use crate::cluster::{
    change, current_status, interrupt, migrate_budget, not_enabled, read_cluster, set_role,
    wait_budget, wait_for, wait_guest_off, wait_state, BudgetError, Goal, Waited,
};
use crate::ctx::Ctx;
use crate::error::Result;
use crate::state::{VmState, VmStatus};

/// How to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoveOptions {
    /// Stop, move, start instead of a live migration.
    pub offline: bool,
    /// Offline: wait for the guest to power itself off instead of stopping it.
    pub wait_for_shutdown: bool,
    /// Offline: start the VM on the target afterwards.
    pub start_after: bool,
    /// Offline with `wait_for_shutdown`: how long the guest has.
    pub shutdown_timeout: Duration,
    /// How long to wait for the VM to run on the target (default: from its op timeouts).
    pub timeout: Option<Duration>,
}

/// What happened (or, with `--dry-run`, would happen).
#[derive(Debug, Clone, Serialize)]
pub struct MoveReport {
    /// VM name.
    pub name: String,
    /// Where it ran.
    pub from: Option<String>,
    /// The target.
    pub to: String,
    /// "live", "offline" or "none" (already there).
    pub how: &'static str,
    /// State afterwards.
    pub state: VmState,
    /// Node afterwards.
    pub node: Option<String>,
    /// Seconds it took.
    pub seconds: f64,
    /// Preflight warnings.
    pub warnings: Vec<Finding>,
    /// `--dry-run`: the CIB patch of the move constraint.
    pub cib_patch: Option<String>,
    /// `--dry-run`: what Pacemaker would do (crm_simulate).
    pub simulated_actions: Vec<String>,
}

/// Holds the VM's move constraint (and, offline, an `is-managed=false` override) and removes
/// them when released or dropped.
struct MoveGuard<'a> {
    ctx: &'a Ctx,
    name: String,
    constraint: bool,
    unmanaged: bool,
}

impl MoveGuard<'_> {
    /// Removes what it holds, in one transaction (after an interrupt too: a cleanup).
    fn release(&mut self) -> Result<()> {
        if !self.constraint && !self.unmanaged {
            return Ok(());
        }
        let _cleanup = interrupt::cleanup();
        let name = self.name.clone();
        let (c, u) = (self.constraint, self.unmanaged);
        change(self.ctx, |_cib, tree| {
            let mut changed = false;
            if c {
                changed |= edit::remove_move(tree, &name)?;
            }
            if u && crate::fragment::in_cib(tree, &name) {
                changed |= edit::set_group_meta(tree, &name, "is-managed", None)?;
            }
            Ok(if changed {
                Edit::Change(())
            } else {
                Edit::Unchanged(())
            })
        })?;
        self.constraint = false;
        self.unmanaged = false;
        Ok(())
    }
}

impl Drop for MoveGuard<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.release() {
            eprintln!(
                "vm-mgr: could not remove the move constraint of {}: {e} (it expires by itself)",
                self.name
            );
        }
    }
}

/// Runs the preflight and the simulation; `Err(Blocked)` when anything blocks the move.
pub fn preflight(
    ctx: &Ctx,
    cib: &Cib,
    mon: &shared::pacemaker::ClusterStatus,
    name: &str,
    target: &str,
    opts: &MoveOptions,
) -> Result<(Preflight, Option<simulate::Simulation>)> {
    let live = !opts.offline;
    let mut pf = preflight::check(cib, mon, name, target, live);
    if pf.already_there {
        return Ok((pf, None));
    }
    let mut sim = None;
    if pf.blockers.is_empty() {
        let mut tree = cib.element().clone();
        edit::put_move(
            &mut tree,
            name,
            target,
            pf.source.as_deref(),
            &clock::pacemaker_date(clock::unix_secs() + 3600),
        )
        .map_err(super::edit_error)?;
        if opts.offline && opts.start_after {
            crate::fragment::set_target_role(&mut tree, name, "Started")
                .map_err(super::edit_error)?;
        }
        // The target's libvirt is asked while crm_simulate runs: both take a process and
        // most of a second on a busy node. A libvirt blocker wins over the simulation.
        let probe = live && !ctx.offline;
        let (unreachable, s) = std::thread::scope(|scope| {
            let asked = probe.then(|| scope.spawn(|| preflight::libvirt_check(cib, name, target)));
            let s = simulate::simulate(&tree);
            let unreachable = asked.and_then(|h| {
                h.join().unwrap_or_else(|_| {
                    Some(Finding {
                        check: "libvirt-unreachable",
                        message: format!("asking libvirt on {target} failed"),
                    })
                })
            });
            (unreachable, s)
        });
        if let Some(blocker) = unreachable {
            pf.blockers.push(blocker);
            return Err(blocked(name, target, &pf));
        }
        let s = s?;
        let nodes = s.vm_nodes(name);
        if opts.start_after && nodes != [target] {
            let end = if nodes.is_empty() {
                "stopped".to_owned()
            } else {
                format!("on {}", nodes.join(", "))
            };
            pf.blockers.push(Finding {
                check: "simulation",
                message: format!(
                    "Pacemaker would not place it on {target}: it would end up {end} \
                     (crm_simulate)"
                ),
            });
        }
        sim = Some(s);
    }
    if !pf.blockers.is_empty() {
        return Err(blocked(name, target, &pf));
    }
    Ok((pf, sim))
}

/// The error of a move the preflight blocks.
fn blocked(name: &str, target: &str, pf: &Preflight) -> crate::error::Error {
    PlacementError::Blocked {
        name: name.to_owned(),
        node: target.to_owned(),
        reasons: pf.blockers.iter().map(|b| b.message.clone()).collect(),
    }
    .into()
}

/// Moves VM `name` to `target` (see the module documentation).
pub fn move_vm(ctx: &Ctx, name: &str, target: &str, opts: &MoveOptions) -> Result<MoveReport> {
    let start = Instant::now();
    let (cib, mon) = read_cluster(ctx)?;
    if !crate::fragment::in_cib(cib.element(), name) {
        return Err(not_enabled(ctx, name));
    }
    let (pf, sim) = preflight(ctx, &cib, &mon, name, target, opts)?;
    let mut report = MoveReport {
        name: name.to_owned(),
        from: pf.source.clone(),
        to: target.to_owned(),
        how: if opts.offline { "offline" } else { "live" },
        state: VmState::Started,
        node: pf.source.clone(),
        seconds: 0.0,
        warnings: pf.warnings.clone(),
        cib_patch: None,
        simulated_actions: sim.as_ref().map(|s| s.describe()).unwrap_or_default(),
    };
    for w in &pf.warnings {
        ctx.progress.say(&format!("warning: {}", w.message));
    }
    if pf.already_there {
        report.how = "none";
        return Ok(report);
    }
    // Before the first write: a VM whose op timeouts cannot be read is refused here.
    let budget = move_budget(&cib, name, opts)?;
    let until = clock::pacemaker_date(clock::unix_secs() + budget.as_secs() + 120);
    let add_move = |tree: &mut shared::pacemaker::xml::Element| {
        let mut changed = edit::put_move(tree, name, target, pf.source.as_deref(), &until)?;
        if opts.offline && opts.start_after {
            changed |= crate::fragment::set_target_role(tree, name, "Started")?;
        }
        Ok(changed)
    };
    if ctx.dry_run {
        let planned = change(ctx, |_cib, tree| {
            add_move(tree)?;
            Ok(Edit::Change(()))
        })?;
        report.cib_patch = planned.patch;
        report.how = if opts.offline { "offline" } else { "live" };
        return Ok(report);
    }
    interrupt::install();
    let mut guard = MoveGuard {
        ctx,
        name: name.to_owned(),
        constraint: false,
        unmanaged: false,
    };
    if opts.offline && report.from.is_some() {
        stop_first(ctx, &cib, name, opts, &mut guard)?;
    }
    if opts.offline && !opts.start_after {
        let st = current_status(ctx, name)?;
        report.state = st.state;
        report.node = st.node;
        report.seconds = start.elapsed().as_secs_f64();
        return Ok(report);
    }
    ctx.progress.say(&format!(
        "{name}: moving {}to {target} ({} migration, up to {}s)",
        report
            .from
            .as_deref()
            .map(|f| format!("from {f} "))
            .unwrap_or_default(),
        report.how,
        budget.as_secs()
    ));
    guard.constraint = true;
    let applied = change(ctx, |_cib, tree| {
        add_move(tree)?;
        Ok(Edit::Change(()))
    });
    if let Err(e) = applied {
        guard.constraint = false;
        return Err(e);
    }
    let st = wait_then_release(ctx, name, target, budget, start, guard)?;
    report.state = st.state;
    report.node = st.node;
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Waits for the VM to run on `target` ([`Goal::StartedOn`]), then removes the move
/// constraint whatever happened; the error says whether that removal worked.
fn wait_then_release(
    ctx: &Ctx,
    name: &str,
    target: &str,
    budget: Duration,
    start: Instant,
    mut guard: MoveGuard<'_>,
) -> Result<VmStatus> {
    let held_by = super::move_id(name);
    let goal = Goal::StartedOn {
        node: target,
        held_by: &held_by,
    };
    let waited = wait_for(ctx, name, goal, budget, start);
    let released = guard.release();
    let cleanup = match &released {
        Ok(()) => "the move constraint was removed".to_owned(),
        Err(e) => format!("removing the move constraint failed ({e}); it expires by itself"),
    };
    let st = match waited {
        Ok(st) => st,
        Err(Waited::Interrupted) => {
            return Err(PlacementError::Interrupted {
                name: name.to_owned(),
                cleanup,
            }
            .into())
        }
        Err(Waited::Timeout { state, .. }) => {
            return Err(PlacementError::Timeout {
                name: name.to_owned(),
                node: target.to_owned(),
                secs: budget.as_secs(),
                state,
                cleanup,
            }
            .into())
        }
        Err(Waited::Failed(e)) => return Err(e),
    };
    released?;
    Ok(st)
}
/// How long a move may take: `--timeout`, else (offline) stop + start or (live) the
/// migration, from the op timeouts ([`crate::cluster::budget`]).
/// Every budget is computed, also under `--timeout`, so that the later waits of an offline
/// move (stop, then start) cannot fail on an op timeout after the first write.
fn move_budget(cib: &Cib, name: &str, opts: &MoveOptions) -> Result<Duration, BudgetError> {
    let offline = wait_budget(cib, name, "stop")?.saturating_add(wait_budget(cib, name, "start")?);
    let live = migrate_budget(cib, name)?;
    Ok(opts
        .timeout
        .unwrap_or(if opts.offline { offline } else { live }))
}

/// Offline: stop the VM where it runs, or with `wait_for_shutdown` let the guest power itself
/// off (Pacemaker told not to restart it meanwhile: `is-managed=false`).
fn stop_first(
    ctx: &Ctx,
    cib: &Cib,
    name: &str,
    opts: &MoveOptions,
    guard: &mut MoveGuard<'_>,
) -> Result<()> {
    if !opts.wait_for_shutdown {
        ctx.progress.say(&format!("{name}: stopping"));
        set_role(ctx, name, "Stopped")?;
        wait_state(ctx, name, VmState::Stopped, wait_budget(cib, name, "stop")?)?;
        return Ok(());
    }
    guard.unmanaged = true;
    change(ctx, |_cib, tree| {
        edit::set_group_meta(tree, name, "is-managed", Some("false"))?;
        Ok(Edit::Change(()))
    })?;
    let secs = opts.shutdown_timeout.as_secs();
    let domain = crate::vm::VmIds::new(name).domain();
    ctx.progress.say(&format!(
        "{name}: waiting up to {secs}s for the guest to power itself off (shut it down from \
         inside the guest); Pacemaker will not restart it meanwhile"
    ));
    match wait_guest_off(ctx, &domain, opts.shutdown_timeout) {
        Ok(()) => {}
        Err(Waited::Interrupted) => {
            return Err(PlacementError::Interrupted {
                name: name.to_owned(),
                cleanup: "Pacemaker manages it again".into(),
            }
            .into())
        }
        Err(Waited::Timeout { node, .. }) => {
            return Err(PlacementError::NoShutdown {
                name: name.to_owned(),
                node: node.unwrap_or_default(),
                secs,
            }
            .into())
        }
        Err(Waited::Failed(e)) => return Err(e),
    }
    ctx.progress.say(&format!(
        "{name}: the guest is off; recording it as stopped"
    ));
    change(ctx, |_cib, tree| {
        crate::fragment::set_target_role(tree, name, "Stopped")?;
        edit::set_group_meta(tree, name, "is-managed", None)?;
        Ok(Edit::Change(()))
    })?;
    guard.unmanaged = false;
    wait_state(ctx, name, VmState::Stopped, wait_budget(cib, name, "stop")?)?;
    // The monitor that saw the guest gone counted as a failure; forget it.
    if let Err(e) = ctx.tools.cleanup_resource(name, ctx.cib_deadline()) {
        ctx.progress.say(&format!(
            "warning: cleaning up the failure record failed: {e}"
        ));
    }
    Ok(())
}
