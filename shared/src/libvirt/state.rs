//! What libvirt says about a domain, as plain types: [`DomainState`], [`DomainStatus`] and
//! [`ShutdownMode`]. Shared by the RPC client ([`super::rpc`]) and, with the `libvirt-api`
//! feature, by the `virt`-based connection.

use std::fmt;

/// A domain's state, from `virDomainState` (libvirt `include/libvirt/libvirt-domain.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainState {
    /// `VIR_DOMAIN_NOSTATE`: libvirt cannot tell (seen on a migration target mid-flight).
    NoState,
    /// `VIR_DOMAIN_RUNNING`.
    Running,
    /// `VIR_DOMAIN_BLOCKED`: blocked on a resource (running for our purposes).
    Blocked,
    /// `VIR_DOMAIN_PAUSED`: paused by a user or by a migration.
    Paused,
    /// `VIR_DOMAIN_SHUTDOWN`: being shut down.
    ShuttingDown,
    /// `VIR_DOMAIN_SHUTOFF`: defined but not running.
    Shutoff,
    /// `VIR_DOMAIN_CRASHED`.
    Crashed,
    /// `VIR_DOMAIN_PMSUSPENDED`: suspended by guest power management.
    PmSuspended,
    /// A value this build does not know (newer libvirt), or the call failed.
    Unknown(u32),
}

impl DomainState {
    /// Maps a raw `virDomainState` value (as the RPC protocol carries it).
    pub fn from_raw(raw: u32) -> DomainState {
        match raw {
            0 => DomainState::NoState,
            1 => DomainState::Running,
            2 => DomainState::Blocked,
            3 => DomainState::Paused,
            4 => DomainState::ShuttingDown,
            5 => DomainState::Shutoff,
            6 => DomainState::Crashed,
            7 => DomainState::PmSuspended,
            other => DomainState::Unknown(other),
        }
    }

    /// Returns true for the states in which the domain is consuming a qemu process and counts
    /// as running for the cluster: running, blocked, paused, shutting down (like the heartbeat
    /// agent's `running|paused|idle|blocked|"in shutdown"`).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            DomainState::Running
                | DomainState::Blocked
                | DomainState::Paused
                | DomainState::ShuttingDown
        )
    }

    /// Returns the name `virsh domstate` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            DomainState::NoState => "no state",
            DomainState::Running => "running",
            DomainState::Blocked => "blocked",
            DomainState::Paused => "paused",
            DomainState::ShuttingDown => "in shutdown",
            DomainState::Shutoff => "shut off",
            DomainState::Crashed => "crashed",
            DomainState::PmSuspended => "pmsuspended",
            DomainState::Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for DomainState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainState::Unknown(raw) => write!(f, "unknown state {raw}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// What one `virDomainGetInfo` round trip says about a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainStatus {
    /// The state.
    pub state: DomainState,
    /// Current number of vCPUs.
    pub vcpus: u32,
    /// Maximum memory, KiB.
    pub max_mem_kib: u64,
}

/// A mode of `virDomainShutdownFlags` (`virsh shutdown --mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShutdownMode {
    /// `acpi`: ACPI power button.
    Acpi,
    /// `agent`: the qemu guest agent.
    Agent,
    /// `initctl`: LXC init control.
    Initctl,
    /// `signal`: a signal to the container's init.
    Signal,
    /// `paravirt`: the Xen paravirtual channel.
    Paravirt,
}

impl ShutdownMode {
    /// All modes with their `virsh` names.
    pub const ALL: [(&'static str, ShutdownMode); 5] = [
        ("acpi", ShutdownMode::Acpi),
        ("agent", ShutdownMode::Agent),
        ("initctl", ShutdownMode::Initctl),
        ("signal", ShutdownMode::Signal),
        ("paravirt", ShutdownMode::Paravirt),
    ];

    /// Parses a `virsh` mode name.
    pub fn parse(name: &str) -> Option<ShutdownMode> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
    }

    /// The libvirt flag bit (`virDomainShutdownFlagValues`, stable ABI; the values are checked
    /// against the `virt` crate's when it is built).
    pub fn bits(self) -> u32 {
        match self {
            ShutdownMode::Acpi => 1,
            ShutdownMode::Agent => 2,
            ShutdownMode::Initctl => 4,
            ShutdownMode::Signal => 8,
            ShutdownMode::Paravirt => 16,
        }
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
