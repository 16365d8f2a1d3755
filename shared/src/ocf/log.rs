//! Exit reasons and logging, as resource-agents' `ocf_log` and `ocf_exit_reason` do.
//!
//! Pacemaker's execd collects an agent's stderr into its log, and takes the line starting with
//! `ocf-exit-reason:` as the exit reason shown by `crm_mon` (it keeps only the first 128 or so
//! characters, so put the essential part first).
//!
//! Where a line goes follows `ocf-shellfuncs` (`ha_log`, `ha_debug`; see [`Logger::route`]):
//!
//! | Destination | When | Form |
//! |---|---|---|
//! | syslog | `HA_LOGFACILITY` names a facility (Pacemaker sets it; `none` is off) | `<PRI>Mmm dd hh:mm:ss AGENT(INSTANCE)[PID]: LEVEL: message`, see [`syslog`](super::syslog) |
//! | `HA_LOGFILE` | set (not for debug lines) | `<UTC timestamp> <instance>[<pid>]: <LEVEL>: <message>` |
//! | `HA_DEBUGLOG` | set (other lines only when it differs from `HA_LOGFILE`) | as `HA_LOGFILE` |
//! | stderr | run by hand (stdin a terminal), or when neither syslog nor the log file takes the line, or when the syslog socket refuses it | `<instance>: <LEVEL>: <message>` |
//!
//! Debug lines are only written when debugging is enabled (see
//! [`OcfEnv::debug_enabled`](super::OcfEnv::debug_enabled)). The exit reason is also logged at
//! error level to syslog and the log files ([`Logger::log_exit_reason`]). Newlines in messages
//! become spaces, so one event is one line. While an action is traced every line also goes
//! to the action's [`trace`].
//!
//! The free functions ([`info`] …) and the macros ([`ocf_info!`](crate::ocf_info) …) use a
//! process-wide logger, set by [`run`](super::run) from the invocation's environment (or read
//! from the process environment on first use).

use std::fmt::Display;
use std::fs::OpenOptions;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

use super::env::OcfEnv;
use super::syslog::Syslog;
use super::trace;
use crate::clock;

/// The prefix Pacemaker looks for on stderr (`PCMK_OCF_REASON_PREFIX`).
pub const EXIT_REASON_PREFIX: &str = "ocf-exit-reason:";

/// A log level, named like the `ocf_log` priorities of resource-agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Only written when debugging is enabled.
    Debug,
    /// Informational.
    Info,
    /// Normal but significant (`ocf_log notice`).
    Notice,
    /// Something unexpected that the agent handled.
    Warning,
    /// A failure.
    Error,
}

impl Level {
    /// Returns the upper-case name written in log lines.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Notice => "NOTICE",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

/// Replaces line breaks with spaces and trims trailing whitespace.
fn one_line(msg: &str) -> String {
    msg.replace("\r\n", " ")
        .replace(['\n', '\r'], " ")
        .trim_end()
        .to_owned()
}

/// Returns the exit-reason line (with trailing newline) for `msg`.
pub fn exit_reason_line(msg: &str) -> String {
    format!("{EXIT_REASON_PREFIX}{}\n", one_line(msg))
}

/// Writes the exit-reason line for `msg` to `w`.
pub fn write_exit_reason(w: &mut dyn Write, msg: &str) -> io::Result<()> {
    w.write_all(exit_reason_line(msg).as_bytes())?;
    w.flush()
}

/// Writes the exit-reason line for `msg` to stderr (errors writing stderr are ignored).
pub fn exit_reason(msg: &str) {
    let _ = write_exit_reason(&mut io::stderr().lock(), msg);
}

/// Where one line goes (see [`Logger::route`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Route {
    /// To stderr.
    pub stderr: bool,
    /// To syslog.
    pub syslog: bool,
    /// Appended to `HA_LOGFILE`.
    pub logfile: bool,
    /// Appended to `HA_DEBUGLOG`.
    pub debuglog: bool,
}

/// A logger for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logger {
    tag: String,
    debug: bool,
    logfile: Option<PathBuf>,
    debuglog: Option<PathBuf>,
    syslog: Option<Syslog>,
    interactive: bool,
}

