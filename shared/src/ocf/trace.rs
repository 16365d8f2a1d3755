//! Action traces, as `crm resource trace RSC [OP]` asks for them.
//!
//! crmsh's `resource trace` adds the operation attribute `trace_ra=1` (and `trace_dir` when
//! given a directory); Pacemaker passes it as `OCF_RESKEY_trace_ra`. resource-agents' shell
//! library then runs the action under `set -x` into
//! `$OCF_RESKEY_trace_dir/<type>/<instance>.<action>.<YYYY-MM-DD.HH:MM:SS>` (default directory
//! `/var/lib/heartbeat/trace_ra`). Our agents are not shell, so the trace is a log of what the
//! action did: the environment (`OCF_*`, `HA_*`, `PCMK_*`), each external command with its
//! argv, duration, exit status and stderr tail, each libvirt call (all through the
//! [`record`] hook), every log line, and the result.
//!
//! Same switches as `ocf-shellfuncs`: `OCF_TRACE_RA` (else the `trace_ra` parameter) turns
//! tracing on; `OCF_TRACE_FILE` may name the destination, an absolute path (`/*/*`, e.g.
//! `/dev/stderr`, which `crm_resource --force-* -V` sets) or an open descriptor 3–9 (written
//! through `/dev/fd/N`); otherwise the default file above (`HA_VARLIB` replaces
//! `/var/lib/heartbeat`), or stderr when run by hand. The directories are created as needed;
//! a trace that cannot be written is a warning, never a failure. The file is opened for
//! appending, so that when the light `VirtualDomain` hands a monitor over to the full agent
//! within the same second both halves end up in one file.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::env::OcfEnv;
use super::log::Level;
use super::rc::OcfRc;
use crate::clock;
use crate::record::{self, Event, Kind, Recorder, Registration};

/// resource-agents' `HA_VARLIB`, the default parent of the trace directory.
pub const DEFAULT_VARLIB: &str = "/var/lib/heartbeat";
/// Longest environment value written in full to a trace (longer ones are cut).
const MAX_VALUE: usize = 200;

/// Where a trace goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file (created, appended to).
    File(PathBuf),
    /// The agent's stderr.
    Stderr,
}

/// The trace directory: the `trace_dir` parameter, else `$HA_VARLIB/trace_ra`.
pub fn trace_dir(env: &OcfEnv) -> PathBuf {
    if let Some(dir) = env.param("trace_dir").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let varlib = env
        .var("HA_VARLIB")
        .filter(|v| v.starts_with('/'))
        .unwrap_or(DEFAULT_VARLIB);
    PathBuf::from(varlib).join("trace_ra")
}

/// A path component that names exactly one file.
fn plain(name: &str) -> bool {
    !name.is_empty() && name.len() <= 200 && name != "." && name != ".." && !name.contains('/')
}

/// The default trace file of `action`: `<trace dir>/<type>/<instance>.<action>.<time>`, with
/// `at` in local time as `date +%F.%T` writes it and `<type>` `OCF_RESOURCE_TYPE`, else
/// `agent`; `None` without an instance, or when the names are not plain file names.
pub fn default_file(env: &OcfEnv, agent: &str, action: &str, at: SystemTime) -> Option<PathBuf> {
    let ty = Some(env.resource_type().unwrap_or(agent)).filter(|t| plain(t))?;
    let instance = env.resource_instance().filter(|i| plain(i))?;
    let stamp = clock::format_local(at, "%F.%T");
    Some(
        trace_dir(env)
            .join(ty)
            .join(format!("{instance}.{action}.{stamp}")),
    )
}

/// Where the trace of `agent`'s `action` goes when tracing is on (see the
/// [module docs](self)), and a warning to log when `OCF_TRACE_FILE` is unusable. Without a
/// default file (run by hand, no instance) it is stderr, where `set -x` writes then.
pub fn target(
    env: &OcfEnv,
    agent: &str,
    action: &str,
    interactive: bool,
    at: SystemTime,
) -> (Target, Option<String>) {
    let default = || match interactive {
        true => Target::Stderr,
        false => default_file(env, agent, action, at).map_or(Target::Stderr, Target::File),
    };
    match env.var("OCF_TRACE_FILE").unwrap_or("") {
        "" => (default(), None),
        fd @ ("3" | "4" | "5" | "6" | "7" | "8" | "9") => {
            (Target::File(PathBuf::from(format!("/dev/fd/{fd}"))), None)
        }
        p if p.starts_with('/') && p[1..].contains('/') => (Target::File(PathBuf::from(p)), None),
        _ => (
            default(),
            Some(
                "OCF_TRACE_FILE must be set to either FD (open for writing) or absolute file path"
                    .to_owned(),
            ),
        ),
    }
}

