//! What a verb prints: a JSON value with stable keys (`--output json`) and the same facts as
//! readable text. Verbs build an [`Outcome`]; `main` prints it. Progress goes to stderr (to
//! stdout with `create -p`, as SEAPATH's Cockpit plugin reads it there).
//!
//! Text output has two layouts where SEAPATH's tools read it ([`OUTPUT_RULES`]): the long one
//! for people (on a terminal, or with `--long`) and a short one that scripts parse (when stdout
//! is not a terminal, as `ls` does): `list` prints the names alone, one per line, and `status`
//! the state word alone. Both begin with the same first line for `status`.

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

/// The rules of text output, for `vm-mgr(1)` and `--help`.
pub const OUTPUT_RULES: &str = "Text output has a long layout for people and a short one for \
scripts, such as SEAPATH's Cockpit plugin. The long one is printed on a terminal or with --long; \
the short one when stdout is not a terminal (as ls(1) does) or with --names (list). list: the \
short layout is the VM names alone, one per line; the long one a table of name, state and node. \
status: the first line is the state word alone (Started, Stopped, Disabled, Undefined, ...); the \
long layout adds indented details after it. An unknown VM prints Undefined and exits 3. \
list_snapshots (SEAPATH's spelling) prints SEAPATH's Python list ['s1', 's2']; list-snapshots a \
table. create -p writes its progress to stdout, one line per step and per percent, instead of \
stderr. --output json is the same whatever the layout.";

/// Which text layout to print (see [`OUTPUT_RULES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// For people: tables, details.
    Long,
    /// For scripts: names alone, the state word alone.
    Short,
}

impl Layout {
    /// The layout for a command line that asked for `long` or `short` (`None`: neither), on a
    /// stdout that is a terminal or not.
    pub fn choose(asked: Option<Layout>, stdout_is_terminal: bool) -> Layout {
        asked.unwrap_or(if stdout_is_terminal {
            Layout::Long
        } else {
            Layout::Short
        })
    }
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
    /// The short text layout where it differs from `text` (see [`Layout`]).
    pub short: Option<String>,
}

impl Outcome {
    /// An outcome from both forms.
    pub fn new(json: Value, text: impl Into<String>) -> Outcome {
        Outcome {
            json,
            text: text.into(),
            exit_code: crate::error::EXIT_OK,
            short: None,
        }
    }

    /// The same outcome, ending the run with exit code `code` once printed.
    pub fn with_exit_code(mut self, code: u8) -> Outcome {
        self.exit_code = code;
        self
    }

    /// The same outcome with a short text layout.
    pub fn with_short(mut self, short: impl Into<String>) -> Outcome {
        self.short = Some(short.into());
        self
    }

    /// The text to print for `format` (the long layout).
    pub fn render(&self, format: OutputFormat) -> String {
        self.render_as(format, Layout::Long)
    }

    /// The text to print for `format` in `layout`.
    pub fn render_as(&self, format: OutputFormat, layout: Layout) -> String {
        match (format, layout, &self.short) {
            (OutputFormat::Json, _, _) => {
                let mut s = serde_json::to_string_pretty(&self.json).unwrap_or_default();
                s.push('\n');
                s
            }
            (OutputFormat::Text, Layout::Short, Some(short)) => short.clone(),
            (OutputFormat::Text, _, _) => self.text.clone(),
        }
    }
}

/// `items` as Python prints a list of strings (`['a', 'b']`, `[]`), the form SEAPATH's
/// `vm_manager` prints lists in and its Cockpit plugin parses (it strips `[`, `]` and `'`,
/// then splits on `", "`). A `\\` or `'` inside an item (snapshot names cannot hold them) is
/// escaped, so the result stays a valid Python literal.
pub fn python_list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|i| format!("'{}'", i.replace('\\', "\\\\").replace('\'', "\\'")))
        .collect();
    format!("[{}]", quoted.join(", "))
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

/// Progress messages on stderr: shown for text output, or with `-v`; or on stdout (`create
/// -p`, see [`Progress::on_stdout`]).
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    enabled: bool,
    tty: bool,
    stdout: bool,
}

