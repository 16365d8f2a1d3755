//! Snapshots of a **running** VM on the dir backend, through QEMU's monitor on the node it runs
//! on ([`shared::libvirt::qmp`]): one QMP transaction takes snapshot `S` of every disk at the
//! same instant (QEMU drains their I/O first; all or none), and each disk's `S` is removed with
//! `blockdev-snapshot-delete-internal-sync`. The guest keeps running throughout: it is not
//! paused, since the atomic transaction already gives one crash-consistent point across the
//! disks, and the guest agent's freeze around it (as on RBD) makes it filesystem-consistent.
//!
//! A stopped VM's snapshots go through `qemu-img` in the storage layer instead; if the VM starts
//! or stops between the state check and the call, the call fails (QEMU's image lock, or no such
//! domain) rather than touching an image under a running QEMU.

use shared::libvirt::qmp::{Monitor, QmpError};

use super::quiesce;
use crate::ctx::Ctx;
use crate::error::{Error, Result, EXIT_FAILED};
use crate::storage::dir::Dir;
use crate::vm::Settings;

fn below(e: QmpError) -> Error {
    Error::Below {
        code: EXIT_FAILED,
        source: Box::new(e),
    }
}

/// Where VM `name` runs: its node and the libvirt URI of that node.
pub struct Running<'a> {
    pub name: &'a str,
    pub node: &'a str,
    pub settings: &'a Settings,
}

impl Running<'_> {
    fn uri(&self, ctx: &Ctx) -> String {
        quiesce::uri_of(ctx, self.node, self.settings)
    }

    /// Takes snapshot `snap` of `disks` (images of the VM) in one transaction.
    pub fn take(&self, ctx: &Ctx, dir: &Dir, snap: &str, disks: &[String]) -> Result<()> {
        let files = disks
            .iter()
            .map(|d| dir.disk_path(d))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let uri = self.uri(ctx);
        ctx.progress.say(&format!(
            "{}: snapshot {snap} of {} disk(s) through QEMU's monitor ({uri})",
            self.name,
            files.len()
        ));
        let m = Monitor {
            uri: &uri,
            domain: self.name,
        };
        m.snapshot(&files, snap).map_err(below)
    }

    /// Removes snapshot `snap` from each of `disks`; the problems met (it goes on after each).
    pub fn drop(&self, ctx: &Ctx, dir: &Dir, snap: &str, disks: &[String]) -> Vec<String> {
        let uri = self.uri(ctx);
        let m = Monitor {
            uri: &uri,
            domain: self.name,
        };
        let mut problems = Vec::new();
        for d in disks {
            let removed = dir
                .disk_path(d)
                .map_err(Error::from)
                .and_then(|f| m.delete_snapshot(&f, snap).map_err(below));
            if let Err(e) = removed {
                problems.push(e.to_string());
            }
        }
        problems
    }
}
