//! Display of command lines in messages ([`Cmd::cmdline`](super::Cmd::cmdline)).

use std::ffi::OsStr;

use super::MAX_ARG_DISPLAY;

pub(super) fn lossy(s: &OsStr) -> String {
    s.to_string_lossy().into_owned()
}

/// Quotes one word for display the way a POSIX shell would read it back.
pub(super) fn quote(word: &OsStr) -> String {
    let mut s = lossy(word);
    if s.chars().count() > MAX_ARG_DISPLAY {
        s = s.chars().take(MAX_ARG_DISPLAY).chain(['…']).collect();
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s
    } else if s.chars().any(char::is_control) {
        // Bash's $'...' keeps the message on one line.
        let mut q = String::from("$'");
        for c in s.chars() {
            match c {
                '\n' => q.push_str(r"\n"),
                '\t' => q.push_str(r"\t"),
                '\r' => q.push_str(r"\r"),
                '\\' | '\'' => q.extend(['\\', c]),
                c if c.is_control() => q.push_str(&format!("\\x{:02x}", u32::from(c))),
                c => q.push(c),
            }
        }
        q + "'"
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
