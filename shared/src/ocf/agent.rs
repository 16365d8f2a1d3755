//! The [`Agent`] trait and the dispatcher ([`run`], [`main`]).
//!
//! # What the framework does
//!
//! | Invocation | Result |
//! |---|---|
//! | no `argv[1]` | usage on stderr, exit reason, `OCF_ERR_ARGS` (2), like shell agents called with the wrong number of arguments; Pacemaker and ocf-tester always pass one. Further arguments are ignored (OCF). |
//! | `meta-data` | the XML on stdout, 0; nothing else is read or run, so it works as `nobody` and without the managed service |
//! | `usage` / `help` | a usage line on stdout, 0 |
//! | unknown name | exit reason, `OCF_ERR_UNIMPLEMENTED` (3) |
//! | action not advertised in the meta-data | exit reason, `OCF_ERR_UNIMPLEMENTED` (3) (`status` is accepted when `monitor` is advertised) |
//! | other actions | [`Agent::handle`]; `Ok(rc)` exits with `rc`, `Err(e)` writes `e.reason` as the exit reason and exits with `e.rc` **unchanged**, also for probes and stops (the agent decides what a failure means there) |
//! | panic in `handle` | exit reason `internal error: …`, `OCF_ERR_GENERIC` (1) |
//!
//! The framework does not validate parameters by itself: the agent calls
//! [`Params::validate_syntax`] where appropriate. Begin and end of each action (with the
//! elapsed time, the code and the reason) are logged at debug level to the same stderr
//! writer, before the exit-reason line; the framework logs nothing else, since Pacemaker
//! already logs the exit code and reason of every failed operation.

use std::any::Any;
use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use super::action::Action;
use super::deadline::{self, FALLBACK_TIMEOUT};
use super::env::OcfEnv;
use super::error::OcfError;
use super::log::{self, write_exit_reason, Level, Logger};
use super::meta::AgentMeta;
use super::params::Params;
use super::rc::OcfRc;
use super::trace;

/// An OCF resource agent.
pub trait Agent {
    /// Describes the agent: parameters, actions and descriptions. Must be cheap and must not
    /// touch the system (it backs `meta-data`).
    fn meta(&self) -> AgentMeta;

    /// Performs one action (never `meta-data`, `usage` or an unknown/unadvertised action,
    /// which the framework answers itself).
    ///
    /// Returns `Ok(rc)` for an answer (including `NotRunning` from a monitor) or an
    /// [`OcfError`] whose code is returned unchanged and whose reason becomes the exit reason.
    fn handle(&self, action: &Action, ctx: &Context) -> Result<OcfRc, OcfError>;
}

/// Everything an action needs to know about its invocation.
#[derive(Debug, Clone)]
pub struct Context {
    /// The action being performed.
    pub action: Action,
    /// The environment.
    pub env: OcfEnv,
    /// The instance parameters, read through the agent's declarations.
    pub params: Params,
    /// When the framework started handling the action.
    pub started: Instant,
    /// The operation timeout: Pacemaker's, else the advertised one, else 20 s.
    pub timeout: Duration,
    /// When the agent should give up and report (see [the deadline rule](super::deadline)).
    pub deadline: Instant,
    /// The invocation's logger.
    pub logger: Logger,
}

impl Context {
    /// Builds the context of `action` as the framework does; public so agents can test their
    /// handlers without [`run`].
    pub fn new(meta: &AgentMeta, action: Action, env: OcfEnv, started: Instant) -> Context {
        let default = meta
            .action_timeout(&action, env.meta().interval())
            .unwrap_or(FALLBACK_TIMEOUT);
        let timeout = env.op_timeout(default);
        Context {
            params: Params::new(&meta.params, &env),
            logger: Logger::for_agent(&env, meta.name),
            deadline: deadline::deadline(started, timeout),
            timeout,
            started,
            action,
            env,
        }
    }

    /// Returns true if the action is a probe (monitor with interval 0 or none).
    pub fn is_probe(&self) -> bool {
        self.env.is_probe(&self.action)
    }

    /// Returns the time left until the deadline (zero once passed).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Returns true once the deadline has passed.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Returns the resource instance name, or `""` when unknown.
    pub fn instance(&self) -> &str {
        self.env.resource_instance().unwrap_or("")
    }
}

/// Returns the usage text listing the advertised actions.
pub fn usage(program: &str, meta: &AgentMeta) -> String {
    let mut names: Vec<&str> = Vec::new();
    for a in &meta.actions {
        if !names.contains(&a.name) {
            names.push(a.name);
        }
    }
    format!(
        "usage: {program} {{{}}}\n\nExpects to be run by Pacemaker with a fully populated OCF \
         environment (OCF_RESKEY_*).\n",
        names.join("|")
    )
}

fn program_name(argv0: Option<&str>, meta: &AgentMeta) -> String {
    argv0
        .and_then(|a| a.rsplit('/').next())
        .filter(|a| !a.is_empty())
        .unwrap_or(meta.name)
        .to_owned()
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic")
}

