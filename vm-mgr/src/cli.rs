//! The command line: clap types only. Verbs are hyphenated; SEAPATH `vm_manager` spellings
//! (`get_metadata`, `--metadata_name`, ...) are accepted as aliases.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::error::EXIT_CODES_HELP;

/// What `--version` prints: the package's version when the packages built it
/// (`VMMGR_VERSION` set by `packaging/stage` from `packaging/version`, e.g.
/// `0.1.0+git206.4efcf5c0`: the commit it came from), else Cargo's.
pub const VERSION: &str = match option_env!("VMMGR_VERSION") {
    Some(v) => v,
    None => env!("CARGO_PKG_VERSION"),
};

/// Manage highly available VMs on Pacemaker and Ceph RBD.
#[derive(Debug, Parser)]
#[command(name = "vm-mgr", version = VERSION, after_help = EXIT_CODES_HELP)]
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
    /// Ceph client id, without "client." (default from the configuration file, else "libvirt"
    /// when ceph.client.libvirt.keyring is beside the Ceph configuration, else "admin").
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

pub use crate::cli_copies::{CloneArgs, ExportArgs, ImportArgs, PurgeArgs, SnapArgs};
pub use crate::cli_create::{AddToClusterArgs, CreateArgs, VmFlags};
pub use crate::cli_view::{ListArgs, StatusArgs};
pub use crate::output::{Layout, OutputFormat};

