//! The command line of load-aware placement (issue 17): `balance` and `rebalance`. Clap types
//! only.

use clap::{ArgGroup, Args};

/// `balance`.
#[derive(Debug, Clone, Args)]
#[command(
    group(ArgGroup::new("mode").required(true).args(["enable", "disable", "refresh"])),
    after_help = "balance --enable asks libvirt on every node that may run VMs for its CPU threads
and memory (virsh nodeinfo, at --libvirt-uri), takes the reserve off, and writes the rest as
the node's utilization (cpu, hv_memory and host_memory: the names the VirtualDomain agent
writes for each VM), together with placement-strategy=balanced, in one CIB transaction.
Before that it checks that every VM in the cluster has its utilization, and fills what the
agent has not written yet from the VM's stored domain XML. Pacemaker then places each VM on
the node with the most free capacity and never on a node it does not fit. VMs stay where
they run (their stickiness); `vm-mgr rebalance` moves auto VMs to even the load.
--refresh re-reads the capacities (after a hardware change); --disable removes them and the
strategy."
)]
pub struct BalanceArgs {
    /// Write node capacities and placement-strategy=balanced.
    #[arg(long)]
    pub enable: bool,
    /// Remove the node capacities and the placement strategy (back to Pacemaker's default).
    #[arg(long)]
    pub disable: bool,
    /// Re-read and rewrite the node capacities (balancing must be enabled).
    #[arg(long)]
    pub refresh: bool,
    /// Memory kept for the host: SIZE for every node, NODE=SIZE for one (repeatable). SIZE in
    /// MiB, or with a unit: 512M, 4G.
    #[arg(long, value_name = "[NODE=]SIZE", conflicts_with = "disable")]
    pub reserve_memory: Vec<String>,
    /// CPU threads kept for the host on every node.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        conflicts_with = "disable"
    )]
    pub reserve_cpus: u64,
    /// libvirt URI of each node, %n standing for the node name (default: the configured
    /// hypervisor URI with the migration transport, e.g. qemu+ssh://%n/system).
    #[arg(long, value_name = "URI", conflicts_with = "disable")]
    pub libvirt_uri: Option<String>,
    /// Use these figures instead of asking libvirt: CPUS,SIZE for every node, NODE=CPUS,SIZE
    /// for one (repeatable); for a node libvirt cannot tell, or a CIB file.
    #[arg(long, value_name = "[NODE=]CPUS,SIZE", conflicts_with = "disable")]
    pub node_info: Vec<String>,
}

/// `rebalance`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "rebalance asks Pacemaker (crm_simulate on a copy of the CIB in which
auto VMs have no stickiness) where the auto VMs would run if nothing held them, and
live-migrates those that would move, one at a time, as `vm-mgr migrate` does (preflight, a
self-expiring move constraint, removed afterwards). After each move it asks again. failover
and pinned VMs never move. With --dry-run it prints the moves and changes nothing."
)]
pub struct RebalanceArgs {
    /// At most this many moves.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_moves: u32,
    /// How long each move may take, in seconds (default: from the VM's op timeouts).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}
