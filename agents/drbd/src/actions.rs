//! start, stop, promote, demote (drbd.ocf's loops, bounded by the operation's deadline).

use std::time::{Duration, Instant};

use shared::drbd::adm::EXIT_PRIMARY_REFUSED;
use shared::drbd::ScoreAction;
use shared::ocf::{log, Context, OcfError, OcfRc};

use crate::promotion;
use crate::state::{self, State};
use crate::validate::Setup;

/// Pause between attempts.
const RETRY: Duration = Duration::from_secs(1);

/// A failed promotion is not reported before this much time since the action began, so that
/// Pacemaker's recovery cannot spin (drbd.ocf waits until 15 s too).
const PROMOTE_MIN_FAILURE_TIME: Duration = Duration::from_secs(15);

fn sleep_or_expire(ctx: &Context) -> bool {
    if ctx.remaining() <= RETRY {
        return false;
    }
    std::thread::sleep(RETRY);
    true
}

fn timed_out(what: &str, last: Option<String>) -> OcfError {
    OcfError::generic(match last {
        Some(e) => format!("{what} did not complete before the deadline: {e}"),
        None => format!("{what} did not complete before the deadline"),
    })
}

/// start: bring the resource up as Secondary (attach, then connect unless
/// `connect_only_after_promote`), demote it if it is Primary, wait up to `wfc_timeout` for the
/// connections, set the score. 0 if already running.
pub fn start(ctx: &Context, setup: &Setup) -> Result<OcfRc, OcfError> {
    let res = &setup.settings.resource;
    let adm = &setup.adm;
    let mut attach_failures = 0;
    let mut last: Option<String> = None;
    loop {
        match state::read(ctx, setup)? {
            State::Stopped(_) => {
                // Creates the resource and its minors and attaches the disks (DRBD 9).
                if let Err(e) = adm.attach(res, ctx.deadline) {
                    attach_failures += 1;
                    let msg = shared::ocf::error_chain(&e);
                    if attach_failures >= 2 {
                        return Err(OcfError::generic(format!("failed to attach: {msg}")));
                    }
                    log::warn(&msg);
                    last = Some(msg);
                }
            }
            State::Promoted(_) => {
                log::warn(format!("{res} already Primary, demoting"));
                if let Err(e) = adm.secondary(res, ctx.deadline) {
                    last = Some(shared::ocf::error_chain(&e));
                }
            }
            State::Unpromoted(_) => {
                if setup.settings.connect_only_after_promote {
                    let s = state::read(ctx, setup)?;
                    state::update_score(ctx, setup, &s, true);
                    return Ok(OcfRc::Success);
                }
                if let Err(e) = adm.adjust(res, ctx.deadline) {
                    // Already running: an adjust failure does not fail the start (drbd.ocf).
                    log::warn(shared::ocf::error_chain(&e));
                }
                let s = match setup.settings.wfc_timeout {
                    Some(secs) if secs > 0 => state::wait_connected(ctx, setup, secs),
                    _ => None,
                };
                let s = match s {
                    Some(s) => s,
                    None => state::read(ctx, setup)?,
                };
                state::update_score(ctx, setup, &s, true);
                return Ok(OcfRc::Success);
            }
        }
        if !sleep_or_expire(ctx) {
            return Err(timed_out(&format!("start of {res}"), last));
        }
    }
}

/// stop: demote if Primary, take the resource down, maybe outdate this node, remove the score.
/// 0 if already stopped.
pub fn stop(ctx: &Context, setup: &Setup) -> Result<OcfRc, OcfError> {
    let res = &setup.settings.resource;
    let adm = &setup.adm;
    let mut last: Option<String> = None;
    let final_state = loop {
        let s = state::read(ctx, setup)?;
        match &s {
            State::Stopped(_) => {
                // Down anyway, in case it is deconfigured but not yet removed; ignore errors.
                let _ = adm.down(res, ctx.deadline);
                break s;
            }
            State::Promoted(_) => {
                log::warn(format!("{res} still Primary, demoting"));
                if let Err(e) = adm.secondary(res, ctx.deadline) {
                    last = Some(shared::ocf::error_chain(&e));
                }
            }
            State::Unpromoted(_) => {
                if let Err(e) = adm.down(res, ctx.deadline) {
                    last = Some(shared::ocf::error_chain(&e));
                }
            }
        }
        if !sleep_or_expire(ctx) {
            return Err(timed_out(&format!("stop of {res}"), last));
        }
    };
    state::maybe_outdate_self(ctx, setup, &final_state);
    promotion::apply(ctx, ScoreAction::Remove, true);
    Ok(OcfRc::Success)
}

