//! The systemd journal, read with `journalctl` (the one place that runs it): the lines of one
//! syslog identifier, oldest first, as `journalctl -t ID -o json` prints them (one JSON object
//! per line; `__REALTIME_TIMESTAMP` in microseconds since the epoch, as a string; `MESSAGE` a
//! string, or an array of bytes when it is not UTF-8).

use std::time::Duration;

use crate::cmd::{Cmd, CmdError};

/// Most lines read in one query (the newest are kept).
pub const MAX_LINES: usize = 10_000;

/// Why the journal could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// `journalctl` is missing, failed or timed out (no journal on this machine, ...).
    #[error(transparent)]
    Command(#[from] CmdError),
}

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When it was logged, in microseconds since the epoch.
    pub micros: u64,
    /// The host that logged it (`_HOSTNAME`).
    pub host: Option<String>,
    /// The message.
    pub message: String,
}

/// The entries of syslog identifier `id` since `since` (seconds since the epoch), oldest
/// first, at most [`MAX_LINES`] (the newest).
pub fn read(id: &str, since: Option<i64>) -> Result<Vec<Entry>, JournalError> {
    let mut cmd = Cmd::new("journalctl")
        .args(["--no-pager", "--quiet", "--output=json", "--lines"])
        .arg(MAX_LINES.to_string())
        .timeout(Duration::from_secs(30));
    if let Some(s) = since {
        cmd = cmd.arg(format!("--since=@{s}"));
    }
    let out = cmd.arg(format!("--identifier={id}")).run_string()?;
    Ok(parse_json_lines(&out))
}

/// Parses `journalctl -o json` output; lines that are not an entry with a time and a message
/// are skipped.
pub fn parse_json_lines(text: &str) -> Vec<Entry> {
    text.lines().filter_map(parse_entry).collect()
}

fn parse_entry(line: &str) -> Option<Entry> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let micros = v.get("__REALTIME_TIMESTAMP")?.as_str()?.parse().ok()?;
    let message = match v.get("MESSAGE")? {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(bytes) => {
            let b: Vec<u8> = bytes
                .iter()
                .filter_map(|x| u8::try_from(x.as_u64()?).ok())
                .collect();
            String::from_utf8_lossy(&b).into_owned()
        }
        _ => return None,
    };
    let host = v
        .get("_HOSTNAME")
        .and_then(|h| h.as_str())
        .map(str::to_owned);
    Some(Entry {
        micros,
        host,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by hand in `journalctl -o json`'s documented format (systemd.journal-fields(7),
    /// journalctl(1)), before the sandbox nodes ran journald; `RECORDED` is the real output.
    const LINES: &str = include_str!("../../tests/fixtures/journal/vm-mgr-json.txt");

    #[test]
    fn json_lines_give_time_host_and_message() {
        let e = parse_json_lines(LINES);
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(e[0].micros, 1_796_382_001_123_456);
        assert_eq!(e[0].host.as_deref(), Some("hv1"));
        assert!(
            e[0].message.starts_with("vm=web1 verb=create "),
            "{}",
            e[0].message
        );
        // A message that is not UTF-8 comes as bytes.
        assert_eq!(e[2].message, "vm=web1 verb=stop \u{fffd}");
        assert!(parse_json_lines("not json\n{}\n").is_empty());
    }

    /// Recorded with `journalctl --output=json --identifier=vm-mgr` on a sandbox node (each
    /// runs its own journald); the last line was sent with `logger` and a byte 0xff.
    const RECORDED: &str = include_str!("../../tests/fixtures/journal/vm-mgr-json-sandbox.txt");

    #[test]
    fn recorded_journal_lines_parse() {
        let e = parse_json_lines(RECORDED);
        assert_eq!(e.len(), 7, "{e:?}");
        assert!(e.iter().all(|e| e.host.as_deref() == Some("sim1")));
        assert!(e.windows(2).all(|w| w[0].micros <= w[1].micros));
        assert!(
            e[0].message
                .starts_with("NOTICE: vm=hi8145x0 verb=create user=\"root\""),
            "{}",
            e[0].message
        );
        assert_eq!(e[6].message, "NOTICE: vm=bad verb=stop \u{fffd}");
    }
}
