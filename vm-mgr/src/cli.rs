//! The command line: clap types only. Verbs are hyphenated; SEAPATH `vm_manager` spellings
//! (`get_metadata`, `--metadata_name`, ...) are accepted as aliases.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::error::EXIT_CODES_HELP;

/// Manage highly available VMs on Pacemaker and Ceph RBD.
#[derive(Debug, Parser)]
#[command(name = "vm-mgr", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Work on this CIB XML file instead of the live cluster (CIB_file).
    #[arg(long, global = true, value_name = "FILE")]
    pub cib_file: Option<PathBuf>,
    /// Print the CIB patch and the storage actions; change nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Do not use Ceph: list and status see only the CIB; verbs needing storage (create,
    /// remove, ...) refuse before changing anything.
    #[arg(long, global = true)]
    pub no_storage: bool,
    /// Where VMs live: rbd (Ceph RBD) or dir (a directory every node sees, --dir); default from
    /// the configuration file, else rbd.
    #[arg(long, global = true, value_name = "BACKEND", value_parser = ["rbd", "dir"])]
    pub storage: Option<String>,
    /// The VM directory of the dir backend: an absolute path every node sees, the same on each
    /// (default from the configuration file).
    #[arg(long, global = true, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// RBD pool (default from the configuration file, else "rbd").
    #[arg(long, global = true, value_name = "POOL")]
    pub pool: Option<String>,
    /// Ceph configuration file (default from the configuration file, else Ceph's own).
    #[arg(long, global = true, value_name = "FILE")]
    pub ceph_conf: Option<PathBuf>,
    /// Ceph client id, without "client." (default from the configuration file, else "admin").
    #[arg(long, global = true, value_name = "ID")]
    pub ceph_id: Option<String>,
    /// vm-mgr configuration file (default /etc/vm-mgr/vm-mgr.conf if it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More messages (repeat for more).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// The verb.
    #[command(subcommand)]
    pub command: Command,
}

pub use crate::cli_view::{ListArgs, StatusArgs};
pub use crate::output::{Layout, OutputFormat};

