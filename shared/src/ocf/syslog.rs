//! Log lines to syslog as resource-agents' `ocf_log` sends them.
//!
//! When Pacemaker runs an agent it sets `HA_LOGFACILITY` (from `PCMK_logfacility`, `daemon` by
//! default; it leaves it unset for `none`). A shell agent's `ocf_log` then runs
//! `logger -t "$HA_LOGTAG" -p "$HA_LOGFACILITY.<level>" "<LEVEL>: <message>"`, where the tag is
//! `<agent>(<instance>)[<pid>]`, e.g. `VirtualDomain(vm1)[1234]`. This module does the same
//! without a `logger` process: one datagram per line to the local syslog socket (`/dev/log`),
//! in the format glibc's `syslog(3)` writes there (RFC 3164):
//!
//! ```text
//! <PRI>Mmm dd hh:mm:ss TAG: LEVEL: message
//! ```
//!
//! with `PRI = facility × 8 + severity` and the time in local time. The severity is the
//! `ocf_log` level's: `err`, `warning`, `notice`, `info`, `debug`. The message part is cut to
//! [`MAX_MESSAGE`] bytes, as `logger` does by default.
//!
//! [`TEST_SOCKET_VAR`] points the datagrams at another socket. It is a **test hook** (the
//! e2e tests bind a socket in a temporary directory and check what arrives); production never
//! sets it.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::env::OcfEnv;
use super::log::Level;
use crate::clock;

/// The local syslog socket.
pub const DEV_LOG: &str = "/dev/log";

/// Test hook: the path of the datagram socket to send to instead of [`DEV_LOG`].
pub const TEST_SOCKET_VAR: &str = "VMMGR_TEST_SYSLOG_SOCKET";

/// The most bytes of `LEVEL: message` sent in one datagram (`logger`'s default `--size`).
pub const MAX_MESSAGE: usize = 1024;

/// The syslog facilities `HA_LOGFACILITY` may name (as `logger -p` knows them).
const FACILITIES: &[(&str, u8)] = &[
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("security", 4),
    ("syslog", 5),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("authpriv", 10),
    ("ftp", 11),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

/// Returns the facility code of a facility name (case-insensitive), `None` for `none`, an
/// empty or an unknown name (then, as with no facility at all, lines go to stderr).
pub fn facility(name: &str) -> Option<u8> {
    let name = name.trim();
    FACILITIES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, code)| code)
}

/// The syslog severity of a level, as `ocf_log` ends up choosing it.
pub const fn severity(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warning => 4,
        Level::Notice => 5,
        Level::Info => 6,
        Level::Debug => 7,
    }
}

/// The `ocf_log` tag: `AGENT(INSTANCE)[PID]`, or `AGENT[PID]` without an instance.
pub fn tag(agent: &str, instance: Option<&str>, pid: u32) -> String {
    match instance.filter(|i| !i.is_empty()) {
        Some(i) => format!("{agent}({i})[{pid}]"),
        None => format!("{agent}[{pid}]"),
    }
}

/// Cuts `s` to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Where and how an invocation logs to syslog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syslog {
    facility: u8,
    tag: String,
    socket: PathBuf,
}

impl Syslog {
    /// A syslog target with a facility code, a tag and a socket path.
    pub fn new(facility: u8, tag: impl Into<String>, socket: impl Into<PathBuf>) -> Syslog {
        Syslog {
            facility,
            tag: tag.into(),
            socket: socket.into(),
        }
    }

    /// The syslog target of an invocation of `agent`, when `HA_LOGFACILITY` names a facility.
    /// The tag is `HA_LOGTAG` when set (as `ocf-shellfuncs` takes it), else [`tag`] of
    /// `OCF_RESOURCE_TYPE` (what Pacemaker ran), else of `agent`.
    pub fn from_env(env: &OcfEnv, agent: &str) -> Option<Syslog> {
        let facility = facility(env.var("HA_LOGFACILITY")?)?;
        let agent = env
            .resource_type()
            .filter(|t| !t.is_empty())
            .unwrap_or(agent);
        let tag = match env.var("HA_LOGTAG").filter(|t| !t.is_empty()) {
            Some(t) => t.to_owned(),
            None => tag(agent, env.resource_instance(), std::process::id()),
        };
        let socket = env
            .var(TEST_SOCKET_VAR)
            .filter(|p| !p.is_empty())
            .unwrap_or(DEV_LOG);
        Some(Syslog::new(facility, tag, socket))
    }

    /// The tag sent with every line.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The socket the datagrams go to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The datagram for one line (`msg` already on one line) logged at `at`.
    pub fn datagram(&self, level: Level, msg: &str, at: SystemTime) -> String {
        let pri = u16::from(self.facility) * 8 + u16::from(severity(level));
        let text = format!("{}: {msg}", level.as_str());
        format!(
            "<{pri}>{} {}: {}",
            clock::format_local(at, "%b %e %T"),
            self.tag,
            cut(&text, MAX_MESSAGE)
        )
    }

