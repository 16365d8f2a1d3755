//! What a verb prints: a JSON value with stable keys (`--output json`) and the same facts as
//! readable text. Verbs build an [`Outcome`]; `main` prints it. Progress goes to stderr.

use std::io::IsTerminal;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Readable text and tables.
    Text,
    /// JSON with stable keys.
    Json,
}

/// The result of a verb, in both forms.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// For `--output json`.
    pub json: Value,
    /// For text output (printed as is; ends with a newline unless empty).
    pub text: String,
    /// The exit code once printed: 0, or (`doctor` with findings left) 1.
    pub exit_code: u8,
}

impl Outcome {
    /// An outcome from both forms.
    pub fn new(json: Value, text: impl Into<String>) -> Outcome {
        Outcome {
            json,
            text: text.into(),
            exit_code: crate::error::EXIT_OK,
        }
    }

    /// The same outcome, ending the run with exit code `code` once printed.
    pub fn with_exit_code(mut self, code: u8) -> Outcome {
        self.exit_code = code;
        self
    }

    /// The text to print for `format`.
    pub fn render(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Json => {
                let mut s = serde_json::to_string_pretty(&self.json).unwrap_or_default();
                s.push('\n');
                s
            }
            OutputFormat::Text => self.text.clone(),
        }
    }
}

/// The outcome of a verb that reports one VM's state (start, stop, enable ...): `state` as
/// JSON and text, `node` where it runs, `extra` keys added to the JSON.
pub fn state_outcome(
    verb: &str,
    name: &str,
    state: impl Serialize + std::fmt::Display,
    node: Option<&str>,
    extra: Value,
) -> Outcome {
    let mut json = json!({
        "name": name,
        "state": state,
        "node": node,
    });
    if let (Some(obj), Some(more)) = (json.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    let on = node.map(|n| format!(" on {n}")).unwrap_or_default();
    Outcome::new(json, format!("{name}: {verb}: {state}{on}\n"))
}

/// The outcome of `--dry-run`: the storage actions and the CIB patch.
pub fn dry_run_outcome(name: &str, verb: &str, storage: &[String], patch: Option<&str>) -> Outcome {
    let json = json!({
        "name": name,
        "dry_run": true,
        "verb": verb,
        "storage_actions": storage,
        "cib_patch": patch,
    });
    let mut text = format!("Dry run of {verb} for {name}: nothing was changed.\n");
    if storage.is_empty() {
        text.push_str("Storage actions: none\n");
    } else {
        text.push_str("Storage actions:\n");
        for a in storage {
            text.push_str(&format!("  - {a}\n"));
        }
    }
    match patch {
        Some(p) => text.push_str(&format!("CIB patch:\n{p}")),
        None => text.push_str("CIB patch: none (the CIB would not change)\n"),
    }
    Outcome::new(json, text)
}

/// Formats rows as a left-aligned table with a header line.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// Progress messages on stderr: shown for text output, or with `-v`.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    enabled: bool,
    tty: bool,
}

impl Progress {
    /// Progress for this output format and verbosity.
    pub fn new(format: OutputFormat, verbose: u8) -> Progress {
        Progress {
            enabled: format == OutputFormat::Text || verbose > 0,
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// No progress at all (tests).
    pub fn quiet() -> Progress {
        Progress {
            enabled: false,
            tty: false,
        }
    }

    /// One line of progress.
    pub fn say(&self, msg: &str) {
        if self.enabled {
            eprintln!("{msg}");
        }
    }

    /// A progress bar for a long step called `label`: on a terminal one line rewritten in place
    /// (`label [#########           ]  45%  12s`), otherwise a line at every tenth done, for
    /// logs.
    pub fn bar(&self, label: &str) -> Bar {
        Bar {
            progress: *self,
            label: label.to_owned(),
            shown: false,
            tenths: None,
        }
    }
}

/// A progress bar (see [`Progress::bar`]).
#[derive(Debug)]
pub struct Bar {
    progress: Progress,
    label: String,
    shown: bool,
    tenths: Option<u32>,
}

impl Bar {
    /// Shows `done` (0.0 to 1.0, `None` while unknown) after `elapsed`.
    pub fn update(&mut self, done: Option<f64>, elapsed: Duration) {
        if !self.progress.enabled {
            return;
        }
        if self.progress.tty {
            eprint!("\r{}\x1b[K", bar_line(&self.label, done, elapsed));
            self.shown = true;
        } else if let Some(d) = done {
            // whole tenths only: truncation is what is meant
            let tenths = (d * 10.0).floor() as u32;
            if self.tenths != Some(tenths) {
                eprintln!("{}", bar_line(&self.label, done, elapsed));
                self.tenths = Some(tenths);
            }
        }
    }

    /// Clears the bar's line on a terminal.
    pub fn end(self) {
        if self.shown {
            eprint!("\r\x1b[K");
        }
    }
}

/// `label [#########           ]  45%  12s`, or `label: 12s` while the fraction is unknown.
pub fn bar_line(label: &str, done: Option<f64>, elapsed: Duration) -> String {
    const WIDTH: usize = 20;
    let secs = elapsed.as_secs();
    match done {
        Some(d) => {
            let d = d.clamp(0.0, 1.0);
            // rounding to whole cells and percents: the values are small and non-negative
            let cells = (d * WIDTH as f64).round() as usize;
            let pct = (d * 100.0).floor() as u32;
            format!(
                "{label} [{}{}] {pct:>3}%  {secs}s",
                "#".repeat(cells),
                " ".repeat(WIDTH - cells)
            )
        }
        None => format!("{label}: {secs}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_lines() {
        let s = Duration::from_secs(12);
        assert_eq!(bar_line("Importing x", None, s), "Importing x: 12s");
        assert_eq!(
            bar_line("Importing x", Some(0.456), s),
            "Importing x [#########           ]  45%  12s"
        );
        assert_eq!(
            bar_line("x", Some(1.0), s),
            "x [####################] 100%  12s"
        );
        assert_eq!(
            bar_line("x", Some(0.0), s),
            "x [                    ]   0%  12s"
        );
    }

    #[test]
    fn tables_align_and_json_is_pretty() {
        let t = table(
            &["NAME", "STATE", "NODE"],
            &[
                vec!["a".into(), "Started".into(), "sim1".into()],
                vec!["longer".into(), "Disabled".into(), "".into()],
            ],
        );
        assert_eq!(
            t,
            "NAME    STATE     NODE\na       Started   sim1\nlonger  Disabled\n"
        );
        let o = Outcome::new(serde_json::json!({"name": "a"}), "a\n");
        assert_eq!(o.render(OutputFormat::Json), "{\n  \"name\": \"a\"\n}\n");
        assert_eq!(o.render(OutputFormat::Text), "a\n");
    }
}