/// The disk buses `create --disk-bus` accepts (SEAPATH's Cockpit plugin offers the last four).
pub const DISK_BUSES: [&str; 5] = ["ide", "sata", "scsi", "usb", "virtio"];

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import a VM's disks into RBD, store its XML and settings, and enable it.
    Create(Box<CreateArgs>),
    /// Disable a VM and delete its images, group and metadata.
    Remove(NameArg),
    /// Put the VM's CIB fragment (kept in RBD metadata) into the cluster, and start it.
    Enable(EnableArgs),
    /// Stop the VM and take its resources and constraints out of the cluster, keeping them.
    Disable(NameArg),
    /// Set the VM's target role to Started and wait until it runs.
    Start(NameArg),
    /// Set the VM's target role to Stopped and wait until it is stopped.
    Stop(StopArgs),
    /// Show the state of a VM and the node it runs on.
    ///
    /// The first line is the state word alone (Started, Stopped, Disabled, Undefined, ...), as
    /// SEAPATH prints it; on a terminal or with --long, the node, placement, constraints and
    /// failures follow, indented. An unknown VM prints Undefined and exits 3.
    Status(StatusArgs),
    /// List every VM with its state and node.
    ///
    /// On a terminal or with --long: a table of name, state and node. When stdout is not a
    /// terminal (as ls does), or with --names: the names alone, one per line, which is what
    /// SEAPATH's tools read.
    List(ListArgs),
    /// Print one user metadata value of a VM.
    #[command(alias = "get_metadata")]
    GetMetadata(GetMetadataArgs),
    /// Set one user metadata value of a VM.
    #[command(alias = "set_metadata")]
    SetMetadata(SetMetadataArgs),
    /// List the metadata keys of a VM.
    #[command(alias = "list_metadata")]
    ListMetadata(ListMetadataArgs),
    /// Cluster overview: nodes, quorum, DC, which VMs run where, utilization.
    Info,
    /// Take one consistent snapshot of all the VM's disks (an RBD group snapshot), with the
    /// domain XML and settings of that moment. A running VM's filesystems are frozen through
    /// its QEMU guest agent; without an answering agent the snapshot is crash-consistent.
    ///
    /// Example: vm-mgr create-snapshot -n web1 --snap-name before-upgrade
    #[command(alias = "create_snapshot")]
    CreateSnapshot(SnapArgs),
    /// List the VM's snapshots: name, creation time (UTC), consistency, protection.
    ///
    /// SEAPATH's spelling, list_snapshots, prints their names as SEAPATH's vm_manager does: a
    /// Python list, ['s1', 's2'], oldest first.
    ListSnapshots(NameArg),
    /// SEAPATH's `list_snapshots`: the snapshot names as a Python list, `['s1', 's2']`.
    #[command(name = "list_snapshots", hide = true)]
    ListSnapshotsSeapath(NameArg),
    /// Remove one snapshot (all its disks' parts and the XML and settings kept with it).
    #[command(alias = "remove_snapshot")]
    RemoveSnapshot(SnapArgs),
    /// Roll every disk back to a snapshot and restore the XML and settings kept with it. A
    /// running VM is stopped first and started again; its constraints are kept.
    ///
    /// Example: vm-mgr rollback -n web1 --snap-name before-upgrade
    Rollback(SnapArgs),
    /// Remove many unprotected snapshots: all of them, those older than --date, or the
    /// --number oldest; --keep spares the newest.
    ///
    /// Example: vm-mgr purge -n web1 --date "31/12/2024 00:00:00" --keep 2
    Purge(PurgeArgs),
    /// Make a new VM from this one: copy-on-write clones of its disks at a snapshot (taken now
    /// when none is named), or independent copies with --full; new name, UUID and MAC
    /// addresses; metadata copied. Enabled and started unless --disable / --nostart.
    ///
    /// Example: vm-mgr clone -n golden --dst-name web7 --snap-name v3
    Clone(CloneArgs),
    /// Write the VM to a directory: raw disk images (at a snapshot taken now), domain XML,
    /// metadata, snapshot list and CIB fragment, ready for `vm-mgr import` here or on another
    /// cluster.
    ///
    /// Example: vm-mgr export -n web1 --to /backup/web1
    Export(ExportArgs),
    /// Create a VM from a directory written by `vm-mgr export`, under its name or --name.
    ///
    /// Example: vm-mgr import --from /backup/web1 --name web1restored
    Import(ImportArgs),
    // Issue 7: placement and mobility (argument types in `cli_placement`).
    /// Keep the VM on the same node as other resources, or apart from them (--anti).
    ///
    /// Example: vm-mgr add-colocation -n web1 web2 --anti --strong
    #[command(alias = "add_colocation")]
    AddColocation(crate::cli_placement::AddColocationArgs),
    /// Remove vm-mgr's colocations of the VM with the given resources (or --all).
    #[command(alias = "remove_colocation")]
    RemoveColocation(crate::cli_placement::RemoveColocationArgs),
    /// Choose how the VM is placed: auto, failover or pinned (to --node).
    ///
    /// Example: vm-mgr set-placement -n web1 --strategy failover
    #[command(alias = "set_placement")]
    SetPlacement(crate::cli_placement::SetPlacementArgs),
    /// Move the VM to another node: live, or --offline (stop, move, start), after preflight
    /// checks; never leaves a constraint behind.
    ///
    /// Example: vm-mgr migrate -n web1 --node hv2
    Migrate(crate::cli_placement::MigrateArgs),
    /// Move every VM off a node (live when possible) and put the node in standby.
    ///
    /// Example: vm-mgr drain --node hv1
    Drain(crate::cli_placement::DrainArgs),
    /// End a node's standby and bring back the VMs that drain moved away.
    ///
    /// Example: vm-mgr undrain --node hv1
    Undrain(crate::cli_placement::UndrainArgs),
    // Issue 15: day two.
    /// Find what is wrong with vm-mgr's VMs and say what to do about each. It looks for cli-* constraints
    /// (crm/pcs move or ban) on VMs, vm-mgr constraints naming a missing VM, expired move
    /// constraints, half-made VMs (images or RBD groups of no VM, a VM without its image),
    /// fail-counts and failed actions, stored XML, settings or fragment that cannot be read,
    /// CIB and stored fragment that disagree, standby or maintenance nodes running VMs, a
    /// placement strategy without node capacities. One line per finding, tab-separated: STATUS
    /// (fixable, manual or fixed), KIND, VM, ID, DETAIL, FIX; lines starting with # say what
    /// --fix did.
    /// Exit code 0 when nothing is found (or left after --fix), 1 when findings remain.
    ///
    /// Example: vm-mgr doctor --fix --dry-run
    Doctor(DoctorArgs),
    // Issue 17: load-aware placement (argument types in `cli_balance`).
    /// Place VMs by load: write every node's capacity (CPU threads and memory from libvirt,
    /// minus a reserve for the host) and placement-strategy=balanced; --disable goes back,
    /// --refresh re-reads the capacities.
    ///
    /// Example: vm-mgr balance --enable --reserve-memory 2G --reserve-cpus 1
    Balance(crate::cli_balance::BalanceArgs),
    /// Live-migrate auto VMs to where Pacemaker would place them by load, one at a time, as
    /// migrate does; failover and pinned VMs never move.
    ///
    /// Example: vm-mgr rebalance --dry-run
    Rebalance(crate::cli_balance::RebalanceArgs),
}

