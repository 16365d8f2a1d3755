//! Arguments of the verbs that change a VM after create (issue 15): `set-resources`,
//! `set-options`, `add-disk`.

use clap::Args;

/// `set-resources`.
#[derive(Debug, Clone, Args)]
pub struct SetResourcesArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// vCPUs (live up to the domain's maximum, `<vcpu>`; fewer, or more than the maximum,
    /// at next start).
    #[arg(long, value_name = "N")]
    pub vcpus: Option<u32>,
    /// Memory: a size such as 512M or 2G (K, M, G, T are powers of 1024; no unit means MiB).
    /// Live through the balloon up to `<memory>`, or by a hotplugged DIMM up to
    /// `<maxMemory>`; otherwise at next start.
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<String>,
}

/// `set-options`: create's options, each changed only when given.
#[derive(Debug, Clone, Args)]
pub struct SetOptionsArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// Stop timeout in seconds.
    #[arg(long, alias = "stop_timeout", value_name = "SECONDS")]
    pub stop_timeout: Option<u32>,
    /// migrate_to timeout in seconds.
    #[arg(
        long,
        visible_alias = "migration-to-timeout",
        alias = "migrate_to_timeout",
        value_name = "SECONDS"
    )]
    pub migrate_to_timeout: Option<u32>,
    /// Resource priority.
    #[arg(long, allow_hyphen_values = true)]
    pub priority: Option<i32>,
    /// Allow live migration (meta allow-migrate=true).
    #[arg(
        long,
        alias = "enable_live_migration",
        conflicts_with = "disable_live_migration"
    )]
    pub enable_live_migration: bool,
    /// Forbid live migration (meta allow-migrate=false: a move stops and starts the VM).
    #[arg(long, alias = "disable_live_migration")]
    pub disable_live_migration: bool,
    /// User of the migration URI (an empty value removes it).
    #[arg(long, alias = "migration_user", value_name = "USER")]
    pub migration_user: Option<String>,
    /// Extra VirtualDomain parameters, merged with the VM's (KEY= removes KEY).
    #[arg(long, alias = "pacemaker_params", value_name = "KEY=VALUE", num_args = 1..)]
    pub pacemaker_params: Vec<String>,
    /// Extra meta attributes, merged with the VM's (KEY= removes KEY).
    #[arg(long, alias = "pacemaker_meta", value_name = "KEY=VALUE", num_args = 1..)]
    pub pacemaker_meta: Vec<String>,
}

/// `add-disk`.
#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("content").required(true).args(["size", "image"]))]
pub struct AddDiskArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// Size of a new empty disk, such as 16M or 20G (K, M, G, T are powers of 1024; no unit
    /// means MiB).
    #[arg(long, value_name = "SIZE", conflicts_with = "image")]
    pub size: Option<String>,
    /// Import this image file (qcow2 or raw, detected) as the new disk instead.
    #[arg(long, value_name = "FILE")]
    pub image: Option<std::path::PathBuf>,
    /// Bus of the new disk in the guest (hotplug: virtio and scsi, with a SCSI controller;
    /// sata waits for the next start).
    #[arg(long, default_value = "virtio", value_parser = ["virtio", "scsi", "sata"])]
    pub bus: String,
}

/// `remove-disk`.
#[derive(Debug, Clone, Args)]
pub struct RemoveDiskArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// The data disk: its image (data_NAME_N) or its device in the guest (vdb, sdb ...).
    #[arg(long, value_name = "DISK")]
    pub disk: String,
    /// Delete the image at once instead of moving it to the RBD trash.
    #[arg(long)]
    pub purge: bool,
}