/// The disk buses `create --disk-bus` accepts (SEAPATH's Cockpit plugin offers the last four).
pub const DISK_BUSES: [&str; 5] = ["ide", "sata", "scsi", "usb", "virtio"];

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import a VM's disks into RBD, store its XML and settings, and enable it.
    Create(Box<CreateArgs>),
    /// Stop the VM, take it out of the cluster and move its images, with their XML, settings,
    /// CIB fragment and metadata, to the RBD trash for `trash-days` (vm-mgr.conf, default 7):
    /// `restore` brings it back, `list --removed` shows it. --purge deletes everything at once.
    /// On a terminal (stdin is a tty) it first asks for the VM's name, unless --yes; elsewhere
    /// (scripts, pipes) it does not ask. The dir backend has no trash: there it needs --purge.
    ///
    /// Example: vm-mgr remove -n web1
    Remove(crate::cli_trash::RemoveArgs),
    /// Make a VM defined in libvirt on this node (shut off) a cluster VM, as create would:
    /// its disk files imported, its XML and settings stored, enabled unless --disable. Keeping
    /// the domain's name (no --new-name), its local definition is removed (its disk files
    /// are kept), so that only the cluster defines it.
    ///
    /// Example: vm-mgr add-to-cluster -n web1 --enable-live-migration
    #[command(alias = "add_to_cluster")]
    AddToCluster(Box<AddToClusterArgs>),
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
    /// On the dir backend: an internal qcow2 snapshot in every disk file, through QEMU's
    /// monitor (one atomic transaction) when the VM runs, else qemu-img.
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
    /// running VM is stopped first and started again; its constraints are kept. On the dir
    /// backend: qemu-img snapshot -a on every disk file.
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
    /// addresses; metadata copied. Enabled and started unless --disable / --nostart. On the
    /// dir backend --full makes new qcow2 files; copy-on-write makes qcow2 overlays of a
    /// read-only base of the snapshot in DIR/.bases/ (deleted with its last clone).
    ///
    /// Example: vm-mgr clone -n golden --dst-name web7 --snap-name v3
    Clone(CloneArgs),
    /// Write the VM to a directory: raw disk images (at a snapshot taken now), domain XML,
    /// metadata, snapshot list and CIB fragment, ready for `vm-mgr import` here or on another
    /// cluster. The same format on both backends.
    ///
    /// Example: vm-mgr export -n web1 --to /backup/web1
    Export(ExportArgs),
    /// Create a VM from a directory written by `vm-mgr export`, under its name or --name.
    /// An export of either backend imports into either (RBD into dir and back): then the
    /// disks of its XML and its CIB fragment are made anew for the storage taking it.
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
    /// Replace the VM's domain XML. It is checked as create checks one (libvirt's schema, the
    /// size limit) and must stay the same VM: its name and UUID (filled in when left out), its
    /// own disks and no other (an XML naming none of them, such as create's template, keeps
    /// the stored disks). The diff is printed; the XML is stored and applies at the VM's next
    /// start. With --dry-run, the diff alone.
    ///
    /// Example: vm-mgr set-xml -n web1 --xml web1.xml --dry-run
    #[command(alias = "set_xml")]
    SetXml(crate::cli_xml::SetXmlArgs),
    /// Edit the VM's stored domain XML in $VISUAL, else $EDITOR, else vi (split on whitespace,
    /// run without a shell), then store it as set-xml does: checked, the diff printed, applied
    /// at the VM's next start. A refused edit is kept in a file named in the message.
    ///
    /// Example: EDITOR=nano vm-mgr edit -n web1
    Edit(NameArg),
    /// Attach to the VM's serial console on the node that runs it: virsh console there, or
    /// from here through the VM's migration transport (qemu+ssh://NODE/system unless
    /// configured otherwise). Ctrl-] leaves. With --dry-run, print the node and the command.
    /// A VM that is not running is refused (exit 7).
    ///
    /// Example: vm-mgr console -n web1
    Console(crate::cli_view::ConsoleArgs),
    /// The VM's timeline, oldest first, one tab-separated line per event: TIME (UTC), SOURCE,
    /// NODE, EVENT, DETAIL. What is read, and what each source keeps: vm-mgr's own changes from
    /// this node's journal (journalctl -t vm-mgr; every change verb logs one line there:
    /// user, verb, arguments, result, CIB version before and after); Pacemaker's starts,
    /// stops, migrations and failures from the cluster status (crm_mon: the last operation of
    /// each kind per node; a fenced node's are forgotten, older ones are in Pacemaker's logs
    /// only); the fencing of the nodes the VM was on, from the fencer's history. A source that
    /// cannot be read is named on the first line (# ...) and in the JSON's sources.
    ///
    /// Example: vm-mgr history -n web1 --since "2026-12-01 00:00:00"
    History(crate::cli_view::HistoryArgs),
    // Issue 20: pacemaker-remote guest nodes (argument types in `cli_guest`).
    /// Make the VM a Pacemaker guest node: pacemaker-remote in the guest, resources placed on it.
    ///
    /// Example: vm-mgr add-pacemaker-remote -n web1 --remote-address 10.0.0.51
    #[command(alias = "add_pacemaker_remote")]
    AddPacemakerRemote(crate::cli_guest::AddPacemakerRemoteArgs),
    /// Make the VM a plain VM again: its guest node leaves the cluster, the VM keeps running.
    ///
    /// Resources placed on the guest node stop (or move, if they may run elsewhere).
    #[command(alias = "remove_pacemaker_remote")]
    RemovePacemakerRemote(NameArg),
    /// Change the VM's vCPUs and memory: at once in the running guest where its domain allows
    /// it (up to its maximum vCPUs, its balloon's ceiling or its maxMemory), and in its stored
    /// XML, settings and CIB utilization (cpu, hv_memory, host_memory); the rest is reported
    /// as applying at next start.
    ///
    /// Example: vm-mgr set-resources -n web1 --vcpus 2 --memory 4G
    #[command(alias = "set_resources")]
    SetResources(crate::cli_change::SetResourcesArgs),
    /// Change create's options of a VM: timeouts, priority, live migration, migration user,
    /// extra Pacemaker parameters and meta attributes (merged; KEY= removes one). One CIB
    /// transaction (or, for a disabled VM, its stored fragment) and its stored settings, so
    /// disable/enable keep them. Refused as create refuses them (priority or target-role in
    /// --pacemaker-meta, control characters, ...). A VirtualDomain parameter the agent cannot
    /// reload restarts a running VM, as Pacemaker does for any resource.
    ///
    /// Example: vm-mgr set-options -n web1 --stop-timeout 120 --priority 10
    #[command(alias = "set_options")]
    SetOptions(crate::cli_change::SetOptionsArgs),
    /// Add a data disk: a new image data_NAME_N in the VM's RBD group (empty, of --size, or
    /// imported from --image), attached to the running guest at once and kept in its stored
    /// XML and settings. What libvirt cannot hotplug is reported as applying at next start.
    ///
    /// Example: vm-mgr add-disk -n web1 --size 20G
    #[command(alias = "add_disk")]
    AddDisk(crate::cli_change::AddDiskArgs),
    /// Remove a data disk: detached from the running guest and taken out of its stored XML and
    /// settings, then its image out of the VM's RBD group and into the RBD trash (trash-days;
    /// --purge deletes it). The system disk is refused, and so is a disk of a VM with
    /// snapshots (they hold the disk; remove them first).
    ///
    /// Example: vm-mgr remove-disk -n web1 --disk data_web1_0
    #[command(alias = "remove_disk")]
    RemoveDisk(crate::cli_change::RemoveDiskArgs),
    /// Bring a VM removed by `remove` back from the RBD trash, disabled: its images (back in its
    /// RBD group), XML, settings, CIB fragment and metadata as they were (its group snapshots
    /// are not kept). Refused if a VM of that name exists; `enable` then starts it. The most
    /// recent removal of that name is restored.
    ///
    /// Example: vm-mgr restore -n web1 && vm-mgr enable -n web1
    Restore(NameArg),
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
            Command::AddToCluster(_) => "add-to-cluster",
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
            Command::SetXml(_) => "set-xml",
            Command::Edit(_) => "edit",
            Command::Console(_) => "console",
            Command::History(_) => "history",
            Command::AddPacemakerRemote(_) => "add-pacemaker-remote",
            Command::RemovePacemakerRemote(_) => "remove-pacemaker-remote",
            Command::SetResources(_) => "set-resources",
            Command::SetOptions(_) => "set-options",
            Command::AddDisk(_) => "add-disk",
            Command::RemoveDisk(_) => "remove-disk",
            Command::Restore(_) => "restore",
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

