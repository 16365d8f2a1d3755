//! The flags of the verbs that copy a VM's disks: snapshots (`create-snapshot`,
//! `remove-snapshot`, `rollback`, `purge`), `clone`, `export` and `import`. Re-exported by
//! [`crate::cli`].

use std::path::PathBuf;

use clap::Args;

/// `-n VM --snap-name S` (create-snapshot, remove-snapshot, rollback).
#[derive(Debug, Clone, Args)]
pub struct SnapArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// The snapshot name (letters, digits, '-', '_', '.').
    #[arg(long, alias = "snap_name", value_name = "SNAPSHOT")]
    pub snap_name: String,
}

/// `purge`.
#[derive(Debug, Clone, Args)]
pub struct PurgeArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// Remove the snapshots created before this instant: "dd/mm/YYYY HH:MM:SS" in local time
    /// (as SEAPATH), "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DD" in local time, or RFC 3339 with Z or
    /// an offset ("2026-11-01T00:00:00Z", "2026-11-01T00:00:00+01:00").
    #[arg(long, value_name = "DATE", conflicts_with = "number")]
    pub date: Option<String>,
    /// Remove the N oldest snapshots.
    #[arg(long, value_name = "N")]
    pub number: Option<usize>,
    /// Never remove the N newest snapshots.
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
}

/// `clone`.
#[derive(Debug, Clone, Args)]
pub struct CloneArgs {
    /// The source VM.
    #[arg(short, long)]
    pub name: String,
    /// The new VM's name.
    #[arg(long, alias = "dst_name", value_name = "NAME")]
    pub dst_name: String,
    /// Clone from this snapshot (default: one taken now, removed afterwards).
    #[arg(long, alias = "snap_name", value_name = "SNAPSHOT")]
    pub snap_name: Option<String>,
    /// Independent copies of the disks instead of copy-on-write clones.
    #[arg(long)]
    pub full: bool,
    /// Use this domain XML (its disks are replaced by the clone's) instead of the source's.
    #[arg(long, value_name = "FILE")]
    pub xml: Option<PathBuf>,
    /// Do not inherit the source's pinned or preferred host.
    #[arg(long, alias = "clear_constraint")]
    pub clear_constraint: bool,
    /// Do not inherit the source's extra meta attributes (--pacemaker-meta of its create).
    #[arg(long, alias = "clear_pacemaker_meta")]
    pub clear_pacemaker_meta: bool,
    /// Do not inherit the source's extra VirtualDomain parameters.
    #[arg(long, alias = "clear_pacemaker_params")]
    pub clear_pacemaker_params: bool,
    /// Do not inherit the source's utilization attributes.
    #[arg(long, alias = "clear_pacemaker_utilization")]
    pub clear_pacemaker_utilization: bool,
    /// Extra meta attributes for the clone, over the inherited ones.
    #[arg(long, alias = "pacemaker_meta", value_name = "KEY=VALUE", num_args = 1..)]
    pub pacemaker_meta: Vec<String>,
    /// Extra VirtualDomain parameters for the clone, over the inherited ones.
    #[arg(long, alias = "pacemaker_params", value_name = "KEY=VALUE", num_args = 1..)]
    pub pacemaker_params: Vec<String>,
    /// Utilization attributes for the clone, over the inherited ones.
    #[arg(long, alias = "pacemaker_utilization", value_name = "KEY=VALUE", num_args = 1..)]
    pub pacemaker_utilization: Vec<String>,
    /// Do not enable the clone (no Pacemaker resources).
    #[arg(long, conflicts_with = "nostart")]
    pub disable: bool,
    /// Enable the clone but do not start it.
    #[arg(long)]
    pub nostart: bool,
}

/// `export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// The directory to write (must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
}

/// `import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// A directory written by `vm-mgr export`.
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// The VM's name here (default: its exported name).
    #[arg(short, long)]
    pub name: Option<String>,
    /// Do not enable the VM (no Pacemaker resources).
    #[arg(long, conflicts_with = "nostart")]
    pub disable: bool,
    /// Enable the VM but do not start it.
    #[arg(long)]
    pub nostart: bool,
}
