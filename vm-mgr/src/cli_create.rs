//! The command line of the verbs that make a VM from outside input: `create` and
//! `add-to-cluster` (clap types only), with the flags they share.

use std::path::PathBuf;

use clap::Args;

use crate::cli::DISK_BUSES;

/// `create`: the VM's name, XML and disk images, then the flags it shares with
/// `add-to-cluster` ([`VmFlags`]).
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
    /// How the VM is made and run.
    #[command(flatten)]
    pub vm: VmFlags,
}

/// The flags `create` and `add-to-cluster` share (SEAPATH's "common options").
#[derive(Debug, Clone, Args)]
pub struct VmFlags {
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
    /// A `crm configure` constraint command naming the VM (location, colocation, order,
    /// rsc_ticket; words split at whitespace, no quoting), repeatable, as SEAPATH's
    /// vm_manager takes it. crm shell makes it on a private copy of the CIB; the constraint
    /// joins the VM's own resources (one transaction, kept by disable/enable/export).
    ///
    /// Example: --add-crm-config-cmd "location web1-on-hv1 web1 100: hv1"
    #[arg(long, alias = "add_crm_config_cmd", value_name = "COMMAND")]
    pub add_crm_config_cmd: Vec<String>,
    /// Write progress to stdout, one line per step and per percent of each disk import (as
    /// SEAPATH's vm_manager, whose Cockpit plugin shows it), instead of stderr.
    #[arg(short = 'p', long)]
    pub progress: bool,
}

/// `add-to-cluster`: a VM defined in libvirt on this node, made a cluster VM.
#[derive(Debug, Clone, Args)]
pub struct AddToClusterArgs {
    /// The libvirt domain on this node (shut off), and the VM's name unless --new-name.
    #[arg(short, long)]
    pub name: String,
    /// The cluster VM's name, when it differs from the domain's; the domain is then kept in
    /// libvirt (otherwise it is undefined once the cluster VM exists, its disk files kept).
    #[arg(long, alias = "new_name", value_name = "NAME")]
    pub new_name: Option<String>,
    /// System disk image (default: the domain's first disk file); the domain's other disk
    /// files become additional disks.
    #[arg(short, long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// How the VM is made and run.
    #[command(flatten)]
    pub vm: VmFlags,
}