impl Command {
    /// The verb as typed in hyphenated form.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Create(_) => "create",
            Command::Remove(_) => "remove",
            Command::Enable(_) => "enable",
            Command::Disable(_) => "disable",
            Command::Start(_) => "start",
            Command::Stop(_) => "stop",
            Command::Status(_) => "status",
            Command::List(_) => "list",
            Command::GetMetadata(_) => "get-metadata",
            Command::SetMetadata(_) => "set-metadata",
            Command::ListMetadata(_) => "list-metadata",
            Command::Info => "info",
            Command::CreateSnapshot(_) => "create-snapshot",
            Command::ListSnapshots(_) => "list-snapshots",
            Command::ListSnapshotsSeapath(_) => "list_snapshots",
            Command::RemoveSnapshot(_) => "remove-snapshot",
            Command::Rollback(_) => "rollback",
            Command::Purge(_) => "purge",
            Command::Clone(_) => "clone",
            Command::Export(_) => "export",
            Command::Import(_) => "import",
            Command::AddColocation(_) => "add-colocation",
            Command::RemoveColocation(_) => "remove-colocation",
            Command::SetPlacement(_) => "set-placement",
            Command::Migrate(_) => "migrate",
            Command::Drain(_) => "drain",
            Command::Undrain(_) => "undrain",
            Command::Doctor(_) => "doctor",
            Command::Balance(_) => "balance",
            Command::Rebalance(_) => "rebalance",
        }
    }
}

/// `-n/--name`.
#[derive(Debug, Clone, Args)]
pub struct NameArg {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
}

/// `create`.
#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// libvirt domain XML.
    #[arg(long, value_name = "FILE")]
    pub xml: PathBuf,
    /// System disk image (qcow2 or raw, detected).
    #[arg(short, long, value_name = "FILE")]
    pub image: PathBuf,
    /// Additional disk image (repeatable).
    #[arg(
        long = "additional-disk",
        alias = "additional_disk",
        value_name = "FILE"
    )]
    pub additional_disk: Vec<PathBuf>,
    /// Bus of the disks written into the XML (usb needs the domain's USB controller).
    #[arg(long, alias = "disk_bus", default_value = "virtio", value_parser = DISK_BUSES)]
    pub disk_bus: String,
    /// Do not enable (no Pacemaker resources).
    #[arg(long)]
    pub disable: bool,
    /// Enable but do not start.
    #[arg(long)]
    pub nostart: bool,
    /// Replace an existing VM of that name.
    #[arg(long)]
    pub force: bool,
    /// Allow live migration (meta allow-migrate=true).
    #[arg(long, alias = "enable_live_migration")]
    pub enable_live_migration: bool,
    /// User of the migration URI.
    #[arg(long, alias = "migration_user", value_name = "USER")]
    pub migration_user: Option<String>,
    /// migrate_to timeout in seconds.
    #[arg(
        long,
        visible_alias = "migration-to-timeout",
        alias = "migrate_to_timeout",
        default_value_t = 120,
        value_name = "SECONDS"
    )]
    pub migrate_to_timeout: u32,
    /// Stop timeout in seconds.
    #[arg(
        long,
        alias = "stop_timeout",
        default_value_t = 30,
        value_name = "SECONDS"
    )]
    pub stop_timeout: u32,
    /// Maximum live migration downtime in milliseconds.
    #[arg(
        long,
        alias = "migration_downtime",
        default_value_t = 0,
        value_name = "MS"
    )]
    pub migration_downtime: u32,
    /// Resource priority.
    #[arg(long, default_value_t = 0)]
    pub priority: i32,
    /// Run only on this node.
    #[arg(
        long,
        alias = "pinned_host",
        value_name = "NODE",
        conflicts_with = "preferred_host"
    )]
    pub pinned_host: Option<String>,
    /// Prefer this node.
    #[arg(long, alias = "preferred_host", value_name = "NODE")]
    pub preferred_host: Option<String>,
    /// User metadata (repeatable).
    #[arg(long, value_name = "KEY=VALUE", num_args = 1..)]
    pub metadata: Vec<String>,
    /// Extra VirtualDomain parameters.
    #[arg(long, alias = "pacemaker_params", value_name = "KEY=VALUE", num_args = 1..)]
    pub pacemaker_params: Vec<String>,
    /// Extra meta attributes.
    #[arg(long, alias = "pacemaker_meta", value_name = "KEY=VALUE", num_args = 1..)]
    pub pacemaker_meta: Vec<String>,
    /// Utilization attributes.
    #[arg(long, alias = "pacemaker_utilization", value_name = "KEY=VALUE", num_args = 1..)]
    pub pacemaker_utilization: Vec<String>,
    /// Write progress to stdout, one line per step and per percent of each disk import (as
    /// SEAPATH's vm_manager, whose Cockpit plugin shows it), instead of stderr.
    #[arg(short = 'p', long)]
    pub progress: bool,
}