/// Cuts a value for the environment summary.
fn short(v: &str) -> String {
    match v.char_indices().nth(MAX_VALUE) {
        Some((i, _)) => format!("{}… ({} bytes)", &v[..i], v.len()),
        None => v.to_owned(),
    }
}

/// The environment summary: every `OCF_*`, `HA_*` and `PCMK_*` variable, sorted, one per line.
pub fn env_summary(env: &OcfEnv) -> Vec<String> {
    env.vars()
        .iter()
        .filter(|(k, _)| ["OCF_", "HA_", "PCMK_"].iter().any(|p| k.starts_with(p)))
        .map(|(k, v)| format!("env {k}={}", short(v).replace('\n', " ")))
        .collect()
}

/// One action's trace being written.
pub struct Trace {
    out: Mutex<Box<dyn Write + Send>>,
    started: Instant,
}

impl Trace {
    /// A trace written to `out`, timed from now.
    pub fn new(out: Box<dyn Write + Send>) -> Trace {
        Trace {
            out: Mutex::new(out),
            started: Instant::now(),
        }
    }

    /// Opens `target` (creating the file's directories).
    pub fn open(target: &Target) -> io::Result<Trace> {
        let out: Box<dyn Write + Send> = match target {
            Target::Stderr => Box::new(io::stderr()),
            Target::File(path) => {
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir)?;
                }
                Box::new(
                    OpenOptions::new()
                        .create(true)
                        .append(true)
                        .mode(0o600)
                        .open(path)?,
                )
            }
        };
        Ok(Trace::new(out))
    }

    /// Writes one line, prefixed with the time since the trace began; errors are ignored.
    pub fn line(&self, text: &str) {
        let at = self.started.elapsed().as_secs_f64();
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(out, "+{at:.3}s {text}");
        let _ = out.flush();
    }

    /// The header: agent, action, instance, pid, wall time, environment summary.
    pub fn begin(&self, agent: &str, action: &str, env: &OcfEnv) {
        self.line(&format!(
            "trace of {agent} {action} on {} (pid {}) at {}",
            env.resource_instance().unwrap_or("-"),
            std::process::id(),
            clock::utc_millis(SystemTime::now())
        ));
        for l in env_summary(env) {
            self.line(&l);
        }
    }

    /// The result line.
    pub fn end(&self, rc: OcfRc, reason: Option<&str>, elapsed: Duration) {
        self.line(&format!(
            "result: {rc} ({}) after {:.3} s{}",
            rc.code(),
            elapsed.as_secs_f64(),
            reason.map(|r| format!(": {r}")).unwrap_or_default()
        ));
    }
}

impl Recorder for Trace {
    fn record(&self, e: &Event<'_>) {
        let kind = match e.kind {
            Kind::Command => "command",
            Kind::Libvirt => "libvirt",
        };
        self.line(&format!(
            "{kind}: {} -> {} after {:.3} s",
            e.what,
            e.outcome,
            e.elapsed.as_secs_f64()
        ));
        if !e.stderr_tail.is_empty() {
            self.line(&format!(
                "  stderr: {}",
                e.stderr_tail.replace('\n', "\n  | ")
            ));
        }
    }
}

static ACTIVE: Mutex<Option<Arc<Trace>>> = Mutex::new(None);

fn active() -> std::sync::MutexGuard<'static, Option<Arc<Trace>>> {
    ACTIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Adds a log line to the trace being written, if any (called by the logger).
pub fn note_log(level: Level, msg: &str) {
    let trace = active().clone();
    if let Some(t) = trace {
        t.line(&format!("log {}: {msg}", level.as_str()));
    }
}

/// A trace in progress: it receives commands, calls and log lines until dropped.
pub struct Session {
    trace: Arc<Trace>,
    _registration: Registration,
}

impl Session {
    /// Starts tracing into `trace`.
    pub fn start(trace: Trace) -> Session {
        let trace = Arc::new(trace);
        *active() = Some(trace.clone());
        let registration = record::register(trace.clone());
        Session {
            trace,
            _registration: registration,
        }
    }

    /// The trace.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let mut a = active();
        if a.as_ref().is_some_and(|t| Arc::ptr_eq(t, &self.trace)) {
            *a = None;
        }
    }
}

#[cfg(test)]
#[path = "trace_tests.rs"]
mod tests;