impl Progress {
    /// Progress for this output format and verbosity.
    pub fn new(format: OutputFormat, verbose: u8) -> Progress {
        Progress {
            enabled: format == OutputFormat::Text || verbose > 0,
            tty: std::io::stderr().is_terminal(),
            stdout: false,
        }
    }

    /// No progress at all (tests).
    pub fn quiet() -> Progress {
        Progress {
            enabled: false,
            tty: false,
            stdout: false,
        }
    }

    /// Progress on stdout, as SEAPATH's `vm_manager -p` has it there (its `qemu-img -p`) and
    /// its Cockpit plugin streams it from there: every message and a bar line at every whole
    /// percent, each line written at once; never rewritten in place.
    pub fn on_stdout() -> Progress {
        Progress {
            enabled: true,
            tty: false,
            stdout: true,
        }
    }

    /// Whether the lines go to stdout.
    pub fn is_on_stdout(&self) -> bool {
        self.stdout
    }

    fn line(&self, msg: &str) {
        if self.stdout {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            // A reader that went away must not stop the work it reports on.
            let _ = writeln!(out, "{msg}").and_then(|()| out.flush());
        } else {
            eprintln!("{msg}");
        }
    }

    /// One line of progress.
    pub fn say(&self, msg: &str) {
        if self.enabled {
            self.line(msg);
        }
    }

    /// A progress bar for a long step called `label`: on a terminal one line rewritten in place
    /// (`label [#########           ]  45%  12s`), otherwise a line at every tenth done, for
    /// logs (at every percent on stdout).
    pub fn bar(&self, label: &str) -> Bar {
        Bar {
            progress: *self,
            label: label.to_owned(),
            shown: false,
            step: None,
        }
    }
}

/// A progress bar (see [`Progress::bar`]).
#[derive(Debug)]
pub struct Bar {
    progress: Progress,
    label: String,
    shown: bool,
    step: Option<u32>,
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
            let steps = if self.progress.stdout { 100.0 } else { 10.0 };
            // whole steps only: truncation is what is meant
            let step = (d.clamp(0.0, 1.0) * steps).floor() as u32;
            if self.step != Some(step) {
                self.progress.line(&bar_line(&self.label, done, elapsed));
                self.step = Some(step);
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
    fn python_lists_as_seapath_prints_them() {
        assert_eq!(python_list(&[]), "[]");
        assert_eq!(python_list(&["s1".into()]), "['s1']");
        assert_eq!(
            python_list(&["s1".into(), "before-upgrade".into()]),
            "['s1', 'before-upgrade']"
        );
        // The plugin's parse gives the names back.
        let printed = python_list(&["a.1".into(), "b_2".into()]);
        let parsed: Vec<&str> = printed
            .trim_matches(|c| c == '[' || c == ']')
            .split(", ")
            .map(|s| s.trim_matches('\''))
            .collect();
        assert_eq!(parsed, ["a.1", "b_2"]);
        assert_eq!(python_list(&["it's".into()]), r"['it\'s']");
    }

    #[test]
    fn the_layout_follows_the_terminal_unless_asked() {
        assert_eq!(Layout::choose(None, true), Layout::Long);
        assert_eq!(Layout::choose(None, false), Layout::Short);
        assert_eq!(Layout::choose(Some(Layout::Long), false), Layout::Long);
        assert_eq!(Layout::choose(Some(Layout::Short), true), Layout::Short);
        let o = Outcome::new(serde_json::json!([]), "long\n").with_short("short\n");
        assert_eq!(o.render_as(OutputFormat::Text, Layout::Short), "short\n");
        assert_eq!(o.render_as(OutputFormat::Text, Layout::Long), "long\n");
        assert_eq!(o.render(OutputFormat::Text), "long\n");
        // Without a short layout, both print the one text.
        let one = Outcome::new(serde_json::json!([]), "one\n");
        assert_eq!(one.render_as(OutputFormat::Text, Layout::Short), "one\n");
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
