//! What vm-mgr changed, one syslog line per change verb (issue 15): identifier `vm-mgr`, the
//! user, the verb, the VM, the arguments, the result and the CIB version before and after,
//! for example
//!
//! ```text
//! <13>Dec  3 11:20:01 vm-mgr[4242]: NOTICE: vm=web1 verb=migrate user=root result=ok cib=0.45.3->0.47.0 args="migrate -n web1 --node sim2"
//! ```
//!
//! sent as resource-agents' `ocf_log` sends its lines ([`shared::ocf::syslog`], facility
//! `user`), so the journal files it under `SYSLOG_IDENTIFIER=vm-mgr` and `journalctl -t vm-mgr`
//! shows it; `history` reads it back ([`parse_line`]). Dry runs and the verbs that only read
//! change nothing and log nothing. Without a syslog socket the line is dropped (vm-mgr's own
//! work does not depend on it).

use shared::ocf::log::Level;
use shared::ocf::syslog::{Syslog, DEV_LOG, TEST_SOCKET_VAR};

use crate::cli::{Cli, Command};
use crate::ctx::Ctx;

/// The syslog identifier of vm-mgr's lines.
pub const IDENTIFIER: &str = "vm-mgr";
/// Longest argument text kept in a line (the line itself is cut at 1 KiB by the writer).
const MAX_ARGS: usize = 600;

/// Whether `cli` runs a verb that changes something (and so is logged).
pub fn changes(cli: &Cli) -> bool {
    if cli.dry_run {
        return false;
    }
    !matches!(
        &cli.command,
        Command::Status(_)
            | Command::List(_)
            | Command::GetMetadata(_)
            | Command::ListMetadata(_)
            | Command::Info
            | Command::ListSnapshots(_)
            | Command::ListSnapshotsSeapath(_)
            | Command::Console(_)
            | Command::History(_)
    ) && !matches!(&cli.command, Command::Doctor(a) if !a.fix)
}

/// The CIB version now, `admin_epoch.epoch.num_updates` ("?" when it cannot be read).
pub fn cib_version(ctx: &Ctx) -> String {
    match ctx.tools.cib_query(ctx.cib_deadline()) {
        Ok(cib) => {
            let v = cib.version();
            format!("{}.{}.{}", v.admin_epoch, v.epoch, v.num_updates)
        }
        Err(_) => "?".to_owned(),
    }
}

/// Who runs vm-mgr: the user behind sudo, else the name of the uid (the user database),
/// else the uid.
fn user() -> String {
    if let Some(u) = std::env::var("SUDO_USER").ok().filter(|v| !v.is_empty()) {
        return u;
    }
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) => u.name,
        _ => format!("uid {uid}"),
    }
}

/// `s` with `"` and `\` escaped and control characters as spaces, for a quoted field.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The line for one run: `args` as given (without the program), `result` "ok" or the error.
pub fn line(
    vm: Option<&str>,
    verb: &str,
    user: &str,
    result: &str,
    cib: (&str, &str),
    args: &[String],
) -> String {
    let mut text = args.join(" ");
    if text.len() > MAX_ARGS {
        let mut end = MAX_ARGS;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    format!(
        "vm={} verb={verb} user={} result={} cib={}->{} args={}",
        vm.unwrap_or("-"),
        quoted(user),
        quoted(result),
        cib.0,
        cib.1,
        quoted(&text)
    )
}

/// Sends the line of a finished run (`error`: its message when it failed).
pub fn log(cli: &Cli, before: &str, after: &str, error: Option<&str>) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = error.map_or_else(|| "ok".to_owned(), |e| format!("failed: {e}"));
    let msg = line(
        cli.vm_name(),
        cli.command.verb(),
        &user(),
        &result,
        (before, after),
        &args,
    );
    let socket = std::env::var(TEST_SOCKET_VAR)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEV_LOG.to_owned());
    let tag = format!("{IDENTIFIER}[{}]", std::process::id());
    let level = if error.is_some() {
        Level::Error
    } else {
        Level::Notice
    };
    // facility user (1), as logger(1) uses by default
    let _ = Syslog::new(1, tag, socket).send(level, &msg);
}

/// One vm-mgr line read back: the VM, the verb, and the rest as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// The VM named (`-`: none).
    pub vm: String,
    /// The verb.
    pub verb: String,
    /// The whole message.
    pub message: String,
}

/// Reads a message written by [`log`] (the level prefix may be there or not); `None` for
/// anything else.
pub fn parse_line(message: &str) -> Option<Logged> {
    let m = message.trim();
    let body = m
        .split_once(": ")
        .filter(|(l, _)| l.chars().all(|c| c.is_ascii_uppercase()))
        .map_or(m, |(_, b)| b);
    let rest = body.strip_prefix("vm=")?;
    let (vm, rest) = rest.split_once(' ')?;
    let verb = rest.strip_prefix("verb=")?.split(' ').next()?;
    Some(Logged {
        vm: vm.to_owned(),
        verb: verb.to_owned(),
        message: body.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_quotes_its_values_and_reads_back() {
        let args: Vec<String> = ["migrate", "-n", "web1", "--node", "sim2"]
            .map(String::from)
            .to_vec();
        let l = line(
            Some("web1"),
            "migrate",
            "ops",
            "ok",
            ("0.45.3", "0.47.0"),
            &args,
        );
        assert_eq!(
            l,
            "vm=web1 verb=migrate user=\"ops\" result=\"ok\" cib=0.45.3->0.47.0 args=\"migrate -n web1 --node sim2\""
        );
        let back = parse_line(&format!("NOTICE: {l}")).unwrap();
        assert_eq!((back.vm.as_str(), back.verb.as_str()), ("web1", "migrate"));
        assert_eq!(back.message, l);
        assert_eq!(parse_line(&l).unwrap().vm, "web1");
        // Quotes, newlines and long arguments stay on one bounded line.
        let odd = vec![
            "set-metadata".to_owned(),
            "a\"b\nc".to_owned(),
            "x".repeat(2000),
        ];
        let l = line(None, "set-metadata", "u", "failed: \"x\"", ("?", "?"), &odd);
        assert!(
            l.starts_with("vm=- verb=set-metadata user=\"u\" result=\"failed: \\\"x\\\"\""),
            "{l}"
        );
        assert!(
            l.contains("a\\\"b c") && !l.contains('\n') && l.len() < 800,
            "{l}"
        );
        assert_eq!(parse_line("something else"), None);
        assert_eq!(parse_line("NOTICE: vm="), None);
    }
}
