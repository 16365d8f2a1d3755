//! The agent: its description (meta-data) and the action dispatch.

use shared::cmd::Cmd;
use shared::drbd::check_resource_name;
use shared::ocf::{log, Action, ActionSpec, Agent, AgentMeta, Context, OcfError, OcfRc, Role};

use crate::params::PARAMS;
use crate::validate::{validate, Validated};
use crate::{actions, state};

/// `ocf:vmmgr:drbd`.
pub struct Drbd;

const LONGDESC: &str = "Manages a DRBD 9 resource as a promotable clone: a drop-in \
replacement for ocf:linbit:drbd (same parameters) that claims OCF 1.1. The resource's state \
is read from `drbdsetup events2 --now` into typed structures; the promotion score follows \
ocf:linbit:drbd's rules and is written with `crm_attribute --promotion` only when it changes, \
within the operation's timeout. promoted-max=2 (dual Primary, for live migration of virtual \
machines) requires `allow-two-primaries` in the DRBD configuration.\n\n\
To avoid data divergence, enable DRBD quorum (with on-no-quorum io-error) or configure \
fencing in both DRBD and Pacemaker; this agent alone cannot do that.";

impl Agent for Drbd {
    fn meta(&self) -> AgentMeta {
        AgentMeta {
            name: "drbd",
            version: env!("CARGO_PKG_VERSION"),
            shortdesc: "DRBD 9 resource as a promotable clone",
            longdesc: LONGDESC,
            params: PARAMS.to_vec(),
            actions: vec![
                ActionSpec::new("start", 240),
                ActionSpec::new("promote", 90),
                ActionSpec::new("demote", 90),
                ActionSpec::new("notify", 90),
                ActionSpec::new("stop", 100),
                ActionSpec::new("monitor", 20)
                    .interval(20)
                    .role(Role::Unpromoted),
                ActionSpec::new("monitor", 20)
                    .interval(10)
                    .role(Role::Promoted),
                ActionSpec::new("reload-agent", 30),
                ActionSpec::new("meta-data", 5),
                ActionSpec::new("validate-all", 30),
            ],
        }
    }

    fn handle(&self, action: &Action, ctx: &Context) -> Result<OcfRc, OcfError> {
        let setup = match validate(ctx) {
            Ok(Validated::Ok(setup)) => setup,
            Ok(Validated::ProbeNotRunning(why)) => {
                log::debug(format!("probe: {why}"));
                return Ok(OcfRc::NotRunning);
            }
            Err(e) if *action == Action::Stop => return stop_despite(ctx, e),
            Err(e) => return Err(e),
        };
        match action {
            Action::Start => actions::start(ctx, &setup),
            Action::Stop => actions::stop(ctx, &setup),
            Action::Promote => actions::promote(ctx, &setup),
            Action::Demote => actions::demote(ctx, &setup),
            Action::Monitor | Action::Status => state::monitor(ctx, &setup),
            Action::Notify => state::notify(ctx, &setup),
            Action::ReloadAgent => {
                if let Ok(s) = state::read(ctx, &setup) {
                    if s.status().is_some() {
                        state::update_score(ctx, &setup, &s, true);
                    }
                }
                Ok(OcfRc::Success)
            }
            Action::ValidateAll => Ok(OcfRc::Success),
            other => Err(OcfError::unimplemented(format!(
                "action '{other}' is not implemented"
            ))),
        }
    }
}

/// A stop whose validation failed: drbd.ocf then still tries `drbdsetup down <res>` so that a
/// configuration mistake does not get the node fenced. Succeeds only if that worked.
fn stop_despite(ctx: &Context, err: OcfError) -> Result<OcfRc, OcfError> {
    let Some(res) = ctx.env.param("drbd_resource").filter(|r| !r.is_empty()) else {
        return Err(err);
    };
    if check_resource_name(res).is_err() {
        return Err(err);
    }
    log::error(format!(
        "validation failed on stop ({}); trying `drbdsetup down {res}` to avoid fencing",
        err.reason
    ));
    match Cmd::new("drbdsetup")
        .args(["down", res])
        .deadline(ctx.deadline)
        .run()
    {
        Ok(_) => {
            log::error("fencing of this node narrowly avoided: fix the configuration");
            Ok(OcfRc::Success)
        }
        Err(e) => Err(err.context(format!("stop failed ({e})"))),
    }
}