/// Runs one invocation: `args` is the full argument vector (`argv[0]` first), `env` the OCF
/// environment; meta-data and usage go to `out`, usage errors and exit reasons to `err`.
/// Returns the exit code (see the [module docs](self) for the rules).
pub fn run<A: Agent + ?Sized>(
    agent: &A,
    args: impl IntoIterator<Item = String>,
    env: OcfEnv,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> OcfRc {
    let mut args = args.into_iter();
    let argv0 = args.next();
    let Some(name) = args.next() else {
        let meta = agent.meta();
        let _ = err.write_all(usage(&program_name(argv0.as_deref(), &meta), &meta).as_bytes());
        let _ = write_exit_reason(
            err,
            "no action given (expected the action as first argument)",
        );
        return OcfRc::ErrArgs;
    };
    let action = Action::parse(&name);
    if let Some(rc) = answer_without_acting(agent, argv0.as_deref(), &name, &action, out, err) {
        return rc;
    }
    perform(agent, action, env, err)
}

/// The actions answered without running the agent's code: meta-data, usage, an unknown action
/// or one the agent does not advertise. `None` for the others.
fn answer_without_acting<A: Agent + ?Sized>(
    agent: &A,
    argv0: Option<&str>,
    name: &str,
    action: &Action,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Option<OcfRc> {
    let meta = agent.meta();
    Some(match action {
        Action::MetaData => {
            let xml = meta.to_xml();
            match out.write_all(xml.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => OcfRc::Success,
                Err(e) => {
                    let _ = write_exit_reason(err, &format!("cannot write meta-data: {e}"));
                    OcfRc::ErrGeneric
                }
            }
        }
        Action::Usage => {
            let _ = out.write_all(usage(&program_name(argv0, &meta), &meta).as_bytes());
            let _ = out.flush();
            OcfRc::Success
        }
        Action::Unknown(_) => {
            let _ = write_exit_reason(err, &format!("unknown action '{name}'"));
            OcfRc::Unimplemented
        }
        _ if !meta.advertises(action) => {
            let _ = write_exit_reason(
                err,
                &format!("action '{name}' is not implemented by {}", meta.name),
            );
            OcfRc::Unimplemented
        }
        _ => return None,
    })
}

/// Runs an advertised action: logging and tracing set up, the agent's code run (a panic in it
/// becomes `OCF_ERR_GENERIC` with a reason), and the action ended ([`finish`]).
fn perform<A: Agent + ?Sized>(
    agent: &A,
    action: Action,
    env: OcfEnv,
    err: &mut dyn Write,
) -> OcfRc {
    let meta = agent.meta();
    let ctx = Context::new(&meta, action, env, Instant::now());
    log::init(ctx.logger.clone());
    let tracing = start_trace(meta.name, &ctx, err);
    ctx.logger.emit(
        err,
        Level::Debug,
        &format!(
            "{}: begin{} (timeout {:.1} s, budget {:.1} s)",
            ctx.action,
            if ctx.is_probe() { " (probe)" } else { "" },
            ctx.timeout.as_secs_f64(),
            ctx.deadline
                .saturating_duration_since(ctx.started)
                .as_secs_f64()
        ),
    );
    let result = catch_unwind(AssertUnwindSafe(|| agent.handle(&ctx.action, &ctx))).unwrap_or_else(
        |payload| {
            Err(OcfError::generic(format!(
                "internal error: the agent panicked: {}",
                panic_message(payload.as_ref())
            )))
        },
    );
    let (rc, reason) = match result {
        Ok(rc) => (rc, None),
        Err(e) => (e.rc, Some(e.reason)),
    };
    finish(&ctx, tracing.as_ref(), rc, reason, err);
    rc
}

/// Ends an action: the debug end line, the trace's result, the exit reason (on stderr and,
/// at error level, in the logs).
fn finish(
    ctx: &Context,
    tracing: Option<&trace::Session>,
    rc: OcfRc,
    reason: Option<String>,
    err: &mut dyn Write,
) {
    let elapsed = ctx.started.elapsed();
    ctx.logger.emit(
        err,
        Level::Debug,
        &format!(
            "{}: end: {} ({}) after {:.3} s{}",
            ctx.action,
            rc,
            rc.code(),
            elapsed.as_secs_f64(),
            reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
    );
    if let Some(session) = tracing {
        session.trace().end(rc, reason.as_deref(), elapsed);
    }
    if let Some(reason) = reason {
        let _ = write_exit_reason(err, &reason);
        ctx.logger.log_exit_reason(&reason);
    }
}

/// Starts the action's trace when tracing is requested (see [`trace`]); a trace that cannot
/// be written is logged as a warning.
fn start_trace(agent: &str, ctx: &Context, err: &mut dyn Write) -> Option<trace::Session> {
    if !ctx.env.trace_ra() {
        return None;
    }
    let action = ctx.action.to_string();
    let (target, warning) = trace::target(
        &ctx.env,
        agent,
        &action,
        ctx.logger.is_interactive(),
        SystemTime::now(),
    );
    if let Some(w) = warning {
        ctx.logger.emit(err, Level::Warning, &w);
    }
    match trace::Trace::open(&target) {
        Ok(t) => {
            t.begin(agent, &action, &ctx.env);
            Some(trace::Session::start(t))
        }
        Err(e) => {
            let msg = format!("{target:?} not writable ({e}), trace not going to happen");
            ctx.logger.emit(err, Level::Warning, &msg);
            None
        }
    }
}

/// The whole `main` of an agent binary: reads the process arguments and environment, runs the
/// action and returns its exit code.
pub fn main<A: Agent>(agent: A) -> ExitCode {
    let args = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let rc = run(
        &agent,
        args,
        OcfEnv::from_env(),
        &mut io::stdout().lock(),
        &mut io::stderr().lock(),
    );
    // a librados call abandoned at the deadline: exit with the action's code before
    // librados' destructors can race its threads
    crate::ceph::native::exit_if_abandoned(rc.code());
    rc.into()
}

#[cfg(test)]
#[path = "agent_tests.rs"]
mod tests;
