//! The flags of the verbs that show (`list`, `status`): the text layout they print (see
//! [`crate::output::OUTPUT_RULES`]), and where progress goes (`create -p`).

use clap::Args;

use crate::cli::{Cli, Command};
use crate::output::{Layout, OutputFormat};

impl Cli {
    /// The text layout the command line asks for (`--long`, `--names`), if any.
    pub fn layout_asked(&self) -> Option<Layout> {
        match &self.command {
            Command::List(a) if a.long => Some(Layout::Long),
            Command::List(a) if a.names => Some(Layout::Short),
            Command::Status(a) if a.long => Some(Layout::Long),
            _ => None,
        }
    }

    /// Whether progress goes to stdout (`create -p`, `add-to-cluster -p`, with text output).
    pub fn progress_on_stdout(&self) -> bool {
        self.output == OutputFormat::Text
            && match &self.command {
                Command::Create(a) => a.vm.progress,
                Command::AddToCluster(a) => a.vm.progress,
                _ => false,
            }
    }
}

/// `list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// A table of name, state and node, even when stdout is not a terminal.
    #[arg(short, long, conflicts_with = "names")]
    pub long: bool,
    /// The names alone, one per line, even on a terminal.
    #[arg(long)]
    pub names: bool,
    /// The removed VMs in the RBD trash instead: name, removal time, expiry and images
    /// (`restore` brings one back).
    #[arg(long)]
    pub removed: bool,
}

/// `status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// The details after the state word, even when stdout is not a terminal.
    #[arg(short, long)]
    pub long: bool,
}

/// `console`.
#[derive(Debug, Clone, Args)]
pub struct ConsoleArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// Take the console over from another session (virsh console --force).
    #[arg(long)]
    pub force: bool,
}

/// `history`.
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// Only events from this time on (the formats of purge --date: "YYYY-MM-DD HH:MM:SS" local
    /// time, RFC 3339, ...).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
}
