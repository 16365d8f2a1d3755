//! The clap types of the placement and mobility verbs (kept apart from `cli.rs`, which
//! refers to them from its `Command` enum).

use clap::{ArgAction, Args};

use crate::placement::Strategy;

/// `add-colocation`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  vm-mgr add-colocation -n web db            keep web on db's node (soft, score 700)
  vm-mgr add-colocation -n web db --strong   web runs only where db runs
  vm-mgr add-colocation -n a b --anti --strong   never on the same node (anti-affinity)

The VM follows the other resources (rsc=VM with-rsc=OTHER). Constraint ids are
vmmgr-colo-VM.OTHER (together) and vmmgr-anti-VM.OTHER (apart); they stay with the VM
across disable/enable, and `status` shows them.")]
pub struct AddColocationArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// The resources (VMs or other top-level resources) to run with, or apart from.
    #[arg(required = true, value_name = "OTHER")]
    pub resources: Vec<String>,
    /// Keep the VM apart from them (anti-affinity) instead of together.
    #[arg(long)]
    pub anti: bool,
    /// Mandatory (score INFINITY, or -INFINITY with --anti) instead of a preference.
    #[arg(long, conflicts_with = "score")]
    pub strong: bool,
    /// Strength of a soft colocation (positive; default 700, negated with --anti).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub score: Option<i64>,
}

/// `remove-colocation`.
#[derive(Debug, Clone, Args)]
pub struct RemoveColocationArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// The resources whose colocations (together or apart) to remove; none with --all.
    #[arg(value_name = "OTHER", required_unless_present = "all")]
    pub resources: Vec<String>,
    /// Remove every vm-mgr colocation of the VM.
    #[arg(long, conflicts_with = "resources")]
    pub all: bool,
}

/// `set-placement`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Strategies:
  auto      Pacemaker may move the VM (rebalancing); with --node it prefers that node and
            moves back when the node returns (resource-stickiness=0, vmmgr-prefer-VM INFINITY).
  failover  the VM stays where it runs and moves only when its node fails
            (resource-stickiness=INFINITY; --node only chooses where it first starts).
  pinned    the VM runs only on --node and is not restarted elsewhere when that node dies
            (vmmgr-pin-VM: -INFINITY on every other node; vmmgr-pin-VM.home: INFINITY on
            --node, the line SEAPATH's Cockpit plugin reads). Needs --node.

create's --pinned-host NODE is `pinned --node NODE`; --preferred-host NODE is `auto --node NODE`.")]
pub struct SetPlacementArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// The placement strategy.
    #[arg(long, value_enum)]
    pub strategy: Strategy,
    /// The pinned (pinned) or preferred (auto, failover) node.
    #[arg(long, value_name = "NODE", required_if_eq("strategy", "pinned"))]
    pub node: Option<String>,
}

/// `migrate`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "What happens:
  1. Preflight: the target is online and not in standby or maintenance, no ban, pin,
     colocation or utilization capacity stops the VM there, libvirt on the target answers,
     the disk guard is healthy, and crm_simulate agrees; otherwise it says exactly what blocks
     the move (exit 7) and changes nothing.
  2. A move constraint vmmgr-move-VM (INFINITY on the target, -INFINITY on the node the VM
     runs on, both expiring by themselves) is added in one CIB transaction; the VM
     live-migrates (migrate_to/migrate_from). It bans the source alone: should vm-mgr be
     killed with its node and the target fail before the constraint expires, the VM can
     still run on any other node.
  3. vm-mgr waits (timeout from the migrate_to/migrate_from op timeouts) and then removes the
     constraint, also on failure, timeout or Ctrl-C. No cli-* constraint is ever written.

--offline stops the VM (or, with --wait-for-shutdown, waits for the guest to power itself off)
and starts it on the target. --dry-run prints the CIB patch and what Pacemaker would do.")]
pub struct MigrateArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// The target node.
    #[arg(long, value_name = "NODE")]
    pub node: String,
    /// Stop, move, start instead of a live migration.
    #[arg(long)]
    pub offline: bool,
    /// With --offline: wait for the guest to power itself off instead of stopping it.
    #[arg(long, requires = "offline")]
    pub wait_for_shutdown: bool,
    /// With --wait-for-shutdown: how long the guest has to power off.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 300,
        requires = "wait_for_shutdown"
    )]
    pub shutdown_timeout: u64,
    /// With --offline: start the VM on the target afterwards (--start-after-migration=false
    /// leaves it stopped).
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        action = ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true",
        requires = "offline"
    )]
    pub start_after_migration: bool,
    /// How long to wait for the VM to run on the target (default: from its op timeouts).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