/// `doctor`.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Repair what is safe, in one CIB transaction (cli-*, stale and expired vm-mgr
    /// constraints), then clean up the VMs' failures (crm_resource --cleanup); with --dry-run,
    /// show the transaction and change nothing. Disks are never deleted.
    #[arg(long)]
    pub fix: bool,
    /// Also move orphan images to the RBD trash (for `trash-days`) and remove empty orphan
    /// groups.
    #[arg(long, alias = "purge_orphans", requires = "fix")]
    pub purge_orphans: bool,
}

impl Cli {
    /// The VM name the verb acts on, if any.
    pub fn vm_name(&self) -> Option<&str> {
        match &self.command {
            Command::Create(a) => Some(&a.name),
            Command::AddToCluster(a) => Some(&a.name),
            Command::Remove(a) => Some(&a.name),
            Command::Disable(a) | Command::Start(a) | Command::Restore(a) => Some(&a.name),
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
            Command::AddPacemakerRemote(a) => Some(&a.name),
            Command::RemovePacemakerRemote(a) => Some(&a.name),
            Command::SetResources(a) => Some(&a.name),
            Command::SetOptions(a) => Some(&a.name),
            Command::AddDisk(a) => Some(&a.name),
            Command::RemoveDisk(a) => Some(&a.name),
            Command::Drain(_) | Command::Undrain(_) | Command::Doctor(_) => None,
            Command::SetXml(a) => Some(&a.name),
            Command::Edit(a) => Some(&a.name),
            Command::Console(a) => Some(&a.name),
            Command::History(a) => Some(&a.name),
            Command::Balance(_) | Command::Rebalance(_) => None,
        }
    }
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
