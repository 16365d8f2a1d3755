//! [`Bound`]: how long the calls of one [`Ceph`](super::Ceph) value may take, and how long each
//! tool tries to reach the monitors.

use std::time::{Duration, Instant};

use crate::cmd::Cmd;

/// Upper bound of `--client-mount-timeout` (seconds).
const MAX_MOUNT_TIMEOUT: u64 = 30;

/// How long the calls of one [`Ceph`](super::Ceph) value may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Every call is killed at this instant, and gives up connecting one second before it
    /// (an agent action with its operation timeout).
    Deadline(Instant),
    /// Each call gets its own time limit, counted from its start, and gives up connecting
    /// after `mount` (a command-line tool such as vm-mgr).
    PerCall(Timeouts),
}

/// The limits of [`Bound::PerCall`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// An ordinary call (list, info, metadata, group and snapshot bookkeeping).
    pub call: Duration,
    /// A call that copies data (import, clone, copy, export, rollback, removal).
    pub long: Duration,
    /// `--client-mount-timeout` (`rbd`, `rados`, librbd in `qemu-img`) and `--connect-timeout`
    /// (`ceph`): how long a tool tries to reach the monitors before it gives up. With the
    /// monitors down (even stopped, accepting connections and never answering) Ceph 16.2.15
    /// honours it: `rbd` exits 110, `ceph` 1 with `timed out`, `qemu-img` 1.
    pub mount: Duration,
}

impl Timeouts {
    /// 60 s per ordinary call, 4 h per copy, 10 s to reach the monitors.
    pub const INTERACTIVE: Timeouts = Timeouts {
        call: Duration::from_secs(60),
        long: Duration::from_secs(4 * 3600),
        mount: Duration::from_secs(10),
    };
}

/// Which limit of [`Timeouts`] a call gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Span {
    /// [`Timeouts::call`].
    Call,
    /// [`Timeouts::long`].
    Long,
}

impl Bound {
    /// The mount/connect timeout in whole seconds, between 1 and 30.
    pub fn mount_secs(self) -> u64 {
        match self {
            Bound::Deadline(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                // give up connecting one second before the deadline, so the tool reports it
                left.as_secs().saturating_sub(1).clamp(1, MAX_MOUNT_TIMEOUT)
            }
            Bound::PerCall(t) => t.mount.as_secs().clamp(1, MAX_MOUNT_TIMEOUT),
        }
    }

    /// `cmd` with the time limit of a call of `span`.
    pub(super) fn apply(self, cmd: Cmd, span: Span) -> Cmd {
        match (self, span) {
            (Bound::Deadline(d), _) => cmd.deadline(d),
            (Bound::PerCall(t), Span::Call) => cmd.timeout(t.call),
            (Bound::PerCall(t), Span::Long) => cmd.timeout(t.long),
        }
    }
}
