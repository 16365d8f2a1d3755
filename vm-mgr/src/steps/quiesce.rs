//! Quiescing a running VM around a snapshot: its filesystems are frozen through the QEMU guest
//! agent and thawed afterwards. When the agent does not answer (or libvirt on the VM's node
//! cannot be reached), the snapshot is crash-consistent, and the reason is reported.
//!
//! `virt` 0.5 has no binding of `virDomainFSFreeze`/`virDomainFSThaw` (and its
//! `qemu_agent_command` needs the `qemu` feature plus libvirt-qemu), so this runs `virsh
//! domfsfreeze`/`domfsthaw`, which call exactly those APIs, through `shared::cmd` with a deadline.
//! The VM may run on another node: libvirt there is reached with the URI its migrations use
//! (`qemu+TRANSPORT://NODE/system`, transport from the VM's settings, else the configuration,
//! else ssh).

use std::time::Duration;

use crate::ctx::Ctx;
use crate::vm::Settings;

/// Time limit of one freeze or thaw.
pub const FREEZE_TIMEOUT: Duration = Duration::from_secs(30);

/// How consistent a snapshot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// Filesystems were frozen by the guest agent.
    Frozen,
    /// The VM ran and could not be frozen: as after a power cut (every disk at the same instant).
    CrashConsistent,
    /// The VM was not running.
    Stopped,
}

impl Consistency {
    /// The word shown and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Consistency::Frozen => "frozen",
            Consistency::CrashConsistent => "crash-consistent",
            Consistency::Stopped => "stopped",
        }
    }
}

/// A quiesce in progress; [`Quiesce::end`] thaws.
#[derive(Debug)]
pub struct Quiesce {
    uri: Option<String>,
    domain: String,
    /// What the snapshot taken now will be.
    pub consistency: Consistency,
    /// Why it is not frozen, when it runs.
    pub note: Option<String>,
}

/// The libvirt URI of `node` for VM settings `settings`.
pub fn node_uri(node: &str, local: &str, settings: &Settings, ctx: &Ctx) -> String {
    if node == local {
        return settings.hypervisor.clone();
    }
    let transport = settings
        .pacemaker_params
        .get("migration_transport")
        .or(settings.migration_transport.as_ref())
        .cloned()
        .or_else(|| ctx.config.migration_transport.clone())
        .unwrap_or_else(|| "ssh".into());
    format!("qemu+{transport}://{node}/system")
}

/// The libvirt URI of `node` seen from this node.
pub fn uri_of(ctx: &Ctx, node: &str, settings: &Settings) -> String {
    let local = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    node_uri(node, local.trim(), settings, ctx)
}

fn virsh(uri: &str, verb: &str, domain: &str) -> Result<(), String> {
    super::changing::virsh(uri, &[verb, domain], FREEZE_TIMEOUT)
}

/// Freezes VM `name` if it runs on `node` (`None`: not running).
pub fn begin(ctx: &Ctx, name: &str, node: Option<&str>, settings: &Settings) -> Quiesce {
    let Some(node) = node else {
        return Quiesce {
            uri: None,
            domain: name.to_owned(),
            consistency: Consistency::Stopped,
            note: None,
        };
    };
    let uri = uri_of(ctx, node, settings);
    ctx.progress
        .say(&format!("{name}: freezing its filesystems ({uri})"));
    match virsh(&uri, "domfsfreeze", name) {
        Ok(()) => Quiesce {
            uri: Some(uri),
            domain: name.to_owned(),
            consistency: Consistency::Frozen,
            note: None,
        },
        Err(why) => Quiesce {
            uri: None,
            domain: name.to_owned(),
            consistency: Consistency::CrashConsistent,
            note: Some(format!(
                "the guest agent did not freeze the filesystems ({why}); the snapshot is crash-consistent"
            )),
        },
    }
}

impl Quiesce {
    /// Thaws (after an interrupt too: a cleanup); returns a warning if that failed (the guest
    /// agent thaws by itself after a while).
    pub fn end(self, ctx: &Ctx) -> Option<String> {
        let uri = self.uri?;
        let _cleanup = crate::cluster::interrupt::cleanup();
        ctx.progress
            .say(&format!("{}: thawing its filesystems", self.domain));
        virsh(&uri, "domfsthaw", &self.domain)
            .err()
            .map(|why| format!("thawing the filesystems of {} failed: {why}", self.domain))
    }
}