    /// Sends one line; an error means the line did not reach syslog.
    pub fn send(&self, level: Level, msg: &str) -> io::Result<()> {
        let sock = UnixDatagram::unbound()?;
        let data = self.datagram(level, msg, SystemTime::now());
        sock.send_to(data.as_bytes(), &self.socket).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    use jiff::tz::TimeZone;

    #[test]
    fn facility_names() {
        assert_eq!(facility("daemon"), Some(3));
        assert_eq!(facility("LOCAL7"), Some(23));
        assert_eq!(facility("local0"), Some(16));
        assert_eq!(facility("authpriv"), Some(10));
        assert_eq!(facility("none"), None);
        assert_eq!(facility(""), None);
        assert_eq!(facility("local8"), None);
    }

    #[test]
    fn ocf_log_tag_and_severities() {
        assert_eq!(
            tag("VirtualDomain", Some("vm1"), 1234),
            "VirtualDomain(vm1)[1234]"
        );
        assert_eq!(tag("drbd", Some("drbd0:1"), 7), "drbd(drbd0:1)[7]");
        assert_eq!(tag("rbd", None, 7), "rbd[7]");
        assert_eq!(tag("rbd", Some(""), 7), "rbd[7]");
        let sev: Vec<u8> = [
            Level::Error,
            Level::Warning,
            Level::Notice,
            Level::Info,
            Level::Debug,
        ]
        .map(severity)
        .to_vec();
        assert_eq!(sev, vec![3, 4, 5, 6, 7]);
    }

    #[test]
    fn from_env_needs_a_known_facility() {
        let env = |v: &[(&str, &str)]| OcfEnv::from_vars(v.iter().copied());
        let base = [
            ("OCF_RESOURCE_INSTANCE", "vm1"),
            ("OCF_RESOURCE_TYPE", "VirtualDomain"),
        ];
        assert_eq!(Syslog::from_env(&env(&base), "x"), None);
        for off in ["none", "bogus", ""] {
            let mut v = base.to_vec();
            v.push(("HA_LOGFACILITY", off));
            assert_eq!(Syslog::from_env(&env(&v), "x"), None, "{off}");
        }
        let mut v = base.to_vec();
        v.push(("HA_LOGFACILITY", "local3"));
        let s = Syslog::from_env(&env(&v), "x").unwrap();
        let pid = std::process::id();
        assert_eq!(
            s,
            Syslog::new(19, format!("VirtualDomain(vm1)[{pid}]"), DEV_LOG)
        );
        v.push((TEST_SOCKET_VAR, "/tmp/t/log"));
        v.retain(|(k, _)| *k != "OCF_RESOURCE_TYPE");
        let s = Syslog::from_env(&env(&v), "rbd").unwrap();
        assert_eq!(s.tag(), format!("rbd(vm1)[{pid}]"));
        assert_eq!(s.socket(), Path::new("/tmp/t/log"));
        v.push(("HA_LOGTAG", "mytag"));
        assert_eq!(Syslog::from_env(&env(&v), "rbd").unwrap().tag(), "mytag");
    }

    #[test]
    fn datagram_is_rfc3164_like_glibc() {
        let s = Syslog::new(3, "VirtualDomain(vm1)[42]", DEV_LOG);
        // 2026-03-05 07:08:09 UTC
        let at = UNIX_EPOCH + Duration::from_secs(1_772_694_489);
        assert_eq!(
            clock::format_in(at, &TimeZone::UTC, "%b %e %T"),
            "Mar  5 07:08:09"
        );
        let d = s.datagram(Level::Error, "cannot start", at);
        let header = clock::format_local(at, "%b %e %T");
        assert_eq!(
            d,
            format!("<27>{header} VirtualDomain(vm1)[42]: ERROR: cannot start")
        );
        assert!(s.datagram(Level::Info, "x", at).starts_with("<30>"));
        assert!(s.datagram(Level::Warning, "x", at).starts_with("<28>"));
        assert!(s.datagram(Level::Notice, "x", at).starts_with("<29>"));
        assert!(s.datagram(Level::Debug, "x", at).starts_with("<31>"));
        let l = Syslog::new(23, "t[1]", DEV_LOG).datagram(Level::Debug, "x", at);
        assert!(l.starts_with("<191>"), "{l}");
    }

    #[test]
    fn long_messages_are_cut_at_a_character() {
        let s = Syslog::new(3, "t[1]", DEV_LOG);
        let msg = "é".repeat(MAX_MESSAGE);
        let d = s.datagram(Level::Info, &msg, SystemTime::now());
        let body = d.split_once("t[1]: ").unwrap().1;
        assert!(
            body.len() <= MAX_MESSAGE && body.len() >= MAX_MESSAGE - 1,
            "{}",
            body.len()
        );
        assert!(body.starts_with("INFO: éé"));
    }

    #[test]
    fn sends_to_a_real_socket() {
        let dir = crate::tempdir::PrivateDir::new("syslog-test").unwrap();
        let path = dir.path().join("log");
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let s = Syslog::new(3, "rbd(g1)[9]", &path);
        s.send(Level::Warning, "image busy").unwrap();
        let mut buf = [0u8; 2048];
        let n = rx.recv(&mut buf).unwrap();
        let got = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(got.starts_with("<28>"), "{got}");
        assert!(got.ends_with(" rbd(g1)[9]: WARNING: image busy"), "{got}");
        drop(rx);
        let missing = Syslog::new(3, "t", dir.path().join("nobody"));
        assert!(missing.send(Level::Info, "x").is_err());
    }
}
