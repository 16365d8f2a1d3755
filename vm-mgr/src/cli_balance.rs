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
    after_help = "rebalance plans by itself, from the CIB and crm_mon it reads (no crm_simulate, and
work bounded by --max-moves: a plan for 1,000 VMs takes milliseconds). Each step it takes the
move of one auto VM that most lowers the imbalance (the capacity-weighted spread of each
node's used fraction of cpu and memory, from the node capacities of `balance --enable` and
the VMs' utilization; without a utilization placement-strategy, of the VM count), and stops
at --max-moves or when no move lowers it. A move must fit in the target's free capacity and
keep every constraint: location constraints (pins, bans, preferences, rules on node
attributes: an auto VM preferred with INFINITY stays on its node), colocations (never on the
node of a VM it must be apart from; a VM colocated with another VM is not moved), and nodes
that are offline, standby or in maintenance. failover and pinned VMs never move, nor VMs
that cannot live-migrate, have failed, or have no stickiness (Pacemaker places those itself).
A VM moves at most once per run. Then it live-migrates the moves one at a time as `vm-mgr
migrate` does: preflight, Pacemaker's own verdict on that one move (crm_simulate), a
self-expiring move constraint removed afterwards; it plans again from the cluster as it is
after each move, and skips a move the preflight or Pacemaker refuses. With --dry-run it
prints the moves and how the spread would change, and changes nothing."
)]
pub struct RebalanceArgs {
    /// At most this many moves (the plan stops earlier when no move lowers the imbalance).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_moves: u32,
    /// How long each move may take, in seconds (default: from the VM's op timeouts).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}
