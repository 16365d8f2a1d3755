//! The flags of the verbs that show (`list`, `status`): the text layout they print (see
//! [`crate::output::OUTPUT_RULES`]).

use clap::Args;

/// `list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// A table of name, state and node, even when stdout is not a terminal.
    #[arg(short, long, conflicts_with = "names")]
    pub long: bool,
    /// The names alone, one per line, even on a terminal.
    #[arg(long)]
    pub names: bool,
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
