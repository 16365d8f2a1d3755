//! What a verb prints: a JSON value with stable keys (`--output json`) and the same facts as
//! readable text. Verbs build an [`Outcome`]; `main` prints it. Progress goes to stderr.

use std::io::IsTerminal;

use serde_json::Value;

use crate::cli::OutputFormat;

/// The result of a verb, in both forms.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// For `--output json`.
    pub json: Value,
    /// For text output (printed as is; ends with a newline unless empty).
    pub text: String,
}

impl Outcome {
    /// An outcome from both forms.
    pub fn new(json: Value, text: impl Into<String>) -> Outcome {
        Outcome {
            json,
            text: text.into(),
        }
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

    /// A line that is rewritten in place on a terminal (elapsed time of a long step).
    pub fn tick(&self, msg: &str) {
        if self.enabled && self.tty {
            eprint!("\r{msg}\x1b[K");
        }
    }

    /// Ends a series of [`Progress::tick`]s.
    pub fn end_ticks(&self) {
        if self.enabled && self.tty {
            eprint!("\r\x1b[K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
