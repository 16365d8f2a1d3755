//! The flags of `remove` and `restore` (the RBD trash): clap types only.

use clap::Args;

/// `remove`.
#[derive(Debug, Clone, Args)]
pub struct RemoveArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// Delete the images at once instead of moving them to the trash (no restore possible).
    #[arg(long)]
    pub purge: bool,
    /// Do not ask for the VM's name on a terminal.
    #[arg(short, long)]
    pub yes: bool,
}
