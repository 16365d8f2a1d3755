//! The clap types of the pacemaker-remote verbs (kept apart from `cli.rs`, which refers to them
//! from its `Command` enum).

use clap::Args;

/// `add-pacemaker-remote`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "What it does:
  The VM's domain resource (vmmgr-domain-VM) gets Pacemaker's meta attributes remote-node
  (the guest node's name), remote-addr, remote-port and remote-connect-timeout, in one CIB
  transaction; they are kept with the VM (disable/enable, export/import) and in its settings.
  Once the VM runs, Pacemaker connects to pacemaker-remoted in the guest, and resources can be
  placed on the guest node (crm_mon lists it as a node). VMs themselves never run on a guest
  node (vmmgr-ban-VM). A disabled VM's kept fragment is edited instead.

Before: the guest must run pacemaker_remote (port 3121/tcp, or --remote-port) with the
cluster's key: the same /etc/pacemaker/authkey as on every cluster node (owner root, group
haclient, mode 0640), e.g.
  scp -p /etc/pacemaker/authkey root@GUEST:/etc/pacemaker/authkey
  ssh root@GUEST systemctl enable --now pacemaker_remote
vm-mgr refuses (exit 7) when this node has no key. A guest that does not answer within the
connect timeout counts as failed: Pacemaker recovers it by restarting the VM.

Example: vm-mgr add-pacemaker-remote -n web1 --remote-address 10.0.0.51")]
pub struct AddPacemakerRemoteArgs {
    /// The VM name.
    #[arg(short, long)]
    pub name: String,
    /// The guest node's name (default: VM-guest; it must not be the name of a node or the id of
    /// a resource).
    #[arg(long, alias = "remote_name", value_name = "NAME")]
    pub remote_name: Option<String>,
    /// The guest's address or host name (default: the guest node's name, resolved).
    #[arg(long, alias = "remote_address", value_name = "ADDR")]
    pub remote_address: Option<String>,
    /// The TCP port of pacemaker-remoted in the guest (default 3121).
    #[arg(long, alias = "remote_port", value_name = "PORT")]
    pub remote_port: Option<u16>,
    /// How long Pacemaker waits for the guest to accept the connection once the VM started
    /// (remote-connect-timeout: 60, 90s, 2min; default 60s).
    #[arg(long, alias = "remote_timeout", value_name = "DURATION")]
    pub remote_timeout: Option<String>,
}