impl Logger {
    /// Creates a logger that writes stderr and, if given, a log file (no syslog).
    pub fn new(tag: impl Into<String>, debug: bool, logfile: Option<PathBuf>) -> Logger {
        Logger {
            tag: tag.into(),
            debug,
            logfile,
            debuglog: None,
            syslog: None,
            interactive: false,
        }
    }

    /// Also sends lines to syslog (see [`Logger::route`]).
    pub fn with_syslog(mut self, syslog: Option<Syslog>) -> Logger {
        self.syslog = syslog;
        self
    }

    /// Also appends lines to a debug log file (`HA_DEBUGLOG`).
    pub fn with_debuglog(mut self, debuglog: Option<PathBuf>) -> Logger {
        self.debuglog = debuglog;
        self
    }

    /// Marks the invocation as run by hand (stdin a terminal): then lines go to stderr only,
    /// as `ocf_log` does.
    pub fn interactive(mut self, interactive: bool) -> Logger {
        self.interactive = interactive;
        self
    }

    /// Creates the logger of an invocation: tagged with the resource instance (else the
    /// resource type, else `ocf`), debug, log files and syslog as the environment says.
    pub fn from_env(env: &OcfEnv) -> Logger {
        Logger::for_agent(env, env.resource_type().unwrap_or("ocf"))
    }

    /// [`Logger::from_env`] for the agent named `agent` (the syslog tag's name when
    /// `OCF_RESOURCE_TYPE` is unset).
    pub fn for_agent(env: &OcfEnv, agent: &str) -> Logger {
        let tag = env
            .resource_instance()
            .or(env.resource_type())
            .unwrap_or("ocf");
        let file = |name: &str| env.var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        Logger::new(
            tag,
            env.debug_enabled(),
            env.ha_logfile().map(PathBuf::from),
        )
        .with_debuglog(file("HA_DEBUGLOG"))
        .with_syslog(Syslog::from_env(env, agent))
        .interactive(io::stdin().is_terminal())
    }

    /// Returns true if the invocation is run by hand (stdin a terminal).
    pub fn is_interactive(&self) -> bool {
        self.interactive
    }

    /// Returns true if debug lines are written.
    pub fn debug_enabled(&self) -> bool {
        self.debug
    }

    /// Returns the stderr line (without newline) for a message.
    pub fn format_line(&self, level: Level, msg: &str) -> String {
        format!("{}: {}: {}", self.tag, level.as_str(), one_line(msg))
    }

    /// Where a line at `level` goes, as resource-agents' `ocf_log` (`ha_log`, `ha_debug`)
    /// decides: nothing for a debug line unless debugging is on; only stderr when run by hand;
    /// otherwise syslog when `HA_LOGFACILITY` names a facility, `HA_LOGFILE` (not for debug
    /// lines), `HA_DEBUGLOG` (unless it is `HA_LOGFILE` too, for other lines), and stderr
    /// only when neither syslog nor a log file takes the line.
    pub fn route(&self, level: Level) -> Option<Route> {
        if level == Level::Debug && !self.debug {
            return None;
        }
        if self.interactive {
            return Some(Route {
                stderr: true,
                ..Route::default()
            });
        }
        let syslog = self.syslog.is_some();
        Some(if level == Level::Debug {
            let debuglog = self.debuglog.is_some();
            Route {
                stderr: !syslog && !debuglog,
                syslog,
                logfile: false,
                debuglog,
            }
        } else {
            let logfile = self.logfile.is_some();
            Route {
                stderr: !syslog && !logfile,
                syslog,
                logfile,
                debuglog: self.debuglog.is_some() && self.debuglog != self.logfile,
            }
        })
    }