/// `drain`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "drain puts NODE in standby in one CIB transaction, which live-migrates
its VMs away (VMs without live migration are restarted elsewhere), and records them in the
node attribute vmmgr-drained-vms so that `undrain` can bring them back. It first simulates
the standby with crm_simulate and refuses, listing them, when VMs would have to stop (a VM
pinned to NODE, or with nowhere else to go), unless --stop-unmovable."
)]
pub struct DrainArgs {
    /// The node to drain.
    #[arg(long, value_name = "NODE")]
    pub node: String,
    /// Stop the VMs that cannot run elsewhere instead of refusing.
    #[arg(long)]
    pub stop_unmovable: bool,
    /// How long to wait for the VMs to leave (default: from their op timeouts).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

/// `undrain`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "undrain takes NODE out of standby and live-migrates back the VMs drain
recorded, when their strategy allows (auto and failover VMs are migrated back; pinned VMs
return by themselves; stopped, disabled or removed VMs are skipped)."
)]
pub struct UndrainArgs {
    /// The node to bring back.
    #[arg(long, value_name = "NODE")]
    pub node: String,
    /// Only end the standby; leave the VMs where they are.
    #[arg(long)]
    pub no_return: bool,
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Command {
        Cli::try_parse_from(std::iter::once("vm-mgr").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
            .command
    }

    fn fails(args: &[&str]) {
        let e = Cli::try_parse_from(std::iter::once("vm-mgr").chain(args.iter().copied()))
            .map(|c| c.command)
            .unwrap_err();
        assert_eq!(e.exit_code(), 2, "{args:?}");
    }

    #[test]
    fn colocation_verbs_and_seapath_aliases() {
        let Command::AddColocation(a) = parse(&["add_colocation", "-n", "a", "b", "c", "--strong"])
        else {
            panic!()
        };
        assert_eq!(a.resources, ["b", "c"]);
        assert!(a.strong && !a.anti && a.score.is_none());
        let Command::AddColocation(a) = parse(&[
            "add-colocation",
            "--name",
            "a",
            "b",
            "--anti",
            "--score",
            "50",
        ]) else {
            panic!()
        };
        assert!(a.anti && a.score == Some(50));
        fails(&["add-colocation", "-n", "a"]);
        fails(&["add-colocation", "-n", "a", "b", "--strong", "--score", "5"]);
        let Command::RemoveColocation(r) = parse(&["remove_colocation", "-n", "a", "--all"]) else {
            panic!()
        };
        assert!(r.all && r.resources.is_empty());
        fails(&["remove-colocation", "-n", "a"]);
        fails(&["remove-colocation", "-n", "a", "b", "--all"]);
    }

    #[test]
    fn set_placement_needs_a_node_when_pinned() {
        let Command::SetPlacement(s) =
            parse(&["set-placement", "-n", "a", "--strategy", "failover"])
        else {
            panic!()
        };
        assert_eq!(s.strategy, crate::placement::Strategy::Failover);
        assert!(s.node.is_none());
        let c = parse(&[
            "set_placement",
            "-n",
            "a",
            "--strategy",
            "pinned",
            "--node",
            "s1",
        ]);
        assert_eq!(c.verb(), "set-placement");
        fails(&["set-placement", "-n", "a", "--strategy", "pinned"]);
        fails(&["set-placement", "-n", "a", "--strategy", "sometimes"]);
    }

    #[test]
    fn migrate_flags() {
        let Command::Migrate(m) = parse(&["migrate", "-n", "a", "--node", "sim2"]) else {
            panic!()
        };
        assert!(!m.offline && m.start_after_migration && m.timeout.is_none());
        let Command::Migrate(m) = parse(&[
            "migrate",
            "-n",
            "a",
            "--node",
            "sim2",
            "--offline",
            "--wait-for-shutdown",
            "--shutdown-timeout",
            "9",
            "--start-after-migration=false",
            "--timeout",
            "30",
        ]) else {
            panic!()
        };
        assert!(m.offline && m.wait_for_shutdown && !m.start_after_migration);
        assert_eq!((m.shutdown_timeout, m.timeout), (9, Some(30)));
        let Command::Migrate(m) = parse(&[
            "migrate",
            "-n",
            "a",
            "--node",
            "b",
            "--offline",
            "--start-after-migration",
        ]) else {
            panic!()
        };
        assert!(m.start_after_migration);
        fails(&["migrate", "-n", "a"]);
        fails(&["migrate", "-n", "a", "--node", "b", "--wait-for-shutdown"]);
    }

    #[test]
    fn drain_and_undrain() {
        let Command::Drain(d) = parse(&["drain", "--node", "sim1", "--stop-unmovable"]) else {
            panic!()
        };
        assert!(d.stop_unmovable && d.node == "sim1");
        let Command::Undrain(u) = parse(&["undrain", "--node", "sim1", "--no-return"]) else {
            panic!()
        };
        assert!(u.no_return);
        fails(&["drain"]);
        let cli = Cli::try_parse_from(["vm-mgr", "--output", "json", "drain", "--node", "x"]);
        assert!(cli.unwrap().vm_name().is_none());
    }
}