/// `enable`.
#[derive(Debug, Clone, Args)]
pub struct EnableArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// Do not start the VM.
    #[arg(long)]
    pub nostart: bool,
}

/// `stop`.
#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// Power the VM off at once instead of shutting it down.
    #[arg(short, long)]
    pub force: bool,
}

/// `get-metadata`.
#[derive(Debug, Clone, Args)]
pub struct GetMetadataArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// The key.
    #[arg(long, alias = "metadata_name", value_name = "KEY")]
    pub metadata_name: String,
}

/// `set-metadata`.
#[derive(Debug, Clone, Args)]
pub struct SetMetadataArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// The key.
    #[arg(long, alias = "metadata_name", value_name = "KEY")]
    pub metadata_name: String,
    /// The value.
    #[arg(long, alias = "metadata_value", value_name = "VALUE")]
    pub metadata_value: String,
}

/// `list-metadata`.
#[derive(Debug, Clone, Args)]
pub struct ListMetadataArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// Also show vm-mgr's internal keys.
    #[arg(long)]
    pub all: bool,
}

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

/// `doctor`.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Repair what is safe, in one CIB transaction (cli-*, stale and expired vm-mgr
    /// constraints), then clean up the VMs' failures (crm_resource --cleanup); with --dry-run,
    /// show the transaction and change nothing. Disks are never deleted.
    #[arg(long)]
    pub fix: bool,
    /// Also move orphan images and groups to the RBD trash (not implemented yet: exit 6).
    #[arg(long, alias = "purge_orphans", requires = "fix")]
    pub purge_orphans: bool,
}

impl Cli {
    /// The VM name the verb acts on, if any.
    pub fn vm_name(&self) -> Option<&str> {
        match &self.command {
            Command::Create(a) => Some(&a.name),
            Command::Remove(a) | Command::Disable(a) | Command::Start(a) => Some(&a.name),
            Command::Status(a) => Some(&a.name),
            Command::Enable(a) => Some(&a.name),
            Command::Stop(a) => Some(&a.name),
            Command::GetMetadata(a) => Some(&a.name),
            Command::SetMetadata(a) => Some(&a.name),
            Command::ListMetadata(a) => Some(&a.name),
            Command::List(_) | Command::Info => None,
            Command::CreateSnapshot(a) | Command::RemoveSnapshot(a) | Command::Rollback(a) => {
                Some(&a.name)
            }
            Command::ListSnapshots(a) | Command::ListSnapshotsSeapath(a) => Some(&a.name),
            Command::Purge(a) => Some(&a.name),
            Command::Clone(a) => Some(&a.name),
            Command::Export(a) => Some(&a.name),
            Command::Import(a) => a.name.as_deref(),
            Command::AddColocation(a) => Some(&a.name),
            Command::RemoveColocation(a) => Some(&a.name),
            Command::SetPlacement(a) => Some(&a.name),
            Command::Migrate(a) => Some(&a.name),
            Command::Drain(_) | Command::Undrain(_) | Command::Doctor(_) => None,
            Command::Balance(_) | Command::Rebalance(_) => None,
        }
    }
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