    /// Appends the file form of a line to `path`; errors are ignored.
    fn append(&self, path: &Path, level: Level, msg: &str) {
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(
                f,
                "{} {}[{}]: {}: {}",
                clock::utc_millis(SystemTime::now()),
                self.tag,
                std::process::id(),
                level.as_str(),
                msg
            );
        }
    }

    /// Writes a message where [`Logger::route`] says (stderr is `stderr`, or nowhere when
    /// `None`), and to the action's trace if one is being written. A line that syslog does
    /// not take (no socket) goes to stderr instead, so that it is not lost. Errors are
    /// otherwise ignored: logging must never fail an action.
    fn dispatch(&self, stderr: Option<&mut dyn Write>, level: Level, msg: &str) {
        let Some(route) = self.route(level) else {
            return;
        };
        let msg = one_line(msg);
        trace::note_log(level, &msg);
        let mut to_stderr = route.stderr;
        if let (true, Some(s)) = (route.syslog, &self.syslog) {
            to_stderr |= s.send(level, &msg).is_err();
        }
        if let (true, Some(path)) = (route.logfile, &self.logfile) {
            self.append(path, level, &msg);
        }
        if let (true, Some(path)) = (route.debuglog, &self.debuglog) {
            self.append(path, level, &msg);
        }
        if let (true, Some(w)) = (to_stderr, stderr) {
            let _ = writeln!(w, "{}", self.format_line(level, &msg));
        }
    }

    /// Writes a message (see [`Logger::route`]) with `stderr` as stderr.
    pub fn emit(&self, stderr: &mut dyn Write, level: Level, msg: &str) {
        self.dispatch(Some(stderr), level, msg);
    }

    /// Logs the exit reason as `ocf_exit_reason` does: at error level to syslog and the log
    /// files, never to stderr (where the `ocf-exit-reason:` line already is).
    pub fn log_exit_reason(&self, msg: &str) {
        self.dispatch(None, Level::Error, msg);
    }

    /// Logs a message at `level` to stderr (and syslog, the log files).
    pub fn log(&self, level: Level, msg: impl Display) {
        if level == Level::Debug && !self.debug {
            return;
        }
        self.emit(&mut io::stderr().lock(), level, &msg.to_string());
    }

    /// Logs at debug level.
    pub fn debug(&self, msg: impl Display) {
        self.log(Level::Debug, msg);
    }

    /// Logs at info level.
    pub fn info(&self, msg: impl Display) {
        self.log(Level::Info, msg);
    }

    /// Logs at notice level.
    pub fn notice(&self, msg: impl Display) {
        self.log(Level::Notice, msg);
    }

    /// Logs at warning level.
    pub fn warn(&self, msg: impl Display) {
        self.log(Level::Warning, msg);
    }

    /// Logs at error level.
    pub fn error(&self, msg: impl Display) {
        self.log(Level::Error, msg);
    }
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Installs the process-wide logger; returns false if one was already installed (the first
/// one stays).
pub fn init(logger: Logger) -> bool {
    LOGGER.set(logger).is_ok()
}

/// Returns the process-wide logger, creating it from the process environment if needed.
pub fn logger() -> &'static Logger {
    LOGGER.get_or_init(|| Logger::from_env(&OcfEnv::from_env()))
}

/// Logs at debug level with the process-wide logger.
pub fn debug(msg: impl Display) {
    logger().debug(msg);
}

/// Logs at info level with the process-wide logger.
pub fn info(msg: impl Display) {
    logger().info(msg);
}

/// Logs at notice level with the process-wide logger.
pub fn notice(msg: impl Display) {
    logger().notice(msg);
}

/// Logs at warning level with the process-wide logger.
pub fn warn(msg: impl Display) {
    logger().warn(msg);
}

/// Logs at error level with the process-wide logger.
pub fn error(msg: impl Display) {
    logger().error(msg);
}

/// Logs a formatted message at debug level with the process-wide OCF logger.
#[macro_export]
macro_rules! ocf_debug {
    ($($arg:tt)*) => { $crate::ocf::log::debug(::std::format_args!($($arg)*)) };
}

/// Logs a formatted message at info level with the process-wide OCF logger.
#[macro_export]
macro_rules! ocf_info {
    ($($arg:tt)*) => { $crate::ocf::log::info(::std::format_args!($($arg)*)) };
}

/// Logs a formatted message at notice level with the process-wide OCF logger.
#[macro_export]
macro_rules! ocf_notice {
    ($($arg:tt)*) => { $crate::ocf::log::notice(::std::format_args!($($arg)*)) };
}

/// Logs a formatted message at warning level with the process-wide OCF logger.
#[macro_export]
macro_rules! ocf_warn {
    ($($arg:tt)*) => { $crate::ocf::log::warn(::std::format_args!($($arg)*)) };
}

/// Logs a formatted message at error level with the process-wide OCF logger.
#[macro_export]
macro_rules! ocf_error {
    ($($arg:tt)*) => { $crate::ocf::log::error(::std::format_args!($($arg)*)) };
}

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
