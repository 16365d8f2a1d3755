//! The flags of `set-xml` and `edit` (issue 15: change a VM's domain XML).

use std::path::PathBuf;

use clap::Args;

/// `set-xml`.
#[derive(Debug, Clone, Args)]
pub struct SetXmlArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// The new libvirt domain XML.
    #[arg(long, value_name = "FILE")]
    pub xml: PathBuf,
}
