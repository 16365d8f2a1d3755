//! Reading the resource's state (`drbdsetup events2 --now`) and acting on it: monitor, the
//! promotion score, notifications.

use std::time::Duration;

use shared::drbd::{decide, events2_now, ConnectionState, Events2, ResourceStatus, Role, Summary};
use shared::ocf::{log, Context, OcfError, OcfRc};

use crate::promotion;
use crate::validate::Setup;

/// The resource's state as the actions see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Not configured in the kernel (why, for messages).
    Stopped(&'static str),
    /// Configured, Secondary.
    Unpromoted(ResourceStatus),
    /// Configured, Primary.
    Promoted(ResourceStatus),
}

impl State {
    /// The OCF code a monitor reports for this state.
    pub fn rc(&self) -> OcfRc {
        match self {
            State::Stopped(_) => OcfRc::NotRunning,
            State::Unpromoted(_) => OcfRc::Success,
            State::Promoted(_) => OcfRc::RunningPromoted,
        }
    }

    /// The resource status when configured.
    pub fn status(&self) -> Option<&ResourceStatus> {
        match self {
            State::Stopped(_) => None,
            State::Unpromoted(s) | State::Promoted(s) => Some(s),
        }
    }
}

/// Reads the state; failures (drbdsetup missing, timing out, unparsable output) are errors:
/// "cannot tell" is never reported as "stopped".
pub fn read(ctx: &Context, setup: &Setup) -> Result<State, OcfError> {
    match events2_now(&setup.settings.resource, ctx.deadline) {
        Ok(Events2::NotConfigured { why }) => Ok(State::Stopped(why)),
        Ok(Events2::Configured(s)) if s.role == Role::Primary => Ok(State::Promoted(s)),
        Ok(Events2::Configured(s)) => Ok(State::Unpromoted(s)),
        Err(e) if e.is_not_installed() => Err(OcfError::installed(
            "drbdsetup is not installed (drbd-utils)",
        )),
        Err(e) => Err(OcfError::from_error(OcfRc::ErrGeneric, &e)),
    }
}

/// Recomputes and applies the promotion score for `state` (`force`: see
/// [`promotion::apply`]).
pub fn update_score(ctx: &Context, setup: &Setup, state: &State, force: bool) {
    let Some(status) = state.status() else {
        promotion::apply(ctx, shared::drbd::ScoreAction::Remove, force);
        return;
    };
    let summary = Summary::of(status);
    let decision = decide(&summary, &setup.settings.score(), || {
        pacemaker_knows_primary(ctx, setup)
    });
    log::debug(format!(
        "{}: score {:?} ({})",
        setup.settings.resource, decision.action, decision.reason
    ));
    promotion::apply(ctx, decision.action, force);
    if decision.unfence {
        if let Err(e) = setup.adm.unfence_peer(
            &setup.settings.resource,
            &setup.settings.unfence_extra_args,
            ctx.deadline,
        ) {
            log::warn(shared::ocf::error_chain(&e));
        }
    }
}

/// Whether Pacemaker knows of a promoted instance of this clone on another node (for
/// `remove_master_score_if_peer_primary=unexpected`): from the notification data when there is
/// some, else from `crm_mon`. When it cannot tell, it answers "yes" (keep the score).
fn pacemaker_knows_primary(ctx: &Context, setup: &Setup) -> bool {
    let promoted = &ctx.env.notify().promoted;
    if !promoted.is_empty() {
        return promoted.uname.iter().any(|n| *n != setup.node);
    }
    let Ok(status) = shared::pacemaker::Tools::live().crm_mon_xml(ctx.deadline) else {
        return true;
    };
    let id = ctx.instance();
    status.resources.iter().any(|r| {
        (r.id == id || r.id.split(':').next() == Some(id))
            && r.role == shared::pacemaker::Role::Promoted
            && r.nodes.iter().any(|n| *n != setup.node)
    })
}

/// monitor: 7 stopped, 0 Secondary, 8 Primary; never 9 (DRBD has no "failed Primary" state
/// that demote-stop-start would repair). Updates the score except on probes that find it
/// stopped.
pub fn monitor(ctx: &Context, setup: &Setup) -> Result<OcfRc, OcfError> {
    let state = read(ctx, setup)?;
    let probe = ctx.is_probe();
    if !(probe && matches!(state, State::Stopped(_))) {
        update_score(ctx, setup, &state, probe);
    }
    match state {
        State::Stopped(why) if !probe => Err(OcfError::not_running(format!(
            "DRBD resource {} is {why}",
            setup.settings.resource
        ))),
        s => Ok(s.rc()),
    }
}

/// Polls until every connection is Connected, `secs` pass or the deadline comes (drbd.ocf's
/// `wait-connect` after `adjust`, with `wfc_timeout`). Failing to connect is not an error.
pub fn wait_connected(ctx: &Context, setup: &Setup, secs: u64) -> Option<State> {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let state = read(ctx, setup).ok()?;
        let all = state.status().is_some_and(|s| {
            s.connections
                .iter()
                .all(|c| c.state == ConnectionState::Connected)
        });
        let now = std::time::Instant::now();
        if all || now >= until || now + Duration::from_millis(300) >= ctx.deadline {
            return Some(state);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// notify: `*/start` adjusts (connects towards a new peer) unless `connect_only_after_promote`;
/// `post/*` recomputes the score and, with unknown peer disks, may outdate this node. Always 0.
pub fn notify(ctx: &Context, setup: &Setup) -> Result<OcfRc, OcfError> {
    let n = ctx.env.notify();
    let res = &setup.settings.resource;
    if n.operation.as_deref() == Some("start") && !setup.settings.connect_only_after_promote {
        if let Ok(State::Unpromoted(_) | State::Promoted(_)) = read(ctx, setup) {
            if let Err(e) = setup.adm.adjust(res, ctx.deadline) {
                log::warn(shared::ocf::error_chain(&e));
            }
        }
    }
    if n.is_post() {
        if let Ok(state) = read(ctx, setup) {
            update_score(ctx, setup, &state, true);
            let unknown = state
                .status()
                .is_some_and(|s| Summary::of(s).pdsk_any_unknown);
            if unknown {
                maybe_outdate_self(ctx, setup, &state);
            }
        }
    }
    Ok(OcfRc::Success)
}

/// drbd.ocf's `maybe_outdate_self`: with `stop_outdates_secondary`, when the notification data
/// names a Primary on another node that is not being stopped, and this node is not Primary,
/// mark the local data Outdated and remove the score. Returns true if it did.
pub fn maybe_outdate_self(ctx: &Context, setup: &Setup, state: &State) -> bool {
    if !setup.settings.stop_outdates_secondary {
        return false;
    }
    let n = ctx.env.notify();
    let Some(host) = n
        .promoted
        .uname
        .iter()
        .find(|u| !u.eq_ignore_ascii_case(&setup.node))
    else {
        return false;
    };
    if n.stop.uname.iter().any(|u| u == host) {
        return false;
    }
    let res = &setup.settings.resource;
    if matches!(state, State::Promoted(_)) {
        log::error(format!(
            "resource internal SPLIT BRAIN: both {} and {host} are Primary for {res}, but the \
             replication link is down",
            setup.node
        ));
        return false;
    }
    log::info(format!(
        "outdating {res}: according to the notification data, {host} is still Primary"
    ));
    if let Err(e) = setup.adm.outdate(res, ctx.deadline) {
        log::warn(shared::ocf::error_chain(&e));
    }
    promotion::apply(ctx, shared::drbd::ScoreAction::Remove, true);
    true
}
