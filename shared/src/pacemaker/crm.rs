//! crm shell's `configure` commands, run on a private copy of a CIB so that what they make can
//! be read and checked before anything reaches the cluster (vm-mgr's `--add-crm-config-cmd`,
//! SEAPATH's raw `crm configure` lines).
//!
//! All commands go to one `crm -F -f SCRIPT` run (crm shell starts in about a second), with
//! `CIB_file` naming the copy, so crm shell edits the file through `cibadmin` and never the
//! live CIB.

use std::time::Instant;

use super::error::PacemakerError;
use super::output;
use super::tools::CIB_FILE_ENV;
use crate::cmd::Cmd;
use crate::tempdir::PrivateDir;

/// The crm shell script running `commands`, one `configure WORDS...` line each; `None` when a
/// word holds a control character or is empty (it would split or join lines).
pub fn script(commands: &[Vec<String>]) -> Option<String> {
    let mut text = String::new();
    for words in commands {
        if words.is_empty()
            || words
                .iter()
                .any(|w| w.is_empty() || w.chars().any(char::is_control))
        {
            return None;
        }
        text.push_str("configure ");
        text.push_str(&words.join(" "));
        text.push('\n');
    }
    Some(text)
}

/// Runs `commands` with crm shell on a private copy of `cib_xml`; returns the copy's XML
/// afterwards. A command crm shell refuses fails the whole run, with its error lines.
pub fn configure_on_copy(
    cib_xml: &str,
    commands: &[Vec<String>],
    deadline: Instant,
) -> Result<String, PacemakerError> {
    let text = script(commands).ok_or_else(|| PacemakerError::InvalidArgument {
        what: "crm configure command",
        value: format!("{commands:?}"),
        reason: "an empty word, or a control character",
    })?;
    let temp_err =
        |path: std::path::PathBuf| move |source| PacemakerError::TempFile { path, source };
    let dir = PrivateDir::new("vmmgr-crm").map_err(temp_err(std::env::temp_dir()))?;
    let cib = dir
        .write("cib.xml", cib_xml)
        .map_err(temp_err(dir.path().join("cib.xml")))?;
    let path = dir
        .write("commands.crm", &text)
        .map_err(temp_err(dir.path().join("commands.crm")))?;
    let cmd = Cmd::new("crm")
        .arg("-F")
        .arg("-f")
        .arg(&path)
        .env(CIB_FILE_ENV, &cib)
        .deadline(deadline);
    let cmdline = cmd.cmdline();
    let out = cmd.output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let refused = stderr.lines().any(|l| l.trim_start().starts_with("ERROR"));
    if out.code() != Some(0) || refused {
        return Err(PacemakerError::ToolFailed {
            cmdline,
            code: out.code().unwrap_or(-1),
            message: "crm shell refused a command".into(),
            errors: output::error_lines(stderr.lines()),
        });
    }
    crate::fsread::read_text(&cib, crate::fsread::XML_CAP)
        .map_err(|source| PacemakerError::TempFile { path: cib, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn one_configure_line_per_command() {
        let s = script(&[
            words("location l1 web1 100: hv1"),
            words("order o1 a then web1"),
        ]);
        assert_eq!(
            s.as_deref(),
            Some("configure location l1 web1 100: hv1\nconfigure order o1 a then web1\n")
        );
    }

    #[test]
    fn a_word_that_would_split_or_join_lines_is_refused() {
        assert_eq!(
            script(&[vec!["location".into(), "l1\nnode x".into()]]),
            None
        );
        assert_eq!(script(&[vec![]]), None);
        assert_eq!(script(&[vec!["".into()]]), None);
    }
}
