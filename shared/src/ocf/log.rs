//! Exit reasons and logging to stderr (and `HA_LOGFILE`).
//!
//! Pacemaker's execd collects an agent's stderr into its log, and takes the line starting with
//! `ocf-exit-reason:` as the exit reason shown by `crm_mon` (it keeps only the first 128 or so
//! characters, so put the essential part first).
//!
//! Log lines look like `<instance>: <LEVEL>: <message>` on stderr; when `HA_LOGFILE` is set,
//! `<UTC timestamp> <instance>[<pid>]: <LEVEL>: <message>` is also appended to that file.
//! Debug lines are only written when debugging is enabled (see
//! [`OcfEnv::debug_enabled`](super::OcfEnv::debug_enabled)). Newlines in messages become
//! spaces, so one event is one line.
//!
//! The free functions ([`info`] …) and the macros ([`ocf_info!`](crate::ocf_info) …) use a
//! process-wide logger, set by [`run`](super::run) from the invocation's environment (or read
//! from the process environment on first use).

use std::fmt::Display;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::SystemTime;

use super::env::OcfEnv;
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

/// A logger for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logger {
    tag: String,
    debug: bool,
    logfile: Option<PathBuf>,
}

impl Logger {
    /// Creates a logger with an explicit tag, debug switch and optional log file.
    pub fn new(tag: impl Into<String>, debug: bool, logfile: Option<PathBuf>) -> Logger {
        Logger {
            tag: tag.into(),
            debug,
            logfile,
        }
    }

    /// Creates the logger of an invocation: tagged with the resource instance (else the
    /// resource type, else `ocf`), debug and log file as the environment says.
    pub fn from_env(env: &OcfEnv) -> Logger {
        let tag = env
            .resource_instance()
            .or(env.resource_type())
            .unwrap_or("ocf");
        Logger::new(
            tag,
            env.debug_enabled(),
            env.ha_logfile().map(PathBuf::from),
        )
    }

    /// Returns true if debug lines are written.
    pub fn debug_enabled(&self) -> bool {
        self.debug
    }

    /// Returns the stderr line (without newline) for a message.
    pub fn format_line(&self, level: Level, msg: &str) -> String {
        format!("{}: {}: {}", self.tag, level.as_str(), one_line(msg))
    }

    /// Writes a message to `stderr` and to the log file, unless it is a debug message and
    /// debugging is off. Errors writing either are ignored: logging must never fail an action.
    pub fn emit(&self, stderr: &mut dyn Write, level: Level, msg: &str) {
        if level == Level::Debug && !self.debug {
            return;
        }
        let line = self.format_line(level, msg);
        let _ = writeln!(stderr, "{line}");
        if let Some(path) = &self.logfile {
            if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
                let _ = writeln!(
                    f,
                    "{} {}[{}]: {}: {}",
                    clock::utc_millis(SystemTime::now()),
                    self.tag,
                    std::process::id(),
                    level.as_str(),
                    one_line(msg)
                );
            }
        }
    }

    /// Logs a message at `level` to stderr (and the log file).
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
mod tests {
    use super::*;

    #[test]
    fn exit_reason_is_one_line() {
        assert_eq!(
            exit_reason_line("cannot read /etc/vm.xml:\npermission denied\n"),
            "ocf-exit-reason:cannot read /etc/vm.xml: permission denied\n"
        );
        assert_eq!(exit_reason_line("a\r\nb\rc"), "ocf-exit-reason:a b c\n");
        let mut buf = Vec::new();
        write_exit_reason(&mut buf, "x").unwrap();
        assert_eq!(buf, b"ocf-exit-reason:x\n");
    }

    #[test]
    fn lines_and_debug_switch() {
        let quiet = Logger::new("vm1", false, None);
        let mut buf = Vec::new();
        quiet.emit(&mut buf, Level::Debug, "hidden");
        quiet.emit(&mut buf, Level::Info, "started\ndomain");
        quiet.emit(&mut buf, Level::Warning, "w");
        quiet.emit(&mut buf, Level::Error, "e");
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "vm1: INFO: started domain\nvm1: WARNING: w\nvm1: ERROR: e\n"
        );
        let loud = Logger::new("vm1", true, None);
        let mut buf = Vec::new();
        loud.emit(&mut buf, Level::Debug, "shown");
        assert_eq!(String::from_utf8(buf).unwrap(), "vm1: DEBUG: shown\n");
    }

    #[test]
    fn tag_from_env() {
        let e = OcfEnv::from_vars([
            ("OCF_RESOURCE_INSTANCE", "drbd0:1"),
            ("HA_debug", "1"),
            ("HA_LOGFILE", "/tmp/ha.log"),
        ]);
        assert_eq!(
            Logger::from_env(&e),
            Logger::new("drbd0:1", true, Some(PathBuf::from("/tmp/ha.log")))
        );
        let t = OcfEnv::from_vars([("OCF_RESOURCE_TYPE", "rbd")]);
        assert_eq!(
            Logger::from_env(&t).format_line(Level::Info, "m"),
            "rbd: INFO: m"
        );
        let none = OcfEnv::from_vars(Vec::<(String, String)>::new());
        assert_eq!(Logger::from_env(&none), Logger::new("ocf", false, None));
    }

    #[test]
    fn appends_to_logfile() {
        let path = std::env::temp_dir().join(format!("ocf-log-test-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let l = Logger::new("vm1", false, Some(path.clone()));
        l.emit(&mut io::sink(), Level::Info, "one");
        l.emit(&mut io::sink(), Level::Debug, "skipped");
        l.emit(&mut io::sink(), Level::Error, "two");
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let suffix = format!(" vm1[{}]: INFO: one", std::process::id());
        assert!(lines[0].ends_with(&suffix), "{text}");
        assert!(lines[1].ends_with(": ERROR: two"), "{text}");
        assert!(
            lines[0].starts_with("20") && lines[0].contains('T'),
            "{text}"
        );
    }
}