/// promote: `drbdadm primary` until Primary or the deadline. Exit code 17 (no UpToDate data,
/// or fencing the peer failed) fails at once; with `fail_promote_early_if_peer_primary`, so
/// does a failure while DRBD sees a Primary peer in a single-Primary setup.
pub fn promote(ctx: &Context, setup: &Setup) -> Result<OcfRc, OcfError> {
    let res = &setup.settings.resource;
    let adm = &setup.adm;
    let result = (|| {
        let mut last: Option<String> = None;
        loop {
            let s = state::read(ctx, setup)?;
            match &s {
                State::Stopped(_) => {
                    return Err(OcfError::generic(format!(
                        "cannot promote {res}: it is not started"
                    )))
                }
                State::Promoted(_) => {
                    if setup.settings.connect_only_after_promote {
                        if let Err(e) = adm.adjust(res, ctx.deadline) {
                            log::warn(shared::ocf::error_chain(&e));
                        }
                    }
                    state::update_score(ctx, setup, &s, true);
                    return Ok(OcfRc::Success);
                }
                State::Unpromoted(status) => {
                    let peer_primary = status
                        .connections
                        .iter()
                        .any(|c| c.peer_role == shared::drbd::Role::Primary);
                    if last.is_some()
                        && setup.settings.fail_promote_early
                        && setup.promoted_max == 1
                        && peer_primary
                    {
                        promotion::apply(ctx, ScoreAction::Remove, true);
                        return Err(OcfError::generic(format!(
                            "cannot promote {res}: a peer is already/still Primary ({})",
                            last.unwrap_or_default()
                        )));
                    }
                    match adm.primary(res, ctx.deadline) {
                        Ok(()) => continue,
                        Err(e) if e.exit_code() == Some(EXIT_PRIMARY_REFUSED) => {
                            return Err(OcfError::generic(format!(
                                "refusing to promote {res} without access to UpToDate data: {}",
                                shared::ocf::error_chain(&e)
                            )))
                        }
                        Err(e) => {
                            let msg = shared::ocf::error_chain(&e);
                            log::info(&msg);
                            last = Some(msg);
                        }
                    }
                }
            }
            if !sleep_or_expire(ctx) {
                return Err(timed_out(&format!("promotion of {res}"), last));
            }
        }
    })();
    if result.is_err() {
        // Avoid a tight Pacemaker recovery loop (but never sleep past the deadline).
        let until = (ctx.started + PROMOTE_MIN_FAILURE_TIME).min(ctx.deadline);
        let now = Instant::now();
        if until > now {
            std::thread::sleep(until - now);
        }
    }
    result
}

/// demote: `drbdadm secondary` until Secondary or the deadline. A resource that is not running
/// is an error (1, not drbd.ocf's non-standard 7).
pub fn demote(ctx: &Context, setup: &Setup) -> Result<OcfRc, OcfError> {
    let res = &setup.settings.resource;
    loop {
        let s = state::read(ctx, setup)?;
        match &s {
            State::Stopped(why) => {
                return Err(OcfError::generic(format!(
                    "cannot demote {res}: it is {why}"
                )))
            }
            State::Unpromoted(_) => {
                state::update_score(ctx, setup, &s, true);
                return Ok(OcfRc::Success);
            }
            State::Promoted(_) => {
                if let Err(e) = setup.adm.secondary(res, ctx.deadline) {
                    let msg = shared::ocf::error_chain(&e);
                    log::info(&msg);
                    if !sleep_or_expire(ctx) {
                        return Err(timed_out(&format!("demotion of {res}"), Some(msg)));
                    }
                }
            }
        }
    }
}
